"""Learning curves from a run's history (``metrics.jsonl`` / ``final.json``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def curves(history: list[dict], title: str = ""):
    """Left: each loss part per epoch; right: the intermediate evaluations (never used for model selection)."""
    losses = pd.DataFrame([h for h in history if "loss_total" in h]).set_index("epoch")
    evals = pd.DataFrame([{"epoch": h["epoch"], **h["eval"]} for h in history if "eval" in h])
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    for col in [c for c in losses.columns if c.startswith("loss_")]:
        axes[0].plot(losses.index, losses[col], label=col.removeprefix("loss_"), lw=2 if col == "loss_total" else 1)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss (mean over the epoch)")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=6, ncol=2)
    if len(evals):
        for m in ("R1", "mAP", "mINP"):
            axes[1].plot(evals["epoch"], evals[m], marker="o", label=m)
        axes[1].legend(fontsize=7)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("test metric (%)")
    axes[1].set_title("intermediate evaluations (logged, not used to select)", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
