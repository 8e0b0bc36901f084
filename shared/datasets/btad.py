"""Reader for BTAD (beanTech Anomaly Detection; Mishra et al., 2021): categories 01, 02 and 03."""

from __future__ import annotations

from pathlib import Path

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split
from shared.datasets.pairing import check_mask_sizes, check_orphan_masks, list_images, require_records

BTAD_CATEGORIES = ("01", "02", "03")

LAYOUT_HELP = """expected layout:
  <data-root>/<category>/train/ok/*.bmp|png
  <data-root>/<category>/test/ok/*.bmp|png
  <data-root>/<category>/test/ko/*.bmp|png
  <data-root>/<category>/ground_truth/ko/<same stem>.bmp|png"""


class BtadReader(DatasetReader):
    """BTAD layout; masks are matched to defective images by file stem."""

    name = "btad"
    has_masks = True
    layout_help = LAYOUT_HELP

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetLayoutError(f"dataset root {self.root} does not exist\n{LAYOUT_HELP}")
        self._categories = sorted(p.name for p in self.root.iterdir() if (p / "train" / "ok").is_dir())
        if not self._categories:
            raise DatasetLayoutError(f"no category with a train/ok folder under {self.root}\n{LAYOUT_HELP}")

    @property
    def categories(self) -> list[str]:
        return list(self._categories)

    def records(self, category: str, split: Split) -> list[ImageRecord]:
        self.check_category(category)
        base = self.root / category / split
        if not base.is_dir():
            raise DatasetLayoutError(f"missing folder {base}\n{LAYOUT_HELP}")
        records = []
        if (base / "ok").is_dir():
            records += [ImageRecord(p, category, split, 0, None, "good") for p in list_images(base / "ok")]
        if split == "test" and (base / "ko").is_dir():
            mask_dir = self.root / category / "ground_truth" / "ko"
            masks = {p.stem: p for p in list_images(mask_dir)} if mask_dir.is_dir() else {}
            used = set()
            for image_path in list_images(base / "ko"):
                mask_path = masks.get(image_path.stem)
                if mask_path is None:
                    raise DatasetLayoutError(
                        f"defective image {image_path} has no mask; expected {mask_dir / image_path.stem}.png or .bmp"
                    )
                used.add(mask_path)
                records.append(ImageRecord(image_path, category, split, 1, mask_path, "ko"))
            check_orphan_masks(mask_dir, used)
        require_records(records, base, LAYOUT_HELP)
        if split == "test":
            check_mask_sizes(records)
        return records
