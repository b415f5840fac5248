"""Data: the embedded synthetic dataset, SYSU-MM01 and RegDB readers, the preprocessing cache, the sampler.

:func:`open_dataset` is the one entry point from a config: it generates the synthetic dataset when the
config names no real root, and returns the reader for the dataset's layout.
"""

from __future__ import annotations

from pathlib import Path

from ..config import DataConfig
from .cache import load_images, load_sample
from .common import ImageList, read_image
from .regdb import RegDB
from .sampler import IdentitySampler
from .synthetic import ensure_synthetic
from .sysu import SYSUMM01


def dataset_root(cfg: DataConfig, verbose: bool = True) -> Path:
    """The folder the config's dataset lives in, generating the synthetic one if needed."""
    if cfg.root is not None:
        return Path(cfg.root).expanduser()
    return ensure_synthetic(cfg.synthetic, cfg.dataset, verbose=verbose)


def open_dataset(cfg: DataConfig, verbose: bool = True) -> SYSUMM01 | RegDB:
    """The reader (:class:`SYSUMM01` or :class:`RegDB`) for the config's dataset."""
    root = dataset_root(cfg, verbose)
    return SYSUMM01(root, holdout=cfg.holdout) if cfg.dataset == "sysu" else RegDB(root)


__all__ = ["ImageList", "IdentitySampler", "RegDB", "SYSUMM01", "dataset_root", "ensure_synthetic",
           "load_images", "load_sample", "open_dataset", "read_image"]
