"""The ``detector`` command: fit RealNet on synthetic anomalies and evaluate it on real images."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from shared.cli_support import configure_logging, folder_layout_from_options, folder_options, report_user_errors
from shared.datasets import DATASET_NAMES, open_dataset
from shared.paths import DATA_ROOT_ENV, default_run_dir
from shared.strength import parse_strength

logger = logging.getLogger(__name__)


def _int_list(ctx, param, value):
    if value is None:
        return ()
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers such as 24,40,56,40") from None


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Train and evaluate RealNet detectors on real images and synthetic anomaly shards."""
    configure_logging(verbose)


@main.command()
@click.option("--dataset", type=click.Choice(DATASET_NAMES), default="elpv", show_default=True,
              help="Dataset of the normal training images.")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help=f"Folder of the dataset. Default: ${DATA_ROOT_ENV}.")
@click.option("--category", "categories", multiple=True,
              help="Category to train; repeat for several (one model each). Default: all.")
@click.option("--shards", default=None,
              help="Synthetic anomalies: a Zarr store from `synth generate`, a folder from `synth export` or a "
                   "Hub dataset id ORG/NAME. Default: runs/<dataset>/synth/anomalies.zarr.")
@click.option("--strength", default=None,
              help="Train only on records whose strength lies in A:B (a sub-range of the stored one).")
@click.option("--backbone", default="tf_efficientnet_lite0", show_default=True,
              help="timm features_only backbone; tf_efficientnet_lite0 uses the embedded weights.")
@click.option("--backbone-weights", type=click.Path(path_type=Path), default=None,
              help="Local backbone weights (.pth or .safetensors), for offline use of other backbones.")
@click.option("--image-size", type=int, default=256, show_default=True, help="Model input size in pixels.")
@click.option("--epochs", type=int, default=20, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Images per training step.")
@click.option("--learning-rate", type=float, default=5e-4, show_default=True, help="AdamW learning rate.")
@click.option("--afs-channels", callback=_int_list, default=None,
              help="Channels AFS keeps per layer, comma-separated. Default: per backbone.")
@click.option("--no-afs", is_flag=True, help="Keep every channel (an ablation of AFS).")
@click.option("--rrs-top-k", type=int, default=0, help="Residual channels RRS keeps per criterion. Default: per backbone.")
@click.option("--rrs-mode", type=click.Choice(["max_avg", "max", "avg"]), default="max_avg", show_default=True,
              help="RRS ranking criteria.")
@click.option("--recon-width", type=int, default=64, show_default=True, help="Base width of the reconstruction UNets.")
@click.option("--decoder-width", type=int, default=64, show_default=True, help="Base width of the segmentation decoder.")
@click.option("--map-sigma", type=float, default=4.0, show_default=True,
              help="Gaussian smoothing of the anomaly map in pixels; 0 turns it off.")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.option("--overwrite", is_flag=True, help="Discard an interrupted or finished run in --output and start afresh.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Checkpoint folder; one sub-folder per category. Default: runs/<dataset>/detector.")
@folder_options
@report_user_errors
def fit(dataset, data_root, categories, shards, strength, backbone, backbone_weights, image_size, epochs, batch_size,
        learning_rate, afs_channels, no_afs, rrs_top_k, rrs_mode, recon_width, decoder_width, map_sigma, seed, overwrite,
        output,
        **folder) -> None:
    """Select features (AFS), then train reconstruction and residual selection (RRS); resumes if interrupted."""
    from detector.fit import FitConfig, fit_detector
    from detector.model import DetectorConfig

    layout = folder_layout_from_options(**folder, category=categories[0] if dataset == "folder" and categories else None)
    reader = open_dataset(dataset, data_root, layout)
    for category in categories:
        reader.check_category(category)
    chosen = list(categories) or reader.categories
    shards = shards or default_run_dir("synth", dataset) / "anomalies.zarr"
    output = output or default_run_dir("detector", dataset)
    low = high = None
    if strength is not None:
        try:
            parsed = parse_strength(strength)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--strength") from error
        low, high = parsed.low, parsed.high
    fit_config = FitConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
                           strength_low=low, strength_high=high)
    for category in chosen:
        config = DetectorConfig(
            dataset=dataset, category=category, backbone=backbone, image_size=image_size,
            afs_channels=afs_channels, afs_enabled=not no_afs, recon_width=recon_width,
            decoder_width=decoder_width, map_sigma=map_sigma, rrs_top_k=rrs_top_k, rrs_mode=rrs_mode,
        )
        result = fit_detector(reader, category, shards, config, fit_config, output / category,
                              backbone_weights=backbone_weights, overwrite=overwrite)
        epochs_word = "epoch" if result.epochs == 1 else "epochs"
        click.echo(f"{category}: {result.epochs} {epochs_word} in {result.seconds:.0f} s, "
                   f"loss {result.final_loss:.4f}; checkpoint {result.output}")


@main.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None,
              help="Checkpoint folder, or a folder of per-category checkpoints. Default: runs/<dataset>/detector.")
@click.option("--dataset", type=click.Choice(DATASET_NAMES), default=None,
              help="Dataset to test on. Default: the one the checkpoint was trained on.")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help=f"Folder of the dataset. Default: ${DATA_ROOT_ENV}.")
@click.option("--category", default=None, help="Category to test on. Default: the checkpoint's.")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Images per forward pass.")
@click.option("--output", type=click.Path(path_type=Path), default=None, help="Write the metrics to this JSON file.")
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Folder for an HTML report with curves and example heatmaps.")
@folder_options
@report_user_errors
def evaluate(checkpoint, dataset, data_root, category, batch_size, output, report, **folder) -> None:
    """Compute image AUROC, pixel AUROC and AU-PRO@0.3 on the real test split."""
    from detector.checkpoint import find_checkpoints
    from detector.evaluate import evaluate_checkpoints, format_table

    checkpoints = find_checkpoints(checkpoint or default_run_dir("detector", dataset or "elpv"))
    layout = folder_layout_from_options(**folder, category=category)
    evaluations: dict = {}
    metrics = evaluate_checkpoints(
        checkpoints, lambda name: open_dataset(dataset or name, data_root, layout), category, batch_size,
        evaluations if report else None,
    )
    click.echo(format_table(metrics))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(metrics, indent=2) + "\n")
        click.echo(f"metrics written to {output}")
    if report:
        from detector.report import write_report

        page = write_report(metrics, evaluations, report)
        click.echo(f"report written to {page}")


@main.command()
@click.option("--checkpoint", type=click.Path(path_type=Path), required=True, help="Checkpoint folder of one category.")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--output", type=click.Path(path_type=Path), default=Path("runs/predictions"), show_default=True,
              help="Folder for predictions.csv, predictions.jsonl, heatmaps/ and masks/.")
@click.option("--threshold", default="auto", show_default=True,
              help="Score at or above which an image is anomalous; auto uses the calibrated thresholds.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Images per forward pass.")
@report_user_errors
def predict(checkpoint, inputs, output, threshold, batch_size) -> None:
    """Score images (files, directories or globs) and write heatmaps, masks and a verdict per image."""
    from detector.api import Detector
    from detector.predict import expand_inputs, predict_files

    detector = Detector.load(checkpoint)
    if threshold == "auto":
        if detector.image_threshold is None:
            raise click.BadParameter("this checkpoint has no calibrated threshold; pass a number", param_hint="--threshold")
        image_threshold, pixel_threshold = detector.image_threshold, detector.pixel_threshold
    else:
        try:
            image_threshold = pixel_threshold = float(threshold)
        except ValueError:
            raise click.BadParameter(f"{threshold!r} is neither auto nor a number", param_hint="--threshold") from None
    paths = expand_inputs(list(inputs))
    summary = predict_files(detector, paths, output, threshold=image_threshold, pixel_threshold=pixel_threshold,
                            batch_size=batch_size)
    click.echo(f"{summary.rows} images: {summary.anomalous} anomalous, {summary.failed} failed "
               f"(threshold {summary.threshold:.4f}); results in {output}")
    for path, error in summary.failures:
        click.echo(f"failed: {path}: {error}", err=True)
    if summary.failed:
        raise click.exceptions.Exit(1)


@main.command(name="export")
@click.option("--checkpoint", type=click.Path(path_type=Path), required=True, help="Checkpoint folder of one category.")
@click.option("--format", "export_format", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Export format.")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="File to write, such as model.onnx.")
@click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset version.")
@report_user_errors
def export_model(checkpoint, export_format, output, opset) -> None:
    """Export the whole inference path (backbone to anomaly map and score) with a dynamic batch size."""
    from detector.onnx_export import export_onnx

    export_onnx(checkpoint, output, opset)
    click.echo(f"exported {checkpoint} to {output} (input 'images': N x 3 x S x S RGB in [0, 1])")


if __name__ == "__main__":
    main()
