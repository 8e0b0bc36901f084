"""A short GPU check of the paper-scale models: seconds per training step, generation rate, peak memory.

    python benchmarks/gpu_smoke.py --dataset mpdd --data-root DIR --category metal_plate [--steps 300]

Trains the paper-preset diffusion model for ``--steps`` steps, samples a batch
with SDAS, and times detector training steps with wide_resnet50_2 (random
weights, which time the same as ImageNet ones) at 256x256. Exits with a
message on a machine without CUDA.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mpdd")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--category", default=None)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    arguments = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this check needs a GPU")

    from detector.model import DetectorConfig, RealNet
    from shared.datasets import open_dataset
    from shared.strength import parse_strength
    from synth.config import PRESETS
    from synth.generate import GenerateConfig, RecordPlan, sample_sdas
    from synth.precision import resolve_sampling_precision
    from synth.model import load_model
    from synth.sampler import SDASScheduler
    from synth.train import train_diffusion

    device = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    reader = open_dataset(arguments.dataset, arguments.data_root)
    category = arguments.category or reader.categories[0]
    preset = PRESETS["paper"]
    train = dataclasses.replace(preset.train, steps=arguments.steps, batch_size=arguments.batch_size,
                                checkpoint_every=arguments.steps)
    with tempfile.TemporaryDirectory() as scratch:
        torch.cuda.reset_peak_memory_stats()
        result = train_diffusion(reader, [category], preset.diffusion, train, Path(scratch) / "model")
        print(f"diffusion training: {result.seconds_per_step:.3f} s/step at batch {arguments.batch_size}, "
              f"256 px; peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")

        unet, info = load_model(Path(scratch) / "model")
        unet = unet.to(device)
        scheduler = SDASScheduler.from_config(info.diffusion, 20)
        config = GenerateConfig(strength=parse_strength("0.1:0.2"))
        plans = [RecordPlan(category, i, i, "sdas", 0.15, 0.7, 0, 0, -1) for i in range(arguments.batch_size)]
        labels = torch.zeros(len(plans), dtype=torch.long, device=device)
        torch.cuda.synchronize()
        start = time.perf_counter()
        sample_sdas(unet, scheduler, plans, labels, info.diffusion.channels, info.diffusion.image_size,
                    resolve_sampling_precision(config.precision, device))
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        print(f"SDAS generation: {len(plans) / seconds:.2f} images/s (20 steps, batch {len(plans)})")

    torch.cuda.reset_peak_memory_stats()
    model = RealNet(DetectorConfig(backbone="wide_resnet50_2", image_size=256, afs_channels=(256, 512, 512, 256),
                                   rrs_top_k=256), load_backbone_weights=False).to(device).train()
    optimizer = torch.optim.AdamW([p for n, p in model.named_parameters() if not n.startswith("backbone.")], lr=1e-4)
    images = torch.rand(arguments.batch_size, 3, 256, 256, device=device)
    masks = torch.zeros(arguments.batch_size, 256, 256, dtype=torch.long, device=device)
    for step in range(12):
        if step == 2:
            torch.cuda.synchronize()
            start = time.perf_counter()
        output = model(images)
        loss = sum(F.mse_loss(r, f) for r, f in zip(output.reconstructions, output.features))
        loss = loss + F.cross_entropy(output.logits, masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.cuda.synchronize()
    print(f"detector training: {(time.perf_counter() - start) / 10:.3f} s/step at batch {arguments.batch_size}, "
          f"256 px; peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
