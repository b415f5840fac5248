"""Tables put the paper's numbers and ours side by side correctly: values, spreads, differences, verdicts."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from vireid_lib import paper
from vireid_lib.errors import VireidError
from vireid_lib.experiments import grid_runs, run_grid, run_path
from vireid_lib.tables import ablation_table, comparison_table, save_table, theta_curves


@pytest.fixture(scope="module")
def table4():
    run_grid(["table4"], "smoke", (0, 1), progress_bar=False)
    return ablation_table("table4", "smoke", (0, 1))


def test_ablation_table_merges_paper_and_measured_numbers(table4):
    assert list(table4["row"]) == [r for r in paper.table("Table 4")["row"]]
    for _, r in table4.iterrows():
        assert r["paper R1"] == paper.row("Table 4", r["row"])["R1"]
        finals = [json.loads((run_path(cfg) / "final.json").read_text())["headline"]["R1"]
                  for row, _, cfg in grid_runs(["table4"], "smoke", (0, 1)) if row.name == r["row"]]
        assert r["ours R1"] == f"{np.mean(finals):.1f} ± {np.std(finals, ddof=1):.1f}" and r["seeds"] == "2/2"
    ref = table4[table4["row"] == "None"].iloc[0]
    assert ref["compared with"] == "(reference)" and ref["paper ΔR1"] == 0
    g2f = table4[table4["row"] == "Global-to-Fusion"].iloc[0]
    assert g2f["paper ΔR1"] == pytest.approx(68.67 - 69.68)  # the paper's Table 4 R1, typed from its text


def test_comparison_table_adds_our_row_marked_not_comparable(table4):
    t6 = comparison_table("Table 6", "smoke", (0,))  # the full model (Table 1's last row) was run by Table 4
    ours = t6[t6["method"] == "ours (this study)"]
    assert len(t6[t6["method"] == "Ours"]) == 2  # the paper's own rows, both protocols
    assert len(ours) == 2 and ours["source"].str.contains("NOT comparable: synthetic").all()
    assert set(t6["protocol"]) == {"SYSU-MM01 all-search", "SYSU-MM01 indoor-search"}


def test_table5_averages_regdb_splits():
    from vireid_lib.grids import TABLE5

    run_grid(["table5"], "smoke", (0,), progress_bar=False)
    t5 = comparison_table("Table 5", "smoke", (0,))
    ours = t5[t5["method"] == "ours (this study)"]
    splits = sum(bool(r.seed_list("smoke", (0,))) for r in TABLE5)
    assert splits == 2  # the smoke profile runs two of the ten splits (the cpu profile all ten)
    assert len(ours) == 2 and ours["source"].str.contains(f"mean of {splits} of 10 splits").all()


def test_tables_are_written_as_csv_markdown_and_latex(tmp_path, table4):
    out = save_table(table4.round(2), "t4_test", tex=True, caption="cap")
    assert out.read_text().splitlines()[0].startswith("row,paper R1")
    assert "| row" in out.with_suffix(".md").read_text() and "cap" in out.with_suffix(".md").read_text()
    tex = out.with_suffix(".tex").read_text()
    assert "\\toprule" in tex and "Global-to-Fusion" in tex


def test_a_cell_that_does_not_apply_reads_as_a_dash_not_nan():
    df = pd.DataFrame({"outcome": ["both right", "only one right"], "median rank": [float("nan"), 5.5], "n": [0, 3]})
    out = save_table(df, "dash_test", tex=True, floatfmt=".1f")
    md, tex = out.with_suffix(".md").read_text(), out.with_suffix(".tex").read_text()
    assert "nan" not in md.lower() and "—" in md and "5.5" in md and "| 3 |" in md.replace("  ", " ").replace("  ", " ")
    assert "nan" not in tex.lower() and "--" in tex
    assert out.read_text().splitlines()[1] == "both right,,0"  # the CSV keeps an empty cell for pandas to read back


def test_theta_curves_are_tidy():
    run_grid(["theta1"], "smoke", (0,), progress_bar=False)
    c = theta_curves("smoke", (0,))
    assert sorted(c[c["sweep"] == "θ1"]["x"]) == [round(0.2 * i, 1) for i in range(11)]
    # shared points already exist for θ2: (θ1, θ2) = (0.6, 1.0) from the θ1 sweep, (0.6, 1.8) the full model
    assert {1.0, 1.8} <= set(c[c["sweep"] == "θ2"]["x"])
    assert {"R1", "mAP"} <= set(c.columns)


def test_comparison_rows_carry_chance_and_a_reading():
    from vireid_lib.tables import comparison_caption, comparison_reading

    run_grid(["table5"], "smoke", (0,), progress_bar=False)
    t5 = comparison_table("Table 5", "smoke", (0,))
    ours = t5[t5["method"] == "ours (this study)"]
    # the smoke RegDB test half has 6 identities: a random ranking's rank-1 is 1/6
    assert ours["chance R1"].round(4).tolist() == [round(100 / 6, 4)] * 2
    assert t5[t5["method"] == "Ours"]["chance R1"].isna().all()  # not a number the paper gives
    reading = comparison_reading(t5)
    assert reading.count("\n") == 1 and "× chance" in reading and "RegDB visible-to-thermal" in reading
    assert "RegDB" in comparison_caption("Table 5") and "SYSU-MM01" in comparison_caption("Table 6")


def test_theta_summary_estimates_the_seed_spread_only_from_values_with_two_seeds():
    from vireid_lib.tables import theta_reading, theta_summary

    table = pd.DataFrame({"sweep": ["θ2"] * 3, "x": [0.0, 1.0, 1.8], "R1 mean": [20.0, 25.0, 22.0],
                          "R1 std": [float("nan"), 2.0, 4.0], "R1 count": [1, 3, 3]})
    t = theta_summary(table, "θ2", 1.8)
    assert (t["best_x"], t["span"], t["gap"], t["min_seeds"]) == (1.0, 5.0, 3.0, 1)
    assert (t["noise"], t["noise_values"]) == (3.0, 2)  # mean of 2.0 and 4.0; the 1-seed value is left out
    assert "typical seed std of 3.0 points (over the 2 of 3 values with ≥ 2 seeds)" in theta_reading(table, "θ2", 1.8)
    single = table.assign(**{"R1 std": float("nan"), "R1 count": 1})
    t = theta_summary(single, "θ2", 1.8)
    assert t["noise"] != t["noise"] and t["noise_values"] == 0  # NaN, never a mean of NaNs printed as "nan"
    reading = theta_reading(single, "θ2", 1.8)
    assert "nan" not in reading and "seed spread is unknown" in reading


def test_ablation_table_gives_each_difference_its_welch_interval(monkeypatch):
    import vireid_lib.tables as T
    from vireid_lib import stats

    r1 = {"None": [50, 52, 54], "Global-to-Fusion": [53, 55, 57], "Joint-to-Global": [51, 53, 55],
          "Joint-to-Fusion": [40, 42, 44], "Joint-to-Global&Fusion": [60]}
    long = pd.DataFrame([{"table": "Table 4", "row": row, "x": None, "seed": s, "protocol": "all-search", "metric": m,
                          "value": v, "run": "x", "data": "synthetic", "profile": "smoke", "stale": ""}
                         for row, vals in r1.items() for s, v in enumerate(vals) for m in T.METRICS])
    monkeypatch.setattr(T, "grid_long", lambda *a, **k: long)
    df = T.ablation_table("table4", "smoke", (0, 1, 2)).set_index("row")
    g2f = stats.welch([53, 55, 57], [50, 52, 54])
    assert df.loc["Global-to-Fusion", "ours ΔR1"] == pytest.approx(3.0)
    assert (df.loc["Global-to-Fusion", "CI low"], df.loc["Global-to-Fusion", "CI high"]) == pytest.approx(
        (g2f.ci_low, g2f.ci_high))
    assert df.loc["None", "compared with"] == "(reference)" and np.isnan(df.loc["None", "ours ΔR1"])
    assert np.isnan(df.loc["Joint-to-Global&Fusion", "CI low"])  # one seed: no interval
    assert df.loc["Joint-to-Global&Fusion", "ours R1"] == "60.0 (1 seed)" and df.loc["None", "seeds"] == "3/3"


@pytest.mark.parametrize("regdb, ordering", [([5.0], "is not resolved (fewer than 2 runs (1 / 3)"),
                                              ([2.0, 2.2, 1.8, 2.1], "is the reverse of the real one (RegDB"),
                                              ([11.0, 11.4, 10.8, 11.1], "matches the real one (RegDB"),
                                              ([7.5, 6.4, 8.1, 6.9], "is not resolved, the two within the runs'")])
def test_regdb_difficulty_says_how_each_backbone_started_and_whether_the_real_ordering_holds(monkeypatch, regdb,
                                                                                             ordering):
    from vireid_lib import tables as T

    def long(grid, profile, seeds=None, data_root=None, reading=None):
        row, proto, r1, chance = (("Baseline", "SYSU-MM01 all-search single-shot", [8.0, 6.0, 7.0], 1.04)
                                  if grid == "table1" else
                                  ("Baseline (split 1)", "RegDB visible-to-thermal", regdb, 0.49))
        recs = [{"table": "x", "row": row, "x": None, "seed": i, "protocol": proto, "metric": m, "value": v,
                 "run": "r", "data": "synthetic", "profile": profile, "stale": ""}
                for i, val in enumerate(r1) for m, v in (("R1", val), ("chance R1", chance))]
        return pd.DataFrame(recs)

    monkeypatch.setattr(T, "grid_long", long)
    cpu = T.regdb_difficulty("cpu")
    assert cpu.attrs["R1 values"] == {"SYSU-MM01 all-search": [8.0, 6.0, 7.0], "RegDB visible→thermal": regdb}
    text = T.regdb_difficulty_reading(cpu)
    cpu = cpu.set_index("dataset")
    assert cpu.loc["SYSU-MM01 all-search", "our baseline R1"] == 7.0
    assert cpu.loc["RegDB visible→thermal", "runs"] == len(regdb)
    assert cpu.loc["RegDB visible→thermal", "backbone starts"] == "synthetic pretraining (3,296 ids)"
    assert cpu.loc["SYSU-MM01 all-search", "backbone starts"] == "from scratch"
    assert f"the ordering {ordering}" in text and "backbone on RegDB: synthetic pretraining" in text
    if len(regdb) > 1:  # the test's numbers are shown: Welch's t of the runs, by hand
        a, b = np.array(regdb), np.array([8.0, 6.0, 7.0])
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
        p = 2 * scipy.stats.t.sf(abs(a.mean() - b.mean()) / np.sqrt(va + vb), df)
        assert f"= {a.mean() - b.mean():+.1f} points" in text and f"p = {p:.2g})" in text
        assert (p < 0.05) == ("not resolved" not in text)
    smoke = T.regdb_difficulty("smoke")
    assert set(smoke["backbone starts"]) == {"from scratch"}
    smoke_text = T.regdb_difficulty_reading(smoke)
    assert f"the ordering {ordering}" in smoke_text and "backbone on RegDB" not in smoke_text
    # the per-run values are needed: a table without them (read back from its CSV) is refused, not misread
    with pytest.raises(VireidError, match="per-run rank-1"):
        T.regdb_difficulty_reading(pd.DataFrame(smoke.to_dict("records")))
