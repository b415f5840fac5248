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

A cache is written with plain writes into space reserved up front (``posix_fallocate``), never through a
memory map: a full disk is a :class:`~vireid_lib.errors.StorageError` naming the file and the space it needs
(checked before any image is decoded, :func:`check_space`), never a "Bus error"; its temporary file and lock
are removed, and temporary files of a builder that was killed are removed by the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import DataError, VireidError
from ..io import (
    atomic_path,
    atomic_write_json,
    free_bytes,
    remove_interrupted_writes,
    sha256_file,
    stable_hash,
    storage_error,
)
from ..paths import cache_dir
from .common import ImageList, file_problem, load_resized

CACHE_VERSION = 3  # 3: 16-bit images scaled to 8 bits (version 2 cached them as white)


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
            raise DataError(f"{path}: cannot read this image file: it is {file_problem(path) or e.strerror or e}; "
                            f"it is listed by the dataset under {root}. Restore it (or fix the dataset's lists).") \
                from None
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
    lock_path = path.with_suffix(".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "w")
    except OSError as e:
        raise storage_error(path, e, what="the preprocessing cache") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        arr = _open_valid(path, expected)
        if arr is None:
            remove_interrupted_writes(path.parent, path.name)  # of a builder that was killed: we hold the lock
            _build(images, height, width, path, workers)
            arr = _open_valid(path, expected)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()
    if arr is None:
        raise DataError(f"the preprocessing cache {path} was built but does not hold {expected} uint8 images; "
                        f"delete it (make clean-cache) and try again")
    return arr


def cache_bytes(images: ImageList, height: int, width: int) -> int:
    """The size of the cache file of ``images`` at this size: the ``.npy`` header and N × H × W × 3 bytes."""
    return _HEADER + len(images) * height * width * 3


def check_space(lists: list[ImageList], height: int, width: int) -> None:
    """Refuse up front, before any image is decoded, caches that the free space of the cache folder cannot hold
    (a :class:`~vireid_lib.errors.StorageError` naming the folder, the space needed and free). Caches already
    built cost nothing."""
    missing = [lst for lst in lists if _open_valid(cache_path(lst, height, width), (len(lst), height, width, 3))
               is None]
    needed = sum(cache_bytes(lst, height, width) for lst in missing)
    if needed and free_bytes(cache_dir()) < needed:
        raise storage_error(cache_dir(), None, needed=needed,
                            what=f"the preprocessing caches of {', '.join(lst.name for lst in missing)} to")


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


_HEADER = 128  # bytes of the .npy header numpy writes for a uint8 array of 4 dimensions (format 1.0)


def _build(images: ImageList, height: int, width: int, path: Path, workers: int | None) -> None:
    n = len(images)
    shape = (n, height, width, 3)
    size = cache_bytes(images, height, width)
    if free_bytes(path.parent) < size:
        raise storage_error(path, None, needed=size, what="the preprocessing cache")
    workers = workers if workers is not None else min(os.cpu_count() or 1, max(1, n // 256))
    chunk = 128
    jobs = [(str(images.root), images.paths[i : i + chunk], height, width) for i in range(0, n, chunk)]
    with atomic_path(path, suffix=".npy") as tmp:
        try:
            with open(tmp, "wb") as fh:
                _write(fh, shape, size, jobs, workers)
        except OSError as e:
            if isinstance(e, VireidError):
                raise
            raise storage_error(path, e, needed=size, what="the preprocessing cache") from None


def _write(fh, shape: tuple[int, ...], size: int, jobs: list, workers: int) -> None:
    """The .npy header, the reserved space, then every decoded block in list order."""
    np.lib.format.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": shape})
    try:  # reserve the space: a full disk fails here, before any decoding, not halfway through
        os.posix_fallocate(fh.fileno(), 0, size)
    except OSError as e:
        if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a file system without it: plain writes
            raise
    if workers <= 1 or len(jobs) <= 1:
        results = map(_decode_chunk, jobs)
    else:
        ex = ProcessPoolExecutor(max_workers=workers)
        results = ex.map(_decode_chunk, jobs)
    try:
        for block in results:
            fh.write(np.ascontiguousarray(block, dtype=np.uint8).data)
    finally:
        if workers > 1 and len(jobs) > 1:
            ex.shutdown(cancel_futures=True)
    fh.flush()
