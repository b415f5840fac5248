"""A run whose training blew up on the way (finite, partly recovered) is recognised and listed, never dropped."""

import json

from vireid_lib.training import divergence

# epochs 1-8 of a real run of the cpu profile (Table 1 "+Fusion", seed 1, run 47271c399d0a, retrained grid of
# 2026-11-30): the WRT loss of the joint embedding exploded in epochs 5-6, the run ended at rank-1 1.34 % (chance 1.04)
REAL = [(1, 15.507, 0.824, 4.836), (2, 13.532, 0.741, 4.147), (3, 11.23, 0.678, 3.383), (4, 9.505, 0.643, 2.799),
        (5, 404.252, 393.753, 3.456), (6, 3340.371, 3326.082, 4.831), (7, 13.997, 0.725, 4.481),
        (8, 13.438, 0.724, 4.272)]


def _history(rows):
    return [{"epoch": e, "loss_total": t, "loss_wrt": w, "loss_id_fusion": i, "lr": 0.1} for e, t, w, i in rows]


def test_the_real_blow_up_is_found_at_its_epoch_and_named_by_its_loss_part():
    d = divergence(_history(REAL))
    assert d == {"epoch": 5, "loss": 404.252, "first": 15.507, "part": "wrt", "peak": 3340.371}


def test_a_healthy_run_and_a_bump_below_twice_the_first_epoch_are_not_divergence():
    healthy = [(e, 15.5 - e * 0.4, 0.8 - e * 0.01, 4.8 - e * 0.1) for e in range(1, 25)]
    assert divergence(_history(healthy)) is None
    bump = [*healthy[:4], (5, 29.9, 15.0, 4.0), *healthy[5:]]  # 1.98× the first epoch's 15.1
    assert divergence(_history(bump)) is None
    assert divergence(_history(bump), factor=1.5)["epoch"] == 5  # the threshold is the factor's


def test_evaluation_records_and_too_short_histories_are_not_read_as_losses():
    hist = _history(REAL[:4]) + [{"epoch": 4, "eval": {"R1": 3.0, "mAP": 5.0}}] + _history(REAL[4:5])
    assert divergence(hist)["epoch"] == 5
    assert divergence(_history(REAL[:1])) is None and divergence([]) is None


def test_a_diverged_run_is_listed_by_training_health_and_kept_in_the_table(monkeypatch):
    from vireid_lib import experiments, tables
    from vireid_lib.experiments import grid_runs, run_grid, run_path

    grid = "table4"
    run_grid([grid], "smoke", (0, 1), progress_bar=False)
    before = tables.ablation_table(grid, "smoke", (0, 1))
    health = tables.training_health([grid], "smoke", (0, 1))
    n_runs = len({run_path(cfg) for _, _, cfg in grid_runs([grid], "smoke", (0, 1))})
    assert health.to_dict("records") == [{"grid": grid, "finished runs": n_runs, "diverged": 0, "diverged runs": "",
                                          "failed": 0, "failed runs": ""}]
    assert "0 of the" in tables.training_health_reading(health)

    row, seed, cfg = next(iter(grid_runs([grid], "smoke", (0, 1))))
    real = experiments.load_result

    def blown_up(c):  # that run's record with its second epoch blown up, as the real run's epoch 5
        res = real(c)
        if res is not None and run_path(c) == run_path(cfg):
            hist = json.loads(json.dumps(res["history"]))
            first = next(h for h in hist if "loss_total" in h)
            nxt = next(h for h in hist if "loss_total" in h and h is not first)
            nxt["loss_total"], nxt["loss_wrt"] = first["loss_total"] * 30, first["loss_total"] * 29
            res = {**res, "history": hist, "diverged": divergence(hist)}
        return res

    monkeypatch.setattr(experiments, "load_result", blown_up)
    health = tables.training_health([grid], "smoke", (0, 1))
    assert int(health["diverged"].iloc[0]) == 1 and int(health["finished runs"].iloc[0]) == n_runs
    listed = health["diverged runs"].iloc[0]
    assert f"{row.name}, seed {seed}" in listed and "mostly wrt" in listed
    assert "1 of the" in tables.training_health_reading(health) and grid in tables.training_health_reading(health)
    after = tables.ablation_table(grid, "smoke", (0, 1))
    assert before.equals(after), "a diverged run stays in the table's statistics"


def test_a_run_whose_loss_became_non_finite_is_listed_as_failed_and_not_retrained():
    from vireid_lib import fingerprint as fp
    from vireid_lib import tables
    from vireid_lib.engine import FAILED_NAME, run_identity
    from vireid_lib.experiments import failure, grid_runs, run_grid, scratch_runs_dir, status

    grid = "table4"
    row, seed, cfg = next((r, s, c) for r, s, c in grid_runs([grid], "smoke", (2,)))
    folder = scratch_runs_dir() / "smoke" / run_identity(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    rec = {"identity": run_identity(cfg), "epoch": 2, "batch": 3, "loss": "wrt = nan",
           "fingerprint": fp.fingerprint(cfg)}
    (folder / FAILED_NAME).write_text(json.dumps(rec))
    assert failure(cfg)["epoch"] == 2 and status(cfg) == "failed (non-finite loss at epoch 2, batch 3)"

    summary = run_grid([grid], "smoke", (2,), progress_bar=False)
    assert summary["failed"] == 1 and not (folder / "final.json").exists()  # skipped: the failure would repeat
    assert summary["trained"] == summary["total"] - 1 and summary["finished"] + summary["failed"] == summary["total"]
    health = tables.training_health([grid], "smoke", (2,)).iloc[0]
    assert health["failed"] == 1 and f"{row.name}, seed 2" in health["failed runs"] and "epoch 2, batch 3" in \
        health["failed runs"]
    assert health["finished runs"] == summary["total"] - 1
    assert "1 run(s) failed" in tables.training_health_reading(tables.training_health([grid], "smoke", (2,)))

    stale = {**rec, "fingerprint": {**rec["fingerprint"], "code": "0" * 16, "code_alt": "0" * 16}}
    (folder / FAILED_NAME).write_text(json.dumps(stale))  # a failure of other code is not today's
    assert failure(cfg) is None and status(cfg) == "pending"
