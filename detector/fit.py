"""Training one RealNet detector per category: AFS, then reconstruction and RRS."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from detector.afs import channel_errors, select_channels
from detector.calibration import calibrate
from detector.checkpoint import save_checkpoint
from detector.data import (
    HoldOut,
    default_device,
    model_device,
    NormalSet,
    SyntheticPool,
    load_normal_set,
    load_synthetic_pool,
    materialise,
    plan_epoch,
    split_hold_out,
    to_tensor,
)
from detector.model import DetectorConfig, RealNet
from shared.datasets import DatasetReader
from shared.settings_diff import differing_settings
from shared.synthetic import open_synthetic

logger = logging.getLogger(__name__)

STATE_FILE = "training_state.pt"


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings of ``detector fit``."""

    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 5e-4
    afs_batches: int = 64
    synthetic_share: float = 0.5
    holdout_fraction: float = 0.1
    false_positive_rate: float = 0.01
    seed: int = 0
    strength_low: float | None = None
    strength_high: float | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"--epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ValueError(f"--batch-size must be >= 2 (batch normalisation), got {self.batch_size}")
        if not 0.0 < self.synthetic_share < 1.0:
            raise ValueError(f"synthetic share must lie in (0, 1), got {self.synthetic_share}")


@dataclass
class FitResult:
    output: Path
    epochs: int
    final_loss: float
    seconds: float
    model: RealNet


def _batches(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@torch.no_grad()
def run_afs(model: RealNet, normal: NormalSet, pool: SyntheticPool, batch_size: int, max_batches: int,
            indices: list[int]) -> list[torch.Tensor]:
    """Select channels with AFS over up to ``max_batches`` batches of the stored pairs at ``indices``."""
    sums: list[torch.Tensor] | None = None
    batches = _batches(list(indices), batch_size)[:max_batches]
    for batch in tqdm(batches, desc="AFS", leave=False):
        device = model_device(model)
        anomalous = model.backbone_features(to_tensor(pool.images[batch], device))
        normal_images = normal.images[pool.source_index[batch]]
        reference = model.backbone_features(to_tensor(normal_images, device))
        masks = torch.from_numpy(pool.masks[batch]).float()[:, None].to(device)
        errors = [channel_errors(a, n, masks) for a, n in zip(anomalous, reference)]
        sums = errors if sums is None else [s + e for s, e in zip(sums, errors)]
    assert sums is not None
    return select_channels(sums, list(model.config.afs_channels))


@torch.no_grad()
def feature_statistics(model: RealNet, normal: NormalSet, batch_size: int,
                       indices: list[int]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-channel mean and standard deviation of the selected features over the normal images at ``indices``."""
    sums = squares = None
    count = 0
    for batch in _batches(list(indices), batch_size):
        layers = [f.double() for f in model.raw_selected_features(to_tensor(normal.images[batch], model_device(model)))]
        batch_sums = [f.sum(dim=(0, 2, 3)) for f in layers]
        batch_squares = [(f**2).sum(dim=(0, 2, 3)) for f in layers]
        sums = batch_sums if sums is None else [a + b for a, b in zip(sums, batch_sums)]
        squares = batch_squares if squares is None else [a + b for a, b in zip(squares, batch_squares)]
        count += len(batch)
    assert sums is not None and squares is not None
    positions = [count * f.shape[2] * f.shape[3] for f in layers]
    means = [s / n for s, n in zip(sums, positions)]
    stds = [torch.sqrt((q / n - m**2).clamp(min=0)) for q, n, m in zip(squares, positions, means)]
    return [m.float() for m in means], [s.float() for s in stds]


@torch.no_grad()
def cache_normal_features(model: RealNet, normal: NormalSet, batch_size: int) -> list[torch.Tensor]:
    """Selected backbone features of every normal training image, computed once."""
    parts: list[list[torch.Tensor]] = []
    for batch in tqdm(_batches(list(range(len(normal.images))), batch_size), desc="normal features", leave=False):
        parts.append(model.selected_features(to_tensor(normal.images[batch], model_device(model))))
    return [torch.cat(layer) for layer in zip(*parts)]


@torch.no_grad()
def calibrate_thresholds(model: RealNet, normal: NormalSet, pool: SyntheticPool, hold_out: HoldOut,
                         fit: FitConfig) -> dict:
    """Image and pixel thresholds from the held-back normal images and stored records."""
    def predict(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, maps = [], []
        for start in range(0, len(images), fit.batch_size):
            output = model(to_tensor(images[start : start + fit.batch_size], model_device(model)))
            scores.append(output.score.cpu().numpy())
            maps.append(output.anomaly_map.cpu().numpy())
        return np.concatenate(scores), np.concatenate(maps)

    normal_scores, normal_maps = predict(normal.images[hold_out.held_normal])
    anomalous_scores, anomalous_maps = predict(pool.images[hold_out.held_stored])
    thresholds = calibrate(normal_scores, anomalous_scores, anomalous_maps, pool.masks[hold_out.held_stored],
                           normal_maps, fit.false_positive_rate)
    logger.info("calibrated thresholds: image %.4f (F1 %.3f), pixel %.4f (F1 %.3f)", thresholds["image"],
                thresholds["image_f1"], thresholds["pixel"], thresholds["pixel_f1"])
    return thresholds


def _signature(config: DetectorConfig, fit: FitConfig, store: str | Path) -> dict:
    # The epoch count is left out so that a finished run can be extended.
    settings = {key: value for key, value in asdict(fit).items() if key != "epochs"}
    return {"detector": asdict(config), "fit": settings, "shards": str(store)}


def fit_detector(
    reader: DatasetReader,
    category: str,
    store_path: str | Path,
    config: DetectorConfig,
    fit: FitConfig,
    output: Path,
    *,
    backbone_weights: Path | None = None,
    overwrite: bool = False,
) -> FitResult:
    """Train a detector for ``category`` on its normal images and the store's synthetic anomalies.

    Progress is saved to ``output/training_state.pt`` after every epoch; a
    later call with the same settings resumes from the last finished epoch.
    """
    output = Path(output)
    started = time.perf_counter()
    torch.manual_seed(fit.seed)
    reader.check_category(category)
    store = open_synthetic(store_path)
    if store.attrs.get("dataset") != reader.name:
        raise ValueError(
            f"shard store {store_path} was generated for dataset {store.attrs.get('dataset')!r}, not {reader.name!r}"
        )
    # Re-compositions use the same foreground rule as the generator did.
    foreground = (store.attrs.get("generator") or {}).get("foreground")
    normal = load_normal_set(reader, category, config.image_size, foreground)
    strength_range = None
    if fit.strength_low is not None:
        strength_range = (fit.strength_low, fit.strength_high)
    stored_size = store.attrs.get("image_size")
    if stored_size and stored_size != config.image_size:
        logger.warning("the synthetic records are %d px and are resized to the detector's %d px; generate them "
                       "with --image-size %d to avoid resampling", stored_size, config.image_size, config.image_size)
    pool = load_synthetic_pool(store.category(category), config.image_size, normal, strength_range)
    logger.info("training %s/%s on %d normal images and %d stored anomalies",
                reader.name, category, len(normal.images), len(pool))

    hold_out = split_hold_out(len(normal.images), pool.source_index, fit.holdout_fraction, fit.seed)
    if not hold_out.held_normal:
        logger.warning("too few images to hold any back: the checkpoint gets no calibrated thresholds")
    device = default_device()
    model = RealNet(config, backbone_weights=backbone_weights).to(device)
    optimizer = torch.optim.AdamW(
        [p for name, p in model.named_parameters() if not name.startswith("backbone.")],
        lr=fit.learning_rate, weight_decay=1e-5,
    )
    signature = _signature(model.config, fit, store_path)
    state_path = output / STATE_FILE
    start_epoch = 0
    history: list[float] = []
    rng = np.random.default_rng(fit.seed)
    if overwrite and state_path.is_file():
        state_path.unlink()
    if state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        if state["signature"] != signature:
            differences = "\n".join(differing_settings(state["signature"], signature))
            raise ValueError(
                f"{output} contains a training run with other settings:\n{differences}\n"
                "pass --overwrite to start afresh, or choose another --output"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"])
        history = list(state["history"])
        logger.info("resuming detector training at epoch %d of %d", start_epoch, fit.epochs)
    elif config.afs_enabled:
        model.set_afs_indices(run_afs(model, normal, pool, fit.batch_size, fit.afs_batches, hold_out.train_stored))
    if start_epoch == 0:
        model.set_feature_statistics(*feature_statistics(model, normal, fit.batch_size, hold_out.train_normal))

    cached = cache_normal_features(model, normal, fit.batch_size)
    epochs = tqdm(range(start_epoch, fit.epochs), initial=start_epoch, total=fit.epochs, desc="detector fit")
    for epoch in epochs:
        model.train()
        losses = []
        items = plan_epoch(rng, hold_out.train_normal, hold_out.train_stored, fit.synthetic_share)
        batches = [b for b in _batches(items, fit.batch_size) if len(b) >= 2]
        for batch in tqdm(batches, desc=f"epoch {epoch + 1}", leave=False):
            samples = [materialise(item, normal, pool) for item in batch]
            images = to_tensor(np.stack([s[0] for s in samples]), device)
            masks = torch.from_numpy(np.stack([s[1] for s in samples])).long().to(device)
            normal_index = torch.tensor([s[2] for s in samples])
            targets = [layer[normal_index] for layer in cached]
            is_normal = torch.tensor([item.kind == "normal" for item in batch])
            if is_normal.all():
                features = targets
            else:
                # Normal items reuse their cached features; only composites go through the backbone.
                features = [t.clone() for t in targets]
                composite = (~is_normal).nonzero().flatten()
                fresh = model.selected_features(images[composite])
                for layer, values in zip(features, fresh):
                    layer[composite] = values
            output_ = model(images, features)
            recon_loss = sum(F.mse_loss(r, t) for r, t in zip(output_.reconstructions, targets))
            seg_loss = F.cross_entropy(output_.logits, masks)
            loss = recon_loss + seg_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
        epochs.set_postfix(loss=f"{history[-1]:.4f}")
        output.mkdir(parents=True, exist_ok=True)
        torch.save(
            {"signature": signature, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "epoch": epoch + 1,
             "history": history},
            state_path,
        )

    model.eval()
    thresholds = calibrate_thresholds(model, normal, pool, hold_out, fit) if hold_out.held_normal else None
    seconds = time.perf_counter() - started
    save_checkpoint(model, output, thresholds=thresholds, training={
        "epochs": fit.epochs,
        "loss_history": history,
        "fit": asdict(fit),
        "shards": str(store_path),
        "shard_records": len(pool),
        "normal_images": len(normal.images),
        "held_out_normal_images": [normal.relative_paths[i] for i in hold_out.held_normal],
        "held_out_records": len(hold_out.held_stored),
        "model_hash": store.attrs.get("model_hash"),
        "strength": store.attrs.get("generator", {}).get("strength"),
        "seconds": round(seconds, 1),
    })
    logger.info("saved detector checkpoint to %s", output)
    return FitResult(output, fit.epochs, history[-1] if history else float("nan"), seconds, model.cpu())
