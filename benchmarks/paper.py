"""Every category of a benchmark with the paper preset, next to the published RealNet numbers.

The paper preset: a 256x256 diffusion model (GPU scale), SDAS strength
0.1:0.2, wide_resnet50_2 at 256x256 with AFS keeping 256, 512, 512 and 256
channels of layers 1 to 4, and RRS keeping 256 + 256 residual channels.

    python benchmarks/paper.py --dataset mvtec --data-root /data/mvtec [--backbone-weights wrn50.pth]
    python benchmarks/paper.py --dataset mpdd --data-root DIR --tiny   # minutes on a CPU, for checks

``--tiny`` swaps in the tiny diffusion preset, the embedded EfficientNet-Lite0
backbone and a few epochs, so the whole path runs anywhere; its numbers say
nothing about the method.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent

# Mean image AUROC, pixel AUROC and AU-PRO reported by RealNet (CVPR 2024), in percent.
PUBLISHED = {
    "mvtec": (99.6, 99.0, 93.1),
    "mpdd": (96.3, 98.2, None),
    "btad": (96.1, 97.9, None),
    "visa": (97.8, 98.8, None),
}


def run(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(PUBLISHED), required=True)
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--output", type=Path, default=Path("runs/paper"))
    parser.add_argument("--backbone-weights", type=Path, default=None,
                        help="local wide_resnet50_2 weights when the Hub is unreachable")
    parser.add_argument("--tiny", action="store_true", help="tiny settings for a quick check of the whole path")
    arguments = parser.parse_args()

    from shared.datasets import open_dataset

    categories = open_dataset(arguments.dataset, arguments.data_root).categories
    output = arguments.output / arguments.dataset
    common = ["--dataset", arguments.dataset, "--data-root", str(arguments.data_root)]
    timings = {}
    for category in categories:
        model = output / "synth" / category
        store = output / "anomalies" / f"{category}.zarr"
        detector = output / "detector"
        if arguments.tiny:
            train = ["--preset", "tiny"]
            generate = ["--num-samples", "8", "--steps", "5", "--image-size", "64"]
            fit = ["--image-size", "64", "--epochs", "1", "--batch-size", "8"]
        else:
            train = ["--preset", "paper"]
            generate = ["--num-samples", "1000", "--image-size", "256"]
            fit = ["--backbone", "wide_resnet50_2", "--image-size", "256", "--afs-channels", "256,512,512,256",
                   "--rrs-top-k", "256", "--epochs", "40"]
            if arguments.backbone_weights:
                fit += ["--backbone-weights", str(arguments.backbone_weights)]
        started = time.perf_counter()
        run([str(BIN / "synth"), "train", *common, "--category", category, *train, "--output", str(model)])
        run([str(BIN / "synth"), "generate", *common, "--category", category, "--model", str(model),
             "--strength", "0.1:0.2", *generate, "--output", str(store)])
        run([str(BIN / "detector"), "fit", *common, "--category", category, "--shards", str(store), *fit,
             "--output", str(detector)])
        timings[category] = time.perf_counter() - started

    metrics_file = output / "metrics.json"
    run([str(BIN / "detector"), "evaluate", "--checkpoint", str(output / "detector"), "--data-root",
         str(arguments.data_root), "--output", str(metrics_file)])
    report = json.loads(metrics_file.read_text())

    def percent(value) -> str:
        return f"{100 * value:6.1f}" if value is not None else "     -"

    print(f"{'category':<16} {'I-AUROC':>8} {'P-AUROC':>8} {'AU-PRO':>8} {'time s':>8}")
    for category, metrics in report["categories"].items():
        print(f"{category:<16} {percent(metrics['image_auroc']):>8} {percent(metrics['pixel_auroc']):>8} "
              f"{percent(metrics['aupro']):>8} {timings.get(category, 0):8.0f}")
    print(f"{'mean':<16} {percent(report['image_auroc']):>8} {percent(report['pixel_auroc']):>8} "
          f"{percent(report['aupro']):>8}")
    published = PUBLISHED[arguments.dataset]
    print(f"{'RealNet (paper)':<16} " + " ".join(f"{v:>8.1f}" if v is not None else f"{'-':>8}" for v in published))
    if arguments.tiny:
        print("tiny settings: these numbers check the pipeline, not the method")


if __name__ == "__main__":
    main()
