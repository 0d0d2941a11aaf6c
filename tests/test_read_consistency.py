"""Verdicts that hold when reads lag writes (issue 25, item 1; AMB-READ-CONSISTENCY): a loyaltyDetails read that
disagrees with the model is read again, with a growing backoff, until it agrees or `state.read_consistency_seconds`
after the customer's last write have passed; only then does the disagreement count, and the failure shows the first
and the last read. A target that reads its own writes is read once.

Against the reference server in-process (Starlette's TestClient as the suite client's transport): conforming, the
variant read-lag (loyaltyDetails shows a write 0.3-0.8 s after its answer) and the fault link-not-persisted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from steps.then_steps import judge_state

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.profile import DEFAULT_PROFILE, load_profile
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.judge.verdicts import Judge, NonConformance
from ppconformance.plugin.report_hooks import settled_summary
from ppconformance.run.scenario import World
from ppreference import create_app, load_orgs

from .reference.helpers import TestClient
from .test_suite_runs import SECRETS

BASE = "http://testserver"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def _world(window: float | None = None, *, strict: tuple[str, ...] = (), **server: Any) -> tuple[World, list[str]]:
    """A World on the reference server (in-process) with the given `--fault` / `--variant`, and the list of paths
    it requested (to count the loyaltyDetails reads)."""
    env = dict(SECRETS)
    if window is not None:
        env["PP__STATE__READ_CONSISTENCY_SECONDS"] = str(window)
    profile = load_profile(DEFAULT_PROFILE, env=env, strict=list(strict))
    org = profile.orgs[0]
    paths: list[str] = []
    http = TestClient(create_app(load_orgs(), **server), base_url=BASE)
    http.event_hooks["request"].append(lambda request: paths.append(request.url.path))
    client = PartnerProgramClient(BASE, profile, org, http=http)
    world = World(profile, BASE, "rc", clients={org.name: client})
    world.use_org()
    return world, paths


def _link(world: World) -> None:
    customer = world.register_customer()
    world.establish(world.link([customer], [world.link_item(world.program("external"))]), "a link")


def _reads(paths: list[str]) -> int:
    return sum(p.endswith("/loyaltyDetails") for p in paths)


@pytest.fixture
def judge(secrets_env: None) -> Iterator[Judge]:
    yield Judge(load_profile(DEFAULT_PROFILE, env=SECRETS), ContractSchemas.load())


def test_a_target_that_reads_its_own_writes_is_read_once(secrets_env: None) -> None:
    world, paths = _world()
    _link(world)
    world.linked_programs(world.customer)
    assert _reads(paths) == 1 and world.settled == []
    assert not world.expected.report(int(world.customer.id or 0))[0].mismatches


def test_a_lagging_target_is_read_again_until_it_agrees_and_the_convergence_is_kept(secrets_env: None) -> None:
    world, paths = _world(variant="read-lag")
    _link(world)
    world.linked_programs(world.customer)
    seen = world.expected.report(int(world.customer.id or 0))
    assert len(seen) == 1 and not seen[0].mismatches and seen[0].reads == _reads(paths) >= 2
    assert seen[0].first is not None  # the first read, which still showed the state from before the link
    (seconds, agreed), *_ = world.settled
    assert agreed and 0.25 <= seconds <= 2.0, seconds
    assert "1 converged after re-reading" in settled_summary([[seconds, agreed]], 3.0)


def test_a_read_that_still_differs_after_the_window_fails_showing_both_reads(
    secrets_env: None, judge: Judge, request: pytest.FixtureRequest
) -> None:
    world, paths = _world(0.4, fault="link-not-persisted")
    _link(world)
    started = time.monotonic()
    with pytest.raises(NonConformance) as failure:
        judge_state(world, judge, request, tables=False)
    assert 0.3 <= time.monotonic() - started < 2.0  # the window, not more
    message = str(failure.value)
    assert "first loyaltyDetails read" in message and "last read, after state.read_consistency_seconds" in message
    assert _reads(paths) >= 3 and world.settled and world.settled[0][1] is False
    assert "1 still differed after the window" in settled_summary([list(s) for s in world.settled], 0.4)


def test_a_read_long_after_the_last_write_is_not_read_again(secrets_env: None) -> None:
    world, paths = _world(0.2, fault="link-not-persisted")
    _link(world)
    time.sleep(0.25)  # the window has passed
    world.linked_programs(world.customer)
    assert _reads(paths) == 1 and world.expected.report(int(world.customer.id or 0))[0].mismatches


def test_strict_read_consistency_judges_the_first_read(secrets_env: None) -> None:
    world, paths = _world(strict=("AMB-READ-CONSISTENCY",), variant="read-lag")
    _link(world)
    world.linked_programs(world.customer)
    assert _reads(paths) == 1 and world.expected.report(int(world.customer.id or 0))[0].mismatches


def test_the_summary_says_when_no_read_needed_a_second_look() -> None:
    assert "no read needed a re-read" in settled_summary([], 3.0)
    line = settled_summary([[0.5, True], [0.9, True], [3.1, False]], 3.0)
    assert "2 converged after re-reading, median 0.70 s, max 0.90 s" in line and "1 still differed" in line
