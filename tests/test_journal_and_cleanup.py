"""Journal, run markers, cleanup from the journal (against a fake target) and the exit code of a run."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.profile import DEFAULT_PROFILE, Profile, load_profile
from ppconformance.run.cleanup import BATCH, CANCEL, clean
from ppconformance.run.link_journal import Journal, JournalEntry, RunMarker, open_entries, remove_target, target_dir
from ppconformance.run.outcomes import EXIT_FAILED, EXIT_OK, EXIT_TARGET_ERROR, OutcomeTracker

from .test_suite_runs import SECRETS

URL = "http://target.invalid"
EXTERNAL, SUPPLEMENTARY = "Apparel-Partner", "SPP_1"


# -- journal ------------------------------------------------------------------------------------
def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_record_writes_one_link_line_per_program_before_anything_else(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "run1", "gw0")
    entries = journal.record(
        "org-a", {"id": 7, "mobile": "919900000001", "email": ""}, [(EXTERNAL, False), (SUPPLEMENTARY, True)]
    )
    assert journal.path == target_dir(tmp_path, URL) / "run1-gw0.jsonl"
    assert [(e.program, e.supplementary) for e in entries] == [(EXTERNAL, False), (SUPPLEMENTARY, True)]
    assert entries[0].customer_obj == {"id": 7, "mobile": "919900000001"}, "empty identifiers are dropped"
    lines = _lines(journal.path)
    assert [(r["op"], r["org"], r["program"], r["supplementary"]) for r in lines] == [
        ("link", "org-a", EXTERNAL, False),
        ("link", "org-a", SUPPLEMENTARY, True),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["at"]) for r in lines)
    meta = json.loads((journal.dir / "target.json").read_text(encoding="utf-8"))
    assert meta == {"base_url": URL, "ephemeral": False}
    assert journal.open_entries() == entries


def test_close_entry_closes_and_the_file_goes_when_all_are_closed(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "run1")
    first = journal.record("org-a", {"id": 1}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    second = journal.record("org-a", {"id": 2}, [(EXTERNAL, False)])
    journal.close_entry(first[1])
    assert {(dict(e.customer)["id"], e.program) for e in journal.open_entries()} == {(1, EXTERNAL), (2, EXTERNAL)}
    assert _lines(journal.path)[-1]["op"] == "clean"
    journal.close_entry(first[0])
    journal.close_entry(second[0])
    assert not journal.path.exists()
    assert journal.open_entries() == []


def test_a_relink_of_a_closed_entry_opens_it_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "run1")
    (entry,) = journal.record("org-a", {"id": 1}, [(EXTERNAL, False)])
    journal.record("org-a", {"id": 9}, [(EXTERNAL, False)])  # keeps the file alive
    journal.close_entry(entry)
    journal.record("org-a", {"id": 1}, [(EXTERNAL, False)])
    assert {dict(e.customer)["id"] for e in journal.open_entries()} == {1, 9}


def test_a_line_cut_by_a_kill_is_ignored(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "run1")
    journal.record("org-a", {"id": 1}, [(EXTERNAL, False)])
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"op": "link", "org": "org-a", "customer": {"id": 2}, "prog')  # no newline: killed mid-write
    entries = open_entries(tmp_path, URL)
    assert [(e.customer_obj, e.program) for e in entries] == [({"id": 1}, EXTERNAL)]


def test_closing_entries_of_a_journal_with_a_cut_last_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "run1")
    (entry,) = journal.record("org-a", {"id": 1}, [(EXTERNAL, False)])
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"op": "link", "org": "org-a", "cust')
    (later,) = open_entries(tmp_path, URL)
    assert later == entry
    journal.close_entry(later)
    assert open_entries(tmp_path, URL) == []
    assert not journal.path.exists()


def test_open_entries_filters_by_run_and_skips_live_runs(tmp_path: Path) -> None:
    for run in ("dead", "live", "mine"):
        Journal(tmp_path, URL, run).record("org-a", {"id": 1}, [(run, False)])
    RunMarker(tmp_path, URL, "live").create()  # this process: alive
    assert [e.program for e in open_entries(tmp_path, URL, exclude_run="mine")] == ["dead"]
    assert [e.program for e in open_entries(tmp_path, URL, run_id="live")] == ["live"], "a run sweeps its own"
    assert sorted(e.program for e in open_entries(tmp_path, URL)) == ["dead", "mine"]
    assert open_entries(tmp_path, "http://other.invalid") == []


def test_open_entries_deletes_files_with_nothing_open(tmp_path: Path) -> None:
    journal = Journal(tmp_path, URL, "old")
    (entry,) = journal.record("org-a", {"id": 1}, [(EXTERNAL, False)])
    with journal.path.open("a", encoding="utf-8") as fh:  # closed by hand, file left behind
        fh.write(json.dumps({"op": "clean", "org": "org-a", "customer": {"id": 1}, "program": EXTERNAL}) + "\n")
    assert journal.path.exists() and entry
    assert open_entries(tmp_path, URL) == []
    assert not journal.path.exists()


def test_remove_target_and_target_dir(tmp_path: Path) -> None:
    assert target_dir(tmp_path, URL + "/") == target_dir(tmp_path, URL)
    assert target_dir(tmp_path, URL) != target_dir(tmp_path, "http://other.invalid")
    Journal(tmp_path, URL, "r", ephemeral=True).record("o", {"id": 1}, [(EXTERNAL, False)])
    assert json.loads((target_dir(tmp_path, URL) / "target.json").read_text())["ephemeral"] is True
    remove_target(tmp_path, URL)
    assert not target_dir(tmp_path, URL).exists()


# -- run markers -----------------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _marker(tmp_path: Path, run: str, **meta: Any) -> Path:
    directory = target_dir(tmp_path, URL)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{run}.run.json").write_text(json.dumps(meta), encoding="utf-8")
    return directory


def test_run_marker_of_this_process_is_live_and_removed(tmp_path: Path) -> None:
    marker = RunMarker(tmp_path, URL, "run1")
    marker.create()
    directory = target_dir(tmp_path, URL)
    meta = json.loads(marker.path.read_text(encoding="utf-8"))
    assert meta["pid"] == os.getpid() and meta["host"] == socket.gethostname()
    assert RunMarker.is_live(directory, "run1")
    marker.remove()
    assert not RunMarker.is_live(directory, "run1")
    marker.remove()  # twice is fine


def test_run_marker_of_a_dead_pid_is_not_live(tmp_path: Path) -> None:
    directory = _marker(tmp_path, "killed", host=socket.gethostname(), pid=_dead_pid(), started=time.time())
    assert not RunMarker.is_live(directory, "killed")


def test_run_marker_of_another_host_is_live_for_an_hour(tmp_path: Path) -> None:
    directory = _marker(tmp_path, "recent", host="elsewhere.invalid", pid=1, started=time.time() - 60)
    _marker(tmp_path, "old", host="elsewhere.invalid", pid=1, started=time.time() - RunMarker.LIVE_SECONDS - 5)
    assert RunMarker.is_live(directory, "recent")
    assert not RunMarker.is_live(directory, "old")


def test_unreadable_or_missing_marker_is_not_live(tmp_path: Path) -> None:
    directory = target_dir(tmp_path, URL)
    directory.mkdir(parents=True)
    (directory / "garbled.run.json").write_text("{not json", encoding="utf-8")
    assert not RunMarker.is_live(directory, "garbled")
    assert not RunMarker.is_live(directory, "absent")


# -- cleanup against a fake target --------------------------------------------------------------
class FakeTarget:
    """A MockTransport handler keeping links per customer id; `sticky` programs survive a delink,
    `status` (when set) answers every request, `broken` raises a connect error for every request."""

    def __init__(
        self,
        links: dict[int, set[str]],
        *,
        mobiles: dict[str, int] | None = None,
        sticky: set[str] | None = None,
        status: int | None = None,
        broken: bool = False,
    ) -> None:
        self.links = links
        self.mobiles = mobiles or {}
        self.sticky = sticky or set()
        self.status = status
        self.broken = broken
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        if self.broken:
            raise httpx.ConnectError("connection refused", request=request)
        if self.status is not None:
            return httpx.Response(self.status, text="oops")
        path = request.url.path
        if path.endswith("/deLinkCustomer"):
            for item in body["deLinkCustomers"]:
                cid = self._id(item["customer"])
                for p in item["deLinkFromPartnerPrograms"]:
                    if cid is not None and p["partnerProgramName"] not in self.sticky:
                        self.links.get(cid, set()).discard(p["partnerProgramName"])
            return httpx.Response(200, json={"deLinkCustomers": [], "warnings": []})
        if path.endswith("/customerPartnerProgramUpdate"):
            return httpx.Response(200, json={"customersPartnerUpdates": [], "warnings": []})
        if path == "/v2/customers/lookup":
            cid = self.mobiles.get(request.url.params["identifierValue"])
            if cid is None:
                return httpx.Response(200, json={"warnings": [], "errors": [{"code": 8015}]})
            return httpx.Response(200, json={"entity": cid, "warnings": []})
        match = re.fullmatch(r"/v2/customers/(\d+)/loyaltyDetails", path)
        if match:
            cid = int(match.group(1))
            return httpx.Response(
                200,
                json={
                    "id": cid,
                    "linkedPartnerPrograms": [
                        {"partnerProgramName": name} for name in sorted(self.links.get(cid, set()))
                    ],
                    "warnings": [],
                },
            )
        return httpx.Response(404, json={})

    def _id(self, customer: dict[str, Any]) -> int | None:
        if isinstance(customer.get("id"), int):
            return int(customer["id"])
        return self.mobiles.get(str(customer.get("mobile")))

    def of(self, suffix: str) -> list[Any]:
        return [body for method, path, body in self.requests if path.endswith(suffix)]


@pytest.fixture
def profile() -> Profile:
    return load_profile(DEFAULT_PROFILE, env=SECRETS)


def _clean(
    profile: Profile, target: FakeTarget, journal: Journal, entries: list[JournalEntry], relinking: bool | None = True
) -> Any:
    clients: dict[str, PartnerProgramClient] = {}

    def client_for(name: str) -> PartnerProgramClient:
        if name not in clients:
            clients[name] = PartnerProgramClient(
                URL, profile, profile.org(name), http=httpx.Client(transport=httpx.MockTransport(target))
            )
        return clients[name]

    return clean(entries, client_for, journal, lambda name: relinking)


def test_clean_closes_entries_once_loyalty_details_no_longer_lists_the_program(
    tmp_path: Path, profile: Profile
) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 5, "mobile": "919900000005"}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    target = FakeTarget({5: {EXTERNAL, SUPPLEMENTARY, "Unrelated"}})
    report = _clean(profile, target, journal, entries)
    assert report.closed == 2 and report.leftovers == [] and report.render() == ""
    assert report.requests == 3  # cancel, delink, loyaltyDetails
    assert not journal.path.exists()
    assert target.links[5] == {"Unrelated"}, "only journaled programs are delinked"
    (update,) = target.of("/customerPartnerProgramUpdate")
    assert update == {
        "customersPartnerUpdates": [
            {
                "customer": {"id": 5},
                "partnerProgramUpdates": [{"partnerProgramName": SUPPLEMENTARY, "updateType": CANCEL}],
            }
        ]
    }
    (delink,) = target.of("/deLinkCustomer")
    assert delink == {
        "deLinkCustomers": [
            {
                "customer": {"id": 5},
                "deLinkFromPartnerPrograms": [{"partnerProgramName": EXTERNAL}, {"partnerProgramName": SUPPLEMENTARY}],
            }
        ]
    }


def test_clean_looks_a_customer_up_when_the_journal_has_no_id(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"mobile": "919900000006"}, [(EXTERNAL, False)])
    entries += journal.record(org, {"mobile": "919900000099"}, [(EXTERNAL, False)])  # unknown to the target
    target = FakeTarget({6: {EXTERNAL}}, mobiles={"919900000006": 6})
    report = _clean(profile, target, journal, entries, relinking=False)
    assert report.closed == 2 and report.leftovers == []
    assert target.of("/customerPartnerProgramUpdate") == [], "no cancel without a supplementary program"
    (delink,) = target.of("/deLinkCustomer")
    assert [i["customer"] for i in delink["deLinkCustomers"]] == [
        {"mobile": "919900000006"},
        {"mobile": "919900000099"},
    ]
    assert target.links[6] == set()


def test_clean_reports_a_leftover_and_keeps_it_open(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 5}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    target = FakeTarget({5: {EXTERNAL, SUPPLEMENTARY}}, sticky={SUPPLEMENTARY})
    report = _clean(profile, target, journal, entries)
    assert report.closed == 1
    assert [(e.program, why) for e, why in report.leftovers] == [
        (SUPPLEMENTARY, "still listed in loyaltyDetails after the delink")
    ]
    assert f"still linked to {SUPPLEMENTARY!r}" in report.render() and org in report.render()
    assert [e.program for e in journal.open_entries()] == [SUPPLEMENTARY]


def test_clean_with_relinking_disabled_sends_no_cancel(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[1].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 5}, [(SUPPLEMENTARY, True)])
    target = FakeTarget({5: {SUPPLEMENTARY}})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/oauth/token/generate":
            return httpx.Response(200, json={"data": {"accessToken": "tok", "ttlSeconds": 300}})
        return target(request)

    clients = {
        org: PartnerProgramClient(
            URL, profile, profile.org(org), http=httpx.Client(transport=httpx.MockTransport(handler))
        )
    }
    report = clean(entries, clients.__getitem__, journal, lambda name: False)
    assert report.closed == 1
    assert target.of("/customerPartnerProgramUpdate") == [] and len(target.of("/deLinkCustomer")) == 1


def test_clean_when_every_request_answers_500_keeps_the_entries_open(tmp_path: Path, profile: Profile) -> None:
    """The client does not raise on a 5xx: the delink answer is not read, and loyaltyDetails cannot be."""
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 5}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    target = FakeTarget({5: {EXTERNAL}}, status=500)
    report = _clean(profile, target, journal, entries)
    assert report.closed == 0
    assert {why for _, why in report.leftovers} == {"loyaltyDetails could not be read to check the delink"}
    assert len(journal.open_entries()) == 2
    assert report.requests == 3


def test_clean_reports_cleanup_failed_on_a_target_error(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 5}, [(EXTERNAL, False)])
    target = FakeTarget({5: {EXTERNAL}}, broken=True)
    report = _clean(profile, target, journal, entries)  # never raises
    assert report.closed == 0 and len(report.leftovers) == 1
    assert report.leftovers[0][1].startswith("cleanup failed: POST ") and "ConnectError" in report.leftovers[0][1]
    assert "\n" not in report.leftovers[0][1]
    assert report.requests == 1, "a POST that failed in transport is not sent again"
    assert len(journal.open_entries()) == 1


def test_clean_reports_entries_of_an_org_the_profile_lacks(tmp_path: Path, profile: Profile) -> None:
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record("gone-org", {"id": 5}, [(EXTERNAL, False)])
    report = _clean(profile, FakeTarget({}), journal, entries)
    assert report.leftovers == [(entries[0], "the profile has no org 'gone-org' to clean it with")]


def test_clean_batches_120_customers_into_requests_of_at_most_50(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = []
    for cid in range(1, 121):
        entries += journal.record(org, {"id": cid}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    target = FakeTarget({cid: {EXTERNAL, SUPPLEMENTARY} for cid in range(1, 121)})
    report = _clean(profile, target, journal, entries)
    assert BATCH == 50
    delinks = target.of("/deLinkCustomer")
    assert [len(d["deLinkCustomers"]) for d in delinks] == [50, 50, 20]
    assert [len(u["customersPartnerUpdates"]) for u in target.of("/customerPartnerProgramUpdate")] == [50, 50, 20]
    assert sorted(i["customer"]["id"] for d in delinks for i in d["deLinkCustomers"]) == list(range(1, 121))
    assert report.closed == 240 and report.leftovers == []
    assert report.requests == 3 + 3 + 120
    assert not journal.path.exists()


def test_clean_delinks_customers_of_different_program_sets_in_one_request(tmp_path: Path, profile: Profile) -> None:
    org = profile.orgs[0].name
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(org, {"id": 1}, [(EXTERNAL, False)])
    entries += journal.record(org, {"id": 2}, [(EXTERNAL, False)])
    entries += journal.record(org, {"id": 3}, [(SUPPLEMENTARY, True)])
    target = FakeTarget({1: {EXTERNAL}, 2: {EXTERNAL}, 3: {SUPPLEMENTARY}})
    report = _clean(profile, target, journal, entries)
    (delink,) = target.of("/deLinkCustomer")  # each customer with its own items: one request for all three
    items = {
        e["customer"]["id"]: [p["partnerProgramName"] for p in e["deLinkFromPartnerPrograms"]]
        for e in delink["deLinkCustomers"]
    }
    assert items == {1: [EXTERNAL], 2: [EXTERNAL], 3: [SUPPLEMENTARY]}
    (cancel,) = target.of("/customerPartnerProgramUpdate")  # only the supplementary one is cancelled first
    assert [e["customer"]["id"] for e in cancel["customersPartnerUpdates"]] == [3]
    assert report.closed == 3 and not target.links[3]


# -- exit code -------------------------------------------------------------------------------------------
def _tracker(**counts: int) -> OutcomeTracker:
    tracker = OutcomeTracker()
    tracker.counts.update(counts)
    return tracker


@pytest.mark.parametrize(
    ("counts", "leftovers", "stopped", "pytest_code", "expected"),
    [
        ({"passed": 5}, [], None, 0, EXIT_OK),
        ({"passed": 5, "skipped": 3}, [], None, 0, EXIT_OK),
        ({"passed": 5, "failed": 1}, [], None, 1, EXIT_FAILED),
        ({"failed": 1, "error": 2}, [], None, 1, EXIT_FAILED),
        ({"passed": 5, "error": 2}, [], None, 1, EXIT_TARGET_ERROR),
        ({"passed": 5}, ["  org x: customer {} still linked to 'P': why"], None, 0, EXIT_FAILED),
        ({"passed": 5, "error": 1}, ["  leftover"], None, 1, EXIT_FAILED),
        ({"passed": 1}, [], "auth refused", 1, EXIT_TARGET_ERROR),
        ({"passed": 5, "failed": 1}, [], None, 2, 2),
        ({}, [], None, 4, 4),
        ({}, [], None, 5, 5),
        ({"failed": 3}, ["  leftover"], None, 2, 2),
    ],
    ids=[
        "clean",
        "skips",
        "failure",
        "failure-and-errors",
        "errors-only",
        "leftover",
        "leftover-and-error",
        "stopped",
        "interrupted",
        "usage",
        "nothing-collected",
        "interrupted-with-failures",
    ],
)
def test_exit_code(
    counts: dict[str, int], leftovers: list[str], stopped: str | None, pytest_code: int, expected: int
) -> None:
    tracker = _tracker(**counts)
    tracker.record_leftovers(leftovers, None)
    tracker.stopped = stopped
    assert tracker.exit_code(pytest_code) == expected


def test_leftovers_are_a_failure_of_their_own_in_allure_and_the_summary(tmp_path: Path) -> None:
    tracker = _tracker(passed=2)
    tracker.record_leftovers(["  org a: customer {'id': 1} still linked to 'P': why"], str(tmp_path))
    (result,) = tmp_path.glob("*-result.json")
    data = json.loads(result.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and "1 link(s) left behind" in data["statusDetails"]["message"]
    summary = "\n".join(tracker.summary_lines())
    assert "CLEANUP-NO-LEFTOVER: 1 link(s) left behind" in summary and "still linked to 'P'" in summary
