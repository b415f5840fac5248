"""The preprocessing cache: same pixels as decoding directly, rebuilt when stale, never half-written."""

import os

import numpy as np
import pytest

from vireid_lib.data import SYSUMM01, load_images
from vireid_lib.data import cache as C
from vireid_lib.data.common import load_resized


def test_cache_holds_the_resized_images(sysu_root):
    vis, _ = SYSUMM01(sysu_root).train()
    arr = load_images(vis, 40, 20)
    assert arr.shape == (len(vis), 40, 20, 3) and arr.dtype == np.uint8
    assert isinstance(arr, np.memmap)
    for i in (0, len(vis) // 2, len(vis) - 1):
        assert np.array_equal(arr[i], load_resized(vis.abspath(i), 40, 20))


def test_a_changed_file_makes_the_cache_stale_even_with_its_size_and_time_restored(sysu_copy):
    vis, _ = SYSUMM01(sysu_copy).train()
    first = C.cache_path(vis, 32, 16)
    load_images(vis, 32, 16)
    a, b = vis.abspath(0), vis.abspath(1)
    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, not changed: the same cache
    assert C.cache_path(vis, 32, 16) == first
    data = b.read_bytes()
    a.write_bytes(data[: st.st_size].ljust(st.st_size, b"\0"))  # another image's bytes, the same size ...
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the same modification time
    assert a.stat().st_size == st.st_size and a.stat().st_mtime_ns == st.st_mtime_ns
    assert C.cache_path(vis, 32, 16) != first
    digests = C.file_digests(vis)
    assert len(digests) == len(vis) and digests[0] != digests[2]


def test_a_crash_while_building_leaves_no_cache(sysu_copy, monkeypatch):
    vis, _ = SYSUMM01(sysu_copy).train()
    target = C.cache_path(vis, 24, 12)

    def boom(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(C, "_decode_chunk", boom)
    with pytest.raises(KeyboardInterrupt):
        load_images(vis, 24, 12, workers=1)
    assert not target.exists()
    assert not [p for p in target.parent.iterdir() if ".tmp" in p.name]
    monkeypatch.undo()
    assert load_images(vis, 24, 12, workers=1).shape == (len(vis), 24, 12, 3)


def test_a_damaged_cache_file_is_rebuilt(sysu_copy):
    vis, _ = SYSUMM01(sysu_copy).train()
    good = np.array(load_images(vis, 32, 16))
    path = C.cache_path(vis, 32, 16)
    path.write_bytes(path.read_bytes()[:100])
    assert np.array_equal(load_images(vis, 32, 16), good)
