"""Webhooks of the reference server: registration, the Partner Program events, delivery with retries, and a
simulated scheduler (the clock).

Registration (capillary-facts#webhooks-event-notifications): `POST /v3/webHooks` with
`{name, webHookUrl, webHookType: "HTTP", methodType: "POST", eventNames[], webHookHeaders{}, ...,
active}` creates a webhook of the caller's org, or replaces the org's webhook of the same `name`
(so `active: false` disables it); `DELETE /v3/webHooks/{id}` removes one (not documented: a
convenience of this server). Headers are stored and sent, never shown again.

Events (doc `events`): after every successful item of linkCustomer, customerPartnerProgramUpdate and
deLinkCustomer the server builds partnerProgramLinked / partnerProgramUpdated / partnerProgramDelinked in
the enriched flat envelope (or the wrapped one: `--event-form wrapped`, variant `event-wrapped-envelope`)
and sends it, asynchronously, to each active webhook of the org subscribed to it (an empty `eventNames`
subscribes to all). A future-dated relink is announced when the scheduler activates it.

Delivery: POST JSON with the webhook's headers; 2xx is delivered; 429, 5xx and connection errors are
retried with exponential backoff (`base_delay` * 2**n, at most `max_attempts` attempts: bounded, unlike
Capillary's 7 days); any other 4xx is not retried. A webhook whose receiver cannot be connected to
`UNREACHABLE_LIMIT` times in a row is disabled (the sink of a killed suite run must not slow later runs).
`attempts` logs every try (admin GET
/__reference__/webhooks).

Faults and variants: an event's data is built as documented, then shaped by the active transforms of
`EVENT_SHAPES` (seam "events"); the envelope form, the delivery (`_deliver`, `_static_headers`, `_retry_delay`,
`_send`: seam "events.delivery") and the scheduler ask `Behaviour` by name where they vary.

Clock: `run_scheduler(as_of, customer_ids)` runs the daily jobs as of a date for the given customers only
(so parallel scenarios are not disturbed): a pending relink whose start date is due becomes the link
(partnerProgramLinked), and a supplementary membership ending within `REMINDER_DAYS` days after `as_of`
gets one supplementaryMembershipExpiryReminder (scheduledExpiryDate = the membership's end date), once per membership
(its id, start and end: a customer delinked and linked again has a new one).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

import httpx

from .behaviour import CONFORMING, Behaviour
from .config import OrgConfig
from .state import Customer, Link, OrgState

__all__ = ["EVENT_FORMS", "LATE_RETRY_SECONDS", "REMINDER_DAYS", "EventHub", "Webhook", "WebhookError"]

logger = logging.getLogger("ppreference.events")

EVENT_FORMS = ("flat", "wrapped")
#: The first retry's delay of variant webhook-late-retry, seconds (beyond the embedded profile's retry window).
LATE_RETRY_SECONDS = 3.0
#: Consecutive connection failures after which a webhook is disabled (its receiver is gone).
UNREACHABLE_LIMIT = 3
REMINDER_DAYS = 7
MAX_ATTEMPT_LOG = 10_000
LINKED, UPDATED, DELINKED = "partnerProgramLinked", "partnerProgramUpdated", "partnerProgramDelinked"
REMINDER = "supplementaryMembershipExpiryReminder"
_RESULT_KEYS = {
    "linkCustomer": ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus", LINKED),
    "customerPartnerProgramUpdate": ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus", UPDATED),
    "deLinkCustomer": ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus", DELINKED),
}


class WebhookError(ValueError):
    """A registration body that cannot be used (answered 400 with the message)."""


@dataclass
class Webhook:
    """One registered webhook of an org. `event_names` empty: every event."""

    id: int
    org_id: int
    name: str
    url: str
    event_names: tuple[str, ...]
    headers: dict[str, str] = field(repr=False)
    active: bool = True
    unreachable: int = 0  # consecutive attempts that could not connect

    def to_json(self) -> dict[str, Any]:
        """The webhook as answered: header names only, never their values."""
        return {
            "id": self.id,
            "name": self.name,
            "webHookUrl": self.url,
            "webHookType": "HTTP",
            "methodType": "POST",
            "eventNames": list(self.event_names),
            "webHookHeaders": {k: "***" for k in self.headers},
            "active": self.active,
        }


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class EventHub:
    """The webhooks of every org and the event pipeline of one app.

    Arguments: `form` "flat" or "wrapped"; `behaviour` the fault/variant; `max_attempts` (>= 1) and
    `base_delay` (seconds) bound the retries; `timeout` is each attempt's limit in seconds.
    """

    def __init__(
        self,
        form: str = "flat",
        behaviour: Behaviour = CONFORMING,
        *,
        max_attempts: int = 5,
        base_delay: float = 0.2,
        timeout: float = 5.0,
    ) -> None:
        if form not in EVENT_FORMS:
            raise ValueError(f"unknown event form {form!r}; known: {', '.join(EVENT_FORMS)}")
        wrapped = behaviour.varies("event-wrapped-envelope") or behaviour.varies("events-orgid-with-space")
        self.form = "wrapped" if wrapped else form
        self.fx = behaviour
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.timeout = timeout
        self.hooks: dict[int, Webhook] = {}
        self.attempts: deque[dict[str, Any]] = deque(maxlen=MAX_ATTEMPT_LOG)
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._reminded: set[tuple[int, int, int, str]] = set()
        self._client: httpx.AsyncClient | None = None
        #: the request's links before it ran, by (customer, program): set by the app under fault
        #: event-tier-before-update, whose partnerProgramUpdated carries them instead of the updated link
        self.before: dict[tuple[int, int], Link] = {}

    # -- registration ------------------------------------------------------------------
    def register(self, org_id: int, body: Any) -> Webhook:
        """Create or replace (same org and name) a webhook from a `POST /v3/webHooks` body.

        Raises `WebhookError` for a body without an http(s) `webHookUrl`, with non-string
        `eventNames` or `webHookHeaders` values, or a non-boolean `active`."""
        if not isinstance(body, dict):
            raise WebhookError("Invalid request: body must be an object")
        url = body.get("webHookUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise WebhookError("Invalid request: webHookUrl must be an http(s) URL")
        names = body.get("eventNames", [])
        headers = body.get("webHookHeaders", {}) or {}
        active = body.get("active", True)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise WebhookError("Invalid request: eventNames must be a list of event names")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise WebhookError("Invalid request: webHookHeaders must map header names to strings")
        if not isinstance(active, bool):
            raise WebhookError("Invalid request: active must be true or false")
        name = str(body.get("name") or url)
        existing = next((h for h in self.hooks.values() if h.org_id == org_id and h.name == name), None)
        hook_id = existing.id if existing else self._next_id
        if existing is None:
            self._next_id += 1
        hook = Webhook(hook_id, org_id, name, url, tuple(names), dict(headers), active)
        self.hooks[hook_id] = hook
        return hook

    def delete(self, org_id: int, hook_id: int) -> bool:
        """Remove the org's webhook `hook_id`; False when the org has no such webhook."""
        hook = self.hooks.get(hook_id)
        if hook is None or hook.org_id != org_id:
            return False
        del self.hooks[hook_id]
        return True

    # -- events ------------------------------------------------------------------------
    def after_items(
        self, endpoint: str, org: OrgConfig, state: OrgState, body: dict[str, Any], now: datetime, request_id: str
    ) -> None:
        """Announce every successful item of a Partner Program answer `body` (as built by `rules._run`,
        before any shaping) to the org's webhooks. Must run on the event loop."""
        top, items_key, status_key, name = _RESULT_KEYS[endpoint]
        for result in body.get(top, []):
            customer_id = result.get("customer", {}).get("id")
            customer = state.customers.get(customer_id) if isinstance(customer_id, int) else None
            if customer is None:
                continue
            for entry in result.get(items_key, []):
                if (entry.get(status_key) or {}).get("code") != 200:
                    continue
                program = org.program(entry.get("partnerProgramName") or "")
                if program is None:
                    continue
                link = state.link(customer.id, program.id)
                if name == UPDATED and self.fx.faulty("event-tier-before-update"):
                    link = self.before.get((customer.id, program.id), link)
                if name == LINKED:
                    pending = state.pending(customer.id, program.id)
                    if pending is not None and pending.start > now:
                        continue  # a queued relink is announced when the scheduler activates it
                extra = {"updateType": entry["updateType"]} if name == UPDATED and "updateType" in entry else {}
                self.emit(
                    org,
                    name,
                    customer.id,
                    state,
                    program.id,
                    link if name != DELINKED else None,
                    now,
                    request_id,
                    extra,
                )

    def emit(
        self,
        org: OrgConfig,
        name: str,
        customer_id: int,
        state: OrgState,
        program_id: int,
        link: Link | None,
        now: datetime,
        request_id: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Build one event and schedule its delivery to the org's subscribed, active webhooks."""
        if self.fx.fault == "event-not-sent":
            return
        program = org.program_by_id(program_id)
        customer = state.customers[customer_id]
        if program is None:
            return
        instore = {
            k: v
            for k, v in (("mobile", customer.mobile), ("email", customer.email), ("externalId", customer.external_id))
            if v is not None
        }
        data: dict[str, Any] = {
            "customerIdentifiers": {"customerId": customer_id, "instore": instore},
            "entityInformation": {"entityType": "USER", "entityId": customer_id},
            "loyaltyProgramId": org.loyalty_program_id,
            "partnerProgramId": program.id,
            "partnerProgramName": program.name,
        }
        if name != REMINDER:
            data["partnerProgramType"] = program.type
        data.update(extra or {})
        if link is not None and name != REMINDER:
            details: dict[str, Any] = {"membershipNumber": link.membership_id}
            if link.tier_name is not None:
                tier = program.tier(link.tier_name)
                if tier is not None:
                    details["partnerTierNumber"] = tier.number
            if link.tier_expiry is not None:
                details["partnerTierExpiryDate"] = link.tier_expiry.astimezone(org.timezone).date().isoformat()
            if link.membership_end is not None and link.membership_end.year < 9999:
                details["membershipExpiryDate"] = link.membership_end.astimezone(org.timezone).date().isoformat()
            data["customerPartnerProgramDetails"] = details
        event = Event(name, data, org, customer, link)
        for shape, transform in EVENT_SHAPES:
            if self.fx.active(shape):
                transform(event)
        self._send(org.org_id, name, self._envelope(org.org_id, name, data, now, request_id))

    def _envelope(self, org_id: int, name: str, data: dict[str, Any], now: datetime, request_id: str) -> dict[str, Any]:
        event_id = str(uuid.uuid4())
        ref_id = f"{org_id}_{secrets.token_urlsafe(8)}"
        if self.form == "wrapped":
            return {
                "eventId": event_id,
                "eventType": name,
                "consumerGroupId": None,
                "actionType": "START",
                "timeStamp": int(time.time() * 1000),
                "attributes": {
                    "createdAt": _ms(now),
                    "data": data,
                    "eventName": name,
                    "refId": ref_id,
                    "apiRequestId": request_id,
                    ("orgId " if self.fx.varies("events-orgid-with-space") else "orgId"): org_id,
                },
            }
        return {
            "eventName": name,
            "eventId": event_id,
            "orgId": org_id,
            "refId": ref_id,
            "apiRequestId": request_id,
            "createdAt": _ms(now),
            "data": data,
            "loyaltyEventId": None,
        }

    # -- delivery ----------------------------------------------------------------------
    def _send(self, org_id: int, name: str, payload: dict[str, Any]) -> None:
        every_org = self.fx.faulty("tenant-events-any-org")  # a fault: one org's events to every org's webhooks
        for hook in list(self.hooks.values()):
            if (
                (hook.org_id == org_id or every_org)
                and hook.active
                and (not hook.event_names or name in hook.event_names)
            ):
                task = asyncio.get_running_loop().create_task(self._deliver(hook, name, payload))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: Webhook, name: str, payload: dict[str, Any]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        headers = {"Content-Type": "application/json", **self._static_headers(hook)}
        redelivered = False
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self._client.post(hook.url, json=payload, headers=headers)
                status: int | str = response.status_code
            except httpx.TransportError as exc:
                status = type(exc).__name__
            if isinstance(status, int):
                hook.unreachable = 0
            elif isinstance(status, str) and status in ("ConnectError", "ConnectTimeout"):
                hook.unreachable += 1
                if hook.unreachable >= UNREACHABLE_LIMIT and hook.active:
                    hook.active = False  # a receiver that is gone (a killed run's sink) stops costing retries
                    logger.warning(
                        "webhook %s: disabled after %d failed connection attempts", hook.id, hook.unreachable
                    )
            self.attempts.append(
                {
                    "webhookId": hook.id,
                    "eventId": payload["eventId"],
                    "eventName": name,
                    "attempt": attempt,
                    "status": status,
                }
            )
            retry = not isinstance(status, int) or status == 429 or status >= 500
            if self.fx.faulty("webhook-retries-4xx"):
                retry = retry or (isinstance(status, int) and status >= 400)
            if self.fx.faulty("webhook-no-retry-429") and status == 429:
                retry = False
            if isinstance(status, int) and 200 <= status < 300 and self.fx.varies("events-delivered-twice"):
                if attempt < self.max_attempts and not redelivered:  # at-least-once: an accepted event once more
                    redelivered = True
                    continue
            if not retry or attempt == self.max_attempts or not hook.active or self.hooks.get(hook.id) is not hook:
                if retry or (isinstance(status, int) and status >= 300):
                    logger.warning(
                        "webhook %s: %s not delivered (%s after %d attempts)", hook.id, name, status, attempt
                    )
                return
            await asyncio.sleep(self._retry_delay(attempt))

    def _static_headers(self, hook: Webhook) -> dict[str, str]:
        """The webhook's configured headers, as every delivery carries them (unless a fault drops some)."""
        if self.fx.faulty("webhook-headers-dropped"):
            return {}
        if self.fx.faulty("webhook-first-header-only"):
            return dict(list(hook.headers.items())[:1])
        return dict(hook.headers)

    def _retry_delay(self, attempt: int) -> float:
        """Seconds before retry number `attempt`: `base_delay` * 2**(attempt-1) (exponential backoff)."""
        if self.fx.faulty("webhook-constant-backoff"):
            return self.base_delay
        if self.fx.varies("webhook-late-retry"):
            return LATE_RETRY_SECONDS * 2 ** (attempt - 1)
        return self.base_delay * 2 ** (attempt - 1)

    def cancel(self) -> None:
        """Cancel every delivery in flight (the server starts over: `_Server.reset`)."""
        for task in list(self._tasks):
            task.cancel()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled delivery has finished (for tests), at most `timeout` seconds."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    # -- the scheduler (clock) -----------------------------------------------------------
    def run_scheduler(
        self, org: OrgConfig, state: OrgState, as_of: date, customer_ids: Iterable[int], program_period: Any
    ) -> dict[str, int]:
        """Run the daily jobs as of `as_of` for `customer_ids` of `org` (see the module docstring).

        `program_period(start, program, tz)` gives a membership's end (rules.add_period). Returns
        `{"activated": n, "reminders": n}`. Must run on the event loop.
        """
        activated = reminders = 0
        moment = datetime.combine(as_of, dtime(12, 0), tzinfo=org.timezone)
        wanted = set(customer_ids)
        for customer_id, relink in state.pending_relinks():
            if customer_id not in wanted or relink.start.astimezone(org.timezone).date() > as_of:
                continue
            program = org.program_by_id(relink.program_id)
            if program is None:
                continue
            old = state.link(customer_id, relink.program_id)
            membership = relink.membership_id or (old.membership_id if old else f"R-{customer_id}")
            tier, expiry = relink.tier_name, relink.tier_expiry
            if self.fx.varies("relink-keeps-unnamed-values") and old is not None:  # AMB-RELINK-ACTIVATION-STATE
                tier, expiry = tier or old.tier_name, expiry or old.tier_expiry
            link = Link(
                relink.program_id,
                membership,
                tier,
                expiry,
                relink.start,
                program_period(relink.start, program, org.timezone) if program.is_supplementary else None,
            )
            state.cancel_relink(customer_id, relink.program_id)
            state.set_link(customer_id, link)
            activated += 1
            self.emit(org, LINKED, customer_id, state, relink.program_id, link, moment, f"scheduler-{uuid.uuid4()}")
        for customer_id in sorted(wanted):
            if customer_id not in state.customers:
                continue
            for link in state.links_of(customer_id):
                if link.membership_end is None or link.membership_end.year >= 9999:
                    continue
                end = link.membership_end.astimezone(org.timezone).date()
                # once per membership (its id, start and end): a customer delinked and linked again has a new one,
                # even when it ends on the same day
                membership = f"{link.membership_id}/{link.membership_start.isoformat()}/{end.isoformat()}"
                key = (org.org_id, customer_id, link.program_id, membership)
                if 0 <= (end - as_of).days <= REMINDER_DAYS and key not in self._reminded:
                    self._reminded.add(key)
                    reminders += 1
                    self.emit(
                        org,
                        REMINDER,
                        customer_id,
                        state,
                        link.program_id,
                        None,
                        moment,
                        f"scheduler-{uuid.uuid4()}",
                        {"scheduledExpiryDate": end.isoformat()},
                    )
        return {"activated": activated, "reminders": reminders}


@dataclass
class Event:
    """An event's `data` being shaped, with what it was built from (its `name`, `org`, `customer`, `link`)."""

    name: str
    data: dict[str, Any]
    org: OrgConfig
    customer: Customer
    link: Link | None

    @property
    def details(self) -> dict[str, Any] | None:
        """customerPartnerProgramDetails, when the event carries them."""
        details: dict[str, Any] | None = self.data.get("customerPartnerProgramDetails")
        return details


def _wrong_customer_id(event: Event) -> None:
    event.data["customerIdentifiers"]["customerId"] += 1_000_000
    event.data["entityInformation"]["entityId"] += 1_000_000


def _null_for_absent(event: Event) -> None:
    """A serialiser that writes absent values as null (AMB-NULL-AS-ABSENT)."""
    c = event.customer
    event.data["customerIdentifiers"]["instore"] = {"mobile": c.mobile, "email": c.email, "externalId": c.external_id}
    if event.details is not None:
        for key in ("partnerTierNumber", "partnerTierExpiryDate", "membershipExpiryDate"):
            event.details.setdefault(key, None)


def _name_padded(event: Event) -> None:
    event.data["partnerProgramName"] += " "  # as the samples' 'Drivers '


def _wrong_program_type(event: Event) -> None:
    if "partnerProgramType" in event.data:  # the type of a program of the other kind
        event.data["partnerProgramType"] = (
            "SUPPLEMENTARY" if event.data["partnerProgramType"] == "EXTERNAL" else "EXTERNAL"
        )


def _update_type_omitted(event: Event) -> None:
    if event.name == UPDATED:
        event.data.pop("updateType", None)


def _dates_as_date_times(event: Event) -> None:
    """A date-time where the samples show a date (AMB-EVENT-DATE-FORMAT)."""
    details, link, tz = event.details, event.link, event.org.timezone
    if details is None or link is None:
        return
    if link.tier_expiry is not None:
        details["partnerTierExpiryDate"] = link.tier_expiry.astimezone(tz).isoformat()
    if "membershipExpiryDate" in details and link.membership_end is not None:
        details["membershipExpiryDate"] = link.membership_end.astimezone(tz).isoformat()


def _without_details(event: Event) -> None:
    """As the enriched partnerProgramLinked sample: membershipExpiryDate only (AMB-EVENT-DETAILS)."""
    if event.details is not None:
        event.data["customerPartnerProgramDetails"] = {
            k: v for k, v in event.details.items() if k == "membershipExpiryDate"
        }


EVENT_SHAPES: tuple[tuple[str, Callable[[Event], None]], ...] = (
    ("event-wrong-customer-id", _wrong_customer_id),
    ("null-for-absent", _null_for_absent),
    ("event-name-padded", _name_padded),
    ("event-wrong-program-type", _wrong_program_type),
    ("event-update-type-omitted", _update_type_omitted),
    ("event-expiry-date-time", _dates_as_date_times),
    ("events-without-details", _without_details),
)
"""The faults and variants of an event's data (seam "events"): (name, transform), in the order they apply."""
