"""Dates the scenarios send, computed in the org's timezone (AMB-TODAY-TIMEZONE); `calendar_date_of` (the date an
answer's date value names) lives in `contract.model` and is re-exported here.

All values are ISO 8601 strings with an explicit offset, e.g.
"2026-11-21T23:59:59+05:30". "today"/"yesterday" boundary values depend on the
stance: by default they hold under every reading of "today" (server's, org's,
the offset's own), strictly they sit on the org-timezone calendar boundary.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ppconformance.contract.model import calendar_date_of

__all__ = ["calendar_date_of", "day_boundary", "days_from_today", "iso"]


def iso(moment: datetime) -> str:
    """`moment` (aware) as ISO 8601 to the second with a ±HH:MM offset."""
    return moment.replace(microsecond=0).isoformat()


def _today(tz: str, now: datetime | None) -> tuple[ZoneInfo, datetime]:
    zone = ZoneInfo(tz)
    return zone, (now or datetime.now(zone)).astimezone(zone)


def day_boundary(which: str, tz: str, *, strict: bool, now: datetime | None = None) -> str:
    """The "today" or "yesterday" value for a must-be-today-or-later date field.

    Arguments:
    - `which`: "today" or "yesterday".
    - `tz`: the org's IANA timezone.
    - `strict`: AMB-TODAY-TIMEZONE strict stance.

    Lenient: today 23:59:59 (not in the past under any reading) and yesterday
    00:00:00 (at least 24 h ago, so past in every timezone). Strict: today
    00:00:00 and yesterday 23:59:59, which only a target comparing calendar
    dates in the org's timezone judges correctly. Raises ValueError for another `which`.
    """
    zone, current = _today(tz, now)
    if which == "today":
        day, at = current.date(), (time(0, 0, 0) if strict else time(23, 59, 59))
    elif which == "yesterday":
        day, at = current.date() - timedelta(days=1), (time(23, 59, 59) if strict else time(0, 0, 0))
    else:
        raise ValueError(f"unknown day {which!r}: expected 'today' or 'yesterday'")
    return iso(datetime.combine(day, at, tzinfo=zone))


def days_from_today(days: int, tz: str, *, now: datetime | None = None, at: time = time(12, 0)) -> str:
    """Noon (by default) of the day `days` after today in the org's timezone; negative for the past."""
    zone, current = _today(tz, now)
    return iso(datetime.combine(current.date() + timedelta(days=days), at, tzinfo=zone))
