"""Run setup: the target, the profile, the embedded server, the preflight and the write guard.

A pytest plugin (entry point `pytest11`), inert unless the run is a conformance run (`runcontext.runs_scenarios`).
`pytest_configure` reads the options once (`runcontext.RunOptions`) and, on the controller (or the only process
without xdist), settles the run without a word to the target:

1. the target: `--base-url` (or `PYTEST_BASE_URL`), else the profile's `base_url`
   (`connection.profile.declared_base_url`), else the embedded reference server, started in a subprocess and
   stopped by `config.add_cleanup`; the result is `RunContext.base_url`, the one place the base URL lives;
2. the profile (unusable: every process collects one `RunErrorItem`, exit 11);
3. the outcome tracker and the conformance reporter of the process (`ProcessState`).

`pytest_sessionstart` (controller, before xdist starts its workers) is the preflight: the target is probed
(unreachable or broken: a `RunErrorItem`, exit 10), the org's programs discovered and compared with the profile
(`--check-config` stops there: exit 12 on drift), and links left in the journal by an earlier, killed run are
cleaned up. xdist workers receive the run context in `workerinput` (`pytest_configure_node`) and rebuild it. The
write guard (`pytest_collection_modifyitems`) skips, in a read-only run, every scenario not tagged `read_only`. The
end of the run (journal sweep, exit code, summary) is `plugin.report_hooks`. Exit codes: `run.outcomes`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ppconformance import __version__
from ppconformance.connection.client import (
    TargetError,
    TargetUnreachable,
    adopt_tokens,
    held_tokens,
    probe_target,
    redact_text,
    share_rate_limit,
)
from ppconformance.connection.embedded import embedded_credentials, start_embedded_server
from ppconformance.connection.profile import Profile, ProfileError, declared_base_url
from ppconformance.plugin import runcontext
from ppconformance.plugin.allure_meta import write_allure_metadata
from ppconformance.plugin.reporting import ConformanceReporter
from ppconformance.report.baseline import BaselineError, load_baseline
from ppconformance.report.waivers import WaiverError, Waivers, load_waivers
from ppconformance.run.discovery import NotThePartnerProgramApi
from ppconformance.run.outcomes import EXIT_DRIFT, EXIT_PROFILE_ERROR, EXIT_TARGET_ERROR, OutcomeTracker
from ppconformance.run.preflight import Preflight, apply_discovery, run_preflight, starter_profile

__all__ = ["RunErrorItem", "RunNotStarted", "RunSetup", "worker_id"]


def worker_id(config: pytest.Config) -> str:
    """The xdist worker id ("gw0", ...) or "main" without xdist."""
    return runcontext.options(config).worker


@dataclass
class RunSetup:
    """What the set-up of one process settled: the run context, the profile (None when it is unusable), the
    outcome tracker and the conformance reporter (None when the run cannot judge: `ctx.run_error`)."""

    ctx: runcontext.RunContext
    profile: Profile | None
    tracker: OutcomeTracker
    reporter: ConformanceReporter | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Settle the run (controller) or rebuild it from `workerinput` (xdist worker), then keep what was settled in
    the run context and the `ProcessState`; see the module docstring. `config` goes no further than this hook:
    the set-up works on `RunOptions`, read once. Nothing here talks to the target: that is the preflight's
    (`pytest_sessionstart`)."""
    if not runcontext.runs_scenarios(config):
        return
    opts = runcontext.options(config)
    setup = _worker(opts) if opts.workerinput is not None else _controller(opts, config.add_cleanup)
    config.stash[runcontext.RUN_CONTEXT] = setup.ctx
    state = runcontext.state(config)
    state.tracker, state.reporter = setup.tracker, setup.reporter
    config.pluginmanager.register(setup.tracker, "pp-outcomes")
    if setup.reporter is not None:  # after the tracker: it sees the tracker's reclassified reports
        config.pluginmanager.register(setup.reporter, "pp-conformance-report")


def _worker(opts: runcontext.RunOptions) -> RunSetup:
    """An xdist worker: the controller's run context, its profile, tracker and reporter; its requests count in the
    run's shared rate-limit window (`RunContext.rate_limit_file`)."""
    ctx = runcontext.RunContext.from_workerinput(opts.workerinput or {})
    share_rate_limit(ctx.rate_limit_file or None)
    adopt_tokens(ctx.oauth_tokens)
    if ctx.run_error:
        return RunSetup(ctx, None, OutcomeTracker())
    profile = runcontext.load_run_profile(opts, ctx)
    tracker = OutcomeTracker(profile.stop_after_transport_errors)
    return RunSetup(ctx, profile, tracker, _reporter(opts, ctx, profile, tracker))


def _controller(opts: runcontext.RunOptions, add_cleanup: Callable[[Callable[[], None]], None]) -> RunSetup:
    """The controller (or the only process): target, profile, tracker, reporter, in that order; an unusable profile
    makes a run that cannot judge (`_cannot_judge`); a broken waivers or baseline file, or a profile error under
    --check-config, exits."""
    base_url = opts.base_url or declared_base_url(opts.profile_path, runcontext.profile_environment(None))
    ephemeral = not base_url
    embedded_env: dict[str, str] = {}
    if not base_url:
        embedded_env = embedded_credentials()
        server = start_embedded_server(opts.reports_dir / "reference-server.log", embedded_env)
        add_cleanup(server.stop)
        base_url = server.base_url
    run_id = secrets.token_hex(3)
    ctx = runcontext.RunContext(
        run_id=run_id,
        base_url=base_url,
        reports_dir=str(opts.reports_dir),
        profile_path=opts.profile_path,
        rate_limit_file=_shared_rate_limit(run_id, add_cleanup) if opts.distributed else "",
        ephemeral=ephemeral,
        reference_target=ephemeral or opts.reference_target,
        embedded_env=embedded_env,
    )
    try:
        profile = runcontext.load_run_profile(opts, ctx)
    except ProfileError as exc:
        if opts.check_config:
            pytest.exit(str(exc), returncode=EXIT_PROFILE_ERROR)
        return _cannot_judge(ctx, "the profile is usable", str(exc), EXIT_PROFILE_ERROR)
    tracker = OutcomeTracker(profile.stop_after_transport_errors)
    if opts.check_config:  # a configuration check judges nothing: no conformance report
        _write_effective_profile(opts, ctx, profile)
        return RunSetup(ctx, profile, tracker)
    try:
        reporter = _reporter(opts, ctx, profile, tracker)
        if opts.baseline:
            load_baseline(opts.baseline)
    except (WaiverError, BaselineError) as exc:
        pytest.exit(f"ERROR (not a conformance failure): {exc}", returncode=EXIT_PROFILE_ERROR)
    if opts.evidence:
        reporter.clear_traffic()
    _write_effective_profile(opts, ctx, profile)
    return RunSetup(ctx, profile, tracker, reporter)


def _shared_rate_limit(run_id: str, add_cleanup: Callable[[Callable[[], None]], None]) -> str:
    """The controller of a run whose scenarios xdist runs: the file of the run's one rate-limit window
    (`connection.client.share_rate_limit`), in the temporary directory, named by the run id; the controller counts
    its own requests there too (preflight, cleanup) and removes the file at the end of the run."""
    path = Path(tempfile.gettempdir()) / f"pp-conformance-{run_id}-rate-limit.sqlite"
    share_rate_limit(str(path))

    def remove() -> None:
        share_rate_limit(None)
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    add_cleanup(remove)
    return str(path)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Controller: the preflight, the run's first words with the target, before any xdist worker starts (xdist
    starts them in its own, later `pytest_sessionstart`, and hands each the run context then): the target is
    probed, the org's programs discovered (into the run context) and compared with the profile, and links an
    earlier, killed run left in the journal cleaned up. An unreachable or broken target makes a run that cannot
    judge (exit 10); `--check-config` stops here."""
    config = session.config
    ctx = runcontext.get(config)
    if ctx is None or ctx.run_error or hasattr(config, "workerinput"):
        return
    opts, profile = runcontext.options(config), runcontext.run_profile(config)
    try:
        probe_target(ctx.base_url, profile)
        preflight = run_preflight(
            ctx.base_url, profile, ctx.run_id, ephemeral=ctx.ephemeral, reports_dir=opts.reports_dir
        )
    except TargetError as exc:
        what = "is unreachable" if isinstance(exc, TargetUnreachable) else "could not be used"
        cause = str(exc) if isinstance(exc, NotThePartnerProgramApi) else f"target {ctx.base_url} {what}: {exc}"
        message = f"ERROR (not a conformance failure): {cause}"
        if opts.check_config:
            runcontext.state(config).check_config = (message, EXIT_TARGET_ERROR)
            return
        name = (
            "the target answers as the Partner Program API"
            if isinstance(exc, NotThePartnerProgramApi)
            else "the target is usable (reachability probe and discovery)"
        )
        failed = _cannot_judge(ctx, name, message, EXIT_TARGET_ERROR)
        config.stash[runcontext.RUN_CONTEXT] = failed.ctx
        runcontext.state(config).tracker.run_error_code = EXIT_TARGET_ERROR
        return
    state = runcontext.state(config)
    state.preflight = preflight
    ctx = runcontext.update(config, discovery=preflight.discovery_json(), customer_pool=preflight.pool_json())
    state.customers.add(preflight.tally.to_json())
    if opts.check_config:
        state.check_config = _check_config(opts, profile, preflight)
        return
    _write_effective_profile(opts, ctx, apply_discovery(profile, ctx.discovery))


def _check_config(opts: runcontext.RunOptions, profile: Profile, preflight: Preflight) -> tuple[str, int]:
    """`--check-config`: the configuration check's report (and the starter profile written, with
    `--write-profile`), and its exit code: 0, or 12 on drift. The run then collects nothing (see
    `pytest_collection_modifyitems`) and ends with them (`plugin.report_hooks`)."""
    report = preflight.report()
    if opts.write_profile:
        completed = apply_discovery(profile, preflight.discovery_json())
        text = Path(opts.profile_path).read_text(encoding="utf-8")
        Path(opts.write_profile).write_text(starter_profile(text, completed, preflight), encoding="utf-8")
        report += f"\nstarter profile written to {opts.write_profile}"
    return report, EXIT_DRIFT if preflight.drift else 0


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run context, with the number of workers and the OAuth tokens the preflight
    generated (`connection.client.held_tokens`), to the worker being set up."""
    ctx = runcontext.get(node.config)
    if ctx is not None:
        workers = int(node.workerinput.get("workercount", 1) or 1)
        ctx = dataclasses.replace(ctx, workers=workers, oauth_tokens=held_tokens())
        node.workerinput[runcontext.WORKERINPUT_KEY] = ctx.to_workerinput()


def _reporter(
    opts: runcontext.RunOptions, ctx: runcontext.RunContext, profile: Profile, tracker: OutcomeTracker
) -> ConformanceReporter:
    """The conformance reporter of this process. Raises `WaiverError` for a broken waivers file."""
    waivers: Waivers | None = load_waivers(opts.waivers, ctx.base_url) if opts.waivers else None
    return ConformanceReporter(
        profile=profile,
        target=ctx.base_url,
        reports_dir=opts.reports_dir,
        waivers=waivers,
        baseline=opts.baseline,
        evidence=opts.evidence,
        tracker=tracker,
        worker=opts.worker,
        selection=opts.selection,
        require_complete=opts.require_complete,
    )


def _cannot_judge(ctx: runcontext.RunContext, name: str, message: str, exit_code: int) -> RunSetup:
    """The run cannot judge anything: record why in the run context (xdist workers learn it there too); every
    process then collects the single `RunErrorItem` `name` instead of the scenarios, pytest reports it as an
    error (terminal, JUnit, allure), and the run exits with `exit_code` (10 target, 11 profile)."""
    tracker = OutcomeTracker()
    tracker.run_error_code = exit_code
    error = {"name": name, "message": message, "exit_code": exit_code}
    return RunSetup(dataclasses.replace(ctx, run_error=error), None, tracker)


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


def _write_effective_profile(opts: runcontext.RunOptions, ctx: runcontext.RunContext, profile: Profile) -> None:
    """Write the effective profile, redacted, to `<reports>/effective-profile.json`, and (not for --check-config) the
    run's environment (target, profile, stances, writes, orgs) to the allure results."""
    opts.reports_dir.mkdir(parents=True, exist_ok=True)
    text = redact_text(json.dumps(profile.redacted(), indent=2), profile.secrets())
    (opts.reports_dir / "effective-profile.json").write_text(text + "\n", encoding="utf-8")
    if opts.check_config:  # the last run's allure results are not this check's
        return
    write_allure_metadata(
        opts.allure_dir,
        {
            "target": ctx.base_url,
            "profile": profile.name,
            "suite_version": __version__,
            "stances": ("strict: " + ",".join(sorted(profile.strict))) if profile.strict else "default (lenient)",
            "writes": "allowed" if profile.allow_writes else "read-only",
            "orgs": ",".join(o.name for o in profile.orgs),
        },
    )


@pytest.hookimpl(trylast=True)  # after -m/-k deselected: a run that cannot judge reports why whatever was selected
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The write guard: in a read-only run, every scenario not tagged `read_only` is skipped with the reason.
    A run that cannot judge (`RunContext.run_error`) collects only its `RunErrorItem`."""
    ctx = runcontext.get(config)
    if ctx is None:
        return
    if runcontext.state(config).check_config is not None:  # a configuration check runs no scenario
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
        return
    if ctx.run_error:
        if items:
            config.hook.pytest_deselected(items=list(items))
        items[:] = [RunErrorItem.from_parent(session, name=ctx.run_error["name"], message=ctx.run_error["message"])]
        return
    profile = runcontext.run_profile(config)
    if profile.allow_writes:
        return
    skip = pytest.mark.skip(reason=f"read-only run ({_read_only_because(runcontext.options(config), profile)})")
    for item in items:
        if item.get_closest_marker("read_only") is None:
            item.add_marker(skip)


def _read_only_because(opts: runcontext.RunOptions, profile: Profile) -> str:
    """What made the run read-only, for the skip reason: the command line, the environment or the profile."""
    if opts.allow_writes is False:
        return "--read-only was given; without it the profile's allow_writes decides"
    if "PP__ALLOW_WRITES" in os.environ:
        return f"PP__ALLOW_WRITES={os.environ['PP__ALLOW_WRITES']} in the environment; pass --allow-writes to write"
    return f"profile {profile.name} does not allow writes (allow_writes: false); pass --allow-writes to write"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The target and the profile, in the header of a conformance run."""
    ctx = runcontext.get(config)
    if hasattr(config, "workerinput") or ctx is None:
        return []
    return [f"partner-program target: {ctx.base_url} (profile {ctx.profile_path})"]
