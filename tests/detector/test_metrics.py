import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import roc_auc_score

from detector.metrics import aupro, auroc, pro_curve


def _brute_force_aupro(maps: np.ndarray, masks: np.ndarray, limit: float = 0.3) -> float:
    """Threshold by threshold: FPR over defect-free pixels, mean overlap over 8-connected regions."""
    regions = []
    for i, mask in enumerate(masks):
        labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
        regions += [(i, labels == r) for r in range(1, count + 1)]
    normal = ~masks
    points = [(0.0, 0.0)]
    for threshold in np.unique(maps)[::-1]:
        predicted = maps >= threshold
        fpr = (predicted & normal).sum() / normal.sum()
        pro = np.mean([predicted[i][region].mean() for i, region in regions])
        points.append((fpr, pro))
    fprs = np.array([p[0] for p in points])
    pros = np.array([p[1] for p in points])
    area = 0.0
    for k in range(1, len(fprs)):
        x0, x1, y0, y1 = fprs[k - 1], fprs[k], pros[k - 1], pros[k]
        if x0 >= limit:
            break
        if x1 > limit:
            y1 = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
            x1 = limit
        area += (x1 - x0) * (y0 + y1) / 2
    return area / limit


@pytest.mark.parametrize("seed", range(6))
def test_aupro_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    masks = np.zeros((3, 12, 12), dtype=bool)
    masks[0, 1:4, 1:4] = True
    masks[0, 7:11, 6:8] = True
    masks[1, 5:9, 2:10] = True
    masks[1, 0, 11] = True
    maps = rng.random((3, 12, 12))
    maps[masks] += rng.random(masks.sum()) * 0.8
    # Quantise so that ties occur, as they do in real maps.
    maps = np.round(maps, 2)
    assert aupro(maps, masks) == pytest.approx(_brute_force_aupro(maps, masks), abs=1e-6)


def test_aupro_perfect_and_inverted():
    masks = np.zeros((2, 10, 10), dtype=bool)
    masks[0, 2:5, 2:5] = True
    maps = masks.astype(float)
    assert aupro(maps, masks) == pytest.approx(1.0)
    assert aupro(1.0 - maps, masks) == pytest.approx(0.0)


def test_pro_curve_ends_at_one():
    rng = np.random.default_rng(1)
    masks = rng.random((2, 8, 8)) > 0.8
    fpr, pro = pro_curve(rng.random((2, 8, 8)), masks)
    assert fpr[-1] == pytest.approx(1.0)
    assert pro[-1] == pytest.approx(1.0)
    assert np.all(np.diff(fpr) >= 0)


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(500) > 0.7
    scores = np.round(rng.random(500) + labels * 0.3, 2)
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auroc_below_half_is_reported_as_is():
    labels = np.array([0, 0, 1, 1])
    assert auroc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0


def test_auroc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        auroc(np.array([0.1, 0.2]), np.array([1, 1]))


@pytest.mark.parametrize("seed", range(4))
def test_average_precision_matches_sklearn(seed):
    from sklearn.metrics import average_precision_score

    from detector.metrics import average_precision

    rng = np.random.default_rng(seed)
    labels = rng.random(400) > 0.6
    scores = np.round(rng.random(400) + labels * 0.2, 2)
    assert average_precision(scores, labels) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)


def test_f1_max_matches_brute_force():
    from detector.calibration import f1_max

    rng = np.random.default_rng(3)
    labels = rng.random(200) > 0.7
    scores = np.round(rng.random(200) + labels * 0.3, 2)
    best = 0.0
    for threshold in np.unique(scores):
        predicted = scores >= threshold
        tp = (predicted & labels).sum()
        f1 = 2 * tp / (predicted.sum() + labels.sum())
        best = max(best, f1)
    threshold, f1 = f1_max(scores, labels)
    assert f1 == pytest.approx(best)
    predicted = scores >= threshold
    assert 2 * (predicted & labels).sum() / (predicted.sum() + labels.sum()) == pytest.approx(best)
