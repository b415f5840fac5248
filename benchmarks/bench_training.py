"""Training-step cost of the baseline, +fusion and the full method (+fusion +DML), measured in one run.

One step = augmentation of a sampler batch, forward, the loss of the configuration, backward, optimiser step,
on the same random images, at the cpu profile's size (and, with --paper, at the paper's: ResNet-50, 288×144,
which takes a while on a CPU). Prints ms per step and the ratios to the baseline; in the cpu
profile also the baseline at width 32, the width the README weighs against the profile's 16.
"""

import sys
import time

import torch

from vireid_lib.engine import build_optimizer
from vireid_lib.grids import TABLE1
from vireid_lib.losses import total_loss
from vireid_lib.models import build_model
from vireid_lib.transforms import make_generator, train_transform


def step_ms(cfg, steps: int, num_classes: int = 200) -> float:
    torch.manual_seed(0)
    model = build_model(cfg.model.__class__(**{**cfg.model.__dict__, "pretrained": False}), num_classes,
                        cfg.data.height, cfg.data.width)
    opt = build_optimizer(model, cfg)
    n = cfg.train.P * cfg.train.K
    vis, ir = torch.rand(n, 3, cfg.data.height, cfg.data.width), torch.rand(n, 3, cfg.data.height, cfg.data.width)
    labels = torch.arange(cfg.train.P).repeat_interleave(cfg.train.K).repeat(2)
    g = make_generator(0)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        v, r = train_transform(vis, ir, g, cfg.aug)
        loss, _ = total_loss(model(v, r), labels, cfg.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 1000 * sorted(times)[len(times) // 2]


def main() -> None:
    paper = "--paper" in sys.argv
    variants = {"baseline (+RCC+CRE)": TABLE1[4], "+fusion (no DML)": TABLE1[5], "full (+fusion +DML)": TABLE1[6]}
    size = "the paper's ResNet-50 at 288×144" if paper else "the cpu profile's ResNet-10 (width 16) at 64×32"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {size}; batch 8 × (4 + 4)")
    paper_size = {"model.depth": 50, "model.width": 64, "model.fusion_channels": 256, "data.height": 288,
                  "data.width": 144}
    ms = {}
    for name, row in variants.items():
        cfg = row.config("cpu", 0)
        if paper:  # the paper's model and image size (no real data needed for a timing)
            cfg = cfg.with_overrides(**paper_size)
        ms[name] = step_ms(cfg, steps=3 if paper else 20)
    if not paper:  # the width the README's cpu-profile section weighs against the profile's 16
        cfg = TABLE1[4].config("cpu", 0).with_overrides(**{"model.width": 32})  # as choose_cpu_profile.py --model
        ms["baseline (+RCC+CRE), w32"] = step_ms(cfg, steps=20)
    base = ms["baseline (+RCC+CRE)"]
    for name, v in ms.items():
        print(f"{name:28s} {v:8.1f} ms/step   ratio to baseline {v / base:.2f}x")


if __name__ == "__main__":
    main()
