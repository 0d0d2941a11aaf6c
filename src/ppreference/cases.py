"""The facts an item of the Partner Program endpoints is judged on, and how a rule is written.

A `Check` is one documented rule: a name (the seam a fault may act on, `ppreference.seams`) and a function of
the item's `Case` answering the failing `Status`, or None; `first_answer` runs an ordered list of them. The
`Case` of an item holds the org, its state, the found customer, the item, `now` and whose calendar "today" is;
`LinkCase` and `UpdateCase` add what their rules read (the dates of the item, the current link). Dates: ISO 8601
strings (`datetime.fromisoformat`); a string without an offset is in the org's timezone.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from .config import OrgConfig, PartnerProgram
from .payloads import DelinkItem, LinkItem, UpdateItem
from .state import Customer, Link, OrgState
from .statuses import Status, unparseable

__all__ = [
    "Case",
    "Check",
    "LinkCase",
    "Outcome",
    "UpdateCase",
    "add_period",
    "fields_of",
    "first_answer",
    "local_date",
    "parse_instant",
    "read_date",
]

C = TypeVar("C")
ItemT = TypeVar("ItemT", LinkItem, UpdateItem, DelinkItem)


@dataclass(frozen=True)
class Outcome:
    """The status of one program item plus any warnings it adds to the top-level list."""

    status: Status
    warnings: tuple[Status, ...] = ()


@dataclass(frozen=True)
class Check(Generic[C]):
    """One documented rule: `name` (the seam faults act on) and `test(case)`, the failing status or None."""

    name: str
    test: Callable[[C], Status | None]


def first_answer(checks: Sequence[Check[C]], case: C) -> Status | None:
    """The answer of the first check in `checks` that answers `case`; None when every check passes."""
    for check in checks:
        status = check.test(case)
        if status is not None:
            return status
    return None


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


def read_date(value: str | None, field: str, tz: ZoneInfo) -> datetime | Status | None:
    """A date field of an item: None when absent, the instant, or the 2002 status when it does not parse."""
    if value is None:
        return None
    parsed = parse_instant(value, tz)
    return unparseable(field) if parsed is None else parsed


# the facts an item is judged on ---------------------------------------------------------
@dataclass(frozen=True)
class Case(Generic[ItemT]):
    """The facts one program item is judged on: the org, its state, the (found) customer, the item, `now`, `zone`
    (whose calendar "today" is), and the customer's `position` among the request's `count` customers."""

    org: OrgConfig
    state: OrgState
    customer: Customer
    item: ItemT
    now: datetime
    zone: ZoneInfo
    position: int = 0
    count: int = 1

    @property
    def tz(self) -> ZoneInfo:
        """The org's timezone (dates without an offset are in it)."""
        return self.org.timezone

    @property
    def today(self) -> date:
        """The calendar date of `now` in `zone`."""
        return local_date(self.now, self.zone)

    def before_today(self, moment: datetime) -> bool:
        """Whether the calendar date of `moment` (in `zone`) is before today."""
        return local_date(moment, self.zone) < self.today

    @cached_property
    def program(self) -> PartnerProgram | None:
        """The program the item names; None when unknown."""
        return self.org.program(self.item.program_name or "")

    @property
    def known_program(self) -> PartnerProgram:
        """The program, for the checks after program-known."""
        assert self.program is not None, "checked by program-known"
        return self.program


@dataclass(frozen=True)
class LinkCase(Case[LinkItem]):
    """A linkCustomer item's facts: its dates, the customer's current link and the membership a new link gets."""

    @cached_property
    def tier_expiry_read(self) -> datetime | Status | None:
        """partnerTierExpiryDate read (`read_date`)."""
        return read_date(self.item.tier_expiry, "partnerTierExpiryDate", self.tz)

    @property
    def tier_expiry(self) -> datetime | None:
        """partnerTierExpiryDate; None when absent (or unparseable: answered by tier-expiry-parses)."""
        value = self.tier_expiry_read
        return value if isinstance(value, datetime) else None

    @cached_property
    def start_read(self) -> datetime | Status | None:
        """membershipStartDate read (`read_date`)."""
        return read_date(self.item.membership_start, "membershipStartDate", self.tz)

    @property
    def start(self) -> datetime | None:
        """membershipStartDate; None when absent (or unparseable: answered by start-parses)."""
        value = self.start_read
        return value if isinstance(value, datetime) else None

    @cached_property
    def existing(self) -> Link | None:
        """The customer's current link to the program, if any."""
        return self.state.link(self.customer.id, self.known_program.id)

    @property
    def relink(self) -> bool:
        """A future-dated relink: the customer is linked and the item names a start (link-customer
        #future-dated-relinking)."""
        return self.existing is not None and self.start is not None

    @property
    def begins(self) -> datetime:
        """The new membership's start: membershipStartDate, else now (in the org's timezone)."""
        return self.start if self.start is not None else self.now.astimezone(self.tz)

    @property
    def ends(self) -> datetime | None:
        """The new membership's end: one membership period after `begins` on a SUPPLEMENTARY program, else None."""
        program = self.known_program
        return add_period(self.begins, program, self.tz) if program.is_supplementary else None


@dataclass(frozen=True)
class UpdateCase(Case[UpdateItem]):
    """A customerPartnerProgramUpdate item's facts: its update type as read, the link, the new tier expiry."""

    update_type: str | None = None

    @cached_property
    def link(self) -> Link | None:
        """The customer's link to the program, if any."""
        return self.state.link(self.customer.id, self.known_program.id)

    @property
    def current(self) -> Link:
        """The link, for the steps after the linked check."""
        assert self.link is not None, "checked by linked"
        return self.link

    @cached_property
    def tier_expiry_read(self) -> datetime | Status | None:
        """updatedTierExpiryDate read (`read_date`)."""
        return read_date(self.item.tier_expiry, "updatedTierExpiryDate", self.tz)

    @property
    def tier_expiry(self) -> datetime | None:
        """updatedTierExpiryDate; None when absent."""
        value = self.tier_expiry_read
        return value if isinstance(value, datetime) else None


def fields_of(case: Case[Any]) -> dict[str, Any]:
    """The fields of the base `Case` of `case` (to build an endpoint's case from it)."""
    return {f.name: getattr(case, f.name) for f in fields(Case)}
