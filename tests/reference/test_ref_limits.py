"""Opt-in settings of the reference server: OAuth token lifetime and rate limiting
(docs/reference-behaviour.md#opt-in-settings)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from ppreference import create_app, load_orgs
from ppreference.ratelimit import RateLimiter

from .helpers import DISABLED_TILL, ENABLED_TILL, ENV, Clock, TestClient, assert_envelope, basic_header

PROGRAMS = "/v2/organization/programs"
TOKEN = "/v3/oauth/token/generate"
ENABLED = {"Authorization": basic_header(ENABLED_TILL, ENV["PP_EMBEDDED_ENABLED_PASSWORD"])}
DISABLED = {"Authorization": basic_header(DISABLED_TILL, ENV["PP_EMBEDDED_DISABLED_PASSWORD"])}


class Monotonic:
    """An injectable monotonic time: set or add to `.now` (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Monotonic:
    return Monotonic()


@pytest.fixture
def make_client(env: dict[str, str], clock: Clock, ticks: Monotonic) -> Iterator[Callable[..., TestClient]]:
    """Build a TestClient for `create_app(load_orgs(), clock=clock, monotonic=ticks, **options)`."""
    clients: list[TestClient] = []

    def make(**options: Any) -> TestClient:
        app: Starlette = create_app(load_orgs(), clock=clock, monotonic=ticks, **options)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _token(client: TestClient, key: str = "enabled-key", secret: str = "enabled-secret") -> httpx.Response:
    return client.post(TOKEN, json={"key": key, "secret": secret})


# token lifetime ------------------------------------------------------------------------------
@pytest.mark.parametrize("header", ["X-CAP-API-OAUTH-TOKEN", "CAP-API-ACCESS-TOKEN"])
def test_short_token_ttl_is_answered_and_enforced(
    make_client: Callable[..., TestClient], clock: Clock, header: str
) -> None:
    client = make_client(token_ttl_seconds=5)
    issued = _token(client)
    assert issued.status_code == 200
    assert issued.json()["data"]["ttlSeconds"] == 5
    token = issued.json()["data"]["accessToken"]
    clock.now += timedelta(seconds=4)
    assert client.get(PROGRAMS, headers={header: token}).status_code == 200
    clock.now += timedelta(seconds=1)
    assert_envelope(client.get(PROGRAMS, headers={header: token}), 401, 401)
    fresh = _token(client).json()["data"]["accessToken"]  # a new token works again
    assert client.get(PROGRAMS, headers={header: fresh}).status_code == 200


def test_long_token_ttl(make_client: Callable[..., TestClient], clock: Clock) -> None:
    client = make_client(token_ttl_seconds=86_400)
    token = _token(client).json()["data"]["accessToken"]
    clock.now += timedelta(hours=23)
    assert client.get(PROGRAMS, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 200


@pytest.mark.parametrize("ttl", [0, -1, True, 1.5, "300"])
def test_invalid_token_ttl_is_refused(env: dict[str, str], ttl: object) -> None:
    with pytest.raises(ValueError, match="token_ttl_seconds"):
        create_app(load_orgs(), token_ttl_seconds=ttl)  # type: ignore[arg-type]


# rate limiting -----------------------------------------------------------------------------------
def _assert_429(response: httpx.Response, retry_after: int) -> None:
    assert_envelope(response, 429, 429)
    assert response.json()["errors"][0]["message"] == "Too many requests"
    assert response.headers["retry-after"] == str(retry_after)


def test_no_rate_limit_by_default(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert all(client.get(PROGRAMS, headers=ENABLED).status_code == 200 for _ in range(150))


def test_over_the_limit_is_429_with_retry_after_until_the_window_passes(
    make_client: Callable[..., TestClient], ticks: Monotonic
) -> None:
    client = make_client(rate_limit_per_minute=3)
    for _ in range(3):
        assert client.get(PROGRAMS, headers=ENABLED).status_code == 200
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 60)
    ticks.now += 30
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 30)
    ticks.now += 29.5
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 1)  # rounded up, never 0
    ticks.now += 0.5  # 60 s after the first request: every slot is free again
    for _ in range(3):
        assert client.get(PROGRAMS, headers=ENABLED).status_code == 200
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 60)


def test_window_slides_one_slot_at_a_time(make_client: Callable[..., TestClient], ticks: Monotonic) -> None:
    client = make_client(rate_limit_per_minute=2)
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200  # t=0
    ticks.now += 10
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200  # t=10
    ticks.now += 50
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200  # t=60: the t=0 slot freed
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 10)  # the t=10 slot frees at t=70


def test_limit_is_counted_per_org(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_per_minute=2)
    token = _token(client, "enabled-key", "enabled-secret").json()["data"]["accessToken"]
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200
    assert client.get(PROGRAMS, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 200
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 60)  # Basic and OAuth: the same org
    assert client.get(PROGRAMS, headers=DISABLED).status_code == 200
    assert client.get(PROGRAMS, headers=DISABLED).status_code == 200
    _assert_429(client.get(PROGRAMS, headers=DISABLED), 60)


def test_unauthenticated_requests_share_one_count(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_per_minute=3)
    assert _token(client).status_code == 200  # the token endpoint carries no credentials
    assert client.get(PROGRAMS).status_code == 401
    assert client.get(PROGRAMS, headers={"Authorization": "Basic bad"}).status_code == 401
    _assert_429(client.get("/v2/nope"), 60)  # any non-admin path counts
    _assert_429(_token(client), 60)
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200  # orgs have their own count


def test_admin_endpoints_are_exempt_and_429s_are_logged(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_per_minute=1)
    assert client.get(PROGRAMS, headers=ENABLED).status_code == 200
    _assert_429(client.get(PROGRAMS, headers=ENABLED), 60)
    for path in ("/__reference__/health", "/__reference__/state", "/__reference__/requests") * 3:
        assert client.get(path).status_code == 200
    log = client.get("/__reference__/requests").json()["requests"]
    assert [(e["status"], e["orgId"], e["authenticated"], e["changed"]) for e in log] == [
        (200, 50001, True, False),
        (429, 50001, True, False),
    ]


def test_refused_request_changes_nothing(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_per_minute=1)
    body = {"profiles": [{"identifiers": [{"type": "mobile", "value": "91123"}]}]}
    assert client.post("/v2/customers", json=body, headers=ENABLED).status_code == 200
    _assert_429(
        client.post(
            "/v2/customers",
            json={"profiles": [{"identifiers": [{"type": "mobile", "value": "91124"}]}]},
            headers=ENABLED,
        ),
        60,
    )
    state = client.get("/__reference__/state").json()["orgs"]
    assert {org["orgId"]: org["customers"] for org in state} == {50001: 1, 50002: 0}


@pytest.mark.parametrize("limit", [0, -5, True, 2.0])
def test_invalid_rate_limit_is_refused(env: dict[str, str], limit: object) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_minute"):
        create_app(load_orgs(), rate_limit_per_minute=limit)  # type: ignore[arg-type]


def test_rate_limiter_alone() -> None:
    ticks = Monotonic()
    limiter = RateLimiter(2, ticks)
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == 60
    assert limiter.acquire(None) is None  # another key
    ticks.now += 59.01
    assert limiter.acquire("a") == 1
    ticks.now = 1060.0  # 60 s after the first grant
    assert limiter.acquire("a") is None
