"""A run of the study: its identity (the name of its folder), where it lives, its fingerprint and whether its
result is current.

A run's *identity* (:func:`run_identity`) is what was asked for: the configuration (minus its name and run
mechanics) and the data it names. Its *fingerprint* (:func:`run_fingerprint`) is how its numbers were computed: the
code and data fingerprints of :mod:`vireid_lib.fingerprint` and, for a run whose backbone starts from a synthetic
pretraining (:mod:`vireid_lib.pretraining`), that pretraining's (:func:`pretraining_fingerprint`). A finished run
whose recorded fingerprint differs from today's is *stale* (:func:`run_staleness`). Its folder (:func:`run_path`) is
``results/runs/<profile>/<identity>/`` for the study's own runs, else a git-ignored scratch folder.

The engine (training) and the experiments (the registry, grids) both stand on this module; it imports neither.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import fingerprint as fp
from .config import ExperimentConfig
from .data import open_dataset
from .errors import CheckpointError
from .io import stable_hash
from .paths import results_dir, runs_dir, study_run


def data_fingerprint(cfg: ExperimentConfig) -> str:
    """The data a configuration asks for (part of its run identity): the synthetic spec, or, for real data, the
    dataset's kind and the names of its training files (not where it lies: a moved dataset, or the same dataset on
    each machine of a cluster, is the same data). What the files hold is checked by the run's fingerprint."""
    if cfg.data.is_synthetic:
        from .data.synthetic import spec_key

        key = spec_key(cfg.data.synthetic, cfg.data.dataset)
        key.pop("generator_version", None)  # the generator itself is in the run's fingerprint
        return stable_hash(key)
    ds = open_dataset(cfg.data, verbose=False)
    return stable_hash({"dataset": cfg.data.dataset, "train": [(x.name, x.paths) for x in ds.train_lists(cfg.data)]})


def run_identity(cfg: ExperimentConfig) -> str:
    """The hash that names a run: the configuration (minus its name and run mechanics) and the data it asks for.
    How its numbers were computed (code, data content) is its fingerprint (:mod:`vireid_lib.fingerprint`).
    Memoised for synthetic data (a function of the configuration alone; the tables ask for the same runs'
    identities thousands of times), by the configuration's ``repr``, not by equality: ``0`` and ``0.0`` are equal
    but written out differently, so they may name different runs. Real data's file names are listed each time."""
    if not cfg.data.is_synthetic:
        return _run_identity(cfg)
    key = repr(cfg)
    hit = _SYNTHETIC_IDENTITIES.get(key)
    if hit is None:
        hit = _SYNTHETIC_IDENTITIES[key] = _run_identity(cfg)
    return hit


_SYNTHETIC_IDENTITIES: dict[str, str] = {}


def _run_identity(cfg: ExperimentConfig) -> str:
    cfg_id = cfg.identity()
    if not cfg.data.is_synthetic:
        cfg_id["data"].pop("root")  # where the real data lie is not what they are
    return stable_hash({"config": cfg_id, "data": data_fingerprint(cfg)})


def read_final(path: Path) -> dict:
    """A finished run's ``final.json``, or a :class:`CheckpointError` naming it when it cannot be read."""
    try:
        d = json.loads(Path(path).read_text())
        if not isinstance(d, dict) or "results" not in d:
            raise ValueError("no 'results' entry")
        return d
    except (ValueError, OSError) as e:
        raise CheckpointError(f"{path} is not a readable run result ({type(e).__name__}: {str(e)[:200]}). Restore it "
                              f"(`git checkout -- {path}` for a committed run) or delete it to train the run "
                              f"again.") from None


def run_fingerprint(cfg: ExperimentConfig) -> dict:
    """Everything :func:`vireid_lib.fingerprint.staleness` compares for a run of ``cfg``: ``code`` (and
    ``code_alt``), ``train_data``, ``test_data`` (:func:`vireid_lib.fingerprint.fingerprint`) and, for a run that
    starts from a synthetic pretraining, ``pretraining`` (:func:`pretraining_fingerprint`)."""
    out = fp.fingerprint(cfg)
    pre = pretraining_fingerprint(cfg)
    return out if pre is None else {**out, "pretraining": pre}


def pretraining_fingerprint(cfg) -> dict | None:
    """What a run's numbers owe to the synthetic pretraining its backbone starts from (:mod:`vireid_lib.pretraining`),
    or ``None`` without one: the pretraining run's identity, its ``code``/``code_alt`` and ``train_data``
    fingerprints, and ``weights``, the sha256 recorded in its trained ``model.pt`` (``None`` while it has none).

    A change of the pretraining's code, data or configuration, or other weights in its place (deleted and trained
    again, e.g. on another CPU), makes every run that started from it stale (``"pretraining"``:
    :func:`vireid_lib.fingerprint.staleness`), although the run's own configuration and code did not change."""
    if not cfg.model.synthetic_pretrain_ids:
        return None
    from .pretraining import pretraining_config

    pre = pretraining_config(cfg)
    f = fp.fingerprint(pre)
    return {"identity": run_identity(pre), "code": f["code"], "code_alt": f["code_alt"],
            "train_data": f["train_data"], "weights": fp.weights_digest(run_path(pre) / "model.pt")}


def run_staleness(cfg: ExperimentConfig, run_dir: Path) -> str | None:
    """Why the finished run in ``run_dir`` no longer describes ``cfg`` with today's code and data ("code",
    "pretraining", "train data", "test data"), or ``None`` when it does (:func:`vireid_lib.fingerprint.staleness`)."""
    recorded = read_final(Path(run_dir) / "final.json").get("fingerprint")
    return fp.staleness(recorded, run_fingerprint(cfg))


def run_path(cfg: ExperimentConfig) -> Path:
    """The folder of ``cfg``'s run. The study's reproduction (``VIREID_STUDY_RUN``) keeps its runs in
    ``results/runs/<profile>/<identity>/``. Any other process (JupyterLab, papermill by hand, a script) reuses a
    committed run there while it is fresh (whatever a scratch folder holds: a learner's interrupted or stale run of
    the same configuration never hides the study's), and trains what is missing or stale in the git-ignored
    ``results/scratch/runs/<profile>/<identity>/`` instead: a learner's experiments never change the study's runs."""
    identity = run_identity(cfg)
    study = runs_dir() / cfg.profile / identity
    if study_run():
        return study
    if (study / "final.json").exists() and run_staleness(cfg, study) is None:
        return study
    return scratch_runs_dir() / cfg.profile / identity


def scratch_runs_dir() -> Path:
    """``results/scratch/runs/``: the git-ignored runs of everything but the study's own reproduction."""
    return results_dir() / "scratch" / "runs"
