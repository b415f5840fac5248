"""Training, resuming, feature extraction and protocol evaluation.

A run lives in a folder (see :mod:`vireid_lib.experiments`) holding ``config.json``, ``metrics.jsonl`` (one
record per epoch and per evaluation), ``checkpoint.pt`` (git-ignored) and, once finished, ``final.json``.

- Optimisation as the paper and the AGW/CAJ code: SGD (momentum 0.9, Nesterov, weight decay 5e-4), lr 0.1
  for new layers and 0.1× for ImageNet-initialised ones, linear warm-up over 10 epochs, ×0.1 at epoch 20 and
  ×0.01 at 50, 80 epochs; Adam is available for training from scratch on a CPU.
- Checkpoints are written atomically at every epoch end (and every ``checkpoint_every`` batches), with model,
  optimiser, position in the sampler, every random state and the history of metrics. A run killed at any
  point and restarted resumes from the last checkpoint and ends with the same metrics as an uninterrupted run
  (on a CPU; tested by killing a real training process). A corrupt checkpoint, or one of another
  configuration, stops with a clear error and is never overwritten.
- Checkpoints and the final weights (``model.pt``) carry the sha256 of their content (:func:`state_digest`: every
  tensor's bytes, every number and name), recorded inside the file and verified on load: a damaged file is refused,
  never loaded. Temporary files of saves that were interrupted (``.*.tmp*``) are removed when the run starts again;
  a full disk is a :class:`CheckpointError` naming the file, the previous checkpoint intact.
- Before the run folder is created, the data are read and checked: the training and test images are decoded into
  their caches (free space checked first), so a missing, truncated or mislabelled image, a test identity without
  images or a full disk stops the run before its first step (:func:`prepare_data`).
- A non-finite loss stops the run with the epoch, the batch and the loss part.
- No model selection on the test set: the model evaluated at the end is the last one. Intermediate
  evaluations (every ``eval_every`` epochs) are logged for the learning curves only.
- A finished run records the fingerprint of the code and data that produced it (:mod:`vireid_lib.fingerprint`);
  a run whose code or training data have changed since is *stale* and trained again (its old result kept under
  ``stale/``), one whose test data alone have changed is evaluated again.
- Run mechanics that change only the order of floating-point operations: the number of CPU threads, channels-last
  memory and ``torch.compile`` of the network (inductor; the cpu profile uses both, chosen by ``make bench``).
  On a CPU, kernels are deterministic for a given number of threads, so PyTorch's deterministic mode is used on
  GPUs only (on a CPU it only fills every new buffer with NaN, and makes compiled code 1.5× slower).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import fingerprint as fp
from . import progress
from .config import ExperimentConfig, asdict
from .data import IdentitySampler, load_images, open_dataset
from .data.cache import check_space
from .errors import CheckpointError, VireidError, load_failure
from .evaluation import evaluate_dataset
from .io import (
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    free_bytes,
    human_bytes,
    remove_interrupted_writes,
    setting_for,
    storage_error,
)
from .models import VIReIDNet, build_model
from .runs import data_fingerprint, read_final, run_fingerprint, run_identity, run_staleness  # noqa: F401 (re-exported)
from .training import (  # noqa: F401 (re-exported)
    TrainingDiverged,
    _autocast,
    build_optimizer,
    load_optimizer_state,
    lr_factor,
    set_lr,
    train_step,
)
from .transforms import make_generator, test_transform, to_tensor

CHECKPOINT_FORMAT = 2
#: written beside the checkpoint when a run's loss became non-finite (``{"epoch", "batch", "loss", ...}``), so that
#: tables can say "failed" instead of "pending"; removed when the run finishes
FAILED_NAME = "failed.json"
MODEL_FORMAT = "vireid-model-1"  # model.pt: {"format", "sha256", "state_dict"}; plain state dicts (older runs) load too


# ---------------------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------------------
def resolve_device(spec: str = "auto") -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise VireidError(f"train.device={spec!r} but no CUDA device is available; use device='cpu' or 'auto'")
    return dev


def set_determinism(seed: int, device: torch.device, threads: int = 0) -> None:
    """Seeds, the thread count, and deterministic kernels on GPUs (``warn_only``: some have no deterministic form).

    On a CPU the kernels are deterministic for a fixed number of threads; PyTorch's deterministic mode would only
    fill every new buffer with NaN and make inductor's code 1.5× slower, so it is off there (a killed run still
    resumes to the same metrics: a test kills a real training process)."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.use_deterministic_algorithms(False)


@dataclass
class TrainData:
    visible: np.ndarray  # (Nv, H, W, 3) uint8, memory-mapped
    infrared: np.ndarray
    visible_labels: np.ndarray
    infrared_labels: np.ndarray
    num_classes: int


def load_train_data(cfg: ExperimentConfig, verbose: bool = False) -> TrainData:
    ds = open_dataset(cfg.data, verbose=verbose)
    vis, ir = ds.train_lists(cfg.data)
    h, w = cfg.data.height, cfg.data.width
    return TrainData(load_images(vis, h, w), load_images(ir, h, w), vis.labels, ir.labels,
                     int(max(vis.labels.max(), ir.labels.max())) + 1)


def prepare_data(cfg: ExperimentConfig, verbose: bool = False) -> TrainData:
    """Everything a run reads, read and checked before its first step: the dataset's lists (training and test), free
    space for the caches not built yet (:func:`~vireid_lib.data.cache.check_space`), then every training and test
    image decoded into its cache. A bad list, a test identity without images, an image that is missing, truncated or
    a broken symbolic link, or a full disk is a clear error here, not after an epoch. Returns the training data."""
    ds = open_dataset(cfg.data, verbose=verbose)
    h, w = cfg.data.height, cfg.data.width
    train_lists, test_lists = ds.train_lists(cfg.data), ds.test_lists(cfg.data)
    check_space([*train_lists, *test_lists], h, w)
    data = load_train_data(cfg, verbose)
    for lst in test_lists:
        load_images(lst, h, w)
    return data


# ---------------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------------
def state_digest(obj) -> str:
    """sha256 of a checkpoint's content: every tensor's dtype, shape and bytes, every number, string and key, in
    order. Recorded inside checkpoints and ``model.pt`` and verified on load, so any damage to what the file holds is
    seen (only the zip format's alignment padding, which holds nothing, is not covered)."""
    h = hashlib.sha256()

    def walk(x) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(x, dict):
            h.update(f"D{len(x)}".encode())
            for k, v in x.items():
                walk(k)
                walk(v)
        elif isinstance(x, (list, tuple)):
            h.update(f"L{len(x)}".encode())
            for v in x:
                walk(v)
        else:
            h.update(f"{type(x).__name__}:{x!r};".encode())

    walk(obj)
    return h.hexdigest()


def _save(obj, path: Path, what: str) -> None:
    """``torch.save`` through a temporary file, renamed into place; a full disk (which torch reports as a
    ``RuntimeError``) or an unwritable folder is a :class:`CheckpointError` naming ``path``, the file unchanged."""
    try:
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(obj, tmp)
        return
    except (OSError, RuntimeError) as e:
        if isinstance(e, VireidError) and not isinstance(e, OSError):
            raise
        code, text = getattr(e, "errno", None), str(e)
    # raised here, not inside `except`: the failed writer (and its open file) is freed with its traceback first
    raise _write_failed(path, what, code, text)


def _write_failed(path: Path, what: str, code: int | None, text: str) -> CheckpointError:
    free = free_bytes(path)
    full = code in (errno.ENOSPC, errno.EDQUOT) or "write failed" in text or free < (1 << 20)
    why = (f"no space left on the device ({human_bytes(free)} free there)" if full
           else (text.strip().splitlines() or ["unknown error"])[0][:200])
    return CheckpointError(f"cannot write the {what} {path}: {why}. The previous {what} (if any) is intact and no "
                           f"temporary file is left; free some space{setting_for(path)}, and run again: the run "
                           f"resumes from its last checkpoint")


def save_checkpoint(path: Path, state: dict) -> None:
    """Write a checkpoint atomically, with the sha256 of its content (:func:`state_digest`) inside."""
    _save({**state, "sha256": state_digest(state)}, Path(path), "checkpoint")


def load_checkpoint(path: Path, identity: str) -> dict:
    """Load a checkpoint (weights-only), refusing a corrupt one (unreadable, or whose content no longer matches the
    sha256 recorded in it) or one of another configuration (a checkpoint of an older version of the code is the
    caller's to set aside, see :func:`train`)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} cannot be read: {load_failure(path, e)}. It is left untouched: move or delete it "
            f"to start this run again from scratch."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a vireid checkpoint of format {CHECKPOINT_FORMAT}; "
                              f"move or delete it to start again")
    recorded = state.pop("sha256", None)  # checkpoints written before checksums existed have none
    if recorded is not None and recorded != state_digest(state):
        raise CheckpointError(
            f"checkpoint {path} is damaged: its content does not match the sha256 recorded in it when it was saved "
            f"(the disk or a copy changed its bytes). It is left untouched and not loaded: move or delete it to "
            f"start this run again from scratch."
        )
    if state.get("identity") != identity:
        raise CheckpointError(
            f"checkpoint {path} belongs to run {state.get('identity')}, not to this configuration ({identity}). "
            f"It is left untouched; move or delete it, or use the configuration it was made with."
        )
    return state


# ---------------------------------------------------------------------------------------------------------
# Features and evaluation
# ---------------------------------------------------------------------------------------------------------
@torch.no_grad()
def extract_features(model: VIReIDNet, images: np.ndarray, modality: str, device: torch.device,
                     batch_size: int = 256, branch: str | None = None, channels_last: bool = False,
                     feature: str | None = None) -> np.ndarray:
    """L2-normalised embeddings (the test branch and ``model.test_feature`` by default) of uint8 images
    (N, H, W, 3)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = test_transform(to_tensor(np.asarray(images[i : i + batch_size]), device))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out.append(model.embed(x, modality, branch, feature).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 1), np.float32)


def evaluate(model: VIReIDNet, cfg: ExperimentConfig, device: torch.device, modes: tuple[str, ...] | None = None,
             feature: str | None = None) -> dict:
    """The dataset's own protocol on the model (:func:`~vireid_lib.evaluation.evaluate_dataset`): SYSU-MM01
    all-search (and indoor-search) over ``data.trials`` gallery trials, or RegDB visible→thermal and
    thermal→visible on the configured split. Returns ``{protocol name: result dict}`` (means, stds in percent).
    ``feature``: the test-time representation ("bn" or "pool"), default ``model.test_feature``."""
    ds = open_dataset(cfg.data, verbose=False)
    h, w = cfg.data.height, cfg.data.width

    def embed(images) -> np.ndarray:
        return extract_features(model, load_images(images, h, w), images.modality, device,
                                channels_last=cfg.train.channels_last, feature=feature)

    return evaluate_dataset(ds, embed, cfg.data, modes)


def headline(results: dict) -> dict[str, float]:
    """The main protocol's mean metrics: SYSU-MM01 all-search, or RegDB visible→thermal."""
    key = next((k for k in results if "all-search" in k or "visible-to-thermal" in k), None)
    if key is None:
        raise VireidError(f"no all-search or visible-to-thermal result among {sorted(results)}: evaluate with "
                          f"modes including 'all' (SYSU-MM01) or on RegDB")
    return results[key]["mean"]


# ---------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------
def _rng_state(gen: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "augment": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, gen: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    gen.set_state(state["augment"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def cpu_name() -> str:
    """The CPU's model name and widest vector instruction set (``/proc/cpuinfo`` on Linux, else
    :func:`platform.processor`), e.g. ``"Intel(R) Xeon(R) Processor (avx512f)"``: numpy and torch choose their SIMD
    kernels by it and another CPU reduces floats in another order, so a run records which one trained it."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")) and not flags:  # x86 / ARM
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    isa = next((f for f in ("avx512f", "avx2", "avx", "sse4_2", "asimd") if f in flags), None)
    return f"{model} ({isa})" if isa else model


def provenance(cfg: ExperimentConfig, device: torch.device) -> dict:
    return {"data": cfg.data.label, "profile": cfg.profile, "seed": cfg.seed, "device": str(device),
            "cpu": cpu_name(), "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "channels_last": cfg.train.channels_last, "compile": cfg.train.compile}


def compiled_forward(model: VIReIDNet, cfg: ExperimentConfig, log: bool = True):
    """The network's training forward: ``torch.compile`` of the model (inductor) when ``train.compile`` is set, the
    model itself otherwise. Compilation happens at the first call (about 30 s the first time on this CPU, a few
    seconds once inductor's on-disk cache holds the graph); if it fails (no C++ compiler, say), training goes on
    with the plain model and says so (the same computation, in another order of floating-point operations)."""
    if not cfg.train.compile:
        return model
    torch._dynamo.reset()  # a fresh model each run: no guard of an earlier run's model, no recompile limit
    compiled = torch.compile(model, dynamic=False)
    state = {"fn": compiled}

    def forward(vis, ir):
        if state["fn"] is compiled:
            try:
                return compiled(vis, ir)
            except Exception as e:  # noqa: BLE001 - any failure of the compiler stack: fall back, loudly
                progress.line(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                              f"training with the uncompiled model (set train.compile=false to skip the attempt)",
                              True)
                state["fn"] = model
        return state["fn"](vis, ir)

    return forward


def train(cfg: ExperimentConfig, run_dir: Path, progress_bar: bool = True, log: bool = True,
          stop_after_batches: int | None = None,
          backbone: tuple | None = None) -> dict:
    """Train (or resume, or return the finished result of) the run in ``run_dir``; returns ``final.json``.

    A finished run whose fingerprint (:mod:`vireid_lib.fingerprint`) differs from today's is stale: trained again
    (code or training data changed; the old result is kept under ``stale/``) or evaluated again with its trained
    model (test data changed). ``stop_after_batches`` stops early after that many batches in this call, without
    finishing the run (used by tests to simulate an interruption at an exact point). ``backbone``: the weights the
    backbone starts from, the identity of the run they come from and, optionally, that run's fingerprint (recorded
    in the run's own, in place of the one its configuration names), for a configuration with synthetic pretraining
    (:mod:`vireid_lib.pretraining`; :func:`vireid_lib.experiments.run` passes them).
    """
    cfg.validate()  # every setting in range, before anything is read or written
    run_dir = Path(run_dir)
    final_path = run_dir / "final.json"
    if final_path.exists() and run_staleness(cfg, run_dir) is None:
        return read_final(final_path)
    if cfg.model.synthetic_pretrain_ids and backbone is None and not reevaluation_only(cfg, run_dir):
        raise ValueError(f"{cfg.name} starts from a synthetic pretraining (model.synthetic_pretrain_ids = "
                         f"{cfg.model.synthetic_pretrain_ids}): train it with vireid_lib.experiments.run, which "
                         f"trains or reads the pretraining first, or pass backbone=")
    identity = run_identity(cfg)
    data = None if final_path.exists() else prepare_data(cfg, verbose=log)  # the data checked before the run folder
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise storage_error(run_dir, e, what="the run folder") from None
    with _run_lock(run_dir, log):
        for leftover in remove_interrupted_writes(run_dir):  # of a save killed midway (we hold the run's lock)
            progress.line(f"{run_dir.name}: removed {leftover.name}, left by an interrupted save", log)
        if final_path.exists():  # finished (maybe by another process while we waited for the lock)
            why = run_staleness(cfg, run_dir)
            if why is None:
                return read_final(final_path)
            if why == "test data" and (run_dir / "model.pt").exists():
                return _reevaluate(cfg, run_dir, log)
            _set_aside(run_dir, why, log)
        return _train_locked(cfg, run_dir, identity, progress_bar, log, stop_after_batches, data, backbone)


def reevaluation_only(cfg: ExperimentConfig, run_dir: Path) -> bool:
    """The run in ``run_dir`` has finished and only its test data changed: :func:`train` evaluates it again with its
    trained model instead of training it (so it needs no pretrained backbone)."""
    run_dir = Path(run_dir)
    return ((run_dir / "final.json").exists() and (run_dir / "model.pt").exists()
            and run_staleness(cfg, run_dir) == "test data")


def _set_aside(run_dir: Path, why: str, log: bool) -> None:
    """Move a stale run's result (and weights) to ``stale/<fingerprint>/``: nothing is lost, nothing is reused."""
    final = read_final(run_dir / "final.json")
    dest = run_dir / "stale" / str((final.get("fingerprint") or {}).get("code", "unversioned"))
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("model.pt", "metrics.jsonl", "final.json"):  # final.json last: until then the run looks finished
        if (run_dir / name).exists():
            os.replace(run_dir / name, dest / name)
    progress.line(f"{run_dir.name}: the finished result is stale ({why} changed since); kept in {dest}, training "
                  f"again", log)


def _reevaluate(cfg: ExperimentConfig, run_dir: Path, log: bool) -> dict:
    """Evaluate a finished run's trained model on today's test data (its training is still valid)."""
    final = read_final(run_dir / "final.json")
    device = resolve_device(cfg.train.device)
    model = load_model(cfg, run_dir, device)
    t0 = time.perf_counter()
    results = evaluate(model, cfg, device)
    other = "pool" if cfg.model.test_feature == "bn" else "bn"
    previous = {"headline": final["headline"], "fingerprint": final.get("fingerprint")}
    final.update(results=results, headline=headline(results), fingerprint=run_fingerprint(cfg),
                 readings={f"test_feature={other}": evaluate(model, cfg, device, feature=other)},
                 eval_seconds=time.perf_counter() - t0, reevaluated=previous)
    atomic_write_json(run_dir / "final.json", final)
    progress.line(f"{run_dir.name}: the test data changed since this run finished; evaluated again: "
                  f"{_fmt(final['headline'])}", log)
    return final


@contextlib.contextmanager
def _run_lock(run_dir: Path, log: bool):
    """One trainer per run folder at a time (parallel grids, a notebook beside a grid): others wait here."""
    import fcntl

    try:
        fh = open(run_dir / ".lock", "w")
    except OSError as e:
        raise storage_error(run_dir / ".lock", e, what="the lock file of the run") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress.line(f"{run_dir.name} is being trained by another process; waiting for it", log)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _train_locked(cfg: ExperimentConfig, run_dir: Path, identity: str, progress_bar: bool, log: bool,
                  stop_after_batches: int | None, data: TrainData | None = None,
                  backbone: tuple | None = None) -> dict:
    final_path = run_dir / "final.json"
    cfg_path = run_dir / "config.json"
    if cfg_path.exists():
        stored = json.loads(cfg_path.read_text())
        if stored.get("identity") != identity:
            raise CheckpointError(f"{run_dir} holds run {stored.get('identity')}, not this configuration "
                                  f"({identity}); use another folder or remove it")
    else:
        atomic_write_json(cfg_path, {"identity": identity, "config": asdict(cfg)})

    device = resolve_device(cfg.train.device)
    set_determinism(cfg.seed, device, cfg.train.threads)
    prints = run_fingerprint(cfg)
    data = data or prepare_data(cfg, verbose=log)
    t = cfg.train
    sampler = IdentitySampler(data.visible_labels, data.infrared_labels, t.P, t.K, seed=cfg.seed,
                              replacement=t.sampler)
    n_batches = min(len(sampler), t.max_batches) if t.max_batches else len(sampler)
    model = build_model(cfg.model, data.num_classes, cfg.data.height, cfg.data.width).to(device)
    pretrained_from = None
    if backbone is not None:  # the backbone starts from a synthetic pretraining (a checkpoint overrides it)
        weights, pretrained_from = backbone[:2]
        if len(backbone) > 2:  # the fingerprint of the pretraining actually used
            prints = {**prints, "pretraining": backbone[2]}
        elif pretrained_from != (prints.get("pretraining") or {}).get("identity"):
            raise ValueError(f"{cfg.name}: the backbone given comes from run {pretrained_from}, not from the "
                             f"pretraining its configuration names; pass that run's fingerprint as backbone[2] "
                             f"(vireid_lib.experiments.pretrained_backbone does) so that the run records it")
        model.backbone.load_state_dict(weights)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = build_optimizer(model, cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=t.amp == "fp16")
    gen = make_generator(cfg.seed + 1, device)
    ckpt_path = run_dir / "checkpoint.pt"
    history: list[dict] = []
    start_epoch, start_batch, acc = 0, 0, {}
    if ckpt_path.exists():
        state = load_checkpoint(ckpt_path, identity)
        if fp.staleness(state.get("fingerprint"), prints) in ("code", "pretraining", "train data"):
            stale = ckpt_path.with_name("checkpoint.stale.pt")
            os.replace(ckpt_path, stale)
            progress.line(f"{run_dir.name}: the checkpoint was written by other code or data than today's; moved "
                          f"to {stale.name}, starting again", log)
        else:
            model.load_state_dict(state["model"])
            load_optimizer_state(opt, state["optimizer"])
            scaler.load_state_dict(state["scaler"])
            try:
                _set_rng_state(state["rng"], gen)
            except RuntimeError as e:
                raise CheckpointError(
                    f"checkpoint {ckpt_path} was written on another kind of device than {device} ({e}); resume it "
                    f"with the train.device it started on, or move the checkpoint away to start again"
                ) from None
            start_epoch, start_batch, acc = state["epoch"], state["batch"], state["accumulators"]
            history = state["history"]
            progress.line(f"resuming {run_dir.name} at epoch {start_epoch}, batch {start_batch}", log)
    forward = compiled_forward(model, cfg, log)

    def checkpoint(epoch: int, batch: int, accumulators: dict) -> None:
        save_checkpoint(ckpt_path, {
            "format": CHECKPOINT_FORMAT, "identity": identity, "fingerprint": prints, "epoch": epoch, "batch": batch,
            "model": model.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
            "rng": _rng_state(gen), "accumulators": accumulators, "history": history})
        try:
            atomic_write_text(run_dir / "metrics.jsonl", "".join(json.dumps(h, sort_keys=True) + "\n" for h in history))
        except OSError as e:
            raise _write_failed(run_dir / "metrics.jsonl", "metrics log", e.errno, str(e)) from None

    done_batches = 0
    vis_lab, ir_lab = torch.as_tensor(data.visible_labels), torch.as_tensor(data.infrared_labels)
    for epoch in range(start_epoch, t.epochs):
        lr = set_lr(opt, epoch, cfg)
        model.train()
        acc = acc if epoch == start_epoch else {}
        sums: dict[str, float] = acc.get("sums", {})
        seen, seconds = acc.get("images", 0), acc.get("seconds", 0.0)
        first = start_batch if epoch == start_epoch else 0
        bar = progress.bar(sampler.epoch(epoch, start=first), total=n_batches - first,
                           desc=f"epoch {epoch + 1}/{t.epochs}", enabled=progress_bar)
        for b, (vi, ii) in enumerate(bar, start=first):
            if b >= n_batches:
                break
            t0 = time.perf_counter()
            labels = torch.cat([vis_lab[vi], ir_lab[ii]]).to(device)
            try:
                values = train_step(model, forward, opt, scaler if scaler.is_enabled() else None,
                                    to_tensor(data.visible[vi], device), to_tensor(data.infrared[ii], device),
                                    labels, gen, cfg, device, where=f"run {run_dir.name}")
            except TrainingDiverged as e:
                parts = str(e).split(": ", 1)[-1]
                with contextlib.suppress(OSError):  # a record for the tables (training health); the error is the news
                    atomic_write_json(run_dir / FAILED_NAME, {"identity": identity, "epoch": epoch + 1,
                                                              "batch": b + 1, "loss": parts, "fingerprint": prints})
                raise TrainingDiverged(
                    f"run {run_dir.name}: the loss became non-finite at epoch {epoch + 1}, batch {b + 1}: "
                    + parts
                    + f". Lower the learning rate (train.lr={t.lr}) or check the data; the last checkpoint "
                    f"is kept, so the run resumes from it once the cause is fixed."
                ) from None
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            sums["total"] = sums.get("total", 0.0) + sum(values.values())
            seen += len(labels)
            seconds += time.perf_counter() - t0
            if progress_bar:
                bar.set_postfix_str(f"loss {sum(values.values()):.3f} ("
                                    + " ".join(f"{k}={v:.2f}" for k, v in values.items())
                                    + f") · {seen / max(seconds, 1e-9):.0f} img/s")
            done_batches += 1
            state_acc = {"sums": sums, "images": seen, "seconds": seconds}
            if t.checkpoint_every and (b + 1) % t.checkpoint_every == 0 and b + 1 < n_batches:
                checkpoint(epoch, b + 1, state_acc)
            if stop_after_batches is not None and done_batches >= stop_after_batches:
                bar.close()
                checkpoint(epoch, b + 1, state_acc)
                return {}
        bar.close()
        n_done = n_batches
        record = {"epoch": epoch + 1, "lr": lr, "images_per_s": seen / max(seconds, 1e-9), "seconds": seconds,
                  **{f"loss_{k}": v / n_done for k, v in sums.items()}}
        history.append(record)
        parts_txt = " ".join(f"{k}={v / n_done:.3f}" for k, v in sums.items() if k != "total")
        progress.line(f"epoch {epoch + 1}/{t.epochs}: loss {sums.get('total', 0) / n_done:.3f} ({parts_txt}), "
                      f"lr {lr:.2g}, {record['images_per_s']:.0f} img/s", log)
        if t.eval_every and (epoch + 1) % t.eval_every == 0 and epoch + 1 < t.epochs:
            res = evaluate(model, cfg, device, modes=("all",))
            history.append({"epoch": epoch + 1, "eval": headline(res)})
            progress.line(f"  evaluation (not used for selection): {_fmt(headline(res))}", log)
        checkpoint(epoch + 1, 0, {})
        acc = {}

    t0 = time.perf_counter()
    results = evaluate(model, cfg, device)
    # the other reading of the test-time representation, on the same trained model (README, "readings")
    other = "pool" if cfg.model.test_feature == "bn" else "bn"
    readings = {f"test_feature={other}": evaluate(model, cfg, device, feature=other)}
    final = {"identity": identity, "name": cfg.name, "results": results, "headline": headline(results),
             "readings": readings, "num_classes": data.num_classes, "fingerprint": prints,
             "history": history, "provenance": provenance(cfg, device), "eval_seconds": time.perf_counter() - t0,
             "train_seconds": sum(h.get("seconds", 0.0) for h in history)}
    if pretrained_from:
        final["pretrained_from"] = pretrained_from  # the synthetic pretraining run its backbone started from
    weights = model.state_dict()
    _save({"format": MODEL_FORMAT, "sha256": state_digest(weights), "state_dict": weights}, run_dir / "model.pt",
          "trained model")
    try:
        atomic_write_json(final_path, final)  # written last: its presence means "finished"
    except OSError as e:
        raise _write_failed(final_path, "run result", e.errno, str(e)) from None
    ckpt_path.unlink(missing_ok=True)  # the optimiser state is no longer needed
    (run_dir / FAILED_NAME).unlink(missing_ok=True)  # an earlier failure of this run no longer holds
    progress.line(f"finished {run_dir.name}: {_fmt(final['headline'])}", log)
    return final


def _fmt(m: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in m.items())


def load_model(cfg: ExperimentConfig, run_dir: Path, device: torch.device | str = "cpu") -> VIReIDNet:
    """The trained model of a finished run (weights-only loading)."""
    path = Path(run_dir) / "model.pt"
    if not path.exists():
        raise CheckpointError(f"{run_dir} has no trained model (model.pt); train the run first")
    try:
        num_classes = json.loads((Path(run_dir) / "final.json").read_text())["num_classes"]
    except (FileNotFoundError, KeyError, ValueError):
        num_classes = load_train_data(cfg).num_classes  # runs finished before num_classes was recorded
    model_cfg = dataclasses.replace(cfg.model, pretrained=False)  # the trained weights replace ImageNet's
    model = build_model(model_cfg, num_classes, cfg.data.height, cfg.data.width)
    again = f"Delete it (and {Path(run_dir) / 'final.json'}) to train the run again."
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} cannot be loaded: {load_failure(path, e)}. {again}") from None
    if isinstance(saved, dict) and saved.get("format") == MODEL_FORMAT:
        weights = saved.get("state_dict")
        if saved.get("sha256") != state_digest(weights):
            raise CheckpointError(f"{path} is damaged: its content does not match the sha256 recorded in it when it "
                                  f"was saved (the disk or a copy changed its bytes); not loaded. {again}")
    else:
        weights = saved  # a plain state dict (runs finished before checksums existed)
    names, expected = set(weights or {}), set(model.state_dict())
    readings = {".weights.": "free", ".weight_logits.": "learned"}  # FusionModule's parameters under each reading
    for saved_as, reading in readings.items():
        ours = next(k for k in readings if k != saved_as)
        if any(saved_as in k for k in names - expected) and any(ours in k for k in expected - names):
            raise CheckpointError(
                f"{path} holds fusion weights of the {reading!r} reading (parameters named '*{saved_as}*'), and this "
                f"configuration reads them as {cfg.model.fusion_weights!r} (model.fusion_weights; 'learned', "
                f"softmax-normalised, is the default since runs of the 'free' reading were trained). Load it with "
                f"model.fusion_weights={reading!r} (e.g. --set model.fusion_weights={reading}), or train the run "
                f"again") from None
    try:
        model.load_state_dict(weights)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise CheckpointError(f"{path} does not fit this configuration's model ({first}): the config differs "
                              f"from the one in {Path(run_dir) / 'config.json'}; load with that config, or "
                              f"delete model.pt to train again") from None
    return model.to(device).eval()
