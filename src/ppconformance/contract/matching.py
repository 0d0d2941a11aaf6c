"""The result matcher: which result of an item-level answer answers which item of the request.

One algorithm for the scenarios' verdicts (`verdicts.Judge.results`) and the fuzz checks
(`fuzz.checks`), so a target passes or fails both under the same stance.

AMB-RESULT-ORDER: the pages show results in request order but never say they must be
(link-customer#response-parameters).
- strict: result i answers request entry i, item j answers item j;
- lenient (default): a customer result answers the request entry whose identifiers it echoes (at least
  one identifier equal, none different; the closest echo wins), a program item the request item whose
  `partnerProgramName` it echoes; where the answer echoes nothing usable, the same position (a customer:
  else the first result left over), since only the status object is required in a result. A request entry
  (or item) that has a *different* twin with the same identifiers (or name) is `ambiguous`: which result
  answers it cannot be known, so it is not judged.

Under every stance a customer result is held to the customer it names: a result paired with request entry i
(by position, or as the last one left over) whose echoed identifiers share none with entry i but fit another
entry j of the same request answers the wrong customer (`CustomerMatch.foreign` = j). The position fallback serves only
results that echo nothing of the request (link-customer#response-parameters: "customer: Resolved customer
identifiers and retrieval status"). The Judge fails such a result; `item_codes` makes its codes unreadable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ppconformance.contract.endpoints import CUSTOMER_KEY, IDENTIFIER_KEYS, PROGRAM_NAME_KEY, Endpoint, ResultShape

__all__ = [
    "CustomerMatch",
    "ItemMatch",
    "Matching",
    "Sent",
    "identifiers",
    "item_codes",
    "match_results",
    "sent_from_request",
]


@dataclass(frozen=True)
class Sent:
    """One request entry as the matcher sees it: its customer object and its program items (dicts as sent)."""

    customer: Any
    items: Sequence[Any]


@dataclass(frozen=True)
class ItemMatch:
    """The result of one request item: its index in the result entry's program list, the item and its status
    object (`{}` when the item has none or is not an object)."""

    index: int
    item: dict[str, Any]
    status: dict[str, Any]


@dataclass
class CustomerMatch:
    """The result entry of one request entry (`index` in the answer's list, the `entry` object) and, per request
    item, its `ItemMatch`, None when no result answers it, or the string "ambiguous". `foreign`: the index of
    another request entry whose identifiers the result echoes instead of this entry's (it answers the wrong
    customer), else None."""

    index: int
    entry: dict[str, Any]
    items: list[ItemMatch | str | None] = field(default_factory=list)
    foreign: int | None = None


@dataclass
class Matching:
    """The whole answer matched: `shape` (None when the body is not an item-level answer), `results` (the
    answer's customer entries), and per request entry its `CustomerMatch`, None, or "ambiguous"."""

    shape: ResultShape | None
    results: list[Any]
    customers: list[CustomerMatch | str | None]


def identifiers(customer: Any) -> set[tuple[str, str]]:
    """The (key, value as text) identifier pairs of a customer object; scalars only, empty values ignored."""
    if not isinstance(customer, Mapping):
        return set()
    return {
        (k, str(customer[k]))
        for k in IDENTIFIER_KEYS
        if customer.get(k) not in (None, "") and not isinstance(customer.get(k), (bool, dict, list))
    }


def _name(item: Any) -> str | None:
    name = item.get(PROGRAM_NAME_KEY) if isinstance(item, Mapping) else None
    return name if isinstance(name, str) else None


def sent_from_request(endpoint: Endpoint, body: Any) -> list[Sent] | None:
    """The request body's entries as `Sent`, or None when its top level holds no entry list."""
    if not isinstance(body, Mapping) or not isinstance(body.get(endpoint.request_key), list):
        return None
    out = []
    for entry in body[endpoint.request_key]:
        entry = entry if isinstance(entry, Mapping) else {}
        items = entry.get(endpoint.request_items_key)
        out.append(Sent(entry.get(CUSTOMER_KEY), list(items) if isinstance(items, list) else []))
    return out


def _closeness(wanted: set[tuple[str, str]], echoed: set[tuple[str, str]]) -> tuple[int, int] | None:
    """How well an echoed identifier set fits the wanted one: None if it names a different value for a key
    sent, or shares nothing; else (-shared, extra) (smaller is closer)."""
    sent_keys = {k for k, _ in wanted}
    if any(k in sent_keys and (k, v) not in wanted for k, v in echoed):
        return None
    shared = len(wanted & echoed)
    return None if shared == 0 else (-shared, len(echoed - wanted))


def _pick(candidates: list[tuple[Any, int]], used: set[int], pos: int, size: int, *, any_free: bool) -> int | None:
    """The closest candidate; else the same position when free; else (`any_free`) the first free one."""
    if candidates:
        return min(candidates)[1]
    if pos < size and pos not in used:
        return pos
    return next((k for k in range(size) if k not in used), None) if any_free else None


def _foreign(i: int, echoed: set[tuple[str, str]], wanted: Sequence[set[tuple[str, str]]]) -> int | None:
    """The other request entry whose identifiers an `echoed` set fits, when it shares no identifier with entry `i`
    (an entry naming two customers at once, as generated bodies may, is answered by whichever it resolves)."""
    if not echoed or echoed & wanted[i]:
        return None
    return next((j for j, w in enumerate(wanted) if j != i and w != wanted[i] and _closeness(w, echoed)), None)


def _ambiguous(one: Any, all_: Sequence[Any], key: Any) -> bool:
    mine = key(one)
    return any(o is not one and o != one and key(o) == mine for o in all_)


def match_results(endpoint: Endpoint, sent: Sequence[Sent], body: Any, *, strict_order: bool) -> Matching:
    """Match the answer `body` (parsed JSON) to the request entries `sent` (see the module docstring).
    `strict_order`: the strict stance of AMB-RESULT-ORDER. Never raises; counts are not compared here
    (callers judge a missing or extra result as their requirement says)."""
    shape = endpoint.result_shape_of(body)
    if shape is None:
        return Matching(None, [], [None] * len(sent))
    results = list(body[shape.results_key])
    entries = [r if isinstance(r, Mapping) else {} for r in results]
    used: set[int] = set()
    customers: list[CustomerMatch | str | None] = []
    wanted_all = [identifiers(s.customer) for s in sent]
    for i, s in enumerate(sent):
        if strict_order:
            k: int | None = i if i < len(entries) else None
        else:
            wanted = wanted_all[i]
            candidates = [
                (fit, n)
                for n, e in enumerate(entries)
                if n not in used and (fit := _closeness(wanted, identifiers(e.get(CUSTOMER_KEY)))) is not None
            ]
            k = _pick(candidates, used, i, len(entries), any_free=True)
        if k is not None:
            used.add(k)  # an ambiguous entry still takes a result, so the entries after it are not paired with it
        if not strict_order and _ambiguous(s, sent, lambda x: identifiers(x.customer)):
            customers.append("ambiguous")
            continue
        if k is None:
            customers.append(None)
            continue
        entry = dict(entries[k])
        raw = entry.get(shape.programs_key)
        got = [g if isinstance(g, Mapping) else {} for g in (raw if isinstance(raw, list) else [])]
        match = CustomerMatch(k, entry, foreign=_foreign(i, identifiers(entry.get(CUSTOMER_KEY)), wanted_all))
        taken: set[int] = set()
        for j, item in enumerate(s.items):
            if strict_order:
                pick: int | None = j if j < len(got) else None
            elif _ambiguous(item, s.items, _name):
                match.items.append("ambiguous")
                continue
            else:
                name = _name(item)
                named = [(0, n) for n, g in enumerate(got) if n not in taken and name is not None and _name(g) == name]
                pick = _pick(named, taken, j, len(got), any_free=False)
            if pick is None:
                match.items.append(None)
                continue
            taken.add(pick)
            status = got[pick].get(shape.status_key)
            match.items.append(ItemMatch(pick, dict(got[pick]), dict(status) if isinstance(status, Mapping) else {}))
        customers.append(match)
    return Matching(shape, results, customers)


def item_codes(
    endpoint: Endpoint, sent: Sequence[Sent], status: int, body: Any, *, strict_order: bool
) -> list[list[Any]]:
    """Per request entry, per item: the status code of the result that answers it (`match_results`), or None
    when it cannot be read (no result answers it, it is ambiguous, it answers another customer of the request,
    or its code is not an integer).

    A 4xx answer without per-item results (the request-level error envelope, a 401) was not applied: every item
    gets the envelope's first error code, else the HTTP status. A 5xx, or a 2xx that is not an item-level answer,
    makes every item unreadable (None). Raises nothing."""
    if endpoint.result_shape_of(body) is None:
        if 400 <= status < 500:
            errors = body.get("errors") if isinstance(body, Mapping) else None
            first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
            code = _int_code(first.get("code"))
            return [[status if code is None else code] * len(s.items) for s in sent]
        return [[None] * len(s.items) for s in sent]
    if status >= 500:
        return [[None] * len(s.items) for s in sent]
    out: list[list[Any]] = []
    for s, match in zip(sent, match_results(endpoint, sent, body, strict_order=strict_order).customers, strict=True):
        if not isinstance(match, CustomerMatch) or match.foreign is not None:
            out.append([None] * len(s.items))
            continue
        out.append([_int_code(im.status.get("code")) if isinstance(im, ItemMatch) else None for im in match.items])
    return out


def _int_code(value: Any) -> int | None:
    """A status code as the answer gives it, when it is a JSON integer (not a boolean); else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
