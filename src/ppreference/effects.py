"""Wrong effects around the business rules: faults that `rules.py` knows nothing of (issue 21, item 9).

The rules decide each item and store what the documents say. The faults here wrap a whole request instead, the way
a wrong implementation goes wrong around correct rules, and every answer stays exactly as documented, so only the
stored state (the state oracle), a later answer or another tenant shows them (one exception: `delink-batch-500`
refuses a batch delink with an unhandled error, HTTP 500, before the rules run):

- `around` runs a Partner Program request: a batch whose customers get each other's items (a rotation); items a
  constraint that should have lifted still refuses; customers resolved in another org (tenant faults); and, after
  the rules, the stored effect rewritten (the lowest tier stored, a tier expiry a day late or dropped, an update
  landing on another program or on all of them, a relink applied at once, a request rolled back because one item
  failed).
- `find_elsewhere` serves the supporting reads (lookup, loyaltyDetails) of another org's customers.

`Memory` keeps what a fault must remember between requests (relinks cancelled), per server; `Behaviour` says which
fault is active (`faults.FAULTS` lists and describes them). With `CONFORMING` nothing here changes anything.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

from .behaviour import Behaviour
from .config import OrgConfig
from .payloads import CustomerBatch, LinkItem, UpdateItem
from .rules import CANCEL, resolve_customer
from .state import Customer, Link, OrgState, Store
from .statuses import ALREADY_LINKED, ONE_SUPPLEMENTARY, Status

__all__ = ["Memory", "around", "find_elsewhere"]

LINK, UPDATE, DELINK = "linkCustomer", "customerPartnerProgramUpdate", "deLinkCustomer"
KEYS = {
    LINK: ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),
    UPDATE: ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
    DELINK: ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
}
ROTATED = {LINK: "link-batch-rotated", UPDATE: "update-batch-rotated", DELINK: "delink-batch-rotated"}
ROLLED_BACK = {
    LINK: "link-rolls-back-on-item-failure",
    UPDATE: "update-rolls-back-on-item-failure",
    DELINK: "delink-rolls-back-on-item-failure",
}
ANY_ORG = {LINK: "tenant-link-any-org", UPDATE: "tenant-update-any-org", DELINK: "tenant-delink-any-org"}
B = TypeVar("B", bound=CustomerBatch[Any])
Run = Callable[[OrgConfig, OrgState, Sequence[CustomerBatch[Any]]], tuple[dict[str, Any], bool]]


@dataclass
class Memory:
    """What the faults remember across requests: the (org, customer, program) whose pending relink was cancelled."""

    cancelled: set[tuple[int, int, int]] = field(default_factory=set)


def _ok(entry: Mapping[str, Any], status_key: str) -> bool:
    return (entry.get(status_key) or {}).get("code") == 200


def _snapshot(state: OrgState, ids: Sequence[int]) -> dict[int, tuple[dict[int, Link], dict[int, Any]]]:
    """The links and pending relinks of these customers (copies)."""
    out = {}
    for cid in ids:
        links = {link.program_id: copy.copy(link) for link in state.links_of(cid)}
        out[cid] = (links, state.pending_of(cid))
    return out


def _restore(state: OrgState, snapshot: Mapping[int, tuple[dict[int, Link], dict[int, Any]]]) -> None:
    for cid, (links, pending) in snapshot.items():
        for link in state.links_of(cid):
            if link.program_id not in links:
                state.remove_link(cid, link.program_id)
        for link in links.values():
            state.set_link(cid, link)
        for pid in [p for p in state.pending_of(cid) if p not in pending]:
            state.cancel_relink(cid, pid)
        for relink in pending.values():
            state.queue_relink(cid, relink)


def around(
    fx: Behaviour,
    endpoint: str,
    org: OrgConfig,
    store: Store,
    orgs: Mapping[int, OrgConfig],
    batches: Sequence[CustomerBatch[Any]],
    run: Run,
    memory: Memory,
) -> tuple[dict[str, Any], bool]:
    """Run one Partner Program request with the rules (`run(org, state, batches)` -> (answer body, all ok)) and
    the wrong effects of `fx` (see the module docstring). Conforming: exactly `run(org, state, batches)`."""
    state = store.org(org.org_id)
    top, items_key, status_key = KEYS[endpoint]
    if fx.fault == "delink-batch-500" and endpoint == DELINK and len(batches) > 1:
        raise RuntimeError("batch delink is not implemented")  # an unhandled error: HTTP 500
    if fx.fault == ANY_ORG.get(endpoint):
        return _any_org(endpoint, org, store, orgs, batches, run)
    rotated = fx.fault == ROTATED.get(endpoint) and len(batches) > 1
    blocked = _blocked(fx, endpoint, org, state, batches, memory)
    customers = [resolve_customer(state, b.customer)[0] for b in batches]
    before = _snapshot(state, [c.id for c in customers if c is not None])
    sent = list(batches)
    if rotated:
        sent = [replace(b, items=batches[i - 1].items) for i, b in enumerate(batches)]
    if blocked:
        sent = [
            replace(b, items=tuple(it for j, it in enumerate(b.items) if (i, j) not in blocked))
            for i, b in enumerate(sent)
        ]
    body, all_ok = run(org, state, sent)
    results = body.get(top, [])
    if rotated:  # the answer names each customer's own items, as a right implementation would
        for entry, batch in zip(results, batches, strict=False):
            entry[items_key] = [
                {**r, "partnerProgramName": item.program_name or ""}
                | ({"updateType": item.update_type} if isinstance(item, UpdateItem) and item.update_type else {})
                for r, item in zip(entry.get(items_key, []), batch.items, strict=False)
            ]
    for (i, j), status in sorted(blocked.items()):
        item = batches[i].items[j]
        extra = {"updateType": item.update_type} if isinstance(item, UpdateItem) and item.update_type else {}
        results[i][items_key].insert(
            j, {"partnerProgramName": item.program_name or "", **extra, status_key: status.to_json()}
        )
        all_ok = False
    _after(fx, endpoint, org, state, batches, customers, results, before, memory)
    if fx.fault == ROLLED_BACK.get(endpoint):
        outcomes = [_ok(r, status_key) for e in results for r in e.get(items_key, [])]
        if any(outcomes) and not all(outcomes):
            _restore(state, before)
    return body, all_ok


def _blocked(
    fx: Behaviour, endpoint: str, org: OrgConfig, state: OrgState, batches: Sequence[CustomerBatch[Any]], memory: Memory
) -> dict[tuple[int, int], Status]:
    """The items a constraint that should have lifted still refuses: the supplementary slot of a customer whose
    supplementary program was delinked (`delink-keeps-supplementary-slot`: 2019), the relink of a program whose
    pending relink was cancelled (`cancel-keeps-relink-slot`: 2005)."""
    out: dict[tuple[int, int], Status] = {}
    if endpoint != LINK or fx.fault not in ("delink-keeps-supplementary-slot", "cancel-keeps-relink-slot"):
        return out
    supplementary = [p for p in org.programs if p.is_supplementary]
    for i, batch in enumerate(batches):
        customer, _ = resolve_customer(state, batch.customer)
        if customer is None:
            continue
        for j, item in enumerate(batch.items):
            program = org.program(item.program_name or "") if isinstance(item, LinkItem) else None
            if program is None:
                continue
            linked = state.link(customer.id, program.id) is not None
            if fx.fault == "delink-keeps-supplementary-slot" and program.is_supplementary and not linked:
                if any(state.was_removed(customer.id, p.id) for p in supplementary):
                    out[(i, j)] = ONE_SUPPLEMENTARY
            if fx.fault == "cancel-keeps-relink-slot" and linked and item.membership_start:
                if (org.org_id, customer.id, program.id) in memory.cancelled:
                    out[(i, j)] = ALREADY_LINKED
    return out


def _after(
    fx: Behaviour,
    endpoint: str,
    org: OrgConfig,
    state: OrgState,
    batches: Sequence[CustomerBatch[Any]],
    customers: Sequence[Customer | None],
    results: list[dict[str, Any]],
    before: Mapping[int, tuple[dict[int, Link], dict[int, Any]]],
    memory: Memory,
) -> None:
    """The stored effect of the request's successful items rewritten the way the active fault stores it."""
    _, items_key, status_key = KEYS[endpoint]
    for batch, customer, entry in zip(batches, customers, results, strict=False):
        if customer is None:
            continue
        for item, answer in zip(batch.items, entry.get(items_key, []), strict=False):
            program = org.program(item.program_name or "")
            if program is None or not _ok(answer, status_key):
                continue
            link = state.link(customer.id, program.id)
            old_links, old_pending = before.get(customer.id, ({}, {}))
            if endpoint == UPDATE and item.update_type == CANCEL:
                memory.cancelled.add((org.org_id, customer.id, program.id))
                continue
            if link is None:
                continue
            fresh = program.id not in old_links  # a new link (not a relink queued beside the current one)
            if endpoint == LINK and fresh:
                if fx.varies("link-tier-defaults-to-lowest") and program.tiers and isinstance(item, LinkItem):
                    if item.tier_name is None:  # AMB-LINK-DEFAULT-TIER: a default tier for a link naming none
                        link = replace(link, tier_name=program.tiers[0].name)
                        state.set_link(customer.id, link)
                if fx.fault == "link-stores-lowest-tier" and program.tiers and link.tier_name:
                    state.set_link(customer.id, replace(link, tier_name=program.tiers[0].name))
                if fx.fault == "link-drops-tier-expiry" and link.tier_expiry is not None:
                    state.set_link(customer.id, replace(link, tier_expiry=None))
                if fx.fault == "link-expiry-a-day-late" and link.tier_expiry is not None:
                    state.set_link(customer.id, replace(link, tier_expiry=link.tier_expiry + timedelta(days=1)))
            if endpoint == LINK and not fresh and fx.fault == "relink-applied-at-once":
                pending = state.pending(customer.id, program.id)
                if pending is not None and program.id not in old_pending:
                    state.set_link(
                        customer.id,
                        replace(
                            link,
                            membership_id=pending.membership_id or link.membership_id,
                            tier_name=pending.tier_name,
                            tier_expiry=pending.tier_expiry,
                        ),
                    )
            if endpoint == UPDATE and isinstance(item, UpdateItem) and item.tier_name:
                if fx.fault == "update-stores-lowest-tier" and program.tiers:
                    state.set_link(customer.id, replace(link, tier_name=program.tiers[0].name))
                if fx.fault == "update-expiry-a-day-late" and item.tier_expiry and link.tier_expiry is not None:
                    state.set_link(customer.id, replace(link, tier_expiry=link.tier_expiry + timedelta(days=1)))
                old = old_links.get(program.id)
                others = [other for other in state.links_of(customer.id) if other.program_id != program.id]
                if fx.fault == "update-applies-to-other-program" and old is not None:
                    state.set_link(customer.id, old)
                    for other in others[:1]:
                        state.set_link(
                            customer.id, replace(other, tier_name=link.tier_name, tier_expiry=link.tier_expiry)
                        )
                if fx.fault == "update-applies-to-every-program":
                    for other in others:
                        state.set_link(
                            customer.id, replace(other, tier_name=link.tier_name, tier_expiry=link.tier_expiry)
                        )


def _any_org(
    endpoint: str,
    org: OrgConfig,
    store: Store,
    orgs: Mapping[int, OrgConfig],
    batches: Sequence[CustomerBatch[Any]],
    run: Run,
) -> tuple[dict[str, Any], bool]:
    """Tenant faults: a customer this org does not have is looked up in every org and the request applied where it
    is found, with that org's programs: another org's credentials reach it."""
    top = KEYS[endpoint][0]
    homes = []
    for batch in batches:
        home = org
        if resolve_customer(store.org(org.org_id), batch.customer)[0] is None:
            for other_id, other in orgs.items():
                if other_id != org.org_id and resolve_customer(store.org(other_id), batch.customer)[0] is not None:
                    home = other
                    break
        homes.append(home)
    body: dict[str, Any] = {top: [], "warnings": []}
    all_ok = True
    for batch, home in zip(batches, homes, strict=True):
        part, ok = run(home, store.org(home.org_id), [batch])
        body[top] += part.get(top, [])
        body["warnings"] += part.get("warnings", [])
        all_ok = all_ok and ok
    return body, all_ok


def find_elsewhere(
    fx: Behaviour, store: Store, org: OrgConfig, orgs: Mapping[int, OrgConfig], kind: str, value: Any
) -> tuple[Customer, OrgConfig] | None:
    """Fault `tenant-read-any-org`: a customer this org does not have, looked up in the other orgs (lookup and
    loyaltyDetails), with its home org; None when the fault is not active or no org has it."""
    if fx.fault != "tenant-read-any-org":
        return None
    for other_id, other in orgs.items():
        if other_id != org.org_id:
            found = store.org(other_id).find(kind, value)
            if found is not None:
                return found, other
    return None
