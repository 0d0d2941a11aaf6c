"""customerPartnerProgramUpdate and deLinkCustomer rules (docs/reference-behaviour.md;
update-partner-program#error-codes, delink-customer)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ppreference import load_orgs
from ppreference.payloads import LinkItem, UpdateItem
from ppreference.rules import link_program, update_program
from ppreference.state import Store

from .helpers import DELINK, UPDATE, Api, code_of

FUTURE = "2027-12-29T23:59:59+05:30"


@pytest.fixture
def linked(enabled: Api) -> dict:
    """A customer of the enabled org linked to Apparel-Partner (Bronze) and SPP_1 (Classic)."""
    customer = enabled.customer()
    assert (
        code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="A", partnerTierName="Bronze"))
        == 200
    )
    assert code_of(enabled.link_status(customer, "SPP_1", partnerMembershipId="S", partnerTierName="Classic")) == 200
    return customer


# customerPartnerProgramUpdate -----------------------------------------------------------
def test_upgrade_sets_tier_and_expiry_with_documented_shape(enabled: Api, linked: dict) -> None:
    response = enabled.update(
        linked, "Apparel-Partner", "UPGRADE", updatedTierName="Silver", updatedTierExpiryDate=FUTURE
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"customersPartnerUpdates", "warnings"}
    entry = body["customersPartnerUpdates"][0]
    assert entry["customer"]["mobile"] == linked["mobile"]
    assert code_of(entry["customer"]["status"]) == 1000
    assert entry["partnerProgramUpdates"] == [
        {
            "partnerProgramName": "Apparel-Partner",
            "updateType": "UPGRADE",
            "updateStatus": {"status": True, "code": 200, "message": "Success"},
        }
    ]
    apparel = next(p for p in enabled.linked(linked) if p["partnerProgramId"] == 101)
    assert (apparel["partnerTierName"], apparel["partnerTierNumber"]) == ("Silver", 2)
    assert apparel["partnerTierExpiryDate"] == FUTURE


def test_update_without_expiry_keeps_existing_expiry(enabled: Api) -> None:
    customer = enabled.customer()
    enabled.link(
        customer, "Apparel-Partner", partnerMembershipId="A", partnerTierName="Gold", partnerTierExpiryDate=FUTURE
    )
    status = enabled.update_status(customer, "Apparel-Partner", "DOWNGRADE", updatedTierName="Bronze")
    assert code_of(status) == 200
    assert enabled.linked(customer)[0]["partnerTierExpiryDate"] == FUTURE
    assert enabled.linked(customer)[0]["partnerTierName"] == "Bronze"


@pytest.mark.parametrize("name", ["", None])
def test_update_rule1_empty_program_name_is_2002(enabled: Api, linked: dict, name: object) -> None:
    status = enabled.update_status(linked, name, "NOT_A_TYPE", updatedTierName="Silver")
    assert code_of(status) == 2002


@pytest.mark.parametrize("update_type", ["upgrade", "UPDATE", "", None, "RENEW "])
def test_update_rule2_bad_update_type_is_2009(enabled: Api, linked: dict, update_type: object) -> None:
    status = enabled.update_status(linked, "Nope", update_type, updatedTierName="Silver")
    assert code_of(status) == 2009


def test_update_rule3_unknown_program_is_2006(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.update_status(linked, "Nope", "MEMBERSHIP_RELINKING_CANCELLED")) == 2006


def test_update_rule4_cancel_in_disabled_org_is_2026(disabled: Api) -> None:
    customer = disabled.customer()
    status = disabled.update_status(customer, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")
    assert code_of(status) == 2026


def test_update_rule4_cancel_when_not_linked_is_2004(enabled: Api) -> None:
    status = enabled.update_status(enabled.customer(), "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")
    assert code_of(status) == 2004


def test_update_rule4_cancel_with_nothing_pending_is_2027(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.update_status(linked, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")) == 2027


def test_update_rule4_cancel_removes_pending_relink(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.link_status(linked, "SPP_1", membershipStartDate="2026-08-01")) == 200
    response = enabled.update(linked, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")
    assert response.status_code == 200
    item = response.json()["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]
    assert item["updateType"] == "MEMBERSHIP_RELINKING_CANCELLED"
    assert code_of(item["updateStatus"]) == 200


def test_update_rule5_renewal_initiation_in_enabled_org_is_2028(enabled: Api, linked: dict) -> None:
    status = enabled.update_status(linked, "SPP_1", "MEMBERSHIP_RENEWAL_INITIATION")
    assert code_of(status) == 2028


@pytest.mark.parametrize(
    "details", [None, {}, {"updatedTierName": ""}, {"updatedTierName": None, "updatedTierExpiryDate": FUTURE}]
)
def test_update_rule6_missing_details_or_tier_is_2002(enabled: Api, linked: dict, details: dict | None) -> None:
    item: dict = {"partnerProgramName": "Apparel-Partner", "updateType": "UPGRADE"}
    if details is not None:
        item["updateDetails"] = details
    response = enabled.post(
        UPDATE, {"customersPartnerUpdates": [{"customer": linked, "partnerProgramUpdates": [item]}]}
    )
    assert response.status_code == 201
    status = response.json()["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]
    assert code_of(status["updateStatus"]) == 2002


def test_update_rule6_precedes_rule7(enabled: Api) -> None:
    status = enabled.update_status(enabled.customer(), "SPP_1", "UPGRADE", updatedTierName="")
    assert code_of(status) == 2002


def test_update_rule7_not_linked_is_2004(enabled: Api) -> None:
    status = enabled.update_status(enabled.customer(), "SPP_1", "UPGRADE", updatedTierName="Nope")
    assert code_of(status) == 2004


def test_update_rule8_unknown_tier_is_2007(enabled: Api, linked: dict) -> None:
    status = enabled.update_status(linked, "SPP_1", "UPGRADE", updatedTierName="Gold", updatedTierExpiryDate="garbage")
    assert code_of(status) == 2007


def test_update_rule9_unparseable_expiry_is_2002(enabled: Api, linked: dict) -> None:
    status = enabled.update_status(
        linked, "SPP_1", "RENEW", updatedTierName="Premium", updatedTierExpiryDate="2027-12-32"
    )
    assert code_of(status) == 2002


def test_update_rule9_past_expiry_is_2003(enabled: Api, linked: dict) -> None:
    status = enabled.update_status(
        linked, "SPP_1", "RENEW", updatedTierName="Premium", updatedTierExpiryDate="2026-06-14T23:59:59+05:30"
    )
    assert code_of(status) == 2003


def test_update_renewal_initiation_in_disabled_org_succeeds(disabled: Api) -> None:
    customer = disabled.linked_customer("SPP_1", "S")
    status = disabled.update_status(customer, "SPP_1", "MEMBERSHIP_RENEWAL_INITIATION", updatedTierName="Premium")
    assert code_of(status) == 200
    assert disabled.linked(customer)[0]["partnerTierName"] == "Premium"


def test_renewal_initiation_extends_membership_by_one_period(env: dict) -> None:
    org = next(o for o in load_orgs() if not o.allow_relinking)
    store = Store([org.org_id])
    state = store.org(org.org_id)
    customer = store.create_customer(org.org_id, mobile="1")
    now = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    spp2 = org.program("SPP_2")
    assert spp2 is not None
    assert link_program(org, state, customer, LinkItem("SPP_2", "M"), now).status.code == 200
    link = state.link(customer.id, spp2.id)
    assert link is not None and link.membership_end is not None
    assert link.membership_end.date().isoformat() == "2027-01-31"
    item = UpdateItem("SPP_2", "MEMBERSHIP_RENEWAL_INITIATION", True, "x")
    assert update_program(org, state, customer, item, now).code == 2007  # SPP_2 has no tiers
    spp1 = org.program("SPP_1")
    assert spp1 is not None
    other = store.create_customer(org.org_id, mobile="2")
    assert link_program(org, state, other, LinkItem("SPP_1", "M"), now).status.code == 200
    item = UpdateItem("SPP_1", "MEMBERSHIP_RENEWAL_INITIATION", True, "Classic")
    assert update_program(org, state, other, item, now).code == 200
    renewed = state.link(other.id, spp1.id)
    assert renewed is not None and renewed.membership_end is not None
    assert renewed.membership_end.date().isoformat() == "2026-04-01"  # +30 days, twice


def test_update_customer_not_found_is_8015(enabled: Api) -> None:
    response = enabled.update({"externalId": "nobody"}, "SPP_1", "UPGRADE", updatedTierName="Classic")
    assert response.status_code == 201
    entry = response.json()["customersPartnerUpdates"][0]
    assert code_of(entry["customer"]["status"]) == 8015
    assert code_of(entry["partnerProgramUpdates"][0]["updateStatus"]) == 8015


# deLinkCustomer ---------------------------------------------------------------------------
def test_delink_removes_link_with_documented_shape(enabled: Api, linked: dict) -> None:
    response = enabled.delink(linked, "Apparel-Partner")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"customersPartnerUpdates", "warnings"} and body["warnings"] == []
    entry = body["customersPartnerUpdates"][0]
    assert code_of(entry["customer"]["status"]) == 1000
    assert entry["partnerProgramUpdates"] == [
        {"partnerProgramName": "Apparel-Partner", "updateStatus": {"status": True, "code": 200, "message": "Success"}}
    ]
    assert [p["partnerProgramName"] for p in enabled.linked(linked)] == ["SPP_1"]


@pytest.mark.parametrize("name", ["", None])
def test_delink_rule1_empty_name_is_2002(enabled: Api, linked: dict, name: object) -> None:
    assert code_of(enabled.delink_status(linked, name)) == 2002


def test_delink_rule2_unknown_program_is_2006(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.delink_status(linked, "Nope")) == 2006


def test_delink_rule3_not_linked_is_2004(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.delink_status(linked, "SPP_2")) == 2004
    assert code_of(enabled.delink_status(linked, "SPP_1")) == 200
    assert code_of(enabled.delink_status(linked, "SPP_1")) == 2004


def test_delink_removes_pending_relink(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.link_status(linked, "SPP_1", membershipStartDate="2026-08-01")) == 200
    assert code_of(enabled.delink_status(linked, "SPP_1")) == 200
    assert code_of(enabled.link_status(linked, "SPP_1", partnerMembershipId="S2")) == 200
    assert code_of(enabled.update_status(linked, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")) == 2027


def test_delink_allows_another_supplementary_program(enabled: Api, linked: dict) -> None:
    assert code_of(enabled.link_status(linked, "SPP_2", partnerMembershipId="S")) == 2019
    assert code_of(enabled.delink_status(linked, "SPP_1")) == 200
    assert code_of(enabled.link_status(linked, "SPP_2", partnerMembershipId="S")) == 200


def test_delink_accepts_integer_mobile_as_documented(enabled: Api) -> None:
    enabled.customer("919800000000")
    enabled.link({"mobile": "919800000000"}, "SPP_2", partnerMembershipId="M")
    response = enabled.post(
        DELINK,
        {
            "deLinkCustomers": [
                {
                    "customer": {"mobile": 919800000000},
                    "deLinkFromPartnerPrograms": [{"partnerProgramName": "SPP_2"}, {"partnerProgramName": "p3e1"}],
                }
            ]
        },
    )
    assert response.status_code == 201
    entry = response.json()["customersPartnerUpdates"][0]
    assert entry["customer"]["mobile"] == "919800000000"
    assert [code_of(p["updateStatus"]) for p in entry["partnerProgramUpdates"]] == [200, 2006]
    assert all("updateType" not in p for p in entry["partnerProgramUpdates"])


def test_delink_customer_without_identifier_is_8013(enabled: Api) -> None:
    response = enabled.delink({"email": ""}, "SPP_1")
    entry = response.json()["customersPartnerUpdates"][0]
    assert response.status_code == 201
    assert code_of(entry["customer"]["status"]) == 8013
    assert code_of(entry["partnerProgramUpdates"][0]["updateStatus"]) == 8013
