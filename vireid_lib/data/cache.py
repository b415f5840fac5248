"""Preprocessing cache: every image of an :class:`ImageList` decoded and resized once into a memory-mapped array.

Like the reference ``pre_process_sysu.py`` (uint8 arrays of shape (N, 288, 144, 3), Lanczos resize), but
keyed and safe: the file name carries a hash of the image list, each file's *content* and the target size, so a
changed dataset or size builds a new cache (stale ones are never read, even when an image is replaced by another
of the same size with its modification time restored); the array is written to a temporary file and renamed into
place only when complete, under a lock, so a crash or a concurrent builder never leaves a half-written cache that
looks whole.

Content hashes (:func:`file_digests`) are computed once per file and remembered under the file's inode, size,
modification and change times (``data/cache/digests-*.json``): restoring a modification time changes the change
time, so a replaced file is hashed again; an untouched dataset costs one ``stat`` per file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import atomic_path, atomic_write_json, sha256_file, stable_hash
from ..paths import cache_dir
from .common import ImageList, load_resized

CACHE_VERSION = 2


def file_digests(images: ImageList) -> list[str]:
    """The sha256 (hex, 32 characters) of every file of ``images``, in list order, remembered under each file's
    (inode, size, mtime, ctime) so that only new or changed files are read."""
    root = images.root.resolve()
    index_path = cache_dir() / f"digests-{stable_hash(str(root), n=12)}.json"
    try:
        index = json.loads(index_path.read_text())
    except (FileNotFoundError, ValueError, OSError):
        index = {}
    out, changed = [], False
    for rel in images.paths:
        path = root / rel
        try:
            st = path.stat()
        except OSError as e:
            raise DataError(f"{path}: cannot read this image file ({e.strerror or e}); it is listed by the dataset "
                            f"under {root}. Restore it (or fix the dataset's lists).") from None
        stamp = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        known = index.get(rel)
        if known is None or known[:4] != stamp:
            known = stamp + [sha256_file(path)[:32]]
            index[rel] = known
            changed = True
        out.append(known[4])
    if changed:
        with contextlib.suppress(OSError):  # a read-only data folder: hashed again next time
            atomic_write_json(index_path, index)
    return out


def cache_key(images: ImageList, height: int, width: int) -> str:
    """What names a cache file: the list's name and file names, each file's content hash, the size, the resampler."""
    return stable_hash({"v": CACHE_VERSION, "files": list(zip(images.paths, file_digests(images), strict=True)),
                        "size": [height, width], "resample": "lanczos"}, n=16)


def cache_path(images: ImageList, height: int, width: int) -> Path:
    return cache_dir() / f"{images.name}-{height}x{width}-{cache_key(images, height, width)}.npy"


def _decode_chunk(args: tuple) -> np.ndarray:
    root, paths, height, width = args
    return np.stack([load_resized(Path(root) / p, height, width) for p in paths])


def load_images(images: ImageList, height: int, width: int, workers: int | None = None) -> np.ndarray:
    """All images of ``images`` as a read-only memory-mapped uint8 array (N, height, width, 3), building the
    cache on first use. Decoding runs on ``workers`` processes (default: all cores)."""
    path = cache_path(images, height, width)
    expected = (len(images), height, width, 3)
    arr = _open_valid(path, expected)
    if arr is not None:
        return arr
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        arr = _open_valid(path, expected)
        if arr is None:
            _build(images, height, width, path, workers)
            arr = _open_valid(path, expected)
        fcntl.flock(lock, fcntl.LOCK_UN)
    with contextlib.suppress(FileNotFoundError):
        path.with_suffix(".lock").unlink()
    if arr is None:
        raise DataError(f"the preprocessing cache {path} was built but does not hold {expected} uint8 images; "
                        f"delete it (make clean-cache) and try again")
    return arr


def load_sample(images: ImageList, height: int, width: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` images drawn at random (without replacement, in list order) from the cache: (n, H, W, 3) uint8."""
    idx = np.sort(np.random.default_rng(seed).choice(len(images), min(n, len(images)), replace=False))
    return np.asarray(load_images(images, height, width)[idx])


def _open_valid(path: Path, expected: tuple[int, ...]) -> np.ndarray | None:
    if not path.exists():
        return None
    try:
        arr = np.load(path, mmap_mode="r")
    except (ValueError, OSError, EOFError):
        return None  # unreadable: rebuilt (the atomic writer makes this unlikely)
    return arr if arr.shape == expected and arr.dtype == np.uint8 else None


def _build(images: ImageList, height: int, width: int, path: Path, workers: int | None) -> None:
    n = len(images)
    workers = workers if workers is not None else min(os.cpu_count() or 1, max(1, n // 256))
    chunk = 128
    jobs = [(str(images.root), images.paths[i : i + chunk], height, width) for i in range(0, n, chunk)]
    with atomic_path(path, suffix=".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, height, width, 3))
        if workers <= 1 or len(jobs) <= 1:
            results = map(_decode_chunk, jobs)
        else:
            ex = ProcessPoolExecutor(max_workers=workers)
            results = ex.map(_decode_chunk, jobs)
        try:
            for i, block in enumerate(results):
                out[i * chunk : i * chunk + len(block)] = block
        finally:
            if workers > 1 and len(jobs) > 1:
                ex.shutdown(cancel_futures=True)
        out.flush()
        del out
