"""The suite is inert unless asked (issue 22, items 1 and 2): installing the package changes no other pytest run,
and only a conformance run writes reports: `pytest tests`, `--help` and `--collect-only` leave `reports/` as it was,
and `npm run allure:report` refuses a results folder without a test result."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ppconformance.plugin.cli import HELP

from .test_cli import suite_help_section
from .test_suite_runs import ROOT

QUIET_ENV = ("PYTEST_BASE_URL", "PYTEST_ADDOPTS", "PP_PROFILE")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in QUIET_ENV and not k.startswith("PP__")}


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder`: its modification time (ns) and content."""
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("extra", [(), ("--base-url=http://127.0.0.1:9",)], ids=["plain", "own-base-url"])
def test_another_project_in_the_same_environment_runs_as_if_the_package_were_not_installed(
    tmp_path: Path, extra: tuple[str, ...]
):
    """A one-test project (with, in the second case, a `--base-url` of its own for pytest-base-url): no reference
    server, no HTTP, no webhook sink, no report, no journal; its pytest output names nothing of the suite."""
    project = tmp_path / "other-project"
    project.mkdir()
    (project / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    proc = _pytest(project, "-q", *extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "1 passed" in out, out[-2000:]
    assert "partner-program" not in out and "HTTP requests" not in out, out[-2000:]
    left = sorted(p.name for p in project.iterdir() if p.name != "__pycache__")
    assert left == ["test_one.py"], f"the run wrote {left} into the other project"


def test_help_collect_only_and_the_self_tests_leave_the_reports_as_they_were(tmp_path: Path):
    """Run from a directory whose ./reports holds a finished run's reports (the default folder): `--help`,
    `--collect-only` and a run of the project's own tests write and clear nothing there, nor in the checkout's
    reports/."""
    reports = tmp_path / "reports"
    (reports / "allure-results").mkdir(parents=True)
    (reports / "allure-results" / "0-result.json").write_text('{"status": "passed"}', encoding="utf-8")
    for name in ("junit.xml", "conformance.json", "webhook-deliveries.jsonl"):
        (reports / name).write_text(f"{name} of the last conformance run\n", encoding="utf-8")
    before, checkout_before = _snapshot(reports), _snapshot(ROOT / "reports")
    config = (f"--rootdir={ROOT}", f"--config-file={ROOT / 'pyproject.toml'}")
    for args in (("--help",), ("--collect-only", "-q", str(ROOT / "steps")), (str(ROOT / "tests" / "test_bodies.py"),)):
        proc = _pytest(tmp_path, *config, *args)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{args}: {out[-2000:]}"
        assert "HTTP requests sent" not in out and "partner-program report" not in out, f"{args}: {out[-2000:]}"
        assert _snapshot(reports) == before, f"{args} changed {reports}"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".hypothesis") == ["reports"]  # hypothesis' own
    assert _snapshot(ROOT / "reports") == checkout_before


def test_the_allure_report_refuses_a_results_folder_without_results(tmp_path: Path):
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "node_modules" / "allure").is_dir():
        pytest.skip("npm and the npm packages (npm ci) are needed")
    empty = tmp_path / "allure-results"
    empty.mkdir()
    proc = subprocess.run(
        [npm, "run", "-s", "allure:report"],
        cwd=ROOT,
        env={**os.environ, "PP_ALLURE_RESULTS": str(empty), "PP_ALLURE_REPORT": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "holds no test result (empty)" in proc.stderr, proc.stdout + proc.stderr
    assert not (tmp_path / "out").exists()


def test_the_console_command_has_its_own_short_help_naming_every_option():
    """`pp-conformance --help`: the suite's options (every one `pytest --help` lists in its group), the exit
    codes, where the reports go and one example per use, in under 60 lines; pytest's behind --pytest-help."""
    section = suite_help_section()
    options = {line.split()[0].split("=")[0] for line in section.splitlines() if line.startswith("  --")}
    assert len(options) >= 15, section
    missing = sorted(o for o in options if o not in HELP)
    assert not missing, f"pp-conformance --help does not name {missing}"
    assert len(HELP.splitlines()) < 60
    for needed in ("Exit codes:", "./reports", "--pytest-help", "CI gate", "vendor acceptance", "configuration"):
        assert needed in HELP, needed
