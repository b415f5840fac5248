"""Batched augmentation (vireid_lib.transforms) against a per-image PIL pipeline of the same transforms.

Prints images/s for both, measured in this one run on the same images, and their ratio, at the cpu profile's
64×32 and at the paper's 288×144 (and on the GPU too when there is one). Run: `make bench` or
`.venv/bin/python benchmarks/bench_augmentation.py`.
"""

import numpy as np
import torch

from vireid_lib import transforms as T
from vireid_lib.timing import augmentation_cost, seconds_per_call


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rng = np.random.default_rng(0)
    for H, W in ((64, 32), (288, 144)):
        vis = rng.integers(0, 256, (32, H, W, 3), dtype=np.uint8)
        ir = np.repeat(rng.integers(0, 256, (32, H, W, 1), dtype=np.uint8), 3, axis=-1)
        df = augmentation_cost(vis, ir, repeats=7)
        for _, r in df.iterrows():
            print(f"{H}x{W}, batch 64, {r['augmentation']}: batched {1e6 / r['batched µs/image']:.0f} img/s, "
                  f"per-image PIL {1e6 / r['per-image PIL µs/image']:.0f} img/s, "
                  f"ratio {r['speed-up (PIL / batched)']:.2f}x")
        if torch.cuda.is_available():
            g = T.make_generator(0, "cuda")
            v, i = T.to_tensor(vis, "cuda"), T.to_tensor(ir, "cuda")

            def on_gpu(v=v, i=i, g=g):
                T.train_transform(v, i, g)
                torch.cuda.synchronize()

            print(f"{H}x{W}: batched on the GPU {64 / seconds_per_call(on_gpu, 20):.0f} img/s")


if __name__ == "__main__":
    main()
