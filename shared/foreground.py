"""Foreground masks that keep synthetic anomalies on the object and off the background.

Each benchmark category has a rule: threshold one channel with Otsu's or the
triangle method, keep the bright or the dark side, then close and open the
result. Categories without a rule use the automatic rule: Otsu on the channel
with the largest between-class variance, with the polarity whose region touches
the image border least. A degenerate result (under 1% or over 99% of the
image) falls back to the whole image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu, threshold_triangle

logger = logging.getLogger(__name__)

Channel = Literal["gray", "red", "green", "blue", "auto"]
Polarity = Literal["bright", "dark", "auto"]

MIN_FRACTION = 0.01
MAX_FRACTION = 0.99


@dataclass(frozen=True)
class ForegroundRule:
    """How to separate an object from its background in one category."""

    full: bool = False
    channel: Channel = "auto"
    method: Literal["otsu", "triangle"] = "otsu"
    polarity: Polarity = "auto"
    closing: int = 5
    opening: int = 3


FULL = ForegroundRule(full=True)
AUTO = ForegroundRule()

# NOTE: only mpdd/metal_plate is checked against real images here; the other
# rules follow each category's published appearance (object brightness against
# its background) and are unverified.
CATEGORY_RULES: dict[str, dict[str, ForegroundRule]] = {
    "mvtec": {
        "carpet": FULL, "grid": FULL, "leather": FULL, "tile": FULL, "wood": FULL,
        "cable": FULL, "transistor": FULL, "zipper": FULL,
        "bottle": ForegroundRule(channel="gray", polarity="bright", closing=7),
        "capsule": ForegroundRule(channel="gray", polarity="bright"),
        "hazelnut": ForegroundRule(channel="gray", polarity="bright", closing=9),
        "metal_nut": ForegroundRule(channel="gray", polarity="bright"),
        "pill": ForegroundRule(channel="gray", polarity="bright"),
        "screw": ForegroundRule(channel="gray", method="triangle", polarity="dark"),
        "toothbrush": ForegroundRule(channel="gray", polarity="bright", closing=7),
    },
    "mpdd": {
        "metal_plate": ForegroundRule(channel="red", polarity="dark", closing=9, opening=5),
        "bracket_black": ForegroundRule(channel="gray", polarity="dark"),
        "bracket_brown": ForegroundRule(channel="blue", polarity="dark"),
        "bracket_white": ForegroundRule(channel="gray", polarity="bright"),
        "connector": ForegroundRule(channel="auto", polarity="auto"),
        "tubes": ForegroundRule(channel="gray", polarity="dark"),
    },
    "btad": {"01": FULL, "02": FULL, "03": AUTO},
    "visa": {
        "candle": ForegroundRule(channel="gray", polarity="bright", closing=9),
        "capsules": AUTO, "cashew": AUTO, "chewinggum": AUTO, "fryum": AUTO,
        "macaroni1": AUTO, "macaroni2": AUTO, "pipe_fryum": AUTO,
        "pcb1": FULL, "pcb2": FULL, "pcb3": FULL, "pcb4": FULL,
    },
    "elpv": {"cells": FULL},
}


def parse_rule(text: str) -> ForegroundRule:
    """Parse ``auto``, ``full`` or ``METHOD:CHANNEL:POLARITY`` such as ``otsu:blue:dark``."""
    if text == "auto":
        return AUTO
    if text == "full":
        return FULL
    parts = text.split(":")
    methods, channels, polarities = ("otsu", "triangle"), ("gray", "red", "green", "blue", "auto"), ("bright", "dark", "auto")
    if len(parts) != 3 or parts[0] not in methods or parts[1] not in channels or parts[2] not in polarities:
        raise ValueError(
            f"foreground rule {text!r} is invalid; use auto, full or METHOD:CHANNEL:POLARITY with METHOD in "
            f"{'|'.join(methods)}, CHANNEL in {'|'.join(channels)}, POLARITY in {'|'.join(polarities)}"
        )
    return ForegroundRule(method=parts[0], channel=parts[1], polarity=parts[2])


def rule_for(dataset: str, category: str, override: str | None = None) -> ForegroundRule:
    """Return ``override`` when given, else the category's rule, else the automatic rule."""
    if override:
        return parse_rule(override)
    return CATEGORY_RULES.get(dataset, {}).get(category, AUTO)


def _channels(image: np.ndarray) -> dict[str, np.ndarray]:
    rgb = image.astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return {"gray": gray, "red": rgb[..., 0], "green": rgb[..., 1], "blue": rgb[..., 2]}


def _between_class_variance(values: np.ndarray, threshold: float) -> float:
    above = values > threshold
    weight = above.mean()
    if weight in (0.0, 1.0):
        return 0.0
    return float(weight * (1 - weight) * (values[above].mean() - values[~above].mean()) ** 2)


def _border_fraction(mask: np.ndarray) -> float:
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    return float(border.mean())


def foreground_mask(image: np.ndarray, rule: ForegroundRule) -> np.ndarray:
    """Return the (H, W) bool foreground of an RGB uint8 image under ``rule``."""
    height, width = image.shape[:2]
    if rule.full:
        return np.ones((height, width), dtype=bool)

    channels = _channels(image)
    if rule.channel == "auto":
        scores = {}
        for name, values in channels.items():
            if values.max() == values.min():
                continue
            scores[name] = _between_class_variance(values, threshold_otsu(values))
        if not scores:
            return np.ones((height, width), dtype=bool)
        channel_name = max(scores, key=scores.get)
    else:
        channel_name = rule.channel
    values = channels[channel_name]
    if values.max() == values.min():
        return np.ones((height, width), dtype=bool)

    threshold = threshold_otsu(values) if rule.method == "otsu" else threshold_triangle(values)
    bright = values > threshold
    if rule.polarity == "bright":
        mask = bright
    elif rule.polarity == "dark":
        mask = ~bright
    else:
        # The object is the side that touches the image border least.
        mask = bright if _border_fraction(bright) <= _border_fraction(~bright) else ~bright

    if rule.closing > 1:
        mask = ndimage.binary_closing(mask, structure=np.ones((rule.closing, rule.closing)), border_value=0)
    if rule.opening > 1:
        mask = ndimage.binary_opening(mask, structure=np.ones((rule.opening, rule.opening)))

    fraction = float(mask.mean())
    if not MIN_FRACTION <= fraction <= MAX_FRACTION:
        logger.debug("foreground covers %.1f%% of the image; using the whole image", 100 * fraction)
        return np.ones((height, width), dtype=bool)
    return mask
