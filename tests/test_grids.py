"""Grids: rows named as in the paper, shared rows are one run, shards cover each run once, a killed grid
resumes to the same numbers, parallel workers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vireid_lib import grids as G
from vireid_lib.engine import run_identity
from vireid_lib.experiments import grid_runs, load_result, run_grid, shard, unique_runs


def test_rows_are_the_papers():
    assert [r.name for r in G.TABLE1] == ["Baseline", "+Fusion", "+RCC", "+CRE", "+RCC+CRE", "+RCC+CRE+Fusion",
                                         "+RCC+CRE+Fusion+DML"]
    assert len(G.TABLE2) == 8 and len(G.TABLE3) == 5 and len(G.TABLE4) == 5
    assert [r.x for r in G.FIG4_THETA1] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
    base = G.TABLE1[0].config("smoke", 0)
    assert base.model.fusion_layers == () and base.loss.dml == "none" and not base.aug.rcc and not base.aug.cre
    assert G.TABLE2[0].config("smoke", 0).model.fusion_layers == (1, 2)
    t3 = G.TABLE3[2].config("smoke", 0)
    assert not t3.loss.id_branches and t3.loss.dml == "joint-to-both"


def test_rows_shared_between_tables_are_one_run():
    runs = grid_runs(["table1", "table2", "table3", "table4"], "smoke", seeds=(0,))
    assert len(runs) == 25
    # the full model is in all four tables; "+RCC+CRE+Fusion" = Table 3 "L_id" = Table 4 "None"
    assert len(unique_runs(runs)) == 20
    full = {run_identity(c) for r, _, c in runs if r.name in ("+RCC+CRE+Fusion+DML", "layer1+layer2+layer3",
                                                               "L_id+L_KD+LSR", "Joint-to-Global&Fusion")}
    assert len(full) == 1
    theta = grid_runs(["theta1", "theta2"], "smoke", seeds=(0,))
    assert len(unique_runs(theta)) == 21  # (θ1, θ2) = (0.6, 1.0) is in both sweeps
    everything = unique_runs(runs + theta)
    assert len(everything) == 40  # (0.6, 1.8) is the full model


def test_shards_cover_every_run_exactly_once():
    configs = unique_runs(grid_runs(["table1", "table2", "theta1"], "smoke", seeds=(0, 1)))
    for n in (1, 3, 4, 7):
        parts = [shard(configs, i, n) for i in range(n)]
        ids = [run_identity(c) for p in parts for c in p]
        assert sorted(ids) == sorted(run_identity(c) for c in configs) and len(ids) == len(set(ids))


GRID_SCRIPT = "from vireid_lib.experiments import run_grid; run_grid(['table4'], 'smoke', (0,), progress_bar=False)"


@pytest.mark.slow
def test_a_killed_grid_restarts_where_it_stopped_with_the_same_numbers(tmp_path):
    # the study's grid (as `vireid grid` runs it): its runs land in results/runs/
    env = {**os.environ, "VIREID_RESULTS_DIR": str(tmp_path / "killed"), "VIREID_STUDY_RUN": "1"}
    proc = subprocess.Popen([sys.executable, "-c", GRID_SCRIPT], env=env)
    runs = tmp_path / "killed" / "runs" / "smoke"
    deadline = time.time() + 180
    while time.time() < deadline and len(list(runs.glob("*/final.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {f: f.stat().st_mtime_ns for f in runs.glob("*/final.json")}
    assert 2 <= len(finished) < 5
    assert subprocess.run([sys.executable, "-c", GRID_SCRIPT], env=env, timeout=600).returncode == 0
    assert len(list(runs.glob("*/final.json"))) == 5
    assert {f: f.stat().st_mtime_ns for f in finished} == finished  # the runs finished before the kill: not retrained
    clean = {**os.environ, "VIREID_RESULTS_DIR": str(tmp_path / "clean"), "VIREID_STUDY_RUN": "1"}
    assert subprocess.run([sys.executable, "-c", GRID_SCRIPT], env=clean, timeout=600).returncode == 0
    for final in runs.glob("*/final.json"):
        twin = tmp_path / "clean" / "runs" / "smoke" / final.parent.name / "final.json"
        assert json.loads(final.read_text())["results"] == json.loads(twin.read_text())["results"]


@pytest.mark.slow
def test_two_workers_train_a_grid_and_a_finished_grid_trains_nothing():
    s = run_grid(["table3"], "smoke", (5,), workers=2, progress_bar=False)
    assert s == {"total": 5, "finished": 5, "trained": 5, "pending": 0, "failed": 0}
    assert all(load_result(c) for c in unique_runs(grid_runs(["table3"], "smoke", (5,))))
    assert run_grid(["table3"], "smoke", (5,), progress_bar=False)["trained"] == 0


@pytest.mark.slow
def test_killing_a_parallel_grid_also_stops_its_workers(tmp_path):
    """`kill` of a `--workers 2` grid must not leave orphan workers training on (found in a real session)."""
    script = ("from vireid_lib.experiments import run_grid; "
              "run_grid(['table3'], 'smoke', (6,), workers=2, progress_bar=False)")
    env = {**os.environ, "VIREID_RESULTS_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)

    def workers() -> list[int]:
        try:
            kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        except FileNotFoundError:
            pytest.skip("pgrep is not available")
        return [int(k) for k in kids if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="ignore")]

    deadline = time.time() + 120
    while time.time() < deadline and len(workers()) < 2:
        time.sleep(0.1)
    pids = workers()
    assert len(pids) >= 2, "the grid never started its two workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    def alive(pid: int) -> bool:  # exited workers may stay as zombies until reaped: those count as gone
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False

    deadline = time.time() + 60  # a worker still importing torch on a busy machine checks within a second after
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "workers kept running after their grid was killed"


def test_a_failed_run_does_not_stop_the_grid_and_is_named_at_the_end(monkeypatch):
    """A diverging run must not hold the rest of the grid hostage: the others train, then an error names it."""
    from vireid_lib import experiments
    from vireid_lib.engine import TrainingDiverged

    configs = unique_runs(grid_runs(["table4"], "smoke", (9,)))
    doomed = run_identity(configs[1])
    real_run = experiments.run

    def run_or_diverge(cfg, **kw):
        if run_identity(cfg) == doomed:
            raise TrainingDiverged(f"run {doomed}: the loss became non-finite at epoch 2, batch 1: wrt = nan")
        return real_run(cfg, **kw)

    monkeypatch.setattr(experiments, "run", run_or_diverge)
    with pytest.raises(experiments.GridRunsFailed, match=rf"(?s)1 run\(s\) of table4 failed.*{doomed}.*wrt = nan") as e:
        run_grid(["table4"], "smoke", (9,), progress_bar=False)
    assert e.value.summary == {"total": 5, "finished": 4, "trained": 4, "pending": 1, "failed": 0}
    assert [load_result(c) is not None for c in configs] == [True, False, True, True, True]


def test_a_retrained_model_reproduces_the_committed_run_with_its_thread_count():
    """On a fresh clone only final.json is committed: the model is retrained with the committed run's number
    of CPU threads (results depend on it), so it scores exactly the same; a different result is reported."""
    import warnings

    import torch

    from vireid_lib.config import experiment_config
    from vireid_lib.experiments import _num_threads, run, run_path, trained_model

    cfg = experiment_config("smoke", seed=11, **{"train.epochs": 1})
    with _num_threads(1):
        committed = run(cfg, progress_bar=False, log=False)
    assert committed["provenance"]["threads"] == 1
    (run_path(cfg) / "model.pt").unlink()  # as on a fresh clone
    before = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "differs from the committed run" warning
        trained_model(cfg, progress_bar=False)
    again = json.loads((run_path(cfg) / "retrain" / "final.json").read_text())
    assert again["headline"] == committed["headline"] and again["provenance"]["threads"] == 1
    assert torch.get_num_threads() == before  # restored

    final = run_path(cfg) / "final.json"  # a committed run from elsewhere: the retrain is flagged
    tampered = dict(committed, headline={**committed["headline"], "R1": committed["headline"]["R1"] + 5})
    final.write_text(json.dumps(tampered))
    (run_path(cfg) / "model.pt").unlink()
    import shutil
    shutil.rmtree(run_path(cfg) / "retrain")
    with pytest.warns(UserWarning, match="differs from the committed run"):
        trained_model(cfg, progress_bar=False)


def test_decisive_rows_get_five_seeds_in_the_cpu_profile():
    """Issue 12: every Table 1 row, and the paper's θ values and their neighbours, are run with 5 seeds; the other
    rows with the profile's 3; an explicit seed list applies to every row."""
    from vireid_lib.grids import CHOSEN_THETA1, CHOSEN_THETA2

    seeds = {}
    for row, seed, _ in grid_runs(["table1", "table2", "theta1", "theta2"], "cpu"):
        seeds.setdefault((row.table, row.name), set()).add(seed)
    assert all(seeds[("Table 1", r)] == set(range(5)) for r in ("Baseline", "+RCC", "+RCC+CRE+Fusion+DML"))
    assert seeds[("Table 2", "layer1+layer2")] == {0, 1, 2}
    for table, chosen in (("Fig. 4a", CHOSEN_THETA1), ("Fig. 4b", CHOSEN_THETA2)):
        five = {name for (t, name), s in seeds.items() if t == table and len(s) == 5}
        sweep = "θ1" if table == "Fig. 4a" else "θ2"
        expected = {f"{sweep} = {round(x, 1)}" for x in (chosen - 0.2, chosen, chosen + 0.2) if 0 <= x <= 2 + 1e-9}
        assert five == expected
    assert {s for _, s, _ in grid_runs(["table1"], "cpu", seeds=(7,))} == {7}


def test_the_showcased_models_weights_are_committed_with_their_runs():
    """Every figure drawn from a trained model must regenerate byte for byte on another CPU: each showcased run
    that is committed (final.json tracked) has its model.pt tracked too (.gitignore lists the exceptions)."""
    import subprocess

    from vireid_lib.engine import run_identity
    from vireid_lib.experiments import showcased_runs
    from vireid_lib.paths import REPO_ROOT

    tracked = set(subprocess.run(["git", "ls-files", "results/runs/cpu"], cwd=REPO_ROOT, capture_output=True,
                                 text=True, check=True).stdout.split())
    runs = showcased_runs("cpu")
    assert len(runs) == 5 and len({run_identity(c) for c in runs}) == 5  # 3 + baseline + RegDB's pretraining
    for cfg in runs:
        folder = f"results/runs/cpu/{run_identity(cfg)}"
        if f"{folder}/final.json" in tracked:
            assert f"{folder}/model.pt" in tracked, f"{cfg.name} seed {cfg.seed}: final.json committed, weights not"


def test_gitignore_lets_exactly_the_showcased_weights_through():
    from vireid_lib.engine import run_identity
    from vireid_lib.experiments import showcased_runs
    from vireid_lib.paths import REPO_ROOT

    allowed = {line[1:].strip() for line in (REPO_ROOT / ".gitignore").read_text().splitlines()
               if line.startswith("!results/runs/")}
    assert allowed == {f"results/runs/cpu/{run_identity(c)}/model.pt" for c in showcased_runs("cpu")}
