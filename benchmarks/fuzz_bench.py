"""Benchmark: cases per second through the suite's fuzz stage vs a plain `schemathesis run`.

Same spec (schemas/openapi.yaml, the three Partner Program operations), same target (one reference
server started here), same credentials and the same number of generated cases per operation, in the
same run. Prints the figures; asserts nothing.

    python benchmarks/fuzz_bench.py [--max-examples 30] [--seed 1]

The suite's figure includes what it adds per case: deep generation (`Deepener`), journaling, the
batch-aware checks and allure; schemathesis' CLI runs its built-in checks plus the same custom checks
(SCHEMATHESIS_HOOKS=ppconformance.fuzz.checks), with schemathesis.toml. Both count every case sent.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ppconformance.connection.client import basic_auth_header  # noqa: E402
from ppconformance.connection.embedded import EMBEDDED_SECRET_VARS, start_reference_process  # noqa: E402

TILL = "conformance.enabled.till"  # profiles/embedded.yaml, org relinking-enabled


def fuzz_stage(base_url: str, env: dict[str, str], examples: int, seed: int, work: Path) -> tuple[int, float, float]:
    """(cases, seconds of the stage itself, wall seconds of the pytest process)."""
    env = {
        **env,
        "PP__FUZZ__MAX_EXAMPLES": str(examples),
        "PP__FUZZ__TIME_BUDGET_SECONDS": "3600",
        "PP__JOURNAL_DIR": str(work / "journal"),
    }
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "steps",
            "-m",
            "fuzz",
            "-k",
            "test_fuzz_bodies",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            f"--base-url={base_url}",
            f"--fuzz-seed={seed}",
            f"--reports-dir={work / 'suite'}",
            f"--alluredir={work / 'suite' / 'allure'}",
            f"--junitxml={work / 'suite' / 'junit.xml'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.monotonic() - started
    found = re.search(r"fuzz stage: .*?(\d+) cases sent in ([\d.]+) s", proc.stdout)
    if not found:
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        return 0, wall, wall
    return int(found.group(1)), float(found.group(2)), wall


def schemathesis_cli(
    base_url: str, env: dict[str, str], examples: int, seed: int, work: Path
) -> tuple[int, float, float]:
    """(cases, seconds reported by schemathesis for the run, wall seconds of the process)."""
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    env = {**env, "SCHEMATHESIS_HOOKS": "ppconformance.fuzz.checks"}
    auth = basic_auth_header(TILL, env["PP_EMBEDDED_ENABLED_PASSWORD"])
    started = time.monotonic()
    proc = subprocess.run(
        [
            schemathesis,
            "run",
            "schemas/openapi.yaml",
            f"--url={base_url}",
            "--include-path-regex=^/v2/partnerProgram/",
            f"--max-examples={examples}",
            "-H",
            f"Authorization: {auth}",
            f"--seed={seed}",
            "--checks=all",
            "--exclude-checks=negative_data_rejection,"
            "positive_data_acceptance,use_after_free,ensure_resource_availability,ignored_auth",
            "--phases=examples,coverage,fuzzing",
            "--no-color",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.monotonic() - started
    found = re.search(r"Test cases:\s*\n?\s*(\d+) generated", proc.stdout) or re.search(r"(\d+) generated", proc.stdout)
    if not found:
        print(proc.stdout[-3000:], proc.stderr[-2000:])
        return 0, wall, wall
    took = re.search(r"in ([\d.]+)s", proc.stdout.splitlines()[-1] if proc.stdout else "")
    return int(found.group(1)), float(took.group(1)) if took else wall, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_BASE_URL", "PP_RUN_ID", "PYTEST_ADDOPTS")}
    env.update({name: secrets.token_urlsafe(12) for name in EMBEDDED_SECRET_VARS})
    with tempfile.TemporaryDirectory(prefix="fuzz-bench-") as tmp:
        work = Path(tmp)
        server = start_reference_process(work / "reference.log", env=env)
        try:
            suite = fuzz_stage(server.base_url, env, args.max_examples, args.seed, work)
            cli = schemathesis_cli(server.base_url, env, args.max_examples, args.seed, work)
        finally:
            server.stop()
    print(
        f"fuzz benchmark: max_examples {args.max_examples} per operation, seed {args.seed}, 3 operations, "
        f"reference server at one loopback port"
    )
    for name, (cases, seconds, wall) in (("suite fuzz stage (pytest -m fuzz)", suite), ("schemathesis run (CLI)", cli)):
        rate = cases / seconds if seconds else 0.0
        print(
            f"  {name:36s} {cases:6d} cases in {seconds:7.1f} s = {rate:7.1f} cases/s "
            f"(process wall time {wall:.1f} s, start-up and provisioning included)"
        )


if __name__ == "__main__":
    main()
