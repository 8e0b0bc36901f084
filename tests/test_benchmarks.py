"""The benchmark scripts run end to end on small real data."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _two_category_mvtec(metal_plate: Path, target: Path) -> Path:
    """Write two small categories in the MVTec-AD layout from the real metal_plate images."""
    for category, offset in (("plate_a", 0), ("plate_b", 10)):
        base = target / category
        for index, path in enumerate(sorted((metal_plate / "train" / "good").glob("*.png"))[offset : offset + 10]):
            (base / "train" / "good").mkdir(parents=True, exist_ok=True)
            Image.open(path).resize((128, 128)).save(base / "train" / "good" / f"{index:03d}.png")
        for index, path in enumerate(sorted((metal_plate / "test" / "good").glob("*.png"))[offset : offset + 3]):
            (base / "test" / "good").mkdir(parents=True, exist_ok=True)
            Image.open(path).resize((128, 128)).save(base / "test" / "good" / f"{index:03d}.png")
        defects = sorted((metal_plate / "test" / "defective").glob("*.png"))[offset : offset + 3]
        for index, path in enumerate(defects):
            (base / "test" / "rust").mkdir(parents=True, exist_ok=True)
            (base / "ground_truth" / "rust").mkdir(parents=True, exist_ok=True)
            Image.open(path).resize((128, 128)).save(base / "test" / "rust" / f"{index:03d}.png")
            mask = metal_plate / "ground_truth" / "defective" / f"{path.stem}_mask.png"
            array = np.asarray(Image.open(mask).resize((128, 128), Image.NEAREST))
            Image.fromarray(((array > 0) * 255).astype(np.uint8)).save(base / "ground_truth" / "rust" / f"{index:03d}_mask.png")
    return target


def test_paper_script_tiny(tmp_path, metal_plate):
    root = _two_category_mvtec(metal_plate, tmp_path / "mvtec")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "paper.py"), "--dataset", "mvtec", "--data-root", str(root),
         "--output", str(tmp_path / "runs"), "--tiny"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("plate_a") for line in lines)
    assert any(line.startswith("plate_b") for line in lines)
    assert any(line.startswith("RealNet (paper)") and "99.6" in line for line in lines)
    mean = next(line for line in lines if line.startswith("mean")).split()
    assert 0.0 <= float(mean[1]) <= 100.0


def test_speed_script_prints_ratios_for_each_width(tmp_path):
    from detector.checkpoint import save_checkpoint
    from detector.model import DetectorConfig, RealNet

    model = RealNet(DetectorConfig(dataset="mpdd", category="metal_plate", image_size=64, map_sigma=2.0))
    save_checkpoint(model.eval(), tmp_path / "checkpoint", training={"epochs": 0})
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--checkpoint", str(tmp_path / "checkpoint"),
         "--repeats", "1", "--widths", "8/4"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if "ratio" in line]
    assert len(lines) == 4
    assert sum("checkpoint 64/64" in line for line in lines) == 2
    assert sum("untrained 8/4" in line for line in lines) == 2
    ratios = [float(line.rsplit("ratio", 1)[1]) for line in lines]
    # Times are not asserted: the machine is shared. The ratios must be real, positive numbers.
    assert all(0 < ratio < float("inf") for ratio in ratios)
