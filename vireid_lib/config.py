"""Typed configuration with named profiles (``smoke`` / ``cpu`` / ``paper``).

One frozen dataclass per concern, composed into the config of an experiment. A profile is a named set of
defaults; everything can be overridden by keyword, and an unknown keyword is an error (never silently
ignored, unlike a misspelt papermill parameter).

- ``smoke``: tiny synthetic data, for tests: every notebook runs in seconds.
- ``cpu``: the embedded default of ``make reproduce``: a synthetic set sized for a 2-core CPU.
- ``paper``: the paper's setting (§4.2): real SYSU-MM01 (or RegDB), 288×144 images, on a GPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

PROFILES = ("smoke", "cpu", "paper")
Profile = Literal["smoke", "cpu", "paper"]


def _check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, hint: str = "") -> None:
    """A :class:`ConfigError` naming ``name`` unless ``value`` is a finite number in the given range (``hint``: what
    the setting is, or a usual value, for the message)."""
    inside = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if inside and low is not None:
        inside = value > low if low_open else value >= low
    if inside and high is not None:
        inside = value < high if high_open else value <= high
    if not inside:
        kind = "an integer" if isinstance(value, int) else "a finite number"
        if low is not None and high is not None:
            want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        else:
            want = f"{'>' if low_open else '≥'} {low:g}" if low is not None else f"{'<' if high_open else '≤'} {high:g}"
        raise ConfigError(f"{name} must be {kind} {want}, got {value!r}" + (f" ({hint})" if hint else ""))


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the embedded synthetic visible/infrared dataset (see :mod:`vireid_lib.data.synthetic`).

    The dataset is a pure function of these values: changing any of them regenerates it, nothing else does.
    Difficulty knobs (occlusion, noise, blur) are set once, from how real surveillance images arise, and
    are not tuned per ablation.
    """

    seed: int = 0
    # SYSU-MM01-like part: disjoint train / val / test identity lists (real: 296 / 99 / 96)
    n_train_ids: int = 150
    n_val_ids: int = 50
    n_test_ids: int = 96
    images_per_camera: int = 8  # mean images per identity and camera where the identity appears
    camera_presence: float = 0.8  # probability that an identity appears in a given camera
    # RegDB-like part: identities with 10 visible + 10 thermal images each, RegDB's real size (412: 206 train +
    # 206 test per split), so that the test gallery has the real 206 ids
    regdb_ids: int = 412
    # rendered image size (H, W); readers resize to the training size
    height: int = 128
    width: int = 64
    # Physical parameters calibrated so that hand-crafted baselines (HOG, LOMO) land where the literature puts
    # them on the real data, chosen in a calibration world (the next seed), never on the test ids (data/README.md):
    # the near-infrared cameras' share of ambient visible light (room lamps seen through the missing IR-cut
    # filter), as a multiple of each camera's drawn share (0.75-0.9 indoors, 0.35-0.55 outdoors); 0: the active
    # illuminator alone (recalibrated on 2026-11-30 with noise_infrared: LOMO's mAP was above its band)
    nir_ambient: float = 0.0
    # RegDB's thermal camera: std of its crop's offset against the visible camera's (parallax and registration
    # error, constant over a pass; px at 128×64, calibrated); its native resolution (fraction of the crop size, set
    # from the description of the camera) and optics blur (σ, px at 128×64; calibrated on 2026-12-01 in
    # calibration worlds +1…+4 with the tone curve below: benchmarks/calibrate_regdb.py, data/README.md)
    thermal_registration: float = 4.0
    thermal_native: float = 0.6
    thermal_psf: float = 1.7
    # RegDB's visible camera encodes its signal with the sRGB tone curve, as real cameras do (the SYSU-MM01-like
    # cameras still store the linear signal: data/README.md, *The cameras' tone curve*)
    regdb_tone_curve: bool = True
    # per-image nuisance factors
    occlusion_prob: float = 0.2
    blur_max: float = 1.0  # max Gaussian sigma in pixels at 128×64
    noise_visible: float = 0.02
    noise_infrared: float = 0.0325  # calibrated with nir_ambient (data/README.md)
    jpeg_quality: tuple[int, int] = (60, 95)

    def validate(self) -> None:
        for name in ("n_train_ids", "n_val_ids", "n_test_ids", "images_per_camera", "regdb_ids"):
            if getattr(self, name) < 1:
                raise ConfigError(f"synthetic.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.regdb_ids < 2 or self.regdb_ids % 2:
            raise ConfigError(f"synthetic.regdb_ids must be even and ≥ 2 (half train, half test), got {self.regdb_ids}")
        if not 0.0 <= self.nir_ambient <= 1.5:
            raise ConfigError(f"synthetic.nir_ambient must be in [0, 1.5] (a multiple of each camera's ambient "
                              f"share, capped at 1), got {self.nir_ambient}")
        if self.thermal_registration < 0 or self.thermal_psf < 0:
            raise ConfigError(f"synthetic.thermal_registration and thermal_psf must be ≥ 0, got "
                              f"{self.thermal_registration}, {self.thermal_psf}")
        if not 0.2 <= self.thermal_native <= 1.0:
            raise ConfigError(f"synthetic.thermal_native (the thermal sensor's resolution as a fraction of the "
                              f"crop) must be in [0.2, 1], got {self.thermal_native}")
        if not 0.0 < self.camera_presence <= 1.0:
            raise ConfigError(f"synthetic.camera_presence must be in (0, 1], got {self.camera_presence}")
        if self.height < 32 or self.width < 16:
            raise ConfigError(f"synthetic images must be at least 32×16, got {self.height}×{self.width}")


# which parameters each dataset depends on (the RegDB part does not change the SYSU part, and back)
SYSU_FIELDS = ("seed", "n_train_ids", "n_val_ids", "n_test_ids", "images_per_camera", "camera_presence",
               "nir_ambient", "height", "width", "occlusion_prob", "blur_max", "noise_visible", "noise_infrared",
               "jpeg_quality")
REGDB_FIELDS = ("seed", "regdb_ids", "height", "width", "occlusion_prob", "blur_max", "noise_visible",
                "thermal_registration", "thermal_native", "thermal_psf", "regdb_tone_curve", "jpeg_quality")

SYNTHETIC_PROFILES: dict[str, SyntheticSpec] = {
    "smoke": SyntheticSpec(
        n_train_ids=12, n_val_ids=4, n_test_ids=8, images_per_camera=3, regdb_ids=12, height=64, width=32
    ),
    "cpu": SyntheticSpec(),
    "paper": SyntheticSpec(n_train_ids=296, n_val_ids=99, n_test_ids=96, images_per_camera=15, regdb_ids=412),
}


#: Each profile's synthetic parameters as they were on 2026-12-01, for run names only: a run's identity hashed the
#: whole synthetic spec, so that a change of a parameter its data cannot depend on (one of the other dataset's, or
#: any, for a run on real data) renamed it, and made it look untrained. :meth:`ExperimentConfig.identity` writes such
#: parameters at these values (and leaves out parameters added since), so that names stay and only a run's own
#: dataset's parameters name it.
_CPU_NAMING = {"seed": 0, "n_train_ids": 150, "n_val_ids": 50, "n_test_ids": 96, "images_per_camera": 8,
               "camera_presence": 0.8, "regdb_ids": 412, "height": 128, "width": 64, "nir_ambient": 0.0,
               "thermal_registration": 4.0, "thermal_native": 0.6, "thermal_psf": 1.2, "occlusion_prob": 0.2,
               "blur_max": 1.0, "noise_visible": 0.02, "noise_infrared": 0.0325, "jpeg_quality": (60, 95)}
NAMING_SPECS: dict[str, dict[str, Any]] = {
    "smoke": {**_CPU_NAMING, "n_train_ids": 12, "n_val_ids": 4, "n_test_ids": 8, "images_per_camera": 3,
              "regdb_ids": 12, "height": 64, "width": 32},
    "cpu": _CPU_NAMING,
    "paper": {**_CPU_NAMING, "n_train_ids": 296, "n_val_ids": 99, "n_test_ids": 96, "images_per_camera": 15},
}


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to read, from where, and at which size.

    ``root=None`` means the embedded synthetic dataset described by ``synthetic`` (generated on first use
    under ``data/synthetic/``); otherwise ``root`` is a folder in the SYSU-MM01 or RegDB layout, real or
    synthetic.
    """

    dataset: Literal["sysu", "regdb"] = "sysu"
    root: str | None = None
    synthetic: SyntheticSpec = field(default_factory=SyntheticSpec)
    height: int = 64  # training / test image size (the paper: 288 × 144)
    width: int = 32
    # evaluation protocol
    sysu_mode: Literal["all", "indoor"] = "all"
    sysu_shots: Literal[1, 10] = 1
    trials: int = 10  # SYSU-MM01: gallery trials (re-samplings), averaged
    regdb_trial: int = 1  # RegDB: the train/test split (1..10) of this run; Table 5 runs all ten
    # SYSU-MM01: "test" trains on train ∪ val ids and scores on the test ids (the standard protocol);
    # "val" trains on the train ids only and scores the same protocol on the val ids: for choosing settings
    # (epochs, image size, ...) without looking at the test set
    holdout: Literal["test", "val"] = "test"

    def validate(self) -> None:
        if self.dataset not in ("sysu", "regdb"):
            raise ConfigError(f"dataset must be 'sysu' or 'regdb', got {self.dataset!r}")
        if self.sysu_mode not in ("all", "indoor"):
            raise ConfigError(f"sysu_mode must be 'all' or 'indoor', got {self.sysu_mode!r}")
        if self.sysu_shots not in (1, 10):
            raise ConfigError(f"sysu_shots must be 1 (single-shot) or 10 (multi-shot), got {self.sysu_shots!r}")
        if not 1 <= self.trials <= 10:
            raise ConfigError(f"trials must be between 1 and 10, got {self.trials}")
        if not 1 <= self.regdb_trial <= 10:
            raise ConfigError(f"regdb_trial must be between 1 and 10, got {self.regdb_trial}")
        if self.holdout not in ("test", "val"):
            raise ConfigError(f"holdout must be 'test' (the standard protocol) or 'val' (train ids only, scored "
                              f"on the val ids), got {self.holdout!r}")
        if self.holdout == "val" and self.dataset != "sysu":
            raise ConfigError("holdout='val' needs SYSU-MM01's val_id.txt; RegDB has no validation split "
                              "(use one of its 10 splits for choosing settings instead)")
        if self.height < 16 or self.width < 8:
            raise ConfigError(f"image size must be at least 16×8, got {self.height}×{self.width}")
        if self.root is not None and not Path(self.root).expanduser().exists():
            raise ConfigError(
                f"data root {self.root!r} does not exist. Point it at a SYSU-MM01 or RegDB folder "
                f"(see data/README.md), or use root=None for the embedded synthetic dataset."
            )
        self.synthetic.validate()

    @property
    def is_synthetic(self) -> bool:
        return self.root is None

    @property
    def label(self) -> str:
        """How results on this data are labelled: 'synthetic SYSU-MM01 layout' or 'SYSU-MM01 (real)'."""
        name = {"sysu": "SYSU-MM01", "regdb": "RegDB"}[self.dataset]
        label = f"synthetic ({name} layout)" if self.is_synthetic else f"{name} ({self.root})"
        return label + (", trained on train ids, scored on val ids" if self.holdout == "val" else "")


DATA_PROFILES: dict[str, dict[str, Any]] = {
    "smoke": dict(synthetic=SYNTHETIC_PROFILES["smoke"], height=32, width=16, trials=2),
    "cpu": dict(synthetic=SYNTHETIC_PROFILES["cpu"], height=64, width=32, trials=10),
    # The paper's setting: real data, 288 × 144. The root comes from VIREID_SYSU_ROOT / VIREID_REGDB_ROOT or
    # data/SYSU-MM01, data/RegDB; `resolve_root` raises a clear error if it is missing.
    "paper": dict(synthetic=SYNTHETIC_PROFILES["paper"], height=288, width=144, trials=10),
}


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile


def replace_checked(obj: Any, **overrides: Any) -> Any:
    """``dataclasses.replace`` that names the valid fields when given an unknown one."""
    names = {f.name for f in dataclasses.fields(obj)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(
            f"unknown {type(obj).__name__} field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(names))}"
        )
    return dataclasses.replace(obj, **overrides)


def data_config(profile: str = "cpu", resolve_root: bool = True, **overrides: Any) -> DataConfig:
    """The data configuration of a profile, with keyword overrides (``root=``, ``dataset=``, ...).

    In the ``paper`` profile a ``root`` of ``None`` means the real dataset's default place
    (:func:`default_real_root`), found for the final ``dataset``; ``resolve_root=False`` leaves it ``None``
    for a caller that applies more overrides first.
    """
    check_profile(profile)
    base = DataConfig(**DATA_PROFILES[profile])
    if isinstance(overrides.get("synthetic"), dict):
        overrides["synthetic"] = replace_checked(base.synthetic, **overrides["synthetic"])
    cfg = replace_checked(base, **overrides)
    if resolve_root:
        cfg = with_real_root(cfg, profile)
        cfg.validate()
    return cfg


def with_real_root(cfg: DataConfig, profile: str) -> DataConfig:
    """The paper profile trains on real data: fill a missing root with the dataset's default place."""
    if profile == "paper" and cfg.root is None:
        return dataclasses.replace(cfg, root=str(default_real_root(cfg.dataset)))
    return cfg


def default_real_root(dataset: str) -> Path:
    """Where the paper profile looks for real data: ``$VIREID_SYSU_ROOT`` / ``$VIREID_REGDB_ROOT``, else
    ``data/SYSU-MM01`` / ``data/RegDB``. Raises a :class:`ConfigError` that says how to get the data."""
    from .paths import data_dir

    env, sub = {"sysu": ("VIREID_SYSU_ROOT", "SYSU-MM01"), "regdb": ("VIREID_REGDB_ROOT", "RegDB")}[dataset]
    root = Path(os.environ.get(env) or data_dir() / sub)
    if not root.exists():
        raise ConfigError(
            f"the 'paper' profile trains on the real {sub} dataset, which is not at {root}. It is licensed and "
            f"cannot be downloaded automatically: obtain it from its authors (see data/README.md), then place it "
            f"there or set {env}=/path/to/{sub}. To run without it, use profile='cpu' (the synthetic dataset)."
        )
    return root


# ---------------------------------------------------------------------------------------------------------
# The method: augmentation, model, losses, training
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations the training pipeline applies (every row of Table 1 is a choice of these)."""

    rcc: bool = True  # §3.1, visible images only
    cre: bool = True  # CAJ channel random erasing, both modalities
    random_erasing: bool = False  # plain random erasing, both modalities
    pad: int = 10
    flip: bool = True
    erase_p: float = 0.5

    def validate(self) -> None:
        _check_range("aug.pad", self.pad, 0)
        _check_range("aug.erase_p", self.erase_p, 0, 1, hint="a probability")


@dataclass(frozen=True)
class ModelConfig:
    """The network (§3.2–3.4). ``fusion_layers=()`` is the baseline: global branch only, no joint branch."""

    depth: int = 50  # ResNet depth: 10, 18, 34, 50 (the paper: 50)
    width: int = 64  # base channels (64 = the standard ResNet)
    pretrained: bool = True  # ImageNet weights (the paper; needs a local copy when offline)
    weights_path: str | None = None  # a local ImageNet state dict instead of torch hub's cache
    # a stand-in for ImageNet weights where a profile trains from scratch (the cpu profile's RegDB runs): N > 0
    # starts the backbone from Table 1's Baseline trained on a disjoint synthetic RegDB world of N identities
    # (vireid_lib.pretraining); 0: the backbone starts at random (or from ImageNet with ``pretrained``)
    synthetic_pretrain_ids: int = 0
    last_stride: int = 1
    fusion_layers: tuple[int, ...] = (1, 2, 3)  # which of f1..f4 are fused (Eq. 2; Table 2)
    fusion_channels: int = 256
    gem_p: float = 3.0
    # Readings of what the paper leaves open (README, "How the study judges the paper's claims"; default: our choice):
    # the fusion weight maps α, β, γ of Eq. 2 (vireid_lib.models.fusion): "learned" (a trained logit per position,
    # normalised across the fused layers by a softmax as ASFF does), "free" (a trained, unconstrained value per
    # position: it can run away) or "adaptive" (computed from the features by a 1×1 convolution, softmax-normalised)
    fusion_weights: Literal["learned", "free", "adaptive"] = "learned"
    # the test-time representation: the BN-neck output ("bn", as AGW reports) or the pooled V_joint before it
    # ("pool": what the paper's text calls the final representation, Eq. 3); both L2-normalised
    test_feature: Literal["bn", "pool"] = "bn"

    def validate(self) -> None:
        if any(i not in (1, 2, 3, 4) for i in self.fusion_layers) or len(set(self.fusion_layers)) != len(
                self.fusion_layers):
            raise ConfigError(f"model.fusion_layers must be distinct layers among 1..4, got {self.fusion_layers}")
        if self.last_stride not in (1, 2):
            raise ConfigError(f"model.last_stride must be 1 or 2, got {self.last_stride}")
        if self.fusion_weights not in ("learned", "free", "adaptive"):
            raise ConfigError(f"model.fusion_weights must be 'learned', 'free' or 'adaptive', got "
                              f"{self.fusion_weights!r}")
        if self.test_feature not in ("bn", "pool"):
            raise ConfigError(f"model.test_feature must be 'bn' (BN-neck output) or 'pool' (pooled, before the "
                              f"BN-neck), got {self.test_feature!r}")
        n = self.synthetic_pretrain_ids
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or (n and (n < 4 or n % 2)):
            raise ConfigError(f"model.synthetic_pretrain_ids must be 0 (no synthetic pretraining) or an even number "
                              f"of identities ≥ 4 (half of them are trained on), got {n!r}")
        if n and self.pretrained:
            raise ConfigError("model.synthetic_pretrain_ids stands in for ImageNet weights: set model.pretrained=false "
                              "with it, or model.synthetic_pretrain_ids=0 to start from ImageNet")
        if self.depth not in (10, 18, 34, 50):
            raise ConfigError(f"model.depth must be one of 10, 18, 34, 50 (ResNet depths), got {self.depth!r}")
        for name in ("width", "fusion_channels"):
            _check_range(f"model.{name}", getattr(self, name), 1)
        _check_range("model.gem_p", self.gem_p, 0, low_open=True, hint="the GeM exponent (the paper: 3)")
        if self.pretrained and self.width != 64:
            raise ConfigError(f"model.pretrained=true needs model.width=64 (ImageNet's ResNets), got width "
                              f"{self.width}; set model.pretrained=false to train a narrower network from scratch")


DML_MODES = ("none", "global-to-fusion", "joint-to-global", "joint-to-fusion", "joint-to-both")


@dataclass(frozen=True)
class LossConfig:
    """The loss (§3.5, Eq. 13): every component switchable, so that every row of Tables 1–4 is a config."""

    id_branches: bool = True  # L_id on the global and fusion branches (Table 3's "L_id"); the joint one always
    dml: str = "joint-to-both"  # deep mutual learning (Eqs. 5–6, Table 4): one of DML_MODES
    theta1: float = 0.6  # weight of L_KD1 (Eq. 9)
    theta2: float = 1.8  # weight of L_KD2 (Eq. 10)
    label_smoothing: float = 0.1  # Table 3's "LSR": ε of the global and fusion branches' identity losses
    wrt: bool = True  # WRT loss on the joint embedding (Eqs. 11–12)
    # Readings (see ModelConfig): WRT's numerics, "stable" (a softmax shifted by the maximum over the masked
    # entries, masked before the exponential) or "agw" (bit for bit the AGW reference's TripletLoss_WRT); and the
    # DML teacher's side of the symmetric KL, "detached" (the joint branch teaches) or "mutual" (both sides learn)
    wrt_numerics: Literal["stable", "agw"] = "stable"
    dml_teacher: Literal["detached", "mutual"] = "detached"

    def validate(self) -> None:
        if self.dml not in DML_MODES:
            raise ConfigError(f"loss.dml must be one of {', '.join(DML_MODES)}, got {self.dml!r}")
        if self.wrt_numerics not in ("stable", "agw"):
            raise ConfigError(f"loss.wrt_numerics must be 'stable' or 'agw', got {self.wrt_numerics!r}")
        if self.dml_teacher not in ("detached", "mutual"):
            raise ConfigError(f"loss.dml_teacher must be 'detached' or 'mutual', got {self.dml_teacher!r}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"loss.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        _check_range("loss.theta1", self.theta1, 0, hint="the weight of L_KD1 (Eq. 9)")
        _check_range("loss.theta2", self.theta2, 0, hint="the weight of L_KD2 (Eq. 10)")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation (§4.2; schedule as in the AGW/CAJ code) and run mechanics."""

    epochs: int = 80
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1  # new layers (and all layers when training from scratch)
    pretrained_lr_factor: float = 0.1  # ImageNet-initialised layers train at lr × this
    momentum: float = 0.9
    nesterov: bool = True  # as the AGW/CAJ code
    weight_decay: float = 5e-4
    warmup_epochs: int = 10  # linear warm-up: lr·(e+1)/warmup
    milestones: tuple[int, ...] = (20, 50)  # lr × 0.1 at each
    gamma: float = 0.1
    P: int = 8  # identities per batch
    K: int = 4  # images per identity and modality: a batch is P × (K + K)
    # the K images of an identity: "balanced" (without replacement when it has ≥ K) or "agw" (always with
    # replacement, as the AGW/CAJ IdentitySampler)
    sampler: Literal["balanced", "agw"] = "balanced"
    max_batches: int = 0  # batches per epoch; 0: an epoch as long as the larger modality
    eval_every: int = 10  # evaluate every N epochs (and always at the end); 0: only at the end
    checkpoint_every: int = 0  # also checkpoint every N batches inside an epoch; 0: at epoch ends only
    device: str = "auto"  # auto | cpu | cuda | cuda:1 ...
    amp: Literal["off", "bf16", "fp16"] = "off"
    # run mechanics (not part of a run's identity: the same computation, only the kernels' order of floating-point
    # operations differs; recorded in the run's provenance): NHWC memory layout, torch.compile (inductor) of the
    # network, CPU threads
    channels_last: bool = False
    compile: bool = False
    threads: int = 0  # torch CPU threads; 0: leave the default

    def validate(self) -> None:
        if self.epochs < 1 or self.P < 1 or self.K < 1:
            raise ConfigError(f"train.epochs, P and K must be ≥ 1, got {self.epochs}, {self.P}, {self.K}")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(f"train.optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.amp not in ("off", "bf16", "fp16"):
            raise ConfigError(f"train.amp must be off, bf16 or fp16, got {self.amp!r}")
        if list(self.milestones) != sorted(self.milestones):
            raise ConfigError(f"train.milestones must be increasing, got {self.milestones}")
        if self.sampler not in ("balanced", "agw"):
            raise ConfigError(f"train.sampler must be 'balanced' or 'agw', got {self.sampler!r}")
        _check_range("train.lr", self.lr, 0, low_open=True, hint="the learning rate; the paper: 0.1 with SGD")
        _check_range("train.weight_decay", self.weight_decay, 0, hint="the paper: 5e-4")
        _check_range("train.momentum", self.momentum, 0, 1, high_open=True, hint="the paper: 0.9")
        if self.optimizer == "sgd" and self.nesterov and self.momentum == 0:
            raise ConfigError("train.nesterov=true needs train.momentum > 0 (Nesterov momentum); set a momentum "
                              "(the paper: 0.9) or train.nesterov=false")
        _check_range("train.pretrained_lr_factor", self.pretrained_lr_factor, 0)
        _check_range("train.gamma", self.gamma, 0, low_open=True, hint="the lr factor at each milestone")
        for name in ("warmup_epochs", "max_batches", "eval_every", "checkpoint_every", "threads"):
            _check_range(f"train.{name}", getattr(self, name), 0, hint="0 means " + {
                "warmup_epochs": "no warm-up", "max_batches": "a whole epoch", "eval_every": "only at the end",
                "checkpoint_every": "at epoch ends only", "threads": "torch's default"}[name])
        if any(not isinstance(m, int) or m < 1 for m in self.milestones):
            raise ConfigError(f"train.milestones must be epochs ≥ 1, got {self.milestones}")
        if not isinstance(self.device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N (e.g. cuda:1), got {self.device!r}")


@dataclass(frozen=True)
class ExperimentConfig:
    """One training run: data, augmentation, model, loss, optimisation, seed. Its identity (for the run
    registry) is a hash of everything that changes the result; ``name`` and the run mechanics are not part
    of it, so two table rows with the same settings share one run."""

    name: str = "full"
    profile: str = "cpu"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    aug: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    NOT_IDENTITY = ("name", "train.eval_every", "train.checkpoint_every", "train.device", "train.threads",
                    "train.channels_last", "train.compile")

    def validate(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be an integer ≥ 0, got {self.seed!r}")
        self.data.validate()
        self.aug.validate()
        self.model.validate()
        self.loss.validate()
        self.train.validate()
        if self.loss.wrt and self.train.P < 2:
            raise ConfigError(f"the WRT loss needs negatives: train.P (identities per batch) must be ≥ 2, got "
                              f"{self.train.P}; or set loss.wrt=false")
        if not self.model.fusion_layers and self.loss.dml != "none":
            raise ConfigError("deep mutual learning needs the fusion and joint branches: set loss.dml='none' "
                              "when model.fusion_layers is empty (the baseline)")

    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        if d["data"]["holdout"] == "test":  # the default: runs named before the option existed keep their names
            d["data"].pop("holdout")
        if d["model"]["synthetic_pretrain_ids"] == 0:  # the same for runs without synthetic pretraining
            d["model"].pop("synthetic_pretrain_ids")
        # only the run's own dataset's synthetic parameters name it (none, on real data); the others are written at
        # their values of 2026-12-01 (NAMING_SPECS), so that names made before stay
        syn = d["data"]["synthetic"]
        own = () if not self.data.is_synthetic else SYSU_FIELDS if self.data.dataset == "sysu" else REGDB_FIELDS
        frozen = NAMING_SPECS.get(self.profile, _CPU_NAMING)
        for name in list(syn):
            if name not in own:
                if name in frozen:
                    syn[name] = frozen[name]
                else:
                    syn.pop(name)
        for key in self.NOT_IDENTITY:
            parts = key.split(".")
            sub = d
            for p in parts[:-1]:
                sub = sub[p]
            sub.pop(parts[-1])
        return d

    def with_overrides(self, **dotted: Any) -> ExperimentConfig:
        """``cfg.with_overrides(**{"loss.theta1": 0.4, "model.fusion_layers": (1, 2)})``: these fields change, and,
        when ``data.dataset`` switches, the profile's per-dataset defaults switch with it as in
        :func:`experiment_config` (``EXPERIMENT_PROFILES[p]["by_dataset"]``, e.g. the cpu profile's synthetic
        pretraining for RegDB: the old dataset's return to the profile's values, the new one's apply); the overrides
        given here win (a per-dataset value set explicitly when ``self`` was made is not kept: give it again). On
        real data the folder must switch too: the paper profile takes the new dataset's default place, another
        profile needs ``data.root`` given (it refuses, rather than fall back to synthetic data)."""
        new = dotted.get("data.dataset", self.data.dataset)
        if new == self.data.dataset or self.profile not in EXPERIMENT_PROFILES:
            return apply_overrides(self, dotted)
        by = EXPERIMENT_PROFILES[self.profile].get("by_dataset", {})
        plain = _profile_base(self.profile)
        switched = {k: _dotted_get(plain, k) for k in by.get(self.data.dataset, {})}
        cfg = apply_overrides(self, {**switched, **by.get(new, {}), **dotted})
        if "data.root" not in dotted and self.data.root is not None:  # the old dataset's folder is not the new one's
            if self.profile != "paper":
                raise ConfigError(f"data.dataset={new!r}: this configuration reads the real {self.data.dataset} data "
                                  f"at {self.data.root}, which is not the {new} dataset; give its folder too "
                                  f"(data.root=..., on the command line --set data.root=/path), or "
                                  f"data.root=None (--set data.root=null) for the synthetic one")
            cfg = dataclasses.replace(cfg, data=with_real_root(dataclasses.replace(cfg.data, root=None), self.profile))
        return cfg


EXPERIMENT_PROFILES: dict[str, dict[str, Any]] = {
    # seconds: a 4-block, 8-channel ResNet on 32×16 images, two short epochs
    "smoke": {"model": dict(depth=10, width=8, pretrained=False, fusion_channels=16),
              "train": dict(epochs=2, optimizer="adam", lr=3e-3, weight_decay=0.0, warmup_epochs=1, milestones=(),
                            P=4, K=2, max_batches=3, eval_every=1, threads=1)},
    # the embedded default, chosen by measurement on the val ids (README, "The cpu profile"): the paper's structure
    # (two-stream ResNet with 4 stages, fusion of layer1-3, the three heads) at a quarter of ResNet-18's width and a
    # single block per stage, 64×32 images, trained from scratch with the paper's SGD (lr 0.1, momentum 0.9, wd
    # 5e-4; it beats Adam 3e-3 at the same cost) for 24 epochs, its warm-up and ×0.1 step scaled to that length
    # (16 epochs cost the method 6 points; 32 gain it 2.4 and the baseline 1.2, within a row's usual seed spread of
    # 2-4 points, for a third more time); fusion channels scaled with the width as in the paper (256 = 4 × 64).
    # Run mechanics chosen by measurement (`make bench`, README): channels-last and torch.compile of the network.
    # On RegDB, its 206 training identities are too few to learn from scratch (data/README.md): the backbone starts
    # from a network trained on a disjoint synthetic RegDB world of 3,296 identities, a stand-in for the ImageNet
    # weights that the real-data recipe starts from (vireid_lib.pretraining); chosen on a validation world over
    # 1,648 identities (data/README.md, *A larger pretraining*).
    "cpu": {"model": dict(depth=10, width=16, pretrained=False, fusion_channels=64),
            "train": dict(epochs=24, warmup_epochs=2, milestones=(20,),
                          P=8, K=4, max_batches=0, eval_every=6, threads=0, channels_last=True, compile=True),
            "by_dataset": {"regdb": {"model.synthetic_pretrain_ids": 3296}}},
    # the paper (§4.2): ResNet-50 from ImageNet, 288×144, 8 × (4 + 4), 80 epochs of SGD
    "paper": {"model": dict(depth=50, width=64, pretrained=True), "train": dict()},
}


#: The paper's ambiguous readings as switch sets (README, "How the study judges the paper's claims"). ``ours`` is every
#: switch's default; ``agw`` matches the AGW reference code wherever the paper is silent (the WRT numerics and the
#: identity sampler; AGW reports the BN-neck feature as we do, and has no DML or fusion to read); the others change
#: one reading of the method each, for the sensitivity table (notebook 05).
READINGS: dict[str, dict[str, Any]] = {
    "ours": {},
    "agw": {"loss.wrt_numerics": "agw", "train.sampler": "agw"},
    "wrt-agw": {"loss.wrt_numerics": "agw"},
    "test-pool": {"model.test_feature": "pool"},
    "dml-mutual": {"loss.dml_teacher": "mutual"},
    "no-lsr": {"loss.label_smoothing": 0.0},
    "fusion-adaptive": {"model.fusion_weights": "adaptive"},
    "fusion-free": {"model.fusion_weights": "free"},
}


def apply_overrides(cfg: Any, dotted: dict[str, Any]) -> Any:
    """Apply ``{"a.b": v}`` overrides to nested frozen dataclasses, naming the valid fields on a typo."""
    groups: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in dotted.items():
        head, _, rest = key.partition(".")
        if rest:
            groups.setdefault(head, {})[rest] = value
        else:
            top[key] = value
    sections = [f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
    for head, sub in groups.items():
        if head not in sections:
            raise ConfigError(f"unknown config section {head!r}; sections: {', '.join(sections)}")
        top[head] = apply_overrides(getattr(cfg, head), sub)
    for k, v in top.items():
        current = getattr(cfg, k, None)
        if isinstance(v, dict) and dataclasses.is_dataclass(current):  # {"synthetic": {"seed": 1}}
            top[k] = apply_overrides(current, v)
        elif isinstance(v, list) and isinstance(current, tuple):  # lists from JSON / the command line
            top[k] = tuple(v)
        elif isinstance(current, tuple) and isinstance(v, (int, float, str)):  # `train.milestones=20`: one item
            top[k] = (v,)
        elif v is None and k in (types := {f.name: str(f.type) for f in dataclasses.fields(cfg)}) \
                and "None" in types[k]:  # an optional field set to None (e.g. data.root: the synthetic data)
            top[k] = None
        else:
            top[k] = _checked_type(type(cfg).__name__, k, current, v)
    return replace_checked(cfg, **top)


def _checked_type(owner: str, name: str, current: Any, value: Any) -> Any:
    """``value`` for a field whose current value is ``current``: the same kind of scalar, or a clear error."""
    def bad(kind: str) -> ConfigError:
        return ConfigError(f"{owner}.{name} expects {kind}, got {value!r} (its default here: "
                           f"{json.dumps(current)})")
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise bad("an integer")
        return int(value)
    elif isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    elif isinstance(current, str) and not isinstance(value, str):
        raise bad("a string")
    return value


def model_config(profile: str) -> ModelConfig:
    """The model of a profile, without its data (e.g. the paper's ResNet-50 where no real data is at hand)."""
    check_profile(profile)
    return ModelConfig(**EXPERIMENT_PROFILES[profile]["model"])


def experiment_config(profile: str = "cpu", name: str = "full", seed: int = 0, data_root: str | None = None,
                      readings: str = "ours", **dotted: Any) -> ExperimentConfig:
    """The full method's configuration in a profile, with a set of :data:`READINGS` of the paper's open points
    and dotted overrides (``experiment_config("cpu", **{"loss.dml": "none"})``; the overrides win)."""
    check_profile(profile)
    if readings not in READINGS:
        raise ConfigError(f"unknown readings {readings!r}; choose one of {', '.join(READINGS)}")
    base = EXPERIMENT_PROFILES[profile]
    cfg = _profile_base(profile, name, seed, data_root)
    dataset = dotted.get("data.dataset", cfg.data.dataset)
    dotted = {**base.get("by_dataset", {}).get(dataset, {}), **READINGS[readings], **dotted}
    cfg = apply_overrides(cfg, dotted) if dotted else cfg
    cfg = dataclasses.replace(cfg, data=with_real_root(cfg.data, profile))  # after `data.dataset` overrides
    cfg.validate()
    return cfg


def _profile_base(profile: str, name: str = "base", seed: int = 0, data_root: str | None = None) -> ExperimentConfig:
    """A profile's configuration before any override or per-dataset default (the values a dataset's defaults
    replace), its real-data root not yet resolved."""
    base = EXPERIMENT_PROFILES[profile]
    return ExperimentConfig(name=name, profile=profile, seed=seed,
                            data=data_config(profile, resolve_root=False, root=data_root),
                            model=ModelConfig(**base["model"]), train=replace_checked(TrainConfig(), **base["train"]))


def _dotted_get(cfg: Any, key: str) -> Any:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def from_dict(d: dict[str, Any]) -> ExperimentConfig:
    """Inverse of :func:`asdict` for an experiment (reads a run's ``config.json``)."""
    def tup(x):
        return tuple(x) if isinstance(x, list) else x

    data = dict(d["data"])
    data["synthetic"] = SyntheticSpec(**{k: tup(v) for k, v in data["synthetic"].items()})
    return ExperimentConfig(
        name=d["name"], profile=d["profile"], seed=d["seed"], data=DataConfig(**data),
        aug=AugmentConfig(**d["aug"]), model=ModelConfig(**{k: tup(v) for k, v in d["model"].items()}),
        loss=LossConfig(**d["loss"]), train=TrainConfig(**{k: tup(v) for k, v in d["train"].items()}),
    )


def asdict(cfg: Any) -> dict[str, Any]:
    """Plain-dict view of a config (tuples become lists), for hashing and for writing next to results."""
    return dataclasses.asdict(cfg)
