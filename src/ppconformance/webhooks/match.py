"""Correlating webhook deliveries with the actions that caused them, and judging what was found.

An `Expected` event names the event, the customer (id and instore identifiers, all unique to the
scenario), the program, and what the action fixed (membership number, updateType, the answer's request
id). A delivery is a *candidate* for it when it names the same event and the same customer (by
customerId or by any instore identifier, so an event with a wrong customerId is still recognised as this
action's and reported, not waited for until the deadline) and arrived at or after `not_before`.

`judge(expected, deliveries)` picks the best candidate (program and membership number agreeing first) and
lists every problem: schema violations (`ppconformance.contract.events.check`, any documented form), a wrong
customerId / identifier / program / type / membership number / updateType / apiRequestId. Further
candidates of the same item are duplicates: a warning by default, problems when AMB-EVENT-DUPLICATES is
strict. Program names are compared after trimming (AMB-EVENT-NAME-WHITESPACE; exact when strict).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ppconformance.contract.events import EventFacts, check, facts
from ppconformance.contract.stances import AmbiguityId, Stances
from ppconformance.webhooks.sink import Delivery

__all__ = ["Expected", "Finding", "candidates", "judge"]


@dataclass(frozen=True)
class Expected:
    """What one action must have announced.

    `identifiers`: {"mobile", "email", "externalId"} as registered; `program_type` "EXTERNAL" /
    "SUPPLEMENTARY" or None (not compared); `membership_number`, `update_type`, `request_id`: compared when
    not None; `not_before`: epoch seconds, deliveries that arrived earlier are not candidates.
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
    finding = Finding(delivery)
    verdict = check(delivery.body, strict=strict)
    finding.problems += [f"{exp.event} (delivery #{delivery.seq}, {verdict.form} form) {e}" for e in verdict.errors]
    if exp.customer_id is not None and f.customer_id != exp.customer_id:
        finding.problems.append(f"customerId is {f.customer_id!r}, the action's customer is {exp.customer_id}")
    for kind, value in f.identifiers.items():
        if exp.identifiers.get(kind) and value != exp.identifiers[kind]:
            finding.problems.append(
                f"customerIdentifiers.instore.{kind} is {value!r}, the customer's is {exp.identifiers[kind]!r}"
            )
    if not _names_equal(f.program_name, exp.program_name, exact_names):
        finding.problems.append(
            f"partnerProgramName is {f.program_name!r}, the action's program is {exp.program_name!r}"
        )
    if exp.program_type is not None and f.program_type != exp.program_type:
        finding.problems.append(f"partnerProgramType is {f.program_type!r}, expected {exp.program_type}")
    membership = f.details.get("membershipNumber")
    if exp.membership_number is not None and membership is not None and membership != exp.membership_number:
        finding.problems.append(
            f"customerPartnerProgramDetails.membershipNumber is {membership!r}, the link's "
            f"partnerMembershipId is {exp.membership_number!r}"
        )
    if exp.update_type is not None and f.update_type != exp.update_type:
        shown = repr(f.update_type) if f.has_update_type else "missing"
        finding.problems.append(f"updateType is {shown}, the update's is {exp.update_type}")
    if exp.request_id is not None and f.api_request_id != exp.request_id:
        finding.problems.append(f"apiRequestId is {f.api_request_id!r}, the answer's request id is {exp.request_id!r}")
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
    return finding
