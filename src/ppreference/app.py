"""The reference server's ASGI app (Starlette): routes, auth, envelopes, request log.

Routes (capillary-facts#customer-apis and the three Partner Program pages):

    POST /v2/partnerProgram/linkCustomer                 link-customer
    POST /v2/partnerProgram/customerPartnerProgramUpdate update-partner-program
    POST /v2/partnerProgram/deLinkCustomer               delink-customer
    POST /v3/oauth/token/generate                        (no auth) capillary-facts
    POST /v2/customers                                   capillary-facts
    GET  /v2/customers/lookup                            capillary-facts
    GET  /v2/customers/{id}/loyaltyDetails               capillary-facts
    GET  /v2/organization/programs                       capillary-facts
    POST /v3/webHooks, DELETE /v3/webHooks/{id}          capillary-facts#webhooks-event-notifications
    GET  /__reference__/webhooks, POST /__reference__/clock  (admin: webhooks and delivery attempts;
         the simulated scheduler, see `ppreference.events`)
    GET  /__reference__/requests, /__reference__/state,  (admin, no auth, never
         /__reference__/health                            logged or rate limited)

Every error is the envelope `{"warnings": [], "errors": [{"status": false, "code", "message"}]}`:
401 bad credentials, 404 unknown route, 405 wrong method, 400 malformed body,
413 body over 1 MiB, 429 over the opt-in rate limit (with `Retry-After`); an
unexpected exception answers 500 (a bug: no known input reaches it). Bodies are
read as raw bytes and parsed here, so the Content-Type header is not checked.

`create_app(..., fault=NAME, variant=NAME)` injects one named fault and/or one
conforming variant (`ppreference.faults`, `ppreference.variants`): the rules run are
`inject.rules_for(behaviour)`, the documented rules with the fault's seams applied;
the Partner Program answers and the error envelopes pass through
`shaping.shape_items` / `shaping.shape_error`; the few hooks here are named seams
"app.decode", "app.http", "app.loyalty-details" and "app.read-lag".
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import TOKEN_TTL_SECONDS, Authenticator
from .behaviour import CONFORMING, Behaviour
from .cases import add_period
from .config import OrgConfig
from .effects import Memory, Run, around, find_elsewhere
from .events import EventHub, WebhookError
from .inject import rules_for
from .payloads import (
    MAX_BATCH,
    MAX_BODY_BYTES,
    RequestError,
    decode_json,
    parse_delink_request,
    parse_link_request,
    parse_new_customer,
    parse_update_request,
)
from .ratelimit import RateLimiter
from .rules import resolve_customer, run_delink, run_link, run_update
from .shaping import Shaped, shape_error, shape_items, shape_json
from .state import IDENTIFIER_KINDS, DuplicateIdentifierError, Link, OrgState, Store

__all__ = ["create_app", "envelope"]

logger = logging.getLogger("ppreference")

LOG_KEY = "ppreference.request_log_entry"
ORG_KEY = "ppreference.org"
ADMIN_PREFIX = "/__reference__/"
MAX_LOG_ENTRIES = 10_000

LINK, UPDATE, DELINK = "linkCustomer", "customerPartnerProgramUpdate", "deLinkCustomer"
#: Response header of the Partner Program answers carrying the request id the events repeat as apiRequestId.
REQUEST_ID_HEADER = "X-Cap-Request-Id"

Handler = Callable[[Request, OrgConfig], Awaitable[Response]]
PublicHandler = Callable[[Request], Awaitable[Response]]
Identify = Callable[[Scope], OrgConfig | None]
T = TypeVar("T")


def _mobile_string_only(body: Any) -> None:
    """Variant delink-mobile-string-only: a delink whose customer.mobile is a JSON number is refused (HTTP 400,
    8013), as the other pages type mobile (the other reading of AMB-DELINK-MOBILE-TYPE)."""
    entries = body.get("deLinkCustomers") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        customer = entry.get("customer") if isinstance(entry, dict) else None
        if isinstance(customer, dict) and isinstance(customer.get("mobile"), int):
            raise RequestError(400, 8013, "Invalid identifier: customer.mobile must be a string")


def _mobile_integer_only(body: Any) -> None:
    """Variant delink-mobile-integer-only: a delink customer's mobile given as a string is a type error (the
    delink page types it integer), answered like any other: HTTP 400 with code 8013."""
    entries = body.get("deLinkCustomers") if isinstance(body, dict) else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        customer = entry.get("customer") if isinstance(entry, dict) else None
        if isinstance(customer, dict) and isinstance(customer.get("mobile"), str) and customer["mobile"]:
            raise RequestError(
                400, 8013, f"Invalid identifier: deLinkCustomers[{i}].customer.mobile must be an integer"
            )


class _JSON(JSONResponse):
    """JSON with ASCII escapes, so echoed strings (even lone surrogates) always encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def envelope(http_status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The request-level error response (capillary-facts#http-status-conventions)."""
    body = {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}
    return _JSON(body, status_code=http_status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "Not found", 405: "Method not allowed"}
    code = exc.status_code
    if request.app.state.reference.fx.varies("http-stack-strict"):
        if code == 405:  # RFC 9110 §15.6.2: the method is not implemented for this resource
            return envelope(501, 501, "Not implemented", headers=exc.headers)
        if code == 404:
            return HTMLResponse("<html><body><h1>404 Not Found</h1></body></html>", status_code=404)
    return envelope(code, code, messages.get(code, str(exc.detail)), headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return envelope(500, 500, "Internal server error")


_DATE_KEYS = frozenset({"partnerTierExpiryDate", "membershipStartDate", "updatedTierExpiryDate"})


def _impossible_date(value: Any) -> bool:
    """True when a date member of the body (`_DATE_KEYS`) is written as a date but names none (0000-00-00)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _DATE_KEYS and isinstance(item, str) and len(item) >= 10 and item[4:5] == "-":
                try:
                    date.fromisoformat(item[:10])
                except ValueError:
                    return True
            elif _impossible_date(item):
                return True
    elif isinstance(value, list):
        return any(_impossible_date(v) for v in value)
    return False


def _is_admin(scope: Scope) -> bool:
    return scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX)


class _ApiMiddleware:
    """Base of the ASGI middlewares that act on non-admin HTTP requests only.

    Admin paths (and non-HTTP scopes) pass straight through; for the others `handle` is
    called with the org whose valid credentials the request carries (None without).
    """

    def __init__(self, app: ASGIApp, identify: Identify) -> None:
        self.app = app
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_admin(scope):
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, self.identify(scope))

    async def handle(self, scope: Scope, receive: Receive, send: Send, org: OrgConfig | None) -> None:
        raise NotImplementedError


class _Latency(_ApiMiddleware):
    """ASGI middleware: every non-admin request waits `seconds` before it is handled (`--latency-ms`)."""

    def __init__(self, app: ASGIApp, seconds: float, identify: Identify) -> None:
        super().__init__(app, identify)
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, org: OrgConfig | None) -> None:
        await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


class _RequestLog(_ApiMiddleware):
    """ASGI middleware logging every non-admin request.

    Entry: `{"method", "path", "orgId": int | None, "authenticated": bool, "status": int,
    "changed": bool}`. `orgId`/`authenticated` come from the request's credentials (checked
    on arrival, whatever the route); `changed` is set by the handlers that touch the store.
    """

    def __init__(self, app: ASGIApp, log: deque[dict[str, Any]], identify: Identify) -> None:
        super().__init__(app, identify)
        self.log = log

    async def handle(self, scope: Scope, receive: Receive, send: Send, org: OrgConfig | None) -> None:
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "orgId": org.org_id if org is not None else None,
            "authenticated": org is not None,
            "status": None,
            "changed": False,
        }
        scope[LOG_KEY] = entry
        self.log.append(entry)

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        except Exception:
            entry["status"] = 500
            raise


class _RateLimit(_ApiMiddleware):
    """ASGI middleware refusing non-admin requests over the limit with a 429 envelope.

    Requests are counted per org of their valid credentials; requests without valid
    credentials share one count. The answer carries `Retry-After: <whole seconds>`.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, identify: Identify) -> None:
        super().__init__(app, identify)
        self.limiter = limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, org: OrgConfig | None) -> None:
        retry_after = self.limiter.acquire(org.org_id if org is not None else None)
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        response = envelope(429, 429, "Too many requests", headers={"Retry-After": str(retry_after)})
        await response(scope, receive, send)


async def _read_body(request: Request) -> bytes:
    """The raw body, at most `MAX_BODY_BYTES`; raises `RequestError` 413 beyond."""
    too_large = RequestError(413, 413, f"Request body exceeds {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class _Server:
    """Holds the orgs, the store, the authenticator, the request log and the fault/variant of one app."""

    def __init__(
        self,
        orgs: Sequence[OrgConfig],
        clock: Callable[[], datetime],
        token_ttl_seconds: int,
        behaviour: Behaviour = CONFORMING,
        event_form: str = "flat",
    ) -> None:
        self.orgs = {org.org_id: org for org in orgs}
        self.clock = clock
        self.log: deque[dict[str, Any]] = deque(maxlen=MAX_LOG_ENTRIES)
        self._settings = (list(orgs), token_ttl_seconds, event_form)
        self.reset(behaviour)

    def reset(self, behaviour: Behaviour) -> None:
        """Start over with `behaviour`: an empty store, no webhooks (deliveries in flight are cancelled), no OAuth
        tokens, an empty request log; as a new server with `--fault`/`--variant` would start (the sweep reuses one
        server per job through `POST /__reference__/reset`)."""
        orgs, token_ttl_seconds, event_form = self._settings
        old = getattr(self, "events", None)
        if old is not None:
            old.cancel()
        self.events = EventHub(event_form, behaviour)
        self.store = Store(self.orgs)
        self.fx = behaviour
        self.rules = rules_for(behaviour)
        self.memory = Memory()
        self.lagging = ReadLag() if behaviour.varies("read-lag") else None
        self.auth = Authenticator(orgs, self.now, token_ttl_seconds, behaviour)
        self.log.clear()

    # answers -------------------------------------------------------------------------
    @staticmethod
    def _send(shaped: Shaped, headers: Mapping[str, str] | None = None) -> Response:
        return _JSON(shaped.body, status_code=shaped.status, headers=headers, media_type=shaped.media_type)

    def json(self, body: Any, status: int = 200) -> Response:
        """A JSON answer of a supporting endpoint (extra fields added under variant extra-fields)."""
        return self._send(Shaped(shape_json(self.fx, body), status))

    def error(
        self, endpoint: str | None, http_status: int, code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        """The request-level error envelope, after the fault/variant (`shaping.shape_error`)."""
        return self._send(shape_error(self.fx, endpoint, http_status, code, message), headers)

    async def json_body(self, request: Request) -> Any:
        """The request body decoded (UTF-8, JSON); `RequestError` 400 when it is neither."""
        raw = await _read_body(request)
        if self.fx.faulty("malformed-json-500"):
            return json.loads(raw)  # no error handling: a body that is not JSON becomes an unhandled error
        return decode_json(raw)

    def _name_keys_unchecked(self, body: Any, top: str, items_key: str) -> None:
        """Fault name-key-missing-500: every item's partnerProgramName is read with [] (a KeyError, HTTP 500,
        for an item without the key)."""
        if not self.fx.faulty("name-key-missing-500") or not isinstance(body, dict):
            return
        for entry in body.get(top) or []:
            for item in (entry.get(items_key) or []) if isinstance(entry, dict) else []:
                if isinstance(item, dict):
                    item["partnerProgramName"].strip()

    async def partner_body(self, request: Request) -> Any:
        """A Partner Program body (`json_body`); under variant http-stack-strict a non-JSON content type is
        refused with 415 and a body naming an impossible calendar date with 400 before any item is run."""
        strict_stack = self.fx.varies("http-stack-strict")
        if strict_stack:
            media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media and media != "application/json" and not media.endswith("+json"):
                raise RequestError(415, 415, f"Unsupported media type {media}")
        body = await self.json_body(request)
        if strict_stack and _impossible_date(body):
            raise RequestError(400, 400, "Invalid date: no such calendar date")
        return body

    def now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def identify(self, scope: Scope) -> OrgConfig | None:
        """The org whose valid credentials the request carries, or None; checked once per request."""
        if ORG_KEY not in scope:
            scope[ORG_KEY] = self.auth.authenticate(Headers(scope=scope))
        org: OrgConfig | None = scope[ORG_KEY]
        return org

    def apply(self, request: Request, action: Callable[[], T]) -> T:
        """Run `action` and flag the request's log entry `changed` when the store's revision moved.

        `action` is synchronous, so no other request's changes interleave with it.
        """
        before = self.store.revision
        try:
            return action()
        finally:
            entry = request.scope.get(LOG_KEY)
            if entry is not None and self.store.revision != before:
                entry["changed"] = True

    # wrappers --------------------------------------------------------------------
    def public(self, handler: PublicHandler, endpoint: str | None = None) -> PublicHandler:
        """Wrap a handler: `RequestError` -> envelope, anything else -> 500 envelope.

        `endpoint`: the Partner Program endpoint served (for the faults of its envelopes)."""

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestError as exc:
                return self.error(endpoint, exc.http_status, exc.code, exc.message)
            except ClientDisconnect:
                return self.error(endpoint, 400, 400, "Client disconnected")
            except Exception as exc:  # last resort: must never be reached (faults renew-500, delink-batch-500 do)
                return await _server_error(request, exc)

        return wrapped

    def authed(self, handler: Handler, endpoint: str | None = None) -> PublicHandler:
        """Wrap a handler that needs an org: no valid credentials -> 401 envelope."""

        async def with_org(request: Request) -> Response:
            org = self.identify(request.scope)
            if org is None:
                return self.error(endpoint, 401, 401, "Authentication failed")
            return await handler(request, org)

        return self.public(with_org, endpoint)

    # partner program endpoints -------------------------------------------------------
    def _items(self, endpoint: str, result: tuple[dict[str, Any], bool], org: OrgConfig | None = None) -> Response:
        body, all_ok = result
        headers: dict[str, str] = {}
        if org is not None:  # announce the successful items to the org's webhooks (ppreference.events)
            request_id = uuid.uuid4().hex
            headers[REQUEST_ID_HEADER] = request_id
            self.events.after_items(endpoint, org, self.store.org(org.org_id), body, self.now(), request_id)
        # 200 when every item succeeded, 201 otherwise (AMB-ITEM-FAILURE-HTTP-STATUS); see shaping.shape_items
        return self._send(shape_items(self.fx, endpoint, body, all_ok), headers)

    def _run(
        self, request: Request, endpoint: str, org: OrgConfig, batches: Any, run: Run
    ) -> tuple[dict[str, Any], bool]:
        """Apply a Partner Program request with the rules (`run`), inside the wrong effects of the active fault
        (`effects.around`: none when conforming), flagging the log entry when the store changed."""
        before = self._links_of(org, batches) if self.fx.fault == "event-tier-before-update" or self.lagging else {}
        if self.lagging is not None:
            self.lagging.before(org.org_id, before)
        result = self.apply(
            request,
            lambda: around(self.fx, endpoint, org, self.store, self.orgs, batches, run, self.memory),
        )
        self.events.before = before
        if self.lagging is not None:
            self.lagging.after(self.store.org(org.org_id), {cid for cid, _ in before} | _answered_ids(result[0]))
        return result

    def _links_of(self, org: OrgConfig, batches: Any) -> dict[tuple[int, int], Any]:
        state = self.store.org(org.org_id)
        out = {}
        for batch in batches:
            customer = resolve_customer(state, batch.customer)[0]
            if customer is not None:
                for link in state.links_of(customer.id):
                    out[(customer.id, link.program_id)] = link
        return out

    async def link(self, request: Request, org: OrgConfig) -> Response:
        body = await self.partner_body(request)
        self._name_keys_unchecked(body, "linkCustomers", "linkToPartnerPrograms")
        batches = parse_link_request(
            body,
            self.fx.batch_limit(LINK, MAX_BATCH),
            unchecked_reference=self.fx.faulty("null-item-500"),
            empty_is_value=self.fx.varies("empty-identifier-is-a-value"),
        )
        return self._items(
            LINK, self._run(request, LINK, org, batches, lambda o, s, b: run_link(o, s, b, self.now(), self.rules)), org
        )

    async def update(self, request: Request, org: OrgConfig) -> Response:
        body = await self.partner_body(request)
        self._name_keys_unchecked(body, "customersPartnerUpdates", "partnerProgramUpdates")
        batches = parse_update_request(
            body, self.fx.batch_limit(UPDATE, MAX_BATCH), empty_is_value=self.fx.varies("empty-identifier-is-a-value")
        )
        return self._items(
            UPDATE,
            self._run(request, UPDATE, org, batches, lambda o, s, b: run_update(o, s, b, self.now(), self.rules)),
            org,
        )

    async def delink(self, request: Request, org: OrgConfig) -> Response:
        body = await self.partner_body(request)
        if self.fx.varies("delink-mobile-integer-only"):
            _mobile_integer_only(body)
        if self.fx.varies("delink-mobile-string-only"):
            _mobile_string_only(body)
        batches = parse_delink_request(
            body, self.fx.batch_limit(DELINK, MAX_BATCH), empty_is_value=self.fx.varies("empty-identifier-is-a-value")
        )
        return self._items(
            DELINK,
            self._run(request, DELINK, org, batches, lambda o, s, b: run_delink(o, s, b, self.now(), self.rules)),
            org,
        )

    # supporting endpoints (capillary-facts) -------------------------------------------------
    async def token(self, request: Request) -> Response:
        """`{"key", "secret"}` -> `{"data": {"accessToken", "ttlSeconds"}, "errors": null}`."""
        body = await self.json_body(request)
        if not isinstance(body, dict):
            raise RequestError(400, 400, "Invalid request: body must be an object")
        issued = self.auth.issue_token(body.get("key"), body.get("secret"))
        if issued is None:
            return self.error(None, 401, 401, "Authentication failed")
        token, ttl = issued
        return self.json({"data": {"accessToken": token, "ttlSeconds": ttl}, "errors": None})

    async def add_customer(self, request: Request, org: OrgConfig) -> Response:
        """-> `{"createdId", "warnings": [], "sideEffects": []}`; 8003 duplicate, 8013 none."""
        new = parse_new_customer(await self.json_body(request))
        try:
            customer = self.apply(
                request,
                lambda: self.store.create_customer(
                    org.org_id,
                    mobile=new.mobile,
                    email=new.email,
                    external_id=new.external_id,
                    enrolled=new.enrolled,
                ),
            )
        except DuplicateIdentifierError as exc:
            raise RequestError(400, 8003, "identifier already in use") from exc
        return self.json({"createdId": customer.id, "warnings": [], "sideEffects": []})

    async def lookup(self, request: Request, org: OrgConfig) -> Response:
        """`?identifierName=mobile|email|externalId&identifierValue=v` -> `{"entity", ...}`."""
        name = request.query_params.get("identifierName")
        value = request.query_params.get("identifierValue")
        if name not in IDENTIFIER_KINDS or not value:
            raise RequestError(400, 8013, "Invalid identifier")
        customer = self.store.org(org.org_id).find(name, value)
        elsewhere = find_elsewhere(self.fx, self.store, org, self.orgs, name, value) if customer is None else None
        customer = elsewhere[0] if elsewhere else customer
        if customer is None:
            raise RequestError(400, 8015, "No customer found with the given identifier")
        return self.json({"entity": customer.id, "warnings": []})

    async def loyalty_details(self, request: Request, org: OrgConfig) -> Response:
        """-> `{"id", "linkedPartnerPrograms": [...], "warnings": []}`; unknown id -> 8015."""
        state = self.store.org(org.org_id)
        try:
            customer_id: int | None = int(request.path_params["customer_id"])
        except ValueError:
            customer_id = None
        customer = state.find("id", customer_id)
        if customer is None and (found := find_elsewhere(self.fx, self.store, org, self.orgs, "id", customer_id)):
            customer, org = found
            state = self.store.org(org.org_id)
        if customer is None:
            raise RequestError(400, 8015, "No customer found with the given identifier")
        linked = []
        links = state.links_of(customer.id)
        if self.lagging is not None:  # variant read-lag: what was stored 0.3-0.8 s ago
            links = self.lagging.shown(org.org_id, customer.id, links)
        for link in links:
            program = org.program_by_id(link.program_id)
            if program is None:
                continue
            tier = program.tier(link.tier_name) if link.tier_name is not None else None
            expiry = link.tier_expiry
            shown: str | None = expiry.isoformat() if expiry is not None else None
            if expiry is not None and self.fx.varies("tier-expiry-utc-date"):
                shown = expiry.astimezone(UTC).date().isoformat()
            if expiry is not None and self.fx.varies("tier-expiry-day-month-year"):
                shown = expiry.astimezone(org.timezone).strftime("%d/%m/%Y")
            linked.append(
                {
                    "partnerProgramId": program.id,
                    "partnerProgramName": program.name,
                    "partnerTierNumber": tier.number if tier else None,
                    "partnerTierName": link.tier_name,
                    "partnerTierExpiryDate": shown,
                    "partnerMembershipId": link.membership_id,
                    "partnerProgramType": program.type,
                    "tierBased": program.tier_based,
                }
            )
        if customer.enrolled and self.fx.varies("undeclared-program-at-enrolment"):
            linked.insert(0, _welcome_program(customer.id))
        return self.json({"id": customer.id, "linkedPartnerPrograms": linked, "warnings": []})

    async def programs(self, request: Request, org: OrgConfig) -> Response:
        """-> `{"partnerPrograms": [...as configured...], "warnings": []}`."""
        return self.json({"partnerPrograms": [p.to_json() for p in org.programs], "warnings": []})

    async def create_webhook(self, request: Request, org: OrgConfig) -> Response:
        """`POST /v3/webHooks` -> `{"entity": {webhook, header values as ***}, "warnings": []}`; 400 on a bad body."""
        body = await self.json_body(request)
        try:
            hook = self.events.register(org.org_id, body)
        except WebhookError as exc:
            raise RequestError(400, 400, str(exc)) from exc
        return self.json({"entity": hook.to_json(), "warnings": []})

    async def delete_webhook(self, request: Request, org: OrgConfig) -> Response:
        """`DELETE /v3/webHooks/{id}` -> `{"entity": {"id"}, "warnings": []}`; 404 envelope for another org's or
        an unknown id."""
        raw = request.path_params["hook_id"]
        if not raw.isdigit() or not self.events.delete(org.org_id, int(raw)):
            return self.error(None, 404, 404, "No such webhook")
        return self.json({"entity": {"id": int(raw)}, "warnings": []})

    # admin -----------------------------------------------------------------------------------
    async def webhooks(self, request: Request) -> Response:
        """-> `{"webhooks": [...header values ***...], "attempts": [{"webhookId", "eventId", "eventName",
        "attempt", "status"}]}`, oldest attempt first."""
        return _JSON(
            {
                "webhooks": [h.to_json() | {"orgId": h.org_id} for h in self.events.hooks.values()],
                "attempts": list(self.events.attempts),
            }
        )

    async def run_clock(self, request: Request) -> Response:
        """`POST /__reference__/clock {"asOf": "YYYY-MM-DD", "customerIds": [int]}`: run the scheduler as of
        that date for those customers only (`EventHub.run_scheduler`) -> `{"activated", "reminders"}`."""
        body = await self.json_body(request)
        try:
            as_of = date.fromisoformat(body["asOf"])
            ids = [int(i) for i in body["customerIds"]]
        except (TypeError, KeyError, ValueError) as exc:
            raise RequestError(400, 400, "Invalid request: {asOf: YYYY-MM-DD, customerIds: [int]}") from exc
        total = {"activated": 0, "reminders": 0}
        for org in self.orgs.values():
            state = self.store.org(org.org_id)
            done = self.events.run_scheduler(org, state, as_of, [i for i in ids if i in state.customers], add_period)
            total = {k: total[k] + done[k] for k in total}
            if self.lagging is not None:
                self.lagging.after(state, {i for i in ids if i in state.customers})
        return _JSON(total)

    async def requests(self, request: Request) -> Response:
        """-> `{"requests": [{"method", "path", "orgId", "authenticated", "status", "changed"}]}`.

        Oldest first, at most `MAX_LOG_ENTRIES`; see `_RequestLog` for the fields.
        """
        return _JSON({"requests": list(self.log)})

    async def state(self, request: Request) -> Response:
        """-> `{"orgs": [{"orgId", "name", "customers": int, "links": [...]}]}`, orgs as configured.

        `customers` counts the org's registered customers. `links` holds one entry
        `{"customerId", "mobile", "email", "externalId", "partnerProgramName",
        "partnerTierName", "pending": false}` per link (customers in registration order,
        then links in the order made), then one with `"pending": true` per queued relink
        (in the order queued; its tier is the relink's). Unknown identifiers are null.
        """
        return _JSON({"orgs": [self._state_of(org) for org in self.orgs.values()]})

    def _state_of(self, org: OrgConfig) -> dict[str, Any]:
        state = self.store.org(org.org_id)

        def entry(customer_id: int, program_id: int, tier: str | None, pending: bool) -> dict[str, Any]:
            customer = state.customers[customer_id]
            program = org.program_by_id(program_id)
            return {
                "customerId": customer_id,
                "mobile": customer.mobile,
                "email": customer.email,
                "externalId": customer.external_id,
                "partnerProgramName": program.name if program is not None else "",
                "partnerTierName": tier,
                "pending": pending,
            }

        links = [
            entry(customer_id, link.program_id, link.tier_name, False)
            for customer_id in state.customers
            for link in state.links_of(customer_id)
        ]
        links += [
            entry(customer_id, relink.program_id, relink.tier_name, True)
            for customer_id, relink in state.pending_relinks()
        ]
        return {"orgId": org.org_id, "name": org.name, "customers": len(state.customers), "links": links}

    async def health(self, request: Request) -> Response:
        return _JSON({"status": "ok"})

    async def reset_behaviour(self, request: Request) -> Response:
        """`POST /__reference__/reset {"fault": NAME|null, "variant": NAME|null}` -> `{"fault", "variant"}`: the
        server starts over with that fault or variant (`reset`); 400 naming an unknown one."""
        try:
            body = json.loads(await request.body() or b"{}")
            behaviour = Behaviour(body.get("fault"), body.get("variant"))
        except (ValueError, AttributeError) as exc:
            return _JSON({"error": str(exc)}, status_code=400)
        self.reset(behaviour)
        return _JSON({"fault": behaviour.fault, "variant": behaviour.variant})


def create_app(
    orgs: Sequence[OrgConfig],
    *,
    clock: Callable[[], datetime] | None = None,
    token_ttl_seconds: int = TOKEN_TTL_SECONDS,
    rate_limit_per_minute: int | None = None,
    monotonic: Callable[[], float] | None = None,
    fault: str | None = None,
    variant: str | None = None,
    event_form: str = "flat",
    latency_ms: int = 0,
) -> Starlette:
    """Build the reference server for `orgs`.

    Arguments:
    - `orgs`: org configs (see `ppreference.config.load_orgs`); ids must be unique.
    - `clock`: returns "now" as an aware datetime (default: the system clock, UTC);
      inject one to test date rules near midnight. Token expiry uses it too.
    - `token_ttl_seconds`: lifetime of OAuth tokens in seconds (>= 1, default 300);
      the token endpoint answers it as `ttlSeconds`.
    - `rate_limit_per_minute`: None (default) for no limit; else the requests (>= 1)
      each org's credentials, and all unauthenticated requests together, may make in
      any 60 s; more get 429 with `Retry-After`. Admin routes are never limited.
    - `monotonic`: seconds that never go back, for the rate limit window (default
      `time.monotonic`); inject one to test it.
    - `fault`: a name of `ppreference.faults.FAULTS` to inject (default None: conforming).
    - `variant`: a name of `ppreference.faults.VARIANTS`, a conforming alternative (default None).
    - `event_form`: "flat" (default) or "wrapped", the envelope of the webhook events (`ppreference.events`).
    - `latency_ms`: milliseconds every non-admin answer waits first (a staging org's latency; default 0).

    Raises `ValueError` for repeated org ids, an out-of-range ttl or limit, or an
    unknown fault or variant name. The returned Starlette app keeps its `_Server`
    (store, log) in `app.state.reference`.
    """
    if len({org.org_id for org in orgs}) != len(orgs):
        raise ValueError("org ids must be unique")
    behaviour = Behaviour(fault, variant)
    server = _Server(orgs, clock or (lambda: datetime.now(UTC)), token_ttl_seconds, behaviour, event_form)
    middleware = [Middleware(_RequestLog, log=server.log, identify=server.identify)]
    if rate_limit_per_minute is not None:
        limiter = RateLimiter(rate_limit_per_minute, monotonic or time.monotonic)
        middleware.append(Middleware(_RateLimit, limiter=limiter, identify=server.identify))
    if latency_ms:
        middleware.append(Middleware(_Latency, seconds=latency_ms / 1000, identify=server.identify))
    a, p = server.authed, server.public
    partner = "/v2/partnerProgram"
    routes = [
        Route(f"{partner}/linkCustomer", a(server.link, LINK), methods=["POST"]),
        Route(f"{partner}/customerPartnerProgramUpdate", a(server.update, UPDATE), methods=["POST"]),
        Route(f"{partner}/deLinkCustomer", a(server.delink, DELINK), methods=["POST"]),
        Route("/v3/oauth/token/generate", p(server.token), methods=["POST"]),
        Route("/v2/customers", a(server.add_customer), methods=["POST"]),
        Route("/v2/customers/lookup", a(server.lookup), methods=["GET"]),
        Route("/v2/customers/{customer_id}/loyaltyDetails", a(server.loyalty_details), methods=["GET"]),
        Route("/v2/organization/programs", a(server.programs), methods=["GET"]),
        Route("/v3/webHooks", a(server.create_webhook), methods=["POST"]),
        Route("/v3/webHooks/{hook_id}", a(server.delete_webhook), methods=["DELETE"]),
        Route(f"{ADMIN_PREFIX}webhooks", p(server.webhooks), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}clock", p(server.run_clock), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}requests", p(server.requests), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}state", p(server.state), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}health", p(server.health), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}reset", p(server.reset_behaviour), methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.router.redirect_slashes = False  # "/x/" is an unknown route (404), not a redirect
    app.state.reference = server
    return app


def _answered_ids(body: Any) -> set[int]:
    """The ids of the customers an item-level answer reports as found."""
    out = set()
    for key in ("linkCustomers", "customersPartnerUpdates"):
        for entry in body.get(key, []) if isinstance(body, dict) else []:
            cid = (entry.get("customer") or {}).get("id")
            if isinstance(cid, int):
                out.add(cid)
    return out


class ReadLag:
    """Variant read-lag: loyaltyDetails shows a customer's links as they were 0.3-0.8 s before (a replicated read
    path); answers and events are immediate. Each write's result becomes visible after its own lag."""

    def __init__(self, seed: int = 20261207) -> None:
        self.random = random.Random(seed)
        self.history: dict[tuple[int, int], list[tuple[float, list[Link]]]] = {}

    def before(self, org_id: int, links: Mapping[tuple[int, int], Link]) -> None:
        """Before a write: the customers' current links stay visible until the write's lag has passed."""
        current: dict[int, list[Link]] = {}
        for (cid, _), link in links.items():
            current.setdefault(cid, []).append(link)
        for cid, shown in current.items():
            self.history.setdefault((org_id, cid), [(0.0, shown)])

    def after(self, state: OrgState, customer_ids: set[int]) -> None:
        """After a write: the customers' new links, visible from now plus a lag of 0.3-0.8 s."""
        visible = time.monotonic() + self.random.uniform(0.3, 0.8)
        for cid in customer_ids:
            self.history.setdefault((state.org_id, cid), [(0.0, [])]).append((visible, list(state.links_of(cid))))

    def shown(self, org_id: int, customer_id: int, current: list[Link]) -> list[Link]:
        """The links loyaltyDetails shows now (the latest visible ones; `current` when no write touched them)."""
        history = self.history.get((org_id, customer_id))
        if not history:
            return current
        now = time.monotonic()
        return next((links for at, links in reversed(history) if at <= now), history[0][1])


def _welcome_program(customer_id: int) -> dict[str, Any]:
    """The loyaltyDetails entry of the org's own welcome program (variant undeclared-program-at-enrolment): a
    program the org links every loyalty customer to, which no profile declares."""
    return {
        "partnerProgramId": 9901,
        "partnerProgramName": "Welcome-Partner",
        "partnerTierNumber": None,
        "partnerTierName": None,
        "partnerTierExpiryDate": None,
        "partnerMembershipId": f"W-{customer_id}",
        "partnerProgramType": "EXTERNAL",
        "tierBased": False,
    }
