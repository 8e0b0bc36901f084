"""Choice of floating-point precision for diffusion training and sampling.

bfloat16 autocast pays off only where the hardware has a native bf16 path. On
a CPU, oneDNN has bf16 kernels only from AVX-512 onwards. On an AVX2-only CPU
PyTorch falls back to reference kernels: a 3x3 convolution at 64x64 measured
about 75 times slower in bf16 than in fp32 (torch 2.14.1, 2-core AMD EPYC).
``auto`` therefore picks bf16 only where it is fast.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "bf16", "fp32")  # values of `synth generate --precision`
MIXED_PRECISIONS = ("auto", "no", "bf16", "fp16")  # values of `synth train --mixed-precision`


def bf16_is_native(device: torch.device) -> bool:
    """Check whether ``device`` runs bf16 convolutions and matrix products with native kernels."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve_sampling_precision(requested: str, device: torch.device) -> str:
    """Return ``bf16`` or ``fp32`` for sampling on ``device``. ``auto`` picks bf16 only where it is native."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    native = bf16_is_native(device)
    if requested == "auto":
        return "bf16" if native else "fp32"
    if requested == "bf16" and not native:
        _warn_slow_bf16(device, "--precision auto or fp32")
    return requested


def resolve_mixed_precision(requested: str, device: torch.device) -> str:
    """Return Accelerate's ``mixed_precision`` for training on ``device``: ``no``, ``bf16`` or ``fp16``.

    ``auto`` picks bf16 where it is native, else fp16 on CUDA and full precision on a CPU.
    """
    if requested not in MIXED_PRECISIONS:
        raise ValueError(f"mixed precision must be one of {', '.join(MIXED_PRECISIONS)}, got {requested!r}")
    native = bf16_is_native(device)
    if requested == "auto":
        if native:
            return "bf16"
        return "fp16" if device.type == "cuda" else "no"
    if requested == "bf16" and not native:
        _warn_slow_bf16(device, "--mixed-precision auto or no")
    return requested


def _warn_slow_bf16(device: torch.device, alternative: str) -> None:
    logger.warning("bf16 has no native kernels on this %s and may run many times slower than fp32; use %s",
                   device.type, alternative)
