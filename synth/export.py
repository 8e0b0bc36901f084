"""Exporting a shard store as a Hugging Face dataset: Parquet files and a dataset card."""

from __future__ import annotations

import io
import json
import logging
import math
import shutil
from pathlib import Path
from string import Template

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from PIL import Image
from tqdm.auto import tqdm

from shared.datasets.catalog import LICENSES
from shared.shards import ShardStore
from shared.synthetic import EXPORT_INFO_FILE
from synth.info import summarize_store

logger = logging.getLogger(__name__)

CARD_TEMPLATE = Path(__file__).resolve().parent.parent / "data_cards" / "synthetic_anomalies.md"
SOURCE_DATASETS = {"elpv": "elpv", "mvtec": "mvtec-ad", "mpdd": "mpdd"}


def _png(array: np.ndarray) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def _features():
    import datasets

    return datasets.Features({
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "source": datasets.Image(),
        "strength": datasets.Value("float32"),
        "blend": datasets.Value("float32"),
        "source_index": datasets.Value("int64"),
        "seed": datasets.Value("uint64"),
        "kind": datasets.Value("string"),
        "record_index": datasets.Value("int64"),
    })


def size_category(count: int) -> str:
    """Return the Hub's ``size_categories`` label for ``count`` records."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if count < limit:
            return label
    return "n>1M"


def render_card(summary: dict, repo_id: str) -> str:
    """Render the dataset card from the template for the store described by ``summary``."""
    dataset = summary["dataset"]
    categories = list(summary["categories"])
    total = sum(info["records"] for info in summary["categories"].values())
    header = {
        "license": LICENSES.get(dataset, "other"),
        "source_datasets": [SOURCE_DATASETS.get(dataset, dataset)],
        "task_categories": ["image-segmentation"],
        "size_categories": [size_category(total)],
        "tags": ["anomaly-detection", "synthetic", "industrial-inspection", "realnet", "sdas", dataset],
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]}
            for name in categories
        ],
    }
    counts = ["| category | records |", "| --- | --- |"]
    counts += [f"| {name} | {info['records']} |" for name, info in summary["categories"].items()]
    histogram = ["| strength from | to | records |", "| --- | --- | --- |"]
    histogram += [f"| {low:.3f} | {high:.3f} | {count} |" for low, high, count in summary["strength_histogram"]]
    generator = ["| setting | value |", "| --- | --- |"]
    generator += [f"| {key} | {value} |" for key, value in sorted(summary["generator"].items())]
    low, high = summary["generator"].get("strength", [0, 0])
    return Template(CARD_TEMPLATE.read_text()).substitute(
        yaml_header=yaml.safe_dump(header, sort_keys=False).strip(),
        title=f"Synthetic anomalies for {dataset}",
        package_version=summary["package_version"],
        dataset=dataset,
        counts_table="\n".join(counts),
        strength_range=f"{low:g}:{high:g}",
        histogram_table="\n".join(histogram),
        generator_table="\n".join(generator),
        model_hash=summary["model_hash"],
        repo_id=repo_id,
        first_category=categories[0],
        license=header["license"],
    )


def export_store(store_path: Path, output: Path, *, repo_id: str = "ORG/NAME", records_per_file: int = 256) -> Path:
    """Write the store as ``output/data/<category>/train-XXXXX-of-YYYYY.parquet`` plus README.md.

    The output folder is written afresh: an existing folder is replaced only
    once the new export is complete.
    """
    store = ShardStore(store_path)
    summary = summarize_store(store_path)
    output = Path(output)
    staging = output.with_name(output.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    info = {"attributes": store.attrs, "categories": {}}
    features = _features()
    for name in store.categories:
        category = store.category(name)
        if category.missing_shards:
            raise ValueError(
                f"store {store_path} has {len(category.missing_shards)} incomplete shards in {name}; "
                "finish it with the same `synth generate` command before exporting"
            )
        folder = staging / "data" / name
        folder.mkdir(parents=True)
        files = max(1, math.ceil(len(category) / records_per_file))
        for file_index in tqdm(range(files), desc=f"exporting {name}", leave=False):
            rows = {key: [] for key in features}
            for position in range(file_index * records_per_file, min(len(category), (file_index + 1) * records_per_file)):
                record = category.read(position)
                rows["image"].append(_png(record.image))
                rows["mask"].append(_png(record.mask.astype(np.uint8) * 255))
                rows["source"].append(_png(record.source))
                rows["strength"].append(record.strength)
                rows["blend"].append(record.blend)
                rows["source_index"].append(record.source_index)
                rows["seed"].append(record.seed)
                rows["kind"].append(record.kind)
                rows["record_index"].append(record.index)
            # Arrow arrays typed from the features' schema: seeds span the full uint64 range,
            # which datasets.Dataset.from_dict would try to pass through int64.
            schema = features.arrow_schema
            table = pa.table({key: pa.array(values, type=schema.field(key).type) for key, values in rows.items()},
                             schema=schema)
            pq.write_table(table, folder / f"train-{file_index:05d}-of-{files:05d}.parquet")
        info["categories"][name] = {"normal_images": category.normal_images, "records": len(category)}
    (staging / EXPORT_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    (staging / "README.md").write_text(render_card(summary, repo_id))
    if output.exists():
        shutil.rmtree(output)
    staging.rename(output)
    logger.info("exported %s to %s", store_path, output)
    return output
