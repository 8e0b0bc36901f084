"""Decision thresholds calibrated on held-out training data, never on test data."""

from __future__ import annotations

import numpy as np


def f1_max(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Return (threshold, F1) at the threshold that maximises F1 for ``score >= threshold``."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("F1-max needs at least one anomalous sample")
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_positives = np.cumsum(labels[order])
    false_positives = np.cumsum(~labels[order])
    # Only the last index of each run of equal scores is a reachable threshold.
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    tp, fp = true_positives[last], false_positives[last]
    f1 = 2 * tp / (2 * tp + fp + (positives - tp))
    best = int(np.argmax(f1))
    return float(sorted_scores[last][best]), float(f1[best])


def normal_quantile(scores: np.ndarray, false_positive_rate: float) -> float:
    """Return the score above which a fraction ``false_positive_rate`` of normal images lies."""
    if not 0.0 <= false_positive_rate < 1.0:
        raise ValueError(f"false-positive rate must lie in [0, 1), got {false_positive_rate}")
    return float(np.quantile(np.asarray(scores, dtype=np.float64), 1.0 - false_positive_rate))


def calibrate(normal_scores: np.ndarray, anomalous_scores: np.ndarray, anomalous_maps: np.ndarray,
              anomalous_masks: np.ndarray, normal_maps: np.ndarray, false_positive_rate: float = 0.01) -> dict:
    """Thresholds from held-out normal images and held-out synthetic anomalies.

    ``image`` is the F1-max threshold of image scores, ``pixel`` the F1-max
    threshold of anomaly-map values, ``image_at_fpr`` the normal-score
    quantile for the stated false-positive rate.
    """
    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(anomalous_scores))]
    image_threshold, image_f1 = f1_max(np.r_[normal_scores, anomalous_scores], labels)
    pixel_scores = np.r_[normal_maps.ravel(), anomalous_maps.ravel()]
    pixel_labels = np.r_[np.zeros(normal_maps.size, dtype=bool), anomalous_masks.ravel().astype(bool)]
    pixel_threshold, pixel_f1 = f1_max(pixel_scores, pixel_labels)
    return {
        "image": image_threshold,
        "image_f1": image_f1,
        "image_at_fpr": normal_quantile(normal_scores, false_positive_rate),
        "false_positive_rate": false_positive_rate,
        "pixel": pixel_threshold,
        "pixel_f1": pixel_f1,
        "held_out_normal": int(len(normal_scores)),
        "held_out_anomalous": int(len(anomalous_scores)),
    }
