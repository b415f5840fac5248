"""Augmentations as batched tensor operations (RCC, CRE, random erasing, pad + crop, flip, normalisation).

Every function takes a float batch ``x`` of shape (B, 3, H, W) on any device and an explicit
``torch.Generator`` on the same device, and draws each image's randomness independently (one draw per image,
not one per batch). Images are in [0, 1] until :func:`normalize`; erasing runs after it, in normalised
space, as in the CAJ reference.

Training pipeline (paper §3.1, §4.2; CAJ ``ChannelAug.py`` for CRE)::

    visible:  rcc → pad 10 + random crop → flip → normalize → cre
    infrared:       pad 10 + random crop → flip → normalize → cre

RCC is applied to visible images only: infrared images are one channel stored three times, so permuting
their channels changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# CAJ's ChannelRandomErasing fills the rectangle with these per-channel constants (CIFAR means, written
# directly into normalised space).
CRE_FILL = (0.4914, 0.4822, 0.4465)

#: The seven RCC variants of the paper's Fig. 2, in the paper's order: six channel orders and grayscale.
RCC_VARIANTS = ("RGB", "RBG", "BGR", "BRG", "GBR", "GRB", "gray")
_PERMS = torch.tensor([["RGB".index(c) for c in v] for v in RCC_VARIANTS[:6]])
#: ITU-R 601 luma, the weights of PIL's ``convert("L")``
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def to_tensor(batch: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (B, H, W, 3) → float (B, 3, H, W) in [0, 1] on ``device`` (the transfer happens as uint8)."""
    t = torch.as_tensor(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
    t = t.to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma 0.299 R + 0.587 G + 0.114 B, replicated to three channels."""
    w = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand_as(x).contiguous()


def rcc(x: torch.Tensor, generator: torch.Generator, return_choice: bool = False):
    """Random Combination of Channels (§3.1, Fig. 2): replace each image by one of seven variants, chosen
    uniformly — the six orders of its R, G, B channels (RGB, RBG, BGR, BRG, GBR, GRB) or its grayscale.

    Unlike CAJ's channel exchange, which *replicates* one channel, RCC *permutes* channels: every image
    keeps all of its information, only the channels' roles change. ``return_choice`` also returns the index
    into :data:`RCC_VARIANTS` drawn for each image.
    """
    B = x.shape[0]
    choice = torch.randint(0, 7, (B,), generator=generator, device=x.device)
    perm = _PERMS.to(x.device)[choice.clamp(max=5)]  # (B, 3)
    out = torch.gather(x, 1, perm[:, :, None, None].expand_as(x))
    is_gray = choice == 6
    if bool(is_gray.any()):
        out[is_gray] = grayscale(x[is_gray])
    return (out, choice) if return_choice else out


def pad_crop(x: torch.Tensor, generator: torch.Generator, pad: int = 10) -> torch.Tensor:
    """Zero-pad by ``pad`` pixels (black, before normalisation, as PIL's ``Pad``) and crop back to (H, W) at a
    random offset per image."""
    if pad <= 0:
        return x
    B, C, H, W = x.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=generator, device=x.device)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=generator, device=x.device)
    rows = (oy[:, None] + torch.arange(H, device=x.device))[:, None, :, None].expand(B, C, H, W + 2 * pad)
    xp = torch.gather(xp, 2, rows)
    cols = (ox[:, None] + torch.arange(W, device=x.device))[:, None, None, :].expand(B, C, H, W)
    return torch.gather(xp, 3, cols)


def hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image left-right with probability ``p``."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s


def erasing_boxes(shape: tuple[int, ...], generator: torch.Generator, device, p: float = 0.5,
                  area: tuple[float, float] = (0.02, 0.4), ratio: float = 0.3, attempts: int = 100) -> torch.Tensor:
    """Random-erasing rectangles, one per image (Zhong et al.; CAJ's parameters): with probability ``p``, up
    to ``attempts`` draws of area ∈ U(area)·HW and aspect ∈ U(ratio, 1/ratio), the first that fits is kept.
    Returns a boolean mask (B, 1, H, W), all False for images not erased."""
    B, _, H, W = shape
    u = torch.rand(B, attempts, 3, generator=generator, device=device)
    target = (area[0] + (area[1] - area[0]) * u[..., 0]) * H * W
    aspect = ratio + (1 / ratio - ratio) * u[..., 1]
    h = torch.round(torch.sqrt(target * aspect)).long()
    w = torch.round(torch.sqrt(target / aspect)).long()
    ok = (h < H) & (w < W)
    first = torch.where(ok.any(1), ok.float().argmax(1), torch.zeros(B, dtype=torch.long, device=device))
    hb = h.gather(1, first[:, None])[:, 0]
    wb = w.gather(1, first[:, None])[:, 0]
    pos = torch.rand(B, 2, generator=generator, device=device)
    y0 = (pos[:, 0] * (H - hb + 1).float()).long().clamp(min=0)
    x0 = (pos[:, 1] * (W - wb + 1).float()).long().clamp(min=0)
    do = (torch.rand(B, generator=generator, device=device) < p) & ok.any(1)
    ys = torch.arange(H, device=device)[None, :]
    xs = torch.arange(W, device=device)[None, :]
    rows = (ys >= y0[:, None]) & (ys < (y0 + hb)[:, None])
    cols = (xs >= x0[:, None]) & (xs < (x0 + wb)[:, None])
    return (rows[:, :, None] & cols[:, None, :] & do[:, None, None])[:, None]


def cre(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Channel random erasing as in the CAJ reference (``ChannelRandomErasing``): random erasing whose
    rectangle is filled per channel with (0.4914, 0.4822, 0.4465), in normalised space.

    Interpretation: the paper (§2.2) describes CRE as filling with "random values from all three channels";
    we follow the reference code it cites (CAJ), whose fill is a per-channel constant.
    """
    mask = erasing_boxes(x.shape, generator, x.device, p=p)
    fill = torch.tensor(CRE_FILL, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return torch.where(mask, fill, x)


def random_erasing(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Random erasing (Zhong et al.) with random values: the rectangle is filled with N(0, 1) noise per pixel
    and channel (torchvision's ``value='random'``), in normalised space."""
    mask = erasing_boxes(x.shape, generator, x.device, p=p)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.where(mask, noise, x)


def color_jitter(x: torch.Tensor, generator: torch.Generator, brightness: float = 0.4, contrast: float = 0.4,
                 saturation: float = 0.4) -> torch.Tensor:
    """Colour jitter (brightness, contrast, saturation factors ∈ U(1 − s, 1 + s) per image), on [0, 1] images.
    Shown next to RCC in notebook 02; the paper's method does not use it."""
    B = x.shape[0]
    f = torch.rand(B, 3, generator=generator, device=x.device) * 2 - 1
    fb, fc, fs = (1 + s * f[:, i].view(B, 1, 1, 1) for i, s in enumerate((brightness, contrast, saturation)))
    x = (x * fb).clamp(0, 1)
    mean = grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * fc + mean).clamp(0, 1)
    g = grayscale(x)
    return ((x - g) * fs + g).clamp(0, 1)


@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations the training pipeline applies (every row of Table 1 is a choice of these)."""

    rcc: bool = True  # §3.1, visible only
    cre: bool = True  # CAJ channel random erasing, both modalities
    random_erasing: bool = False  # plain random erasing, both modalities
    pad: int = 10
    flip: bool = True
    erase_p: float = 0.5


def train_transform(visible: torch.Tensor, infrared: torch.Tensor, generator: torch.Generator,
                    aug: AugmentConfig = AugmentConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """The training augmentation of a sampler batch: [0, 1] float images in, normalised images out."""
    if aug.rcc:
        visible = rcc(visible, generator)
    out = []
    for x in (visible, infrared):
        x = pad_crop(x, generator, aug.pad)
        if aug.flip:
            x = hflip(x, generator)
        x = normalize(x)
        if aug.cre:
            x = cre(x, generator, aug.erase_p)
        if aug.random_erasing:
            x = random_erasing(x, generator, aug.erase_p)
        out.append(x)
    return out[0], out[1]


def test_transform(x: torch.Tensor) -> torch.Tensor:
    """Test images: resize happened in the cache; only normalisation remains."""
    return normalize(x)


__all__ = ["AugmentConfig", "RCC_VARIANTS", "rcc", "cre", "random_erasing", "pad_crop", "hflip", "normalize",
           "grayscale", "color_jitter", "to_tensor", "make_generator", "train_transform", "test_transform",
           "erasing_boxes"]
