"""The conformance profile: what the suite knows about a target.

A profile is a YAML file validated by `schemas/meta/profile.schema.json`. It
declares the target's orgs (credentials, relinking setting, timezone), the
programs and tiers scenarios use, and which ambiguities of
`catalogue/ambiguities.yaml` are judged strictly.

Precedence, highest first:

1. command line (`--base-url`, `--strict-ambiguity`, `--read-only`, `--allow-writes`,
   `--rate-limit`), passed to `load_profile` as keyword arguments;
2. environment: `PYTEST_BASE_URL` (pytest-base-url's) and `PP__<KEY>[__<KEY>...]` for
   *any* key of the file (`PP__ALLOW_WRITES=true`, `PP__STRICT="[all]"`, `PP__RATE_LIMIT_PER_MINUTE=100`,
   `PP__ORGS__0__AUTH__TILL=my.till`, `PP__ORGS__0__PROGRAMS__EXTERNAL__TIERS="[A, B]"`):
   key segments match the schema's property names case-insensitively, list items
   are addressed by index, values are parsed as YAML scalars or flow collections;
3. the profile file;
4. the defaults of `schemas/meta/profile.schema.json` (listed in docs/profiles.md).

Secrets appear in a profile only as `${ENV_VAR}`; a missing variable is a
`ProfileError` naming it. The loaded `Profile` is frozen; `Profile.redacted()`
gives the form safe to write into reports (it lists which keys the environment
and the command line overrode, never their values).
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

from ppconformance.connection.identities import pool_capacity_problem
from ppconformance.contract.endpoints import default_paths
from ppconformance.contract.stances import AmbiguityId, Stances, unknown_ids
from ppconformance.resources import profiles_dir, schemas_dir

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILE_SCHEMA",
    "AuthConfig",
    "FuzzSettings",
    "StateSettings",
    "WebhookSettings",
    "MembershipPeriod",
    "OrgProfile",
    "PoolCustomer",
    "Profile",
    "ProfileError",
    "ProgramProfile",
    "declared_base_url",
    "load_profile",
]

DEFAULT_PROFILE = profiles_dir() / "embedded.yaml"
PROFILE_SCHEMA = schemas_dir() / "meta" / "profile.schema.json"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"
DEFAULT_PATHS = default_paths()
"""Endpoint name -> documented path (`contract.endpoints`); the profile's `paths` override it."""


ENV_PREFIX = "PP__"


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
    password: str = field(default="", repr=False)
    key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
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
    """A partner program as the profile declares it: name, tiers lowest first, period; `tier_numbers`: each tier's
    (`tierName`, `tierNumber`) as discovery found it (`GET /v2/organization/programs`; empty when not discovered),
    which events name a tier by (`partnerTierNumber`)."""

    name: str
    tiers: tuple[str, ...] = ()
    membership_period: MembershipPeriod | None = None
    tier_numbers: tuple[tuple[str, int], ...] = ()

    def tier_number(self, tier: object) -> int | None:
        """The discovered `tierNumber` of tier `tier`, or None when discovery did not give it."""
        return dict(self.tier_numbers).get(tier) if isinstance(tier, str) else None


@dataclass(frozen=True)
class PoolCustomer:
    """An existing customer of the target the suite may use (`orgs[].customer_pool`).

    At least one identifier is set; `enrolled` False marks a customer not enrolled in loyalty.
    """

    mobile: str = ""
    email: str = ""
    external_id: str = ""
    enrolled: bool = True


@dataclass(frozen=True)
class OrgProfile:
    """One org of the target: name, auth, relinking flag (None: unknown), timezone, programs by role,
    and the pool of existing test customers.

    Roles are "external", "supplementary" and "second_supplementary".
    """

    name: str
    auth: AuthConfig
    allow_membership_relinking: bool | None
    timezone: str
    programs: dict[str, ProgramProfile] = field(default_factory=dict)
    customer_pool: tuple[PoolCustomer, ...] = ()


@dataclass(frozen=True)
class OrgDefaults:
    """The defaults of an org's optional keys (`OrgProfile` takes every field explicitly): the org's
    timezone for calendar dates, and the relinking setting (None: unknown, discovered or probed)."""

    timezone: str = "UTC"
    allow_membership_relinking: bool | None = None


@dataclass(frozen=True)
class WebhookSettings:
    """How the suite receives the target's webhook events (profile key `webhooks`, docs/webhooks.md).

    `mode`: "register" (default: the suite registers its sink through POST /v3/webHooks and disables it
    afterwards), "preconfigured" (the target already delivers to `public_url` with `auth_header: auth_value`)
    or "off" (webhook scenarios are skipped). `delivery_deadline_seconds`: how long after an action its event
    may take (AMB-EVENT-DEADLINE). `quiet_period_seconds`: how long the suite keeps listening after a later
    event before it calls an earlier event absent. `retry_window_seconds`: how long after a refused delivery
    the suite waits for its retry (AMB-WEBHOOK-RETRY-TIMING). `auth_header` / `auth_value`: the header every
    delivery must carry (`auth_value` None: a random secret per run; required for preconfigured). `request_id_header`: a
    response header whose value events must repeat as apiRequestId (None: not compared). `listen`
    ("host:port") and `public_url`: where the sink listens and the URL the target is given (for a tunnel).
    """

    mode: str = "register"
    delivery_deadline_seconds: float = 10.0
    quiet_period_seconds: float = 2.0
    retry_window_seconds: float = 60.0
    auth_header: str = "X-Conformance-Webhook-Token"
    auth_value: str | None = field(default=None, repr=False)
    request_id_header: str | None = None
    listen: str | None = None
    public_url: str | None = None

    def redacted(self) -> dict[str, Any]:
        """The settings for reports: the secret as `***`."""
        return {**vars(self), "auth_value": "***" if self.auth_value else None}


@dataclass(frozen=True)
class FuzzSettings:
    """The fuzz stage's budget (profile key `fuzz`, docs/fuzzing.md).

    `mode`: "fast" (default, the normal run), "deep" (nightly) or "off" (the stage is skipped).
    `max_examples`: generated cases per operation and phase (None: 20 fast, 400 deep).
    `time_budget_seconds`: the body fuzzing stops sending after this (None: 30 fast, 900 deep).
    `seed`: the hypothesis seed (None: a fresh one per run, printed and attached to findings).
    """

    mode: str = "fast"
    max_examples: int | None = None
    time_budget_seconds: float | None = None
    seed: int | None = None

    def examples(self) -> int:
        """Cases per operation for the mode, unless `max_examples` says otherwise."""
        return self.max_examples or (400 if self.mode == "deep" else 20)

    def budget(self) -> float:
        """Seconds the stage may send for, unless `time_budget_seconds` says otherwise."""
        return self.time_budget_seconds or (900.0 if self.mode == "deep" else 30.0)


@dataclass(frozen=True)
class StateSettings:
    """How the state oracle reads the target (profile key `state`, docs/state-oracle.md).

    `read_consistency_seconds`: how long after a customer's last write a loyaltyDetails read that disagrees with
    the model is read again, with a growing backoff (0.1 s, 0.2 s, 0.4 s, ...), before the disagreement counts. The
    documents promise no read-your-writes, and replicated read paths show a write some hundreds of milliseconds
    after its answer; 3 s covers such lags several times over, costs a target that reads its own writes nothing
    (it is never re-read), and bounds what a real mismatch costs to one window per scenario (the window runs from
    the write, so a batch's customers share it). 0: the first read counts.
    """

    read_consistency_seconds: float = 3.0


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
    connect_timeout_seconds: float = 5.0
    strict: frozenset[str] = frozenset()
    paths: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    mobile_prefix: str = "9199"
    email_domain: str = "conformance.invalid"
    customer_source: str = "INSTORE"
    provisioning: str = "register"
    reuse_customers: bool = True
    pool_slot: int = 0
    allow_writes: bool = False
    rate_limit_per_minute: int | None = None
    retries: int = 2
    max_retry_after_seconds: float = 60.0
    max_response_bytes: int = 5_000_000
    stop_after_transport_errors: int = 3
    discovery: bool = True
    probe_relinking: bool = True
    journal_dir: str = ".pp-journal"
    fuzz: FuzzSettings = field(default_factory=lambda: FuzzSettings())
    webhooks: WebhookSettings = field(default_factory=lambda: WebhookSettings())
    state: StateSettings = field(default_factory=lambda: StateSettings())
    source: str = ""
    overridden: tuple[str, ...] = ()

    @property
    def uses_customer_pool(self) -> bool:
        """True when the suite registers its test customers with the customer pool's deterministic identities, so
        later runs reuse them (`run.customer_pool`): writes allowed, `test_data.provisioning: register` and
        `test_data.reuse_customers` on."""
        return self.allow_writes and self.provisioning == "register" and self.reuse_customers

    def is_strict(self, ambiguity: AmbiguityId) -> bool:
        """True when `ambiguity` (e.g. `AmbiguityId.E2008_LEVEL`) is judged strictly; the typed lookup of
        `contract.stances` (a plain string raises `TypeError`)."""
        return self.stances.strict(ambiguity)

    @property
    def stances(self) -> Stances:
        """The run's stances (`contract.stances.Stances`)."""
        return Stances(self.strict)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value of every org (for redaction)."""
        return tuple(s for org in self.orgs for s in org.auth.secrets()) + tuple(
            s for s in (self.webhooks.auth_value,) if s
        )

    def org(self, name: str) -> OrgProfile:
        """The org called `name`; KeyError when the profile has none."""
        for org in self.orgs:
            if org.name == name:
                return org
        raise KeyError(name)

    def redacted(self) -> dict[str, Any]:
        """The profile as plain data with every secret replaced by `***` (for reports)."""
        orgs = []
        for org in self.orgs:
            auth = {"scheme": org.auth.scheme}
            if org.auth.scheme == "basic":
                auth.update(till=org.auth.till, password="***")
            else:
                auth.update(key="***", secret="***", token_header=org.auth.token_header)
            orgs.append(
                {
                    "name": org.name,
                    "allow_membership_relinking": org.allow_membership_relinking,
                    "timezone": org.timezone,
                    "auth": auth,
                    "programs": {
                        role: {
                            "name": p.name,
                            "tiers": list(p.tiers),
                            "membership_period": p.membership_period and vars(p.membership_period),
                        }
                        for role, p in org.programs.items()
                    },
                    "customer_pool": len(org.customer_pool),
                }
            )
        return {
            "name": self.name,
            "source": self.source,
            "base_url": self.base_url,
            "allow_writes": self.allow_writes,
            "provisioning": self.provisioning,
            "reuse_customers": self.reuse_customers,
            "pool_slot": self.pool_slot,
            "timeout_seconds": self.timeout_seconds,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "retries": self.retries,
            "max_retry_after_seconds": self.max_retry_after_seconds,
            "max_response_bytes": self.max_response_bytes,
            "stop_after_transport_errors": self.stop_after_transport_errors,
            "discovery": self.discovery,
            "probe_relinking": self.probe_relinking,
            "journal_dir": self.journal_dir,
            "strict": sorted(self.strict),
            "fuzz": vars(self.fuzz),
            "webhooks": self.webhooks.redacted(),
            "state": vars(self.state),
            "paths": self.paths,
            "overridden": list(self.overridden),
            "orgs": orgs,
        }


def _problem(error: Any) -> str:
    """A schema error's message; under `auth` the offending value is never quoted (it may be a secret)."""
    if "auth" in map(str, error.absolute_path):
        return (
            f"not a valid auth entry ({error.validator} failed; value not shown): scheme basic needs till and "
            "password, oauth needs key and secret, and secrets only as ${ENV_VAR}"
        )
    return str(error.message)


def _expand(value: str, where: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env or env[name] == "":
            raise ProfileError(f"{where}: environment variable {name} is not set")
        return env[name]

    return _VAR.sub(sub, value)


@dataclass(frozen=True)
class FileKey:
    """A key of the profile file with a default, and the typed field that holds its value.

    `path` is the key's place in the file, dotted, lists as `[]` (e.g. "fuzz.mode", "orgs[].timezone");
    `model` / `field` the dataclass field whose default is the key's default. The defaults live there and
    only there: the loader reads them through `file_default`, and `python -m tools.register` writes them into
    `schemas/meta/profile.schema.json` (`default`) and the key table of docs/profile-keys.md (with each key's
    `PP__` override name); `tests/test_profile_model.py` fails when either drifts.
    """

    path: str
    model: type
    field: str

    def default(self) -> Any:
        """The field's default (a default_factory is called); raises `LookupError` when it has none."""
        import dataclasses

        for f in dataclasses.fields(self.model):
            if f.name == self.field:
                if f.default is not dataclasses.MISSING:
                    return f.default
                if f.default_factory is not dataclasses.MISSING:
                    return f.default_factory()
        raise LookupError(f"{self.model.__name__}.{self.field} has no default")


FILE_KEYS: tuple[FileKey, ...] = (
    FileKey("timeout_seconds", Profile, "timeout_seconds"),
    FileKey("allow_writes", Profile, "allow_writes"),
    FileKey("rate_limit_per_minute", Profile, "rate_limit_per_minute"),
    FileKey("retries", Profile, "retries"),
    FileKey("max_retry_after_seconds", Profile, "max_retry_after_seconds"),
    FileKey("max_response_bytes", Profile, "max_response_bytes"),
    FileKey("stop_after_transport_errors", Profile, "stop_after_transport_errors"),
    FileKey("discovery", Profile, "discovery"),
    FileKey("probe_relinking", Profile, "probe_relinking"),
    FileKey("journal_dir", Profile, "journal_dir"),
    FileKey("test_data.mobile_prefix", Profile, "mobile_prefix"),
    FileKey("test_data.email_domain", Profile, "email_domain"),
    FileKey("test_data.source", Profile, "customer_source"),
    FileKey("test_data.provisioning", Profile, "provisioning"),
    FileKey("test_data.reuse_customers", Profile, "reuse_customers"),
    FileKey("test_data.pool_slot", Profile, "pool_slot"),
    FileKey("fuzz.mode", FuzzSettings, "mode"),
    FileKey("fuzz.max_examples", FuzzSettings, "max_examples"),
    FileKey("fuzz.time_budget_seconds", FuzzSettings, "time_budget_seconds"),
    FileKey("fuzz.seed", FuzzSettings, "seed"),
    FileKey("webhooks.mode", WebhookSettings, "mode"),
    FileKey("webhooks.delivery_deadline_seconds", WebhookSettings, "delivery_deadline_seconds"),
    FileKey("webhooks.quiet_period_seconds", WebhookSettings, "quiet_period_seconds"),
    FileKey("webhooks.retry_window_seconds", WebhookSettings, "retry_window_seconds"),
    FileKey("webhooks.auth_header", WebhookSettings, "auth_header"),
    FileKey("webhooks.auth_value", WebhookSettings, "auth_value"),
    FileKey("webhooks.request_id_header", WebhookSettings, "request_id_header"),
    FileKey("webhooks.listen", WebhookSettings, "listen"),
    FileKey("webhooks.public_url", WebhookSettings, "public_url"),
    FileKey("state.read_consistency_seconds", StateSettings, "read_consistency_seconds"),
    FileKey("orgs[].timezone", OrgDefaults, "timezone"),
    FileKey("orgs[].allow_membership_relinking", OrgDefaults, "allow_membership_relinking"),
    FileKey("orgs[].auth.token_header", AuthConfig, "token_header"),
    FileKey("orgs[].customer_pool[].enrolled", PoolCustomer, "enrolled"),
)
"""Every profile key that has a default (see `FileKey`); keys without one are required or derived (e.g.
`connect_timeout_seconds`: the smaller of 5 and `timeout_seconds`; `name`: the file's stem)."""


def file_default(path: str) -> Any:
    """The default of the profile key at `path` (see `FILE_KEYS`); raises `KeyError` for a key without one."""
    for key in FILE_KEYS:
        if key.path == path:
            return key.default()
    raise KeyError(f"profile key {path} has no default")


def _webhooks(data: dict[str, Any], where: str, env: dict[str, str]) -> WebhookSettings:
    value = data.get("auth_value")
    mode = "off" if data.get("mode") is False else data.get("mode", file_default("webhooks.mode"))  # YAML: off=false
    settings = WebhookSettings(**{**data, "mode": mode, "auth_value": _expand(value, where, env) if value else None})
    if settings.mode == "preconfigured" and not (settings.public_url and settings.auth_value):
        raise ProfileError(
            f"{where.rsplit('.', 1)[0]}: mode preconfigured needs public_url (where the target "
            "delivers) and auth_value (the header value it sends, as ${ENV_VAR})"
        )
    return settings


def _program(data: dict[str, Any]) -> ProgramProfile:
    period = data.get("membership_period")
    return ProgramProfile(
        name=data["name"],
        tiers=tuple(data.get("tiers", ())),
        membership_period=MembershipPeriod(period["type"], period["value"]) if period else None,
    )


def _schema_node(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` of the profile schema."""
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _property_names(schema: dict[str, Any], node: dict[str, Any]) -> list[str]:
    node = _schema_node(schema, node)
    names = list(node.get("properties", {}))
    for alt in node.get("oneOf", []) + node.get("anyOf", []):
        names += [n for n in _property_names(schema, alt) if n not in names]
    return names


def _coerce(raw: str, parsed: Any, node: dict[str, Any]) -> Any:
    """A string-typed key keeps the variable's text (so `PP__TEST_DATA__MOBILE_PREFIX=9188` stays "9188")."""
    types = node.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if (
        "string" in types
        and not isinstance(parsed, str)
        and not {"number", "integer", "boolean", "array", "object"} & set(types)
    ):
        return raw
    return parsed


def _env_overrides(data: dict[str, Any], schema: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Apply every `PP__A__B=value` of `env` to `data` in place; returns the variable names applied.

    Raises ProfileError naming the variable when a segment matches no key of the
    schema or a list index is out of range.
    """
    applied = []
    for var in sorted(v for v in env if v.startswith(ENV_PREFIX) and len(v) > len(ENV_PREFIX)):
        segments = var[len(ENV_PREFIX) :].split("__")
        try:
            value = yaml.safe_load(env[var]) if env[var] != "" else None
        except yaml.YAMLError as exc:
            raise ProfileError(f"environment variable {var}: not a YAML value: {exc}") from exc
        target: Any = data
        node: dict[str, Any] = schema
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            if isinstance(target, list):
                if not seg.isdigit() or int(seg) >= len(target):
                    raise ProfileError(
                        f"environment variable {var}: {seg!r} is not an index of the {len(target)} items there"
                    )
                node = _schema_node(schema, node).get("items", {})
                slot: Any = int(seg)
            elif isinstance(target, dict):
                names = _property_names(schema, node)
                match = [n for n in names if n.lower() == seg.lower()]
                if not match:
                    raise ProfileError(
                        f"environment variable {var}: {seg.lower()!r} is not a profile key here "
                        f"(expected one of: {', '.join(names)})"
                    )
                slot = match[0]
                here = _schema_node(schema, node)
                node = here.get("properties", {}).get(slot, {})
            else:
                raise ProfileError(
                    f"environment variable {var}: {'__'.join(segments[:i])} is a single value, "
                    "not a mapping or list to set a key in"
                )
            if last:
                target[slot] = _coerce(env[var], value, _schema_node(schema, node) if node else {})
            else:
                child = target[slot] if isinstance(target, list) else target.get(slot)
                if child is None:  # absent, or null in the file
                    child = [] if _schema_node(schema, node).get("type") == "array" else {}
                    target[slot] = child
                target = child
        applied.append(var)
    return applied


def declared_base_url(path: Path | str, env: dict[str, str] | None = None) -> str | None:
    """The base URL the profile at `path` declares: env `PP__BASE_URL` when set, else the file's `base_url`; None
    when it declares none, or when the file cannot be read or is not a YAML mapping (`load_profile` then reports
    the problem). It decides whether the run needs the embedded server before the profile can be loaded: the
    embedded profile's credentials exist only once that server's are generated."""
    env = dict(os.environ if env is None else env)
    if env.get("PP__BASE_URL"):
        return env["PP__BASE_URL"]
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    url = data.get("base_url") if isinstance(data, dict) else None
    return str(url) if url else None


def load_profile(
    path: Path | str = DEFAULT_PROFILE,
    *,
    base_url: str | None = None,
    strict: list[str] | None = None,
    allow_writes: bool | None = None,
    rate_limit_per_minute: int | None = None,
    env: dict[str, str] | None = None,
) -> Profile:
    """Load, validate and expand a profile.

    Arguments (the keyword ones come from the command line and win over everything):
    - `path`: the YAML file.
    - `base_url`: `--base-url` or `PYTEST_BASE_URL`; wins over the file's.
    - `strict`: ambiguity ids from `--strict-ambiguity`; added to the file's (and `PP__STRICT`'s).
    - `allow_writes`: `--allow-writes` (True) / `--read-only` (False); None keeps the profile's.
    - `rate_limit_per_minute`: `--rate-limit`; None keeps the profile's.
    - `env`: the environment for `${VAR}` and `PP__KEY` overrides (default `os.environ`).

    Precedence: these arguments > `PP__...` environment variables > the file >
    defaults. Returns a frozen `Profile`. Raises `ProfileError` with the file
    name and the failing key when the file is missing, is not YAML, breaks the
    profile schema (after the environment overrides), names an unset
    environment variable, or an override names no profile key.
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
    if not isinstance(data, dict):
        raise ProfileError(f"profile {path} does not match {PROFILE_SCHEMA.name}: the top level must be a mapping")
    overridden = _env_overrides(data, schema, env)
    problems = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if problems:
        lines = [f"  at {'/'.join(map(str, p.absolute_path)) or '(top)'}: {_problem(p)}" for p in problems]
        hint = f" (after the environment overrides {', '.join(overridden)})" if overridden else ""
        raise ProfileError(f"profile {path} does not match {PROFILE_SCHEMA.name}{hint}:\n" + "\n".join(lines))
    orgs = []
    for i, org in enumerate(data["orgs"]):
        try:
            ZoneInfo(org.get("timezone", file_default("orgs[].timezone")))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ProfileError(
                f"profile {path}: orgs[{i}].timezone {org.get('timezone')!r} is not an IANA "
                "timezone (e.g. Asia/Kolkata)"
            ) from exc
        a = org["auth"]
        where = f"profile {path}: orgs[{i}].auth"
        auth = AuthConfig(
            scheme=a["scheme"],
            till=a.get("till", ""),
            password=_expand(a.get("password", ""), where, env),
            key=_expand(a.get("key", ""), where, env),
            secret=_expand(a.get("secret", ""), where, env),
            token_header=a.get("token_header", file_default("orgs[].auth.token_header")),
        )
        pool = tuple(
            PoolCustomer(
                mobile=str(c.get("mobile", "")),
                email=c.get("email", ""),
                external_id=c.get("externalId", ""),
                enrolled=c.get("enrolled", file_default("orgs[].customer_pool[].enrolled")),
            )
            for c in org.get("customer_pool", [])
        )
        orgs.append(
            OrgProfile(
                name=org["name"],
                auth=auth,
                allow_membership_relinking=org.get(
                    "allow_membership_relinking", file_default("orgs[].allow_membership_relinking")
                ),
                timezone=org.get("timezone", file_default("orgs[].timezone")),
                programs={role: _program(p) for role, p in org["programs"].items()},
                customer_pool=pool,
            )
        )
    test_data = data.get("test_data", {})
    cli = [
        name
        for name, value in (
            ("--base-url", base_url),
            ("--strict-ambiguity", strict),
            ("--allow-writes/--read-only", allow_writes),
            ("--rate-limit", rate_limit_per_minute),
        )
        if value not in (None, [])
    ]
    strict_ids = frozenset(data.get("strict", [])) | frozenset(strict or ())
    unknown = unknown_ids(strict_ids)
    if unknown:
        raise ProfileError(
            f"profile {path}: strict names unknown ambiguity id(s) {', '.join(sorted(unknown))}; "
            "catalogue/ambiguities.yaml lists the ids (or use 'all')"
        )
    timeout = float(data.get("timeout_seconds", file_default("timeout_seconds")))
    rate = rate_limit_per_minute if rate_limit_per_minute is not None else data.get("rate_limit_per_minute")
    profile = Profile(
        name=data.get("name", path.stem),
        orgs=tuple(orgs),
        base_url=base_url or data.get("base_url"),
        timeout_seconds=timeout,
        connect_timeout_seconds=float(data.get("connect_timeout_seconds", min(5.0, timeout))),
        strict=strict_ids,
        paths={**DEFAULT_PATHS, **data.get("paths", {})},
        mobile_prefix=test_data.get("mobile_prefix", file_default("test_data.mobile_prefix")),
        email_domain=test_data.get("email_domain", file_default("test_data.email_domain")),
        customer_source=test_data.get("source", file_default("test_data.source")),
        provisioning=test_data.get("provisioning", file_default("test_data.provisioning")),
        reuse_customers=bool(test_data.get("reuse_customers", file_default("test_data.reuse_customers"))),
        pool_slot=int(test_data.get("pool_slot", file_default("test_data.pool_slot"))),
        allow_writes=bool(data.get("allow_writes", file_default("allow_writes")))
        if allow_writes is None
        else allow_writes,
        rate_limit_per_minute=int(rate) if rate else None,
        retries=int(data.get("retries", file_default("retries"))),
        max_retry_after_seconds=float(data.get("max_retry_after_seconds", file_default("max_retry_after_seconds"))),
        max_response_bytes=int(data.get("max_response_bytes", file_default("max_response_bytes"))),
        stop_after_transport_errors=int(
            data.get("stop_after_transport_errors", file_default("stop_after_transport_errors"))
        ),
        discovery=bool(data.get("discovery", file_default("discovery"))),
        probe_relinking=bool(data.get("probe_relinking", file_default("probe_relinking"))),
        journal_dir=str(data.get("journal_dir", file_default("journal_dir"))),
        fuzz=FuzzSettings(**data.get("fuzz", {})),
        webhooks=_webhooks(data.get("webhooks") or {}, f"profile {path}: webhooks.auth_value", env),
        state=StateSettings(**(data.get("state") or {})),
        source=str(path),
        overridden=tuple(overridden + cli),
    )
    problem = pool_capacity_problem(profile.mobile_prefix, profile.pool_slot, len(profile.orgs))
    if profile.uses_customer_pool and problem:
        raise ProfileError(
            f"profile {path}: {problem}; use a shorter prefix (6 digits have room for every slot and org), "
            "or test_data.reuse_customers: false"
        )
    return profile
