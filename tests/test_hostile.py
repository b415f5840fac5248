"""Issue 14, a hostile-input audit: one test per row of its table, each reproducing the case on tiny data (the smoke
profile; fake SYSU-MM01 and RegDB trees copied from the synthetic sets) and checking that it ends in one clear
message naming the file or setting, before any work where it can be checked up front, with nothing half-written or
stale left behind.

Rows of the issue's table, and their tests (``test_`` omitted):

- non-UTF-8 byte in ``exp/*_id.txt`` or a RegDB idx file:
  a_non_utf8_byte_in_an_id_or_idx_file_is_named_with_its_line
- an image that is a symlink to itself, or dangling:
  an_image_that_is_a_symlink_to_itself_or_to_nowhere_is_named
- a 16-bit PNG:
  a_16_bit_png_is_scaled_to_8_bits_not_cached_white
- a RegDB label of -1:
  a_regdb_label_of_minus_one_or_out_of_range_is_refused_before_the_run_folder
- a RegDB idx path such as ``../../etc/hostname``:
  a_regdb_idx_path_outside_the_dataset_root_is_refused
- ``train.lr=-0.5``, ``lr=nan``, ``weight_decay=-1``, ``device=gpu``:
  an_out_of_range_setting_is_refused_before_the_run_folder
- ``train.max_batches=-1``:
  max_batches_minus_one_is_refused_not_recorded_as_a_finished_run
- ``--set seed=3``, ``--set profile=x``, ``--param profile=cpu``:
  a_run_option_given_as_set_or_param_names_its_own_option
- ``VIREID_DATA_DIR`` read-only:
  a_read_only_data_dir_is_named
- ``papermill … -p profil smoke``:
  outputs.py::papermill_run_directly_refuses_a_misspelt_parameter_as_the_runner_does
- ``reproduce --param seed=abc``:
  reproduce_with_a_mistyped_parameter_fails_before_any_notebook_runs
- a test id with no images, a truncated test image:
  bad_test_data_stops_the_run_before_training
- the test set changed after a run finished:
  a_finished_run_whose_test_set_changed_is_evaluated_again_as_vireid_evaluate_does
- an image replaced with its size and mtime restored:
  an_image_replaced_with_its_size_and_time_restored_is_decoded_again
- disk full while the cache is built:
  a_full_disk_while_the_cache_is_built_is_named_up_front_and_leaves_nothing
- disk full while the data are generated:
  a_full_disk_while_the_data_are_generated_is_named_and_leaves_no_temporary_folder
- disk full while a checkpoint is saved:
  a_full_disk_while_a_checkpoint_is_saved_keeps_the_previous_one
- killed while the final model is saved:
  files_of_an_interrupted_save_are_removed_when_the_run_starts_again
- a 0-byte ``checkpoint.pt``, an empty ``model.weights_path``:
  an_empty_checkpoint_or_weights_file_is_named_as_empty
- 64 bytes flipped inside a checkpoint:
  flipped_bytes_in_a_checkpoint_or_a_model_are_refused_by_their_checksum
- ``final.json`` damaged (merge markers):
  a_damaged_final_json_is_named
- a weights file holding a pickle that runs code:
  weights_holding_a_pickle_that_runs_code_are_refused_saying_so

Disk-full and read-only cases use a small real tmpfs (``mount -t tmpfs``), skipped with the reason where mounting is
not permitted.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vireid_lib import engine
from vireid_lib.cli import main
from vireid_lib.config import SYNTHETIC_PROFILES, experiment_config
from vireid_lib.data import SYSUMM01, RegDB, load_images, read_image
from vireid_lib.data import cache as C
from vireid_lib.errors import CheckpointError, ConfigError, DataError, StorageError


def smoke(**kw):
    return experiment_config("smoke", **kw)


def leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes, lock files and temporary folders left in ``folder`` (recursively; a run
    folder's own ``.lock`` stays by design)."""
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name or p.name.endswith(".lock"))


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size, ro=False)``: a fresh tmpfs of that size mounted in ``tmp_path`` (unmounted afterwards);
    skips the test, saying why, where mounting is not permitted."""
    mounted: list[Path] = []

    def mount(size: str, ro: bool = False) -> Path:
        where = tmp_path / f"tmpfs{len(mounted)}"
        where.mkdir()
        if not shutil.which("mount"):
            pytest.skip("no mount command here, so no small file system to fill")
        opts = f"size={size}" + (",ro" if ro else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): these cases need root "
                        f"(CI's container runs as root)")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where: Path, leave: int) -> None:
    """Fill the file system of ``where`` but ``leave`` bytes."""
    free = shutil.disk_usage(where).free
    with open(where / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


# ---------------------------------------------------------------------------------------------------------
# Dataset files
# ---------------------------------------------------------------------------------------------------------
def test_a_non_utf8_byte_in_an_id_or_idx_file_is_named_with_its_line(sysu_copy, regdb_copy):
    ids = sysu_copy / "exp" / "test_id.txt"
    ids.write_bytes(b"# ids\n" + ids.read_bytes().strip().replace(b",", b",\xff", 1) + b"\n")
    with pytest.raises(DataError, match=r"test_id.txt:2: byte 0xff \(column \d+\) is not UTF-8 text; expected "
                                        r"comma-separated integer ids"):
        SYSUMM01(sysu_copy)
    idx = regdb_copy / "idx" / "train_visible_1.txt"
    lines = idx.read_bytes().splitlines()
    lines[4] = lines[4].replace(b" ", b"\xe9 ", 1)
    idx.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=r"train_visible_1.txt:5: byte 0xe9 .* is not UTF-8 text"):
        RegDB(regdb_copy).train(1)


def test_an_image_that_is_a_symlink_to_itself_or_to_nowhere_is_named(sysu_copy, regdb_copy):
    vis, _ = SYSUMM01(sysu_copy).train()
    looped, dangling = vis.abspath(2), vis.abspath(5)
    looped.unlink()
    looped.symlink_to(looped.name)  # a link to itself
    dangling.unlink()
    dangling.symlink_to("/nonexistent/elsewhere.jpg")
    with pytest.raises(DataError, match=rf"{looped}: cannot read this image file: it is a symbolic link that points "
                                        rf"back to itself"):
        load_images(vis, 32, 16, workers=1)  # the cache key reads every file's content first
    with pytest.raises(DataError, match=rf"{looped}: image file is a symbolic link that points back to itself"):
        read_image(looped)
    with pytest.raises(DataError, match=rf"{dangling}: image file is a symbolic link to /nonexistent/elsewhere.jpg, "
                                        rf"which does not exist"):
        read_image(dangling)
    first = (regdb_copy / "idx" / "test_thermal_1.txt").read_text().split()[0]
    (regdb_copy / first).unlink()
    (regdb_copy / first).symlink_to(regdb_copy / first)
    with pytest.raises(DataError, match=r"test_thermal_1.txt:1: image .* is a symbolic link that points back"):
        RegDB(regdb_copy).test(1)


def test_a_16_bit_png_is_scaled_to_8_bits_not_cached_white(sysu_copy):
    """Policy: a 16-bit grey image is the same picture at 8 bits, round(v·255/65535); 32-bit pixels are refused."""
    vis, _ = SYSUMM01(sysu_copy).train()
    grey16 = (np.linspace(0, 65535, 64 * 32).reshape(64, 32)).astype(np.uint16)
    Image.fromarray(grey16).save(vis.abspath(0), format="PNG")  # PNG bytes under the listed name
    assert Image.open(vis.abspath(0)).mode == "I;16"
    expected = ((grey16.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    arr = load_images(vis, 64, 32, workers=1)  # the images' own size: no resampling
    assert np.array_equal(arr[0], np.repeat(expected[:, :, None], 3, axis=2))
    assert arr[0].min() == 0 and arr[0].max() == 255 and 120 < arr[0].mean() < 135  # not all white
    Image.fromarray(grey16.astype(np.int32) * 1000).save(vis.abspath(1), format="TIFF")
    with pytest.raises(DataError, match=r"holds 32-bit integer pixels \(mode I\).*convert it to an 8-bit"):
        read_image(vis.abspath(1))


def test_a_regdb_label_of_minus_one_or_out_of_range_is_refused_before_the_run_folder(regdb_copy, tmp_path):
    idx = regdb_copy / "idx" / "train_thermal_2.txt"
    good = idx.read_text().splitlines()
    for label, message in (("-1", r"train_thermal_2.txt:3: label -1 is negative"),
                           ("999", r"train_thermal_2.txt:3: training label 999 is out of range: the file lists 7 "
                                   r"identities, whose labels must be the class numbers 0..6")):
        lines = list(good)
        lines[2] = f"{lines[2].split()[0]} {label}"
        idx.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=message):
            RegDB(regdb_copy).train(2)
    cfg = smoke(data_root=str(regdb_copy), **{"data.dataset": "regdb", "data.regdb_trial": 2})
    with pytest.raises(DataError, match=r"train_thermal_2.txt:3: training label 999 is out of range"):
        engine.train(cfg, tmp_path / "run", progress_bar=False, log=False)
    assert not (tmp_path / "run").exists(), "refused before the run folder is created"


def test_a_regdb_idx_path_outside_the_dataset_root_is_refused(regdb_copy):
    idx = regdb_copy / "idx" / "test_visible_4.txt"
    lines = idx.read_text().splitlines()
    for path in ("../../etc/hostname", "/etc/hostname", "Visible/../../outside.bmp"):
        idx.write_text("\n".join([*lines[:6], f"{path} 3", *lines[7:]]) + "\n")
        with pytest.raises(DataError, match=rf"test_visible_4.txt:7: path '{path}' points outside the dataset root"):
            RegDB(regdb_copy).test(4)


# ---------------------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("setting,message", [
    ("train.lr=-0.5", r"train.lr must be a finite number > 0, got -0.5"),
    ("train.lr=NaN", r"train.lr must be a finite number > 0, got nan"),
    ("train.lr=nan", r"TrainConfig.lr expects a number, got 'nan'"),
    ("train.weight_decay=-1", r"train.weight_decay must be a finite number ≥ 0, got -1"),
    ("train.momentum=1", r"train.momentum must be a finite number in \[0, 1\), got 1"),
    ("train.device=gpu", r"train.device must be auto, cpu, cuda or cuda:N \(e.g. cuda:1\), got 'gpu'"),
])
def test_an_out_of_range_setting_is_refused_before_the_run_folder(tmp_path, capsys, setting, message):
    run_dir = tmp_path / "run"
    assert main(["train", "--profile", "smoke", "--set", setting, "--run-dir", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vireid: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not run_dir.exists()


def test_max_batches_minus_one_is_refused_not_recorded_as_a_finished_run(tmp_path):
    with pytest.raises(ConfigError, match=r"train.max_batches must be an integer ≥ 0, got -1 \(0 means a whole "
                                          r"epoch\)"):
        smoke(**{"train.max_batches": -1})
    cfg = smoke()  # a configuration built around the check (by hand) is refused by train() itself
    forged = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_batches=-1))
    with pytest.raises(ConfigError, match="train.max_batches"):
        engine.train(forged, tmp_path / "run", progress_bar=False, log=False)
    assert not (tmp_path / "run").exists()


def test_a_run_option_given_as_set_or_param_names_its_own_option(capsys):
    assert main(["train", "--profile", "smoke", "--set", "seed=3"]) == 2
    assert "--set seed=3: seed has its own option here, --seed (e.g. vireid train --seed 3)" in capsys.readouterr().err
    assert main(["evaluate", "--profile", "smoke", "--set", "profile=x"]) == 2
    assert "--set profile=x: profile has its own option here, --profile" in capsys.readouterr().err
    assert main(["reproduce", "--profile", "smoke", "--param", "profile=cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--param profile=cpu: the profile is chosen with --profile (e.g. vireid reproduce --profile cpu)" in err
    assert "TypeError" not in err


def test_reproduce_with_a_mistyped_parameter_fails_before_any_notebook_runs(capsys, tmp_path, monkeypatch):
    from vireid_lib import notebooks as NB

    ran = []
    monkeypatch.setattr(NB, "run_notebook", lambda *a, **k: ran.append(a))
    assert main(["reproduce", "--profile", "smoke", "--only", "01", "--param", "seed=abc", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "parameter seed must be an integer" in err and "got 'abc'" in err and "--param seed=0" in err
    assert ran == [], "refused before the first kernel"


# ---------------------------------------------------------------------------------------------------------
# Data folder and caches
# ---------------------------------------------------------------------------------------------------------
def test_a_read_only_data_dir_is_named(tmpfs, monkeypatch, capsys, sysu_copy):
    ro = tmpfs("1m", ro=True)
    monkeypatch.setenv("VIREID_DATA_DIR", str(ro))
    assert main(["generate", "--profile", "smoke"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the synthetic sysu dataset {ro}/synthetic/sysu-" in err
    assert "the file system is read-only" in err and f"point VIREID_DATA_DIR (now {ro}) at another folder" in err
    vis, _ = SYSUMM01(sysu_copy).train()  # a dataset elsewhere: its cache cannot be written either
    with pytest.raises(StorageError, match=rf"cannot write the preprocessing cache {ro}/cache/.*read-only.*"
                                           r"point VIREID_DATA_DIR \(now .*\) at another folder"):
        load_images(vis, 32, 16, workers=1)


@pytest.mark.parametrize("damage", ["test id without images", "test id without gallery", "truncated image",
                                    "RegDB test id without thermal images"])
def test_bad_test_data_stops_the_run_before_training(request, tmp_path, damage):
    if damage.startswith("RegDB"):
        regdb = request.getfixturevalue("regdb_copy")
        idx = regdb / "idx" / "test_thermal_1.txt"
        idx.write_text("".join(line + "\n" for line in idx.read_text().splitlines() if not line.endswith(" 2")))
        with pytest.raises(DataError, match=r"test_visible_1.txt and test_thermal_1.txt list different identities "
                                            r"\(labels \[2\] are in one only\)"):
            engine.train(smoke(data_root=str(regdb), **{"data.dataset": "regdb"}), tmp_path / "run",
                         progress_bar=False, log=False)
        assert not (tmp_path / "run").exists()
        return
    sysu_copy = request.getfixturevalue("sysu_copy")
    ds = SYSUMM01(sysu_copy)
    pid = ds.ids("test")[1]
    if damage == "test id without images":
        ids = sysu_copy / "exp" / "test_id.txt"
        ids.write_text(ids.read_text().strip() + ",9999\n")
        message = r"identity 9999 is listed in .*test_id.txt but has no images"
    elif damage == "test id without gallery":
        for cam in (1, 2, 4, 5):
            shutil.rmtree(sysu_copy / f"cam{cam}" / f"{pid:04d}", ignore_errors=True)
        message = rf"identities \[{pid}\] are listed in .*test_id.txt but have no visible gallery images"
    else:
        bad = ds.gallery_candidates("all").abspath(4)
        bad.write_bytes(bad.read_bytes()[:300])
        message = rf"{bad}: cannot decode image"
    with pytest.raises(DataError, match=message):
        engine.train(smoke(data_root=str(sysu_copy)), tmp_path / "run", progress_bar=False, log=False)
    assert not (tmp_path / "run").exists(), "stopped before the run folder, so before any training"


def test_a_finished_run_whose_test_set_changed_is_evaluated_again_as_vireid_evaluate_does(sysu_copy, tmp_path,
                                                                                          capsys):
    """Real-data path: a copy of the smoke SYSU-MM01 tree as ``data_root``. Test images overwritten (and, then, a
    test id dropped) after the run finished: it is evaluated again with its trained model, not trained again, and
    returns what ``vireid evaluate`` says on the same data."""
    cfg = smoke(data_root=str(sysu_copy))
    run_dir = tmp_path / "run"
    first = engine.train(cfg, run_dir, progress_bar=False, log=False)
    weights = (run_dir / "model.pt").read_bytes()
    ds = SYSUMM01(sysu_copy)
    q, g = ds.query(), ds.gallery_candidates("all")
    for i in range(len(q)):  # every query now shows someone else, sizes differ, the names stay
        q.abspath(i).write_bytes(g.abspath((7 * i + 3) % len(g)).read_bytes())
    again = engine.train(cfg, run_dir, progress_bar=False, log=False)
    assert again["reevaluated"]["headline"] == first["headline"] and again["results"] != first["results"]
    assert (run_dir / "model.pt").read_bytes() == weights, "evaluated again, not trained again"
    device = engine.resolve_device("cpu")
    assert again["results"] == engine.evaluate(engine.load_model(cfg, run_dir, device), cfg, device)
    assert engine.train(cfg, run_dir, progress_bar=False, log=False) == again  # fresh now: returned as it is
    assert main(["evaluate", "--profile", "smoke", "--data-root", str(sysu_copy), "--run-dir", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    r1 = again["results"]["SYSU-MM01 all-search single-shot"]["mean"]["R1"]
    assert f"SYSU-MM01 all-search single-shot: R1 {r1:.2f}" in printed
    ids = sysu_copy / "exp" / "test_id.txt"  # other test ids
    ids.write_text(",".join(str(p) for p in ds.ids("test")[1:]) + "\n")
    third = engine.train(cfg, run_dir, progress_bar=False, log=False)
    assert third["reevaluated"]["headline"] == again["headline"]
    assert third["results"] == engine.evaluate(engine.load_model(cfg, run_dir, device), cfg, device)


def test_an_image_replaced_with_its_size_and_time_restored_is_decoded_again(sysu_copy):
    vis, _ = SYSUMM01(sysu_copy).train()
    before = np.array(load_images(vis, 32, 16, workers=1))
    a, b = vis.abspath(0), vis.abspath(len(vis) - 1)
    st = a.stat()
    a.write_bytes(b.read_bytes()[: st.st_size].ljust(st.st_size, b"\0"))  # another person, the same size ...
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the same modification time
    assert (a.stat().st_size, a.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    after = load_images(vis, 32, 16, workers=1)
    assert not np.array_equal(after[0], before[0]) and np.array_equal(after[1:], before[1:])
    assert np.array_equal(after[0], C.load_resized(a, 32, 16))


def test_a_full_disk_while_the_cache_is_built_is_named_up_front_and_leaves_nothing(tmpfs, monkeypatch, sysu_copy):
    small = tmpfs("64k")
    monkeypatch.setenv("VIREID_DATA_DIR", str(small))
    vis, _ = SYSUMM01(sysu_copy).train()
    need = C.cache_bytes(vis, 32, 16)
    assert need > 64 * 1024
    with pytest.raises(StorageError, match=rf"cannot write the preprocessing cache {small}/cache/sysu-train-visible-"
                                           rf".*: no space left on the device \(it needs {need / 1024:.1f} KiB, .* "
                                           rf"free there\).*VIREID_DATA_DIR"):
        load_images(vis, 32, 16, workers=1)  # checked before decoding
    with pytest.raises(StorageError, match=r"cannot write the preprocessing caches of sysu-train-visible to "):
        C.check_space([vis], 32, 16)
    assert leftovers(small) == []
    monkeypatch.setattr(C, "free_bytes", lambda path: 1 << 40)  # the check passes, then the disk fills up
    with pytest.raises(StorageError, match=r"cannot write the preprocessing cache .*: no space left on the device") \
            as full:
        load_images(vis, 32, 16, workers=1)
    assert full.value.errno == errno.ENOSPC  # an OSError too, as before, but one clear line; never a "Bus error"
    assert leftovers(small) == [], "no temporary file, no lock file"


def test_a_full_disk_while_the_data_are_generated_is_named_and_leaves_no_temporary_folder(tmpfs, monkeypatch):
    small = tmpfs("256k")
    monkeypatch.setenv("VIREID_DATA_DIR", str(small))
    from vireid_lib.data.synthetic import ensure_synthetic

    with pytest.raises(StorageError, match=rf"cannot write the synthetic regdb dataset {small}/synthetic/regdb-\w+: "
                                           r"no space left on the device .*VIREID_DATA_DIR"):
        ensure_synthetic(SYNTHETIC_PROFILES["smoke"], "regdb", workers=1, verbose=False)
    assert not [p for p in (small / "synthetic").iterdir() if p.is_dir()], "no temporary or partial folder"


def test_a_full_disk_while_a_checkpoint_is_saved_keeps_the_previous_one(tmpfs):
    disk = tmpfs("8m")
    cfg, run_dir = smoke(), disk / "run"
    engine.train(cfg, run_dir, progress_bar=False, log=False, stop_after_batches=1)
    before = (run_dir / "checkpoint.pt").read_bytes()
    fill(disk, leave=64 * 1024)
    with pytest.raises(CheckpointError, match=rf"cannot write the checkpoint {run_dir}/checkpoint.pt: no space left "
                                              r"on the device .* The previous checkpoint \(if any\) is intact"):
        engine.train(cfg, run_dir, progress_bar=False, log=False)
    assert (run_dir / "checkpoint.pt").read_bytes() == before
    assert leftovers(run_dir) == [".lock"]
    (disk / "filler").unlink()  # space again: the run resumes from the kept checkpoint and finishes
    assert engine.train(cfg, run_dir, progress_bar=False, log=False)["headline"]


# ---------------------------------------------------------------------------------------------------------
# Runs: checkpoints, weights, results
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished smoke run (trained once for this file; tests damage copies of it)."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    engine.train(smoke(), run_dir, progress_bar=False, log=False)
    return run_dir


@pytest.fixture
def run_copy(finished, tmp_path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.fixture
def interrupted(tmp_path) -> Path:
    """A run stopped after one batch: its folder holds a checkpoint and no result."""
    run_dir = tmp_path / "interrupted"
    engine.train(smoke(), run_dir, progress_bar=False, log=False, stop_after_batches=1)
    return run_dir


def test_files_of_an_interrupted_save_are_removed_when_the_run_starts_again(interrupted):
    """A process killed inside ``torch.save`` of the final model (or of a checkpoint) leaves its temporary file."""
    left = []
    for name in ("model.pt", "checkpoint.pt"):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp.pt", dir=interrupted)  # as atomic_path names it
        os.write(fd, b"half a file")
        os.close(fd)
        left.append(Path(tmp))
    engine.train(smoke(), interrupted, progress_bar=False, log=False)
    assert not any(p.exists() for p in left) and leftovers(interrupted) == [".lock"]
    assert (interrupted / "final.json").exists()


def test_an_empty_checkpoint_or_weights_file_is_named_as_empty(interrupted, run_copy, tmp_path):
    (interrupted / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=rf"checkpoint {interrupted}/checkpoint.pt cannot be read: the file is "
                                              r"empty \(0 bytes\).*move or delete it"):
        engine.train(smoke(), interrupted, progress_bar=False, log=False)
    (run_copy / "model.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"model.pt cannot be loaded: the file is empty \(0 bytes\)"):
        engine.load_model(smoke(), run_copy)
    from vireid_lib.models.backbone import imagenet_state_dict

    (tmp_path / "resnet18.pth").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"model.weights_path .*resnet18.pth could not be loaded as a weights-only "
                                          r"state dict: the file is empty \(0 bytes\)"):
        imagenet_state_dict(18, str(tmp_path / "resnet18.pth"))


def flip_inside_the_largest_record(path: Path, n: int = 64) -> None:
    """Flip ``n`` bytes in the middle of the largest record of a torch zip file (a tensor's data)."""
    info = max(zipfile.ZipFile(path).infolist(), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    off = info.header_offset
    start = off + 30 + int.from_bytes(raw[off + 26 : off + 28], "little") + int.from_bytes(raw[off + 28 : off + 30],
                                                                                            "little")
    middle = start + info.file_size // 2
    raw[middle : middle + n] = bytes(b ^ 0xFF for b in raw[middle : middle + n])
    path.write_bytes(bytes(raw))


def test_flipped_bytes_in_a_checkpoint_or_a_model_are_refused_by_their_checksum(interrupted, run_copy):
    ckpt = interrupted / "checkpoint.pt"
    flip_inside_the_largest_record(ckpt)
    damaged = ckpt.read_bytes()
    assert torch.load(ckpt, weights_only=True)["epoch"] == 0, "torch alone loads it without a word"
    with pytest.raises(CheckpointError, match=rf"checkpoint {ckpt} is damaged: its content does not match the sha256 "
                                              r"recorded in it .* not loaded: move or delete it"):
        engine.train(smoke(), interrupted, progress_bar=False, log=False)
    assert ckpt.read_bytes() == damaged and not (interrupted / "final.json").exists()
    flip_inside_the_largest_record(run_copy / "model.pt")
    with pytest.raises(CheckpointError, match=r"model.pt is damaged: its content does not match the sha256"):
        engine.load_model(smoke(), run_copy)


def test_a_damaged_final_json_is_named(run_copy):
    final = run_copy / "final.json"
    final.write_text("<<<<<<< HEAD\n" + final.read_text() + "=======\n{}\n>>>>>>> other\n")
    with pytest.raises(CheckpointError, match=rf"{final} is not a readable run result \(JSONDecodeError: .*\)\. "
                                              r"Restore it .* or delete it to train the run again"):
        engine.train(smoke(), run_copy, progress_bar=False, log=False)
    with pytest.raises(CheckpointError, match=rf"{final} is not a readable run result"):
        engine.read_final(final)


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_weights_holding_a_pickle_that_runs_code_are_refused_saying_so(run_copy, tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"backbone.visible.0.weight": _RunsCode(marker)}, run_copy / "model.pt")
    with pytest.raises(CheckpointError) as refused:
        engine.load_model(smoke(), run_copy)
    said = str(refused.value)
    assert "holds a pickle that would run code when loaded (it calls posix.system): refused" in said
    assert "config differs" not in said and not marker.exists()
    from vireid_lib.models.backbone import imagenet_state_dict

    shutil.copy(run_copy / "model.pt", tmp_path / "resnet18.pth")
    with pytest.raises(ConfigError, match=r"holds a pickle that would run code when loaded \(it calls posix.system\)"):
        imagenet_state_dict(18, str(tmp_path / "resnet18.pth"))
    assert not marker.exists()
