"""The paper's claims and what this study's runs say of them (issue 12): one family, one vocabulary.

Every claim the report makes a verdict on is here, as a comparison the paper itself draws:

- **Table 1, read as the paper reads it (§4.3)**: each row against the row it adds to — +Fusion, +RCC and +CRE over
  Baseline, +RCC+CRE over +RCC, Fusion over +RCC+CRE, DML over +RCC+CRE+Fusion — and the whole method against
  Baseline, which the paper's conclusion claims.
- **Table 2**: every other set of fused layers against layer1+layer2+layer3 ("the best result").
- **Table 3, stepwise**: L_id and L_KD each against neither ("marginal"), L_id+L_KD against each alone ("superior
  to either used alone"), LSR against L_id+L_KD.
- **Table 4**: every direction of mutual learning against None.
- **Fig. 4**: the paper's θ against every other θ of its sweep (the claim: "the highest value at θ1 = 0.6", "θ2 =
  1.8 ... the highest").
- **Fig. 5**: the fusion branch's attention is wider than the global branch's, compared on a common grid over
  seeds (:func:`vireid_lib.gradcam.spread_by_seed`), or *not measurable*.
- **Table 5 (RegDB)**: the method against AGW (92.00 against 70.05 visible→thermal rank-1 in the paper). Table 1's
  Baseline, AGW's recipe without its non-local blocks and the model the paper builds on, stands in for AGW; the two
  are compared split by split (:func:`regdb_claim`).

Each comparison is a Welch test over seeds on rank-1 of SYSU-MM01 all-search (Table 5's: a paired t-test over the
RegDB splits; mAP as a second line, outside the family); the Holm adjustment runs over **every primary comparison of
the report at once** (:func:`family`), so a claim's adjusted p is the same in notebooks 05, 06, 07 and the report.
The vocabulary is :data:`vireid_lib.stats.VOCABULARY`; a θ claim's verdict is
:func:`vireid_lib.stats.theta_verdict` fed the family's adjusted p-values.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from . import paper, stats
from .grids import CHOSEN_THETA1, CHOSEN_THETA2, rows

#: (grid, row, the row it is compared with, what the paper says), in the paper's order
COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    ("table1", "+Fusion", "Baseline", "feature fusion improves on the baseline (rows 1, 2)"),
    ("table1", "+RCC", "Baseline", "RCC improves on the baseline (rows 1, 3)"),
    ("table1", "+CRE", "Baseline", "CRE improves on the baseline (rows 1, 4)"),
    ("table1", "+RCC+CRE", "+RCC", "CRE improves on RCC alone"),
    ("table1", "+RCC+CRE+Fusion", "+RCC+CRE", "fusion improves on RCC+CRE"),
    ("table1", "+RCC+CRE+Fusion+DML", "+RCC+CRE+Fusion", "DML improves on RCC+CRE+Fusion"),
    ("table1", "+RCC+CRE+Fusion+DML", "Baseline", "the method improves on the baseline (§5)"),
    *(("table2", r.name, "layer1+layer2+layer3", "fusing layer1-3 is best; layer4 lowers it")
      for r in rows("table2") if r.name != "layer1+layer2+layer3"),
    ("table3", "L_id", "none", "L_id alone: a marginal change"),
    ("table3", "L_KD", "none", "L_KD alone: a marginal change"),
    ("table3", "L_id+L_KD", "L_id", "L_id and L_KD together beat L_id alone"),
    ("table3", "L_id+L_KD", "L_KD", "L_id and L_KD together beat L_KD alone"),
    ("table3", "L_id+L_KD+LSR", "L_id+L_KD", "L_KD as label smoothing (LSR) improves"),
    *(("table4", r.name, "None", "DML between these branches" + (" lowers" if r.name == "Global-to-Fusion" else
                                                                   " improves") + " on no DML")
      for r in rows("table4") if r.name != "None"),
)

THETA_SWEEPS = (("theta1", "θ1", CHOSEN_THETA1, "Fig. 4a"), ("theta2", "θ2", CHOSEN_THETA2, "Fig. 4b"))
FIG5_CLAIM = "Fig. 5: the fusion branch attends to a wider area than the global branch"
REGDB_CLAIM = "Table 5: Ours vs Baseline (for AGW), RegDB"
REGDB_PROTOCOL = "RegDB visible-to-thermal"


def _paper_delta(grid: str, row: str, against: str) -> float:
    table = rows(grid)[0].table
    t = paper.table(table).set_index("row")
    return float(t.loc[row, "R1"] - t.loc[against, "R1"])


def values(grids_long: dict[str, pd.DataFrame], metric: str = "R1") -> dict[tuple[str, str], np.ndarray]:
    """Per (grid, row): the per-seed values of ``metric`` on the main protocol, in seed order, fresh runs only
    (a stale run's numbers are not today's code's)."""
    out = {}
    for grid, long in grids_long.items():
        if not len(long):
            continue
        main = next((p for p in dict.fromkeys(long["protocol"]) if "all-search" in p or "visible-to-thermal" in p),
                    None)
        sub = long[(long["protocol"] == main) & (long["metric"] == metric) & (long["stale"] == "")]
        for row, g in sub.groupby("row", sort=False):
            out[(grid, row)] = g.sort_values("seed")["value"].to_numpy(float)
    return out


def _second_stage(grids_long: dict[str, pd.DataFrame], r1: dict, grid: str, *names: str) -> str:
    """"yes" when a row of the comparison is in the profile's written second stage (:func:`plan_seeds`) and has
    more seeds than its first stage, else "" (extra seeds a notebook asked for are not a second stage)."""
    from .grids import seed_plan

    long = grids_long[grid]
    profile = str(long["profile"].iloc[0]) if len(long) else "cpu"
    plan = seed_plan(profile)
    by_name = {r.name: r for r in rows(grid)}
    return "yes" if any(n in by_name and by_name[n].run_name in plan
                        and len(r1[(grid, n)]) > len(by_name[n].first_stage_seeds(profile)) for n in names) else ""


def claims(grids_long: dict[str, pd.DataFrame], fig5: stats.TestResult | None = None) -> list[stats.Claim]:
    """The report's claims as :class:`~vireid_lib.stats.Claim` objects: rank-1 comparisons (primary), their mAP
    (secondary), the θ comparisons and Fig. 5 (when measured). Comparisons whose runs are missing are left out.
    A comparison that rests on second-stage seeds (:func:`plan_seeds`) says so in its ``second stage`` column."""
    r1, mp = values(grids_long, "R1"), values(grids_long, "mAP")
    out = []
    for grid, row, against, says in COMPARISONS:
        if (grid, row) not in r1 or (grid, against) not in r1:
            continue
        table = rows(grid)[0].table
        text = f"{table}: {row} vs {against}"
        extra = {"row": row, "against": against, "the paper says": says,
                 "second stage": _second_stage(grids_long, r1, grid, row, against)}
        out.append(stats.Claim(text, _paper_delta(grid, row, against), r1[(grid, row)], r1[(grid, against)],
                               table=table, extra=extra))
        if (grid, row) in mp and (grid, against) in mp:
            t = paper.table(table).set_index("row")
            out.append(stats.Claim(text, float(t.loc[row, "mAP"] - t.loc[against, "mAP"]), mp[(grid, row)],
                                   mp[(grid, against)], table=table, metric="mAP", primary=False, extra=extra))
    for grid, sweep, chosen, table in THETA_SWEEPS:
        chosen_name = f"{sweep} = {chosen:g}"
        if (grid, chosen_name) not in r1:
            continue
        for r in rows(grid):
            if r.name == chosen_name or (grid, r.name) not in r1:
                continue
            out.append(stats.Claim(f"{table}: {chosen_name} vs {r.name}", 1.0, r1[(grid, chosen_name)],
                                   r1[(grid, r.name)], table=table, no_effect_below=0.0,
                                   extra={"row": chosen_name, "against": r.name,
                                          "the paper says": f"rank-1 is highest at {chosen_name}",
                                          "second stage": _second_stage(grids_long, r1, grid, chosen_name, r.name)}))
    out += regdb_claim(grids_long.get("table5"), grids_long.get("regdb_baseline"))
    if fig5 is not None:
        out.append(stats.Claim(FIG5_CLAIM, 1.0, result=fig5, table="Fig. 5", metric="spread", no_effect_below=0.0,
                               extra={"row": "fusion", "against": "global",
                                      "the paper says": "the fusion branch's red area is more extensive"}))
    return out


def _per_split(long: pd.DataFrame | None, row_prefix: str, metric: str) -> dict[int, float]:
    """Split → the mean over that split's fresh seeds of ``metric`` on RegDB visible→thermal."""
    if long is None or not len(long):
        return {}
    sub = long[long["row"].str.startswith(row_prefix) & (long["protocol"] == REGDB_PROTOCOL)
               & (long["metric"] == metric) & (long["stale"] == "")]
    return {int(x): float(g["value"].mean()) for x, g in sub.groupby("x")}


def regdb_claim(table5: pd.DataFrame | None, baseline: pd.DataFrame | None) -> list[stats.Claim]:
    """Table 5's claim, the method above AGW on RegDB (the paper: 92.00 against 70.05 visible→thermal rank-1), with
    Table 1's Baseline for AGW (AGW's recipe without its non-local blocks: the model the paper builds on), as two
    :class:`~vireid_lib.stats.Claim` objects (rank-1 in the family, mAP descriptive), or none before both have a run.

    RegDB's protocol trains one model per train/test split and reports the mean over the 10 splits, so the unit
    here is the split: per split, the method's rank-1 averaged over its seeds against the Baseline's (one seed per
    split), a paired t-test over the splits that have both (:func:`vireid_lib.stats.paired`); pairing removes how
    hard each split's test identities are. ``table5``/``baseline``: :func:`vireid_lib.tables.grid_long` of the
    ``table5`` and ``regdb_baseline`` grids."""
    from . import paper

    out = []
    for metric, primary in (("R1", True), ("mAP", False)):
        ours, base = _per_split(table5, "Ours", metric), _per_split(baseline, "Baseline", metric)
        splits = sorted(set(ours) & set(base))
        if not splits:
            continue
        n_seeds = int(table5[table5["row"].str.startswith("Ours") & (table5["stale"] == "")
                             & (table5["metric"] == metric)].groupby("x")["seed"].nunique().min())
        res = stats.paired([ours[t] for t in splits], [base[t] for t in splits])
        res = dataclasses.replace(res, test=f"paired t over {len(splits)} RegDB splits")
        delta = (paper.row("Table 5", "Ours", REGDB_PROTOCOL)[metric]
                 - paper.row("Table 5", "AGW[23]", REGDB_PROTOCOL)[metric])
        out.append(stats.Claim(REGDB_CLAIM, float(delta), result=res, table="Table 5", metric=metric,
                               primary=primary, extra={
                                   "row": "Ours", "against": "Baseline",
                                   "the paper says": "the method beats AGW on RegDB visible→thermal (Table 5); our "
                                                     "Table 1 Baseline stands in for AGW",
                                   "seeds": f"{len(splits)} splits (Ours: ≥ {n_seeds} seed(s) each, Baseline: 1)"}))
    return out


def _first_stage_only(grids_long: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``grids_long`` without the second stage's seeds: each row keeps the seeds of its first stage."""
    out = {}
    for g, long in grids_long.items():
        if long is None or not len(long):
            out[g] = long
            continue
        profile = str(long["profile"].iloc[0])
        first = {r.name: len(r.first_stage_seeds(profile)) for r in rows(g)}
        out[g] = long[long["seed"] < long["row"].map(first).fillna(np.inf)]
    return out


def family(grids_long: dict[str, pd.DataFrame], fig5: stats.TestResult | None = None) -> pd.DataFrame:
    """The verdict table of the whole report: every claim with Δ, 95 % CI, p, Holm-adjusted p over the family,
    verdict, seeds and what would resolve it (:func:`vireid_lib.stats.verdict_table`). Once a second stage of seeds
    has been trained (:func:`plan_seeds`), a claim that rests on it also shows the verdict its first stage gave
    (``first-stage verdict``, Holm over the first stage's family), so that a reader sees what the seeds changed."""
    table = stats.verdict_table(claims(grids_long, fig5))
    if "second stage" in table and table["second stage"].eq("yes").any():
        attrs = dict(table.attrs)
        first = stats.verdict_table(claims(_first_stage_only(grids_long), fig5)).set_index(["claim", "metric"])
        table["first-stage verdict"] = [first["verdict"].get((c, m), "") if s == "yes" else ""
                                        for c, m, s in zip(table["claim"], table["metric"], table["second stage"],
                                                           strict=True)]
        table.attrs.update(attrs)
    return table


def theta_verdicts(grids_long: dict[str, pd.DataFrame], table: pd.DataFrame) -> dict[str, dict]:
    """Per sweep ("θ1", "θ2"): :func:`vireid_lib.stats.theta_verdict` of the paper's θ with the family's adjusted
    p-values (``table``: :func:`family`'s output)."""
    r1 = values(grids_long, "R1")
    out = {}
    for grid, sweep, chosen, tname in THETA_SWEEPS:
        vals = {r.x: r1[(grid, r.name)] for r in rows(grid) if (grid, r.name) in r1}
        if not any(abs(x - chosen) < 1e-9 for x in vals):
            continue
        sub = table[(table["table"] == tname) & (table["metric"] == "R1")]
        adjusted = {float(s.split("= ")[-1]): p for s, p in zip(sub["against"], sub["adjusted p"], strict=True)}
        has_p = {x for x, v in vals.items() if len(v) >= 2 and abs(x - chosen) > 1e-9}
        adjusted = {x: p for x, p in adjusted.items() if x in has_p and not np.isnan(p)}
        out[sweep] = stats.theta_verdict(vals, chosen, adjusted=adjusted if len(vals.get(chosen, [])) >= 2 else None)
    return out




# ---------------------------------------------------------------------------------------------------------------
# The whole study's family, and the paper's ambiguous readings
# ---------------------------------------------------------------------------------------------------------------
ABLATION_GRIDS = ("table1", "table2", "table3", "table4", "theta1", "theta2")
#: the grids of the family's RegDB claim (:func:`regdb_claim`)
REGDB_GRIDS = ("table5", "regdb_baseline")


def study_long(profile: str, seeds=None, data_root: str | None = None, reading: str | None = None
               ) -> dict[str, pd.DataFrame]:
    """:func:`vireid_lib.tables.grid_long` of every grid the family draws on (the RegDB grids on their own data:
    ``data_root`` is SYSU-MM01's; RegDB's runs keep every split's and row's seeds, whatever ``seeds``)."""
    from .tables import grid_long

    out = {g: grid_long(g, profile, seeds, data_root, reading) for g in ABLATION_GRIDS}
    return {**out, **{g: grid_long(g, profile, None, None, reading) for g in REGDB_GRIDS}}


def study_family(profile: str, seeds=None, data_root: str | None = None, fig5: bool = True,
                 grids_long: dict[str, pd.DataFrame] | None = None, train: bool = True) -> pd.DataFrame:
    """The report's verdict table from the runs on disk (or from ``grids_long``, :func:`study_long`'s output read
    once by the caller), with Fig. 5's per-seed measurement when ``fig5`` and the method's models exist: the one
    table notebooks 05–07 and the report show slices of. ``df.attrs["fig5"]`` says how Fig. 5 was measured, or why
    it was not. ``train=False`` (a notebook's ``budget_minutes=0``) trains no missing model of Fig. 5's seeds: the
    claim then reads *not measured yet*."""
    from .gradcam import FIG5_SEEDS, ModelNotTrained, fig5_test, spread_by_seed

    f5, note, measured = None, "not requested", False
    if fig5:
        try:
            by_seed = spread_by_seed(profile, data_root=data_root, train_missing=train)
            f5, measured = fig5_test(by_seed), True
            note = (f"spread on the common grid {tuple(by_seed['grid'].iloc[0])}, seeds "
                    f"{', '.join(map(str, by_seed['seed']))} of the method")
        except ModelNotTrained as e:
            note = f"{stats.NOT_MEASURED_YET} ({e}; nothing is trained with budget_minutes=0)"
        except Exception as e:  # noqa: BLE001 - said in the table's attrs and by the notebooks
            note = (f"{stats.NOT_MEASURABLE} ({type(e).__name__}: {str(e)[:200]}; needs the method's models, seeds "
                    f"{FIG5_SEEDS[profile]})")
    fam = family(grids_long if grids_long is not None else study_long(profile, seeds, data_root), f5)
    if f5 is None:  # Fig. 5 stays in the table, unmeasured, outside the family
        if measured:
            note = f"{stats.NOT_MEASURABLE} (no seed has both branches' maps non-empty on the same images)"
        attrs = dict(fam.attrs)
        row = {"table": "Fig. 5", "claim": FIG5_CLAIM, "metric": "spread", "paper Δ": 1.0, "ours Δ": float("nan"),
               "CI low": float("nan"), "CI high": float("nan"), "p": float("nan"), "adjusted p": float("nan"),
               "verdict": note, "seeds": "0", "what would resolve it": "", "test": "",
               "row": "fusion", "against": "global", "the paper says": "the fusion branch's red area is more extensive"}
        fam = pd.concat([fam, pd.DataFrame([row])], ignore_index=True)
        fam.attrs.update(attrs)
    fam.attrs["fig5"] = note
    return fam


# ---------------------------------------------------------------------------------------------------------------
# The second stage of seeds (issue 12, item 4)
# ---------------------------------------------------------------------------------------------------------------
#: how the second stage is chosen, recorded with the plan
PLAN_RULE = ("every rank-1 claim of Tables 1–4 and Fig. 4 that the complete first stage leaves *not resolved*, "
             "and that the power estimate says {max_seeds} or fewer seeds per row would resolve (80 % power at "
             "the family's worst-case Holm level α/m, the observed Δ and spreads taken as the truth), gets that "
             "many seeds on both of its rows; rows that are one configuration (the method in every table) share "
             "the most seeds any of them needs")


def _check_first_stage(grids_long: dict[str, pd.DataFrame], profile: str,
                       grids: tuple[str, ...] = ABLATION_GRIDS) -> None:
    """Every row of ``grids`` has fresh runs of all its first-stage seeds, else a :class:`VireidError` naming them."""
    from .errors import VireidError

    r1 = values(grids_long, "R1")
    missing = [(g, f"{r.run_name} ({len(r1.get((g, r.name), []))}/{len(r.first_stage_seeds(profile))})")
               for g in grids for r in rows(g)
               if len(r1.get((g, r.name), [])) < len(r.first_stage_seeds(profile))]
    if missing:
        todo = " ".join(dict.fromkeys(g for g, _ in missing))
        raise VireidError(f"the first stage is not complete: {len(missing)} row(s) lack fresh runs of their seeds "
                          f"(e.g. {', '.join(m for _, m in missing[:4])}); finish the grid (`vireid grid {todo} "
                          f"--profile {profile}`) before planning a second stage")


def plan_from(grids_long: dict[str, pd.DataFrame], fam: pd.DataFrame, profile: str,
              data_root: str | None = None, max_seeds: int = stats.MAX_SEEDS) -> pd.DataFrame:
    """The second stage of seeds from a complete first stage (``grids_long``: :func:`study_long`; ``fam``: its
    verdict table, :func:`family` or :func:`study_family`): one line per row that gets more seeds (:data:`PLAN_RULE`),
    with the claims that ask for them. Raises :class:`~vireid_lib.errors.VireidError` when a row of Tables 1–4 or
    Fig. 4 has not finished its first-stage seeds (a plan drawn from part of the runs would be another plan)."""
    from .engine import run_identity

    _check_first_stage(grids_long, profile)
    r1 = values(grids_long, "R1")
    grid_of = {rows(g)[0].table: g for g in ABLATION_GRIDS}
    m, alpha = max(1, int(fam.attrs.get("family_size", 1))), float(fam.attrs.get("alpha", stats.ALPHA))
    need: dict[tuple[str, str], int] = {}
    why: dict[tuple[str, str], list[str]] = {}
    open_claims = fam[(fam["metric"] == "R1") & (fam["verdict"].map(stats.verdict_name).isin(
        (stats.NOT_RESOLVED, stats.ONE_SEED)))]
    counts = {"open": 0, "one seed": 0, "no spread": 0, "beyond": 0, "enough already": 0}
    for _, c in open_claims.iterrows():
        g = grid_of.get(c["table"])
        if g is None:  # Fig. 5 (the showcased models' seeds) and Table 5 (its units are splits)
            continue
        counts["open"] += 1
        a, b = r1[(g, c["row"])], r1[(g, c["against"])]
        if len(a) < 2 or len(b) < 2:  # no spread to plan from
            counts["one seed"] += 1
            continue
        if a.std(ddof=1) == 0 and b.std(ddof=1) == 0:  # identical seeds: no power estimate exists
            counts["no spread"] += 1
            continue
        k = stats.seeds_to_resolve(float(a.mean() - b.mean()), float(a.std(ddof=1)), float(b.std(ddof=1)),
                                   alpha / m, stats.POWER, max_seeds)
        if k is None or k <= min(len(a), len(b)):
            counts["beyond" if k is None else "enough already"] += 1
            continue
        for key in ((g, c["row"]), (g, c["against"])):
            need[key] = max(need.get(key, 0), k)
            why.setdefault(key, []).append(c["claim"])
    ident = {(g, r.name): run_identity(r.config(profile, 0, data_root)) for g in ABLATION_GRIDS for r in rows(g)}
    by_identity: dict[str, int] = {}
    for key, k in need.items():
        by_identity[ident[key]] = max(by_identity.get(ident[key], 0), k)
    trained: dict[str, int] = {}  # per configuration, the seeds its rows' first stages already train
    for g in ABLATION_GRIDS:
        for r in rows(g):
            trained[ident[(g, r.name)]] = max(trained.get(ident[(g, r.name)], 0), len(r.first_stage_seeds(profile)))
    new_runs = sum(max(0, k - trained[i]) for i, k in by_identity.items())
    out = []
    for g in ABLATION_GRIDS:
        for r in rows(g):
            k, first = by_identity.get(ident[(g, r.name)], 0), len(r.first_stage_seeds(profile))
            if k > first:
                out.append({"run": r.run_name, "grid": g, "row": r.name, "seeds (first stage)": first,
                            "seeds planned": k, "claims": "; ".join(why.get((g, r.name), ["the same configuration "
                                                                                        "as a row that needs them"]))})
    df = pd.DataFrame(out, columns=["run", "grid", "row", "seeds (first stage)", "seeds planned", "claims"])
    df.attrs.update(family_size=m, alpha=alpha, max_seeds=max_seeds, counts=counts, new_runs=new_runs)
    return df


def plan_seeds(profile: str, data_root: str | None = None, max_seeds: int = stats.MAX_SEEDS) -> pd.DataFrame:
    """:func:`plan_from` on the runs on disk and the report's verdict table (with Fig. 5, so that the Holm level is
    the report's)."""
    long = study_long(profile, None, data_root)
    # the whole family's first stage (Table 5 and the RegDB baseline count in α/m), before Fig. 5's Grad-CAM maps
    _check_first_stage(long, profile, ABLATION_GRIDS + REGDB_GRIDS)
    return plan_from(long, study_family(profile, None, data_root, grids_long=long), profile, data_root, max_seeds)


def write_seed_plan(profile: str, plan: pd.DataFrame, force: bool = False) -> str:
    """Write ``plan`` (:func:`plan_seeds`) as ``profile``'s second stage in :data:`vireid_lib.grids.SEED_PLAN`
    (atomically; other profiles' plans kept). A plan is made once, from the complete first stage: replacing an
    existing one (a second look at the data) needs ``force``. Returns what was written, as text."""
    import datetime

    from .errors import VireidError
    from .grids import SEED_PLAN
    from .io import atomic_write_text

    try:
        data = json.loads(SEED_PLAN.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except ValueError as e:
        raise VireidError(f"{SEED_PLAN} is not valid JSON ({e}); restore it with git checkout before writing a "
                          "plan") from None
    if profile in data and not force:
        raise VireidError(f"{SEED_PLAN.name} already holds the {profile} profile's second stage (made "
                          f"{data[profile].get('made', '?')}); a plan is drawn once from the first stage. Pass "
                          "--force to replace it (and say why in the commit)")
    data[profile] = {"made": datetime.date.today().isoformat(),
                     "rule": PLAN_RULE.format(max_seeds=plan.attrs.get("max_seeds", stats.MAX_SEEDS)),
                     "family": f"{plan.attrs.get('family_size')} claims (rank-1, and Fig. 5's spread), "
                               f"α = {plan.attrs.get('alpha')}",
                     "seeds": {r["run"]: int(r["seeds planned"]) for _, r in plan.iterrows()}}
    text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    atomic_write_text(SEED_PLAN, text)
    return text


def _method_keys(profile: str, data_root: str | None = None) -> set[tuple[str, str]]:
    """The (grid, row) pairs that are the method itself (the full configuration), in every grid of the family."""
    from .config import experiment_config
    from .engine import run_identity

    full = run_identity(experiment_config(profile, seed=0, data_root=data_root))
    return {(g, r.name) for g in ABLATION_GRIDS for r in rows(g)
            if run_identity(r.config(profile, 0, data_root)) == full}


SENSITIVITY_READINGS = ("wrt-agw", "agw", "test-pool", "dml-mutual", "no-lsr", "fusion-adaptive", "fusion-free")


def _with_method(base_long: dict[str, pd.DataFrame], keys: set[tuple[str, str]], method: pd.DataFrame
                 ) -> dict[str, pd.DataFrame]:
    """``base_long`` with the method's rows' runs replaced by ``method`` (a grid_long of one row)."""
    out = {}
    for g, df in base_long.items():
        swap = [r for gg, r in keys if gg == g]
        table = df["table"].iloc[0] if len(df) else ""
        parts = [df[~df["row"].isin(swap)]] + [method.assign(row=r, table=table) for r in swap]
        out[g] = pd.concat(parts, ignore_index=True)
    return out


def sensitivity(profile: str, data_root: str | None = None) -> pd.DataFrame:
    """The method under each of the paper's ambiguous readings (:data:`vireid_lib.config.READINGS`): its rank-1 and,
    for every rank-1 claim that involves the method, the verdict when the method's runs are the reading's, beside
    our default reading's verdict. A reading of how the method is trained swaps the method's runs for the reading's
    (the ``readings`` grid; "no-lsr" is Table 3's L_id+L_KD row); the test feature, which every run records, is
    applied to every row alike. One Holm family per reading, built as :func:`family` builds the report's (without
    Fig. 5)."""
    from .tables import grid_long

    base_long = study_long(profile, data_root=data_root)
    base = family(base_long)
    keys = _method_keys(profile, data_root)
    names = {r for _, r in keys}
    for col in ("row", "against"):  # a family with no comparison yet (no run finished) has no such column
        if col not in base:
            base[col] = pd.Series(dtype=object)
    involved = base[(base["metric"] == "R1") & (base["row"].isin(names) | base["against"].isin(names))]
    readings_long = grid_long("readings", profile, data_root=data_root)
    out = []
    for name in SENSITIVITY_READINGS:
        if name == "test-pool":
            long = study_long(profile, data_root=data_root, reading="test_feature=pool")
            method = long["table1"][long["table1"]["row"] == "+RCC+CRE+Fusion+DML"]
        else:
            method = (base_long["table3"][base_long["table3"]["row"] == "L_id+L_KD"] if name == "no-lsr"
                      else readings_long[readings_long["row"] == name])
            long = _with_method(base_long, keys, method)
        vals = next(iter(values({"m": method}).values()), np.array([]))
        fam = family(long)
        for _, c in involved.iterrows():
            hit = fam[(fam["claim"] == c["claim"]) & (fam["metric"] == "R1")]
            v = hit["verdict"].iloc[0] if len(hit) else "not run"
            out.append({"reading": name, "switches": _switches(name), "method R1": float(vals.mean()) if len(vals)
                        else float("nan"), "seeds": len(vals), "claim": c["claim"], "verdict (ours)": c["verdict"],
                        "verdict (this reading)": v,
                        "ours Δ (this reading)": float(hit["ours Δ"].iloc[0]) if len(hit) else float("nan"),
                        "adjusted p (this reading)": float(hit["adjusted p"].iloc[0]) if len(hit) else float("nan"),
                        "changes the verdict": bool(len(hit)) and stats.verdict_name(v) != stats.verdict_name(
                            c["verdict"])})
    return pd.DataFrame(out)


def _switches(name: str) -> str:
    from .config import READINGS

    return ", ".join(f"{k}={v}" for k, v in READINGS[name].items())


__all__ = ["COMPARISONS", "FIG5_CLAIM", "REGDB_CLAIM", "SENSITIVITY_READINGS", "THETA_SWEEPS", "claims", "family",
           "plan_from", "plan_seeds", "regdb_claim", "sensitivity", "study_family", "study_long", "theta_verdicts",
           "values", "write_seed_plan"]
