"""The CI templates of docs/ci/ parse, publish what the README promises, hold no secret value, and run only
commands the README documents (issue 13, item 7)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
_COMMAND = re.compile(r"^(pytest|python3?|pip|npm|\. \.venv)\b")
_SECRET_NAMES = ("CAP_TILL_PASSWORD", "CAP_OAUTH_KEY", "CAP_OAUTH_SECRET")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def _commands(scripts: list[str]) -> list[str]:
    """Every suite command of `scripts` (run: blocks / script lines), split into lines and on `&&`."""
    out = []
    for script in scripts:
        for line in script.splitlines():
            for part in line.split("&&"):
                part = " ".join(part.split())
                if _COMMAND.match(part):
                    out.append(part)
    return out


def _github_steps() -> list[dict[str, Any]]:
    jobs = _load(GITHUB)["jobs"]
    assert len(jobs) == 1, f"{GITHUB.name}: one job expected, found {list(jobs)}"
    steps = next(iter(jobs.values()))["steps"]
    assert isinstance(steps, list) and steps, f"{GITHUB.name}: the job has no steps"
    return steps


def _gitlab_job() -> dict[str, Any]:
    jobs = {k: v for k, v in _load(GITLAB).items() if isinstance(v, dict) and "script" in v}
    assert len(jobs) == 1, f"{GITLAB.name}: one job with a script expected, found {list(jobs)}"
    return next(iter(jobs.values()))


def test_the_github_workflow_runs_the_gate_and_publishes_every_report() -> None:
    data = _load(GITHUB)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads the key `on` as True
    assert triggers and "pull_request" in triggers and "schedule" in triggers, f"{GITHUB.name}: triggers {triggers}"
    steps = _github_steps()
    runs = [s.get("run", "") for s in steps]
    gate = next((s for s in steps if "pytest --profile" in s.get("run", "")), None)
    assert gate is not None, f"{GITHUB.name}: no step runs the gate (pytest --profile …)"
    assert "exit" in gate["run"] and gate.get("continue-on-error") is not True, "the gate's exit code is the job's"
    assert any("conformance.md" in r and "GITHUB_STEP_SUMMARY" in r for r in runs), "no job summary step"
    junit = [s for s in steps if "junit" in str(s.get("uses", "")) or "test-reporter" in str(s.get("uses", ""))]
    assert junit and "reports/junit.xml" in str(junit[0].get("with", {})), f"{GITHUB.name}: JUnit not published"
    upload = next((s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")), None)
    assert upload is not None and upload.get("if") == "always()", f"{GITHUB.name}: no upload-artifact if: always()"
    paths = upload["with"]["path"]
    for wanted in (
        "reports/conformance.html",
        "reports/allure-report/",
        "reports/evidence.tar.gz",
        "reports/junit.xml",
    ):
        assert wanted in paths, f"{GITHUB.name}: the artifact lacks {wanted}"
    assert any("npm run allure:report" in r for r in runs), f"{GITHUB.name}: the allure HTML is not rendered"
    for s in steps:
        for name, value in (s.get("env") or {}).items():
            if name in _SECRET_NAMES:
                assert value == f"${{{{ secrets.{name} }}}}", f"{GITHUB.name}: {name} must come from secrets"


def test_the_gitlab_job_runs_the_gate_and_keeps_every_report() -> None:
    job = _gitlab_job()
    assert any("pytest --profile" in line for line in job["script"]), f"{GITLAB.name}: no gate in script"
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always", f"{GITLAB.name}: artifacts must be kept for a failing gate"
    assert artifacts["reports"]["junit"] == "reports/junit.xml", f"{GITLAB.name}: JUnit not in the test view"
    for wanted in ("reports/conformance.md", "reports/conformance.html", "reports/allure-report/"):
        assert wanted in artifacts["paths"], f"{GITLAB.name}: the artifact lacks {wanted}"
    assert not any(name in (_load(GITLAB).get("variables") or {}) for name in _SECRET_NAMES), "secret in variables:"


@pytest.mark.parametrize("template", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_no_secret_value_is_written_in_a_template(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    for name in _SECRET_NAMES:
        for m in re.finditer(rf"{name}\s*[:=]\s*(\S+)", text):
            value = m.group(1)
            assert value.startswith(("${{", "$")), f"{template.name}: {name} is given a literal value {value!r}"


@pytest.mark.parametrize("template", [GITHUB, GITLAB], ids=lambda p: p.name)
def test_every_command_a_template_runs_is_in_the_readme(template: Path) -> None:
    if template == GITHUB:
        scripts = [s.get("run", "") for s in _github_steps()]
    else:
        job = _gitlab_job()
        scripts = [*job.get("before_script", []), *job["script"], *job.get("after_script", [])]
    commands = _commands(scripts)
    assert any(c.startswith("pytest --profile") for c in commands), f"{template.name}: no gate command found"
    for command in commands:
        assert command in README, f"{template.name} runs `{command}`, which README.md does not document"
