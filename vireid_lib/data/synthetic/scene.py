"""Stage 3, scene and illumination: what light (or heat) leaves every surface towards the camera.

A camera films one place (a room, a street) made of surfaces (walls, floor, doors, pillars, windows, trees),
each with a visible colour, a reflectance at 850 nm and a temperature relative to the air. In each image the
person walks past: the scene slides behind them, clutter and occluders stand at places of that moment, and
one of three kinds of light reaches the camera:

- visible: ambient light from above, with its colour cast: a body (rough cylinders) is lit more on its top and
  front, folds shade the clothes;
- near-infrared: the camera's own illuminator, beside the lens, lights what faces the camera (cosine law,
  brightest along the body's axis), falls off with distance (the person, nearer, gets more than the scene
  behind) and across its beam; retro-reflective strips send it straight back; glossy leather and hair give
  highlights; with room lights on, the night-mode camera (no IR-cut filter) also records part of the visible
  light;
- long-wave infrared: no lighting at all. Every surface emits according to its temperature and emissivity:
  skin at 31–35 °C, fabric between skin and air depending on contact and thickness, carried items near air
  temperature, metal mirroring the cold surroundings; the ground and walls warm in the sun, windows and the
  sky are cold, a smooth floor mirrors the warm body.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .body import ARM, LEG, BodyMap, Pose
from .garments import (
    ARM_SKIN,
    BACKPACK,
    BAG,
    CLOTH_LABELS,
    FACE,
    GLASSES,
    HAIR,
    HAT,
    LEG_SKIN,
    LOWER,
    METAL,
    N_LABELS,
    OCCLUDER,
    PANEL,
    PRINT,
    SHOES,
    UPPER,
    Identity,
    materials,
)

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
FOLDS = np.isin(np.arange(N_LABELS), CLOTH_LABELS + (BAG, BACKPACK))  # label → does it have folds (a lookup)


@dataclass(frozen=True)
class Surface:
    """A surface of the scene: visible colour, 850-nm reflectance, temperature above the air (shade, at
    night) and how much the sun warms it (°C at full sun)."""

    rgb: np.ndarray
    nir: float
    temp: float
    sun_gain: float


@dataclass(frozen=True)
class Scene:
    """The place a camera films: its surfaces' layout and materials, shared by cameras filming the same place
    (SYSU-MM01's cameras 2 and 3; RegDB's visible and thermal cameras, side by side)."""

    indoor: bool
    floor_y: float
    wall: tuple[Surface, Surface]  # top and bottom of the far field
    floor: Surface
    structures: tuple[tuple[float, float, Surface], ...]  # (x centre, width, surface): doors, pillars, windows
    floor_mirror: float  # long-wave reflectivity of the floor (polished stone, wet paving): the body's mirror


def _surface(rng: np.random.Generator, indoor: bool, kind: str = "wall") -> Surface:
    """A scene surface: paint / stone / vegetation / glass, with its colour, 850-nm reflectance (chlorophyll
    makes foliage bright at 850 nm; glass is dark) and thermal behaviour."""
    from .garments import _hsv_to_rgb

    lo, hi = (0.35, 0.85) if indoor else (0.3, 0.95)
    rgb = np.array(_hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.35)), float(rng.uniform(lo, hi))),
                   np.float32)
    light = float(rgb @ LUMA)
    if kind == "glass":  # windows: dark at 850 nm, mirror the cold sky in the long-wave
        return Surface(rgb * 0.5, 0.1, float(rng.uniform(-9, -4)), 2.0)
    if kind == "foliage":
        return Surface(np.array([0.12, 0.3, 0.1], np.float32) * rng.uniform(0.7, 1.3), float(rng.uniform(0.5, 0.7)),
                       float(rng.uniform(-2, 0)), 2.0)
    nir = float(np.clip(0.5 * light + rng.uniform(0.1, 0.4), 0.05, 0.95))  # paints and stone: partly follow
    return Surface(rgb, nir, float(rng.uniform(-1.5, 1.5)), float(rng.uniform(3, 10)) if not indoor else 0.0)


def _marking(rng: np.random.Generator, ground: Surface) -> Surface:
    """A seam, kerb, painted line or drain cover on the ground: another shade, nearly the ground's temperature
    (paint and stone emit alike; a metal cover is a little colder)."""
    k = float(rng.uniform(0.5, 1.6))
    return Surface(np.clip(ground.rgb * k, 0, 1), float(np.clip(ground.nir * k, 0.02, 0.95)),
                   ground.temp + float(rng.uniform(-1.0, 0.5)), ground.sun_gain * float(rng.uniform(0.8, 1.1)))


def make_scene(rng: np.random.Generator, indoor: bool, elevated: bool = False) -> Scene:
    """A room (indoor) or a street (outdoor): a wall gradient, 1–3 structures, a floor. An ``elevated`` camera
    (RegDB's pair, looking down on a walkway) sees mostly the ground behind the person, the far field only at
    the top of its frame."""
    floor_y = float(rng.uniform(0.05, 0.3) if elevated else rng.uniform(0.72, 0.86))
    n = int(rng.integers(1, 4))
    kinds = ["wall", "glass"] if indoor else ["wall", "glass", "foliage"]
    structures = tuple((float(rng.uniform(0, 1)), float(rng.uniform(0.08, 0.3)),
                        _surface(rng, indoor, str(rng.choice(kinds)))) for _ in range(n))
    floor = _surface(rng, indoor, "floor")
    floor = Surface(floor.rgb * 0.85, floor.nir * 0.9, floor.temp, floor.sun_gain * 1.5)
    return Scene(indoor=indoor, floor_y=floor_y, wall=(_surface(rng, indoor), _surface(rng, indoor)), floor=floor,
                 structures=structures,
                 floor_mirror=float(rng.uniform(0.1, 0.25) if indoor or rng.random() < 0.3 else rng.uniform(0, 0.05)))


@dataclass(frozen=True)
class Moment:
    """One instant, shared by every camera that films it (RegDB's pair): the pose, where the scene has slid to,
    clutter and occluders, the air temperature and sunshine."""

    pose: Pose
    shift: float
    floor_jitter: float
    clutter: tuple[tuple[float, float, float, float, Surface], ...]  # (x, y, w, h, surface)
    occluder: tuple[str, float, Surface] | None  # ("bottom" | "left" | "right", extent, surface)
    air_temp: float  # °C
    sun: float  # 0: night or overcast … 1: full sun
    exposure: float  # visible exposure of this frame
    parallax: tuple[float, float, float] = (0.0, 0.0, 0.0)  # a camera pair's offset this instant (x, y, scale; in
    # units of the pair's registration error): set per pass, since it depends on the person's distance
    defocus: float | None = None  # fraction of the camera's maximal blur (None: drawn per image)


def draw_moment(rng: np.random.Generator, pose: Pose, scene: Scene, occlusion_prob: float,
                air_temp: float | None = None, sun: float | None = None) -> Moment:
    """What happens at one instant besides the person's pose: the scene slides (the person walks past), things
    stand in the scene, something may hide part of the person."""
    if scene.floor_y < 0.5:  # the ground seen from above: paving seams, kerbs, markings, drain covers
        clutter = tuple((float(rng.uniform(0, 1)), float(rng.uniform(scene.floor_y, 1)), float(rng.uniform(0.3, 2)),
                         float(rng.uniform(0.01, 0.04)), _marking(rng, scene.floor))
                        for _ in range(int(rng.integers(0, 4))))
    else:
        clutter = tuple((float(rng.uniform(0, 1)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.1, 0.4)),
                         float(rng.uniform(0.05, 0.25)), _surface(rng, scene.indoor))
                        for _ in range(int(rng.integers(0, 3))))
    occluder = None
    if rng.random() < occlusion_prob:
        where = str(rng.choice(["bottom", "left", "right"], p=[0.5, 0.25, 0.25]))
        extent = float(rng.uniform(0.6, 0.8) if where == "bottom" else rng.uniform(0.2, 0.35))
        occluder = (where, extent, _surface(rng, scene.indoor))
    return Moment(pose=pose, shift=float(rng.uniform(-0.5, 0.5)), floor_jitter=float(rng.uniform(-0.04, 0.04)),
                  clutter=clutter, occluder=occluder,
                  air_temp=float(air_temp if air_temp is not None else rng.uniform(18, 25)),
                  sun=float(sun if sun is not None else 0.0), exposure=float(rng.uniform(0.75, 1.2)))


def scene_layout(scene: Scene, moment: Moment, H: int, W: int) -> tuple[np.ndarray, list[Surface]]:
    """The background as a map of surface indices (H, W) into the returned list of surfaces."""
    v = (np.arange(H, dtype=np.float32)[:, None] + 0.5) / H
    u = (np.arange(W, dtype=np.float32)[None, :] + 0.5) / W
    surfaces = [scene.wall[0], scene.wall[1], scene.floor]
    idx = np.broadcast_to((v >= 0.5).astype(np.int8), (H, W)).copy()  # wall top / bottom halves
    for xc, w, s in scene.structures:
        xc = (xc + moment.shift) % 1.4 - 0.2
        surfaces.append(s)
        idx[:, np.abs(u[0] - xc) <= w / 2] = len(surfaces) - 1
    idx[v[:, 0] >= scene.floor_y + moment.floor_jitter] = 2
    for x0, y0, w, h, s in moment.clutter:
        surfaces.append(s)
        idx[(np.abs(v[:, 0] - y0) <= h / 2)[:, None] & (np.abs(u[0] - x0) <= w / 2)[None, :]] = len(surfaces) - 1
    return idx, surfaces


def occluder_mask(moment: Moment, H: int, W: int) -> np.ndarray | None:
    """Where the moment's occluder hides the person (and the scene), in this camera's frame."""
    if moment.occluder is None:
        return None
    where, extent, _ = moment.occluder
    m = np.zeros((H, W), bool)
    if where == "bottom":
        m[int(H * extent):] = True
    elif where == "left":
        m[:, : int(W * extent)] = True
    else:
        m[:, W - int(W * extent):] = True
    return m


def texture(rng: np.random.Generator, H: int, W: int, amp: float = 0.04) -> np.ndarray:
    """Slow variation over the scene (lighting gradients, stains, surface variation), (H, W)."""
    v = (np.arange(H, dtype=np.float32)[:, None] + 0.5) / H
    u = (np.arange(W, dtype=np.float32)[None, :] + 0.5) / W
    return amp * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * u + rng.uniform(0, 1))) * np.sin(
        2 * np.pi * (rng.uniform(0.5, 2) * v + rng.uniform(0, 1)))


def lookup(table: np.ndarray, index: np.ndarray, axis: int = 0) -> np.ndarray:
    """``table[index]``: each pixel's row of a per-label (or per-surface) table (``axis=1``: of a table whose rows
    are its columns, so that a colour table gives colour planes first, (3, H, W)). ``np.take`` gathers the very same
    values as fancy indexing, several times faster for these small tables and int8 maps."""
    return np.take(table, index, axis=axis)


# --------------------------------------------------------------------------------------------------------
# The person's light, per band
# --------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _tables(ident: Identity) -> dict[str, np.ndarray]:
    """Per-label properties (N_LABELS, ...) of this identity's surfaces."""
    mats = materials(ident)
    t = {k: np.zeros(N_LABELS, np.float32) for k in ("nir", "ins", "loose", "eps", "gloss", "retro")}
    t["rgb"] = np.zeros((N_LABELS, 3), np.float32)
    for lab, m in mats.items():
        t["rgb"][lab] = m.rgb
        t["nir"][lab], t["ins"][lab], t["loose"][lab] = m.nir, m.insulation, m.looseness
        t["eps"][lab], t["gloss"][lab], t["retro"][lab] = m.emissivity, m.gloss, float(m.retro)
    return t


def visible_shading(bm: BodyMap, lab: np.ndarray, fold: np.ndarray, H: int) -> np.ndarray:
    """Ambient light from above on a body of rough cylinders: darker towards the silhouette's edges and
    downwards; folds shade the clothes (H, W)."""
    vert = 1.08 - 0.16 * np.linspace(0, 1, H, dtype=np.float32)[:, None]
    shade = (1.0 - 0.35 * bm.nx * bm.nx) * vert
    return np.where(lookup(FOLDS, lab), shade * (1.0 + 0.12 * fold), shade)


def visible_person(ident: Identity, bm: BodyMap, lab: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Visible light leaving the person, colour planes first (3, H, W): colour × ambient shading, and a glint on
    glossy materials."""
    t = _tables(ident)
    shade = visible_shading(bm, lab, fold, lab.shape[0])
    img = lookup(t["rgb"].T, lab, axis=1) * shade
    c2 = 1 - bm.nx * bm.nx
    c6 = c2 * c2 * c2
    return img + 0.6 * lookup(t["gloss"], lab) * c6 * c6 * (bm.y < 0.5)


def nir_person(ident: Identity, bm: BodyMap, lab: np.ndarray, fold: np.ndarray, ambient: float) -> np.ndarray:
    """What a night-mode camera records of the person (H, W), before the illuminator's beam and fall-off:
    ``(1 − ambient) ×`` [850-nm reflectance × cosine to the coaxial illuminator, folds, highlights,
    retro-reflection] ``+ ambient ×`` visible lightness under the room's light."""
    t = _tables(ident)
    cos = np.sqrt(np.clip(1.0 - bm.nx * bm.nx, 0.0, 1.0))
    active = lookup(t["nir"], lab) * (0.3 + 0.7 * cos) * np.where(lookup(FOLDS, lab), 1.0 + 0.12 * fold, 1.0)
    active = active + lookup(t["gloss"], lab) * cos**12 * 1.2 + lookup(t["retro"], lab) * 2.5
    if ambient <= 0:
        return active
    light = lookup(t["rgb"] @ LUMA, lab) * visible_shading(bm, lab, fold, lab.shape[0])
    return (1 - ambient) * active + ambient * light


def skin_temperature(ident: Identity, bm: BodyMap) -> np.ndarray:
    """Skin temperature under every pixel (°C): face and neck warmest, the trunk ~0.5 °C cooler, forearms and
    hands, shins and feet cooler towards the extremities by the person's own amount."""
    b = ident.body
    T = np.full(bm.part.shape, b.face_temp - 0.5, np.float32)
    T[bm.part == ARM] = b.face_temp - 1.0 - b.extremity_cooling * bm.along[bm.part == ARM]
    leg = bm.part == LEG
    T[leg] = b.face_temp - 1.2 - b.extremity_cooling * bm.along[leg]
    return T


def contact(ident: Identity, bm: BodyMap, lab: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """How closely each garment pixel lies on the skin (0 … 1): fabric rests on the shoulders, the chest and the
    seat and hangs away elsewhere by its looseness; fold ridges stand off the skin; hems flare; a skirt touches
    only the hips."""
    o, b = ident.outfit, ident.body
    t = _tables(ident)
    y = bm.y  # (H, 1): each condition on it broadcasts to the frame when combined with a label map
    loose = lookup(t["loose"], lab)
    rests = (y < 0.22) | ((lab == LOWER) & (y < b.hip_y + 0.1))
    c = 1.0 - loose * np.where(rests, 0.25, 0.85)
    c *= 1.0 - 0.5 * np.clip(fold, 0, 1)
    waist = b.hip_y - 0.03
    hem = ((lab == UPPER) | (lab == PRINT) | (lab == PANEL)) & (y > waist - 0.035) & (y <= waist)
    hem |= (lab == LOWER) & (y > o.lower_end - 0.03)
    if o.lower_kind == "skirt":
        hem |= (lab == LOWER) & (y > b.hip_y + 0.04)
    return np.where(hem, 0.35 * c, c)


def thermal_person(ident: Identity, bm: BodyMap, lab: np.ndarray, fold: np.ndarray, air: float,
                   reflected: float) -> np.ndarray:
    """Apparent temperature of the person (°C, H × W): what a long-wave camera measures.

    Skin shows its own temperature. A layer between skin and air sits at ``air + (skin − air) × transfer``, with
    ``transfer = contact / (1 + 2.5 × insulation)``: warm where a thin shirt touches the skin, cool at folds,
    hems, loose or thick layers (an open jacket over a warm shirt). Hair insulates the scalp like a thin cap;
    shoes, bags and backpacks are at nearly air temperature. Dye and print play no part. Low-emissivity metal
    shows mostly the ``reflected`` surroundings; glasses, opaque to long-wave light, stay near air temperature.
    At grazing angles (the silhouette's edges) emissivity drops and the surface shows a little of the
    surroundings too.
    """
    t = _tables(ident)
    skin = skin_temperature(ident, bm)
    transfer = contact(ident, bm, lab, fold) / (1.0 + 2.5 * lookup(t["ins"], lab))
    fixed = {FACE: 1.0, ARM_SKIN: 1.0, LEG_SKIN: 1.0, HAIR: 0.55 / (1.0 + 1.5 * ident.body.hair_thickness),
             SHOES: 0.25, BAG: 0.05, BACKPACK: 0.12, HAT: 0.45, GLASSES: 0.3, METAL: 0.6, OCCLUDER: 0.0}
    table = np.full(N_LABELS, np.nan, np.float32)
    for k, v in fixed.items():
        table[k] = v
    per_label = lookup(table, lab)
    transfer = np.where(np.isnan(per_label), transfer, per_label)
    T = air + (skin - air) * transfer
    eps = lookup(t["eps"], lab) * (1.0 - 0.3 * bm.nx**4)
    return eps * T + (1 - eps) * reflected


def thermal_scene(scene: Scene, idx: np.ndarray, surfaces: list, moment: Moment) -> np.ndarray:
    """Apparent temperature of the background (°C): each surface at air temperature plus its own offset, plus
    the sun's warming (paving and walls in sunshine can be warmer than clothing)."""
    temps = np.array([moment.air_temp + s.temp + moment.sun * s.sun_gain for s in surfaces], np.float32)
    return lookup(temps, idx)


def mirror_below_feet(T: np.ndarray, person: np.ndarray, foot_row: int, reflectivity: float, bg: np.ndarray
                      ) -> np.ndarray:
    """A smooth floor mirrors the warm body below the feet (long-wave reflection), faintly."""
    H = T.shape[0]
    if reflectivity <= 0 or foot_row >= H - 1 or foot_row < 1:
        return T
    rows = np.arange(foot_row + 1, H)
    src = 2 * foot_row - rows
    ok = src >= 0
    rows, src = rows[ok], src[ok]
    m = person[src] & ~person[rows]
    out = T.copy()
    out[rows] = np.where(m, (1 - reflectivity) * bg[rows] + reflectivity * T[src], T[rows])
    return out


__all__ = ["Surface", "Scene", "Moment", "make_scene", "draw_moment", "scene_layout", "occluder_mask", "texture",
           "visible_person", "nir_person", "thermal_person", "thermal_scene", "skin_temperature", "contact",
           "mirror_below_feet", "visible_shading", "lookup"]
