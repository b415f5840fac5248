"""Version 1's training step, frozen as the baseline of ``bench_training.py`` (not used for training).

What the step was before the kernel work of issue 11: per-image loops in pad + crop and in channel random erasing,
each modality augmented on its own, bilinear upsampling through ``F.interpolate``, NCHW memory, no compilation,
PyTorch's deterministic mode on (which fills every new buffer with NaN), SGD's per-parameter loop (no fused kernel).
The model and the loss are the library's.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F

from vireid_lib import transforms as T


def pad_crop(x, generator, pad=10):
    B, C, H, W = x.shape
    shifts = (torch.randint(0, 2 * pad + 1, (B, 2), generator=generator, device=x.device) - pad).tolist()
    out = torch.zeros_like(x)
    for b, (dy, dx) in enumerate(shifts):
        if abs(dy) >= H or abs(dx) >= W:
            continue
        out[b, :, max(0, -dy): H - max(0, dy), max(0, -dx): W - max(0, dx)] = \
            x[b, :, max(0, dy): H - max(0, -dy), max(0, dx): W - max(0, -dx)]
    return out


def hflip(x, generator, p=0.5):
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    idx = torch.nonzero(flip)[:, 0]
    if len(idx):
        x[idx] = x[idx].flip(-1)
    return x


def cre(x, generator, p=0.5):
    fill = torch.tensor(T.CRE_FILL, device=x.device, dtype=x.dtype).view(3, 1, 1)
    boxes = T.erasing_boxes(x.shape, generator, x.device, p=p).tolist()
    for b, (y0, x0, h, w, do) in enumerate(boxes):
        if do:
            x[b, :, y0: y0 + h, x0: x0 + w] = fill
    return x


def train_transform(visible, infrared, generator, aug):
    if aug.rcc:
        visible = T.rcc(visible, generator)
    out = []
    for x in (visible, infrared):
        x = pad_crop(x, generator, aug.pad) if aug.pad else x.clone()
        if aug.flip:
            x = hflip(x, generator)
        x = T.normalize(x, inplace=True)
        if aug.cre:
            x = cre(x, generator, aug.erase_p)
        out.append(x)
    return out[0], out[1]


def _aligned_interpolate(self, feats):
    out = {}
    for i in self.layers:
        x = self.reduce[str(i)](feats[i])
        if x.shape[-2:] != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        out[i] = x
    return out


def as_v1(model):
    """The model with version 1's upsampling (``F.interpolate``)."""
    if model.fusion is not None:
        model.fusion.aligned = types.MethodType(_aligned_interpolate, model.fusion)
    return model


def build_optimizer(model, cfg):
    """Version 1's optimiser: the library's groups and hyper-parameters through SGD's per-parameter loop (today's
    fused kernel gives the same numbers but for the last bit of each tensor's non-vectorised tail)."""
    from vireid_lib.training import build_optimizer as today

    return today(model, cfg, fused=False)
