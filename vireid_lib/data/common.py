"""What every reader returns: an :class:`ImageList`, a list of image files with identity, camera and label; and the
checks every reader shares: text files read as UTF-8 with the bad line named, paths confined to the dataset root,
images that are missing, unreadable or symbolic links to nowhere named, 16-bit images converted to 8 bits."""

from __future__ import annotations

import errno
import os
import stat
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


def read_text_lines(path: Path, expected: str) -> list[str]:
    """The lines of a dataset's text file (an id list, a split file), decoded as UTF-8; a byte that is not UTF-8 is a
    :class:`DataError` naming the file, the line and the byte. ``expected`` says what the file should hold."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read this file ({file_problem(Path(path)) or e.strerror or e}); "
                        f"expected {expected}") from None
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataError(f"{path}:{line}: byte 0x{data[e.start]:02x} (column {column}) is not UTF-8 text; expected "
                        f"{expected}. Fix that line, or save the file as UTF-8 (or plain ASCII).") from None


def confined(root: Path, rel: str, where: str) -> Path:
    """``root / rel`` for a path read from a dataset's file, refused (:class:`DataError` naming ``where``, e.g.
    ``file:line``) when ``rel`` is absolute or climbs out of ``root`` with ``..``. The check is on the path as
    written, so a dataset whose folders are symbolic links to another disk still works."""
    norm = os.path.normpath(rel)
    if os.path.isabs(rel) or norm == ".." or norm.startswith(".." + os.sep):
        raise DataError(f"{where}: path {rel!r} points outside the dataset root {root}; paths in the dataset's files "
                        f"are relative to its root and stay inside it (e.g. Visible/1/female_front_v_00001_1.bmp)")
    return root / norm


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, in words (missing, a symbolic link to itself or to nowhere, a folder,
    unreadable), or ``None`` when it can."""
    try:
        st = path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"a symbolic link that points back to itself (→ {os.readlink(path)}), never to a file"
        if e.errno == errno.ENOENT and path.is_symlink():
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        if e.errno == errno.ENOENT:
            return "missing (listed by the dataset but not on disk)"
        return f"unreadable ({e.strerror or e})"
    if not stat.S_ISREG(st.st_mode):
        return "not a file (a folder or a device)"
    if not os.access(path, os.R_OK):
        return "unreadable (permission denied)"
    return None


#: Pillow modes of 16-bit grey images (PNG, TIFF): scaled to 8 bits by their bit depth, v·255/65535
GREY16 = ("I;16", "I;16L", "I;16B", "I;16N")


def read_image(path: Path) -> Image.Image:
    """Open and fully decode an image as RGB, or raise a :class:`DataError` naming the file.

    A 16-bit grey image (Pillow mode ``I;16``: 16-bit PNG or TIFF, e.g. from a thermal camera) is scaled to 8 bits
    by its bit depth (round(v · 255 / 65535), the same picture at 8 bits); Pillow alone would clip every value above
    255 to white. Images of 32-bit integers or floats (modes ``I``, ``F``) carry no range the reader could trust and
    are refused, saying to convert them to 8- or 16-bit first."""
    problem = file_problem(Path(path))
    if problem:
        raise DataError(f"{path}: image file is {problem}. Restore it, or fix the dataset's lists.")
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated file fails here, not later
            if im.mode in GREY16:
                grey = np.asarray(im).astype(np.uint32)
                return Image.fromarray(((grey * 255 + 32767) // 65535).astype(np.uint8), "L").convert("RGB")
            if im.mode in ("I", "F"):
                raise DataError(
                    f"{path}: image holds 32-bit {'integer' if im.mode == 'I' else 'floating-point'} pixels (mode "
                    f"{im.mode}), whose range the reader cannot know; convert it to an 8-bit (or 16-bit) PNG or JPEG")
            return im.convert("RGB")
    except FileNotFoundError:
        raise DataError(f"{path}: image file is missing (listed by the dataset but not on disk)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, DataError):
            raise
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
