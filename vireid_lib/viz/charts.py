"""Simple charts shared by several notebooks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def grouped_bars(df: pd.DataFrame, category: str, group: str, value: str, chance: str | None = None,
                 title: str = "", ylabel: str | None = None, figsize=(7.0, 2.8)):
    """One group of bars per ``category``, one bar per ``group``; optional ``chance`` column drawn as ticks."""
    cats = list(dict.fromkeys(df[category]))
    groups = list(dict.fromkeys(df[group]))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=figsize)
    for i, gname in enumerate(groups):
        sub = df[df[group] == gname].set_index(category).reindex(cats)
        xs = [c + (i - (len(groups) - 1) / 2) * width for c in range(len(cats))]
        bars = ax.bar(xs, sub[value], width, label=str(gname))
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
        if chance:
            ax.scatter(xs, sub[chance], marker="_", s=200, color="k", zorder=3,
                       label="chance" if i == 0 else None)
    ax.set_xticks(range(len(cats)))
    ax.set_xticklabels(cats, fontsize=7)
    ax.set_ylabel(ylabel or value)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
