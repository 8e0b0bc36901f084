"""Anomaly maps as images: resizing back to the original size and colour overlays."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image


def resize_map(anomaly_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a float map to (height, width)."""
    if anomaly_map.shape == (height, width):
        return anomaly_map.astype(np.float32)
    image = Image.fromarray(anomaly_map.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.BILINEAR), dtype=np.float32)


def heatmap_overlay(image: np.ndarray, anomaly_map: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a ``jet`` colouring of a map in [0, 1] over an RGB uint8 image of the same size."""
    colours = colormaps["jet"](np.clip(anomaly_map, 0.0, 1.0))[..., :3] * 255.0
    blended = (1.0 - alpha) * image.astype(np.float32) + alpha * colours
    return blended.clip(0, 255).astype(np.uint8)
