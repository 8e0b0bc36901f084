import shutil

import pytest

from shared.datasets import DatasetLayoutError, open_dataset
from shared.datasets.elpv import ElpvReader


def test_mvtec_layout_counts(mpdd_root):
    reader = open_dataset("mpdd", mpdd_root)
    assert reader.categories == ["metal_plate"]
    train = reader.records("metal_plate", "train")
    test = reader.records("metal_plate", "test")
    assert len(train) == 54
    assert sum(r.label == 0 for r in test) == 26
    assert sum(r.label == 1 for r in test) == 71
    defective = [r for r in test if r.label == 1]
    assert all(r.mask_path.name == f"{r.image_path.stem}_mask.png" for r in defective)


def test_unknown_category_lists_valid(mpdd_root):
    reader = open_dataset("mpdd", mpdd_root)
    with pytest.raises(DatasetLayoutError, match="valid categories: metal_plate"):
        reader.records("bracket", "train")
    with pytest.raises(DatasetLayoutError, match=r"'bracket_black' not found in dataset mpdd under .*mpdd"):
        reader.records("bracket_black", "train")


def test_missing_root_names_option_and_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("REALNET_DATA_ROOT", raising=False)
    with pytest.raises(DatasetLayoutError, match="--data-root"):
        open_dataset("mpdd")
    with pytest.raises(DatasetLayoutError, match="REALNET_DATA_ROOT"):
        open_dataset("mpdd", tmp_path / "nowhere")


def test_defective_image_without_mask(tmp_path, metal_plate):
    category = tmp_path / "metal_plate"
    shutil.copytree(metal_plate, category)
    (category / "ground_truth" / "defective" / "003_mask.png").unlink()
    reader = open_dataset("mpdd", tmp_path)
    with pytest.raises(DatasetLayoutError, match="003.png has no mask"):
        reader.records("metal_plate", "test")


def test_elpv_split_is_fixed():
    reader = ElpvReader()
    train = reader.records("cells", "train")
    test = reader.records("cells", "test")
    assert len(train) == 300
    assert sum(r.label == 0 for r in test) == 150
    assert sum(r.label == 1 for r in test) == 150
    assert not {r.image_path for r in train} & {r.image_path for r in test}
    assert [r.image_path for r in ElpvReader().records("cells", "train")] == [r.image_path for r in train]


def test_elpv_uncertain_cells_on_request():
    default = ElpvReader()
    assert all(r.defect_type in ("good", "defective") for r in default.records("cells", "test"))
    counts = default.uncertain_counts
    assert counts["probability_0.33"] > 0
    assert counts["probability_0.67"] > 0
    widened = ElpvReader(include_uncertain=True).records("cells", "test")
    assert len(widened) == 300 + counts["probability_0.33"] + counts["probability_0.67"]
