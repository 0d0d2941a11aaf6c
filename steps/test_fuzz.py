"""The fuzz stage: schemathesis-generated request bodies against the run's target (marker `fuzz`).

Runs inside the normal pytest run, against the same target, profile and credentials as the
scenarios (auth headers come from `PartnerProgramClient.auth_headers`). The spec is
schemas/openapi.yaml; only the three Partner Program operations are fuzzed. Checks: schemathesis'
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance, plus the batch-aware checks of `ppconformance.fuzz.checks` (which
replace negative_data_rejection and positive_data_acceptance, adapted to item-level answers).

Generation reaches deep paths: `ppconformance.fuzz.deepen.Deepener` rewrites a share of customers,
program names, tiers, dates and updateTypes into the profile's real ones and suite-provisioned
customers (schemathesis `flatmap_body` hook), and makes every other identifier a fresh one no
real customer has. Every link a case can create is journaled before it is sent and undone at the
end of the module (`World.cleanup`), so fuzzing a staging org leaves no links behind.

The stateful phase (`test_fuzz_lifecycle`) is a hypothesis-driven sequence test, not a schemathesis
state machine: for a fresh suite customer it draws link, update and delink cases from schemathesis'
strategies for the three operations, points them at a real program, and sends link -> update ->
delink, and on an org with relinking enabled link -> future-dated relink -> MEMBERSHIP_RELINKING_CANCELLED
-> delink; every answer goes through the same checks, and each step's item must succeed.

Budget: profile `fuzz` / `--fuzz` / `--fuzz-seed` (docs/fuzzing.md). A read-only run skips the stage
(the write guard of `plugin`); `--fuzz=off` skips it too.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import allure
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as builtin

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import DELINK, LINK, PROGRAM_NAME_KEY, UPDATE, Endpoint, by_path
from ppconformance.fuzz import checks as fuzzchecks
from ppconformance.fuzz.deepen import SPEC, Deepener, FuzzTarget, SuiteCustomer, redacted_curl
from ppconformance.fuzz.plugin import SUMMARY_LINES, StageFinding, current_settings, record_finding
from ppconformance.plugin import runcontext
from ppconformance.run.world import World
from ppconformance.target.client import TargetBroken, TargetUnreachable
from ppconformance.target.dates import days_from_today
from ppconformance.target.profile import DEFAULT_PATHS, Profile

pytestmark = pytest.mark.fuzz

# schemathesis' not_a_server_error and response_schema_conformance are replaced by the suite's no_server_error
# (501 is a fitting answer to an undefined method) and response_conforms (null members count as absent,
# AMB-NULL-AS-ABSENT): the built-ins would fail conforming targets for what the documents leave open
_BUILTIN = [
    builtin.status_code_conformance,
    builtin.content_type_conformance,
]
CHECKS = _BUILTIN + list(fuzzchecks.CHECKS)
_REQUIREMENT_OF_BUILTIN = {
    "status_code_conformance": "FUZZ-RESPONSE-CONFORMS",
    "content_type_conformance": "FUZZ-RESPONSE-CONFORMS",
}
_ATTACHED: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_target(profile: Profile, pytestconfig: pytest.Config, journal: Any) -> Any:
    """The stage's target: 3 suite-provisioned customers of the profile's first org, auth headers, budget.
    At teardown every journaled link is undone and the stage's figures are printed."""
    settings = current_settings()
    if settings.mode == "off":
        pytest.skip(f"fuzz stage off (profile {profile.name}: fuzz.mode off)")
    if profile.paths != DEFAULT_PATHS:
        pytest.skip(
            f"profile {profile.name} overrides paths {profile.paths}; schemas/openapi.yaml describes the "
            "documented ones"
        )
    run = runcontext.require(pytestconfig)
    base_url = run.base_url
    world = World(profile=profile, base_url=base_url, run_id=run.run_id, journal=journal)
    org = world.use_org()
    customers = []
    for _ in range(3):
        c = world.register_customer()
        customers.append(SuiteCustomer(id=int(c.id or 0), mobile=c.mobile, email=c.email, external_id=c.external_id))
    client = world.client
    supplementary = {p.name for p in org.programs.values() if p.membership_period}

    def journal_link(suite: SuiteCustomer, names: list[str]) -> None:
        world.provisioner.entries += journal.record(
            org.name, {"id": suite.id, "mobile": suite.mobile}, [(n, n in supplementary) for n in names]
        )

    target = FuzzTarget(
        base_url=base_url,
        org=org,
        customers=customers,
        auth_headers=client.auth_headers,
        journal_link=journal_link,
        settings=settings,
        secrets=client.secrets,
    )
    target.world = world  # type: ignore[attr-defined]
    fuzzchecks.configure(profile.strict)
    _DEEPENER.append(Deepener(org, customers, profile))
    started = time.monotonic()
    yield target
    line = (
        f"fuzz stage: mode {settings.mode}, seed {settings.seed}, {target.sent} cases sent in "
        f"{time.monotonic() - started:.1f} s, {target.skipped} left unsent (time budget "
        f"{settings.budget():.0f} s), {len(fuzzchecks.policy().notes)} notes"
    )
    SUMMARY_LINES.append(line)  # printed in the terminal summary (fuzz.plugin)
    notes = fuzzchecks.policy().notes
    if notes:
        allure.attach(
            "\n".join(notes[:200]), name="fuzz notes (default stances)", attachment_type=allure.attachment_type.TEXT
        )
    world.cleanup()
    client.close()


_SETTINGS = current_settings()
assert _SETTINGS.seed is not None, "current_settings() always settles a seed"
schema = schemathesis.openapi.from_path(str(SPEC)).include(path_regex="^/v2/partnerProgram/")
schema.config.seed = _SETTINGS.seed
# fast mode does not shrink a finding (shrinking regenerates bodies for minutes); deep mode does
schema.config.generation.update(
    max_examples=_SETTINGS.examples(),
    database="none",
    with_security_parameters=False,
    no_shrink=_SETTINGS.mode != "deep",
)
_DEEPENER: list[Deepener] = []  # filled by the fuzz_target fixture before any case is generated


@schema.hook
def flatmap_body(ctx: Any, body: Any) -> Any:
    """Deep generation: rewrite the body over the profile's programs and the suite's customers."""
    found = by_path(ctx.operation.path) if ctx.operation else None
    endpoint = found.name if found else None
    if endpoint is None or not _DEEPENER:
        return st.just(body)
    deepener = _DEEPENER[-1]
    return st.randoms(use_true_random=False).map(lambda rnd: deepener.rewrite(endpoint, body, rnd))


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_target: FuzzTarget) -> Any:
    """schemas/openapi.yaml restricted to the Partner Program operations, with this run's budget and seed."""
    return schema


def _send(case: Any, target: FuzzTarget, timeout: float) -> tuple[Any, dict[str, str]]:
    """Send `case`; transport failures are errors of the run (TargetError), not findings."""
    headers = dict(target.auth_headers())
    target.journal_case(target.endpoint(case.operation.path) or "", case.body)
    try:
        response = case.call(base_url=target.base_url, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise TargetUnreachable(f"{case.method} {case.path}: no answer within {timeout} s") from None
    except requests.RequestException as exc:
        raise TargetUnreachable(f"{case.method} {case.path}: {type(exc).__name__}") from None
    target.sent += 1
    if response.status_code == 401:
        raise TargetBroken(f"{case.method} {case.path}: HTTP 401 to the profile's own credentials during fuzzing")
    return response, headers


def _judge(case: Any, response: Any, headers: dict[str, str], target: FuzzTarget) -> None:
    """Run every check; a finding is re-raised as an AssertionError labelled with its requirement(s), with
    the redacted curl reproduction and the seed attached to the allure result."""
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        requirements, names = [], []
        for failure in group.exceptions:
            text = str(failure)
            req = next((r for r in load_catalogue().requirements if f"[{r}]" in text), None)
            check = next((c for c in _REQUIREMENT_OF_BUILTIN if c in type(failure).__name__.lower() or c in text), None)
            req = req or _REQUIREMENT_OF_BUILTIN.get(check or "", "FUZZ-RESPONSE-CONFORMS")
            if req == "FUZZ-RESPONSE-CONFORMS" and ("server error" in text.lower() or response.status_code >= 500):
                req = "FUZZ-NO-SERVER-ERROR"
            requirements.append(req)
            names.append(getattr(failure, "title", type(failure).__name__))
        curl = redacted_curl(case, headers, target.base_url, target.secrets)
        seed = target.settings.seed
        for req in dict.fromkeys(requirements):
            allure.dynamic.story(req)
        key = ",".join(sorted(set(requirements)))
        if _ATTACHED[key] < 3:
            _ATTACHED[key] += 1
            allure.attach(
                f"{curl}\n\n# seed: --fuzz-seed {seed}\n# answer: HTTP {response.status_code}\n"
                f"{target.redact(response.text[:4000])}",
                name=f"fuzz finding {key}: reproduction",
                attachment_type=allure.attachment_type.TEXT,
            )
        message = target.redact(str(group))
        raise StageFinding(
            sorted(set(requirements)),
            f"fuzz findings {sorted(set(requirements))} ({'; '.join(names)}); seed {seed}\n{message}\n"
            f"Reproduce: {curl}",
        ) from None


def _judges(*ids: str) -> Any:
    """Tag a fuzz test with the catalogue requirements it judges (registered markers: `pytest -m FUZZ-LIFECYCLE`
    selects it, and the conformance report counts its outcome for them)."""

    def tag(func: Any) -> Any:
        for rid in ids:
            func = getattr(pytest.mark, rid)(func)
        return func

    return tag


@schema.parametrize()
@_judges(
    "FUZZ-NO-SERVER-ERROR",
    "FUZZ-RESPONSE-CONFORMS",
    "FUZZ-ITEM-NAME",
    "FUZZ-ITEM-CODES",
    "FUZZ-INVALID-ITEM",
    "FUZZ-VALID-BODY",
)
@pytest.mark.timeout(int(_SETTINGS.budget()) + 300)  # the budget stops sending; shrinking a finding may add
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck), database=None)
def test_fuzz_bodies(case: Any, fuzz_target: FuzzTarget, profile: Profile, request: pytest.FixtureRequest) -> None:
    """Generated linkCustomer / customerPartnerProgramUpdate / deLinkCustomer bodies, every answer checked; the
    findings are collected over the whole budget and fail the test after its last example (fuzz.plugin)."""
    allure.dynamic.feature("Fuzzing")
    allure.dynamic.epic("Partner Program API")
    fuzz_target.start()
    if fuzz_target.over_budget():
        fuzz_target.skipped += 1
        return
    response, headers = _send(case, fuzz_target, profile.timeout_seconds)
    try:
        _judge(case, response, headers, fuzz_target)
    except StageFinding as finding:
        record_finding(request.node.nodeid, finding)  # keep generating: one finding must not hide another


def _lifecycle_case(schema: Any, path: str, body: dict[str, Any]) -> Any:
    return schema[path]["POST"].Case(body=body, media_type="application/json")


def _item_code(response: Any, ep: Endpoint) -> Any:
    """The first item's status code of an answer of `ep`, in whichever of its result shapes, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    shape = ep.result_shape_of(body)
    try:
        return body[shape.results_key][0][shape.programs_key][0][shape.status_key]["code"] if shape else None
    except (KeyError, IndexError, TypeError):
        return None


@pytest.mark.parametrize("flow", ["link-update-delink", "relink-cancel"])
@_judges("FUZZ-LIFECYCLE")
@pytest.mark.timeout(int(_SETTINGS.budget()) + 300)
def test_fuzz_lifecycle(flow: str, fuzz_target: FuzzTarget, fuzz_schema: Any, profile: Profile) -> None:
    """Stateful phase (a hypothesis-driven sequence of schemathesis cases, see the module docstring)."""
    allure.dynamic.feature("Fuzzing")
    allure.dynamic.epic("Partner Program API")
    allure.dynamic.title(f"fuzz lifecycle: {flow}")
    world: World = fuzz_target.world  # type: ignore[attr-defined]
    org = fuzz_target.org
    role = "supplementary" if flow == "relink-cancel" else "external"
    program = org.programs.get(role)
    if program is None:
        pytest.skip(f"profile {profile.name} does not declare orgs[{org.name}].programs.{role}")
    if flow == "relink-cancel" and not org.allow_membership_relinking:
        pytest.skip(f"org {org.name} has membership relinking disabled")
    deepener = Deepener(org, [], profile)
    link_op = fuzz_schema[LINK.path]["POST"]
    examples = max(2, min(10, fuzz_target.settings.examples() // 10))

    # no shrinking: each example provisions a new customer, so a replay is never the same run
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.seed(fuzz_target.settings.seed or 0)
    @hypothesis.given(link=link_op.as_strategy(), data=st.data())
    def sequence(link: Any, data: Any) -> None:
        # every draw first (generation must not depend on the clock); bounded by `examples`, not the budget
        seed = data.draw(st.integers(0, 2**31), label="rnd")
        update_type = data.draw(st.sampled_from(["UPGRADE", "DOWNGRADE", "RENEW"]), label="updateType")
        days = data.draw(st.integers(1, 60), label="relink in days")
        c = world.register_customer()
        suite = SuiteCustomer(id=int(c.id or 0), mobile=c.mobile, email=c.email, external_id=c.external_id)
        fuzz_target.journal_link(suite, [program.name])  # before the first link is sent
        rnd = random.Random(seed)
        ref = {"partnerMembershipId": f"M-fuzz-{rnd.randrange(10**6):06d}"}
        if program.tiers:
            ref["partnerTierName"] = rnd.choice(program.tiers)
        drawn = deepener.rewrite("linkCustomer", link.body, rnd)
        item = {
            **(next(iter(LINK.request_entries(drawn)[0][1]), {}) if LINK.request_entries(drawn) else {}),
            PROGRAM_NAME_KEY: program.name,
            "customerPartnerReference": ref,
        }
        ident = {"id": suite.id}
        steps: list[tuple[Endpoint, dict[str, Any]]] = [(LINK, LINK.request_body([(ident, [item])]))]
        if flow == "link-update-delink":
            details = {"updatedTierName": rnd.choice(program.tiers)} if program.tiers else {}
            update = {PROGRAM_NAME_KEY: program.name, "updateType": update_type, "updateDetails": details}
            steps.append((UPDATE, UPDATE.request_body([(ident, [update])])))
        else:
            period = program.membership_period.approx_days() if program.membership_period else 0
            # a relink starts after the current membership ends (link-customer#future-dated-relinking)
            relink_ref = {"membershipStartDate": days_from_today(period + days, org.timezone)}
            relink = {PROGRAM_NAME_KEY: program.name, "customerPartnerReference": relink_ref}
            cancel = {PROGRAM_NAME_KEY: program.name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}
            steps.append((LINK, LINK.request_body([(ident, [relink])])))
            steps.append((UPDATE, UPDATE.request_body([(ident, [cancel])])))
        steps.append((DELINK, DELINK.request_body([(ident, [{PROGRAM_NAME_KEY: program.name}])])))
        for ep, body in steps:
            path = ep.path
            case = _lifecycle_case(fuzz_schema, path, body)
            response, headers = _send(case, fuzz_target, profile.timeout_seconds)
            _judge(case, response, headers, fuzz_target)
            code = _item_code(response, ep)
            if code != 200:
                allure.dynamic.story("FUZZ-LIFECYCLE")
                raise AssertionError(
                    f"[FUZZ-LIFECYCLE] {flow}: {path} answered item code {code!r} (HTTP "
                    f"{response.status_code}) where the sequence expects 200; seed "
                    f"{fuzz_target.settings.seed}\nReproduce: "
                    f"{redacted_curl(case, headers, fuzz_target.base_url, fuzz_target.secrets)}"
                )

    fuzz_target.start()
    sequence()
