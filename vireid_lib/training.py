"""One training step and its optimiser: what the engine repeats, and what a run's code fingerprint replays.

Kept apart from :mod:`vireid_lib.engine` (runs, checkpoints, evaluation) so that :mod:`vireid_lib.fingerprint`
can replay the very step training takes without importing the engine, which imports it.

- Optimisation as the paper and the AGW/CAJ code: SGD (momentum 0.9, Nesterov, weight decay 5e-4), lr 0.1 for new
  layers and 0.1× for ImageNet-initialised ones, linear warm-up, ×0.1 at each milestone; Adam is available.
- A step: the training augmentation, the network, the loss of Eq. 13, backward, the optimiser step; a non-finite
  loss part stops it before any weight changes.
"""

from __future__ import annotations

import contextlib
import math

import torch

from .errors import VireidError
from .losses import total_loss
from .models import VIReIDNet
from .transforms import train_transform


class TrainingDiverged(VireidError, FloatingPointError):
    """A loss became NaN or infinite."""


DIVERGENCE_FACTOR = 2.0


def divergence(history: list[dict], factor: float = DIVERGENCE_FACTOR) -> dict | None:
    """Whether a finished run's training blew up on the way while staying finite (a non-finite loss stops the run:
    :class:`TrainingDiverged`): the first epoch whose mean total loss exceeds ``factor`` × the first epoch's.

    Training from scratch lowers the loss from its first epoch on, so a later epoch above twice the first's means
    that the weights blew up (in the cpu profile: the WRT loss of the joint embedding reaching thousands when
    the features' scale explodes under SGD at lr 0.1) and the run recovered only partly. Returns ``None`` for a
    healthy run, else ``{"epoch", "loss", "first", "part", "peak"}``: the epoch, its mean total loss, the first
    epoch's, the loss part that grew most from the first epoch, and the highest epoch mean of the total.
    ``history`` is a run's per-epoch records (``final.json``'s ``history``; evaluation records are skipped).
    Diverged runs are kept in every statistic of the study (dropping them would choose runs by their outcome);
    tables list them."""
    epochs = [h for h in history if "loss_total" in h]
    if len(epochs) < 2:
        return None
    first = epochs[0]
    for h in epochs[1:]:
        if h["loss_total"] > factor * first["loss_total"]:
            parts = [k for k in h if k.startswith("loss_") and k != "loss_total" and k in first]
            part = max(parts, key=lambda k: h[k] - first[k], default="loss_total")
            return {"epoch": int(h["epoch"]), "loss": float(h["loss_total"]), "first": float(first["loss_total"]),
                    "part": part.removeprefix("loss_"), "peak": float(max(e["loss_total"] for e in epochs))}
    return None


def build_optimizer(model: VIReIDNet, cfg, fused: bool | None = None) -> torch.optim.Optimizer:
    """Two groups: new layers (heads, fusion module) at lr; the backbone at lr × pretrained_lr_factor when it
    is ImageNet-initialised, at lr otherwise. ``fused``: SGD's fused kernel (``None``: wherever it is safe, below;
    ``False``: SGD's per-parameter loop, as version 1 and the tests that compare the two)."""
    t = cfg.train
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    ids = {id(p) for p in backbone}
    new = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    factor = t.pretrained_lr_factor if cfg.model.pretrained else 1.0
    groups = [{"params": new, "lr": t.lr, "base_lr": t.lr},
              {"params": backbone, "lr": t.lr * factor, "base_lr": t.lr * factor}]
    if t.optimizer == "sgd":
        # the fused kernel: one pass over each parameter instead of SGD's loop of tensor operations (about a third of
        # the loop's time on this CPU). The same numbers as the loop on the SIMD-vectorised part of each tensor; a
        # tensor's last (size mod vector width) elements may round otherwise in the last bit, a run mechanic like
        # channels-last (tests/test_engine.py). Not with fp16 loss scaling: a fused step that the scaler skips (an
        # overflow, as often on the first step) leaves its momentum buffers uninitialised, where the loop leaves none.
        safe = t.amp != "fp16" and all(p.device.type in ("cpu", "cuda") and p.is_floating_point()
                                       for p in model.parameters())
        if fused and not safe:
            raise ValueError("the fused SGD kernel needs floating-point parameters on cpu or cuda and no fp16 loss "
                             "scaling; call build_optimizer with fused=None to use it only where it is safe")
        fused = safe if fused is None else fused
        return torch.optim.SGD(groups, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov,
                               weight_decay=t.weight_decay, fused=fused)
    if fused:
        raise ValueError(f"fused=True asks for SGD's fused kernel, but train.optimizer is {t.optimizer!r}; "
                         "set train.optimizer='sgd' or call build_optimizer with fused=None")
    return torch.optim.Adam(groups, lr=t.lr, weight_decay=t.weight_decay)


def load_optimizer_state(opt: torch.optim.Optimizer, state: dict) -> None:
    """A checkpoint's optimiser state into ``opt``, which keeps its own kernel: ``load_state_dict`` would restore the
    saved groups' ``fused`` flag (a checkpoint written before the fused SGD would turn it off, and with fp16 trip the
    scaler), and each momentum buffer is laid out as its parameter (channels-last or not: the fused CPU kernel walks
    parameter, gradient and buffer with the parameter's strides)."""
    kernel = {k: opt.defaults[k] for k in ("fused", "foreach") if k in opt.defaults}
    opt.load_state_dict(state)
    for group in opt.param_groups:
        group.update(kernel)
        for p in group["params"]:
            buf = opt.state.get(p, {}).get("momentum_buffer")
            if buf is not None and buf.stride() != p.stride():
                opt.state[p]["momentum_buffer"] = torch.empty_like(p).copy_(buf)


def lr_factor(epoch: int, cfg) -> float:
    """Warm-up lr·(e+1)/warmup for e < warmup, then × gamma at each milestone (AGW/CAJ ``adjust_learning_rate``)."""
    t = cfg.train
    if epoch < t.warmup_epochs:
        return (epoch + 1) / t.warmup_epochs
    return t.gamma ** sum(epoch >= m for m in t.milestones)


def set_lr(opt: torch.optim.Optimizer, epoch: int, cfg) -> float:
    f = lr_factor(epoch, cfg)
    for g in opt.param_groups:
        g["lr"] = g["base_lr"] * f
    return opt.param_groups[0]["lr"]


def _autocast(device: torch.device, amp: str):
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def train_step(model: VIReIDNet, forward, opt: torch.optim.Optimizer, scaler, visible: torch.Tensor,
               infrared: torch.Tensor, labels: torch.Tensor, gen: torch.Generator, cfg, device: torch.device,
               where: str = "") -> dict[str, float]:
    """One optimisation step on a sampler batch: the training augmentation (:func:`train_transform`), the network
    (``forward``: the model, or its compiled version), the loss of Eq. 13 (:func:`total_loss`), backward and the
    optimiser step. Returns each loss part's value; a non-finite part raises :class:`TrainingDiverged` (naming
    ``where``) before any weight changes. ``scaler``: a ``GradScaler`` for fp16, or ``None``."""
    vis, ir = train_transform(visible, infrared, gen, cfg.aug)
    if cfg.train.channels_last:
        vis, ir = (x.contiguous(memory_format=torch.channels_last) for x in (vis, ir))
    with _autocast(device, cfg.train.amp):
        out = forward(vis, ir)
        loss, parts = total_loss(out, labels, cfg.loss)
    values = {k: float(v.detach()) for k, v in parts.items()}
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise TrainingDiverged(f"{where}: " + ", ".join(f"{k} = {values[k]}" for k in bad))
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return values
