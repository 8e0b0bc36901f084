import json

from diffusers import UNet2DModel

from shared.datasets import open_dataset
from synth.config import PRESETS
from synth.model import load_model
from synth.train import train_diffusion


def test_saved_model_describes_itself(tiny_model):
    unet, info = load_model(tiny_model)
    assert isinstance(unet, UNet2DModel)
    assert info.categories == ["metal_plate"]
    assert info.diffusion.variance_type == "learned_range"
    assert unet.config.out_channels == 2 * info.diffusion.channels
    assert info.train_steps == PRESETS["tiny"].train.steps


def test_training_resumes_from_checkpoint(tmp_path, mpdd_root):
    preset = PRESETS["tiny"]
    reader = open_dataset("mpdd", mpdd_root)
    first = preset.train.__class__(**{**preset.train.__dict__, "steps": 10, "checkpoint_every": 10})
    train_diffusion(reader, ["metal_plate"], preset.diffusion, first, tmp_path)
    state = json.loads((tmp_path / "checkpoint" / "train_state.json").read_text())
    assert state["step"] == 10
    longer = first.__class__(**{**first.__dict__, "steps": 14})
    result = train_diffusion(reader, ["metal_plate"], preset.diffusion, longer, tmp_path)
    assert result.steps == 14
    assert json.loads((tmp_path / "checkpoint" / "train_state.json").read_text())["step"] == 14


def test_rerun_keeps_final_loss(tmp_path, mpdd_root):
    preset = PRESETS["tiny"]
    reader = open_dataset("mpdd", mpdd_root)
    first = train_diffusion(reader, ["metal_plate"], preset.diffusion, preset.train, tmp_path)
    again = train_diffusion(reader, ["metal_plate"], preset.diffusion, preset.train, tmp_path)
    assert again.final_loss == first.final_loss
    saved = json.loads((tmp_path / "synth_model.json").read_text())
    assert saved["final_loss"] == first.final_loss
