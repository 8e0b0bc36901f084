"""Export to Parquet with a dataset card, publishing, and reading the export back."""

from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from shared.datasets import open_dataset
from shared.shards import ShardStore
from shared.strength import parse_strength
from shared.synthetic import open_synthetic
from synth import push as push_module
from synth.cli import main as synth_main
from synth.generate import GenerateConfig, generate


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_model, mpdd_root) -> Path:
    path = tmp_path_factory.mktemp("export") / "s.zarr"
    config = GenerateConfig(strength=parse_strength("0.1:0.3"), num_samples=6, steps=5, image_size=64,
                            records_per_shard=4, batch_size=3)
    generate(open_dataset("mpdd", mpdd_root), ["metal_plate"], tiny_model, config, path)
    return path


@pytest.fixture(scope="module")
def exported(store, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("exported") / "dataset"
    result = CliRunner().invoke(synth_main, ["export", str(store), "--output", str(output), "--repo-id", "acme/plates"])
    assert result.exit_code == 0, result.output
    return output


def test_parquet_round_trip_is_exact(store, exported):
    files = sorted(str(p) for p in (exported / "data" / "metal_plate").glob("*.parquet"))
    assert [Path(f).name for f in files] == ["train-00000-of-00001.parquet"]
    loaded = datasets.load_dataset("parquet", data_files={"train": files}, split="train")
    assert isinstance(loaded.features["image"], datasets.Image)
    category = ShardStore(store).category("metal_plate")
    assert len(loaded) == len(category)
    for position in range(len(category)):
        record = category.read(position)
        row = loaded[position]
        assert np.array_equal(np.asarray(row["image"]), record.image)
        assert np.array_equal(np.asarray(row["mask"]) > 127, record.mask)
        assert np.array_equal(np.asarray(row["source"]), record.source)
        assert row["strength"] == pytest.approx(record.strength, abs=0)
        assert row["seed"] == record.seed
        assert row["source_index"] == record.source_index
        assert row["kind"] == record.kind


def test_card_header_lists_configs(exported):
    text = (exported / "README.md").read_text()
    header = yaml.safe_load(text.split("---")[1])
    assert header["license"] == "cc-by-nc-sa-4.0"
    assert header["task_categories"] == ["image-segmentation"]
    assert [c["config_name"] for c in header["configs"]] == ["metal_plate"]
    assert header["configs"][0]["data_files"][0]["path"] == "data/metal_plate/*.parquet"
    assert header["size_categories"] == ["n<1K"]
    assert 'load_dataset("acme/plates", "metal_plate"' in text
    assert "0.1:0.3" in text


def test_export_reads_like_the_store(store, exported):
    from_store = open_synthetic(store).category("metal_plate")
    from_export = open_synthetic(exported).category("metal_plate")
    assert from_export.normal_images == from_store.normal_images
    for name in ("image", "mask", "source", "strength", "seed", "source_index"):
        assert np.array_equal(from_export.column(name), from_store.column(name)), name


class RecordingApi:
    """Stands in for the Hub's HTTP API: records repository and commit calls."""

    commits: list = []
    repos: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, repo_type=None, private=False, exist_ok=False):
        RecordingApi.repos.append((repo_id, repo_type, private))

    def create_commit(self, repo_id, repo_type=None, operations=(), commit_message=""):
        RecordingApi.commits.append((repo_id, repo_type, [op.path_in_repo for op in operations]))

        class Commit:
            commit_url = f"https://huggingface.co/datasets/{repo_id}/commit/0"

        return Commit()


def test_push_makes_one_commit(store, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(push_module, "HfApi", RecordingApi)
    RecordingApi.commits.clear()
    result = CliRunner().invoke(synth_main, ["push", str(store), "--repo-id", "acme/plates", "--private"])
    assert result.exit_code == 0, result.output
    assert RecordingApi.repos == [("acme/plates", "dataset", True)]
    assert len(RecordingApi.commits) == 1
    repo_id, repo_type, files = RecordingApi.commits[0]
    assert repo_type == "dataset"
    assert sorted(files) == ["README.md", "data/metal_plate/train-00000-of-00001.parquet", "synth_store.json"]


def test_push_offline_fails_fast(store, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(push_module, "HfApi", RecordingApi)
    RecordingApi.commits.clear()
    result = CliRunner().invoke(synth_main, ["push", str(store), "--repo-id", "acme/plates"])
    assert result.exit_code == 1
    assert "offline mode" in result.output
    assert RecordingApi.commits == []


def test_fit_same_from_store_and_export(store, exported, mpdd_root, tmp_path):
    from detector.evaluate import predict_records
    from detector.fit import FitConfig, fit_detector
    from detector.model import DetectorConfig

    reader = open_dataset("mpdd", mpdd_root)
    records = reader.records("metal_plate", "test")[:4]
    maps = []
    for source, folder in ((store, "a"), (exported, "b")):
        config = DetectorConfig(dataset="mpdd", category="metal_plate", image_size=64)
        result = fit_detector(reader, "metal_plate", source, config, FitConfig(epochs=1, batch_size=8),
                              tmp_path / folder)
        maps.append(predict_records(result.model, records).maps)
    assert np.allclose(maps[0], maps[1], atol=1e-6)


def test_fit_strength_subrange(store, mpdd_root, tmp_path):
    result = CliRunner().invoke(
        __import__("detector.cli", fromlist=["main"]).main,
        ["fit", "--dataset", "mpdd", "--data-root", str(mpdd_root), "--shards", str(store), "--strength", "0.5:0.6",
         "--image-size", "64", "--epochs", "1", "--output", str(tmp_path / "d")],
    )
    assert result.exit_code == 1
    assert "strength in 0.5:0.6" in result.output
