"""JSON samples extracted from the source documents, classified by message kind.

The source documents (see the README of the api-docs folder) carry example
requests and responses as JSON: in curl `--data '...'` arguments, in ```json
fences, or as plain text after a table. `extract_samples` finds every top-level
JSON object in the partner-program pages and in CAPILLARY-FACTS.md and names
its kind, which is the name of the contract schema it should match (see
`ppconformance.schemas`), e.g. `"link-customer.response"`. The webhook events
document (`events`) is deliberately not read.

```python
for sample in extract_samples(Path("../shared/api-docs")):
    print(sample.label, sample.body)
```
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DOC_FILES",
    "STATUS_OBJECT_KIND",
    "UNCLASSIFIED",
    "DocSample",
    "classify",
    "extract_samples",
    "find_json_objects",
]

DOC_FILES: dict[str, str] = {
    "legacy-reference": "000_*.txt",
    "link-customer": "001_*.txt",
    "update-partner-program": "002_*.txt",
    "delink-customer": "003_*.txt",
    "capillary-facts": "CAPILLARY-FACTS.md",
}
"""Doc id -> file-name pattern in the docs folder (from the folder's README table).

The `events` document (004) is not listed: its samples are not request or
response bodies of the partner-program API.
"""

UNCLASSIFIED = "unclassified"
"""Kind of a JSON object that matches no known message shape."""

STATUS_OBJECT_KIND = "common#statusObject"
"""Kind of a bare status object (`{"status", "code", "message"}`): schema `common`,
definition `statusObject`."""


@dataclass(frozen=True)
class DocSample:
    """One JSON object found in a source document.

    Fields:

    - `doc_id`: the document's id, e.g. `"link-customer"`.
    - `index`: position among the samples of that document, from 0.
    - `kind`: the contract schema it should match (`"link-customer.response"`),
      `"<schema>#<definition>"` for a definition of a schema
      (`STATUS_OBJECT_KIND`), or `UNCLASSIFIED`.
    - `body`: the decoded JSON object.
    - `line`: the 1-based line of the document where the object starts.
    """

    doc_id: str
    index: int
    kind: str
    body: dict[str, Any]
    line: int

    @property
    def label(self) -> str:
        """A short id, e.g. `"link-customer#2 link-customer.response"`."""
        return f"{self.doc_id}#{self.index} {self.kind}"

    @property
    def schema_name(self) -> str | None:
        """The schema to validate against; None when unclassified."""
        if self.kind == UNCLASSIFIED:
            return None
        return self.kind.partition("#")[0]

    @property
    def definition(self) -> str | None:
        """The `$defs` entry of `schema_name` to validate against, or None for its root."""
        return self.kind.partition("#")[2] or None


def extract_samples(doc_dir: Path) -> list[DocSample]:
    """Every JSON sample of the partner-program documents in `doc_dir`, classified.

    Arguments:

    - `doc_dir`: the folder of source documents (`000_*.txt` ... and
      `CAPILLARY-FACTS.md`).

    Returns the samples in `DOC_FILES` order, then in order of appearance.
    Empty objects (`{}`) are skipped: they are fragments, not samples.

    Raises `FileNotFoundError` when a document of `DOC_FILES` is missing, and
    `ValueError` when a pattern matches more than one file.
    """
    samples: list[DocSample] = []
    for doc_id, pattern in DOC_FILES.items():
        matches = sorted(doc_dir.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"document {doc_id!r} ({pattern}) not found in {doc_dir}")
        if len(matches) > 1:
            names = ", ".join(path.name for path in matches)
            raise ValueError(f"document {doc_id!r} ({pattern}) is ambiguous in {doc_dir}: {names}")
        text = matches[0].read_text(encoding="utf-8")
        for index, (offset, body) in enumerate(find_json_objects(text)):
            samples.append(
                DocSample(
                    doc_id=doc_id,
                    index=index,
                    kind=classify(doc_id, body),
                    body=body,
                    line=text.count("\n", 0, offset) + 1,
                )
            )
    return samples


def find_json_objects(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-empty top-level JSON object in `text`, with its start offset.

    Scans for `{`, tries to decode a JSON value there, and on success resumes
    after it, so objects nested in a sample are not reported separately.
    Text that does not decode (prose, `{host}`, elided `[...]`) is skipped one
    character at a time.
    """
    decoder = json.JSONDecoder()
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        position = end
        if isinstance(value, dict) and value:
            yield start, value


def classify(doc_id: str, body: dict[str, Any]) -> str:
    """The kind of `body`, a sample found in document `doc_id`.

    The kind follows the shape: the top-level key names the endpoint, and a
    response is told from a request by its result markers (`warnings`, a
    per-program status object, a customer status). The delink page's response
    has the update endpoint's shape (`customersPartnerUpdates`,
    AMB-DELINK-RESPONSE-SHAPE), so a response of that shape in the
    `delink-customer` document is a `delink-customer.response`.
    """
    if "linkCustomers" in body:
        return "link-customer." + _direction(body, "partnerLinkStatus")
    if "customersPartnerUpdates" in body:
        direction = _direction(body, "updateStatus")
        if doc_id == "delink-customer":
            return "delink-customer.response" if direction == "response" else UNCLASSIFIED
        return "update-partner-program." + direction
    if "deLinkCustomers" in body:
        return "delink-customer." + _direction(body, "partnerDeLinkStatus")
    if isinstance(body.get("errors"), list):
        return "error-envelope"
    if isinstance(body.get("data"), dict) and "accessToken" in body["data"]:
        return "oauth-token.response"
    if {"key", "secret"} <= body.keys():
        return "oauth-token.request"
    if "profiles" in body or "loyaltyInfo" in body:
        return "customer-add.request"
    if "createdId" in body:
        return "customer-add.response"
    if "entity" in body:
        return "customer-lookup.response"
    if "linkedPartnerPrograms" in body:
        return "loyalty-details.response"
    if "partnerPrograms" in body:
        return "organization-programs.response"
    if isinstance(body.get("status"), bool) and "code" in body:
        return STATUS_OBJECT_KIND
    return UNCLASSIFIED


def _direction(body: dict[str, Any], item_status_key: str) -> str:
    """`"response"` if `body` carries result markers, else `"request"`."""
    if "warnings" in body or _has_key(body, item_status_key) or _has_key(body, "status"):
        return "response"
    return "request"


def _has_key(value: object, key: str) -> bool:
    """Whether `key` is a key of any object nested anywhere in `value`."""
    if isinstance(value, dict):
        return key in value or any(_has_key(item, key) for item in value.values())
    if isinstance(value, list):
        return any(_has_key(item, key) for item in value)
    return False
