"""Self-tests of ppconformance.run.discovery: program listing, relinking probe, filling and drift."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ppconformance.connection.client import AuthFailed, PartnerProgramClient, TargetError
from ppconformance.connection.profile import (
    DEFAULT_PROFILE,
    AuthConfig,
    MembershipPeriod,
    OrgProfile,
    Profile,
    ProgramProfile,
    load_profile,
)
from ppconformance.run.discovery import (
    DiscoveredProgram,
    Drift,
    NotThePartnerProgramApi,
    discover_programs,
    drift,
    fill_from_discovery,
    probe_relinking,
    render_drift,
    speaks_the_api,
)
from ppreference import create_app, load_orgs

from .reference.helpers import ENV, TestClient

BASE = "https://target.example"
SECRET = "discovery-secret-pw"
DAYS30 = MembershipPeriod("DAYS", 30)
MONTHS12 = MembershipPeriod("MONTHS", 12)
CUSTOMER = {"mobile": "919900000001"}


def make_org(programs: dict[str, ProgramProfile] | None = None, relinking: bool | None = True) -> OrgProfile:
    return OrgProfile(
        name="staging",
        auth=AuthConfig(scheme="basic", till="till.one", password=SECRET),
        allow_membership_relinking=relinking,
        timezone="UTC",
        programs=programs or {},
    )


def writable_profile(org: OrgProfile) -> Profile:
    """A profile for `org` that lets the client send writes (the relinking probe is one).

    `allow_writes` is passed only when the Profile has that field (it is being added concurrently).
    """
    writes = {"allow_writes": True} if "allow_writes" in Profile.__dataclass_fields__ else {}
    return Profile(name="test", orgs=(org,), **writes)  # type: ignore[arg-type]


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> PartnerProgramClient:
    org = make_org()
    profile = writable_profile(org)
    return PartnerProgramClient(BASE, profile, org, http=httpx.Client(transport=httpx.MockTransport(handler)))


def answering(
    status: int, body: Any = None, *, text: str | None = None, seen: list[httpx.Request] | None = None
) -> PartnerProgramClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return client_for(handler)


def program_json(
    name: str, ptype: str, tiers: list[tuple[int, str]], period: tuple[str, int] = ("DAYS", 0), **extra: Any
) -> dict[str, Any]:
    return {
        "partnerProgramId": extra.pop("pid", 7),
        "partnerProgramName": name,
        "partnerProgramDescription": "",
        "partnerProgramTiers": [{"tierNumber": n, "tierName": t} for n, t in tiers],
        "partnerProgramType": ptype,
        "membershipPeriodType": period[0],
        "membershipPeriodValue": period[1],
        "tierBased": bool(tiers),
        **extra,
    }


LISTING = {
    "partnerPrograms": [
        program_json("Apparel", "EXTERNAL", [(3, "Gold"), (1, "Bronze"), (2, "Silver")], pid=101),
        program_json("SPP_1", "SUPPLEMENTARY", [(1, "Classic"), (2, "Premium")], ("DAYS", 30), pid=102),
        program_json("SPP_2", "SUPPLEMENTARY", [], ("MONTHS", 12), pid=103),
    ],
    "warnings": [],
}


# -- discover_programs ---------------------------------------------------------------------------
def test_discover_programs_parses_the_documented_shape() -> None:
    seen: list[httpx.Request] = []
    programs = discover_programs(answering(200, LISTING, seen=seen))
    assert seen[0].method == "GET" and seen[0].url.path == "/v2/organization/programs"
    assert "Authorization" in seen[0].headers
    assert programs == {
        "Apparel": DiscoveredProgram(
            "Apparel", "EXTERNAL", ("Bronze", "Silver", "Gold"), None, 101, (("Bronze", 1), ("Silver", 2), ("Gold", 3))
        ),
        "SPP_1": DiscoveredProgram(
            "SPP_1", "SUPPLEMENTARY", ("Classic", "Premium"), DAYS30, 102, (("Classic", 1), ("Premium", 2))
        ),
        "SPP_2": DiscoveredProgram("SPP_2", "SUPPLEMENTARY", (), MONTHS12, 103),
    }
    assert list(programs) == ["Apparel", "SPP_1", "SPP_2"]


def test_discover_programs_orders_tiers_by_tier_number_lowest_first() -> None:
    body = {"partnerPrograms": [program_json("P", "EXTERNAL", [(10, "Top"), (2, "Low"), (5, "Mid")])]}
    programs = discover_programs(answering(200, body))
    assert programs is not None and programs["P"].tiers == ("Low", "Mid", "Top")
    assert programs["P"].tier_numbers == (("Low", 2), ("Mid", 5), ("Top", 10))  # what events name a tier by


def test_discover_programs_tolerates_extra_and_absent_optional_fields() -> None:
    body = {
        "partnerPrograms": [
            {"partnerProgramName": "Bare", "partnerProgramType": "SUPPLEMENTARY", "shinyNewField": {"x": 1}},
            program_json("Ext", "EXTERNAL", [(1, "A")], ("MONTHS", 6), pid="not-an-int", futureFlag=True),
            program_json("Zero", "SUPPLEMENTARY", [], ("DAYS", 0)),
        ],
        "warnings": [],
        "pagination": {"total": 3},
    }
    programs = discover_programs(answering(200, body))
    assert programs == {
        "Bare": DiscoveredProgram("Bare", "SUPPLEMENTARY", (), None, None),
        # EXTERNAL programs have no membership period, whatever the value says
        "Ext": DiscoveredProgram("Ext", "EXTERNAL", ("A",), None, None, (("A", 1),)),
        "Zero": DiscoveredProgram("Zero", "SUPPLEMENTARY", (), None, 7),
    }


def test_discover_programs_keeps_the_first_of_a_repeated_name() -> None:
    body = {
        "partnerPrograms": [
            program_json("P", "EXTERNAL", [(1, "A")], pid=1),
            program_json("P", "SUPPLEMENTARY", [], ("DAYS", 5), pid=2),
        ]
    }
    programs = discover_programs(answering(200, body))
    assert programs is not None and programs["P"].program_id == 1


def test_discover_programs_accepts_an_empty_listing() -> None:
    assert discover_programs(answering(200, {"partnerPrograms": []})) == {}


@pytest.mark.parametrize("status", [404, 405, 501])
def test_discover_programs_is_none_when_the_endpoint_is_not_offered(status: int) -> None:
    body = {"warnings": [], "errors": [{"status": False, "code": status, "message": "nope"}]}
    assert discover_programs(answering(status, body)) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_discover_programs_raises_target_error_on_5xx(status: int) -> None:
    with pytest.raises(TargetError) as info:
        discover_programs(answering(status, text="upstream exploded"))
    message = str(info.value)
    assert f"HTTP {status}" in message and "upstream exploded" in message  # the rendered exchange
    assert SECRET not in message and "Authorization: ***" in message


@pytest.mark.parametrize("status", [401, 403])
def test_discover_programs_raises_auth_failed_when_credentials_are_refused(status: int) -> None:
    with pytest.raises(AuthFailed, match=f"HTTP {status}"):
        discover_programs(answering(status, {"errors": [{"code": 401}]}))


def test_discover_programs_raises_target_error_on_another_unexpected_status() -> None:
    with pytest.raises(TargetError, match="HTTP 400"):
        discover_programs(answering(400, {"errors": []}))


MALFORMED: dict[str, Any] = {
    "not json": None,
    "a list": [],
    "no partnerPrograms": {"programs": []},
    "partnerPrograms not a list": {"partnerPrograms": {"a": 1}},
    "entry not an object": {"partnerPrograms": ["SPP_1"]},
    "name missing": {"partnerPrograms": [{"partnerProgramType": "EXTERNAL"}]},
    "name empty": {"partnerPrograms": [{"partnerProgramName": " ", "partnerProgramType": "EXTERNAL"}]},
    "unknown type": {"partnerPrograms": [program_json("P", "PARTNER", [])]},
    "tiers not a list": {"partnerPrograms": [{**program_json("P", "EXTERNAL", []), "partnerProgramTiers": "Gold"}]},
    "tier without number": {
        "partnerPrograms": [{**program_json("P", "EXTERNAL", []), "partnerProgramTiers": [{"tierName": "Gold"}]}]
    },
    "tier number a string": {"partnerPrograms": [program_json("P", "EXTERNAL", [("1", "Gold")])]},  # type: ignore[list-item]
    "negative period": {"partnerPrograms": [program_json("P", "SUPPLEMENTARY", [], ("DAYS", -1))]},
    "unknown period type": {"partnerPrograms": [program_json("P", "SUPPLEMENTARY", [], ("WEEKS", 2))]},
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_discover_programs_raises_target_error_on_a_malformed_2xx_body(body: Any) -> None:
    if body is None:  # an HTML page: not this API at all (issue 23, item 3)
        with pytest.raises(NotThePartnerProgramApi, match="does not answer as the Partner Program API"):
            discover_programs(answering(200, text="<html>oops</html>"))
        return
    with pytest.raises(TargetError, match="not the documented shape") as info:
        discover_programs(answering(200, body))
    assert "< HTTP 200" in str(info.value)


# -- probe_relinking ---------------------------------------------------------------------------
def update_answer(code: int, status: int = 200) -> PartnerProgramClient:
    body = {
        "customersPartnerUpdates": [
            {
                "customer": {**CUSTOMER, "status": {"status": True, "code": 1000, "message": "ok"}},
                "partnerProgramUpdates": [
                    {
                        "partnerProgramName": "SPP_1",
                        "updateType": "MEMBERSHIP_RELINKING_CANCELLED",
                        "updateStatus": {"status": False, "code": code, "message": "m"},
                    }
                ],
            }
        ],
        "warnings": [],
    }
    return answering(status, body)


@pytest.mark.parametrize(
    ("code", "expected"), [(2026, False), (2027, True), (2004, True), (200, None), (2006, None), (8015, None)]
)
def test_probe_relinking_reads_the_item_code(code: int, expected: bool | None) -> None:
    assert probe_relinking(update_answer(code), CUSTOMER, "SPP_1") is expected


def test_probe_relinking_reads_the_item_code_under_a_non_200_status() -> None:
    assert probe_relinking(update_answer(2026, status=400), CUSTOMER, "SPP_1") is False


def test_probe_relinking_sends_one_cancel_update() -> None:
    seen: list[httpx.Request] = []
    probe_relinking(answering(200, {}, seen=seen), CUSTOMER, "SPP_1")
    assert len(seen) == 1
    assert seen[0].method == "POST" and seen[0].url.path == "/v2/partnerProgram/customerPartnerProgramUpdate"
    assert json.loads(seen[0].content) == {
        "customersPartnerUpdates": [
            {
                "customer": CUSTOMER,
                "partnerProgramUpdates": [
                    {"partnerProgramName": "SPP_1", "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"customersPartnerUpdates": []},
        {"customersPartnerUpdates": [{"partnerProgramUpdates": [{}]}]},
        {"errors": [{"status": False, "code": 2026, "message": "request level"}]},
    ],
    ids=["not-json", "empty", "no-items", "no-status", "request-level-error"],
)
def test_probe_relinking_is_undetermined_without_an_item_code(body: Any) -> None:
    client = answering(400, text="nonsense") if body is None else answering(400, body)
    assert probe_relinking(client, CUSTOMER, "SPP_1") is None


def test_probe_relinking_raises_target_error_on_5xx() -> None:
    with pytest.raises(TargetError, match="HTTP 503") as info:
        probe_relinking(answering(503, text="maintenance"), CUSTOMER, "SPP_1")
    assert "maintenance" in str(info.value)


# -- fill_from_discovery -------------------------------------------------------------------------
def discovered(*programs: DiscoveredProgram) -> dict[str, DiscoveredProgram]:
    return {p.name: p for p in programs}


EXT1 = DiscoveredProgram("OneTier", "EXTERNAL", ("Only",), None, 1)
EXT3 = DiscoveredProgram("Apparel", "EXTERNAL", ("Bronze", "Silver", "Gold"), None, 2)
SUP_NO_PERIOD = DiscoveredProgram("NoPeriod", "SUPPLEMENTARY", ("X", "Y"), None, 3)
SUP_FLAT = DiscoveredProgram("Flat", "SUPPLEMENTARY", (), MONTHS12, 4)
SUP_TIERED = DiscoveredProgram("Tiered", "SUPPLEMENTARY", ("Classic", "Premium"), DAYS30, 5)
ALL = discovered(EXT1, EXT3, SUP_NO_PERIOD, SUP_FLAT, SUP_TIERED)


def test_fill_chooses_every_role_the_profile_leaves_out() -> None:
    org = make_org()
    filled = fill_from_discovery(org, ALL)
    assert filled.programs == {
        "external": ProgramProfile("Apparel", ("Bronze", "Silver", "Gold"), None),  # first with >= 2 tiers
        "supplementary": ProgramProfile("Tiered", ("Classic", "Premium"), DAYS30),  # period and tiers preferred
        "second_supplementary": ProgramProfile("Flat", (), MONTHS12),  # another one, with a period preferred
    }
    assert org.programs == {}  # the original is not changed
    assert (filled.name, filled.auth, filled.allow_membership_relinking) == (org.name, org.auth, True)


def test_fill_supplementary_without_tiers_when_none_has_tiers_and_a_period() -> None:
    filled = fill_from_discovery(make_org(), discovered(SUP_NO_PERIOD, SUP_FLAT))
    assert filled.programs["supplementary"].name == "Flat"
    assert filled.programs["second_supplementary"].name == "NoPeriod"  # any other supplementary
    assert "external" not in filled.programs


def test_fill_leaves_roles_absent_without_a_candidate() -> None:
    filled = fill_from_discovery(make_org(), discovered(EXT1, SUP_NO_PERIOD))
    assert filled.programs == {}  # one tier is too few; no supplementary has a period, so no second one either
    assert fill_from_discovery(make_org(), {}).programs == {}


def test_fill_second_supplementary_differs_from_a_declared_supplementary() -> None:
    org = make_org({"supplementary": ProgramProfile("Flat")})
    filled = fill_from_discovery(org, discovered(SUP_FLAT, SUP_TIERED))
    assert filled.programs["supplementary"] == ProgramProfile("Flat", (), MONTHS12)
    assert filled.programs["second_supplementary"].name == "Tiered"


def test_fill_second_supplementary_only_beside_a_first() -> None:
    org = make_org({"supplementary": ProgramProfile("Unlisted")})
    filled = fill_from_discovery(org, discovered(SUP_NO_PERIOD))
    assert filled.programs["second_supplementary"] == ProgramProfile("NoPeriod", ("X", "Y"), None)


def test_fill_supplementary_avoids_the_declared_second_supplementary() -> None:
    org = make_org({"second_supplementary": ProgramProfile("Tiered")})
    filled = fill_from_discovery(org, discovered(SUP_TIERED, SUP_FLAT))
    assert filled.programs["supplementary"].name == "Flat"
    assert filled.programs["second_supplementary"].name == "Tiered"


def test_fill_completes_declared_roles_without_overriding_them() -> None:
    org = make_org(
        {
            "external": ProgramProfile("OneTier"),  # declared: kept although it has one tier only
            "supplementary": ProgramProfile("Tiered", ("Premium",), None),  # tiers declared, period not
            "second_supplementary": ProgramProfile("Flat", (), DAYS30),  # period declared (even if it differs)
        }
    )
    filled = fill_from_discovery(org, ALL)
    assert filled.programs == {
        "external": ProgramProfile("OneTier", ("Only",), None),
        "supplementary": ProgramProfile("Tiered", ("Premium",), DAYS30),
        "second_supplementary": ProgramProfile("Flat", (), DAYS30),
    }


def test_fill_keeps_a_declared_role_the_target_does_not_list() -> None:
    org = make_org({"external": ProgramProfile("Gone", ("A", "B"))})
    filled = fill_from_discovery(org, ALL)
    assert filled.programs["external"] == ProgramProfile("Gone", ("A", "B"))


# -- drift -----------------------------------------------------------------------------------------
def keys(items: list[Drift]) -> list[str]:
    return [d.key for d in items]


MATCHING = make_org(
    {
        "external": ProgramProfile("Apparel", ("Bronze", "Silver", "Gold")),
        "supplementary": ProgramProfile("Tiered", ("Classic", "Premium"), DAYS30),
        "second_supplementary": ProgramProfile("Flat", (), MONTHS12),
    }
)


def test_no_drift_when_profile_and_target_agree() -> None:
    assert drift(MATCHING, ALL, True) == []
    assert render_drift([]) == "no drift"


def test_undeclared_details_are_not_drift() -> None:
    org = make_org({"external": ProgramProfile("Apparel"), "supplementary": ProgramProfile("Tiered")}, None)
    assert drift(org, ALL, False) == []  # no tiers, no period, no relinking declared


def test_drift_for_a_program_the_target_does_not_list() -> None:
    org = make_org({"external": ProgramProfile("Gone", ("A", "B"))})
    [item] = drift(org, ALL, None)
    assert item == Drift("staging", "orgs[staging].programs.external.name", "Gone", None, item.message)
    assert "'Gone'" in item.message and "Apparel" in item.message


def test_no_program_drift_when_the_endpoint_is_not_offered() -> None:
    org = make_org({"external": ProgramProfile("Gone", ("A", "B"))}, relinking=True)
    assert drift(org, None, None) == []
    assert keys(drift(org, None, False)) == ["orgs[staging].allow_membership_relinking"]


@pytest.mark.parametrize(
    ("role", "name", "want", "found"),
    [
        ("external", "Flat", "EXTERNAL", "SUPPLEMENTARY"),
        ("supplementary", "Apparel", "SUPPLEMENTARY", "EXTERNAL"),
        ("second_supplementary", "OneTier", "SUPPLEMENTARY", "EXTERNAL"),
    ],
)
def test_drift_for_a_role_of_the_wrong_type(role: str, name: str, want: str, found: str) -> None:
    [item] = drift(make_org({role: ProgramProfile(name)}), ALL, None)
    assert (item.key, item.declared, item.found) == (f"orgs[staging].programs.{role}.type", want, found)
    assert want in item.message and found in item.message


@pytest.mark.parametrize(
    ("declared", "fragment"),
    [
        (("Bronze", "Silver"), "also has Gold"),
        (("Bronze", "Silver", "Gold", "Platinum"), "lacks Platinum"),
        (("Gold", "Silver", "Bronze"), "different order"),
        (("Bronze", "Silver", "Diamond"), "lacks Diamond; the target also has Gold"),
    ],
)
def test_drift_for_tiers(declared: tuple[str, ...], fragment: str) -> None:
    [item] = drift(make_org({"external": ProgramProfile("Apparel", declared)}), ALL, None)
    assert item.key == "orgs[staging].programs.external.tiers"
    assert (item.declared, item.found) == (list(declared), ["Bronze", "Silver", "Gold"])
    assert fragment in item.message


@pytest.mark.parametrize(
    ("role", "name", "declared", "found"),
    [
        ("supplementary", "Tiered", MembershipPeriod("DAYS", 31), DAYS30),
        ("supplementary", "Tiered", MembershipPeriod("MONTHS", 1), DAYS30),
        ("second_supplementary", "NoPeriod", MONTHS12, None),
        ("external", "Apparel", DAYS30, None),
    ],
)
def test_drift_for_membership_period(
    role: str, name: str, declared: MembershipPeriod, found: MembershipPeriod | None
) -> None:
    [item] = drift(make_org({role: ProgramProfile(name, (), declared)}), ALL, None)
    assert (item.key, item.declared, item.found) == (
        f"orgs[staging].programs.{role}.membership_period",
        declared,
        found,
    )


@pytest.mark.parametrize(
    ("declared", "probed", "expected"),
    [
        (True, False, ["orgs[staging].allow_membership_relinking"]),
        (False, True, ["orgs[staging].allow_membership_relinking"]),
        (True, True, []),
        (False, False, []),
        (True, None, []),
        (None, True, []),
        (None, None, []),
    ],
)
def test_drift_for_relinking(declared: bool | None, probed: bool | None, expected: list[str]) -> None:
    items = drift(make_org({}, relinking=declared), ALL, probed)
    assert keys(items) == expected
    if items:
        assert (items[0].declared, items[0].found) == (declared, probed)
        assert ("enabled" if probed else "disabled") in items[0].message


def test_drift_reports_every_kind_at_once_and_renders_them() -> None:
    org = make_org(
        {
            "external": ProgramProfile("Tiered", ("Gold", "Silver")),  # wrong type and tiers
            "supplementary": ProgramProfile("Flat", (), DAYS30),  # wrong period
            "second_supplementary": ProgramProfile("Missing"),
        },
        relinking=False,
    )
    items = drift(org, ALL, True)
    assert keys(items) == [
        "orgs[staging].programs.external.type",
        "orgs[staging].programs.external.tiers",
        "orgs[staging].programs.supplementary.membership_period",
        "orgs[staging].programs.second_supplementary.name",
        "orgs[staging].allow_membership_relinking",
    ]
    assert all(item.org == "staging" and item.message.endswith(".") for item in items)
    text = render_drift(items)
    lines = text.splitlines()
    assert lines[0].startswith("5 difference")
    assert len(lines) == 1 + 2 * len(items)
    for item in items:
        assert f"- {item.key}: {item.message}" in lines
    assert "declared: {type: DAYS, value: 30}; found: {type: MONTHS, value: 12}" in text
    assert "declared: false; found: true" in text
    assert "declared: Missing; found: (nothing)" in text


# -- against the reference server --------------------------------------------------------------
@pytest.fixture
def reference() -> Iterator[tuple[Profile, TestClient]]:
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    with TestClient(create_app(load_orgs(env=ENV)), raise_server_exceptions=False) as http:
        yield profile, http


def test_discovery_against_the_reference_server(reference: tuple[Profile, TestClient]) -> None:
    profile, http = reference
    for i, org in enumerate(profile.orgs):
        client = PartnerProgramClient("http://testserver", profile, org, http=http)
        programs = discover_programs(client)
        assert programs is not None and list(programs) == ["Apparel-Partner", "SPP_1", "SPP_2"]
        assert programs["Apparel-Partner"].tiers == ("Bronze", "Silver", "Gold")
        mobile = f"91990000{i:04d}"
        assert client.add_customer({"mobile": mobile}).status == 200
        relinking = probe_relinking(client, {"mobile": mobile}, "SPP_1")
        assert relinking is org.allow_membership_relinking
        assert drift(org, programs, relinking) == [], render_drift(drift(org, programs, relinking))
        bare = fill_from_discovery(OrgProfile(org.name, org.auth, None, org.timezone), programs)
        assert bare.programs == org.programs  # the embedded profile is what discovery would choose


# -- speaks_the_api ----------------------------------------------------------------------------
def test_the_api_check_sends_nothing_when_the_preflight_already_met_the_api_on_a_documented_path() -> None:
    """The relinking probe's (or the pool scan's) update answered JSON on the documented path: that is the API
    check's evidence, so it sends no `POST {}` of its own; an HTML answer there is no evidence, so it sends its
    three and ends the run."""
    client = update_answer(2027)
    probe_relinking(client, CUSTOMER, "SPP_1")
    speaks_the_api(client)
    assert [ex.method for ex in client.exchanges] == ["POST"]
    seen: list[httpx.Request] = []
    html = answering(200, text="<html>oops</html>", seen=seen)
    assert probe_relinking(html, CUSTOMER, "SPP_1") is None
    with pytest.raises(NotThePartnerProgramApi, match="does not answer as the Partner Program API"):
        speaks_the_api(html)
    assert [r.content for r in seen[1:]] == [b"{}"] * 3
