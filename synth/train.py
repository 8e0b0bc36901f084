"""Training the class-conditional DDPM on normal images, with Accelerate, EMA and resuming."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers import DDPMScheduler
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from shared.datasets import DatasetReader
from shared.settings_diff import differing_settings
from synth.config import DiffusionConfig, TrainConfig, to_json_dict, write_json
from synth.data import load_normal_images
from synth.losses import diffusion_loss
from synth.model import SynthModelInfo, build_unet, save_model
from synth.precision import resolve_mixed_precision
from synth.schedule import PosteriorTerms

logger = logging.getLogger(__name__)

CHECKPOINT_FOLDER = "checkpoint"
STATE_FILE = "train_state.json"


@dataclass
class TrainResult:
    output: Path
    steps: int
    final_loss: float
    seconds_per_step: float


def make_noise_scheduler(config: DiffusionConfig) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule="linear",
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        variance_type=config.variance_type,
        prediction_type="epsilon",
        clip_sample=True,
    )


def _run_signature(dataset: str, categories: list[str], diffusion: DiffusionConfig, train: TrainConfig) -> dict:
    return {
        "dataset": dataset,
        "categories": categories,
        "diffusion": to_json_dict(diffusion),
        "batch_size": train.batch_size,
        "learning_rate": train.learning_rate,
        "seed": train.seed,
    }


def train_diffusion(
    reader: DatasetReader,
    categories: list[str],
    diffusion: DiffusionConfig,
    train: TrainConfig,
    output: Path,
    *,
    accelerator: Accelerator | None = None,
) -> TrainResult:
    """Train (or resume training) a DDPM on the normal images of ``categories``.

    The EMA weights are saved to ``output/unet`` with ``save_pretrained`` and the
    model info to ``output/synth_model.json``. Training state goes to
    ``output/checkpoint`` every ``train.checkpoint_every`` steps; a later call
    with the same settings continues from there.
    """
    output = Path(output)
    # cpu=True is what makes a CPU-only `accelerate launch` form a real multi-process (gloo) group.
    if accelerator is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        mixed_precision = resolve_mixed_precision(train.mixed_precision, device)
        logger.info("training with mixed precision %s on %s", mixed_precision, device.type)
        accelerator = Accelerator(mixed_precision=mixed_precision, cpu=device.type == "cpu")
    set_seed(train.seed, device_specific=True)

    images, labels = load_normal_images(reader, categories, diffusion.image_size, diffusion.channels)
    unet = build_unet(diffusion, len(categories))
    ema = EMAModel(
        unet.parameters(),
        decay=train.ema_max_decay,
        use_ema_warmup=True,
        power=train.ema_power,
        model_cls=type(unet),
        model_config=unet.config,
    )
    optimizer = torch.optim.AdamW(unet.parameters(), lr=train.learning_rate, weight_decay=0.0)
    lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(train.warmup_steps, 1))
    )
    unet, optimizer, lr_scheduler = accelerator.prepare(unet, optimizer, lr_scheduler)
    accelerator.register_for_checkpointing(ema)

    signature = _run_signature(reader.name, categories, diffusion, train)
    checkpoint_dir = output / CHECKPOINT_FOLDER
    start_step = 0
    loss_value = math.nan
    state_path = checkpoint_dir / STATE_FILE
    if state_path.is_file():
        state = json.loads(state_path.read_text())
        if state["signature"] != signature:
            differences = "\n".join(differing_settings(state["signature"], signature))
            raise ValueError(
                f"{output} contains a training run with other settings:\n{differences}\n"
                f"choose another --output or delete {checkpoint_dir}"
            )
        accelerator.load_state(str(checkpoint_dir))
        start_step = int(state["step"])
        loss_value = float(state.get("loss", math.nan))
        logger.info("resuming diffusion training at step %d of %d", start_step, train.steps)

    noise_scheduler = make_noise_scheduler(diffusion)
    terms = PosteriorTerms.from_betas(noise_scheduler.betas)
    learned = diffusion.variance_type == "learned_range"
    generator = torch.Generator().manual_seed(train.seed * 1000 + accelerator.process_index)
    # Skip the random draws of finished steps so a resumed run draws fresh batches.
    for _ in range(start_step):
        torch.randint(0, len(images), (train.batch_size,), generator=generator)

    unet.train()
    if start_step == 0:
        loss_value = math.nan
    recent: list[float] = []
    progress = tqdm(
        range(start_step, train.steps), initial=start_step, total=train.steps,
        desc="synth train", disable=not accelerator.is_main_process,
    )
    started = time.perf_counter()
    for step in progress:
        index = torch.randint(0, len(images), (train.batch_size,), generator=generator)
        x0 = images[index].to(accelerator.device)
        class_labels = labels[index].to(accelerator.device)
        noise = torch.randn(x0.shape, generator=generator).to(accelerator.device)
        timesteps = torch.randint(0, diffusion.num_train_timesteps, (train.batch_size,), generator=generator)
        x_t = noise_scheduler.add_noise(x0, noise, timesteps).to(accelerator.device)

        with accelerator.autocast():
            model_output = unet(x_t, timesteps.to(accelerator.device), class_labels=class_labels).sample
        loss = diffusion_loss(
            model_output, noise, x0, x_t, timesteps, terms, learned_variance=learned, vlb_weight=train.vlb_weight
        )
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        lr_scheduler.step()
        optimizer.zero_grad()
        ema.step(accelerator.unwrap_model(unet).parameters())

        recent = (recent + [loss.item()])[-50:]
        loss_value = sum(recent) / len(recent)
        progress.set_postfix(loss=f"{loss_value:.4f}")

        done = step + 1
        if done % train.checkpoint_every == 0 or done == train.steps:
            accelerator.wait_for_everyone()
            accelerator.save_state(str(checkpoint_dir))
            if accelerator.is_main_process:
                write_json(state_path, {"step": done, "signature": signature, "loss": loss_value})
    elapsed = time.perf_counter() - started
    steps_run = max(train.steps - start_step, 1)

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        final = build_unet(diffusion, len(categories))
        ema.copy_to(final.parameters())
        info = SynthModelInfo(reader.name, categories, diffusion, train.steps, loss_value)
        save_model(output, final, info)
        logger.info("saved diffusion model to %s (loss %.4f)", output, loss_value)
    return TrainResult(output, train.steps, loss_value, elapsed / steps_run)
