"""The suite's customer pool: test customers with deterministic identities, found again and reused by later runs.

With `test_data.provisioning: register` and writes allowed (`Profile.uses_customer_pool`), the suite registers
its test customers at the places of a pool per org (`connection.identities.pool_identity`: the profile's mobile
prefix, its `test_data.pool_slot`, the org's position, enrolled or not, an index). No customer can be deleted
(capillary-facts#customer-apis documents none), so instead of registering new ones every run, a run finds the
customers earlier runs registered, from their identities alone (a fresh clone, another machine, no journal), and
reuses them:

1. **Scan** (`scan_org`, the controller's preflight, once per run and org): the pool's places are sent, 50 to a
   request, in one MEMBERSHIP_RELINKING_CANCELLED update per batch (or, for an org without a supplementary
   program, one delink of its programs). The answer's `customer` object (delink-customer#response-parameter:
   id, mobile, email, externalId, status) says, per place, whether a customer holds it (status 1000, with its id),
   whether none does (8015, capillary-facts#customer-identification), and, through the email and externalId it
   echoes, whether the customer there is the pool's (the tag) or another that holds the same mobile (set aside).
   The update cancels a relink a killed run queued (its item codes 200, 2004, 2026 or 2027 say none is pending
   now: *settled*), and is the relinking probe too (`discovery.probe_relinking`). Then every customer found is
   delinked from every declared program (one delink per 50, by id): whatever an earlier run left linked, its
   journal gone or not, is undone here. The scan goes on with the next 50 places of a kind while every place of
   the last batch was held, so its cost is one update (and one delink) per 50 customers of the pool.
2. **Take** (`SuitePool.take`, each process, when a scenario needs a customer that the process's reusable
   customers do not have): a place the scan found held (lowest index first), else the lowest free place. xdist
   workers claim their places in one file of the run under a lock (`SuitePool`): two processes never take the same
   customer, and the pool stays one run of places from 0 whichever worker needed how many.
3. **Confirm** (`confirm`, before a found customer is used): the oracle's first read, GET loyaltyDetails, must list
   no declared program (one it lists is cancelled and delinked and read again, `run.cleanup.clean_customers`),
   and nothing may be pending (an unsettled place is cancelled first). A customer whose state cannot be confirmed
   (loyaltyDetails unreadable, still linked after the delink, a relink that may be pending) is *set aside* for
   this run and reported; the next place is taken instead.
4. **Grow**: a free place is registered (POST /v2/customers with the place's identity), so the pool grows only
   when a run needs more customers of a kind than it holds, and it holds at most what one run took (plus places
   set aside). A registration the target refuses (the place is held after all: the scan did not reach it) is
   looked up with the documented lookup (GET /v2/customers/lookup by mobile) and confirmed as above.

What the state model relies on: a customer confirmed here is in exactly the state of "a customer enrolled in the
loyalty program" (or not enrolled, by its kind): the documents make no difference between a customer never linked
and one whose links were all delinked (link-customer#error-codes and #future-dated-relinking speak only of the
programs a customer *is* linked to; loyaltyDetails lists only current links), except for a relink still pending,
which the scan cancels before it delinks and settles (AMB-DELINK-PENDING-RELINK); the register's entry
AMB-POOL-CUSTOMER-HISTORY records the choice. A target answering otherwise fails the scenario's own checks, as it
would for a new customer.

`PoolTally` counts, per process, customers registered, reused (found from an earlier run, or borrowed from a
profile's `customer_pool`) and set aside; the run reports the sum (terminal summary, conformance.json
`run.customers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: xdist workers split the places by number instead
    fcntl = None  # type: ignore[assignment]

from ppconformance.connection.client import Exchange, PartnerProgramClient
from ppconformance.connection.identities import SPAN, PoolIdentity, pool_identity
from ppconformance.connection.profile import OrgProfile, Profile
from ppconformance.contract.endpoints import CUSTOMER_KEY, DELINK, PROGRAM_NAME_KEY, UPDATE, Endpoint
from ppconformance.contract.stances import AmbiguityId
from ppconformance.run.cleanup import BATCH, CANCEL, clean_customers
from ppconformance.run.link_journal import target_dir

__all__ = [
    "SETTLED",
    "Found",
    "OrgScan",
    "PoolTally",
    "Slot",
    "SuitePool",
    "claims_path",
    "confirm",
    "scan_org",
    "supplementary_names",
]

FOUND = 1000
"""The customer status code of a customer retrieved (update-partner-program#response-parameters)."""
SETTLED = frozenset({200, 2004, 2026, 2027})
"""Item codes of a MEMBERSHIP_RELINKING_CANCELLED after which no relink is pending: cancelled (200), not linked
(2004), relinking not enabled for the org (2026), no pending relink (2027) (update-partner-program#error-codes)."""
NOT_ENROLLED_PER_BATCH = 5
"""Places of not-enrolled customers in a scan's first batch (a run needs few; the enrolled ones take the rest)."""


@dataclass
class PoolTally:
    """One process's (or the whole run's) test customers: `registered` through POST /v2/customers, `reused` (found
    from an earlier run and confirmed, or borrowed from the profile's `customer_pool`), `set_aside` (one line per
    customer whose state could not be confirmed: org, mobile, why)."""

    registered: int = 0
    reused: int = 0
    set_aside: list[str] = field(default_factory=list)
    borrowed: set[str] = field(default_factory=set)

    def borrow(self, key: str) -> None:
        """A profile pool customer (`key`: its org and identifiers) was borrowed: counted reused once per run."""
        if key not in self.borrowed:
            self.borrowed.add(key)
            self.reused += 1

    def add(self, data: dict[str, Any]) -> None:
        """Add another process's tally (`to_json` form)."""
        self.registered += int(data.get("registered", 0))
        self.reused += int(data.get("reused", 0))
        self.set_aside += [str(s) for s in data.get("setAside", [])]

    def to_json(self) -> dict[str, Any]:
        """`{"registered": int, "reused": int, "setAside": [str, ...]}` (conformance.json `run.customers`)."""
        return {"registered": self.registered, "reused": self.reused, "setAside": list(self.set_aside)}

    def summary(self) -> list[str]:
        """Terminal summary lines: the counts, then each customer set aside."""
        head = (
            f"partner-program test customers: {self.registered} registered, {self.reused} reused, "
            f"{len(self.set_aside)} set aside"
        )
        return [head] + [f"  set aside: {line}" for line in self.set_aside]


@dataclass(frozen=True)
class Found:
    """A pool customer the scan found: its id on the target; `settled`: no relink can be pending (the scan's cancel
    said so, or the org cannot have one); `fresh`: this run registered it (its state is known: never linked)."""

    id: int
    settled: bool = True
    fresh: bool = False


def _key(enrolled: bool, index: int) -> str:
    return f"{'e' if enrolled else 'n'}{index}"


@dataclass
class OrgScan:
    """What the scan found of one org's pool, by place (`(enrolled, index)`):

    - `found`: places a customer holds (`Found`); `aside`: places set aside, with why (another customer holds the
      mobile);
    - `reached`: per kind, the first index the scan did not send (a kind whose batch went unanswered is left out);
    - `complete`: nothing was scanned because nothing can be there (the embedded server this run started);
    - `probe_code`: the item code the first enrolled customer found got for the relinking probe's program (None:
      none found, or no such item), for `discovery.relinking_of`;
    - `notes`: what the scan could not do (an answer it could not read).
    """

    found: dict[tuple[bool, int], Found] = field(default_factory=dict)
    aside: dict[tuple[bool, int], str] = field(default_factory=dict)
    reached: dict[bool, int] = field(default_factory=dict)
    complete: bool = False
    probe_code: Any = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the run context (`RunContext.customer_pool`)."""
        return {
            "found": {_key(e, i): [f.id, f.settled, f.fresh] for (e, i), f in sorted(self.found.items())},
            "aside": {_key(e, i): why for (e, i), why in sorted(self.aside.items())},
            "reached": {("e" if e else "n"): i for e, i in self.reached.items()},
            "complete": self.complete,
            "notes": list(self.notes),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> OrgScan:
        """The inverse of `to_json` (`probe_code` is not carried)."""

        def place(key: str) -> tuple[bool, int]:
            return key[0] == "e", int(key[1:])

        return OrgScan(
            found={place(k): Found(int(v[0]), bool(v[1]), bool(v[2])) for k, v in data.get("found", {}).items()},
            aside={place(k): str(v) for k, v in data.get("aside", {}).items()},
            reached={k == "e": int(v) for k, v in data.get("reached", {}).items()},
            complete=bool(data.get("complete", False)),
            notes=list(data.get("notes", [])),
        )


def claims_path(journal_dir: Path | str, base_url: str, run_id: str) -> Path:
    """Where the xdist workers of run `run_id` claim their pool places (`SuitePool`): beside the run's journal of
    the target; the controller removes it at the end of the run (`Preflight.finish`)."""
    return target_dir(journal_dir, base_url) / f"{run_id}.pool-claims"


def supplementary_names(org: OrgProfile) -> list[str]:
    """The org's programs a relink can be pending for: those with a membership period or a supplementary role."""
    return [p.name for role, p in org.programs.items() if p.membership_period or role.endswith("supplementary")]


def _identity(profile: Profile, position: int, enrolled: bool, index: int) -> PoolIdentity:
    return pool_identity(profile.mobile_prefix, profile.email_domain, profile.pool_slot, position, enrolled, index)


def _entries(ex: Exchange, endpoint: Endpoint, mobiles: list[str]) -> dict[str, dict[str, Any]] | None:
    """The answer's result entry per mobile sent: matched by the mobile the entry's customer echoes, or by position
    when no entry echoes one and the counts agree (AMB-RESULT-ORDER); None when the answer holds no results."""
    body = ex.response_json
    shape = endpoint.result_shape_of(body)
    if ex.status >= 500 or shape is None or not isinstance(body, dict):
        return None
    entries = [e for e in body[shape.results_key] if isinstance(e, dict)]
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        customer = entry.get(CUSTOMER_KEY)
        mobile = customer.get("mobile") if isinstance(customer, dict) else None
        if mobile is not None and str(mobile).lstrip("+") in mobiles:
            out[str(mobile).lstrip("+")] = entry
    if not out and len(entries) == len(mobiles):
        out = dict(zip(mobiles, entries, strict=True))
    return out


def _item_codes(entry: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """Program name -> item code of a result entry (items that echo no name are left out)."""
    out: dict[str, Any] = {}
    for shape in endpoint.result_shapes:
        for item in entry.get(shape.programs_key) or []:
            if isinstance(item, dict) and isinstance(item.get(PROGRAM_NAME_KEY), str):
                out[str(item[PROGRAM_NAME_KEY]).strip()] = (item.get(shape.status_key) or {}).get("code")
    return out


def _ours(customer: dict[str, Any], identity: PoolIdentity) -> bool:
    """False when the answer's customer echoes an email or externalId other than the place's tag (another customer
    holds the mobile); True when they agree or are not echoed."""
    for key, mine in (("email", identity.email), ("externalId", identity.external_id)):
        value = customer.get(key)
        if isinstance(value, str) and value and value != mine:
            return False
    return True


def scan_org(
    client: PartnerProgramClient, profile: Profile, org: OrgProfile, position: int, *, probe_program: str | None = None
) -> OrgScan:
    """Scan the pool of `org` (at `position` in the profile), cancel what a killed run left pending and delink what
    it left linked (see the module docstring, step 1). `probe_program`: the supplementary program whose cancel
    answers the relinking probe (forces the cancel even where the profile says relinking is disabled, so drift
    shows). Never raises for an answer it cannot read (the places stay unknown, noted); raises the client's
    `TargetError`s (unreachable, credentials refused)."""
    scan = OrgScan()
    declared = [p.name for p in org.programs.values()]
    supplementary = supplementary_names(org)
    if probe_program and probe_program not in supplementary:
        supplementary.append(probe_program)
    cancel = bool(supplementary) and (org.allow_membership_relinking is not False or probe_program is not None)
    if not cancel and not declared:
        scan.notes.append(f"org {org.name}: no program declared to scan the pool with")
        return scan
    endpoint = UPDATE if cancel else DELINK
    items = (
        [{PROGRAM_NAME_KEY: n, "updateType": CANCEL} for n in supplementary]
        if cancel
        else [{PROGRAM_NAME_KEY: n} for n in declared]
    )
    next_index = {True: 0, False: 0}
    going = [True, False]
    while going:
        share = {True: BATCH - NOT_ENROLLED_PER_BATCH, False: NOT_ENROLLED_PER_BATCH} if len(going) == 2 else {}
        places: list[PoolIdentity] = []
        for enrolled in going:
            count = min(share.get(enrolled, BATCH), SPAN - next_index[enrolled])
            places += [_identity(profile, position, enrolled, next_index[enrolled] + k) for k in range(count)]
        mobiles = [p.mobile for p in places]
        ex = (client.update if cancel else client.delink)(
            endpoint.request_body(({"mobile": m}, items) for m in mobiles)
        )
        entries = _entries(ex, endpoint, mobiles)
        if entries is None:
            scan.notes.append(
                f"org {org.name}: the pool scan's {endpoint} answered HTTP {ex.status} without results: "
                "its places are looked up as they are needed"
            )
            break
        held = {True: True, False: True}
        for place in places:
            key = (place.enrolled, place.index)
            entry = entries.get(place.mobile) or {}
            got = entry.get(CUSTOMER_KEY)
            customer: dict[str, Any] = got if isinstance(got, dict) else {}
            status = customer["status"] if isinstance(customer.get("status"), dict) else {}
            code, cid = status.get("code"), customer.get("id")
            if code == FOUND and isinstance(cid, int) and not isinstance(cid, bool):
                codes = _item_codes(entry, endpoint)
                if not _ours(customer, place):
                    scan.aside[key] = (
                        "another customer (its email or externalId is not the pool's tag) holds the mobile"
                    )
                    continue
                settled = not cancel or all(codes.get(n) in SETTLED for n in supplementary)
                scan.found[key] = Found(cid, settled)
                if place.enrolled and probe_program and scan.probe_code is None:
                    scan.probe_code = codes.get(probe_program)
                continue
            held[place.enrolled] = False  # no customer there (8015), or an answer the scan cannot read
        for enrolled in list(going):
            sent = sum(1 for p in places if p.enrolled is enrolled)
            next_index[enrolled] += sent
            if not held[enrolled] or next_index[enrolled] >= SPAN:
                going.remove(enrolled)
    scan.reached = {kind: index for kind, index in next_index.items() if kind not in going}
    if cancel and declared:
        ids = [f.id for f in scan.found.values()]
        for start in range(0, len(ids), BATCH):
            client.delink(
                DELINK.request_body(
                    ({"id": i}, [{PROGRAM_NAME_KEY: n} for n in declared]) for i in ids[start : start + BATCH]
                )
            )
    return scan


def _settle(client: PartnerProgramClient, org: OrgProfile, customer_id: int) -> bool:
    """Cancel any relink pending for the customer (one update); True when every item says none is pending now."""
    names = supplementary_names(org)
    if not names or org.allow_membership_relinking is False:
        return True
    items = [{PROGRAM_NAME_KEY: n, "updateType": CANCEL} for n in names]
    ex = client.update(UPDATE.request_body([({"id": customer_id}, items)]))
    body = ex.response_json
    shape = UPDATE.result_shape_of(body)
    entries = body[shape.results_key] if shape is not None and isinstance(body, dict) else []
    codes = _item_codes(entries[0], UPDATE) if entries and isinstance(entries[0], dict) else {}
    return ex.status < 500 and all(codes.get(n) in SETTLED for n in names)


def confirm(
    client: PartnerProgramClient, profile: Profile, org: OrgProfile, customer_id: int, settled: bool
) -> str | None:
    """Confirm that a pool customer of `org` is in the state of a customer never linked (module docstring, step 3):
    nothing pending (`settled`, else one cancel now), and loyaltyDetails listing no declared program (a listed one is
    cancelled, delinked and read again). Returns None when confirmed, else why the customer is set aside. Raises the
    client's `TargetError`s."""
    if not settled and not _settle(client, org, customer_id):
        return "whether a relink is pending could not be settled (its cancel was not answered 200, 2004, 2026 or 2027)"
    ex = client.loyalty_details(customer_id)
    body = ex.response_json
    if ex.status != 200 or not isinstance(body, dict) or not isinstance(body.get("linkedPartnerPrograms"), list):
        return f"its loyaltyDetails could not be read (HTTP {ex.status})"
    names = [str(p.get("partnerProgramName")) for p in body["linkedPartnerPrograms"] if isinstance(p, dict)]
    declared = [p.name for p in org.programs.values()]
    if profile.is_strict(AmbiguityId.UNDECLARED_PROGRAMS) and any(n not in declared for n in names):
        return "loyaltyDetails lists a program the profile does not declare (strict AMB-UNDECLARED-PROGRAMS)"
    listed = [n for n in declared if n in names]
    if not listed:
        return None
    cancel = [n for n in supplementary_names(org) if n in listed]
    left = clean_customers(client, [{"id": customer_id}], listed, cancel, org.allow_membership_relinking)[0]
    if left is None:
        return f"it was linked to {listed} and loyaltyDetails could not be read after the delink"
    if left:
        return f"still linked to {left} after a delink"
    return None


@dataclass(frozen=True)
class Slot:
    """A pool place taken by a scenario: its org, its identity, and the customer the scan found there (None: none
    found: the place is registered, or looked up when the registration is refused)."""

    org: str
    identity: PoolIdentity
    found: Found | None


class SuitePool:
    """One process's share of the customer pools (see the module docstring, step 2).

    Arguments: `profile` (identities; off unless `Profile.uses_customer_pool`), `scans` (org name -> `OrgScan`,
    from the run context; an org without one is presumed unscanned), `worker` / `workers` (the xdist worker's number
    and how many there are), `claims` (with xdist: a file every worker of the run records the places it takes in,
    under an exclusive lock, so each takes the lowest place no process has taken and the pool stays one run of
    places from 0 whatever the workers needed; without one, or where the platform has no `fcntl`, worker i takes
    only the places i, i+n, ...), `tally` (where this process counts its customers).
    """

    def __init__(
        self,
        profile: Profile,
        scans: dict[str, OrgScan] | None = None,
        worker: int = 0,
        workers: int = 1,
        tally: PoolTally | None = None,
        claims: Path | None = None,
    ) -> None:
        self.enabled = profile.uses_customer_pool
        self.profile = profile
        self.scans = dict(scans or {})
        self.worker, self.workers = worker, max(1, workers)
        self.tally = tally if tally is not None else PoolTally()
        self.positions = {org.name: i for i, org in enumerate(profile.orgs)}
        self.taken: set[tuple[str, bool, int]] = set()
        self.claims = claims if self.workers > 1 and fcntl is not None else None

    @contextmanager
    def _claiming(self) -> Iterator[tuple[set[str], Callable[[str], None]]]:
        """The places every process of the run has claimed ("org/e12" lines of `claims`) and a function that claims
        one more, under an exclusive lock of the file; with no claims file, nothing claimed elsewhere."""
        if self.claims is None or fcntl is None:
            yield set(), lambda _: None
            return
        self.claims.parent.mkdir(parents=True, exist_ok=True)
        with self.claims.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.seek(0)
                claimed = set(fh.read().split())

                def claim(key: str) -> None:
                    fh.write(key + "\n")
                    fh.flush()

                yield claimed, claim
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def take(self, org: str, enrolled: bool) -> Slot | None:
        """The next place of `org`'s pool for a customer enrolled or not (module docstring, step 2), marked taken;
        None when the pool is off, or every place this process may take is taken."""
        if not self.enabled or org not in self.positions:
            return None
        scan = self.scans.setdefault(org, OrgScan())
        order = sorted(i for (e, i) in scan.found if e is enrolled) + list(range(SPAN))
        if self.claims is None and self.workers > 1:
            order = [i for i in order if i % self.workers == self.worker]
        with self._claiming() as (claimed, claim):
            for index in order:
                key = f"{org}/{_key(enrolled, index)}"
                if (org, enrolled, index) in self.taken or key in claimed or (enrolled, index) in scan.aside:
                    continue
                claim(key)
                self.taken.add((org, enrolled, index))
                identity = _identity(self.profile, self.positions[org], enrolled, index)
                return Slot(org, identity, scan.found.get((enrolled, index)))
        return None

    def set_aside(self, slot: Slot, why: str) -> None:
        """The customer at `slot` could not be confirmed: not used this run, reported."""
        self.scans[slot.org].aside[(slot.identity.enrolled, slot.identity.index)] = why
        kind = "enrolled" if slot.identity.enrolled else "not enrolled"
        self.tally.set_aside.append(
            f"org {slot.org}: {slot.identity.mobile} ({kind}, place {slot.identity.index}): {why}"
        )
