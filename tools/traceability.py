"""Every check the suite makes, with the requirement it names: the traceability audit (issue 12, item 4).

    python -m tools.traceability          # one line per check, then the counts

A *check* is anything that can turn into a failing verdict:

- `scenario`: a Scenario (or Scenario Outline) of features/, naming its requirements by tag;
- `then-step`: a Then step of steps/, which judges the scenario's requirements (its `requirements` fixture,
  resolved by `steps.then_steps.judged`): a Then step without that parameter could only fail unnamed;
- `verdict`: a public method of `ppconformance.judge.verdicts.Judge` that can fail, which takes the
  requirement as a `Requirement` argument;
- `fuzz-check`: a schemathesis check of `ppconformance.fuzz.checks` (the requirement ids of its
  `FuzzFinding`s), a schemathesis built-in the fuzz stage runs (steps/test_fuzz.py's `_REQUIREMENT_OF_BUILTIN`)
  and the lifecycle phase (`[FUZZ-LIFECYCLE]`);
- `event-check`: an event schema check (`ppconformance.contract.events.EVENT_REQUIREMENTS`);
- `state-check`: a transition of the state model the oracle step judges (`ppconformance.contract.model.TRANSITIONS`,
  each with the sentence it encodes); the oracle's Then step names `<state model>`.

Besides those, every requirement-id literal in the package and the steps must be a catalogue id. Each named
requirement carries its quote (catalogue/requirements.yaml `quote`, placed in its document by
tests/fixtures/doc-quotes.json): a check that rests on no quote is a problem (`problems`). The walk reads the
source files (AST and text), imports nothing of the steps; tests/test_traceability.py runs it.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

__all__ = ["Check", "checks", "literal_ids", "main", "problems"]

ID = r"(?:LINK|UPDATE|DELINK|RELINK|IDENT|RESULT|AUTH|REQ|EVENT|FUZZ|WEBHOOK|STATE|TENANT)-[A-Z0-9]+(?:-[A-Z0-9]+)*"
_ID_FULL = re.compile(f"^{ID}$")
_ID_BRACKETED = re.compile(rf"\[({ID})\]")
_TAG = re.compile(rf"@({ID})(?=\s|$)")


@dataclass(frozen=True)
class Check:
    """One check: `kind` (see the module docstring), `name`, `where` (file:line) and the requirement ids it
    names (`"<scenario tags>"` for a Then step, which judges the tags of the scenario it runs in)."""

    kind: str
    name: str
    where: str
    requirements: tuple[str, ...]


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _scenarios(root: Path) -> list[Check]:
    found = []
    for path in sorted((root / "features").glob("*.feature")):
        feature_tags: list[str] = []  # Feature and Rule tags apply to the scenarios below them
        rule_tags: list[str] = []
        pending: list[str] = []
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            if text.startswith("@"):
                pending += _TAG.findall(text)
            elif text.startswith("Feature:"):
                feature_tags, rule_tags, pending = pending, [], []
            elif text.startswith("Rule:"):
                rule_tags, pending = pending, []
            elif text.startswith(("Scenario:", "Scenario Outline:", "Example:")):
                name = text.split(":", 1)[1].strip()
                ids = tuple(dict.fromkeys([*feature_tags, *rule_tags, *pending]))
                found.append(Check("scenario", name, f"{_rel(path, root)}:{no}", ids))
                pending = []
    return found


def _decorator_names(node: ast.FunctionDef) -> list[str]:
    names = []
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        names.append(ast.unparse(target))
    return names


def _judges_state(node: ast.AST, functions: dict[str, ast.FunctionDef], seen: frozenset[str] = frozenset()) -> bool:
    """True when `node` calls `….expect_state`, itself or through a function of its module it calls by name."""
    for call in (c for c in ast.walk(node) if isinstance(c, ast.Call)):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "expect_state":
            return True
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        if name in functions and name not in seen and _judges_state(functions[name], functions, seen | {name}):
            return True
    return False


def _then_steps(root: Path) -> list[Check]:
    found = []
    for path in sorted((root / "steps").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != "_"}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and "then" in _decorator_names(node):
                deco = next(d for d in node.decorator_list if isinstance(d, ast.Call) and ast.unparse(d.func) == "then")
                text = ast.unparse(deco.args[0]) if deco.args else node.name
                params = {a.arg for a in node.args.args}
                ids = ("<scenario tags>",) if "requirements" in params else ()
                if _judges_state(node, functions):
                    ids = ("<state model>",)
                found.append(Check("then-step", text[:100], f"{_rel(path, root)}:{node.lineno}", ids))
    return found


def _calls_fail(node: ast.FunctionDef) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
            if sub.func.value.id == "self" and (
                sub.func.attr == "fail" or sub.func.attr.startswith(("expect_", "check_"))
            ):
                return True
    return False


def _verdicts(root: Path) -> list[Check]:
    path = root / "src" / "ppconformance" / "judge" / "verdicts.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    judge = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Judge")
    found = []
    for node in judge.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or node.name == "fail":
            continue
        if not _calls_fail(node):
            continue
        typed = [a for a in node.args.args if a.annotation is not None and "Requirement" in ast.unparse(a.annotation)]
        ids = ("<argument>",) if typed else ()
        found.append(Check("verdict", f"Judge.{node.name}", f"{_rel(path, root)}:{node.lineno}", ids))
    return found


def _literal_first_args(node: ast.AST, callee: str) -> list[str]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and ast.unparse(sub.func) == callee and sub.args:
            arg = sub.args[0]
            out.append(arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else "<not literal>")
    return out


def _fuzz_checks(root: Path) -> list[Check]:
    path = root / "src" / "ppconformance" / "fuzz" / "checks.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and "schemathesis.check" in _decorator_names(node):
            ids = tuple(dict.fromkeys(_literal_first_args(node, "FuzzFinding")))
            found.append(Check("fuzz-check", node.name, f"{_rel(path, root)}:{node.lineno}", ids))
    stage = root / "steps" / "test_fuzz.py"
    stage_tree = ast.parse(stage.read_text(encoding="utf-8"))
    builtins: list[str] = []
    mapping: dict[str, str] = {}
    line = 0
    for node in stage_tree.body:
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == "_BUILTIN" for t in node.targets):
            builtins = [ast.unparse(e).rsplit(".", 1)[-1] for e in getattr(node.value, "elts", [])]
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == "_REQUIREMENT_OF_BUILTIN" for t in node.targets):
            mapping = ast.literal_eval(node.value)
            line = node.lineno
    for name in builtins:
        ids = (mapping[name],) if name in mapping else ()
        found.append(Check("fuzz-check", f"schemathesis built-in {name}", f"{_rel(stage, root)}:{line}", ids))
    text = stage.read_text(encoding="utf-8")
    for match in _ID_BRACKETED.finditer(text):
        no = text.count("\n", 0, match.start()) + 1
        found.append(
            Check("fuzz-check", f"fuzz stage [{match.group(1)}]", f"{_rel(stage, root)}:{no}", (match.group(1),))
        )
    return found


def _event_checks() -> list[Check]:
    from ppconformance.contract.events import EVENT_NAMES, EVENT_REQUIREMENTS

    where = "src/ppconformance/contract/events.py"
    return [
        Check("event-check", f"{name} schema", where, tuple(filter(None, [EVENT_REQUIREMENTS.get(name)])))
        for name in EVENT_NAMES
    ]


def _state_checks() -> list[Check]:
    from ppconformance.contract.model import TRANSITIONS

    where = "src/ppconformance/contract/model.py"
    return [Check("state-check", f"transition {name}", where, (t.requirement,)) for name, t in TRANSITIONS.items()]


def checks(root: Path = REPO) -> list[Check]:
    """Every check of the checkout at `root` (see the module docstring), in a stable order."""
    return [
        *_scenarios(root),
        *_then_steps(root),
        *_verdicts(root),
        *_fuzz_checks(root),
        *_event_checks(),
        *_state_checks(),
    ]


def literal_ids(root: Path = REPO) -> list[tuple[str, str]]:
    """Every requirement-id-shaped string of src/ppconformance and steps as (file:line, id): whole string
    constants and `[ID]` inside string text (failure messages)."""
    found = []
    for path in sorted([*(root / "src" / "ppconformance").rglob("*.py"), *(root / "steps").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hits = [node.value] if _ID_FULL.match(node.value) else _ID_BRACKETED.findall(node.value)
                found += [(f"{_rel(path, root)}:{node.lineno}", hit) for hit in hits]
    return found


def problems(root: Path = REPO) -> list[str]:
    """What breaks traceability: a check naming no requirement, a named id that is no catalogue requirement,
    a requirement without a quote. [] when every check rests on a quote."""
    from ppconformance.contract.catalogue import load_catalogue

    catalogue = load_catalogue().requirements
    out = []
    for check in checks(root):
        if not check.requirements:
            out.append(f"{check.where}: {check.kind} {check.name!r} names no requirement")
        for rid in check.requirements:
            if rid.startswith("<"):
                continue
            if rid not in catalogue:
                out.append(f"{check.where}: {check.kind} {check.name!r} names {rid}, not a catalogue requirement")
            elif not catalogue[rid].quote.strip():
                out.append(f"{check.where}: {check.kind} {check.name!r} rests on {rid}, which has no quote")
    for where, rid in literal_ids(root):
        if rid not in catalogue:
            out.append(f"{where}: {rid} is not a catalogue requirement")
    return out


def main() -> int:
    """Print every check, the counts per kind and the problems; exit 1 when there are problems."""
    found = checks()
    for check in found:
        print(f"{check.kind:12} {', '.join(check.requirements) or '-':40} {check.where}  {check.name}")
    counts = Counter(c.kind for c in found)
    print(f"{len(found)} checks: " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    trouble = problems()
    print("\n".join(trouble) if trouble else "every check names a catalogue requirement that carries a quote")
    return 1 if trouble else 0


if __name__ == "__main__":
    raise SystemExit(main())
