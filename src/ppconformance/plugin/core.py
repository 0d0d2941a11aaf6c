"""pytest plugin: options, the target, fixtures, markers and allure reporting.

Registered through the `pytest11` entry point, so its options are known before the root conftest
loads; inert (options and markers only) unless the run collects conformance scenarios
(`runcontext.runs_scenarios`). On the controller (or the only
process without xdist) it decides the target once per run: `--base-url` /
`PYTEST_BASE_URL` / the profile's `base_url`, or else the embedded reference
server started in a subprocess (stopped by `config.add_cleanup`). xdist workers
receive the run context (URL, run id, embedded credentials, discovery) in `workerinput`.

Before the scenarios (controller only): the target is probed (unreachable:
exit 10), the profile loaded (unusable: exit 11), the org's programs
discovered and compared with the profile (`--check-config` stops there: exit
12 on drift), and links left in the journal by an earlier, killed run are
cleaned up. After them: this run's journal is swept, and any link left behind
is a failure of its own. Outcome classes and exit codes: `outcomes`.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
from pathlib import Path
from typing import Any

import allure
import pytest
import yaml

from ppconformance import __version__
from ppconformance.connection.client import (
    PartnerProgramClient,
    TargetError,
    TargetUnreachable,
    probe_target,
    redact_text,
)
from ppconformance.connection.embedded import embedded_credentials, start_embedded_server
from ppconformance.connection.profile import DEFAULT_PROFILE, Profile, ProfileError
from ppconformance.contract.catalogue import Requirement, load_catalogue
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Judge
from ppconformance.plugin import runcontext
from ppconformance.plugin.allure_meta import write_allure_metadata
from ppconformance.plugin.cli import rerun_if_split, value_options
from ppconformance.plugin.reporting import ConformanceReporter
from ppconformance.report.baseline import BaselineError, load_baseline
from ppconformance.report.waivers import WaiverError, Waivers, load_waivers
from ppconformance.resources import checkout
from ppconformance.run.cleanup import CleanupReport
from ppconformance.run.customer_reuse import ReusableCustomers
from ppconformance.run.link_journal import open_entries
from ppconformance.run.outcomes import EXIT_DRIFT, EXIT_PROFILE_ERROR, EXIT_TARGET_ERROR, OutcomeTracker
from ppconformance.run.preflight import Preflight, apply_discovery, run_preflight, starter_profile, sweep_journal
from ppconformance.run.scenario import CustomerPool, World

_STEP_KEY = pytest.StashKey[list]()
_REQUESTS = pytest.StashKey[int]()
_TRACKER = pytest.StashKey[OutcomeTracker]()
_PREFLIGHT = pytest.StashKey[Preflight]()
_PROFILE = pytest.StashKey[Profile]()
_REPORTER = pytest.StashKey[ConformanceReporter]()
_SETTLED = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partner-program", "Partner Program conformance")
    group.addoption(
        "--profile",
        default=os.environ.get("PP_PROFILE", str(DEFAULT_PROFILE)),
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
        default=str((checkout() or Path.cwd()) / "reports"),
        help="where the effective profile, discovery/drift report and the reference server log are "
        "written (default reports/)",
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
        "outcome changed (new failures first); the exit code is unchanged",
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


def pytest_configure(config: pytest.Config) -> None:
    catalogue = load_catalogue()
    for req in catalogue.requirements.values():
        config.addinivalue_line("markers", f"{req.id}: {req.title} ({req.source})")
    for source in sorted({r.source for r in catalogue.requirements.values()}):
        config.addinivalue_line("markers", f"doc/{source.replace('#', '/')}: cites {source}")
    for endpoint in (
        "linkCustomer",
        "customerPartnerProgramUpdate",
        "deLinkCustomer",
        "relinking",
        "auth",
        "request",
        "identification",
        "batch",
        "tenant",
    ):
        config.addinivalue_line("markers", f"{endpoint}: scenarios of {endpoint}")
    config.addinivalue_line(
        "markers", "read_only: changes no state on a conforming target; runs in a read-only run (allow_writes: false)"
    )
    if not runcontext.runs_scenarios(config):
        return
    if hasattr(config, "workerinput"):
        config.stash[runcontext.RUN_CONTEXT] = ctx = runcontext.RunContext.from_workerinput(
            config.workerinput[runcontext.WORKERINPUT_KEY]
        )
        stop_after = OutcomeTracker().stop_after if ctx.run_error else None
        if stop_after is None:
            stop_after = runcontext.run_profile(config).stop_after_transport_errors
        tracker = OutcomeTracker(stop_after)
        config.stash[_TRACKER] = tracker
        config.pluginmanager.register(tracker, "pp-outcomes")
        if not ctx.run_error:
            _register_reporter(config, runcontext.run_profile(config), tracker, ctx.base_url)
        return
    base_url = config.getoption("base_url", None) or _peek_base_url(config.getoption("profile"))
    ephemeral = not base_url
    embedded_env: dict[str, str] = {}
    if not base_url:
        embedded_env = embedded_credentials()
        server = start_embedded_server(Path(config.getoption("reports_dir")) / "reference-server.log", embedded_env)
        config.add_cleanup(server.stop)
        base_url = server.base_url
    config.option.base_url = base_url
    config.stash[runcontext.RUN_CONTEXT] = ctx = runcontext.RunContext(
        run_id=secrets.token_hex(3),
        base_url=base_url,
        ephemeral=ephemeral,
        reference_target=ephemeral or bool(config.getoption("reference_target")),
        embedded_env=embedded_env,
    )
    try:
        profile = runcontext.run_profile(config)
    except ProfileError as exc:
        if config.getoption("check_config"):
            pytest.exit(str(exc), returncode=EXIT_PROFILE_ERROR)
        _cannot_judge(config, "the profile is usable", str(exc), EXIT_PROFILE_ERROR)
        return
    tracker = OutcomeTracker(profile.stop_after_transport_errors)
    config.stash[_TRACKER] = tracker
    config.pluginmanager.register(tracker, "pp-outcomes")
    try:
        reporter = _register_reporter(config, profile, tracker, base_url)
        if config.getoption("baseline"):
            load_baseline(config.getoption("baseline"))
    except (WaiverError, BaselineError) as exc:
        pytest.exit(f"ERROR (not a conformance failure): {exc}", returncode=EXIT_PROFILE_ERROR)
    if config.getoption("evidence"):
        reporter.clear_traffic()
    _write_effective_profile(config, profile)
    try:
        probe_target(base_url, profile)
        preflight = run_preflight(
            base_url,
            profile,
            ctx.run_id,
            ephemeral=ephemeral,
            reports_dir=Path(config.getoption("reports_dir")),
        )
    except TargetError as exc:
        what = "is unreachable" if isinstance(exc, TargetUnreachable) else "could not be used"
        message = f"ERROR (not a conformance failure): target {base_url} {what}: {exc}"
        if config.getoption("check_config"):
            pytest.exit(message, returncode=EXIT_TARGET_ERROR)
        _cannot_judge(config, "the target is usable (reachability probe and discovery)", message, EXIT_TARGET_ERROR)
        return
    config.stash[_PREFLIGHT] = preflight
    runcontext.update(config, discovery=preflight.discovery_json())
    if config.getoption("check_config"):
        report = preflight.report()
        target = config.getoption("write_profile")
        if target:
            completed = apply_discovery(profile, preflight.discovery_json())
            text = Path(config.getoption("profile")).read_text(encoding="utf-8")
            Path(target).write_text(starter_profile(text, completed, preflight), encoding="utf-8")
            report += f"\nstarter profile written to {target}"
        pytest.exit(report, returncode=EXIT_DRIFT if preflight.drift else 0)
    _write_effective_profile(config, apply_discovery(profile, preflight.discovery_json()))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run context to the worker being set up (`workerinput`)."""
    ctx = runcontext.get(node.config)
    if ctx is not None:
        node.workerinput[runcontext.WORKERINPUT_KEY] = ctx.to_workerinput()


def _register_reporter(
    config: pytest.Config, profile: Profile, tracker: OutcomeTracker, base_url: str
) -> ConformanceReporter:
    """The conformance reporter of this process, registered after the outcome tracker (so it sees the
    tracker's reclassified reports). Raises `WaiverError` for a broken waivers file."""
    path = config.getoption("waivers")
    waivers: Waivers | None = load_waivers(path, base_url) if path else None
    reporter = ConformanceReporter(
        profile=profile,
        target=base_url,
        reports_dir=Path(config.getoption("reports_dir")),
        waivers=waivers,
        baseline=config.getoption("baseline"),
        evidence=config.getoption("evidence"),
        tracker=tracker,
        worker=_worker_id(config),
    )
    config.stash[_REPORTER] = reporter
    config.pluginmanager.register(reporter, "pp-conformance-report")
    return reporter


def _peek_base_url(path: str) -> str | None:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # load_profile reports it properly
    env_url = os.environ.get("PP__BASE_URL")
    if env_url:
        return env_url
    return data.get("base_url") if isinstance(data, dict) else None


def _cannot_judge(config: pytest.Config, name: str, message: str, exit_code: int) -> None:
    """The run cannot judge anything: record why in the run context (xdist workers learn it there too); every
    process then collects the single `RunErrorItem` `name` instead of the scenarios, pytest reports it as an
    error (terminal, JUnit, allure), and the run exits with `exit_code` (10 target, 11 profile)."""
    runcontext.update(config, run_error={"name": name, "message": message, "exit_code": exit_code})
    if _TRACKER not in config.stash:
        config.stash[_TRACKER] = OutcomeTracker()
        config.pluginmanager.register(config.stash[_TRACKER], "pp-outcomes")
    config.stash[_TRACKER].run_error_code = exit_code


class RunNotStarted(TargetError):
    """The scenarios could not start: the profile is unusable, or the target is unreachable or broken at the
    probe or discovery. An error of the run, never a conformance failure; nothing was judged."""


class RunErrorItem(pytest.Item):
    """The one test a run that cannot judge collects (see `_cannot_judge`): it errors in setup with the
    (credential-free) message, so pytest, JUnit and allure-pytest report why the run judged nothing."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def setup(self) -> None:
        raise RunNotStarted(self.message)

    def runtest(self) -> None:  # never reached: setup raises
        raise RunNotStarted(self.message)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name


def _write_effective_profile(config: pytest.Config, profile: Profile) -> None:
    out = Path(config.getoption("reports_dir"))
    out.mkdir(parents=True, exist_ok=True)
    text = redact_text(json.dumps(profile.redacted(), indent=2), profile.secrets())
    (out / "effective-profile.json").write_text(text + "\n", encoding="utf-8")
    alluredir = config.getoption("allure_report_dir", None)
    if alluredir:
        write_allure_metadata(
            Path(alluredir),
            {
                "target": profile.base_url or config.option.base_url or "",
                "profile": profile.name,
                "suite_version": __version__,
                "stances": ("strict: " + ",".join(sorted(profile.strict))) if profile.strict else "default (lenient)",
                "writes": "allowed" if profile.allow_writes else "read-only",
                "orgs": ",".join(o.name for o in profile.orgs),
            },
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The write guard: in a read-only run, every scenario not tagged `read_only` is skipped with the reason.
    A run that cannot judge (`RunContext.run_error`) collects only its `RunErrorItem`."""
    if not runcontext.runs_scenarios(config):
        return
    ctx = runcontext.get(config)
    if ctx is not None and ctx.run_error:
        config.hook.pytest_deselected(items=list(items))
        session = items[0].session if items else None
        items[:] = (
            [RunErrorItem.from_parent(session, name=ctx.run_error["name"], message=ctx.run_error["message"])]
            if session is not None
            else []
        )
        return
    profile = runcontext.run_profile(config)
    if profile.allow_writes:
        return
    skip = pytest.mark.skip(
        reason=f"read-only run: profile {profile.name} does not allow writes "
        "(allow_writes: false); pass --allow-writes to run this scenario"
    )
    for item in items:
        if item.get_closest_marker("read_only") is None:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if hasattr(config, "workerinput") or not runcontext.runs_scenarios(config):
        return []
    return [f"partner-program target: {config.option.base_url} (profile {config.getoption('profile')})"]


# -- fixtures -------------------------------------------------------------------------
def _worker_id(config: pytest.Config) -> str:
    """The xdist worker id ("gw0", ...) or "main" without xdist."""
    return str(getattr(config, "workerinput", {}).get("workerid", "main"))


def worker_count(config: pytest.Config) -> int:
    """How many processes run scenarios (xdist workers, or 1): the client's rate limit is shared out over them."""
    return int(getattr(config, "workerinput", {}).get("workercount", 1) or 1)


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    """The effective profile (command line > env > file > defaults), completed by discovery."""
    ctx = runcontext.require(pytestconfig)
    return apply_discovery(runcontext.run_profile(pytestconfig), ctx.discovery)


@pytest.fixture(scope="session")
def journal(profile: Profile, pytestconfig: pytest.Config) -> Any:
    """This process's provisioning journal (`journal.Journal`)."""
    from ppconformance.run.link_journal import Journal

    ctx = runcontext.require(pytestconfig)
    return Journal(profile.journal_dir, ctx.base_url, ctx.run_id, _worker_id(pytestconfig), ephemeral=ctx.ephemeral)


@pytest.fixture(scope="session")
def customer_pool(profile: Profile, pytestconfig: pytest.Config) -> CustomerPool:
    """This process's share of the profile's customer pools."""
    worker = _worker_id(pytestconfig)
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return CustomerPool(profile, index, worker_count(pytestconfig))


@pytest.fixture(scope="session")
def contract_schemas(profile: Profile) -> ContractSchemas:
    """The contract schemas the Judge validates answers with: strict AMB-EXTRA-FIELDS forbids undocumented
    response fields; unless AMB-NULL-AS-ABSENT is strict, an optional field may be null."""
    return ContractSchemas.load(
        forbid_extra_fields=profile.is_strict(AmbiguityId.EXTRA_FIELDS),
        null_as_absent=not profile.is_strict(AmbiguityId.NULL_AS_ABSENT),
    )


@pytest.fixture(scope="session")
def judge(profile: Profile, contract_schemas: ContractSchemas) -> Judge:
    """The verdict engine of this run."""
    return Judge(profile, contract_schemas)


def _count_requests(config: pytest.Config, sent: int) -> None:
    config.stash[_REQUESTS] = config.stash.get(_REQUESTS, 0) + sent


def _record_settled(config: pytest.Config, settled: list[tuple[float, bool]]) -> None:
    """Keep a scenario's re-read state reads (`World.settled`) for the run's convergence figures."""
    config.stash[_SETTLED] = config.stash.get(_SETTLED, []) + [list(s) for s in settled]


def settled_summary(settled: list[list[Any]], window: float) -> str:
    """The run's convergence line: how many loyaltyDetails reads had to be read again within the consistency
    window, how long the target took to agree with the model (median and maximum seconds after the write's
    answer), and how many still differed after the window."""
    converged = sorted(float(s) for s, ok in settled if ok)
    late = sum(1 for _, ok in settled if not ok)
    head = f"partner-program state reads (state.read_consistency_seconds {window:g}): "
    if not settled:
        return head + "every read agreed with the model at once or differed for good (no read needed a re-read)"
    figures = (
        f"{len(converged)} converged after re-reading, median {statistics.median(converged):.2f} s, max "
        f"{converged[-1]:.2f} s after the write"
        if converged
        else "none converged"
    )
    return head + figures + (f"; {late} still differed after the window (judged)" if late else "")


@pytest.fixture(scope="session")
def partner_clients(pytestconfig: pytest.Config) -> Any:
    """The process's HTTP clients by org name (`PartnerProgramClient`), shared by its scenarios: one connection
    pool and one OAuth token per org. Closed at the end of the process."""
    clients: dict[str, PartnerProgramClient] = {}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture(scope="session")
def reusable_customers(
    profile: Profile, pytestconfig: pytest.Config, journal: Any, partner_clients: dict[str, PartnerProgramClient]
) -> Any:
    """The process's reusable customers (`run.customer_reuse`), when the suite registers its own customers with
    writes allowed (else None: each scenario cleans up after itself). At the end of the process its deferred
    cleanup runs, in batches of 50, unless the run was stopped (the journal keeps the links for the next run)."""
    if profile.provisioning == "pool" or not profile.allow_writes:
        yield None
        return
    bank = ReusableCustomers()
    yield bank
    tracker = pytestconfig.stash.get(_TRACKER, None)
    if tracker is not None and tracker.stopped:
        return
    ctx = runcontext.require(pytestconfig)

    def client_for(org: str) -> PartnerProgramClient:
        if org not in partner_clients:
            partner_clients[org] = PartnerProgramClient(ctx.base_url, profile, profile.org(org))
        return partner_clients[org]

    before = sum(c.requests_sent for c in partner_clients.values())
    bank.flush(client_for, journal, lambda name: profile.org(name).allow_membership_relinking)
    _count_requests(pytestconfig, sum(c.requests_sent for c in partner_clients.values()) - before)
    reporter = pytestconfig.stash.get(_REPORTER, None)
    if reporter is not None:
        reporter.record_traffic(
            "cleanup at the end of the process", [e for c in partner_clients.values() for e in c.exchanges]
        )


@pytest.fixture
def world(
    profile: Profile,
    pytestconfig: pytest.Config,
    journal: Any,
    customer_pool: CustomerPool,
    reusable_customers: ReusableCustomers | None,
    partner_clients: dict[str, PartnerProgramClient],
    request: Any,
) -> Any:
    """A fresh scenario context over the process's shared clients and customer bank. At teardown its customers
    the oracle confirmed go back to the bank and its links are left to the bank's deferred cleanup (without a
    bank they are undone at once, from the journal; what cannot be undone stays open for the end-of-run sweep)."""
    ctx = runcontext.require(pytestconfig)
    w = World(
        profile=profile,
        base_url=ctx.base_url,
        run_id=ctx.run_id,
        journal=journal,
        pool=customer_pool,
        bank=reusable_customers,
        clients=partner_clients,
        listens=request.node.get_closest_marker("webhook") is not None,
    )
    before = sum(c.requests_sent for c in partner_clients.values())
    yield w
    tracker = pytestconfig.stash.get(_TRACKER, None)
    w.cleanup(contact_target=not (tracker and tracker.stopped))  # a stopped run leaves it to the journal
    reporter = pytestconfig.stash.get(_REPORTER, None)
    if reporter is not None:
        reporter.record_traffic(request.node.nodeid, w.exchanges())
        traces = pytestconfig.getoption("scenario_traces")
        if traces and w.trace:
            title = getattr(getattr(request.node, "function", None), "__doc__", None) or request.node.nodeid
            reporter.record_scenario_trace(Path(traces), request.node.nodeid, title, w.traced())
    _count_requests(pytestconfig, sum(c.requests_sent for c in partner_clients.values()) - before)
    _record_settled(pytestconfig, w.settled)
    for client in partner_clients.values():
        client.exchanges.clear()


@pytest.fixture
def requirements(request: pytest.FixtureRequest) -> list[Requirement]:
    """The catalogue requirements the scenario is tagged with, in catalogue order (pytest-bdd keeps
    tags in a set, so tag order is not stable across processes); not the ones the oracle step marks the test
    with as it judges them (`oracle=True`)."""
    catalogue = load_catalogue()
    tagged = {m.name for m in request.node.iter_markers() if not m.kwargs.get("oracle")}
    return [req for rid, req in catalogue.requirements.items() if rid in tagged]


# -- allure and pytest-bdd hooks (STACK-NOTES trap 1: allure-pytest only) -------------
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    catalogue = load_catalogue()
    allure.dynamic.title(scenario.name)
    allure.dynamic.epic("Partner Program API")
    allure.dynamic.feature(feature.name)
    for tag in sorted(scenario.tags):
        req = catalogue.requirements.get(tag)
        if req:
            allure.dynamic.story(req.id)
            allure.dynamic.link(catalogue.doc_url(req.source), name=req.source)


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    ctx = allure.step(f"{step.keyword} {step.name}")
    ctx.__enter__()
    request.node.stash.setdefault(_STEP_KEY, []).append(ctx)


def _close_step(request: pytest.FixtureRequest, exc: BaseException | None) -> None:
    stack = request.node.stash.get(_STEP_KEY, [])
    if stack:
        ctx = stack.pop()
        ctx.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def pytest_bdd_after_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any, step_func_args: Any
) -> None:
    _close_step(request, None)


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
    exception: BaseException,
) -> None:
    """Attach every exchange of the scenario (redacted) to the failing step, then close it."""
    world = request.getfixturevalue("world") if "world" in request.fixturenames else None
    if isinstance(world, World):
        for n, ex in enumerate(world.exchanges()):
            allure.attach(
                ex.render(limit=20000),
                name=f"exchange {n + 1}: {ex.method} {ex.url}",
                attachment_type=allure.attachment_type.TEXT,
            )
    _close_step(request, exception)


# -- request count: summed over xdist workers, printed at the end of the run --------------
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workeroutput"):
        config.workeroutput["pp_requests"] = config.stash.get(_REQUESTS, 0)
        config.workeroutput["pp_settled"] = config.stash.get(_SETTLED, [])
        return
    preflight = config.stash.get(_PREFLIGHT, None)
    tracker = config.stash.get(_TRACKER, None)
    reporter = config.stash.get(_REPORTER, None)
    if tracker is not None and preflight is None:
        session.exitstatus = tracker.exit_code(int(session.exitstatus))
        if reporter is not None:
            session.exitstatus = reporter.finish(int(session.exitstatus))
        return
    if preflight is None or tracker is None:
        return
    run_id = runcontext.require(config).run_id
    if tracker.stopped:
        report = CleanupReport(
            leftovers=[
                (e, "left for the next run: this run was stopped")
                for e in open_entries(preflight.profile.journal_dir, config.option.base_url, run_id=run_id)
            ]
        )
        report.unreachable = True
    else:
        report = sweep_journal(preflight, config.option.base_url, run_id=run_id)
    config.stash[_REQUESTS] = config.stash.get(_REQUESTS, 0) + report.requests + preflight.requests
    if report.unreachable:
        tracker.uncleaned = report.render().splitlines()  # not known to be linked: an error, not a failure
    else:
        tracker.record_leftovers(report.render().splitlines(), config.getoption("allure_report_dir", None))
    preflight.finish()
    session.exitstatus = tracker.exit_code(int(session.exitstatus))
    if reporter is not None:
        session.exitstatus = reporter.finish(int(session.exitstatus))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    config = node.config
    config.stash[_REQUESTS] = config.stash.get(_REQUESTS, 0) + int(output.get("pp_requests", 0))
    config.stash[_SETTLED] = config.stash.get(_SETTLED, []) + list(output.get("pp_settled", []))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    preflight = config.stash.get(_PREFLIGHT, None)
    if preflight is not None:
        for line in preflight.summary_lines():
            terminalreporter.write_line(line)
    tracker = config.stash.get(_TRACKER, None)
    if tracker is not None:
        for line in tracker.summary_lines():
            terminalreporter.write_line(line)
    reporter = config.stash.get(_REPORTER, None)
    if reporter is not None:
        for line in reporter.summary:
            terminalreporter.write_line(line)
    try:
        profile: Profile | None = runcontext.run_profile(config) if _REQUESTS in config.stash else None
    except ProfileError:
        profile = None
    if profile is not None and profile.allow_writes:
        settled = config.stash.get(_SETTLED, [])
        terminalreporter.write_line(settled_summary(settled, profile.state.read_consistency_seconds))
    if _REQUESTS in config.stash:
        terminalreporter.write_line(
            f"partner-program: {config.stash[_REQUESTS]} HTTP requests sent to {config.option.base_url}"
        )
