"""Building, saving and loading the class-conditional diffusion UNet."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from diffusers import UNet2DModel

from synth.config import DiffusionConfig, from_json_dict, to_json_dict, write_json

MODEL_INFO_FILE = "synth_model.json"
UNET_FOLDER = "unet"


class ModelNotFoundError(FileNotFoundError):
    """A diffusion model folder that does not exist or is incomplete."""


@dataclass
class SynthModelInfo:
    """Training data and architecture of a saved diffusion model."""

    dataset: str
    categories: list[str]
    diffusion: DiffusionConfig
    train_steps: int
    final_loss: float | None = None


def build_unet(config: DiffusionConfig, num_classes: int) -> UNet2DModel:
    """Create a UNet2DModel with one class embedding per category."""
    down, up = [], []
    levels = len(config.block_out_channels)
    for level in range(levels):
        attention = level in config.attention_levels
        down.append("AttnDownBlock2D" if attention else "DownBlock2D")
    for level in reversed(range(levels)):
        attention = level in config.attention_levels
        up.append("AttnUpBlock2D" if attention else "UpBlock2D")
    out_channels = config.channels * (2 if config.variance_type == "learned_range" else 1)
    return UNet2DModel(
        sample_size=config.image_size,
        in_channels=config.channels,
        out_channels=out_channels,
        layers_per_block=config.layers_per_block,
        block_out_channels=config.block_out_channels,
        down_block_types=tuple(down),
        up_block_types=tuple(up),
        norm_num_groups=config.norm_num_groups,
        num_class_embeds=max(num_classes, 1),
    )


def save_model(folder: Path, unet: UNet2DModel, info: SynthModelInfo) -> None:
    """Save the UNet with ``save_pretrained`` and the model info as JSON beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(folder / UNET_FOLDER)
    write_json(
        folder / MODEL_INFO_FILE,
        {
            "dataset": info.dataset,
            "categories": info.categories,
            "diffusion": to_json_dict(info.diffusion),
            "train_steps": info.train_steps,
            "final_loss": info.final_loss,
        },
    )


def load_model_info(folder: Path) -> SynthModelInfo:
    path = Path(folder) / MODEL_INFO_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"no diffusion model in {folder} (missing {MODEL_INFO_FILE}); run `synth train` first "
            f"or pass --model DIR"
        )
    data = json.loads(path.read_text())
    return SynthModelInfo(
        dataset=data["dataset"],
        categories=list(data["categories"]),
        diffusion=from_json_dict(DiffusionConfig, data["diffusion"]),
        train_steps=int(data["train_steps"]),
        final_loss=data.get("final_loss"),
    )


def load_model(folder: Path) -> tuple[UNet2DModel, SynthModelInfo]:
    """Load the EMA UNet and its info from a folder written by ``synth train``."""
    info = load_model_info(folder)
    unet_dir = Path(folder) / UNET_FOLDER
    if not unet_dir.is_dir():
        raise ModelNotFoundError(f"diffusion model folder {folder} has no {UNET_FOLDER}/; run `synth train` again")
    unet = UNet2DModel.from_pretrained(unet_dir)
    unet.eval()
    return unet, info


def model_hash(folder: Path) -> str:
    """SHA-256 over the saved UNet weights and config, identifying the model in shard stores."""
    digest = hashlib.sha256()
    unet_dir = Path(folder) / UNET_FOLDER
    for path in sorted(unet_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
