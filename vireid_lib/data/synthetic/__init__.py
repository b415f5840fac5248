"""The embedded default: synthetic visible / near-infrared / thermal person datasets, in the real layouts.

SYSU-MM01 and RegDB are licensed and cannot be downloaded, so the study generates its own data,
deterministically from a :class:`~vireid_lib.config.SyntheticSpec`, and writes it exactly as the real sets
lie on disk (:mod:`.writers`). The same readers, samplers and evaluation protocols then run on either.

How an image arises: one module per stage of the imaging chain (:mod:`.chain` runs them in order)
---------------------------------------------------------------------------------------------------
1. :mod:`.body`: identity and body: proportions, skin, hair, skin temperatures; a pose and a detector box.
2. :mod:`.garments`: cut and materials of what the person wears and carries, in three wavebands (visible
   colour, 850-nm reflectance drawn from classes of measured textile spectra, thermal build), dressed onto
   the body as surface labels.
3. :mod:`.scene`: the place each camera films and the light (or heat) leaving every surface: ambient light
   from above (visible), the camera's own 850-nm illuminator (near-infrared), emission by temperature and
   emissivity (thermal: no lighting, no dyes; contact, layers and metal matter).
4. :mod:`.camera`: where cameras stand and how they frame the person (RegDB's thermal camera is a separate
   camera beside the visible one: its own crop, lower resolution, its own optics blur).
5. :mod:`.sensor`: noise, fixed pattern and non-uniformity, automatic gain, detail enhancement (halos),
   8-bit quantisation, the file's compression.

What the modalities share is only what physics shares: the body, the pose of the same instant (RegDB), the
garments' cut, layers and carried items. Nothing is tuned to make an ablation come out a certain way; the
few parameters calibrated against published hand-crafted baselines are physical ones (data/README.md).
"""

from .body import VIEWS, Body, BodyMap, Pose, draw_body, draw_pose, rasterise_body
from .camera import INDOOR_CAMS, INFRARED_CAMS, VISIBLE_CAMS, Camera, make_camera, regdb_cameras
from .chain import new_moment, render
from .garments import FABRIC_CLASSES, LABELS, N_LABELS, Identity, Material, Outfit, dress, make_identity, materials
from .scene import Moment, Scene, draw_moment
from .sensor import jpeg_bytes
from .store import (
    GENERATOR_VERSION,
    MARKER,
    REGDB_FIELDS,
    SYSU_FIELDS,
    describe_layout,
    ensure_synthetic,
    spec_key,
    synthetic_root,
)
from .writers import regdb_moments, regdb_pair, sysu_camera, sysu_plan, write_regdb, write_sysu

__all__ = [
    "GENERATOR_VERSION", "MARKER", "SYSU_FIELDS", "REGDB_FIELDS", "ensure_synthetic", "synthetic_root", "spec_key",
    "describe_layout", "sysu_plan", "write_sysu", "write_regdb", "render", "new_moment", "make_identity",
    "make_camera", "regdb_cameras", "regdb_pair", "regdb_moments", "sysu_camera", "draw_pose", "draw_body",
    "draw_moment", "rasterise_body", "dress", "materials", "jpeg_bytes", "Body", "BodyMap", "Pose", "Identity",
    "Outfit", "Material", "Camera", "Scene", "Moment", "VIEWS", "LABELS", "N_LABELS", "FABRIC_CLASSES",
    "VISIBLE_CAMS", "INFRARED_CAMS", "INDOOR_CAMS",
]
