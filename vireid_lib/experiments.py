"""The run registry: an experiment is a config; its folder is named by the hash of that config.

``results/runs/<profile>/<identity>/`` holds ``config.json``, ``metrics.jsonl`` and, once finished,
``final.json`` (committed: readers see every number's run) and ``model.pt`` / ``checkpoint.pt`` (git-ignored).
The identity hashes everything that changes the result (config without its name and run mechanics, the
data's fingerprint, the training code's version): a finished run is never trained again, an unfinished one
resumes, and two table rows with the same settings share one run.
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import ExperimentConfig
from .engine import load_model, run_identity, train
from .paths import runs_dir


def run_path(cfg: ExperimentConfig) -> Path:
    return runs_dir() / cfg.profile / run_identity(cfg)


def is_finished(cfg: ExperimentConfig) -> bool:
    return (run_path(cfg) / "final.json").exists()


def run(cfg: ExperimentConfig, progress_bar: bool = True, log: bool = True) -> dict:
    """Train the run of ``cfg`` (or resume it, or return its finished result): its ``final.json`` content."""
    return train(cfg, run_path(cfg), progress_bar=progress_bar, log=log)


def load_result(cfg: ExperimentConfig) -> dict | None:
    path = run_path(cfg) / "final.json"
    return json.loads(path.read_text()) if path.exists() else None


def trained_model(cfg: ExperimentConfig, device="cpu", progress_bar: bool = True):
    """The trained model of ``cfg``'s run, training it first if it is missing (e.g. on a fresh clone, where
    only the run's summary is committed)."""
    path = run_path(cfg)
    if not (path / "model.pt").exists():
        if (path / "final.json").exists():  # summary committed, weights not: train again in a scratch folder
            scratch = path / "retrain"
            train(cfg, scratch, progress_bar=progress_bar)
            (scratch / "model.pt").replace(path / "model.pt")
        else:
            run(cfg, progress_bar=progress_bar)
    return load_model(cfg, path, device)
