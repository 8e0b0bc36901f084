"""A summary of a shard store: counts, strength histogram, generator settings and model hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.shards import ShardStore


def strength_histogram(strengths: np.ndarray, low: float, high: float, bins: int = 10) -> list[tuple[float, float, int]]:
    """Counts of strengths in ``bins`` equal bins over [low, high]; one bin when low == high."""
    if len(strengths) == 0:
        return []
    if high <= low:
        return [(low, high, int(len(strengths)))]
    counts, edges = np.histogram(strengths, bins=bins, range=(low, high))
    return [(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(bins)]


def summarize_store(path: Path) -> dict:
    """Return a JSON-friendly summary of the store at ``path``."""
    store = ShardStore(path)
    attrs = store.attrs
    generator = attrs.get("generator", {})
    low, high = generator.get("strength", [0.0, 0.0])
    categories = {}
    all_strengths = []
    for name in store.categories:
        category = store.category(name)
        strengths = category.column("strength") if len(category) else np.zeros(0)
        if len(category):
            # Texture records carry no diffusion strength, so the histogram covers SDAS records only.
            strengths = strengths[category.column("kind") == "sdas"]
        all_strengths.append(strengths)
        kinds, kind_counts = np.unique(category.column("kind"), return_counts=True) if len(category) else ([], [])
        categories[name] = {
            "records": len(category),
            "planned": category.num_records,
            "missing_shards": category.missing_shards,
            "kinds": {str(k): int(c) for k, c in zip(kinds, kind_counts)},
        }
    strengths = np.concatenate(all_strengths) if all_strengths else np.zeros(0)
    return {
        "path": str(path),
        "dataset": attrs.get("dataset"),
        "finalized": attrs.get("finalized", False),
        "categories": categories,
        "strength_histogram": strength_histogram(strengths, low, high),
        "generator": generator,
        "model_hash": attrs.get("model_hash"),
        "package_version": attrs.get("package_version"),
        "image_size": attrs.get("image_size"),
    }


def format_summary(summary: dict) -> str:
    lines = [f"store {summary['path']} ({summary['dataset']}, {summary['image_size']} px, "
             f"{'finalized' if summary['finalized'] else 'not finalized'})", "", "records per category:"]
    for name, info in summary["categories"].items():
        missing = f", {len(info['missing_shards'])} shards missing" if info["missing_shards"] else ""
        lines.append(f"  {name:<20} {info['records']:>6} of {info['planned']}{missing}")
    lines += ["", "strength histogram:"]
    peak = max((count for _, _, count in summary["strength_histogram"]), default=0) or 1
    for low, high, count in summary["strength_histogram"]:
        bar = "#" * round(30 * count / peak)
        lines.append(f"  {low:6.3f} - {high:6.3f} {count:>6} {bar}")
    lines += ["", "generator:"]
    lines += [f"  {key}: {value}" for key, value in sorted(summary["generator"].items())]
    lines += ["", f"model hash: {summary['model_hash']}", f"package version: {summary['package_version']}"]
    return "\n".join(lines)
