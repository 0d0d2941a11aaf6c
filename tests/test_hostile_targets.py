"""The whole suite run against hostile targets (`tests/hostile_targets.py`): a target that hangs, resets the
connection, answers 500, answers invalid JSON, answers very slowly or with a huge body.

For each case the run must end within its bound (`Case.bound`), exit with the code its outcome class gives
(`ppconformance.run.outcomes`), name the cause of its errors, write its reports when it got to the scenarios,
never crash internally and never write a secret.

The runs use a fast copy of profiles/embedded.yaml (`FAST`: 2 s timeout, no retries, 1 MB body cap, stop
after 3 transport errors). They are independent subprocesses, so they are started together on a small
thread pool when the first test of this module needs one (one at a time under xdist), and each test waits
for its own run; several tests check one run.

Three stages where a run can end:

- ``probe``: the reachability probe (a GET of the base URL) fails; exit 10 before any scenario, so no
  JUnit or allure report is written, only the message;
- ``preflight``: discovery (on by default, as for a real target) fails; exit 10 likewise;
- ``scenarios``: the scenarios run (discovery off, or the probe answered); every test has an outcome
  in JUnit and allure.
"""

from __future__ import annotations

import copy
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ppconformance.connection.client import basic_auth_header
from ppconformance.run.outcomes import EXIT_FAILED, EXIT_TARGET_ERROR

from .hostile_targets import HostileTarget
from .test_secrets import forms
from .test_suite_runs import ROOT, SECRETS, counts, run_suite

#: Profile keys that make the runs fast.
FAST = {
    "timeout_seconds": 2,
    "connect_timeout_seconds": 1,
    "retries": 0,
    "max_response_bytes": 1_000_000,
    "stop_after_transport_errors": 3,
}
_PARALLEL_RUNS = 3
_EMBEDDED = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
BASIC_TILL = next(o["auth"]["till"] for o in _EMBEDDED["orgs"] if o["auth"]["scheme"] == "basic")


@dataclass(frozen=True)
class Case:
    """One run against a hostile target and what it must show.

    - `mode`: the target's mode (`hostile_targets.MODES`); `answer_probe`: the target answers the probe.
    - `discovery`: profile key `discovery`; `basic_only`: keep only the profile's Basic-auth org.
    - `code`: the expected exit code; `stage`: where the run ends (module docstring).
    - `causes`: the error messages name one of these (case-insensitive); `stops`: the run is stopped after
      `stop_after_transport_errors` consecutive transport errors.
    - `bound`: the run must end within this many seconds. Measured: 6-30 s for a run alone, up to 80 s
      with three runs sharing two busy cores. Runs that stop early get 90 s: without the stop, a hanging
      target would take 74 x 2 s plus start-up, a slow one minutes per request. Runs that judge every
      scenario (huge, error500, invalid_json) get 150 s.
    """

    id: str
    mode: str
    code: int
    stage: str
    causes: tuple[str, ...]
    answer_probe: bool = False
    discovery: bool = False
    basic_only: bool = False
    stops: bool = False
    bound: float = 90.0


# longest runs first: they are started first on the pool
CASES = [
    # the scenarios meet the hostile behaviour (discovery off, or the probe answered)
    Case("huge", "huge", EXIT_TARGET_ERROR, "scenarios", ("max_response_bytes",), bound=150),
    # setup requests answered 5xx/garbage are errors; the target's own answers to the scenarios' requests
    # are judged, so the malformed-body and authentication scenarios fail (exit 1)
    Case("error500", "error500", EXIT_FAILED, "scenarios", ("HTTP 500",), basic_only=True, bound=150),
    Case("invalid_json", "invalid_json", EXIT_FAILED, "scenarios", ("not a JSON object",), basic_only=True, bound=150),
    Case("hang", "hang", EXIT_TARGET_ERROR, "scenarios", ("timed out after 2",), answer_probe=True, stops=True),
    Case("slow", "slow", EXIT_TARGET_ERROR, "scenarios", ("not complete after 2",), stops=True),
    Case("reset", "reset", EXIT_TARGET_ERROR, "scenarios", ("reset", "disconnected"), answer_probe=True, stops=True),
    # the probe itself meets it
    Case("hang-probe", "hang", EXIT_TARGET_ERROR, "probe", ("no answer within 2",)),
    Case("reset-probe", "reset", EXIT_TARGET_ERROR, "probe", ("reset", "disconnected")),
    # discovery is on, as for any real target: the first discovery request meets it
    Case("error500-discovery", "error500", EXIT_TARGET_ERROR, "preflight", ("HTTP 500",), discovery=True),
    Case(
        "invalid_json-discovery", "invalid_json", EXIT_TARGET_ERROR, "preflight", ("not a JSON object",), discovery=True
    ),
    Case("slow-discovery", "slow", EXIT_TARGET_ERROR, "preflight", ("not complete after 2",), discovery=True),
    Case("huge-discovery", "huge", EXIT_TARGET_ERROR, "preflight", ("max_response_bytes",), discovery=True),
]
#: Both orgs (Basic and OAuth) against a target answering 500 to everything, token generation included.
OAUTH_500 = Case("error500-oauth", "error500", EXIT_FAILED, "scenarios", ("HTTP 500",), bound=150)


@dataclass
class Run:
    """What one run of the suite left: exit code, output, JUnit root, wall time, the requests the target read."""

    case: Case
    code: int
    out: str
    junit: ET.Element
    seconds: float
    reports: Path
    target_requests: list[str]


def _run(case: Case, tmp: Path) -> Run:
    profile = copy.deepcopy(_EMBEDDED)
    profile.update(FAST, discovery=case.discovery)
    if case.basic_only:
        profile["orgs"] = [o for o in profile["orgs"] if o["auth"]["scheme"] == "basic"]
    path = tmp / "fast.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    target = HostileTarget(case.mode, answer_probe=case.answer_probe).start()
    try:
        started = time.monotonic()
        code, out, junit = run_suite(tmp, f"--base-url={target.base_url}", f"--profile={path}")
        seconds = time.monotonic() - started
    finally:
        target.stop()
    return Run(case, code, out, junit, seconds, tmp / "reports", list(target.requests))


class _Runs:
    """The runs of this module's cases on a thread pool: `prefetch`ed ones start at once, others on demand."""

    def __init__(self, prefetch: list[Case], tmp_factory: pytest.TempPathFactory) -> None:
        self._tmp_factory = tmp_factory
        self._pool = ThreadPoolExecutor(max_workers=_PARALLEL_RUNS, thread_name_prefix="hostile-run")
        self._futures: dict[str, Future[Run]] = {}
        for case in prefetch:
            self._submit(case)

    def _submit(self, case: Case) -> Future[Run]:
        if case.id not in self._futures:
            self._futures[case.id] = self._pool.submit(_run, case, self._tmp_factory.mktemp(case.id))
        return self._futures[case.id]

    def get(self, case: Case) -> Run:
        """The finished run of `case` (starts it if need be, and waits for it)."""
        return self._submit(case).result()

    def close(self) -> None:
        """Wait for every run to end."""
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def hostile_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Runs]:
    """The runs of this module. Without xdist, the runs of every selected test of this module start at once,
    in test order; in an xdist worker (which does not know which tests it will get) each starts on demand."""
    prefetch = (
        []
        if hasattr(request.config, "workerinput")
        else [
            case
            for item in request.session.items
            if isinstance(item, pytest.Function)
            and item.module is request.module
            and hasattr(item, "callspec")
            and isinstance(case := item.callspec.params.get("case"), Case)
        ]
    )
    runs = _Runs(prefetch, tmp_path_factory)
    yield runs
    runs.close()


def _messages(junit: ET.Element, tag: str) -> list[str]:
    """The `message` (and text) of every `<error>` or `<failure>` of the JUnit report, in test order."""
    return [(e.get("message", "") + "\n" + (e.text or "")) for e in junit.iter(tag)]


def _first_line(message: str) -> str:
    text = message.removeprefix('failed on setup with "')
    return text.splitlines()[0] if text else ""


def _names_cause(text: str, causes: tuple[str, ...]) -> bool:
    return any(c.lower() in text.lower() for c in causes)


def _check_common(run: Run) -> None:
    """The properties of every run: bounded, no internal crash."""
    case = run.case
    assert run.seconds < case.bound, f"{case.id}: the run took {run.seconds:.0f} s\n{run.out[-3000:]}"
    assert "INTERNALERROR" not in run.out, run.out[-5000:]


def _leaks(run: Run) -> list[str]:
    """Where a secret of the run (plain, md5 hex, base64, the Basic header's credentials) was written or printed."""
    needles = {form: name for name, secret in SECRETS.items() for form in forms(secret)}
    needles[basic_auth_header(BASIC_TILL, SECRETS["PP_EMBEDDED_ENABLED_PASSWORD"]).split(" ", 1)[1]] = "Basic header"
    files = [p for p in run.reports.rglob("*") if p.is_file()] if run.reports.exists() else []
    texts = {"the terminal output": run.out} | {
        str(p.relative_to(run.reports)): p.read_text(encoding="utf-8", errors="replace") for p in files
    }
    return sorted(
        {f"{what} in {where}" for where, text in texts.items() for needle, what in needles.items() if needle in text}
    )


def _summary(run: Run) -> str:
    c = counts(run.junit) if run.junit.tag != "none" else None
    first = (
        next((_first_line(m) for m in _messages(run.junit, "error")), "")
        if c
        else next((line for line in run.out.splitlines() if "ERROR (not a conformance failure)" in line), "")
    )
    shown = (
        (
            f"passed {c['tests'] - c['failures'] - c['errors'] - c['skipped']}, failed {c['failures']}, "
            f"error {c['errors']}, skipped {c['skipped']}"
        )
        if c
        else "no junit (ended before the scenarios)"
    )
    return f"[{run.case.id}] exit {run.code}, {run.seconds:.1f} s, {shown}; first error: {first[:200]}"


@pytest.mark.selftest_slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_hostile_target_ends_the_run_in_bound_with_clear_errors(case: Case, hostile_runs: _Runs) -> None:
    run = hostile_runs.get(case)
    print(_summary(run))
    _check_common(run)
    assert run.code == case.code, f"{case.id}: exit {run.code}, expected {case.code}\n{run.out[-4000:]}"
    if case.stage in ("probe", "preflight"):
        what = "is unreachable" if case.mode in ("hang", "reset", "slow") else "could not be used"
        exit_line = next((line for line in run.out.splitlines() if "ERROR (not a conformance failure)" in line), "")
        assert what in exit_line and _names_cause(exit_line, case.causes), (case.causes, run.out[-3000:])
        # even a run that ends before the scenarios leaves reports saying why
        assert (run.reports / "effective-profile.json").is_file()
        c = counts(run.junit)
        assert c["tests"] == 1 and c["errors"] == 1, c
        assert any("not a conformance failure" in m for m in _messages(run.junit, "error"))
        assert len(list((run.reports / "allure-results").glob("*-result.json"))) == 1
        if case.stage == "probe":
            assert len(run.target_requests) == 1 and run.target_requests[0].startswith("GET / "), run.target_requests
        else:
            assert any("/v2/organization/programs" in r for r in run.target_requests), run.target_requests
            assert not any("/v2/partnerProgram/" in r for r in run.target_requests), run.target_requests
        return
    # the run got to the scenarios: every test has an outcome, reported in JUnit, allure and the terminal
    c = counts(run.junit)
    assert c["tests"] >= 70, (c, run.out[-3000:])
    assert (run.reports / "effective-profile.json").is_file()
    allure = list((run.reports / "allure-results").glob("*-result.json"))
    assert len(allure) == c["tests"], (len(allure), c)
    passed = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
    assert (
        f"partner-program outcome: {passed} passed, {c['failures']} FAILED" in run.out
        and f"), {c['errors']} ERROR (" in run.out
    ), run.out[-2000:]
    errors = _messages(run.junit, "error")
    assert c["errors"] > 0 and errors
    if case.code == EXIT_FAILED:
        assert c["failures"] > 0, c
    else:
        assert c["failures"] == 0, c
    assert all("not a conformance failure" in m or "TargetBroken" in m or "TargetUnreachable" in m for m in errors), [
        m for m in errors if "not a conformance failure" not in m
    ][:3]
    assert _names_cause(errors[0], case.causes), (case.causes, errors[0][:1000])
    if case.stops:
        # the first stop_after_transport_errors scenarios name the transport error; then the run is stopped:
        # the remaining tests end as errors naming the stop and its cause, without contacting the target
        assert all(_names_cause(m, case.causes) for m in errors[: FAST["stop_after_transport_errors"]]), errors[:3]
        stopped = errors[FAST["stop_after_transport_errors"] :]
        assert stopped and all(
            "the run was stopped" in m and "stop_after_transport_errors" in m and _names_cause(m, case.causes)
            for m in stopped
        ), stopped[:2]
        # + the probe + the customer pool's scan (one request: a transport error ends it for every org,
        # docs/customer-pool.md) + the webhook registration (POST /v3/webHooks, when a webhook scenario starts:
        # docs/webhooks.md)
        assert len(run.target_requests) <= 3 + FAST["stop_after_transport_errors"], run.target_requests
    elif case.mode == "huge":
        # every scenario errors but the two that drive the reference clock, which this target lacks (skipped: the
        # webhook is registered when a webhook scenario starts, not before the run, so it cannot break them first)
        assert c["errors"] + c["skipped"] == c["tests"] and c["skipped"] == 2, c
        assert all("max_response_bytes (1000000 bytes)" in m for m in errors), c
        assert "the run was stopped" not in run.out
    else:
        # error500 / invalid_json: every error is a setup request the target answered 5xx or garbage;
        # every failure is the target's answer to the scenario's own request, judged against a requirement
        assert all(_names_cause(m, case.causes) for m in errors), [m[:300] for m in errors][:3]
        failures = _messages(run.junit, "failure")
        assert all("NonConformance: [" in m for m in failures), failures[:2]
        assert any("REQ-MALFORMED" in m for m in failures), failures[:2]


@pytest.mark.selftest_slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", [OAUTH_500], ids=[OAUTH_500.id])
def test_a_5xx_to_oauth_token_generation_ends_the_run_in_bound_as_an_error(case: Case, hostile_runs: _Runs) -> None:
    run = hostile_runs.get(case)
    print(_summary(run))
    _check_common(run)
    assert run.code in (EXIT_FAILED, EXIT_TARGET_ERROR), run.out[-3000:]
    errors = _messages(run.junit, "error")
    assert errors and any("HTTP 500" in m for m in errors), errors[:2]


@pytest.mark.selftest_slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", [OAUTH_500], ids=[OAUTH_500.id])
def test_a_5xx_to_oauth_token_generation_is_not_reported_as_refused_credentials(
    case: Case, hostile_runs: _Runs
) -> None:
    run = hostile_runs.get(case)
    assert "refused the profile's own credentials" not in run.out, run.out[-2000:]
    assert run.code == case.code, run.out[-3000:]


@pytest.mark.selftest_slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in [*CASES, OAUTH_500]])
def test_no_secret_reaches_the_reports_or_the_output(case: Case, hostile_runs: _Runs) -> None:
    run = hostile_runs.get(case)
    assert _leaks(run) == []
