"""Calibrate RegDB's thermal camera in several calibration worlds: HOG and LOMO, visible→thermal, per world and value.

A RegDB world has one place and one camera pair (like the real RegDB), drawn from the world's seed, so a
hand-crafted score varies a good deal from one world to the next (LOMO rank-1 1.7 to 4.9 at the same parameters in
worlds 1 to 4). A value chosen in one calibration world can therefore miss its band in another; this script scores
each candidate value in ``--worlds`` calibration worlds (seeds ``seed + 1 … seed + K`` of the profile's world:
other people, other places and camera pairs; never the reported world, seed + 0) and chooses by a rule fixed
before looking: the value with the most (world, descriptor) pairs whose R1 and mAP lie in issue 10's bands, ties
broken by the larger worst-case margin to a band edge (as a fraction of the band's width). RegDB is scored at its
real size (412 ids, test ids of each of the 10 splits, mean), Euclidean distance, as ``vireid realism``.

Each (world, value) generates its dataset on first use (under ``data/synthetic/``) and takes about 2–4 minutes
on 2 cores. It chose ``thermal_psf`` 1.7 on 2026-12-01 (with the RegDB visible camera's tone curve; the only value of
1.5, 1.7, 1.75 with all 8 pairs in band); what it measured, and what else was tried, is in data/README.md
(*Calibration* and *One calibration world was not enough*).

    .venv/bin/python benchmarks/calibrate_regdb.py [--param thermal_psf] [--values 1.5,1.7,1.75] [--worlds 4]
"""

import argparse
import dataclasses

import numpy as np

from vireid_lib.config import data_config
from vireid_lib.data import open_dataset
from vireid_lib.handcrafted import BANDS, REGDB_PROTOCOL, regdb_visible_to_thermal

PARAMS = ("thermal_psf", "thermal_native", "thermal_registration")


def measure(profile: str, world: int, param: str, value: float) -> dict[str, tuple[float, float]]:
    """(R1, mAP) of HOG and LOMO, RegDB visible→thermal, mean of the 10 splits, in calibration world ``world``."""
    cfg = data_config(profile)
    spec = dataclasses.replace(cfg.synthetic, seed=cfg.synthetic.seed + world, **{param: value})
    ds = open_dataset(dataclasses.replace(cfg, dataset="regdb", synthetic=spec), verbose=False)
    out = {}
    for descriptor in ("HOG", "LOMO"):
        per = regdb_visible_to_thermal(ds, descriptor)
        out[descriptor] = tuple(float(np.mean([m.summary()[k] for m in per.values()])) for k in ("R1", "mAP"))
    return out


def margin(descriptor: str, r1: float, mAP: float) -> float:
    """The smallest distance of R1 and mAP to an edge of their bands, as a fraction of the band's width
    (negative: outside the band)."""
    band = BANDS[REGDB_PROTOCOL, descriptor]
    return min(min(x - lo, hi - x) / (hi - lo) for x, (lo, hi) in ((r1, band["R1"]), (mAP, band["mAP"])))


def choose(scores: dict[float, dict[int, dict[str, tuple[float, float]]]]) -> float:
    """The rule: most (world, descriptor) pairs in band, then the largest worst-case margin."""
    def key(value):
        margins = [margin(d, *rm) for per in scores[value].values() for d, rm in per.items()]
        return sum(m >= 0 for m in margins), min(margins)
    return max(scores, key=key)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--param", default="thermal_psf", choices=PARAMS)
    ap.add_argument("--values", default="1.5,1.7,1.75", help="comma-separated candidate values")
    ap.add_argument("--worlds", type=int, default=4, help="calibration worlds: seeds +1 … +K of the profile's")
    a = ap.parse_args()
    if a.worlds < 1:
        ap.error("--worlds must be at least 1 (the reported world, +0, is never used for a choice)")
    values = [float(v) for v in a.values.split(",")]
    scores = {v: {w: measure(a.profile, w, a.param, v) for w in range(1, a.worlds + 1)} for v in values}
    print(f"RegDB visible→thermal, R1 / mAP (%), profile {a.profile}, calibration worlds +1…+{a.worlds}; "
          f"bands: HOG R1 9–19, mAP 7–14; LOMO R1 ≤ 3, mAP ≤ 4")
    for v, per in scores.items():
        for w, s in per.items():
            cells = "   ".join(f"{d} {r1:5.2f} / {m:5.2f} ({'in' if margin(d, r1, m) >= 0 else 'OUT'})"
                               for d, (r1, m) in s.items())
            print(f"{a.param} = {v:<5g} world +{w}:   {cells}")
        inb = sum(margin(d, *rm) >= 0 for s in per.values() for d, rm in s.items())
        worst = min(margin(d, *rm) for s in per.values() for d, rm in s.items())
        print(f"{a.param} = {v:<5g} in band: {inb} of {2 * len(per)}, worst margin {worst:+.2f} of a band's width")
    print(f"chosen by the rule: {a.param} = {choose(scores):g}")


if __name__ == "__main__":
    main()
