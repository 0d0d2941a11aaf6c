"""The suite's registry of contract JSON Schemas.

The contract schemas live in `<repo>/schemas/*.schema.json` (draft 2020-12), one
file per message, e.g. `link-customer.response.schema.json`. A schema is named
by its file name without `.schema.json` (`"link-customer.response"`). Files
refer to each other with relative `$ref`s (`common.schema.json#/$defs/...`),
resolved against each file's `$id` through a `referencing.Registry` that holds
every file; nothing is fetched from the network.

Two stances on unknown response fields (ambiguity AMB-EXTRA-FIELDS):

- default: object schemas are open, as written in the files;
- strict (`forbid_extra_fields=True`): every object schema that lists
  `properties` and says nothing about `additionalProperties` gets
  `additionalProperties: false`. Subschemas that only constrain (the
  `anyOf` branches of a customer identifier, an `if` condition) say
  `additionalProperties: true` explicitly so that they stay untouched.

Typical use:

```python
schemas = ContractSchemas.load()
schemas.validate("link-customer.response", body)          # raises SchemaViolation
problems = schemas.errors("delink-customer.response", body, definition="current")
```
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ppconformance.resources import schemas_dir

__all__ = [
    "SCHEMA_DIR",
    "SCHEMA_SUFFIX",
    "ContractSchemas",
    "FORMAT_CHECKER",
    "SchemaViolation",
    "nullable_optionals",
    "close_object_schemas",
]

SCHEMA_DIR: Path = schemas_dir()
"""The repository's `schemas/` directory (the default for `ContractSchemas.load`)."""

SCHEMA_SUFFIX = ".schema.json"
"""File-name suffix of a contract schema; the name is the file name without it."""

_MAX_MESSAGE = 300

# Keywords whose value is one subschema, a list of subschemas, or a map of name -> subschema
# (draft 2020-12 applicators, plus $defs). Used to walk schemas without mistaking a property
# *named* "properties" for the keyword.
_SUBSCHEMA_KEYWORDS = (
    "additionalProperties",
    "contains",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SUBSCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAP_KEYWORDS = (
    "$defs",
    "definitions",
    "dependentSchemas",
    "patternProperties",
    "properties",
)


class SchemaViolation(AssertionError):
    """An instance does not match a contract schema.

    An `AssertionError`, so that pytest reports it as a test failure.

    Attributes:

    - `schema_name`: the schema's name, e.g. `"link-customer.response"`, with
      `#/$defs/<definition>` appended when one definition was used.
    - `errors`: every violation, one string each, in the form
      `"at $.linkCustomers[0].customer.status: 'code' is a required property"`.
    """

    def __init__(self, schema_name: str, errors: list[str]) -> None:
        self.schema_name = schema_name
        self.errors = list(errors)
        lines = "\n".join(f"  - {error}" for error in self.errors)
        count = len(self.errors)
        plural = "" if count == 1 else "s"
        super().__init__(f"{count} violation{plural} of schema {schema_name}:\n{lines}")


class ContractSchemas:
    """The contract schemas of one directory, checked and ready to validate against.

    Build it with `ContractSchemas.load()`. Validators are built on first use
    and cached, per schema name and definition.
    """

    def __init__(
        self,
        schemas: dict[str, dict[str, Any]],
        registry: Registry[Any],
        *,
        forbid_extra_fields: bool,
    ) -> None:
        """Prefer `ContractSchemas.load`; this takes already checked schemas.

        Arguments:

        - `schemas`: schema name -> schema document (each with its `$id`).
        - `registry`: a `referencing.Registry` holding every document by its `$id`.
        - `forbid_extra_fields`: whether the documents were made strict.
        """
        self._schemas = schemas
        self._registry = registry
        self._forbid_extra_fields = forbid_extra_fields
        self._validators: dict[tuple[str, str | None], Draft202012Validator] = {}

    @classmethod
    def load(
        cls, directory: Path = SCHEMA_DIR, *, forbid_extra_fields: bool = False, null_as_absent: bool = False
    ) -> ContractSchemas:
        """Load and check every `*.schema.json` file of `directory` (not its subfolders).

        Arguments:

        - `directory`: folder holding the schema files; defaults to `SCHEMA_DIR`.
        - `null_as_absent`: the default stance of AMB-NULL-AS-ABSENT, for validating answers and events
          (never requests): every optional property also accepts null (`nullable_optionals`).
        - `forbid_extra_fields`: the strict stance of AMB-EXTRA-FIELDS. When true,
          each schema is deep-copied and every object schema with `properties`
          and no `additionalProperties` gets `additionalProperties: false`, so
          unknown fields anywhere in a message are violations.

        Returns the loaded `ContractSchemas`.

        Raises `ValueError`, naming the file, when the directory holds no schema
        file, a file is not valid JSON or not a JSON object, its `$id` does not
        end with its file name, two files share an `$id`, or the file is not a
        valid draft 2020-12 schema (`Draft202012Validator.check_schema`).
        """
        paths = sorted(directory.glob(f"*{SCHEMA_SUFFIX}"))
        if not paths:
            raise ValueError(f"no *{SCHEMA_SUFFIX} files in {directory}")
        schemas: dict[str, dict[str, Any]] = {}
        seen_ids: dict[str, Path] = {}
        for path in paths:
            schema = _read_schema(path)
            schema_id = schema["$id"]
            if schema_id in seen_ids:
                raise ValueError(f"{path}: $id {schema_id!r} already used by {seen_ids[schema_id]}")
            seen_ids[schema_id] = path
            if forbid_extra_fields:
                schema = close_object_schemas(schema)
            if null_as_absent:
                schema = nullable_optionals(schema)
            schemas[path.name.removesuffix(SCHEMA_SUFFIX)] = schema
        registry: Registry[Any] = Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
            for schema in schemas.values()
        )
        return cls(schemas, registry, forbid_extra_fields=forbid_extra_fields)

    @property
    def forbid_extra_fields(self) -> bool:
        """Whether unknown fields are violations (strict stance of AMB-EXTRA-FIELDS)."""
        return self._forbid_extra_fields

    @property
    def registry(self) -> Registry[Any]:
        """The `referencing.Registry` holding every loaded schema by its `$id`."""
        return self._registry

    def names(self) -> list[str]:
        """The names of all loaded schemas, sorted, e.g. `"link-customer.response"`."""
        return sorted(self._schemas)

    def schema(self, name: str) -> dict[str, Any]:
        """A deep copy of schema `name` (as used for validation, so strict if loaded strict).

        Raises `KeyError`, listing the known names, for an unknown name.
        """
        return copy.deepcopy(self._lookup(name))

    def errors(self, name: str, instance: object, *, definition: str | None = None) -> list[str]:
        """Every way `instance` violates schema `name`; an empty list when it is valid.

        Arguments:

        - `name`: schema name, e.g. `"link-customer.response"`.
        - `instance`: the decoded JSON value to check.
        - `definition`: validate against `#/$defs/<definition>` of that file
          instead of its root, e.g. `"current"` for one variant of
          `delink-customer.response`.

        Each error reads `"at <JSON path>: <message>"`, e.g.
        `"at $.linkCustomers[0].customer.status: 'code' is a required property"`.
        For a failed `anyOf`/`oneOf`, the deepest error of the branches is appended
        as the closest miss.
        Errors are sorted by path, then message.

        Raises `KeyError` for an unknown schema name or definition.
        """
        validator = self._validator(name, definition)
        found = sorted((e for top in validator.iter_errors(instance) for e in _unwrap_nullable(top)), key=_sort_key)
        return [_describe(error) for error in found]

    def validate(self, name: str, instance: object, *, definition: str | None = None) -> None:
        """Check `instance` against schema `name`; return nothing when it is valid.

        Arguments as for `errors`.

        Raises `SchemaViolation` listing every error, or `KeyError` for an
        unknown schema name or definition.
        """
        problems = self.errors(name, instance, definition=definition)
        if problems:
            label = name if definition is None else f"{name}#/$defs/{definition}"
            raise SchemaViolation(label, problems)

    def _lookup(self, name: str) -> dict[str, Any]:
        try:
            return self._schemas[name]
        except KeyError:
            known = ", ".join(self.names())
            raise KeyError(f"unknown schema {name!r}; known schemas: {known}") from None

    def _validator(self, name: str, definition: str | None) -> Draft202012Validator:
        key = (name, definition)
        validator = self._validators.get(key)
        if validator is None:
            schema = self._lookup(name)
            if definition is not None:
                defs = schema.get("$defs", {})
                if definition not in defs:
                    known = ", ".join(sorted(defs)) or "none"
                    raise KeyError(f"schema {name!r} has no $defs/{definition}; its definitions: {known}")
                schema = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
            validator = Draft202012Validator(schema, registry=self._registry)
            self._validators[key] = validator
        return validator


FORMAT_CHECKER = FormatChecker()
"""jsonschema's format checker with the suite's one custom format, `iso-date-or-date-time`: the documents'
dates (link-customer#body-parameters, update-partner-program#body-parameters) given as a calendar date
("2026-12-31") or a date-time ("2026-12-31T23:59:59+05:30", seconds and offset optional) that exist. Used
where the suite decides whether a *request* is valid (the fuzz stage); answers are validated without it."""


@FORMAT_CHECKER.checks("iso-date-or-date-time", raises=ValueError)
def _iso_date_or_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword judges non-strings
    if len(value) == 10:
        date.fromisoformat(value)  # ValueError for 0000-00-00, 2026-02-30
    else:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def nullable_optionals(schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `schema` in which every optional property (one its object schema does not list in
    `required`) also accepts null: `{"anyOf": [{"type": "null"}, <the property's schema>]}`. Required
    properties stay as written (the events' `consumerGroupId` is required and typed to allow null already).
    Conditions (`if`, `not`) are left alone, so no branch starts to match differently.

    The one place the default stance of AMB-NULL-AS-ABSENT is applied, to every answer and event schema
    (`ContractSchemas.load(null_as_absent=True)`): a platform that serialises absent values as null (the
    events page's own sample: "consumerGroupId": null) is judged as if it had left them out. Request schemas
    are never loaded this way to judge what is valid: what the suite sends or calls valid is not widened (the fuzz
    stage reads them so only to decide which invalid items must never succeed: `fuzz.checks`)."""
    out = copy.deepcopy(schema)
    objects = [s for s in _subschemas(out, skip=("if", "not")) if isinstance(s.get("properties"), dict)]
    for obj in objects:
        required = set(obj.get("required", []))
        for name, prop in list(obj["properties"].items()):
            if name not in required and prop is not True and prop is not False:
                obj["properties"][name] = {"anyOf": [{"type": "null"}, prop]}
    return out


def close_object_schemas(schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `schema` with `additionalProperties: false` on every open object schema.

    An object schema is a (sub)schema with `properties`; it is open when it has
    no `additionalProperties` keyword. Subschemas are found through the draft
    2020-12 applicator keywords and `$defs`, so a property that happens to be
    named like a keyword is not mistaken for one.

    Arguments:

    - `schema`: a schema document; it is not modified.

    Returns the closed copy.
    """
    closed = copy.deepcopy(schema)
    for subschema in _subschemas(closed):
        if "properties" in subschema and "additionalProperties" not in subschema:
            subschema["additionalProperties"] = False
    return closed


def _subschemas(schema: object, skip: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """`schema` and every subschema in it that is an object (booleans are skipped), except under the
    keywords of `skip`."""
    if not isinstance(schema, dict):
        return
    yield schema
    for keyword in _SUBSCHEMA_KEYWORDS:
        if keyword in schema and keyword not in skip:
            yield from _subschemas(schema[keyword], skip)
    for keyword in _SUBSCHEMA_LIST_KEYWORDS:
        value = schema.get(keyword)
        if isinstance(value, list):
            for item in value:
                yield from _subschemas(item, skip)
    for keyword in _SUBSCHEMA_MAP_KEYWORDS:
        value = schema.get(keyword)
        if isinstance(value, dict):
            for item in value.values():
                yield from _subschemas(item, skip)


def _read_schema(path: Path) -> dict[str, Any]:
    """Read one schema file and check it; errors name the file."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read as JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise ValueError(f"{path}: a schema file must hold a JSON object")
    schema_id = schema.get("$id")
    if not isinstance(schema_id, str) or not schema_id.endswith("/" + path.name):
        raise ValueError(f"{path}: $id must be a URI ending in /{path.name}, got {schema_id!r}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise ValueError(f"{path}: not a valid draft 2020-12 schema at {where}: {exc.message}") from exc
    return schema


def _is_nullable_wrapper(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and value[0] == {"type": "null"}


def _unwrap_nullable(error: ValidationError) -> list[ValidationError]:
    """A value that is not null failing a `nullable_optionals` wrapper is reported by what its own schema
    says (the wrapper's second branch), so the failing path stays exact."""
    if error.validator == "anyOf" and _is_nullable_wrapper(error.validator_value) and error.instance is not None:
        inner = [e for e in error.context or [] if list(e.relative_schema_path)[:1] == [1]]
        return [u for e in inner for u in _unwrap_nullable(e)] or [error]
    return [error]


def _sort_key(error: ValidationError) -> tuple[str, str]:
    return (error.json_path, error.message)


def _describe(error: ValidationError) -> str:
    text = f"at {error.json_path}: {_shorten(error.message)}"
    if error.context:
        leaves = _leaves(error.context)
        depth = max(len(leaf.absolute_path) for leaf in leaves)
        closest = best_match(leaf for leaf in leaves if len(leaf.absolute_path) == depth)
        text += f" (closest: at {closest.json_path}: {_shorten(closest.message)})"
    return text


def _leaves(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """The innermost errors of nested anyOf/oneOf contexts.

    The deepest of them point into the branch that matched furthest, which is
    the one worth reporting (`best_match` alone prefers shallow errors).
    """
    leaves: list[ValidationError] = []
    for error in errors:
        if error.context:
            leaves.extend(_leaves(error.context))
        else:
            leaves.append(error)
    return leaves


def _shorten(message: str) -> str:
    """Cut the middle out of a long message (jsonschema puts the instance's repr first
    and the verdict, e.g. "is too long", last)."""
    if len(message) <= _MAX_MESSAGE:
        return message
    keep = (_MAX_MESSAGE - 5) // 2
    return f"{message[:keep]} ... {message[-keep:]}"
