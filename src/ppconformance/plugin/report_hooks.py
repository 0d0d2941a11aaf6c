"""The end of a conformance run: the journal sweep, the exit code and the terminal summary.

A pytest plugin (entry point `pytest11`), inert unless the run is a conformance run (it reads only what
`plugin.run_setup` put in the run context and the `ProcessState`). At the end of the run, on the controller (or the
only process): links this run left in its journal are undone (any left behind is a failure of its own, or an error
when the target could not be reached to undo them), the exit code is settled (`run.outcomes.OutcomeTracker`,
then the conformance reporter: waivers, `plugin.reporting`), and the summary printed: the preflight, the outcome
classes, the reports written, the state reads' convergence, the test customers registered, reused and set aside
(`run.customer_pool.PoolTally`; also conformance.json `run.customers`) and the HTTP requests sent (summed over
xdist workers: each worker hands its figures back in `workeroutput`).
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from ppconformance.connection.profile import Profile, ProfileError
from ppconformance.judge.readings import Readings
from ppconformance.plugin import runcontext
from ppconformance.run.cleanup import CleanupReport
from ppconformance.run.link_journal import open_entries
from ppconformance.run.preflight import sweep_journal

__all__ = ["settled_summary"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Worker: hand its request count and convergence figures back. Controller: sweep this run's journal and
    settle the exit code (see the module docstring)."""
    config = session.config
    state = runcontext.state(config)
    if hasattr(config, "workeroutput"):
        config.workeroutput["pp_requests"] = state.requests
        config.workeroutput["pp_settled"] = state.settled
        config.workeroutput["pp_readings"] = runcontext.readings(config).to_json()
        config.workeroutput["pp_customers"] = state.customers.to_json()
        return
    preflight, tracker, reporter = state.preflight, state.tracker, state.reporter
    if state.check_config is not None:
        if preflight is not None:
            preflight.finish()
        session.exitstatus = state.check_config[1]
        return
    ctx = runcontext.get(config)
    run_error = str((ctx.run_error if ctx else {}).get("message", ""))
    if tracker is not None and preflight is None:
        session.exitstatus = tracker.exit_code(int(session.exitstatus))
        if reporter is not None:
            session.exitstatus = reporter.finish(int(session.exitstatus), run_error, _run_readings(config))
        return
    if preflight is None or tracker is None:
        return
    ctx = runcontext.require(config)
    if tracker.stopped:
        report = CleanupReport(
            leftovers=[
                (e, "left for the next run: this run was stopped")
                for e in open_entries(preflight.profile.journal_dir, ctx.base_url, run_id=ctx.run_id)
            ]
        )
        report.unreachable = True
    else:
        report = sweep_journal(preflight, ctx.base_url, run_id=ctx.run_id)
    state.requests += report.requests + preflight.requests
    if report.unreachable:
        tracker.uncleaned = report.render().splitlines()  # not known to be linked: an error, not a failure
    else:
        tracker.record_leftovers(report.render().splitlines(), config.getoption("allure_report_dir", None))
    preflight.finish()
    tracker.customers = state.customers.to_json()
    session.exitstatus = tracker.exit_code(int(session.exitstatus))
    if reporter is not None:
        session.exitstatus = reporter.finish(int(session.exitstatus), run_error, _run_readings(config))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: add a finished worker's request count and convergence figures to the run's."""
    output = getattr(node, "workeroutput", {}) or {}
    state = runcontext.state(node.config)
    state.requests += int(output.get("pp_requests", 0))
    state.settled += list(output.get("pp_settled", []))
    runcontext.readings(node.config).merge(output.get("pp_readings") or {})
    state.customers.add(output.get("pp_customers", {}))


def settled_summary(settled: list[list[Any]], window: float) -> str:
    """The run's convergence line: how many loyaltyDetails reads had to be read again within the consistency
    window, how long the target took to agree with the model (median and maximum seconds after the write's
    answer), and how many still differed after the window. `settled`: per re-read read, [seconds, agreed]."""
    converged = sorted(float(s) for s, ok in settled if ok)
    late = sum(1 for _, ok in settled if not ok)
    head = f"partner-program state reads (state.read_consistency_seconds {window:g}): "
    if not settled:
        return head + "every read agreed with the model at once or differed for good (no read needed a re-read)"
    figures = (
        f"{len(converged)} converged after re-reading, median {statistics.median(converged):.2f} s, max "
        f"{converged[-1]:.2f} s after the write"
        if converged
        else "none converged"
    )
    return head + figures + (f"; {late} still differed after the window (judged)" if late else "")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The controller's summary lines (see the module docstring); nothing outside a conformance run."""
    ctx = runcontext.get(config)
    if hasattr(config, "workerinput") or ctx is None:
        return
    state = runcontext.state(config)
    if state.check_config is not None:
        for line in state.check_config[0].splitlines():
            terminalreporter.write_line(line)
        return
    for line in state.reporter.cause_lines if state.reporter is not None else []:
        terminalreporter.write_line(line)  # why the run could not judge comes first
    if state.preflight is not None:
        for line in state.preflight.summary_lines():
            terminalreporter.write_line(line)
    if state.tracker is not None:
        for line in state.tracker.summary_lines():
            terminalreporter.write_line(line)
    if state.reporter is not None:
        for line in state.reporter.summary:
            terminalreporter.write_line(line)
    if ctx.run_error:
        return
    try:
        profile: Profile | None = runcontext.run_profile(config)
    except ProfileError:
        profile = None
    if profile is not None and profile.allow_writes:
        window = profile.state.read_consistency_seconds
        terminalreporter.write_line(settled_summary(state.settled, window))
        for line in state.customers.summary():
            terminalreporter.write_line(line)
    terminalreporter.write_line(f"partner-program: {state.requests} HTTP requests sent to {ctx.base_url}")


def _run_readings(config: pytest.Config) -> Readings:
    """The run's readings, settled on the controller: every process's answers (merged from the workers), the
    events the webhook sink accepted, and the state oracle's re-reads (`Readings.close`)."""
    state = runcontext.state(config)
    seen = runcontext.readings(config)
    for d in state.deliveries or []:
        if d.accepted and d.body is not None:
            seen.observe_event(d.body)
    seen.close(state.settled)
    return seen
