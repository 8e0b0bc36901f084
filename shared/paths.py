"""Default locations for data and run outputs."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "REALNET_DATA_ROOT"
RUNS_DIR = Path("runs")


def data_root_from_env() -> Path | None:
    """Return the dataset root from ``REALNET_DATA_ROOT``, or None when it is unset."""
    value = os.environ.get(DATA_ROOT_ENV)
    return Path(value) if value else None


def default_run_dir(tool: str, dataset: str) -> Path:
    """Return ``runs/<dataset>/<tool>``, the default output folder of a command."""
    return RUNS_DIR / dataset / tool
