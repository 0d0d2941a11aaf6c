"""Outcome classes of a run: *failed*, *error*, *skipped*, and the exit code.

- **failed** — the target does not conform: a `NonConformance` (or
  `PreconditionFailed`, a documented setup the target refused), or links left
  behind after cleanup (reported on their own, see `record_leftovers`).
- **error** — the run could not judge: the target is unreachable or timed out,
  answered 5xx (or garbage) to a well-formed request no requirement of the
  scenario covers, refused the profile's own credentials, or rate-limited the
  suite beyond its patience (`ppconformance.connection.client.TargetError`); also a
  suite-side `WriteRefused`. These tests are reported as pytest *errors*
  (terminal "E", JUnit `<error>`, allure "broken"), never as failures.
- **skipped** — a prerequisite or capability is not declared (the reason names
  the profile key), or a read-only run.

A 401 to the profile's own credentials (`AuthFailed`) stops the run; so do
`stop_after_transport_errors` consecutive transport errors. Tests not yet run
then end at once as errors naming the cause, without contacting the target, so
every test still has an outcome in JUnit and allure (each xdist worker stops on
its own first such error).

Exit codes: 0 conforms · 1 conformance failures (errors may also have
occurred) · 10 errors and no failures (the verdict is incomplete) · 11
profile error · 12 configuration drift (`--check-config`); pytest's own 2
(interrupted), 4 (usage) and 5 (nothing collected) are kept.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ppconformance.connection.client import AuthFailed, TargetError, TargetUnreachable, WriteRefused

__all__ = [
    "EXIT_DRIFT",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PROFILE_ERROR",
    "EXIT_TARGET_ERROR",
    "OutcomeTracker",
    "RunStopped",
    "is_run_error",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_TARGET_ERROR = 10
EXIT_PROFILE_ERROR = 11
EXIT_DRIFT = 12


def is_run_error(excinfo: Any) -> bool:
    """True when `excinfo` (a pytest `ExceptionInfo`, or None) is an error of the run, not a conformance failure:
    a `TargetError` (unreachable, timed out, broken, credentials refused, stopped) or a suite-side `WriteRefused`.
    The one rule the outcome tracker and the conformance reporter both classify by."""
    return excinfo is not None and bool(excinfo.errisinstance((TargetError, WriteRefused)))


class RunStopped(TargetError):
    """The run was stopped earlier (auth refused, target unreachable); this test did not contact the target."""


class OutcomeTracker:
    """pytest plugin object: classifies reports, stops the run on auth failure or a dead target,
    counts outcomes on the controller and sets the exit code.

    Arguments: `stop_after` — consecutive transport errors that stop the run (profile key
    `stop_after_transport_errors`).
    """

    def __init__(self, stop_after: int = 3) -> None:
        self.stop_after = stop_after
        self.customers: dict[str, Any] | None = None
        """The run's test customers (`run.customer_pool.PoolTally.to_json`), set at the end of the run for the
        report (conformance.json `run.customers`); None before."""
        self.stopped: str | None = None
        self.consecutive_transport = 0
        self.counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        self.errors: list[str] = []
        self.leftovers: list[str] = []
        self.uncleaned: list[str] = []
        self.run_error_code: int | None = None

    # -- in every process: classify and stop ---------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.stopped:
            raise RunStopped(f"ERROR (not a conformance failure): the run was stopped: {self.stopped}")

    @pytest.hookimpl(hookwrapper=True, trylast=True)  # innermost: allure and junit see the reclassified report
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        excinfo = call.excinfo
        if excinfo is None or report.when == "teardown":
            if report.when == "call" and report.passed:
                self.consecutive_transport = 0
            return
        if is_run_error(excinfo):
            # an error of the run, not a conformance failure: report it as pytest reports errors, with the
            # (redacted) message only — a traceback would print the client's arguments, credentials included
            report.when = "setup"
            report.pp_outcome = "error"
            report.longrepr = f"{excinfo.typename}: {excinfo.value}"
            if excinfo.errisinstance(AuthFailed) and not self.stopped:
                first = str(excinfo.value).splitlines()[0]
                self.stopped = f"the target refused the profile's own credentials: {first}"
            if excinfo.errisinstance(TargetUnreachable) and not excinfo.errisinstance(RunStopped):
                self.consecutive_transport += 1
                if self.consecutive_transport >= self.stop_after and not self.stopped:
                    self.stopped = (
                        f"{self.consecutive_transport} scenarios in a row ended in a transport error "
                        f"(stop_after_transport_errors); last: {str(excinfo.value).splitlines()[0]}"
                    )
        elif report.when == "call":
            self.consecutive_transport = 0

    # -- on the controller (or the only process): count, summarise, exit code ----------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.counts["passed"] += 1
        elif report.skipped and report.when in ("setup", "call"):
            self.counts["skipped"] += 1
        elif report.failed and report.when == "call":
            self.counts["failed"] += 1
        elif report.failed:
            self.counts["error"] += 1
            crash = getattr(report.longrepr, "reprcrash", None)
            first = str(getattr(crash, "message", "") or report.longreprtext[:200])
            self.errors.append(f"{report.nodeid}: {first.splitlines()[0] if first else ''}")

    def record_leftovers(self, lines: list[str], alluredir: str | None) -> None:
        """Report links left behind after cleanup as a failure of their own (terminal, allure, exit code)."""
        self.leftovers = lines
        if not lines or not alluredir:
            return
        now = int(time.time() * 1000)
        result = {
            "uuid": str(uuid.uuid4()),
            "historyId": "pp-cleanup-no-links-left",
            "name": "No link is left behind",
            "fullName": "ppconformance.run.cleanup::no_link_left_behind",
            "status": "failed",
            "stage": "finished",
            "statusDetails": {"message": f"{len(lines)} link(s) left behind after cleanup", "trace": "\n".join(lines)},
            "labels": [
                {"name": "epic", "value": "Partner Program API"},
                {"name": "feature", "value": "Cleanup"},
                {"name": "story", "value": "CLEANUP-NO-LEFTOVER"},
            ],
            "start": now,
            "stop": now,
        }
        out = Path(alluredir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{result['uuid']}-result.json").write_text(json.dumps(result), encoding="utf-8")

    def exit_code(self, pytest_code: int) -> int:
        """The run's exit code from pytest's and the counted outcomes (see module docstring)."""
        if pytest_code not in (0, 1):
            return pytest_code
        if self.run_error_code is not None:
            return self.run_error_code
        if self.counts["failed"] or self.leftovers:
            return EXIT_FAILED
        if self.counts["error"] or self.stopped or self.uncleaned:
            return EXIT_TARGET_ERROR
        return EXIT_OK

    def summary_lines(self) -> list[str]:
        """Lines for the terminal summary: the three outcome classes, the stop reason, leftovers."""
        c = self.counts
        lines = [
            f"partner-program outcome: {c['passed']} passed, {c['failed']} FAILED (the target does not "
            f"conform), {c['error']} ERROR (could not judge: unreachable, 5xx, auth), {c['skipped']} skipped"
        ]
        if self.stopped:
            lines.append(f"partner-program: the run was stopped: {self.stopped}")
        if self.leftovers:
            lines.append(f"partner-program FAILED CLEANUP-NO-LEFTOVER: {len(self.leftovers)} link(s) left behind:")
            lines += self.leftovers
        if self.uncleaned:
            lines.append(
                f"partner-program ERROR: {len(self.uncleaned)} journaled link(s) could not be cleaned (the "
                "target is unreachable or the run stopped); the next run against this target cleans them:"
            )
            lines += self.uncleaned
        return lines
