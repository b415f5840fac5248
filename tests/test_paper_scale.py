"""The paper-scale benchmark (``benchmarks/paper_scale.py``, run on demand only) end to end at a tiny scale, so that it
cannot rot: every phase, the projections, the grid's run count. Nothing about its timings is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_scale.py"
# a tiny model and image size: the benchmark's code path in seconds (the full size takes 20-40 min)
TINY = ["--scale", "0.02", "--steps", "2", "--extract", "16", "--loader-batches", "3", "--size", "64x32",
        "--set", "model.depth=10", "--set", "model.width=8", "--set", "model.fusion_channels=16",
        "--set", "train.P=4", "--set", "train.K=2"]


@pytest.fixture
def bench(load_benchmark):
    return load_benchmark("paper_scale")


def test_not_run_by_make_bench():
    """``make bench`` runs ``benchmarks/bench_*.py``: the 20-40 min paper-scale benchmark is not among them."""
    assert not BENCH.name.startswith("bench_")
    assert "benchmarks/bench_*.py" in (BENCH.parents[1] / "Makefile").read_text()


def test_paper_spec_has_the_real_sizes(bench):
    spec = bench.paper_spec(1.0, 288, 144)
    assert (spec.n_train_ids, spec.n_val_ids, spec.n_test_ids) == (296, 99, 96)
    assert (spec.height, spec.width) == (288, 144)
    # expected images (each id in each of the 6 cameras with probability camera_presence, images_per_camera there)
    expected = 491 * 6 * spec.camera_presence * spec.images_per_camera
    assert abs(expected / (30_071 + 15_792) - 1) < 0.05
    small = bench.paper_spec(0.05, 64, 32)
    assert (small.n_train_ids, small.n_val_ids, small.n_test_ids) == (15, 5, 5)
    assert small.images_per_camera == spec.images_per_camera


def test_batches_per_epoch_as_agw(bench):
    assert bench.batches_per_epoch(22_258, 11_909, 8, 4) == 696  # AGW: int(22258 / 32) + 1
    assert bench.batches_per_epoch(2_060, 2_060, 8, 4) == 65


@pytest.mark.slow
def test_end_to_end_at_a_tiny_scale(bench, tmp_path, capsys):
    out = bench.main([*TINY, "--json", str(tmp_path / "paper_scale.json")])
    printed = capsys.readouterr().out
    for section in ("1. The paper-size", "2. Its preprocessing cache", "3. The paper profile", "4. What the loader",
                    "5. Feature extraction", "6. Projections", "GPU hours, one paper run", "GPU hours, the grid"):
        assert section in printed

    counts = out["generate"]["counts"]
    assert (counts["train_ids"], counts["val_ids"], counts["test_ids"]) == (6, 2, 2)
    assert counts["train_visible"] > counts["train_infrared"] > 0  # 4 visible cameras, 2 infrared

    cache = out["cache"]
    assert set(cache["lists"]) == {"sysu-train-visible", "sysu-train-infrared", "sysu-query", "sysu-gallery-all"}
    assert cache["images"] == counts["visible"] + counts["infrared"]
    for v in cache["lists"].values():  # uint8 (N, 64, 32, 3) and a .npy header
        assert 0 <= v["bytes"] - v["images"] * 64 * 32 * 3 <= 4096
    assert cache["peak_rss_bytes"] > 0 and cache["peak_anon_bytes"] > 0

    train = out["train"]
    assert train["batch"] == 16 and len(train["steps"]) == 2
    for step in train["steps"]:  # the parts add up to the step (backward is its rest)
        parts = sum(step[k] for k in ("reading", "augmentation", "forward", "loss", "backward", "optimiser"))
        assert parts == pytest.approx(step["step"], rel=1e-9)
        assert min(step[k] for k in ("augmentation", "forward", "loss", "optimiser", "cpu")) > 0
    assert train["flops"] > 0 and train["ops"] > 0

    modes = out["loader"]["modes"]
    assert len(modes) == 5 and all(v["images_per_s"] > 0 and v["images_per_cpu_s"] > 0 for v in modes.values())
    assert out["extract"]["images"] == 16 and out["extract"]["flops_per_image"] > 0

    proj = out["projection"]
    runs = proj["runs"]
    assert runs["total"] == runs["sysu"] + runs["regdb"] and runs["sysu"] > 0 and runs["regdb"] > 0
    one = proj["one_run"]
    assert one["epochs"] == 80 and one["batches_per_epoch"] == math.ceil(22_258 / (4 * 2))
    assert one["steps"] == one["epochs"] * one["batches_per_epoch"]
    assert proj["regdb_batches_per_epoch"] == math.ceil(2_060 / (4 * 2))
    per_u = sorted(proj["per_u"].values(), key=lambda d: d["step_ms"])  # a lower share of the peak: longer
    assert all(a["gpu_hours_grid"] < b["gpu_hours_grid"] for a, b in zip(per_u, per_u[1:], strict=False))
    for d in per_u:
        assert 0 < d["gpu_hours_one_run"] < d["gpu_hours_grid"]
        assert d["images_per_s_consumed"] == pytest.approx(16 / (d["step_ms"] / 1000))
    for cores in proj["cores_to_feed"].values():
        assert all(v > 0 for v in cores.values())
    assert json.loads((tmp_path / "paper_scale.json").read_text())["projection"]["runs"] == runs
