"""The suite run as against a long-lived staging target: one external reference server, several runs.

Each test starts `python -m ppreference` once (tests/refserver.py) and runs the
suite in subprocesses with `--base-url`, the embedded profile (allow_writes:
true) and its own journal directory (`PP__JOURNAL_DIR`), then inspects the
server through its admin endpoints (/__reference__/state, /__reference__/requests).
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ppconformance.run.outcomes import EXIT_DRIFT

from .refserver import admin, start_reference_server
from .test_suite_runs import ROOT, SECRETS, counts, kill_run_when, scenario_command

pytestmark = pytest.mark.selftest_slow


@pytest.fixture
def server() -> Iterator[str]:
    base_url, stop = start_reference_server()
    try:
        yield base_url
    finally:
        stop()


def _env(journal: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "PYTEST_XDIST",
                "PP__",
                "PP_RUN_ID",
                "PYTEST_BASE_URL",
                "PP_PROFILE",
                "PP_STRICT",
                "PP_DISCOVERY",
                "PP_EPHEMERAL",
            )
        )
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    return {**env, **SECRETS, "PP__JOURNAL_DIR": str(journal), **(extra or {})}


def _cmd(base_url: str, reports: Path, *args: str) -> list[str]:
    return scenario_command(
        f"--base-url={base_url}",
        "--reference-target",  # a reference server: the clock scenarios run too
        f"--reports-dir={reports}",
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        *args,
    )


def _run(
    base_url: str, workdir: Path, journal: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, ET.Element]:
    reports = workdir / "reports"
    proc = subprocess.run(
        _cmd(base_url, reports, *args), cwd=ROOT, env=_env(journal, env), capture_output=True, text=True, timeout=600
    )
    junit = reports / "junit.xml"
    root = ET.parse(junit).getroot() if junit.exists() else ET.Element("none")
    return proc.returncode, proc.stdout + proc.stderr, root


def _links(base_url: str) -> list[dict]:
    """Every link and pending relink of every org of the server."""
    return [dict(link, org=org["name"]) for org in admin(base_url, "state")["orgs"] for link in org["links"]]


def _open_lines(journal: Path) -> dict[str, int]:
    """Per journal file, the number of open entries ("link" lines without a later "clean" line)."""
    out = {}
    for path in journal.rglob("*.jsonl"):
        open_: set[tuple] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            key = (rec.get("org"), json.dumps(rec.get("customer"), sort_keys=True), rec.get("program"))
            if rec.get("op") == "link":
                open_.add(key)
            elif rec.get("op") == "clean":
                open_.discard(key)
        out[str(path.relative_to(journal))] = len(open_)
    return out


def _assert_count_holds_every_request_but_the_probe(out: str, log: list[dict]) -> None:
    """The run's "N HTTP requests sent" counts every request the server logged during the run (the webhook's
    registration and disabling, token requests and cleanup included) except the reachability probe (GET /)."""
    sent = int(next(line for line in out.splitlines() if "HTTP requests sent to" in line).split()[1])
    probes = [e for e in log if e["path"] == "/"]
    webhooks = [e for e in log if e["path"] == "/v3/webHooks"]
    assert len(log) == sent + len(probes), (len(log), sent, len(probes), len(webhooks))


def _assert_green(code: int, out: str, junit: ET.Element) -> dict[str, int]:
    c = counts(junit)
    assert code == 0, out[-4000:]
    assert c["tests"] >= 70 and c["failures"] == 0 and c["errors"] == 0, c
    return c


def test_two_runs_in_a_row_against_one_server_are_green_and_leave_nothing(server: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    for n in (1, 2):
        before = len(admin(server, "requests")["requests"])
        code, out, junit = _run(server, tmp_path / f"run{n}", journal)
        c = _assert_green(code, out, junit)
        _assert_count_holds_every_request_but_the_probe(out, admin(server, "requests")["requests"][before:])
        assert c["skipped"] == 0, c
        assert _links(server) == [], f"run {n} left links on the server: {_links(server)[:5]}"
        assert not any(_open_lines(journal).values()), _open_lines(journal)
        assert list(journal.rglob("*.jsonl")) == [], "journal files whose entries are all closed are deleted"
        assert "journal of earlier runs" not in out, "nothing was left for the next run to clean"
        assert list(journal.rglob("*.run.json")) == [], "a finished run removes its live marker"
    state = admin(server, "state")
    assert sum(o["customers"] for o in state["orgs"]) > 0, "the runs did write to the server"


def _kill_mid_run(server: str, workdir: Path, journal: Path) -> None:
    """Start a run, wait until it has journaled a link that is on the server, SIGKILL its process group."""
    workdir.mkdir(parents=True, exist_ok=True)
    kill_run_when(
        _cmd(server, workdir / "reports"),
        ROOT,
        _env(journal),
        workdir / "output.txt",
        lambda: any(_open_lines(journal).values()) and bool(_links(server)),
        "it journaled a link",
    )


def test_a_killed_run_is_cleaned_up_by_the_next_run(server: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    left: list[dict] = []
    for attempt in range(3):  # the kill may land between a scenario's link and its own cleanup: retry
        _kill_mid_run(server, tmp_path / f"killed{attempt}", journal)
        left = _links(server)
        if left:
            break
    assert left, "three killed runs left no link on the server (each was killed after its cleanup)"
    assert any(_open_lines(journal).values()), "the killed run's journal holds open entries"
    markers = list(journal.rglob("*.run.json"))
    assert markers, "the killed run's live marker is still there (its pid is dead)"

    code, out, junit = _run(server, tmp_path / "next", journal)
    _assert_green(code, out, junit)
    assert "journal of earlier runs" in out, out[-3000:]
    summary = next(line for line in out.splitlines() if "journal of earlier runs" in line)
    assert "0 still left" in summary and " 0 cleaned" not in summary, summary
    assert _links(server) == [], _links(server)[:5]
    assert not any(_open_lines(journal).values()), _open_lines(journal)


def test_read_only_run_changes_nothing_on_the_server(server: str, tmp_path: Path) -> None:
    before = len(admin(server, "requests")["requests"])
    code, out, junit = _run(server, tmp_path, tmp_path / "journal", "--read-only", "-rs")
    assert code == 0, out[-4000:]
    c = counts(junit)
    assert c["failures"] == 0 and c["errors"] == 0, c
    assert c["skipped"] > c["tests"] / 2, c
    reasons = [s.get("message", "") for s in junit.iter("skipped")]
    assert len(reasons) == c["skipped"], reasons
    by_guard = [r for r in reasons if r.startswith("read-only run (--read-only was given")]  # names what did it
    assert len(by_guard) > c["tests"] / 2, set(reasons)
    # read-only scenarios that need an existing customer say which key would let them run
    rest = [r for r in reasons if r not in by_guard]
    assert all("writes are not allowed" in r and "customer_pool" in r for r in rest), set(rest)
    log = admin(server, "requests")["requests"][before:]
    assert log, "the read-only run sent requests"
    assert [e for e in log if e["changed"]] == []
    assert [e for e in log if e["method"] == "POST" and e["path"] == "/v2/customers"] == []
    assert _links(server) == [] and all(o["customers"] == 0 for o in admin(server, "state")["orgs"])
    _assert_count_holds_every_request_but_the_probe(out, log)


def test_check_config_against_the_server(server: str, tmp_path: Path) -> None:
    code, out, _ = _run(server, tmp_path / "ok", tmp_path / "journal", "--check-config")
    assert code == 0, out[-3000:]
    assert "no drift" in out
    assert "no drift" in (tmp_path / "ok" / "reports" / "drift.txt").read_text(encoding="utf-8")

    profile = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    profile["orgs"][0]["programs"]["external"]["tiers"] = ["Bronze", "Platinum"]
    profile["orgs"][1]["allow_membership_relinking"] = True
    path = tmp_path / "drifted.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    code, out, _ = _run(server, tmp_path / "drift", tmp_path / "journal", "--check-config", f"--profile={path}")
    assert code == EXIT_DRIFT, out[-3000:]
    drift_txt = (tmp_path / "drift" / "reports" / "drift.txt").read_text(encoding="utf-8")
    for text in (out, drift_txt):
        assert "orgs[relinking-enabled].programs.external.tiers" in text, text[-3000:]
        assert "orgs[relinking-disabled].allow_membership_relinking" in text, text[-3000:]
        assert "2 difference(s)" in text
    assert _links(server) == []
