"""Dataset names, their default roots, and the factory that opens them."""

from __future__ import annotations

from pathlib import Path

from shared.datasets.base import DatasetLayoutError, DatasetReader
from shared.datasets.elpv import ElpvReader
from shared.datasets.mvtec import LAYOUT_HELP, MVTecReader
from shared.paths import DATA_ROOT_ENV, data_root_from_env

DATASET_NAMES = ("elpv", "mvtec", "mpdd")

LICENSES = {
    "elpv": "cc-by-nc-sa-4.0",
    "mvtec": "cc-by-nc-sa-4.0",
    "mpdd": "cc-by-nc-sa-4.0",
}


def open_dataset(name: str, data_root: Path | None = None) -> DatasetReader:
    """Open dataset ``name`` under ``data_root`` (or ``REALNET_DATA_ROOT``).

    ELPV needs no root: its images come with the ``elpv-dataset`` package.
    """
    if name not in DATASET_NAMES:
        raise DatasetLayoutError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}"
        )
    if name == "elpv":
        return ElpvReader()
    root = data_root or data_root_from_env()
    if root is None:
        raise DatasetLayoutError(
            f"dataset {name} needs a folder: pass --data-root DIR or set {DATA_ROOT_ENV}\n{LAYOUT_HELP}"
        )
    try:
        return MVTecReader(Path(root), name=name)
    except DatasetLayoutError as error:
        raise DatasetLayoutError(
            f"{error}\nset the folder with --data-root DIR or the {DATA_ROOT_ENV} environment variable"
        ) from error
