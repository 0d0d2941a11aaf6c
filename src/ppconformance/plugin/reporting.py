"""pytest plugin object: the conformance report, waivers, the baseline diff, the evidence bundle.

Registered by `ppconformance.plugin.core` in every process of a run that collects scenarios.

- In every process (`pytest_runtest_makereport`, innermost with the outcome tracker, so JUnit and allure see
  the result): each phase report carries `pp_record` (a `TestRecord` as JSON: the requirements the test judges,
  the outcome of the phase, the reason, the requirements a failure names and its redacted text). A failure
  whose named requirements all have an applying waiver becomes *waived*: pytest reports it xfailed (JUnit
  skipped, allure skipped), with the waiver as the reason.
- On the controller: the records are merged per test (`pytest_runtest_logreport`) and, after the exit code is
  settled, `reports/conformance.{json,md,html}` are written; an expired waiver makes the run fail (exit 1);
  `--baseline` writes `reports/diff.md`; `--evidence DIR` writes the bundle (`ppconformance.evidence`).
- `record_traffic` (called by the `world` fixture's teardown when `--evidence` is given) appends the scenario's
  exchanges, redacted, to `reports/traffic/<worker>.jsonl`, the bundle's HAR source.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ppconformance import __version__
from ppconformance.connection.client import Exchange, redact_text
from ppconformance.connection.profile import Profile
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.judge.readings import Readings, summarise
from ppconformance.report.baseline import load_baseline, render_diff
from ppconformance.report.conformance import TestRecord, build_report, describe_cause, named_requirements
from ppconformance.report.render import render_html, render_markdown
from ppconformance.report.waivers import Waivers
from ppconformance.resources import checkout
from ppconformance.run.expected_state import program_infos
from ppconformance.run.outcomes import EXIT_FAILED, EXIT_OK, EXIT_TARGET_ERROR, OutcomeTracker, is_run_error

__all__ = ["ConformanceReporter", "git_revision"]

_NOT_JUDGED = "not judged"


def git_revision() -> str:
    """The checkout's `git rev-parse HEAD` (with "-dirty" when the tree has changes), or "unknown"."""
    root = checkout()
    if root is None:
        return "unknown"
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def _first_line(call: pytest.CallInfo[None], report: pytest.TestReport) -> str:
    """The first line of what went wrong, the suite's own message first (not a traceback location)."""
    if call.excinfo is not None:
        text = str(call.excinfo.value).strip()
        if text:
            return text.splitlines()[0]
    lines = str(report.longreprtext or "").strip().splitlines()
    return next((line.strip() for line in lines if line.strip().startswith("E ")), lines[0] if lines else "")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _skip_reason(report: pytest.TestReport) -> str:
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail:
        return str(wasxfail)
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return text.removeprefix("Skipped: ")


class ConformanceReporter:
    """Builds the conformance report (see the module docstring).

    Arguments: `profile` (the run's, for secrets, stances and the target), `reports_dir`, `waivers` (or None),
    `baseline` (path of a previous conformance.json, or None), `evidence` (bundle directory, or None),
    `target` (the base URL), `tracker` (the run's `OutcomeTracker`, for leftovers, the stop reason and errors).
    """

    def __init__(
        self,
        *,
        profile: Profile,
        target: str,
        reports_dir: Path,
        waivers: Waivers | None,
        baseline: str | None,
        evidence: str | None,
        tracker: OutcomeTracker,
        worker: str = "main",
        selection: str = "",
        require_complete: bool = False,
    ) -> None:
        self.selection = selection
        self.require_complete = require_complete
        self.cause_lines: list[str] = []
        self.profile = profile
        self.target = target
        self.reports_dir = reports_dir
        self.waivers = waivers
        self.baseline = baseline
        self.evidence = evidence
        self.tracker = tracker
        self.worker = worker
        self.catalogue = load_catalogue()
        self.records: dict[str, TestRecord] = {}
        self.started = _now()
        self.summary: list[str] = []

    # -- every process ------------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        known = self.catalogue.requirements
        tagged = {m.name for m in item.iter_markers()}
        requirements = [rid for rid in known if rid in tagged]
        scenario = getattr(getattr(item, "obj", None), "__scenario__", None)
        kind = "fuzz" if item.get_closest_marker("fuzz") else "scenario" if scenario is not None else "test"
        record = TestRecord(
            nodeid=item.nodeid, name=getattr(scenario, "name", None) or item.name, kind=kind, requirements=requirements
        )
        if report.passed:
            record.outcome = "passed"
        elif report.skipped:
            record.reason = _skip_reason(report)
            record.outcome = _NOT_JUDGED if record.reason.startswith(_NOT_JUDGED) else "skipped"
        elif report.when != "call" or is_run_error(call.excinfo):  # the tracker's rule: it may wrap this hook
            record.outcome = "error"
            record.reason = _first_line(call, report) or "error"
        else:
            message = str(call.excinfo.value) if call.excinfo is not None else str(report.longreprtext)
            message = redact_text(message, self.profile.secrets())
            record.outcome = "failed"
            record.reason = message.strip().splitlines()[0] if message.strip() else "failed"
            record.detail = message[:12000]
            record.failed_requirements = named_requirements(message, known) or list(requirements)
            self._waive(report, record)
        report.pp_record = record.to_json()  # type: ignore[attr-defined]  # crosses xdist as a report attribute

    def _waive(self, report: pytest.TestReport, record: TestRecord) -> None:
        if self.waivers is None or not record.failed_requirements:
            return
        applying = [self.waivers.applying(rid) for rid in record.failed_requirements]
        if any(w is None for w in applying):
            return
        labels = "; ".join(w.label() for w in applying if w is not None)
        record.outcome = "waived"
        report.outcome = "skipped"
        report.wasxfail = f"waived: {labels}"  # type: ignore[attr-defined]  # pytest's xfail: JUnit/allure skipped

    # -- the controller ----------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "pp_record", None)
        if not isinstance(data, dict):
            return
        new = TestRecord.from_json(data)
        old = self.records.get(report.nodeid)
        if old is None or old.outcome == "passed":
            self.records[report.nodeid] = new

    def finish(self, exit_code: int, run_error: str = "", readings: Readings | None = None) -> int:
        """Write the reports (controller, after the exit code is settled); returns the exit code, made 1 by an
        expired waiver, 13 by `--require-complete` on a partial run. `run_error`: why the run judged nothing;
        `readings`: what the target chose where the documents are silent (the reports' readings section)."""
        reading_rows = summarise(readings.to_json() if readings else {}, order=self.catalogue.ambiguities)
        expired = self.waivers.expired() if self.waivers else []
        if expired and exit_code in (EXIT_OK, EXIT_TARGET_ERROR):
            exit_code = EXIT_FAILED
        tracker = self.tracker
        cause = (
            describe_cause(run_error=run_error, stopped=tracker.stopped, errors=tracker.errors, target=self.target)
            if exit_code == EXIT_TARGET_ERROR or run_error
            else None
        )
        not_judged = (
            cause["cause"]
            if cause and (run_error or tracker.stopped)
            else f"deselected ({self.selection})"
            if self.selection
            else "no test of this run judged it (not collected)"
        )
        report = build_report(
            catalogue=self.catalogue,
            tests=list(self.records.values()),
            strict=set(self.profile.strict),
            meta={
                "suite": {"name": "partner-program-conformance", "version": __version__, "gitRevision": git_revision()},
                "target": self.target,
                "profile": self.profile.name,
                "started": self.started,
                "finished": _now(),
            },
            exit_code=exit_code,
            not_judged=not_judged,
            cause=cause,
            require_complete=self.require_complete,
            readings=reading_rows,
            waivers=self.waivers,
            run={
                "leftovers": list(tracker.leftovers),
                "uncleaned": list(tracker.uncleaned),
                "stopped": tracker.stopped,
                "errors": list(tracker.errors),
            }
            | ({"customers": tracker.customers} if tracker.customers is not None else {}),
        )
        out = self.reports_dir
        out.mkdir(parents=True, exist_ok=True)
        secrets = self.profile.secrets()
        (out / "conformance.json").write_text(redact_text(json.dumps(report, indent=1), secrets) + "\n", "utf-8")
        (out / "conformance.md").write_text(redact_text(render_markdown(report), secrets), "utf-8")
        (out / "conformance.html").write_text(redact_text(render_html(report), secrets), "utf-8")
        exit_code = report["exitCode"]
        self.summary = [f"partner-program report: {out}/conformance.{{json,md,html}} ({report['headline']})"]
        if cause:
            self.cause_lines = [
                f"partner-program: COULD NOT JUDGE: {cause['cause']}",
                f"partner-program: check next: {cause['check']}",
            ]
        for r in report["requirements"]:
            if r["outcome"] == "waived":
                self.summary.append(f"partner-program WAIVED {r['waiver']['requirement']}: {r['waiver']['reason']}")
            elif r["waiver"] and r["waiver"]["status"] == "no longer needed":
                self.summary.append(
                    f"partner-program: waiver no longer needed: {r['id']} passes ({r['waiver']['ticket']})"
                )
        for w in expired:
            self.summary.append(
                f"partner-program FAILED waiver expired on {w.expires.isoformat()}: {w.requirement} ({w.ticket})"
            )
        self.summary += readings_lines(reading_rows)
        if self.baseline:
            text = render_diff(load_baseline(self.baseline), report, self.baseline)
            (out / "diff.md").write_text(text, "utf-8")
            self.summary += ["partner-program diff against the baseline (reports/diff.md):", *text.splitlines()[2:]]
        if self.evidence:
            from ppconformance import evidence

            tarball = evidence.write_bundle(
                Path(self.evidence),
                reports_dir=out,
                meta={
                    "suite_version": __version__,
                    "git_revision": report["suite"]["gitRevision"],
                    "base_url": report["target"],
                    "profile": report["profile"],
                    "started": report["started"],
                    "finished": report["finished"],
                    "strict": report["stances"]["strict"],
                    "exit_code": exit_code,
                    "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
                },
                secrets=secrets,
            )
            self.summary.append(f"partner-program evidence bundle: {self.evidence} and {tarball}")
        return exit_code

    def clear_traffic(self) -> None:
        """Remove an earlier run's `reports/traffic/` (controller, at the start of an `--evidence` run)."""
        for old in (self.reports_dir / "traffic").glob("*.jsonl"):
            old.unlink()

    def record_scenario_trace(self, directory: Path, nodeid: str, title: str, trace: list[dict[str, Any]]) -> None:
        """Append one scenario's trace (`run.scenario.World.traced`) to `directory/<worker>.jsonl` as
        `{"scenario", "title", "trace"}`; a new file starts with `{"orgs": {name: {"timezone", "programs": [{"name",
        "type", "tiers"}]}}}` from the effective profile. Only with `--scenario-traces`; holds no secret."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.worker}.jsonl"
        with path.open("a", encoding="utf-8") as fh:
            if fh.tell() == 0:
                orgs = {
                    org.name: {
                        "timezone": org.timezone,
                        "relinking": org.allow_membership_relinking,
                        "programs": [
                            {"name": p.name, "type": p.type, "tiers": list(p.tiers)} for p in program_infos(org)
                        ],
                    }
                    for org in self.profile.orgs
                }
                fh.write(json.dumps({"orgs": orgs}) + "\n")
            fh.write(json.dumps({"scenario": nodeid, "title": title, "trace": trace}, default=str) + "\n")

    def record_traffic(self, nodeid: str, exchanges: list[Exchange]) -> None:
        """Append `exchanges` (redacted) to this process's `reports/traffic/<worker>.jsonl` (only with
        `--evidence`)."""
        if not self.evidence or not exchanges:
            return
        traffic = self.reports_dir / "traffic"
        traffic.mkdir(parents=True, exist_ok=True)
        with (traffic / f"{self.worker}.jsonl").open("a", encoding="utf-8") as fh:
            for ex in exchanges:
                fh.write(json.dumps(ex.traffic_record(nodeid), ensure_ascii=False) + "\n")


def readings_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The terminal summary's readings lines: how many of the entries the report reads were observed, then a
    WARNING per mixed entry (the target answered one open point more than one way)."""
    read = [r for r in rows if r["status"] != "not read"]
    if not read:
        return []
    observed = [r for r in read if r["status"] != "not observed"]
    lines = [
        f"partner-program readings where the documents are silent: {len(observed)} of {len(read)} register "
        "entries observed (conformance.md, 'Readings')"
    ]
    lines += [
        f"partner-program WARNING mixed reading {r['id']}: {r['shown'][len('mixed: ') :]}"
        for r in read
        if r["status"] == "mixed"
    ]
    return lines
