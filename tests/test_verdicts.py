"""Verdicts under each stance: the lenient default passes what the documents leave
open, the strict stance fails it, and real deviations fail under both."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ppconformance.connection.client import Exchange
from ppconformance.connection.profile import DEFAULT_PROFILE, load_profile
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import LINK, UPDATE
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Action, Judge, NonConformance

ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "pw",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s",
}
REQ = load_catalogue().requirements
OK = {"status": True, "code": 200, "message": "Success"}
FOUND = {"status": True, "code": 1000, "message": "Customer successfully retrieved"}
JSON = {"content-type": "application/json"}


def judge(*strict: str) -> Judge:
    profile = load_profile(DEFAULT_PROFILE, env=ENV, strict=list(strict))
    return Judge(profile, ContractSchemas.load(forbid_extra_fields=profile.is_strict(AmbiguityId.EXTRA_FIELDS)))


def err(code: int) -> dict:
    return {"status": False, "code": code, "message": f"error {code}"}


def link_action(
    statuses: list[list[dict]], *, http: int = 200, mobiles=("911", "912"), sent=None, extra: dict | None = None
) -> Action:
    body = {
        "linkCustomers": [
            {
                "customer": {"mobile": m, "status": FOUND},
                "linkToPartnerPrograms": [
                    {"partnerProgramName": f"P{j}", "partnerLinkStatus": s, **(extra or {})} for j, s in enumerate(row)
                ],
            }
            for m, row in zip(mobiles, statuses, strict=False)
        ],
        "warnings": [],
    }
    return envelope_action(
        body,
        http,
        sent or [{"mobile": m} for m in mobiles[: len(statuses)]],
        [[f"P{j}" for j in range(len(statuses[0]))]] * len(statuses),
    )


def envelope_action(body: dict, http: int, customers: list[dict], programs: list[list[str]]) -> Action:
    ex = Exchange("POST", "http://t/v2/partnerProgram/linkCustomer", {}, {}, http, JSON, "", body, 1.0)
    return Action(LINK, customers, programs, ex)


def test_documented_code_must_match() -> None:
    judge().expect_item_error(REQ["LINK-2003"], link_action([[err(2003)]], http=201), 2003)
    with pytest.raises(NonConformance, match=r"\[LINK-2003 .*expected item error 2003, got code 2002"):
        judge().expect_item_error(REQ["LINK-2003"], link_action([[err(2002)]], http=201), 2003)


def test_inferred_code_is_lenient_unless_strict() -> None:
    action = link_action([[err(2099)]], http=201)
    judge().expect_item_error(REQ["DELINK-2004"], action, 2004)
    with pytest.raises(NonConformance, match="expected item error 2004"):
        judge("AMB-DELINK-ERROR-CODES").expect_item_error(REQ["DELINK-2004"], action, 2004)
    with pytest.raises(NonConformance, match="must not succeed"):
        judge().expect_item_error(REQ["DELINK-2004"], link_action([[OK]]), 2004)


def test_http_status_of_item_failures() -> None:
    action = link_action([[err(2006)]], http=200)
    judge().expect_item_error(REQ["LINK-2006"], action, 2006)
    with pytest.raises(NonConformance, match="AMB-ITEM-FAILURE-HTTP-STATUS"):
        judge("AMB-ITEM-FAILURE-HTTP-STATUS").expect_item_error(REQ["LINK-2006"], action, 2006)
    with pytest.raises(NonConformance, match="HTTP 207"):
        judge().expect_item_error(REQ["LINK-2006"], link_action([[err(2006)]], http=207), 2006)


def test_batch_limit_level() -> None:
    item_level = link_action([[err(2008)], [err(2008)]], http=201)
    judge().expect_batch_rejected(REQ["LINK-2008"], item_level, 2008)
    with pytest.raises(NonConformance, match="AMB-2008-LEVEL"):
        judge("AMB-2008-LEVEL").expect_batch_rejected(REQ["LINK-2008"], item_level, 2008)
    envelope = envelope_action({"warnings": [], "errors": [err(2008)]}, 400, [{}], [["P0"]])
    judge("AMB-2008-LEVEL").expect_batch_rejected(REQ["LINK-2008"], envelope, 2008)
    with pytest.raises(NonConformance, match="expected error 2008 in the envelope"):
        judge().expect_batch_rejected(
            REQ["LINK-2008"], envelope_action({"errors": [err(2002)]}, 400, [{}], [["P0"]]), 2008
        )
    with pytest.raises(NonConformance, match="on every item"):
        judge().expect_batch_rejected(REQ["LINK-2008"], link_action([[OK], [OK]]), 2008)


def test_result_order() -> None:
    swapped = link_action([[OK], [OK]], mobiles=("912", "911"), sent=[{"mobile": "911"}, {"mobile": "912"}])
    judge().expect_success(REQ["RESULT-ORDER"], swapped)
    strict_swapped = link_action([[OK, OK]], sent=[{"mobile": "911"}])
    strict_swapped.programs = [["P1", "P0"]]
    with pytest.raises(NonConformance, match="AMB-RESULT-ORDER strict"):
        judge("AMB-RESULT-ORDER").expect_success(REQ["RESULT-ORDER"], strict_swapped)
    missing = link_action([[OK]], sent=[{"mobile": "911"}, {"mobile": "912"}])
    missing.customers, missing.programs = [{"mobile": "911"}, {"mobile": "912"}], [["P0"], ["P0"]]
    with pytest.raises(NonConformance, match="2 customers sent, 1 results"):
        judge().expect_success(REQ["RESULT-ORDER"], missing)


def test_success_needs_http_200_and_code_200() -> None:
    with pytest.raises(NonConformance, match="HTTP status is 201"):
        judge().expect_success(REQ["LINK-SUCCESS"], link_action([[OK]], http=201))
    with pytest.raises(NonConformance, match="server error"):
        judge().expect_success(REQ["LINK-SUCCESS"], link_action([[OK]], http=500))


def test_legacy_status_false_with_code_200() -> None:
    odd = link_action([[{**OK, "status": False}]])
    judge().expect_success(REQ["LINK-SUCCESS"], odd)
    with pytest.raises(NonConformance, match="AMB-LEGACY-STATUS-FALSE"):
        judge("AMB-LEGACY-STATUS-FALSE").expect_success(REQ["LINK-SUCCESS"], odd)


def test_extra_fields_are_allowed_unless_strict() -> None:
    extra = link_action([[OK]], extra={"vendorTrace": "x"})
    judge().expect_success(REQ["LINK-SUCCESS"], extra)
    with pytest.raises(NonConformance, match="does not match link-customer.response"):
        judge("AMB-EXTRA-FIELDS").expect_success(REQ["LINK-SUCCESS"], extra)


def test_schema_violation_fails_under_every_stance() -> None:
    action = link_action([[{"status": True, "code": "200"}]])
    with pytest.raises(NonConformance, match="does not match link-customer.response"):
        judge().expect_success(REQ["LINK-SUCCESS"], action)


def test_warning_shapes() -> None:
    action = link_action([[OK]])
    action.exchange.response_json["warnings"] = ["1302: supplementary expiry before membership expiry"]
    judge().expect_warning(REQ["LINK-W1302"], action, 1302)
    with pytest.raises(NonConformance, match="expected warning 1302"):
        judge("AMB-WARNING-SHAPE").expect_warning(REQ["LINK-W1302"], action, 1302)
    action.exchange.response_json["warnings"] = []
    with pytest.raises(NonConformance, match="expected warning 1302"):
        judge().expect_warning(REQ["LINK-W1302"], action, 1302)


def test_2005_message_checked_only_when_strict() -> None:
    action = link_action([[{"status": False, "code": 2005, "message": "Enroll the customer in loyalty"}]], http=201)
    req = REQ["LINK-2005-ALREADY-LINKED"]
    judge().expect_item_error(req, action, 2005)
    with pytest.raises(NonConformance, match="AMB-2005-TWO-MEANINGS"):
        judge("AMB-2005-TWO-MEANINGS").expect_item_error(req, action, 2005)
    judge("AMB-2005-TWO-MEANINGS").expect_item_error(REQ["LINK-2005-NOT-ENROLLED"], action, 2005)


def test_malformed_rejection() -> None:
    ex = Exchange("POST", "http://t/x", {}, b"[", 415, JSON, "", {"warnings": [], "errors": [err(400)]}, 1.0)
    judge().expect_malformed_rejected(REQ["REQ-MALFORMED"], ex)
    with pytest.raises(NonConformance, match="expected HTTP 400"):
        judge("AMB-MALFORMED-CODE").expect_malformed_rejected(REQ["REQ-MALFORMED"], ex)
    bad = replace(ex, response_json={"detail": "Bad Request"})
    with pytest.raises(NonConformance, match="not the documented envelope"):
        judge().expect_malformed_rejected(REQ["REQ-MALFORMED"], bad)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/problem+json"],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    action = link_action([[OK]])
    action.exchange.response_headers = {"Content-Type": content_type}
    judge().expect_success(REQ["LINK-SUCCESS"], action)


@pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "text/html", "text/json", None])
def test_other_content_types_fail_item_results_and_envelopes(content_type: str | None) -> None:
    action = link_action([[OK]])
    action.exchange.response_headers = {"content-type": content_type} if content_type else {}
    with pytest.raises(NonConformance, match=r"\[LINK-SUCCESS .*labelled Content-Type .*not application/json"):
        judge().expect_success(REQ["LINK-SUCCESS"], action)
    ex = Exchange(
        "POST",
        "http://t/x",
        {},
        b"[",
        400,
        action.exchange.response_headers,
        "",
        {"warnings": [], "errors": [err(400)]},
        1.0,
    )
    with pytest.raises(NonConformance, match=r"\[REQ-MALFORMED .*not application/json"):
        judge().expect_malformed_rejected(REQ["REQ-MALFORMED"], ex)


def update_action(update_type: str, echoed: str | None) -> Action:
    item = {"partnerProgramName": "P0", "updateStatus": OK}
    if echoed is not None:
        item["updateType"] = echoed
    body = {
        "customersPartnerUpdates": [{"customer": {"mobile": "911", "status": FOUND}, "partnerProgramUpdates": [item]}],
        "warnings": [],
    }
    sent = {
        "customersPartnerUpdates": [
            {
                "customer": {"mobile": "911"},
                "partnerProgramUpdates": [{"partnerProgramName": "P0", "updateType": update_type}],
            }
        ]
    }
    ex = Exchange("POST", "http://t/v2/partnerProgram/customerPartnerProgramUpdate", {}, sent, 200, JSON, "", body, 1.0)
    return Action(UPDATE, [{"mobile": "911"}], [["P0"]], ex)


def test_an_update_result_echoes_its_update_type() -> None:
    judge().expect_update_type_echoed(REQ["UPDATE-SUCCESS"], update_action("UPGRADE", "UPGRADE"))
    lower = update_action("upgrade", "UPGRADE")  # the case may differ (AMB-UPDATETYPE-CASE)
    judge().expect_update_type_echoed(REQ["UPDATE-SUCCESS"], lower)
    with pytest.raises(NonConformance, match="updateType is 'UPGRADE', expected 'upgrade'"):
        judge("AMB-UPDATETYPE-CASE").expect_update_type_echoed(REQ["UPDATE-SUCCESS"], lower)
    for echoed in (None, "DOWNGRADE"):
        with pytest.raises(NonConformance, match=r"\[UPDATE-SUCCESS .*updateType is .*expected 'UPGRADE'"):
            judge().expect_update_type_echoed(REQ["UPDATE-SUCCESS"], update_action("UPGRADE", echoed))
        judge().expect_success(REQ["UPDATE-SUCCESS"], update_action("UPGRADE", echoed))  # success is judged apart


def test_a_second_cancellation_must_find_nothing_pending() -> None:
    cancel = "MEMBERSHIP_RELINKING_CANCELLED"
    action = update_action(cancel, cancel)
    action.exchange.response_json["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateStatus"] = err(2027)
    judge().expect_nothing_pending(REQ["RELINK-CANCEL"], action)
    with pytest.raises(NonConformance, match=r"\[RELINK-CANCEL .*succeeded: the cancelled relink is still pending"):
        judge().expect_nothing_pending(REQ["RELINK-CANCEL"], update_action(cancel, cancel))


def test_a_result_that_echoes_another_customer_of_the_request_fails_under_every_stance() -> None:
    """Issue 21, item 5: every result echoing the first customer's identifiers is not held to position."""
    sent = [{"mobile": "911"}, {"mobile": "912"}]
    echoing_first = link_action([[OK], [OK]], mobiles=("911", "911"), sent=sent)
    for stance in ((), ("AMB-RESULT-ORDER",)):
        with pytest.raises(NonConformance, match=r"echoes the identifiers of customer #1 .*wrong customer"):
            judge(*stance).expect_success(REQ["RESULT-ORDER"], echoing_first)
    reversed_ = link_action([[OK], [OK]], mobiles=("912", "911"), sent=sent)
    judge().expect_success(REQ["RESULT-ORDER"], reversed_)  # lenient: matched by the echoed identifiers
    with pytest.raises(NonConformance, match="wrong customer"):  # strict: position by position
        judge("AMB-RESULT-ORDER").expect_success(REQ["RESULT-ORDER"], reversed_)
    silent = link_action([[OK], [OK]], mobiles=("", ""), sent=sent)  # echoes nothing usable: position
    judge().expect_success(REQ["RESULT-ORDER"], silent)


def test_a_result_for_a_named_item_must_echo_the_name_an_unnamed_one_need_not() -> None:
    """Issue 21, item 6: AMB-NULL-AS-ABSENT excuses only result items of request items sent without a name."""
    nameless = link_action([[OK]])
    del nameless.exchange.response_json["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerProgramName"]
    with pytest.raises(NonConformance, match="names no program where the request named 'P0'"):
        judge().expect_success(REQ["LINK-SUCCESS"], nameless)
    nameless.programs = [[""]]  # the request item named no program: nothing to echo
    judge().expect_success(REQ["LINK-SUCCESS"], nameless)
    other = link_action([[OK]])
    other.exchange.response_json["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerProgramName"] = "P9"
    with pytest.raises(NonConformance, match="names 'P9' where the request named 'P0'"):
        judge().expect_success(REQ["LINK-SUCCESS"], other)
