"""The run context: what the xdist controller settles once per run and every process reads.

Invariants (enforced by `tests/test_invariants.py`):

- run state travels only through `RunContext`: in every process it lives in
  `config.stash[RUN_CONTEXT]`; the controller hands it to each xdist worker in
  `node.workerinput["pp_run"]` (hook `pytest_configure_node` of `ppconformance.plugin.core`),
  and the worker rebuilds it in its own `pytest_configure`. No environment variable
  carries run state (no `PP_RUN_ID`, `PP_DISCOVERY`, `PYTEST_BASE_URL` set by the suite);
- the plugins ask this module, not each other's private helpers, whether the run
  collects conformance scenarios (`runs_scenarios`) and for the run's profile (`run_profile`).

The context is built in stages on the controller (target, then discovery, then the fuzz
seed, then the webhook set-up), each stage storing a new frozen value with `update`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ppconformance.connection.profile import Profile, ProfileError, load_profile

__all__ = [
    "RUN_CONTEXT",
    "WORKERINPUT_KEY",
    "RunContext",
    "get",
    "profile_environment",
    "require",
    "run_profile",
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
    - `base_url`: the target's base URL (the embedded server's when `ephemeral`);
    - `ephemeral`: True when the target is the embedded reference server this run started;
    - `reference_target`: True when the target is this project's reference server (the embedded one, or
      `--reference-target`): only then may the suite use its `/__reference__/` admin API (clock, webhooks);
    - `embedded_env`: the generated credentials of the embedded server's orgs (names of
      `ppconformance.connection.embedded.EMBEDDED_SECRET_VARS` -> value); secret, never repr'd or written;
    - `discovery`: the preflight's discovery of every org as JSON (`Preflight.discovery_json`), "" before it;
    - `fuzz_seed`: the fuzz stage's hypothesis seed, None before it is drawn;
    - `webhooks`: the webhook set-up as plain data (`webhooks.plugin.WebhookRun` fields), {} before it;
    - `webhook_token`: the token that lets workers read the run's sink; secret, never repr'd;
    - `webhook_secret`: the auth header value the suite's webhook carries (mode register: the process whose webhook
      scenario comes first registers the webhook with it); secret, never repr'd;
    - `run_error`: why the run cannot judge anything ({"name", "message", "exit_code"}: the profile is unusable,
      or the target is unreachable or broken at the probe or discovery), {} when it can. Every process then
      collects one test of that name, which errors with the message (`plugin.core.RunErrorItem`): pytest and
      allure-pytest report it, and the exit code is `exit_code`.
    """

    run_id: str
    base_url: str
    ephemeral: bool = False
    reference_target: bool = False
    embedded_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    discovery: str = ""
    fuzz_seed: int | None = None
    webhooks: Mapping[str, Any] = field(default_factory=dict)
    webhook_token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    run_error: Mapping[str, Any] = field(default_factory=dict)

    def to_workerinput(self) -> dict[str, Any]:
        """Plain data for `workerinput` (execnet sends only builtins)."""
        data = dataclasses.asdict(self)
        data["embedded_env"] = dict(self.embedded_env)
        data["webhooks"] = dict(self.webhooks)
        data["run_error"] = dict(self.run_error)
        return data

    @classmethod
    def from_workerinput(cls, data: Mapping[str, Any]) -> RunContext:
        """The inverse of `to_workerinput`; KeyError/TypeError on data that is not one."""
        return cls(**dict(data))


RUN_CONTEXT = pytest.StashKey[RunContext]()
_PROFILE = pytest.StashKey[Profile]()


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


def runs_scenarios(config: pytest.Config) -> bool:
    """False for --help, --collect-only and runs that only touch the project's own `tests/`.

    Only a run that collects conformance scenarios starts the embedded server, the webhook sink
    and the preflight; the plugin is otherwise inert (it only registers its options and markers)."""
    if config.getoption("help", False) or config.getoption("collectonly", False):
        return False
    tests_dir = config.rootpath / "tests"
    paths = [Path(a.split("::")[0]).resolve() for a in config.args]
    return not paths or not all(p == tests_dir or tests_dir in p.parents for p in paths)


def profile_environment(config: pytest.Config) -> dict[str, str]:
    """The environment `${VAR}` references and `PP__KEY` overrides of the profile are read from:
    the process environment, with the embedded server's generated credentials (if any) where unset."""
    ctx = get(config)
    env = dict(os.environ)
    if ctx is not None:
        for name, value in ctx.embedded_env.items():
            env.setdefault(name, value)
    return env


def strict_ids(config: pytest.Config) -> list[str]:
    """The ambiguity ids given with `--strict-ambiguity` (repeatable; `all` for every one)."""
    return [s.strip() for s in config.getoption("strict_ambiguity") if s.strip()]


def run_profile(config: pytest.Config) -> Profile:
    """The run's profile, loaded once per process (after the base URL is settled) and kept in the stash.

    Raises `ProfileError` whose message (`profile_error_message`) says what is wrong and, for `--base-url`
    without `--profile`, what a profile is."""
    if _PROFILE in config.stash:
        return config.stash[_PROFILE]
    ctx = get(config)
    try:
        config.stash[_PROFILE] = load_profile(
            config.getoption("profile"),
            base_url=(ctx.base_url if ctx else None) or config.option.base_url,
            strict=strict_ids(config),
            allow_writes=config.getoption("allow_writes"),
            rate_limit_per_minute=config.getoption("rate_limit"),
            env=profile_environment(config),
        )
        return config.stash[_PROFILE]
    except ProfileError as exc:
        message = f"profile error: {exc}"
        if _missing_embedded_secret(config, str(exc)):
            message += "\n" + NO_PROFILE_HELP
        raise ProfileError(message) from exc


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


def _missing_embedded_secret(config: pytest.Config, message: str) -> bool:
    from ppconformance.connection.profile import DEFAULT_PROFILE

    explicit = config.getoption("profile") != str(DEFAULT_PROFILE)
    return not explicit and "PP_EMBEDDED_" in message and "is not set" in message
