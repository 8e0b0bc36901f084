import numpy as np
import pytest
from PIL import Image

from shared.imageio import ImageReadError, load_mask, load_rgb


def test_grayscale_becomes_rgb(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(path)
    image = load_rgb(path)
    assert image.shape == (8, 8, 3)
    assert image.dtype == np.uint8
    assert np.array_equal(image[..., 0], image[..., 2])
    assert image[0, 5, 1] == 5


def test_sixteen_bit_is_scaled(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(path)
    image = load_rgb(path)
    assert image[0, 0, 0] == 0
    assert image[0, 1, 0] == 255


def test_rgba_and_palette(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    assert load_rgb(tmp_path / "rgba.png")[0, 0].tolist() == [200, 0, 0]

    palette = Image.new("P", (4, 4))
    palette.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / "palette.png")
    assert load_rgb(tmp_path / "palette.png")[1, 1].tolist() == [10, 20, 30]


def test_exif_orientation_applied(tmp_path):
    array = np.zeros((2, 4, 3), dtype=np.uint8)
    array[0, 0] = 255
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    loaded = load_rgb(tmp_path / "rotated.jpg")
    assert loaded.shape == (4, 2, 3)


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="broken.png"):
        load_rgb(path)
    with pytest.raises(ImageReadError, match="missing.png"):
        load_rgb(tmp_path / "missing.png")


def test_mask_is_boolean(metal_plate):
    mask = load_mask(metal_plate / "ground_truth" / "defective" / "000_mask.png")
    assert mask.dtype == bool
    assert mask.shape == (512, 512)
    assert 0 < mask.sum() < mask.size
