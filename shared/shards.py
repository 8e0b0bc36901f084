"""The Zarr store of synthetic anomaly records: schema, writer and reader.

Layout (Zarr v3): one group per category with fixed-size arrays

- ``image``  (N, H, W, 3) uint8: the composite anomalous image
- ``mask``   (N, H, W) uint8, 0 or 255: where the anomaly was blended in
- ``source`` (N, H, W, 3) uint8: the raw SDAS or texture sample
- ``strength``, ``blend`` float32; ``source_index`` int64 (index into the
  category's normal training images); ``seed`` uint64; ``kind`` string
  (``sdas`` or ``texture``), one value per record
- ``checksum`` string: SHA-256 of the record's arrays and fields, written
  with the record so ``synth verify`` can detect later corruption
- ``complete`` (n_shards,) bool: the marker of each finished shard

Every array has chunks of one record and shards of ``records_per_shard``
records. Two processes writing into one Zarr shard lose records, so a writer
owns whole shards, and a shard counts only once its ``complete`` marker is set.
The root attributes carry the schema version, dataset, categories, generator
configuration, diffusion model hash and package version.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from shared import __version__

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
RECORD_ARRAYS = ("image", "mask", "source", "strength", "blend", "source_index", "seed", "kind")
KINDS = ("sdas", "texture")


class ShardStoreError(ValueError):
    """A shard store that is missing, incomplete or of another schema."""


class ShardWriteError(OSError):
    """A shard that could not be written, for example on a full disk."""


@dataclass
class RecordBatch:
    """A run of consecutive records, as numpy arrays with the record axis first."""

    image: np.ndarray
    mask: np.ndarray
    source: np.ndarray
    strength: np.ndarray
    blend: np.ndarray
    source_index: np.ndarray
    seed: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def validate(self, image_size: int) -> None:
        """Raise ValueError when shapes, types or the mask values break the schema."""
        count = len(self)
        expected = {
            "image": (count, image_size, image_size, 3),
            "mask": (count, image_size, image_size),
            "source": (count, image_size, image_size, 3),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if value.shape != shape or value.dtype != np.uint8:
                raise ValueError(f"record field {name} is {value.dtype}{value.shape}; expected uint8{shape}")
        for name in ("strength", "blend", "source_index", "seed", "kind"):
            if getattr(self, name).shape != (count,):
                raise ValueError(f"record field {name} has shape {getattr(self, name).shape}; expected ({count},)")
        if not np.isin(self.mask, (0, 255)).all():
            raise ValueError("mask values must be 0 or 255")
        unknown = set(self.kind.tolist()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown record kind {sorted(unknown)}; expected one of {KINDS}")


@dataclass(frozen=True)
class SyntheticRecord:
    """One stored synthetic anomaly."""

    category: str
    index: int
    image: np.ndarray
    mask: np.ndarray
    source: np.ndarray
    strength: float
    blend: float
    source_index: int
    seed: int
    kind: str


def record_checksum(
    image: np.ndarray, mask: np.ndarray, source: np.ndarray, strength: float, blend: float,
    source_index: int, seed: int, kind: str,
) -> str:
    """SHA-256 over a record's pixels and fields, in a fixed byte order."""
    digest = hashlib.sha256()
    for array in (image, mask, source):
        digest.update(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    digest.update(np.asarray([strength, blend], dtype="<f4").tobytes())
    digest.update(np.asarray([source_index], dtype="<i8").tobytes())
    digest.update(np.asarray([seed], dtype="<u8").tobytes())
    digest.update(str(kind).encode())
    return digest.hexdigest()


def shard_count(num_records: int, records_per_shard: int) -> int:
    return (num_records + records_per_shard - 1) // records_per_shard


def shard_range(shard_index: int, num_records: int, records_per_shard: int) -> range:
    """Return the record indices that shard ``shard_index`` holds."""
    start = shard_index * records_per_shard
    return range(start, min(start + records_per_shard, num_records))


def create_store(
    path: Path,
    *,
    dataset: str,
    categories: dict[str, int],
    normal_images: dict[str, list[str]],
    image_size: int,
    records_per_shard: int,
    attributes: dict[str, Any],
) -> zarr.Group:
    """Create an empty store with one group per category and the given root attributes.

    ``categories`` maps each category to its number of records.
    """
    if records_per_shard < 1:
        raise ValueError(f"records_per_shard must be >= 1, got {records_per_shard}")
    root = zarr.open_group(str(path), mode="w")
    root.attrs.update(
        {
            "schema_version": SCHEMA_VERSION,
            "dataset": dataset,
            "categories": list(categories),
            "image_size": image_size,
            "records_per_shard": records_per_shard,
            "package_version": __version__,
            "finalized": False,
            **attributes,
        }
    )
    size = image_size
    for category, count in categories.items():
        group = root.create_group(category)
        group.attrs.update({"num_records": count, "normal_images": normal_images[category]})
        spec = {
            "image": ((count, size, size, 3), "uint8"),
            "mask": ((count, size, size), "uint8"),
            "source": ((count, size, size, 3), "uint8"),
            "strength": ((count,), "float32"),
            "blend": ((count,), "float32"),
            "source_index": ((count,), "int64"),
            "seed": ((count,), "uint64"),
            "kind": ((count,), str),
            "checksum": ((count,), str),
        }
        for name, (shape, dtype) in spec.items():
            chunks = (1, *shape[1:])
            shards = (records_per_shard, *shape[1:])
            group.create_array(name, shape=shape, dtype=dtype, chunks=chunks, shards=shards,
                               fill_value="" if dtype is str else 0)
        group.create_array("complete", shape=(shard_count(count, records_per_shard),), dtype="bool",
                           chunks=(1,), fill_value=False)
    return root


def write_shard(path: Path, category: str, shard_index: int, batch: RecordBatch) -> None:
    """Write one whole shard, then set its completion marker.

    The marker is written last, so a shard interrupted mid-write stays
    incomplete and is redone by a later run.
    """
    root = zarr.open_group(str(path), mode="r+")
    group = root[category]
    per_shard = int(root.attrs["records_per_shard"])
    records = shard_range(shard_index, int(group.attrs["num_records"]), per_shard)
    if len(batch) != len(records):
        raise ValueError(f"shard {category}/{shard_index} holds {len(records)} records, got {len(batch)}")
    batch.validate(int(root.attrs["image_size"]))
    checksums = np.array([
        record_checksum(batch.image[i], batch.mask[i], batch.source[i], batch.strength[i], batch.blend[i],
                        batch.source_index[i], batch.seed[i], batch.kind[i])
        for i in range(len(batch))
    ])
    window = slice(records.start, records.stop)
    try:
        for name in RECORD_ARRAYS:
            group[name][window] = getattr(batch, name)
        group["checksum"][window] = checksums
        group["complete"][shard_index] = True
    except OSError as error:
        done = int(np.asarray(group["complete"][:]).sum())
        raise ShardWriteError(
            f"cannot write shard {shard_index} of {category} to {path}: {error}. The {done} complete shards of "
            f"{category} stay readable; free disk space or fix the permissions, then run the same command "
            "again to write the missing shards"
        ) from error


def mark_finalized(path: Path) -> None:
    """Record in the root attributes that every writer has finished."""
    zarr.open_group(str(path), mode="r+").attrs["finalized"] = True


class ShardStore:
    """Read access to a synthetic anomaly store."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / "zarr.json").is_file():
            raise ShardStoreError(
                f"no shard store at {self.path}; create one with `synth generate --output {self.path}`"
            )
        self.root = zarr.open_group(str(self.path), mode="r")
        version = self.root.attrs.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ShardStoreError(
                f"shard store {self.path} has schema version {version}; this package reads version {SCHEMA_VERSION}"
            )

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self.root.attrs)

    @property
    def categories(self) -> list[str]:
        return list(self.root.attrs["categories"])

    def category(self, name: str) -> CategoryShards:
        if name not in self.categories:
            raise ShardStoreError(
                f"shard store {self.path} has no category {name!r}; it contains: {', '.join(self.categories)}"
            )
        return CategoryShards(self.root[name], name, int(self.root.attrs["records_per_shard"]))


class CategoryShards:
    """The records of one category; only records of complete shards are listed."""

    def __init__(self, group: zarr.Group, name: str, records_per_shard: int) -> None:
        self.group = group
        self.name = name
        self.records_per_shard = records_per_shard
        self.num_records = int(group.attrs["num_records"])
        self.normal_images: list[str] = list(group.attrs["normal_images"])
        complete = np.asarray(group["complete"][:], dtype=bool)
        self.complete_shards = np.flatnonzero(complete).tolist()
        self.missing_shards = np.flatnonzero(~complete).tolist()
        self.indices = [
            index
            for shard in self.complete_shards
            for index in shard_range(shard, self.num_records, records_per_shard)
        ]
        self._arrays = {name: group[name] for name in (*RECORD_ARRAYS, "checksum")}

    def __len__(self) -> int:
        return len(self.indices)

    def column(self, name: str) -> np.ndarray:
        """Return a per-record field (strength, blend, ...) for the complete records."""
        values = np.asarray(self._arrays[name][:])
        return values[self.indices]

    def read(self, position: int) -> SyntheticRecord:
        """Read the ``position``-th complete record."""
        index = self.indices[position]
        arrays = self._arrays
        return SyntheticRecord(
            category=self.name,
            index=index,
            image=np.asarray(arrays["image"][index]),
            mask=np.asarray(arrays["mask"][index]) > 127,
            source=np.asarray(arrays["source"][index]),
            strength=float(arrays["strength"][index]),
            blend=float(arrays["blend"][index]),
            source_index=int(arrays["source_index"][index]),
            seed=int(arrays["seed"][index]),
            kind=str(arrays["kind"][index]),
        )
