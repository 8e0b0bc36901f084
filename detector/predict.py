"""Batch prediction on image files: scores, verdicts, heatmaps, masks, CSV and JSONL rows."""

from __future__ import annotations

import csv
import glob
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from detector.api import Detector
from detector.heatmap import heatmap_overlay, resize_map
from shared.datasets.pairing import IMAGE_SUFFIXES
from shared.imageio import ImageReadError, load_rgb

logger = logging.getLogger(__name__)

CSV_FIELDS = ("path", "score", "verdict", "heatmap", "mask", "error")


@dataclass
class PredictionRow:
    """One line of ``predictions.csv`` and ``predictions.jsonl``."""

    path: str
    score: float | None
    verdict: str | None
    heatmap: str | None
    mask: str | None
    error: str | None = None


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given, image files under directories (recursively, sorted) and glob matches."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif any(character in item for character in "*?["):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"no file matches {item!r}")
            paths += matches
        else:
            paths.append(path)
    return paths


@dataclass
class PredictSummary:
    rows: int
    anomalous: int
    threshold: float
    pixel_threshold: float
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, error) of each unreadable input

    @property
    def failed(self) -> int:
        return len(self.failures)


def predict_files(detector: Detector, paths: list[Path], output: Path, *, threshold: float,
                  pixel_threshold: float, batch_size: int = 8) -> PredictSummary:
    """Predict ``paths`` in batches, writing maps and rows as it goes so memory stays flat."""
    output = Path(output)
    (output / "heatmaps").mkdir(parents=True, exist_ok=True)
    (output / "masks").mkdir(parents=True, exist_ok=True)
    anomalous = 0
    failures: list[tuple[str, str]] = []
    with open(output / "predictions.csv", "w", newline="") as csv_file, \
            open(output / "predictions.jsonl", "w") as jsonl_file:
        writer = csv.DictWriter(csv_file, fieldnames=CSV_FIELDS)
        writer.writeheader()

        def emit(row: PredictionRow) -> None:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
            jsonl_file.write(json.dumps(asdict(row)) + "\n")

        for start in tqdm(range(0, len(paths), batch_size), desc="detector predict"):
            loaded: list[tuple[int, Path, np.ndarray]] = []
            rows: dict[int, PredictionRow] = {}
            for offset, path in enumerate(paths[start : start + batch_size]):
                try:
                    loaded.append((start + offset, path, load_rgb(path)))
                except ImageReadError as error:
                    logger.error("skipping %s: %s", path, error)
                    failures.append((str(path), str(error)))
                    rows[start + offset] = PredictionRow(str(path), None, None, None, None, str(error))
            if not loaded:
                for index in sorted(rows):
                    emit(rows[index])
                continue
            prediction = detector.predict([image for _, _, image in loaded])
            for (index, path, image), score, anomaly_map in zip(loaded, prediction.scores, prediction.maps):
                full = resize_map(anomaly_map, image.shape[0], image.shape[1])
                name = f"{index:06d}_{path.stem}"
                heatmap_path = output / "heatmaps" / f"{name}.png"
                mask_path = output / "masks" / f"{name}.png"
                Image.fromarray(heatmap_overlay(image, full)).save(heatmap_path)
                Image.fromarray(((full >= pixel_threshold) * 255).astype(np.uint8)).save(mask_path)
                verdict = "anomalous" if score >= threshold else "normal"
                anomalous += verdict == "anomalous"
                rows[index] = PredictionRow(str(path), float(score), verdict, str(heatmap_path), str(mask_path))
            # Rows keep the input order, whichever images failed.
            for index in sorted(rows):
                emit(rows[index])
            csv_file.flush()
            jsonl_file.flush()
    return PredictSummary(len(paths), anomalous, threshold, pixel_threshold, failures)
