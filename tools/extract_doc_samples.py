"""Re-extract the self-tests' doc-sample fixtures from the source documents, or check them (maintainers only).

    python tools/extract_doc_samples.py --docs DIR [--out tests/fixtures/doc-samples] [--check]
        [--catalogue catalogue/requirements.yaml] [--quotes tests/fixtures/doc-quotes.json]

`DIR` is the api-docs folder (its README.md maps doc ids to files). Without `--check` the fixtures
(one `<doc id>.json` per document, see `tools/doc_samples.py` for the format) are written to `--out`,
deterministically: sorted keys, indent 2, trailing newline; fixture files of documents no longer
extracted are removed. The quote fixture (`--quotes`) records where each requirement's `quote` of the
catalogue stands in its document (a quote that is not there stops the tool with status 2). With `--check`
nothing is written: the committed fixtures are compared with what the documents give, and a summary of
every difference is printed.

Exit status: 0 written / up to date; 1 (`--check`) the fixtures differ; 2 the docs folder is
unusable (missing folder, README row or document, a sample without a heading).

The suite and its tests never run this: they read the committed fixtures only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script (python tools/extract_doc_samples.py): make `tools` importable
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tools.doc_samples import build_fixtures, build_quotes, fixture_name, render  # noqa: E402

DEFAULT_OUT = REPO / "tests" / "fixtures" / "doc-samples"
DEFAULT_CATALOGUE = REPO / "catalogue" / "requirements.yaml"
DEFAULT_QUOTES = REPO / "tests" / "fixtures" / "doc-quotes.json"
DIFF_LINES = 30


def main(argv: list[str] | None = None) -> int:
    """Run the command line (`argv` defaults to `sys.argv[1:]`); returns the exit status (0, 1 or 2)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--docs", type=Path, required=True, help="the api-docs folder (with README.md)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"fixture folder (default {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if the fixtures differ")
    parser.add_argument(
        "--catalogue", type=Path, default=DEFAULT_CATALOGUE, help=f"requirements file (default {DEFAULT_CATALOGUE})"
    )
    parser.add_argument("--quotes", type=Path, default=DEFAULT_QUOTES, help=f"quote fixture (default {DEFAULT_QUOTES})")
    args = parser.parse_args(argv)
    try:
        fixtures = build_fixtures(args.docs)
        catalogue = yaml.safe_load(args.catalogue.read_text(encoding="utf-8"))
        quotes = render(build_quotes(args.docs, list(catalogue["requirements"])))
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        print(f"extract_doc_samples: {exc}", file=sys.stderr)
        return 2
    expected = {fixture_name(doc_id): render(fixture) for doc_id, fixture in fixtures.items()}
    total = sum(len(fixture["samples"]) for fixture in fixtures.values())
    if args.check:
        problems = check(args.out, expected)
        committed = args.quotes.read_text(encoding="utf-8") if args.quotes.is_file() else None
        if committed != quotes:
            problems.append(f"- {args.quotes.name}: {'differs' if committed else 'missing'}")
            if committed:
                problems += ["    " + line for line in _describe(committed, quotes)]
        if problems:
            print(f"doc-sample fixtures in {args.out} differ from {args.docs}:")
            print("\n".join(problems))
            print(f"regenerate: python tools/extract_doc_samples.py --docs {args.docs} --out {args.out}")
            return 1
        print(f"doc-sample fixtures up to date: {len(expected)} files, {total} samples; {args.quotes.name} too")
        return 0
    write(args.out, expected)
    args.quotes.parent.mkdir(parents=True, exist_ok=True)
    args.quotes.write_text(quotes, encoding="utf-8")
    print(f"wrote {len(expected)} fixture files ({total} samples) to {args.out}, quotes to {args.quotes}")
    return 0


def write(out: Path, expected: dict[str, str]) -> None:
    """Write each file of `expected` (name -> text) into `out` and remove stale fixture files.

    A stale file is a `*.json` of `out` not in `expected` whose provenance names this tool; other
    files are left alone. Raises `OSError` when `out` cannot be written.
    """
    out.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for path in _stale(out, expected):
        print(f"removed stale fixture {path.name}")
        path.unlink()


def check(out: Path, expected: dict[str, str]) -> list[str]:
    """Summary lines of every difference between the fixture files of `out` and `expected`; [] if none.

    Reports missing and stale files, then per changed file the provenance fields, the samples
    added, removed or changed (by label, with the fields that differ) and the start of a unified diff.
    """
    problems: list[str] = []
    for name, text in expected.items():
        path = out / name
        if not path.is_file():
            problems.append(f"- {name}: missing")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != text:
            problems.append(f"- {name}: differs")
            problems += ["    " + line for line in _describe(committed, text)]
    problems += [f"- {path.name}: stale (no document gives it)" for path in _stale(out, expected)]
    return problems


def _describe(committed: str, expected: str) -> list[str]:
    """What differs between two renderings of one fixture, for people."""
    lines: list[str] = []
    try:
        old, new = json.loads(committed), json.loads(expected)
    except json.JSONDecodeError as exc:
        lines.append(f"committed file is not valid JSON: {exc}")
    else:
        if old == new:
            lines.append("same content, different layout (expected sorted keys, indent 2, trailing newline)")
        else:
            lines += _describe_content(old, new)
    diff = list(
        difflib.unified_diff(committed.splitlines(), expected.splitlines(), "committed", "from docs", n=1, lineterm="")
    )
    lines += diff[:DIFF_LINES]
    if len(diff) > DIFF_LINES:
        lines.append(f"... {len(diff) - DIFF_LINES} more diff lines")
    return lines


def _describe_content(old: Any, new: dict[str, Any]) -> list[str]:
    """Provenance fields and samples (by label) that differ between a committed and an expected fixture."""
    if not isinstance(old, dict):
        return ["committed file is not a JSON object"]
    lines = []
    old_prov, new_prov = old.get("provenance") or {}, new["provenance"]
    changed = sorted(key for key in old_prov.keys() | new_prov.keys() if old_prov.get(key) != new_prov.get(key))
    if changed:
        lines.append(f"provenance differs in: {', '.join(changed)}")
    old_samples = {str(s.get("label")): s for s in old.get("samples") or [] if isinstance(s, dict)}
    new_samples = {s["label"]: s for s in new["samples"]}
    gone = sorted(old_samples.keys() - new_samples.keys())
    lines += [f"sample in the fixture but not in the docs: {label}" for label in gone]
    lines += [f"sample missing from the fixture: {label}" for label in sorted(new_samples.keys() - old_samples.keys())]
    for label in sorted(old_samples.keys() & new_samples.keys()):
        fields = sorted(
            key
            for key in old_samples[label].keys() | new_samples[label].keys()
            if old_samples[label].get(key) != new_samples[label].get(key)
        )
        if fields:
            lines.append(f"sample {label} differs in: {', '.join(fields)}")
    return lines


def _stale(out: Path, expected: dict[str, str]) -> list[Path]:
    """Fixture files of `out` (provenance naming this tool) that `expected` no longer holds."""
    stale = []
    for path in sorted(out.glob("*.json")):
        if path.name in expected:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        provenance = data.get("provenance") if isinstance(data, dict) else None
        if isinstance(provenance, dict) and "extract_doc_samples" in str(provenance.get("extraction_tool")):
            stale.append(path)
    return stale


if __name__ == "__main__":
    sys.exit(main())
