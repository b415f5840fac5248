"""The report's claims table: each paper claim beside what the tables measured, with an honest verdict."""

import pandas as pd
import pytest

from vireid_lib.report import claims


@pytest.fixture
def tables_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    (tmp_path / "tables").mkdir()
    return tmp_path / "tables"


def test_claims_read_the_paper_numbers_and_the_verdict_tables(tables_dir):
    from vireid_lib import stats

    claim = stats.Claim("Table 1: +RCC vs Baseline", 7.01, [31, 32, 30, 31, 33], [20, 21, 19, 20, 22], table="Table 1",
                        extra={"row": "+RCC", "against": "Baseline", "the paper says": "RCC improves on the baseline"})
    regdb_claim = stats.Claim("Table 5: Ours vs Baseline (for AGW), RegDB", 21.95, result=stats.paired(
        [2.0, 3.1, 1.5, 2.2], [7.0, 6.5, 8.1, 7.3]), table="Table 5", extra={
        "row": "Ours", "against": "Baseline", "the paper says": "the method beats AGW on RegDB",
        "seeds": "4 splits (Ours: ≥ 3 seed(s) each, Baseline: 1)"})
    dml = stats.Claim("Table 1: +RCC+CRE+Fusion+DML vs +RCC+CRE+Fusion", 2.89, [31, 32, 30, 31, 33, 32, 31, 30],
                      [31, 30, 32, 31, 30, 29, 31, 30], table="Table 1",
                      extra={"row": "+RCC+CRE+Fusion+DML", "against": "+RCC+CRE+Fusion", "the paper says": "DML helps",
                             "second stage": "yes", "first-stage verdict": "not resolved (9 seeds would resolve it)"})
    stats.verdict_table([claim, regdb_claim, dml]).to_csv(tables_dir / "verdicts.csv", index=False)
    pd.DataFrame([{"sweep": "θ2", "chosen": 1.8, "verdict": "contradicted", "reading": "θ2 = 1.0 beats it"}]
                 ).to_csv(tables_dir / "06_theta_verdicts.csv", index=False)
    pd.DataFrame([{"protocol": "RegDB visible-to-thermal", "method": "ours (this study)", "R1": 6.85, "mAP": 4.0,
                   "chance R1": 1.7, "source": "synthetic (RegDB layout), profile cpu; NOT comparable: synthetic"}]
                 ).to_csv(tables_dir / "table5.csv", index=False)
    c = claims().set_index("claim (paper)")
    rcc = [k for k in c.index if k.startswith("Table 1: +RCC vs Baseline")]
    assert rcc and c.loc[rcc[0], "verdict"] == "supported" and "(paper Δ +7.01)" in rcc[0]
    assert "adjusted p" in c.loc[rcc[0], "this study"] and "seeds 5 / 5" in c.loc[rcc[0], "this study"]
    assert c.loc["Fig. 4: rank-1 is highest at θ2 = 1.8", "verdict"] == "contradicted"
    step = [k for k in c.index if k.startswith("Table 1: +RCC+CRE+Fusion+DML vs")]  # on second-stage seeds: said
    assert c.loc[step[0], "this study"].endswith(
        "seeds 8 / 8 (second stage; the first stage's seeds gave: not resolved (9 seeds would resolve it))")
    t5 = [k for k in c.index if k.startswith("Table 5: Ours vs Baseline")]
    assert t5 and c.loc[t5[0], "verdict"] == "contradicted"  # its units are splits, said as such (not "seeds 4")
    assert c.loc[t5[0], "this study"].endswith(", 4 splits (Ours: ≥ 3 seed(s) each, Baseline: 1)")
    regdb = [k for k in c.index if k.endswith("(Table 5)")]
    # the paper's Table 5, row "Ours", visible-to-thermal: R1 92.00, mAP 88.01 (paper_numbers.json)
    assert regdb == ["the method reaches rank-1 92.00 / mAP 88.01 on RegDB visible-to-thermal (Table 5)"]
    assert c.loc[regdb[0], "verdict"].startswith("not comparable") and "chance 1.70" in c.loc[regdb[0], "this study"]
    # the table's row as written (two decimals): rounding its 6.85 once more gave 6.8 beside Table 1's 6.9
    assert c.loc[regdb[0], "this study"].startswith("rank-1 6.85 / mAP 4.00, synthetic (RegDB layout)")


def test_the_report_says_which_runs_diverged_from_both_health_tables(tables_dir):
    from vireid_lib.report import _health

    assert _health(tables_dir.parent) == ""  # no table: no sentence
    pd.DataFrame([{"grid": "table1", "finished runs": 10, "diverged": 1,
                   "diverged runs": "+Fusion, seed 1 (47271c399d0a): epoch 5"},
                  {"grid": "table2", "finished runs": 8, "diverged": 0, "diverged runs": ""}]
                 ).to_csv(tables_dir / "05_training_health.csv", index=False)
    pd.DataFrame([{"grid": "theta1", "finished runs": 11, "diverged": 0, "diverged runs": ""}]
                 ).to_csv(tables_dir / "06_training_health.csv", index=False)
    text = _health(tables_dir.parent)
    assert text.startswith("Training health: 1 of the 29 finished runs")
    assert "table1: +Fusion, seed 1 (47271c399d0a): epoch 5" in text and "kept in every table and test" in text
    assert "table2:" not in text
