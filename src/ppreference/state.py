"""In-memory state of the reference server: customers, partner-program links, pending relinks.

State is kept per org (`OrgState`); customer ids come from one counter shared by
all orgs, so an id is unique across orgs and a customer of another org is simply
"not found". Nothing is persisted: a restart forgets everything.

Every change goes through an `OrgState` method, which bumps the org's `revision`
only when the state really differs afterwards (a customer registered; a link
created, changed or removed; a relink queued or cancelled). `Store.revision`
sums them, so comparing it before and after an action tells whether the action
changed anything. Links are never mutated in place: a changed link is stored
anew with `set_link`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "IDENTIFIER_KINDS",
    "Customer",
    "DuplicateIdentifierError",
    "Link",
    "OrgState",
    "PendingRelink",
    "Store",
]

#: Identifier kinds a customer can be looked up by (besides its numeric id).
IDENTIFIER_KINDS = ("mobile", "email", "externalId")

FIRST_CUSTOMER_ID = 300_000_001


class DuplicateIdentifierError(Exception):
    """An identifier (kind, value) is already used by another customer of the org."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} is already in use")
        self.kind = kind
        self.value = value


@dataclass
class Customer:
    """A customer of one org. `enrolled` is false for `loyaltyType: non_loyalty`."""

    id: int
    org_id: int
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None
    enrolled: bool = True

    def identifier(self, kind: str) -> str | None:
        return {"mobile": self.mobile, "email": self.email, "externalId": self.external_id}[kind]

    def to_json(self) -> dict[str, object]:
        """`{id, mobile?, email?, externalId?}`: keys whose value is unknown are left out."""
        out: dict[str, object] = {"id": self.id}
        for kind in IDENTIFIER_KINDS:
            value = self.identifier(kind)
            if value is not None:
                out[kind] = value
        return out


@dataclass
class Link:
    """A customer's link to one partner program.

    `membership_end` is None for EXTERNAL programs (they have no membership period).
    All datetimes are timezone-aware.
    """

    program_id: int
    membership_id: str
    tier_name: str | None
    tier_expiry: datetime | None
    membership_start: datetime
    membership_end: datetime | None


@dataclass
class PendingRelink:
    """A future-dated relink queued by linkCustomer (link-customer#future-dated-relinking)."""

    program_id: int
    start: datetime
    membership_id: str | None
    tier_name: str | None
    tier_expiry: datetime | None


class OrgState:
    """Customers, links and pending relinks of one org.

    `revision` (int, from 0) grows by one on every change to this org's state.
    """

    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        self.revision = 0
        self.customers: dict[int, Customer] = {}
        self._index: dict[tuple[str, str], int] = {}
        self._links: dict[int, dict[int, Link]] = {}
        self._pending: dict[tuple[int, int], PendingRelink] = {}
        self._removed: set[tuple[int, int]] = set()  # (customer, program) delinked and not linked since

    # customers -----------------------------------------------------------------
    def add_customer(self, customer: Customer) -> None:
        """Register `customer`; raises `DuplicateIdentifierError` if an identifier is taken."""
        for kind in IDENTIFIER_KINDS:
            value = customer.identifier(kind)
            if value is not None and (kind, value) in self._index:
                raise DuplicateIdentifierError(kind, value)
        self.customers[customer.id] = customer
        for kind in IDENTIFIER_KINDS:
            value = customer.identifier(kind)
            if value is not None:
                self._index[(kind, value)] = customer.id
        self.revision += 1

    def find(self, kind: str, value: object) -> Customer | None:
        """The customer with identifier `kind` ("id", "mobile", "email", "externalId") = value."""
        if kind == "id":
            return self.customers.get(value) if isinstance(value, int) else None
        customer_id = self._index.get((kind, str(value)))
        return None if customer_id is None else self.customers[customer_id]

    # links ---------------------------------------------------------------------
    def link(self, customer_id: int, program_id: int) -> Link | None:
        return self._links.get(customer_id, {}).get(program_id)

    def links_of(self, customer_id: int) -> list[Link]:
        """The customer's links, in the order they were made."""
        return list(self._links.get(customer_id, {}).values())

    def set_link(self, customer_id: int, link: Link) -> None:
        """Create or replace the customer's link to `link.program_id` (a change only if it differs)."""
        links = self._links.setdefault(customer_id, {})
        self._removed.discard((customer_id, link.program_id))
        if links.get(link.program_id) != link:
            links[link.program_id] = link
            self.revision += 1

    def remove_link(self, customer_id: int, program_id: int) -> None:
        """Remove the link and any pending relink of that program (delink-customer)."""
        removed = self._links.get(customer_id, {}).pop(program_id, None)
        cancelled = self._pending.pop((customer_id, program_id), None)
        if removed is not None:
            self._removed.add((customer_id, program_id))
        if removed is not None or cancelled is not None:
            self.revision += 1

    def was_removed(self, customer_id: int, program_id: int) -> bool:
        """True when the customer's link to the program was removed and not made again since (read only by
        the fault delink-blocks-relink of `ppreference.faults`)."""
        return (customer_id, program_id) in self._removed

    # pending relinks -------------------------------------------------------------
    def pending(self, customer_id: int, program_id: int) -> PendingRelink | None:
        return self._pending.get((customer_id, program_id))

    def pending_of(self, customer_id: int) -> dict[int, PendingRelink]:
        """The customer's pending relinks by program id."""
        return {pid: relink for (cid, pid), relink in self._pending.items() if cid == customer_id}

    def pending_relinks(self) -> list[tuple[int, PendingRelink]]:
        """Every pending relink of the org as `(customer_id, relink)`, in the order queued."""
        return [(customer_id, relink) for (customer_id, _), relink in self._pending.items()]

    def queue_relink(self, customer_id: int, relink: PendingRelink) -> None:
        key = (customer_id, relink.program_id)
        if self._pending.get(key) != relink:
            self._pending[key] = relink
            self.revision += 1

    def cancel_relink(self, customer_id: int, program_id: int) -> None:
        if self._pending.pop((customer_id, program_id), None) is not None:
            self.revision += 1


class Store:
    """All orgs' state plus the shared customer-id counter."""

    def __init__(self, org_ids: Iterable[int], first_customer_id: int = FIRST_CUSTOMER_ID) -> None:
        self.orgs: dict[int, OrgState] = {org_id: OrgState(org_id) for org_id in org_ids}
        self._ids = itertools.count(first_customer_id)

    def org(self, org_id: int) -> OrgState:
        return self.orgs[org_id]

    @property
    def revision(self) -> int:
        """Grows with every change to any org's state (the sum of the orgs' revisions)."""
        return sum(state.revision for state in self.orgs.values())

    def create_customer(
        self,
        org_id: int,
        *,
        mobile: str | None = None,
        email: str | None = None,
        external_id: str | None = None,
        enrolled: bool = True,
    ) -> Customer:
        """Create a customer in `org_id`; raises `DuplicateIdentifierError` (no id is used up)."""
        state = self.orgs[org_id]
        probe = Customer(0, org_id, mobile, email, external_id, enrolled)
        for kind in IDENTIFIER_KINDS:
            value = probe.identifier(kind)
            if value is not None and state.find(kind, value) is not None:
                raise DuplicateIdentifierError(kind, value)
        probe.id = next(self._ids)
        state.add_customer(probe)
        return probe
