"""Correlating webhook deliveries with the actions that caused them, and judging what was found.

An `Expected` event names the event, the customer (id and instore identifiers, all unique to the
scenario), the program, and what the action fixed (membership number, updateType, the answer's request
id). A delivery is a *candidate* for it when it names the same event and the same customer (by
customerId or by any instore identifier, so an event with a wrong customerId is still recognised as this
action's and reported, not waited for until the deadline) and arrived at or after `not_before`.

`judge(expected, deliveries)` picks the best candidate (program and membership number agreeing first) and
lists every problem: schema violations (`ppconformance.contract.events.check`, any documented form), a wrong
customerId / identifier / program / type / membership number / updateType / apiRequestId, and a
`customerPartnerProgramDetails` value that differs from the state model's after the write that caused the event
(`partnerTierNumber` of the tier, `partnerTierExpiryDate`, `membershipNumber`; AMB-EVENT-DETAILS: a detail the
event leaves out is judged only when strict; a date is read as in loyaltyDetails, AMB-TIER-EXPIRY-DAY). Further
candidates of the same item are duplicates: a warning by default, problems when AMB-EVENT-DUPLICATES is
strict. Program names are compared after trimming (AMB-EVENT-NAME-WHITESPACE; exact when strict).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ppconformance.contract.events import EventFacts, check, facts
from ppconformance.contract.model import calendar_date_of
from ppconformance.contract.stances import AmbiguityId, Stances
from ppconformance.webhooks.sink import Delivery

__all__ = ["Expected", "Finding", "candidates", "judge"]


@dataclass(frozen=True)
class Expected:
    """What one action must have announced.

    `identifiers`: {"mobile", "email", "externalId"} as registered; `program_type` "EXTERNAL" /
    "SUPPLEMENTARY" or None (not compared); `membership_number`, `update_type`, `request_id`: compared when
    not None; `not_before`: epoch seconds, deliveries that arrived earlier are not candidates. From the state
    model after the write (None: not known, not compared): `tier_number` (the `partnerTierNumber` of the
    program's tier), `tier_expiry` (the calendar date of its tier expiry, read in timezone `tz`).
    """

    event: str
    customer_id: int | None
    identifiers: dict[str, str]
    program_name: str
    program_type: str | None = None
    membership_number: str | None = None
    update_type: str | None = None
    request_id: str | None = None
    not_before: float = 0.0
    tier_number: int | None = None
    tier_expiry: date | None = None
    tz: str = "UTC"
    tier_expiry_alternates: frozenset[date] = frozenset()
    """Days that pass too under the lenient AMB-TIER-EXPIRY-DAY: the UTC day of the instant the write sent."""


@dataclass
class Finding:
    """The judged outcome: the matched delivery (None: nothing arrived), problems (non-conformance),
    warnings (reported, not failed)."""

    delivery: Delivery | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _same_customer(f: EventFacts, exp: Expected) -> bool:
    if exp.customer_id is not None and f.customer_id == exp.customer_id:
        return True
    return any(f.identifiers.get(k) == v for k, v in exp.identifiers.items() if v)


def _names_equal(got: Any, want: str, strict: bool) -> bool:
    return isinstance(got, str) and (got == want if strict else got.strip() == want.strip())


def candidates(
    exp: Expected, deliveries: Iterable[Delivery], *, attempts: bool = False
) -> list[tuple[Delivery, EventFacts]]:
    """The deliveries naming `exp.event` for `exp`'s customer that arrived at or after `exp.not_before`: the
    accepted ones (`Delivery.accepted`), or with `attempts` every attempt (refused and unauthenticated too)."""
    found = []
    for d in deliveries:
        if d.arrival < exp.not_before or not (attempts or d.accepted):
            continue
        f = facts(d.body)
        if f.name == exp.event and _same_customer(f, exp):
            found.append((d, f))
    return found


def judge(exp: Expected, deliveries: Iterable[Delivery], *, strict: frozenset[str] = frozenset()) -> Finding:
    """Judge the deliveries for `exp` (see the module docstring). `strict`: ambiguity ids or "all"."""
    stances = Stances(frozenset(strict))
    exact_names = stances.strict(AmbiguityId.EVENT_NAME_WHITESPACE)
    found = candidates(exp, deliveries)
    if not found:
        return Finding(None)

    def agrees(item: tuple[Delivery, EventFacts]) -> tuple[bool, bool]:
        f = item[1]
        membership = f.details.get("membershipNumber")
        return (
            _names_equal(f.program_name, exp.program_name, exact_names),
            exp.membership_number is None or membership == exp.membership_number,
        )

    ranked = sorted(found, key=lambda item: tuple(not x for x in agrees(item)))
    delivery, f = ranked[0]
    finding = Finding(delivery, _problems(exp, delivery, f, strict, stances))
    for other, of in ranked[1:]:
        if agrees((other, of)) != (True, True):
            continue
        what = (
            "the same event delivered again"
            if of.event_id == f.event_id
            else f"a second event (eventId {of.event_id}) for the same item"
        )
        note = f"{exp.event} for customer {exp.customer_id}: delivery #{other.seq} is {what} (AMB-EVENT-DUPLICATES)"
        (finding.problems if stances.strict(AmbiguityId.EVENT_DUPLICATES) else finding.warnings).append(note)
        # a duplicate is a warning by default, never a licence to announce something else: judged like the first
        finding.problems += [f"delivery #{other.seq}: {p}" for p in _problems(exp, other, of, strict, stances)]
    return finding


def _problems(exp: Expected, delivery: Delivery, f: EventFacts, strict: frozenset[str], stances: Stances) -> list[str]:
    """What one delivery announces wrongly about `exp` (schema, customer, program, type, details, updateType,
    apiRequestId)."""
    exact_names = stances.strict(AmbiguityId.EVENT_NAME_WHITESPACE)
    problems: list[str] = []
    verdict = check(delivery.body, strict=strict)
    problems += [f"{exp.event} (delivery #{delivery.seq}, {verdict.form} form) {e}" for e in verdict.errors]
    if exp.customer_id is not None and f.customer_id != exp.customer_id:
        problems.append(f"customerId is {f.customer_id!r}, the action's customer is {exp.customer_id}")
    for kind, value in f.identifiers.items():
        if exp.identifiers.get(kind) and value != exp.identifiers[kind]:
            problems.append(
                f"customerIdentifiers.instore.{kind} is {value!r}, the customer's is {exp.identifiers[kind]!r}"
            )
    if not _names_equal(f.program_name, exp.program_name, exact_names):
        problems.append(f"partnerProgramName is {f.program_name!r}, the action's program is {exp.program_name!r}")
    if exp.program_type is not None and f.program_type != exp.program_type:
        problems.append(f"partnerProgramType is {f.program_type!r}, expected {exp.program_type}")
    membership = f.details.get("membershipNumber")
    if exp.membership_number is not None and membership is not None and membership != exp.membership_number:
        problems.append(
            f"customerPartnerProgramDetails.membershipNumber is {membership!r}, the link's "
            f"partnerMembershipId is {exp.membership_number!r}"
        )
    problems += _detail_problems(exp, f, stances)
    if exp.update_type is not None and f.update_type != exp.update_type:
        shown = repr(f.update_type) if f.has_update_type else "missing"
        problems.append(f"updateType is {shown}, the update's is {exp.update_type}")
    if exp.request_id is not None and f.api_request_id != exp.request_id:
        problems.append(f"apiRequestId is {f.api_request_id!r}, the answer's request id is {exp.request_id!r}")
    return problems


def _detail_problems(exp: Expected, f: EventFacts, stances: Stances) -> list[str]:
    """The customerPartnerProgramDetails that differ from the model's state after the write (see `Expected`).
    Lenient AMB-EVENT-DETAILS: a detail left out is not judged; strict: a detail the model knows must be there."""
    problems = []
    details = f.details
    strict = stances.strict(AmbiguityId.EVENT_DETAILS)
    number = details.get("partnerTierNumber")
    if exp.tier_number is not None:
        if number is not None and number != exp.tier_number:
            problems.append(
                f"customerPartnerProgramDetails.partnerTierNumber is {number!r}, the program's tier after the write "
                f"is number {exp.tier_number}"
            )
        elif number is None and strict:
            problems.append("customerPartnerProgramDetails.partnerTierNumber is missing (AMB-EVENT-DETAILS strict)")
    expiry = details.get("partnerTierExpiryDate")
    if exp.tier_expiry is not None:
        if expiry not in (None, ""):
            named = calendar_date_of(expiry, exp.tz)
            days = {named} if stances.strict(AmbiguityId.TIER_EXPIRY_DAY) else {named, calendar_date_of(expiry, "UTC")}
            if not stances.strict(AmbiguityId.TIER_EXPIRY_DAY) and days & exp.tier_expiry_alternates:
                days.add(exp.tier_expiry)
            if named is not None and exp.tier_expiry not in days:
                problems.append(
                    f"customerPartnerProgramDetails.partnerTierExpiryDate is {expiry!r}, the tier expires on "
                    f"{exp.tier_expiry.isoformat()} after the write"
                )
        elif strict:
            problems.append("customerPartnerProgramDetails.partnerTierExpiryDate is missing (AMB-EVENT-DETAILS strict)")
    if exp.membership_number is not None and details.get("membershipNumber") is None and strict:
        problems.append("customerPartnerProgramDetails.membershipNumber is missing (AMB-EVENT-DETAILS strict)")
    return problems
