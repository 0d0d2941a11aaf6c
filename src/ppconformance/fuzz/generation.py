"""The fuzz stage's machinery: the spec, deep generation over suite customers, journaling, findings.

steps/test_fuzz.py drives schemathesis (pytest integration) with it; benchmarks/fuzz_bench.py
times it. Nothing here decides conformance: that is `fuzz.checks` and schemathesis' built-in checks.

Safety on a shared org: every generated body is rewritten by `Deepener.rewrite` before it is
sent, so that its customers are either suite-provisioned test customers (`World.register_customer`)
or fresh identifiers of this run that no real customer has (the profile's test mobile prefix,
email domain and a `ppc-fuzz-` externalId; a generated `id` becomes negative). `FuzzTarget.journal_case`
writes every link a linkCustomer case can create to the run's journal before it is sent, so
`World.cleanup` (and the end-of-run sweep) undo them.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ppconformance.connection.client import redact_text
from ppconformance.connection.dates import days_from_today
from ppconformance.connection.identities import random_mobile
from ppconformance.connection.profile import FuzzSettings, OrgProfile, Profile
from ppconformance.contract.endpoints import LINK, PROGRAM_NAME_KEY, UPDATE, Endpoint
from ppconformance.fuzz.checks import Policy
from ppconformance.resources import schemas_dir

__all__ = ["SPEC", "Deepener", "FuzzTarget", "effective_settings", "redacted_curl"]

SPEC = schemas_dir() / "openapi.yaml"
"""The OpenAPI 3.1 description of the contract (its bodies $ref the JSON Schemas of schemas/)."""

_UPDATE_TYPES = ("UPGRADE", "DOWNGRADE", "RENEW", "MEMBERSHIP_RELINKING_CANCELLED", "MEMBERSHIP_RENEWAL_INITIATION")
_KINDS = ("id", "mobile", "email", "externalId")


def effective_settings(profile: Profile, mode: str | None = None, seed: int | None = None) -> FuzzSettings:
    """The profile's `fuzz` settings with the command line's `--fuzz` mode and `--fuzz-seed` applied; a
    missing seed is drawn now (so it can be printed and attached to findings)."""
    base = profile.fuzz
    return FuzzSettings(
        mode=mode or base.mode,
        max_examples=base.max_examples,
        time_budget_seconds=base.time_budget_seconds,
        seed=seed
        if seed is not None
        else (base.seed if base.seed is not None else random.SystemRandom().randrange(2**31)),
    )


@dataclass(frozen=True)
class SuiteCustomer:
    """A suite-provisioned customer: its id and identifiers as registered."""

    id: int
    mobile: str
    email: str
    external_id: str

    def value(self, kind: str) -> Any:
        """The identifier of `kind` (id, mobile, email, externalId)."""
        return {"id": self.id, "mobile": self.mobile, "email": self.email, "externalId": self.external_id}[kind]


@dataclass
class Deepener:
    """Rewrites generated bodies so that a share of items reach the deep paths of the API.

    Arguments: `org` (its programs, tiers and timezone), `customers` (suite-provisioned),
    `profile` (test mobile prefix and email domain), `share` (probability, 0..1, that a customer,
    program name, tier, date or updateType is replaced by a real one; default 0.6).
    The rewrite is a pure function of the body and `rnd` (hypothesis-controlled), so a seed
    reproduces it. Customer identifiers are always made safe (module docstring).
    """

    org: OrgProfile
    customers: list[SuiteCustomer]
    profile: Profile
    share: float = 0.6

    def __post_init__(self) -> None:
        self.customers = list(self.customers)  # a snapshot: generation must not depend on later additions

    def rewrite(self, ep: Endpoint, body: Any, rnd: random.Random) -> Any:
        """A rewritten copy of `body` (a request body of `ep`); non-object parts are left as generated."""
        top, items_key = ep.request_key, ep.request_items_key
        if not isinstance(body, dict) or not isinstance(body.get(top), list):
            return body
        body = json.loads(json.dumps(body))
        for entry in body[top]:
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("customer"), dict):
                entry["customer"] = self._customer(entry["customer"], rnd)
            items = entry.get(items_key)
            if isinstance(items, list):
                entry[items_key] = [self._item(ep, item, rnd) if isinstance(item, dict) else item for item in items]
        return body

    def _hit(self, rnd: random.Random) -> bool:
        return rnd.random() < self.share

    def _customer(self, customer: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
        if self.customers and self._hit(rnd):
            suite = rnd.choice(self.customers)
            kind = rnd.choice(_KINDS)
            return {kind: suite.value(kind)}
        out: dict[str, Any] = {}
        tag = f"{rnd.randrange(10**6):06d}"
        for key, value in customer.items():
            if key == "id" and isinstance(value, int) and not isinstance(value, bool):
                out[key] = -1 - abs(value) % 10**6  # never a real customer's id
            elif key == "mobile" and (isinstance(value, int) and not isinstance(value, bool)):
                out[key] = int(self._mobile(rnd))
            elif key in ("mobile", "email", "externalId") and isinstance(value, str) and value:
                out[key] = {
                    "mobile": self._mobile(rnd),
                    "email": f"pp-fuzz-{tag}@{self.profile.email_domain}",
                    "externalId": f"ppc-fuzz-{tag}",
                }[key]
            else:
                out[key] = value  # empty strings, nulls and odd types identify nobody
        return out

    def _mobile(self, rnd: random.Random) -> str:
        return random_mobile(self.profile.mobile_prefix, rnd.choice)  # never a customer pool's identity

    def _date(self, rnd: random.Random) -> str:
        days = rnd.choice([-30, -1, 0, 0, 1, 7, 30, 400])
        return days_from_today(days, self.org.timezone)

    def _item(self, ep: Endpoint, item: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
        programs = list(self.org.programs.values())
        program = rnd.choice(programs) if programs else None
        if program is not None and "partnerProgramName" in item and self._hit(rnd):
            item["partnerProgramName"] = program.name
        else:
            program = next((p for p in programs if p.name == item.get("partnerProgramName")), None)
        tiers = list(program.tiers) if program else []
        if ep is LINK:
            if "customerPartnerReference" not in item and program is not None and self._hit(rnd):
                item["customerPartnerReference"] = {"partnerMembershipId": ""}  # a new enrollment needs one
            ref = item.get("customerPartnerReference")
            if isinstance(ref, dict):
                if ("partnerMembershipId" in ref or self._hit(rnd)) and self._hit(rnd):
                    ref["partnerMembershipId"] = f"M-fuzz-{rnd.randrange(10**6):06d}"
                if tiers and "partnerTierName" in ref and self._hit(rnd):
                    ref["partnerTierName"] = rnd.choice(tiers)
                for key in ("partnerTierExpiryDate", "membershipStartDate"):
                    if key in ref and self._hit(rnd):
                        ref[key] = self._date(rnd)
        elif ep is UPDATE:
            if "updateType" in item and self._hit(rnd):
                item["updateType"] = rnd.choice(_UPDATE_TYPES)
            details = item.get("updateDetails")
            if isinstance(details, dict):
                if tiers and "updatedTierName" in details and self._hit(rnd):
                    details["updatedTierName"] = rnd.choice(tiers)
                if "updatedTierExpiryDate" in details and self._hit(rnd):
                    details["updatedTierExpiryDate"] = self._date(rnd)
        return item


@dataclass
class FuzzTarget:
    """What the fuzz stage sends to: base URL, auth headers (from `PartnerProgramClient.auth_headers`),
    the org, its suite customers, the journal hook, the budget and the notes to attach.

    `journal_link(customer, program names)` is `World`-backed: it writes journal entries the
    scenario's `World.cleanup` undoes. `deadline` is the monotonic time after which no case is sent.
    """

    base_url: str
    org: OrgProfile
    customers: list[SuiteCustomer]
    auth_headers: Any
    journal_link: Any
    settings: FuzzSettings
    secrets: list[str]
    policy: Policy = field(default_factory=Policy)
    """The ambiguities judged strictly and the default-stance notes of the checks (`fuzz.checks.checks_for`)."""
    deadline: float = 0.0
    pace: Any = None
    """Called before each case is sent: waits for a slot of the profile's rate limit (`PartnerProgramClient.pace`);
    None: no limit."""
    readings: Any = None
    """The process's `judge.readings.Readings`, to which every answer of the stage is shown (None: not read)."""
    sent: int = 0
    skipped: int = 0
    journaled: set[tuple[Any, str]] = field(default_factory=set)
    attached: Counter[str] = field(default_factory=Counter)
    """Reproductions attached to allure so far, per requirement key (at most 3 each)."""

    def start(self) -> None:
        """Start the stage's clock (the budget runs from the first fuzz test)."""
        if not self.deadline:
            self.deadline = time.monotonic() + self.settings.budget()

    def over_budget(self) -> bool:
        """True once the stage's time budget is spent."""
        return bool(self.deadline) and time.monotonic() > self.deadline

    def journal_case(self, ep: Endpoint | None, body: Any) -> None:
        """Before a linkCustomer case is sent: journal each (suite customer, declared program) it names."""
        if ep is not LINK:
            return
        declared = {p.name for p in self.org.programs.values()}
        for ident, items in LINK.request_entries(body):
            if not isinstance(ident, dict):
                continue
            suite = next(
                (
                    c
                    for c in self.customers
                    for k in _KINDS
                    if ident.get(k) not in (None, "") and ident.get(k) == c.value(k)
                ),
                None,
            )
            if suite is None:
                continue
            # a generated name may be any JSON value (an object, a list): only a declared name can link
            names = [n for i in items if isinstance(i, dict) and isinstance(n := i.get(PROGRAM_NAME_KEY), str)]
            fresh = [n for n in names if n in declared and (suite.id, n) not in self.journaled]
            if fresh:
                self.journal_link(suite, fresh)
                self.journaled.update((suite.id, n) for n in fresh)

    def redact(self, text: str) -> str:
        """`text` without the profile's secrets or the OAuth tokens learnt."""
        return redact_text(text, self.secrets)


def redacted_curl(case: Any, headers: dict[str, str], base_url: str, secrets: list[str]) -> str:
    """schemathesis' reproduction of `case` as a curl command, credential headers shown as `***`
    (schemathesis' own sanitization, then the suite's redaction of every known secret)."""
    shown = {
        k: ("***" if k.lower() in ("authorization", "x-cap-api-oauth-token", "cap-api-access-token") else v)
        for k, v in headers.items()
    }
    return redact_text(case.as_curl_command(headers=shown, base_url=base_url), secrets)
