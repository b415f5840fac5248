"""The embedded synthetic dataset: layouts, determinism, caching, and the physics it claims to model."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from vireid_lib.config import SyntheticSpec
from vireid_lib.data import synthetic as S
from vireid_lib.data.common import list_images

SMOKE = SyntheticSpec(n_train_ids=12, n_val_ids=4, n_test_ids=8, images_per_camera=3, regdb_ids=12, height=64,
                      width=32)


def test_sysu_layout_matches_the_real_dataset(sysu_root):
    assert sorted(p.name for p in sysu_root.iterdir() if p.is_dir()) == [
        "cam1", "cam2", "cam3", "cam4", "cam5", "cam6", "exp"]
    ids = {}
    for split in ("train", "val", "test"):
        text = (sysu_root / "exp" / f"{split}_id.txt").read_text()
        assert text.count("\n") == 1  # one line of comma-separated ids
        ids[split] = [int(t) for t in text.strip().split(",")]
    assert [len(ids[s]) for s in ("train", "val", "test")] == [12, 4, 8]
    assert not (set(ids["train"]) & set(ids["test"])) and not (set(ids["val"]) & set(ids["test"]))
    for cam in range(1, 7):
        for pid_dir in (sysu_root / f"cam{cam}").iterdir():
            assert len(pid_dir.name) == 4 and pid_dir.name.isdigit()
            names = sorted(p.name for p in pid_dir.iterdir())
            assert names == [f"{n:04d}.jpg" for n in range(1, len(names) + 1)]
    # not every identity in every camera, but each in at least one visible and one infrared camera
    presence = {pid: {c for c in range(1, 7) if (sysu_root / f"cam{c}" / f"{pid:04d}").is_dir()}
                for s in ids.values() for pid in s}
    assert any(len(c) < 6 for c in presence.values())
    assert all(c & {1, 2, 4, 5} and c & {3, 6} for c in presence.values())


def test_infrared_images_are_three_equal_channels_and_visible_are_colour(sysu_root):
    ir = np.asarray(Image.open(next((sysu_root / "cam3").rglob("*.jpg"))))
    vis = np.asarray(Image.open(next((sysu_root / "cam1").rglob("*.jpg"))))
    assert ir.ndim == 3 and ir.shape[2] == 3
    assert np.array_equal(ir[..., 0], ir[..., 1]) and np.array_equal(ir[..., 1], ir[..., 2])
    assert np.abs(vis[..., 0].astype(int) - vis[..., 2]).mean() > 1


def test_regdb_layout_and_splits(regdb_root):
    assert {p.name for p in regdb_root.iterdir()} >= {"Visible", "Thermal", "idx"}
    for trial in range(1, 11):
        sets = {}
        for split in ("train", "test"):
            for mod in ("visible", "thermal"):
                lines = (regdb_root / "idx" / f"{split}_{mod}_{trial}.txt").read_text().splitlines()
                assert len(lines) == 10 * 6  # half of 12 ids, 10 images each
                rel, label = lines[0].split(" ")
                assert rel.startswith({"visible": "Visible/", "thermal": "Thermal/"}[mod]) and rel.endswith(".bmp")
                assert (regdb_root / rel).is_file() and int(label) == 0
                sets[split, mod] = {line.split(" ")[0].split("/")[1] for line in lines}
        assert sets["train", "visible"] == sets["train", "thermal"]
        assert not sets["train", "visible"] & sets["test", "visible"]
    for pid_dir in (regdb_root / "Visible").iterdir():
        assert len(list_images(pid_dir)) == 10 and len(list_images(regdb_root / "Thermal" / pid_dir.name)) == 10


def test_generation_is_deterministic_and_cached(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    S.write_sysu(SMOKE, a, workers=2)
    S.write_sysu(SMOKE, b, workers=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    # cached: a second call does not regenerate; changing a parameter does
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path / "data"))
    root = S.ensure_synthetic(SMOKE, verbose=False)
    stamp = (root / S.MARKER).stat().st_mtime_ns
    assert S.ensure_synthetic(SMOKE, verbose=False) == root and (root / S.MARKER).stat().st_mtime_ns == stamp
    other = S.ensure_synthetic(dataclasses.replace(SMOKE, seed=1), verbose=False)
    assert other != root and (other / S.MARKER).exists()
    # the RegDB part's parameters do not touch the SYSU part's identity
    assert S.synthetic_root(dataclasses.replace(SMOKE, regdb_ids=20)) == root


def test_interrupted_generation_is_never_taken_for_a_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path))
    root = S.synthetic_root(SMOKE)
    calls = []

    def crash(*a, **k):
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "_render_sysu_identity", crash)
    try:
        S.ensure_synthetic(SMOKE, workers=1, verbose=False)
    except KeyboardInterrupt:
        pass
    assert calls and not root.exists()  # only a hidden temporary folder, removed on the next run
    monkeypatch.undo()
    monkeypatch.setenv("VIREID_DATA_DIR", str(tmp_path))
    assert (S.ensure_synthetic(SMOKE, workers=1, verbose=False) / S.MARKER).exists()
    assert not list(root.parent.glob(".tmp-*"))


def test_concurrent_generators_produce_one_complete_dataset(tmp_path):
    code = ("from vireid_lib.config import SyntheticSpec; from vireid_lib.data.synthetic import ensure_synthetic;"
            "print(ensure_synthetic(SyntheticSpec(n_train_ids=12, n_val_ids=4, n_test_ids=8, images_per_camera=3,"
            " regdb_ids=12, height=64, width=32), workers=1, verbose=False))")
    env = {**os.environ, "VIREID_DATA_DIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate()[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs) and outs[0] == outs[1]
    assert len([p for p in (tmp_path / "synthetic").iterdir() if p.is_dir()]) == 1


def test_infrared_brightness_of_garments_does_not_follow_their_colour():
    """The generator's modelling claim: a material's near-IR reflectance is independent of its dye."""
    ids = [S.make_identity(0, pid) for pid in range(1, 801)]
    lum = np.array([np.dot(i.upper.rgb, (0.299, 0.587, 0.114)) for i in ids])
    nir = np.array([i.upper.nir for i in ids])
    assert abs(np.corrcoef(lum, nir)[0, 1]) < 0.1
    # what a near-IR camera records: (1 − a) × NIR reflectance + a × visible lightness, a = its ambient share
    ident = next(i for i in ids if abs(i.upper.nir - np.dot(i.upper.rgb, (0.299, 0.587, 0.114))) > 0.2)
    lightness = np.dot(ident.upper.rgb, (0.299, 0.587, 0.114))
    cam_i = S.make_camera(0, 3)
    assert cam_i.modality == "nir" and 0.75 <= cam_i.ambient <= 0.9  # indoor camera 3: mostly ambient light
    recorded = S.material_table(ident, "nir", cam_i.ambient)[S.UPPER]
    expected = (1 - cam_i.ambient) * ident.upper.nir + cam_i.ambient * lightness
    assert np.allclose(recorded, expected, atol=1e-5)
    assert np.allclose(S.material_table(ident, "nir", 0.0)[S.UPPER], ident.upper.nir)  # no ambient: NIR only
    assert np.allclose(S.material_table(ident, "thermal")[S.UPPER], ident.upper.thermal)  # colour plays no part


def test_viewpoint_changes_what_is_visible():
    ident = next(S.make_identity(0, p) for p in range(1, 500)
                 if S.make_identity(0, p).backpack is not None and S.make_identity(0, p).pattern == "logo")
    ident = dataclasses.replace(ident, backpack_size=1.0)
    base = S.Pose(view="front", swing=0, stride=0.05, scale=0.9, cx=0.5, top=0.03)
    front, *_ = S.person_labels(ident, base, 128, 64)
    back, *_ = S.person_labels(ident, dataclasses.replace(base, view="back"), 128, 64)
    assert (back == S.BACKPACK).sum() > 3 * max(1, (front == S.BACKPACK).sum())
    assert (front == S.PATTERN).sum() > 0 and (back == S.PATTERN).sum() == 0  # the logo is on the chest
    assert (front == S.SKIN).sum() > (back == S.SKIN).sum()  # the face
