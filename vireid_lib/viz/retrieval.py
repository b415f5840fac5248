"""Retrieval grids (paper Fig. 6), in the convention torchreid's ``visrank`` made common: the query on the left,
then the top 10 in rank order, each framed green (right identity) or red (wrong), with a ✓ / ✗ mark for
readers who cannot tell the colours apart, the rank and the distance; modalities labelled (IR → VIS)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..retrieval import Retrieval
from . import DPI

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


#: the mosaic's geometry, in pixels of the composed image (one framed result is SIZE + 2 × FRAME): a band for the
#: title above each tile, two lines of label below it, gaps between the columns, a wider one after the query
FRAME = 5
TILE = (SIZE[0] + 2 * FRAME, SIZE[1] + 2 * FRAME)
TITLE_BAND, LABEL_BAND, ROW_GAP = 26, 40, 12
COL_GAP, QUERY_GAP, LEFT = 18, 44, 24
ROW_PITCH = TITLE_BAND + TILE[0] + LABEL_BAND + ROW_GAP
INCHES_PER_PX = 1 / DPI  # one pixel of the mosaic is one pixel of the saved PNG: nothing is resampled


def tile_origin(row: int, col: int) -> tuple[int, int]:
    """Top-left pixel (y, x) of the framed tile in ``row`` (0 = first query and model) and ``col`` (0 = the query,
    r + 1 = the result of rank r + 1) of :func:`retrieval_grid`'s mosaic."""
    x = LEFT + (0 if col == 0 else TILE[1] + QUERY_GAP + (col - 1) * (TILE[1] + COL_GAP))
    return row * ROW_PITCH + TITLE_BAND, x


def retrieval_grid(results: dict[str, Retrieval], k: int = 10, title: str = ""):
    """One row per (query, model): ``results`` maps a label ("full method", "baseline") to a :class:`Retrieval`
    over the same queries. Returns the figure and, for checking, the frame colour of every shown result:
    ``frames[(label, q)] = [(gallery index, correct, colour), ...]``.

    Sized to be read at page width: about 9 inches wide for k = 10, each result titled with its mark and rank
    (✓ 1, ✗ 2 ...) and labelled below with its camera and distance, the query with its camera and identity and,
    on its left, the model that ranked the row. Drawn as one mosaic image in one axes (its tiles at
    :func:`tile_origin`, the title of a tile has the gid ``"title-{row}-{col}"``): a figure of 12 rows has 264
    labels, and 132 axes of matplotlib took several seconds to draw each time it was saved or shown."""
    if k < 1:
        raise ValueError(f"retrieval_grid: k is the number of results shown per row, at least 1; got {k}")
    labels = list(results)
    nq = len(results[labels[0]].query_pids)
    rows = nq * len(labels)
    height, width = rows * ROW_PITCH - ROW_GAP, tile_origin(0, k)[1] + TILE[1]
    canvas = np.ones((height, width, 3), np.float32)
    head = (title + "\n" if title else "") + ("query: infrared (IR); results: visible (VIS) gallery images by rank, "
                                              "✓ right person, ✗ wrong; below each: its camera and distance d")
    head_in = 0.17 * (head.count("\n") + 2) + 0.08
    fig = plt.figure(figsize=(width * INCHES_PER_PX, height * INCHES_PER_PX + head_in), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, height * INCHES_PER_PX / fig.get_figheight()))
    ax.set_axis_off()
    texts = []  # (x, y, text, size, colour, bold, gid), drawn once the mosaic is in place

    def tile(row, col, img, colour, top, bottom, top_colour):
        y, x = tile_origin(row, col)
        canvas[y:y + TILE[0], x:x + TILE[1]] = _framed(img, colour, FRAME)
        cx = x + TILE[1] / 2
        texts.append((cx, y - 5, top, TITLE_PT, top_colour, True, f"title-{row}-{col}"))
        texts.append((cx, y + TILE[0] + 4, bottom, LABEL_PT, "black", False, None))

    frames = {}
    for q in range(nq):
        for j, label in enumerate(labels):
            res, row = results[label], q * len(labels) + j
            tile(row, 0, res.query_images[q], GREY, "query", f"IR cam{res.query_cams[q]}\nid {res.query_pids[q]}",
                 "black")
            y, _ = tile_origin(row, 0)
            ax.text(LEFT / 2, y + TILE[0] / 2, label, fontsize=TITLE_PT, rotation=90, ha="center", va="center")
            shown = []
            for r, g in enumerate(res.top[q][:k]):
                g = int(g)
                ok = bool(res.gallery_pids[g] == res.query_pids[q])
                colour = GREEN if ok else RED
                tile(row, r + 1, res.gallery_images[g], colour, f"{'✓' if ok else '✗'} {r + 1}",
                     f"cam{res.gallery_cams[g]}\n{res.dist[q][r]:.2f}".replace("-", "−"), colour)
                shown.append((g, ok, colour))
            frames[(label, q)] = shown
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xlim(-0.5, width - 0.5)  # the image's own extent: the axes box is width × height pixels, so 1:1
    ax.set_ylim(height - 0.5, -0.5)
    for x, y, s, size, colour, bold, gid in texts:
        t = ax.text(x, y, s, fontsize=size, color=colour, fontweight="bold" if bold else "normal", ha="center",
                    va="bottom" if gid else "top", linespacing=1.25)
        t.set_gid(gid)
    fig.suptitle(head + "\n(d: the protocol's distance, −cosine similarity of the L2-normalised embeddings)",
                 fontsize=TITLE_PT, y=1 - 0.04 / fig.get_figheight(), va="top")
    return fig, frames
