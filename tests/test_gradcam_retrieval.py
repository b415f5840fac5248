"""Grad-CAM maps (shape, not constant, in [0, 1]) and retrieval grids (frames agree with identities; the ranking
is the evaluation's)."""

import numpy as np
import pytest

from vireid_lib.config import experiment_config
from vireid_lib.evaluation import ranking
from vireid_lib.experiments import load_result, trained_model


@pytest.fixture(scope="module")
def trained():
    # 10 short epochs: a barely trained global branch often has no positive Grad-CAM evidence at all
    cfg = experiment_config("smoke", **{"data.height": 64, "data.width": 32, "train.epochs": 10, "train.eval_every": 0})
    return cfg, trained_model(cfg, progress_bar=False)


def test_cam_maps_have_the_image_size_and_are_not_constant(trained):
    from vireid_lib.gradcam import attention_study, spread

    cfg, model = trained
    study = attention_study(model, cfg, n=6, seed=1)
    for branch in ("global", "fusion"):
        maps = study[branch]
        assert maps.shape == (12, 64, 32)
        assert maps.min() >= 0 and maps.max() <= 1 + 1e-5
        flat = maps.reshape(12, -1)
        varying = (flat.max(1) - flat.min(1)) > 0.1
        assert varying.sum() >= 2, f"{branch}: the maps are constant"
        assert np.all(varying | (flat.max(1) == 0)), "a map is either all zero (no positive evidence) or varies"
        s = spread(maps)
        assert np.all((s[~np.isnan(s)] > 0) & (s[~np.isnan(s)] <= 1))
    assert study["modality"].count("visible") == study["modality"].count("infrared") == 6


def test_branch_embeddings_are_each_branchs_test_embedding(trained):
    """attention_study's references come from one forward pass for both branches: the same embeddings as the
    evaluation's extract_features gives branch by branch (with either test feature)."""
    import copy

    import torch

    from vireid_lib.data import load_images, open_dataset
    from vireid_lib.engine import extract_features
    from vireid_lib.gradcam import branch_embeddings

    cfg, model = trained
    ds = open_dataset(cfg.data, verbose=False)
    images = np.asarray(load_images(ds.query(), cfg.data.height, cfg.data.width))[:10]
    for feature in ("bn", "pool"):
        m = copy.deepcopy(model)
        m.cfg = type(m.cfg)(**{**m.cfg.__dict__, "test_feature": feature})
        both = branch_embeddings(m, images, "infrared", ["global", "fusion"], batch=4)
        for branch in ("global", "fusion"):
            alone = extract_features(m, images, "infrared", torch.device("cpu"), batch_size=4, branch=branch)
            np.testing.assert_allclose(both[branch].numpy(), alone, rtol=0, atol=1e-6)
        assert not np.allclose(both["global"].numpy()[:, :8], both["fusion"].numpy()[:, :8])


def test_spread_measures_area():
    from vireid_lib.gradcam import spread

    small = np.zeros((1, 10, 10))
    small[0, :2, :2] = 1
    wide = np.zeros((1, 10, 10))
    wide[0, :5] = 1
    assert spread(small)[0] == pytest.approx(0.04) and spread(wide)[0] == pytest.approx(0.5)
    assert np.isnan(spread(np.zeros((1, 4, 4)))[0])


def test_retrieval_grid_frames_agree_with_identities_and_the_protocols_ranking(trained):
    from vireid_lib.retrieval import choose_queries, retrieve
    from vireid_lib.viz.retrieval import GREEN, RED, TILE, retrieval_grid, tile_origin

    cfg, model = trained
    queries = choose_queries(cfg, 2, 2, seed=0)
    res = retrieve(model, cfg, queries, trial=0, k=5)
    fig, frames = retrieval_grid({"full": res}, k=5)
    assert (res.query_cams == 3).any() and (res.query_cams == 6).any()  # the chosen queries alternate cameras
    (ax,) = fig.axes  # one mosaic image in one axes
    mosaic = ax.images[0].get_array()
    fig.canvas.draw()  # drawn one pixel of the mosaic per pixel of the figure: nothing dropped or resampled
    (x0, y1), (x1, y0) = ax.transData.transform([(-0.5, -0.5), (mosaic.shape[1] - 0.5, mosaic.shape[0] - 0.5)])
    assert (x1 - x0, y1 - y0) == pytest.approx((mosaic.shape[1], mosaic.shape[0]), abs=1e-6)
    with pytest.raises(ValueError, match="at least 1"):
        retrieval_grid({"full": res}, k=0)
    titles = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    for q in range(len(queries)):
        shown = frames[("full", q)]
        assert [g for g, _, _ in shown] == res.top[q].tolist()
        for r, (g, _, _) in enumerate(shown):
            # what is drawn: the frame's pixels in that colour, a tick or a cross in the tile's title
            y, x = tile_origin(q, r + 1)
            img = np.asarray(mosaic[y:y + TILE[0], x:x + TILE[1]])
            true_id = res.gallery_pids[g] == res.query_pids[q]
            assert np.allclose(img[0, :], GREEN if true_id else RED) and np.allclose(img[:, -1], img[0, 0])
            assert titles[f"title-{q}-{r + 1}"].startswith("✓" if true_id else "✗")
        assert titles[f"title-{q}-0"] == "query" and f"title-{q}-6" not in titles  # k = 5 results, no more
        assert list(res.dist[q]) == sorted(res.dist[q])
        # the camera rule of the protocol: no camera-2 image for a camera-3 query
        if res.query_cams[q] == 3:
            assert 2 not in res.gallery_cams[res.top[q]]
    # the picture's ranking is the one the recorded metrics came from
    recorded = next(v for k, v in load_result(cfg)["results"].items() if "all-search" in k)["per_trial"][0]
    assert res.metrics["R1"] == pytest.approx(recorded["R1"]) and res.metrics["mAP"] == pytest.approx(recorded["mAP"])
    from vireid_lib.retrieval import metrics_vs_recorded

    t = metrics_vs_recorded({"full": res}, {"full": cfg}, trial=0).iloc[0]
    assert t["R1 (this ranking)"] == pytest.approx(recorded["R1"]) == pytest.approx(t["R1 (recorded)"])


def test_ranking_is_stable_and_applies_the_camera_rule():
    d = np.array([[0.2, 0.1, 0.1, 0.3]])
    order, keep = ranking(d, np.array([3]), np.array([1, 2, 4, 5]))
    assert order[0].tolist() == [1, 2, 0, 3] and keep[0].tolist() == [False, True, True, True]
