"""Pictures of the data: the same identities across cameras and modalities, intensity histograms."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data.common import list_images, load_resized
from ..data.sysu import INFRARED_CAMS, SYSUMM01

INDOOR = (1, 2, 3)


def camera_label(cam: int) -> str:
    kind = "IR" if cam in INFRARED_CAMS else "VIS"
    return f"cam{cam} · {kind} · {'indoor' if cam in INDOOR else 'outdoor'}"


def identity_grid(ds: SYSUMM01, pids: list[int], per_cam: int = 2, size: tuple[int, int] = (128, 64),
                  seed: int = 0):
    """Rows: identities; columns: cameras 1–6 (``per_cam`` images each). Empty where an id is not seen."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(pids), 6 * per_cam, figsize=(6 * per_cam * 0.62, len(pids) * 1.25),
                             squeeze=False)
    for r, pid in enumerate(pids):
        for c in range(1, 7):
            files = list_images(ds.root / f"cam{c}" / f"{pid:04d}")
            pick = rng.choice(len(files), min(per_cam, len(files)), replace=False) if files else []
            for k in range(per_cam):
                ax = axes[r, (c - 1) * per_cam + k]
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
                if k < len(pick):
                    ax.imshow(load_resized(files[pick[k]], *size))
                elif k == 0:
                    ax.text(0.5, 0.5, "not seen", ha="center", va="center", fontsize=6, color="0.5",
                            transform=ax.transAxes)
                if r == 0 and k == 0:
                    ax.set_title(camera_label(c), fontsize=6, loc="left")
        axes[r, 0].set_ylabel(f"id {pid}", fontsize=7)
    fig.subplots_adjust(wspace=0.05, hspace=0.08)
    return fig


def intensity_histograms(visible: np.ndarray, infrared: np.ndarray):
    """Pixel-value histograms: the visible images' R, G, B channels and luma against the infrared intensity."""
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 2.4), sharey=True)
    bins = np.arange(0, 257, 8)
    for ch, col in enumerate(("tab:red", "tab:green", "tab:blue")):
        axes[0].hist(visible[..., ch].ravel(), bins=bins, histtype="step", color=col, density=True,
                     label="RGB"[ch])
    luma = visible.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    axes[1].hist(luma.ravel(), bins=bins, histtype="step", color="0.2", density=True, label="visible luma")
    axes[1].hist(infrared[..., 0].ravel(), bins=bins, histtype="stepfilled", alpha=0.35, color="tab:purple",
                 density=True, label="infrared")
    axes[0].set_title("visible images: channels")
    axes[1].set_title("visible luma vs infrared intensity")
    for ax in axes:
        ax.set_xlabel("pixel value")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    fig.tight_layout()
    return fig
