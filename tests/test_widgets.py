"""The explorers of notebooks 02, 06 and 08 (vireid_lib.viz.widgets): the static figure a batch run stores, the
widget JupyterLab shows, and the retrieval summaries the query picker reads (vireid_lib.retrieval)."""

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from vireid_lib.retrieval import Retrieval, agreement, camera_rule_effect, outcomes
from vireid_lib.viz import widgets


@pytest.fixture
def batch(monkeypatch):
    monkeypatch.setenv("VIREID_BATCH_RUN", "1")


@pytest.fixture
def kernel(monkeypatch):
    """As if in JupyterLab: widgets are built (display() prints outside a kernel)."""
    monkeypatch.setattr(widgets, "interactive", lambda: True)


def images(n=3, h=8, w=4):
    return np.random.default_rng(0).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_interactive_is_false_in_a_batch_run_and_outside_a_kernel(batch, monkeypatch):
    assert not widgets.interactive()
    monkeypatch.delenv("VIREID_BATCH_RUN")
    assert not widgets.interactive()  # pytest runs no IPython kernel


def test_channel_matrices_are_rccs_seven_then_the_extra_ones():
    mats = widgets.channel_matrices({"R→all": np.tile([1, 0, 0], (3, 1))})
    assert list(mats)[:7] == ["RGB", "RBG", "BGR", "BRG", "GBR", "GRB", "gray"] and "R→all" in mats
    np.testing.assert_array_equal(mats["BGR"], [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="3×3"):
        widgets.channel_matrices({"bad": np.eye(2)})


def test_recolour_applies_the_matrix_to_each_pixel():
    img = images(1)
    out = widgets.recolour(img, widgets.channel_matrices()["BGR"])
    np.testing.assert_allclose(out[..., 0], img[..., 2] / 255.0, rtol=1e-6)
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1


def test_rcc_explorer_builds_its_widget_in_a_kernel(batch, kernel):
    box = widgets.rcc_explorer(images())
    assert isinstance(box, W.VBox)
    plt.close("all")


def test_rcc_explorer_falls_back_to_a_figure_in_a_batch_run(batch):
    fig = widgets.rcc_explorer(images(), extra={"G→all": np.tile([0, 1, 0], (3, 1))})
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * 8
    plt.close(fig)


def curves():
    rows = [{"sweep": s, "x": x, "seed": seed, "R1": 50 + x + seed, "mAP": 40 + x}
            for s in ("θ1", "θ2") for x in (0.2, 0.6, 1.0) for seed in (0, 1, 2)]
    return pd.DataFrame(rows)


def test_theta_band_is_the_mean_plus_minus_what_was_asked():
    t = widgets._band(curves()[curves()["sweep"] == "θ1"], "R1", "±1 sd").set_index("x")
    np.testing.assert_allclose(t.loc[0.6, "mean"], 51.6)
    np.testing.assert_allclose(t.loc[0.6, "high"] - t.loc[0.6, "mean"], 1.0)  # seeds 0, 1, 2: sd 1
    r = widgets._band(curves()[curves()["sweep"] == "θ1"], "R1", "range").set_index("x")
    assert (r.loc[0.6, "low"], r.loc[0.6, "high"]) == (50.6, 52.6)
    one_seed = curves().query("seed == 0 and sweep == 'θ1'")
    assert widgets._band(one_seed, "R1", "±1 sd")["low"].isna().all()  # one seed: no band


def test_theta_browser_static_and_widget(batch, kernel, monkeypatch):
    fig = widgets.theta_figure(curves(), {"θ1": 0.6, "θ2": 1.8}, {"θ2": [1.0]})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    plt.close(fig)
    assert isinstance(widgets.theta_browser(curves(), {"θ1": 0.6, "θ2": 1.8}), W.VBox)
    monkeypatch.setattr(widgets, "interactive", lambda: False)
    fig = widgets.theta_browser(curves(), {"θ1": 0.6, "θ2": 1.8})
    assert isinstance(fig, Figure)
    plt.close("all")


def toy_retrieval(dist):
    """2 identities; gallery: id 0 in cams 1 and 2, id 1 in cam 4; queries: id 0 from cam 3, id 1 from cam 6."""
    dist = np.asarray(dist, dtype=float)
    g_pids, g_cams = np.array([0, 0, 1]), np.array([1, 2, 4])
    q_pids, q_cams = np.array([0, 1]), np.array([3, 6])
    from vireid_lib.evaluation import top_k

    top = top_k(dist, q_cams, g_cams, 3)
    return Retrieval(images(2), q_pids, q_cams, images(3), g_pids, g_cams, top,
                     [dist[q, t] for q, t in enumerate(top)], {}, dist)


def test_outcomes_agreement_and_the_camera_rule():
    good = toy_retrieval([[0.5, 0.1, 0.9], [0.9, 0.8, 0.1]])  # query 0's best match is camera 2: dropped by the rule
    bad = toy_retrieval([[0.5, 0.1, 0.2], [0.1, 0.8, 0.9]])
    o = outcomes({"good": good, "bad": bad})
    assert o["good first match"].tolist() == [1, 1] and o["good right"].tolist() == [True, True]
    assert o["bad first match"].tolist() == [2, 3] and not o["bad right"].any()
    assert o["good top cam"].tolist() == [1, 4]  # camera 2 never ranks for the camera-3 query
    a = agreement(o, "good", "bad").set_index("rank-1 outcome")
    assert a.loc["only good right", "queries"] == 2 and a.loc["both right", "queries"] == 0
    assert a.loc["only good right", "bad: median rank of the right person"] == 2.5
    unmatched = o.assign(**{"bad first match": [2, 0]})  # query 1's person not in the gallery: left out
    assert agreement(unmatched, "good", "bad")["queries"].sum() == 1
    eff = camera_rule_effect({"good": good}).iloc[0]
    assert eff["camera-3 queries"] == 1 and eff["gallery images removed per camera-3 query"] == 1
    assert eff["of them the query's own person (mean)"] == 1.0
    with pytest.raises(ValueError, match="distance matrix"):
        outcomes({"x": Retrieval(*[getattr(good, f) for f in ("query_images", "query_pids", "query_cams",
                  "gallery_images", "gallery_pids", "gallery_cams", "top", "dist", "metrics")])})


def test_query_picker_static_shows_each_models_telling_queries(batch, kernel, monkeypatch):
    good = toy_retrieval([[0.5, 0.1, 0.9], [0.9, 0.8, 0.1]])
    bad = toy_retrieval([[0.5, 0.1, 0.2], [0.1, 0.8, 0.9]])
    res = {"good": good, "bad": bad}
    o = outcomes(res)
    f = widgets.query_filters(o, ["good", "bad"])
    assert f["only good right"].tolist() == [0, 1] and len(f["only bad right"]) == 0 and "camera 3" in f
    assert widgets.example_queries(o, ["good", "bad"]) in ([0], [1])
    assert isinstance(widgets.query_picker(res, o, k=2), W.VBox)
    monkeypatch.setattr(widgets, "interactive", lambda: False)
    fig = widgets.query_picker(res, o, k=2)
    assert isinstance(fig, Figure)
    plt.close("all")
