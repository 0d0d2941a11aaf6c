"""The status objects the three Partner Program endpoints answer: the documented codes and their messages.

Doc sources: `link-customer#error-codes`, `update-partner-program#error-codes`, `delink-customer`,
`capillary-facts` (customer statuses 1000/8013/8015/8089). `rules.py` answers them; the fault catalogue names some
of them where a fault answers one code for another (`seams.Answer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .payloads import MAX_BATCH

__all__ = [
    "ALREADY_LINKED",
    "BAD_UPDATE_TYPE",
    "BATCH_LIMIT",
    "CUSTOMER_FOUND",
    "EMPTY_NAME",
    "NOTHING_PENDING",
    "NOT_ENROLLED",
    "NOT_FOUND",
    "NOT_LINKED",
    "NOT_REGISTERED",
    "NO_IDENTIFIER",
    "ONE_SUPPLEMENTARY",
    "PAST_START",
    "PAST_TIER_EXPIRY",
    "PROGRAM_NOT_FOUND",
    "RELINKING_DISABLED",
    "RENEWAL_NOT_ALLOWED",
    "SUCCESS",
    "TIER_NOT_FOUND",
    "UNLISTED",
    "WARNING_1302",
    "Status",
    "empty",
    "fail",
    "unparseable",
]


@dataclass(frozen=True)
class Status:
    """A status object `{"status": bool, "code": int, "message": str}`."""

    ok: bool
    code: int
    message: str

    def to_json(self) -> dict[str, Any]:
        """-> `{"status": ok, "code": code, "message": message}`."""
        return {"status": self.ok, "code": self.code, "message": self.message}


def fail(code: int, message: str) -> Status:
    """A failing status (`status: false`) with `code` and `message`."""
    return Status(False, code, message)


def empty(field: str) -> Status:
    """2002 for a required field that is empty or null (link-customer#error-codes, update-partner-program)."""
    return fail(2002, f"Required field is empty or null: {field}")


def unparseable(field: str) -> Status:
    """2002 for a date field that is not an ISO 8601 date (reference-behaviour: "unparseable -> 2002")."""
    return fail(2002, f"Invalid date: {field} is not an ISO 8601 date")


SUCCESS = Status(True, 200, "Success")
CUSTOMER_FOUND = Status(True, 1000, "Customer successfully retrieved")
NO_IDENTIFIER = fail(8013, "Invalid identifier: at least one customer identifier is required")
NOT_FOUND = fail(8015, "No customer found with the given identifier")
NOT_REGISTERED = fail(8089, "Customer is not registered for the loyalty program")
UNLISTED = fail(2010, "Customer reference could not be resolved")
WARNING_1302 = fail(1302, "Supplementary program expiry is before membership expiry")

EMPTY_NAME = empty("partnerProgramName")
PAST_TIER_EXPIRY = fail(2003, "Partner tier expiry date must be today or a future date")
NOT_LINKED = fail(2004, "Customer is not linked with the partner program")
NOT_ENROLLED = fail(2005, "Customer not enrolled in loyalty program")
ALREADY_LINKED = fail(2005, "Partner program already linked with customer")
PROGRAM_NOT_FOUND = fail(2006, "Partner program not found")
TIER_NOT_FOUND = fail(2007, "Partner program tier not found")
BAD_UPDATE_TYPE = fail(
    2009,
    "updateType supports only UPGRADE, DOWNGRADE, RENEW, MEMBERSHIP_RELINKING_CANCELLED, MEMBERSHIP_RENEWAL_INITIATION",
)
ONE_SUPPLEMENTARY = fail(2019, "Customer can only be linked to one supplementary partner program at a time")
PAST_START = fail(2025, "membershipStartDate is in the past")
RELINKING_DISABLED = fail(2026, "Membership relinking is not enabled for this organisation")
NOTHING_PENDING = fail(2027, "No pending relinking found to cancel")
RENEWAL_NOT_ALLOWED = fail(2028, "Membership renewal via this API is not allowed for this organisation")
BATCH_LIMIT = fail(2008, f"Batch limit exceeded: at most {MAX_BATCH} customers per request")
