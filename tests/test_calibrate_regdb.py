"""The RegDB calibration benchmark (``benchmarks/calibrate_regdb.py``, run on demand: ~20 min at the cpu profile):
its choice rule, and the script end to end in the smoke profile (whose numbers mean nothing and are not asserted,
beyond lying in range), so that it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "calibrate_regdb.py"


def test_margins_are_fractions_of_the_band_and_negative_outside(load_benchmark):
    b = load_benchmark("calibrate_regdb")
    # HOG's bands: R1 9–19 (width 10), mAP 7–14 (width 7); the nearer edge counts
    assert b.margin("HOG", 14.0, 10.5) == pytest.approx(0.5)
    assert b.margin("HOG", 18.0, 10.5) == pytest.approx(0.1)
    assert b.margin("HOG", 14.0, 7.7) == pytest.approx(0.1)
    # LOMO's: R1 0–3, mAP 0–4: above the top is negative
    assert b.margin("LOMO", 4.5, 2.0) == pytest.approx(-0.5)


def test_the_rule_counts_pairs_in_band_first_then_the_worst_margin(load_benchmark):
    b = load_benchmark("calibrate_regdb")
    inside = {"HOG": (14.0, 10.0), "LOMO": (1.5, 2.0)}
    edge = {"HOG": (18.9, 10.0), "LOMO": (2.9, 2.0)}
    out = {"HOG": (14.0, 10.0), "LOMO": (3.3, 2.0)}
    far_out = {"HOG": (14.0, 10.0), "LOMO": (6.0, 2.0)}
    # more pairs in band wins, however thin their margins
    assert b.choose({1.2: {1: edge, 2: edge}, 1.5: {1: inside, 2: out}}) == 1.2
    # the same count: the larger worst-case margin wins
    assert b.choose({1.2: {1: inside, 2: far_out}, 1.5: {1: edge, 2: out}}) == 1.5
    assert b.choose({1.2: {1: inside}, 1.5: {1: edge}}) == 1.2


@pytest.mark.slow
def test_the_benchmark_runs_in_the_smoke_profile(tmp_path):
    env = {"VIREID_DATA_DIR": str(tmp_path / "data"), "VIREID_RESULTS_DIR": str(tmp_path / "results"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(BENCH), "--profile", "smoke", "--values", "1.2,1.5", "--worlds", "1"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"thermal_psf = (1\.[25]) +world \+1: +HOG +([0-9.]+) / +([0-9.]+) \((in|OUT)\) +"
                      r"LOMO +([0-9.]+) / +([0-9.]+) \((in|OUT)\)", out.stdout)
    assert [r[0] for r in rows] == ["1.2", "1.5"], out.stdout
    assert all(0 <= float(x) <= 100 for r in rows for x in (r[1], r[2], r[4], r[5]))
    assert re.search(r"chosen by the rule: thermal_psf = 1\.[25]\n", out.stdout), out.stdout
    # the two values generated two datasets (the value reaches the generator), never the reported world's
    assert len(list((tmp_path / "data" / "synthetic").glob("regdb-*"))) == 2


def test_no_calibration_world_is_refused():
    out = subprocess.run([sys.executable, str(BENCH), "--worlds", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "reported world" in out.stderr
