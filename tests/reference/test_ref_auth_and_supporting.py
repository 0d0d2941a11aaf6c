"""Auth, supporting customer endpoints, routing errors and admin endpoints
(capillary-facts#authentication, #customer-apis, #http-status-conventions)."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest

from ppreference import create_app, load_orgs
from ppreference.config import default_orgs_dir

from .helpers import (
    DELINK,
    ENABLED_TILL,
    ENV,
    LINK,
    UPDATE,
    Api,
    Clock,
    TestClient,
    assert_envelope,
    basic_header,
)

AUTHED_ROUTES = [
    ("POST", LINK),
    ("POST", UPDATE),
    ("POST", DELINK),
    ("POST", "/v2/customers"),
    ("GET", "/v2/customers/lookup?source=INSTORE&identifierName=mobile&identifierValue=1"),
    ("GET", "/v2/customers/300000001/loyaltyDetails"),
    ("GET", "/v2/organization/programs"),
]
WORKED_EXAMPLE = "Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3"


# basic auth -------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), AUTHED_ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic_header(ENABLED_TILL, "wrong-password"),
        basic_header("unknown.till", ENV["PP_EMBEDDED_ENABLED_PASSWORD"]),
        basic_header(ENABLED_TILL, ENV["PP_EMBEDDED_DISABLED_PASSWORD"]),  # another org's password
        "Basic "
        + base64.b64encode(f"{ENABLED_TILL}:{ENV['PP_EMBEDDED_ENABLED_PASSWORD']}".encode()).decode(),  # not md5
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer abc",
        "Basic",
    ],
)
def test_missing_or_wrong_credentials_get_401_envelope(
    client: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.request(method, path, headers=headers, content=b"{}")
    assert_envelope(response, 401, 401)
    assert response.json()["errors"][0]["message"] == "Authentication failed"


def test_worked_example_header_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = default_orgs_dir() / "relinking-enabled.yaml"
    text = source.read_text().replace("conformance.enabled.till", "store.server")
    (tmp_path / "store.yaml").write_text(text)
    monkeypatch.setenv("PP_EMBEDDED_ENABLED_PASSWORD", "server123")
    monkeypatch.setenv("PP_EMBEDDED_ENABLED_OAUTH_KEY", "k")
    monkeypatch.setenv("PP_EMBEDDED_ENABLED_OAUTH_SECRET", "s")
    assert basic_header("store.server", "server123") == WORKED_EXAMPLE
    with TestClient(create_app(load_orgs(tmp_path))) as client:
        response = client.get("/v2/organization/programs", headers={"Authorization": WORKED_EXAMPLE})
        assert response.status_code == 200, response.text
        wrong = WORKED_EXAMPLE[:-2] + "Yg"
        assert_envelope(client.get("/v2/organization/programs", headers={"Authorization": wrong}), 401, 401)


def test_basic_credentials_select_the_org(enabled: Api, disabled: Api) -> None:
    assert [p["partnerProgramId"] for p in enabled.get("/v2/organization/programs").json()["partnerPrograms"]] == [
        101,
        102,
        103,
    ]
    assert [p["partnerProgramId"] for p in disabled.get("/v2/organization/programs").json()["partnerPrograms"]] == [
        201,
        202,
        203,
    ]


# oauth ------------------------------------------------------------------------------------------
def _token(client: TestClient, key: str, secret: str) -> str:
    response = client.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] is None and body["data"]["ttlSeconds"] == 300
    token = body["data"]["accessToken"]
    assert isinstance(token, str) and token.count(".") == 2  # JWT-shaped
    return token


@pytest.mark.parametrize("header", ["X-CAP-API-OAUTH-TOKEN", "CAP-API-ACCESS-TOKEN"])
def test_oauth_token_is_accepted_in_both_headers(client: TestClient, header: str) -> None:
    token = _token(client, "disabled-key", "disabled-secret")
    response = client.get("/v2/organization/programs", headers={header: token})
    assert response.status_code == 200
    assert response.json()["partnerPrograms"][0]["partnerProgramId"] == 201


@pytest.mark.parametrize(
    "body",
    [
        {"key": "enabled-key", "secret": "nope"},
        {"key": "disabled-key", "secret": "enabled-secret"},
        {"key": "enabled-key"},
        {},
        {"key": 1, "secret": 2},
    ],
)
def test_oauth_wrong_key_or_secret_is_401(client: TestClient, body: dict) -> None:
    assert_envelope(client.post("/v3/oauth/token/generate", json=body), 401, 401)


@pytest.mark.parametrize("raw", [b"", b"[]", b"\xff", b"null"])
def test_oauth_malformed_body_is_400(client: TestClient, raw: bytes) -> None:
    assert_envelope(client.post("/v3/oauth/token/generate", content=raw), 400, 400)


def test_oauth_unknown_and_expired_tokens_are_401(client: TestClient, clock: Clock) -> None:
    path = "/v2/organization/programs"
    assert_envelope(client.get(path, headers={"X-CAP-API-OAUTH-TOKEN": "a.b.c"}), 401, 401)
    token = _token(client, "enabled-key", "enabled-secret")
    clock.now += timedelta(seconds=299)
    assert client.get(path, headers={"X-CAP-API-OAUTH-TOKEN": token}).status_code == 200
    clock.now += timedelta(seconds=1)
    assert_envelope(client.get(path, headers={"X-CAP-API-OAUTH-TOKEN": token}), 401, 401)


# supporting customer endpoints ---------------------------------------------------------------
def test_customer_ids_are_unique_across_orgs(enabled: Api, disabled: Api) -> None:
    body = {
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "profiles": [{"identifiers": [{"type": "mobile", "value": "91555"}], "source": "INSTORE"}],
    }
    first = enabled.post("/v2/customers?source=INSTORE", body)
    second = disabled.post("/v2/customers", body)  # same mobile, other org: allowed
    assert first.status_code == second.status_code == 200
    created = first.json()["createdId"]
    assert first.json() == {"createdId": created, "warnings": [], "sideEffects": []}
    ids = [first.json()["createdId"], second.json()["createdId"]]
    assert ids[0] >= 300000001 and ids[0] != ids[1]


def test_duplicate_identifier_is_8003(enabled: Api) -> None:
    enabled.customer("91666", email="dup@example.com")
    body = {"profiles": [{"identifiers": [{"type": "email", "value": "dup@example.com"}]}]}
    response = enabled.post("/v2/customers", body)
    assert_envelope(response, 400, 8003)
    assert response.json()["errors"][0]["message"] == "identifier already in use"


@pytest.mark.parametrize(
    "body",
    [
        {"profiles": []},
        {},
        {"profiles": [{"identifiers": []}]},
        {"profiles": [{"identifiers": [{"type": "mobile", "value": ""}]}]},
    ],
)
def test_customer_without_identifier_is_8013(enabled: Api, body: dict) -> None:
    assert_envelope(enabled.post("/v2/customers", body), 400, 8013)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"profiles": "x"},
        {"profiles": [1]},
        {"loyaltyInfo": {"loyaltyType": "gold"}, "profiles": []},
        {"profiles": [{"identifiers": [{"type": "card", "value": "1"}]}]},
    ],
)
def test_malformed_customer_body_is_400(enabled: Api, body: object) -> None:
    assert_envelope(enabled.post("/v2/customers", body), 400, 400)


def test_lookup(enabled: Api, disabled: Api) -> None:
    enabled.customer("91777", externalId="EXT-7")
    found = enabled.get("/v2/customers/lookup", source="INSTORE", identifierName="externalId", identifierValue="EXT-7")
    assert found.status_code == 200
    assert set(found.json()) == {"entity", "warnings"} and isinstance(found.json()["entity"], int)
    assert_envelope(
        disabled.get("/v2/customers/lookup", source="INSTORE", identifierName="mobile", identifierValue="91777"),
        400,
        8015,
    )
    assert_envelope(enabled.get("/v2/customers/lookup", identifierName="card", identifierValue="1"), 400, 8013)


@pytest.mark.parametrize("customer_id", ["1", "abc", "3" * 5000, "%C2%B2"])
def test_loyalty_details_of_unknown_customer_is_8015(enabled: Api, customer_id: str) -> None:
    assert_envelope(enabled.get(f"/v2/customers/{customer_id}/loyaltyDetails"), 400, 8015)


def test_loyalty_details_of_unlinked_customer(enabled: Api) -> None:
    entity = enabled.client.post(
        "/v2/customers",
        headers=enabled.headers,
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": "91888"}]}]},
    ).json()["createdId"]
    response = enabled.get(f"/v2/customers/{entity}/loyaltyDetails")
    assert response.json() == {"id": entity, "linkedPartnerPrograms": [], "warnings": []}


def test_programs_listing_matches_org_file(enabled: Api) -> None:
    body = enabled.get("/v2/organization/programs").json()
    assert body["warnings"] == []
    spp2 = body["partnerPrograms"][2]
    assert spp2 == {
        "partnerProgramId": 103,
        "partnerProgramName": "SPP_2",
        "partnerProgramDescription": spp2["partnerProgramDescription"],
        "partnerProgramTiers": [],
        "partnerProgramType": "SUPPLEMENTARY",
        "membershipPeriodType": "MONTHS",
        "membershipPeriodValue": 12,
        "tierBased": False,
    }
    assert body["partnerPrograms"][0]["partnerProgramTiers"] == [
        {"tierNumber": 1, "tierName": "Bronze"},
        {"tierNumber": 2, "tierName": "Silver"},
        {"tierNumber": 3, "tierName": "Gold"},
    ]


# routing, admin, last resort -----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/v2/nope", LINK + "/", "/v2/partnerProgram/linkcustomer"])
def test_unknown_route_is_404_envelope(enabled: Api, path: str) -> None:
    assert_envelope(enabled.client.post(path, headers=enabled.headers, json={}), 404, 404)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", LINK), ("PUT", UPDATE), ("DELETE", DELINK), ("POST", "/v2/organization/programs")]
)
def test_wrong_method_is_405_envelope(enabled: Api, method: str, path: str) -> None:
    assert_envelope(enabled.client.request(method, path, headers=enabled.headers), 405, 405)


def test_request_log_and_health(client: TestClient, enabled: Api) -> None:
    assert client.get("/__reference__/health").json() == {"status": "ok"}
    enabled.get("/v2/organization/programs")
    client.get("/v2/organization/programs")
    log = client.get("/__reference__/requests").json()["requests"]
    assert log == [
        {
            "method": "GET",
            "path": "/v2/organization/programs",
            "orgId": 50001,
            "authenticated": True,
            "status": 200,
            "changed": False,
        },
        {
            "method": "GET",
            "path": "/v2/organization/programs",
            "orgId": None,
            "authenticated": False,
            "status": 401,
            "changed": False,
        },
    ]


def test_unexpected_exception_is_a_500_envelope(enabled: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import ppreference.app as app_module

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(app_module, "run_link", boom)
    customer = enabled.customer()
    response = enabled.link(customer, "SPP_1", partnerMembershipId="M")
    assert_envelope(response, 500, 500)
