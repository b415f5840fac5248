"""Where things live. Every location can be moved with an environment variable (tests use temporary ones).

- ``VIREID_DATA_DIR`` (default ``<repo>/data``): generated synthetic datasets, preprocessing caches, and the
  default place to look for real SYSU-MM01 / RegDB copies.
- ``VIREID_RESULTS_DIR`` (default ``<repo>/results``): executed notebooks, figures, tables, runs.

The study's results belong to its reproduction. Figures and tables go to :func:`outputs_dir`: ``results/`` only
in the kernels of the study's own run, for which the reproduce runner sets ``VIREID_STUDY_RUN=1``
(:func:`vireid_lib.notebooks.is_study`); in any other run (JupyterLab, a direct papermill or nbconvert call, the
runner with another profile or parameters) to the git-ignored ``results/scratch/<profile>/``. Finished training
runs are shared: ``results/runs/`` in every case (a run's folder is named by its content, so reusing one is safe).
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


STUDY_RUN_ENV = "VIREID_STUDY_RUN"  # "1": this process is the study's reproduction (set by the runner only)
_provenance: dict[str, str] = {}  # what this process's figures and tables are made with (set_provenance)


def study_run() -> bool:
    return os.environ.get(STUDY_RUN_ENV) == "1"


def scratch_dir(profile: str) -> Path:
    """The git-ignored outputs of runs that are not the study's own: ``results/scratch/<profile>/``."""
    return results_dir() / "scratch" / profile


def outputs_dir() -> Path:
    """Where this process writes figures and tables: ``results/`` in the study's reproduction, else the scratch
    folder of the profile the notebook runs (``no-profile`` before a notebook's :func:`set_provenance`)."""
    return results_dir() if study_run() else scratch_dir(_provenance.get("profile", "no-profile"))


def figures_dir() -> Path:
    return outputs_dir() / "figures"


def tables_dir() -> Path:
    return outputs_dir() / "tables"


def set_provenance(**fields: str) -> None:
    """Record what this process's figures and tables are made with (``notebook``, ``profile``, ``data``):
    :func:`vireid_lib.notebooks.start` calls it, ``viz.savefig`` and ``tables.save_table`` write it."""
    _provenance.clear()
    _provenance.update(fields)


def provenance() -> dict[str, str]:
    return dict(_provenance)


def runs_dir() -> Path:
    return results_dir() / "runs"


def shown(path: Path | str) -> str:
    """A path as notebooks print it: relative to the repository when inside it (no machine-specific prefix)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)
