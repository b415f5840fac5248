"""The whole network (paper Fig. 1): two-stream ResNet → global branch, fusion branch, joint branch.

- global branch (§3.2): V^global = GeM(f4) → BN-neck → classifier;
- fusion branch (§3.3): V^fusion = GeM(f_fusion) (Eq. 2) → BN-neck → classifier;
- joint branch (§3.4, Eq. 3): V^joint = V^global ⊕ V^fusion → BN-neck → classifier.

Without fusion layers (the baseline of Table 1) only the global branch exists and is the representation.
At test time the representation is the joint branch's BN output, L2-normalised (the global branch's for the
baseline); the other branches stay available for analysis (Grad-CAM).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .backbone import TwoStreamResNet
from .fusion import FusionModule
from .heads import BNNeckHead, BranchOutput
from .pooling import gem


def feature_sizes(height: int, width: int, last_stride: int = 1) -> dict[int, tuple[int, int]]:
    """Spatial size (H, W) of f1..f4 for a (height, width) input (conv1 s2, maxpool s2, layer2/3 s2, layer4 s1)."""
    half = lambda n: (n - 1) // 2 + 1  # noqa: E731 (a 3×3 or 7×7 stride-2 convolution with 'same' padding)
    h, w = half(half(height)), half(half(width))
    sizes = {1: (h, w)}
    for i in (2, 3):
        h, w = half(h), half(w)
        sizes[i] = (h, w)
    sizes[4] = (h, w) if last_stride == 1 else (half(h), half(w))
    return sizes


class VIReIDNet(nn.Module):
    def __init__(self, cfg: ModelConfig, num_classes: int, height: int, width: int):
        super().__init__()
        self.cfg = cfg
        self.backbone = TwoStreamResNet(cfg.depth, cfg.width, cfg.pretrained, cfg.weights_path, cfg.last_stride)
        ch = dict(zip((1, 2, 3, 4), self.backbone.channels, strict=True))
        self.global_head = BNNeckHead(ch[4], num_classes)
        self.fusion = None
        if cfg.fusion_layers:
            self.fusion = FusionModule(ch, feature_sizes(height, width, cfg.last_stride), cfg.fusion_layers,
                                       cfg.fusion_channels, getattr(cfg, "fusion_weights", "learned"))
            self.fusion_head = BNNeckHead(self.fusion.out_channels, num_classes)
            self.joint_head = BNNeckHead(ch[4] + self.fusion.out_channels, num_classes)

    @property
    def branches(self) -> tuple[str, ...]:
        return ("global", "fusion", "joint") if self.fusion is not None else ("global",)

    @property
    def test_branch(self) -> str:
        """The branch whose embedding represents an image at test time."""
        return "joint" if self.fusion is not None else "global"

    def forward(self, visible: torch.Tensor | None = None, infrared: torch.Tensor | None = None
                ) -> dict[str, BranchOutput]:
        """Both modalities in one batch (visible rows first, as f0 is built); returns each branch's output:
        global, V_global = GeM(f4); fusion, V_fusion = GeM(f_fusion) (Eq. 2); joint, V_joint = V_global ⊕ V_fusion,
        a concatenation (Eq. 3). Each goes through its own BN-neck and classifier (:class:`BranchOutput`)."""
        f = self.backbone(visible, infrared)  # [f0, f1, f2, f3, f4]
        v_global = gem(f[4], self.cfg.gem_p)
        out = {"global": self.global_head(v_global)}
        if self.fusion is not None:
            v_fusion = gem(self.fusion({i: f[i] for i in self.fusion.layers}), self.cfg.gem_p)
            out["fusion"] = self.fusion_head(v_fusion)
            out["joint"] = self.joint_head(torch.cat([v_global, v_fusion], dim=1))  # Eq. 3
        return out

    def embed(self, images: torch.Tensor, modality: str, branch: str | None = None, feature: str | None = None
              ) -> torch.Tensor:
        """L2-normalised embedding of one modality's images: ``branch`` (default the test branch), ``feature``
        "bn" (the BN-neck output) or "pool" (V before it); default ``model.test_feature``."""
        if modality not in ("visible", "infrared"):
            raise ValueError(f"modality must be 'visible' or 'infrared', got {modality!r}")
        feature = feature or getattr(self.cfg, "test_feature", "bn")
        if feature not in ("bn", "pool"):
            raise ValueError(f"feature must be 'bn' or 'pool', got {feature!r}")
        out = self(images, None) if modality == "visible" else self(None, images)
        o = out[branch or self.test_branch]
        return F.normalize(o.bn if feature == "bn" else o.pooled, dim=1)


def build_model(cfg: ModelConfig, num_classes: int, height: int, width: int) -> VIReIDNet:
    return VIReIDNet(cfg, num_classes, height, width)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: VIReIDNet, height: int, width: int, batch: int = 1) -> int:
    """Floating-point operations of one forward pass of ``batch`` visible + ``batch`` infrared images
    (PyTorch's FlopCounterMode: a multiply-add counts as 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    x = torch.zeros(batch, 3, height, width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x, x)
    model.train(was_training)
    return counter.get_total_flops()


def complexity_table(configs: dict[str, ModelConfig], num_classes: int, height: int, width: int):
    """Parameters and forward FLOPs (per visible + infrared image pair) of several model configurations."""
    import pandas as pd

    rows = []
    for name, cfg in configs.items():
        m = VIReIDNet(cfg, num_classes, height, width)
        rows.append({"model": name, "input": f"{height}×{width}", "parameters (M)": count_parameters(m) / 1e6,
                     "GFLOPs per image pair": count_flops(m, height, width) / 1e9,
                     "embedding": (m.joint_head if m.fusion is not None else m.global_head).bn.num_features})
    return pd.DataFrame(rows)
