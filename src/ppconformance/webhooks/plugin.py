"""pytest plugin of the webhook scenarios: the run's sink, the webhook registration, skips, fixtures.

Registered (entry point `pytest11`) beside `ppconformance.plugin.core` (whose `pytest_configure` settles the target and
the profile first: this one runs `trylast`). On the controller (or the only process) of a run that
executes scenarios:

1. `webhooks.mode` off, or a read-only run: webhook scenarios are skipped with that reason;
2. the sink (`ppconformance.webhooks.sink.WebhookSink`) starts on `--webhook-listen` / `webhooks.listen`
   (default 127.0.0.1 and a free port) with a random auth secret (or `webhooks.auth_value`);
3. mode register: the org the webhook scenarios use (the profile's first) registers `--webhook-public-url` /
   `webhooks.public_url` (default the sink's URL) through `POST /v3/webHooks` with the secret as a webhook
   header, when the first scenario marked `webhook` starts (in whichever process: a lock file under the
   reports directory makes it once per run), so the target delivers events only from then on, not for the
   scenarios that listen for none; a target that refuses or lacks the endpoint gets its webhook scenarios
   skipped, naming the answer. At the end the webhook is posted again with `active: false`
   (AMB-WEBHOOK-DEREGISTRATION), then the sink stops and its deliveries are written to
   `reports/webhook-deliveries.jsonl` (bodies only, no headers);
4. mode preconfigured: the target already delivers to `public_url` with the profile's header.

xdist workers learn the sink's query URL and token from the run context (`RunContext.webhooks`,
`RunContext.webhook_token`) and read deliveries through `SinkReader`. Scenarios that drive the reference
server's clock are tagged `needs_clock` and skipped on targets without `/__reference__/clock`.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ppconformance.connection.client import (
    PartnerProgramClient,
    TargetBroken,
    TargetError,
    TargetUnreachable,
    redact_text,
)
from ppconformance.connection.embedded import reference_admin
from ppconformance.connection.profile import Profile
from ppconformance.contract.events import EVENT_NAMES
from ppconformance.plugin import runcontext
from ppconformance.webhooks.sink import SinkReader, WebhookSink

__all__ = ["OTHER_ORG_PATH", "RUN_HEADER", "WebhookRun", "ensure_registered", "static_headers", "waiting_first"]

RUN_HEADER = "X-Conformance-Run"
"""The second static header of the suite's webhook (mode register); its value names the run."""

_SINK = pytest.StashKey["WebhookSink"]()
_DISABLE = pytest.StashKey[Callable[[], int]]()
"""The controller's (or a run of one process's) disabling of the suite's webhook: returns the requests it sent."""
_ACTIONS = pytest.StashKey[list]()
_STEP_START = pytest.StashKey[tuple]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("partner-program", "Partner Program conformance")
    group.addoption(
        "--webhook-listen",
        default=None,
        metavar="HOST:PORT",
        help="where the webhook sink listens (profile webhooks.listen; default 127.0.0.1 and a free "
        "port). Use 0.0.0.0:PORT behind a tunnel together with --webhook-public-url.",
    )
    group.addoption(
        "--webhook-public-url",
        default=None,
        metavar="URL",
        help="the sink's URL as the target reaches it, e.g. a tunnel's https URL (profile "
        "webhooks.public_url; default the sink's own URL)",
    )


class WebhookRun:
    """What workers know of the run's webhook set-up: `ready` (scenarios can run) or the skip `reason`,
    the sink's loopback `query_url`, whether the target has the reference server's `clock`, and `broken`:
    the registration met a transport error (timeout, reset, oversized answer), so the webhook scenarios are
    not skipped but end as errors of the run, like every other scenario against such a target."""

    def __init__(
        self,
        ready: bool,
        reason: str = "",
        query_url: str = "",
        clock: bool = False,
        broken: str = "",
        register_url: str = "",
    ) -> None:
        self.ready, self.reason, self.query_url, self.clock, self.broken = ready, reason, query_url, clock, broken
        self.register_url = register_url  # mode register: the URL to register when the first webhook scenario starts

    def to_data(self) -> dict[str, Any]:
        """Plain data for the run context (`RunContext.webhooks`)."""
        return dict(vars(self))

    @classmethod
    def of_run(cls, config: pytest.Config) -> WebhookRun:
        """The run's webhook set-up as the controller settled it (not set up: not ready, with the reason)."""
        ctx = runcontext.get(config)
        if ctx is None or not ctx.webhooks:
            return cls(False, "webhooks are not set up in this process")
        return cls(**dict(ctx.webhooks))


def static_headers(profile: Profile, secret: str, run_id: str) -> dict[str, str]:
    """The static headers every delivery must carry (capillary-facts#webhooks-event-notifications: "each
    delivery carries the static headers configured on the webhook"): the auth header with the run's secret
    and, when the suite registers the webhook itself (mode register), `RUN_HEADER` with the run id (a second
    header, so a target sending only one is seen). A preconfigured webhook carries the auth header only."""
    headers = {profile.webhooks.auth_header: secret}
    if profile.webhooks.mode == "register":
        headers[RUN_HEADER] = f"pp-conformance-{run_id}"
    return headers


def _registration(profile: Profile, url: str, secret: str, run_id: str, active: bool) -> dict[str, Any]:
    """The documented `POST /v3/webHooks` body (capillary-facts#webhooks-event-notifications)."""
    return {
        "name": f"pp-conformance-{run_id}",
        "webHookUrl": url,
        "webHookType": "HTTP",
        "methodType": "POST",
        "eventNames": list(EVENT_NAMES),
        "webHookHeaders": static_headers(profile, secret, run_id),
        "maxAllowedConnections": 10,
        "slaInSeconds": int(profile.webhooks.delivery_deadline_seconds),
        "active": active,
    }


def _register(
    profile: Profile,
    base_url: str,
    url: str,
    secret: str,
    run_id: str,
    orgs: list[str],
    active: bool = True,
    done: list[str] | None = None,
    sent: list[int] | None = None,
) -> tuple[str, bool] | None:
    """Register (or, `active=False`, disable) the webhook for each org named in `orgs`, appending each one done to
    `done` and the requests each org's registration sent (token requests and retries included) to `sent`; None, or
    why it failed and whether that was a transport error."""
    for org in [o for o in profile.orgs if o.name in orgs]:
        client = PartnerProgramClient(base_url, profile, org)
        try:
            ex = client.send("POST", "/v3/webHooks", json_body=_registration(profile, url, secret, run_id, active))
        except TargetError as exc:
            return redact_text(str(exc).splitlines()[0], [secret, *profile.secrets()]), True
        finally:
            client.close()
            if sent is not None:
                sent.append(client.requests_sent)
        if not 200 <= ex.status < 300:
            return f"org {org.name}: the target answered HTTP {ex.status} to POST /v3/webHooks", False
        if done is not None:
            done.append(org.name)
    return None


def _has_clock(base_url: str, reference_target: bool) -> bool:
    """True when the target is declared the reference server (`RunContext.reference_target`) and answers its
    admin GET /__reference__/webhooks with JSON (the body is not read: a hostile target cannot stall the run
    here beyond the 3 s timeouts). Nothing is sent to any other target."""
    if not reference_target:
        return False
    try:
        answer = reference_admin(base_url, "GET", "webhooks", allowed=True, timeout=3, read_body=False)
    except TargetUnreachable:
        return False
    return answer.status == 200 and "json" in answer.content_type


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "events: scenarios of the webhook events (doc events)")
    config.addinivalue_line(
        "markers",
        "webhook: needs the run's webhook sink to receive the target's events; "
        "skipped with the reason when webhooks are off or cannot be registered",
    )
    config.addinivalue_line(
        "markers",
        "waits_retry_window: a webhook scenario that may wait out the whole retry window "
        "(webhooks.retry_window_seconds); under xdist these start first",
    )
    config.addinivalue_line(
        "markers",
        "needs_clock: drives the reference server's simulated clock "
        "(POST /__reference__/clock); skipped on targets without it",
    )
    if hasattr(config, "workerinput") or runcontext.usable(config) is None:
        return
    runcontext.update(config, webhooks=_setup(config).to_data())


def _setup(config: pytest.Config) -> WebhookRun:
    profile = runcontext.run_profile(config)
    settings = profile.webhooks
    base_url = runcontext.require(config).base_url
    if settings.mode == "off":
        return WebhookRun(False, f"profile {profile.name}: webhooks.mode is off")
    if runcontext.options(config).check_config:
        return WebhookRun(False, "--check-config runs no scenario")
    if not profile.allow_writes:
        return WebhookRun(False, "read-only run: webhook scenarios change state")
    listen = config.getoption("webhook_listen") or settings.listen or "127.0.0.1:0"
    host, _, port = listen.rpartition(":")
    secret = settings.auth_value or secrets.token_urlsafe(24)
    token = secrets.token_urlsafe(24)
    run_id = runcontext.require(config).run_id
    others = {k: v for k, v in static_headers(profile, secret, run_id).items() if k != settings.auth_header}
    try:
        sink = WebhookSink(
            settings.auth_header, secret, token, host or "127.0.0.1", int(port), static_headers=others
        ).start()
    except OSError as exc:
        return WebhookRun(False, f"the webhook sink cannot listen on {listen}: {exc.strerror}")
    config.stash[_SINK] = sink
    runcontext.state(config).deliveries = sink.deliveries  # the readings report reads the accepted events
    config.add_cleanup(lambda: _finish(config, sink))
    runcontext.update(config, webhook_token=token, webhook_secret=secret)
    query_url = f"http://127.0.0.1:{sink.url.rsplit(':', 1)[1]}"
    public = (config.getoption("webhook_public_url") or settings.public_url or sink.url).rstrip("/") + "/events"
    register_url = ""
    if settings.mode == "register":
        register_url = public
        state = _registration_state(config)

        def disable() -> int:
            return _deregister(profile, base_url, public, secret, run_id, _read_state(state, drop=True))

        def disable_at_exit() -> None:
            disable()  # a run stopped before its sessionfinish; else it finds nothing left to disable

        config.stash[_DISABLE] = disable
        config.add_cleanup(disable_at_exit)
    reference = runcontext.require(config).reference_target
    return WebhookRun(True, query_url=query_url, clock=_has_clock(base_url, reference), register_url=register_url)


def _registration_state(config: pytest.Config) -> Path:
    """The run's file recording the lazy registration (`ensure_registered`): {"orgs", "problem", "broken"}."""
    ctx = runcontext.require(config)
    return Path(ctx.reports_dir) / f".webhook-registration-{ctx.run_id}.json"


def _read_state(path: Path, *, drop: bool = False) -> list[str]:
    """The orgs the run registered its webhook for; `drop` removes the state and lock files (end of the run)."""
    try:
        return list(json.loads(path.read_text(encoding="utf-8")).get("orgs", []))
    except (OSError, ValueError):
        return []
    finally:
        if drop:
            path.unlink(missing_ok=True)
            path.with_suffix(".lock").unlink(missing_ok=True)


OTHER_ORG_PATH = "/other-org"
"""Appended to the sink's URL when the tenant-isolation scenario registers a webhook for the profile's second org:
a delivery on that path came through the other org's webhook (`Delivery.path`)."""


def ensure_registered(config: pytest.Config, org_name: str | None = None) -> None:
    """Mode register: register the suite's webhook for `org_name` (default: the profile's first org, the one the
    webhook scenarios use; another org's webhook points at the sink's URL plus `OTHER_ORG_PATH`) unless a process
    of this run already did (a lock file under the reports directory); called when a scenario marked `webhook`
    starts, and by the tenant-isolation Given for the other org. Skips the scenario, naming the answer, when the
    target refused the registration (or, for another org, in mode preconfigured); raises `TargetBroken` (an error
    of the run) when it met a transport error. Deregistered at the end of the run by the controller."""
    run = WebhookRun.of_run(config)
    if not run.ready or not run.register_url:
        if org_name is not None and run.ready:
            pytest.skip("tenant isolation of events: the suite registers no webhook for another org (webhooks.mode)")
        return
    ctx = runcontext.require(config)
    profile = runcontext.run_profile(config)
    org = org_name or profile.orgs[0].name
    url = run.register_url if org == profile.orgs[0].name else run.register_url + OTHER_ORG_PATH
    path = _registration_state(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"orgs": [], "problems": {}}
            if org not in state["orgs"] and org not in state["problems"]:
                sent: list[int] = []
                problem = _register(
                    profile, ctx.base_url, url, ctx.webhook_secret, ctx.run_id, [org], done=state["orgs"], sent=sent
                )
                runcontext.state(config).requests += sum(sent)  # the run's count holds every request it sent
                if problem:
                    state["problems"][org] = list(problem)
                path.write_text(json.dumps(state), encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    problem, broken = state["problems"].get(org, ("", False))
    if broken:
        raise TargetBroken(f"ERROR (not a conformance failure): the suite's webhook could not be registered: {problem}")
    if problem:
        pytest.skip(
            f"webhook scenario: the suite's webhook could not be registered ({problem}); set "
            "webhooks.mode: preconfigured if the target is configured otherwise"
        )


def _deregister(profile: Profile, base_url: str, url: str, secret: str, run_id: str, orgs: list[str]) -> int:
    """Disable the suite's webhook for `orgs` (the ones the run registered it for), saying on stderr when the target
    refused; the requests sent (0 when `orgs` is empty: nothing registered, or already disabled)."""
    if not orgs:
        return 0
    sent: list[int] = []
    problem = _register(profile, base_url, url, secret, run_id, orgs, active=False, sent=sent)
    if problem:
        sys.stderr.write(
            f"partner-program: the suite's webhook pp-conformance-{run_id} could not be disabled "
            f"({problem[0]}); disable it on the target\n"
        )
    return sum(sent)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or a run of one process), once every scenario ran: disable the suite's webhook before the
    run's report and summary are written, so that their request count holds those requests too. The cleanup at
    exit does it for a run stopped before this hook (then it finds nothing left to disable)."""
    config = session.config
    disable = config.stash.get(_DISABLE, None)
    if disable is None or hasattr(config, "workerinput") or runcontext.usable(config) is None:
        return
    runcontext.state(config).requests += disable()


def _finish(config: pytest.Config, sink: WebhookSink) -> None:
    sink.stop()
    out = Path(runcontext.require(config).reports_dir)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "webhook-deliveries.jsonl").open("w", encoding="utf-8") as f:
        for d in sink.deliveries:
            record = {"arrival": d.arrival, "path": d.path, "status": d.status, "authenticated": d.authenticated}
            f.write(json.dumps({**record, "body": d.body}) + "\n")


def latency_summary(sink: WebhookSink) -> str:
    """`N deliveries, R rejected; arrival - createdAt median/max ms` (createdAt read from any form)."""
    from ppconformance.contract.events import facts

    lags = [
        d.arrival * 1000 - f.created_at
        for d in sink.deliveries
        if d.accepted and isinstance((f := facts(d.body)).created_at, int)
    ]
    accepted = sum(d.accepted for d in sink.deliveries)
    text = f"webhook sink: {accepted} deliveries, {sink.rejected} rejected (wrong or no auth header)"
    if lags:
        text += f"; arrival after createdAt: median {statistics.median(lags):.0f} ms, max {max(lags):.0f} ms"
    return text


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    sink = config.stash.get(_SINK, None)
    if sink is not None and runcontext.usable(config) is not None:
        terminalreporter.write_line("partner-program " + latency_summary(sink))


def waiting_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """`items` with the scenarios that wait first, each group in its own order (a stable sort): those that may wait
    out a whole retry window (marked `waits_retry_window`, the longest waits) lead, then the other `webhook`
    scenarios (each waits for its events, a delivery deadline or a quiet period), then the rest.

    Under xdist this is how a wait overlaps with the other scenarios' requests (docs/webhooks.md, "Waiting
    overlaps"): every worker collects this order, xdist's load scheduling hands the first worker the first chunk
    of it, so the waits start as the run starts and the other workers send the other scenarios' requests
    meanwhile, all of them paced by the run's one shared rate-limit window (`connection.client.share_rate_limit`),
    so a waiting worker leaves its rate to the others. A run of one process keeps the collection order."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("waits_retry_window") is not None:
            return 0
        return 1 if item.get_closest_marker("webhook") is not None else 2

    return sorted(items, key=rank)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the webhook scenarios when the run has no webhook set-up (and the clock scenarios on a target without
    the reference server's clock), saying why; under xdist (each worker) put the scenarios that wait first
    (`waiting_first`)."""
    if runcontext.usable(config) is None:
        return
    run = WebhookRun.of_run(config)
    if hasattr(config, "workerinput") and run.ready:
        items[:] = waiting_first(items)
    for item in items:
        if item.get_closest_marker("skip") is not None:
            continue  # already skipped (the write guard of a read-only run names its own reason)
        if item.get_closest_marker("webhook") is not None and not run.ready and not run.broken:
            item.add_marker(pytest.mark.skip(reason=f"webhook scenario: {run.reason}"))
        elif item.get_closest_marker("needs_clock") is not None and not run.clock and not run.broken:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs the reference server's simulated clock (POST /__reference__/clock): the target "
                    "is not the embedded server nor declared one with --reference-target, or lacks the clock"
                )
            )


# -- fixtures and the action recorder ------------------------------------------------------
@pytest.fixture(scope="session")
def sink_reader(pytestconfig: pytest.Config) -> Any:
    """This process's reader of the run's sink (None when webhook scenarios are skipped)."""
    run = WebhookRun.of_run(pytestconfig)
    if run.broken:
        raise TargetBroken(run.broken)
    if not run.ready:
        yield None
        return
    reader = SinkReader(run.query_url, runcontext.require(pytestconfig).webhook_token)
    yield reader
    reader.close()


@pytest.fixture
def recorded_actions(request: pytest.FixtureRequest) -> list:
    """The scenario's When actions as `(started, finished, Action)`, epoch seconds (filled by the hooks)."""
    return request.node.stash.setdefault(_ACTIONS, [])


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """A scenario that listens for events: the suite's webhook is registered first (`ensure_registered`)."""
    if request.node.get_closest_marker("webhook") is not None and runcontext.usable(request.config) is not None:
        ensure_registered(request.config)


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    if step.type == "when" and request.node.get_closest_marker("webhook") is not None:
        request.node.stash[_STEP_START] = (time.time(), _last(request))


def pytest_bdd_after_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any, step_func_args: Any
) -> None:
    started = request.node.stash.get(_STEP_START, None)
    if step.type != "when" or started is None:
        return
    last = _last(request)
    if last is not None and last is not started[1]:
        request.node.stash.setdefault(_ACTIONS, []).append((started[0], time.time(), last))


def _last(request: pytest.FixtureRequest) -> Any:
    if "world" not in request.fixturenames:
        return None
    return getattr(request.getfixturevalue("world"), "last", None)
