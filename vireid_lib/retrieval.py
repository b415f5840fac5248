"""Retrieval results for pictures (paper Fig. 6), from the evaluation module's own ranking.

The gallery is the protocol's (SYSU-MM01 all-search, single-shot, trial ``trial``), the distances are those
:func:`~vireid_lib.evaluation.evaluate_sysu` uses, and the order and the camera rule are
:func:`~vireid_lib.evaluation.ranking`'s, so a picture and the metrics reported for the same model and
trial can never disagree (the metrics of this very ranking are returned with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import load_images, open_dataset
from .engine import extract_features
from .evaluation import distance, rank_metrics, sysu_gallery_trial, top_k


@dataclass
class Retrieval:
    query_images: np.ndarray  # (Q, H, W, 3) uint8 of the shown queries
    query_pids: np.ndarray
    query_cams: np.ndarray
    gallery_images: np.ndarray  # the trial's whole gallery
    gallery_pids: np.ndarray
    gallery_cams: np.ndarray
    top: list[np.ndarray]  # per shown query: gallery indices in rank order (camera rule applied)
    dist: list[np.ndarray]  # their distances
    metrics: dict  # rank-1, mAP, ... of this ranking over *all* queries of the trial

    def correct(self, q: int) -> np.ndarray:
        return self.gallery_pids[self.top[q]] == self.query_pids[q]


def choose_queries(cfg, n_chosen: int = 3, n_random: int = 3, seed: int = 0) -> np.ndarray:
    """Query indices: ``n_chosen`` fixed ones (the first query of evenly spaced test identities, half from each
    infrared camera) and ``n_random`` drawn with ``seed``."""
    q = open_dataset(cfg.data, verbose=False).query()
    ids = np.unique(q.pids)
    chosen = [int(np.flatnonzero(q.pids == ids[j])[0]) for j in np.linspace(0, len(ids) - 1, n_chosen).astype(int)]
    rest = np.setdiff1d(np.arange(len(q)), chosen)
    rnd = np.random.default_rng(seed).choice(rest, min(n_random, len(rest)), replace=False)
    return np.array(chosen + sorted(int(i) for i in rnd))


def retrieve(model, cfg, queries: np.ndarray, trial: int = 0, k: int = 10, device="cpu") -> Retrieval:
    """Top-``k`` of the protocol's gallery for the given query indices, with the model's test embedding."""
    ds = open_dataset(cfg.data, verbose=False)
    h, w = cfg.data.height, cfg.data.width
    query, cand = ds.query(), ds.gallery_candidates(cfg.data.sysu_mode)
    idx = sysu_gallery_trial(cand, trial, cfg.data.sysu_shots)
    gallery = cand.subset(idx)
    q_img, g_img = np.asarray(load_images(query, h, w)), np.asarray(load_images(cand, h, w))[idx]
    qf = extract_features(model, q_img, "infrared", device)
    gf = extract_features(model, g_img, "visible", device)
    d = distance(qf, gf)
    metrics = rank_metrics(d, query.pids, gallery.pids, query.cams, gallery.cams).summary()
    tops = top_k(d[queries], query.cams[queries], gallery.cams, k)
    return Retrieval(q_img[queries], query.pids[queries], query.cams[queries], g_img, gallery.pids, gallery.cams,
                     tops, [d[q, t] for q, t in zip(queries, tops, strict=True)], metrics)
