"""linkCustomer rules (docs/reference-behaviour.md#linkcustomer; link-customer#error-codes)."""

from __future__ import annotations

import pytest

from .helpers import LINK, Api, code_of

FUTURE = "2027-12-31T23:59:59+05:30"
PAST = "2026-06-14T23:59:59+05:30"


def test_link_succeeds_with_documented_response_shape(enabled: Api) -> None:
    customer = enabled.customer("919400000001", email="a@example.com", externalId="X1")
    response = enabled.link(
        customer, "Apparel-Partner", partnerMembershipId="M-1", partnerTierName="Gold", partnerTierExpiryDate=FUTURE
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"linkCustomers", "warnings"} and body["warnings"] == []
    entry = body["linkCustomers"][0]
    assert entry["customer"] == {
        "id": entry["customer"]["id"],
        "mobile": "919400000001",
        "email": "a@example.com",
        "externalId": "X1",
        "status": {"status": True, "code": 1000, "message": "Customer successfully retrieved"},
    }
    assert entry["customer"]["id"] >= 300000001
    assert entry["linkToPartnerPrograms"] == [
        {
            "partnerProgramName": "Apparel-Partner",
            "partnerLinkStatus": {"status": True, "code": 200, "message": "Success"},
        }
    ]
    assert enabled.linked(customer) == [
        {
            "partnerProgramId": 101,
            "partnerProgramName": "Apparel-Partner",
            "partnerTierNumber": 3,
            "partnerTierName": "Gold",
            "partnerTierExpiryDate": "2027-12-31T23:59:59+05:30",
            "partnerMembershipId": "M-1",
            "partnerProgramType": "EXTERNAL",
            "tierBased": True,
        }
    ]


@pytest.mark.parametrize("name", ["", None])
def test_rule1_empty_program_name_is_2002(enabled: Api, name: str | None) -> None:
    response = enabled.link(enabled.customer(), name, partnerMembershipId="M")
    assert response.status_code == 201
    item = response.json()["linkCustomers"][0]["linkToPartnerPrograms"][0]
    assert item["partnerProgramName"] == ""  # always a string, even when sent as null
    assert code_of(item["partnerLinkStatus"]) == 2002


@pytest.mark.parametrize("name", ["Nope", "spp_1", "SPP_1 "])
def test_rule2_unknown_program_is_2006(enabled: Api, name: str) -> None:
    assert code_of(enabled.link_status(enabled.customer(), name, partnerMembershipId="M")) == 2006


def test_rule2_precedes_rule3(enabled: Api) -> None:
    customer = enabled.customer(loyalty=False)
    assert code_of(enabled.link_status(customer, "Nope", partnerMembershipId="M")) == 2006


def test_rule3_customer_not_enrolled_is_2005(enabled: Api) -> None:
    customer = enabled.customer(loyalty=False)
    status = enabled.link_status(customer, "SPP_1", partnerMembershipId="M", partnerTierName="NoSuchTier")
    assert code_of(status) == 2005
    assert "enrolled" in status["message"]


@pytest.mark.parametrize(
    ("program", "tier"),
    [
        ("Apparel-Partner", "Platinum"),
        ("Apparel-Partner", "gold"),
        ("SPP_2", "Classic"),
        ("SPP_1", ""),
    ],
)
def test_rule4_unknown_tier_is_2007(enabled: Api, program: str, tier: str) -> None:
    status = enabled.link_status(
        enabled.customer(), program, partnerMembershipId="M", partnerTierName=tier, partnerTierExpiryDate=PAST
    )
    assert code_of(status) == 2007


@pytest.mark.parametrize("value", ["not-a-date", "2026-13-01", "31/12/2027", ""])
def test_rule5_unparseable_tier_expiry_is_2002(enabled: Api, value: str) -> None:
    status = enabled.link_status(enabled.customer(), "SPP_1", partnerMembershipId="M", partnerTierExpiryDate=value)
    assert code_of(status) == 2002


def test_rule5_past_tier_expiry_is_2003(enabled: Api) -> None:
    status = enabled.link_status(
        enabled.customer(),
        "SPP_1",
        partnerMembershipId="M",
        partnerTierExpiryDate=PAST,
        membershipStartDate="2020-01-01",
    )
    assert code_of(status) == 2003


@pytest.mark.parametrize("value", ["soon", "2027-02-30T00:00:00", "9999-12-31T23:00:00-12:00"])
def test_rule6_unparseable_membership_start_is_2002(enabled: Api, value: str) -> None:
    status = enabled.link_status(enabled.customer(), "SPP_1", partnerMembershipId="M", membershipStartDate=value)
    assert code_of(status) == 2002


def test_rule6_past_membership_start_is_2025(enabled: Api) -> None:
    status = enabled.link_status(
        enabled.customer(), "SPP_1", partnerMembershipId="M", membershipStartDate="2026-06-14T10:00:00+05:30"
    )
    assert code_of(status) == 2025


def test_rule7_already_linked_without_start_is_2005(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    status = enabled.link_status(customer, "SPP_1", partnerMembershipId="M2")
    assert code_of(status) == 2005
    assert "already linked" in status["message"]


def test_rule7_already_linked_external_with_start_is_2005(enabled: Api) -> None:
    customer = enabled.linked_customer("Apparel-Partner")
    status = enabled.link_status(customer, "Apparel-Partner", membershipStartDate="2030-01-01")
    assert code_of(status) == 2005


def test_rule7_relink_in_disabled_org_is_2026(disabled: Api) -> None:
    customer = disabled.linked_customer("SPP_1")
    status = disabled.link_status(customer, "SPP_1", membershipStartDate="2030-01-01")
    assert code_of(status) == 2026


def test_rule7_relink_starting_before_membership_end_is_2005(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    # membership: 2026-06-15 + 30 days = 2026-07-15 (Asia/Kolkata)
    status = enabled.link_status(customer, "SPP_1", membershipStartDate="2026-07-14")
    assert code_of(status) == 2005


def test_rule7_relink_when_one_is_pending_is_2005(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01")) == 200
    status = enabled.link_status(customer, "SPP_1", membershipStartDate="2026-09-01")
    assert code_of(status) == 2005


def test_rule7_relink_after_membership_end_is_queued(enabled: Api) -> None:
    customer = enabled.customer()
    assert code_of(enabled.link_status(customer, "SPP_1", partnerMembershipId="M", partnerTierName="Classic")) == 200
    status = enabled.link_status(customer, "SPP_1", membershipStartDate="2026-07-16T00:00:00")
    assert code_of(status) == 200
    # the current link is unchanged until the relink activates
    assert [p["partnerTierName"] for p in enabled.linked(customer)] == ["Classic"]


def test_rule8_second_supplementary_program_is_2019(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    assert code_of(enabled.link_status(customer, "SPP_2", partnerMembershipId="M")) == 2019
    # an EXTERNAL program is not limited
    assert code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="M")) == 200


@pytest.mark.parametrize(
    "reference", [{}, {"partnerMembershipId": ""}, {"partnerMembershipId": None, "partnerTierName": "Gold"}]
)
def test_rule9_missing_membership_id_is_2002(enabled: Api, reference: dict) -> None:
    customer = enabled.customer()
    status = enabled.link_status(customer, "Apparel-Partner", **reference)
    assert code_of(status) == 2002
    assert enabled.linked(customer) == []


def test_rule9_without_customer_partner_reference_is_2002(enabled: Api) -> None:
    customer = enabled.customer()
    response = enabled.post(
        LINK, {"linkCustomers": [{"customer": customer, "linkToPartnerPrograms": [{"partnerProgramName": "SPP_2"}]}]}
    )
    assert response.status_code == 201
    status = response.json()["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerLinkStatus"]
    assert code_of(status) == 2002


def test_rule10_tier_expiry_before_membership_end_warns_1302(enabled: Api) -> None:
    response = enabled.link(
        enabled.customer(),
        "SPP_1",
        partnerMembershipId="M",
        partnerTierName="Premium",
        partnerTierExpiryDate="2026-07-14",
    )
    assert response.status_code == 200
    body = response.json()
    status = body["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerLinkStatus"]
    assert code_of(status) == 200
    message = "Supplementary program expiry is before membership expiry"
    assert body["warnings"] == [{"status": False, "code": 1302, "message": message}]


@pytest.mark.parametrize(
    ("program", "expiry"),
    [
        ("SPP_1", "2026-07-15"),  # same day as the membership end: no warning
        ("Apparel-Partner", "2026-06-16"),  # EXTERNAL programs have no membership end
    ],
)
def test_rule10_no_1302_otherwise(enabled: Api, program: str, expiry: str) -> None:
    response = enabled.link(enabled.customer(), program, partnerMembershipId="M", partnerTierExpiryDate=expiry)
    assert response.status_code == 200
    assert response.json()["warnings"] == []


@pytest.mark.parametrize("customer", [{}, {"mobile": "", "email": "", "externalId": ""}, {"id": None, "mobile": None}])
def test_no_identifier_is_8013_for_customer_and_items(enabled: Api, customer: dict) -> None:
    programs = [{"partnerProgramName": "SPP_1"}, {"partnerProgramName": "Nope"}]
    response = enabled.post(LINK, {"linkCustomers": [{"customer": customer, "linkToPartnerPrograms": programs}]})
    assert response.status_code == 201
    entry = response.json()["linkCustomers"][0]
    assert code_of(entry["customer"]["status"]) == 8013
    assert [code_of(p["partnerLinkStatus"]) for p in entry["linkToPartnerPrograms"]] == [8013, 8013]


def test_unknown_customer_is_8015_for_customer_and_items(enabled: Api) -> None:
    response = enabled.link({"mobile": "910000000000"}, "SPP_1", partnerMembershipId="M")
    assert response.status_code == 201
    entry = response.json()["linkCustomers"][0]
    assert entry["customer"]["mobile"] == "910000000000"
    assert code_of(entry["customer"]["status"]) == 8015
    assert code_of(entry["linkToPartnerPrograms"][0]["partnerLinkStatus"]) == 8015


def test_first_present_identifier_is_used(enabled: Api) -> None:
    customer = enabled.customer("919222222222", email="b@example.com")
    ok = enabled.link_status(
        {"mobile": "", "email": "b@example.com", "externalId": "nobody"}, "Apparel-Partner", partnerMembershipId="M"
    )
    assert code_of(ok) == 200
    # an unknown id wins over a matching mobile
    wrong_id = enabled.link_status({"id": 1, **customer}, "SPP_1", partnerMembershipId="M")
    assert code_of(wrong_id) == 8015


def test_customer_found_by_id(enabled: Api) -> None:
    customer = enabled.customer("919333333333")
    entity = enabled.get(
        "/v2/customers/lookup", source="INSTORE", identifierName="mobile", identifierValue="919333333333"
    ).json()["entity"]
    response = enabled.link({"id": entity}, "SPP_2", partnerMembershipId="M")
    entry = response.json()["linkCustomers"][0]
    assert entry["customer"]["id"] == entity and entry["customer"]["mobile"] == customer["mobile"]
    assert code_of(entry["linkToPartnerPrograms"][0]["partnerLinkStatus"]) == 200


def test_results_keep_request_order_and_partial_failure_is_201(enabled: Api) -> None:
    first, second = enabled.customer(), enabled.customer()
    response = enabled.post(
        LINK,
        {
            "linkCustomers": [
                {
                    "customer": first,
                    "linkToPartnerPrograms": [
                        {"partnerProgramName": "SPP_2", "customerPartnerReference": {"partnerMembershipId": "A"}},
                        {"partnerProgramName": "Nope"},
                        {
                            "partnerProgramName": "Apparel-Partner",
                            "customerPartnerReference": {"partnerMembershipId": "B"},
                        },
                    ],
                },
                {"customer": {"mobile": "910000000009"}, "linkToPartnerPrograms": [{"partnerProgramName": "SPP_1"}]},
                {
                    "customer": second,
                    "linkToPartnerPrograms": [
                        {"partnerProgramName": "SPP_1", "customerPartnerReference": {"partnerMembershipId": "C"}}
                    ],
                },
            ]
        },
    )
    assert response.status_code == 201
    entries = response.json()["linkCustomers"]
    assert [e["customer"]["mobile"] for e in entries] == [first["mobile"], "910000000009", second["mobile"]]
    assert [
        [(p["partnerProgramName"], p["partnerLinkStatus"]["code"]) for p in e["linkToPartnerPrograms"]] for e in entries
    ] == [
        [("SPP_2", 200), ("Nope", 2006), ("Apparel-Partner", 200)],
        [("SPP_1", 8015)],
        [("SPP_1", 200)],
    ]


def test_same_program_twice_in_one_request_links_once(enabled: Api) -> None:
    customer = enabled.customer()
    item = {"partnerProgramName": "SPP_1", "customerPartnerReference": {"partnerMembershipId": "M"}}
    response = enabled.post(LINK, {"linkCustomers": [{"customer": customer, "linkToPartnerPrograms": [item, item]}]})
    codes = [p["partnerLinkStatus"]["code"] for p in response.json()["linkCustomers"][0]["linkToPartnerPrograms"]]
    assert codes == [200, 2005]


def test_orgs_do_not_share_customers(enabled: Api, disabled: Api) -> None:
    customer = enabled.customer()
    assert code_of(disabled.link_status(customer, "SPP_1", partnerMembershipId="M")) == 8015
