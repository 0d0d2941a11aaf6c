"""pytest options of the fuzz stage (`--fuzz`, `--fuzz-seed`); a pytest plugin (entry point `pytest11`).

Findings are collected over the whole budget: hypothesis stops generating once an example raises, so a test
of the stage records each finding (`record_finding`) instead of raising, and the test fails after its last
example with every finding, grouped by requirement (`pytest_pyfunc_call`). One finding, a false one
included, never ends the stage before the others were looked for.

`--fuzz=fast|deep|off` overrides the profile's `fuzz.mode`; `off` skips every test marked
`fuzz` with the reason (like `-m "not fuzz"`, but the skip is reported). `--fuzz-seed N`
overrides `fuzz.seed`. See docs/fuzzing.md.

The stage's run state (its settings, findings and figures) lives in the process's `ProcessState`
(`plugin.runcontext`), like the rest of the run's. The stage's test module gets the settings before its tests are
built: when pytest starts collecting it, `pytest_collectstart` calls the module's `configure_stage(settings)`
(schemathesis reads the seed and the number of examples as it builds each operation's test). Every test of the
stage gets its own node id (`pytest_itemcollected`), so pytest, JUnit, allure and conformance.* count the same
tests.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ppconformance.connection.profile import FuzzSettings
from ppconformance.plugin import runcontext

__all__ = ["StageFinding", "fuzz_mode", "fuzz_seed", "record_finding", "record_summary", "stage_settings"]

STAGE_MODULE = ("steps", "test_fuzz.py")
"""The stage's test module (folder, file name) in the suite."""


class StageFinding(AssertionError):
    """One generated request whose answer broke `requirements` (catalogue ids); `message` says how, with the
    redacted reproduction."""

    def __init__(self, requirements: list[str], message: str) -> None:
        super().__init__(message)
        self.requirements = requirements
        self.message = message


def record_finding(config: pytest.Config, nodeid: str, finding: StageFinding) -> None:
    """Keep `finding` for the test `nodeid`; it fails after its last example (see the module docstring)."""
    runcontext.state(config).fuzz_findings.setdefault(nodeid, []).append(finding)


def record_summary(config: pytest.Config, line: str) -> None:
    """Keep a line of the stage's figures (mode, seed, cases sent, seconds) for the terminal summary."""
    runcontext.state(config).fuzz_summary.append(line)


def _summary(found: list[StageFinding]) -> str:
    by_requirement: dict[str, list[StageFinding]] = {}
    for f in found:
        by_requirement.setdefault(",".join(sorted(set(f.requirements))), []).append(f)
    lines = [f"{len(found)} fuzz finding(s) over the whole budget, by requirement:"]
    for key, group in sorted(by_requirement.items()):
        lines.append(f"[{key}] {len(group)} case(s); the first:\n{group[0].message}")
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    """After a test of the stage ran all its examples: fail it with every finding it recorded."""
    result = yield
    found = runcontext.state(pyfuncitem.config).fuzz_findings.pop(pyfuncitem.nodeid, [])
    if found:
        raise AssertionError(_summary(found))
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partner-program", "Partner Program conformance")
    group.addoption(
        "--fuzz",
        choices=("fast", "deep", "off"),
        default=None,
        dest="fuzz_mode",
        help="fuzz stage budget (steps/test_fuzz.py, marker fuzz): fast (default, about 30 s on the "
        "embedded server), deep (nightly) or off (skipped); overrides the profile's fuzz.mode "
        "(env PP__FUZZ__MODE)",
    )
    group.addoption(
        "--fuzz-seed",
        type=int,
        default=None,
        dest="fuzz_seed",
        help="hypothesis seed of the fuzz stage (profile fuzz.seed; default: fresh, printed and "
        "attached to every finding)",
    )


def fuzz_mode(config: pytest.Config) -> str | None:
    """The `--fuzz` mode given on the command line, or None (then the profile's `fuzz.mode` holds)."""
    mode: str | None = config.getoption("fuzz_mode", None)
    return mode


def fuzz_seed(config: pytest.Config) -> int | None:
    """The `--fuzz-seed` given on the command line, or None."""
    seed: int | None = config.getoption("fuzz_seed", None)
    return seed


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Settle the stage's settings once per process (profile < env < command line); the controller draws a
    missing seed and hands it to xdist workers in the run context (`RunContext.fuzz_seed`)."""
    ctx = runcontext.usable(config)
    if ctx is None:
        return
    from ppconformance.fuzz.generation import effective_settings  # schemathesis is imported only by runs that fuzz

    profile = runcontext.run_profile(config)
    seed = fuzz_seed(config)
    if seed is None:
        seed = ctx.fuzz_seed
    settings = effective_settings(profile, fuzz_mode(config), seed)
    runcontext.state(config).fuzz_settings = settings
    _keep_hypothesis_out_of_the_working_directory()
    if not hasattr(config, "workerinput"):
        runcontext.update(config, fuzz_seed=settings.seed)


def _keep_hypothesis_out_of_the_working_directory() -> None:
    """Hypothesis caches what it learns (`constants/`, `unicode_data/`) in `./.hypothesis` of the invocation
    directory; a conformance run writes only its reports and journal there, so the cache goes to the system's
    temporary directory (kept between runs, so the next run reuses it). The fuzz stage keeps no example database."""
    import hypothesis.configuration

    home = Path(tempfile.gettempdir()) / f"pp-conformance-hypothesis-{os.getuid() if hasattr(os, 'getuid') else 0}"
    hypothesis.configuration.set_hypothesis_home_dir(home)


def stage_settings(config: pytest.Config) -> FuzzSettings:
    """The run's fuzz settings (defaults, seed 0, when no conformance run settled them, e.g. at --collect-only)."""
    settings: FuzzSettings | None = runcontext.state(config).fuzz_settings
    return settings or FuzzSettings(seed=0)


def _is_stage_module(path: Path) -> bool:
    return (path.parent.name, path.name) == STAGE_MODULE


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Before the stage's module is collected: hand it the run's settings (`configure_stage`), which schemathesis
    reads as it builds each operation's test. An import error is left to pytest's collection to report."""
    if not isinstance(collector, pytest.Module) or not _is_stage_module(collector.path):
        return
    try:
        module = collector.obj
    except Exception:  # noqa: BLE001  (collect() imports it again and reports the error as pytest does)
        return
    configure = getattr(module, "configure_stage", None)
    if configure is not None:
        configure(stage_settings(collector.config))


def pytest_itemcollected(item: pytest.Item) -> None:
    """Give each generated test of the stage its own node id: schemathesis (4.32) names them
    `test_fuzz_bodies[POST /v2/...]` but, under pytest 9's structured node ids, they all get the id of the
    function (`...::test_fuzz_bodies`), so JUnit, allure and conformance.* counted three tests as one."""
    name, original = item.name, getattr(item, "originalname", item.name)
    if name == original or not name.startswith(original + "[") or not name.endswith("]"):
        return
    if item.nodeid.endswith("]"):
        return  # parametrized the usual way: pytest named it already
    params = name[len(original) + 1 : -1]
    parent_id = item.parent.id if item.parent is not None else None
    if parent_id is not None:
        item._id = parent_id.child(original).with_params(params)  # type: ignore[attr-defined]


FUZZ_MARKERS = (
    frozenset({"fuzz", "FUZZ-NO-SERVER-ERROR", "FUZZ-RESPONSE-CONFORMS", "FUZZ-ITEM-NAME", "FUZZ-ITEM-CODES"})
    | frozenset({"FUZZ-INVALID-ITEM", "FUZZ-VALID-BODY"}),
    frozenset({"fuzz", "FUZZ-LIFECYCLE"}),
)
"""The markers of the fuzz stage's tests (steps/test_fuzz.py: the body fuzzing, the lifecycle state machine)."""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not collect the fuzz stage's module when the `-m` expression deselects every one of its tests: building
    its schemathesis tests costs seconds at collection (nothing else changes: they would be deselected)."""
    if not _is_stage_module(collection_path) or runcontext.get(config) is None:
        return None
    expression = config.option.markexpr
    if not expression:
        return None
    try:
        from _pytest.mark.expression import Expression  # pytest's own -m parser (as `pytest -m` evaluates it)

        compiled = Expression.compile(expression)
    except (ImportError, SyntaxError):
        return None
    for markers in FUZZ_MARKERS:

        def has(name: str, /, **_: Any) -> bool:
            return name in markers  # noqa: B023  (used at once, inside this iteration)

        if compiled.evaluate(has):
            return None
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test of the stage the time limit of its budget (plus 300 s: shrinking a finding may add to it);
    `--fuzz=off`: skip the stage, saying why."""
    if runcontext.get(config) is None:
        return
    timeout = pytest.mark.timeout(int(stage_settings(config).budget()) + 300)
    skip = pytest.mark.skip(reason="fuzz stage off (--fuzz=off)") if fuzz_mode(config) == "off" else None
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip or timeout)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the stage's figures (mode, seed, cases sent, seconds)."""
    for line in runcontext.state(config).fuzz_summary:
        terminalreporter.write_line(f"partner-program {line}")
