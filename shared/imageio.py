"""Image loading that always returns RGB uint8 arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageReadError(OSError):
    """An image file that is missing, truncated or not an image."""


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.integer):
        # 16-bit and 32-bit integer images: scale the full type range to 0..255.
        max_value = np.iinfo(array.dtype).max
        if array.max() <= 255:
            max_value = 255
        elif array.max() <= 65535:
            max_value = 65535
        return np.round(array.astype(np.float64) * (255.0 / max_value)).astype(np.uint8)
    # Floating point images: assume 0..1 when the data fits, else 0..255.
    scale = 255.0 if array.max() <= 1.0 else 1.0
    return np.clip(np.round(array * scale), 0, 255).astype(np.uint8)


def load_rgb(path: str | Path) -> np.ndarray:
    """Load an image as an (H, W, 3) uint8 RGB array.

    Grayscale, RGBA, palette and 16-bit images are converted, and the EXIF
    orientation tag is applied. Raises ImageReadError naming the file when it
    cannot be read.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.load()
    except FileNotFoundError as error:
        raise ImageReadError(f"image file not found: {path}") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"cannot read image {path}: {error}") from error

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_uint8(np.asarray(image))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Composite transparent pixels onto black so no colour leaks from hidden pixels.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def load_mask(path: str | Path) -> np.ndarray:
    """Load a ground-truth mask as an (H, W) bool array: any non-zero pixel is anomalous."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            array = np.asarray(image)
    except FileNotFoundError as error:
        raise ImageReadError(f"mask file not found: {path}") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"cannot read mask {path}: {error}") from error
    if array.ndim == 3:
        array = array.max(axis=2)
    return array > 0


def resize_rgb(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 image to size x size with bilinear filtering."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Resize a bool mask to size x size with nearest-neighbour sampling."""
    if mask.shape[0] == size and mask.shape[1] == size:
        return mask
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(image.resize((size, size), Image.NEAREST)) > 127
