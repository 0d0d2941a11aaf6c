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
scenarios, from any directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ppconformance.resources import checkout

__all__ = ["EXTRA_VALUE_OPTIONS", "SUITE_VALUE_OPTIONS", "joined", "main", "rerun_if_split", "value_options"]

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


def main(argv: Sequence[str] | None = None) -> int:
    """`pp-conformance [pytest options]`: the conformance suite of the checkout the package is installed from
    (`pip install -e`; its `steps/`, `features/` and `pyproject.toml` as ini file), from any working directory.
    Returns pytest's exit code (0 conforms, 1 failures, 10 errors of the run, 11 profile error, 12 drift); 4 when
    the package is not installed from a checkout."""
    import pytest

    args = list(sys.argv[1:] if argv is None else argv)
    root = checkout()
    if root is None:
        print("pp-conformance runs the suite of a repository checkout: install it with pip install -e CHECKOUT")
        return 4
    paths = [a for a in args if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    base = [
        f"--rootdir={root}",
        f"--config-file={root / 'pyproject.toml'}",
        # this command imported ppconformance before pytest could install its assertion rewriting
        "-W",
        "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
    ]
    if not paths:
        base.append(str(root / "steps"))
    # joined before pytest sees them: its first pass (rootdir, ini) and xdist workers re-parse these arguments
    return int(pytest.main([*base, *joined(args, SUITE_VALUE_OPTIONS)]))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
