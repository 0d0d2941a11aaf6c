"""Named faults and variants of the reference server (src/ppreference/faults.py, variants.py, docs/fault-sweep.md).

The registry is consistent with the catalogue, every name is accepted, and a
handful of faults and variants are checked directly: the server really
deviates (or varies) the way the description says. Whether the suite kills
every fault is the sweep's job (tests/test_fault_sweep.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ppconformance.contract.catalogue import load_catalogue
from ppreference import create_app, load_orgs
from ppreference.__main__ import main
from ppreference.behaviour import Behaviour
from ppreference.faults import FAULTS, KINDS
from ppreference.variants import VARIANTS

from .helpers import (
    DEFAULT_NOW,
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
    code_of,
)

TODAY = "2026-06-15T23:59:59+05:30"  # DEFAULT_NOW is 2026-06-15 11:30 in Asia/Kolkata
YESTERDAY = "2026-06-14T00:00:00+05:30"
CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Callable[..., Api]]:
    """`server(fault=..., variant=...)` -> an Api on the enabled org of a fresh app with that behaviour."""
    clients: list[TestClient] = []

    def make(fault: str | None = None, variant: str | None = None) -> Api:
        client = TestClient(
            create_app(load_orgs(), clock=Clock(DEFAULT_NOW), fault=fault, variant=variant),
            raise_server_exceptions=False,
        )
        clients.append(client)
        return Api(client, ENABLED_TILL, ENV["PP_EMBEDDED_ENABLED_PASSWORD"])

    yield make
    for client in clients:
        client.close()


def _item(response: Any, top: str = "linkCustomers", items: str = "linkToPartnerPrograms") -> dict:
    return response.json()[top][0][items][0]


# -- the registry -------------------------------------------------------------------------------------------
def test_at_least_fifty_faults_covering_every_kind() -> None:
    assert len(FAULTS) >= 50
    assert {f.kind for f in FAULTS.values()} == set(KINDS)
    assert all(name == fault.name for name, fault in FAULTS.items())
    assert all(f.description.strip() for f in FAULTS.values())


def test_every_fault_breaks_a_catalogued_testable_requirement() -> None:
    requirements = load_catalogue().requirements
    for fault in FAULTS.values():
        assert fault.requirement in requirements, fault
        assert requirements[fault.requirement].testable, fault


def test_every_variant_resolves_a_registered_ambiguity_with_a_strict_stance() -> None:
    ambiguities = load_catalogue().ambiguities
    for variant in VARIANTS.values():
        if variant.ambiguity == "all":  # the target of every strict reading (tools.sweep runs it strict)
            continue
        assert variant.ambiguity in ambiguities, variant
        assert ambiguities[variant.ambiguity].strict, variant  # else there is nothing for it to vary from
    assert not set(FAULTS) & set(VARIANTS)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_every_fault_name_is_accepted(env: dict[str, str], name: str) -> None:
    create_app(load_orgs(), fault=name)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_name_is_accepted(env: dict[str, str], name: str) -> None:
    create_app(load_orgs(), variant=name)


def test_unknown_names_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        create_app(load_orgs(), fault="nope")
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        create_app(load_orgs(), variant="nope")
    with pytest.raises(AssertionError):
        Behaviour().faulty("not-a-fault")  # a typo in a hook fails loudly


def test_cli_lists_faults_and_variants_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-faults"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == list(FAULTS)
    assert set(rows[0]) == {"name", "requirement", "kind", "description"}
    assert main(["--list-variants"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == list(VARIANTS) and set(rows[0]) == {
        "name",
        "ambiguity",
        "description",
        "reading",
    }


@pytest.mark.parametrize("option", ["--fault", "--variant"])
def test_cli_refuses_an_unknown_name_with_the_list(capsys: pytest.CaptureFixture[str], option: str) -> None:
    assert main([option, "nope"]) == 2
    err = capsys.readouterr().err
    assert f"unknown {option} 'nope'" in err
    assert ("link-2006-as-2004" if option == "--fault" else "extra-fields") in err


# -- faults, checked directly ----------------------------------------------------------------------------------
def test_conforming_server_answers_2006_for_an_unknown_program(server: Callable[..., Api]) -> None:
    api = server()
    assert code_of(api.link_status(api.customer(), "Nope", partnerMembershipId="M")) == 2006


def test_wrong_code_fault(server: Callable[..., Api]) -> None:
    api = server(fault="link-2006-as-2004")
    assert code_of(api.link_status(api.customer(), "Nope", partnerMembershipId="M")) == 2004


def test_missing_error_fault(server: Callable[..., Api]) -> None:
    api = server(fault="link-membership-id-optional")
    customer = api.customer()
    assert code_of(api.link_status(customer, "Apparel-Partner")) == 200
    assert [p["partnerProgramName"] for p in api.linked(customer)] == ["Apparel-Partner"]


@pytest.mark.parametrize(
    ("fault", "count", "refused"),
    [
        (None, 50, False),
        (None, 51, True),
        ("link-batch-50-rejected", 50, True),
        ("link-batch-51-accepted", 51, False),
    ],
)
def test_batch_boundary_faults(server: Callable[..., Api], fault: str | None, count: int, refused: bool) -> None:
    api = server(fault=fault)
    body = {
        "linkCustomers": [
            {
                "customer": {"mobile": f"91990000{i:04d}"},
                "linkToPartnerPrograms": [{"partnerProgramName": "Apparel-Partner"}],
            }
            for i in range(count)
        ]
    }
    response = api.post(LINK, body)
    if refused:
        assert_envelope(response, 400, 2008)
    else:
        assert len(response.json()["linkCustomers"]) == count


@pytest.mark.parametrize(
    ("fault", "day", "code"),
    [
        (None, TODAY, 200),
        (None, YESTERDAY, 2003),
        ("link-expiry-today-rejected", TODAY, 2003),
        ("link-expiry-yesterday-accepted", YESTERDAY, 200),
    ],
)
def test_date_boundary_faults(server: Callable[..., Api], fault: str | None, day: str, code: int) -> None:
    api = server(fault=fault)
    status = api.link_status(api.customer(), "Apparel-Partner", partnerMembershipId="M", partnerTierExpiryDate=day)
    assert code_of(status) == code


def test_state_faults(server: Callable[..., Api]) -> None:
    api = server(fault="delink-keeps-link")
    customer = api.linked_customer("Apparel-Partner")
    assert code_of(api.delink_status(customer, "Apparel-Partner")) == 200
    assert [p["partnerProgramName"] for p in api.linked(customer)] == ["Apparel-Partner"]

    api = server(fault="cancel-keeps-pending-relink")
    customer = api.linked_customer("SPP_1")
    assert code_of(api.link_status(customer, "SPP_1", membershipStartDate="2026-07-16")) == 200
    assert code_of(api.update_status(customer, "SPP_1", CANCEL)) == 200
    assert code_of(api.update_status(customer, "SPP_1", CANCEL)) == 200  # still pending: not 2027

    api = server(fault="delink-blocks-relink")
    customer = api.linked_customer("Apparel-Partner")
    assert code_of(api.delink_status(customer, "Apparel-Partner")) == 200
    assert api.linked(customer) == []
    assert code_of(api.link_status(customer, "Apparel-Partner", partnerMembershipId="M2")) == 2005


def test_shape_faults(server: Callable[..., Api]) -> None:
    api = server(fault="update-type-not-echoed")
    customer = api.linked_customer("Apparel-Partner")
    item = _item(
        api.update(customer, "Apparel-Partner", "UPGRADE", updatedTierName="Gold"),
        "customersPartnerUpdates",
        "partnerProgramUpdates",
    )
    assert "updateType" not in item and item["updateStatus"]["code"] == 200

    api = server(fault="link-status-object-misnamed")
    item = _item(api.link(api.customer(), "Apparel-Partner", partnerMembershipId="M"))
    assert set(item) == {"partnerProgramName", "updateStatus"}

    api = server(fault="error-envelope-without-errors")
    response = api.client.post(LINK, content=b"{", headers=api.headers)
    assert response.status_code == 400 and "errors" not in response.json()


def test_identification_faults(server: Callable[..., Api]) -> None:
    api = server(fault="ident-email-ignored")
    api.customer("919900000001", email="e@example.com")
    assert code_of(api.link_status({"email": "e@example.com"}, "Apparel-Partner", partnerMembershipId="M")) == 8015
    assert code_of(api.link_status({"mobile": "919900000001"}, "Apparel-Partner", partnerMembershipId="M")) == 200

    api = server(fault="ident-missing-succeeds")
    assert code_of(api.link_status({}, "Apparel-Partner", partnerMembershipId="M")) == 200


def test_auth_faults(server: Callable[..., Api]) -> None:
    body = {
        "linkCustomers": [
            {
                "customer": {"mobile": "919900000002"},
                "linkToPartnerPrograms": [{"partnerProgramName": "Apparel-Partner"}],
            }
        ]
    }
    wrong = {"Authorization": basic_header(ENABLED_TILL, "wrong-password")}
    assert server().client.post(LINK, json=body, headers=wrong).status_code == 401
    assert server(fault="auth-wrong-password-accepted").client.post(LINK, json=body, headers=wrong).status_code == 201
    assert server(fault="auth-none-required").client.post(LINK, json=body).status_code == 201
    forged = {"X-CAP-API-OAUTH-TOKEN": "forged.oauth.token"}
    assert server(fault="auth-forged-token-accepted").client.post(LINK, json=body, headers=forged).status_code == 201
    assert_envelope(server(fault="auth-401-as-403").client.post(LINK, json=body), 403, 403)


def test_transport_faults(server: Callable[..., Api]) -> None:
    api = server(fault="link-json-as-text-plain")
    response = api.link(api.customer(), "Apparel-Partner", partnerMembershipId="M")
    assert response.headers["content-type"].startswith("text/plain") and response.json()["linkCustomers"]

    api = server(fault="renew-500")
    customer = api.linked_customer("Apparel-Partner")
    response = api.update(customer, "Apparel-Partner", "RENEW", updatedTierName="Gold")
    assert_envelope(response, 500, 500)

    api = server(fault="malformed-json-500")
    assert api.client.post(LINK, content=b"{", headers=api.headers).status_code == 500


# -- variants, checked directly --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variant", "status"), [(None, 201), ("item-failure-http-200", 200), ("item-failure-http-400", 400)]
)
def test_item_failure_status_variants(server: Callable[..., Api], variant: str | None, status: int) -> None:
    api = server(variant=variant)
    response = api.link(api.customer(), "Nope", partnerMembershipId="M")
    assert response.status_code == status
    assert code_of(_item(response)["partnerLinkStatus"]) == 2006


def test_batch_limit_per_item_variant(server: Callable[..., Api]) -> None:
    api = server(variant="batch-limit-per-item")
    body = {
        "customersPartnerUpdates": [
            {
                "customer": {"mobile": f"91990000{i:04d}"},
                "partnerProgramUpdates": [{"partnerProgramName": "Apparel-Partner", "updateType": "UPGRADE"}],
            }
            for i in range(51)
        ]
    }
    response = api.post(UPDATE, body)
    assert response.status_code == 201
    codes = {e["partnerProgramUpdates"][0]["updateStatus"]["code"] for e in response.json()["customersPartnerUpdates"]}
    assert codes == {2008}


def test_delink_shape_variants(server: Callable[..., Api]) -> None:
    api = server(variant="legacy-delink-shape")
    customer = api.linked_customer("Apparel-Partner")
    body = api.delink(customer, "Apparel-Partner").json()
    assert set(body) == {"deLinkCustomers", "warnings"}
    assert body["deLinkCustomers"][0]["deLinkFromPartnerPrograms"][0]["partnerDeLinkStatus"]["code"] == 200

    api = server(variant="delink-unknown-program-2004")
    status = api.delink(api.customer(), "Nope").json()["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]
    assert code_of(status["updateStatus"]) == 2004


def test_results_reordered_variant(server: Callable[..., Api]) -> None:
    api = server(variant="results-reordered")
    first, second = api.customer(), api.customer()
    response = api.post(
        LINK,
        {
            "linkCustomers": [
                {
                    "customer": c,
                    "linkToPartnerPrograms": [
                        {
                            "partnerProgramName": "Apparel-Partner",
                            "customerPartnerReference": {"partnerMembershipId": "M"},
                        },
                        {"partnerProgramName": "Nope"},
                    ],
                }
                for c in (first, second)
            ]
        },
    )
    entries = response.json()["linkCustomers"]
    assert [e["customer"]["mobile"] for e in entries] == [second["mobile"], first["mobile"]]
    assert [i["partnerProgramName"] for i in entries[0]["linkToPartnerPrograms"]] == ["Nope", "Apparel-Partner"]


def test_updatetype_case_and_malformed_variants(server: Callable[..., Api]) -> None:
    api = server(variant="updatetype-case-insensitive")
    customer = api.linked_customer("Apparel-Partner")
    assert code_of(api.update_status(customer, "Apparel-Partner", "upgrade", updatedTierName="Gold")) == 200
    assert api.linked(customer)[0]["partnerTierName"] == "Gold"

    api = server(variant="malformed-422")
    assert_envelope(api.client.post(DELINK, content=b"[", headers=api.headers), 422, 400)


def test_extra_fields_variant(server: Callable[..., Api]) -> None:
    api = server(variant="extra-fields")
    customer = api.customer()
    body = api.link(customer, "Apparel-Partner", partnerMembershipId="M").json()
    item = body["linkCustomers"][0]["linkToPartnerPrograms"][0]
    assert "referenceVariantNote" in body and "referenceVariantNote" in item
    assert "referenceVariantNote" in item["partnerLinkStatus"]
    assert "referenceVariantNote" in api.get("/v2/organization/programs").json()


def test_docs_list_every_fault_and_variant() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "fault-sweep.md").read_text(encoding="utf-8")
    for fault in FAULTS.values():
        assert f"| `{fault.name}` | {fault.kind} | {fault.requirement} |" in text, fault.name
    for variant in VARIANTS.values():
        assert f"| `{variant.name}` | {variant.ambiguity} |" in text, variant.name


def test_every_strict_stance_has_a_fault_of_the_other_reading_that_the_sweep_runs_strict() -> None:
    """Issue 25, item 2: a strict switch that does not bite is worse than none. For every register entry with a
    strict reading the registry holds a fault judged only under that stance (`Fault.strict` names the entry); a
    fault of the strict stance that takes a variant's reading names a variant of the same entry."""
    ambiguities = load_catalogue().ambiguities
    covered = {a for f in FAULTS.values() if f.strict for a in f.strict.split(",")}
    missing = sorted(a.id for a in ambiguities.values() if a.strict and a.id not in covered)
    assert not missing, f"register entries with a strict reading and no fault of the other reading: {missing}"
    for fault in FAULTS.values():
        if fault.reading:
            assert fault.reading in VARIANTS and fault.strict, fault
            assert VARIANTS[fault.reading].ambiguity in fault.strict.split(","), fault
        if fault.kind == "strict":
            assert fault.reading and fault.strict, fault
