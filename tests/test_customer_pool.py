"""The suite's customer pool (issue 24, item 1): deterministic identities, the start-of-run scan, the take order
(found customers first, xdist workers apart), confirming a found customer before reuse, and setting aside one whose
state cannot be confirmed. Against the reference server in-process (Starlette's TestClient as the suite client's
transport), so each test costs milliseconds; the whole-suite runs are in tests/test_pool_reuse_runs.py."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.identities import SPAN, pool_capacity_problem, pool_identity, random_mobile
from ppconformance.connection.profile import DEFAULT_PROFILE, OrgProfile, Profile, ProfileError, load_profile
from ppconformance.run.customer_pool import Found, OrgScan, PoolTally, SuitePool, confirm, scan_org
from ppconformance.run.discovery import relinking_of
from ppconformance.run.preflight import Preflight, _scan
from ppconformance.run.provision import Provisioner
from ppreference import create_app, load_orgs

from .reference.helpers import TestClient
from .test_suite_runs import SECRETS

BASE = "http://testserver"


# -- identities ------------------------------------------------------------------------------------------------
def test_pool_identities_are_deterministic_distinct_and_tagged() -> None:
    a = pool_identity("9199", "conformance.invalid", 0, 1, True, 7)
    assert a == pool_identity("9199", "conformance.invalid", 0, 1, True, 7)  # another run, another machine
    assert a.mobile == "919900002007" and a.mobile[4] == "0"  # ((0 * 10 + 1) * 2 + 0) * 1000 + 7
    assert a.email == "pp-pool-0-1-e007@conformance.invalid" and a.external_id == "ppc-pool-0-1-e007"
    places = [(s, o, e, i) for s in (0, 3) for o in (0, 1) for e in (True, False) for i in (0, 1, SPAN - 1)]
    mobiles = {pool_identity("9199", "x.invalid", *p).mobile for p in places}
    assert len(mobiles) == len(places)
    assert all(len(m) == 12 and m.startswith("91990") for m in mobiles)


def test_random_identities_never_take_a_pool_place() -> None:
    rnd = random.Random(24)
    drawn = [random_mobile("9199", rnd.choice) for _ in range(2000)]
    assert all(len(m) == 12 and m.startswith("9199") and m[4] != "0" for m in drawn)
    assert random_mobile("9199", lambda chars: chars[0]) == "919910000000"  # the lowest draw: tail 1000...


def test_a_prefix_too_long_for_the_pool_is_a_profile_error_unless_the_pool_is_off() -> None:
    assert pool_capacity_problem("9199", 9, 10) is None
    assert pool_capacity_problem("919912", 4, 10) is None and pool_capacity_problem("919912", 5, 10) is not None
    env = {**SECRETS, "PP__TEST_DATA__MOBILE_PREFIX": "91991234"}
    with pytest.raises(ProfileError, match="reuse_customers: false"):
        load_profile(DEFAULT_PROFILE, env=env)
    assert not load_profile(DEFAULT_PROFILE, env={**env, "PP__TEST_DATA__REUSE_CUSTOMERS": "false"}).uses_customer_pool
    assert not load_profile(DEFAULT_PROFILE, env=env, allow_writes=False).uses_customer_pool  # read-only: no pool


# -- the take order and its bookkeeping -----------------------------------------------------------------------
def _profile(**env: str) -> Profile:
    return load_profile(DEFAULT_PROFILE, env={**SECRETS, **env})


def test_take_hands_out_found_customers_first_and_without_a_claims_file_splits_places_by_worker() -> None:
    profile = _profile()
    org = profile.orgs[0].name
    scan = OrgScan(
        found={(True, 0): Found(10), (True, 1): Found(11), (True, 3): Found(13), (False, 0): Found(20)},
        aside={(True, 2): "another customer holds the mobile"},
        reached={True: 5, False: 5},
    )
    even = SuitePool(profile, {org: OrgScan.from_json(scan.to_json())}, worker=0, workers=2)
    odd = SuitePool(profile, {org: OrgScan.from_json(scan.to_json())}, worker=1, workers=2)
    taken_even = [even.take(org, True) for _ in range(3)]
    taken_odd = [odd.take(org, True) for _ in range(3)]
    assert [(s.identity.index, s.found) for s in taken_even if s] == [(0, Found(10)), (4, None), (6, None)]
    assert [(s.identity.index, s.found.id if s.found else None) for s in taken_odd if s] == [
        (1, 11),
        (3, 13),
        (5, None),
    ]
    not_enrolled = even.take(org, False)
    assert not_enrolled is not None and not_enrolled.found == Found(20) and not not_enrolled.identity.enrolled
    assert even.take(profile.orgs[1].name, True) == SuitePool(profile).take(profile.orgs[1].name, True)
    assert SuitePool(_profile(PP__TEST_DATA__REUSE_CUSTOMERS="false")).take(org, True) is None  # pool off


def test_xdist_workers_claim_the_lowest_places_no_process_has_taken(tmp_path: Path) -> None:
    profile = _profile()
    org = profile.orgs[0].name
    scan = OrgScan(found={(True, i): Found(100 + i) for i in range(4)}, reached={True: 45, False: 5})
    claims = tmp_path / "run.pool-claims"
    workers = [SuitePool(profile, {org: OrgScan.from_json(scan.to_json())}, w, 2, claims=claims) for w in (0, 1)]
    order = [0, 0, 0, 1, 0, 1]  # one worker needs more customers than the other
    taken = [workers[w].take(org, True) for w in order]
    assert [s.identity.index for s in taken if s] == [0, 1, 2, 3, 4, 5]  # found first, then the next free, no gap
    assert [s.found.id if s.found else None for s in taken if s] == [100, 101, 102, 103, None, None]
    assert claims.read_text(encoding="utf-8").split() == [f"{org}/e{i}" for i in range(6)]


def test_a_set_aside_place_is_skipped_and_reported() -> None:
    profile = _profile()
    org = profile.orgs[0].name
    pool = SuitePool(profile, {org: OrgScan(found={(True, 0): Found(10), (True, 1): Found(11)})})
    first = pool.take(org, True)
    assert first is not None
    pool.set_aside(first, "its loyaltyDetails could not be read (HTTP 500)")
    again = SuitePool(profile, pool.scans)  # a later take of the same process's share skips it too
    nxt = again.take(org, True)
    assert nxt is not None and nxt.identity.index == 1
    assert pool.tally.set_aside == [
        f"org {org}: {first.identity.mobile} (enrolled, place 0): its loyaltyDetails could not be read (HTTP 500)"
    ]


def test_tallies_add_up_over_processes() -> None:
    run, worker = PoolTally(registered=2), PoolTally(registered=1, reused=5, set_aside=["org a: 9199...: why"])
    worker.borrow("a:1")
    worker.borrow("a:1")  # a hand-listed customer borrowed twice counts once
    run.add(worker.to_json())
    assert run.to_json() == {"registered": 3, "reused": 6, "setAside": ["org a: 9199...: why"]}
    assert run.summary()[0] == "partner-program test customers: 3 registered, 6 reused, 1 set aside"


# -- against the reference server (in-process) ------------------------------------------------------------------
@dataclass
class Target:
    """The reference server in-process: the profile, a client per org, and every request (method, path)."""

    profile: Profile
    http: TestClient
    requests: list[tuple[str, str]] = field(default_factory=list)

    def client(self, org: int = 0) -> PartnerProgramClient:
        return PartnerProgramClient(BASE, self.profile, self.profile.orgs[org], http=self.http)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.endswith(suffix))

    def links(self, org: int = 0) -> list[dict[str, Any]]:
        state = self.http.get("/__reference__/state").json()
        name = self.profile.orgs[org].name
        return [link for o in state["orgs"] if o["name"] == name for link in o["links"]]


@pytest.fixture
def target() -> Iterator[Target]:
    profile = _profile()
    with TestClient(create_app(load_orgs(env=SECRETS)), base_url=BASE, raise_server_exceptions=False) as http:
        found = Target(profile, http)
        http.event_hooks["request"].append(lambda r: found.requests.append((r.method, r.url.path)))
        yield found


def _register(client: PartnerProgramClient, profile: Profile, index: int, enrolled: bool = True, **ids: str) -> int:
    identity = pool_identity(profile.mobile_prefix, profile.email_domain, 0, 0, enrolled, index)
    ex = client.add_customer({**identity.identifiers(), **ids}, enrolled=enrolled)
    assert ex.status == 200, ex.render()
    return int(ex.response_json["createdId"])


def _link(client: PartnerProgramClient, customer_id: int, program: str, tier: str | None = None) -> None:
    reference = {"partnerMembershipId": f"M-{customer_id}-{program}"} | ({"partnerTierName": tier} if tier else {})
    item = {"partnerProgramName": program, "customerPartnerReference": reference}
    ex = client.link({"linkCustomers": [{"customer": {"id": customer_id}, "linkToPartnerPrograms": [item]}]})
    assert ex.status == 200, ex.render()


def test_the_scan_finds_earlier_customers_cleans_what_they_hold_and_sets_aside_a_stranger(target: Target) -> None:
    client, profile = target.client(), target.profile
    org: OrgProfile = profile.orgs[0]  # relinking enabled
    ids = [_register(client, profile, i) for i in range(3)]
    _link(client, ids[1], "Apparel-Partner", "Bronze")  # a killed run's leftovers, its journal gone
    _link(client, ids[2], "SPP_1", "Classic")
    not_enrolled = _register(client, profile, 0, enrolled=False)
    _register(client, profile, 3, email="someone@else.invalid", externalId="not-ours")
    assert len(target.links()) == 2
    target.requests.clear()

    scan = scan_org(client, profile, org, 0, probe_program="SPP_1")

    assert {k: f.id for k, f in scan.found.items()} == {
        (True, 0): ids[0],
        (True, 1): ids[1],
        (True, 2): ids[2],
        (False, 0): not_enrolled,
    }
    assert all(f.settled and not f.fresh for f in scan.found.values())
    assert list(scan.aside) == [(True, 3)] and "tag" in scan.aside[(True, 3)]
    assert scan.reached == {True: 45, False: 5}  # one batch: 45 enrolled places and 5 not enrolled, not all held
    assert relinking_of(scan.probe_code) is True  # the cancel is the relinking probe
    assert target.requests == [
        ("POST", "/v2/partnerProgram/customerPartnerProgramUpdate"),
        ("POST", "/v2/partnerProgram/deLinkCustomer"),
    ]
    assert target.links() == [], "the scan delinks whatever the pool's customers were left holding"


def test_the_scan_goes_on_while_every_place_of_a_batch_is_held(target: Target) -> None:
    client, profile = target.client(1), target.profile
    identity = [pool_identity(profile.mobile_prefix, profile.email_domain, 0, 1, True, i) for i in range(46)]
    for ident in identity:
        assert client.add_customer(ident.identifiers()).status == 200
    target.requests.clear()
    scan = scan_org(client, profile, profile.orgs[1], 1, probe_program="SPP_1")
    assert len(scan.found) == 46 and scan.reached == {True: 95, False: 5}
    assert target.count("POST", "/customerPartnerProgramUpdate") == 2  # 45 + 5, then 50 more enrolled places
    assert target.count("POST", "/deLinkCustomer") == 1
    assert relinking_of(scan.probe_code) is False  # this org's relinking is disabled (2026)


def test_confirm_cleans_a_linked_customer_and_gives_why_for_one_it_cannot_read(target: Target) -> None:
    client, profile = target.client(), target.profile
    org = profile.orgs[0]
    linked = _register(client, profile, 0)
    _link(client, linked, "SPP_1", "Classic")
    assert confirm(client, profile, org, linked, settled=False) is None
    assert target.links() == []
    assert confirm(client, profile, org, linked, settled=True) is None
    why = confirm(client, profile, org, 123456789, settled=True)
    assert why is not None and "loyaltyDetails could not be read" in why


def _provisioner(target: Target, scan: OrgScan | None) -> Provisioner:
    profile = target.profile
    scans = {profile.orgs[0].name: scan} if scan is not None else {}
    return Provisioner(profile, "t24", suite_pool=SuitePool(profile, scans))


def test_a_second_run_reuses_the_pool_and_registers_only_what_it_lacks(target: Target) -> None:
    client, profile = target.client(), target.profile
    org = profile.orgs[0]
    first = _provisioner(target, OrgScan(complete=True))  # the first run: an empty pool
    made = [first.register(client, org) for _ in range(2)]
    assert first.suite_pool is not None and first.suite_pool.tally.registered == 2
    _link(client, int(made[1].id or 0), "Apparel-Partner")  # then the first run is killed
    target.requests.clear()

    scan = scan_org(client, profile, org, 0, probe_program="SPP_1")
    second = _provisioner(target, scan)
    again = [second.register(client, org) for _ in range(3)]

    assert [c.mobile for c in again[:2]] == [c.mobile for c in made] and [c.id for c in again[:2]] == [
        c.id for c in made
    ]
    assert again[2].mobile == pool_identity(profile.mobile_prefix, profile.email_domain, 0, 0, True, 2).mobile
    assert second.suite_pool is not None and second.suite_pool.tally.to_json() == {
        "registered": 1,
        "reused": 2,
        "setAside": [],
    }
    assert target.count("POST", "/v2/customers") == 1
    assert target.count("GET", "/loyaltyDetails") == 2  # each reused customer confirmed by one read
    assert target.links() == []


def test_a_customer_that_cannot_be_confirmed_is_set_aside_and_the_next_place_taken(target: Target) -> None:
    client, profile = target.client(), target.profile
    org = profile.orgs[0]
    gone = OrgScan(found={(True, 0): Found(987654321)}, reached={True: 1, False: 0})  # found, then unreadable
    provisioner = _provisioner(target, gone)
    customer = provisioner.register(client, org)
    pool = provisioner.suite_pool
    assert pool is not None and pool.tally.registered == 1 and len(pool.tally.set_aside) == 1
    assert "place 0" in pool.tally.set_aside[0] and "could not be read" in pool.tally.set_aside[0]
    assert customer.mobile == pool_identity(profile.mobile_prefix, profile.email_domain, 0, 0, True, 1).mobile


def test_a_place_held_beyond_the_scans_reach_is_looked_up_and_reused(target: Target) -> None:
    client, profile = target.client(), target.profile
    org = profile.orgs[0]
    held = _register(client, profile, 0)
    _link(client, held, "Apparel-Partner")
    target.requests.clear()
    provisioner = _provisioner(target, OrgScan(reached={True: 0, False: 0}))  # nothing scanned: presumed free
    customer = provisioner.register(client, org)
    assert customer.id == held and provisioner.suite_pool is not None
    assert provisioner.suite_pool.tally.to_json() == {"registered": 0, "reused": 1, "setAside": []}
    assert target.count("POST", "/v2/customers") == 1 and target.count("GET", "/v2/customers/lookup") == 1
    assert target.links() == []  # confirmed: cancelled, delinked and read again before use


def test_a_scan_the_target_breaks_ends_in_a_note_not_an_error_of_the_run() -> None:
    profile = _profile(PP__RETRIES="0")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    pre = Preflight(profile, BASE, "t24", ephemeral=False)
    first = _scan(pre, PartnerProgramClient(BASE, profile, profile.orgs[0], http=http), profile.orgs[0], 0, "SPP_1")
    assert first.found == {} and "the customer pool was not scanned (org relinking-enabled)" in first.notes[0]
    pre.pool[profile.orgs[0].name] = first
    later = _scan(pre, PartnerProgramClient(BASE, profile, profile.orgs[1], http=http), profile.orgs[1], 1, "SPP_1")
    assert "an earlier org's scan failed" in later.notes[0]  # no second wait on a dead target
    assert "customer pool was not scanned" in "\n".join(pre.summary_lines())
