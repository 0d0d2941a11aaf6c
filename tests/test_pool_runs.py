"""Provisioning from a customer pool: the suite registers nobody and leaves the pool customers unlinked."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from ppconformance.connection.client import PartnerProgramClient
from ppconformance.connection.profile import load_profile

from .refserver import start_reference_server
from .test_suite_runs import ROOT, SECRETS, counts, run_suite

POOL_SIZE = 4  # the largest scenario outside the 50/51 batches uses 3 customers


@pytest.mark.selftest_slow
def test_pool_provisioning_registers_nobody_and_cleans_the_pool(tmp_path: Path) -> None:
    base_url, stop = start_reference_server()
    try:
        profile_data = yaml.safe_load((ROOT / "profiles" / "embedded.yaml").read_text(encoding="utf-8"))
        profile_data["test_data"]["provisioning"] = "pool"
        loaded = load_profile(ROOT / "profiles" / "embedded.yaml", env=SECRETS)
        for i, (org_data, org) in enumerate(zip(profile_data["orgs"], loaded.orgs, strict=True)):
            client = PartnerProgramClient(base_url, loaded, org)
            pool = []
            for n in range(POOL_SIZE + 1):
                mobile = f"9198{i}{n:07d}"
                enrolled = n < POOL_SIZE
                ids = {"mobile": mobile, "email": f"pool-{mobile}@conformance.invalid", "externalId": f"pool-{mobile}"}
                ex = client.add_customer(ids, enrolled=enrolled)
                assert ex.status == 200, ex.render()
                pool.append({**ids, "enrolled": enrolled})
            org_data["customer_pool"] = pool
            client.close()
        path = tmp_path / "pool.yaml"
        path.write_text(yaml.safe_dump(profile_data), encoding="utf-8")
        before = httpx.get(base_url + "/__reference__/state").json()
        log_start = len(httpx.get(base_url + "/__reference__/requests").json()["requests"])

        code, out, junit = run_suite(
            tmp_path,
            f"--profile={path}",
            f"--base-url={base_url}",
            "--reference-target",  # a reference server: the clock scenarios run, so every skip names the pool
            "-rs",
            env={"PP__JOURNAL_DIR": str(tmp_path / "journal")},
        )

        c = counts(junit)
        assert code == 0, out[-4000:]
        assert c["failures"] == 0 and c["errors"] == 0, c
        assert c["tests"] - c["skipped"] >= 40, c  # most scenarios run on pool customers
        reasons = [s.get("message", "") for s in junit.iter("skipped")]
        assert reasons and all("customer_pool" in r for r in reasons), reasons  # only the 50/51 batches
        log = httpx.get(base_url + "/__reference__/requests").json()["requests"][log_start:]
        registered = [e for e in log if e["method"] == "POST" and e["path"] == "/v2/customers"]
        assert not registered, "a customer was registered"
        after = httpx.get(base_url + "/__reference__/state").json()
        assert [o["customers"] for o in after["orgs"]] == [o["customers"] for o in before["orgs"]]
        assert all(o["links"] == [] for o in after["orgs"]), after
    finally:
        stop()
