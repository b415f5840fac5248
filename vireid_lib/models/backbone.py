"""The two-stream ResNet (paper §3.2, Eq. 1): modality-specific ``layer0``, shared ``layer1``–``layer4``.

As in the AGW baseline: ``layer0`` (conv1, bn1, relu, maxpool) exists once for visible and once for infrared
images; a training batch holds both modalities, each goes through its own ``layer0``, the results are
concatenated along the batch (visible first) to give ``f0``, and the shared layers give
``f_i = layer_i(f_{i-1})`` (Eq. 1). The last stride is 1, so ``f4`` keeps ``f3``'s resolution
(288×144 input: f1 72×36, f2 36×18, f3 18×9, f4 18×9).

Depths 18, 34, 50 are torchvision's ResNets (ResNet-50 for the paper); depth 10 ([1, 1, 1, 1] basic blocks)
and a ``width`` other than 64 keep the very same structure with fewer blocks / channels, for the CPU
profiles. ImageNet weights exist for width 64 and depths 18, 34, 50 only.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, load_failure

DEPTHS = (10, 18, 34, 50)
LAYERS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}  # blocks per stage


@functools.cache
def _tvr():
    """torchvision's ``models.resnet``, imported on first use: importing torchvision costs about 2 s (its ``ops``
    import ``torch._dynamo``), which a process that builds no network (a notebook that reads runs' metrics, or the
    runner's run-status check once the code fingerprints are cached: :mod:`vireid_lib.fingerprint`) never pays."""
    from torchvision.models import resnet

    return resnet


def block_of(depth: int) -> type[nn.Module]:
    """torchvision's block of a ResNet-``depth``: ``BasicBlock`` (10, 18, 34) or ``Bottleneck`` (50)."""
    return _tvr().Bottleneck if depth == 50 else _tvr().BasicBlock


def imagenet_weights(depth: int):
    """torchvision's ``ResNet{depth}_Weights.IMAGENET1K_V1`` (depths 18, 34, 50), or ``None``."""
    if depth not in (18, 34, 50):
        return None
    return getattr(_tvr(), f"ResNet{depth}_Weights").IMAGENET1K_V1


@functools.cache
def _resnet_class() -> type[nn.Module]:
    """:class:`ResNet`, defined on first use (it subclasses torchvision's: :func:`_tvr`)."""

    class ResNet(_tvr().ResNet):
        """torchvision's ResNet with a base ``width`` (64 = standard); same module names, so ImageNet state dicts
        load."""

        def __init__(self, depth: int, width: int = 64):
            if depth not in DEPTHS:
                raise ConfigError(f"ResNet depth must be one of {sorted(DEPTHS)}, got {depth}")
            if width < 4:
                raise ConfigError(f"ResNet width must be ≥ 4, got {width}")
            block, layers = block_of(depth), LAYERS[depth]
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, width, layers[0])
            self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
            self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
            self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
            for m in self.modules():  # torchvision's initialisation
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            self.channels = [width * block.expansion * k for k in (1, 2, 4, 8)]  # of f1..f4

    ResNet.__qualname__ = "ResNet"  # pickled by reference as vireid_lib.models.backbone.ResNet (__getattr__)
    return ResNet


def __getattr__(name: str):
    """``ResNet``: the class, made on first access (PEP 562), so that importing this module imports no
    torchvision."""
    if name == "ResNet":
        return _resnet_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def set_last_stride_1(net: nn.Module) -> None:
    """AGW's ``last_conv_stride=1``: layer4 keeps layer3's resolution."""
    first = net.layer4[0]
    (first.conv2 if isinstance(first, _tvr().Bottleneck) else first.conv1).stride = (1, 1)
    if first.downsample is not None:
        first.downsample[0].stride = (1, 1)


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load`` restricted to tensors and plain containers (weights-only): a file that would run code when
    unpickled, or is not a torch file at all, is a :class:`ConfigError` naming it."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle.UnpicklingError for disallowed globals, RuntimeError for a non-torch file
        raise ConfigError(
            f"model.weights_path {path} could not be loaded as a weights-only state dict: {load_failure(path, e)}. "
            f"Weights are loaded without running code from the file: save them with "
            f"torch.save(model.state_dict(), path) from a torchvision ResNet, or set model.pretrained=false"
        ) from None


def imagenet_state_dict(depth: int, weights_path: str | None = None) -> dict[str, torch.Tensor]:
    """ImageNet weights of torchvision's ResNet-``depth``: from ``weights_path`` if given, else from the torch hub
    cache, else downloaded. Offline and not cached: a :class:`ConfigError` that says how to proceed.
    Loading is weights-only (no arbitrary code from the file)."""
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise ConfigError(f"model.weights_path {path} does not exist: give the path of a torchvision ResNet "
                              f"state dict, or set model.pretrained=false to train from scratch")
        return _load_weights(path)
    if imagenet_weights(depth) is None:
        raise ConfigError(f"there are no ImageNet weights for ResNet-{depth}; use pretrained=False")
    url = imagenet_weights(depth).url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return _load_weights(cached)
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, weights_only=True)
    except Exception as e:  # no network, proxy, ...
        raise ConfigError(
            f"ImageNet weights for ResNet-{depth} are not in the torch hub cache ({cached}) and could not be "
            f"downloaded ({type(e).__name__}: {e}). Download {url} on a machine with network access and put the file "
            f"at {cached}, or pass model.weights_path=/path/to/{cached.name}, or train from scratch with "
            f"pretrained=False (the cpu and smoke profiles do)."
        ) from None


class TwoStreamResNet(nn.Module):
    """Modality-specific ``layer0`` for visible and infrared images, shared ``layer1``–``layer4`` (Eq. 1)."""

    def __init__(self, depth: int = 50, width: int = 64, pretrained: bool = False, weights_path: str | None = None,
                 last_stride: int = 1):
        super().__init__()
        nets = [_resnet_class()(depth, width) for _ in range(2)]  # visible, infrared: their layer0s are kept
        if pretrained:
            if width != 64:
                raise ConfigError(f"ImageNet weights need width 64, got width {width}; use pretrained=False")
            state = imagenet_state_dict(depth, weights_path)
            for n in nets:
                res = n.load_state_dict(state, strict=False)  # the ImageNet `fc` is not part of ours
                unexpected = set(res.unexpected_keys) - {"fc.weight", "fc.bias"}
                if res.missing_keys or unexpected:
                    raise ConfigError(
                        f"the ImageNet weights ({weights_path or 'torch hub'}) do not fit a ResNet-{depth}: "
                        f"{len(res.missing_keys)} missing keys (e.g. {res.missing_keys[:3]}), unexpected "
                        f"{sorted(unexpected)[:3]}. Pass a plain torchvision state dict (no 'module.' prefix, "
                        f"not wrapped in {{'state_dict': ...}})."
                    )
        shared = nets[0]
        if last_stride == 1:
            set_last_stride_1(shared)
        self.visible = nn.Sequential(nets[0].conv1, nets[0].bn1, nets[0].relu, nets[0].maxpool)
        self.infrared = nn.Sequential(nets[1].conv1, nets[1].bn1, nets[1].relu, nets[1].maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = shared.layer1, shared.layer2, shared.layer3, shared.layer4
        self.channels = shared.channels
        self.pretrained = pretrained

    def layer0(self, visible: torch.Tensor | None, infrared: torch.Tensor | None) -> torch.Tensor:
        """f0: each modality through its own layer0, concatenated along the batch (visible first)."""
        parts = []
        if visible is not None and len(visible):
            parts.append(self.visible(visible))
        if infrared is not None and len(infrared):
            parts.append(self.infrared(infrared))
        if not parts:
            raise ValueError("TwoStreamResNet got neither visible nor infrared images: pass at least one batch "
                             "(visible=... and/or infrared=...)")
        return torch.cat(parts) if len(parts) > 1 else parts[0]

    def forward(self, visible: torch.Tensor | None = None, infrared: torch.Tensor | None = None
                ) -> list[torch.Tensor]:
        """[f0, f1, f2, f3, f4] (Eq. 1): f0 = layer0_vis(visible) ⊕ layer0_ir(infrared), concatenated along the
        batch (:meth:`layer0`), then f_i = layer_i(f_{i-1}) for i = 1..4 with layers shared by both modalities."""
        f = [self.layer0(visible, infrared)]
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            f.append(layer(f[-1]))
        return f
