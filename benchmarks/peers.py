"""This toolkit against anomalib's models on the same images, splits, size and backbone weights.

Creates a separate virtual environment with anomalib (so this package's
dependencies stay as they are), writes each dataset in a plain folder layout
at 256x256, runs every peer there through ``peer_runner.py``, and computes
every method's metrics with this package's code from the maps it produced.

    python benchmarks/peers.py --mpdd-root ../shared/data/mpdd [--skip-elpv] [--methods patchcore padim draem]

Data: MPDD metal_plate (54 train / 26 good / 71 defective test) and the ELPV
split this package uses (300 train; 150 good, 150 defective test; no masks).
PatchCore and PaDiM get the embedded EfficientNet-Lite0 weights; DRAEM and
SuperSimpleNet train networks of their own for ``--peer-epochs`` epochs
(far fewer than their defaults, which would take hours on a CPU);
SuperSimpleNet also gets the Lite0 weights, DRAEM has no backbone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZE = 256


def peer_environment(folder: Path) -> Path:
    """Create (once) a virtual environment with anomalib next to the pinned torch; return its python."""
    python = folder / "bin" / "python"
    if (folder / ".installed").is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(folder / "bin" / "pip"), "install", "--quiet"]
    subprocess.run([*pip, "torch==2.14.1", "torchvision==0.29.1"], check=True)
    subprocess.run([*pip, "anomalib"], check=True)
    (folder / ".installed").write_text("ok\n")
    return python


def write_folder(records, target: Path, with_masks: bool) -> list[str]:
    """Write records resized to SIZE in train/good, test/good, test/<defect>, ground_truth/<defect>."""
    from shared.imageio import load_mask, load_rgb, resize_mask, resize_rgb

    order = []
    for record in records:
        folder = "train/good" if record.split == "train" else f"test/{record.defect_type if record.label else 'good'}"
        path = target / folder / f"{record.image_path.stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Written under a temporary name first, so an interrupted run leaves no truncated image behind.
            partial = path.with_name(path.stem + ".partial.png")
            Image.fromarray(resize_rgb(load_rgb(record.image_path), SIZE)).save(partial)
            partial.rename(path)
        if record.split == "test":
            order.append(str(path.resolve()))
            if with_masks and record.label:
                mask_path = target / "ground_truth" / record.defect_type / f"{record.image_path.stem}.png"
                mask_path.parent.mkdir(parents=True, exist_ok=True)
                mask = resize_mask(load_mask(record.mask_path), SIZE)
                Image.fromarray((mask * 255).astype(np.uint8)).save(mask_path)
    return order


def metrics_from_maps(scores, maps, labels, masks) -> dict:
    from detector.metrics import aupro, auroc

    result = {"image_auroc": auroc(scores, labels), "pixel_auroc": None, "aupro": None}
    if masks is not None:
        result["pixel_auroc"] = auroc(maps.ravel(), masks.ravel())
        result["aupro"] = aupro(maps, masks)
    return result


def run_peer(python: Path, method: str, data: Path, output: Path, masks: bool, epochs: int,
             timeout: int = 1800, textures: Path | None = None, coreset: float = 0.1) -> dict | str:
    from detector.backbone import embedded_weights_file

    command = [str(python), str(ROOT / "benchmarks" / "peer_runner.py"), "--method", method, "--data", str(data),
               "--output", str(output), "--weights", str(embedded_weights_file()), "--size", str(SIZE),
               "--epochs", str(epochs)]
    if masks:
        command.append("--masks")
    if textures is not None:
        command += ["--textures", str(textures)]
    command += ["--coreset", str(coreset)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    if result.returncode != 0:
        last = [line for line in result.stderr.splitlines() if line.strip()][-1:] or ["failed"]
        return last[0][:160]
    return dict(np.load(output, allow_pickle=False))


def own_method(dataset: str, root: Path | None, category: str, work: Path, epochs: int,
               seeds: list[int]) -> dict:
    """Run this toolkit's whole chain, with one detector fit per training seed, and time each stage."""
    common = ["--dataset", dataset, "--category", category] + (["--data-root", str(root)] if root else [])
    stages = [
        ("train", [str(BIN / "synth"), "train", *common, "--output", str(work / "model")]),
        ("generate", [str(BIN / "synth"), "generate", *common, "--model", str(work / "model"),
                      "--num-samples", "128", "--output", str(work / "s.zarr")]),
    ]
    for seed in seeds:
        stages.append((f"fit_{seed}", [str(BIN / "detector"), "fit", *common, "--shards", str(work / "s.zarr"),
                                       "--epochs", str(epochs), "--seed", str(seed),
                                       "--output", str(work / f"detector_seed{seed}")]))
    timings = {}
    for name, command in stages:
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        timings[name] = time.perf_counter() - start
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mpdd-root", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "peers")
    parser.add_argument("--methods", nargs="+", default=["patchcore", "padim", "draem", "supersimplenet"])
    parser.add_argument("--peer-epochs", type=int, default=10, help="epochs of the peers that train (DRAEM, SuperSimpleNet)")
    parser.add_argument("--textures", type=Path, default=None,
                        help="DTD-style texture folder for DRAEM's anomaly source, for example ../shared/data/dtd")
    parser.add_argument("--own-epochs", type=int, default=None,
                        help="detector fit epochs of this toolkit (default: 20 on MPDD, 4 on ELPV as in the demo)")
    parser.add_argument("--own-seeds", type=int, nargs="+", default=[0],
                        help="training seeds of this toolkit's detector; several give a mean and a range")
    parser.add_argument("--skip-elpv", action="store_true")
    parser.add_argument("--skip-mpdd", action="store_true")
    parser.add_argument("--skip-own", action="store_true")
    arguments = parser.parse_args()

    from detector.checkpoint import load_checkpoint
    from detector.evaluate import ground_truth_masks, predict_records
    from shared.datasets import open_dataset

    python = peer_environment(arguments.work / "venv")
    datasets = []
    if not arguments.skip_mpdd:
        datasets.append(("mpdd", arguments.mpdd_root, "metal_plate", True, arguments.own_epochs or 20))
    if not arguments.skip_elpv:
        datasets.append(("elpv", None, "cells", False, arguments.own_epochs or 4))
    rows = []
    for dataset, root, category, has_masks, epochs in datasets:
        reader = open_dataset(dataset, root)
        records = reader.records(category, "train") + reader.records(category, "test")
        data = arguments.work / "data" / dataset
        order = write_folder(records, data, has_masks)
        test = reader.records(category, "test")
        labels = np.array([r.label for r in test])
        masks = ground_truth_masks(test, SIZE) if has_masks else None

        if not arguments.skip_own:
            work = arguments.work / "own" / dataset
            timings = own_method(dataset, root, category, work, epochs, arguments.own_seeds)
            for seed in arguments.own_seeds:
                model = load_checkpoint(work / f"detector_seed{seed}" / category)
                start = time.perf_counter()
                predictions = predict_records(model, test, batch_size=1)
                per_image = (time.perf_counter() - start) / len(test)
                metrics = metrics_from_maps(predictions.scores, predictions.maps, labels, masks)
                train_seconds = timings["train"] + timings["generate"] + timings[f"fit_{seed}"]
                rows.append((dataset, f"this toolkit (RealNet), seed {seed}", metrics, train_seconds, 1.0 / per_image,
                             f"synth train {timings['train']:.0f} s, generate {timings['generate']:.0f} s, "
                             f"fit {timings[f'fit_{seed}']:.0f} s ({epochs} epochs)"))
            if len(arguments.own_seeds) > 1:
                own = [row[2] for row in rows if row[0] == dataset and row[1].startswith("this toolkit")]
                summary = {key: float(np.mean([m[key] for m in own])) if own[0][key] is not None else None
                           for key in own[0]}
                spread = ", ".join(
                    f"{key} {min(m[key] for m in own):.3f}-{max(m[key] for m in own):.3f}"
                    for key in own[0] if own[0][key] is not None
                )
                rows.append((dataset, f"this toolkit (RealNet), mean of {len(own)} seeds", summary, None, None,
                             f"range: {spread}"))

        for method in arguments.methods:
            result = run_peer(python, method, data, arguments.work / f"{dataset}_{method}.npz", has_masks,
                              arguments.peer_epochs, textures=arguments.textures,
                              # 300 ELPV images give about 1.2M patches, too many for a 10% greedy coreset on a CPU.
                              coreset=0.1 if dataset == "mpdd" else 0.01)
            if isinstance(result, str):
                rows.append((dataset, method, None, None, None, f"failed: {result}"))
                continue
            index = {path: i for i, path in enumerate(result["paths"].tolist())}
            picks = [index[path] for path in order]
            metrics = metrics_from_maps(result["scores"][picks], result["maps"][picks], labels, masks)
            note = "own networks, no backbone" if method == "draem" else "Lite0 weights"
            if method in ("draem", "supersimplenet"):
                note += f", {arguments.peer_epochs} epochs"
            rows.append((dataset, method, metrics, float(result["fit_seconds"]),
                         len(order) / float(result["predict_seconds"]), note))

    def cell(value) -> str:
        return f"{value:.3f}" if isinstance(value, float) else "-"

    print("| data | method | image AUROC | pixel AUROC | AU-PRO@0.3 | train s | images/s | note |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for dataset, method, metrics, seconds, rate, note in rows:
        metrics = metrics or {}
        print(f"| {dataset} | {method} | {cell(metrics.get('image_auroc'))} | {cell(metrics.get('pixel_auroc'))} | "
              f"{cell(metrics.get('aupro'))} | {cell(seconds)} | {cell(rate)} | {note} |")
    (arguments.work / "peers.json").write_text(json.dumps([list(map(str, row)) for row in rows], indent=2))


if __name__ == "__main__":
    main()
