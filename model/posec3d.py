"""PoseC3D (Duan et al., CVPR 2022): a SlowOnly ResNet3d over pseudo-heatmap volumes, MMAction2-compatible.

Input (N, C, T, H, W) heatmap volumes (C = 17 keypoint or limb channels for COCO-17; made by
``feeders.posec3d``), output logits (N, num_class). The model is MMAction2's ``Recognizer3D`` with
``ResNet3dSlowOnly`` and ``I3DHead``; its ``state_dict`` keys are the zoo's (``backbone.*``,
``cls_head.fc_cls.*``), so published checkpoints load strictly with ``model.loading.load_weights``.

Two ways to build it:

* from a config: ``model: posec3d`` with ``model_args`` (:class:`PoseC3D`; flat arguments);
* from an MMAction2 model dict: ``model.mmaction.build(dict(type='Recognizer3D', backbone=dict(
  type='ResNet3dSlowOnly', ...), cls_head=dict(type='I3DHead', ...)))``.

Test-time views (N, V, C, T, H, W) are averaged by ``engine.loop.forward_logits`` as MMAction2 does
with ``average_clips='prob'`` (the mean of the views' softmax).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from model.mmaction import RECOGNIZERS
from model.resnet3d import ResNet3dSlowOnly
from utils.errors import ConfigError
from utils.registry import MODELS

AVERAGE_CLIPS = ("prob", "score", None)


class I3DHead(nn.Module):
    """Global average pool over (T, H, W), dropout, ``fc_cls``: (N, C, T, H, W) -> (N, num_classes)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        dropout_ratio: float = 0.5,
        init_std: float = 0.01,
        spatial_type: str = "avg",
    ) -> None:
        super().__init__()
        if spatial_type != "avg":
            raise ConfigError(f"cls_head.spatial_type: only 'avg' is supported, got '{spatial_type}'")
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, 0, init_std)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(self.dropout(x.mean(dim=(2, 3, 4))))


class Recognizer3D(nn.Module):
    """``backbone`` then ``cls_head``; ``average_clips`` tells the engine how to average test views.

    ``forward``: (N, C, T, H, W) -> logits (N, num_class). ``features``: the backbone output.
    """

    input_axes = "CTHW"  # one sample's axes, for the engine's data checks

    def __init__(self, backbone: nn.Module, cls_head: nn.Module, average_clips: str | None = "prob") -> None:
        super().__init__()
        if average_clips not in AVERAGE_CLIPS:
            raise ConfigError(f"average_clips: expected 'prob', 'score' or None, got {average_clips!r}")
        self.backbone = backbone
        self.cls_head = cls_head
        self.average_clips = "prob" if average_clips == "prob" else "logits"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"PoseC3D expects (N, C, T, H, W) heatmap volumes, got shape {tuple(x.shape)}")
        return self.cls_head(self.backbone(x))


def _init_weights(model: nn.Module) -> None:
    """Kaiming-normal convolutions, BN 1/0, the last BN of every residual branch 0 (zero_init_residual)."""
    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm3d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for name, m in model.named_modules():
        if name.endswith("conv3"):
            nn.init.zeros_(m.bn.weight)


@MODELS.register("posec3d", aliases=("model.posec3d.PoseC3D",))
class PoseC3D(Recognizer3D):
    """PoseC3D with flat arguments (for ``model_args``); defaults are the NTU60 zoo model (2,024,860
    parameters). ``in_channels`` is the heatmap channel count: 17 keypoints or 17 limbs for COCO-17,
    V or the number of limbs for another layout.
    """

    def __init__(
        self,
        num_class: int = 60,
        in_channels: int = 17,
        base_channels: int = 32,
        stage_blocks: Sequence[int] = (4, 6, 3),
        inflate: Sequence[int] = (0, 1, 1),
        spatial_strides: Sequence[int] = (2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 2),
        dilations: Sequence[int] = (1, 1, 1),
        conv1_kernel: Sequence[int] = (1, 7, 7),
        with_pool1: bool = True,
        dropout: float = 0.5,
        average_clips: str | None = "prob",
    ) -> None:
        num_stages = len(stage_blocks)
        backbone = ResNet3dSlowOnly(
            in_channels=in_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            stage_blocks=stage_blocks,
            out_indices=(num_stages - 1,),
            spatial_strides=spatial_strides,
            temporal_strides=temporal_strides,
            dilations=dilations,
            conv1_kernel=conv1_kernel,
            with_pool1=with_pool1,
            inflate=inflate,
        )
        super().__init__(backbone, I3DHead(num_class, backbone.out_channels, dropout), average_clips)
        _init_weights(self)


# --------------------------------------------------------------------------------------------------
# MMAction2 model dicts
# --------------------------------------------------------------------------------------------------
# Keys of MMAction2's dicts that are accepted only at their default (they change nothing here).
_BACKBONE_DEFAULTS: dict[str, Any] = {
    "pretrained": None,
    "pretrained2d": True,
    "style": "pytorch",
    "with_pool2": False,
    "frozen_stages": -1,
    "norm_eval": False,
    "with_cp": False,
    "zero_init_residual": True,
    "conv_cfg": {"type": "Conv3d"},
    "norm_cfg": {"type": "BN3d", "requires_grad": True},
    "act_cfg": {"type": "ReLU", "inplace": True},
    "lateral": False,
    "non_local": (0, 0, 0, 0),
}
_HEAD_DEFAULTS: dict[str, Any] = {"loss_cls": {"type": "CrossEntropyLoss"}, "multi_class": False}
_RECOGNIZER_KEYS = ("type", "backbone", "cls_head", "train_cfg", "test_cfg", "data_preprocessor")


def _check_default(key: str, value: Any, default: Any) -> None:
    if isinstance(default, dict) and isinstance(value, Mapping):
        same = all(default.get(k, v) == v for k, v in value.items() if k != "requires_grad" or v)
    elif isinstance(default, tuple):
        same = not any(value) if key == "non_local" else tuple(value) == default
    else:
        same = value == default
    if not same:
        hint = (
            " (load weights with model.loading.load_weights or the config's weights:)"
            if key.endswith("pretrained")
            else ""
        )
        raise ConfigError(f"{key}: only {default!r} is supported, got {value!r}{hint}")


def _split(cfg: Mapping[str, Any], where: str, accepted: Sequence[str], defaults: Mapping[str, Any]) -> dict:
    out = {}
    for key, value in cfg.items():
        if key == "type":
            continue
        if key in defaults:
            _check_default(f"{where}.{key}", value, defaults[key])
        elif key in accepted:
            out[key] = value
        else:
            valid = sorted(set(accepted) | set(defaults))
            raise ConfigError(f"{where}: unknown key '{key}'; accepted: {', '.join(valid)}")
    return out


@RECOGNIZERS.register("Recognizer3D")
def build_recognizer3d(cfg: Mapping[str, Any]) -> Recognizer3D:
    """``Recognizer3D`` with a ``ResNet3dSlowOnly`` backbone and an ``I3DHead`` from MMAction2's dict."""
    for key in cfg:
        if key not in _RECOGNIZER_KEYS:
            raise ConfigError(f"model: unknown key '{key}'; accepted: {', '.join(_RECOGNIZER_KEYS)}")
    backbone_cfg, head_cfg = cfg.get("backbone"), cfg.get("cls_head")
    if not isinstance(backbone_cfg, Mapping) or backbone_cfg.get("type") != "ResNet3dSlowOnly":
        raise ConfigError("model.backbone.type: only 'ResNet3dSlowOnly' (PoseC3D) is supported")
    if not isinstance(head_cfg, Mapping) or head_cfg.get("type") != "I3DHead":
        raise ConfigError("model.cls_head.type: only 'I3DHead' is supported")
    preprocessor = cfg.get("data_preprocessor") or {}
    if preprocessor.get("mean") is not None or preprocessor.get("std") is not None:
        raise ConfigError("model.data_preprocessor: mean/std normalisation is not supported for heatmaps")
    accepted = [
        "depth", "in_channels", "base_channels", "num_stages", "stage_blocks", "out_indices",
        "spatial_strides", "temporal_strides", "dilations", "conv1_kernel", "conv1_stride_s",
        "conv1_stride_t", "pool1_stride_s", "pool1_stride_t", "with_pool1", "inflate", "inflate_style",
    ]  # fmt: skip
    backbone = ResNet3dSlowOnly(**_split(backbone_cfg, "model.backbone", accepted, _BACKBONE_DEFAULTS))
    head_args = _split(
        head_cfg,
        "model.cls_head",
        ["num_classes", "in_channels", "dropout_ratio", "init_std", "spatial_type", "average_clips"],
        _HEAD_DEFAULTS,
    )
    average_clips = head_args.pop("average_clips", "prob")
    if head_args.get("in_channels", backbone.out_channels) != backbone.out_channels:
        raise ConfigError(
            f"model.cls_head.in_channels: {head_args['in_channels']}, but the backbone gives {backbone.out_channels}"
        )
    head_args["in_channels"] = backbone.out_channels
    model = Recognizer3D(backbone, I3DHead(**head_args), average_clips)
    _init_weights(model)
    return model
