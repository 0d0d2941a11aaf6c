"""The seams of the reference server (src/ppreference/seams.py, inject.py, mutants.py; docs/fault-sweep.md).

The documented rules read alone (no fault or variant in `rules.py`), every catalogue entry names where it acts, every
seam it names exists, every mutant is used, and every hook outside the rules really asks for its fault or variant.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ppreference import load_orgs
from ppreference.behaviour import Behaviour
from ppreference.cases import Case, Check
from ppreference.faults import FAULTS, STRICT_FAULTS, Fault
from ppreference.inject import rules_for, with_seam
from ppreference.mutants import MUTANTS
from ppreference.payloads import LinkItem
from ppreference.rules import DOCUMENTED, LinkBook, link_program
from ppreference.seams import HOOK_MODULES, Answer, Hook, Insert, Shift, Skip, Wrap
from ppreference.state import Store
from ppreference.statuses import NOT_ENROLLED, PROGRAM_NOT_FOUND, SUCCESS
from ppreference.variants import VARIANTS, Variant

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ppreference"
ENTRIES: list[Fault | Variant] = [*FAULTS.values(), *VARIANTS.values()]
NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def test_the_rules_know_no_fault_or_variant() -> None:
    source = (PACKAGE / "rules.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"faulty", "varies", "swap", "Behaviour", "fx", "FAULTS", "VARIANTS"}
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not strings & (set(FAULTS) | set(VARIANTS))


def test_every_check_says_its_doc_source() -> None:
    books = [DOCUMENTED.link, DOCUMENTED.update, DOCUMENTED.delink]
    checks = [c for b in books for f in vars(b).values() if isinstance(f, tuple) for c in f if isinstance(c, Check)]
    checks += [*DOCUMENTED.link.batch.customer_checks, *DOCUMENTED.link.batch.item_checks]
    assert len(checks) > 30
    for check in checks:
        doc = check.test.__doc__ or ""
        assert "->" in doc or "Warning" in doc or "answer" in doc, check.name
        assert "rule" in doc or "#" in doc or "capillary-facts" in doc or "AMB-" in doc, check.name


def test_every_entry_names_where_it_acts() -> None:
    strict = {f.name for f in STRICT_FAULTS}
    for entry in ENTRIES:
        if isinstance(entry, Fault) and entry.name in strict:
            assert not entry.seams and entry.reading in VARIANTS, entry.name  # it acts through its reading
        elif entry.name != "strict-readings":  # the server's own choices: nothing to change
            assert entry.seams, entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_seam_exists(entry: Fault | Variant) -> None:
    name = entry.name
    behaviour = Behaviour(fault=name) if name in FAULTS else Behaviour(variant=name)
    rules = rules_for(behaviour)  # KeyError for a seam the rules do not have
    acts_on_rules = any(not isinstance(s, Hook) and type(s).__name__ != "BatchLimit" for _, s in behaviour.seams())
    assert (rules != DOCUMENTED) == acts_on_rules, name


def test_every_mutant_is_used_by_name() -> None:
    used = {e.name for e in ENTRIES for s in e.seams if isinstance(s, (Wrap, Insert))}
    assert used == set(MUTANTS)


def test_every_hook_asks_for_its_entry() -> None:
    for entry in ENTRIES:
        for seam in entry.seams:
            if isinstance(seam, Hook):
                module = HOOK_MODULES[seam.seam.split(".")[0]]
                source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
                assert f'"{entry.name}"' in source, (entry.name, seam)


def test_an_unknown_seam_fails_when_the_rules_are_built() -> None:
    with pytest.raises(KeyError, match="link.no-such-check"):
        with_seam(DOCUMENTED, "x", Skip("link.no-such-check"))


# the seam kinds, on one link item ------------------------------------------------------------------------
@pytest.fixture
def org_state(env: dict[str, str]):  # type: ignore[no-untyped-def]
    org = load_orgs()[0]
    store = Store([org.org_id])
    state = store.org(org.org_id)
    customer = store.create_customer(org.org_id, mobile="919000000001", email=None, external_id=None, enrolled=False)
    return org, state, customer


def test_skip_removes_a_check(org_state) -> None:  # type: ignore[no-untyped-def]
    org, state, customer = org_state
    item = LinkItem("Apparel-Partner", "M")
    assert link_program(org, state, customer, item, NOW).status == NOT_ENROLLED
    skipped = with_seam(DOCUMENTED, "f", Skip("link.enrolled"))
    assert link_program(org, state, customer, item, NOW, skipped).status == SUCCESS


def test_answer_changes_a_checks_status_only_where_it_answers(org_state) -> None:  # type: ignore[no-untyped-def]
    org, state, customer = org_state
    answered = with_seam(DOCUMENTED, "f", Answer("link.enrolled", PROGRAM_NOT_FOUND))
    assert link_program(org, state, customer, LinkItem("Apparel-Partner", "M"), NOW, answered).status.code == 2006
    assert link_program(org, state, customer, LinkItem("Nope", "M"), NOW, answered).status.code == 2006  # as before
    only = with_seam(DOCUMENTED, "f", Answer("link.enrolled", SUCCESS, was=PROGRAM_NOT_FOUND))
    assert link_program(org, state, customer, LinkItem("Apparel-Partner", "M"), NOW, only).status == NOT_ENROLLED


def test_shift_moves_today(org_state) -> None:  # type: ignore[no-untyped-def]
    org, state, customer = org_state
    customer = replace(customer, enrolled=True)
    today = LinkItem("Apparel-Partner", "M", tier_expiry="2026-06-15")
    later = with_seam(DOCUMENTED, "f", Shift("link.tier-expiry-not-past", 1))
    assert link_program(org, state, customer, today, NOW, later).status.code == 2003
    assert link_program(org, state, customer, today, NOW).status == SUCCESS


def test_the_documented_link_book_is_this_pages_order() -> None:
    book: LinkBook = DOCUMENTED.link
    assert [c.name for c in book.checks] == [
        "name-given",
        "program-known",
        "enrolled",
        "tier-known",
        "tier-expiry-parses",
        "tier-expiry-not-past",
        "start-parses",
        "start-not-past",
        "not-linked-yet",
        "relink-supplementary-only",
        "relinking-enabled",
        "relink-after-end",
        "relink-not-pending",
        "one-supplementary",
        "membership-id-given",
    ]
    assert Case.__doc__
