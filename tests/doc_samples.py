"""The source documents' JSON samples, as the self-tests see them: read from the committed fixtures.

`tests/fixtures/doc-samples/<doc id>.json` holds the samples of one source document with their
provenance; `tools/extract_doc_samples.py` writes them from the api-docs folder (maintainers only) and
checks them (`--check`). The tests never read the documents themselves.

```python
for sample in load_samples("link-customer"):
    print(sample.label, sample.section, sample.body)
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EVENTS_DOC_ID",
    "FIXTURE_DIR",
    "PROVENANCE_FIELDS",
    "SAMPLE_FIELDS",
    "STATUS_OBJECT_KIND",
    "UNCLASSIFIED",
    "DocSample",
    "FixtureError",
    "fixture_doc_ids",
    "load_fixture",
    "load_samples",
]

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "doc-samples"
"""Where the fixture files are: one `<doc id>.json` per source document."""

EVENTS_DOC_ID = "events"
"""The webhook events document: its samples are event payloads (kind "Enriched" or "Raw")."""

UNCLASSIFIED = "unclassified"
"""Kind of a JSON object that matches no known message shape."""

STATUS_OBJECT_KIND = "common#statusObject"
"""Kind of a bare status object (`{"status", "code", "message"}`): schema `common`, definition `statusObject`."""

PROVENANCE_FIELDS = (
    "doc_id",
    "source_file",
    "source_sha256",
    "extraction_tool",
    "method",
    "regenerate",
    "check",
    "sample_count",
)
"""Fields of a fixture's `provenance` block, every one required."""

SAMPLE_FIELDS = ("index", "kind", "label", "section", "heading", "line", "extraction", "body")
"""Fields every sample of a fixture carries; samples of `events` also carry `event`."""


class FixtureError(ValueError):
    """A fixture file is not valid JSON or breaks the fixture format (the message names the file)."""


@dataclass(frozen=True)
class DocSample:
    """One JSON sample of a source document.

    Fields:

    - `doc_id`: the document's id, e.g. `"link-customer"`.
    - `index`: position among the samples of that document, from 0.
    - `kind`: for partner-program documents the contract schema it should match
      (`"link-customer.response"`), `"<schema>#<definition>"` for a definition of a schema
      (`STATUS_OBJECT_KIND`), or `UNCLASSIFIED`; for `events` the payload form, `"Enriched"` or `"Raw"`.
    - `body`: the decoded JSON object.
    - `line`: the 1-based line of the document where the object starts.
    - `section`: the citation of its section, `"<doc id>#<section>"`, e.g. `"link-customer#example-request"`.
    - `heading`: the text of the nearest heading before it in the document.
    - `extraction`: how it was found, e.g. `"curl --data argument"`, `"```json Raw payload fence"`.
    - `event`: for `events` samples the event name (`"partnerProgramLinked"`), else None.
    """

    doc_id: str
    index: int
    kind: str
    body: dict[str, Any]
    line: int
    section: str
    heading: str
    extraction: str
    event: str | None = None

    @property
    def label(self) -> str:
        """A short id: `"link-customer#2 link-customer.response"`, `"events#1 partnerProgramLinked Raw"`."""
        if self.event is not None:
            return f"{self.doc_id}#{self.index} {self.event} {self.kind}"
        return f"{self.doc_id}#{self.index} {self.kind}"

    @property
    def schema_name(self) -> str | None:
        """The contract schema to validate against; None when unclassified and for event payloads."""
        if self.kind == UNCLASSIFIED or self.event is not None:
            return None
        return self.kind.partition("#")[0]

    @property
    def definition(self) -> str | None:
        """The `$defs` entry of `schema_name` to validate against, or None for its root."""
        if self.event is not None:
            return None
        return self.kind.partition("#")[2] or None


def fixture_doc_ids(directory: Path = FIXTURE_DIR) -> list[str]:
    """The doc ids that have a fixture file in `directory`, sorted. Raises `FileNotFoundError` if none."""
    doc_ids = sorted(path.stem for path in directory.glob("*.json"))
    if not doc_ids:
        raise FileNotFoundError(f"no doc-sample fixtures (*.json) in {directory}")
    return doc_ids


def load_fixture(doc_id: str, directory: Path = FIXTURE_DIR) -> dict[str, Any]:
    """The checked content of `<directory>/<doc_id>.json`: `{"provenance": {...}, "samples": [{...}, ...]}`.

    Checks that every field of `PROVENANCE_FIELDS` and `SAMPLE_FIELDS` is there, that the
    provenance names `doc_id`, that `sample_count` is the number of samples, that the indices run
    0, 1, ... (a sample dropped from the middle fails) and that each stored label is the one
    `DocSample.label` computes.

    Raises `FileNotFoundError` when the file is missing and `FixtureError` when it breaks the format.
    """
    path = directory / f"{doc_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("provenance"), dict):
        raise FixtureError(f"{path}: no provenance block")
    provenance = data["provenance"]
    missing = [name for name in PROVENANCE_FIELDS if provenance.get(name) in (None, "")]
    if missing:
        raise FixtureError(f"{path}: provenance lacks {', '.join(missing)}")
    if provenance["doc_id"] != doc_id:
        raise FixtureError(f"{path}: provenance names doc id {provenance['doc_id']!r}, not {doc_id!r}")
    samples = data.get("samples")
    if not isinstance(samples, list) or len(samples) != provenance["sample_count"]:
        raise FixtureError(
            f"{path}: provenance sample_count {provenance['sample_count']} but samples are not that many"
        )
    for position, record in enumerate(samples):
        lacking = [name for name in SAMPLE_FIELDS if not isinstance(record, dict) or name not in record]
        if doc_id == EVENTS_DOC_ID and isinstance(record, dict) and not record.get("event"):
            lacking.append("event")
        if lacking:
            raise FixtureError(f"{path}: sample {position} lacks {', '.join(lacking)}")
        if record["index"] != position:
            raise FixtureError(f"{path}: sample {position} has index {record['index']} (a sample dropped or moved?)")
        if not isinstance(record["body"], dict) or not record["body"]:
            raise FixtureError(f"{path}: sample {position} has no JSON object body")
        if record["label"] != _sample(doc_id, record).label:
            raise FixtureError(f"{path}: sample {position} label {record['label']!r} does not match its fields")
    return data


def load_samples(doc_id: str | None = None, directory: Path = FIXTURE_DIR) -> list[DocSample]:
    """The samples of document `doc_id`, or of every fixture of `directory` (by doc id) when None.

    Each call reads the files again, so bodies may be changed freely. Raises what `load_fixture`
    and `fixture_doc_ids` raise (`FileNotFoundError` for an unknown doc id, `FixtureError`).
    """
    doc_ids = fixture_doc_ids(directory) if doc_id is None else [doc_id]
    return [_sample(d, record) for d in doc_ids for record in load_fixture(d, directory)["samples"]]


def _sample(doc_id: str, record: dict[str, Any]) -> DocSample:
    """A `DocSample` of one fixture record."""
    return DocSample(
        doc_id=doc_id,
        index=record["index"],
        kind=record["kind"],
        body=record["body"],
        line=record["line"],
        section=record["section"],
        heading=record["heading"],
        extraction=record["extraction"],
        event=record.get("event"),
    )
