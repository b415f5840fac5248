"""Small, honest timers for notebooks and benchmarks: medians of repeated runs, measured in one process."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from . import transforms as T


def seconds_per_call(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs, after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def augmentation_cost(visible: np.ndarray, infrared: np.ndarray, repeats: int = 5) -> pd.DataFrame:
    """Cost per image of the training augmentation: batched tensor ops (:func:`transforms.train_transform`)
    against the per-image PIL pipeline (:func:`transforms.pil_train_transform`), from uint8 arrays to
    normalised tensors, on the same images in the same process."""
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

        b = seconds_per_call(batched, repeats) / n
        p = seconds_per_call(per_image, repeats) / n
        rows.append({"augmentation": label, "batched µs/image": 1e6 * b, "per-image PIL µs/image": 1e6 * p,
                     "speed-up (PIL / batched)": p / b})
    return pd.DataFrame(rows)
