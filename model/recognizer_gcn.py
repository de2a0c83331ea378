"""MMAction2's ``RecognizerGCN`` and ``GCNHead``, their builder, and the models configs name.

* ``model.mmaction.build(dict(type='RecognizerGCN', backbone=dict(type='STGCN' | 'AAGCN', ...),
  cls_head=dict(type='GCNHead', ...)))`` builds the model an MMAction2 config describes; its
  state_dict has MMAction2's keys (``backbone.*``, ``cls_head.*``), so zoo checkpoints load strictly
  with :func:`model.loading.load_weights`.
* For ``main.py`` configs the same models are registered with plain arguments: ``stgcn`` (ST-GCN),
  ``stgcnpp`` (ST-GCN++) and ``mmaction_aagcn`` (MMAction2's 2s-AGCN), e.g.::

      model: stgcnpp
      model_args: {num_class: 60, num_point: 25, num_person: 2, in_channels: 3,
                   graph_args: {layout: nturgb+d, mode: spatial}}

  Any further MMAction2 backbone keyword (``base_channels``, ``data_bn_type``, ``gcn_adaptive``,
  ``tcn_type``, ...) may be added to ``model_args``.

Every model takes (N, C, T, V, M) and returns logits (N, num_class); ``average_clips = 'prob'`` makes
multi-clip tests average the clips' softmax (MMAction2's test score).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from graph.graph import Graph
from model import mmaction_aagcn  # noqa: F401  (registers the AAGCN backbone)
from model.agcn import build_graph
from model.mmaction import RECOGNIZERS
from model.modules import check_model_input
from model.stgcn import BACKBONES, GCNBackbone, graph_cfg_of
from utils.errors import ConfigError, unknown_key_message
from utils.registry import MODELS, Registry

HEADS = Registry("MMAction2 head")
AVERAGE_CLIPS = ("prob", "score", None)


@HEADS.register("GCNHead")
class GCNHead(nn.Module):
    """Mean over (T, V) per person, mean over the M person slots (padded ones included), dropout, ``fc``.

    Input (N, M, C, T, V), output logits (N, num_classes). Keys ``fc.weight``, ``fc.bias``.
    ``loss_cls`` (cross-entropy only) and ``init_cfg`` are accepted for MMAction2 configs.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Mapping[str, Any] | None = None,
        dropout: float = 0.0,
        average_clips: str | None = "prob",
        init_cfg: Any = None,
    ) -> None:
        super().__init__()
        for key, value in (("num_classes", num_classes), ("in_channels", in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"cls_head.{key}: expected an integer >= 1, got {value!r}")
        if loss_cls is not None and dict(loss_cls) != {"type": "CrossEntropyLoss"}:
            raise ConfigError(
                f"cls_head.loss_cls: only dict(type='CrossEntropyLoss') is supported, got {loss_cls!r}"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"cls_head.dropout: expected a probability in [0, 1), got {dropout!r}")
        if average_clips not in AVERAGE_CLIPS:
            raise ConfigError(
                f"cls_head.average_clips: expected 'prob', 'score' or None, got {average_clips!r}"
            )
        self.num_classes, self.in_channels, self.average_clips = num_classes, in_channels, average_clips
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, M, C, T, V) -> logits (N, num_classes)."""
        x = x.mean(dim=(-2, -1)).mean(dim=1)  # (N, C)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc(x)


class RecognizerGCN(nn.Module):
    """A GCN backbone and a ``GCNHead``: (N, C, T, V, M) -> logits (N, num_class).

    ``mmaction_cfg`` is the MMAction2 ``model=dict(...)`` that rebuilds this model (written into
    exported checkpoints); ``layout``, ``in_channels``, ``num_point``, ``num_person`` and
    ``num_class`` describe the data it takes.
    """

    def __init__(self, backbone: GCNBackbone, cls_head: GCNHead, mmaction_cfg: Mapping[str, Any]) -> None:
        super().__init__()
        if cls_head.in_channels != backbone.out_channels:
            raise ConfigError(
                f"cls_head.in_channels is {cls_head.in_channels} but the backbone ends with "
                f"{backbone.out_channels} channels"
            )
        self.backbone, self.cls_head = backbone, cls_head
        self.mmaction_cfg = dict(mmaction_cfg)
        # engine.loop.forward_logits: 'prob' averages the clips' softmax ('score' / None: logits)
        self.average_clips = "prob" if cls_head.average_clips == "prob" else "logits"

    @property
    def graph(self) -> Graph:
        return self.backbone.graph

    @property
    def layout(self):
        return self.backbone.graph.layout

    @property
    def in_channels(self) -> int:
        return self.backbone.in_channels

    @property
    def num_point(self) -> int:
        return self.backbone.num_point

    @property
    def num_person(self) -> int:
        return self.backbone.num_person

    @property
    def num_class(self) -> int:
        return self.cls_head.num_classes

    def describe(self) -> str:
        """One line for error messages: the backbone and the unit options that change the weights."""
        block = self.backbone.gcn[-1]
        opts = [f"{type(block.gcn).__name__}"]
        if hasattr(block.gcn, "with_res"):
            opts.append(f"adaptive={block.gcn.adaptive!r}, with_res={block.gcn.with_res}")
        opts.append(
            f"{type(block.tcn).__name__}, layout={self.layout.name!r}, mode={self.graph.labeling_mode!r}"
        )
        return f"RecognizerGCN({type(self.backbone).__name__}({', '.join(opts)}), num_class={self.num_class})"

    def extract_feat(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> backbone features (N, M, C_out, T_out, V) (a view; MMAction2's layout)."""
        check_model_input(
            x,
            self.in_channels,
            self.num_point,
            self.num_person if self.backbone.data_bn_type == "MVC" else None,
        )
        N, M = x.shape[0], x.shape[-1]
        feats = self.backbone(x)  # (N·M, C_out, V, T_out)
        return feats.transpose(2, 3).unflatten(0, (N, M))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) float -> logits (N, num_class)."""
        return self.cls_head(self.extract_feat(x))


def _check_keys(cfg: Mapping[str, Any], valid: set[str], where: str) -> None:
    for key in cfg:
        if key not in valid:
            raise ConfigError(unknown_key_message(str(key), valid, where))


@RECOGNIZERS.register("RecognizerGCN")
def build_recognizer_gcn(cfg: Mapping[str, Any]) -> RecognizerGCN:
    """``model=dict(type='RecognizerGCN', backbone=dict(...), cls_head=dict(...))`` -> RecognizerGCN."""
    optional = ("neck", "train_cfg", "test_cfg", "data_preprocessor", "init_cfg")
    _check_keys(cfg, {"type", "backbone", "cls_head", *optional}, "model")
    for key in optional[:-1]:
        if cfg.get(key) is not None:
            raise ConfigError(
                f"model.{key}: not supported for RecognizerGCN (MMAction2's GCN configs leave it out)"
            )
    parts = {}
    for key, registry in (("backbone", BACKBONES), ("cls_head", HEADS)):
        part = cfg.get(key)
        if not isinstance(part, Mapping) or "type" not in part:
            raise ConfigError(f"model.{key}: expected a dict with a 'type', got {part!r:.60}")
        cls = registry.get(part["type"], f"model.{key}.type")
        args = {k: v for k, v in part.items() if k != "type"}
        if key == "backbone":
            args["where"] = "model.backbone"
        else:
            _check_keys(args, set(inspect.signature(cls).parameters), f"model.{key}")
        try:
            parts[key] = cls(**args)
        except TypeError as exc:  # an argument the class does not take
            raise ConfigError(f"model.{key}: {exc}") from None
    return RecognizerGCN(parts["backbone"], parts["cls_head"], cfg)


class ConfiguredRecognizer(RecognizerGCN):
    """A RecognizerGCN with plain constructor arguments, for ``model:`` / ``model_args:`` configs.

    Subclasses set ``backbone_type``, the backbone keywords that define the model
    (``backbone_defaults``; ``model_args`` may override them) and the default graph mode.
    """

    backbone_type: ClassVar[str] = "STGCN"
    backbone_defaults: ClassVar[Mapping[str, Any]] = {}
    default_mode: ClassVar[str] = "spatial"

    def __init__(
        self,
        num_class: int = 60,
        num_point: int = 25,
        num_person: int = 2,
        in_channels: int = 3,
        graph: str | None = None,
        graph_args: Mapping[str, Any] | None = None,
        base_channels: int = 64,
        dropout: float = 0.0,
        **backbone_kwargs: Any,
    ) -> None:
        graph_args = dict(graph_args) if graph_args is not None else {"layout": "nturgb+d"}
        if graph in (None, "graph.Graph", "graph.graph.Graph") and not {"mode", "labeling_mode"} & set(
            graph_args
        ):
            graph_args["mode"] = self.default_mode
        built = build_graph(graph, graph_args)
        V = built.A.shape[-1]
        if num_point != V:
            raise ConfigError(f"model_args.num_point is {num_point} but the graph has {V} joints")
        backbone_args = {
            "in_channels": in_channels,
            "base_channels": base_channels,
            "num_person": num_person,
            **self.backbone_defaults,
            **backbone_kwargs,
        }
        backbone = BACKBONES.get(self.backbone_type)(built, where="model_args", **backbone_args)
        head_args = {"num_classes": num_class, "in_channels": backbone.out_channels, "dropout": dropout}
        head = GCNHead(**head_args)
        cfg = {
            "type": "RecognizerGCN",
            "backbone": {"type": self.backbone_type, "graph_cfg": graph_cfg_of(built), **backbone_args},
            "cls_head": {"type": "GCNHead", **head_args},
        }
        super().__init__(backbone, head, cfg)


@MODELS.register("stgcn")
class STGCNModel(ConfiguredRecognizer):
    """ST-GCN (MMAction2's ``stgcn`` configs): edge-importance graph, ``unit_tcn``, ``stgcn_spatial``."""

    backbone_defaults = {"gcn_adaptive": "importance", "tcn_type": "unit_tcn"}
    default_mode = "stgcn_spatial"


@MODELS.register("stgcnpp", aliases=("stgcn++",))
class STGCNPPModel(ConfiguredRecognizer):
    """ST-GCN++ (MMAction2's ``stgcnpp`` configs): learned graph, unit residual, ``mstcn``, ``spatial``."""

    backbone_defaults = {"gcn_adaptive": "init", "gcn_with_res": True, "tcn_type": "mstcn"}
    default_mode = "spatial"


@MODELS.register("mmaction_aagcn")
class MMActionAAGCNModel(ConfiguredRecognizer):
    """MMAction2's 2s-AGCN (``AAGCN`` backbone, MVC data_bn, attention gates off as in its configs)."""

    backbone_type = "AAGCN"
    backbone_defaults = {"gcn_attention": False}
    default_mode = "spatial"
