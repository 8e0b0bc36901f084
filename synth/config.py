"""Configuration of the diffusion model and its training, with named presets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

VarianceType = Literal["fixed_small", "learned_range"]


@dataclass
class DiffusionConfig:
    """Architecture and noise schedule of the class-conditional DDPM.

    ``attention_levels`` lists the resolution levels (0 = full resolution)
    whose blocks use self-attention. ``channels`` is 1 for grayscale data
    and 3 for colour; ``variance_type="learned_range"`` doubles the UNet's
    output channels so it predicts its own posterior variance, as the
    improved DDPM does.
    """

    image_size: int = 64
    channels: int = 3
    block_out_channels: tuple[int, ...] = (32, 32, 64, 64)
    layers_per_block: int = 1
    attention_levels: tuple[int, ...] = (3,)
    norm_num_groups: int = 8
    variance_type: VarianceType = "learned_range"
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02

    def __post_init__(self) -> None:
        self.block_out_channels = tuple(self.block_out_channels)
        self.attention_levels = tuple(self.attention_levels)
        levels = len(self.block_out_channels)
        downsampling = 2 ** (levels - 1)
        if self.image_size % downsampling:
            raise ValueError(
                f"image size {self.image_size} must be divisible by {downsampling} for {levels} UNet levels"
            )
        if any(level >= levels for level in self.attention_levels):
            raise ValueError(f"attention levels {self.attention_levels} exceed the {levels} UNet levels")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")


@dataclass
class TrainConfig:
    """Optimisation settings of ``synth train``."""

    steps: int = 600
    batch_size: int = 16
    learning_rate: float = 5e-4
    warmup_steps: int = 50
    ema_power: float = 0.75
    ema_max_decay: float = 0.999
    vlb_weight: float = 0.001
    # auto: bf16 where the hardware has native bf16 kernels (see synth.precision).
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] = "auto"
    checkpoint_every: int = 200
    seed: int = 0


@dataclass
class Preset:
    diffusion: DiffusionConfig
    train: TrainConfig = field(default_factory=TrainConfig)


PRESETS: dict[str, Preset] = {
    # A few minutes on a 2-core CPU: recognisable samples of simple parts.
    "cpu": Preset(DiffusionConfig(), TrainConfig()),
    # Seconds: for tests and smoke runs only.
    "tiny": Preset(
        DiffusionConfig(image_size=32, block_out_channels=(16, 32), attention_levels=(), norm_num_groups=8),
        TrainConfig(steps=20, batch_size=4, checkpoint_every=10),
    ),
    # GPU scale, close to the reference ImageNet-256 diffusion architecture.
    "paper": Preset(
        DiffusionConfig(
            image_size=256,
            block_out_channels=(128, 128, 256, 256, 512, 512),
            layers_per_block=2,
            attention_levels=(4, 5),
            norm_num_groups=32,
        ),
        TrainConfig(steps=50_000, batch_size=32, learning_rate=1e-4, warmup_steps=500,
                    ema_max_decay=0.9999, mixed_precision="fp16", checkpoint_every=2000),
    ),
}


def to_json_dict(config: Any) -> dict[str, Any]:
    data = asdict(config)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def from_json_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**data)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
