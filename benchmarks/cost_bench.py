"""Benchmark: the cost of a verdict. One invocation against reference servers started here prints a table; it
asserts nothing and is not part of any test run.

    python benchmarks/cost_bench.py [--runs 3] [--latency-ms 0,50] [--no-sweep] [--no-fuzz] [--sweep-args ARGS]
    python benchmarks/cost_bench.py --staging-like [--workers 2] [--reference-args ARGS]

Figures, each from the command it names:

- **requests**: a full scenario run (`pytest steps -m "not fuzz"`, the README's command 1 without the fuzz stage)
  against a fresh reference server, with `--evidence` so every request is recorded per scenario: requests per
  scenario (mean, max), by endpoint, and the run's total (the suite's own count: scenarios, preflight and cleanup);
- **time**: the same run without `--evidence`, `--runs` times: the process's wall time and the scenario run time
  (the sum of the scenarios' JUnit durations: setup, steps and teardown), next to the **floor**: a bare httpx
  replay of the recorded request sequence (one `httpx.Client`, same order, same bodies, credentials filled in)
  against another fresh reference server; the ratio is scenario time / replay time (medians). Each latency of
  `--latency-ms` is measured: 0 is loopback (an answer in about a millisecond: the suite's own per-scenario work
  weighs most), 50 a staging org's network and processing (`python -m ppreference --latency-ms 50`);
- **fuzz**: cases/s of the fuzz stage next to plain `schemathesis run` (`benchmarks/fuzz_bench.py`);
- **sweep**: `python -m tools.sweep` (every fault and variant) wall time and runs, from its summary;
- **memory**: the peak resident set of the suite's pytest process and of the reference server.

With `--staging-like` it prints only the **staging-like** figures, about 4 minutes: one full scenario run (fuzz off)
as against a staging org: the reference server answers after 50 ms and refuses more than 100 requests a minute per
org (HTTP 429), the profile paces the suite at `rate_limit_per_minute: 100`, and the webhook scenarios keep the
default windows of a real target (`WebhookSettings`: delivery deadline 10 s, quiet period 2 s, retry window 60 s),
not the embedded profile's short ones. Its floor is the run's requests / the rate limit (355 requests at 100 a
minute: 213 s); the figures are the wall time against it (target: at most 1.15 x floor + 15 s), the 429s the
server answered, and the slowest scenarios. `--workers N` runs it on N xdist workers (default 2), 0 serially.

The requests the recorded traffic does not hold (the preflight's discovery, the webhook registration, the sink's
polls and the reference clock) are not replayed: the floor is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fuzz_bench import fuzz_stage, schemathesis_cli  # noqa: E402

from ppconformance.connection.client import basic_auth_header  # noqa: E402
from ppconformance.connection.embedded import EMBEDDED_SECRET_VARS, embedded_credentials, start_reference_process  # noqa: E402
from ppconformance.connection.profile import WebhookSettings  # noqa: E402

BASIC_TILL = "conformance.enabled.till"  # profiles/embedded.yaml: the org with Basic auth
ENDPOINTS = {
    "v2/customers": "POST /v2/customers",
    "v2/customers/{id}/loyaltyDetails": "GET loyaltyDetails",
    "v2/partnerProgram/linkCustomer": "linkCustomer",
    "v2/partnerProgram/customerPartnerProgramUpdate": "customerPartnerProgramUpdate",
    "v2/partnerProgram/deLinkCustomer": "deLinkCustomer",
    "v3/oauth/token/generate": "OAuth token",
}


def _env(secret_values: dict[str, str], work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PP_", "PYTEST_"))}
    env.update(secret_values)
    env["PP__JOURNAL_DIR"] = str(work / "journal")
    return env


_PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)
"""A wrapper printing the peak resident set of the one command it runs (pytest)."""


def _vm_hwm(pid: int) -> int:
    """Peak resident set (KiB) of a running process, from /proc (0 where there is none)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    found = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(found.group(1)) if found else 0


def suite_run(
    env: dict[str, str],
    work: Path,
    *,
    evidence: bool,
    latency_ms: int = 0,
    suite: Path = ROOT,
    server_args: Sequence[str] = (),
    pytest_args: Sequence[str] = (),
) -> dict[str, Any]:
    """One full scenario run of the suite checked out at `suite` against a fresh reference server (this checkout's,
    answering after `latency_ms`, started with `server_args`; pytest given `pytest_args` too): wall s, scenario s
    (JUnit), requests, peak RSS (KiB) of pytest and of the server, the traffic file when `evidence`, each scenario's
    JUnit (name, s) in `cases`, and the statuses the server answered (its request log) in `statuses`."""
    work.mkdir(parents=True, exist_ok=True)
    latency = [f"--latency-ms={latency_ms}"] if latency_ms else []
    server = start_reference_process(work / "reference.log", args=[*latency, *server_args], env=env)
    if suite != ROOT:
        env = {**env, "PYTHONPATH": str(suite / "src")}
    cmd = [
        sys.executable, "-c", _PEAK,
        sys.executable, "-m", "pytest", "steps", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
        "-m", "not fuzz", f"--base-url={server.base_url}", "--reference-target", f"--reports-dir={work}",
        f"--alluredir={work / 'allure'}", f"--junitxml={work / 'junit.xml'}",
    ]  # fmt: skip
    if evidence:
        cmd.append(f"--evidence={work / 'evidence'}")
    cmd += pytest_args
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - started
        server_rss = _vm_hwm(server.process.pid)
        log = httpx.get(f"{server.base_url}/__reference__/requests", timeout=30).json()
    finally:
        server.stop()
    peak = re.search(r"peak-rss-kib (\d+)", proc.stdout)
    pytest_rss = int(peak.group(1)) if peak else 0
    if proc.returncode != 0:
        raise SystemExit(f"the suite run failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    sent = re.search(r"partner-program: (\d+) HTTP requests sent", proc.stdout)
    junit = ET.parse(work / "junit.xml").getroot()
    cases = [(c.get("name", ""), float(c.get("time", 0))) for c in junit.iter("testcase")]
    return {
        "wall": wall,
        "scenarios": sum(seconds for _, seconds in cases),
        "cases": cases,
        "statuses": Counter(int(entry["status"]) for entry in log["requests"]),
        "requests": int(sent.group(1)) if sent else 0,
        "pytest_rss": pytest_rss,
        "server_rss": server_rss,
        "traffic": work / "traffic" / "main.jsonl",
    }


def _endpoint(url: str) -> str:
    path = re.sub(r"/\d+/", "/{id}/", url.split("?", 1)[0]).split("://", 1)[1].split("/", 1)[1]
    return ENDPOINTS.get(path, path)


def traffic_figures(path: Path) -> tuple[list[dict[str, Any]], dict[str, Counter[str]]]:
    """(the recorded exchanges in order, requests per scenario by endpoint)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        per[row["scenario"]][_endpoint(row["url"])] += 1
    return rows, per


def replay(
    rows: list[dict[str, Any]], secret_values: dict[str, str], work: Path, latency_ms: int = 0
) -> tuple[float, int]:
    """(seconds a bare httpx client takes to send the recorded requests, in order, to a fresh reference server,
    with the credentials the recording redacted filled in again; how many answers had another status than the
    recorded one: 0 when the replay redid the run's work)."""
    env = _env(secret_values, work)
    latency = [f"--latency-ms={latency_ms}"] if latency_ms else []
    server = start_reference_process(work / "replay-reference.log", args=latency, env=env)
    basic = basic_auth_header(BASIC_TILL, secret_values["PP_EMBEDDED_ENABLED_PASSWORD"])
    oauth_body = {
        "key": secret_values["PP_EMBEDDED_DISABLED_OAUTH_KEY"],
        "secret": secret_values["PP_EMBEDDED_DISABLED_OAUTH_SECRET"],
    }
    token = ""
    differ = 0
    ids: dict[str, str] = {}  # customer ids of the recording -> of the replay (the preflight registered others)
    number = re.compile(r"(?<![\d.])(\d{6,})(?![\d.])")
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            started = time.monotonic()
            for row in rows:
                path = "/" + row["url"].split("://", 1)[1].split("/", 1)[1]
                path = number.sub(lambda m: ids.get(m.group(1), m.group(1)), path)
                headers = {k: v for k, v in row["request_headers"].items() if v != "***"}
                body: Any = row.get("request_body")
                if isinstance(body, str):
                    body = number.sub(lambda m: ids.get(m.group(1), m.group(1)), body)
                if "Authorization" in row["request_headers"]:  # a 401 was sent wrong credentials on purpose
                    headers["Authorization"] = basic if row["status"] != 401 else "Basic d3Jvbmc6Y3JlZGVudGlhbHM="
                for name in row["request_headers"]:
                    if name.lower().startswith(("x-cap-api-oauth-token", "cap-api-access-token")):
                        headers[name] = token
                if path.startswith("/v3/oauth/token/generate"):
                    body = json.dumps(oauth_body)
                answer = http.request(row["method"], path, headers=headers, content=body)
                differ += answer.status_code != row["status"]
                if path.startswith("/v3/oauth/token/generate") and answer.status_code == 200:
                    token = answer.json()["data"]["accessToken"]
                if path.startswith("/v2/customers?") and answer.status_code == 200:
                    ids[str(json.loads(row["response_text"])["createdId"])] = str(answer.json()["createdId"])
            return time.monotonic() - started, differ
    finally:
        server.stop()


def sweep(args: str) -> tuple[float, int, str]:
    """(wall seconds, runs, summary line) of `python -m tools.sweep ARGS`."""
    with tempfile.TemporaryDirectory(prefix="cost-bench-sweep-") as tmp:
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "tools.sweep", *args.split(), f"--out={tmp}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=7200,
        )
        wall = time.monotonic() - started
        runs = len(re.findall(r"^\[\d+/\d+\]", proc.stdout, re.M))
        summary = next((line for line in proc.stdout.splitlines() if line.startswith("sweep: faults killed")), "")
        return wall, runs, summary


STAGING_RATE = 100
"""Requests per minute of the staging-like mode: what Capillary documents per key on demo and test clusters."""
STAGING_LATENCY_MS = 50


def staging_env(secret_values: dict[str, str], work: Path) -> dict[str, str]:
    """The environment of a staging-like run: the embedded profile with `rate_limit_per_minute` `STAGING_RATE` and
    the webhook windows of a real target (the defaults of `WebhookSettings`, not the embedded profile's short
    ones), as `PP__` overrides."""
    defaults = WebhookSettings()
    return {
        **_env(secret_values, work),
        "PP__RATE_LIMIT_PER_MINUTE": str(STAGING_RATE),
        "PP__WEBHOOKS__DELIVERY_DEADLINE_SECONDS": str(defaults.delivery_deadline_seconds),
        "PP__WEBHOOKS__QUIET_PERIOD_SECONDS": str(defaults.quiet_period_seconds),
        "PP__WEBHOOKS__RETRY_WINDOW_SECONDS": str(defaults.retry_window_seconds),
    }


def staging_like(
    secret_values: dict[str, str], work: Path, workers: int, suite: Path, reference_args: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """The staging-like figures: one full scenario run (fuzz off, webhook scenarios with the default windows) on
    `workers` xdist workers (0: serial) against a reference server answering after `STAGING_LATENCY_MS` and
    limiting each org to `STAGING_RATE` requests a minute (and given `reference_args`), the profile pacing the suite
    at `STAGING_RATE`: its wall time against its floor, requests / rate limit
    (`python benchmarks/cost_bench.py --staging-like`)."""
    parallel = ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    run = suite_run(
        staging_env(secret_values, work),
        work,
        evidence=False,
        latency_ms=STAGING_LATENCY_MS,
        suite=suite,
        server_args=[f"--rate-limit-per-minute={STAGING_RATE}", *reference_args],
        pytest_args=parallel,
    )
    floor = run["requests"] * 60 / STAGING_RATE
    target = 1.15 * floor + 15
    slowest = sorted(run["cases"], key=lambda case: -case[1])[:3]
    return [
        ("staging-like: tests (fuzz off) / xdist workers", f"{len(run['cases'])} / {workers or 'none (serial)'}"),
        ("staging-like: reference server's extra arguments", " ".join(reference_args) or "none"),
        ("staging-like: requests of the run (suite's count)", f"{run['requests']}"),
        ("staging-like: answers 429 from the target (over its 100/min)", f"{run['statuses'].get(429, 0)}"),
        (f"staging-like: floor, requests / {STAGING_RATE} per minute", f"{floor:.1f} s"),
        ("staging-like: run wall time (pytest process)", f"{run['wall']:.1f} s ({run['wall'] / floor:.2f}x the floor)"),
        (
            "staging-like: target 1.15 x floor + 15 s",
            f"{target:.1f} s ({'met' if run['wall'] <= target else 'missed'})",
        ),
        ("staging-like: scenario run time (JUnit sum)", f"{run['scenarios']:.1f} s"),
        ("staging-like: slowest scenarios (JUnit)", "; ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest)),
    ]


def _say(what: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"cost_bench: {what} ...", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed suite runs and replays (medians; default 3)")
    parser.add_argument(
        "--latency-ms", default="0,50", help="the reference server's answer latencies to time, comma-separated"
    )
    parser.add_argument("--no-sweep", action="store_true", help="leave out the fault sweep (about 3 minutes)")
    parser.add_argument("--no-fuzz", action="store_true", help="leave out the fuzz-stage comparison")
    parser.add_argument("--sweep-args", default="", help="arguments of tools.sweep (default: none, its defaults)")
    parser.add_argument(
        "--suite-root",
        type=Path,
        default=ROOT,
        help="time the suite of another checkout (e.g. a git worktree of an earlier commit) against this one's "
        "reference server; its fuzz and sweep figures are this checkout's",
    )
    parser.add_argument("--fuzz-examples", type=int, default=30, help="max examples per operation (fuzz_bench)")
    parser.add_argument(
        "--staging-like",
        action="store_true",
        help=f"only the staging-like figures: one full run (fuzz off) at {STAGING_RATE} requests/minute, "
        f"{STAGING_LATENCY_MS} ms latency, the default webhook windows; its wall time against requests / rate "
        "(about 4 minutes)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="xdist workers of the staging-like run (-n; default 2, as docs/webhooks.md advises; 0: serial)",
    )
    parser.add_argument(
        "--reference-args",
        default="",
        help="more arguments of the staging-like run's reference server, e.g. '--fault=webhook-no-retry-429' (a "
        "target that never retries a 429: the retry scenario waits out its whole 60 s window too)",
    )
    args = parser.parse_args(argv)
    secret_values = embedded_credentials({})
    assert set(secret_values) == set(EMBEDDED_SECRET_VARS)
    lines: list[tuple[str, str]] = []
    if args.staging_like:
        with tempfile.TemporaryDirectory(prefix="cost-bench-staging-") as tmp:
            _say(f"a staging-like run ({STAGING_RATE}/min, {STAGING_LATENCY_MS} ms, default webhook windows)")
            lines = staging_like(secret_values, Path(tmp), args.workers, args.suite_root, args.reference_args.split())
        _print(lines)
        return 0
    with tempfile.TemporaryDirectory(prefix="cost-bench-") as tmp:
        work = Path(tmp)
        _say("recording a full scenario run (--evidence)")
        recorded = suite_run(_env(secret_values, work / "rec"), work / "rec", evidence=True, suite=args.suite_root)
        rows, per = traffic_figures(recorded["traffic"])
        counts = [sum(c.values()) for name, c in per.items() if not name.startswith("cleanup")]
        by_endpoint: Counter[str] = Counter()
        for c in per.values():
            by_endpoint.update(c)
        lines.append(("scenarios (fuzz off)", f"{len(counts)}"))
        lines.append(("requests of a full run (suite's count)", f"{recorded['requests']}"))
        lines.append(("requests per scenario: mean / max", f"{statistics.mean(counts):.2f} / {max(counts)}"))
        for name, n in by_endpoint.most_common():
            lines.append((f"  by endpoint: {name}", f"{n} ({n / len(counts):.2f} per scenario)"))
        for ms in [int(v) for v in args.latency_ms.split(",") if v.strip()]:
            at = f"latency {ms} ms"
            _say(f"{at}: {args.runs} timed runs and {args.runs} replays")
            runs = [
                suite_run(
                    _env(secret_values, work / f"t{ms}-{i}"),
                    work / f"t{ms}-{i}",
                    evidence=False,
                    latency_ms=ms,
                    suite=args.suite_root,
                )
                for i in range(args.runs)
            ]
            replays = [replay(rows, secret_values, work / f"r{ms}-{i}", ms) for i in range(args.runs)]
            wall = statistics.median(r["wall"] for r in runs)
            scenario = statistics.median(r["scenarios"] for r in runs)
            floor = statistics.median(seconds for seconds, _ in replays)
            differ = max(d for _, d in replays)
            lines.append((f"{at}: run wall time (pytest process, median)", f"{wall:.2f} s"))
            lines.append((f"{at}: scenario run time (JUnit sum, median)", f"{scenario:.2f} s"))
            lines.append(
                (
                    f"{at}: bare httpx replay of the {len(rows)} recorded requests (median)",
                    f"{floor:.2f} s ({differ} answers with another status than recorded)",
                )
            )
            lines.append((f"{at}: ratio scenario time / replay", f"{scenario / floor:.2f}x"))
            lines.append((f"{at}: ratio run wall time / replay", f"{wall / floor:.2f}x"))
            if ms == 0:
                rss = f"{runs[0]['pytest_rss'] // 1024} MiB / {runs[0]['server_rss'] // 1024} MiB"
                lines.append(("peak RSS: pytest / reference server", rss))
        if not args.no_fuzz:
            _say("fuzz stage vs plain schemathesis run")
            fuzz_env = {**_env(secret_values, work / "fuzz"), "PYTEST_ADDOPTS": ""}
            server = start_reference_process(work / "fuzz-reference.log", env=fuzz_env)
            try:
                (work / "fuzz").mkdir(parents=True, exist_ok=True)
                stage = fuzz_stage(server.base_url, fuzz_env, args.fuzz_examples, 1, work / "fuzz")
                cli = schemathesis_cli(server.base_url, fuzz_env, args.fuzz_examples, 1, work / "fuzz")
            finally:
                server.stop()
            for name, (cases, seconds, _) in (("fuzz stage", stage), ("plain schemathesis run", cli)):
                lines.append(
                    (f"{name}: cases/s", f"{cases / seconds if seconds else 0:.1f} ({cases} cases in {seconds:.1f} s)")
                )
    if not args.no_sweep:
        _say("the fault sweep (about 3 minutes)")
        seconds, count, summary = sweep(args.sweep_args)
        lines.append(
            (
                f"fault sweep (python -m tools.sweep {args.sweep_args})".replace(" )", ")"),
                f"{seconds:.0f} s, {count} runs; {summary.removeprefix('sweep: ').split('; /')[0]}",
            )
        )
    _print(lines)
    return 0


def _print(lines: list[tuple[str, str]]) -> None:
    """The figures as a Markdown table on stdout."""
    width = max(len(k) for k, _ in lines)
    print(f"cost of a verdict: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"| {'figure'.ljust(width)} | value |")
    print(f"| {'-' * width} | --- |")
    for key, value in lines:
        print(f"| {key.ljust(width)} | {value} |")


if __name__ == "__main__":
    sys.exit(main())
