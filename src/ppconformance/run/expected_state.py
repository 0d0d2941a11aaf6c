"""The expected state of a scenario: the documented model of every customer it touched, fed by every write's
answer, and what was last observed of each customer through loyaltyDetails.

`World` records each Partner Program action here (`record`): the answer's item codes (the one result matcher,
`contract.matching.item_codes`) drive the transitions of `contract.model.StateModel`. `observe` compares every
loyaltyDetails read with the model as it stands at that moment (`contract.model.compare`: the oracle judges every
read of a modelled customer, a Then step's or a Given's included, not only the last), keeps the comparison until
the oracle step reports it (`unreported`), and keeps the read with the customer's write count, so a read made
after the customer's last write serves the oracle and cleanup without reading again (`fresh`). `known` hands
cleanup what it needs to skip requests: the programs last seen listed and the pending relinks the model knows of.
No I/O here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ppconformance.connection.client import Exchange
from ppconformance.connection.profile import OrgProfile, Profile
from ppconformance.contract.endpoints import DELINK, LINK, UPDATE, Endpoint
from ppconformance.contract.matching import Sent, item_codes
from ppconformance.contract.model import UNKNOWN, CustomerState, ProgramInfo, Row, StateModel, compare
from ppconformance.contract.stances import AmbiguityId
from ppconformance.run.cleanup import Known

__all__ = ["Observation", "ExpectedState", "program_infos"]

_UNTRACKED = ("MEMBERSHIP_RENEWAL_INITIATION",)
"""Update types whose effect (the membership end) the model does not follow: a customer they touched is not reused,
nor one a relink was ever queued for (loyaltyDetails does not show a pending relink, so the oracle cannot confirm
it was cancelled)."""


def program_infos(org: OrgProfile) -> list[ProgramInfo]:
    """The org's declared programs as the model sees them: a program with a membership period (or declared in
    a supplementary role) is SUPPLEMENTARY, the others EXTERNAL (capillary-facts#customer-apis)."""
    out = []
    for role, program in org.programs.items():
        supplementary = program.membership_period is not None or role.endswith("supplementary")
        out.append(ProgramInfo(program.name, "SUPPLEMENTARY" if supplementary else "EXTERNAL", tuple(program.tiers)))
    return out


@dataclass(frozen=True)
class Observation:
    """A loyaltyDetails read of one customer: its `linkedPartnerPrograms` (`programs`), the exchange, the
    customer's write count when it was made (`writes`), and the oracle's comparison of it with the model as it
    stood then (`rows`, `contract.model.compare`; empty for a customer the model does not know)."""

    programs: list[Any]
    exchange: Exchange
    writes: int
    rows: tuple[Row, ...] = ()
    first: Exchange | None = None
    """The first read of this observation when the target was read again within the consistency window
    (`World.linked_programs`); None when this is the first read."""
    reads: int = 1
    """How many reads this observation took (1: the first one agreed, or the window was 0 or over)."""

    @property
    def mismatches(self) -> list[Row]:
        """The compared fields that differ from the model."""
        return [r for r in self.rows if r.mismatch]


@dataclass
class ExpectedState:
    """The model and the observations of one org's customers in a scenario.

    Arguments: `org` (its programs and timezone), `profile` (the stance of AMB-RESULT-ORDER, with which
    answers are matched to items as the Judge matches them).
    """

    org: OrgProfile
    profile: Profile
    model: StateModel = field(init=False)
    writes: dict[int, int] = field(default_factory=dict)
    observations: dict[int, Observation] = field(default_factory=dict)
    confirmed: dict[int, int] = field(default_factory=dict)
    linked_once: set[int] = field(default_factory=set)
    untracked: set[int] = field(default_factory=set)
    unreported: dict[int, list[Observation]] = field(default_factory=dict)
    written_at: dict[int, float] = field(default_factory=dict)
    """`time.monotonic()` when each customer's last write was answered (the consistency window runs from it)."""

    def __post_init__(self) -> None:
        self.model = StateModel(program_infos(self.org), self.org.timezone)

    def add(self, customer_id: int, unknown: Sequence[str] = ()) -> None:
        """A customer the scenario provisioned: no declared program linked but those in `unknown`."""
        self.model.add(customer_id, unknown=unknown)
        self.writes.setdefault(customer_id, 0)

    def adopt(self, customer_id: int, state: CustomerState, *, pristine: bool) -> None:
        """A reused customer (`run.customer_reuse`) in the state the oracle last confirmed."""
        self.model.customers[customer_id] = CustomerState(dict(state.programs))
        self.writes[customer_id] = 0
        self.confirmed[customer_id] = 0
        if not pristine:
            self.linked_once.add(customer_id)

    def record(self, ep: Endpoint, customer_ids: Sequence[int | None], exchange: Exchange) -> list[list[Any]]:
        """A Partner Program request was answered: `customer_ids[i]` is the id of the customer of request entry
        i (None: not one modelled here). Applies each entry's transitions to the model; returns the item
        codes (`record_answer`)."""
        return self.record_answer(ep, customer_ids, exchange.request_body, exchange.status, exchange.response_json)

    def record_answer(
        self, ep: Endpoint, customer_ids: Sequence[int | None], request_body: Any, status: int, answer: Any
    ) -> list[list[Any]]:
        """`record` for a request sent by another client (the fuzz stage's): its body, the HTTP status and the
        parsed answer (None when not JSON). Returns the item codes, per entry and item (`item_codes`)."""
        entries = ep.request_entries(request_body) or []
        sent = [Sent(c, items) for c, items in entries]
        strict = self.profile.is_strict(AmbiguityId.RESULT_ORDER)
        codes = item_codes(ep, sent, status, answer, strict_order=strict)
        apply = {LINK: self.model.apply_link, UPDATE: self.model.apply_update, DELINK: self.model.apply_delink}[ep]
        for cid, s, entry_codes in zip(customer_ids, sent, codes, strict=False):
            if cid is None or self.model.state(cid) is None:
                continue
            apply(cid, list(s.items), entry_codes)
            self.writes[cid] = self.writes.get(cid, 0) + 1
            self.written_at[cid] = time.monotonic()
            ok = [item for item, code in zip(s.items, entry_codes, strict=False) if code == 200]
            if ep is LINK and ok:
                self.linked_once.add(cid)
            if any(isinstance(i, dict) and str(i.get("updateType", "")).upper() in _UNTRACKED for i in ok):
                self.untracked.add(cid)
            state = self.model.state(cid)
            if state is not None and any(state.pending(n) for n in state.programs):
                self.untracked.add(cid)  # a queued relink is not observable: its customer is not carried on
        return codes

    def scheduled(self, customer_id: int) -> None:
        """The target's scheduler ran for the customer (its relinks may have started): not to be carried on."""
        self.untracked.add(customer_id)

    def confirm(self, customer_id: int, rows: Sequence[Row]) -> None:
        """The oracle compared the customer (`rows`): its fields seen right restart their history
        (`StateModel.confirm`), and when nothing differed or was unknown its state counts as confirmed."""
        self.model.confirm(customer_id, rows)
        if all(r.verdict == "ok" or r.verdict.startswith("not compared (AMB-") for r in rows):
            self.confirmed[customer_id] = self.writes.get(customer_id, 0)
        else:
            self.confirmed.pop(customer_id, None)

    def reusable(self, customer_id: int) -> bool:
        """True when the customer can be kept for reuse: confirmed by the oracle after its last write, nothing
        unknown or pending, no write with an effect the model does not follow (see `run.customer_reuse`)."""
        state = self.model.state(customer_id)
        if state is None or customer_id in self.untracked:
            return False
        if self.confirmed.get(customer_id) != self.writes.get(customer_id, 0):
            return False
        programs = state.programs.values()
        return all(p.listed.value is not UNKNOWN and p.relink is None for p in programs)

    def compare(self, customer_id: int, programs: list[Any]) -> tuple[Row, ...]:
        """The oracle's comparison of a read of `customer_id` (`linkedPartnerPrograms`) with the model as it stands
        now, under the profile's stances; () for a customer the model does not know. Changes nothing."""
        state = self.model.state(customer_id)
        if state is None:
            return ()
        return tuple(compare(state, programs, self.model.programs, self.org.timezone, self.profile.stances))

    def observe(
        self, customer_id: int, programs: list[Any], exchange: Exchange, *, again: Observation | None = None
    ) -> Observation:
        """A loyaltyDetails read of `customer_id` (its `linkedPartnerPrograms`): compared with the model now
        (`compare`), the fields seen right restart their history (`confirm`), and the comparison waits in
        `unreported` for the oracle step. `again`: the observation this read repeats within the consistency window;
        the new one replaces it and keeps its first read (`Observation.first`)."""
        rows = self.compare(customer_id, programs)
        first = None if again is None else (again.first or again.exchange)
        reads = 1 if again is None else again.reads + 1
        seen = Observation(programs, exchange, self.writes.get(customer_id, 0), rows, first, reads)
        self.observations[customer_id] = seen
        if self.model.state(customer_id) is not None:
            self.confirm(customer_id, rows)
            pending = self.unreported.setdefault(customer_id, [])
            if again is not None and pending and pending[-1] is again:
                pending[-1] = seen
            else:
                pending.append(seen)
        return seen

    def report(self, customer_id: int) -> list[Observation]:
        """The customer's compared reads the oracle step has not reported yet, oldest first (and forgets them)."""
        return self.unreported.pop(customer_id, [])

    def fresh(self, customer_id: int) -> Observation | None:
        """The customer's last read when no write to it came after, else None."""
        seen = self.observations.get(customer_id)
        return seen if seen is not None and seen.writes == self.writes.get(customer_id, 0) else None

    def known(self) -> dict[int, Known]:
        """Per modelled customer, what cleanup may rely on (see `Known`)."""
        names = [p.name for p in self.org.programs.values()]
        out = {}
        for cid, state in self.model.customers.items():
            seen = self.fresh(cid)
            listed = None
            if seen is not None:
                listed = frozenset(str(p.get("partnerProgramName")) for p in seen.programs if isinstance(p, dict))
            out[cid] = Known(listed, {n: state.pending(n) for n in names})
        return out
