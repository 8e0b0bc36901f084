from click.testing import CliRunner
from PIL import Image

from synth.cli import main as synth_main


def test_datasets_lists_every_layout():
    result = CliRunner().invoke(synth_main, ["datasets"])
    assert result.exit_code == 0
    for name in ("elpv", "mvtec", "mpdd", "btad", "visa", "folder"):
        assert f"{name}:" in result.output
    assert "split_csv/1cls.csv" in result.output
    assert "metal_plate" in result.output


def test_masks_writes_contact_sheet(tmp_path, mpdd_root):
    output = tmp_path / "sheet.png"
    result = CliRunner().invoke(synth_main, ["masks", "--dataset", "mpdd", "--data-root", str(mpdd_root),
                                             "--category", "metal_plate", "--count", "3", "--size", "64",
                                             "--output", str(output)])
    assert result.exit_code == 0, result.output
    with Image.open(output) as sheet:
        assert sheet.size == (3 * 2 * 64, 64)


def test_bad_foreground_rule_rejected(tmp_path):
    result = CliRunner().invoke(synth_main, ["generate", "--foreground", "otsu:purple:dark",
                                             "--output", str(tmp_path / "x.zarr")])
    assert result.exit_code == 1
    assert "otsu:purple:dark" in result.output
    assert "CHANNEL in gray|red|green|blue|auto" in result.output
