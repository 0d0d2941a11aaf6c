"""The suite's command-line options, its ini setting, its markers, and where a conformance run's reports go.

A pytest plugin (entry point `pytest11`), so the options are parsed before the root conftest loads. Installing the
package changes no other pytest run: a run is a conformance run only when asked for (`runcontext.runs_scenarios`:
the ini setting `pp_conformance = true` of the project being run, or `--profile`, and the suite's scenarios
collected). Only then does `pytest_configure` point JUnit (`--junitxml`) and allure-pytest (`--alluredir`, cleaned)
at the run's reports folder, `--reports-dir` (default `./reports` of the directory the run started in), unless
they were given; `pytest tests`, `--help` and `--collect-only` write nothing there.
"""

from __future__ import annotations

import pytest

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import ENDPOINTS
from ppconformance.plugin import runcontext
from ppconformance.plugin.cli import rerun_if_split, value_options

__all__ = ["ENDPOINT_GROUPS"]

ENDPOINT_GROUPS = (
    *(e.name for e in ENDPOINTS.values()),
    "relinking",
    "auth",
    "request",
    "identification",
    "batch",
    "tenant",
)
"""The markers of the feature groups: one per Partner Program endpoint (`contract.endpoints.ENDPOINTS`), one per
flow or concern (the requirement catalogue's `endpoint` values)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        runcontext.INI_KEY,
        type="bool",
        default=False,
        help="this project's pytest runs the Partner Program conformance suite (its scenarios under testpaths)",
    )
    group = parser.getgroup("partner-program", "Partner Program conformance")
    group.addoption(
        "--profile",
        default=None,
        help="profile YAML describing the target's orgs, credentials (as ${ENV_VAR}), programs "
        "and tiers (env PP_PROFILE; default profiles/embedded.yaml). Any key can be overridden "
        "from the environment as PP__<KEY>[__<KEY>…], e.g. PP__ALLOW_WRITES=true. See "
        "docs/profiles.md. Exit codes: 0 conforms, 1 conformance failures, 10 errors of the run "
        "(unreachable, 5xx, auth refused), 11 profile error, 12 drift (--check-config).",
    )
    group.addoption(
        "--strict-ambiguity",
        action="append",
        default=[],
        metavar="AMB-ID|all",
        dest="strict_ambiguity",
        help="judge this ambiguity of catalogue/ambiguities.yaml strictly (repeatable; profile key "
        "strict, env PP__STRICT). Default: never fail a target for what the documents leave open.",
    )
    group.addoption(
        "--reports-dir",
        default=None,
        help="where every report of a conformance run goes: JUnit, allure results, conformance.{json,md,html}, "
        "the effective profile, discovery and drift, webhook deliveries (default: ./reports of the directory the "
        "run starts in)",
    )
    group.addoption(
        "--read-only",
        action="store_const",
        const=False,
        dest="allow_writes",
        default=None,
        help="send nothing that can change state: only authentication, unknown program (2006), batch "
        "limit (2008) and malformed-body checks run; the rest are skipped (profile allow_writes)",
    )
    group.addoption(
        "--allow-writes",
        action="store_const",
        const=True,
        dest="allow_writes",
        help="let the suite register customers, link, update and delink on the target (profile "
        "allow_writes; it cleans up after itself from its journal)",
    )
    group.addoption(
        "--rate-limit",
        type=int,
        default=None,
        metavar="PER_MINUTE",
        dest="rate_limit",
        help="client-side limit on requests per minute over the whole run (profile rate_limit_per_minute)",
    )
    group.addoption(
        "--reference-target",
        action="store_true",
        default=False,
        dest="reference_target",
        help="the target at --base-url is this project's reference server (python -m ppreference): the suite may "
        "use its /__reference__/ admin API (simulated clock, webhook list). Implied for the embedded server; "
        "without it nothing under /__reference__/ is ever sent to a target",
    )
    group.addoption(
        "--require-complete",
        action="store_true",
        default=False,
        dest="require_complete",
        help="a run that finds no failure but judged not every requirement the profile makes testable (a selection "
        "with -m, a read-only run, the fuzz stage off) exits 13 (incomplete) instead of 0: for acceptance evidence",
    )
    group.addoption(
        "--check-config",
        action="store_true",
        default=False,
        help="only discover the target's programs, tiers and relinking setting, report drift from the "
        "profile and exit: 0 no drift, 12 drift, 10 target error",
    )
    group.addoption(
        "--write-profile",
        default=None,
        metavar="FILE",
        dest="write_profile",
        help="with --check-config: also write a starter profile to FILE: the profile given, its programs, "
        "tiers and relinking setting completed from what discovery found (secrets stay ${VAR} references)",
    )
    group.addoption(
        "--waivers",
        default=None,
        metavar="FILE",
        help="YAML of known, agreed deviations (schemas/meta/waivers.schema.json: requirement, reason, ticket, "
        "expires, optional target): a waived requirement's failure is reported waived (exit 0 if nothing else "
        "failed); an expired waiver is a failure; a waiver whose requirement passes is reported no longer needed",
    )
    group.addoption(
        "--evidence",
        default=None,
        metavar="DIR",
        help="write an evidence bundle for vendor acceptance to DIR and DIR.tar.gz: suite version and git "
        "revision, SHA-256 of schemas/features/catalogue/steps, the redacted profile and traffic (HAR), the "
        "reports and a SHA-256 manifest; check it later with python -m ppconformance.evidence verify DIR",
    )
    group.addoption(
        "--scenario-traces",
        default=None,
        metavar="DIR",
        dest="scenario_traces",
        help="write what each scenario wrote, read and judged, as the state model sees it, to DIR/<worker>.jsonl: "
        "the input of the observability audit (python -m tools.observability; docs/state-oracle.md)",
    )
    group.addoption(
        "--baseline",
        default=None,
        metavar="CONFORMANCE_JSON",
        help="a previous run's reports/conformance.json: print and write reports/diff.md, the requirements whose "
        "outcome changed (new failures first) and the register entries whose reading changed; the exit code is "
        "unchanged",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Before any conftest: a plugin option given as `--option VALUE` would have made pytest take VALUE for
    a test path when it settled the rootdir (see `ppconformance.plugin.cli`); re-run with `--option=VALUE`."""
    if not hasattr(early_config, "workerinput"):
        capture = early_config.pluginmanager.getplugin("capturemanager")
        rerun_if_split(
            early_config.invocation_params.args,
            value_options(parser),
            before_exec=capture.stop_global_capturing if capture is not None else None,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the markers (every requirement id, every cited doc section, the feature groups, `read_only`); in a
    conformance run, point JUnit and allure-pytest at the reports folder (before their own `pytest_configure`
    reads the options: this hook runs first)."""
    catalogue = load_catalogue()
    for req in catalogue.requirements.values():
        config.addinivalue_line("markers", f"{req.id}: {req.title} ({req.source})")
    for source in sorted({r.source for r in catalogue.requirements.values()}):
        config.addinivalue_line("markers", f"doc/{source.replace('#', '/')}: cites {source}")
    for group in ENDPOINT_GROUPS:
        config.addinivalue_line("markers", f"{group}: scenarios of {group}")
    config.addinivalue_line(
        "markers", "read_only: changes no state on a conforming target; runs in a read-only run (allow_writes: false)"
    )
    if not runcontext.runs_scenarios(config):
        return
    opts = runcontext.options(config)
    if opts.check_config:  # a configuration check judges nothing: the last run's JUnit and allure results stay
        return
    controller = opts.workerinput is None
    if controller and not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(opts.reports_dir / "junit.xml")  # JUnit is written by the controller only
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(opts.allure_dir)
        config.option.clean_alluredir = controller  # the controller empties it before any worker writes
