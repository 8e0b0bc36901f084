"""Listing the settings that differ between a stored run and a requested one."""

from __future__ import annotations

from typing import Any


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def differing_settings(stored: dict, requested: dict) -> list[str]:
    """List one line per setting whose stored and requested values differ, nested keys joined by dots."""
    old, new = _flatten(stored), _flatten(requested)
    lines = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            lines.append(f"  {key}: stored {old.get(key)!r}, requested {new.get(key)!r}")
    return lines
