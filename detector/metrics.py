"""Anomaly detection metrics: AUROC and AU-PRO as the MVTec-AD evaluation defines it."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.stats import rankdata

PRO_INTEGRATION_LIMIT = 0.3


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve, from the Mann-Whitney U statistic with tied ranks averaged.

    Raises ValueError when ``labels`` holds only one class. The value is
    reported as is: an AUROC under 0.5 means the scores rank the classes the
    wrong way round.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"AUROC needs both classes; got {positives} anomalous and {negatives} normal")
    ranks = rankdata(scores)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def pro_curve(anomaly_maps: np.ndarray, ground_truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FPR and per-region overlap at every distinct score, as the MVTec-AD evaluation defines them.

    Ground-truth regions are 8-connected components of each mask. FPR is over
    all defect-free pixels of all images; PRO is the mean, over all regions,
    of the fraction of the region's pixels at or above the threshold. Returns
    ascending FPR and PRO arrays that start at (0, 0).
    """
    maps = np.asarray(anomaly_maps, dtype=np.float64)
    masks = np.asarray(ground_truth).astype(bool)
    if maps.shape != masks.shape:
        raise ValueError(f"anomaly maps {maps.shape} and masks {masks.shape} differ in shape")
    structure = np.ones((3, 3), dtype=bool)
    region_ids = np.zeros(masks.shape, dtype=np.int64)
    offset = 0
    for i, mask in enumerate(masks):
        labels, count = ndimage.label(mask, structure=structure)
        region_ids[i][labels > 0] = labels[labels > 0] + offset
        offset += count
    if offset == 0:
        raise ValueError("AU-PRO needs at least one anomalous ground-truth region")
    num_normal = int((~masks).sum())
    if num_normal == 0:
        raise ValueError("AU-PRO needs defect-free pixels")

    flat_scores = maps.ravel()
    flat_regions = region_ids.ravel()
    region_sizes = np.bincount(flat_regions, minlength=offset + 1).astype(np.float64)

    # Each defect-free pixel adds 1/num_normal to the FPR; each pixel of region r
    # adds 1/(|r| * num_regions) to the PRO once the threshold falls to its score.
    fpr_step = np.where(flat_regions == 0, 1.0 / num_normal, 0.0)
    pro_step = np.where(flat_regions > 0, 1.0 / (region_sizes[flat_regions] * offset), 0.0)
    order = np.argsort(-flat_scores, kind="stable")
    sorted_scores = flat_scores[order]
    fpr = np.cumsum(fpr_step[order])
    pro = np.cumsum(pro_step[order])
    # Keep the last pixel of each run of equal scores: the curve point of that threshold.
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    return np.r_[0.0, fpr[last_of_run]], np.r_[0.0, pro[last_of_run]]


def aupro(anomaly_maps: np.ndarray, ground_truth: np.ndarray, limit: float = PRO_INTEGRATION_LIMIT) -> float:
    """Area under the PRO curve up to FPR ``limit``, divided by ``limit``.

    The curve is integrated with the trapezoid rule; the point at FPR =
    ``limit`` is interpolated linearly between its neighbours.
    """
    fpr, pro = pro_curve(anomaly_maps, ground_truth)
    inside = fpr <= limit
    x = fpr[inside]
    y = pro[inside]
    if x[-1] < limit and inside.sum() < len(fpr):
        following = int(np.argmax(~inside))
        x0, x1 = fpr[following - 1], fpr[following]
        y0, y1 = pro[following - 1], pro[following]
        y_limit = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
        x = np.r_[x, limit]
        y = np.r_[y, y_limit]
    return float(np.trapezoid(y, x) / limit)


def _ranked_counts(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true and false positives at every distinct threshold, from the highest score down."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives = np.cumsum(labels[order])[last]
    false_positives = np.cumsum(~labels[order])[last]
    return sorted_scores[last], true_positives, false_positives


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, starting at (0, 0)."""
    _, tp, fp = _ranked_counts(scores, labels)
    return np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)]


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision: the sum over thresholds of (recall step) x precision, as scikit-learn defines it."""
    _, tp, fp = _ranked_counts(scores, labels)
    if tp[-1] == 0:
        raise ValueError("average precision needs at least one anomalous sample")
    precision = tp / (tp + fp)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
