"""The conformance suite run end to end, in subprocesses, as its users run it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.judge.readings import against
from ppconformance.run.outcomes import EXIT_PROFILE_ERROR, EXIT_TARGET_ERROR
from ppreference.variants import DEFAULT_READINGS

from .naive_target import serve

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "selftest-Secret-pw-1",
    "PP_EMBEDDED_ENABLED_OAUTH_KEY": "selftest-key-2",
    "PP_EMBEDDED_ENABLED_OAUTH_SECRET": "selftest-secret-3",
    "PP_EMBEDDED_DISABLED_PASSWORD": "selftest-pw-4",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "selftest-key-5",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "selftest-secret-6",
}


DROPPED_ENV: tuple[str, ...] = ("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "PP__", "PP_RUN_ID")
DROPPED_ENV += ("PYTEST_BASE_URL", "PP_PROFILE", "PP_STRICT", "PP_DISCOVERY", "PP_EPHEMERAL", "PP_REFERENCE_")
"""Environment variables of the calling pytest (or the user's shell) a suite run must not inherit: a self-test
states its target, profile and overrides itself (`env`)."""


def scenario_command(*args: str) -> list[str]:
    """The command line of a suite run over the scenarios (`pytest steps -q`, no cache), the fuzz stage
    deselected (`-m "not fuzz"`; tests/test_fuzz.py runs it; an `-m` in `args` replaces it), then `args`."""
    return [sys.executable, "-m", "pytest", "steps", "-q", "-p", "no:cacheprovider", "-m", "not fuzz", *args]


def run_suite(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, ET.Element]:
    """Run `scenario_command` with reports in tmp_path; returns (exit code, output, junit root)."""
    reports = tmp_path / "reports"
    cmd = scenario_command(f"--reports-dir={reports}", *args)  # JUnit, allure and conformance.* go there together
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    full_env = {**inherited, **SECRETS, **(env or {})}
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600)
    junit = reports / "junit.xml"
    root = ET.parse(junit).getroot() if junit.exists() else ET.Element("none")
    return proc.returncode, proc.stdout + proc.stderr, root


def kill_run_when(
    cmd: list[str], cwd: Path, env: dict[str, str], output: Path, ready: Callable[[], bool], what: str
) -> None:
    """Start the suite run `cmd` in its own process group (stdout and stderr to the file `output`), wait (at most
    120 s) until `ready()` holds, then SIGKILL the whole group, as a cancelled CI job would be. AssertionError,
    showing the run's last output, when the run ended before `what` happened."""
    with output.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and not ready():
                time.sleep(0.02)
            assert proc.poll() is None, f"the run ended before {what}: " + output.read_text(errors="replace")[-2000:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def counts(root: ET.Element) -> dict[str, int]:
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None, "the JUnit report has no <testsuite>"
    return {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}


def failed_requirements(root: ET.Element) -> set[str]:
    ids = set(load_catalogue().requirements)
    out = set()
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            text = failure.get("message", "") + (failure.text or "")
            out |= {i for i in ids if f"[{i} " in text or f"[{i}]" in text}
    return out


@pytest.mark.selftest_slow
@pytest.mark.parametrize(
    "extra", [[], ["-n", "2"], ["-p", "randomly", "-p", "no:xdist"]], ids=["serial", "xdist-2", "random-order"]
)
def test_suite_is_green_against_the_reference_server(tmp_path: Path, extra: list[str]) -> None:
    code, out, junit = run_suite(tmp_path, *extra)
    c = counts(junit)
    assert code == 0, out[-4000:]
    assert c["tests"] >= 70 and c["failures"] == 0 and c["errors"] == 0 and c["skipped"] == 0, c
    results = list((tmp_path / "reports" / "allure-results").glob("*-result.json"))
    assert len(results) == c["tests"]
    # issue 23, item 5: the readings report names every reading the reference implements, none other, none mixed
    # (under xdist the workers' readings are merged on the controller); the fuzz stage, deselected here, is the only
    # one to send a method the paths do not define
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8"))
    declared = {e: texts for e, texts in DEFAULT_READINGS.items() if e != "AMB-UNDEFINED-REQUESTS"}
    unexpected, missing = against(report["readings"], declared)
    assert not unexpected and not missing, (unexpected, missing)


@pytest.mark.selftest_slow
def test_pytest_junit_allure_and_the_conformance_report_count_the_same_tests(tmp_path: Path) -> None:
    """Issue 22, item 7: every test of the fuzz stage (one per operation, and the lifecycle) has its own node id, so
    the terminal's count, JUnit, allure-pytest and conformance.json agree (a 5-second, 2-example fuzz budget)."""
    env = {"PP__FUZZ__MAX_EXAMPLES": "2", "PP__FUZZ__TIME_BUDGET_SECONDS": "5"}
    code, out, junit = run_suite(tmp_path, "-m", "fuzz or LINK-2006", "--fuzz-seed=7", env=env)
    assert code == 0, out[-3000:]
    reports = tmp_path / "reports"
    summary = re.search(r"(\d+) passed", out)
    names = [case.get("name") for case in junit.iter("testcase")]
    allure_results = list((reports / "allure-results").glob("*-result.json"))
    report = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    figures = {
        "pytest": int(summary.group(1)) if summary else -1,
        "junit": counts(junit)["tests"],
        "allure": len(allure_results),
        "conformance.json": report["tests"]["total"],
    }
    assert len(set(figures.values())) == 1 and figures["junit"] >= 5, figures
    assert sum("test_fuzz_bodies[" in str(n) for n in names) == 3, names


@pytest.mark.selftest_slow
def test_suite_fails_a_target_that_accepts_everything(tmp_path: Path) -> None:
    base_url, server = serve()
    try:
        code, out, junit = run_suite(tmp_path, f"--base-url={base_url}")
    finally:
        server.should_exit = True
    assert code == 1, out[-3000:]
    failed = failed_requirements(junit)
    for rid in (
        "LINK-2002",
        "LINK-2003",
        "LINK-2006",
        "LINK-2008",
        "UPDATE-2009",
        "UPDATE-2027",
        "AUTH-401",
        "REQ-MALFORMED",
        "LINK-SUCCESS",
        "UPDATE-UPGRADE-TIER",
        "DELINK-2004",
        "IDENT-NOT-FOUND",
        "RELINK-BEFORE-END",
    ):
        assert rid in failed, f"{rid} not failed against an accept-everything target; failed: {sorted(failed)}"
    # LINK-W1302 is not judged by default (AMB-1302-TRIGGER): a link without the warning is reported as such
    assert "not judged: no warning 1302" in ET.tostring(junit, encoding="unicode")
    attachments = list((tmp_path / "reports" / "allure-results").glob("*-attachment.txt"))
    assert attachments and any("Authorization: ***" in a.read_text(encoding="utf-8") for a in attachments)
    # credentials never appear in what the run wrote
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for secret in SECRETS.values():
                assert secret not in text, f"{secret!r} leaked into {path}"
    assert "***" in out


def test_unreachable_target_is_an_error_not_a_failure(tmp_path: Path) -> None:
    code, out, junit = run_suite(tmp_path, "--base-url=http://127.0.0.1:9", "-x")
    assert code == EXIT_TARGET_ERROR, out[-2000:]
    assert "unreachable" in out and "not a conformance failure" in out
    # reported by pytest itself: one test that errors in setup, in JUnit and allure alike (no hand-written report)
    assert counts(junit) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}, counts(junit)
    case = junit.find(".//testcase")
    assert case is not None and case.get("name") == "the target is usable (reachability probe and discovery)"
    results = [json.loads(p.read_text()) for p in (tmp_path / "reports" / "allure-results").glob("*-result.json")]
    assert [(r["name"], r["status"]) for r in results] == [(case.get("name"), "broken")]


def test_missing_secret_is_a_clear_profile_error(tmp_path: Path) -> None:
    env = {k: "" for k in SECRETS}
    code, out, junit = run_suite(tmp_path, "--base-url=http://127.0.0.1:9", env=env)
    assert code == EXIT_PROFILE_ERROR, out[-2000:]
    assert "PP_EMBEDDED_ENABLED_PASSWORD is not set" in out
    assert counts(junit)["errors"] == 1 and "is not set" in "".join(junit.itertext())


@pytest.mark.selftest_slow
def test_scenarios_without_a_declared_prerequisite_are_skipped_with_the_missing_setting(tmp_path: Path) -> None:
    profile = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    profile["orgs"] = profile["orgs"][:1]  # relinking enabled only, Basic auth only
    path = tmp_path / "one-org.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    code, out, junit = run_suite(tmp_path, f"--profile={path}", "-m", "relinking or auth", "-rs")
    assert code == 0, out[-3000:]
    reasons = [s.get("message", "") for s in junit.iter("skipped")]
    assert len(reasons) == 4, reasons  # RENEWAL-INITIATION, LINK-2026, UPDATE-2026, AUTH-OAUTH
    assert sum("allow_membership_relinking: false" in r for r in reasons) == 3, reasons
    assert sum("auth.scheme: oauth" in r for r in reasons) == 1, reasons
    assert counts(junit)["failures"] == 0
