"""Retrieval grids (paper Fig. 6), in the convention torchreid's ``visrank`` made common: the query on the left,
then the top 10 in rank order, each framed green (right identity) or red (wrong), with a ✓ / ✗ mark for
readers who cannot tell the colours apart, the rank and the distance; modalities labelled (IR → VIS)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..retrieval import Retrieval

GREEN, RED, GREY = (0.1, 0.65, 0.2), (0.85, 0.1, 0.1), (0.3, 0.3, 0.3)
SIZE = (128, 64)


def _framed(img: np.ndarray, colour, width: int = 5) -> np.ndarray:
    from PIL import Image

    big = Image.fromarray(img).resize((SIZE[1], SIZE[0]), Image.Resampling.BILINEAR)
    big = np.asarray(big).astype(np.float32) / 255
    out = np.empty((SIZE[0] + 2 * width, SIZE[1] + 2 * width, 3), np.float32)
    out[:] = colour
    out[width:-width, width:-width] = big
    return out


#: label sizes (points) that stay legible when the grid is shown at page width (≈ 850 px for a ≈ 9-inch figure:
#: about 1.4 px per point, so 9 pt ≈ 12 px)
TITLE_PT, LABEL_PT = 9.5, 8.5


def retrieval_grid(results: dict[str, Retrieval], k: int = 10, title: str = ""):
    """One row per (query, model): ``results`` maps a label ("full method", "baseline") to a :class:`Retrieval`
    over the same queries. Returns the figure and, for checking, the frame colour of every shown result:
    ``frames[(label, q)] = [(gallery index, correct, colour), ...]``.

    Sized to be read at page width: about 9 inches wide for k = 10, each result titled with its mark and rank
    (✓ 1, ✗ 2 ...) and labelled below with its camera and distance, the query with its camera and identity and,
    on its left, the model that ranked the row."""
    labels = list(results)
    first = results[labels[0]]
    nq = len(first.query_pids)
    rows = nq * len(labels)
    col = 0.78  # inches per result column
    fig, axes = plt.subplots(rows, k + 1, figsize=(col * (k + 1.35) + 0.3, rows * 2.05), squeeze=False,
                             gridspec_kw={"wspace": 0.08, "hspace": 0.55, "width_ratios": [1.35] + [1] * k})
    frames = {}
    for q in range(nq):
        for j, label in enumerate(labels):
            res = results[label]
            row = axes[q * len(labels) + j]
            row[0].imshow(_framed(res.query_images[q], GREY))
            row[0].set_title("query", fontsize=TITLE_PT, fontweight="bold")
            row[0].set_xlabel(f"IR cam{res.query_cams[q]}\nid {res.query_pids[q]}", fontsize=LABEL_PT)
            row[0].set_ylabel(label, fontsize=TITLE_PT)
            shown = []
            for r in range(k):
                ax = row[r + 1]
                if r >= len(res.top[q]):
                    ax.axis("off")
                    continue
                g = int(res.top[q][r])
                ok = bool(res.gallery_pids[g] == res.query_pids[q])
                colour = GREEN if ok else RED
                ax.imshow(_framed(res.gallery_images[g], colour))
                ax.set_title(f"{'✓' if ok else '✗'} {r + 1}", fontsize=TITLE_PT, color=colour, fontweight="bold")
                ax.set_xlabel(f"cam{res.gallery_cams[g]}\n{res.dist[q][r]:.2f}".replace("-", "−"), fontsize=LABEL_PT)
                shown.append((g, ok, colour))
            frames[(label, q)] = shown
            for ax in row:
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
    head = (title + "\n" if title else "") + ("query: infrared (IR); results: visible (VIS) gallery images by rank, "
                                              "✓ right person, ✗ wrong; below each: its camera and distance d")
    height = rows * 2.05
    fig.subplots_adjust(top=1 - 0.8 / height, bottom=0.45 / height, left=0.04, right=0.995)
    fig.suptitle(head + "\n(d: the protocol's distance, −cosine similarity of the L2-normalised embeddings)",
                 fontsize=TITLE_PT, y=1 - 0.04 / height, va="top")
    return fig, frames
