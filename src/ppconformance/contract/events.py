"""Webhook event payloads: validation against `schemas/events/`, the facts a scenario compares, the validator CLI.

The four Partner Program events (doc `events`) come in three documented forms
(`events#...` samples, capillary-facts#webhooks-event-notifications):

    flat     {eventName, eventId, orgId, refId, apiRequestId, createdAt, data, loyaltyEventId}
    wrapped  {eventId, eventType, consumerGroupId, actionType, timeStamp, attributes{eventName, data, ...}}
    raw      {eventName, eventLogId, data, ..., traceAttributes, orgId}

`check(payload)` names the event and its form and lists every violation as
`at <JSON path>: <message>`, the path into the payload as received. Any form is
accepted by default (AMB-EVENT-ENVELOPE). `facts(payload)` pulls out what a
scenario correlates and compares (customer, program, updateType, details).

Command line (exit 0 when every payload is valid, 1 when one is not, 2 on
unreadable input):

    python -m ppconformance.contract.events validate deliveries.jsonl sample.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ppconformance.contract.schemas import SCHEMA_DIR, ContractSchemas
from ppconformance.contract.stances import AmbiguityId, Stances, unknown_ids

__all__ = [
    "EVENT_NAMES",
    "EVENT_REQUIREMENTS",
    "EVENT_SCHEMA_DIR",
    "EventFacts",
    "Verdict",
    "check",
    "event_form",
    "event_name",
    "facts",
    "main",
    "read_payloads",
]

EVENT_SCHEMA_DIR = SCHEMA_DIR / "events"
#: The events of doc `events`, each with its schema file `schemas/events/<name>.schema.json`.
EVENT_NAMES = (
    "partnerProgramLinked",
    "partnerProgramUpdated",
    "partnerProgramDelinked",
    "supplementaryMembershipExpiryReminder",
)
#: The catalogue requirement an event's schema check judges (its doc quote is the requirement's).
EVENT_REQUIREMENTS = {
    "partnerProgramLinked": "EVENT-LINKED",
    "partnerProgramUpdated": "EVENT-UPDATED",
    "partnerProgramDelinked": "EVENT-DELINKED",
    "supplementaryMembershipExpiryReminder": "EVENT-EXPIRY-REMINDER",
}


@lru_cache(maxsize=2)
def _schemas(null_as_absent: bool = True) -> ContractSchemas:
    """The event schemas; under the default stance of AMB-NULL-AS-ABSENT an optional field may be null."""
    return ContractSchemas.load(EVENT_SCHEMA_DIR, null_as_absent=null_as_absent)


def event_form(payload: Any) -> str:
    """ "wrapped" (has `attributes`), "raw" (has `eventLogId` or `traceAttributes`) or "flat"."""
    if isinstance(payload, dict) and "attributes" in payload:
        return "wrapped"
    if isinstance(payload, dict) and ("eventLogId" in payload or "traceAttributes" in payload):
        return "raw"
    return "flat"


def event_name(payload: Any) -> str | None:
    """The event's name: `eventName`, or `eventType` / `attributes.eventName` of the wrapped form."""
    if not isinstance(payload, dict):
        return None
    if event_form(payload) == "wrapped":
        attrs = payload.get("attributes")
        name = payload.get("eventType") or (attrs.get("eventName") if isinstance(attrs, dict) else None)
    else:
        name = payload.get("eventName")
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class Verdict:
    """The check of one payload: event name (None if unknown), form, violations (empty: valid)."""

    name: str | None
    form: str
    errors: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return not self.errors


def check(payload: Any, *, strict: frozenset[str] | set[str] = frozenset()) -> Verdict:
    """Validate one payload against the schema of the event it names, in the form it has.

    `strict`: ambiguity ids judged strictly, e.g. {"AMB-EVENT-ORGID-KEY"} (only `orgId`
    is accepted, not the sample's "orgId "), {"AMB-EVENT-ENVELOPE"} (only the flat envelope),
    {"AMB-NULL-AS-ABSENT"} (a null member is not taken for an absent one); "all" judges every ambiguity
    strictly.
    Errors read `at $.data.updateType: 'updateType' is a required property`.
    """
    form = event_form(payload)
    name = event_name(payload)
    if not isinstance(payload, dict):
        return Verdict(None, form, ("at $: an event payload is a JSON object",))
    if name not in EVENT_NAMES:
        key = "$.eventType" if form == "wrapped" else "$.eventName"
        return Verdict(None, form, (f"at {key}: {name!r} is not one of {', '.join(EVENT_NAMES)}",))
    stances = Stances(frozenset(strict))
    null_as_absent = not stances.strict(AmbiguityId.NULL_AS_ABSENT)
    errors = list(_schemas(null_as_absent).errors(name, payload, definition=form))
    if stances.strict(AmbiguityId.EVENT_ORGID_KEY):
        attrs = payload.get("attributes")
        if isinstance(attrs, dict) and "orgId " in attrs:
            errors.append("at $.attributes['orgId ']: the org key has a trailing space (strict AMB-EVENT-ORGID-KEY)")
    if stances.strict(AmbiguityId.EVENT_DATE_FORMAT) and form != "raw":
        details = facts(payload).details
        for key in ("partnerTierExpiryDate", "membershipExpiryDate"):
            value = details.get(key)
            if isinstance(value, str) and not _DATE.fullmatch(value):
                errors.append(
                    f"at {_data_path(form)}.customerPartnerProgramDetails.{key}: {value!r} is not a YYYY-MM-DD date "
                    "(strict AMB-EVENT-DATE-FORMAT)"
                )
    if stances.strict(AmbiguityId.EVENT_ENVELOPE) and form != "flat":
        errors.append(f"at $: the {form} form; only the enriched flat envelope is accepted (strict AMB-EVENT-ENVELOPE)")
    return Verdict(name, form, tuple(errors))


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _data_path(form: str) -> str:
    return "$.attributes.data" if form == "wrapped" else "$.data"


@dataclass(frozen=True)
class EventFacts:
    """What a scenario compares, whatever the form; None where the payload has no such value.

    `identifiers`: the instore mobile/email/externalId strings; `details`: customerPartnerProgramDetails;
    `created_at`: epoch milliseconds of the target's clock.
    """

    name: str | None
    form: str
    event_id: str | None
    customer_id: Any
    program_name: Any
    program_type: Any
    update_type: Any
    org_id: Any
    api_request_id: Any
    created_at: Any
    identifiers: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    has_update_type: bool = False


def facts(payload: Any) -> EventFacts:
    """The correlation facts of a payload (never raises; see `EventFacts`)."""

    def obj(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    p = obj(payload)
    form = event_form(p)
    outer = obj(p.get("attributes")) if form == "wrapped" else p
    data = obj(outer.get("data"))
    ids = obj(data.get("customerIdentifiers"))
    instore = obj(ids.get("instore"))
    details = data.get("customerPartnerProgramDetails")
    org = outer.get("orgId", outer.get("orgId "))
    return EventFacts(
        name=event_name(p),
        form=form,
        event_id=p.get("eventId") if isinstance(p.get("eventId"), str) else None,
        customer_id=ids.get("customerId"),
        program_name=data.get("partnerProgramName"),
        program_type=data.get("partnerProgramType"),
        update_type=data.get("updateType"),
        org_id=org,
        api_request_id=outer.get("apiRequestId"),
        created_at=outer.get("createdAt"),
        identifiers={k: v for k, v in instore.items() if k in ("mobile", "email", "externalId")},
        details=details if isinstance(details, dict) else {},
        has_update_type="updateType" in data,
    )


# -- command line ----------------------------------------------------------------------------
def read_payloads(path: Path) -> Iterator[tuple[str, Any]]:
    """The payloads of a file as (label, value): one JSON document (an array counts as one payload per
    item), or JSON Lines (one payload per non-empty line). Labels read `file`, `file[3]` or `file:7`.
    Raises ValueError naming the file and line when neither parses."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if not lines:
            raise ValueError(f"{path}: empty file") from None
        for n, line in lines:
            try:
                yield f"{path}:{n}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: neither a JSON document nor JSON Lines ({exc.msg})") from None
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield f"{path}[{i}]", item
    else:
        yield str(path), doc


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ppconformance.contract.events validate FILE...`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m ppconformance.contract.events",
        description="Validate Partner Program webhook payloads (partnerProgramLinked, partnerProgramUpdated, "
        "partnerProgramDelinked, supplementaryMembershipExpiryReminder) against schemas/events/, in "
        "any documented form (enriched flat, enriched wrapped, raw). Exit codes: 0 every payload "
        "valid, 1 at least one invalid, 2 a file unreadable or not JSON / JSON Lines.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser(
        "validate",
        help="validate the payloads of JSON or JSON Lines files",
        description="One verdict line per payload (VALID/INVALID, event, form) and, for an "
        "invalid one, each failing JSON path. A JSON array is a list of payloads; "
        'a sink delivery record {"body": ...} is checked by its body.',
    )
    val.add_argument("files", nargs="+", metavar="FILE", type=Path)
    val.add_argument(
        "--strict-ambiguity",
        action="append",
        default=[],
        metavar="AMB-ID|all",
        help="judge this ambiguity strictly (AMB-EVENT-ORGID-KEY, AMB-EVENT-ENVELOPE, or all)",
    )
    args = parser.parse_args(argv)
    unknown = unknown_ids(args.strict_ambiguity)
    if unknown:
        parser.error(f"unknown ambiguity id(s) {', '.join(sorted(unknown))} (see catalogue/ambiguities.yaml)")
    strict = frozenset(args.strict_ambiguity)
    invalid = 0
    total = 0
    for path in args.files:
        try:
            payloads = list(read_payloads(path))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"ERROR {exc}", file=sys.stderr)
            return 2
        for label, payload in payloads:
            if isinstance(payload, dict) and "body" in payload and "arrival" in payload:
                payload = payload["body"]  # a delivery record written by the suite's sink
            verdict = check(payload, strict=strict)
            total += 1
            what = f"{verdict.name or '?'} ({verdict.form})"
            if verdict.valid:
                print(f"VALID   {label}: {what}")
            else:
                invalid += 1
                print(f"INVALID {label}: {what} [{EVENT_REQUIREMENTS.get(verdict.name or '', 'no known event')}]")
                for error in verdict.errors:
                    print(f"    {error}")
    print(f"{total - invalid} valid, {invalid} invalid payload(s)")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
