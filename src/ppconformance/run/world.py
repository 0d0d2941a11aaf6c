"""The state of one scenario: the org it runs in, its customers, its last action.

Steps call `World` methods; `World` builds the documented request bodies and
sends them through `PartnerProgramClient`. It decides nothing about
conformance (that is `verdicts.Judge`), except for setup requests (Given steps
and observations such as loyaltyDetails), which no requirement of the scenario
covers: a setup answered 5xx or with a body that is not JSON raises
`TargetBroken` (an *error* of the run); a setup the target refuses in a
well-formed answer raises `PreconditionFailed` (a failure: the target refused
a documented operation), the message saying which setup request failed.

Provisioning: test customers are registered through `POST /v2/customers`
(`test_data.provisioning: register`, writes allowed) or taken from
`orgs[].customer_pool` (provisioning `pool`, or a read-only run). Every link
request is written to the journal before it is sent, unless it is *harmless*
(no registered customer in it, or no program the profile declares); `cleanup()`
undoes the scenario's links at teardown (see `cleanup`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest

from ppconformance.contract.endpoints import DELINK, LINK, UPDATE, endpoint
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Action
from ppconformance.run.cleanup import CleanupReport, clean, clean_customer, linked_program_names
from ppconformance.run.journal import Journal, JournalEntry
from ppconformance.target.client import Exchange, PartnerProgramClient, TargetBroken
from ppconformance.target.dates import day_boundary, days_from_today
from ppconformance.target.profile import MembershipPeriod, OrgProfile, PoolCustomer, Profile, ProgramProfile

__all__ = ["Customer", "CustomerPool", "PreconditionFailed", "World"]


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


def _setup_answer(ex: Exchange, what: str) -> dict[str, Any]:
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
    """A test customer: identifiers as registered, and the id the target gave it (None if unregistered)."""

    mobile: str
    email: str
    external_id: str
    id: int | None = None

    def identifiers(self, by: str = "mobile") -> dict[str, Any]:
        """The request `customer` object identifying it by one identifier: id, mobile, email or externalId."""
        value = {"id": self.id, "mobile": self.mobile, "email": self.email, "externalId": self.external_id}[by]
        return {by: value}


@dataclass
class World:
    """Per-scenario context.

    Arguments:
    - `profile`: the effective profile.
    - `base_url`: the target.
    - `run_id`: short id of this run, part of every test identity.
    """

    profile: Profile
    base_url: str
    run_id: str
    journal: Journal | None = None
    pool: CustomerPool | None = None
    org: OrgProfile | None = None
    clients: dict[str, PartnerProgramClient] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    last: Action | None = None
    last_exchange: Exchange | None = None
    entries: list[JournalEntry] = field(default_factory=list)
    borrowed: list[tuple[str, PoolCustomer]] = field(default_factory=list)

    # -- org and programs ---------------------------------------------------------
    def use_org(self, relinking: bool | None = None) -> OrgProfile:
        """Select the org for this scenario: the first whose relinking flag equals `relinking`
        (any org when None). Skips the scenario, naming the missing setting, when none does."""
        for org in self.profile.orgs:
            if relinking is None or org.allow_membership_relinking is relinking:
                self.org = org
                return org
        state = "enabled" if relinking else "disabled"
        pytest.skip(
            f"profile {self.profile.name} declares no org with allow_membership_relinking: "
            f"{str(relinking).lower()} (needed: membership relinking {state})"
        )

    def use_org_with_auth(self, scheme: str) -> OrgProfile:
        """Select the first org whose auth scheme is `scheme`; skip naming the setting when none."""
        for org in self.profile.orgs:
            if org.auth.scheme == scheme:
                self.org = org
                return org
        pytest.skip(f"profile {self.profile.name} declares no org with auth.scheme: {scheme}")

    @property
    def client(self) -> PartnerProgramClient:
        """The client of the selected org (the profile's first org when none was selected)."""
        return self.client_for((self.org or self.use_org()).name)

    def client_for(self, org_name: str) -> PartnerProgramClient:
        """The client of the org called `org_name` (KeyError when the profile has none)."""
        if org_name not in self.clients:
            self.clients[org_name] = PartnerProgramClient(self.base_url, self.profile, self.profile.org(org_name))
        return self.clients[org_name]

    def program(self, role: str, *, tiers: int = 0, period: bool = False) -> ProgramProfile:
        """The org's program for `role` ("external", "supplementary", "second_supplementary").

        Skips, naming the profile key, when the role is not declared, has fewer
        than `tiers` tiers, or lacks a membership period when `period` is True.
        """
        org = self.org or self.use_org()
        prog = org.programs.get(role)
        key = f"orgs[{org.name}].programs.{role}"
        if prog is None:
            pytest.skip(f"profile {self.profile.name} does not declare {key}")
        if len(prog.tiers) < tiers:
            pytest.skip(f"profile {self.profile.name}: {key}.tiers needs at least {tiers} tiers")
        if period:
            self._period(prog, key)
        return prog

    def membership_period(self, role: str = "supplementary") -> MembershipPeriod:
        """The membership period of the org's program for `role`; skips, naming the profile key, when the
        role or its membership period is not declared (as `program(role, period=True)` does)."""
        org = self.org or self.use_org()
        return self._period(self.program(role), f"orgs[{org.name}].programs.{role}")

    def _period(self, prog: ProgramProfile, key: str) -> MembershipPeriod:
        if prog.membership_period is None:
            pytest.skip(f"profile {self.profile.name}: {key}.membership_period is not declared")
        return prog.membership_period

    # -- dates ----------------------------------------------------------------------
    def day(self, which: str) -> str:
        """ "today" or "yesterday" in the org's timezone under AMB-TODAY-TIMEZONE."""
        org = self.org or self.use_org()
        return day_boundary(which, org.timezone, strict=self.profile.is_strict(AmbiguityId.TODAY_TIMEZONE))

    def in_days(self, days: int) -> str:
        """Noon, `days` days from today in the org's timezone."""
        return days_from_today(days, (self.org or self.use_org()).timezone)

    # -- customers --------------------------------------------------------------------
    def make_identity(self) -> Customer:
        """A fresh, unregistered identity unique to this run (mobile from the profile's prefix)."""
        prefix = self.profile.mobile_prefix
        digits = "".join(secrets.choice("0123456789") for _ in range(12 - len(prefix)))
        mobile = prefix + digits
        tag = f"{self.run_id}-{digits}"
        return Customer(mobile=mobile, email=f"pp-{tag}@{self.profile.email_domain}", external_id=f"ppc-{tag}")

    def register_customer(self, *, enrolled: bool = True) -> Customer:
        """A customer registered on the target, remembered by the scenario: a new one through
        POST /v2/customers, or one of the org's pool (provisioning "pool", or writes not allowed).

        Raises PreconditionFailed when the target refuses, TargetBroken on a 5xx;
        skips, naming the profile key, when the pool has no free customer.
        """
        if self.profile.provisioning == "pool" or not self.profile.allow_writes:
            return self._borrow(enrolled)
        customer = self.make_identity()
        ex = self.client.add_customer(
            {"mobile": customer.mobile, "email": customer.email, "externalId": customer.external_id}, enrolled=enrolled
        )
        body = _setup_answer(ex, "registering a test customer")
        if ex.status != 200 or not isinstance(body.get("createdId"), int):
            raise PreconditionFailed(f"registering a test customer failed (HTTP {ex.status})\n{ex.render()}")
        customer.id = body["createdId"]
        self.customers.append(customer)
        return customer

    def _borrow(self, enrolled: bool) -> Customer:
        org = self.org or self.use_org()
        pooled = self.pool.acquire(org.name, enrolled) if self.pool else None
        if pooled is None:
            why = "provisioning is pool" if self.profile.provisioning == "pool" else "writes are not allowed"
            kind = "enrolled" if enrolled else "not-enrolled (enrolled: false)"
            pytest.skip(
                f"profile {self.profile.name}: {why} and orgs[{org.name}].customer_pool has no free "
                f"{kind} customer for this process"
            )
        self.borrowed.append((org.name, pooled))
        customer = Customer(mobile=pooled.mobile, email=pooled.email, external_id=pooled.external_id)
        kind, value = next(
            (k, v)
            for k, v in (("mobile", pooled.mobile), ("email", pooled.email), ("externalId", pooled.external_id))
            if v
        )
        ex = self.client.send(
            "GET",
            "/v2/customers/lookup",
            params={"source": self.profile.customer_source, "identifierName": kind, "identifierValue": value},
        )
        body = _setup_answer(ex, f"looking up pool customer {kind} {value}")
        if ex.status != 200 or not isinstance(body.get("entity"), int):
            raise PreconditionFailed(
                f"pool customer {kind} {value} of org {org.name} is not known to the target "
                f"(HTTP {ex.status})\n{ex.render()}"
            )
        customer.id = body["entity"]
        linked = linked_program_names(self.client, customer.id)
        if linked:
            if not self.profile.allow_writes:
                raise PreconditionFailed(
                    f"pool customer {kind} {value} is linked to {linked} and the profile "
                    "does not allow writes to delink it"
                )
            supplementary = [p.name for p in org.programs.values() if p.membership_period and p.name in linked]
            clean_customer(self.client, {"id": customer.id}, linked, supplementary, org.allow_membership_relinking)
        self.customers.append(customer)
        return customer

    @property
    def customer(self) -> Customer:
        """The scenario's (first) customer."""
        if not self.customers:
            raise PreconditionFailed("the scenario has no customer: a Given step must create one first")
        return self.customers[0]

    # -- request bodies -----------------------------------------------------------------
    def _customer_obj(self, customer: Customer, by: str, endpoint: str) -> dict[str, Any]:
        obj = customer.identifiers(by)
        if obj[by] in ("", None) and customer.id is not None:
            pytest.skip(
                f"profile {self.profile.name}: the pool customer {customer.mobile or customer.email} has no "
                f"{by} (add it to its orgs[].customer_pool entry)"
            )
        if self.profile.is_strict(AmbiguityId.EMPTY_IDENTIFIERS):
            obj = {"mobile": "", "email": "", "externalId": "", **obj}
        if endpoint == "deLinkCustomer" and by == "mobile" and self.profile.is_strict(AmbiguityId.DELINK_MOBILE_TYPE):
            obj["mobile"] = int(customer.mobile)
        return obj

    def _harmless(self, customers: list[Customer], names: list[Any]) -> bool:
        """True when the request cannot change state on a conforming target: no registered customer in it,
        or none of its programs is one the profile declares (read-only runs send only such requests)."""
        org = self.org or self.use_org()
        declared = {p.name for p in org.programs.values()}
        return all(c.id is None for c in customers) or not any(n in declared for n in names)

    def link(
        self,
        customers: list[Customer],
        programs: list[dict[str, Any]],
        *,
        by: str = "mobile",
        customer_objs: list[dict[str, Any]] | None = None,
    ) -> Action:
        """POST linkCustomer linking every customer to every program item, journaled first.

        `programs`: items of `linkToPartnerPrograms` ({"partnerProgramName", "customerPartnerReference"}).
        `customer_objs` overrides the `customer` objects sent (for unusual identification).
        """
        objs = customer_objs or [self._customer_obj(c, by, "linkCustomer") for c in customers]
        body = LINK.request_body((o, programs) for o in objs)
        names = [p.get("partnerProgramName") for p in programs]
        harmless = self._harmless(customers, names) if customers else not any(objs)
        if not harmless:
            self._journal(customers or [], objs if not customers else [], names)
        return self._act("linkCustomer", objs, programs, self.client.link(body, harmless=harmless))

    def _journal(self, customers: list[Customer], objs: list[dict[str, Any]], names: list[Any]) -> None:
        if self.journal is None:
            return
        org = self.org or self.use_org()
        supplementary = {p.name for p in org.programs.values() if p.membership_period}
        programs = [(str(n), str(n) in supplementary) for n in dict.fromkeys(names) if isinstance(n, str) and n]
        idents = [{"id": c.id, "mobile": c.mobile} if c.id is not None else {"mobile": c.mobile} for c in customers] + [
            o for o in objs if o
        ]
        for ident in idents:
            self.entries += self.journal.record(org.name, ident, programs)

    def update(self, customers: list[Customer], updates: list[dict[str, Any]], *, by: str = "mobile") -> Action:
        """POST customerPartnerProgramUpdate applying every update item to every customer."""
        objs = [self._customer_obj(c, by, "customerPartnerProgramUpdate") for c in customers]
        body = UPDATE.request_body((o, updates) for o in objs)
        harmless = self._harmless(customers, [u.get("partnerProgramName") for u in updates])
        return self._act("customerPartnerProgramUpdate", objs, updates, self.client.update(body, harmless=harmless))

    def delink(self, customers: list[Customer], names: list[str], *, by: str = "mobile") -> Action:
        """POST deLinkCustomer removing every customer from the named programs."""
        objs = [self._customer_obj(c, by, "deLinkCustomer") for c in customers]
        items = [{"partnerProgramName": n} for n in names]
        body = DELINK.request_body((o, items) for o in objs)
        harmless = self._harmless(customers, list(names))
        return self._act("deLinkCustomer", objs, items, self.client.delink(body, harmless=harmless))

    def cleanup(self, *, contact_target: bool = True) -> CleanupReport:
        """Undo the scenario's links (from its journal entries) and give back pool customers.

        Never raises: what could not be cleaned stays open in the journal for the end-of-run sweep (or,
        with `contact_target=False`, for the next run).
        """
        report = CleanupReport()
        if self.entries and self.journal is not None and self.profile.allow_writes and contact_target:
            report = clean(
                self.entries,
                self.client_for,
                self.journal,
                lambda name: self.profile.org(name).allow_membership_relinking,
            )
            self.entries = []
        for org_name, pooled in self.borrowed:
            if self.pool:
                self.pool.release(org_name, pooled)
        self.borrowed = []
        return report

    def last_action(self) -> Action:
        """The scenario's last Partner Program action; raises PreconditionFailed when none was sent."""
        if self.last is None:
            raise PreconditionFailed("no action was sent in this scenario")
        return self.last

    def latest_exchange(self) -> Exchange:
        """The exchange of the scenario's last request (an action, a raw request or an observation);
        raises PreconditionFailed when none was sent."""
        if self.last_exchange is None:
            raise PreconditionFailed("no request was sent in this scenario")
        return self.last_exchange

    def _act(self, endpoint: str, objs: list[dict[str, Any]], items: list[dict[str, Any]], ex: Exchange) -> Action:
        names = [str(i.get("partnerProgramName")) for i in items]
        self.last = Action(endpoint, objs, [names] * len(objs), ex)
        self.last_exchange = ex
        return self.last

    def link_item(self, program: ProgramProfile, **reference: Any) -> dict[str, Any]:
        """A linkToPartnerPrograms item for `program` with a fresh membership id, the lowest tier (when
        the program has tiers) and the given customerPartnerReference fields (None removes a field)."""
        ref: dict[str, Any] = {"partnerMembershipId": f"M-{self.run_id}-{secrets.token_hex(3)}"}
        if program.tiers:
            ref["partnerTierName"] = program.tiers[0]
        ref.update(reference)
        return {
            "partnerProgramName": program.name,
            "customerPartnerReference": {k: v for k, v in ref.items() if v is not None},
        }

    def establish(self, action: Action, what: str) -> Action:
        """Require a setup action to have succeeded on every item; raises PreconditionFailed otherwise."""
        body = _setup_answer(action.exchange, f"setting up '{what}'")
        ok = action.exchange.status == 200
        if ok:
            for shape in endpoint(action.endpoint).result_shapes:
                for entry in body.get(shape.results_key, []):
                    items = entry.get(shape.programs_key, [])
                    ok = ok and all((i.get(shape.status_key) or {}).get("code") == 200 for i in items)
        if not ok:
            raise PreconditionFailed(f"setting up '{what}' failed on the target\n{action.exchange.render()}")
        return action

    def establish_listed(self, customer: Customer, program_name: str) -> None:
        """Require loyaltyDetails to list `program_name` for `customer` (so that a later absence means
        something); raises PreconditionFailed with the exchange otherwise."""
        if not any(p.get("partnerProgramName") == program_name for p in self.linked_programs(customer)):
            shown = self.last_exchange.render() if self.last_exchange else ""
            raise PreconditionFailed(
                f"the link to {program_name} succeeded but loyaltyDetails does not list it, "
                f"so no delink can be observed\n{shown}"
            )

    def linked_programs(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's linkedPartnerPrograms from loyaltyDetails; raises PreconditionFailed when unreadable."""
        ex = self.client.loyalty_details(customer.id or 0)
        self.last_exchange = ex
        body = _setup_answer(ex, "reading the customer's loyalty details")
        if ex.status != 200 or not isinstance(body.get("linkedPartnerPrograms"), list):
            raise PreconditionFailed(f"reading the customer's loyalty details failed (HTTP {ex.status})\n{ex.render()}")
        return body["linkedPartnerPrograms"]
