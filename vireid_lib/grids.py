"""The experiment grids of the paper: Tables 1–4 (ablations), Fig. 4 (θ sweeps), Table 5 (RegDB), each row named
as in the paper and written as overrides of the full method's configuration.

A grid expands to runs (row × seed); rows with the same settings (the full model appears in every table) are
one run, because a run is named by the hash of its configuration (:mod:`vireid_lib.experiments`).

Interpretations (where the paper does not say; also in notebook 05):

- Rows without DML have no label smoothing: the paper's "+RCC+CRE+Fusion" (Table 1), "L_id" (Table 3) and
  "None" (Table 4) report the same numbers, 69.68 / 65.66 / 50.86, so they are one configuration, and the
  full model (72.57) is Table 3's "L_id + L_KD + LSR". Table 4's DML rows keep the full model's loss and change
  only who teaches whom.
- "+Fusion" brings the fusion *and* the joint branch (Eq. 3): the joint embedding is what is evaluated
  whenever there is a fusion branch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config, paper
from .config import ExperimentConfig, experiment_config
from .errors import VireidError

NO_DML = {"loss.dml": "none", "loss.label_smoothing": 0.0}
NO_FUSION = {"model.fusion_layers": ()}
NO_AUG = {"aug.rcc": False, "aug.cre": False}


@dataclass(frozen=True)
class Row:
    table: str
    name: str  # as in the paper (Table rows) or "θ1 = 0.6" (Fig. 4)
    overrides: dict[str, Any] = field(default_factory=dict)
    x: float | None = None  # the swept value, for Fig. 4
    seeds: int | None = None  # seeds of this row in the cpu profile, when not the profile's default (SEEDS_CPU)
    smoke: bool = True  # run in the smoke profile (False: left out there, to keep the tests' notebook runs short)

    @property
    def run_name(self) -> str:
        """The name of this row's runs (``"Table 1: +RCC"``): the key of :func:`seed_plan`."""
        return f"{self.table}: {self.name}"

    def seed_list(self, profile: str, seeds: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """The seeds this row is run with: ``seeds`` when given (a notebook's or the command line's choice), else
        the profile's default, or this row's own number of seeds in the cpu profile (issue 12: enough to decide),
        raised to the profile's second stage of seeds where it plans more (:func:`seed_plan`). None in the smoke
        profile for a row marked ``smoke=False``."""
        if profile == "smoke" and not self.smoke:
            return ()
        if seeds is not None:
            return tuple(seeds)
        first = self.first_stage_seeds(profile)
        planned = seed_plan(profile).get(self.run_name, 0)
        return tuple(range(planned)) if planned > len(first) else first

    def first_stage_seeds(self, profile: str) -> tuple[int, ...]:
        """The seeds before any second stage: the profile's default, or this row's own number in the cpu profile."""
        if profile == "smoke" and not self.smoke:
            return ()
        return tuple(range(self.seeds)) if profile == "cpu" and self.seeds is not None else DEFAULT_SEEDS[profile]

    def config(self, profile: str, seed: int, data_root: str | None = None, **extra: Any) -> ExperimentConfig:
        if "data.dataset" in self.overrides:  # another dataset than the grids' data_root (Table 5: RegDB) is
            data_root = None  # found at its own default place ($VIREID_REGDB_ROOT, data/RegDB) or synthetic
        return experiment_config(profile, name=f"{self.table}: {self.name}", seed=seed, data_root=data_root,
                                 **{**self.overrides, **extra})


#: Seeds per row in the cpu profile (issue 12, "enough seeds to decide"): 3 by default; 5 for every Table 1 row
#: and for the paper's θ values and their neighbours.
SEEDS_CPU = 3
SEEDS_DECISIVE = 5

#: The second stage of seeds (issue 12: "more where the power estimate says a claim can be resolved within 10
#: seeds"): per profile, run name → seeds, written once by ``vireid plan-seeds --write`` from the complete first
#: stage (:func:`vireid_lib.verdicts.plan_seeds`) and committed, so that every machine trains and reads the same runs.
SEED_PLAN = Path(__file__).parent / "resources" / "seed_plan.json"


def seed_plan(profile: str) -> dict[str, int]:
    """The second stage's seeds of ``profile`` (run name → number of seeds, seeds 0 … n − 1), empty before a plan
    has been written (:data:`SEED_PLAN`)."""
    try:
        data = json.loads(SEED_PLAN.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise VireidError(f"{SEED_PLAN} is not valid JSON ({e}); restore it with git checkout, or write it "
                          "again with `vireid plan-seeds --profile cpu --write`") from None
    plan = {k: int(v) for k, v in data.get(profile, {}).get("seeds", {}).items()}
    known = {r.run_name for grid_rows, _ in GRIDS.values() for r in grid_rows}
    unknown = sorted(set(plan) - known)
    if unknown:  # a renamed row would silently lose its planned seeds, and its verdicts with them
        raise VireidError(f"{SEED_PLAN.name}: the {profile} plan names rows no grid has ({', '.join(unknown[:4])}); "
                          "a row was renamed after the plan was written: rename it in the plan too")
    return plan

TABLE1 = (
    Row("Table 1", "Baseline", {**NO_AUG, **NO_FUSION, **NO_DML}, seeds=SEEDS_DECISIVE),
    Row("Table 1", "+Fusion", {**NO_AUG, **NO_DML}, seeds=SEEDS_DECISIVE),
    Row("Table 1", "+RCC", {"aug.cre": False, **NO_FUSION, **NO_DML}, seeds=SEEDS_DECISIVE),
    Row("Table 1", "+CRE", {"aug.rcc": False, **NO_FUSION, **NO_DML}, seeds=SEEDS_DECISIVE),
    Row("Table 1", "+RCC+CRE", {**NO_FUSION, **NO_DML}, seeds=SEEDS_DECISIVE),
    Row("Table 1", "+RCC+CRE+Fusion", dict(NO_DML), seeds=SEEDS_DECISIVE),
    Row("Table 1", "+RCC+CRE+Fusion+DML", {}, seeds=SEEDS_DECISIVE),
)
_LAYER_SETS = ((1, 2), (1, 3), (2, 3), (1, 2, 3), (1, 2, 4), (1, 3, 4), (2, 3, 4), (1, 2, 3, 4))
TABLE2 = tuple(Row("Table 2", "+".join(f"layer{i}" for i in ls), {"model.fusion_layers": ls}) for ls in _LAYER_SETS)
TABLE3 = (
    Row("Table 3", "none", {"loss.id_branches": False, **NO_DML}),
    Row("Table 3", "L_id", dict(NO_DML)),
    Row("Table 3", "L_KD", {"loss.id_branches": False, "loss.label_smoothing": 0.0}),
    Row("Table 3", "L_id+L_KD", {"loss.label_smoothing": 0.0}),
    Row("Table 3", "L_id+L_KD+LSR", {}),
)
TABLE4 = (
    Row("Table 4", "None", dict(NO_DML)),
    Row("Table 4", "Global-to-Fusion", {"loss.dml": "global-to-fusion"}),
    Row("Table 4", "Joint-to-Global", {"loss.dml": "joint-to-global"}),
    Row("Table 4", "Joint-to-Fusion", {"loss.dml": "joint-to-fusion"}),
    Row("Table 4", "Joint-to-Global&Fusion", {}),
)
THETAS = tuple(round(0.2 * i, 1) for i in range(11))  # [0, 2] in steps of 0.2, as Fig. 4's axes
# the other θ of each sweep is held where the paper held it (paper_numbers.json: θ2 = 1.0, then θ1 = 0.6)
THETA2_FIXED = float(paper.figure4()["theta1_sweep"]["theta2_fixed"])
THETA1_FIXED = float(paper.figure4()["theta2_sweep"]["theta1_fixed"])
CHOSEN_THETA1 = float(paper.figure4()["theta1_sweep"]["chosen"])
CHOSEN_THETA2 = float(paper.figure4()["theta2_sweep"]["chosen"])


def _theta_seeds(t: float, chosen: float) -> int | None:
    """The paper's θ and its two neighbours on the sweep get :data:`SEEDS_DECISIVE` seeds."""
    return SEEDS_DECISIVE if abs(t - chosen) < 0.2 + 1e-9 else None


FIG4_THETA1 = tuple(Row("Fig. 4a", f"θ1 = {t}", {"loss.theta1": t, "loss.theta2": THETA2_FIXED}, x=t,
                        seeds=_theta_seeds(t, CHOSEN_THETA1)) for t in THETAS)
FIG4_THETA2 = tuple(Row("Fig. 4b", f"θ2 = {t}", {"loss.theta1": THETA1_FIXED, "loss.theta2": t}, x=t,
                        seeds=_theta_seeds(t, CHOSEN_THETA2)) for t in THETAS)
# RegDB's protocol: each of the 10 train/test splits trains its own model; the table reports their mean
TABLE5 = tuple(Row("Table 5", f"Ours (split {t})", {"data.dataset": "regdb", "data.regdb_trial": t}, x=t,
                   smoke=t <= 2) for t in range(1, 11))
# Table 1's Baseline (the AGW-like model the paper starts from) on RegDB, one seed per split: how hard synthetic
# RegDB is for a deep model against synthetic SYSU-MM01 (real data, AGW: 70.05 on RegDB, 47.50 on SYSU-MM01)
REGDB_BASELINE = tuple(Row("Table 5", f"Baseline (split {t})", {**NO_AUG, **NO_FUSION, **NO_DML,
                                                                "data.dataset": "regdb", "data.regdb_trial": t},
                           x=t, seeds=1, smoke=t <= 2) for t in range(1, 11))
# The paper's ambiguous readings (config.READINGS): the method row under each alternative reading that needs its
# own training (the test feature is evaluated on every run; "no LSR" is Table 3's L_id+L_KD row)
READING_ROWS = tuple(Row("Readings", name, dict(config.READINGS[name]), smoke=name == "dml-mutual")
                     for name in ("wrt-agw", "dml-mutual", "fusion-adaptive", "fusion-free", "agw"))

#: trained seeds of the method whose maps Fig. 5's claim is measured on, per profile (cpu: their weights are committed,
#: see experiments.showcased_runs)
FIG5_SEEDS = {"cpu": (0, 1, 2), "smoke": (0,), "paper": (0,)}

#: each grid's rows and the row its differences are measured against
GRIDS: dict[str, tuple[tuple[Row, ...], str | None]] = {
    "table1": (TABLE1, "Baseline"),
    "table2": (TABLE2, "layer1+layer2+layer3"),
    "table3": (TABLE3, "L_id"),
    "table4": (TABLE4, "None"),
    "theta1": (FIG4_THETA1, None),
    "theta2": (FIG4_THETA2, None),
    "table5": (TABLE5, None),
    "regdb_baseline": (REGDB_BASELINE, None),
    "readings": (READING_ROWS, None),
}
DEFAULT_SEEDS = {"smoke": (0,), "cpu": tuple(range(SEEDS_CPU)), "paper": (0,)}


def rows(grid: str) -> tuple[Row, ...]:
    if grid not in GRIDS:
        raise KeyError(f"unknown grid {grid!r}; grids: {', '.join(GRIDS)}")
    return GRIDS[grid][0]


def reference_row(grid: str) -> str | None:
    return GRIDS[grid][1]


def describe(grid: str):
    """The rows of a grid and what each changes relative to the full method (a DataFrame for notebooks)."""
    import pandas as pd

    def fmt(v):
        return "none" if v == () else str(v)

    return pd.DataFrame([{"row": r.name, "changes from the full method": ", ".join(
        f"{k.split('.')[-1]}={fmt(v)}" for k, v in r.overrides.items()) or "—"} for r in rows(grid)])
