"""A preview grid of stored records grouped by strength, to see what ``s`` does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from shared.imageio import resize_rgb
from shared.synthetic import open_synthetic


def strength_buckets(strengths: np.ndarray, count: int) -> list[tuple[float, float]]:
    """``count`` equal-width strength intervals covering the observed strengths."""
    low, high = float(strengths.min()), float(strengths.max())
    if high <= low:
        return [(low, high)]
    edges = np.linspace(low, high, count + 1)
    return [(float(edges[i]), float(edges[i + 1])) for i in range(count)]


def preview_store(store_path: str | Path, output: Path, *, category: str | None = None, buckets: int = 4,
                  per_bucket: int = 4, size: int = 128) -> Path:
    """Write one row per strength bucket; each record is a column of source, composite and mask."""
    store = open_synthetic(store_path)
    name = category or store.categories[0]
    records = store.category(name)
    if not len(records):
        raise ValueError(f"category {name} of {store_path} has no complete records to preview")
    strengths = records.column("strength")
    kinds = records.column("kind")
    diffusion = np.flatnonzero(kinds == "sdas")
    pool = diffusion if len(diffusion) else np.arange(len(records))
    rows = []
    label_width = 110
    for low, high in strength_buckets(strengths[pool], buckets):
        chosen = [int(i) for i in pool if low <= strengths[i] <= high][:per_bucket]
        tiles = []
        for position in chosen:
            record = records.read(position)
            mask = np.repeat((record.mask * 255).astype(np.uint8)[..., None], 3, axis=2)
            column = [resize_rgb(record.source, size), resize_rgb(record.image, size), resize_rgb(mask, size)]
            tiles.append(np.concatenate(column, axis=0))
        while len(tiles) < per_bucket:
            tiles.append(np.zeros((3 * size, size, 3), dtype=np.uint8))
        label = Image.new("RGB", (label_width, 3 * size), (255, 255, 255))
        draw = ImageDraw.Draw(label)
        draw.text((6, 6), f"s {low:.3f}\nto {high:.3f}\n{len(chosen)} shown", fill=(0, 0, 0))
        draw.text((6, size + 6), "rows:\nsource\ncomposite\nmask", fill=(90, 90, 90))
        rows.append(np.concatenate([np.asarray(label), *tiles], axis=1))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(output)
    return output
