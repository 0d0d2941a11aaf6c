"""Steps of features/webhook_events.feature: what the target's webhook events announce.

The When steps are the shared ones (link, upgrade, delink); `ppconformance.webhooks.plugin` records each
When action with its start and end time. Then steps wait for the event through `EventWatch` and fail with
the scenario's requirement when it is missing, malformed or about something else. Duplicates are warnings
(AMB-EVENT-DUPLICATES) attached to the scenario's allure result.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import allure
import pytest
from pytest_bdd import given, parsers, then, when

from ppconformance.connection.embedded import reference_admin
from ppconformance.connection.profile import Profile
from ppconformance.contract.catalogue import Requirement
from ppconformance.contract.endpoints import LINK
from ppconformance.contract.events import facts
from ppconformance.contract.stances import AmbiguityId
from ppconformance.judge.verdicts import Judge
from ppconformance.plugin import runcontext
from ppconformance.run.scenario import PreconditionFailed, World
from ppconformance.webhooks.match import Expected, Finding, candidates, judge
from ppconformance.webhooks.plugin import OTHER_ORG_PATH, ensure_registered, static_headers
from ppconformance.webhooks.sink import Delivery
from ppconformance.webhooks.watch import EventWatch

from .then_steps import judged

REMINDER = "supplementaryMembershipExpiryReminder"
BACKOFF_GROWTH = 1.25
"""Strict AMB-WEBHOOK-RETRY-TIMING: each wait between retries is at least this many times the one before."""


@pytest.fixture
def event_watch(world: World, profile: Profile, sink_reader: Any) -> EventWatch:
    """The scenario's view of the run's webhook sink, about its (first) customer."""
    if sink_reader is None:
        pytest.skip("webhook scenario: the run has no webhook sink")
    org = world.org or world.use_org()
    types = {p.name: "SUPPLEMENTARY" if p.membership_period else "EXTERNAL" for p in org.programs.values()}
    return EventWatch(sink_reader, profile, None, {}, types)


def _bind(watch: EventWatch, world: World) -> None:
    c = world.customer
    watch.customer_id = c.id
    watch.identifiers = {"mobile": c.mobile, "email": c.email, "externalId": c.external_id}


def _verdict(judge: Judge, req: Requirement, expected: Expected, finding: Finding, deadline: float) -> Delivery:
    """Fail `req` when nothing arrived or the delivery does not announce the action; the delivery otherwise."""
    if finding.warnings:
        allure.attach("\n".join(finding.warnings), name="webhook warnings", attachment_type=allure.attachment_type.TEXT)
    delivery = finding.delivery
    if delivery is None:
        judge.fail(
            req,
            f"no {expected.event} for customer {expected.customer_id} ({expected.program_name}) "
            f"arrived within {deadline:g} s (webhooks.delivery_deadline_seconds)",
            None,
        )
    allure.attach(
        repr(delivery.body)[:20000],
        name=f"{expected.event} as delivered",
        attachment_type=allure.attachment_type.TEXT,
    )
    if finding.problems:
        judge.fail(
            req,
            f"the {expected.event} delivered for the action does not announce it:\n  " + "\n  ".join(finding.problems),
            None,
        )
    return delivery


def _announced(
    watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], actions: list, event: str
) -> None:
    if not actions:
        raise LookupError("no When action was recorded in this scenario")
    _bind(watch, world)
    expected = watch.expect(actions[-1], event)
    expected = replace(expected, **world.event_details(world.customer, expected.program_name))
    world.note_event(actions[-1][2], event, customer=world.customer, program=expected.program_name, present=True)
    finding = watch.arrived(expected, actions[-1])
    watch.found[event] = finding
    _verdict(judge, judged(requirements), expected, finding, watch.profile.webhooks.delivery_deadline_seconds)


@then(
    parsers.re(
        r"(?P<event>partnerProgramLinked|partnerProgramUpdated|partnerProgramDelinked) announces the "
        r"(?:link with the customer, the program and its details|update with its updateType|delink)"
    )
)
def _(
    event_watch: EventWatch,
    world: World,
    judge: Judge,
    requirements: list[Requirement],
    recorded_actions: list,
    event: str,
) -> None:
    _announced(event_watch, world, judge, requirements, recorded_actions, event)


@then("no event announces the rejected link")
def _(
    event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], recorded_actions: list
) -> None:
    rejected = recorded_actions[0]
    body = rejected[2].exchange.response_json or {}
    shape = LINK.result_shapes[0]
    items = [i for c in body.get(shape.results_key) or [] for i in c.get(shape.programs_key) or []]
    if not items or all((i.get(shape.status_key) or {}).get("code") == 200 for i in items):
        raise PreconditionFailed(f"the link meant to be rejected was not\n{rejected[2].exchange.render()}")
    later = event_watch.found.get("partnerProgramLinked")
    if later is None or later.delivery is None:
        raise PreconditionFailed("the later link's event did not arrive, so no absence can be shown")
    absent = event_watch.expect(rejected, "partnerProgramLinked")
    world.note_event(rejected[2], absent.event, customer=world.customer, program=absent.program_name, present=False)
    problems = event_watch.absent(absent, later)
    if problems:
        judge.fail(
            judged(requirements),
            "an event announces a link that was rejected:\n  " + "\n  ".join(problems),
            rejected[2].exchange,
        )


# -- delivery promises (capillary-facts#webhooks-event-notifications) -------------------------
@given(
    parsers.re(
        r"the webhook receiver refuses the customer's next (?:(?P<count>\d+) events|event) with HTTP (?P<status>\d+)"
    )
)
def _(world: World, event_watch: EventWatch, count: str | None, status: str) -> None:
    if world.customer.id is None:
        raise PreconditionFailed("the customer's id is not known, so the sink cannot tell its events apart")
    event_watch.reader.refuse(world.customer.id, [int(status)] * int(count or 1))


def _attempts(watch: EventWatch, world: World, recorded: list, event: str, until: Any) -> list[Delivery]:
    """Every delivery attempt of `event` for the scenario's customer (accepted, refused and unauthenticated),
    oldest first, polled until `until(attempts)` holds or no attempt came for too long: the delivery deadline
    after the action's answer for the first one, `webhooks.retry_window_seconds` after the latest one for the
    next (AMB-WEBHOOK-RETRY-TIMING)."""
    if not recorded:
        raise LookupError("no When action was recorded in this scenario")
    _bind(watch, world)
    expected = watch.expect(recorded[-1], event)
    settings = watch.profile.webhooks
    while not until(found := [d for d, _ in candidates(expected, watch.reader.poll(), attempts=True)]):
        limit = found[-1].arrival + settings.retry_window_seconds if found else recorded[-1][1]
        if time.time() >= limit + (0 if found else settings.delivery_deadline_seconds):
            break
        time.sleep(0.05)
    return found


def _shown(attempts: list[Delivery]) -> str:
    return ", ".join(
        f"#{d.seq} at +{d.arrival - attempts[0].arrival:.2f} s answered {d.status}"
        + ("" if d.authenticated else " (without the auth header)")
        for d in attempts
    )


@then("partnerProgramLinked is delivered with every static header configured on the webhook")
def _(
    event_watch: EventWatch,
    world: World,
    judge: Judge,
    requirements: list[Requirement],
    recorded_actions: list,
) -> None:
    wanted = list(static_headers(event_watch.profile, "", ""))  # names only: the auth header first
    found = _attempts(event_watch, world, recorded_actions, "partnerProgramLinked", bool)
    if not found:
        raise PreconditionFailed("no partnerProgramLinked arrived for the link (EVENT-LINKED judges that)")
    for d in found:
        missing = [wanted[0]] if not d.authenticated else []
        missing += [name for name in wanted[1:] if name not in d.static_headers]
        if missing:
            judge.fail(
                judged(requirements),
                f"delivery #{d.seq} of partnerProgramLinked came without the static header(s) "
                f"{', '.join(missing)} configured on the webhook (of {', '.join(wanted)}; values not shown)",
                None,
            )


@then("partnerProgramLinked is not delivered again after the receiver refused it with 400")
def _(
    event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], recorded_actions: list
) -> None:
    found = _attempts(event_watch, world, recorded_actions, "partnerProgramLinked", lambda ds: len(ds) > 1)
    refused = [d for d in found if d.status == 400]
    if not refused:
        raise PreconditionFailed(
            "no partnerProgramLinked for the customer was refused with 400: " + (_shown(found) or "none arrived")
        )
    window = event_watch.profile.webhooks.retry_window_seconds
    first = facts(refused[0].body).event_id
    again = [d for d in found if d.seq > refused[0].seq and (first is None or facts(d.body).event_id == first)]
    if again:
        judge.fail(
            judged(requirements),
            f"partnerProgramLinked (eventId {first}) refused with 400 was delivered again within {window:g} s "
            f"(webhooks.retry_window_seconds): {_shown(found)}",
            None,
        )


@then("partnerProgramLinked is delivered again after each 429 until the receiver accepts it")
def _(
    event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], recorded_actions: list
) -> None:
    req = judged(requirements)
    found = _attempts(
        event_watch, world, recorded_actions, "partnerProgramLinked", lambda ds: any(d.accepted for d in ds)
    )
    refused = [d for d in found if d.status == 429]
    if not refused:
        raise PreconditionFailed(
            "no partnerProgramLinked for the customer was refused with 429: " + (_shown(found) or "none arrived")
        )
    window = event_watch.profile.webhooks.retry_window_seconds
    accepted = [d for d in found if d.accepted and d.seq > refused[-1].seq]
    strict = judge.profile.is_strict(AmbiguityId.WEBHOOK_RETRY_TIMING)
    if not accepted:
        seen = "retried after the first 429 but not accepted" if len(refused) >= 2 else "not retried after the 429"
        what = f"partnerProgramLinked was {seen} within {window:g} s (webhooks.retry_window_seconds): {_shown(found)}"
        if not strict:
            pytest.skip(
                f"not judged: {what}; the documents do not say when a retry comes (--strict-ambiguity "
                "AMB-WEBHOOK-RETRY-TIMING judges it)"
            )
        judge.fail(req, what, None)
    attempts = [*refused, accepted[0]]
    gaps = [b.arrival - a.arrival for a, b in zip(attempts, attempts[1:], strict=False)]
    growing = all(later >= BACKOFF_GROWTH * earlier for earlier, later in zip(gaps, gaps[1:], strict=False))
    if strict and len(gaps) >= 2 and not growing:
        judge.fail(
            req,
            f"the retries after 429 do not back off exponentially (each wait at least {BACKOFF_GROWTH:g} times the "
            "one before, which absorbs the timing noise of a constant interval): " + _shown(found),
            None,
        )


# -- the reference server's clock (needs_clock) ---------------------------------------------
def _run_scheduler(world: World, as_of: date, reference_target: bool) -> None:
    answer = reference_admin(
        world.base_url,
        "POST",
        "clock",
        allowed=reference_target,
        json_body={"asOf": as_of.isoformat(), "customerIds": [world.customer.id]},
    )
    if answer.status != 200:
        raise PreconditionFailed(f"the scheduler did not run (HTTP {answer.status}): {answer.body[:500]}")
    world.scheduler_ran(world.customer, as_of)


def _membership_end(world: World) -> date:
    period = world.program("supplementary", period=True).membership_period
    if period is None or period.type != "DAYS":
        pytest.skip("the supplementary program's membership period is not in days")
    return date.fromisoformat(world.in_days(period.value)[:10])


@when("the scheduler runs for the customer 3 days before the membership ends")
def _(world: World, recorded_actions: list, pytestconfig: pytest.Config) -> None:
    recorded_actions.append((time.time(), 0.0, None))
    _run_scheduler(world, _membership_end(world) - timedelta(days=3), runcontext.require(pytestconfig).reference_target)
    recorded_actions[-1] = (recorded_actions[-1][0], time.time(), None)


@when("the scheduler runs for the customer on the pending relink's start date")
def _(world: World, recorded_actions: list, pytestconfig: pytest.Config) -> None:
    period = world.membership_period("supplementary")
    start = date.fromisoformat(world.in_days(period.approx_days() + 5)[:10])  # as queued by the Given step
    recorded_actions.append((time.time(), 0.0, None))
    _run_scheduler(world, start, runcontext.require(pytestconfig).reference_target)
    recorded_actions[-1] = (recorded_actions[-1][0], time.time(), None)


def _scheduled(watch: EventWatch, world: World, event: str, recorded: tuple) -> tuple[Expected, Finding]:
    _bind(watch, world)
    program = world.program("supplementary")
    expected = Expected(
        event=event,
        customer_id=watch.customer_id,
        identifiers=watch.identifiers,
        program_name=program.name,
        program_type=None if event == REMINDER else "SUPPLEMENTARY",
        not_before=recorded[0],
    )
    return expected, watch.arrived(expected, recorded)


@then("supplementaryMembershipExpiryReminder announces the membership's end date")
def _(
    event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], recorded_actions: list
) -> None:
    expected, finding = _scheduled(event_watch, world, REMINDER, recorded_actions[-1])
    delivery = _verdict(
        judge, judged(requirements), expected, finding, event_watch.profile.webhooks.delivery_deadline_seconds
    )
    data = delivery.body.get("data") or (delivery.body.get("attributes") or {}).get("data") or {}
    if data.get("scheduledExpiryDate") != _membership_end(world).isoformat():
        judge.fail(
            judged(requirements),
            f"scheduledExpiryDate is {data.get('scheduledExpiryDate')!r}, the membership "
            f"ends on {_membership_end(world).isoformat()}",
            None,
        )


@then("partnerProgramLinked announces the relink")
def _(
    event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement], recorded_actions: list
) -> None:
    # The Given's first link is announced too: the relink is the second partnerProgramLinked of the customer.
    # AMB-EVENT-QUEUED-RELINK: one sent when the relink was queued counts as well, so look from the start.
    _bind(event_watch, world)
    program = world.program("supplementary")
    expected = Expected(
        event="partnerProgramLinked",
        customer_id=event_watch.customer_id,
        identifiers=event_watch.identifiers,
        program_name=program.name,
        program_type="SUPPLEMENTARY",
        **world.event_details(world.customer, program.name),
    )
    world.note_event(None, expected.event, customer=world.customer, program=program.name, present=True)
    # Wait for the one that announces the relink, not for any second one: the customer may have met this
    # program before (a reused or pool customer), so its earlier announcements are candidates from the start.
    deadline = recorded_actions[-1][1] + event_watch.profile.webhooks.delivery_deadline_seconds
    while True:
        found = candidates(expected, event_watch.reader.poll())
        findings = [judge_one(expected, [delivery], event_watch.profile) for delivery, _ in found]
        announcing = next((f for f in findings if not f.problems), None)
        if (len(found) >= 2 and announcing is not None) or time.time() >= deadline:
            break
        time.sleep(0.05)
    if len(found) < 2:
        judge.fail(
            judged(requirements),
            f"{len(found)} partnerProgramLinked for customer {expected.customer_id} "
            f"({program.name}) arrived: the first link's, but none for the relink "
            "activated on its start date",
            None,
        )
    # deliveries need not arrive in the order the events happened (a retried first announcement can come last):
    # the relink's is the one that announces the relink, else the last one is judged
    finding = announcing or judge_one(expected, [found[-1][0]], event_watch.profile)
    _verdict(
        judge,
        judged(requirements),
        expected,
        finding,
        event_watch.profile.webhooks.delivery_deadline_seconds,
    )


def judge_one(expected: Expected, deliveries: list, profile: Profile) -> Finding:
    """Judge exactly these deliveries for `expected`."""
    return judge(expected, deliveries, strict=profile.strict)


__all__ = ["event_watch"]


# -- tenant isolation of events ----------------------------------------------------------------
@given("a webhook registered by another org")
def _(world: World, event_watch: EventWatch, pytestconfig: pytest.Config) -> None:
    ensure_registered(pytestconfig, world.other_org().name)


@then("the other org's webhook receives no event of the link")
def _(event_watch: EventWatch, world: World, judge: Judge, requirements: list[Requirement]) -> None:
    """Once the link's event reached the org's own webhook, the other org's webhook (the sink's `OTHER_ORG_PATH`)
    is listened to for `quiet_period_seconds` more: an event of this customer there crossed the orgs."""
    arrived = event_watch.found.get("partnerProgramLinked")
    if arrived is None or arrived.delivery is None:
        raise PreconditionFailed("the link's event did not reach the org's own webhook, so no absence can be shown")
    quiet = event_watch.profile.webhooks.quiet_period_seconds
    time.sleep(max(0.0, arrived.delivery.arrival + quiet - time.time()))
    _bind(event_watch, world)
    expected = Expected(
        event="partnerProgramLinked",
        customer_id=event_watch.customer_id,
        identifiers=event_watch.identifiers,
        program_name=world.program("external").name,
    )
    crossed = [
        d for d, _ in candidates(expected, event_watch.reader.poll(), attempts=True) if d.path.endswith(OTHER_ORG_PATH)
    ]
    if crossed:
        judge.fail(
            judged(requirements),
            f"{len(crossed)} delivery(ies) of the customer's partnerProgramLinked reached the webhook org "
            f"{world.other_org().name} registered (delivery #{crossed[0].seq} on {crossed[0].path})",
            None,
        )
