"""Per-item business rules of the three Partner Program endpoints.

Pure functions over the org's state, its config and a `now` (aware datetime):
no HTTP here. The rule order is exactly that of `docs/reference-behaviour.md`;
the first matching rule wins. Doc sources: `link-customer#error-codes`,
`update-partner-program#error-codes`, `delink-customer`, `capillary-facts`.

Every function takes a `fx: Behaviour` (default `CONFORMING`): the named fault
or variant of `ppreference.faults` to apply. Each hook is one condition at the
place where a real implementation would go wrong; with `CONFORMING` they are
all inactive.

Dates: ISO 8601 strings (`datetime.fromisoformat`); a string without an offset is
in the org's timezone; "today" is the calendar date of `now` in the org's
timezone, and a date is compared by its calendar date in that timezone.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from .config import OrgConfig, PartnerProgram
from .faults import CONFORMING, Behaviour
from .payloads import MAX_BATCH, CustomerBatch, DelinkItem, LinkItem, UpdateItem
from .state import Customer, Link, OrgState, PendingRelink

UTC_ZONE = ZoneInfo("UTC")

__all__ = [
    "UPDATE_TYPES",
    "Outcome",
    "Status",
    "add_period",
    "delink_program",
    "link_program",
    "local_date",
    "parse_instant",
    "resolve_customer",
    "run_delink",
    "run_link",
    "run_update",
    "update_program",
]

UPDATE_TYPES = (
    "UPGRADE",
    "DOWNGRADE",
    "RENEW",
    "MEMBERSHIP_RELINKING_CANCELLED",
    "MEMBERSHIP_RENEWAL_INITIATION",
)
CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"
RENEWAL = "MEMBERSHIP_RENEWAL_INITIATION"


@dataclass(frozen=True)
class Status:
    """A status object `{"status": bool, "code": int, "message": str}`."""

    ok: bool
    code: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"status": self.ok, "code": self.code, "message": self.message}


def _fail(code: int, message: str) -> Status:
    return Status(False, code, message)


SUCCESS = Status(True, 200, "Success")
CUSTOMER_FOUND = Status(True, 1000, "Customer successfully retrieved")
NO_IDENTIFIER = _fail(8013, "Invalid identifier: at least one customer identifier is required")
NOT_FOUND = _fail(8015, "No customer found with the given identifier")
NOT_REGISTERED = _fail(8089, "Customer is not registered for the loyalty program")
UNLISTED = _fail(2010, "Customer reference could not be resolved")
WARNING_1302 = _fail(1302, "Supplementary program expiry is before membership expiry")

EMPTY_NAME = _fail(2002, "Required field is empty or null: partnerProgramName")
PAST_TIER_EXPIRY = _fail(2003, "Partner tier expiry date must be today or a future date")
NOT_LINKED = _fail(2004, "Customer is not linked with the partner program")
NOT_ENROLLED = _fail(2005, "Customer not enrolled in loyalty program")
ALREADY_LINKED = _fail(2005, "Partner program already linked with customer")
PROGRAM_NOT_FOUND = _fail(2006, "Partner program not found")
TIER_NOT_FOUND = _fail(2007, "Partner program tier not found")
BAD_UPDATE_TYPE = _fail(
    2009,
    "updateType supports only UPGRADE, DOWNGRADE, RENEW, MEMBERSHIP_RELINKING_CANCELLED, MEMBERSHIP_RENEWAL_INITIATION",
)
ONE_SUPPLEMENTARY = _fail(2019, "Customer can only be linked to one supplementary partner program at a time")
PAST_START = _fail(2025, "membershipStartDate is in the past")
RELINKING_DISABLED = _fail(2026, "Membership relinking is not enabled for this organisation")
NOTHING_PENDING = _fail(2027, "No pending relinking found to cancel")
RENEWAL_NOT_ALLOWED = _fail(2028, "Membership renewal via this API is not allowed for this organisation")
BATCH_LIMIT = _fail(2008, f"Batch limit exceeded: at most {MAX_BATCH} customers per request")


def _empty(field: str) -> Status:
    return _fail(2002, f"Required field is empty or null: {field}")


def _unparseable(field: str) -> Status:
    return _fail(2002, f"Invalid date: {field} is not an ISO 8601 date")


@dataclass(frozen=True)
class Outcome:
    """The status of one program item plus any warnings it adds to the top-level list."""

    status: Status
    warnings: tuple[Status, ...] = ()


# dates ---------------------------------------------------------------------------
def parse_instant(value: str, tz: ZoneInfo) -> datetime | None:
    """Parse an ISO 8601 string; no offset means `tz`. None when unparseable/out of range."""
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        parsed.astimezone(tz)  # rejects instants that leave the datetime range in `tz`
    except (ValueError, OverflowError):
        return None
    return parsed


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `moment` in `tz`."""
    return moment.astimezone(tz).date()


def add_period(start: datetime, program: PartnerProgram, tz: ZoneInfo, count: int = 1) -> datetime:
    """`start` plus `count` membership periods, in `tz` wall time.

    DAYS adds calendar days; MONTHS adds calendar months, clamping the day to the
    month's end (Jan 31 + 1 month = Feb 28/29). Saturates at year 9999.
    """
    local = start.astimezone(tz)
    amount = program.period_value * count
    try:
        if program.period_type == "DAYS":
            return local + timedelta(days=amount)
        months = local.month - 1 + amount
        year, month = local.year + months // 12, months % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        return local.replace(year=year, month=month, day=day)
    except (OverflowError, ValueError):
        return datetime.max.replace(tzinfo=tz)


def _date_field(value: str | None, field: str, tz: ZoneInfo) -> datetime | Status | None:
    if value is None:
        return None
    parsed = parse_instant(value, tz)
    return _unparseable(field) if parsed is None else parsed


def _before_today(day: date, today: date, fx: Behaviour, today_rejected: str, yesterday_accepted: str) -> bool:
    """`day < today`; the two boundary faults move the limit by one day, one to each side."""
    if fx.faulty(today_rejected):
        return day <= today
    if fx.faulty(yesterday_accepted):
        return day < today - timedelta(days=1)
    return day < today


# customer identification -----------------------------------------------------------
def resolve_customer(
    state: OrgState, ref: Any, ignored: frozenset[str] = frozenset()
) -> tuple[Customer | None, Status]:
    """Find the batch entry's customer by its first present identifier (capillary-facts).

    Returns (customer, 1000) / (None, 8013 no identifier) / (None, 8015 not found).
    `ignored`: identifier kinds the lookup does not support (identification faults).
    """
    key = ref.lookup_key()
    if key is None:
        return None, NO_IDENTIFIER
    customer = state.find(*key) if key[0] not in ignored else None
    return (customer, CUSTOMER_FOUND) if customer is not None else (None, NOT_FOUND)


# linkCustomer ------------------------------------------------------------------------
def link_program(
    org: OrgConfig,
    state: OrgState,
    customer: Customer,
    item: LinkItem,
    now: datetime,
    fx: Behaviour = CONFORMING,
    persist: bool = True,
) -> Outcome:
    """Rules 1-10 of linkCustomer (link-customer#error-codes, #future-dated-relinking).

    Codes: 2002 name empty / date unparseable / membership id missing, 2006, 2005 not
    enrolled, 2007, 2003, 2025, 2005 already linked, 2026, 2019; 200 linked or relink
    queued. Warning 1302 when a supplementary tier expiry ends before the membership.
    `persist` False answers as usual but stores no new link (fault link-batch-first-customer-only).
    """
    tz = org.timezone
    day_zone = UTC_ZONE if fx.varies("today-in-utc") else tz  # whose calendar "today" is (AMB-TODAY-TIMEZONE)
    today = local_date(now, day_zone)
    if not item.program_name:
        return Outcome(fx.swap("link-2002-as-2006", EMPTY_NAME, PROGRAM_NOT_FOUND))
    program = org.program(item.program_name)
    if program is None:
        return Outcome(fx.swap("link-2006-as-2004", PROGRAM_NOT_FOUND, NOT_LINKED))
    if not customer.enrolled and not fx.faulty("link-enrolment-not-checked"):
        return Outcome(NOT_ENROLLED)
    if item.tier_name is not None and program.tier(item.tier_name) is None:
        if not fx.faulty("link-tier-not-checked"):
            return Outcome(TIER_NOT_FOUND)
    tier_expiry = _date_field(item.tier_expiry, "partnerTierExpiryDate", tz)
    if isinstance(tier_expiry, Status):
        return Outcome(tier_expiry)
    if tier_expiry is not None and _before_today(
        local_date(tier_expiry, day_zone), today, fx, "link-expiry-today-rejected", "link-expiry-yesterday-accepted"
    ):
        if fx.faulty("rejected-link-stored") and state.link(customer.id, program.id) is None:
            begins = now.astimezone(tz)  # saved before the date check
            ends = add_period(begins, program, tz) if program.is_supplementary else None
            state.set_link(
                customer.id, Link(program.id, item.membership_id or "", item.tier_name, tier_expiry, begins, ends)
            )
        return Outcome(fx.swap("link-2003-as-2025", PAST_TIER_EXPIRY, PAST_START))
    start = _date_field(item.membership_start, "membershipStartDate", tz)
    if isinstance(start, Status):
        return Outcome(start)
    if start is not None and _before_today(
        local_date(start, day_zone), today, fx, "link-start-today-rejected", "link-start-yesterday-accepted"
    ):
        return Outcome(PAST_START)

    existing = state.link(customer.id, program.id)
    if existing is None and fx.faulty("delink-blocks-relink") and state.was_removed(customer.id, program.id):
        return Outcome(ALREADY_LINKED)
    if existing is not None and not (fx.faulty("link-duplicate-accepted") and start is None):
        if start is None or not program.is_supplementary:
            return Outcome(ALREADY_LINKED)
        if not org.allow_relinking and not fx.faulty("link-relinking-setting-ignored"):
            return Outcome(RELINKING_DISABLED)
        end = existing.membership_end
        if fx.varies("membership-end-is-tier-expiry") and existing.tier_expiry is not None:
            end = existing.tier_expiry  # AMB-MEMBERSHIP-END: the current end is the tier expiry the link set
        if end is None or (local_date(start, tz) <= local_date(end, tz)):
            if not fx.faulty("relink-before-end-accepted"):
                return Outcome(ALREADY_LINKED)
        if state.pending(customer.id, program.id) is not None:
            return Outcome(ALREADY_LINKED)
        relink = PendingRelink(program.id, start, item.membership_id, item.tier_name, tier_expiry)
        if not fx.faulty("relink-not-queued"):
            state.queue_relink(customer.id, relink)
        if fx.faulty("relink-overwrites-membership-id"):
            state.set_link(customer.id, replace(existing, membership_id=item.membership_id or ""))
        return Outcome(SUCCESS)

    if program.is_supplementary:
        for other in state.links_of(customer.id):
            other_program = org.program_by_id(other.program_id)
            if other_program is not None and other_program.is_supplementary:
                return Outcome(fx.swap("link-2019-as-2005", ONE_SUPPLEMENTARY, ALREADY_LINKED))
    if not item.membership_id and not fx.faulty("link-membership-id-optional"):
        if fx.varies("membership-id-missing-2005"):  # AMB-MEMBERSHIP-ID-CODE: another code than 2002
            return Outcome(_fail(2005, "Customer cannot be enrolled in the partner program without a membership id"))
        return Outcome(_empty("partnerMembershipId"))

    begins = start if start is not None else now.astimezone(tz)
    ends = add_period(begins, program, tz) if program.is_supplementary else None
    warnings: tuple[Status, ...] = ()
    loyalty_reading = fx.varies("w1302-loyalty-expiry")  # the customer's loyalty expiry: a new one has none
    if (
        ends is not None
        and tier_expiry is not None
        and not fx.faulty("link-warning-1302-missing")
        and not loyalty_reading
    ):
        if local_date(tier_expiry, tz) < local_date(ends, tz):
            warnings = (WARNING_1302,)
    if tier_expiry is None and fx.varies("link-expiry-defaults"):
        tier_expiry = ends if ends is not None else begins + timedelta(days=365)
    if persist and not fx.faulty("link-not-persisted"):
        state.set_link(
            customer.id,
            Link(program.id, item.membership_id or "", item.tier_name, tier_expiry, begins, ends),
        )
    return Outcome(SUCCESS, warnings)


# customerPartnerProgramUpdate ----------------------------------------------------------
def update_program(
    org: OrgConfig,
    state: OrgState,
    customer: Customer,
    item: UpdateItem,
    now: datetime,
    fx: Behaviour = CONFORMING,
    persist: bool = True,
) -> Status:
    """Rules 1-10 of customerPartnerProgramUpdate (update-partner-program#error-codes).

    Codes: 2002, 2009, 2006, 2026/2004/2027 (relink cancel), 2028, 2002 details,
    2004, 2007, 2002/2003 expiry; 200 applied (RENEWAL_INITIATION extends the
    membership end by one period). `persist` False answers as usual but changes no tier (fault
    update-batch-skips-last).
    """
    tz = org.timezone
    update_type = item.update_type
    if update_type is not None and fx.varies("updatetype-case-insensitive") and update_type.upper() in UPDATE_TYPES:
        update_type = update_type.upper()
    if not item.program_name:
        return EMPTY_NAME
    if update_type not in UPDATE_TYPES:
        if fx.faulty("update-lowercase-type-as-2002") and str(update_type).upper() in UPDATE_TYPES:
            return _empty("updateType")
        if not fx.faulty("update-type-not-validated"):
            return BAD_UPDATE_TYPE
    program = org.program(item.program_name)
    if program is None:
        return fx.swap("update-2006-as-2004", PROGRAM_NOT_FOUND, NOT_LINKED)
    link = state.link(customer.id, program.id)
    if update_type == CANCEL:
        if not org.allow_relinking and not fx.faulty("update-2026-as-2027"):
            return RELINKING_DISABLED
        if link is None:
            return NOT_LINKED
        if state.pending(customer.id, program.id) is None:
            return fx.swap("update-2027-as-2004", NOTHING_PENDING, NOT_LINKED)
        pending = state.pending(customer.id, program.id)
        if fx.faulty("cancel-activates-relink") and pending is not None:
            activated = replace(link, membership_id=pending.membership_id or "", tier_name=pending.tier_name)
            state.set_link(customer.id, replace(activated, tier_expiry=pending.tier_expiry))
        if not fx.faulty("cancel-keeps-pending-relink"):
            state.cancel_relink(customer.id, program.id)
        return SUCCESS
    if update_type == RENEWAL and org.allow_relinking:
        return fx.swap("update-2028-as-2026", RENEWAL_NOT_ALLOWED, RELINKING_DISABLED)
    if not item.has_details:
        return SUCCESS if fx.faulty("update-details-not-required") else _empty("updateDetails")
    if not item.tier_name:
        return _empty("updatedTierName")
    if link is None:
        return fx.swap("update-2004-as-2006", NOT_LINKED, PROGRAM_NOT_FOUND)
    if program.tier(item.tier_name) is None:
        return fx.swap("update-2007-as-2006", TIER_NOT_FOUND, PROGRAM_NOT_FOUND)
    expiry = _date_field(item.tier_expiry, "updatedTierExpiryDate", tz)
    if isinstance(expiry, Status):
        return expiry
    day_zone = UTC_ZONE if fx.varies("today-in-utc") else tz
    if expiry is not None and _before_today(
        local_date(expiry, day_zone),
        local_date(now, day_zone),
        fx,
        "update-expiry-today-rejected",
        "update-expiry-yesterday-accepted",
    ):
        if fx.faulty("rejected-update-applied"):
            state.set_link(customer.id, replace(link, tier_name=item.tier_name))  # applied before the date check
        return PAST_TIER_EXPIRY
    if update_type == "RENEW" and fx.faulty("renew-500"):
        raise RuntimeError("RENEW is not implemented")  # fault renew-500: answered as an unhandled error
    tier: str | None = item.tier_name
    if (update_type == "UPGRADE" and fx.faulty("upgrade-tier-not-changed")) or (
        update_type == "DOWNGRADE" and fx.faulty("downgrade-tier-not-changed")
    ):
        tier = link.tier_name
    if update_type == "RENEW" and fx.faulty("renew-resets-tier") and program.tiers:
        tier = program.tiers[0].name
    updated = replace(link, tier_name=tier)
    if fx.faulty("update-clears-membership-id"):
        updated.membership_id = ""
    renew_ignores = update_type == "RENEW" and fx.faulty("renew-ignores-tier-expiry")
    if expiry is not None and not fx.faulty("update-ignores-tier-expiry") and not renew_ignores:
        updated.tier_expiry = expiry
    if expiry is None and fx.faulty("update-clears-tier-expiry"):
        updated.tier_expiry = None
    if update_type == RENEWAL and link.membership_end is not None:
        updated.membership_end = add_period(link.membership_end, program, tz)
    if update_type == RENEWAL and fx.faulty("renewal-initiation-drops-link"):
        state.remove_link(customer.id, program.id)
        return SUCCESS
    if persist:
        state.set_link(customer.id, updated)
    return SUCCESS


# deLinkCustomer ---------------------------------------------------------------------------
def delink_program(
    org: OrgConfig, state: OrgState, customer: Customer, item: DelinkItem, fx: Behaviour = CONFORMING
) -> Status:
    """Rules 1-4 of deLinkCustomer (delink-customer; AMB-DELINK-ERROR-CODES).

    Codes: 2002 name empty, 2006 unknown, 2004 not linked; 200 link and pending relink removed.
    """
    if not item.program_name:
        return EMPTY_NAME
    program = org.program(item.program_name)
    if program is None:
        if fx.faulty("delink-unknown-program-succeeds"):
            return SUCCESS
        return NOT_LINKED if fx.varies("delink-unknown-program-2004") else PROGRAM_NOT_FOUND
    if state.link(customer.id, program.id) is None:
        return fx.swap("delink-not-linked-succeeds", NOT_LINKED, SUCCESS)
    if not fx.faulty("delink-keeps-link"):
        state.remove_link(customer.id, program.id)
    if fx.faulty("delink-removes-every-program"):
        for other in state.links_of(customer.id):
            state.remove_link(customer.id, other.program_id)
    return SUCCESS


# whole batches ------------------------------------------------------------------------------
ItemT = TypeVar("ItemT", LinkItem, UpdateItem, DelinkItem)


def _run(
    state: OrgState,
    batches: Sequence[CustomerBatch[ItemT]],
    endpoint: str,
    keys: tuple[str, str, str],
    apply: Callable[[Customer, ItemT, int, int], Outcome],
    fx: Behaviour,
    extra: Callable[[ItemT], dict[str, Any]] = lambda item: {},
) -> tuple[dict[str, Any], bool]:
    top_key, items_key, status_key = keys
    results: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    all_ok = True
    # variant batch-limit-per-item (AMB-2008-LEVEL): the request was not refused, every item answers 2008
    over_limit = fx.varies("batch-limit-per-item") and len(batches) > MAX_BATCH
    for position, batch in enumerate(batches):
        customer, found = resolve_customer(state, batch.customer, fx.ignored_identifiers(endpoint))
        if found is NOT_FOUND and fx.varies("unknown-customer-8089"):  # AMB-CUSTOMER-NOT-FOUND: another code
            found = NOT_REGISTERED
        entries: list[dict[str, Any]] = []
        for item in batch.items:
            if over_limit:
                outcome = Outcome(BATCH_LIMIT)
            elif customer is not None:
                outcome = apply(customer, item, position, len(batches))
            elif (found is NOT_FOUND and fx.faulty("ident-unknown-customer-linked")) or (
                found is NO_IDENTIFIER and fx.faulty("ident-missing-succeeds")
            ):
                outcome = Outcome(SUCCESS)
            elif fx.varies("unlisted-item-code"):  # AMB-UNLISTED-ITEM-CODE: a code no page lists
                outcome = Outcome(UNLISTED)
            else:
                outcome = Outcome(found)
            all_ok = all_ok and outcome.status.ok
            # the name as requested; "" when it was null or absent (the field is always a string)
            entry: dict[str, Any] = {"partnerProgramName": item.program_name or ""}
            entry.update(extra(item))
            entry[status_key] = outcome.status.to_json()
            if fx.varies("warnings-on-item-as-text"):
                entry["warnings"] = [f"{w.code}: {w.message}" for w in outcome.warnings]
            else:
                warnings.extend(w.to_json() for w in outcome.warnings)
            entries.append(entry)
        all_ok = all_ok and found.ok
        shown = customer.to_json() if customer is not None else batch.customer.to_json()
        shown["status"] = found.to_json()
        results.append({"customer": shown, items_key: entries})
    return {top_key: results, "warnings": warnings}, all_ok


def run_link(
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[LinkItem]],
    now: datetime,
    fx: Behaviour = CONFORMING,
) -> tuple[dict[str, Any], bool]:
    """Apply a linkCustomer batch; returns (response body, every item succeeded).

    Body: `{"linkCustomers": [{"customer": {id?, mobile?, email?, externalId?, status},
    "linkToPartnerPrograms": [{"partnerProgramName", "partnerLinkStatus"}]}], "warnings": []}`.
    """
    return _run(
        state,
        batches,
        "linkCustomer",
        ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),
        lambda customer, item, position, _: link_program(
            org, state, customer, item, now, fx, not (position > 0 and fx.faulty("link-batch-first-customer-only"))
        ),
        fx,
    )


def run_update(
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[UpdateItem]],
    now: datetime,
    fx: Behaviour = CONFORMING,
) -> tuple[dict[str, Any], bool]:
    """Apply a customerPartnerProgramUpdate batch; returns (response body, all succeeded).

    Body: `{"customersPartnerUpdates": [{"customer": {...}, "partnerProgramUpdates":
    [{"partnerProgramName", "updateType", "updateStatus"}]}], "warnings": []}`; `updateType`
    is echoed as given and left out when absent.
    """
    return _run(
        state,
        batches,
        "customerPartnerProgramUpdate",
        ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
        lambda customer, item, position, count: Outcome(
            update_program(
                org,
                state,
                customer,
                item,
                now,
                fx,
                not (count > 1 and position == count - 1 and fx.faulty("update-batch-skips-last")),
            )
        ),
        fx,
        lambda item: {} if item.update_type is None else {"updateType": item.update_type},
    )


def run_delink(
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[DelinkItem]],
    fx: Behaviour = CONFORMING,
) -> tuple[dict[str, Any], bool]:
    """Apply a deLinkCustomer batch; returns (response body, all succeeded).

    Body: as `run_update` without `updateType` (AMB-DELINK-RESPONSE-SHAPE).
    """
    if len(batches) > 1 and fx.faulty("delink-batch-500"):
        raise RuntimeError("batch delink is not implemented")  # fault delink-batch-500: an unhandled error
    return _run(
        state,
        batches,
        "deLinkCustomer",
        ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
        lambda customer, item, *_: Outcome(delink_program(org, state, customer, item, fx)),
        fx,
    )
