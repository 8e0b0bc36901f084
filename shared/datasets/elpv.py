"""Reader for ELPV, the electroluminescence solar-cell images in the ``elpv-dataset`` package.

ELPV (Deitsch et al., 2019; Apache-2.0 package, CC BY-NC-SA 4.0 images) has 2,624
300x300 grayscale cells, each with a defect probability of 0, 1/3, 2/3 or 1 and
no pixel masks. Normal cells are those with probability 0, anomalous cells those
with probability 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.datasets.base import DatasetLayoutError, DatasetReader, ImageRecord, Split

CATEGORY = "cells"


def _package_labels() -> Path:
    try:
        import elpv_dataset
    except ImportError as error:
        raise DatasetLayoutError(
            "the ELPV images come from the elpv-dataset package; install it with "
            "`pip install elpv-dataset`"
        ) from error
    return Path(elpv_dataset.__file__).parent / "data" / "labels.csv"


class ElpvReader(DatasetReader):
    """ELPV with a fixed, seeded split.

    Normal cells are shuffled with ``numpy.random.default_rng(seed)``; the first
    ``train_size`` train and the next ``test_normal`` are normal test cells.
    ``test_anomalous`` cells with probability 1 are drawn with the same generator.
    Cells with probability 1/3 or 2/3 are left out unless ``include_uncertain``
    is set; then they join the test split as anomalous, with the defect type
    ``probability_0.33`` or ``probability_0.67``.
    """

    name = "elpv"
    has_masks = False
    grayscale = True

    def __init__(
        self,
        labels_file: Path | None = None,
        *,
        seed: int = 0,
        train_size: int = 300,
        test_normal: int = 150,
        test_anomalous: int = 150,
        include_uncertain: bool = False,
    ) -> None:
        self.labels_file = Path(labels_file) if labels_file else _package_labels()
        if not self.labels_file.is_file():
            raise DatasetLayoutError(f"ELPV labels file not found: {self.labels_file}")
        self.root = self.labels_file.parent
        paths, probabilities = self._read_labels()
        normal = np.flatnonzero(probabilities == 0.0)
        anomalous = np.flatnonzero(probabilities == 1.0)
        if train_size + test_normal > len(normal) or test_anomalous > len(anomalous):
            raise DatasetLayoutError(
                f"ELPV has {len(normal)} normal and {len(anomalous)} defective cells; "
                f"requested {train_size}+{test_normal} normal and {test_anomalous} defective"
            )
        rng = np.random.default_rng(seed)
        normal = rng.permutation(normal)
        anomalous = rng.permutation(anomalous)[:test_anomalous]
        self._split: dict[Split, list[ImageRecord]] = {
            "train": [self._record(paths[i], "train", 0, "good") for i in normal[:train_size]],
            "test": [
                *[self._record(paths[i], "test", 0, "good") for i in normal[train_size : train_size + test_normal]],
                *[self._record(paths[i], "test", 1, "defective") for i in sorted(anomalous)],
            ],
        }
        self.uncertain_counts = {
            "probability_0.33": int(np.sum(np.isclose(probabilities, 1 / 3, atol=1e-3))),
            "probability_0.67": int(np.sum(np.isclose(probabilities, 2 / 3, atol=1e-3))),
        }
        if include_uncertain:
            for index in np.flatnonzero((probabilities > 0) & (probabilities < 1)):
                defect = "probability_0.33" if probabilities[index] < 0.5 else "probability_0.67"
                self._split["test"].append(self._record(paths[index], "test", 1, defect))

    def _read_labels(self) -> tuple[list[Path], np.ndarray]:
        paths: list[Path] = []
        probabilities: list[float] = []
        for line_number, line in enumerate(self.labels_file.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 3:
                raise DatasetLayoutError(
                    f"{self.labels_file}:{line_number}: expected 'path probability type', got {line!r}"
                )
            paths.append(self.root / fields[0])
            probabilities.append(float(fields[1]))
        return paths, np.asarray(probabilities)

    def _record(self, path: Path, split: Split, label: int, defect: str) -> ImageRecord:
        return ImageRecord(path, CATEGORY, split, label, None, defect)

    @property
    def categories(self) -> list[str]:
        return [CATEGORY]

    def records(self, category: str, split: Split) -> list[ImageRecord]:
        self.check_category(category)
        return list(self._split[split])
