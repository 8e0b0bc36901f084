"""The RealNet detector as one ``nn.Module`` with a typed, JSON-serialisable configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from detector.backbone import DEFAULT_LAYERS, EMBEDDED_BACKBONE, build_backbone
from detector.reconstruction import ReconstructionUNet
from detector.rrs import ResidualSelection, SegmentationDecoder, SelectionMode, stack_residuals
from detector.smoothing import GaussianSmoothing

# Channels AFS keeps per layer. The wide_resnet50_2 values are the reference
# implementation's; the Lite0 values keep a similar share of each layer.
DEFAULT_AFS_CHANNELS = {
    "wide_resnet50_2": (256, 512, 512, 256),
    EMBEDDED_BACKBONE: (24, 40, 56, 40),
}
DEFAULT_RRS_TOP_K = {"wide_resnet50_2": 256, EMBEDDED_BACKBONE: 32}


@dataclass
class DetectorConfig:
    """Everything needed to rebuild a detector; saved as ``config.json`` in a checkpoint."""

    dataset: str = "elpv"
    category: str = "cells"
    backbone: str = EMBEDDED_BACKBONE
    layers: tuple[int, ...] = DEFAULT_LAYERS
    image_size: int = 256
    afs_channels: tuple[int, ...] = ()
    recon_width: int = 64
    rrs_top_k: int = 0
    rrs_mode: SelectionMode = "max_avg"
    decoder_width: int = 64
    score_pool: int = 16
    map_sigma: float = 4.0
    afs_enabled: bool = True

    def __post_init__(self) -> None:
        self.layers = tuple(self.layers)
        self.afs_channels = tuple(self.afs_channels)
        if self.image_size < 32 or self.image_size % 32:
            raise ValueError(f"image size {self.image_size} must be a multiple of 32 and at least 32")
        if self.recon_width < 1 or self.decoder_width < 2:
            raise ValueError(f"widths must be positive (reconstruction {self.recon_width}) and at least 2 "
                             f"(decoder {self.decoder_width})")
        if not 0 <= self.map_sigma < float("inf") or int(4 * self.map_sigma + 0.5) >= self.image_size:
            raise ValueError(f"map smoothing sigma {self.map_sigma} must be >= 0 and its reach (4 sigma) "
                             f"below the image size {self.image_size}")
        if self.score_pool < 1:
            raise ValueError(f"score pooling size must be >= 1, got {self.score_pool}")

    def resolve(self, backbone_channels: list[int]) -> None:
        """Fill in defaults that depend on the backbone's channel counts."""
        if not self.afs_channels:
            defaults = DEFAULT_AFS_CHANNELS.get(self.backbone)
            if defaults is None or len(defaults) != len(backbone_channels):
                defaults = tuple(max(1, c // 2) for c in backbone_channels)
            self.afs_channels = tuple(min(k, c) for k, c in zip(defaults, backbone_channels))
        if not self.afs_enabled:
            self.afs_channels = tuple(backbone_channels)
        if len(self.afs_channels) != len(backbone_channels):
            raise ValueError(
                f"{len(self.afs_channels)} AFS channel counts given for {len(backbone_channels)} backbone layers"
            )
        for count, available in zip(self.afs_channels, backbone_channels):
            if not 1 <= count <= available:
                raise ValueError(f"AFS channel count {count} must lie in [1, {available}]")
        if not self.rrs_top_k:
            self.rrs_top_k = min(DEFAULT_RRS_TOP_K.get(self.backbone, 128), sum(self.afs_channels) // 2)


@dataclass
class DetectorOutput:
    """Forward results. ``logits`` are (B, 2, H, W); ``anomaly_map`` (B, H, W) in [0, 1]; ``score`` (B,)."""

    logits: torch.Tensor
    anomaly_map: torch.Tensor
    score: torch.Tensor
    features: list[torch.Tensor] = field(default_factory=list)
    reconstructions: list[torch.Tensor] = field(default_factory=list)


class RealNet(nn.Module):
    """Backbone, AFS channel indices, per-layer reconstruction, RRS and decoder."""

    def __init__(self, config: DetectorConfig, *, load_backbone_weights: bool = True,
                 backbone_weights=None) -> None:
        super().__init__()
        self.backbone = build_backbone(config.backbone, config.layers, backbone_weights, load_backbone_weights)
        config.resolve(self.backbone.channels)
        self.config = config
        for layer, count in enumerate(config.afs_channels):
            self.register_buffer(f"afs_index_{layer}", torch.arange(count, dtype=torch.long))
            self.register_buffer(f"feature_mean_{layer}", torch.zeros(1, count, 1, 1))
            self.register_buffer(f"feature_std_{layer}", torch.ones(1, count, 1, 1))
        self.reconstruction = nn.ModuleList(
            ReconstructionUNet(count, config.recon_width) for count in config.afs_channels
        )
        self.selection = ResidualSelection(sum(config.afs_channels), config.rrs_top_k, config.rrs_mode)
        self.decoder = SegmentationDecoder(self.selection.out_channels, config.decoder_width)
        self.smoothing = GaussianSmoothing(config.map_sigma)

    @property
    def afs_indices(self) -> list[torch.Tensor]:
        return [getattr(self, f"afs_index_{layer}") for layer in range(len(self.config.afs_channels))]

    def set_afs_indices(self, indices: list[torch.Tensor]) -> None:
        for layer, index in enumerate(indices):
            getattr(self, f"afs_index_{layer}").copy_(index)

    def set_feature_statistics(self, means: list[torch.Tensor], stds: list[torch.Tensor]) -> None:
        """Set the per-channel mean and standard deviation of normal features used for standardising."""
        for layer, (mean, std) in enumerate(zip(means, stds)):
            getattr(self, f"feature_mean_{layer}").copy_(mean.reshape(1, -1, 1, 1))
            getattr(self, f"feature_std_{layer}").copy_(std.reshape(1, -1, 1, 1).clamp(min=1e-6))

    @torch.no_grad()
    def backbone_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return all channels of every selected layer, for images (B, 3, H, W) in [0, 1]."""
        return self.backbone(images)

    @torch.no_grad()
    def raw_selected_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return the AFS-selected channels of every layer, as the backbone outputs them."""
        return [f.index_select(1, index) for f, index in zip(self.backbone(images), self.afs_indices)]

    @torch.no_grad()
    def selected_features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return the AFS-selected channels of every layer, standardised with normal-image statistics.

        NOTE: the reference feeds raw wide_resnet50_2 features. Standardising each
        channel puts the layers' reconstruction losses and residuals on one scale,
        which EfficientNet's unbounded projection outputs need.
        """
        layers = self.raw_selected_features(images)
        return [
            (f - getattr(self, f"feature_mean_{i}")) / getattr(self, f"feature_std_{i}")
            for i, f in enumerate(layers)
        ]

    def forward(self, images: torch.Tensor, features: list[torch.Tensor] | None = None) -> DetectorOutput:
        if features is None:
            features = self.selected_features(images)
        reconstructions = [unet(f) for unet, f in zip(self.reconstruction, features)]
        # Residual r = (F - F_hat)^2 per layer.
        residuals = [(f - r) ** 2 for f, r in zip(features, reconstructions)]
        selected = self.selection(stack_residuals(residuals))
        logits = self.decoder(selected, images.shape[-2:])
        # The softmax probability of the anomalous class, written as a sigmoid of the logit difference.
        logits = logits.float()
        anomaly_map = self.smoothing(torch.sigmoid(logits[:, 1] - logits[:, 0]))
        return DetectorOutput(logits, anomaly_map, image_score(anomaly_map, self.config.score_pool),
                              features, reconstructions)


def image_score(anomaly_map: torch.Tensor, pool: int) -> torch.Tensor:
    """Image score: the maximum of the anomaly map after ``pool`` x ``pool`` average pooling (stride 1).

    The square window is averaged as a column pass then a row pass, which gives
    the same values at a fraction of the cost of one ``pool`` x ``pool`` kernel.
    """
    columns = F.avg_pool2d(anomaly_map[:, None], kernel_size=(pool, 1), stride=1)
    return F.avg_pool2d(columns, kernel_size=(1, pool), stride=1).amax(dim=(1, 2, 3))
