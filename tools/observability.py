"""The observability audit: can the suite's test data tell a right effect from a wrong one? (issue 21, item 2)

    python -m tools.observability                 # run the suite (fuzz off) against the reference server, audit
    python -m tools.observability --traces DIR    # audit the traces of an earlier run (--scenario-traces DIR)
    python -m tools.observability --write-docs    # also rewrite the matrix in docs/state-oracle.md
    python -m tools.observability --check         # exit 1 when the matrix in docs/state-oracle.md is not current

A run with `--scenario-traces DIR` writes, per scenario, what it wrote, read and judged as the state model sees it
(`ppconformance.run.scenario.World.traced`): customers provisioned or reused, every write (endpoint,
customer ids, the items sent per customer, the item codes read from the answer, whether a verdict held the answer
to success or its first item to an error), every loyaltyDetails read, every webhook event judged, every run of the
scheduler. The audit replays that run through `ppconformance.contract.model.StateModel` (the same transitions the
oracle uses), once as it went (the *right* world), and then, for every write and every class of wrong effect
(`CLASSES`), once more with that write applied wrongly (a *wrong* world), carrying the wrong world forward through
the rest of the run with the documented answers the wrong state would get (`_documented_code`). A pair (write,
class) is **seen** when the suite would notice: a loyaltyDetails read (every read is compared with the model,
`run.expected_state.ExpectedState.observe`) differs on a field the default stances compare, an answer the suite judges
changes (a success it requires turns into a refusal, or a refusal it requires into a success), or a judged webhook
event carries a different value on a field the event check compares. Otherwise it is **blind**.

A scenario sees a class when one of its writes' wrong effects is seen; an (endpoint, class) pair is seen when some
scenario sees it through a write to that endpoint. `UNOBSERVABLE` lists the pairs the documents make
unobservable, each with the reason; every other pair must be seen (tests/test_observability.py). The matrix goes
into docs/state-oracle.md between the `observability-matrix` markers.

The audit measures the default run (serial, fuzz off, default stances), with the reusable customers as it goes: a wrong
effect a scenario leaves on a customer carried on for reuse is seen by the later scenario that reads it, and counts
for the scenario that wrote it. The tool never imports the reference server.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))

from ppconformance.contract.endpoints import DELINK, LINK, UPDATE, Endpoint, endpoint  # noqa: E402
from ppconformance.contract.model import (  # noqa: E402
    UNKNOWN,
    CustomerState,
    Expect,
    ProgramInfo,
    ProgramState,
    StateModel,
    calendar_date_of,
)
from ppconformance.contract.stances import Stances  # noqa: E402

__all__ = [
    "CLASSES",
    "ENDPOINTS",
    "UNOBSERVABLE",
    "Audit",
    "Scenario",
    "audit",
    "load_traces",
    "main",
    "render_matrix",
]

ENDPOINTS = (LINK, UPDATE, DELINK)
CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"
FAIL = -1
"""The item code a wrong world gives an item the documents would refuse (any failure: the model only keeps state)."""

CLASSES: dict[str, str] = {
    "not-applied": "the write's successful items have no effect",
    "default-tier": "the tier stored is the program's lowest, not the one sent",
    "default-expiry": "the tier expiry stored is none, not the one sent (an update also drops the one it keeps)",
    "default-membership-id": "the membership id stored is none (a link's, or the one an update must keep)",
    "date-off-by-one": "a tier expiry sent is stored one day later",
    "neighbour": "each customer's items are applied to the next customer of the request (a rotation)",
    "other-program": "the effect lands on another program of the customer instead",
    "all-programs": "the effect lands on every program the customer holds",
    "future-now": "a future-dated effect applies at once (a queued relink; a cancel that applies the pending relink)",
    "failed-stored": "a failed item is stored as if it had succeeded",
    "rolled-back": "the successful items of a request with a failed item are rolled back",
    "constraint-kept": "a constraint does not lift when its cause is removed (a delinked program cannot be linked "
    "again, the supplementary slot stays taken, a cancelled relink cannot be queued again)",
    "event-before": "the write's event carries the values from before the write",
    "event-other-program": "the write's event carries another program's type and details",
}
"""The classes of wrong effect, each a mutation of the model (`_mutate`)."""

UNOBSERVABLE: dict[tuple[Endpoint, str], str] = {
    (DELINK, "default-tier"): "a delink sends no tier",
    (DELINK, "default-expiry"): "a delink sends no tier expiry",
    (DELINK, "default-membership-id"): "a delink sends no membership id",
    (DELINK, "date-off-by-one"): "a delink sends no date",
    (DELINK, "future-now"): "a delink takes no date: nothing of it is future-dated",
    (DELINK, "failed-stored"): "a delink fails only for a program the customer does not hold (2004) or the org does "
    "not have (2006): storing it anyway removes nothing",
    (DELINK, "event-before"): "partnerProgramDelinked carries no program details (events#partner-program-delinked-"
    "partnerprogramdelinked), so no value from before the delink can show in it",
    (LINK, "constraint-kept"): "a link removes no constraint's cause (delinks and cancels do: their rows)",
    (LINK, "event-before"): "a new link has no values before it, and a queued relink is announced when it starts, not "
    "when it is queued (AMB-EVENT-QUEUED-RELINK)",
}
"""(endpoint, class) pairs the documents make unobservable, with the reason (every other pair must be seen)."""

STANCES = Stances(frozenset())


# -- the traces ------------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """One scenario's trace: pytest node id, title (feature: scenario), its entries (`World.traced`)."""

    nodeid: str
    title: str
    trace: list[dict[str, Any]]


def load_traces(directory: Path) -> tuple[dict[str, Any], list[Scenario]]:
    """The orgs header and the scenarios of every `*.jsonl` of `directory` (a `--scenario-traces` run), in the
    order they ran (one file per process). Raises ValueError when there is none."""
    orgs: dict[str, Any] = {}
    scenarios: list[Scenario] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "orgs" in row:
                orgs.update(row["orgs"])
            else:
                scenarios.append(Scenario(row["scenario"], row["title"], row["trace"]))
    if not scenarios:
        raise ValueError(f"no scenario traces in {directory} (run the suite with --scenario-traces={directory})")
    return orgs, scenarios


# -- the worlds ------------------------------------------------------------------------------------------------
def _items(entry_items: Any) -> list[dict[str, Any]]:
    return [i if isinstance(i, dict) else {} for i in (entry_items or [])]


def _name(item: Mapping[str, Any]) -> str:
    name = item.get("partnerProgramName")
    return name if isinstance(name, str) else ""


def _ref(item: Mapping[str, Any]) -> dict[str, Any]:
    ref = item.get("customerPartnerReference")
    return dict(ref) if isinstance(ref, Mapping) else {}


def _details(item: Mapping[str, Any]) -> dict[str, Any]:
    details = item.get("updateDetails")
    return dict(details) if isinstance(details, Mapping) else {}


@dataclass
class World:
    """The modelled state of every customer of the run, per org, plus the constraints a wrong world keeps."""

    models: dict[str, StateModel]
    blocks: set[tuple[Any, ...]] = field(default_factory=set)
    unenrolled: set[tuple[str, int]] = field(default_factory=set)

    def copy(self, customers: Iterable[tuple[str, int]]) -> World:
        """A world holding copies of just these (org, customer) states (a wrong world needs no other)."""
        models = {}
        for org, model in self.models.items():
            twin = StateModel(model.programs.values(), model.tz)
            models[org] = twin
        for org, cid in customers:
            state = self.models[org].state(cid)
            if state is not None:
                models[org].customers[cid] = CustomerState(dict(state.programs))
        return World(models, set(self.blocks), self.unenrolled)

    def state(self, org: str, cid: int) -> CustomerState | None:
        return self.models[org].state(cid)


def _apply(model: StateModel, ep: Endpoint, cid: int, items: list[dict[str, Any]], codes: list[Any]) -> None:
    apply = {LINK: model.apply_link, UPDATE: model.apply_update, DELINK: model.apply_delink}[ep]
    apply(cid, items, codes)


def _listed(state: CustomerState | None, name: str) -> bool:
    return state is not None and name in state.programs and state.programs[name].listed.value is True


def _is_relink(state: CustomerState | None, item: Mapping[str, Any]) -> bool:
    return _listed(state, _name(item)) and bool(_ref(item).get("membershipStartDate"))


def _documented_code(
    world: World, org: str, ep: Endpoint, cid: int, item: dict[str, Any], recorded: Any, supplementary: set[str]
) -> Any:
    """The code the documents give `item` in `world` where they tie it to the customer's state (2005 already linked,
    2019 one supplementary at a time, 2004 not linked, 2027 nothing pending), else the code the right world got.
    A constraint the wrong world kept (`World.blocks`) refuses too."""
    if not isinstance(recorded, int):
        return recorded
    state = world.state(org, cid)
    name = _name(item)
    if state is None or name not in state.programs or (org, cid) in world.unenrolled:
        return recorded
    listed = state.programs[name].listed.value
    if listed is UNKNOWN:
        return recorded
    if ep is LINK:
        if recorded not in (200, 2005, 2019):
            return recorded
        if _is_relink(state, item):  # a refused relink may be refused for its dates: only a success can turn
            pending = state.pending(name)
            blocked = ("relink", org, cid, name) in world.blocks
            return FAIL if recorded == 200 and (pending or blocked) else recorded
        if listed is True:
            return 2005
        if ("link", org, cid, name) in world.blocks:
            return 2005
        if name in supplementary:
            others = [n for n in supplementary if n != name and _listed(state, n)]
            if others or ("supplementary", org, cid) in world.blocks:
                return 2019
        return 200
    if ep is UPDATE:
        update_type = str(item.get("updateType", "")).upper()
        if update_type == CANCEL:
            if recorded not in (200, 2027, 2004):
                return recorded
            pending = state.pending(name)
            return recorded if pending is None else (200 if pending else 2027)
        if recorded in (200, 2004):
            return 200 if listed is True else 2004
        return recorded
    if recorded in (200, 2004):
        return 200 if listed is True else 2004
    return recorded


def _changed(right: Any, wrong: Any) -> bool:
    return wrong is not UNKNOWN and right != wrong


def _state_differs(right: CustomerState, wrong: CustomerState | None) -> bool:
    """True when a loyaltyDetails read of the wrong world differs from the right one on a field the oracle compares
    under the default stances (`contract.model.compare`)."""
    if wrong is None:
        return False
    for name, expected in right.programs.items():
        found = wrong.programs.get(name)
        if found is None or expected.listed.value is UNKNOWN:
            continue
        if _changed(expected.listed.value, found.listed.value):
            return True
        if expected.listed.value is not True:
            continue
        for attr in ("membership_id", "tier", "tier_expiry"):
            want: Expect = getattr(expected, attr)
            if want.compared(STANCES) and _changed(want.value, getattr(found, attr).value):
                return True
    return False


@dataclass(frozen=True)
class EventValues:
    """What a judged event says of its program: type, membership number, tier, tier expiry (None: absent)."""

    type: str | None
    membership_id: Any
    tier: Any
    tier_expiry: Any


def _event_values(state: CustomerState | None, program: str, infos: Mapping[str, ProgramInfo]) -> EventValues:
    info = infos.get(program)
    if state is None or program not in state.programs or state.programs[program].listed.value is not True:
        return EventValues(info.type if info else None, None, None, None)
    p = state.programs[program]
    return EventValues(info.type if info else None, p.membership_id.value, p.tier.value, p.tier_expiry.value)


def _event_differs(right: EventValues, wrong: EventValues, expected: ProgramState | None) -> bool:
    """True when the event check (`ppconformance.webhooks.match.judge`) tells the wrong event from the right one: the
    program type always; the membership number, tier (partnerTierNumber) and tier expiry when the wrong event
    carries one and the model knows the right one (absent values are not judged by default)."""
    if _changed(right.type, wrong.type):
        return True
    for attr in ("membership_id", "tier", "tier_expiry"):
        want, got = getattr(right, attr), getattr(wrong, attr)
        known = want not in (None, UNKNOWN) and (expected is None or getattr(expected, attr).compared(STANCES))
        if known and got not in (None, UNKNOWN) and want != got:
            return True
    return False


# -- the mutations ---------------------------------------------------------------------------------------------
@dataclass
class Write:
    """One write of the trace: its index in the run, org, endpoint, entries (customer id, items, codes), and what
    its verdict held it to ("success", "error" or None)."""

    index: int
    scenario: int
    org: str
    endpoint: Endpoint
    entries: list[tuple[int | None, list[dict[str, Any]], list[Any]]]
    judged: str | None


def _set(program: ProgramState, **values: Any) -> ProgramState:
    """`program` with the named fields' values replaced (requirements kept)."""
    out = program
    for attr, value in values.items():
        out = replace(out, **{attr: replace(getattr(out, attr), value=value)})
    return out


def _lowest(info: ProgramInfo | None) -> str | None:
    return info.tiers[0] if info and info.tiers else None


def _other_program(model: StateModel, state: CustomerState, name: str) -> str | None:
    """Another declared program of the customer: one it holds first, else the first other declared one."""
    others = [n for n in model.programs if n != name]
    held = [n for n in others if _listed(state, n)]
    return (held or others)[0] if others else None


def _day(model: StateModel, value: Any) -> date | None:
    return calendar_date_of(value, model.tz) if isinstance(value, str) and value else None


def _success(code: Any) -> bool:
    return code == 200


def _mutate(world: World, write: Write, cls: str, supplementary: set[str]) -> bool:
    """Apply `write` to `world` (a copy holding its customers' states before it) with the wrong effect `cls`.
    Returns False when the class changes nothing for this write (nothing to mutate)."""
    model = world.models[write.org]
    entries = [(cid, items, codes) for cid, items, codes in write.entries if cid is not None and model.state(cid)]
    if not entries:
        return False

    def normal() -> None:
        for cid, items, codes in entries:
            _apply(model, write.endpoint, cid, items, codes)

    if cls in ("event-before", "event-other-program"):
        normal()
        return any(_success(c) for _, _, codes in entries for c in codes)
    if cls == "not-applied" or cls == "rolled-back":
        if cls == "rolled-back":
            codes_all = [c for _, _, codes in entries for c in codes]
            if not (any(_success(c) for c in codes_all) and any(isinstance(c, int) and c != 200 for c in codes_all)):
                return False
        changed = False
        for cid, items, codes in entries:
            failed = [FAIL if _success(c) else c for c in codes]
            changed = changed or failed != codes
            _apply(model, write.endpoint, cid, items, failed)
        return changed
    if cls == "neighbour":
        cids = [cid for cid, _, _ in entries]
        if len(set(cids)) < 2:
            return False
        for (_, items, codes), target in zip(entries, cids[1:] + cids[:1], strict=True):
            _apply(model, write.endpoint, target, items, codes)
        return True
    if cls == "default-tier":
        if write.endpoint is DELINK:
            return False
        changed = False
        for cid, items, codes in entries:
            new_items = []
            for item, code in zip(items, codes, strict=False):
                item = copy.deepcopy(item)
                lowest = _lowest(model.programs.get(_name(item)))
                if _success(code) and lowest is not None:
                    if write.endpoint is LINK:
                        ref = _ref(item)
                        if ref.get("partnerTierName") not in (None, lowest) and not _is_relink(model.state(cid), item):
                            item["customerPartnerReference"] = {**ref, "partnerTierName": lowest}
                            changed = True
                    else:
                        details = _details(item)
                        if details.get("updatedTierName") not in (None, lowest):
                            item["updateDetails"] = {**details, "updatedTierName": lowest}
                            changed = True
                new_items.append(item)
            _apply(model, write.endpoint, cid, new_items, codes)
        return changed
    if cls in ("default-expiry", "default-membership-id", "date-off-by-one"):
        if write.endpoint is DELINK:
            return False
        changed = False
        for cid, items, codes in entries:
            before = model.state(cid)
            relinks = {_name(i) for i in items if _is_relink(before, i)}
            _apply(model, write.endpoint, cid, items, codes)
            state = model.state(cid)
            assert state is not None
            for item, code in zip(items, codes, strict=False):
                name = _name(item)
                if not _success(code) or name not in state.programs or name in relinks:
                    continue
                if write.endpoint is UPDATE and str(item.get("updateType", "")).upper() == CANCEL:
                    continue
                program = state.programs[name]
                if program.listed.value is not True:
                    continue
                sent = _ref(item).get("partnerTierExpiryDate") if write.endpoint is LINK else None
                if write.endpoint is UPDATE:
                    sent = _details(item).get("updatedTierExpiryDate")
                if cls == "default-expiry" and program.tier_expiry.value not in (None, UNKNOWN):
                    state.programs[name] = _set(program, tier_expiry=None)
                    changed = True
                elif cls == "default-membership-id" and program.membership_id.value not in (None, UNKNOWN):
                    state.programs[name] = _set(program, membership_id=None)
                    changed = True
                elif cls == "date-off-by-one" and sent and isinstance(program.tier_expiry.value, date):
                    state.programs[name] = _set(program, tier_expiry=program.tier_expiry.value + timedelta(days=1))
                    changed = True
        return changed
    if cls in ("other-program", "all-programs"):
        changed = False
        for cid, items, codes in entries:
            for item, code in zip(items, codes, strict=False):
                name = _name(item)
                state = model.state(cid)
                if state is None or name not in state.programs or not _success(code):
                    _apply(model, write.endpoint, cid, [item], [code])
                    continue
                old = state.programs[name]
                _apply(model, write.endpoint, cid, [item], [code])
                state = model.state(cid)
                assert state is not None
                new = state.programs[name]
                if cls == "other-program":
                    other = _other_program(model, state, name)
                    if other is None:
                        continue
                    state.programs[name] = old
                    if write.endpoint is DELINK:
                        state.programs[other] = ProgramState.absent("")
                    else:
                        state.programs[other] = _set(
                            state.programs[other],
                            listed=new.listed.value,
                            membership_id=new.membership_id.value,
                            tier=new.tier.value,
                            tier_expiry=new.tier_expiry.value,
                        )
                    changed = True
                else:
                    for other in [n for n in state.programs if n != name and _listed(state, n)]:
                        if write.endpoint is DELINK:
                            state.programs[other] = ProgramState.absent("")
                        else:
                            state.programs[other] = _set(
                                state.programs[other],
                                membership_id=new.membership_id.value,
                                tier=new.tier.value,
                                tier_expiry=new.tier_expiry.value,
                            )
                        changed = True
        return changed
    if cls == "future-now":
        changed = False
        for cid, items, codes in entries:
            before = model.state(cid)
            due = [
                _name(i)
                for i, c in zip(items, codes, strict=False)
                if _success(c)
                and (
                    (write.endpoint is LINK and _is_relink(before, i))
                    or (
                        write.endpoint is UPDATE
                        and str(i.get("updateType", "")).upper() == CANCEL
                        and before is not None
                        and before.pending(_name(i))
                    )
                )
            ]
            if write.endpoint is UPDATE and due:
                model.activate_relinks(cid, date.max)  # the cancel applies the pending relink
            _apply(model, write.endpoint, cid, items, codes)
            if write.endpoint is LINK and due:
                model.activate_relinks(cid, date.max)  # the relink applies at once
            changed = changed or bool(due)
        return changed
    if cls == "failed-stored":
        changed = False
        for cid, items, codes in entries:
            for item, code in zip(items, codes, strict=False):
                name = _name(item)
                state = model.state(cid)
                refused = isinstance(code, int) and code not in (200, FAIL)
                if state is None or name not in state.programs or not refused or write.endpoint is DELINK:
                    _apply(model, write.endpoint, cid, [item], [code])
                    continue
                program = state.programs[name]
                if write.endpoint is LINK:
                    if _is_relink(state, item):
                        continue  # a refused relink stored anyway is only queued: not observable until it starts
                    ref = _ref(item)
                    tier = ref.get("partnerTierName") or program.tier.value
                    expiry = _day(model, ref.get("partnerTierExpiryDate")) or program.tier_expiry.value
                    state.programs[name] = _set(
                        program,
                        listed=True,
                        membership_id=ref.get("partnerMembershipId") or program.membership_id.value,
                        tier=tier if tier is not UNKNOWN else None,
                        tier_expiry=expiry if expiry is not UNKNOWN else None,
                    )
                    changed = True
                elif program.listed.value is True and str(item.get("updateType", "")).upper() != CANCEL:
                    details = _details(item)
                    tier = details.get("updatedTierName")
                    expiry = _day(model, details.get("updatedTierExpiryDate"))
                    values: dict[str, Any] = {}
                    if isinstance(tier, str) and tier:
                        values["tier"] = tier
                    if expiry is not None:
                        values["tier_expiry"] = expiry
                    if values:
                        state.programs[name] = _set(program, **values)
                        changed = True
        return changed
    if cls == "constraint-kept":
        if write.endpoint is LINK:
            return False
        normal()
        changed = False
        for cid, items, codes in entries:
            for item, code in zip(items, codes, strict=False):
                name = _name(item)
                if not _success(code):
                    continue
                if write.endpoint is DELINK:
                    world.blocks.add(("link", write.org, cid, name))
                    if name in supplementary:
                        world.blocks.add(("supplementary", write.org, cid))
                    changed = True
                elif str(item.get("updateType", "")).upper() == CANCEL:
                    world.blocks.add(("relink", write.org, cid, name))
                    changed = True
        return changed
    raise ValueError(f"unknown class {cls!r}")


# -- the audit -------------------------------------------------------------------------------------------------
@dataclass
class Audit:
    """The result: per scenario index and class, "seen", "blind" or None (nothing to mutate); per (endpoint,
    class) the scenarios that see it."""

    scenarios: list[Scenario]
    matrix: list[dict[str, str | None]]
    pairs: dict[tuple[Endpoint, str], list[int]]
    writes: int

    def blind_pairs(self) -> list[tuple[Endpoint, str]]:
        """The (endpoint, class) pairs the documents make observable that no scenario sees."""
        return [
            (ep, cls)
            for ep in ENDPOINTS
            for cls in CLASSES
            if (ep, cls) not in UNOBSERVABLE and not self.pairs.get((ep, cls))
        ]

    def counts(self) -> dict[str, int]:
        """Scenario × class cells seen, blind and empty; (endpoint, class) pairs seen, blind and unobservable."""
        cells = [v for row in self.matrix for v in row.values()]
        pairs_seen = sum(1 for ep in ENDPOINTS for c in CLASSES if self.pairs.get((ep, c)))
        return {
            "cells seen": cells.count("seen"),
            "cells blind": cells.count("blind"),
            "cells with nothing to mutate": cells.count(None),
            "pairs seen": pairs_seen,
            "pairs blind": len(self.blind_pairs()),
            "pairs unobservable": len(UNOBSERVABLE),
            "writes": self.writes,
        }


def _ops(scenarios: list[Scenario]) -> Iterator[tuple[int, dict[str, Any]]]:
    for s, scenario in enumerate(scenarios):
        for op in scenario.trace:
            yield s, op


def audit(orgs: Mapping[str, Any], scenarios: list[Scenario]) -> Audit:
    """Replay the run's traces right and wrong (see the module docstring)."""
    infos = {
        org: {p["name"]: ProgramInfo(p["name"], p["type"], tuple(p["tiers"])) for p in spec["programs"]}
        for org, spec in orgs.items()
    }
    supplementary = {org: {n for n, i in progs.items() if i.type == "SUPPLEMENTARY"} for org, progs in infos.items()}
    ops = list(_ops(scenarios))
    right = World({org: StateModel(infos[org].values(), spec["timezone"]) for org, spec in orgs.items()})
    # the right world, with a snapshot of each touched customer before every write and after every op
    before: dict[int, World] = {}
    after: dict[int, dict[tuple[str, int], CustomerState | None]] = {}
    writes: list[Write] = []
    for k, (s, op) in enumerate(ops):
        org = op["org"]
        kind = op["op"]
        if kind == "customer":
            right.models[org].add(op["customer"], unknown=op.get("unknown") or ())
            if op.get("enrolled") is False:
                right.unenrolled.add((org, op["customer"]))
        elif kind == "write":
            entries = [
                (cid, _items(items), list(codes))
                for cid, items, codes in zip(op["customers"], op["items"], op["codes"], strict=False)
            ]
            write = Write(k, s, org, endpoint(op["endpoint"]), entries, op.get("judged"))
            writes.append(write)
            touched = [(org, cid) for cid, _, _ in entries if cid is not None]
            before[k] = right.copy(touched)
            for cid, items, codes in entries:
                if cid is not None and right.state(org, cid) is not None:
                    _apply(right.models[org], write.endpoint, cid, items, codes)
        elif kind == "clock":
            right.models[org].activate_relinks(op["customer"], date.fromisoformat(op["as_of"]))
        if kind in ("write", "clock", "read", "event", "customer"):
            cids = [c for c in (op.get("customers") or [op.get("customer")]) if c is not None]
            after[k] = {(org, c): _snapshot(right.state(org, c)) for c in cids}

    starts: dict[int, int] = {}
    for k, (s, _) in enumerate(ops):
        starts.setdefault(s, k)
    matrix: list[dict[str, str | None]] = [dict.fromkeys(CLASSES) for _ in scenarios]
    pairs: dict[tuple[Endpoint, str], list[int]] = {}
    for write in writes:
        for cls in CLASSES:
            local = write.index - starts[write.scenario]
            seen = _seen(write, local, cls, ops, before[write.index], after, infos, supplementary[write.org])
            if seen is None:
                continue
            cell = matrix[write.scenario]
            if seen:
                cell[cls] = "seen"
                pairs.setdefault((write.endpoint, cls), [])
                if write.scenario not in pairs[(write.endpoint, cls)]:
                    pairs[(write.endpoint, cls)].append(write.scenario)
            elif cell[cls] is None:
                cell[cls] = "blind"
    return Audit(scenarios, matrix, pairs, len(writes))


def _snapshot(state: CustomerState | None) -> CustomerState | None:
    return None if state is None else CustomerState(dict(state.programs))


def _seen(
    write: Write,
    local: int,
    cls: str,
    ops: list[tuple[int, dict[str, Any]]],
    start: World,
    after: Mapping[int, Mapping[tuple[str, int], CustomerState | None]],
    infos: Mapping[str, Mapping[str, ProgramInfo]],
    supplementary: set[str],
) -> bool | None:
    """Whether the wrong effect `cls` at `write` would be seen (None: the class changes nothing here)."""
    wrong = start.copy([(write.org, cid) for cid, _, _ in write.entries if cid is not None])
    if not _mutate(wrong, write, cls, supplementary):
        return None
    watched = {(write.org, cid) for cid, _, _ in write.entries if cid is not None}
    wrong_after = {key: _snapshot(wrong.state(*key)) for key in watched}
    event_class = cls.startswith("event-")
    for k in range(write.index, len(ops)):
        _, op = ops[k]
        org, kind = op["org"], op["op"]
        if kind == "event" and ops[k][0] == write.scenario and op.get("write") == local:
            key = (org, op["customer"])
            if key not in watched:
                continue
            program = op["program"]
            right_after = after[write.index].get(key)
            expected = right_after.programs.get(program) if right_after else None
            right_event = _event_values(right_after, program, infos[org])
            if not op.get("present", True):
                if cls == "failed-stored" and _event_values(wrong_after[key], program, infos[org]) != right_event:
                    return True
                continue
            if cls == "event-before":
                start_state = start.state(*key)
                wrong_event = _event_values(start_state, program, infos[org])
                if start_state is None or program not in start_state.programs:
                    continue
                if start_state.programs[program].listed.value is not True:
                    continue  # nothing before a new link
            elif cls == "event-other-program":
                state = wrong_after[key]
                other = _other_program(wrong.models[org], state, program) if state else None
                if other is None:
                    continue
                values = _event_values(state, other, infos[org])
                wrong_event = replace(values, type=infos[org][other].type)
            else:
                wrong_event = _event_values(wrong_after[key], program, infos[org])
            if _event_differs(right_event, wrong_event, expected):
                return True
            continue
        if event_class or k == write.index:
            continue
        if kind == "write":
            entries = list(zip(op["customers"], op["items"], op["codes"], strict=False))
            if not any((org, cid) in watched for cid, _, _ in entries):
                continue
            for e, (cid, items, codes) in enumerate(entries):
                if (org, cid) not in watched:
                    continue
                items = _items(items)
                got = [
                    _documented_code(wrong, org, endpoint(op["endpoint"]), cid, it, c, supplementary)
                    for it, c in zip(items, codes, strict=False)
                ]
                judged = op.get("judged")
                flips = [_success(c) != _success(g) for c, g in zip(codes, got, strict=False)]
                if judged == "partial" and any(flips):
                    return True
                if judged == "success" and any(
                    _success(c) and not _success(g) for c, g in zip(codes, got, strict=False)
                ):
                    return True
                if judged == "error" and e == 0 and got and isinstance(codes[0], int) and not _success(codes[0]):
                    if _success(got[0]):
                        return True
                _apply(wrong.models[org], endpoint(op["endpoint"]), cid, items, got)
        elif kind == "clock" and (org, op["customer"]) in watched:
            wrong.models[org].activate_relinks(op["customer"], date.fromisoformat(op["as_of"]))
        elif kind == "read" and (org, op["customer"]) in watched:
            right_state = after[k].get((org, op["customer"]))
            if right_state is not None and _state_differs(right_state, wrong.state(org, op["customer"])):
                return True
    return False


# -- the matrix ------------------------------------------------------------------------------------------------
BEGIN, END = "<!-- observability-matrix:begin -->", "<!-- observability-matrix:end -->"
SHORT = {
    "not-applied": "none",
    "default-tier": "tier",
    "default-expiry": "exp",
    "default-membership-id": "mid",
    "date-off-by-one": "day",
    "neighbour": "nbr",
    "other-program": "oth",
    "all-programs": "all",
    "future-now": "now",
    "failed-stored": "fail",
    "rolled-back": "roll",
    "constraint-kept": "cons",
    "event-before": "ev-b",
    "event-other-program": "ev-o",
}


def render_matrix(result: Audit) -> str:
    """The markdown between the markers of docs/state-oracle.md: the (endpoint, class) pairs and the scenario ×
    class matrix."""
    titles = [s.title.split(": ", 1)[-1] for s in result.scenarios]
    lines = [
        BEGIN,
        "",
        "Generated by `python -m tools.observability --write-docs` from a run of the suite (fuzz off) against the "
        "reference server; `tests/test_observability.py` fails when it is not current or when an observable pair "
        "is blind.",
        "",
        "| class | what the wrong implementation does |",
        "| --- | --- |",
        *[f"| `{c}` ({SHORT[c]}) | {d} |" for c, d in CLASSES.items()],
        "",
        "Per endpoint and class, the scenarios that see it (or why the documents make it unobservable):",
        "",
        "| endpoint | class | seen by |",
        "| --- | --- | --- |",
    ]
    for ep in ENDPOINTS:
        for cls in CLASSES:
            seers = result.pairs.get((ep, cls), [])
            if (ep, cls) in UNOBSERVABLE:
                what = f"unobservable: {UNOBSERVABLE[(ep, cls)]}"
            elif seers:
                names = sorted({titles[i] for i in seers})
                what = "; ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
            else:
                what = "**BLIND: no scenario sees it**"
            lines.append(f"| {ep} | `{cls}` | {what} |")
    counts = result.counts()
    lines += [
        "",
        f"{counts['pairs seen']} pairs seen, {counts['pairs blind']} blind, {counts['pairs unobservable']} "
        f"unobservable; {result.writes} writes replayed.",
        "",
        "Scenario × class (`seen`: a wrong effect of that class at one of its writes shows; `blind`: none shows, "
        "acceptable because the pair is seen by the scenarios above or unobservable; `·`: no write of it has "
        "anything of that class to get wrong):",
        "",
        "| scenario | " + " | ".join(SHORT[c] for c in CLASSES) + " |",
        "| --- | " + " | ".join("---" for _ in CLASSES) + " |",
    ]
    rows: dict[str, dict[str, str | None]] = {}
    for title, row in zip(titles, result.matrix, strict=True):
        merged = rows.setdefault(title, dict.fromkeys(CLASSES))
        for cls, value in row.items():
            if value == "seen" or (value == "blind" and merged[cls] is None):
                merged[cls] = value
    for title, row in rows.items():
        cells = ["seen" if v == "seen" else "blind" if v == "blind" else "·" for v in row.values()]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += ["", END]
    return "\n".join(lines)


DOC = REPO / "docs" / "state-oracle.md"


def replace_matrix(text: str, matrix: str) -> str:
    """`text` (docs/state-oracle.md) with the part between the markers replaced (appended when there is none)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + matrix + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n## The observability audit\n\n" + matrix + "\n"


def record(directory: Path, *, python: str = sys.executable, extra: Iterable[str] = ()) -> subprocess.CompletedProcess:
    """Run the suite (fuzz off) against the embedded reference server with `--scenario-traces=directory`."""
    reports = directory / "reports"
    cmd = [
        python,
        "-m",
        "pytest",
        "steps",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-m",
        "not fuzz",
        f"--scenario-traces={directory / 'traces'}",
        f"--reports-dir={reports}",
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS" and not k.startswith("PYTEST_XDIST")}
    env["PP__JOURNAL_DIR"] = str(directory / "journal")
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.observability",
        description="Replay a run's scenario traces through the state model, right and with each class of wrong "
        "effect, and report which wrong effects the suite would see. Exit 0 when every observable (endpoint, class) "
        "pair is seen (and, with --check, the matrix in docs/state-oracle.md is current), else 1.",
    )
    parser.add_argument("--traces", type=Path, help="a --scenario-traces directory (default: run the suite now)")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the matrix in docs/state-oracle.md")
    parser.add_argument("--check", action="store_true", help="fail when the matrix in docs/state-oracle.md differs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pp-observability-") as tmp:
        traces = args.traces
        if traces is None:
            proc = record(Path(tmp))
            if proc.returncode != 0:
                print(proc.stdout[-3000:] + proc.stderr[-2000:], file=sys.stderr)
                print("observability: the suite run failed; no audit", file=sys.stderr)
                return 1
            traces = Path(tmp) / "traces"
        orgs, scenarios = load_traces(traces)
    result = audit(orgs, scenarios)
    matrix = render_matrix(result)
    for key, value in result.counts().items():
        print(f"observability: {key}: {value}")
    for ep, cls in result.blind_pairs():
        print(f"observability: BLIND {ep} {cls}: {CLASSES[cls]}")
    status = 0 if not result.blind_pairs() else 1
    text = DOC.read_text(encoding="utf-8")
    if args.write_docs:
        DOC.write_text(replace_matrix(text, matrix), encoding="utf-8")
        print(f"observability: wrote the matrix into {DOC.relative_to(REPO)}")
    elif args.check and replace_matrix(text, matrix) != text:
        print("observability: the matrix in docs/state-oracle.md is not current (--write-docs)", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
