"""Hand-crafted features, to measure the modality gap before any learning (notebook 01).

Raw pixels and colour histograms retrieve the same person well *within* a modality, across cameras, and
fail *across* modalities: a garment's infrared brightness does not follow its colour. Scored with the same
protocol code as the learned models (:mod:`vireid_lib.evaluation`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data.cache import load_images
from .data.common import ImageList
from .data.sysu import SYSUMM01
from .evaluation import distance, rank_metrics, sysu_gallery_trial


def raw_pixels(images: np.ndarray, grid: tuple[int, int] = (16, 8)) -> np.ndarray:
    """Block-averaged pixels on a ``grid`` (rows, cols): a tiny, blur-tolerant image descriptor."""
    n, H, W, C = images.shape
    gh, gw = grid
    x = images[:, : H // gh * gh, : W // gw * gw].astype(np.float32)
    return x.reshape(n, gh, H // gh, gw, W // gw, C).mean((2, 4)).reshape(n, -1)


def colour_histogram(images: np.ndarray, bins: int = 4) -> np.ndarray:
    """Joint RGB histogram (``bins``³ cells) of the central half of the image, where the person is."""
    n, H, W, _ = images.shape
    c = images[:, H // 8 : H - H // 8, W // 4 : W - W // 4].astype(np.int64) * bins // 256
    code = (c[..., 0] * bins + c[..., 1]) * bins + c[..., 2]
    h = np.stack([np.bincount(k.ravel(), minlength=bins**3) for k in code]).astype(np.float32)
    return np.sqrt(h / h.sum(1, keepdims=True))  # Hellinger: cosine on square roots


FEATURES = {"raw pixels": (raw_pixels, "euclidean"), "colour histogram": (colour_histogram, "cosine")}


def _score(qf, gf, q: ImageList, g: ImageList, trials: int, metric: str, camera_rule: bool) -> dict[str, float]:
    d = distance(qf, gf, metric)
    rows, chance = [], []
    for t in range(trials):
        idx = sysu_gallery_trial(g, t, shots=1)
        m = rank_metrics(d[:, idx], q.pids, g.pids[idx], q.cams, g.cams[idx], sysu_camera_rule=camera_rule)
        rows.append(m.summary())
        chance.append(100.0 / len(np.unique(g.pids[idx])))
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("R1", "R10", "mAP")}
    out["chance R1"] = float(np.mean(chance))
    return out


def modality_gap(ds: SYSUMM01, height: int, width: int, trials: int = 10) -> pd.DataFrame:
    """Retrieval of test identities with hand-crafted features in three settings:

    - visible → visible: queries from cameras 1, 2, single-shot gallery from cameras 4, 5;
    - infrared → infrared: queries from camera 3, single-shot gallery from camera 6;
    - infrared → visible: the SYSU-MM01 all-search protocol itself.
    """
    query, cand = ds.query(), ds.gallery_candidates("all")
    q_img, g_img = load_images(query, height, width), load_images(cand, height, width)
    settings = {
        "visible → visible (cams 1,2 → 4,5)": (cand, g_img, np.isin(cand.cams, (1, 2)), cand, g_img,
                                                np.isin(cand.cams, (4, 5)), False),
        "infrared → infrared (cam 3 → 6)": (query, q_img, query.cams == 3, query, q_img, query.cams == 6, False),
        "infrared → visible (all-search)": (query, q_img, np.ones(len(query), bool), cand, g_img,
                                            np.ones(len(cand), bool), True),
    }
    rows = []
    for fname, (fn, metric) in FEATURES.items():
        for sname, (ql, qi, qm, gl, gi, gm, rule) in settings.items():
            qidx, gidx = np.flatnonzero(qm), np.flatnonzero(gm)
            res = _score(fn(np.asarray(qi[qidx])), fn(np.asarray(gi[gidx])), ql.subset(qidx), gl.subset(gidx),
                         trials, metric, rule)
            rows.append({"feature": fname, "setting": sname, **res})
    return pd.DataFrame(rows)


def channel_order_retrieval(ds: SYSUMM01, height: int, width: int, trials: int = 10) -> pd.DataFrame:
    """How a colour-based matcher fares when the visible gallery's channels are recombined (RCC's variants).

    For each variant, the gallery images (visible) are recoloured with it and the queries are left as they
    are; scored with raw pixels under two protocols: visible → visible across cameras (queries from cameras
    1, 2, gallery from 4, 5) and infrared → visible (all-search). Shows how much a matcher that relies on
    which channel carries what breaks under a channel recombination, and that no single recombination makes
    visible images look like infrared ones.
    """
    from .transforms import RCC_VARIANTS, rcc_matrices

    query, cand = ds.query(), ds.gallery_candidates("all")
    q_img, g_img = np.asarray(load_images(query, height, width)), np.asarray(load_images(cand, height, width))
    mats = rcc_matrices().numpy()
    qv, gv = np.flatnonzero(np.isin(cand.cams, (1, 2))), np.flatnonzero(np.isin(cand.cams, (4, 5)))
    rows = []
    for k, name in enumerate(RCC_VARIANTS):
        g_k = np.clip(np.einsum("cd,nhwd->nhwc", mats[k], g_img.astype(np.float32)), 0, 255)
        vv = _score(raw_pixels(g_img[qv]), raw_pixels(g_k[gv]), cand.subset(qv), cand.subset(gv), trials,
                    "euclidean", False)
        iv = _score(raw_pixels(q_img), raw_pixels(g_k), query, cand, trials, "euclidean", True)
        rows.append({"gallery variant": name, "visible → visible R1": vv["R1"], "infrared → visible R1": iv["R1"],
                     "chance R1": iv["chance R1"]})
    return pd.DataFrame(rows)
