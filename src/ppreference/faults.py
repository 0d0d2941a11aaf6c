"""The fault catalogue of the reference server (`--fault NAME`): data only.

A **fault** is one realistic deviation from one catalogue requirement (`catalogue/requirements.yaml`) under the
suite's default stance: a conformance suite worth its name must fail a server running it, in a scenario tagged
with that requirement (`python -m tools.sweep` checks this). Each row names the fault, the requirement it breaks,
its kind (`KINDS`), what it does, and the seam(s) it acts on (`ppreference.seams`): inside the rules a check it
skips or answers with another code, a boundary it shifts, a step it skips or wraps; outside them the hook that
asks for it (response shaping, effects around the rules, events, auth, the app). A fault of kind `strict`
(`STRICT_FAULTS`) has no seam of its own: it switches on its `reading`, a variant (`ppreference.variants`).

At most one fault and one variant are active at a time (`ppreference.behaviour.Behaviour`); none means the
conforming server of `docs/reference-behaviour.md`. docs/fault-sweep.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .seams import Answer, BatchLimit, Hook, Ignore, Insert, Seam, Shift, Skip, Wrap
from .statuses import (
    ALREADY_LINKED,
    NO_IDENTIFIER,
    NOT_FOUND,
    NOT_LINKED,
    PAST_START,
    PROGRAM_NOT_FOUND,
    RELINKING_DISABLED,
    SUCCESS,
)

__all__ = ["FAULTS", "KINDS", "STRICT_FAULTS", "Fault"]

#: The kinds of fault: what part of an implementation goes wrong.
KINDS = {
    "wrong-code": "a documented error is answered with another code",
    "missing-error": "a rule is not enforced: an item that must fail succeeds",
    "boundary": "an off-by-one limit: 50 customers rejected or 51 accepted; today rejected or yesterday accepted",
    "state": "the answer says success but the state is wrong (or the state blocks a valid request)",
    "shape": "a response body deviates from the documented shape",
    "identification": "a customer identifier is not honoured, or an unknown/unidentified customer succeeds",
    "auth": "credentials are not checked, or a refusal is not HTTP 401",
    "transport": "HTTP level: a 5xx to a valid request, a wrong status, a wrong Content-Type",
    "event": "a webhook event is not sent, or carries wrong or missing values (ppreference.events)",
    "stored": "a write answers exactly as documented but stores the wrong state: only the state oracle sees it",
    "strict": "the other reading of a register entry with a strict stance: judged only under that stance",
    "tenant": "a customer or an event of one org is reached through another org's credentials or webhook",
}


@dataclass(frozen=True)
class Fault:
    """A named deviation: `requirement` is the catalogue id it breaks, `kind` one of `KINDS`."""

    name: str
    requirement: str
    kind: str
    description: str
    stage: str | None = None
    """The suite stage that kills it, when not the scenarios: "fuzz" (steps/test_fuzz.py, marker fuzz)."""
    strict: str | None = None
    """The ambiguity whose strict stance judges it, when its requirement is not judged by default (the sweep
    runs it with `--strict-ambiguity` of that id)."""
    select: str | None = None
    """The marker expression of the scenarios that show it, when they are not tagged with its requirement (a fault
    of the stored state: the state oracle names the requirement in any scenario whose writes it follows). The
    sweep runs only the scenarios tagged with the requirement, or these."""
    reading: str | None = None
    """For a fault of the strict stance (`strict` set): the variant whose behaviour it switches on, the reading the
    register lets an implementation take by default and that entry's strict stance refuses."""
    seams: tuple[Seam, ...] = ()
    """Where it acts (`ppreference.seams`); none for a fault of the strict stance (its `reading` acts)."""

    def to_json(self) -> dict[str, str]:
        """The `--list-faults` line: name, requirement, kind, description and the optional members set."""
        out = {"name": self.name, "requirement": self.requirement, "kind": self.kind, "description": self.description}
        if self.stage:
            out["stage"] = self.stage
        if self.strict:
            out["strict"] = self.strict
        if self.select:
            out["select"] = self.select
        if self.reading:
            out["reading"] = self.reading
        return out


def _faults(*rows: tuple[str | Seam, ...]) -> dict[str, Fault]:
    """Rows `(name, requirement, kind, description[, stage, strict, select], *seams)` by name."""
    out = {}
    for row in rows:
        name, requirement, kind, description, *more = [value for value in row if isinstance(value, str)]
        stage, strict, select = (*more, None, None, None)[:3]
        seams = tuple(value for value in row if not isinstance(value, str))
        out[name] = Fault(name, requirement, kind, description, stage, strict, select, seams=seams)
    return out


def _strict(name: str, requirement: str, strict: str, reading: str, stage: str = "", select: str = "") -> Fault:
    """A fault of the strict stance: variant `reading` (the other reading of `strict`, the register entry or
    entries, comma-separated) on the target that takes every other strict reading, judged under `strict`."""
    entry = strict.split(",")[0]
    description = f"The other reading of {entry} (variant {reading}), judged under its strict stance."
    return Fault(name, requirement, "strict", description, stage, strict, select, reading)


STRICT_FAULTS: tuple[Fault, ...] = (
    _strict("strict-2005-two-meanings", "LINK-2005-ALREADY-LINKED", "AMB-2005-TWO-MEANINGS", "message-2005-generic"),
    _strict("strict-delink-response-shape", "DELINK-SUCCESS", "AMB-DELINK-RESPONSE-SHAPE", "legacy-delink-shape"),
    _strict("strict-legacy-status-false", "LINK-SUCCESS", "AMB-LEGACY-STATUS-FALSE", "success-status-false"),
    _strict("strict-item-failure-http-status", "LINK-2007", "AMB-ITEM-FAILURE-HTTP-STATUS", "item-failure-http-200"),
    _strict("strict-2008-level", "LINK-2008", "AMB-2008-LEVEL", "batch-limit-per-item"),
    _strict("strict-today-timezone", "LINK-EXPIRY-TODAY", "AMB-TODAY-TIMEZONE", "today-in-utc"),
    _strict("strict-updatetype-case", "UPDATE-UPDATETYPE-CASE", "AMB-UPDATETYPE-CASE", "updatetype-case-insensitive"),
    _strict("strict-extra-fields", "LINK-SUCCESS", "AMB-EXTRA-FIELDS", "extra-fields"),
    _strict("strict-null-as-absent", "EVENT-LINKED", "AMB-NULL-AS-ABSENT", "null-for-absent"),
    _strict("strict-undefined-requests", "FUZZ-NO-SERVER-ERROR", "AMB-UNDEFINED-REQUESTS", "http-stack-strict", "fuzz"),
    _strict("strict-tier-expiry-format", "UPDATE-TIER-EXPIRY", "AMB-TIER-EXPIRY-FORMAT", "tier-expiry-day-month-year"),
    _strict("strict-result-order", "RESULT-ORDER", "AMB-RESULT-ORDER", "results-reordered"),
    _strict("strict-delink-error-codes", "DELINK-2006", "AMB-DELINK-ERROR-CODES", "delink-unknown-program-2004"),
    _strict("strict-delink-mobile-type", "DELINK-SUCCESS", "AMB-DELINK-MOBILE-TYPE", "delink-mobile-string-only"),
    _strict("strict-warning-shape", "LINK-W1302", "AMB-WARNING-SHAPE,AMB-1302-TRIGGER", "warnings-on-item-as-text"),
    _strict("strict-customer-not-found", "IDENT-NOT-FOUND", "AMB-CUSTOMER-NOT-FOUND", "unknown-customer-8089"),
    _strict(
        "strict-membership-id-code", "LINK-2002-MEMBERSHIP-ID", "AMB-MEMBERSHIP-ID-CODE", "membership-id-missing-2005"
    ),
    _strict("strict-empty-identifiers", "IDENT-ANY-ONE", "AMB-EMPTY-IDENTIFIERS", "empty-identifier-is-a-value"),
    _strict("strict-malformed-code", "REQ-MALFORMED", "AMB-MALFORMED-CODE", "malformed-422"),
    _strict("strict-event-envelope", "EVENT-LINKED", "AMB-EVENT-ENVELOPE", "event-wrapped-envelope"),
    _strict("strict-event-orgid-key", "EVENT-LINKED", "AMB-EVENT-ORGID-KEY", "events-orgid-with-space"),
    _strict("strict-event-name-whitespace", "EVENT-LINKED", "AMB-EVENT-NAME-WHITESPACE", "event-name-padded"),
    _strict("strict-event-duplicates", "EVENT-LINKED", "AMB-EVENT-DUPLICATES", "events-delivered-twice"),
    _strict("strict-event-details", "EVENT-UPDATED", "AMB-EVENT-DETAILS", "events-without-details"),
    _strict(
        "strict-link-default-tier",
        "STATE-LINK-STORED",
        "AMB-LINK-DEFAULT-TIER",
        "link-tier-defaults-to-lowest",
        select="LINK-OPTIONAL-REFERENCE",
    ),
    _strict(
        "strict-link-default-tier-expiry",
        "STATE-LINK-STORED",
        "AMB-LINK-DEFAULT-TIER-EXPIRY",
        "link-expiry-defaults",
        select="LINK-OPTIONAL-REFERENCE",
    ),
    _strict(
        "strict-relink-activation-state",
        "RELINK-QUEUE",
        "AMB-RELINK-ACTIVATION-STATE",
        "relink-keeps-unnamed-values",
        select="EVENT-RELINK-ACTIVATION",
    ),
    _strict("strict-tier-expiry-day", "UPDATE-TIER-EXPIRY", "AMB-TIER-EXPIRY-DAY", "tier-expiry-utc-date"),
    _strict(
        "strict-undeclared-programs",
        "STATE-OTHERS-UNCHANGED",
        "AMB-UNDECLARED-PROGRAMS",
        "undeclared-program-at-enrolment",
        select="LINK-SUCCESS",
    ),
    _strict("strict-membership-end", "RELINK-QUEUE", "AMB-MEMBERSHIP-END", "membership-end-is-tier-expiry"),
    _strict("strict-unlisted-item-code", "FUZZ-ITEM-CODES", "AMB-UNLISTED-ITEM-CODE", "unlisted-item-code", "fuzz"),
    _strict("strict-event-date-format", "EVENT-UPDATED", "AMB-EVENT-DATE-FORMAT", "event-expiry-date-time"),
    _strict("strict-read-consistency", "LINK-SUCCESS", "AMB-READ-CONSISTENCY", "read-lag"),
)
"""One fault per register entry with a strict reading (issue 25): the reading the default stance lets an
implementation take, switched on as a fault (`Fault.reading`) and judged under that entry's strict stance, so the
sweep proves each strict stance bites (`tools.sweep` runs them on the strict-readings target)."""

FAULTS: dict[str, Fault] = _faults(
    # -- wrong error code ------------------------------------------------------------------------
    (
        "link-2002-as-2006",
        "LINK-2002",
        "wrong-code",
        "An empty partnerProgramName is looked up like any name and answered 2006 (not found) instead of 2002.",
        Answer("link.name-given", PROGRAM_NOT_FOUND),
    ),
    (
        "link-2003-as-2025",
        "LINK-2003",
        "wrong-code",
        "A partnerTierExpiryDate before today is answered with the start-date code 2025 instead of 2003.",
        Answer("link.tier-expiry-not-past", PAST_START),
    ),
    (
        "link-2006-as-2004",
        "LINK-2006",
        "wrong-code",
        "An unknown partnerProgramName is answered 2004 (not linked) instead of 2006.",
        Answer("link.program-known", NOT_LINKED),
    ),
    (
        "link-2019-as-2005",
        "LINK-2019",
        "wrong-code",
        "A second supplementary program is answered 2005 (already linked) instead of 2019.",
        Answer("link.one-supplementary", ALREADY_LINKED),
    ),
    (
        "link-2008-as-2002",
        "LINK-2008",
        "wrong-code",
        "51 customers in one linkCustomer request are refused with code 2002 instead of 2008.",
        Hook("shape.error"),
    ),
    (
        "update-2004-as-2006",
        "UPDATE-2004",
        "wrong-code",
        "Updating a program the customer is not linked to is answered 2006 instead of 2004.",
        Answer("update.linked", PROGRAM_NOT_FOUND),
    ),
    (
        "update-2006-as-2004",
        "UPDATE-2006",
        "wrong-code",
        "Updating an unknown program is answered 2004 instead of 2006.",
        Answer("update.program-known", NOT_LINKED),
    ),
    (
        "update-2007-as-2006",
        "UPDATE-2007",
        "wrong-code",
        "An unknown updatedTierName is answered 2006 instead of 2007.",
        Answer("update.tier-known", PROGRAM_NOT_FOUND),
    ),
    (
        "update-2026-as-2027",
        "UPDATE-2026",
        "wrong-code",
        "MEMBERSHIP_RELINKING_CANCELLED skips the relinking setting: with relinking disabled it answers 2027 "
        "(nothing pending) instead of 2026.",
        Skip("update.cancel-relinking-enabled"),
    ),
    (
        "update-2027-as-2004",
        "UPDATE-2027",
        "wrong-code",
        "Cancelling when no relink is pending is answered 2004 instead of 2027.",
        Answer("update.cancel-pending", NOT_LINKED),
    ),
    (
        "update-2028-as-2026",
        "UPDATE-2028",
        "wrong-code",
        "MEMBERSHIP_RENEWAL_INITIATION with relinking enabled is answered 2026 instead of 2028.",
        Answer("update.renewal-without-relinking", RELINKING_DISABLED),
    ),
    (
        "update-lowercase-type-as-2002",
        "UPDATE-UPDATETYPE-CASE",
        "wrong-code",
        "A lower-case updateType is answered 2002 (required field empty): neither applied nor rejected with 2009.",
        Wrap("update.update-type-known"),
    ),
    # -- missing error: the rule is not enforced -------------------------------------------------
    (
        "link-membership-id-optional",
        "LINK-2002-MEMBERSHIP-ID",
        "missing-error",
        "A new enrollment without partnerMembershipId is linked.",
        Skip("link.membership-id-given"),
    ),
    (
        "link-enrolment-not-checked",
        "LINK-2005-NOT-ENROLLED",
        "missing-error",
        "A customer not enrolled in the loyalty program is linked.",
        Skip("link.enrolled"),
    ),
    (
        "link-tier-not-checked",
        "LINK-2007",
        "missing-error",
        "An unknown partnerTierName is stored as given instead of being rejected with 2007.",
        Skip("link.tier-known"),
    ),
    (
        "link-relinking-setting-ignored",
        "LINK-2026",
        "missing-error",
        "A future-dated relink is queued although ALLOW_MEMBERSHIP_RELINKING is disabled.",
        Skip("link.relinking-enabled"),
    ),
    (
        "relink-before-end-accepted",
        "RELINK-BEFORE-END",
        "missing-error",
        "A relink starting before the current membership ends is queued instead of rejected with 2005.",
        Skip("link.relink-after-end"),
    ),
    (
        "update-details-not-required",
        "UPDATE-2002",
        "missing-error",
        "An update without updateDetails succeeds (as a no-op) instead of being rejected with 2002.",
        Answer("update.details-given", SUCCESS),
    ),
    (
        "update-type-not-validated",
        "UPDATE-2009",
        "missing-error",
        "An updateType outside the five documented values is applied like UPGRADE.",
        Skip("update.update-type-known"),
    ),
    (
        "delink-not-linked-succeeds",
        "DELINK-2004",
        "missing-error",
        "Delinking a program the customer is not linked to answers 200 Success.",
        Answer("delink.linked", SUCCESS),
    ),
    (
        "delink-unknown-program-succeeds",
        "DELINK-2006",
        "missing-error",
        "Delinking an unknown program answers 200 Success.",
        Answer("delink.program-known", SUCCESS),
    ),
    # -- boundaries, both sides --------------------------------------------------------------------
    (
        "link-batch-50-rejected",
        "LINK-BATCH-50",
        "boundary",
        "The linkCustomer batch limit is checked with >= 50: 50 customers are refused with 2008.",
        BatchLimit("link", 49),
    ),
    (
        "link-batch-51-accepted",
        "LINK-2008",
        "boundary",
        "The linkCustomer batch limit is checked with > 51: 51 customers are linked.",
        BatchLimit("link", 51),
    ),
    (
        "update-batch-50-rejected",
        "UPDATE-BATCH-50",
        "boundary",
        "The customerPartnerProgramUpdate batch limit is checked with >= 50: 50 customers are refused with 2008.",
        BatchLimit("update", 49),
    ),
    (
        "update-batch-51-accepted",
        "UPDATE-2008",
        "boundary",
        "The customerPartnerProgramUpdate batch limit is checked with > 51: 51 customers are updated.",
        BatchLimit("update", 51),
    ),
    (
        "delink-batch-50-rejected",
        "DELINK-BATCH-50",
        "boundary",
        "The deLinkCustomer batch limit is checked with >= 50: 50 customers are refused with 2008.",
        BatchLimit("delink", 49),
    ),
    (
        "delink-batch-51-accepted",
        "DELINK-2008",
        "boundary",
        "The deLinkCustomer batch limit is checked with > 51: 51 customers are answered per item (judged under "
        "strict AMB-DELINK-BATCH: no delink limit is documented).",
        "",
        "AMB-DELINK-BATCH",
        BatchLimit("delink", 51),
    ),
    (
        "link-expiry-today-rejected",
        "LINK-EXPIRY-TODAY",
        "boundary",
        "partnerTierExpiryDate is compared with <= today: an expiry of today is rejected with 2003.",
        Shift("link.tier-expiry-not-past", +1),
    ),
    (
        "link-expiry-yesterday-accepted",
        "LINK-2003",
        "boundary",
        "partnerTierExpiryDate is compared with yesterday: an expiry of yesterday is accepted.",
        Shift("link.tier-expiry-not-past", -1),
    ),
    (
        "link-start-today-rejected",
        "LINK-START-TODAY",
        "boundary",
        "membershipStartDate is compared with <= today: a start of today is rejected with 2025.",
        Shift("link.start-not-past", +1),
    ),
    (
        "link-start-yesterday-accepted",
        "LINK-2025",
        "boundary",
        "membershipStartDate is compared with yesterday: a start of yesterday passes the 2025 check.",
        Shift("link.start-not-past", -1),
    ),
    (
        "update-expiry-today-rejected",
        "UPDATE-EXPIRY-TODAY",
        "boundary",
        "updatedTierExpiryDate is compared with <= today: an expiry of today is rejected with 2003.",
        Shift("update.tier-expiry-not-past", +1),
    ),
    (
        "update-expiry-yesterday-accepted",
        "UPDATE-2003",
        "boundary",
        "updatedTierExpiryDate is compared with yesterday: an expiry of yesterday is accepted.",
        Shift("update.tier-expiry-not-past", -1),
    ),
    # -- state rules -------------------------------------------------------------------------------
    (
        "link-not-persisted",
        "LINK-SUCCESS",
        "state",
        "linkCustomer answers 200 Success but stores nothing: loyaltyDetails does not list the program.",
        Skip("link.store-link"),
    ),
    (
        "link-duplicate-accepted",
        "LINK-2005-ALREADY-LINKED",
        "state",
        "Linking a program the customer is already linked to replaces the link and answers 200.",
        Skip("link.not-linked-yet"),
    ),
    (
        "relink-not-queued",
        "RELINK-QUEUE",
        "state",
        "A valid future-dated relink answers 200 but is not queued (nothing pending to cancel).",
        Skip("link.queue-relink"),
    ),
    (
        "cancel-keeps-pending-relink",
        "RELINK-CANCEL",
        "state",
        "MEMBERSHIP_RELINKING_CANCELLED answers 200 but the pending relink stays queued.",
        Skip("update.cancel-relink"),
    ),
    (
        "upgrade-tier-not-changed",
        "UPDATE-UPGRADE-TIER",
        "state",
        "UPGRADE answers 200 but leaves the customer's tier unchanged.",
        Wrap("update.updated-link"),
    ),
    (
        "downgrade-tier-not-changed",
        "UPDATE-DOWNGRADE-TIER",
        "state",
        "DOWNGRADE answers 200 but leaves the customer's tier unchanged.",
        Wrap("update.updated-link"),
    ),
    (
        "renew-resets-tier",
        "UPDATE-RENEW-TIER",
        "state",
        "RENEW restarts the membership at the program's first tier instead of updatedTierName.",
        Wrap("update.updated-link"),
    ),
    (
        "update-ignores-tier-expiry",
        "UPDATE-TIER-EXPIRY",
        "state",
        "An update's updatedTierExpiryDate is accepted (200) but not stored: the tier keeps its old expiry.",
        Wrap("update.updated-link"),
    ),
    (
        "update-clears-tier-expiry",
        "UPDATE-TIER-EXPIRY-KEPT",
        "state",
        "An update without updatedTierExpiryDate clears the tier's expiry date instead of leaving it unchanged.",
        Wrap("update.updated-link"),
    ),
    (
        "renewal-initiation-drops-link",
        "UPDATE-RENEWAL-INITIATION",
        "state",
        "MEMBERSHIP_RENEWAL_INITIATION answers 200 but ends the customer's link to the program.",
        Wrap("update.store"),
    ),
    (
        "delink-keeps-link",
        "DELINK-REMOVES-LINK",
        "state",
        "deLinkCustomer answers 200 but the program stays in the customer's linkedPartnerPrograms.",
        Skip("delink.remove-link"),
    ),
    (
        "delink-blocks-relink",
        "DELINK-RELINK-AFTER",
        "state",
        "A delinked link is kept as a tombstone: linking the program again answers 2005 (already linked).",
        Insert("link.not-linked-yet"),
    ),
    # -- stored state only the oracle sees (every answer as documented) ------------------------------
    (
        "link-batch-first-customer-only",
        "STATE-LINK-STORED",
        "stored",
        "In a linkCustomer request of several customers only the first customer's links are stored; every item "
        "answers 200 Success.",
        "",
        "",
        "RESULT-ORDER",
        Wrap("link.store-link"),
    ),
    (
        "update-batch-skips-last",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "In a customerPartnerProgramUpdate request of several customers the last customer's update is answered "
        "200 but not applied (an off-by-one loop bound).",
        "",
        "",
        "UPDATE-BATCH-50",
        Wrap("update.store"),
    ),
    (
        "update-clears-membership-id",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "A successful tier update rebuilds the link from the update's fields: its partnerMembershipId is lost.",
        "",
        "",
        "UPDATE-UPGRADE-TIER",
        Wrap("update.updated-link"),
    ),
    (
        "relink-overwrites-membership-id",
        "STATE-RELINK-KEEPS-CURRENT",
        "stored",
        "A queued relink also writes its partnerMembershipId (none: empty) onto the current membership.",
        "",
        "",
        "RELINK-QUEUE",
        Wrap("link.queue-relink"),
    ),
    (
        "rejected-link-stored",
        "STATE-UNCHANGED-ON-FAILURE",
        "stored",
        "A link rejected with 2003 (tier expiry in the past) is stored anyway: it is saved before the date check.",
        "",
        "",
        "LINK-2003",
        Wrap("link.tier-expiry-not-past"),
    ),
    (
        "rejected-update-applied",
        "STATE-UNCHANGED-ON-FAILURE",
        "stored",
        "An update rejected with 2003 (tier expiry in the past) has already applied its updatedTierName.",
        "",
        "",
        "UPDATE-2003",
        Wrap("update.tier-expiry-not-past"),
    ),
    (
        "delink-removes-every-program",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "Delinking one program removes every program the customer is linked to; the item answers 200.",
        Wrap("delink.remove-link"),
    ),
    (
        "cancel-activates-relink",
        "STATE-CANCEL-KEEPS-CURRENT",
        "stored",
        "MEMBERSHIP_RELINKING_CANCELLED answers 200 but applies the pending relink instead of dropping it: the "
        "current membership takes the relink's values, its empty partnerMembershipId included.",
        "",
        "",
        "RELINK-CANCEL",
        Wrap("update.cancel-relink"),
    ),
    (
        "renew-ignores-tier-expiry",
        "UPDATE-TIER-EXPIRY",
        "stored",
        "RENEW stores updatedTierName but not updatedTierExpiryDate: the tier keeps its old expiry.",
        "",
        "",
        "UPDATE-RENEW-TIER",
        Wrap("update.updated-link"),
    ),
    # -- wrong effects around the rules (ppreference.effects): each seen by the scenario the observability audit
    # -- names for its (endpoint, class) pair (docs/state-oracle.md) --------------------------------------------
    (
        "link-stores-lowest-tier",
        "STATE-LINK-STORED",
        "stored",
        "A new link stores the program's lowest tier whatever partnerTierName says (class default-tier).",
        "",
        "",
        "LINK-SUCCESS",
        Hook("effects"),
    ),
    (
        "link-drops-tier-expiry",
        "STATE-LINK-STORED",
        "stored",
        "A new link stores no tier expiry, whatever partnerTierExpiryDate says (class default-expiry).",
        "",
        "",
        "LINK-EXPIRY-TODAY",
        Hook("effects"),
    ),
    (
        "link-expiry-a-day-late",
        "STATE-LINK-STORED",
        "stored",
        "A new link stores its partnerTierExpiryDate one day later (class date-off-by-one).",
        "",
        "",
        "LINK-EXPIRY-TODAY",
        Hook("effects"),
    ),
    (
        "link-batch-rotated",
        "STATE-LINK-STORED",
        "stored",
        "In a linkCustomer request of several customers each customer's items are applied to the next customer "
        "(the last's to the first); every answer names its own customer (class neighbour).",
        "",
        "",
        "RESULT-ORDER",
        Hook("effects"),
    ),
    (
        "link-rolls-back-on-item-failure",
        "STATE-LINK-STORED",
        "stored",
        "A linkCustomer request with a failed item is rolled back as a whole, yet its other items are answered 200 "
        "(class rolled-back).",
        "",
        "",
        "STATE-ITEMS-INDEPENDENT",
        Hook("effects"),
    ),
    (
        "relink-applied-at-once",
        "STATE-RELINK-KEEPS-CURRENT",
        "stored",
        "A future-dated relink is queued and also applied to the current membership at once: its tier and tier "
        "expiry replace the current ones (class future-now).",
        "",
        "",
        "RELINK-QUEUE",
        Hook("effects"),
    ),
    (
        "update-stores-lowest-tier",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "A tier update stores the program's lowest tier whatever updatedTierName says (class default-tier).",
        Hook("effects"),
    ),
    (
        "update-expiry-a-day-late",
        "UPDATE-TIER-EXPIRY",
        "stored",
        "A tier update stores its updatedTierExpiryDate one day later (class date-off-by-one).",
        Hook("effects"),
    ),
    (
        "update-batch-rotated",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "In a customerPartnerProgramUpdate request of several customers each customer's update is applied to the "
        "next customer; every answer names its own customer (class neighbour).",
        "",
        "",
        "UPDATE-BATCH-50",
        Hook("effects"),
    ),
    (
        "update-applies-to-other-program",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "A tier update changes the customer's other program (its first other link) instead of the one it names "
        "(class other-program).",
        Hook("effects"),
    ),
    (
        "update-applies-to-every-program",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "A tier update also gives every other program of the customer its tier and tier expiry (class all-programs).",
        "",
        "",
        "UPDATE-BATCH-50",
        Hook("effects"),
    ),
    (
        "update-rolls-back-on-item-failure",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "A customerPartnerProgramUpdate request with a failed item is rolled back as a whole, yet its other items "
        "are answered 200 (class rolled-back).",
        "",
        "",
        "STATE-ITEMS-INDEPENDENT",
        Hook("effects"),
    ),
    (
        "delink-batch-rotated",
        "DELINK-REMOVES-LINK",
        "stored",
        "In a deLinkCustomer request of several customers each customer's delink is applied to the next customer; "
        "every answer names its own customer (class neighbour).",
        "",
        "",
        "DELINK-BATCH-50",
        Hook("effects"),
    ),
    (
        "delink-rolls-back-on-item-failure",
        "DELINK-REMOVES-LINK",
        "stored",
        "A deLinkCustomer request with a failed item is rolled back as a whole, yet its other items are answered "
        "200 (class rolled-back).",
        "",
        "",
        "STATE-ITEMS-INDEPENDENT",
        Hook("effects"),
    ),
    (
        "delink-keeps-supplementary-slot",
        "LINK-2019-LIFTED",
        "state",
        "A customer whose supplementary program was delinked keeps its supplementary slot: linking another "
        "supplementary program answers 2019 (class constraint-kept).",
        Hook("effects"),
    ),
    (
        "cancel-keeps-relink-slot",
        "RELINK-AFTER-CANCEL",
        "state",
        "A cancelled relink keeps its slot: queuing a relink of the program again answers 2005 (class "
        "constraint-kept).",
        Hook("effects"),
    ),
    (
        "event-tier-before-update",
        "EVENT-UPDATED",
        "event",
        "partnerProgramUpdated carries the program's details from before the update: the old partnerTierNumber "
        "(class event-before).",
        Hook("events"),
    ),
    (
        "event-wrong-program-type",
        "EVENT-LINKED",
        "event",
        "Events carry the partnerProgramType of the other kind of program (class event-other-program).",
        Hook("events"),
    ),
    # -- tenant isolation: another org's credentials or webhooks reach this org's customers ------------------
    (
        "tenant-link-any-org",
        "TENANT-LINK",
        "tenant",
        "linkCustomer looks a customer the caller's org does not have up in every org and links it there.",
        Hook("effects"),
    ),
    (
        "tenant-update-any-org",
        "TENANT-UPDATE",
        "tenant",
        "customerPartnerProgramUpdate looks a customer the caller's org does not have up in every org and updates "
        "it there.",
        Hook("effects"),
    ),
    (
        "tenant-delink-any-org",
        "TENANT-DELINK",
        "tenant",
        "deLinkCustomer looks a customer the caller's org does not have up in every org and delinks it there.",
        Hook("effects"),
    ),
    (
        "tenant-read-any-org",
        "TENANT-READ",
        "tenant",
        "The customer lookup and loyaltyDetails find a customer of another org when the caller's org has none.",
        Hook("effects"),
    ),
    (
        "tenant-events-any-org",
        "TENANT-EVENTS",
        "tenant",
        "Every event is delivered to the webhooks of every org, not only to those of the org whose write caused it.",
        Hook("events.delivery"),
    ),
    # -- response shape ----------------------------------------------------------------------------
    (
        "link-status-object-misnamed",
        "LINK-SUCCESS",
        "shape",
        "linkCustomer items carry their status as updateStatus instead of partnerLinkStatus.",
        Hook("shape.items"),
    ),
    (
        "link-warnings-missing",
        "LINK-SUCCESS",
        "shape",
        "linkCustomer answers leave out the top-level warnings array.",
        Hook("shape.items"),
    ),
    (
        "link-warning-1302-missing",
        "LINK-W1302",
        "shape",
        "A supplementary tier expiry before the membership expiry is linked without warning 1302 (judged under "
        "strict AMB-1302-TRIGGER: by default no scenario can tell it from the other reading).",
        "",
        "AMB-1302-TRIGGER",
        Skip("link.warning-1302"),
    ),
    (
        "link-customer-status-200",
        "LINK-CUSTOMER-STATUS",
        "shape",
        "A found customer is reported with customer status code 200 instead of 1000.",
        Hook("shape.items"),
    ),
    (
        "update-type-not-echoed",
        "UPDATE-SUCCESS",
        "shape",
        "customerPartnerProgramUpdate items leave out updateType.",
        Hook("shape.items"),
    ),
    (
        "update-status-code-as-string",
        "UPDATE-SUCCESS",
        "shape",
        'customerPartnerProgramUpdate status codes are JSON strings ("200") instead of integers.',
        Hook("shape.items"),
    ),
    (
        "delink-status-object-misnamed",
        "DELINK-SUCCESS",
        "shape",
        "deLinkCustomer answers the current shape but names the status partnerDeLinkStatus (mixing both shapes).",
        Hook("shape.items"),
    ),
    (
        "delink-warnings-missing",
        "DELINK-SUCCESS",
        "shape",
        "deLinkCustomer answers leave out the top-level warnings array.",
        Hook("shape.items"),
    ),
    (
        "results-echo-first-customer",
        "RESULT-ORDER",
        "shape",
        "Every customer result of a batch echoes the first customer's identifiers (and status); the items are the "
        "right ones in request order.",
        Hook("shape.items"),
    ),
    (
        "link-result-name-omitted",
        "LINK-SUCCESS",
        "shape",
        "linkCustomer result items leave out partnerProgramName, though every request item named its program.",
        Hook("shape.items"),
    ),
    (
        "batch-drops-last-customer",
        "RESULT-ORDER",
        "shape",
        "A linkCustomer batch of several customers answers without the last customer's result.",
        Hook("shape.items"),
    ),
    (
        "error-envelope-without-errors",
        "REQ-MALFORMED",
        "shape",
        "Request-level errors are answered as a bare status object {status, code, message} without errors[].",
        Hook("shape.error"),
    ),
    # -- customer identification --------------------------------------------------------------------
    (
        "ident-id-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "A customer identified only by id is not found.",
        Ignore("id"),
    ),
    (
        "ident-email-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "A customer identified only by email is not found.",
        Ignore("email"),
    ),
    (
        "ident-externalid-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "A customer identified only by externalId is not found.",
        Ignore("externalId"),
    ),
    (
        "update-email-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "customerPartnerProgramUpdate does not look customers up by email (linkCustomer does).",
        Ignore("email", "update.find-customer"),
    ),
    (
        "ident-unknown-customer-linked",
        "IDENT-NOT-FOUND",
        "identification",
        "An unknown customer's items are answered 200 Success (the not-found check is skipped).",
        Answer("batch.customer-resolved", SUCCESS, was=NOT_FOUND),
    ),
    (
        "ident-missing-succeeds",
        "IDENT-MISSING",
        "identification",
        "A customer item without any identifier is answered 200 Success.",
        Answer("batch.customer-resolved", SUCCESS, was=NO_IDENTIFIER),
    ),
    # -- authentication -----------------------------------------------------------------------------
    (
        "auth-none-required",
        "AUTH-401",
        "auth",
        "A request without credentials is served as the first org's.",
        Hook("auth"),
    ),
    (
        "auth-wrong-password-accepted",
        "AUTH-401",
        "auth",
        "Basic auth checks the till only: a wrong password is accepted.",
        Hook("auth"),
    ),
    (
        "auth-forged-token-accepted",
        "AUTH-401",
        "auth",
        "OAuth tokens are not verified: any token is served as the first OAuth org's.",
        Hook("auth"),
    ),
    (
        "auth-401-as-403",
        "AUTH-401",
        "auth",
        "Missing or wrong credentials are refused with HTTP 403 instead of 401.",
        Hook("shape.error"),
    ),
    # -- transport ---------------------------------------------------------------------------------
    (
        "update-success-201",
        "UPDATE-SUCCESS",
        "transport",
        "A fully successful customerPartnerProgramUpdate answers HTTP 201 instead of 200.",
        Hook("shape.items"),
    ),
    (
        "renew-500",
        "UPDATE-RENEW-TIER",
        "transport",
        "RENEW raises an unhandled exception: HTTP 500 to a valid request.",
        Wrap("update.updated-link"),
    ),
    (
        "delink-batch-500",
        "DELINK-BATCH-50",
        "transport",
        "deLinkCustomer with more than one customer raises an unhandled exception: HTTP 500.",
        Hook("effects"),
    ),
    (
        "malformed-json-500",
        "REQ-MALFORMED",
        "transport",
        "A body that is not JSON reaches the handler unchecked: HTTP 500 instead of a 4xx.",
        Hook("app.decode"),
    ),
    (
        "link-json-as-text-plain",
        "LINK-SUCCESS",
        "transport",
        "linkCustomer answers carry Content-Type text/plain instead of application/json.",
        Hook("shape.items"),
    ),
    (
        "error-envelope-as-text-html",
        "REQ-MALFORMED",
        "transport",
        "Request-level error envelopes carry Content-Type text/html instead of application/json.",
        Hook("shape.error"),
    ),
    (
        "link-2008-envelope-as-200",
        "LINK-2008",
        "transport",
        "The request-level 2008 envelope of an over-long linkCustomer batch is answered with HTTP 200.",
        Hook("shape.error"),
    ),
    (
        "name-key-missing-500",
        "LINK-2002",
        "transport",
        "A link or update item without the partnerProgramName key (not an empty string: no key) raises an "
        "unhandled exception: the whole request is answered HTTP 500 instead of 2002 for that item.",
        Hook("app.decode"),
    ),
    (
        "null-item-500",
        "FUZZ-NO-SERVER-ERROR",
        "transport",
        "A linkCustomer item whose customerPartnerReference has a null or non-string field raises an unhandled "
        "exception: HTTP 500 instead of a 400 envelope (killed by the fuzz stage).",
        "fuzz",
        Hook("app.decode"),
    ),
    # ---- events (ppreference.events) ----
    (
        "event-not-sent",
        "EVENT-LINKED",
        "event",
        "No webhook event is ever sent, though webhooks are registered and the actions succeed.",
        Hook("events"),
    ),
    (
        "event-wrong-customer-id",
        "EVENT-LINKED",
        "event",
        "Every event names another customerId than the customer the action was about.",
        Hook("events"),
    ),
    (
        "event-update-type-omitted",
        "EVENT-UPDATED",
        "event",
        "partnerProgramUpdated events carry no updateType.",
        Hook("events"),
    ),
    # ---- webhook delivery promises (capillary-facts#webhooks-event-notifications) ----
    (
        "webhook-headers-dropped",
        "WEBHOOK-STATIC-HEADERS",
        "event",
        "Deliveries carry none of the static headers configured on the webhook (the receiver refuses them 401).",
        Hook("events.delivery"),
    ),
    (
        "webhook-first-header-only",
        "WEBHOOK-STATIC-HEADERS",
        "event",
        "Deliveries carry only the first static header configured on the webhook, not the others.",
        Hook("events.delivery"),
    ),
    (
        "webhook-retries-4xx",
        "WEBHOOK-NO-RETRY-4XX",
        "event",
        "A delivery the receiver refuses with 400 (or any 4xx) is retried like a 429.",
        Hook("events.delivery"),
    ),
    (
        "webhook-no-retry-429",
        "WEBHOOK-RETRY-429",
        "event",
        "A delivery the receiver refuses with 429 is dropped, never retried (judged under strict "
        "AMB-WEBHOOK-RETRY-TIMING: by default a retry not seen within the window is not judged).",
        "",
        "AMB-WEBHOOK-RETRY-TIMING",
        Hook("events.delivery"),
    ),
    (
        "webhook-constant-backoff",
        "WEBHOOK-RETRY-429",
        "event",
        "Retries after 429 come at a constant interval, not with an exponential backoff (judged under strict "
        "AMB-WEBHOOK-RETRY-TIMING).",
        "",
        "AMB-WEBHOOK-RETRY-TIMING",
        Hook("events.delivery"),
    ),
)

FAULTS.update({f.name: f for f in STRICT_FAULTS})
