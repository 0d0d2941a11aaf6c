"""PP__ environment overrides of profile keys, precedence (command line > env > file > default),
redaction of overrides, and customer_pool parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ppconformance.connection.profile import DEFAULT_PROFILE, Profile, ProfileError, load_profile
from ppconformance.run.scenario import CustomerPool

from .test_suite_runs import SECRETS

MINIMAL = {
    "orgs": [
        {
            "name": "a",
            "auth": {"scheme": "basic", "till": "t", "password": "${P}"},
            "programs": {"external": {"name": "Ext", "tiers": ["Low", "High"]}},
        }
    ]
}


def _load(env: dict[str, str] | None = None, path: Path | str = DEFAULT_PROFILE, **kw: object) -> Profile:
    return load_profile(path, env={**SECRETS, "P": "pw", **(env or {})}, **kw)  # type: ignore[arg-type]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# -- what an override can address -------------------------------------------------------------------
def test_scalar_override() -> None:
    profile = _load({"PP__TIMEOUT_SECONDS": "3.5", "PP__RETRIES": "0", "PP__NAME": "from-env"})
    assert profile.timeout_seconds == 3.5 and profile.retries == 0 and profile.name == "from-env"
    assert profile.connect_timeout_seconds == 3.5, "the connect timeout defaults to the smaller of 5 and the timeout"
    assert set(profile.overridden) == {"PP__TIMEOUT_SECONDS", "PP__RETRIES", "PP__NAME"}


def test_nested_key_override() -> None:
    profile = _load(
        {
            "PP__TEST_DATA__EMAIL_DOMAIN": "example.invalid",
            "PP__TEST_DATA__PROVISIONING": "pool",
            "PP__TEST_DATA__MOBILE_PREFIX": "'9188'",
        }
    )
    assert profile.email_domain == "example.invalid" and profile.provisioning == "pool"
    assert profile.mobile_prefix == "9188"


def test_nested_key_absent_from_the_file_is_created(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    profile = _load({"PP__TEST_DATA__SOURCE": "WECHAT", "PP__PATHS__LINKCUSTOMER": "/v3/link"}, path=path)
    assert profile.customer_source == "WECHAT"
    assert profile.paths["linkCustomer"] == "/v3/link"
    assert profile.paths["deLinkCustomer"] == "/v2/partnerProgram/deLinkCustomer"


def test_list_index_override() -> None:
    profile = _load(
        {
            "PP__ORGS__1__TIMEZONE": "UTC",
            "PP__ORGS__0__AUTH__TILL": "my.till",
            "PP__ORGS__0__ALLOW_MEMBERSHIP_RELINKING": "false",
        }
    )
    assert profile.orgs[1].timezone == "UTC" and profile.orgs[0].timezone == "Asia/Kolkata"
    assert profile.orgs[0].auth.till == "my.till"
    assert profile.orgs[0].allow_membership_relinking is False


def test_camel_case_paths_key_matches_case_insensitively() -> None:
    profile = _load(
        {
            "PP__PATHS__DELINKCUSTOMER": "/v2/partnerProgram/deLink",
            "PP__PATHS__customerPartnerProgramUpdate": "/v2/update",
        }
    )
    assert profile.paths["deLinkCustomer"] == "/v2/partnerProgram/deLink"
    assert profile.paths["customerPartnerProgramUpdate"] == "/v2/update"
    assert "DELINKCUSTOMER" not in profile.paths


def test_yaml_flow_list_and_mapping_values() -> None:
    profile = _load(
        {
            "PP__ORGS__0__PROGRAMS__EXTERNAL__TIERS": "[Copper, Zinc, Tin]",
            "PP__STRICT": "[AMB-EXTRA-FIELDS, AMB-2008-LEVEL]",
            "PP__ORGS__0__PROGRAMS__SUPPLEMENTARY__MEMBERSHIP_PERIOD": "{type: MONTHS, value: 6}",
        }
    )
    assert profile.orgs[0].programs["external"].tiers == ("Copper", "Zinc", "Tin")
    assert profile.strict == frozenset({"AMB-EXTRA-FIELDS", "AMB-2008-LEVEL"})
    period = profile.orgs[0].programs["supplementary"].membership_period
    assert period is not None and (period.type, period.value) == ("MONTHS", 6)


def test_list_item_inside_a_list_value() -> None:
    profile = _load({"PP__ORGS__0__PROGRAMS__EXTERNAL__TIERS__2": "Platinum"})
    assert profile.orgs[0].programs["external"].tiers == ("Bronze", "Silver", "Platinum")


def test_variables_not_meant_for_the_profile_are_ignored() -> None:
    profile = _load({"PP_PROFILE": "x", "PP_STRICT": "all", "PP__": "ignored", "OTHER__TIMEOUT": "1"})
    assert profile.overridden == () and profile.timeout_seconds == 10.0


# -- errors --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("var", "fragment"),
    [
        ("PP__NOPE", "'nope' is not a profile key here"),
        ("PP__ORGS__0__NOPE", "'nope' is not a profile key here"),
        ("PP__TEST_DATA__MOBILEPREFIX", "'mobileprefix' is not a profile key here"),
        ("PP__ORGS__0__PROGRAMS__GOLD__NAME", "'gold' is not a profile key here"),
    ],
)
def test_unknown_key_is_a_profile_error_naming_the_variable(var: str, fragment: str) -> None:
    with pytest.raises(ProfileError, match=f"environment variable {var}: {fragment}") as caught:
        _load({var: "1"})
    assert "expected one of:" in str(caught.value)


@pytest.mark.parametrize(
    "var", ["PP__ORGS__2__NAME", "PP__ORGS__X__NAME", "PP__ORGS__0__PROGRAMS__EXTERNAL__TIERS__3", "PP__ORGS__-1__NAME"]
)
def test_bad_list_index_is_a_profile_error(var: str) -> None:
    with pytest.raises(ProfileError, match=f"environment variable {var}: .* is not an index of the \\d+ items"):
        _load({var: "x"})


def test_value_that_is_not_yaml_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="environment variable PP__STRICT: not a YAML value"):
        _load({"PP__STRICT": "[AMB-EXTRA-FIELDS"})


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"PP__TIMEOUT_SECONDS": "-1"}, "at timeout_seconds"),
        ({"PP__ALLOW_WRITES": "maybe"}, "at allow_writes"),
        ({"PP__TEST_DATA__MOBILE_PREFIX": "91a"}, "at test_data/mobile_prefix"),
        ({"PP__ORGS__0__ALLOW_MEMBERSHIP_RELINKING": "[x]"}, "at orgs/0/allow_membership_relinking"),
        ({"PP__ORGS": "[]"}, "at orgs"),
    ],
)
def test_override_making_the_profile_invalid_names_the_override(env: dict[str, str], where: str) -> None:
    with pytest.raises(ProfileError) as caught:
        _load(env)
    message = str(caught.value)
    assert f"(after the environment overrides {next(iter(env))})" in message, message
    assert where in message, message


def test_a_string_key_keeps_the_variables_text() -> None:
    profile = _load({"PP__TEST_DATA__MOBILE_PREFIX": "9188", "PP__ORGS__0__TIMEZONE": "UTC"})
    assert profile.mobile_prefix == "9188" and profile.orgs[0].timezone == "UTC"


def test_override_naming_a_variable_that_is_unset_is_named() -> None:
    with pytest.raises(ProfileError, match="environment variable NEW_PW is not set"):
        _load({"PP__ORGS__0__AUTH__PASSWORD": "${NEW_PW}"})


def test_plain_secret_in_an_override_is_refused_without_echoing_it() -> None:
    with pytest.raises(ProfileError, match="orgs/0/auth") as caught:
        _load({"PP__ORGS__0__AUTH__PASSWORD": "hunter2-Real-Password"})
    assert "hunter2-Real-Password" not in str(caught.value)


def test_override_below_a_null_key_is_a_profile_error(tmp_path: Path) -> None:
    path = _write(tmp_path, {**MINIMAL, "paths": None})
    try:
        profile = _load({"PP__PATHS__LINKCUSTOMER": "/v3/link"}, path=path)
    except ProfileError:
        return
    assert profile.paths["linkCustomer"] == "/v3/link"


# -- precedence ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("file_value", "env_value", "cli", "expected"),
    [
        (None, None, None, False),  # default
        (True, None, None, True),  # file
        (True, "false", None, False),  # env over file
        (None, "true", None, True),  # env over default
        (False, "true", False, False),  # command line (--read-only) over env
        (True, "false", True, True),  # command line (--allow-writes) over env
        (True, None, False, False),  # command line over file
    ],
)
def test_precedence_of_allow_writes(
    tmp_path: Path, file_value: bool | None, env_value: str | None, cli: bool | None, expected: bool
) -> None:
    data = dict(MINIMAL) if file_value is None else {**MINIMAL, "allow_writes": file_value}
    env = {} if env_value is None else {"PP__ALLOW_WRITES": env_value}
    profile = _load(env, path=_write(tmp_path, data), allow_writes=cli)
    assert profile.allow_writes is expected
    if cli is not None:
        assert "--allow-writes/--read-only" in profile.overridden
    if env_value is not None:
        assert "PP__ALLOW_WRITES" in profile.overridden


@pytest.mark.parametrize(
    ("file_value", "env_value", "cli", "expected"),
    [
        (None, None, None, None),
        (50, None, None, 50),
        (50, "100", None, 100),
        (None, "100", None, 100),
        (50, "100", 7, 7),
        (None, None, 7, 7),
        (50, "null", None, None),  # the environment can lift the file's limit
    ],
)
def test_precedence_of_rate_limit_per_minute(
    tmp_path: Path, file_value: int | None, env_value: str | None, cli: int | None, expected: int | None
) -> None:
    data = dict(MINIMAL) if file_value is None else {**MINIMAL, "rate_limit_per_minute": file_value}
    env = {} if env_value is None else {"PP__RATE_LIMIT_PER_MINUTE": env_value}
    profile = _load(env, path=_write(tmp_path, data), rate_limit_per_minute=cli)
    assert profile.rate_limit_per_minute == expected


def test_precedence_of_base_url(tmp_path: Path) -> None:
    path = _write(tmp_path, {**MINIMAL, "base_url": "http://file.invalid"})
    assert _load(path=path).base_url == "http://file.invalid"
    assert _load({"PP__BASE_URL": "http://env.invalid"}, path=path).base_url == "http://env.invalid"
    assert (
        _load({"PP__BASE_URL": "http://env.invalid"}, path=path, base_url="http://cli.invalid").base_url
        == "http://cli.invalid"
    )


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PP__RATE_LIMIT_PER_MINUTE", "42")
    profile = load_profile(DEFAULT_PROFILE)
    assert profile.rate_limit_per_minute == 42 and profile.overridden == ("PP__RATE_LIMIT_PER_MINUTE",)


# -- redaction --------------------------------------------------------------------------------------------
def test_redacted_lists_overridden_names_but_no_values() -> None:
    env = {
        "PP__ORGS__1__AUTH__KEY": "${ROTATED_KEY}",
        "ROTATED_KEY": "rotated-Key-Value-77",
        "PP__ORGS__0__AUTH__TILL": "till-from-env",
        "PP__JOURNAL_DIR": "/tmp/journal-from-env",
    }
    profile = _load(env, allow_writes=False, rate_limit_per_minute=9)
    assert profile.orgs[1].auth.key == "rotated-Key-Value-77"
    redacted = profile.redacted()
    assert redacted["overridden"] == [
        "PP__JOURNAL_DIR",
        "PP__ORGS__0__AUTH__TILL",
        "PP__ORGS__1__AUTH__KEY",
        "--allow-writes/--read-only",
        "--rate-limit",
    ]
    overridden = json.dumps(redacted["overridden"])
    for value in ("rotated-Key-Value-77", "${ROTATED_KEY}", "till-from-env", "/tmp/journal-from-env", "9"):
        assert value not in overridden
    text = json.dumps(redacted)
    assert "rotated-Key-Value-77" not in text
    for secret in SECRETS.values():
        assert secret not in text
    assert redacted["orgs"][1]["auth"]["key"] == "***"


# -- customer_pool ------------------------------------------------------------------------------------------
def test_customer_pool_from_the_file(tmp_path: Path) -> None:
    org = {
        **MINIMAL["orgs"][0],
        "customer_pool": [
            {"mobile": 919900000001},
            {"mobile": "919900000002", "email": "b@example.invalid"},
            {"externalId": "ext-3", "enrolled": False},
            {"email": "d@example.invalid", "enrolled": True},
        ],
    }
    profile = _load(path=_write(tmp_path, {"orgs": [org]}))
    pool = profile.orgs[0].customer_pool
    assert [(c.mobile, c.email, c.external_id, c.enrolled) for c in pool] == [
        ("919900000001", "", "", True),
        ("919900000002", "b@example.invalid", "", True),
        ("", "", "ext-3", False),
        ("", "d@example.invalid", "", True),
    ]
    assert profile.redacted()["orgs"][0]["customer_pool"] == 4


def test_customer_pool_from_the_environment() -> None:
    profile = _load({"PP__ORGS__0__CUSTOMER_POOL": "[{mobile: '919900000011'}, {externalId: x, enrolled: false}]"})
    assert [(c.mobile, c.external_id, c.enrolled) for c in profile.orgs[0].customer_pool] == [
        ("919900000011", "", True),
        ("", "x", False),
    ]
    assert profile.orgs[1].customer_pool == ()


def test_customer_pool_entry_needs_an_identifier_and_known_keys(tmp_path: Path) -> None:
    for bad in ({}, {"phone": "9199"}):
        org = {**MINIMAL["orgs"][0], "customer_pool": [bad]}
        with pytest.raises(ProfileError, match="orgs/0/customer_pool/0"):
            _load(path=_write(tmp_path, {"orgs": [org]}))


def test_customer_pool_is_shared_out_over_workers(tmp_path: Path) -> None:
    org = {
        **MINIMAL["orgs"][0],
        "customer_pool": [{"mobile": f"91990000000{i}"} for i in range(5)]
        + [{"mobile": "919900000009", "enrolled": False}],
    }
    profile = _load(path=_write(tmp_path, {"orgs": [org]}))
    shares = [CustomerPool(profile, i, 2).free["a"] for i in (0, 1)]
    assert [c.mobile[-1] for c in shares[0]] == ["0", "2", "4"]
    assert [c.mobile[-1] for c in shares[1]] == ["1", "3", "9"]
    pool = CustomerPool(profile, 1, 2)
    taken = pool.acquire("a", enrolled=False)
    assert taken is not None and taken.mobile == "919900000009"
    assert pool.acquire("a", enrolled=False) is None
    pool.release("a", taken)
    assert pool.acquire("a", enrolled=False) == taken
