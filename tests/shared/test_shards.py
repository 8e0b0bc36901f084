import numpy as np
import pytest

from shared import shards


def _batch(count: int, size: int, offset: int = 0) -> shards.RecordBatch:
    rng = np.random.default_rng(offset)
    mask = np.zeros((count, size, size), dtype=np.uint8)
    mask[:, 2:5, 2:5] = 255
    return shards.RecordBatch(
        image=rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8),
        mask=mask,
        source=rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8),
        strength=np.linspace(0.1, 0.2, count, dtype=np.float32),
        blend=np.full(count, 0.5, dtype=np.float32),
        source_index=np.arange(count, dtype=np.int64) + offset,
        seed=np.arange(count, dtype=np.uint64) + offset,
        kind=np.array(["sdas"] * count),
    )


def _store(path, count=10):
    return shards.create_store(
        path, dataset="mpdd", categories={"plate": count}, normal_images={"plate": ["a.png"]},
        image_size=8, records_per_shard=4, attributes={"model_hash": "abc"},
    )


def test_round_trip(tmp_path):
    path = tmp_path / "store.zarr"
    _store(path)
    written = _batch(4, 8)
    shards.write_shard(path, "plate", 0, written)
    category = shards.ShardStore(path).category("plate")
    assert len(category) == 4
    record = category.read(2)
    assert np.array_equal(record.image, written.image[2])
    assert np.array_equal(record.mask, written.mask[2] > 0)
    assert record.strength == pytest.approx(float(written.strength[2]))
    assert record.kind == "sdas"
    assert record.seed == 2


def test_incomplete_shards_are_not_listed(tmp_path):
    path = tmp_path / "store.zarr"
    _store(path)
    shards.write_shard(path, "plate", 2, _batch(2, 8, offset=8))
    category = shards.ShardStore(path).category("plate")
    assert category.indices == [8, 9]
    assert category.missing_shards == [0, 1]


def test_shard_size_mismatch_rejected(tmp_path):
    path = tmp_path / "store.zarr"
    _store(path)
    with pytest.raises(ValueError, match="holds 4 records, got 3"):
        shards.write_shard(path, "plate", 0, _batch(3, 8))


def test_non_binary_mask_rejected(tmp_path):
    path = tmp_path / "store.zarr"
    _store(path)
    batch = _batch(4, 8)
    batch.mask[0, 0, 0] = 7
    with pytest.raises(ValueError, match="0 or 255"):
        shards.write_shard(path, "plate", 0, batch)
    assert shards.ShardStore(path).category("plate").complete_shards == []


def test_missing_store_message(tmp_path):
    with pytest.raises(shards.ShardStoreError, match="synth generate"):
        shards.ShardStore(tmp_path / "nothing.zarr")
