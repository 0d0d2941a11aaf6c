"""Teardown from the journal: cancel pending relinks, delink, and check that nothing is left.

Open journal entries are grouped by org and program set, in batches of at most
50 customers (the documented batch limit):

1. when the org's relinking is not known to be disabled, one
   customerPartnerProgramUpdate per batch cancelling a pending relink
   (`MEMBERSHIP_RELINKING_CANCELLED`, update-partner-program#body-parameters)
   of every supplementary program journaled — item codes are ignored (2027
   "nothing pending" is the usual answer);
2. one deLinkCustomer per batch for every program journaled (2004 "not
   linked" is fine);
3. per customer, a check through `GET /v2/customers/{id}/loyaltyDetails` (the id looked up
   through `GET /v2/customers/lookup` when the journal has none): a journaled
   program still listed is a *leftover*. A customer the target does not know
   has no links.

A customer whose state is `Known` (the scenario's oracle read it after its last write, `run.expected_state`) costs
fewer requests: a journaled program it was not seen listed with, and that can have no pending relink, is
closed without any request; the others are cancelled and delinked as above, and an item the delink answered
200 is closed without reading loyaltyDetails again (only a customer with another answer is read).

Entries found clean are closed in the journal; the others stay open for the
next sweep (end of run, then start of the next run) and are reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ppconformance.connection.client import Exchange, PartnerProgramClient, TargetError, TargetUnreachable
from ppconformance.contract.endpoints import CUSTOMER_KEY, DELINK, PROGRAM_NAME_KEY, UPDATE
from ppconformance.contract.matching import Sent, item_codes
from ppconformance.contract.stances import AmbiguityId
from ppconformance.run.link_journal import Journal, JournalEntry

__all__ = [
    "BATCH",
    "CleanupReport",
    "Known",
    "clean",
    "clean_customer",
    "clean_customers",
    "linked_program_names",
    "send_delink",
]

CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"
BATCH = 50


@dataclass(frozen=True)
class Known:
    """What cleanup may rely on for one customer: the programs last seen listed after its last write (None: not
    seen since), and per declared program whether a relink may be pending (True, False or None: unknown)."""

    listed: frozenset[str] | None
    pending: dict[str, bool | None]


@dataclass
class CleanupReport:
    """What a sweep did: entries closed, leftovers `(entry, reason)` still open, requests sent, and
    whether the target became unreachable (then the leftovers are not known to be linked: the next
    run's start-of-run sweep retries them)."""

    closed: int = 0
    leftovers: list[tuple[JournalEntry, str]] = field(default_factory=list)
    requests: int = 0
    unreachable: bool = False

    def render(self) -> str:
        """One line per leftover: org, customer identifiers, program and why."""
        return "\n".join(
            f"  org {e.org}: customer {e.customer_obj} still linked to {e.program!r}: {why}"
            for e, why in self.leftovers
        )


def _mobiles_as_numbers(body: Any) -> dict[str, Any] | None:
    """`body` with every digit-string `customer.mobile` sent as a JSON number; None when there is none."""
    entries = DELINK.request_entries(body)
    numbered = [
        ({**c, "mobile": int(c["mobile"])} if isinstance(c, dict) and str(c.get("mobile", "")).isdigit() else c, items)
        for c, items in entries
    ]
    return None if numbered == entries else DELINK.request_body(numbered)


def _identified_nobody(ex: Exchange) -> bool:
    """True when a delink answer identified none of its customers: no customer result with status code 1000
    (capillary-facts#customer-identification), in a 4xx or in item-level results (a 4xx that carries item
    results naming an identified customer is a batch with a failed item: AMB-ITEM-FAILURE-HTTP-STATUS)."""
    body = ex.response_json if isinstance(ex.response_json, dict) else {}
    entries = [e for shape in DELINK.result_shapes for e in body.get(shape.results_key) or [] if isinstance(e, dict)]
    codes = [((e.get(CUSTOMER_KEY) or {}).get("status") or {}).get("code") for e in entries]
    if 1000 in codes:
        return False
    return 400 <= ex.status < 500 or bool(entries)


def send_delink(client: PartnerProgramClient, body: dict[str, Any], *, retry: bool = True, **kw: Any) -> Exchange:
    """POST deLinkCustomer with `body` under either reading of AMB-DELINK-MOBILE-TYPE (the delink page types
    `customer.mobile` integer, the other pages string): by default, when the answer identified nobody and the
    body sent mobiles as strings, the same delink goes once more with the mobiles as JSON numbers and that
    answer is returned (a target of either reading is judged by the form it reads). Strict: one request, as
    built (`Bodies.customer_obj` then sends numbers). `retry=False`: one request (the customers are known to be
    unregistered: nobody can be identified). Raises what `PartnerProgramClient.delink` raises."""
    ex = client.delink(body, **kw)
    if not retry or client.profile.is_strict(AmbiguityId.DELINK_MOBILE_TYPE) or not _identified_nobody(ex):
        return ex
    numbered = _mobiles_as_numbers(body)
    return ex if numbered is None else client.delink(numbered, **kw)


def _customer_id(client: PartnerProgramClient, customer: dict[str, Any]) -> int | None:
    if isinstance(customer.get("id"), int):
        return int(customer["id"])
    for kind in ("mobile", "email", "externalId"):
        if customer.get(kind):
            ex = client.send(
                "GET",
                "/v2/customers/lookup",
                params={
                    "source": client.profile.customer_source,
                    "identifierName": kind,
                    "identifierValue": str(customer[kind]),
                },
            )
            body = ex.response_json if isinstance(ex.response_json, dict) else {}
            if ex.status == 200 and isinstance(body.get("entity"), int):
                return int(body["entity"])
            return None
    return None


NOT_FOUND = 8015
"""The code of a customer the org does not have (capillary-facts#customer-identification)."""


def linked_program_names(client: PartnerProgramClient, customer_id: int) -> list[str] | None:
    """Names in the customer's linkedPartnerPrograms; [] when the org answers that it has no such customer (a 4xx
    carrying 8015: nothing of this org can be linked to it, e.g. a link the tenant-isolation scenarios sent with
    another org's credentials); None when loyaltyDetails is not readable."""
    ex = client.loyalty_details(customer_id)
    body = ex.response_json
    errors = body.get("errors") if isinstance(body, dict) else None
    if 400 <= ex.status < 500 and isinstance(errors, list):
        if any(isinstance(e, dict) and e.get("code") == NOT_FOUND for e in errors):
            return []
    if ex.status != 200 or not isinstance(body, dict) or not isinstance(body.get("linkedPartnerPrograms"), list):
        return None
    return [str(p.get("partnerProgramName")) for p in body["linkedPartnerPrograms"] if isinstance(p, dict)]


def _ident(customer: dict[str, Any]) -> dict[str, Any]:
    return {"id": customer["id"]} if isinstance(customer.get("id"), int) else customer


def clean_customers(
    client: PartnerProgramClient,
    customers: list[dict[str, Any]],
    programs: list[str] | list[list[str]],
    supplementary: list[str] | list[list[str]],
    relinking: bool | None,
    *,
    trust_delink: bool = False,
) -> list[list[str] | None]:
    """Cancel (relinks of `supplementary`, unless the org's relinking is off), delink `programs` and check up to
    `BATCH` customers in one request each (each customer's own items); `programs` and `supplementary` are either one
    list for every customer or one list per customer. Returns, per customer, the programs still linked, or None when
    the check could not be made. `trust_delink` (customers whose state is known): a customer whose every delink item
    answered 200 is clean without reading loyaltyDetails. Raises `TargetError` from the client."""
    idents = [_ident(c) for c in customers]
    per_programs = _per_customer(programs, len(customers))
    per_cancel = _per_customer(supplementary, len(customers)) if relinking is not False else [[] for _ in customers]
    cancelling = [(i, names) for i, names in zip(idents, per_cancel, strict=True) if names]
    if cancelling:
        client.update(
            UPDATE.request_body(
                (i, [{PROGRAM_NAME_KEY: n, "updateType": CANCEL} for n in names]) for i, names in cancelling
            )
        )
    delinking = [(k, i, names) for k, (i, names) in enumerate(zip(idents, per_programs, strict=True)) if names]
    codes: list[list[Any]] = [[] for _ in customers]
    if not delinking:
        return [[] for _ in customers]
    ex = send_delink(
        client, DELINK.request_body((i, [{PROGRAM_NAME_KEY: n} for n in names]) for _, i, names in delinking)
    )
    delinked_at = time.monotonic()
    if trust_delink:
        sent = [Sent(c, items) for c, items in DELINK.request_entries(ex.request_body) or []]
        answered = item_codes(DELINK, sent, ex.status, ex.response_json, strict_order=False)
        for (k, _, _), entry_codes in zip(delinking, answered, strict=False):
            codes[k] = entry_codes
    out: list[list[str] | None] = []
    for customer, names_sent, entry_codes in zip(customers, per_programs, codes, strict=True):
        if not names_sent or (entry_codes and all(code == 200 for code in entry_codes)):
            out.append([])
            continue
        cid = _customer_id(client, customer)
        names = [] if cid is None else linked_program_names(client, cid)
        delay, deadline = 0.1, delinked_at + client.profile.state.read_consistency_seconds
        while (
            cid is not None and names and any(p in names for p in names_sent) and (now := time.monotonic()) < deadline
        ):
            time.sleep(min(delay, deadline - now))  # a read path that lags the delink (state.read_consistency_seconds)
            delay *= 2
            names = linked_program_names(client, cid)
        out.append(None if names is None else [p for p in names_sent if p in names])
    return out


def _per_customer(names: list[str] | list[list[str]], count: int) -> list[list[str]]:
    """One list of names per customer: `names` itself when it is already one per customer, else `names` for each."""
    if names and isinstance(names[0], list):
        return [list(n) for n in names]  # type: ignore[arg-type]
    return [list(names) for _ in range(count)]  # type: ignore[arg-type]


def clean_customer(
    client: PartnerProgramClient,
    customer: dict[str, Any],
    programs: list[str],
    supplementary: list[str],
    relinking: bool | None,
) -> list[str] | None:
    """`clean_customers` for one customer."""
    return clean_customers(client, [customer], programs, supplementary, relinking)[0]


def clean(
    entries: list[JournalEntry],
    client_for: Callable[[str], PartnerProgramClient],
    journal: Journal,
    relinking: Callable[[str], bool | None],
    known: dict[int, Known] | None = None,
) -> CleanupReport:
    """Clean every open entry; `client_for(org name)` gives a client (with writes allowed),
    `relinking(org name)` the org's relinking setting, `known` what is known of customers by id (see the
    module docstring). Never raises: a target error leaves the entries open and is reported as the reason."""
    report = CleanupReport()
    closing: list[JournalEntry] = []  # closed in one write per journal file at the end
    per_customer: dict[tuple[str, tuple[tuple[str, Any], ...]], list[JournalEntry]] = {}
    for entry in entries:
        per_customer.setdefault((entry.org, entry.customer), []).append(entry)
    batches: dict[tuple[str, bool], list[tuple[list[JournalEntry], list[str], list[str]]]] = {}
    for (org, _), group in per_customer.items():
        state = (known or {}).get(group[0].customer_obj.get("id"))  # type: ignore[arg-type]
        if state is not None and state.listed is not None:
            delink = sorted({e.program for e in group if e.program in state.listed})
            maybe_pending = {e.program for e in group if e.supplementary and state.pending.get(e.program) is not False}
            cancel = sorted(maybe_pending) if relinking(org) is not False else []
            if not delink and not cancel:
                closing += group
                continue
            batches.setdefault((org, True), []).append((group, delink, cancel))
            continue
        programs = sorted({e.program for e in group})
        batches.setdefault((org, False), []).append(
            (group, programs, sorted({e.program for e in group if e.supplementary}))
        )
    for (org, trusted), groups in batches.items():
        if report.unreachable:
            report.leftovers += [(e, "not tried: the target became unreachable") for g, _, _ in groups for e in g]
            continue
        try:
            client = client_for(org)
        except KeyError:
            report.leftovers += [
                (e, f"the profile has no org {org!r} to clean it with") for g, _, _ in groups for e in g
            ]
            continue
        for start in range(0, len(groups), BATCH):
            chunk = groups[start : start + BATCH]
            if report.unreachable:
                report.leftovers += [(e, "not tried: the target became unreachable") for g, _, _ in chunk for e in g]
                continue
            before = client.requests_sent
            try:
                left = clean_customers(
                    client,
                    [g[0].customer_obj for g, _, _ in chunk],
                    [programs for _, programs, _ in chunk],
                    [cancel for _, _, cancel in chunk],
                    relinking(org),
                    trust_delink=trusted,
                )
            except TargetError as exc:
                report.unreachable = isinstance(exc, TargetUnreachable)
                report.leftovers += [(e, f"cleanup failed: {str(exc).splitlines()[0]}") for g, _, _ in chunk for e in g]
                continue
            finally:
                report.requests += client.requests_sent - before
            for (group, _, _), still in zip(chunk, left, strict=True):
                for entry in group:
                    if still is None:
                        report.leftovers.append((entry, "loyaltyDetails could not be read to check the delink"))
                    elif entry.program in still:
                        report.leftovers.append((entry, "still listed in loyaltyDetails after the delink"))
                    else:
                        closing.append(entry)
    journal.close_entries(closing)
    report.closed += len(closing)
    return report
