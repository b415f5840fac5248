import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vireid_lib.data import IdentitySampler
from vireid_lib.errors import DataError


def labels(n_ids, per_id, rng):
    return np.repeat(np.arange(n_ids), rng.integers(1, per_id + 1, n_ids))


@settings(max_examples=40, deadline=None)
@given(n_ids=st.integers(2, 20), P=st.integers(1, 8), K=st.integers(1, 5), seed=st.integers(0, 100))
def test_every_batch_has_P_ids_times_K_visible_plus_K_infrared(n_ids, P, K, seed):
    rng = np.random.default_rng(seed)
    vis, ir = labels(n_ids, 12, rng), labels(n_ids, 6, rng)
    if P > n_ids:
        with pytest.raises(DataError, match="at least"):
            IdentitySampler(vis, ir, P, K, seed)
        return
    s = IdentitySampler(vis, ir, P, K, seed)
    batches = list(s.epoch(0))
    assert len(batches) == s.__len__() and len(batches) * P * K >= max(len(vis), len(ir))
    for v, i in batches:
        assert len(v) == len(i) == P * K
        assert np.array_equal(vis[v], ir[i])  # the i-th visible and i-th infrared image share an identity
        ids, counts = np.unique(vis[v], return_counts=True)
        assert len(ids) == P and (counts == K).all()


def test_paper_batch_is_8_ids_by_4_plus_4():
    rng = np.random.default_rng(0)
    vis_labels, ir_labels = labels(30, 20, rng), labels(30, 10, rng)
    s = IdentitySampler(vis_labels, ir_labels, P=8, K=4)
    assert s.batch_size == 64
    v, i = next(iter(s.epoch(0)))  # one real batch: 8 ids, each with 4 visible and 4 infrared images
    assert len(v) == len(i) == 32 and len(v) + len(i) == s.batch_size
    assert (vis_labels[v].reshape(8, 4) == ir_labels[i].reshape(8, 4)).all()
    assert len(np.unique(vis_labels[v])) == 8


def test_epochs_are_reproducible_different_and_resumable():
    rng = np.random.default_rng(1)
    vis, ir = labels(10, 10, rng), labels(10, 5, rng)
    a = list(IdentitySampler(vis, ir, 4, 2, seed=3).epoch(5))
    b = list(IdentitySampler(vis, ir, 4, 2, seed=3).epoch(5))
    c = list(IdentitySampler(vis, ir, 4, 2, seed=3).epoch(6))
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=False))
    resumed = list(IdentitySampler(vis, ir, 4, 2, seed=3).epoch(5, start=2))
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a[2:], resumed, strict=True))


def test_without_replacement_when_an_identity_has_enough_images():
    vis = np.repeat(np.arange(4), 8)
    s = IdentitySampler(vis, vis, P=4, K=4)
    for v, _ in s.epoch(0):
        for c in range(4):
            assert len(set(v[vis[v] == c].tolist())) == 4


def test_identity_in_one_modality_only_is_an_error():
    with pytest.raises(DataError, match=r"labels \[2\] are in only one"):
        IdentitySampler(np.array([0, 1, 2]), np.array([0, 1, 1]), P=1, K=1)


def test_the_agw_sampler_draws_an_identitys_images_with_replacement():
    vis = np.repeat(np.arange(10), 20)  # 20 images per identity: "balanced" never repeats one within a batch
    ir = np.repeat(np.arange(10), 20)
    rep = {"balanced": 0, "agw": 0}
    for mode in rep:
        s = IdentitySampler(vis, ir, P=4, K=4, seed=0, replacement=mode)
        for v, _ in s.epoch(0):
            rep[mode] += sum(len(set(v[k:k + 4].tolist())) < 4 for k in range(0, len(v), 4))
    assert rep["balanced"] == 0 and rep["agw"] > 0
