import numpy as np
import pytest

from shared.compose import compose_anomaly
from shared.foreground import FULL, foreground_mask, rule_for
from shared.imageio import load_rgb, resize_rgb
from shared.perlin import perlin_mask


def test_perlin_mask_reproducible_and_binary():
    first = perlin_mask(128, 128, np.random.default_rng(3))
    second = perlin_mask(128, 128, np.random.default_rng(3))
    assert first.dtype == bool
    assert np.array_equal(first, second)


def test_perlin_masks_vary_in_area():
    areas = [perlin_mask(64, 64, np.random.default_rng(seed)).mean() for seed in range(30)]
    assert min(areas) < max(areas)
    assert max(areas) > 0.0


def test_compose_changes_only_masked_pixels():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    source = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), dtype=bool)
    mask[8:16, 4:20] = True
    composite = compose_anomaly(image, source, mask, 0.7)
    assert np.array_equal(composite[~mask], image[~mask])
    expected = np.round(0.7 * source[mask].astype(float) + 0.3 * image[mask].astype(float))
    assert np.abs(composite[mask].astype(float) - expected).max() <= 1


# Plate outlines labelled by hand on the 512x512 training images, as (x, y) corners.
PLATE_POLYGONS = {
    "000": [(122, 98), (420, 186), (375, 416), (52, 308)],
    "010": [(122, 130), (318, 50), (345, 75), (435, 398), (202, 426)],
    "020": [(71, 152), (286, 74), (398, 328), (179, 440)],
    "030": [(82, 125), (385, 110), (418, 130), (448, 348), (102, 390)],
    "040": [(113, 92), (443, 155), (423, 410), (63, 374)],
}


@pytest.mark.parametrize("name", sorted(PLATE_POLYGONS))
def test_foreground_inside_labelled_plate(metal_plate, name):
    from skimage.draw import polygon

    image = load_rgb(metal_plate / "train" / "good" / f"{name}.png")
    mask = foreground_mask(image, rule_for("mpdd", "metal_plate"))
    corners = np.array(PLATE_POLYGONS[name])
    plate = np.zeros(mask.shape, dtype=bool)
    rows, columns = polygon(corners[:, 1], corners[:, 0], shape=mask.shape)
    plate[rows, columns] = True
    inside = (mask & plate).sum() / mask.sum()
    assert inside > 0.9
    # The mask also covers most of the plate, not just a sliver of it.
    assert (mask & plate).sum() / plate.sum() > 0.7


def test_foreground_metal_plate_avoids_background(metal_plate):
    image = resize_rgb(load_rgb(metal_plate / "train" / "good" / "000.png"), 256)
    mask = foreground_mask(image, rule_for("mpdd", "metal_plate"))
    # The plate hangs in the middle of a plain grey background.
    assert 0.1 < mask.mean() < 0.7
    border = np.concatenate([mask[:8].ravel(), mask[-8:].ravel(), mask[:, :8].ravel(), mask[:, -8:].ravel()])
    assert border.mean() < 0.05


def test_full_rule_and_flat_image():
    flat = np.full((16, 16, 3), 90, dtype=np.uint8)
    assert foreground_mask(flat, FULL).all()
    assert foreground_mask(flat, rule_for("unknown", "thing")).all()
