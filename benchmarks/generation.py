"""Generation throughput against its bound: sampling steps times one UNet forward pass.

Prints records per second for 1 and 2 processes, and the ratio of the time
per record to (steps x the time of one UNet forward pass at the same batch,
divided by the batch size). A ratio of 1.0 would mean generation spends all
its time in the UNet; the rest is compositing, I/O and process start-up.

    python benchmarks/generation.py [--records 64] [--steps 20] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from shared.datasets import open_dataset
from synth.config import PRESETS
from synth.model import SynthModelInfo, build_unet, save_model
from synth.precision import resolve_sampling_precision

BIN = Path(sys.executable).parent


def unet_forward_seconds(unet, batch: int, channels: int, size: int, repeats: int = 10) -> float:
    """Median seconds of one forward pass at ``batch``, in the precision `synth generate` picks by default."""
    sample = torch.randn(batch, channels, size, size)
    timesteps = torch.full((batch,), 500)
    labels = torch.zeros(batch, dtype=torch.long)
    times = []
    bf16 = resolve_sampling_precision("auto", torch.device("cpu")) == "bf16"
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        unet(sample, timesteps, class_labels=labels)
        for _ in range(repeats):
            start = time.perf_counter()
            unet(sample, timesteps, class_labels=labels)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def timed_generate(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"generation failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=256, help="stored record size in pixels")
    arguments = parser.parse_args()

    reader = open_dataset("elpv")
    diffusion = PRESETS["cpu"].diffusion
    diffusion.channels = 1
    unet = build_unet(diffusion, 1).eval()
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "model"
        # Untrained weights: the speed of a UNet does not depend on its weight values.
        save_model(model, unet, SynthModelInfo("elpv", reader.categories, diffusion, 0))
        common = ["generate", "--model", str(model), "--num-samples", str(arguments.records),
                  "--steps", str(arguments.steps), "--batch-size", str(arguments.batch_size),
                  "--image-size", str(arguments.image_size), "--records-per-shard", str(arguments.batch_size)]
        env = dict(os.environ)
        one = timed_generate([str(BIN / "synth"), *common, "--output", f"{scratch}/one.zarr"], env)
        two_env = {**env, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // 2))}
        two = timed_generate(
            [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
             "--mixed_precision", "no", "--dynamo_backend", "no", str(BIN / "synth"), *common,
             "--output", f"{scratch}/two.zarr"], two_env,
        )

    forward = unet_forward_seconds(unet, arguments.batch_size, diffusion.channels, diffusion.image_size)
    bound = arguments.steps * forward / arguments.batch_size
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"UNet {sum(p.numel() for p in unet.parameters()) / 1e6:.1f}M parameters at {diffusion.image_size} px, "
          f"{arguments.steps} steps, batch {arguments.batch_size}, {arguments.records} records of "
          f"{arguments.image_size} px")
    print(f"one UNet forward pass at batch {arguments.batch_size}: {forward * 1000:.1f} ms")
    print(f"bound per record (steps x forward / batch): {bound * 1000:.1f} ms")
    for label, seconds in (("1 process", one), ("2 processes", two)):
        per_record = seconds / arguments.records
        print(f"{label:<12} {arguments.records / seconds:6.2f} records/s  {per_record * 1000:8.1f} ms/record  "
              f"ratio to bound {per_record / bound:5.2f}")


if __name__ == "__main__":
    main()
