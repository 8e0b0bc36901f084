import numpy as np
import pytest
from click.testing import CliRunner

from shared.datasets import open_dataset
from shared.shards import ShardStore
from shared.strength import parse_strength
from synth.cli import main as synth_main
from synth.generate import GenerateConfig, StoreConflictError, generate


def _config(**overrides) -> GenerateConfig:
    settings = dict(strength=parse_strength("0.1:0.3"), num_samples=6, steps=5, seed=3, image_size=64,
                    records_per_shard=4, batch_size=3)
    settings.update(overrides)
    return GenerateConfig(**settings)


def test_same_seed_gives_identical_records(tmp_path, tiny_model, mpdd_root):
    reader = open_dataset("mpdd", mpdd_root)
    for name in ("a.zarr", "b.zarr"):
        generate(reader, ["metal_plate"], tiny_model, _config(), tmp_path / name)
    first = ShardStore(tmp_path / "a.zarr").category("metal_plate")
    second = ShardStore(tmp_path / "b.zarr").category("metal_plate")
    for field in ("image", "mask", "source", "strength", "blend", "source_index", "seed"):
        assert np.array_equal(first.column(field), second.column(field)), field


def test_other_seed_gives_other_records(tmp_path, tiny_model, mpdd_root):
    reader = open_dataset("mpdd", mpdd_root)
    generate(reader, ["metal_plate"], tiny_model, _config(), tmp_path / "a.zarr")
    generate(reader, ["metal_plate"], tiny_model, _config(seed=4), tmp_path / "b.zarr")
    first = ShardStore(tmp_path / "a.zarr").category("metal_plate")
    second = ShardStore(tmp_path / "b.zarr").category("metal_plate")
    assert not np.array_equal(first.column("source"), second.column("source"))


def test_conflicting_settings_are_shown(tmp_path, tiny_model, mpdd_root):
    reader = open_dataset("mpdd", mpdd_root)
    generate(reader, ["metal_plate"], tiny_model, _config(), tmp_path / "a.zarr")
    with pytest.raises(StoreConflictError, match="stored .*0.1, 0.3.*requested .*0.2, 0.2"):
        generate(reader, ["metal_plate"], tiny_model, _config(strength=parse_strength("0.2")), tmp_path / "a.zarr")
    generate(reader, ["metal_plate"], tiny_model, _config(strength=parse_strength("0.2")), tmp_path / "a.zarr",
             overwrite=True)
    assert np.allclose(ShardStore(tmp_path / "a.zarr").category("metal_plate").column("strength"), 0.2)


@pytest.mark.parametrize("strength, message", [("-0.2", "negative"), ("0.3:0.1", "lower bound"), ("x", "not a number")])
def test_bad_strength_rejected_before_work(tmp_path, strength, message):
    result = CliRunner().invoke(synth_main, ["generate", "--strength", strength, "--model", str(tmp_path / "none"),
                                             "--output", str(tmp_path / "s.zarr")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "s.zarr").exists()


def test_missing_model_says_train_first(tmp_path):
    result = CliRunner().invoke(synth_main, ["generate", "--model", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "run `synth train` first" in result.output


def test_missing_dataset_shows_layout(tmp_path, monkeypatch):
    monkeypatch.delenv("REALNET_DATA_ROOT", raising=False)
    result = CliRunner().invoke(synth_main, ["train", "--dataset", "mpdd", "--data-root", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "train/good" in result.output
    assert "--data-root" in result.output
    assert "REALNET_DATA_ROOT" in result.output
