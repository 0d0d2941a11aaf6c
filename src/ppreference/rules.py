"""Per-item business rules of the three Partner Program endpoints, as ordered lists of named checks.

Each endpoint's rules are a book (`LinkBook`, `UpdateBook`, `DelinkBook`): ordered `Check`s, each a name and a
function of the item's `Case` answering the failing `Status` or None (the first that answers wins), then named
effect steps that run when every check passed (store the link, queue the relink, ...). The order is exactly that
of `docs/reference-behaviour.md`; each check's docstring names its rule there and its doc source
(`link-customer#error-codes`, `update-partner-program#error-codes`, `delink-customer`, `capillary-facts`).
`BatchBook` holds what the three endpoints share per customer (identification, capillary-facts). `Check`, the
cases and the date helpers are in `ppreference.cases`, the status objects in `ppreference.statuses`.

`DOCUMENTED` is the rules as documented. Nothing here knows of faults or variants: `ppreference.inject`
derives the rules of one (skip a check, answer another code, wrap a step) by the names of the checks and steps,
which are the seams the fault catalogue names ("link.enrolled", "update.store", "batch.customer-found", ...).

Dates: ISO 8601 strings (`datetime.fromisoformat`); a string without an offset is in the org's timezone; "today"
is the calendar date of `now` in the org's timezone (`Rules.calendar`), and a date is compared by its calendar
date in that timezone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .cases import (
    Case,
    Check,
    LinkCase,
    Outcome,
    UpdateCase,
    add_period,
    fields_of,
    first_answer,
    local_date,
)
from .config import OrgConfig
from .payloads import CustomerBatch, CustomerRef, DelinkItem, LinkItem, UpdateItem
from .state import Customer, Link, OrgState, PendingRelink
from .statuses import (
    ALREADY_LINKED,
    BAD_UPDATE_TYPE,
    CUSTOMER_FOUND,
    EMPTY_NAME,
    NO_IDENTIFIER,
    NOT_ENROLLED,
    NOT_FOUND,
    NOT_LINKED,
    NOTHING_PENDING,
    ONE_SUPPLEMENTARY,
    PAST_START,
    PAST_TIER_EXPIRY,
    PROGRAM_NOT_FOUND,
    RELINKING_DISABLED,
    RENEWAL_NOT_ALLOWED,
    SUCCESS,
    TIER_NOT_FOUND,
    WARNING_1302,
    Status,
    empty,
)

__all__ = [
    "CANCEL",
    "DOCUMENTED",
    "RENEWAL",
    "UPDATE_TYPES",
    "BatchBook",
    "BatchItem",
    "DelinkBook",
    "LinkBook",
    "Lookup",
    "Rules",
    "UpdateBook",
    "delink_program",
    "link_program",
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


# whose calendar "today" is ------------------------------------------------------------------
def org_calendar(org: OrgConfig) -> ZoneInfo:
    """Whose calendar "today" is: the org's timezone (reference-behaviour, further choices; AMB-TODAY-TIMEZONE)."""
    return org.timezone


# customer identification -----------------------------------------------------------
def find_customer(state: OrgState, ref: CustomerRef) -> Customer | None:
    """The customer of the batch entry's first present identifier (capillary-facts); None when none matches."""
    key = ref.lookup_key()
    return state.find(*key) if key is not None else None


@dataclass(frozen=True)
class Lookup:
    """A batch entry's customer reference and the customer it found (None: none)."""

    ref: CustomerRef
    customer: Customer | None


def customer_identified(lookup: Lookup) -> Status | None:
    """No identifier at all -> customer status 8013 (capillary-facts; reference-behaviour, customer identification)."""
    return NO_IDENTIFIER if lookup.ref.lookup_key() is None else None


def customer_found(lookup: Lookup) -> Status | None:
    """No customer with that identifier -> customer status 8015 (capillary-facts; AMB-CUSTOMER-NOT-FOUND)."""
    return NOT_FOUND if lookup.customer is None else None


def resolve_customer(state: OrgState, ref: CustomerRef) -> tuple[Customer | None, Status]:
    """Find the batch entry's customer by its first present identifier (capillary-facts), as documented.

    Returns (customer, 1000) / (None, 8013 no identifier) / (None, 8015 not found).
    """
    lookup = Lookup(ref, find_customer(state, ref))
    found = first_answer(DOCUMENTED.link.batch.customer_checks, lookup) or CUSTOMER_FOUND
    return lookup.customer, found


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch entry before its own rules: the entry's customer (None: not resolved), the customer
    status, and how many customers the request has."""

    customer: Customer | None
    found: Status
    count: int


def customer_resolved(entry: BatchItem) -> Status | None:
    """The items of a customer that is not identified or not found answer the customer's status (8013 / 8015,
    capillary-facts; reference-behaviour, customer identification)."""
    return entry.found if entry.customer is None else None


def warnings_on_top(entry: dict[str, Any], warnings: Sequence[Status], top: list[dict[str, Any]]) -> None:
    """An item's warnings go to the answer's top-level `warnings` list (link-customer: warning 1302)."""
    top.extend(w.to_json() for w in warnings)


@dataclass(frozen=True)
class BatchBook:
    """The per-customer rules every endpoint shares: find the customer (`find_customer`), the customer's status
    (`customer_checks`, else 1000), the answer of its items before their own rules (`item_checks`), and where an
    item's warnings go (`report_warnings`)."""

    find_customer: Callable[[OrgState, CustomerRef], Customer | None]
    customer_checks: tuple[Check[Lookup], ...]
    item_checks: tuple[Check[BatchItem], ...]
    report_warnings: Callable[[dict[str, Any], Sequence[Status], list[dict[str, Any]]], None]


BATCH = BatchBook(
    find_customer,
    (Check("customer-identified", customer_identified), Check("customer-found", customer_found)),
    (Check("customer-resolved", customer_resolved),),
    warnings_on_top,
)


# checks shared by the three endpoints ----------------------------------------------------------
def name_given(case: Case[Any]) -> Status | None:
    """partnerProgramName empty or null -> 2002 (rule 1 of each endpoint; link-customer#error-codes,
    update-partner-program#error-codes, delink-customer)."""
    return EMPTY_NAME if not case.item.program_name else None


def program_known(case: Case[Any]) -> Status | None:
    """An unknown partnerProgramName -> 2006 (link rule 2, update rule 3, delink rule 2; AMB-DELINK-ERROR-CODES)."""
    return PROGRAM_NOT_FOUND if case.program is None else None


# linkCustomer ------------------------------------------------------------------------
def enrolled(case: LinkCase) -> Status | None:
    """A customer not enrolled in the loyalty program -> 2005 (link rule 3; link-customer#error-codes)."""
    return NOT_ENROLLED if not case.customer.enrolled else None


def link_tier_known(case: LinkCase) -> Status | None:
    """partnerTierName given and not a tier of the program -> 2007 (link rule 4; link-customer#error-codes)."""
    tier = case.item.tier_name
    return TIER_NOT_FOUND if tier is not None and case.known_program.tier(tier) is None else None


def link_tier_expiry_parses(case: LinkCase) -> Status | None:
    """partnerTierExpiryDate unparseable -> 2002 (link rule 5)."""
    value = case.tier_expiry_read
    return value if isinstance(value, Status) else None


def link_tier_expiry_not_past(case: LinkCase) -> Status | None:
    """partnerTierExpiryDate's date before today -> 2003 (link rule 5; link-customer#error-codes)."""
    expiry = case.tier_expiry
    return PAST_TIER_EXPIRY if expiry is not None and case.before_today(expiry) else None


def start_parses(case: LinkCase) -> Status | None:
    """membershipStartDate unparseable -> 2002 (link rule 6)."""
    value = case.start_read
    return value if isinstance(value, Status) else None


def start_not_past(case: LinkCase) -> Status | None:
    """membershipStartDate's date before today -> 2025 (link rule 6; link-customer#error-codes)."""
    start = case.start
    return PAST_START if start is not None and case.before_today(start) else None


def not_linked_yet(case: LinkCase) -> Status | None:
    """Already linked and no membershipStartDate -> 2005 (link rule 7; link-customer#error-codes)."""
    return ALREADY_LINKED if case.existing is not None and case.start is None else None


def relink_supplementary_only(case: LinkCase) -> Status | None:
    """A relink of an EXTERNAL program -> 2005 (link rule 7; link-customer#future-dated-relinking)."""
    return ALREADY_LINKED if case.relink and not case.known_program.is_supplementary else None


def relinking_enabled(case: LinkCase) -> Status | None:
    """A relink in an org with ALLOW_MEMBERSHIP_RELINKING disabled -> 2026 (link rule 7;
    link-customer#future-dated-relinking)."""
    return RELINKING_DISABLED if case.relink and not case.org.allow_relinking else None


def relink_after_end(case: LinkCase) -> Status | None:
    """A relink starting on or before the current membership's end -> 2005 (link rule 7;
    link-customer#future-dated-relinking; AMB-MEMBERSHIP-END: the membership period's end)."""
    if not case.relink:
        return None
    assert case.existing is not None and case.start is not None
    end = case.existing.membership_end
    return ALREADY_LINKED if end is None or local_date(case.start, case.tz) <= local_date(end, case.tz) else None


def relink_not_pending(case: LinkCase) -> Status | None:
    """A relink while one is already pending -> 2005 (link rule 7; link-customer#future-dated-relinking)."""
    pending = case.state.pending(case.customer.id, case.known_program.id) if case.relink else None
    return ALREADY_LINKED if pending is not None else None


def one_supplementary(case: LinkCase) -> Status | None:
    """A SUPPLEMENTARY program while linked to another SUPPLEMENTARY program -> 2019 (link rule 8;
    link-customer#error-codes)."""
    if case.relink or not case.known_program.is_supplementary:
        return None
    for other in case.state.links_of(case.customer.id):
        other_program = case.org.program_by_id(other.program_id)
        if other_program is not None and other_program.is_supplementary:
            return ONE_SUPPLEMENTARY
    return None


def membership_id_given(case: LinkCase) -> Status | None:
    """A new link without partnerMembershipId -> 2002 (link rule 9; AMB-MEMBERSHIP-ID-CODE)."""
    return empty("partnerMembershipId") if not case.relink and not case.item.membership_id else None


def warning_1302(case: LinkCase) -> Status | None:
    """Warning 1302: a supplementary partnerTierExpiryDate before the new membership's end (link rule 10;
    AMB-1302-TRIGGER, compared by calendar date in the org's timezone)."""
    ends, expiry = case.ends, case.tier_expiry
    if ends is not None and expiry is not None and local_date(expiry, case.tz) < local_date(ends, case.tz):
        return WARNING_1302
    return None


def queue_relink(case: LinkCase) -> None:
    """Queue the future-dated relink beside the current membership (link rule 7; #future-dated-relinking)."""
    assert case.start is not None
    item = case.item
    relink = PendingRelink(case.known_program.id, case.start, item.membership_id, item.tier_name, case.tier_expiry)
    case.state.queue_relink(case.customer.id, relink)


def new_link(case: LinkCase) -> Link:
    """The link an item makes (link rule 10): the item's membership id, tier and tier expiry; the membership from
    membershipStartDate (default now) for one period on a SUPPLEMENTARY program."""
    item = case.item
    return Link(
        case.known_program.id, item.membership_id or "", item.tier_name, case.tier_expiry, case.begins, case.ends
    )


def store_link(case: LinkCase, link: Link) -> None:
    """Store the customer's new link (link rule 10)."""
    case.state.set_link(case.customer.id, link)


@dataclass(frozen=True)
class LinkBook:
    """Rules 1-10 of linkCustomer (link-customer#error-codes, #future-dated-relinking).

    `checks` in order; then a relink is queued (`queue_relink`), or a new link is made (`new_link`), its
    `warnings` checked and the link stored (`store_link`). `batch`: the per-customer rules.
    """

    checks: tuple[Check[LinkCase], ...]
    warnings: tuple[Check[LinkCase], ...]
    queue_relink: Callable[[LinkCase], None]
    new_link: Callable[[LinkCase], Link]
    store_link: Callable[[LinkCase, Link], None]
    batch: BatchBook = BATCH
    keys: tuple[str, str, str] = ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus")

    def case(self, base: Case[LinkItem]) -> LinkCase:
        """The item's facts."""
        return LinkCase(**fields_of(base))

    def outcome(self, base: Case[Any]) -> Outcome:
        """The outcome of the item `base` describes."""
        return self.apply(self.case(base))

    def apply(self, case: LinkCase) -> Outcome:
        """The item's outcome: the first check's answer, else 200 after the steps (with any warnings)."""
        failed = first_answer(self.checks, case)
        if failed is not None:
            return Outcome(failed)
        if case.relink:
            self.queue_relink(case)
            return Outcome(SUCCESS)
        link = self.new_link(case)
        warnings = tuple(w for w in (check.test(case) for check in self.warnings) if w is not None)
        self.store_link(case, link)
        return Outcome(SUCCESS, warnings)

    def echo(self, item: LinkItem) -> dict[str, Any]:
        """Members a result item repeats from its request item besides partnerProgramName: none."""
        return {}


LINK_RULES = LinkBook(
    (
        Check("name-given", name_given),
        Check("program-known", program_known),
        Check("enrolled", enrolled),
        Check("tier-known", link_tier_known),
        Check("tier-expiry-parses", link_tier_expiry_parses),
        Check("tier-expiry-not-past", link_tier_expiry_not_past),
        Check("start-parses", start_parses),
        Check("start-not-past", start_not_past),
        Check("not-linked-yet", not_linked_yet),
        Check("relink-supplementary-only", relink_supplementary_only),
        Check("relinking-enabled", relinking_enabled),
        Check("relink-after-end", relink_after_end),
        Check("relink-not-pending", relink_not_pending),
        Check("one-supplementary", one_supplementary),
        Check("membership-id-given", membership_id_given),
    ),
    (Check("warning-1302", warning_1302),),
    queue_relink,
    new_link,
    store_link,
)


# customerPartnerProgramUpdate ----------------------------------------------------------
def type_as_sent(item: UpdateItem) -> str | None:
    """The item's updateType as sent: the five values are case-sensitive (update rule 2; AMB-UPDATETYPE-CASE)."""
    return item.update_type


def update_type_known(case: UpdateCase) -> Status | None:
    """updateType not exactly one of the five values -> 2009 (update rule 2; update-partner-program#error-codes)."""
    return BAD_UPDATE_TYPE if case.update_type not in UPDATE_TYPES else None


def cancel_relinking_enabled(case: UpdateCase) -> Status | None:
    """MEMBERSHIP_RELINKING_CANCELLED with relinking disabled -> 2026 (update rule 4)."""
    return RELINKING_DISABLED if not case.org.allow_relinking else None


def cancel_linked(case: UpdateCase) -> Status | None:
    """MEMBERSHIP_RELINKING_CANCELLED of a program the customer is not linked to -> 2004 (update rule 4)."""
    return NOT_LINKED if case.link is None else None


def cancel_pending(case: UpdateCase) -> Status | None:
    """MEMBERSHIP_RELINKING_CANCELLED with no relink pending -> 2027 (update rule 4)."""
    return NOTHING_PENDING if case.state.pending(case.customer.id, case.known_program.id) is None else None


def renewal_without_relinking(case: UpdateCase) -> Status | None:
    """MEMBERSHIP_RENEWAL_INITIATION in an org with relinking enabled -> 2028 (update rule 5)."""
    return RENEWAL_NOT_ALLOWED if case.update_type == RENEWAL and case.org.allow_relinking else None


def details_given(case: UpdateCase) -> Status | None:
    """updateDetails missing -> 2002 (update rule 6; update-partner-program#error-codes)."""
    return empty("updateDetails") if not case.item.has_details else None


def tier_name_given(case: UpdateCase) -> Status | None:
    """updatedTierName empty or null -> 2002 (update rule 6)."""
    return empty("updatedTierName") if not case.item.tier_name else None


def linked(case: UpdateCase) -> Status | None:
    """A program the customer is not linked to -> 2004 (update rule 7; update-partner-program#error-codes)."""
    return NOT_LINKED if case.link is None else None


def update_tier_known(case: UpdateCase) -> Status | None:
    """updatedTierName not a tier of the program -> 2007 (update rule 8)."""
    return TIER_NOT_FOUND if case.known_program.tier(case.item.tier_name or "") is None else None


def update_tier_expiry_parses(case: UpdateCase) -> Status | None:
    """updatedTierExpiryDate unparseable -> 2002 (update rule 9)."""
    value = case.tier_expiry_read
    return value if isinstance(value, Status) else None


def update_tier_expiry_not_past(case: UpdateCase) -> Status | None:
    """updatedTierExpiryDate's date before today -> 2003 (update rule 9; update-partner-program#error-codes)."""
    expiry = case.tier_expiry
    return PAST_TIER_EXPIRY if expiry is not None and case.before_today(expiry) else None


def cancel_relink(case: UpdateCase) -> None:
    """Remove the pending relink (update rule 4)."""
    case.state.cancel_relink(case.customer.id, case.known_program.id)


def updated_link(case: UpdateCase) -> Link:
    """The link after the update (update rule 10): the new tier; the new tier expiry when given; under
    MEMBERSHIP_RENEWAL_INITIATION the membership end one period later (AMB-RENEWAL-INITIATION-EFFECT)."""
    link = case.current
    updated = replace(link, tier_name=case.item.tier_name)
    if case.tier_expiry is not None:
        updated.tier_expiry = case.tier_expiry
    if case.update_type == RENEWAL and link.membership_end is not None:
        updated.membership_end = add_period(link.membership_end, case.known_program, case.tz)
    return updated


def store_update(case: UpdateCase, link: Link) -> None:
    """Store the updated link (update rule 10)."""
    case.state.set_link(case.customer.id, link)


@dataclass(frozen=True)
class UpdateBook:
    """Rules 1-10 of customerPartnerProgramUpdate (update-partner-program#error-codes).

    `checks` for every item; then MEMBERSHIP_RELINKING_CANCELLED runs `cancel_checks` and `cancel_relink`, any
    other type `change_checks`, `updated_link` and `store`. `update_type` reads the item's updateType.
    """

    checks: tuple[Check[UpdateCase], ...]
    cancel_checks: tuple[Check[UpdateCase], ...]
    change_checks: tuple[Check[UpdateCase], ...]
    update_type: Callable[[UpdateItem], str | None]
    cancel_relink: Callable[[UpdateCase], None]
    updated_link: Callable[[UpdateCase], Link]
    store: Callable[[UpdateCase, Link], None]
    batch: BatchBook = BATCH
    keys: tuple[str, str, str] = ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus")

    def case(self, base: Case[UpdateItem]) -> UpdateCase:
        """The item's facts, with its update type as read."""
        return UpdateCase(**fields_of(base), update_type=self.update_type(base.item))

    def outcome(self, base: Case[Any]) -> Outcome:
        """The outcome of the item `base` describes."""
        return self.apply(self.case(base))

    def apply(self, case: UpdateCase) -> Outcome:
        """The item's outcome: the first check's answer, else 200 after the cancel or change steps."""
        cancel = case.update_type == CANCEL
        failed = first_answer(self.checks + (self.cancel_checks if cancel else self.change_checks), case)
        if failed is not None:
            return Outcome(failed)
        if cancel:
            self.cancel_relink(case)
        else:
            self.store(case, self.updated_link(case))
        return Outcome(SUCCESS)

    def echo(self, item: UpdateItem) -> dict[str, Any]:
        """A result item repeats updateType as sent, and leaves it out when absent (reference-behaviour)."""
        return {} if item.update_type is None else {"updateType": item.update_type}


UPDATE_RULES = UpdateBook(
    (
        Check("name-given", name_given),
        Check("update-type-known", update_type_known),
        Check("program-known", program_known),
    ),
    (
        Check("cancel-relinking-enabled", cancel_relinking_enabled),
        Check("cancel-linked", cancel_linked),
        Check("cancel-pending", cancel_pending),
    ),
    (
        Check("renewal-without-relinking", renewal_without_relinking),
        Check("details-given", details_given),
        Check("tier-name-given", tier_name_given),
        Check("linked", linked),
        Check("tier-known", update_tier_known),
        Check("tier-expiry-parses", update_tier_expiry_parses),
        Check("tier-expiry-not-past", update_tier_expiry_not_past),
    ),
    type_as_sent,
    cancel_relink,
    updated_link,
    store_update,
)


# deLinkCustomer ---------------------------------------------------------------------------
def delink_linked(case: Case[DelinkItem]) -> Status | None:
    """A program the customer is not linked to -> 2004 (delink rule 3; AMB-DELINK-ERROR-CODES)."""
    return NOT_LINKED if case.state.link(case.customer.id, case.known_program.id) is None else None


def remove_link(case: Case[DelinkItem]) -> None:
    """Remove the link and any pending relink (delink rule 4; AMB-DELINK-PENDING-RELINK)."""
    case.state.remove_link(case.customer.id, case.known_program.id)


@dataclass(frozen=True)
class DelinkBook:
    """Rules 1-4 of deLinkCustomer (delink-customer; AMB-DELINK-ERROR-CODES): `checks`, then `remove_link`."""

    checks: tuple[Check[Case[DelinkItem]], ...]
    remove_link: Callable[[Case[DelinkItem]], None]
    batch: BatchBook = BATCH
    keys: tuple[str, str, str] = ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus")

    def case(self, base: Case[DelinkItem]) -> Case[DelinkItem]:
        """The item's facts."""
        return base

    def outcome(self, base: Case[Any]) -> Outcome:
        """The outcome of the item `base` describes."""
        return self.apply(self.case(base))

    def apply(self, case: Case[DelinkItem]) -> Outcome:
        """The item's outcome: the first check's answer, else 200 after removing the link."""
        failed = first_answer(self.checks, case)
        if failed is not None:
            return Outcome(failed)
        self.remove_link(case)
        return Outcome(SUCCESS)

    def echo(self, item: DelinkItem) -> dict[str, Any]:
        """Members a result item repeats besides partnerProgramName: none (AMB-DELINK-RESPONSE-SHAPE)."""
        return {}


DELINK_RULES = DelinkBook(
    (
        Check("name-given", name_given),
        Check("program-known", program_known),
        Check("linked", delink_linked),
    ),
    remove_link,
)


@dataclass(frozen=True)
class Rules:
    """The rules of the three endpoints, and `calendar`: the timezone whose calendar "today" is, per org."""

    link: LinkBook
    update: UpdateBook
    delink: DelinkBook
    calendar: Callable[[OrgConfig], ZoneInfo] = org_calendar


DOCUMENTED = Rules(LINK_RULES, UPDATE_RULES, DELINK_RULES)
"""The rules as the documents (and docs/reference-behaviour.md where they are silent) say."""


# whole batches ------------------------------------------------------------------------------
Book = LinkBook | UpdateBook | DelinkBook


def _run(
    book: Book,
    rules: Rules,
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[Any]],
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Answer every customer of a request and every item of each, in request order (AMB-RESULT-ORDER)."""
    top_key, items_key, status_key = book.keys
    zone = rules.calendar(org)
    results: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    all_ok = True
    for position, batch in enumerate(batches):
        lookup = Lookup(batch.customer, book.batch.find_customer(state, batch.customer))
        customer = lookup.customer
        found = first_answer(book.batch.customer_checks, lookup) or CUSTOMER_FOUND
        entries: list[dict[str, Any]] = []
        for item in batch.items:
            refused = first_answer(book.batch.item_checks, BatchItem(customer, found, len(batches)))
            if refused is not None:
                outcome = Outcome(refused)
            else:
                assert customer is not None, "checked by customer-resolved"
                base = Case(org, state, customer, item, now, zone, position, len(batches))
                outcome = book.outcome(base)
            all_ok = all_ok and outcome.status.ok
            # the name as requested; "" when it was null or absent (the field is always a string)
            entry: dict[str, Any] = {"partnerProgramName": item.program_name or ""}
            entry.update(book.echo(item))
            entry[status_key] = outcome.status.to_json()
            book.batch.report_warnings(entry, outcome.warnings, warnings)
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
    rules: Rules = DOCUMENTED,
) -> tuple[dict[str, Any], bool]:
    """Apply a linkCustomer batch; returns (response body, every item succeeded).

    Body: `{"linkCustomers": [{"customer": {id?, mobile?, email?, externalId?, status},
    "linkToPartnerPrograms": [{"partnerProgramName", "partnerLinkStatus"}]}], "warnings": []}`.
    """
    return _run(rules.link, rules, org, state, batches, now)


def run_update(
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[UpdateItem]],
    now: datetime,
    rules: Rules = DOCUMENTED,
) -> tuple[dict[str, Any], bool]:
    """Apply a customerPartnerProgramUpdate batch; returns (response body, all succeeded).

    Body: `{"customersPartnerUpdates": [{"customer": {...}, "partnerProgramUpdates":
    [{"partnerProgramName", "updateType", "updateStatus"}]}], "warnings": []}`; `updateType`
    is echoed as given and left out when absent.
    """
    return _run(rules.update, rules, org, state, batches, now)


def run_delink(
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[DelinkItem]],
    now: datetime,
    rules: Rules = DOCUMENTED,
) -> tuple[dict[str, Any], bool]:
    """Apply a deLinkCustomer batch; returns (response body, all succeeded).

    Body: as `run_update` without `updateType` (AMB-DELINK-RESPONSE-SHAPE).
    """
    return _run(rules.delink, rules, org, state, batches, now)


# single items (for tests) ------------------------------------------------------------------------
def _case(org: OrgConfig, state: OrgState, customer: Customer, item: Any, now: datetime, rules: Rules) -> Case[Any]:
    return Case(org, state, customer, item, now, rules.calendar(org))


def link_program(
    org: OrgConfig, state: OrgState, customer: Customer, item: LinkItem, now: datetime, rules: Rules = DOCUMENTED
) -> Outcome:
    """One linkCustomer item of a found customer under `rules` (`LinkBook.apply`)."""
    return rules.link.outcome(_case(org, state, customer, item, now, rules))


def update_program(
    org: OrgConfig, state: OrgState, customer: Customer, item: UpdateItem, now: datetime, rules: Rules = DOCUMENTED
) -> Status:
    """One customerPartnerProgramUpdate item of a found customer under `rules` (`UpdateBook.apply`)."""
    return rules.update.outcome(_case(org, state, customer, item, now, rules)).status


def delink_program(
    org: OrgConfig, state: OrgState, customer: Customer, item: DelinkItem, now: datetime, rules: Rules = DOCUMENTED
) -> Status:
    """One deLinkCustomer item of a found customer under `rules` (`DelinkBook.apply`)."""
    return rules.delink.outcome(_case(org, state, customer, item, now, rules)).status
