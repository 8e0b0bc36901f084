"""Reader for the MVTec-AD folder layout, which MPDD uses too."""

from __future__ import annotations

from pathlib import Path

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split
from shared.datasets.pairing import check_mask_sizes, check_orphan_masks, list_images, require_records

MVTEC_CATEGORIES = (
    "bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut",
    "pill", "screw", "tile", "toothbrush", "transistor", "wood", "zipper",
)
MPDD_CATEGORIES = (
    "bracket_black", "bracket_brown", "bracket_white", "connector", "metal_plate", "tubes",
)

LAYOUT_HELP = """expected layout:
  <data-root>/<category>/train/good/*.png
  <data-root>/<category>/test/good/*.png
  <data-root>/<category>/test/<defect>/*.png
  <data-root>/<category>/ground_truth/<defect>/<name>_mask.png"""


class MVTecReader(DatasetReader):
    """MVTec-AD style dataset: ``<category>/{train,test,ground_truth}``."""

    has_masks = True
    layout_help = LAYOUT_HELP

    def __init__(self, root: Path, name: str = "mvtec") -> None:
        self.root = Path(root)
        self.name = name
        if not self.root.is_dir():
            raise DatasetLayoutError(f"dataset root {self.root} does not exist\n{LAYOUT_HELP}")
        self._categories = sorted(
            p.name for p in self.root.iterdir() if (p / "train" / "good").is_dir()
        )
        if not self._categories:
            raise DatasetLayoutError(
                f"no category with a train/good folder under {self.root}\n{LAYOUT_HELP}"
            )

    @property
    def categories(self) -> list[str]:
        return list(self._categories)

    def records(self, category: str, split: Split) -> list[ImageRecord]:
        self.check_category(category)
        split_dir = self.root / category / split
        if not split_dir.is_dir():
            raise DatasetLayoutError(f"missing folder {split_dir}\n{LAYOUT_HELP}")
        records: list[ImageRecord] = []
        used_masks: dict[str, set[Path]] = {}
        for defect_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            defect = defect_dir.name
            for image_path in list_images(defect_dir):
                if defect == "good":
                    records.append(ImageRecord(image_path, category, split, 0, None, "good"))
                    continue
                mask_path = self.root / category / "ground_truth" / defect / f"{image_path.stem}_mask.png"
                if not mask_path.is_file():
                    raise DatasetLayoutError(
                        f"defective image {image_path} has no mask; expected {mask_path}"
                    )
                used_masks.setdefault(defect, set()).add(mask_path)
                records.append(ImageRecord(image_path, category, split, 1, mask_path, defect))
        require_records(records, split_dir, LAYOUT_HELP)
        if split == "test":
            for defect, used in used_masks.items():
                check_orphan_masks(self.root / category / "ground_truth" / defect, used)
            check_mask_sizes(records)
        return records
