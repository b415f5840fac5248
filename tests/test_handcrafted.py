"""Hand-crafted baselines: HOG and LOMO shapes and invariants, scoring under the protocols, the realism table."""

import numpy as np
import pandas as pd
import pytest

from vireid_lib import handcrafted as hc


def _images(n, h, w, seed=0):
    return (np.random.default_rng(seed).random((n, h, w, 3)) * 255).astype(np.uint8)


def test_hog_has_the_dalal_triggs_layout():
    f = hc.hog_features(_images(3, 128, 64))
    # 16×8 cells of 8×8 px → 15×7 blocks of 2×2 cells × 9 orientations
    assert f.shape == (3, 15 * 7 * 2 * 2 * 9) and f.dtype == np.float32
    blocks = f.reshape(3, 15 * 7, 36)
    assert (f >= 0).all() and np.allclose(np.linalg.norm(blocks, axis=2), 1.0, atol=1e-3)  # L2-Hys per block
    with pytest.raises(ValueError, match="128×64"):
        hc.hog_features(_images(1, 64, 32))


def test_lomo_has_liao_et_al_dimension_and_normalised_parts():
    f = hc.lomo_features(_images(4, 128, 48))
    rows = 24 + 11 + 5  # rows of 10×10 windows at stride 5 on 128×48, 64×24, 32×12
    assert f.shape == (4, (8**3 + 2 * 3**4) * rows) == (4, 26960)
    hsv, s3, s5 = f[:, : 512 * rows], f[:, 512 * rows : 593 * rows], f[:, 593 * rows :]
    for part in (hsv, s3, s5):
        assert np.allclose(np.linalg.norm(part, axis=1), 1.0, atol=1e-5)
    assert (f >= 0).all()


def test_lomo_colour_part_sees_hue_and_texture_part_does_not():
    """A channel swap changes the colour histogram, not the grey-level texture (SILTP of the luma is nearly
    unchanged only when luma is; a pure-grey image keeps both under any channel order)."""
    grey = np.repeat(_images(2, 128, 48)[..., :1], 3, axis=-1)
    assert np.allclose(hc.lomo_features(grey), hc.lomo_features(grey[..., ::-1]))
    img = _images(2, 128, 48, seed=1)
    a, b = hc.lomo_features(img), hc.lomo_features(img[..., ::-1].copy())
    assert not np.allclose(a[:, : 512 * 40], b[:, : 512 * 40])


def test_siltp_codes_are_scale_invariant():
    g = np.random.default_rng(0).random((2, 20, 20)) + 0.1
    codes = hc.siltp(g, tau=0.3, radius=3)
    assert codes.min() >= 0 and codes.max() <= 80
    assert np.array_equal(codes, hc.siltp(3.0 * g, tau=0.3, radius=3))  # scale invariant: a brighter scene


def test_max_occurrence_takes_each_bins_maximum_over_a_row_of_windows():
    codes = np.zeros((1, 20, 20), np.int64)
    codes[0, :10, :10] = 1  # one window full of code 1, in the first row of windows
    h = hc._max_occurrence(codes, bins=2)
    assert h.shape == (1, 3, 2)
    assert h[0, 0, 1] == 100 and h[0, 1, 1] == 50 and h[0, 2, 1] == 0


def test_scoring_on_the_smoke_data_under_the_protocols(smoke_cfg):
    import dataclasses

    from vireid_lib.data import open_dataset

    sysu = open_dataset(smoke_cfg, verbose=False)
    regdb = open_dataset(dataclasses.replace(smoke_cfg, dataset="regdb"), verbose=False)
    measured = hc.measure_realism(sysu, regdb, "test", trials=2, splits=(1, 2))
    assert set(measured) == set(hc.BANDS)
    for (protocol, _), m in measured.items():
        assert 0 <= m["R1"] <= m["R10"] <= m["R20"] <= 100 and 0 < m["mAP"] <= 100
        assert m["chance R1"] == pytest.approx(100 / (8 if protocol.startswith("SYSU") else 6))
    table = hc.realism_table(measured, "smoke")
    assert len(table) == 4 and set(table["in band"]) <= {"pass", "FAIL"}
    assert table["published R1"].tolist() == [2.76, 3.64, 13.49, 0.85]
    assert table["published source (real data)"].str.contains("Wu|Ye").all()


def test_identical_images_retrieve_themselves(smoke_cfg):
    """Sanity of descriptor + protocol: querying the gallery with its own images is perfect."""
    import dataclasses

    from vireid_lib.data import open_dataset
    from vireid_lib.evaluation import evaluate_regdb

    regdb = open_dataset(dataclasses.replace(smoke_cfg, dataset="regdb"), verbose=False)
    vis, _ = regdb.test(1)
    for name in hc.DESCRIPTORS:
        f = hc.describe(vis, name, workers=1)
        m = evaluate_regdb(f, f, vis, vis, "v2t", metric="euclidean")
        assert m.cmc[0] == 1.0 and m.mAP > 0.5


def test_the_realism_table_is_computed_once_and_kept_where_the_run_belongs(monkeypatch, tmp_path):
    """Committed with the study (results/runs/<profile>/ in the study's run), in scratch otherwise; read back."""
    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("VIREID_STUDY_RUN", raising=False)
    calls = []

    def fake_realism(profile, ids):
        calls.append((profile, ids))
        return pd.DataFrame([{"protocol": "p", "descriptor": "HOG", "synthetic R1": 2.5, "in band": "pass"}])

    monkeypatch.setattr(hc, "realism", fake_realism)
    first = hc.realism_recorded("smoke")
    again = hc.realism_recorded("smoke")
    assert calls == [("smoke", "test")] and again.equals(first)
    assert hc.realism_path("smoke").parent == tmp_path / "results" / "scratch" / "runs" / "smoke"
    monkeypatch.setenv("VIREID_STUDY_RUN", "1")
    study = hc.realism_path("smoke")
    assert study.parent == tmp_path / "results" / "runs" / "smoke" and not study.exists()
    hc.realism_recorded("smoke")
    assert study.exists() and len(calls) == 2
    monkeypatch.delenv("VIREID_STUDY_RUN")
    assert hc.realism_path("smoke") == study  # a learner's run reads the study's table once it exists
    study.write_text("<<<<<<< HEAD")
    with pytest.raises(ValueError, match="not a readable realism table"):
        hc.realism_recorded("smoke")


def test_the_realism_table_is_keyed_by_the_profiles_data_spec(monkeypatch, tmp_path):
    """A calibrated parameter of the profile's synthetic spec (here the near-infrared noise) changes the images but
    not the generator's code, so not its fingerprint: the realism table's key must follow the spec, else a table of
    the old world is read for the new one (as happened once: the committed table predated the NIR recalibration)."""
    import dataclasses

    from vireid_lib import config

    monkeypatch.setenv("VIREID_RESULTS_DIR", str(tmp_path / "results"))
    before = hc.realism_path("smoke")
    real = config.data_config

    def recalibrated(profile, *a, **k):
        cfg = real(profile, *a, **k)
        return dataclasses.replace(cfg, synthetic=dataclasses.replace(cfg.synthetic, noise_infrared=0.5))

    monkeypatch.setattr(config, "data_config", recalibrated)
    assert hc.realism_path("smoke") != before
    monkeypatch.setattr(config, "data_config", real)
    assert hc.realism_path("smoke") == before
