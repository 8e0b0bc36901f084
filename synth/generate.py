"""Generating strength-tagged synthetic anomalies into a sharded Zarr store."""

from __future__ import annotations

import contextlib
import logging
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DModel
from tqdm.auto import tqdm

from shared import shards
from shared.compose import compose_anomaly
from shared.datasets import DatasetReader
from shared.datasets.base import relative_to_root
from shared.foreground import foreground_mask, rule_for
from shared.settings_diff import differing_settings
from shared.imageio import load_rgb, resize_rgb
from shared.perlin import anomaly_mask
from shared.strength import StrengthRange
from synth.data import from_model_tensor
from synth.model import load_model, model_hash
from synth.precision import PRECISIONS, resolve_sampling_precision
from synth.sampler import SDASScheduler
from synth.textures import list_textures, texture_source

logger = logging.getLogger(__name__)

class StoreConflictError(ValueError):
    """An existing store was made with other generation settings."""


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of one ``synth generate`` run; stored in the store's attributes."""

    strength: StrengthRange
    num_samples: int = 64
    steps: int = 20
    seed: int = 0
    image_size: int = 256
    records_per_shard: int = 16
    batch_size: int = 8
    blend_low: float = 0.5
    blend_high: float = 1.0
    texture_blend_low: float = 0.2
    texture_blend_high: float = 1.0
    precision: str = "auto"
    source: str = "sdas"
    textures: str | None = None
    foreground: str | None = None

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ValueError(f"--num-samples must be >= 1, got {self.num_samples}")
        if self.image_size < 16:
            raise ValueError(f"--image-size must be >= 16 pixels, got {self.image_size}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.source not in ("sdas", "texture", "both"):
            raise ValueError(f"--source must be sdas, texture or both, got {self.source!r}")
        if self.source != "sdas" and not self.textures:
            raise ValueError(f"--source {self.source} needs --textures DIR, a folder of texture images such as DTD")

    def to_attributes(self) -> dict:
        data = asdict(self)
        data["strength"] = [self.strength.low, self.strength.high]
        return data


@dataclass(frozen=True)
class RecordPlan:
    """Everything random about one record, drawn from its own seed."""

    category: str
    index: int
    seed: int
    kind: str
    strength: float
    blend: float
    source_index: int
    mask_seed: int
    texture_index: int


def record_seed(base_seed: int, category: str, index: int) -> int:
    """Derive the 64-bit seed of record ``index`` of ``category``, independent of process count and batching."""
    sequence = np.random.SeedSequence([base_seed, zlib.crc32(category.encode()), index])
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


def plan_record(config: GenerateConfig, category: str, index: int, num_normal: int, num_textures: int = 0) -> RecordPlan:
    seed = record_seed(config.seed, category, index)
    rng = np.random.default_rng(seed)
    if config.source == "both":
        kind = "sdas" if rng.random() < 0.5 else "texture"
    else:
        kind = config.source
    strength = float(rng.uniform(config.strength.low, config.strength.high))
    if kind == "sdas":
        blend = float(rng.uniform(config.blend_low, config.blend_high))
    else:
        # Texture records carry no diffusion strength.
        strength = 0.0
        blend = float(rng.uniform(config.texture_blend_low, config.texture_blend_high))
    return RecordPlan(
        category=category,
        index=index,
        seed=seed,
        kind=kind,
        strength=strength,
        blend=blend,
        source_index=int(rng.integers(0, num_normal)),
        mask_seed=int(rng.integers(0, 2**63)),
        texture_index=int(rng.integers(0, num_textures)) if num_textures else -1,
    )


@torch.no_grad()
def sample_sdas(
    unet: UNet2DModel,
    scheduler: SDASScheduler,
    plans: list[RecordPlan],
    class_labels: torch.Tensor,
    channels: int,
    size: int,
    precision: str = "fp32",
) -> torch.Tensor:
    """Sample one SDAS image per plan; every draw of noise comes from the record's own seed.

    ``precision`` is ``bf16`` (autocast) or ``fp32``, as resolved by ``resolve_sampling_precision``.
    """
    generators = [torch.Generator().manual_seed(plan.seed % (2**63)) for plan in plans]
    device = next(unet.parameters()).device
    shape = (channels, size, size)
    # Noise is drawn on the CPU from each record's generator, so every record gets the same noise on any device.
    sample = torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)
    strength = torch.tensor([plan.strength for plan in plans], device=device)
    class_labels = class_labels.to(device)
    if precision == "bf16":
        autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext()
    for step_index, timestep in enumerate(scheduler.timesteps):
        with autocast:
            output = unet(sample, timestep.expand(len(plans)).to(device), class_labels=class_labels).sample
        noise = torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)
        sample = scheduler.step(output.float(), step_index, sample, strength, noise).prev_sample
    return sample


@dataclass
class GenerateResult:
    output: Path
    records: dict[str, int]
    shards_written: int
    shards_skipped: int
    records_written: int = 0


def _check_existing(output: Path, expected: dict) -> bool:
    """Return True when ``output`` contains a store made with ``expected`` settings."""
    try:
        existing = shards.ShardStore(output).attrs
    except shards.ShardStoreError:
        return False
    stored = {key: existing.get(key) for key in expected}
    if stored != expected:
        lines = differing_settings(stored, expected)
        raise StoreConflictError(
            f"store {output} was generated with other settings:\n" + "\n".join(lines)
            + "\nre-run with the stored settings to complete it, pass --overwrite to start afresh, "
            "or choose another --output"
        )
    return True


def _diffusion_summary(info) -> dict | None:
    if info is None:
        return None
    return {"train_steps": info.train_steps, "image_size": info.diffusion.image_size,
            "channels": info.diffusion.channels, "variance_type": info.diffusion.variance_type}


def _create_store(path: Path, **kwargs) -> None:
    try:
        shards.create_store(path, **kwargs)
    except OSError as error:
        raise shards.ShardWriteError(
            f"cannot create the shard store at {path}: {error}; choose a writable --output with free space"
        ) from error


def generate(
    reader: DatasetReader,
    categories: list[str],
    model_dir: Path,
    config: GenerateConfig,
    output: Path,
    *,
    overwrite: bool = False,
    process_index: int = 0,
    num_processes: int = 1,
    wait_for_everyone=lambda: None,
) -> GenerateResult:
    """Generate ``config.num_samples`` records per category into the store at ``output``.

    Each process writes the shards whose index modulo ``num_processes`` equals
    its ``process_index``; complete shards of an earlier run with the same
    settings are kept.
    """
    unet = info = scheduler = None
    if config.source != "texture":
        unet, info = load_model(model_dir)
        unknown = [c for c in categories if c not in info.categories]
        if unknown:
            raise ValueError(
                f"the diffusion model in {model_dir} was trained on {info.categories}, not on {unknown}; "
                f"train it with `synth train --category ...`"
            )
        scheduler = SDASScheduler.from_config(info.diffusion, config.steps)
        if torch.cuda.is_available():
            unet = unet.to(torch.device("cuda", process_index % torch.cuda.device_count()))
        # The store records the resolved precision, because bf16 and fp32 sample different images.
        device = next(unet.parameters()).device
        config = replace(config, precision=resolve_sampling_precision(config.precision, device))
    textures = list_textures(Path(config.textures)) if config.source != "sdas" else []
    normal = {category: reader.normal_train(category) for category in categories}
    root = getattr(reader, "root", Path("."))
    expected = {
        "dataset": reader.name,
        "categories": categories,
        "generator": config.to_attributes(),
        "model_hash": model_hash(model_dir) if info is not None else None,
    }

    if process_index == 0:
        exists = output.exists() and not overwrite and _check_existing(output, expected)
        if not exists:
            _create_store(
                output,
                dataset=reader.name,
                categories={category: config.num_samples for category in categories},
                normal_images={c: [relative_to_root(r.image_path, root) for r in normal[c]] for c in categories},
                image_size=config.image_size,
                records_per_shard=config.records_per_shard,
                attributes={**expected, "diffusion": _diffusion_summary(info)},
            )
    wait_for_everyone()
    store = shards.ShardStore(output)

    jobs = []
    for category in categories:
        group = store.category(category)
        for shard_index in range(shards.shard_count(config.num_samples, config.records_per_shard)):
            if shard_index % num_processes != process_index:
                continue
            if shard_index in group.complete_shards:
                continue
            jobs.append((category, shard_index))
    skipped = sum(len(store.category(c).complete_shards) for c in categories)
    records_before = sum(len(store.category(c)) for c in categories)

    rule_cache: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def normal_image(category: str, index: int) -> tuple[np.ndarray, np.ndarray]:
        key = (category, index)
        if key not in rule_cache:
            image = resize_rgb(load_rgb(normal[category][index].image_path), config.image_size)
            rule = rule_for(reader.name, category, config.foreground)
            rule_cache[key] = (image, foreground_mask(image, rule))
        return rule_cache[key]

    progress = tqdm(total=sum(len(shards.shard_range(s, config.num_samples, config.records_per_shard))
                              for _, s in jobs), desc="synth generate", disable=process_index != 0)
    for category, shard_index in jobs:
        label = info.categories.index(category) if info is not None else 0
        plans = [
            plan_record(config, category, index, len(normal[category]), len(textures))
            for index in shards.shard_range(shard_index, config.num_samples, config.records_per_shard)
        ]
        sources: dict[int, np.ndarray] = {}
        diffusion_plans = [plan for plan in plans if plan.kind == "sdas"]
        for start in range(0, len(diffusion_plans), config.batch_size):
            batch = diffusion_plans[start : start + config.batch_size]
            samples = sample_sdas(
                unet, scheduler, batch, torch.full((len(batch),), label, dtype=torch.long),
                info.diffusion.channels, info.diffusion.image_size, config.precision,
            )
            for plan, sample in zip(batch, from_model_tensor(samples)):
                sources[plan.index] = resize_rgb(sample, config.image_size)
            progress.update(len(batch))
        for plan in plans:
            if plan.kind == "texture":
                texture_rng = np.random.default_rng([plan.seed, 1])
                sources[plan.index] = texture_source(textures[plan.texture_index], config.image_size, texture_rng)
                progress.update(1)

        images, masks, resized_sources = [], [], []
        for plan in plans:
            base, foreground = normal_image(category, plan.source_index)
            source = sources[plan.index]
            mask = anomaly_mask(foreground, np.random.default_rng(plan.mask_seed))
            images.append(compose_anomaly(base, source, mask, plan.blend))
            masks.append(mask.astype(np.uint8) * 255)
            resized_sources.append(source)

        shards.write_shard(
            output, category, shard_index,
            shards.RecordBatch(
                image=np.stack(images),
                mask=np.stack(masks),
                source=np.stack(resized_sources),
                strength=np.array([p.strength for p in plans], dtype=np.float32),
                blend=np.array([p.blend for p in plans], dtype=np.float32),
                source_index=np.array([p.source_index for p in plans], dtype=np.int64),
                seed=np.array([p.seed for p in plans], dtype=np.uint64),
                kind=np.array([p.kind for p in plans]),
            ),
        )
    progress.close()
    wait_for_everyone()
    if process_index == 0:
        shards.mark_finalized(output)
    # Counted from the completion markers, so the figure covers every process.
    final = shards.ShardStore(output)
    written = sum(len(final.category(c)) for c in categories) - records_before
    return GenerateResult(output, {c: config.num_samples for c in categories}, len(jobs), skipped, written)
