"""Client: the Capillary Basic header, OAuth token reuse, redaction of exchanges."""

from __future__ import annotations

import json

import httpx
import pytest

from ppconformance.connection.client import (
    PartnerProgramClient,
    TargetUnreachable,
    adopt_tokens,
    basic_auth_header,
    forget_tokens,
    held_tokens,
    redact_text,
)
from ppconformance.connection.profile import DEFAULT_PROFILE, load_profile

ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "pw-secret-1",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "key-secret-2",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "secret-secret-3",
}


def test_basic_header_matches_the_documented_worked_example() -> None:
    assert basic_auth_header("store.server", "server123") == (
        "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"
    )


def test_redaction_removes_plain_and_md5_forms() -> None:
    text = "pw=server123 md5=8a16a6b70505eb1f1ff7cdc0cd5559a7"
    assert redact_text(text, ["server123"]) == "pw=*** md5=***"


def _client(handler, org: int = 1) -> PartnerProgramClient:
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    return PartnerProgramClient(
        "http://target.invalid", profile, profile.orgs[org], http=httpx.Client(transport=httpx.MockTransport(handler))
    )


def test_oauth_token_is_generated_once_and_sent_in_the_header() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path == "/v3/oauth/token/generate":
            assert json.loads(request.content) == {"key": "key-secret-2", "secret": "secret-secret-3"}
            return httpx.Response(200, json={"data": {"accessToken": "tok-123", "ttlSeconds": 300}, "errors": None})
        assert request.headers["X-CAP-API-OAUTH-TOKEN"] == "tok-123"
        return httpx.Response(200, json={"linkCustomers": [], "warnings": []})

    client = _client(handler)
    client.link({"linkCustomers": []})
    client.link({"linkCustomers": []})
    assert [c.url.path for c in calls].count("/v3/oauth/token/generate") == 1
    rendered = "\n".join(ex.render() for ex in client.exchanges)
    assert "key-secret-2" not in rendered and "secret-secret-3" not in rendered and "tok-123" not in rendered


def _tokens_handler(calls: list[httpx.Request], ended: set[str]):
    """A target that issues tok-1, tok-2, ... and answers 401 to a request carrying a token in `ended`."""

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path == "/v3/oauth/token/generate":
            issued = sum(c.url.path == "/v3/oauth/token/generate" for c in calls)
            return httpx.Response(200, json={"data": {"accessToken": f"tok-{issued}", "ttlSeconds": 300}})
        if request.headers["X-CAP-API-OAUTH-TOKEN"] in ended:
            return httpx.Response(401, json={"errors": [{"code": 401}]})
        return httpx.Response(200, json={"linkCustomers": [], "warnings": []})

    return handler


def test_the_clients_of_one_org_and_target_share_one_token_and_redact_it() -> None:
    """One generation per process serves every client of the org (preflight, scenarios, webhook registration); a
    client that took the shared token redacts it in its own exchanges; another target gets its own token."""
    calls: list[httpx.Request] = []
    handler = _tokens_handler(calls, set())
    first, second = _client(handler), _client(handler)
    first.link({"linkCustomers": []})
    ex = second.link({"linkCustomers": []})
    assert [c.url.path for c in calls].count("/v3/oauth/token/generate") == 1
    assert ex.request_headers["X-CAP-API-OAUTH-TOKEN"] == "tok-1" and "tok-1" in second.secrets
    assert "tok-1" not in ex.render()
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    elsewhere = PartnerProgramClient(
        "http://other.invalid", profile, profile.orgs[1], http=httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert elsewhere.link({"linkCustomers": []}).request_headers["X-CAP-API-OAUTH-TOKEN"] == "tok-2"


def test_a_token_the_target_ended_is_renewed_and_not_handed_to_another_client() -> None:
    calls: list[httpx.Request] = []
    ended: set[str] = set()
    handler = _tokens_handler(calls, ended)
    first = _client(handler)
    first.link({"linkCustomers": []})
    ended.add("tok-1")
    assert first.link({"linkCustomers": []}).status == 200  # renewed once: tok-2
    assert _client(handler).link({"linkCustomers": []}).request_headers["X-CAP-API-OAUTH-TOKEN"] == "tok-2"
    assert [c.url.path for c in calls].count("/v3/oauth/token/generate") == 2


def test_a_worker_adopts_the_controllers_token_and_sends_no_token_request() -> None:
    """Under xdist the controller hands its tokens to each worker (`RunContext.oauth_tokens`): a worker's client
    of that org and target uses it, redacts it, and generates none; a token of another target is not taken."""
    calls: list[httpx.Request] = []
    handler = _tokens_handler(calls, set())
    _client(handler).link({"linkCustomers": []})
    handed = held_tokens()
    assert [(k.split(" ")[0], v[0]) for k, v in handed.items()] == [("http://target.invalid", "tok-1")]
    assert 200 < next(iter(handed.values()))[1] <= 270  # ttlSeconds 300, renewed 30 s before its end
    forget_tokens()  # the worker's own process
    adopt_tokens({**handed, "http://other.invalid 00": ["tok-x", 100], "broken": "x"})
    calls.clear()
    ex = _client(handler).link({"linkCustomers": []})
    assert [c.url.path for c in calls] == ["/v2/partnerProgram/linkCustomer"]
    assert ex.request_headers["X-CAP-API-OAUTH-TOKEN"] == "tok-1" and "tok-1" not in ex.render()


def test_basic_auth_exchange_render_hides_the_header() -> None:
    client = _client(lambda r: httpx.Response(200, json={}), org=0)
    ex = client.link({"linkCustomers": []})
    assert ex.request_headers["Authorization"].startswith("Basic ")
    assert ex.request_headers["Authorization"] not in ex.render()


def test_connect_failure_is_a_target_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TargetUnreachable, match="ConnectError"):
        _client(handler, org=0).link({"linkCustomers": []})
