"""Gaussian smoothing of anomaly maps, as a module so it runs inside the model and its ONNX export."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class GaussianSmoothing(nn.Module):
    """Separable Gaussian blur of (B, H, W) maps with reflected borders; ``sigma`` 0 leaves maps as they are.

    The kernel reaches 4 sigma to each side; maps must be wider and taller than that reach.
    """

    def __init__(self, sigma: float) -> None:
        super().__init__()
        if not math.isfinite(sigma) or sigma < 0:
            raise ValueError(f"map smoothing sigma must be a finite number >= 0, got {sigma}")
        self.sigma = float(sigma)
        radius = int(4 * sigma + 0.5)
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
        kernel = torch.exp(-offsets**2 / (2 * sigma**2)) if sigma > 0 else torch.ones(1)
        self.radius = radius
        self.register_buffer("kernel", kernel / kernel.sum(), persistent=False)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        if self.sigma == 0:
            return maps
        radius, kernel = self.radius, self.kernel
        hidden = F.pad(maps[:, None], (radius, radius, 0, 0), mode="reflect")
        hidden = F.conv2d(hidden, kernel.view(1, 1, 1, -1))
        hidden = F.pad(hidden, (0, 0, radius, radius), mode="reflect")
        return F.conv2d(hidden, kernel.view(1, 1, -1, 1))[:, 0]
