"""A stand-in for ImageNet weights on synthetic data: a backbone pretrained on a larger, disjoint synthetic world.

The paper (and AGW, CAJ) start from ImageNet weights; the cpu profile trains a small network from scratch. On
synthetic SYSU-MM01 that learns; on synthetic RegDB, 206 training identities × 10 frames of one walk are too few:
from scratch the baseline reaches 3.8× chance, and it does not align the two modalities even on its own training
identities (data/README.md, *What a deep model makes of it*). What stands in for the missing data on the real
RegDB is ImageNet. Here it is a network trained first on another synthetic RegDB world, of
``model.synthetic_pretrain_ids`` identities (the next world seed: other people, other places; the identities of
its split 1 are trained on, half of them), whose backbone then initialises every RegDB run, as ImageNet weights
would (the heads start at random; the backbone trains at the full learning rate, which measured better than the
tenth that the paper's recipe gives ImageNet layers: data/README.md).

One pretraining per profile and world, as one set of ImageNet weights: Table 1's Baseline, seed 0. It is a run of
the study like any other (resumable, fingerprinted, its folder under ``results/runs/``); its weights are committed
with the showcased ones (:func:`vireid_lib.experiments.showcased_runs`), so that a RegDB run retrained on another
machine starts from the same backbone. A run records the pretraining run it started from (``final.json``:
``pretrained_from``), and its fingerprint includes the pretraining's (identity, code, training data and the sha256
of its weights: :func:`vireid_lib.runs.pretraining_fingerprint`), so that a changed pretraining makes every
run that started from it stale.
"""

from __future__ import annotations

import dataclasses

from .config import ExperimentConfig, data_config, experiment_config

#: the pretraining world's seed, relative to the study's world (seed + 1: other people, other places)
WORLD_OFFSET = 1


def pretraining_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """The run whose trained backbone initialises ``cfg``'s: Table 1's Baseline (seed 0) of ``cfg``'s profile and
    backbone architecture, on a synthetic RegDB world of ``cfg.model.synthetic_pretrain_ids`` identities, generated
    with ``cfg``'s synthetic parameters (the profile's when ``cfg`` is on real data) and the next seed."""
    from .grids import rows

    n = cfg.model.synthetic_pretrain_ids
    if not n:
        raise ValueError(f"{cfg.name} has no synthetic pretraining (model.synthetic_pretrain_ids = 0)")
    spec = cfg.data.synthetic if cfg.data.is_synthetic else data_config(cfg.profile, resolve_root=False).synthetic
    baseline = rows("table1")[0]
    pre = experiment_config(cfg.profile, name=f"Pretraining: synthetic RegDB, {n} ids", seed=0, **{
        **baseline.overrides, "data.dataset": "regdb", "data.regdb_trial": 1, "train.eval_every": 0,
        "model.synthetic_pretrain_ids": 0, "model.pretrained": False, "model.depth": cfg.model.depth,
        "model.width": cfg.model.width})
    world = dataclasses.replace(spec, seed=spec.seed + WORLD_OFFSET, regdb_ids=n)
    pre = dataclasses.replace(pre, data=dataclasses.replace(pre.data, root=None, synthetic=world))
    pre.validate()
    return pre
