"""RRS: reconstruction residual selection and the segmentation decoder (RealNet, section 3.4).

The residuals of all layers are upsampled to the finest layer's size and
concatenated. A non-affine BatchNorm of that stack ranks the channels, and per
sample the top-k channels by spatial maximum and the top-k by spatial mean
(Max&Avg mode) are kept from the raw residuals. A small decoder turns the
kept residuals into 2-class logits at image size.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

SelectionMode = Literal["max_avg", "max", "avg"]


class ResidualSelection(nn.Module):
    """Per-sample top-k selection of residual channels."""

    def __init__(self, total_channels: int, top_k: int, mode: SelectionMode = "max_avg") -> None:
        super().__init__()
        if not 1 <= top_k <= total_channels:
            raise ValueError(f"RRS top-k {top_k} must lie in [1, {total_channels}] residual channels")
        if mode not in ("max_avg", "max", "avg"):
            raise ValueError(f"RRS mode must be max_avg, max or avg, got {mode!r}")
        self.top_k = top_k
        self.mode = mode
        # Used only to rank channels on a common scale; never applied to the output.
        self.rank_norm = nn.BatchNorm2d(total_channels, affine=False)

    @property
    def out_channels(self) -> int:
        return self.top_k * (2 if self.mode == "max_avg" else 1)

    def forward(self, residuals: torch.Tensor) -> torch.Tensor:
        if self.training:
            ranked = self.rank_norm(residuals)
        else:
            # The same normalisation as the BatchNorm in eval mode, written out so ONNX export
            # does not need the channel count of the concatenated stack.
            mean = self.rank_norm.running_mean[None, :, None, None]
            scale = torch.rsqrt(self.rank_norm.running_var + self.rank_norm.eps)[None, :, None, None]
            ranked = (residuals - mean) * scale
        picks = []
        if self.mode in ("max_avg", "max"):
            picks.append(torch.topk(ranked.amax(dim=(2, 3)), self.top_k, dim=1).indices)
        if self.mode in ("max_avg", "avg"):
            picks.append(torch.topk(ranked.mean(dim=(2, 3)), self.top_k, dim=1).indices)
        index = torch.cat(picks, dim=1)
        gather_index = index[:, :, None, None].expand(-1, -1, *residuals.shape[-2:])
        return torch.gather(residuals, 1, gather_index)


class SegmentationDecoder(nn.Module):
    """Convolutional decoder from selected residuals to 2-class logits at the requested size."""

    def __init__(self, in_channels: int, width: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width * 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(width * 2, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.refine = nn.Sequential(
            nn.Conv2d(width, width // 2, 3, padding=1, bias=False),
            nn.BatchNorm2d(width // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(width // 2, 2, 1),
        )

    def forward(self, selected: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        hidden = self.body(selected)
        hidden = F.interpolate(hidden, scale_factor=2, mode="bilinear", align_corners=False)
        logits = self.refine(hidden)
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def stack_residuals(residuals: list[torch.Tensor]) -> torch.Tensor:
    """Upsample every layer's residual to the finest size and concatenate along channels."""
    size = residuals[0].shape[-2:]
    resized = [r if r.shape[-2:] == size else F.interpolate(r, size=size, mode="bilinear", align_corners=False)
               for r in residuals]
    return torch.cat(resized, dim=1)
