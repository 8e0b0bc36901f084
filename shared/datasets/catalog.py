"""Dataset names, their categories and layouts, and the factory that opens them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.datasets import btad, elpv, folder, mvtec, visa
from shared.datasets.base import DatasetLayoutError, DatasetReader
from shared.datasets.folder import FolderLayout, FolderReader
from shared.paths import DATA_ROOT_ENV, data_root_from_env


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    categories: tuple[str, ...]
    layout: str
    license: str


CATALOG: dict[str, CatalogEntry] = {
    "elpv": CatalogEntry("elpv", "ELPV solar cells, installed with the elpv-dataset package",
                         (elpv.CATEGORY,), "no folder needed: read from the installed package",
                         "cc-by-nc-sa-4.0"),
    "mvtec": CatalogEntry("mvtec", "MVTec-AD", mvtec.MVTEC_CATEGORIES, mvtec.LAYOUT_HELP, "cc-by-nc-sa-4.0"),
    "mpdd": CatalogEntry("mpdd", "MPDD, metal parts", mvtec.MPDD_CATEGORIES, mvtec.LAYOUT_HELP, "cc-by-nc-sa-4.0"),
    "btad": CatalogEntry("btad", "BTAD (beanTech)", btad.BTAD_CATEGORIES, btad.LAYOUT_HELP, "cc-by-nc-sa-4.0"),
    "visa": CatalogEntry("visa", "VisA", visa.VISA_CATEGORIES, visa.LAYOUT_HELP, "cc-by-4.0"),
    "folder": CatalogEntry("folder", "your own images in plain folders", ("custom",), folder.LAYOUT_HELP, "other"),
}
DATASET_NAMES = tuple(CATALOG)
LICENSES = {name: entry.license for name, entry in CATALOG.items()}


def open_dataset(name: str, data_root: Path | None = None, folder_layout: FolderLayout | None = None) -> DatasetReader:
    """Open dataset ``name`` under ``data_root`` (or ``REALNET_DATA_ROOT``).

    ELPV needs no root: its images come with the ``elpv-dataset`` package.
    ``folder`` needs a FolderLayout.
    """
    if name not in CATALOG:
        raise DatasetLayoutError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if name == "elpv":
        return elpv.ElpvReader()
    if name == "folder":
        if folder_layout is None:
            raise DatasetLayoutError(
                "dataset folder needs --train-good DIR (and test folders) or --folder-config FILE\n"
                + folder.LAYOUT_HELP
            )
        return FolderReader(folder_layout)
    root = data_root or data_root_from_env()
    layout = CATALOG[name].layout
    if root is None:
        raise DatasetLayoutError(f"dataset {name} needs a folder: pass --data-root DIR or set {DATA_ROOT_ENV}\n{layout}")
    try:
        if name == "btad":
            return btad.BtadReader(Path(root))
        if name == "visa":
            return visa.VisaReader(Path(root))
        return mvtec.MVTecReader(Path(root), name=name)
    except DatasetLayoutError as error:
        raise DatasetLayoutError(
            f"{error}\nset the folder with --data-root DIR or the {DATA_ROOT_ENV} environment variable"
        ) from error


def format_catalog() -> str:
    """Format the catalog as text: each dataset's categories and expected layout."""
    blocks = []
    for entry in CATALOG.values():
        blocks.append(f"{entry.name}: {entry.description} (licence {entry.license})\n"
                      f"  categories: {', '.join(entry.categories)}\n"
                      + "\n".join("  " + line for line in entry.layout.splitlines()))
    return "\n\n".join(blocks)
