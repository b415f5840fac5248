"""The cpu profile's training length and image size, checked on held-out *validation* identities.

The choice of a setting must not look at the test set. This script trains Table 1's baseline and full method
in the cpu profile with ``data.holdout = "val"`` (training on the train ids only, scoring SYSU-MM01 all-search
on the val ids) for a few variants of the settings the README discusses, and prints their validation rank-1
and mAP (mean over seeds) with their training time. The runs land in the run registry
(``results/runs/cpu/``), so a second call only prints; ``--seeds 0,1,2`` adds seeds.

    .venv/bin/python benchmarks/choose_cpu_profile.py [--seeds 0,1]
    .venv/bin/python benchmarks/choose_cpu_profile.py --data --seeds 0   # the dataset's difficulty knobs
"""

import argparse

import numpy as np

from vireid_lib.experiments import run
from vireid_lib.grids import TABLE1

# the dataset's difficulty knobs the grid issue allows to set from the baseline alone (ids, images, noise); each
# generates its own synthetic dataset (≈15 s). Scored on the val ids, whose number sets chance (1/ids).
NO_NUISANCES = {"data.synthetic.occlusion_prob": 0.0, "data.synthetic.blur_max": 0.0,
                "data.synthetic.noise_visible": 0.0, "data.synthetic.noise_infrared": 0.0,
                "data.synthetic.jpeg_quality": [95, 95]}
DATA_VARIANTS = {
    "the profile's data (150 train / 50 val ids)": {},
    "no nuisances (occlusion, blur, noise, JPEG)": NO_NUISANCES,
    "16 images per identity and camera": {"data.synthetic.images_per_camera": 16},
    "300 train / 50 val ids": {"data.synthetic.n_train_ids": 300},
    "300 train / 96 val ids (a test-sized gallery)": {"data.synthetic.n_train_ids": 300,
                                                      "data.synthetic.n_val_ids": 96},
    "no nuisances, 96 val ids": {**NO_NUISANCES, "data.synthetic.n_val_ids": 96},
    "16 images per id and camera, 96 val ids": {"data.synthetic.images_per_camera": 16, "data.synthetic.n_val_ids": 96},
    "the profile's data, 96 val ids": {"data.synthetic.n_val_ids": 96},
}

VARIANTS = {
    "cpu profile (16 epochs, 64×32)": {},
    "8 epochs (×0.1 at 7)": {"train.epochs": 8, "train.milestones": [7]},
    "24 epochs (×0.1 at 20)": {"train.epochs": 24, "train.milestones": [20]},
    "images of 48×24": {"data.height": 48, "data.width": 24},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--data", action="store_true", help="the dataset's difficulty knobs instead (baseline only)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.data:
        return data_knobs(seeds)
    print(f"cpu profile, trained on the train ids, scored on the val ids (SYSU-MM01 all-search single-shot, "
          f"10 trials); seeds {seeds}")
    for row in (TABLE1[0], TABLE1[-1]):  # the baseline and the full method
        print(f"Table 1 {row.name!r}")
        for name, overrides in VARIANTS.items():
            res = []
            for seed in seeds:
                cfg = row.config("cpu", seed).with_overrides(**{"data.holdout": "val", "train.eval_every": 0,
                                                                 **overrides})
                res.append(run(cfg, progress_bar=False, log=False))
            r1 = [r["headline"]["R1"] for r in res]
            mAP = [r["headline"]["mAP"] for r in res]
            minutes = np.mean([r["train_seconds"] for r in res]) / 60
            spread = f" ± {np.std(r1, ddof=1):4.1f}" if len(r1) > 1 else ""
            print(f"  {name:32s} val R1 {np.mean(r1):5.1f}{spread}   mAP {np.mean(mAP):5.1f}   "
                  f"train {minutes:4.1f} min/run", flush=True)


def data_knobs(seeds: list[int]) -> None:
    print(f"Table 1 {TABLE1[0].name!r}, cpu profile, trained on the train ids, scored on the val ids; seeds {seeds}")
    for name, overrides in DATA_VARIANTS.items():
        res = [run(TABLE1[0].config("cpu", seed).with_overrides(**{"data.holdout": "val", "train.eval_every": 0,
                                                                    **overrides}), progress_bar=False, log=False)
               for seed in seeds]
        r1 = [r["headline"]["R1"] for r in res]
        chance = [next(iter(r["results"].values()))["chance_R1"] for r in res]
        print(f"  {name:46s} val R1 {np.mean(r1):5.1f}   chance {np.mean(chance):4.1f}   "
              f"train {np.mean([r['train_seconds'] for r in res]) / 60:4.1f} min/run", flush=True)


if __name__ == "__main__":
    main()
