"""Test helpers for ppreference: auth headers, a fake clock, an org-bound client."""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx works the same here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


LINK = "/v2/partnerProgram/linkCustomer"
UPDATE = "/v2/partnerProgram/customerPartnerProgramUpdate"
DELINK = "/v2/partnerProgram/deLinkCustomer"

ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "enabled-password",
    "PP_EMBEDDED_ENABLED_OAUTH_KEY": "enabled-key",
    "PP_EMBEDDED_ENABLED_OAUTH_SECRET": "enabled-secret",
    "PP_EMBEDDED_DISABLED_PASSWORD": "disabled-password",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "disabled-key",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "disabled-secret",
}
ENABLED_TILL = "conformance.enabled.till"
DISABLED_TILL = "conformance.disabled.till"

#: 2026-06-15 11:30 in Asia/Kolkata, 07:00 in Europe/London.
DEFAULT_NOW = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def basic_header(till: str, password: str) -> str:
    """`Basic base64(till:md5hex(password))` (capillary-facts#authentication)."""
    digest = hashlib.md5(password.encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{till}:{digest}".encode()).decode()


class Clock:
    """An injectable clock: set `.now` to move time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Api:
    """A TestClient bound to one org's Basic credentials, with request builders."""

    def __init__(self, client: TestClient, till: str, password: str) -> None:
        self.client = client
        self.headers = {"Authorization": basic_header(till, password)}
        self._serial = 0

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.headers)

    def customer(self, mobile: str | None = None, *, loyalty: bool = True, **idents: str) -> dict:
        """Create a customer; returns its identifier object `{"mobile": ...}`."""
        if mobile is None and not idents:
            self._serial += 1
            mobile = f"9190000{self._serial:05d}"
        identifiers = [{"type": "mobile", "value": mobile}] if mobile else []
        identifiers += [{"type": k, "value": v} for k, v in idents.items()]
        body = {
            "loyaltyInfo": {"loyaltyType": "loyalty" if loyalty else "non_loyalty"},
            "profiles": [{"identifiers": identifiers, "source": "INSTORE"}],
        }
        response = self.post("/v2/customers", body)
        assert response.status_code == 200, response.text
        return {"mobile": mobile} if mobile else dict(idents)

    def link(self, customer: dict, name: Any, **reference: Any) -> httpx.Response:
        item: dict[str, Any] = {"partnerProgramName": name}
        if reference:
            item["customerPartnerReference"] = reference
        return self.post(LINK, {"linkCustomers": [{"customer": customer, "linkToPartnerPrograms": [item]}]})

    def linked_customer(self, name: str, membership_id: str = "M") -> dict:
        """Create a customer and link it to program `name`; returns its identifier object."""
        customer = self.customer()
        status = self.link_status(customer, name, partnerMembershipId=membership_id)
        assert code_of(status) == 200, status
        return customer

    def link_status(self, customer: dict, name: Any, **reference: Any) -> dict:
        response = self.link(customer, name, **reference)
        return response.json()["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerLinkStatus"]

    def update(self, customer: dict, name: Any, update_type: Any, **details: Any) -> httpx.Response:
        item: dict[str, Any] = {"partnerProgramName": name, "updateType": update_type}
        if details:
            item["updateDetails"] = details
        return self.post(UPDATE, {"customersPartnerUpdates": [{"customer": customer, "partnerProgramUpdates": [item]}]})

    def update_status(self, customer: dict, name: Any, update_type: Any, **details: Any) -> dict:
        response = self.update(customer, name, update_type, **details)
        body = response.json()["customersPartnerUpdates"][0]
        return body["partnerProgramUpdates"][0]["updateStatus"]

    def delink(self, customer: dict, *names: Any) -> httpx.Response:
        return self.post(
            DELINK,
            {
                "deLinkCustomers": [
                    {"customer": customer, "deLinkFromPartnerPrograms": [{"partnerProgramName": n} for n in names]}
                ]
            },
        )

    def delink_status(self, customer: dict, name: Any) -> dict:
        body = self.delink(customer, name).json()["customersPartnerUpdates"][0]
        return body["partnerProgramUpdates"][0]["updateStatus"]

    def linked(self, customer: dict) -> list[dict]:
        """`linkedPartnerPrograms` of the customer (via lookup + loyaltyDetails)."""
        kind, value = next(iter(customer.items()))
        found = self.get("/v2/customers/lookup", source="INSTORE", identifierName=kind, identifierValue=value)
        assert found.status_code == 200, found.text
        details = self.get(f"/v2/customers/{found.json()['entity']}/loyaltyDetails")
        assert details.status_code == 200, details.text
        return details.json()["linkedPartnerPrograms"]


def code_of(status: dict) -> int:
    """The code of a status object, after checking its shape."""
    assert set(status) == {"status", "code", "message"}, status
    assert isinstance(status["message"], str) and status["message"]
    assert status["status"] is (status["code"] in (200, 1000)), status
    return status["code"]


def assert_envelope(response: httpx.Response, http_status: int, code: int | None = None) -> None:
    """The request-level error envelope `{"warnings": [], "errors": [{status, code, message}]}`."""
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert set(error) == {"status", "code", "message"}
    assert error["status"] is False and isinstance(error["message"], str)
    assert isinstance(error["code"], int)
    if code is not None:
        assert error["code"] == code, body
