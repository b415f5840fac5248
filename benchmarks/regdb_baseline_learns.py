"""Does a deep model learn on synthetic RegDB? Table 1's baseline, cpu profile, visible→thermal, 10 splits.

Issue 10's check: after calibration the cpu-profile baseline (Table 1 "Baseline": no RCC/CRE, no fusion, no
DML) on synthetic RegDB, at RegDB's real size (412 ids: 206 train + 206 test per split), must reach at least
10× chance in visible→thermal rank-1 (mean of the 10 splits, seed 0; chance = 100/206 %). Each split trains its
own model (the RegDB protocol). Runs are trained in a scratch results folder (``$VIREID_RESULTS_DIR`` is set to
a temporary directory unless given), so nothing lands in ``results/runs``. With ``--sysu`` it also trains the
same baseline on synthetic SYSU-MM01 with the val holdout (train ids only, scored on the val ids), for
comparison. One run takes a few minutes on 2 cores: the whole check about 30-45 minutes.

    .venv/bin/python benchmarks/regdb_baseline_learns.py [--splits 1,2,...] [--seed 0] [--sysu]
"""

import argparse
import os
import tempfile

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", default="1,2,3,4,5,6,7,8,9,10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--world", type=int, default=0,
                    help="the synthetic world's seed (data.synthetic.seed): 0 is the reported world, 1 the "
                         "calibration world")
    ap.add_argument("--sysu", action="store_true", help="also the baseline's SYSU-MM01 all-search val-id rank-1")
    args = ap.parse_args()
    os.environ.setdefault("VIREID_RESULTS_DIR", tempfile.mkdtemp(prefix="vireid-deep-check-"))
    from vireid_lib.experiments import run
    from vireid_lib.grids import TABLE1

    print(f"runs in {os.environ['VIREID_RESULTS_DIR']} (scratch)", flush=True)
    baseline = next(r for r in TABLE1 if r.name == "Baseline")
    r1, chance = [], []
    for t in (int(s) for s in args.splits.split(",")):
        cfg = baseline.config("cpu", args.seed).with_overrides(
            **{"data.dataset": "regdb", "data.regdb_trial": t, "train.eval_every": 0,
               "data.synthetic.seed": args.world})
        res = run(cfg, progress_bar=False, log=False)
        v2t = res["results"]["RegDB visible-to-thermal"]
        r1.append(v2t["mean"]["R1"])
        chance.append(v2t["chance_R1"])
        print(f"split {t:2d}: visible→thermal R1 {r1[-1]:5.2f}  mAP {v2t['mean']['mAP']:5.2f}  "
              f"(chance {chance[-1]:.2f}; {res['train_seconds'] / 60:.1f} min)", flush=True)
    mean, ch = float(np.mean(r1)), float(np.mean(chance))
    print(f"synthetic RegDB (cpu profile, world {args.world}, {cfg.data.synthetic.regdb_ids} ids), Table 1 baseline, "
          f"seed {args.seed}, "
          f"{len(r1)} split(s): mean visible→thermal R1 {mean:.2f} % = {mean / ch:.1f}× chance ({ch:.2f} %); "
          f"target ≥ 10×: {'PASS' if mean >= 10 * ch else 'FAIL'}")
    if args.sysu:
        cfg = baseline.config("cpu", args.seed).with_overrides(
            **{"data.holdout": "val", "train.eval_every": 0, "data.synthetic.seed": args.world})
        res = run(cfg, progress_bar=False, log=False)
        h = res["headline"]
        ch = next(iter(res["results"].values()))["chance_R1"]
        print(f"synthetic SYSU-MM01 (cpu profile, world {args.world}), same baseline, seed {args.seed}, all-search on "
              f"the val ids: "
              f"R1 {h['R1']:.2f} %  mAP {h['mAP']:.2f} % ({h['R1'] / ch:.1f}× chance, {ch:.2f} %)")


if __name__ == "__main__":
    main()
