"""Training samples for the detector: normal images, stored synthetic pairs and fresh re-compositions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from shared.compose import compose_anomaly
from shared.datasets import DatasetReader
from shared.datasets.base import relative_to_root
from shared.foreground import foreground_mask, rule_for
from shared.imageio import load_rgb, resize_mask, resize_rgb
from shared.perlin import anomaly_mask
from shared.synthetic import SyntheticCategory

logger = logging.getLogger(__name__)

ItemKind = Literal["normal", "stored", "recomposed"]


def default_device() -> torch.device:
    """Return the first CUDA device when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def to_tensor(images: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """(B, H, W, 3) uint8 to (B, 3, H, W) float in [0, 1], on ``device`` when given."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if device is not None:
        tensor = tensor.to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(255.0)


@dataclass
class NormalSet:
    """The normal training images of one category at detector size, with their foregrounds."""

    images: np.ndarray
    foregrounds: np.ndarray
    relative_paths: list[str]


def load_normal_set(reader: DatasetReader, category: str, size: int, foreground: str | None = None) -> NormalSet:
    records = reader.normal_train(category)
    if not records:
        raise ValueError(f"category {category} of {reader.name} has no normal training images")
    root = getattr(reader, "root", None)
    rule = rule_for(reader.name, category, foreground)
    images, foregrounds = [], []
    for record in tqdm(records, desc=f"loading {category}", leave=False):
        image = resize_rgb(load_rgb(record.image_path), size)
        images.append(image)
        foregrounds.append(foreground_mask(image, rule))
    paths = [relative_to_root(r.image_path, root) if root else r.image_path.as_posix() for r in records]
    return NormalSet(np.stack(images), np.stack(foregrounds), paths)


@dataclass
class SyntheticPool:
    """Stored synthetic records of one category, resized to detector size and held in memory."""

    images: np.ndarray
    masks: np.ndarray
    sources: np.ndarray
    source_index: np.ndarray
    strength: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def load_synthetic_pool(
    shards: SyntheticCategory, size: int, normal: NormalSet, strength_range: tuple[float, float] | None = None
) -> SyntheticPool:
    """Read the complete records of a store category, checking they refer to the same normal images."""
    if shards.normal_images != normal.relative_paths:
        raise ValueError(
            f"the shard store's category {shards.name} was generated from {len(shards.normal_images)} normal "
            f"images that differ from the {len(normal.relative_paths)} this dataset lists; generate the store "
            "from the same dataset and data root"
        )
    if shards.missing_shards:
        logger.warning("shard store category %s has %d incomplete shards; using the %d complete records",
                       shards.name, len(shards.missing_shards), len(shards))
    images, masks, sources, source_index, strength = [], [], [], [], []
    for position in tqdm(range(len(shards)), desc="reading shards", leave=False):
        record = shards.read(position)
        if strength_range and not strength_range[0] <= record.strength <= strength_range[1]:
            continue
        images.append(resize_rgb(record.image, size))
        masks.append(resize_mask(record.mask, size))
        sources.append(resize_rgb(record.source, size))
        source_index.append(record.source_index)
        strength.append(record.strength)
    if not images:
        wanted = f" with strength in {strength_range[0]:g}:{strength_range[1]:g}" if strength_range else ""
        raise ValueError(f"synthetic set category {shards.name} has no complete records{wanted} to train on")
    return SyntheticPool(np.stack(images), np.stack(masks), np.stack(sources), np.array(source_index),
                         np.array(strength, dtype=np.float32))


@dataclass(frozen=True)
class Item:
    kind: ItemKind
    index: int
    normal_index: int
    mask_seed: int = 0
    blend: float = 1.0


def plan_epoch(
    rng: np.random.Generator, normal_indices: list[int], stored_indices: list[int], synthetic_share: float = 0.5
) -> list[Item]:
    """Plan one epoch: every training normal image once plus synthetic items (``synthetic_share`` of all).

    Synthetic items alternate between stored pairs and re-compositions of a
    stored source into a random training normal image with a fresh Perlin
    mask and blend factor ``beta ~ U(0.5, 1)``.
    """
    items = [Item("normal", i, i) for i in normal_indices]
    num_synthetic = int(round(len(normal_indices) * synthetic_share / (1.0 - synthetic_share)))
    for position in range(num_synthetic):
        stored = int(rng.choice(stored_indices))
        if position % 2 == 0:
            items.append(Item("stored", stored, -1))
        else:
            items.append(Item("recomposed", stored, int(rng.choice(normal_indices)),
                              int(rng.integers(0, 2**63)), float(rng.uniform(0.5, 1.0))))
    order = rng.permutation(len(items))
    return [items[i] for i in order]


@dataclass(frozen=True)
class HoldOut:
    """Indices used for training and those kept back for threshold calibration."""

    train_normal: list[int]
    held_normal: list[int]
    train_stored: list[int]
    held_stored: list[int]


def split_hold_out(num_normal: int, stored_source_index: np.ndarray, fraction: float, seed: int) -> HoldOut:
    """Keep back ``fraction`` of the normal images and of the stored records.

    Stored records composed on a held-back normal image are held back too, so
    no held-back normal image is seen in training, not even as a background.
    With fewer than 10 normal images or 4 records nothing is held back.
    """
    everything = HoldOut(list(range(num_normal)), [], list(range(len(stored_source_index))), [])
    if fraction <= 0 or num_normal < 10 or len(stored_source_index) < 4:
        return everything
    rng = np.random.default_rng([seed, 7])
    held_normal = sorted(rng.permutation(num_normal)[: max(2, round(fraction * num_normal))].tolist())
    on_held = np.isin(stored_source_index, held_normal)
    remaining = np.flatnonzero(~on_held)
    extra = rng.permutation(remaining)[: max(0, round(fraction * len(stored_source_index)) - int(on_held.sum()))]
    held_stored = sorted(set(np.flatnonzero(on_held).tolist()) | set(extra.tolist()))
    train_stored = [i for i in range(len(stored_source_index)) if i not in set(held_stored)]
    if not train_stored or not held_stored:
        return everything
    train_normal = [i for i in range(num_normal) if i not in set(held_normal)]
    return HoldOut(train_normal, held_normal, train_stored, held_stored)


def materialise(item: Item, normal: NormalSet, pool: SyntheticPool) -> tuple[np.ndarray, np.ndarray, int]:
    """Return (image, mask, normal index) for one planned item."""
    if item.kind == "normal":
        image = normal.images[item.index]
        return image, np.zeros(image.shape[:2], dtype=bool), item.index
    if item.kind == "stored":
        return pool.images[item.index], pool.masks[item.index], int(pool.source_index[item.index])
    base = normal.images[item.normal_index]
    foreground = normal.foregrounds[item.normal_index]
    mask = anomaly_mask(foreground, np.random.default_rng(item.mask_seed))
    return compose_anomaly(base, pool.sources[item.index], mask, item.blend), mask, item.normal_index
