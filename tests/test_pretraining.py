"""The synthetic pretraining that stands in for ImageNet weights: which run it is, and that runs start from it."""

import pytest
import torch

from vireid_lib import engine
from vireid_lib.config import ConfigError, experiment_config
from vireid_lib.engine import run_identity
from vireid_lib.experiments import pretrained_backbone, run, run_path
from vireid_lib.pretraining import pretraining_config


def _cfg(**extra):
    return experiment_config("smoke", **{"data.dataset": "regdb", "data.regdb_trial": 1,
                                         "model.synthetic_pretrain_ids": 8, **extra})


def test_the_cpu_profile_pretrains_its_regdb_runs_only_and_an_override_wins():
    assert experiment_config("cpu", **{"data.dataset": "regdb"}).model.synthetic_pretrain_ids == 3296
    assert experiment_config("cpu").model.synthetic_pretrain_ids == 0  # SYSU-MM01 learns from scratch
    assert experiment_config("smoke", **{"data.dataset": "regdb"}).model.synthetic_pretrain_ids == 0
    off = experiment_config("cpu", **{"data.dataset": "regdb", "model.synthetic_pretrain_ids": 0})
    assert off.model.synthetic_pretrain_ids == 0
    # switching datasets on a configuration switches the profile's per-dataset defaults too; an override wins
    sysu = experiment_config("cpu", name="Baseline", **{"loss.theta1": 0.4})
    regdb = sysu.with_overrides(**{"data.dataset": "regdb"})
    assert regdb == experiment_config("cpu", name="Baseline", **{"loss.theta1": 0.4, "data.dataset": "regdb"})
    assert regdb.with_overrides(**{"data.dataset": "sysu"}) == sysu
    assert sysu.with_overrides(**{"data.dataset": "regdb", "model.synthetic_pretrain_ids": 0}) == off.with_overrides(
        name="Baseline", **{"loss.theta1": 0.4})
    # a run without pretraining keeps the name it had before the option existed
    assert "synthetic_pretrain_ids" not in experiment_config("cpu").identity()["model"]


@pytest.mark.parametrize("bad", [-2, 3, 2, 7])
def test_a_pretraining_size_that_cannot_be_split_in_halves_is_refused(bad):
    with pytest.raises(ConfigError, match="even number of identities ≥ 4"):
        _cfg(**{"model.synthetic_pretrain_ids": bad})


def test_synthetic_pretraining_and_imagenet_weights_exclude_each_other():
    with pytest.raises(ConfigError, match="stands in for ImageNet"):
        _cfg(**{"model.pretrained": True, "model.width": 64})


def test_the_pretraining_is_the_baseline_on_a_disjoint_world_shared_by_every_seed_and_split():
    c = _cfg()
    p = pretraining_config(c)
    assert p.model.fusion_layers == () and p.loss.dml == "none" and not p.aug.rcc and not p.aug.cre
    assert p.data.dataset == "regdb" and p.data.synthetic.regdb_ids == 8
    assert p.data.synthetic.seed == c.data.synthetic.seed + 1  # other people, other places
    assert p.model.synthetic_pretrain_ids == 0 and p.seed == 0
    assert (p.model.depth, p.model.width) == (c.model.depth, c.model.width)
    other = _cfg(**{"data.regdb_trial": 2, "model.fusion_layers": (1, 2)}).with_overrides(seed=3)
    assert run_identity(pretraining_config(other)) == run_identity(p)
    with pytest.raises(ValueError, match="no synthetic pretraining"):
        pretraining_config(_cfg(**{"model.synthetic_pretrain_ids": 0}))


def test_a_run_starts_from_the_pretrained_backbone_and_records_which(monkeypatch):
    first: dict[int, dict] = {}  # each model's backbone when its first training step starts
    models = []  # kept alive, so that no two models share an id()
    real = engine.train_step

    def spy(model, *a, **k):
        if id(model) not in first:
            models.append(model)
            first[id(model)] = {n: v.detach().clone() for n, v in model.backbone.state_dict().items()}
        return real(model, *a, **k)

    monkeypatch.setattr(engine, "train_step", spy)
    c = _cfg()
    res = run(c, progress_bar=False, log=False)
    assert len(first) == 2  # the pretraining was trained first, inside this run
    weights, ident, prints = pretrained_backbone(c)
    assert prints == res["fingerprint"]["pretraining"] and prints["identity"] == ident
    assert res["pretrained_from"] == ident == run_identity(pretraining_config(c))
    start = list(first.values())[-1]
    for name, value in weights.items():
        torch.testing.assert_close(start[name], value, rtol=0, atol=0)
    assert any(not torch.equal(v, weights[n]) for n, v in list(first.values())[0].items())  # not the random start

    # a backbone from another run, without that run's fingerprint, is refused: the run could not record it
    with pytest.raises(ValueError, match="comes from run elsewhere, not from the pretraining its configuration"):
        engine.train(c.with_overrides(seed=5), run_path(c.with_overrides(seed=5)), progress_bar=False, log=False,
                     backbone=(weights, "elsewhere"))


def test_a_grid_trains_the_pretraining_first_and_counts_it(monkeypatch):
    from vireid_lib import config
    from vireid_lib.experiments import grid_runs, load_result, run_grid, unique_runs

    smoke = {**config.EXPERIMENT_PROFILES["smoke"], "by_dataset": {"regdb": {"model.synthetic_pretrain_ids": 8}}}
    monkeypatch.setitem(config.EXPERIMENT_PROFILES, "smoke", smoke)
    runs = unique_runs(grid_runs(["regdb_baseline"], "smoke", (0,)))
    assert runs and all(c.model.synthetic_pretrain_ids == 8 for c in runs)
    s = run_grid(["regdb_baseline"], "smoke", (0,), progress_bar=False)
    # the pretraining counts as a run of the grid (it may have been trained by an earlier test of this file)
    assert {k: s[k] for k in ("total", "finished", "pending", "failed")} == {
        "total": len(runs) + 1, "finished": len(runs) + 1, "pending": 0, "failed": 0}
    assert s["trained"] in (len(runs), len(runs) + 1)
    pre = run_identity(pretraining_config(runs[0]))
    assert all(load_result(c)["pretrained_from"] == pre for c in runs)
    assert run_grid(["regdb_baseline"], "smoke", (0,), progress_bar=False)["trained"] == 0


def _replace(path, data: bytes) -> None:
    """Write ``data`` in ``path``'s place as the library and git do: a new file renamed over the old one."""
    import os

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_a_run_is_stale_when_the_pretraining_it_started_from_changed_and_fresh_once_retrained():
    import io

    from vireid_lib import fingerprint as fp
    from vireid_lib.experiments import run_path, status

    c = _cfg(**{"model.synthetic_pretrain_ids": 12})  # its own pretraining: this test changes its weights
    res = run(c, progress_bar=False, log=False)
    pre = pretraining_config(c)
    model = run_path(pre) / "model.pt"
    original = model.read_bytes()
    rec = res["fingerprint"]["pretraining"]
    assert rec["identity"] == run_identity(pre) and rec["weights"] == fp.weights_digest(model) is not None
    assert status(c) == "finished"
    # other weights in the pretraining's place, as if deleted and trained again on another CPU: same code, same data
    saved = torch.load(model, weights_only=True)
    name = next(k for k, v in saved["state_dict"].items() if v.is_floating_point())
    saved["state_dict"][name] = saved["state_dict"][name] + 0.01
    saved["sha256"] = engine.state_digest(saved["state_dict"])
    buf = io.BytesIO()
    torch.save(saved, buf)
    _replace(model, buf.getvalue())
    assert status(pre) == "finished"  # the pretraining itself is still today's run
    assert status(c) == "stale (pretraining changed)"
    again = run(c, progress_bar=False, log=False)  # trained again, from the weights now in place
    assert again["fingerprint"]["pretraining"]["weights"] == saved["sha256"] != rec["weights"]
    assert status(c) == "finished" and list((run_path(c) / "stale").iterdir())  # the old result set aside
    _replace(model, original)
    assert status(c) == "stale (pretraining changed)"


def test_staleness_compares_the_pretraining_as_it_compares_the_code():
    from vireid_lib.fingerprint import staleness

    pre = {"identity": "p", "code": "a", "code_alt": "b", "train_data": "t", "weights": "w"}
    now = {"code": "c", "code_alt": "d", "train_data": "x", "test_data": "y", "pretraining": pre}
    assert staleness(now, now) is None
    assert staleness({k: v for k, v in now.items() if k != "pretraining"}, now) == "pretraining"  # before it existed
    assert staleness({**now, "pretraining": {**pre, "code": "z"}}, now) is None  # one grid agrees: the same code
    for key in ("identity", "train_data", "weights"):
        assert staleness({**now, "pretraining": {**pre, key: "z"}}, now) == "pretraining"
    assert staleness({**now, "pretraining": {**pre, "code": "z", "code_alt": "z"}}, now) == "pretraining"
    assert staleness({**now, "code": "z", "code_alt": "z"}, now) == "code"  # its own code first


def test_a_failed_pretraining_is_not_trained_again_by_each_run_that_starts_from_it(monkeypatch):
    import json

    from vireid_lib import fingerprint as fp
    from vireid_lib.errors import VireidError
    from vireid_lib.experiments import run_path

    c = _cfg(**{"model.synthetic_pretrain_ids": 16})
    pre = pretraining_config(c)
    folder = run_path(pre)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / engine.FAILED_NAME).write_text(json.dumps(
        {"epoch": 2, "batch": 3, "loss": {"total": float("nan")}, "fingerprint": fp.fingerprint(pre)}))
    monkeypatch.setattr(engine, "train_step", lambda *a, **k: pytest.fail("trained the failed pretraining again"))
    with pytest.raises(VireidError, match="non-finite at epoch 2, batch 3.*delete failed.json"):
        run(c, progress_bar=False, log=False)


def test_a_run_whose_test_data_alone_changed_is_evaluated_again_without_its_pretraining(tmp_path, monkeypatch):
    import json
    import shutil

    from vireid_lib.experiments import run_path

    c = _cfg()
    run(c, progress_bar=False, log=False)
    copy = tmp_path / "run"
    shutil.copytree(run_path(c), copy, ignore=shutil.ignore_patterns("stale"))
    final = json.loads((copy / "final.json").read_text())
    today = final["fingerprint"]["test_data"]
    final["fingerprint"]["test_data"] = "0" * 16  # evaluated on other test data
    (copy / "final.json").write_text(json.dumps(final))
    monkeypatch.setattr(engine, "train_step", lambda *a, **k: pytest.fail("trained instead of evaluated"))
    again = engine.train(c, copy, progress_bar=False, log=False, backbone=None)
    assert again["fingerprint"]["test_data"] == today and again["reevaluated"]["fingerprint"]["test_data"] == "0" * 16
    with pytest.raises(ValueError, match="starts from a synthetic pretraining"):
        engine.train(c, tmp_path / "new", progress_bar=False, log=False, backbone=None)  # training needs it
    # and experiments.run, on the registry's own folder, does not read the pretraining for it either
    from vireid_lib import experiments

    path = run_path(c)
    saved = (path / "final.json").read_text()
    (path / "final.json").write_text(json.dumps(final))
    monkeypatch.setattr(experiments, "pretrained_backbone", lambda *a, **k: pytest.fail("read the pretraining"))
    try:
        assert experiments.run(c, progress_bar=False, log=False)["fingerprint"]["test_data"] == today
    finally:
        (path / "final.json").write_text(saved)


def test_shards_need_the_pretraining_trained_once_beforehand(monkeypatch):
    from vireid_lib import config
    from vireid_lib.errors import VireidError
    from vireid_lib.experiments import grid_runs, is_finished, run_grid, unique_runs

    smoke = {**config.EXPERIMENT_PROFILES["smoke"], "by_dataset": {"regdb": {"model.synthetic_pretrain_ids": 20}}}
    monkeypatch.setitem(config.EXPERIMENT_PROFILES, "smoke", smoke)
    pre = pretraining_config(unique_runs(grid_runs(["regdb_baseline"], "smoke", (0,)))[0])
    assert not is_finished(pre)
    with pytest.raises(VireidError, match="--pretraining-only.*different weights"):
        run_grid(["regdb_baseline"], "smoke", (0,), shard_index=1, shard_count=2, progress_bar=False)
    s = run_grid(["regdb_baseline"], "smoke", (0,), shard_count=2, progress_bar=False, pretraining_only=True)
    assert (s["total"], s["trained"]) == (1, 1) and is_finished(pre)
    monkeypatch.setattr(engine, "train_step", lambda *a, **k: pytest.fail("trained a run"))
    s = run_grid(["regdb_baseline"], "smoke", (0,), shard_index=1, shard_count=2, progress_bar=False,
                 budget_minutes=0)  # now the shard starts (a budget of 0 trains nothing); the pretraining counts
    assert (s["finished"], s["trained"], s["failed"]) == (1, 0, 0) and s["pending"] == s["total"] - 1


def test_a_grid_skips_the_runs_of_a_failed_pretraining_in_one_line(monkeypatch, capsys):
    import json

    from vireid_lib import config
    from vireid_lib import fingerprint as fp
    from vireid_lib.experiments import grid_runs, run_grid, run_path, unique_runs

    smoke = {**config.EXPERIMENT_PROFILES["smoke"], "by_dataset": {"regdb": {"model.synthetic_pretrain_ids": 24}}}
    monkeypatch.setitem(config.EXPERIMENT_PROFILES, "smoke", smoke)
    runs = unique_runs(grid_runs(["regdb_baseline"], "smoke", (0,)))
    pre = pretraining_config(runs[0])
    run_path(pre).mkdir(parents=True, exist_ok=True)
    (run_path(pre) / engine.FAILED_NAME).write_text(json.dumps(
        {"epoch": 1, "batch": 1, "loss": {}, "fingerprint": fp.fingerprint(pre)}))
    monkeypatch.setattr(engine, "train_step", lambda *a, **k: pytest.fail("trained a run"))
    s = run_grid(["regdb_baseline"], "smoke", (0,), progress_bar=False)  # no GridRunsFailed: nothing was tried
    assert (s["total"], s["failed"], s["trained"], s["pending"]) == (len(runs) + 1, len(runs) + 1, 0, 0)
    assert f"skipped {len(runs)} run(s) that start from that pretraining" in capsys.readouterr().out
