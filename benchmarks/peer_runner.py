"""Runs one anomalib model on one folder-layout dataset and saves raw scores and maps.

This file runs inside the separate anomalib environment that
``benchmarks/peers.py`` creates; it imports nothing from this package.
Metrics are computed afterwards by ``peers.py`` with this package's code.

    python peer_runner.py --method patchcore --data DIR --output FILE.npz --weights LITE0.pth
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch

LITE0_LAYERS = {"patchcore": ["blocks.2", "blocks.4"], "padim": ["blocks.1", "blocks.2", "blocks.4"]}


def lite0_state_dict(path: Path, model: torch.nn.Module) -> dict:
    """Rename the efficientnet-lite0 package weights to timm names (the same mapping as detector.backbone)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    positions = [(s, b) for s, blocks in enumerate(model.blocks) for b in range(len(blocks))]
    expanded = {i for i in range(len(positions)) if f"_blocks.{i}._expand_conv.weight" in state}
    plain = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    wide = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
            "_project_conv": "conv_pwl", "_bn2": "bn3"}
    converted = {}
    for key, value in state.items():
        if key.startswith("_conv_stem."):
            converted["conv_stem." + key.split(".", 1)[1]] = value
        elif key.startswith("_bn0."):
            converted["bn1." + key.split(".", 1)[1]] = value
        elif match := re.match(r"_blocks\.(\d+)\.(\w+)\.(.+)", key):
            index = int(match[1])
            names = wide if index in expanded else plain
            stage, block = positions[index]
            converted[f"blocks.{stage}.{block}.{names[match[2]]}.{match[3]}"] = value
    return converted


def build(method: str, weights: Path | None, epochs: int, textures: Path | None = None, coreset: float = 0.1):
    from anomalib.models import Draem, Padim, Patchcore, Supersimplenet

    if method == "patchcore":
        model = Patchcore(backbone="tf_efficientnet_lite0", layers=LITE0_LAYERS["patchcore"], pre_trained=False,
                          coreset_sampling_ratio=coreset, post_processor=False, evaluator=False, visualizer=False)
    elif method == "padim":
        model = Padim(backbone="tf_efficientnet_lite0", layers=LITE0_LAYERS["padim"], pre_trained=False, n_features=100,
                      post_processor=False, evaluator=False, visualizer=False)
    elif method == "supersimplenet":
        from functools import partial

        from anomalib.models.image.supersimplenet import torch_model

        # SuperSimpleNet offers no pre_trained switch; build its extractor without a download,
        # then load the embedded Lite0 weights below like the other backbone models.
        torch_model.TimmFeatureExtractor = partial(torch_model.TimmFeatureExtractor, pre_trained=False)
        model = Supersimplenet(backbone="tf_efficientnet_lite0", layers=LITE0_LAYERS["patchcore"],
                               post_processor=False, evaluator=False, visualizer=False)
    elif method == "draem":
        if textures is None:
            raise SystemExit("DRAEM needs --textures DIR (a DTD-style folder); it would otherwise download DTD")
        model = Draem(dtd_dir=str(textures), post_processor=False, evaluator=False, visualizer=False)
    else:
        raise SystemExit(f"unknown method {method}")
    if weights is not None and method in ("patchcore", "padim", "supersimplenet"):
        import timm

        extractor = model.model.feature_extractor.feature_extractor
        if method == "supersimplenet":
            extractor = extractor.feature_extractor
        full = timm.create_model("tf_efficientnet_lite0", pretrained=False)
        state = lite0_state_dict(weights, full)
        own = extractor.state_dict()
        extractor.load_state_dict({key: state[key] for key in own}, strict=True)
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", required=True)
    parser.add_argument("--data", type=Path, required=True, help="folder with train/good, test/<defect>, masks")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--masks", action="store_true")
    parser.add_argument("--textures", type=Path, default=None, help="DTD-style texture folder for DRAEM")
    parser.add_argument("--coreset", type=float, default=0.1, help="PatchCore coreset sampling ratio")
    arguments = parser.parse_args()

    from anomalib.data import Folder
    from anomalib.engine import Engine

    defects = sorted(p.name for p in (arguments.data / "test").iterdir() if p.is_dir() and p.name != "good")
    datamodule = Folder(
        name="peer", root=arguments.data, normal_dir="train/good", normal_test_dir="test/good",
        abnormal_dir=[f"test/{d}" for d in defects],
        mask_dir=[f"ground_truth/{d}" for d in defects] if arguments.masks else None,
        train_batch_size=16, eval_batch_size=16, num_workers=0,
        # Keep the whole test folder for testing: by default anomalib moves part of it to validation.
        test_split_mode="from_dir", val_split_mode="none",
    )
    model = build(arguments.method, arguments.weights, arguments.epochs, arguments.textures, arguments.coreset)
    engine = Engine(max_epochs=arguments.epochs, accelerator="cpu", devices=1, logger=False,
                    default_root_dir=str(arguments.output.parent / f"{arguments.method}_engine"),
                    limit_val_batches=0, num_sanity_val_steps=0)
    start = time.perf_counter()
    engine.fit(model=model, datamodule=datamodule)
    fit_seconds = time.perf_counter() - start

    start = time.perf_counter()
    batches = engine.predict(model=model, dataloaders=datamodule.test_dataloader())
    predict_seconds = time.perf_counter() - start
    paths, scores, maps = [], [], []
    for batch in batches:
        paths += [str(p) for p in batch.image_path]
        scores.append(batch.pred_score.detach().float().reshape(-1).numpy())
        anomaly_map = batch.anomaly_map.detach().float()
        if anomaly_map.ndim == 4:
            anomaly_map = anomaly_map[:, 0]
        anomaly_map = torch.nn.functional.interpolate(anomaly_map[:, None], size=(arguments.size, arguments.size),
                                                      mode="bilinear", align_corners=False)[:, 0]
        maps.append(anomaly_map.numpy().astype(np.float32))
    np.savez_compressed(arguments.output, paths=np.array(paths), scores=np.concatenate(scores),
                        maps=np.concatenate(maps), fit_seconds=fit_seconds, predict_seconds=predict_seconds)


if __name__ == "__main__":
    main()
