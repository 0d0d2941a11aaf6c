"""Relinking flows, batch limits and "today" in the org timezone
(link-customer#future-dated-relinking, update-partner-program, docs/reference-behaviour.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ppreference.cases import add_period, local_date, parse_instant
from ppreference.config import PartnerProgram

from .helpers import DELINK, LINK, UPDATE, Api, Clock, assert_envelope, code_of

CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"


# relinking -------------------------------------------------------------------------------
def test_relink_queue_then_cancel_then_nothing_pending(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-07-16")) == 200
    assert code_of(enabled.update_status(customer, "SPP_1", CANCEL)) == 200
    assert code_of(enabled.update_status(customer, "SPP_1", CANCEL)) == 2027
    # after a cancel a new relink can be queued again
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-07-20")) == 200


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-07-14", 2005),
        ("2026-07-15T23:59:59+05:30", 2005),  # on or before the end date
        ("2026-07-15T20:00:00Z", 200),  # 2026-07-16 01:30 in Asia/Kolkata
        ("2026-07-16", 200),
    ],
)
def test_relink_start_compared_with_membership_end_by_org_date(enabled: Api, start: str, code: int) -> None:
    customer = enabled.linked_customer("SPP_1")
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate=start)) == code


def test_relink_of_monthly_program_uses_calendar_months(enabled: Api) -> None:
    customer = enabled.customer()
    assert (
        code_of(enabled.link_status(customer, "SPP_2", partnerMembershipId="M", membershipStartDate="2027-01-31"))
        == 200
    )
    # 2027-01-31 + 12 months = 2028-01-31
    assert code_of(enabled.link_status(customer, "SPP_2", membershipStartDate="2028-01-31")) == 2005
    assert code_of(enabled.link_status(customer, "SPP_2", membershipStartDate="2028-02-01")) == 200


def test_relink_cancel_is_per_program(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    assert code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="A")) == 200
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01")) == 200
    assert code_of(enabled.update_status(customer, "Apparel-Partner", CANCEL)) == 2027
    assert code_of(enabled.update_status(customer, "SPP_1", CANCEL)) == 200


def test_disabled_org_rejects_relinking_and_cancel_with_2026(disabled: Api) -> None:
    customer = disabled.linked_customer("SPP_1")
    relink = disabled.link_status(customer, "SPP_1", membershipStartDate="2027-01-01")
    assert code_of(relink) == 2026
    assert code_of(disabled.update_status(customer, "SPP_1", CANCEL)) == 2026


def test_enabled_org_rejects_renewal_initiation_with_2028(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    status = enabled.update_status(customer, "SPP_1", "MEMBERSHIP_RENEWAL_INITIATION", updatedTierName="Classic")
    assert code_of(status) == 2028


# batch limits ----------------------------------------------------------------------------
def _link_batch(customers: list[dict]) -> dict:
    return {
        "linkCustomers": [
            {
                "customer": c,
                "linkToPartnerPrograms": [
                    {"partnerProgramName": "Apparel-Partner", "customerPartnerReference": {"partnerMembershipId": "M"}}
                ],
            }
            for c in customers
        ]
    }


def test_batch_of_50_customers_is_processed(enabled: Api) -> None:
    customers = [enabled.customer() for _ in range(50)]
    response = enabled.post(LINK, _link_batch(customers))
    assert response.status_code == 200
    entries = response.json()["linkCustomers"]
    assert [e["customer"]["mobile"] for e in entries] == [c["mobile"] for c in customers]
    assert all(code_of(e["linkToPartnerPrograms"][0]["partnerLinkStatus"]) == 200 for e in entries)


def test_batch_of_51_customers_is_rejected_with_2008(enabled: Api) -> None:
    customers = [enabled.customer() for _ in range(51)]
    assert_envelope(enabled.post(LINK, _link_batch(customers)), 400, 2008)
    assert enabled.linked(customers[0]) == []  # nothing was applied


@pytest.mark.parametrize(
    ("path", "top", "items", "item"),
    [
        (
            UPDATE,
            "customersPartnerUpdates",
            "partnerProgramUpdates",
            {"partnerProgramName": "SPP_1", "updateType": "RENEW"},
        ),
        (DELINK, "deLinkCustomers", "deLinkFromPartnerPrograms", {"partnerProgramName": "SPP_1"}),
    ],
)
def test_update_and_delink_batches_are_limited_to_50(enabled: Api, path: str, top: str, items: str, item: dict) -> None:
    def body(n: int) -> dict:
        return {top: [{"customer": {"mobile": f"9100{i}"}, items: [item]} for i in range(n)]}

    assert enabled.post(path, body(50)).status_code == 201  # processed: unknown customers
    assert_envelope(enabled.post(path, body(51)), 400, 2008)


# "today" in the org timezone ---------------------------------------------------------------
def test_today_accepted_yesterday_rejected_just_after_midnight_in_kolkata(enabled: Api, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 10, 18, 35, tzinfo=UTC)  # 2026-03-11 00:05 in Asia/Kolkata
    cases = [
        ("2026-03-11", 200),
        ("2026-03-11T00:00:00+05:30", 200),
        ("2026-03-10T20:00:00Z", 200),  # 2026-03-11 01:30 in Kolkata
        ("2026-03-10", 2003),  # still "today" in UTC, but yesterday in the org timezone
        ("2026-03-10T23:59:59+05:30", 2003),
    ]
    for expiry, code in cases:
        status = enabled.link_status(
            enabled.customer(), "Apparel-Partner", partnerMembershipId="M", partnerTierExpiryDate=expiry
        )
        assert code_of(status) == code, expiry
    for start, code in [("2026-03-11", 200), ("2026-03-10T23:00:00+05:30", 2025)]:
        status = enabled.link_status(
            enabled.customer(), "Apparel-Partner", partnerMembershipId="M", membershipStartDate=start
        )
        assert code_of(status) == code, start


def test_today_accepted_yesterday_rejected_just_before_midnight_in_london(disabled: Api, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)  # 23:30 GMT; 05:00 next day in Kolkata
    for expiry, code in [("2026-03-10", 200), ("2026-03-10T23:59:59", 200), ("2026-03-09T23:59:59Z", 2003)]:
        status = disabled.link_status(
            disabled.customer(), "Apparel-Partner", partnerMembershipId="M", partnerTierExpiryDate=expiry
        )
        assert code_of(status) == code, expiry
    customer = disabled.customer()
    status = disabled.link_status(customer, "Apparel-Partner", partnerMembershipId="M")
    assert code_of(status) == 200
    status = disabled.update_status(
        customer, "Apparel-Partner", "UPGRADE", updatedTierName="Gold", updatedTierExpiryDate="2026-03-09"
    )
    assert code_of(status) == 2003
    status = disabled.update_status(
        customer, "Apparel-Partner", "UPGRADE", updatedTierName="Gold", updatedTierExpiryDate="2026-03-10"
    )
    assert code_of(status) == 200


# date helpers ---------------------------------------------------------------------------------
def _program(period_type: str, value: int) -> PartnerProgram:
    return PartnerProgram(1, "P", "SUPPLEMENTARY", False, (), period_type, value)


@pytest.mark.parametrize(
    ("start", "period", "end"),
    [
        ("2026-01-31T10:00:00+05:30", ("MONTHS", 1), "2026-02-28"),
        ("2028-01-31T10:00:00+05:30", ("MONTHS", 1), "2028-02-29"),
        ("2026-01-31T10:00:00+05:30", ("MONTHS", 12), "2027-01-31"),
        ("2026-11-30T10:00:00+05:30", ("MONTHS", 3), "2027-02-28"),
        ("2026-06-15T10:00:00+05:30", ("DAYS", 30), "2026-07-15"),
        ("2026-06-15T23:00:00Z", ("DAYS", 1), "2026-06-17"),  # 04:30 on the 16th in Kolkata
        ("9999-12-20T00:00:00+05:30", ("DAYS", 30), "9999-12-31"),  # saturates
    ],
)
def test_add_period(start: str, period: tuple[str, int], end: str) -> None:
    tz = ZoneInfo("Asia/Kolkata")
    parsed = parse_instant(start, tz)
    assert parsed is not None
    assert local_date(add_period(parsed, _program(*period), tz), tz).isoformat() == end
