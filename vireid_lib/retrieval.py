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
from .data.sysu import INFRARED_CAMS
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

    def hits_at_1(self) -> int:
        """How many of the shown queries have the right identity first."""
        return int(sum(bool(self.correct(q)[:1].any()) for q in range(len(self.top))))


def metrics_vs_recorded(results: dict[str, Retrieval], cfgs: dict, trial: int):
    """Per model: rank-1 and mAP of the drawn ranking beside those its run recorded for the same gallery trial
    (``final.json``, written by the evaluation protocol): they agree when the picture is the protocol's."""
    import pandas as pd

    from .experiments import load_result

    rows = []
    for label, r in results.items():
        recorded = next(v for k, v in load_result(cfgs[label])["results"].items()
                        if "all-search" in k)["per_trial"][trial]
        rows.append({"model": label, "R1 (this ranking)": r.metrics["R1"], "R1 (recorded)": recorded["R1"],
                     "mAP (this ranking)": r.metrics["mAP"], "mAP (recorded)": recorded["mAP"]})
    return pd.DataFrame(rows)


def choose_queries(cfg, n_chosen: int = 3, n_random: int = 3, seed: int = 0) -> np.ndarray:
    """Query indices: ``n_chosen`` fixed ones (a query of evenly spaced test identities, from cameras 3 and 6 in
    turn) and ``n_random`` drawn with ``seed``."""
    q = open_dataset(cfg.data, verbose=False).query()
    ids = np.unique(q.pids)
    chosen = []
    for n, j in enumerate(np.linspace(0, len(ids) - 1, n_chosen).astype(int)):
        mine = np.flatnonzero(q.pids == ids[j])
        cam = INFRARED_CAMS[n % len(INFRARED_CAMS)]  # alternate cameras 3 and 6 (when the identity has both)
        in_cam = mine[q.cams[mine] == cam]
        chosen.append(int(in_cam[0] if len(in_cam) else mine[0]))
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
