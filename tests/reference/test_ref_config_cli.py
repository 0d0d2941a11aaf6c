"""Org configuration loader and command line (docs/reference-behaviour.md#orgs-and-auth)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ppreference.__main__ import ServerOptions, build_parser, main, server_options
from ppreference.config import ConfigError, default_orgs_dir, load_org_file, load_orgs

from .helpers import ENV


def _org_data() -> dict:
    return yaml.safe_load((default_orgs_dir() / "relinking-enabled.yaml").read_text())


def _write(tmp_path: Path, data: object, name: str = "org.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_packaged_orgs_load(env: dict) -> None:
    disabled, enabled = load_orgs()  # file-name order
    assert (enabled.org_id, enabled.name, enabled.timezone.key, enabled.allow_relinking) == (
        50001,
        "relinking-enabled",
        "Asia/Kolkata",
        True,
    )
    assert (disabled.org_id, disabled.timezone.key, disabled.allow_relinking) == (50002, "Europe/London", False)
    assert enabled.basic is not None and enabled.basic.till == "conformance.enabled.till"
    assert enabled.basic.password == ENV["PP_EMBEDDED_ENABLED_PASSWORD"]
    assert disabled.oauth is not None and disabled.oauth.secret == "disabled-secret"
    for org, base in ((enabled, 100), (disabled, 200)):
        programs = [(p.id, p.name, p.type, p.tier_based, p.period_type, p.period_value) for p in org.programs]
        assert programs == [
            (base + 1, "Apparel-Partner", "EXTERNAL", True, "DAYS", 0),
            (base + 2, "SPP_1", "SUPPLEMENTARY", True, "DAYS", 30),
            (base + 3, "SPP_2", "SUPPLEMENTARY", False, "MONTHS", 12),
        ]
    spp1 = enabled.program("SPP_1")
    assert spp1 is not None and [t.name for t in spp1.tiers] == ["Classic", "Premium"]


def test_secrets_are_not_in_reprs(env: dict) -> None:
    text = repr(load_orgs())
    assert all(secret not in text for secret in ENV.values())


@pytest.mark.parametrize("missing", ["PP_EMBEDDED_ENABLED_PASSWORD", "PP_EMBEDDED_DISABLED_OAUTH_SECRET"])
def test_unset_environment_variable_is_named(env: dict, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing) as info:
        load_orgs()
    assert ".yaml" in str(info.value)


def test_empty_environment_variable_counts_as_unset(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PP_EMBEDDED_ENABLED_OAUTH_KEY", "")
    with pytest.raises(ConfigError, match="PP_EMBEDDED_ENABLED_OAUTH_KEY"):
        load_orgs()


def _mutated(change: str) -> dict:
    data = _org_data()
    if change == "no orgId":
        del data["orgId"]
    elif change == "bad type":
        data["partnerPrograms"][1]["partnerProgramType"] = "PARTNER"
    elif change == "bad timezone":
        data["timezone"] = "Mars/Olympus"
    elif change == "unknown key":
        data["allowRelinking"] = True
    elif change == "string orgId":
        data["orgId"] = "50001"
    elif change == "bool relinking":
        data["allowMembershipRelinking"] = "yes"
    elif change == "no credentials":
        data["credentials"] = {}
    elif change == "duplicate program":
        data["partnerPrograms"][2]["partnerProgramName"] = "SPP_1"
    elif change == "tier without name":
        data["partnerPrograms"][0]["partnerProgramTiers"][1] = {"tierNumber": 2}
    elif change == "negative period":
        data["partnerPrograms"][1]["membershipPeriodValue"] = -1
    return data


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ("no orgId", "orgId"),
        ("bad type", "partnerPrograms[1].partnerProgramType"),
        ("bad timezone", "timezone"),
        ("unknown key", "allowRelinking"),
        ("string orgId", "orgId"),
        ("bool relinking", "allowMembershipRelinking"),
        ("no credentials", "credentials"),
        ("duplicate program", "partnerPrograms[2]"),
        ("tier without name", "partnerPrograms[0].partnerProgramTiers[1].tierName"),
        ("negative period", "partnerPrograms[1].membershipPeriodValue"),
    ],
)
def test_invalid_org_file_names_file_and_key(env: dict, tmp_path: Path, change: str, key: str) -> None:
    path = _write(tmp_path, _mutated(change))
    with pytest.raises(ConfigError) as info:
        load_org_file(path)
    assert str(path) in str(info.value) and key in str(info.value)


@pytest.mark.parametrize("text", ["orgId: [unclosed", "- just\n- a list\n", ""])
def test_unreadable_yaml_names_file(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="org.yaml"):
        load_org_file(path)


def test_credential_blocks_are_each_optional(env: dict, tmp_path: Path) -> None:
    data = _org_data()
    del data["credentials"]["oauth"]
    org = load_org_file(_write(tmp_path, data))
    assert org.oauth is None and org.basic is not None
    data = _org_data()
    del data["credentials"]["basic"]
    org = load_org_file(_write(tmp_path, data))
    assert org.basic is None and org.oauth is not None


def test_directory_errors(env: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no \\*.yaml"):
        load_orgs(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load_orgs(tmp_path / "missing")
    _write(tmp_path, _org_data(), "a.yaml")
    _write(tmp_path, _org_data(), "b.yml")
    with pytest.raises(ConfigError, match="orgId"):
        load_orgs(tmp_path)


def test_directory_of_files_loads_in_name_order(env: dict, tmp_path: Path) -> None:
    second = _org_data()
    second.update(orgId=7, name="seven")
    second["credentials"] = {"basic": {"till": "t7", "passwordEnv": "PP_EMBEDDED_ENABLED_PASSWORD"}}
    _write(tmp_path, second, "a.yaml")
    _write(tmp_path, _org_data(), "b.yaml")
    (tmp_path / "notes.txt").write_text("ignored")
    assert [o.org_id for o in load_orgs(tmp_path)] == [7, 50001]


# command line --------------------------------------------------------------------------------
def test_cli_missing_env_var_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["--port", "18098"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "PP_EMBEDDED_" in err


def test_cli_bad_orgs_dir_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--orgs", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_cli_help_lists_options_and_env_vars(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in (
        "--host",
        "--port",
        "--orgs",
        "--log-level",
        "PP_EMBEDDED_ENABLED_PASSWORD",
        "--rate-limit-per-minute",
        "PP_REFERENCE_RATE_LIMIT",
        "--token-ttl",
        "PP_REFERENCE_TOKEN_TTL",
        "/__reference__/state",
        "/__reference__/requests",
        "Retry-After",
        "changed",
        "authenticated",
    ):
        assert word in out


def test_python_dash_m_reports_config_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ppreference", "--orgs", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": ""},
    )
    assert result.returncode == 2
    assert "configuration error" in result.stderr


# opt-in settings: --rate-limit-per-minute / PP_REFERENCE_RATE_LIMIT, --token-ttl / PP_REFERENCE_TOKEN_TTL
def _options(argv: list[str], env: dict[str, str] | None = None) -> ServerOptions:
    return server_options(build_parser().parse_args(argv), env or {})


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, ServerOptions(None, 300)),
        ([], {"PP_REFERENCE_RATE_LIMIT": "120", "PP_REFERENCE_TOKEN_TTL": "30"}, ServerOptions(120, 30)),
        ([], {"PP_REFERENCE_RATE_LIMIT": " 7 ", "PP_REFERENCE_TOKEN_TTL": ""}, ServerOptions(7, 300)),
        ([], {"PP_REFERENCE_RATE_LIMIT": "0"}, ServerOptions(None, 300)),
        (["--rate-limit-per-minute", "5", "--token-ttl", "10"], {}, ServerOptions(5, 10)),
        (
            ["--rate-limit-per-minute", "5", "--token-ttl", "10"],
            {"PP_REFERENCE_RATE_LIMIT": "120", "PP_REFERENCE_TOKEN_TTL": "30"},
            ServerOptions(5, 10),
        ),
        (["--rate-limit-per-minute", "0"], {"PP_REFERENCE_RATE_LIMIT": "120"}, ServerOptions(None, 300)),
        (["--token-ttl", "60"], {"PP_REFERENCE_TOKEN_TTL": "not a number"}, ServerOptions(None, 60)),
    ],
)
def test_server_options_from_cli_and_env(argv: list[str], env: dict[str, str], expected: ServerOptions) -> None:
    assert _options(argv, env) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PP_REFERENCE_RATE_LIMIT", "fast"),
        ("PP_REFERENCE_RATE_LIMIT", "-1"),
        ("PP_REFERENCE_RATE_LIMIT", "2.5"),
        ("PP_REFERENCE_TOKEN_TTL", "0"),
        ("PP_REFERENCE_TOKEN_TTL", "5m"),
    ],
)
def test_bad_env_setting_is_a_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        _options([], {name: value})


@pytest.mark.parametrize(
    "argv",
    [["--rate-limit-per-minute", "-1"], ["--rate-limit-per-minute", "x"], ["--token-ttl", "0"], ["--token-ttl", "1.5"]],
)
def test_bad_cli_setting_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_cli_bad_env_setting_exits_2(
    env: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PP_REFERENCE_TOKEN_TTL", "soon")
    assert main(["--port", "18097"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "PP_REFERENCE_TOKEN_TTL" in err


def test_cli_passes_settings_to_the_app(
    env: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    import ppreference.app as app_module

    created: list[dict[str, Any]] = []
    served: list[tuple[Any, dict[str, Any]]] = []
    real_create_app = app_module.create_app

    def create_app(orgs: Any, **kwargs: Any) -> Any:
        created.append(kwargs)
        return real_create_app(orgs, **kwargs)

    monkeypatch.setattr(app_module, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    monkeypatch.setenv("PP_REFERENCE_RATE_LIMIT", "90")
    monkeypatch.setenv("PP_REFERENCE_TOKEN_TTL", "45")
    assert main(["--port", "18096", "--token-ttl", "20", "--latency-ms", "7"]) == 0
    assert created == [
        {
            "token_ttl_seconds": 20,
            "rate_limit_per_minute": 90,
            "fault": None,
            "variant": None,
            "event_form": "flat",
            "latency_ms": 7,
        }
    ]
    assert served[0][1] == {"host": "127.0.0.1", "port": 18096, "log_level": "info"}
    out = capsys.readouterr().out
    assert "rate limit 90 requests/min per org" in out and "token ttl 20 s" in out

    monkeypatch.delenv("PP_REFERENCE_RATE_LIMIT")
    monkeypatch.delenv("PP_REFERENCE_TOKEN_TTL")
    assert main(["--port", "18096"]) == 0
    assert created[-1] == {
        "token_ttl_seconds": 300,
        "rate_limit_per_minute": None,
        "fault": None,
        "variant": None,
        "event_form": "flat",
        "latency_ms": 0,
    }
    out = capsys.readouterr().out
    assert "rate limit" not in out and "token ttl" not in out and "FAULT" not in out

    assert main(["--port", "18096", "--fault", "link-2006-as-2004", "--variant", "extra-fields"]) == 0
    assert created[-1] == {
        "token_ttl_seconds": 300,
        "rate_limit_per_minute": None,
        "fault": "link-2006-as-2004",
        "variant": "extra-fields",
        "event_form": "flat",
        "latency_ms": 0,
    }
    out = capsys.readouterr().out
    assert "FAULT link-2006-as-2004 (LINK-2006)" in out and "variant extra-fields (AMB-EXTRA-FIELDS)" in out
    assert main(["--port", "18096", "--event-form", "wrapped"]) == 0
    assert created[-1]["event_form"] == "wrapped"
