"""Verdicts: does a recorded exchange conform to a catalogue requirement?

Each `Judge.expect_*` method raises `NonConformance` (an AssertionError) whose
message names the requirement, says what broke, and shows the redacted
exchange. Stances are looked up by `contract.stances.AmbiguityId` through
`Profile.is_strict` (docs/architecture.md lists every module that applies one).

Endpoints are `contract.endpoints.Endpoint` objects (`LINK`, `UPDATE`, `DELINK`); they print as the
catalogue's names ("linkCustomer", ...).

Besides each requirement's own rule, every judged answer must be labelled
JSON (`Content-Type: application/json` or a `+json` type, as the pages'
example responses are: link-customer#example-response).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from ppconformance.connection.client import Exchange
from ppconformance.connection.profile import Profile
from ppconformance.contract.catalogue import Requirement, load_catalogue
from ppconformance.contract.endpoints import DELINK, PROGRAM_NAME_KEY, RESULTS_KEYS, UPDATE, Endpoint
from ppconformance.contract.matching import CustomerMatch, ItemMatch, Sent, match_results
from ppconformance.contract.model import Row
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.contract.stances import AmbiguityId

__all__ = ["Action", "Judge", "NonConformance", "ProgramResult", "StateComparison"]


class NonConformance(AssertionError):
    """The target's answer breaks a requirement: a conformance *failure*, never an error of the run."""


@dataclass
class Action:
    """One Partner Program request as sent: endpoint, the customers' identifiers and program names
    per customer (in request order), and the exchange.

    `customers` is a list of identifier dicts as sent (e.g. {"mobile": "9199…"});
    `programs` a list, per customer, of the partnerProgramName values sent. `judged`: "success" once a verdict
    required every item to succeed (`Judge.expect_success`, or a Given's setup), "error" once one held its first item
    to a failure (`expect_item_error`, `expect_nothing_succeeds`, `expect_nothing_pending`, ...), "partial" once one
    held each item to its own outcome (`expect_only`), else None: the scenario trace (`World.trace`) tells the
    observability audit which answers the suite holds to what.
    """

    endpoint: Endpoint
    customers: list[dict[str, Any]]
    programs: list[list[str]]
    exchange: Exchange
    judged: str | None = None


@dataclass
class ProgramResult:
    """The answer for one (customer, program) item: the customer object and the item object."""

    customer: dict[str, Any]
    item: dict[str, Any]
    status: dict[str, Any]


@dataclass(frozen=True)
class StateComparison:
    """The oracle's comparison of one customer: `label` (its id and identifier, for messages), one `Row` per
    compared field (`contract.model.compare`) and the loyaltyDetails exchange it was read from."""

    label: str
    rows: list[Row]
    exchange: Exchange
    first: Exchange | None = None
    """The first read, when the customer was read again within the consistency window (`exchange` is the last)."""

    @property
    def mismatches(self) -> list[Row]:
        """The rows where the target's state differs from the documented one."""
        return [r for r in self.rows if r.mismatch]


class Judge:
    """Applies requirements to exchanges under the profile's stances.

    Arguments:
    - `profile`: for `is_strict`.
    - `schemas`: the contract schemas (loaded with `forbid_extra_fields` when
      AMB-EXTRA-FIELDS is strict).
    """

    def __init__(self, profile: Profile, schemas: ContractSchemas) -> None:
        self.profile = profile
        self.schemas = schemas

    # -- helpers ----------------------------------------------------------------
    def fail(self, requirement: Requirement | str, what: str, exchange: Exchange | None) -> NoReturn:
        """Raise `NonConformance` naming the requirement, with the redacted exchange."""
        rid = requirement if isinstance(requirement, str) else f"{requirement.id} ({requirement.source})"
        shown = f"\n--- exchange (credentials redacted) ---\n{exchange.render()}" if exchange else ""
        raise NonConformance(f"[{rid}] {what}{shown}")

    def strict_with(self, req: Requirement) -> bool:
        """True when `req` names a `strictWith` ambiguity (catalogue/requirements.yaml) and it is judged strictly."""
        return req.strict_with is not None and self.profile.is_strict(AmbiguityId(req.strict_with))

    def no_server_error(self, req: Requirement | str, ex: Exchange) -> None:
        """A 5xx is never a conforming answer to a request the suite sends on purpose."""
        if ex.status >= 500:
            self.fail(req, f"the target answered HTTP {ex.status} (a server error)", ex)

    def is_envelope(self, ex: Exchange) -> bool:
        """True when the body is the request-level error envelope (non-empty `errors`)."""
        body = ex.response_json
        return isinstance(body, dict) and bool(body.get("errors")) and not any(k in body for k in RESULTS_KEYS)

    def envelope_codes(self, ex: Exchange) -> list[int | None]:
        """The codes in a request-level error envelope."""
        return [e.get("code") for e in ex.response_json.get("errors", []) if isinstance(e, dict)]

    def check_json_content_type(self, req: Requirement | str, ex: Exchange) -> None:
        """The answer is labelled JSON: `Content-Type` application/json or `application/<x>+json`, any
        parameters (link-customer#example-response; capillary-facts#http-status-conventions)."""
        header = next((v for k, v in ex.response_headers.items() if k.lower() == "content-type"), "")
        media = header.split(";", 1)[0].strip().lower()
        if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
            self.fail(
                req,
                f"the JSON answer is labelled Content-Type {header or '(none)'!r}, not application/json "
                "(link-customer#example-response)",
                ex,
            )

    def check_envelope(self, req: Requirement | str, ex: Exchange) -> None:
        """The body validates against error-envelope.schema.json and is labelled JSON."""
        self.check_json_content_type(req, ex)
        errors = self.schemas.errors("error-envelope", ex.response_json)
        if errors:
            self.fail(req, "the error body is not the documented envelope:\n  " + "\n  ".join(errors), ex)

    def check_shape(self, req: Requirement | str, action: Action) -> None:
        """The item-level response validates against the endpoint's response schema.

        Under strict AMB-DELINK-RESPONSE-SHAPE a delink answer must use the current shape.
        """
        definition = None
        if action.endpoint is DELINK and self.profile.is_strict(AmbiguityId.DELINK_RESPONSE_SHAPE):
            definition = "current"
        schema = action.endpoint.response_schema
        errors = self.schemas.errors(schema, action.exchange.response_json, definition=definition)
        if errors:
            self.fail(
                req,
                f"the response does not match {schema}"
                f"{' (' + definition + ' shape)' if definition else ''}:\n  " + "\n  ".join(errors),
                action.exchange,
            )

    def check_failure_status(self, req: Requirement | str, ex: Exchange) -> None:
        """An item-level answer with a failed item: HTTP 200, 201 or 400, exactly 201 under strict
        AMB-ITEM-FAILURE-HTTP-STATUS (capillary-facts#http-status-conventions: 201 "one or more requests have
        failed due to errors")."""
        allowed = {201} if self.profile.is_strict(AmbiguityId.ITEM_FAILURE_HTTP_STATUS) else {200, 201, 400}
        if ex.status not in allowed:
            self.fail(
                req,
                f"an item failed; HTTP {ex.status} is not one of {sorted(allowed)} (AMB-ITEM-FAILURE-HTTP-STATUS)",
                ex,
            )

    def results(self, req: Requirement | str, action: Action) -> list[list[ProgramResult]]:
        """Per request customer, per request program: its result, matched under AMB-RESULT-ORDER by the one
        result matcher (`contract.matching`). Strict: position by position, names equal. Fails when a result
        is missing or extra."""
        ex = action.exchange
        self.no_server_error(req, ex)
        if self.is_envelope(ex):
            self.fail(req, f"expected per-item results, got a request-level error {self.envelope_codes(ex)}", ex)
        self.check_json_content_type(req, action.exchange)
        self.check_shape(req, action)
        body = ex.response_json
        ep = action.endpoint
        shape = ep.result_shape_of(body)
        if shape is None:
            self.fail(req, f"the answer carries no per-item results ({ep.result_shapes[0].results_key})", ex)
        got = body[shape.results_key]
        if len(got) != len(action.customers):
            self.fail(req, f"{len(action.customers)} customers sent, {len(got)} results in {shape.results_key}", ex)
        strict = self.profile.is_strict(AmbiguityId.RESULT_ORDER)
        sent = [
            Sent(customer, [{PROGRAM_NAME_KEY: n} for n in names])
            for customer, names in zip(action.customers, action.programs, strict=True)
        ]
        matching = match_results(ep, sent, body, strict_order=strict)
        out: list[list[ProgramResult]] = []
        for i, (names, cm) in enumerate(zip(action.programs, matching.customers, strict=True)):
            if not isinstance(cm, CustomerMatch):
                self.fail(req, f"customer #{i + 1}: no result answers it", ex)
            if cm.foreign is not None:
                self.fail(
                    req,
                    f"result #{cm.index + 1} (paired with customer #{i + 1} by position) echoes the identifiers of "
                    f"customer #{cm.foreign + 1} of the request: it answers the wrong customer "
                    f'(link-customer#response-parameters: customer, "Resolved customer identifiers")',
                    ex,
                )
            items = cm.entry.get(shape.programs_key) or []
            if len(items) != len(names):
                self.fail(req, f"customer #{i + 1}: {len(names)} programs sent, {len(items)} results", ex)
            row = []
            for j, (name, im) in enumerate(zip(names, cm.items, strict=True)):
                if not isinstance(im, ItemMatch):
                    self.fail(req, f"customer #{i + 1}: no result answers program {name!r}", ex)
                if strict and name and im.item.get(PROGRAM_NAME_KEY) != name:  # "": no name was sent
                    self.fail(
                        req,
                        f"result #{j + 1} of customer #{i + 1} is for "
                        f"{im.item.get(PROGRAM_NAME_KEY)!r}, expected {name!r} (AMB-RESULT-ORDER strict)",
                        ex,
                    )
                echoed = im.item.get(PROGRAM_NAME_KEY)
                # "": no name was sent, nothing to echo; the older delink shape may leave the name out (no sample)
                if name and echoed != name and (shape.echoes_name or echoed is not None):
                    self.fail(
                        req,
                        f"result #{j + 1} of customer #{i + 1} names {'no program' if echoed is None else repr(echoed)}"
                        f" where the request named {name!r}: a result item echoes its program's partnerProgramName "
                        "(response parameters; only an item sent without a name may leave it out: AMB-NULL-AS-ABSENT)",
                        ex,
                    )
                row.append(ProgramResult(cm.entry.get("customer") or {}, im.item, im.status))
            out.append(row)
        return out

    # -- verdicts -----------------------------------------------------------------
    def expect_success(self, req: Requirement, action: Action) -> list[list[ProgramResult]]:
        """Every item succeeded: HTTP 200 and item code 200 (status true too under strict
        AMB-LEGACY-STATUS-FALSE). Returns the matched results."""
        action.judged = "success"
        results = self.results(req, action)
        ex = action.exchange
        for i, row in enumerate(results):
            for r in row:
                if r.status.get("code") != 200:
                    self.fail(
                        req,
                        f"customer #{i + 1}, program {r.item.get('partnerProgramName')!r}: "
                        f"expected item code 200 (success), got {r.status.get('code')}",
                        ex,
                    )
                if self.profile.is_strict(AmbiguityId.LEGACY_STATUS_FALSE) and r.status.get("status") is not True:
                    self.fail(req, "a successful item must have status true (AMB-LEGACY-STATUS-FALSE strict)", ex)
        if ex.status != 200:
            self.fail(req, f"every item succeeded but the HTTP status is {ex.status}, not 200", ex)
        return results

    def expect_only(self, req: Requirement, action: Action, succeeded: str) -> None:
        """Items answered one by one: the items naming program `succeeded` got code 200 and every other item a
        failure (any code), in an answer whose HTTP status follows AMB-ITEM-FAILURE-HTTP-STATUS (capillary-facts#http-
        status-conventions: 201 "one or more requests have failed due to errors", partial failure of a batch)."""
        action.judged = "partial"
        ex = action.exchange
        for i, row in enumerate(self.results(req, action)):
            for r, name in zip(row, action.programs[i], strict=True):
                code = r.status.get("code")
                if name == succeeded and code != 200:
                    self.fail(req, f"customer #{i + 1}, program {name!r}: expected item code 200, got {code}", ex)
                if name != succeeded and (code == 200 or code is None):
                    self.fail(req, f"customer #{i + 1}, program {name!r}: must fail, got code {code}", ex)
        self.check_failure_status(req, ex)

    def expect_update_type_echoed(self, req: Requirement, action: Action) -> None:
        """Every result of an update request carries the updateType sent for its program, "the type of update
        performed" (update-partner-program#response-parameters); case-insensitively unless AMB-UPDATETYPE-CASE
        is strict."""
        body = action.exchange.request_body
        entries = UPDATE.request_entries(body) or [(None, [])]
        sent = [str(item.get("updateType")) for item in entries[0][1] if isinstance(item, dict)]
        strict = self.profile.is_strict(AmbiguityId.UPDATETYPE_CASE)
        for i, row in enumerate(self.results(req, action)):
            for r, update_type in zip(row, sent, strict=False):
                echoed = r.item.get("updateType")
                if not isinstance(echoed, str) or (
                    echoed != update_type if strict else echoed.upper() != update_type.upper()
                ):
                    self.fail(
                        req,
                        f"customer #{i + 1}, program {r.item.get('partnerProgramName')!r}: the result's "
                        f"updateType is {echoed!r}, expected {update_type!r} as sent "
                        "(update-partner-program#response-parameters)",
                        action.exchange,
                    )

    def expect_item_error(
        self, req: Requirement, action: Action, code: int, customer: int = 0, program: int = 0
    ) -> ProgramResult:
        """The item (customer, program) failed with `code`.

        An inferred requirement is judged leniently (any failure) unless its
        `strictWith` ambiguity is strict. The HTTP status follows
        AMB-ITEM-FAILURE-HTTP-STATUS; the message is checked only under
        AMB-2005-TWO-MEANINGS strict.
        """
        action.judged = action.judged or "error"
        ex = action.exchange
        result = self.results(req, action)[customer][program]
        got = result.status.get("code")
        exact = req.level == "documented" or self.strict_with(req)
        if exact and got != code:
            self.fail(req, f"expected item error {code}, got code {got} ({result.status.get('message')!r})", ex)
        if not exact and (got == 200 or got is None):
            self.fail(
                req,
                f"the item must not succeed (any error code accepted; {code} when "
                f"{req.strict_with} is strict), got code {got}",
                ex,
            )
        if self.profile.is_strict(AmbiguityId.LEGACY_STATUS_FALSE) and result.status.get("status") is not False:
            self.fail(req, "a failed item must have status false (AMB-LEGACY-STATUS-FALSE strict)", ex)
        if req.message_pattern and self.profile.is_strict(AmbiguityId.E2005_TWO_MEANINGS):
            if not re.search(req.message_pattern, str(result.status.get("message", ""))):
                self.fail(
                    req,
                    f"message {result.status.get('message')!r} does not match "
                    f"/{req.message_pattern}/ (AMB-2005-TWO-MEANINGS strict)",
                    ex,
                )
        self.check_failure_status(req, ex)
        return result

    def expect_batch_rejected(self, req: Requirement, action: Action, code: int) -> None:
        """The whole batch was rejected with `code` (2008), under AMB-2008-LEVEL.

        Lenient: a 4xx request-level envelope holding `code`, or `code` on every
        item. Strict: HTTP 400 with the envelope. An inferred requirement judged
        leniently only needs no item to succeed and no server error.
        """
        ex = action.exchange
        self.no_server_error(req, ex)
        exact = req.level == "documented" or self.strict_with(req)
        if self.is_envelope(ex):
            self.check_envelope(req, ex)
            if not 400 <= ex.status < 500:
                self.fail(req, f"a request-level rejection must be a 4xx, got HTTP {ex.status}", ex)
            if exact and code not in self.envelope_codes(ex):
                self.fail(req, f"expected error {code} in the envelope, got {self.envelope_codes(ex)}", ex)
            return
        if exact and self.profile.is_strict(AmbiguityId.E2008_LEVEL):
            self.fail(req, f"expected a request-level error {code} with HTTP 400 (AMB-2008-LEVEL strict)", ex)
        for i, row in enumerate(self.results(req, action)):
            for r in row:
                got = r.status.get("code")
                if (exact and got != code) or got == 200:
                    self.fail(
                        req,
                        f"customer #{i + 1}: expected {'error ' + str(code) if exact else 'a failure'}"
                        f" on every item, got code {got}",
                        ex,
                    )
        self.check_failure_status(req, ex)

    def expect_customer_not_found(self, req: Requirement, action: Action) -> None:
        """An unknown customer: nothing succeeds; under strict AMB-CUSTOMER-NOT-FOUND the
        customer status is false with code 8015."""
        action.judged = action.judged or "error"
        ex = action.exchange
        row = self.results(req, action)[0]
        for r in row:
            if r.status.get("code") == 200:
                self.fail(req, "an unknown customer's item succeeded", ex)
        status = row[0].customer.get("status") if row else None
        status = status if isinstance(status, dict) else {}
        if status.get("code") == 1000 or status.get("status") is True:
            self.fail(req, f"the unknown customer is reported as retrieved ({status}): 1000 indicates success", ex)
        self.check_failure_status(req, ex)
        if self.profile.is_strict(AmbiguityId.CUSTOMER_NOT_FOUND):
            status = row[0].customer.get("status") or {}
            if status.get("code") != 8015 or status.get("status") is not False:
                self.fail(req, f"expected customer status false with code 8015, got {status}", ex)

    def expect_not_found_elsewhere(self, req: Requirement, action: Action) -> None:
        """A customer of one org addressed with another org's credentials: it is not found. No customer result
        says it was retrieved (status true or code 1000, "1000 indicates success": link-customer#response-
        parameters) and no item succeeds; under strict AMB-CUSTOMER-NOT-FOUND (the requirement's `strictWith`)
        the customer status is false with code 8015 (capillary-facts#customer-identification)."""
        action.judged = action.judged or "error"
        ex = action.exchange
        self.no_server_error(req, ex)
        if self.is_envelope(ex):
            self.check_envelope(req, ex)
            return
        for i, row in enumerate(self.results(req, action)):
            status = row[0].customer.get("status") if row else None
            status = status if isinstance(status, dict) else {}
            if status.get("code") == 1000 or status.get("status") is True:
                self.fail(
                    req, f"customer #{i + 1} is reported as found ({status}) through another org's credentials", ex
                )
            if any(r.status.get("code") == 200 for r in row):
                self.fail(req, f"customer #{i + 1}: an item succeeded through another org's credentials", ex)
            if self.strict_with(req) and (status.get("code") != 8015 or status.get("status") is not False):
                self.fail(req, f"expected customer status false with code 8015, got {status}", ex)
        self.check_failure_status(req, ex)

    def expect_hidden(self, req: Requirement, lookup: Exchange, details: Exchange, customer_id: int) -> None:
        """Another org's lookup and loyaltyDetails of a customer of this org: the lookup does not answer with the
        customer (no 2xx whose `entity` is its id) and loyaltyDetails is not answered (no 2xx; the documented
        answer to an unknown customer is 8015, capillary-facts#customer-identification)."""
        for ex in (lookup, details):
            self.no_server_error(req, ex)
        body = lookup.response_json if isinstance(lookup.response_json, dict) else {}
        if 200 <= lookup.status < 300 and body.get("entity") == customer_id:
            self.fail(req, f"another org's lookup answers customer {customer_id} of this org", lookup)
        if 200 <= details.status < 300:
            self.fail(req, f"another org reads the loyaltyDetails of customer {customer_id} of this org", details)

    def expect_nothing_succeeds(self, req: Requirement, action: Action) -> None:
        """No item succeeds: a 4xx request-level envelope, or per-item results none of which has code 200."""
        action.judged = action.judged or "error"
        ex = action.exchange
        self.no_server_error(req, ex)
        if self.is_envelope(ex):
            self.check_envelope(req, ex)
            return
        for i, row in enumerate(self.results(req, action)):
            if any(r.status.get("code") == 200 for r in row):
                self.fail(req, f"customer #{i + 1}: an item succeeded though it must not", ex)
        self.check_failure_status(req, ex)

    def expect_nothing_pending(self, req: Requirement, action: Action) -> None:
        """`action` cancelled a relink again after a successful cancellation: nothing may be pending any more,
        so it must fail with 2027 "no pending relinking found" (update-partner-program#error-codes)."""
        action.judged = action.judged or "error"
        result = self.results(req, action)[0][0]
        code = result.status.get("code")
        if code == 2027:
            self.check_failure_status(req, action.exchange)
        if code != 2027:
            what = "succeeded: the cancelled relink is still pending" if code == 200 else f"answered code {code}"
            self.fail(
                req,
                f"cancelling the relink a second time {what}; expected 2027 (no pending relinking "
                "found, update-partner-program#error-codes)",
                action.exchange,
            )

    def expect_unauthenticated(self, req: Requirement, ex: Exchange) -> None:
        """HTTP 401 (capillary-facts#http-status-conventions)."""
        if ex.status != 401:
            self.fail(req, f"expected HTTP 401 for missing or wrong credentials, got {ex.status}", ex)

    def expect_malformed_rejected(self, req: Requirement, ex: Exchange) -> None:
        """A 4xx (400 under strict AMB-MALFORMED-CODE) with the documented error envelope."""
        self.no_server_error(req, ex)
        strict = self.profile.is_strict(AmbiguityId.MALFORMED_CODE)
        if (strict and ex.status != 400) or not 400 <= ex.status < 500:
            self.fail(req, f"expected HTTP {'400' if strict else '4xx'} for a malformed body, got {ex.status}", ex)
        if not isinstance(ex.response_json, dict):
            self.fail(req, "the rejection body is not JSON (the error envelope is documented)", ex)
        self.check_envelope(req, ex)

    def expect_state(self, comparisons: list[StateComparison], *, shown: int = 2) -> None:
        """Every compared field of every customer equals the documented state. On a mismatch raises
        `NonConformance` naming, in brackets, the requirements of the writes since each mismatching field was
        set (`contract.model.Expect.suspects`: the oracle reads once, so one of them broke it; a program no
        write named fails STATE-OTHERS-UNCHANGED), with the expected and found values and the loyaltyDetails
        exchanges of the first `shown` customers that differ."""
        wrong = [c for c in comparisons if c.mismatches]
        if not wrong:
            return
        catalogue = load_catalogue().requirements
        fallback = ("STATE-OTHERS-UNCHANGED",)
        named = list(dict.fromkeys(rid for c in wrong for r in c.mismatches for rid in (r.suspects or fallback)))
        head = " ".join(f"[{rid} ({catalogue[rid].source})]" if rid in catalogue else f"[{rid}]" for rid in named)
        lines = [
            f"{head} the stored state of {len(wrong)} of {len(comparisons)} customer(s) differs from what the "
            "documents say the writes made it (one of the writes named after each field, the last first, broke it):"
        ]
        for c in wrong:
            for r in c.mismatches:
                lines.append(
                    f"  {c.label}: {r.program} {r.field}: expected {r.expected}, found {r.found} "
                    f"(writes since it was set, the last first: {', '.join(r.suspects or fallback)})"
                )
        for c in wrong[:shown]:
            if c.first is not None:
                lines.append(
                    f"--- first loyaltyDetails read of {c.label} (credentials redacted) ---\n{c.first.render()}"
                )
                lines.append(
                    f"--- last read, after state.read_consistency_seconds (credentials redacted) ---\n"
                    f"{c.exchange.render()}"
                )
            else:
                lines.append(f"--- loyaltyDetails of {c.label} (credentials redacted) ---\n{c.exchange.render()}")
        raise NonConformance("\n".join(lines))

    def has_warning(self, action: Action, code: int) -> bool:
        """True when the answer reports warning `code`, under AMB-WARNING-SHAPE (strict: a top-level object with
        `code`; lenient: any `warnings` array holding it, as a code or in text)."""
        body = action.exchange.response_json or {}
        if self.profile.is_strict(AmbiguityId.WARNING_SHAPE):
            return any(isinstance(w, dict) and w.get("code") == code for w in body.get("warnings") or [])
        return _mentions(body, code)

    def expect_warning(self, req: Requirement, action: Action, code: int) -> None:
        """A warning `code` is reported (`has_warning`)."""
        found = self.has_warning(action, code)
        if not found:
            self.fail(req, f"expected warning {code} in the response's warnings", action.exchange)


def _holds(warning: Any, code: int) -> bool:
    """A warnings entry is `code`: an object whose `code` is it (or whose message names it as a number of its own),
    or a string naming it as a number of its own ("1302: ..."; not 13020 nor 11302)."""
    named = re.compile(rf"(?<![0-9]){code}(?![0-9])")
    if isinstance(warning, dict):
        return warning.get("code") == code or bool(named.search(str(warning.get("message", ""))))
    return isinstance(warning, str) and bool(named.search(warning))


def _mentions(node: Any, code: int) -> bool:
    """True when some `warnings` array under `node` holds `code` (`_holds`)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "warnings" and isinstance(v, list) and any(_holds(w, code) for w in v):
                return True
            if _mentions(v, code):
                return True
    elif isinstance(node, list):
        return any(_mentions(v, code) for v in node)
    return False
