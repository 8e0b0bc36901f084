"""Self-describing detector checkpoints: ``config.json`` plus ``model.safetensors``.

``config.json`` contains the detector configuration, the AFS channel indices in
readable form, the decision thresholds calibrated on held-back training data
and a summary of training; ``model.safetensors`` contains every
weight, the backbone's included, so a checkpoint loads without the network.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from detector.model import DetectorConfig, RealNet

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


class CheckpointError(FileNotFoundError):
    """A checkpoint folder that is missing or unreadable."""


def save_checkpoint(model: RealNet, folder: Path, training: dict[str, Any],
                    thresholds: dict[str, Any] | None = None) -> None:
    """Write the model's weights and configuration to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = asdict(model.config)
    document = {
        "format_version": FORMAT_VERSION,
        "model": "RealNet",
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "afs_indices": [index.tolist() for index in model.afs_indices],
        "thresholds": thresholds,
        "training": training,
    }
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n")


def read_checkpoint_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        children = sorted(p for p in Path(folder).glob(f"*/{CONFIG_FILE}")) if Path(folder).is_dir() else []
        if children:
            options = ", ".join(str(p.parent) for p in children)
            raise CheckpointError(f"{folder} contains one checkpoint per category; pass one of them: {options}")
        raise CheckpointError(f"no detector checkpoint in {folder} (missing {CONFIG_FILE}); run `detector fit` first")
    document = json.loads(path.read_text())
    if document.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {folder} has format version {document.get('format_version')}; "
            f"this package reads version {FORMAT_VERSION}"
        )
    return document


def load_checkpoint(folder: Path) -> RealNet:
    """Rebuild a RealNet from a checkpoint folder, in eval mode."""
    folder = Path(folder)
    document = read_checkpoint_config(folder)
    names = {f.name for f in fields(DetectorConfig)}
    stored = {k: v for k, v in document["config"].items() if k in names}
    # Checkpoints written before map smoothing existed were fitted and calibrated on unsmoothed maps.
    stored.setdefault("map_sigma", 0.0)
    config = DetectorConfig(**stored)
    model = RealNet(config, load_backbone_weights=False)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"checkpoint {folder} has no {WEIGHTS_FILE}")
    model.load_state_dict(load_file(str(weights)), strict=True)
    model.eval()
    return model


def find_checkpoints(folder: Path) -> list[Path]:
    """Return ``folder`` when it is a checkpoint, else its sub-folders that are (one per category)."""
    folder = Path(folder)
    if (folder / CONFIG_FILE).is_file():
        return [folder]
    found = sorted(p for p in folder.glob("*") if (p / CONFIG_FILE).is_file()) if folder.is_dir() else []
    if not found:
        raise CheckpointError(f"no detector checkpoint in {folder} or its sub-folders; run `detector fit` first")
    return found
