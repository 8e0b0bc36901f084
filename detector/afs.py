"""AFS: anomaly-aware feature selection (RealNet, Zhang et al., CVPR 2024, section 3.2).

For each backbone layer and channel, AFS measures how well the channel's
response to a synthetic anomaly matches the anomaly mask:

    d = (F(anomalous) - F(normal))^2, min-max normalised per channel over
        all positions of the batch
    error_c = mean over positions of (d_c - M)^2, M = mask at the layer's size

The errors are summed over batches and the k channels with the lowest total
are kept. The indices are fixed after selection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def channel_errors(anomalous: torch.Tensor, normal: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Return the AFS error of every channel for one batch, shape (C,).

    ``anomalous`` and ``normal`` are (B, C, h, w) features; ``masks`` (B, 1, H, W) in {0, 1}.
    """
    difference = (anomalous.float() - normal.float()) ** 2
    low = difference.amin(dim=(0, 2, 3), keepdim=True)
    high = difference.amax(dim=(0, 2, 3), keepdim=True)
    normalised = (difference - low) / (high - low).clamp(min=1e-12)
    target = F.interpolate(masks.float(), size=difference.shape[-2:], mode="bilinear", align_corners=False)
    return ((normalised - target) ** 2).mean(dim=(0, 2, 3))


def select_channels(error_sums: list[torch.Tensor], counts: list[int]) -> list[torch.Tensor]:
    """Keep the ``counts[i]`` channels with the lowest summed error in layer i, in ascending index order."""
    selected = []
    for layer, (errors, count) in enumerate(zip(error_sums, counts)):
        if not 1 <= count <= errors.numel():
            raise ValueError(f"AFS keeps {count} channels of layer {layer}, which has {errors.numel()}")
        order = torch.argsort(errors, stable=True)[:count]
        selected.append(torch.sort(order).values)
    return selected
