"""Parsing of SDAS strength ranges such as ``0.1:0.3`` or ``0.2``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrengthRange:
    """A closed interval [low, high] of anomaly strengths ``s``."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.low:g}:{self.high:g}"

    def contains(self, value: float, tolerance: float = 1e-6) -> bool:
        return self.low - tolerance <= value <= self.high + tolerance


def parse_strength(text: str) -> StrengthRange:
    """Parse ``A:B`` or a single value ``A`` into a StrengthRange.

    Raises ValueError for malformed text, negative values or A > B.
    """
    parts = str(text).strip().split(":")
    if len(parts) not in (1, 2) or any(not part.strip() for part in parts):
        raise ValueError(f"strength {text!r} is malformed; write a value such as 0.2 or a range such as 0.1:0.3")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise ValueError(
            f"strength {text!r} is not a number; write a value such as 0.2 or a range such as 0.1:0.3"
        ) from None
    low, high = values[0], values[-1]
    for value in values:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"strength {text!r} must be finite")
        if value < 0:
            raise ValueError(f"strength {text!r} is negative; s must be >= 0 (0 samples normal images)")
    if low > high:
        raise ValueError(f"strength range {text!r} has its lower bound above its upper bound; write {high:g}:{low:g}")
    return StrengthRange(low, high)
