"""Pictures of how the synthetic world is made: the same people before and after issue 10, and the imaging
chain's stages for one person (notebook 01)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from ..config import SyntheticSpec
from ..data import synthetic as S
from ..data.synthetic.garments import LABELS

BEFORE_STRIP = Path(__file__).resolve().parents[1] / "resources" / "synthetic_v5_strip.png"
BEFORE_PIDS = (1, 2, 3, 4, 5, 6)  # the identities the frozen strip shows (benchmarks/synthetic_before_strip.py)
MODALITIES = ("visible", "near-infrared", "thermal")
STAGES = ("body", "garments", "scene and illumination", "camera and optics", "sensor")


def before_images(pid: int) -> list[np.ndarray]:
    """Generator version 5's visible, near-infrared and thermal images of identity ``pid`` of seed 0 (read from
    the PNG frozen by ``benchmarks/synthetic_before_strip.py``: that generator is no longer in the library)."""
    if pid not in BEFORE_PIDS:
        raise ValueError(f"the frozen version-5 strip holds identities {BEFORE_PIDS}, not {pid}")
    strip = np.asarray(Image.open(BEFORE_STRIP).convert("RGB"))
    r = BEFORE_PIDS.index(pid) * 130
    return [strip[r : r + 128, c * 66 : c * 66 + 64] for c in range(3)]


def modality_triplet(pid: int, seed: int = 0, spec: SyntheticSpec | None = None, steps: list | None = None
                     ) -> list[np.ndarray]:
    """Identity ``pid`` of the SYSU-MM01-like world seen at one instant by visible camera 1, near-infrared camera 3
    and RegDB's thermal camera (which films another street: the picture puts the same person in front of it).
    ``steps``: a list that receives each camera's stage pictures (:func:`vireid_lib.data.synthetic.render`)."""
    spec = spec or SyntheticSpec(seed=seed, occlusion_prob=0.0)
    ident = S.make_identity(seed, pid)
    _, thermal = S.regdb_pair(spec)
    cams = (S.sysu_camera(spec, 1), S.sysu_camera(spec, 3), thermal)
    moment = S.new_moment(ident, cams[0], np.random.default_rng([seed, 99, pid]), 0.0, air_temp=18.0, sun=0.2)
    out = []
    for k, cam in enumerate(cams):
        st = {}
        out.append(S.render(ident, cam, np.random.default_rng([seed, 98, pid, k]), spec, moment=moment, steps=st))
        if steps is not None:
            steps.append(st)
    return out


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def before_after(pids: tuple[int, ...] = BEFORE_PIDS[:4], seed: int = 0):
    """Rows: identities; columns: visible / near-infrared / thermal, by generator version 5 (left) and by the
    calibrated generator (right). The two versions draw different people for the same number."""
    fig, axes = plt.subplots(len(pids), 7, figsize=(7 * 0.75, len(pids) * 1.3), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 0.25, 1, 1, 1]})
    for r, pid in enumerate(pids):
        row = before_images(pid) + [None] + modality_triplet(pid, seed)
        for c, img in enumerate(row):
            ax = axes[r, c]
            _off(ax)
            if img is not None:
                ax.imshow(img)
            if r == 0 and img is not None:
                ax.set_title(MODALITIES[c % 4 if c < 3 else c - 4], fontsize=6)
        axes[r, 0].set_ylabel(f"id {pid}", fontsize=7)
    fig.text(0.27, 1.0, "before: generator v5 (thermal = the visible image's twin)", ha="center", fontsize=7)
    fig.text(0.75, 1.0, f"after: generator v{S.GENERATOR_VERSION} (imaging physics)", ha="center", fontsize=7)
    fig.subplots_adjust(wspace=0.05, hspace=0.08)
    return fig


def _stage_picture(name: str, img: np.ndarray):
    """How to show one stage: label maps in a palette, radiance in grey / colour, temperatures in °C."""
    if name in ("body", "garments"):
        return img, {"cmap": "tab20", "vmin": 0, "vmax": 19, "interpolation": "nearest"}
    if img.dtype == np.uint8:
        return img, {}
    if img.ndim == 3:
        return np.clip(img, 0, 1), {}
    if img.max() > 2:  # a temperature map
        return img, {"cmap": "inferno", "vmin": float(np.percentile(img, 1)), "vmax": float(img.max())}
    return img, {"cmap": "gray", "vmin": 0, "vmax": 1}


def generator_steps(pid: int = 1, seed: int = 0):
    """The imaging chain for one person: rows visible / near-infrared / thermal, columns the five stages
    (body → garments → scene and illumination → camera and optics → sensor). Thermal stages before the
    sensor are temperatures (°C, colour map); the thermal camera works at its lower native resolution."""
    steps: list[dict] = []
    modality_triplet(pid, seed, steps=steps)
    fig, axes = plt.subplots(3, 5, figsize=(5 * 1.0, 3 * 1.75), squeeze=False)
    for r, st in enumerate(steps):
        for c, name in enumerate(STAGES):
            ax = axes[r, c]
            _off(ax)
            img, kw = _stage_picture(name, st[name])
            im = ax.imshow(img, **kw)
            if r == 2 and name in ("scene and illumination", "camera and optics"):
                cb = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.02)
                cb.ax.tick_params(labelsize=5)
                cb.set_label("°C", fontsize=5)
            if r == 0:
                ax.set_title(name.replace(" and ", " &\n"), fontsize=7)
        axes[r, 0].set_ylabel(MODALITIES[r], fontsize=7)
    fig.suptitle(f"How one synthetic image is made (identity {pid}, seed {seed}); label colours: "
                 f"{len(LABELS)} surfaces", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["before_after", "generator_steps", "modality_triplet", "before_images"]
