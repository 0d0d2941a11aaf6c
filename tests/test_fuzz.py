"""Self-tests of the fuzz stage: the OpenAPI spec, the custom checks, and runs against faulted servers.

- schemas/openapi.yaml passes openapi-spec-validator, $refs only the contract schemas (no copies), and
  every doc sample (tests/fixtures/doc-samples) of a message kind the spec carries validates through the spec's $ref.
- each check of `ppconformance.fuzz.checks` passes a conforming hand-built answer and fails a bad one.
- `pytest steps -m fuzz` against the reference server with fault null-item-500 (a 500 on a malformed item)
  and ident-missing-succeeds (an item without identifiers succeeds) exits 1 naming the requirement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from ppconformance.connection.profile import load_profile
from ppconformance.contract import endpoints
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.fuzz import checks as fuzzchecks
from ppconformance.fuzz.checks import FuzzFinding
from ppconformance.fuzz.generation import SPEC, Deepener

from .doc_samples import load_samples
from .refserver import start_reference_server
from .test_suite_runs import ROOT, SECRETS

LINK = "/v2/partnerProgram/linkCustomer"
UPDATE = "/v2/partnerProgram/customerPartnerProgramUpdate"
DELINK = "/v2/partnerProgram/deLinkCustomer"


# -- the spec ---------------------------------------------------------------------------------------
def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_spec_is_valid_openapi_31() -> None:
    spec, base_uri = read_from_filename(str(SPEC))
    assert spec["openapi"].startswith("3.1")
    validate(spec, base_uri=base_uri)


def test_spec_bodies_ref_the_contract_schemas() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    external = {r.split("#")[0] for r in _refs(spec) if not r.startswith("#")}
    assert external, "the spec $refs no contract schema"
    for ref in external:
        assert (SPEC.parent / ref).is_file(), ref
    assert not any(
        "properties" in json.dumps(op.get("requestBody", {})) for path in spec["paths"].values() for op in path.values()
    ), "a request body is copied into the spec instead of $ref'd"


def _spec_kinds() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {Path(r.split("#")[0]).name.removesuffix(".schema.json") for r in _refs(spec) if not r.startswith("#")}


def test_doc_samples_validate_through_the_spec() -> None:
    schemas = ContractSchemas.load()
    kinds = _spec_kinds()
    checked = 0
    for sample in load_samples():  # the committed doc-sample fixtures (event payloads have no spec kind)
        if sample.kind not in kinds:
            continue
        # through the spec: resolve the spec's $ref target by file name, validate with the shared registry
        sid = schemas.schema(sample.kind)["$id"]
        errors = list(Draft202012Validator({"$ref": sid}, registry=schemas.registry).iter_errors(sample.body))
        assert not errors, f"{sample.label}: {errors[0].message}"
        checked += 1
    assert checked >= 5, f"only {checked} doc samples reach the spec's schemas"
    assert {
        "link-customer.request",
        "link-customer.response",
        "update-partner-program.request",
        "delink-customer.request",
    } <= kinds


def test_spec_loads_in_schemathesis_with_the_three_operations() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_path(str(SPEC)).include(path_regex="^/v2/partnerProgram/")
    labels = sorted(op.ok().label for op in schema.get_all_operations())  # type: ignore[union-attr]  # Err fails
    assert labels == sorted([f"POST {DELINK}", f"POST {UPDATE}", f"POST {LINK}"])


# -- the checks on hand-built answers ------------------------------------------------------------------
def _case(path: str, body: Any, method: str = "POST") -> Any:
    return SimpleNamespace(method=method, body=body, operation=SimpleNamespace(path=path))


def _response(body: Any, status: int = 200) -> Any:
    return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def _link_body(*entries: tuple[dict[str, Any], list[dict[str, Any]]]) -> dict[str, Any]:
    return {"linkCustomers": [{"customer": c, "linkToPartnerPrograms": items} for c, items in entries]}


def _link_answer(*entries: tuple[dict[str, Any], list[tuple[str, int]]]) -> dict[str, Any]:
    return {
        "linkCustomers": [
            {
                "customer": {**c, "status": {"status": True, "code": 1000, "message": ""}},
                "linkToPartnerPrograms": [
                    {"partnerProgramName": n, "partnerLinkStatus": {"status": code == 200, "code": code, "message": ""}}
                    for n, code in items
                ],
            }
            for c, items in entries
        ],
        "warnings": [],
    }


def test_batch_results_per_item() -> None:
    case = _case(LINK, _link_body(({"mobile": "1"}, [{"partnerProgramName": "A"}, {"partnerProgramName": "B"}])))
    fuzzchecks.batch_results_per_item(None, _response(_link_answer(({"mobile": "1"}, [("A", 200), ("B", 2006)]))), case)
    with pytest.raises(FuzzFinding, match="RESULT-ORDER"):
        fuzzchecks.batch_results_per_item(None, _response(_link_answer(({"mobile": "1"}, [("A", 200)]))), case)
    with pytest.raises(FuzzFinding, match="RESULT-ORDER"):
        fuzzchecks.batch_results_per_item(None, _response(_link_answer()), case)
    swapped = _response(_link_answer(({"mobile": "1"}, [("B", 2006), ("A", 200)])))
    fuzzchecks.batch_results_per_item(None, swapped, case)  # order is judged only when strict
    with pytest.raises(FuzzFinding, match="request order"):
        fuzzchecks.batch_results_per_item(None, swapped, case, fuzzchecks.Policy(frozenset({"AMB-RESULT-ORDER"})))


def test_identifierless_never_succeeds() -> None:
    case = _case(LINK, _link_body(({"mobile": ""}, [{"partnerProgramName": "A"}])))
    fuzzchecks.identifierless_never_succeeds(None, _response(_link_answer(({}, [("A", 8013)]))), case)
    with pytest.raises(FuzzFinding, match="IDENT-MISSING"):
        fuzzchecks.identifierless_never_succeeds(None, _response(_link_answer(({}, [("A", 200)]))), case)
    ok = _case(LINK, _link_body(({"id": 5}, [{"partnerProgramName": "A"}])))
    fuzzchecks.identifierless_never_succeeds(None, _response(_link_answer(({"id": 5}, [("A", 200)]))), ok)


def test_results_in_another_order_are_matched_by_identifiers_and_names() -> None:
    body = _link_body(
        ({"mobile": "1"}, [{"partnerProgramName": "A"}, {"partnerProgramName": ""}]),
        ({"email": ""}, [{"partnerProgramName": "A"}]),
    )
    case = _case(LINK, body)
    reordered = _response(_link_answer(({}, [("A", 8013)]), ({"mobile": "1", "id": 3}, [("", 2002), ("A", 200)])))
    for check in (
        fuzzchecks.identifierless_never_succeeds,
        fuzzchecks.nameless_item_never_succeeds,
        fuzzchecks.batch_results_per_item,
    ):
        check(None, reordered, case)  # AMB-RESULT-ORDER default: any order
    wrong = _response(_link_answer(({}, [("A", 200)]), ({"mobile": "1", "id": 3}, [("", 2002), ("A", 200)])))
    with pytest.raises(FuzzFinding, match="IDENT-MISSING"):
        fuzzchecks.identifierless_never_succeeds(None, wrong, case)


def test_nameless_item_never_succeeds() -> None:
    for item in ({}, {"partnerProgramName": ""}, {"partnerProgramName": None}):
        case = _case(DELINK, {"deLinkCustomers": [{"customer": {"mobile": "1"}, "deLinkFromPartnerPrograms": [item]}]})
        bad: dict[str, Any] = {
            "customersPartnerUpdates": [
                {
                    "customer": {"mobile": "1", "status": {"code": 1000, "status": True}},
                    "partnerProgramUpdates": [
                        {"partnerProgramName": "", "updateStatus": {"code": 200, "status": True}}
                    ],
                }
            ]
        }
        with pytest.raises(FuzzFinding, match="FUZZ-ITEM-NAME"):
            fuzzchecks.nameless_item_never_succeeds(None, _response(bad), case)
        bad["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateStatus"]["code"] = 2002
        fuzzchecks.nameless_item_never_succeeds(None, _response(bad), case)


def test_item_codes_listed_notes_by_default_and_fails_when_strict() -> None:
    case = _case(LINK, _link_body(({"mobile": "1"}, [{"partnerProgramName": "A"}])))
    listed = _response(_link_answer(({"mobile": "1"}, [("A", 2006)])))
    odd = _response(_link_answer(({"mobile": "1"}, [("A", 4242)])))
    default = fuzzchecks.Policy()
    fuzzchecks.item_codes_listed(None, listed, case, default)
    fuzzchecks.item_codes_listed(None, odd, case, default)
    assert any("4242" in n for n in default.notes)
    strict = fuzzchecks.Policy(frozenset({"AMB-UNLISTED-ITEM-CODE"}))
    fuzzchecks.item_codes_listed(None, listed, case, strict)
    with pytest.raises(FuzzFinding, match="FUZZ-ITEM-CODES"):
        fuzzchecks.item_codes_listed(None, odd, case, strict)


def test_invalid_item_never_succeeds() -> None:
    body = _link_body(({"mobile": "1"}, [{"partnerProgramName": "A"}, {"partnerProgramName": 7}]))
    case = _case(LINK, body)
    fuzzchecks.invalid_item_never_succeeds(
        None, _response(_link_answer(({"mobile": "1"}, [("A", 200), ("7", 400)])), 201), case
    )
    with pytest.raises(FuzzFinding, match="FUZZ-INVALID-ITEM"):
        fuzzchecks.invalid_item_never_succeeds(
            None, _response(_link_answer(({"mobile": "1"}, [("A", 200), ("7", 200)]))), case
        )
    too_many = _case(LINK, _link_body(*[({"mobile": str(i)}, [{"partnerProgramName": "A"}]) for i in range(51)]))
    with pytest.raises(FuzzFinding, match="top level"):
        fuzzchecks.invalid_item_never_succeeds(None, _response(_link_answer(({"mobile": "0"}, [("A", 200)]))), too_many)


def test_an_item_whose_only_fault_is_a_null_optional_member_is_judged_only_when_strict() -> None:
    """A seed found it: a target reading `updatedTierExpiryDate: null` as not given (AMB-NULL-AS-ABSENT) applies
    the update; by default FUZZ-INVALID-ITEM does not fail that, strict AMB-NULL-AS-ABSENT does."""
    details: dict[str, Any] = {"updatedTierName": "Gold", "updatedTierExpiryDate": None}
    item = {"partnerProgramName": "A", "updateType": "UPGRADE", "updateDetails": details}
    body = {"customersPartnerUpdates": [{"customer": {"id": 1}, "partnerProgramUpdates": [item]}]}
    answer = {
        "customersPartnerUpdates": [
            {
                "customer": {"id": 1, "status": {"status": True, "code": 1000, "message": "ok"}},
                "partnerProgramUpdates": [
                    {
                        "partnerProgramName": "A",
                        "updateType": "UPGRADE",
                        "updateStatus": {"status": True, "code": 200, "message": "Success"},
                    }
                ],
            }
        ],
        "warnings": [],
    }
    fuzzchecks.invalid_item_never_succeeds(None, _response(answer), _case(UPDATE, body))
    with pytest.raises(FuzzFinding, match="FUZZ-INVALID-ITEM.*None is not of type 'string'"):
        fuzzchecks.invalid_item_never_succeeds(
            None, _response(answer), _case(UPDATE, body), fuzzchecks.Policy(frozenset({"AMB-NULL-AS-ABSENT"}))
        )


def test_valid_body_not_refused() -> None:
    case = _case(LINK, _link_body(({"mobile": "1"}, [{"partnerProgramName": "A"}])))
    envelope = {"warnings": [], "errors": [{"status": False, "code": 400, "message": "no"}]}
    with pytest.raises(FuzzFinding, match="FUZZ-VALID-BODY"):
        fuzzchecks.valid_body_not_refused(None, _response(envelope, 400), case)
    fuzzchecks.valid_body_not_refused(None, _response(_link_answer(({"mobile": "1"}, [("A", 2006)])), 400), case)
    invalid = _case(LINK, _link_body(({"mobile": 1}, [{"partnerProgramName": "A"}])))
    fuzzchecks.valid_body_not_refused(None, _response(envelope, 400), invalid)
    other_method = _case(LINK, case.body, method="TRACE")
    fuzzchecks.valid_body_not_refused(None, _response(envelope, 405), other_method)


def test_deepener_never_sends_a_foreign_identifier() -> None:
    import random

    env = {
        **SECRETS,
        "PP_EMBEDDED_ENABLED_PASSWORD": "x",
        "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k",
        "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s",
    }
    profile = load_profile(ROOT / "profiles" / "embedded.yaml", env=env)
    deepener = Deepener(profile.orgs[0], [], profile)
    body = _link_body(
        ({"id": 1, "mobile": "5550001", "email": "a@b.c", "externalId": "X"}, [{"partnerProgramName": "x"}])
    )
    for seed in range(30):
        out = deepener.rewrite(endpoints.LINK, body, random.Random(seed))["linkCustomers"][0]["customer"]
        assert out.get("id", -1) < 0
        assert out.get("mobile", profile.mobile_prefix).startswith(profile.mobile_prefix)
        assert out.get("email", "@" + profile.email_domain).endswith("@" + profile.email_domain)
        assert out.get("externalId", "ppc-fuzz-").startswith("ppc-fuzz-")


# -- the stage against faulted servers -------------------------------------------------------------------
def _fuzz_run(tmp_path: Path, fault: str) -> tuple[int, str, set[str]]:
    base_url, stop = start_reference_server("--fault", fault)
    reports = tmp_path / "reports"
    try:
        env = {
            k: v
            for k, v in __import__("os").environ.items()
            if k not in ("PYTEST_BASE_URL", "PP_RUN_ID", "PP_FUZZ", "PP_FUZZ_SEED", "PYTEST_ADDOPTS")
        }
        env.update(SECRETS)
        env["PP__JOURNAL_DIR"] = str(tmp_path / "journal")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "steps",
                "-m",
                "fuzz",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--base-url={base_url}",
                f"--reports-dir={reports}",
                "--fuzz-seed=7",
                f"--alluredir={reports / 'allure-results'}",
                f"--junitxml={reports / 'junit.xml'}",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    finally:
        stop()
    stories = set()
    for path in (reports / "allure-results").glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("status") in ("failed", "broken"):
            stories |= {lb["value"] for lb in result.get("labels", []) if lb.get("name") == "story"}
    return proc.returncode, proc.stdout + proc.stderr, stories


@pytest.mark.selftest_slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("fault", "requirement", "check"),
    [
        ("null-item-500", "FUZZ-NO-SERVER-ERROR", "no_server_error"),
        ("ident-missing-succeeds", "IDENT-MISSING", "identifierless_never_succeeds"),
    ],
)
def test_fuzz_stage_fails_a_faulted_server(tmp_path: Path, fault: str, requirement: str, check: str) -> None:
    code, out, stories = _fuzz_run(tmp_path, fault)
    assert code == 1, out[-3000:]
    assert requirement in out and check in out, out[-3000:]
    assert requirement in stories, stories
    for secret in SECRETS.values():
        assert secret not in out


def test_fuzz_budget_from_profile_environment_and_command_line() -> None:
    from ppconformance.fuzz.generation import effective_settings

    env = {
        "PP_EMBEDDED_ENABLED_PASSWORD": "x",
        "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k",
        "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s",
    }
    fast = load_profile(ROOT / "profiles" / "embedded.yaml", env=env)
    assert (fast.fuzz.mode, fast.fuzz.examples(), fast.fuzz.budget()) == ("fast", 20, 30.0)
    deep = load_profile(
        ROOT / "profiles" / "embedded.yaml", env={**env, "PP__FUZZ__MODE": "deep", "PP__FUZZ__SEED": "9"}
    )
    assert (deep.fuzz.examples(), deep.fuzz.budget(), deep.fuzz.seed) == (400, 900.0, 9)
    tuned = load_profile(ROOT / "profiles" / "embedded.yaml", env={**env, "PP__FUZZ__MAX_EXAMPLES": "7"})
    assert tuned.fuzz.examples() == 7
    assert effective_settings(deep, "off", 3).mode == "off" and effective_settings(deep, None, 3).seed == 3
    assert effective_settings(fast).seed is not None  # drawn, so it can be printed and attached
    with pytest.raises(Exception, match="fuzz"):
        load_profile(ROOT / "profiles" / "embedded.yaml", env={**env, "PP__FUZZ__MODE": "forever"})


def test_journal_case_ignores_generated_names_that_are_not_strings() -> None:
    """A generated partnerProgramName may be an object or a list (unhashable): it is no declared program, so
    the case is sent without a journal entry for it, and the declared names beside it are still journaled."""
    from ppconformance.connection.profile import DEFAULT_PROFILE, FuzzSettings, load_profile
    from ppconformance.fuzz.generation import FuzzTarget, SuiteCustomer

    env = {"PP_EMBEDDED_ENABLED_PASSWORD": "x", "PP_EMBEDDED_DISABLED_OAUTH_KEY": "k"}
    org = load_profile(DEFAULT_PROFILE, env={**env, "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "s"}).orgs[0]
    declared = next(iter(org.programs.values())).name
    journaled: list[tuple[int, list[str]]] = []
    customer = SuiteCustomer(id=5, mobile="919900000005", email="a@b.invalid", external_id="e5")
    target = FuzzTarget(
        "http://t", org, [customer], {}, lambda c, names: journaled.append((c.id, names)), FuzzSettings(seed=1), []
    )
    items = [{"partnerProgramName": {"x": 1}}, {"partnerProgramName": ["y"]}, {"partnerProgramName": declared}]
    target.journal_case(endpoints.LINK, {"linkCustomers": [{"customer": {"id": 5}, "linkToPartnerPrograms": items}]})
    assert journaled == [(5, [declared])]


def test_a_finding_does_not_end_the_stage_every_finding_is_reported(tmp_path: Path) -> None:
    """Hypothesis stops generating once an example raises; the stage records findings instead and fails the
    test after its last example with all of them (ppconformance.fuzz.plugin), so a false finding cannot hide
    a real one found later in the budget."""
    (tmp_path / "test_stage.py").write_text(
        "from hypothesis import given, settings, strategies as st, Phase\n"
        "from ppconformance.fuzz.plugin import StageFinding, record_finding\n"
        "SEEN = []\n"
        "@settings(max_examples=30, phases=[Phase.generate], database=None)\n"
        "@given(st.integers(0, 10**6))\n"
        "def test_cases(request, x):\n"
        "    SEEN.append(x)\n"
        "    if len(SEEN) == 1:\n"
        "        finding = StageFinding(['FUZZ-VALID-BODY'], 'a false one, first')\n"
        "        record_finding(request.config, request.node.nodeid, finding)\n"
        "    if len(SEEN) == 20:\n"
        "        finding = StageFinding(['FUZZ-NO-SERVER-ERROR'], 'a real one, later')\n"
        "        record_finding(request.config, request.node.nodeid, finding)\n"
        "def test_all_examples_ran():\n"
        "    assert len(SEEN) >= 20\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "test_stage.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "1 failed, 1 passed" in out, out[-3000:]
    assert "2 fuzz finding(s)" in out and "[FUZZ-VALID-BODY]" in out and "[FUZZ-NO-SERVER-ERROR]" in out, out[-3000:]


def test_each_generated_test_of_the_stage_has_its_own_node_id():
    """Schemathesis names the body tests `test_fuzz_bodies[POST /v2/...]`, but under pytest 9's structured node ids
    they shared the function's id; `fuzz.plugin.pytest_itemcollected` gives each its own (issue 22, item 7)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "fuzz", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ids = [line for line in proc.stdout.splitlines() if line.startswith("steps/test_fuzz.py::")]
    assert len(ids) == 4 and len(set(ids)) == 4, proc.stdout[-2000:]
    assert sum("test_fuzz_bodies[POST /v2/partnerProgram/" in i for i in ids) == 3, ids
