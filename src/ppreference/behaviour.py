"""Which fault and which variant one server runs (`--fault NAME`, `--variant NAME`): `Behaviour`.

    behaviour = Behaviour(fault="link-2006-as-2004")     # ValueError for an unknown name
    behaviour.faulty("link-2006-as-2004")                 # True
    behaviour.seams()                                     # [("link-2006-as-2004", Answer("link.program-known", ...))]

The rules learn of it only through the seams (`ppreference.inject.rules_for`); the hooks outside the rules
(`seams.Hook`) ask `faulty` / `varies`. With `CONFORMING` (neither) every seam and hook is inactive.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import FAULTS
from .seams import BatchLimit, Seam
from .variants import VARIANTS

__all__ = ["CONFORMING", "ENDPOINT_BOOKS", "Behaviour"]

#: The rules' book of each Partner Program endpoint (the first part of a seam's name).
ENDPOINT_BOOKS = {"linkCustomer": "link", "customerPartnerProgramUpdate": "update", "deLinkCustomer": "delink"}


@dataclass(frozen=True)
class Behaviour:
    """The active fault and variant of one server (both None: conforming).

    Raises `ValueError` naming the known names when `fault` is not in `FAULTS`
    or `variant` not in `VARIANTS`.
    """

    fault: str | None = None
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; known: {', '.join(FAULTS)}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; known: {', '.join(VARIANTS)}")

    def faulty(self, name: str) -> bool:
        """True when fault `name` is injected (`name` must be a known fault: catches typos in hooks)."""
        assert name in FAULTS, name
        return self.fault == name

    def varies(self, name: str) -> bool:
        """True when variant `name` is active, or a fault of the strict stance that takes its reading
        (`Fault.reading`)."""
        assert name in VARIANTS, name
        return self.variant == name or (self.fault is not None and FAULTS[self.fault].reading == name)

    def active(self, name: str) -> bool:
        """`faulty(name)` for a fault's name, `varies(name)` for a variant's."""
        return self.faulty(name) if name in FAULTS else self.varies(name)

    def seams(self) -> list[tuple[str, Seam]]:
        """The seams in effect, each with the name of its fault or variant: the fault's, its reading's (a fault
        of the strict stance), then the variant's."""
        out: list[tuple[str, Seam]] = []
        if self.fault is not None:
            fault = FAULTS[self.fault]
            out += [(fault.name, seam) for seam in fault.seams]
            if fault.reading is not None:
                out += [(fault.reading, seam) for seam in VARIANTS[fault.reading].seams]
        if self.variant is not None:
            out += [(self.variant, seam) for seam in VARIANTS[self.variant].seams]
        return out

    def batch_limit(self, endpoint: str, documented: int) -> int | None:
        """The most customers `endpoint` takes in one request: `documented` (50), or the limit of a
        `BatchLimit` seam in effect (one less or one more under a boundary fault; None: no request-level limit,
        variant batch-limit-per-item)."""
        book = ENDPOINT_BOOKS[endpoint]
        limits = [s for _, s in self.seams() if isinstance(s, BatchLimit) and s.endpoint in (None, book)]
        return limits[-1].limit if limits else documented


CONFORMING = Behaviour()
