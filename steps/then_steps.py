"""Then steps: the contract outcome, judged by `ppconformance.judge.verdicts.Judge`
under the profile's ambiguity stances. Each names the scenario's requirement."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date

import allure
import pytest
from pytest_bdd import parsers, then

from ppconformance.connection.dates import calendar_date_of
from ppconformance.contract.catalogue import Requirement
from ppconformance.contract.endpoints import DELINK, LINK, UPDATE
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Action, Judge, StateComparison
from ppconformance.run.scenario import Customer, World

ENDPOINTS = {"link": LINK, "update": UPDATE, "delink": DELINK}


SUCCESS = frozenset({"LINK-SUCCESS", "UPDATE-SUCCESS", "DELINK-SUCCESS"})
"""The requirements a success step judges when the scenario carries one of them beside others."""
BATCH = {"link": "LINK-BATCH-50", "update": "UPDATE-BATCH-50", "delink": "DELINK-BATCH-50"}
"""The requirement a "... for every customer" step judges in a scenario that carries several batch requirements."""
TIERS = frozenset({"UPDATE-UPGRADE-TIER", "UPDATE-DOWNGRADE-TIER", "UPDATE-RENEW-TIER"})
"""The requirements a tier observation judges when the scenario carries one of them beside others."""


def judged(
    requirements: list[Requirement], *, code: int | None = None, among: frozenset[str] = frozenset()
) -> Requirement:
    """The one requirement of the scenario's tags this Then step judges, named explicitly, never guessed:
    the tagged requirement whose documented `code` is `code`; else the tagged one of `among` (the ids the step
    judges where a scenario carries several); else the scenario's only requirement. Raises `LookupError`
    naming the tags when none or more than one fits (the scenario must be tagged with what the step judges)."""
    if code is not None:
        found = [r for r in requirements if r.code == code]
    elif len(requirements) > 1 or among and any(r.id in among for r in requirements):
        found = [r for r in requirements if r.id in among]
    else:
        found = list(requirements)
    if len(found) != 1:
        tags = ", ".join(r.id for r in requirements) or "none"
        wanted = f"code {code}" if code is not None else (", ".join(sorted(among)) or "exactly one requirement")
        raise LookupError(f"this Then step judges {wanted}; the scenario's requirement tags are {tags}")
    return found[0]


def _action(world: World, action: str) -> Action:
    if world.last is None or world.last.endpoint is not ENDPOINTS[action]:
        raise LookupError(f"no {action} request was sent in this scenario")
    return world.last


@then(parsers.re(r"the (?P<action>link|update|delink) succeeds(?P<batch> for every customer)?"))
def _(world: World, judge: Judge, requirements: list[Requirement], action: str, batch: str | None) -> None:
    among = SUCCESS | {BATCH[action]} if batch else SUCCESS
    judge.expect_success(judged(requirements, among=among), _action(world, action))


@then(parsers.re(r"the (?P<action>link|update|delink) succeeds for the (?P<role>external|supplementary) program only"))
def _(world: World, judge: Judge, requirements: list[Requirement], action: str, role: str) -> None:
    judge.expect_only(judged(requirements), _action(world, action), world.program(role).name)


@then("the customer is not found through the other org")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_not_found_elsewhere(judged(requirements), world.last_action())


@then("neither answer shows the customer")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    if len(world.reads) != 2:
        raise LookupError("no lookup and loyaltyDetails read was made through the other org")
    judge.expect_hidden(judged(requirements), world.reads[0], world.reads[1], int(world.customer.id or 0))


@then("the update result names the update type performed")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_update_type_echoed(judged(requirements, among=frozenset({"UPDATE-SUCCESS"})), _action(world, "update"))


@then(parsers.re(r"the (?P<action>link|update|delink) is rejected with error (?P<code>\d+)"))
def _(world: World, judge: Judge, requirements: list[Requirement], action: str, code: str) -> None:
    judge.expect_item_error(judged(requirements, code=int(code)), _action(world, action), int(code))


@then(parsers.parse("the request is rejected with error {code:d}"))
def _(world: World, judge: Judge, requirements: list[Requirement], code: int) -> None:
    judge.expect_batch_rejected(judged(requirements, code=code), world.last_action(), code)


@then("the update either succeeds or is rejected with error 2009")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    req = judged(requirements, code=2009)
    action = _action(world, "update")
    if judge.strict_with(req):
        judge.expect_item_error(req, action, 2009)
        return
    code = judge.results(req, action)[0][0].status.get("code")
    if code == 200:
        judge.expect_success(req, action)
    else:
        judge.expect_item_error(replace(req, level="documented"), action, 2009)


@then("the delink is answered for every customer")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    req = judged(requirements, among=frozenset({BATCH["delink"]}))
    action = _action(world, "delink")
    if judge.strict_with(req):
        judge.expect_success(req, action)
    else:
        judge.results(req, action)


@then("the customer is reported as found")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    req = judged(requirements, among=frozenset({"LINK-CUSTOMER-STATUS"}))
    action = world.last_action()
    for row in judge.results(req, action):
        status = row[0].customer.get("status") or {}
        if status.get("code") != 1000:
            judge.fail(req, f"expected customer status code 1000 (found), got {status}", action.exchange)


@then("the customer is reported as not found")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_customer_not_found(judged(requirements), world.last_action())


@then("no link succeeds")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_nothing_succeeds(judged(requirements), _action(world, "link"))


@then("the response carries warning 1302")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    req, action = judged(requirements, code=1302), _action(world, "link")
    if judge.profile.is_strict(AmbiguityId.W1302_TRIGGER) or judge.has_warning(action, 1302):
        judge.expect_warning(req, action, 1302)
        return
    pytest.skip(
        "not judged: no warning 1302, which one reading of 'the customer's membership expiry' predicts (the "
        "loyalty membership's expiry, absent for a new customer); --strict-ambiguity AMB-1302-TRIGGER judges it"
    )


@then("a pending relink can be cancelled for the customer")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    program = world.program("supplementary")
    action = world.update(
        [world.customer], [{"partnerProgramName": program.name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}]
    )
    judge.expect_success(judged(requirements), action)


def _linked(world: World, name: str) -> list[dict]:
    return [p for p in world.linked_programs(world.customer) if p.get("partnerProgramName") == name]


@then(parsers.re(r"the customer's linked programs (?P<presence>include|no longer include) the external program"))
def _(world: World, judge: Judge, requirements: list[Requirement], presence: str) -> None:
    req = judged(requirements, among=frozenset({"DELINK-REMOVES-LINK", "LINK-SUCCESS"}))
    name = world.program("external").name
    found = _linked(world, name)
    if (presence == "include") != bool(found):
        judge.fail(
            req,
            f"loyaltyDetails {'does not list' if not found else 'still lists'} {name} in linkedPartnerPrograms",
            world.last_exchange,
        )


@then("no relink to the supplementary program is pending for the customer any more")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    program = world.program("supplementary")
    action = world.update(
        [world.customer], [{"partnerProgramName": program.name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}]
    )
    judge.expect_nothing_pending(judged(requirements), action)


@then(
    parsers.re(
        r"the customer's tier in the (?P<role>external|supplementary) program is its "
        r"(?P<position>lowest|highest) tier"
    )
)
def _(world: World, judge: Judge, requirements: list[Requirement], role: str, position: str) -> None:
    req = judged(requirements, among=TIERS)
    program = world.program(role, tiers=2 if role == "external" else 1)
    tier = program.tiers[0] if position == "lowest" else program.tiers[-1]
    found = _linked(world, program.name)
    if not found or found[0].get("partnerTierName") != tier:
        got = found[0].get("partnerTierName") if found else "not linked"
        judge.fail(req, f"expected tier {tier!r} in {program.name}, loyaltyDetails shows {got!r}", world.last_exchange)


@then("the request is refused as unauthenticated")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_unauthenticated(judged(requirements), world.latest_exchange())


@then("the request is rejected as malformed")
def _(world: World, judge: Judge, requirements: list[Requirement]) -> None:
    judge.expect_malformed_rejected(judged(requirements), world.latest_exchange())


@then(parsers.parse("the customer's tier in the external program expires {days:d} days from today"))
def _(world: World, judge: Judge, requirements: list[Requirement], days: int) -> None:
    """update-partner-program#body-parameters: updatedTierExpiryDate is the updated tier's expiry; "if not
    provided, the existing tier expiry date remains unchanged". Read back through loyaltyDetails."""
    req = judged(requirements)
    program = world.program("external", tiers=2)
    found = _linked(world, program.name)
    if not found:
        judge.fail(req, f"loyaltyDetails does not list {program.name} in linkedPartnerPrograms", world.last_exchange)
    value = found[0].get("partnerTierExpiryDate")
    sent = world.in_days(days)
    expected = date.fromisoformat(sent[:10])
    tz = (world.org or world.use_org()).timezone
    named = calendar_date_of(value, tz)
    if not judge.profile.is_strict(AmbiguityId.TIER_EXPIRY_DAY) and named == calendar_date_of(sent, "UTC"):
        named = expected  # the UTC day of the instant sent (AMB-TIER-EXPIRY-DAY)
    if (
        named is None
        and isinstance(value, str)
        and value
        and not judge.profile.is_strict(AmbiguityId.TIER_EXPIRY_FORMAT)
    ):
        pytest.skip(
            f"not judged: loyaltyDetails gives partnerTierExpiryDate {value!r}, a format the documents do "
            "not name (AMB-TIER-EXPIRY-FORMAT; strict fails it)"
        )
    if named != expected:
        judge.fail(
            req,
            f"loyaltyDetails shows partnerTierExpiryDate {value!r} for {program.name}, expected a date of "
            f"{expected.isoformat()} ({days} days from today, {tz})",
            world.last_exchange,
        )


ORACLE_STEP = "every customer's stored partner programs are as the documents say"
"""The oracle step's text: every scenario that touches a registered customer ends with it (tests/test_oracle.py)."""


@then(ORACLE_STEP)
def _(world: World, judge: Judge, request: pytest.FixtureRequest) -> None:
    """The state oracle (contract.model): each registered customer of the scenario, read through loyaltyDetails
    after its last write (a Then step's read is reused), compared with the documented model of what the
    scenario's writes made its programs; a mismatch fails the requirements of the writes since the field was set."""
    judge_state(world, judge, request)


def judge_state(
    world: World,
    judge: Judge,
    request: pytest.FixtureRequest,
    customers: list[Customer] | None = None,
    *,
    tables: bool = True,
) -> None:
    """The oracle's report on `customers` (default: every registered customer of the scenario): every loyaltyDetails
    read of theirs since the last report, each compared with the model when it was made (`ExpectedState.observe`:
    a Then step's read mid-scenario too, so a wrong effect a later write overwrites still shows), reading once
    more where no read followed a customer's last write; allure gets the tables (`report_state`; with
    `tables=False` only when something differs); `Judge.expect_state` fails on a mismatch. Raises LookupError when
    there is no customer to compare (a check that could not fail)."""
    comparisons = []
    for seen in world.observe_state(customers):
        label = f"customer {seen.customer.id} (mobile {seen.customer.mobile})"
        count = len(seen.observations)
        for n, observation in enumerate(seen.observations, 1):
            where = "" if count == 1 else f", read {n} of {count}"
            comparisons.append(
                StateComparison(label + where, list(observation.rows), observation.exchange, observation.first)
            )
    if not comparisons:
        raise LookupError("the oracle step compares the scenario's registered customers, and it has none")
    if tables or any(c.mismatches for c in comparisons):
        report_state(comparisons, request)
    judge.expect_state(comparisons)


def report_state(comparisons: list[StateComparison], request: pytest.FixtureRequest) -> None:
    """Allure: a step per customer with its table (program, field, expected, found, requirement, verdict); the
    requirements compared become markers of the test (the conformance report counts them judged), and those
    that differ its story labels (the fault sweep reads them)."""
    for c in comparisons:
        with allure.step(f"stored state of {c.label}: {len(c.rows)} fields, {len(c.mismatches)} differ"):
            text = io.StringIO()
            table = csv.writer(text)
            table.writerow(["program", "field", "expected", "found", "written by", "verdict"])
            table.writerows([r.program, r.field, r.expected, r.found, " ".join(r.suspects), r.verdict] for r in c.rows)
            allure.attach(text.getvalue(), name=f"{c.label}", attachment_type=allure.attachment_type.CSV)
    compared = {rid for c in comparisons for r in c.rows if r.verdict in ("ok", "MISMATCH") for rid in r.suspects}
    for rid in sorted(compared):
        request.node.add_marker(getattr(pytest.mark, rid)(oracle=True))
    fallback = ("STATE-OTHERS-UNCHANGED",)
    for rid in dict.fromkeys(rid for c in comparisons for r in c.mismatches for rid in (r.suspects or fallback)):
        allure.dynamic.story(rid)
