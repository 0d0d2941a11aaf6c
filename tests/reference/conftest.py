"""Fixtures for the reference server's unit tests: in-process app, fixed clock, org clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ppreference import create_app, load_orgs

from .helpers import DEFAULT_NOW, DISABLED_TILL, ENABLED_TILL, ENV, Api, Clock, TestClient


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


@pytest.fixture
def clock() -> Clock:
    return Clock(DEFAULT_NOW)


@pytest.fixture
def client(env: dict[str, str], clock: Clock) -> Iterator[TestClient]:
    app = create_app(load_orgs(), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def enabled(client: TestClient) -> Api:
    """Org 50001 (Asia/Kolkata, relinking enabled; programs 101-103)."""
    return Api(client, ENABLED_TILL, ENV["PP_EMBEDDED_ENABLED_PASSWORD"])


@pytest.fixture
def disabled(client: TestClient) -> Api:
    """Org 50002 (Europe/London, relinking disabled; programs 201-203)."""
    return Api(client, DISABLED_TILL, ENV["PP_EMBEDDED_DISABLED_PASSWORD"])
