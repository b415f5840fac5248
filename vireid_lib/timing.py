"""Small, honest timers for notebooks and benchmarks: medians of repeated runs, measured in one process."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from . import transforms as T


def seconds_per_call(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` runs."""
    return alternating_seconds([fn], repeats, warmup)[0]


def alternating_seconds(fns: Sequence[Callable[[], object]], repeats: int = 5, warmup: int = 1) -> list[float]:
    """Median wall-clock seconds of each of ``fns``, run in turn ``repeats`` times after ``warmup`` rounds, so that
    each meets the same load: timed one block after the other on a shared 2-core machine (a second notebook, say),
    two functions can meet different loads, and their ratio then moves from run to run. Every other round runs them
    in reverse order (a, b, b, a, a, b, …), so that none always runs first."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for r in range(repeats):
        order = list(zip(times, fns, strict=True))
        for spent, fn in order[::-1] if r % 2 else order:
            t0 = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - t0)
    return [statistics.median(spent) for spent in times]


def augmentation_cost(visible: np.ndarray, infrared: np.ndarray, repeats: int = 5) -> pd.DataFrame:
    """Cost per image of the training augmentation: batched tensor ops (:func:`transforms.train_transform`)
    against the per-image PIL pipeline (:func:`transforms.pil_train_transform`), from uint8 arrays to
    normalised tensors, on the same images in the same process, the two timed in turn (:func:`alternating_seconds`)."""
    from PIL import Image

    n = len(visible) + len(infrared)
    rows = []
    for label, aug in (("RCC only", T.AugmentConfig(rcc=True, cre=False, pad=0, flip=False)),
                       ("full pipeline (RCC, pad+crop, flip, normalise, CRE)", T.AugmentConfig())):
        g = T.make_generator(0)
        rng = random.Random(0)

        def batched(g=g, aug=aug):
            T.train_transform(T.to_tensor(visible), T.to_tensor(infrared), g, aug)

        def per_image(rng=rng, aug=aug):
            out = [T.pil_train_transform(Image.fromarray(a), rng, "visible", aug) for a in visible]
            out += [T.pil_train_transform(Image.fromarray(a), rng, "infrared", aug) for a in infrared]
            torch.stack(out)

        b, p = (seconds / n for seconds in alternating_seconds([batched, per_image], repeats))
        rows.append({"augmentation": label, "batched µs/image": 1e6 * b, "per-image PIL µs/image": 1e6 * p,
                     "speed-up (PIL / batched)": p / b})
    return pd.DataFrame(rows)
