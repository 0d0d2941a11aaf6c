"""The profile's defaults live in one place, the typed model (`FILE_KEYS` over the dataclasses of
`ppconformance.connection.profile`); the schema's `default`s, the docs key table and the `PP__` override names
are generated from it (`python -m tools.register`) and must not drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tools.register import _env_name, _locate, profile_keys, render_profile_keys, schema_with_defaults

from ppconformance.connection.profile import FILE_KEYS, PROFILE_SCHEMA, Profile, file_default, load_profile

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = (
    "orgs:\n"
    "  - name: a\n"
    "    auth: {scheme: basic, till: t, password: '${P}'}\n"
    "    programs: {}\n"
    "    customer_pool: [{mobile: '1'}]\n"
)


def _schema() -> dict[str, Any]:
    return json.loads(PROFILE_SCHEMA.read_text(encoding="utf-8"))


def test_the_committed_schema_carries_the_models_defaults():
    schema = _schema()
    assert schema == schema_with_defaults(schema), "run python -m tools.register"
    for key in FILE_KEYS:
        for node in _locate(schema, key.path):
            assert node["default"] == key.default(), key.path


def test_no_description_repeats_a_default():
    """A default written in prose would be a second place to keep it."""
    for key in FILE_KEYS:
        for node in _locate(_schema(), key.path):
            assert "default" not in node.get("description", "").lower(), f"{key.path}: {node['description']}"


def test_the_key_table_is_generated_and_lists_every_key_with_its_override():
    page = (ROOT / "docs" / "profile-keys.md").read_text(encoding="utf-8")
    assert page == render_profile_keys(_schema())
    for path, _ in profile_keys(_schema()):
        assert f"| `{path}` |" in page and f"`{_env_name(path)}`" in page


def _value(profile: Profile, path: str) -> Any:
    fields = {k.path: k.field for k in FILE_KEYS}
    head = path.split(".")[0]
    if head == "fuzz":
        return getattr(profile.fuzz, fields[path])
    if head == "webhooks":
        return getattr(profile.webhooks, fields[path])
    if head == "state":
        return getattr(profile.state, fields[path])
    if path == "orgs[].auth.token_header":
        return profile.orgs[0].auth.token_header
    if path == "orgs[].customer_pool[].enrolled":
        return profile.orgs[0].customer_pool[0].enrolled
    if head == "orgs[]":
        return getattr(profile.orgs[0], fields[path])
    return getattr(profile, fields[path])


def test_a_profile_that_sets_nothing_gets_the_models_defaults(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    profile = load_profile(path, env={"P": "x"})
    for key in FILE_KEYS:
        assert _value(profile, key.path) == key.default(), key.path
    assert profile.connect_timeout_seconds == min(5.0, file_default("timeout_seconds"))  # derived, documented


@pytest.mark.parametrize("key", FILE_KEYS, ids=lambda k: k.path)
def test_every_generated_override_name_sets_its_key(tmp_path: Path, key: Any) -> None:
    path = tmp_path / "p.yaml"
    oauth = "auth: {scheme: oauth, key: '${P}', secret: '${P}'}"
    text = MINIMAL.replace("auth: {scheme: basic, till: t, password: '${P}'}", oauth)
    path.write_text(text if key.path == "orgs[].auth.token_header" else MINIMAL, encoding="utf-8")
    default = key.default()
    value = {bool: lambda d: not d, int: lambda d: d + 1, float: lambda d: d + 1.5}.get(type(default))
    raw: str
    expect: Any
    if key.path == "webhooks.auth_value":
        raw, expect = "${SECRET}", "s3"
    elif key.path == "webhooks.mode":
        raw, expect = "off", "off"
    elif key.path == "fuzz.mode":
        raw, expect = "deep", "deep"
    elif key.path == "test_data.provisioning":
        raw, expect = "pool", "pool"
    elif value is not None:
        expect = value(default)
        raw = json.dumps(expect)
    elif key.path.endswith(("seed", "max_examples", "rate_limit_per_minute")):
        raw, expect = "7", 7
    elif key.path.endswith("time_budget_seconds"):
        raw, expect = "12.5", 12.5
    elif key.path == "orgs[].allow_membership_relinking":
        raw, expect = "true", True
    elif key.path == "test_data.mobile_prefix":
        raw, expect = '"9188"', "9188"
    elif key.path == "webhooks.listen":
        raw, expect = "127.0.0.1:9999", "127.0.0.1:9999"
    elif key.path == "webhooks.public_url":
        raw, expect = "https://tunnel.example", "https://tunnel.example"
    else:
        expect = "Other/Value" if not key.path.endswith("timezone") else "Asia/Kolkata"
        raw = expect
    profile = load_profile(path, env={"P": "x", "SECRET": "s3", _env_name(key.path): raw})
    assert _value(profile, key.path) == expect, f"{_env_name(key.path)}={raw}"
