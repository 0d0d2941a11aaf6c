"""The readings report: which reading of the ambiguity register a target showed where the documents are silent.

The register (`catalogue/ambiguities.yaml`) lists the points the documents leave open; the suite's stances say
what it accepts there. This module records what the target *chose*: it reads every answer the run got (the
scenarios' exchanges and the fuzz stage's answers), every webhook event the sink accepted, and the state oracle's
re-reads, and counts, per register entry, each reading it saw. Nothing here decides a verdict: a reading is
information for a vendor's acceptance file and for a regression run (`--baseline` shows a reading that changed).

    readings = Readings.for_profile(paths={"/v2/partnerProgram/linkCustomer": LINK, ...}, programs={"SPP_1"})
    readings.observe("POST", "/v2/partnerProgram/linkCustomer", body, 201, answer)
    readings.observe_event(payload)
    readings.to_json()          # {"AMB-ITEM-FAILURE-HTTP-STATUS": {"": {"HTTP 201": 3}}, ...} (aspect -> counts)
    summarise(readings, catalogue_titles)   # the report's rows (see `summarise`)

A reading is `(entry, aspect, value)`: most entries have one aspect (""); an entry with several independent
choices names them (AMB-DELINK-RESPONSE-SHAPE: the shape, and what delink items echo as updateType). An aspect that
showed two or more values is **mixed**: the target was inconsistent there, which the report warns about.

Only the entries in `READ` are read from traffic; the others the report lists as "not read" with the reason
(`NOT_READ`): their reading shows only in the state oracle's model of a flow (which default tier a link got,
when a relink starts), not in one answer. Sources of each reading are given in `READ`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ppconformance.contract.endpoints import (
    CUSTOMER_KEY,
    DELINK,
    LINK,
    PROGRAM_NAME_KEY,
    UPDATE,
    Endpoint,
    ResultShape,
)
from ppconformance.contract.events import event_form, facts
from ppconformance.contract.matching import CustomerMatch, ItemMatch, identifiers, match_results, sent_from_request
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId as A

__all__ = ["NOT_READ", "READ", "Readings", "against", "diff_readings", "shows", "summarise", "tenant_of"]

READ: dict[str, str] = {
    A.ITEM_FAILURE_HTTP_STATUS: "the HTTP status of item-level answers with a failed item",
    A.RESULT_ORDER: "the order of results in answers to requests of two or more customers or items",
    A.NULL_AS_ABSENT: "answer fields without a value, per kind: identifiers a customer not found was not sent by, "
    "partnerProgramName of an item sent without one, updateType of delink results",
    A.EXTRA_FIELDS: "answers valid under the documents' schemas: with or without undocumented members",
    A.DELINK_RESPONSE_SHAPE: "the shape of deLinkCustomer answers and the updateType their items echo",
    A.LEGACY_STATUS_FALSE: "the status boolean of items answered code 200",
    A.E2008_LEVEL: "how a request of more than 50 customers is answered",
    A.UPDATETYPE_CASE: "how an update item with a lower-case updateType is answered",
    A.MALFORMED_CODE: "the HTTP status of a body that is not JSON",
    A.UNDEFINED_REQUESTS: "the HTTP status of a method the documented paths do not define",
    A.WARNING_SHAPE: "where and in which form warning 1302 is given",
    A.DELINK_ERROR_CODES: "the code of a delink item naming a program the profile does not declare",
    A.CUSTOMER_NOT_FOUND: "the customer status code of a customer not found (8015 or 8089)",
    A.UNLISTED_ITEM_CODE: "the item codes of a customer not found",
    A.MEMBERSHIP_ID_CODE: "the code of a link item refused without partnerMembershipId (2002 or 2005)",
    A.EMPTY_IDENTIFIERS: "how a customer object with an empty-string identifier beside another one is looked up",
    A.DELINK_MOBILE_TYPE: "whether a delink customer's mobile is accepted as a JSON string and as a JSON number",
    A.TIER_EXPIRY_FORMAT: "the form of partnerTierExpiryDate in loyaltyDetails",
    A.UNDECLARED_PROGRAMS: "whether loyaltyDetails lists programs the profile does not declare",
    A.READ_CONSISTENCY: "whether loyaltyDetails shows a write at once or after a lag (the state oracle's re-reads)",
    A.EVENT_ENVELOPE: "the envelope of webhook events (flat, wrapped, raw)",
    A.EVENT_ORGID_KEY: "the org key of wrapped events ('orgId' or the sample's 'orgId ')",
    A.EVENT_NAME_WHITESPACE: "whether events' partnerProgramName carries surrounding whitespace",
    A.EVENT_DUPLICATES: "whether an event (one eventId) is delivered more than once",
    A.EVENT_DETAILS: "whether linked and updated events carry membershipNumber, partnerTierNumber or "
    "partnerTierExpiryDate in customerPartnerProgramDetails",
    A.EVENT_DATE_FORMAT: "the form of the dates in events' customerPartnerProgramDetails",
}
"""The entries this report reads, each with what it counts."""

NOT_READ: dict[str, str] = {
    A.LINK_DEFAULT_TIER: "shows in the state oracle's comparison after a link without partnerTierName",
    A.LINK_DEFAULT_TIER_EXPIRY: "shows in the state oracle's comparison after a link without partnerTierExpiryDate",
    A.RELINK_ACTIVATION_STATE: "shows in the state oracle's comparison when a relink starts",
    A.MEMBERSHIP_END: "shows only in which relink dates a target accepts, a flow of several writes",
    A.TIER_EXPIRY_DAY: "shows in the state oracle's comparison of calendar days in the org's timezone",
    A.TODAY_TIMEZONE: "shows only for dates within a day of 'today', which the suite does not send",
    A.W1302_TRIGGER: "shows in whether 1302 is warned for a given tier expiry, a comparison with the model",
    A.E2005_TWO_MEANINGS: "the two meanings of 2005 are told apart by the scenario that caused them",
    A.WEBHOOK_RETRY_TIMING: "shows in when a refused delivery is retried, judged by the retry scenarios",
}
"""Entries with a conforming variant whose reading this report does not read, each with where it shows instead."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DMY = re.compile(r"\d{2}/\d{2}/\d{4}")
_MOBILE = re.compile(r"[1-9]\d{9,14}")
_UPDATE_TYPES = frozenset(
    {
        "UPGRADE",
        "DOWNGRADE",
        "RENEWAL",
        "RENEWAL_INITIATION",
        "MEMBERSHIP_RELINKING",
        "MEMBERSHIP_RELINKING_CANCELLED",
    }
)
_NOT_FOUND = frozenset({8015, 8089})
_MEMBERSHIP_DETAILS = ("membershipNumber", "partnerTierNumber", "partnerTierExpiryDate")
"""The customerPartnerProgramDetails the updated and raw samples carry and the enriched linked sample leaves out
(AMB-EVENT-DETAILS)."""
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-cap-api-oauth-token", "cap-api-access-token"})
_CONTEXTUAL = frozenset({A.MEMBERSHIP_ID_CODE, A.DELINK_MOBILE_TYPE, A.UPDATETYPE_CASE})
"""Entries whose reading depends on the state the request met (a new enrollment, a well-formed rest of the item):
read from the scenarios only, never from generated (fuzz) cases, whose state is not known."""
_ABSENT = object()
"""What `.get` returns for a member the answer leaves out (None is a member sent as null)."""


def tenant_of(headers: Mapping[str, str]) -> str:
    """A short one-way digest of a request's credential headers (never the credentials): which org sent it."""
    creds = sorted((k.lower(), v) for k, v in headers.items() if k.lower() in _CREDENTIAL_HEADERS)
    return hashlib.sha256(repr(creds).encode()).hexdigest()[:16] if creds else ""


def _envelope_code(answer: Any) -> int | None:
    """The first error code of a request-level error envelope (`{"errors": [{"code": ...}]}`), or None."""
    errors = answer.get("errors") if isinstance(answer, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    return _int(first.get("code"))


def _tellable_apart(sent: list[Any]) -> bool:
    """Whether results can show their order: every request entry names identifiers no other entry has, and every
    item of an entry a program name no other item of it has (identical twins answer in any order alike)."""
    ids = [frozenset(identifiers(s.customer)) for s in sent]
    if not all(ids) or len(set(ids)) != len(ids):
        return False
    for s in sent:
        names = [i.get(PROGRAM_NAME_KEY) if isinstance(i, Mapping) else None for i in s.items]
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            return False
    return True


def _echoes(match: CustomerMatch, shape: ResultShape) -> bool:
    """Whether a result was paired by what it echoes (its customer's identifiers, every item's program name), not
    by its position: only then does its position say something about the order."""
    if not identifiers(match.entry.get(CUSTOMER_KEY)) or not shape.echoes_name:
        return False
    return all(isinstance(m, ItemMatch) and m.item.get(PROGRAM_NAME_KEY) for m in match.items)


def date_form(value: Any) -> str:
    """The form of a date value: "date (YYYY-MM-DD)", "date-time (ISO 8601)", "DD/MM/YYYY", "epoch number",
    "other text" or "not text"."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "not text"
    if not isinstance(value, str):
        return "epoch number"
    if _DATE.fullmatch(value):
        return "date (YYYY-MM-DD)"
    if _DATE_TIME.fullmatch(value):
        return "date-time (ISO 8601)"
    if _DMY.fullmatch(value):
        return "DD/MM/YYYY"
    return "other text"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _status_of(customer: Mapping[str, Any]) -> Mapping[str, Any]:
    """A result customer's retrieval status object ({status, code, message}), or {}."""
    status = customer.get("status")
    return status if isinstance(status, Mapping) else {}


@dataclass
class Readings:
    """The readings one process saw (see the module docstring).

    - `paths`: request path -> endpoint (the profile's paths; AMB-DELINK-URI may move one);
    - `programs`: the program names the profile declares (every org's); `external`: those of them without a
      membership period (a new link to one needs partnerMembershipId: AMB-MEMBERSHIP-ID-CODE);
    - `counts`: entry id -> aspect -> reading -> how many times it was seen;
    - `event_ids`: eventId -> deliveries accepted, for AMB-EVENT-DUPLICATES (settled by `close`);
    - `reads`: loyaltyDetails answers read, for AMB-READ-CONSISTENCY (settled by `close`);
    - `known`: per customer an answer showed found, its tenant (`tenant_of`) and identifier (key, value) pairs
      (AMB-EMPTY-IDENTIFIERS: a customer of one org is not found in another).
    """

    paths: dict[str, Endpoint] = field(default_factory=dict)
    programs: frozenset[str] = frozenset()
    external: frozenset[str] = frozenset()
    counts: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    event_ids: Counter[str] = field(default_factory=Counter)
    reads: int = 0
    known: set[tuple[str, frozenset[tuple[str, str]]]] = field(default_factory=set)
    _generated: bool = field(default=False, repr=False)
    _tenant: str = field(default="", repr=False)
    _schemas: tuple[ContractSchemas, ContractSchemas] | None = field(default=None, repr=False)

    @classmethod
    def for_profile(cls, paths: Mapping[str, str], programs: Iterable[str], external: Iterable[str] = ()) -> Readings:
        """Readings for a profile: `paths` endpoint name -> path (`Profile.paths`), `programs` the declared names,
        `external` the names of the external (non-supplementary) ones."""
        by_name = {e.name: e for e in (LINK, UPDATE, DELINK)}
        return cls(
            paths={path: by_name[name] for name, path in paths.items() if name in by_name},
            programs=frozenset(programs),
            external=frozenset(external),
        )

    # -- recording ---------------------------------------------------------------------------------------------
    def add(self, entry: str, value: str, n: int = 1, aspect: str = "") -> None:
        """Count `n` sightings of reading `value` of `entry` (its `aspect`, "" for the entry's only one)."""
        if n > 0 and not (self._generated and entry in _CONTEXTUAL):
            self.counts.setdefault(str(entry), {}).setdefault(aspect, Counter())[value] += n

    def merge(self, data: Mapping[str, Any]) -> None:
        """Add another process's `to_json()` (an xdist worker's) to these counts."""
        for entry, aspects in (data.get("counts") or {}).items():
            for aspect, values in aspects.items():
                for value, n in values.items():
                    self.add(entry, value, int(n), aspect)
        self.event_ids.update({k: int(v) for k, v in (data.get("eventIds") or {}).items()})
        self.reads += int(data.get("reads") or 0)

    def to_json(self) -> dict[str, Any]:
        """`{"counts": {entry: {aspect: {reading: n}}}, "eventIds": {id: n}, "reads": n}`: JSON-ready, for an xdist
        worker's `workeroutput`."""
        return {
            "counts": {e: {a: dict(c) for a, c in aspects.items()} for e, aspects in self.counts.items()},
            "eventIds": dict(self.event_ids),
            "reads": self.reads,
        }

    def close(self, settled: Iterable[Iterable[Any]] = ()) -> None:
        """Settle the run-level readings once every process's counts are merged: AMB-EVENT-DUPLICATES from the
        eventIds seen, AMB-READ-CONSISTENCY from the state oracle's re-reads (`settled`: per re-read read,
        [seconds, agreed]) and the number of loyaltyDetails reads of the run."""
        if self.event_ids:
            twice = sum(1 for n in self.event_ids.values() if n > 1)
            if twice:
                self.add(A.EVENT_DUPLICATES, "some events delivered more than once", twice)
            else:
                self.add(A.EVENT_DUPLICATES, "each event delivered once", len(self.event_ids))
        converged = sorted(float(s) for s, ok in (list(x) for x in settled) if ok)
        if converged:
            self.add(A.READ_CONSISTENCY, f"reads show writes after a lag (up to {converged[-1]:.1f} s)", len(converged))
        elif self.reads:
            self.add(A.READ_CONSISTENCY, "reads show writes at once", self.reads)

    # -- answers -----------------------------------------------------------------------------------------------
    def observe(
        self, method: str, path: str, body: Any, status: int, answer: Any, *, generated: bool = False, tenant: str = ""
    ) -> None:
        """Read one exchange: `path` the URL path, `body` the request body as sent (parsed JSON, or the text/bytes
        of a malformed one), `status` the HTTP status, `answer` the parsed JSON answer (None when not JSON).
        `generated`: a fuzz case (the `_CONTEXTUAL` entries are not read from it); `tenant`: whose credentials sent
        it (`tenant_of` the request headers). Never raises on a malformed answer."""
        self._generated = generated
        self._tenant = tenant
        try:
            self._observe(method, path, body, status, answer)
        finally:
            self._generated = False

    def _observe(self, method: str, path: str, body: Any, status: int, answer: Any) -> None:
        if path.endswith("/loyaltyDetails") and method == "GET" and status == 200:
            self._loyalty(answer)
            return
        ep = next((e for p, e in self.paths.items() if path == p or path.endswith(p)), None)
        if ep is None:
            return
        if method != "POST":
            if method not in ("HEAD", "OPTIONS"):
                self.add(A.UNDEFINED_REQUESTS, f"HTTP {status} to a method the path does not define")
            return
        if isinstance(body, (bytes, str)):
            try:
                body = json.loads(body)
            except ValueError:
                self.add(A.MALFORMED_CODE, f"HTTP {status} to a body that is not JSON")
                return
        self._answer(ep, body, status, answer)

    def _answer(self, ep: Endpoint, body: Any, status: int, answer: Any) -> None:
        sent = sent_from_request(ep, body)
        if sent is None:
            return
        shape = ep.result_shape_of(answer)
        if len(sent) > 50:
            if shape is not None:
                self.add(A.E2008_LEVEL, f"answered per item (HTTP {status})")
            elif _envelope_code(answer) == 2008:  # not an envelope of another error of the body
                self.add(A.E2008_LEVEL, f"request-level error (HTTP {status})")
        if shape is None or status >= 500:
            return
        self._extra_fields(ep, answer)
        matching = match_results(ep, sent, answer, strict_order=False)
        orderable = _tellable_apart(sent)
        failed = False
        in_order: bool | None = None
        for i, (s, match) in enumerate(zip(sent, matching.customers, strict=True)):
            if not isinstance(match, CustomerMatch) or match.foreign is not None:
                continue
            customer = match.entry.get(CUSTOMER_KEY)
            customer = customer if isinstance(customer, Mapping) else {}
            c_status: Mapping[str, Any] = _status_of(customer)
            c_code = _int(c_status.get("code"))
            not_found = c_status.get("status") is False and c_code in _NOT_FOUND
            if c_status.get("status") is True:
                self.known.add((self._tenant, frozenset(identifiers(customer))))
            if orderable and (len(sent) > 1 or len(s.items) > 1) and _echoes(match, shape):
                here = match.index == i and all(
                    m.index == j for j, m in enumerate(match.items) if isinstance(m, ItemMatch)
                )
                in_order = here if in_order is None else in_order and here
            if not_found:
                self.add(A.CUSTOMER_NOT_FOUND, f"customer status code {c_code}")
                self._absent_identifiers(s.customer, customer)
            self._empty_identifier(s.customer, c_status)
            if ep is DELINK:
                self._delink_mobile(s.customer, c_code)
            for item, m in zip(s.items, match.items, strict=True):
                if not isinstance(m, ItemMatch):
                    continue
                code = _int(m.status.get("code"))
                if code is not None and code != 200 or m.status.get("status") is False and code != 200:
                    failed = True
                if code == 200 and isinstance(m.status.get("status"), bool):
                    self.add(A.LEGACY_STATUS_FALSE, f"status {str(m.status['status']).lower()} with code 200")
                if not_found and code is not None and len(sent) <= 50:
                    self.add(A.UNLISTED_ITEM_CODE, f"items answered {code}")
                self._item(ep, item, m, code, shape, not_found)
        if failed:
            self.add(A.ITEM_FAILURE_HTTP_STATUS, f"HTTP {status}")
        if in_order is not None:
            self.add(A.RESULT_ORDER, "request order" if in_order else "another order")
        if ep is DELINK:
            older = shape.results_key == DELINK.result_shapes[1].results_key
            self.add(
                A.DELINK_RESPONSE_SHAPE,
                f"{'older' if older else 'current'} shape ({shape.results_key})",
                aspect="shape",
            )
        self._warnings(answer, shape)

    def _item(
        self, ep: Endpoint, item: Any, m: ItemMatch, code: int | None, shape: ResultShape, not_found: bool
    ) -> None:
        item = item if isinstance(item, Mapping) else {}
        if PROGRAM_NAME_KEY not in item and shape.echoes_name:
            self._absent(m.item, PROGRAM_NAME_KEY, "partnerProgramName of an item sent without one")
        if ep is UPDATE and not not_found:
            kind = item.get("updateType")
            if isinstance(kind, str) and kind != kind.upper() and kind.upper() in _UPDATE_TYPES and code is not None:
                self.add(
                    A.UPDATETYPE_CASE,
                    "rejected with 2009"
                    if code == 2009
                    else "applied like its upper-case value"
                    if code == 200
                    else f"code {code}",
                )
        if ep is DELINK:
            echoed = m.item.get("updateType")
            if echoed is None:
                self.add(A.DELINK_RESPONSE_SHAPE, "no updateType", aspect="updateType of delink items")
                if shape.echoes_name:
                    self._absent(m.item, "updateType", "updateType of delink results")
            else:
                self.add(A.DELINK_RESPONSE_SHAPE, f"updateType {echoed!s}", aspect="updateType of delink items")
            name = item.get(PROGRAM_NAME_KEY)
            if isinstance(name, str) and self.programs and name not in self.programs and code in (2004, 2006):
                self.add(A.DELINK_ERROR_CODES, f"code {code}")
        if ep is LINK and not not_found and code in (2002, 2005) and item.get(PROGRAM_NAME_KEY) in self.external:
            ref = item.get("customerPartnerReference")
            if not (isinstance(ref, Mapping) and ref.get("partnerMembershipId")):
                self.add(A.MEMBERSHIP_ID_CODE, f"code {code}")

    def _absent_identifiers(self, sent: Any, echoed: Mapping[str, Any]) -> None:
        sent = sent if isinstance(sent, Mapping) else {}
        for key in ("mobile", "email", "externalId"):
            if key not in sent:
                self._absent(echoed, key, "identifiers a customer not found was not sent by")

    def _absent(self, echoed: Mapping[str, Any], key: str, aspect: str) -> None:
        """AMB-NULL-AS-ABSENT: how the answer gives `key`, a field without a value (left out, null or "")."""
        value = echoed.get(key, _ABSENT)
        if value is _ABSENT:
            self.add(A.NULL_AS_ABSENT, "left out", aspect=aspect)
        elif value is None:
            self.add(A.NULL_AS_ABSENT, "null", aspect=aspect)
        elif value == "":
            self.add(A.NULL_AS_ABSENT, "empty string", aspect=aspect)

    def _empty_identifier(self, sent: Any, c_status: Mapping[str, Any]) -> None:
        """AMB-EMPTY-IDENTIFIERS: a customer object with an empty identifier beside one of a customer the run saw
        found; found again: the empty one was ignored; not found: it was looked up as a value."""
        if not isinstance(sent, Mapping) or "" not in [sent.get(k) for k in ("mobile", "email", "externalId")]:
            return
        named = identifiers(sent)
        if not named or not any(t == self._tenant and named <= k for t, k in self.known):
            return  # not all of one customer the run saw found: a "not found" could have another cause
        code = _int(c_status.get("code"))
        if c_status.get("status") is True:
            self.add(A.EMPTY_IDENTIFIERS, "an empty identifier is ignored")
        elif code in _NOT_FOUND:
            self.add(A.EMPTY_IDENTIFIERS, "an empty identifier is a value to look up")

    def _delink_mobile(self, sent: Any, c_code: int | None) -> None:
        mobile = sent.get("mobile") if isinstance(sent, Mapping) else None
        if isinstance(mobile, bool) or not isinstance(mobile, (str, int)) or not _MOBILE.fullmatch(str(mobile)):
            return  # only a well-formed mobile tells the type's reading from a refused value
        kind = "a JSON string" if isinstance(mobile, str) else "a JSON number"
        self.add(
            A.DELINK_MOBILE_TYPE,
            "refused with 8013" if c_code == 8013 else "accepted",
            aspect=f"mobile as {kind}",
        )

    def _warnings(self, answer: Mapping[str, Any], shape: ResultShape) -> None:
        def w1302(entry: Any) -> bool:
            if isinstance(entry, Mapping):
                return _int(entry.get("code")) == 1302
            return isinstance(entry, str) and "1302" in entry

        top = answer.get("warnings")
        for entry in top if isinstance(top, list) else []:
            if w1302(entry):
                self.add(
                    A.WARNING_SHAPE,
                    f"{'an object' if isinstance(entry, Mapping) else 'text'} in the top-level warnings",
                )
        for result in answer.get(shape.results_key) or []:
            items = result.get(shape.programs_key) if isinstance(result, Mapping) else None
            for item in items if isinstance(items, list) else []:
                inner = item.get("warnings") if isinstance(item, Mapping) else None
                for entry in inner if isinstance(inner, list) else []:
                    if w1302(entry):
                        self.add(
                            A.WARNING_SHAPE,
                            f"{'an object' if isinstance(entry, Mapping) else 'text'} in the item's warnings",
                        )

    def _extra_fields(self, ep: Endpoint, answer: Any) -> None:
        if self._schemas is None:
            self._schemas = (
                ContractSchemas.load(null_as_absent=True),
                ContractSchemas.load(null_as_absent=True, forbid_extra_fields=True),
            )
        lenient, closed = self._schemas
        if lenient.errors(ep.response_schema, answer):
            return  # not valid as documented: the verdicts say so; no reading to take
        extra = bool(closed.errors(ep.response_schema, answer))
        self.add(A.EXTRA_FIELDS, "undocumented members in answers" if extra else "documented members only")

    def _loyalty(self, answer: Any) -> None:
        programs = answer.get("linkedPartnerPrograms") if isinstance(answer, Mapping) else None
        if not isinstance(programs, list):
            return
        self.reads += 1
        names = [p.get(PROGRAM_NAME_KEY) for p in programs if isinstance(p, Mapping)]
        for p in programs:
            if isinstance(p, Mapping) and "partnerTierExpiryDate" in p and p["partnerTierExpiryDate"] is not None:
                self.add(A.TIER_EXPIRY_FORMAT, date_form(p["partnerTierExpiryDate"]))
        if self.programs and names:
            undeclared = any(isinstance(n, str) and n not in self.programs for n in names)
            self.add(
                A.UNDECLARED_PROGRAMS,
                "programs the profile does not declare are listed" if undeclared else "only declared programs",
            )

    # -- events ------------------------------------------------------------------------------------------------
    def observe_event(self, payload: Any) -> None:
        """Read one webhook event the sink accepted (its parsed JSON body)."""
        if not isinstance(payload, Mapping):
            return
        form = event_form(payload)
        self.add(A.EVENT_ENVELOPE, form)
        if form == "wrapped" and isinstance(payload.get("attributes"), Mapping):
            attrs = payload["attributes"]
            if "orgId " in attrs:
                self.add(A.EVENT_ORGID_KEY, "'orgId ' (with the sample's trailing space)")
            elif "orgId" in attrs:
                self.add(A.EVENT_ORGID_KEY, "'orgId'")
        f = facts(dict(payload))
        if isinstance(f.program_name, str) and f.program_name:
            padded = f.program_name != f.program_name.strip()
            self.add(A.EVENT_NAME_WHITESPACE, "names padded with whitespace" if padded else "names as declared")
        if f.event_id:
            self.event_ids[f.event_id] += 1
        if form != "raw" and f.name in ("partnerProgramLinked", "partnerProgramUpdated"):
            data = payload.get("attributes", {}).get("data") if form == "wrapped" else payload.get("data")
            details = data.get("customerPartnerProgramDetails") if isinstance(data, Mapping) else None
            carried = [k for k in _MEMBERSHIP_DETAILS if isinstance(details, Mapping) and details.get(k) is not None]
            self.add(
                A.EVENT_DETAILS,
                "membershipNumber or tier details carried" if carried else "no membershipNumber or tier details",
            )
        for key in ("partnerTierExpiryDate", "membershipExpiryDate"):
            if form != "raw" and key in f.details and f.details[key] is not None:
                self.add(A.EVENT_DATE_FORMAT, date_form(f.details[key]))


def summarise(data: Mapping[str, Any], order: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The report's rows, one per entry of `READ` and `NOT_READ`, in the register's `order` when given:
    `{"id", "counts": what it counts, "status": "one reading" | "mixed" | "not observed" | "not read",
    "readings": [{"aspect", "reading", "count"}], "shown": one line ("HTTP 201 (3)"; "mixed: ..."), "why": the
    reason an entry is not read}`. `data` is `Readings.to_json()`."""
    counts = data.get("counts") or {}
    known = [str(k) for k in order if k in READ or k in NOT_READ]
    order = known + [str(k) for k in (*READ, *NOT_READ) if k not in known]
    rows = []
    for entry in order:
        row: dict[str, Any] = {"id": entry, "counts": READ.get(entry, "")}
        if entry in NOT_READ:
            rows.append({**row, "status": "not read", "readings": [], "shown": "not read", "why": NOT_READ[entry]})
            continue
        aspects = counts.get(entry) or {}
        readings = [
            {"aspect": aspect, "reading": value, "count": int(n)}
            for aspect, values in sorted(aspects.items())
            for value, n in sorted(values.items(), key=lambda kv: (-int(kv[1]), kv[0]))
        ]
        mixed = [a for a, values in aspects.items() if len(values) > 1]
        status = "not observed" if not readings else "mixed" if mixed else "one reading"
        parts = [f"{r['aspect'] + ': ' if r['aspect'] else ''}{r['reading']} ({r['count']})" for r in readings]
        shown = "not observed" if not readings else ("mixed: " if mixed else "") + "; ".join(parts)
        rows.append({**row, "status": status, "readings": readings, "shown": shown, "why": ""})
    return rows


def diff_readings(before: Iterable[Mapping[str, Any]], now: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """Entries whose reading changed between two reports' `readings` rows: `(id, before, now)`, each side the set
    of readings seen ("not observed" when none). An entry observed in only one run is not a change."""

    def seen(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        return {
            r["id"]: "; ".join(
                sorted(f"{x['aspect'] + ': ' if x['aspect'] else ''}{x['reading']}" for x in r.get("readings", []))
            )
            for r in rows
            if r.get("readings")
        }

    a, b = seen(before), seen(now)
    return [(e, a[e], b[e]) for e in b if e in a and a[e] != b[e]]


def shows(rows: Iterable[Mapping[str, Any]], entry: str, text: str) -> str:
    """Check that a report's readings `rows` show `text` for `entry` (in one of its readings, "aspect: reading"),
    and that the aspect it names is not mixed. Returns "" when it does, else what the report shows instead (for a
    self-test's or the sweep's message)."""
    row = next((r for r in rows if r.get("id") == entry), None)
    if row is None:
        return f"{entry}: no row in the readings report"
    for x in row.get("readings", []):
        label = f"{x['aspect']}: {x['reading']}" if x["aspect"] else x["reading"]
        if text in label:
            others = [y for y in row["readings"] if y["aspect"] == x["aspect"] and y is not x]
            return f"{entry} is mixed: {row['shown']}" if others else ""
    return f"{entry} shows {row.get('shown', '?')!r}, not {text!r}"


def against(rows: Iterable[Mapping[str, Any]], declared: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str]]:
    """Hold a report's readings `rows` to the readings a server declares (entry -> its "aspect: reading" labels).
    Returns `(unexpected, missing)`: each observed reading the declaration lacks, or an entry observed mixed or
    not declared at all; and each declared label the rows do not show. Messages name the entry."""
    unexpected: list[str] = []
    shown: set[tuple[str, str]] = set()
    for row in rows:
        labels = [f"{x['aspect']}: {x['reading']}" if x["aspect"] else x["reading"] for x in row.get("readings", [])]
        shown |= {(row["id"], label) for label in labels}
        if not labels:
            continue
        if row["id"] not in declared:
            unexpected.append(f"{row['id']}: observed {row['shown']!r}, but no reading is declared")
        elif row["status"] == "mixed":
            unexpected.append(f"{row['id']} is {row['shown']}")
        else:
            unexpected += [
                f"{row['id']}: {label!r} is not declared" for label in labels if label not in declared[row["id"]]
            ]
    missing = [
        f"{e}: {label!r} not shown" for e, labels in declared.items() for label in labels if (e, label) not in shown
    ]
    return unexpected, missing
