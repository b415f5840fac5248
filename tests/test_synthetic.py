"""The embedded synthetic dataset: layouts, determinism, caching, and the physics it claims to model."""

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
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

    monkeypatch.setattr(S.writers, "_render_sysu_identity", crash)
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


def test_regdb_generation_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    S.write_regdb(SMOKE, a, workers=2)
    S.write_regdb(SMOKE, b, workers=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and len(files) == 240 + 40
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


# ---------------------------------------------------------------------------------------------------------
# The physics the generator claims (issue 10), one test per property
# ---------------------------------------------------------------------------------------------------------
SPEC = SyntheticSpec(occlusion_prob=0.0)  # 128×64, the cpu profile's rendering
LUMA = np.array([0.299, 0.587, 0.114])


def _identity(seed=0, **outfit):
    """An identity of the RegDB world with some outfit fields forced."""
    ident = S.make_identity(seed + 7919, 1)
    return dataclasses.replace(ident, outfit=dataclasses.replace(ident.outfit, **outfit))


def _pair(ident, k=0):
    """Visible and thermal images (and stage pictures) of the same RegDB instant."""
    vis_cam, th_cam = S.regdb_pair(SPEC)
    moment = S.regdb_moments(SPEC, 1, ident, vis_cam)[k]
    out = []
    for j, cam in enumerate((vis_cam, th_cam)):
        steps = {}
        img = S.render(ident, cam, np.random.default_rng([5, k, j]), SPEC, moment=moment, steps=steps)
        out.append((img, steps))
    return out


def test_thermal_image_ignores_dyes_and_prints():
    """Long-wave emissivity of textiles does not depend on their dye: recolouring every garment and its print
    changes the visible image and leaves the thermal image bit for bit the same."""
    base = _identity(print_kind="checks")
    o = base.outfit
    recoloured = dataclasses.replace(base, outfit=dataclasses.replace(
        o, upper=dataclasses.replace(o.upper, rgb=(0.9, 0.1, 0.1), nir=0.05),
        print_ink=dataclasses.replace(o.print_ink, rgb=(0.1, 0.9, 0.1), nir=0.9),
        lower=dataclasses.replace(o.lower, rgb=(0.95, 0.95, 0.2), nir=0.1)))
    (vis_a, _), (th_a, _) = _pair(base)
    (vis_b, _), (th_b, _) = _pair(recoloured)
    assert np.abs(vis_a.astype(int) - vis_b).mean() > 5
    assert np.array_equal(th_a, th_b)


def test_thermal_camera_is_not_the_visible_cameras_pixel_twin():
    """RegDB's thermal camera stands beside the visible one: its own crop (registration error), lower native
    resolution. The person's silhouette sits at another place in its frame, though it is the same instant."""
    offsets, same_pose = [], []
    ident = S.make_identity(7919, 3)
    for k in range(10):
        (_, sv), (_, st) = _pair(ident, k)
        mv = sv["garments"] > 0
        mt = np.asarray(Image.fromarray((st["garments"] > 0).astype(np.uint8)).resize((64, 128), Image.NEAREST)) > 0
        cv = np.array(np.nonzero(mv)).mean(1)
        ct = np.array(np.nonzero(mt)).mean(1)
        offsets.append(np.abs(cv - ct).max())
        same_pose.append((mv & mt).sum() / (mv | mt).sum())
    assert st["garments"].shape == (77, 38)  # native resolution 0.6 × 128×64
    assert np.mean(offsets) > 1.0  # px at 128×64: not aligned pixel for pixel
    assert 0.3 < np.mean(same_pose) < 0.95  # but the same body at the same instant


def test_thermal_skin_is_warm_and_never_saturated():
    """Skin is the warmest surface (31–35 °C) yet the per-frame AGC keeps it below full scale."""
    ident = S.make_identity(7919, 2)
    for k in range(5):
        (_, _), (th, st) = _pair(ident, k)
        lab = np.asarray(Image.fromarray(st["garments"].astype(np.uint8)).resize((64, 128), Image.NEAREST))
        skin = np.isin(lab, (S.garments.FACE, S.garments.ARM_SKIN, S.garments.LEG_SKIN))
        grey = th[..., 0]
        assert skin.sum() > 20
        assert (grey[skin] >= 254).mean() < 0.02
        assert np.median(grey[skin]) > np.median(grey[lab == 0])


def test_metal_and_glasses_are_cold_in_thermal():
    """Low-emissivity metal mirrors the cold surroundings; glass is opaque to long-wave light: both show colder
    than the jacket and the face around them."""
    from vireid_lib.data.synthetic import garments as G
    from vireid_lib.data.synthetic.scene import thermal_person

    ident = _identity(jacket=S.garments.draw_fabric(np.random.default_rng(0), "upper", (0.8, 1.0), (0.5, 0.6)),
                      glasses=True, belt_buckle=True)
    pose = S.Pose(view="front", swing=0.0, stride=0.05, scale=0.9, cx=0.5, top=0.03)
    bm, sk = S.rasterise_body(ident.body, pose, 256, 128)
    lab = S.dress(ident, pose, bm, sk)
    T = thermal_person(ident, bm, lab, G.relief(ident.outfit, bm.x, bm.y), air=20.0, reflected=8.0)
    assert (lab == G.METAL).sum() > 5 and (lab == G.GLASSES).sum() > 5
    assert T[lab == G.METAL].mean() < T[lab == G.JACKET].mean() - 3
    assert T[lab == G.GLASSES].mean() < T[lab == G.FACE].mean() - 5
    assert T[lab == G.FACE].mean() > T[lab == G.UPPER].mean() > T[lab == G.JACKET].mean()  # layers


def test_near_infrared_skin_and_hair_are_lighter_than_in_visible_light():
    """Melanin absorbs far less at 850 nm: every skin tone is brighter there than its visible grey level, and
    dark hair is lighter than it looks."""
    from vireid_lib.data.synthetic import garments as G

    mats = [S.materials(S.make_identity(0, pid)) for pid in range(1, 301)]
    skin_vis = np.array([np.dot(m[G.FACE].rgb, LUMA) for m in mats])
    skin_nir = np.array([m[G.FACE].nir for m in mats])
    assert (skin_nir > skin_vis).all()
    hair_vis = np.array([np.dot(m[G.HAIR].rgb, LUMA) for m in mats])
    hair_nir = np.array([m[G.HAIR].nir for m in mats])
    assert (hair_nir[hair_vis < 0.15] > hair_vis[hair_vis < 0.15] + 0.05).all()


def test_near_infrared_dye_reflectance_comes_from_fabric_classes_not_from_the_shade():
    """Within a class of textile spectra the 850-nm reflectance is independent of the visible shade; carbon
    blacks stay dark, NIR-transparent blacks do not."""
    from vireid_lib.data.synthetic.garments import FABRIC_CLASSES, draw_fabric

    rng = np.random.default_rng(0)
    for cls in FABRIC_CLASSES:
        fabrics = [draw_fabric(rng, kind=cls) for _ in range(400)]
        lum = np.array([np.dot(f.rgb, LUMA) for f in fabrics])
        nir = np.array([f.nir for f in fabrics])
        assert cls.nir[0] <= nir.min() and nir.max() <= cls.nir[1]
        if lum.std() > 0.02:
            assert abs(np.corrcoef(lum, nir)[0, 1]) < 0.15, cls.name
    carbon = next(c for c in FABRIC_CLASSES if "carbon" in c.name)
    transparent_black = next(c for c in FABRIC_CLASSES if c.colours == "dark")
    assert carbon.nir[1] < 0.15 < transparent_black.nir[0]


def test_retro_reflective_strip_shines_in_near_infrared_only():
    """A retro-reflective strip returns the coaxial illuminator's light to the camera: near full scale in the
    near-infrared image, an ordinary light grey in the visible one."""
    from vireid_lib.data.synthetic import garments as G

    ident = S.make_identity(0, 1)
    ident = dataclasses.replace(ident, outfit=dataclasses.replace(
        ident.outfit, backpack=ident.outfit.upper, backpack_size=1.0, reflective="backpack"))
    pose = S.Pose(view="back", swing=0.0, stride=0.05, scale=0.9, cx=0.5, top=0.03)
    moment = S.draw_moment(np.random.default_rng(0), pose, S.sysu_camera(SPEC, 6).scene, 0.0)
    out = {}
    for cam in (5, 6):
        steps = {}
        out[cam] = (S.render(ident, S.sysu_camera(SPEC, cam), np.random.default_rng(1), SPEC, moment=moment,
                             steps=steps), steps["garments"])
    nir, lab = out[6]
    vis, lab_v = out[5]
    strip = lab == G.REFLECTIVE
    assert strip.sum() > 5
    assert nir[strip, 0].mean() > 200 and nir[strip, 0].mean() > nir[lab == G.BACKPACK, 0].mean() + 60
    assert vis[lab_v == G.REFLECTIVE].mean() < 200


def test_viewpoint_changes_what_is_visible():
    from vireid_lib.data.synthetic import garments as G

    ident = next(i for i in (S.make_identity(0, p) for p in range(1, 500))
                 if i.outfit.backpack is not None and i.outfit.print_kind == "logo" and i.outfit.jacket is None)
    ident = dataclasses.replace(ident, outfit=dataclasses.replace(ident.outfit, backpack_size=1.0))
    base = S.Pose(view="front", swing=0, stride=0.05, scale=0.9, cx=0.5, top=0.03)

    def labels(pose):
        bm, sk = S.rasterise_body(ident.body, pose, 128, 64)
        return S.dress(ident, pose, bm, sk)

    front, back = labels(base), labels(dataclasses.replace(base, view="back"))
    assert (back == G.BACKPACK).sum() > 3 * max(1, (front == G.BACKPACK).sum())
    assert (front == G.PRINT).sum() > 0 and (back == G.PRINT).sum() == 0  # the logo is on the chest
    assert (front == G.FACE).sum() > (back == G.FACE).sum()  # the face


def test_regdb_visible_camera_encodes_with_the_srgb_tone_curve():
    """The tone curve is the sRGB OETF (linear toe, then a 1/2.4 power), monotone, and compresses ratios of light;
    RegDB's visible camera applies it after its noise, the SYSU-MM01-like cameras store the linear signal."""
    from vireid_lib.data.synthetic.sensor import tone_curve, visible_sensor

    x = np.linspace(0, 1, 1001, dtype=np.float32)
    y = tone_curve(x)
    assert y[0] == 0 and abs(y[-1] - 1) < 1e-6 and (np.diff(y) > 0).all()
    assert abs(float(tone_curve(np.float32(0.18))) - 0.4614) < 1e-3  # mid-grey: the textbook sRGB value
    assert abs(float(tone_curve(np.float32(0.002))) - 12.92 * 0.002) < 1e-7  # the linear toe
    assert float(tone_curve(np.float32(0.4)) / tone_curve(np.float32(0.1))) < 0.4 / 0.1 / 1.7  # ratios compress
    img = np.full((8, 8, 3), 0.2, np.float32)
    lin = visible_sensor(img, np.random.default_rng(0), 0.0)
    enc = visible_sensor(img, np.random.default_rng(0), 0.0, tone=True)
    assert lin.mean() == 51 and enc.mean() == round(255 * float(tone_curve(np.float32(0.2))))
    vis, _ = S.regdb_pair(SPEC)
    assert vis.tone_curve and SPEC.regdb_tone_curve
    assert not any(S.sysu_camera(SPEC, c).tone_curve for c in range(1, 7))
    assert S.regdb_pair(dataclasses.replace(SPEC, regdb_tone_curve=False))[0].tone_curve is False


def test_lookup_gathers_what_fancy_indexing_gathers():
    """The chain's table lookups (``scene.lookup``, np.take) give the very values of ``table[labels]``, for per-label
    colour tables (N, 3) and scalar tables (N,) over int8 label maps: the speed-up changed no image's bytes."""
    from vireid_lib.data.synthetic.scene import lookup

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 20, (128, 64)).astype(np.int8)
    for table in (rng.random((20, 3), dtype=np.float32), rng.random(20, dtype=np.float32), np.arange(20) % 3 == 0):
        out = lookup(table, labels)
        assert out.dtype == table.dtype and out.shape == labels.shape + table.shape[1:]
        assert np.array_equal(out, table[labels])
    with pytest.raises(IndexError):  # a label outside the table fails as loudly as with fancy indexing
        lookup(np.zeros(3, np.float32), labels)


def test_the_files_and_the_fixed_pattern_are_what_they_were(tmp_path):
    """The writers' shortcuts keep every byte: SYSU-MM01's JPEG encoded straight into its file is ``jpeg_bytes``;
    RegDB's frame decoded straight into its BMP file is the BMP of ``jpeg_roundtrip``'s pixels; the thermal fixed
    pattern, drawn once per process, is the one drawn afresh and cannot be altered; the capsules' clipping gives
    ``np.clip``'s values, bit for bit but for the sign of a zero at a bound of 0 (−0.0 there becomes +0.0)."""
    from vireid_lib.data.synthetic import body, sensor, writers

    rng = np.random.default_rng(3)
    img = (rng.random((64, 32, 3)) * 200 + 20).astype(np.uint8)
    sensor.jpeg_file(img, 70, tmp_path / "a.jpg")
    assert (tmp_path / "a.jpg").read_bytes() == sensor.jpeg_bytes(img, 70)
    sensor.jpeg_then_bmp(img, 70, tmp_path / "a.bmp")
    Image.fromarray(sensor.jpeg_roundtrip(img, 70)).save(tmp_path / "b.bmp", format="BMP")
    assert (tmp_path / "a.bmp").read_bytes() == (tmp_path / "b.bmp").read_bytes()

    th = writers.regdb_pair(SMOKE)[1]
    pattern = sensor.fixed_pattern(th, 40, 20)
    again = np.random.default_rng([th.seed, 77, 40, 20])
    drawn = (again.normal(0, 0.15, (1, 20)) + again.normal(0, 0.05, (40, 20))).astype(np.float32)
    assert np.array_equal(pattern, drawn) and sensor.fixed_pattern(th, 40, 20) is pattern
    with pytest.raises(ValueError):  # read-only: a frame cannot alter the camera's pattern for the next one
        pattern += 1

    edges = [0.0, -0.0, 0.7, -1.0, 1.0, 1e-30, -1e-30]
    x = np.concatenate([rng.standard_normal(10_000) * 2, edges]).astype(np.float32)
    for lo, hi in ((0.0, 0.7), (-1, 1)):
        out, ref = body._clip(x, lo, hi), np.clip(x, lo, hi)
        assert out.dtype == np.float32 and np.array_equal(out, ref)  # the same values (== takes −0.0 for +0.0)
        bits = out.view(np.int32) != ref.view(np.int32)  # and the same bits, but for −0.0 at a bound of 0
        assert not bits.any() if lo != 0.0 else (np.all(x[bits] == 0) and not np.signbit(out[bits]).any())
