"""Pictures of the augmentations: the seven RCC variants and the other transforms side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import transforms as T


def _show(ax, img: torch.Tensor, title: str | None = None) -> None:
    """One image panel, no ticks."""
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).cpu().numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def denormalize(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(T.IMAGENET_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(T.IMAGENET_STD).view(1, 3, 1, 1)
    return x * s + m


def rcc_variants(x: torch.Tensor) -> list[torch.Tensor]:
    """All seven RCC variants of a [0, 1] batch, in the paper's order (for display; training draws one)."""
    out = []
    for name in T.RCC_VARIANTS:
        out.append(T.grayscale(x) if name == "gray" else x[:, ["RGB".index(c) for c in name]])
    return out


def rcc_grid(images: np.ndarray):
    """Rows: visible images; columns: the seven variants RCC chooses among (paper Fig. 2)."""
    x = T.to_tensor(images)
    variants = rcc_variants(x)
    fig, axes = plt.subplots(len(x), 7, figsize=(7 * 0.8, len(x) * 1.45), squeeze=False)
    for r in range(len(x)):
        for c, name in enumerate(T.RCC_VARIANTS):
            _show(axes[r, c], variants[c][r], name if r == 0 else None)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def augmentation_gallery(visible: np.ndarray, infrared: np.ndarray, seed: int = 0):
    """Each row one image; columns: original, colour jitter, RCC, CRE, random erasing, pad+crop+flip, and the
    full training pipeline (RCC on visible only). Erasing is shown with p = 1 so that it is visible."""
    g = T.make_generator(seed)
    xs = torch.cat([T.to_tensor(visible), T.to_tensor(infrared)])
    n_vis = len(visible)
    cols = {
        "original": xs,
        "colour\njitter": T.color_jitter(xs, g),
        "RCC": torch.cat([T.rcc(xs[:n_vis], g), xs[n_vis:]]),
        "CRE": denormalize(T.cre(T.normalize(xs), g, p=1.0)),
        "random\nerasing": denormalize(T.random_erasing(T.normalize(xs), g, p=1.0)),
        "pad+crop\n+flip": T.hflip(T.pad_crop(xs, g), g),
    }
    vis_t, ir_t = T.train_transform(xs[:n_vis], xs[n_vis:], g)
    cols["training\npipeline"] = denormalize(torch.cat([vis_t, ir_t]))
    fig, axes = plt.subplots(len(xs), len(cols), figsize=(len(cols) * 0.85, len(xs) * 1.45), squeeze=False)
    for c, (name, batch) in enumerate(cols.items()):
        for r in range(len(xs)):
            _show(axes[r, c], batch[r], name if r == 0 else None)
    for r in range(len(xs)):
        axes[r, 0].set_ylabel("visible" if r < n_vis else "infrared", fontsize=7)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig
