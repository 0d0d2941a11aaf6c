"""Extraction of the source documents' JSON samples into the self-tests' fixtures (maintainer side).

The source documents (the api-docs folder; its README.md names each file's doc id) carry example
requests, responses and webhook payloads as JSON: in curl `--data '...'` arguments, in ```json
fences, in inline `code` spans, or as plain text after a heading or a table. This module finds them
and turns each document into one fixture: `tests/fixtures/doc-samples/<doc id>.json`, which the
self-tests read through `tests/doc_samples.py` (they never read the documents themselves).

Two extractions:

- partner-program documents (`PARTNER_PROGRAM_DOC_IDS`): every non-empty top-level JSON object
  (`find_json_objects`), classified by shape (`classify`) into the name of the contract schema it
  should match, e.g. `"link-customer.response"`;
- the webhook events document (`events`): every ```json Enriched payload / ```json Raw payload fence
  (`find_event_samples`), named by the event of its `## ... (eventName)` section.

A fixture file is a JSON object:

```
{
  "provenance": {"doc_id", "source_file", "source_sha256", "extraction_tool", "method",
                 "regenerate", "check", "sample_count"},
  "samples": [{"index", "kind", "label", "section", "heading", "line", "extraction", "body",
               "event" (events only)}, ...]
}
```

`render` writes it deterministically (sorted keys, indent 2, trailing newline). Used by
`tools/extract_doc_samples.py`; nothing in the runtime package imports it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "DOC_IDS",
    "EVENTS_DOC_ID",
    "PARTNER_PROGRAM_DOC_IDS",
    "STATUS_OBJECT_KIND",
    "TOOL",
    "UNCLASSIFIED",
    "build_fixture",
    "build_fixtures",
    "build_quotes",
    "classify",
    "extract_event_samples",
    "extract_partner_samples",
    "find_event_samples",
    "find_headings",
    "find_json_objects",
    "fixture_name",
    "read_doc_index",
    "render",
    "slug",
]

PARTNER_PROGRAM_DOC_IDS: tuple[str, ...] = (
    "legacy-reference",
    "link-customer",
    "update-partner-program",
    "delink-customer",
    "capillary-facts",
)
"""Documents whose JSON objects are request or response bodies of the API, in README order."""

EVENTS_DOC_ID = "events"
"""The webhook events document: its samples are event payloads, not API bodies."""

DOC_IDS: tuple[str, ...] = (*PARTNER_PROGRAM_DOC_IDS, EVENTS_DOC_ID)
"""Every document a fixture is made from; the docs folder's README must name a file for each."""

UNCLASSIFIED = "unclassified"
"""Kind of a JSON object that matches no known message shape."""

STATUS_OBJECT_KIND = "common#statusObject"
"""Kind of a bare status object (`{"status", "code", "message"}`): schema `common`, definition `statusObject`."""

TOOL = "tools/extract_doc_samples.py"
"""The command that writes and checks the fixtures (the extraction itself is this module)."""

# Section titles of the plain-text pages (no markdown headings there). A title may be glued to the
# end of the preceding sample on the same line (`}'Prerequisites`), hence the optional prefix.
PLAIN_TEXT_HEADINGS: dict[str, tuple[str, ...]] = {
    "link-customer": (
        "Example request",
        "Prerequisites",
        "Resource information",
        "Body parameters",
        "API Quick Reference",
        "Example response",
        "Response parameters",
        "Error codes",
        "Warning codes",
    ),
    "update-partner-program": (
        "Example request",
        "Prerequisites",
        "Resource information",
        "Body parameters",
        "API quick reference",
        "Example response",
        "Response parameters",
        "Error codes",
    ),
    "delink-customer": (
        "Prerequisites",
        "Resource information",
        "API endpoint example",
        "Request body parameters",
        "Response Parameter",
    ),
}

# Headings whose citation in the catalogue is shorter than their slug.
SECTION_ALIASES: dict[tuple[str, str], str] = {
    ("capillary-facts", "HTTP status conventions (global table)"): "http-status-conventions",
    ("capillary-facts", "Customer APIs (for provisioning and observing test customers)"): "customer-apis",
    ("capillary-facts", "Known contradictions between pages"): "known-contradictions",
}

_README_ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*`([^`]+)`\s*\|", re.M)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.M)
_FENCE = re.compile(r"^```(.*)$", re.M)
_EVENT_SECTION = re.compile(r"^## .*\((\w+)\)$", re.M)
_EVENT_SAMPLE = re.compile(r"```json (Enriched|Raw) payload\n(.*?)```", re.S)


def read_doc_index(doc_dir: Path) -> dict[str, Path]:
    """Doc id -> file of every document of `DOC_IDS`, from the table of `doc_dir/README.md`.

    The README's rows look like `` | `link-customer` | `001_c98...txt` | what it is | ``.

    Raises `FileNotFoundError` when `doc_dir`, its README.md or a listed file is missing, and
    `ValueError` when the README names no file for a doc id of `DOC_IDS`.
    """
    if not doc_dir.is_dir():
        raise FileNotFoundError(f"docs folder {doc_dir} not found")
    readme = doc_dir / "README.md"
    if not readme.is_file():
        raise FileNotFoundError(f"{readme} not found: it maps doc ids to files")
    listed = dict(_README_ROW.findall(readme.read_text(encoding="utf-8")))
    missing = [doc_id for doc_id in DOC_IDS if doc_id not in listed]
    if missing:
        raise ValueError(f"{readme} names no file for doc id(s) {', '.join(missing)}")
    index = {doc_id: doc_dir / listed[doc_id] for doc_id in DOC_IDS}
    for doc_id, path in index.items():
        if not path.is_file():
            raise FileNotFoundError(f"document {doc_id!r} ({path.name}, from {readme}) not found")
    return index


def build_fixtures(doc_dir: Path) -> dict[str, dict[str, Any]]:
    """Doc id -> fixture (see the module docstring) for every document of `DOC_IDS` in `doc_dir`.

    Raises what `read_doc_index` and `build_fixture` raise.
    """
    return {doc_id: build_fixture(doc_id, path) for doc_id, path in read_doc_index(doc_dir).items()}


def build_fixture(doc_id: str, path: Path) -> dict[str, Any]:
    """The fixture of document `doc_id`, read from `path`: `{"provenance": {...}, "samples": [...]}`.

    Raises `KeyError` for a doc id outside `DOC_IDS`, `ValueError` when a sample has no heading
    before it or an event payload is not JSON, and `OSError` when `path` is unreadable.
    """
    if doc_id not in DOC_IDS:
        raise KeyError(f"unknown doc id {doc_id!r}; known: {', '.join(DOC_IDS)}")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    if doc_id == EVENTS_DOC_ID:
        samples = extract_event_samples(text)
        method = (
            "each ```json Enriched payload / ```json Raw payload fence, json.loads of its content, "
            "named by the event of the enclosing '## ... (eventName)' section"
        )
    else:
        samples = extract_partner_samples(doc_id, text)
        method = (
            "each non-empty top-level JSON object (json.JSONDecoder.raw_decode tried at every '{'), "
            "kind by shape (the contract schema it should match)"
        )
    return {
        "provenance": {
            "doc_id": doc_id,
            "source_file": path.name,
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "extraction_tool": TOOL,
            "method": method,
            "regenerate": f"python {TOOL} --docs <api-docs folder> --out tests/fixtures/doc-samples",
            "check": f"python {TOOL} --docs <api-docs folder> --check",
            "sample_count": len(samples),
        },
        "samples": samples,
    }


def _normalised(text: str) -> tuple[str, list[int]]:
    """`text` with every whitespace run collapsed to one space (ends stripped), and for each character of the
    result the offset of the character of `text` it comes from."""
    out: list[str] = []
    where: list[int] = []
    for match in re.finditer(r"\S+", text):
        if out:
            out.append(" ")
            where.append(match.start() - 1)
        out.append(match.group())
        where.extend(range(match.start(), match.end()))
    return "".join(out), where


def build_quotes(doc_dir: Path, requirements: list[dict[str, Any]]) -> dict[str, Any]:
    """The quote fixture (`tests/fixtures/doc-quotes.json`) of the catalogue's `requirements` (the list of
    `catalogue/requirements.yaml`): where each requirement's `quote` stands in its document.

    `{"provenance": {"extraction_tool", "method", "regenerate", "check", "documents": {doc id: {"source_file",
    "source_sha256"}}}, "quotes": {requirement id: {"doc_id", "line", "quote"}}}`; `line` is 1-based. A quote
    is found after whitespace normalisation (every run of whitespace one space) of both.

    Raises `ValueError` naming every requirement whose quote is missing or not in its document (doc id:
    `quoteDoc`, else the part of `source` before `#`), and what `read_doc_index` raises.
    """
    index = read_doc_index(doc_dir)
    raws = {doc_id: path.read_bytes() for doc_id, path in index.items()}
    texts = {doc_id: raw.decode("utf-8") for doc_id, raw in raws.items()}
    normal = {doc_id: _normalised(text) for doc_id, text in texts.items()}
    quotes: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for req in requirements:
        doc_id = req.get("quoteDoc") or str(req.get("source", "")).split("#", 1)[0]
        quote = " ".join(str(req.get("quote") or "").split())
        if doc_id not in normal or not quote:
            problems.append(f"{req.get('id')}: no quote, or unknown doc id {doc_id!r}")
            continue
        flat, where = normal[doc_id]
        at = flat.find(quote)
        if at < 0:
            problems.append(f"{req['id']}: quote not found in {doc_id} ({index[doc_id].name}): {quote!r}")
            continue
        line = texts[doc_id].count("\n", 0, where[at]) + 1
        quotes[req["id"]] = {"doc_id": doc_id, "line": line, "quote": quote}
    if problems:
        raise ValueError("quotes of catalogue/requirements.yaml not in the documents:\n  " + "\n  ".join(problems))
    return {
        "provenance": {
            "extraction_tool": TOOL,
            "method": "each requirement's quote found in its document, both whitespace-normalised",
            "regenerate": f"python {TOOL} --docs <api-docs folder>",
            "check": f"python {TOOL} --docs <api-docs folder> --check",
            "documents": {
                doc_id: {"source_file": index[doc_id].name, "source_sha256": hashlib.sha256(raw).hexdigest()}
                for doc_id, raw in sorted(raws.items())
                if any(q["doc_id"] == doc_id for q in quotes.values())
            },
        },
        "quotes": quotes,
    }


def fixture_name(doc_id: str) -> str:
    """The fixture file name of a doc id: `"<doc id>.json"`."""
    return f"{doc_id}.json"


def render(fixture: dict[str, Any]) -> str:
    """`fixture` as the exact text of its file: sorted keys, indent 2, non-ASCII kept, trailing newline."""
    return json.dumps(fixture, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --- partner-program documents ----------------------------------------------------------------


def extract_partner_samples(doc_id: str, text: str) -> list[dict[str, Any]]:
    """The sample records of a partner-program document's `text`, in order of appearance.

    Each record: `index` (from 0), `kind` (`classify`), `label` (`"<doc id>#<index> <kind>"`),
    `section` (`"<doc id>#<section>"` of the nearest heading before it), `heading` (that heading's
    text), `line` (1-based line where the object starts), `extraction` (how it was found, e.g.
    `"curl --data argument"`), `body` (the decoded object). Empty objects (`{}`) are skipped: they
    are fragments, not samples.

    Raises `ValueError` when a sample has no heading before it.
    """
    headings = find_headings(doc_id, text)
    records = []
    for index, (offset, body) in enumerate(find_json_objects(text)):
        kind = classify(doc_id, body)
        heading = _heading_before(headings, offset, doc_id, text)
        records.append(
            {
                "index": index,
                "kind": kind,
                "label": f"{doc_id}#{index} {kind}",
                "section": f"{doc_id}#{_section(doc_id, heading)}",
                "heading": heading,
                "line": _line(text, offset),
                "extraction": _how_found(text, offset, headings),
                "body": body,
            }
        )
    return records


def find_json_objects(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-empty top-level JSON object in `text`, with its start offset.

    Scans for `{`, tries to decode a JSON value there, and on success resumes after it, so objects
    nested in a sample are not reported separately. Text that does not decode (prose, `{host}`,
    elided `[...]`) is skipped one character at a time.
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

    The kind follows the shape: the top-level key names the endpoint, and a response is told from a
    request by its result markers (`warnings`, a per-program status object, a customer status). The
    delink page's response has the update endpoint's shape (`customersPartnerUpdates`,
    AMB-DELINK-RESPONSE-SHAPE), so a response of that shape in the `delink-customer` document is a
    `delink-customer.response`. Returns `UNCLASSIFIED` for an unknown shape.
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


# --- the webhook events document --------------------------------------------------------------


def extract_event_samples(text: str) -> list[dict[str, Any]]:
    """The sample records of the events document's `text`: one per ```json Enriched|Raw payload fence.

    Each record: `index`, `kind` (`"Enriched"` or `"Raw"`, the fence's label), `event` (the event
    name of the section, e.g. `"partnerProgramLinked"`), `label` (`"events#<index> <event> <kind>"`),
    `section` (`"events#<slug of the section heading>"`), `heading`, `line` (where the payload
    starts), `extraction`, `body`.

    Raises `ValueError` when a fence lies before any `## ... (eventName)` section or its content
    is not a JSON object.
    """
    records = []
    for index, (offset, heading, event, kind, body) in enumerate(find_event_samples(text)):
        records.append(
            {
                "index": index,
                "kind": kind,
                "event": event,
                "label": f"{EVENTS_DOC_ID}#{index} {event} {kind}",
                "section": f"{EVENTS_DOC_ID}#{slug(heading)}",
                "heading": heading,
                "line": _line(text, offset),
                "extraction": f"```json {kind} payload fence",
                "body": body,
            }
        )
    return records


def find_event_samples(text: str) -> Iterator[tuple[int, str, str, str, dict[str, Any]]]:
    """(offset of the payload, section heading, event name, "Enriched"/"Raw", payload) for each fence.

    Raises `ValueError` as `extract_event_samples` does.
    """
    sections = [(m.start(), m.group(0).removeprefix("## ").strip(), m.group(1)) for m in _EVENT_SECTION.finditer(text)]
    for m in _EVENT_SAMPLE.finditer(text):
        before = [(heading, event) for start, heading, event in sections if start < m.start()]
        if not before:
            raise ValueError(f"events: payload fence at line {_line(text, m.start())} lies before any event section")
        heading, event = before[-1]
        try:
            body = json.loads(m.group(2))
        except json.JSONDecodeError as exc:
            raise ValueError(f"events: payload at line {_line(text, m.start(2))} is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ValueError(f"events: payload at line {_line(text, m.start(2))} is not a JSON object")
        yield m.start(2), heading, event, m.group(1), body


# --- headings, sections, how a sample was found -----------------------------------------------


def find_headings(doc_id: str, text: str) -> list[tuple[int, str]]:
    """(offset, heading text) of every section heading of `text`, in order.

    Markdown headings (`## Authentication`) outside ``` fences, plus, for the plain-text pages, the
    lines that are one of the page's section titles (`PLAIN_TEXT_HEADINGS`, e.g. `Example request`),
    also when glued to a preceding `}` or `'`.
    """
    fenced = _fenced_spans(text)
    found = [
        (m.start(1), m.group(1))
        for m in _MARKDOWN_HEADING.finditer(text)
        if not any(start <= m.start() < end for start, end in fenced)
    ]
    titles = PLAIN_TEXT_HEADINGS.get(doc_id, ())
    if titles:
        pattern = re.compile(r"^[}'\"]*(" + "|".join(map(re.escape, titles)) + r")[ \t]*$", re.M)
        found += [(m.start(1), m.group(1)) for m in pattern.finditer(text)]
    return sorted(found)


def slug(heading: str) -> str:
    """The section part of a citation: lower case, runs of other characters as one `-`.

    `"Partner Program Linked (partnerProgramLinked)"` -> `"partner-program-linked-partnerprogramlinked"`.
    """
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def _section(doc_id: str, heading: str) -> str:
    """The section citation of a heading: its alias when the catalogue cites it shorter, else its slug."""
    return SECTION_ALIASES.get((doc_id, heading), slug(heading))


def _heading_before(headings: list[tuple[int, str]], offset: int, doc_id: str, text: str) -> str:
    """The last heading before `offset`; `ValueError` when there is none."""
    before = [heading for start, heading in headings if start < offset]
    if not before:
        raise ValueError(f"{doc_id}: the sample at line {_line(text, offset)} has no section heading before it")
    return before[-1]


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every ``` fence of `text`, fence lines included."""
    marks = [m.start() for m in _FENCE.finditer(text)]
    spans = []
    for opening, closing in zip(marks[::2], marks[1::2], strict=False):
        end = text.find("\n", closing)
        spans.append((opening, len(text) if end == -1 else end))
    if len(marks) % 2:
        spans.append((marks[-1], len(text)))
    return spans


def _how_found(text: str, offset: int, headings: list[tuple[int, str]]) -> str:
    """How the object at `offset` sits in the document, e.g. `"curl --data argument"`."""
    fences = list(_FENCE.finditer(text, 0, offset))
    if len(fences) % 2:
        opening = fences[-1]
        note = f"```{opening.group(1).strip()} fence"
        previous = _previous_line(text, opening.start())
        return f"{note} after '{previous}'" if previous.startswith(">") else note
    if text[:offset].endswith("--data '"):
        return "curl --data argument"
    line_start = text.rfind("\n", 0, offset) + 1
    if text.count("`", line_start, offset) % 2:
        return "inline `code` span"
    previous = _previous_line(text, offset)
    if any(previous.strip("}'\"") == heading for _, heading in headings):
        return "plain text after heading"
    if "|" in previous:
        return "plain text after table"
    return "plain text"


def _previous_line(text: str, offset: int) -> str:
    """The last non-blank line that ends before the line holding `offset`, stripped."""
    line_start = text.rfind("\n", 0, offset) + 1
    for line in reversed(text[:line_start].splitlines()):
        if line.strip():
            return line.strip()
    return ""


def _line(text: str, offset: int) -> int:
    """The 1-based line number of `offset` in `text`."""
    return text.count("\n", 0, offset) + 1
