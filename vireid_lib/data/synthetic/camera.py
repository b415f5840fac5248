"""Stage 4, camera and optics: where each camera stands, how it frames the person, and what its optics blur.

- SYSU-MM01's six cameras: visible cameras 1, 2 (indoor) and 4, 5 (outdoor); near-infrared cameras 3 (indoor,
  the room of camera 2) and 6 (outdoor). Each films its own place, with its own light; people walk past each in
  typical directions (its viewpoint mix).
- RegDB's pair: a visible and a thermal camera mounted side by side, filming the same street at the same
  instants. They are separate cameras: the thermal one has its own detector box around the person (offset and
  scaled a little against the visible one: parallax and registration error), a lower native resolution
  (upsampled to the crop size) and its own optics blur. Its crop is never the visible crop's pixel twin.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from .body import Pose
from .scene import Scene, make_scene

VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)
INDOOR_CAMS = (1, 2, 3)
SCENE_OF = {3: 2}  # camera 3 films the room of camera 2
REGDB_CAM = 1  # RegDB's pair: one place, two cameras


@dataclass(frozen=True)
class Camera:
    """A camera: its modality, the scene it films, its light and its optics.

    Visible: ``cast`` (white balance / light colour) and ``brightness``. Near-infrared: ``gain`` / ``offset``
    of its automatic gain, the illuminator's ``falloff`` across the beam, ``scene_light`` (the scene behind the
    person gets less of the illuminator's light) and ``ambient`` (share of visible light in its signal).
    Thermal: ``native`` resolution (fraction of the crop size), ``psf`` (optics blur, px at 128×64),
    ``registration`` (std of its crop's offset against the visible camera's, px at 128×64) and ``dde`` (the
    camera's detail enhancement, which rings around warm bodies: halos). ``tone_curve``: the visible camera
    encodes its signal with the sRGB tone curve (RegDB's; :func:`~.sensor.tone_curve`), else stores it linear.
    """

    cam: int
    modality: str  # "visible" | "nir" | "thermal"
    scene: Scene
    view_p: np.ndarray
    cast: np.ndarray
    brightness: float
    gain: float
    offset: float
    falloff: float
    scene_light: float
    ambient: float
    native: float
    psf: float
    registration: float
    dde: float
    seed: int  # for the sensor's fixed pattern
    tone_curve: bool = False


def make_camera(seed: int, cam: int, modality: str | None = None, indoor: bool | None = None,
                ambient_scale: float = 1.0, registration: float = 3.0, native: float = 0.6, psf: float = 1.2,
                elevated: bool = False) -> Camera:
    """Camera ``cam`` of the SYSU-MM01-like world, or (``modality`` given) of RegDB's pair.

    ``ambient_scale`` scales the near-infrared cameras' share of visible light; ``registration``, ``native``
    and ``psf`` set the thermal camera (see :class:`Camera`): the calibrated parameters of ``SyntheticSpec``.
    """
    if modality is None:
        modality = "visible" if cam in VISIBLE_CAMS else "nir"
    indoor = cam in INDOOR_CAMS if indoor is None else indoor
    scene = make_scene(np.random.default_rng([seed, 2, SCENE_OF.get(cam, cam)]), indoor, elevated)
    rng = np.random.default_rng([seed, 3, cam, {"visible": 0, "nir": 1, "thermal": 2}[modality]])
    view_p = np.random.default_rng([seed, 4, SCENE_OF.get(cam, cam)]).dirichlet(np.full(4, 2.0))
    nir = modality == "nir"
    return Camera(
        cam=cam, modality=modality, scene=scene, view_p=view_p,
        cast=rng.uniform(0.8, 1.15, 3).astype(np.float32) if modality == "visible" else np.ones(3, np.float32),
        brightness=float(rng.uniform(0.85, 1.1) if indoor else rng.uniform(0.9, 1.25)),
        gain=float(rng.uniform(0.8, 1.2)), offset=float(rng.uniform(0.0, 0.12)),
        falloff=float(rng.uniform(0.2, 0.5)) if nir else 0.0,
        # the illuminator is beside the camera: light falls off with distance, the scene gets less than a passer-by
        scene_light=float((rng.uniform(0.5, 0.75) if indoor else rng.uniform(0.3, 0.55)) if nir else 1.0),
        # with its IR-cut filter removed, a night-mode camera also records the room's visible light
        ambient=float(min(1.0, ambient_scale * (rng.uniform(0.75, 0.9) if indoor else rng.uniform(0.35, 0.55))))
        if nir else 0.0,
        native=native if modality == "thermal" else 1.0, psf=psf if modality == "thermal" else 0.0,
        registration=registration if modality == "thermal" else 0.0,
        dde=float(rng.uniform(0.3, 0.6)) if modality == "thermal" else 0.0, seed=seed * 1000 + cam,
    )


def regdb_cameras(seed: int, registration: float, native: float, psf: float,
                  tone_curve: bool = False) -> tuple[Camera, Camera]:
    """RegDB's visible and thermal cameras: one outdoor place (the same scene), two cameras side by side;
    ``tone_curve``: the visible camera encodes with the sRGB tone curve."""
    vis = dataclasses.replace(make_camera(seed, REGDB_CAM, "visible", indoor=False, elevated=True),
                              tone_curve=tone_curve)
    th = make_camera(seed, REGDB_CAM, "thermal", indoor=False, registration=registration, native=native, psf=psf,
                     elevated=True)
    return vis, th


DETECTOR_JITTER = 1.5  # px at 128×64: how much a detector's box moves between frames of a steady walk


def frame(camera: Camera, pose: Pose, rng: np.random.Generator, parallax=(0.0, 0.0, 0.0)) -> Pose:
    """This camera's detector box around the person. The thermal camera's box is offset and scaled against the
    visible one's: by the pair's parallax and registration error (``camera.registration`` px × ``parallax``,
    which stays the same over a pass, as it depends on the person's distance), and by its own detector's
    frame-to-frame jitter."""
    if camera.registration <= 0:
        return pose
    r, j = camera.registration, DETECTOR_JITTER
    dx, dy, ds = (r * p + j * float(rng.normal()) for p in parallax)  # px at 128×64
    return dataclasses.replace(pose, cx=pose.cx + dx / 64, top=pose.top + dy / 128,
                               scale=pose.scale * float(np.exp(ds / 128)))


def native_size(camera: Camera, H: int, W: int) -> tuple[int, int]:
    """The sensor's own resolution for a crop of H×W (lower for the thermal camera)."""
    return max(8, round(H * camera.native)), max(4, round(W * camera.native))


def optics_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """A lens's point-spread function (defocus, motion) as a Gaussian of ``sigma`` pixels (mirrored borders)."""
    if sigma <= 0.05:
        return img
    return cv2.GaussianBlur(np.ascontiguousarray(img, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def resample(img: np.ndarray, H: int, W: int) -> np.ndarray:
    """The dataset's crop resized to H×W (bilinear, as a low-resolution sensor's crop is scaled up)."""
    if img.shape[:2] == (H, W):
        return img
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
