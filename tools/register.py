"""Render the generated pages and files: the ambiguity register and the requirement catalogue as Markdown,
the profile's key table, and the `default` keywords of the profile schema.

`python -m tools.register` rewrites `docs/ambiguity-register.md`, `docs/requirements.md`,
`docs/profile-keys.md` and `schemas/meta/profile.schema.json` (its `default`s, from
`ppconformance.connection.profile.FILE_KEYS`: the typed model holds the defaults, and only it); `--check` exits 1
when any is out of date (the self-tests run the check).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from ppconformance.connection.profile import ENV_PREFIX, FILE_KEYS, PROFILE_SCHEMA
from ppconformance.contract.catalogue import Catalogue, load_catalogue

__all__ = [
    "main",
    "profile_keys",
    "render_ambiguities",
    "render_profile_keys",
    "render_requirements",
    "schema_with_defaults",
]

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")


def render_ambiguities(catalogue: Catalogue) -> str:
    """The register as a Markdown page: one table row per ambiguity, then one per entry with a strict stance giving
    the narrowest case of its lenient default, the neighbour still judged by default, and the self-test proving it."""
    lines = [
        "# Ambiguity register",
        "",
        "Generated from `catalogue/ambiguities.yaml` by `python -m tools.register`; do not edit.",
        "",
        "Default stance: never fail a target for what the documents leave open. Make an entry strict",
        "with `strict: [AMB-…]` in the profile, `--strict-ambiguity AMB-…` (repeatable; `all` for every",
        "entry) or `PP__STRICT='[AMB-…, AMB-…]'`. Entries whose strict column is empty judge nothing.",
        "",
        "| id | sources | what the documents say | default stance | strict stance |",
        "| --- | --- | --- | --- | --- |",
    ]
    for a in catalogue.ambiguities.values():
        lines.append(f"| {a.id} | {', '.join(a.sources)} | {_cell(a.issue)} | {_cell(a.stance)} | {_cell(a.strict)} |")
    lines += [
        "",
        "## Narrowest case of each lenient default",
        "",
        "A default stance must not be wider than the case that needs it. For every entry with a strict stance: the",
        "case (exactly what the default lets pass that the strict stance would fail), its neighbour (the documented",
        "case right next to it that the default stance still fails), and the self-test that proves the neighbour is",
        "judged under the default stance. A self-test marked `xfail` names a place where the default is still wider.",
        "",
        "| id | case: the default lets pass | neighbour: still failed by default | judged by |",
        "| --- | --- | --- | --- |",
    ]
    for a in catalogue.ambiguities.values():
        if a.strict:
            lines.append(f"| {a.id} | {_cell(a.case)} | {_cell(a.neighbour)} | `{a.judged_by}` |")
    return "\n".join(lines) + "\n"


def render_requirements(catalogue: Catalogue) -> str:
    """The catalogue as a Markdown page, untestable requirements listed with their reasons."""
    lines = [
        "# Requirement catalogue",
        "",
        "Generated from `catalogue/requirements.yaml` by `python -m tools.register`; do not edit.",
        "Select a requirement's scenarios with `pytest -m <id>`.",
        "",
        "The quote is the passage of the documents the requirement rests on (from the source's document, or the one",
        "named before it); every check of the suite names a requirement (`python -m tools.traceability`).",
        "",
        "| id | level | code | source | requirement | rests on | judged strictly with |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in catalogue.requirements.values():
        title = r.title if r.testable else f"{r.title} — **not testable black-box**: {r.untestable_reason}"
        quote = (f"{r.quote_doc}: " if r.quote_doc else "") + f"“{r.quote}”"
        lines.append(
            f"| {r.id} | {r.level} | {r.code or ''} | {r.source} | {_cell(title)} | {_cell(quote)} "
            f"| {r.strict_with or ''} |"
        )
    return "\n".join(lines) + "\n"


def _deref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**schema["$defs"][node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _objects(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas `node` stands for (one, or each variant of a oneOf), references followed."""
    node = _deref(schema, node)
    variants = node.get("oneOf") or node.get("anyOf")
    return [o for v in variants for o in _objects(schema, v)] if variants else [node]


def profile_keys(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every leaf key of the profile schema as (dotted path with `[]` for list items, its schema), in schema
    order; a key of several oneOf variants (e.g. auth) appears once per variant that has it, then once."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(node: dict[str, Any], prefix: str) -> None:
        for obj in _objects(schema, node):
            for name, sub in (obj.get("properties") or {}).items():
                path = prefix + name
                full = _deref(schema, sub)
                if full.get("type") == "array" and "properties" in _deref(schema, full.get("items", {})):
                    walk(full["items"], path + "[].")
                elif "properties" in full or "oneOf" in full:
                    walk(full, path + ".")
                elif path not in seen:
                    seen.add(path)
                    out.append((path, sub))

    walk(schema, "")
    return out


def _locate(schema: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The property schemas (in place, for writing) of the key at `path`, one per variant that has it."""
    nodes = [schema]
    *parents, last = path.split(".")
    for seg in parents:
        name, many = seg.removesuffix("[]"), seg.endswith("[]")
        nxt = []
        for n in nodes:
            for obj in _objects_in_place(schema, n):
                if name in obj.get("properties", {}):
                    child = obj["properties"][name]
                    nxt.append(_target(schema, child)["items"] if many else child)
        nodes = nxt
    found = [
        obj["properties"][last]
        for n in nodes
        for obj in _objects_in_place(schema, n)
        if last in obj.get("properties", {})
    ]
    if not found:
        raise KeyError(f"profile key {path} is not in {PROFILE_SCHEMA.name}")
    return found


def _target(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _objects_in_place(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _target(schema, node)
    variants = node.get("oneOf") or node.get("anyOf")
    return [o for v in variants for o in _objects_in_place(schema, v)] if variants else [node]


def schema_with_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the profile schema whose keys of `FILE_KEYS` carry `default`: their typed field's default."""
    out = copy.deepcopy(schema)
    for key in FILE_KEYS:
        for node in _locate(out, key.path):
            node["default"] = key.default()
    return out


def _env_name(path: str) -> str:
    return ENV_PREFIX + "__".join(
        seg.removesuffix("[]").upper() + ("__0" if seg.endswith("[]") else "") for seg in path.split(".")
    )


def render_profile_keys(schema: dict[str, Any]) -> str:
    """The profile's keys as a Markdown table: key, type, default, environment override, description."""
    lines = [
        "# Profile keys",
        "",
        "Generated from `schemas/meta/profile.schema.json` and the typed defaults of",
        "`ppconformance.connection.profile` (`FILE_KEYS`) by `python -m tools.register`; do not edit. How profiles",
        "work: [profiles.md](profiles.md).",
        "",
        "Every key can be set from the environment by its override name (list items by index: `__0`, `__1`, …);",
        "values are read as YAML. Precedence: command line > environment > file > default.",
        "",
        "| key | type | default | environment override | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, node in profile_keys(schema):
        full = _target(schema, node)
        kind = full.get("type") or ("enum " + "/".join(map(str, full["enum"])) if "enum" in full else "")
        kind = "/".join(kind) if isinstance(kind, list) else kind
        default = f"`{json.dumps(node['default'])}`" if "default" in node else "—"
        desc = node.get("description") or full.get("description") or ""
        lines.append(f"| `{path}` | {_cell(str(kind))} | {default} | `{_env_name(path)}` | {_cell(desc)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with `--check`, verify) docs/ambiguity-register.md and docs/requirements.md."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.register",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is out of date; write nothing")
    args = parser.parse_args(argv)
    catalogue = load_catalogue()
    schema = schema_with_defaults(json.loads(PROFILE_SCHEMA.read_text(encoding="utf-8")))
    pages = {
        DOCS / "ambiguity-register.md": render_ambiguities(catalogue),
        DOCS / "requirements.md": render_requirements(catalogue),
        DOCS / "profile-keys.md": render_profile_keys(schema),
        PROFILE_SCHEMA: json.dumps(schema, indent=2, ensure_ascii=False) + "\n",
    }
    stale = [p for p, text in pages.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p} is out of date: run python -m tools.register", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(pages[p], encoding="utf-8")
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
