"""Evaluation exactly as the VI-ReID literature does it: SYSU-MM01 and RegDB protocols; CMC, mAP, mINP.

Metrics (AGW ``eval_metrics.py``; Ye et al., TPAMI 2021 for mINP)
-----------------------------------------------------------------
For each query the gallery is ranked by ascending distance; ties are broken by gallery order (a stable
sort; the reference's ``np.argsort`` leaves tie order unspecified).

- SYSU-MM01 camera rule: for a query from camera 3, every gallery image from camera 2 is removed, whatever
  its identity (cameras 2 and 3 film the same room). RegDB removes nothing.
- CMC: rank-k accuracy = fraction of valid queries whose first correct match is within the top k. On
  SYSU-MM01 each identity counts once in the ranking (only its best-ranked image: the reference's
  ``new_cmc`` / the official MATLAB ``unique(..., 'stable')``); on RegDB every image counts.
- AP = mean over the positives j (1-based, in ranked order) of j / rank_j; mAP its mean over valid queries.
- INP = #positives / rank of the last positive; mINP its mean over valid queries.
- A query is valid when at least one positive survives the camera rule; invalid queries are left out of
  every average (the reference adds zeros to the CMC sum and divides by the valid count: the same number).

Everything is vectorised over queries with numpy: the 10-trial SYSU protocol costs milliseconds.

Protocols
---------
- SYSU-MM01 (:func:`evaluate_sysu`): queries are all infrared images (cameras 3, 6) of the test ids; each
  of ``trials`` trials samples a gallery from the visible images of cameras 1, 2, 4, 5 (all-search) or 1, 2
  (indoor-search): for each id (ascending) and each camera (in that order) where the id appears, one image
  (single-shot) or up to 10 (multi-shot), drawn with Python's ``random`` seeded by the trial number, as AGW's
  ``process_gallery_sysu`` does (so the same galleries as the reference code on the real data). The official
  MATLAB code instead reads fixed permutations from ``rand_perm_cam.mat``, which gives slightly different
  galleries; we use and state the AGW-seeded sampler. Results are the mean (and std) over trials.
- RegDB (:func:`evaluate_regdb`): visible→thermal (queries visible, gallery thermal) or thermal→visible,
  per split; the paper's number is the mean over the 10 splits, each with its own model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from .data.common import ImageList

RANKS = (1, 5, 10, 20)


@dataclass
class Metrics:
    """Retrieval metrics of one evaluation, as fractions in [0, 1] (``summary()`` gives percentages)."""

    cmc: np.ndarray  # (max_rank,) rank-k accuracy for k = 1..max_rank
    mAP: float
    mINP: float
    num_valid: int
    num_queries: int

    def summary(self) -> dict[str, float]:
        out = {f"R{k}": 100.0 * float(self.cmc[k - 1]) for k in RANKS if k <= len(self.cmc)}
        out.update(mAP=100.0 * self.mAP, mINP=100.0 * self.mINP)
        return out


@dataclass
class ProtocolResult:
    """Metrics of each trial, their mean and standard deviation (in percent), and what produced them."""

    trials: list[Metrics]
    protocol: str
    info: dict = field(default_factory=dict)

    @property
    def mean(self) -> dict[str, float]:
        keys = self.trials[0].summary().keys()
        return {k: float(np.mean([t.summary()[k] for t in self.trials])) for k in keys}

    @property
    def std(self) -> dict[str, float]:
        keys = self.trials[0].summary().keys()
        return {k: float(np.std([t.summary()[k] for t in self.trials])) for k in keys}

    @property
    def cmc(self) -> np.ndarray:
        return np.mean([t.cmc for t in self.trials], axis=0)

    def to_dict(self) -> dict:
        return {"protocol": self.protocol, "mean": self.mean, "std": self.std, "num_trials": len(self.trials),
                "cmc": self.cmc.tolist(), "per_trial": [t.summary() for t in self.trials], **self.info}


def ranking(distmat: np.ndarray, q_cams: np.ndarray, g_cams: np.ndarray, sysu_camera_rule: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """The ranking every metric and every retrieval picture uses: gallery indices by ascending distance (stable:
    ties in gallery order), and which of them the camera rule keeps. Both (num_query, num_gallery)."""
    order = np.argsort(np.asarray(distmat), axis=1, kind="stable")
    keep = np.ones(order.shape, bool)
    if sysu_camera_rule:
        keep &= ~((np.asarray(q_cams)[:, None] == 3) & (np.asarray(g_cams)[order] == 2))
    return order, keep


def top_k(distmat: np.ndarray, q_cams: np.ndarray, g_cams: np.ndarray, k: int = 10,
          sysu_camera_rule: bool = True) -> list[np.ndarray]:
    """For each query, the first ``k`` gallery indices of :func:`ranking` that the camera rule keeps."""
    order, keep = ranking(distmat, q_cams, g_cams, sysu_camera_rule)
    return [o[kp][:k] for o, kp in zip(order, keep, strict=True)]


def rank_metrics(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray, q_cams: np.ndarray,
                 g_cams: np.ndarray, max_rank: int = 20, sysu_camera_rule: bool = True,
                 unique_ids: bool = True) -> Metrics:
    """CMC, mAP and mINP of a (num_query, num_gallery) distance matrix (smaller = more similar).

    ``sysu_camera_rule``: drop camera-2 gallery entries for camera-3 queries. ``unique_ids``: CMC counts each
    identity once (SYSU-MM01); ``False`` gives the plain CMC (RegDB). mAP and mINP always use every image.
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    q_cams, g_cams = np.asarray(q_cams), np.asarray(g_cams)
    nq, ng = distmat.shape
    if len(q_pids) != nq or len(g_pids) != ng or len(q_cams) != nq or len(g_cams) != ng:
        raise ValueError(
            f"distmat {distmat.shape} does not match {len(q_pids)} queries and {len(g_pids)} gallery images"
        )
    order, keep = ranking(distmat, q_cams, g_cams, sysu_camera_rule)
    gp = g_pids[order]
    match = (gp == q_pids[:, None]) & keep
    n_pos = match.sum(1)
    valid = n_pos > 0
    nv = int(valid.sum())
    if nv == 0:
        return Metrics(np.zeros(max_rank), 0.0, 0.0, 0, nq)
    rank_kept = np.cumsum(keep, axis=1)  # 1-based rank among the kept entries
    hits = np.cumsum(match, axis=1)
    ap = np.where(match, hits / np.maximum(rank_kept, 1), 0.0).sum(1)[valid] / n_pos[valid]
    last = np.where(match, rank_kept, 0).max(1)[valid]
    inp = n_pos[valid] / last
    first = np.argmax(match, axis=1)  # position of the first positive (valid rows)
    if unique_ids:
        # rank of the true identity among identities ordered by their best kept position
        uniq, inv = np.unique(g_pids, return_inverse=True)
        pid_idx = inv[order]  # (nq, ng)
        pos = np.where(keep, np.arange(ng)[None, :], ng)
        first_of = np.full((nq, len(uniq)), ng)
        np.minimum.at(first_of, (np.repeat(np.arange(nq), ng), pid_idx.ravel()), pos.ravel())
        rank = (first_of < first[:, None]).sum(1) + 1
    else:
        rank = rank_kept[np.arange(nq), first]
    rank = rank[valid]
    cmc = (rank[None, :] <= np.arange(1, max_rank + 1)[:, None]).mean(1)
    return Metrics(cmc=cmc, mAP=float(ap.mean()), mINP=float(inp.mean()), num_valid=nv, num_queries=nq)


def distance(query: np.ndarray, gallery: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Distance matrix: ``cosine`` = −q·g of L2-normalised features (AGW's ``-np.matmul``), or ``euclidean``."""
    q = np.asarray(query, np.float32)
    g = np.asarray(gallery, np.float32)
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        return -(q @ g.T)
    if metric == "euclidean":
        d2 = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2 * q @ g.T
        return np.sqrt(np.maximum(d2, 0))
    raise ValueError(f"unknown metric {metric!r}: use 'cosine' or 'euclidean'")


def sysu_gallery_trial(gallery: ImageList, trial: int, shots: int = 1) -> np.ndarray:
    """Indices into ``gallery`` (the candidates of one search mode) of trial ``trial``'s gallery.

    AGW's ``process_gallery_sysu``: ``random.seed(trial)``, then for each id (ascending) and camera (in the
    mode's order) where it appears, ``random.choice`` among its sorted files (single-shot), or, for
    multi-shot, ``random.sample`` of min(10, n) of them. ``gallery`` must be ordered by (id, camera, file), as
    :meth:`SYSUMM01.gallery_candidates` returns it.
    """
    rng = random.Random(trial)
    keys = list(zip(gallery.pids.tolist(), gallery.cams.tolist(), strict=True))
    groups: list[list[int]] = []
    for i, k in enumerate(keys):
        if i == 0 or k != keys[i - 1]:
            groups.append([])
        groups[-1].append(i)
    chosen: list[int] = []
    for g in groups:
        if shots == 1:
            chosen.append(rng.choice(g))
        else:
            chosen.extend(sorted(rng.sample(g, min(shots, len(g)))))
    return np.array(chosen, np.int64)


def evaluate_sysu(query_feats: np.ndarray, gallery_feats: np.ndarray, query: ImageList, gallery: ImageList,
                  mode: str = "all", shots: int = 1, trials: int = 10, metric: str = "cosine") -> ProtocolResult:
    """The SYSU-MM01 protocol on extracted features.

    ``gallery``/``gallery_feats`` are *all* candidates of the mode (:meth:`SYSUMM01.gallery_candidates`);
    features are extracted once and each trial picks its gallery from them.
    """
    if len(query_feats) != len(query) or len(gallery_feats) != len(gallery):
        raise ValueError(f"features and image lists differ in length: {len(query_feats)} query features for "
                         f"{len(query)} images, {len(gallery_feats)} gallery features for {len(gallery)} images")
    d_all = distance(query_feats, gallery_feats, metric)
    results = []
    sizes = []
    for t in range(trials):
        idx = sysu_gallery_trial(gallery, t, shots)
        sizes.append(len(idx))
        results.append(rank_metrics(d_all[:, idx], query.pids, gallery.pids[idx], query.cams, gallery.cams[idx],
                                    sysu_camera_rule=True, unique_ids=True))
    info = {"mode": mode, "shots": shots, "num_query": len(query), "gallery_sizes": sizes,
            "chance_R1": 100.0 / len(np.unique(gallery.pids)),
            "gallery_sampler": "AGW-seeded (random.seed(trial))", "metric": metric}
    return ProtocolResult(results, f"SYSU-MM01 {mode}-search {'single' if shots == 1 else 'multi'}-shot", info)


def evaluate_regdb(visible_feats: np.ndarray, thermal_feats: np.ndarray, visible: ImageList, thermal: ImageList,
                   direction: str = "v2t", metric: str = "cosine") -> Metrics:
    """RegDB, one split: ``v2t`` queries visible images against the thermal gallery, ``t2v`` the reverse."""
    if direction == "v2t":
        q, g, qf, gf = visible, thermal, visible_feats, thermal_feats
    elif direction == "t2v":
        q, g, qf, gf = thermal, visible, thermal_feats, visible_feats
    else:
        raise ValueError(f"unknown RegDB direction {direction!r}: use 'v2t' or 't2v'")
    return rank_metrics(distance(qf, gf, metric), q.pids, g.pids, q.cams, g.cams,
                        sysu_camera_rule=False, unique_ids=False)


# ---------------------------------------------------------------------------------------------------------
# Each dataset's protocol, run on a model's embeddings
# ---------------------------------------------------------------------------------------------------------
def _sysu_protocol(ds, embed, data_cfg, modes) -> dict[str, dict]:
    """SYSU-MM01: all-search (and indoor-search) single- or multi-shot, ``data_cfg.trials`` gallery trials."""
    from .data.sysu import GALLERY_CAMS

    query, cand = ds.test_lists(data_cfg)
    qf, gf = embed(query), embed(cand)
    out = {}
    for mode in modes or ("all", "indoor"):
        idx = np.flatnonzero(np.isin(cand.cams, GALLERY_CAMS[mode])) if mode == "indoor" else np.arange(len(cand))
        res = evaluate_sysu(qf, gf[idx], query, cand.subset(idx), mode=mode, shots=data_cfg.sysu_shots,
                            trials=data_cfg.trials)
        out[res.protocol] = res.to_dict()
    return out


def _regdb_protocol(ds, embed, data_cfg, modes) -> dict[str, dict]:
    """RegDB, the configured split: visible→thermal and thermal→visible (one split: no spread over trials)."""
    tv, tt = ds.test_lists(data_cfg)
    fv, ft = embed(tv), embed(tt)
    out = {}
    for direction, name, gallery in (("v2t", "visible-to-thermal", tt), ("t2v", "thermal-to-visible", tv)):
        m = evaluate_regdb(fv, ft, tv, tt, direction)
        res = ProtocolResult([m], f"RegDB {name}", {"split": data_cfg.regdb_trial,
                                                    "chance_R1": 100.0 / len(np.unique(gallery.pids))})
        out[res.protocol] = res.to_dict()
    return out


#: each dataset reader names its protocol (``PROTOCOL``); a new dataset adds its own here
PROTOCOLS = {"sysu": _sysu_protocol, "regdb": _regdb_protocol}


def evaluate_dataset(ds, embed, data_cfg, modes: tuple[str, ...] | None = None) -> dict[str, dict]:
    """The protocol the dataset reader ``ds`` declares, on the embeddings ``embed(image_list)`` returns (one row per
    image, in list order). ``modes``: SYSU-MM01's search modes (default all and indoor). Returns
    ``{protocol name: result dict}`` (means and stds in percent)."""
    name = getattr(ds, "PROTOCOL", None)
    if name not in PROTOCOLS:
        raise ValueError(f"{type(ds).__name__} declares no known evaluation protocol (PROTOCOL = {name!r}); "
                         f"known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name](ds, embed, data_cfg, modes)


__all__ = ["Metrics", "ProtocolResult", "ranking", "top_k", "rank_metrics", "distance", "sysu_gallery_trial",
           "evaluate_sysu", "evaluate_regdb", "evaluate_dataset", "PROTOCOLS", "RANKS"]
