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

import numpy as np
import torch

from .config import AugmentConfig

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
    if isinstance(batch, np.ndarray):
        batch = np.ascontiguousarray(batch)
        t = torch.from_numpy(batch if batch.flags.writeable else batch.copy())
    else:
        t = batch
    t = t.to(device, non_blocking=True)
    return t.float().div_(255.0).permute(0, 3, 1, 2).contiguous()


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma 0.299 R + 0.587 G + 0.114 B, replicated to three channels."""
    w = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand_as(x).contiguous()


def rcc_matrices(device: torch.device | str = "cpu") -> torch.Tensor:
    """The seven RCC variants as 3×3 channel-mixing matrices (7, 3, 3): six permutations and the luma row
    repeated (grayscale). Output channel c of an image is ``M[c] · (R, G, B)``."""
    m = torch.zeros(7, 3, 3)
    m[torch.arange(6)[:, None], torch.arange(3)[None, :], _PERMS] = 1.0
    m[6] = torch.tensor(GRAY_WEIGHTS).expand(3, 3)
    return m.to(device)


def rcc(x: torch.Tensor, generator: torch.Generator, return_choice: bool = False):
    """Random Combination of Channels (§3.1, Fig. 2): replace each image by one of seven variants, chosen
    uniformly — the six orders of its R, G, B channels (RGB, RBG, BGR, BRG, GBR, GRB) or its grayscale.

    Implemented as one batched 3×3 channel mixing per image (:func:`rcc_matrices`); a permutation matrix
    copies values exactly. Unlike CAJ's channel exchange, which *replicates* one channel, RCC *permutes*
    channels: every image keeps all of its information, only the channels' roles change.
    ``return_choice`` also returns the index into :data:`RCC_VARIANTS` drawn for each image.
    """
    B = x.shape[0]
    choice = torch.randint(0, 7, (B,), generator=generator, device=x.device)
    M = rcc_matrices(x.device).to(x.dtype)[choice]  # (B, 3, 3)
    out = torch.bmm(M, x.reshape(B, 3, -1)).reshape(x.shape)
    return (out, choice) if return_choice else out


def pad_crop(x: torch.Tensor, generator: torch.Generator, pad: int = 10) -> torch.Tensor:
    """Zero-pad by ``pad`` pixels (black, before normalisation, as PIL's ``Pad``) and crop back to (H, W) at a
    random offset per image: the image shifted by (dy, dx) ∈ [−pad, pad]² into a black canvas.

    One gather over the whole batch: output pixel (i, j) of image b is pixel (i + oy_b, j + ox_b) of the padded
    image, with (oy_b, ox_b) ∈ [0, 2·pad]² drawn per image."""
    if pad <= 0:
        return x
    B, C, H, W = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (B, 2), generator=generator, device=x.device)
    Wp = W + 2 * pad
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad)).reshape(B, C, -1)  # (B, C, Hp·Wp)
    rows = torch.arange(H, device=x.device)[None, :, None] + offsets[:, 0, None, None]  # (B, H, 1)
    cols = torch.arange(W, device=x.device)[None, None, :] + offsets[:, 1, None, None]  # (B, 1, W)
    index = (rows * Wp + cols).reshape(B, 1, H * W).expand(B, C, H * W)
    return padded.gather(2, index).view(B, C, H, W)


def hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image left-right with probability ``p``."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD, inplace: bool = False) -> torch.Tensor:
    """Per-channel (x − mean) / std, ImageNet statistics by default."""
    m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(m).div_(s) if inplace else (x - m) / s


def erasing_boxes(shape: tuple[int, ...], generator: torch.Generator, device, p: float = 0.5,
                  area: tuple[float, float] = (0.02, 0.4), ratio: float = 0.3, attempts: int = 100
                  ) -> torch.Tensor:
    """Random-erasing rectangles, one per image (Zhong et al.; CAJ's parameters): with probability ``p``, up
    to ``attempts`` draws of area ∈ U(area)·HW and aspect ∈ U(ratio, 1/ratio); the first that fits
    (h < H, w < W) is placed uniformly. Returns (B, 5) integers ``(y0, x0, h, w, erased)``: ``erased`` is 0 for an
    image left as it is. All draws are made for the whole batch at once."""
    B, _, H, W = shape
    u = torch.rand(B, attempts, 2, generator=generator, device=device)
    target = (area[0] + (area[1] - area[0]) * u[..., 0]) * H * W
    aspect = ratio + (1 / ratio - ratio) * u[..., 1]
    h = torch.round(torch.sqrt(target * aspect)).long()
    w = torch.round(torch.sqrt(target / aspect)).long()
    ok = (h < H) & (w < W)
    first = ok.float().argmax(1)
    hb = h.gather(1, first[:, None])[:, 0]
    wb = w.gather(1, first[:, None])[:, 0]
    pos = torch.rand(B, 2, generator=generator, device=device)
    y0 = (pos[:, 0] * (H - hb + 1).float()).long().clamp(min=0)
    x0 = (pos[:, 1] * (W - wb + 1).float()).long().clamp(min=0)
    do = (torch.rand(B, generator=generator, device=device) < p) & ok.any(1)
    return torch.stack([y0, x0, hb, wb, do.long()], 1)


def box_mask(boxes: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """(B, 1, H, W) boolean mask of each image's rectangle of :func:`erasing_boxes` (all False when not erased)."""
    y0, x0, h, w, do = boxes.unbind(1)
    r = torch.arange(H, device=boxes.device)[None]
    c = torch.arange(W, device=boxes.device)[None]
    rows = (r >= y0[:, None]) & (r < (y0 + h)[:, None]) & do.bool()[:, None]
    cols = (c >= x0[:, None]) & (c < (x0 + w)[:, None])
    return (rows[:, :, None] & cols[:, None, :])[:, None]


def cre(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Channel random erasing as in the CAJ reference (``ChannelRandomErasing``): random erasing whose
    rectangle is filled per channel with (0.4914, 0.4822, 0.4465), in normalised space.

    Interpretation: the paper (§2.2) describes CRE as filling with "random values from all three channels";
    we follow the reference code it cites (CAJ), whose fill is a per-channel constant.
    """
    mask = box_mask(erasing_boxes(x.shape, generator, x.device, p=p), x.shape[2], x.shape[3])
    fill = torch.tensor(CRE_FILL, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return torch.where(mask, fill, x)


def random_erasing(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Random erasing (Zhong et al.) with random values: the rectangle is filled with N(0, 1) noise per pixel
    and channel (torchvision's ``value='random'``), in normalised space."""
    mask = box_mask(erasing_boxes(x.shape, generator, x.device, p=p), x.shape[2], x.shape[3])
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


def train_transform(visible: torch.Tensor, infrared: torch.Tensor, generator: torch.Generator,
                    aug: AugmentConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The training augmentation of a sampler batch: [0, 1] float images in, normalised images out.

    RCC on the visible images; then both modalities as one batch (every draw still per image): pad + crop, flip,
    normalisation, CRE / random erasing."""
    aug = aug or AugmentConfig()
    if aug.rcc:
        visible = rcc(visible, generator)
    x = torch.cat([visible, infrared])
    x = pad_crop(x, generator, aug.pad) if aug.pad else x
    if aug.flip:
        x = hflip(x, generator)
    x = normalize(x)
    if aug.cre:
        x = cre(x, generator, aug.erase_p)
    if aug.random_erasing:
        x = random_erasing(x, generator, aug.erase_p)
    return x[: len(visible)], x[len(visible):]


def test_transform(x: torch.Tensor) -> torch.Tensor:
    """Test images: resize happened in the cache; only normalisation remains."""
    return normalize(x)


__all__ = [
    "AugmentConfig", "RCC_VARIANTS", "rcc", "rcc_matrices", "cre", "random_erasing", "erasing_boxes", "box_mask",
    "pad_crop",
    "hflip", "normalize", "grayscale", "color_jitter", "to_tensor", "make_generator", "train_transform",
    "test_transform", "pil_train_transform",
]


# ---------------------------------------------------------------------------------------------------------
# The same training augmentation, one image at a time with PIL, the way the reference code does it.
# Used as the baseline of the speed benchmark and in notebook 02; not used for training.
# ---------------------------------------------------------------------------------------------------------
def pil_train_transform(img, rng, modality: str = "visible", aug: AugmentConfig | None = None) -> torch.Tensor:
    """Per-image PIL/torchvision version of :func:`train_transform` (``rng`` is a ``random.Random``)."""
    from PIL import Image, ImageOps
    from torchvision.transforms import functional as TF

    aug = aug or AugmentConfig()
    if modality == "visible" and aug.rcc:
        k = rng.randrange(7)
        if k == 6:
            img = img.convert("L").convert("RGB")
        else:
            bands = img.split()
            img = Image.merge("RGB", [bands[int(i)] for i in _PERMS[k]])
    W, H = img.size
    if aug.pad:
        img = ImageOps.expand(img, border=aug.pad, fill=0)
        i, j = rng.randint(0, 2 * aug.pad), rng.randint(0, 2 * aug.pad)
        img = img.crop((j, i, j + W, i + H))
    if aug.flip and rng.random() < 0.5:
        img = ImageOps.mirror(img)
    t = TF.normalize(TF.to_tensor(img), IMAGENET_MEAN, IMAGENET_STD)
    if aug.cre and rng.random() < aug.erase_p:  # CAJ ChannelRandomErasing, as written there
        for _ in range(100):
            target = rng.uniform(0.02, 0.4) * H * W
            aspect = rng.uniform(0.3, 1 / 0.3)
            h, w = int(round((target * aspect) ** 0.5)), int(round((target / aspect) ** 0.5))
            if w < W and h < H:
                y0, x0 = rng.randint(0, H - h), rng.randint(0, W - w)
                for c, v in enumerate(CRE_FILL):
                    t[c, y0 : y0 + h, x0 : x0 + w] = v
                break
    return t
