"""Contact sheets of training images with their foreground masks, for checking the rules by eye."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shared.datasets import DatasetReader
from shared.foreground import foreground_mask, rule_for
from shared.imageio import load_rgb, resize_rgb


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Tint the foreground green and darken the background, so both stay visible."""
    tinted = image.astype(np.float32)
    tinted[mask] = 0.6 * tinted[mask] + 0.4 * np.array([0, 255, 0])
    tinted[~mask] *= 0.35
    return tinted.clip(0, 255).astype(np.uint8)


def foreground_sheet(reader: DatasetReader, categories: list[str], output: Path, *, count: int = 8,
                     size: int = 192, override: str | None = None) -> Path:
    """Write one row per category: ``count`` images, each as original and overlay side by side."""
    rows = []
    for category in categories:
        rule = rule_for(reader.name, category, override)
        tiles = []
        for record in reader.normal_train(category)[:count]:
            image = resize_rgb(load_rgb(record.image_path), size)
            mask = foreground_mask(image, rule)
            tiles.append(np.concatenate([image, overlay(image, mask)], axis=1))
        while len(tiles) < count:
            tiles.append(np.zeros((size, 2 * size, 3), dtype=np.uint8))
        row = Image.fromarray(np.concatenate(tiles, axis=1))
        ImageDraw.Draw(row).text((4, 4), category, fill=(255, 255, 0))
        rows.append(np.asarray(row))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(output)
    return output
