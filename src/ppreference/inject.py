"""The rules of one fault or variant: the documented rules with the seams of the catalogue applied.

    rules = rules_for(Behaviour(fault="link-enrolment-not-checked"))   # link.enrolled skipped
    run_link(org, state, batches, now, rules)

A seam inside the rules (`ppreference.seams`) names a check or a step of one book ("link.enrolled",
"update.store", "delink.remove-link"), of the per-customer rules every book shares ("batch.customer-found"; an
endpoint's own: "update.find-customer"), or the `calendar`. A check's name is its `Check.name`; a step's is its
field name with dashes ("store-link" is `LinkBook.store_link`). An unknown seam name raises `KeyError`, so a typo
in the catalogue fails when the server starts. `Hook` and `BatchLimit` seams are not the rules' business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any, TypeVar

from .behaviour import Behaviour
from .cases import Case, Check
from .mutants import MUTANTS
from .payloads import CustomerRef
from .rules import DOCUMENTED, BatchBook, Rules
from .seams import Answer, Ignore, Insert, Seam, Shift, Skip, Wrap
from .state import Customer, OrgState
from .statuses import Status

__all__ = ["rules_for", "with_seam"]

BOOKS = ("link", "update", "delink")
T = TypeVar("T")
CheckEdit = Callable[[Check[Any]], list[Check[Any]]]
StepEdit = Callable[[Callable[..., Any]], Callable[..., Any]]


def rules_for(behaviour: Behaviour) -> Rules:
    """The rules `behaviour` runs: `DOCUMENTED` with the seams of its fault (and that fault's reading) and of its
    variant applied, in that order."""
    rules = DOCUMENTED
    for name, seam in behaviour.seams():
        rules = with_seam(rules, name, seam)
    return rules


def with_seam(rules: Rules, name: str, seam: Seam) -> Rules:
    """`rules` with one seam of fault or variant `name` applied (unchanged for `Hook` and `BatchLimit`)."""
    if isinstance(seam, Skip):
        return _edit(rules, seam.seam, lambda check: [], lambda step: _nothing)
    if isinstance(seam, Answer):
        return _edit(rules, seam.seam, lambda check: [Check(check.name, _answering(check.test, seam))], None)
    if isinstance(seam, Shift):
        return _edit(rules, seam.seam, lambda check: [Check(check.name, _shifted(check.test, seam.days))], None)
    if isinstance(seam, Insert):
        return _edit(rules, seam.seam, lambda check: [Check(name, MUTANTS[name]), check], None)
    if isinstance(seam, Wrap):
        mutant = MUTANTS[name]
        for where in seam.seams:
            rules = _edit(rules, where, lambda check: [Check(check.name, mutant(check.test))], mutant)
        return rules
    if isinstance(seam, Ignore):
        return _edit(rules, seam.seam, None, lambda find: _ignoring(find, seam.identifier))
    return rules


def _nothing(*args: Any) -> None:
    """A step that does nothing (`Skip` of a step)."""


def _answering(test: Callable[[T], Status | None], seam: Answer) -> Callable[[T], Status | None]:
    def check(case: T) -> Status | None:
        answer = test(case)
        if answer is not None and (seam.was is None or answer == seam.was):
            return seam.status
        return answer

    return check


def _shifted(test: Callable[[Case[Any]], Status | None], days: int) -> Callable[[Case[Any]], Status | None]:
    def check(case: Case[Any]) -> Status | None:
        later = case.now.astimezone(case.zone) + timedelta(days=days)  # wall-clock days: today + `days`
        return test(replace(case, now=later))

    return check


def _ignoring(
    find: Callable[[OrgState, CustomerRef], Customer | None], identifier: str
) -> Callable[[OrgState, CustomerRef], Customer | None]:
    def find_customer(state: OrgState, ref: CustomerRef) -> Customer | None:
        key = ref.lookup_key()
        return None if key is not None and key[0] == identifier else find(state, ref)

    return find_customer


def _edit(rules: Rules, seam: str, on_check: CheckEdit | None, on_step: StepEdit | None) -> Rules:
    """`rules` with the check or step `seam` edited: a check replaced by the checks `on_check` gives, a step by
    `on_step` of it. Raises `KeyError` when `seam` names nothing that the edit applies to."""
    if seam == "calendar" and on_step is not None:
        return replace(rules, calendar=on_step(rules.calendar))
    book_name, _, name = seam.partition(".")
    if book_name == "batch":
        edited = {b: _edited_batch(getattr(rules, b), name, on_check, on_step) for b in BOOKS}
        if all(book is not None for book in edited.values()):
            return replace(rules, **edited)
    elif book_name in BOOKS:
        book = getattr(rules, book_name)
        edited_book = _edited(book, name, on_check, on_step) or _edited_batch(book, name, on_check, on_step)
        if edited_book is not None:
            return replace(rules, **{book_name: edited_book})
    raise KeyError(f"no seam {seam!r} in the rules for this kind of edit")


def _edited_batch(book: Any, name: str, on_check: CheckEdit | None, on_step: StepEdit | None) -> Any:
    batch: BatchBook = book.batch
    edited = _edited(batch, name, on_check, on_step)
    return None if edited is None else replace(book, batch=edited)


def _edited(obj: Any, name: str, on_check: CheckEdit | None, on_step: StepEdit | None) -> Any:
    """`obj` (a book) with its check or step `name` edited; None when it has no such check or step (or the edit
    does not apply to it)."""
    for field in fields(obj):
        value = getattr(obj, field.name)
        if on_check is not None and isinstance(value, tuple) and any(isinstance(c, Check) for c in value):
            if any(check.name == name for check in value):
                checks = [new for check in value for new in (on_check(check) if check.name == name else [check])]
                return replace(obj, **{field.name: tuple(checks)})
        elif on_step is not None and field.name == name.replace("-", "_") and callable(value):
            return replace(obj, **{field.name: on_step(value)})
    return None
