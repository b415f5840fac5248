import json

import pytest

from vireid_lib.io import append_jsonl, atomic_path, atomic_write_json, atomic_write_text, stable_hash


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary files left


def test_failed_write_leaves_old_content_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half-written")
        raise RuntimeError("crash in the middle")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_stable_hash_ignores_key_order_and_sees_values():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_append_jsonl(tmp_path):
    p = tmp_path / "log.jsonl"
    append_jsonl(p, {"epoch": 0})
    append_jsonl(p, {"epoch": 1})
    assert [json.loads(line)["epoch"] for line in p.read_text().splitlines()] == [0, 1]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    atomic_write_text(tmp_path / "r.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o666 & ~mask
