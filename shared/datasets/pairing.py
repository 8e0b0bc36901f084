"""Checks shared by readers: masks paired with images, sizes that agree, no empty categories."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from shared.datasets.base import DatasetLayoutError, ImageRecord
from shared.imageio import ImageReadError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header; raises ImageReadError naming the file."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as error:
        raise ImageReadError(f"cannot read image {path}: {error}") from error


def check_mask_sizes(records: list[ImageRecord]) -> None:
    """Raise DatasetLayoutError when a mask's size differs from its image's."""
    for record in records:
        if record.mask_path is None:
            continue
        mask_size = image_size(record.mask_path)
        size = image_size(record.image_path)
        if mask_size != size:
            raise DatasetLayoutError(
                f"mask {record.mask_path} is {mask_size[0]}x{mask_size[1]} but image {record.image_path} "
                f"is {size[0]}x{size[1]}"
            )


def check_orphan_masks(mask_folder: Path, used: set[Path]) -> None:
    """Raise DatasetLayoutError for a mask in ``mask_folder`` that no image uses."""
    if not mask_folder.is_dir():
        return
    for mask in list_images(mask_folder):
        if mask not in used:
            raise DatasetLayoutError(f"mask {mask} has no matching image")


def require_records(records: list[ImageRecord], where: Path | str, layout: str) -> list[ImageRecord]:
    if not records:
        raise DatasetLayoutError(f"no images in {where}: the category is empty\n{layout}")
    return records
