"""Atomic file writes, stable hashing, and clear errors when a folder cannot be written.

Every file the library writes goes through these helpers: the content is written to a temporary file in the
same folder, flushed and fsync'ed, then renamed over the target with :func:`os.replace`, which is atomic on
POSIX. A crash therefore leaves either the old file or the new one, never a half-written file; a killed
process may leave its temporary file (``.<name>.<random>.tmp<suffix>``), which the next writer that owns the
folder removes (:func:`remove_interrupted_writes`). A full disk, a read-only or forbidden folder is a
:class:`~vireid_lib.errors.StorageError` naming the file, the space it needed and what to do
(:func:`storage_error`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import StorageError, VireidError

#: errors that can only come from writing: the body of :func:`atomic_path` raising one is a storage error
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    On an exception the temporary file is removed and ``target`` is left untouched.
    ``suffix`` lets writers that insist on an extension (``np.save`` adds ``.npy``) be used.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + suffix, dir=target.parent)
        os.close(fd)
    except OSError as e:
        raise storage_error(target, e) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp_path, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(e, OSError) and not isinstance(e, VireidError) and e.errno in WRITE_ERRNOS:
            raise storage_error(target, e) from None
        raise


def remove_interrupted_writes(folder: str | os.PathLike, name: str = "*") -> list[Path]:
    """Remove the temporary files that :func:`atomic_path` writes into ``folder`` for targets named ``name`` (a glob
    pattern): left only by a process killed mid-write. Call it only while owning the folder (under its lock)."""
    removed = []
    for p in Path(folder).glob(f".{name}.*.tmp*"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            p.unlink()
            removed.append(p)
    return removed


def free_bytes(path: str | os.PathLike) -> int:
    """Free space (bytes, for an unprivileged writer) on the file system of ``path`` or its nearest existing parent."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def setting_for(path: Path) -> str:
    """", or point VIREID_DATA_DIR (now …) at another folder (it holds …)" for a ``path`` under the data or results
    folder: the setting that moves it, as the end of a sentence saying what to do; "" elsewhere."""
    from .paths import data_dir, results_dir

    for env, root, holds in (("VIREID_DATA_DIR", data_dir(), "the generated datasets and preprocessing caches"),
                             ("VIREID_RESULTS_DIR", results_dir(), "runs, figures and tables")):
        if Path(path).absolute().is_relative_to(root):
            return f", or point {env} (now {root}) at another folder (it holds {holds})"
    return ""


def storage_error(path: str | os.PathLike, exc: OSError | None = None, needed: int | None = None,
                  what: str = "") -> StorageError:
    """A :class:`StorageError` for ``path`` that cannot be written: why (no space, read-only, forbidden), the space
    ``needed`` and free, and which setting moves the folder. ``exc``: the operating system's error, if any."""
    path = Path(path)
    code = getattr(exc, "errno", None) if exc is not None else errno.ENOSPC
    free = free_bytes(path)
    space = (f" (it needs {human_bytes(needed)}, {human_bytes(free)} free there)" if needed is not None
             else f" ({human_bytes(free)} free there)")
    if code in (errno.ENOSPC, errno.EDQUOT):
        why, fix = "no space left on the device" + space, "free some space"
    elif code == errno.EROFS:
        why, fix = "the file system is read-only", "make the folder writable"
    elif code in (errno.EACCES, errno.EPERM):
        why, fix = "permission denied", "make the folder writable for this user"
    else:
        why, fix = (exc.strerror or str(exc)) if exc is not None else "unknown", "check the folder"
    err = StorageError(f"cannot write {what + ' ' if what else ''}{path}: {why}. Nothing was left half-written; "
                       f"{fix}{setting_for(path)}, then run again")
    err.errno = code
    return err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def stable_hash(obj: Any, n: int = 12) -> str:
    """A short sha256 of the canonical JSON of ``obj`` (sorted keys): stable across runs and machines."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:n]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def append_jsonl(path: str | os.PathLike, obj: Any) -> None:
    """Append one JSON line and flush it to disk (used for per-epoch metric logs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, sort_keys=True, default=_json_default) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
