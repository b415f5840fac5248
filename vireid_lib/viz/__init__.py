"""Figures. One :func:`savefig` for every figure of the study: fixed dpi, byte-stable PNG (no software
version in the metadata; the notebook, profile and data it was made with as text chunks), optional PDF without a
creation date, saved atomically under ``figures_dir()`` (``results/figures`` in the study's reproduction, else
``results/scratch/<profile>/figures``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..io import atomic_path
from ..paths import figures_dir, provenance

DPI = 120
PNG_PREFIX = "vireid:"  # the PNG text chunks savefig writes: vireid:notebook, vireid:profile, vireid:data


def set_style() -> None:
    """The study's one plotting style (seaborn 'paper' context, white grid)."""
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid")
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "axes.titlesize": 9, "figure.titlesize": 10})


def savefig(fig, name: str, pdf: bool = False, close: bool = False) -> Path:
    """Save ``fig`` as ``<figures_dir()>/<name>.png`` (and ``.pdf``), byte-stable across reruns, recording
    what it was made with (:func:`figure_provenance` reads it back).

    The figure stays open (so a notebook still displays it) unless ``close``.
    """
    out = figures_dir() / f"{name}.png"
    record = {f"{PNG_PREFIX}{k}": v for k, v in provenance().items()}
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None, **record}, bbox_inches="tight")
    if pdf:
        with atomic_path(out.with_suffix(".pdf"), suffix=".pdf") as tmp:
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None},
                        bbox_inches="tight")
    if close:
        plt.close(fig)
    return out


def figure_provenance(path: str | Path) -> dict[str, str]:
    """What a PNG saved by :func:`savefig` was made with (``notebook``, ``profile``, ``data``); {} if it says
    nothing."""
    from PIL import Image

    with Image.open(path) as im:
        return {k.removeprefix(PNG_PREFIX): v for k, v in im.text.items() if k.startswith(PNG_PREFIX)}


__all__ = ["DPI", "figure_provenance", "savefig", "set_style"]
