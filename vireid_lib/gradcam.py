"""Grad-CAM maps of the global and fusion branches (paper §4.5, Fig. 5), with the ``grad-cam`` package.

What is explained, and why
--------------------------
The test identities are not among the classifier's classes, so a class-logit target
(``ClassifierOutputTarget``) would explain a class that has nothing to do with the person shown. We explain
what the test protocol actually uses: the **cosine similarity between the image's branch embedding and a
reference embedding of the same person in the other modality** (the mean embedding of that identity's
images of the other modality, same branch). A map then shows which pixels make this image match its
cross-modal counterpart. The wrapper returns the branch's BN-neck embedding for a fixed modality, so that
grad-cam sees a model from one tensor to one tensor.

Target layers: the global branch's map is taken at the last block of ``layer4`` (f4, whose GeM gives
V_global); the fusion branch's at the fusion module's output (f_fusion, Eq. 2, whose GeM gives V_fusion).
f_fusion has layer1's resolution and f4 a quarter of it, which the spread measure below is upsampled over;
keep that in mind when comparing the two.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .engine import extract_features
from .models import VIReIDNet


class BranchEmbedding(nn.Module):
    """``x → BN-neck embedding`` of one branch, for one modality's images (what grad-cam needs)."""

    def __init__(self, model: VIReIDNet, branch: str, modality: str):
        super().__init__()
        if branch not in model.branches:
            raise ValueError(f"the model has no {branch!r} branch (it has {', '.join(model.branches)})")
        self.model, self.branch, self.modality = model, branch, modality

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x, None) if self.modality == "visible" else self.model(None, x)
        return out[self.branch].bn


class SimilarityTarget:
    """Cosine similarity of one sample's embedding to a fixed reference embedding (a grad-cam target)."""

    def __init__(self, reference: torch.Tensor):
        self.reference = F.normalize(reference.detach().float(), dim=0)

    def __call__(self, embedding: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(embedding, self.reference.to(embedding.device), dim=0)


def target_layer(model: VIReIDNet, branch: str) -> nn.Module:
    return model.backbone.layer4[-1] if branch == "global" else model.fusion


def cam_maps(model: VIReIDNet, images: torch.Tensor, modality: str, branch: str,
             references: torch.Tensor) -> np.ndarray:
    """Grad-CAM maps (N, H, W) in [0, 1] at the input's size, for normalised images of one modality; the
    target of image i is the similarity to ``references[i]`` (an embedding of the same branch)."""
    from pytorch_grad_cam import GradCAM

    wrapper = BranchEmbedding(model, branch, modality).eval()
    cam = GradCAM(model=wrapper, target_layers=[target_layer(model, branch)])
    try:  # not the context manager: its __exit__ swallows IndexError (NOTEBOOK-CONVENTIONS, pitfall 9)
        with torch.enable_grad():
            maps = cam(input_tensor=images, targets=[SimilarityTarget(r) for r in references])
    finally:
        cam.activations_and_grads.release()
    return np.asarray(maps, dtype=np.float32)


def spread(maps: np.ndarray, level: float = 0.5) -> np.ndarray:
    """How spread out each map's attention is: the fraction of the image where the map exceeds ``level``
    times its maximum (1 = everywhere, small = a few pixels). NaN for an all-zero map (Grad-CAM's ReLU found
    no positive evidence), which is left out of the averages and counted separately."""
    m = maps.reshape(len(maps), -1)
    peak = m.max(1, keepdims=True)
    return np.where(peak[:, 0] > 0, (m >= level * np.maximum(peak, 1e-12)).mean(1), np.nan)


def attention_study(model: VIReIDNet, cfg, n: int = 64, seed: int = 0, batch: int = 64) -> dict:
    """Grad-CAM maps of both branches for ``n`` infrared and ``n`` visible test images (random, seeded), each
    explained by its similarity to the mean embedding of the same person in the other modality.

    Returns ``{"images": uint8 (2n, H, W, 3), "modality": [...], "pids": [...], "global": maps, "fusion": maps,
    "spread": {"global": ..., "fusion": ...}}``.
    """
    from .data import load_images, open_dataset
    from .transforms import test_transform, to_tensor

    ds = open_dataset(cfg.data, verbose=False)
    h, w = cfg.data.height, cfg.data.width
    query, cand = ds.query(), ds.gallery_candidates("all")
    q_img, g_img = np.asarray(load_images(query, h, w)), np.asarray(load_images(cand, h, w))
    common = np.intersect1d(query.pids, cand.pids)
    rng = np.random.default_rng(seed)
    q_pool, g_pool = np.flatnonzero(np.isin(query.pids, common)), np.flatnonzero(np.isin(cand.pids, common))
    qi = np.sort(rng.choice(q_pool, min(n, len(q_pool)), replace=False))
    gi = np.sort(rng.choice(g_pool, min(n, len(g_pool)), replace=False))
    model.eval()
    device = next(model.parameters()).device

    def embed(images: np.ndarray, modality: str, branch: str) -> torch.Tensor:
        return torch.from_numpy(extract_features(model, images, modality, device, batch, branch))

    out = {"images": np.concatenate([g_img[gi], q_img[qi]]),
           "modality": ["visible"] * len(gi) + ["infrared"] * len(qi),
           "pids": np.concatenate([cand.pids[gi], query.pids[qi]]), "spread": {}}
    for branch in ("global", "fusion"):
        if branch not in model.branches:
            continue
        e_vis, e_ir = embed(g_img, "visible", branch), embed(q_img, "infrared", branch)
        ref_vis = {p: e_vis[cand.pids == p].mean(0) for p in common}  # references for infrared images
        ref_ir = {p: e_ir[query.pids == p].mean(0) for p in common}  # references for visible images
        maps = []
        for imgs, pids, modality, refs in ((g_img[gi], cand.pids[gi], "visible", ref_ir),
                                           (q_img[qi], query.pids[qi], "infrared", ref_vis)):
            for i in range(0, len(imgs), batch):
                x = test_transform(to_tensor(imgs[i : i + batch], device))
                r = torch.stack([refs[p] for p in pids[i : i + batch]])
                maps.append(cam_maps(model, x, modality, branch, r))
        out[branch] = np.concatenate(maps)
        out["spread"][branch] = spread(out[branch])
    return out


def spread_verdict(diff: float, margin: float = 0.02) -> str:
    """The paper's Fig. 5 claim (the fusion branch attends to a wider area) against the mean spread difference
    fusion − global: *supported* above ``margin``, *contradicted* below −``margin``, else no clear difference.
    The margin is a fixed 2 % of the image, a visible difference in a map, not a statistical test."""
    if diff > margin:
        return "supported"
    return "contradicted" if diff < -margin else "no clear difference"


def spread_summary(study: dict):
    """Per modality: each branch's mean attention spread (± std), and how often the fusion branch's map is the
    wider one (the paper's claim: "the red area of the fusion branch is more extensive")."""
    import pandas as pd

    mod = np.array(study["modality"])
    rows = []
    for m in ("visible", "infrared", "both"):
        sel = np.ones(len(mod), bool) if m == "both" else mod == m
        g, f = study["spread"]["global"][sel], study["spread"]["fusion"][sel]
        both = ~np.isnan(g) & ~np.isnan(f)
        rows.append({"images": m, "n": int(sel.sum()),
                     "global spread": f"{np.nanmean(g):.3f} ± {np.nanstd(g, ddof=1):.3f}",
                     "fusion spread": f"{np.nanmean(f):.3f} ± {np.nanstd(f, ddof=1):.3f}",
                     "empty maps (global / fusion)": f"{int(np.isnan(g).sum())} / {int(np.isnan(f).sum())}",
                     "mean(fusion − global)": float((f[both] - g[both]).mean()) if both.any() else float("nan"),
                     "fusion wider in": f"{100 * float((f[both] > g[both]).mean()):.0f} % of {int(both.sum())}"})
    return pd.DataFrame(rows)
