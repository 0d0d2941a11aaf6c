"""Transport policy of `PartnerProgramClient`: 429 and Retry-After, retries, auth failures, OAuth renewal,
the response size cap, the write guard and the client-side rate limiter.

Most tests use an httpx.MockTransport; the last ones talk to a real reference server (tests/refserver.py).
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypedDict, Unpack

import httpx
import pytest

import ppconformance.connection.client as client_module
from ppconformance.connection.client import (
    AuthFailed,
    PartnerProgramClient,
    RateLimited,
    TargetBroken,
    TargetUnreachable,
    WriteRefused,
    retry_after_seconds,
)
from ppconformance.connection.profile import DEFAULT_PROFILE, Profile, load_profile

from .refserver import admin, start_reference_server
from .test_suite_runs import SECRETS

URL = "http://target.invalid"
PROGRAMS = "/v2/organization/programs"
LINK = "/v2/partnerProgram/linkCustomer"
TOKEN = "/v3/oauth/token/generate"
BASIC, OAUTH = 0, 1  # orgs of profiles/embedded.yaml


class ProfileChanges(TypedDict, total=False):
    """The `Profile` fields these tests change."""

    allow_writes: bool
    max_response_bytes: int
    max_retry_after_seconds: float
    rate_limit_per_minute: int | None
    retries: int


def _profile(**changes: Unpack[ProfileChanges]) -> Profile:
    return dataclasses.replace(load_profile(DEFAULT_PROFILE, env=SECRETS), **changes)


def _client(
    handler: Callable[[httpx.Request], httpx.Response], org: int = BASIC, **changes: Unpack[ProfileChanges]
) -> PartnerProgramClient:
    profile = _profile(**changes)
    return PartnerProgramClient(
        URL, profile, profile.orgs[org], http=httpx.Client(transport=httpx.MockTransport(handler))
    )


class Script:
    """A MockTransport handler answering from a list (the last answer repeats); an answer may be an
    exception to raise. Records the requests."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer


def _ok() -> httpx.Response:
    return httpx.Response(200, json={"partnerPrograms": [], "warnings": []})


def _429(retry_after: str | None = None) -> httpx.Response:
    return httpx.Response(
        429,
        headers={"Retry-After": retry_after} if retry_after is not None else {},
        json={"warnings": [], "errors": [{"status": False, "code": 429, "message": "slow down"}]},
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """time.sleep recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", recorded.append)
    return recorded


# -- HTTP 429 ------------------------------------------------------------------------------------------------
def test_429_with_retry_after_one_second_is_waited_out() -> None:
    script = Script(_429("1"), _ok())
    client = _client(script)
    started = time.monotonic()
    ex = client.send("GET", PROGRAMS)
    waited = time.monotonic() - started
    assert ex.status == 200
    assert 0.9 <= waited < 5, waited
    assert client.requests_sent == 2 and len(script.requests) == 2
    assert [e.status for e in client.exchanges] == [429, 200]


def test_retry_after_longer_than_the_profile_allows_is_rate_limited(sleeps: list[float]) -> None:
    script = Script(_429("120"), _ok())
    client = _client(script, max_retry_after_seconds=60.0)
    with pytest.raises(RateLimited, match=r"Retry-After 120 s, more than max_retry_after_seconds \(60 s\)"):
        client.send("GET", PROGRAMS)
    assert sleeps == [] and len(script.requests) == 1


def test_429_forever_is_rate_limited_after_five_attempts(sleeps: list[float]) -> None:
    script = Script(_429())
    client = _client(script)
    with pytest.raises(RateLimited, match="still HTTP 429 after 5 attempts"):
        client.send("GET", PROGRAMS)
    assert len(script.requests) == 5 and client.requests_sent == 5
    assert sleeps[:4] == [1.0, 2.0, 4.0, 8.0], "exponential backoff without Retry-After"


def test_429_forever_does_not_sleep_after_the_last_attempt(sleeps: list[float]) -> None:
    client = _client(Script(_429()))
    with pytest.raises(RateLimited):
        client.send("GET", PROGRAMS)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_backoff_is_capped_by_max_retry_after_seconds(sleeps: list[float]) -> None:
    client = _client(Script(_429(), _429(), _429(), _ok()), max_retry_after_seconds=3.0)
    assert client.send("GET", PROGRAMS).status == 200
    assert sleeps == [1.0, 2.0, 3.0]


def test_retry_after_as_an_http_date(sleeps: list[float]) -> None:
    now = time.time()
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0, "a date in the past: no wait"
    assert retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None and retry_after_seconds("-3") is None
    # end to end: the client waits what the date says
    client = _client(Script(_429(email.utils.formatdate(time.time() + 20, usegmt=True)), _ok()))
    assert client.send("GET", PROGRAMS).status == 200
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


# -- authentication ------------------------------------------------------------------------------------------
def test_401_to_the_profiles_basic_credentials_is_auth_failed() -> None:
    script = Script(httpx.Response(401, json={"errors": [{"code": 401}]}))
    client = _client(script, org=BASIC)
    with pytest.raises(AuthFailed, match="HTTP 401 to the profile's own basic credentials"):
        client.send("GET", PROGRAMS)
    assert len(script.requests) == 1
    assert SECRETS["PP_EMBEDDED_ENABLED_PASSWORD"] not in str(client.exchanges[0].render())


def test_401_without_credentials_is_an_answer_not_an_error() -> None:
    client = _client(Script(httpx.Response(401, json={})))
    assert client.link({"linkCustomers": []}, auth=False).status == 401


def _token_answer(token: str, ttl: int = 300) -> httpx.Response:
    return httpx.Response(200, json={"data": {"accessToken": token, "ttlSeconds": ttl}, "errors": None})


class OAuthTarget:
    """Issues tok-1, tok-2, ... with `ttl`; refuses the tokens in `refused` with 401."""

    def __init__(self, ttl: int = 300, refused: set[str] | None = None) -> None:
        self.ttl = ttl
        self.refused = refused or set()
        self.issued: list[str] = []
        self.used: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN:
            self.issued.append(f"tok-{len(self.issued) + 1}")
            return _token_answer(self.issued[-1], self.ttl)
        token = request.headers.get("X-CAP-API-OAUTH-TOKEN", "")
        self.used.append(token)
        if token in self.refused or token not in self.issued:
            return httpx.Response(401, json={"errors": [{"code": 401}]})
        return _ok()


def test_oauth_401_renews_the_token_once_and_retries() -> None:
    target = OAuthTarget(refused={"tok-1"})
    client = _client(target, org=OAUTH)
    assert client.send("GET", PROGRAMS).status == 200
    assert target.issued == ["tok-1", "tok-2"] and target.used == ["tok-1", "tok-2"]
    assert client.requests_sent == 4
    assert client.send("GET", PROGRAMS).status == 200 and target.issued == ["tok-1", "tok-2"]


def test_oauth_401_after_renewal_is_auth_failed() -> None:
    target = OAuthTarget(refused={"tok-1", "tok-2"})
    client = _client(target, org=OAUTH)
    with pytest.raises(AuthFailed, match="oauth credentials"):
        client.send("GET", PROGRAMS)
    assert target.issued == ["tok-1", "tok-2"] and len(target.used) == 2


def test_oauth_token_generation_refused_is_auth_failed() -> None:
    client = _client(Script(httpx.Response(401, json={"errors": [{"code": 401}]})), org=OAUTH)
    with pytest.raises(AuthFailed, match="OAuth token generation refused the profile's key and secret"):
        client.send("GET", PROGRAMS)


@pytest.mark.parametrize(
    "answer", [httpx.Response(500, json={}), httpx.Response(200, text="{not json")], ids=["500", "not-json"]
)
def test_oauth_token_generation_broken_is_a_broken_target_not_refused_credentials(answer: httpx.Response) -> None:
    client = _client(Script(answer), org=OAUTH)
    with pytest.raises(TargetBroken, match="without an accessToken"):
        client.send("GET", PROGRAMS)


def test_short_lived_oauth_token_is_renewed_at_half_life() -> None:
    target = OAuthTarget(ttl=2)
    client = _client(target, org=OAUTH)
    client.send("GET", PROGRAMS)
    client.send("GET", PROGRAMS)
    assert target.issued == ["tok-1"]
    time.sleep(1.1)
    client.send("GET", PROGRAMS)
    assert target.issued == ["tok-1", "tok-2"] and target.used == ["tok-1", "tok-1", "tok-2"]


def test_long_lived_oauth_token_is_renewed_30_seconds_before_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(client_module.time, "monotonic", lambda: real() + offset[0])
    target = OAuthTarget(ttl=300)
    client = _client(target, org=OAUTH)
    client.send("GET", PROGRAMS)
    offset[0] = 265.0
    client.send("GET", PROGRAMS)
    assert target.issued == ["tok-1"]
    offset[0] = 271.0
    client.send("GET", PROGRAMS)
    assert target.issued == ["tok-1", "tok-2"]


# -- transport failures, retries, size cap -------------------------------------------------------------------
def test_a_post_that_fails_with_a_read_error_is_not_sent_again() -> None:
    script = Script(httpx.ReadError("connection reset"), _ok())
    client = _client(script, retries=2)
    with pytest.raises(TargetUnreachable, match="ReadError"):
        client.link({"linkCustomers": []})
    assert len(script.requests) == 1 and client.requests_sent == 1


def test_a_post_that_times_out_is_not_sent_again() -> None:
    script = Script(httpx.ReadTimeout("slow"), _ok())
    client = _client(script, retries=2)
    with pytest.raises(TargetUnreachable, match="timed out"):
        client.link({"linkCustomers": []})
    assert len(script.requests) == 1


def test_a_get_is_retried_after_read_errors() -> None:
    script = Script(httpx.ReadError("reset"))
    client = _client(script, retries=2)
    with pytest.raises(TargetUnreachable, match="ReadError"):
        client.send("GET", PROGRAMS)
    assert len(script.requests) == 3 and client.requests_sent == 3

    script = Script(httpx.ReadError("reset"), _ok())
    client = _client(script, retries=2)
    assert client.send("GET", PROGRAMS).status == 200
    assert len(script.requests) == 2

    script = Script(httpx.ReadError("reset"), _ok())
    client = _client(script, retries=0)
    with pytest.raises(TargetUnreachable):
        client.send("GET", PROGRAMS)
    assert len(script.requests) == 1


def test_a_response_over_max_response_bytes_is_target_broken() -> None:
    client = _client(Script(httpx.Response(200, content=b"x" * 2048)), max_response_bytes=1024)
    with pytest.raises(TargetBroken, match=r"exceeds max_response_bytes \(1024 bytes\)"):
        client.send("GET", PROGRAMS)
    client = _client(Script(httpx.Response(200, content=b"[" + b"1," * 500 + b"1]")), max_response_bytes=1024)
    assert client.send("GET", PROGRAMS).response_json == [1] * 501


def test_a_5xx_is_returned_not_raised() -> None:
    client = _client(Script(httpx.Response(503, text="down")))
    ex = client.send("GET", PROGRAMS)
    assert ex.status == 503 and ex.response_json is None and client.requests_sent == 1


# -- write guard ---------------------------------------------------------------------------------------------
def test_read_only_profile_refuses_writes_with_credentials() -> None:
    script = Script(_ok())
    client = _client(script, allow_writes=False)
    body = {"linkCustomers": [{"customer": {"mobile": "919900000001"}, "linkToPartnerPrograms": []}]}
    for call in (
        lambda: client.link(body),
        lambda: client.update({"customersPartnerUpdates": []}),
        lambda: client.delink({"deLinkCustomers": []}),
        lambda: client.add_customer({"mobile": "91990"}),
    ):
        with pytest.raises(WriteRefused, match="allow_writes: false"):
            call()
    assert script.requests == [], "nothing was sent"
    assert client.link(body, auth=False).status == 200
    assert client.link(body, harmless=True).status == 200
    assert client.send("GET", PROGRAMS).status == 200
    assert client.loyalty_details(1).status == 200
    assert len(script.requests) == 4
    assert "Authorization" not in script.requests[0].headers and "Authorization" in script.requests[1].headers


def test_read_only_profile_still_generates_oauth_tokens() -> None:
    target = OAuthTarget()
    client = _client(target, org=OAUTH, allow_writes=False)
    assert client.link({"linkCustomers": []}, harmless=True).status == 200
    assert target.issued == ["tok-1"]


def test_write_guard_covers_overridden_paths() -> None:
    profile = _profile(allow_writes=False)
    profile = dataclasses.replace(profile, paths={**profile.paths, "deLinkCustomer": "/v2/partnerProgram/deLink"})
    script = Script(_ok())
    client = PartnerProgramClient(
        URL, profile, profile.orgs[0], http=httpx.Client(transport=httpx.MockTransport(script))
    )
    with pytest.raises(WriteRefused):
        client.delink({"deLinkCustomers": []})
    assert script.requests == []


# -- client-side rate limiter --------------------------------------------------------------------------------
@pytest.fixture
def fresh_limiters(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    limiters: dict = {}
    monkeypatch.setattr(client_module, "_LIMITERS", limiters)
    monkeypatch.setattr(client_module, "_SHARED_WINDOW", None)
    yield limiters
    for limiter in limiters.values():
        limiter.close()


def _rate(limiter: object) -> tuple[int, int]:
    (rate,) = limiter.bucket_factory.bucket.rates  # type: ignore[attr-defined]
    return rate.limit, rate.interval


def test_limiter_is_shared_out_over_xdist_workers(monkeypatch: pytest.MonkeyPatch, fresh_limiters: dict) -> None:
    """The share comes from the run context's worker count (`RunContext.workers`), never from the environment."""
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "8")  # ignored
    assert client_module._limiter(None) is None
    assert _rate(client_module._limiter(100)) == (100, 60_000)
    assert _rate(client_module._limiter(2, workers=2)) == (1, 60_000)
    assert _rate(client_module._limiter(100, workers=2)) == (50, 60_000)
    assert _rate(client_module._limiter(3, workers=8)) == (1, 60_000), "never below one request a minute"
    profile = _profile(rate_limit_per_minute=100)
    two = PartnerProgramClient(URL, profile, profile.orgs[BASIC], http=httpx.Client(), workers=2)
    assert _rate(two._limiter) == (50, 60_000)


_OTHER_PROCESS = """
import sys
import ppconformance.connection.client as client
client.share_rate_limit(sys.argv[1])
limiter = client._limiter(3, workers=2)
print(sum(bool(limiter.try_acquire("target", timeout=10)) for _ in range(2)))
limiter.close()
"""


def test_the_processes_of_an_xdist_run_share_one_window_at_the_full_rate(tmp_path: Path, fresh_limiters: dict) -> None:
    """Under xdist every process of the run counts its requests in the run's one window (`share_rate_limit`, a file):
    each may use the whole rate, and what another process sent within the minute is not sent again here. Without
    a shared window a process keeps its own, at 1/N of the rate."""
    window = str(tmp_path / "rate-limit.sqlite")
    client_module.share_rate_limit(window)
    try:
        limiter = client_module._limiter(3, workers=2)
        assert limiter is not None and _rate(limiter) == (3, 60_000), "the whole rate, not a 1/N share"
        other = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, window], capture_output=True, text=True, timeout=60, check=True
        )
        assert other.stdout.strip() == "2", other.stderr
        # blocking, with a timeout: a non-blocking attempt also fails while another process's leaker holds the
        # window's file lock for a moment, which is not what is checked here
        assert limiter.try_acquire("target", timeout=10) is True, "the third request of the minute"
        assert limiter.try_acquire("target", timeout=1) is False, "a fourth would exceed 3 a minute"
    finally:
        client_module.share_rate_limit(None)
    own = client_module._limiter(3, workers=2)
    assert own is not None and own is not limiter and _rate(own) == (1, 60_000)
    assert own.try_acquire("target", blocking=False) is True


def test_clients_of_a_process_share_one_limiter(fresh_limiters: dict) -> None:
    first = _client(Script(_ok()), rate_limit_per_minute=2)
    second = _client(Script(_ok()), org=OAUTH, rate_limit_per_minute=2)
    assert first._limiter is second._limiter is not None
    assert _client(Script(_ok()))._limiter is None


def test_third_request_within_a_minute_has_to_wait(monkeypatch: pytest.MonkeyPatch, fresh_limiters: dict) -> None:
    client = _client(Script(_ok()), rate_limit_per_minute=2)
    started = time.monotonic()
    client.send("GET", PROGRAMS)
    client.send("GET", PROGRAMS)
    assert time.monotonic() - started < 1, "the first two pass at once"
    # the client acquires blocking; a non-blocking probe shows that the next request would wait
    assert client._limiter is not None
    assert client._limiter.try_acquire("target", blocking=False) is False


def test_the_fuzz_stages_requests_take_their_slots_of_the_same_limit(fresh_limiters: dict) -> None:
    """schemathesis sends the fuzz stage's cases itself; `pace` takes each one's slot of the profile's rate limit
    from the limiter the client's own requests use (steps/test_fuzz.py `_send` calls it before every case)."""
    client = _client(Script(_ok()), rate_limit_per_minute=2)
    client.pace()
    client.send("GET", PROGRAMS)
    assert client._limiter is not None
    assert client._limiter.try_acquire("target", blocking=False) is False, "a paced case counts like a request"
    unlimited = _client(Script(_ok()))
    unlimited.pace()  # no limit: nothing to wait for
    assert unlimited._limiter is None


# -- against the real reference server --------------------------------------------------------------------------------
def _real_client(base_url: str, org: int = BASIC, **changes: Unpack[ProfileChanges]) -> PartnerProgramClient:
    profile = _profile(**changes)
    return PartnerProgramClient(base_url, profile, profile.orgs[org])


@pytest.fixture(scope="module")
def limited_server() -> Iterator[str]:
    base_url, stop = start_reference_server("--rate-limit-per-minute", "5")
    try:
        yield base_url
    finally:
        stop()


@pytest.mark.selftest_slow
def test_the_servers_429_is_understood(limited_server: str) -> None:
    """The reference server's window is 60 s, so its Retry-After is near a minute: with a patience of
    5 s the client gives up with RateLimited after the fifth request instead of waiting."""
    client = _real_client(limited_server, max_retry_after_seconds=5.0)
    before = len(admin(limited_server, "requests")["requests"])
    statuses = []
    with pytest.raises(RateLimited, match=r"HTTP 429 with Retry-After \d+ s") as caught:
        for _ in range(8):
            statuses.append(client.send("GET", PROGRAMS).status)
    assert statuses == [200] * 5
    log = admin(limited_server, "requests")["requests"][before:]
    assert [e["status"] for e in log] == [200] * 5 + [429]
    wait = retry_after_seconds(client.exchanges[-1].response_headers.get("retry-after"))
    assert wait is not None and 5 < wait <= 60, caught.value


@pytest.fixture(scope="module")
def short_token_server() -> Iterator[str]:
    base_url, stop = start_reference_server("--token-ttl", "2")
    try:
        yield base_url
    finally:
        stop()


@pytest.mark.selftest_slow
def test_short_lived_tokens_of_the_server_are_renewed(short_token_server: str) -> None:
    client = _real_client(short_token_server, org=OAUTH)
    for _ in range(3):
        assert client.send("GET", PROGRAMS).status == 200
        time.sleep(1.2)
    tokens = [e for e in client.exchanges if e.url.endswith(TOKEN)]
    assert len(tokens) >= 2 and all(json.loads(e.response_text)["data"]["ttlSeconds"] == 2 for e in tokens)
    assert all(e.status == 200 for e in client.exchanges)


@pytest.mark.selftest_slow
def test_a_token_the_server_ended_is_renewed_after_its_401(short_token_server: str) -> None:
    client = _real_client(short_token_server, org=OAUTH)
    assert client.send("GET", PROGRAMS).status == 200
    token, _ = client._token  # type: ignore[misc]
    client._token = (token, time.monotonic() + 3600)  # the client believes it is still good
    time.sleep(2.2)
    assert client.send("GET", PROGRAMS).status == 200
    assert [e.status for e in client.exchanges if e.url.endswith(PROGRAMS)] == [200, 401, 200]
    assert client._token is not None and client._token[0] != token
