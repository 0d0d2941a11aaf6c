"""conformance.json: the verdict per requirement, built from the outcome of every test of a run.

Shapes (schema: `schemas/meta/conformance.schema.json`):

- a `TestRecord` per collected test: its node id, name, kind ("scenario" or "fuzz"), the requirement ids it
  judges (its catalogue markers), its outcome (one of `TEST_OUTCOMES`), a one-line reason and, for a failure,
  the requirements the failure names (`[LINK-2003]` in a `NonConformance` message; every judged requirement
  when it names none) and the redacted failure text with its exchange;
- a requirement's outcome is the worst of its tests' outcomes in the order of `_PRECEDENCE` (failed >
  waived > error > passed > not judged > skipped); a requirement no test of the run judged is *untestable*
  when the catalogue says no black-box test can trigger it, else *not judged*.

Outcome meanings: `passed` (every check held), `failed` (the target does not conform), `error` (the run could
not judge: unreachable, 5xx, auth), `skipped` (a prerequisite or capability is not declared, a read-only run),
`waived` (failed, under an applying waiver), `not judged` (what the documents leave open decided nothing, or
no test of this run judged it), `untestable` (no black-box test can trigger it; the catalogue gives why).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ppconformance import __version__
from ppconformance.contract.catalogue import Catalogue, Requirement
from ppconformance.report.waivers import Waivers

__all__ = [
    "OUTCOMES",
    "TEST_OUTCOMES",
    "TestRecord",
    "EXIT_INCOMPLETE",
    "NOT_JUDGED_SKIPS",
    "build_report",
    "describe_cause",
    "named_requirements",
    "verdict_of",
]

EXIT_INCOMPLETE = 13
"""The exit code of a run that judged no failure but not every requirement the profile makes testable, under
`--require-complete` (a partial run cannot pass for a complete one)."""

NOT_JUDGED_SKIPS = ("read-only run", "fuzz stage off", "webhooks")
"""Skip reasons (their start) that are a choice of the run, not something the profile lacks: a requirement whose
tests were all skipped so is *not judged* (the run left it out), not *skipped* (the profile cannot test it)."""

OUTCOMES = ("passed", "failed", "error", "skipped", "waived", "not judged", "untestable")
"""A requirement's outcomes, in the order reports list them."""

TEST_OUTCOMES = ("passed", "failed", "error", "skipped", "waived", "not judged")
"""A test's outcomes (JUnit counts `waived` and `not judged` as skipped)."""

_PRECEDENCE = ("failed", "waived", "error", "passed", "not judged", "skipped")
_NAMED = re.compile(
    r"\[((?:LINK|UPDATE|DELINK|RELINK|IDENT|RESULT|AUTH|REQ|EVENT|FUZZ|WEBHOOK|STATE|TENANT)-[A-Z0-9]+(?:-[A-Z0-9]+)*)"
)


_FUZZ_FINDINGS = re.compile(r"fuzz findings \[([^\]]*)\]")


def named_requirements(message: str, known: dict[str, Requirement]) -> list[str]:
    """The catalogue ids a failure message names in brackets (`[LINK-2003 (link-customer#error-codes)] …`) or
    lists as fuzz findings (`fuzz findings ['FUZZ-ITEM-CODES'] …`), in order of appearance, without repeats."""
    out: list[str] = []
    listed = _FUZZ_FINDINGS.search(message or "")  # "fuzz findings ['FUZZ-ITEM-CODES', …] (…)"
    found = _NAMED.findall(message or "") + (re.findall(r"'([A-Z]+-[A-Z0-9-]+)'", listed.group(1)) if listed else [])
    for rid in found:
        if rid in known and rid not in out:
            out.append(rid)
    return out


@dataclass
class TestRecord:
    """One test of the run (see the module docstring). `failed_requirements` is empty unless `outcome` is
    "failed" or "waived"; `detail` is the redacted failure text (message and exchange), cut by the builder."""

    __test__ = False  # not a pytest test class

    nodeid: str
    name: str
    kind: str
    requirements: list[str]
    outcome: str = "passed"
    reason: str = ""
    failed_requirements: list[str] = field(default_factory=list)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as the plugin ships it between processes (plain JSON)."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TestRecord:
        """Inverse of `to_json`."""
        return cls(**data)


def verdict_of(exit_code: int) -> str:
    """The run's verdict from its exit code (docs/outcomes.md)."""
    return {
        0: "conforms",
        1: "does not conform",
        10: "could not judge",
        11: "profile error",
        12: "drift",
        EXIT_INCOMPLETE: "incomplete",
    }.get(exit_code, f"interrupted (exit {exit_code})")


_NEXT = (
    ("does not answer as the Partner Program API", "check the base URL and the profile's paths"),
    ("refused the profile's own credentials", "check the org's credentials (the profile's ${VAR}s) and their rights"),
    ("AuthFailed", "check the org's credentials (the profile's ${VAR}s) and their rights"),
    ("no answer within", "check the target's health, or raise the profile's timeout_seconds"),
    ("unreachable", "check that the target is up and reachable from here (base URL, VPN, proxy, firewall)"),
    ("ConnectError", "check that the target is up and reachable from here (base URL, VPN, proxy, firewall)"),
    ("profile error", "fix the profile (docs/profiles.md) and run again"),
    ("RateLimited", "lower the profile's rate_limit_per_minute or ask for a higher limit"),
)


def describe_cause(
    *, run_error: str = "", stopped: str | None = None, errors: list[str] | None = None, target: str = ""
) -> dict[str, str] | None:
    """Why a run could not judge, for the first lines of the reports: `{"cause", "check"}` (the cause with the
    target's URL, and what to check next), or None when nothing stopped the run and no test errored. `run_error`:
    the message of a run that judged nothing (`RunContext.run_error`); `stopped`: why the run was stopped; `errors`:
    the "nodeid: message" of each test that could not judge."""
    text = run_error or (f"the run was stopped: {stopped}" if stopped else "")
    if not text and errors:
        first = errors[0].split(": ", 1)[-1]
        text = f"{len(errors)} test(s) could not judge; the first: {first}"
    if not text:
        return None
    text = text.replace("ERROR (not a conformance failure): ", "").strip()
    cause = text.splitlines()[0]
    if target and target not in cause:
        cause += f" (target {target})"
    check = next((hint for key, hint in _NEXT if key in text), "see the errors below and the target's logs")
    return {"cause": cause, "check": check}


def _outcome(req: Requirement, tests: list[TestRecord], not_judged: str) -> tuple[str, str]:
    if not tests:
        if not req.testable:
            return "untestable", req.untestable_reason or "no black-box test can trigger it"
        return "not judged", f"not judged: {not_judged}"
    for outcome in _PRECEDENCE:
        hits = [t for t in tests if _test_outcome_for(t, req.id) == outcome]
        if hits:
            reason = next((t.reason for t in hits if t.reason), "")
            if outcome == "skipped" and reason.startswith(NOT_JUDGED_SKIPS):
                return "not judged", f"not judged: {reason}"
            return outcome, reason
    return "not judged", ""


def _coverage(requirements: list[dict[str, Any]]) -> dict[str, Any]:
    """What the run judged of what the profile makes testable: every requirement but the untestable ones and those
    skipped for something the profile lacks. Complete when none of those is *not judged*."""
    count = Counter(r["outcome"] for r in requirements)
    judged = sum(count[k] for k in ("passed", "failed", "error", "waived"))
    not_judged = count["not judged"]
    because = Counter(r["reason"].removeprefix("not judged: ") for r in requirements if r["outcome"] == "not judged")
    return {
        "requirements": len(requirements),
        "testable": judged + not_judged,
        "judged": judged,
        "notJudged": not_judged,
        "skipped": count["skipped"],
        "untestable": count["untestable"],
        "complete": not_judged == 0,
        "notJudgedBecause": [{"reason": r, "requirements": n} for r, n in because.most_common()],
    }


def _headline(verdict: str, coverage: dict[str, Any], failed: int, cause: dict[str, str] | None) -> str:
    """The one line people read: the verdict, how much of it was judged, or why nothing could be."""
    why = "; ".join(b["reason"] for b in coverage["notJudgedBecause"][:2])
    partial = f"{coverage['notJudged']} not judged ({why})" if coverage["notJudged"] else ""
    if verdict == "conforms" and not coverage["complete"]:
        return f"conforms on {coverage['judged']} of {coverage['testable']} requirements; {partial}"
    if verdict == "incomplete":
        return f"incomplete: judged {coverage['judged']} of {coverage['testable']} requirements; {partial}"
    if verdict == "does not conform":
        return f"does not conform: {failed} of {coverage['judged']} judged requirements failed" + (
            f"; {partial}" if partial else ""
        )
    if verdict == "could not judge" and cause:
        return f"could not judge: {cause['cause']}"
    return verdict


def _test_outcome_for(test: TestRecord, rid: str) -> str:
    """A failing test fails the requirements its failure names; the others it judges were not judged by it
    (the scenario stopped at the failure)."""
    if test.outcome in ("failed", "waived") and test.failed_requirements and rid not in test.failed_requirements:
        return "not judged"
    return test.outcome


def build_report(
    *,
    catalogue: Catalogue,
    tests: list[TestRecord],
    strict: set[str],
    meta: dict[str, Any],
    exit_code: int,
    waivers: Waivers | None = None,
    run: dict[str, Any] | None = None,
    detail_limit: int = 12000,
    not_judged: str = "no test of this run judged it (deselected, or not collected)",
    cause: dict[str, str] | None = None,
    require_complete: bool = False,
    readings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The conformance.json document.

    `meta`: suite name/version, target (base URL), profile name, started/finished (ISO 8601 UTC);
    `strict`: the ambiguity ids judged strictly; `run`: run-level findings (leftovers, uncleaned links, the
    stop reason, errors); `not_judged`: why a requirement no test of the run judged was left out (the run's
    selection, or why it could not judge); `cause`: why the run could not judge (`describe_cause`), or None;
    `require_complete`: a run that would conform but judged not every requirement the profile makes testable
    gets `EXIT_INCOMPLETE`; `readings`: the readings report's rows (`judge.readings.summarise`). The result is
    plain JSON (dicts, lists, str, int, None).
    """
    by_req: dict[str, list[TestRecord]] = {rid: [] for rid in catalogue.requirements}
    for t in tests:
        for rid in dict.fromkeys([*t.requirements, *t.failed_requirements]):
            if rid in by_req:
                by_req[rid].append(t)
    requirements = []
    for rid, req in catalogue.requirements.items():
        judged_by = by_req[rid]
        outcome, reason = _outcome(req, judged_by, not_judged)
        waiver = waivers.applying(rid) if waivers else None
        entry: dict[str, Any] = {
            "id": rid,
            "title": req.title,
            "endpoint": req.endpoint,
            "level": req.level,
            "source": req.source,
            "docUrl": catalogue.doc_url(req.source),
            "quote": req.quote,
            "quotedFrom": req.quoted_from,
            "outcome": outcome,
            "reason": reason,
            "stance": "strict" if req.strict_with and req.strict_with in strict else "default",
            "strictWith": req.strict_with,
            "judgedBy": [
                {"test": t.nodeid, "name": t.name, "kind": t.kind, "outcome": _test_outcome_for(t, rid)}
                for t in judged_by
            ],
            "failures": [
                {"test": t.nodeid, "reason": t.reason, "detail": t.detail[:detail_limit]}
                for t in judged_by
                if _test_outcome_for(t, rid) in ("failed", "waived")
            ],
            "waiver": None,
        }
        if waiver is not None:
            entry["waiver"] = {
                **waiver.to_json(),
                "status": "applied" if outcome == "waived" else "no longer needed" if outcome == "passed" else "unused",
            }
        requirements.append(entry)
    by_outcome = Counter(r["outcome"] for r in requirements)
    by_endpoint: dict[str, Counter[str]] = {}
    for r in requirements:
        by_endpoint.setdefault(r["endpoint"], Counter())[r["outcome"]] += 1
    junit = Counter("skipped" if t.outcome in ("waived", "not judged") else t.outcome for t in tests)
    waiver_list: list[dict[str, Any]] = []
    if waivers is not None:
        outcome_of = {r["id"]: r for r in requirements}
        for w in waivers.items:
            if not w.for_target(waivers.base_url):
                status = "other target"
            elif w.expired(waivers.today):
                status = "expired"
            else:
                status = outcome_of[w.requirement]["waiver"]["status"]
            waiver_list.append({**w.to_json(), "status": status})
    coverage = _coverage(requirements)
    if require_complete and exit_code == 0 and not coverage["complete"]:
        exit_code = EXIT_INCOMPLETE
    verdict = verdict_of(exit_code)
    return {
        "reportFormat": 1,
        "suite": meta.get("suite") or {"name": "partner-program-conformance", "version": __version__},
        "target": meta.get("target", ""),
        "profile": meta.get("profile", ""),
        "started": meta.get("started", ""),
        "finished": meta.get("finished", ""),
        "verdict": verdict,
        "headline": _headline(verdict, coverage, by_outcome.get("failed", 0), cause if exit_code == 10 else None),
        "exitCode": exit_code,
        "cause": cause,
        "coverage": coverage,
        "stances": {
            "strict": sorted(strict),
            "default": sorted(set(catalogue.ambiguities) - set(strict)),
        },
        "tests": {k: junit.get(k, 0) for k in ("passed", "failed", "error", "skipped")} | {"total": len(tests)},
        "totals": {
            "byOutcome": {k: by_outcome.get(k, 0) for k in OUTCOMES},
            "byEndpoint": {ep: {k: c.get(k, 0) for k in OUTCOMES} for ep, c in sorted(by_endpoint.items())},
        },
        "requirements": requirements,
        "waivers": waiver_list,
        "run": {"leftovers": [], "uncleaned": [], "stopped": None, "errors": []} | (run or {}),
        "readings": list(readings or []),
    }
