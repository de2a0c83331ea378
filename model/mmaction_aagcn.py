"""MMAction2's ``AAGCN`` backbone (the zoo's "2s-AGCN": AAGCN with the attention gates off).

The stage plan of :class:`model.stgcn.GCNBackbone` with ``unit_aagcn`` spatial units (the graph
unit of :mod:`model.aagcn` with MMAction2's key names) and ``unit_tcn`` temporal units, plus
MMAction2's differences: ``data_bn_type='MVC'`` by default (one BatchNorm channel per person slot,
joint and coordinate), an inflating stage doubles the previous width, and the graph is also kept as
the buffer ``backbone.A`` (unused by the forward pass, but in every zoo checkpoint).

Not the lshiwjx 2s-AGCN model (:mod:`model.agcn`): key names and graph parameters differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from graph.graph import Graph
from model.gcn_units import unit_aagcn, unit_tcn
from model.stgcn import BACKBONES, GCNBackbone


@BACKBONES.register("AAGCN")
class AAGCN(GCNBackbone):
    """MMAction2's ``AAGCN(graph_cfg, in_channels=3, base_channels=64, data_bn_type='MVC',
    num_person=2, num_stages=10, inflate_stages=[5, 8], down_stages=[5, 8], **kwargs)``.

    ``gcn_`` keywords go to ``unit_aagcn`` (``coff_embedding``, ``adaptive``, ``attention``),
    ``tcn_`` keywords to ``unit_tcn`` (``tcn_type='mstcn'`` is refused: MMAction2 would build a
    block without a temporal unit). Per-stage values: a list or tuple of length ``num_stages``.
    """

    gcn_unit = unit_aagcn
    tcn_types = {"unit_tcn": unit_tcn}

    def __init__(
        self, graph_cfg: Mapping[str, Any] | Graph, data_bn_type: str | None = "MVC", **kwargs: Any
    ) -> None:
        super().__init__(graph_cfg, data_bn_type=data_bn_type, **kwargs)
        self.register_buffer("A", torch.from_numpy(np.asarray(self.graph.A, dtype=np.float32)))

    def stage_width(self, base_channels: int, width: int, inflations: int, inflate: bool) -> int:
        return width * (1 + inflate)
