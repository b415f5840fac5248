"""Fig. 5: originals, the global branch's Grad-CAM, the fusion branch's Grad-CAM."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def overlay(image: np.ndarray, cam: np.ndarray) -> np.ndarray:
    from pytorch_grad_cam.utils.image import show_cam_on_image

    return show_cam_on_image(image.astype(np.float32) / 255.0, cam, use_rgb=True, image_weight=0.55)


def attention_figure(study: dict, per_modality: int = 4, title: str = ""):
    """Rows: originals, global branch, fusion branch; columns: visible then infrared examples."""
    mod = np.array(study["modality"])
    cols = [*np.flatnonzero(mod == "visible")[:per_modality], *np.flatnonzero(mod == "infrared")[:per_modality]]
    fig, axes = plt.subplots(3, len(cols), figsize=(len(cols) * 0.95, 3 * 1.75), squeeze=False)
    for c, i in enumerate(cols):
        rows = [study["images"][i], overlay(study["images"][i], study["global"][i]),
                overlay(study["images"][i], study["fusion"][i])]
        for r, img in enumerate(rows):
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, c].set_title(f"{mod[i][:3]} · id {study['pids'][i]}", fontsize=6)
    for r, name in enumerate(("original", "global branch", "fusion branch")):
        axes[r, 0].set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(wspace=0.04, hspace=0.04)
    return fig


def spread_histogram(study: dict, title: str = ""):
    """Distribution of the attention spread of both branches over all images of the study."""
    fig, ax = plt.subplots(figsize=(4.5, 2.6))
    bins = np.linspace(0, 1, 21)
    for branch, col in (("global", "tab:blue"), ("fusion", "tab:orange")):
        v = study["spread"][branch]
        ax.hist(v[~np.isnan(v)], bins=bins, alpha=0.55, color=col, label=f"{branch} branch")
    ax.set_xlabel("fraction of the image above half the map's maximum")
    ax.set_ylabel("images")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
