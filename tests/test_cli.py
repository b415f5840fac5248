"""The command line: train and evaluate a run, and clear errors for bad input."""

import subprocess
import sys

from vireid_lib.cli import main


def test_train_then_evaluate(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    assert main(["train", "--profile", "smoke", "--set", "train.epochs=1", "--run-dir", run_dir, "--quiet"]) == 0
    assert '"R1"' in capsys.readouterr().out
    assert main(["evaluate", "--profile", "smoke", "--set", "train.epochs=1", "--run-dir", run_dir]) == 0
    out = capsys.readouterr().out
    assert "SYSU-MM01 all-search single-shot: R1" in out and "indoor-search" in out


def test_bad_override_is_one_clear_message(capsys):
    assert main(["train", "--profile", "smoke", "--set", "loss.thetaone=1"]) == 2
    assert "valid fields" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--set", "nonsense"]) == 2
    assert "expects key=value" in capsys.readouterr().err
    assert main(["grid", "table1", "--profile", "smoke", "--seeds", "a,1"]) == 2
    assert "--seeds expects comma-separated integers" in capsys.readouterr().err


def test_console_script_is_installed():
    """The `vireid` command that pyproject.toml declares, installed beside this interpreter."""
    from pathlib import Path

    script = Path(sys.executable).parent / "vireid"
    assert script.exists(), f"{script} missing: install the package (pip install -e .)"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "reproduce" in out.stdout and "train" in out.stdout


def test_plan_seeds_refuses_an_incomplete_first_stage(capsys, tmp_path, monkeypatch):
    """`vireid plan-seeds` before the first stage of seeds is complete (here: no smoke run trained in the tests'
    results folder) is one clear error naming what is missing, and writes no plan; a plan for real data is never
    written (the grids of every machine read the written one)."""
    from vireid_lib import grids

    monkeypatch.setattr(grids, "SEED_PLAN", tmp_path / "seed_plan.json")  # never the package's own file
    assert main(["plan-seeds", "--profile", "smoke", "--write"]) == 2
    err = capsys.readouterr().err
    assert "the first stage is not complete" in err and "vireid grid" in err
    assert main(["plan-seeds", "--profile", "smoke", "--write", "--data-root", str(tmp_path)]) == 2
    assert "a plan for real data is printed, not written" in capsys.readouterr().err
    assert not grids.SEED_PLAN.exists()
