"""The whole chain on the real metal_plate images with tiny settings: train, generate, fit, evaluate."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from detector.checkpoint import load_checkpoint
from detector.cli import main as detector_main
from detector.evaluate import predict_records
from shared.datasets import open_dataset
from shared.foreground import foreground_mask, rule_for
from shared.imageio import load_rgb, resize_rgb
from shared.shards import ShardStore
from synth.cli import main as synth_main

STORE_SIZE = 64


@pytest.fixture(scope="module")
def chain(tmp_path_factory, mpdd_root):
    work = tmp_path_factory.mktemp("chain")
    runner = CliRunner()
    common = ["--dataset", "mpdd", "--data-root", str(mpdd_root)]
    steps = [
        (synth_main, ["train", *common, "--preset", "tiny", "--output", str(work / "model")]),
        (synth_main, ["generate", *common, "--model", str(work / "model"), "--strength", "0.1:0.3",
                      "--num-samples", "12", "--steps", "5", "--image-size", str(STORE_SIZE),
                      "--records-per-shard", "4", "--output", str(work / "store.zarr")]),
        (detector_main, ["fit", *common, "--shards", str(work / "store.zarr"), "--image-size", "64",
                         "--epochs", "2", "--batch-size", "8", "--output", str(work / "detector")]),
        (detector_main, ["evaluate", "--checkpoint", str(work / "detector"), "--data-root", str(mpdd_root),
                         "--output", str(work / "metrics.json")]),
    ]
    outputs = []
    for command, arguments in steps:
        result = runner.invoke(command, arguments, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    return work, outputs


def test_strengths_within_range_and_varied(chain):
    work, _ = chain
    strengths = ShardStore(work / "store.zarr").category("metal_plate").column("strength")
    assert len(strengths) == 12
    assert strengths.min() >= 0.1
    assert strengths.max() <= 0.3
    assert len(np.unique(strengths)) == 12


def test_masks_binary_nonempty_inside_foreground(chain, mpdd_root):
    work, _ = chain
    category = ShardStore(work / "store.zarr").category("metal_plate")
    normal = open_dataset("mpdd", mpdd_root).normal_train("metal_plate")
    masks = category.column("mask")
    assert set(np.unique(masks).tolist()) <= {0, 255}
    for position in range(len(category)):
        record = category.read(position)
        assert record.mask.any()
        base = resize_rgb(load_rgb(normal[record.source_index].image_path), STORE_SIZE)
        foreground = foreground_mask(base, rule_for("mpdd", "metal_plate"))
        assert not (record.mask & ~foreground).any()


def test_composites_change_only_inside_mask(chain, mpdd_root):
    work, _ = chain
    category = ShardStore(work / "store.zarr").category("metal_plate")
    normal = open_dataset("mpdd", mpdd_root).normal_train("metal_plate")
    changed_inside = 0
    for position in range(len(category)):
        record = category.read(position)
        base = resize_rgb(load_rgb(normal[record.source_index].image_path), STORE_SIZE)
        assert np.array_equal(record.image[~record.mask], base[~record.mask])
        changed_inside += int((record.image[record.mask] != base[record.mask]).any())
    assert changed_inside == len(category)


def test_reloaded_checkpoint_reproduces_maps(chain, mpdd_root):
    work, _ = chain
    records = open_dataset("mpdd", mpdd_root).records("metal_plate", "test")[:6]
    first = predict_records(load_checkpoint(work / "detector" / "metal_plate"), records, batch_size=3)
    second = predict_records(load_checkpoint(work / "detector" / "metal_plate"), records, batch_size=3)
    assert np.array_equal(first.maps, second.maps)
    assert first.maps.shape == (6, 64, 64)


def test_parent_folder_points_to_checkpoints(chain):
    from detector.checkpoint import CheckpointError

    work, _ = chain
    with pytest.raises(CheckpointError, match=r"pass one of them: .*detector/metal_plate"):
        load_checkpoint(work / "detector")


def test_checkpoint_describes_itself(chain):
    work, _ = chain
    document = json.loads((work / "detector" / "metal_plate" / "config.json").read_text())
    assert document["config"]["backbone"] == "tf_efficientnet_lite0"
    assert [len(index) for index in document["afs_indices"]] == document["config"]["afs_channels"]
    assert document["training"]["epochs"] == 2
    model = load_checkpoint(work / "detector" / "metal_plate")
    assert [i.tolist() for i in model.afs_indices] == document["afs_indices"]


def test_evaluate_reports_three_metrics(chain):
    work, outputs = chain
    metrics = json.loads((work / "metrics.json").read_text())
    for key in ("image_auroc", "pixel_auroc", "aupro"):
        assert 0.0 <= metrics[key] <= 1.0, key
        assert metrics["categories"]["metal_plate"][key] == metrics[key]
    assert metrics["categories"]["metal_plate"]["num_test_images"] == 97
    assert "metal_plate" in outputs[3]
    assert "AU-PRO" in outputs[3]


def test_fit_resumes_after_interruption(chain, mpdd_root, tmp_path):
    from detector.fit import FitConfig, fit_detector
    from detector.model import DetectorConfig

    work, _ = chain
    reader = open_dataset("mpdd", mpdd_root)
    config = dict(dataset="mpdd", category="metal_plate", image_size=64)
    fit_detector(reader, "metal_plate", work / "store.zarr", DetectorConfig(**config),
                 FitConfig(epochs=1, batch_size=8), tmp_path / "a")
    state = torch.load(tmp_path / "a" / "training_state.pt", weights_only=False)
    assert state["epoch"] == 1
    result = fit_detector(reader, "metal_plate", work / "store.zarr", DetectorConfig(**config),
                          FitConfig(epochs=2, batch_size=8), tmp_path / "a")
    resumed = torch.load(tmp_path / "a" / "training_state.pt", weights_only=False)
    assert resumed["epoch"] == 2
    assert resumed["history"][0] == state["history"][0]
    assert len(resumed["history"]) == 2
    assert result.epochs == 2
    with pytest.raises(ValueError, match="fit.batch_size: stored 8, requested 4"):
        fit_detector(reader, "metal_plate", work / "store.zarr", DetectorConfig(**config),
                     FitConfig(epochs=1, batch_size=4), tmp_path / "a")
    fresh = fit_detector(reader, "metal_plate", work / "store.zarr", DetectorConfig(**config),
                         FitConfig(epochs=1, batch_size=4), tmp_path / "a", overwrite=True)
    assert fresh.epochs == 1
