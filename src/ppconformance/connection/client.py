"""HTTP client for the Partner Program API and the supporting customer APIs.

Every call returns an `Exchange` (request and response, as sent and received)
and is appended to `PartnerProgramClient.exchanges`, so that a failing scenario
can show exactly what crossed the wire, redacted by `Exchange.render()`.

Exceptions (each is an *error* of the run, never a conformance failure):

    TargetError            the target could not be used
    ├── TargetUnreachable  connect failure, reset, or timeout (after the transport retries)
    ├── TargetBroken       a 5xx to a request no requirement covers, a body over the size cap, ...
    ├── RateLimited        HTTP 429 beyond what the profile lets the suite wait for
    └── AuthFailed         the target refused the profile's own credentials (stops the run)
    WriteRefused           the suite tried to change state on a target its profile keeps read-only

Transport policy (profile keys in brackets): a client-side limiter
[rate_limit_per_minute: one window for the whole run, its processes sharing it
through a file when xdist runs the scenarios, `share_rate_limit`]; connect and read
timeouts and an overall deadline per request [connect_timeout_seconds,
timeout_seconds]; retries only for failures in transport before an answer
[retries: connect errors for every method, read errors for GETs only, so a
POST is never sent twice]; HTTP 429 honoured with `Retry-After` (seconds or
HTTP date) or else exponential backoff [max_retry_after_seconds]; response
bodies capped [max_response_bytes]. Assertions are never retried.

The suite reaches the target only through this module (`plain_request` for what is not a partner-program
call), except the fuzz stage, whose generated cases schemathesis sends itself (`steps/test_fuzz.py`).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pyrate_limiter import Duration, Limiter, Rate, SQLiteBucket

from ppconformance.connection.profile import OrgProfile, Profile
from ppconformance.contract.endpoints import DELINK, LINK, UPDATE

__all__ = [
    "AuthFailed",
    "Exchange",
    "PartnerProgramClient",
    "PlainAnswer",
    "RateLimited",
    "TargetBroken",
    "TargetError",
    "TargetUnreachable",
    "WriteRefused",
    "basic_auth_header",
    "adopt_tokens",
    "forget_tokens",
    "held_tokens",
    "plain_request",
    "probe_target",
    "redact_text",
    "share_rate_limit",
]

_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}
"""The OAuth tokens this process holds: (target base URL, SHA-256 of the org's key and secret) -> (access token,
`time.monotonic()` after which it is renewed). Every client of one org and target in a process shares its token (the
preflight's, the scenarios', the webhook registration's and deregistration's): a token is valid for its `ttlSeconds`
(capillary-facts#authentication), so one generation per process serves them all. Kept in memory only."""


def forget_tokens() -> None:
    """Drop every OAuth token this process holds (`_TOKENS`): the next request of each org generates a new one.
    The project's self-tests call it before each test, so that a test's token requests are its own."""
    _TOKENS.clear()


def held_tokens() -> dict[str, list[Any]]:
    """The valid OAuth tokens this process holds, as plain data for another process of the run (an xdist worker,
    `RunContext.oauth_tokens`): "<base URL> <digest of key and secret>" -> [access token, seconds it stays valid].
    Secret: never logged or written."""
    now = time.monotonic()
    held = _TOKENS.items()
    return {f"{base} {digest}": [token, until - now] for (base, digest), (token, until) in held if until > now}


def adopt_tokens(tokens: Mapping[str, Any]) -> None:
    """Hold the tokens another process of the run generated (`held_tokens`' shape), so that this process's clients
    of those orgs send no token request of their own. Entries that are not of that shape are ignored."""
    now = time.monotonic()
    for key, value in tokens.items():
        base, _, digest = key.rpartition(" ")
        if base and isinstance(value, list | tuple) and len(value) == 2 and float(value[1]) > 0:
            _TOKENS[(base, digest)] = (str(value[0]), now + float(value[1]))


_SENSITIVE_HEADERS = {"authorization", "x-cap-api-oauth-token", "cap-api-access-token", "cookie", "set-cookie"}


class TargetError(Exception):
    """The target could not be used (unreachable, timed out, refused our own credentials)."""


class TargetUnreachable(TargetError):
    """Connecting to the target failed or a request timed out."""


class AuthFailed(TargetError):
    """The target refused the credentials the profile declares (HTTP 401, or OAuth token generation refused)."""


class TargetBroken(TargetError):
    """The target answered, but not in a way any requirement covers (5xx to a setup request, oversized body)."""


class RateLimited(TargetError):
    """HTTP 429 persisted, or asked for a longer wait than `max_retry_after_seconds`."""


class WriteRefused(RuntimeError):
    """The suite was about to change state on a target whose profile does not allow writes (a suite defect:
    the write guard skips such scenarios before they start)."""


_LIMITERS: dict[tuple[int, str | None], Limiter] = {}
_SHARED_WINDOW: str | None = None
"""The file of the run's shared rate-limit window (`share_rate_limit`); None: this process keeps its own."""
_SSL_CONTEXT = None  # one verified TLS context per process: loading the CA bundle costs ~0.1 s per client


def _transport(retries: int) -> httpx.HTTPTransport:
    """An httpx transport retrying connect errors `retries` times, sharing the process's TLS context."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return httpx.HTTPTransport(retries=retries, verify=_SSL_CONTEXT)


_MAX_429_ATTEMPTS = 5


SHARED_WINDOW_TABLE = "pp_conformance_requests"
"""The table of the shared window's SQLite file (`share_rate_limit`): one row per request in the last minute."""


def share_rate_limit(path: str | None) -> None:
    """Count this process's requests from now on in one window shared by every process naming the same `path`.

    `path` is a SQLite file (created on first use) holding the sent requests' times, read and written under a file
    lock (`pyrate_limiter.SQLiteBucket` with `filelock`): the xdist controller and workers of a run then send at
    most `rate_limit_per_minute` together, whichever of them sends, so a worker that only waits (a webhook
    scenario's delivery deadline or retry window) leaves the whole rate to the others. None goes back to a window
    of the process's own (`_limiter`'s 1/N share of N workers). The run set-up calls it in each process
    (`plugin.run_setup`, path `RunContext.rate_limit_file`); limiters already made keep their window."""
    global _SHARED_WINDOW
    _SHARED_WINDOW = path


def _limiter(per_minute: int | None, workers: int = 1) -> Limiter | None:
    """The process's limiter for `per_minute` requests per minute over the whole run: the run's shared window
    (`share_rate_limit`) at the full rate when there is one, else one of the process's own, where each of
    `workers` processes (`RunContext.workers`) gets a 1/N share, at least 1. None without a rate limit."""
    if not per_minute:
        return None
    shared = _SHARED_WINDOW
    share = per_minute if shared else max(1, per_minute // max(1, workers))
    key = (share, shared)
    if key not in _LIMITERS:
        rates = [Rate(share, Duration.MINUTE)]
        if shared:
            bucket = SQLiteBucket.init_from_file(rates, table=SHARED_WINDOW_TABLE, db_path=shared, use_file_lock=True)
            _LIMITERS[key] = Limiter(bucket)
        else:
            _LIMITERS[key] = Limiter(rates)
    return _LIMITERS[key]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    Returns None when the header is absent or unparsable; never negative.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def probe_target(base_url: str, profile: Profile) -> None:
    """Check that `base_url` accepts a connection and starts an answer (any status) within the profile's
    timeouts. Reads no body. Raises `TargetUnreachable` with the cause."""
    timeout = httpx.Timeout(profile.timeout_seconds, connect=profile.connect_timeout_seconds)
    try:
        with httpx.Client(timeout=timeout, transport=_transport(profile.retries)) as http, http.stream("GET", base_url):
            pass
    except httpx.TimeoutException as exc:
        raise TargetUnreachable(
            f"GET {base_url}: no answer within {profile.timeout_seconds} s ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        raise TargetUnreachable(f"GET {base_url}: {type(exc).__name__}: {exc}") from exc


def basic_auth_header(till: str, password: str) -> str:
    """Capillary Basic auth: `Basic base64(till:md5hex(password))` (capillary-facts#authentication).

    >>> basic_auth_header("store.server", "server123")
    'Basic c3RvcmUuc2VydmVyOjhhMTZhNmI3MDUwNWViMWYxZmY3Y2RjMGNkNTU1OWE3'
    """
    digest = hashlib.md5(password.encode("utf-8")).hexdigest()
    return "Basic " + base64.b64encode(f"{till}:{digest}".encode()).decode("ascii")


def _secret_forms(secret: str) -> list[str]:
    """A secret and the forms it can take on the wire (md5 hex)."""
    return [secret, hashlib.md5(secret.encode("utf-8")).hexdigest()]


def redact_text(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """`text` with every secret (and its md5 hex form) replaced by `***`."""
    for secret in secrets:
        for form in _secret_forms(secret):
            if form:
                text = text.replace(form, "***")
    return text


@dataclass
class Exchange:
    """One HTTP request and its response.

    `response_json` is the parsed body, or None when the body is not JSON.
    `elapsed_ms` is the round trip in milliseconds.
    """

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    response_text: str
    response_json: Any
    elapsed_ms: float
    secrets: list[str] = field(default_factory=list, repr=False)
    started_at: float = 0.0
    """When the request was sent: seconds since the epoch (UTC)."""

    def __repr__(self) -> str:
        """Short and credential-free (tracebacks show arguments): method, URL, status."""
        return f"Exchange({self.method} {self.url} -> HTTP {self.status})"

    def traffic_record(self, scenario: str | None = None) -> dict[str, Any]:
        """The exchange as one JSON line of `reports/traffic/*.jsonl` (the evidence bundle's HAR): sensitive
        headers as `***`, every secret redacted from headers and bodies; `started` is ISO 8601 UTC."""
        body = self.request_body
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="backslashreplace")
        elif body is not None and not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False)

        def headers(h: dict[str, str]) -> dict[str, str]:
            return {k: "***" if k.lower() in _SENSITIVE_HEADERS else redact_text(v, self.secrets) for k, v in h.items()}

        return {
            "started": datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="milliseconds"),
            "elapsed_ms": round(self.elapsed_ms, 3),
            "method": self.method,
            "url": redact_text(self.url, self.secrets),
            "request_headers": headers(self.request_headers),
            "request_body": None if body is None else redact_text(body, self.secrets),
            "status": self.status,
            "response_headers": headers(self.response_headers),
            "response_text": redact_text(self.response_text, self.secrets),
            "scenario": scenario,
        }

    def render(self, limit: int = 4000) -> str:
        """The exchange as text with credentials redacted and bodies cut at `limit` characters."""

        def headers(h: dict[str, str]) -> str:
            return "\n".join(f"  {k}: {'***' if k.lower() in _SENSITIVE_HEADERS else v}" for k, v in h.items())

        body = self.request_body
        if isinstance(body, bytes):
            req = body.decode("utf-8", errors="backslashreplace")
        elif isinstance(body, str):
            req = body
        else:
            req = json.dumps(body, indent=1, ensure_ascii=False)
        resp = self.response_text
        text = (
            f"> {self.method} {self.url}\n{headers(self.request_headers)}\n{req[:limit]}\n"
            f"< HTTP {self.status} ({self.elapsed_ms:.0f} ms)\n{headers(self.response_headers)}\n"
            f"{resp[:limit]}{' …(cut)' if len(resp) > limit else ''}"
        )
        return redact_text(text, self.secrets)


class PartnerProgramClient:
    """Talks to one org of a target.

    Arguments:
    - `base_url`: e.g. "https://eu.api.capillarytech.com" (no trailing path).
    - `profile`: the effective profile (paths, timeouts, limits, write permission, secrets for redaction).
    - `org`: the org whose credentials are sent.
    - `http`: an httpx client to use instead of the default (tests inject a MockTransport).
    - `workers`: how many processes share the run's rate limit (`RunContext.workers`); this one gets 1/N of it
      unless the run shares one window (`share_rate_limit`).

    OAuth tokens are fetched from `/v3/oauth/token/generate` and reused until
    30 s before `ttlSeconds` runs out (capillary-facts#authentication), by every
    client of the same org and target in the process (`_TOKENS`). A 401
    to a request carrying the profile's own credentials renews an OAuth token
    once, then raises `AuthFailed`. `requests_sent` counts every HTTP request,
    retries and token requests included.
    """

    def __init__(
        self, base_url: str, profile: Profile, org: OrgProfile, http: httpx.Client | None = None, workers: int = 1
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.org = org
        self.exchanges: list[Exchange] = []
        self.requests_sent = 0
        timeout = httpx.Timeout(profile.timeout_seconds, connect=profile.connect_timeout_seconds)
        self._http = http or httpx.Client(timeout=timeout, transport=_transport(profile.retries))
        self._limiter = _limiter(profile.rate_limit_per_minute, workers)
        self._token: tuple[str, float] | None = None
        self._token_key = (
            self.base_url,
            hashlib.sha256(f"{org.auth.key}\0{org.auth.secret}".encode()).hexdigest(),
        )
        self._write_paths = {*profile.paths.values(), "/v2/customers"}
        # shared with every Exchange, so that a token learnt later is redacted everywhere
        self._secrets: list[str] = list(profile.secrets())

    @property
    def secrets(self) -> list[str]:
        """The values to redact wherever a request or response is echoed: the profile's secrets plus every
        OAuth token learnt since (a live list: tokens issued later are appended to it). Never log it."""
        return self._secrets

    # -- transport -------------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        auth: bool = True,
        harmless: bool = False,
    ) -> Exchange:
        """Send one request and record it.

        `json_body` is serialised as JSON; `content` is sent as is (for
        malformed bodies). `auth=False` sends no credentials. `harmless=True`
        declares a request that cannot change state on a conforming target
        (unknown program, over-long batch); only such requests, and requests
        without the profile's credentials, may go to the write endpoints of a
        target whose profile does not allow writes (else `WriteRefused`).
        Returns the `Exchange`; raises the `TargetError`s of the module docstring.
        """
        if method != "GET" and auth and not harmless and not self.profile.allow_writes and path in self._write_paths:
            raise WriteRefused(
                f"{method} {path}: profile {self.profile.name} does not allow writes "
                "(allow_writes: false); this request could change state on the target"
            )
        hdrs = {"Accept": "application/json"}
        if json_body is not None or content is not None:
            hdrs["Content-Type"] = "application/json"
        if auth:
            hdrs.update(self.auth_headers())
        hdrs.update(headers or {})
        data: bytes | str | None = content
        if json_body is not None:
            data = json.dumps(json_body)
        exchange = self._send_honouring_429(
            method, path, data, hdrs, params, json_body if json_body is not None else (content or "")
        )
        if exchange.status == 401 and auth:
            if self.org.auth.scheme == "oauth" and self._token is not None:
                # the target may end a token early: renew once (and not hand the ended token to another client)
                if _TOKENS.get(self._token_key) == self._token:
                    del _TOKENS[self._token_key]
                self._token = None
                hdrs.update(self.auth_headers())
                exchange = self._send_honouring_429(method, path, data, hdrs, params, exchange.request_body)
            if exchange.status == 401:
                raise AuthFailed(
                    f"org {self.org.name}: the target answered HTTP 401 to the profile's own "
                    f"{self.org.auth.scheme} credentials; stopping the run\n" + exchange.render()
                )
        return exchange

    def pace(self) -> None:
        """Wait for a slot of the profile's `rate_limit_per_minute` (the run's shared window under xdist) before a
        request: each of this client's own sends, and each request another HTTP stack sends to this target (the
        fuzz stage's schemathesis calls). No-op without a limit."""
        if self._limiter is not None:
            self._limiter.try_acquire("target")

    def _send_honouring_429(
        self,
        method: str,
        path: str,
        data: bytes | str | None,
        hdrs: dict[str, str],
        params: dict[str, str] | None,
        shown_body: Any,
    ) -> Exchange:
        for attempt in range(_MAX_429_ATTEMPTS):
            exchange = self._send_once(method, path, data, hdrs, params, shown_body)
            if exchange.status != 429:
                return exchange
            if attempt == _MAX_429_ATTEMPTS - 1:
                break
            wait = retry_after_seconds(exchange.response_headers.get("retry-after"))
            if wait is None:
                wait = min(2.0**attempt, self.profile.max_retry_after_seconds)
            if wait > self.profile.max_retry_after_seconds:
                raise RateLimited(
                    f"{method} {path}: HTTP 429 with Retry-After {wait:.0f} s, more than "
                    f"max_retry_after_seconds ({self.profile.max_retry_after_seconds:.0f} s); lower "
                    "rate_limit_per_minute\n" + exchange.render()
                )
            time.sleep(wait)
        raise RateLimited(
            f"{method} {path}: still HTTP 429 after {_MAX_429_ATTEMPTS} attempts; lower "
            "rate_limit_per_minute\n" + exchange.render()
        )

    def _send_once(
        self,
        method: str,
        path: str,
        data: bytes | str | None,
        hdrs: dict[str, str],
        params: dict[str, str] | None,
        shown_body: Any,
    ) -> Exchange:
        url = self.base_url + path
        limit = self.profile.max_response_bytes
        for attempt in range(self.profile.retries + 1):
            self.pace()
            self.requests_sent += 1
            started = time.perf_counter()
            deadline = started + self.profile.timeout_seconds
            try:
                with self._http.stream(method, url, content=data, headers=hdrs, params=params) as response:
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise TargetBroken(
                                f"{method} {url}: the response body exceeds max_response_bytes "
                                f"({limit} bytes); HTTP {response.status_code}"
                            )
                        if time.perf_counter() > deadline:
                            raise TargetUnreachable(
                                f"{method} {url}: the response was not complete after "
                                f"{self.profile.timeout_seconds} s (timeout_seconds)"
                            )
                break
            except httpx.TimeoutException as exc:
                error: TargetError = TargetUnreachable(
                    f"{method} {url}: timed out after {self.profile.timeout_seconds} s ({type(exc).__name__})"
                )
                cause: Exception = exc
            except httpx.TransportError as exc:
                error, cause = TargetUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}"), exc
            # connect errors are already retried by the transport; a GET may be retried after a read error
            if method != "GET" or attempt == self.profile.retries:
                raise error from cause
        elapsed = (time.perf_counter() - started) * 1000
        raw = bytes(body)
        text = raw.decode(response.encoding or "utf-8", errors="replace")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        exchange = Exchange(
            method=method,
            url=str(response.request.url),
            request_headers=hdrs,
            request_body=shown_body,
            status=response.status_code,
            response_headers=dict(response.headers),
            response_text=text,
            response_json=parsed,
            elapsed_ms=elapsed,
            secrets=self._secrets,
            started_at=time.time() - elapsed / 1000,
        )
        self.exchanges.append(exchange)
        return exchange

    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate this org (Basic, or the OAuth token header)."""
        auth = self.org.auth
        if auth.scheme == "basic":
            return {"Authorization": basic_auth_header(auth.till, auth.password)}
        return {auth.token_header: self.oauth_token()}

    def oauth_token(self) -> str:
        """A valid OAuth access token for this org, generated when none is cached or the cached one is
        within 30 s of `ttlSeconds` (half-way for tokens of 60 s or less). A valid token another client of this
        process holds for the same org and target (`_TOKENS`) is taken instead of generating one.
        Raises `AuthFailed` when generation is refused (4xx), `TargetBroken` on any other answer without a token."""
        now = time.monotonic()
        if self._token and self._token[1] > now:
            return self._token[0]
        shared = _TOKENS.get(self._token_key)
        if shared is not None and shared[1] > now:
            self._token = shared
            if shared[0] not in self._secrets:
                self._secrets.append(shared[0])  # redacted in this client's exchanges too
            return shared[0]
        ex = self.send(
            "POST",
            "/v3/oauth/token/generate",
            auth=False,
            json_body={"key": self.org.auth.key, "secret": self.org.auth.secret},
        )
        data = (ex.response_json or {}).get("data") if isinstance(ex.response_json, dict) else None
        if 400 <= ex.status < 500:
            raise AuthFailed(
                f"org {self.org.name}: OAuth token generation refused the profile's key and secret "
                f"(HTTP {ex.status})\n" + ex.render()
            )
        if ex.status != 200 or not isinstance(data, dict) or not data.get("accessToken"):
            raise TargetBroken(
                f"org {self.org.name}: OAuth token generation answered HTTP {ex.status} without an "
                "accessToken (capillary-facts#authentication)\n" + ex.render()
            )
        self._secrets.append(str(data["accessToken"]))
        ttl = float(data.get("ttlSeconds") or 300)
        self._token = (data["accessToken"], time.monotonic() + (ttl - 30 if ttl > 60 else ttl / 2))
        _TOKENS[self._token_key] = self._token
        return self._token[0]

    # -- Partner Program endpoints ---------------------------------------------
    def link(self, body: Any, **kw: Any) -> Exchange:
        """POST linkCustomer with `body` ({"linkCustomers": [...]}) (link-customer)."""
        return self.send("POST", self.profile.paths[LINK.name], json_body=body, **kw)

    def update(self, body: Any, **kw: Any) -> Exchange:
        """POST customerPartnerProgramUpdate with `body` ({"customersPartnerUpdates": [...]})."""
        return self.send("POST", self.profile.paths[UPDATE.name], json_body=body, **kw)

    def delink(self, body: Any, **kw: Any) -> Exchange:
        """POST deLinkCustomer with `body` ({"deLinkCustomers": [...]}) (delink-customer)."""
        return self.send("POST", self.profile.paths[DELINK.name], json_body=body, **kw)

    # -- supporting customer APIs (capillary-facts#customer-apis) --------------
    def add_customer(self, identifiers: dict[str, str], *, enrolled: bool = True) -> Exchange:
        """POST /v2/customers registering a customer with `identifiers` ({"mobile": "...", ...}).

        `enrolled=False` registers a `non_loyalty` customer (not enrolled in loyalty).
        """
        body = {
            "loyaltyInfo": {"loyaltyType": "loyalty" if enrolled else "non_loyalty"},
            "profiles": [
                {
                    "identifiers": [{"type": k, "value": v} for k, v in identifiers.items()],
                    "source": self.profile.customer_source,
                }
            ],
        }
        return self.send("POST", "/v2/customers", json_body=body, params={"source": self.profile.customer_source})

    def lookup(self, identifier: str, value: str) -> Exchange:
        """GET /v2/customers/lookup by one identifier ("mobile", "email", "externalId") of this org's customers
        (capillary-facts#customer-apis: `{"entity": <customer id>, ...}`)."""
        params = {"source": self.profile.customer_source, "identifierName": identifier, "identifierValue": value}
        return self.send("GET", "/v2/customers/lookup", params=params)

    def loyalty_details(self, customer_id: int) -> Exchange:
        """GET /v2/customers/{id}/loyaltyDetails (linkedPartnerPrograms)."""
        return self.send("GET", f"/v2/customers/{customer_id}/loyaltyDetails")

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()


# -- HTTP that is not a partner-program call: the reference server's admin API, the suite's own loopback ----
@dataclass(frozen=True)
class PlainAnswer:
    """An answer outside the partner-program contract: HTTP `status`, `content_type` ("" if none), `body`
    (decoded text; "" when it was not read)."""

    status: int
    content_type: str
    body: str

    def json(self) -> Any:
        """The body parsed as JSON; raises `ValueError` when it is not JSON."""
        return json.loads(self.body)


def plain_request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    read_body: bool = True,
) -> PlainAnswer:
    """One request to a URL that is not a partner-program endpoint: the embedded reference server's
    `/__reference__/...` admin API (health, clock, webhooks) or the run's own webhook sink on loopback.
    `timeout` is seconds; `read_body=False` returns without reading the body (a hostile target cannot stall
    the caller with it). Raises `TargetUnreachable` on a transport error or time-out. This module is the only
    one of the suite that speaks HTTP (`tests/test_invariants.py`)."""
    try:
        with httpx.Client(transport=_transport(0), timeout=timeout) as http:  # the process's TLS context
            with http.stream(method, url, json=json_body, params=params, headers=headers) as answer:
                body = answer.read().decode("utf-8", errors="replace") if read_body else ""
                return PlainAnswer(answer.status_code, answer.headers.get("content-type", ""), body)
    except httpx.HTTPError as exc:
        raise TargetUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
