"""The state oracle covers every writing scenario (issue 15): a scenario that touches a registered customer ends
with the oracle step, which compares each of them with the documented model (`contract.model`).

"Touches a registered customer" is read off the step definitions, not the step texts: a Given or When step
whose function (or a helper of its module it calls, transitively) calls `World.register_customer`. The walk
binds each step of features/ (Scenario Outlines with each Examples row) to its pytest-bdd step function
(`pytest_bdd.steps.step_function_context_registry`, the steps the root conftest loads).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import steps.given_steps
import steps.then_steps
import steps.webhook_steps
import steps.when_steps  # noqa: F401  (loads the When steps into the registry)
from gherkin.parser import Parser
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry
from steps.then_steps import ORACLE_STEP

ROOT = Path(__file__).resolve().parents[1]
REGISTERS = "register_customer"


def _calls(func: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """(attribute names called, plain names called) in `func`'s body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    attrs = {c.func.attr for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)}
    names = {c.func.id for c in ast.walk(tree) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    return attrs, names


def registers(func: Callable[..., Any], seen: frozenset[str] = frozenset()) -> bool:
    """True when `func`, or a function of its module it calls by name (transitively), calls `register_customer`."""
    attrs, names = _calls(func)
    if REGISTERS in attrs:
        return True
    for name in names - seen:
        helper = func.__globals__.get(name)
        if inspect.isfunction(helper) and helper.__module__ == func.__module__:
            if registers(helper, seen | {name}):
                return True
    return False


def scenario_steps(paths: list[Path]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every scenario of `paths` as (name, [(given|when|then, text)]), an outline once per Examples row (its
    placeholders filled in); And/But take the type of the step before."""
    out = []
    for path in paths:
        feature: Any = Parser().parse(path.read_text(encoding="utf-8"))["feature"]
        children = [c for ch in feature["children"] for c in (ch["rule"]["children"] if "rule" in ch else [ch])]
        for child in children:
            if "scenario" not in child:
                continue
            sc = child["scenario"]
            rows: list[dict[str, str]] = [{}]
            for examples in sc.get("examples", []):
                head = [c["value"] for c in examples["tableHeader"]["cells"]]
                rows = [dict(zip(head, [c["value"] for c in r["cells"]], strict=True)) for r in examples["tableBody"]]
            for row in rows:
                kind, steps_ = "given", []
                for step in sc["steps"]:
                    keyword = step["keyword"].strip().lower()
                    kind = keyword if keyword in ("given", "when", "then") else kind
                    text = step["text"]
                    for key, value in row.items():
                        text = text.replace(f"<{key}>", value)
                    steps_.append((kind, text))
                out.append((f"{path.name}: {sc['name']} {row or ''}".strip(), steps_))
    return out


def _definition(kind: str, text: str) -> StepFunctionContext:
    found = [c for c in step_function_context_registry.values() if c.type == kind and c.parser.is_matching(text)]
    assert found, f"no step definition for {kind} {text!r}"
    return found[0]


def unfinished(scenarios: list[tuple[str, list[tuple[str, str]]]]) -> list[str]:
    """The scenarios that touch a registered customer (a Given/When step registers one) and do not end with the
    oracle step; and those that run the oracle step though they register nobody (a check that cannot fail)."""
    bad = []
    for name, steps_ in scenarios:
        touches = any(kind != "then" and registers(_definition(kind, text).step_func) for kind, text in steps_)
        ends = bool(steps_) and steps_[-1] == ("then", ORACLE_STEP)
        if touches and not ends:
            bad.append(f"{name}: touches a registered customer but does not end with 'And {ORACLE_STEP}'")
        if ends and not touches:
            bad.append(f"{name}: runs the oracle step but registers no customer (nothing to compare)")
    return bad


def test_every_scenario_that_touches_a_registered_customer_ends_with_the_oracle_step() -> None:
    scenarios = scenario_steps(sorted((ROOT / "features").glob("*.feature")))
    assert len(scenarios) >= 80
    assert unfinished(scenarios) == []
    writing = [name for name, s in scenarios if s[-1] == ("then", ORACLE_STEP)]
    assert len(writing) >= 55, writing


def test_the_walk_finds_registration_through_module_helpers() -> None:
    given = {c.parser.name: c.step_func for c in step_function_context_registry.values() if c.type == "given"}
    assert registers(given["a customer enrolled in the loyalty program"])
    assert registers(given["a customer with a pending relink to the supplementary program"])  # via a helper
    assert not registers(given["a customer who is not registered"])


def test_a_writing_scenario_without_the_oracle_step_is_reported(tmp_path: Path) -> None:
    feature = tmp_path / "x.feature"
    feature.write_text(
        "Feature: x\n\n"
        "  Scenario: A link without the oracle\n"
        "    Given a customer enrolled in the loyalty program\n"
        "    When the customer is linked to the external program\n"
        "    Then the link succeeds\n\n"
        "  Scenario Outline: An oracle with nobody to compare <credentials>\n"
        "    Given a customer who is not registered\n"
        "    When the customer is linked to the external program <credentials>\n"
        f"    Then {ORACLE_STEP}\n\n"
        "    Examples:\n"
        "      | credentials |\n"
        "      | without credentials |\n",
        encoding="utf-8",
    )
    found = unfinished(scenario_steps([feature]))
    assert len(found) == 2, found
    assert "A link without the oracle" in found[0] and "does not end with" in found[0]
    assert "without credentials" in found[1] and "registers no customer" in found[1]


def test_an_unknown_step_is_an_error_of_the_walk(tmp_path: Path) -> None:
    feature = tmp_path / "y.feature"
    feature.write_text("Feature: y\n\n  Scenario: z\n    Given no such step exists here\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="no step definition"):
        unfinished(scenario_steps([feature]))
