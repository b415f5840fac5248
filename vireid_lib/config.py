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
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

PROFILES = ("smoke", "cpu", "paper")
Profile = Literal["smoke", "cpu", "paper"]


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
    # RegDB-like part: identities with 10 visible + 10 thermal aligned images each (real: 412)
    regdb_ids: int = 120
    # rendered image size (H, W); readers resize to the training size
    height: int = 128
    width: int = 64
    # per-image nuisance factors
    occlusion_prob: float = 0.2
    blur_max: float = 1.0  # max Gaussian sigma in pixels at 128×64
    noise_visible: float = 0.02
    noise_infrared: float = 0.04
    jpeg_quality: tuple[int, int] = (60, 95)

    def validate(self) -> None:
        for name in ("n_train_ids", "n_val_ids", "n_test_ids", "images_per_camera", "regdb_ids"):
            if getattr(self, name) < 1:
                raise ConfigError(f"synthetic.{name} must be ≥ 1, got {getattr(self, name)}")
        if self.regdb_ids < 2 or self.regdb_ids % 2:
            raise ConfigError(f"synthetic.regdb_ids must be even and ≥ 2 (half train, half test), got {self.regdb_ids}")
        if not 0.0 < self.camera_presence <= 1.0:
            raise ConfigError(f"synthetic.camera_presence must be in (0, 1], got {self.camera_presence}")
        if self.height < 32 or self.width < 16:
            raise ConfigError(f"synthetic images must be at least 32×16, got {self.height}×{self.width}")


SYNTHETIC_PROFILES: dict[str, SyntheticSpec] = {
    "smoke": SyntheticSpec(
        n_train_ids=12, n_val_ids=4, n_test_ids=8, images_per_camera=3, regdb_ids=12, height=64, width=32
    ),
    "cpu": SyntheticSpec(),
    "paper": SyntheticSpec(n_train_ids=296, n_val_ids=99, n_test_ids=96, images_per_camera=15, regdb_ids=412),
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
    trials: int = 10  # SYSU: gallery re-samplings; RegDB: the 10 train/test splits
    regdb_trial: int = 1  # the split used when a single RegDB model is trained

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
        return f"synthetic ({name} layout)" if self.is_synthetic else f"{name} ({self.root})"


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


def data_config(profile: str = "cpu", **overrides: Any) -> DataConfig:
    """The data configuration of a profile, with keyword overrides (``root=``, ``dataset=``, ...).

    Overrides that are ``None`` for fields whose profile default is not ``None`` are ignored only for
    ``root`` (a notebook's ``data_root = None`` means "the profile's default").
    """
    check_profile(profile)
    base = DataConfig(**DATA_PROFILES[profile])
    if isinstance(overrides.get("synthetic"), dict):
        overrides["synthetic"] = replace_checked(base.synthetic, **overrides["synthetic"])
    cfg = replace_checked(base, **overrides)
    if profile == "paper" and cfg.root is None:
        cfg = dataclasses.replace(cfg, root=str(default_real_root(cfg.dataset)))
    cfg.validate()
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


def asdict(cfg: Any) -> dict[str, Any]:
    """Plain-dict view of a config (tuples become lists), for hashing and for writing next to results."""
    return dataclasses.asdict(cfg)
