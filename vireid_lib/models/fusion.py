"""The feature fusion module (paper §3.3, Fig. 3, Eq. 2).

    f_fusion = (α ⊗ f'_1) ⊕ (β ⊗ f''_2) ⊕ (γ ⊗ f''_3)                                     (Eq. 2)

Each fused layer's output f_i is reduced to ``channels`` (the paper: 256) by a 1×1 convolution (f'_i),
upsampled bilinearly to the resolution of the first fused layer (f''_i: ×2 for layer2 and ×4 for layer3 when
layer1 is the first; layer4 has layer3's resolution because of the last stride 1), multiplied point by point by a
learned weight
map of that resolution (α, β, γ: "the values of each position in these weight matrices are obtained by
network training"), and the products are concatenated along the channels (⊕).

Interpretations: ⊕ is concatenation, as the paper says ("⊕ means concatenate"; ASFF, which it builds on,
sums the weighted maps instead). A weight map holds one value per spatial position, shared by the 256 channels (as
in ASFF). The paper does not say whether the maps are constrained; three readings (``model.fusion_weights``):

- ``"learned"`` (default): one trained logit per position and fused layer, normalised across the fused layers by a
  softmax, so that α + β + γ = 1 at every position, as ASFF constrains its weights (the paper's "core idea" is
  ASFF's); zero-initialised, so fusion starts as the plain concatenation scaled by 1/L.
- ``"free"``: the text taken literally, unconstrained weights initialised to 1. Measured in the cpu profile, this
  reading lets one position's weight run away (α reached 79 at one of layer1's 128 positions, mean 1.4, in a
  healthy run; in others the joint embedding's scale followed it until the WRT loss, which rewards a larger scale
  while the negatives are farther than the positives, exploded: one run's loss reached 3,340, another's became
  NaN). Kept as a reading for the sensitivity table.
- ``"adaptive"``: ASFF itself, the weights computed from the aligned maps by a 1×1 convolution, softmax-normalised.

Which layers are fused is a parameter (Table 2 fuses subsets of layer1–layer4).

Bilinear upsampling is one product with a fixed interpolation matrix, ``x.flatten(2) @ (A_h ⊗ A_w)ᵀ``
(:func:`bilinear_matrix`, Kronecker product): the same map as ``F.interpolate(..., mode="bilinear",
align_corners=False)`` (equal to float precision; a test checks), whose backward pass is one more matrix product
instead of PyTorch's scatter kernel, cheaper on a CPU at these sizes (``make bench``).
"""

from __future__ import annotations

import torch
from torch import nn


def bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) matrix of 1-D linear interpolation with ``align_corners=False`` (PyTorch's convention): output
    position o samples the input at s = (o + ½)·n_in/n_out − ½, clamped at 0, mixing the two nearest inputs."""
    src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    lam = src - i0
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m.index_put_((torch.arange(n_out), i0), 1 - lam, accumulate=True)
    m.index_put_((torch.arange(n_out), i1), lam, accumulate=True)
    return m.float()


class FusionModule(nn.Module):
    def __init__(self, in_channels: dict[int, int], sizes: dict[int, tuple[int, int]], layers=(1, 2, 3),
                 channels: int = 256, weights: str = "learned"):
        """``in_channels[i]`` and ``sizes[i]`` (H, W) of f_i for i in ``layers``; output resolution = that of
        the first fused layer. ``weights``: the reading of the weight maps α, β, γ (module docstring): "learned"
        (a trained logit per position, softmax across the fused layers), "free" (a trained, unconstrained value per
        position) or "adaptive" (computed from the aligned maps, softmax across the fused layers):
        :meth:`weight_maps`."""
        super().__init__()
        if not layers:
            raise ValueError("FusionModule needs at least one layer to fuse (e.g. layers=(1, 2, 3)); for the baseline "
                             "without fusion, set model.fusion_layers=() instead of building a FusionModule")
        self.layers = tuple(sorted(layers))
        self.size = sizes[self.layers[0]]
        self.reduce = nn.ModuleDict({str(i): nn.Conv2d(in_channels[i], channels, 1, bias=False) for i in self.layers})
        if weights not in ("learned", "free", "adaptive"):
            raise ValueError(f"FusionModule weights must be 'learned', 'free' or 'adaptive', got {weights!r}")
        self.mode = weights
        if weights == "learned":  # a trainable logit per position of the fused resolution, per input; 0: equal weights
            self.weight_logits = nn.ParameterDict({str(i): nn.Parameter(torch.zeros(1, 1, *self.size))
                                                   for i in self.layers})
        elif weights == "free":  # α, β, γ (...) themselves: one trainable, unconstrained weight per position, per input
            self.weights = nn.ParameterDict({str(i): nn.Parameter(torch.ones(1, 1, *self.size)) for i in self.layers})
        else:  # ASFF: a 1×1 convolution per input gives a logit per position; zero-initialised: equal weights first
            self.logits = nn.ModuleDict({str(i): nn.Conv2d(channels, 1, 1) for i in self.layers})
            for conv in self.logits.values():
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)
        self.out_channels = channels * len(self.layers)
        # the fixed bilinear upsampling of each smaller input, (h·w, H·W) (buffers: they follow .to(device), not saved)
        self.sizes = {i: tuple(sizes[i]) for i in self.layers}
        for i in self.layers:
            if self.sizes[i] != tuple(self.size):
                up = torch.kron(bilinear_matrix(sizes[i][0], self.size[0]), bilinear_matrix(sizes[i][1], self.size[1]))
                self.register_buffer(f"up{i}", up.T.contiguous(), persistent=False)

    def aligned(self, feats: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """f''_i: 1×1 convolution to ``channels``, then bilinear upsampling to the fused resolution."""
        out = {}
        for i in self.layers:
            x = self.reduce[str(i)](feats[i])
            if tuple(x.shape[-2:]) != self.sizes[i]:
                raise ValueError(f"f{i} has size {tuple(x.shape[-2:])}, but this FusionModule was built for "
                                 f"{self.sizes[i]}: build the model for this image size")
            if self.sizes[i] != tuple(self.size):  # bilinear upsampling: (B, C, h·w) @ (h·w, H·W)
                x = torch.matmul(x.flatten(2), getattr(self, f"up{i}").to(x.dtype)).unflatten(2, tuple(self.size))
            out[i] = x
        return out

    def weight_maps(self, aligned: dict[int, torch.Tensor] | None = None) -> dict[int, torch.Tensor]:
        """α, β, γ (...) of Eq. 2 for each fused layer: (1, 1, H, W) maps ``softmax_i(logit_i)`` across the fused
        layers ("learned") or the free values ("free"), or, read adaptively as ASFF does, (B, 1, H, W) maps
        ``softmax_i(conv_i(f''_i))`` computed from the ``aligned`` maps (:meth:`aligned`; needed only then)."""
        if self.mode == "free":
            return {i: self.weights[str(i)] for i in self.layers}
        if self.mode == "learned":
            logits = torch.cat([self.weight_logits[str(i)] for i in self.layers], dim=1)  # (1, L, H, W)
        else:
            if aligned is None:
                raise ValueError("adaptive weight maps are computed from the aligned feature maps: pass aligned=")
            logits = torch.cat([self.logits[str(i)](aligned[i]) for i in self.layers], dim=1)  # (B, L, H, W)
        w = torch.softmax(logits, dim=1)
        return {i: w[:, k : k + 1] for k, i in enumerate(self.layers)}

    def forward(self, feats: dict[int, torch.Tensor]) -> torch.Tensor:
        """Eq. 2: concatenation of the weighted, aligned maps. ``feats`` maps layer index → f_i."""
        al = self.aligned(feats)
        w = self.weight_maps(al)
        return torch.cat([w[i] * al[i] for i in self.layers], dim=1)
