"""Stage 1, identity and body: who walks past the cameras, and how they stand in one image.

A person is drawn once per identity and shared by every camera and modality: height, build and proportions,
skin (its melanin sets the visible tone and, much less, the near-infrared one), hair, and the body's surface
temperatures (a thermal camera sees those). Per image, a pose (viewpoint, arm swing, stride) and the
detector's box around the person (scale, centre, top) are drawn.

Coordinates are in units of the person's height: ``y = 0`` at the top of the head, ``1`` at the soles; ``x = 0``
on the body's axis. The rasteriser turns a pose into per-pixel maps of body parts, the horizontal component of
the surface normal (a body is a set of rough cylinders) and the position along each limb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIEWS = ("front", "back", "left", "right")

# body parts under whatever covers them
NONE, HEAD, TORSO, ARM, LEG, FOOT = range(6)


@dataclass(frozen=True)
class Body:
    """One person's body: geometry (seen by every camera), skin and hair, and surface temperatures."""

    gender: str
    height: float  # fraction of the detector box the standing person fills
    build: float  # width multiplier
    shoulders: float  # shoulder half-width, in units of height (before ``build``)
    hip_y: float  # torso / leg proportion
    head: float  # head size multiplier
    skin_tone: float  # 0: much melanin (dark) … 1: little (light)
    hair_lightness: float  # visible reflectance of the hair: 0.03 black … 0.5 blond
    hair_length: float  # how far below the head the hair falls (0: short)
    hair_thickness: float  # 0 … 1: how much the hair insulates the scalp
    face_temp: float  # °C, skin temperature of the face and neck
    extremity_cooling: float  # °C, how much cooler the hands and shins are than the face


def draw_body(rng: np.random.Generator) -> Body:
    """A body, with proportions varying continuously as between real adults.

    Skin temperature: the face and neck sit near 34–35 °C; hands and lower legs lose heat through
    vasoconstriction and are 1–5 °C cooler, by a person-specific amount (Fournet et al., Eur. J. Appl. Physiol.
    2013: body-map skin temperatures).
    """
    gender = "female" if rng.random() < 0.5 else "male"
    long_hair = rng.random() < (0.6 if gender == "female" else 0.1)
    return Body(
        gender=gender, height=float(rng.uniform(0.84, 0.97)), build=float(rng.uniform(0.78, 1.3)),
        shoulders=float(rng.uniform(0.11, 0.145)), hip_y=float(rng.uniform(0.46, 0.54)),
        head=float(rng.uniform(0.88, 1.12)), skin_tone=float(rng.beta(2.0, 2.0)),
        hair_lightness=float(np.clip(rng.gamma(1.5, 0.06) + 0.03, 0.03, 0.5)),
        hair_length=float(rng.uniform(0.08, 0.24) if long_hair else rng.uniform(0.0, 0.03)),
        hair_thickness=float(rng.uniform(0.3, 1.0)),
        face_temp=float(rng.normal(34.5, 0.4)), extremity_cooling=float(rng.uniform(1.0, 5.0)),
    )


@dataclass(frozen=True)
class Pose:
    """The body's pose in one image, and where the detector's box puts it."""

    view: str
    swing: float  # arm swing angle (radians)
    stride: float  # leg angle (radians)
    scale: float  # person height in units of image height
    cx: float  # person centre (fraction of width)
    top: float  # head top (fraction of height)


def draw_pose(rng: np.random.Generator, body: Body, view_p: np.ndarray) -> Pose:
    """A walking pose seen from one of four viewpoints (people walk in typical directions past each camera,
    ``view_p``), framed by a loose or tight, slightly off-centre detector box."""
    view = VIEWS[int(rng.choice(4, p=view_p))]
    side = view in ("left", "right")
    return Pose(
        view=view,
        swing=float(rng.uniform(-0.45, 0.45) if side else rng.uniform(-0.12, 0.12)),
        stride=float(rng.uniform(0.05, 0.35) if side else rng.uniform(0.0, 0.08)),
        scale=body.height * float(rng.uniform(0.9, 1.06)),
        cx=0.5 + float(rng.uniform(-0.09, 0.09)),
        top=float(rng.uniform(0.0, 0.08)),
    )


@dataclass
class BodyMap:
    """Per-pixel maps of a rasterised body (H, W): which part, the body coordinates, the horizontal surface-normal
    component ``nx`` (−1 … 1 across a limb or the torso: 0 faces the camera) and ``along`` (0 at a limb's root,
    1 at its end)."""

    part: np.ndarray
    x: np.ndarray
    y: np.ndarray
    nx: np.ndarray
    along: np.ndarray
    scale: float  # person height in pixels


def body_frame(pose: Pose, H: int, W: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Body coordinates of every pixel centre: x (1, W) and y (H, 1), and the person's height in pixels."""
    S = pose.scale * H
    y = (np.arange(H, dtype=np.float32)[:, None] + 0.5 - pose.top * H) / S
    x = (np.arange(W, dtype=np.float32)[None, :] + 0.5 - pose.cx * W) / S
    return x, y, S


def capsule(x: np.ndarray, y: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points within ``r`` of the segment p0–p1: mask, position t ∈ [0, 1] along it, signed normal component."""
    dx, dy = float(p1[0] - p0[0]), float(p1[1] - p0[1])
    length = float(np.hypot(dx, dy)) + 1e-12
    ux, uy = dx / length, dy / length
    a, b = x - np.float32(p0[0]), y - np.float32(p0[1])
    along = a * np.float32(ux) + b * np.float32(uy)  # distance along the segment from p0
    across = a * np.float32(uy) - b * np.float32(ux)  # signed distance across it
    beyond = along - _clip(along, 0.0, length)  # past either end: distance to the nearer end cap
    return across * across + beyond * beyond <= r * r, _clip(along / length, 0.0, 1.0), _clip(across / r, -1, 1)


def _clip(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``np.clip`` without its Python-level dispatch (its three calls took about half of a capsule's time). The
    same values up to the sign of a zero at a bound of 0 (np.clip keeps −0.0, this gives +0.0); the capsule's results
    are only compared, squared, or enter ``c − k × along`` with c ≠ 0, so no pixel depends on that sign."""
    return np.minimum(np.maximum(a, lo), hi)


def _window(x, y, p0, p1, r):
    """Index window (rows, cols) of the pixels a capsule can touch, to rasterise only there."""
    xs = ((x[0] >= min(p0[0], p1[0]) - r) & (x[0] <= max(p0[0], p1[0]) + r)).nonzero()[0]
    ys = ((y[:, 0] >= min(p0[1], p1[1]) - r) & (y[:, 0] <= max(p0[1], p1[1]) + r)).nonzero()[0]
    if not len(xs) or not len(ys):
        return None
    return slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)


def draw_capsule(bm: BodyMap, part: int, p0, p1, r: float) -> None:
    """Paint a limb segment into the body map (over what is there)."""
    win = _window(bm.x, bm.y, p0, p1, r)
    if win is None:
        return
    rows, cols = win
    m, t, nx = capsule(bm.x[:, cols], bm.y[rows], p0, p1, r)
    bm.part[rows, cols][m] = part
    bm.nx[rows, cols][m] = nx[m]
    bm.along[rows, cols][m] = t[m]


@dataclass(frozen=True)
class Skeleton:
    """The body's segments in one pose (body coordinates): what both the rasteriser and the garments use."""

    side: bool
    facing: int  # −1 left, +1 right, 0 front/back
    half_sh: float  # shoulder half-width
    half_hip: float
    waist: float
    legs: tuple  # ((hip point, foot point), ...)
    arms: tuple  # ((shoulder point, hand point), ...)
    leg_r: float
    arm_r: float
    head_c: tuple[float, float]
    head_r: tuple[float, float]  # half-width, half-height


def skeleton(body: Body, pose: Pose) -> Skeleton:
    side = pose.view in ("left", "right")
    facing = {"left": -1, "right": 1}.get(pose.view, 0)
    b = body.build
    half_sh = (0.6 * body.shoulders if side else body.shoulders) * b
    half_hip = (0.065 if side else 0.10) * b
    hip_y, foot_y = body.hip_y, 0.96
    legs = []
    for sgn in (-1, 1):
        hx = sgn * (0.02 if side else 0.05) * b
        ang = sgn * pose.stride
        legs.append(((hx, hip_y), (hx + np.sin(ang) * (foot_y - hip_y), hip_y + np.cos(ang) * (foot_y - hip_y))))
    arms, arm_len = [], 0.36
    for sgn in ((1,) if side else (-1, 1)):
        sx = 0.0 if side else sgn * (half_sh + 0.005)
        ang = pose.swing * (1 if side else sgn)
        arms.append(((sx, 0.17), (sx + np.sin(ang) * arm_len + (0 if side else sgn * 0.02),
                                  0.17 + np.cos(ang) * arm_len)))
    return Skeleton(side=side, facing=facing, half_sh=half_sh, half_hip=half_hip, waist=hip_y - 0.03,
                    legs=tuple(legs), arms=tuple(arms), leg_r=0.042 * b, arm_r=0.032 * b,
                    head_c=(0.01 * facing, 0.075 * body.head), head_r=(0.058 * min(b, 1.05) * body.head,
                                                                     0.072 * body.head))


def rasterise_body(body: Body, pose: Pose, H: int, W: int) -> tuple[BodyMap, Skeleton]:
    """The body alone, as the cameras' geometry sees it: legs, torso (tapering from shoulders to hips), arms,
    head, each with its surface orientation (``nx``) for shading and thermal limb darkening."""
    x, y, S = body_frame(pose, H, W)
    sk = skeleton(body, pose)
    bm = BodyMap(part=np.zeros((H, W), np.int8), x=x, y=y, nx=np.zeros((H, W), np.float32),
                 along=np.zeros((H, W), np.float32), scale=S)
    for p0, p1 in sk.legs:
        draw_capsule(bm, LEG, p0, p1, sk.leg_r)
        draw_capsule(bm, FOOT, (p1[0] - 0.01, p1[1] - 0.005), (p1[0] + 0.02 * (sk.facing or 0.3), p1[1] + 0.01),
                     0.032 * body.build)
    hip_y = body.hip_y
    rows = _rows(y, 0.15, hip_y + 0.02)
    if rows is not None:  # torso: shoulders to hips, tapering
        yr = y[rows]
        half = sk.half_sh + (sk.half_hip - sk.half_sh) * _clip((yr - 0.15) / (hip_y + 0.02 - 0.15), 0, 1)
        u = x / np.maximum(half, 1e-3)
        torso = np.abs(u) <= 1
        bm.part[rows][torso] = TORSO
        bm.nx[rows][torso] = u[torso]
    for p0, p1 in sk.arms:
        draw_capsule(bm, ARM, p0, p1, sk.arm_r)
    (hx, hy), (rx, ry) = sk.head_c, sk.head_r
    rows = _rows(y, hy - ry, 0.16)
    if rows is not None:  # head (an ellipse) and neck
        yr = y[rows]
        u = (x - hx) / rx
        head = u * u + ((yr - hy) / ry) ** 2 <= 1
        head |= (np.abs(x - hx) <= 0.3 * rx) & (yr > hy) & (bm.part[rows] == NONE)
        bm.part[rows][head] = HEAD
        bm.nx[rows][head] = np.broadcast_to(_clip(u, -1, 1), head.shape)[head]
    return bm, sk


def _rows(y: np.ndarray, lo: float, hi: float) -> slice | None:
    """The rows whose body coordinate lies in [lo, hi] (a slice), or None."""
    idx = ((y[:, 0] >= lo) & (y[:, 0] <= hi)).nonzero()[0]
    return slice(idx[0], idx[-1] + 1) if len(idx) else None
