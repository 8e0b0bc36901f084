import torch

from detector.afs import channel_errors, select_channels
from detector.rrs import ResidualSelection, stack_residuals


def test_afs_prefers_channels_that_follow_the_mask():
    masks = torch.zeros(4, 1, 16, 16)
    masks[:, :, 4:10, 4:10] = 1.0
    normal = torch.randn(4, 3, 8, 8)
    anomalous = normal.clone()
    small = torch.nn.functional.interpolate(masks, size=(8, 8))
    anomalous[:, 1] += 3.0 * small[:, 0]  # channel 1 responds inside the mask
    anomalous[:, 2] += torch.randn(4, 8, 8)  # channel 2 responds everywhere
    errors = channel_errors(anomalous, normal, masks)
    assert errors[1] < errors[2]
    assert select_channels([errors], [1])[0].tolist() == [1]


def test_afs_rejects_too_many_channels():
    import pytest

    with pytest.raises(ValueError, match="keeps 5 channels"):
        select_channels([torch.zeros(3)], [5])


def test_rrs_keeps_strongest_channels_per_sample():
    selection = ResidualSelection(total_channels=6, top_k=1, mode="max_avg").eval()
    residuals = torch.zeros(2, 6, 4, 4)
    residuals[0, 2, 0, 0] = 20.0  # highest maximum in sample 0, mean 1.25
    residuals[0, 4] = 2.0  # highest mean in sample 0
    residuals[1, 5] = 3.0
    kept = selection(residuals)
    assert kept.shape == (2, 2, 4, 4)
    assert torch.equal(kept[0, 0], residuals[0, 2])
    assert torch.equal(kept[0, 1], residuals[0, 4])
    assert torch.equal(kept[1, 0], residuals[1, 5])


def test_stack_upsamples_to_finest():
    stacked = stack_residuals([torch.zeros(1, 2, 8, 8), torch.ones(1, 3, 4, 4)])
    assert stacked.shape == (1, 5, 8, 8)
    assert stacked[:, 2:].min() == 1.0


def test_image_score_equals_square_window_average():
    from detector.model import image_score

    generator = torch.Generator().manual_seed(3)
    maps = torch.rand(3, 40, 52, generator=generator)
    maps[1, 10:20, 30:45] += 2.0
    expected = torch.nn.functional.avg_pool2d(maps[:, None], kernel_size=16, stride=1).amax(dim=(1, 2, 3))
    # Brute force for one window: the hot block of image 1 lies inside the best 16 x 16 window.
    best = max(maps[1, y:y + 16, x:x + 16].mean() for y in range(40 - 15) for x in range(52 - 15))
    assert torch.allclose(image_score(maps, 16), expected, atol=1e-6)
    assert abs(image_score(maps, 16)[1].item() - best.item()) < 1e-5
    assert image_score(maps, 16)[1] > image_score(maps, 16)[0] + 0.5
