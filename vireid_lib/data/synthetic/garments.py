"""Stage 2, garments: what a person wears, its materials in three wavebands, and where it covers the body.

A garment has a cut (shared by every camera: sleeve length, trousers / shorts / skirt, a jacket worn open, a
bag) and a material, which each waveband sees differently:

- *visible* (400–700 nm): the dye's colour, and prints;
- *near-infrared* (850 nm, SYSU-MM01's night-mode cameras with their illuminator): most textile dyes are
  transparent beyond ~750 nm, so a garment reflects as its fibre does, whatever its colour; broadband
  absorbers (carbon black, sulfur black) stay dark; indigo's absorption band ends below 800 nm (denim is
  mid-grey). The reflectance is drawn from the :data:`FABRIC_CLASSES` below, each a class of measured textile
  spectra, independently of the shade within the class;
- *long-wave infrared* (8–14 µm, RegDB's thermal camera): textiles emit with emissivity ≈ 0.95 whatever
  their dye, so prints and colours vanish; what shows is temperature, set by how close the fabric lies to warm
  skin and how thick it is (:mod:`.scene` computes it). Metal (zips, buckles) has a low emissivity and mirrors
  the cold surroundings; glasses are opaque to long-wave infrared and stay near air temperature.

The rasteriser (:func:`dress`) turns body parts into surface labels (:data:`LABELS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import ARM, FOOT, HEAD, LEG, TORSO, Body, BodyMap, Pose, Skeleton, capsule

# surface labels of a rendered person
LABELS = ("background", "face", "arm skin", "leg skin", "hair", "upper", "print", "panel", "jacket", "lower",
          "shoes", "bag", "backpack", "hat", "glasses", "metal", "reflective", "occluder")
(BG, FACE, ARM_SKIN, LEG_SKIN, HAIR, UPPER, PRINT, PANEL, JACKET, LOWER, SHOES, BAG, BACKPACK, HAT, GLASSES,
 METAL, REFLECTIVE, OCCLUDER) = range(len(LABELS))
N_LABELS = len(LABELS)
SKIN_LABELS = (FACE, ARM_SKIN, LEG_SKIN)
CLOTH_LABELS = (UPPER, PRINT, PANEL, JACKET, LOWER, HAT)
FOREGROUND = tuple(range(1, OCCLUDER))


@dataclass(frozen=True)
class Material:
    """A surface in three bands: visible reflectance (RGB), reflectance at 850 nm, and its thermal build.

    ``insulation``: thermal resistance between the skin and the outer surface (0: skin itself, ~0.2 a shirt,
    ~1 a padded jacket); ``looseness``: 0 lies on the skin … 1 hangs away from it; ``emissivity`` in the long-wave
    infrared; ``gloss``: specular share; ``retro``: retro-reflective (returns light to its source).
    """

    kind: str
    rgb: tuple[float, float, float]
    nir: float
    insulation: float = 0.2
    looseness: float = 0.3
    emissivity: float = 0.95
    gloss: float = 0.0
    retro: bool = False


@dataclass(frozen=True)
class FabricClass:
    """A class of textile spectra: which shades it comes in (visible) and its reflectance range at 850 nm."""

    name: str
    colours: str  # "any" | "black" | "dark" | "denim" | "white"
    nir: tuple[float, float]
    weight_upper: float
    weight_lower: float


#: Classes of measured textile reflectance at 850 nm (ranges read off published spectra of dyed cotton,
#: polyester and nylon, carbon-pigmented fabrics, denim and undyed fabrics; e.g. the USGS spectral library's
#: textiles and the camouflage-textile literature). The class weights are how often garments of each kind are
#: worn (tops / bottoms); neither is tuned to any score.
FABRIC_CLASSES = (
    FabricClass("dyed, NIR-transparent dye (reactive, disperse, acid)", "any", (0.50, 0.85), 0.58, 0.33),
    FabricClass("black, NIR-transparent dye mixture", "dark", (0.40, 0.75), 0.12, 0.14),
    FabricClass("black, broadband absorber (carbon, sulfur black)", "black", (0.03, 0.10), 0.12, 0.14),
    FabricClass("indigo denim", "denim", (0.30, 0.55), 0.05, 0.34),
    FabricClass("undyed or white (optical brightener)", "white", (0.70, 0.88), 0.13, 0.05),
)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _shade(rng: np.random.Generator, colours: str) -> tuple[float, float, float]:
    """A visible colour of a fabric class (clothing is often achromatic: black, grey, white, navy)."""
    if colours == "black":
        return _hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.1)), float(rng.uniform(0.03, 0.12)))
    if colours == "dark":
        if rng.random() < 0.6:
            return _hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.1)), float(rng.uniform(0.03, 0.15)))
        return _hsv_to_rgb(float(rng.uniform(0.58, 0.68)), float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.1, 0.3)))
    if colours == "denim":
        return _hsv_to_rgb(float(rng.uniform(0.57, 0.62)), float(rng.uniform(0.3, 0.65)), float(rng.uniform(0.2, 0.65)))
    if colours == "white":
        return _hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.06)), float(rng.uniform(0.78, 0.95)))
    if rng.random() < 0.3:
        return _hsv_to_rgb(float(rng.random()), float(rng.uniform(0, 0.12)), float(rng.uniform(0.1, 0.9)))
    return _hsv_to_rgb(float(rng.random()), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.25, 0.9)))


def draw_fabric(rng: np.random.Generator, where: str = "upper", insulation=(0.1, 0.35), looseness=(0.1, 0.7),
                kind: FabricClass | None = None) -> Material:
    """A garment's fabric: a class of spectra (how often it is worn on ``where``: "upper" or "lower"), a shade
    within the class, an 850-nm reflectance within the class's range drawn independently of the shade, and the
    garment's thickness and fit."""
    if kind is None:
        w = np.array([c.weight_upper if where == "upper" else c.weight_lower for c in FABRIC_CLASSES])
        kind = FABRIC_CLASSES[int(rng.choice(len(w), p=w / w.sum()))]
    return Material(kind=kind.name, rgb=_shade(rng, kind.colours), nir=float(rng.uniform(*kind.nir)),
                    insulation=float(rng.uniform(*insulation)), looseness=float(rng.uniform(*looseness)))


def draw_ink(rng: np.random.Generator, base: Material) -> Material:
    """A print or yarn-dye on ``base``: another colour on the same fibre. Its 850-nm reflectance is the fibre's
    unless the ink is a broadband absorber (carbon-black inks: a quarter of prints); thermally it *is* the base
    fabric (emissivity does not depend on dye)."""
    nir = float(rng.uniform(0.03, 0.12)) if rng.random() < 0.25 else base.nir + float(rng.normal(0, 0.03))
    return Material(kind="print on " + base.kind, rgb=_shade(rng, "any"), nir=float(np.clip(nir, 0.02, 0.95)),
                    insulation=base.insulation, looseness=base.looseness)


def draw_leather(rng: np.random.Generator) -> Material:
    """Shoes and bags: black leather (dye absorbs at 850 nm), brown leather (tanned: bright at 850 nm), white
    or coloured synthetic sneakers / nylon. Leather is glossy."""
    u = rng.random()
    if u < 0.3:
        return Material("black leather", _shade(rng, "black"), float(rng.uniform(0.05, 0.15)), 1.5, 0.0,
                        gloss=float(rng.uniform(0.1, 0.3)))
    if u < 0.5:
        return Material("brown leather", _hsv_to_rgb(float(rng.uniform(0.05, 0.1)), float(rng.uniform(0.4, 0.8)),
                                                     float(rng.uniform(0.15, 0.45))),
                        float(rng.uniform(0.35, 0.55)), 1.5, 0.0, gloss=float(rng.uniform(0.1, 0.25)))
    if u < 0.75:
        return Material("white synthetic", _shade(rng, "white"), float(rng.uniform(0.7, 0.85)), 1.5, 0.0)
    m = draw_fabric(rng, "upper")
    return Material("coloured synthetic (" + m.kind + ")", m.rgb, m.nir, 1.5, 0.0, gloss=0.05)


METAL_MATERIAL = Material("metal (zip, buckle)", (0.6, 0.6, 0.62), 0.6, insulation=0.0, looseness=0.0,
                          emissivity=0.15, gloss=0.5)
GLASSES_MATERIAL = Material("glasses (glass lenses)", (0.25, 0.27, 0.3), 0.3, insulation=0.0, looseness=1.0,
                            emissivity=0.9, gloss=0.6)


@dataclass(frozen=True)
class Outfit:
    """What one person wears and carries: cuts (shared by every camera) and materials."""

    upper: Material
    sleeve: float  # fraction of the arm the sleeve covers
    print_kind: str  # "none" | "hstripes" | "vstripes" | "checks" | "logo"
    print_ink: Material
    print_period: float
    panel: Material | None  # another fabric: the lower part ("block") or the sleeves
    panel_kind: str
    jacket: Material | None  # an open jacket over the upper garment: a real second layer
    lower: Material
    lower_kind: str  # "trousers" | "shorts" | "skirt"
    lower_end: float  # where the lower garment ends (height fraction)
    belt_buckle: bool
    shoes: Material
    bag: Material | None
    bag_side: int
    bag_size: float
    backpack: Material | None
    backpack_size: float
    hat: Material | None
    hat_height: float
    glasses: bool
    reflective: str  # "none" | "jacket" | "backpack" | "trousers": where a retro-reflective strip is sewn
    relief: tuple[tuple[float, float, float, float], ...]  # folds, seams: (fx, fy, phase, amplitude)


def draw_outfit(rng: np.random.Generator, body: Body) -> Outfit:
    """An outfit: each piece drawn independently of the person's body and of every other piece's colour."""
    female = body.gender == "female"
    sweater = rng.random() < 0.3
    upper = draw_fabric(rng, "upper", (0.4, 0.7) if sweater else (0.1, 0.3), (0.1, 0.7))
    print_kind = str(rng.choice(["none", "hstripes", "vstripes", "checks", "logo"], p=[0.45, 0.18, 0.1, 0.12, 0.15]))
    panel_kind = str(rng.choice(["none", "block", "sleeves"], p=[0.8, 0.12, 0.08]))
    jacket = draw_fabric(rng, "upper", (0.8, 1.6), (0.5, 0.9)) if rng.random() < 0.25 else None
    lower_kind = str(rng.choice(["trousers", "shorts", "skirt"], p=[0.6, 0.2, 0.2] if female else [0.8, 0.2, 0.0]))
    lower_end = {"trousers": (0.86, 0.95), "shorts": (0.6, 0.74), "skirt": (0.62, 0.86)}[lower_kind]
    return Outfit(
        upper=upper,
        sleeve=float(rng.uniform(0.2, 0.45) if rng.random() < 0.4 else rng.uniform(0.8, 0.95)),
        print_kind=print_kind, print_ink=draw_ink(rng, upper), print_period=float(rng.uniform(0.05, 0.12)),
        panel=draw_fabric(rng, "upper") if panel_kind != "none" else None, panel_kind=panel_kind,
        jacket=jacket,
        lower=draw_fabric(rng, "lower", (0.2, 0.4), (0.9, 1.0) if lower_kind == "skirt" else (0.2, 0.7)),
        lower_kind=lower_kind, lower_end=float(rng.uniform(*lower_end)), belt_buckle=bool(rng.random() < 0.3),
        shoes=draw_leather(rng),
        bag=draw_leather(rng) if rng.random() < 0.3 else None, bag_side=int(rng.choice([-1, 1])),
        bag_size=float(rng.uniform(0.7, 1.4)),
        backpack=draw_fabric(rng, "upper") if rng.random() < 0.3 else None,
        backpack_size=float(rng.uniform(0.75, 1.3)),
        hat=draw_fabric(rng, "upper", (0.4, 0.8), (0.0, 0.2)) if rng.random() < 0.15 else None,
        hat_height=float(rng.uniform(0.025, 0.06)),
        glasses=bool(rng.random() < 0.25),
        reflective=str(rng.choice(["none", "jacket", "backpack", "trousers"], p=[0.88, 0.04, 0.04, 0.04])),
        relief=tuple((float(rng.uniform(-8, 8)), float(rng.uniform(2, 10)), float(rng.uniform(0, 2 * np.pi)),
                      float(rng.uniform(0.04, 0.12))) for _ in range(4)),
    )


@dataclass(frozen=True)
class Identity:
    """A person: a body and an outfit (drawn once, shared by every camera and modality)."""

    pid: int
    body: Body
    outfit: Outfit


def make_identity(seed: int, pid: int) -> Identity:
    """Identity ``pid`` of the world with this seed (a pure function of both)."""
    rng = np.random.default_rng([seed, 1, pid])
    from .body import draw_body

    body = draw_body(rng)
    return Identity(pid=pid, body=body, outfit=draw_outfit(rng, body))


def materials(ident: Identity) -> dict[int, Material]:
    """Label → material of this identity (skin and hair are materials too, drawn from the body)."""
    b, o = ident.body, ident.outfit
    t = b.skin_tone
    # skin: melanin absorbs strongly in the visible and far less at 850 nm, so every tone is bright there
    skin = Material("skin", (0.15 + 0.5 * t, 0.08 + 0.4 * t, 0.05 + 0.33 * t), 0.44 + 0.2 * t, 0.0, 0.0, 0.98)
    # hair: eumelanin's absorption falls with wavelength: dark hair is lighter at 850 nm than in visible light
    hv = b.hair_lightness
    hair = Material("hair", (hv, 0.82 * hv, 0.62 * hv), float(min(0.8, 0.1 + 1.4 * hv)),
                    insulation=0.6 * b.hair_thickness, looseness=0.3, gloss=0.15)
    out = {FACE: skin, ARM_SKIN: skin, LEG_SKIN: skin, HAIR: hair, UPPER: o.upper, PRINT: o.print_ink,
           LOWER: o.lower, SHOES: o.shoes, METAL: METAL_MATERIAL, GLASSES: GLASSES_MATERIAL,
           REFLECTIVE: Material("retro-reflective strip", (0.55, 0.56, 0.55), 0.9, 0.2, 0.3, retro=True)}
    for lab, m in ((PANEL, o.panel), (JACKET, o.jacket), (BAG, o.bag), (BACKPACK, o.backpack), (HAT, o.hat)):
        if m is not None:
            out[lab] = m
    return out


def print_mask(outfit: Outfit, x: np.ndarray, y: np.ndarray, view: str) -> np.ndarray:
    """Where the print lies on the upper garment (the same layout in every band; its contrast is the band's)."""
    per = outfit.print_period
    k = outfit.print_kind
    if k == "hstripes":
        return np.sin(2 * np.pi * y / per) > 0.3
    if k == "vstripes":
        return np.sin(2 * np.pi * x / per) > 0.3
    if k == "checks":
        return (np.sin(2 * np.pi * x / per) > 0) ^ (np.sin(2 * np.pi * y / per) > 0)
    if k == "logo":
        return (view == "front") & (np.abs(x - 0.02) < 0.045) & (np.abs(y - 0.25) < 0.04)
    return np.zeros(np.broadcast_shapes(x.shape, y.shape), bool)


def dress(ident: Identity, pose: Pose, bm: BodyMap, sk: Skeleton) -> np.ndarray:
    """Surface labels (H, W) of the dressed person: what each pixel shows (skin, a garment, an item). A region is
    drawn from conditions on x (1, W) and y (H, 1), which broadcast to the frame only when combined."""
    b, o = ident.body, ident.outfit
    x, y, part = bm.x, bm.y, bm.part
    H, W = part.shape
    lab = np.zeros((H, W), np.int8)
    side, facing = sk.side, sk.facing
    # trunk and limbs
    lab[part == TORSO] = UPPER
    lab[(part == TORSO) & (y > sk.waist)] = LOWER  # the trousers' waistband under the shirt's hem
    sleeve = max(o.sleeve, 0.85) if o.jacket is not None else o.sleeve
    arm = part == ARM
    lab[arm] = np.where(bm.along[arm] <= sleeve, UPPER, ARM_SKIN)
    leg = part == LEG
    cover = b.hip_y if o.lower_kind == "skirt" else o.lower_end
    lab[leg] = np.where(np.broadcast_to(y, (H, W))[leg] <= cover, LOWER, LEG_SKIN)
    lab[part == FOOT] = SHOES
    if o.lower_kind == "skirt":
        frac = np.clip((y - b.hip_y) / (o.lower_end - b.hip_y), 0, 1)
        lab[(y >= sk.waist) & (y <= o.lower_end) & (np.abs(x) <= sk.half_hip + 0.05 * b.build * frac)] = LOWER
    upper = lab == UPPER
    # print, other-fabric panel, open jacket (a second layer: the shirt shows only down the front)
    lab[upper & print_mask(o, x, y, pose.view)] = PRINT
    if o.panel_kind == "block":
        lab[upper & (y > 0.15 + (sk.waist - 0.15) * 0.55)] = PANEL
    elif o.panel_kind == "sleeves":
        lab[upper & (part == ARM)] = PANEL
    if o.jacket is not None:
        opening = 0.25 * sk.half_sh + 0.03
        jacket = upper | (lab == PRINT) | (lab == PANEL)
        if pose.view == "front":
            jacket &= np.abs(x) > opening
        lab[jacket] = JACKET
        if pose.view == "front":  # the zip's teeth along both front edges
            lab[(part == TORSO) & (np.abs(np.abs(x) - opening) < 0.006) & (y <= sk.waist)] = METAL
    if o.belt_buckle and pose.view == "front":
        lab[(np.abs(x) < 0.018) & (np.abs(y - sk.waist - 0.012) < 0.012) & (part == TORSO)] = METAL
    if o.reflective == "jacket" and o.jacket is not None:
        lab[(lab == JACKET) & (np.abs(y - 0.3) < 0.012)] = REFLECTIVE
    if o.reflective == "trousers":
        lab[(lab == LOWER) & (part == LEG) & (np.abs(y - (o.lower_end - 0.06)) < 0.01)] = REFLECTIVE
    # backpack: seen from the back, sticking out from the side, straps from the front
    if o.backpack is not None:
        bs = o.backpack_size
        top, bottom = 0.18, 0.18 + 0.24 * bs
        if pose.view == "back":
            region = (np.abs(x) <= 0.085 * b.build * bs) & (y >= top) & (y <= bottom)
            lab[region] = BACKPACK
            if o.reflective == "backpack":
                lab[region & (np.abs(y - (top + bottom) / 2) < 0.01)] = REFLECTIVE
        elif side:
            bx = -facing * (sk.half_sh + 0.03 * bs)
            lab[(np.abs(x - bx) <= 0.045 * bs) & (y >= top) & (y <= bottom)] = BACKPACK
        else:
            for sgn in (-1, 1):
                lab[(np.abs(x - sgn * 0.06 * b.build) <= 0.012) & (y >= 0.15) & (y <= 0.36)] = BACKPACK
    # bag on a shoulder strap, at the hip on its side
    if o.bag is not None and not (side and o.bag_side != facing):
        s_ = o.bag_size
        bx = (o.bag_side * (sk.half_hip + 0.05 * b.build * s_)) if not side else facing * 0.02
        lab[(np.abs(x - bx) <= 0.05 * s_) & (np.abs(y - b.hip_y) <= 0.06 * s_)] = BAG
        m, _, _ = capsule(x, y, (-o.bag_side * sk.half_sh * 0.7, 0.16), (bx, b.hip_y - 0.05 * s_), 0.008)
        lab[m] = BAG
    # head: face (front), hair (back), both from the side; long hair falls over the back; hat; glasses
    head = part == HEAD
    (hx, hy) = sk.head_c
    lab[head] = FACE if pose.view != "back" else HAIR
    hair_top = head & (y < (0.045 if pose.view == "front" else 0.08 if side else 1.0) * b.head)
    if side:
        hair_top |= head & ((x - hx) * facing < -0.01) & (y < hy + 0.02)
    lab[hair_top] = HAIR
    if b.hair_length > 0.05 and pose.view != "front":
        falls = (np.abs(x + (0.02 * facing if side else 0)) <= 0.05) & (y > 0.07) & (y < 0.07 + b.hair_length)
        lab[falls & np.isin(lab, (UPPER, PRINT, PANEL, JACKET, BG, FACE, ARM_SKIN))] = HAIR
    if o.hat is not None:
        lab[(np.abs(x - hx) <= 0.068 * b.head) & (y >= 0.04 - o.hat_height) & (y <= 0.04)] = HAT
    if o.glasses and pose.view != "back":
        eyes = head & (np.abs(y - hy + 0.005 * b.head) < 0.009 * b.head) & (lab == FACE)
        if side:
            eyes &= (x - hx) * facing > 0.0
        else:
            eyes &= np.abs(x - hx) > 0.006
        lab[eyes] = GLASSES
    return lab


def relief(outfit: Outfit, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The clothes' relief (folds, seams, pockets) as a field in [−1, 1]: geometry, so it shades every band.

    A sum of plane waves over the body coordinates x (1, W) and y (H, 1), each separated as
    sin(a + b) = sin a cos b + cos a sin b."""
    amp = sum(a for *_, a in outfit.relief)
    out = np.zeros((y.shape[0], x.shape[1]), np.float32)
    for fx, fy, ph, a in outfit.relief:
        ax, by = 2 * np.pi * fx * x + ph, 2 * np.pi * fy * y
        out += (a / amp) * (np.sin(ax) * np.cos(by) + np.cos(ax) * np.sin(by))
    return out
