"""Malformed input always gets the documented envelope, never a 5xx or a framework body
(docs/reference-behaviour.md#envelopes-and-http-status; AMB-MALFORMED-CODE)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .helpers import DELINK, LINK, UPDATE, Api, assert_envelope

ENDPOINTS = {
    "link": (LINK, "linkCustomers", "linkToPartnerPrograms"),
    "update": (UPDATE, "customersPartnerUpdates", "partnerProgramUpdates"),
    "delink": (DELINK, "deLinkCustomers", "deLinkFromPartnerPrograms"),
}
GOOD_CUSTOMER = {"mobile": "919000000001"}
GOOD_ITEM = {"partnerProgramName": "SPP_1", "updateType": "RENEW"}

Body = Callable[[str, str], Any]  # (top key, items key) -> bytes or a JSON value


def _entry(items_key: str, customer: Any = GOOD_CUSTOMER, items: Any = (GOOD_ITEM,)) -> dict:
    return {"customer": customer, items_key: list(items) if isinstance(items, tuple) else items}


MALFORMED: list[tuple[str, Body, int]] = [
    ("empty body", lambda t, i: b"", 400),
    ("not json", lambda t, i: b"linkCustomers=1", 400),
    ("truncated json", lambda t, i: b'{"' + t.encode() + b'": [', 400),
    ("non-utf8 bytes", lambda t, i: b'{"x": "\xff\xfe"}', 400),
    ("latin-1 text", lambda t, i: '{"é": 1}'.encode("latin-1"), 400),
    ("deeply nested", lambda t, i: b"[" * 100_000, 400),
    ("json array", lambda t, i: [], 400),
    ("json number", lambda t, i: 42, 400),
    ("json null", lambda t, i: None, 400),
    ("json string", lambda t, i: "linkCustomers", 400),
    ("top array missing", lambda t, i: {}, 2002),
    ("top array null", lambda t, i: {t: None}, 2002),
    ("top array empty", lambda t, i: {t: []}, 2002),
    ("top array is a string", lambda t, i: {t: "x"}, 400),
    ("top array is an object", lambda t, i: {t: {"customer": GOOD_CUSTOMER}}, 400),
    ("entry not an object", lambda t, i: {t: [5]}, 400),
    ("entry null", lambda t, i: {t: [None]}, 400),
    ("customer null", lambda t, i: {t: [_entry(i, customer=None)]}, 2002),
    ("customer missing", lambda t, i: {t: [{i: [GOOD_ITEM]}]}, 2002),
    ("customer is a string", lambda t, i: {t: [_entry(i, customer="919")]}, 400),
    ("customer id is a string", lambda t, i: {t: [_entry(i, customer={"id": "abc"})]}, 400),
    ("customer id is a bool", lambda t, i: {t: [_entry(i, customer={"id": True})]}, 400),
    ("customer id is a float", lambda t, i: {t: [_entry(i, customer={"id": 1.5})]}, 400),
    ("customer email is a list", lambda t, i: {t: [_entry(i, customer={"email": ["a"]})]}, 400),
    ("mobile is an object", lambda t, i: {t: [_entry(i, customer={"mobile": {}})]}, 400),
    ("items missing", lambda t, i: {t: [{"customer": GOOD_CUSTOMER}]}, 2002),
    ("items null", lambda t, i: {t: [_entry(i, items=None)]}, 2002),
    ("items empty", lambda t, i: {t: [_entry(i, items=())]}, 2002),
    ("items a string", lambda t, i: {t: [_entry(i, items="SPP_1")]}, 400),
    ("item null", lambda t, i: {t: [_entry(i, items=(None,))]}, 400),
    ("item a string", lambda t, i: {t: [_entry(i, items=("SPP_1",))]}, 400),
    ("program name a number", lambda t, i: {t: [_entry(i, items=({"partnerProgramName": 5},))]}, 400),
    ("program name a list", lambda t, i: {t: [_entry(i, items=({"partnerProgramName": ["a"]},))]}, 400),
    ("second entry malformed", lambda t, i: {t: [_entry(i), _entry(i, customer=[])]}, 400),
    ("huge integer id", lambda t, i: f'{{"{t}": [{{"customer": {{"id": {"9" * 5000}}}}}]}}'.encode(), 400),
]


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(("case", "make", "code"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_body_gets_4xx_envelope(enabled: Api, endpoint: str, case: str, make: Body, code: int) -> None:
    path, top, items = ENDPOINTS[endpoint]
    body = make(top, items)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = enabled.client.post(path, content=raw, headers={**enabled.headers, "Content-Type": "application/json"})
    assert_envelope(response, 400, code)


LINK_SPECIFIC = [
    {"customerPartnerReference": "x"},
    {"customerPartnerReference": []},
    {"customerPartnerReference": {"partnerMembershipId": 7}},
    {"customerPartnerReference": {"partnerTierName": False}},
    {"customerPartnerReference": {"partnerTierExpiryDate": 20261231}},
    {"customerPartnerReference": {"membershipStartDate": ["2027-01-01"]}},
]
UPDATE_SPECIFIC = [
    {"updateType": 5},
    {"updateType": ["UPGRADE"]},
    {"updateType": "UPGRADE", "updateDetails": "Silver"},
    {"updateType": "UPGRADE", "updateDetails": []},
    {"updateType": "UPGRADE", "updateDetails": {"updatedTierName": 2}},
    {"updateType": "UPGRADE", "updateDetails": {"updatedTierName": "S", "updatedTierExpiryDate": 1}},
]


TYPED_CASES = [("link", f) for f in LINK_SPECIFIC] + [("update", f) for f in UPDATE_SPECIFIC]


@pytest.mark.parametrize(("endpoint", "fields"), TYPED_CASES)
def test_wrongly_typed_item_fields_get_400_envelope(enabled: Api, endpoint: str, fields: dict) -> None:
    path, top, items = ENDPOINTS[endpoint]
    item = {"partnerProgramName": "SPP_1", **fields}
    assert_envelope(enabled.post(path, {top: [_entry(items, items=(item,))]}), 400, 400)


def test_link_mobile_must_be_a_string(enabled: Api) -> None:
    body = {"linkCustomers": [_entry("linkToPartnerPrograms", customer={"mobile": 919000000001})]}
    assert_envelope(enabled.post(LINK, body), 400, 400)


def test_body_over_one_mebibyte_is_413(enabled: Api) -> None:
    raw = b'{"linkCustomers": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = enabled.client.post(LINK, content=raw, headers=enabled.headers)
    assert_envelope(response, 413, 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_tolerated(enabled: Api, content_type: str | None) -> None:
    customer = enabled.customer()
    item = {"partnerProgramName": "SPP_2", "customerPartnerReference": {"partnerMembershipId": "M"}}
    raw = json.dumps({"linkCustomers": [{"customer": customer, "linkToPartnerPrograms": [item]}]})
    headers = dict(enabled.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = enabled.client.post(LINK, content=raw.encode(), headers=headers)
    assert response.status_code == 200, response.text


def test_strings_with_lone_surrogates_are_echoed_safely(enabled: Api) -> None:
    raw = (
        b'{"linkCustomers": [{"customer": {"mobile": "\\ud800"}, '
        b'"linkToPartnerPrograms": [{"partnerProgramName": "\\udfff"}]}]}'
    )
    response = enabled.client.post(LINK, content=raw, headers=enabled.headers)
    assert response.status_code == 201
    assert response.json()["linkCustomers"][0]["customer"]["status"]["code"] == 8015


def test_malformed_input_is_checked_before_any_item_is_applied(enabled: Api) -> None:
    customer = enabled.customer()
    good = _entry(
        "linkToPartnerPrograms",
        customer=customer,
        items=({"partnerProgramName": "SPP_1", "customerPartnerReference": {"partnerMembershipId": "M"}},),
    )
    bad = _entry("linkToPartnerPrograms", items=({"partnerProgramName": 1},))
    assert_envelope(enabled.post(LINK, {"linkCustomers": [good, bad]}), 400, 400)
    assert enabled.linked(customer) == []
