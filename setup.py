"""Build hook: ship the suite in the wheel.

The suite's folders stay at the repository's top level, the one copy of each (`schemas/`, `catalogue/`,
`profiles/`, `features/`, `steps/`, `conftest.py`). A (non-editable) build copies them into the wheel as
`ppconformance/suite/`, with a `pytest.ini` made from pyproject.toml's `[tool.pytest.ini_options]`, so that
`pp-conformance` runs the whole suite from an installed wheel, from any directory
(`ppconformance.resources.suite_root`). An editable install reads the checkout and copies nothing.
Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shlex
import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SUITE_DIRS = ("schemas", "catalogue", "profiles", "features", "steps")  # ppconformance.resources.SUITE_DIRS
SPACE_SEPARATED = frozenset({"addopts"})  # ini keys of type "args": one line, shell-quoted


def pytest_ini(pyproject: Path) -> str:
    """The `[pytest]` ini text of pyproject.toml's `[tool.pytest.ini_options]`: lists as one value per line (or, for
    `addopts`, one shell-quoted line), booleans as true/false."""
    options = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    lines = ["# written by the build from pyproject.toml's [tool.pytest.ini_options]: edit that, not this", "[pytest]"]
    for key, value in options.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, list) and key in SPACE_SEPARATED:
            lines.append(f"{key} = {shlex.join(str(v) for v in value)}")
        elif isinstance(value, list):
            lines.append(f"{key} =")
            lines.extend(f"    {v}" for v in value)
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


class BuildWithSuite(build_py):
    """`build_py` that also copies the suite into `<build_lib>/ppconformance/suite/` (not in editable mode)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "ppconformance" / "suite"
        if target.exists():
            shutil.rmtree(target)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        for name in SUITE_DIRS:
            shutil.copytree(ROOT / name, target / name, ignore=ignore)
        shutil.copy2(ROOT / "conftest.py", target / "conftest.py")
        (target / "pytest.ini").write_text(pytest_ini(ROOT / "pyproject.toml"), encoding="utf-8")


setup(cmdclass={"build_py": BuildWithSuite})
