"""Test data of one scenario: customers registered or borrowed, links journaled before they are sent, and
undone at the end.

Test customers are registered through `POST /v2/customers` (`test_data.provisioning: register`, writes
allowed), at the places of the suite's customer pool, whose customers later runs find again and reuse
(`run.customer_pool`; with `test_data.reuse_customers: false`, random identities instead), or taken from
`orgs[].customer_pool` (provisioning `pool`, or a read-only run). Every link request
that could change state is written to the journal before it is sent (`journal_link`); `cleanup` undoes the
scenario's links at teardown (see `ppconformance.run.cleanup`) and gives pool customers back.

A setup request no requirement of the scenario covers (registering, looking up a pool customer) answered
5xx or with a body that is not JSON raises `TargetBroken` (an error of the run, `setup_answer`); one the
target refuses in a well-formed answer raises `PreconditionFailed` (a failure: the target refused a
documented operation).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ppconformance.connection.client import Exchange, PartnerProgramClient, TargetBroken
from ppconformance.connection.identities import random_mobile
from ppconformance.connection.profile import OrgProfile, PoolCustomer, Profile
from ppconformance.run.cleanup import CleanupReport, Known, clean, clean_customer, linked_program_names
from ppconformance.run.customer_pool import Found, SuitePool, confirm
from ppconformance.run.link_journal import Journal, JournalEntry

__all__ = ["Customer", "CustomerPool", "PreconditionFailed", "Provisioner", "setup_answer"]


class PreconditionFailed(AssertionError):
    """A Given step could not establish its state on the target (shown with the exchange)."""


class CustomerPool:
    """The process's share of each org's `customer_pool`: xdist worker i of n gets entries i, i+n, ...

    `acquire` hands out a customer not in use (None when all are); `release` returns it.
    """

    def __init__(self, profile: Profile, worker: int = 0, workers: int = 1) -> None:
        self.free = {org.name: list(org.customer_pool[worker::workers]) for org in profile.orgs}

    def acquire(self, org: str, enrolled: bool) -> PoolCustomer | None:
        """Take a free customer of `org` whose enrolment matches, or None."""
        for customer in self.free.get(org, []):
            if customer.enrolled is enrolled:
                self.free[org].remove(customer)
                return customer
        return None

    def release(self, org: str, customer: PoolCustomer) -> None:
        """Give `customer` back."""
        self.free[org].append(customer)


def setup_answer(ex: Exchange, what: str) -> dict[str, Any]:
    """The JSON object a setup request got back; raises TargetBroken on a 5xx or a body that is not JSON."""
    if ex.status >= 500:
        raise TargetBroken(
            f"ERROR (not a conformance failure): {what}: the target answered HTTP {ex.status} "
            f"to a well-formed setup request\n{ex.render()}"
        )
    if not isinstance(ex.response_json, dict):
        raise TargetBroken(
            f"ERROR (not a conformance failure): {what}: the answer (HTTP {ex.status}) is not "
            f"a JSON object\n{ex.render()}"
        )
    return ex.response_json


@dataclass
class Customer:
    """A test customer: identifiers as registered, the id the target gave it (None if unregistered), and the
    programs whose state is not known at provisioning (`uncertain`: a pool customer that could not be cleaned
    of them), and whether it is enrolled in the loyalty program (registered with loyaltyType loyalty)."""

    mobile: str
    email: str
    external_id: str
    id: int | None = None
    uncertain: tuple[str, ...] = ()
    enrolled: bool = True

    def identifiers(self, by: str = "mobile") -> dict[str, Any]:
        """The request `customer` object identifying it by one identifier: id, mobile, email or externalId."""
        value = {"id": self.id, "mobile": self.mobile, "email": self.email, "externalId": self.external_id}[by]
        return {by: value}


@dataclass
class Provisioner:
    """The test data of one scenario (see the module docstring).

    - `profile`, `run_id`: what test identities are made of (mobile prefix, email domain, the run's id);
    - `journal`: the run's provisioning journal (None: nothing is journaled, e.g. a unit test);
    - `pool`: this process's share of the profiles' hand-listed customer pools;
    - `suite_pool`: this process's share of the suite's customer pools (`run.customer_pool`), which also counts the
      customers registered, reused and set aside (None: random identities, nothing counted, e.g. a unit test);
    - `entries` / `borrowed`: what `cleanup` undoes (journal entries written, pool customers taken).
    """

    profile: Profile
    run_id: str
    journal: Journal | None = None
    pool: CustomerPool | None = None
    suite_pool: SuitePool | None = None
    entries: list[JournalEntry] = field(default_factory=list)
    borrowed: list[tuple[str, PoolCustomer]] = field(default_factory=list)

    def make_identity(self) -> Customer:
        """A fresh, unregistered identity unique to this run (a random mobile behind the profile's prefix, never one
        of the customer pool's: `connection.identities.random_mobile`)."""
        mobile = random_mobile(self.profile.mobile_prefix, secrets.choice)
        tag = f"{self.run_id}-{mobile[len(self.profile.mobile_prefix) :]}"
        return Customer(mobile=mobile, email=f"pp-{tag}@{self.profile.email_domain}", external_id=f"ppc-{tag}")

    def register(self, client: PartnerProgramClient, org: OrgProfile, *, enrolled: bool = True) -> Customer:
        """A customer enrolled (or not) and never linked, remembered by the scenario: a customer of the suite's pool
        (one an earlier run registered, confirmed first, or a new one registered at the pool's next free place:
        `run.customer_pool`), else a new one with a random identity through POST /v2/customers, or one of the org's
        hand-listed pool (provisioning "pool", or writes not allowed).

        Raises PreconditionFailed when the target refuses, TargetBroken on a 5xx;
        skips, naming the profile key, when the hand-listed pool has no free customer.
        """
        if self.profile.provisioning == "pool" or not self.profile.allow_writes:
            return self.borrow(client, org, enrolled)
        pooled = self.from_pool(client, org, enrolled) if self.suite_pool is not None else None
        if pooled is not None:
            return pooled
        customer = self.make_identity()
        customer.id = self._add(client, customer, enrolled)
        customer.enrolled = enrolled
        return customer

    def _add(self, client: PartnerProgramClient, customer: Customer, enrolled: bool) -> int:
        """POST /v2/customers for `customer`; its new id. Raises PreconditionFailed when refused, TargetBroken on
        a 5xx or a body that is not JSON."""
        ex = self._try_add(client, customer, enrolled)
        if isinstance(ex, int):
            return ex
        raise PreconditionFailed(f"registering a test customer failed (HTTP {ex.status})\n{ex.render()}")

    def _try_add(self, client: PartnerProgramClient, customer: Customer, enrolled: bool) -> int | Exchange:
        """POST /v2/customers for `customer`: its new id, or the exchange of a refusal. Raises TargetBroken on a 5xx
        or a body that is not JSON."""
        ids = {"mobile": customer.mobile, "email": customer.email, "externalId": customer.external_id}
        ex = client.add_customer(ids, enrolled=enrolled)
        body = setup_answer(ex, "registering a test customer")
        if ex.status != 200 or not isinstance(body.get("createdId"), int):
            return ex
        if self.suite_pool is not None:
            self.suite_pool.tally.registered += 1
        return int(body["createdId"])

    def from_pool(self, client: PartnerProgramClient, org: OrgProfile, enrolled: bool) -> Customer | None:
        """A customer of the suite's pool of `org` in the state of one never linked (`run.customer_pool`, steps 2-4):
        the next place this process may take; a customer found there is confirmed (or set aside, and the next place
        taken), a free place is registered, and a registration refused because the place is held after all is
        looked up (GET /v2/customers/lookup) and confirmed. None when the pool is off or this process's share is
        used up. Raises PreconditionFailed when a registration is refused and the lookup finds nobody, TargetBroken
        on a 5xx to either."""
        pool = self.suite_pool
        assert pool is not None
        while (slot := pool.take(org.name, enrolled)) is not None:
            ident = slot.identity
            customer = Customer(
                mobile=ident.mobile, email=ident.email, external_id=ident.external_id, enrolled=enrolled
            )
            found, settled = slot.found, True
            if found is None:
                added = self._try_add(client, customer, enrolled)
                if isinstance(added, int):
                    customer.id = added
                    return customer
                lookup = client.lookup("mobile", ident.mobile)
                entity = setup_answer(lookup, f"looking up pool customer {ident.mobile}").get("entity")
                if lookup.status != 200 or not isinstance(entity, int):
                    raise PreconditionFailed(
                        f"registering a test customer failed (HTTP {added.status}) and the lookup of its mobile "
                        f"found nobody\n{added.render()}\n{lookup.render()}"
                    )
                found, settled = Found(entity), False
            customer.id = found.id
            if found.fresh:  # registered by this run's preflight: never linked
                return customer
            why = confirm(client, self.profile, org, found.id, settled and found.settled)
            if why is None:
                pool.tally.reused += 1
                return customer
            pool.set_aside(slot, why)
        return None

    def borrow(self, client: PartnerProgramClient, org: OrgProfile, enrolled: bool) -> Customer:
        """A free pool customer of `org`, looked up on the target and delinked from whatever it is linked to;
        skips, naming the profile key, when the pool has none; raises PreconditionFailed when the target does
        not know it (or it is linked and writes are not allowed)."""
        pooled = self.pool.acquire(org.name, enrolled) if self.pool else None
        if pooled is None:
            why = "provisioning is pool" if self.profile.provisioning == "pool" else "writes are not allowed"
            kind = "enrolled" if enrolled else "not-enrolled (enrolled: false)"
            pytest.skip(
                f"profile {self.profile.name}: {why} and orgs[{org.name}].customer_pool has no free "
                f"{kind} customer for this process"
            )
        self.borrowed.append((org.name, pooled))
        if self.suite_pool is not None:
            self.suite_pool.tally.borrow(f"{org.name}:{pooled.mobile}:{pooled.email}:{pooled.external_id}")
        customer = Customer(
            mobile=pooled.mobile, email=pooled.email, external_id=pooled.external_id, enrolled=pooled.enrolled
        )
        kind, value = next(
            (k, v)
            for k, v in (("mobile", pooled.mobile), ("email", pooled.email), ("externalId", pooled.external_id))
            if v
        )
        ex = client.send(
            "GET",
            "/v2/customers/lookup",
            params={"source": self.profile.customer_source, "identifierName": kind, "identifierValue": value},
        )
        body = setup_answer(ex, f"looking up pool customer {kind} {value}")
        if ex.status != 200 or not isinstance(body.get("entity"), int):
            raise PreconditionFailed(
                f"pool customer {kind} {value} of org {org.name} is not known to the target "
                f"(HTTP {ex.status})\n{ex.render()}"
            )
        customer.id = body["entity"]
        linked = linked_program_names(client, customer.id)
        if linked:
            if not self.profile.allow_writes:
                raise PreconditionFailed(
                    f"pool customer {kind} {value} is linked to {linked} and the profile "
                    "does not allow writes to delink it"
                )
            supplementary = [p.name for p in org.programs.values() if p.membership_period and p.name in linked]
            left = clean_customer(client, {"id": customer.id}, linked, supplementary, org.allow_membership_relinking)
            customer.uncertain = tuple(linked if left is None else left)
        elif linked is None:
            customer.uncertain = tuple(p.name for p in org.programs.values())
        return customer

    def journal_link(
        self, org: OrgProfile, customers: list[Customer], objs: list[dict[str, Any]], names: list[Any]
    ) -> None:
        """Journal a link request before it is sent: each customer (or raw customer object) of `org` with each
        named program (supplementary ones marked, for the cancel that cleanup sends first)."""
        if self.journal is None:
            return
        supplementary = {p.name for p in org.programs.values() if p.membership_period}
        programs = [(str(n), str(n) in supplementary) for n in dict.fromkeys(names) if isinstance(n, str) and n]
        idents = [{"id": c.id, "mobile": c.mobile} if c.id is not None else {"mobile": c.mobile} for c in customers] + [
            o for o in objs if o
        ]
        for ident in idents:
            self.entries += self.journal.record(org.name, ident, programs)

    def cleanup(
        self,
        client_for: Callable[[str], PartnerProgramClient],
        *,
        contact_target: bool = True,
        known: dict[int, Known] | None = None,
    ) -> CleanupReport:
        """Undo the scenario's links (from its journal entries) and give back pool customers; `known` (customer id
        -> `Known`) lets `cleanup.clean` skip what needs no request.

        Never raises: what could not be cleaned stays open in the journal for the end-of-run sweep (or,
        with `contact_target=False`, for the next run).
        """
        report = CleanupReport()
        if self.entries and self.journal is not None and self.profile.allow_writes and contact_target:
            report = clean(
                self.entries,
                client_for,
                self.journal,
                lambda name: self.profile.org(name).allow_membership_relinking,
                known=known,
            )
            self.entries = []
        for org_name, pooled in self.borrowed:
            if self.pool:
                self.pool.release(org_name, pooled)
        self.borrowed = []
        return report
