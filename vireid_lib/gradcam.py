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

A fair comparison of the two (Fig. 5's claim)
---------------------------------------------
f_fusion has layer1's resolution (16×8 in the cpu profile) and f4 a quarter of it (4×2): a map's native grid alone
changes how spread it looks (one hot cell covers 1/8 of the image at 4×2, 1/128 at 16×8). So the claim is measured
on a **common grid**: the fusion branch's Grad-CAM sum Σ_k w_k A_k is average-pooled onto f4's grid before the
ReLU (:func:`grad_cam` with ``grid``), which is Grad-CAM of the pooled activations (the weights, spatial means of
the gradients, are unchanged by pooling); then both maps are upsampled to the image alike. Over several trained
seeds of the method, the per-seed mean spread difference (fusion − global) is tested against 0
(:func:`spread_by_seed`, :func:`fig5_test`).

:func:`grad_cam` is Grad-CAM written out (Selvaraju et al., ICCV 2017), the computation of the ``grad-cam``
package's ``GradCAM`` (channel weights = spatial mean of the gradient, ReLU of the weighted sum, min-max scaling,
bilinear resize with OpenCV, as the package does): a test checks that both give the same maps at the native grid.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .grids import FIG5_SEEDS  # the seeds of the method whose maps Fig. 5's claim is measured on
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


def grad_cam(model: VIReIDNet, images: torch.Tensor, modality: str, branch: str, references: torch.Tensor,
             grid: tuple[int, int] | None = None) -> np.ndarray:
    """Grad-CAM maps (N, H, W) in [0, 1] at the input's size, for normalised images of one modality; the target of
    image i is its cosine similarity to ``references[i]`` (an embedding of the same branch).

    With A the target layer's activations (N, K, h, w) and g the gradient of the target there: channel weights
    w_k = mean over positions of g_k; map = ReLU(Σ_k w_k A_k), scaled to [0, 1] and resized to the image
    (bilinear). ``grid`` (h', w'): the weighted sum is first average-pooled onto that coarser grid (a common grid
    for both branches, see the module's docstring)."""
    import cv2

    wrapper = BranchEmbedding(model, branch, modality).eval()
    store: dict[str, torch.Tensor] = {}
    hook = target_layer(model, branch).register_forward_hook(lambda m, i, o: store.__setitem__("A", o))
    try:
        with torch.enable_grad():
            emb = wrapper(images)
            score = sum(SimilarityTarget(r)(e) for e, r in zip(emb, references, strict=True))
            (grads,) = torch.autograd.grad(score, store["A"])
    finally:
        hook.remove()
    acts = store["A"].detach()
    cam = (grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1, keepdim=True)  # Σ_k w_k A_k, (N, 1, h, w)
    if grid is not None and tuple(cam.shape[-2:]) != tuple(grid):
        cam = F.adaptive_avg_pool2d(cam, grid)
    cam = cam.clamp(min=0)[:, 0].float().cpu().numpy()
    H, W = images.shape[-2:]
    out = []
    for m in cam:  # the package's scale_cam_image: min-max, resize; then its aggregation's ReLU and min-max again
        m = m - m.min()
        m = cv2.resize(np.float32(m / (1e-7 + m.max())), (W, H))
        m = np.maximum(m, 0) - np.maximum(m, 0).min()
        out.append(m / (1e-7 + m.max()))
    return np.asarray(out, dtype=np.float32)


def cam_maps(model: VIReIDNet, images: torch.Tensor, modality: str, branch: str,
             references: torch.Tensor) -> np.ndarray:
    """The same maps as :func:`grad_cam` at the native grid, computed by the ``grad-cam`` package (kept to check
    the written-out version against, in a test and in notebook 07)."""
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


def common_grid(model: VIReIDNet, cfg) -> tuple[int, int]:
    """The coarser native grid of the two branches' target layers: f4's (the global branch's)."""
    from .models import feature_sizes

    return tuple(feature_sizes(cfg.data.height, cfg.data.width, cfg.model.last_stride)[4])


def attention_study(model: VIReIDNet, cfg, n: int = 64, seed: int = 0, batch: int = 64,
                    grid: tuple[int, int] | str | None = None) -> dict:
    """Grad-CAM maps of both branches for ``n`` infrared and ``n`` visible test images (random, seeded), each
    explained by its similarity to the mean embedding of the same person in the other modality. ``grid``:
    ``None`` for each branch's native grid (the pictures), ``"common"`` for :func:`common_grid` (the measurement).

    Returns ``{"images": uint8 (2n, H, W, 3), "modality": [...], "pids": [...], "global": maps, "fusion": maps,
    "spread": {"global": ..., "fusion": ...}, "grid": ...}``.
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
    if grid == "common":
        grid = common_grid(model, cfg)
    out = {"images": np.concatenate([g_img[gi], q_img[qi]]),
           "modality": ["visible"] * len(gi) + ["infrared"] * len(qi),
           "pids": np.concatenate([cand.pids[gi], query.pids[qi]]), "spread": {}, "grid": grid}
    branches = [b for b in ("global", "fusion") if b in model.branches]
    # the references need only the identities sampled: visible images of the infrared sample's people, and back
    vis_rows = np.flatnonzero(np.isin(cand.pids, query.pids[qi]))
    ir_rows = np.flatnonzero(np.isin(query.pids, cand.pids[gi]))
    e_vis = branch_embeddings(model, g_img[vis_rows], "visible", branches, batch)
    e_ir = branch_embeddings(model, q_img[ir_rows], "infrared", branches, batch)
    for branch in branches:
        ref_vis = {p: e_vis[branch][cand.pids[vis_rows] == p].mean(0) for p in np.unique(query.pids[qi])}
        ref_ir = {p: e_ir[branch][query.pids[ir_rows] == p].mean(0) for p in np.unique(cand.pids[gi])}
        maps = []
        for imgs, pids, modality, refs in ((g_img[gi], cand.pids[gi], "visible", ref_ir),
                                           (q_img[qi], query.pids[qi], "infrared", ref_vis)):
            for i in range(0, len(imgs), batch):
                x = test_transform(to_tensor(imgs[i : i + batch], device))
                r = torch.stack([refs[p] for p in pids[i : i + batch]])
                maps.append(grad_cam(model, x, modality, branch, r, grid))
        out[branch] = np.concatenate(maps)
        out["spread"][branch] = spread(out[branch])
    return out


@torch.no_grad()
def branch_embeddings(model: VIReIDNet, images: np.ndarray, modality: str, branches: list[str], batch: int = 64
                      ) -> dict[str, torch.Tensor]:
    """The test-time embeddings (what :meth:`VIReIDNet.embed` gives, L2-normalised) of several branches from one
    forward pass per batch: ``{branch: (N, D)}``."""
    from .transforms import test_transform, to_tensor

    model.eval()
    device = next(model.parameters()).device
    feature = getattr(model.cfg, "test_feature", "bn")
    parts: dict[str, list[torch.Tensor]] = {b: [] for b in branches}
    for i in range(0, len(images), batch):
        x = test_transform(to_tensor(np.asarray(images[i : i + batch]), device))
        out = model(x, None) if modality == "visible" else model(None, x)
        for b in branches:
            parts[b].append(F.normalize(out[b].bn if feature == "bn" else out[b].pooled, dim=1).float().cpu())
    return {b: torch.cat(v) for b, v in parts.items()}


class ModelNotTrained(FileNotFoundError):
    """A model Fig. 5 needs is not trained, and training was not allowed (``train_missing=False``)."""


def spread_by_seed(profile: str, seeds: tuple[int, ...] | None = None, n: int = 64, data_root: str | None = None,
                   progress_bar: bool = False, train_missing: bool = True) -> pd.DataFrame:
    """Fig. 5's measurement: for each seed of the method, the mean attention spread of the global and fusion
    branches on a common grid (:func:`attention_study` with ``grid="common"``) over ``n`` visible + ``n`` infrared
    test images, and the mean of their per-image difference (images where both maps are non-empty).

    Computed once per trained model and kept beside it (``attention.json`` in the run's folder, keyed by the
    settings, this module's code (:func:`~vireid_lib.fingerprint.code_hash`) and the weights' hash), so that
    notebooks 05–07 and the report share one number and a fresh clone with the committed weights recomputes
    nothing."""
    from .config import experiment_config
    from .experiments import run_path, trained_model
    from .fingerprint import code_hash
    from .io import atomic_write_json, sha256_file

    recs = []
    for seed in seeds if seeds is not None else FIG5_SEEDS[profile]:
        cfg = experiment_config(profile, seed=seed, data_root=data_root)
        model = None
        path = run_path(cfg)
        if not (path / "model.pt").exists():
            if not train_missing:
                raise ModelNotTrained(f"the method's model, seed {seed}, is not trained (run folder {path.name})")
            model = trained_model(cfg, progress_bar=progress_bar)
        key = {"n": n, "sample_seed": 0, "grid": "common", "level": 0.5,
               "code": code_hash(Path(__file__).resolve()), "weights": sha256_file(path / "model.pt")[:16]}
        cache = path / "attention.json"
        try:
            stored = json.loads(cache.read_text())
            rec = stored["result"] if stored.get("key") == key else None
        except (FileNotFoundError, ValueError, KeyError):
            rec = None
        if rec is None:
            model = model or trained_model(cfg, progress_bar=progress_bar)
            study = attention_study(model, cfg, n=n, seed=0, grid="common")
            g, f = study["spread"]["global"], study["spread"]["fusion"]
            both = ~np.isnan(g) & ~np.isnan(f)
            rec = {"global": float(np.nanmean(g)), "fusion": float(np.nanmean(f)),
                   "difference": float((f[both] - g[both]).mean()) if both.any() else float("nan"),
                   "images": int(both.sum()), "grid": list(study["grid"])}
            with contextlib.suppress(OSError):
                atomic_write_json(cache, {"key": key, "result": rec})
        recs.append({"seed": seed, **rec})
    return pd.DataFrame(recs)


def fig5_test(by_seed: pd.DataFrame):
    """The one-sample t-test over seeds of the mean spread difference fusion − global (paired within each model: its
    two branches see the same images), or ``None`` without at least one seed."""
    from . import stats

    d = by_seed["difference"].dropna().to_numpy(float)
    return stats.one_sample(d) if len(d) else None


def spread_summary(study: dict):
    """Per modality: each branch's mean attention spread (± std), and how often the fusion branch's map is the
    wider one (the paper's claim: "the red area of the fusion branch is more extensive")."""
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
