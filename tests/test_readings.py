"""The readings report (issue 23, item 5): which reading of the ambiguity register a target showed.

Unit tests feed `judge.readings.Readings` the answers a target of each reading gives and check what it counts; the
declarations (`ppreference.variants.DEFAULT_READINGS`, `VARIANT_READINGS`) are checked against what the report can
read. The reports' readings section and the baseline diff of readings are checked end to end in tests/test_reports.py
(a run against a variant); every variant's run is held to its reading by the fault sweep (tests/test_fault_sweep.py),
and the embedded server's full run to `DEFAULT_READINGS` by tests/test_suite_runs.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.judge.readings import (
    NOT_READ,
    READ,
    Readings,
    against,
    diff_readings,
    shows,
    summarise,
    tenant_of,
)
from ppconformance.resources import schemas_dir
from ppreference.variants import DEFAULT_READINGS, VARIANT_READINGS, VARIANTS

LINK = "/v2/partnerProgram/linkCustomer"
DELINK = "/v2/partnerProgram/deLinkCustomer"
PATHS = {
    "linkCustomer": LINK,
    "customerPartnerProgramUpdate": "/v2/partnerProgram/customerPartnerProgramUpdate",
    "deLinkCustomer": DELINK,
}
OK = {"status": True, "code": 200, "message": "Success"}
FOUND = {"status": True, "code": 1000, "message": "Customer successfully retrieved"}
NOT_FOUND = {"status": False, "code": 8015, "message": "No customer found with the given identifier"}


def _readings() -> Readings:
    return Readings.for_profile(PATHS, {"Apparel-Partner", "SPP_1"}, {"Apparel-Partner"})


def _link_body(*mobiles: str, programs: tuple[str, ...] = ("Apparel-Partner",)) -> dict[str, Any]:
    return {
        "linkCustomers": [
            {
                "customer": {"mobile": m},
                "linkToPartnerPrograms": [
                    {"partnerProgramName": p, "customerPartnerReference": {"partnerMembershipId": "M-1"}}
                    for p in programs
                ],
            }
            for m in mobiles
        ]
    }


def _result(mobile: str, *items: tuple[str, dict[str, Any]], customer_status: dict[str, Any] = FOUND) -> dict:
    return {
        "customer": {"mobile": mobile, "status": customer_status},
        "linkToPartnerPrograms": [{"partnerProgramName": n, "partnerLinkStatus": s} for n, s in items],
    }


def _row(readings: Readings, entry: str) -> dict[str, Any]:
    return next(r for r in summarise(readings.to_json()) if r["id"] == entry)


def test_the_http_status_of_a_batch_with_a_failed_item_is_read_and_two_statuses_are_mixed() -> None:
    seen = _readings()
    failed = {"status": False, "code": 2004, "message": "not linked"}
    answer = {"linkCustomers": [_result("919900000001", ("Apparel-Partner", failed))], "warnings": []}
    seen.observe("POST", LINK, _link_body("919900000001"), 201, answer)
    seen.observe("POST", LINK, _link_body("919900000001"), 201, answer)
    all_ok = {"linkCustomers": [_result("919900000001", ("Apparel-Partner", OK))], "warnings": []}
    seen.observe("POST", LINK, _link_body("919900000001"), 200, all_ok)  # no failed item: not this entry's case
    row = _row(seen, "AMB-ITEM-FAILURE-HTTP-STATUS")
    assert row["status"] == "one reading" and row["shown"] == "HTTP 201 (2)", row
    assert shows([row], "AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 201") == ""

    seen.observe("POST", LINK, _link_body("919900000001"), 200, answer)  # the same failure, another status
    row = _row(seen, "AMB-ITEM-FAILURE-HTTP-STATUS")
    assert row["status"] == "mixed" and row["shown"].startswith("mixed: "), row
    assert "mixed" in shows([row], "AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 201")


def test_result_order_is_read_only_where_results_can_show_it() -> None:
    seen = _readings()
    body = _link_body("919900000001", "919900000002")
    a, b = (_result(m, ("Apparel-Partner", OK)) for m in ("919900000001", "919900000002"))
    seen.observe("POST", LINK, body, 200, {"linkCustomers": [a, b]})
    assert _row(seen, "AMB-RESULT-ORDER")["shown"] == "request order (1)"
    seen.observe("POST", LINK, body, 200, {"linkCustomers": [b, a]})
    assert _row(seen, "AMB-RESULT-ORDER")["status"] == "mixed"

    twins = _readings()  # the same customer twice: any order answers alike, so no reading is taken
    twins.observe("POST", LINK, _link_body("919900000001", "919900000001"), 200, {"linkCustomers": [a, a]})
    silent = {"customer": {"status": FOUND}, "linkToPartnerPrograms": [{"partnerLinkStatus": OK}]}
    twins.observe("POST", LINK, body, 200, {"linkCustomers": [silent, silent]})  # paired by position only
    assert _row(twins, "AMB-RESULT-ORDER")["status"] == "not observed"


def test_absent_fields_are_read_per_kind_of_field() -> None:
    seen = _readings()
    null_echo = {"mobile": "919900000009", "email": None, "externalId": None, "status": NOT_FOUND}
    answer = {"linkCustomers": [{"customer": null_echo, "linkToPartnerPrograms": []}]}
    seen.observe("POST", LINK, _link_body("919900000009", programs=()), 201, answer)
    nameless = {"linkCustomers": [{"customer": {"mobile": "919900000001"}, "linkToPartnerPrograms": [{}]}]}
    echo = {"linkCustomers": [_result("919900000001", ("", {"status": False, "code": 2002, "message": "x"}))]}
    seen.observe("POST", LINK, nameless, 201, echo)
    row = _row(seen, "AMB-NULL-AS-ABSENT")
    assert row["status"] == "one reading", row  # two kinds of field, each answered one way
    assert shows([row], "AMB-NULL-AS-ABSENT", "identifiers a customer not found was not sent by: null") == ""
    assert shows([row], "AMB-NULL-AS-ABSENT", "partnerProgramName of an item sent without one: empty string") == ""
    assert _row(seen, "AMB-CUSTOMER-NOT-FOUND")["shown"] == "customer status code 8015 (1)"


def test_generated_cases_do_not_read_what_depends_on_state_they_cannot_know() -> None:
    seen = _readings()
    body = {
        "customersPartnerUpdates": [
            {
                "customer": {"mobile": "919900000001"},
                "partnerProgramUpdates": [{"partnerProgramName": "Apparel-Partner", "updateType": "upgrade"}],
            }
        ]
    }
    answer: dict[str, Any] = {
        "customersPartnerUpdates": [
            {
                "customer": {"mobile": "919900000001", "status": FOUND},
                "partnerProgramUpdates": [
                    {"partnerProgramName": "Apparel-Partner", "updateStatus": {"status": False, "code": 2004}}
                ],
            }
        ]
    }
    path = PATHS["customerPartnerProgramUpdate"]
    seen.observe("POST", path, body, 201, answer, generated=True)
    assert _row(seen, "AMB-UPDATETYPE-CASE")["status"] == "not observed"
    assert _row(seen, "AMB-ITEM-FAILURE-HTTP-STATUS")["shown"] == "HTTP 201 (1)", "context-free entries are read"
    answer["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateStatus"]["code"] = 2009
    seen.observe("POST", path, body, 201, answer)
    assert _row(seen, "AMB-UPDATETYPE-CASE")["shown"] == "rejected with 2009 (1)"


def test_an_empty_identifier_is_read_only_beside_a_customer_the_same_org_saw_found() -> None:
    seen = _readings()
    org_a, org_b = tenant_of({"Authorization": "Basic a"}), tenant_of({"Authorization": "Basic b"})
    assert org_a != org_b and "Basic" not in org_a
    found = {"customer": {"mobile": "919900000001", "email": "a@x.invalid", "status": FOUND}}
    seen.observe("POST", LINK, _link_body("919900000001"), 200, {"linkCustomers": [found]}, tenant=org_a)
    body = {"linkCustomers": [{"customer": {"mobile": "", "email": "a@x.invalid"}, "linkToPartnerPrograms": []}]}
    lost = {"linkCustomers": [{"customer": {"email": "a@x.invalid", "status": NOT_FOUND}}]}
    seen.observe("POST", LINK, body, 201, lost, tenant=org_b)  # another org: not found for another reason
    assert _row(seen, "AMB-EMPTY-IDENTIFIERS")["status"] == "not observed"
    seen.observe("POST", LINK, body, 201, lost, tenant=org_a)
    assert _row(seen, "AMB-EMPTY-IDENTIFIERS")["shown"] == "an empty identifier is a value to look up (1)"


def test_events_are_read_and_duplicates_and_consistency_are_settled_at_the_end() -> None:
    seen = _readings()
    flat = {
        "eventName": "partnerProgramLinked",
        "eventId": "e-1",
        "data": {
            "partnerProgramName": "SPP_1 ",
            "customerPartnerProgramDetails": {"partnerTierExpiryDate": "2027-01-16T00:00:00Z"},
        },
    }
    seen.observe_event(flat)
    seen.observe_event(flat)  # delivered twice
    seen.observe_event({"eventId": "e-2", "eventType": "partnerProgramDelinked", "attributes": {"orgId ": 1}})
    seen.close(settled=[[0.4, True], [3.0, False]])
    rows = {r["id"]: r for r in summarise(seen.to_json())}
    assert rows["AMB-EVENT-ENVELOPE"]["status"] == "mixed", rows["AMB-EVENT-ENVELOPE"]
    assert rows["AMB-EVENT-ORGID-KEY"]["shown"].startswith("'orgId ' (with")
    assert rows["AMB-EVENT-NAME-WHITESPACE"]["shown"] == "names padded with whitespace (2)"
    assert rows["AMB-EVENT-DUPLICATES"]["shown"] == "some events delivered more than once (1)"
    assert rows["AMB-EVENT-DATE-FORMAT"]["shown"] == "date-time (ISO 8601) (2)"
    assert rows["AMB-READ-CONSISTENCY"]["shown"] == "reads show writes after a lag (up to 0.4 s) (1)"


def test_workers_readings_merge_into_the_same_counts() -> None:
    one, two, whole = _readings(), _readings(), _readings()
    failed = {"linkCustomers": [_result("919900000001", ("Apparel-Partner", {"status": False, "code": 2004}))]}
    for target in (one, whole):
        target.observe("POST", LINK, _link_body("919900000001"), 201, failed)
        target.observe_event({"eventName": "partnerProgramLinked", "eventId": "e-1"})
    for target in (two, whole):
        target.observe("GET", "/v2/customers/1/loyaltyDetails", None, 200, {"linkedPartnerPrograms": []})
        target.observe_event({"eventName": "partnerProgramLinked", "eventId": "e-1"})
    merged = Readings()
    merged.merge(json.loads(json.dumps(one.to_json())))
    merged.merge(json.loads(json.dumps(two.to_json())))
    merged.close()
    whole.close()
    assert summarise(merged.to_json()) == summarise(whole.to_json())


def test_the_rows_follow_the_register_match_the_report_schema_and_list_what_is_not_read() -> None:
    register = list(load_catalogue().ambiguities)
    rows = summarise(_readings().to_json(), order=register)
    assert [r["id"] for r in rows] == [e for e in register if e in READ or e in NOT_READ]
    schema = json.loads((schemas_dir() / "meta" / "conformance.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator({**schema["properties"]["readings"], "$schema": schema["$schema"]})
    assert not list(validator.iter_errors(rows))
    assert {r["status"] for r in rows} == {"not observed", "not read"}
    assert all(r["why"] for r in rows if r["status"] == "not read")
    assert set(READ) | set(NOT_READ) <= set(register) and not set(READ) & set(NOT_READ)


def test_a_reading_that_changed_between_two_runs_is_a_change_and_one_seen_once_is_not() -> None:
    def rows(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
        seen = Readings()
        for entry, value in pairs:
            seen.add(entry, value)
        return summarise(seen.to_json())

    before = rows(("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 201"), ("AMB-RESULT-ORDER", "request order"))
    now = rows(("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 200"), ("AMB-EXTRA-FIELDS", "documented members only"))
    assert diff_readings(before, now) == [("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 201", "HTTP 200")]
    assert diff_readings(before, before) == []


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_declares_the_reading_it_implements_or_why_the_report_cannot_read_it(name: str) -> None:
    variant = VARIANTS[name]
    assert name in VARIANT_READINGS, f"variant {name} declares no reading (ppreference.variants.VARIANT_READINGS)"
    reading = VARIANT_READINGS[name]
    if reading is None:
        unread = {
            "empty-identifier-is-a-value",
            "delink-mobile-string-only",
            "delink-mobile-integer-only",
            "strict-readings",
        }  # reasons in VARIANT_READINGS' docstring
        assert variant.ambiguity in NOT_READ or name in unread, f"{name}: {variant.ambiguity} is read; declare it"
        return
    entry, text = reading
    assert entry in READ, f"{name}: the report does not read {entry}"
    assert not any(text in own for own in DEFAULT_READINGS.get(entry, ())), f"{name}: {text!r} is the reference's own"


def test_the_reference_servers_own_readings_are_ones_the_report_reads() -> None:
    assert set(DEFAULT_READINGS) <= set(READ)
    unseen = set(READ) - set(DEFAULT_READINGS)
    assert unseen == {"AMB-EVENT-ORGID-KEY", "AMB-EMPTY-IDENTIFIERS"}, unseen  # the docstring says why


def test_a_run_is_held_to_the_readings_its_server_declares() -> None:
    seen = _readings()
    seen.add("AMB-ITEM-FAILURE-HTTP-STATUS", "HTTP 201", 2)
    seen.add("AMB-RESULT-ORDER", "another order")
    seen.add("AMB-EXTRA-FIELDS", "documented members only")
    seen.add("AMB-EXTRA-FIELDS", "undocumented members in answers")
    rows = summarise(seen.to_json())
    declared = {"AMB-ITEM-FAILURE-HTTP-STATUS": ("HTTP 201",), "AMB-RESULT-ORDER": ("request order",)}
    unexpected, missing = against(rows, declared)
    assert unexpected == [
        "AMB-RESULT-ORDER: 'another order' is not declared",
        "AMB-EXTRA-FIELDS: observed 'mixed: documented members only (1); undocumented members in answers (1)', "
        "but no reading is declared",
    ] or sorted(unexpected) == sorted(
        [
            "AMB-RESULT-ORDER: 'another order' is not declared",
            "AMB-EXTRA-FIELDS: observed 'mixed: documented members only (1); undocumented members in answers (1)', "
            "but no reading is declared",
        ]
    ), unexpected
    assert missing == ["AMB-RESULT-ORDER: 'request order' not shown"]
