"""Then steps name the requirement they judge (`steps.then_steps.judged`); none is guessed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from steps.then_steps import SUCCESS, TIERS, judged

from ppconformance.contract.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
REQ = load_catalogue().requirements


def test_a_code_names_the_requirement_of_that_code_and_nothing_else():
    tagged = [REQ["LINK-2002"], REQ["LINK-2003"]]
    assert judged(tagged, code=2003).id == "LINK-2003"
    with pytest.raises(LookupError, match="code 2019"):
        judged(tagged, code=2019)


def test_several_tags_need_the_step_to_say_which_it_judges():
    tagged = [REQ["UPDATE-SUCCESS"], REQ["UPDATE-UPGRADE-TIER"]]
    assert judged(tagged, among=SUCCESS).id == "UPDATE-SUCCESS"
    assert judged(tagged, among=TIERS).id == "UPDATE-UPGRADE-TIER"
    with pytest.raises(LookupError, match="UPDATE-SUCCESS, UPDATE-UPGRADE-TIER"):
        judged(tagged)
    assert judged([REQ["RELINK-QUEUE"]], among=SUCCESS).id == "RELINK-QUEUE"  # the only one
    with pytest.raises(LookupError, match="none"):
        judged([])


def test_no_step_picks_a_requirement_by_position():
    for path in (ROOT / "steps").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "requirements":
                raise AssertionError(f"{path.name}:{node.lineno}: {ast.unparse(node)} picks by position")
