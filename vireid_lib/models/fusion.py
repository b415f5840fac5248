"""The feature fusion module (paper §3.3, Fig. 3, Eq. 2).

    f_fusion = (α ⊗ f'_1) ⊕ (β ⊗ f''_2) ⊕ (γ ⊗ f''_3)                                     (Eq. 2)

Each fused layer's output f_i is reduced to 256 channels by a 1×1 convolution (f'_i), upsampled bilinearly
to the resolution of the first fused layer (f''_i: ×2 for layer2 and ×4 for layer3 when layer1 is the first;
layer4 has layer3's resolution because of the last stride 1), multiplied point by point by a learned weight
map of that resolution (α, β, γ: "the values of each position in these weight matrices are obtained by
network training"), and the products are concatenated along the channels (⊕).

Interpretations: ⊕ is concatenation, as the paper says ("⊕ means concatenate"; ASFF, which it builds on,
sums the weighted maps instead, with softmax-normalised weights). A weight map holds one value per spatial
position, shared by the 256 channels (as in ASFF), initialised to 1 so that fusion starts as a plain
concatenation. Which layers are fused is a parameter (Table 2 fuses subsets of layer1–layer4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FusionModule(nn.Module):
    def __init__(self, in_channels: dict[int, int], sizes: dict[int, tuple[int, int]], layers=(1, 2, 3),
                 channels: int = 256):
        """``in_channels[i]`` and ``sizes[i]`` (H, W) of f_i for i in ``layers``; output resolution = that of
        the first fused layer."""
        super().__init__()
        if not layers:
            raise ValueError("FusionModule needs at least one layer to fuse (e.g. layers=(1, 2, 3)); for the baseline "
                             "without fusion, set model.fusion_layers=() instead of building a FusionModule")
        self.layers = tuple(sorted(layers))
        self.size = sizes[self.layers[0]]
        self.reduce = nn.ModuleDict({str(i): nn.Conv2d(in_channels[i], channels, 1, bias=False) for i in self.layers})
        # α, β, γ (...): one trainable weight per position of the fused resolution, per input
        self.weights = nn.ParameterDict({str(i): nn.Parameter(torch.ones(1, 1, *self.size)) for i in self.layers})
        self.out_channels = channels * len(self.layers)

    def aligned(self, feats: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """f''_i: 1×1 convolution to ``channels``, then bilinear upsampling to the fused resolution."""
        out = {}
        for i in self.layers:
            x = self.reduce[str(i)](feats[i])
            if x.shape[-2:] != self.size:
                x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
            out[i] = x
        return out

    def forward(self, feats: dict[int, torch.Tensor]) -> torch.Tensor:
        """Eq. 2: concatenation of the weighted, aligned maps. ``feats`` maps layer index → f_i."""
        al = self.aligned(feats)
        return torch.cat([self.weights[str(i)] * al[i] for i in self.layers], dim=1)
