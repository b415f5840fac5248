"""Retrieval results for pictures (paper Fig. 6), from the evaluation module's own ranking.

The gallery is the protocol's (SYSU-MM01 all-search, single-shot, trial ``trial``), the distances are those
:func:`~vireid_lib.evaluation.evaluate_sysu` uses, and the order and the camera rule are
:func:`~vireid_lib.evaluation.ranking`'s, so a picture and the metrics reported for the same model and
trial can never disagree (the metrics of this very ranking are returned with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    distmat: np.ndarray | None = None  # (Q, G) distances of the shown queries to the whole gallery

    def subset(self, queries) -> Retrieval:
        """The same retrieval for some of its queries (positions among this one's queries)."""
        qs = np.atleast_1d(np.asarray(queries, dtype=np.int64))
        return Retrieval(self.query_images[qs], self.query_pids[qs], self.query_cams[qs], self.gallery_images,
                         self.gallery_pids, self.gallery_cams, [self.top[q] for q in qs], [self.dist[q] for q in qs],
                         self.metrics, None if self.distmat is None else self.distmat[qs])

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
                     tops, [d[q, t] for q, t in zip(queries, tops, strict=True)], metrics, d[queries])


def all_queries(cfg) -> np.ndarray:
    """The indices of every query of the protocol (for :func:`retrieve`: every ranking, e.g. for a query picker)."""
    return np.arange(len(open_dataset(cfg.data, verbose=False).query()))


def outcomes(results: dict[str, Retrieval]) -> pd.DataFrame:
    """Per query (rows) of retrievals over the same queries (with their distance matrices): its camera and
    identity and, for each model, whether the first result is right (``<label> right``), the rank of the first
    right result under the protocol's ranking (``<label> first match``) and the camera of the first result
    (``<label> top cam``). What the query picker and the comparison of two models' mistakes read."""
    from .evaluation import ranking

    first = next(iter(results.values()))
    out = pd.DataFrame({"query": np.arange(len(first.query_pids)), "cam": first.query_cams, "id": first.query_pids})
    for label, r in results.items():
        if r.distmat is None:
            raise ValueError(f"outcomes needs the distance matrix of {label!r}: a Retrieval from retrieve()")
        order, keep = ranking(r.distmat, r.query_cams, r.gallery_cams)
        ranks = []
        for o, kp, pid in zip(order, keep, r.query_pids, strict=True):
            hit = np.flatnonzero(r.gallery_pids[o[kp]] == pid)
            ranks.append(int(hit[0]) + 1 if len(hit) else 0)
        out[f"{label} first match"] = ranks
        out[f"{label} right"] = out[f"{label} first match"] == 1
        out[f"{label} top cam"] = [int(r.gallery_cams[t[0]]) if len(t) else 0 for t in r.top]
    return out


def agreement(outcome: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """How two models' rank-1 outcomes over the same queries combine: both right, only ``a``, only ``b``, both wrong
    (counts and % of the queries), and where the right person was ranked by each when the model was wrong (median
    rank of its first right result). Only queries whose person is in the gallery (after the camera rule) count:
    the protocol's metrics leave the others out too."""
    outcome = outcome[(outcome[f"{a} first match"] > 0) & (outcome[f"{b} first match"] > 0)]
    ra, rb = outcome[f"{a} right"], outcome[f"{b} right"]
    cases = {"both right": ra & rb, f"only {a} right": ra & ~rb, f"only {b} right": ~ra & rb,
             "both wrong": ~ra & ~rb}
    rows = []
    for name, sel in cases.items():
        row = {"rank-1 outcome": name, "queries": int(sel.sum()), "% of queries": 100 * float(sel.mean())}
        for m in (a, b):
            wrong = sel & ~outcome[f"{m} right"]
            fm = outcome.loc[wrong & (outcome[f"{m} first match"] > 0), f"{m} first match"]
            row[f"{m}: median rank of the right person"] = float(fm.median()) if len(fm) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def camera_rule_effect(results: dict[str, Retrieval]) -> pd.DataFrame:
    """What SYSU-MM01's camera rule removes (camera-2 gallery images for camera-3 queries: the two cameras film the
    same room), per model over all queries of retrievals with their distance matrices: how many camera-3 queries,
    how many gallery images each loses and how many of those show the query's own person, and rank-1 and mAP with
    the rule (the protocol) and without it."""
    rows = []
    for label, r in results.items():
        cam3 = r.query_cams == 3
        removed = r.gallery_cams == 2
        same = (r.gallery_pids[None, :] == r.query_pids[cam3][:, None]) & removed[None, :]
        kw = dict(q_pids=r.query_pids, g_pids=r.gallery_pids, q_cams=r.query_cams, g_cams=r.gallery_cams)
        with_rule = rank_metrics(r.distmat, **kw).summary()
        without = rank_metrics(r.distmat, **kw, sysu_camera_rule=False).summary()
        rows.append({"model": label, "camera-3 queries": int(cam3.sum()), "of all queries": len(r.query_cams),
                     "gallery images removed per camera-3 query": int(removed.sum()),
                     "of them the query's own person (mean)": float(same.sum(1).mean()) if cam3.any() else 0.0,
                     "R1 with the rule": with_rule["R1"], "R1 without": without["R1"],
                     "mAP with the rule": with_rule["mAP"], "mAP without": without["mAP"]})
    return pd.DataFrame(rows)
