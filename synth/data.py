"""Normal training images for the diffusion model."""

from __future__ import annotations

import logging

import numpy as np
import torch
from tqdm.auto import tqdm

from shared.datasets import DatasetReader, ImageRecord
from shared.imageio import load_rgb, resize_rgb

logger = logging.getLogger(__name__)


def is_grayscale(records: list[ImageRecord], probe: int = 8) -> bool:
    """Return True when the first ``probe`` images have identical R, G and B channels."""
    for record in records[:probe]:
        image = load_rgb(record.image_path)
        if not (np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2])):
            return False
    return True


def to_model_tensor(image: np.ndarray, size: int, channels: int) -> torch.Tensor:
    """Convert an RGB uint8 image to a (channels, size, size) tensor in [-1, 1]."""
    resized = resize_rgb(image, size).astype(np.float32) / 127.5 - 1.0
    tensor = torch.from_numpy(resized).permute(2, 0, 1)
    if channels == 1:
        tensor = tensor.mean(dim=0, keepdim=True)
    return tensor


def from_model_tensor(samples: torch.Tensor) -> np.ndarray:
    """Convert (N, C, H, W) samples in [-1, 1] to (N, H, W, 3) uint8 RGB."""
    array = ((samples.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    array = array.permute(0, 2, 3, 1).cpu().numpy()
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def load_normal_images(
    reader: DatasetReader, categories: list[str], size: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load every normal training image of ``categories`` into memory.

    Returns images (N, channels, size, size) in [-1, 1] and class labels (N,),
    the label being the category's position in ``categories``.
    """
    images, labels = [], []
    for label, category in enumerate(categories):
        records = reader.normal_train(category)
        if not records:
            raise ValueError(f"category {category} of {reader.name} has no normal training images")
        for record in tqdm(records, desc=f"loading {category}", leave=False):
            images.append(to_model_tensor(load_rgb(record.image_path), size, channels))
            labels.append(label)
    logger.info("loaded %d normal images of %d categories", len(images), len(categories))
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)
