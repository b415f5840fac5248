"""Tables: written once as CSV (the truth), Markdown (for the report) and optionally LaTeX (booktabs), with a
record of what they were made with beside them (``<name>.provenance.json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import VireidError
from .io import atomic_write_json, atomic_write_text
from .paths import provenance, tables_dir


def save_table(df: pd.DataFrame, name: str, tex: bool = False, floatfmt: str = ".1f", caption: str | None = None
               ) -> Path:
    """Write ``<tables_dir()>/<name>.csv`` and ``.md`` (and ``.tex``), atomically, and what the table was made
    with (notebook, profile, data) as ``<name>.provenance.json`` and a last line of the Markdown caption.
    Returns the CSV path."""
    out = tables_dir() / f"{name}.csv"
    atomic_write_text(out, df.to_csv(index=False, float_format="%.4g"))
    md = markdown(df, floatfmt)
    if caption:
        md = f"{md}\n\n{caption}"
    made_with = provenance()
    if made_with:
        md += (f"\n\n*Made by notebook {made_with.get('notebook', '?')}, profile {made_with.get('profile', '?')}, "
               f"data: {made_with.get('data', '?')}.*")
        atomic_write_json(_provenance_path(out), made_with)
    else:  # written outside a notebook: no stale record of an earlier table may stay beside it
        _provenance_path(out).unlink(missing_ok=True)
    atomic_write_text(out.with_suffix(".md"), md + "\n")
    if tex:
        styler = df.style.hide(axis="index").format(precision=int(floatfmt.strip(".f") or 1), na_rep="--")
        atomic_write_text(out.with_suffix(".tex"), styler.to_latex(hrules=True, caption=caption))
    return out


def markdown(df: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """``df`` as a Markdown table without its index; a cell that does not apply (NaN, None) reads "—", not "nan"."""
    return df.astype(object).where(df.notna(), None).to_markdown(index=False, floatfmt=floatfmt, missingval="—")


def table_provenance(csv: str | Path) -> dict[str, str]:
    """What a table saved by :func:`save_table` was made with (``notebook``, ``profile``, ``data``); {} if no
    record is beside it."""
    path = _provenance_path(Path(csv))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise VireidError(f"{path} is not a JSON record of what the table was made with ({e}); rerun the notebook "
                          "that made the table") from None


def _provenance_path(csv: Path) -> Path:
    return csv.with_name(f"{csv.stem}.provenance.json")


# ---------------------------------------------------------------------------------------------------------
# The paper's tables beside ours
# ---------------------------------------------------------------------------------------------------------
METRICS = ("R1", "R10", "R20", "mAP", "mINP")


def grid_long(grid: str, profile: str, seeds: tuple[int, ...] | None = None, data_root: str | None = None,
              reading: str | None = None):
    """Tidy results of a grid: one line per (row, seed, metric) for every finished run (the table's truth);
    ``stale`` says why a run's numbers no longer describe today's code or data (empty when they do).
    ``reading``: an evaluation-only reading every run records (``"test_feature=pool"``) instead of its results."""
    from .engine import run_identity
    from .experiments import grid_runs, load_result

    recs = []
    for row, seed, cfg in grid_runs([grid], profile, seeds, data_root):
        res = load_result(cfg)
        if res is None or (reading is not None and reading not in res.get("readings", {})):
            continue
        common = {"table": row.table, "row": row.name, "x": row.x, "seed": seed, "run": run_identity(cfg),
                  "data": res["provenance"]["data"], "profile": profile, "stale": res["stale"] or ""}
        results = res["results"] if reading is None else res["readings"][reading]
        for protocol, r in results.items():
            for m in METRICS:
                if m in r["mean"]:
                    recs.append({**common, "protocol": protocol, "metric": m, "value": r["mean"][m]})
            if "chance_R1" in r:  # rank-1 of a random ranking: 100 / number of gallery identities
                recs.append({**common, "protocol": protocol, "metric": "chance R1", "value": r["chance_R1"]})
    return pd.DataFrame(recs, columns=["table", "row", "x", "seed", "protocol", "metric", "value", "run", "data",
                                       "profile", "stale"])


def _main_protocol(long: pd.DataFrame) -> str:
    protos = list(dict.fromkeys(long["protocol"]))
    return next((p for p in protos if "all-search" in p or "visible-to-thermal" in p), protos[0] if protos else "")


def ablation_table(grid: str, profile: str, seeds: tuple[int, ...] | None = None,
                   data_root: str | None = None) -> pd.DataFrame:
    """Paper vs ours for an ablation table (Tables 1–4): the paper's numbers; ours as mean ± sample std (ddof = 1, as
    everywhere in the study) over each row's seeds (``seeds``, or each row's own: :meth:`~vireid_lib.grids.Row.
    seed_list`); each row's rank-1 difference from the table's reference row in the paper and in ours, with the 95 %
    confidence interval of ours (Welch, :func:`vireid_lib.stats.welch`). Whether a difference supports a claim is
    the verdict table's business (:mod:`vireid_lib.verdicts`: stepwise comparisons, one Holm family)."""
    from . import paper, stats
    from .grids import reference_row, rows

    long = grid_long(grid, profile, seeds, data_root)
    long = long[long["stale"] == ""] if len(long) else long
    proto = _main_protocol(long) if len(long) else ""
    long = long[long["protocol"] == proto] if len(long) else long
    ref = reference_row(grid)
    table_name = rows(grid)[0].table
    theirs = paper.table(table_name).set_index("row")

    def vals(name: str, m: str) -> np.ndarray:
        if not len(long):
            return np.array([])
        sub = long[(long["row"] == name) & (long["metric"] == m)]
        return sub.sort_values("seed")["value"].to_numpy(float)

    out = []
    for r in rows(grid):
        rec = {"row": r.name}
        for m in ("R1", "mAP", "mINP"):
            rec[f"paper {m}"] = theirs.loc[r.name, m] if r.name in theirs.index else float("nan")
        n = len(vals(r.name, "R1"))
        for m in ("R1", "mAP", "mINP"):
            v = vals(r.name, m)
            rec[f"ours {m}"] = (f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if n > 1 else f"{v.mean():.1f} (1 seed)"
                                ) if n else "pending"
        rec["seeds"] = f"{n}/{len(r.seed_list(profile, seeds))}"
        if ref is not None:
            rec["compared with"] = "(reference)" if r.name == ref else ref
            rec["paper ΔR1"] = theirs.loc[r.name, "R1"] - theirs.loc[ref, "R1"]
            a, b = vals(r.name, "R1"), vals(ref, "R1")
            if r.name == ref or not len(a) or not len(b):
                rec["ours ΔR1"] = rec["CI low"] = rec["CI high"] = float("nan")
            else:
                t = stats.welch(a, b)
                rec["ours ΔR1"], rec["CI low"], rec["CI high"] = t.delta, t.ci_low, t.ci_high
        out.append(rec)
    return pd.DataFrame(out)


def seeds_text(seeds) -> str:
    """How a table names its seeds: the list given, or each row's own (``seeds`` None)."""
    return f"seeds {', '.join(map(str, seeds))}" if seeds else "each row's seeds (the seeds column)"


def provenance_caption(profile: str, seeds, data_label: str, extra: str = "") -> str:
    """Caption of an ablation table (Tables 1–4): where the paper's numbers and ours come from."""
    return (f"Paper: real SYSU-MM01, ResNet-50, 288×144 (the paper's numbers). Ours: {data_label}, profile {profile}, "
            f"{seeds_text(seeds)}; mean ± std over seeds; Δ against the reference row with its 95 % CI (Welch). "
            f"{extra}").strip()


def comparison_caption(table: str) -> str:
    """Caption of Table 5 (RegDB) or Table 6 (SYSU-MM01): the paper's rows, and where our row comes from."""
    data = "RegDB, mean of its 10 splits" if table == "Table 5" else "SYSU-MM01, single-shot"
    return (f"{table}. Published rows: as the paper reports them (real {data}). Our row: data, profile, splits "
            f"and seeds in its `source` column; `chance R1` is the rank-1 of a random ranking on our test set.")


def comparison_reading(t: pd.DataFrame) -> str:
    """One line per protocol on our row of a comparison table: its rank-1 against chance and the paper's."""
    lines = []
    for proto in dict.fromkeys(t["protocol"]):
        sub = t[t["protocol"] == proto]
        ours, theirs = sub[sub["method"] == "ours (this study)"], sub[sub["method"] == "Ours"]
        if not len(ours):
            lines.append(f"- {proto}: our row is pending (no finished run).")
            continue
        o = ours.iloc[0]
        paper_r1 = f"; the paper's method: {theirs.iloc[0]['R1']:.1f}" if len(theirs) else ""
        lines.append(f"- {proto}: rank-1 {o['R1']:.1f} % against {o['chance R1']:.1f} % for a random ranking "
                     f"({o['R1'] / o['chance R1']:.1f}× chance), mAP {o['mAP']:.1f}{paper_r1} (on real data).")
    return "\n".join(lines)


def comparison_table(table: str, profile: str, seeds: tuple[int, ...] | None = None,
                     data_root: str | None = None) -> pd.DataFrame:
    """Tables 5 and 6: the paper's comparison with other methods, plus our measured row for the data this run
    used, marked as not comparable when that data is synthetic."""
    from . import paper
    from .config import data_config

    theirs = paper.table(table)
    grid = "table5" if table == "Table 5" else "table1"
    long = grid_long(grid, profile, seeds, data_root)
    long = long[(long["stale"] == "") & long["row"].str.startswith("Ours" if table == "Table 5" else
                                                                     "+RCC+CRE+Fusion+DML")]
    out = []
    for proto in dict.fromkeys(theirs["protocol"]):
        for _, r in theirs[theirs["protocol"] == proto].iterrows():
            out.append({"protocol": proto, "method": r["row"], "published": r.get("published", "") or "",
                        **{m: r[m] for m in METRICS if m in r}, "source": f"paper, {table}"})
        ours = long[long["protocol"] == proto.replace("SYSU-MM01 all-search", "SYSU-MM01 all-search single-shot")
                    .replace("SYSU-MM01 indoor-search", "SYSU-MM01 indoor-search single-shot")] if len(long) else long
        if len(ours):
            regdb = table == "Table 5"
            dc = data_config(profile, root=None if regdb else data_root, dataset="regdb" if regdb else "sysu")
            vals = {m: ours[ours.metric == m].value.mean() for m in (*METRICS, "chance R1")}
            note = "NOT comparable: synthetic data" if dc.is_synthetic else "measured on the real data"
            splits = f"mean of {ours['row'].nunique()} of 10 splits × " if regdb else ""
            seeds_done = sorted(set(ours["seed"]))
            out.append({"protocol": proto, "method": "ours (this study)", "published": "", **vals,
                        "source": f"{dc.label}, profile {profile}, {splits}seeds {','.join(map(str, seeds_done))}; "
                                  f"{note}"})
    df = pd.DataFrame(out)
    cols = [c for c in df.columns if c not in ("chance R1", "source")]
    return df[cols + [c for c in ("chance R1", "source") if c in df.columns]]


def training_health(grids: Sequence[str], profile: str, seeds: tuple[int, ...] | None = None,
                    data_root: str | None = None) -> pd.DataFrame:
    """Per grid: its finished runs (fresh ones; a run shared by two rows counts once) and those whose training
    diverged on the way (:func:`vireid_lib.training.divergence`), each named with the epoch, its mean loss against
    the first epoch's, the loss part that grew most, and the run's rank-1. Diverged runs stay in every table and
    test: dropping them would choose runs by their outcome."""
    from .engine import run_identity
    from .experiments import failure, grid_runs, load_result

    out = []
    for grid in grids:
        seen, bad, failed = set(), [], []
        for row, seed, cfg in grid_runs([grid], profile, seeds, data_root):
            res = load_result(cfg)
            run = run_identity(cfg)
            if run in seen:
                continue
            if res is None or res["stale"]:
                rec = failure(cfg)
                if rec is not None:
                    seen.add(run)
                    failed.append(f"{row.name}, seed {seed} ({run}): non-finite loss at epoch {rec['epoch']}, batch "
                                  f"{rec['batch']} ({rec['loss']})")
                continue
            seen.add(run)
            d = res["diverged"]
            if d:
                bad.append(f"{row.name}, seed {seed} ({run}): epoch {d['epoch']}, mean loss {d['loss']:.4g} against "
                           f"{d['first']:.3g} in epoch 1 (mostly {d['part']}), rank-1 {res['headline']['R1']:.2f} %")
        out.append({"grid": grid, "finished runs": len(seen) - len(failed), "diverged": len(bad),
                    "diverged runs": "; ".join(bad), "failed": len(failed), "failed runs": "; ".join(failed)})
    return pd.DataFrame(out, columns=["grid", "finished runs", "diverged", "diverged runs", "failed", "failed runs"])


def training_health_reading(health: pd.DataFrame) -> str:
    """One sentence (two with failed runs) on a :func:`training_health` table."""
    n_failed = int(health["failed"].sum()) if "failed" in health.columns and len(health) else 0
    failed = (f" {n_failed} run(s) failed: the loss became non-finite, so they have no result and are missing from the "
              "tables (the grid does not retrain them: the failure would repeat)." if n_failed else "")
    if not len(health) or not health["finished runs"].sum():
        return "No run of these grids has finished yet." + failed
    n_bad = int(health["diverged"].sum())
    grids = ", ".join(health.loc[health["diverged"] > 0, "grid"])
    return (f"{n_bad} of the {int(health['finished runs'].sum())} finished runs (counted per grid) diverged: a later "
            f"epoch's mean loss above twice the first epoch's" + (f" (in {grids})" if n_bad else "") + ". Diverged "
            "runs are kept in every table and test, as the method's behaviour under this profile; dropping them "
            "would choose runs by their outcome." + failed)


def theta_curves(profile: str, seeds: tuple[int, ...] | None = None, data_root: str | None = None) -> pd.DataFrame:
    """Fig. 4 data: one line per (sweep, θ, seed) with R1 and mAP of the main protocol."""
    frames = []
    for grid, param in (("theta1", "θ1"), ("theta2", "θ2")):
        long = grid_long(grid, profile, seeds, data_root)
        if not len(long):
            continue
        long = long[(long["protocol"] == _main_protocol(long)) & long["metric"].isin(["R1", "mAP"])]
        wide = long.pivot_table(index=["x", "seed"], columns="metric", values="value").reset_index()
        wide.insert(0, "sweep", param)
        frames.append(wide)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["sweep", "x", "seed", "R1", "mAP"])


def theta_table(curves: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4 per (sweep, θ): R1 and mAP mean, sample std and number of seeds (``06_theta_sweep.csv``)."""
    table = curves.groupby(["sweep", "x"])[["R1", "mAP"]].agg(["mean", "std", "count"])
    table.columns = [" ".join(c) for c in table.columns]
    return table.reset_index()


def theta_summary(table: pd.DataFrame, sweep: str, chosen: float) -> dict:
    """One sweep of a :func:`theta_table`: the best θ, the curve's span, the typical seed std (mean over the θ
    values run with ≥ 2 seeds, NaN when none are; ``noise_values`` says how many), and how far the paper's
    ``chosen`` θ is below the best (``gap``, NaN when that θ was not run)."""
    sub = table[table["sweep"] == sweep]
    best = sub.loc[sub["R1 mean"].idxmax()]
    at = sub[(sub["x"] - chosen).abs() < 1e-6]
    spread = sub.loc[sub["R1 count"] >= 2, "R1 std"]
    return {"best_x": float(best["x"]), "best_R1": float(best["R1 mean"]),
            "span": float(sub["R1 mean"].max() - sub["R1 mean"].min()),
            "noise": float(spread.mean()) if len(spread) else float("nan"), "noise_values": int(len(spread)),
            "gap": float(best["R1 mean"] - at["R1 mean"].iloc[0]) if len(at) else float("nan"),
            "values": len(sub), "min_seeds": int(sub["R1 count"].min())}


def theta_reading(table: pd.DataFrame, sweep: str, chosen: float) -> str:
    """One line of notebook 06's reading: a sweep's best θ and span against its seed spread, saying when the
    spread cannot be estimated yet (θ values with a single seed)."""
    t = theta_summary(table, sweep, chosen)
    text = (f"**{sweep}**: the best mean rank-1 is {t['best_R1']:.1f} % at {sweep} = {t['best_x']:g}; the curve "
            f"spans {t['span']:.1f} points")
    if t["noise_values"] == 0:
        return text + ", but no θ value has ≥ 2 seeds yet, so the seed spread is unknown (pending)."
    partial = (f" (over the {t['noise_values']} of {t['values']} values with ≥ 2 seeds)"
               if t["noise_values"] < t["values"] else "")
    return text + f", against a typical seed std of {t['noise']:.1f} points{partial}."


def regdb_difficulty(profile: str, data_root: str | None = None) -> pd.DataFrame:
    """How hard each dataset is for the paper's baseline (Table 1's Baseline, AGW-like): its mean rank-1 on
    SYSU-MM01 all-search and on RegDB visible→thermal (mean of the splits), beside chance and beside AGW's on the real
    data (the paper's Tables 5–6: 47.50 and 70.05, real RegDB easier than real SYSU-MM01). Each run's rank-1 is kept
    in ``attrs["R1 values"]`` (dataset → list) for :func:`regdb_difficulty_reading`'s test."""
    from . import paper
    from .config import experiment_config

    out, values = [], {}
    for grid, row, protocol, name in (("table1", "Baseline", "SYSU-MM01 all-search", "SYSU-MM01 all-search"),
                                      ("regdb_baseline", "Baseline (split", "RegDB visible-to-thermal",
                                       "RegDB visible→thermal")):
        long = grid_long(grid, profile, None, data_root if grid == "table1" else None)
        long = long[(long["stale"] == "") & long["row"].str.startswith(row)] if len(long) else long
        long = long[long["protocol"] == _main_protocol(long)] if len(long) else long
        r1 = long[long["metric"] == "R1"]["value"] if len(long) else pd.Series(dtype=float)
        chance = long[long["metric"] == "chance R1"]["value"] if len(long) else pd.Series(dtype=float)
        agw = paper.row("Table 6" if grid == "table1" else "Table 5", "AGW[23]", protocol)["R1"]
        n_pre = experiment_config(profile, **{"data.dataset": "sysu" if grid == "table1" else "regdb"}
                                  ).model.synthetic_pretrain_ids
        values[name] = [float(v) for v in r1]
        out.append({"dataset": name, "our baseline R1": r1.mean() if len(r1) else float("nan"),
                    "backbone starts": f"synthetic pretraining ({n_pre:,} ids)" if n_pre else "from scratch",
                    "runs": len(r1), "chance R1": chance.mean() if len(chance) else float("nan"),
                    "× chance": r1.mean() / chance.mean() if len(r1) and len(chance) else float("nan"),
                    "AGW on the real data (paper)": agw})
    df = pd.DataFrame(out)
    df.attrs["R1 values"] = values
    return df


def regdb_difficulty_reading(t: pd.DataFrame, alpha: float = 0.05) -> str:
    """Whether synthetic RegDB is easier than synthetic SYSU-MM01 for the baseline, as real RegDB is for AGW.

    Rank-1 compares across the two because the synthetic test galleries have the real ones' sizes (206 and 96
    identities), as AGW's two numbers do. The ordering is tested, not read off the means: Welch's t over the runs'
    rank-1 (RegDB: one run per split and seed; SYSU-MM01: one per seed, :func:`vireid_lib.stats.welch`); it
    *matches* or *is the reverse of* the real one only at p < ``alpha``, else it is *not resolved*."""
    from .stats import welch

    s, r = t.iloc[0], t.iloc[1]
    if pd.isna(s["our baseline R1"]) or pd.isna(r["our baseline R1"]):
        return "The baseline's runs on both datasets are not all finished yet (rerun to train them)."
    real_regdb_easier = r["AGW on the real data (paper)"] > s["AGW on the real data (paper)"]
    vals = t.attrs.get("R1 values", {})
    text = (f"On the real data AGW reaches {r['AGW on the real data (paper)']:.2f} % rank-1 on RegDB against "
            f"{s['AGW on the real data (paper)']:.2f} % on SYSU-MM01 (the paper's Tables 5–6). Our baseline reaches "
            f"{r['our baseline R1']:.1f} % on synthetic RegDB ({r['× chance']:.0f}× chance, {int(r['runs'])} runs) and "
            f"{s['our baseline R1']:.1f} % on synthetic SYSU-MM01 ({s['× chance']:.0f}× chance, "
            f"{int(s['runs'])} runs): ")
    if r["dataset"] not in vals or s["dataset"] not in vals:  # e.g. a table read back from its CSV
        raise VireidError("regdb_difficulty_reading needs the per-run rank-1 that regdb_difficulty keeps in "
                         "attrs['R1 values']; pass the table it returned, not a copy read back from a file")
    test = welch(vals[r["dataset"]], vals[s["dataset"]], alpha=alpha)
    if not test.has_p:
        text += f"the ordering is not resolved ({test.note.replace('seeds', 'runs')})"
    else:
        stat = (f"RegDB − SYSU-MM01 = {test.delta:+.1f} points, {100 * test.confidence:.0f} % CI "
                f"[{test.ci_low:+.1f}, {test.ci_high:+.1f}], Welch's t p = {test.p:.2g}")
        if test.p < alpha:
            same = (test.delta > 0) == real_regdb_easier
            text += ("the ordering matches the real one" if same else "the ordering is the reverse of the real one")
        else:
            text += "the ordering is not resolved, the two within the runs' noise"
        text += f" ({stat})"
    return text + (f"; backbone on RegDB: {r['backbone starts']}, on SYSU-MM01: {s['backbone starts']}."
                   if "backbone starts" in t.columns and r["backbone starts"] != s["backbone starts"] else ".")
