"""Figures. One :func:`savefig` for every figure of the study: fixed dpi, byte-stable PNG (no software
version in the metadata), optional PDF without a creation date, saved atomically under ``results/figures``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from ..io import atomic_path
from ..paths import figures_dir

DPI = 120


def set_style() -> None:
    """The study's one plotting style (seaborn 'paper' context, white grid)."""
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid")
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "axes.titlesize": 9, "figure.titlesize": 10})


def savefig(fig, name: str, pdf: bool = False, close: bool = False) -> Path:
    """Save ``fig`` as ``results/figures/<name>.png`` (and ``.pdf``), byte-stable across reruns.

    The figure stays open (so a notebook still displays it) unless ``close``.
    """
    out = figures_dir() / f"{name}.png"
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    if pdf:
        with atomic_path(out.with_suffix(".pdf"), suffix=".pdf") as tmp:
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None},
                        bbox_inches="tight")
    if close:
        plt.close(fig)
    return out


__all__ = ["DPI", "savefig", "set_style"]
