"""Test customers' identities: random ones unique to a run, and the customer pool's deterministic ones.

A test customer's mobile is 12 digits: the profile's `test_data.mobile_prefix`, then a *tail* of
`12 - len(prefix)` digits. The two kinds of identity never meet:

- a random identity (`random_mobile`: a customer registered without the pool, an unregistered customer, a fuzz
  case's made-up customer) has a tail that does not start with 0;
- a pool identity (`pool_identity`) has a tail that does: the number
  `((slot * MAX_ORGS + org) * 2 + kind) * SPAN + index`, zero-padded, where `slot` is the profile's
  `test_data.pool_slot`, `org` the org's position in the profile, `kind` 0 for a customer enrolled in the
  loyalty program and 1 for one that is not, and `index` (0 <= index < SPAN) the customer's place in its pool.

So the same profile, slot, org, kind and index give the same customer on any machine, with no local state: a later
run finds it again (`run.customer_pool`). Its email and externalId carry the same tag (`pp-pool-<slot>-<org>-<e|n>
<index>@<email_domain>`, `ppc-pool-<slot>-<org>-<e|n><index>`): the Partner Program answers echo them in their
`customer` object (delink-customer#response-parameter: id, mobile, email, externalId), which tells a pool customer
from another customer that happens to hold its mobile. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MAX_ORGS", "SPAN", "PoolIdentity", "pool_capacity_problem", "pool_identity", "random_mobile"]

MOBILE_DIGITS = 12
SPAN = 1000
"""Pool indices per slot, org and kind: what one run can take from one org's pool (xdist workers included)."""
MAX_ORGS = 10
"""Org positions a slot has room for."""


@dataclass(frozen=True)
class PoolIdentity:
    """One pool customer's identity: its org's position in the profile, whether it is enrolled in the loyalty
    program (registered with loyaltyType loyalty), its index, and the identifiers it is registered with."""

    org: int
    enrolled: bool
    index: int
    mobile: str
    email: str
    external_id: str

    def identifiers(self) -> dict[str, str]:
        """The identifiers POST /v2/customers registers it with: {"mobile", "email", "externalId"}."""
        return {"mobile": self.mobile, "email": self.email, "externalId": self.external_id}


def _number(slot: int, org: int, enrolled: bool, index: int) -> int:
    return ((slot * MAX_ORGS + org) * 2 + (0 if enrolled else 1)) * SPAN + index


def pool_capacity_problem(prefix: str, slot: int, orgs: int) -> str | None:
    """Why the pool identities of `slot` for `orgs` orgs do not fit behind `prefix` (each tail must start with 0),
    or None when they fit."""
    tail = MOBILE_DIGITS - len(prefix)
    if orgs > MAX_ORGS:
        return f"the pool has room for {MAX_ORGS} orgs, the profile declares {orgs}"
    largest = _number(slot, orgs - 1, False, SPAN - 1)
    if tail < 2 or largest >= 10 ** (tail - 1):
        return (
            f"test_data.mobile_prefix {prefix!r} leaves {tail} digits, too few for the customer pool's identities of "
            f"pool_slot {slot} and {orgs} org(s)"
        )
    return None


def pool_identity(prefix: str, email_domain: str, slot: int, org: int, enrolled: bool, index: int) -> PoolIdentity:
    """The identity of pool customer `index` of the org at position `org` (enrolled or not) in `slot`.

    Raises ValueError when `index` is outside 0..SPAN-1, `org` outside 0..MAX_ORGS-1, or the identity does not fit
    behind `prefix` (`pool_capacity_problem`)."""
    if not 0 <= index < SPAN or not 0 <= org < MAX_ORGS or slot < 0:
        raise ValueError(f"no pool identity for slot {slot}, org {org}, index {index}")
    problem = pool_capacity_problem(prefix, slot, org + 1)
    if problem:
        raise ValueError(problem)
    tail = MOBILE_DIGITS - len(prefix)
    mobile = prefix + str(_number(slot, org, enrolled, index)).zfill(tail)
    tag = f"pool-{slot}-{org}-{'e' if enrolled else 'n'}{index:03d}"
    return PoolIdentity(org, enrolled, index, mobile, f"pp-{tag}@{email_domain}", f"ppc-{tag}")


def random_mobile(prefix: str, choice: Callable[[str], str]) -> str:
    """A 12-digit mobile behind `prefix` whose tail does not start with 0 (so it is never a pool identity);
    `choice` picks one character of a string (`secrets.choice`, or a seeded `random.Random().choice`)."""
    tail = MOBILE_DIGITS - len(prefix)
    return prefix + choice("123456789") + "".join(choice("0123456789") for _ in range(tail - 1))
