"""The model of documented state: what a customer's linked programs must be after the writes the suite made.

Pure Python, no I/O. Per customer (its id on the target) and per partner program the profile declares, the
model holds what `GET /v2/customers/{id}/loyaltyDetails` must list (capillary-facts#customer-apis): whether the
program is listed, its `partnerProgramType`, `partnerMembershipId`, `partnerTierName` and `partnerTierExpiryDate`
(a calendar date in the org's timezone), and whether a future-dated relink is pending (not observable through
loyaltyDetails: kept to predict what a later write does). Each expected value is an `Expect`: the value, the
requirement of the write that last set it or that the documents say must have left it as it was, and the
requirements of the writes before it since the value was set (`history`); a value the documents do not pin
down names the register entry that makes it "don't care" (`Expect.ambiguity`: not compared by default,
compared under that entry's strict stance). The oracle reads the target once, at the end of a scenario, so a
field found wrong was broken by one of the writes since it was set: a mismatch names all of them
(`Expect.suspects`), the last one first in the message.

Transitions (`StateModel.apply_link`, `apply_update`, `apply_delink`, `activate_relinks`), each citing the
sentence it encodes (`TRANSITIONS`, walked by tools/traceability.py):

| transition | effect | requirement |
| --- | --- | --- |
| link, new | listed, with the membership id, tier and tier expiry sent | STATE-LINK-STORED |
| link, already linked, future start | relink pending; the current membership unchanged | STATE-RELINK-KEEPS-CURRENT |
| UPGRADE, DOWNGRADE, RENEW, RENEWAL_INITIATION | tier = updatedTierName | UPDATE-*-TIER, -RENEWAL-INITIATION |
| any of those with updatedTierExpiryDate | tier expiry = that date | UPDATE-TIER-EXPIRY |
| any of those without it | tier expiry unchanged | UPDATE-TIER-EXPIRY-KEPT |
| MEMBERSHIP_RELINKING_CANCELLED | nothing pending; the current membership unchanged | STATE-CANCEL-KEEPS-CURRENT |
| delink | not listed | DELINK-REMOVES-LINK |
| a relink's start date reached (reference clock) | the relink is the membership | RELINK-QUEUE |
| an item answered with a failure | nothing changes | STATE-UNCHANGED-ON-FAILURE |
| every write | the customer's other programs and the fields it does not set unchanged | STATE-OTHERS-UNCHANGED |

An item whose outcome cannot be read (a 5xx, no result answers it) makes its program *unknown*: not compared
until a later write sets it again. `compare` is the oracle's comparison: the model against one loyaltyDetails
answer, returning one `Row` per compared field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ppconformance.contract.endpoints import PROGRAM_NAME_KEY
from ppconformance.contract.stances import AmbiguityId, Stances

__all__ = [
    "FIELDS",
    "TRANSITIONS",
    "UNKNOWN",
    "CustomerState",
    "Expect",
    "ProgramInfo",
    "ProgramState",
    "Relink",
    "Row",
    "StateModel",
    "Transition",
    "calendar_date_of",
    "compare",
]

LINKED_KEY = "linkedPartnerPrograms"
"""loyaltyDetails' list of the customer's programs (capillary-facts#customer-apis)."""
FIELDS = ("partnerProgramType", "partnerMembershipId", "partnerTierName", "partnerTierExpiryDate")
"""The fields of a loyaltyDetails program the model predicts (besides being listed), in report order."""
CANCEL = "MEMBERSHIP_RELINKING_CANCELLED"
TIER_UPDATES = {
    "UPGRADE": "UPDATE-UPGRADE-TIER",
    "DOWNGRADE": "UPDATE-DOWNGRADE-TIER",
    "RENEW": "UPDATE-RENEW-TIER",
    "MEMBERSHIP_RENEWAL_INITIATION": "UPDATE-RENEWAL-INITIATION",
}


class _Unknown:
    """The value of a field whose state cannot be known (its write's outcome could not be read)."""

    def __repr__(self) -> str:
        return "unknown"


PROVISIONED = ""
"""The "requirement" of a customer's state as provisioned (no write has named the program yet): none."""
UNKNOWN: Any = _Unknown()
"""A field the oracle does not compare until a later write sets it (see the module docstring)."""


@dataclass(frozen=True)
class Transition:
    """One documented state change: the requirement it belongs to, the doc id#section and the sentence."""

    requirement: str
    source: str
    quote: str


TRANSITIONS: dict[str, Transition] = {
    "link": Transition(
        "STATE-LINK-STORED", "link-customer#body-parameters", "Name of the partner tier to assign to the customer."
    ),
    "relink queued": Transition(
        "STATE-RELINK-KEEPS-CURRENT",
        "link-customer#body-parameters",
        "providing a future date schedules a relinking on that date",
    ),
    "tier update": Transition(
        "UPDATE-UPGRADE-TIER",
        "update-partner-program#body-parameters",
        "Name of the new tier to assign to the customer.",
    ),
    "tier expiry set": Transition(
        "UPDATE-TIER-EXPIRY", "update-partner-program#body-parameters", "Expiry date and time for the updated tier"
    ),
    "tier expiry kept": Transition(
        "UPDATE-TIER-EXPIRY-KEPT",
        "update-partner-program#body-parameters",
        "If not provided, the existing tier expiry date remains unchanged.",
    ),
    "relink cancelled": Transition(
        "STATE-CANCEL-KEEPS-CURRENT",
        "update-partner-program#body-parameters",
        "cancel a pending future-dated relink for a supplementary program before it is activated",
    ),
    "delink": Transition(
        "DELINK-REMOVES-LINK",
        "delink-customer#overview",
        "Lets you remove a customer from one or more partner programs.",
    ),
    "relink starts": Transition(
        "RELINK-QUEUE", "link-customer#body-parameters", "in that case, the membership ID is already on record"
    ),
    "failed item": Transition(
        "STATE-UNCHANGED-ON-FAILURE", "link-customer#response-parameters", "true if linking succeeded, false otherwise."
    ),
    "other programs": Transition(
        "STATE-OTHERS-UNCHANGED",
        "update-partner-program#overview",
        "This API lets you update tier details for customers already linked to partner programs.",
    ),
}
"""Every transition of the model with the sentence it encodes (module docstring's table)."""


def _req(transition: str) -> str:
    return TRANSITIONS[transition].requirement


# -- dates -----------------------------------------------------------------------------------------------
def calendar_date_of(value: object, tz: str) -> date | None:
    """The calendar date, in timezone `tz`, that a date value names: an ISO 8601 date ("2027-01-15"), an ISO
    8601 date-time (converted to `tz` when it carries an offset), or epoch milliseconds; None for anything else
    (a format the documents do not name: AMB-TIER-EXPIRY-FORMAT). Raises nothing."""
    zone = ZoneInfo(tz)
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return datetime.fromtimestamp(value / 1000, UTC).astimezone(zone).date()
        if not isinstance(value, str):
            return None
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(zone).date() if moment.tzinfo is not None else moment.date()
    except (ValueError, OverflowError, OSError):
        return None


# -- the model -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """An expected value: `value` (str, `date`, True/False for "listed", None for no value: absent or null,
    or `UNKNOWN`), the `requirement` of the write that last set it or had to leave it as it was, the earlier
    requirements (`history`, oldest first), and `ambiguity`: the register entry under whose lenient stance the
    value is not compared (None: always compared)."""

    value: Any
    requirement: str
    history: tuple[str, ...] = ()
    ambiguity: AmbiguityId | None = None
    alternates: frozenset[Any] = frozenset()
    """Values that pass too under the lenient stance of AMB-TIER-EXPIRY-DAY: for a tier expiry, the UTC calendar
    day of the instant sent when it differs from the org's day (`value`)."""

    def kept(self, requirement: str) -> Expect:
        """The same expectation, now also promised by a later write's `requirement`."""
        if requirement == self.requirement:
            return self
        earlier = tuple(r for r in dict.fromkeys((*self.history, self.requirement)) if r and r != requirement)
        return replace(self, requirement=requirement, history=earlier[-8:])

    @property
    def suspects(self) -> tuple[str, ...]:
        """The requirements of the writes since the value was set, the last first: one of them broke a field
        found to differ (empty for a program no write has named since the customer was provisioned)."""
        return tuple(r for r in dict.fromkeys((self.requirement, *reversed(self.history))) if r)

    def compared(self, stances: Stances) -> bool:
        """False for an unknown value, or a don't-care one whose register entry is lenient."""
        if self.value is UNKNOWN:
            return False
        return self.ambiguity is None or stances.strict(self.ambiguity)


@dataclass(frozen=True)
class Relink:
    """A pending future-dated relink: its start (calendar date), and the membership id, tier and tier expiry
    (`date`) its item named (None: not named)."""

    start: date
    membership_id: str | None
    tier: str | None
    tier_expiry: date | None
    tier_expiry_utc: date | None = None


@dataclass(frozen=True)
class ProgramInfo:
    """A program the profile declares: `name`, `type` ("EXTERNAL" | "SUPPLEMENTARY") and its tiers."""

    name: str
    type: str
    tiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgramState:
    """What loyaltyDetails must show of one program for one customer (see the module docstring).
    `relink`: the pending relink, None, or `UNKNOWN` (not observable; used by the transitions)."""

    listed: Expect
    membership_id: Expect
    tier: Expect
    tier_expiry: Expect
    relink: Relink | None | Any = None

    def kept(self, requirement: str) -> ProgramState:
        """Every field promised unchanged by a write of `requirement`."""
        return replace(
            self,
            listed=self.listed.kept(requirement),
            membership_id=self.membership_id.kept(requirement),
            tier=self.tier.kept(requirement),
            tier_expiry=self.tier_expiry.kept(requirement),
        )

    @staticmethod
    def absent(requirement: str) -> ProgramState:
        """Not listed, nothing pending, as `requirement` says."""
        none = Expect(None, requirement)
        return ProgramState(Expect(False, requirement), none, none, none, None)

    @staticmethod
    def unknown(requirement: str) -> ProgramState:
        """Nothing known (the outcome of a write could not be read)."""
        unknown = Expect(UNKNOWN, requirement)
        return ProgramState(unknown, unknown, unknown, unknown, UNKNOWN)


@dataclass
class CustomerState:
    """One customer's programs, by program name (every declared program has an entry)."""

    programs: dict[str, ProgramState] = field(default_factory=dict)

    def pending(self, name: str) -> bool | None:
        """True/False when a relink of `name` is or is not pending; None when unknown."""
        relink = self.programs[name].relink if name in self.programs else None
        return None if relink is UNKNOWN else relink is not None

    def listed(self) -> set[str] | None:
        """The programs the model expects listed; None when any program's presence is unknown."""
        if any(p.listed.value is UNKNOWN for p in self.programs.values()):
            return None
        return {name for name, p in self.programs.items() if p.listed.value is True}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class StateModel:
    """The documented state of the customers a scenario (or a fuzz sequence) touches.

    Arguments: `programs` (the declared programs, `ProgramInfo`), `tz` (the org's IANA timezone, for the
    calendar dates of date values sent). Customers are keyed by their id on the target (int).
    """

    def __init__(self, programs: Iterable[ProgramInfo], tz: str) -> None:
        self.programs = {p.name: p for p in programs}
        self.tz = tz
        self.customers: dict[int, CustomerState] = {}

    # -- customers -------------------------------------------------------------------------------------
    def add(self, customer: int, *, unknown: Iterable[str] = ()) -> CustomerState:
        """A customer with no declared program linked (freshly registered, or borrowed and cleaned); the
        programs of `unknown` are not known (a borrowed customer whose cleaning could not be checked)."""
        state = CustomerState({name: ProgramState.absent(PROVISIONED) for name in self.programs})
        for name in unknown:
            if name in state.programs:
                state.programs[name] = ProgramState.unknown(PROVISIONED)
        self.customers[customer] = state
        return state

    def forget(self, customer: int) -> None:
        """Make every program of `customer` unknown (its state can no longer be predicted)."""
        self.customers[customer] = CustomerState({name: ProgramState.unknown(PROVISIONED) for name in self.programs})

    def state(self, customer: int) -> CustomerState | None:
        """The customer's modelled state, or None when the model does not know it."""
        return self.customers.get(customer)

    def _write(self, customer: int | None, touched: Sequence[str]) -> CustomerState | None:
        """The customer's state with every program not in `touched` promised unchanged by this write."""
        state = self.customers.get(customer) if customer is not None else None
        if state is None:
            return None
        for name, program in state.programs.items():
            if name not in touched:
                state.programs[name] = program.kept(_req("other programs"))
        return state

    # -- transitions -------------------------------------------------------------------------------------
    def _apply(
        self,
        customer: int | None,
        items: Sequence[Any],
        codes: Sequence[int | None],
        unreadable: str,
        success: Callable[[ProgramState, Any], ProgramState],
    ) -> None:
        """One request entry's items for `customer`, answered with `codes`: an unreadable code makes the program
        unknown (as `unreadable` says), a failure keeps it, a success is `success(current state, item)`."""
        state = self._write(customer, [_name(i) for i in items])
        if state is None:
            return
        for item, code in zip(items, codes, strict=True):
            name = _name(item)
            if name not in state.programs:
                continue
            current = state.programs[name]
            if code is None:
                state.programs[name] = ProgramState.unknown(unreadable)
            elif code != 200:
                state.programs[name] = current.kept(_req("failed item"))
            else:
                state.programs[name] = success(current, item)

    def apply_link(self, customer: int | None, items: Sequence[Any], codes: Sequence[int | None]) -> None:
        """A linkCustomer entry for `customer` was answered: `items` as sent, `codes` each item's status code
        (None: not readable)."""
        self._apply(customer, items, codes, _req("link"), lambda current, item: self._linked(current, _ref(item)))

    def _linked(self, current: ProgramState, ref: Mapping[str, Any]) -> ProgramState:
        start = self._date(ref.get("membershipStartDate"))
        listed = current.listed.value
        if listed is UNKNOWN:
            return ProgramState.unknown(_req("link"))
        if listed is True:
            if start is None or current.relink is UNKNOWN:
                return ProgramState.unknown(_req("link"))  # a duplicate link answered success: no documented effect
            relink = Relink(start, _str(ref.get("partnerMembershipId")), _str(ref.get("partnerTierName")), None)
            sent = ref.get("partnerTierExpiryDate")
            relink = replace(relink, tier_expiry=self._date(sent), tier_expiry_utc=self._utc_day(sent))
            return replace(current.kept(_req("relink queued")), relink=relink)
        req = _req("link")
        tier, expiry = _str(ref.get("partnerTierName")), self._expiry(ref.get("partnerTierExpiryDate"), req)
        return ProgramState(
            listed=Expect(True, req),
            membership_id=Expect(_str(ref.get("partnerMembershipId")), req),
            tier=Expect(tier, req) if tier else Expect(None, req, ambiguity=AmbiguityId.LINK_DEFAULT_TIER),
            tier_expiry=expiry or Expect(None, req, ambiguity=AmbiguityId.LINK_DEFAULT_TIER_EXPIRY),
            relink=None,
        )

    def apply_update(self, customer: int | None, items: Sequence[Any], codes: Sequence[int | None]) -> None:
        """A customerPartnerProgramUpdate entry for `customer` was answered (see `apply_link`)."""
        self._apply(customer, items, codes, _req("tier update"), self._update_applied)

    def _update_applied(self, current: ProgramState, item: Any) -> ProgramState:
        update_type = str(item.get("updateType", "")).upper() if isinstance(item, Mapping) else ""
        if update_type == CANCEL:
            return replace(current.kept(_req("relink cancelled")), relink=None)
        if update_type in TIER_UPDATES and current.listed.value is True:
            return self._updated(current, item, TIER_UPDATES[update_type])
        # success to an undocumented type, or to a program not known to be linked: no documented effect
        return ProgramState.unknown(_req("tier update"))

    def _updated(self, current: ProgramState, item: Mapping[str, Any], requirement: str) -> ProgramState:
        raw = item.get("updateDetails")
        details: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        tier = _str(details.get("updatedTierName"))
        expiry = self._expiry(details.get("updatedTierExpiryDate"), _req("tier expiry set"))
        others = current.kept(_req("other programs"))
        return replace(
            others,
            listed=current.listed.kept(requirement),
            tier=Expect(tier, requirement) if tier else Expect(UNKNOWN, requirement),
            tier_expiry=expiry or current.tier_expiry.kept(_req("tier expiry kept")),
        )

    def apply_delink(self, customer: int | None, items: Sequence[Any], codes: Sequence[int | None]) -> None:
        """A deLinkCustomer entry for `customer` was answered (see `apply_link`). Whether a delink also drops a
        pending relink is not documented (AMB-DELINK-PENDING-RELINK): afterwards it is unknown."""
        self._apply(
            customer,
            items,
            codes,
            _req("delink"),
            lambda current, item: replace(ProgramState.absent(_req("delink")), relink=UNKNOWN),
        )

    def activate_relinks(self, customer: int, as_of: date) -> None:
        """The target's scheduler ran for `customer` as of `as_of`: every pending relink starting on or before
        it is now the membership (membership id kept unless the relink named one: "the membership ID is already
        on record"; the tier and tier expiry the relink named, else don't care: AMB-RELINK-ACTIVATION-STATE)."""
        state = self.customers.get(customer)
        if state is None:
            return
        req = _req("relink starts")
        for name, program in state.programs.items():
            relink = program.relink
            if relink is UNKNOWN:
                state.programs[name] = ProgramState.unknown(req)
            elif isinstance(relink, Relink) and relink.start <= as_of:
                loose = AmbiguityId.RELINK_ACTIVATION_STATE
                state.programs[name] = ProgramState(
                    listed=Expect(True, req),
                    membership_id=(
                        Expect(relink.membership_id, req) if relink.membership_id else program.membership_id.kept(req)
                    ),
                    tier=Expect(relink.tier, req) if relink.tier else Expect(None, req, ambiguity=loose),
                    tier_expiry=(
                        Expect(
                            relink.tier_expiry, req, alternates=_other_day(relink.tier_expiry_utc, relink.tier_expiry)
                        )
                        if relink.tier_expiry
                        else Expect(None, req, ambiguity=loose)
                    ),
                    relink=None,
                )

    def confirm(self, customer: int, rows: Iterable[Row]) -> None:
        """The oracle found the fields of `rows` with verdict "ok" as documented: their history restarts, so a
        later mismatch names only the writes made after this comparison."""
        state = self.customers.get(customer)
        if state is None:
            return
        attrs = {"listed": "listed", FIELDS[1]: "membership_id", FIELDS[2]: "tier", FIELDS[3]: "tier_expiry"}
        for row in rows:
            program = state.programs.get(row.program)
            if row.verdict != "ok" or program is None or row.field not in attrs:
                continue
            expect = getattr(program, attrs[row.field])
            state.programs[row.program] = replace(
                program, **{attrs[row.field]: replace(expect, requirement=PROVISIONED, history=())}
            )

    def _date(self, value: Any) -> date | None:
        return calendar_date_of(value, self.tz) if isinstance(value, str) and value else None

    def _utc_day(self, value: Any) -> date | None:
        return calendar_date_of(value, "UTC") if isinstance(value, str) and value else None

    def _expiry(self, value: Any, requirement: str) -> Expect | None:
        """The tier expiry a write sent, as the calendar day in the org's timezone, with the UTC day of the same
        instant as an alternate (AMB-TIER-EXPIRY-DAY); None when nothing (or nothing readable) was sent."""
        day = self._date(value)
        if day is None:
            return None
        return Expect(day, requirement, alternates=_other_day(self._utc_day(value), day))


def _other_day(utc_day: date | None, day: date | None) -> frozenset[date]:
    return frozenset({utc_day}) if utc_day is not None and utc_day != day else frozenset()


def _name(item: Any) -> str:
    name = item.get(PROGRAM_NAME_KEY) if isinstance(item, Mapping) else None
    return name if isinstance(name, str) else ""


def _ref(item: Any) -> Mapping[str, Any]:
    ref = item.get("customerPartnerReference") if isinstance(item, Mapping) else None
    return ref if isinstance(ref, Mapping) else {}


# -- the oracle's comparison ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One compared field of one program: `field` ("listed" or one of `FIELDS`), the expectation's text and
    the target's, `suspects` (`Expect.suspects`: the requirements of the writes since it was set, the last
    first), and `verdict`: "ok", "MISMATCH", or "not compared (<why>)"."""

    program: str
    field: str
    expected: str
    found: str
    suspects: tuple[str, ...]
    verdict: str

    @property
    def requirement(self) -> str:
        """The requirement of the last write that set or kept the field ("" when none did)."""
        return self.suspects[0] if self.suspects else ""

    @property
    def mismatch(self) -> bool:
        """True when the target's state differs from the model's."""
        return self.verdict == "MISMATCH"


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if value is True:
        return "listed"
    if value is False:
        return "not listed"
    return value.isoformat() if isinstance(value, date) else str(value)


def _expiry_dates(value: Any, tz: str, stances: Stances) -> set[date] | None:
    """The calendar dates a found partnerTierExpiryDate may name: in the org's timezone, and in UTC too unless
    AMB-TIER-EXPIRY-DAY is strict; None when its format is not one the suite reads."""
    named = calendar_date_of(value, tz)
    if named is None:
        return None
    dates = {named}
    if not stances.strict(AmbiguityId.TIER_EXPIRY_DAY):
        dates.add(calendar_date_of(value, "UTC") or named)
    return dates


def compare(
    state: CustomerState,
    found: Any,
    programs: Mapping[str, ProgramInfo],
    tz: str,
    stances: Stances,
) -> list[Row]:
    """Compare a customer's modelled state with a loyaltyDetails answer's `linkedPartnerPrograms` (`found`, a
    list of objects). Every declared program gets a "listed" row and, when it must be listed, a row per field
    of `FIELDS`; a program the profile does not declare is compared only under strict AMB-UNDECLARED-PROGRAMS.
    null and absent are the same ("(none)"). Raises nothing."""
    listed: dict[str, list[Mapping[str, Any]]] = {}
    for entry in found if isinstance(found, list) else []:
        if isinstance(entry, Mapping):
            listed.setdefault(str(entry.get(PROGRAM_NAME_KEY)), []).append(entry)
    rows: list[Row] = []
    for name, expected in state.programs.items():
        entries = listed.get(name, [])
        rows.append(_row(name, "listed", expected.listed, True if entries else False, stances, count=len(entries)))
        if expected.listed.value is not True or len(entries) != 1:
            continue
        entry = entries[0]
        info = programs.get(name)
        type_expect = Expect(info.type if info else UNKNOWN, expected.listed.requirement, expected.listed.history)
        found_type = entry.get("partnerProgramType")
        rows.append(_row(name, FIELDS[0], type_expect if found_type is not None else Expect(UNKNOWN, ""), found_type))
        found_id = entry.get("partnerMembershipId")
        rows.append(
            _row(name, FIELDS[1], expected.membership_id, str(found_id) if found_id not in (None, "") else None)
        )
        rows.append(_row(name, FIELDS[2], expected.tier, _str(entry.get("partnerTierName")), stances))
        rows.append(_expiry_row(name, expected.tier_expiry, entry.get("partnerTierExpiryDate"), tz, stances))
    strict = stances.strict(AmbiguityId.UNDECLARED_PROGRAMS)
    for name in sorted(set(listed) - set(state.programs)):
        verdict = "MISMATCH" if strict else "not compared (AMB-UNDECLARED-PROGRAMS)"
        rows.append(Row(name, "listed", "not listed", "listed", (_req("other programs"),), verdict))
    return rows


def _row(program: str, name: str, expect: Expect, found: Any, stances: Stances | None = None, count: int = 1) -> Row:
    shown_found = _shown(found) if count <= 1 else f"listed {count} times"
    if expect.value is UNKNOWN:
        verdict = "not compared (unknown: a write's outcome could not be read)"
    elif stances is not None and not expect.compared(stances):
        verdict = f"not compared ({expect.ambiguity})"
    else:
        verdict = "ok" if (found == expect.value and count <= 1) else "MISMATCH"
    return Row(program, name, _shown(expect.value), shown_found, expect.suspects, verdict)


def _expiry_row(program: str, expect: Expect, found: Any, tz: str, stances: Stances) -> Row:
    name = FIELDS[3]
    if found in (None, ""):
        return _row(program, name, expect, None, stances)
    dates = _expiry_dates(found, tz, stances)
    if dates is None:
        if not stances.strict(AmbiguityId.TIER_EXPIRY_FORMAT) and expect.compared(stances):
            return replace(_row(program, name, expect, found), verdict="not compared (AMB-TIER-EXPIRY-FORMAT)")
        return _row(program, name, expect, found, stances)
    if not stances.strict(AmbiguityId.TIER_EXPIRY_DAY) and dates & expect.alternates:
        dates = dates | {expect.value}  # the UTC day of the instant sent (AMB-TIER-EXPIRY-DAY)
    matched = expect.value if expect.value in dates else min(dates)
    row = _row(program, name, expect, matched, stances)
    return replace(row, found=str(found)) if row.mismatch else row
