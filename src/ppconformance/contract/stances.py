"""The typed stance lookup: every ambiguity the suite can judge strictly, and the run's stances.

`AmbiguityId` names each entry of `catalogue/ambiguities.yaml`; importing this module checks the two
agree (a `CatalogueError` names the ids that differ), so a stance can only be asked for by an id the
register holds. `Stances.strict` accepts only an `AmbiguityId` (a plain string raises `TypeError`), so a
typo cannot silently read "lenient". Every stance of the suite is applied through this lookup
(`Profile.is_strict` delegates to it); the default stance is lenient: never fail a target for what the
documents leave open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ppconformance.contract.catalogue import CatalogueError, load_catalogue

__all__ = ["ALL", "AmbiguityId", "Stances", "unknown_ids"]

ALL = "all"
"""The stance id that makes every ambiguity strict."""


class AmbiguityId(StrEnum):
    """An entry of `catalogue/ambiguities.yaml` (the value is its id, e.g. "AMB-RESULT-ORDER")."""

    E2005_TWO_MEANINGS = "AMB-2005-TWO-MEANINGS"
    DELINK_RESPONSE_SHAPE = "AMB-DELINK-RESPONSE-SHAPE"
    DELINK_BATCH = "AMB-DELINK-BATCH"
    E2009_MESSAGE = "AMB-2009-MESSAGE"
    LEGACY_STATUS_FALSE = "AMB-LEGACY-STATUS-FALSE"
    RATE_LIMIT = "AMB-RATE-LIMIT"
    OAUTH_HEADER = "AMB-OAUTH-HEADER"
    ITEM_FAILURE_HTTP_STATUS = "AMB-ITEM-FAILURE-HTTP-STATUS"
    E2008_LEVEL = "AMB-2008-LEVEL"
    TIER_EXPIRY_FORMAT = "AMB-TIER-EXPIRY-FORMAT"
    TODAY_TIMEZONE = "AMB-TODAY-TIMEZONE"
    UPDATETYPE_CASE = "AMB-UPDATETYPE-CASE"
    EXTRA_FIELDS = "AMB-EXTRA-FIELDS"
    NULL_AS_ABSENT = "AMB-NULL-AS-ABSENT"
    RESULT_ORDER = "AMB-RESULT-ORDER"
    UNDEFINED_REQUESTS = "AMB-UNDEFINED-REQUESTS"
    DELINK_ERROR_CODES = "AMB-DELINK-ERROR-CODES"
    DELINK_MOBILE_TYPE = "AMB-DELINK-MOBILE-TYPE"
    WARNING_SHAPE = "AMB-WARNING-SHAPE"
    W1302_TRIGGER = "AMB-1302-TRIGGER"
    CUSTOMER_NOT_FOUND = "AMB-CUSTOMER-NOT-FOUND"
    MEMBERSHIP_ID_CODE = "AMB-MEMBERSHIP-ID-CODE"
    EMPTY_IDENTIFIERS = "AMB-EMPTY-IDENTIFIERS"
    MALFORMED_CODE = "AMB-MALFORMED-CODE"
    DELINK_URI = "AMB-DELINK-URI"
    LEGACY_BATCH_SUPPORT = "AMB-LEGACY-BATCH-SUPPORT"
    RELINK_PRECEDENCE = "AMB-RELINK-PRECEDENCE"
    UPGRADE_DIRECTION = "AMB-UPGRADE-DIRECTION"
    RENEWAL_INITIATION_EFFECT = "AMB-RENEWAL-INITIATION-EFFECT"
    LEGACY_UPDATE_RESPONSE = "AMB-LEGACY-UPDATE-RESPONSE"
    SAMPLE_PLACEHOLDERS = "AMB-SAMPLE-PLACEHOLDERS"
    SUPPORTING_SHAPES = "AMB-SUPPORTING-SHAPES"
    EVENT_ENVELOPE = "AMB-EVENT-ENVELOPE"
    EVENT_ORGID_KEY = "AMB-EVENT-ORGID-KEY"
    EVENT_RAW_PLACEHOLDERS = "AMB-EVENT-RAW-PLACEHOLDERS"
    EVENT_SAMPLE_QUIRKS = "AMB-EVENT-SAMPLE-QUIRKS"
    EVENT_NAME_WHITESPACE = "AMB-EVENT-NAME-WHITESPACE"
    EVENT_DUPLICATES = "AMB-EVENT-DUPLICATES"
    WEBHOOK_RETRY_TIMING = "AMB-WEBHOOK-RETRY-TIMING"
    EVENT_DEADLINE = "AMB-EVENT-DEADLINE"
    EVENT_REQUEST_ID = "AMB-EVENT-REQUEST-ID"
    WEBHOOK_DEREGISTRATION = "AMB-WEBHOOK-DEREGISTRATION"
    EVENT_QUEUED_RELINK = "AMB-EVENT-QUEUED-RELINK"
    EVENT_DETAILS = "AMB-EVENT-DETAILS"
    EVENT_DATE_FORMAT = "AMB-EVENT-DATE-FORMAT"
    LINK_DEFAULT_TIER = "AMB-LINK-DEFAULT-TIER"
    LINK_DEFAULT_TIER_EXPIRY = "AMB-LINK-DEFAULT-TIER-EXPIRY"
    RELINK_ACTIVATION_STATE = "AMB-RELINK-ACTIVATION-STATE"
    TIER_EXPIRY_DAY = "AMB-TIER-EXPIRY-DAY"
    UNDECLARED_PROGRAMS = "AMB-UNDECLARED-PROGRAMS"
    DELINK_PENDING_RELINK = "AMB-DELINK-PENDING-RELINK"
    POOL_CUSTOMER_HISTORY = "AMB-POOL-CUSTOMER-HISTORY"
    MEMBERSHIP_END = "AMB-MEMBERSHIP-END"
    READ_CONSISTENCY = "AMB-READ-CONSISTENCY"
    UNLISTED_ITEM_CODE = "AMB-UNLISTED-ITEM-CODE"


@dataclass(frozen=True)
class Stances:
    """The ambiguities judged strictly in a run: ids of `AmbiguityId`, or "all" (`ALL`)."""

    strict_ids: frozenset[str] = frozenset()

    def strict(self, ambiguity: AmbiguityId) -> bool:
        """True when `ambiguity` is judged strictly. Raises `TypeError` for anything but an `AmbiguityId`."""
        if not isinstance(ambiguity, AmbiguityId):
            raise TypeError(f"a stance is looked up by AmbiguityId, not {ambiguity!r}")
        return ALL in self.strict_ids or ambiguity.value in self.strict_ids

    @classmethod
    def of(cls, ids: Iterable[str]) -> Stances:
        """Stances from ambiguity ids (or "all"); raises `ValueError` naming any id the register lacks."""
        ids = frozenset(ids)
        unknown = unknown_ids(ids)
        if unknown:
            raise ValueError(f"unknown ambiguity id(s) {', '.join(sorted(unknown))} (see catalogue/ambiguities.yaml)")
        return cls(ids)


def unknown_ids(ids: Iterable[str]) -> set[str]:
    """The ids of `ids` that are neither "all" nor an `AmbiguityId`."""
    known = {a.value for a in AmbiguityId}
    return {i for i in ids if i != ALL and i not in known}


def _check_against_register() -> None:
    register = set(load_catalogue().ambiguities)
    declared = {a.value for a in AmbiguityId}
    if register != declared:
        raise CatalogueError(
            "contract.stances.AmbiguityId and catalogue/ambiguities.yaml differ: "
            f"only in the register {sorted(register - declared)}, only in the code {sorted(declared - register)}"
        )


_check_against_register()
