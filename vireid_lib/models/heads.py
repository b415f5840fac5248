"""BN-neck and identity classifier, as in the AGW baseline (shared by the global, fusion and joint branches).

The pooled embedding V goes through ``BatchNorm1d`` (bias frozen at 0, weight initialised N(1, 0.01)) and a
bias-free linear classifier initialised N(0, 0.001) whose softmax is p (Eq. 4). The triplet-type loss uses V
(before BN), the identity loss the classifier on the BN output; at test time the BN output, L2-normalised,
is the representation.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class BranchOutput(NamedTuple):
    pooled: torch.Tensor  # V, before the BN neck (WRT uses it)
    bn: torch.Tensor  # after the BN neck (the test-time representation, before L2 normalisation)
    logits: torch.Tensor  # W·BN(V): softmax gives p (Eq. 4)


class BNNeckHead(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)
        self.bn.bias.requires_grad_(False)
        nn.init.normal_(self.bn.weight, 1.0, 0.01)
        nn.init.zeros_(self.bn.bias)
        self.classifier = nn.Linear(dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, 0.0, 0.001)

    def forward(self, pooled: torch.Tensor) -> BranchOutput:
        bn = self.bn(pooled)
        return BranchOutput(pooled, bn, self.classifier(bn))
