"""The state of one scenario: the org it runs in, its customers, its last action.

Steps call `World` methods; `World` sends the documented requests through `PartnerProgramClient`, with
bodies from `run.bodies.Bodies` and test data from `run.provision.Provisioner` (registering or borrowing
customers, journaling links, cleanup). It decides nothing about
conformance (that is `verdicts.Judge`), except for setup requests (Given steps
and observations such as loyaltyDetails), which no requirement of the scenario
covers: a setup answered 5xx or with a body that is not JSON raises
`TargetBroken` (an *error* of the run); a setup the target refuses in a
well-formed answer raises `PreconditionFailed` (a failure: the target refused
a documented operation), the message saying which setup request failed.

Every link request is journaled before it is sent, unless it is *harmless* (no registered customer in it,
or no program the profile declares); `cleanup()` undoes the scenario's links at teardown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ppconformance.connection.client import Exchange, PartnerProgramClient
from ppconformance.connection.dates import day_boundary, days_from_today
from ppconformance.connection.profile import MembershipPeriod, OrgProfile, Profile, ProgramProfile
from ppconformance.contract.endpoints import DELINK, LINK, UPDATE, Endpoint
from ppconformance.contract.model import CustomerState
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Action
from ppconformance.run.bodies import Bodies
from ppconformance.run.cleanup import CleanupReport, Known, send_delink
from ppconformance.run.customer_pool import SuitePool
from ppconformance.run.customer_reuse import Reusable, ReusableCustomers
from ppconformance.run.expected_state import ExpectedState, Observation
from ppconformance.run.link_journal import Journal
from ppconformance.run.provision import Customer, CustomerPool, PreconditionFailed, Provisioner, setup_answer

__all__ = ["Customer", "CustomerPool", "PreconditionFailed", "StateSeen", "World"]


@dataclass(frozen=True)
class StateSeen:
    """One customer the oracle reports: the customer, the expected state of its org, its modelled state, and its
    loyaltyDetails reads not reported yet, each compared with the model when it was made (the last one made after
    the customer's last write)."""

    customer: Customer
    expected: ExpectedState
    state: CustomerState
    observations: list[Observation]


@dataclass
class World:
    """Per-scenario context.

    Arguments:
    - `profile`: the effective profile.
    - `base_url`: the target.
    - `run_id`: short id of this run, part of every test identity.
    - `pool`: the process's share of the profile's hand-listed `customer_pool`s; `suite_pool`: its share of the
      suite's customer pools (`run.customer_pool`: customers of earlier runs found again, new ones registered at
      the pool's places); None (unit tests): random identities;
    - `reusable`: the process's reusable customers (`run.customer_reuse`): customers carried on from earlier
      scenarios, and the cleanup deferred to the end of the process; None (pool provisioning, read-only runs,
      unit tests): every customer is the scenario's own and its links are undone at teardown.
    - `clients`: the HTTP clients by org, shared by the process's scenarios (one connection pool and one OAuth
      token per org); each scenario's exchanges are cleared at its teardown.
    - `listens`: the scenario judges webhook events: it reuses only customers never linked, so every event of
      its customer's programs comes from its own writes (a link made before the suite's webhook
      was registered is announced to nobody).
    - `workers`: how many processes share the run's rate limit (`RunContext.workers`), for the clients it creates.
    """

    profile: Profile
    base_url: str
    run_id: str
    journal: Journal | None = None
    pool: CustomerPool | None = None
    suite_pool: SuitePool | None = None
    reusable: ReusableCustomers | None = None
    listens: bool = False
    workers: int = 1
    org: OrgProfile | None = None
    clients: dict[str, PartnerProgramClient] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    last: Action | None = None
    last_exchange: Exchange | None = None
    reads: list[Exchange] = field(default_factory=list)
    settled: list[tuple[float, bool]] = field(default_factory=list)
    """Per read the target needed re-reading for: seconds from the write's answer to the last read, and whether it
    then agreed with the model (the run's convergence figures)."""
    expected_states: dict[str, ExpectedState] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)
    _dates: int = field(default=0, repr=False)
    provisioner: Provisioner = field(init=False)
    bodies: Bodies = field(init=False)
    _traced: list[tuple[int, Action]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.provisioner = Provisioner(self.profile, self.run_id, self.journal, self.pool, self.suite_pool)
        self.bodies = Bodies(self.profile, self.run_id)

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

    def other_org(self) -> OrgProfile:
        """The profile's first org other than the selected one: the other tenant of the tenant-isolation
        scenarios. Skips, naming the key, when the profile declares one org only."""
        org = self.org or self.use_org()
        other = next((o for o in self.profile.orgs if o.name != org.name), None)
        if other is None:
            pytest.skip(f"profile {self.profile.name} declares one org; tenant isolation needs a second (orgs[1])")
        return other

    @contextmanager
    def in_org(self, org: OrgProfile) -> Iterator[None]:
        """Send this block's requests with `org`'s credentials (its client, expected state and journal), then select the
        scenario's org again."""
        before = self.org or self.use_org()
        self.org = org
        try:
            yield
        finally:
            self.org = before

    @property
    def client(self) -> PartnerProgramClient:
        """The client of the selected org (the profile's first org when none was selected)."""
        return self.client_for((self.org or self.use_org()).name)

    def client_for(self, org_name: str) -> PartnerProgramClient:
        """The client of the org called `org_name` (KeyError when the profile has none)."""
        if org_name not in self.clients:
            org = self.profile.org(org_name)
            self.clients[org_name] = PartnerProgramClient(self.base_url, self.profile, org, workers=self.workers)
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
        """Noon, `days` days from today in the org's timezone; under strict AMB-TIER-EXPIRY-DAY half an hour from
        the org's midnight instead (00:30 east of UTC, 23:30 west of it), where the org's calendar day and UTC's
        differ, so a target that stores the UTC day shows."""
        tz = (self.org or self.use_org()).timezone
        if self.profile.is_strict(AmbiguityId.TIER_EXPIRY_DAY):
            offset = datetime.now(ZoneInfo(tz)).utcoffset() or timedelta(0)
            at = day_time(0, 30) if offset > timedelta(0) else day_time(23, 30)
            return days_from_today(days, tz, at=at)
        return days_from_today(days, tz)

    # -- customers (provisioned by `self.provisioner`) ------------------------------------
    def make_identity(self) -> Customer:
        """A fresh, unregistered identity unique to this run (`Provisioner.make_identity`)."""
        return self.provisioner.make_identity()

    def register_customer(self, *, enrolled: bool = True) -> Customer:
        """A customer enrolled (or not) in the loyalty program and never linked, remembered by the scenario: one
        from the reusable customers when there are, else registered on the target (or borrowed from the pool); see
        `Provisioner.register` for what it raises or skips."""
        if enrolled:
            reused = self.reuse(1, {})
            if reused:
                return reused[0]
        customer = self.provisioner.register(self.client, self.org or self.use_org(), enrolled=enrolled)
        self.customers.append(customer)
        if customer.id is not None:
            self.expected.add(customer.id, customer.uncertain)
            self._note("customer", customer=customer.id, enrolled=enrolled, unknown=list(customer.uncertain))
        return customer

    def reuse(self, count: int, listed: dict[str, str | None]) -> list[Customer]:
        """Up to `count` reusable customers whose programs are exactly `listed` (program name -> its tier, or
        None for any tier; `{}`: enrolled and never linked), taken by this scenario with their modelled state.
        [] without reusable customers."""
        if self.reusable is None or (self.listens and listed):
            return []
        org = self.org or self.use_org()

        def fits(kept: Reusable) -> bool:
            programs = kept.state.programs
            shown = {name for name, p in programs.items() if p.listed.value is True}
            if not kept.customer.enrolled or (not listed and not kept.pristine):
                return False
            return shown == set(listed) and all(
                tier is None or programs[name].tier.value == tier for name, tier in listed.items()
            )

        taken = self.reusable.take(org.name, fits, count)
        for kept in taken:
            self.customers.append(kept.customer)
            self.expected.adopt(int(kept.customer.id or 0), kept.state, pristine=kept.pristine)
            self._note("reuse", customer=kept.customer.id)
        return [b.customer for b in taken]

    @property
    def expected(self) -> ExpectedState:
        """The expected state of the selected org (`run.expected_state`): the documented model of the scenario's
        customers and what was last observed of them."""
        org = self.org or self.use_org()
        if org.name not in self.expected_states:
            self.expected_states[org.name] = ExpectedState(org, self.profile)
        return self.expected_states[org.name]

    @property
    def customer(self) -> Customer:
        """The scenario's (first) customer."""
        if not self.customers:
            raise PreconditionFailed("the scenario has no customer: a Given step must create one first")
        return self.customers[0]

    def _harmless(self, customers: list[Customer], names: list[Any]) -> bool:
        """True when the request cannot change state on a conforming target: no registered customer in it,
        or none of its programs is one the profile declares (read-only runs send only such requests)."""
        org = self.org or self.use_org()
        declared = {p.name for p in org.programs.values()}
        return all(c.id is None for c in customers) or not any(n in declared for n in names)

    @staticmethod
    def _per_customer(
        count: int, items: list[dict[str, Any]] | None, each: list[list[dict[str, Any]]] | None
    ) -> list[list[dict[str, Any]]]:
        """The items of each of `count` request entries: `each[i]` when given (one list per customer), else the
        same `items` for every entry."""
        if each is not None:
            if len(each) != count:
                raise ValueError(f"{count} customers but {len(each)} item lists")
            return [list(e) for e in each]
        return [list(items or []) for _ in range(count)]

    def link(
        self,
        customers: list[Customer],
        programs: list[dict[str, Any]] | None = None,
        *,
        by: str = "mobile",
        customer_objs: list[dict[str, Any]] | None = None,
        each: list[list[dict[str, Any]]] | None = None,
    ) -> Action:
        """POST linkCustomer linking every customer to every program item, journaled first.

        `programs`: items of `linkToPartnerPrograms` ({"partnerProgramName", "customerPartnerReference"}), the
        same for every customer; `each`: instead, one list of items per customer (so a batch's customers get
        values of their own, and a swap between them shows). `customer_objs` overrides the `customer` objects
        sent (for unusual identification).
        """
        objs = customer_objs or [self.bodies.customer_obj(c, by, LINK) for c in customers]
        per = self._per_customer(len(objs), programs, each)
        body = LINK.request_body(zip(objs, per, strict=True))
        names = list(dict.fromkeys(p.get("partnerProgramName") for items in per for p in items))
        harmless = self._harmless(customers, names) if customers else not any(objs)
        if not harmless:
            org = self.org or self.use_org()
            self.provisioner.journal_link(org, customers or [], objs if not customers else [], names)
        ex = self.client.link(body, harmless=harmless)
        return self._act(LINK, objs, per, ex, customers if customer_objs is None else [])

    def update(
        self,
        customers: list[Customer],
        updates: list[dict[str, Any]] | None = None,
        *,
        by: str = "mobile",
        each: list[list[dict[str, Any]]] | None = None,
    ) -> Action:
        """POST customerPartnerProgramUpdate applying every update item to every customer (`each`: one list of
        update items per customer instead)."""
        objs = [self.bodies.customer_obj(c, by, UPDATE) for c in customers]
        per = self._per_customer(len(objs), updates, each)
        body = UPDATE.request_body(zip(objs, per, strict=True))
        harmless = self._harmless(customers, [u.get("partnerProgramName") for items in per for u in items])
        ex = self.client.update(body, harmless=harmless)
        return self._act(UPDATE, objs, per, ex, customers)

    def delink(
        self,
        customers: list[Customer],
        names: list[str] | None = None,
        *,
        by: str = "mobile",
        each: list[list[str]] | None = None,
    ) -> Action:
        """POST deLinkCustomer removing every customer from the named programs (`each`: one list of program names
        per customer instead)."""
        objs = [self.bodies.customer_obj(c, by, DELINK) for c in customers]
        per_names = each if each is not None else [list(names or []) for _ in objs]
        per = self._per_customer(len(objs), None, [self.bodies.delink_items(n) for n in per_names])
        body = DELINK.request_body(zip(objs, per, strict=True))
        harmless = self._harmless(customers, [n for ns in per_names for n in ns])
        retry = any(c.id is not None for c in customers)  # an unregistered customer is never identified
        ex = send_delink(self.client, body, harmless=harmless, retry=retry)
        return self._act(DELINK, objs, per, ex, customers)

    def cleanup(self, *, contact_target: bool = True) -> CleanupReport:
        """Undo the scenario's links and give back pool customers (`Provisioner.cleanup`), skipping what the
        expected states know needs no request (`ExpectedState.known`); with reusable customers, the customers the
        oracle confirmed are kept and the cleanup is deferred to the end of the process (`ReusableCustomers.flush`).
        Never raises."""
        known: dict[int, Known] = {}
        for expected in self.expected_states.values():
            known.update(expected.known())
        if self.reusable is not None and contact_target:
            for org_name, expected in self.expected_states.items():
                for customer in self.customers:
                    cid = customer.id
                    state = expected.model.state(cid) if cid is not None else None
                    if cid is not None and state is not None and expected.reusable(cid):
                        self.reusable.give(org_name, Reusable(customer, state, cid not in expected.linked_once))
            self.reusable.defer(self.provisioner.entries, known)
            self.provisioner.entries = []
        return self.provisioner.cleanup(self.client_for, contact_target=contact_target, known=known)

    def exchanges(self) -> list[Exchange]:
        """The scenario's exchanges, every org's, in the order each client sent them."""
        return [ex for client in self.clients.values() for ex in client.exchanges]

    def observe_state(self, customers: list[Customer] | None = None) -> list[StateSeen]:
        """For the oracle: each modelled customer of `customers` (default: every customer of the scenario) with its
        loyaltyDetails reads not reported yet, the last made after its last write (a Then step's read is reused;
        it is read again otherwise). Raises PreconditionFailed when a read fails, TargetBroken on a 5xx."""
        seen = []
        expected = self.expected
        for customer in self.customers if customers is None else customers:
            state = expected.model.state(customer.id) if customer.id is not None else None
            if customer.id is None or state is None:
                continue
            if expected.fresh(customer.id) is None:
                self.linked_programs(customer)
            observations = expected.report(customer.id)
            if observations:
                seen.append(StateSeen(customer, expected, state, observations))
        return seen

    def read_elsewhere(self, customer: Customer) -> list[Exchange]:
        """Look `customer` up by its mobile and read its loyaltyDetails with the selected org's credentials (the
        other tenant's, inside `in_org`); the two exchanges, kept in `reads` for the Then step."""
        self.reads = [self.client.lookup("mobile", customer.mobile), self.client.loyalty_details(customer.id or 0)]
        self.last_exchange = self.reads[-1]
        return self.reads

    def scheduler_ran(self, customer: Customer, as_of: date) -> None:
        """The target's scheduler ran for `customer` as of `as_of` (the reference clock): relinks due start."""
        if customer.id is not None:
            self.expected.model.activate_relinks(customer.id, as_of)
            self.expected.scheduled(customer.id)
            self._note("clock", customer=customer.id, as_of=as_of.isoformat())

    # -- the scenario trace (the observability audit's input, docs/state-oracle.md) --------------------------
    def _note(self, op: str, **fields: Any) -> int:
        """Append one entry to the scenario trace (`trace`) in the selected org; returns its index."""
        self.trace.append({"op": op, "org": (self.org or self.use_org()).name, **fields})
        return len(self.trace) - 1

    def note_event(self, action: Action | None, event: str, *, customer: Customer, program: str, present: bool) -> None:
        """A webhook Then step judged `event` for `customer` and `program`, caused by `action` (None: by the
        scheduler's last run) (`present`: that it arrived and announces the write; False: that no event announces
        it)."""
        write = next((i for i, a in self._traced if a is action), None)
        self._note("event", write=write, event=event, customer=customer.id, program=program, present=present)

    def event_details(self, customer: Customer, program_name: str) -> dict[str, Any]:
        """What an event about `customer`'s program must say of it after the scenario's writes, from the state
        model (`webhooks.match.Expected` fields): the membership id, the discovered `partnerTierNumber` of its tier
        and its tier expiry's calendar date, each only where the model knows it (a don't-care or unknown value is
        left out), and the org's timezone."""
        org = self.org or self.use_org()
        out: dict[str, Any] = {"tz": org.timezone}
        state = self.expected.model.state(customer.id) if customer.id is not None else None
        program = state.programs.get(program_name) if state else None
        if program is None or program.listed.value is not True:
            return out
        stances = self.profile.stances
        declared = next((p for p in org.programs.values() if p.name == program_name), None)
        if isinstance(program.membership_id.value, str) and program.membership_id.compared(stances):
            out["membership_number"] = program.membership_id.value
        if declared is not None and program.tier.compared(stances):
            out["tier_number"] = declared.tier_number(program.tier.value)
        if isinstance(program.tier_expiry.value, date) and program.tier_expiry.compared(stances):
            out["tier_expiry"] = program.tier_expiry.value
            out["tier_expiry_alternates"] = program.tier_expiry.alternates
        return out

    def traced(self) -> list[dict[str, Any]]:
        """The scenario trace as JSON-ready entries: every customer provisioned or reused, every write
        (endpoint, the customer id of each entry, the items sent per entry, the item codes the model took from the
        answer, and whether a verdict held every item to success), every loyaltyDetails read, every event judged
        and every run of the scheduler, in order. What the audit (`python -m tools.observability`) replays."""
        out = [dict(e) for e in self.trace]
        for index, action in self._traced:
            out[index]["judged"] = action.judged
        return out

    def link_item(self, program: ProgramProfile, **reference: Any) -> dict[str, Any]:
        """A linkToPartnerPrograms item for `program` (`Bodies.link_item`: a fresh membership id, the middle tier),
        with a tier expiry of its own (`distinct_expiry`) unless `reference` names one (None: none sent)."""
        if "partnerTierExpiryDate" not in reference:
            reference["partnerTierExpiryDate"] = self.distinct_expiry(program)
        return self.bodies.link_item(program, **reference)

    def distinct_expiry(self, program: ProgramProfile) -> str:
        """A tier expiry no other date of the scenario is within a day of (each call the next one): 40, 43, 46, ...
        days from today for a program without a membership period; for a supplementary one a day inside its
        membership period and at least 3 days from its start and its end, so a relink after the period's end starts
        after the tier expiry too (AMB-MEMBERSHIP-END: both readings of "the current membership end" agree); under
        strict AMB-MEMBERSHIP-END 30 days after the period's end instead, so a relink falls between the two."""
        n = self._dates
        self._dates += 1
        if program.membership_period is None:
            return self.in_days(40 + 3 * n)
        if self.profile.is_strict(AmbiguityId.MEMBERSHIP_END):  # after the period's end: a relink falls between
            return self.in_days(program.membership_period.approx_days() + 30 + 3 * n)
        period = program.membership_period.approx_days()
        if program.membership_period.type == "MONTHS":
            period = program.membership_period.value * 28  # the shortest months: still inside the period
        days = [*range(period // 2, period - 2, 2), *range(3, period // 2, 2)] or [max(1, period // 2)]
        return self.in_days(days[n % len(days)])

    def relink_item(self, program: ProgramProfile, start: str, **reference: Any) -> dict[str, Any]:
        """A future-dated relink item for `program` starting at `start`: no membership id ("the membership ID is
        already on record"), a tier other than the customer's current one in the model (when the program has
        two or more) and a tier expiry after the start, so a target that applies the relink at once shows; under
        strict AMB-RELINK-ACTIVATION-STATE no tier and no tier expiry, so what a started relink keeps of them is
        judged."""
        org = self.org or self.use_org()
        state = self.expected.model.state(self.customer.id) if self.customer.id is not None else None
        current = state.programs[program.name].tier.value if state and program.name in state.programs else None
        tier = next((t for t in program.tiers if t != current), None)
        period = program.membership_period.approx_days() if program.membership_period else 0
        ref: dict[str, Any] = {
            "membershipStartDate": start,
            "partnerMembershipId": None,
            "partnerTierName": tier,
            "partnerTierExpiryDate": days_from_today(period + 40 + 3 * self._dates, org.timezone),
        }
        if self.profile.is_strict(AmbiguityId.RELINK_ACTIVATION_STATE):  # what it names none of is judged then
            ref.update(partnerTierName=None, partnerTierExpiryDate=None)
        self._dates += 1
        ref.update(reference)
        return self.bodies.link_item(program, **ref)

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

    def _act(
        self,
        ep: Endpoint,
        objs: list[dict[str, Any]],
        per: list[list[dict[str, Any]]],
        ex: Exchange,
        customers: list[Customer],
    ) -> Action:
        # "" for an item sent without a name (nothing to echo: AMB-NULL-AS-ABSENT)
        names = [[n if isinstance(n := i.get("partnerProgramName"), str) else "" for i in items] for items in per]
        ids = [c.id for c in customers] if len(customers) == len(objs) else [None] * len(objs)
        codes = self.expected.record(ep, ids, ex)
        self.last = Action(ep, objs, names, ex)
        self.last_exchange = ex
        index = self._note("write", endpoint=ep.name, customers=ids, items=per, codes=codes, status=ex.status)
        self._traced.append((index, self.last))
        return self.last

    def establish(self, action: Action, what: str) -> Action:
        """Require a setup action to have succeeded on every item; raises PreconditionFailed otherwise."""
        action.judged = "success"
        body = setup_answer(action.exchange, f"setting up '{what}'")
        ok = action.exchange.status == 200
        if ok:
            for shape in action.endpoint.result_shapes:
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

    def _read_details(self, customer: Customer) -> tuple[list[dict[str, Any]], Exchange]:
        ex = self.client.loyalty_details(customer.id or 0)
        self.last_exchange = ex
        body = setup_answer(ex, "reading the customer's loyalty details")
        if ex.status != 200 or not isinstance(body.get("linkedPartnerPrograms"), list):
            raise PreconditionFailed(f"reading the customer's loyalty details failed (HTTP {ex.status})\n{ex.render()}")
        return body["linkedPartnerPrograms"], ex

    def linked_programs(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's linkedPartnerPrograms from loyaltyDetails; raises PreconditionFailed when unreadable.

        A modelled customer's read is compared with the model (`ExpectedState.observe`); one that disagrees is read
        again, 0.1 s, 0.2 s, 0.4 s ... later, until it agrees or the profile's `state.read_consistency_seconds`
        after the customer's last write have passed (the documents promise no read-your-writes): only the last read
        counts, and a mismatch shows the first one beside it. A target that reads its own writes is read once."""
        programs, ex = self._read_details(customer)
        cid = customer.id
        if cid is None or self.expected.model.state(cid) is None:
            return programs
        expected = self.expected
        seen = expected.observe(cid, programs, ex)
        window = (
            0.0 if self.profile.is_strict(AmbiguityId.READ_CONSISTENCY) else self.profile.state.read_consistency_seconds
        )
        deadline = expected.written_at.get(cid, float("-inf")) + window
        delay = 0.1
        while seen.mismatches and (now := time.monotonic()) < deadline:
            time.sleep(min(delay, deadline - now))
            delay *= 2
            programs, ex = self._read_details(customer)
            seen = expected.observe(cid, programs, ex, again=seen)
        if seen.reads > 1:
            self.settled.append((time.monotonic() - expected.written_at[cid], not seen.mismatches))
        self._note("read", customer=cid)
        return programs
