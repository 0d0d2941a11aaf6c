"""The run context: what the xdist controller settles once per run and every process reads, and the state each
process keeps of its own part of the run.

Invariants (enforced by `tests/test_invariants.py`):

- run state travels only through `RunContext`: in every process it lives in
  `config.stash[RUN_CONTEXT]`; the controller hands it to each xdist worker in
  `node.workerinput["pp_run"]` (hook `pytest_configure_node` of `ppconformance.plugin.run_setup`),
  and the worker rebuilds it in its own `pytest_configure`. No environment variable
  carries run state (no `PP_RUN_ID`, `PP_DISCOVERY`, `PYTEST_BASE_URL` set by the suite); the target's base
  URL, the reports folder, the profile's path and the number of workers are settled once, here
  (`RunContext.base_url`, `reports_dir`, `profile_path`, `workers`), and `config.option.base_url` is never
  written (the one option the suite sets is where JUnit and allure-pytest write, `plugin.options`);
- what one process counts and keeps (its outcome tracker, reporter, preflight, request count, convergence
  figures, the fuzz stage's settings, findings and figures) lives in its `ProcessState` (`state`);
- the plugins ask this module, not each other's private helpers, whether the run
  collects conformance scenarios (`runs_scenarios`) and for the run's profile (`run_profile`).

The context is built in stages on the controller (target, then discovery, then the fuzz
seed, then the webhook set-up), each stage storing a new frozen value with `update`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ppconformance.connection.client import Exchange
from ppconformance.connection.profile import Profile, ProfileError, load_profile
from ppconformance.judge.readings import Readings, tenant_of
from ppconformance.run.customer_pool import PoolTally

__all__ = [
    "INI_KEY",
    "RUN_CONTEXT",
    "SUITE_PLUGIN",
    "WORKERINPUT_KEY",
    "observe_exchanges",
    "readings",
    "ProcessState",
    "RunContext",
    "RunOptions",
    "asked",
    "get",
    "load_run_profile",
    "options",
    "profile_environment",
    "require",
    "run_profile",
    "state",
    "runs_scenarios",
    "update",
    "usable",
]

WORKERINPUT_KEY = "pp_run"
"""Key of the context in `workerinput` (a JSON-like dict, as execnet requires)."""


@dataclass(frozen=True)
class RunContext:
    """The run's state, settled by the controller.

    - `run_id`: 6 hex digits naming this run in the journal, customer data and the webhook's name;
    - `base_url`: the target's base URL (the embedded server's when `ephemeral`): `--base-url` (or
      `PYTEST_BASE_URL`), else the profile's `base_url`, else the embedded server's; the one place it lives;
    - `reports_dir`: where every report of the run goes (JUnit, allure results, conformance.*, deliveries...):
      `--reports-dir`, default `./reports` of the directory the run started in;
    - `profile_path`: the profile file (`--profile`, env PP_PROFILE, else the embedded profile);
    - `workers`: how many processes run scenarios (xdist workers, or 1);
    - `rate_limit_file`: when xdist runs the scenarios, the file of the run's one rate-limit window that every
      process of the run counts its requests in (`connection.client.share_rate_limit`); "" in a run of one process;
    - `ephemeral`: True when the target is the embedded reference server this run started;
    - `reference_target`: True when the target is this project's reference server (the embedded one, or
      `--reference-target`): only then may the suite use its `/__reference__/` admin API (clock, webhooks);
    - `embedded_env`: the generated credentials of the embedded server's orgs (names of
      `ppconformance.connection.embedded.EMBEDDED_SECRET_VARS` -> value); secret, never repr'd or written;
    - `discovery`: the preflight's discovery of every org as JSON (`Preflight.discovery_json`), "" before it;
    - `customer_pool`: the preflight's scan of every org's customer pool as JSON (`Preflight.pool_json`; each
      process takes its share of it, `run.customer_pool.SuitePool`), "" before it or without the pool;
    - `fuzz_seed`: the fuzz stage's hypothesis seed, None before it is drawn;
    - `webhooks`: the webhook set-up as plain data (`webhooks.plugin.WebhookRun` fields), {} before it;
    - `webhook_token`: the token that lets workers read the run's sink; secret, never repr'd;
    - `webhook_secret`: the auth header value the suite's webhook carries (mode register: the process whose webhook
      scenario comes first registers the webhook with it); secret, never repr'd;
    - `oauth_tokens`: the OAuth tokens the controller generated (`connection.client.held_tokens`), handed to each
      xdist worker when it is set up, so that the workers send no token request of their own; secret, never
      repr'd or written;
    - `run_error`: why the run cannot judge anything ({"name", "message", "exit_code"}: the profile is unusable,
      or the target is unreachable or broken at the probe or discovery), {} when it can. Every process then
      collects one test of that name, which errors with the message (`plugin.run_setup.RunErrorItem`): pytest and
      allure-pytest report it, and the exit code is `exit_code`.
    """

    run_id: str
    base_url: str
    reports_dir: str = "reports"
    profile_path: str = ""
    workers: int = 1
    rate_limit_file: str = ""
    ephemeral: bool = False
    reference_target: bool = False
    embedded_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    discovery: str = ""
    customer_pool: str = ""
    fuzz_seed: int | None = None
    webhooks: Mapping[str, Any] = field(default_factory=dict)
    webhook_token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    oauth_tokens: Mapping[str, Any] = field(default_factory=dict, repr=False)
    run_error: Mapping[str, Any] = field(default_factory=dict)

    def to_workerinput(self) -> dict[str, Any]:
        """Plain data for `workerinput` (execnet sends only builtins)."""
        data = dataclasses.asdict(self)
        data["embedded_env"] = dict(self.embedded_env)
        data["webhooks"] = dict(self.webhooks)
        data["run_error"] = dict(self.run_error)
        data["oauth_tokens"] = {k: list(v) for k, v in self.oauth_tokens.items()}
        return data

    @classmethod
    def from_workerinput(cls, data: Mapping[str, Any]) -> RunContext:
        """The inverse of `to_workerinput`; KeyError/TypeError on data that is not one."""
        return cls(**dict(data))


RUN_CONTEXT = pytest.StashKey[RunContext]()
_PROFILE = pytest.StashKey[Profile]()


@dataclass
class ProcessState:
    """What one process (the controller, an xdist worker, or the only process) keeps of its part of the run.

    - `tracker`, `reporter`, `preflight`: the outcome tracker (`run.outcomes.OutcomeTracker`), the conformance
      reporter (`plugin.reporting.ConformanceReporter`) and, on the controller, the preflight (None until set);
    - `requests`: HTTP requests this process sent; `settled`: per re-read state read, [seconds, agreed];
    - `fuzz_settings`: the fuzz stage's settings (`connection.profile.FuzzSettings`), None before `fuzz.plugin`
      settled them; `fuzz_findings`: per test node id, its findings; `fuzz_summary`: the stage's figures;
    - `check_config`: with `--check-config`, the configuration check's report and exit code (0, or 12 on drift),
      once the preflight made it: the run then collects nothing and ends with them;
    - `readings`: the readings this process saw (`judge.readings.Readings`), None before its first scenario;
      `deliveries`: on the process that runs the webhook sink, its live list of deliveries (for the readings);
    - `customers`: the test customers this process registered, reused and set aside (`run.customer_pool.PoolTally`;
      on the controller, the run's sum once the workers are done).
    """

    tracker: Any = None
    reporter: Any = None
    preflight: Any = None
    requests: int = 0
    settled: list[list[Any]] = field(default_factory=list)
    fuzz_settings: Any = None
    fuzz_findings: dict[str, list[Any]] = field(default_factory=dict)
    fuzz_summary: list[str] = field(default_factory=list)
    check_config: tuple[str, int] | None = None
    readings: Any = None
    deliveries: Any = None
    customers: PoolTally = field(default_factory=PoolTally)


_STATE = pytest.StashKey[ProcessState]()


def state(config: pytest.Config) -> ProcessState:
    """This process's `ProcessState` (created on first use)."""
    if _STATE not in config.stash:
        config.stash[_STATE] = ProcessState()
    return config.stash[_STATE]


def get(config: pytest.Config) -> RunContext | None:
    """This process's run context, or None when the run collects no conformance scenarios."""
    return config.stash.get(RUN_CONTEXT, None)


def usable(config: pytest.Config) -> RunContext | None:
    """The run context when the run can judge (no `run_error`), else None: the plugins then stay inert."""
    ctx = get(config)
    return ctx if ctx is not None and not ctx.run_error else None


def require(config: pytest.Config) -> RunContext:
    """This process's run context; `pytest.fail` (an error of the test using it) when there is none."""
    ctx = get(config)
    if ctx is None:
        pytest.fail("no run context: the conformance fixtures are used outside a conformance run")
    return ctx


def update(config: pytest.Config, **changes: Any) -> RunContext:
    """Store a copy of the run context with `changes` (field name -> value) and return it.

    Raises KeyError when no context was stored yet (the target is settled first)."""
    ctx = dataclasses.replace(config.stash[RUN_CONTEXT], **changes)
    config.stash[RUN_CONTEXT] = ctx
    return ctx


INI_KEY = "pp_conformance"
"""The ini setting (`pp_conformance = true`) that makes a project's own `pytest` a conformance run: this
repository's pyproject.toml sets it, and so does the packaged suite's pytest.ini that `pp-conformance` runs."""

SUITE_PLUGIN = "ppconformance.plugin.fixtures"
"""The plugin the suite's root conftest.py loads (`pytest_plugins`): registered only where the suite's scenarios
and step definitions are (this repository, or the packaged suite)."""


def asked(config: pytest.Config) -> bool:
    """True when the run asks for the conformance suite: the ini setting `pp_conformance` of the project being run,
    or `--profile` or `--base-url` on the command line."""
    explicit = config.getoption("profile", None) is not None or config.getoption("base_url", None) is not None
    return bool(config.getini(INI_KEY)) or explicit


def runs_scenarios(config: pytest.Config) -> bool:
    """True when this run is a conformance run, which starts the embedded server, the webhook sink, the preflight
    and the reports. All of:

    - it asks for the suite (`asked`);
    - it has the suite: its root conftest loaded `SUITE_PLUGIN` (another project with `--base-url` of its own, or
      with this package merely installed, has not);
    - it is not `--help`, `--collect-only`, `--markers` or `--fixtures`;
    - it runs the suite's scenarios: no path given (pytest takes `testpaths`), or one inside a `testpaths` folder
      (so `pytest tests` of this repository is not one, nor a run elsewhere collecting its own directory).

    Otherwise the plugins stay inert: they register their options and markers, nothing else."""
    option = config.option
    if any(getattr(option, name, False) for name in ("help", "collectonly", "showmarkers", "showfixtures")):
        return False
    if not asked(config) or not config.pluginmanager.has_plugin(SUITE_PLUGIN):
        return False
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    scenario_dirs = [(config.rootpath / p).resolve() for p in config.getini("testpaths")] or [config.rootpath]
    paths = [Path(a.split("::")[0]).resolve() for a in config.args]
    return any(p == d or d in p.parents or p in d.parents for p in paths for d in scenario_dirs)


@dataclass(frozen=True)
class RunOptions:
    """Every command-line option and ini value the run's set-up reads, read once per process (`options`), so that
    the set-up passes plain values on, not `config`.

    - `profile_path`: `--profile`, else env PP_PROFILE, else the embedded profile;
    - `reports_dir`: `--reports-dir`, else `reports/` of the directory the run started in (an xdist worker takes
      the controller's, from the run context);
    - `allure_dir`: `--alluredir`, else `<reports_dir>/allure-results` (`plugin.options` points allure-pytest there);
    - `base_url`: `--base-url` (or env PYTEST_BASE_URL), None when not given;
    - `strict`: the ambiguity ids of `--strict-ambiguity` (repeatable; "all" for every one);
    - `allow_writes`, `rate_limit`: `--allow-writes`/`--read-only` and `--rate-limit`, None when not given;
    - `reference_target`, `check_config`, `write_profile`, `waivers`, `baseline`, `evidence`, `require_complete`:
      those options; `selection`: how the run narrowed the suite ("-m 'LINK-2003'", paths), "" for all of it;
    - `worker`: the xdist worker id ("gw0", ...) or "main"; `workerinput`: the controller's run context as plain
      data on an xdist worker (`RunContext.to_workerinput`), None on the controller or without xdist;
    - `distributed`: True on the controller of a run whose scenarios xdist runs in workers (`-n N`, N >= 1).
    """

    profile_path: str
    reports_dir: Path
    allure_dir: Path
    base_url: str | None = None
    strict: tuple[str, ...] = ()
    allow_writes: bool | None = None
    rate_limit: int | None = None
    reference_target: bool = False
    check_config: bool = False
    write_profile: str | None = None
    waivers: str | None = None
    baseline: str | None = None
    evidence: str | None = None
    require_complete: bool = False
    selection: str = ""
    worker: str = "main"
    workerinput: Mapping[str, Any] | None = None
    distributed: bool = False

    @classmethod
    def of(cls, config: pytest.Config) -> RunOptions:
        """Read them from `config` (options, env PP_PROFILE, the xdist worker's input)."""
        from ppconformance.connection.profile import DEFAULT_PROFILE

        get_option = config.getoption
        xdist = getattr(config, "workerinput", {})
        workerinput = xdist.get(WORKERINPUT_KEY)
        given = get_option("reports_dir", None)
        if workerinput is not None:
            reports = Path(workerinput["reports_dir"])
        else:
            reports = Path(given) if given else config.invocation_params.dir / "reports"
        allure = get_option("allure_report_dir", None)
        return cls(
            profile_path=str(get_option("profile", None) or os.environ.get("PP_PROFILE") or DEFAULT_PROFILE),
            reports_dir=reports,
            allure_dir=Path(allure) if allure else reports / "allure-results",
            base_url=get_option("base_url", None) or None,
            strict=tuple(s.strip() for s in get_option("strict_ambiguity", None) or () if s.strip()),
            allow_writes=get_option("allow_writes", None),
            rate_limit=get_option("rate_limit", None),
            reference_target=bool(get_option("reference_target", False)),
            check_config=bool(get_option("check_config", False)),
            write_profile=get_option("write_profile", None),
            waivers=get_option("waivers", None),
            baseline=get_option("baseline", None),
            evidence=get_option("evidence", None),
            require_complete=bool(get_option("require_complete", False)),
            selection=_selection(config),
            worker=str(xdist.get("workerid", "main")),
            workerinput=workerinput,
            distributed=get_option("dist", "no") != "no" and bool(get_option("tx", None)),
        )


def _selection(config: pytest.Config) -> str:
    """How the run narrowed the suite, for "not judged" reasons: "-m EXPR", "-k EXPR", the paths given; "" for
    the whole suite."""
    parts = []
    if config.option.markexpr:
        parts.append(f"-m {config.option.markexpr!r}")
    if config.option.keyword:
        parts.append(f"-k {config.option.keyword!r}")
    suite_dirs = {(config.rootpath / p).resolve() for p in config.getini("testpaths")}
    given = [a for a in config.args if Path(a.split("::")[0]).resolve() not in suite_dirs]
    if config.args_source == pytest.Config.ArgsSource.ARGS and given:
        parts.append("only " + " ".join(given))
    return " ".join(parts)


_OPTIONS = pytest.StashKey[RunOptions]()


def options(config: pytest.Config) -> RunOptions:
    """This process's `RunOptions`, read on first use and kept in the stash."""
    if _OPTIONS not in config.stash:
        config.stash[_OPTIONS] = RunOptions.of(config)
    return config.stash[_OPTIONS]


def profile_environment(ctx: RunContext | None) -> dict[str, str]:
    """The environment `${VAR}` references and `PP__KEY` overrides of the profile are read from:
    the process environment, with the embedded server's generated credentials (if any) where unset."""
    env = dict(os.environ)
    if ctx is not None:
        for name, value in ctx.embedded_env.items():
            env.setdefault(name, value)
    return env


def load_run_profile(opts: RunOptions, ctx: RunContext | None) -> Profile:
    """The run's profile: `opts.profile_path` with the command line's overrides, the base URL of `ctx` (once
    settled) and its environment (`profile_environment`). Raises `ProfileError` whose message says what is wrong
    and, for `--base-url` without `--profile`, what a profile is (`NO_PROFILE_HELP`)."""
    from ppconformance.connection.profile import DEFAULT_PROFILE

    try:
        return load_profile(
            ctx.profile_path if ctx else opts.profile_path,
            base_url=ctx.base_url if ctx else None,
            strict=list(opts.strict),
            allow_writes=opts.allow_writes,
            rate_limit_per_minute=opts.rate_limit,
            env=profile_environment(ctx),
        )
    except ProfileError as exc:
        message = f"profile error: {exc}"
        explicit = opts.profile_path != str(DEFAULT_PROFILE)
        if not explicit and "PP_EMBEDDED_" in str(exc) and "is not set" in str(exc):
            message += "\n" + NO_PROFILE_HELP
        raise ProfileError(message) from exc


def run_profile(config: pytest.Config) -> Profile:
    """The run's profile (`load_run_profile`), loaded once per process after the base URL is settled and kept in
    the stash. Raises `ProfileError`."""
    if _PROFILE not in config.stash:
        config.stash[_PROFILE] = load_run_profile(options(config), get(config))
    return config.stash[_PROFILE]


NO_PROFILE_HELP = """\
--base-url was given without --profile, so the suite used its default profile, profiles/embedded.yaml,
which describes the embedded reference server (its credentials are generated for each run).
To test another target, write a profile for it: a YAML file naming the target's orgs, their
credentials as ${ENV_VAR} references (Basic till/password or OAuth key/secret), and the partner
programs and tiers the scenarios may use; then run
    pytest --base-url=https://your-cluster.example --profile=your-org.yaml --read-only
Start from profiles/staging-eu.example.yaml (every key is described in docs/profiles.md);
`--check-config --write-profile=FILE` writes the programs and tiers discovery finds into a copy of it."""
"""What a vendor is told when `--base-url` is given without `--profile` and the embedded profile's
credentials are therefore missing (the profile error names the unset variable first)."""


def readings(config: pytest.Config, profile: Profile | None = None) -> Readings:
    """This process's readings (`judge.readings.Readings`), made on first use for `profile`'s paths and programs
    (without a profile: one that only merges and reads events, as the xdist controller's)."""
    state_ = state(config)
    if state_.readings is None:
        if profile is None:
            state_.readings = Readings()
        else:
            programs = [p for org in profile.orgs for p in org.programs.values()]
            state_.readings = Readings.for_profile(
                profile.paths, {p.name for p in programs}, {p.name for p in programs if not p.membership_period}
            )
    return state_.readings


def observe_exchanges(config: pytest.Config, profile: Profile, exchanges: Iterable[Exchange]) -> None:
    """Add a scenario's exchanges to this process's readings (the readings report reads answers, never judges)."""
    seen = readings(config, profile)
    for ex in exchanges:
        tenant = tenant_of(ex.request_headers)
        seen.observe(ex.method, urlsplit(ex.url).path, ex.request_body, ex.status, ex.response_json, tenant=tenant)
