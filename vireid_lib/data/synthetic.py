"""The embedded default: a synthetic visible/infrared person dataset, in the real datasets' on-disk layouts.

SYSU-MM01 and RegDB are licensed and cannot be downloaded, so the study generates its own data,
deterministically from a :class:`~vireid_lib.config.SyntheticSpec`, and writes it exactly as the real sets
lie on disk. The same readers, samplers and evaluation protocols then run on either.

How an image arises, and what the generator therefore models
-------------------------------------------------------------
*The person* (drawn once per identity, shared by both modalities): height, build and proportions; skin
and hair; the relief of the clothes (folds, seams, pockets: geometry, so it shades both modalities alike);
an upper garment (sleeve length, pattern: plain / stripes / checks / logo / colour block / open jacket) and
a lower garment (trousers, shorts or skirt, of some length); shoes; carried items (bag, backpack, hat).
Every garment has a visible colour *and a material*. Most dyes are transparent in the near-infrared, so a
garment's near-IR reflectance is its fibre's, drawn independently of its colour; an optional fraction
``absorbing_dyes`` of garments is dyed with broadband absorbers (carbon black and the like) and reflects
near-IR as it reflects visible light (0 by default: every garment independent). Thermal emission (RegDB's
thermal camera) is independent of colour altogether. Shape, pattern layout, relief, item presence and body
build are the same in both modalities.

*The infrared cameras* (SYSU-MM01's cameras 3 and 6) are monochrome cameras in night mode: their IR-cut
filter is removed and an illuminator near the camera adds near-IR light. The sensor integrates both bands,
so what it records of a surface is ``ambient × (visible lightness) + (1 − ambient) × (near-IR reflectance)``:
indoors (camera 3, room lights on) ambient light is most of the signal, outdoors at night (camera 6) less.
Hue is always lost; lightness carries over in part, more indoors. Measured (README): with no ambient light
at all, every model a 2-core CPU trains from scratch in minutes stays at chance across modalities, even on
the training identities; the shared cues are then only geometric, which needs far more data and compute.

*The image* (drawn per image): viewpoint (front / back / left / right: a backpack is seen from the back,
a logo and the face from the front, the torso is narrower from the side), pose (arm swing, stride),
the detector's crop (scale and shift), the camera's scene (background structure, indoor or outdoor; camera 3
films the same room as camera 2), illumination (visible: colour cast and brightness; infrared: gain, offset
and the fall-off of the active illuminator, which lights a passer-by more than the scene behind), partial
occlusion, defocus/motion blur, sensor noise and JPEG compression. Infrared images are one channel stored as
three equal channels, as in SYSU-MM01.

Nothing here is tuned to make an ablation come out a certain way; the nuisance levels are fixed in the spec.

Layouts written (see ``../shared/REFERENCE-IMPLEMENTATIONS.md``)
-----------------------------------------------------------------
SYSU-MM01: ``cam{1..6}/{pid:04d}/{n:04d}.jpg`` (visible cameras 1, 2, 4, 5; infrared 3, 6; 1–3 indoor,
4–6 outdoor; not every identity in every camera) and ``exp/{train,val,test}_id.txt`` with comma-separated
ids. RegDB: ``Visible/{pid}/…_v_….bmp`` and ``Thermal/{pid}/…_t_….bmp``, 10 + 10 aligned images per id,
and ``idx/{train,test}_{visible,thermal}_{1..10}.txt`` with ``relative/path label`` lines, half of the
identities for training in each of 10 random splits.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from ..config import SyntheticSpec, asdict
from ..errors import DataError
from ..io import atomic_write_json, stable_hash, storage_error
from ..paths import shown, synthetic_dir

GENERATOR_VERSION = 5

VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)
INDOOR_CAMS = (1, 2, 3)
VIEWS = ("front", "back", "left", "right")

# label map of a rendered person
BG, SKIN, HAIR, UPPER, PATTERN, LOWER, SHOES, BAG, BACKPACK, HAT, OCCLUDER = range(11)
N_LABELS = 11
FOREGROUND = (SKIN, HAIR, UPPER, PATTERN, LOWER, SHOES, BAG, BACKPACK, HAT)


# ---------------------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Material:
    """A surface: its visible colour (RGB in [0, 1]), its near-IR reflectance and its thermal emission.

    The three are drawn independently: a dye sets the visible colour, the fibre and weave set the near-IR
    reflectance, thickness and temperature set the thermal emission.
    """

    rgb: tuple[float, float, float]
    nir: float
    thermal: float


@dataclass(frozen=True)
class Identity:
    """A person: body geometry and clothing cut (seen by both modalities) and materials (seen differently)."""

    pid: int
    gender: str
    height: float  # fraction of the crop's height the standing person fills
    build: float  # width multiplier
    shoulders: float  # shoulder half-width, in units of height (before ``build``)
    hip_y: float  # where the torso ends and the legs begin (torso / leg proportion)
    head: float  # head size multiplier
    skin: Material
    hair: Material
    hair_length: float  # how far below the head the hair falls (0: short)
    upper: Material
    sleeve: float  # fraction of the arm the sleeve covers
    pattern: str  # "plain" | "hstripes" | "vstripes" | "checks" | "logo" | "block" | "jacket"
    pattern_material: Material
    pattern_period: float
    lower: Material
    lower_kind: str  # "trousers" | "shorts" | "skirt"
    lower_end: float  # where the lower garment ends (height fraction)
    shoes: Material
    bag: Material | None
    bag_side: int
    bag_size: float
    backpack: Material | None
    backpack_size: float
    hat: Material | None
    hat_height: float
    relief: tuple[tuple[float, float, float, float], ...]  # folds, seams, pockets: (fx, fy, phase, amplitude)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _fabric(rng: np.random.Generator, absorbing_dyes: float = 0.0) -> Material:
    """A garment's material: a dye (the visible colour; clothing is often achromatic: black, grey, white, navy)
    on a fibre.

    Near-IR: most dyes are transparent beyond 700 nm, so the garment reflects as its fibre does, whatever
    its colour (drawn independently of it). Some dyes (carbon black and other broadband absorbers) absorb
    near-IR as they absorb visible light: such a garment is as light or dark in near-IR as it is in visible
    light. ``absorbing_dyes`` is the fraction of garments dyed that way (0: every garment independent).
    Hue never carries over. Thermal emission is independent of both.
    """
    if rng.random() < 0.35:
        v = float(rng.uniform(0.08, 0.92))
        rgb = _hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.12)), v)
    else:
        rgb = _hsv_to_rgb(float(rng.random()), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.25, 0.9)))
    lightness = float(np.dot(rgb, (0.299, 0.587, 0.114)))
    fibre = float(rng.uniform(0.15, 0.9))
    nir = 0.1 + 0.8 * lightness if rng.random() < absorbing_dyes else fibre
    return Material(rgb=tuple(float(c) for c in rgb), nir=nir, thermal=float(rng.uniform(0.35, 0.7)))


def make_identity(seed: int, pid: int, absorbing_dyes: float = 0.0) -> Identity:
    """Draw identity ``pid`` of the dataset with this seed (a pure function of both).

    Body proportions and clothing cut vary continuously, as they do between real people; they are what the
    two modalities share. Colours and infrared brightnesses are drawn independently of each other.
    """
    rng = np.random.default_rng([seed, 1, pid])
    tone = float(rng.uniform(0.25, 0.85))  # skin from dark to light
    skin = Material(rgb=(0.35 + 0.6 * tone, 0.22 + 0.55 * tone, 0.15 + 0.5 * tone),
                    nir=float(rng.uniform(0.55, 0.8)), thermal=float(rng.uniform(0.85, 0.95)))
    hv = float(rng.uniform(0.05, 0.6))
    hair = Material(rgb=(hv * 1.0, hv * 0.8, hv * 0.6), nir=float(rng.uniform(0.15, 0.5)),
                    thermal=float(rng.uniform(0.55, 0.7)))
    gender = "female" if rng.random() < 0.5 else "male"
    pattern = str(rng.choice(["plain", "hstripes", "vstripes", "checks", "logo", "block", "jacket"],
                             p=[0.3, 0.15, 0.1, 0.1, 0.1, 0.1, 0.15]))
    lower_kind = str(rng.choice(["trousers", "shorts", "skirt"],
                                p=[0.6, 0.2, 0.2] if gender == "female" else [0.8, 0.2, 0.0]))
    lower_end = {"trousers": (0.86, 0.95), "shorts": (0.6, 0.74), "skirt": (0.62, 0.86)}[lower_kind]
    long_hair = rng.random() < (0.6 if gender == "female" else 0.1)
    upper = _fabric(rng, absorbing_dyes)
    pm = _fabric(rng, absorbing_dyes)
    # a print, a weave or an inner garment: its IR contrast with the base fabric varies (same fibre or not)
    w = float(rng.uniform(0.5, 1.0))
    pattern_material = Material(rgb=pm.rgb, nir=w * pm.nir + (1 - w) * upper.nir,
                                thermal=w * pm.thermal + (1 - w) * upper.thermal)
    return Identity(
        pid=pid, gender=gender,
        height=float(rng.uniform(0.84, 0.97)), build=float(rng.uniform(0.78, 1.3)),
        shoulders=float(rng.uniform(0.11, 0.145)), hip_y=float(rng.uniform(0.46, 0.54)),
        head=float(rng.uniform(0.88, 1.12)), skin=skin, hair=hair,
        hair_length=float(rng.uniform(0.08, 0.24) if long_hair else rng.uniform(0.0, 0.03)),
        upper=upper, sleeve=float(rng.uniform(0.2, 0.45) if rng.random() < 0.4 else rng.uniform(0.8, 0.95)),
        pattern=pattern, pattern_material=pattern_material, pattern_period=float(rng.uniform(0.05, 0.12)),
        lower=_fabric(rng, absorbing_dyes), lower_kind=lower_kind, lower_end=float(rng.uniform(*lower_end)),
        shoes=_fabric(rng, absorbing_dyes),
        bag=_fabric(rng, absorbing_dyes) if rng.random() < 0.3 else None, bag_side=int(rng.choice([-1, 1])),
        bag_size=float(rng.uniform(0.7, 1.4)),
        backpack=_fabric(rng, absorbing_dyes) if rng.random() < 0.3 else None,
        backpack_size=float(rng.uniform(0.75, 1.3)),
        hat=_fabric(rng, absorbing_dyes) if rng.random() < 0.15 else None,
        hat_height=float(rng.uniform(0.025, 0.06)),
        relief=tuple((float(rng.uniform(-8, 8)), float(rng.uniform(2, 10)), float(rng.uniform(0, 2 * np.pi)),
                      float(rng.uniform(0.04, 0.12))) for _ in range(4)),
    )


# ---------------------------------------------------------------------------------------------------------
# Cameras
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Camera:
    cam: int
    modality: str  # "visible" | "nir" | "thermal"
    indoor: bool
    wall: tuple[np.ndarray, np.ndarray]  # top and bottom colour of the wall / scene
    floor: np.ndarray
    floor_y: float  # where the floor starts (fraction of height)
    structures: tuple[tuple[float, float, np.ndarray], ...]  # (x centre, width, colour): doors, pillars, trees
    cast: np.ndarray  # visible: RGB gain (white balance / light colour)
    brightness: float
    gain: float  # infrared
    offset: float
    falloff: float
    scene_light: float  # NIR: light on the scene relative to the person (the illuminator is near the camera)
    ambient: float  # NIR: share of the signal that is ambient visible light (no IR-cut filter at night)
    view_p: np.ndarray  # viewpoint probabilities (people walk in typical directions past each camera)


def _scene_colour(rng: np.random.Generator, modality: str, lo: float, hi: float) -> np.ndarray:
    if modality == "visible":
        return np.array(_hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.35)), float(rng.uniform(lo, hi))))
    v = float(rng.uniform(lo, hi))
    return np.array([v, v, v])


def make_camera(seed: int, cam: int, modality: str | None = None) -> Camera:
    """Camera ``cam`` of the SYSU-MM01-like world (or of RegDB's pair when ``modality`` is given).

    Camera 3 (infrared) films the room of camera 2, so it shares that camera's scene geometry.
    """
    if modality is None:
        modality = "visible" if cam in VISIBLE_CAMS else "nir"
    geo = np.random.default_rng([seed, 2, 2 if cam == 3 else cam])  # scene geometry
    rng = np.random.default_rng([seed, 3, cam, {"visible": 0, "nir": 1, "thermal": 2}[modality]])
    indoor = cam in INDOOR_CAMS
    floor_y = float(geo.uniform(0.72, 0.86))
    n_struct = int(geo.integers(1, 4))
    xs = geo.uniform(0, 1, n_struct)
    ws = geo.uniform(0.08, 0.3, n_struct)
    if modality == "thermal":  # scene at ambient temperature: dark and flat
        lo, hi = 0.08, 0.3
    elif modality == "nir":
        lo, hi = (0.25, 0.6) if indoor else (0.05, 0.35)  # outdoor IR at night: dark far field
    else:
        lo, hi = (0.35, 0.85) if indoor else (0.3, 0.95)
    wall = (_scene_colour(rng, modality, lo, hi), _scene_colour(rng, modality, lo, hi))
    floor = _scene_colour(rng, modality, lo * 0.8, hi * 0.9)
    structures = tuple((float(x), float(w), _scene_colour(rng, modality, lo, hi)) for x, w in zip(xs, ws, strict=True))
    cast = rng.uniform(0.8, 1.15, 3) if modality == "visible" else np.ones(3)
    view_p = rng.dirichlet(np.full(4, 2.0))
    return Camera(
        cam=cam, modality=modality, indoor=indoor, wall=wall, floor=floor, floor_y=floor_y,
        structures=structures, cast=cast,
        brightness=float(rng.uniform(0.85, 1.1) if indoor else rng.uniform(0.9, 1.25)),
        gain=float(rng.uniform(0.8, 1.2)), offset=float(rng.uniform(0.0, 0.12)),
        falloff=float(rng.uniform(0.2, 0.5) if modality == "nir" else 0.05), view_p=view_p,
        # active NIR illumination falls off with distance: the scene behind a passer-by gets less of it
        scene_light=float((rng.uniform(0.5, 0.75) if indoor else rng.uniform(0.3, 0.55))
                          if modality == "nir" else 1.0),
        # a night-mode camera drops its IR-cut filter: it records the room's lamps' visible light as well as
        # the illuminator's near-IR; indoors (camera 3, lights on) much of it, outdoors (camera 6) less
        ambient=float((rng.uniform(0.75, 0.9) if indoor else rng.uniform(0.35, 0.55)) if modality == "nir" else 0.0),
    )


# ---------------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------------
def _capsule(x: np.ndarray, y: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r: float):
    """Mask of points within ``r`` of segment p0–p1, and the position t ∈ [0, 1] along it."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip(((x - p0[0]) * dx + (y - p0[1]) * dy) / (dx * dx + dy * dy + 1e-12), 0.0, 1.0)
    d2 = (x - p0[0] - t * dx) ** 2 + (y - p0[1] - t * dy) ** 2
    return d2 <= r * r, t


@dataclass(frozen=True)
class Pose:
    view: str
    swing: float  # arm swing angle (radians)
    stride: float  # leg angle (radians)
    scale: float  # person height in units of image height
    cx: float  # person centre (fraction of width)
    top: float  # head top (fraction of height)


def draw_pose(rng: np.random.Generator, ident: Identity, camera: Camera) -> Pose:
    view = VIEWS[int(rng.choice(4, p=camera.view_p))]
    side = view in ("left", "right")
    return Pose(
        view=view,
        swing=float(rng.uniform(-0.45, 0.45) if side else rng.uniform(-0.12, 0.12)),
        stride=float(rng.uniform(0.05, 0.35) if side else rng.uniform(0.0, 0.08)),
        scale=ident.height * float(rng.uniform(0.9, 1.06)),  # the detector's box is loose or tight
        cx=0.5 + float(rng.uniform(-0.09, 0.09)),
        top=float(rng.uniform(0.0, 0.08)),
    )


def person_labels(ident: Identity, pose: Pose, H: int, W: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterise the person: a label map (H, W) of body parts and the body coordinates x, y (for shading).

    Coordinates are in units of the person's height: y = 0 at the top of the head, 1 at the soles.
    """
    S = pose.scale * H
    v = (np.arange(H, dtype=np.float32)[:, None] + 0.5 - pose.top * H) / S
    u = (np.arange(W, dtype=np.float32)[None, :] + 0.5 - pose.cx * W) / S
    x, y = np.broadcast_to(u, (H, W)), np.broadcast_to(v, (H, W))
    lab = np.zeros((H, W), np.int8)
    side = pose.view in ("left", "right")
    facing = {"left": -1, "right": 1}.get(pose.view, 0)
    b = ident.build
    half_sh = (0.6 * ident.shoulders if side else ident.shoulders) * b  # shoulder half-width
    half_hip = (0.065 if side else 0.10) * b
    hip_y, foot_y, leg_r = ident.hip_y, 0.96, 0.042 * b
    waist = hip_y - 0.03

    # legs (drawn first: the torso and skirt cover their tops)
    leg_cover = hip_y if ident.lower_kind == "skirt" else ident.lower_end
    for sgn in (-1, 1):
        hx = sgn * (0.02 if side else 0.05) * b
        ang = sgn * pose.stride
        fx, fy = hx + np.sin(ang) * (foot_y - hip_y), hip_y + np.cos(ang) * (foot_y - hip_y)
        m, t = _capsule(x, y, (hx, hip_y), (fx, fy), leg_r)
        ly = hip_y + t * (fy - hip_y)
        lab[m] = np.where(ly[m] <= leg_cover, LOWER, SKIN)
        shoe, _ = _capsule(x, y, (fx - 0.01, fy - 0.005), (fx + 0.02 * (facing or 0.3), fy + 0.01), 0.032 * b)
        lab[shoe] = SHOES
    if ident.lower_kind == "skirt":
        frac = np.clip((y - hip_y) / (ident.lower_end - hip_y), 0, 1)
        lab[(y >= waist) & (y <= ident.lower_end) & (np.abs(x) <= half_hip + 0.05 * b * frac)] = LOWER
    # torso: shoulders to hips, tapering
    frac = np.clip((y - 0.15) / (hip_y + 0.02 - 0.15), 0, 1)
    torso = (y >= 0.15) & (y <= hip_y + 0.02) & (np.abs(x) <= half_sh + (half_hip - half_sh) * frac)
    lab[torso & (y > waist)] = LOWER  # waistband: the trousers' top under the shirt's hem
    lab[torso & (y <= waist)] = UPPER
    # pattern of the upper garment (the same layout in both modalities; its IR contrast is the material's)
    per = ident.pattern_period
    if ident.pattern == "hstripes":
        pat = np.sin(2 * np.pi * y / per) > 0.3
    elif ident.pattern == "vstripes":
        pat = np.sin(2 * np.pi * x / per) > 0.3
    elif ident.pattern == "checks":
        pat = (np.sin(2 * np.pi * x / per) > 0) ^ (np.sin(2 * np.pi * y / per) > 0)
    elif ident.pattern == "logo":
        pat = (pose.view == "front") & (np.abs(x - 0.02) < 0.045) & (np.abs(y - 0.25) < 0.04)
    elif ident.pattern == "block":  # a colour-blocked shirt: the lower part in the second fabric
        pat = y > 0.15 + (waist - 0.15) * (0.35 + 4 * (per - 0.05))
    elif ident.pattern == "jacket":  # an open jacket over a shirt: the shirt shows in front
        pat = (pose.view == "front") & (np.abs(x) < 0.25 * half_sh + 0.4 * per)
    else:
        pat = np.zeros_like(torso)
    lab[(lab == UPPER) & pat] = PATTERN
    # backpack: seen from the back, sticks out behind from the side, straps from the front
    if ident.backpack is not None:
        bs = ident.backpack_size
        top, bottom = 0.18, 0.18 + 0.24 * bs
        if pose.view == "back":
            lab[(np.abs(x) <= 0.085 * b * bs) & (y >= top) & (y <= bottom)] = BACKPACK
        elif side:
            bx = -facing * (half_sh + 0.03 * bs)
            lab[(np.abs(x - bx) <= 0.045 * bs) & (y >= top) & (y <= bottom)] = BACKPACK
        else:
            for sgn in (-1, 1):
                lab[(np.abs(x - sgn * 0.06 * b) <= 0.012) & (y >= 0.15) & (y <= 0.36)] = BACKPACK
    # arms: sleeves then skin
    arm_len, arm_r = 0.36, 0.032 * b
    arms = (1,) if side else (-1, 1)
    for sgn in arms:
        sx = (sgn * (half_sh + 0.005)) if not side else 0.0
        ang = pose.swing * (sgn if not side else 1)
        hx, hy = sx + np.sin(ang) * arm_len + (0 if side else sgn * 0.02), 0.17 + np.cos(ang) * arm_len
        m, t = _capsule(x, y, (sx, 0.17), (hx, hy), arm_r)
        lab[m] = np.where(t[m] <= ident.sleeve, UPPER, SKIN)
    # bag on a shoulder strap: hangs at the hip on its side
    if ident.bag is not None and not (side and ident.bag_side != facing):
        s_ = ident.bag_size
        bx = (ident.bag_side * (half_hip + 0.05 * b * s_)) if not side else facing * 0.02
        lab[(np.abs(x - bx) <= 0.05 * s_) & (y >= hip_y - 0.06 * s_) & (y <= hip_y + 0.06 * s_)] = BAG
        m, _ = _capsule(x, y, (-ident.bag_side * half_sh * 0.7, 0.16), (bx, hip_y - 0.05 * s_), 0.008)
        lab[m] = BAG
    # head, hair, hat
    hr, hy_c = 0.058 * min(b, 1.05) * ident.head, 0.075 * ident.head
    head = ((x - 0.01 * facing) / hr) ** 2 + ((y - hy_c) / (0.072 * ident.head)) ** 2 <= 1
    lab[head] = SKIN if pose.view != "back" else HAIR
    hair_top = head & (y < (0.045 if pose.view == "front" else 0.08 if side else 1.0) * ident.head)
    if side:  # hair on the back half of the head
        hair_top |= head & ((x - 0.01 * facing) * facing < -0.01)
    lab[hair_top] = HAIR
    if ident.hair_length > 0.05 and pose.view != "front":
        lab[(np.abs(x + (0.02 * facing if side else 0)) <= 0.05) & (y > 0.07) & (y < 0.07 + ident.hair_length)
            & ((lab == UPPER) | (lab == PATTERN) | (lab == BG) | (lab == SKIN))] = HAIR
    if ident.hat is not None:
        lab[(np.abs(x - 0.01 * facing) <= 0.068 * ident.head) & (y >= 0.04 - ident.hat_height) & (y <= 0.04)] = HAT
    return lab, x, y


def material_table(ident: Identity, modality: str, ambient: float = 0.0) -> np.ndarray:
    """Per-label appearance (N_LABELS, 3) of this identity in this modality; background rows are unused.

    For a near-IR camera, ``ambient`` is the share of visible light in its signal: what it records of a
    surface is ``ambient × visible lightness + (1 − ambient) × near-IR reflectance`` (a monochrome sensor
    without IR-cut filter integrates both bands)."""
    mats = {SKIN: ident.skin, HAIR: ident.hair, UPPER: ident.upper, PATTERN: ident.pattern_material,
            LOWER: ident.lower, SHOES: ident.shoes, BAG: ident.bag, BACKPACK: ident.backpack, HAT: ident.hat}
    table = np.zeros((N_LABELS, 3), np.float32)
    for lab, m in mats.items():
        if m is None:
            continue
        if modality == "visible":
            table[lab] = m.rgb
        else:
            table[lab] = m.nir if modality == "nir" else m.thermal
    if modality == "thermal":  # carried items are at ambient temperature, not body temperature
        for lab in (BAG, BACKPACK):
            table[lab] = 0.3
    if modality == "nir" and ambient > 0:
        light = material_table(ident, "visible") @ np.array([0.299, 0.587, 0.114], np.float32)
        table = (1 - ambient) * table + ambient * light[:, None]
    return table


def background(camera: Camera, rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    """The camera's scene behind the person, seen from a slightly different spot in each image."""
    v = (np.arange(H, dtype=np.float32)[:, None] + 0.5) / H
    u = (np.arange(W, dtype=np.float32)[None, :] + 0.5) / W
    top, bot = camera.wall
    img = top[None, None, :] * (1 - v[..., None]) + bot[None, None, :] * v[..., None]
    img = np.broadcast_to(img, (H, W, 3)).copy()
    shift = float(rng.uniform(-0.5, 0.5))  # the person walks past: the scene slides
    for xc, w, col in camera.structures:
        xc = (xc + shift) % 1.4 - 0.2
        img[:, (np.abs(u[0] - xc) <= w / 2)] = col
    fy = camera.floor_y + float(rng.uniform(-0.04, 0.04))
    img[v[:, 0] >= fy] = camera.floor
    # clutter: other objects in the scene
    for _ in range(int(rng.integers(0, 3))):
        x0, y0 = rng.uniform(0, 1), rng.uniform(0.3, 0.9)
        w, h = rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.25)
        col = np.clip(camera.floor * rng.uniform(0.6, 1.4, 3 if camera.modality == "visible" else 1), 0, 1)
        img[(np.abs(v[:, 0] - y0) <= h / 2)[:, None] & (np.abs(u[0] - x0) <= w / 2)[None, :]] = col
    # low-frequency texture (lighting gradients, surface variation)
    tex = 0.04 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * u + rng.uniform(0, 1))) * np.sin(
        2 * np.pi * (rng.uniform(0.5, 2) * v + rng.uniform(0, 1)))
    return img + tex[..., None]


def render(ident: Identity, camera: Camera, rng: np.random.Generator, spec: SyntheticSpec,
           pose: Pose | None = None, H: int | None = None, W: int | None = None) -> np.ndarray:
    """One image of ``ident`` seen by ``camera``: uint8 (H, W, 3), before JPEG compression.

    ``pose`` can be passed to render a visible/thermal pair of the same instant (RegDB's aligned pairs).
    """
    H = H or spec.height
    W = W or spec.width
    pose = pose or draw_pose(rng, ident, camera)
    lab, xb, yb = person_labels(ident, pose, H, W)
    table = material_table(ident, camera.modality, camera.ambient)
    img = background(camera, rng, H, W) * camera.scene_light
    fg = lab > 0
    # shading of a roughly cylindrical body under overhead light ...
    shade = (1.0 - 0.35 * np.clip((xb / 0.16) ** 2, 0, 1)) * (1.08 - 0.16 * np.linspace(0, 1, H)[:, None])
    # ... and of the clothes' relief (folds, seams, pockets): geometry, so the same in every band
    cloth = np.isin(lab, (UPPER, PATTERN, LOWER, BAG, BACKPACK, HAT))
    relief = 1.0 + sum(a * np.sin(2 * np.pi * (fx * xb + fy * yb) + ph) for fx, fy, ph, a in ident.relief)
    shade = np.where(cloth, shade * relief, shade)
    img[fg] = table[lab[fg]] * shade[fg][:, None]
    # partial occlusion: a passer-by or a pillar at the side, or an object in front of the legs
    if rng.random() < spec.occlusion_prob:
        col = np.clip(camera.floor * rng.uniform(0.5, 1.5, 3 if camera.modality == "visible" else 1), 0, 1)
        if rng.random() < 0.5:
            img[int(H * rng.uniform(0.6, 0.8)):] = col
        else:
            w = int(W * rng.uniform(0.2, 0.35))
            if rng.random() < 0.5:
                img[:, :w] = col
            else:
                img[:, W - w:] = col
    # illumination
    if camera.modality == "visible":
        img = img * camera.cast * camera.brightness * float(rng.uniform(0.75, 1.2))
    else:
        vv = (np.arange(H)[:, None] + 0.5) / H - rng.uniform(0.35, 0.65)
        uu = (np.arange(W)[None, :] + 0.5) / W - rng.uniform(0.35, 0.65)
        fall = 1.0 - camera.falloff * np.clip((vv**2 + (2 * uu) ** 2) * 2, 0, 1)
        gain = camera.gain * float(rng.uniform(0.85, 1.15))
        img = img[..., :1] * fall[..., None] * gain + camera.offset
    # optics and sensor
    sigma = float(rng.uniform(0.0, spec.blur_max)) * H / 128 + (0.4 if camera.modality == "thermal" else 0.0)
    if sigma > 0.05:
        img = gaussian_filter(img, sigma=(sigma, sigma, 0))
    noise = spec.noise_visible if camera.modality == "visible" else spec.noise_infrared
    img = img + rng.normal(0, noise * float(rng.uniform(0.5, 1.5)), img.shape)
    img = np.clip(img, 0, 1)
    if img.shape[-1] == 1:  # infrared: one channel stored as three equal channels
        img = np.repeat(img, 3, axis=-1)
    return (img * 255 + 0.5).astype(np.uint8)


def jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------
# Dataset writers
# ---------------------------------------------------------------------------------------------------------
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


def _render_sysu_identity(args: tuple) -> int:
    spec, pid, cams, root = args
    ident = make_identity(spec.seed, pid, spec.absorbing_dyes)
    n_written = 0
    for cam, count in cams.items():
        camera = make_camera(spec.seed, cam)
        folder = Path(root) / f"cam{cam}" / f"{pid:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(1, count + 1):
            rng = np.random.default_rng([spec.seed, 5, pid, cam, n])
            img = render(ident, camera, rng, spec)
            q = int(rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
            (folder / f"{n:04d}.jpg").write_bytes(jpeg_bytes(img, q))
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
    jobs = [(spec, pid, cams, str(root)) for pid, cams in plan["counts"].items()]
    return sum(_map(_render_sysu_identity, jobs, workers))


REGDB_VIEWS = ("front", "back")


def _render_regdb_identity(args: tuple) -> list[tuple[str, str]]:
    spec, pid, serial0, root = args
    ident = make_identity(spec.seed + 7919, pid)  # RegDB's people are not SYSU-MM01's
    vis_cam = make_camera(spec.seed + 7919, 1, "visible")
    th_cam = make_camera(spec.seed + 7919, 2, "thermal")
    out = []
    for k in range(1, 11):
        rng = np.random.default_rng([spec.seed, 6, pid, k])
        view = REGDB_VIEWS[int(rng.integers(0, 2))]
        pose = draw_pose(rng, ident, vis_cam)
        pose = Pose(view=view, swing=pose.swing, stride=pose.stride, scale=pose.scale, cx=pose.cx, top=pose.top)
        names = []
        for kind, cam, tag, folder in (("visible", vis_cam, "v", "Visible"), ("thermal", th_cam, "t", "Thermal")):
            img = render(ident, cam, np.random.default_rng([spec.seed, 7, pid, k, int(kind == "thermal")]),
                         spec, pose=pose)
            q = int(rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
            img = np.asarray(Image.open(io.BytesIO(jpeg_bytes(img, q))).convert("RGB"))
            rel = f"{folder}/{pid}/{ident.gender}_{view}_{tag}_{serial0 + k:05d}_{k}.bmp"
            (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(Path(root) / rel, format="BMP")
            names.append(rel)
        out.append((names[0], names[1]))
    return out


def write_regdb(spec: SyntheticSpec, root: Path, workers: int | None = None) -> int:
    """Write a RegDB-layout dataset under ``root`` (which must not exist yet). Returns the image count."""
    root.mkdir(parents=True)
    pids = list(range(1, spec.regdb_ids + 1))
    jobs = [(spec, pid, (pid - 1) * 10, str(root)) for pid in pids]
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


# ---------------------------------------------------------------------------------------------------------
# Cached, atomic, locked generation
# ---------------------------------------------------------------------------------------------------------
SYSU_FIELDS = ("seed", "n_train_ids", "n_val_ids", "n_test_ids", "images_per_camera", "camera_presence",
               "absorbing_dyes", "height", "width", "occlusion_prob", "blur_max", "noise_visible", "noise_infrared",
               "jpeg_quality")
REGDB_FIELDS = ("seed", "regdb_ids", "height", "width", "occlusion_prob", "blur_max", "noise_visible",
                "noise_infrared", "jpeg_quality")


def spec_key(spec: SyntheticSpec, dataset: str) -> dict:
    fields = SYSU_FIELDS if dataset == "sysu" else REGDB_FIELDS
    d = asdict(spec)
    return {"generator_version": GENERATOR_VERSION, "dataset": dataset, **{k: d[k] for k in fields}}


def synthetic_root(spec: SyntheticSpec, dataset: str = "sysu") -> Path:
    """Where the synthetic dataset of this spec lives (whether or not it has been generated yet)."""
    return synthetic_dir() / f"{dataset}-{stable_hash(spec_key(spec, dataset))}"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


MARKER = "synthetic.json"


def ensure_synthetic(spec: SyntheticSpec, dataset: str = "sysu", workers: int | None = None,
                     verbose: bool = True) -> Path:
    """Generate the synthetic dataset if it is not there yet; return its root.

    Generation writes into a temporary folder and renames it into place only when complete (the marker file
    ``synthetic.json`` is written last), under a file lock, so concurrent callers (pytest workers, parallel
    runs) and interrupted runs never see a half-written dataset. A full disk or a read-only data folder is one
    :class:`~vireid_lib.errors.StorageError` naming the dataset's folder; the temporary folder is removed.
    """
    try:
        return _ensure_synthetic(spec, dataset, workers, verbose)
    except OSError as e:
        root = synthetic_root(spec, dataset)
        shutil.rmtree(root.parent / f".tmp-{root.name}-{os.getpid()}", ignore_errors=True)
        raise storage_error(root, e, what=f"the synthetic {dataset} dataset") from None


def _ensure_synthetic(spec: SyntheticSpec, dataset: str, workers: int | None, verbose: bool) -> Path:
    if dataset not in ("sysu", "regdb"):
        raise DataError(f"synthetic dataset must be 'sysu' or 'regdb', got {dataset!r}")
    spec.validate()
    root = synthetic_root(spec, dataset)
    if (root / MARKER).exists():
        return root
    with _locked(root.parent / f".{root.name}.lock"):
        if (root / MARKER).exists():
            return root
        for stale in root.parent.glob(f".tmp-{root.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root.parent / f".tmp-{root.name}-{os.getpid()}"
        t0 = time.perf_counter()
        writer = write_sysu if dataset == "sysu" else write_regdb
        n = writer(spec, tmp, workers)
        atomic_write_json(tmp / MARKER, {**spec_key(spec, dataset), "images": n})
        if root.exists():  # an incomplete leftover without its marker
            shutil.rmtree(root)
        os.replace(tmp, root)
        if verbose:
            dt = time.perf_counter() - t0
            print(f"generated synthetic {dataset} dataset: {n} images in {dt:.1f} s -> {shown(root)}")
    return root


def describe_layout(root: Path) -> str:
    """A short tree of a dataset folder, for notebooks."""
    lines = []
    for p in sorted(root.iterdir()):
        if p.is_dir():
            kids = sorted(p.iterdir())
            lines.append(f"{p.name}/  ({len(kids)} entries: {', '.join(k.name for k in kids[:3])}, ...)")
        else:
            lines.append(p.name)
    return "\n".join(lines)


__all__ = [
    "Identity", "Camera", "Material", "Pose", "make_identity", "make_camera", "render", "draw_pose",
    "sysu_plan", "write_sysu", "write_regdb", "ensure_synthetic", "synthetic_root", "spec_key",
    "VISIBLE_CAMS", "INFRARED_CAMS", "INDOOR_CAMS",
]
