"""Secrets self-test: known credentials never reach any file under reports/ in any form."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import yaml

from ppconformance.connection.client import basic_auth_header

from .test_suite_runs import ROOT, SECRETS, counts, run_suite


def forms(secret: str) -> list[str]:
    """A secret as it could leak: plain, md5 hex, base64 of itself."""
    return [secret, hashlib.md5(secret.encode()).hexdigest(), base64.b64encode(secret.encode()).decode()]


@pytest.mark.selftest_slow
def test_no_secret_in_any_report_file_plain_md5_base64_or_token(tmp_path: Path) -> None:
    # a profile whose highest external tier does not exist on the target: the scenarios that set up a link at
    # that tier fail, so failure attachments (every exchange of the scenario, both auth schemes) are written
    profile = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
    for org in profile["orgs"]:
        org["programs"]["external"]["tiers"] = ["Bronze", "Silver", "Platinum-missing"]
    path = tmp_path / "wrong-tier.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    tokens_file = tmp_path / "issued-tokens.txt"
    code, out, junit = run_suite(
        tmp_path, f"--profile={path}", env={"PP_REFERENCE_ISSUED_TOKENS_FILE": str(tokens_file)}
    )
    assert code == 1 and counts(junit)["failures"] > 0, out[-3000:]
    tokens = tokens_file.read_text(encoding="utf-8").split()
    assert tokens, "the OAuth org was never used: the test would not check tokens"
    needles = {}
    for name, secret in SECRETS.items():
        for form in forms(secret):
            needles[form] = name
    till = profile["orgs"][0]["auth"]["till"]
    header = basic_auth_header(till, SECRETS["PP_EMBEDDED_ENABLED_PASSWORD"])
    needles[header.split(" ", 1)[1]] = "Basic header"
    for token in tokens:
        needles[token] = "OAuth token"
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    attachments = [p for p in files if p.name.endswith("-attachment.txt")]
    assert len(files) > 20 and attachments, files
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        for needle, what in needles.items():
            assert needle not in text, f"{what} leaked into {p.relative_to(tmp_path)}"
    for needle, what in needles.items():
        assert needle not in out, f"{what} leaked into the terminal output"
    assert "***" in "".join(p.read_text(encoding="utf-8", errors="replace") for p in attachments)
