"""Where things live. Every location can be moved with an environment variable (tests use temporary ones).

- ``VIREID_DATA_DIR`` (default ``<repo>/data``): generated synthetic datasets, preprocessing caches, and the
  default place to look for real SYSU-MM01 / RegDB copies.
- ``VIREID_RESULTS_DIR`` (default ``<repo>/results``): executed notebooks, figures, tables, runs.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("VIREID_DATA_DIR", REPO_ROOT / "data")).resolve()


def results_dir() -> Path:
    return Path(os.environ.get("VIREID_RESULTS_DIR", REPO_ROOT / "results")).resolve()


def cache_dir() -> Path:
    return data_dir() / "cache"


def synthetic_dir() -> Path:
    return data_dir() / "synthetic"


def figures_dir() -> Path:
    return results_dir() / "figures"


def tables_dir() -> Path:
    return results_dir() / "tables"


def runs_dir() -> Path:
    return results_dir() / "runs"


def shown(path: Path | str) -> str:
    """A path as notebooks print it: relative to the repository when inside it (no machine-specific prefix)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)
