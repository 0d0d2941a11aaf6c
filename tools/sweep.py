"""Mutation sweep: run the suite against every fault and every variant of the reference server.

    python -m tools.sweep [--faults-only | --variants-only] [--only NAME[,NAME...]] [--full]
                                  [--jobs N] [--out DIR] [--timeout SECONDS]

A *fault* (`python -m ppreference --list-faults`) is one deviation from one
catalogue requirement; a *variant* (`--list-variants`) is a behaviour the
ambiguity register allows. Each run is a reference server subprocess
(`python -m ppreference --port <free> --fault NAME`, or `--variant NAME`) and
the suite in its default stance against it (`python -m pytest steps ...
--base-url URL`), with its own reports directory and journal (`PP__JOURNAL_DIR`), in parallel over `--jobs`
processes (default: the CPU count). Both sides get the same freshly generated org secrets, as the
embedded run does (`ppconformance.connection.embedded.EMBEDDED_SECRET_VARS`).

What each run executes, as mutation tools run only the tests that cover a mutant:

- a **fault** runs only the scenarios tagged with its requirement (`-m REQUIREMENT`), or with the marker
  expression its `select` names (a fault of the stored state, which the state oracle names in scenarios tagged
  otherwise), plus the preflight; a fault listed with `"stage": "fuzz"` runs the fuzz stage alone (`-m fuzz`);
  `--full` (a nightly run) gives every fault the whole scenario suite (`-m "not fuzz"`) instead;
- a **variant** runs everything, the fuzz stage included (seed `VARIANT_FUZZ_SEED`; `VARIANT_FUZZ_EXAMPLES`
  generated bodies per operation besides the coverage phase's cases, the default 20 with `--full`): a conforming
  alternative must pass the whole suite.

Verdicts, from the run's allure results (`<run>/allure-results/*-result.json`):

- a fault is **killed** when a result with status failed or broken carries
  the fault's requirement id (its allure `story` labels, or for a test that
  broke before its scenario started, its tags); otherwise it **survived**,
  which is a gap in the suite;
- a variant is **green** when the run exits 0 with no failed or broken
  result; otherwise every failed or broken result is a *false failure*.

Writes `<out>/kill-matrix.json` and `<out>/kill-matrix.md` (default out:
`reports/sweep`; each run's reports under `<out>/runs/<fault|variant>-<name>/`),
prints one progress line per run and a summary. Exit status 0 when every
fault was killed and every variant is green, 1 otherwise, 2 on a usage error.

The sweep is a harness: it starts the reference server as a subprocess and
reads only its command line output; like the rest of `ppconformance` it
never imports `ppreference`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ppconformance.connection.client import TargetUnreachable, plain_request
from ppconformance.connection.embedded import (
    EMBEDDED_SECRET_VARS,
    EmbeddedServer,
    EmbeddedServerError,
    start_reference_process,
)
from ppconformance.judge.readings import shows

__all__ = ["Case", "RunResult", "load_cases", "main", "run_case", "write_matrix"]

ROOT = Path(__file__).resolve().parents[1]
FAILING = ("failed", "broken")
# pytest plugins the scenarios do not use, left out to start each run faster (schemathesis, hypothesis); the
# fuzz stage (marker fuzz) needs them and runs only for faults with stage "fuzz"
UNUSED_PLUGINS = ("-p", "no:schemathesis", "-p", "no:hypothesispytest")
VARIANT_FUZZ_SEED = 20261201
"""The fuzz stage's seed in every variant run (one seed in the sweep, so a red variant can be replayed)."""
VARIANT_FUZZ_EXAMPLES = 1
"""Randomly generated bodies per operation in the fuzz stage of a variant run, and of a fault's run of the fuzz
stage (`PP__FUZZ__MAX_EXAMPLES`): the coverage phase's deterministic cases (about 450) and the lifecycle sequences
all run; random generation costs about 0.25 s a body here. `--full` runs the default (20)."""
# environment of the caller that would change the run (target, profile, stance, run id, xdist state)
_DROPPED_ENV = (
    "PYTEST_BASE_URL",
    "PP_RUN_ID",
    "PP_PROFILE",
    "PP_STRICT",
    "PP_DISCOVERY",
    "PP_EPHEMERAL_TARGET",
    "PYTEST_ADDOPTS",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_CURRENT_TEST",
    "PP_REFERENCE_RATE_LIMIT",
    "PP_REFERENCE_TOKEN_TTL",
)


@dataclass(frozen=True)
class Case:
    """One run to make: `kind` "fault" or "variant", its `name`, and `target` (the faulted requirement id,
    or the ambiguity id a variant resolves)."""

    kind: str
    name: str
    target: str
    description: str
    fault_kind: str = ""
    stage: str = ""
    """"fuzz" for a fault only the fuzz stage kills (its run is `-m fuzz`); "" for the scenarios
    (`-m "not fuzz"`, without the schemathesis and hypothesis plugins). A variant runs everything, the fuzz
    stage included (seed `VARIANT_FUZZ_SEED`)."""
    strict: str = ""
    """The ambiguities (comma-separated) judged strictly in a fault's run, when the fault's requirement is judged
    only under strict (e.g. LINK-W1302 under AMB-1302-TRIGGER; every `strict-*` fault: its entry's other reading)."""
    select: str = ""
    """A fault's scenarios when they are not the ones tagged with its requirement (`Fault.select`)."""
    reading: tuple[str, str] | None = None
    """A variant's reading as the readings report names it (register entry, text its row shows), or None."""

    def markers(self) -> str:
        """The `-m` expression of a fault's run: its requirement, or its `select` too."""
        return f"{self.target} or {self.select}" if self.select else self.target


@dataclass
class RunResult:
    """What one run showed.

    - `verdict`: "killed" / "survived" for a fault, "green" / "red" for a variant.
    - `killed_by`: the failed/broken results carrying the fault's requirement (names).
    - `failed_requirements`: requirement id -> number of failed/broken results carrying it.
    - `failures`: every failed/broken result `{"name", "status", "requirements", "message"}`.
    - `exit_code`: the suite's exit code (None when it did not run); `seconds`: wall time of the run.
    - `error`: why the run could not be made (server did not start, timeout), else "".
    """

    case: Case
    verdict: str
    exit_code: int | None
    seconds: float
    results: int = 0
    killed_by: list[str] = field(default_factory=list)
    failed_requirements: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    def line(self) -> str:
        """The progress line's text after the counter."""
        c = self.case
        failed = len(self.failures)
        if c.kind == "fault":
            if self.verdict == "killed":
                what = f"killed by {c.target} ({failed} scenario{'s' if failed != 1 else ''} failed)"
            else:
                others = ", ".join(sorted(self.failed_requirements)) or "none"
                what = f"SURVIVED: no failed scenario tagged {c.target} (failed: {others})"
        else:
            what = (
                "green"
                if self.verdict == "green"
                else (
                    f"RED: {failed} false failure{'s' if failed != 1 else ''} "
                    f"({', '.join(sorted(self.failed_requirements)) or 'exit ' + str(self.exit_code)})"
                )
            )
        if self.error:
            what += f" [{self.error}]"
        return f"{c.kind} {c.name}: {what} {self.seconds:.1f} s"


def load_cases(python: str = sys.executable) -> list[Case]:
    """Every fault, then every variant, as the reference server lists them (`--list-faults`, `--list-variants`).

    Raises RuntimeError when the listing fails."""
    cases: list[Case] = []
    for flag, kind in (("--list-faults", "fault"), ("--list-variants", "variant")):
        proc = subprocess.run(
            [python, "-m", "ppreference", flag], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            raise RuntimeError(f"python -m ppreference {flag} failed ({proc.returncode}): {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            if line.strip():
                row = json.loads(line)
                target = row["requirement"] if kind == "fault" else row["ambiguity"]
                cases.append(
                    Case(
                        kind,
                        row["name"],
                        target,
                        row["description"],
                        row.get("kind", ""),
                        row.get("stage", ""),
                        row.get("strict", ""),
                        row.get("select", ""),
                        (row["reading"]["entry"], row["reading"]["shows"])
                        if kind == "variant" and isinstance(row.get("reading"), dict)
                        else None,
                    )
                )
    return cases


def _environment(secret_values: dict[str, str], journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("PP__")}
    env.update(secret_values)
    env["PP__JOURNAL_DIR"] = str(journal)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # ~100 short runs: let them reuse compiled bytecode
    return env


def _requirements_of(result: dict[str, Any]) -> list[str]:
    labels = result.get("labels", [])
    stories = [lb["value"] for lb in labels if lb.get("name") == "story"]
    if stories:
        return sorted(set(stories))
    # a test that broke before its scenario started has no story label: fall back to its requirement tags
    return sorted(
        {
            lb["value"]
            for lb in labels
            if lb.get("name") == "tag" and "-" in str(lb.get("value")) and str(lb.get("value"))[:1].isupper()
        }
    )


def read_failures(allure_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    """(number of results, the failed/broken ones as `{"name", "status", "requirements", "message"}`)."""
    count, failures = 0, []
    for path in sorted(allure_dir.glob("*-result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        count += 1
        if result.get("status") in FAILING:
            message = str((result.get("statusDetails") or {}).get("message") or "").strip()
            failures.append(
                {
                    "name": result.get("name", path.name),
                    "status": result["status"],
                    "requirements": _requirements_of(result),
                    "message": message.splitlines()[0][:300] if message else "",
                }
            )
    failures.sort(key=lambda f: (f["requirements"], f["name"]))
    return count, failures


def run_case(
    case: Case,
    out: Path,
    secret_values: dict[str, str],
    *,
    python: str = sys.executable,
    timeout: float = 900.0,
    fuzz_seed: int = VARIANT_FUZZ_SEED,
    full: bool = False,
    server: EmbeddedServer | None = None,
) -> RunResult:
    """Start the server with `case` (or, given a running reference `server`, reset it to `case` through
    `POST /__reference__/reset`), run the suite against it, and judge the run (see the module docstring).

    `fuzz_seed` is the fuzz stage's seed of a variant run (default `VARIANT_FUZZ_SEED`); `full` gives a fault the
    whole scenario suite instead of its own scenarios."""
    run_dir = out / "runs" / f"{case.kind}-{case.name}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    env = _environment(secret_values, run_dir / "journal")
    started = time.monotonic()
    exit_code: int | None = None
    error = ""
    own = server is None
    try:
        if server is None:
            server = start_reference_process(
                run_dir / "reference-server.log", args=[f"--{case.kind}", case.name], env=env, python=python
            )
        else:
            _reset(server, case)
    except (EmbeddedServerError, TargetUnreachable) as exc:
        return _judge(case, None, time.monotonic() - started, run_dir, str(exc))
    url = server.base_url
    try:
        if case.kind == "variant":
            stage = [f"--fuzz-seed={fuzz_seed}"]  # a conforming variant passes everything, fuzz stage on
            if not full:
                env["PP__FUZZ__MAX_EXAMPLES"] = str(VARIANT_FUZZ_EXAMPLES)
        elif case.stage == "fuzz":
            stage = ["-m", "fuzz"]
            if not full:
                env["PP__FUZZ__MAX_EXAMPLES"] = str(VARIANT_FUZZ_EXAMPLES)
        else:
            stage = ["-m", "not fuzz" if full else case.markers(), *UNUSED_PLUGINS]
        for ambiguity in filter(None, case.strict.split(",")):
            stage += ["--strict-ambiguity", ambiguity]
        if case.kind == "variant" and case.target == "all":  # the target of every strict reading
            stage += ["--strict-ambiguity", "all"]
        cmd = [
            python,
            "-m",
            "pytest",
            "steps",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *stage,
            f"--base-url={url}",
            "--reference-target",  # the sweep's targets are reference servers: the clock scenarios run
            f"--reports-dir={run_dir}",
            f"--alluredir={run_dir / 'allure-results'}",
            f"--junitxml={run_dir / 'junit.xml'}",
        ]
        with (run_dir / "pytest-output.txt").open("wb") as output:
            try:
                exit_code = subprocess.run(
                    cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                error = f"the suite did not finish within {timeout:.0f} s"
    finally:
        if own:
            server.stop()
    return _judge(case, exit_code, time.monotonic() - started, run_dir, error)


def _reset(server: EmbeddedServer, case: Case) -> None:
    """Start `server` over with `case`'s fault or variant; raises `TargetUnreachable` when it does not."""
    body = {
        "fault": case.name if case.kind == "fault" else None,
        "variant": case.name if case.kind == "variant" else None,
    }
    answer = plain_request("POST", f"{server.base_url}/__reference__/reset", json_body=body)
    if answer.status != 200:
        raise TargetUnreachable(f"the reference server did not reset to {case.kind} {case.name}: {answer.body[:300]}")


class _Servers:
    """One reference server per worker thread of the sweep, reset between runs (`_reset`), stopped at the end."""

    def __init__(self, out: Path, secret_values: dict[str, str]) -> None:
        self.out, self.secret_values = out, secret_values
        self.local = threading.local()
        self.started: list[EmbeddedServer] = []
        self.lock = threading.Lock()

    def get(self) -> EmbeddedServer | None:
        """This thread's server (started on first use); None when it cannot start (each run then starts its own)."""
        server = getattr(self.local, "server", None)
        if server is None or server.process.poll() is not None:
            index = len(self.started)
            env = _environment(self.secret_values, self.out / "journal")
            try:
                server = start_reference_process(self.out / f"reference-server-{index}.log", env=env)
            except EmbeddedServerError:
                return None
            self.local.server = server
            with self.lock:
                self.started.append(server)
        return server

    def stop(self) -> None:
        for server in self.started:
            server.stop()


def _reading_not_shown(reading: tuple[str, str], report: Path) -> str:
    """ "" when the run's readings report shows `reading` (register entry, text) unmixed, else what is wrong."""
    try:
        rows = json.loads(report.read_text(encoding="utf-8")).get("readings", [])
    except (OSError, ValueError) as exc:
        return f"readings report unreadable: {exc}"
    problem = shows(rows, *reading)
    return f"readings report: {problem}" if problem else ""


def _judge(case: Case, exit_code: int | None, seconds: float, run_dir: Path, error: str) -> RunResult:
    count, failures = read_failures(run_dir / "allure-results")
    per_requirement = Counter(r for f in failures for r in f["requirements"])
    if case.kind == "fault":
        killed_by = [f["name"] for f in failures if case.target in f["requirements"]]
        verdict = "killed" if killed_by else "survived"
    else:
        killed_by = []
        if case.reading and exit_code == 0 and not error:  # a variant's run must name the reading it implements
            error = _reading_not_shown(case.reading, run_dir / "conformance.json")
        verdict = "green" if exit_code == 0 and not failures and not error else "red"
    return RunResult(
        case,
        verdict,
        exit_code,
        round(seconds, 1),
        count,
        killed_by,
        dict(sorted(per_requirement.items())),
        failures,
        error,
    )


# -- the matrix ------------------------------------------------------------------------------------------
def summary(results: Sequence[RunResult], wall: float) -> dict[str, Any]:
    """Counts of the sweep: faults killed/total, variants green/total, wall time in seconds."""
    faults = [r for r in results if r.case.kind == "fault"]
    variants = [r for r in results if r.case.kind == "variant"]
    return {
        "faults": len(faults),
        "killed": sum(r.verdict == "killed" for r in faults),
        "survived": [r.case.name for r in faults if r.verdict != "killed"],
        "variants": len(variants),
        "green": sum(r.verdict == "green" for r in variants),
        "red": [r.case.name for r in variants if r.verdict != "green"],
        "wall_seconds": round(wall, 1),
    }


def _row(r: RunResult) -> dict[str, Any]:
    """One entry of kill-matrix.json: a fault `{name, kind, requirement, description, verdict, killed_by,
    failed_requirements, failures, exit_code, seconds, results, error}`; a variant `{name, ambiguity,
    description, verdict, false_failures, exit_code, seconds, results, error}`."""
    c = r.case
    run = {"exit_code": r.exit_code, "seconds": r.seconds, "results": r.results, "error": r.error}
    if c.kind == "fault":
        return {
            "name": c.name,
            "kind": c.fault_kind,
            "requirement": c.target,
            "description": c.description,
            "verdict": r.verdict,
            "killed_by": r.killed_by,
            "failed_requirements": r.failed_requirements,
            "failures": r.failures,
            **run,
        }
    return {
        "name": c.name,
        "ambiguity": c.target,
        "description": c.description,
        "verdict": r.verdict,
        "false_failures": r.failures,
        **run,
    }


def write_matrix(results: Sequence[RunResult], out: Path, wall: float, jobs: int) -> dict[str, Any]:
    """Write `<out>/kill-matrix.json` and `<out>/kill-matrix.md`; returns the summary."""
    ordered = sorted(results, key=lambda r: (r.case.kind != "fault", r.case.fault_kind, r.case.target, r.case.name))
    head = summary(ordered, wall) | {"jobs": jobs}
    data = {
        "summary": head,
        "faults": [_row(r) for r in ordered if r.case.kind == "fault"],
        "variants": [_row(r) for r in ordered if r.case.kind == "variant"],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "kill-matrix.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Kill matrix",
        "",
        f"Faults killed: **{head['killed']}/{head['faults']}** · variants green: "
        f"**{head['green']}/{head['variants']}** · wall time {head['wall_seconds']:.0f} s "
        f"with {jobs} job(s).",
        "",
    ]
    if head["faults"]:
        lines += [
            "## Faults",
            "",
            "| fault | kind | requirement | verdict | requirements whose scenarios failed | exit | s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in (x for x in ordered if x.case.kind == "fault"):
            failed = ", ".join(f"{k} ({v})" for k, v in r.failed_requirements.items()) or "—"
            verdict = "killed" if r.verdict == "killed" else "**SURVIVED**"
            lines.append(
                f"| `{r.case.name}` | {r.case.fault_kind} | {r.case.target} | {verdict} | {failed} "
                f"| {r.exit_code} | {r.seconds:.0f} |"
            )
        lines.append("")
    if head["variants"]:
        lines += [
            "## Variants",
            "",
            "| variant | ambiguity | verdict | false failures | exit | s |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for r in (x for x in ordered if x.case.kind == "variant"):
            false = "; ".join(f"{f['name']} [{', '.join(f['requirements'])}]" for f in r.failures) or "—"
            verdict = "green" if r.verdict == "green" else "**RED**"
            lines.append(
                f"| `{r.case.name}` | {r.case.target} | {verdict} | {false} | {r.exit_code} | {r.seconds:.0f} |"
            )
        lines.append("")
    (out / "kill-matrix.md").write_text("\n".join(lines), encoding="utf-8")
    return head


# -- command line --------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m tools.sweep`."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.sweep",
        description="Run the conformance suite against every fault and every variant of the reference server "
        "and write a kill matrix. Exit 0 when every fault is killed by a scenario tagged with its "
        "requirement and every variant passes, else 1.",
        epilog="Faults and variants: python -m ppreference --list-faults / --list-variants; docs/fault-sweep.md.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--faults-only", action="store_true", help="run the faults only")
    which.add_argument("--variants-only", action="store_true", help="run the variants only")
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", default="", help="run only these faults/variants (comma-separated names)"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="runs in parallel (default: the CPU count + 1, %(default)s here: a run waits on its server half the time)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "reports" / "sweep",
        help="where kill-matrix.json/.md and each run's reports go (default: reports/sweep)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="longest a single suite run may take (default: %(default).0f)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="give every fault the whole scenario suite, not only the scenarios of its requirement, and every "
        f"variant's fuzz stage its default budget instead of {VARIANT_FUZZ_EXAMPLES} generated bodies per operation "
        "(a nightly run)",
    )
    parser.add_argument(
        "--fuzz-seed",
        type=int,
        default=VARIANT_FUZZ_SEED,
        metavar="N",
        help="the fuzz stage's seed in the variant runs (default %(default)s, the sweep's; another seed "
        "tries the variants against other generated requests)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sweep; returns the exit status (0 all killed and green, 1 otherwise, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    cases = load_cases()
    if args.faults_only:
        cases = [c for c in cases if c.kind == "fault"]
    if args.variants_only:
        cases = [c for c in cases if c.kind == "variant"]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {c.name for c in cases})
        if unknown:
            print(f"sweep: unknown fault/variant name(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.name in wanted]
    secret_values = {name: secrets.token_urlsafe(18) for name in EMBEDDED_SECRET_VARS}
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    total = len(cases)
    print(
        f"sweep: {sum(c.kind == 'fault' for c in cases)} fault(s), {sum(c.kind == 'variant' for c in cases)} "
        f"variant(s), {args.jobs} job(s); reports in {out}",
        flush=True,
    )
    started = time.monotonic()
    results: list[RunResult] = []
    lock = threading.Lock()
    servers = _Servers(out, secret_values)

    def one(case: Case) -> RunResult:
        return run_case(
            case,
            out,
            secret_values,
            timeout=args.timeout,
            fuzz_seed=args.fuzz_seed,
            full=args.full,
            server=servers.get(),
        )

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            # the variants first: the longest runs, so the short fault runs fill the jobs at the end
            futures = [pool.submit(one, c) for c in sorted(cases, key=lambda c: c.kind != "variant")]
            for future in as_completed(futures):
                result = future.result()
                with lock:
                    results.append(result)
                    print(f"[{len(results)}/{total}] {result.line()}", flush=True)
    finally:
        servers.stop()
    wall = time.monotonic() - started
    head = write_matrix(results, out, wall, args.jobs)
    print(
        f"sweep: faults killed {head['killed']}/{head['faults']}, variants green {head['green']}/"
        f"{head['variants']}, wall time {wall:.0f} s ({args.jobs} job(s)); {out / 'kill-matrix.md'}"
    )
    if head["survived"]:
        print(f"sweep: SURVIVED (gaps in the suite): {', '.join(head['survived'])}")
    if head["red"]:
        print(f"sweep: variants with false failures: {', '.join(head['red'])}")
    return 0 if not head["survived"] and not head["red"] else 1


if __name__ == "__main__":
    sys.exit(main())
