"""The ``synth`` command: train the diffusion model and generate synthetic anomalies."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import click

from shared.cli_support import configure_logging, folder_layout_from_options, folder_options, report_user_errors
from shared.datasets import DATASET_NAMES, open_dataset
from shared.paths import DATA_ROOT_ENV, default_run_dir
from shared.strength import parse_strength

logger = logging.getLogger(__name__)

DEFAULT_STRENGTH = "0.1:0.2"


def _open(dataset, data_root, categories, folder):
    """Open the dataset named by the options; ``folder`` contains the folder-layout options."""
    layout = folder_layout_from_options(**folder, category=categories[0] if dataset == "folder" and categories else None)
    return open_dataset(dataset, data_root, layout)


def _categories(reader, requested: tuple[str, ...]) -> list[str]:
    for category in requested:
        reader.check_category(category)
    return list(requested) or reader.categories


def _strength_option(ctx, param, value):
    try:
        return parse_strength(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


dataset_option = click.option(
    "--dataset", type=click.Choice(DATASET_NAMES), default="elpv", show_default=True,
    help="Dataset to read; elpv comes with the elpv-dataset package and needs no folder.",
)
data_root_option = click.option(
    "--data-root", type=click.Path(path_type=Path), default=None,
    help=f"Folder of the dataset (the one holding its categories). Default: ${DATA_ROOT_ENV}.",
)
category_option = click.option(
    "--category", "categories", multiple=True, help="Category to use; repeat for several. Default: all."
)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train a diffusion model on normal images and synthesise strength-tagged anomalies (SDAS)."""
    configure_logging(verbose)


@main.command()
@dataset_option
@data_root_option
@category_option
@click.option("--preset", type=click.Choice(["cpu", "tiny", "paper"]), default="cpu", show_default=True,
              help="Model and training preset: cpu (minutes on a laptop), tiny (tests), paper (256 px, GPUs).")
@click.option("--image-size", type=int, default=None, help="Diffusion resolution in pixels. Default: the preset's.")
@click.option("--steps", type=int, default=None, help="Training steps. Default: the preset's.")
@click.option("--batch-size", type=int, default=None, help="Images per step and process. Default: the preset's.")
@click.option("--channels", type=click.Choice(["auto", "1", "3"]), default="auto", show_default=True,
              help="Model colour channels; auto uses 1 when the images are grayscale.")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--mixed-precision", type=click.Choice(["auto", "no", "bf16", "fp16"]), default=None,
              help="Autocast while training; auto uses bf16 only where the hardware runs it natively, "
                   "else fp16 on a GPU and none on a CPU. Default: the preset's (auto; paper: fp16).")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Model folder. Default: runs/<dataset>/synth/model.")
@folder_options
@report_user_errors
def train(dataset, data_root, categories, preset, image_size, steps, batch_size, channels, seed, mixed_precision,
          output, **folder) -> None:
    """Train the class-conditional DDPM on the normal training images; resumes an interrupted run."""
    from synth.config import PRESETS
    from synth.data import is_grayscale
    from synth.train import train_diffusion

    reader = _open(dataset, data_root, categories, folder)
    chosen = _categories(reader, categories)
    settings = PRESETS[preset]
    diffusion = dataclasses.replace(settings.diffusion)
    train_config = dataclasses.replace(settings.train, seed=seed)
    if image_size is not None:
        diffusion = dataclasses.replace(diffusion, image_size=image_size)
    if steps is not None:
        if steps < 1:
            raise click.BadParameter(f"--steps must be >= 1, got {steps}")
        train_config = dataclasses.replace(train_config, steps=steps)
    if batch_size is not None:
        if batch_size < 1:
            raise click.BadParameter(f"--batch-size must be >= 1, got {batch_size}")
        train_config = dataclasses.replace(train_config, batch_size=batch_size)
    if mixed_precision is not None:
        train_config = dataclasses.replace(train_config, mixed_precision=mixed_precision)
    if channels == "auto":
        gray = reader.grayscale or all(is_grayscale(reader.normal_train(c)) for c in chosen)
        diffusion = dataclasses.replace(diffusion, channels=1 if gray else 3)
    else:
        diffusion = dataclasses.replace(diffusion, channels=int(channels))
    output = output or default_run_dir("synth", dataset) / "model"
    result = train_diffusion(reader, chosen, diffusion, train_config, output)
    click.echo(
        f"trained {result.steps} steps ({result.seconds_per_step:.2f} s/step), loss {result.final_loss:.4f}; "
        f"model saved to {result.output}"
    )


@main.command()
@dataset_option
@data_root_option
@category_option
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="Diffusion model folder from `synth train`. Default: runs/<dataset>/synth/model.")
@click.option("--strength", default=DEFAULT_STRENGTH, show_default=True, callback=_strength_option,
              help="Anomaly strength s, a range A:B drawn uniformly per record, or one value.")
@click.option("--num-samples", type=int, default=64, show_default=True, help="Records per category.")
@click.option("--steps", type=int, default=20, show_default=True, help="Respaced sampling steps.")
@click.option("--seed", type=int, default=0, show_default=True, help="Base seed; a record's seed derives from it.")
@click.option("--image-size", type=int, default=256, show_default=True, help="Stored record size in pixels.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Records sampled together.")
@click.option("--records-per-shard", type=int, default=16, show_default=True, help="Records in one Zarr shard.")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
              help="UNet arithmetic while sampling; auto uses bf16 only where the hardware runs it natively.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Zarr store. Default: runs/<dataset>/synth/anomalies.zarr.")
@click.option("--overwrite", is_flag=True, help="Delete an existing store and start afresh.")
@click.option("--source", type=click.Choice(["sdas", "texture", "both"]), default="sdas", show_default=True,
              help="Anomaly source: diffusion samples, augmented textures, or each with probability 1/2.")
@click.option("--textures", type=click.Path(path_type=Path), default=None,
              help="Folder of texture images (DTD style, searched recursively) for --source texture|both.")
@click.option("--foreground", default=None,
              help="Foreground rule: auto, full or METHOD:CHANNEL:POLARITY such as otsu:blue:dark. "
                   "Default: the category's rule.")
@folder_options
@report_user_errors
def generate(dataset, data_root, categories, model_dir, strength, num_samples, steps, seed, image_size,
             batch_size, records_per_shard, precision, output, overwrite, source, textures, foreground,
             **folder) -> None:
    """Sample SDAS anomalies, compose them into normal images and write them to a Zarr store."""
    import torch
    from accelerate import PartialState

    from synth.generate import GenerateConfig, generate as run_generate
    from synth.model import load_model_info

    from shared.foreground import parse_rule
    from synth.textures import list_textures

    if foreground:
        parse_rule(foreground)
    config = GenerateConfig(
        strength=strength, num_samples=num_samples, steps=steps, seed=seed, image_size=image_size,
        records_per_shard=records_per_shard, batch_size=batch_size, precision=precision, source=source,
        textures=str(Path(textures).resolve()) if textures else None, foreground=foreground,
    )
    if textures:
        list_textures(textures)
    model_dir = model_dir or default_run_dir("synth", dataset) / "model"
    if source != "texture":
        load_model_info(model_dir)
    reader = _open(dataset, data_root, categories, folder)
    chosen = _categories(reader, categories)
    output = output or default_run_dir("synth", dataset) / "anomalies.zarr"
    # cpu=True is what makes a CPU-only `accelerate launch` form a real multi-process (gloo) group.
    state = PartialState(cpu=not torch.cuda.is_available())
    result = run_generate(
        reader, chosen, model_dir, config, output, overwrite=overwrite,
        process_index=state.process_index, num_processes=state.num_processes,
        wait_for_everyone=state.wait_for_everyone,
    )
    if state.is_main_process:
        total = sum(result.records.values())
        kept = total - result.records_written
        detail = f"strength {strength}, {steps} steps" if source != "texture" else "texture sources"
        click.echo(f"wrote {result.records_written} records to {result.output} ({detail}); "
                   f"{kept} records of earlier runs kept; {total} in the store")


@main.command()
def datasets() -> None:
    """List the supported datasets with their categories and expected layouts."""
    from shared.datasets.catalog import format_catalog

    click.echo(format_catalog())


@main.command()
@dataset_option
@data_root_option
@category_option
@click.option("--foreground", default=None, help="Rule to show instead of the category's: auto, full or METHOD:CHANNEL:POLARITY.")
@click.option("--count", type=int, default=8, show_default=True, help="Training images on the sheet.")
@click.option("--size", type=int, default=192, show_default=True, help="Tile size in pixels.")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@folder_options
@report_user_errors
def masks(dataset, data_root, categories, foreground, count, size, output, **folder) -> None:
    """Write a contact sheet of training images with their foreground masks overlaid."""
    from synth.contact_sheet import foreground_sheet

    reader = _open(dataset, data_root, categories, folder)
    chosen = _categories(reader, categories)
    foreground_sheet(reader, chosen, output, count=count, size=size, override=foreground)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("store")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="PNG file to write.")
@click.option("--category", default=None, help="Category to show. Default: the first.")
@click.option("--buckets", type=int, default=4, show_default=True, help="Strength buckets (rows).")
@click.option("--per-bucket", type=int, default=4, show_default=True, help="Records per bucket (columns).")
@report_user_errors
def preview(store, output, category, buckets, per_bucket) -> None:
    """Draw records grouped into strength buckets: source, composite and mask for each."""
    from synth.preview import preview_store

    preview_store(store, output, category=category, buckets=buckets, per_bucket=per_bucket)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@report_user_errors
def info(store, as_json) -> None:
    """Print records per category, the strength histogram, the generator settings and the model hash."""
    import json

    from synth.info import format_summary, summarize_store

    summary = summarize_store(store)
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@main.command()
@click.argument("store", type=click.Path(path_type=Path))
@report_user_errors
def verify(store) -> None:
    """Check completeness, shapes, value ranges and checksums; exit 1 on any fault."""
    from shared.shards import ShardStore
    from synth.verify import verify_store

    faults = verify_store(store)
    for fault in faults:
        click.echo(f"FAULT {fault}")
    if faults:
        raise click.exceptions.Exit(1)
    opened = ShardStore(store)
    groups = [opened.category(name) for name in opened.categories]
    records = sum(len(group) for group in groups)
    shard_total = sum(len(group.complete_shards) for group in groups)
    categories = f"{len(groups)} categor{'y' if len(groups) == 1 else 'ies'}"
    click.echo(f"{store}: OK, {records} records in {shard_total} complete shards of {categories}; "
               f"shapes, value ranges and checksums verified")


@main.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(path_type=Path), required=True, help="Folder for the Hugging Face dataset.")
@click.option("--repo-id", default="ORG/NAME", show_default=True, help="Dataset id shown in the card's loading example.")
@report_user_errors
def export(store, output, repo_id) -> None:
    """Write the store as Parquet files with a dataset card, ready for the Hugging Face Hub."""
    from synth.export import export_store

    folder = export_store(store, output, repo_id=repo_id)
    click.echo(f"exported {store} to {folder}")


@main.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--repo-id", required=True, help="Hub dataset id, ORG/NAME.")
@click.option("--private", is_flag=True, help="Create the dataset repository as private.")
@report_user_errors
def push(store, repo_id, private) -> None:
    """Export the store and upload it to the Hugging Face Hub in a single commit."""
    from synth.push import PushError, push_store

    try:
        url = push_store(store, repo_id, private=private)
    except PushError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"pushed {store} to {url}")


if __name__ == "__main__":
    main()
