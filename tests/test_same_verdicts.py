"""Same verdicts (issue 14): the requests a full run sends fell from 944 to about 300 (a customer bank, one batch
flow, unregistered customers for 2008, deferred cleanup, lazy webhook registration); the outcome of every
requirement must not have moved. tests/fixtures/verdicts-before-issue-14.json holds the outcome per requirement
of a full run before those changes (its provenance says how it was made); a full run now, fuzz stage included,
must give the identical map.
"""

from __future__ import annotations

import json
from pathlib import Path

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
