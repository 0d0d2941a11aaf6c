"""Where the suite lives: `schemas/`, `catalogue/`, `profiles/`, `features/`, `steps/` and the root `conftest.py`.

The repository keeps the one copy of each at its top level. A wheel carries them as `ppconformance/suite/` (the
build copies them there: `setup.py`), with a `pytest.ini` made from pyproject.toml's `[tool.pytest.ini_options]`.
`suite_root()` is that packaged folder in an installed wheel, else the checkout the package runs from (an editable
install); every other function here is relative to it. `checkout()` is the repository itself, for what only a
checkout has (its git revision, `docs/`, `tests/`); None in a wheel install.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "SUITE_DIRS",
    "catalogue_dir",
    "checkout",
    "data_dir",
    "features_dir",
    "packaged_suite",
    "profiles_dir",
    "schemas_dir",
    "steps_dir",
    "suite_config",
    "suite_root",
]

SUITE_DIRS = ("schemas", "catalogue", "profiles", "features", "steps")
"""The repository's top-level folders a wheel carries (as `ppconformance/suite/<name>`), with `conftest.py`."""

PACKAGED_CONFIG = "pytest.ini"
"""The packaged suite's ini file (pyproject.toml's `[tool.pytest.ini_options]`, written by the build)."""


def checkout() -> Path | None:
    """The repository (holding pyproject.toml, steps/, docs/) when the package runs from one (an editable install),
    else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "steps").is_dir() else None


def packaged_suite() -> Path | None:
    """The suite a wheel install carries (`ppconformance/suite/`, with its conftest.py and pytest.ini), or None."""
    path = Path(str(files("ppconformance"))) / "suite"
    return path if (path / "conftest.py").is_file() and (path / PACKAGED_CONFIG).is_file() else None


def suite_root() -> Path:
    """The folder holding the suite's conftest.py and `SUITE_DIRS`: the packaged suite, else the checkout.
    Raises `FileNotFoundError` when the installation has neither (a broken install)."""
    root = packaged_suite() or checkout()
    if root is None:
        raise FileNotFoundError(
            "the conformance suite is missing from this installation (no ppconformance/suite/ and no checkout): "
            "reinstall partner-program-conformance"
        )
    return root


def suite_config() -> Path:
    """The ini file the suite runs with: the packaged suite's pytest.ini, or the checkout's pyproject.toml."""
    packaged = packaged_suite()
    return packaged / PACKAGED_CONFIG if packaged is not None else suite_root() / "pyproject.toml"


def data_dir(name: str) -> Path:
    """The suite folder `name` (one of `SUITE_DIRS`). Raises `ValueError` for another name and `FileNotFoundError`
    when the installation lacks it."""
    if name not in SUITE_DIRS:
        raise ValueError(f"{name!r} is not a folder of the suite; one of {SUITE_DIRS}")
    path = suite_root() / name
    if not path.is_dir():
        raise FileNotFoundError(f"suite folder {path} is missing: reinstall partner-program-conformance")
    return path


def schemas_dir() -> Path:
    """`schemas/`: the contract schemas, the OpenAPI document, `meta/` and `events/`."""
    return data_dir("schemas")


def catalogue_dir() -> Path:
    """`catalogue/`: requirements.yaml and ambiguities.yaml."""
    return data_dir("catalogue")


def profiles_dir() -> Path:
    """`profiles/`: the embedded profile and the staging example."""
    return data_dir("profiles")


def features_dir() -> Path:
    """`features/`: the Gherkin scenarios."""
    return data_dir("features")


def steps_dir() -> Path:
    """`steps/`: the step definitions and the test modules (scenarios, fuzz stage)."""
    return data_dir("steps")
