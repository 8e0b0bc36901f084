"""Helpers shared by the two command-line tools: logging and error reporting."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
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
