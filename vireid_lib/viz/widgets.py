"""Three explorers where trying values beats reading a figure (notebooks 02, 06 and 08), each with a static fallback.

- :func:`rcc_explorer`: RCC's seven channel-mixing matrices (and any you add) applied to dataset images;
- :func:`theta_browser`: the θ sweeps of Fig. 4 over seeds, with a choice of band (±1 sd, 95 % interval, range);
- :func:`query_picker`: any query of the protocol ranked by several models, filtered by who gets it right.

In JupyterLab (an IPython kernel, ipywidgets installed) each function displays its widget and returns it. In a
batch run (the runner sets ``VIREID_BATCH_RUN=1`` for papermill's kernels) or outside a kernel, a widget would be
stored as a dead placeholder, so each draws a static figure of what the widget shows first and returns it: the
executed notebooks and the course website stay complete. A notebook calls one function, its line ending in ``;``
(the figure is shown once, by the inline backend).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

CHANNELS = ("R", "G", "B")


def interactive() -> bool:
    """Whether a widget can be shown: an IPython kernel, and not a batch run (``VIREID_BATCH_RUN=1``)."""
    from ..progress import batch_run

    if batch_run():
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show_in(out, fig) -> None:
    """Replace what the Output widget ``out`` shows by ``fig``, then close it (the inline backend must not show it
    again)."""
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        display(fig)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------
# RCC: channel-mixing matrices
# ---------------------------------------------------------------------------------------------------------------
def channel_matrices(extra: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """RCC's seven variants as 3×3 matrices (output channel c = row c · (R, G, B)), then ``extra`` ones."""
    from ..transforms import RCC_VARIANTS, rcc_matrices

    mats = {name: m.numpy() for name, m in zip(RCC_VARIANTS, rcc_matrices(), strict=True)}
    for name, m in (extra or {}).items():
        m = np.asarray(m, dtype=np.float32)
        if m.shape != (3, 3):
            raise ValueError(f"channel matrix {name!r} must be 3×3, got shape {m.shape}")
        mats[name] = m
    return mats


def recolour(images: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) images mixed by a 3×3 channel matrix: float (N, H, W, 3) in [0, 1]."""
    x = np.asarray(images, dtype=np.float32) / 255.0
    return np.clip(np.einsum("ij,...j->...i", np.asarray(matrix, np.float32), x), 0.0, 1.0)


def _matrix_panel(ax, m: np.ndarray, title: str) -> None:
    ax.imshow(m, vmin=0, vmax=1, cmap="Blues")
    for i in range(3):
        for j in range(3):
            v = float(m[i, j])
            whole = v in (0.0, 1.0)
            ax.text(j, i, f"{v:.0f}" if whole else f"{v:.3f}".lstrip("0"), ha="center", va="center",
                    fontsize=7.5 if whole else 5.5, color="white" if v > 0.6 else "black")
    ax.set_xticks(range(3), CHANNELS, fontsize=7)
    ax.set_yticks(range(3), CHANNELS, fontsize=7)
    ax.tick_params(length=0, pad=1)
    ax.grid(False)
    ax.set_title(title, fontsize=8.5)


def rcc_figure(images: np.ndarray, matrices: Mapping[str, np.ndarray], image: int = 0):
    """The static view: for each variant, its matrix (rows: output channel, columns: input channel) above the
    recoloured image number ``image``."""
    n = len(matrices)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 3.1), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.75], "hspace": 0.25, "wspace": 0.3})
    for c, (name, m) in enumerate(matrices.items()):
        _matrix_panel(axes[0, c], m, name)
        axes[1, c].imshow(recolour(images[image : image + 1], m)[0])
        axes[1, c].set_xticks([])
        axes[1, c].set_yticks([])
        axes[1, c].grid(False)
    axes[0, 0].set_ylabel("out ← in", fontsize=7)
    fig.suptitle("Each variant is a 3×3 matrix: output channel (row) = weights × input channels (R, G, B)",
                 fontsize=8.5, y=1.0)
    return fig


def _rcc_view(image: np.ndarray, m: np.ndarray, name: str):
    """The widget's view: the matrix, the image before and after, and each output channel in grey."""
    out = recolour(image[None], m)[0]
    fig, axes = plt.subplots(1, 6, figsize=(7.6, 2.6), gridspec_kw={"width_ratios": [1.4, 1, 1, 1, 1, 1]})
    _matrix_panel(axes[0], m, f"{name}: out ← in")
    panels = [(image, "original"), (out, name)] + [(out[..., c], f"output {ch}") for c, ch in enumerate(CHANNELS)]
    for ax, (img, title) in zip(axes[1:], panels, strict=True):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1 if img.dtype != np.uint8 else 255)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


def rcc_explorer(images: np.ndarray, extra: Mapping[str, np.ndarray] | None = None, image: int = 0):
    """Pick an image and a channel matrix, see what RCC makes of it (notebook 02). ``images``: uint8 (N, H, W, 3);
    ``extra``: more 3×3 matrices by name (e.g. CAJ's channel exchange). Static fallback: :func:`rcc_figure`."""
    mats = channel_matrices(extra)
    if not interactive():
        return rcc_figure(images, mats, image)
    import ipywidgets as W
    from IPython.display import display

    variant = W.ToggleButtons(options=list(mats), value=list(mats)[2], description="matrix",
                              style={"button_width": "auto"})
    which = W.IntSlider(value=image, min=0, max=len(images) - 1, description="image")
    out = W.Output()

    def draw(*_):
        _show_in(out, _rcc_view(images[which.value], mats[variant.value], variant.value))

    variant.observe(draw, "value")
    which.observe(draw, "value")
    box = W.VBox([variant, which, out])
    draw()
    display(box)
    return box


# ---------------------------------------------------------------------------------------------------------------
# θ sweeps over seeds
# ---------------------------------------------------------------------------------------------------------------
BANDS = ("±1 sd", "95 % interval", "range", "none")


def _band(values: pd.DataFrame, metric: str, band: str) -> pd.DataFrame:
    """Per θ: mean, and the band's low and high (NaN where it cannot be computed: one seed)."""
    from scipy import stats as st

    g = values.groupby("x")[metric]
    t = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.count(), "min": g.min(), "max": g.max()})
    if band == "±1 sd":
        half = t["sd"]
    elif band == "95 % interval":
        half = t["sd"] / np.sqrt(t["n"]) * st.t.ppf(0.975, (t["n"] - 1).clip(lower=1))
        half[t["n"] < 2] = np.nan
    else:
        half = None
    if band == "range":
        t["low"], t["high"] = t["min"].where(t["n"] >= 2), t["max"].where(t["n"] >= 2)
    elif half is not None:
        t["low"], t["high"] = t["mean"] - half, t["mean"] + half
    else:
        t["low"] = t["high"] = np.nan
    return t.reset_index()


def theta_figure(curves: pd.DataFrame, chosen: Mapping[str, float], peaks: Mapping[str, list] | None = None,
                 sweeps=("θ1", "θ2"), metric: str = "R1", band: str = "±1 sd", seeds: bool = True, title: str = ""):
    """One panel per sweep: ``metric`` against θ, each seed's curve (thin, when ``seeds``), the mean over seeds with
    its ``band`` (:data:`BANDS`), the paper's chosen θ dashed and its reported peaks dotted. ``curves``:
    :func:`vireid_lib.tables.theta_curves`."""
    sweeps = [s for s in sweeps if (curves["sweep"] == s).any()] or list(sweeps)[:1]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.3 * len(sweeps), 3.0), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps, strict=True):
        sub = curves[curves["sweep"] == sweep]
        if seeds:
            for s, one in sub.groupby("seed"):
                one = one.sort_values("x")
                ax.plot(one["x"], one[metric], lw=0.7, alpha=0.55, marker=".", ms=3, label=f"seed {s}")
        if len(sub):
            t = _band(sub, metric, band)
            ax.plot(t["x"], t["mean"], color="k", lw=1.8, marker="o", ms=3.5, label="mean over seeds")
            if t["low"].notna().any():
                ax.fill_between(t["x"], t["low"], t["high"], color="0.5", alpha=0.25, lw=0, label=band)
        ax.axvline(chosen[sweep], ls="--", color="tab:red", lw=1, label=f"paper's {sweep} = {chosen[sweep]:g}")
        for p in (peaks or {}).get(sweep, []):
            ax.axvline(p, ls=":", color="tab:red", lw=0.8)
        ax.set_xlabel(sweep)
        ax.set_ylabel(f"{metric} (%)")
    handles, names = axes[0, -1].get_legend_handles_labels()
    keep = {n: h for h, n in zip(handles, names, strict=True) if not n.startswith("paper's")}
    for ax, sweep in zip(axes[0], sweeps, strict=True):  # each panel's own paper line
        keep[f"paper's {sweep} = {chosen[sweep]:g}"] = ax.get_lines()[-1 - len((peaks or {}).get(sweep, []))]
    fig.suptitle(title or f"{metric} against θ, every seed and their mean ({band})", fontsize=9)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.legend(keep.values(), keep.keys(), loc="lower center", ncol=min(len(keep), 6), fontsize=7, frameon=False)
    return fig


def theta_browser(curves: pd.DataFrame, chosen: Mapping[str, float], peaks: Mapping[str, list] | None = None,
                  title: str = ""):
    """Browse the θ sweeps (notebook 06): which sweep, rank-1 or mAP, which band, each seed's curve or not.
    Static fallback: both sweeps' rank-1 with every seed and the ±1 sd band (:func:`theta_figure`)."""
    if not interactive():
        return theta_figure(curves, chosen, peaks, title=title)
    import ipywidgets as W
    from IPython.display import display

    sweep = W.ToggleButtons(options=["θ1", "θ2", "both"], value="both", description="sweep")
    metric = W.ToggleButtons(options=["R1", "mAP"], description="metric")
    band = W.ToggleButtons(options=list(BANDS), description="band")
    seeds = W.Checkbox(value=True, description="each seed's curve")
    out = W.Output()

    def draw(*_):
        which = ("θ1", "θ2") if sweep.value == "both" else (sweep.value,)
        _show_in(out, theta_figure(curves, chosen, peaks, which, metric.value, band.value, seeds.value, title))

    for w in (sweep, metric, band, seeds):
        w.observe(draw, "value")
    box = W.VBox([sweep, metric, band, seeds, out])
    draw()
    display(box)
    return box


# ---------------------------------------------------------------------------------------------------------------
# Retrieval: any query, several models
# ---------------------------------------------------------------------------------------------------------------
def query_filters(outcome: pd.DataFrame, labels: list[str]) -> dict[str, np.ndarray]:
    """Named sets of queries (positions) from :func:`vireid_lib.retrieval.outcomes`: all, each camera, and with two
    models, who gets rank-1 right."""
    f = {"all queries": outcome["query"].to_numpy()}
    for cam in sorted(outcome["cam"].unique()):
        f[f"camera {cam}"] = outcome.loc[outcome["cam"] == cam, "query"].to_numpy()
    if len(labels) >= 2:
        a, b = labels[:2]
        ra, rb = outcome[f"{a} right"], outcome[f"{b} right"]
        f[f"only {a} right"] = outcome.loc[ra & ~rb, "query"].to_numpy()
        f[f"only {b} right"] = outcome.loc[~ra & rb, "query"].to_numpy()
        f["both wrong"] = outcome.loc[~ra & ~rb, "query"].to_numpy()
    return f


def example_queries(outcome: pd.DataFrame, labels: list[str], seed: int = 0) -> list[int]:
    """The static view's queries: with two models, one query each model alone gets right and one both get wrong
    (drawn with ``seed`` where there are several); else three random queries."""
    rng = np.random.default_rng(seed)
    f = query_filters(outcome, labels)
    keys = [k for k in f if k.startswith("only ") or k == "both wrong"] or ["all queries"]
    picks = []
    for k in keys:
        pool = np.setdiff1d(f[k], picks)
        picks += [int(q) for q in rng.choice(pool, min(len(pool), 3 if k == "all queries" else 1), replace=False)]
    return picks


def query_picker(results: Mapping, outcome: pd.DataFrame, seed: int = 0, k: int = 10, title: str = ""):
    """Pick any query of the protocol and see its top-``k`` under every model of ``results`` (label →
    :class:`~vireid_lib.retrieval.Retrieval` over all queries), filtered by camera or by which model ranks the
    right person first (notebook 08). Static fallback: :func:`example_queries` drawn as a retrieval grid."""
    from .retrieval import retrieval_grid

    labels = list(results)
    if not interactive():
        qs = example_queries(outcome, labels, seed)
        fig, _ = retrieval_grid({lab: r.subset(qs) for lab, r in results.items()}, k=k, title=title)
        return fig
    import ipywidgets as W
    from IPython.display import display

    filters = query_filters(outcome, labels)
    which = W.Dropdown(options=[(f"{n} ({len(q)})", n) for n, q in filters.items()], description="queries")
    pos = W.IntSlider(value=0, min=0, max=max(len(filters["all queries"]) - 1, 0), description="query")
    info = W.HTML()
    out = W.Output()

    def choose(*_):
        pos.max = max(len(filters[which.value]) - 1, 0)
        pos.value = min(pos.value, pos.max)
        draw()

    def draw(*_):
        qs = filters[which.value]
        if not len(qs):
            info.value = "no query in this set"
            out.clear_output()
            return
        q = int(qs[pos.value])
        row = outcome.iloc[q]
        info.value = (f"query {q}: camera {row['cam']}, id {row['id']}; rank of the first right result: "
                      + ", ".join(f"{lab} {row[f'{lab} first match']}" for lab in labels))
        fig, _ = retrieval_grid({lab: r.subset([q]) for lab, r in results.items()}, k=k, title=title)
        _show_in(out, fig)

    which.observe(choose, "value")
    pos.observe(draw, "value")
    box = W.VBox([which, pos, info, out])
    draw()
    display(box)
    return box


__all__ = ["BANDS", "channel_matrices", "example_queries", "interactive", "query_filters", "query_picker",
           "rcc_explorer", "rcc_figure", "recolour", "theta_browser", "theta_figure"]
