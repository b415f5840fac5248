"""The report's claims (issue 12): Table 1 read stepwise, one Holm family over every claim, θ verdicts fed the
family's adjusted p-values, Fig. 5 as a one-sample test, and the readings' sensitivity table."""

import json
import zlib

import numpy as np
import pandas as pd
import pytest

from vireid_lib import stats, verdicts
from vireid_lib.grids import rows


def long_frame(grid: str, means: dict[str, float], seeds=5, sd=0.5, stale: str = "") -> pd.DataFrame:
    """A grid_long-like frame: per row, ``seeds`` rank-1 (and mAP) values around ``means[row]``."""
    rng = np.random.default_rng(zlib.crc32(grid.encode()))  # stable across processes (hash() is salted)
    recs = []
    for r in rows(grid):
        if r.name not in means:
            continue
        for s, v in enumerate(means[r.name] + sd * rng.standard_normal(seeds)):
            for metric, value in (("R1", v), ("mAP", v + 2)):
                recs.append({"table": r.table, "row": r.name, "x": r.x, "seed": s, "protocol":
                             "SYSU-MM01 all-search single-shot", "metric": metric, "value": value, "run": "r",
                             "data": "synthetic", "profile": "cpu", "stale": stale})
    return pd.DataFrame(recs, columns=["table", "row", "x", "seed", "protocol", "metric", "value", "run", "data",
                                       "profile", "stale"])


TABLE1 = {"Baseline": 20, "+Fusion": 20.2, "+RCC": 31, "+CRE": 20.1, "+RCC+CRE": 31.2, "+RCC+CRE+Fusion": 31.1,
          "+RCC+CRE+Fusion+DML": 31.3}


def test_table1_is_read_stepwise_and_every_claim_is_in_one_family():
    table = verdicts.family({"table1": long_frame("table1", TABLE1)})
    r1 = table[table["metric"] == "R1"].set_index("claim")
    assert list(r1.index) == ["Table 1: +Fusion vs Baseline", "Table 1: +RCC vs Baseline", "Table 1: +CRE vs Baseline",
                              "Table 1: +RCC+CRE vs +RCC", "Table 1: +RCC+CRE+Fusion vs +RCC+CRE",
                              "Table 1: +RCC+CRE+Fusion+DML vs +RCC+CRE+Fusion",
                              "Table 1: +RCC+CRE+Fusion+DML vs Baseline"]
    # the paper's Δ of each step, from its Table 1 (72.57 − 69.68 = 2.89 for DML over +RCC+CRE+Fusion)
    assert r1.loc["Table 1: +RCC+CRE+Fusion+DML vs +RCC+CRE+Fusion", "paper Δ"] == pytest.approx(2.89)
    assert r1.loc["Table 1: +RCC vs Baseline", "verdict"] == "supported"  # 11 points over a spread of 0.5
    assert stats.verdict_name(r1.loc["Table 1: +RCC+CRE+Fusion vs +RCC+CRE", "verdict"]) == "not resolved"
    assert table.attrs["family_size"] == 7  # the mAP lines are outside the family
    assert (table.loc[table["metric"] == "mAP", "verdict"].str.startswith("descriptive")).all()
    assert (r1["adjusted p"] >= r1["p"]).all()


def test_stale_runs_do_not_count():
    table = verdicts.family({"table1": long_frame("table1", TABLE1, stale="code")})
    assert table.empty


def test_theta_claims_use_the_family_and_the_flat_sweep_is_not_supported():
    theta1 = {f"θ1 = {round(0.2 * i, 1)}": 30.0 for i in range(11)}
    theta2 = {**{f"θ2 = {round(0.2 * i, 1)}": 30.0 for i in range(11)}, "θ2 = 1.0": 40.0}
    grids = {"table1": long_frame("table1", TABLE1), "theta1": long_frame("theta1", theta1),
             "theta2": long_frame("theta2", theta2)}
    table = verdicts.family(grids)
    assert table.attrs["family_size"] == 7 + 10 + 10
    th = verdicts.theta_verdicts(grids, table)
    assert th["θ1"]["verdict_name"] == "consistent" and "θ does not matter here" in th["θ1"]["verdict"]
    assert th["θ2"]["verdict_name"] == "contradicted"  # θ2 = 1.0 beats the paper's 1.8 by 10 points
    # the θ verdict's adjusted p-values are the family's, not a Holm over the sweep alone
    fam = table[(table["table"] == "Fig. 4b") & (table["against"] == "θ2 = 1.0")]["adjusted p"].iloc[0]
    comp = th["θ2"]["comparisons"].set_index("θ")
    assert comp.loc[1.0, "adjusted p"] == pytest.approx(fam)


def test_fig5_enters_the_family_as_a_one_sample_test_over_seeds():
    fig5 = stats.one_sample([0.05, 0.06, 0.04])
    table = verdicts.family({"table1": long_frame("table1", TABLE1)}, fig5)
    f = table[table["claim"] == verdicts.FIG5_CLAIM].iloc[0]
    assert f["ours Δ"] == pytest.approx(0.05) and f["seeds"] == "3"
    one = verdicts.family({}, stats.one_sample([0.05]))
    assert one["verdict"].iloc[0] == stats.ONE_SEED and np.isnan(one["p"].iloc[0])


def test_the_sensitivity_table_swaps_the_methods_runs_for_a_readings(monkeypatch):
    from vireid_lib import tables

    base = {"table1": long_frame("table1", TABLE1)}
    for g in verdicts.ABLATION_GRIDS[1:]:
        base[g] = long_frame(g, {})
    readings = long_frame("readings", {"wrt-agw": 31.3, "agw": 31.3, "dml-mutual": 10.0, "fusion-adaptive": 31.3})
    monkeypatch.setattr(verdicts, "study_long", lambda profile, seeds=None, data_root=None, reading=None: base)
    monkeypatch.setattr(tables, "grid_long", lambda grid, profile, seeds=None, data_root=None, reading=None: readings)
    monkeypatch.setattr(verdicts, "_method_keys", lambda profile, data_root=None: {("table1", "+RCC+CRE+Fusion+DML")})
    s = verdicts.sensitivity("cpu")
    mutual = s[s["reading"] == "dml-mutual"].set_index("claim")
    # a method 21 points worse turns "the method improves on the baseline" into its opposite
    assert mutual.loc["Table 1: +RCC+CRE+Fusion+DML vs Baseline", "verdict (this reading)"] == "contradicted"
    assert bool(mutual.loc["Table 1: +RCC+CRE+Fusion+DML vs Baseline", "changes the verdict"])
    same = s[s["reading"] == "wrt-agw"]
    assert same["method R1"].iloc[0] == pytest.approx(31.3, abs=1) and same["seeds"].iloc[0] == 5
    assert set(s["reading"]) == set(verdicts.SENSITIVITY_READINGS)


def regdb_frame(grid: str, r1_by_split: dict[int, list[float]], stale: dict[int, str] | None = None) -> pd.DataFrame:
    """A grid_long-like frame of a RegDB grid: per split, one run per listed rank-1 (mAP = rank-1 + 1)."""
    recs = []
    for r in rows(grid):
        for s, v in enumerate(r1_by_split.get(int(r.x), [])):
            for metric, value in (("R1", v), ("mAP", v + 1), ("chance R1", 0.49)):
                recs.append({"table": r.table, "row": r.name, "x": r.x, "seed": s, "protocol":
                             "RegDB visible-to-thermal", "metric": metric, "value": value, "run": "r",
                             "data": "synthetic", "profile": "cpu", "stale": (stale or {}).get(int(r.x), "")})
    return pd.DataFrame(recs, columns=["table", "row", "x", "seed", "protocol", "metric", "value", "run", "data",
                                       "profile", "stale"])


def test_table5_is_tested_split_by_split_against_the_baseline_in_the_family():
    from scipy import stats as st

    rng = np.random.default_rng(5)
    base = {t: [7.0 + rng.normal()] for t in range(1, 11)}
    ours = {t: list(2.0 + rng.normal(size=3)) for t in range(1, 11)}
    ours[10] = []  # split 10 of the method not finished: that split is left out of the pairing
    grids = {"table1": long_frame("table1", TABLE1), "table5": regdb_frame("table5", ours, stale={9: "code"}),
             "regdb_baseline": regdb_frame("regdb_baseline", base)}
    table = verdicts.family(grids)
    assert table.attrs["family_size"] == 7 + 1  # Table 5's rank-1 claim joins the one Holm family
    t5 = table[table["claim"] == verdicts.REGDB_CLAIM].set_index("metric")
    splits = range(1, 9)  # 9 is stale, 10 has no run of the method
    a, b = [np.mean(ours[t]) for t in splits], [base[t][0] for t in splits]
    assert t5.loc["R1", "ours Δ"] == pytest.approx(np.mean(a) - np.mean(b))
    assert t5.loc["R1", "p"] == pytest.approx(st.ttest_rel(a, b).pvalue)
    assert t5.loc["R1", "paper Δ"] == pytest.approx(92.00 - 70.05)  # the paper's Ours against AGW, Table 5
    assert t5.loc["R1", "verdict"] == stats.CONTRADICTED  # 5 points below, against the paper's +21.95
    assert t5.loc["R1", "test"] == "paired t over 8 RegDB splits"
    assert t5.loc["R1", "seeds"] == "8 splits (Ours: ≥ 3 seed(s) each, Baseline: 1)"
    assert t5.loc["mAP", "verdict"].startswith(stats.DESCRIPTIVE)
    assert list(table.columns).count("seeds") == 1  # the claim's own "seeds" replaces the computed one
    # no claim before both grids have a run
    assert verdicts.regdb_claim(grids["table5"], None) == [] and verdicts.regdb_claim(None, None) == []


# --- the second stage of seeds (issue 12, item 4) -------------------------------------------------------------------
PATTERN = np.array([-1.2, -0.6, 0.0, 0.6, 1.2])  # the same spread (sd 0.95) on every row


def first_stage(means: dict[str, float], drop: str | None = None) -> dict[str, pd.DataFrame]:
    """Every grid of the family with each row's first-stage seeds of the cpu profile (rank-1 = mean + pattern);
    ``drop``: a run name left one seed short."""
    out = {}
    for g in verdicts.ABLATION_GRIDS:
        recs = []
        for r in rows(g):
            n = len(r.first_stage_seeds("cpu")) - (r.run_name == drop)
            for s in range(n):
                recs.append({"table": r.table, "row": r.name, "x": r.x, "seed": s, "protocol":
                             "SYSU-MM01 all-search single-shot", "metric": "R1",
                             "value": means.get(r.run_name, 30.0) + PATTERN[s], "run": "r", "data": "synthetic",
                             "profile": "cpu", "stale": ""})
        out[g] = pd.DataFrame(recs)
    return out


@pytest.fixture
def plan_file(tmp_path, monkeypatch):
    from vireid_lib import grids

    monkeypatch.setattr(grids, "SEED_PLAN", tmp_path / "seed_plan.json")
    return tmp_path / "seed_plan.json"


def test_the_second_stage_gives_more_seeds_where_the_power_estimate_says_they_would_resolve(plan_file):
    from vireid_lib.errors import VireidError

    long = first_stage({"Table 1: +RCC+CRE+Fusion+DML": 32.5})  # DML's step: +2.5 over 5 + 5 seeds of sd 0.95
    fam = verdicts.family(long)
    r1 = fam[fam["metric"] == "R1"].set_index("claim")
    step = "Table 1: +RCC+CRE+Fusion+DML vs +RCC+CRE+Fusion"
    assert r1.loc[step, "verdict"].startswith(stats.NOT_RESOLVED)
    plan = verdicts.plan_from(long, fam, "cpu").set_index("run")
    m = fam.attrs["family_size"]
    k = stats.seeds_to_resolve(2.5, PATTERN.std(ddof=1), PATTERN.std(ddof=1), 0.05 / m)
    assert 5 < k <= 10
    # the two arms of each open claim that k seeds would resolve (DML's step and the method against Baseline) ...
    assert plan.loc["Table 1: +RCC+CRE+Fusion+DML", "seeds planned"] == k
    assert plan.loc["Table 1: Baseline", "seeds planned"] == k
    assert step in plan.loc["Table 1: +RCC+CRE+Fusion", "claims"]
    # ... and every row that is the same configuration as one of them (the method in each table, no-DML rows)
    for same in ("Table 2: layer1+layer2+layer3", "Table 3: L_id+L_KD+LSR", "Table 4: Joint-to-Global&Fusion",
                 "Table 3: L_id", "Table 4: None"):
        assert plan.loc[same, "seeds planned"] == k and plan.loc[same, "claims"].startswith("the same configuration")
    assert "Table 1: +RCC" not in plan.index  # its claims are decided or out of reach: no more seeds
    # what the plan could not help, counted for `vireid plan-seeds` to say (equal rows: Δ 0 is out of reach)
    planned = r1[r1["table"].str.match(r"Table [1-4]|Fig\. 4") & r1["verdict"].str.startswith(stats.NOT_RESOLVED)]
    counts = plan.attrs["counts"]
    assert counts["open"] == len(planned) and counts["one seed"] == 0 and 0 < counts["beyond"] < counts["open"]

    # recorded once; the grids then train and read the planned seeds (explicit seeds still win)
    verdicts.write_seed_plan("cpu", plan.reset_index())
    baseline, rcc = rows("table1")[0], rows("table1")[2]
    assert baseline.seed_list("cpu") == tuple(range(k)) and baseline.first_stage_seeds("cpu") == tuple(range(5))
    assert rcc.seed_list("cpu") == tuple(range(5)) and baseline.seed_list("cpu", (0, 1)) == (0, 1)
    assert baseline.seed_list("smoke") == (0,)  # another profile has no plan
    with pytest.raises(VireidError, match="already holds"):
        verdicts.write_seed_plan("cpu", plan.reset_index())  # a plan is drawn once
    verdicts.write_seed_plan("smoke", plan.iloc[:0].reset_index())
    assert baseline.seed_list("cpu") == tuple(range(k))  # the cpu plan kept beside the smoke one


def test_no_second_stage_from_an_incomplete_first_stage_or_a_broken_plan_file(plan_file):
    from vireid_lib.errors import VireidError

    long = first_stage({}, drop="Table 2: layer1+layer3")
    with pytest.raises(VireidError, match=r"first stage is not complete: 1 row.*layer1\+layer3 \(2/3\)"):
        verdicts.plan_from(long, verdicts.family(long), "cpu")
    plan_file.write_text("{not json")
    with pytest.raises(VireidError, match="not valid JSON"):
        rows("table1")[0].seed_list("cpu")


def test_a_claim_on_second_stage_seeds_says_so(plan_file):
    long = first_stage({"Table 1: +RCC+CRE+Fusion+DML": 32.5})
    verdicts.write_seed_plan("cpu", verdicts.plan_from(long, verdicts.family(long), "cpu"))
    more = {g: df.copy() for g, df in long.items()}  # the method's row of Table 1 trained with 3 more seeds
    extra = more["table1"][more["table1"]["row"] == "+RCC+CRE+Fusion+DML"].iloc[:3].assign(seed=[5, 6, 7])
    more["table1"] = pd.concat([more["table1"], extra], ignore_index=True)
    fam = verdicts.family(more).set_index("claim")
    assert fam.loc["Table 1: +RCC+CRE+Fusion+DML vs Baseline", "second stage"] == "yes"
    assert fam.loc["Table 1: +RCC vs Baseline", "second stage"] == ""
    # ... beside the verdict of its first stage alone (Holm over that family), which the table keeps in view
    first = verdicts.family(long).set_index("claim")
    assert fam.loc["Table 1: +RCC+CRE+Fusion+DML vs Baseline", "first-stage verdict"] == \
        first.loc["Table 1: +RCC+CRE+Fusion+DML vs Baseline", "verdict"]
    assert fam.loc["Table 1: +RCC vs Baseline", "first-stage verdict"] == ""
    assert verdicts.family(long)["second stage"].eq("").all()  # the first stage alone
    assert "first-stage verdict" not in verdicts.family(long)
    plan_file.unlink()  # extra seeds without a written plan (a notebook's own seed list) are no second stage
    assert verdicts.family(more)["second stage"].eq("").all()


def test_the_plan_counts_new_runs_once_per_configuration_and_skips_claims_without_spread(plan_file):
    long = first_stage({"Table 1: +RCC+CRE+Fusion+DML": 32.5})
    plan = verdicts.plan_from(long, verdicts.family(long), "cpu")
    k = int(plan.set_index("run").loc["Table 1: Baseline", "seeds planned"])
    # Baseline and the method get k − 5 new seeds each; the method's and the no-DML rows of Tables 2–4 share the
    # method's or +RCC+CRE+Fusion's runs (Table 1 trains 5), so they add nothing of their own
    assert plan.attrs["new_runs"] == 3 * (k - 5)  # Baseline, the method, +RCC+CRE+Fusion (DML's step)
    # two rows whose seeds agree exactly: the verdict table says "not resolved", the plan has no estimate to make
    flat = {g: df.copy() for g, df in long.items()}
    t3 = flat["table3"]
    t3.loc[t3["row"].isin(["none", "L_KD"]), "value"] = np.where(t3.loc[t3["row"].isin(["none", "L_KD"]), "row"]
                                                                  == "none", 30.0, 30.5)
    plan = verdicts.plan_from(flat, verdicts.family(flat), "cpu")
    assert plan.attrs["counts"]["no spread"] == 1
    assert not plan["claims"].str.contains("Table 3: L_KD vs none", regex=False).any()


def test_run_names_are_unique_and_a_plan_naming_an_unknown_row_is_refused(plan_file):
    from vireid_lib.errors import VireidError
    from vireid_lib.grids import GRIDS

    names = [r.run_name for grid_rows, _ in GRIDS.values() for r in grid_rows]
    assert len(names) == len(set(names))  # the plan's keys: one row each
    plan_file.write_text(json.dumps({"cpu": {"seeds": {"Table 1: +Fusoin": 8}}}), encoding="utf-8")
    with pytest.raises(VireidError, match=r"names rows no grid has \(Table 1: \+Fusoin\)"):
        rows("table1")[0].seed_list("cpu")


def test_a_notebook_that_may_train_nothing_leaves_fig5_not_measured_yet(monkeypatch, tmp_path):
    """budget_minutes=0 ("train nothing") must hold for Fig. 5's models too: with a missing model, the claim reads
    *not measured yet*, outside the family, and nothing is trained."""
    from vireid_lib import experiments

    def no_training(*a, **k):
        raise AssertionError("a model was trained although training was not allowed")

    monkeypatch.setattr(experiments, "trained_model", no_training)
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))  # no run at all (another test may have trained some)
    fam = verdicts.study_family("smoke", train=False)
    assert fam.attrs["fig5"].startswith("not measured yet (the method's model, seed 0, is not trained")
    fig5 = fam[fam["table"] == "Fig. 5"]
    assert len(fig5) == 1 and np.isnan(fig5["p"].iloc[0])
    assert stats.verdict_name(fig5["verdict"].iloc[0]) == stats.NOT_MEASURED_YET  # a word of the vocabulary


def test_the_sensitivity_table_of_a_study_with_no_finished_run_is_empty_not_an_error(monkeypatch, tmp_path):
    """Notebook 09 run first (no grid run yet): no claim involves the method, so no verdict can change."""
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    sens = verdicts.sensitivity("smoke")
    assert sens.empty, sens
