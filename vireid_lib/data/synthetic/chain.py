"""The imaging chain: body → garments → scene and illumination → camera and optics → sensor, for one image.

:func:`render` runs the five stages in order; every stage is a function of its own module, whose docstring
gives the physics. Pass ``steps={}`` to keep each stage's intermediate picture (notebook 01's figure).
"""

from __future__ import annotations

import numpy as np

from .body import draw_pose, rasterise_body
from .camera import Camera, frame, native_size, optics_blur, resample
from .garments import OCCLUDER, Identity, dress, relief
from .scene import (
    LUMA,
    Moment,
    draw_moment,
    lookup,
    mirror_below_feet,
    nir_person,
    occluder_mask,
    scene_layout,
    texture,
    thermal_person,
    thermal_scene,
    visible_person,
)
from .sensor import nir_sensor, thermal_sensor, visible_sensor


def new_moment(ident: Identity, camera: Camera, rng: np.random.Generator, occlusion_prob: float,
               **session) -> Moment:
    """A fresh instant for this camera: a pose from its viewpoint mix and the scene's state."""
    pose = draw_pose(rng, ident.body, camera.view_p)
    return draw_moment(rng, pose, camera.scene, occlusion_prob, **session)


def render(ident: Identity, camera: Camera, rng: np.random.Generator, spec, moment: Moment | None = None,
           steps: dict | None = None) -> np.ndarray:
    """One image of ``ident`` seen by ``camera``: uint8 (spec.height, spec.width, 3), before the file's
    compression. ``moment`` (pose, scene state) is shared when two cameras film the same instant (RegDB)."""
    H, W = spec.height, spec.width
    moment = moment or new_moment(ident, camera, rng, spec.occlusion_prob)
    pose = frame(camera, moment.pose, rng, moment.parallax)  # stage 4 decides the crop before anything is drawn
    h, w = native_size(camera, H, W)
    bm, sk = rasterise_body(ident.body, pose, h, w)  # stage 1
    lab = dress(ident, pose, bm, sk)  # stage 2
    fold = relief(ident.outfit, bm.x, bm.y)
    idx, surfaces = scene_layout(camera.scene, moment, h, w)  # stage 3
    occ = occluder_mask(moment, h, w)
    if occ is not None:
        lab[occ] = OCCLUDER
    person = (lab > 0) & (lab != OCCLUDER)
    tex = texture(rng, h, w)
    if steps is not None:
        steps["body"], steps["garments"] = bm.part.copy(), lab.copy()
    if camera.modality == "visible":  # colour planes first (3, h, w): a map times a plane runs over whole planes
        bg = lookup(np.stack([s.rgb for s in surfaces], axis=1), idx, axis=1) * (1 + tex)
        img = np.where(person, visible_person(ident, bm, lab, fold), bg)
        if occ is not None:
            img[:, occ] = moment.occluder[2].rgb[:, None]
        img = img * camera.cast[:, None, None] * (camera.brightness * moment.exposure)
        img = np.ascontiguousarray(img.transpose(1, 2, 0))  # (h, w, 3) again, for the optics and the sensor
        _keep(steps, "scene and illumination", img)
        img = optics_blur(img, defocus(moment, rng) * spec.blur_max * H / 128)
        _keep(steps, "camera and optics", img)
        out = visible_sensor(img, rng, spec.noise_visible, camera.tone_curve)
    elif camera.modality == "nir":
        nir = np.array([s.nir for s in surfaces], np.float32)
        light = np.array([float(s.rgb @ LUMA) for s in surfaces], np.float32)
        bg = ((1 - camera.ambient) * lookup(nir, idx) * camera.scene_light
              + camera.ambient * lookup(light, idx)) * (1 + tex)
        img = np.where(person, nir_person(ident, bm, lab, fold, camera.ambient), bg)
        if occ is not None:
            s = moment.occluder[2]
            img[occ] = (1 - camera.ambient) * s.nir * camera.scene_light + camera.ambient * float(s.rgb @ LUMA)
        img = img * beam(camera, rng, h, w)
        _keep(steps, "scene and illumination", img)
        img = optics_blur(img, defocus(moment, rng) * spec.blur_max * H / 128)
        _keep(steps, "camera and optics", img)
        out = nir_sensor(img, camera, rng, spec.noise_infrared)
    else:
        bg = thermal_scene(camera.scene, idx, surfaces, moment) + 25 * tex
        reflected = moment.air_temp - (3.0 if camera.scene.indoor else 12.0)  # what metal mirrors
        T = np.where(person, thermal_person(ident, bm, lab, fold, moment.air_temp, reflected), bg)
        feet = np.flatnonzero(person.any(1))
        if len(feet):
            T = mirror_below_feet(T, person, int(feet[-1]), camera.scene.floor_mirror, bg)
        if occ is not None:
            T[occ] = moment.air_temp + moment.occluder[2].temp
        _keep(steps, "scene and illumination", T)
        T = optics_blur(T, camera.psf * camera.native * H / 128)
        _keep(steps, "camera and optics", T)
        grey = resample(thermal_sensor(T, camera, rng), H, W)
        out = np.repeat(grey[..., None], 3, axis=-1)
    if steps is not None:
        steps["sensor"] = out
    return out


def defocus(moment: Moment, rng: np.random.Generator) -> float:
    """How far out of focus (or moving) the person is, as a fraction of the camera's maximal blur: the moment's
    when it is set (a pass at one distance), else drawn for this image."""
    return float(rng.uniform(0.0, 1.0)) if moment.defocus is None else moment.defocus


def beam(camera: Camera, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The near-infrared illuminator's beam: brightest where it points, falling off towards the frame's edges."""
    vv = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h - rng.uniform(0.35, 0.65)
    uu = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w - rng.uniform(0.35, 0.65)
    return 1.0 - camera.falloff * np.clip((vv**2 + (2 * uu) ** 2) * 2, 0, 1)


def _keep(steps: dict | None, name: str, img: np.ndarray) -> None:
    if steps is not None:
        steps[name] = np.array(img, copy=True)
