"""Dataset readers that all return :class:`ImageRecord` lists."""

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split
from shared.datasets.catalog import DATASET_NAMES, open_dataset

__all__ = [
    "DATASET_NAMES",
    "DatasetLayoutError",
    "DatasetReader",
    "ImageRecord",
    "Split",
    "open_dataset",
]
