"""The conforming variants of the reference server (`--variant NAME`): data only.

A **variant** is a behaviour the ambiguity register (`catalogue/ambiguities.yaml`) lets an implementation choose:
the suite in its default stance must pass it (`python -m tools.sweep`). Each row names the variant, the register
entry that allows it, what it does, and the seam(s) it acts on (`ppreference.seams`), as the faults do. A fault of
the strict stance switches one on (`Fault.reading`). docs/fault-sweep.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .seams import Answer, BatchLimit, Hook, Insert, Seam, Skip, Wrap
from .statuses import NOT_LINKED, NOT_REGISTERED, UNLISTED, fail

__all__ = ["DEFAULT_READINGS", "VARIANTS", "VARIANT_READINGS", "Variant"]

MEMBERSHIP_ID_2005 = fail(2005, "Customer cannot be enrolled in the partner program without a membership id")
"""The other code of AMB-MEMBERSHIP-ID-CODE (variant membership-id-missing-2005)."""


@dataclass(frozen=True, init=False)
class Variant:
    """A conforming alternative: `ambiguity` is the register entry that allows it; `seams` where it acts."""

    name: str
    ambiguity: str
    description: str
    seams: tuple[Seam, ...] = ()

    def __init__(self, name: str, ambiguity: str, description: str, *seams: Seam) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "ambiguity", ambiguity)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "seams", seams)

    @property
    def reading(self) -> tuple[str, str] | None:
        """The reading this variant implements as the suite's readings report names it: (register entry, text the
        entry's row shows), from `VARIANT_READINGS`; None when the report does not read it (the reason is there)."""
        return VARIANT_READINGS.get(self.name)

    def to_json(self) -> dict[str, Any]:
        """The `--list-variants` line: name, ambiguity, description, reading ({"entry", "shows"} or null)."""
        reading = self.reading
        return {
            "name": self.name,
            "ambiguity": self.ambiguity,
            "description": self.description,
            "reading": {"entry": reading[0], "shows": reading[1]} if reading else None,
        }


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "item-failure-http-200",
            "AMB-ITEM-FAILURE-HTTP-STATUS",
            "A batch with a failed item answers HTTP 200 (item-level results) instead of 201.",
            Hook("shape.items"),
        ),
        Variant(
            "item-failure-http-400",
            "AMB-ITEM-FAILURE-HTTP-STATUS",
            "A batch with a failed item answers HTTP 400 (item-level results) instead of 201.",
            Hook("shape.items"),
        ),
        Variant(
            "batch-limit-per-item",
            "AMB-2008-LEVEL",
            "More than 50 customers are answered per item, 2008 on every customer's items (HTTP 201), "
            "instead of a request-level 400 envelope.",
            BatchLimit(None, None),
            Insert("batch.customer-resolved"),
        ),
        Variant(
            "extra-fields",
            "AMB-EXTRA-FIELDS",
            "Every JSON object the server answers carries an undocumented field.",
            Hook("shape.items"),
            Hook("shape.error"),
            Hook("shape.json"),
        ),
        Variant(
            "legacy-delink-shape",
            "AMB-DELINK-RESPONSE-SHAPE",
            "deLinkCustomer answers the older pages' shape "
            "deLinkCustomers[deLinkFromPartnerPrograms[partnerDeLinkStatus]].",
            Hook("shape.items"),
        ),
        Variant(
            "delink-echoes-upgrade",
            "AMB-DELINK-RESPONSE-SHAPE",
            "deLinkCustomer items carry updateType UPGRADE, as the delink page's sample does.",
            Hook("shape.items"),
        ),
        Variant(
            "results-reordered",
            "AMB-RESULT-ORDER",
            "Batch results come in reverse order (customers and, per customer, programs).",
            Hook("shape.items"),
        ),
        Variant(
            "updatetype-case-insensitive",
            "AMB-UPDATETYPE-CASE",
            "A lower-case updateType is applied like its upper-case value instead of rejected with 2009.",
            Wrap("update.update-type"),
        ),
        Variant(
            "delink-unknown-program-2004",
            "AMB-DELINK-ERROR-CODES",
            "Delinking an unknown program is answered 2004 (not linked) instead of 2006.",
            Answer("delink.program-known", NOT_LINKED),
        ),
        Variant(
            "malformed-422",
            "AMB-MALFORMED-CODE",
            "Malformed bodies (unparseable, wrong types, missing arrays) are answered HTTP 422 instead of 400.",
            Hook("shape.error"),
        ),
        Variant(
            "success-status-false",
            "AMB-LEGACY-STATUS-FALSE",
            "Successful items carry status false beside code 200, like the older sample.",
            Hook("shape.items"),
        ),
        Variant(
            "warnings-on-item-as-text",
            "AMB-WARNING-SHAPE",
            "Warning 1302 is a text entry in the item's own warnings array; the top-level array stays empty.",
            Wrap("batch.report-warnings"),
        ),
        Variant(
            "null-for-absent",
            "AMB-NULL-AS-ABSENT",
            "A Java-style serialiser: every optional field without a value is answered as null, in responses "
            "(customer identifiers, partnerProgramName, updateType) and in events (instore identifiers, "
            "membership details).",
            Hook("shape.items"),
            Hook("events"),
        ),
        Variant(
            "omit-empty-fields",
            "AMB-NULL-AS-ABSENT",
            "An omit-empty serialiser: optional members of an answer without a value (null or an empty string) "
            "are left out.",
            Hook("shape.items"),
        ),
        Variant(
            "http-stack-strict",
            "AMB-UNDEFINED-REQUESTS",
            "Another HTTP stack: 501 to a method a route does not define, 415 to a Partner Program body sent "
            "with a non-JSON content type, 400 to a body with an impossible calendar date, and an HTML page "
            "for an unknown path.",
            Hook("app.http"),
        ),
        Variant(
            "w1302-loyalty-expiry",
            "AMB-1302-TRIGGER",
            "Warning 1302 compares the tier expiry with the customer's loyalty membership expiry; a new customer "
            "has none, so no link carries 1302.",
            Skip("link.warning-1302"),
        ),
        Variant(
            "delink-mobile-integer-only",
            "AMB-DELINK-MOBILE-TYPE",
            "A delink customer's mobile must be a JSON number, as the delink page types it: a string mobile is "
            "answered HTTP 400 with code 8013 (link and update keep strings).",
            Hook("app.decode"),
        ),
        Variant(
            "webhook-late-retry",
            "AMB-WEBHOOK-RETRY-TIMING",
            "A refused delivery is first retried after 3 s (then 6 s, ...): later than the embedded profile's "
            "retry window, so the retry after 429 is not seen in time.",
            Hook("events.delivery"),
        ),
        Variant(
            "link-expiry-defaults",
            "AMB-LINK-DEFAULT-TIER-EXPIRY",
            "A link without partnerTierExpiryDate gets a default tier expiry: the membership end on a supplementary "
            "program, one year from the link on an external one.",
            Wrap("link.new-link"),
        ),
        Variant(
            "tier-expiry-utc-date",
            "AMB-TIER-EXPIRY-DAY",
            "loyaltyDetails gives partnerTierExpiryDate as a date only, the calendar day in UTC (a LocalDate "
            "serialised on a UTC server).",
            Hook("app.loyalty-details"),
        ),
        Variant(
            "undeclared-program-at-enrolment",
            "AMB-UNDECLARED-PROGRAMS",
            "The org links every loyalty customer to a welcome program of its own at enrolment: loyaltyDetails "
            "lists it beside the programs the suite linked.",
            Hook("app.loyalty-details"),
        ),
        Variant(
            "membership-end-is-tier-expiry",
            "AMB-MEMBERSHIP-END",
            "A relink must start after the current membership's tier expiry when the link set one (the other reading "
            "of 'the customer's current membership end date'), else after the membership period's end.",
            Wrap("link.relink-after-end"),
        ),
        Variant(
            "read-lag",
            "AMB-READ-CONSISTENCY",
            "loyaltyDetails shows a link, update or delink 0.3-0.8 s after the write's answer (a replicated read "
            "path); answers and events are immediate.",
            Hook("app.read-lag"),
        ),
        Variant(
            "message-2005-generic",
            "AMB-2005-TWO-MEANINGS",
            "Both meanings of 2005 (not enrolled; already linked) carry the same message, 'Request cannot be "
            "processed'.",
            Hook("shape.items"),
        ),
        Variant(
            "today-in-utc",
            "AMB-TODAY-TIMEZONE",
            "'Today' is the calendar date in UTC, the server's timezone: dates are compared by their UTC calendar day.",
            Wrap("calendar"),
        ),
        Variant(
            "tier-expiry-day-month-year",
            "AMB-TIER-EXPIRY-FORMAT",
            "loyaltyDetails gives partnerTierExpiryDate as DD/MM/YYYY, a format the documents do not name.",
            Hook("app.loyalty-details"),
        ),
        Variant(
            "delink-mobile-string-only",
            "AMB-DELINK-MOBILE-TYPE",
            "A delink customer's mobile must be a string, as the link and update pages type it: a JSON number is "
            "answered HTTP 400 with code 8013.",
            Hook("app.decode"),
        ),
        Variant(
            "unknown-customer-8089",
            "AMB-CUSTOMER-NOT-FOUND",
            "An unknown customer is answered with customer status false and code 8089 (not registered for the "
            "loyalty program, capillary-facts) on the customer and its items, not 8015.",
            Answer("batch.customer-found", NOT_REGISTERED),
        ),
        Variant(
            "membership-id-missing-2005",
            "AMB-MEMBERSHIP-ID-CODE",
            "A new enrollment without partnerMembershipId is rejected with 2005 (cannot be enrolled), not 2002.",
            Answer("link.membership-id-given", MEMBERSHIP_ID_2005),
        ),
        Variant(
            "empty-identifier-is-a-value",
            "AMB-EMPTY-IDENTIFIERS",
            "An identifier sent as an empty string is a value to look up: a customer object {mobile: '', email: "
            "'a@b'} is looked up by the empty mobile (and not found).",
            Hook("app.decode"),
        ),
        Variant(
            "events-orgid-with-space",
            "AMB-EVENT-ORGID-KEY",
            "Webhook events come in the wrapped envelope with the org key spelt 'orgId ' (with the trailing space of "
            "the delinked sample).",
            Hook("events"),
        ),
        Variant(
            "event-name-padded",
            "AMB-EVENT-NAME-WHITESPACE",
            "Events carry the program's name with a trailing space, as the samples' 'Drivers '.",
            Hook("events"),
        ),
        Variant(
            "events-delivered-twice",
            "AMB-EVENT-DUPLICATES",
            "Every event the receiver accepts is delivered once more (the same eventId): at-least-once delivery.",
            Hook("events.delivery"),
        ),
        Variant(
            "events-without-details",
            "AMB-EVENT-DETAILS",
            "Events carry no customerPartnerProgramDetails but membershipExpiryDate, as the enriched "
            "partnerProgramLinked sample.",
            Hook("events"),
        ),
        Variant(
            "link-tier-defaults-to-lowest",
            "AMB-LINK-DEFAULT-TIER",
            "A link without partnerTierName gets the program's lowest tier.",
            Hook("effects"),
        ),
        Variant(
            "relink-keeps-unnamed-values",
            "AMB-RELINK-ACTIVATION-STATE",
            "A relink that starts keeps the ended membership's tier and tier expiry where its item named none.",
            Hook("events"),
        ),
        Variant(
            "unlisted-item-code",
            "AMB-UNLISTED-ITEM-CODE",
            "The items of a customer that is not found are answered with code 2010, which no page lists (the "
            "customer status stays 8015).",
            Answer("batch.customer-resolved", UNLISTED),
        ),
        Variant(
            "event-expiry-date-time",
            "AMB-EVENT-DATE-FORMAT",
            "Events carry partnerTierExpiryDate and membershipExpiryDate as full ISO 8601 date-times where the "
            "samples show dates.",
            Hook("events"),
        ),
        Variant(
            "strict-readings",
            "all",
            "Every strict reading of the register (the reference server's own choices): the suite under "
            "--strict-ambiguity all must pass it; each strict-* fault is one other reading on top of it.",
        ),
        Variant(
            "event-wrapped-envelope",
            "AMB-EVENT-ENVELOPE",
            "Webhook events come in the enriched wrapped envelope {eventId, eventType, actionType, attributes} "
            "instead of the flat one.",
            Hook("events"),
        ),
    )
}

DEFAULT_READINGS: dict[str, tuple[str, ...]] = {
    "AMB-ITEM-FAILURE-HTTP-STATUS": ("HTTP 201",),
    "AMB-RESULT-ORDER": ("request order",),
    "AMB-NULL-AS-ABSENT": (
        "identifiers a customer not found was not sent by: left out",
        "partnerProgramName of an item sent without one: empty string",
        "updateType of delink results: left out",
    ),
    "AMB-EXTRA-FIELDS": ("documented members only",),
    "AMB-DELINK-RESPONSE-SHAPE": (
        "shape: current shape (customersPartnerUpdates)",
        "updateType of delink items: no updateType",
    ),
    "AMB-LEGACY-STATUS-FALSE": ("status true with code 200",),
    "AMB-2008-LEVEL": ("request-level error (HTTP 400)",),
    "AMB-UPDATETYPE-CASE": ("rejected with 2009",),
    "AMB-MALFORMED-CODE": ("HTTP 400 to a body that is not JSON",),
    "AMB-UNDEFINED-REQUESTS": ("HTTP 405 to a method the path does not define",),
    "AMB-WARNING-SHAPE": ("an object in the top-level warnings",),
    "AMB-DELINK-ERROR-CODES": ("code 2006",),
    "AMB-CUSTOMER-NOT-FOUND": ("customer status code 8015",),
    "AMB-UNLISTED-ITEM-CODE": ("items answered 8015",),
    "AMB-MEMBERSHIP-ID-CODE": ("code 2002",),
    "AMB-DELINK-MOBILE-TYPE": ("mobile as a JSON string: accepted", "mobile as a JSON number: accepted"),
    "AMB-TIER-EXPIRY-FORMAT": ("date-time (ISO 8601)",),
    "AMB-UNDECLARED-PROGRAMS": ("only declared programs",),
    "AMB-READ-CONSISTENCY": ("reads show writes at once",),
    "AMB-EVENT-ENVELOPE": ("flat",),
    "AMB-EVENT-NAME-WHITESPACE": ("names as declared",),
    "AMB-EVENT-DUPLICATES": ("each event delivered once",),
    "AMB-EVENT-DETAILS": ("membershipNumber or tier details carried",),
    "AMB-EVENT-DATE-FORMAT": ("date (YYYY-MM-DD)",),
}
"""The readings the reference server implements without a variant, as the suite's readings report names them
(register entry -> every "aspect: reading" its row may show, one per aspect) in a full run of the suite (fuzz stage
included) against it. Entries the default run has no case for (AMB-EVENT-ORGID-KEY: flat events carry no wrapped
org key; AMB-EMPTY-IDENTIFIERS: the default stance sends no empty identifier) are absent."""

VARIANT_READINGS: dict[str, tuple[str, str] | None] = {
    "item-failure-http-200": ("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 200"),
    "item-failure-http-400": ("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 400"),
    "batch-limit-per-item": ("AMB-2008-LEVEL", "answered per item (HTTP 201)"),
    "extra-fields": ("AMB-EXTRA-FIELDS", "undocumented members in answers"),
    "legacy-delink-shape": ("AMB-DELINK-RESPONSE-SHAPE", "shape: older shape (deLinkCustomers)"),
    "delink-echoes-upgrade": ("AMB-DELINK-RESPONSE-SHAPE", "updateType of delink items: updateType UPGRADE"),
    "results-reordered": ("AMB-RESULT-ORDER", "another order"),
    "updatetype-case-insensitive": ("AMB-UPDATETYPE-CASE", "applied like its upper-case value"),
    "delink-unknown-program-2004": ("AMB-DELINK-ERROR-CODES", "code 2004"),
    "malformed-422": ("AMB-MALFORMED-CODE", "HTTP 422 to a body that is not JSON"),
    "success-status-false": ("AMB-LEGACY-STATUS-FALSE", "status false with code 200"),
    "warnings-on-item-as-text": ("AMB-WARNING-SHAPE", "text in the item's warnings"),
    "null-for-absent": ("AMB-NULL-AS-ABSENT", "identifiers a customer not found was not sent by: null"),
    "omit-empty-fields": ("AMB-NULL-AS-ABSENT", "partnerProgramName of an item sent without one: left out"),
    "http-stack-strict": ("AMB-UNDEFINED-REQUESTS", "HTTP 501 to a method the path does not define"),
    "w1302-loyalty-expiry": None,
    "delink-mobile-integer-only": None,
    "webhook-late-retry": None,
    "link-expiry-defaults": None,
    "tier-expiry-utc-date": ("AMB-TIER-EXPIRY-FORMAT", "date (YYYY-MM-DD)"),
    "undeclared-program-at-enrolment": ("AMB-UNDECLARED-PROGRAMS", "programs the profile does not declare are listed"),
    "membership-end-is-tier-expiry": None,
    "read-lag": ("AMB-READ-CONSISTENCY", "reads show writes after a lag"),
    "message-2005-generic": None,
    "today-in-utc": None,
    "tier-expiry-day-month-year": ("AMB-TIER-EXPIRY-FORMAT", "DD/MM/YYYY"),
    "delink-mobile-string-only": None,
    "unknown-customer-8089": ("AMB-CUSTOMER-NOT-FOUND", "customer status code 8089"),
    "membership-id-missing-2005": ("AMB-MEMBERSHIP-ID-CODE", "code 2005"),
    "empty-identifier-is-a-value": None,
    "events-orgid-with-space": ("AMB-EVENT-ORGID-KEY", "'orgId ' (with the sample's trailing space)"),
    "event-name-padded": ("AMB-EVENT-NAME-WHITESPACE", "names padded with whitespace"),
    "events-delivered-twice": ("AMB-EVENT-DUPLICATES", "some events delivered more than once"),
    "events-without-details": ("AMB-EVENT-DETAILS", "no membershipNumber or tier details"),
    "link-tier-defaults-to-lowest": None,
    "relink-keeps-unnamed-values": None,
    "unlisted-item-code": ("AMB-UNLISTED-ITEM-CODE", "items answered 2010"),
    "event-expiry-date-time": ("AMB-EVENT-DATE-FORMAT", "date-time (ISO 8601)"),
    "strict-readings": None,
    "event-wrapped-envelope": ("AMB-EVENT-ENVELOPE", "wrapped"),
}
"""Per variant, the reading it implements as the suite's readings report names it: (register entry, text of the
entry's row), or None where the report does not read the entry (its `NOT_READ` reason in
`ppconformance.judge.readings`), and for:

- empty-identifier-is-a-value: the default stance sends no empty identifier; its reading shows under
  --strict-ambiguity AMB-EMPTY-IDENTIFIERS;
- delink-mobile-string-only and delink-mobile-integer-only: a run shows only the type the suite sent and the target
  accepted (a string by default, a number once a string was refused), each a reading the reference shows too;
- strict-readings: many entries at once.

`python -m tools.sweep` holds each variant run to its reading."""
