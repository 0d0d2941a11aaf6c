"""Admin endpoints of the reference server: GET /__reference__/state and the request log's
`authenticated`/`changed` flags (docs/reference-behaviour.md#admin-endpoints)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import DELINK, DISABLED_TILL, ENV, LINK, Api, TestClient, basic_header, code_of

STATE = "/__reference__/state"
REQUESTS = "/__reference__/requests"


def _state(client: TestClient) -> dict[int, dict[str, Any]]:
    response = client.get(STATE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"orgs"}
    for org in body["orgs"]:
        assert set(org) == {"orgId", "name", "customers", "links"}
        for link in org["links"]:
            assert set(link) == {
                "customerId",
                "mobile",
                "email",
                "externalId",
                "partnerProgramName",
                "partnerTierName",
                "pending",
            }
    return {org["orgId"]: org for org in body["orgs"]}


def _entity(api: Api, customer: dict) -> int:
    kind, value = next(iter(customer.items()))
    response = api.get("/v2/customers/lookup", identifierName=kind, identifierValue=value)
    return int(response.json()["entity"])


def _log(client: TestClient) -> list[dict[str, Any]]:
    return list(client.get(REQUESTS).json()["requests"])


# state ---------------------------------------------------------------------------------------
def test_state_of_a_fresh_server_lists_every_org_empty(client: TestClient) -> None:
    response = client.get(STATE)
    assert response.json() == {
        "orgs": [
            {"orgId": 50002, "name": "relinking-disabled", "customers": 0, "links": []},
            {"orgId": 50001, "name": "relinking-enabled", "customers": 0, "links": []},
        ]
    }


def test_state_lists_customers_and_links_per_org(enabled: Api, disabled: Api) -> None:
    first = enabled.customer("91001", email="a@example.com")
    assert (
        code_of(enabled.link_status(first, "Apparel-Partner", partnerMembershipId="A", partnerTierName="Bronze")) == 200
    )
    assert code_of(enabled.link_status(first, "SPP_2", partnerMembershipId="S")) == 200
    enabled.customer("91002")  # registered, never linked
    other = disabled.customer(externalId="EXT-1")
    assert code_of(disabled.link_status(other, "SPP_1", partnerMembershipId="D", partnerTierName="Premium")) == 200
    state = _state(enabled.client)
    first_id = _entity(enabled, first)
    assert state[50001]["customers"] == 2
    assert state[50001]["links"] == [
        {
            "customerId": first_id,
            "mobile": "91001",
            "email": "a@example.com",
            "externalId": None,
            "partnerProgramName": "Apparel-Partner",
            "partnerTierName": "Bronze",
            "pending": False,
        },
        {
            "customerId": first_id,
            "mobile": "91001",
            "email": "a@example.com",
            "externalId": None,
            "partnerProgramName": "SPP_2",
            "partnerTierName": None,
            "pending": False,
        },
    ]
    assert state[50002]["customers"] == 1
    assert state[50002]["links"] == [
        {
            "customerId": _entity(disabled, other),
            "mobile": None,
            "email": None,
            "externalId": "EXT-1",
            "partnerProgramName": "SPP_1",
            "partnerTierName": "Premium",
            "pending": False,
        },
    ]


def test_state_follows_tier_changes(enabled: Api) -> None:
    customer = enabled.customer()
    assert code_of(enabled.link_status(customer, "SPP_1", partnerMembershipId="S", partnerTierName="Classic")) == 200
    assert code_of(enabled.update_status(customer, "SPP_1", "UPGRADE", updatedTierName="Premium")) == 200
    [link] = _state(enabled.client)[50001]["links"]
    assert link["partnerTierName"] == "Premium"


def test_state_shows_pending_relink_until_cancelled_or_delinked(enabled: Api) -> None:
    customer = enabled.linked_customer("SPP_1")
    customer_id = _entity(enabled, customer)
    assert (
        code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01", partnerTierName="Premium"))
        == 200
    )
    common = {
        "customerId": customer_id,
        "mobile": customer["mobile"],
        "email": None,
        "externalId": None,
        "partnerProgramName": "SPP_1",
    }
    assert _state(enabled.client)[50001]["links"] == [
        {**common, "partnerTierName": None, "pending": False},
        {**common, "partnerTierName": "Premium", "pending": True},
    ]
    assert code_of(enabled.update_status(customer, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")) == 200
    assert _state(enabled.client)[50001]["links"] == [{**common, "partnerTierName": None, "pending": False}]

    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01")) == 200
    assert len(_state(enabled.client)[50001]["links"]) == 2
    assert code_of(enabled.delink_status(customer, "SPP_1")) == 200
    org = _state(enabled.client)[50001]
    assert org["links"] == [] and org["customers"] == 1  # delink keeps the customer


def test_admin_endpoints_need_no_auth_and_are_not_logged(client: TestClient, enabled: Api) -> None:
    enabled.get("/v2/organization/programs")
    for path in (STATE, REQUESTS, "/__reference__/health"):
        assert client.get(path).status_code == 200
        assert client.get(path, headers={"Authorization": "Basic bad"}).status_code == 200
    assert [entry["path"] for entry in _log(client)] == ["/v2/organization/programs"]


# request log flags ------------------------------------------------------------------------------
def _flags(client: TestClient) -> list[tuple[int, bool, bool]]:
    """`(status, authenticated, changed)` of each logged request, oldest first."""
    return [(e["status"], e["authenticated"], e["changed"]) for e in _log(client)]


def test_log_marks_requests_that_changed_state(enabled: Api) -> None:
    customer = enabled.customer()  # registered: changed
    enabled.post(
        "/v2/customers", {"profiles": [{"identifiers": [{"type": "mobile", "value": customer["mobile"]}]}]}
    )  # 8003: nothing changed
    enabled.link_status(customer, "SPP_1", partnerMembershipId="S", partnerTierName="Classic")
    enabled.link_status(customer, "SPP_1", partnerMembershipId="S")  # 2005 already linked
    enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01")  # relink queued
    enabled.update_status(customer, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")  # cancelled
    enabled.update_status(customer, "SPP_1", "MEMBERSHIP_RELINKING_CANCELLED")  # 2027
    enabled.update_status(customer, "SPP_1", "UPGRADE", updatedTierName="Premium")  # tier changed
    enabled.update_status(customer, "SPP_1", "UPGRADE", updatedTierName="Premium")  # same again
    enabled.linked(customer)  # lookup + loyaltyDetails
    enabled.get("/v2/organization/programs")
    enabled.delink_status(customer, "SPP_1")  # removed
    enabled.delink_status(customer, "SPP_1")  # 2004
    assert [(e["path"], e["changed"]) for e in _log(enabled.client)] == [
        ("/v2/customers", True),
        ("/v2/customers", False),
        (LINK, True),
        (LINK, False),
        (LINK, True),
        ("/v2/partnerProgram/customerPartnerProgramUpdate", True),
        ("/v2/partnerProgram/customerPartnerProgramUpdate", False),
        ("/v2/partnerProgram/customerPartnerProgramUpdate", True),
        ("/v2/partnerProgram/customerPartnerProgramUpdate", False),
        ("/v2/customers/lookup", False),
        (f"/v2/customers/{_entity(enabled, customer)}/loyaltyDetails", False),
        ("/v2/organization/programs", False),
        (DELINK, True),
        (DELINK, False),
    ]


def test_batch_with_one_change_among_failures_is_changed(enabled: Api) -> None:
    customer = enabled.customer()
    body = {
        "linkCustomers": [
            {
                "customer": {"mobile": "nobody"},
                "linkToPartnerPrograms": [
                    {"partnerProgramName": "SPP_1", "customerPartnerReference": {"partnerMembershipId": "x"}}
                ],
            },
            {
                "customer": customer,
                "linkToPartnerPrograms": [
                    {"partnerProgramName": "Nope"},
                    {"partnerProgramName": "SPP_2", "customerPartnerReference": {"partnerMembershipId": "y"}},
                ],
            },
        ]
    }
    assert enabled.post(LINK, body).status_code == 201
    assert _flags(enabled.client)[-1] == (201, True, True)


@pytest.mark.parametrize("body", [b"{", b'{"linkCustomers": []}'])
def test_rejected_request_changes_nothing(enabled: Api, body: bytes) -> None:
    response = enabled.client.post(LINK, content=body, headers=enabled.headers)
    assert response.status_code == 400
    assert _flags(enabled.client) == [(400, True, False)]


def test_token_issuance_is_not_a_change_and_carries_no_credentials(client: TestClient) -> None:
    issued = client.post("/v3/oauth/token/generate", json={"key": "enabled-key", "secret": "enabled-secret"})
    token = issued.json()["data"]["accessToken"]
    client.get("/v2/organization/programs", headers={"CAP-API-ACCESS-TOKEN": token})
    log = _log(client)
    assert [(e["orgId"], e["authenticated"], e["changed"]) for e in log] == [(None, False, False), (50001, True, False)]


def test_authenticated_reflects_the_credentials_on_every_route(client: TestClient) -> None:
    good = {"Authorization": basic_header(DISABLED_TILL, ENV["PP_EMBEDDED_DISABLED_PASSWORD"])}
    bad = {"Authorization": basic_header(DISABLED_TILL, "wrong")}
    client.get("/v2/organization/programs", headers=bad)
    client.get("/v2/organization/programs")
    client.get("/v2/nope", headers=good)  # unknown route: 404, but the credentials were valid
    client.get(LINK, headers=good)  # wrong method: 405
    assert [(e["status"], e["orgId"], e["authenticated"]) for e in _log(client)] == [
        (401, None, False),
        (401, None, False),
        (404, 50002, True),
        (405, 50002, True),
    ]


# reset (the sweep's server per job) and latency ------------------------------------------------------------
def test_reset_starts_the_server_over_with_a_fault_or_a_variant(enabled: Api) -> None:
    enabled.linked_customer("Apparel-Partner")
    client = enabled.client
    answer = client.post("/__reference__/reset", json={"fault": "link-2006-as-2004", "variant": None})
    assert answer.status_code == 200 and answer.json() == {"fault": "link-2006-as-2004", "variant": None}
    assert all(org["customers"] == 0 and not org["links"] for org in _state(client).values()), "an empty store"
    fresh = enabled.customer("91777")
    assert code_of(enabled.link_status(fresh, "No-Such-Program", partnerMembershipId="M")) == 2004  # the fault
    assert client.post("/__reference__/reset", json={"variant": "extra-fields"}).json()["variant"] == "extra-fields"
    again = enabled.customer("91777")  # the store is empty again: the same mobile registers
    status = enabled.link_status(again, "No-Such-Program", partnerMembershipId="M")
    assert status["code"] == 2006 and "referenceVariantNote" in status  # no fault; the variant's extra field
    refused = client.post("/__reference__/reset", json={"fault": "no-such-fault"})
    assert refused.status_code == 400 and "no-such-fault" in refused.text


def test_latency_delays_every_api_answer_but_not_the_admin_ones(env: dict[str, str]) -> None:
    import time

    from ppreference import create_app, load_orgs

    with TestClient(create_app(load_orgs(), latency_ms=150)) as client:
        started = time.monotonic()
        assert client.get("/v2/organization/programs").status_code == 401  # no credentials: still delayed
        delayed = time.monotonic() - started
        started = time.monotonic()
        assert client.get(STATE).status_code == 200
        admin = time.monotonic() - started
    assert delayed >= 0.15 > admin, (delayed, admin)
