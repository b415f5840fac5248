"""The trainer: schedule, optimiser groups, resume equality (in-process and after a real kill), NaN stop,
bad checkpoints, AMP and channels_last on the CPU, and the run registry's identity."""

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vireid_lib import engine
from vireid_lib.config import experiment_config
from vireid_lib.errors import CheckpointError
from vireid_lib.experiments import run, run_path


def smoke(**kw):
    return experiment_config("smoke", **kw)


def test_paper_schedule_warmup_and_milestones():
    cfg = experiment_config("cpu", **{"train.warmup_epochs": 10, "train.milestones": (20, 50), "train.lr": 0.1})
    f = [engine.lr_factor(e, cfg) for e in range(80)]
    assert f[:10] == pytest.approx([(e + 1) / 10 for e in range(10)])
    assert set(f[10:20]) == {1.0} and f[20:50] == pytest.approx([0.1] * 30) and f[50:] == pytest.approx([0.01] * 30)


def test_pretrained_backbone_trains_at_a_tenth_of_the_lr():
    cfg = smoke(**{"train.optimizer": "sgd", "train.lr": 0.1})
    model = engine.build_model(cfg.model, 5, 32, 16)
    groups = engine.build_optimizer(model, cfg.with_overrides(**{"model.pretrained": True})).param_groups
    assert [g["base_lr"] for g in groups] == pytest.approx([0.1, 0.01])
    assert sum(p.numel() for p in groups[1]["params"]) == sum(p.numel() for p in model.backbone.parameters())
    scratch = engine.build_optimizer(model, cfg).param_groups
    assert [g["base_lr"] for g in scratch] == pytest.approx([0.1, 0.1])
    assert isinstance(engine.build_optimizer(model, cfg), torch.optim.SGD) and groups[0]["params"]


def test_the_fused_sgd_computes_what_sgds_loop_computes():
    """build_optimizer's fused SGD (speed) gives the numbers of SGD's per-parameter loop up to the last bit of a
    tensor's non-vectorised tail: nesterov momentum, weight decay and two learning rates, on channels-last weights,
    over a few full steps; and on parameters of odd sizes (a tail on any SIMD width) over 20 steps."""
    import copy

    cfg = smoke(**{"train.optimizer": "sgd", "train.lr": 0.1, "train.nesterov": True, "train.channels_last": True,
                   "train.compile": False})
    torch.manual_seed(0)
    model = engine.build_model(cfg.model, 4, cfg.data.height, cfg.data.width).to(memory_format=torch.channels_last)
    n, g = cfg.train.P * cfg.train.K, torch.Generator().manual_seed(1)
    vis, ir = (torch.rand(n, 3, cfg.data.height, cfg.data.width, generator=g) for _ in range(2))
    labels = torch.arange(cfg.train.P).repeat_interleave(cfg.train.K).repeat(2)
    params = {}
    for fused in (True, False):
        m = copy.deepcopy(model)
        two_lrs = cfg.with_overrides(**{"model.pretrained": True})
        opt = engine.build_optimizer(m, two_lrs) if fused else engine.build_optimizer(m, two_lrs, fused=False)
        assert opt.defaults["fused"] is fused and len(opt.param_groups) == 2
        gen = engine.make_generator(1)
        for _ in range(4):
            engine.train_step(m, m, opt, None, vis, ir, labels, gen, cfg, torch.device("cpu"))
        params[fused] = [p.detach().clone() for p in m.parameters()]
    assert len(params[True]) > 10
    for a, b in zip(params[True], params[False], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    assert not all(torch.equal(a, b) for a, b in zip(params[True], model.parameters(), strict=True))  # it trained
    odd = {}
    for fused in (True, False):
        g = torch.Generator().manual_seed(2)
        ps = [torch.nn.Parameter(torch.randn(n, generator=g)) for n in (1, 3, 13, 23)]
        opt = torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, fused=fused)
        for _ in range(20):
            for q in ps:
                q.grad = torch.randn(q.shape, generator=g)
            opt.step()
        odd[fused] = ps
    for a, b in zip(odd[True], odd[False], strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)  # rounding, not a bug


def test_fp16_loss_scaling_keeps_sgds_loop_and_a_skipped_step_leaves_no_momentum():
    """With fp16 the scaler skips a step whose gradients overflow; the fused kernel would keep uninitialised
    momentum buffers from such a step, so build_optimizer does not fuse under fp16."""
    cfg = smoke(**{"train.optimizer": "sgd", "train.amp": "fp16"})
    model = engine.build_model(cfg.model, 4, 32, 16)
    opt = engine.build_optimizer(model, cfg)
    assert not opt.defaults["fused"]
    with pytest.raises(ValueError, match="no fp16 loss scaling; call build_optimizer with fused=None"):
        engine.build_optimizer(model, cfg, fused=True)
    adam = smoke(**{"train.optimizer": "adam"})  # the fused kernel asked of another optimiser: refused, not ignored
    assert isinstance(engine.build_optimizer(model, adam, fused=False), torch.optim.Adam)
    with pytest.raises(ValueError, match="train.optimizer is 'adam'; set train.optimizer='sgd'"):
        engine.build_optimizer(model, adam, fused=True)
    scaler = torch.amp.GradScaler("cpu")
    scaler.scale(torch.zeros(()))  # the scale is set at the first loss it scales
    for p in model.parameters():
        p.grad = torch.full_like(p, float("inf"))  # an overflowing backward
    scaler.step(opt)
    scaler.update()
    assert not any(opt.state[p] for p in model.parameters())  # the overflow step changed nothing


def test_a_checkpoints_optimiser_state_keeps_todays_kernel_and_the_parameters_layout():
    """A state saved by SGD's loop (an older checkpoint) loads into the fused optimiser without turning it off,
    and momentum saved in another memory layout is laid out as its parameter."""
    cfg = smoke(**{"train.optimizer": "sgd"})
    model = engine.build_model(cfg.model, 4, 32, 16)
    old = engine.build_optimizer(model, cfg, fused=False)  # SGD's loop, as before the fused kernel
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    old.step()
    state = old.state_dict()
    model = model.to(memory_format=torch.channels_last)  # resumed with the other layout
    opt = engine.build_optimizer(model, cfg)
    engine.load_optimizer_state(opt, state)
    assert all(g["fused"] is True for g in opt.param_groups)
    conv = next(p for p in model.parameters() if p.dim() == 4)
    buf = opt.state[conv]["momentum_buffer"]
    assert buf.stride() == conv.stride() and torch.equal(buf, torch.ones_like(conv))


def test_identity_ignores_the_name_and_mechanics_but_not_the_method():
    a = smoke(name="full")
    assert engine.run_identity(a) == engine.run_identity(smoke(name="another row", **{"train.eval_every": 2}))
    assert engine.run_identity(a) != engine.run_identity(smoke(**{"loss.theta1": 0.4}))
    assert engine.run_identity(a) != engine.run_identity(smoke(seed=1))


def test_identity_changes_with_the_data():
    a = smoke()
    assert engine.data_fingerprint(a) != engine.data_fingerprint(smoke(**{"data.synthetic.n_train_ids": 13}))
    assert engine.run_identity(a) != engine.run_identity(smoke(**{"data.synthetic.n_train_ids": 13}))
    assert engine.run_identity(a) != engine.run_identity(smoke(**{"data.synthetic.seed": 7}))
    assert engine.run_identity(a) == engine.run_identity(smoke())  # stable: a hash of content, not of the object


def test_only_the_runs_own_datasets_parameters_name_it(tmp_path):
    """A SYSU-MM01 run's name does not move with a RegDB-only parameter (its data cannot), nor a RegDB run's with a
    SYSU-only one, nor a run on real data with any; the own dataset's parameters still name it."""
    sysu, regdb = smoke(), smoke(**{"data.dataset": "regdb"})
    for cfg, others, own in ((sysu, {"thermal_psf": 1.9, "regdb_ids": 40, "thermal_native": 0.4,
                                     "regdb_tone_curve": False}, {"nir_ambient": 0.2}),
                             (regdb, {"nir_ambient": 0.2, "noise_infrared": 0.05, "n_train_ids": 13},
                              {"thermal_psf": 1.9, "regdb_tone_curve": False})):
        for name, value in others.items():
            assert engine.run_identity(cfg) == engine.run_identity(cfg.with_overrides(
                **{f"data.synthetic.{name}": value})), name
        for name, value in own.items():
            assert engine.run_identity(cfg) != engine.run_identity(cfg.with_overrides(
                **{f"data.synthetic.{name}": value})), name
    real = smoke(**{"data.root": str(tmp_path)})
    assert real.identity() == smoke(**{"data.root": str(tmp_path), "data.synthetic.thermal_psf": 1.9,
                                       "data.synthetic.nir_ambient": 0.3,
                                       "data.synthetic.regdb_tone_curve": False}).identity()


def test_names_made_before_the_rule_stay():
    """The rule writes the other dataset's parameters at their values of 2026-12-01: a committed run keeps its
    folder (Table 1's baseline, seed 0, cpu profile, and the cpu profile's RegDB pretraining)."""
    from vireid_lib.config import NAMING_SPECS, SYNTHETIC_PROFILES
    from vireid_lib.grids import rows
    from vireid_lib.pretraining import pretraining_config

    base = experiment_config("cpu", name="x", seed=0, **rows("table1")[0].overrides)
    assert engine.run_identity(base) == "e8148d09f215"
    assert (Path(__file__).resolve().parents[1] / "results" / "runs" / "cpu" / "e8148d09f215").is_dir()
    regdb = base.with_overrides(**{"data.dataset": "regdb"})
    # the RegDB world changed on 2026-12-01 (tone curve, thermal_psf 1.7): its own parameters rename its runs
    assert engine.run_identity(pretraining_config(regdb)) == "6fae1f8ed03f"
    for profile, spec in SYNTHETIC_PROFILES.items():  # today's profiles are what the names were made with, plus
        # the parameters added since, which name only their own dataset's runs (RegDB's tone curve)
        assert set(dataclasses.asdict(spec)) - set(NAMING_SPECS[profile]) == {"regdb_tone_curve"}
        assert set(NAMING_SPECS[profile]) <= set(dataclasses.asdict(spec))


def test_evaluations_every_n_epochs_are_in_the_history_and_the_log(tmp_path):
    cfg = smoke(**{"train.epochs": 4, "train.eval_every": 2})
    res = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    evals = [h for h in res["history"] if "eval" in h]
    assert [h["epoch"] for h in evals] == [2]  # epoch 4 is the final evaluation, in res["results"]
    assert {"R1", "mAP"} <= set(evals[0]["eval"]) and 0 <= evals[0]["eval"]["R1"] <= 100
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in logged if "eval" in r] == [2]


def test_interrupted_and_resumed_run_ends_with_the_same_metrics(tmp_path):
    cfg = smoke(**{"train.epochs": 3, "train.checkpoint_every": 1})
    full = engine.train(cfg, tmp_path / "a", progress_bar=False, log=False)
    engine.train(cfg, tmp_path / "b", progress_bar=False, log=False, stop_after_batches=4)  # mid-epoch 2
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert (state["epoch"], state["batch"]) == (1, 1)
    resumed = engine.train(cfg, tmp_path / "b", progress_bar=False, log=False)
    assert resumed["results"] == full["results"]
    assert [h.get("loss_total") for h in resumed["history"]] == [h.get("loss_total") for h in full["history"]]
    assert without_timing(tmp_path / "b" / "metrics.jsonl") == without_timing(tmp_path / "a" / "metrics.jsonl")


def without_timing(path):
    recs = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in recs]


def test_a_finished_run_is_returned_not_trained_again(tmp_path):
    cfg = smoke()
    first = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    stamp = (tmp_path / "final.json").stat().st_mtime_ns
    assert engine.train(cfg, tmp_path, progress_bar=False, log=False) == first
    assert (tmp_path / "final.json").stat().st_mtime_ns == stamp
    assert not (tmp_path / "checkpoint.pt").exists() and (tmp_path / "model.pt").exists()
    assert first["provenance"]["data"].startswith("synthetic") and first["provenance"]["profile"] == "smoke"
    assert first["provenance"]["cpu"] == engine.cpu_name() != ""  # which CPU's float kernels trained it


def test_a_nan_loss_stops_naming_epoch_batch_and_part(tmp_path, monkeypatch):
    from vireid_lib import training

    real = training.total_loss

    def poisoned(out, labels, cfg):
        total, parts = real(out, labels, cfg)
        parts["wrt"] = parts["wrt"] * float("nan")
        return total, parts

    monkeypatch.setattr(training, "total_loss", poisoned)
    with pytest.raises(engine.TrainingDiverged, match=r"epoch 1, batch 1: wrt = nan"):
        engine.train(smoke(), tmp_path, progress_bar=False, log=False)
    assert not (tmp_path / "final.json").exists()
    rec = json.loads((tmp_path / engine.FAILED_NAME).read_text())  # a record for the tables: failed, not pending
    assert (rec["epoch"], rec["batch"], rec["loss"]) == (1, 1, "wrt = nan") and "code" in rec["fingerprint"]
    monkeypatch.setattr(training, "total_loss", real)  # the cause fixed: the run trains, the record goes
    engine.train(smoke(), tmp_path, progress_bar=False, log=False)
    assert (tmp_path / "final.json").exists() and not (tmp_path / engine.FAILED_NAME).exists()


def test_a_corrupt_checkpoint_is_an_error_and_is_left_untouched(tmp_path):
    cfg = smoke()
    engine.train(cfg, tmp_path, progress_bar=False, log=False, stop_after_batches=1)
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="cannot be read.*move or delete it"):
        engine.train(cfg, tmp_path, progress_bar=False, log=False)
    assert ckpt.read_bytes() == b"\x00garbage" * 10


def test_a_checkpoint_of_another_configuration_is_refused(tmp_path):
    engine.train(smoke(), tmp_path / "a", progress_bar=False, log=False, stop_after_batches=1)
    before = (tmp_path / "a" / "checkpoint.pt").read_bytes()
    with pytest.raises(CheckpointError, match="not this configuration"):
        engine.train(smoke(seed=3), tmp_path / "a", progress_bar=False, log=False)
    assert (tmp_path / "a" / "checkpoint.pt").read_bytes() == before  # never overwritten by the other run
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "checkpoint.pt").replace(tmp_path / "b" / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="belongs to run"):
        engine.train(smoke(seed=3), tmp_path / "b", progress_bar=False, log=False)


@pytest.mark.parametrize("amp,channels_last", [("bf16", False), ("fp16", False), ("off", True), ("bf16", True)])
def test_amp_and_channels_last_train_on_the_cpu(tmp_path, amp, channels_last):
    cfg = smoke(**{"train.amp": amp, "train.channels_last": channels_last, "train.epochs": 1})
    res = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    assert all(math.isfinite(v) for v in res["headline"].values())
    assert res["history"][0]["loss_total"] > 0


def test_the_progress_bar_shows_the_loss_parts_and_throughput(tmp_path, capsys, monkeypatch):
    from vireid_lib import progress

    monkeypatch.setattr(progress, "batch_run", lambda: False)
    engine.train(smoke(**{"train.epochs": 1}), tmp_path, progress_bar=True, log=False)
    out = capsys.readouterr().out
    assert all(f"{part}=" in out for part in ("id_global", "id_fusion", "id_joint", "kd1", "kd2", "wrt"))
    assert "img/s" in out


# the cpu profile's run mechanics: channels-last memory and torch.compile (resumption must survive recompiling)
KILLED = {"train.epochs": 6, "train.max_batches": 5, "train.checkpoint_every": 1, "train.channels_last": True,
          "train.compile": True}
KILL_SCRIPT = f"""
import sys
from vireid_lib.config import experiment_config
from vireid_lib.engine import train
cfg = experiment_config("smoke", **{KILLED!r})
train(cfg, sys.argv[1], progress_bar=False, log=False)
"""


@pytest.mark.slow
def test_a_killed_training_process_resumes_to_the_same_metrics(tmp_path):
    """A real process, compiled with inductor as the cpu profile trains, killed after two epochs: the resumed run (a
    new process, which compiles again) ends with exactly the metrics of an uninterrupted one."""
    cfg = smoke(**KILLED)
    reference = engine.train(cfg, tmp_path / "ref", progress_bar=False, log=False)
    assert reference["provenance"]["compile"] and reference["provenance"]["channels_last"]
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(run_dir)], env=os.environ.copy())
    deadline = time.time() + 300  # includes compiling (inductor's cache is warm from the reference run)
    while True:  # wait until it is well into training (two epochs logged, so checkpoints exist)
        log = run_dir / "metrics.jsonl"
        if log.exists() and len(log.read_text().splitlines()) >= 2:
            break
        if time.time() > deadline:
            proc.kill()
            pytest.fail("the training process logged no two epochs within 300 s")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "final.json").exists(), "the process finished before it could be killed"
    assert (run_dir / "checkpoint.pt").exists(), "killed before its first checkpoint: nothing to resume from"
    resumed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(run_dir)], env=os.environ.copy(), timeout=300)
    assert resumed.returncode == 0
    final = json.loads((run_dir / "final.json").read_text())
    assert final["results"] == reference["results"]
    assert [h.get("loss_total") for h in final["history"]] == [h.get("loss_total") for h in reference["history"]]


def test_the_registry_reuses_a_run_across_row_names():
    a = run(smoke(name="baseline"), progress_bar=False, log=False)
    b = run(smoke(name="same settings, another table"), progress_bar=False, log=False)
    assert a == b and run_path(smoke(name="x")) == run_path(smoke(name="y"))


def test_a_run_being_trained_elsewhere_is_waited_for_not_trained_twice(tmp_path):
    import fcntl
    import threading

    cfg = smoke()
    tmp_path.mkdir(exist_ok=True)
    holder = open(tmp_path / ".lock", "w")
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process is training this run
    result = {}
    t = threading.Thread(target=lambda: result.update(engine.train(cfg, tmp_path, progress_bar=False, log=False)))
    t.start()
    time.sleep(1.0)
    assert t.is_alive() and not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "final.json").exists()
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    t.join(timeout=120)
    assert not t.is_alive() and result["headline"] and (tmp_path / "final.json").exists()
