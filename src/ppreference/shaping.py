"""Response shaping: the answer of a Partner Program request or a request-level error as it goes on the wire.

Conforming, the body is as the rules built it (`rules.run_*`) and the HTTP status is 200 when every item succeeded,
201 otherwise (AMB-ITEM-FAILURE-HTTP-STATUS); an error is the envelope of capillary-facts. The faults and variants
of the response shape and transport (seams "shape.items", "shape.error", "shape.json") are the transforms of
`ITEM_SHAPES`, each under its name, applied in that order when active, and the few conditions of `shape_error`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .behaviour import Behaviour

__all__ = ["EXTRA_FIELD", "ITEM_SHAPES", "Shaped", "Shaping", "shape_error", "shape_items", "shape_json"]

LINK, UPDATE, DELINK = "linkCustomer", "customerPartnerProgramUpdate", "deLinkCustomer"
# endpoint -> the names of its result list, program list and status object (the server's current shapes)
KEYS = {
    LINK: ("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),
    UPDATE: ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
    DELINK: ("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
}
LEGACY_DELINK = ("deLinkCustomers", "deLinkFromPartnerPrograms", "partnerDeLinkStatus")
EXTRA_FIELD = "referenceVariantNote"
CUSTOMER_KEYS = ("id", "mobile", "email", "externalId")
REQUIRED_EMPTY_OK = frozenset({"warnings", "errors", "message"})


@dataclass(frozen=True)
class Shaped:
    """A response after the shape/transport step: JSON body, HTTP status, media type."""

    body: Any
    status: int
    media_type: str = "application/json"


@dataclass
class Shaping:
    """An item-level answer being shaped: `endpoint`, `body`, HTTP `status`, whether `all_ok`, `media_type`."""

    endpoint: str
    body: Any
    status: int
    all_ok: bool
    media_type: str = "application/json"

    @property
    def keys(self) -> tuple[str, str, str]:
        """The names of the result list, the program list and the status object."""
        return KEYS[self.endpoint]

    @property
    def results(self) -> list[dict[str, Any]]:
        """The customer results (of the current shape)."""
        results: list[dict[str, Any]] = self.body.get(self.keys[0], [])
        return results

    def items(self) -> list[dict[str, Any]]:
        """Every program item of every customer result (of the current shape)."""
        return [item for entry in self.results for item in entry.get(self.keys[1], [])]

    def statuses(self) -> list[dict[str, Any]]:
        """Every item's status object (of the current shape)."""
        status_key = self.keys[2]
        return [item[status_key] for item in self.items() if isinstance(item.get(status_key), dict)]


def _rename_status(new: str) -> Callable[[Shaping], None]:
    def rename(s: Shaping) -> None:
        for item in s.items():
            item[new] = item.pop(s.keys[2])

    return rename


def _drop_warnings(s: Shaping) -> None:
    del s.body["warnings"]


def _customer_status_200(s: Shaping) -> None:
    for entry in s.results:
        if entry["customer"]["status"]["code"] == 1000:
            entry["customer"]["status"] = {"status": True, "code": 200, "message": "Success"}


def _drop_last_customer(s: Shaping) -> None:
    if len(s.results) > 1:
        s.results.pop()


def _drop_member(key: str) -> Callable[[Shaping], None]:
    def drop(s: Shaping) -> None:
        for item in s.items():
            item.pop(key, None)

    return drop


def _codes_as_strings(s: Shaping) -> None:
    for item in s.items():
        item[s.keys[2]]["code"] = str(item[s.keys[2]]["code"])


def _success_201(s: Shaping) -> None:
    s.status = 201


def _echo_upgrade(s: Shaping) -> None:
    for item in s.items():
        item["updateType"] = "UPGRADE"


def _legacy_delink(s: Shaping) -> None:
    top, items_key, status_key = s.keys
    for item in s.items():
        item[LEGACY_DELINK[2]] = item.pop(status_key)
    for entry in s.results:
        entry[LEGACY_DELINK[1]] = entry.pop(items_key)
    s.body = {LEGACY_DELINK[0]: s.body.pop(top), **s.body}


def _generic_2005(s: Shaping) -> None:
    for status in s.statuses():
        if status.get("code") == 2005:
            status["message"] = "Request cannot be processed"


def _echo_first_customer(s: Shaping) -> None:
    if len(s.results) > 1:
        for entry in s.results[1:]:
            entry["customer"] = dict(s.results[0]["customer"])


def _success_false(s: Shaping) -> None:
    for status in s.statuses():
        if status.get("code") == 200:
            status["status"] = False


def _reversed(s: Shaping) -> None:
    key, ikey = s.keys[:2] if s.keys[0] in s.body else LEGACY_DELINK[:2]
    s.body[key].reverse()
    for entry in s.body[key]:
        entry[ikey].reverse()


def _failure_status(status: int) -> Callable[[Shaping], None]:
    def answer(s: Shaping) -> None:
        if not s.all_ok:
            s.status = status

    return answer


def _add_extra_fields(node: Any) -> Any:
    if isinstance(node, dict):
        return {**{k: _add_extra_fields(v) for k, v in node.items()}, EXTRA_FIELD: "undocumented"}
    if isinstance(node, list):
        return [_add_extra_fields(v) for v in node]
    return node


def _extra_fields(s: Shaping) -> None:
    s.body = _add_extra_fields(s.body)


def _fill_absent_with_null(s: Shaping) -> None:
    """Variant null-for-absent: the documented optional members of result entries and items, null when unset."""
    for entry in s.results:
        customer = entry.get("customer")
        if isinstance(customer, dict):
            for key in CUSTOMER_KEYS:
                customer.setdefault(key, None)
        for item in entry.get(s.keys[1], []):
            if isinstance(item, dict):
                item.setdefault("partnerProgramName", None)
                if s.endpoint == UPDATE:
                    item.setdefault("updateType", None)


def _omit_empty(value: Any) -> Any:
    """Variant omit-empty-fields: object members that are null or "" are left out (not the required
    warnings/errors arrays nor a status message)."""
    if isinstance(value, dict):
        return {k: _omit_empty(v) for k, v in value.items() if k in REQUIRED_EMPTY_OK or (v is not None and v != "")}
    if isinstance(value, list):
        return [_omit_empty(v) for v in value]
    return value


def _omit_empty_fields(s: Shaping) -> None:
    s.body = _omit_empty(s.body)


def _text_plain(s: Shaping) -> None:
    s.media_type = "text/plain"


ITEM_SHAPES: tuple[tuple[str, str | None, Callable[[Shaping], None]], ...] = (
    ("link-status-object-misnamed", LINK, _rename_status("updateStatus")),
    ("link-warnings-missing", LINK, _drop_warnings),
    ("link-customer-status-200", LINK, _customer_status_200),
    ("batch-drops-last-customer", LINK, _drop_last_customer),
    ("link-result-name-omitted", LINK, _drop_member("partnerProgramName")),
    ("update-type-not-echoed", UPDATE, _drop_member("updateType")),
    ("update-status-code-as-string", UPDATE, _codes_as_strings),
    ("update-success-201", UPDATE, _success_201),
    ("delink-status-object-misnamed", DELINK, _rename_status(LEGACY_DELINK[2])),
    ("delink-warnings-missing", DELINK, _drop_warnings),
    ("delink-echoes-upgrade", DELINK, _echo_upgrade),
    ("legacy-delink-shape", DELINK, _legacy_delink),
    ("message-2005-generic", None, _generic_2005),  # AMB-2005-TWO-MEANINGS: one message for both meanings
    ("results-echo-first-customer", None, _echo_first_customer),
    ("success-status-false", None, _success_false),
    ("results-reordered", None, _reversed),
    ("item-failure-http-200", None, _failure_status(200)),
    ("item-failure-http-400", None, _failure_status(400)),
    ("extra-fields", None, _extra_fields),
    ("null-for-absent", None, _fill_absent_with_null),
    ("omit-empty-fields", None, _omit_empty_fields),
    ("link-json-as-text-plain", LINK, _text_plain),
)
"""The item-level shape and transport faults and variants (seam "shape.items"): (name, endpoint or None for
every one, transform), in the order they apply."""


def shape_json(behaviour: Behaviour, body: Any) -> Any:
    """Any other JSON answer (supporting endpoints): `body`, with an undocumented field in every object under
    variant extra-fields (seam "shape.json")."""
    return _add_extra_fields(body) if behaviour.varies("extra-fields") else body


def shape_items(behaviour: Behaviour, endpoint: str, body: dict[str, Any], all_ok: bool) -> Shaped:
    """The item-level answer of a Partner Program endpoint (`body` as built by `rules.run_*`, `all_ok` whether
    every item succeeded) after the active transforms of `ITEM_SHAPES`.

    Conforming: `body` unchanged, HTTP 200 when every item succeeded, else 201 (AMB-ITEM-FAILURE-HTTP-STATUS).
    """
    shaping = Shaping(endpoint, body, 200 if all_ok else 201, all_ok)
    for name, only, transform in ITEM_SHAPES:
        if only in (None, endpoint) and behaviour.active(name):
            transform(shaping)
    return Shaped(shaping.body, shaping.status, shaping.media_type)


def shape_error(behaviour: Behaviour, endpoint: str | None, http_status: int, code: int, message: str) -> Shaped:
    """A request-level error (`{"warnings": [], "errors": [{status, code, message}]}`, capillary-facts) after the
    faults and variants of `behaviour` (seam "shape.error"). `endpoint` is the Partner Program endpoint refusing
    the request (None for the other routes)."""
    fx = behaviour
    if endpoint == LINK and code == 2008:
        code = 2002 if fx.faulty("link-2008-as-2002") else code
        http_status = 200 if fx.faulty("link-2008-envelope-as-200") else http_status
    if http_status == 401 and fx.faulty("auth-401-as-403"):
        http_status, code, message = 403, 403, "Forbidden"
    if fx.varies("malformed-422") and http_status == 400 and code in (400, 2002):
        http_status = 422
    body: dict[str, Any] = {"warnings": [], "errors": [{"status": False, "code": code, "message": message}]}
    if fx.faulty("error-envelope-without-errors"):
        body = {"status": False, "code": code, "message": message}
    if fx.varies("extra-fields"):
        body = _add_extra_fields(body)
    return Shaped(body, http_status, "text/html" if fx.faulty("error-envelope-as-text-html") else "application/json")
