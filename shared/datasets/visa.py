"""Reader for VisA (Zou et al., ECCV 2022) in its raw layout with the official 1-class split."""

from __future__ import annotations

import csv
from pathlib import Path

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split
from shared.datasets.pairing import check_mask_sizes, require_records

VISA_CATEGORIES = (
    "candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1", "macaroni2",
    "pcb1", "pcb2", "pcb3", "pcb4", "pipe_fryum",
)

LAYOUT_HELP = """expected layout:
  <data-root>/split_csv/1cls.csv  (columns object,split,label,image,mask)
  <data-root>/<category>/Data/Images/Normal/*.JPG
  <data-root>/<category>/Data/Images/Anomaly/*.JPG
  <data-root>/<category>/Data/Masks/Anomaly/*.png  (values 0/1 or 0/255)"""


class VisaReader(DatasetReader):
    """VisA; the split and the image-mask pairs come from ``split_csv/1cls.csv``."""

    name = "visa"
    has_masks = True
    layout_help = LAYOUT_HELP

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        split_file = self.root / "split_csv" / "1cls.csv"
        if not split_file.is_file():
            raise DatasetLayoutError(f"VisA split file not found: {split_file}\n{LAYOUT_HELP}")
        self._rows: dict[str, dict[str, list[ImageRecord]]] = {}
        with split_file.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"object", "split", "label", "image", "mask"} - set(reader.fieldnames or [])
            if missing:
                raise DatasetLayoutError(f"{split_file} lacks the columns {sorted(missing)}\n{LAYOUT_HELP}")
            for line, row in enumerate(reader, start=2):
                split = row["split"].strip()
                if split not in ("train", "test"):
                    raise DatasetLayoutError(f"{split_file}:{line}: unknown split {split!r}")
                anomalous = row["label"].strip().lower() == "anomaly"
                image = self.root / row["image"].strip()
                mask = self.root / row["mask"].strip() if anomalous and row["mask"].strip() else None
                if not image.is_file():
                    raise DatasetLayoutError(f"{split_file}:{line}: image {image} not found")
                if anomalous and (mask is None or not mask.is_file()):
                    raise DatasetLayoutError(f"{split_file}:{line}: defective image {image} has no mask {mask}")
                record = ImageRecord(image, row["object"].strip(), split, int(anomalous), mask,
                                     "anomaly" if anomalous else "good")
                self._rows.setdefault(record.category, {"train": [], "test": []})[split].append(record)
        if not self._rows:
            raise DatasetLayoutError(f"{split_file} lists no images\n{LAYOUT_HELP}")
        self._checked: set[str] = set()

    @property
    def categories(self) -> list[str]:
        return sorted(self._rows)

    def records(self, category: str, split: Split) -> list[ImageRecord]:
        self.check_category(category)
        records = require_records(list(self._rows[category][split]), f"{category}/{split}", LAYOUT_HELP)
        if split == "test" and category not in self._checked:
            check_mask_sizes(records)
            self._checked.add(category)
        return records
