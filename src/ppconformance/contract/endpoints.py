"""One description per Partner Program endpoint: the documented path, the wire keys of its request and
answer, its contract schemas and the shapes its per-item results take.

Every module of the suite that needs a wire key, a path or a schema name of an endpoint reads it here
(`ENDPOINTS`, `endpoint`, `by_path`); nowhere else are they spelt out.

Sources: link-customer#body-parameters, link-customer#response-parameters; update-partner-program#body-parameters,
update-partner-program#response-parameters; delink-customer#request-body-parameters,
delink-customer#response-parameter
(two answer shapes: AMB-DELINK-RESPONSE-SHAPE).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CUSTOMER_KEY",
    "DELINK",
    "ENDPOINTS",
    "IDENTIFIER_KEYS",
    "LINK",
    "PROGRAM_NAME_KEY",
    "RESULTS_KEYS",
    "UPDATE",
    "Endpoint",
    "ResultShape",
    "by_path",
    "default_paths",
    "endpoint",
]

IDENTIFIER_KEYS = ("id", "mobile", "email", "externalId")
"""The customer identifiers a request item may carry (capillary-facts#customer-identification)."""

PROGRAM_NAME_KEY = "partnerProgramName"
"""The key naming the program of a request item and of its result (all three pages)."""

CUSTOMER_KEY = "customer"
"""The key of the customer object in a request entry and in a result entry."""


@dataclass(frozen=True)
class ResultShape:
    """Where an answer carries its per-item results: `results_key` (list of customer entries), in each
    `programs_key` (list of program items), in each `status_key` (the item's {status, code, message}).
    `echoes_name`: the shape's result items name their program (`partnerProgramName`, "Name of the partner
    program" in each page's response parameters): a result item for a request item that named its program must
    echo that name (only an item sent without a name has nothing to echo: AMB-NULL-AS-ABSENT). False for the
    older delink shape, of which the documents hold no sample."""

    results_key: str
    programs_key: str
    status_key: str
    echoes_name: bool = True


@dataclass(frozen=True)
class Endpoint:
    """A Partner Program endpoint.

    - `name`: the catalogue's name ("linkCustomer", ...), also the profile's `paths` key;
    - `path`: the documented path (a profile may override it: AMB-DELINK-URI);
    - `request_key` / `request_items_key`: the request's customer list and, per entry, its program list;
    - `request_schema` / `response_schema`: names of the contract schemas in `schemas/`;
    - `result_shapes`: the answer shapes, the current one first;
    - `source`: the doc id#section of the request body.
    """

    name: str
    path: str
    request_key: str
    request_items_key: str
    request_schema: str
    response_schema: str
    result_shapes: tuple[ResultShape, ...]
    source: str

    def __str__(self) -> str:
        """The catalogue's name: an endpoint prints as "linkCustomer" in messages, tables and traces."""
        return self.name

    def request_body(self, entries: Iterable[tuple[Any, Sequence[Any]]]) -> dict[str, Any]:
        """The request body for `entries`, each (customer object, program items):
        `{request_key: [{"customer": customer, request_items_key: [items]}, ...]}`."""
        return {self.request_key: [{CUSTOMER_KEY: c, self.request_items_key: list(items)} for c, items in entries]}

    def request_entries(self, body: Any) -> list[tuple[Any, list[Any]]]:
        """The (customer object, program items) of a request body; [] when it holds no entry list."""
        entries = body.get(self.request_key) if isinstance(body, dict) else None
        out = []
        for entry in entries if isinstance(entries, list) else []:
            entry = entry if isinstance(entry, dict) else {}
            items = entry.get(self.request_items_key)
            out.append((entry.get(CUSTOMER_KEY), list(items) if isinstance(items, list) else []))
        return out

    def result_shape_of(self, body: object) -> ResultShape | None:
        """The shape whose results key holds a list in `body` (a parsed answer), or None."""
        if not isinstance(body, dict):
            return None
        return next((s for s in self.result_shapes if isinstance(body.get(s.results_key), list)), None)


LINK = Endpoint(
    name="linkCustomer",
    path="/v2/partnerProgram/linkCustomer",
    request_key="linkCustomers",
    request_items_key="linkToPartnerPrograms",
    request_schema="link-customer.request",
    response_schema="link-customer.response",
    result_shapes=(ResultShape("linkCustomers", "linkToPartnerPrograms", "partnerLinkStatus"),),
    source="link-customer#body-parameters",
)
UPDATE = Endpoint(
    name="customerPartnerProgramUpdate",
    path="/v2/partnerProgram/customerPartnerProgramUpdate",
    request_key="customersPartnerUpdates",
    request_items_key="partnerProgramUpdates",
    request_schema="update-partner-program.request",
    response_schema="update-partner-program.response",
    result_shapes=(ResultShape("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),),
    source="update-partner-program#body-parameters",
)
DELINK = Endpoint(
    name="deLinkCustomer",
    path="/v2/partnerProgram/deLinkCustomer",
    request_key="deLinkCustomers",
    request_items_key="deLinkFromPartnerPrograms",
    request_schema="delink-customer.request",
    response_schema="delink-customer.response",
    result_shapes=(
        ResultShape("customersPartnerUpdates", "partnerProgramUpdates", "updateStatus"),
        ResultShape("deLinkCustomers", "deLinkFromPartnerPrograms", "partnerDeLinkStatus", echoes_name=False),
    ),
    source="delink-customer#request-body-parameters",
)

ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (LINK, UPDATE, DELINK)}
"""Endpoint name -> its description, in the documents' order (link, update, delink)."""

RESULTS_KEYS = frozenset(s.results_key for e in ENDPOINTS.values() for s in e.result_shapes)
"""Every key under which an answer carries per-item results (an error envelope carries none)."""


def endpoint(name: str) -> Endpoint:
    """The endpoint named `name`; raises `KeyError` naming the known ones."""
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise KeyError(f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}") from None


def by_path(path: str) -> Endpoint | None:
    """The endpoint whose documented path is `path`, or None."""
    return next((e for e in ENDPOINTS.values() if e.path == path), None)


def default_paths() -> dict[str, str]:
    """Endpoint name -> documented path (the profile's `paths` default)."""
    return {e.name: e.path for e in ENDPOINTS.values()}
