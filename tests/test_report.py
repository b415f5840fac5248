"""The report's claims table: each paper claim beside what the tables measured, with an honest verdict."""

import pandas as pd
import pytest

from vireid_lib import paper
from vireid_lib.report import claims, theta_verdict


def test_theta_verdict_separates_supported_noise_and_contradicted():
    assert theta_verdict(0.0, 2.0) == "supported"  # the chosen θ is the best one
    assert theta_verdict(1.5, 2.0) == "within noise"  # another θ is better, by less than the seed std
    assert theta_verdict(3.0, 2.0) == "contradicted"


@pytest.fixture
def tables_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    (tmp_path / "tables").mkdir()
    return tmp_path / "tables"


def test_claims_read_the_paper_numbers_and_the_measured_tables(tables_dir):
    theta = [{"sweep": s, "x": round(0.2 * i, 1), "R1 mean": 10.0 + (3.0 if round(0.2 * i, 1) == best else 0.0),
              "R1 std": 1.0, "R1 count": 3} for s, best in (("θ1", 0.6), ("θ2", 0.4)) for i in range(11)]
    pd.DataFrame(theta).to_csv(tables_dir / "06_theta_sweep.csv", index=False)
    pd.DataFrame([{"protocol": "RegDB visible-to-thermal", "method": "ours (this study)", "R1": 3.0, "mAP": 4.0,
                   "chance R1": 1.7, "source": "synthetic (RegDB layout), profile cpu; NOT comparable: synthetic"}]
                 ).to_csv(tables_dir / "table5.csv", index=False)
    c = claims().set_index("claim (paper)")
    f4 = paper.figure4()
    assert (f4["theta1_sweep"]["chosen"], f4["theta2_sweep"]["chosen"]) == (0.6, 1.8)  # the sweeps written above
    assert c.loc["Fig. 4: rank-1 is highest at θ1 = 0.6", "verdict"] == "supported"
    assert c.loc["Fig. 4: rank-1 is highest at θ2 = 1.8", "verdict"] == "contradicted"  # 3 points > std 1
    regdb = [k for k in c.index if k.endswith("(Table 5)")]
    # the paper's Table 5, row "Ours", visible-to-thermal: R1 92.00, mAP 88.01 (paper_numbers.json)
    assert regdb == ["the method reaches rank-1 92.00 / mAP 88.01 on RegDB visible-to-thermal (Table 5)"]
    assert c.loc[regdb[0], "verdict"].startswith("not comparable") and "chance 1.7" in c.loc[regdb[0], "this study"]
