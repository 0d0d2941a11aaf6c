"""Verdicts that hold on implementations the suite has never seen (issue: false failures of an independent
implementation conforming wherever the documents speak). Each test fails on the code before its fix:

1. events with null optional fields (AMB-NULL-AS-ABSENT);
2. result items echoing `"partnerProgramName": null` for an item sent without a name;
3. 501 Not Implemented to a method the documents do not define;
4. a body sent with a content type other than JSON, refused;
5. an impossible calendar date, refused.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest

from ppconformance.contract.events import check
from ppconformance.contract.schemas import FORMAT_CHECKER, ContractSchemas, nullable_optionals
from ppconformance.fuzz import checks as fuzzchecks
from ppconformance.fuzz.checks import FuzzFinding

from .doc_samples import EVENTS_DOC_ID, load_samples

LINK = "/v2/partnerProgram/linkCustomer"
UPDATE = "/v2/partnerProgram/customerPartnerProgramUpdate"
ENVELOPE = {"warnings": [], "errors": [{"status": False, "code": 400, "message": "no"}]}


def _linked_event() -> dict[str, Any]:
    sample = next(s for s in load_samples(EVENTS_DOC_ID) if s.event == "partnerProgramLinked" and "Enriched" in s.label)
    return copy.deepcopy(sample.body)


def _case(path: str, body: Any, method: str = "POST", media: str | None = None) -> Any:
    return SimpleNamespace(method=method, path=path, body=body, media_type=media, operation=SimpleNamespace(path=path))


def _response(body: Any, status: int = 200) -> Any:
    return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def test_an_event_with_null_optional_fields_is_valid_unless_strict():
    event = _linked_event()
    details = event["attributes"]["data"]["customerPartnerProgramDetails"]
    details.update({"membershipExpiryDate": None, "partnerTierExpiryDate": None})
    assert check(event).errors == ()
    strict = check(event, strict={"AMB-NULL-AS-ABSENT"}).errors
    assert any("membershipExpiryDate" in e for e in strict) and any("partnerTierExpiryDate" in e for e in strict)
    event["attributes"]["data"]["partnerProgramName"] = None  # a required field keeps its type
    assert any("partnerProgramName" in e for e in check(event).errors)


def _update_answer(name: Any) -> dict[str, Any]:
    return {
        "customersPartnerUpdates": [
            {
                "customer": {"mobile": "1", "status": {"status": True, "code": 1000, "message": "ok"}},
                "partnerProgramUpdates": [
                    {"partnerProgramName": name, "updateStatus": {"status": False, "code": 2002, "message": "x"}}
                ],
            }
        ],
        "warnings": [],
    }


def test_a_result_echoing_a_null_program_name_conforms_unless_strict():
    answer = _update_answer(None)
    assert ContractSchemas.load(null_as_absent=True).errors("update-partner-program.response", answer) == []
    assert ContractSchemas.load().errors("update-partner-program.response", answer)  # strict: null is no string
    case = _case(UPDATE, {"customersPartnerUpdates": [{"customer": {"mobile": "1"}, "partnerProgramUpdates": [{}]}]})
    assert fuzzchecks.response_conforms(None, _response(answer), case) is True
    with pytest.raises(FuzzFinding, match="FUZZ-RESPONSE-CONFORMS"):
        fuzzchecks.response_conforms(
            None, _response(answer), case, fuzzchecks.Policy(frozenset({"AMB-NULL-AS-ABSENT"}))
        )
    broken = _update_answer("P")
    del broken["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateStatus"]
    with pytest.raises(FuzzFinding, match="updateStatus"):
        fuzzchecks.response_conforms(None, _response(broken), case)


def test_nullable_optionals_widens_optional_properties_only():
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "if": {"properties": {"a": {"const": "x"}}},
        "then": {"required": ["b"]},
    }
    out = nullable_optionals(schema)
    assert out["properties"]["a"] == {"type": "string"}
    assert out["properties"]["b"] == {"anyOf": [{"type": "null"}, {"type": "string"}]}
    assert out["if"] == schema["if"] and schema["properties"]["b"] == {"type": "string"}  # copy, condition intact


def test_501_answers_a_method_the_documents_do_not_define_but_no_post():
    assert fuzzchecks.no_server_error(None, _response({}, 501), _case(LINK, None, method="TRACE")) is True
    assert fuzzchecks.no_server_error(None, _response({}, 405), _case(LINK, None, method="TRACE")) is None
    for method, status in (("POST", 501), ("TRACE", 500), ("POST", 503)):
        with pytest.raises(FuzzFinding, match="FUZZ-NO-SERVER-ERROR"):
            fuzzchecks.no_server_error(None, _response({}, status), _case(LINK, None, method=method))
    strict = fuzzchecks.Policy(frozenset({"AMB-UNDEFINED-REQUESTS"}))
    with pytest.raises(FuzzFinding, match="FUZZ-NO-SERVER-ERROR"):
        fuzzchecks.no_server_error(None, _response({}, 501), _case(LINK, None, method="TRACE"), strict)


def _link_body(reference: dict[str, Any] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"partnerProgramName": "A"}
    if reference is not None:
        item["customerPartnerReference"] = reference
    return {"linkCustomers": [{"customer": {"mobile": "1"}, "linkToPartnerPrograms": [item]}]}


def test_a_request_sent_as_another_content_type_may_be_refused():
    body = _link_body()
    assert (
        fuzzchecks.valid_body_not_refused(None, _response(ENVELOPE, 400), _case(LINK, body, media="text/plain")) is None
    )
    assert (
        fuzzchecks.valid_body_not_refused(None, _response(ENVELOPE, 415), _case(LINK, body, media="text/plain")) is None
    )
    with pytest.raises(FuzzFinding, match="FUZZ-VALID-BODY"):
        fuzzchecks.valid_body_not_refused(None, _response(ENVELOPE, 400), _case(LINK, body, media="application/json"))


def test_an_impossible_calendar_date_may_be_refused_a_real_one_may_not():
    impossible = _link_body({"partnerTierExpiryDate": "0000-00-00"})
    assert fuzzchecks.valid_body_not_refused(None, _response(ENVELOPE, 400), _case(LINK, impossible)) is True
    real = _link_body({"partnerTierExpiryDate": "2030-02-28"})
    with pytest.raises(FuzzFinding, match="FUZZ-VALID-BODY"):
        fuzzchecks.valid_body_not_refused(None, _response(ENVELOPE, 400), _case(LINK, real))
    for value, real_date in (("2026-02-30", False), ("2026-12-31T23:59:59+05:30", True), ("2026-12-31T25:00", False)):
        assert FORMAT_CHECKER.conforms(value, "iso-date-or-date-time") is real_date, value


def test_a_tier_expiry_is_read_in_every_format_the_documents_allow_and_no_other():
    """AMB-TIER-EXPIRY-FORMAT: loyaltyDetails' partnerTierExpiryDate is read as an ISO date, an ISO date-time
    (in the org's timezone) or epoch milliseconds; anything else names no date (not judged by default)."""
    from datetime import date

    from ppconformance.connection.dates import calendar_date_of

    kolkata = "Asia/Kolkata"
    assert calendar_date_of("2027-01-15", kolkata) == date(2027, 1, 15)
    assert calendar_date_of("2027-01-15T20:00:00+00:00", kolkata) == date(2027, 1, 16)  # 01:30 next day there
    assert calendar_date_of("2027-01-15T12:00:00", kolkata) == date(2027, 1, 15)
    assert calendar_date_of(1800000000000, "UTC") == date(2027, 1, 15)
    for other in ("15/01/2027", "", None, True, {"d": 1}):
        assert calendar_date_of(other, kolkata) is None


@pytest.mark.selftest_slow  # two whole suite runs against a variant server
def test_warning_1302_is_not_judged_by_default_under_the_other_reading_and_judged_when_strict(tmp_path) -> None:
    """AMB-1302-TRIGGER: against a server that reads 'the customer's membership expiry' as the loyalty
    membership's (a new customer has none, so no 1302), LINK-W1302 is reported not judged by default and
    fails under --strict-ambiguity AMB-1302-TRIGGER (false failure 6 of the independent implementation)."""
    from .refserver import start_reference_server
    from .test_suite_runs import counts, failed_requirements, run_suite

    base_url, stop = start_reference_server("--variant", "w1302-loyalty-expiry")
    try:
        code, out, junit = run_suite(tmp_path / "default", f"--base-url={base_url}", "-m", "LINK-W1302")
        strict = run_suite(
            tmp_path / "strict", f"--base-url={base_url}", "-m", "LINK-W1302", "--strict-ambiguity", "AMB-1302-TRIGGER"
        )
    finally:
        stop()
    assert code == 0 and counts(junit)["skipped"] == 1, out[-2000:]
    assert "not judged: no warning 1302" in (tmp_path / "default" / "reports" / "junit.xml").read_text(encoding="utf-8")
    assert strict[0] == 1 and "LINK-W1302" in failed_requirements(strict[2]), strict[1][-2000:]


DELINK = "/v2/partnerProgram/deLinkCustomer"


def _delink_body(mobile: Any) -> dict[str, Any]:
    return {
        "deLinkCustomers": [
            {"customer": {"mobile": mobile}, "deLinkFromPartnerPrograms": [{"partnerProgramName": "A"}]}
        ]
    }


def test_a_delink_mobile_of_either_type_is_not_judged_when_refused_by_default_a_number_is_when_strict():
    """AMB-DELINK-MOBILE-TYPE: the delink page types mobile integer, the other pages string; a refused delink
    body carrying a mobile is valid under one reading only (variant delink-mobile-integer-only)."""
    refused = _response(ENVELOPE, 400)
    for mobile in ("919800000000", 919800000000):
        assert fuzzchecks.valid_body_not_refused(None, refused, _case(DELINK, _delink_body(mobile))) is True
    email = _delink_body(None)
    email["deLinkCustomers"][0]["customer"] = {"email": "a@b.invalid"}
    with pytest.raises(FuzzFinding, match="FUZZ-VALID-BODY"):
        fuzzchecks.valid_body_not_refused(None, refused, _case(DELINK, email))
    strict = fuzzchecks.Policy(frozenset({"AMB-DELINK-MOBILE-TYPE"}))
    assert fuzzchecks.valid_body_not_refused(None, refused, _case(DELINK, _delink_body("919800000000")), strict)
    with pytest.raises(FuzzFinding, match="FUZZ-VALID-BODY"):
        fuzzchecks.valid_body_not_refused(None, refused, _case(DELINK, _delink_body(919800000000)), strict)


@pytest.mark.selftest_slow  # two whole suite runs against a variant server
def test_delink_scenarios_pass_on_a_server_that_takes_the_delink_mobile_as_a_number_only(tmp_path) -> None:
    """The scenarios' delinks hold under both readings of AMB-DELINK-MOBILE-TYPE: a delink that identified nobody
    is sent again with numeric mobiles (`run.cleanup.send_delink`); strict sends numbers from the start."""
    from .refserver import start_reference_server
    from .test_suite_runs import counts, run_suite

    base_url, stop = start_reference_server("--variant", "delink-mobile-integer-only")
    wanted = "DELINK-SUCCESS or DELINK-REMOVES-LINK or DELINK-RELINK-AFTER"
    try:
        code, out, junit = run_suite(tmp_path / "default", f"--base-url={base_url}", "-m", wanted)
        strict = run_suite(
            tmp_path / "strict", f"--base-url={base_url}", "-m", wanted, "--strict-ambiguity", "AMB-DELINK-MOBILE-TYPE"
        )
    finally:
        stop()
    found = counts(junit)
    assert code == 0 and found["tests"] >= 2 and found["skipped"] == 0, out[-3000:]
    assert strict[0] == 0, strict[1][-3000:]
