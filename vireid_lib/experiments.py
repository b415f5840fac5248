"""The run registry: an experiment is a config; its folder is named by the hash of that config.

``results/runs/<profile>/<identity>/`` holds ``config.json``, ``metrics.jsonl`` and, once finished,
``final.json`` (committed: readers see every number's run) and ``model.pt`` / ``checkpoint.pt`` (git-ignored,
except the weights of the few models that figures are drawn from). The identity hashes what was asked for (the
config without its name and run mechanics, and the data it names): two table rows with the same settings share one
run, an unfinished run resumes, and a finished one is not trained again unless it is *stale*: its recorded
fingerprint (:mod:`vireid_lib.fingerprint`: the code and data that computed it) differs from today's, in which case
the tables mark it and the grid trains it again.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

from .config import ExperimentConfig
from .engine import load_model, reevaluation_only, train
from .errors import VireidError
from .grids import Row, rows
from .io import atomic_path
from .paths import runs_dir
from .runs import (  # noqa: F401 (re-exported: where a run lives, and whether it is current)
    read_final,
    run_fingerprint,
    run_identity,
    run_path,
    run_staleness,
    scratch_runs_dir,
)
from .training import divergence
from .workers import worker_init


def is_finished(cfg: ExperimentConfig) -> bool:
    """The run has a result computed by today's code and data (a stale result does not count)."""
    return (run_path(cfg) / "final.json").exists() and run_staleness(cfg, run_path(cfg)) is None


def failure(cfg: ExperimentConfig) -> dict | None:
    """The record of the run's loss becoming non-finite (``failed.json``: epoch, batch, loss parts) when today's code
    and data produced it, in the study's folder (and, outside the study's own run, the scratch one); ``None``
    otherwise. With the same code, data and seed (and, on a CPU, the same thread count and kernels) the failure
    repeats, so the grid does not train such a run again: delete the file to retry."""
    import json

    from . import fingerprint as fp
    from .engine import FAILED_NAME
    from .paths import study_run

    identity = run_identity(cfg)
    folders = [runs_dir() / cfg.profile / identity]
    if not study_run():  # a learner's git-ignored scratch failures never steer the study's own grid
        folders.append(scratch_runs_dir() / cfg.profile / identity)
    for folder in folders:
        path = folder / FAILED_NAME
        if path.exists() and not (folder / "final.json").exists():
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # unreadable: not a record to act on (the run is tried again)
            if fp.staleness(rec.get("fingerprint"), run_fingerprint(cfg)) is None:
                return rec
    return None


def status(cfg: ExperimentConfig) -> str:
    """``"finished"``, ``"stale (<what> changed)"``, ``"failed (...)"`` or ``"pending"``."""
    if not (run_path(cfg) / "final.json").exists():
        rec = failure(cfg)
        return f"failed (non-finite loss at epoch {rec['epoch']}, batch {rec['batch']})" if rec else "pending"
    why = run_staleness(cfg, run_path(cfg))
    return "finished" if why is None else f"stale ({why} changed)"


def run(cfg: ExperimentConfig, progress_bar: bool = True, log: bool = True) -> dict:
    """Train the run of ``cfg`` (or resume it, or return its finished result): its ``final.json`` content. With
    synthetic pretraining, the pretraining run is trained (or read) first (:func:`pretrained_backbone`)."""
    path = run_path(cfg)
    if (path / "final.json").exists() and run_staleness(cfg, path) is None:
        return read_final(path / "final.json")
    return train(cfg, path, progress_bar=progress_bar, log=log, backbone=backbone_for(cfg, path, log))


def backbone_for(cfg: ExperimentConfig, path: Path, log: bool = False) -> tuple[dict, str, dict] | None:
    """What :func:`vireid_lib.engine.train` needs to train ``cfg`` in ``path``: its pretrained backbone
    (:func:`pretrained_backbone`), or ``None`` when it needs none (no synthetic pretraining; finished and fresh; or
    only evaluated again, as when its test data alone changed)."""
    path = Path(path)
    if not cfg.model.synthetic_pretrain_ids or reevaluation_only(cfg, path) or (
            (path / "final.json").exists() and run_staleness(cfg, path) is None):
        return None
    return pretrained_backbone(cfg, log)


def pretrained_backbone(cfg: ExperimentConfig, log: bool = False) -> tuple[dict, str, dict]:
    """The backbone weights ``cfg`` starts from (:mod:`vireid_lib.pretraining`), the identity of the run they come
    from and that run's fingerprint as a run that starts from it records it
    (:func:`vireid_lib.runs.pretraining_fingerprint`). Trains that run first when it has not finished (it waits if
    another process is training it)."""
    from .pretraining import pretraining_config
    from .runs import pretraining_fingerprint

    pre = pretraining_config(cfg)
    rec = failure(pre)
    if rec is not None:  # training it again would repeat the failure, once per run that starts from it
        raise VireidError(f"{cfg.name} starts from the synthetic pretraining {pre.name} (run {run_identity(pre)}), "
                          f"whose loss became non-finite at epoch {rec['epoch']}, batch {rec['batch']} with today's "
                          f"code and data; fix the cause, or delete failed.json in its run folder to retry")
    run(pre, progress_bar=False, log=log)
    model = load_model(pre, run_path(pre))
    return model.backbone.state_dict(), run_identity(pre), pretraining_fingerprint(cfg)


def load_result(cfg: ExperimentConfig) -> dict | None:
    """The run's ``final.json`` (``None`` when it has not finished), with ``"stale"``: why its numbers no longer
    describe today's code or data, or ``None``; and ``"diverged"``: where its training blew up
    (:func:`vireid_lib.training.divergence`), or ``None``."""
    path = run_path(cfg) / "final.json"
    if not path.exists():
        return None
    final = read_final(path)
    return {**final, "stale": run_staleness(cfg, run_path(cfg)), "diverged": divergence(final.get("history", []))}


def showcased_runs(profile: str = "cpu") -> list[ExperimentConfig]:
    """The runs whose trained weights figures are drawn from, so that their ``model.pt`` is committed (a retrain on
    another CPU would be another model): the full method of each of Fig. 5's seeds (notebooks 04, 07 and the
    Grad-CAM verdict) and Table 1's Baseline of seed 0 (notebook 08's retrieval grids, beside the method); and the
    synthetic pretraining that the RegDB runs start from (:func:`pretraining_runs`)."""
    from .config import experiment_config
    from .grids import FIG5_SEEDS

    full = [experiment_config(profile, seed=s) for s in FIG5_SEEDS[profile]]
    return full + [rows("table1")[0].config(profile, 0)] + pretraining_runs(profile)


def pretraining_runs(profile: str = "cpu") -> list[ExperimentConfig]:
    """The synthetic pretraining runs that the profile's runs start from (:mod:`vireid_lib.pretraining`): their
    weights are committed with the showcased ones, as ImageNet's are a fixed file."""
    from .config import experiment_config
    from .pretraining import pretraining_config

    cfg = experiment_config(profile, **{"data.dataset": "regdb"})
    return [pretraining_config(cfg)] if cfg.model.synthetic_pretrain_ids else []


def trained_model(cfg: ExperimentConfig, device="cpu", progress_bar: bool = True):
    """The trained model of ``cfg``'s run, training it first if it is missing (e.g. on a fresh clone, where
    only the run's summary is committed)."""
    import shutil

    path = run_path(cfg)
    if not (path / "model.pt").exists():
        if (path / "final.json").exists():  # summary committed, weights not: train again in a scratch folder
            scratch = path / "retrain"
            if (scratch / "final.json").exists() and not (scratch / "model.pt").exists():
                shutil.rmtree(scratch)  # a retrain whose weights were lost: do it again
            committed = read_final(path / "final.json")
            # CPU results depend on the number of threads (reduction order): retrain with the committed run's
            with _num_threads(committed.get("provenance", {}).get("threads", 0)):
                again = train(cfg, scratch, progress_bar=progress_bar, backbone=backbone_for(cfg, scratch))
            _warn_if_different(committed, again, path)
            with atomic_path(path / "model.pt", suffix=".pt") as tmp:
                shutil.copyfile(scratch / "model.pt", tmp)
        else:
            run(cfg, progress_bar=progress_bar)
    return load_model(cfg, path, device)


@contextlib.contextmanager
def _num_threads(n: int):
    """Run with ``n`` intra-op CPU threads (0: leave as is), restoring the previous number afterwards."""
    import torch

    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _warn_if_different(committed: dict, again: dict, path: Path) -> None:
    """A retrained model is only the committed run's if it scores the same; say so when it does not."""
    a, b = committed.get("headline", {}), again.get("headline", {})
    diff = {k: (a[k], b[k]) for k in a if k in b and abs(a[k] - b[k]) > 1e-6}
    if diff:
        warnings.warn(f"the retrained model of {path.name} differs from the committed run "
                      f"({', '.join(f'{k} {x:.2f} → {y:.2f}' for k, (x, y) in diff.items())}); likely another "
                      f"machine, torch build or thread count (committed: {committed.get('provenance')}). Figures "
                      f"made from it describe this retrained model, not the committed run's exact weights.",
                      stacklevel=3)


# ---------------------------------------------------------------------------------------------------------
# Grids: expansion, sharding, parallel runs
# ---------------------------------------------------------------------------------------------------------
def grid_runs(grids: list[str], profile: str, seeds: tuple[int, ...] | None = None,
              data_root: str | None = None) -> list[tuple[Row, int, ExperimentConfig]]:
    """Every (row, seed, config) of the grids: seed by seed, grid by grid, row by row, so that a partial run of
    the grid (a time budget) has every row with its first seed before any row gets a second one. ``seeds``: for
    every row; ``None``: each row's own (:meth:`Row.seed_list`: the profile's, more for decisive rows)."""
    from .config import experiment_config

    per_row = {(g, r.name): r.seed_list(profile, seeds) for g in grids for r in rows(g)}
    all_seeds = sorted({s for ss in per_row.values() for s in ss})
    out = []
    for s in all_seeds:
        full = run_identity(experiment_config(profile, seed=s, data_root=data_root))
        for g in grids:
            for row in rows(g):
                if s not in per_row[(g, row.name)]:
                    continue
                cfg = row.config(profile, s, data_root)
                if run_identity(cfg) != full:  # only the full method logs intermediate evaluations (nb 04)
                    cfg = cfg.with_overrides(**{"train.eval_every": 0})
                out.append((row, s, cfg))
    return out


def unique_runs(runs: list[tuple[Row, int, ExperimentConfig]]) -> list[ExperimentConfig]:
    """One config per distinct run identity (rows shared between tables are one run), in the order of first
    appearance: a deterministic order, the same on every machine of a cluster job."""
    seen: dict[str, ExperimentConfig] = {}
    for _, _, cfg in runs:
        seen.setdefault(run_identity(cfg), cfg)
    return list(seen.values())


def shard(configs: list[ExperimentConfig], index: int, count: int) -> list[ExperimentConfig]:
    """The ``index``-th (0-based) of ``count`` disjoint slices that together cover ``configs`` exactly once."""
    if not 0 <= index < count:
        raise VireidError(f"shard {index}/{count} does not exist: use 0 ≤ i < n (e.g. --shard 0/4)")
    return configs[index::count]


def _run_one(cfg: ExperimentConfig) -> tuple[str, dict]:
    import os

    import torch

    if torch.cuda.is_available() and cfg.train.device == "auto":  # one GPU per worker when there are GPUs
        slot = int(os.environ.get("VIREID_WORKER_SLOT", "0"))
        cfg = cfg.with_overrides(**{"train.device": f"cuda:{slot % torch.cuda.device_count()}"})
    return run_identity(cfg), run(cfg, progress_bar=False, log=False)


def run_grid(grids: list[str], profile: str = "cpu", seeds: tuple[int, ...] | None = None,
             shard_index: int = 0, shard_count: int = 1, workers: int = 1, budget_minutes: float | None = None,
             data_root: str | None = None, progress_bar: bool = True, pretraining_only: bool = False) -> dict:
    """Train every run of ``grids`` that has not finished (this shard's slice), ``workers`` at a time.

    Finished runs are skipped, interrupted ones resume. With ``budget_minutes``, no new run starts after
    that time (runs in flight finish; 0 trains nothing): call again to continue, e.g. in the next
    ``make reproduce``. A run that fails (e.g. diverges) does not stop the others: once they are done,
    :class:`GridRunsFailed` names every failed run and its error (their checkpoints are kept). A run whose loss
    became non-finite leaves ``failed.json`` (:func:`failure`) and is skipped by later calls, as the failure would
    repeat with the same code and data (delete the file to retry).
    Returns counts: ``{"total", "finished", "trained", "pending", "failed"}`` (failed: skipped for that reason).

    Runs that start from a synthetic pretraining (:mod:`vireid_lib.pretraining`) have it trained first, as a run of
    the grid. With shards (``shard_count`` > 1, e.g. on several machines) it must be trained once beforehand
    (``pretraining_only=True``, ``vireid grid ... --pretraining-only``) and its folder shared: each shard would
    otherwise train its own copy, and another CPU's copy has other weights, which makes the runs trained from it
    stale wherever the first copy is (:func:`vireid_lib.runs.pretraining_fingerprint`).
    """
    import multiprocessing as mp
    import time
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from . import progress
    from .pretraining import pretraining_config

    def pretrainings(configs: list[ExperimentConfig]) -> list[ExperimentConfig]:  # the ones these runs start from
        return unique_runs([(None, 0, pretraining_config(c)) for c in configs if c.model.synthetic_pretrain_ids])

    todo_all = unique_runs(grid_runs(grids, profile, seeds, data_root))
    if pretraining_only:
        shard(todo_all, shard_index, shard_count)  # a shard that does not exist is refused all the same
        todo_all = mine = pretrainings(todo_all)
    else:
        todo_all = shard(todo_all, shard_index, shard_count)
        mine = pretrainings(todo_all)
        if shard_count > 1:
            for p in mine:
                why = ("has not been trained" if not (run_path(p) / "final.json").exists()
                       else "is stale (it must be trained again)" if not is_finished(p)
                       else "has no weights (model.pt)" if not (run_path(p) / "model.pt").exists() else None)
                if why:
                    raise VireidError(
                        f"runs of this shard start from the synthetic pretraining {p.name} (run folder "
                        f"{run_path(p)}), which {why}. Train it once before the shards (vireid grid "
                        f"{' '.join(grids)} --profile {profile} --pretraining-only) and give every shard's machine "
                        f"that folder, weights included: shards training their own copies on different CPUs would "
                        f"get different weights, and the runs trained from one copy would be stale beside the "
                        f"other")
        # the pretraining goes first (in the counts too), else the first run that needs it would train it inline
        todo_all = unique_runs([(None, 0, p) for p in mine] + [(None, 0, c) for c in todo_all])
    todo = [c for c in todo_all if not is_finished(c)]
    failed_now = [failure(c) is not None for c in todo]
    failed_before = [c for c, f in zip(todo, failed_now, strict=True) if f]
    todo = [c for c, f in zip(todo, failed_now, strict=True) if not f]
    for c in failed_before:
        progress.line(f"  skipped {c.name} (seed {c.seed}): its loss became non-finite with today's code and data "
                      f"(failed.json in run folder {run_identity(c)}; delete it to train the run again)", True)
    broken = {run_identity(c) for c in failed_before} & {run_identity(p) for p in mine}
    if broken:  # the runs that start from a failed pretraining: skipped with it, in one line
        waiting = [c for c in todo if c.model.synthetic_pretrain_ids
                   and run_identity(pretraining_config(c)) in broken]
        todo = [c for c in todo if c not in waiting]
        failed_before += waiting
        if waiting:
            progress.line(f"  skipped {len(waiting)} run(s) that start from that pretraining", True)
    summary = {"total": len(todo_all), "finished": len(todo_all) - len(todo) - len(failed_before), "trained": 0,
               "pending": len(todo), "failed": len(failed_before)}
    if not todo:
        return summary
    t0 = time.perf_counter()
    out_of_time = lambda: budget_minutes is not None and time.perf_counter() - t0 >= 60 * budget_minutes  # noqa: E731
    bar = progress.bar(range(len(todo)), total=len(todo), desc=f"{'+'.join(grids)} runs", enabled=progress_bar)
    bar_it = iter(bar)
    progress.line(f"{', '.join(grids)}: {summary['finished']} of {summary['total']} runs finished, "
                  f"{len(todo)} to train with {workers} worker(s)", True)
    failed: list[str] = []

    def ended(cfg: ExperimentConfig, error: Exception | None) -> None:
        next(bar_it, None)
        if error is None:
            summary["trained"] += 1
            progress.line(f"  finished {cfg.name} (seed {cfg.seed}) [{summary['trained']}/{len(todo)}]", True)
        else:
            failed.append(f"{cfg.name} (seed {cfg.seed}, run {run_identity(cfg)}): {error}")
            progress.line(f"  FAILED {cfg.name} (seed {cfg.seed}): {error}", True)

    if workers <= 1:
        for cfg in todo:
            if out_of_time():
                break
            try:
                run(cfg, progress_bar=False, log=False)
            except Exception as e:  # noqa: BLE001 - reported with the others once the grid has run
                ended(cfg, e)
            else:
                ended(cfg, None)
    else:
        import os

        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        for i in range(workers):
            queue.put(i)
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init,
                                 initargs=(queue, threads, os.getpid())) as ex:
            pending = list(todo)
            running = {}
            while pending or running:
                while pending and len(running) < workers and not out_of_time():
                    cfg = pending.pop(0)
                    running[ex.submit(_run_one, cfg)] = cfg
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    cfg = running.pop(fut)
                    ended(cfg, fut.exception())
    if hasattr(bar, "close"):
        bar.close()
    summary["pending"] = len(todo) - summary["trained"]
    summary["finished"] += summary["trained"]
    if failed:
        raise GridRunsFailed(
            f"{len(failed)} run(s) of {', '.join(grids)} failed ({summary['trained']} others trained, "
            f"{summary['pending'] - len(failed)} left pending by the time budget):\n  " + "\n  ".join(failed)
            + "\nFix the cause and run the grid again: finished runs are kept, failed ones resume from their "
            "last checkpoint.", summary)
    return summary


class GridRunsFailed(VireidError, RuntimeError):
    """Some runs of a grid failed; the others finished. ``.summary`` holds the counts."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary
