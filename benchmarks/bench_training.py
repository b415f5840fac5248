"""Training-step cost, today against version 1, and the grid's projected wall-clock beside its physical limit.

Measured in one run, on one thread (as each grid worker):

1. The full method's training step (augmentation of a sampler batch, forward, Eq. 13's loss, backward, SGD step)
   as version 1 took it (``_v1_step.py``: per-image augmentation loops, ``F.interpolate``, NCHW, no compilation,
   deterministic mode, SGD's per-parameter loop) and as the cpu profile takes it today (batched augmentation, the
   fusion's upsampling as one matrix product, channels-last, ``torch.compile``, the fused SGD kernel): the two are
   timed in alternation, step by step, so that another process on the machine slows both alike. The same for the
   baseline and +fusion rows of Table 1.
2. ``torch.compile``'s first-call cost with an empty inductor cache (cold) and with a filled one (warm, every grid
   run after the first of its kind), each in a fresh process.
3. The grid (every unique run of every grid, ``vireid grid all``): its training steps per run from the datasets,
   today's step time per kind of run measured with two one-thread processes side by side (as ``--workers 2``),
   the runs' evaluation time (from the committed runs), so its projected wall-clock on 2 cores; and the physical
   limit: the grid's floating-point operations at this core's measured fp32 matrix-product peak on both cores.

``--quick``: fewer steps (a noisier estimate). ``--paper``: also today's step at the paper's size (slow).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _v1_step as v1  # noqa: E402

from vireid_lib.engine import build_optimizer, compiled_forward, train_step  # noqa: E402
from vireid_lib.grids import TABLE1  # noqa: E402
from vireid_lib.losses import total_loss  # noqa: E402
from vireid_lib.models import build_model  # noqa: E402
from vireid_lib.transforms import make_generator  # noqa: E402

KINDS = {"baseline (+RCC+CRE)": TABLE1[4], "+fusion (no DML)": TABLE1[5], "full (+fusion +DML)": TABLE1[6]}
NUM_CLASSES = 200


class Stepper:
    """One model, optimiser and batch, stepping either as version 1 or as today."""

    def __init__(self, row, version: str, profile: str = "cpu", **overrides):
        cfg = row.config(profile, 0, **overrides)
        self.cfg, self.version = cfg, version
        torch.manual_seed(0)
        model = build_model(cfg.model.__class__(**{**cfg.model.__dict__, "pretrained": False}), NUM_CLASSES,
                            cfg.data.height, cfg.data.width)
        if version == "v1":
            model = v1.as_v1(model)
        elif cfg.train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.opt = v1.build_optimizer(model, cfg) if version == "v1" else build_optimizer(model, cfg)
        self.forward = compiled_forward(model, cfg) if version == "today" else model
        n = cfg.train.P * cfg.train.K
        g = torch.Generator().manual_seed(1)
        self.vis = torch.rand(n, 3, cfg.data.height, cfg.data.width, generator=g)
        self.ir = torch.rand(n, 3, cfg.data.height, cfg.data.width, generator=g)
        self.labels = torch.arange(cfg.train.P).repeat_interleave(cfg.train.K).repeat(2)
        self.gen = make_generator(0)

    def step(self) -> float:
        """Process CPU seconds of one step."""
        t0 = time.process_time()
        if self.version == "v1":
            torch.use_deterministic_algorithms(True)
            vis, ir = v1.train_transform(self.vis, self.ir, self.gen, self.cfg.aug)
            loss, parts = total_loss(self.model(vis, ir), self.labels, self.cfg.loss)
            {k: float(v.detach()) for k, v in parts.items()}
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        else:
            torch.use_deterministic_algorithms(False)
            train_step(self.model, self.forward, self.opt, None, self.vis, self.ir, self.labels, self.gen, self.cfg,
                       torch.device("cpu"))
        return time.process_time() - t0


def alternate(steppers: dict[str, Stepper], steps: int, warmup: int = 5) -> dict[str, float]:
    """Median ms per step of each stepper, timed in alternation."""
    for s in steppers.values():
        for _ in range(warmup):
            s.step()
    times = {k: [] for k in steppers}
    for _ in range(steps):
        for k, s in steppers.items():
            times[k].append(s.step())
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def step_flops(row) -> float:
    """Floating-point operations of one training step (forward + backward; a multiply-add counts 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    s = Stepper(row, "v1")
    with FlopCounterMode(display=False) as counter:
        loss, _ = total_loss(s.model(s.vis, s.ir), s.labels, s.cfg.loss)
        loss.backward()
    return float(counter.get_total_flops())


def matmul_peak() -> float:
    """fp32 GFLOP/s of a 1024² matrix product on one thread (best of 5)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(5):
            a @ b
        best = max(best, 5 * 2 * 1024**3 / (time.perf_counter() - t0) / 1e9)
    return best


# -- child processes --------------------------------------------------------------------------------------------
def _child_first_call() -> None:
    """Print the seconds of a first compiled step (inductor cache as the environment sets it)."""
    torch.set_num_threads(1)
    s = Stepper(TABLE1[6], "today")
    t0 = time.perf_counter()
    s.step()
    print(json.dumps({"first_step_s": time.perf_counter() - t0}))


def _child_contended(steps: int) -> None:
    """Today's ms per step of each kind of run (run beside another copy of this process)."""
    torch.set_num_threads(1)
    out = alternate({k: Stepper(r, "today") for k, r in KINDS.items()}, steps)
    print(json.dumps(out))


def _run_child(args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the grid ---------------------------------------------------------------------------------------------------
def grid_plan() -> dict[str, dict]:
    """Per kind of run (no fusion / fusion / fusion + DML): how many unique runs the grids have and their training
    steps in total (batches per epoch from the datasets × epochs)."""
    from vireid_lib.data import IdentitySampler
    from vireid_lib.engine import load_train_data
    from vireid_lib.experiments import grid_runs, unique_runs
    from vireid_lib.grids import GRIDS

    plan = {k: {"runs": 0, "steps": 0} for k in KINDS}
    batches = {}
    for cfg in unique_runs(grid_runs(list(GRIDS), "cpu")):
        key = (cfg.data.dataset, cfg.data.regdb_trial if cfg.data.dataset == "regdb" else 0)
        if key not in batches:
            d = load_train_data(cfg)
            batches[key] = len(IdentitySampler(d.visible_labels, d.infrared_labels, cfg.train.P, cfg.train.K))
        kind = ("baseline (+RCC+CRE)" if not cfg.model.fusion_layers else
                "+fusion (no DML)" if cfg.loss.dml == "none" else "full (+fusion +DML)")
        plan[kind]["runs"] += 1
        plan[kind]["steps"] += batches[key] * cfg.train.epochs
    return plan


def committed_eval_seconds() -> float:
    """Median evaluation seconds of the committed cpu-profile runs (0 when there are none)."""
    from vireid_lib.paths import runs_dir

    secs = []
    for p in (runs_dir() / "cpu").glob("*/final.json"):
        try:
            secs.append(float(json.loads(p.read_text()).get("eval_seconds", 0.0)))
        except (ValueError, OSError):
            continue
    return statistics.median(secs) if secs else 0.0


def main() -> None:
    quick = "--quick" in sys.argv
    steps = 15 if quick else 40
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; the cpu profile's ResNet-10 (width 16) at 64×32; batch 8 × (4 + 4)")

    print("\n1. Step cost, version 1 against today (timed in alternation)")
    for kind, row in KINDS.items():
        ms = alternate({"v1": Stepper(row, "v1"), "today": Stepper(row, "today")}, steps)
        print(f"   {kind:22s} v1 {ms['v1']:7.1f} ms   today {ms['today']:7.1f} ms   "
              f"today / v1 = {ms['today'] / ms['v1']:.3f}   ({ms['v1'] / ms['today']:.2f}× faster)")

    print("\n2. torch.compile's first step (a fresh process each)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        cold = _run_child(["--child-first"], env)["first_step_s"]
        warm = _run_child(["--child-first"], env)["first_step_s"]
    print(f"   cold (empty inductor cache) {cold:6.1f} s   warm (cache filled) {warm:6.1f} s")

    print("\n3. The grid on 2 cores (two one-thread workers)")
    procs = [subprocess.Popen([sys.executable, __file__, "--child-contended", str(steps)], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    contended = {k: statistics.mean(o[k] for o in outs) for k in KINDS}
    plan = grid_plan()
    evals = committed_eval_seconds()
    peak = matmul_peak()
    total_s, flops = 0.0, 0.0
    for kind, row in KINDS.items():
        n, st = plan[kind]["runs"], plan[kind]["steps"]
        seconds = st * contended[kind] / 1000 + n * (evals + warm)
        total_s += seconds
        flops += st * step_flops(row)
        print(f"   {kind:22s} {n:4d} runs, {st:8d} steps, {contended[kind]:6.1f} ms/step beside another worker: "
              f"{seconds / 3600:5.2f} h of run time")
    limit = flops / (2 * peak * 1e9)
    print(f"   projected wall-clock with 2 workers: {total_s / 2 / 60:.0f} min (evaluation {evals:.1f} s and warm "
          f"compile {warm:.1f} s per run included)")
    print(f"   physical limit: {flops / 1e15:.2f} PFLOP at this core's fp32 matrix-product peak ({peak:.0f} GFLOP/s) "
          f"on both cores: {limit / 60:.0f} min; the projection is {total_s / 2 / limit:.1f}× the limit")

    if "--paper" in sys.argv:
        paper = {"model.depth": 50, "model.width": 64, "model.fusion_channels": 256, "data.height": 288,
                 "data.width": 144}
        ms = alternate({"today": Stepper(TABLE1[6], "today", **paper)}, 3, warmup=1)
        print(f"\npaper size (ResNet-50, 288×144, batch 64), today's step: {ms['today'] / 1000:.1f} s")


if __name__ == "__main__":
    if "--child-first" in sys.argv:
        _child_first_call()
    elif "--child-contended" in sys.argv:
        _child_contended(int(sys.argv[-1]))
    else:
        main()
