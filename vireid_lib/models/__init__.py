"""Models: two-stream ResNet backbone, GeM pooling, fusion module, BN-neck heads, and the whole network."""

from .backbone import TwoStreamResNet, imagenet_state_dict
from .fusion import FusionModule
from .heads import BNNeckHead, BranchOutput
from .net import VIReIDNet, build_model, complexity_table, count_flops, count_parameters, feature_sizes
from .pooling import GeM, gem

__all__ = ["BNNeckHead", "BranchOutput", "FusionModule", "GeM", "ResNet", "TwoStreamResNet", "VIReIDNet",
           "build_model", "complexity_table", "count_flops", "count_parameters", "feature_sizes", "gem",
           "imagenet_state_dict"]


def __getattr__(name: str):
    """``ResNet`` from :mod:`.backbone`, on first access: torchvision is imported only when a network is built."""
    if name == "ResNet":
        from . import backbone

        return backbone.ResNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
