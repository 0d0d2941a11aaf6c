"""The fuzz stage: schemathesis-generated request bodies against the run's target (marker `fuzz`).

Runs inside the normal pytest run, against the same target, profile and credentials as the
scenarios (auth headers come from `PartnerProgramClient.auth_headers`). The spec is
schemas/openapi.yaml; only the three Partner Program operations are fuzzed. Checks: schemathesis'
not_a_server_error, status_code_conformance, content_type_conformance and
response_schema_conformance, plus the batch-aware checks of `ppconformance.fuzz.checks` (which
replace negative_data_rejection and positive_data_acceptance, adapted to item-level answers).

Generation reaches deep paths: `ppconformance.fuzz.generation.Deepener` rewrites a share of customers,
program names, tiers, dates and updateTypes into the profile's real ones and suite-provisioned
customers (schemathesis `flatmap_body` hook), and makes every other identifier a fresh one no
real customer has. Every link a case can create is journaled before it is sent and undone at the
end of the module (`World.cleanup`), so fuzzing a staging org leaves no links behind.

The stateful phase (`test_fuzz_lifecycle`) is a hypothesis `RuleBasedStateMachine` over link, update (each
updateType), future-dated relink, MEMBERSHIP_RELINKING_CANCELLED and delink on a fresh suite customer per
example: each rule is enabled only where the state model (`contract.model`) says the documents make it
succeed, every answer goes through the same checks and must succeed (FUZZ-LIFECYCLE), and the state oracle is
its invariant: after each write the customer's loyaltyDetails must equal the model.

Budget: profile `fuzz` / `--fuzz` / `--fuzz-seed` (docs/fuzzing.md). A read-only run skips the stage
(the write guard of `plugin`); `--fuzz=off` skips it too.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import allure
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi import checks as builtin

from ppconformance.connection.client import TargetBroken, TargetUnreachable
from ppconformance.connection.dates import days_from_today
from ppconformance.connection.profile import DEFAULT_PATHS, FuzzSettings, Profile
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import DELINK, LINK, PROGRAM_NAME_KEY, UPDATE, Endpoint, by_path
from ppconformance.contract.model import UNKNOWN
from ppconformance.fuzz import checks as fuzzchecks
from ppconformance.fuzz.generation import SPEC, Deepener, FuzzTarget, SuiteCustomer, redacted_curl
from ppconformance.fuzz.plugin import StageFinding, record_finding, record_summary, stage_settings
from ppconformance.judge.readings import tenant_of
from ppconformance.judge.verdicts import Judge
from ppconformance.plugin import runcontext
from ppconformance.run.scenario import World

from .then_steps import judge_state

pytestmark = pytest.mark.fuzz

# schemathesis' not_a_server_error and response_schema_conformance are replaced by the suite's no_server_error
# (501 is a fitting answer to an undefined method) and response_conforms (null members count as absent,
# AMB-NULL-AS-ABSENT): the built-ins would fail conforming targets for what the documents leave open
_BUILTIN = [
    builtin.status_code_conformance,
    builtin.content_type_conformance,
]
_REQUIREMENT_OF_BUILTIN = {
    "status_code_conformance": "FUZZ-RESPONSE-CONFORMS",
    "content_type_conformance": "FUZZ-RESPONSE-CONFORMS",
}


@pytest.fixture(scope="module")
def fuzz_target(profile: Profile, pytestconfig: pytest.Config, journal: Any, suite_pool: Any) -> Any:
    """The stage's target: 3 suite-provisioned customers of the profile's first org, auth headers, budget.
    At teardown every journaled link is undone and the stage's figures are printed."""
    settings = stage_settings(pytestconfig)
    if settings.mode == "off":
        pytest.skip(f"fuzz stage off (profile {profile.name}: fuzz.mode off)")
    if profile.paths != DEFAULT_PATHS:
        pytest.skip(
            f"profile {profile.name} overrides paths {profile.paths}; schemas/openapi.yaml describes the "
            "documented ones"
        )
    run = runcontext.require(pytestconfig)
    base_url = run.base_url
    world = World(profile=profile, base_url=base_url, run_id=run.run_id, journal=journal, suite_pool=suite_pool)
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
        policy=fuzzchecks.Policy(frozenset(profile.strict)),
        readings=runcontext.readings(pytestconfig, profile),
        pace=client.pace,
    )
    target.world = world  # type: ignore[attr-defined]
    _DEEPENER.append(Deepener(org, customers, profile))
    started = time.monotonic()
    yield target
    line = (
        f"fuzz stage: mode {settings.mode}, seed {settings.seed}, {target.sent} cases sent in "
        f"{time.monotonic() - started:.1f} s, {target.skipped} left unsent (time budget "
        f"{settings.budget():.0f} s), {len(target.policy.notes)} notes"
    )
    record_summary(pytestconfig, line)  # printed in the terminal summary (fuzz.plugin)
    notes = target.policy.notes
    if notes:
        allure.attach(
            "\n".join(notes[:200]), name="fuzz notes (default stances)", attachment_type=allure.attachment_type.TEXT
        )
    world.cleanup()
    client.close()


schema = schemathesis.openapi.from_path(str(SPEC)).include(path_regex="^/v2/partnerProgram/")


def configure_stage(settings: FuzzSettings) -> None:
    """Apply the run's fuzz settings (seed, examples per operation, shrinking) to `schema` before its tests are
    built: `fuzz.plugin` calls this when pytest starts collecting the module. Fast mode does not shrink a finding
    (shrinking regenerates bodies for minutes); deep mode does."""
    schema.config.seed = settings.seed or 0
    schema.config.generation.update(
        max_examples=settings.examples(),
        database="none",
        with_security_parameters=False,
        no_shrink=settings.mode != "deep",
    )


configure_stage(FuzzSettings(seed=0))  # the defaults, until the run's settings are applied
_DEEPENER: list[Deepener] = []
"""The deepener of the stage's target, filled by the fuzz_target fixture before any case is generated: a
schemathesis hook sees only its operation, so this list is how `flatmap_body` reaches the run's programs."""


@schema.hook
def flatmap_body(ctx: Any, body: Any) -> Any:
    """Deep generation: rewrite the body over the profile's programs and the suite's customers."""
    ep = by_path(ctx.operation.path) if ctx.operation else None
    if ep is None or not _DEEPENER:
        return st.just(body)
    deepener = _DEEPENER[-1]
    return st.randoms(use_true_random=False).map(lambda rnd: deepener.rewrite(ep, body, rnd))


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_target: FuzzTarget) -> Any:
    """schemas/openapi.yaml restricted to the Partner Program operations, with this run's budget and seed."""
    return schema


def _send(case: Any, target: FuzzTarget, timeout: float) -> tuple[Any, dict[str, str]]:
    """Send `case`; transport failures are errors of the run (TargetError), not findings."""
    headers = dict(target.auth_headers())
    target.journal_case(by_path(case.operation.path), case.body)
    if target.pace is not None:  # schemathesis sends the case itself: it keeps to the org's rate limit too
        target.pace()
    try:
        response = case.call(base_url=target.base_url, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise TargetUnreachable(f"{case.method} {case.path}: no answer within {timeout} s") from None
    except requests.RequestException as exc:
        raise TargetUnreachable(f"{case.method} {case.path}: {type(exc).__name__}") from None
    target.sent += 1
    if target.readings is not None:  # the readings report: what the target chose where the documents are silent
        status, answer = response.status_code, _json(response)
        tenant = tenant_of(headers)
        target.readings.observe(
            case.method, case.formatted_path, case.body, status, answer, generated=True, tenant=tenant
        )
    if response.status_code == 401:
        raise TargetBroken(f"{case.method} {case.path}: HTTP 401 to the profile's own credentials during fuzzing")
    return response, headers


def _judge(case: Any, response: Any, headers: dict[str, str], target: FuzzTarget) -> None:
    """Run every check; a finding is re-raised as an AssertionError labelled with its requirement(s), with
    the redacted curl reproduction and the seed attached to the allure result."""
    try:
        case.validate_response(response, checks=[*_BUILTIN, *fuzzchecks.checks_for(target.policy)], headers=headers)
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
        if target.attached[key] < 3:
            target.attached[key] += 1
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
        record_finding(
            request.config, request.node.nodeid, finding
        )  # keep generating: one finding must not hide another


def _lifecycle_case(schema: Any, path: str, body: dict[str, Any]) -> Any:
    return schema[path]["POST"].Case(body=body, media_type="application/json")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class _Lifecycle(RuleBasedStateMachine):
    """The stateful phase: link, update (each updateType), relink, cancel and delink on one fresh suite customer per
    example, each step one the documents say succeeds in the state the model (`contract.model`) is in; every
    answer goes through the fuzz checks and must succeed (FUZZ-LIFECYCLE), every answer's item code drives the
    model, and the oracle is the invariant: after each write the customer's loyaltyDetails equals the model.

    The pytest test binds the class attributes (`bind`) before running it."""

    target: FuzzTarget
    schema: Any
    world: World
    judge: Judge
    timeout: float
    request: Any

    @classmethod
    def bind(cls, **kw: Any) -> type[_Lifecycle]:
        """A subclass with the run's fuzz target, schema, world, judge, timeout and pytest request."""
        return type("Lifecycle", (cls,), kw)

    def __init__(self) -> None:
        super().__init__()
        world, org = self.world, self.target.org
        self.programs = {p.name: p for p in org.programs.values()}
        self.supplementary = {p.name for p in org.programs.values() if p.membership_period}
        self.relinking = org.allow_membership_relinking is True
        self.live = not self.target.over_budget()  # past the stage's time budget an example sends nothing
        if not self.live:
            return
        customer = world.register_customer()
        self.cid = int(customer.id or 0)
        self.customer = customer
        suite = SuiteCustomer(
            id=self.cid, mobile=customer.mobile, email=customer.email, external_id=customer.external_id
        )
        self.target.journal_link(suite, list(self.programs))  # before the first link is sent
        self.written = False
        self.writes = 0

    # -- what the model says ------------------------------------------------------------------------------
    def _state(self) -> Any:
        return self.world.expected.model.state(self.cid)

    def _listed(self) -> list[str]:
        return sorted(self._state().listed() or [])

    def _linkable(self) -> list[str]:
        listed = set(self._listed())
        holds_supplementary = bool(listed & self.supplementary)
        return [
            n
            for n in sorted(self.programs)
            if n not in listed and not (n in self.supplementary and holds_supplementary)
        ]

    def _pending(self) -> list[str]:
        return [n for n in self._listed() if self._state().pending(n)]

    def _delinkable(self) -> list[str]:
        """The programs to delink: only after a few writes while an update can still be made (so sequences reach
        updates and relinks before they end the link), any listed one otherwise."""
        updatable = any(self.programs[n].tiers for n in self._listed())
        return self._listed() if self.writes >= 3 or not (updatable or self._relinkable()) else []

    def _relinkable(self) -> list[str]:
        """Supplementary programs listed with nothing pending and a tier expiry the model knows (a date or none):
        a relink can then start where every reading of the current membership end agrees (AMB-MEMBERSHIP-END)."""
        state = self._state()
        return (
            [
                n
                for n in self._listed()
                if n in self.supplementary
                and state.pending(n) is False
                and state.programs[n].tier_expiry.value is not UNKNOWN
            ]
            if self.relinking
            else []
        )

    def _current_end(self, name: str) -> int:
        """Days from today to the latest reading of the program's current membership end (AMB-MEMBERSHIP-END): the
        membership period's end (linked today) or the tier expiry the model holds, whichever is later."""
        period = self.programs[name].membership_period
        days = period.approx_days() if period else 0
        expiry = self._state().programs[name].tier_expiry.value
        if isinstance(expiry, date):
            today = datetime.now(ZoneInfo(self.target.org.timezone)).date()
            days = max(days, (expiry - today).days)
        return days

    # -- sending --------------------------------------------------------------------------------------------
    def _write(self, ep: Endpoint, item: dict[str, Any], step: str) -> None:
        ident = {"id": self.cid}
        body = ep.request_body([(ident, [item])])
        case = _lifecycle_case(self.schema, ep.path, body)
        response, headers = _send(case, self.target, self.timeout)
        _judge(case, response, headers, self.target)
        codes = self.world.expected.record_answer(ep, [self.cid], body, response.status_code, _json(response))
        self.written = True
        self.writes += 1
        if codes[0][0] != 200:
            allure.dynamic.story("FUZZ-LIFECYCLE")
            raise AssertionError(
                f"[FUZZ-LIFECYCLE] {step}: {ep.path} answered item code {codes[0][0]!r} (HTTP "
                f"{response.status_code}) where the documents say it succeeds; seed {self.target.settings.seed}\n"
                f"Reproduce: {redacted_curl(case, headers, self.target.base_url, self.target.secrets)}"
            )

    def _days(self, data: Any, label: str) -> str:
        return days_from_today(data.draw(st.integers(1, 400), label=label), self.target.org.timezone)

    # -- rules ------------------------------------------------------------------------------------------------
    @precondition(lambda self: self.live and bool(self._linkable()))
    @rule(data=st.data())
    def link(self, data: Any) -> None:
        name = data.draw(st.sampled_from(self._linkable()), label="program")
        program = self.programs[name]
        ref: dict[str, Any] = {"partnerMembershipId": f"M-fuzz-{data.draw(st.integers(0, 10**6 - 1)):06d}"}
        if program.tiers:
            ref["partnerTierName"] = data.draw(st.sampled_from(program.tiers), label="tier")
        if data.draw(st.booleans(), label="with tier expiry"):
            ref["partnerTierExpiryDate"] = self._days(data, "tier expiry in days")
        self._write(LINK, {PROGRAM_NAME_KEY: name, "customerPartnerReference": ref}, "link")

    @precondition(lambda self: self.live and any(self.programs[n].tiers for n in self._listed()))
    @rule(data=st.data())
    def update(self, data: Any) -> None:
        name = data.draw(st.sampled_from([n for n in self._listed() if self.programs[n].tiers]), label="program")
        types = ["UPGRADE", "DOWNGRADE", "RENEW"]
        if name in self.supplementary and self.target.org.allow_membership_relinking is False:
            types.append("MEMBERSHIP_RENEWAL_INITIATION")
        update_type = data.draw(st.sampled_from(types), label="updateType")
        details = {"updatedTierName": data.draw(st.sampled_from(self.programs[name].tiers), label="tier")}
        if data.draw(st.booleans(), label="with tier expiry"):
            details["updatedTierExpiryDate"] = self._days(data, "tier expiry in days")
        item = {PROGRAM_NAME_KEY: name, "updateType": update_type, "updateDetails": details}
        self._write(UPDATE, item, update_type)

    @precondition(lambda self: self.live and bool(self._relinkable()))
    @rule(data=st.data())
    def relink(self, data: Any) -> None:
        name = data.draw(st.sampled_from(self._relinkable()), label="program")
        days = self._current_end(name) + data.draw(st.integers(5, 60), label="days after the end")
        # a start after the current membership ends queues a relink (link-customer#body-parameters), after the
        # latest reading of that end (AMB-MEMBERSHIP-END): every reading predicts the relink is queued
        ref = {"membershipStartDate": days_from_today(days, self.target.org.timezone)}
        self._write(LINK, {PROGRAM_NAME_KEY: name, "customerPartnerReference": ref}, "relink")

    @precondition(lambda self: self.live and bool(self._pending()))
    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        name = data.draw(st.sampled_from(self._pending()), label="program")
        self._write(UPDATE, {PROGRAM_NAME_KEY: name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}, "cancel")

    @precondition(lambda self: self.live and bool(self._delinkable()))
    @rule(data=st.data())
    def delink(self, data: Any) -> None:
        name = data.draw(st.sampled_from(self._delinkable()), label="program")
        self._write(DELINK, {PROGRAM_NAME_KEY: name}, "delink")

    @precondition(lambda self: not self.live or self.target.over_budget())
    @rule()
    def budget_spent(self) -> None:
        """Nothing: the fuzz stage's time budget is spent (so some rule is always enabled)."""
        self.live = False

    # -- the oracle ---------------------------------------------------------------------------------------------
    @invariant()
    def stored_state_is_documented(self) -> None:
        """After a write: the customer's loyaltyDetails equals the model (`Judge.expect_state`)."""
        if not self.live or not self.written:
            return
        self.written = False
        judge_state(self.world, self.judge, self.request, [self.customer], tables=False)


@_judges("FUZZ-LIFECYCLE")
def test_fuzz_lifecycle(
    fuzz_target: FuzzTarget, fuzz_schema: Any, profile: Profile, judge: Judge, request: pytest.FixtureRequest
) -> None:
    """Stateful phase: a hypothesis `RuleBasedStateMachine` (`_Lifecycle`) over link/update/relink/cancel/delink on
    the suite's own customers, the state oracle as its invariant (see the module docstring)."""
    allure.dynamic.feature("Fuzzing")
    allure.dynamic.epic("Partner Program API")
    allure.dynamic.title("fuzz lifecycle: link, update, relink, cancel and delink, the stored state as invariant")
    world: World = fuzz_target.world  # type: ignore[attr-defined]
    if not fuzz_target.org.programs:
        pytest.skip(f"profile {profile.name} declares no program for orgs[{fuzz_target.org.name}]")
    machine = _Lifecycle.bind(
        target=fuzz_target,
        schema=fuzz_schema,
        world=world,
        judge=judge,
        timeout=profile.timeout_seconds,
        request=request,
    )
    # no shrinking: each example provisions a new customer, so a replay is never the same run
    fuzz_target.start()
    hypothesis.seed(fuzz_target.settings.seed or 0)(machine)
    run_state_machine_as_test(
        machine,
        settings=hypothesis.settings(
            max_examples=max(5, fuzz_target.settings.examples() // 2),
            stateful_step_count=10,
            deadline=None,
            database=None,
            report_multiple_bugs=False,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
