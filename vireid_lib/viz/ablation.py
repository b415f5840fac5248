"""Figures of the ablations (Tables 1–4) and of the θ sweeps (Fig. 4)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..grids import THETA1_FIXED, THETA2_FIXED


def delta_bars(tables: dict[str, pd.DataFrame], title: str = ""):
    """One panel per table: each row's rank-1 difference from the table's reference row, the paper's (grey)
    beside ours (blue, with its 95 % confidence interval over seeds as error bar)."""
    fig, axes = plt.subplots(1, len(tables), figsize=(3.2 * len(tables), 3.2), squeeze=False)
    for ax, (name, df) in zip(axes[0], tables.items(), strict=True):
        df = df[df["compared with"] != "(reference)"]
        y = np.arange(len(df))
        ax.barh(y + 0.2, df["paper ΔR1"], height=0.4, color="0.6", label="paper")
        ours = pd.to_numeric(df["ours ΔR1"], errors="coerce").to_numpy(float)
        lo = np.nan_to_num(ours - pd.to_numeric(df["CI low"], errors="coerce").to_numpy(float))
        hi = np.nan_to_num(pd.to_numeric(df["CI high"], errors="coerce").to_numpy(float) - ours)
        ax.barh(y - 0.2, ours, height=0.4, xerr=np.vstack([lo, hi]), color="tab:blue", label="ours (95 % CI)",
                error_kw={"lw": 0.8})
        ax.axvline(0, color="k", lw=0.6)
        ax.set_yticks(y)
        ax.set_yticklabels(df["row"], fontsize=6)
        ax.invert_yaxis()
        ax.set_xlabel("Δ rank-1 vs reference (points)", fontsize=7)
        ax.set_title(name, fontsize=8)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def theta_sweep(curves: pd.DataFrame, chosen: dict[str, float], peaks: dict[str, list[float]], title: str = ""):
    """Fig. 4: rank-1 and mAP against θ1 (θ2 held fixed) and θ2 (θ1 held fixed), mean over seeds with a ±1 sd band; the
    paper's chosen values dashed, its reported θ2 peaks dotted."""
    import seaborn as sns

    sweeps = [s for s in ("θ1", "θ2") if s in set(curves["sweep"])]
    fig, axes = plt.subplots(1, max(1, len(sweeps)), figsize=(4.2 * max(1, len(sweeps)), 3.0), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=False):
        sub = curves[curves["sweep"] == sweep].melt(id_vars=["sweep", "x", "seed"], value_vars=["R1", "mAP"],
                                                     var_name="metric", value_name="value")
        sns.lineplot(sub, x="x", y="value", hue="metric", errorbar="sd", marker="o", ax=ax)
        ax.axvline(chosen[sweep], ls="--", color="k", lw=0.8, label=f"paper's choice {sweep} = {chosen[sweep]}")
        for p in peaks.get(sweep, []):
            ax.axvline(p, ls=":", color="0.4", lw=0.8)
        ax.set_xlabel(sweep + (f" (θ2 = {THETA2_FIXED})" if sweep == "θ1" else f" (θ1 = {THETA1_FIXED})"))
        ax.set_ylabel("%")
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
