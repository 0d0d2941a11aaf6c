"""conformance.md (CI job summary, pull-request comment) and conformance.html (one standalone file: no network,
inline CSS and script; rendered with Jinja2 from `templates/conformance.html.j2`)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ppconformance.report.conformance import OUTCOMES

__all__ = ["coverage_line", "render_html", "render_markdown", "without_own_id"]

_ICON = {
    "passed": "✅",
    "failed": "❌",
    "error": "⚠️",
    "skipped": "⏭️",
    "waived": "🟨",
    "not judged": "◻️",
    "untestable": "▫️",
}


def without_own_id(reason: str, rid: str) -> str:
    """`reason` without a leading "[RID (source)] " or "[RID] " naming the requirement the row already names (a
    message names its requirement once)."""
    text = (reason or "").strip()
    if text.startswith(f"[{rid} ") or text.startswith(f"[{rid}]"):
        end = text.find("]")
        return text[end + 1 :].strip() if end != -1 else text
    return text


def _line(text: str, limit: int = 160) -> str:
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    first = first.replace("|", "\\|")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def coverage_line(coverage: dict[str, Any]) -> str:
    """One sentence: what was judged of what the profile makes testable, and why the rest was not."""
    text = f"Judged {coverage['judged']} of the {coverage['testable']} requirements the profile makes testable"
    if coverage["notJudged"]:
        why = "; ".join(f"{b['reason']}: {b['requirements']}" for b in coverage["notJudgedBecause"][:3])
        text += f"; {coverage['notJudged']} not judged ({why})"
    text += f". Skipped for what the profile lacks: {coverage['skipped']}; untestable: {coverage['untestable']}."
    return text


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown summary: verdict, the failed requirements first (one line each with its reason), then
    errors, waivers, expired waivers, and the totals per outcome and per endpoint."""
    reqs = report["requirements"]
    t = report["tests"]
    out = [f"## Partner Program conformance: {report['headline']} (exit {report['exitCode']})", ""]
    cause = report.get("cause")
    if cause:
        out += [f"**Could not judge:** {cause['cause']}. **Check next:** {cause['check']}.", ""]
    out += [
        f"Target `{report['target']}` · profile `{report['profile']}` · suite {report['suite'].get('version', '?')}"
        f" · strict stances: {', '.join(report['stances']['strict']) or 'none'}",
        "",
        coverage_line(report["coverage"]),
        "",
        f"Tests: {t['passed']} passed, {t['failed']} failed, {t['error']} errors, {t['skipped']} skipped.",
        "",
    ]
    sections = [
        ("failed", "Failed requirements (the target does not conform)"),
        ("error", "Errors of the run (could not judge)"),
        ("waived", "Waived (known, agreed deviations)"),
    ]
    for outcome, title in sections:
        hits = [r for r in reqs if r["outcome"] == outcome]
        if not hits:
            continue
        out += [f"### {title}: {len(hits)}", ""]
        for r in hits:
            reason = r["reason"]
            if outcome == "waived" and r["waiver"]:
                reason = f"{r['waiver']['ticket']}, until {r['waiver']['expires']}: {r['waiver']['reason']}"
            out.append(f"- {_ICON[outcome]} **{r['id']}** ({r['source']}): {_line(without_own_id(reason, r['id']))}")
        out.append("")
    expired = [w for w in report["waivers"] if w["status"] == "expired"]
    if expired:
        out += [f"### Expired waivers (each a failure): {len(expired)}", ""]
        out += [
            f"- ❌ **{w['requirement']}** expired {w['expires']} ({w['ticket']}): {_line(w['reason'])}" for w in expired
        ]
        out.append("")
    unneeded = [w for w in report["waivers"] if w["status"] == "no longer needed"]
    if unneeded:
        out += ["### Waivers no longer needed (the requirement passes)", ""]
        out += [f"- {w['requirement']} ({w['ticket']})" for w in unneeded]
        out.append("")
    run = report["run"]
    if run.get("leftovers"):
        out += ["### Links left behind after cleanup (a failure)", "", *[f"- {x}" for x in run["leftovers"]], ""]
    if run.get("stopped"):
        out += [f"The run was stopped: {_line(run['stopped'], 300)}", ""]
    by = report["totals"]["byOutcome"]
    out += [
        "### Requirements by outcome",
        "",
        "| " + " | ".join(OUTCOMES) + " |",
        "|" + "---|" * len(OUTCOMES),
        "| " + " | ".join(str(by[k]) for k in OUTCOMES) + " |",
        "",
        "| endpoint | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---|" * len(OUTCOMES),
    ]
    for ep, counts in report["totals"]["byEndpoint"].items():
        out.append(f"| {ep} | " + " | ".join(str(counts[k]) for k in OUTCOMES) + " |")
    return "\n".join([*out, "", *readings_markdown(report.get("readings") or []), ""])


def readings_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """The "Readings where the documents are silent" section: a warning line per mixed entry, then one table row
    per entry the report reads (observed first, then not observed), then the entries it does not read."""
    if not rows:
        return []
    read = [r for r in rows if r["status"] != "not read"]
    observed = [r for r in read if r["status"] != "not observed"]
    mixed = [r for r in read if r["status"] == "mixed"]
    out = [
        "### Readings where the documents are silent",
        "",
        f"Which reading of the ambiguity register the target showed: {len(observed)} of the {len(read)} entries "
        "this report reads were observed. Information, not a verdict: a reading the stance does not accept fails "
        "its requirement above.",
        "",
    ]
    out += [
        f"- ⚠️ **{r['id']}** is mixed: the target answered it more than one way ({_cell(r['shown'])})" for r in mixed
    ]
    if mixed:
        out.append("")
    out += ["| entry | reading (count) | what is counted |", "|---|---|---|"]
    out += [f"| {r['id']} | {_cell(r['shown'])} | {_cell(r['counts'])} |" for r in observed]
    out += [f"| {r['id']} | not observed | {_cell(r['counts'])} |" for r in read if r["status"] == "not observed"]
    unread = [r for r in rows if r["status"] == "not read"]
    if unread:
        out += ["", "Not read by this report: " + "; ".join(f"{r['id']} ({r['why']})" for r in unread) + "."]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_html(report: dict[str, Any]) -> str:
    """The standalone HTML report (see templates/conformance.html.j2 for the elements tests look for)."""
    env = Environment(loader=PackageLoader("ppconformance.report", "templates"), autoescape=select_autoescape())
    env.filters["own"] = without_own_id
    order = {k: n for n, k in enumerate(("failed", "error", "waived", "not judged", "skipped", "passed", "untestable"))}
    rows = sorted(report["requirements"], key=lambda r: order[r["outcome"]])
    return env.get_template("conformance.html.j2").render(
        report=report,
        rows=rows,
        outcomes=OUTCOMES,
        endpoints=sorted(report["totals"]["byEndpoint"]),
        coverage=coverage_line(report["coverage"]),
        readings=sorted(report.get("readings") or [], key=lambda r: _READING_ORDER[r["status"]]),
    )


_READING_ORDER = {"mixed": 0, "one reading": 1, "not observed": 2, "not read": 3}
"""The HTML's readings table: mixed entries first, then the observed, the not observed, the not read."""
