"""Helpers shared by the two command-line tools: logging and error reporting."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from shared.datasets import DatasetLayoutError
from shared.imageio import ImageReadError
from shared.shards import ShardWriteError

USER_ERRORS: tuple[type[BaseException], ...] = (
    DatasetLayoutError, ImageReadError, ShardWriteError, ValueError, FileNotFoundError,
)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("accelerate", "diffusers", "timm", "urllib3", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def report_user_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's input errors into a one-paragraph message and exit status 2."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from error

    return wrapper


def _defect_pairs(ctx, param, values):
    pairs = {}
    for value in values:
        name, separator, folder = value.partition("=")
        if not separator or not name or not folder:
            raise click.BadParameter(f"{value!r} must look like NAME=DIR, for example scratch=images/scratch")
        pairs[name] = folder
    return pairs


def folder_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that describe a ``--dataset folder`` layout."""
    options = [
        click.option("--folder-config", type=click.Path(path_type=Path), default=None,
                     help="YAML or TOML file with the folder layout (dataset folder)."),
        click.option("--train-good", type=click.Path(path_type=Path), default=None,
                     help="Folder of good training images (dataset folder)."),
        click.option("--test-good", type=click.Path(path_type=Path), default=None,
                     help="Folder of good test images (dataset folder)."),
        click.option("--test-defect", "test_defects", multiple=True, callback=_defect_pairs,
                     help="Defect type and folder as NAME=DIR, repeatable (dataset folder)."),
        click.option("--masks", type=click.Path(path_type=Path), default=None,
                     help="Folder of masks paired with images by stem (dataset folder)."),
        click.option("--mask-suffix", default="", help="Suffix of mask stems, such as _mask (dataset folder)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def folder_layout_from_options(folder_config, train_good, test_good, test_defects, masks, mask_suffix,
                               category: str | None = None):
    """Build a FolderLayout from a file or from the individual options; None when neither is given."""
    from shared.datasets.folder import FolderLayout

    if folder_config is not None:
        layout = FolderLayout.from_file(folder_config)
    elif train_good is not None:
        layout = FolderLayout.from_mapping({
            "train_good": str(train_good), "test_good": str(test_good) if test_good else None,
            "test_defects": dict(test_defects or {}), "masks": str(masks) if masks else None,
            "mask_suffix": mask_suffix,
        })
    else:
        return None
    if category:
        layout.category = category
    return layout
