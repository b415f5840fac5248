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


def retrieval_grid(results: dict[str, Retrieval], k: int = 10, title: str = ""):
    """One row per (query, model): ``results`` maps a label ("full method", "baseline") to a :class:`Retrieval`
    over the same queries. Returns the figure and, for checking, the frame colour of every shown result:
    ``frames[(label, q)] = [(gallery index, correct, colour), ...]``."""
    labels = list(results)
    first = results[labels[0]]
    nq = len(first.query_pids)
    fig, axes = plt.subplots(nq * len(labels), k + 1, figsize=((k + 1) * 0.82, nq * len(labels) * 1.72),
                             squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.35})
    frames = {}
    for q in range(nq):
        for j, label in enumerate(labels):
            res = results[label]
            row = axes[q * len(labels) + j]
            row[0].imshow(_framed(res.query_images[q], GREY))
            row[0].set_title(f"query IR · cam{res.query_cams[q]}\nid {res.query_pids[q]} · {label}", fontsize=5.5)
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
                ax.set_title(f"{'✓' if ok else '✗'} {r + 1} · VIS cam{res.gallery_cams[g]}\nd={res.dist[q][r]:.3f}",
                             fontsize=5, color=colour)
                shown.append((g, ok, colour))
            frames[(label, q)] = shown
            for ax in row:
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
    fig.suptitle(title + "\n(d: the protocol's distance, −cosine similarity of the L2-normalised embeddings)",
                 fontsize=8, y=0.995)
    return fig, frames
