"""The invariants docs/architecture.md states, enforced on the source tree (AST, no imports of the code).

- the repository is self-contained: no code of src/, steps/, tests/, benchmarks/ or tools/ names a path outside it;
- run state is never put into the environment by the suite (it travels in `runcontext.RunContext`);
- no module imports another module's private (underscored) names;
- the import-linter contracts of pyproject.toml cover every module of `ppconformance`, so a new module
  cannot escape the layer rules (`lint-imports`, run by .ci/run, checks them);
- the run context hands workers plain data and never shows its secrets.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from ppconformance.plugin.runcontext import RunContext

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "ppconformance"
CODE_DIRS = ("src", "steps", "tests", "benchmarks", "tools")
SIBLING = "sha" + "red"  # the team folder beside a developer's checkout (spelt in parts: this file only scans)
OUTSIDE_MARKERS = (f"../{SIBLING}", f"{SIBLING}/api-docs", "PP_API_DOCS_DIR", "PP_DOCS_DIR")
"""Text that would name a folder outside the checkout; no code may contain it."""
PYTEST_LAYER = {"plugin", "fuzz.plugin", "webhooks.plugin"}


def _sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_code_names_a_path_outside_the_repository():
    offenders = []
    for path in _sources(*CODE_DIRS):
        if path == Path(__file__):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _strings(tree):
            if any(marker in text for marker in OUTSIDE_MARKERS):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
        for node in ast.walk(tree):  # Path(...).parent / "shared" or parents[2] / "shared"
            if isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant) and node.right.value == SIBLING:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: / 'shared'")
    assert not offenders, "code reaching outside the checkout:\n" + "\n".join(offenders)


def _environ_writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for t in targets:
            if isinstance(t, ast.Subscript) and ast.unparse(t.value) == "os.environ":
                lines.append(t.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if owner == "os.environ" and node.func.attr in ("setdefault", "update", "__setitem__"):
                lines.append(node.lineno)
            if owner == "os" and node.func.attr == "putenv":
                lines.append(node.lineno)
    return lines


def test_the_suite_never_puts_run_state_into_the_environment():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources("src/ppconformance", "steps")
        for line in _environ_writes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, "os.environ written (use runcontext.RunContext):\n" + "\n".join(offenders)


def test_the_environment_check_can_fail():
    tree = ast.parse("import os\nos.environ['PP_RUN_ID'] = 'x'\nos.environ.setdefault('A', 'b')\n")
    assert _environ_writes(tree) == [2, 3]


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in _sources("src", "steps"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module} {private}")
    assert not offenders, "\n".join(offenders)


def _contracts() -> list[dict]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["tool"]["importlinter"]["contracts"])


def _modules() -> set[str]:
    """Every module of the suite package, dotted below `ppconformance` (e.g. "contract.endpoints"); package
    `__init__` files only describe their package and are left out."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if "_data" not in path.parts and path.stem not in ("__init__", "__main__")
    }


def _covered(module: str, sources: set[str]) -> bool:
    return any(module == s or module.startswith(s + ".") for s in sources)


def test_the_import_contracts_cover_every_module_of_the_suite_package():
    modules = _modules()
    contracts = {c["name"]: c for c in _contracts()}
    layer = next(c for n, c in contracts.items() if n.startswith("Lower layers"))
    lower = {m.split(".", 1)[1] for m in layer["source_modules"]}
    pytest_layer = {m.split(".", 1)[1] for m in layer["forbidden_modules"]}
    assert pytest_layer == PYTEST_LAYER
    uncovered = sorted(m for m in modules if not _covered(m, lower) and not _covered(m, pytest_layer))
    assert not uncovered, f"modules in neither layer of the import contracts: {uncovered}"
    http = next(c for n, c in contracts.items() if "speaks HTTP" in n)
    speakers = {m.split(".", 1)[1] for m in http["source_modules"]}
    silent = sorted(m for m in modules if m not in ("connection", "connection.client") and not _covered(m, speakers))
    assert not silent, f"modules the HTTP contract does not name: {silent}"
    assert not _covered("connection.client", speakers) and "httpx" in http["forbidden_modules"]
    independence = next(c for c in _contracts() if c["type"] == "independence")
    assert set(independence["modules"]) == {"ppconformance", "ppreference"}


def test_the_run_context_round_trips_as_plain_data_and_hides_its_secrets():
    ctx = RunContext(
        run_id="abc123",
        base_url="http://127.0.0.1:1",
        ephemeral=True,
        embedded_env={"PP_EMBEDDED_ENABLED_PASSWORD": "s3cret-value"},
        discovery='{"org": {}}',
        fuzz_seed=7,
        webhooks={"ready": True, "reason": "", "query_url": "http://127.0.0.1:2", "clock": False, "broken": ""},
        webhook_token="t0ken-value",
    )
    data = ctx.to_workerinput()
    assert all(type(v) in (str, bool, int, dict) for v in data.values())
    assert RunContext.from_workerinput(data) == ctx
    assert "s3cret-value" not in repr(ctx) and "t0ken-value" not in repr(ctx)
    with pytest.raises(TypeError):
        RunContext.from_workerinput({**data, "unknown": 1})


USED_WITHOUT_IMPORT = {
    "pytest-base-url": "pytest plugin: --base-url",
    "allure-pytest": "pytest plugin: --alluredir (the suite imports allure, from allure-python-commons)",
    "pytest-xdist": "pytest plugin: -n",
    "pytest-timeout": "pytest plugin: the ini option timeout",
    "tzdata": "IANA zones for zoneinfo on machines without system tzdata",
    "filelock": "pyrate-limiter's SQLiteBucket locks the run's shared rate-limit window with it (3.x: pyrate-limiter "
    "4.5.1 calls acquire(False), which filelock 4 refuses)",
    "pytest-randomly": "pytest plugin: random test order in the self-tests",
    "ruff": "quality gate in .ci/run",
    "mypy": "quality gate in .ci/run",
    "types-PyYAML": "type stubs for mypy",
    "import-linter": "quality gate in .ci/run (lint-imports)",
}
"""Declared distributions that are used, but never imported by name, with the reason."""


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        import re

        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in reqs}

    return names(project["dependencies"]), names(project["optional-dependencies"]["dev"])


def _imported(*dirs: str) -> set[str]:
    import sys
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    out = set()
    for path in _sources(*dirs) + ([ROOT / "conftest.py"] if "src" in dirs else []):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                local = {"ppconformance", "ppreference", "steps", "tests", "tools"} | {
                    p.stem
                    for p in (ROOT / "benchmarks").glob("*.py")  # benchmarks import each other by file
                }
                if top in sys.stdlib_module_names or top in local:
                    continue
                out |= {d.lower() for d in dists.get(top, [top])}
    return out


def test_dependencies_are_declared_exactly_as_imported():
    runtime, dev = _declared()
    used_runtime = _imported("src", "steps")
    used_dev = _imported("tests", "tools", "benchmarks")
    assert not used_runtime - runtime, f"imported by the suite but not in dependencies: {used_runtime - runtime}"
    assert not used_dev - runtime - dev, f"imported by tests/tools but not declared: {used_dev - runtime - dev}"
    unused = (runtime | dev) - used_runtime - used_dev - {n.lower() for n in USED_WITHOUT_IMPORT}
    assert not unused, f"declared but never imported (remove, or say why in USED_WITHOUT_IMPORT): {unused}"


def test_reference_only_requests_are_built_in_one_guarded_place():
    """Nothing under /__reference__/ reaches a target not declared the reference server: every such request
    goes through `connection.embedded.reference_admin`, which refuses unless allowed (issue: a staging target was
    sent GET /__reference__/webhooks)."""
    from ppconformance.connection.embedded import ReferenceOnly, reference_admin

    offenders = []
    for path in _sources("src/ppconformance", "steps"):
        if path.name == "embedded.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        offenders += [
            f"{path.relative_to(ROOT)}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and n.value.startswith("/__reference__")  # a path literal (prose that mentions it is fine)
            and id(n) not in docstrings
        ]
    assert not offenders, "build reference-server URLs with reference_admin only:\n" + "\n".join(offenders)
    with pytest.raises(ReferenceOnly, match="--reference-target"):
        reference_admin("http://192.0.2.1:9", "GET", "webhooks", allowed=False)  # refused before any connect
