"""The conformance profile: what the suite knows about a target.

A profile is a YAML file validated by `schemas/meta/profile.schema.json`. It
declares the target's orgs (credentials, relinking setting, timezone), the
programs and tiers scenarios use, and which ambiguities of
`catalogue/ambiguities.yaml` are judged strictly.

Precedence, highest first: command line (`--base-url`, `--strict-ambiguity`) >
environment (`PYTEST_BASE_URL`, `PP_STRICT`) > profile file > defaults.

Secrets appear in a profile only as `${ENV_VAR}`; a missing variable is a
`ProfileError` naming it. The loaded `Profile` is frozen; `Profile.redacted()`
gives the form safe to write into reports.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jsonschema import Draft202012Validator

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILE_SCHEMA",
    "AuthConfig",
    "MembershipPeriod",
    "OrgProfile",
    "Profile",
    "ProfileError",
    "ProgramProfile",
    "load_profile",
]

_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROFILE = _ROOT / "profiles" / "embedded.yaml"
PROFILE_SCHEMA = _ROOT / "schemas" / "meta" / "profile.schema.json"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"
DEFAULT_PATHS = {
    "linkCustomer": "/v2/partnerProgram/linkCustomer",
    "customerPartnerProgramUpdate": "/v2/partnerProgram/customerPartnerProgramUpdate",
    "deLinkCustomer": "/v2/partnerProgram/deLinkCustomer",
}


class ProfileError(Exception):
    """A profile that cannot be used: unreadable, invalid, or naming an unset variable."""


@dataclass(frozen=True)
class AuthConfig:
    """Credentials of one org (capillary-facts#authentication).

    `scheme` is "basic" (till + password) or "oauth" (key + secret). Secret
    values are already expanded from the environment; `secrets()` lists them so
    that redaction can remove them from anything the suite writes.
    """

    scheme: str
    till: str = ""
    password: str = ""
    key: str = ""
    secret: str = ""
    token_header: str = DEFAULT_TOKEN_HEADER

    def secrets(self) -> tuple[str, ...]:
        """The secret values (password, key, secret) that are set."""
        return tuple(s for s in (self.password, self.key, self.secret) if s)


@dataclass(frozen=True)
class MembershipPeriod:
    """A supplementary program's membership period: `type` DAYS or MONTHS, `value` >= 1."""

    type: str
    value: int

    def approx_days(self) -> int:
        """The period in days, rounding months up to 31 days (used for safe date margins)."""
        return self.value if self.type == "DAYS" else self.value * 31


@dataclass(frozen=True)
class ProgramProfile:
    """A partner program as the profile declares it: name, tiers lowest first, period."""

    name: str
    tiers: tuple[str, ...] = ()
    membership_period: MembershipPeriod | None = None


@dataclass(frozen=True)
class OrgProfile:
    """One org of the target: name, auth, relinking flag (None: unknown), timezone, programs by role.

    Roles are "external", "supplementary" and "second_supplementary".
    """

    name: str
    auth: AuthConfig
    allow_membership_relinking: bool | None
    timezone: str
    programs: dict[str, ProgramProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """The effective, frozen profile of a run.

    `strict` holds ambiguity ids judged strictly, or "all". `source` is the file
    it came from.
    """

    name: str
    orgs: tuple[OrgProfile, ...]
    base_url: str | None = None
    timeout_seconds: float = 10.0
    strict: frozenset[str] = frozenset()
    paths: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    mobile_prefix: str = "9199"
    email_domain: str = "conformance.invalid"
    customer_source: str = "INSTORE"
    source: str = ""

    def is_strict(self, ambiguity_id: str) -> bool:
        """True when the ambiguity `ambiguity_id` (e.g. "AMB-2008-LEVEL") is judged strictly."""
        return "all" in self.strict or ambiguity_id in self.strict

    def secrets(self) -> tuple[str, ...]:
        """Every secret value of every org (for redaction)."""
        return tuple(s for org in self.orgs for s in org.auth.secrets())

    def redacted(self) -> dict[str, Any]:
        """The profile as plain data with every secret replaced by `***` (for reports)."""
        orgs = []
        for org in self.orgs:
            auth = {"scheme": org.auth.scheme}
            if org.auth.scheme == "basic":
                auth.update(till=org.auth.till, password="***")
            else:
                auth.update(key="***", secret="***", token_header=org.auth.token_header)
            orgs.append({
                "name": org.name,
                "allow_membership_relinking": org.allow_membership_relinking,
                "timezone": org.timezone,
                "auth": auth,
                "programs": {
                    role: {"name": p.name, "tiers": list(p.tiers),
                           "membership_period": p.membership_period and vars(p.membership_period)}
                    for role, p in org.programs.items()
                },
            })
        return {"name": self.name, "source": self.source, "base_url": self.base_url,
                "timeout_seconds": self.timeout_seconds, "strict": sorted(self.strict),
                "paths": self.paths, "orgs": orgs}


def _expand(value: str, where: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env or env[name] == "":
            raise ProfileError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _VAR.sub(sub, value)


def _program(data: dict[str, Any]) -> ProgramProfile:
    period = data.get("membership_period")
    return ProgramProfile(
        name=data["name"],
        tiers=tuple(data.get("tiers", ())),
        membership_period=MembershipPeriod(period["type"], period["value"]) if period else None,
    )


def load_profile(
    path: Path | str = DEFAULT_PROFILE,
    *,
    base_url: str | None = None,
    strict: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Profile:
    """Load, validate and expand a profile.

    Arguments:
    - `path`: the YAML file.
    - `base_url`: from the command line or `PYTEST_BASE_URL`; wins over the file's.
    - `strict`: ambiguity ids from `--strict` / `PP_STRICT`; added to the file's.
    - `env`: the environment to expand `${VAR}` from (default `os.environ`).

    Returns a frozen `Profile`. Raises `ProfileError` with the file name and the
    failing key when the file is missing, is not YAML, breaks the profile
    schema, or names an unset environment variable.
    """
    env = dict(os.environ if env is None else env)
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read it ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {path}: not valid YAML: {exc}") from exc
    schema = json.loads(PROFILE_SCHEMA.read_text(encoding="utf-8"))
    problems = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if problems:
        lines = [f"  at {'/'.join(map(str, p.absolute_path)) or '(top)'}: {p.message}" for p in problems]
        raise ProfileError(f"profile {path} does not match {PROFILE_SCHEMA.name}:\n" + "\n".join(lines))
    orgs = []
    for i, org in enumerate(data["orgs"]):
        try:
            ZoneInfo(org.get("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ProfileError(f"profile {path}: orgs[{i}].timezone {org.get('timezone')!r} is not an IANA "
                               "timezone (e.g. Asia/Kolkata)") from exc
        a = org["auth"]
        where = f"profile {path}: orgs[{i}].auth"
        auth = AuthConfig(
            scheme=a["scheme"],
            till=a.get("till", ""),
            password=_expand(a.get("password", ""), where, env),
            key=_expand(a.get("key", ""), where, env),
            secret=_expand(a.get("secret", ""), where, env),
            token_header=a.get("token_header", DEFAULT_TOKEN_HEADER),
        )
        orgs.append(OrgProfile(
            name=org["name"],
            auth=auth,
            allow_membership_relinking=org.get("allow_membership_relinking"),
            timezone=org.get("timezone", "UTC"),
            programs={role: _program(p) for role, p in org["programs"].items()},
        ))
    test_data = data.get("test_data", {})
    return Profile(
        name=data.get("name", path.stem),
        orgs=tuple(orgs),
        base_url=base_url or data.get("base_url"),
        timeout_seconds=float(data.get("timeout_seconds", 10)),
        strict=frozenset(data.get("strict", [])) | frozenset(strict or ()),
        paths={**DEFAULT_PATHS, **data.get("paths", {})},
        mobile_prefix=test_data.get("mobile_prefix", "9199"),
        email_domain=test_data.get("email_domain", "conformance.invalid"),
        customer_source=test_data.get("source", "INSTORE"),
        source=str(path),
    )
