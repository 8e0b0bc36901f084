"""The Python API: ``Detector.load(path).predict(images)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from detector.checkpoint import load_checkpoint, read_checkpoint_config
from detector.data import default_device, model_device, to_tensor
from detector.model import RealNet
from shared.imageio import load_rgb, resize_rgb

ImageInput = str | Path | np.ndarray | Image.Image


@dataclass
class Prediction:
    """Scores (N,) and anomaly maps (N, S, S) in [0, 1] at the model's input size S."""

    scores: np.ndarray
    maps: np.ndarray

    def verdicts(self, threshold: float) -> np.ndarray:
        """True where the image score reaches ``threshold`` (anomalous)."""
        return self.scores >= threshold


def _as_rgb(image: ImageInput) -> np.ndarray:
    if isinstance(image, (str, Path)):
        return load_rgb(image)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"image array has shape {array.shape}; expected (H, W), (H, W, 3) or (H, W, 4)")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        array = array[..., :3]
    if array.dtype != np.uint8:
        raise ValueError(f"image array has dtype {array.dtype}; expected uint8 (0..255)")
    return array


class Detector:
    """A trained RealNet detector with its calibrated thresholds."""

    def __init__(self, model: RealNet, thresholds: dict | None = None) -> None:
        self.model = model.eval()
        self.thresholds = thresholds or {}

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device | None = None) -> Detector:
        """Load a checkpoint folder onto ``device`` (default: CUDA when available, else the CPU)."""
        document = read_checkpoint_config(Path(path))
        model = load_checkpoint(Path(path)).to(torch.device(device) if device else default_device())
        return cls(model, document.get("thresholds"))

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    @property
    def image_threshold(self) -> float | None:
        """The calibrated image-score threshold (F1-max on held-out synthetic anomalies), if any."""
        return self.thresholds.get("image")

    @property
    def pixel_threshold(self) -> float | None:
        """The calibrated anomaly-map threshold (pixel F1-max on held-out synthetic anomalies), if any."""
        return self.thresholds.get("pixel")

    @torch.no_grad()
    def predict(self, images: ImageInput | list[ImageInput]) -> Prediction:
        """Score one image or a list of images (paths, PIL images or uint8 arrays of any size)."""
        batch = images if isinstance(images, list) else [images]
        if not batch:
            raise ValueError("predict needs at least one image")
        arrays = np.stack([resize_rgb(_as_rgb(image), self.image_size) for image in batch])
        output = self.model(to_tensor(arrays, model_device(self.model)))
        return Prediction(output.score.cpu().numpy(), output.anomaly_map.cpu().numpy())
