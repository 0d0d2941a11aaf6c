"""An honest headline (issue 23): errors are never failures, and a target that is not this API is not judged.

Two ordinary ways a target goes wrong, each a short subprocess run of the suite:

- a target that answers as the API to the preflight's check but with an HTML 502 page to every real request:
  pytest, JUnit, conformance.json and the exit code all say *error* (could not judge), none says *failed*;
- a plain web server (what a wrong base URL reaches): the preflight ends the run before any scenario with exit
  10 and "<URL> does not answer as the Partner Program API", and `--check-config` says so too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from ppconformance.run.outcomes import EXIT_TARGET_ERROR

from .refserver import start_reference_server
from .test_suite_runs import ROOT, counts, run_suite

HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class _Handler(BaseHTTPRequestHandler):
    """`mode` "gateway": JSON to the API check's `POST {}`, an HTML 502 to every other POST, 404 to GETs but
    `/`. "webserver": an HTML page to GET, 501 to POST (as `python -m http.server`)."""

    mode = "gateway"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/" or self.mode == "webserver":
            self._send(200, HTML, "text/html")
        else:
            self._send(404, b'{"message": "not found"}', "application/json")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "webserver":
            self._send(501, HTML, "text/html")
        elif body.strip() == b"{}":
            self._send(
                400,
                b'{"warnings": [], "errors": [{"status": false, "code": 400, "message": "bad"}]}',
                "application/json",
            )
        else:
            self._send(502, HTML, "text/html")


def start_target(mode: str) -> tuple[str, Callable[[], None]]:
    """Start a `_Handler` target in `mode` on a free loopback port; returns its base URL and its stop."""
    handler = type("Handler", (_Handler,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


@pytest.fixture
def serve() -> Iterator[object]:
    stops: list[Callable[[], None]] = []

    def start(mode: str) -> str:
        url, stop = start_target(mode)
        stops.append(stop)
        return url

    yield start
    for stop in stops:
        stop()


def basic_profile(tmp_path: Path) -> Path:
    """The embedded profile's Basic-auth org alone (no OAuth token request in the preflight), no base URL."""
    data = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    data["orgs"] = data["orgs"][:1]
    data.pop("base_url", None)
    path = tmp_path / "basic.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_errors_of_the_run_are_errors_in_every_report_never_failures(tmp_path: Path, serve: object) -> None:
    base_url = serve("gateway")  # type: ignore[operator]
    profile = basic_profile(tmp_path)
    code, out, junit = run_suite(
        tmp_path, "-m", "LINK-2006 or DELINK-2006", f"--base-url={base_url}", f"--profile={profile}", "--allow-writes"
    )
    c = counts(junit)
    assert code == EXIT_TARGET_ERROR and c["failures"] == 0 and c["errors"] >= 2, (code, c, out[-3000:])
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8"))
    outcomes = {r["id"]: r["outcome"] for r in report["requirements"]}
    assert outcomes["LINK-2006"] == outcomes["DELINK-2006"] == "error", outcomes
    assert report["totals"]["byOutcome"]["failed"] == 0 and report["tests"]["failed"] == 0, report["totals"]
    assert report["verdict"] == "could not judge" and report["exitCode"] == EXIT_TARGET_ERROR
    html = (tmp_path / "reports" / "conformance.html").read_text(encoding="utf-8")
    assert '<tr data-requirement="LINK-2006" data-outcome="error"' in html
    assert '<tr data-requirement="DELINK-2006" data-outcome="error"' in html


def test_a_target_that_is_not_this_api_is_not_judged(tmp_path: Path, serve: object) -> None:
    base_url = serve("webserver")  # type: ignore[operator]
    profile = basic_profile(tmp_path)
    journal = tmp_path / "journal"
    env = {"PP__JOURNAL_DIR": str(journal)}
    code, out, junit = run_suite(tmp_path, f"--base-url={base_url}", f"--profile={profile}", "--read-only", env=env)
    assert code == EXIT_TARGET_ERROR, out[-3000:]
    assert not list(journal.glob("*/*.run.json")), "a run that stopped in its preflight left its live marker"
    assert f"{base_url} does not answer as the Partner Program API" in out, out[-3000:]
    assert counts(junit) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8"))
    assert report["totals"]["byOutcome"]["failed"] == 0 and report["verdict"] == "could not judge"
    code, out, _ = run_suite(tmp_path / "check", f"--base-url={base_url}", f"--profile={profile}", "--check-config")
    assert code == EXIT_TARGET_ERROR and "does not answer as the Partner Program API" in out, out[-3000:]
    assert "no drift" not in out


def test_check_config_says_not_checked_when_discovery_found_nothing_to_compare(tmp_path: Path, serve: object) -> None:
    base_url = serve("gateway")  # type: ignore[operator]  # answers as the API, lists no programs (404)
    profile = basic_profile(tmp_path)
    code, out, _ = run_suite(
        tmp_path, f"--base-url={base_url}", f"--profile={profile}", "--check-config", "--read-only"
    )
    assert code == 0 and "not checked: discovery found nothing to compare" in out and "no drift" not in out, out[-3000:]


def _report(tmp_path: Path) -> tuple[dict[str, Any], str, str]:
    reports = tmp_path / "reports"
    data = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    md = (reports / "conformance.md").read_text(encoding="utf-8")
    html = (reports / "conformance.html").read_text(encoding="utf-8")
    return data, md, html


def _agree(data: dict[str, Any], md: str, html: str, code: int) -> None:
    """The headline, the totals and the exit code tell one story (issue 23, item 1)."""
    assert data["exitCode"] == code, (data["exitCode"], code)
    assert md.splitlines()[0] == f"## Partner Program conformance: {data['headline']} (exit {code})"
    assert f"Partner Program conformance: {data['headline']} (exit {code})" in html
    by = data["totals"]["byOutcome"]
    verdict = {0: "conforms", 1: "does not conform", 10: "could not judge", 11: "profile error", 13: "incomplete"}
    assert data["verdict"] == verdict[code] and data["headline"].startswith(verdict[code])
    assert (by["failed"] > 0) == (code == 1), by
    if code == 10:
        assert by["error"] > 0 or data["cause"], by


def test_a_partial_run_says_it_is_partial_and_require_complete_refuses_it(tmp_path: Path) -> None:
    code, out, _ = run_suite(tmp_path, "-m", "LINK-2003")
    data, md, html = _report(tmp_path)
    _agree(data, md, html, 0)
    coverage = data["coverage"]
    assert not coverage["complete"] and 1 <= coverage["judged"] <= 5 and coverage["notJudged"] > 60, coverage
    assert data["headline"] == (
        f"conforms on {coverage['judged']} of {coverage['testable']} requirements; {coverage['notJudged']} not "
        "judged (deselected (-m 'LINK-2003'))"
    ), data["headline"]
    assert f"({data['headline']})" in out
    code, out, _ = run_suite(tmp_path / "complete", "-m", "LINK-2003", "--require-complete")
    data, md, html = _report(tmp_path / "complete")
    assert code == 13, out[-2000:]
    _agree(data, md, html, 13)


def test_a_read_only_run_is_partial_and_its_skips_name_what_made_it_read_only(tmp_path: Path) -> None:
    code, out, junit = run_suite(tmp_path, "-m", "LINK-2006 or LINK-2003", "--read-only")
    data, md, html = _report(tmp_path)
    _agree(data, md, html, 0)
    reasons = [s.get("message", "") for s in junit.iter("skipped") if "read-only run" in s.get("message", "")]
    assert reasons and all("--read-only was given" in r for r in reasons), reasons
    assert "allow_writes: false" not in " ".join(reasons)  # the embedded profile sets it true
    link_2003 = next(r for r in data["requirements"] if r["id"] == "LINK-2003")
    assert link_2003["outcome"] == "not judged" and "read-only run" in link_2003["reason"], link_2003
    assert "read-only run" in data["headline"], data["headline"]


def test_an_unreachable_target_says_why_first_and_names_what_was_not_reached(tmp_path: Path) -> None:
    code, out, _ = run_suite(
        tmp_path, "--base-url=http://127.0.0.1:9", f"--profile={ROOT / 'profiles' / 'embedded.yaml'}"
    )
    data, md, html = _report(tmp_path)
    _agree(data, md, html, EXIT_TARGET_ERROR)
    cause = data["cause"]
    assert cause and "unreachable" in cause["cause"] and "127.0.0.1:9" in cause["cause"], cause
    assert "reachable from here" in cause["check"], cause
    assert md.splitlines()[2].startswith("**Could not judge:** ") and "data-cause" in html
    assert "COULD NOT JUDGE" in out and out.index("COULD NOT JUDGE") < out.index("partner-program outcome")
    never = [r for r in data["requirements"] if r["outcome"] == "not judged"]
    assert never and all("unreachable" in r["reason"] for r in never), never[0]


def test_a_profile_error_and_a_failure_keep_their_own_headline(tmp_path: Path) -> None:
    code, out, _ = run_suite(tmp_path, f"--profile={tmp_path / 'missing.yaml'}")
    assert code == 11 and "profile error" in out, out[-2000:]  # no profile: no conformance report to write
    base_url, stop = start_reference_server("--fault", "link-2003-as-2025", log_path=tmp_path / "ref.log")
    try:
        code, out, _ = run_suite(
            tmp_path / "fault",
            "-m",
            "LINK-2003",
            f"--base-url={base_url}",
            "--reference-target",
            f"--profile={ROOT / 'profiles' / 'embedded.yaml'}",
        )
    finally:
        stop()
    data, md, html = _report(tmp_path / "fault")
    _agree(data, md, html, 1)
    assert data["headline"].startswith("does not conform: 1 of 1 judged requirements failed"), data["headline"]
