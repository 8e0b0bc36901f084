"""Feature reconstruction: a small UNet per backbone layer maps features to their normal counterpart."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ReconstructionUNet(nn.Module):
    """Two-level UNet from ``channels`` features to ``channels`` features of the same size."""

    def __init__(self, channels: int, width: int = 64) -> None:
        super().__init__()
        self.encode1 = _conv_block(channels, width)
        self.encode2 = _conv_block(width, width * 2)
        self.bottleneck = _conv_block(width * 2, width * 2)
        self.decode2 = _conv_block(width * 4, width)
        self.decode1 = _conv_block(width * 2, width)
        self.head = nn.Conv2d(width, channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        skip1 = self.encode1(features)
        skip2 = self.encode2(F.max_pool2d(skip1, 2, ceil_mode=True))
        deepest = self.bottleneck(F.max_pool2d(skip2, 2, ceil_mode=True))
        up2 = F.interpolate(deepest, size=skip2.shape[-2:], mode="bilinear", align_corners=False)
        up2 = self.decode2(torch.cat([up2, skip2], dim=1))
        up1 = F.interpolate(up2, size=skip1.shape[-2:], mode="bilinear", align_corners=False)
        up1 = self.decode1(torch.cat([up1, skip1], dim=1))
        return self.head(up1)
