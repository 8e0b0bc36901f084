"""Prediction, calibrated thresholds, the Python API, the HTML report, the preview and ONNX export."""

import builtins
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from detector.api import Detector
from detector.cli import main as detector_main
from detector.fit import FitConfig, fit_detector
from detector.model import DetectorConfig
from shared.datasets import open_dataset
from shared.strength import parse_strength
from synth.cli import main as synth_main
from synth.generate import GenerateConfig, generate


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_model, mpdd_root) -> Path:
    path = tmp_path_factory.mktemp("predict") / "s.zarr"
    config = GenerateConfig(strength=parse_strength("0.1:0.3"), num_samples=12, steps=5, image_size=64,
                            records_per_shard=4, batch_size=4)
    generate(open_dataset("mpdd", mpdd_root), ["metal_plate"], tiny_model, config, path)
    return path


@pytest.fixture(scope="module")
def checkpoint(store, mpdd_root, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("checkpoint") / "metal_plate"
    fit_detector(open_dataset("mpdd", mpdd_root), "metal_plate", store,
                 DetectorConfig(dataset="mpdd", category="metal_plate", image_size=64),
                 FitConfig(epochs=1, batch_size=8), output)
    return output


def test_fit_never_opens_test_images(store, mpdd_root, tmp_path, monkeypatch):
    real_open = builtins.open
    opened = []

    def guarded_open(file, *args, **kwargs):
        if "/test/" in str(file) or "ground_truth" in str(file):
            opened.append(str(file))
            raise AssertionError(f"fit opened test data: {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    fit_detector(open_dataset("mpdd", mpdd_root), "metal_plate", store,
                 DetectorConfig(dataset="mpdd", category="metal_plate", image_size=64),
                 FitConfig(epochs=1, batch_size=8), tmp_path / "trap")
    monkeypatch.undo()
    assert opened == []
    thresholds = json.loads((tmp_path / "trap" / "config.json").read_text())["thresholds"]
    assert 0.0 <= thresholds["image"] <= 1.0
    assert 0.0 <= thresholds["pixel"] <= 1.0
    assert thresholds["held_out_normal"] == 5
    assert thresholds["held_out_anomalous"] >= 1


def test_predict_real_images(checkpoint, metal_plate, tmp_path):
    inputs = sorted((metal_plate / "test" / "defective").glob("00[0-2].png"))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG truncated")
    small = tmp_path / "small.jpg"
    Image.open(inputs[0]).convert("L").resize((300, 200)).save(small)
    arguments = ["predict", "--checkpoint", str(checkpoint), str(inputs[0]), str(broken), str(small),
                 str(metal_plate / "test" / "defective" / "00[1-2].png"), "--output", str(tmp_path / "out"),
                 "--batch-size", "2"]
    result = CliRunner().invoke(detector_main, arguments)
    assert result.exit_code == 1
    assert "1 failed" in result.output
    assert f"failed: {broken}: cannot read image" in result.output

    with open(tmp_path / "out" / "predictions.csv") as handle:
        rows = list(csv.DictReader(handle))
    expected = [str(inputs[0]), str(broken), str(small), str(inputs[1]), str(inputs[2])]
    assert [row["path"] for row in rows] == expected
    lines = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert [line["path"] for line in lines] == expected
    assert "broken.png" in lines[1]["error"]
    for line in lines[:1] + lines[2:]:
        source_size = Image.open(line["path"]).size
        with Image.open(line["heatmap"]) as heatmap, Image.open(line["mask"]) as mask:
            assert heatmap.size == source_size
            assert mask.size == source_size
            assert set(np.unique(np.asarray(mask)).tolist()) <= {0, 255}
        assert line["verdict"] in ("normal", "anomalous")
        assert 0.0 <= line["score"] <= 1.0


def test_python_api(checkpoint, metal_plate):
    detector = Detector.load(checkpoint)
    image = np.asarray(Image.open(metal_plate / "test" / "good" / "000.png"))
    single = detector.predict(image)
    assert single.scores.shape == (1,)
    assert single.maps.shape == (1, 64, 64)
    batch = detector.predict([image, metal_plate / "test" / "defective" / "000.png"])
    assert batch.scores.shape == (2,)
    assert batch.scores[0] == pytest.approx(single.scores[0], abs=1e-5)
    assert detector.image_threshold is not None
    assert batch.verdicts(detector.image_threshold).dtype == bool


def test_report_is_self_contained(checkpoint, mpdd_root, tmp_path):
    result = CliRunner().invoke(detector_main, ["evaluate", "--checkpoint", str(checkpoint), "--data-root",
                                                str(mpdd_root), "--report", str(tmp_path / "report"),
                                                "--output", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report" / "index.html").read_text()
    references = re.findall(r"src='([^']+)'", page)
    assert len(references) == 3 + 16
    for reference in references:
        path = tmp_path / "report" / reference
        assert path.is_file(), reference
        with Image.open(path) as image:
            image.load()
    assert "http" not in page
    metrics = json.loads((tmp_path / "m.json").read_text())
    for key in ("image_ap", "pixel_ap", "image_f1_max", "pixel_f1_max"):
        assert 0.0 <= metrics[key] <= 1.0


def test_preview_grid(store, tmp_path):
    result = CliRunner().invoke(synth_main, ["preview", str(store), "--output", str(tmp_path / "p.png"),
                                             "--buckets", "3", "--per-bucket", "2"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "p.png") as grid:
        assert grid.size == (110 + 2 * 128, 3 * 3 * 128)


def test_onnx_matches_torch(checkpoint, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    output = tmp_path / "model.onnx"
    result = CliRunner().invoke(detector_main, ["export", "--checkpoint", str(checkpoint), "--format", "onnx",
                                                "--output", str(output)])
    assert result.exit_code == 0, result.output
    session = onnxruntime.InferenceSession(str(output))
    images = np.random.default_rng(0).random((3, 3, 64, 64), dtype=np.float32)
    maps, scores = session.run(None, {"images": images})
    reference = Detector.load(checkpoint).model(__import__("torch").from_numpy(images))
    assert np.abs(maps - reference.anomaly_map.detach().numpy()).max() < 1e-4
    assert np.abs(scores - reference.score.detach().numpy()).max() < 1e-4
