"""Client: the Capillary Basic header, OAuth token reuse, redaction of exchanges."""

from __future__ import annotations

import json

import httpx
import pytest

from ppconformance.connection.client import PartnerProgramClient, TargetUnreachable, basic_auth_header, redact_text
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
