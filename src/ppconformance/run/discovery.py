"""Discovery: what a target says about its own configuration, and where the profile disagrees.

Three probes, each through `PartnerProgramClient`:

- `speaks_the_api` tells whether the target answers as the Partner Program API at all (a wrong base URL, a
  web server, another service: `NotThePartnerProgramApi`, an error of the run, before any scenario);
- `discover_programs` lists an org's partner programs with
  `GET /v2/organization/programs` (capillary-facts#customer-apis);
- `probe_relinking` tells whether ALLOW_MEMBERSHIP_RELINKING is enabled from the
  item code of one MEMBERSHIP_RELINKING_CANCELLED update
  (update-partner-program#error-codes).

`fill_from_discovery` completes an `OrgProfile` with what the profile leaves
out (never overriding what it declares), and `drift` lists where a declared
profile and the target disagree; `render_drift` formats that list for people.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ppconformance.connection.client import AuthFailed, Exchange, PartnerProgramClient, TargetError
from ppconformance.connection.profile import MembershipPeriod, OrgProfile, ProgramProfile
from ppconformance.contract.endpoints import ENDPOINTS, PROGRAM_NAME_KEY, UPDATE

__all__ = [
    "PROGRAMS_PATH",
    "ROLE_TYPES",
    "DiscoveredProgram",
    "Drift",
    "NotThePartnerProgramApi",
    "discover_programs",
    "drift",
    "fill_from_discovery",
    "probe_relinking",
    "relinking_of",
    "render_drift",
    "speaks_the_api",
]

PROGRAMS_PATH = "/v2/organization/programs"
#: The program type each profile role requires (capillary-facts#customer-apis).
ROLE_TYPES = {"external": "EXTERNAL", "supplementary": "SUPPLEMENTARY", "second_supplementary": "SUPPLEMENTARY"}
_PROGRAM_TYPES = ("EXTERNAL", "SUPPLEMENTARY")
_PERIOD_TYPES = ("DAYS", "MONTHS")
_NOT_OFFERED = (404, 405, 501)
_RELINKING_DISABLED = 2026
_NOTHING_PENDING = 2027
_NOT_LINKED = 2004


class NotThePartnerProgramApi(TargetError):
    """The target does not answer as the Partner Program API on any of its documented paths (`speaks_the_api`):
    an error of the run, never a conformance failure. The message starts "<base URL> does not answer as the
    Partner Program API:" and says what each path answered and what to check."""


def _not_the_api(exchange: Exchange) -> str | None:
    """Why `exchange` is no answer of the Partner Program API, or None when it may be one: 404, 405 and 501 (the
    path is not there), or a body that is not JSON and not labelled JSON either (an HTML page, plain text). Any
    other answer may be the API's, a broken one included (a 5xx, JSON under a wrong label, a body labelled JSON
    that does not parse): the scenarios judge those."""
    kind = (exchange.response_headers.get("content-type") or "no Content-Type").split(";")[0].strip().lower()
    if exchange.status in _NOT_OFFERED:
        return f"HTTP {exchange.status} ({kind}): the path is not there"
    labelled_json = kind == "application/json" or kind.endswith("+json")
    if exchange.response_json is None and not labelled_json:
        return f"HTTP {exchange.status} ({kind}): the body is not JSON"
    return None


def speaks_the_api(client: PartnerProgramClient) -> None:
    """Check that the target answers as the Partner Program API: `POST {}` (no customer list: harmless, sent in a
    read-only run too) to the documented paths of linkCustomer, customerPartnerProgramUpdate and deLinkCustomer
    (the profile's `paths`), in that order, until one answers as the API would (`_not_the_api`: JSON, not
    404/405/501). One request against a conforming target; three when none answers; none when one of the
    client's earlier requests to those paths (the pool scan's or the relinking probe's update) already answered as
    the API would.

    Raises `NotThePartnerProgramApi` when none does (an HTML page, a web server's 501, another service's 404),
    `AuthFailed` when the org's credentials are refused. A transport failure (timeout, reset, an oversized answer)
    decides nothing here: the scenarios meet it and report it as an error of the run."""
    urls = {client.base_url + client.profile.paths[ep.name] for ep in ENDPOINTS.values()}
    if any(ex.method == "POST" and ex.url in urls and _not_the_api(ex) is None for ex in client.exchanges):
        return  # the preflight already met the API on a documented path: no request needed to know it
    seen = []
    for ep in ENDPOINTS.values():
        path = client.profile.paths[ep.name]
        try:
            exchange = client.send("POST", path, json_body={}, harmless=True)
        except AuthFailed:
            raise
        except TargetError:
            return  # it did not answer in time or in bounds: the scenarios meet it and say so (errors of the run)
        why = _not_the_api(exchange)
        if why is None:
            return
        seen.append(f"POST {path} answered {why}")
    raise NotThePartnerProgramApi(
        f"{client.base_url} does not answer as the Partner Program API: " + "; ".join(seen) + ". Check the base "
        "URL (--base-url or the profile's base_url: the cluster's API host, e.g. https://eu.api.capillarytech.com, "
        "with no path) and the profile's paths."
    )


@dataclass(frozen=True)
class DiscoveredProgram:
    """A partner program as the target lists it (capillary-facts#customer-apis).

    - `name`: `partnerProgramName`.
    - `type`: `partnerProgramType`, "EXTERNAL" or "SUPPLEMENTARY".
    - `tiers`: the `tierName`s of `partnerProgramTiers`, ordered by `tierNumber`
      ascending (lowest first); empty for a program without tiers.
    - `membership_period`: from `membershipPeriodType`/`membershipPeriodValue`;
      None for an EXTERNAL program or when the value is 0 or absent.
    - `program_id`: `partnerProgramId`, or None when absent or not an integer.
    - `tier_numbers`: (`tierName`, `tierNumber`) of each tier, lowest first: what events call a tier
      (`partnerTierNumber`, events#partner-program-updated-partnerprogramupdated).
    """

    name: str
    type: str
    tiers: tuple[str, ...] = ()
    membership_period: MembershipPeriod | None = None
    program_id: int | None = None
    tier_numbers: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Drift:
    """One disagreement between a declared profile and the target.

    - `org`: the org's name in the profile.
    - `key`: the profile key path, e.g. "orgs[staging].programs.external.tiers".
    - `declared`: what the profile declares there.
    - `found`: what the target showed (None when it showed nothing).
    - `message`: one human sentence saying what differs.
    """

    org: str
    key: str
    declared: Any
    found: Any
    message: str


def _malformed(exchange: Exchange, problem: str) -> TargetError:
    return TargetError(
        f"GET {PROGRAMS_PATH} answered HTTP {exchange.status} with a body that is not the "
        f"documented shape (capillary-facts#customer-apis): {problem}\n{exchange.render()}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_program(entry: Any, where: str, exchange: Exchange) -> DiscoveredProgram:
    if not isinstance(entry, dict):
        raise _malformed(exchange, f"{where} is not an object")
    name = entry.get("partnerProgramName")
    if not isinstance(name, str) or not name.strip():
        raise _malformed(exchange, f"{where}.partnerProgramName is not a non-empty string")
    ptype = entry.get("partnerProgramType")
    if ptype not in _PROGRAM_TYPES:
        raise _malformed(exchange, f"{where}.partnerProgramType {ptype!r} is not EXTERNAL or SUPPLEMENTARY")
    raw_tiers = entry.get("partnerProgramTiers")
    if raw_tiers is None:
        raw_tiers = []
    if not isinstance(raw_tiers, list):
        raise _malformed(exchange, f"{where}.partnerProgramTiers is not a list")
    tiers: list[tuple[int, str]] = []
    for i, tier in enumerate(raw_tiers):
        if (
            not isinstance(tier, dict)
            or not _is_int(tier.get("tierNumber"))
            or not isinstance(tier.get("tierName"), str)
            or not tier["tierName"]
        ):
            raise _malformed(exchange, f"{where}.partnerProgramTiers[{i}] is not {{tierNumber: int, tierName: str}}")
        tiers.append((tier["tierNumber"], tier["tierName"]))
    period: MembershipPeriod | None = None
    value = entry.get("membershipPeriodValue")
    if value is not None and (not _is_int(value) or value < 0):
        raise _malformed(exchange, f"{where}.membershipPeriodValue {value!r} is not an integer >= 0")
    if ptype == "SUPPLEMENTARY" and value:
        period_type = entry.get("membershipPeriodType")
        if period_type not in _PERIOD_TYPES:
            raise _malformed(exchange, f"{where}.membershipPeriodType {period_type!r} is not DAYS or MONTHS")
        period = MembershipPeriod(period_type, value)
    program_id = entry.get("partnerProgramId")
    return DiscoveredProgram(
        name=name,
        type=ptype,
        tiers=tuple(tier_name for _, tier_name in sorted(tiers, key=lambda t: t[0])),
        membership_period=period,
        program_id=program_id if _is_int(program_id) else None,
        tier_numbers=tuple((tier_name, number) for number, tier_name in sorted(tiers, key=lambda t: t[0])),
    )


def discover_programs(client: PartnerProgramClient) -> dict[str, DiscoveredProgram] | None:
    """The org's partner programs, from `GET /v2/organization/programs` (capillary-facts#customer-apis).

    Returns `{partnerProgramName: DiscoveredProgram}` in the order the target
    lists them (a repeated name keeps its first entry), or None when the target
    does not offer the endpoint (HTTP 404, 405 or 501). Fields beyond the
    documented ones are ignored.

    Raises `AuthFailed` on HTTP 401/403 (the org's own credentials refused) and
    `TargetError` on any other unexpected status (5xx included) or on a 2xx body
    that is not `{"partnerPrograms": [{partnerProgramName, partnerProgramType,
    partnerProgramTiers, ...}]}`; the message holds the redacted exchange.
    """
    exchange = client.send("GET", PROGRAMS_PATH)
    if exchange.status in _NOT_OFFERED:
        return None
    if exchange.status in (401, 403):
        raise AuthFailed(
            f"GET {PROGRAMS_PATH} refused the org's credentials (HTTP {exchange.status})\n" + exchange.render()
        )
    if not 200 <= exchange.status < 300:
        raise TargetError(f"GET {PROGRAMS_PATH} answered HTTP {exchange.status}\n{exchange.render()}")
    body = exchange.response_json
    why = _not_the_api(exchange)
    if why is not None:
        raise NotThePartnerProgramApi(
            f"{client.base_url} does not answer as the Partner Program API: GET {PROGRAMS_PATH} answered {why}. "
            "Check the base URL (--base-url or the profile's base_url) and the profile's paths."
        )
    if not isinstance(body, dict):
        raise _malformed(exchange, "the body is not a JSON object")
    entries = body.get("partnerPrograms")
    if not isinstance(entries, list):
        raise _malformed(exchange, "partnerPrograms is missing or not a list")
    programs: dict[str, DiscoveredProgram] = {}
    for i, entry in enumerate(entries):
        program = _parse_program(entry, f"partnerPrograms[{i}]", exchange)
        programs.setdefault(program.name, program)
    return programs


def probe_relinking(client: PartnerProgramClient, customer: dict[str, Any], program_name: str) -> bool | None:
    """Whether ALLOW_MEMBERSHIP_RELINKING is enabled, from one MEMBERSHIP_RELINKING_CANCELLED update.

    Sends `{"customersPartnerUpdates": [{"customer": customer, "partnerProgramUpdates":
    [{"partnerProgramName": program_name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}]}]}`
    for `customer` (identifiers such as `{"mobile": "..."}` of a registered
    customer with nothing pending in `program_name`, a supplementary program)
    and reads `customersPartnerUpdates[0].partnerProgramUpdates[0].updateStatus.code`
    (update-partner-program#error-codes):

    - 2026 (relinking not enabled) -> False;
    - 2027 (nothing pending to cancel) or 2004 (not linked) -> True;
    - anything else, or no such code -> None (undetermined).

    The probe is a write request: on a target whose profile keeps it
    read-only, the client refuses to send it and its refusal propagates (the
    caller then has no probe, i.e. relinking None). Raises `TargetError` (with
    the redacted exchange) when the target answers 5xx, and the client's
    `TargetError`s (unreachable, credentials refused).
    """
    cancel = {PROGRAM_NAME_KEY: program_name, "updateType": "MEMBERSHIP_RELINKING_CANCELLED"}
    exchange = client.update(UPDATE.request_body([(customer, [cancel])]))
    if exchange.status >= 500:
        raise TargetError(
            f"the relinking probe (MEMBERSHIP_RELINKING_CANCELLED) answered HTTP {exchange.status}\n"
            + exchange.render()
        )
    return relinking_of(_item_code(exchange.response_json))


def relinking_of(code: Any) -> bool | None:
    """What the item code of a MEMBERSHIP_RELINKING_CANCELLED for a customer with nothing pending says of
    ALLOW_MEMBERSHIP_RELINKING (update-partner-program#error-codes): 2026 -> False; 2027 (nothing pending) or 2004
    (not linked) -> True; anything else -> None (undetermined). Used by `probe_relinking` and by the customer pool's
    scan, whose cancel is the same probe (`run.customer_pool.scan_org`)."""
    if code == _RELINKING_DISABLED:
        return False
    if code in (_NOTHING_PENDING, _NOT_LINKED):
        return True
    return None


def _item_code(body: Any) -> Any:
    """The first item's status code of an update answer (`customersPartnerUpdates[0].partnerProgramUpdates[0]
    .updateStatus.code`), or None."""
    shape = UPDATE.result_shapes[0]
    try:
        return body[shape.results_key][0][shape.programs_key][0][shape.status_key]["code"]
    except (KeyError, IndexError, TypeError):
        return None


def _first(
    candidates: Iterable[DiscoveredProgram], *preferences: Callable[[DiscoveredProgram], bool]
) -> DiscoveredProgram | None:
    """The first candidate meeting the first preference that any candidate meets."""
    pool = list(candidates)
    for prefer in preferences:
        found = next((p for p in pool if prefer(p)), None)
        if found is not None:
            return found
    return None


def _as_profile(program: DiscoveredProgram) -> ProgramProfile:
    return ProgramProfile(name=program.name, tiers=program.tiers, membership_period=program.membership_period)


def fill_from_discovery(org: OrgProfile, programs: dict[str, DiscoveredProgram]) -> OrgProfile:
    """A copy of `org` whose programs are completed from `programs` (see `discover_programs`).

    Roles the profile declares keep their name; their `tiers` are filled when
    the profile declares none, and their `membership_period` when it declares
    none, from the discovered program of that name. Roles it leaves out are
    chosen among programs no other role uses, in the target's order:

    - "external": the first EXTERNAL program with at least 2 tiers;
    - "supplementary": the first SUPPLEMENTARY program with a membership
      period, preferring one with tiers;
    - "second_supplementary": another SUPPLEMENTARY program, preferring one
      with a membership period; only when "supplementary" is declared or filled.

    A role with no candidate stays absent. Nothing the profile declares is
    overridden; `org` itself is not changed. Raises nothing.
    """
    filled: dict[str, ProgramProfile] = {}
    for role, declared in org.programs.items():
        found = programs.get(declared.name)
        if found is not None:
            declared = dataclasses.replace(
                declared,
                tiers=declared.tiers or found.tiers,
                membership_period=declared.membership_period or found.membership_period,
                tier_numbers=declared.tier_numbers or found.tier_numbers,
            )
        filled[role] = declared
    taken = {p.name for p in filled.values()}

    def free(ptype: str) -> list[DiscoveredProgram]:
        return [p for p in programs.values() if p.type == ptype and p.name not in taken]

    for role in ("external", "supplementary", "second_supplementary"):
        if role in filled:
            continue
        if role == "external":
            choice = _first(free("EXTERNAL"), lambda p: len(p.tiers) >= 2)
        elif role == "supplementary":
            choice = _first(
                free("SUPPLEMENTARY"),
                lambda p: p.membership_period is not None and bool(p.tiers),
                lambda p: p.membership_period is not None,
            )
        elif "supplementary" in filled:  # a second one only beside a first
            choice = _first(free("SUPPLEMENTARY"), lambda p: p.membership_period is not None, lambda p: True)
        else:
            choice = None
        if choice is not None:
            filled[role] = _as_profile(choice)
            taken.add(choice.name)
    return dataclasses.replace(org, programs=filled)


def _names(values: Iterable[str]) -> str:
    return ", ".join(values) or "(none)"


def _period(period: MembershipPeriod | None) -> str:
    return f"{period.value} {period.type}" if period else "no membership period"


def _tier_message(role: str, name: str, declared: tuple[str, ...], found: tuple[str, ...]) -> str:
    missing = [t for t in declared if t not in found]
    extra = [t for t in found if t not in declared]
    parts = []
    if missing:
        parts.append(f"the target lacks {_names(missing)}")
    if extra:
        parts.append(f"the target also has {_names(extra)}")
    if not parts:
        parts.append("the same tiers are in a different order")
    return (
        f"The profile declares tiers [{_names(declared)}] for {role} program {name!r}, but the target lists "
        f"[{_names(found)}] lowest first: {'; '.join(parts)}."
    )


def _program_drift(org: OrgProfile, programs: dict[str, DiscoveredProgram]) -> list[Drift]:
    """The program part of `drift` (name, type, tiers, membership period per declared role)."""
    items: list[Drift] = []
    for role, declared in org.programs.items():
        key = f"orgs[{org.name}].programs.{role}"
        found = programs.get(declared.name)
        if found is None:
            items.append(
                Drift(
                    org.name,
                    f"{key}.name",
                    declared.name,
                    None,
                    f"The profile names {declared.name!r} as the {role} program, but the target lists "
                    f"no such program (it lists: {_names(programs)}).",
                )
            )
            continue
        want = ROLE_TYPES.get(role)
        if want is not None and found.type != want:
            items.append(
                Drift(
                    org.name,
                    f"{key}.type",
                    want,
                    found.type,
                    f"The {role} program {declared.name!r} must be {want}, but the target lists it as {found.type}.",
                )
            )
        if declared.tiers and declared.tiers != found.tiers:
            items.append(
                Drift(
                    org.name,
                    f"{key}.tiers",
                    list(declared.tiers),
                    list(found.tiers),
                    _tier_message(role, declared.name, declared.tiers, found.tiers),
                )
            )
        if declared.membership_period is not None and declared.membership_period != found.membership_period:
            items.append(
                Drift(
                    org.name,
                    f"{key}.membership_period",
                    declared.membership_period,
                    found.membership_period,
                    f"The profile declares {_period(declared.membership_period)} for {role} program "
                    f"{declared.name!r}, but the target lists {_period(found.membership_period)}.",
                )
            )
    return items


def drift(org: OrgProfile, programs: dict[str, DiscoveredProgram] | None, relinking: bool | None) -> list[Drift]:
    """Where the declared `org` disagrees with what the target showed.

    `programs` is `discover_programs`'s answer (None: the endpoint is not
    offered, so no program drift is reported); `relinking` is
    `probe_relinking`'s (None: undetermined, so no relinking drift). For each
    program role the profile declares, reports:

    - `...programs.<role>.name`: the target lists no program of that name;
    - `...programs.<role>.type`: its type is not the role's (external must be
      EXTERNAL, supplementary roles SUPPLEMENTARY);
    - `...programs.<role>.tiers`: declared tiers (when any) differ from the
      target's: missing, extra, or in another order (lowest first);
    - `...programs.<role>.membership_period`: a declared period differs from
      the target's (None when it lists none);

    and `orgs[<org>].allow_membership_relinking` when a declared value differs
    from a probed one. Keys start with `orgs[<org name>]`. Returns [] when all
    agree; raises nothing.
    """
    prefix = f"orgs[{org.name}]"
    items = _program_drift(org, programs) if programs is not None else []
    declared_relinking = org.allow_membership_relinking
    if relinking is not None and declared_relinking is not None and declared_relinking != relinking:
        items.append(
            Drift(
                org.name,
                f"{prefix}.allow_membership_relinking",
                declared_relinking,
                relinking,
                f"The profile declares allow_membership_relinking: {str(declared_relinking).lower()}, "
                f"but the target behaves as if ALLOW_MEMBERSHIP_RELINKING were "
                f"{'enabled' if relinking else 'disabled'}.",
            )
        )
    return items


def render_drift(items: list[Drift]) -> str:
    """`items` as a multi-line report: a heading, then per item its key, sentence, declared and found values.

    Returns "no drift" when `items` is empty.
    """
    if not items:
        return "no drift"
    lines = [f"{len(items)} difference(s) between the profile and the target:"]
    for item in items:
        lines.append(f"- {item.key}: {item.message}")
        lines.append(f"    declared: {_value(item.declared)}; found: {_value(item.found)}")
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, MembershipPeriod):
        return f"{{type: {value.type}, value: {value.value}}}"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "(nothing)"
    return str(value)
