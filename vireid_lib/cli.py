"""The ``vireid`` command line: ``reproduce``, ``train``, ``evaluate``, ``generate``, ``grid``, ``realism``,
``notebooks``, ``info``.

Errors the library raises on purpose (bad data, bad config, a failing notebook) are printed as one clear
message with exit status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import PROFILES
from .errors import VireidError


def _cmd_reproduce(args) -> None:
    from .notebooks import reproduce

    params = _parse_sets(args.param, "--param", "seed=1")
    if "profile" in params:
        raise VireidError(f"--param profile={params['profile']}: the profile is chosen with --profile "
                          f"(e.g. vireid reproduce --profile {params['profile']}), not --param")
    if args.jobs is not None and args.jobs < 1:
        raise VireidError(f"--jobs {args.jobs}: the number of notebooks at once must be 1 or more")
    reproduce(args.profile, only=args.only.split(",") if args.only else None, progress=not args.quiet,
              params=params, jobs=args.jobs)


def _cmd_generate(args) -> None:
    from .config import data_config
    from .data import dataset_root

    for ds in args.dataset.split(","):
        cfg = data_config(args.profile, dataset=ds)
        print(dataset_root(cfg))


def _parse_sets(pairs: list[str], option: str = "--set", example: str = "loss.theta1=0.4") -> dict:
    """``--set loss.theta1=0.4 --set model.fusion_layers=[1,2]``: values parsed as JSON when they can be."""
    import json

    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise VireidError(f"{option} expects key=value (e.g. {example}), got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


#: settings of a run that have their own option, not a ``--set``
OWN_OPTIONS = {"profile": "--profile", "seed": "--seed", "name": "--name", "data_root": "--data-root"}


def _experiment(args):
    from .config import experiment_config

    sets = _parse_sets(args.set)
    for key, option in OWN_OPTIONS.items():
        if key in sets:
            raise VireidError(f"--set {key}={sets[key]}: {key} has its own option here, {option} "
                              f"(e.g. vireid {args.command} {option} {sets[key]}), not --set")
    return experiment_config(args.profile, name=args.name, seed=args.seed, data_root=args.data_root, **sets)


def _cmd_train(args) -> None:
    from .engine import train
    from .experiments import backbone_for, run_path

    cfg = _experiment(args)
    run_dir = Path(args.run_dir or run_path(cfg))
    print(f"run folder: {run_dir}")
    final = train(cfg, run_dir, progress_bar=not args.quiet, backbone=backbone_for(cfg, run_dir, log=True))
    print(json.dumps(final["headline"], indent=1))


def _cmd_evaluate(args) -> None:
    from .engine import evaluate, load_model, resolve_device
    from .experiments import run_path

    cfg = _experiment(args)
    run_dir = args.run_dir or run_path(cfg)
    device = resolve_device(cfg.train.device)
    results = evaluate(load_model(cfg, run_dir, device), cfg, device)
    for name, res in results.items():
        print(name + ": " + ", ".join(f"{k} {v:.2f}" for k, v in res["mean"].items()))


def _cmd_grid(args) -> None:
    import os

    from .experiments import run_grid
    from .grids import GRIDS
    from .paths import STUDY_RUN_ENV

    os.environ[STUDY_RUN_ENV] = "1"  # the study's grid: its runs belong under results/runs/ (workers inherit it)

    grids = list(GRIDS) if args.grids == ["all"] else args.grids
    unknown = [g for g in grids if g not in GRIDS]
    if unknown:
        raise VireidError(f"unknown grid(s) {', '.join(unknown)}; grids: {', '.join(GRIDS)} (or all)")
    try:
        i, n = (int(x) for x in args.shard.split("/"))
    except ValueError:
        raise VireidError(f"--shard expects i/n with 0 ≤ i < n, e.g. 0/4, got {args.shard!r}") from None
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    except ValueError:
        raise VireidError(f"--seeds expects comma-separated integers, e.g. 0,1,2, got {args.seeds!r}") from None
    summary = run_grid(grids, args.profile, seeds, i, n, args.workers, args.budget_minutes, args.data_root,
                       progress_bar=not args.quiet, pretraining_only=args.pretraining_only)
    print(json.dumps(summary))


def _cmd_plan_seeds(args) -> None:
    from .verdicts import plan_seeds, write_seed_plan

    if args.write and args.data_root:
        raise VireidError("--write records the plan of the embedded synthetic study (the grids of every machine "
                          "read it); a plan for real data is printed, not written: drop --write, or --data-root")
    plan = plan_seeds(args.profile, args.data_root, args.max_seeds)
    if not len(plan):
        n = plan.attrs.get("counts", {})
        print(f"no row needs more seeds: of the {n.get('open', 0)} not-resolved rank-1 claims of Tables 1-4 and "
              f"Fig. 4, {n.get('beyond', 0)} would need more than {args.max_seeds} seeds per row at the observed "
              f"spread, {n.get('one seed', 0)} rest on one seed per row and {n.get('no spread', 0)} on seeds that "
              f"agree exactly (no spread to plan from), and {n.get('enough already', 0)} have the seeds the "
              "estimate asks for")
    else:
        print(plan.drop(columns=["claims"]).to_string(index=False))
        print(f"{plan.attrs['new_runs']} more runs (rows that are one configuration share theirs; Holm level "
              f"α/m = {plan.attrs['alpha']}/{plan.attrs['family_size']})")
    if args.write:
        write_seed_plan(args.profile, plan, force=args.force)
        then = (f"`vireid grid table1 table2 table3 table4 theta1 theta2 --profile {args.profile}` trains the second "
                "stage") if len(plan) else "the second stage is empty: the grid has nothing more to train"
        print(f"written: vireid_lib/resources/seed_plan.json ({args.profile}); {then}")


def _cmd_realism(args) -> None:
    from .handcrafted import realism

    table = realism(args.profile, args.ids)
    print(f"How realistic is the synthetic world: HOG / LOMO, Euclidean distance ({table['synthetic data'][0]}),\n"
          f"beside other papers' numbers on the real datasets (published; sources below)\n")
    cols = ["protocol", "descriptor", "synthetic R1", "synthetic mAP", "published R1", "published mAP", "chance R1",
            "band", "in band"]
    print(table[cols].to_string(index=False))
    print("\nsources (real data): " + "; ".join(dict.fromkeys(table["published source (real data)"])))
    failed = (table["in band"] != "pass").sum()
    print(f"\n{4 - failed} of 4 settings in their bands")


def _cmd_info(args) -> None:
    from .notebooks import environment_info

    for k, v in environment_info().items():
        print(f"{k:10s} {v}")


def _cmd_notebooks(args) -> None:
    from .notebooks import NOTEBOOKS, notebook_parameters

    for nb in NOTEBOOKS:
        params = ", ".join(f"{k}={v['default']}" for k, v in notebook_parameters(nb.path).items())
        print(f"{nb.name}: {nb.title}\n    parameters: {params}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vireid", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("reproduce", help="run every notebook with papermill and regenerate results/")
    r.add_argument("--profile", default="cpu", choices=PROFILES)
    r.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 01,02")
    r.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    r.add_argument("--jobs", type=int, default=None,
                   help="notebooks at once (default: 2 on a machine with 2 or more cores, else 1; above 1, no "
                        "per-cell progress bar)")
    r.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a notebook parameter for the notebooks that declare it, e.g. --param budget_minutes=60")
    r.set_defaults(fn=_cmd_reproduce)
    g = sub.add_parser("generate", help="generate (or find) the synthetic dataset of a profile; print its root")
    g.add_argument("--profile", default="cpu", choices=PROFILES)
    g.add_argument("--dataset", default="sysu", help="sysu, regdb or sysu,regdb")
    g.set_defaults(fn=_cmd_generate)
    for name, fn, hlp in (("train", _cmd_train, "train (or resume) a run of the method"),
                          ("evaluate", _cmd_evaluate, "evaluate a trained run with its dataset's protocol")):
        t = sub.add_parser(name, help=hlp)
        t.add_argument("--profile", default="cpu", choices=PROFILES)
        t.add_argument("--name", default="full", help="a label for the run (not part of its identity)")
        t.add_argument("--seed", type=int, default=0)
        t.add_argument("--data-root", default=None, help="a real SYSU-MM01 / RegDB folder (default: synthetic)")
        t.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a config field, e.g. --set loss.dml=none --set train.epochs=5")
        t.add_argument("--run-dir", default=None,
                       help="default: results/runs/<profile>/<identity> for the study's runs, "
                            "results/scratch/runs/<profile>/<identity> otherwise")
        t.add_argument("--quiet", action="store_true", help="no progress bar")
        t.set_defaults(fn=fn)
    gr = sub.add_parser("grid", help="train the runs of one or more experiment grids (Tables 1-5, Fig. 4)")
    gr.add_argument("grids", nargs="+",
                    help="table1 table2 table3 table4 theta1 theta2 table5 regdb_baseline readings, or all")
    gr.add_argument("--profile", default="cpu", choices=PROFILES)
    gr.add_argument("--seeds", help="comma-separated seeds (default: the profile's, 0,1,2 for cpu)")
    gr.add_argument("--shard", default="0/1", help="i/n: run the i-th of n disjoint slices (cluster job arrays)")
    gr.add_argument("--workers", type=int, default=1, help="runs at once on this machine (one per GPU)")
    gr.add_argument("--budget-minutes", type=float, default=None, help="start no new run after this time")
    gr.add_argument("--data-root", default=None,
                    help="a real SYSU-MM01 folder for the SYSU grids "
                         "(Table 5, RegDB, reads $VIREID_REGDB_ROOT or data/RegDB)")
    gr.add_argument("--pretraining-only", action="store_true",
                    help="train only the synthetic pretraining these grids' runs start from (once, before shards)")
    gr.add_argument("--quiet", action="store_true")
    gr.set_defaults(fn=_cmd_grid)
    ps = sub.add_parser("plan-seeds", help="from the complete first stage of Tables 1-4 and Fig. 4, the rows that "
                                           "more seeds (at most --max-seeds) would resolve (issue 12's second stage)")
    ps.add_argument("--profile", default="cpu", choices=PROFILES)
    ps.add_argument("--data-root", default=None, help="a real SYSU-MM01 folder (as for vireid grid)")
    ps.add_argument("--max-seeds", type=int, default=10)
    ps.add_argument("--write", action="store_true",
                    help="record the plan in vireid_lib/resources/seed_plan.json (the grids then train and read it)")
    ps.add_argument("--force", action="store_true", help="with --write: replace the profile's existing plan")
    ps.set_defaults(fn=_cmd_plan_seeds)
    rl = sub.add_parser("realism", help="hand-crafted baselines on the synthetic world beside the published "
                                         "real-data numbers, with issue 10's bands (a few minutes in the cpu profile)")
    rl.add_argument("--profile", default="cpu", choices=("smoke", "cpu"))
    rl.add_argument("--ids", default="test", choices=("test", "calibration"),
                    help="test: the profile's world; calibration: the world of the next seed, where the "
                         "generator's physical parameters were chosen")
    rl.set_defaults(fn=_cmd_realism)
    sub.add_parser("info", help="versions, device, threads").set_defaults(fn=_cmd_info)
    sub.add_parser("notebooks", help="list the notebooks and their parameters").set_defaults(fn=_cmd_notebooks)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except VireidError as e:
        print(f"vireid: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vireid: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
