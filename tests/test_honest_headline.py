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
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from ppconformance.run.outcomes import EXIT_TARGET_ERROR

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


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[ThreadingHTTPServer] = []

    def start(mode: str) -> str:
        handler = type("Handler", (_Handler,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _basic_profile(tmp_path: Path) -> Path:
    """The embedded profile's Basic-auth org alone (no OAuth token request in the preflight), no base URL."""
    data = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    data["orgs"] = data["orgs"][:1]
    data.pop("base_url", None)
    path = tmp_path / "basic.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_errors_of_the_run_are_errors_in_every_report_never_failures(tmp_path: Path, serve: object) -> None:
    base_url = serve("gateway")  # type: ignore[operator]
    profile = _basic_profile(tmp_path)
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
    profile = _basic_profile(tmp_path)
    code, out, junit = run_suite(tmp_path, f"--base-url={base_url}", f"--profile={profile}", "--read-only")
    assert code == EXIT_TARGET_ERROR, out[-3000:]
    assert f"{base_url} does not answer as the Partner Program API" in out, out[-3000:]
    assert counts(junit) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    report = json.loads((tmp_path / "reports" / "conformance.json").read_text(encoding="utf-8"))
    assert report["totals"]["byOutcome"]["failed"] == 0 and report["verdict"] == "could not judge"
    code, out, _ = run_suite(tmp_path / "check", f"--base-url={base_url}", f"--profile={profile}", "--check-config")
    assert code == EXIT_TARGET_ERROR and "does not answer as the Partner Program API" in out, out[-3000:]
    assert "no drift" not in out


def test_check_config_says_not_checked_when_discovery_found_nothing_to_compare(tmp_path: Path, serve: object) -> None:
    base_url = serve("gateway")  # type: ignore[operator]  # answers as the API, lists no programs (404)
    profile = _basic_profile(tmp_path)
    code, out, _ = run_suite(
        tmp_path, f"--base-url={base_url}", f"--profile={profile}", "--check-config", "--read-only"
    )
    assert code == 0 and "not checked: discovery found nothing to compare" in out and "no drift" not in out, out[-3000:]
