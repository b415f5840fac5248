"""Issue 10's deep check on synthetic RegDB (``benchmarks/regdb_baseline_learns.py``, run on demand: ~45 min at the
cpu profile) end to end in the smoke profile, so that the script and its diagnosis cannot rot. Its numbers at the
smoke size mean nothing and are not asserted; what is asserted is that every part of the report is there, with
rank-1 values in range, and that the verdict line compares with 10× the right chance level."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "regdb_baseline_learns.py"


@pytest.mark.slow
def test_the_regdb_check_and_its_diagnosis_run_in_the_smoke_profile(tmp_path):
    env = {"VIREID_DATA_DIR": str(tmp_path / "data"), "VIREID_RESULTS_DIR": str(tmp_path / "results"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(BENCH), "--profile", "smoke", "--splits", "1", "--diagnose",
                          "--set", "data.synthetic.regdb_ids=16", "--gallery-ids", "4"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert str(tmp_path / "results") in text  # trained in the given scratch folder, not in results/runs
    for part in ("split  1: visible→thermal", "training ids, visible→thermal", "test ids, visible→visible",
                 "test ids, thermal→thermal", "raw grey pixels", "against 10 galleries of 4 identities"):
        assert part in text, f"{part!r} missing from:\n{text}"
    scores = [float(x) for x in re.findall(r"R1 +([0-9.]+)", text)]
    assert len(scores) == 7 and all(0 <= s <= 100 for s in scores)
    # --set reaches the data: 16 ids (the smoke profile has 12), 8 per split: chance is 1/8, and the verdict line
    # compares with 10× of it
    assert "16 ids" in text
    assert re.search(r"= [0-9.]+× chance \(12\.50 %\); target ≥ 10×: (PASS|FAIL)", text), text


def test_an_unknown_row_is_refused_with_the_rows_named(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH), "--profile", "smoke", "--row", "+Magic"],
                         capture_output=True, text=True, timeout=300,
                         env={"VIREID_RESULTS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0 and "+RCC+CRE+Fusion+DML" in out.stderr and "+Magic" in out.stderr


@pytest.mark.slow
def test_a_validation_world_can_start_from_the_reported_worlds_pretraining(tmp_path):
    import json

    env = {"VIREID_DATA_DIR": str(tmp_path / "data"), "VIREID_RESULTS_DIR": str(tmp_path / "results"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(BENCH), "--profile", "smoke", "--splits", "1", "--world", "2",
                          "--shared-pretraining", "--set", "model.synthetic_pretrain_ids=8"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "world 2" in out.stdout and "from the shared pretraining" in out.stdout
    finals = list((tmp_path / "results").rglob("*-shared-pretraining/final.json"))
    assert len(finals) == 1
    final = json.loads(finals[0].read_text())
    pre = final["pretrained_from"]
    assert final["fingerprint"]["pretraining"]["identity"] == pre  # it records the pretraining it started from
    # the pretraining trained is the reported world's (world 0 + 1), not world 2's own (2 + 1)
    trained = [json.loads(c.read_text())["config"]["data"]["synthetic"]["seed"]
               for c in (tmp_path / "results").rglob("config.json")
               if json.loads(c.read_text())["config"]["name"].startswith("Pretraining")]
    assert trained == [1] and any((tmp_path / "results").rglob(f"{pre}/model.pt"))
