"""Fixtures of the project's own tests (not the conformance scenarios)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeGuard

import pytest
from gherkin.parser import Parser
from gherkin.parser_types import Envelope, RuleEnvelope, ScenarioEnvelope

from ppconformance.connection.client import forget_tokens

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """The self-tests start the suite and the reference server as subprocesses some hundred times: let those
    write and reuse bytecode even where the environment sets PYTHONDONTWRITEBYTECODE (a fresh clone would else
    compile every module of the suite in every subprocess; `tools.sweep` does the same for its runs)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def _is_rule(child: Envelope) -> TypeGuard[RuleEnvelope]:
    return "rule" in child


def _is_scenario(child: Envelope) -> TypeGuard[ScenarioEnvelope]:
    return "scenario" in child


def _scenarios() -> list[dict]:
    """Every scenario of features/: file, name, tags (without '@', feature tags included)."""
    found = []
    for path in sorted((ROOT / "features").glob("*.feature")):
        doc = Parser().parse(path.read_text(encoding="utf-8"))
        feature = doc["feature"]
        feature_tags = [t["name"][1:] for t in feature["tags"]]
        children: list[ScenarioEnvelope] = []
        for child in feature["children"]:
            if _is_rule(child):
                children += [c for c in child["rule"]["children"] if _is_scenario(c)]
            elif _is_scenario(child):
                children.append(child)
        for child in children:
            sc = child["scenario"]
            found.append(
                {
                    "file": path.name,
                    "name": sc["name"],
                    "keyword": sc["keyword"],
                    "tags": feature_tags + [t["name"][1:] for t in sc["tags"]],
                    "steps": [(s["keyword"].strip(), s["text"]) for s in sc["steps"]],
                }
            )
    return found


@pytest.fixture(scope="session")
def feature_scenarios() -> list[dict]:
    """All scenarios parsed from features/*.feature."""
    return _scenarios()


@pytest.fixture(autouse=True)
def _own_oauth_tokens() -> None:
    """Each test starts with no OAuth token held by the process (`connection.client.forget_tokens`): the clients
    of one process share an org's token, and a test's token requests must be its own."""
    forget_tokens()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast default loop: `pytest tests` deselects the self-tests marked `selftest_slow` (whole-suite
    subprocess runs, the fault sweep) unless a `-m` expression is given; `pytest tests -m selftest_slow`
    runs them (`.ci/run` does, as its own step)."""
    if config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("selftest_slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("selftest_slow") is None]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if config.option.markexpr:
        return []
    return ["fast loop: self-tests marked selftest_slow are deselected; run them with -m selftest_slow"]
