"""Where things live by default. Every path can be overridden on the command line."""

from __future__ import annotations

import os
from pathlib import Path

#: The project root (the folder holding pyproject.toml) when run from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _root() -> Path:
    # Relative defaults resolve against the current directory when it looks like the
    # project (so `ta-outcomes` works from a checkout), else against the package's checkout.
    cwd = Path.cwd()
    return cwd if (cwd / "pyproject.toml").exists() else PROJECT_ROOT


DEFAULT_DB = Path(os.environ.get("TA_OUTCOMES_DB", "data/cases.duckdb"))
RAW_DIR = Path("data/raw")
REPORTS_DIR = Path("reports")


def reference_dir() -> Path:
    """The folder of user-editable taxonomies (categories.csv and friends)."""
    env = os.environ.get("TA_OUTCOMES_REFERENCE")
    return Path(env) if env else _root() / "data" / "reference"


def notebooks_dir() -> Path:
    """The folder of report notebooks."""
    return _root() / "notebooks"
