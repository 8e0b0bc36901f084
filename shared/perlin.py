"""Perlin noise masks for local anomalies (as in DRAEM and RealNet)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _fade(t: np.ndarray) -> np.ndarray:
    return 6 * t**5 - 15 * t**4 + 10 * t**3


def perlin_noise(height: int, width: int, res_y: int, res_x: int, rng: np.random.Generator) -> np.ndarray:
    """Return 2D gradient (Perlin) noise of shape (height, width) with ``res_y`` x ``res_x`` lattice cells.

    Values lie roughly in [-0.7, 0.7].
    """
    angles = rng.uniform(0.0, 2 * np.pi, size=(res_y + 1, res_x + 1))
    gradients = np.stack([np.cos(angles), np.sin(angles)], axis=-1)

    y = np.linspace(0, res_y, height, endpoint=False)
    x = np.linspace(0, res_x, width, endpoint=False)
    yy, xx = np.meshgrid(y, x, indexing="ij")
    cell_y = yy.astype(int)
    cell_x = xx.astype(int)
    frac_y = yy - cell_y
    frac_x = xx - cell_x

    def corner(dy: int, dx: int) -> np.ndarray:
        gradient = gradients[cell_y + dy, cell_x + dx]
        return gradient[..., 0] * (frac_y - dy) + gradient[..., 1] * (frac_x - dx)

    fade_y = _fade(frac_y)
    fade_x = _fade(frac_x)
    top = corner(0, 0) * (1 - fade_x) + corner(0, 1) * fade_x
    bottom = corner(1, 0) * (1 - fade_x) + corner(1, 1) * fade_x
    return np.sqrt(2) * (top * (1 - fade_y) + bottom * fade_y)


def perlin_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    *,
    max_scale_exponent: int = 6,
    threshold: float = 0.5,
    max_rotation_deg: float = 90.0,
) -> np.ndarray:
    """Draw a binary anomaly mask from thresholded, randomly rotated Perlin noise.

    The lattice scales are ``2**a`` and ``2**b`` with integers a, b drawn from
    [0, max_scale_exponent), so blobs range from one per image to many small ones.
    """
    scale_y = 2 ** int(rng.integers(0, max_scale_exponent))
    scale_x = 2 ** int(rng.integers(0, max_scale_exponent))
    noise = perlin_noise(height, width, scale_y, scale_x, rng)
    angle = rng.uniform(-max_rotation_deg, max_rotation_deg)
    noise = ndimage.rotate(noise, angle, reshape=False, order=1, mode="reflect")
    return noise > threshold


MAX_MASK_ATTEMPTS = 20


def anomaly_mask(foreground: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a Perlin mask inside ``foreground``; never empty."""
    height, width = foreground.shape
    for _ in range(MAX_MASK_ATTEMPTS):
        mask = perlin_mask(height, width, rng) & foreground
        if mask.any():
            return mask
    # Rare: tiny foregrounds. Fall back to a disk around a random foreground pixel.
    ys, xs = np.nonzero(foreground)
    pick = int(rng.integers(0, len(ys)))
    radius = max(2, min(height, width) // 16)
    yy, xx = np.ogrid[:height, :width]
    disk = (yy - ys[pick]) ** 2 + (xx - xs[pick]) ** 2 <= radius**2
    return disk & foreground
