"""Metrics and protocols against a plain re-implementation of the reference code and hand-computed cases."""

import os
import random

import numpy as np
import pytest

from vireid_lib.data import SYSUMM01
from vireid_lib.evaluation import evaluate_regdb, evaluate_sysu, rank_metrics, sysu_gallery_trial


def reference_eval(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20, sysu=True):
    """AGW's eval_sysu / eval_regdb written out loop by loop (stable sort for ties)."""
    num_q = distmat.shape[0]
    all_cmc, all_ap, all_inp = [], [], []
    for q in range(num_q):
        order = np.argsort(distmat[q], kind="stable")
        keep = [not (sysu and q_cams[q] == 3 and g_cams[j] == 2) for j in order]
        ranked = [g_pids[j] for j, k in zip(order, keep, strict=True) if k]
        matches = [p == q_pids[q] for p in ranked]
        if not any(matches):
            continue
        if sysu:
            seen = []
            for p in ranked:
                if p not in seen:
                    seen.append(p)
            first = seen.index(q_pids[q])
        else:
            first = matches.index(True)
        cmc = [1.0 if r >= first else 0.0 for r in range(max_rank)]
        all_cmc.append(cmc)
        pos = [i for i, m in enumerate(matches) if m]
        all_ap.append(np.mean([(k + 1) / (p + 1) for k, p in enumerate(pos)]))
        all_inp.append(len(pos) / (pos[-1] + 1))
    return np.mean(all_cmc, 0), np.mean(all_ap), np.mean(all_inp)


@pytest.mark.parametrize("sysu", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_vectorised_metrics_equal_the_plain_reference(sysu, seed):
    rng = np.random.default_rng(seed)
    nq, ng, nid = 40, 60, 12
    q_pids, g_pids = rng.integers(0, nid + 3, nq), rng.integers(0, nid, ng)  # some queries have no match
    q_cams, g_cams = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    distmat = np.round(rng.random((nq, ng)), 1)  # many ties
    m = rank_metrics(distmat, q_pids, g_pids, q_cams, g_cams, sysu_camera_rule=sysu, unique_ids=sysu)
    cmc, mAP, mINP = reference_eval(distmat, q_pids, g_pids, q_cams, g_cams, sysu=sysu)
    np.testing.assert_allclose(m.cmc, cmc)
    assert m.mAP == pytest.approx(mAP) and m.mINP == pytest.approx(mINP)
    assert m.num_valid < nq


def test_hand_computed_case_with_camera_rule_unique_ids_and_an_unmatched_query():
    #          pid  cam  distance to each query
    gallery = [(2, 2), (1, 2), (3, 1), (1, 1), (3, 4), (1, 5)]
    g_pids = np.array([p for p, _ in gallery])
    g_cams = np.array([c for _, c in gallery])
    d = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]] * 4)
    q_pids, q_cams = np.array([1, 1, 3, 9]), np.array([3, 6, 6, 3])
    m = rank_metrics(d, q_pids, g_pids, q_cams, g_cams)
    # q0 (cam 3) loses both camera-2 entries: pid3, pid1, pid3, pid1 → id rank 2, AP (1/2+2/4)/2, INP 2/4
    # q1 (cam 6): pid2, pid1, pid3, pid1, pid3, pid1 → id rank 2, AP (1/2+2/4+3/6)/3 = 1/2, INP 3/6
    # q2 (cam 6), pid 3: ids pid2, pid1, pid3 → rank 3; positives at 3 and 5: AP (1/3+2/5)/2, INP 2/5
    # q3: pid 9 is not in the gallery: not counted
    assert m.num_valid == 3
    np.testing.assert_allclose(m.cmc[:4], [0, 2 / 3, 1, 1])
    assert m.mAP == pytest.approx((0.5 + 0.5 + (1 / 3 + 2 / 5) / 2) / 3)
    assert m.mINP == pytest.approx((0.5 + 0.5 + 0.4) / 3)
    # the same ranking scored like RegDB: every image counts in the CMC, no camera rule
    r = rank_metrics(d, q_pids, g_pids, q_cams, g_cams, sysu_camera_rule=False, unique_ids=False)
    np.testing.assert_allclose(r.cmc[:4], [0, 2 / 3, 1, 1])
    r2 = rank_metrics(d[2:3], q_pids[2:3], g_pids, q_cams[2:3], g_cams, sysu_camera_rule=False, unique_ids=False)
    assert r2.cmc[1] == 0 and r2.cmc[2] == 1  # first pid-3 image is 3rd


def test_ties_are_broken_by_gallery_order():
    d = np.array([[0.5, 0.5]])
    first_wrong = rank_metrics(d, np.array([1]), np.array([2, 1]), np.array([6]), np.array([1, 1]))
    first_right = rank_metrics(d, np.array([1]), np.array([1, 2]), np.array([6]), np.array([1, 1]))
    assert first_wrong.cmc[0] == 0 and first_right.cmc[0] == 1


def agw_process_gallery_sysu(data_path, mode, trial):
    """AGW's data_manager.process_gallery_sysu, as published (single-shot)."""
    random.seed(trial)
    rgb_cameras = ["cam1", "cam2", "cam4", "cam5"] if mode == "all" else ["cam1", "cam2"]
    with open(os.path.join(data_path, "exp/test_id.txt")) as file:
        ids = file.read().splitlines()
        ids = [int(y) for y in ids[0].split(",")]
        ids = ["%04d" % x for x in ids]  # noqa: UP031 (the reference, verbatim)
    files_rgb = []
    for id in sorted(ids):
        for cam in rgb_cameras:
            img_dir = os.path.join(data_path, cam, id)
            if os.path.isdir(img_dir):
                new_files = sorted([img_dir + "/" + i for i in os.listdir(img_dir)])
                files_rgb.append(random.choice(new_files))
    return files_rgb


@pytest.mark.parametrize("mode", ["all", "indoor"])
def test_gallery_sampling_is_the_agw_galleries(sysu_root, mode):
    g = SYSUMM01(sysu_root).gallery_candidates(mode)
    for trial in range(3):
        ours = [str(g.abspath(i)) for i in sysu_gallery_trial(g, trial, shots=1)]
        assert ours == agw_process_gallery_sysu(str(sysu_root), mode, trial)
    # one image per (id, camera) in single-shot; up to 10 without repeats in multi-shot
    idx = sysu_gallery_trial(g, 0, shots=1)
    assert len(idx) == len(set(zip(g.pids.tolist(), g.cams.tolist(), strict=True)))
    multi = sysu_gallery_trial(g, 0, shots=10)
    assert len(set(multi.tolist())) == len(multi) == len(g)  # smoke data has < 10 images per camera


def test_sysu_protocol_perfect_features_give_perfect_scores_and_random_ones_chance(sysu_root):
    ds = SYSUMM01(sysu_root)
    q, g = ds.query(), ds.gallery_candidates("all")
    onehot = lambda pids: np.eye(10000)[pids]  # noqa: E731
    res = evaluate_sysu(onehot(q.pids), onehot(g.pids), q, g, trials=3)
    assert res.mean["R1"] == 100 and res.mean["mAP"] == 100 and len(res.trials) == 3
    rnd = np.random.default_rng(0)
    res = evaluate_sysu(rnd.normal(size=(len(q), 16)), rnd.normal(size=(len(g), 16)), q, g, trials=10)
    assert res.mean["R1"] < 60 and res.to_dict()["gallery_sampler"].startswith("AGW")


def test_regdb_directions_swap_query_and_gallery(regdb_root):
    from vireid_lib.data import RegDB

    tv, tt = RegDB(regdb_root).test(1)
    rnd = np.random.default_rng(0)
    fv, ft = rnd.normal(size=(len(tv), 8)), rnd.normal(size=(len(tt), 8))
    a = evaluate_regdb(fv, ft, tv, tt, "v2t")
    b = evaluate_regdb(fv, ft, tv, tt, "t2v")
    assert a.num_queries == len(tv) and b.num_queries == len(tt)
    assert a.mAP != b.mAP
    perfect = evaluate_regdb(np.eye(100)[tv.pids], np.eye(100)[tt.pids], tv, tt, "t2v")
    assert perfect.cmc[0] == 1 and perfect.mINP == 1


def test_each_dataset_declares_its_protocol_and_an_unknown_one_is_refused():
    from vireid_lib.data import SYSUMM01, RegDB
    from vireid_lib.evaluation import PROTOCOLS, evaluate_dataset

    assert {SYSUMM01.PROTOCOL, RegDB.PROTOCOL} <= set(PROTOCOLS)

    class Other:
        PROTOCOL = "llcm"

    with pytest.raises(ValueError, match="no known evaluation protocol.*llcm"):
        evaluate_dataset(Other(), lambda images: None, None)
