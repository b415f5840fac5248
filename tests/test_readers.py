"""Readers of the SYSU-MM01 and RegDB layouts, and the clear errors they give on bad input."""

import shutil

import numpy as np
import pytest

from vireid_lib.data import SYSUMM01, RegDB, load_images
from vireid_lib.errors import DataError


def test_sysu_training_set_merges_train_and_val_with_sorted_labels(sysu_root):
    ds = SYSUMM01(sysu_root)
    vis, ir = ds.train()
    trainval = sorted(ds.ids("train") + ds.ids("val"))
    assert ds.ids("trainval") == trainval
    assert set(vis.pids.tolist()) == set(ir.pids.tolist()) == set(trainval)
    for lst in (vis, ir):
        assert np.array_equal(lst.labels, np.searchsorted(trainval, lst.pids))
    assert set(vis.cams.tolist()) <= {1, 2, 4, 5} and set(ir.cams.tolist()) <= {3, 6}


def test_sysu_query_and_gallery_candidates(sysu_root):
    ds = SYSUMM01(sysu_root)
    q = ds.query()
    assert set(q.cams.tolist()) <= {3, 6} and set(q.pids.tolist()) <= set(ds.ids("test"))
    n_files = sum(len(list((sysu_root / f"cam{c}" / f"{p:04d}").glob("*.jpg")))
                  for c in (3, 6) for p in ds.ids("test") if (sysu_root / f"cam{c}" / f"{p:04d}").is_dir())
    assert len(q) == n_files  # every infrared test image is a query
    assert set(ds.gallery_candidates("indoor").cams.tolist()) <= {1, 2}
    g = ds.gallery_candidates("all")
    keys = list(zip(g.pids.tolist(), g.cams.tolist(), g.paths, strict=True))
    assert keys == sorted(keys)  # ordered by (id, camera, file): the order the AGW sampler walks


def test_holding_out_val_trains_on_train_ids_and_scores_on_val_ids(sysu_root):
    """For choosing settings without the test set: the val ids leave training and become queries/gallery."""
    ds = SYSUMM01(sysu_root, holdout="val")
    vis, ir = ds.train()
    assert set(vis.pids.tolist()) == set(ir.pids.tolist()) == set(ds.ids("train"))
    assert np.array_equal(vis.labels, np.searchsorted(ds.ids("train"), vis.pids))
    q, g = ds.query(), ds.gallery_candidates("all")
    assert set(q.pids.tolist()) == set(g.pids.tolist()) == set(ds.ids("val"))
    assert not set(q.pids.tolist()) & set(ds.ids("test"))
    assert q.name != SYSUMM01(sysu_root).query().name  # separate cache files


def test_holdout_is_part_of_a_runs_identity_only_when_not_the_default():
    from vireid_lib.config import ConfigError, experiment_config
    from vireid_lib.engine import run_identity

    std = experiment_config("smoke")
    assert "holdout" not in std.identity()["data"]  # runs named before the option keep their names
    val = experiment_config("smoke", **{"data.holdout": "val"})
    assert run_identity(val) != run_identity(std) and "val ids" in val.data.label
    with pytest.raises(ConfigError, match="RegDB has no validation split"):
        experiment_config("smoke", **{"data.holdout": "val", "data.dataset": "regdb"})


def test_missing_root_says_what_was_expected(tmp_path):
    with pytest.raises(DataError, match="cam1 ... cam6 and exp/"):
        SYSUMM01(tmp_path / "nope")
    with pytest.raises(DataError, match="Visible/, Thermal/ and idx/"):
        RegDB(tmp_path / "nope")


def test_missing_camera_folder_is_named(sysu_copy):
    shutil.rmtree(sysu_copy / "cam5")
    with pytest.raises(DataError, match="cam5"):
        SYSUMM01(sysu_copy)


def test_missing_or_malformed_id_file_is_named(sysu_copy):
    (sysu_copy / "exp" / "val_id.txt").write_text("1,2,x3\n")
    with pytest.raises(DataError, match=r"val_id.txt.*'x3'"):
        SYSUMM01(sysu_copy)
    (sysu_copy / "exp" / "val_id.txt").unlink()
    with pytest.raises(DataError, match="val_id.txt is missing"):
        SYSUMM01(sysu_copy)


def test_listed_id_without_images_is_named(sysu_copy):
    ids = (sysu_copy / "exp" / "test_id.txt").read_text().strip()
    (sysu_copy / "exp" / "test_id.txt").write_text(ids + ",9999\n")
    with pytest.raises(DataError, match=r"identity 9999 .*test_id.txt.*no images"):
        SYSUMM01(sysu_copy).query()


def test_training_id_lacking_a_modality_is_named(sysu_copy):
    ds = SYSUMM01(sysu_copy)
    pid = ds.ids("train")[0]
    for c in (3, 6):
        shutil.rmtree(sysu_copy / f"cam{c}" / f"{pid:04d}", ignore_errors=True)
    with pytest.raises(DataError, match=rf"\[{pid}\] have no infrared images"):
        SYSUMM01(sysu_copy).train()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_or_truncated_image_is_named(sysu_copy, damage):
    ds = SYSUMM01(sysu_copy)
    vis, _ = ds.train()
    bad = vis.abspath(3)
    data = bad.read_bytes()
    bad.write_bytes(b"not a jpeg at all" if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"{bad.name}: cannot decode image.*corrupt or truncated"):
        load_images(vis, 32, 16, workers=1)


def test_regdb_reader(regdb_root):
    ds = RegDB(regdb_root)
    vis, th = ds.train(1)
    assert len(vis) == len(th) == 60 and vis.num_ids == 6
    assert np.array_equal(vis.labels, th.labels)
    tv, tt = ds.test(1)
    assert set(tv.cams.tolist()) == {1} and set(tt.cams.tolist()) == {2}
    assert not set(vis.paths) & set(tv.paths)


def test_malformed_idx_line_is_named_with_its_line_number(regdb_copy):
    p = regdb_copy / "idx" / "train_thermal_3.txt"
    lines = p.read_text().splitlines()
    lines[4] = lines[4].replace(" ", "\t") + " extra"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train_thermal_3.txt:5: expected '<relative/path> <integer label>'"):
        RegDB(regdb_copy).train(3)
    lines[4] = lines[4].split()[0] + " seven"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"train_thermal_3.txt:5: label 'seven' is not an integer"):
        RegDB(regdb_copy).train(3)


def test_idx_line_pointing_at_a_missing_image_is_named(regdb_copy):
    p = regdb_copy / "idx" / "test_visible_2.txt"
    first = p.read_text().splitlines()[0].split()[0]
    (regdb_copy / first).unlink()
    with pytest.raises(DataError, match=r"test_visible_2.txt:1: image .* does not exist"):
        RegDB(regdb_copy).test(2)
