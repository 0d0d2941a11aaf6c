"""The customer pool across runs (issue 24, items 1 and 4): the suite run against one long-lived reference server
(tests/refserver.py) as a CI gate runs it against a staging org, again and again, with `--base-url`, the embedded
profile and writes allowed; the server's request log (/__reference__/requests) and state (/__reference__/state)
say what each run registered and left linked.

- A second run from a fresh copy of the checkout (its tracked and unignored files, as a clone holds them: no
  journal, no reports) registers nobody: it finds the first run's customers from their identities alone, reuses
  them, and leaves no link.
- A run killed (SIGKILL) after it made links, its journal deleted, leaves customers linked; the next run, from a
  fresh directory, cleans them up through the pool and reuses them.

Every run's own report (conformance.json `run.customers`) must agree with the server's log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .refserver import admin, start_reference_server
from .test_suite_runs import DROPPED_ENV, ROOT, SECRETS, kill_run_when, scenario_command

pytestmark = pytest.mark.selftest_slow

REGISTER = ("POST", "/v2/customers")


@pytest.fixture
def server() -> Iterator[str]:
    base_url, stop = start_reference_server()
    try:
        yield base_url
    finally:
        stop()


def _fresh_copy(dest: Path) -> Path:
    """The checkout's tracked and unignored files copied to `dest` (what a clone of the working tree holds: no
    journal, no reports, no virtual environment)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _command(base_url: str, *args: str) -> list[str]:
    # a reference server: the clock scenarios run too
    return scenario_command(f"--base-url={base_url}", "--reference-target", *args)


def _env(checkout: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The run's environment: none of the calling pytest's, the reference server's org secrets, the checkout's own
    package first on the path (a copy runs its own code), the profile's default journal (./.pp-journal)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    return {**env, **SECRETS, "PYTHONPATH": str(checkout / "src"), **(extra or {})}


def _log(base_url: str) -> list[dict[str, Any]]:
    return list(admin(base_url, "requests")["requests"])


def _links(base_url: str) -> list[dict[str, Any]]:
    return [dict(link, org=org["name"]) for org in admin(base_url, "state")["orgs"] for link in org["links"]]


def _registered(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if (e["method"], e["path"]) == REGISTER)


def _run(
    base_url: str, checkout: Path, reports: Path, env: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """One run from `checkout` with its reports in `reports`: the server's log of its requests, its conformance
    report's `run.customers`, and its output."""
    before = len(_log(base_url))
    proc = subprocess.run(
        _command(base_url, f"--reports-dir={reports}"),
        cwd=checkout,
        env=_env(checkout, env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    report = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    return _log(base_url)[before:], report["run"]["customers"], out


def test_a_second_run_from_a_fresh_copy_registers_nobody_and_leaves_no_link(server: str, tmp_path: Path) -> None:
    first_log, first, out = _run(server, ROOT, tmp_path / "first", {"PP__JOURNAL_DIR": str(tmp_path / "journal")})
    assert first["registered"] == _registered(first_log) > 0, (first, out[-2000:])
    assert first["reused"] == 0 and first["setAside"] == []
    assert _links(server) == []

    clone = _fresh_copy(tmp_path / "clone")
    assert not (clone / ".pp-journal").exists() and not (clone / "reports" / "conformance.json").exists()
    second_log, second, out = _run(server, clone, clone / "reports")

    assert _registered(second_log) == 0, "the second run registered customers: " + out[-3000:]
    assert second == {"registered": 0, "reused": first["registered"], "setAside": []}, out[-3000:]
    assert "customers of earlier runs found in the customer pool" in out
    assert _links(server) == [], _links(server)[:5]
    assert (clone / ".pp-journal").is_dir(), "the copy's run kept its journal in its own directory"


def _kill_after_links(server: str, workdir: Path, links: int = 5) -> None:
    """Start a run from the checkout copy `workdir` (its journal and reports there), wait until the server holds
    `links` links, SIGKILL its process group."""
    kill_run_when(
        _command(server, f"--reports-dir={workdir / 'reports'}"),
        workdir,
        _env(workdir),
        workdir / "output.txt",
        lambda: len(_links(server)) >= links,
        f"the server held {links} links",
    )


def test_a_killed_runs_customers_are_cleaned_and_reused_without_its_journal(server: str, tmp_path: Path) -> None:
    start = len(_log(server))
    killed = _fresh_copy(tmp_path / "killed")
    _kill_after_links(server, killed)
    killed_registered = _registered(_log(server)[start:])
    left = _links(server)
    assert left and killed_registered > 0, "the killed run left no link"
    assert any((killed / ".pp-journal").rglob("*.jsonl")), "the killed run journaled its links"
    shutil.rmtree(killed)  # a CI job's workspace, its journal with it, is gone by the next run

    clone = _fresh_copy(tmp_path / "next")
    log, customers, out = _run(server, clone, clone / "reports")

    assert _links(server) == [], "the next run left links: " + json.dumps(_links(server)[:5])
    assert "journal of earlier runs" not in out, "the next run had no journal to go by"
    assert customers["reused"] == killed_registered, (customers, killed_registered, out[-3000:])
    assert customers["registered"] == _registered(log) and customers["setAside"] == [], customers
    delinks = [e for e in log if e["path"].endswith("/deLinkCustomer") and e["changed"]]
    assert delinks, "the next run cleaned the killed run's links (a delink that changed the server's state)"
