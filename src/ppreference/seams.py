"""Where a fault or variant acts: the seams the catalogue names for each (`Fault.seams`, `Variant.seams`).

A seam is the name of a place in the server. Inside the rules (`ppreference.rules`) it is "<book>.<name>" with
book `link`, `update`, `delink` (one endpoint's checks and steps: "link.enrolled", "update.store"), `batch` (the
per-customer rules all three endpoints share: "batch.customer-found") or `calendar` (whose calendar "today"
is). `ppreference.inject` applies these seams to the documented rules:

- `Skip(seam)`: the check answers nothing / the step does nothing (a rule not enforced, a write not made);
- `Answer(seam, status, was)`: the check answers `status` where it answers (`was`, when given, only where it
  answers that) - a wrong code, or an item that must fail succeeding;
- `Shift(seam, days)`: the check judges as if today were `days` later (the boundary faults: +1 rejects today,
  -1 accepts yesterday);
- `Insert(seam)` / `Wrap(*seams)`: a check of its own before `seam` / the check or step wrapped, by code in
  `ppreference.mutants` under the fault's or variant's name;
- `Ignore(identifier, seam)`: the customer lookup of those books cannot find customers by that identifier;
- `BatchLimit(endpoint, limit)`: the request-level batch limit (`payloads`) of one endpoint, or of every one.

Outside the rules a `Hook(seam)` names the code that asks `Behaviour.faulty` / `Behaviour.varies` itself:
"shape.items" / "shape.error" / "shape.json" (`ppreference.shaping`), "effects" (`ppreference.effects`),
"events" / "events.delivery" (`ppreference.events`), "auth" (`ppreference.auth`), "app.*" (`ppreference.app`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .statuses import Status

__all__ = ["HOOK_MODULES", "Answer", "BatchLimit", "Hook", "Ignore", "Insert", "Seam", "Shift", "Skip", "Wrap"]


@dataclass(frozen=True)
class Skip:
    """The check answers nothing, or the step does nothing."""

    seam: str


@dataclass(frozen=True)
class Answer:
    """The check answers `status` where it answers (`was` given: only where it answers `was`)."""

    seam: str
    status: Status
    was: Status | None = None


@dataclass(frozen=True)
class Shift:
    """The check judges as if today were `days` later."""

    seam: str
    days: int


@dataclass(frozen=True)
class Insert:
    """A check of the fault's or variant's own (`mutants.MUTANTS[name]`) runs just before check `seam`."""

    seam: str


@dataclass(frozen=True, init=False)
class Wrap:
    """Each of `seams` (a check or a step) is wrapped by `mutants.MUTANTS[name]` (original -> replacement)."""

    seams: tuple[str, ...]

    def __init__(self, *seams: str) -> None:
        object.__setattr__(self, "seams", seams)


@dataclass(frozen=True)
class Ignore:
    """The customer lookup (`seam`: "batch.find-customer", or one endpoint's "update.find-customer") cannot find
    a customer by `identifier` ("id", "email", "externalId")."""

    identifier: str
    seam: str = "batch.find-customer"


@dataclass(frozen=True)
class BatchLimit:
    """The most customers one request takes (`payloads`): `limit` (None: no request-level limit) on `endpoint`
    ("link", "update", "delink"; None: every endpoint)."""

    endpoint: str | None
    limit: int | None


@dataclass(frozen=True)
class Hook:
    """Code outside the rules that asks for the fault or variant by name: `seam` names it (see the module doc)."""

    seam: str


Seam = Skip | Answer | Shift | Insert | Wrap | Ignore | BatchLimit | Hook

#: The module of each kind of `Hook` seam (the part of its name before the first dot).
HOOK_MODULES = {
    "shape": "shaping",
    "effects": "effects",
    "events": "events",
    "auth": "auth",
    "app": "app",
}
