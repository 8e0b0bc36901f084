"""Fixtures: the real test images and a tiny trained diffusion model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_DATA_ENV = "REALNET_TEST_DATA"
DEFAULT_TEST_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of real test images: $REALNET_TEST_DATA, else shared/data beside the checkout."""
    root = Path(os.environ.get(TEST_DATA_ENV, DEFAULT_TEST_DATA))
    if not (root / "mpdd" / "metal_plate").is_dir():
        pytest.fail(f"real test data not found at {root}; set {TEST_DATA_ENV} to the folder holding mpdd/ and dtd/")
    return root


@pytest.fixture(scope="session")
def mpdd_root(test_data: Path) -> Path:
    return test_data / "mpdd"


@pytest.fixture(scope="session")
def metal_plate(mpdd_root: Path) -> Path:
    return mpdd_root / "metal_plate"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mpdd_root: Path) -> Path:
    """A tiny DDPM trained for a few steps on the metal_plate images."""
    from shared.datasets import open_dataset
    from synth.config import PRESETS
    from synth.train import train_diffusion

    output = tmp_path_factory.mktemp("synth") / "model"
    preset = PRESETS["tiny"]
    train_diffusion(open_dataset("mpdd", mpdd_root), ["metal_plate"], preset.diffusion, preset.train, output)
    return output
