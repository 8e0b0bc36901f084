"""Every reader on real metal_plate pixels, written in each dataset's own layout and file types."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared.datasets import DatasetLayoutError, open_dataset
from shared.datasets.folder import FolderLayout
from shared.imageio import ImageReadError, load_mask, load_rgb


def _sources(metal_plate: Path):
    good = sorted((metal_plate / "train" / "good").glob("*.png"))[:6]
    test_good = sorted((metal_plate / "test" / "good").glob("*.png"))[:2]
    defective = sorted((metal_plate / "test" / "defective").glob("*.png"))[:3]
    masks = [metal_plate / "ground_truth" / "defective" / f"{p.stem}_mask.png" for p in defective]
    return good, test_good, defective, masks


def _save(source: Path, target: Path, size: int = 128) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.open(source).convert("RGB").resize((size, size)).save(target)


def _save_mask(source: Path, target: Path, size: int = 128, scale: int = 255) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    mask = np.asarray(Image.open(source).resize((size, size), Image.NEAREST)) > 0
    Image.fromarray((mask * scale).astype(np.uint8)).save(target)


@pytest.fixture
def btad_root(tmp_path, metal_plate) -> Path:
    good, test_good, defective, masks = _sources(metal_plate)
    for i, path in enumerate(good):
        _save(path, tmp_path / "02" / "train" / "ok" / f"{i:04d}.bmp")
    for i, path in enumerate(test_good):
        _save(path, tmp_path / "02" / "test" / "ok" / f"{i:04d}.bmp")
    for i, (path, mask) in enumerate(zip(defective, masks)):
        _save(path, tmp_path / "02" / "test" / "ko" / f"{i:04d}.bmp")
        _save_mask(mask, tmp_path / "02" / "ground_truth" / "ko" / f"{i:04d}.png")
    return tmp_path


@pytest.fixture
def visa_root(tmp_path, metal_plate) -> Path:
    good, test_good, defective, masks = _sources(metal_plate)
    rows = ["object,split,label,image,mask"]
    for split, paths in (("train", good), ("test", test_good)):
        for i, path in enumerate(paths):
            relative = f"plate/Data/Images/Normal/{split}{i:03d}.JPG"
            _save(path, tmp_path / relative)
            rows.append(f"plate,{split},normal,{relative},")
    for i, (path, mask) in enumerate(zip(defective, masks)):
        image, mask_file = f"plate/Data/Images/Anomaly/{i:03d}.JPG", f"plate/Data/Masks/Anomaly/{i:03d}.png"
        _save(path, tmp_path / image)
        _save_mask(mask, tmp_path / mask_file, scale=1)  # VisA masks may hold 0/1
        rows.append(f"plate,test,anomaly,{image},{mask_file}")
    (tmp_path / "split_csv").mkdir()
    (tmp_path / "split_csv" / "1cls.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


@pytest.fixture
def folder_root(tmp_path, metal_plate) -> Path:
    good, test_good, defective, masks = _sources(metal_plate)
    for i, path in enumerate(good):
        _save(path, tmp_path / "good" / f"g{i}.png")
    for i, path in enumerate(test_good):
        _save(path, tmp_path / "check" / "ok" / f"t{i}.png")
    for i, (path, mask) in enumerate(zip(defective, masks)):
        _save(path, tmp_path / "check" / "rust" / f"d{i}.jpg")
        _save_mask(mask, tmp_path / "labels" / f"d{i}_mask.png")
    return tmp_path


def test_btad_reads_bmp(btad_root):
    reader = open_dataset("btad", btad_root)
    assert reader.categories == ["02"]
    assert len(reader.records("02", "train")) == 6
    test = reader.records("02", "test")
    assert [r.label for r in test] == [0, 0, 1, 1, 1]
    assert test[2].mask_path.name == "0000.png"
    assert load_rgb(test[2].image_path).shape == (128, 128, 3)


def test_visa_reads_split_and_binary_masks(visa_root):
    reader = open_dataset("visa", visa_root)
    assert reader.categories == ["plate"]
    assert len(reader.records("plate", "train")) == 6
    test = reader.records("plate", "test")
    assert sum(r.label for r in test) == 3
    mask = load_mask(test[-1].mask_path)
    assert mask.any()
    assert np.asarray(Image.open(test[-1].mask_path)).max() == 1


def test_folder_from_options_and_files(folder_root):
    layout = FolderLayout.from_mapping({
        "train_good": str(folder_root / "good"), "test_good": str(folder_root / "check" / "ok"),
        "test_defects": {"rust": str(folder_root / "check" / "rust")}, "masks": str(folder_root / "labels"),
        "mask_suffix": "_mask", "category": "plate",
    })
    reader = open_dataset("folder", folder_layout=layout)
    test = reader.records("plate", "test")
    assert [r.defect_type for r in test] == ["good", "good", "rust", "rust", "rust"]
    assert test[2].mask_path.name == "d0_mask.png"

    (folder_root / "layout.yaml").write_text(
        "train_good: good\ntest_good: check/ok\ntest_defects:\n  rust: check/rust\nmasks: labels\nmask_suffix: _mask\n")
    (folder_root / "layout.toml").write_text(
        'train_good = "good"\ntest_good = "check/ok"\nmasks = "labels"\nmask_suffix = "_mask"\n'
        '[test_defects]\nrust = "check/rust"\n')
    for name in ("layout.yaml", "layout.toml"):
        from_file = open_dataset("folder", folder_layout=FolderLayout.from_file(folder_root / name))
        assert [r.image_path for r in from_file.records("custom", "test")] == [r.image_path for r in test]


def test_mask_size_mismatch_names_both(btad_root):
    mask = btad_root / "02" / "ground_truth" / "ko" / "0001.png"
    Image.open(mask).resize((64, 64)).save(mask)
    with pytest.raises(DatasetLayoutError, match=r"mask .*0001.png is 64x64 but image .*0001.bmp is 128x128"):
        open_dataset("btad", btad_root).records("02", "test")


def test_mask_without_image(btad_root):
    shutil.copy(btad_root / "02" / "ground_truth" / "ko" / "0000.png", btad_root / "02" / "ground_truth" / "ko" / "0099.png")
    with pytest.raises(DatasetLayoutError, match=r"mask .*0099.png has no matching image"):
        open_dataset("btad", btad_root).records("02", "test")


def test_defective_without_mask(folder_root):
    (folder_root / "labels" / "d1_mask.png").unlink()
    layout = FolderLayout.from_mapping({"train_good": str(folder_root / "good"),
                                        "test_defects": {"rust": str(folder_root / "check" / "rust")},
                                        "masks": str(folder_root / "labels"), "mask_suffix": "_mask"})
    with pytest.raises(DatasetLayoutError, match=r"defective image .*d1.jpg has no mask"):
        open_dataset("folder", folder_layout=layout).records("custom", "test")


def test_visa_defective_without_mask(visa_root):
    (visa_root / "plate" / "Data" / "Masks" / "Anomaly" / "001.png").unlink()
    with pytest.raises(DatasetLayoutError, match=r"001.JPG has no mask"):
        open_dataset("visa", visa_root)


def test_empty_category(btad_root):
    for path in (btad_root / "02" / "train" / "ok").iterdir():
        path.unlink()
    with pytest.raises(DatasetLayoutError, match=r"no images in .*02/train.*empty"):
        open_dataset("btad", btad_root).records("02", "train")


def test_unknown_category_lists_valid(visa_root, btad_root):
    with pytest.raises(DatasetLayoutError, match="valid categories: plate"):
        open_dataset("visa", visa_root).records("candle", "train")
    with pytest.raises(DatasetLayoutError, match="valid categories: 02"):
        open_dataset("btad", btad_root).records("01", "train")


def test_unreadable_image_named(btad_root):
    broken = btad_root / "02" / "test" / "ko" / "0002.bmp"
    broken.write_bytes(b"BM broken")
    with pytest.raises(ImageReadError, match="0002.bmp"):
        open_dataset("btad", btad_root).records("02", "test")
