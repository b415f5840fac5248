"""The paper's numbers file: complete, consistent with itself where the paper repeats a row."""

from vireid_lib import paper


def test_every_table_is_there_with_its_rows():
    assert len(paper.table("Table 1")) == 7 and len(paper.table("Table 2")) == 8
    assert len(paper.table("Table 3")) == 5 and len(paper.table("Table 4")) == 5
    assert set(paper.table("Table 5").protocol) == {"RegDB visible-to-thermal", "RegDB thermal-to-visible"}
    assert len(paper.table("Table 6", "SYSU-MM01 all-search")) == 16


def test_rows_the_paper_repeats_agree():
    full = paper.row("Table 1", "+RCC+CRE+Fusion+DML")
    assert full == paper.row("Table 2", "layer1+layer2+layer3") == paper.row("Table 3", "L_id+L_KD+LSR")
    assert full == paper.row("Table 4", "Joint-to-Global&Fusion") == paper.headline("SYSU-MM01 all-search")
    no_dml = paper.row("Table 1", "+RCC+CRE+Fusion")
    assert no_dml == paper.row("Table 4", "None") == paper.row("Table 3", "L_id")
    assert paper.headline("RegDB visible-to-thermal")["R1"] == 92.00
    assert paper.headline("SYSU-MM01 indoor-search")["mINP"] == 77.54


def test_text_claims_match_the_tables():
    """§4.3: RCC adds 7.01 / 7.75 / 6.79 (R1 / mAP / mINP) to the baseline; fusion 4.26 / 6.44 / 6.70."""
    base, rcc, fusion = (paper.row("Table 1", r) for r in ("Baseline", "+RCC", "+Fusion"))
    assert round(rcc["R1"] - base["R1"], 2) == 7.01 and round(rcc["mAP"] - base["mAP"], 2) == 7.75
    assert round(fusion["R1"] - base["R1"], 2) == 4.26 and round(fusion["mINP"] - base["mINP"], 2) == 6.70
    f4 = paper.figure4()
    assert f4["theta1_sweep"]["chosen"] == 0.6 and f4["theta2_sweep"]["peaks"] == [0.4, 1.0, 1.8]
