"""The synthetic datasets on disk: cached by their parameters, generated atomically under a lock.

A dataset's folder is named by a hash of the parameters it depends on (and the generator's version), so a
changed parameter generates a new dataset and nothing else does; generation writes a hidden temporary folder
and renames it into place only when complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

from ...config import REGDB_FIELDS, SYSU_FIELDS, SyntheticSpec, asdict
from ...errors import DataError
from ...io import atomic_write_json, stable_hash, storage_error
from ...paths import shown, synthetic_dir
from .writers import write_regdb, write_sysu

#: bumped whenever the generator's output changes: v6 is issue 10's calibrated physics (one module per stage)
GENERATOR_VERSION = 6


def spec_key(spec: SyntheticSpec, dataset: str) -> dict:
    fields = SYSU_FIELDS if dataset == "sysu" else REGDB_FIELDS
    d = asdict(spec)
    return {"generator_version": GENERATOR_VERSION, "dataset": dataset, **{k: d[k] for k in fields}}


def synthetic_root(spec: SyntheticSpec, dataset: str = "sysu") -> Path:
    """Where the synthetic dataset of this spec lives (whether or not it has been generated yet)."""
    return synthetic_dir() / f"{dataset}-{stable_hash(spec_key(spec, dataset))}"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


MARKER = "synthetic.json"


def ensure_synthetic(spec: SyntheticSpec, dataset: str = "sysu", workers: int | None = None,
                     verbose: bool = True) -> Path:
    """Generate the synthetic dataset if it is not there yet; return its root.

    Generation writes into a temporary folder and renames it into place only when complete (the marker file
    ``synthetic.json`` is written last), under a file lock, so concurrent callers (pytest workers, parallel
    runs) and interrupted runs never see a half-written dataset. A full disk or a read-only data folder is one
    :class:`~vireid_lib.errors.StorageError` naming the dataset's folder; the temporary folder is removed.
    """
    try:
        return _ensure_synthetic(spec, dataset, workers, verbose)
    except OSError as e:
        root = synthetic_root(spec, dataset)
        shutil.rmtree(root.parent / f".tmp-{root.name}-{os.getpid()}", ignore_errors=True)
        raise storage_error(root, e, what=f"the synthetic {dataset} dataset") from None


def _ensure_synthetic(spec: SyntheticSpec, dataset: str, workers: int | None, verbose: bool) -> Path:
    if dataset not in ("sysu", "regdb"):
        raise DataError(f"synthetic dataset must be 'sysu' or 'regdb', got {dataset!r}")
    spec.validate()
    root = synthetic_root(spec, dataset)
    if (root / MARKER).exists():
        return root
    with _locked(root.parent / f".{root.name}.lock"):
        if (root / MARKER).exists():
            return root
        for stale in root.parent.glob(f".tmp-{root.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root.parent / f".tmp-{root.name}-{os.getpid()}"
        t0 = time.perf_counter()
        writer = write_sysu if dataset == "sysu" else write_regdb
        n = writer(spec, tmp, workers)
        atomic_write_json(tmp / MARKER, {**spec_key(spec, dataset), "images": n})
        if root.exists():  # an incomplete leftover without its marker
            shutil.rmtree(root)
        os.replace(tmp, root)
        if verbose:
            dt = time.perf_counter() - t0
            print(f"generated synthetic {dataset} dataset: {n} images in {dt:.1f} s -> {shown(root)}")
    return root


def describe_layout(root: Path) -> str:
    """A short tree of a dataset folder, for notebooks."""
    lines = []
    for p in sorted(root.iterdir()):
        if p.is_dir():
            kids = sorted(p.iterdir())
            lines.append(f"{p.name}/  ({len(kids)} entries: {', '.join(k.name for k in kids[:3])}, ...)")
        else:
            lines.append(p.name)
    return "\n".join(lines)


