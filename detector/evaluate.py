"""Evaluating detectors on the real test split: image AUROC, pixel AUROC and AU-PRO."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from detector.checkpoint import load_checkpoint
from detector.data import default_device, model_device, to_tensor
from detector.calibration import f1_max
from detector.metrics import aupro, auroc, average_precision
from detector.model import RealNet
from shared.datasets import DatasetReader, ImageRecord
from shared.imageio import load_mask, load_rgb, resize_mask, resize_rgb

logger = logging.getLogger(__name__)

METRIC_KEYS = ("image_auroc", "pixel_auroc", "aupro")
EXTRA_KEYS = ("image_ap", "pixel_ap", "image_f1_max", "pixel_f1_max")


@dataclass
class Predictions:
    scores: np.ndarray
    maps: np.ndarray


@torch.no_grad()
def predict_records(model: RealNet, records: list[ImageRecord], batch_size: int = 16) -> Predictions:
    """Anomaly maps at the model's image size and image scores for ``records``."""
    size = model.config.image_size
    scores, maps = [], []
    for start in tqdm(range(0, len(records), batch_size), desc="predicting", leave=False):
        batch = records[start : start + batch_size]
        images = np.stack([resize_rgb(load_rgb(r.image_path), size) for r in batch])
        output = model(to_tensor(images, model_device(model)))
        scores.append(output.score.cpu().numpy())
        maps.append(output.anomaly_map.cpu().numpy().astype(np.float32))
    return Predictions(np.concatenate(scores), np.concatenate(maps))


def ground_truth_masks(records: list[ImageRecord], size: int) -> np.ndarray:
    """Masks at ``size``; normal images get empty masks. Raises when a mask's size differs from its image."""
    masks = []
    for record in records:
        if record.mask_path is None:
            masks.append(np.zeros((size, size), dtype=bool))
            continue
        mask = load_mask(record.mask_path)
        image_size = load_rgb(record.image_path).shape[:2]
        if mask.shape != image_size:
            raise ValueError(
                f"mask {record.mask_path.name} is {mask.shape[1]}x{mask.shape[0]} but image "
                f"{record.image_path.name} is {image_size[1]}x{image_size[0]}"
            )
        masks.append(resize_mask(mask, size))
    return np.stack(masks)


@dataclass
class CategoryEvaluation:
    """Metrics of one category with the predictions behind them, for reports."""

    metrics: dict
    records: list[ImageRecord]
    labels: np.ndarray
    predictions: Predictions
    masks: np.ndarray | None


def _metric_set(scores: np.ndarray, labels: np.ndarray, maps: np.ndarray | None, masks: np.ndarray | None) -> dict:
    result: dict[str, float | None] = {
        "image_auroc": auroc(scores, labels),
        "image_ap": average_precision(scores, labels),
        "image_f1_max": f1_max(scores, labels)[1],
        "pixel_auroc": None, "pixel_ap": None, "pixel_f1_max": None, "aupro": None,
    }
    if masks is not None and masks.any():
        result["pixel_auroc"] = auroc(maps.ravel(), masks.ravel())
        result["pixel_ap"] = average_precision(maps.ravel(), masks.ravel())
        result["pixel_f1_max"] = f1_max(maps.ravel(), masks.ravel())[1]
        result["aupro"] = aupro(maps, masks)
    return result


def evaluate_model(model: RealNet, reader: DatasetReader, category: str, batch_size: int = 16) -> CategoryEvaluation:
    """Compute the metrics of one category; pixel metrics are None for datasets without masks.

    Besides the overall metrics, ``metrics["defect_types"]`` contains the same
    metrics for each defect type against all normal test images.
    """
    records = reader.records(category, "test")
    labels = np.array([r.label for r in records])
    predictions = predict_records(model, records, batch_size)
    masks = ground_truth_masks(records, model.config.image_size) if reader.has_masks else None
    metrics: dict = _metric_set(predictions.scores, labels, predictions.maps, masks)
    metrics.update({"num_test_images": int(len(records)), "num_anomalous": int(labels.sum())})
    breakdown = {}
    defect_types = sorted({r.defect_type for r in records if r.label == 1})
    if len(defect_types) > 1:
        for defect in defect_types:
            keep = np.array([r.label == 0 or r.defect_type == defect for r in records])
            breakdown[defect] = _metric_set(
                predictions.scores[keep], labels[keep], predictions.maps[keep],
                masks[keep] if masks is not None else None,
            )
    metrics["defect_types"] = breakdown
    return CategoryEvaluation(metrics, records, labels, predictions, masks)


def evaluate_checkpoints(
    checkpoints: list[Path], reader_for, category_override: str | None = None, batch_size: int = 16,
    evaluations: dict[str, CategoryEvaluation] | None = None,
) -> dict:
    """Evaluate each checkpoint on its category; return per-category metrics and their means.

    ``reader_for(dataset_name)`` opens the dataset named in a checkpoint. When
    ``evaluations`` is a dict, each category's predictions are stored in it.
    """
    per_category: dict[str, dict] = {}
    for folder in checkpoints:
        model = load_checkpoint(folder).to(default_device())
        category = category_override or model.config.category
        reader = reader_for(model.config.dataset)
        logger.info("evaluating %s on %s/%s", folder, reader.name, category)
        evaluation = evaluate_model(model, reader, category, batch_size)
        per_category[category] = {**evaluation.metrics, "checkpoint": str(folder)}
        if evaluations is not None:
            evaluations[category] = evaluation
    report: dict = {"categories": per_category}
    for key in (*METRIC_KEYS, *EXTRA_KEYS):
        values = [m[key] for m in per_category.values() if m[key] is not None]
        report[key] = float(np.mean(values)) if values else None
    return report


def format_table(report: dict) -> str:
    """Format the metrics per category and their mean as a plain-text table."""
    header = f"{'category':<20} {'image AUROC':>12} {'pixel AUROC':>12} {'AU-PRO@0.3':>12}"
    lines = [header, "-" * len(header)]

    def cell(value) -> str:
        return f"{value:>12.4f}" if value is not None else f"{'-':>12}"

    for category, metrics in report["categories"].items():
        lines.append(f"{category:<20} " + " ".join(cell(metrics[k]) for k in METRIC_KEYS))
    lines.append(f"{'mean':<20} " + " ".join(cell(report[k]) for k in METRIC_KEYS))
    return "\n".join(lines)
