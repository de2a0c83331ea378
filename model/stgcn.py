"""MMAction2's ``STGCN`` backbone (ST-GCN and ST-GCN++), and the stage plan it shares with ``AAGCN``.

A backbone is ``data_bn`` followed by ``gcn``, a list of blocks ``ReLU(tcn(gcn(x)) + residual(x))``
(MMAction2's ``STGCNBlock`` / ``AAGCNBlock``). Stage 1 (the stem, only when ``in_channels !=
base_channels``) maps the input channels to ``base_channels`` without a block residual; stages
2..``num_stages`` widen at ``inflate_stages`` and halve T at ``down_stages``; a block whose shape
changes has a strided 1x1 ``unit_tcn`` residual (``residual.conv`` / ``residual.bn``).

Keyword routing as in MMAction2: a keyword ``gcn_<name>`` goes to every spatial unit as ``<name>``,
``tcn_<name>`` to every temporal unit (``tcn_type``: ``unit_tcn`` or ``mstcn``); a list or tuple of
length ``num_stages`` gives one value per stage; ``tcn_dropout`` never reaches the stem; any other
keyword is a ConfigError naming it.

Input (N, C, T, V, M) (the project's layout; MMAction2's own is (N, M, T, V, C)), output block
features (N·M, C_out, V, T_out) in channels-last memory (see :mod:`model.gcn_units`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from graph.graph import Graph
from model.gcn_units import mstcn, unit_gcn, unit_tcn
from utils.errors import ConfigError, unknown_key_message
from utils.registry import Registry

# MMAction2 backbone type -> class (``model.mmaction.build`` looks ``backbone.type`` up here).
BACKBONES = Registry("MMAction2 backbone")
DATA_BN_TYPES = ("VC", "MVC", "none", None)
TCN_TYPES = {"unit_tcn": unit_tcn, "mstcn": mstcn}


def build_graph_cfg(graph_cfg: Mapping[str, Any] | Graph, where: str) -> Graph:
    """``Graph(**graph_cfg)`` (MMAction2's ``dict(layout=..., mode=...)``), or a built Graph."""
    if isinstance(graph_cfg, Graph):
        return graph_cfg
    if not isinstance(graph_cfg, Mapping):
        raise ConfigError(f"{where}.graph_cfg: expected dict(layout=..., mode=...), got {graph_cfg!r:.60}")
    try:
        return Graph(**graph_cfg)
    except TypeError as exc:
        raise ConfigError(f"{where}.graph_cfg: {exc}") from None


def graph_cfg_of(graph: Graph) -> dict[str, Any]:
    """The MMAction2 ``graph_cfg`` that rebuilds ``graph`` (a dict layout for layouts MMAction2 lacks)."""
    layout = graph.layout
    if layout.name in ("nturgb+d", "coco", "openpose"):
        spec: Any = layout.name
    else:
        spec = {
            "num_node": layout.num_node,
            "inward": [list(e) for e in layout.inward],
            "center": layout.center,
        }
    cfg = {"layout": spec, "mode": graph.labeling_mode}
    if graph.max_hop != 1:
        cfg["max_hop"] = graph.max_hop
    return cfg


def _unit_keywords(cls: type) -> list[str]:
    params = inspect.signature(cls).parameters
    return [n for n in params if n not in ("self", "in_channels", "out_channels", "A")]


class GCNBlock(nn.Module):
    """ReLU(tcn(gcn(x)) + residual(x)); keys ``gcn.*``, ``tcn.*``, ``residual.*``.

    ``residual``: False (stem: none), else the identity when the shape is kept, otherwise a strided
    1x1 ``unit_tcn``. Shape: (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1).
    """

    def __init__(
        self, gcn: nn.Module, tcn: nn.Module, in_channels: int, out_channels: int, stride: int, residual: bool
    ) -> None:
        super().__init__()
        self.gcn, self.tcn = gcn, tcn
        self.residual_mode = "none" if not residual else "identity"
        if residual and (in_channels != out_channels or stride != 1):
            self.residual = unit_tcn(in_channels, out_channels, kernel_size=1, stride=stride)
            self.residual_mode = "conv"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual_mode == "identity":
            y += x
        elif self.residual_mode == "conv":
            y += self.residual(x)
        return y.relu_()


class GCNBackbone(nn.Module):
    """``data_bn`` + ``gcn`` blocks: the stage plan of MMAction2's STGCN and AAGCN.

    Subclasses name their spatial unit (``gcn_unit``), how a stage's width grows (``stage_width``)
    and which temporal units they allow.
    """

    gcn_unit: ClassVar[type[nn.Module]] = unit_gcn
    tcn_types: ClassVar[Mapping[str, type[nn.Module]]] = TCN_TYPES

    def __init__(
        self,
        graph_cfg: Mapping[str, Any] | Graph,
        in_channels: int = 3,
        base_channels: int = 64,
        data_bn_type: str | None = "VC",
        num_person: int = 2,
        num_stages: int = 10,
        inflate_stages: Sequence[int] = (5, 8),
        down_stages: Sequence[int] = (5, 8),
        init_cfg: Any = None,
        where: str = "backbone",
        **unit_kwargs: Any,
    ) -> None:
        super().__init__()
        for key, value, low in (
            ("in_channels", in_channels, 1),
            ("base_channels", base_channels, 1),
            ("num_person", num_person, 1),
            ("num_stages", num_stages, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{where}.{key}: expected an integer >= {low}, got {value!r}")
        if data_bn_type not in DATA_BN_TYPES:
            raise ConfigError(f"{where}.data_bn_type: expected 'VC', 'MVC' or 'none', got {data_bn_type!r}")
        self.graph = build_graph_cfg(graph_cfg, where)
        A = np.asarray(self.graph.A, dtype=np.float32)
        V = A.shape[-1]
        self.in_channels, self.num_point, self.num_person = in_channels, V, num_person
        self.data_bn_type = data_bn_type if data_bn_type in ("VC", "MVC") else "none"
        if self.data_bn_type == "MVC":
            self.data_bn = nn.BatchNorm1d(num_person * V * in_channels)
        elif self.data_bn_type == "VC":
            self.data_bn = nn.BatchNorm1d(V * in_channels)

        stages = self._stage_kwargs(unit_kwargs, num_stages, where)
        blocks = []
        if in_channels != base_channels:  # the stem: no block residual
            blocks.append(self._block(in_channels, base_channels, A, 1, False, stages[0]))
        width, inflations = base_channels, 0
        for i in range(2, num_stages + 1):
            inflate = i in inflate_stages
            inflations += inflate
            c_in, width = width, self.stage_width(base_channels, width, inflations, inflate)
            blocks.append(self._block(c_in, width, A, 1 + (i in down_stages), True, stages[i - 1]))
        self.gcn = nn.ModuleList(blocks)
        self.out_channels = width

    def stage_width(self, base_channels: int, width: int, inflations: int, inflate: bool) -> int:
        """Output width of a stage (``width``: the previous stage's)."""
        raise NotImplementedError

    def _stage_kwargs(self, kwargs: dict[str, Any], num_stages: int, where: str) -> list[dict[str, Any]]:
        """Per-stage keyword dicts, checked against the units' arguments."""
        tcn_type = kwargs.get("tcn_type", "unit_tcn")
        types = tcn_type if isinstance(tcn_type, (list, tuple)) else [tcn_type]
        for t in types:
            if t not in self.tcn_types:
                raise ConfigError(
                    f"{where}.tcn_type: {t!r} is not available in {type(self).__name__}; "
                    f"valid: {', '.join(self.tcn_types)}"
                )
        valid = {"tcn_type"}
        valid |= {f"gcn_{k}" for k in _unit_keywords(self.gcn_unit)}
        for cls in {self.tcn_types[t] for t in types}:
            valid |= {f"tcn_{k}" for k in _unit_keywords(cls) if k != "stride"}
        for key in kwargs:
            if key not in valid:
                named = {n for cls in (GCNBackbone, type(self)) for n in inspect.signature(cls).parameters}
                named -= {"kwargs", "unit_kwargs", "where", "graph_cfg"}
                raise ConfigError(unknown_key_message(str(key), valid | named, where))
        stages: list[dict[str, Any]] = [{} for _ in range(num_stages)]
        for key, value in kwargs.items():
            per_stage = isinstance(value, (list, tuple)) and len(value) == num_stages
            for i, stage in enumerate(stages):
                stage[key] = value[i] if per_stage else value
        stages[0].pop("tcn_dropout", None)
        return stages

    def _block(
        self, c_in: int, c_out: int, A: np.ndarray, stride: int, residual: bool, kwargs: Mapping[str, Any]
    ) -> GCNBlock:
        gcn_kwargs = {k[4:]: v for k, v in kwargs.items() if k.startswith("gcn_")}
        tcn_kwargs = {k[4:]: v for k, v in kwargs.items() if k.startswith("tcn_") and k != "tcn_type"}
        tcn_cls = self.tcn_types[kwargs.get("tcn_type", "unit_tcn")]
        if tcn_cls is mstcn:
            unknown = set(tcn_kwargs) - set(_unit_keywords(mstcn))
            if unknown:  # a unit_tcn-only keyword given to an mstcn stage
                raise ConfigError(unknown_key_message(f"tcn_{sorted(unknown)[0]}", ["tcn_dropout"], "tcn"))
        gcn = self.gcn_unit(c_in, c_out, A, **gcn_kwargs)
        tcn = tcn_cls(c_out, c_out, stride=stride, **tcn_kwargs)
        return GCNBlock(gcn, tcn, c_in, c_out, stride, residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> block features (N·M, C_out, V, T_out), channels-last."""
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2)  # (N, M, V, C, T): data_bn channel (m·V + v)·C + c
        if self.data_bn_type == "MVC":
            x = self.data_bn(x.reshape(N, M * V * C, T))
        elif self.data_bn_type == "VC":
            x = self.data_bn(x.reshape(N * M, V * C, T))
        x = x.reshape(N * M, V, C, T).transpose(1, 2)  # (N·M, C, V, T)
        x = x.contiguous(memory_format=torch.channels_last)  # stored (N·M, V, T, C)
        for block in self.gcn:
            x = block(x)
        return x


@BACKBONES.register("STGCN")
class STGCN(GCNBackbone):
    """MMAction2's ``STGCN(graph_cfg, in_channels=3, base_channels=64, data_bn_type='VC', ch_ratio=2,
    num_person=2, num_stages=10, inflate_stages=[5, 8], down_stages=[5, 8], **kwargs)``.

    Plain ST-GCN is the default (``gcn_adaptive='importance'``, ``unit_tcn``, graph mode
    ``stgcn_spatial`` in its configs); ST-GCN++ is ``gcn_adaptive='init', gcn_with_res=True,
    tcn_type='mstcn'`` with mode ``spatial``. Inflating stage widths are
    ``int(base_channels · ch_ratio^inflations + 1e-4)``.
    """

    def __init__(self, graph_cfg: Mapping[str, Any] | Graph, ch_ratio: float = 2, **kwargs: Any) -> None:
        self.ch_ratio = ch_ratio
        super().__init__(graph_cfg, **kwargs)

    def stage_width(self, base_channels: int, width: int, inflations: int, inflate: bool) -> int:
        return int(base_channels * self.ch_ratio**inflations + 1e-4)
