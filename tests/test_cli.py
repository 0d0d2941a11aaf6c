"""The suite's interface as a user meets it: options with or without `=`, paths outside the checkout,
serial and under `-n 2`, the `pp-conformance` command from another directory, `--base-url` without a
profile, and `--check-config --write-profile`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from ppconformance.connection.profile import load_profile
from ppconformance.plugin.cli import EXTRA_VALUE_OPTIONS, SUITE_VALUE_OPTIONS, joined
from ppconformance.run.outcomes import EXIT_PROFILE_ERROR

from .test_suite_runs import ROOT, SECRETS, run_suite

SELECTION = ("-m", "auth")
"""A small selection of scenarios (authentication): enough to prove the run was configured, in seconds."""


def _env() -> dict[str, str]:
    env = {**os.environ, **SECRETS}
    for name in ("PYTEST_BASE_URL", "PYTEST_ADDOPTS", "PP_PROFILE"):
        env.pop(name, None)
    return env


def test_joined_writes_value_options_with_equals_and_leaves_the_rest():
    args = ["-q", "--profile", "/abs/org.yaml", "--reports-dir=/tmp/x", "-n", "2", "--", "--profile", "y"]
    assert joined(args, {"--profile", "--reports-dir"}) == [
        "-q",
        "--profile=/abs/org.yaml",
        "--reports-dir=/tmp/x",
        "-n",
        "2",
        "--",
        "--profile",
        "y",
    ]
    assert joined(["--profile"], {"--profile"}) == ["--profile"]  # pytest reports the missing value


def suite_help_section() -> str:
    """The "Partner Program conformance" option group of `pytest --help` in this repository."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:randomly"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return out.split("Partner Program conformance:", 1)[1].split("\n\n", 1)[0]


def test_the_value_options_list_matches_the_plugins_options():
    """`pp-conformance` joins with a static list; it must name every value option `pytest --help` shows."""
    section = suite_help_section()
    shown = set(re.findall(r"^\s{2}(--[a-z-]+)=", section, flags=re.M))
    assert shown, section
    assert shown == set(SUITE_VALUE_OPTIONS - EXTRA_VALUE_OPTIONS)


@pytest.mark.selftest_slow  # three whole suite runs, one under xdist
def test_options_with_a_space_and_paths_outside_the_checkout_serial_and_under_xdist(tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    profile = outside / "org.yaml"
    profile.write_text((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for label, extra in (("serial", ()), ("xdist", ("-n", "2"))):
        reports = outside / f"reports-{label}"
        reports.mkdir()  # exists before pytest starts: the case xdist workers used to trip over
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *SELECTION,
            "--profile",
            str(profile),
            "--reports-dir",
            str(reports),
            "--junitxml",
            str(reports / "junit.xml"),
            "--alluredir",
            str(reports / "allure"),
            *extra,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{label}: {out[-3000:]}"
        assert re.search(r"\b\d+ passed", out), out[-2000:]
        assert (reports / "effective-profile.json").exists(), f"{label}: --reports-dir not used"
        assert str(profile) in (reports / "effective-profile.json").read_text(encoding="utf-8")


def test_pp_conformance_runs_the_suite_from_any_directory(tmp_path: Path):
    script = Path(sysconfig.get_path("scripts")) / "pp-conformance"
    if not script.exists():
        pytest.skip(f"the console command is not installed beside this interpreter ({script})")
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [str(script), "-q", "-p", "no:cacheprovider", *SELECTION, "--reports-dir", str(reports)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert re.search(r"\b\d+ passed", out), out[-2000:]
    assert (reports / "effective-profile.json").exists()


def test_base_url_without_a_profile_says_what_a_profile_is(tmp_path: Path):
    env = {k: v for k, v in _env().items() if not k.startswith("PP_EMBEDDED_")}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--base-url", "http://127.0.0.1:9"),
            f"--reports-dir={tmp_path / 'reports'}",  # a self-test never writes to the checkout's reports/
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == EXIT_PROFILE_ERROR, out[-2000:]
    assert "without --profile" in out and "--write-profile" in out and "docs/profiles.md" in out, out[-2000:]


def test_check_config_writes_a_starter_profile_with_secret_references_only(tmp_path: Path):
    written = tmp_path / "starter.yaml"
    code, out, _ = run_suite(tmp_path, "--check-config", "--write-profile", str(written))
    assert code == 0, out[-3000:]
    assert f"starter profile written to {written}" in out
    text = written.read_text(encoding="utf-8")
    for value in SECRETS.values():
        assert value not in text
    assert "${PP_EMBEDDED_ENABLED_PASSWORD}" in text
    data = yaml.safe_load(text)
    assert data["orgs"][0]["programs"], text
    profile = load_profile(written, env=SECRETS)  # the starter profile is a valid profile
    assert profile.orgs[0].programs
