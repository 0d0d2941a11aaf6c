"""Named faults and conforming variants of the reference server (`--fault NAME`, `--variant NAME`).

A **fault** is one realistic deviation from one catalogue requirement
(`catalogue/requirements.yaml`) under the suite's default stance: a conformance
suite worth its name must fail a server running it, in a scenario tagged with
that requirement (`python -m tools.sweep` checks this). A **variant** is
a behaviour the ambiguity register (`catalogue/ambiguities.yaml`) lets an
implementation choose: the suite in its default stance must pass it.

At most one fault and one variant are active at a time; none means the
conforming server of `docs/reference-behaviour.md`. The hooks live where a real
implementation would go wrong (a condition in `rules.py`, the batch limit in
`payloads.py`, credentials in `auth.py`, a post-processing step for response
shapes and transport in `app.py` via `shape_items` / `shape_error`).

    behaviour = Behaviour(fault="link-2006-as-2004")     # ValueError for an unknown name
    behaviour.faulty("link-2006-as-2004")                 # True
    behaviour.swap("link-2006-as-2004", right, wrong)     # wrong

`FAULTS` and `VARIANTS` map names to their descriptions (`Fault`, `Variant`);
docs/fault-sweep.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "CONFORMING",
    "FAULTS",
    "STRICT_FAULTS",
    "KINDS",
    "VARIANTS",
    "Behaviour",
    "Fault",
    "Shaped",
    "Variant",
    "shape_error",
    "shape_items",
    "shape_json",
]

T = TypeVar("T")

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

    def to_json(self) -> dict[str, str]:
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


@dataclass(frozen=True)
class Variant:
    """A conforming alternative: `ambiguity` is the register entry that allows it."""

    name: str
    ambiguity: str
    description: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "ambiguity": self.ambiguity, "description": self.description}


def _faults(*rows: tuple[str, ...]) -> dict[str, Fault]:
    return {row[0]: Fault(*row) for row in rows}


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
    ),
    (
        "link-2003-as-2025",
        "LINK-2003",
        "wrong-code",
        "A partnerTierExpiryDate before today is answered with the start-date code 2025 instead of 2003.",
    ),
    (
        "link-2006-as-2004",
        "LINK-2006",
        "wrong-code",
        "An unknown partnerProgramName is answered 2004 (not linked) instead of 2006.",
    ),
    (
        "link-2019-as-2005",
        "LINK-2019",
        "wrong-code",
        "A second supplementary program is answered 2005 (already linked) instead of 2019.",
    ),
    (
        "link-2008-as-2002",
        "LINK-2008",
        "wrong-code",
        "51 customers in one linkCustomer request are refused with code 2002 instead of 2008.",
    ),
    (
        "update-2004-as-2006",
        "UPDATE-2004",
        "wrong-code",
        "Updating a program the customer is not linked to is answered 2006 instead of 2004.",
    ),
    (
        "update-2006-as-2004",
        "UPDATE-2006",
        "wrong-code",
        "Updating an unknown program is answered 2004 instead of 2006.",
    ),
    (
        "update-2007-as-2006",
        "UPDATE-2007",
        "wrong-code",
        "An unknown updatedTierName is answered 2006 instead of 2007.",
    ),
    (
        "update-2026-as-2027",
        "UPDATE-2026",
        "wrong-code",
        "MEMBERSHIP_RELINKING_CANCELLED skips the relinking setting: with relinking disabled it answers 2027 "
        "(nothing pending) instead of 2026.",
    ),
    (
        "update-2027-as-2004",
        "UPDATE-2027",
        "wrong-code",
        "Cancelling when no relink is pending is answered 2004 instead of 2027.",
    ),
    (
        "update-2028-as-2026",
        "UPDATE-2028",
        "wrong-code",
        "MEMBERSHIP_RENEWAL_INITIATION with relinking enabled is answered 2026 instead of 2028.",
    ),
    (
        "update-lowercase-type-as-2002",
        "UPDATE-UPDATETYPE-CASE",
        "wrong-code",
        "A lower-case updateType is answered 2002 (required field empty): neither applied nor rejected with 2009.",
    ),
    # -- missing error: the rule is not enforced -------------------------------------------------
    (
        "link-membership-id-optional",
        "LINK-2002-MEMBERSHIP-ID",
        "missing-error",
        "A new enrollment without partnerMembershipId is linked.",
    ),
    (
        "link-enrolment-not-checked",
        "LINK-2005-NOT-ENROLLED",
        "missing-error",
        "A customer not enrolled in the loyalty program is linked.",
    ),
    (
        "link-tier-not-checked",
        "LINK-2007",
        "missing-error",
        "An unknown partnerTierName is stored as given instead of being rejected with 2007.",
    ),
    (
        "link-relinking-setting-ignored",
        "LINK-2026",
        "missing-error",
        "A future-dated relink is queued although ALLOW_MEMBERSHIP_RELINKING is disabled.",
    ),
    (
        "relink-before-end-accepted",
        "RELINK-BEFORE-END",
        "missing-error",
        "A relink starting before the current membership ends is queued instead of rejected with 2005.",
    ),
    (
        "update-details-not-required",
        "UPDATE-2002",
        "missing-error",
        "An update without updateDetails succeeds (as a no-op) instead of being rejected with 2002.",
    ),
    (
        "update-type-not-validated",
        "UPDATE-2009",
        "missing-error",
        "An updateType outside the five documented values is applied like UPGRADE.",
    ),
    (
        "delink-not-linked-succeeds",
        "DELINK-2004",
        "missing-error",
        "Delinking a program the customer is not linked to answers 200 Success.",
    ),
    (
        "delink-unknown-program-succeeds",
        "DELINK-2006",
        "missing-error",
        "Delinking an unknown program answers 200 Success.",
    ),
    # -- boundaries, both sides --------------------------------------------------------------------
    (
        "link-batch-50-rejected",
        "LINK-BATCH-50",
        "boundary",
        "The linkCustomer batch limit is checked with >= 50: 50 customers are refused with 2008.",
    ),
    (
        "link-batch-51-accepted",
        "LINK-2008",
        "boundary",
        "The linkCustomer batch limit is checked with > 51: 51 customers are linked.",
    ),
    (
        "update-batch-50-rejected",
        "UPDATE-BATCH-50",
        "boundary",
        "The customerPartnerProgramUpdate batch limit is checked with >= 50: 50 customers are refused with 2008.",
    ),
    (
        "update-batch-51-accepted",
        "UPDATE-2008",
        "boundary",
        "The customerPartnerProgramUpdate batch limit is checked with > 51: 51 customers are updated.",
    ),
    (
        "delink-batch-50-rejected",
        "DELINK-BATCH-50",
        "boundary",
        "The deLinkCustomer batch limit is checked with >= 50: 50 customers are refused with 2008.",
    ),
    (
        "delink-batch-51-accepted",
        "DELINK-2008",
        "boundary",
        "The deLinkCustomer batch limit is checked with > 51: 51 customers are answered per item (judged under "
        "strict AMB-DELINK-BATCH: no delink limit is documented).",
        "",
        "AMB-DELINK-BATCH",
    ),
    (
        "link-expiry-today-rejected",
        "LINK-EXPIRY-TODAY",
        "boundary",
        "partnerTierExpiryDate is compared with <= today: an expiry of today is rejected with 2003.",
    ),
    (
        "link-expiry-yesterday-accepted",
        "LINK-2003",
        "boundary",
        "partnerTierExpiryDate is compared with yesterday: an expiry of yesterday is accepted.",
    ),
    (
        "link-start-today-rejected",
        "LINK-START-TODAY",
        "boundary",
        "membershipStartDate is compared with <= today: a start of today is rejected with 2025.",
    ),
    (
        "link-start-yesterday-accepted",
        "LINK-2025",
        "boundary",
        "membershipStartDate is compared with yesterday: a start of yesterday passes the 2025 check.",
    ),
    (
        "update-expiry-today-rejected",
        "UPDATE-EXPIRY-TODAY",
        "boundary",
        "updatedTierExpiryDate is compared with <= today: an expiry of today is rejected with 2003.",
    ),
    (
        "update-expiry-yesterday-accepted",
        "UPDATE-2003",
        "boundary",
        "updatedTierExpiryDate is compared with yesterday: an expiry of yesterday is accepted.",
    ),
    # -- state rules -------------------------------------------------------------------------------
    (
        "link-not-persisted",
        "LINK-SUCCESS",
        "state",
        "linkCustomer answers 200 Success but stores nothing: loyaltyDetails does not list the program.",
    ),
    (
        "link-duplicate-accepted",
        "LINK-2005-ALREADY-LINKED",
        "state",
        "Linking a program the customer is already linked to replaces the link and answers 200.",
    ),
    (
        "relink-not-queued",
        "RELINK-QUEUE",
        "state",
        "A valid future-dated relink answers 200 but is not queued (nothing pending to cancel).",
    ),
    (
        "cancel-keeps-pending-relink",
        "RELINK-CANCEL",
        "state",
        "MEMBERSHIP_RELINKING_CANCELLED answers 200 but the pending relink stays queued.",
    ),
    (
        "upgrade-tier-not-changed",
        "UPDATE-UPGRADE-TIER",
        "state",
        "UPGRADE answers 200 but leaves the customer's tier unchanged.",
    ),
    (
        "downgrade-tier-not-changed",
        "UPDATE-DOWNGRADE-TIER",
        "state",
        "DOWNGRADE answers 200 but leaves the customer's tier unchanged.",
    ),
    (
        "renew-resets-tier",
        "UPDATE-RENEW-TIER",
        "state",
        "RENEW restarts the membership at the program's first tier instead of updatedTierName.",
    ),
    (
        "update-ignores-tier-expiry",
        "UPDATE-TIER-EXPIRY",
        "state",
        "An update's updatedTierExpiryDate is accepted (200) but not stored: the tier keeps its old expiry.",
    ),
    (
        "update-clears-tier-expiry",
        "UPDATE-TIER-EXPIRY-KEPT",
        "state",
        "An update without updatedTierExpiryDate clears the tier's expiry date instead of leaving it unchanged.",
    ),
    (
        "renewal-initiation-drops-link",
        "UPDATE-RENEWAL-INITIATION",
        "state",
        "MEMBERSHIP_RENEWAL_INITIATION answers 200 but ends the customer's link to the program.",
    ),
    (
        "delink-keeps-link",
        "DELINK-REMOVES-LINK",
        "state",
        "deLinkCustomer answers 200 but the program stays in the customer's linkedPartnerPrograms.",
    ),
    (
        "delink-blocks-relink",
        "DELINK-RELINK-AFTER",
        "state",
        "A delinked link is kept as a tombstone: linking the program again answers 2005 (already linked).",
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
    ),
    (
        "update-clears-membership-id",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "A successful tier update rebuilds the link from the update's fields: its partnerMembershipId is lost.",
        "",
        "",
        "UPDATE-UPGRADE-TIER",
    ),
    (
        "relink-overwrites-membership-id",
        "STATE-RELINK-KEEPS-CURRENT",
        "stored",
        "A queued relink also writes its partnerMembershipId (none: empty) onto the current membership.",
        "",
        "",
        "RELINK-QUEUE",
    ),
    (
        "rejected-link-stored",
        "STATE-UNCHANGED-ON-FAILURE",
        "stored",
        "A link rejected with 2003 (tier expiry in the past) is stored anyway: it is saved before the date check.",
        "",
        "",
        "LINK-2003",
    ),
    (
        "rejected-update-applied",
        "STATE-UNCHANGED-ON-FAILURE",
        "stored",
        "An update rejected with 2003 (tier expiry in the past) has already applied its updatedTierName.",
        "",
        "",
        "UPDATE-2003",
    ),
    (
        "delink-removes-every-program",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "Delinking one program removes every program the customer is linked to; the item answers 200.",
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
    ),
    (
        "renew-ignores-tier-expiry",
        "UPDATE-TIER-EXPIRY",
        "stored",
        "RENEW stores updatedTierName but not updatedTierExpiryDate: the tier keeps its old expiry.",
        "",
        "",
        "UPDATE-RENEW-TIER",
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
    ),
    (
        "link-drops-tier-expiry",
        "STATE-LINK-STORED",
        "stored",
        "A new link stores no tier expiry, whatever partnerTierExpiryDate says (class default-expiry).",
        "",
        "",
        "LINK-EXPIRY-TODAY",
    ),
    (
        "link-expiry-a-day-late",
        "STATE-LINK-STORED",
        "stored",
        "A new link stores its partnerTierExpiryDate one day later (class date-off-by-one).",
        "",
        "",
        "LINK-EXPIRY-TODAY",
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
    ),
    (
        "update-stores-lowest-tier",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "A tier update stores the program's lowest tier whatever updatedTierName says (class default-tier).",
    ),
    (
        "update-expiry-a-day-late",
        "UPDATE-TIER-EXPIRY",
        "stored",
        "A tier update stores its updatedTierExpiryDate one day later (class date-off-by-one).",
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
    ),
    (
        "update-applies-to-other-program",
        "UPDATE-UPGRADE-TIER",
        "stored",
        "A tier update changes the customer's other program (its first other link) instead of the one it names "
        "(class other-program).",
    ),
    (
        "update-applies-to-every-program",
        "STATE-OTHERS-UNCHANGED",
        "stored",
        "A tier update also gives every other program of the customer its tier and tier expiry (class all-programs).",
        "",
        "",
        "UPDATE-BATCH-50",
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
    ),
    (
        "delink-keeps-supplementary-slot",
        "LINK-2019-LIFTED",
        "state",
        "A customer whose supplementary program was delinked keeps its supplementary slot: linking another "
        "supplementary program answers 2019 (class constraint-kept).",
    ),
    (
        "cancel-keeps-relink-slot",
        "RELINK-AFTER-CANCEL",
        "state",
        "A cancelled relink keeps its slot: queuing a relink of the program again answers 2005 (class "
        "constraint-kept).",
    ),
    (
        "event-tier-before-update",
        "EVENT-UPDATED",
        "event",
        "partnerProgramUpdated carries the program's details from before the update: the old partnerTierNumber "
        "(class event-before).",
    ),
    (
        "event-wrong-program-type",
        "EVENT-LINKED",
        "event",
        "Events carry the partnerProgramType of the other kind of program (class event-other-program).",
    ),
    # -- tenant isolation: another org's credentials or webhooks reach this org's customers ------------------
    (
        "tenant-link-any-org",
        "TENANT-LINK",
        "tenant",
        "linkCustomer looks a customer the caller's org does not have up in every org and links it there.",
    ),
    (
        "tenant-update-any-org",
        "TENANT-UPDATE",
        "tenant",
        "customerPartnerProgramUpdate looks a customer the caller's org does not have up in every org and updates "
        "it there.",
    ),
    (
        "tenant-delink-any-org",
        "TENANT-DELINK",
        "tenant",
        "deLinkCustomer looks a customer the caller's org does not have up in every org and delinks it there.",
    ),
    (
        "tenant-read-any-org",
        "TENANT-READ",
        "tenant",
        "The customer lookup and loyaltyDetails find a customer of another org when the caller's org has none.",
    ),
    (
        "tenant-events-any-org",
        "TENANT-EVENTS",
        "tenant",
        "Every event is delivered to the webhooks of every org, not only to those of the org whose write caused it.",
    ),
    # -- response shape ----------------------------------------------------------------------------
    (
        "link-status-object-misnamed",
        "LINK-SUCCESS",
        "shape",
        "linkCustomer items carry their status as updateStatus instead of partnerLinkStatus.",
    ),
    ("link-warnings-missing", "LINK-SUCCESS", "shape", "linkCustomer answers leave out the top-level warnings array."),
    (
        "link-warning-1302-missing",
        "LINK-W1302",
        "shape",
        "A supplementary tier expiry before the membership expiry is linked without warning 1302 (judged under "
        "strict AMB-1302-TRIGGER: by default no scenario can tell it from the other reading).",
        "",
        "AMB-1302-TRIGGER",
    ),
    (
        "link-customer-status-200",
        "LINK-CUSTOMER-STATUS",
        "shape",
        "A found customer is reported with customer status code 200 instead of 1000.",
    ),
    ("update-type-not-echoed", "UPDATE-SUCCESS", "shape", "customerPartnerProgramUpdate items leave out updateType."),
    (
        "update-status-code-as-string",
        "UPDATE-SUCCESS",
        "shape",
        'customerPartnerProgramUpdate status codes are JSON strings ("200") instead of integers.',
    ),
    (
        "delink-status-object-misnamed",
        "DELINK-SUCCESS",
        "shape",
        "deLinkCustomer answers the current shape but names the status partnerDeLinkStatus (mixing both shapes).",
    ),
    (
        "delink-warnings-missing",
        "DELINK-SUCCESS",
        "shape",
        "deLinkCustomer answers leave out the top-level warnings array.",
    ),
    (
        "results-echo-first-customer",
        "RESULT-ORDER",
        "shape",
        "Every customer result of a batch echoes the first customer's identifiers (and status); the items are the "
        "right ones in request order.",
    ),
    (
        "link-result-name-omitted",
        "LINK-SUCCESS",
        "shape",
        "linkCustomer result items leave out partnerProgramName, though every request item named its program.",
    ),
    (
        "batch-drops-last-customer",
        "RESULT-ORDER",
        "shape",
        "A linkCustomer batch of several customers answers without the last customer's result.",
    ),
    (
        "error-envelope-without-errors",
        "REQ-MALFORMED",
        "shape",
        "Request-level errors are answered as a bare status object {status, code, message} without errors[].",
    ),
    # -- customer identification --------------------------------------------------------------------
    ("ident-id-ignored", "IDENT-ANY-ONE", "identification", "A customer identified only by id is not found."),
    ("ident-email-ignored", "IDENT-ANY-ONE", "identification", "A customer identified only by email is not found."),
    (
        "ident-externalid-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "A customer identified only by externalId is not found.",
    ),
    (
        "update-email-ignored",
        "IDENT-ANY-ONE",
        "identification",
        "customerPartnerProgramUpdate does not look customers up by email (linkCustomer does).",
    ),
    (
        "ident-unknown-customer-linked",
        "IDENT-NOT-FOUND",
        "identification",
        "An unknown customer's items are answered 200 Success (the not-found check is skipped).",
    ),
    (
        "ident-missing-succeeds",
        "IDENT-MISSING",
        "identification",
        "A customer item without any identifier is answered 200 Success.",
    ),
    # -- authentication -----------------------------------------------------------------------------
    ("auth-none-required", "AUTH-401", "auth", "A request without credentials is served as the first org's."),
    (
        "auth-wrong-password-accepted",
        "AUTH-401",
        "auth",
        "Basic auth checks the till only: a wrong password is accepted.",
    ),
    (
        "auth-forged-token-accepted",
        "AUTH-401",
        "auth",
        "OAuth tokens are not verified: any token is served as the first OAuth org's.",
    ),
    ("auth-401-as-403", "AUTH-401", "auth", "Missing or wrong credentials are refused with HTTP 403 instead of 401."),
    # -- transport ---------------------------------------------------------------------------------
    (
        "update-success-201",
        "UPDATE-SUCCESS",
        "transport",
        "A fully successful customerPartnerProgramUpdate answers HTTP 201 instead of 200.",
    ),
    (
        "renew-500",
        "UPDATE-RENEW-TIER",
        "transport",
        "RENEW raises an unhandled exception: HTTP 500 to a valid request.",
    ),
    (
        "delink-batch-500",
        "DELINK-BATCH-50",
        "transport",
        "deLinkCustomer with more than one customer raises an unhandled exception: HTTP 500.",
    ),
    (
        "malformed-json-500",
        "REQ-MALFORMED",
        "transport",
        "A body that is not JSON reaches the handler unchecked: HTTP 500 instead of a 4xx.",
    ),
    (
        "link-json-as-text-plain",
        "LINK-SUCCESS",
        "transport",
        "linkCustomer answers carry Content-Type text/plain instead of application/json.",
    ),
    (
        "error-envelope-as-text-html",
        "REQ-MALFORMED",
        "transport",
        "Request-level error envelopes carry Content-Type text/html instead of application/json.",
    ),
    (
        "link-2008-envelope-as-200",
        "LINK-2008",
        "transport",
        "The request-level 2008 envelope of an over-long linkCustomer batch is answered with HTTP 200.",
    ),
    (
        "name-key-missing-500",
        "LINK-2002",
        "transport",
        "A link or update item without the partnerProgramName key (not an empty string: no key) raises an "
        "unhandled exception: the whole request is answered HTTP 500 instead of 2002 for that item.",
    ),
    (
        "null-item-500",
        "FUZZ-NO-SERVER-ERROR",
        "transport",
        "A linkCustomer item whose customerPartnerReference has a null or non-string field raises an unhandled "
        "exception: HTTP 500 instead of a 400 envelope (killed by the fuzz stage).",
        "fuzz",
    ),
    # ---- events (ppreference.events) ----
    (
        "event-not-sent",
        "EVENT-LINKED",
        "event",
        "No webhook event is ever sent, though webhooks are registered and the actions succeed.",
    ),
    (
        "event-wrong-customer-id",
        "EVENT-LINKED",
        "event",
        "Every event names another customerId than the customer the action was about.",
    ),
    ("event-update-type-omitted", "EVENT-UPDATED", "event", "partnerProgramUpdated events carry no updateType."),
    # ---- webhook delivery promises (capillary-facts#webhooks-event-notifications) ----
    (
        "webhook-headers-dropped",
        "WEBHOOK-STATIC-HEADERS",
        "event",
        "Deliveries carry none of the static headers configured on the webhook (the receiver refuses them 401).",
    ),
    (
        "webhook-first-header-only",
        "WEBHOOK-STATIC-HEADERS",
        "event",
        "Deliveries carry only the first static header configured on the webhook, not the others.",
    ),
    (
        "webhook-retries-4xx",
        "WEBHOOK-NO-RETRY-4XX",
        "event",
        "A delivery the receiver refuses with 400 (or any 4xx) is retried like a 429.",
    ),
    (
        "webhook-no-retry-429",
        "WEBHOOK-RETRY-429",
        "event",
        "A delivery the receiver refuses with 429 is dropped, never retried (judged under strict "
        "AMB-WEBHOOK-RETRY-TIMING: by default a retry not seen within the window is not judged).",
        "",
        "AMB-WEBHOOK-RETRY-TIMING",
    ),
    (
        "webhook-constant-backoff",
        "WEBHOOK-RETRY-429",
        "event",
        "Retries after 429 come at a constant interval, not with an exponential backoff (judged under strict "
        "AMB-WEBHOOK-RETRY-TIMING).",
        "",
        "AMB-WEBHOOK-RETRY-TIMING",
    ),
)

FAULTS.update({f.name: f for f in STRICT_FAULTS})

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant(
            "item-failure-http-200",
            "AMB-ITEM-FAILURE-HTTP-STATUS",
            "A batch with a failed item answers HTTP 200 (item-level results) instead of 201.",
        ),
        Variant(
            "item-failure-http-400",
            "AMB-ITEM-FAILURE-HTTP-STATUS",
            "A batch with a failed item answers HTTP 400 (item-level results) instead of 201.",
        ),
        Variant(
            "batch-limit-per-item",
            "AMB-2008-LEVEL",
            "More than 50 customers are answered per item, 2008 on every customer's items (HTTP 201), "
            "instead of a request-level 400 envelope.",
        ),
        Variant(
            "extra-fields", "AMB-EXTRA-FIELDS", "Every JSON object the server answers carries an undocumented field."
        ),
        Variant(
            "legacy-delink-shape",
            "AMB-DELINK-RESPONSE-SHAPE",
            "deLinkCustomer answers the older pages' shape "
            "deLinkCustomers[deLinkFromPartnerPrograms[partnerDeLinkStatus]].",
        ),
        Variant(
            "delink-echoes-upgrade",
            "AMB-DELINK-RESPONSE-SHAPE",
            "deLinkCustomer items carry updateType UPGRADE, as the delink page's sample does.",
        ),
        Variant(
            "results-reordered",
            "AMB-RESULT-ORDER",
            "Batch results come in reverse order (customers and, per customer, programs).",
        ),
        Variant(
            "updatetype-case-insensitive",
            "AMB-UPDATETYPE-CASE",
            "A lower-case updateType is applied like its upper-case value instead of rejected with 2009.",
        ),
        Variant(
            "delink-unknown-program-2004",
            "AMB-DELINK-ERROR-CODES",
            "Delinking an unknown program is answered 2004 (not linked) instead of 2006.",
        ),
        Variant(
            "malformed-422",
            "AMB-MALFORMED-CODE",
            "Malformed bodies (unparseable, wrong types, missing arrays) are answered HTTP 422 instead of 400.",
        ),
        Variant(
            "success-status-false",
            "AMB-LEGACY-STATUS-FALSE",
            "Successful items carry status false beside code 200, like the older sample.",
        ),
        Variant(
            "warnings-on-item-as-text",
            "AMB-WARNING-SHAPE",
            "Warning 1302 is a text entry in the item's own warnings array; the top-level array stays empty.",
        ),
        Variant(
            "null-for-absent",
            "AMB-NULL-AS-ABSENT",
            "A Java-style serialiser: every optional field without a value is answered as null, in responses "
            "(customer identifiers, partnerProgramName, updateType) and in events (instore identifiers, "
            "membership details).",
        ),
        Variant(
            "omit-empty-fields",
            "AMB-NULL-AS-ABSENT",
            "An omit-empty serialiser: optional members of an answer without a value (null or an empty string) "
            "are left out.",
        ),
        Variant(
            "http-stack-strict",
            "AMB-UNDEFINED-REQUESTS",
            "Another HTTP stack: 501 to a method a route does not define, 415 to a Partner Program body sent "
            "with a non-JSON content type, 400 to a body with an impossible calendar date, and an HTML page "
            "for an unknown path.",
        ),
        Variant(
            "w1302-loyalty-expiry",
            "AMB-1302-TRIGGER",
            "Warning 1302 compares the tier expiry with the customer's loyalty membership expiry; a new customer "
            "has none, so no link carries 1302.",
        ),
        Variant(
            "delink-mobile-integer-only",
            "AMB-DELINK-MOBILE-TYPE",
            "A delink customer's mobile must be a JSON number, as the delink page types it: a string mobile is "
            "answered HTTP 400 with code 8013 (link and update keep strings).",
        ),
        Variant(
            "webhook-late-retry",
            "AMB-WEBHOOK-RETRY-TIMING",
            "A refused delivery is first retried after 3 s (then 6 s, ...): later than the embedded profile's "
            "retry window, so the retry after 429 is not seen in time.",
        ),
        Variant(
            "link-expiry-defaults",
            "AMB-LINK-DEFAULT-TIER-EXPIRY",
            "A link without partnerTierExpiryDate gets a default tier expiry: the membership end on a supplementary "
            "program, one year from the link on an external one.",
        ),
        Variant(
            "tier-expiry-utc-date",
            "AMB-TIER-EXPIRY-DAY",
            "loyaltyDetails gives partnerTierExpiryDate as a date only, the calendar day in UTC (a LocalDate "
            "serialised on a UTC server).",
        ),
        Variant(
            "undeclared-program-at-enrolment",
            "AMB-UNDECLARED-PROGRAMS",
            "The org links every loyalty customer to a welcome program of its own at enrolment: loyaltyDetails "
            "lists it beside the programs the suite linked.",
        ),
        Variant(
            "membership-end-is-tier-expiry",
            "AMB-MEMBERSHIP-END",
            "A relink must start after the current membership's tier expiry when the link set one (the other reading "
            "of 'the customer's current membership end date'), else after the membership period's end.",
        ),
        Variant(
            "read-lag",
            "AMB-READ-CONSISTENCY",
            "loyaltyDetails shows a link, update or delink 0.3-0.8 s after the write's answer (a replicated read "
            "path); answers and events are immediate.",
        ),
        Variant(
            "message-2005-generic",
            "AMB-2005-TWO-MEANINGS",
            "Both meanings of 2005 (not enrolled; already linked) carry the same message, 'Request cannot be "
            "processed'.",
        ),
        Variant(
            "today-in-utc",
            "AMB-TODAY-TIMEZONE",
            "'Today' is the calendar date in UTC, the server's timezone: dates are compared by their UTC calendar day.",
        ),
        Variant(
            "tier-expiry-day-month-year",
            "AMB-TIER-EXPIRY-FORMAT",
            "loyaltyDetails gives partnerTierExpiryDate as DD/MM/YYYY, a format the documents do not name.",
        ),
        Variant(
            "delink-mobile-string-only",
            "AMB-DELINK-MOBILE-TYPE",
            "A delink customer's mobile must be a string, as the link and update pages type it: a JSON number is "
            "answered HTTP 400 with code 8013.",
        ),
        Variant(
            "unknown-customer-8089",
            "AMB-CUSTOMER-NOT-FOUND",
            "An unknown customer is answered with customer status false and code 8089 (not registered for the "
            "loyalty program, capillary-facts) on the customer and its items, not 8015.",
        ),
        Variant(
            "membership-id-missing-2005",
            "AMB-MEMBERSHIP-ID-CODE",
            "A new enrollment without partnerMembershipId is rejected with 2005 (cannot be enrolled), not 2002.",
        ),
        Variant(
            "empty-identifier-is-a-value",
            "AMB-EMPTY-IDENTIFIERS",
            "An identifier sent as an empty string is a value to look up: a customer object {mobile: '', email: "
            "'a@b'} is looked up by the empty mobile (and not found).",
        ),
        Variant(
            "events-orgid-with-space",
            "AMB-EVENT-ORGID-KEY",
            "Webhook events come in the wrapped envelope with the org key spelt 'orgId ' (with the trailing space of "
            "the delinked sample).",
        ),
        Variant(
            "event-name-padded",
            "AMB-EVENT-NAME-WHITESPACE",
            "Events carry the program's name with a trailing space, as the samples' 'Drivers '.",
        ),
        Variant(
            "events-delivered-twice",
            "AMB-EVENT-DUPLICATES",
            "Every event the receiver accepts is delivered once more (the same eventId): at-least-once delivery.",
        ),
        Variant(
            "events-without-details",
            "AMB-EVENT-DETAILS",
            "Events carry no customerPartnerProgramDetails but membershipExpiryDate, as the enriched "
            "partnerProgramLinked sample.",
        ),
        Variant(
            "link-tier-defaults-to-lowest",
            "AMB-LINK-DEFAULT-TIER",
            "A link without partnerTierName gets the program's lowest tier.",
        ),
        Variant(
            "relink-keeps-unnamed-values",
            "AMB-RELINK-ACTIVATION-STATE",
            "A relink that starts keeps the ended membership's tier and tier expiry where its item named none.",
        ),
        Variant(
            "unlisted-item-code",
            "AMB-UNLISTED-ITEM-CODE",
            "The items of a customer that is not found are answered with code 2010, which no page lists (the "
            "customer status stays 8015).",
        ),
        Variant(
            "event-expiry-date-time",
            "AMB-EVENT-DATE-FORMAT",
            "Events carry partnerTierExpiryDate and membershipExpiryDate as full ISO 8601 date-times where the "
            "samples show dates.",
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
        ),
    )
}

# endpoint -> the names of its result list, program list and status object (the server's current shapes)
_KEYS = {
    "linkCustomer": ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),
    "customerPartnerProgramUpdate": ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
    "deLinkCustomer": ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
}
_LEGACY_DELINK = ("deLinkCustomers", "deLinkFromPartnerPrograms", "partnerDeLinkStatus")
_BATCH_LIMIT_FAULTS = {
    "link-batch-50-rejected": ("linkCustomer", 49),
    "link-batch-51-accepted": ("linkCustomer", 51),
    "update-batch-50-rejected": ("customerPartnerProgramUpdate", 49),
    "update-batch-51-accepted": ("customerPartnerProgramUpdate", 51),
    "delink-batch-50-rejected": ("deLinkCustomer", 49),
    "delink-batch-51-accepted": ("deLinkCustomer", 51),
}
_IGNORED_IDENTIFIERS = {
    "ident-id-ignored": "id",
    "ident-email-ignored": "email",
    "ident-externalid-ignored": "externalId",
}
EXTRA_FIELD = "referenceVariantNote"


@dataclass(frozen=True)
class Behaviour:
    """The active fault and variant of one server (both None: conforming).

    Raises `ValueError` naming the known names when `fault` is not in `FAULTS`
    or `variant` not in `VARIANTS`.
    """

    fault: str | None = None
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; known: {', '.join(FAULTS)}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; known: {', '.join(VARIANTS)}")

    def faulty(self, name: str) -> bool:
        """True when fault `name` is injected (`name` must be a known fault: catches typos in hooks)."""
        assert name in FAULTS, name
        return self.fault == name

    def varies(self, name: str) -> bool:
        """True when variant `name` is active, or a fault of the strict stance that takes its reading
        (`Fault.reading`)."""
        assert name in VARIANTS, name
        return self.variant == name or (self.fault is not None and FAULTS[self.fault].reading == name)

    def swap(self, name: str, right: T, wrong: T) -> T:
        """`right`, or `wrong` when fault `name` is injected (wrong-code faults)."""
        return wrong if self.faulty(name) else right

    def batch_limit(self, endpoint: str, documented: int) -> int | None:
        """The most customers `endpoint` takes in one request: `documented` (50), one less or one more under a
        boundary fault, None (no request-level limit) under variant batch-limit-per-item."""
        if self.varies("batch-limit-per-item"):
            return None
        shifted = _BATCH_LIMIT_FAULTS.get(self.fault or "")
        return shifted[1] if shifted and shifted[0] == endpoint else documented

    def ignored_identifiers(self, endpoint: str) -> frozenset[str]:
        """Identifier kinds ("id", "email", "externalId") `endpoint` cannot look customers up by."""
        kind = _IGNORED_IDENTIFIERS.get(self.fault or "")
        if kind is None and self.fault == "update-email-ignored" and endpoint == "customerPartnerProgramUpdate":
            kind = "email"
        return frozenset({kind} if kind else ())


CONFORMING = Behaviour()


@dataclass(frozen=True)
class Shaped:
    """A response after the shape/transport step: JSON body, HTTP status, media type."""

    body: Any
    status: int
    media_type: str = "application/json"


def _items(body: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
    top, items_key, _ = _KEYS[endpoint]
    return [item for entry in body.get(top, []) for item in entry.get(items_key, [])]


def _add_extra_fields(node: Any) -> Any:
    if isinstance(node, dict):
        return {**{k: _add_extra_fields(v) for k, v in node.items()}, EXTRA_FIELD: "undocumented"}
    if isinstance(node, list):
        return [_add_extra_fields(v) for v in node]
    return node


_CUSTOMER_KEYS = ("id", "mobile", "email", "externalId")
_REQUIRED_EMPTY_OK = frozenset({"warnings", "errors", "message"})


def _fill_absent_with_null(body: dict[str, Any], endpoint: str) -> None:
    """Variant null-for-absent: the documented optional members of result entries and items, null when unset."""
    top, items_key, _ = _KEYS[endpoint]
    for entry in body.get(top, []):
        customer = entry.get("customer")
        if isinstance(customer, dict):
            for key in _CUSTOMER_KEYS:
                customer.setdefault(key, None)
        for item in entry.get(items_key, []):
            if isinstance(item, dict):
                item.setdefault("partnerProgramName", None)
                if endpoint == "customerPartnerProgramUpdate":
                    item.setdefault("updateType", None)


def _omit_empty(value: Any) -> Any:
    """Variant omit-empty-fields: object members that are null or "" are left out (not the required
    warnings/errors arrays nor a status message)."""
    if isinstance(value, dict):
        return {k: _omit_empty(v) for k, v in value.items() if k in _REQUIRED_EMPTY_OK or (v is not None and v != "")}
    if isinstance(value, list):
        return [_omit_empty(v) for v in value]
    return value


def shape_json(behaviour: Behaviour, body: Any) -> Any:
    """Any other JSON answer (supporting endpoints): `body`, with an undocumented field in every object under
    variant extra-fields."""
    return _add_extra_fields(body) if behaviour.varies("extra-fields") else body


def shape_items(behaviour: Behaviour, endpoint: str, body: dict[str, Any], all_ok: bool) -> Shaped:
    """The item-level answer of a Partner Program endpoint (`body` as built by `rules.run_*`, `all_ok` whether
    every item succeeded) after the shape and transport faults and the variants of `behaviour`.

    Conforming: `body` unchanged, HTTP 200 when every item succeeded, else 201 (AMB-ITEM-FAILURE-HTTP-STATUS).
    """
    fx = behaviour
    status = 200 if all_ok else 201
    top, items_key, status_key = _KEYS[endpoint]
    items = _items(body, endpoint)
    if endpoint == "linkCustomer":
        if fx.faulty("link-status-object-misnamed"):
            for item in items:
                item["updateStatus"] = item.pop(status_key)
        if fx.faulty("link-warnings-missing"):
            del body["warnings"]
        if fx.faulty("link-customer-status-200"):
            for entry in body[top]:
                if entry["customer"]["status"]["code"] == 1000:
                    entry["customer"]["status"] = {"status": True, "code": 200, "message": "Success"}
        if fx.faulty("batch-drops-last-customer") and len(body[top]) > 1:
            body[top].pop()
        if fx.faulty("link-result-name-omitted"):
            for item in items:
                item.pop("partnerProgramName", None)
    elif endpoint == "customerPartnerProgramUpdate":
        if fx.faulty("update-type-not-echoed"):
            for item in items:
                item.pop("updateType", None)
        if fx.faulty("update-status-code-as-string"):
            for item in items:
                item[status_key]["code"] = str(item[status_key]["code"])
        if fx.faulty("update-success-201"):
            status = 201
    else:
        if fx.faulty("delink-status-object-misnamed"):
            for item in items:
                item[_LEGACY_DELINK[2]] = item.pop(status_key)
        if fx.faulty("delink-warnings-missing"):
            del body["warnings"]
        if fx.varies("delink-echoes-upgrade"):
            for item in items:
                item["updateType"] = "UPGRADE"
        if fx.varies("legacy-delink-shape"):
            for item in items:
                item[_LEGACY_DELINK[2]] = item.pop(status_key)
            for entry in body[top]:
                entry[_LEGACY_DELINK[1]] = entry.pop(items_key)
            body = {_LEGACY_DELINK[0]: body.pop(top), **body}
    if fx.varies("message-2005-generic"):  # AMB-2005-TWO-MEANINGS: one message for both meanings of 2005
        for item in _items(body, endpoint):
            if isinstance(item.get(status_key), dict) and item[status_key].get("code") == 2005:
                item[status_key]["message"] = "Request cannot be processed"
    if fx.faulty("results-echo-first-customer") and len(body.get(top, [])) > 1:
        for entry in body[top][1:]:
            entry["customer"] = dict(body[top][0]["customer"])
    if fx.varies("success-status-false"):
        for item in _items(body, endpoint):
            if isinstance(item.get(status_key), dict) and item[status_key].get("code") == 200:
                item[status_key]["status"] = False
    if fx.varies("results-reordered"):
        key, ikey = (top, items_key) if top in body else _LEGACY_DELINK[:2]
        body[key].reverse()
        for entry in body[key]:
            entry[ikey].reverse()
    if not all_ok and fx.varies("item-failure-http-200"):
        status = 200
    if not all_ok and fx.varies("item-failure-http-400"):
        status = 400
    if fx.varies("extra-fields"):
        body = _add_extra_fields(body)
    if fx.varies("null-for-absent"):
        _fill_absent_with_null(body, endpoint)
    if fx.varies("omit-empty-fields"):
        body = _omit_empty(body)
    media_type = "text/plain" if endpoint == "linkCustomer" and fx.faulty("link-json-as-text-plain") else None
    return Shaped(body, status, media_type or "application/json")


def shape_error(behaviour: Behaviour, endpoint: str | None, http_status: int, code: int, message: str) -> Shaped:
    """A request-level error (`{"warnings": [], "errors": [{status, code, message}]}`, capillary-facts) after the
    faults and variants of `behaviour`. `endpoint` is the Partner Program endpoint refusing the request (None
    for the other routes)."""
    fx = behaviour
    if endpoint == "linkCustomer" and code == 2008:
        code = fx.swap("link-2008-as-2002", code, 2002)
        http_status = fx.swap("link-2008-envelope-as-200", http_status, 200)
    if http_status == 401 and fx.faulty("auth-401-as-403"):
        http_status, code, message = 403, 403, "Forbidden"
    if fx.varies("malformed-422") and http_status == 400 and code in (400, 2002):
        http_status = 422
    body: dict[str, Any] = {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}
    if fx.faulty("error-envelope-without-errors"):
        body = {"status": False, "code": code, "message": message}
    if fx.varies("extra-fields"):
        body = _add_extra_fields(body)
    return Shaped(body, http_status, "text/html" if fx.faulty("error-envelope-as-text-html") else "application/json")
