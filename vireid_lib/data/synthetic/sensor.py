"""Stage 5, sensor: how each camera turns light (or heat) into 8-bit pixels, and the file it is stored in.

- Visible (colour CMOS/CCD): exposure and white balance, noise, the tone curve (RegDB's camera; see
  :func:`tone_curve`), 8-bit, JPEG.
- Near-infrared (monochrome, night mode): automatic gain and offset, noise (higher: less light), one channel
  stored as three equal channels (as in SYSU-MM01), JPEG.
- Thermal (uncooled microbolometer): little temporal noise (NETD ≈ 50 mK), a fixed pattern (column offsets
  of the readout, pixel offsets), a slow non-uniformity across the frame (the shutter's flat-field drifts),
  per-frame automatic gain (AGC: the frame's temperature range is stretched over 8 bits, so a garment's grey
  level depends on what else is in the frame), and digital detail enhancement, which rings around warm
  bodies (halos). RegDB stores the frames as BMP after the camera's own compression (JPEG here).
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

from .camera import Camera, optics_blur


def to_uint8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def tone_curve(img: np.ndarray) -> np.ndarray:
    """The camera's tone curve (opto-electronic transfer function): linear signal in [0, 1] → code value in
    [0, 1], the sRGB curve (a linear toe, then a 1/2.4 power with an offset: overall close to a 1/2.2 power,
    as Rec. 709's).

    Physics: a sensor's signal is proportional to the light, but a camera does not store it so: its image
    processor encodes it with a power of about 1/2.2 before the 8-bit rounding, for the display's inverse
    power (and because equal ratios of light then get about equal steps of code). This compresses the
    contrast of the dark regions against the bright ones: a ratio of light r becomes a ratio of code values of
    about r^(1/2.2). Applied after the noise, which arises in the linear signal."""
    x = np.clip(img, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4, dtype=np.float32) - 0.055)


def visible_sensor(img: np.ndarray, rng: np.random.Generator, noise: float, tone: bool = False) -> np.ndarray:
    """The noise of a colour sensor, then (``tone``) the camera's tone curve; (H, W, 3) radiance in [0, 1] →
    uint8. One Gaussian level per image (read noise and shot noise lumped together at a typical exposure), the
    same in dark and bright regions: a simplification, since shot noise grows with the signal (data/README.md).
    Without ``tone`` the linear signal is stored (the SYSU-MM01-like cameras: see data/README.md)."""
    out = img + noise * float(rng.uniform(0.5, 1.5)) * rng.standard_normal(img.shape, np.float32)
    return to_uint8(tone_curve(out) if tone else out)


def nir_sensor(img: np.ndarray, camera: Camera, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Automatic gain and offset, then noise, of a monochrome night-mode sensor; (H, W) → uint8 (H, W, 3)."""
    gain = camera.gain * float(rng.uniform(0.85, 1.15))
    out = img * gain + camera.offset
    out = to_uint8(out + noise * float(rng.uniform(0.5, 1.5)) * rng.standard_normal(out.shape, np.float32))
    return np.repeat(out[..., None], 3, axis=-1)


def fixed_pattern(camera: Camera, h: int, w: int) -> np.ndarray:
    """The microbolometer's fixed-pattern offsets (°C): per-column readout offsets and per-pixel offsets, the
    same in every frame of this camera (drawn once per process; read-only)."""
    return _fixed_pattern(camera.seed, h, w)


@lru_cache(maxsize=16)
def _fixed_pattern(seed: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 77, h, w])
    out = (rng.normal(0, 0.15, (1, w)) + rng.normal(0, 0.05, (h, w))).astype(np.float32)
    out.flags.writeable = False
    return out


def thermal_sensor(T: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Apparent temperature (°C, native resolution) → uint8 (h, w): temporal noise, fixed pattern, slow
    non-uniformity, per-frame AGC, detail enhancement (halos)."""
    h, w = T.shape
    v = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    u = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    drift = rng.normal(0, 0.4, 3).astype(np.float32)
    T = T + fixed_pattern(camera, h, w) + rng.normal(0, 0.05, (1, w)).astype(np.float32)  # columns drift too
    T = T + drift[0] * u + drift[1] * v + drift[2] * (u * u + v * v) * 2
    T = T + 0.06 * rng.standard_normal(T.shape, np.float32)
    lo, hi = np.percentile(T, 1.0), T.max()
    s = 0.04 + 0.84 * (T - lo) / max(hi - lo, 1.0)
    detail = np.clip(s - optics_blur(s, 4.0 * camera.native), -0.15, 0.15)  # the enhancer's limited range
    return to_uint8(s + camera.dde * detail)


def jpeg_bytes(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg_file(img: np.ndarray, quality: int, path) -> None:
    """Store ``img`` as a JPEG file (SYSU-MM01): the bytes of :func:`jpeg_bytes`, encoded straight into the file."""
    Image.fromarray(img).save(path, format="JPEG", quality=int(quality))


def _decoded(img: np.ndarray, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes(img, quality))).convert("RGB")


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """The camera's (or recorder's) JPEG compression, decoded again (RegDB stores decoded frames as BMP)."""
    return np.asarray(_decoded(img, quality))


def jpeg_then_bmp(img: np.ndarray, quality: int, path) -> None:
    """Store ``img`` as RegDB does: the camera's JPEG compression, decoded and written as a BMP file (the pixels
    of :func:`jpeg_roundtrip`, without the trip through an array)."""
    _decoded(img, quality).save(path, format="BMP")
