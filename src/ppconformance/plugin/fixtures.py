"""The conformance scenarios' fixtures, and the allure labels and steps of each scenario.

Loaded by the suite's root `conftest.py` (`pytest_plugins`), not by an entry point: installing the package adds
no fixture to another project's runs. Every fixture reads the run from the run context (`plugin.runcontext`),
settled by `plugin.run_setup`; used outside a conformance run, they fail the test that uses them.

- session: `profile` (completed by discovery), `journal`, `customer_pool` (the profile's hand-listed customers),
  `suite_pool` (the suite's own customer pool, `run.customer_pool`), `contract_schemas`, `judge`,
  `partner_clients` (one HTTP client per org), `reusable_customers` (customers kept for later scenarios);
- per scenario: `world` (`run.scenario.World`, the scenario's context) and `requirements` (its catalogue ids).

pytest-bdd hooks (allure-pytest only, STACK-NOTES trap 1): each scenario's allure result is titled and labelled
with its feature and requirement ids (stories, with a link to the cited document), each Gherkin step is an allure
step, and a failing step gets every exchange of the scenario attached (redacted).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import allure
import pytest

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.profile import Profile
from ppconformance.contract.catalogue import Requirement, load_catalogue
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Judge
from ppconformance.plugin import runcontext
from ppconformance.plugin.run_setup import worker_id
from ppconformance.run.customer_pool import OrgScan, SuitePool, claims_path
from ppconformance.run.customer_reuse import ReusableCustomers
from ppconformance.run.link_journal import Journal
from ppconformance.run.preflight import apply_discovery
from ppconformance.run.scenario import CustomerPool, World

_STEP_KEY = pytest.StashKey[list]()


def _stopped(config: pytest.Config) -> bool:
    """True when the run was stopped (too many transport errors in a row): the journal keeps what is left."""
    tracker = runcontext.state(config).tracker
    return bool(tracker is not None and tracker.stopped)


def _count_requests(config: pytest.Config, clients: dict[str, PartnerProgramClient], before: int) -> None:
    """Add the requests `clients` sent since `before` (their total then) to this process's count."""
    runcontext.state(config).requests += sum(c.requests_sent for c in clients.values()) - before


@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    """The effective profile (command line > env > file > defaults), completed by discovery."""
    ctx = runcontext.require(pytestconfig)
    return apply_discovery(runcontext.run_profile(pytestconfig), ctx.discovery)


@pytest.fixture(scope="session")
def journal(profile: Profile, pytestconfig: pytest.Config) -> Journal:
    """This process's provisioning journal (`run.link_journal.Journal`)."""
    ctx = runcontext.require(pytestconfig)
    return Journal(profile.journal_dir, ctx.base_url, ctx.run_id, worker_id(pytestconfig), ephemeral=ctx.ephemeral)


@pytest.fixture(scope="session")
def customer_pool(profile: Profile, pytestconfig: pytest.Config) -> CustomerPool:
    """This process's share of the profile's customer pools (one share per xdist worker)."""
    worker = worker_id(pytestconfig)
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return CustomerPool(profile, index, runcontext.require(pytestconfig).workers)


@pytest.fixture(scope="session")
def suite_pool(profile: Profile, pytestconfig: pytest.Config) -> SuitePool:
    """This process's share of the suite's customer pools (`run.customer_pool`; xdist workers claim their places in
    the run's claims file beside the journal), over the preflight's scan from the run context; it counts the
    process's test customers into its `ProcessState.customers`. Off (random identities) unless the profile uses the
    pool."""
    ctx = runcontext.require(pytestconfig)
    worker = worker_id(pytestconfig)
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    scans = {org: OrgScan.from_json(data) for org, data in json.loads(ctx.customer_pool or "{}").items()}
    claims = claims_path(profile.journal_dir, ctx.base_url, ctx.run_id)
    return SuitePool(profile, scans, index, ctx.workers, runcontext.state(pytestconfig).customers, claims)


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
    profile: Profile, pytestconfig: pytest.Config, journal: Journal, partner_clients: dict[str, PartnerProgramClient]
) -> Any:
    """The process's reusable customers (`run.customer_reuse`), when the suite registers its own customers with
    writes allowed (else None: each scenario cleans up after itself). At the end of the process their deferred
    cleanup runs, in batches of 50, unless the run was stopped (the journal keeps the links for the next run)."""
    if profile.provisioning == "pool" or not profile.allow_writes:
        yield None
        return
    reusable = ReusableCustomers()
    yield reusable
    if _stopped(pytestconfig):
        return
    ctx = runcontext.require(pytestconfig)

    def client_for(org: str) -> PartnerProgramClient:
        if org not in partner_clients:
            partner_clients[org] = PartnerProgramClient(ctx.base_url, profile, profile.org(org), workers=ctx.workers)
        return partner_clients[org]

    before = sum(c.requests_sent for c in partner_clients.values())
    reusable.flush(client_for, journal, lambda name: profile.org(name).allow_membership_relinking)
    _count_requests(pytestconfig, partner_clients, before)
    reporter = runcontext.state(pytestconfig).reporter
    if reporter is not None:
        reporter.record_traffic(
            "cleanup at the end of the process", [e for c in partner_clients.values() for e in c.exchanges]
        )


@pytest.fixture
def world(
    profile: Profile,
    pytestconfig: pytest.Config,
    journal: Journal,
    customer_pool: CustomerPool,
    suite_pool: SuitePool,
    reusable_customers: ReusableCustomers | None,
    partner_clients: dict[str, PartnerProgramClient],
    request: Any,
) -> Any:
    """A fresh scenario context over the process's shared clients and reusable customers. At teardown its
    customers the oracle confirmed are kept for reuse and their links left to the deferred cleanup (without reuse
    they are undone at once, from the journal; what cannot be undone stays open for the end-of-run sweep)."""
    ctx = runcontext.require(pytestconfig)
    w = World(
        profile=profile,
        base_url=ctx.base_url,
        run_id=ctx.run_id,
        journal=journal,
        pool=customer_pool,
        suite_pool=suite_pool,
        reusable=reusable_customers,
        clients=partner_clients,
        listens=request.node.get_closest_marker("webhook") is not None,
        workers=ctx.workers,
    )
    before = sum(c.requests_sent for c in partner_clients.values())
    yield w
    w.cleanup(contact_target=not _stopped(pytestconfig))  # a stopped run leaves it to the journal
    state = runcontext.state(pytestconfig)
    if state.reporter is not None:
        state.reporter.record_traffic(request.node.nodeid, w.exchanges())
        traces = pytestconfig.getoption("scenario_traces")
        if traces and w.trace:
            title = getattr(getattr(request.node, "function", None), "__doc__", None) or request.node.nodeid
            state.reporter.record_scenario_trace(Path(traces), request.node.nodeid, title, w.traced())
    _count_requests(pytestconfig, partner_clients, before)
    state.settled += [list(s) for s in w.settled]
    runcontext.observe_exchanges(pytestconfig, profile, w.exchanges())
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


# -- pytest-bdd -> allure (STACK-NOTES trap 1: allure-pytest only) ------------------------------------------------
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Title the scenario's allure result and label it with its feature and requirement ids."""
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
    """Open an allure step named after the Gherkin step."""
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
    """Close the step's allure step."""
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
