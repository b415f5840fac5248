"""The dataset writers: every identity rendered by every camera that sees it, written in the real layouts.

SYSU-MM01: ``cam{1..6}/{pid:04d}/{n:04d}.jpg`` (visible cameras 1, 2, 4, 5; infrared 3, 6; not every identity in
every camera) and ``exp/{train,val,test}_id.txt`` with comma-separated ids. RegDB: ``Visible/{pid}/…_v_….bmp``
and ``Thermal/{pid}/…_t_….bmp``, 10 + 10 images per id taken at the same 10 instants by the two cameras, and
``idx/{train,test}_{visible,thermal}_{1..10}.txt`` with ``relative/path label`` lines, half of the identities
for training in each of 10 random splits. Identities are rendered in parallel processes; every image is a
pure function of the seed, so the result does not depend on the number of processes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ...config import SyntheticSpec
from .body import Pose, draw_pose
from .camera import INFRARED_CAMS, VISIBLE_CAMS, make_camera, regdb_cameras
from .chain import render
from .garments import make_identity
from .scene import draw_moment
from .sensor import jpeg_file, jpeg_then_bmp

REGDB_VIEWS = ("front", "back")
REGDB_SEED_OFFSET = 7919  # RegDB's people are not SYSU-MM01's
REGDB_OCCLUSION = 0.25  # RegDB's pair looks down on a walkway: people hide each other a quarter as often


def sysu_plan(spec: SyntheticSpec) -> dict:
    """Which identities exist, their split, and how many images each has in each camera.

    Returns ``{"train": [...], "val": [...], "test": [...], "counts": {pid: {cam: n}}}``. Every identity has
    at least one visible and one infrared camera (a training id needs both; a test id needs a query and a
    gallery), the others are present with probability ``camera_presence``.
    """
    rng = np.random.default_rng([spec.seed, 4])
    n = spec.n_train_ids + spec.n_val_ids + spec.n_test_ids
    # real SYSU-MM01 ids run 1..533 with gaps: leave some gaps here too
    pids = np.sort(rng.choice(np.arange(1, int(n * 1.1) + 2), size=n, replace=False))
    perm = rng.permutation(pids)
    train = sorted(int(p) for p in perm[: spec.n_train_ids])
    val = sorted(int(p) for p in perm[spec.n_train_ids : spec.n_train_ids + spec.n_val_ids])
    test = sorted(int(p) for p in perm[spec.n_train_ids + spec.n_val_ids :])
    counts: dict[int, dict[int, int]] = {}
    lo, hi = max(1, spec.images_per_camera // 2), spec.images_per_camera * 3 // 2
    for p in pids:
        present = {c: bool(rng.random() < spec.camera_presence) for c in range(1, 7)}
        for group in (VISIBLE_CAMS, INFRARED_CAMS):
            if not any(present[c] for c in group):
                present[int(rng.choice(group))] = True
        counts[int(p)] = {c: int(rng.integers(lo, hi + 1)) for c in range(1, 7) if present[c]}
    return {"train": train, "val": val, "test": test, "counts": counts}


def sysu_camera(spec: SyntheticSpec, cam: int):
    """Camera ``cam`` of the SYSU-MM01-like world."""
    return make_camera(spec.seed, cam, ambient_scale=spec.nir_ambient)


def _render_sysu_identity(args: tuple) -> int:
    spec, pid, cams, cameras, root = args
    ident = make_identity(spec.seed, pid)
    n_written = 0
    for cam, count in cams.items():
        camera = cameras[cam]
        folder = Path(root) / f"cam{cam}" / f"{pid:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(1, count + 1):
            rng = np.random.default_rng([spec.seed, 5, pid, cam, n])
            img = render(ident, camera, rng, spec)
            q = int(rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
            jpeg_file(img, q, folder / f"{n:04d}.jpg")
            n_written += 1
    return n_written


def write_sysu(spec: SyntheticSpec, root: Path, workers: int | None = None) -> int:
    """Write a SYSU-MM01-layout dataset under ``root`` (which must not exist yet). Returns the image count."""
    plan = sysu_plan(spec)
    root.mkdir(parents=True)
    for c in range(1, 7):
        (root / f"cam{c}").mkdir()
    (root / "exp").mkdir()
    for split in ("train", "val", "test"):
        (root / "exp" / f"{split}_id.txt").write_text(",".join(str(p) for p in plan[split]) + "\n")
    cameras = {c: sysu_camera(spec, c) for c in range(1, 7)}  # made once, shared by every identity they film
    jobs = [(spec, pid, cams, cameras, str(root)) for pid, cams in plan["counts"].items()]
    return sum(_map(_render_sysu_identity, jobs, workers))


def regdb_pair(spec: SyntheticSpec):
    """RegDB's visible and thermal cameras for this spec."""
    return regdb_cameras(spec.seed + REGDB_SEED_OFFSET, spec.thermal_registration, spec.thermal_native,
                         spec.thermal_psf, spec.regdb_tone_curve)


def regdb_session(spec: SyntheticSpec, pid: int) -> tuple[str, dict]:
    """When and how a RegDB identity was recorded: one walking direction past the pair (front or back view), the
    air temperature and the sunshine of that pass."""
    rng = np.random.default_rng([spec.seed, 9, pid])
    view = REGDB_VIEWS[int(rng.integers(0, 2))]
    return view, {"air_temp": float(rng.uniform(5.0, 28.0)), "sun": float(rng.uniform(0.0, 1.0) ** 2)}


def regdb_moments(spec: SyntheticSpec, pid: int, ident, vis_cam) -> list:
    """The 10 instants of one RegDB identity, each filmed by both cameras: 10 frames of one pass past the pair.
    The walking direction, the distance (so the scale, the focus and the cameras' parallax), the place in the
    frame and the light stay the same; the gait moves on through its cycle; the detector box moves by a pixel
    or so; the ground behind the person (seams, markings) moves on as they walk towards or away from the pair."""
    view, session = regdb_session(spec, pid)
    pas = np.random.default_rng([spec.seed, 11, pid])
    scale = ident.body.height * float(pas.uniform(0.92, 1.04))
    cx, top = 0.5 + float(pas.uniform(-0.04, 0.04)), float(pas.uniform(0.01, 0.06))
    ground = draw_moment(pas, draw_pose(pas, ident.body, vis_cam.view_p), vis_cam.scene, 0.0, **session)
    dshift, dy = float(pas.uniform(-0.02, 0.02)), float(pas.uniform(0.005, 0.015)) * (1 if view == "front" else -1)
    parallax = tuple(float(v) for v in pas.normal(0, 1, 3))
    swing, stride, phase, step = (float(pas.uniform(0.03, 0.12)), float(pas.uniform(0.02, 0.08)),
                                  float(pas.uniform(0, 2 * np.pi)), float(pas.uniform(0.3, 0.8)))
    focus = float(pas.uniform(0, 1))
    y0, span = vis_cam.scene.floor_y, 1 - vis_cam.scene.floor_y
    out = []
    for k in range(1, 11):
        rng = np.random.default_rng([spec.seed, 6, pid, k])
        gait = np.sin(phase + k * step)
        pose = Pose(view=view, swing=swing * gait, stride=stride * abs(gait),
                    scale=scale * float(np.exp(rng.normal(0, 0.01))), cx=cx + float(rng.normal(0, 1.0 / 64)),
                    top=top + float(rng.normal(0, 1.0 / 128)))
        moment = draw_moment(rng, pose, vis_cam.scene, REGDB_OCCLUSION * spec.occlusion_prob, **session)
        clutter = tuple((x, y0 + (y - y0 + k * dy) % span, w, h, srf) for x, y, w, h, srf in ground.clutter)
        out.append(dataclasses.replace(moment, shift=ground.shift + k * dshift, floor_jitter=ground.floor_jitter,
                                       clutter=clutter, parallax=parallax, exposure=ground.exposure,
                                       defocus=focus))
    return out


def _render_regdb_identity(args: tuple) -> list[tuple[str, str]]:
    spec, pid, serial0, (vis_cam, th_cam), root = args
    ident = make_identity(spec.seed + REGDB_SEED_OFFSET, pid)
    out = []
    for folder in ("Visible", "Thermal"):
        (Path(root) / folder / str(pid)).mkdir(parents=True, exist_ok=True)
    for k, moment in enumerate(regdb_moments(spec, pid, ident, vis_cam), 1):
        q_rng = np.random.default_rng([spec.seed, 10, pid, k])
        names = []
        for j, (cam, tag, folder) in enumerate(((vis_cam, "v", "Visible"), (th_cam, "t", "Thermal"))):
            img = render(ident, cam, np.random.default_rng([spec.seed, 7, pid, k, j]), spec, moment=moment)
            q = int(q_rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
            rel = f"{folder}/{pid}/{ident.body.gender}_{moment.pose.view}_{tag}_{serial0 + k:05d}_{k}.bmp"
            jpeg_then_bmp(img, q, os.path.join(root, rel))
            names.append(rel)
        out.append((names[0], names[1]))
    return out


def write_regdb(spec: SyntheticSpec, root: Path, workers: int | None = None) -> int:
    """Write a RegDB-layout dataset under ``root`` (which must not exist yet). Returns the image count."""
    root.mkdir(parents=True)
    pids = list(range(1, spec.regdb_ids + 1))
    pair = regdb_pair(spec)  # made once, shared by every identity
    jobs = [(spec, pid, (pid - 1) * 10, pair, str(root)) for pid in pids]
    pairs = dict(zip(pids, _map(_render_regdb_identity, jobs, workers), strict=True))
    (root / "idx").mkdir()
    half = spec.regdb_ids // 2
    for trial in range(1, 11):
        perm = np.random.default_rng([spec.seed, 8, trial]).permutation(pids)
        for split, ids in (("train", sorted(perm[:half])), ("test", sorted(perm[half:]))):
            for mod, j in (("visible", 0), ("thermal", 1)):
                lines = [f"{pairs[int(p)][k][j]} {label}" for label, p in enumerate(ids) for k in range(10)]
                (root / "idx" / f"{split}_{mod}_{trial}.txt").write_text("\n".join(lines) + "\n")
    return 20 * spec.regdb_ids


def _map(fn, jobs: list, workers: int | None) -> Iterator:
    workers = workers if workers is not None else min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return map(fn, jobs)
    with ProcessPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
