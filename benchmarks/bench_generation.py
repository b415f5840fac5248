"""How long the synthetic data takes to generate, and where the time goes (issue 10: "within about 15 s for the
cpu profile's datasets").

1. The cpu profile's two datasets (SYSU-MM01 layout, RegDB layout) generated as ``make reproduce`` generates them
   (all cores, one identity per process at a time), into a temporary folder beside ``data/synthetic/`` (same
   disk); wall time, time per image, and the ratio to issue 10's goal.
2. One process against all cores on the same subset of identities, measured in this run: the parallel speed-up,
   and a check that the files are the same bytes whatever the number of processes.
3. One process, the same subset: the time per image of each stage of the imaging chain (the functions that
   ``chain.render`` and the writers call, grouped by the module they come from; the files apart: their JPEG
   compression and their writing, RegDB's BMP files included), and the rest (the chain's own array steps, seeding,
   file names, folders).
4. One process, the same subset at 64×32 and at 128×64 (alternated, twice): an image's time split into a part that
   grows with the pixels and a fixed part (a line through the two sizes). Rendering many images per array
   operation would remove at most the fixed part (the per-call overhead); the pixels' part, times the cpu profile's
   image count over part 2's speed-up, is what generation would still take with today's arithmetic.
5. Would batching keep the bytes? Element-wise arithmetic (+, −, ×, ÷, comparisons) is exact IEEE arithmetic, the same
   whatever the arrays' layout; numpy's transcendental functions (sine, cosine, exponential, powers, square root,
   hypot) run vectorised kernels whose results could depend on where an element falls in a vector. For each of these
   numpy element-wise functions that the chain calls, in float32 and float64, on inputs normal × 3 (|x| up to about
   15), this machine's results on slices (seven, at six offsets), every third element, a transposed view and
   one-element arrays are compared bit for bit with the whole array's ("arrays"), and so are its results on numpy
   scalars ("scalars": numpy's scalar arithmetic is a separate implementation). The chain's other steps (OpenCV's
   blur and resize, np.percentile, matrix products) are not checked here.

    .venv/bin/python benchmarks/bench_generation.py [--workers N] [--subset-ids N] [--skip-full]

About a minute on the faster machine of ``benchmarks/measured/generation.txt`` (run 9, timed), 3–4 on the slower
one. Nothing is kept.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime
import functools
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from vireid_lib.config import SYNTHETIC_PROFILES
from vireid_lib.data.synthetic import chain, writers
from vireid_lib.engine import cpu_name
from vireid_lib.fingerprint import tree_hash
from vireid_lib.paths import synthetic_dir

GOAL_SECONDS = 15.0  # issue 10: "within about 15 s for the cpu profile's datasets"
DATASETS = {"sysu": writers.write_sysu, "regdb": writers.write_regdb}


def generate(spec, dataset: str, workers: int, scratch: Path, want_hash: bool = False) -> tuple[int, float, str]:
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".bench-generation-") as tmp:
        t0 = time.perf_counter()
        n = DATASETS[dataset](spec, Path(tmp) / dataset, workers=workers)
        seconds = time.perf_counter() - t0
        return n, seconds, tree_hash(Path(tmp) / dataset) if want_hash else ""


STAGE_MODULES = ("body", "garments", "scene", "camera", "sensor")


def instrumented(acc: collections.Counter) -> list[tuple[object, str, object]]:
    """Wrap the stage functions as ``chain`` and the writers see them; returns what to restore."""
    patched = []
    for mod in (chain, writers):
        for name, f in list(vars(mod).items()):
            origin = getattr(f, "__module__", "") or ""
            stage = origin.rsplit(".", 1)[-1]
            if not callable(f) or isinstance(f, type) or stage not in STAGE_MODULES:
                continue
            stage = "file" if name.startswith("jpeg") else stage  # compression and writing (sensor.py)

            @functools.wraps(f)
            def timed(*a, _f=f, _stage=stage, **k):
                t = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    acc[_stage] += time.perf_counter() - t

            patched.append((mod, name, f))
            setattr(mod, name, timed)
    return patched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    ap.add_argument("--subset-ids", type=int, default=70,
                    help="SYSU-MM01 identities of the subset for parts 2 and 3 (RegDB: the even number ≥ this)")
    ap.add_argument("--skip-full", action="store_true", help="skip part 1 (the cpu profile's full datasets)")
    args = ap.parse_args()
    cpu = SYNTHETIC_PROFILES["cpu"]
    n_sub = max(8, args.subset_ids)
    sub = dataclasses.replace(cpu, n_train_ids=n_sub * 4 // 7, n_val_ids=n_sub // 7,
                              n_test_ids=n_sub - n_sub * 4 // 7 - n_sub // 7, regdb_ids=n_sub + n_sub % 2)
    scratch = synthetic_dir()
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"# synthetic data generation, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{cpu_name()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}")

    if not args.skip_full:
        print(f"\n## 1. the cpu profile's datasets, {args.workers} processes (as `make reproduce` generates them)")
        total = 0.0
        for ds in DATASETS:
            n, s, _ = generate(cpu, ds, args.workers, scratch)
            total += s
            print(f"{ds:6s} {n:6d} images  {s:6.1f} s  {1000 * s / n:5.2f} ms per image")
        print(f"total  {total:.1f} s = {total / GOAL_SECONDS:.1f}x issue 10's goal of about {GOAL_SECONDS:.0f} s")

    print(f"\n## 2. one process against {args.workers}, subset ({sub.n_train_ids + sub.n_val_ids + sub.n_test_ids} "
          f"SYSU-MM01 ids, {sub.regdb_ids} RegDB ids)")
    speedup = {}
    for ds in DATASETS:
        n, s1, h1 = generate(sub, ds, 1, scratch, want_hash=True)
        n, sn, hn = generate(sub, ds, args.workers, scratch, want_hash=True)
        speedup[ds] = s1 / sn
        same = "same bytes" if h1 == hn else "DIFFERENT BYTES"
        print(f"{ds:6s} {n:5d} images  1 process {1000 * s1 / n:5.2f} ms per image, {args.workers} processes "
              f"{1000 * sn / n:5.2f}: speed-up {s1 / sn:.2f}x; {same} ({h1}, {hn})")
        if h1 != hn:
            raise SystemExit(f"{ds}: the files depend on the number of processes: the generator is not deterministic")

    print("\n## 3. one process, the subset: time per image by stage (module of the functions chain.render and "
          "the writers call)")
    for ds in DATASETS:
        acc: collections.Counter = collections.Counter()
        patched = instrumented(acc)
        try:
            n, s, _ = generate(sub, ds, 1, scratch)
        finally:
            for mod, name, f in patched:
                setattr(mod, name, f)
        rest = s - sum(acc.values())
        parts = [(k, acc[k]) for k in (*STAGE_MODULES, "file") if acc[k]] + [("rest", rest)]
        print(f"{ds:6s} {1000 * s / n:5.2f} ms per image: " + ", ".join(
            f"{k} {1000 * v / n:.2f} ({100 * v / s:.0f} %)" for k, v in parts))

    print("\n## 4. one process, the subset at two image sizes: the part of an image's time that grows with its pixels")
    sizes = ((64, 32), (128, 64))
    floor = 0.0
    for ds in DATASETS:
        ms = {hw: [] for hw in sizes}
        for _ in range(2):
            for h, w in sizes:
                n, s, _ = generate(dataclasses.replace(sub, height=h, width=w), ds, 1, scratch)
                ms[(h, w)].append(1000 * s / n)
        (small, big) = (sum(ms[hw]) / len(ms[hw]) for hw in sizes)
        px_small, px_big = (h * w for h, w in sizes)
        per_px = (big - small) / (px_big - px_small)
        pixels, fixed = per_px * px_big, big - per_px * px_big
        n_cpu = 20 * cpu.regdb_ids if ds == "regdb" else writers_images_sysu(cpu)
        seconds = n_cpu * pixels / 1000 / speedup[ds]
        floor += seconds
        print(f"{ds:6s} 64×32 {small:5.2f} ms, 128×64 {big:5.2f} ms per image (means of 2): at 128×64 the pixels' part "
              f"{pixels:.2f} ms, the fixed part {fixed:.2f} ms; the pixels' part alone for the cpu profile's {n_cpu} "
              f"images at part 2's speed-up {speedup[ds]:.2f}x: {seconds:.1f} s")
    print(f"both   {floor:.1f} s for the pixels' part alone (no fixed cost per image at all) = "
          f"{floor / GOAL_SECONDS:.1f}x the goal of about {GOAL_SECONDS:.0f} s")

    print("\n## 5. numpy's transcendental functions on this machine: the same bits whatever the layout (arrays), and "
          "on numpy scalars?")
    for dtype in (np.float32, np.float64):
        found = {name: layout_invariant(fn, dtype) for name, fn in TRANSCENDENTALS.items()}
        print(f"{np.dtype(dtype).name:8s} " + ", ".join(
            f"{k} {'same' if arrays else 'DIFFERENT'}/{'same' if scalars else 'DIFFERENT'}"
            for k, (arrays, scalars) in found.items()) + "  (arrays/scalars)")


#: the element-wise functions of numpy that the imaging chain calls (``x ** 4`` and ``x ** 12`` are np.power)
TRANSCENDENTALS = {
    "sin": np.sin, "cos": np.cos, "exp": np.exp, "sqrt": lambda x: np.sqrt(np.abs(x)),
    "power 1/2.4": lambda x: np.power(np.abs(x), 1 / 2.4, dtype=x.dtype), "power 4": lambda x: x**4,
    "power 12": lambda x: x**12, "hypot": lambda x: np.hypot(x, 0.5),
}


def layout_invariant(fn, dtype, n: int = 100_003) -> tuple[bool, bool]:
    """Whether ``fn`` gives the very bits for every element of an array (length ``n``, normal × 3) in each of these
    layouts: slices at several offsets and lengths (vector tails), every third element (strided), a transposed view
    and one-element arrays, each against the result for the whole contiguous array; and whether it gives them for
    numpy scalars (every 997th element). Returns (arrays, scalars)."""
    a = (np.random.default_rng(0).standard_normal(n) * 3).astype(dtype)
    full = fn(a)

    def same(x, y) -> bool:
        x, y = np.asarray(x), np.asarray(y)
        return x.dtype == y.dtype and x.shape == y.shape and np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(
            y).tobytes()

    m = n - n % 3
    checks = [same(fn(a[i:j]), full[i:j]) for i, j in ((0, 1), (1, 8), (3, 17), (5, 1000), (0, 64), (13, 8205), (7, m))]
    checks.append(same(fn(a[::3]), full[::3]))
    checks.append(same(fn(a[:m].reshape(3, -1).T), full[:m].reshape(3, -1).T))
    checks += [same(fn(a[k : k + 1]), full[k : k + 1]) for k in range(0, n, 997)]
    return all(checks), all(same(fn(a[k]), full[k]) for k in range(0, n, 997))


def writers_images_sysu(spec) -> int:
    """The SYSU-MM01 layout's image count for this spec, from its plan (nothing rendered)."""
    return sum(sum(cams.values()) for cams in writers.sysu_plan(spec)["counts"].values())


if __name__ == "__main__":
    main()
