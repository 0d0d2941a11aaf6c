"""A built wheel carries the suite (schemas, catalogue, profiles, features, steps, conftest.py, its pytest.ini)
and finds it through importlib.resources, without the checkout (marked selftest_slow: it builds a wheel)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import ppconformance, ppconformance.resources as r
from ppconformance.contract.catalogue import load_catalogue
from ppconformance.contract.schemas import ContractSchemas
from ppconformance.connection.profile import DEFAULT_PROFILE
root = r.data_dir("schemas").parents[1]
assert str(root).startswith(TARGET), root
assert r.checkout() is None, r.checkout()
assert load_catalogue().requirements and ContractSchemas.load().schema("link-customer.request")
assert DEFAULT_PROFILE.is_file() and (r.features_dir() / "link_customer.feature").is_file()
print("ok", root)
"""


@pytest.mark.selftest_slow
def test_a_wheel_install_finds_its_package_data(tmp_path: Path):
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder, sample in (
        ("schemas", "link-customer.request.schema.json"),
        ("schemas/meta", "profile.schema.json"),
        ("schemas/events", "partnerProgramLinked.schema.json"),
        ("catalogue", "requirements.yaml"),
        ("profiles", "embedded.yaml"),
        ("features", "link_customer.feature"),
        ("steps", "then_steps.py"),
        ("", "conftest.py"),
        ("", "pytest.ini"),
    ):
        assert f"ppconformance/suite/{folder}/{sample}".replace("//", "/") in names, (folder, sample)
    assert not any("/_data/" in n for n in names)
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    # -S: no site processing, so the checkout's editable install is not on the path; the dependencies come
    # from this interpreter's site-packages, after the wheel's copy
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])}
    probe = subprocess.run(
        [sys.executable, "-S", "-c", f"TARGET = {str(target)!r}\n{PROBE}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0 and probe.stdout.startswith("ok"), probe.stdout + probe.stderr[-3000:]
