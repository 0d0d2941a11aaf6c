"""Where the suite's data lives: `schemas/`, `catalogue/`, `profiles/` and `features/` of the repository.

They are package data of `ppconformance`: `src/ppconformance/_data/` holds one symlink per folder to the
repository's top-level folder (the one copy there is), so an editable install reads the checkout and a
built wheel carries copies (setuptools follows the links), both through `importlib.resources`.
`checkout()` is the repository itself, for what only a checkout has (`steps/`, `pyproject.toml`, `docs/`,
`reports/`); it is None in a wheel install.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["DATA_DIRS", "catalogue_dir", "checkout", "data_dir", "features_dir", "profiles_dir", "schemas_dir"]

DATA_DIRS = ("schemas", "catalogue", "profiles", "features")
"""The repository folders shipped as package data (`ppconformance/_data/<name>`)."""


def data_dir(name: str) -> Path:
    """The folder `name` (one of `DATA_DIRS`) as a filesystem path. Raises `ValueError` for another name and
    `FileNotFoundError` when the installation lacks it (a broken install)."""
    if name not in DATA_DIRS:
        raise ValueError(f"{name!r} is not package data; one of {DATA_DIRS}")
    path = Path(str(files("ppconformance") / "_data" / name)).resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"package data folder {path} is missing: reinstall partner-program-conformance")
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


def checkout() -> Path | None:
    """The repository (holding pyproject.toml, steps/, docs/, reports/) when the package runs from one (an
    editable install), else None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "steps").is_dir() else None
