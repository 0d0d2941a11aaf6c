"""Org configuration for the reference server: YAML files into frozen dataclasses.

One YAML file describes one org (see `src/ppreference/orgs/*.yaml`)::

    orgId: 50001                      # int, unique across files
    name: relinking-enabled           # str
    timezone: Asia/Kolkata            # IANA zone; "today" is computed in it
    allowMembershipRelinking: true    # ALLOW_MEMBERSHIP_RELINKING (link-customer)
    loyaltyProgramId: 1115            # int
    credentials:                      # at least one of basic / oauth
      basic: {till: <str>, passwordEnv: <ENV NAME>}
      oauth: {keyEnv: <ENV NAME>, secretEnv: <ENV NAME>}
    partnerPrograms:                  # shape of capillary-facts#customer-apis
      - {partnerProgramId, partnerProgramName, partnerProgramDescription?,
         partnerProgramType: EXTERNAL|SUPPLEMENTARY, tierBased,
         partnerProgramTiers: [{tierNumber, tierName}],
         membershipPeriodType: DAYS|MONTHS, membershipPeriodValue}

Secrets never live in the files: each credential names the environment
variable holding it. Every problem raises `ConfigError` naming the file and the
key (or the unset environment variable).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

__all__ = [
    "BasicCredentials",
    "ConfigError",
    "OAuthCredentials",
    "OrgConfig",
    "PartnerProgram",
    "Tier",
    "default_orgs_dir",
    "load_org_file",
    "load_orgs",
]

PROGRAM_TYPES = ("EXTERNAL", "SUPPLEMENTARY")
PERIOD_TYPES = ("DAYS", "MONTHS")


class ConfigError(Exception):
    """An org file is unreadable or invalid, or a named environment variable is unset."""


@dataclass(frozen=True)
class Tier:
    """One tier of a partner program: `{"tierNumber": int, "tierName": str}`."""

    number: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"tierNumber": self.number, "tierName": self.name}


@dataclass(frozen=True)
class PartnerProgram:
    """A partner program as listed by `GET /v2/organization/programs` (capillary-facts)."""

    id: int
    name: str
    type: str  # "EXTERNAL" | "SUPPLEMENTARY"
    tier_based: bool
    tiers: tuple[Tier, ...]
    period_type: str  # "DAYS" | "MONTHS"
    period_value: int
    description: str = ""

    @property
    def is_supplementary(self) -> bool:
        return self.type == "SUPPLEMENTARY"

    def tier(self, name: str) -> Tier | None:
        """The tier called `name` (case-sensitive), or None."""
        return next((t for t in self.tiers if t.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The `partnerPrograms[]` entry of `GET /v2/organization/programs`."""
        return {
            "partnerProgramId": self.id,
            "partnerProgramName": self.name,
            "partnerProgramDescription": self.description,
            "partnerProgramTiers": [t.to_json() for t in self.tiers],
            "partnerProgramType": self.type,
            "membershipPeriodType": self.period_type,
            "membershipPeriodValue": self.period_value,
            "tierBased": self.tier_based,
        }


@dataclass(frozen=True)
class BasicCredentials:
    """Basic-auth credentials: till user name and its (resolved) password."""

    till: str
    password: str = ""

    def __repr__(self) -> str:  # never echo secrets
        return f"BasicCredentials(till={self.till!r}, password='***')"

    @property
    def password_md5(self) -> str:
        """md5 hex of the password, as sent in the Basic header (capillary-facts#authentication)."""
        return hashlib.md5(self.password.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OAuthCredentials:
    """OAuth client credentials for `POST /v3/oauth/token/generate` (capillary-facts)."""

    key: str
    secret: str = ""

    def __repr__(self) -> str:
        return "OAuthCredentials(key='***', secret='***')"


@dataclass(frozen=True)
class OrgConfig:
    """One org: identity, timezone, relinking switch, credentials and programs."""

    org_id: int
    name: str
    timezone: ZoneInfo
    allow_relinking: bool
    loyalty_program_id: int
    basic: BasicCredentials | None
    oauth: OAuthCredentials | None
    programs: tuple[PartnerProgram, ...]
    source: str = ""

    def program(self, name: str) -> PartnerProgram | None:
        """The partner program called `name` (exact match), or None."""
        return next((p for p in self.programs if p.name == name), None)

    def program_by_id(self, program_id: int) -> PartnerProgram | None:
        return next((p for p in self.programs if p.id == program_id), None)


def default_orgs_dir() -> Path:
    """The directory of org files shipped with the package."""
    return Path(__file__).resolve().parent / "orgs"


class _Reader:
    """Typed access to a YAML mapping that reports `file: key: problem`."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source = source
        self.env = env

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            raise self.fail(key, "is required")
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise self.fail(key, f"unknown key(s) {', '.join(unknown)}")
        return value

    def get(self, data: dict[str, Any], key: str, path: str, kind: type, default: Any = ...) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if default is ...:
                raise self.fail(full, "is required")
            return default
        value = data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok or (kind is str and not value.strip()):
            raise self.fail(full, f"must be a non-empty {kind.__name__}")
        return value

    def secret(self, data: dict[str, Any], key: str, path: str) -> str:
        name = self.get(data, key, path, str)
        value = self.env.get(name)
        if not value:
            raise ConfigError(f"{self.source}: {path}.{key}: environment variable {name} is not set")
        return value


def _parse_program(r: _Reader, raw: Any, path: str) -> PartnerProgram:
    allowed = {
        "partnerProgramId",
        "partnerProgramName",
        "partnerProgramDescription",
        "partnerProgramType",
        "tierBased",
        "partnerProgramTiers",
        "membershipPeriodType",
        "membershipPeriodValue",
    }
    data = r.mapping(raw, path, allowed)
    ptype = r.get(data, "partnerProgramType", path, str)
    if ptype not in PROGRAM_TYPES:
        raise r.fail(f"{path}.partnerProgramType", f"must be one of {', '.join(PROGRAM_TYPES)}")
    period_type = r.get(data, "membershipPeriodType", path, str)
    if period_type not in PERIOD_TYPES:
        raise r.fail(f"{path}.membershipPeriodType", f"must be one of {', '.join(PERIOD_TYPES)}")
    period_value = data.get("membershipPeriodValue")
    if not isinstance(period_value, int) or isinstance(period_value, bool) or period_value < 0:
        raise r.fail(f"{path}.membershipPeriodValue", "must be an integer >= 0")
    tier_based = data.get("tierBased")
    if not isinstance(tier_based, bool):
        raise r.fail(f"{path}.tierBased", "must be true or false")
    raw_tiers = r.get(data, "partnerProgramTiers", path, list, [])
    tiers: list[Tier] = []
    for i, raw_tier in enumerate(raw_tiers):
        tpath = f"{path}.partnerProgramTiers[{i}]"
        tdata = r.mapping(raw_tier, tpath, {"tierNumber", "tierName"})
        tier = Tier(r.get(tdata, "tierNumber", tpath, int), r.get(tdata, "tierName", tpath, str))
        if any(t.name == tier.name or t.number == tier.number for t in tiers):
            raise r.fail(tpath, "duplicate tierNumber or tierName")
        tiers.append(tier)
    if tier_based and not tiers:
        raise r.fail(f"{path}.partnerProgramTiers", "a tier-based program needs tiers")
    if not tier_based and tiers:
        raise r.fail(f"{path}.partnerProgramTiers", "must be empty when tierBased is false")
    description = data.get("partnerProgramDescription") or ""
    if not isinstance(description, str):
        raise r.fail(f"{path}.partnerProgramDescription", "must be a string")
    return PartnerProgram(
        id=r.get(data, "partnerProgramId", path, int),
        name=r.get(data, "partnerProgramName", path, str),
        type=ptype,
        tier_based=tier_based,
        tiers=tuple(tiers),
        period_type=period_type,
        period_value=period_value,
        description=description,
    )


def _parse_org(r: _Reader, raw: Any) -> OrgConfig:
    allowed = {
        "orgId",
        "name",
        "timezone",
        "allowMembershipRelinking",
        "loyaltyProgramId",
        "credentials",
        "partnerPrograms",
    }
    data = r.mapping(raw, "(top level)", allowed)
    tz_name = r.get(data, "timezone", "", str)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise r.fail("timezone", f"unknown time zone {tz_name!r}") from exc
    relinking = data.get("allowMembershipRelinking")
    if not isinstance(relinking, bool):
        raise r.fail("allowMembershipRelinking", "must be true or false")
    creds = r.mapping(data.get("credentials"), "credentials", {"basic", "oauth"})
    basic = oauth = None
    if creds.get("basic") is not None:
        b = r.mapping(creds["basic"], "credentials.basic", {"till", "passwordEnv"})
        basic = BasicCredentials(
            r.get(b, "till", "credentials.basic", str),
            r.secret(b, "passwordEnv", "credentials.basic"),
        )
    if creds.get("oauth") is not None:
        o = r.mapping(creds["oauth"], "credentials.oauth", {"keyEnv", "secretEnv"})
        oauth = OAuthCredentials(
            r.secret(o, "keyEnv", "credentials.oauth"),
            r.secret(o, "secretEnv", "credentials.oauth"),
        )
    if basic is None and oauth is None:
        raise r.fail("credentials", "needs at least one of basic or oauth")
    raw_programs = r.get(data, "partnerPrograms", "", list)
    programs: list[PartnerProgram] = []
    for i, raw_program in enumerate(raw_programs):
        program = _parse_program(r, raw_program, f"partnerPrograms[{i}]")
        if any(p.name == program.name or p.id == program.id for p in programs):
            raise r.fail(f"partnerPrograms[{i}]", "duplicate partnerProgramId or name")
        programs.append(program)
    return OrgConfig(
        org_id=r.get(data, "orgId", "", int),
        name=r.get(data, "name", "", str),
        timezone=tz,
        allow_relinking=relinking,
        loyalty_program_id=r.get(data, "loyaltyProgramId", "", int),
        basic=basic,
        oauth=oauth,
        programs=tuple(programs),
        source=r.source,
    )


def load_org_file(path: str | Path, env: Mapping[str, str] | None = None) -> OrgConfig:
    """Load one org YAML file.

    Arguments:
    - `path`: the YAML file.
    - `env`: where secrets are looked up (default `os.environ`).

    Raises `ConfigError` (file unreadable, not YAML, a key missing/mistyped/unknown,
    or an environment variable named by `passwordEnv`/`keyEnv`/`secretEnv` unset).
    """
    path = Path(path)
    reader = _Reader(str(path), os.environ if env is None else env)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read file: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    return _parse_org(reader, raw)


def load_orgs(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> list[OrgConfig]:
    """Load every `*.yaml`/`*.yml` org file of a directory (or one file), sorted by name.

    `path` defaults to `default_orgs_dir()`. Raises `ConfigError` for any bad file,
    for an empty directory, and when org ids, Basic tills or OAuth keys repeat
    across files (the org must follow from the credentials alone).
    """
    path = Path(path) if path is not None else default_orgs_dir()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise ConfigError(f"{path}: no *.yaml org files in directory")
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"{path}: no such file or directory")
    orgs = [load_org_file(f, env) for f in files]
    seen: dict[tuple[str, object], str] = {}
    for org in orgs:
        keys: list[tuple[str, object]] = [("orgId", org.org_id)]
        if org.basic:
            keys.append(("credentials.basic.till", org.basic.till))
        if org.oauth:
            keys.append(("credentials.oauth key", org.oauth.key))
        for key in keys:
            if key in seen:
                raise ConfigError(f"{org.source}: {key[0]}: same value as in {seen[key]}")
            seen[key] = org.source
    return orgs
