"""Verification of a shard store: completeness, shapes, value ranges and checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.shards import KINDS, ShardStore, ShardStoreError, record_checksum


def verify_store(path: Path) -> list[str]:
    """Return every fault found in the store at ``path``; an empty list means the store is sound."""
    try:
        store = ShardStore(path)
    except ShardStoreError as error:
        return [str(error)]
    attrs = store.attrs
    faults: list[str] = []
    if not attrs.get("finalized", False):
        faults.append("store is not finalized: a generation run did not finish; run the same `synth generate` again")
    size = int(attrs["image_size"])
    per_shard = int(attrs["records_per_shard"])
    low, high = attrs.get("generator", {}).get("strength", [0.0, float("inf")])
    for name in store.categories:
        category = store.category(name)
        count = category.num_records
        for shard in category.missing_shards:
            faults.append(f"{name}/shard {shard}: incomplete (no completion marker)")
        expected = {"image": (count, size, size, 3), "mask": (count, size, size), "source": (count, size, size, 3)}
        for array, shape in expected.items():
            actual = category.group[array].shape
            if tuple(actual) != shape:
                faults.append(f"{name}/{array}: shape {tuple(actual)}, expected {shape}")
        if faults and any(f.startswith(f"{name}/") and "shape" in f for f in faults):
            continue
        num_normal = len(category.normal_images)
        for position in range(len(category)):
            index = category.indices[position]
            where = f"{name}/shard {index // per_shard}/record {index}"
            try:
                record = category.read(position)
                raw_mask = np.asarray(category.group["mask"][record.index])
                stored = str(category.group["checksum"][record.index])
            except Exception as error:  # zarr raises codec, checksum and file errors of many types
                faults.append(f"{where}: unreadable ({type(error).__name__}: {error}); the shard file is damaged "
                              "or missing, so generate it again")
                continue
            if not np.isin(raw_mask, (0, 255)).all():
                faults.append(f"{where}: mask values other than 0 and 255")
            if not raw_mask.any():
                faults.append(f"{where}: empty mask")
            if record.kind == "sdas" and not low - 1e-6 <= record.strength <= high + 1e-6:
                faults.append(f"{where}: strength {record.strength:.4f} outside the recorded range {low}:{high}")
            if not 0.0 <= record.blend <= 1.0:
                faults.append(f"{where}: blend factor {record.blend} outside [0, 1]")
            if not 0 <= record.source_index < num_normal:
                faults.append(f"{where}: source index {record.source_index} outside the {num_normal} normal images")
            if record.kind not in KINDS:
                faults.append(f"{where}: unknown kind {record.kind!r}")
            actual = record_checksum(record.image, raw_mask, record.source, record.strength, record.blend,
                                     record.source_index, record.seed, record.kind)
            if stored != actual:
                faults.append(f"{where}: checksum mismatch (stored {stored[:12]}, computed {actual[:12]})")
    return faults
