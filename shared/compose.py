"""Blending an anomaly source into a normal image under a mask."""

from __future__ import annotations

import numpy as np


def compose_anomaly(image: np.ndarray, source: np.ndarray, mask: np.ndarray, blend: float) -> np.ndarray:
    """Blend ``source`` into ``image`` inside ``mask``.

    Implements ``I_a = (1 - M) * I + M * (beta * S + (1 - beta) * I)`` with a
    binary mask M and blend factor ``beta = blend``. Pixels outside the mask are
    returned unchanged. All images are (H, W, 3) uint8, the mask (H, W) bool.
    """
    if image.shape != source.shape:
        raise ValueError(f"source shape {source.shape} differs from image shape {image.shape}")
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} differs from image size {image.shape[:2]}")
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend factor {blend} is outside [0, 1]")
    mixed = blend * source.astype(np.float32) + (1.0 - blend) * image.astype(np.float32)
    mixed = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
    return np.where(mask[..., None], mixed, image)
