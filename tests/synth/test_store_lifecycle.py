"""Scale-out, interruption, inspection and verification of shard stores."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from shared import shards
from shared.datasets import open_dataset
from shared.shards import ShardStore, ShardWriteError
from shared.strength import parse_strength
from synth.cli import main as synth_main
from synth.generate import GenerateConfig, generate

BIN = Path(sys.executable).parent
ARRAYS = ("image", "mask", "source", "strength", "blend", "source_index", "seed", "kind", "checksum")


def _generate_arguments(model: Path, mpdd_root: Path, output: Path, samples: int = 10) -> list[str]:
    return ["generate", "--dataset", "mpdd", "--data-root", str(mpdd_root), "--model", str(model),
            "--strength", "0.1:0.3", "--num-samples", str(samples), "--steps", "5", "--image-size", "64",
            "--records-per-shard", "2", "--batch-size", "2", "--output", str(output)]


def _single_thread_env() -> dict:
    # Equal thread counts in every run keep the floating-point results identical.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_synth(arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "synth"), *arguments], env=_single_thread_env(), capture_output=True,
                          text=True, timeout=600)


def _assert_same_store(first: Path, second: Path) -> None:
    a = ShardStore(first).category("metal_plate")
    b = ShardStore(second).category("metal_plate")
    assert a.indices == b.indices
    for name in ARRAYS:
        assert np.array_equal(a.column(name), b.column(name)), name


def test_two_processes_match_one(tmp_path, tiny_model, mpdd_root):
    single = _run_synth(_generate_arguments(tiny_model, mpdd_root, tmp_path / "one.zarr"))
    assert single.returncode == 0, single.stderr
    launch = subprocess.run(
        [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", str(BIN / "synth"),
         *_generate_arguments(tiny_model, mpdd_root, tmp_path / "two.zarr")],
        env={**_single_thread_env(), "ACCELERATE_USE_CPU": "true"}, capture_output=True, text=True, timeout=600,
    )
    assert launch.returncode == 0, launch.stderr[-3000:]
    _assert_same_store(tmp_path / "one.zarr", tmp_path / "two.zarr")
    assert ShardStore(tmp_path / "two.zarr").attrs["finalized"] is True


def test_two_process_training(tmp_path, mpdd_root):
    launch = subprocess.run(
        [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", str(BIN / "synth"), "train", "--dataset", "mpdd",
         "--data-root", str(mpdd_root), "--preset", "tiny", "--steps", "4", "--output", str(tmp_path / "model")],
        env=_single_thread_env(), capture_output=True, text=True, timeout=600,
    )
    assert launch.returncode == 0, launch.stderr[-3000:]
    assert (tmp_path / "model" / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert "trained 4 steps" in launch.stdout


def test_sigkill_then_resume(tmp_path, tiny_model, mpdd_root):
    reference = _run_synth(_generate_arguments(tiny_model, mpdd_root, tmp_path / "whole.zarr", samples=16))
    assert reference.returncode == 0, reference.stderr
    store = tmp_path / "cut.zarr"
    process = subprocess.Popen([str(BIN / "synth"), *_generate_arguments(tiny_model, mpdd_root, store, samples=16)],
                               env=_single_thread_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    complete = 0
    while time.time() < deadline and process.poll() is None:
        try:
            complete = int(np.asarray(zarr.open_group(str(store), mode="r")["metal_plate"]["complete"][:]).sum())
        except (FileNotFoundError, KeyError, ValueError):
            complete = 0
        if complete >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = ShardStore(store).category("metal_plate")
    assert 0 < len(interrupted.complete_shards) < 8
    assert ShardStore(store).attrs["finalized"] is False

    resumed = _run_synth(_generate_arguments(tiny_model, mpdd_root, store, samples=16))
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_store(tmp_path / "whole.zarr", store)


def test_failed_write_keeps_complete_shards(tmp_path, tiny_model, mpdd_root, monkeypatch):
    real_write = shards.write_shard
    calls = []

    def write_then_fail(path, category, shard_index, batch):
        calls.append(shard_index)
        if len(calls) == 2:
            raise ShardWriteError(f"cannot write shard {shard_index}: [Errno 28] No space left on device")
        real_write(path, category, shard_index, batch)

    monkeypatch.setattr(shards, "write_shard", write_then_fail)
    config = GenerateConfig(strength=parse_strength("0.1:0.3"), num_samples=6, steps=5, image_size=64,
                            records_per_shard=2, batch_size=2)
    with pytest.raises(ShardWriteError, match="No space left"):
        generate(open_dataset("mpdd", mpdd_root), ["metal_plate"], tiny_model, config, tmp_path / "s.zarr")
    category = ShardStore(tmp_path / "s.zarr").category("metal_plate")
    assert category.complete_shards == [0]
    assert category.read(1).mask.any()


def test_disk_error_is_explained(tmp_path, monkeypatch):
    shards.create_store(tmp_path / "s.zarr", dataset="mpdd", categories={"plate": 4},
                        normal_images={"plate": ["a.png"]}, image_size=8, records_per_shard=2, attributes={})
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r+")["plate"]
    batch = shards.RecordBatch(
        image=np.zeros((2, 8, 8, 3), np.uint8), mask=np.full((2, 8, 8), 255, np.uint8),
        source=np.zeros((2, 8, 8, 3), np.uint8), strength=np.zeros(2, np.float32), blend=np.ones(2, np.float32),
        source_index=np.zeros(2, np.int64), seed=np.zeros(2, np.uint64), kind=np.array(["sdas", "sdas"]),
    )
    shards.write_shard(tmp_path / "s.zarr", "plate", 0, batch)
    del group

    def full_disk(self, key, value):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zarr.Array, "__setitem__", full_disk)
    with pytest.raises(ShardWriteError, match="The 1 complete shards of plate stay readable"):
        shards.write_shard(tmp_path / "s.zarr", "plate", 1, batch)
    monkeypatch.undo()
    assert ShardStore(tmp_path / "s.zarr").category("plate").complete_shards == [0]


def test_unwritable_output_is_explained(tmp_path, tiny_model, mpdd_root):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(synth_main, _generate_arguments(tiny_model, mpdd_root, blocker / "s.zarr"))
    assert result.exit_code == 1
    assert "cannot create the shard store" in result.output


def test_info_and_verify(tmp_path, tiny_model, mpdd_root):
    store = tmp_path / "s.zarr"
    runner = CliRunner()
    assert runner.invoke(synth_main, _generate_arguments(tiny_model, mpdd_root, store, samples=4)).exit_code == 0
    info = runner.invoke(synth_main, ["info", str(store)])
    assert info.exit_code == 0
    assert "metal_plate" in info.output
    assert "4 of 4" in info.output
    assert "model hash" in info.output
    verified = runner.invoke(synth_main, ["verify", str(store)])
    assert verified.exit_code == 0, verified.output
    assert "OK, 4 records in" in verified.output

    image = zarr.open_group(str(store), mode="r+")["metal_plate"]["image"]
    pixels = np.asarray(image[3])
    pixels[0, 0] = 255 - pixels[0, 0]
    image[3] = pixels
    corrupted = runner.invoke(synth_main, ["verify", str(store)])
    assert corrupted.exit_code == 1
    assert "metal_plate/shard 1/record 3: checksum mismatch" in corrupted.output


def test_verify_names_damaged_shard_file(tmp_path, tiny_model, mpdd_root):
    store = tmp_path / "s.zarr"
    runner = CliRunner()
    assert runner.invoke(synth_main, _generate_arguments(tiny_model, mpdd_root, store, samples=4)).exit_code == 0
    shard_file = store / "metal_plate" / "image" / "c" / "1" / "0" / "0" / "0"
    shard_file.write_bytes(shard_file.read_bytes()[:100])
    result = runner.invoke(synth_main, ["verify", str(store)])
    assert result.exit_code == 1
    assert "FAULT metal_plate/shard 1/record 2: unreadable" in result.output
    assert "FAULT metal_plate/shard 0" not in result.output
