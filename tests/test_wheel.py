"""Installed as a tool (issue 22, item 3): the built wheel, installed in a fresh virtual environment, runs the whole
suite against the embedded server from a directory that is not a checkout, and its reports land in ./reports there.

Slow (a wheel build, a fresh environment's install from the package index or pip's cache, a whole suite run): in
`pytest tests -m selftest_slow`. The wheel is built from a copy of the working tree (without .git, virtual
environments, node_modules or reports), so the test sees what a clean clone would build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from .test_suite_runs import DROPPED_ENV, ROOT

LEFT_OUT: tuple[str, ...] = (".git", ".venv", "venv", "node_modules", "reports", "build", "dist", "*.egg-info")
LEFT_OUT += (
    "__pycache__",
    ".pp-journal",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".schemathesis",
)


def _run(
    cmd: list[str], cwd: Path, timeout: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.selftest_slow
def test_the_wheel_in_a_fresh_environment_runs_the_whole_suite_from_any_directory(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT), symlinks=True)
    dist = tmp_path / "dist"
    started = time.monotonic()
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], tmp_path, 600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = next(dist.glob("partner_program_conformance-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python, tool = env_dir / "bin" / "python", env_dir / "bin" / "pp-conformance"
    installed = _run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], tmp_path, 900
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    install_seconds = time.monotonic() - started

    where = _run(
        [str(python), "-c", "from ppconformance import resources as r; print(r.checkout(), r.suite_root())"],
        tmp_path,
        60,
    )
    checkout, root = where.stdout.split()
    assert checkout == "None" and root.endswith("ppconformance/suite"), where.stdout + where.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV) and k != "VIRTUAL_ENV"}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    short = _run([str(tool), "--help"], elsewhere, 60, env)
    assert short.returncode == 0 and "Exit codes:" in short.stdout and len(short.stdout.splitlines()) < 60

    started = time.monotonic()
    run = _run([str(tool), "-q"], elsewhere, 900, env)
    run_seconds = time.monotonic() - started
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    reports = elsewhere / "reports"
    report = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "conforms" and report["tests"]["total"] >= 90, report["tests"]
    assert (reports / "junit.xml").is_file() and any((reports / "allure-results").glob("*-result.json"))
    left = sorted(p.name for p in elsewhere.iterdir())  # hypothesis' cache goes to the temporary directory
    assert left == [".pp-journal", "reports"], left
    print(
        f"wheel: build and install {install_seconds:.0f} s; pp-conformance from another directory: exit 0 in "
        f"{run_seconds:.0f} s"
    )
