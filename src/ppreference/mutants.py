"""The code of the faults and variants that wrap a check or step of the rules, or add a check of their own.

`MUTANTS` maps a fault's or variant's name to its code, used where the catalogue says `Wrap(seam)` (a function
original -> replacement) or `Insert(seam)` (a check, run just before `seam`); `ppreference.inject` applies
them. Every other fault of the rules is data alone (`Skip`, `Answer`, `Shift`, `Ignore` in the catalogue).
Each function is the way a real implementation would go wrong, or (a variant) read the documents otherwise;
the documented behaviour is in `ppreference.rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .cases import Case, LinkCase, UpdateCase, add_period, local_date
from .config import OrgConfig
from .payloads import MAX_BATCH, UpdateItem
from .rules import RENEWAL, UPDATE_TYPES, BatchItem
from .state import Link
from .statuses import ALREADY_LINKED, BATCH_LIMIT, Status, empty

__all__ = ["MUTANTS"]

UTC_ZONE = ZoneInfo("UTC")
LinkCheck = Callable[[LinkCase], Status | None]
UpdateCheck = Callable[[UpdateCase], Status | None]
UpdatedLink = Callable[[UpdateCase], Link]
StoreUpdate = Callable[[UpdateCase, Link], None]


# linkCustomer --------------------------------------------------------------------------------
def stored_before_date_check(test: LinkCheck) -> LinkCheck:
    """rejected-link-stored (link.tier-expiry-not-past): the link is saved before the date check, so a link
    rejected with 2003 is stored anyway (when the customer had none)."""

    def check(case: LinkCase) -> Status | None:
        answer = test(case)
        program = case.known_program
        if answer is not None and case.state.link(case.customer.id, program.id) is None:
            begins = case.now.astimezone(case.tz)
            ends = add_period(begins, program, case.tz) if program.is_supplementary else None
            item = case.item
            link = Link(program.id, item.membership_id or "", item.tier_name, case.tier_expiry, begins, ends)
            case.state.set_link(case.customer.id, link)
        return answer

    return check


def delinked_still_linked(case: LinkCase) -> Status | None:
    """delink-blocks-relink (before link.not-linked-yet): a delinked link is kept as a tombstone, so linking the
    program again answers 2005."""
    removed = case.existing is None and case.state.was_removed(case.customer.id, case.known_program.id)
    return ALREADY_LINKED if removed else None


def relink_after_tier_expiry(test: LinkCheck) -> LinkCheck:
    """Variant membership-end-is-tier-expiry (link.relink-after-end): the current membership ends at the tier
    expiry the link set, when it set one (the other reading of AMB-MEMBERSHIP-END)."""

    def check(case: LinkCase) -> Status | None:
        if not case.relink:
            return None
        assert case.existing is not None and case.start is not None
        end = case.existing.tier_expiry or case.existing.membership_end
        return ALREADY_LINKED if end is None or local_date(case.start, case.tz) <= local_date(end, case.tz) else None

    return check


def relink_overwrites_membership_id(step: Callable[[LinkCase], None]) -> Callable[[LinkCase], None]:
    """relink-overwrites-membership-id (link.queue-relink): the queued relink's partnerMembershipId (none: empty)
    is also written onto the current membership."""

    def queue(case: LinkCase) -> None:
        step(case)
        assert case.existing is not None
        case.state.set_link(case.customer.id, replace(case.existing, membership_id=case.item.membership_id or ""))

    return queue


def expiry_defaults(step: Callable[[LinkCase], Link]) -> Callable[[LinkCase], Link]:
    """Variant link-expiry-defaults (link.new-link): a link without partnerTierExpiryDate gets the membership end
    (SUPPLEMENTARY) or one year from its start (EXTERNAL) as its tier expiry (AMB-LINK-DEFAULT-TIER-EXPIRY)."""

    def new_link(case: LinkCase) -> Link:
        link = step(case)
        if link.tier_expiry is not None:
            return link
        default = link.membership_end if link.membership_end is not None else link.membership_start + timedelta(365)
        return replace(link, tier_expiry=default)

    return new_link


def first_customer_only(step: Callable[[LinkCase, Link], None]) -> Callable[[LinkCase, Link], None]:
    """link-batch-first-customer-only (link.store-link): only the first customer's links of a request are
    stored."""

    def store(case: LinkCase, link: Link) -> None:
        if case.position == 0:
            step(case, link)

    return store


# customerPartnerProgramUpdate --------------------------------------------------------------------
def lowercase_type_as_2002(test: UpdateCheck) -> UpdateCheck:
    """update-lowercase-type-as-2002 (update.update-type-known): a lower-case updateType is answered 2002
    (required field empty) instead of 2009."""

    def check(case: UpdateCase) -> Status | None:
        answer = test(case)
        return empty("updateType") if answer is not None and str(case.update_type).upper() in UPDATE_TYPES else answer

    return check


def type_case_insensitive(step: Callable[[UpdateItem], str | None]) -> Callable[[UpdateItem], str | None]:
    """Variant updatetype-case-insensitive (update.update-type): a lower-case updateType reads as its upper-case
    value (AMB-UPDATETYPE-CASE)."""

    def update_type(item: UpdateItem) -> str | None:
        value = step(item)
        return value.upper() if value is not None and value.upper() in UPDATE_TYPES else value

    return update_type


def applied_before_date_check(test: UpdateCheck) -> UpdateCheck:
    """rejected-update-applied (update.tier-expiry-not-past): the new tier is applied before the date check, so
    an update rejected with 2003 has changed the tier."""

    def check(case: UpdateCase) -> Status | None:
        answer = test(case)
        if answer is not None:
            case.state.set_link(case.customer.id, replace(case.current, tier_name=case.item.tier_name))
        return answer

    return check


def cancel_activates_relink(step: Callable[[UpdateCase], None]) -> Callable[[UpdateCase], None]:
    """cancel-activates-relink (update.cancel-relink): the pending relink is applied to the current membership
    before it is dropped."""

    def cancel(case: UpdateCase) -> None:
        pending = case.state.pending(case.customer.id, case.known_program.id)
        if pending is not None:
            activated = replace(case.current, membership_id=pending.membership_id or "", tier_name=pending.tier_name)
            case.state.set_link(case.customer.id, replace(activated, tier_expiry=pending.tier_expiry))
        step(case)

    return cancel


def _rebuilt(when: Callable[[UpdateCase], bool], change: Callable[[UpdateCase, Link], Link]) -> Callable[..., Any]:
    """A wrapper of update.updated-link: where `when(case)`, the updated link is changed by `change`."""

    def wrap(step: UpdatedLink) -> UpdatedLink:
        def updated_link(case: UpdateCase) -> Link:
            link = step(case)
            return change(case, link) if when(case) else link

        return updated_link

    return wrap


def _of_type(*types: str) -> Callable[[UpdateCase], bool]:
    return lambda case: case.update_type in types


def _always(case: UpdateCase) -> bool:
    return True


def _old_tier(case: UpdateCase, link: Link) -> Link:
    return replace(link, tier_name=case.current.tier_name)


def _old_expiry(case: UpdateCase, link: Link) -> Link:
    return replace(link, tier_expiry=case.current.tier_expiry)


def _first_tier(case: UpdateCase, link: Link) -> Link:
    tiers = case.known_program.tiers
    return replace(link, tier_name=tiers[0].name) if tiers else link


def renew_raises(step: UpdatedLink) -> UpdatedLink:
    """renew-500 (update.updated-link): RENEW is not implemented: an unhandled error (HTTP 500)."""

    def updated_link(case: UpdateCase) -> Link:
        if case.update_type == "RENEW":
            raise RuntimeError("RENEW is not implemented")
        return step(case)

    return updated_link


def renewal_drops_link(step: StoreUpdate) -> StoreUpdate:
    """renewal-initiation-drops-link (update.store): MEMBERSHIP_RENEWAL_INITIATION ends the link instead."""

    def store(case: UpdateCase, link: Link) -> None:
        if case.update_type == RENEWAL:
            case.state.remove_link(case.customer.id, case.known_program.id)
        else:
            step(case, link)

    return store


def skips_last_customer(step: StoreUpdate) -> StoreUpdate:
    """update-batch-skips-last (update.store): an off-by-one loop bound, the last customer of a request of
    several is answered but not updated."""

    def store(case: UpdateCase, link: Link) -> None:
        if not (case.count > 1 and case.position == case.count - 1):
            step(case, link)

    return store


# deLinkCustomer and batches ------------------------------------------------------------------------
def removes_every_program(step: Callable[[Case[Any]], None]) -> Callable[[Case[Any]], None]:
    """delink-removes-every-program (delink.remove-link): every link of the customer goes."""

    def remove(case: Case[Any]) -> None:
        step(case)
        for other in case.state.links_of(case.customer.id):
            case.state.remove_link(case.customer.id, other.program_id)

    return remove


def over_limit_per_item(entry: BatchItem) -> Status | None:
    """Variant batch-limit-per-item (before batch.customer-resolved): a request of more than 50 customers is
    answered per item, 2008 on every item (AMB-2008-LEVEL)."""
    return BATCH_LIMIT if entry.count > MAX_BATCH else None


Report = Callable[[dict[str, Any], Sequence[Status], list[dict[str, Any]]], None]


def warnings_on_item(step: Report) -> Report:
    """Variant warnings-on-item-as-text (batch.report-warnings): an item's warnings are text entries of its own
    `warnings` array; the top-level one stays empty (AMB-WARNING-SHAPE)."""

    def report(entry: dict[str, Any], warnings: Sequence[Status], top: list[dict[str, Any]]) -> None:
        entry["warnings"] = [f"{w.code}: {w.message}" for w in warnings]

    return report


def calendar_in_utc(step: Callable[[OrgConfig], ZoneInfo]) -> Callable[[OrgConfig], ZoneInfo]:
    """Variant today-in-utc (calendar): "today" is the calendar date in UTC, the server's timezone
    (AMB-TODAY-TIMEZONE)."""
    return lambda org: UTC_ZONE


MUTANTS: dict[str, Callable[..., Any]] = {
    "rejected-link-stored": stored_before_date_check,
    "delink-blocks-relink": delinked_still_linked,
    "membership-end-is-tier-expiry": relink_after_tier_expiry,
    "relink-overwrites-membership-id": relink_overwrites_membership_id,
    "link-expiry-defaults": expiry_defaults,
    "link-batch-first-customer-only": first_customer_only,
    "update-lowercase-type-as-2002": lowercase_type_as_2002,
    "updatetype-case-insensitive": type_case_insensitive,
    "rejected-update-applied": applied_before_date_check,
    "cancel-activates-relink": cancel_activates_relink,
    "upgrade-tier-not-changed": _rebuilt(_of_type("UPGRADE"), _old_tier),
    "downgrade-tier-not-changed": _rebuilt(_of_type("DOWNGRADE"), _old_tier),
    "renew-resets-tier": _rebuilt(_of_type("RENEW"), _first_tier),
    "update-ignores-tier-expiry": _rebuilt(_always, _old_expiry),
    "renew-ignores-tier-expiry": _rebuilt(_of_type("RENEW"), _old_expiry),
    "update-clears-tier-expiry": _rebuilt(
        lambda case: case.tier_expiry is None, lambda c, k: replace(k, tier_expiry=None)
    ),
    "update-clears-membership-id": _rebuilt(_always, lambda case, link: replace(link, membership_id="")),
    "renew-500": renew_raises,
    "renewal-initiation-drops-link": renewal_drops_link,
    "update-batch-skips-last": skips_last_customer,
    "delink-removes-every-program": removes_every_program,
    "batch-limit-per-item": over_limit_per_item,
    "warnings-on-item-as-text": warnings_on_item,
    "today-in-utc": calendar_in_utc,
}
"""The code of each fault or variant the catalogue wraps (`Wrap`) or inserts (`Insert`) into the rules."""
