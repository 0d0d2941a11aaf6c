"""Render the ambiguity register and the requirement catalogue as Markdown.

`python -m tools.register` rewrites `docs/ambiguity-register.md` and
`docs/requirements.md`; `--check` exits 1 when either is out of date (the
self-tests run the check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ppconformance.contract.catalogue import Catalogue, load_catalogue

__all__ = ["main", "render_ambiguities", "render_requirements"]

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _cell(text: str | None) -> str:
    return (text or "—").replace("|", "\\|").replace("\n", " ")


def render_ambiguities(catalogue: Catalogue) -> str:
    """The register as a Markdown page: one table row per ambiguity."""
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
    return "\n".join(lines) + "\n"


def render_requirements(catalogue: Catalogue) -> str:
    """The catalogue as a Markdown page, untestable requirements listed with their reasons."""
    lines = [
        "# Requirement catalogue",
        "",
        "Generated from `catalogue/requirements.yaml` by `python -m tools.register`; do not edit.",
        "Select a requirement's scenarios with `pytest -m <id>`.",
        "",
        "| id | level | code | source | requirement | judged strictly with |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in catalogue.requirements.values():
        title = r.title if r.testable else f"{r.title} — **not testable black-box**: {r.untestable_reason}"
        lines.append(f"| {r.id} | {r.level} | {r.code or ''} | {r.source} | {_cell(title)} | {r.strict_with or ''} |")
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
    pages = {
        DOCS / "ambiguity-register.md": render_ambiguities(catalogue),
        DOCS / "requirements.md": render_requirements(catalogue),
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
