"""The requirement catalogue and the ambiguity register, loaded and validated.

`catalogue/requirements.yaml` lists every requirement (stable id, level,
source doc id#section, testability); `catalogue/ambiguities.yaml` every
contradiction or gap with the suite's stance. Both are checked against their
JSON Schemas in `schemas/meta/` on load; a broken file raises `CatalogueError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import yaml
from jsonschema import Draft202012Validator

from ppconformance.resources import catalogue_dir, schemas_dir

__all__ = ["Ambiguity", "Catalogue", "CatalogueError", "Requirement", "load_catalogue"]

CATALOGUE_DIR = catalogue_dir()
META_DIR = schemas_dir() / "meta"


class CatalogueError(Exception):
    """The catalogue or register file is unreadable or breaks its schema."""


@dataclass(frozen=True)
class Requirement:
    """One catalogue requirement, e.g. `LINK-2003` (source "link-customer#error-codes").

    `quote` is the short verbatim passage of the documents it rests on, from `quote_doc` (a doc id) or,
    when that is None, from the source's doc; `strict_with` names the ambiguity whose strict stance makes an
    inferred requirement exact; `message_pattern` is checked only under AMB-2005-TWO-MEANINGS.
    """

    id: str
    endpoint: str
    level: str
    source: str
    title: str
    quote: str = ""
    quote_doc: str | None = None
    code: int | None = None
    testable: bool = True
    untestable_reason: str | None = None
    strict_with: str | None = None
    message_pattern: str | None = None

    @property
    def doc_id(self) -> str:
        """The doc id part of `source` ("link-customer")."""
        return self.source.split("#", 1)[0]

    @property
    def quoted_from(self) -> str:
        """The doc id of `quote`: `quote_doc`, else the source's."""
        return self.quote_doc or self.doc_id


@dataclass(frozen=True)
class Ambiguity:
    """One register entry: id, sources, the issue, the default stance, the strict stance (or None).

    An entry with a strict stance also says how narrow its default is: `case`, exactly what the default lets pass
    that the strict stance would fail; `neighbour`, the documented case right next to it that the default stance
    still fails; `judged_by` (`judgedBy`), the self-test proving that, as a pytest node id
    ("tests/test_stance_cases.py::test_..."). All three are "" for an entry without a strict stance.
    """

    id: str
    sources: tuple[str, ...]
    issue: str
    stance: str
    strict: str | None
    case: str = ""
    neighbour: str = ""
    judged_by: str = ""


@dataclass(frozen=True)
class Catalogue:
    """Requirements and ambiguities by id, plus the documents table (doc id → file, title, url)."""

    requirements: dict[str, Requirement]
    ambiguities: dict[str, Ambiguity]
    documents: dict[str, dict[str, str]]

    def doc_url(self, source: str) -> str:
        """A URL for a doc id#section: the page's URL when known, else the docs site."""
        doc = self.documents.get(source.split("#", 1)[0], {})
        return doc.get("url", "https://docs.capillarytech.com/")


def _load(name: str, schema: str) -> dict:
    path = CATALOGUE_DIR / name
    try:
        # libyaml's safe loader when PyYAML has it (the catalogue is read by every process at start-up)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    validator = Draft202012Validator(json.loads((META_DIR / schema).read_text(encoding="utf-8")))
    errors = [f"  at {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    if errors:
        raise CatalogueError(f"{path} does not match {schema}:\n" + "\n".join(errors))
    return data


@cache
def load_catalogue() -> Catalogue:
    """Load and validate both files (cached). Raises `CatalogueError` on a broken file or duplicate id."""
    req_data = _load("requirements.yaml", "requirements.schema.json")
    amb_data = _load("ambiguities.yaml", "ambiguities.schema.json")
    requirements: dict[str, Requirement] = {}
    for r in req_data["requirements"]:
        if r["id"] in requirements:
            raise CatalogueError(f"duplicate requirement id {r['id']}")
        requirements[r["id"]] = Requirement(
            id=r["id"],
            endpoint=r["endpoint"],
            level=r["level"],
            source=r["source"],
            title=r["title"],
            quote=r["quote"],
            quote_doc=r.get("quoteDoc"),
            code=r.get("code"),
            testable=r.get("testable", True),
            untestable_reason=r.get("untestableReason"),
            strict_with=r.get("strictWith"),
            message_pattern=r.get("messagePattern"),
        )
    ambiguities: dict[str, Ambiguity] = {}
    for a in amb_data["ambiguities"]:
        if a["id"] in ambiguities:
            raise CatalogueError(f"duplicate ambiguity id {a['id']}")
        ambiguities[a["id"]] = Ambiguity(
            a["id"],
            tuple(a["sources"]),
            a["issue"],
            a["stance"],
            a["strict"],
            case=a.get("case", ""),
            neighbour=a.get("neighbour", ""),
            judged_by=a.get("judgedBy", ""),
        )
    for r in requirements.values():
        if r.strict_with and r.strict_with not in ambiguities:
            raise CatalogueError(f"{r.id}: strictWith names unknown ambiguity {r.strict_with}")
        if r.doc_id not in req_data["documents"]:
            raise CatalogueError(f"{r.id}: source cites unknown doc id {r.doc_id}")
    return Catalogue(requirements, ambiguities, req_data["documents"])
