"""Same verdicts (issue 14): the requests a full run sends fell from 944 to about 300 (a customer bank, one batch
flow, unregistered customers for 2008, deferred cleanup, lazy webhook registration); the outcome of every
requirement must not have moved. tests/fixtures/verdicts-before-issue-14.json holds the outcome per requirement
of a full run before those changes (its provenance says how it was made); a full run now, fuzz stage included,
must give the identical map.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from .test_suite_runs import ROOT, counts, run_suite

BEFORE = ROOT / "tests" / "fixtures" / "verdicts-before-issue-14.json"
ADDED_SINCE = {
    "LINK-2019-LIFTED": "issue 21: constraints checked both ways",
    "RELINK-AFTER-CANCEL": "issue 21: constraints checked both ways",
    "STATE-ITEMS-INDEPENDENT": "issue 21: partial success is not taken on the answer's word",
    "TENANT-LINK": "issue 21: tenant isolation",
    "TENANT-UPDATE": "issue 21: tenant isolation",
    "TENANT-DELINK": "issue 21: tenant isolation",
    "TENANT-READ": "issue 21: tenant isolation",
    "TENANT-EVENTS": "issue 21: tenant isolation",
    "LINK-OPTIONAL-REFERENCE": "issue 25: the strict stances of AMB-LINK-DEFAULT-TIER(-EXPIRY) bite on it",
}
"""Requirements the catalogue gained after the fixture was taken: a full run must pass each of them."""


def outcomes(report: Path) -> dict[str, str]:
    """Requirement id -> outcome of a run's conformance.json."""
    return {r["id"]: r["outcome"] for r in json.loads(report.read_text(encoding="utf-8"))["requirements"]}


def test_the_fixture_holds_every_requirement_once() -> None:
    before = json.loads(BEFORE.read_text(encoding="utf-8"))
    from ppconformance.contract.catalogue import load_catalogue

    catalogue = set(load_catalogue().requirements)
    assert set(before["outcomes"]) == catalogue - set(ADDED_SINCE), "regenerate: see its provenance"
    assert set(ADDED_SINCE) <= catalogue
    assert before["provenance"]["commit"] and set(before["outcomes"].values()) <= {"passed", "untestable"}


@pytest.mark.selftest_slow
@pytest.mark.timeout(900)
def test_a_full_run_gives_every_requirement_the_outcome_it_had_before_issue_14(tmp_path: Path) -> None:
    code, out, junit = run_suite(tmp_path, "-m", "fuzz or not fuzz", "--fuzz-seed=20261201")
    assert code == 0 and counts(junit)["failures"] == 0, out[-3000:]
    now = outcomes(tmp_path / "reports" / "conformance.json")
    before = json.loads(BEFORE.read_text(encoding="utf-8"))["outcomes"]
    before.update(dict.fromkeys(ADDED_SINCE, "passed"))
    moved = {rid: (before.get(rid), now.get(rid)) for rid in set(before) | set(now) if before.get(rid) != now.get(rid)}
    assert not moved, f"requirements whose outcome moved (before, now): {moved}"


def junit_outcomes(root: ET.Element) -> dict[str, str]:
    """Test name -> passed / failure / error / skipped of a JUnit report."""
    out = {}
    for case in root.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return out


def allure_results(folder: Path) -> list[dict[str, Any]]:
    """Every allure-pytest test result of a run."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*-result.json")]


def _label(result: dict[str, Any], name: str) -> str:
    return next((label["value"] for label in result["labels"] if label["name"] == name), "")


def _tags(result: dict[str, Any]) -> set[str]:
    return {label["value"] for label in result["labels"] if label["name"] == "tag"}


@pytest.mark.selftest_slow
@pytest.mark.timeout(900)
def test_on_two_workers_the_waits_overlap_and_every_verdict_and_test_result_stays(tmp_path: Path) -> None:
    """Issue 24, item 2 (docs/webhooks.md, "Waiting overlaps"): on two xdist workers the scenarios that wait come
    first, the retry-window waits leading, so other scenarios run while one waits; every requirement keeps its
    outcome, and JUnit and allure hold the same tests with the same outcomes as a serial run.

    The worker that runs WEBHOOK-NO-RETRY-4XX runs it first, or after the other retry-window wait (the order of
    one process: no timing). It waits out its retry window (8 s in both runs) from the start of the run, while the
    other worker runs the 80-odd scenarios that do not wait (about 2 s against the reference server here): that
    worker must run scenarios from start to end inside the wait. Before the retry-window waits led, the wait
    began after eight other webhook scenarios, and on a fast machine the other worker had already finished
    (CI, stop 27)."""
    env = {"PP__WEBHOOKS__RETRY_WINDOW_SECONDS": "8"}
    code, out, serial_junit = run_suite(tmp_path / "serial", "-p", "no:xdist", env=env)
    assert code == 0, out[-3000:]
    code, out, xdist_junit = run_suite(tmp_path / "xdist", "-n", "2", env=env)
    assert code == 0, out[-3000:]
    serial, xdist = tmp_path / "serial" / "reports", tmp_path / "xdist" / "reports"
    assert outcomes(xdist / "conformance.json") == outcomes(serial / "conformance.json")
    assert junit_outcomes(xdist_junit) == junit_outcomes(serial_junit)
    statuses = [
        {
            (r["fullName"], json.dumps(r.get("parameters"))): r["status"]
            for r in allure_results(reports / "allure-results")
        }
        for reports in (serial, xdist)
    ]
    assert statuses[0] == statuses[1] and len(statuses[1]) == counts(xdist_junit)["tests"]
    results = allure_results(xdist / "allure-results")
    (waiting,) = [r for r in results if _label(r, "story") == "WEBHOOK-NO-RETRY-4XX"]
    waited = (waiting["start"], waiting["stop"])
    elsewhere = [r for r in results if _label(r, "thread") != _label(waiting, "thread")]
    meanwhile = [r["name"] for r in elsewhere if waited[0] <= r["start"] <= r["stop"] <= waited[1]]
    assert meanwhile, "no scenario ran on the other worker while WEBHOOK-NO-RETRY-4XX waited out its retry window"
    earlier = [r for r in results if _label(r, "thread") == _label(waiting, "thread") and r["start"] < waiting["start"]]
    assert all("waits_retry_window" in _tags(r) for r in earlier), (
        "the worker that ran WEBHOOK-NO-RETRY-4XX ran scenarios with shorter waits before it (under xdist the "
        f"retry-window waits lead): {sorted(r['name'] for r in earlier if 'waits_retry_window' not in _tags(r))}"
    )
