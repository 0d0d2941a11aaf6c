"""The contract layer: one description per endpoint, one result matcher, one typed stance lookup.

- the wire keys and paths of the three endpoints are spelt out only in `contract/endpoints.py`
  (AST scan of the suite package and the steps, docstrings excepted);
- `match_results` (AMB-RESULT-ORDER) pairs results the same way for the scenarios' Judge and the fuzz
  checks: a reordered answer, a partial echo, ambiguous twins;
- `AmbiguityId` equals the register; stances are asked for by `AmbiguityId` only.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ppconformance.connection.client import Exchange
from ppconformance.connection.profile import DEFAULT_PROFILE, load_profile
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import DELINK, ENDPOINTS, LINK, UPDATE, by_path, default_paths
from ppconformance.contract.matching import CustomerMatch, ItemMatch, Sent, match_results
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId, Stances, unknown_ids
from ppconformance.fuzz import checks as fuzzchecks
from ppconformance.judge.verdicts import Action, Judge

ROOT = Path(__file__).resolve().parents[1]
WIRE = {
    value
    for e in ENDPOINTS.values()
    for value in (
        e.path,
        e.request_key,
        e.request_items_key,
        *(k for s in e.result_shapes for k in (s.results_key, s.programs_key, s.status_key)),
    )
}
ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "pw",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s",
}
OK = {"status": True, "code": 200, "message": "Success"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def wire_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every string constant that is a wire key or path, docstrings excepted."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in WIRE and id(n) not in skip
    ]


def test_wire_keys_and_paths_are_spelt_only_in_the_endpoint_descriptions():
    offenders = []
    for path in sorted([*(ROOT / "src" / "ppconformance").rglob("*.py"), *(ROOT / "steps").glob("*.py")]):
        if path.name == "endpoints.py":
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line}: {value!r}" for line, value in wire_literals(path.read_text())]
    assert not offenders, "use ppconformance.contract.endpoints:\n" + "\n".join(offenders)


def test_the_wire_key_scan_can_fail():
    assert wire_literals('"""linkCustomers in a docstring"""\nx = {"linkCustomers": []}\n') == [(2, "linkCustomers")]


def test_the_endpoint_descriptions_match_the_schemas_and_the_catalogue():
    schemas = ContractSchemas.load()
    endpoints_in_catalogue = {r.endpoint for r in load_catalogue().requirements.values()}
    for e in ENDPOINTS.values():
        assert e.name in endpoints_in_catalogue
        request = schemas.schema(e.request_schema)
        assert e.request_key in request["properties"], e.name
        assert by_path(e.path) is e
        assert e.source.split("#")[0] in load_catalogue().documents
    assert default_paths() == {e.name: e.path for e in (LINK, UPDATE, DELINK)}
    body = UPDATE.request_body([({"mobile": "1"}, [{"partnerProgramName": "P"}])])
    assert UPDATE.request_entries(body) == [({"mobile": "1"}, [{"partnerProgramName": "P"}])]
    assert UPDATE.request_entries({"other": 1}) == []


def _answer(*entries: tuple[dict[str, Any], list[str]]) -> dict[str, Any]:
    shape = LINK.result_shapes[0]
    return {
        shape.results_key: [
            {"customer": c, shape.programs_key: [{"partnerProgramName": n, shape.status_key: OK} for n in names]}
            for c, names in entries
        ]
    }


def _pairs(matching: Any) -> list[tuple[int, int, int] | str | None]:
    out: list[tuple[int, int, int] | str | None] = []
    for cm in matching.customers:
        if not isinstance(cm, CustomerMatch):
            out.append(cm)
            continue
        out += [(cm.index, im.index, 0) if isinstance(im, ItemMatch) else im for im in cm.items]
    return out


def test_lenient_matching_follows_echoed_identifiers_and_names_strict_follows_positions():
    sent = [
        Sent({"mobile": "1"}, [{"partnerProgramName": "A"}, {"partnerProgramName": "B"}]),
        Sent({"mobile": "2"}, []),
    ]
    answer = _answer(({"mobile": "2"}, []), ({"mobile": "1", "id": 7}, ["B", "A"]))
    assert _pairs(match_results(LINK, sent, answer, strict_order=False)) == [(1, 1, 0), (1, 0, 0)]
    strict = match_results(LINK, sent, answer, strict_order=True)
    assert isinstance(strict.customers[0], CustomerMatch) and strict.customers[0].index == 0


def test_a_conflicting_echo_is_not_a_match_and_no_echo_falls_back_to_the_position():
    sent = [Sent({"mobile": "1"}, [{"partnerProgramName": "A"}]), Sent({"mobile": "2"}, [{"partnerProgramName": "A"}])]
    answer = _answer(({}, ["A"]), ({"mobile": "1"}, ["A"]))
    m = match_results(LINK, sent, answer, strict_order=False)
    assert [c.index for c in m.customers if isinstance(c, CustomerMatch)] == [1, 0]


def test_different_twins_are_ambiguous_and_not_judged():
    sent = [
        Sent({"mobile": "1"}, [{"partnerProgramName": "A", "x": 1}, {"partnerProgramName": "A", "x": 2}]),
        Sent({"mobile": "1"}, []),
    ]
    m = match_results(LINK, sent, _answer(({"mobile": "1"}, ["A", "A"]), ({"mobile": "1"}, [])), strict_order=False)
    assert m.customers == ["ambiguous", "ambiguous"]
    assert match_results(LINK, sent, {"errors": [{"code": 1}]}, strict_order=False).shape is None


def _exchange(request: dict[str, Any], answer: dict[str, Any]) -> Exchange:
    return Exchange(
        "POST",
        "http://t/v2/partnerProgram/linkCustomer",
        {},
        request,
        200,
        {"content-type": "application/json"},
        json.dumps(answer),
        answer,
        0.0,
    )


def test_the_judge_and_the_fuzz_checks_pair_a_reordered_answer_alike():
    """One target, one stance, one verdict: the scenario's Judge and the fuzz checks read the same pairing."""
    request = LINK.request_body(
        [({"mobile": "1"}, [{"partnerProgramName": "A"}, {"partnerProgramName": "B"}]), ({"mobile": "2"}, [])]
    )
    answer = _answer(({"mobile": "2"}, []), ({"mobile": "1"}, ["B", "A"]))
    answer[LINK.result_shapes[0].results_key][1][LINK.result_shapes[0].programs_key][0]["partnerLinkStatus"] = {
        "status": False,
        "code": 2004,
        "message": "x",
    }
    for entry in answer[LINK.result_shapes[0].results_key]:
        entry["customer"]["status"] = {"status": True, "code": 1000, "message": "ok"}
    answer["warnings"] = []
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    judge = Judge(profile, ContractSchemas.load())
    action = Action(LINK, [{"mobile": "1"}, {"mobile": "2"}], [["A", "B"], []], _exchange(request, answer))
    judged = {(0, r.item["partnerProgramName"]): r.status["code"] for r in judge.results("LINK-SUCCESS", action)[0]}
    case = SimpleNamespace(body=request, method="POST", operation=SimpleNamespace(path=LINK.path))
    response = SimpleNamespace(content=json.dumps(answer).encode())
    fuzzed = {
        (i, item["partnerProgramName"]): status["code"]
        for i, _, _, item, status in fuzzchecks._pairs(LINK, case, response, fuzzchecks.Policy(profile.strict))
    }
    assert judged == fuzzed == {(0, "A"): 200, (0, "B"): 2004}


def test_stances_are_looked_up_by_typed_id_and_match_the_register():
    assert {a.value for a in AmbiguityId} == set(load_catalogue().ambiguities)
    assert Stances(frozenset({"AMB-RESULT-ORDER"})).strict(AmbiguityId.RESULT_ORDER)
    assert not Stances().strict(AmbiguityId.RESULT_ORDER)
    assert Stances(frozenset({"all"})).strict(AmbiguityId.EXTRA_FIELDS)
    with pytest.raises(TypeError):
        Stances().strict("AMB-RESULT-ORDER")  # type: ignore[arg-type]  # a plain string is refused
    assert unknown_ids({"all", "AMB-RESULT-ORDER", "AMB-TYPO"}) == {"AMB-TYPO"}
    with pytest.raises(ValueError, match="AMB-TYPO"):
        Stances.of(["AMB-TYPO"])


def test_the_event_validator_refuses_an_unknown_stance_id(tmp_path: Path):
    import subprocess
    import sys

    payload = tmp_path / "e.json"
    payload.write_text("{}", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ppconformance.contract.events",
            "validate",
            "--strict-ambiguity",
            "AMB-TYPO",
            str(payload),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "unknown ambiguity id(s) AMB-TYPO" in proc.stderr, proc.stderr


def test_an_ambiguous_entry_still_takes_its_result_so_the_next_entry_is_not_paired_with_it():
    """Found by a .ci/run's fuzz stage: two entries for one customer by id (ambiguous) and one by email. The
    email entry must be paired with its own result, not with the first result the ambiguous entry left free."""
    same = {"id": 3, "email": "e@x.invalid"}
    sent = [
        Sent({"id": 3}, [{"partnerProgramName": "A"}]),
        Sent({"email": "e@x.invalid"}, [{"partnerProgramName": "B"}]),
        Sent({"id": 3}, [{"partnerProgramName": "C"}]),
    ]
    m = match_results(LINK, sent, _answer((same, ["A"]), (same, ["B"]), (same, ["C"])), strict_order=False)
    assert m.customers[0] == "ambiguous" and m.customers[2] == "ambiguous"
    middle = m.customers[1]
    assert isinstance(middle, CustomerMatch) and middle.index == 1


def test_a_result_echoing_another_entry_is_foreign_and_its_codes_unreadable():
    from ppconformance.contract.matching import item_codes

    sent = [Sent({"mobile": "1"}, [{"partnerProgramName": "A"}]), Sent({"mobile": "2"}, [{"partnerProgramName": "A"}])]
    first_twice = _answer(({"mobile": "1"}, ["A"]), ({"mobile": "1", "id": 5}, ["A"]))
    m = match_results(LINK, sent, first_twice, strict_order=False)
    assert [c.foreign for c in m.customers if isinstance(c, CustomerMatch)] == [None, 0]
    assert item_codes(LINK, sent, 200, first_twice, strict_order=False) == [[200], [None]]
    reversed_ = _answer(({"mobile": "2"}, ["A"]), ({"mobile": "1"}, ["A"]))
    assert [c.foreign for c in match_results(LINK, sent, reversed_, strict_order=True).customers] == [1, 0]
    assert [c.foreign for c in match_results(LINK, sent, reversed_, strict_order=False).customers] == [None, None]
    mixed = [Sent({"mobile": "1", "email": "b"}, []), Sent({"email": "a"}, [])]  # an entry naming two customers
    echo = _answer(({"mobile": "1", "email": "a"}, []), ({"email": "a"}, []))
    assert [c.foreign for c in match_results(LINK, mixed, echo, strict_order=False).customers] == [None, None]
