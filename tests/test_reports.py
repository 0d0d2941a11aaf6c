"""The conformance report (json, md, html), waivers, the baseline diff and the evidence bundle, end to end.

Three small suite runs (LINK-2002 and LINK-2003 only) are shared by the module:

- `conforming`: the embedded server, with a waiver for LINK-2003 (not needed: it passes) and an expired one
  for LINK-2002 (a failure of the run), and `--evidence`;
- `fault`: a reference server with fault link-2003-as-2025, and `--baseline` = the conforming run's report;
- `waived`: the same fault with an applying waiver for LINK-2003;
- `variant`: a reference server with variant item-failure-http-200 (another reading of AMB-ITEM-FAILURE-HTTP-STATUS),
  `--baseline` = the conforming run's report: the readings report and its diff (issue 23, item 5).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.judge.readings import Readings, against, shows, summarise
from ppconformance.plugin.reporting import readings_lines
from ppconformance.report.baseline import diff
from ppconformance.report.conformance import TestRecord, build_report, named_requirements
from ppconformance.report.render import render_html, render_markdown
from ppconformance.report.waivers import WaiverError, load_waivers
from ppconformance.resources import schemas_dir
from ppreference.variants import DEFAULT_READINGS, VARIANT_READINGS

from .refserver import start_reference_server
from .test_suite_runs import counts, run_suite

SELECTION = "LINK-2003 or LINK-2002"
FAULT = "link-2003-as-2025"
VARIANT = "item-failure-http-200"
SCHEMA = json.loads((schemas_dir() / "meta" / "conformance.schema.json").read_text(encoding="utf-8"))


@dataclass
class Run:
    code: int
    output: str
    junit: Any
    reports: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.reports / "conformance.json").read_text(encoding="utf-8"))

    def requirement(self, rid: str) -> dict[str, Any]:
        return next(r for r in self.report["requirements"] if r["id"] == rid)


def _waivers(path: Path, *items: dict[str, str]) -> Path:
    path.write_text(yaml.safe_dump({"waivers": list(items)}), encoding="utf-8")
    return path


def _run(tmp: Path, *args: str) -> Run:
    code, out, junit = run_suite(tmp, "-m", SELECTION, *args)
    return Run(code, out, junit, tmp / "reports")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("reports")
    waivers = _waivers(
        tmp / "conforming-waivers.yaml",
        {"requirement": "LINK-2003", "reason": "vendor ticket", "ticket": "VEND-1", "expires": "2099-12-31"},
        {"requirement": "LINK-2002", "reason": "old deviation", "ticket": "VEND-0", "expires": "2020-01-31"},
    )
    out = {"conforming": _run(tmp / "conforming", f"--waivers={waivers}", f"--evidence={tmp / 'bundle'}")}
    base_url, stop = start_reference_server("--fault", FAULT)
    try:
        target = (f"--base-url={base_url}", "--reference-target")
        baseline = out["conforming"].reports / "conformance.json"
        out["fault"] = _run(tmp / "fault", *target, f"--baseline={baseline}")
        waived = _waivers(
            tmp / "waived.yaml",
            {"requirement": "LINK-2003", "reason": "agreed until 4.2", "ticket": "VEND-7", "expires": "2099-12-31"},
        )
        out["waived"] = _run(tmp / "waived", *target, f"--waivers={waived}")
    finally:
        stop()
    base_url, stop = start_reference_server("--variant", VARIANT)
    try:
        baseline = out["conforming"].reports / "conformance.json"
        out["variant"] = _run(tmp / "variant", f"--base-url={base_url}", "--reference-target", f"--baseline={baseline}")
    finally:
        stop()
    out["bundle"] = Run(0, "", None, tmp / "bundle")
    return out


def test_every_report_matches_its_schema(runs: dict[str, Run]) -> None:
    for name in ("conforming", "fault", "waived", "variant"):
        errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(runs[name].report)]
        assert not errors, f"{name} run: conformance.json breaks conformance.schema.json: {errors[:5]}"


def test_a_fault_shows_its_requirement_failed_in_all_three_forms(runs: dict[str, Run]) -> None:
    run = runs["fault"]
    assert run.code == 1, run.output[-3000:]
    req = run.requirement("LINK-2003")
    assert req["outcome"] == "failed", req
    assert req["failures"] and "linkCustomer" in req["failures"][0]["detail"], "the failure carries its exchange"
    assert req["quote"] and req["source"] == "link-customer#error-codes"
    assert [r["id"] for r in run.report["requirements"] if r["outcome"] == "failed"] == ["LINK-2003"]
    assert run.report["verdict"] == "does not conform"
    md = (run.reports / "conformance.md").read_text(encoding="utf-8")
    failed_section = md.split("### Failed requirements", 1)[1].split("###", 1)[0]
    assert "**LINK-2003**" in failed_section, md
    html = (run.reports / "conformance.html").read_text(encoding="utf-8")
    assert re.search(r'<tr data-requirement="LINK-2003" data-outcome="failed"', html), "the html row is failed"
    assert '<details data-failure="LINK-2003">' in html and "> POST " in html, "the html failure shows the exchange"
    assert "selftest-Secret-pw-1" not in html + md + json.dumps(run.report), "a credential reached the report"


def test_report_counts_equal_junit(runs: dict[str, Run]) -> None:
    for name in ("conforming", "fault", "waived"):
        junit = counts(runs[name].junit)
        tests = runs[name].report["tests"]
        assert (tests["total"], tests["failed"], tests["error"], tests["skipped"]) == (
            junit["tests"],
            junit["failures"],
            junit["errors"],
            junit["skipped"],
        ), f"{name}: {tests} vs JUnit {junit}"


def test_a_waived_fault_is_reported_waived_and_exits_0(runs: dict[str, Run]) -> None:
    run = runs["waived"]
    assert run.code == 0, run.output[-3000:]
    req = run.requirement("LINK-2003")
    assert req["outcome"] == "waived" and req["waiver"]["status"] == "applied", req
    assert counts(run.junit)["failures"] == 0 and counts(run.junit)["skipped"] >= 1
    assert "partner-program WAIVED LINK-2003" in run.output
    assert "Waived (known, agreed deviations): 1" in (run.reports / "conformance.md").read_text(encoding="utf-8")


def test_an_expired_waiver_fails_the_run_and_an_unneeded_one_is_reported(runs: dict[str, Run]) -> None:
    run = runs["conforming"]
    assert run.code == 1, run.output[-3000:]
    status = {w["requirement"]: w["status"] for w in run.report["waivers"]}
    assert status == {"LINK-2003": "no longer needed", "LINK-2002": "expired"}, status
    assert run.requirement("LINK-2002")["outcome"] == "passed"
    assert "waiver expired on 2020-01-31: LINK-2002" in run.output
    assert "waiver no longer needed: LINK-2003" in run.output
    assert counts(run.junit)["failures"] == 0, "the expired waiver fails the run, not a scenario"


def test_the_baseline_diff_lists_exactly_the_faults_requirement(runs: dict[str, Run]) -> None:
    run = runs["fault"]
    text = (run.reports / "diff.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([A-Z0-9-]+) \| (\w[\w ]*) \| \*\*(\w[\w ]*)\*\* \|", text, re.M)
    # the failing scenario stops before its oracle step: the state requirement it judged in the baseline is not
    # judged this time (a change the diff lists too, after the new failure)
    assert rows == [("LINK-2003", "passed", "failed"), ("STATE-UNCHANGED-ON-FAILURE", "passed", "not judged")], text
    assert "LINK-2003" in run.output.split("diff against the baseline", 1)[1]


def test_the_evidence_bundle_verifies_and_one_changed_byte_fails(runs: dict[str, Run], tmp_path: Path) -> None:
    bundle = runs["bundle"].reports
    tarball = bundle.with_name(bundle.name + ".tar.gz")
    assert tarball.is_file()
    har = json.loads((bundle / "traffic.har").read_text(encoding="utf-8"))
    assert any("/v2/partnerProgram/linkCustomer" in e["request"]["url"] for e in har["log"]["entries"])
    assert "selftest-Secret-pw-1" not in "".join(p.read_text("utf-8") for p in bundle.iterdir() if p.is_file())
    verify = [sys.executable, "-m", "ppconformance.evidence", "verify"]
    ok = subprocess.run([*verify, str(tarball)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "LINK-2003" in ok.stdout or "does not conform" in ok.stdout, ok.stdout
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(bundle), str(copy)], check=True)
    target = copy / "conformance.json"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    altered = subprocess.run([*verify, str(copy)], capture_output=True, text=True, timeout=60)
    assert altered.returncode == 1 and "conformance.json" in altered.stdout, altered.stdout + altered.stderr


# -- units: no suite run -----------------------------------------------------------------------------------
def test_a_failure_fails_the_requirement_it_names_and_not_the_others() -> None:
    catalogue = load_catalogue()
    message = "[LINK-CUSTOMER-STATUS (link-customer#response-parameters)] customerStatus missing"
    assert named_requirements(message, catalogue.requirements) == ["LINK-CUSTOMER-STATUS"]
    test = TestRecord(
        "n::1",
        "link",
        "scenario",
        ["LINK-SUCCESS", "LINK-CUSTOMER-STATUS"],
        "failed",
        "x",
        ["LINK-CUSTOMER-STATUS"],
        message,
    )
    report = build_report(catalogue=catalogue, tests=[test], strict=set(), meta={}, exit_code=1)
    outcome = {r["id"]: r["outcome"] for r in report["requirements"]}
    assert outcome["LINK-CUSTOMER-STATUS"] == "failed" and outcome["LINK-SUCCESS"] == "not judged"
    untestable = [r.id for r in catalogue.requirements.values() if not r.testable]
    assert untestable and all(outcome[rid] == "untestable" for rid in untestable), untestable
    assert sum(report["totals"]["byOutcome"].values()) == len(catalogue.requirements)
    assert not list(Draft202012Validator(SCHEMA).iter_errors(report))
    assert "LINK-CUSTOMER-STATUS" in render_markdown(report) and 'data-outcome="failed"' in render_html(report)


def test_the_baseline_diff_puts_new_failures_first() -> None:
    before = {"requirements": [{"id": "A", "outcome": "failed"}, {"id": "B", "outcome": "passed"}]}
    now = {"requirements": [{"id": "A", "outcome": "passed"}, {"id": "B", "outcome": "failed", "reason": "r"}]}
    assert diff(before, now) == [("B", "passed", "failed", "r"), ("A", "failed", "passed", "")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("waivers: [{requirement: LINK-2003, reason: r, ticket: T}]", "'expires' is a required property"),
        ("waivers: [{requirement: LINK-9999, reason: r, ticket: T, expires: 2030-01-01}]", "unknown requirement"),
        ("waivers: [{requirement: LINK-2003, reason: r, ticket: T, expires: 2030-02-30}]", "day is out of range"),
        ("waivers: [unclosed", "waivers file"),
    ],
)
def test_a_broken_waivers_file_is_a_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WaiverError, match=re.escape(problem)):
        load_waivers(path, "http://x")


def test_a_run_given_a_broken_waivers_file_stops_with_exit_11(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("waivers: [{requirement: LINK-9999, reason: r, ticket: T, expires: 2030-01-01}]", encoding="utf-8")
    code, out, _ = run_suite(tmp_path, "-m", "LINK-2006", f"--waivers={bad}")
    assert code == 11, out[-2000:]
    assert "unknown requirement 'LINK-9999'" in out and "not a conformance failure" in out, out[-2000:]


def test_the_readings_report_names_the_reading_each_server_implements_in_all_three_forms(runs: dict[str, Run]) -> None:
    """Issue 23, item 5: the embedded server's readings (`DEFAULT_READINGS`) and a variant's (`VARIANT_READINGS`)
    are what conformance.json, .md and .html name; the terminal summary counts them."""
    conforming = runs["conforming"].report["readings"]
    assert sum(r["status"] == "one reading" for r in conforming) >= 3, conforming
    unexpected, _ = against(conforming, DEFAULT_READINGS)  # a small run: not every declared reading has its case
    assert not unexpected, unexpected
    entry, text = VARIANT_READINGS[VARIANT] or ("", "")
    run = runs["variant"]
    assert run.code == 0, run.output[-3000:]
    assert shows(run.report["readings"], entry, text) == "", run.report["readings"]
    md = (run.reports / "conformance.md").read_text(encoding="utf-8")
    section = md.split("### Readings where the documents are silent", 1)[1]
    assert f"| {entry} | {text} (" in section, section
    assert "Not read by this report:" in section and "AMB-LINK-DEFAULT-TIER" in section
    html = (run.reports / "conformance.html").read_text(encoding="utf-8")
    assert re.search(rf'<tr data-reading="{entry}" data-status="one reading">.*?<b>{text}</b>', html, re.S), html[
        -3000:
    ]
    assert "readings where the documents are silent:" in run.output


def test_the_baseline_diff_shows_a_reading_that_changed(runs: dict[str, Run]) -> None:
    """A regression run after a configuration change: the same requirements pass, the target's reading changed."""
    text = (runs["variant"].reports / "diff.md").read_text(encoding="utf-8")
    assert "No requirement changed its outcome." in text, text
    assert "| AMB-ITEM-FAILURE-HTTP-STATUS | HTTP 201 | **HTTP 200** |" in text, text
    unchanged = (runs["fault"].reports / "diff.md").read_text(encoding="utf-8")
    assert "AMB-ITEM-FAILURE-HTTP-STATUS" not in unchanged, unchanged


def test_a_mixed_reading_is_a_warning_in_every_form() -> None:
    seen = Readings()
    seen.add("AMB-RESULT-ORDER", "request order", 3)
    seen.add("AMB-RESULT-ORDER", "another order")
    report = build_report(
        catalogue=load_catalogue(),
        tests=[],
        strict=set(),
        meta={"target": "http://x"},
        exit_code=0,
        readings=summarise(seen.to_json(), order=load_catalogue().ambiguities),
    )
    assert not [e.message for e in Draft202012Validator(SCHEMA).iter_errors(report)]
    assert "⚠️ **AMB-RESULT-ORDER** is mixed" in render_markdown(report)
    assert 'data-mixed="AMB-RESULT-ORDER"' in render_html(report)
    lines = readings_lines(report["readings"])
    assert lines[1] == "partner-program WARNING mixed reading AMB-RESULT-ORDER: request order (3); another order (1)"
