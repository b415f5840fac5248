"""Render the "before" pictures of notebook 01: generator version 5 (before issue 10), frozen as one PNG.

Loads the version-5 generator from git history (it is not kept in the library), renders identities 1–6 of
seed 0 as its visible camera 1, near-infrared camera 3 and RegDB thermal camera saw them (one pose per row:
version 5 rendered RegDB's thermal image as the visible image's pixel-aligned twin), and writes the strip to
``vireid_lib/resources/synthetic_v5_strip.png`` (rows: identities; columns: visible, near-infrared, thermal;
128×64 each, 2-px white gaps). Run once; the PNG is committed.

    .venv/bin/python benchmarks/synthetic_before_strip.py
"""

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

V5_COMMIT = "e9aaf8e"  # the last commit with generator version 5 (vireid_lib/data/synthetic.py)
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "vireid_lib" / "resources" / "synthetic_v5_strip.png"
PIDS = (1, 2, 3, 4, 5, 6)


def load_v5():
    code = subprocess.run(["git", "-C", str(ROOT), "show", f"{V5_COMMIT}:vireid_lib/data/synthetic.py"],
                          check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "synthetic_v5.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("vireid_lib.data._synthetic_v5", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "vireid_lib.data"
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    assert mod.GENERATOR_VERSION == 5
    return mod


def main() -> None:
    S = load_v5()
    spec = SimpleNamespace(height=128, width=64, blur_max=1.0, noise_visible=0.02, noise_infrared=0.04,
                           occlusion_prob=0.0)
    cams = (S.make_camera(0, 1), S.make_camera(0, 3), S.make_camera(7919, 2, "thermal"))
    rows = []
    for pid in PIDS:
        ident = S.make_identity(0, pid)
        pose = S.draw_pose(np.random.default_rng([0, 99, pid]), ident, cams[0])
        tiles = [S.render(ident, cam, np.random.default_rng([0, 98, pid, k]), spec, pose=pose)
                 for k, cam in enumerate(cams)]
        rows.append(np.concatenate([np.pad(t, ((0, 0), (0, 2), (0, 0)), constant_values=255) for t in tiles], 1))
    strip = np.concatenate([np.pad(r, ((0, 2), (0, 0), (0, 0)), constant_values=255) for r in rows], 0)
    Image.fromarray(strip).save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(ROOT)}: {strip.shape[0]}×{strip.shape[1]}")


if __name__ == "__main__":
    main()
