"""pytest plugin: options, the target, fixtures, markers and allure reporting.

Loaded by the repository's `conftest.py`. On the controller (or the only
process without xdist) it decides the target once per run: `--base-url` /
`PYTEST_BASE_URL` / the profile's `base_url`, or else the embedded reference
server started in a subprocess (stopped by `config.add_cleanup`). xdist workers
inherit the URL, the run id and the embedded credentials.

Exit codes beyond pytest's own: 3 the target is unreachable (an *error* of the
run, not a conformance failure), 4 the profile is unusable.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import allure
import httpx
import pytest
import yaml

from .catalogue import Requirement, load_catalogue
from .client import redact_text
from .embedded import start_embedded_server
from .profile import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from .schemas import ContractSchemas
from .verdicts import Judge
from .world import World

EXIT_TARGET_UNREACHABLE = 3
EXIT_PROFILE_ERROR = 4
_ROOT = Path(__file__).resolve().parents[2]
_STEP_KEY = pytest.StashKey[list]()
_REQUESTS = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partner-program", "Partner Program conformance")
    group.addoption("--profile", default=os.environ.get("PP_PROFILE", str(DEFAULT_PROFILE)),
                    help="profile YAML describing the target's orgs, credentials (as ${ENV_VAR}), programs "
                         "and tiers (env PP_PROFILE; default profiles/embedded.yaml). See README 'Profiles'.")
    group.addoption("--strict-ambiguity", action="append", default=[], metavar="AMB-ID|all",
                    dest="strict_ambiguity",
                    help="judge this ambiguity of catalogue/ambiguities.yaml strictly (repeatable; env "
                         "PP_STRICT, comma-separated). Default: never fail a target for what the documents "
                         "leave open.")
    group.addoption("--reports-dir", default=str(_ROOT / "reports"),
                    help="where the effective profile and the reference server log are written (default reports/)")


def _strict(config: pytest.Config) -> list[str]:
    env = [s for s in os.environ.get("PP_STRICT", "").split(",") if s.strip()]
    return [s.strip() for s in env] + list(config.getoption("strict_ambiguity"))


def _runs_scenarios(config: pytest.Config) -> bool:
    """False for --help, --collect-only and runs that only touch the project's own tests/."""
    if config.getoption("help", False) or config.getoption("collectonly", False):
        return False
    tests_dir = _ROOT / "tests"
    paths = [Path(a.split("::")[0]).resolve() for a in config.args]
    return not paths or not all(p == tests_dir or tests_dir in p.parents for p in paths)


def pytest_configure(config: pytest.Config) -> None:
    catalogue = load_catalogue()
    for req in catalogue.requirements.values():
        config.addinivalue_line("markers", f"{req.id}: {req.title} ({req.source})")
    for source in sorted({r.source for r in catalogue.requirements.values()}):
        config.addinivalue_line("markers", f"doc/{source.replace('#', '/')}: cites {source}")
    for endpoint in ("linkCustomer", "customerPartnerProgramUpdate", "deLinkCustomer", "relinking", "auth",
                     "request", "identification"):
        config.addinivalue_line("markers", f"{endpoint}: scenarios of {endpoint}")
    if hasattr(config, "workerinput") or not _runs_scenarios(config):
        return
    os.environ.setdefault("PP_RUN_ID", secrets.token_hex(3))
    base_url = config.getoption("base_url", None) or _peek_base_url(config.getoption("profile"))
    if not base_url:
        server = start_embedded_server(Path(config.getoption("reports_dir")) / "reference-server.log")
        config.add_cleanup(server.stop)
        base_url = server.base_url
    config.option.base_url = base_url
    os.environ["PYTEST_BASE_URL"] = base_url
    profile = _load(config)
    _check_reachable(base_url, profile)
    _write_effective_profile(config, profile)


def _peek_base_url(path: str) -> str | None:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # load_profile reports it properly
    return data.get("base_url") if isinstance(data, dict) else None


def _load(config: pytest.Config) -> Profile:
    try:
        return load_profile(config.getoption("profile"), base_url=config.option.base_url,
                            strict=_strict(config))
    except ProfileError as exc:
        pytest.exit(f"profile error: {exc}", returncode=EXIT_PROFILE_ERROR)


def _check_reachable(base_url: str, profile: Profile) -> None:
    try:
        httpx.get(base_url, timeout=profile.timeout_seconds)
    except httpx.TransportError as exc:
        pytest.exit(f"ERROR (not a conformance failure): target {base_url} is unreachable: "
                    f"{type(exc).__name__}: {exc}", returncode=EXIT_TARGET_UNREACHABLE)


def _write_effective_profile(config: pytest.Config, profile: Profile) -> None:
    out = Path(config.getoption("reports_dir"))
    out.mkdir(parents=True, exist_ok=True)
    text = redact_text(json.dumps(profile.redacted(), indent=2), profile.secrets())
    (out / "effective-profile.json").write_text(text + "\n", encoding="utf-8")
    alluredir = config.getoption("allure_report_dir", None)
    if alluredir:
        Path(alluredir).mkdir(parents=True, exist_ok=True)
        env = {"target": profile.base_url or "", "profile": profile.name,
               "strict": ",".join(sorted(profile.strict)) or "none",
               "orgs": ",".join(o.name for o in profile.orgs)}
        (Path(alluredir) / "environment.properties").write_text(
            "".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")


def pytest_report_header(config: pytest.Config) -> list[str]:
    if hasattr(config, "workerinput") or not _runs_scenarios(config):
        return []
    return [f"partner-program target: {config.option.base_url} (profile {config.getoption('profile')})"]


# -- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    """The effective profile (command line > env > file > defaults)."""
    return _load(pytestconfig)


@pytest.fixture(scope="session")
def contract_schemas(profile: Profile) -> ContractSchemas:
    """The contract schemas; strict AMB-EXTRA-FIELDS forbids undocumented response fields."""
    return ContractSchemas.load(forbid_extra_fields=profile.is_strict("AMB-EXTRA-FIELDS"))


@pytest.fixture(scope="session")
def judge(profile: Profile, contract_schemas: ContractSchemas) -> Judge:
    """The verdict engine of this run."""
    return Judge(profile, contract_schemas)


@pytest.fixture
def world(profile: Profile, pytestconfig: pytest.Config) -> Any:
    """A fresh scenario context; its HTTP clients are closed at teardown."""
    base_url = pytestconfig.option.base_url or os.environ.get("PYTEST_BASE_URL")
    if not base_url:
        pytest.fail("no target base URL: pass --base-url or let the suite start the embedded server")
    w = World(profile=profile, base_url=base_url, run_id=os.environ.get("PP_RUN_ID", "local"))
    yield w
    for client in w.clients.values():
        pytestconfig.stash[_REQUESTS] = pytestconfig.stash.get(_REQUESTS, 0) + len(client.exchanges)
        client.close()


@pytest.fixture
def requirements(request: pytest.FixtureRequest) -> list[Requirement]:
    """The catalogue requirements the scenario is tagged with, in catalogue order (pytest-bdd keeps
    tags in a set, so tag order is not stable across processes)."""
    catalogue = load_catalogue()
    tagged = {m.name for m in request.node.iter_markers()}
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


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    ctx = allure.step(f"{step.keyword} {step.name}")
    ctx.__enter__()
    request.node.stash.setdefault(_STEP_KEY, []).append(ctx)


def _close_step(request: pytest.FixtureRequest, exc: BaseException | None) -> None:
    stack = request.node.stash.get(_STEP_KEY, [])
    if stack:
        ctx = stack.pop()
        ctx.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    _close_step(request, None)


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: BaseException) -> None:
    """Attach every exchange of the scenario (redacted) to the failing step, then close it."""
    world = request.getfixturevalue("world") if "world" in request.fixturenames else None
    if isinstance(world, World):
        for n, ex in enumerate(ex for c in world.clients.values() for ex in c.exchanges):
            allure.attach(ex.render(limit=20000), name=f"exchange {n + 1}: {ex.method} {ex.url}",
                          attachment_type=allure.attachment_type.TEXT)
    _close_step(request, exception)


# -- request count: summed over xdist workers, printed at the end of the run --------------
def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["pp_requests"] = session.config.stash.get(_REQUESTS, 0)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    config = node.config
    config.stash[_REQUESTS] = config.stash.get(_REQUESTS, 0) + int(output.get("pp_requests", 0))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _REQUESTS in config.stash:
        terminalreporter.write_line(f"partner-program: {config.stash[_REQUESTS]} HTTP requests sent to "
                                    f"{config.option.base_url}")
