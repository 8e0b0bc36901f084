"""A self-contained HTML evaluation report with metric tables, curves and example images."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from detector.evaluate import METRIC_KEYS, EXTRA_KEYS, CategoryEvaluation  # noqa: E402
from detector.heatmap import heatmap_overlay  # noqa: E402
from detector.metrics import PRO_INTEGRATION_LIMIT, pro_curve, roc_curve  # noqa: E402
from shared.imageio import load_rgb, resize_rgb  # noqa: E402

logger = logging.getLogger(__name__)

EXAMPLES = 8
LABELS = {
    "image_auroc": "image AUROC", "pixel_auroc": "pixel AUROC", "aupro": "AU-PRO@0.3",
    "image_ap": "image AP", "pixel_ap": "pixel AP", "image_f1_max": "image F1-max", "pixel_f1_max": "pixel F1-max",
}


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def _thin(x: np.ndarray, y: np.ndarray, points: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    if len(x) <= points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, points).astype(int))
    return x[keep], y[keep]


def _save_figure(figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path.name


def _curves(name: str, evaluation: CategoryEvaluation, folder: Path) -> list[str]:
    files = []
    scores, labels = evaluation.predictions.scores, evaluation.labels
    figure, axis = plt.subplots(figsize=(4.5, 4))
    fpr, tpr = roc_curve(scores, labels)
    axis.plot(fpr, tpr, label="image")
    if evaluation.masks is not None and evaluation.masks.any():
        fpr, tpr = _thin(*roc_curve(evaluation.predictions.maps.ravel(), evaluation.masks.ravel()))
        axis.plot(fpr, tpr, label="pixel")
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axis.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"{name}: ROC")
    axis.legend()
    files.append(_save_figure(figure, folder / f"{name}_roc.png"))

    if evaluation.masks is not None and evaluation.masks.any():
        fpr, pro = pro_curve(evaluation.predictions.maps, evaluation.masks)
        inside = fpr <= PRO_INTEGRATION_LIMIT
        figure, axis = plt.subplots(figsize=(4.5, 4))
        axis.plot(*_thin(fpr[inside], pro[inside]))
        axis.set(xlim=(0, PRO_INTEGRATION_LIMIT), ylim=(0, 1), xlabel="false-positive rate",
                 ylabel="per-region overlap", title=f"{name}: PRO up to FPR 0.3")
        files.append(_save_figure(figure, folder / f"{name}_pro.png"))

    figure, axis = plt.subplots(figsize=(4.5, 4))
    bins = np.linspace(min(scores.min(), 0.0), max(scores.max(), 1e-6), 30)
    axis.hist(scores[labels == 0], bins=bins, alpha=0.6, label="normal")
    axis.hist(scores[labels == 1], bins=bins, alpha=0.6, label="anomalous")
    axis.set(xlabel="image score", ylabel="images", title=f"{name}: image scores")
    axis.legend()
    files.append(_save_figure(figure, folder / f"{name}_scores.png"))
    return files


def _example(evaluation: CategoryEvaluation, index: int, path: Path) -> str:
    """Save image, ground truth and heatmap side by side for test image ``index``."""
    size = evaluation.predictions.maps.shape[-1]
    record = evaluation.records[index]
    image = resize_rgb(load_rgb(record.image_path), size)
    if evaluation.masks is not None:
        truth = np.repeat((evaluation.masks[index] * 255).astype(np.uint8)[..., None], 3, axis=2)
    else:
        truth = np.zeros_like(image)
    heat = heatmap_overlay(image, evaluation.predictions.maps[index])
    Image.fromarray(np.concatenate([image, truth, heat], axis=1)).save(path)
    return path.name


def write_report(report: dict, evaluations: dict[str, CategoryEvaluation], folder: Path) -> Path:
    """Write ``folder/index.html`` and its PNG files; every file it references lies in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keys = (*METRIC_KEYS, *EXTRA_KEYS)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Evaluation report</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}</style>",
             "</head><body><h1>Evaluation report</h1>",
             "<p>Metrics on the real test split. No threshold or checkpoint was chosen on these images.</p>",
             "<h2>Metrics</h2><table><tr><th>category</th>"
             + "".join(f"<th>{LABELS[k]}</th>" for k in keys) + "</tr>"]
    for name, metrics in report["categories"].items():
        parts.append(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{_cell(metrics[k])}</td>" for k in keys) + "</tr>")
    parts.append("<tr><th>mean</th>" + "".join(f"<th>{_cell(report.get(k))}</th>" for k in keys) + "</tr></table>")

    for name, evaluation in evaluations.items():
        safe = html.escape(name)
        parts.append(f"<h2>{safe}</h2>")
        breakdown = evaluation.metrics.get("defect_types") or {}
        if breakdown:
            parts.append("<h3>Per defect type</h3><table><tr><th>defect type</th>"
                         + "".join(f"<th>{LABELS[k]}</th>" for k in keys) + "</tr>")
            for defect, metrics in breakdown.items():
                parts.append(f"<tr><td>{html.escape(defect)}</td>"
                             + "".join(f"<td>{_cell(metrics[k])}</td>" for k in keys) + "</tr>")
            parts.append("</table>")
        parts.append("<h3>Curves</h3>")
        parts += [f"<img src='{file}' alt='{file}'>" for file in _curves(name, evaluation, folder)]

        scores, labels = evaluation.predictions.scores, evaluation.labels
        anomalous = np.flatnonzero(labels == 1)
        normal = np.flatnonzero(labels == 0)
        worst_anomalous = anomalous[np.argsort(scores[anomalous])][:EXAMPLES]
        highest_normal = normal[np.argsort(-scores[normal])][:EXAMPLES]
        for title, indices in (("Lowest-scored defective images", worst_anomalous),
                               ("Highest-scored good images", highest_normal)):
            parts.append(f"<h3>{title}</h3><p>image, ground truth, heatmap</p>")
            for rank, index in enumerate(indices):
                file = _example(evaluation, int(index), folder / f"{name}_{'defective' if title.startswith('Lowest') else 'good'}_{rank}.png")
                record = evaluation.records[int(index)]
                parts.append(f"<p>{html.escape(record.image_path.name)} ({html.escape(record.defect_type)}), "
                             f"score {scores[index]:.4f}</p><img src='{file}' alt='{file}'>")
    parts.append("</body></html>")
    page = folder / "index.html"
    page.write_text("\n".join(parts))
    logger.info("wrote report %s", page)
    return page
