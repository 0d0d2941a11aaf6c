"""The difference between a baseline conformance.json (a previous run's) and this run's: for a regression run
after an org's configuration changes (relinking switched on, a tier added). `--baseline FILE` writes
`reports/diff.md`; the run's exit code is not changed by it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ppconformance.judge.readings import diff_readings

__all__ = ["BaselineError", "Change", "diff", "load_baseline", "render_diff"]

_BAD = ("failed", "error")


class BaselineError(Exception):
    """The baseline file is unreadable or not a conformance report."""


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read a previous run's conformance.json. Raises `BaselineError`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("requirements"), list):
        raise BaselineError(f"baseline {path}: not a conformance report (no 'requirements' list)")
    return data


Change = tuple[str, str, str, str]
"""(requirement id, outcome before, outcome now, reason now); "absent" where a report lacks the id."""


def diff(before: dict[str, Any], now: dict[str, Any]) -> list[Change]:
    """Requirements whose outcome changed: new failures (now failed or error, before not) first, then the rest,
    each group in catalogue order."""
    old = {r["id"]: r for r in before["requirements"]}
    new = {r["id"]: r for r in now["requirements"]}
    order = list(new) + [rid for rid in old if rid not in new]
    changes = []
    for rid in order:
        a = old.get(rid, {}).get("outcome", "absent")
        b = new.get(rid, {}).get("outcome", "absent")
        if a != b:
            changes.append((rid, a, b, new.get(rid, {}).get("reason", "")))
    return sorted(changes, key=lambda c: 0 if c[2] in _BAD and c[1] not in _BAD else 1)


def render_diff(before: dict[str, Any], now: dict[str, Any], baseline_name: str) -> str:
    """diff.md: a heading naming both runs, then one table row per changed requirement (or "no change"), then
    the register entries whose reading changed (`judge.readings.diff_readings`: what a configuration change made
    the target choose differently where the documents are silent)."""
    lines = _requirement_lines(before, now, baseline_name)
    changed = diff_readings(before.get("readings") or [], now.get("readings") or [])
    if changed:
        lines += [
            f"{len(changed)} reading(s) changed where the documents are silent (information, not a verdict; "
            "a reading the stance does not accept fails its requirement above).",
            "",
            "| register entry | reading before | reading now |",
            "|---|---|---|",
            *[f"| {e} | {_cell(a)} | **{_cell(b)}** |" for e, a, b in changed],
            "",
        ]
    else:
        lines += ["No reading changed where the documents are silent.", ""]
    return "\n".join(lines)


def _requirement_lines(before: dict[str, Any], now: dict[str, Any], baseline_name: str) -> list[str]:
    changes = diff(before, now)
    lines = [
        f"# Conformance diff against {baseline_name}",
        "",
        f"Baseline: {before.get('target', '?')} (profile {before.get('profile', '?')}, {before.get('started', '?')}) "
        f"· this run: {now.get('target', '?')} (profile {now.get('profile', '?')}, {now.get('started', '?')})",
        "",
    ]
    if not changes:
        return [*lines, "No requirement changed its outcome.", ""]
    new_failures = sum(1 for c in changes if c[2] in _BAD and c[1] not in _BAD)
    lines += [
        f"{len(changes)} requirement(s) changed their outcome, {new_failures} new failure(s) or error(s).",
        "",
        "| requirement | before | now | reason now |",
        "|---|---|---|---|",
    ]
    lines += [f"| {rid} | {a} | **{b}** | {_cell(reason, rid)} |" for rid, a, b, reason in changes]
    return [*lines, ""]


def _cell(text: str, rid: str = "", limit: int = 200) -> str:
    """The reason's first line for a table cell: cut at a word boundary within `limit` characters, then a link to
    the requirement's row in conformance.html, where the whole reason is."""
    first = (text or "").splitlines()[0] if text else ""
    if len(first) > limit:
        cut = first[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
        first = f"{cut} … [full reason](conformance.html#{rid})" if rid else f"{cut} …"
    return first.replace("|", "\\|")
