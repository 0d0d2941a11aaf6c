"""Fixtures of the project's own tests (not the conformance scenarios)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gherkin.parser import Parser

ROOT = Path(__file__).resolve().parents[1]


def _scenarios() -> list[dict]:
    """Every scenario of features/: file, name, tags (without '@', feature tags included)."""
    found = []
    for path in sorted((ROOT / "features").glob("*.feature")):
        doc = Parser().parse(path.read_text(encoding="utf-8"))
        feature = doc["feature"]
        feature_tags = [t["name"][1:] for t in feature["tags"]]
        children = []
        for child in feature["children"]:
            if "rule" in child:
                children += [c for c in child["rule"]["children"] if "scenario" in c]
            elif "scenario" in child:
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
