"""The run's metadata for the allure report: the environment and the outcome categories of the overview.

    write_allure_metadata(Path("reports/allure-results"), {"target": "https://eu.api.capillarytech.com", ...})

writes two files into the allure results directory, next to allure-pytest's results:

- `environment.properties`: one `key=value` line per entry (Java properties syntax, non-ASCII escaped
  as `\\uXXXX`). Allure 3 reads it from the results directory and shows it as the overview's
  metadata; Allure 2 as its Environment widget.
- `categories.json`: the three outcome classes of docs/outcomes.md, in Allure's categories format
  (`CATEGORIES`): a failure is a non-conformance (allure status failed), an error of the run is
  allure-pytest's status broken (pytest errors are recorded as broken), a skip is not judged.
  Allure 2 reads it from the results directory; Allure 3 takes categories from its configuration,
  and the project's `allurerc.mjs` reads them from this file (with the same list as its fallback).

Render with `npm ci && npm run allure:report` (allurerc.mjs; docs/outcomes.md). Only the standard
library: the plugin calls this while pytest configures the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CATEGORIES", "ENVIRONMENT_FILE", "CATEGORIES_FILE", "write_allure_metadata"]

ENVIRONMENT_FILE = "environment.properties"
CATEGORIES_FILE = "categories.json"

#: The outcome classes as allure categories (first match wins; passed tests match none).
CATEGORIES: tuple[dict[str, object], ...] = (
    {"name": "Non-conformance (the target does not conform)", "matchedStatuses": ["failed"]},
    {"name": "Error of the run (could not judge: unreachable, 5xx, auth)", "matchedStatuses": ["broken"]},
    {"name": "Not judged / skipped", "matchedStatuses": ["skipped"]},
)

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def _escape(text: str, *, key: bool) -> str:
    out = []
    for i, char in enumerate(text):
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif (key and char in " =:") or (char in "#!" and i == 0) or (char == " " and i == 0):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            encoded = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(encoded[j : j + 2], 'big'):04x}" for j in range(0, len(encoded), 2))
        else:
            out.append(char)
    return "".join(out)


def write_allure_metadata(alluredir: Path, environment: Mapping[str, str]) -> None:
    """Write `environment.properties` (the entries of `environment`, in their order) and `categories.json`
    (`CATEGORIES`) into `alluredir`, creating it; both files are replaced on every call.

    `environment` is what the report shows about the run, e.g. target, profile, suite_version, stances,
    writes, orgs; values must be free of credentials (they are written as given). Keys and values are
    escaped for the properties syntax, so any text round-trips."""
    alluredir = Path(alluredir)
    alluredir.mkdir(parents=True, exist_ok=True)
    lines = [f"{_escape(str(k), key=True)}={_escape(str(v), key=False)}\n" for k, v in environment.items()]
    (alluredir / ENVIRONMENT_FILE).write_text("".join(lines), encoding="ascii")
    (alluredir / CATEGORIES_FILE).write_text(json.dumps(list(CATEGORIES), indent=2) + "\n", encoding="utf-8")
