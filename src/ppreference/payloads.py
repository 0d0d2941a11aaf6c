"""Request bodies of the reference server: JSON decoding and structural validation.

Everything here turns raw bytes into typed, frozen items or raises `RequestError`
(answered as the request-level envelope of capillary-facts#http-status-conventions):

- bytes that are not UTF-8, text that is not JSON, a body that is not an object,
  a value of the wrong JSON type at any depth -> HTTP 400, code 400 (AMB-MALFORMED-CODE);
- a required array or the `customer` object missing or null, or an empty array
  -> HTTP 400, code 2002;
- more than 50 customers -> HTTP 400, code 2008 (AMB-2008-LEVEL, AMB-DELINK-BATCH).

Business rules (item-level codes) are not checked here: see `ppreference.rules`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "CustomerBatch",
    "CustomerRef",
    "DelinkItem",
    "LinkItem",
    "NewCustomer",
    "RequestError",
    "UpdateItem",
    "decode_json",
    "parse_delink_request",
    "parse_link_request",
    "parse_new_customer",
    "parse_update_request",
]

MAX_BATCH = 50
MAX_BODY_BYTES = 1024 * 1024

T = TypeVar("T")


class RequestError(Exception):
    """A request-level failure: HTTP status plus one `{"status": false, code, message}` error."""

    def __init__(self, http_status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def _type_error(where: str, expected: str) -> RequestError:
    return RequestError(400, 400, f"Invalid request: {where} must be {expected}")


def decode_json(raw: bytes) -> Any:
    """Decode a request body: UTF-8 then JSON. Raises `RequestError` (400, code 400)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(400, 400, "Invalid request: body is not valid UTF-8") from exc
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RequestError(400, 400, "Invalid request: body is not valid JSON") from exc


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(where, "an object")
    return value


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _type_error(f"{where}.{key}", "a string")


def _opt_object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = obj.get(key)
    return None if value is None else _object(value, f"{where}.{key}")


def _required_array(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    path = f"{where}.{key}" if where else key
    if value is None or (isinstance(value, list) and not value):
        raise RequestError(400, 2002, f"Required field is empty or null: {path}")
    if not isinstance(value, list):
        raise _type_error(path, "an array")
    return value


@dataclass(frozen=True)
class CustomerRef:
    """The `customer` object of a batch entry: `{id?: int, mobile?, email?, externalId?: str}`.

    Empty strings count as absent (AMB-EMPTY-IDENTIFIERS).
    """

    id: int | None = None
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None

    def present(self) -> list[tuple[str, object]]:
        """The identifiers given, as (kind, value) in the order id, mobile, email, externalId."""
        pairs = (("id", self.id), ("mobile", self.mobile), ("email", self.email), ("externalId", self.external_id))
        return [(kind, value) for kind, value in pairs if value is not None]

    def lookup_key(self) -> tuple[str, object] | None:
        """The first present identifier in the order id, mobile, email, externalId."""
        present = self.present()
        return present[0] if present else None

    def to_json(self) -> dict[str, object]:
        """The identifiers as given (for a customer that was not found)."""
        return dict(self.present())


def _customer_ref(raw: Any, where: str, *, numeric_mobile: bool, empty_is_value: bool = False) -> CustomerRef:
    obj = _object(raw, where)
    values: dict[str, Any] = {}
    for key in ("id", "mobile", "email", "externalId"):
        value = obj.get(key)
        if value is None or (value == "" and not empty_is_value):
            values[key] = None
        elif key == "id":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _type_error(f"{where}.id", "an integer")
            values[key] = value
        elif isinstance(value, str):
            values[key] = value
        elif key == "mobile" and numeric_mobile and type(value) is int:
            values[key] = str(value)  # delink-customer types mobile as integer
        else:
            raise _type_error(f"{where}.{key}", "a string")
    return CustomerRef(values["id"], values["mobile"], values["email"], values["externalId"])


@dataclass(frozen=True)
class CustomerBatch(Generic[T]):
    """One entry of a batch: the customer and its per-program items, in request order."""

    customer: CustomerRef
    items: tuple[T, ...]


@dataclass(frozen=True)
class LinkItem:
    """`linkToPartnerPrograms[]` (link-customer#body-parameters); None means absent/null."""

    program_name: str | None
    membership_id: str | None = None
    tier_name: str | None = None
    tier_expiry: str | None = None
    membership_start: str | None = None


@dataclass(frozen=True)
class UpdateItem:
    """`partnerProgramUpdates[]` (update-partner-program#body-parameters)."""

    program_name: str | None
    update_type: str | None
    has_details: bool = False
    tier_name: str | None = None
    tier_expiry: str | None = None


@dataclass(frozen=True)
class DelinkItem:
    """`deLinkFromPartnerPrograms[]` (delink-customer)."""

    program_name: str | None


def _parse_batch(
    body: Any,
    top_key: str,
    items_key: str,
    parse_item: Any,
    *,
    numeric_mobile: bool = False,
    max_batch: int | None = MAX_BATCH,
    empty_is_value: bool = False,
) -> list[CustomerBatch[Any]]:
    obj = _object(body, "body")
    entries = _required_array(obj, top_key, "")
    if max_batch is not None and len(entries) > max_batch:
        raise RequestError(400, 2008, f"Batch limit exceeded: at most {MAX_BATCH} customers per request")
    batches: list[CustomerBatch[Any]] = []
    for i, raw_entry in enumerate(entries):
        where = f"{top_key}[{i}]"
        entry = _object(raw_entry, where)
        if entry.get("customer") is None:
            raise RequestError(400, 2002, f"Required field is empty or null: {where}.customer")
        customer = _customer_ref(
            entry["customer"], f"{where}.customer", numeric_mobile=numeric_mobile, empty_is_value=empty_is_value
        )
        raw_items = _required_array(entry, items_key, where)
        items = tuple(
            parse_item(_object(raw, f"{where}.{items_key}[{j}]"), f"{where}.{items_key}[{j}]")
            for j, raw in enumerate(raw_items)
        )
        batches.append(CustomerBatch(customer, items))
    return batches


def _link_item(obj: dict[str, Any], where: str) -> LinkItem:
    name = _opt_str(obj, "partnerProgramName", where)
    ref = _opt_object(obj, "customerPartnerReference", where)
    if ref is None:
        return LinkItem(name)
    rwhere = f"{where}.customerPartnerReference"
    return LinkItem(
        name,
        membership_id=_opt_str(ref, "partnerMembershipId", rwhere),
        tier_name=_opt_str(ref, "partnerTierName", rwhere),
        tier_expiry=_opt_str(ref, "partnerTierExpiryDate", rwhere),
        membership_start=_opt_str(ref, "membershipStartDate", rwhere),
    )


def _update_item(obj: dict[str, Any], where: str) -> UpdateItem:
    name = _opt_str(obj, "partnerProgramName", where)
    update_type = _opt_str(obj, "updateType", where)
    details = _opt_object(obj, "updateDetails", where)
    if details is None:
        return UpdateItem(name, update_type)
    dwhere = f"{where}.updateDetails"
    return UpdateItem(
        name,
        update_type,
        has_details=True,
        tier_name=_opt_str(details, "updatedTierName", dwhere),
        tier_expiry=_opt_str(details, "updatedTierExpiryDate", dwhere),
    )


def _delink_item(obj: dict[str, Any], where: str) -> DelinkItem:
    return DelinkItem(_opt_str(obj, "partnerProgramName", where))


def parse_link_request(
    body: Any, max_batch: int | None = MAX_BATCH, *, unchecked_reference: bool = False, empty_is_value: bool = False
) -> list[CustomerBatch[LinkItem]]:
    """`{"linkCustomers": [{"customer": {...}, "linkToPartnerPrograms": [...]}]}`.

    More than `max_batch` customers (None: no limit) -> `RequestError` 400/2008.
    `unchecked_reference=True` is fault null-item-500: the customerPartnerReference fields are trimmed
    before their types are checked, so a null or non-string field raises AttributeError (an HTTP 500).
    `empty_is_value=True` is variant empty-identifier-is-a-value: an identifier sent as "" is a value to look up
    (AMB-EMPTY-IDENTIFIERS' other reading), not an absent one.
    """
    if unchecked_reference:
        _trim_references_unchecked(body)
    return _parse_batch(
        body, "linkCustomers", "linkToPartnerPrograms", _link_item, max_batch=max_batch, empty_is_value=empty_is_value
    )


def _trim_references_unchecked(body: Any) -> None:
    """Fault null-item-500: `.strip()` every customerPartnerReference value without checking its type."""
    entries = body.get("linkCustomers") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        items = entry.get("linkToPartnerPrograms") if isinstance(entry, dict) else None
        for item in items if isinstance(items, list) else []:
            ref = item.get("customerPartnerReference") if isinstance(item, dict) else None
            if isinstance(ref, dict):
                for key in list(ref):
                    ref[key] = ref[key].strip()


def parse_update_request(
    body: Any, max_batch: int | None = MAX_BATCH, *, empty_is_value: bool = False
) -> list[CustomerBatch[UpdateItem]]:
    """`{"customersPartnerUpdates": [{"customer": {...}, "partnerProgramUpdates": [...]}]}`; `max_batch` and
    `empty_is_value` as for `parse_link_request`."""
    return _parse_batch(
        body,
        "customersPartnerUpdates",
        "partnerProgramUpdates",
        _update_item,
        max_batch=max_batch,
        empty_is_value=empty_is_value,
    )


def parse_delink_request(
    body: Any, max_batch: int | None = MAX_BATCH, *, empty_is_value: bool = False
) -> list[CustomerBatch[DelinkItem]]:
    """`{"deLinkCustomers": [{"customer": {...}, "deLinkFromPartnerPrograms": [...]}]}`; `max_batch` as for
    `parse_link_request`.

    `customer.mobile` may be a JSON integer here: delink-customer types it so.
    """
    return _parse_batch(
        body,
        "deLinkCustomers",
        "deLinkFromPartnerPrograms",
        _delink_item,
        numeric_mobile=True,
        max_batch=max_batch,
        empty_is_value=empty_is_value,
    )


@dataclass(frozen=True)
class NewCustomer:
    """A parsed `POST /v2/customers` body (capillary-facts#customer-apis)."""

    enrolled: bool
    mobile: str | None = None
    email: str | None = None
    external_id: str | None = None


def parse_new_customer(body: Any) -> NewCustomer:
    """`{"loyaltyInfo": {"loyaltyType": "loyalty"|"non_loyalty"}, "profiles": [{"identifiers":
    [{"type": "mobile"|"email"|"externalId", "value": str}], ...}]}`.

    `loyaltyInfo` defaults to loyalty. Raises `RequestError`: 400/code 400 for wrong
    types, an unknown identifier type or loyaltyType, or one type given twice with
    different values; 400/code 8013 when no identifier is given.
    """
    obj = _object(body, "body")
    info = _opt_object(obj, "loyaltyInfo", "body")
    loyalty_type = "loyalty" if info is None else _opt_str(info, "loyaltyType", "loyaltyInfo")
    if loyalty_type not in (None, "loyalty", "non_loyalty"):
        raise _type_error("loyaltyInfo.loyaltyType", '"loyalty" or "non_loyalty"')
    profiles = obj.get("profiles")
    if profiles is None:
        profiles = []
    if not isinstance(profiles, list):
        raise _type_error("profiles", "an array")
    found: dict[str, str] = {}
    for i, raw_profile in enumerate(profiles):
        profile = _object(raw_profile, f"profiles[{i}]")
        identifiers = profile.get("identifiers")
        if identifiers is None:
            continue
        if not isinstance(identifiers, list):
            raise _type_error(f"profiles[{i}].identifiers", "an array")
        for j, raw_ident in enumerate(identifiers):
            where = f"profiles[{i}].identifiers[{j}]"
            ident = _object(raw_ident, where)
            kind = _opt_str(ident, "type", where)
            value = _opt_str(ident, "value", where)
            if kind not in ("mobile", "email", "externalId"):
                raise _type_error(f"{where}.type", '"mobile", "email" or "externalId"')
            if not value:
                continue
            if found.setdefault(kind, value) != value:
                raise RequestError(400, 400, f"Invalid request: two different {kind} identifiers")
    if not found:
        raise RequestError(400, 8013, "Invalid identifier: at least one identifier is required")
    return NewCustomer(
        enrolled=loyalty_type != "non_loyalty",
        mobile=found.get("mobile"),
        email=found.get("email"),
        external_id=found.get("externalId"),
    )
