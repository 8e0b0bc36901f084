"""Texture anomaly sources from the real DTD images."""

import numpy as np
import pytest
from click.testing import CliRunner

from shared.datasets import open_dataset
from shared.imageio import load_rgb, resize_rgb
from shared.shards import ShardStore
from shared.strength import parse_strength
from synth.cli import main as synth_main
from synth.generate import GenerateConfig, generate
from synth.textures import AUGMENTATIONS, TextureSourceError, list_textures, texture_source


def test_lists_real_textures(test_data):
    textures = list_textures(test_data / "dtd")
    assert len(textures) == 50
    assert all(p.suffix == ".jpg" for p in textures)


def test_three_augmentations_change_texture(test_data):
    path = list_textures(test_data / "dtd")[0]
    plain = resize_rgb(load_rgb(path), 64)
    augmented = texture_source(path, 64, np.random.default_rng(0))
    assert augmented.shape == (64, 64, 3)
    assert not np.array_equal(augmented, plain)
    assert np.array_equal(augmented, texture_source(path, 64, np.random.default_rng(0)))
    assert len(AUGMENTATIONS) == 9


def test_missing_or_empty_texture_folder(tmp_path):
    with pytest.raises(TextureSourceError, match="does not exist"):
        list_textures(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(TextureSourceError, match="contains no images"):
        list_textures(tmp_path / "empty")


def test_texture_records_use_dtd(tmp_path, test_data, mpdd_root):
    config = GenerateConfig(strength=parse_strength("0.1:0.3"), num_samples=6, image_size=64, records_per_shard=3,
                            source="texture", textures=str(test_data / "dtd"))
    generate(open_dataset("mpdd", mpdd_root), ["metal_plate"], tmp_path / "no-model", config, tmp_path / "t.zarr")
    category = ShardStore(tmp_path / "t.zarr").category("metal_plate")
    assert set(category.column("kind")) == {"texture"}
    blends = category.column("blend")
    assert blends.min() >= 0.2
    normal = open_dataset("mpdd", mpdd_root).normal_train("metal_plate")
    for position in range(len(category)):
        record = category.read(position)
        base = resize_rgb(load_rgb(normal[record.source_index].image_path), 64)
        assert np.array_equal(record.image[~record.mask], base[~record.mask])
        assert (record.image[record.mask] != base[record.mask]).any()


def test_both_sources_mix(tmp_path, test_data, tiny_model, mpdd_root):
    result = CliRunner().invoke(synth_main, [
        "generate", "--dataset", "mpdd", "--data-root", str(mpdd_root), "--model", str(tiny_model),
        "--source", "both", "--textures", str(test_data / "dtd"), "--num-samples", "12", "--steps", "3",
        "--image-size", "64", "--output", str(tmp_path / "b.zarr"),
    ])
    assert result.exit_code == 0, result.output
    kinds = ShardStore(tmp_path / "b.zarr").category("metal_plate").column("kind")
    assert set(kinds) == {"sdas", "texture"}
    verified = CliRunner().invoke(synth_main, ["verify", str(tmp_path / "b.zarr")])
    assert verified.exit_code == 0, verified.output


def test_texture_source_needs_folder(tmp_path):
    result = CliRunner().invoke(synth_main, ["generate", "--source", "texture", "--output", str(tmp_path / "x.zarr")])
    assert result.exit_code == 1
    assert "--textures DIR" in result.output
