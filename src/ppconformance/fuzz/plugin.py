"""pytest options of the fuzz stage (`--fuzz`, `--fuzz-seed`); a pytest plugin (entry point `pytest11`).

Findings are collected over the whole budget: hypothesis stops generating once an example raises, so a test
of the stage records each finding (`record_finding`) instead of raising, and the test fails after its last
example with every finding, grouped by requirement (`pytest_pyfunc_call`). One finding, a false one
included, never ends the stage before the others were looked for.

`--fuzz=fast|deep|off` overrides the profile's `fuzz.mode`; `off` skips every test marked
`fuzz` with the reason (like `-m "not fuzz"`, but the skip is reported). `--fuzz-seed N`
overrides `fuzz.seed`. See docs/fuzzing.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ppconformance.connection.profile import FuzzSettings
from ppconformance.plugin import runcontext

__all__ = ["SUMMARY_LINES", "StageFinding", "current_settings", "fuzz_mode", "fuzz_seed", "record_finding"]

_SETTINGS: FuzzSettings | None = None
SUMMARY_LINES: list[str] = []
"""Figures of the stage (cases, seconds, seed), printed in the terminal summary of this process."""


class StageFinding(AssertionError):
    """One generated request whose answer broke `requirements` (catalogue ids); `message` says how, with the
    redacted reproduction."""

    def __init__(self, requirements: list[str], message: str) -> None:
        super().__init__(message)
        self.requirements = requirements
        self.message = message


_FINDINGS: dict[str, list[StageFinding]] = {}


def record_finding(nodeid: str, finding: StageFinding) -> None:
    """Keep `finding` for the test `nodeid`; it fails after its last example (see the module docstring)."""
    _FINDINGS.setdefault(nodeid, []).append(finding)


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
    found = _FINDINGS.pop(pyfuncitem.nodeid, [])
    if found:
        raise AssertionError(_summary(found))
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partner-program")
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
    global _SETTINGS
    ctx = runcontext.usable(config)
    if ctx is None:
        return
    from ppconformance.fuzz.generation import effective_settings  # schemathesis is imported only by runs that fuzz

    profile = runcontext.run_profile(config)
    seed = fuzz_seed(config)
    if seed is None:
        seed = ctx.fuzz_seed
    _SETTINGS = effective_settings(profile, fuzz_mode(config), seed)
    if not hasattr(config, "workerinput"):
        runcontext.update(config, fuzz_seed=_SETTINGS.seed)


def current_settings() -> FuzzSettings:
    """The run's fuzz settings (defaults when no scenario run configured them, e.g. at --collect-only)."""
    return _SETTINGS or FuzzSettings(seed=0)


FUZZ_MARKERS = (
    frozenset({"fuzz", "FUZZ-NO-SERVER-ERROR", "FUZZ-RESPONSE-CONFORMS", "FUZZ-ITEM-NAME", "FUZZ-ITEM-CODES"})
    | frozenset({"FUZZ-INVALID-ITEM", "FUZZ-VALID-BODY"}),
    frozenset({"fuzz", "FUZZ-LIFECYCLE"}),
)
"""The markers of the fuzz stage's tests (steps/test_fuzz.py: the body fuzzing, the lifecycle state machine)."""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Do not collect the fuzz stage's module when the `-m` expression deselects every one of its tests: building
    its schemathesis tests costs seconds at collection (nothing else changes: they would be deselected)."""
    if collection_path.name != "test_fuzz.py" or collection_path.parent.name != "steps":
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
    """`--fuzz=off`: skip the fuzz stage, saying why."""
    if fuzz_mode(config) != "off":
        return
    skip = pytest.mark.skip(reason="fuzz stage off (--fuzz=off)")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the stage's figures (mode, seed, cases sent, seconds)."""
    for line in SUMMARY_LINES:
        terminalreporter.write_line(f"partner-program {line}")
