import pytest
import torch

from shared.datasets import open_dataset
from shared.shards import ShardStore
from shared.strength import parse_strength
from synth.generate import GenerateConfig, generate
from synth.precision import bf16_is_native, resolve_mixed_precision, resolve_sampling_precision

CPU = torch.device("cpu")


def test_auto_sampling_follows_native_bf16():
    expected = "bf16" if bf16_is_native(CPU) else "fp32"
    assert resolve_sampling_precision("auto", CPU) == expected


def test_auto_training_follows_native_bf16():
    expected = "bf16" if bf16_is_native(CPU) else "no"
    assert resolve_mixed_precision("auto", CPU) == expected


def test_explicit_precision_is_kept():
    assert resolve_sampling_precision("fp32", CPU) == "fp32"
    assert resolve_sampling_precision("bf16", CPU) == "bf16"
    assert resolve_mixed_precision("no", CPU) == "no"


def test_forced_bf16_without_native_kernels_warns(caplog):
    if bf16_is_native(CPU):
        pytest.skip("this CPU has native bf16 kernels")
    with caplog.at_level("WARNING", logger="synth.precision"):
        resolve_sampling_precision("bf16", CPU)
    assert "no native kernels" in caplog.text


@pytest.mark.parametrize("value", ["fp16", "half", ""])
def test_unknown_sampling_precision_rejected(value):
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32"):
        resolve_sampling_precision(value, CPU)


def test_unknown_mixed_precision_rejected():
    with pytest.raises(ValueError, match="mixed precision must be one of auto, no, bf16, fp16"):
        resolve_mixed_precision("fp8", CPU)


def test_store_records_resolved_precision(tmp_path, tiny_model, mpdd_root):
    config = GenerateConfig(strength=parse_strength("0.1:0.2"), num_samples=2, steps=3, image_size=64,
                            records_per_shard=2, batch_size=2)
    generate(open_dataset("mpdd", mpdd_root), ["metal_plate"], tiny_model, config, tmp_path / "s.zarr")
    stored = ShardStore(tmp_path / "s.zarr").attrs["generator"]["precision"]
    assert stored == resolve_sampling_precision("auto", CPU)
    assert stored != "auto"
