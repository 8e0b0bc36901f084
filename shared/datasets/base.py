"""The record type every reader returns, and the reader interface."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Split = Literal["train", "test"]


class DatasetLayoutError(ValueError):
    """A dataset folder that is missing or not laid out as its reader expects."""


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset.

    ``label`` is 0 for a normal image and 1 for an anomalous one. ``mask_path``
    is None for normal images and for datasets without pixel annotations.
    """

    image_path: Path
    category: str
    split: Split
    label: int
    mask_path: Path | None
    defect_type: str


class DatasetReader(abc.ABC):
    """Lists the images of one dataset, per category and split."""

    name: str
    has_masks: bool
    grayscale: bool = False

    @property
    @abc.abstractmethod
    def categories(self) -> list[str]:
        """All categories present in this dataset."""

    @abc.abstractmethod
    def records(self, category: str, split: Split) -> list[ImageRecord]:
        """Return the records of one category and split, in a fixed order."""

    def normal_train(self, category: str) -> list[ImageRecord]:
        """Return the normal training images of a category."""
        return [record for record in self.records(category, "train") if record.label == 0]

    def check_category(self, category: str) -> None:
        """Raise DatasetLayoutError when ``category`` is not in this dataset."""
        if category not in self.categories:
            valid = ", ".join(self.categories) or "none found"
            where = f" under {self.root}" if getattr(self, "root", None) is not None and self.name != "elpv" else ""
            raise DatasetLayoutError(
                f"category {category!r} not found in dataset {self.name}{where}; valid categories: {valid}"
            )

    @property
    def root_label(self) -> str:
        """A short description of where the data comes from, for logs and cards."""
        return self.name


def relative_to_root(path: Path, root: Path) -> str:
    """Return ``path`` relative to ``root`` as a POSIX string, or the full path when outside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
