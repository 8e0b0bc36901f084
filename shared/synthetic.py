"""One reader interface over synthetic anomaly sets: a Zarr store, an exported folder or a Hub dataset."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shared.shards import ShardStore, ShardStoreError, SyntheticRecord

logger = logging.getLogger(__name__)

EXPORT_INFO_FILE = "synth_store.json"
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class SyntheticCategory(Protocol):
    """The records of one category, whatever their storage."""

    name: str
    normal_images: list[str]
    num_records: int
    missing_shards: list[int]

    def __len__(self) -> int: ...

    def read(self, position: int) -> SyntheticRecord: ...

    def column(self, name: str) -> np.ndarray: ...


class SyntheticSet(Protocol):
    """A synthetic anomaly set with store-level attributes and one entry per category."""

    attrs: dict[str, Any]
    categories: list[str]

    def category(self, name: str) -> SyntheticCategory: ...


def _image_array(value: Any) -> np.ndarray:
    return np.asarray(value)


class ExportedCategory:
    """One config of an exported dataset, read through ``datasets``."""

    def __init__(self, folder: Path, name: str, info: dict[str, Any]) -> None:
        import datasets

        self.name = name
        self.normal_images = list(info["normal_images"])
        files = sorted(str(p) for p in (folder / "data" / name).glob("*.parquet"))
        if not files:
            raise ShardStoreError(f"exported dataset {folder} has no parquet files for category {name}")
        self.dataset = datasets.load_dataset("parquet", data_files={"train": files}, split="train")
        self.num_records = len(self.dataset)
        self.missing_shards: list[int] = []

    def __len__(self) -> int:
        return self.num_records

    def column(self, name: str) -> np.ndarray:
        if name in ("image", "mask", "source"):
            return np.stack([_image_array(value) for value in self.dataset[name]])
        # Through Arrow, so uint64 seeds keep their exact values.
        return self.dataset.data.column(name).to_numpy()

    def read(self, position: int) -> SyntheticRecord:
        row = self.dataset[position]
        return SyntheticRecord(
            category=self.name,
            index=int(row["record_index"]),
            image=_image_array(row["image"]),
            mask=_image_array(row["mask"]) > 127,
            source=_image_array(row["source"]),
            strength=float(row["strength"]),
            blend=float(row["blend"]),
            source_index=int(row["source_index"]),
            seed=int(row["seed"]),
            kind=str(row["kind"]),
        )


class ExportedSet:
    """A folder written by ``synth export`` (or downloaded from the Hub)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        info_path = self.folder / EXPORT_INFO_FILE
        if not info_path.is_file():
            raise ShardStoreError(f"{self.folder} is not an exported synthetic set (missing {EXPORT_INFO_FILE})")
        info = json.loads(info_path.read_text())
        self.attrs: dict[str, Any] = info["attributes"]
        self._categories: dict[str, dict[str, Any]] = info["categories"]
        self.categories = list(self._categories)

    def category(self, name: str) -> ExportedCategory:
        if name not in self._categories:
            raise ShardStoreError(
                f"exported set {self.folder} has no category {name!r}; it contains: {', '.join(self.categories)}"
            )
        return ExportedCategory(self.folder, name, self._categories[name])


def open_synthetic(spec: str | Path) -> SyntheticSet:
    """Open a Zarr store, an exported folder or a Hub dataset id such as ``org/name``."""
    path = Path(spec)
    if (path / "zarr.json").is_file():
        return ShardStore(path)
    if (path / EXPORT_INFO_FILE).is_file():
        return ExportedSet(path)
    if not path.exists() and HUB_ID.match(str(spec)):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import OfflineModeIsEnabled

        try:
            local = snapshot_download(repo_id=str(spec), repo_type="dataset")
        except OfflineModeIsEnabled as error:
            raise ShardStoreError(
                f"cannot download dataset {spec}: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE=1)"
            ) from error
        except Exception as error:  # network and Hub errors come in many types
            raise ShardStoreError(f"cannot download dataset {spec} from the Hugging Face Hub: {error}") from error
        return ExportedSet(Path(local))
    raise ShardStoreError(
        f"no synthetic anomaly set at {spec}: expected a Zarr store from `synth generate`, a folder from "
        "`synth export`, or a Hub dataset id such as org/name"
    )
