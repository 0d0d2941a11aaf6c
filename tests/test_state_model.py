"""The documented-state model (`contract.model`: transitions, suspects, `compare`), the item-code matcher
(`contract.matching.item_codes`) and cleanup's `known` shortcut (`run.cleanup.clean`), against a fake target."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.profile import DEFAULT_PROFILE, Profile, load_profile
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import LINK
from ppconformance.contract.matching import item_codes, sent_from_request
from ppconformance.contract.model import FIELDS, TRANSITIONS, UNKNOWN, Expect, ProgramInfo, Row, StateModel, compare
from ppconformance.contract.stances import AmbiguityId, Stances
from ppconformance.run.cleanup import CleanupReport, Known, clean
from ppconformance.run.link_journal import Journal

from .test_journal_and_cleanup import EXTERNAL, SUPPLEMENTARY, URL, FakeTarget
from .test_suite_runs import SECRETS

TZ = "Asia/Kolkata"
EXT, SPP = ProgramInfo("Ext", "EXTERNAL", ("Silver", "Gold")), ProgramInfo("SPP_1", "SUPPLEMENTARY", ("Classic",))
PROGRAMS = {p.name: p for p in (EXT, SPP)}
LINKED, FAILED, OTHERS = "STATE-LINK-STORED", "STATE-UNCHANGED-ON-FAILURE", "STATE-OTHERS-UNCHANGED"
JAN15, EXPIRY = date(2027, 1, 15), "2027-01-15T12:00:00+05:30"
EXPIRY_KEY = "partnerTierExpiryDate"
LENIENT = Stances()


def link_item(name: str, **ref: Any) -> dict[str, Any]:
    return {"partnerProgramName": name, "customerPartnerReference": ref}


def update_item(name: str, update_type: str, **details: Any) -> dict[str, Any]:
    return {"partnerProgramName": name, "updateType": update_type, "updateDetails": details}


def linked(**ref: Any) -> StateModel:
    """Customer 1 linked to Ext as M1, Silver, expiring on 2027-01-15 (org time); SPP_1 not linked."""
    model = StateModel([EXT, SPP], TZ)
    model.add(1)
    ref = {"partnerMembershipId": "M1", "partnerTierName": "Silver", "partnerTierExpiryDate": EXPIRY, **ref}
    model.apply_link(1, [link_item("Ext", **ref)], [200])
    return model


def values(program: Any) -> tuple[Any, ...]:
    return tuple(e.value for e in (program.listed, program.membership_id, program.tier, program.tier_expiry))


def rows(model: StateModel, found: Any, stances: Stances = LENIENT) -> dict[tuple[str, str], Row]:
    state = model.state(1)
    assert state is not None
    return {(r.program, r.field): r for r in compare(state, found, PROGRAMS, TZ, stances)}


EXT_FOUND = {
    "partnerProgramName": "Ext",
    "partnerProgramType": "EXTERNAL",
    "partnerMembershipId": "M1",
    "partnerTierName": "Silver",
    "partnerTierExpiryDate": "2027-01-15",
}


# -- transitions ------------------------------------------------------------------------------------------
def test_link_success_stores_the_membership_and_keeps_the_other_program() -> None:
    state = linked().customers[1]
    ext, spp = state.programs["Ext"], state.programs["SPP_1"]
    assert values(ext) == (True, "M1", "Silver", JAN15)
    assert {e.requirement for e in (ext.listed, ext.membership_id, ext.tier, ext.tier_expiry)} == {LINKED}
    assert ext.tier.ambiguity is None and ext.tier_expiry.ambiguity is None
    assert state.pending("Ext") is False and state.listed() == {"Ext"}
    assert spp.listed.value is False and spp.listed.suspects == (OTHERS,), "the provisioning marker is no suspect"


def test_link_without_tier_or_expiry_is_dont_care_until_strict() -> None:
    model = linked(partnerTierName=None, partnerTierExpiryDate=None)
    ext = model.customers[1].programs["Ext"]
    assert ext.tier == Expect(None, LINKED, ambiguity=AmbiguityId.LINK_DEFAULT_TIER)
    assert ext.tier_expiry == Expect(None, LINKED, ambiguity=AmbiguityId.LINK_DEFAULT_TIER_EXPIRY)
    assert not ext.tier.compared(LENIENT) and not ext.tier_expiry.compared(LENIENT)
    assert ext.tier.compared(Stances.of(["AMB-LINK-DEFAULT-TIER"]))
    assert not ext.tier_expiry.compared(Stances.of(["AMB-LINK-DEFAULT-TIER"]))
    found = [{**EXT_FOUND, "partnerTierName": "Silver"}]
    assert rows(model, found)[("Ext", "partnerTierName")].verdict == "not compared (AMB-LINK-DEFAULT-TIER)"
    assert rows(model, found, Stances.of(["AMB-LINK-DEFAULT-TIER"]))[("Ext", "partnerTierName")].mismatch


@pytest.mark.parametrize("code", [2003, 2008, 400])
def test_a_failed_item_keeps_every_field(code: int) -> None:
    model = linked()
    model.apply_link(1, [link_item("Ext", partnerMembershipId="M2", partnerTierName="Gold")], [code])
    after = model.customers[1].programs["Ext"]
    assert values(after) == (True, "M1", "Silver", JAN15)
    suspects = {e.suspects for e in (after.listed, after.membership_id, after.tier, after.tier_expiry)}
    assert suspects == {(FAILED, LINKED)}, "the failure is the last suspect"
    model.apply_link(1, [link_item("SPP_1", partnerMembershipId="S1")], [code])  # never linked: stays absent
    spp = model.customers[1].programs["SPP_1"]
    assert values(spp) == (False, None, None, None) and spp.listed.suspects == (FAILED, OTHERS)


def test_an_unreadable_item_makes_the_program_unknown() -> None:
    model = linked()
    model.apply_update(1, [update_item("Ext", "UPGRADE", updatedTierName="Gold")], [None])
    state = model.customers[1]
    assert state.programs["Ext"].tier.value is UNKNOWN and state.pending("Ext") is None and state.listed() is None
    compared = rows(model, [EXT_FOUND])
    assert set(compared) == {("Ext", "listed"), ("SPP_1", "listed")}
    assert compared[("Ext", "listed")].verdict.startswith("not compared (unknown")
    assert compared[("SPP_1", "listed")].verdict == "ok"


def test_a_future_relink_is_queued_then_cancelled_keeping_the_membership() -> None:
    model = linked()
    relink = link_item("Ext", partnerMembershipId="M2", partnerTierName="Gold", membershipStartDate="2027-03-01")
    model.apply_link(1, [relink], [200])
    state = model.customers[1]
    ext = state.programs["Ext"]
    assert state.pending("Ext") is True
    assert (ext.membership_id.value, ext.tier.value, ext.tier_expiry.value) == ("M1", "Silver", JAN15)
    assert ext.membership_id.suspects == ("STATE-RELINK-KEEPS-CURRENT", LINKED)
    model.apply_update(1, [update_item("Ext", "MEMBERSHIP_RELINKING_CANCELLED")], [200])
    ext = state.programs["Ext"]
    assert state.pending("Ext") is False
    assert (ext.membership_id.value, ext.tier.value) == ("M1", "Silver")
    assert ext.tier.suspects[0] == "STATE-CANCEL-KEEPS-CURRENT"


TIER_UPDATES = [
    ("UPGRADE", "UPDATE-UPGRADE-TIER"),
    ("DOWNGRADE", "UPDATE-DOWNGRADE-TIER"),
    ("RENEW", "UPDATE-RENEW-TIER"),
    ("MEMBERSHIP_RENEWAL_INITIATION", "UPDATE-RENEWAL-INITIATION"),
    ("upgrade", "UPDATE-UPGRADE-TIER"),
]


@pytest.mark.parametrize(("update_type", "requirement"), TIER_UPDATES)
def test_tier_updates_set_the_tier_and_the_expiry_when_given(update_type: str, requirement: str) -> None:
    model = linked()
    model.apply_update(1, [update_item("Ext", update_type, updatedTierName="Gold")], [200])
    ext = model.customers[1].programs["Ext"]
    assert ext.tier == Expect("Gold", requirement)
    assert ext.tier_expiry.value == JAN15 and ext.tier_expiry.suspects == ("UPDATE-TIER-EXPIRY-KEPT", LINKED)
    assert ext.membership_id.value == "M1" and ext.membership_id.suspects == (OTHERS, LINKED)
    details = {"updatedTierName": "Silver", "updatedTierExpiryDate": "2027-06-30T23:00:00+05:30"}
    model.apply_update(1, [update_item("Ext", update_type, **details)], [200])
    ext = model.customers[1].programs["Ext"]
    assert ext.tier.value == "Silver" and ext.tier_expiry == Expect(date(2027, 6, 30), "UPDATE-TIER-EXPIRY")


def test_an_update_answered_200_on_a_program_not_linked_makes_it_unknown() -> None:
    model = linked()
    model.apply_update(1, [update_item("SPP_1", "UPGRADE", updatedTierName="Classic")], [200])
    assert model.customers[1].programs["SPP_1"].listed.value is UNKNOWN
    assert model.customers[1].programs["Ext"].listed.value is True


def test_a_delink_removes_one_program_and_keeps_the_others() -> None:
    model = linked()
    model.apply_link(1, [link_item("SPP_1", partnerMembershipId="S1", partnerTierName="Classic")], [200])
    ext = model.customers[1].programs["Ext"]
    assert ext.membership_id.value == "M1" and ext.membership_id.suspects == (OTHERS, LINKED)
    model.apply_delink(1, [{"partnerProgramName": "Ext"}], [200])
    state = model.customers[1]
    assert state.programs["Ext"].listed == Expect(False, "DELINK-REMOVES-LINK")
    assert state.programs["Ext"].membership_id.value is None and state.pending("Ext") is None
    spp = state.programs["SPP_1"]
    assert spp.membership_id.value == "S1" and spp.membership_id.suspects == (OTHERS, LINKED)
    assert state.listed() == {"SPP_1"}


def test_a_due_relink_becomes_the_membership_and_one_not_due_stays_pending() -> None:
    model = linked()
    model.apply_link(1, [link_item("Ext", partnerTierName="Gold", membershipStartDate="2027-03-01")], [200])
    model.activate_relinks(1, date(2027, 2, 28))
    state = model.customers[1]
    assert state.pending("Ext") is True and state.programs["Ext"].tier.value == "Silver"
    model.activate_relinks(1, date(2027, 3, 1))
    ext = state.programs["Ext"]
    assert state.pending("Ext") is False and ext.listed.value is True
    assert ext.membership_id.value == "M1", "the membership id is already on record"
    assert ext.tier == Expect("Gold", "RELINK-QUEUE")
    assert ext.tier_expiry == Expect(None, "RELINK-QUEUE", ambiguity=AmbiguityId.RELINK_ACTIVATION_STATE)


def test_suspects_are_the_writes_since_the_value_was_set_last_first() -> None:
    value = Expect(False, "").kept("A").kept("B").kept("A").kept("C").kept("C")
    assert value.suspects == ("C", "A", "B")
    assert Expect("x", "").suspects == ()
    model = linked()  # SPP_1: provisioned, then kept by the link of Ext
    model.apply_link(1, [link_item("SPP_1", partnerMembershipId="S1")], [2003])
    for code in (2003, 2007):
        model.apply_update(1, [update_item("Ext", "UPGRADE", updatedTierName="Gold")], [code])
    model.apply_link(1, [link_item("SPP_1", partnerMembershipId="S1")], [200])
    state = model.customers[1]
    assert state.programs["Ext"].tier.value == "Silver"
    assert state.programs["Ext"].tier.suspects == (OTHERS, FAILED, LINKED)
    assert state.programs["SPP_1"].listed == Expect(True, LINKED), "set by the last write: no earlier suspect"


def test_a_confirmed_field_names_only_the_writes_after_the_comparison() -> None:
    model = linked()
    state = model.state(1)
    assert state is not None
    model.confirm(1, compare(state, [EXT_FOUND], PROGRAMS, TZ, LENIENT))
    assert state.programs["Ext"].membership_id.suspects == ()
    model.apply_update(1, [update_item("Ext", "UPGRADE", updatedTierName="Gold")], [200])
    assert state.programs["Ext"].membership_id.suspects == (OTHERS,), "the link is no suspect once seen right"
    wrong = compare(state, [{**EXT_FOUND, "partnerMembershipId": "M2"}], PROGRAMS, TZ, LENIENT)
    model.confirm(1, wrong)  # a mismatch is not confirmed: its suspects stay
    assert state.programs["Ext"].membership_id.suspects == (OTHERS,)


def test_every_transition_names_a_catalogue_requirement() -> None:
    requirements = load_catalogue().requirements
    assert {"link", "failed item", "other programs", "delink", "relink queued", "relink starts"} <= set(TRANSITIONS)
    for name, transition in TRANSITIONS.items():
        assert transition.requirement in requirements, name
        assert isinstance(transition.quote, str) and transition.quote.strip(), name
    assert {r for _, r in TIER_UPDATES} <= set(requirements)


# -- compare ----------------------------------------------------------------------------------------------
def test_compare_accepts_a_matching_answer_null_as_absent() -> None:
    compared = rows(linked(), [EXT_FOUND])
    assert list(compared) == [("Ext", "listed"), *(("Ext", f) for f in FIELDS), ("SPP_1", "listed")]
    assert [r.verdict for r in compared.values()] == ["ok"] * 6
    no_tier = linked(partnerTierName=None, partnerMembershipId=None)
    for found in (
        {**EXT_FOUND, "partnerMembershipId": None},
        {k: v for k, v in EXT_FOUND.items() if k != "partnerMembershipId"},
    ):
        assert rows(no_tier, [found])[("Ext", "partnerMembershipId")].verdict == "ok"


def test_compare_finds_mismatches() -> None:
    model = linked()
    wrong = rows(model, [{**EXT_FOUND, "partnerMembershipId": "M9"}])[("Ext", "partnerMembershipId")]
    assert (wrong.verdict, wrong.expected, wrong.found, wrong.requirement) == ("MISMATCH", "M1", "M9", LINKED)
    missing = rows(model, [])[("Ext", "listed")]
    assert (missing.verdict, missing.found) == ("MISMATCH", "not listed")
    twice = rows(model, [EXT_FOUND, EXT_FOUND])
    assert (twice[("Ext", "listed")].verdict, twice[("Ext", "listed")].found) == ("MISMATCH", "listed 2 times")
    assert ("Ext", "partnerMembershipId") not in twice
    extra = rows(model, [EXT_FOUND, {"partnerProgramName": "SPP_1"}])[("SPP_1", "listed")]
    assert (extra.verdict, extra.expected, extra.suspects) == ("MISMATCH", "not listed", (OTHERS,))


@pytest.mark.parametrize("found", ["2027-01-15", EXPIRY, 1799994600000])
def test_compare_reads_the_tier_expiry_as_a_date_a_date_time_or_epoch_ms(found: Any) -> None:
    row = rows(linked(), [{**EXT_FOUND, EXPIRY_KEY: found}])[("Ext", EXPIRY_KEY)]
    assert (row.verdict, row.expected) == ("ok", "2027-01-15")


def test_a_utc_day_expiry_passes_by_default_and_fails_when_strict() -> None:
    found = [{**EXT_FOUND, EXPIRY_KEY: "2027-01-15T20:00:00Z"}]  # 2027-01-16 01:30 in Kolkata
    assert rows(linked(), found)[("Ext", EXPIRY_KEY)].verdict == "ok"
    strict = rows(linked(), found, Stances.of(["AMB-TIER-EXPIRY-DAY"]))[("Ext", EXPIRY_KEY)]
    assert (strict.verdict, strict.found) == ("MISMATCH", "2027-01-15T20:00:00Z")


def test_an_unreadable_expiry_format_is_compared_only_when_strict() -> None:
    found = [{**EXT_FOUND, EXPIRY_KEY: "15/01/2027"}]
    assert rows(linked(), found)[("Ext", EXPIRY_KEY)].verdict == "not compared (AMB-TIER-EXPIRY-FORMAT)"
    strict = rows(linked(), found, Stances.of(["AMB-TIER-EXPIRY-FORMAT"]))[("Ext", EXPIRY_KEY)]
    assert (strict.verdict, strict.found) == ("MISMATCH", "15/01/2027")


def test_an_undeclared_program_is_compared_only_when_strict() -> None:
    found = [EXT_FOUND, {"partnerProgramName": "Other"}]
    assert rows(linked(), found)[("Other", "listed")].verdict == "not compared (AMB-UNDECLARED-PROGRAMS)"
    assert rows(linked(), found, Stances.of(["AMB-UNDECLARED-PROGRAMS"]))[("Other", "listed")].verdict == "MISMATCH"


# -- item_codes -------------------------------------------------------------------------------------------
BODY = LINK.request_body(
    [
        ({"mobile": "919900000001"}, [link_item("Ext"), link_item("SPP_1")]),
        ({"mobile": "919900000002"}, [link_item("Ext")]),
    ]
)
SENT = sent_from_request(LINK, BODY) or []


def _result(mobile: str, *items: tuple[str, int]) -> dict[str, Any]:
    programs = [{"partnerProgramName": n, "partnerLinkStatus": {"status": c == 200, "code": c}} for n, c in items]
    return {"customer": {"mobile": mobile}, "linkToPartnerPrograms": programs}


def test_item_codes_pair_a_reordered_answer_by_what_it_echoes() -> None:
    answer = {
        "linkCustomers": [
            _result("919900000002", ("Ext", 2003)),
            _result("919900000001", ("SPP_1", 200), ("Ext", 2008)),
        ]
    }
    assert item_codes(LINK, SENT, 200, answer, strict_order=False) == [[2008, 200], [2003]]
    # strict AMB-RESULT-ORDER pairs by position, and each result there echoes the other customer: it answers the
    # wrong customer (issue 21, item 5), so no code of it drives the model
    assert item_codes(LINK, SENT, 200, answer, strict_order=True) == [[None, None], [None]]


def test_item_codes_of_a_request_level_error_and_of_a_5xx() -> None:
    envelope = {"errors": [{"code": 2008, "message": "too many"}], "warnings": []}
    assert item_codes(LINK, SENT, 400, envelope, strict_order=False) == [[2008, 2008], [2008]]
    assert item_codes(LINK, SENT, 401, None, strict_order=False) == [[401, 401], [401]]
    answer = {
        "linkCustomers": [_result("919900000001", ("Ext", 200), ("SPP_1", 200)), _result("919900000002", ("Ext", 200))]
    }
    assert item_codes(LINK, SENT, 500, answer, strict_order=False) == [[None, None], [None]]
    assert item_codes(LINK, SENT, 500, {"errors": [{"code": 2008}]}, strict_order=False) == [[None, None], [None]]


# -- cleanup with `known` -----------------------------------------------------------------------------------
class ItemTarget(FakeTarget):
    """FakeTarget whose delink answers 200 for every item (deLinkCustomers shape, customer identified)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = super().__call__(request)
        if not request.url.path.endswith("/deLinkCustomer"):
            return response
        body = self.requests[-1][2]
        results = [
            {
                "customer": {**e["customer"], "status": {"code": 1000}},
                "deLinkFromPartnerPrograms": [
                    {**p, "partnerDeLinkStatus": {"status": True, "code": 200}} for p in e["deLinkFromPartnerPrograms"]
                ],
            }
            for e in body["deLinkCustomers"]
        ]
        return httpx.Response(200, json={"deLinkCustomers": results, "warnings": []})


@pytest.fixture
def profile() -> Profile:
    return load_profile(DEFAULT_PROFILE, env=SECRETS)


def _clean(profile: Profile, target: FakeTarget, tmp_path: Path, known: dict[int, Known] | None) -> CleanupReport:
    """Clean customer 5's journaled EXTERNAL and SUPPLEMENTARY links; the journal must end empty."""
    journal = Journal(tmp_path, URL, "run1")
    entries = journal.record(profile.orgs[0].name, {"id": 5}, [(EXTERNAL, False), (SUPPLEMENTARY, True)])
    client = PartnerProgramClient(
        URL, profile, profile.orgs[0], http=httpx.Client(transport=httpx.MockTransport(target))
    )
    report = clean(entries, lambda name: client, journal, lambda name: True, known)
    assert journal.open_entries() == [] and report.leftovers == []
    return report


def _sent(target: FakeTarget) -> list[str]:
    return [path.rsplit("/", 1)[-1] for _, path, _ in target.requests]


def test_a_customer_known_clean_costs_no_request(tmp_path: Path, profile: Profile) -> None:
    target = ItemTarget({5: set()})
    report = _clean(profile, target, tmp_path, {5: Known(frozenset(), {EXTERNAL: False, SUPPLEMENTARY: False})})
    assert (report.closed, report.requests, target.requests) == (2, 0, [])


def test_a_possible_pending_relink_costs_only_its_cancel(tmp_path: Path, profile: Profile) -> None:
    target = ItemTarget({5: set()})
    report = _clean(profile, target, tmp_path, {5: Known(frozenset(), {EXTERNAL: False, SUPPLEMENTARY: None})})
    assert (report.closed, report.requests, _sent(target)) == (2, 1, ["customerPartnerProgramUpdate"])


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (ItemTarget, ["deLinkCustomer"]),
        (FakeTarget, ["deLinkCustomer", "loyaltyDetails"]),  # no item results: read to check
    ],
    ids=["delink-200-per-item", "delink-without-item-results"],
)
def test_a_known_listed_program_is_delinked_and_read_only_without_a_200(
    tmp_path: Path, profile: Profile, kind: type[FakeTarget], sent: list[str]
) -> None:
    target = kind({5: {EXTERNAL}})
    report = _clean(profile, target, tmp_path, {5: Known(frozenset({EXTERNAL}), {SUPPLEMENTARY: False})})
    assert (report.closed, report.requests, _sent(target)) == (2, len(sent), sent)
    (delink,) = target.of("/deLinkCustomer")
    assert delink["deLinkCustomers"] == [
        {"customer": {"id": 5}, "deLinkFromPartnerPrograms": [{"partnerProgramName": EXTERNAL}]}
    ]
    assert target.links[5] == set()


def test_without_known_cleanup_cancels_delinks_and_reads(tmp_path: Path, profile: Profile) -> None:
    target = ItemTarget({5: {EXTERNAL}})
    report = _clean(profile, target, tmp_path, None)
    assert (report.closed, report.requests) == (2, 3)
    assert _sent(target) == ["customerPartnerProgramUpdate", "deLinkCustomer", "loyaltyDetails"]
