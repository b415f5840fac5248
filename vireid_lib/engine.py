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
- A non-finite loss stops the run with the epoch, the batch and the loss part.
- No model selection on the test set: the model evaluated at the end is the last one. Intermediate
  evaluations (every ``eval_every`` epochs) are logged for the learning curves only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import progress
from .config import ExperimentConfig, asdict
from .data import IdentitySampler, RegDB, load_images, open_dataset
from .data.sysu import GALLERY_CAMS
from .errors import CheckpointError, VireidError
from .evaluation import ProtocolResult, evaluate_regdb, evaluate_sysu
from .io import atomic_path, atomic_write_json, atomic_write_text, stable_hash
from .losses import total_loss
from .models import VIReIDNet, build_model
from .transforms import make_generator, test_transform, to_tensor, train_transform

#: bump when a change alters what training produces, so that stale finished runs are not reused
TRAINING_VERSION = 1
CHECKPOINT_FORMAT = 1


class TrainingDiverged(VireidError, FloatingPointError):
    """A loss became NaN or infinite."""


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
    """Seeds and deterministic kernels (``warn_only`` on GPUs, where some kernels have no deterministic form)."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")


@dataclass
class TrainData:
    visible: np.ndarray  # (Nv, H, W, 3) uint8, memory-mapped
    infrared: np.ndarray
    visible_labels: np.ndarray
    infrared_labels: np.ndarray
    num_classes: int


def load_train_data(cfg: ExperimentConfig, verbose: bool = False) -> TrainData:
    ds = open_dataset(cfg.data, verbose=verbose)
    vis, ir = ds.train(cfg.data.regdb_trial) if isinstance(ds, RegDB) else ds.train()
    h, w = cfg.data.height, cfg.data.width
    return TrainData(load_images(vis, h, w), load_images(ir, h, w), vis.labels, ir.labels,
                     int(max(vis.labels.max(), ir.labels.max())) + 1)


def data_fingerprint(cfg: ExperimentConfig) -> str:
    """What identifies the training and test data: the synthetic spec, or the real files' names, sizes, times."""
    if cfg.data.is_synthetic:
        from .data.synthetic import spec_key

        return stable_hash(spec_key(cfg.data.synthetic, cfg.data.dataset))
    from .data.cache import cache_key

    ds = open_dataset(cfg.data, verbose=False)
    lists = ds.train(cfg.data.regdb_trial) if isinstance(ds, RegDB) else ds.train()
    return stable_hash([cache_key(x, cfg.data.height, cfg.data.width) for x in lists])


def run_identity(cfg: ExperimentConfig) -> str:
    """The hash that names a run: config (minus run mechanics), data fingerprint, training code version."""
    return stable_hash({"config": cfg.identity(), "data": data_fingerprint(cfg), "training": TRAINING_VERSION})


def build_optimizer(model: VIReIDNet, cfg: ExperimentConfig) -> torch.optim.Optimizer:
    """Two groups: new layers (heads, fusion module) at lr; the backbone at lr × pretrained_lr_factor when it
    is ImageNet-initialised, at lr otherwise."""
    t = cfg.train
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    ids = {id(p) for p in backbone}
    new = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    factor = t.pretrained_lr_factor if cfg.model.pretrained else 1.0
    groups = [{"params": new, "lr": t.lr, "base_lr": t.lr},
              {"params": backbone, "lr": t.lr * factor, "base_lr": t.lr * factor}]
    if t.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov,
                               weight_decay=t.weight_decay)
    return torch.optim.Adam(groups, lr=t.lr, weight_decay=t.weight_decay)


def lr_factor(epoch: int, cfg: ExperimentConfig) -> float:
    """Warm-up lr·(e+1)/warmup for e < warmup, then × gamma at each milestone (AGW/CAJ ``adjust_learning_rate``)."""
    t = cfg.train
    if epoch < t.warmup_epochs:
        return (epoch + 1) / t.warmup_epochs
    return t.gamma ** sum(epoch >= m for m in t.milestones)


def set_lr(opt: torch.optim.Optimizer, epoch: int, cfg: ExperimentConfig) -> float:
    f = lr_factor(epoch, cfg)
    for g in opt.param_groups:
        g["lr"] = g["base_lr"] * f
    return opt.param_groups[0]["lr"]


# ---------------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------------
def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path, identity: str) -> dict:
    """Load a checkpoint (weights-only), refusing a corrupt one or one of another configuration."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            f"It is left untouched: move or delete it "
            f"to start this run again from scratch."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a vireid checkpoint of format {CHECKPOINT_FORMAT}; "
                              f"move or delete it to start again")
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
@torch.no_grad()
def extract_features(model: VIReIDNet, images: np.ndarray, modality: str, device: torch.device,
                     batch_size: int = 256, branch: str | None = None, channels_last: bool = False) -> np.ndarray:
    """L2-normalised embeddings (the test branch by default) of uint8 images (N, H, W, 3)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = test_transform(to_tensor(np.asarray(images[i : i + batch_size]), device))
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out.append(model.embed(x, modality, branch).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 1), np.float32)


def evaluate(model: VIReIDNet, cfg: ExperimentConfig, device: torch.device, modes: tuple[str, ...] | None = None
             ) -> dict:
    """The dataset's protocol on the model: SYSU-MM01 all-search (and indoor-search) over ``data.trials``
    gallery trials, or RegDB visible→thermal and thermal→visible on the configured split.
    Returns ``{protocol name: result dict}`` (means and stds in percent)."""
    ds = open_dataset(cfg.data, verbose=False)
    h, w = cfg.data.height, cfg.data.width
    cl = cfg.train.channels_last
    results = {}
    if isinstance(ds, RegDB):
        tv, tt = ds.test(cfg.data.regdb_trial)
        fv = extract_features(model, load_images(tv, h, w), "visible", device, channels_last=cl)
        ft = extract_features(model, load_images(tt, h, w), "infrared", device, channels_last=cl)
        for direction, name, gallery in (("v2t", "visible-to-thermal", tt), ("t2v", "thermal-to-visible", tv)):
            m = evaluate_regdb(fv, ft, tv, tt, direction)  # one split: one trial, no spread over trials
            res = ProtocolResult([m], f"RegDB {name}", {"split": cfg.data.regdb_trial,
                                                        "chance_R1": 100.0 / len(np.unique(gallery.pids))})
            results[res.protocol] = res.to_dict()
        return results
    query = ds.query()
    qf = extract_features(model, load_images(query, h, w), "infrared", device, channels_last=cl)
    cand = ds.gallery_candidates("all")
    gf = extract_features(model, load_images(cand, h, w), "visible", device, channels_last=cl)
    for mode in modes or ("all", "indoor"):
        idx = np.flatnonzero(np.isin(cand.cams, GALLERY_CAMS["indoor"])) if mode == "indoor" else np.arange(len(cand))
        res = evaluate_sysu(qf, gf[idx], query, cand.subset(idx), mode=mode, shots=cfg.data.sysu_shots,
                            trials=cfg.data.trials)
        results[res.protocol] = res.to_dict()
    return results


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
def _autocast(device: torch.device, amp: str):
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


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


def provenance(cfg: ExperimentConfig, device: torch.device) -> dict:
    return {"data": cfg.data.label, "profile": cfg.profile, "seed": cfg.seed, "device": str(device),
            "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()}


def train(cfg: ExperimentConfig, run_dir: Path, progress_bar: bool = True, log: bool = True,
          stop_after_batches: int | None = None) -> dict:
    """Train (or resume, or return the finished result of) the run in ``run_dir``; returns ``final.json``.

    ``stop_after_batches`` stops early after that many batches in this call, without finishing the run
    (used by tests to simulate an interruption at an exact point).
    """
    cfg.validate()
    run_dir = Path(run_dir)
    final_path = run_dir / "final.json"
    if final_path.exists():
        return json.loads(final_path.read_text())
    identity = run_identity(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(run_dir, log):
        if final_path.exists():  # finished by another process while we waited for the lock
            return json.loads(final_path.read_text())
        return _train_locked(cfg, run_dir, identity, progress_bar, log, stop_after_batches)


@contextlib.contextmanager
def _run_lock(run_dir: Path, log: bool):
    """One trainer per run folder at a time (parallel grids, a notebook beside a grid): others wait here."""
    import fcntl

    with open(run_dir / ".lock", "w") as fh:
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
                  stop_after_batches: int | None) -> dict:
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
    data = load_train_data(cfg, verbose=log)
    t = cfg.train
    sampler = IdentitySampler(data.visible_labels, data.infrared_labels, t.P, t.K, seed=cfg.seed)
    n_batches = min(len(sampler), t.max_batches) if t.max_batches else len(sampler)
    model = build_model(cfg.model, data.num_classes, cfg.data.height, cfg.data.width).to(device)
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
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        try:
            _set_rng_state(state["rng"], gen)
        except RuntimeError as e:
            raise CheckpointError(
                f"checkpoint {ckpt_path} was written on another kind of device than {device} ({e}); resume it with "
                f"the train.device it started on, or move the checkpoint away to start again"
            ) from None
        start_epoch, start_batch, acc = state["epoch"], state["batch"], state["accumulators"]
        history = state["history"]
        progress.line(f"resuming {run_dir.name} at epoch {start_epoch}, batch {start_batch}", log)

    def checkpoint(epoch: int, batch: int, accumulators: dict) -> None:
        save_checkpoint(ckpt_path, {
            "format": CHECKPOINT_FORMAT, "identity": identity, "epoch": epoch, "batch": batch,
            "model": model.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
            "rng": _rng_state(gen), "accumulators": accumulators, "history": history})
        atomic_write_text(run_dir / "metrics.jsonl", "".join(json.dumps(h, sort_keys=True) + "\n" for h in history))

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
            vis = to_tensor(data.visible[vi], device)
            ir = to_tensor(data.infrared[ii], device)
            vis, ir = train_transform(vis, ir, gen, cfg.aug)
            if t.channels_last:
                vis, ir = (x.contiguous(memory_format=torch.channels_last) for x in (vis, ir))
            labels = torch.cat([vis_lab[vi], ir_lab[ii]]).to(device)
            with _autocast(device, t.amp):
                out = model(vis, ir)
                loss, parts = total_loss(out, labels, cfg.loss)
            values = {k: float(v.detach()) for k, v in parts.items()}
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            if bad:
                raise TrainingDiverged(
                    f"run {run_dir.name}: the loss became non-finite at epoch {epoch + 1}, batch {b + 1}: "
                    + ", ".join(f"{k} = {values[k]}" for k in bad)
                    + f". Lower the learning rate (train.lr={t.lr}) or check the data; the last checkpoint "
                    f"is kept, so the run resumes from it once the cause is fixed."
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            sums["total"] = sums.get("total", 0.0) + sum(values.values())
            seen += len(labels)
            seconds += time.perf_counter() - t0
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
    final = {"identity": identity, "name": cfg.name, "results": results, "headline": headline(results),
             "num_classes": data.num_classes,
             "history": history, "provenance": provenance(cfg, device), "eval_seconds": time.perf_counter() - t0,
             "train_seconds": sum(h.get("seconds", 0.0) for h in history)}
    with atomic_path(run_dir / "model.pt", suffix=".pt") as tmp:
        torch.save(model.state_dict(), tmp)
    atomic_write_json(final_path, final)  # written last: its presence means "finished"
    ckpt_path.unlink(missing_ok=True)  # the optimiser state is no longer needed
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
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as e:
        raise CheckpointError(f"{path} cannot be loaded into this configuration's model ({e}): the config differs "
                              f"from the one in {Path(run_dir) / 'config.json'}; load with that config, or "
                              f"delete model.pt to train again") from None
    return model.to(device).eval()
