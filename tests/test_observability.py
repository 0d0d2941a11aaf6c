"""The observability audit (issue 21, item 2): every (endpoint, class of wrong effect) pair the documents make
observable is seen by some scenario of a real run, and the matrix in docs/state-oracle.md is that run's.

The engine (`tools.observability`) is checked first on small traces whose data is uniform (blind) and then
distinguishing (seen), so the audit itself can fail; then on a run of the suite (fuzz off, about 10 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tools.observability import (
    CLASSES,
    DOC,
    ENDPOINTS,
    UNOBSERVABLE,
    Scenario,
    audit,
    load_traces,
    record,
    render_matrix,
    replace_matrix,
)

ORGS = {
    "org": {
        "timezone": "UTC",
        "relinking": True,
        "programs": [
            {"name": "Ext", "type": "EXTERNAL", "tiers": ["Bronze", "Silver", "Gold"]},
            {"name": "Sup", "type": "SUPPLEMENTARY", "tiers": ["Classic", "Premium"]},
            {"name": "Sup2", "type": "SUPPLEMENTARY", "tiers": []},
        ],
    }
}


def _link(tier: str, expiry: str = "2031-01-10", mid: str = "M-1", name: str = "Ext") -> dict[str, Any]:
    return {
        "partnerProgramName": name,
        "customerPartnerReference": {
            "partnerMembershipId": mid,
            "partnerTierName": tier,
            "partnerTierExpiryDate": expiry,
        },
    }


def _upgrade(tier: str, expiry: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"updatedTierName": tier}
    if expiry:
        details["updatedTierExpiryDate"] = expiry
    return {"partnerProgramName": "Ext", "updateType": "UPGRADE", "updateDetails": details}


def _write(
    endpoint: str,
    customers: list[int],
    items: list[list[dict[str, Any]]],
    codes: list[list[int]],
    judged: str = "success",
) -> dict[str, Any]:
    return {
        "op": "write",
        "org": "org",
        "endpoint": endpoint,
        "customers": customers,
        "items": items,
        "codes": codes,
        "judged": judged,
    }


def _customers(*ids: int) -> list[dict[str, Any]]:
    return [{"op": "customer", "org": "org", "customer": c, "enrolled": True, "unknown": []} for c in ids]


def _reads(*ids: int) -> list[dict[str, Any]]:
    return [{"op": "read", "org": "org", "customer": c} for c in ids]


def _cell(trace: list[dict[str, Any]], cls: str) -> str | None:
    return audit(ORGS, [Scenario("s", "f: s", trace)]).matrix[0][cls]


def test_a_link_at_the_lowest_tier_is_blind_to_a_target_storing_the_lowest_and_another_tier_sees_it() -> None:
    lowest = [*_customers(1), _write("linkCustomer", [1], [[_link("Bronze")]], [[200]]), *_reads(1)]
    assert _cell(lowest, "default-tier") is None  # nothing to get wrong: the lowest tier was sent
    middle = [*_customers(1), _write("linkCustomer", [1], [[_link("Silver")]], [[200]]), *_reads(1)]
    assert _cell(middle, "default-tier") == "seen"
    assert _cell(middle, "date-off-by-one") == "seen" and _cell(middle, "default-membership-id") == "seen"
    unread = [*_customers(1), _write("linkCustomer", [1], [[_link("Silver")]], [[200]])]
    assert _cell(unread, "default-tier") == "blind"  # nobody looks


def test_a_batch_with_the_same_update_for_every_customer_is_blind_to_a_rotation() -> None:
    link = _write("linkCustomer", [1, 2], [[_link("Bronze", mid="A")], [_link("Bronze", mid="B")]], [[200], [200]])
    same = _write("customerPartnerProgramUpdate", [1, 2], [[_upgrade("Gold")], [_upgrade("Gold")]], [[200], [200]])
    assert _cell([*_customers(1, 2), link, *_reads(1, 2), same, *_reads(1, 2)], "neighbour") == "seen"  # the link's
    uniform = [
        *_customers(1, 2),
        _write("linkCustomer", [1, 2], [[_link("Bronze", mid="A")], [_link("Bronze", mid="A")]], [[200], [200]]),
        same,
        *_reads(1, 2),
    ]
    assert _cell(uniform, "neighbour") == "blind"
    own = _write(
        "customerPartnerProgramUpdate",
        [1, 2],
        [[_upgrade("Silver", "2031-02-01")], [_upgrade("Gold", "2031-03-01")]],
        [[200], [200]],
    )
    assert _cell([*_customers(1, 2), link, own, *_reads(1, 2)], "neighbour") == "seen"


def test_an_overwritten_effect_is_seen_only_by_a_read_between_the_writes() -> None:
    link = _write("linkCustomer", [1], [[_link("Gold")]], [[200]])
    down = _write("customerPartnerProgramUpdate", [1], [[_upgrade("Bronze")]], [[200]])
    first_link = [*_customers(1), link, down, *_reads(1)]
    scenario = Scenario("s", "f: s", first_link)
    result = audit(ORGS, [scenario])
    assert result.matrix[0]["default-tier"] == "blind"  # the downgrade overwrites the wrong tier
    assert _cell([*_customers(1), link, *_reads(1), down, *_reads(1)], "default-tier") == "seen"


def test_a_constraint_that_does_not_lift_is_seen_by_the_write_it_refuses() -> None:
    link = _write("linkCustomer", [1], [[_link("Classic", name="Sup")]], [[200]])
    delink = _write("deLinkCustomer", [1], [[{"partnerProgramName": "Sup"}]], [[200]])
    other = _write(
        "linkCustomer",
        [1],
        [[{"partnerProgramName": "Sup2", "customerPartnerReference": {"partnerMembershipId": "X"}}]],
        [[200]],
    )
    assert _cell([*_customers(1), link, delink], "constraint-kept") == "blind"
    assert _cell([*_customers(1), link, delink, other], "constraint-kept") == "seen"


def test_a_partial_success_rolled_back_is_seen_only_when_the_state_is_read() -> None:
    partial = _write("linkCustomer", [1], [[_link("Premium", name="Sup"), _link("Nope")]], [[200, 2007]], "partial")
    assert _cell([*_customers(1), partial, *_reads(1)], "rolled-back") == "seen"
    assert _cell([*_customers(1), partial], "rolled-back") == "blind"
    assert _cell([*_customers(1), partial, *_reads(1)], "failed-stored") == "seen"


def test_an_event_holding_the_tier_from_before_the_update_is_seen_when_the_tier_changes() -> None:
    link = _write("linkCustomer", [1], [[_link("Bronze")]], [[200]])
    up = _write("customerPartnerProgramUpdate", [1], [[_upgrade("Gold")]], [[200]])
    event = {
        "op": "event",
        "org": "org",
        "write": 2,
        "event": "partnerProgramUpdated",
        "customer": 1,
        "program": "Ext",
        "present": True,
    }
    assert _cell([*_customers(1), link, up, event], "event-before") == "seen"
    renew = _write("customerPartnerProgramUpdate", [1], [[_upgrade("Bronze")]], [[200]])
    assert _cell([*_customers(1), link, renew, event], "event-before") == "blind"


def test_the_matrix_is_replaced_between_its_markers() -> None:
    text = "# doc\n\n<!-- observability-matrix:begin -->\nold\n<!-- observability-matrix:end -->\n\ntail\n"
    assert replace_matrix(text, "<!-- observability-matrix:begin -->\nnew\n<!-- observability-matrix:end -->") == (
        "# doc\n\n<!-- observability-matrix:begin -->\nnew\n<!-- observability-matrix:end -->\n\ntail\n"
    )


@pytest.mark.timeout(600)
def test_a_run_of_the_suite_sees_every_observable_pair_and_the_matrix_is_current(tmp_path: Path) -> None:
    proc = record(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    orgs, scenarios = load_traces(tmp_path / "traces")
    result = audit(orgs, scenarios)
    assert len(scenarios) >= 75 and result.writes >= 90
    blind = [f"{ep} {cls}: {CLASSES[cls]}" for ep, cls in result.blind_pairs()]
    assert not blind, "observable (endpoint, class) pairs no scenario sees:\n  " + "\n  ".join(blind)
    assert len(UNOBSERVABLE) + sum(1 for ep in ENDPOINTS for c in CLASSES if result.pairs.get((ep, c))) == len(
        ENDPOINTS
    ) * len(CLASSES)
    text = DOC.read_text(encoding="utf-8")
    assert replace_matrix(text, render_matrix(result)) == text, "run: python -m tools.observability --write-docs"
