"""GeM pooling (paper §3.2: "GeM pooling is used to transform a 3D feature into a 1D embedding vector")."""

from __future__ import annotations

import torch
from torch import nn


def gem(x: torch.Tensor, p: float = 3.0, eps: float = 1e-6) -> torch.Tensor:
    """Generalised-mean pooling over the spatial positions: ``(mean(x^p))^(1/p)``, (B, C, H, W) → (B, C).

    p = 3 and fixed, as in the AGW baseline. Values are clamped at ``eps`` first (as fast-reid does): the
    backbone's maps are post-ReLU, but the fusion maps (1×1 convolutions times learned weights, Eq. 2) can be
    negative, and a fractional power of a negative mean is undefined. Interpretation: on the fusion branch
    the clamp therefore acts like a ReLU before pooling.
    """
    return x.clamp(min=eps).pow(p).mean(dim=(-2, -1)).pow(1.0 / p)


class GeM(nn.Module):
    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p, self.eps = p, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gem(x, self.p, self.eps)

    def extra_repr(self) -> str:
        return f"p={self.p}"
