"""Command-line plumbing: option values given with a space, and the `pp-conformance` console command.

pytest settles its rootdir and ini file *before* it loads plugins, from every argument that
names an existing path. A plugin option given with a space (`--profile /abs/org.yaml`,
`--reports-dir /tmp/x`) therefore looks like a test path to that first pass: pytest picks
`/abs` as rootdir, finds no `pyproject.toml`, never loads the root conftest, and the run fails
(`unrecognized arguments`), in the controller or, under `-n 2`, in every xdist worker (which
re-parses the controller's arguments after the directory was created).

`joined` rewrites such pairs into the `--option=value` form, which no pass mistakes for a path.
The conformance plugin applies it first thing (`pytest_load_initial_conftests`): a command-line
run is re-executed once with the joined arguments (nothing has started yet), so every option works
with or without `=`; an in-process `pytest.main` call gets a usage error naming the fix instead.

`main` is the `pp-conformance` console command: pytest with the suite's own rootdir, ini file and
scenarios (`ppconformance.resources.suite_root`: an installed wheel's copy, or the checkout), from any
directory, with its own short `--help` (`HELP`) and pytest's behind `--pytest-help`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

__all__ = ["EXTRA_VALUE_OPTIONS", "HELP", "SUITE_VALUE_OPTIONS", "joined", "main", "rerun_if_split", "value_options"]

EXTRA_VALUE_OPTIONS = frozenset({"--alluredir", "--base-url"})
"""Value-taking options of other plugins the suite relies on (allure-pytest, pytest-base-url)."""

SUITE_VALUE_OPTIONS = frozenset(
    {
        "--profile",
        "--strict-ambiguity",
        "--reports-dir",
        "--rate-limit",
        "--fuzz",
        "--fuzz-seed",
        "--webhook-listen",
        "--webhook-public-url",
        "--write-profile",
        "--waivers",
        "--evidence",
        "--scenario-traces",
        "--baseline",
    }
    | EXTRA_VALUE_OPTIONS
)
"""Every value-taking option of the suite's plugins, for `main` (which joins before any parser exists);
`tests/test_cli.py` checks it equals `value_options` of a real run's parser."""


def value_options(parser: object) -> frozenset[str]:
    """The long option strings of the "partner-program" option group that take a value, plus
    `EXTRA_VALUE_OPTIONS`. `parser` is the `pytest.Parser` of the run."""
    group = parser.getgroup("partner-program")  # type: ignore[attr-defined]
    names: set[str] = set(EXTRA_VALUE_OPTIONS)
    for option in group.options:
        if option.attrs().get("nargs") != 0:  # store_true/store_const take none
            names.update(n for n in option.names() if n.startswith("--"))
    return frozenset(names)


def joined(args: Sequence[str], options: Iterable[str]) -> list[str]:
    """`args` with every `OPTION VALUE` pair of `options` written as `OPTION=VALUE` (other arguments,
    and everything after a bare `--`, unchanged). A trailing option without a value is left as is, for
    pytest to report."""
    names = frozenset(options)
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        if arg in names and i + 1 < len(args):
            out.append(f"{arg}={args[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def rerun_if_split(
    invocation_args: Sequence[str], options: Iterable[str], before_exec: Callable[[], object] | None = None
) -> None:
    """Re-execute this command-line run of pytest with `joined` arguments when any plugin option's value
    was given after a space; raise `pytest.UsageError` naming the `=` form when pytest runs in-process
    (`pytest.main`), where the process cannot be replaced. Returns when nothing needs joining. `before_exec`
    runs just before the process is replaced (pytest's global capture must give the terminal back)."""
    args = [str(a) for a in invocation_args]
    fixed = joined(args, options)
    if fixed == args:
        return
    if sys.argv[1:] == args:
        if before_exec is not None:
            before_exec()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *fixed])
    import pytest

    pairs = [a for a in fixed if a not in args]
    raise pytest.UsageError(
        "give plugin options as OPTION=VALUE when calling pytest.main in-process: " + " ".join(pairs)
    )


HELP = """\
usage: pp-conformance [OPTIONS] [PYTEST OPTIONS]

Runs the Partner Program conformance suite (its scenarios and fuzz stage) against a target, from any directory:
the embedded reference server unless --base-url or the profile's base_url names one.

Target and profile:
  --base-url=URL            the target (env PYTEST_BASE_URL); default: the profile's base_url, else the
                            embedded reference server
  --profile=FILE            the target's orgs, credentials (as ${ENV_VAR}), programs and tiers (env PP_PROFILE;
                            default: the embedded profile); keys overridable as PP__<KEY>[__<KEY>]
  --allow-writes            let the suite register customers, link, update and delink (it cleans up after itself)
  --read-only               send nothing that changes state: the write scenarios are skipped with the reason
  --rate-limit=PER_MINUTE   client-side limit on requests per minute over the whole run
  --reference-target        the target is this project's reference server (python -m ppreference)
  --check-config            only discover the target's programs, tiers and relinking setting; report drift, exit
  --require-complete        a run that judged not every requirement the profile makes testable exits 13
  --write-profile=FILE      with --check-config: also write a starter profile completed from what was discovered
Judging:
  --strict-ambiguity=ID     judge a register entry strictly (repeatable; "all" for every one); default: never
                            fail a target for what the documents leave open (catalogue/ambiguities.yaml)
  --waivers=FILE            known, agreed deviations: reported waived, not failed, until they expire
  --baseline=JSON           a previous run's conformance.json: write diff.md, the requirements whose outcome and
                            the register entries whose reading changed
  --fuzz=fast|deep|off      the fuzz stage's budget (default fast, about 30 s); --fuzz-seed=N replays a seed
  --webhook-listen=HOST:PORT, --webhook-public-url=URL
                            where the webhook sink listens, and the URL the target is told to deliver to
Reports:
  --reports-dir=DIR         where everything goes (default ./reports of the directory you run in): junit.xml,
                            allure-results/, conformance.{json,md,html}, effective-profile.json, discovery.json,
                            drift.txt, webhook-deliveries.jsonl, reference-server.log
  --evidence=DIR            an evidence bundle for vendor acceptance (DIR and DIR.tar.gz, SHA-256 manifest)
  --scenario-traces=DIR     what each scenario wrote, read and judged (the observability audit's input)
  --pytest-help             pytest's own options (-m, -k, -n, -x, ...), all accepted here
  -h, --help                this help

Exit codes:
  0 conforms   1 conformance failures   10 error of the run (unreachable, not this API, 5xx, auth refused)
  11 profile error   12 drift (--check-config)   13 incomplete (--require-complete)   2 interrupted
  4 usage error   5 nothing selected

Examples:
  pp-conformance                                         # try it: the embedded reference server, reports in ./reports
  pp-conformance --profile=staging.yaml --allow-writes   # CI gate against a staging org (base_url in the profile)
  pp-conformance --profile=vendor.yaml --evidence=acceptance-2026-12
                                                         # vendor acceptance: the bundle to hand over
  pp-conformance --profile=staging.yaml --check-config   # after an org's configuration changed: drift first,
  pp-conformance --profile=staging.yaml --allow-writes --baseline=last/conformance.json
                                                         # then the regression run, compared with the last one
  pp-conformance -m "linkCustomer and not fuzz" -n 2     # a selection (pytest markers), on two workers
"""
"""`pp-conformance --help`: the suite's own options, exit codes, where reports go and one example per use."""


def main(argv: Sequence[str] | None = None) -> int:
    """`pp-conformance [options] [pytest options]`: the conformance suite the package carries (an installed wheel's
    `ppconformance/suite/`, or the checkout of an editable install), from any working directory, its reports in
    `./reports` of that directory unless `--reports-dir` says otherwise. `--help` prints `HELP`; `--pytest-help`
    pytest's help for the suite. Returns pytest's exit code (0 conforms, 1 failures, 10 errors of the run, 11 profile
    error, 12 drift), or 3 when the installation carries no suite."""
    import pytest

    from ppconformance.resources import packaged_suite, suite_config, suite_root

    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(HELP, end="")
        return 0
    args = ["--help" if a == "--pytest-help" else a for a in args]
    try:
        root = suite_root()
    except FileNotFoundError as exc:
        print(f"pp-conformance: {exc}", file=sys.stderr)
        return 3
    base = [
        f"--rootdir={root}",
        f"--config-file={suite_config()}",
        # this command imported ppconformance before pytest could install its assertion rewriting
        "-W",
        "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
    ]
    if packaged_suite() is not None:
        base += ["-p", "no:cacheprovider"]  # an installed suite's folder is not the place for a cache
    paths = [a for a in args if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    if not paths and "--help" not in args:
        base.append(str(root / "steps"))
    # joined before pytest sees them: its first pass (rootdir, ini) and xdist workers re-parse these arguments
    return int(pytest.main([*base, *joined(args, SUITE_VALUE_OPTIONS)]))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
