import timm
import torch
import pytest

from detector.backbone import BackboneError, build_backbone, convert_lite_state_dict, embedded_weights_file


def test_embedded_weights_cover_every_key():
    full = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(embedded_weights_file(), map_location="cpu", weights_only=True)
    converted = convert_lite_state_dict(state, full)
    body = {k for k in full.state_dict() if not k.startswith(("conv_head", "bn2", "classifier"))}
    assert body <= set(converted)
    for key in body:
        assert converted[key].shape == full.state_dict()[key].shape, key


def test_embedded_backbone_features():
    backbone = build_backbone()
    assert backbone.channels == [24, 40, 112, 320]
    assert backbone.strides == [4, 8, 16, 32]
    with torch.no_grad():
        features = backbone(torch.rand(1, 3, 64, 64))
    assert [f.shape[1] for f in features] == [24, 40, 112, 320]
    assert not any(p.requires_grad for p in backbone.parameters())


def test_weights_file_for_other_backbone(tmp_path):
    source = timm.create_model("resnet18", pretrained=False)
    torch.nn.init.constant_(source.conv1.weight, 0.01)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    backbone = build_backbone("resnet18", (1, 2, 3), weights_file=path)
    assert torch.equal(backbone.model.conv1.weight, source.conv1.weight)


def test_offline_without_weights_is_clear(monkeypatch):
    from huggingface_hub import constants

    # huggingface_hub reads the variable at import, so set its constant too.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BackboneError, match="--backbone-weights"):
        build_backbone("resnet18", (1, 2, 3))


def test_wrong_weights_file_is_named(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"unrelated.weight": torch.zeros(1)}, path)
    with pytest.raises(BackboneError, match="other.pth"):
        build_backbone("resnet18", (1, 2, 3), weights_file=path)
