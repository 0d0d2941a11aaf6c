"""Batch-aware schemathesis checks for the three Partner Program endpoints (the fuzz stage).

Registered with `schemathesis.check` on import, so they run in the suite's fuzz
stage (steps/test_fuzz.py) and in a plain CLI run with
`SCHEMATHESIS_HOOKS=ppconformance.fuzz.checks schemathesis run schemas/openapi.yaml ...`.
Each check reads the request body the case sent and the response, and raises
`FuzzFinding` (an AssertionError naming a catalogue requirement) when the answer
breaks it; anything that is not an item-level answer of a Partner Program
endpoint is left to schemathesis' built-in checks.

Checks, with the requirement each finding is labelled with:

    batch_results_per_item       RESULT-ORDER     one result per customer and per program item
                                                  (in request order under strict AMB-RESULT-ORDER)
    identifierless_never_succeeds IDENT-MISSING   a customer without any identifier never succeeds
    nameless_item_never_succeeds  FUZZ-ITEM-NAME  a program item without partnerProgramName never succeeds
    item_codes_listed            FUZZ-ITEM-CODES  an item error code is one the documents list for the
                                                  endpoint (AMB-UNLISTED-ITEM-CODE: noted by default,
                                                  a failure when strict)
    invalid_item_never_succeeds  FUZZ-INVALID-ITEM an item breaking the request schema never succeeds
                                                  (negative_data_rejection adapted to batches)
    valid_body_not_refused       FUZZ-VALID-BODY  a body matching the request schema is not refused at
                                                  request level (positive_data_acceptance adapted:
                                                  item-level business errors are allowed)

Results are matched to request items as the register says (AMB-RESULT-ORDER): by echoed customer
identifiers and program name, or by position when that ambiguity is strict; an item without a
matching result is left to `batch_results_per_item`, which reports missing or extra results.
`checks_for(policy)` binds the checks to a `Policy`: the ambiguities the run judges strictly (the profile's
`strict`) and the notes of the default stances; registered for a plain schemathesis run, a check takes the
default stance of every ambiguity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import schemathesis
from jsonschema import Draft202012Validator

from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.endpoints import CUSTOMER_KEY, DELINK, PROGRAM_NAME_KEY, Endpoint, by_path
from ppconformance.contract.matching import CustomerMatch, ItemMatch, identifiers, match_results, sent_from_request
from ppconformance.contract.schemas import FORMAT_CHECKER, ContractSchemas
from ppconformance.contract.stances import AmbiguityId, Stances

__all__ = [
    "CHECKS",
    "FuzzFinding",
    "Policy",
    "batch_results_per_item",
    "checks_for",
    "identifierless_never_succeeds",
    "invalid_item_never_succeeds",
    "item_codes_listed",
    "listed_codes",
    "nameless_item_never_succeeds",
    "valid_body_not_refused",
]

# customer identification codes (capillary-facts#customer-identification: 8013 invalid identifier, 8015 not found)
_IDENTIFICATION_CODES = frozenset({8013, 8015})
_SUCCESS = 200


class FuzzFinding(AssertionError):
    """A generated request's answer breaks requirement `requirement` (a catalogue id); `check` names the check."""

    def __init__(self, requirement: str, check: str, message: str) -> None:
        super().__init__(f"[{requirement}] {check}: {message}")
        self.requirement = requirement
        self.check = check


@dataclass
class Policy:
    """What the checks judge strictly, and the default-stance notes they collected.

    `strict`: ambiguity ids (or "all") judged strictly. `notes`: findings that the
    default stance of an ambiguity reports without failing (e.g. an unlisted code).
    """

    strict: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)

    def is_strict(self, ambiguity: AmbiguityId) -> bool:
        """True when `ambiguity` is judged strictly (the typed lookup of `contract.stances`)."""
        return Stances(self.strict).strict(ambiguity)


def _bound(check: Callable[..., bool | None], policy: Policy) -> Callable[[Any, Any, Any], bool | None]:
    def bound(ctx: Any, response: Any, case: Any) -> bool | None:
        return check(ctx, response, case, policy)

    bound.__name__ = bound.__qualname__ = check.__name__  # schemathesis names a failure after its check
    bound.__doc__ = check.__doc__
    return bound


def checks_for(policy: Policy) -> tuple[Callable[[Any, Any, Any], bool | None], ...]:
    """The custom checks (`CHECKS`, in order) bound to `policy`: the ambiguities the run judges strictly (the
    profile's `strict`) and the list its default-stance notes go to. Each is a schemathesis check
    `(ctx, response, case) -> True | None` raising `FuzzFinding`."""
    return tuple(_bound(check, policy) for check in CHECKS)


@cache
def listed_codes(endpoint: Endpoint) -> frozenset[int]:
    """The item error codes the documents list for `endpoint`: the codes of its catalogue requirements, of
    the cross-cutting relinking/identification/batch requirements, and 8013/8015
    (capillary-facts#customer-identification). deLinkCustomer, whose page lists none (AMB-DELINK-ERROR-CODES),
    also gets 2002 for an empty name, as on the update page (update-partner-program#error-codes)."""
    reqs = load_catalogue().requirements.values()
    shared = {"relinking", "identification", "batch"}
    codes = {r.code for r in reqs if r.code is not None and (r.endpoint == endpoint.name or r.endpoint in shared)}
    if endpoint is DELINK:
        codes.add(2002)
    return frozenset(codes | _IDENTIFICATION_CODES)


# -- reading a case and its answer ---------------------------------------------------------
def _endpoint(case: Any) -> Endpoint | None:
    """The endpoint of a POST case to a Partner Program path (other methods are answered 405: not ours)."""
    if str(getattr(case, "method", "")).upper() != "POST":
        return None
    return by_path(getattr(case.operation, "path", ""))


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        return None


def _request_body(case: Any) -> Any:
    body = case.body
    if isinstance(body, (bytes, str)):
        try:
            return json.loads(body)
        except ValueError:
            return None
    return body


def _results(endpoint: Endpoint, body: Any) -> list[tuple[Any, list[Any]]] | None:
    """[(customer result, [item status objects])] of an item-level answer, or None when `body` is not one."""
    shape = endpoint.result_shape_of(body)
    if shape is None:
        return None
    out = []
    for entry in body[shape.results_key]:
        entry = entry if isinstance(entry, dict) else {}
        raw = entry.get(shape.programs_key)
        items: list[Any] = raw if isinstance(raw, list) else []
        out.append((entry, [i.get(shape.status_key) if isinstance(i, dict) else None for i in items]))
    return out


def _requested(endpoint: Endpoint, body: Any) -> list[tuple[Any, list[Any]]] | None:
    """[(request entry, [program items])] of a request body, or None when its top level has no entry list."""
    ep = endpoint
    if not isinstance(body, dict) or not isinstance(body.get(ep.request_key), list):
        return None
    out = []
    for entry in body[ep.request_key]:
        items = entry.get(ep.request_items_key) if isinstance(entry, dict) else None
        out.append((entry, list(items) if isinstance(items, list) else []))
    return out


def _code(status: Any) -> Any:
    return status.get("code") if isinstance(status, dict) else None


def _identifiers(customer: Any) -> set[tuple[str, str]]:
    return identifiers(customer)


def _pairs(endpoint: Endpoint, case: Any, response: Any, policy: Policy) -> Iterator[tuple[int, int, Any, Any, Any]]:
    """(customer index, item index, request entry, request item, item status) of the request's items that have
    a result, as the one result matcher (`contract.matching`, AMB-RESULT-ORDER) pairs them; an unmatched or
    ambiguous item yields nothing (`batch_results_per_item` reports missing results)."""
    ep = endpoint
    body = _request_body(case)
    sent = sent_from_request(ep, body)
    raw = _requested(endpoint, body)
    if sent is None or raw is None:
        return
    matching = match_results(ep, sent, _json(response), strict_order=policy.is_strict(AmbiguityId.RESULT_ORDER))
    if matching.shape is None:
        return
    for i, ((entry, items), cm) in enumerate(zip(raw, matching.customers, strict=True)):
        if not isinstance(cm, CustomerMatch) or cm.foreign is not None:
            continue
        for j, (item, im) in enumerate(zip(items, cm.items, strict=True)):
            if isinstance(im, ItemMatch):
                yield i, j, entry, item, (im.item.get(matching.shape.status_key) if im.item else None)


def _has_identifier(customer: Any) -> bool:
    if not isinstance(customer, dict):
        return False
    if isinstance(customer.get("id"), int) and not isinstance(customer.get("id"), bool):
        return True
    return any(isinstance(customer.get(k), str) and customer[k] != "" for k in ("mobile", "email", "externalId"))


# -- the checks ---------------------------------------------------------------------------------------
@schemathesis.check
def batch_results_per_item(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """RESULT-ORDER: an item-level answer has one result per requested customer and, per customer, one per
    program item; under strict AMB-RESULT-ORDER the program names follow the request order."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    got = _results(endpoint, _json(response)) if endpoint else None
    sent = _requested(endpoint, _request_body(case)) if endpoint else None
    if endpoint is None or got is None or sent is None:
        return None
    if len(got) != len(sent):
        raise FuzzFinding(
            "RESULT-ORDER",
            "batch_results_per_item",
            f"{len(sent)} customers requested, {len(got)} customer results answered",
        )
    strict = policy.is_strict(AmbiguityId.RESULT_ORDER)
    entries = sent_from_request(endpoint, _request_body(case)) or []
    matching = match_results(endpoint, entries, _json(response), strict_order=strict)
    for i, cm in enumerate(matching.customers):
        if isinstance(cm, CustomerMatch) and cm.foreign is not None:
            raise FuzzFinding(
                "RESULT-ORDER",
                "batch_results_per_item",
                f"customer result {cm.index} (paired with customer {i}) echoes the identifiers of customer "
                f"{cm.foreign} of the request: it answers the wrong customer",
            )
        if not isinstance(cm, CustomerMatch) or matching.shape is None:
            continue
        for j, (item, im) in enumerate(zip(entries[i].items, cm.items, strict=False)):
            named = item.get(PROGRAM_NAME_KEY) if isinstance(item, dict) else None
            if not isinstance(im, ItemMatch) or not isinstance(named, str) or not named:
                continue  # an item sent without a name has nothing to echo (AMB-NULL-AS-ABSENT)
            echoed = im.item.get(PROGRAM_NAME_KEY)
            if echoed != named and (matching.shape.echoes_name or echoed is not None):
                raise FuzzFinding(
                    "RESULT-ORDER",
                    "batch_results_per_item",
                    f"customer {i} item {j} was sent for {named!r}; its result names "
                    f"{'no program' if echoed is None else repr(echoed)}"
                    + (" (not in request order: strict AMB-RESULT-ORDER)" if strict else ""),
                )
    shape = endpoint.result_shape_of(_json(response))
    pkey = shape.programs_key if shape else ""
    if not strict:  # results in any order: the numbers of program results must match as a multiset
        asked, answered = sorted(len(items) for _, items in sent), sorted(len(st) for _, st in got)
        if asked != answered:
            raise FuzzFinding(
                "RESULT-ORDER",
                "batch_results_per_item",
                f"program items per customer requested {asked}, answered {answered}",
            )
        return True
    for i, ((_, items), (entry, statuses)) in enumerate(zip(sent, got, strict=True)):
        if len(items) != len(statuses):
            raise FuzzFinding(
                "RESULT-ORDER",
                "batch_results_per_item",
                f"customer {i}: {len(items)} program items requested, {len(statuses)} results",
            )
        names = [it.get(PROGRAM_NAME_KEY) if isinstance(it, dict) else None for it in items]
        echoed = [r.get(PROGRAM_NAME_KEY) for r in entry.get(pkey, []) if isinstance(r, dict)]
        if all(isinstance(n, str) and n for n in names) and names != echoed:
            raise FuzzFinding(
                "RESULT-ORDER",
                "batch_results_per_item",
                f"customer {i}: results {echoed} not in request order {names} (strict AMB-RESULT-ORDER)",
            )
    return True


@schemathesis.check
def identifierless_never_succeeds(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """IDENT-MISSING: a customer entry without any non-empty identifier (id, mobile, email, externalId)
    never gets item code 200 (link-customer#body-parameters; AMB-EMPTY-IDENTIFIERS)."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    if endpoint is None:
        return None
    for i, j, entry, _, status in _pairs(endpoint, case, response, policy):
        customer = entry.get(CUSTOMER_KEY) if isinstance(entry, dict) else None
        if not _has_identifier(customer) and _code(status) == _SUCCESS:
            raise FuzzFinding(
                "IDENT-MISSING",
                "identifierless_never_succeeds",
                f"customer {i} ({json.dumps(customer)[:200]}) has no identifier, yet item {j} answered code 200",
            )
    return True


@schemathesis.check
def nameless_item_never_succeeds(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-ITEM-NAME: a program item whose partnerProgramName is missing, null, empty or not a string never
    gets item code 200 (link-customer#error-codes 2002, update-partner-program#error-codes 2002)."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    if endpoint is None:
        return None
    for i, j, _, item, status in _pairs(endpoint, case, response, policy):
        name = item.get(PROGRAM_NAME_KEY) if isinstance(item, dict) else None
        if not (isinstance(name, str) and name) and _code(status) == _SUCCESS:
            raise FuzzFinding(
                "FUZZ-ITEM-NAME",
                "nameless_item_never_succeeds",
                f"customer {i} item {j} has partnerProgramName {json.dumps(name)}, yet answered code 200",
            )
    return True


@schemathesis.check
def item_codes_listed(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-ITEM-CODES: every item status code is 200 or one the documents list for the endpoint
    (`listed_codes`). AMB-UNLISTED-ITEM-CODE: by default an unlisted code is only noted
    (`Policy.notes`); strict, it is a failure. deLinkCustomer is judged only when AMB-DELINK-ERROR-CODES
    is strict too (its page lists no codes)."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    got = _results(endpoint, _json(response)) if endpoint else None
    if endpoint is None or got is None:
        return None
    if endpoint is DELINK and not policy.is_strict(AmbiguityId.DELINK_ERROR_CODES):
        return True
    listed = listed_codes(endpoint)
    for i, (_, statuses) in enumerate(got):
        for j, status in enumerate(statuses):
            code = _code(status)
            if code == _SUCCESS or code in listed:
                continue
            message = f"customer {i} item {j}: code {code!r} is not listed for {endpoint} ({sorted(listed)})"
            if policy.is_strict(AmbiguityId.UNLISTED_ITEM_CODE):
                raise FuzzFinding("FUZZ-ITEM-CODES", "item_codes_listed", message)
            policy.notes.append(f"[FUZZ-ITEM-CODES, AMB-UNLISTED-ITEM-CODE default stance: noted] {message}")
    return True


@cache
def _validators(endpoint: Endpoint, null_as_absent: bool = False) -> tuple[Draft202012Validator, Draft202012Validator]:
    """(whole body validator, one-entry validator) over the suite's request schema of `endpoint`; with
    `null_as_absent` an optional member may be null (`contract.schemas.nullable_optionals`)."""
    schemas = ContractSchemas.load(null_as_absent=null_as_absent)
    ep = endpoint
    top, name = ep.request_key, ep.request_schema
    root = schemas.schema(name)
    sid = root["$id"]
    body = Draft202012Validator({"$ref": sid}, registry=schemas.registry)
    entry = Draft202012Validator({"$ref": f"{sid}#/properties/{top}/items"}, registry=schemas.registry)
    return body, entry


@cache
def _typed_validator(endpoint: Endpoint) -> Draft202012Validator:
    """The request schema of `endpoint` with format checking on (real calendar dates and date-times)."""
    schemas = ContractSchemas.load()
    sid = schemas.schema(endpoint.request_schema)["$id"]
    return Draft202012Validator({"$ref": sid}, registry=schemas.registry, format_checker=FORMAT_CHECKER)


def _top_level_valid(endpoint: Endpoint, body: Any) -> bool:
    """True when the body's errors, if any, all lie inside its entries (the top level itself is well formed)."""
    validator, _ = _validators(endpoint)
    top = endpoint.request_key
    for error in validator.iter_errors(body):
        path = list(error.absolute_path)
        if len(path) < 2 or path[0] != top:
            return False
    return True


@schemathesis.check
def invalid_item_never_succeeds(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-INVALID-ITEM: when the request schema (schemas/*.request.schema.json) refuses the body, no item
    it makes invalid gets code 200: with an ill-formed top level (not an object, no entry list, more than
    50 entries) no item at all; else the item (i, j) whose entry, with item j as its only program item,
    breaks the schema. Schemathesis' negative_data_rejection, adapted: the API answers many invalid items
    per item, with HTTP 200/201 (AMB-ITEM-FAILURE-HTTP-STATUS). An item whose only fault is an optional member
    sent as null is not judged unless AMB-NULL-AS-ABSENT is strict: a target may read null as absent, as the
    answers may write it."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    if endpoint is None:
        return None
    body = _request_body(case)
    validator, _ = _validators(endpoint)
    _, entry_validator = _validators(endpoint, not policy.is_strict(AmbiguityId.NULL_AS_ABSENT))
    if validator.is_valid(body):
        return True
    items_key = endpoint.request_items_key
    if not _top_level_valid(endpoint, body):
        for i, (_, statuses) in enumerate(_results(endpoint, _json(response)) or []):
            for j, status in enumerate(statuses):
                if _code(status) == _SUCCESS:
                    raise FuzzFinding(
                        "FUZZ-INVALID-ITEM",
                        "invalid_item_never_succeeds",
                        f"the body breaks the request schema at its top level, yet customer {i} "
                        f"item {j} answered code 200",
                    )
        return True
    for i, j, entry, item, status in _pairs(endpoint, case, response, policy):
        if _code(status) != _SUCCESS:
            continue
        alone = {**entry, items_key: [item]} if isinstance(entry, dict) else entry
        errors = list(entry_validator.iter_errors(alone))
        if errors:
            raise FuzzFinding(
                "FUZZ-INVALID-ITEM",
                "invalid_item_never_succeeds",
                f"customer {i} item {j} breaks the request schema ({errors[0].message[:200]} at "
                f"{'/'.join(map(str, errors[0].absolute_path))}), yet answered code 200",
            )
    return True


def _sent_as_json(case: Any) -> bool:
    """True when the case is sent as JSON (`application/json` or a `+json` type): a request schemathesis sent
    with another content type is not a valid request, whatever its bytes (link-customer#example-request)."""
    headers = {k.lower(): v for k, v in (getattr(case, "headers", None) or {}).items()}
    media = str(headers.get("content-type") or getattr(case, "media_type", None) or "application/json")
    media = media.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _mobile_reading_dependent(endpoint: Endpoint, body: Any, policy: Policy) -> bool:
    """True when a delink body is valid under one reading of AMB-DELINK-MOBILE-TYPE only: by default any
    customer mobile (the delink page types it integer, the other pages string: each reading refuses the
    other type); strict (integer, as the delink page) a string mobile only."""
    if endpoint is not DELINK:
        return False
    mobiles = [c.get("mobile") for c, _ in DELINK.request_entries(body) if isinstance(c, dict) and "mobile" in c]
    if policy.is_strict(AmbiguityId.DELINK_MOBILE_TYPE):
        return any(isinstance(m, str) for m in mobiles)
    return any(m not in (None, "") for m in mobiles)


@schemathesis.check
def valid_body_not_refused(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-VALID-BODY: a valid request is answered per item (any item codes), never refused as a whole with
    a 4xx error envelope (401 and 429 excepted: credentials and rate limits are the run's business).
    Schemathesis' positive_data_acceptance, adapted to item-level business errors. Valid means: a POST sent
    as JSON whose body the request schema accepts *and* whose dates are real calendar dates and date-times
    (the format checker of `contract.schemas.FORMAT_CHECKER`: "0000-00-00" is no date, link-customer#body-
    parameters types them as dates), and valid under every reading (a delink mobile is not:
    `_mobile_reading_dependent`)."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    if endpoint is None or not 400 <= response.status_code < 500 or response.status_code in (401, 429):
        return None
    if not _sent_as_json(case):
        return None  # another content type: refusing it (400, 415) is conforming
    body = _request_body(case)
    validator, _ = _validators(endpoint)
    if not validator.is_valid(body) or not _typed_validator(endpoint).is_valid(body):
        return True
    if _results(endpoint, _json(response)) is not None:
        return True  # item-level answer with a 4xx status: AMB-ITEM-FAILURE-HTTP-STATUS
    if _mobile_reading_dependent(endpoint, body, policy):
        return True
    answer = response.content[:300].decode("utf-8", errors="replace")
    raise FuzzFinding(
        "FUZZ-VALID-BODY",
        "valid_body_not_refused",
        f"a body matching the request schema was refused with HTTP {response.status_code}: {answer}",
    )


UNDEFINED_METHOD_STATUSES = frozenset({405, 501})
"""Conforming answers to a method the documents do not define on a Partner Program path (only POST is):
405 Method Not Allowed or 501 Not Implemented (RFC 9110 §15.5.6, §15.6.2)."""


@schemathesis.check
def no_server_error(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-NO-SERVER-ERROR: no generated request is answered 5xx (capillary-facts#http-status-conventions),
    except 501 Not Implemented to a method the documents do not define (`UNDEFINED_METHOD_STATUSES`)."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    status = response.status_code
    if status < 500:
        return None
    undefined = str(getattr(case, "method", "")).upper() != "POST"
    if status in UNDEFINED_METHOD_STATUSES and undefined and not policy.is_strict(AmbiguityId.UNDEFINED_REQUESTS):
        return True  # strict AMB-UNDEFINED-REQUESTS: 405 only
    raise FuzzFinding(
        "FUZZ-NO-SERVER-ERROR",
        "no_server_error",
        f"{getattr(case, 'method', '?')} {getattr(case, 'path', '')} was answered HTTP {status} (a server error)",
    )


@schemathesis.check
def response_conforms(ctx: Any, response: Any, case: Any, policy: Policy | None = None) -> bool | None:
    """FUZZ-RESPONSE-CONFORMS: a JSON answer to a Partner Program POST has the documented shape: per-item
    results (HTTP 200/201, or 400 under AMB-ITEM-FAILURE-HTTP-STATUS) against the endpoint's response schema,
    any other 4xx against the error envelope (link-customer#response-parameters, capillary-facts#http-status-
    conventions). Null members count as absent unless AMB-NULL-AS-ABSENT is strict; undocumented fields fail
    only under strict AMB-EXTRA-FIELDS; a delink answer must use the current shape only under strict
    AMB-DELINK-RESPONSE-SHAPE. A body that is not JSON is content_type_conformance's business."""
    policy = policy or Policy()  # a plain schemathesis run (the CLI): every default stance
    endpoint = _endpoint(case)
    status = response.status_code
    body = _json(response)
    if endpoint is None or status >= 500 or body is None:
        return None
    ep = endpoint
    schemas = _response_schemas(
        policy.is_strict(AmbiguityId.EXTRA_FIELDS), not policy.is_strict(AmbiguityId.NULL_AS_ABSENT)
    )
    shape = ep.result_shape_of(body)
    if shape is not None:  # AMB-ITEM-FAILURE-HTTP-STATUS: an item-level answer's HTTP status
        codes = [_code(st) for _, statuses in (_results(endpoint, body) or []) for st in statuses]
        allowed = {200} if codes and all(c == _SUCCESS for c in codes) else {201}
        if not policy.is_strict(AmbiguityId.ITEM_FAILURE_HTTP_STATUS) and allowed == {201}:
            allowed = {200, 201, 400}
        if status not in allowed:
            raise FuzzFinding(
                "FUZZ-RESPONSE-CONFORMS",
                "response_conforms",
                f"HTTP {status} for an item-level answer; expected {sorted(allowed)} (AMB-ITEM-FAILURE-HTTP-STATUS)",
            )
    if shape is not None or status in (200, 201):
        definition = "current" if ep is DELINK and policy.is_strict(AmbiguityId.DELINK_RESPONSE_SHAPE) else None
        name = ep.response_schema
        errors = schemas.errors(name, body, definition=definition)
    else:
        name = "error-envelope"
        errors = schemas.errors(name, body)
    if errors:
        raise FuzzFinding(
            "FUZZ-RESPONSE-CONFORMS",
            "response_conforms",
            f"HTTP {status}: the answer does not match {name}: " + "; ".join(errors[:5]),
        )
    return True


@cache
def _response_schemas(forbid_extra_fields: bool, null_as_absent: bool) -> ContractSchemas:
    return ContractSchemas.load(forbid_extra_fields=forbid_extra_fields, null_as_absent=null_as_absent)


CHECKS = (
    no_server_error,
    response_conforms,
    batch_results_per_item,
    identifierless_never_succeeds,
    nameless_item_never_succeeds,
    item_codes_listed,
    invalid_item_never_succeeds,
    valid_body_not_refused,
)
"""The custom checks, in the order they run."""
