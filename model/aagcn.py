"""AAGCN: 2s-AGCN's attention-enhanced variant (the reference's ``model/aagcn.py``, MS-AAGCN paper).

Same backbone as :mod:`model.agcn` (``data_bn``, ``l1``..``l10``, pooling, ``fc``; built by
:class:`model.agcn.Backbone`), with its own graph unit:

* adaptive graph G_k = PA_k + alpha · tanh(S_k), ``PA`` initialised to the graph A itself and
  ``alpha`` a scalar initialised to 0 (the fixed A is not added); S_k as in AGCN;
* ``adaptive=False``: G_k = A_k, fixed (the reference crashes in this mode: it multiplies by an
  undefined mask);
* ``attention=True``: after bn + down + ReLU, spatial, temporal and channel attention in turn, each
  y <- y · sigmoid(...) + y.

State-dict names follow the reference: ``PA``, ``alpha``, ``conv_d``, ``conv_a``, ``conv_b``,
``conv_ta``, ``conv_sa``, ``fc1c``, ``fc2c``, ``down``, ``bn``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from model.agcn import Backbone, GraphConvMixin, at_least_float32, init_unit_gcn
from utils.registry import MODELS


class unit_gcn(GraphConvMixin, nn.Module):  # lower-case: the reference's name
    """AAGCN graph unit. Shape: (n, C_in, V, T) block features -> (n, C_out, V, T), channels-last.

    ``graph_key`` names the learned graph (2s-AGCN: ``PA``; MMAction2's ``unit_aagcn``: ``A``);
    ``graph_buffer_saved`` says whether the fixed graph of ``adaptive=False`` is in the state_dict.
    """

    graph_key = "PA"
    graph_buffer_saved = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray,
        coff_embedding: int = 4,
        num_subset: int = 3,
        adaptive: bool = True,
        attention: bool = True,
    ) -> None:
        super().__init__()
        self.inter_c = out_channels // coff_embedding
        self.num_subset = num_subset
        self.adaptive, self.attention = adaptive, attention
        num_joints = A.shape[-1]
        A = torch.from_numpy(np.asarray(A, dtype=np.float32))

        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_subset))
        if adaptive:
            self.register_parameter(self.graph_key, nn.Parameter(A.clone()))
            self.alpha = nn.Parameter(torch.zeros(1))
            self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))
            self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))
        else:
            self.register_buffer("A", A, persistent=self.graph_buffer_saved)
        if attention:
            # temporal: Conv1d over T (kernel 9), zero init
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
            nn.init.constant_(self.conv_ta.weight, 0)
            nn.init.constant_(self.conv_ta.bias, 0)
            # spatial: Conv1d over V, kernel V (V odd) or V - 1 (V even), Xavier init
            kernel = num_joints if num_joints % 2 else num_joints - 1
            self.conv_sa = nn.Conv1d(out_channels, 1, kernel, padding=(kernel - 1) // 2)
            nn.init.xavier_normal_(self.conv_sa.weight)
            nn.init.constant_(self.conv_sa.bias, 0)
            # channel: squeeze-excitation with reduction 2
            self.fc1c = nn.Linear(out_channels, out_channels // 2)
            self.fc2c = nn.Linear(out_channels // 2, out_channels)
            nn.init.kaiming_normal_(self.fc1c.weight)
            nn.init.constant_(self.fc1c.bias, 0)
            nn.init.constant_(self.fc2c.weight, 0)
            nn.init.constant_(self.fc2c.bias, 0)
        self.down = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels
            else None
        )
        self.bn = nn.BatchNorm2d(out_channels)
        init_unit_gcn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.adaptive:
            s = at_least_float32(self.attention_logits(x))
            graph = getattr(self, self.graph_key) + self.alpha * torch.tanh(s)  # (n, K, V, V)
        else:
            graph = self.A.unsqueeze(0)  # (1, K, V, V), shared by the batch
        y = self.bn(self.aggregate(x, graph))
        y += x if self.down is None else self.down(x)
        y = y.relu_()
        if self.attention:
            y = self.attend(y)
        return y

    def attend(self, y: torch.Tensor) -> torch.Tensor:
        """Spatial, temporal, then channel attention on (n, C, V, T): each y <- y + y · sigmoid(...)."""
        s = torch.sigmoid(self.conv_sa(y.mean(-1)))  # (n, C, V) -> (n, 1, V): over joints, T averaged
        y = torch.addcmul(y, y, s.unsqueeze(-1).to(y.dtype))
        s = torch.sigmoid(self.conv_ta(y.mean(-2)))  # (n, C, T) -> (n, 1, T): over frames, V averaged
        y = torch.addcmul(y, y, s.unsqueeze(-2).to(y.dtype))
        s = torch.sigmoid(self.fc2c(torch.relu(self.fc1c(y.mean((-2, -1))))))  # (n, C)
        return torch.addcmul(y, y, s[:, :, None, None].to(y.dtype))


@MODELS.register("aagcn", aliases=("model.aagcn.Model",))
class Model(Backbone):
    """AAGCN: ``Model(num_class, num_point, num_person, graph, graph_args, in_channels, drop_out,
    adaptive, attention)``; input (N, C, T, V, M), logits (N, num_class).

    ``base_channel`` (64 = official) scales every width, for small models.
    """

    gcn_unit = unit_gcn

    def __init__(
        self,
        num_class: int = 60,
        num_point: int = 25,
        num_person: int = 2,
        graph: str | type | None = None,
        graph_args: Mapping[str, Any] | None = None,
        in_channels: int = 3,
        drop_out: float = 0.0,
        adaptive: bool = True,
        attention: bool = True,
        base_channel: int = 64,
    ) -> None:
        super().__init__(
            num_class,
            num_point,
            num_person,
            graph,
            graph_args,
            in_channels,
            drop_out,
            base_channel,
            adaptive=adaptive,
            attention=attention,
        )
