"""Profile loading: schema validation, ${VAR} expansion, precedence, redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppconformance.connection.profile import DEFAULT_PROFILE, ProfileError, load_profile
from ppconformance.contract.stances import AmbiguityId

ENV = {
    "PP_EMBEDDED_ENABLED_PASSWORD": "pw-secret-1",
    "PP_EMBEDDED_DISABLED_OAUTH_KEY": "key-secret-2",
    "PP_EMBEDDED_DISABLED_OAUTH_SECRET": "secret-secret-3",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_embedded_profile_loads_with_both_relinking_settings() -> None:
    profile = load_profile(DEFAULT_PROFILE, env=ENV)
    assert {o.allow_membership_relinking for o in profile.orgs} == {True, False}
    assert {o.auth.scheme for o in profile.orgs} == {"basic", "oauth"}
    assert profile.orgs[0].auth.password == "pw-secret-1"
    assert profile.orgs[0].programs["external"].tiers[0] == "Bronze"


def test_example_staging_profile_is_valid() -> None:
    profile = load_profile(DEFAULT_PROFILE.parent / "staging-eu.example.yaml", env={"CAP_TILL_PASSWORD": "x1"})
    assert profile.base_url == "https://eu.api.capillarytech.com"


def test_missing_variable_is_named() -> None:
    with pytest.raises(ProfileError, match="PP_EMBEDDED_DISABLED_OAUTH_KEY is not set"):
        load_profile(DEFAULT_PROFILE, env={"PP_EMBEDDED_ENABLED_PASSWORD": "x"})


def test_plain_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "orgs: [{name: a, auth: {scheme: basic, till: t, password: hunter2}, programs: {}}]\n")
    with pytest.raises(ProfileError, match=r"orgs/0/auth"):
        load_profile(path, env={})


def test_unknown_key_and_bad_yaml_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="Additional properties are not allowed"):
        load_profile(write(tmp_path, "orgs: []\nbase_ulr: x\n"), env={})
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(write(tmp_path, "orgs: [\n"), env={})
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.yaml", env={})


def test_bad_timezone_is_a_profile_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "orgs: [{name: a, timezone: Mars/Olympus, auth: {scheme: basic, till: t, password: '${P}'}, programs: {}}]\n",
    )
    with pytest.raises(ProfileError, match="Mars/Olympus"):
        load_profile(path, env={"P": "x"})


def test_command_line_wins_over_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "base_url: http://file.invalid\nstrict: [AMB-2008-LEVEL]\norgs: [{name: a, auth: "
        "{scheme: basic, till: t, password: '${P}'}, programs: {}}]\n",
    )
    profile = load_profile(path, base_url="http://cli.invalid", strict=["AMB-RESULT-ORDER"], env={"P": "x"})
    assert profile.base_url == "http://cli.invalid"
    assert profile.is_strict(AmbiguityId.E2008_LEVEL) and profile.is_strict(AmbiguityId.RESULT_ORDER)
    assert not profile.is_strict(AmbiguityId.EXTRA_FIELDS)
    assert load_profile(path, strict=["all"], env={"P": "x"}).is_strict(AmbiguityId.EXTRA_FIELDS)
    with pytest.raises(TypeError, match="AmbiguityId"):
        profile.is_strict("AMB-2008-LEVEL")  # type: ignore[arg-type]  # a plain string is refused
    with pytest.raises(ProfileError, match="unknown ambiguity id.*AMB-NO-SUCH"):
        load_profile(path, strict=["AMB-NO-SUCH"], env={"P": "x"})


def test_redacted_profile_holds_no_secret() -> None:
    text = json.dumps(load_profile(DEFAULT_PROFILE, env=ENV).redacted())
    assert "***" in text
    for secret in ENV.values():
        assert secret not in text
