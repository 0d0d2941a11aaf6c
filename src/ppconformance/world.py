"""The state of one scenario: the org it runs in, its customers, its last action.

Steps call `World` methods; `World` builds the documented request bodies and
sends them through `PartnerProgramClient`. It decides nothing about
conformance (that is `verdicts.Judge`), except that setting up a precondition
that the target refuses raises `PreconditionFailed` — the scenario cannot be
judged, and the message says which setup request failed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import pytest

from .client import Exchange, PartnerProgramClient
from .dates import day_boundary, days_from_today
from .profile import OrgProfile, Profile, ProgramProfile
from .verdicts import RESULT_SHAPES, Action

__all__ = ["Customer", "PreconditionFailed", "World"]


class PreconditionFailed(AssertionError):
    """A Given step could not establish its state on the target (shown with the exchange)."""


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
    org: OrgProfile | None = None
    clients: dict[str, PartnerProgramClient] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    last: Action | None = None
    last_exchange: Exchange | None = None

    # -- org and programs ---------------------------------------------------------
    def use_org(self, relinking: bool | None = None) -> OrgProfile:
        """Select the org for this scenario: the first whose relinking flag equals `relinking`
        (any org when None). Skips the scenario, naming the missing setting, when none does."""
        for org in self.profile.orgs:
            if relinking is None or org.allow_membership_relinking is relinking:
                self.org = org
                return org
        state = "enabled" if relinking else "disabled"
        pytest.skip(f"profile {self.profile.name} declares no org with allow_membership_relinking: "
                    f"{str(relinking).lower()} (needed: membership relinking {state})")

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
        org = self.org or self.use_org()
        if org.name not in self.clients:
            self.clients[org.name] = PartnerProgramClient(self.base_url, self.profile, org)
        return self.clients[org.name]

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
        if period and prog.membership_period is None:
            pytest.skip(f"profile {self.profile.name}: {key}.membership_period is not declared")
        return prog

    # -- dates ----------------------------------------------------------------------
    def day(self, which: str) -> str:
        """"today" or "yesterday" in the org's timezone under AMB-TODAY-TIMEZONE."""
        org = self.org or self.use_org()
        return day_boundary(which, org.timezone, strict=self.profile.is_strict("AMB-TODAY-TIMEZONE"))

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
        return Customer(mobile=mobile, email=f"pp-{tag}@{self.profile.email_domain}",
                        external_id=f"ppc-{tag}")

    def register_customer(self, *, enrolled: bool = True) -> Customer:
        """Register a new customer (POST /v2/customers) and remember it; raises PreconditionFailed."""
        customer = self.make_identity()
        ex = self.client.add_customer(
            {"mobile": customer.mobile, "email": customer.email, "externalId": customer.external_id},
            enrolled=enrolled)
        body = ex.response_json if isinstance(ex.response_json, dict) else {}
        if ex.status != 200 or not isinstance(body.get("createdId"), int):
            raise PreconditionFailed(f"registering a test customer failed (HTTP {ex.status})\n{ex.render()}")
        customer.id = body["createdId"]
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
        if self.profile.is_strict("AMB-EMPTY-IDENTIFIERS"):
            obj = {"mobile": "", "email": "", "externalId": "", **obj}
        if endpoint == "deLinkCustomer" and by == "mobile" and self.profile.is_strict("AMB-DELINK-MOBILE-TYPE"):
            obj["mobile"] = int(customer.mobile)
        return obj

    def link(self, customers: list[Customer], programs: list[dict[str, Any]], *, by: str = "mobile",
             customer_objs: list[dict[str, Any]] | None = None) -> Action:
        """POST linkCustomer linking every customer to every program item.

        `programs`: items of `linkToPartnerPrograms` ({"partnerProgramName", "customerPartnerReference"}).
        `customer_objs` overrides the `customer` objects sent (for unusual identification).
        """
        objs = customer_objs or [self._customer_obj(c, by, "linkCustomer") for c in customers]
        body = {"linkCustomers": [{"customer": o, "linkToPartnerPrograms": programs} for o in objs]}
        return self._act("linkCustomer", objs, programs, self.client.link(body))

    def update(self, customers: list[Customer], updates: list[dict[str, Any]], *, by: str = "mobile") -> Action:
        """POST customerPartnerProgramUpdate applying every update item to every customer."""
        objs = [self._customer_obj(c, by, "customerPartnerProgramUpdate") for c in customers]
        body = {"customersPartnerUpdates": [{"customer": o, "partnerProgramUpdates": updates} for o in objs]}
        return self._act("customerPartnerProgramUpdate", objs, updates, self.client.update(body))

    def delink(self, customers: list[Customer], names: list[str], *, by: str = "mobile") -> Action:
        """POST deLinkCustomer removing every customer from the named programs."""
        objs = [self._customer_obj(c, by, "deLinkCustomer") for c in customers]
        items = [{"partnerProgramName": n} for n in names]
        body = {"deLinkCustomers": [{"customer": o, "deLinkFromPartnerPrograms": items} for o in objs]}
        return self._act("deLinkCustomer", objs, items, self.client.delink(body))

    def _act(self, endpoint: str, objs: list[dict[str, Any]], items: list[dict[str, Any]],
             ex: Exchange) -> Action:
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
        return {"partnerProgramName": program.name,
                "customerPartnerReference": {k: v for k, v in ref.items() if v is not None}}

    def establish(self, action: Action, what: str) -> Action:
        """Require a setup action to have succeeded on every item; raises PreconditionFailed otherwise."""
        body = action.exchange.response_json
        ok = action.exchange.status == 200 and isinstance(body, dict)
        if ok:
            for key, pkey, skey in RESULT_SHAPES[action.endpoint]:
                for entry in body.get(key, []):
                    ok = ok and all((i.get(skey) or {}).get("code") == 200 for i in entry.get(pkey, []))
        if not ok:
            raise PreconditionFailed(f"setting up '{what}' failed on the target\n{action.exchange.render()}")
        return action

    def linked_programs(self, customer: Customer) -> list[dict[str, Any]]:
        """The customer's linkedPartnerPrograms from loyaltyDetails; raises PreconditionFailed when unreadable."""
        ex = self.client.loyalty_details(customer.id or 0)
        self.last_exchange = ex
        body = ex.response_json
        if ex.status != 200 or not isinstance(body, dict) or not isinstance(body.get("linkedPartnerPrograms"), list):
            raise PreconditionFailed(f"reading the customer's loyalty details failed (HTTP {ex.status})\n"
                                     f"{ex.render()}")
        return body["linkedPartnerPrograms"]
