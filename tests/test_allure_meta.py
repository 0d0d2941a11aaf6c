"""The allure metadata files: environment.properties and categories.json (ppconformance.plugin.allure_meta)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ppconformance.plugin.allure_meta import CATEGORIES, write_allure_metadata

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {
    "target": "https://eu.api.capillarytech.com",
    "profile": "staging-eu",
    "suite_version": "0.1.0",
    "stances": "lenient (strict: AMB-1302-TRIGGER)",
    "writes": "allowed",
    "orgs": "relinking-enabled,relinking-disabled",
}


def test_the_environment_is_written_as_properties_in_the_given_order(tmp_path: Path) -> None:
    out = tmp_path / "allure-results"  # created when missing
    write_allure_metadata(out, ENVIRONMENT)
    assert (out / "environment.properties").read_text(encoding="ascii") == (
        "target=https://eu.api.capillarytech.com\n"
        "profile=staging-eu\n"
        "suite_version=0.1.0\n"
        "stances=lenient (strict: AMB-1302-TRIGGER)\n"
        "writes=allowed\n"
        "orgs=relinking-enabled,relinking-disabled\n"
    )


def test_keys_and_values_are_escaped_for_the_properties_syntax(tmp_path: Path) -> None:
    write_allure_metadata(tmp_path, {"a key=x:y": " two\nlines\\ é", "#k": "!v"})
    assert (tmp_path / "environment.properties").read_text(encoding="ascii") == (
        "a\\ key\\=x\\:y=\\ two\\nlines\\\\ \\u00e9\n\\#k=\\!v\n"
    )


def test_the_categories_are_the_three_outcome_classes_by_allure_status(tmp_path: Path) -> None:
    write_allure_metadata(tmp_path, {})
    assert (tmp_path / "environment.properties").read_text(encoding="ascii") == ""
    categories = json.loads((tmp_path / "categories.json").read_text(encoding="utf-8"))
    assert categories == [
        {"name": "Non-conformance (the target does not conform)", "matchedStatuses": ["failed"]},
        {"name": "Error of the run (could not judge: unreachable, 5xx, auth)", "matchedStatuses": ["broken"]},
        {"name": "Not judged / skipped", "matchedStatuses": ["skipped"]},
    ]
    assert categories == list(CATEGORIES)


def test_a_second_call_replaces_both_files(tmp_path: Path) -> None:
    write_allure_metadata(tmp_path, {"target": "http://old"})
    write_allure_metadata(tmp_path, {"target": "http://new"})
    assert (tmp_path / "environment.properties").read_text(encoding="ascii") == "target=http://new\n"
    assert len(json.loads((tmp_path / "categories.json").read_text(encoding="utf-8"))) == 3


def test_the_allure_config_falls_back_to_the_same_categories() -> None:
    """allurerc.mjs reads <results>/categories.json, else its own copy of the list: the two must agree."""
    config = (ROOT / "allurerc.mjs").read_text(encoding="utf-8")
    fallback = re.findall(r'\{ name: "([^"]+)", matchedStatuses: \["(\w+)"\] \}', config)
    assert fallback == [(c["name"], c["matchedStatuses"][0]) for c in CATEGORIES]  # type: ignore[index]
