"""The evidence bundle (`ppconformance.evidence`): what it holds, that it hides the secrets, and that `verify`
notices any change, addition or removal, for the directory and the tarball alike."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ppconformance.evidence import BundleError, verify, write_bundle
from ppconformance.resources import catalogue_dir, features_dir, schemas_dir

SECRET = "s3cr3t-Pa55word"
META = {
    "suite_version": "0.1.0",
    "git_revision": "abc1234",
    "base_url": "http://127.0.0.1:8765",
    "profile": "embedded",
    "started": "2026-12-02T10:00:00+00:00",
    "finished": "2026-12-02T10:01:00+00:00",
    "strict": ["AMB-1"],
    "exit_code": 0,
    "command": ["pytest", "--password", SECRET],
}
URL = "http://127.0.0.1:8765/v2/partnerProgram"


def _record(started: str, method: str, path: str, body: str | None, scenario: str | None, **extra: str) -> str:
    record = {
        "started": started,
        "elapsed_ms": 12.5,
        "method": method,
        "url": URL + path,
        "request_headers": {"Authorization": "***", "Content-Type": "application/json", **extra},
        "request_body": body,
        "status": 200,
        "response_headers": {"Content-Type": "application/json"},
        "response_text": '{"ok": true}',
        "scenario": scenario,
    }
    return json.dumps(record)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A small reports folder: conformance.json, junit.xml, effective-profile.json and two traffic files, one
    line of which is not JSON, one record carrying the secret in a header and in its body."""
    reports = tmp_path / "reports"
    (reports / "traffic").mkdir(parents=True)
    verdict = {"verdict": "conforms", "exitCode": 0, "totals": {"byOutcome": {"passed": 3, "failed": 0}}}
    (reports / "conformance.json").write_text(json.dumps(verdict), encoding="utf-8")
    (reports / "junit.xml").write_text('<testsuites tests="3"/>\n', encoding="utf-8")
    (reports / "effective-profile.json").write_text('{"name": "embedded", "password": "***"}', encoding="utf-8")
    (reports / "traffic" / "gw0.jsonl").write_text(
        _record("2026-12-02T10:00:02.000+00:00", "GET", "/x?a=1&b=", None, None)
        + "\n{not json\n"
        + _record(
            "2026-12-02T10:00:00.123+00:00",
            "POST",
            "/linkCustomer",
            json.dumps({"password": SECRET}),
            "steps/test_features.py::test_link",
            **{"X-Cap-Api-Oauth-Token": f"Bearer {SECRET}"},
        )
        + "\n",
        encoding="utf-8",
    )
    (reports / "traffic" / "gw1.jsonl").write_text(
        _record("2026-12-02T10:00:01+00:00", "POST", "/delinkCustomer", "{}", "steps/test_features.py::test_delink")
        + "\n",
        encoding="utf-8",
    )
    return reports


@pytest.fixture
def bundle(tmp_path: Path, reports: Path) -> Path:
    """The bundle directory written from `reports` (its tarball beside it)."""
    write_bundle(tmp_path / "evidence", reports_dir=reports, meta=META, secrets=[SECRET])
    return tmp_path / "evidence"


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ppconformance.evidence", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_writes_directory_and_tarball(tmp_path: Path, reports: Path) -> None:
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "stale.txt").write_text("from an earlier run")
    tarball = write_bundle(tmp_path / "evidence", reports_dir=reports, meta=META, secrets=[SECRET])
    assert tarball == tmp_path / "evidence.tar.gz" and tarball.is_file()
    names = sorted(p.name for p in (tmp_path / "evidence").iterdir())
    assert names == sorted(
        ["MANIFEST.sha256", "conformance.json", "effective-profile.json", "junit.xml", "run.json"]
        + ["sources.sha256", "traffic.har"]
    )
    with tarfile.open(tarball) as tar:
        assert {m.name for m in tar.getmembers()} == {"evidence"} | {f"evidence/{n}" for n in names}
    run = json.loads((tmp_path / "evidence" / "run.json").read_text())
    assert run["bundle_format"] == 1 and run["base_url"] == META["base_url"] and run["strict"] == ["AMB-1"]
    assert any("gw0.jsonl: 1 line" in note for note in run["notes"])


def test_refuses_to_replace_the_reports(tmp_path: Path, reports: Path) -> None:
    with pytest.raises(ValueError, match="would replace the reports"):
        write_bundle(tmp_path, reports_dir=reports, meta=META)
    assert (reports / "conformance.json").is_file()


def test_har_structure(bundle: Path) -> None:
    log = json.loads((bundle / "traffic.har").read_text())["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "partner-program-conformance"
    entries = log["entries"]
    assert len(entries) == 3
    assert [e["startedDateTime"] for e in entries] == sorted(e["startedDateTime"] for e in entries)
    first, second, third = entries
    assert first["request"]["url"].endswith("/linkCustomer")
    assert first["_scenario"] == "steps/test_features.py::test_link" and third["_scenario"] is None
    assert first["request"]["postData"]["mimeType"] == "application/json"
    assert first["request"]["postData"]["text"] == '{"password": "***"}'
    assert second["request"]["bodySize"] == 2 and "postData" not in third["request"]
    assert third["request"]["queryString"] == [{"name": "a", "value": "1"}, {"name": "b", "value": ""}]
    assert {"name": "Authorization", "value": "***"} in first["request"]["headers"]
    response = first["response"]
    assert response["status"] == 200 and response["statusText"] == "OK" and response["redirectURL"] == ""
    assert response["content"] == {"size": 12, "mimeType": "application/json", "text": '{"ok": true}'}
    assert first["timings"] == {"send": 0, "wait": 12.5, "receive": 0} and first["cache"] == {}


def test_secrets_appear_nowhere(bundle: Path) -> None:
    md5 = hashlib.md5(SECRET.encode()).hexdigest()
    for path in bundle.iterdir():
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text and md5 not in text, path.name
    with tarfile.open(bundle.with_name("evidence.tar.gz")) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is None or SECRET.encode() not in data.read(), member.name


def test_sources_list_schemas_features_and_catalogue(bundle: Path) -> None:
    lines = (bundle / "sources.sha256").read_text().splitlines()
    sums = {path: digest for digest, path in (line.split("  ", 1) for line in lines)}
    assert list(sums) == sorted(sums)
    for prefix, folder, example in (
        ("schemas", schemas_dir(), "common.schema.json"),
        ("features", features_dir(), "link_customer.feature"),
        ("catalogue", catalogue_dir(), "requirements.yaml"),
    ):
        assert sums[f"{prefix}/{example}"] == hashlib.sha256((folder / example).read_bytes()).hexdigest()
    assert any(path.startswith("steps/") for path in sums)  # an editable install: the checkout's steps/
    assert not any("__pycache__" in path for path in sums)


def test_intact_directory_and_tarball(bundle: Path) -> None:
    for path in (bundle, bundle.with_name("evidence.tar.gz")):
        result = verify(path)
        assert result.intact and result.problems == [], path
        assert "verdict: conforms (exit code 0)" in result.summary
        assert "passed 3" in result.summary and "base_url: http://127.0.0.1:8765" in result.summary


@pytest.mark.parametrize("name", ["conformance.json", "traffic.har", "run.json", "sources.sha256"])
def test_one_changed_byte_is_caught(bundle: Path, name: str) -> None:
    data = bytearray((bundle / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (bundle / name).write_bytes(bytes(data))
    result = verify(bundle)
    assert not result.intact
    assert result.problems == [f"{name}: SHA-256 differs from MANIFEST.sha256"]


def test_missing_and_extra_files_are_caught(bundle: Path) -> None:
    (bundle / "junit.xml").unlink()
    (bundle / "x.txt").write_text("added later")
    assert verify(bundle).problems == ["missing file: junit.xml", "extra file not in manifest: x.txt"]
    (bundle / "MANIFEST.sha256").unlink()
    assert "MANIFEST.sha256 missing" in verify(bundle).problems


def test_a_changed_tarball_is_caught(bundle: Path) -> None:
    (bundle / "conformance.json").write_text('{"verdict": "conforms"}')
    tarball = bundle.with_name("evidence.tar.gz")
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(bundle, arcname=bundle.name)
    assert verify(tarball).problems == ["conformance.json: SHA-256 differs from MANIFEST.sha256"]


def test_cli_exit_codes(bundle: Path, tmp_path: Path) -> None:
    ok = _cli("verify", bundle.with_name("evidence.tar.gz"))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("intact\n") and "verdict: conforms" in ok.stdout
    (bundle / "traffic.har").write_text("{}")
    altered = _cli("verify", bundle)
    assert altered.returncode == 1 and "traffic.har: SHA-256 differs from MANIFEST.sha256" in altered.stdout
    missing = _cli("verify", tmp_path / "nothing-here")
    assert missing.returncode == 2 and "no such bundle" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert _cli("verify", tmp_path / "empty").returncode == 2
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    assert _cli("verify", tmp_path / "junk.tar.gz").returncode == 2
    assert _cli("verify").returncode == 2 and "verify" in _cli("--help").stdout


def _tarball(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


@pytest.mark.parametrize("bad", ["evidence/../../x", "../x", "/tmp/x"])
def test_malicious_tarball_is_refused(tmp_path: Path, bad: str) -> None:
    member = tarfile.TarInfo(bad)
    member.size = 1
    tarball = _tarball(tmp_path / "bad.tar.gz", tarfile.TarInfo("evidence/MANIFEST.sha256"), member)
    with pytest.raises(BundleError, match="refusing unsafe tar member"):
        verify(tarball)
    run = _cli("verify", tarball)
    assert run.returncode == 2 and "refusing unsafe tar member" in run.stderr
    assert not (tmp_path / "x").exists()


def test_tarball_with_a_link_is_refused(tmp_path: Path) -> None:
    link = tarfile.TarInfo("evidence/run.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(BundleError, match="a link or special file"):
        verify(_tarball(tmp_path / "link.tar.gz", link))
