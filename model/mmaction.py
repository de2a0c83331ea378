"""The entry point for users who come from MMAction2: build a model from an MMAction2 config dict.

    from model.mmaction import build
    from model.loading import load_weights

    m = build(dict(type="RecognizerGCN", backbone=dict(type="STGCN", ...), cls_head=dict(type="GCNHead", ...)))
    report = load_weights(m, "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d.pth")

``cfg`` is the ``model=dict(...)`` of an MMAction2 config as plain data (dicts, lists, numbers,
strings). The recognizer ``type`` is looked up in :data:`RECOGNIZERS`; each recognizer module
registers itself there and in :data:`utils.registry.MODELS`. Built models take this project's
(N, C, T, V, M) input (heatmap models: (N, C, T, H, W)) and return logits (N, num_class), like every
other model; their state dicts use MMAction2's key names, so zoo checkpoints load strictly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from utils.errors import ConfigError
from utils.registry import Registry

# MMAction2 recognizer type -> function(cfg: Mapping) -> nn.Module. Filled by the recognizer modules,
# which ``model/__init__.py`` imports.
RECOGNIZERS = Registry("MMAction2 recognizer", package="model")


def build(cfg: Mapping[str, Any]) -> nn.Module:
    """Build the model an MMAction2 ``model=dict(type=..., backbone=..., cls_head=...)`` describes."""
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"model: expected an MMAction2 model dict with a 'type', got {cfg!r:.80}")
    builder = RECOGNIZERS.get(cfg["type"], "model.type")
    return builder(dict(cfg))
