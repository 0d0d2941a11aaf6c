"""The catalogue, the register and the scenarios agree with each other."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from steps.then_steps import ORACLE_STEP

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.model import TRANSITIONS
from ppconformance.contract.stances import AmbiguityId

ROOT = Path(__file__).resolve().parents[1]
CAT = load_catalogue()

# Issue 2, point 2: every code that must be the requirement of at least one scenario.
REQUIRED_CODES = {
    "linkCustomer": {2002, 2003, 2005, 2006, 2007, 2008, 2019, 2025, 2026, 1302},
    "customerPartnerProgramUpdate": {2002, 2003, 2004, 2006, 2007, 2008, 2009, 2026, 2027, 2028},
}


def test_catalogue_and_register_load_and_are_valid() -> None:
    assert len(CAT.requirements) >= 50
    assert len(CAT.ambiguities) >= 20


def test_link_2001_is_listed_untestable_with_a_reason() -> None:
    req = CAT.requirements["LINK-2001"]
    assert req.testable is False and "trigger" in (req.untestable_reason or "")


def test_every_scenario_cites_a_known_requirement_and_its_source(feature_scenarios) -> None:
    for sc in feature_scenarios:
        reqs = [t for t in sc["tags"] if t in CAT.requirements]
        assert reqs, f"{sc['file']}: scenario {sc['name']!r} has no requirement tag"
        docs = {t[4:].replace("/", "#", 1) for t in sc["tags"] if t.startswith("doc/")}
        for rid in reqs:
            assert CAT.requirements[rid].source in docs, (
                f"{sc['file']}: {sc['name']!r} cites {rid} but not its source "
                f"@doc/{CAT.requirements[rid].source.replace('#', '/')}"
            )


def test_no_scenario_tags_an_unknown_requirement_like_id(feature_scenarios) -> None:
    for sc in feature_scenarios:
        for tag in sc["tags"]:
            if re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", tag):
                assert tag in CAT.requirements, f"{sc['name']!r}: unknown requirement tag @{tag}"


def test_every_testable_requirement_has_a_scenario_and_untestable_ones_have_none(feature_scenarios) -> None:
    tagged = {t for sc in feature_scenarios for t in sc["tags"]}
    # FUZZ-* requirements are judged by the fuzz stage: its checks raise findings labelled with them
    fuzz_code = "".join(
        (ROOT / p).read_text(encoding="utf-8") for p in ("src/ppconformance/fuzz/checks.py", "steps/test_fuzz.py")
    )
    tagged |= {rid for rid in CAT.requirements if rid.startswith("FUZZ-") and f'"{rid}"' in fuzz_code}
    # the state requirements are judged by the oracle step (contract.model.TRANSITIONS), which ends every scenario
    # that touches a registered customer (tests/test_oracle.py)
    if any(text == ORACLE_STEP for sc in feature_scenarios for _, text in sc["steps"]):
        tagged |= {t.requirement for t in TRANSITIONS.values() if CAT.requirements[t.requirement].endpoint == "state"}
    for req in CAT.requirements.values():
        if req.testable:
            assert req.id in tagged, f"{req.id} ({req.title}) has no scenario"
        else:
            assert req.id not in tagged, f"{req.id} is untestable yet tagged on a scenario"


def test_every_documented_code_is_the_requirement_of_a_scenario(feature_scenarios) -> None:
    tagged = {t for sc in feature_scenarios for t in sc["tags"]}
    for endpoint, codes in REQUIRED_CODES.items():
        covered = {
            r.code
            for r in CAT.requirements.values()
            if r.id in tagged
            and r.code
            and r.id.startswith(("LINK", "UPDATE", "RELINK"))
            and (r.endpoint == endpoint or r.endpoint == "relinking")
        }
        assert codes <= covered, f"{endpoint}: codes without a scenario: {sorted(codes - covered)}"
    assert {"LINK-2005-NOT-ENROLLED", "LINK-2005-ALREADY-LINKED"} <= tagged
    assert {r.id for r in CAT.requirements.values() if r.endpoint == "deLinkCustomer"} <= tagged


def test_inferred_delink_codes_are_marked_inferred() -> None:
    for rid in ("DELINK-2004", "DELINK-2006", "DELINK-2008"):
        assert CAT.requirements[rid].level == "inferred" and CAT.requirements[rid].strict_with


def test_scenario_names_are_unique_facts(feature_scenarios) -> None:
    seen = set()
    for sc in feature_scenarios:
        key = (sc["file"], sc["name"])
        assert key not in seen, f"duplicate scenario name {key}"
        seen.add(key)
        assert not re.search(r"\b(should|test that)\b", sc["name"], re.I), sc["name"]


def test_given_and_when_steps_carry_no_urls_or_json(feature_scenarios) -> None:
    for sc in feature_scenarios:
        for keyword, text in sc["steps"]:
            if keyword in ("Given", "When", "And"):
                assert not re.search(r"https?://|/v2/|[{}\[\]]", text), f"{sc['name']!r}: {text!r}"


@pytest.mark.parametrize("amb", sorted(a.id for a in CAT.ambiguities.values() if a.strict))
def test_every_strict_stance_is_implemented(amb: str) -> None:
    """An ambiguity with a strict stance must be consulted by the suite's code (by its typed id)."""
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for d in ("src/ppconformance", "steps")
        for p in (ROOT / d).rglob("*.py")
        if p.name != "stances.py"  # where every id is declared
    )
    typed = f"AmbiguityId.{AmbiguityId(amb).name}"
    consulted = typed in code or amb in code or any(r.strict_with == amb for r in CAT.requirements.values())
    assert consulted, f"{amb} has a strict stance but no code consults it"


@pytest.mark.parametrize("amb", sorted(a.id for a in CAT.ambiguities.values() if a.strict))
def test_every_strict_stance_names_its_case_its_neighbour_and_the_test_judging_it(amb: str) -> None:
    """A lenient default as narrow as its case: an entry with a strict reading says which case needs its default
    (`case`), the documented case right next to it still judged by default (`neighbour`), and the self-test that
    proves it (`judgedBy`): a top-level test function of a file under tests/."""
    entry = CAT.ambiguities[amb]
    assert entry.case and entry.neighbour and entry.judged_by, f"{amb}: case, neighbour and judgedBy are required"
    path, name = entry.judged_by.split("::")
    file = ROOT / path
    assert file.is_file(), f"{amb}: judgedBy names {path}, which does not exist"
    tree = ast.parse(file.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert name in defined, f"{amb}: judgedBy names {name}, which is no top-level test function of {path}"


def test_rendered_pages_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.register", "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
