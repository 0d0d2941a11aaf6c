"""The reference server's webhooks: registration, event emission, retries, the simulated clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ppconformance.contract.events import check
from ppreference import create_app, load_orgs

from .helpers import Api, Clock, TestClient, code_of


class Receiver:
    """A loopback webhook receiver answering the statuses of `script` in turn (then 200)."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.got: list[tuple[dict[str, str], Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.got.append((dict(self.headers), body))
                self.send_response(receiver.script.pop(0) if receiver.script else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [body for _, body in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _register(api: Api, url: str, **extra: Any) -> Any:
    body = {
        "name": "conformance",
        "webHookUrl": url,
        "webHookType": "HTTP",
        "methodType": "POST",
        "eventNames": [],
        "webHookHeaders": {"Authorization": "Bearer s3cret"},
        "active": True,
        **extra,
    }
    response = api.post("/v3/webHooks", body)
    assert response.status_code == 200, response.text
    return response.json()["entity"]


def test_registration_answers_the_webhook_without_header_values(enabled: Api, receiver: Receiver) -> None:
    entity = _register(enabled, receiver.url)
    assert entity["webHookHeaders"] == {"Authorization": "***"} and entity["active"] is True
    assert "s3cret" not in enabled.client.get("/__reference__/webhooks").text


def test_registration_needs_credentials_and_a_url(client: TestClient, enabled: Api) -> None:
    assert client.post("/v3/webHooks", json={"webHookUrl": "http://x"}).status_code == 401
    assert enabled.post("/v3/webHooks", {"name": "x"}).status_code == 400


def test_a_link_update_and_delink_are_announced_in_the_flat_form(enabled: Api, receiver: Receiver) -> None:
    _register(enabled, receiver.url)
    customer = enabled.customer()
    assert (
        code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="M-1", partnerTierName="Bronze"))
        == 200
    )
    assert code_of(enabled.update_status(customer, "Apparel-Partner", "UPGRADE", updatedTierName="Gold")) == 200
    assert code_of(enabled.delink_status(customer, "Apparel-Partner")) == 200
    events = receiver.wait(3)
    assert [e["eventName"] for e in sorted(events, key=lambda e: e["createdAt"])] or events
    by_name = {e["eventName"]: e for e in events}
    assert set(by_name) == {"partnerProgramLinked", "partnerProgramUpdated", "partnerProgramDelinked"}
    for event in events:
        assert check(event).valid, check(event).errors
        assert event["data"]["customerIdentifiers"]["instore"]["mobile"] == customer["mobile"]
    linked = by_name["partnerProgramLinked"]["data"]
    assert linked["partnerProgramType"] == "EXTERNAL"
    assert linked["customerPartnerProgramDetails"] == {"membershipNumber": "M-1", "partnerTierNumber": 1}
    assert by_name["partnerProgramUpdated"]["data"]["updateType"] == "UPGRADE"
    assert receiver.got[0][0]["Authorization"] == "Bearer s3cret"


def test_a_failed_item_is_announced_by_no_event(enabled: Api, receiver: Receiver) -> None:
    _register(enabled, receiver.url)
    customer = enabled.customer()
    assert (
        code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="M", partnerTierName="Nope"))
        != 200
    )
    assert code_of(enabled.link_status(customer, "Apparel-Partner", partnerMembershipId="M2")) == 200
    events = receiver.wait(1)
    time.sleep(0.2)
    assert len(receiver.got) == 1 and events[0]["data"]["customerPartnerProgramDetails"]["membershipNumber"] == "M2"


def test_the_wrapped_form_and_the_answer_request_id(env: dict[str, str], clock: Clock, receiver: Receiver) -> None:
    with TestClient(create_app(load_orgs(), clock=clock, event_form="wrapped")) as client:
        api = Api(client, "conformance.enabled.till", env["PP_EMBEDDED_ENABLED_PASSWORD"])
        _register(api, receiver.url)
        response = api.link(api.customer(), "SPP_1", partnerMembershipId="S-1")
        event = receiver.wait(1)[0]
    assert event["eventType"] == "partnerProgramLinked" and event["actionType"] == "START"
    assert event["attributes"]["apiRequestId"] == response.headers["X-Cap-Request-Id"]
    assert check(event).valid and check(event).form == "wrapped"


def test_disabled_and_unsubscribed_webhooks_get_nothing(enabled: Api, receiver: Receiver) -> None:
    _register(enabled, receiver.url, eventNames=["partnerProgramDelinked"])
    enabled.linked_customer("Apparel-Partner")
    _register(enabled, receiver.url, active=False)
    enabled.linked_customer("Apparel-Partner")
    time.sleep(0.3)
    assert receiver.got == []


def test_5xx_429_and_connection_errors_are_retried_4xx_is_not_and_a_gone_receiver_is_disabled(
    env: dict[str, str], clock: Clock
) -> None:
    flaky = Receiver([500, 429])
    refusing = Receiver([400])
    try:
        app = create_app(load_orgs(), clock=clock)
        app.state.reference.events.base_delay = 0.01
        with TestClient(app) as client:
            api = Api(client, "conformance.enabled.till", env["PP_EMBEDDED_ENABLED_PASSWORD"])
            _register(api, flaky.url, name="flaky")
            _register(api, refusing.url, name="refusing")
            _register(api, "http://127.0.0.1:9/closed", name="closed")
            api.linked_customer("Apparel-Partner")
            flaky.wait(3)
            time.sleep(0.3)
            answer = client.get("/__reference__/webhooks").json()
            attempts, hooks = answer["attempts"], answer["webhooks"]
    finally:
        flaky.close()
        refusing.close()
    by_hook: dict[int, list[Any]] = {}
    for a in attempts:
        by_hook.setdefault(a["webhookId"], []).append(a["status"])
    assert sorted(by_hook.values(), key=len) == [[400], ["ConnectError"] * 3, [500, 429, 200]]
    assert [h["active"] for h in hooks if h["name"] == "closed"] == [False]  # gone receivers are disabled
    assert len({e["eventId"] for _, e in flaky.got}) == 1  # a retry is the same event


def test_faults_change_the_events(env: dict[str, str], clock: Clock) -> None:
    for fault in ("event-not-sent", "event-wrong-customer-id", "event-update-type-omitted"):
        receiver = Receiver()
        with TestClient(create_app(load_orgs(), clock=clock, fault=fault)) as client:
            api = Api(client, "conformance.enabled.till", env["PP_EMBEDDED_ENABLED_PASSWORD"])
            _register(api, receiver.url)
            customer = api.linked_customer("Apparel-Partner")
            api.update_status(customer, "Apparel-Partner", "UPGRADE", updatedTierName="Gold")
            events = receiver.wait(2, timeout=1)
        receiver.close()
        if fault == "event-not-sent":
            assert events == []
        elif fault == "event-wrong-customer-id":
            assert all(e["data"]["customerIdentifiers"]["customerId"] >= 1_000_000 + 300_000_001 for e in events)
        else:
            updated = [e for e in events if e["eventName"] == "partnerProgramUpdated"]
            assert updated and "updateType" not in updated[0]["data"] and not check(updated[0]).valid


def test_a_customer_delinked_and_linked_again_is_reminded_of_its_new_membership(
    enabled: Api, receiver: Receiver, client: TestClient
) -> None:
    _register(enabled, receiver.url)
    customer = enabled.linked_customer("SPP_1", "S-1")  # 30-day membership from 2026-06-15, as the next one
    customer_id = enabled.get(
        "/v2/customers/lookup", source="INSTORE", identifierName="mobile", identifierValue=customer["mobile"]
    ).json()["entity"]
    clock = {"asOf": "2026-07-12", "customerIds": [customer_id]}
    assert client.post("/__reference__/clock", json=clock).json()["reminders"] == 1
    assert code_of(enabled.delink_status(customer, "SPP_1")) == 200
    assert code_of(enabled.link_status(customer, "SPP_1", partnerMembershipId="S-2")) == 200
    assert client.post("/__reference__/clock", json=clock).json()["reminders"] == 1  # the customer pool's case
    assert client.post("/__reference__/clock", json=clock).json()["reminders"] == 0  # once per membership
    reminders = [e for e in receiver.wait(5) if e["eventName"] == "supplementaryMembershipExpiryReminder"]
    assert len(reminders) == 2


def test_the_clock_sends_an_expiry_reminder_once_and_activates_a_due_relink(
    enabled: Api, receiver: Receiver, client: TestClient
) -> None:
    _register(enabled, receiver.url)
    customer = enabled.linked_customer("SPP_1", "S-1")  # 30-day membership from 2026-06-15
    state = client.get("/__reference__/state").json()
    customer_id = next(
        link["customerId"] for org in state["orgs"] for link in org["links"] if link["mobile"] == customer["mobile"]
    )
    assert client.post("/__reference__/clock", json={"asOf": "2026-06-20", "customerIds": [customer_id]}).json() == {
        "activated": 0,
        "reminders": 0,
    }
    for _ in range(2):
        answer = client.post("/__reference__/clock", json={"asOf": "2026-07-12", "customerIds": [customer_id]})
        assert answer.json()["reminders"] in (0, 1)
    events = receiver.wait(2)
    reminders = [e for e in events if e["eventName"] == "supplementaryMembershipExpiryReminder"]
    assert len(reminders) == 1 and check(reminders[0]).valid
    assert reminders[0]["data"]["scheduledExpiryDate"] == "2026-07-15"
    # a relink queued for after the membership ends is announced when the scheduler activates it
    assert code_of(enabled.link_status(customer, "SPP_1", membershipStartDate="2026-08-01")) == 200
    time.sleep(0.2)
    assert len(receiver.got) == 2
    answer = client.post("/__reference__/clock", json={"asOf": "2026-08-01", "customerIds": [customer_id]})
    assert answer.json()["activated"] == 1
    linked = [e for e in receiver.wait(3) if e["eventName"] == "partnerProgramLinked"]
    assert len(linked) == 2 and check(linked[-1]).valid
    assert client.post("/__reference__/clock", json={"asOf": "x"}).status_code == 400
