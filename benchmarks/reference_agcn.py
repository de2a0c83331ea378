"""A faithful re-implementation of the official 2s-AGCN model's math and structure (the speed baseline).

Written from the description in ``../shared/reference/2s-agcn.md`` (section 5.1), not copied. It keeps
the reference's execution order on purpose, so that ``benchmarks/bench_models.py --model agcn``
measures what the official code costs:

* one 1x1 convolution per subset for ``conv_a``, ``conv_b`` and ``conv_d`` (nine convolutions per
  graph unit) in a Python loop over the three subsets;
* ``a`` is permuted to (n, V, inter, T) and copied with ``.contiguous()`` before the matmul;
* the fixed graph is moved to the input's device on every forward (the reference calls ``.cuda()``);
* every subset aggregates ``x @ G_k`` and then runs its own ``conv_d``; the three results are summed;
* the softmax and ReLUs are ``nn.Softmax`` / ``nn.ReLU`` modules; l1 adds its "no residual" 0 (a full
  elementwise pass, as the reference's ``lambda x: 0``);
* the model's input and output reshapes use the same permute / contiguous sequence.

The state_dict (keys, shapes, order) is the official one, so the golden weights load strictly.
Only the benchmark and one test use this module; the pipeline uses :mod:`model.agcn`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from model.modules import bn_init, conv_branch_init, conv_init, unit_tcn
from utils.registry import GRAPHS


class RefUnitGCN(nn.Module):
    """Adaptive graph convolution as the reference computes it. (n, C_in, T, V) -> (n, C_out, T, V)."""

    def __init__(self, in_c: int, out_c: int, A: np.ndarray, coff_embedding: int = 4, num_subset: int = 3):
        super().__init__()
        self.inter_c = out_c // coff_embedding
        self.num_subset = num_subset
        self.PA = nn.Parameter(torch.from_numpy(A.astype(np.float32)))
        nn.init.constant_(self.PA, 1e-6)
        self.A = torch.from_numpy(A.astype(np.float32))  # plain attribute, as in the reference
        self.conv_a = nn.ModuleList(nn.Conv2d(in_c, self.inter_c, 1) for _ in range(num_subset))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_c, self.inter_c, 1) for _ in range(num_subset))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_c, out_c, 1) for _ in range(num_subset))
        if in_c != out_c:
            self.down = nn.Sequential(nn.Conv2d(in_c, out_c, 1), nn.BatchNorm2d(out_c))
        else:
            self.down = None
        self.bn = nn.BatchNorm2d(out_c)
        self.soft = nn.Softmax(-2)
        self.relu = nn.ReLU()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            conv_branch_init(conv, num_subset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, V = x.size()
        A = self.A.to(x.device) + self.PA  # (3, V, V), moved on every call like the reference
        y = None
        for i in range(self.num_subset):
            a = self.conv_a[i](x).permute(0, 3, 1, 2).contiguous().view(N, V, self.inter_c * T)
            b = self.conv_b[i](x).view(N, self.inter_c * T, V)
            g = self.soft(torch.matmul(a, b) / a.size(-1))  # (N, V, V), columns sum to 1
            g = g + A[i]
            z = self.conv_d[i](torch.matmul(x.view(N, C * T, V), g).view(N, C, T, V))
            y = z + y if y is not None else z
        y = self.bn(y)
        y += self.down(x) if self.down is not None else x  # in place, as the reference
        return self.relu(y)


class RefBlock(nn.Module):
    """``TCN_GCN_unit``: ReLU(tcn1(gcn1(x)) + residual(x))."""

    def __init__(self, in_c: int, out_c: int, A: np.ndarray, stride: int = 1, residual: bool = True):
        super().__init__()
        self.gcn1 = RefUnitGCN(in_c, out_c, A)
        self.tcn1 = unit_tcn(out_c, out_c, stride=stride)
        self.relu = nn.ReLU()
        if not residual:
            self.residual = None
            self.res_kind = "none"
        elif in_c == out_c and stride == 1:
            self.residual = None
            self.res_kind = "identity"
        else:
            self.residual = unit_tcn(in_c, out_c, kernel_size=1, stride=stride)
            self.res_kind = "conv"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn1(self.gcn1(x))
        if self.res_kind == "identity":
            y = y + x
        elif self.res_kind == "conv":
            y = y + self.residual(x)
        else:
            y = y + 0  # the reference's residual is ``lambda x: 0``
        return self.relu(y)


class RefModel(nn.Module):
    """The reference ``Model``: data_bn, l1..l10, mean pooling, fc. Input (N, C, T, V, M) -> (N, num_class)."""

    def __init__(
        self,
        num_class: int = 60,
        num_point: int = 25,
        num_person: int = 2,
        graph: str = "graph.ntu_rgb_d.Graph",
        graph_args: dict[str, Any] | None = None,
        in_channels: int = 3,
    ):
        super().__init__()
        A = GRAPHS.get(graph, "graph")(**(graph_args or {})).A
        self.data_bn = nn.BatchNorm1d(num_person * in_channels * num_point)
        self.l1 = RefBlock(3, 64, A, residual=False)
        self.l2 = RefBlock(64, 64, A)
        self.l3 = RefBlock(64, 64, A)
        self.l4 = RefBlock(64, 64, A)
        self.l5 = RefBlock(64, 128, A, stride=2)
        self.l6 = RefBlock(128, 128, A)
        self.l7 = RefBlock(128, 128, A)
        self.l8 = RefBlock(128, 256, A, stride=2)
        self.l9 = RefBlock(256, 256, A)
        self.l10 = RefBlock(256, 256, A)
        self.fc = nn.Linear(256, num_class)
        nn.init.normal_(self.fc.weight, 0, math.sqrt(2.0 / num_class))
        bn_init(self.data_bn, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, V, M = x.size()
        x = x.permute(0, 4, 3, 1, 2).contiguous().view(N, M * V * C, T)
        x = self.data_bn(x)
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).contiguous().view(N * M, C, T, V)
        for i in range(1, 11):
            x = getattr(self, f"l{i}")(x)
        c_new = x.size(1)
        x = x.view(N, M, c_new, -1).mean(3).mean(1)
        return self.fc(x)
