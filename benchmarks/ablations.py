"""Ablations of the detector on one category: which parts of RealNet carry the result.

Each variant fits a detector on the same synthetic store and evaluates it on
the real test split, then one table is printed:

- baseline: AFS on, RRS Max&Avg, the default width and epochs
- no_afs: every backbone channel kept
- rrs_max, rrs_avg: one RRS criterion instead of both
- recon_32, recon_16: narrower reconstruction UNets
- decoder_32, decoder_16: a narrower segmentation decoder
- no_smoothing: anomaly maps without the Gaussian smoothing
- short, long: half and twice the epochs
- strength_low, strength_high: only the lower or upper half of the stored strengths
- store_NAME (one per --store NAME=PATH): the same fit on another store, such
  as one generated with another strength range or with --source texture|both
- any --variant NAME="FIT OPTIONS", such as seed_1="--seed 1" to see how far
  a different training seed moves the baseline

    python benchmarks/ablations.py --dataset mpdd --data-root DIR --category metal_plate \\
        --shards runs/mpdd/synth/anomalies.zarr [--store texture=T.zarr ...] [--epochs 20] \\
        [--image-size 256] [--only baseline long] [--json results.json]

Every variant is evaluated on the category's test split, so the table
describes the method; it is not a way to pick a checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mpdd")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--category", required=True)
    parser.add_argument("--shards", required=True)
    parser.add_argument("--store", action="append", default=[], metavar="NAME=PATH",
                        help="another synthetic store to fit on with the baseline settings; repeatable")
    parser.add_argument("--variant", action="append", default=[], metavar='NAME="OPTIONS"',
                        help="another variant: `detector fit` options added to the baseline's; repeatable")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--only", nargs="*", default=None, help="run only these variants")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    arguments = parser.parse_args()

    from shared.synthetic import open_synthetic

    strengths = open_synthetic(arguments.shards).category(arguments.category).column("strength")
    middle = float((strengths.min() + strengths.max()) / 2)
    variants = {
        "baseline": [],
        "no_afs": ["--no-afs"],
        "rrs_max": ["--rrs-mode", "max"],
        "rrs_avg": ["--rrs-mode", "avg"],
        "recon_32": ["--recon-width", "32"],
        "recon_16": ["--recon-width", "16"],
        "decoder_32": ["--decoder-width", "32"],
        "decoder_16": ["--decoder-width", "16"],
        "no_smoothing": ["--map-sigma", "0"],
        "short": ["--epochs", str(max(1, arguments.epochs // 2))],
        "long": ["--epochs", str(arguments.epochs * 2)],
        "strength_low": ["--strength", f"{strengths.min():.4f}:{middle:.4f}"],
        "strength_high": ["--strength", f"{middle:.4f}:{strengths.max():.4f}"],
    }
    for spec in arguments.store:
        name, separator, path = spec.partition("=")
        if not separator or not name or not path:
            parser.error(f"--store {spec!r} must read NAME=PATH, such as texture=runs/texture.zarr")
        variants[f"store_{name}"] = ["--shards", path]
    for spec in arguments.variant:
        name, separator, options = spec.partition("=")
        if not separator or not name:
            parser.error(f"--variant {spec!r} must read NAME=OPTIONS, such as seed_1='--seed 1'")
        variants[name] = shlex.split(options)
    if arguments.only:
        variants = {name: extra for name, extra in variants.items() if name in arguments.only}

    common = ["--dataset", arguments.dataset, "--category", arguments.category]
    if arguments.data_root:
        common += ["--data-root", str(arguments.data_root)]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, extra in variants.items():
            output = Path(scratch) / name
            # Later options win in click, so a variant's --epochs or --shards replaces the default one.
            fit = ["fit", *common, "--shards", arguments.shards, "--epochs", str(arguments.epochs),
                   "--image-size", str(arguments.image_size), *extra, "--output", str(output)]
            start = time.perf_counter()
            result = subprocess.run([str(BIN / "detector"), *fit], capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if result.returncode != 0:
                print(f"{name}: fit failed\n{result.stderr[-1500:]}", file=sys.stderr)
                continue
            metrics_file = Path(scratch) / f"{name}.json"
            evaluate = ["evaluate", "--checkpoint", str(output / arguments.category), "--output", str(metrics_file)]
            if arguments.data_root:
                evaluate += ["--data-root", str(arguments.data_root)]
            subprocess.run([str(BIN / "detector"), *evaluate], capture_output=True, text=True, check=True)
            metrics = json.loads(metrics_file.read_text())
            rows.append((name, metrics, seconds))
            print(f"finished {name}: image AUROC {metrics['image_auroc']:.4f}, AU-PRO {metrics['aupro']:.4f}, "
                  f"fit {seconds:.0f} s", file=sys.stderr, flush=True)
            if arguments.json:
                arguments.json.write_text(json.dumps(
                    [{"variant": n, "fit_seconds": t, **m} for n, m, t in rows], indent=2))

    def cell(value) -> str:
        return f"{value:.4f}" if value is not None else "-"

    print("| variant | image AUROC | pixel AUROC | AU-PRO@0.3 | fit s |")
    print("| --- | --- | --- | --- | --- |")
    for name, metrics, seconds in rows:
        print(f"| {name} | {cell(metrics['image_auroc'])} | {cell(metrics['pixel_auroc'])} | "
              f"{cell(metrics['aupro'])} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
