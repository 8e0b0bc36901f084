"""Reader for a user's own images: a folder of good training images, test folders and optional masks."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split
from shared.datasets.pairing import (
    IMAGE_SUFFIXES,
    check_mask_sizes,
    check_orphan_masks,
    list_images,
    require_records,
)

LAYOUT_HELP = """expected settings (CLI options or a YAML/TOML file given with --folder-config):
  train_good: DIR          good training images
  test_good: DIR           good test images (optional)
  test_defects: {NAME: DIR, ...}   defective test images per defect type
  masks: DIR               optional; masks named <image stem><mask_suffix>.png, directly in DIR
                           or in DIR/<defect name>/
  mask_suffix: _mask       optional suffix of mask file stems
  category: NAME           optional category name (default: custom)"""


@dataclass
class FolderLayout:
    """Locations of a user's images; relative paths resolve against the layout file's folder."""

    train_good: Path
    test_good: Path | None = None
    test_defects: dict[str, Path] = field(default_factory=dict)
    masks: Path | None = None
    mask_suffix: str = ""
    category: str = "custom"

    @classmethod
    def from_file(cls, path: Path) -> FolderLayout:
        """Read a layout from YAML (``.yaml``/``.yml``), TOML (``.toml``) or JSON."""
        path = Path(path)
        if not path.is_file():
            raise DatasetLayoutError(f"folder layout file not found: {path}")
        text = path.read_text()
        try:
            if path.suffix == ".toml":
                data = tomllib.loads(text)
            elif path.suffix == ".json":
                data = json.loads(text)
            else:
                data = yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as error:
            raise DatasetLayoutError(f"cannot parse folder layout {path}: {error}") from error
        if not isinstance(data, dict):
            raise DatasetLayoutError(f"folder layout {path} must be a mapping\n{LAYOUT_HELP}")
        return cls.from_mapping(data, base=path.parent, source=str(path))

    @classmethod
    def from_mapping(cls, data: dict, base: Path = Path("."), source: str = "options") -> FolderLayout:
        known = {"train_good", "test_good", "test_defects", "masks", "mask_suffix", "category"}
        unknown = set(data) - known
        if unknown:
            raise DatasetLayoutError(f"unknown folder layout keys in {source}: {sorted(unknown)}\n{LAYOUT_HELP}")
        if not data.get("train_good"):
            raise DatasetLayoutError(f"folder layout in {source} needs train_good\n{LAYOUT_HELP}")

        def resolve(value) -> Path | None:
            return (base / value) if value else None

        return cls(
            train_good=resolve(data["train_good"]),
            test_good=resolve(data.get("test_good")),
            test_defects={str(k): resolve(v) for k, v in (data.get("test_defects") or {}).items()},
            masks=resolve(data.get("masks")),
            mask_suffix=str(data.get("mask_suffix") or ""),
            category=str(data.get("category") or "custom"),
        )


class FolderReader(DatasetReader):
    """A single category from plain folders."""

    name = "folder"
    layout_help = LAYOUT_HELP

    def __init__(self, layout: FolderLayout) -> None:
        self.layout = layout
        self.root = layout.train_good.parent
        self.has_masks = layout.masks is not None
        for label, folder in [("train_good", layout.train_good), ("test_good", layout.test_good),
                              *[(f"test_defects.{k}", v) for k, v in layout.test_defects.items()],
                              ("masks", layout.masks)]:
            if folder is not None and not folder.is_dir():
                raise DatasetLayoutError(f"folder {label} = {folder} does not exist\n{LAYOUT_HELP}")

    @property
    def categories(self) -> list[str]:
        return [self.layout.category]

    def _mask_for(self, image: Path, defect: str) -> Path | None:
        stem = image.stem + self.layout.mask_suffix
        for folder in (self.layout.masks / defect, self.layout.masks):
            for suffix in IMAGE_SUFFIXES:
                for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
                    if candidate.is_file():
                        return candidate
        return None

    def records(self, category: str, split: Split) -> list[ImageRecord]:
        self.check_category(category)
        layout = self.layout
        if split == "train":
            records = [ImageRecord(p, category, "train", 0, None, "good") for p in list_images(layout.train_good)]
            return require_records(records, layout.train_good, LAYOUT_HELP)
        records = []
        if layout.test_good is not None:
            records += [ImageRecord(p, category, "test", 0, None, "good") for p in list_images(layout.test_good)]
        used: set[Path] = set()
        for defect, folder in layout.test_defects.items():
            for image in list_images(folder):
                mask = None
                if self.has_masks:
                    mask = self._mask_for(image, defect)
                    if mask is None:
                        raise DatasetLayoutError(
                            f"defective image {image} has no mask in {layout.masks} "
                            f"(looked for {image.stem}{layout.mask_suffix}.png and other image types)"
                        )
                    used.add(mask)
                records.append(ImageRecord(image, category, "test", 1, mask, defect))
        require_records(records, "the test folders", LAYOUT_HELP)
        if self.has_masks:
            for folder in [layout.masks, *[layout.masks / d for d in layout.test_defects]]:
                check_orphan_masks(folder, used)
            check_mask_sizes(records)
        return records
