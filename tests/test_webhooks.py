"""Self-tests of the webhook side of the suite: event schemas against the doc's samples, the validator
command, the sink, the correlation and duplicate logic, and the webhook scenarios failing each event fault.

The samples of doc `events` are read from the committed fixture tests/fixtures/doc-samples/events.json
(see tests/doc_samples.py), never from the document itself."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from ppconformance.connection.client import TargetBroken
from ppconformance.contract.events import EVENT_NAMES, EVENT_SCHEMA_DIR, check, facts
from ppconformance.webhooks.match import Expected, candidates, judge
from ppconformance.webhooks.plugin import waiting_first
from ppconformance.webhooks.sink import QUERY_TOKEN_HEADER, Delivery, SinkReader, WebhookSink

from .doc_samples import EVENTS_DOC_ID, load_samples
from .refserver import start_reference_server
from .test_suite_runs import counts, failed_requirements, run_suite

ROOT = Path(__file__).resolve().parents[1]


def doc_samples() -> list[tuple[str, str, Any]]:
    """(event of the section, "Enriched"/"Raw", payload) for every JSON sample of doc `events`, from its fixture."""
    out = []
    for sample in load_samples(EVENTS_DOC_ID):
        assert sample.event is not None, sample.label
        out.append((sample.event, sample.kind, sample.body))
    return out


# -- schemas ----------------------------------------------------------------------------------
def test_extraction_finds_an_enriched_and_a_raw_sample_per_event() -> None:
    found = [(s, kind) for s, kind, _ in doc_samples()]
    assert sorted(found) == sorted((name, kind) for name in EVENT_NAMES for kind in ("Enriched", "Raw"))


@pytest.mark.parametrize("section,kind,payload", doc_samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_doc_sample_validates_against_its_event_schema(section: str, kind: str, payload: Any) -> None:
    verdict = check(payload)
    assert verdict.valid and verdict.name == section, verdict.errors
    assert (verdict.form == "raw") is (kind == "Raw")


def test_every_event_schema_cites_its_section_and_has_the_three_forms() -> None:
    for name in EVENT_NAMES:
        schema = json.loads((EVENT_SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert schema["$schema"].endswith("2020-12/schema") and schema["$id"].endswith(f"/events/{name}.schema.json")
        assert "events#" in schema["description"] and {"flat", "wrapped", "raw"} <= set(schema["$defs"])


def _sample(event: str, kind: str = "Enriched") -> Any:
    return copy.deepcopy(next(p for s, k, p in doc_samples() if s == event and k == kind))


def test_a_missing_update_type_fails_with_its_exact_path() -> None:
    payload = _sample("partnerProgramUpdated")
    del payload["data"]["updateType"]
    assert check(payload).errors == ("at $.data: 'updateType' is a required property",)


def test_wrong_values_fail_in_the_enriched_form_only_types_in_the_raw_form() -> None:
    linked = _sample("partnerProgramLinked")
    linked["attributes"]["data"]["partnerProgramType"] = "RMUMLGOLP"
    linked["attributes"]["data"]["customerIdentifiers"]["customerId"] = "6809254"
    errors = check(linked).errors
    assert any(e.startswith("at $.attributes.data.partnerProgramType:") for e in errors), errors
    assert any(e.startswith("at $.attributes.data.customerIdentifiers.customerId:") for e in errors), errors
    raw = _sample("partnerProgramLinked", "Raw")
    raw["eventLogId"] = "1356"
    assert check(raw).errors == ("at $.eventLogId: '1356' is not of type 'integer'",)
    assert check({"eventName": "somethingElse"}).errors[0].startswith("at $.eventName:")


def test_the_orgid_quirk_is_accepted_unless_strict() -> None:
    delinked = _sample("partnerProgramDelinked")
    assert "orgId " in delinked["attributes"] and check(delinked).valid
    assert not check(delinked, strict={"AMB-EVENT-ORGID-KEY"}).valid
    assert not check(_sample("partnerProgramLinked"), strict={"AMB-EVENT-ENVELOPE"}).valid
    assert check(_sample("partnerProgramUpdated"), strict={"all"}).valid


def test_facts_read_every_form_alike() -> None:
    linked, raw = facts(_sample("partnerProgramLinked")), facts(_sample("partnerProgramLinked", "Raw"))
    assert (linked.customer_id, linked.program_name, linked.org_id) == (6809254, "Drivers ", 151197)
    assert (raw.customer_id, raw.form, raw.details["membershipNumber"]) == (1139, "raw", "IADVZIUL")
    assert facts(_sample("partnerProgramDelinked")).org_id == 151197


# -- the validator command ---------------------------------------------------------------------
def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ppconformance.contract.events", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_validator_exit_codes_and_failing_paths(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([p for _, _, p in doc_samples()]), encoding="utf-8")
    result = _validate("validate", str(good))
    assert result.returncode == 0 and result.stdout.count("VALID ") == 8, result.stdout
    broken = _sample("partnerProgramUpdated")
    del broken["data"]["updateType"]
    lines = tmp_path / "deliveries.jsonl"
    lines.write_text(
        json.dumps({"arrival": 1.0, "path": "/events", "body": _sample("partnerProgramLinked")})
        + "\n\n"
        + json.dumps(broken)
        + "\n",
        encoding="utf-8",
    )
    result = _validate("validate", str(lines))
    assert result.returncode == 1, result.stdout
    assert f"INVALID {lines}:3: partnerProgramUpdated (flat) [EVENT-UPDATED]" in result.stdout
    assert "at $.data: 'updateType' is a required property" in result.stdout
    assert f"VALID   {lines}:1: partnerProgramLinked (wrapped)" in result.stdout
    (tmp_path / "bad.txt").write_text("{nope", encoding="utf-8")
    assert _validate("validate", str(tmp_path / "bad.txt")).returncode == 2
    assert _validate("validate", str(tmp_path / "missing.json")).returncode == 2
    helped = _validate("validate", "--help")
    assert helped.returncode == 0 and "JSON Lines" in _validate("--help").stdout + helped.stdout


# -- the sink ----------------------------------------------------------------------------------
def test_the_sink_checks_the_secret_stores_deliveries_and_serves_them_to_token_holders() -> None:
    sink = WebhookSink("X-Hook-Token", "right-secret", "query-token").start()
    try:
        assert httpx.post(sink.url + "/events", json={"a": 1}).status_code == 401
        assert httpx.post(sink.url + "/events", json={"a": 2}, headers={"X-Hook-Token": "wrong"}).status_code == 401
        ok = httpx.post(sink.url + "/events", json={"a": 3}, headers={"X-Hook-Token": "right-secret"})
        assert ok.status_code == 200
        assert (
            httpx.post(
                sink.url + "/events", content=b"x" * 2_000_000, headers={"X-Hook-Token": "right-secret"}
            ).status_code
            == 413
        )
        assert httpx.get(sink.url + "/__sink__/deliveries").status_code == 401
        assert httpx.get(sink.url + "/__sink__/deliveries", headers={QUERY_TOKEN_HEADER: "nope"}).status_code == 401
        reader = SinkReader(sink.url, "query-token")
        seen = reader.poll()
        assert [(d.seq, d.path, d.body) for d in seen if d.accepted] == [(3, "/events", {"a": 3})]
        assert [d.body for d in seen if not d.authenticated] == [{"a": 1}, {"a": 2}] and sink.rejected == 2
        httpx.post(sink.url + "/x", content=b"not json", headers={"X-Hook-Token": "right-secret"})
        assert [d.text for d in reader.poll() if d.accepted] == ["", "not json"]
        reader.close()
        assert "right-secret" not in repr(sink) and "query-token" not in repr(reader)
    finally:
        sink.stop()
        sink.stop()  # idempotent


def test_the_sink_keeps_refused_attempts_and_which_static_headers_each_carried() -> None:
    """WEBHOOK-STATIC-HEADERS, WEBHOOK-NO-RETRY-4XX, WEBHOOK-RETRY-429 rest on these: an unauthenticated delivery
    is kept (flagged), a refusal rule answers the customer's next deliveries with its statuses, in order."""
    sink = WebhookSink("X-Hook-Token", "right-secret", "query-token", static_headers={"X-Run": "r1"}).start()
    event = {"eventName": "partnerProgramLinked", "data": {"customerIdentifiers": {"customerId": 7}}}
    other = {"eventName": "partnerProgramLinked", "data": {"customerIdentifiers": {"customerId": 8}}}
    auth = {"X-Hook-Token": "right-secret"}
    try:
        reader = SinkReader(sink.url, "query-token")
        reader.refuse(7, [429, 400])
        assert httpx.post(sink.url + "/events", json=event).status_code == 401
        assert httpx.post(sink.url + "/events", json=other, headers=auth).status_code == 200
        assert httpx.post(sink.url + "/events", json=event, headers={**auth, "X-Run": "r1"}).status_code == 429
        assert httpx.post(sink.url + "/events", json=event, headers={**auth, "X-Run": "wrong"}).status_code == 400
        assert httpx.post(sink.url + "/events", json=event, headers=auth).status_code == 200
        seen = reader.poll()
        assert [(d.status, d.authenticated, d.static_headers, d.accepted) for d in seen] == [
            (401, False, (), False),
            (200, True, (), True),
            (429, True, ("X-Run",), False),
            (400, True, (), False),
            (200, True, (), True),
        ]
        assert sink.rejected == 1
        assert httpx.post(sink.url + "/__sink__/rules", json={"customerId": 7, "statuses": [400]}).status_code == 401
        with pytest.raises(TargetBroken):
            SinkReader(sink.url, "wrong-token").refuse(7, [400])
    finally:
        sink.stop()


def test_candidates_are_the_accepted_deliveries_unless_every_attempt_is_asked_for() -> None:
    bodies = [_event(42, "9199000001"), _event(42, "9199000001")]
    refused = Delivery(1, 11.0, "/events", bodies[0], status=429)
    accepted = Delivery(2, 11.0, "/events", bodies[1])
    assert [d.seq for d, _ in candidates(EXPECTED, [refused, accepted])] == [2]
    assert [d.seq for d, _ in candidates(EXPECTED, [refused, accepted], attempts=True)] == [1, 2]


# -- correlation and duplicates ----------------------------------------------------------------
def _event(
    customer_id: int,
    mobile: str,
    program: str = "Apparel-Partner",
    event_id: str = "e1",
    membership: str = "M-1",
    **data: Any,
) -> dict[str, Any]:
    return {
        "eventName": "partnerProgramLinked",
        "eventId": event_id,
        "orgId": 1,
        "refId": "r",
        "apiRequestId": "q",
        "createdAt": 1,
        "loyaltyEventId": None,
        "data": {
            "customerIdentifiers": {"customerId": customer_id, "instore": {"mobile": mobile}},
            "loyaltyProgramId": 1,
            "partnerProgramId": 2,
            "partnerProgramName": program,
            "partnerProgramType": "EXTERNAL",
            "customerPartnerProgramDetails": {"membershipNumber": membership},
            **data,
        },
    }


EXPECTED = Expected(
    "partnerProgramLinked", 42, {"mobile": "9199000001"}, "Apparel-Partner", "EXTERNAL", "M-1", not_before=10.0
)


def _deliveries(*bodies: Any, arrival: float = 11.0) -> list[Delivery]:
    return [Delivery(i + 1, arrival, "/events", b) for i, b in enumerate(bodies)]


def test_an_event_of_the_customer_and_program_matches() -> None:
    other = _event(43, "9199000002")
    finding = judge(EXPECTED, _deliveries(other, _event(42, "9199000001")))
    assert finding.delivery is not None and finding.delivery.seq == 2 and not finding.problems


def test_earlier_or_other_customers_events_are_not_candidates() -> None:
    assert judge(EXPECTED, _deliveries(_event(42, "9199000001"), arrival=9.0)).delivery is None
    assert judge(EXPECTED, _deliveries(_event(43, "9199000002"))).delivery is None


def test_a_wrong_customer_id_is_recognised_by_the_mobile_and_reported() -> None:
    finding = judge(EXPECTED, _deliveries(_event(1_000_042, "9199000001")))
    assert finding.problems == ["customerId is 1000042, the action's customer is 42"]


def test_program_names_are_trimmed_unless_strict_and_the_type_and_membership_compared() -> None:
    padded = _deliveries(_event(42, "9199000001", program=" Apparel-Partner "))
    assert not judge(EXPECTED, padded).problems
    assert judge(EXPECTED, padded, strict=frozenset({"AMB-EVENT-NAME-WHITESPACE"})).problems
    wrong = _event(42, "9199000001", membership="M-2")
    wrong["data"]["partnerProgramType"] = "SUPPLEMENTARY"
    problems = judge(EXPECTED, _deliveries(wrong)).problems
    assert any("partnerProgramType" in p for p in problems) and any("membershipNumber" in p for p in problems)


def test_duplicates_are_warnings_by_default_and_failures_when_strict() -> None:
    again = _deliveries(_event(42, "9199000001"), _event(42, "9199000001"), _event(42, "9199000001", event_id="e2"))
    finding = judge(EXPECTED, again)
    assert not finding.problems and len(finding.warnings) == 2
    assert "delivered again" in finding.warnings[0] and "a second event (eventId e2)" in finding.warnings[1]
    assert len(judge(EXPECTED, again, strict=frozenset({"AMB-EVENT-DUPLICATES"})).problems) == 2


def test_a_missing_update_type_and_a_request_id_are_judged() -> None:
    from dataclasses import replace

    body = _event(42, "9199000001")
    body["eventName"] = "partnerProgramUpdated"
    exp = replace(EXPECTED, event="partnerProgramUpdated", update_type="UPGRADE", request_id="abc")
    problems = judge(exp, _deliveries(body)).problems
    assert "updateType is missing, the update's is UPGRADE" in problems
    assert "apiRequestId is 'q', the answer's request id is 'abc'" in problems
    assert any("'updateType' is a required property" in p for p in problems)


# -- waiting overlaps (docs/webhooks.md) ---------------------------------------------------------
class _Scenario:
    """A stand-in for a collected scenario: its name and its markers (`webhook`, `waits_retry_window`)."""

    def __init__(self, name: str, *markers: str) -> None:
        self.name, self.markers = name, set(markers)

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name in self.markers else None


def test_under_xdist_the_scenarios_that_wait_come_first_the_longest_waits_lead_each_group_in_its_order() -> None:
    items = [
        _Scenario("a"),
        _Scenario("w1", "webhook"),
        _Scenario("b"),
        _Scenario("r1", "webhook", "waits_retry_window"),
        _Scenario("w2", "webhook"),
        _Scenario("r2", "webhook", "waits_retry_window"),
    ]
    ordered = waiting_first(cast(list[pytest.Item], items))
    assert [i.name for i in ordered] == ["r1", "r2", "w1", "w2", "a", "b"]
    assert waiting_first([]) == []


def test_the_scenarios_that_wait_out_a_retry_window_are_marked_so() -> None:
    """The two scenarios docs/webhooks.md names as waiting out the whole retry window carry `waits_retry_window`,
    and no other does (a mark on a short wait would put it before the long ones)."""
    marked: set[str] = set()
    for line in (ROOT / "features" / "webhook_events.feature").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if "@waits_retry_window" in words:
            marked |= {w[1:] for w in words if w.startswith("@WEBHOOK-")}
    assert marked == {"WEBHOOK-NO-RETRY-4XX", "WEBHOOK-RETRY-429"}


# -- the webhook scenarios against the event faults (subprocess runs) ---------------------------
@pytest.mark.selftest_slow
@pytest.mark.parametrize(
    "fault,requirement",
    [
        ("event-not-sent", "EVENT-LINKED"),
        ("event-wrong-customer-id", "EVENT-LINKED"),
        ("event-update-type-omitted", "EVENT-UPDATED"),
    ],
)
def test_the_webhook_scenarios_fail_each_event_fault(tmp_path: Path, fault: str, requirement: str) -> None:
    base_url, stop = start_reference_server("--fault", fault)
    try:
        code, out, junit = run_suite(
            tmp_path,
            f"--base-url={base_url}",
            "-m",
            "webhook and not needs_clock",
            env={"PP__WEBHOOKS__DELIVERY_DEADLINE_SECONDS": "2"},
        )
    finally:
        stop()
    assert code == 1, out[-3000:]
    assert requirement in failed_requirements(junit), out[-3000:]


@pytest.mark.selftest_slow
def test_the_webhook_scenarios_pass_the_wrapped_form_and_skip_on_a_target_without_webhooks(tmp_path: Path) -> None:
    base_url, stop = start_reference_server("--event-form", "wrapped")
    try:
        code, out, junit = run_suite(
            tmp_path / "wrapped", f"--base-url={base_url}", "--reference-target", "-m", "webhook"
        )
    finally:
        stop()
    feature = (Path(__file__).resolve().parents[1] / "features" / "webhook_events.feature").read_text(encoding="utf-8")
    scenarios = sum(line.strip().startswith("Scenario:") for line in feature.splitlines())
    assert scenarios >= 9, "the walk over the feature file is broken"
    webhook_tests = counts(junit)["tests"]  # the event scenarios, and those of other features tagged webhook
    assert code == 0 and webhook_tests >= scenarios and counts(junit)["skipped"] == 0, out[-3000:]
    code, out, junit = run_suite(tmp_path / "off", "-m", "webhook", env={"PP__WEBHOOKS__MODE": "off"})
    assert code == 0 and counts(junit)["skipped"] == webhook_tests, out[-3000:]
    assert "webhooks.mode is off" in (tmp_path / "off" / "reports" / "junit.xml").read_text(encoding="utf-8")


def test_the_clock_is_used_only_on_a_declared_reference_server(tmp_path: Path) -> None:
    """Against a target given by --base-url the suite sends nothing under /__reference__/ (the clock scenarios
    are skipped, saying why) unless --reference-target declares it the reference server."""
    base_url, stop = start_reference_server()
    try:
        code, out, junit = run_suite(tmp_path / "plain", f"--base-url={base_url}", "-m", "needs_clock")
        plain = counts(junit)
        reasons = (tmp_path / "plain" / "reports" / "junit.xml").read_text(encoding="utf-8")
        code2, out2, junit2 = run_suite(
            tmp_path / "declared", f"--base-url={base_url}", "--reference-target", "-m", "needs_clock"
        )
    finally:
        stop()
    assert code == 0 and plain["tests"] == plain["skipped"] == 2, (plain, out[-2000:])
    assert "--reference-target" in reasons
    assert code2 == 0 and counts(junit2)["skipped"] == 0 and counts(junit2)["tests"] == 2, out2[-2000:]
