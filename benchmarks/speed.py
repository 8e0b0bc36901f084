"""Inference speed against the backbone alone, and peak memory of fit and predict.

Measures in one run, at the checkpoint's input size:
- detector forward time per image at batch 1 and 16, against the backbone's
  forward pass alone at the same batch (the ratio is the detector's overhead);
- with --widths, the same for untrained detectors of other reconstruction and
  decoder widths (time does not depend on the weights), to show what a
  narrower head would buy;
- peak resident memory (max RSS) of `detector fit` and `detector predict`
  child processes, when a store is given.

    python benchmarks/speed.py --checkpoint runs/mpdd/detector/metal_plate \\
        [--images DIR] [--fit-args "--dataset mpdd --shards S.zarr --epochs 1"] [--widths 32/32 16/16]

Ratios matter more than times: the machine may be shared and noisy.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from detector.checkpoint import load_checkpoint
from detector.model import RealNet

BIN = Path(sys.executable).parent


def median_seconds(function, repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def child_peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Run ``command`` under GNU time; return (seconds, peak resident memory of the command in MiB)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M", *command], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed:\n{result.stderr[-2000:]}")
    peak_lines = [line for line in result.stderr.splitlines() if line.startswith("PEAK_KB ")]
    return seconds, int(peak_lines[-1].split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--images", type=Path, default=None, help="folder of images for the predict memory run")
    parser.add_argument("--fit-args", default=None, help="arguments of a `detector fit` run to measure memory")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--widths", nargs="*", default=[], metavar="RECON/DECODER",
                        help="also time untrained detectors with these reconstruction/decoder widths")
    arguments = parser.parse_args()

    model = load_checkpoint(arguments.checkpoint)
    size = model.config.image_size
    print(f"machine: torch {torch.__version__}, {torch.get_num_threads()} threads; input {size}x{size}; "
          f"backbone {model.config.backbone}")
    models = {f"checkpoint {model.config.recon_width}/{model.config.decoder_width}": model}
    for spec in arguments.widths:
        recon, _, decoder = spec.partition("/")
        if not (recon.isdigit() and decoder.isdigit()):
            parser.error(f"--widths {spec!r} must read RECON/DECODER, such as 32/16")
        config = replace(model.config, recon_width=int(recon), decoder_width=int(decoder))
        models[f"untrained {recon}/{decoder}"] = RealNet(config, load_backbone_weights=False).eval()
    with torch.no_grad():
        for name, candidate in models.items():
            for batch in (1, 16):
                images = torch.rand(batch, 3, size, size)
                backbone = median_seconds(lambda: candidate.backbone(images), arguments.repeats)
                full = median_seconds(lambda: candidate(images), arguments.repeats)
                print(f"{name} (recon/decoder width), batch {batch:>2}: detector {full / batch * 1000:7.1f} ms/image "
                      f"({batch / full:6.1f} images/s), backbone alone {backbone / batch * 1000:7.1f} ms/image, "
                      f"ratio {full / backbone:5.2f}")

    if arguments.images:
        with tempfile.TemporaryDirectory() as scratch:
            seconds, peak = child_peak_rss_mb([str(BIN / "detector"), "predict", "--checkpoint",
                                               str(arguments.checkpoint), str(arguments.images),
                                               "--output", scratch, "--batch-size", "16"])
        count = sum(1 for p in arguments.images.rglob("*") if p.is_file())
        print(f"detector predict on {count} files: {seconds:.1f} s, peak RSS {peak:.0f} MiB")
    if arguments.fit_args:
        with tempfile.TemporaryDirectory() as scratch:
            seconds, peak = child_peak_rss_mb([str(BIN / "detector"), "fit", *shlex.split(arguments.fit_args),
                                               "--output", scratch])
        print(f"detector fit: {seconds:.1f} s, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
