"""The paper scale, measured on a CPU (issue 11, item 4), and what one H200-class GPU would need.

Run on demand only: neither ``make test`` nor ``make bench`` runs it (``make bench`` runs ``benchmarks/bench_*.py``;
this file is named ``paper_scale.py`` so that it is not among them: the full size takes 20-40 min and ~10 GB of disk).

    nice -n 10 .venv/bin/python benchmarks/paper_scale.py                  # the full size, once
    .venv/bin/python benchmarks/paper_scale.py --scale 0.05 --steps 2      # a quick check (~2 min)

In one process, each phase's time and peak memory measured on its own:

1. **Data**: a paper-size synthetic SYSU-MM01 (``ensure_synthetic``, the generator's public entry point) with the
   real dataset's identity counts (296 train / 99 val / 96 test, times ``--scale``) and its number of images: the
   real 30,071 visible (4 cameras) + 15,792 infrared (2 cameras) over 491 ids are 15.6 images per id and camera; the
   generator puts an id in a camera with probability ``camera_presence`` (0.8), so ``images_per_camera`` (the mean
   where present) is 15.6 / 0.8 ≈ 19. Rendered at ``--size`` (288×144, the paper's input), so that the cache below
   decodes without resizing (real SYSU-MM01 images must be resized too: a real cache build costs somewhat more).
   Generation is skipped when the dataset is already there (then its time is that of an earlier run: say so).
2. **Cache**: the preprocessing cache (``load_images``) of the training lists (visible, infrared) and the test lists
   (queries, all-search gallery candidates), rebuilt from scratch: time, size on disk, peak memory; the hashing of the
   files' contents that names a cache (once per file, remembered) is timed apart.
3. **Training steps** of the paper profile (ResNet-50, 288×144, fusion 256, batch 8 × (4 + 4), SGD; random
   initialisation: no network): ``train_step`` and ``build_optimizer`` as the engine calls them, on sampler batches
   read from the memory-mapped cache (reading included): seconds per step, peak memory, and the step's parts
   (reading, augmentation, forward, loss, backward, optimiser), timed inside the very same steps. The step's FLOPs
   (``FlopCounterMode``, forward + loss + backward: convolutions and matrix products, a multiply-add = 2).
4. **Loader**: images per second that cache reads alone, and cache reads + ``train_transform``, supply in one
   process with 1 and 2 threads (first reads after dropping the file's pages from the page cache, then warm).
5. **Feature extraction** (``extract_features``, the protocol's batch of 256) of ``--extract`` images, half queries
   (infrared) and half gallery candidates (visible): images per second.
6. **Projections**: an H200's step time from the FLOPs at a stated share of its peak (constants below, with their
   sources); the GPU hours of one paper run (80 epochs × 696 batches: the real 22,258 visible training images / 32
   per modality and batch) and of every unique run of ``vireid grid all --profile paper`` (RegDB runs: 2,060 images
   per modality and split, 65 batches per epoch), evaluations included; this CPU's time for the same for contrast.

Options: ``--scale F`` (fraction of the identities), ``--steps N`` (timed steps after one warm-up step),
``--extract N``, ``--size HxW``, ``--set KEY=VALUE`` (config overrides of the paper profile, e.g. a small model for
the test), ``--json PATH`` (all numbers). Wall-clock times on a shared machine: the load average is printed beside.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import math
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

# ---------------------------------------------------------------------------------------------------------------------
# Sizes of the real datasets (SYSU-MM01's README and the AGW reference code, as in /work/shared/REFERENCE-
# IMPLEMENTATIONS.md §1, §2, §5)
# ---------------------------------------------------------------------------------------------------------------------
REAL_SYSU = {"train_ids": 296, "val_ids": 99, "test_ids": 96, "visible": 30_071, "infrared": 15_792,
             "train_visible": 22_258, "train_infrared": 11_909, "query": 3_803}
REAL_SYSU_IDS = 491
REAL_SYSU_GALLERY_CANDIDATES = REAL_SYSU["visible"] - REAL_SYSU["train_visible"]  # every visible image of the test ids
REAL_REGDB_PER_SPLIT = 2_060  # images per modality in each split's train (and test) half: 206 ids × 10
CAMERAS = 6  # 4 visible + 2 infrared

# ---------------------------------------------------------------------------------------------------------------------
# The GPU: NVIDIA H200 SXM. Peak dense throughput in TFLOP/s. The H200 is the H100's GH100 compute with 141 GB of HBM3e
# at 4.8 TB/s, so its peaks are the H100 SXM's. NVIDIA's datasheets quote the tensor-core figures with 2:4 structured
# sparsity (TF32 989, BF16 1,979 TFLOP/s); dense is half. Sources: the vendor's published numbers, as tabulated at
# https://glennklockwood.com/garden/processors/h100 (TF32 494.7 dense / 989.4 sparse, BF16 989.4 dense, FP32 66.9
# without tensor cores; "H200 GPUs are the same as H100 GPUs ... just with" more and faster HBM) and
# https://itkb.uw.cz/2026/06/nvidia-h200-vs-b300-precisions-cores.html (H200 SXM dense: BF16 ≈ 989, FP64 34).
# ---------------------------------------------------------------------------------------------------------------------
H200_TFLOPS = {"TF32 tensor cores (dense)": 494.7, "BF16 tensor cores (dense)": 989.4, "FP32 (no tensor cores)": 66.9}
#: The paper (like AGW) trains in fp32; PyTorch lets cuDNN run fp32 convolutions in TF32 by default
#: (``torch.backends.cudnn.allow_tf32``), so the convolutions, nearly all of the FLOPs, run at the TF32 rate.
PEAK = "TF32 tensor cores (dense)"
#: Shares of that peak sustained over a training step: 50 % and 35 % (an assumption for a well-fed ResNet-50), and
#: what NVIDIA's own ResNet-50 recipe measures on an A100 in TF32 (below; computed at run time with the same FLOP
#: counter): the realistic planning figure.
ASSUMED_UTILISATION = (0.50, 0.35)
#: NVIDIA/DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md, "Training performance: NVIDIA
#: DGX A100 (8x A100 80GB)": 938 images/s on 1 GPU in TF32 (224×224, batch 256, DALI loader); A100 TF32 tensor-core
#: peak 156 TFLOP/s dense (NVIDIA's A100 datasheet: 312 with sparsity).
A100_RESNET50_TF32_IMAGES_S = 938.0
A100_TF32_TFLOPS = 156.0
#: Host time per eager PyTorch operation on the GPU machine (Python, dispatcher, kernel launch): an assumption, for a
#: floor below which a small-batch eager step cannot go however fast the GPU (CUDA graphs / torch.compile lift it).
HOST_US_PER_OP = 10.0


# ---------------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------------
def _status() -> dict[str, int]:
    """VmHWM, VmRSS, RssAnon, RssFile of this process in bytes (Linux; empty elsewhere)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


class Phase:
    """Wall-clock time, CPU time and peak memory of one phase of this process.

    ``cpu_seconds``: this process's CPU time (all its threads), ``children_cpu_seconds`` its finished worker
    processes'. On a machine shared with other jobs the wall-clock stretches; the CPU time much less (it still grows
    with cache and memory-bandwidth contention), so both are reported.

    ``peak_rss``: the resident set's high-water mark (``VmHWM``, reset at the phase's start through
    ``/proc/self/clear_refs``; else ``ru_maxrss``, the process's lifetime peak). It counts the pages of the
    memory-mapped cache that the phase touched, which the kernel can drop at will; ``peak_anon``, the peak of the
    anonymous part sampled every 20 ms, is the memory the phase itself needs. ``children_peak_rss``: the largest
    worker process so far (``RUSAGE_CHILDREN``: generation and cache decoding run in worker processes)."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> Phase:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.peak_anon = _status().get("RssAnon", 0)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()
        self.load_before = os.getloadavg()[0]
        self.children0 = _children_cpu()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_anon = max(self.peak_anon, _status().get("RssAnon", 0))

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu_seconds = time.process_time() - self.cpu0
        self.children_cpu_seconds = _children_cpu() - self.children0
        self._stop.set()
        self._poller.join()
        st = _status()
        self.peak_anon = max(self.peak_anon, st.get("RssAnon", 0))
        self.peak_rss = st.get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.children_peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        self.load_after = os.getloadavg()[0]

    def as_dict(self) -> dict:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds,
                "children_cpu_seconds": self.children_cpu_seconds, "peak_rss_bytes": self.peak_rss,
                "peak_anon_bytes": self.peak_anon,
                "children_peak_rss_bytes": self.children_peak_rss, "peak_reset_per_phase": self.hwm_reset,
                "load_average_1min": [self.load_before, self.load_after]}

    def line(self) -> str:
        return (f"{self.cpu_seconds:.0f} CPU-s; peak memory {gb(self.peak_rss)} resident ({gb(self.peak_anon)} "
                f"anonymous)"
                f"{'' if self.hwm_reset else ' (process lifetime peak)'}; load average {self.load_before:.1f} → "
                f"{self.load_after:.1f}")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


class OpCounter:
    """Counts the aten operations dispatched (an upper bound on the kernels a GPU would launch in eager mode)."""

    def __enter__(self) -> OpCounter:
        from torch.utils._python_dispatch import TorchDispatchMode

        counter = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                counter.ops += 1
                return func(*args, **(kwargs or {}))

        self.ops = 0
        self._mode = _Mode()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._mode.__exit__(*exc)


@contextlib.contextmanager
def step_parts(opt: torch.optim.Optimizer, forward):
    """Time the parts of ``train_step`` without changing its code: it looks ``train_transform`` and ``total_loss`` up
    in :mod:`vireid_lib.training` at every call, so wrapping them there (and the forward and the optimiser's step)
    times each part of the very step the engine takes. Yields (the seconds per part, the timed forward); backward
    is what remains of the step."""
    import vireid_lib.training as training

    parts: dict[str, float] = collections.defaultdict(float)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - t0
        return wrapper

    saved = training.train_transform, training.total_loss
    training.train_transform = timed("augmentation", saved[0])
    training.total_loss = timed("loss", saved[1])
    opt.step = timed("optimiser", opt.step)
    try:
        yield parts, timed("forward", forward)
    finally:
        training.train_transform, training.total_loss = saved
        vars(opt).pop("step", None)


def step_flops(model, cfg, visible: torch.Tensor, infrared: torch.Tensor, labels: torch.Tensor,
               count_ops: bool = False) -> tuple[float, int]:
    """FLOPs of forward + loss + backward on this batch (``FlopCounterMode``: convolutions and matrix products, a
    multiply-add = 2; augmentation, BN and the optimiser are elementwise and not counted) and, if asked, the aten
    operations dispatched."""
    from torch.utils.flop_counter import FlopCounterMode

    from vireid_lib.losses import total_loss

    ops = OpCounter() if count_ops else contextlib.nullcontext()
    with FlopCounterMode(display=False) as counter, ops:
        loss, _ = total_loss(model(visible, infrared), labels, cfg.loss)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops()), (ops.ops if count_ops else 0)


def inference_flops(model, height: int, width: int, n: int = 2) -> float:
    """FLOPs per image of the test-time embedding (one modality's stem)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.embed(torch.rand(n, 3, height, width), "infrared")
    model.train()
    return float(counter.get_total_flops()) / n


# ---------------------------------------------------------------------------------------------------------------------
# The phases
# ---------------------------------------------------------------------------------------------------------------------
def paper_spec(scale: float, height: int, width: int):
    """The paper-size synthetic SYSU-MM01: the real identity counts × ``scale``, the real images per id and camera."""
    from vireid_lib.config import SYNTHETIC_PROFILES

    base = SYNTHETIC_PROFILES["paper"]
    images = REAL_SYSU["visible"] + REAL_SYSU["infrared"]
    per_camera = round(images / (REAL_SYSU_IDS * CAMERAS * base.camera_presence))
    ids = {k: max(1, round(REAL_SYSU[k] * scale)) for k in ("train_ids", "val_ids", "test_ids")}
    return dataclasses.replace(base, n_train_ids=ids["train_ids"], n_val_ids=ids["val_ids"],
                               n_test_ids=ids["test_ids"], images_per_camera=per_camera, height=height, width=width)


def folder_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def generate(spec) -> tuple[Path, dict]:
    from vireid_lib.data import SYSUMM01, ensure_synthetic

    with Phase("generate") as ph:
        t0 = time.time()
        root = ensure_synthetic(spec, "sysu", verbose=False)
    reused = root.stat().st_mtime < t0  # nothing written into it now: generated by an earlier run
    ds = SYSUMM01(root)
    vis, ir = ds.train_lists()
    query, cand = ds.test_lists()
    counts = {"train_ids": len(ds.ids("train")), "val_ids": len(ds.ids("val")), "test_ids": len(ds.ids("test")),
              "train_visible": len(vis), "train_infrared": len(ir), "query": len(query),
              "gallery_candidates": len(cand), "visible": len(vis) + len(cand), "infrared": len(ir) + len(query)}
    info = {**ph.as_dict(), "reused": reused, "root": str(root), "spec": dataclasses.asdict(spec),
            "counts": counts, "disk_bytes": folder_bytes(root)}
    n = counts["visible"] + counts["infrared"]
    what = ("found (generated by an earlier run: time not measured now)" if reused
            else f"generated in {ph.seconds:.0f} s")
    print(f"   {n} images {what}; {ph.seconds / max(n, 1) * 1000:.1f} ms per image; {gb(info['disk_bytes'])} of JPEG "
          f"on disk; workers' peak {gb(ph.children_peak_rss)}")
    print(f"   ids {counts['train_ids']} / {counts['val_ids']} / {counts['test_ids']}; visible {counts['visible']}, "
          f"infrared {counts['infrared']}; training {counts['train_visible']} visible + {counts['train_infrared']} "
          f"infrared; {counts['query']} queries, {counts['gallery_candidates']} gallery candidates")
    return root, info


def build_cache(root: Path, height: int, width: int) -> dict:
    from vireid_lib.data import SYSUMM01, load_images
    from vireid_lib.data.cache import cache_path

    ds = SYSUMM01(root)
    lists = [*ds.train_lists(), *ds.test_lists()]
    # the cache files' names hash every file's content: computed once per file and remembered (timed apart)
    t0 = time.perf_counter()
    paths = [cache_path(lst, height, width) for lst in lists]
    hashing = time.perf_counter() - t0
    for path in paths:  # rebuilt from scratch, so that the build is measured
        path.unlink(missing_ok=True)
    per_list = {}
    with Phase("cache") as ph:
        for lst in lists:
            t0 = time.perf_counter()
            arr = load_images(lst, height, width)
            per_list[lst.name] = {"images": len(lst), "seconds": time.perf_counter() - t0,
                                  "bytes": Path(arr.filename).stat().st_size}
            del arr
    total = sum(v["bytes"] for v in per_list.values())
    n = sum(v["images"] for v in per_list.values())
    print(f"   {n} images decoded into {gb(total)} of uint8 arrays in {ph.seconds:.0f} s ({n / ph.seconds:.0f} "
          f"images/s), after {hashing:.1f} s of hashing the files' contents; {ph.line()}; workers' peak "
          f"{gb(ph.children_peak_rss)}")
    for name, v in per_list.items():
        print(f"     {name:28s} {v['images']:6d} images {gb(v['bytes']):>9s} {v['seconds']:6.1f} s")
    real = (REAL_SYSU["train_visible"] + REAL_SYSU["train_infrared"] + REAL_SYSU["query"]
            + REAL_SYSU_GALLERY_CANDIDATES) * height * width * 3
    print(f"   the real SYSU-MM01's cache at this size: {gb(real)}")
    return {**ph.as_dict(), "lists": per_list, "bytes": total, "images": n, "hashing_seconds": hashing,
            "real_dataset_bytes": real}


def paper_config(root: Path, height: int, width: int, overrides: dict):
    from vireid_lib.config import experiment_config

    return experiment_config("paper", data_root=str(root), **{"model.pretrained": False, "data.height": height,
                                                              "data.width": width, **overrides})


def train_steps(cfg, steps: int) -> dict:
    from vireid_lib.data import IdentitySampler
    from vireid_lib.engine import compiled_forward, load_train_data, resolve_device, set_determinism
    from vireid_lib.models import build_model
    from vireid_lib.training import build_optimizer, set_lr, train_step
    from vireid_lib.transforms import make_generator, to_tensor

    t = cfg.train
    device = resolve_device("cpu")
    with Phase("train set-up") as setup:
        set_determinism(cfg.seed, device, t.threads)
        data = load_train_data(cfg)
        sampler = IdentitySampler(data.visible_labels, data.infrared_labels, t.P, t.K, seed=cfg.seed,
                                  replacement=t.sampler)
        model = build_model(cfg.model, data.num_classes, cfg.data.height, cfg.data.width).to(device)
        if t.channels_last:
            model = model.to(memory_format=torch.channels_last)
        opt = build_optimizer(model, cfg)
        forward = compiled_forward(model, cfg)
        gen = make_generator(cfg.seed + 1, device)
        set_lr(opt, 0, cfg)
        model.train()
        vis_lab, ir_lab = torch.as_tensor(data.visible_labels), torch.as_tensor(data.infrared_labels)
        batches = sampler.epoch(0)

        def read(vi, ii):
            labels = torch.cat([vis_lab[vi], ir_lab[ii]]).to(device)
            return to_tensor(data.visible[vi], device), to_tensor(data.infrared[ii], device), labels

        # one warm-up step (first-touch allocations), not timed; then the FLOPs of a step on the same batch
        vi, ii = next(batches)
        v, i, labels = read(vi, ii)
        train_step(model, forward, opt, None, v, i, labels, gen, cfg, device, where="warm-up")
        flops, ops = step_flops(model, cfg, *train_transform_copy(v, i, gen, cfg), labels, count_ops=True)
        del v, i, labels
    records = []
    with Phase("train steps") as ph, step_parts(opt, forward) as (parts, timed_forward):
        for _ in range(steps):
            vi, ii = next(batches)
            before = dict(parts)
            c0 = time.process_time()
            t0 = time.perf_counter()
            v, i, labels = read(vi, ii)
            t1 = time.perf_counter()
            train_step(model, timed_forward, opt, None, v, i, labels, gen, cfg, device, where="paper_scale")
            t2 = time.perf_counter()
            rec = {"step": t2 - t0, "cpu": time.process_time() - c0, "reading": t1 - t0,
                   **{k: parts[k] - before.get(k, 0.0) for k in parts}}
            rec["backward"] = (t2 - t1) - sum(rec[k] for k in ("augmentation", "forward", "loss", "optimiser"))
            records.append(rec)
            del v, i, labels
    per = {k: float(np.median([r[k] for r in records])) for k in records[0]}
    batch, threads = sampler.batch_size, torch.get_num_threads()
    steps_txt = ", ".join(f"{r['step']:.2f}" for r in records)
    print(f"   {cfg.model.depth}-layer ResNet (width {cfg.model.width}), fusion {cfg.model.fusion_layers} at "
          f"{cfg.model.fusion_channels} channels, {cfg.data.height}×{cfg.data.width}, batch {t.P} × ({t.K} + {t.K}) = "
          f"{batch}, {len(sampler.ids)} classes, {threads} threads")
    print(f"   {per['step']:.2f} s per step of wall-clock (median of {steps}: {steps_txt}), {batch / per['step']:.2f} "
          f"images/s; {per['cpu']:.2f} s of CPU time per step ({100 * per['cpu'] / (per['step'] * threads):.0f} % "
          f"of {threads} cores' wall-clock: the rest went to other jobs)")
    print(f"   timed steps: {ph.line()}; set-up, warm-up step and FLOP count: {setup.line()}")
    print("   the step's parts (medians; backward is the rest of the step): "
          + ", ".join(f"{k} {per[k]:.3f} s ({100 * per[k] / per['step']:.1f} %)"
                      for k in ("reading", "augmentation", "forward", "loss", "backward", "optimiser")))
    print(f"   {flops / 1e9:.1f} GFLOP per step (forward + loss + backward), {flops / batch / 1e9:.2f} GFLOP per "
          f"image, {ops} aten operations; this CPU sustained {flops / per['step'] / 1e9:.1f} GFLOP/s over the step "
          f"({flops / per['cpu'] / 1e9:.1f} per CPU-second)")
    return {**ph.as_dict(), "setup": setup.as_dict(), "steps": records, "median": per, "batch": batch,
            "flops": flops, "ops": ops, "threads": threads, "batches_per_epoch_here": len(sampler)}


def train_transform_copy(v, i, gen, cfg):
    """An augmented batch for the FLOP count, drawn from a copy of the generator (the timed steps' draws unchanged)."""
    from vireid_lib.transforms import train_transform

    g = torch.Generator()
    g.set_state(gen.get_state())
    return train_transform(v, i, g, cfg.aug)


def loader(cfg, batches: int) -> dict:
    """Images/s from cache reads alone and cache reads + the training augmentation, 1 and 2 threads: per second of
    wall-clock, and per CPU-second of this process (what a core supplies when it is not shared)."""
    from vireid_lib.data import IdentitySampler
    from vireid_lib.engine import load_train_data
    from vireid_lib.transforms import make_generator, to_tensor, train_transform

    t = cfg.train
    before = torch.get_num_threads()
    out = {}
    with Phase("loader") as ph:
        data = load_train_data(cfg)
        for arr in (data.visible, data.infrared):  # the first epoch's reads: the file's pages out of the page cache
            with open(arr.filename, "rb") as fh:
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        sampler = IdentitySampler(data.visible_labels, data.infrared_labels, t.P, t.K, seed=cfg.seed + 1,
                                  replacement=t.sampler)
        plan = [b for _, b in zip(range(batches), sampler.epoch(1), strict=False)]
        gen = make_generator(0)

        def run(augment: bool, batches=plan) -> dict:
            c0, t0 = time.process_time(), time.perf_counter()
            for vi, ii in batches:
                v, i = to_tensor(data.visible[vi]), to_tensor(data.infrared[ii])
                if augment:
                    train_transform(v, i, gen, cfg.aug)
            n = len(batches) * sampler.batch_size
            return {"images_per_s": n / (time.perf_counter() - t0),
                    "images_per_cpu_s": n / max(time.process_time() - c0, 1e-9)}

        torch.set_num_threads(1)
        out["reads, first (pages dropped)"] = run(False)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            run(True, plan[:1])  # the thread pool's start-up, not timed
            out[f"reads, {threads} thread{'s' * (threads > 1)}"] = run(False)
            out[f"reads + augmentation, {threads} thread{'s' * (threads > 1)}"] = run(True)
        torch.set_num_threads(before)
    print(f"   {'':36s} {'images/s':>10s} {'per CPU-second':>15s}")
    for k, v in out.items():
        print(f"   {k:36s} {v['images_per_s']:10.0f} {v['images_per_cpu_s']:15.0f}")
    print(f"   ({len(plan)} batches of {sampler.batch_size}; {ph.line()})")
    return {**ph.as_dict(), "modes": out, "batches": len(plan)}


def extract(cfg, root: Path, n: int) -> dict:
    from vireid_lib.data import SYSUMM01, load_sample
    from vireid_lib.engine import extract_features
    from vireid_lib.models import build_model

    h, w = cfg.data.height, cfg.data.width
    query, cand = SYSUMM01(root).test_lists()
    q = load_sample(query, h, w, n // 2, seed=0)
    g = load_sample(cand, h, w, n - n // 2, seed=0)
    model = build_model(cfg.model, REAL_SYSU["train_ids"] + REAL_SYSU["val_ids"], h, w)
    with Phase("extract") as ph:
        fq = extract_features(model, q, "infrared", torch.device("cpu"))
        fg = extract_features(model, g, "visible", torch.device("cpu"))
    m = len(fq) + len(fg)
    flops = inference_flops(model, h, w)
    print(f"   {len(fq)} queries + {len(fg)} gallery images (batches of 256, as the protocol) in {ph.seconds:.1f} s: "
          f"{m / ph.seconds:.2f} images/s of wall-clock, {m / ph.cpu_seconds:.2f} per CPU-second; "
          f"{flops / 1e9:.2f} GFLOP per image, {flops * m / ph.seconds / 1e9:.1f} GFLOP/s; {ph.line()}")
    return {**ph.as_dict(), "images": m, "images_per_s": m / ph.seconds, "images_per_cpu_s": m / ph.cpu_seconds,
            "flops_per_image": flops}


# ---------------------------------------------------------------------------------------------------------------------
# Projections
# ---------------------------------------------------------------------------------------------------------------------
def batches_per_epoch(n_visible: int, n_infrared: int, P: int, K: int) -> int:
    """The sampler's epoch: as long as the larger modality (``IdentitySampler.__len__``; AGW's int(N/32)+1 agrees)."""
    return math.ceil(max(n_visible, n_infrared) / (P * K))


def intermediate_evaluations(cfg) -> int:
    t = cfg.train
    return sum(1 for e in range(1, t.epochs) if t.eval_every and e % t.eval_every == 0)


def grid_plan(root: Path, overrides: dict, height: int, width: int) -> list[dict]:
    """Every unique run of ``vireid grid all --profile paper`` (each row with the paper profile's seeds), with its
    dataset, steps at the real datasets' sizes, and evaluations. SYSU rows name the benchmark's dataset as their root
    and RegDB rows a small synthetic RegDB when no real one is set: only to name the runs (how many runs there are
    does not depend on the data)."""
    from vireid_lib.config import SYNTHETIC_PROFILES, default_real_root
    from vireid_lib.data import ensure_synthetic
    from vireid_lib.errors import ConfigError
    from vireid_lib.experiments import grid_runs, unique_runs
    from vireid_lib.grids import GRIDS

    env = "VIREID_REGDB_ROOT"
    saved = os.environ.get(env)
    try:
        default_real_root("regdb")
    except ConfigError:
        os.environ[env] = str(ensure_synthetic(SYNTHETIC_PROFILES["smoke"], "regdb", verbose=False))
    try:
        configs = unique_runs(grid_runs(list(GRIDS), "paper", data_root=str(root)))
    finally:
        if saved is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = saved
    plan = []
    for cfg in configs:
        cfg = cfg.with_overrides(**{"model.pretrained": False, "data.height": height, "data.width": width,
                                    **overrides})
        t = cfg.train
        if cfg.data.dataset == "sysu":
            steps = batches_per_epoch(REAL_SYSU["train_visible"], REAL_SYSU["train_infrared"], t.P, t.K)
            eval_images = REAL_SYSU["query"] + REAL_SYSU_GALLERY_CANDIDATES
        else:
            steps = batches_per_epoch(REAL_REGDB_PER_SPLIT, REAL_REGDB_PER_SPLIT, t.P, t.K)
            eval_images = 2 * REAL_REGDB_PER_SPLIT
        # final evaluation: the configured test feature and the other one (two extractions); intermediate ones
        extractions = 2 + intermediate_evaluations(cfg)
        plan.append({"cfg": cfg, "dataset": cfg.data.dataset, "steps": steps * cfg.train.epochs,
                     "batches_per_epoch": steps, "epochs": cfg.train.epochs,
                     "eval_images": eval_images * extractions, "full": cfg.train.eval_every > 0})
    return plan


def kind_flops(plan: list[dict]) -> dict:
    """Per kind of network in the grid (fusion layers and weights): training FLOPs per image (forward + loss +
    backward, a batch of 2 × (1 + 1)) and inference FLOPs per image, counted on the meta device (shapes only, no
    arithmetic; the same counts as on real tensors). Every kind with SYSU-MM01's 395 classes (RegDB's 206 change
    only the classifier, a few MFLOP per image)."""
    from vireid_lib.models import build_model

    out = {}
    for p in plan:
        cfg = p["cfg"]
        key = flops_key(cfg)
        if key in out:
            continue
        h, w = cfg.data.height, cfg.data.width
        with torch.device("meta"):
            model = build_model(cfg.model, REAL_SYSU["train_ids"] + REAL_SYSU["val_ids"], h, w)
            v, i = torch.rand(2, 3, h, w), torch.rand(2, 3, h, w)
            train, _ = step_flops(model, cfg, v, i, torch.tensor([0, 1, 0, 1]))
            out[key] = {"train_per_image": train / 4, "inference_per_image": inference_flops(model, h, w)}
    return out


def flops_key(cfg) -> tuple:
    return cfg.model.fusion_layers, cfg.model.fusion_weights


def calibration_utilisation() -> float:
    """The share of the A100's TF32 peak that NVIDIA's ResNet-50 recipe sustains: its measured images/s × this FLOP
    counter's training FLOPs per 224×224 image of torchvision's ResNet-50 (v1.5, as NVIDIA's)."""
    from torch.utils.flop_counter import FlopCounterMode
    from torchvision.models import resnet50

    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        model = resnet50(weights=None)
        torch.nn.functional.cross_entropy(model(torch.rand(2, 3, 224, 224)), torch.tensor([0, 1])).backward()
    per_image = counter.get_total_flops() / 2
    return A100_RESNET50_TF32_IMAGES_S * per_image / (A100_TF32_TFLOPS * 1e12)


def project(train: dict, load: dict, ext: dict, plan: list[dict], flops_by_kind: dict, cfg) -> dict:
    peak = H200_TFLOPS[PEAK] * 1e12
    calibrated = calibration_utilisation()
    utilisations = (*ASSUMED_UTILISATION, calibrated)
    names = {u: f"{100 * u:.0f} %" + (" (A100 recipe)" if u == calibrated else "") for u in utilisations}

    # the measured step, against the per-kind count used for the grid
    key_full = flops_key(cfg)
    batch = train["batch"]
    print(f"   H200 SXM peak (dense): {', '.join(f'{k} {v:.0f}' for k, v in H200_TFLOPS.items())} TFLOP/s; the fp32 "
          f"training's convolutions run as TF32 (cuDNN's default in PyTorch)")
    print(f"   shares of that peak sustained: {', '.join(names.values())}: NVIDIA's ResNet-50 recipe on an A100 in "
          f"TF32 ({A100_RESNET50_TF32_IMAGES_S:.0f} images/s at 224×224, batch 256) is {100 * calibrated:.0f} % of its "
          f"{A100_TF32_TFLOPS:.0f} TFLOP/s")
    if key_full in flops_by_kind:
        ratio = flops_by_kind[key_full]["train_per_image"] * batch / train["flops"]
        print(f"   (the grid's FLOPs per image, counted on a batch of 4, × {batch} = {ratio:.3f} × the measured "
              "step's)")

    out = {"utilisation": {names[u]: u for u in utilisations}, "peak_tflops": H200_TFLOPS[PEAK], "per_u": {}}
    host_floor = train["ops"] * HOST_US_PER_OP * 1e-6
    print(f"\n   {'share of the TF32 peak':44s}" + "".join(f"{names[u]:>20s}" for u in utilisations))
    step_s = {u: train["flops"] / (u * peak) for u in utilisations}
    consume = {u: batch / step_s[u] for u in utilisations}
    print(f"   {'H200 step time':44s}" + "".join(f"{1000 * step_s[u]:17.1f} ms" for u in utilisations))
    print(f"   {'images/s it consumes':44s}" + "".join(f"{consume[u]:20.0f}" for u in utilisations))
    print(f"   {'H200 step time in eager mode (≥ host floor)':44s}"
          + "".join(f"{1000 * max(step_s[u], host_floor):17.1f} ms" for u in utilisations))
    feeds = {}
    for k, label in (("reads, 1 thread", "cores to feed it: cache reads"),
                     ("reads + augmentation, 1 thread", "  … + augmentation on the CPU"),
                     ("reads + augmentation, 2 threads", "  … the same, 2 threads per process")):
        per_cpu_s = load["modes"][k]["images_per_cpu_s"]
        feeds[k] = {names[u]: consume[u] / per_cpu_s for u in utilisations}
        print(f"   {label:44s}" + "".join(f"{consume[u] / per_cpu_s:20.2f}" for u in utilisations))
    print("   (cores: the images/s the GPU consumes over what one CPU-second of this machine supplies, as measured "
          "above; the engine augments on the batch's device, so on a GPU machine the CPU only reads the cache)")
    print(f"   host floor: {train['ops']} aten operations per step (forward, loss, backward) × {HOST_US_PER_OP:.0f} µs "
          f"of host time each (assumed) = {1000 * host_floor:.1f} ms per step in eager mode, whatever the GPU's speed "
          f"(CUDA graphs or torch.compile remove most of it)")

    def run_seconds(p, u):
        k = flops_by_kind[flops_key(p["cfg"])]
        flops = p["steps"] * k["train_per_image"] * batch + p["eval_images"] * k["inference_per_image"]
        return flops / (u * peak)

    full = next(p for p in plan if p["full"] and p["dataset"] == "sysu")
    sysu = [p for p in plan if p["dataset"] == "sysu"]
    regdb = [p for p in plan if p["dataset"] == "regdb"]
    print(f"\n   one paper run (the full method on SYSU-MM01): {full['epochs']} epochs × {full['batches_per_epoch']} "
          f"batches = {full['steps']} steps, + {full['eval_images']} images embedded (final and intermediate "
          f"evaluations)")
    print(f"   the grid (`vireid grid all --profile paper`, seeds {sorted({p['cfg'].seed for p in plan})}): "
          f"{len(plan)} unique runs: {len(sysu)} on SYSU-MM01 ({len(sysu) and sysu[0]['batches_per_epoch']} "
          f"batches per epoch), {len(regdb)} on RegDB ({len(regdb) and regdb[0]['batches_per_epoch']} batches per "
          f"epoch: {REAL_REGDB_PER_SPLIT} images per modality and split)")
    print(f"   {'share of the TF32 peak':44s}" + "".join(f"{names[u]:>20s}" for u in utilisations))
    one = {u: run_seconds(full, u) / 3600 for u in utilisations}
    grid = {u: sum(run_seconds(p, u) for p in plan) / 3600 for u in utilisations}
    print(f"   {'GPU hours, one paper run':44s}" + "".join(f"{one[u]:20.2f}" for u in utilisations))
    print(f"   {'GPU hours, the grid':44s}" + "".join(f"{grid[u]:20.1f}" for u in utilisations))
    for u in utilisations:
        out["per_u"][names[u]] = {"step_ms": 1000 * step_s[u], "images_per_s_consumed": consume[u],
                                  "gpu_hours_one_run": one[u], "gpu_hours_grid": grid[u]}
    wall_h = full["steps"] * train["median"]["step"] / 3600 + full["eval_images"] / ext["images_per_s"] / 3600
    threads = train["threads"]
    idle_h = (full["steps"] * train["median"]["cpu"] + full["eval_images"] / ext["images_per_cpu_s"]) / threads / 3600
    print(f"   this CPU, for contrast: one paper run ≈ {wall_h:.0f} h ({wall_h / 24:.0f} days) at the wall-clock "
          f"measured here, ≈ {idle_h:.0f} h ({idle_h / 24:.0f} days) at its CPU time spread over {threads} cores (an "
          f"idle machine)")
    out.update(host_floor_ms=1000 * host_floor, host_us_per_op=HOST_US_PER_OP, cpu_hours_one_run=wall_h,
               cpu_hours_one_run_idle=idle_h, cores_to_feed=feeds,
               runs={"total": len(plan), "sysu": len(sysu), "regdb": len(regdb)},
               one_run={"steps": full["steps"], "batches_per_epoch": full["batches_per_epoch"],
                        "epochs": full["epochs"], "eval_images": full["eval_images"]},
               regdb_batches_per_epoch=regdb[0]["batches_per_epoch"] if regdb else None)
    return out


# ---------------------------------------------------------------------------------------------------------------------
def parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the real identity counts (default 1)")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    ap.add_argument("--extract", type=int, default=512, help="images to embed, half queries, half gallery")
    ap.add_argument("--loader-batches", type=int, default=20, help="sampler batches read for the loader's images/s")
    ap.add_argument("--size", default="288x144", help="rendered, cached and trained image size HxW")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an override of the paper profile's config (e.g. model.depth=10), for tests")
    ap.add_argument("--json", default=None, help="write every number to this file")
    args = ap.parse_args(argv)
    height, width = (int(x) for x in args.size.lower().split("x"))
    overrides = {k: parse_value(v) for k, _, v in (s.partition("=") for s in args.set)}

    from vireid_lib.engine import cpu_name

    cpu = cpu_name()
    machine = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
               "load_average": os.getloadavg(), "scale": args.scale, "size": [height, width]}
    print(f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}; load average {os.getloadavg()[0]:.1f} at start; "
          f"scale {args.scale}, {height}×{width}")
    spec = paper_spec(args.scale, height, width)
    start = time.perf_counter()

    def section(title: str) -> None:
        print(f"\n{title} (at {time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f})")

    section("1. The paper-size synthetic SYSU-MM01")
    root, gen_info = generate(spec)
    section("2. Its preprocessing cache")
    cache_info = build_cache(root, height, width)
    cfg = paper_config(root, height, width, overrides)
    section("3. The paper profile's training step (random initialisation)")
    train_info = train_steps(cfg, args.steps)
    section("4. What the loader and the batched augmentation supply (one process)")
    load_info = loader(cfg, args.loader_batches)
    section("5. Feature extraction")
    ext_info = extract(cfg, root, args.extract)
    section("6. Projections")
    plan = grid_plan(root, overrides, height, width)
    proj = project(train_info, load_info, ext_info, plan, kind_flops(plan), cfg)
    machine["load_average_end"] = os.getloadavg()
    machine["seconds"] = time.perf_counter() - start
    print(f"\n{machine['seconds'] / 60:.1f} min in all; load average {os.getloadavg()[0]:.1f} at the end")
    result = {"machine": machine, "generate": gen_info, "cache": cache_info, "train": train_info,
              "loader": load_info, "extract": ext_info, "projection": proj}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
