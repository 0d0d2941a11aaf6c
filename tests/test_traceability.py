"""Every assertion traced to a sentence (issue 12, item 4): each check names a requirement, each requirement
carries the quote of the documents it rests on, and each quote stands where the quote fixture says.

The walk is `tools.traceability` (run `python -m tools.traceability` for the inventory); the quote fixture is
written and re-checked against the documents by `tools/extract_doc_samples.py` (maintainers).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

from tools.traceability import checks, problems

from ppconformance.contract.catalogue import load_catalogue

from .doc_samples import FIXTURE_DIR, load_fixture

ROOT = Path(__file__).resolve().parents[1]
QUOTES = ROOT / "tests" / "fixtures" / "doc-quotes.json"


def test_every_check_names_a_catalogue_requirement_that_carries_a_quote() -> None:
    found = checks()
    kinds = Counter(c.kind for c in found)
    assert set(kinds) == {"scenario", "then-step", "verdict", "fuzz-check", "event-check", "state-check"}, kinds
    assert kinds["scenario"] >= 60 and kinds["then-step"] >= 20 and kinds["fuzz-check"] >= 10, kinds
    assert problems() == []


def test_every_requirement_quote_stands_in_the_document_version_the_samples_come_from() -> None:
    fixture = json.loads(QUOTES.read_text(encoding="utf-8"))
    quotes = fixture["quotes"]
    catalogue = load_catalogue().requirements
    assert sorted(quotes) == sorted(catalogue), "regenerate: python tools/extract_doc_samples.py --docs DIR"
    for rid, req in catalogue.items():
        assert quotes[rid]["quote"] == " ".join(req.quote.split()), rid
        assert quotes[rid]["doc_id"] == req.quoted_from and quotes[rid]["line"] >= 1, rid
    for doc_id, seen in fixture["provenance"]["documents"].items():
        samples = load_fixture(doc_id, FIXTURE_DIR)["provenance"]
        assert (seen["source_file"], seen["source_sha256"]) == (samples["source_file"], samples["source_sha256"])


def _root_with(tmp_path: Path, feature: str, step: str, finding: str) -> Path:
    """A checkout holding the real verdicts, fuzz checks and fuzz stage plus the given feature and step file;
    `finding` replaces the requirement id of the first FuzzFinding."""
    for rel in ("src/ppconformance/judge/verdicts.py", "steps/test_fuzz.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    checks_py = (ROOT / "src/ppconformance/fuzz/checks.py").read_text(encoding="utf-8")
    (tmp_path / "src/ppconformance/fuzz").mkdir(parents=True)
    (tmp_path / "src/ppconformance/fuzz/checks.py").write_text(
        checks_py.replace('"RESULT-ORDER",', f'"{finding}",', 1), encoding="utf-8"
    )
    (tmp_path / "features").mkdir()
    (tmp_path / "features/x.feature").write_text(feature, encoding="utf-8")
    (tmp_path / "steps/x_steps.py").write_text(step, encoding="utf-8")
    return tmp_path


def test_the_walk_reports_checks_that_rest_on_no_requirement(tmp_path: Path) -> None:
    root = _root_with(
        tmp_path,
        "@LINK-2002\nFeature: F\n  Rule: R\n    Scenario: tagged by the feature\n      Given x\n"
        "  Rule: S\n    @wip\n    Scenario: tagged\n      Given x\n",
        "from pytest_bdd import then\n\n\n@then('it is fine')\ndef _(world):\n    pass\n\n\n"
        "@then('it is judged')\ndef _(world, requirements):\n    pass\n",
        "LINK-NOT-CATALOGUED",
    )
    found = {(c.kind, c.name): c.requirements for c in checks(root)}
    assert found[("scenario", "tagged by the feature")] == ("LINK-2002",)
    trouble = "\n".join(problems(root))
    assert "then-step \"'it is fine'\" names no requirement" in trouble
    assert "'it is judged'" not in trouble
    assert "names LINK-NOT-CATALOGUED, not a catalogue requirement" in trouble
    assert "LINK-NOT-CATALOGUED is not a catalogue requirement" in trouble  # the literal scan too
    untagged = _root_with(tmp_path / "b", "Feature: F\n  Scenario: untagged\n    Given x\n", "", "RESULT-ORDER")
    assert problems(untagged) == ["features/x.feature:2: scenario 'untagged' names no requirement"]
