"""Self-tests of the contract schemas against the source documents' own samples.

- every schema file is a valid, self-describing draft 2020-12 schema citing its sources;
- every JSON sample of the partner-program documents validates against the schema of
  its kind, unless it is listed in KNOWN_EXCEPTIONS (and then it must really fail);
- the fixtures hold exactly the expected samples, so none can be dropped silently;
- the schemas do reject what they should, and the strict mode (AMB-EXTRA-FIELDS) works.

The samples are read from the committed fixtures tests/fixtures/doc-samples/ (see tests/doc_samples.py),
never from the documents; tools/extract_doc_samples.py --check keeps them in step with the documents.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ppconformance.contract.schemas import (
    SCHEMA_DIR,
    ContractSchemas,
    SchemaViolation,
    close_object_schemas,
)

from .doc_samples import EVENTS_DOC_ID, UNCLASSIFIED, DocSample, load_samples

ID_BASE = "https://partner-program-conformance.invalid/schemas/"
CITATION = re.compile(
    r"(legacy-reference|link-customer|update-partner-program|delink-customer|capillary-facts)"
    r"#[a-z0-9-]+"
)
PARTNER_PROGRAM_DOCS = (
    "legacy-reference",
    "link-customer",
    "update-partner-program",
    "delink-customer",
)

EXPECTED_SCHEMAS = {
    "common",
    "error-envelope",
    "link-customer.request",
    "link-customer.response",
    "update-partner-program.request",
    "update-partner-program.response",
    "delink-customer.request",
    "delink-customer.response",
    "customer-add.request",
    "customer-add.response",
    "customer-lookup.response",
    "loyalty-details.response",
    "organization-programs.response",
    "oauth-token.request",
    "oauth-token.response",
}

# The samples each document holds, in order. legacy-reference also has an empty
# "Sample Response" fence for the update call (nothing to extract). In capillary-facts
# the add-customer response ({"createdId": ..., "sideEffects": [...]}) and the
# brace-lists of field names are not JSON and are rightly not extracted.
EXPECTED_KINDS: dict[str, list[str]] = {
    "legacy-reference": [
        "link-customer.request",
        "link-customer.response",
        "update-partner-program.request",
    ],
    "link-customer": [
        "link-customer.request",
        "link-customer.request",
        "link-customer.response",
    ],
    "update-partner-program": [
        "update-partner-program.request",
        "update-partner-program.request",
        "update-partner-program.response",
    ],
    "delink-customer": [
        "delink-customer.request",
        "delink-customer.response",
    ],
    "capillary-facts": [
        "oauth-token.request",
        "oauth-token.response",
        "error-envelope",
        "common#statusObject",
        "customer-add.request",
        "customer-lookup.response",
    ],
}
EXPECTED_COUNTS = {
    "legacy-reference": 3,
    "link-customer": 3,
    "update-partner-program": 3,
    "delink-customer": 2,
    "capillary-facts": 6,
}

# Samples that are known not to match their schema: (doc_id, index) -> (ambiguity id, reason).
# Each listed sample must really fail (see test_sample_matches_its_schema), so an entry
# cannot go stale. Currently empty: every sample validates. The samples that come closest
# are accepted on purpose by the schemas, with the ambiguity named in the schema:
#   delink-customer#0 sends mobile as a JSON number (AMB-DELINK-MOBILE-TYPE);
#   delink-customer#1 has the customersPartnerUpdates shape with updateType UPGRADE
#     (AMB-DELINK-RESPONSE-SHAPE);
#   legacy-reference#0 and update-partner-program#0 send empty email/externalId beside a
#     mobile (AMB-EMPTY-IDENTIFIERS);
#   legacy-reference#1 has status false with code 2001 (AMB-LEGACY-STATUS-FALSE).
KNOWN_EXCEPTIONS: dict[tuple[str, int], tuple[str, str]] = {}

# Samples of the partner-program documents that are genuinely unclassifiable:
# (doc_id, index) -> reason. Currently none.
EXPECTED_UNCLASSIFIED: dict[tuple[str, int], str] = {}


def _samples() -> list[DocSample]:
    """Every fixture sample except the webhook events' (tests/test_webhooks.py checks those)."""
    return [sample for sample in load_samples() if sample.doc_id != EVENTS_DOC_ID]


SAMPLES = _samples()
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.schema.json"))


@pytest.fixture(scope="module")
def schemas() -> ContractSchemas:
    return ContractSchemas.load()


@pytest.fixture(scope="module")
def strict_schemas() -> ContractSchemas:
    return ContractSchemas.load(forbid_extra_fields=True)


# --- the schema files themselves ------------------------------------------------------------


def test_expected_schema_files_exist(schemas: ContractSchemas) -> None:
    assert set(schemas.names()) == EXPECTED_SCHEMAS


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_file_is_valid_and_self_describing(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == ID_BASE + path.name
    assert schema.get("title")
    assert CITATION.search(schema.get("description", "")), "description cites no doc#section"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_every_ref_resolves(path: Path, schemas: ContractSchemas) -> None:
    schema = schemas.schema(path.name.removesuffix(".schema.json"))
    refs = list(_find_refs(schema))
    resolver = schemas.registry.resolver(base_uri=schema["$id"])
    for ref in refs:
        resolved = resolver.lookup(ref)  # a dangling $ref raises Unresolvable
        assert isinstance(resolved.contents, dict), ref
    if path.name != "common.schema.json" and path.name.startswith(("link", "update", "delink")):
        assert refs, "partner-program schemas share definitions through common.schema.json"


def test_no_allof_composition() -> None:
    """Object schemas list their own properties; allOf would break the strict mode."""
    for path in SCHEMA_FILES:
        assert '"allOf"' not in path.read_text(encoding="utf-8"), path.name


def test_load_names_the_broken_file(tmp_path: Path) -> None:
    (tmp_path / "broken.schema.json").write_text(
        json.dumps({"$id": ID_BASE + "broken.schema.json", "type": "objekt"}), encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"broken\.schema\.json"):
        ContractSchemas.load(tmp_path)


def test_load_rejects_an_id_that_does_not_match_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.schema.json").write_text(json.dumps({"$id": ID_BASE + "b.schema.json"}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"a\.schema\.json"):
        ContractSchemas.load(tmp_path)


def test_unknown_schema_name_lists_known_names(schemas: ContractSchemas) -> None:
    with pytest.raises(KeyError, match="link-customer.response"):
        schemas.validate("link-customer.reply", {})
    with pytest.raises(KeyError, match="current"):
        schemas.validate("delink-customer.response", {}, definition="newest")


# --- the documents' samples -----------------------------------------------------------------


def test_sample_counts_per_doc() -> None:
    found = Counter(sample.doc_id for sample in _samples())
    assert dict(found) == EXPECTED_COUNTS
    assert {doc: len(kinds) for doc, kinds in EXPECTED_KINDS.items()} == EXPECTED_COUNTS


def test_sample_kinds_per_doc() -> None:
    found: dict[str, list[str]] = {}
    for sample in _samples():
        found.setdefault(sample.doc_id, []).append(sample.kind)
    assert found == EXPECTED_KINDS


def test_no_unclassified_partner_program_sample() -> None:
    unclassified = {
        (sample.doc_id, sample.index)
        for sample in _samples()
        if sample.doc_id in PARTNER_PROGRAM_DOCS and sample.kind == UNCLASSIFIED
    }
    assert unclassified == set(EXPECTED_UNCLASSIFIED)


def test_exception_tables_name_real_samples() -> None:
    extracted = {(sample.doc_id, sample.index) for sample in _samples()}
    assert set(KNOWN_EXCEPTIONS) <= extracted
    assert set(EXPECTED_UNCLASSIFIED) <= extracted
    for ambiguity, reason in KNOWN_EXCEPTIONS.values():
        assert ambiguity.startswith("AMB-") and reason


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.label)
def test_sample_matches_its_schema(sample: DocSample, schemas: ContractSchemas) -> None:
    if sample.schema_name is None:
        pytest.skip(f"unclassified: {EXPECTED_UNCLASSIFIED.get((sample.doc_id, sample.index))}")
    key = (sample.doc_id, sample.index)
    if key in KNOWN_EXCEPTIONS:
        ambiguity, reason = KNOWN_EXCEPTIONS[key]
        problems = schemas.errors(sample.schema_name, sample.body, definition=sample.definition)
        assert problems, f"{sample.label} now validates: remove its exception ({ambiguity})"
        return
    schemas.validate(sample.schema_name, sample.body, definition=sample.definition)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.label)
def test_sample_matches_its_schema_in_strict_mode(sample: DocSample, strict_schemas: ContractSchemas) -> None:
    """The samples carry no undocumented fields, so the strict stance must accept them too."""
    if sample.schema_name is None or (sample.doc_id, sample.index) in KNOWN_EXCEPTIONS:
        pytest.skip("unclassified or a known exception")
    strict_schemas.validate(sample.schema_name, sample.body, definition=sample.definition)


def test_delink_page_response_is_the_current_variant(schemas: ContractSchemas) -> None:
    sample = _sample("delink-customer", 1)
    assert schemas.errors("delink-customer.response", sample.body, definition="current") == []
    assert schemas.errors("delink-customer.response", sample.body, definition="legacy")
    legacy = {
        "deLinkCustomers": [
            {
                "customer": {
                    "mobile": "919800000000",
                    "status": {"status": True, "code": 1000, "message": "ok"},
                },
                "deLinkFromPartnerPrograms": [
                    {
                        "partnerProgramName": "1stProgram",
                        "partnerDeLinkStatus": {"status": True, "code": 200, "message": "Success"},
                    }
                ],
            }
        ],
        "warnings": [],
    }
    schemas.validate("delink-customer.response", legacy)
    schemas.validate("delink-customer.response", legacy, definition="legacy")
    assert schemas.errors("delink-customer.response", legacy, definition="current")


# --- the schemas can fail -------------------------------------------------------------------


def test_link_response_without_warnings_fails(schemas: ContractSchemas) -> None:
    body = _body("link-customer", 2)
    del body["warnings"]
    with pytest.raises(SchemaViolation) as raised:
        schemas.validate("link-customer.response", body)
    assert raised.value.schema_name == "link-customer.response"
    assert raised.value.errors == ["at $: 'warnings' is a required property"]


def test_update_request_with_unknown_update_type_fails(schemas: ContractSchemas) -> None:
    body = _body("update-partner-program", 0)
    body["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateType"] = "UPDATE"
    problems = schemas.errors("update-partner-program.request", body)
    assert len(problems) == 1
    assert problems[0].startswith(
        "at $.customersPartnerUpdates[0].partnerProgramUpdates[0].updateType: 'UPDATE' is not one of"
    )


def test_update_request_needs_update_details_except_to_cancel_a_relink(
    schemas: ContractSchemas, strict_schemas: ContractSchemas
) -> None:
    body = _body("update-partner-program", 0)
    del body["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]["updateDetails"]
    for loaded in (schemas, strict_schemas):
        assert loaded.errors("update-partner-program.request", body) == [
            "at $.customersPartnerUpdates[0].partnerProgramUpdates[0]: 'updateDetails' is a required property"
        ]
    cancel = _body("update-partner-program", 1)
    assert "updateDetails" not in cancel["customersPartnerUpdates"][0]["partnerProgramUpdates"][0]
    for loaded in (schemas, strict_schemas):
        loaded.validate("update-partner-program.request", cancel)


def test_link_request_with_51_customers_fails(schemas: ContractSchemas) -> None:
    body = _body("link-customer", 0)
    body["linkCustomers"] = body["linkCustomers"] * 50
    schemas.validate("link-customer.request", body)
    body["linkCustomers"].append(body["linkCustomers"][0])
    problems = schemas.errors("link-customer.request", body)
    assert len(problems) == 1 and problems[0].startswith("at $.linkCustomers: ")
    assert "is too long" in problems[0]


def test_customer_with_only_empty_identifiers_fails(schemas: ContractSchemas, strict_schemas: ContractSchemas) -> None:
    body = _body("legacy-reference", 0)
    body["linkCustomers"][0]["customer"] = {"mobile": "", "email": "", "externalId": ""}
    for loaded in (schemas, strict_schemas):
        problems = loaded.errors("link-customer.request", body)
        assert len(problems) == 1
        assert problems[0].startswith("at $.linkCustomers[0].customer: ")
        assert "is not valid under any of the given schemas" in problems[0]
    body["linkCustomers"][0]["customer"] = {}
    assert schemas.errors("link-customer.request", body)
    body["linkCustomers"][0]["customer"] = {"email": "", "id": 5}
    for loaded in (schemas, strict_schemas):
        loaded.validate("link-customer.request", body)


def test_status_object_with_string_code_fails(schemas: ContractSchemas) -> None:
    body = _body("link-customer", 2)
    body["linkCustomers"][0]["customer"]["status"]["code"] = "1000"
    assert schemas.errors("link-customer.response", body) == [
        "at $.linkCustomers[0].customer.status.code: '1000' is not of type 'integer'"
    ]
    assert schemas.errors("common", {"status": True, "code": "200"}, definition="statusObject")


def test_missing_required_field_is_reported_with_its_path(schemas: ContractSchemas) -> None:
    body = _body("link-customer", 2)
    del body["linkCustomers"][0]["customer"]["status"]["code"]
    assert schemas.errors("link-customer.response", body) == [
        "at $.linkCustomers[0].customer.status: 'code' is a required property"
    ]


def test_bad_date_fails(schemas: ContractSchemas) -> None:
    body = _body("link-customer", 0)
    reference = body["linkCustomers"][0]["linkToPartnerPrograms"][0]["customerPartnerReference"]
    reference["partnerTierExpiryDate"] = "31/12/2026"
    assert len(schemas.errors("link-customer.request", body)) == 1


def test_error_envelope_needs_an_error(schemas: ContractSchemas) -> None:
    assert schemas.errors("error-envelope", {"warnings": [], "errors": []})
    assert schemas.errors("error-envelope", {"warnings": []})


# --- the strict stance of AMB-EXTRA-FIELDS --------------------------------------------------


def test_strict_mode_rejects_extra_fields_that_default_accepts(
    schemas: ContractSchemas, strict_schemas: ContractSchemas
) -> None:
    body = _body("link-customer", 2)
    body["linkCustomers"][0]["linkToPartnerPrograms"][0]["partnerProgramId"] = 7
    schemas.validate("link-customer.response", body)
    assert not schemas.forbid_extra_fields and strict_schemas.forbid_extra_fields
    with pytest.raises(SchemaViolation) as raised:
        strict_schemas.validate("link-customer.response", body)
    assert raised.value.errors == [
        "at $.linkCustomers[0].linkToPartnerPrograms[0]: Additional properties are not allowed "
        "('partnerProgramId' was unexpected)"
    ]


def test_strict_mode_leaves_constraint_branches_open(strict_schemas: ContractSchemas) -> None:
    identifier = strict_schemas.schema("common")["$defs"]["customerIdentifier"]
    assert identifier["additionalProperties"] is False
    assert all(branch["additionalProperties"] is True for branch in identifier["anyOf"])


def test_close_object_schemas_walks_keywords_not_property_names() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"properties": {"type": "object", "properties": {"a": {}}}},
        "$defs": {"x": {"properties": {"b": {}}, "additionalProperties": True}},
        "oneOf": [{"properties": {"c": {}}}],
    }
    original = copy.deepcopy(schema)
    closed = close_object_schemas(schema)
    assert schema == original
    assert closed["additionalProperties"] is False
    assert closed["properties"]["properties"]["additionalProperties"] is False
    assert "additionalProperties" not in closed["properties"]
    assert closed["$defs"]["x"]["additionalProperties"] is True
    assert closed["oneOf"][0]["additionalProperties"] is False


# --- helpers --------------------------------------------------------------------------------


def _sample(doc_id: str, index: int) -> DocSample:
    for sample in SAMPLES:
        if (sample.doc_id, sample.index) == (doc_id, index):
            return sample
    raise LookupError(f"no sample {doc_id}#{index} in the doc-sample fixtures")


def _body(doc_id: str, index: int) -> Any:
    """A mutable copy of a sample's body, to derive negative cases from real samples."""
    return copy.deepcopy(_sample(doc_id, index).body)


def _find_refs(node: object) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _find_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _find_refs(item)
