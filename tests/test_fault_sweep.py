"""Self-test: the suite catches faults. The mutation sweep (`python -m tools.sweep`) runs the whole
suite against every fault and every variant of the reference server (docs/fault-sweep.md) and must kill
every fault with a scenario tagged with the faulted requirement, and pass every variant.

A survived fault is a gap in the suite: close it with a scenario or an assertion, never by deleting the fault.
Each fault runs only the scenarios of its requirement, each variant everything; 113 runs with the default jobs
(CPU count + 1) took 165 s on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _listed(flag: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "ppreference", flag], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [json.loads(line)["name"] for line in out.splitlines() if line.strip()]


@pytest.mark.selftest_slow
@pytest.mark.timeout(3600)
def test_every_fault_is_killed_by_its_requirement_and_every_variant_is_green(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tools.sweep", f"--out={out}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3500,
    )
    wall = time.monotonic() - started
    output = proc.stdout + proc.stderr
    summary = [line for line in output.splitlines() if line.startswith("sweep:")]
    with capsys.disabled():
        print("\n" + "\n".join(summary) + f"\n(self-test wall time {wall:.0f} s)")

    matrix = json.loads((out / "kill-matrix.json").read_text(encoding="utf-8"))
    faults, variants = matrix["faults"], matrix["variants"]
    assert sorted(f["name"] for f in faults) == sorted(_listed("--list-faults"))
    assert sorted(v["name"] for v in variants) == sorted(_listed("--list-variants"))
    assert len(faults) >= 50

    survived = [
        f"{f['name']} ({f['requirement']}): failed {sorted(f['failed_requirements']) or 'nothing'}"
        for f in faults
        if f["verdict"] != "killed"
    ]
    assert not survived, "faults the suite does not catch (gaps in the suite):\n  " + "\n  ".join(survived)
    for fault in faults:  # killed by a failed or broken scenario tagged with the faulted requirement
        assert any(
            fault["requirement"] in f["requirements"] and f["status"] in ("failed", "broken") for f in fault["failures"]
        ), fault
        assert fault["exit_code"] in (1, 10), fault  # the run ended with a verdict, not a crash of the suite

    red = [
        f"{v['name']} ({v['ambiguity']}): exit {v['exit_code']}; "
        + "; ".join(f"{f['name']} {f['requirements']}: {f['message']}" for f in v["false_failures"])
        for v in variants
        if v["verdict"] != "green"
    ]
    assert not red, "variants the suite fails though the register allows them:\n  " + "\n  ".join(red)
    assert all(v["exit_code"] == 0 and not v["false_failures"] and v["results"] >= 70 for v in variants)

    assert proc.returncode == 0, output[-4000:]
    assert matrix["summary"]["killed"] == len(faults) and matrix["summary"]["green"] == len(variants)
    assert (out / "kill-matrix.md").read_text(encoding="utf-8").startswith("# Kill matrix")


def _allure(directory: Path, name: str, status: str, stories: list[str], tags: Sequence[str] = ()) -> None:
    labels = [{"name": "story", "value": s} for s in stories] + [{"name": "tag", "value": t} for t in tags]
    result = {"name": name, "status": status, "labels": labels, "statusDetails": {"message": f"[{name}] broke\nmore"}}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}-result.json").write_text(json.dumps(result), encoding="utf-8")


def test_verdicts_from_allure_results(tmp_path: Path) -> None:
    from tools.sweep import Case, _judge, write_matrix

    fault = Case("fault", "link-2006-as-2004", "LINK-2006", "unknown program answered 2004", "wrong-code")
    variant = Case("variant", "extra-fields", "AMB-EXTRA-FIELDS", "extra fields")
    run = tmp_path / "run"
    _allure(run / "allure-results", "passes", "passed", ["LINK-2006"])
    _allure(run / "allure-results", "other", "failed", ["LINK-2002"])
    survived = _judge(fault, 1, 3.0, run, "")
    assert survived.verdict == "survived" and survived.failed_requirements == {"LINK-2002": 1}
    assert "SURVIVED: no failed scenario tagged LINK-2006 (failed: LINK-2002)" in survived.line()
    assert _judge(variant, 1, 3.0, run, "").verdict == "red"

    _allure(run / "allure-results", "unknown program", "broken", [], tags=["LINK-2006", "read_only"])
    killed = _judge(fault, 1, 3.0, run, "")  # a broken test without story labels counts by its requirement tags
    assert killed.verdict == "killed" and killed.killed_by == ["unknown program"] and killed.results == 3
    assert killed.line() == "fault link-2006-as-2004: killed by LINK-2006 (2 scenarios failed) 3.0 s"

    green_run = tmp_path / "green"
    _allure(green_run / "allure-results", "passes", "passed", ["LINK-2006"])
    green = _judge(variant, 0, 2.0, green_run, "")
    assert green.verdict == "green" and _judge(variant, 10, 2.0, green_run, "").verdict == "red"

    head = write_matrix([killed, green, survived], tmp_path / "out", 9.0, 2)
    assert head["jobs"] == 2 and (head["faults"], head["killed"], head["survived"]) == (2, 1, ["link-2006-as-2004"])
    matrix = json.loads((tmp_path / "out" / "kill-matrix.json").read_text(encoding="utf-8"))
    assert (
        matrix["faults"][0]["requirement"] == "LINK-2006" and matrix["variants"][0]["ambiguity"] == "AMB-EXTRA-FIELDS"
    )
    assert "**SURVIVED**" in (tmp_path / "out" / "kill-matrix.md").read_text(encoding="utf-8")


def test_unknown_names_are_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tools.sweep", "--only", "no-such-fault", f"--out={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "unknown fault/variant name(s): no-such-fault" in proc.stderr
