"""What every reader returns: an :class:`ImageList`, a list of image files with identity, camera and label."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class ImageList:
    """Images of one modality, as files under ``root``.

    ``pids`` are the dataset's identity numbers (used by the evaluation), ``labels`` the training class
    indices 0..C-1 (``-1`` for test images), ``cams`` the camera numbers.
    """

    root: Path
    paths: tuple[str, ...]
    pids: np.ndarray
    cams: np.ndarray
    labels: np.ndarray
    modality: str  # "visible" | "infrared"
    name: str  # e.g. "sysu-train-visible": names the preprocessing cache

    def __post_init__(self) -> None:
        n = len(self.paths)
        if not (len(self.pids) == len(self.cams) == len(self.labels) == n):
            raise ValueError("paths, pids, cams and labels must have the same length")

    def __len__(self) -> int:
        return len(self.paths)

    def abspath(self, i: int) -> Path:
        return self.root / self.paths[i]

    def subset(self, idx: np.ndarray | list[int], name: str | None = None) -> ImageList:
        idx = np.asarray(idx, dtype=np.int64)
        return ImageList(self.root, tuple(self.paths[i] for i in idx), self.pids[idx], self.cams[idx],
                         self.labels[idx], self.modality, name or self.name)

    @property
    def num_ids(self) -> int:
        return len(np.unique(self.pids))


def read_image(path: Path) -> Image.Image:
    """Open and fully decode an image as RGB, or raise a :class:`DataError` naming the file."""
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated file fails here, not later
            return im.convert("RGB")
    except FileNotFoundError:
        raise DataError(f"{path}: image file is missing (listed by the dataset but not on disk)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(
            f"{path}: cannot decode image ({e}). The file is corrupt or truncated; re-extract the dataset "
            f"(or, for the synthetic set, delete its folder to regenerate it)."
        ) from None


def load_resized(path: Path, height: int, width: int) -> np.ndarray:
    """Decode and resize to (height, width) with Lanczos, as the reference pre-processing does: uint8 (H, W, 3)."""
    im = read_image(path)
    if im.size != (width, height):
        im = im.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
