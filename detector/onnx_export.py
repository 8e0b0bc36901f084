"""Export of the whole inference path (backbone, AFS, reconstruction, RRS, map and score) to ONNX."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from detector.checkpoint import load_checkpoint

logger = logging.getLogger(__name__)


class InferenceGraph(nn.Module):
    """RGB images in [0, 1], shape (B, 3, S, S), to (anomaly map (B, S, S), image score (B,))."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = self.model(images)
        return output.anomaly_map, output.score


def export_onnx(checkpoint: Path, output: Path, opset: int = 17) -> Path:
    """Write an ONNX file with a dynamic batch dimension; the input is named ``images``."""
    model = load_checkpoint(checkpoint)
    size = model.config.image_size
    graph = InferenceGraph(model)
    example = torch.rand(2, 3, size, size)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            graph, (example,), str(output), input_names=["images"], output_names=["anomaly_map", "score"],
            dynamic_axes={"images": {0: "batch"}, "anomaly_map": {0: "batch"}, "score": {0: "batch"}},
            opset_version=opset, dynamo=False,
        )
    logger.info("exported %s to %s", checkpoint, output)
    return output
