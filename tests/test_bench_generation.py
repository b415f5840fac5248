"""The generation benchmark (``benchmarks/bench_generation.py``, part of ``make bench``): its stage instrumentation
covers the imaging chain's stages and leaves the library as it found it, and the script runs end to end on a tiny
subset (its times mean nothing there and are not asserted; the bytes' independence of the process count and the
report's parts are)."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_generation.py"


def test_instrumentation_times_every_stage_and_is_undone(load_benchmark, tmp_path):
    b = load_benchmark("bench_generation")
    from vireid_lib.config import SYNTHETIC_PROFILES
    from vireid_lib.data.synthetic import chain, writers

    before = {m: dict(vars(m)) for m in (chain, writers)}
    acc = collections.Counter()
    patched = b.instrumented(acc)
    try:
        assert {name for _, name, _ in patched} >= {"rasterise_body", "dress", "scene_layout", "optics_blur",
                                                    "visible_sensor", "thermal_sensor", "jpeg_file",
                                                    "jpeg_then_bmp"}
        writers.write_regdb(SYNTHETIC_PROFILES["smoke"], tmp_path / "regdb", workers=1)
    finally:
        for mod, name, f in patched:
            setattr(mod, name, f)
    # every stage of the chain took time, the files (compression and writing) apart from the sensor
    assert set(acc) == {"body", "garments", "scene", "camera", "sensor", "file"}
    assert all(v > 0 for v in acc.values())
    for m in (chain, writers):
        assert all(vars(m)[k] is v for k, v in before[m].items())


def test_the_benchmark_runs_and_finds_the_bytes_independent_of_the_process_count(tmp_path):
    env = {**os.environ, "VIREID_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, str(BENCH), "--skip-full", "--subset-ids", "8", "--workers", "2",
                          "--reference-rounds", "0"],  # part 6 (the cpu profile's generation, 6 times) has its own test
                         capture_output=True, text=True, env=env, timeout=600, check=True).stdout
    assert out.count("same bytes") == 2, out
    for ds in ("sysu", "regdb"):
        line = next(s for s in out.splitlines() if s.startswith(ds) and "ms per image:" in s)
        shares = [int(p) for p in re.findall(r"\((\d+) %\)", line)]
        assert len(shares) == 7 and abs(sum(shares) - 100) <= 4, line  # six stages and the rest, rounded
    # part 4: the pixels' part of the time, for both datasets, summed into one bound
    assert sum(line.startswith(("sysu", "regdb")) and "the pixels' part" in line for line in out.splitlines()) == 2
    assert re.search(r"^both +\d+\.\d s for the pixels' part alone", out, re.M), out
    # part 5: a verdict, arrays and scalars, for every transcendental function the chain uses, in both precisions
    for dtype in ("float32", "float64"):
        line = next(s for s in out.splitlines() if s.startswith(dtype))
        found = re.findall(r"(?:^|, )([a-z0-9 /.]+?) (same|DIFFERENT)/(same|DIFFERENT)", line.removeprefix(dtype))
        assert [name.strip() for name, *_ in found] == ["sin", "cos", "exp", "sqrt", "power 1/2.4", "power 4",
                                                       "power 12", "hypot"], line
    assert not any((tmp_path / "synthetic").iterdir())  # nothing kept


def test_the_layout_check_tells_a_layout_dependent_function_apart(load_benchmark):
    """Part 5's check: element-wise multiplication is the same whatever the layout; a function whose result depends
    on the array's length is caught for arrays; numpy's scalar arithmetic is judged on its own."""
    import numpy as np

    b = load_benchmark("bench_generation")
    assert b.layout_invariant(lambda x: x * np.float32(3), np.float32) == (True, True)
    arrays, _ = b.layout_invariant(lambda x: x + np.asarray(x).size, np.float64)
    assert not arrays
    assert b.layout_invariant(lambda x: x if np.ndim(x) else x + 1, np.float32) == (True, False)
    # a result that depends on the memory layout alone (contiguous or not) is caught by the strided and transposed views
    arrays, _ = b.layout_invariant(lambda x: x + (0 if np.ndim(x) == 0 or x.flags.c_contiguous else 1), np.float32)
    assert not arrays


def test_part_6_times_the_old_generators_from_git_beside_this_code(load_benchmark, tmp_path):
    """Part 6 runs the generators of issue 10's time, taken from git, each in a process of its own: the smoke profile
    here (its times mean nothing and are not asserted; which code ran, and the report's lines, are)."""
    b = load_benchmark("bench_generation")
    if b.missing_history():
        import pytest

        pytest.skip("this clone lacks the history part 6 reads (a shallow clone)")
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "VIREID_DATA_DIR": str(tmp_path), "TMPDIR": str(tmp_path / "tmp")}
    out = subprocess.run([sys.executable, str(BENCH), "--only-reference", "--profile", "smoke", "--reference-rounds",
                          "2"], capture_output=True, text=True, env=env, timeout=600, check=True).stdout
    rows = {line.split()[0]: line for line in out.splitlines() if re.match(r"^(c4125d1|ab37120|this code) ", line)}
    assert set(rows) == {"c4125d1", "ab37120", "this"}, out
    # the code that ran is the code named: the generator versions of 2026-11-25 (1), of issue 10's time (5), today's
    from vireid_lib.data.synthetic import GENERATOR_VERSION

    versions = {k: int(re.search(r"generator version (\d+):", r).group(1)) for k, r in rows.items()}
    assert versions == {"c4125d1": 1, "ab37120": 5, "this": GENERATOR_VERSION}, out
    # each generator wrote both layouts, twice; RegDB's smoke size (12 ids, 20 images each) has not changed since
    assert all(re.search(r"sysu \d+ images [\d.]+, [\d.]+ s; regdb 240 images [\d.]+, [\d.]+ s; total", r)
               for r in rows.values()), out
    assert re.search(r"^per image this code takes [\d.]+x version 5's time for sysu .*, [\d.]+x version 5's time "
                     r"for regdb", out, re.M), out
    assert "the goal on this machine" not in out  # the goal is the cpu profile's: not scaled from a smoke run
    assert not any((tmp_path / "synthetic").iterdir())  # nothing kept: no dataset,
    assert not any((tmp_path / "tmp").iterdir())  # no old library


def test_part_6_scales_the_goal_by_the_old_generator_s_time_here(load_benchmark, capsys):
    """Part 6's arithmetic on numbers like run 11's (benchmarks/measured/generation.txt), rounded: the goal on a
    machine is 15 s times c4125d1's mean time there over data/README's 11 s."""
    b = load_benchmark("bench_generation")
    ref, v5 = b.REFERENCES

    def run(version, sysu, regdb, n_regdb):
        return {"version": version, "seconds": {"sysu": sysu, "regdb": regdb},
                "images": {"sysu": 11214, "regdb": n_regdb}}

    b.report_references({ref: [run(1, 11.5, 2.9, 2400), run(1, 12.2, 3.0, 2400)],
                         v5: [run(5, 12.8, 3.2, 2400), run(5, 12.7, 3.3, 2400)],
                         "this code": [run(6, 9.8, 8.7, 8240), run(6, 10.2, 8.7, 8240)]}, "cpu")
    out = capsys.readouterr().out
    # c4125d1's mean 14.8 s: the goal 15 × 14.8 / 11 = 20.18 s; this code's mean 18.7 s is 0.927 of it
    assert "the goal on this machine: 15 s × 14.80 s / 11 s = 20.2 s" in out, out
    assert "this code 18.70 s = 0.93x the goal on this machine" in out, out
    # per image: sysu (9.8 + 10.2) / 22428 against (12.8 + 12.7) / 22428; regdb 17.4 / 16480 against 6.5 / 4800
    assert "0.78x version 5's time for sysu" in out and "0.78x version 5's time for regdb" in out, out


def test_part_6_is_skipped_with_a_reason_where_the_history_is_missing(load_benchmark, monkeypatch, tmp_path, capsys):
    import pytest

    b = load_benchmark("bench_generation")
    monkeypatch.setattr(b, "REFERENCES", {**b.REFERENCES, "0" * 40: "a commit no clone has"})
    missing = b.missing_history()
    assert missing[-1] == "0" * 40 and set(missing) <= set(b.REFERENCES)
    # make bench goes on without part 6 and says why; asked for part 6 alone, it is an error that says what to do
    assert b.part6("smoke", 1, tmp_path, required=False) is None
    assert "## 6. skipped: this clone lacks" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="git fetch --unshallow"):
        b.part6("smoke", 1, tmp_path, required=True)
    with pytest.raises(SystemExit, match="at least one round"):
        b.part6("smoke", 0, tmp_path, required=True)


def test_part_6_refuses_a_tree_without_the_library_and_a_commit_it_cannot_read(load_benchmark, tmp_path):
    import pytest

    b = load_benchmark("bench_generation")
    # an empty folder first on the path: the process finds the installed library instead, which part 6 must not time
    with pytest.raises(SystemExit, match="not the library in"):
        b.timed_generation(tmp_path, "smoke", 1, tmp_path)
    assert not any(tmp_path.iterdir())  # refused before generating anything
    with pytest.raises(SystemExit, match="git fetch --unshallow"):
        b.library_at("0" * 40, tmp_path / "old")
