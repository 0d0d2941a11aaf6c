"""HTTP client for the Partner Program API and the supporting customer APIs.

Every call returns an `Exchange` (request and response, as sent and received)
and is appended to `PartnerProgramClient.exchanges`, so that a failing scenario
can show exactly what crossed the wire, redacted by `Exchange.render()`.

Exceptions:

    TargetError            the target could not be talked to (an *error* of the run)
    ├── TargetUnreachable  connect failure or timeout
    └── AuthFailed         the target refused the profile's own credentials

The suite reaches the target only through this module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .profile import OrgProfile, Profile

__all__ = [
    "AuthFailed",
    "Exchange",
    "PartnerProgramClient",
    "TargetError",
    "TargetUnreachable",
    "basic_auth_header",
    "redact_text",
]

_SENSITIVE_HEADERS = {"authorization", "x-cap-api-oauth-token", "cap-api-access-token", "cookie",
                      "set-cookie"}


class TargetError(Exception):
    """The target could not be used (unreachable, timed out, refused our own credentials)."""


class TargetUnreachable(TargetError):
    """Connecting to the target failed or a request timed out."""


class AuthFailed(TargetError):
    """The target refused the credentials the profile declares (e.g. OAuth token generation)."""


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

    def render(self, limit: int = 4000) -> str:
        """The exchange as text with credentials redacted and bodies cut at `limit` characters."""
        def headers(h: dict[str, str]) -> str:
            return "\n".join(
                f"  {k}: {'***' if k.lower() in _SENSITIVE_HEADERS else v}" for k, v in h.items()
            )

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
    - `profile`: the effective profile (paths, timeouts, secrets for redaction).
    - `org`: the org whose credentials are sent.

    OAuth tokens are fetched once from `/v3/oauth/token/generate` and reused
    until 30 s before `ttlSeconds` runs out. Raises `TargetUnreachable` on
    connect failures and timeouts, `AuthFailed` when token generation is refused.
    """

    def __init__(self, base_url: str, profile: Profile, org: OrgProfile,
                 http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.org = org
        self.exchanges: list[Exchange] = []
        self._http = http or httpx.Client(timeout=profile.timeout_seconds)
        self._token: tuple[str, float] | None = None
        # shared with every Exchange, so that a token learnt later is redacted everywhere
        self._secrets: list[str] = list(profile.secrets())

    # -- transport -------------------------------------------------------------
    def send(self, method: str, path: str, *, json_body: Any = None, content: bytes | str | None = None,
             headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
             auth: bool = True) -> Exchange:
        """Send one request and record it.

        `json_body` is serialised as JSON; `content` is sent as is (for
        malformed bodies). `auth=False` sends no credentials. Returns the `Exchange`.
        """
        hdrs = {"Accept": "application/json"}
        if json_body is not None or content is not None:
            hdrs["Content-Type"] = "application/json"
        if auth:
            hdrs.update(self.auth_headers())
        hdrs.update(headers or {})
        data: bytes | str | None = content
        if json_body is not None:
            data = json.dumps(json_body)
        url = self.base_url + path
        started = time.perf_counter()
        try:
            response = self._http.request(method, url, content=data, headers=hdrs, params=params)
        except httpx.TimeoutException as exc:
            raise TargetUnreachable(f"{method} {url}: timed out after {self.profile.timeout_seconds} s") from exc
        except httpx.TransportError as exc:
            raise TargetUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        exchange = Exchange(
            method=method, url=str(response.request.url), request_headers=hdrs,
            request_body=json_body if json_body is not None else (content or ""),
            status=response.status_code, response_headers=dict(response.headers),
            response_text=response.text, response_json=parsed, elapsed_ms=elapsed,
            secrets=self._secrets,
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
        """A valid OAuth access token for this org, generated when none is cached or it nears expiry."""
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        ex = self.send("POST", "/v3/oauth/token/generate", auth=False,
                       json_body={"key": self.org.auth.key, "secret": self.org.auth.secret})
        data = (ex.response_json or {}).get("data") if isinstance(ex.response_json, dict) else None
        if ex.status != 200 or not isinstance(data, dict) or not data.get("accessToken"):
            raise AuthFailed(f"org {self.org.name}: OAuth token generation answered HTTP {ex.status}\n"
                             + ex.render())
        self._secrets.append(str(data["accessToken"]))
        ttl = float(data.get("ttlSeconds") or 300)
        self._token = (data["accessToken"], time.monotonic() + max(ttl - 30, ttl / 2))
        return self._token[0]

    # -- Partner Program endpoints ---------------------------------------------
    def link(self, body: Any, **kw: Any) -> Exchange:
        """POST linkCustomer with `body` ({"linkCustomers": [...]}) (link-customer)."""
        return self.send("POST", self.profile.paths["linkCustomer"], json_body=body, **kw)

    def update(self, body: Any, **kw: Any) -> Exchange:
        """POST customerPartnerProgramUpdate with `body` ({"customersPartnerUpdates": [...]})."""
        return self.send("POST", self.profile.paths["customerPartnerProgramUpdate"], json_body=body, **kw)

    def delink(self, body: Any, **kw: Any) -> Exchange:
        """POST deLinkCustomer with `body` ({"deLinkCustomers": [...]}) (delink-customer)."""
        return self.send("POST", self.profile.paths["deLinkCustomer"], json_body=body, **kw)

    # -- supporting customer APIs (capillary-facts#customer-apis) --------------
    def add_customer(self, identifiers: dict[str, str], *, enrolled: bool = True) -> Exchange:
        """POST /v2/customers registering a customer with `identifiers` ({"mobile": "...", ...}).

        `enrolled=False` registers a `non_loyalty` customer (not enrolled in loyalty).
        """
        body = {
            "loyaltyInfo": {"loyaltyType": "loyalty" if enrolled else "non_loyalty"},
            "profiles": [{
                "identifiers": [{"type": k, "value": v} for k, v in identifiers.items()],
                "source": self.profile.customer_source,
            }],
        }
        return self.send("POST", "/v2/customers", json_body=body,
                         params={"source": self.profile.customer_source})

    def loyalty_details(self, customer_id: int) -> Exchange:
        """GET /v2/customers/{id}/loyaltyDetails (linkedPartnerPrograms)."""
        return self.send("GET", f"/v2/customers/{customer_id}/loyaltyDetails")

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()
