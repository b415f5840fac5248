"""Stale runs are never reused: a change of the training numerics marks exactly the affected runs stale, a refactor
that computes the same numbers marks none; a stale run is trained again (its old result kept), a run whose test data
alone changed is evaluated again."""

import json

import pytest
import torch
import torch.nn.functional as F

from vireid_lib import engine, losses
from vireid_lib import fingerprint as fp
from vireid_lib.config import experiment_config
from vireid_lib.grids import TABLE1


def smoke(**kw):
    return experiment_config("smoke", **kw)


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path):
    """Fingerprints computed again (not read from the process or disk caches), as after an edit of the code."""
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path / "data"))
    fp._code_fingerprint_cached.cache_clear()
    yield
    fp._code_fingerprint_cached.cache_clear()


def _recompute(cfg) -> str:
    """The code fingerprint traced again now (neither the process's nor the disk's cache)."""
    return fp.trace_hashes(fp._code_trace(fp.code_signature(cfg)))["code"]


def test_editing_symmetric_kl_marks_the_dml_runs_stale_and_no_other(monkeypatch, fresh_cache):
    full, no_dml, baseline = (r.config("smoke", 0) for r in (TABLE1[6], TABLE1[5], TABLE1[0]))
    before = {name: _recompute(c) for name, c in (("full", full), ("no_dml", no_dml), ("baseline", baseline))}
    real = losses.symmetric_kl

    def edited(teacher, student, detach_teacher=True):  # a learner's edit: a 10 % larger KL
        return 1.1 * real(teacher, student, detach_teacher)

    monkeypatch.setattr(losses, "symmetric_kl", edited)
    after = {name: _recompute(c) for name, c in (("full", full), ("no_dml", no_dml), ("baseline", baseline))}
    assert after["full"] != before["full"]
    assert after["no_dml"] == before["no_dml"] and after["baseline"] == before["baseline"]


def test_a_refactor_that_computes_the_same_numbers_changes_nothing(monkeypatch, fresh_cache):
    full = TABLE1[6].config("smoke", 0)
    before = _recompute(full)

    def renamed_and_reordered(teacher_logits, student_logits, detach_teacher=True):
        """The same symmetric KL, written another way (F.kl_div, other names, other order of operations)."""
        t = teacher_logits.detach() if detach_teacher else teacher_logits
        log_p_teacher, log_p_student = F.log_softmax(t, 1), F.log_softmax(student_logits, 1)
        forward = F.kl_div(log_p_student, log_p_teacher, log_target=True, reduction="none").sum(1)
        backward = F.kl_div(log_p_teacher, log_p_student, log_target=True, reduction="none").sum(1)
        return ((backward + forward) / 2).mean()

    x, y = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    torch.testing.assert_close(renamed_and_reordered(x, y), losses.symmetric_kl(x, y))
    monkeypatch.setattr(losses, "symmetric_kl", renamed_and_reordered)
    assert _recompute(full) == before


def test_fingerprints_depend_on_the_settings_that_change_numerics_not_on_mechanics(fresh_cache):
    a = smoke()
    assert fp.code_fingerprint(a) == fp.code_fingerprint(smoke(seed=4, **{"train.compile": True,
                                                                        "train.channels_last": True}))
    assert fp.code_fingerprint(a) != fp.code_fingerprint(smoke(**{"loss.theta2": 1.0}))
    assert fp.code_fingerprint(a) != fp.code_fingerprint(smoke(**{"aug.rcc": False}))
    assert fp.code_fingerprint(a) != fp.code_fingerprint(smoke(**{"train.sampler": "agw"}))
    assert fp.code_fingerprint(a) != fp.code_fingerprint(smoke(**{"loss.wrt_numerics": "agw"}))


def test_quantisation_absorbs_last_digit_noise_but_not_a_change():
    x = [0.123456789, 1e-17, -3.3]  # 6 significant digits of the largest magnitude
    noisy = [0.123456789 * (1 + 1e-15), -2e-17, -3.3 * (1 - 1e-15)]
    for grid in ("round", "shifted"):  # both grids: noise near 0 and near whole units is absorbed by each
        q = lambda v, grid=grid: fp._quantise(v, grid)  # noqa: E731
        assert q(x) == q(noisy) and q([3.0, 1.0, 0.0]) == q([3.0, 1.0 * (1 - 1e-15), -1e-17])
        assert q(x) != q([0.1235, 0.0, -3.3]) and q(x) != q([0.12348, 0.0, -3.3])


def test_last_digit_noise_on_a_rounding_boundary_changes_one_hash_never_both():
    """The bug this guards against: Table 3 "none" traced one number to -54148.5 ± 2e-5 units, so 1 and 2 torch
    threads gave two `code` hashes for the same code. Noise on one grid's boundary is
    a quarter unit from the other's."""
    base = {"a": fp._q([0.5, 626432.0, -54148.5 + 1e-7]), "b": fp._q([3.0, 1.0]), "n": [1, 2]}
    noisy = {"a": fp._q([0.5, 626432.0, -54148.5 - 1e-7]), "b": fp._q([3.0 + 1e-9, 1.0]), "n": [1, 2]}
    h0, h1 = fp.trace_hashes(base), fp.trace_hashes(noisy)
    assert h0["code"] != h1["code"] and h0["code_alt"] == h1["code_alt"]  # the boundary sits on the rounding grid
    data = {"train_data": "d", "test_data": "d"}
    assert fp.staleness({**h0, **data}, {**h1, **data}) is None
    on_shifted = (fp.trace_hashes({"a": fp._q([626432.0, 7.75 - 1e-7])}),  # a boundary of the shifted grid
                  fp.trace_hashes({"a": fp._q([626432.0, 7.75 + 1e-7])}))
    assert on_shifted[0]["code"] == on_shifted[1]["code"] and on_shifted[0]["code_alt"] != on_shifted[1]["code_alt"]
    changed = fp.trace_hashes({**base, "b": fp._q([3.001, 1.0])})  # a real change moves both
    assert changed["code"] != h0["code"] and changed["code_alt"] != h0["code_alt"]
    assert fp.staleness({**h0, "train_data": "d", "test_data": "d"},
                        {**changed, "train_data": "d", "test_data": "d"}) == "code"


def test_the_code_trace_runs_on_one_thread_whatever_the_callers_setting(monkeypatch, fresh_cache):
    """The trace's training steps see one thread (one order of reduction), the caller's setting is restored, and the
    raw traced numbers are bit for bit the same with the caller at 1 or 2 threads."""
    from vireid_lib import training

    cfg = TABLE1[6].config("smoke", 0)
    seen, real = [], training.train_step

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return real(*a, **k)

    monkeypatch.setattr(training, "train_step", spy)
    threads = torch.get_num_threads()
    raw = {}
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            trace = fp._code_trace(fp.code_signature(cfg))
            raw[n] = [x.a for x in _numbers(trace)]
            assert torch.get_num_threads() == n  # the caller's setting is restored
    finally:
        torch.set_num_threads(threads)
    assert seen and set(seen) == {1}
    assert len(raw[1]) == len(raw[2]) and all(a.tobytes() == b.tobytes() for a, b in zip(raw[1], raw[2], strict=True))


def _numbers(trace):
    if isinstance(trace, fp._Numbers):
        yield trace
    elif isinstance(trace, dict):
        for v in trace.values():
            yield from _numbers(v)
    elif isinstance(trace, (list, tuple)):
        for v in trace:
            yield from _numbers(v)


def test_a_run_recorded_with_one_code_hash_is_judged_on_it():
    """Runs recorded before ``code_alt`` existed carry ``code`` alone: fresh when it matches, stale otherwise."""
    now = {"code": "a", "code_alt": "b", "train_data": "d", "test_data": "d"}
    assert fp.staleness({"code": "a", "train_data": "d", "test_data": "d"}, now) is None
    assert fp.staleness({"code": "x", "train_data": "d", "test_data": "d"}, now) == "code"
    assert fp.staleness({"code": "x", "code_alt": "b", "train_data": "d", "test_data": "d"}, now) is None
    assert fp.staleness({"code": "x", "code_alt": "y", "train_data": "d", "test_data": "d"}, now) == "code"


def test_a_stale_run_is_set_aside_and_trained_again(tmp_path):
    cfg = smoke(**{"train.epochs": 1})
    first = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    assert engine.run_staleness(cfg, tmp_path) is None
    final = json.loads((tmp_path / "final.json").read_text())
    final["fingerprint"].update(code="0000000000000000", code_alt="0")  # as written by an older version of the code
    (tmp_path / "final.json").write_text(json.dumps(final))
    assert engine.run_staleness(cfg, tmp_path) == "code"
    again = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    assert again["fingerprint"] == first["fingerprint"] and again["results"] == first["results"]
    kept = tmp_path / "stale" / "0000000000000000" / "final.json"
    assert kept.exists() and json.loads(kept.read_text())["fingerprint"]["code"] == "0000000000000000"
    assert engine.run_staleness(cfg, tmp_path) is None


def test_a_run_whose_test_data_changed_is_evaluated_again_not_retrained(tmp_path):
    cfg = smoke(**{"train.epochs": 1})
    engine.train(cfg, tmp_path, progress_bar=False, log=False)
    final = json.loads((tmp_path / "final.json").read_text())
    final["fingerprint"]["test_data"] = "older test data"
    final["results"] = {k: {**v, "mean": {m: -1.0 for m in v["mean"]}} for k, v in final["results"].items()}
    (tmp_path / "final.json").write_text(json.dumps(final))
    weights = (tmp_path / "model.pt").read_bytes()
    assert engine.run_staleness(cfg, tmp_path) == "test data"
    again = engine.train(cfg, tmp_path, progress_bar=False, log=False)
    assert all(v >= 0 for r in again["results"].values() for v in r["mean"].values())  # today's numbers
    assert again["reevaluated"]["fingerprint"]["test_data"] == "older test data"
    assert (tmp_path / "model.pt").read_bytes() == weights  # not trained again
    assert engine.run_staleness(cfg, tmp_path) is None


def test_a_run_recorded_without_a_fingerprint_is_stale(tmp_path):
    cfg = smoke(**{"train.epochs": 1})
    engine.train(cfg, tmp_path, progress_bar=False, log=False)
    final = json.loads((tmp_path / "final.json").read_text())
    del final["fingerprint"]
    (tmp_path / "final.json").write_text(json.dumps(final))
    assert engine.run_staleness(cfg, tmp_path) == "code"


def test_a_stale_run_shows_as_stale_in_the_registry_and_the_tables(monkeypatch, tmp_path):
    from vireid_lib import experiments
    from vireid_lib.tables import grid_long

    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    cfg = TABLE1[0].config("smoke", 0).with_overrides(**{"train.eval_every": 0})
    experiments.run(cfg, progress_bar=False, log=False)
    assert experiments.status(cfg) == "finished" and experiments.is_finished(cfg)
    path = experiments.run_path(cfg) / "final.json"
    final = json.loads(path.read_text())
    final["fingerprint"].update(code="edited", code_alt="edited")
    path.write_text(json.dumps(final))
    assert experiments.status(cfg) == "stale (code changed)" and not experiments.is_finished(cfg)
    long = grid_long("table1", "smoke")
    assert set(long[long["row"] == "Baseline"]["stale"]) == {"code"}


def test_a_learner_reuses_fresh_study_runs_and_trains_stale_or_new_ones_in_scratch(monkeypatch, tmp_path):
    from vireid_lib import experiments
    from vireid_lib.paths import STUDY_RUN_ENV

    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path))
    cfg = TABLE1[0].config("smoke", 0).with_overrides(**{"train.eval_every": 0})
    monkeypatch.setenv(STUDY_RUN_ENV, "1")  # the study's reproduction trains the committed run
    study = experiments.run_path(cfg)
    experiments.run(cfg, progress_bar=False, log=False)
    assert study == tmp_path / "runs" / "smoke" / engine.run_identity(cfg)
    monkeypatch.delenv(STUDY_RUN_ENV)  # a learner in JupyterLab
    assert experiments.run_path(cfg) == study  # fresh: reused
    other = cfg.with_overrides(**{"loss.theta1": 0.3})
    assert experiments.run_path(other).is_relative_to(tmp_path / "scratch" / "runs")  # new: in scratch
    # a learner's interrupted run of the same configuration in scratch does not hide the fresh committed one
    leftover = tmp_path / "scratch" / "runs" / "smoke" / engine.run_identity(cfg)
    leftover.mkdir(parents=True)
    (leftover / "checkpoint.pt").write_bytes(b"interrupted")
    assert experiments.run_path(cfg) == study
    (leftover / "checkpoint.pt").unlink()
    final = json.loads((study / "final.json").read_text())
    # the learner edited the code: the committed run is stale for them
    final["fingerprint"].update(code="edited", code_alt="edited")
    (study / "final.json").write_text(json.dumps(final))
    before = {p: p.read_bytes() for p in study.rglob("*") if p.is_file() and p.name != ".lock"}
    experiments.run(cfg, progress_bar=False, log=False)
    assert experiments.run_path(cfg).is_relative_to(tmp_path / "scratch" / "runs")
    assert {p: p.read_bytes() for p in study.rglob("*") if p.is_file() and p.name != ".lock"} == before


@pytest.fixture
def fresh_generator(monkeypatch, tmp_path):
    """Generator fingerprints computed again, with an empty results folder (no committed record)."""
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("VIREID_STUDY_RUN", raising=False)
    fp.generator_fingerprint.cache_clear()
    yield tmp_path
    fp.generator_fingerprint.cache_clear()


def test_generator_fingerprints_are_per_dataset_and_the_study_records_them(monkeypatch, fresh_generator):
    sysu, regdb = fp.generator_fingerprint("sysu"), fp.generator_fingerprint("regdb")
    assert sysu != regdb and len(sysu) == 16
    assert not fp.generator_record_path().exists()  # a learner's run records nothing
    fp.generator_fingerprint.cache_clear()
    monkeypatch.setenv("VIREID_STUDY_RUN", "1")
    assert fp.generator_fingerprint("sysu") == sysu  # from the disk cache: the same bytes
    record = json.loads(fp.generator_record_path().read_text())
    assert record == {fp._generator_source(): {"sysu": sysu}}
    assert fp.data_fingerprints(smoke())["train_data"] != fp.data_fingerprints(
        smoke(**{"data.dataset": "regdb"}))["train_data"]


def test_a_fresh_clone_reads_the_committed_generator_fingerprints(fresh_generator):
    """Another CPU may round one pixel otherwise: the committed record, keyed by the generator's source, wins."""
    path = fp.generator_record_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({fp._generator_source(): {"sysu": "recorded-on-ci-00"},
                                "an older generator": {"sysu": "older"}}))
    assert fp.generator_fingerprint("sysu") == "recorded-on-ci-00"
    assert not (fresh_generator / "data" / "cache").exists() or not any(
        (fresh_generator / "data" / "cache").glob("fingerprints-generator*"))  # nothing generated
    path.write_text("<<<<<<< HEAD\n")
    fp.generator_fingerprint.cache_clear()
    with pytest.raises(ValueError, match="generator-fingerprints.json"):
        fp.generator_fingerprint("sysu")
    with pytest.raises(ValueError, match="dataset must be one of"):
        fp.generator_fingerprint("market1501")


def test_code_hash_sees_code_not_docstrings_comments_or_layout(tmp_path):
    """The key of results kept beside the runs (generator record, realism table, Grad-CAM summaries): a
    documentation edit keeps it, a change of what the code does changes it."""
    src = tmp_path / "m.py"
    src.write_text('"""Module."""\n\n\ndef f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n')
    base = fp.code_hash(src)
    src.write_text('"""The module, documented again."""\n\ndef f(x):\n    """Two times x, rewritten."""\n'
                   '    # a new comment\n    return (2 *\n            x)\n')
    assert fp.code_hash(src) == base
    src.write_text('"""Module."""\n\n\ndef f(x):\n    """Twice x."""\n    return 3 * x  # doubled\n')
    assert fp.code_hash(src) != base
    src.write_text('"""Module."""\n\n\ndef f(x):\n    """Twice x."""\n    return 2 * x\n\n\n'
                   'class C:\n    """Only a docstring."""\n')
    assert fp.code_hash(src) != base  # a new class, even with only a docstring, is code


def test_code_hash_is_the_same_for_every_build_of_the_pinned_torch(tmp_path, monkeypatch):
    """A CPU-only wheel (``2.14.1+cpu``) or one without a local tag is the pinned release: the keys of the committed
    record, realism table and Grad-CAM summaries must not move with the build (else every run would look stale)."""
    src = tmp_path / "m.py"
    src.write_text("def f(x):\n    return 2 * x\n")
    keys = set()
    for version in ("2.14.1+cu130", "2.14.1+cpu", "2.14.1"):
        monkeypatch.setattr(torch, "__version__", version)
        keys.add(fp.code_hash(src))
    assert len(keys) == 1
    monkeypatch.setattr(torch, "__version__", "2.15.0")
    assert fp.code_hash(src) not in keys  # another release is another key


def test_the_canonical_tree_leaves_out_empty_fields():
    """Python 3.12 adds ``type_params=[]`` to every function's tree in ast.dump; the canonical text has no empty or
    None fields, so the same code keeps its key across Python versions."""
    import ast

    tree = ast.parse("def f(x):\n    return x\n")
    text = fp._canonical(tree)
    assert "FunctionDef(name='f'" in text and "=[]" not in text and "=None" not in text
    assert fp._canonical(ast.parse("def f(x):\n    return x  # same\n")) == text


@pytest.fixture
def code_record(monkeypatch, tmp_path):
    """An empty results and data folder, nothing looked up yet, the process caches cleared before and after (a
    failing test leaves no fake fingerprint behind for the next)."""
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setattr(fp, "_looked_up", {})
    fp._code_fingerprint_cached.cache_clear()
    yield fp.code_record_path()
    fp._code_fingerprint_cached.cache_clear()


def test_a_fresh_clone_reads_the_committed_code_fingerprints_and_the_study_records_them(monkeypatch, code_record):
    """The code fingerprints of the study's grids are committed under the library's source hash: a fresh clone (no
    disk cache) reads them and traces nothing; an older code's entry is never read; the study's reproduce writes
    exactly what it looked up, for the current code only."""
    full, baseline = TABLE1[6].config("smoke", 0), TABLE1[0].config("smoke", 0)
    key = fp.stable_hash(fp.code_signature(full), n=16)
    recorded = {"code": "recorded-on-ci-00", "code_alt": "recorded-on-ci-01"}
    path = code_record
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({fp._library_source_hash(): {key: recorded},
                                "an older code": {fp.stable_hash(fp.code_signature(baseline), n=16): recorded}}))
    real_trace = fp._code_trace
    monkeypatch.setattr(fp, "_code_trace", lambda sig: pytest.fail("traced a recorded configuration"))
    assert fp.code_fingerprints(full) == recorded
    monkeypatch.setattr(fp, "_code_trace", real_trace)  # the older code's entry is not this code's: traced
    traced = fp.code_fingerprints(baseline)
    assert traced == _recompute_both(baseline) != recorded
    fp.write_code_record()
    assert json.loads(path.read_text()) == {fp._library_source_hash(): {
        key: recorded, fp.stable_hash(fp.code_signature(baseline), n=16): traced}}
    mtime = path.stat().st_mtime_ns
    fp.write_code_record()
    assert path.stat().st_mtime_ns == mtime  # unchanged: not rewritten
    path.write_text("<<<<<<< HEAD\n")
    fp._code_fingerprint_cached.cache_clear()
    with pytest.raises(ValueError, match="code-fingerprints.json"):
        fp.code_fingerprints(full)


def test_memoised_identities_follow_what_is_written_out_not_equality():
    """0 and 0.0 are equal configurations but name different runs when written out: the memo keeps them apart,
    whichever is asked for first."""
    import dataclasses

    from vireid_lib.runs import _run_identity, run_identity

    base = smoke()
    as_int = dataclasses.replace(base, train=dataclasses.replace(base.train, weight_decay=0))
    as_float = dataclasses.replace(base, train=dataclasses.replace(base.train, weight_decay=0.0))
    assert as_int == as_float
    for cfg in (as_int, as_float, as_int):
        assert run_identity(cfg) == _run_identity(cfg)
        assert fp._signature_key(cfg) == (fp.stable_hash(fp.code_signature(cfg), n=16),
                                          json.dumps(fp.code_signature(cfg), sort_keys=True))


def _recompute_both(cfg) -> dict:
    return fp.trace_hashes(fp._code_trace(fp.code_signature(cfg)))


def test_the_committed_code_fingerprints_are_the_codes_own():
    """When the committed record is for today's code, its entries are what tracing the code gives (two of the
    study's configurations traced again): a record can only spare a fresh clone the work, never change a verdict."""
    from vireid_lib.experiments import grid_runs, unique_runs
    from vireid_lib.grids import GRIDS
    record = json.loads((fp.LIBRARY.parent / "results" / "runs" / fp.CODE_RECORD_NAME).read_text())
    entries = record.get(fp._library_source_hash())
    if entries is None:
        pytest.skip("the committed record is for another version of the code (make reproduce writes it)")
    cfgs = unique_runs(grid_runs(list(GRIDS), "cpu"))
    by_key = {fp.stable_hash(fp.code_signature(c), n=16): c for c in cfgs}
    assert set(by_key) <= set(entries)
    for key in sorted(by_key)[:2]:  # the same code agrees on code or code_alt (another CPU may move one of them)
        assert not fp._code_changed(entries[key], _recompute_both(by_key[key]))
