"""Authentication of the reference server (capillary-facts#authentication).

- Basic: `Authorization: Basic base64(<till>:<md5 hex of password>)`; the org is
  the one whose till and password match.
- OAuth: `POST /v3/oauth/token/generate` with `{"key", "secret"}` issues a token
  valid for the authenticator's `token_ttl_seconds` (default `TOKEN_TTL_SECONDS`,
  300 s); it is accepted in `X-CAP-API-OAUTH-TOKEN` and in
  `CAP-API-ACCESS-TOKEN` (AMB-OAUTH-HEADER). Expired or unknown tokens fail.

The auth faults of `ppreference.faults` (auth-none-required,
auth-wrong-password-accepted, auth-forged-token-accepted) are hooked in here (seam "auth").
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from .behaviour import CONFORMING, Behaviour
from .config import OrgConfig

__all__ = ["OAUTH_HEADERS", "TOKEN_TTL_SECONDS", "Authenticator"]

TOKEN_TTL_SECONDS = 300
OAUTH_HEADERS = ("x-cap-api-oauth-token", "cap-api-access-token")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _record_issued(token: str) -> None:
    """Append `token` to the file named by PP_REFERENCE_ISSUED_TOKENS_FILE, when set: the suite's secrets
    self-test reads it to search the reports for every token the suite was given."""
    path = os.environ.get("PP_REFERENCE_ISSUED_TOKENS_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(token + "\n")


class Authenticator:
    """Maps request credentials to an org; issues and checks OAuth tokens.

    Arguments:
    - `orgs`: the configured orgs.
    - `clock`: returns the current aware datetime (token expiry uses it).
    - `token_ttl_seconds`: lifetime of an issued token in seconds (>= 1); a token
      stops working once `clock()` reaches issue time + ttl.
    - `behaviour`: the injected fault, if any (default conforming).
    """

    def __init__(
        self,
        orgs: Sequence[OrgConfig],
        clock: Callable[[], datetime],
        token_ttl_seconds: int = TOKEN_TTL_SECONDS,
        behaviour: Behaviour = CONFORMING,
    ) -> None:
        ttl = token_ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise ValueError(f"token_ttl_seconds must be an integer >= 1, not {ttl!r}")
        self._orgs = list(orgs)
        self._clock = clock
        self.token_ttl_seconds = token_ttl_seconds
        self._tokens: dict[str, tuple[OrgConfig, datetime]] = {}
        self._fx = behaviour

    def issue_token(self, key: object, secret: object) -> tuple[str, int] | None:
        """A new `(token, ttlSeconds)` for the org owning key/secret, or None (-> 401)."""
        if not isinstance(key, str) or not isinstance(secret, str):
            return None
        for org in self._orgs:
            if org.oauth is None:
                continue
            key_ok = hmac.compare_digest(org.oauth.key.encode(), key.encode("utf-8", "replace"))
            secret_ok = hmac.compare_digest(org.oauth.secret.encode(), secret.encode("utf-8", "replace"))
            if key_ok and secret_ok:
                now = self._clock()
                expires = now + timedelta(seconds=self.token_ttl_seconds)
                header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
                claims = {"orgId": org.org_id, "iat": int(now.timestamp()), "exp": int(expires.timestamp())}
                payload = _b64url(json.dumps(claims).encode())
                token = f"{header}.{payload}.{secrets.token_urlsafe(32)}"
                self._tokens[token] = (org, expires)
                _record_issued(token)
                return token, self.token_ttl_seconds
        return None

    def _from_token(self, token: str) -> OrgConfig | None:
        entry = self._tokens.get(token.strip())
        if entry is None:
            if self._fx.faulty("auth-forged-token-accepted"):
                return next((org for org in self._orgs if org.oauth is not None), None)
            return None
        org, expires = entry
        if self._clock() >= expires:
            self._tokens.pop(token.strip(), None)
            return None
        return org

    def _from_basic(self, header: str) -> OrgConfig | None:
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        till, sep, digest = decoded.partition(":")
        if not sep:
            return None
        for org in self._orgs:
            if org.basic is None:
                continue
            till_ok = hmac.compare_digest(org.basic.till.encode(), till.encode())
            md5_ok = hmac.compare_digest(org.basic.password_md5.encode(), digest.lower().encode())
            if till_ok and (md5_ok or self._fx.faulty("auth-wrong-password-accepted")):
                return org
        return None

    def authenticate(self, headers: Mapping[str, str]) -> OrgConfig | None:
        """The org the request's credentials belong to, or None (-> 401).

        `headers` is case-insensitive (e.g. Starlette's `Headers`). OAuth token headers
        are tried first, then Basic; the first valid credential wins.
        """
        for name in OAUTH_HEADERS:
            token = headers.get(name)
            if token:
                org = self._from_token(token)
                if org is not None:
                    return org
        authorization = headers.get("authorization")
        if authorization:
            return self._from_basic(authorization)
        if self._fx.faulty("auth-none-required") and not any(headers.get(n) for n in OAUTH_HEADERS):
            return self._orgs[0] if self._orgs else None
        return None
