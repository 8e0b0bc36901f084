import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from detector.model import DetectorConfig
from detector.smoothing import GaussianSmoothing


@pytest.mark.parametrize("sigma", [1.0, 4.0])
def test_smoothing_equals_scipy_gaussian_filter(sigma):
    maps = np.random.default_rng(0).random((2, 48, 40)).astype(np.float32)
    smoothed = GaussianSmoothing(sigma)(torch.from_numpy(maps)).numpy()
    # torch's "reflect" padding is scipy's "mirror" mode; both truncate at 4 sigma.
    expected = np.stack([gaussian_filter(m.astype(np.float64), sigma, mode="mirror", truncate=4.0) for m in maps])
    assert smoothed.shape == maps.shape
    np.testing.assert_allclose(smoothed, expected, atol=1e-5)
    assert smoothed.std() < maps.std() / 2


def test_zero_sigma_keeps_maps():
    maps = torch.rand(1, 32, 32)
    assert torch.equal(GaussianSmoothing(0.0)(maps), maps)


def test_invalid_sigma_rejected():
    with pytest.raises(ValueError, match="got -1.0"):
        GaussianSmoothing(-1.0)
    with pytest.raises(ValueError, match="below the image size 32"):
        DetectorConfig(image_size=32, map_sigma=8.0)
