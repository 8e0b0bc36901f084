"""Texture anomaly sources (DRAEM style): DTD-like images with three random augmentations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from shared.datasets.pairing import IMAGE_SUFFIXES
from shared.imageio import load_rgb


class TextureSourceError(ValueError):
    """A texture folder that is missing or contains no images."""


def list_textures(folder: Path) -> list[Path]:
    """List all images under ``folder``, recursively and sorted; raise when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TextureSourceError(f"texture folder {folder} does not exist; pass a DTD-style folder with --textures DIR")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise TextureSourceError(f"texture folder {folder} contains no images (.png, .jpg, .bmp, .tif)")
    return paths


def _gamma(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    gamma = rng.uniform(0.5, 2.0)
    table = [round(255 * (value / 255) ** gamma) for value in range(256)] * 3
    return image.point(table)


def _brightness(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(rng.uniform(0.6, 1.4))


def _hue_saturation(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    hsv = np.asarray(image.convert("HSV")).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(-50, 51))) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] + int(rng.integers(-50, 51)), 0, 255)
    return Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")


def _solarize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.solarize(image, threshold=int(rng.integers(32, 224)))


def _posterize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.posterize(image, bits=int(rng.integers(2, 6)))


def _invert(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.invert(image)


def _autocontrast(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.autocontrast(image)


def _equalize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.equalize(image)


def _rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.rotate(rng.uniform(-45, 45), resample=Image.BILINEAR, fillcolor=None)


AUGMENTATIONS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image]] = {
    "gamma": _gamma, "brightness": _brightness, "hue_saturation": _hue_saturation, "solarize": _solarize,
    "posterize": _posterize, "invert": _invert, "autocontrast": _autocontrast, "equalize": _equalize,
    "rotate": _rotate,
}


def texture_source(path: Path, size: int, rng: np.random.Generator, count: int = 3) -> np.ndarray:
    """Load a texture, resize it to size x size and apply ``count`` distinct random augmentations."""
    image = Image.fromarray(load_rgb(path)).resize((size, size), Image.BILINEAR)
    names = rng.choice(list(AUGMENTATIONS), size=count, replace=False)
    for name in names:
        image = AUGMENTATIONS[str(name)](image, rng)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
