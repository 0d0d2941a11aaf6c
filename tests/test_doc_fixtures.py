"""Self-tests of the doc-sample fixtures (tests/fixtures/doc-samples/) and of the tool that writes them.

- the fixtures agree with the catalogue: each fixture's doc id is one the catalogue cites, from the file
  the catalogue names; each sample's section is a citation the project uses; every status code in a
  sample is a catalogued code, or an exception named here with its reason;
- each fixture carries its provenance, and the loader rejects a fixture with a sample dropped;
- tools/extract_doc_samples.py writes, reads back and checks fixtures of a small synthetic docs folder;
- the tests read the fixtures only, never a documents folder: re-checking the fixtures against the
  documents is the maintainer command `python tools/extract_doc_samples.py --docs DIR --check`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ppconformance.contract.catalogue import load_catalogue

from .doc_samples import (
    EVENTS_DOC_ID,
    FIXTURE_DIR,
    PROVENANCE_FIELDS,
    FixtureError,
    fixture_doc_ids,
    load_fixture,
    load_samples,
)

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "extract_doc_samples.py"
CITATION = re.compile(r"\b([a-z][a-z0-9-]*#[a-z0-9][a-z0-9-]*)")

# Codes found in samples that the catalogue does not list as a requirement's code, on purpose:
# code -> (requirement that names it in its title, reason). Each must still occur in a sample and
# stay out of the catalogue's codes, so an entry cannot go stale.
CODE_EXCEPTIONS: dict[int, tuple[str, str]] = {
    200: ("LINK-SUCCESS", "the per-item success code, not an error or warning code"),
    1000: ("LINK-CUSTOMER-STATUS", "the customer-found status code, not an error or warning code"),
}


# --- agreement with the catalogue -----------------------------------------------------------


def _cited_doc_ids() -> set[str]:
    catalogue = load_catalogue()
    sources = {r.source for r in catalogue.requirements.values()}
    sources |= {source for a in catalogue.ambiguities.values() for source in a.sources}
    return {source.split("#", 1)[0] for source in sources}


def _project_citations() -> set[str]:
    """doc-id#section citations of the catalogue, the ambiguity register and the schemas (incl. events/)."""
    catalogue = load_catalogue()
    cited = {r.source for r in catalogue.requirements.values()}
    cited |= {source for a in catalogue.ambiguities.values() for source in a.sources}
    for path in sorted((ROOT / "schemas").rglob("*.json")):
        cited |= set(CITATION.findall(path.read_text(encoding="utf-8")))
    return cited


def test_there_are_fixtures() -> None:
    assert fixture_doc_ids(), FIXTURE_DIR
    assert EVENTS_DOC_ID in fixture_doc_ids()


@pytest.mark.parametrize("doc_id", fixture_doc_ids())
def test_fixture_doc_id_is_one_the_catalogue_cites_from_the_file_it_names(doc_id: str) -> None:
    cited = _cited_doc_ids()
    assert doc_id in cited, f"{doc_id}.json: doc id cited nowhere in the catalogue ({sorted(cited)})"
    documents = load_catalogue().documents
    assert load_fixture(doc_id)["provenance"]["source_file"] == documents[doc_id]["file"]


@pytest.mark.parametrize("doc_id", fixture_doc_ids())
def test_fixture_has_its_provenance(doc_id: str) -> None:
    fixture = load_fixture(doc_id)  # checks the fields are there and agree with the samples
    provenance = fixture["provenance"]
    assert set(PROVENANCE_FIELDS) <= provenance.keys()
    assert provenance["doc_id"] == doc_id
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["source_sha256"])
    assert provenance["extraction_tool"] == "tools/extract_doc_samples.py"
    for command in (provenance["regenerate"], provenance["check"]):
        assert command.startswith("python tools/extract_doc_samples.py --docs "), command
    assert provenance["check"].endswith("--check")
    assert provenance["sample_count"] == len(fixture["samples"]) > 0
    for sample in load_samples(doc_id):
        assert sample.section.startswith(f"{doc_id}#") and sample.heading and sample.extraction, sample.label
        assert sample.line > 0, sample.label


def test_every_sample_section_is_a_citation_the_project_uses() -> None:
    cited = _project_citations()
    uncited = {sample.label: sample.section for sample in load_samples() if sample.section not in cited}
    assert not uncited, f"sample sections cited nowhere in catalogue/ or schemas/: {uncited}"


def _codes(node: object) -> Iterator[int]:
    """Every integer `code` of an object nested anywhere in `node`."""
    if isinstance(node, dict):
        if isinstance(node.get("code"), int) and not isinstance(node["code"], bool):
            yield node["code"]
        for value in node.values():
            yield from _codes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codes(item)


def test_every_code_in_a_sample_is_a_catalogued_code() -> None:
    catalogue = load_catalogue()
    catalogued = {r.code for r in catalogue.requirements.values() if r.code is not None}
    found = {(sample.label, code) for sample in load_samples() for code in _codes(sample.body)}
    assert found, "no sample carries a code: the walk is broken"
    unknown = sorted((label, code) for label, code in found if code not in catalogued | CODE_EXCEPTIONS.keys())
    assert not unknown, f"codes in samples that the catalogue does not list: {unknown}"
    assert {code for _, code in found} & catalogued, "no sample code is catalogued: the comparison is broken"


@pytest.mark.parametrize("code", sorted(CODE_EXCEPTIONS))
def test_code_exceptions_are_needed_and_named(code: int) -> None:
    requirement_id, reason = CODE_EXCEPTIONS[code]
    requirements = load_catalogue().requirements
    assert reason
    assert str(code) in requirements[requirement_id].title, f"{requirement_id} does not name {code}"
    assert code not in {r.code for r in requirements.values()}, f"{code} is catalogued now: drop its exception"
    assert any(code in _codes(sample.body) for sample in load_samples()), f"no sample carries {code}"


# --- the loader -----------------------------------------------------------------------------


def _copy(tmp_path: Path, doc_id: str) -> tuple[Path, dict[str, Any]]:
    data = json.loads((FIXTURE_DIR / f"{doc_id}.json").read_text(encoding="utf-8"))
    return tmp_path / f"{doc_id}.json", data


def test_loader_rejects_a_dropped_sample(tmp_path: Path) -> None:
    path, data = _copy(tmp_path, "link-customer")
    del data["samples"][1]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FixtureError, match="sample_count"):
        load_samples("link-customer", tmp_path)
    data["provenance"]["sample_count"] -= 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FixtureError, match="dropped"):
        load_samples("link-customer", tmp_path)


def test_loader_rejects_missing_provenance_and_wrong_labels(tmp_path: Path) -> None:
    path, data = _copy(tmp_path, "events")
    data["samples"][0]["kind"] = "Raw"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FixtureError, match="label"):
        load_samples(EVENTS_DOC_ID, tmp_path)
    del data["provenance"]["source_file"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FixtureError, match="source_file"):
        load_samples(EVENTS_DOC_ID, tmp_path)
    with pytest.raises(FileNotFoundError):
        load_samples("no-such-doc", tmp_path)


# --- the tool -------------------------------------------------------------------------------

SYNTHETIC_DOCS = {
    "legacy-reference": (
        "000_a.txt",
        "# Partner Program\n\n## Link Partner Program\n\n> Sample POST Request\n\n```json\n"
        '{"linkCustomers": [{"customer": {"mobile": "1"}, "linkToPartnerPrograms": [{"partnerProgramName": "P"}]}]}\n'
        "```\n",
    ),
    "link-customer": (
        "001_b.txt",
        "Example request\n\ncurl --location 'https://x/v2/partnerProgram/linkCustomer' \\\n"
        '--data \'{"linkCustomers": [{"customer": {"id": 1}, "linkToPartnerPrograms": []}]}\'\n',
    ),
    "update-partner-program": ("002_c.txt", 'Example response\n{"customersPartnerUpdates": [], "warnings": []}\n'),
    "delink-customer": (
        "003_d.txt",
        'Request body parameters\n| a | b |\n{"deLinkCustomers": [{"customer": {"mobile": 1}}]}\n',
    ),
    "capillary-facts": (
        "FACTS.md",
        '## HTTP status conventions (global table)\nbody `{"errors": [{"code": 8015}]}`, {host}\n',
    ),
    "events": (
        "004_e.txt",
        '## Partner Program Linked (partnerProgramLinked)\n\n```json Raw payload\n{"eventName": "x"}\n```\n',
    ),
}


def _synthetic_docs(folder: Path) -> Path:
    folder.mkdir()
    rows = ["| doc id | file | what |", "| --- | --- | --- |"]
    for doc_id, (name, text) in SYNTHETIC_DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
        rows.append(f"| `{doc_id}` | `{name}` | synthetic |")
    (folder / "README.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def _synthetic_catalogue(path: Path, quote: str) -> Path:
    entry = {"id": "X-ONE", "source": "capillary-facts#http-status-conventions", "quote": quote}
    path.write_text(json.dumps({"requirements": [entry]}), encoding="utf-8")  # JSON is YAML
    return path


def test_tool_writes_reads_back_and_checks_fixtures(tmp_path: Path) -> None:
    docs, out = _synthetic_docs(tmp_path / "docs"), tmp_path / "out"
    quotes = tmp_path / "doc-quotes.json"
    catalogue = _synthetic_catalogue(tmp_path / "requirements.yaml", "HTTP status   conventions (global table)")
    common = ("--catalogue", catalogue, "--quotes", quotes)
    written = _tool("--docs", docs, "--out", out, *common)
    assert written.returncode == 0, written.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{doc_id}.json" for doc_id in SYNTHETIC_DOCS)
    text = (out / "link-customer.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    found = {s.label: (s.section, s.extraction) for s in load_samples(directory=out)}
    assert found == {
        "legacy-reference#0 link-customer.request": (
            "legacy-reference#link-partner-program",
            "```json fence after '> Sample POST Request'",
        ),
        "link-customer#0 link-customer.request": ("link-customer#example-request", "curl --data argument"),
        "update-partner-program#0 update-partner-program.response": (
            "update-partner-program#example-response",
            "plain text after heading",
        ),
        "delink-customer#0 delink-customer.request": (
            "delink-customer#request-body-parameters",
            "plain text after table",
        ),
        "capillary-facts#0 error-envelope": ("capillary-facts#http-status-conventions", "inline `code` span"),
        "events#0 partnerProgramLinked Raw": (
            "events#partner-program-linked-partnerprogramlinked",
            "```json Raw payload fence",
        ),
    }
    assert _tool("--docs", docs, "--out", out, "--check", *common).returncode == 0

    path = out / "link-customer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["samples"][0]["body"]["linkCustomers"][0]["customer"]["id"] = 2
    path.write_text(json.dumps(data, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    (out / "events.json").unlink()
    checked = _tool("--docs", docs, "--out", out, "--check", *common)
    assert checked.returncode == 1
    assert "link-customer.json: differs" in checked.stdout
    assert "sample link-customer#0 link-customer.request differs in: body" in checked.stdout
    assert "events.json: missing" in checked.stdout
    assert _tool("--docs", docs, "--out", out, *common).returncode == 0
    assert _tool("--docs", docs, "--out", out, "--check", *common).returncode == 0
    assert json.loads(quotes.read_text(encoding="utf-8"))["quotes"] == {
        "X-ONE": {"doc_id": "capillary-facts", "line": 1, "quote": "HTTP status conventions (global table)"}
    }


def test_tool_refuses_an_incomplete_docs_folder(tmp_path: Path) -> None:
    docs = _synthetic_docs(tmp_path / "docs")
    (docs / "004_e.txt").unlink()
    failed = _tool("--docs", docs, "--out", tmp_path / "out", "--check")
    assert failed.returncode == 2 and "004_e.txt" in failed.stderr
    assert not (tmp_path / "out").exists()


def test_tool_refuses_a_quote_the_documents_do_not_hold(tmp_path: Path) -> None:
    docs, out = _synthetic_docs(tmp_path / "docs"), tmp_path / "out"
    catalogue = _synthetic_catalogue(tmp_path / "requirements.yaml", "a sentence no document holds")
    refused = _tool("--docs", docs, "--out", out, "--catalogue", catalogue, "--quotes", tmp_path / "q.json")
    assert refused.returncode == 2
    assert "X-ONE: quote not found in capillary-facts" in refused.stderr
    assert not (tmp_path / "q.json").exists()
