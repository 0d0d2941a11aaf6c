"""The reusable customers of one process (the run, or one xdist worker): provisioned customers carried from
scenario to scenario, and the cleanup deferred to the end of the process.

A scenario's customer is kept for reuse when the state oracle saw every field of it as documented after the
scenario's last write (so the model's state is the target's), nothing of it is unknown, no relink is pending and no
write with an effect the model does not follow (a renewal initiation's membership end, a relink's start) touched it.
The next scenario that needs a customer in that state (enrolled and never linked; linked to the external program at
its lowest tier; linked to the supplementary program; ...) takes it instead of registering and linking a new one:
its Given costs no request. Each scenario still gets a customer in exactly the state its Given states, and the model
it carries says what its programs are.

Cleanup is deferred too: the journal entries of every scenario stay open (a killed run leaves them to the next
run's start-of-run sweep, as before) and `flush` cleans them all at the end of the process, in batches of 50
(`run.cleanup.clean`), with what is known of each customer: a program seen not listed costs nothing, one seen
listed one delink item, and only a customer whose last state is unknown is read through loyaltyDetails again.
No I/O but `flush`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.contract.model import CustomerState
from ppconformance.run.cleanup import CleanupReport, Known, clean
from ppconformance.run.link_journal import Journal, JournalEntry
from ppconformance.run.provision import Customer

__all__ = ["Reusable", "ReusableCustomers"]


@dataclass
class Reusable:
    """A customer kept for reuse: the customer, its modelled state as the oracle last confirmed it, and whether it
    was ever linked to any program (`pristine` customers serve "a customer enrolled in the loyalty program")."""

    customer: Customer
    state: CustomerState
    pristine: bool


@dataclass
class ReusableCustomers:
    """The reusable customers of one process (see the module docstring): free customers per org, the journal
    entries whose cleanup is deferred, and what is known of each customer for that cleanup (`Known`, by customer id)."""

    free: dict[str, list[Reusable]] = field(default_factory=dict)
    deferred: list[JournalEntry] = field(default_factory=list)
    known: dict[int, Known] = field(default_factory=dict)
    taken: int = 0
    returned: int = 0

    def take(self, org: str, want: Callable[[Reusable], bool], count: int = 1) -> list[Reusable]:
        """Up to `count` free customers of `org` that `want` accepts, taken out (oldest first)."""
        pool = self.free.get(org, [])
        picked = [b for b in pool if want(b)][:count]
        for b in picked:
            pool.remove(b)
        self.taken += len(picked)
        return picked

    def give(self, org: str, kept: Reusable) -> None:
        """Put a customer back for later scenarios of `org`."""
        self.free.setdefault(org, []).append(kept)
        self.returned += 1

    def defer(self, entries: list[JournalEntry], known: dict[int, Known]) -> None:
        """Keep a scenario's journal entries for `flush`, with what is known of its customers now."""
        self.deferred += entries
        self.known.update(known)

    def flush(
        self,
        client_for: Callable[[str], PartnerProgramClient],
        journal: Journal,
        relinking: Callable[[str], bool | None],
    ) -> CleanupReport:
        """Clean every deferred entry (`run.cleanup.clean` with the known states); never raises. What cannot be
        cleaned stays open in the journal for the run's end-of-run sweep."""
        entries, self.deferred = self.deferred, []
        self.free.clear()
        if not entries:
            return CleanupReport()
        return clean(entries, client_for, journal, relinking, known=self.known)
