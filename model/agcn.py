"""2s-AGCN (one stream), weight-compatible with the official ``model/agcn.py`` and faster.

``Model`` has exactly the official ``state_dict`` (keys, shapes, order; 352 entries for NTU) and
computes the same function, but not in the same way:

* **Layout.** Inside the blocks features are (n, C, V, T) tensors in channels-last memory, i.e.
  stored as (n, V, T, C) with n = N·M. Every convolution then runs on oneDNN's / cuDNN's NHWC path
  (on CPU several times faster than the NCHW path the reference takes), the temporal convolution is
  a (1, 9) kernel over T, and the graph aggregation of each subset is one plain batched matmul
  over V, G_k^T (V, V) @ x (V, T·C), with no permute copy.
* **Fused 1x1 convolutions.** ``conv_a`` of the three subsets run as one convolution, and so do
  the three ``conv_b`` (weights concatenated at forward time); the three S_k are one batched matmul.
  The three ``conv_d`` stay separate 1x1 convolutions after their aggregations: one (3, 1)
  convolution over the stacked aggregates computes the same sum but its backward pass measured
  slower on oneDNN.

The parameters still live in the official modules (``conv_a.0`` ... ``conv_d.2``), so checkpoints,
``ignore_weights`` and optimisers see the official names; concatenating a few weight tensors per
forward costs far less than the convolutions it replaces.

Model input (N, C, T, V, M), output logits (N, num_class).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model.modules import bn_init, check_model_input, conv_branch_init, conv_init, unit_tcn
from utils.errors import ConfigError
from utils.registry import GRAPHS, MODELS

# l1..l10: width as a multiple of base_channel, and temporal stride.
WIDTHS = (1, 1, 1, 1, 2, 2, 2, 4, 4, 4)
STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


def to_block_layout(x: torch.Tensor) -> torch.Tensor:
    """(n, C, T, V) -> (n, C, V, T) in channels-last memory (stored as (n, V, T, C)); copies."""
    return x.transpose(2, 3).contiguous(memory_format=torch.channels_last)


def from_block_layout(x: torch.Tensor) -> torch.Tensor:
    """(n, C, V, T) block features -> the usual (n, C, T, V) view (no copy)."""
    return x.transpose(2, 3)


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """Upcast bf16 / fp16 (autocast results) to float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class TemporalConv(unit_tcn):
    """``unit_tcn`` (keys ``conv.*``, ``bn.*``, kernel stored as (k, 1)) applied to block features.

    (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1): the stored (k, 1) kernel is used
    as a (1, k) kernel over the last axis.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        stride = conv.stride[0]
        if conv.kernel_size[0] == 1 and stride > 1:
            # A strided 1x1 conv reads every stride-th frame: subsample, then convolve with stride 1.
            # Same result, less work, and it avoids a oneDNN channels-last backward kernel that
            # corrupts the heap for 8 or 12 input channels (torch 2.13 CPU; base_channel 8 or 12).
            x = x[..., ::stride]
            stride = 1
        y = F.conv2d(
            x,
            conv.weight.transpose(2, 3),
            conv.bias,
            stride=(1, stride),
            padding=conv.padding[::-1],
            dilation=conv.dilation[::-1],
        )
        return y if self.bn is None else self.bn(y)


class GraphConvMixin:
    """The fast graph-convolution steps shared by AGCN's and AAGCN's ``unit_gcn``.

    The host module provides ``conv_a``, ``conv_b`` (K convs C_in -> inter_c each, optional),
    ``conv_d`` (K convs C_in -> C_out), ``inter_c`` and ``num_subset`` (K).
    """

    conv_a: nn.ModuleList
    conv_b: nn.ModuleList
    conv_d: nn.ModuleList
    inter_c: int
    num_subset: int

    def attention_logits(self, x: torch.Tensor) -> torch.Tensor:
        """S_k = a_k^T b_k / (inter_c·T) for every subset: (n, C_in, V, T) -> (n, K, V, V).

        S[n, k, v, w] = sum over (c, t) of a_k[n, c, v, t] · b_k[n, c, w, t] / (inter_c·T), with
        a_k = conv_a[k](x), b_k = conv_b[k](x); the K convs of ``conv_a`` run as one, those of
        ``conv_b`` as another.
        """
        n, _, V, T = x.shape
        K, inter = self.num_subset, self.inter_c

        def stacked(convs: nn.ModuleList) -> torch.Tensor:
            weight = torch.cat([m.weight for m in convs])  # (K·I, C_in, 1, 1)
            y = F.conv2d(x, weight, torch.cat([m.bias for m in convs]))  # (n, K·I, V, T), channels-last
            y = y.permute(0, 2, 3, 1).reshape(n, V, T, K, inter)  # a view of the storage
            return y.permute(0, 3, 1, 2, 4).reshape(n, K, V, T * inter)  # (n, K, V, T·I), one copy

        a, b = stacked(self.conv_a), stacked(self.conv_b)
        return torch.matmul(a, b.transpose(-1, -2)) / (inter * T)

    def aggregate(self, x: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """sum_k conv_d[k](x @ G_k): (n, C_in, V, T), graph (n or 1, K, V, V) -> (n, C_out, V, T).

        The aggregation y_k[n, c, w, t] = sum_v G[n, k, v, w]·x[n, c, v, t] is one plain batched matmul
        on the channels-last storage, G_k^T (V, V) @ x (V, T·C_in), with no permute copy. As in the
        reference the 1x1 conv comes after the aggregation: conv_d has a bias and G's columns do not
        sum to one, so the order matters.
        """
        n, c_in, V, T = x.shape
        feats = x.permute(0, 2, 3, 1).reshape(n, V, T * c_in)  # a view for channels-last x
        z = None
        for k, conv in enumerate(self.conv_d):
            y = torch.matmul(graph[:, k].transpose(-1, -2), feats)  # (n, V, T·C_in)
            y = conv(y.view(n, V, T, c_in).permute(0, 3, 1, 2))  # (n, C_out, V, T), channels-last
            z = y if z is None else z.add_(y)
        return z


class unit_gcn(GraphConvMixin, nn.Module):  # lower-case: the reference's name
    """Adaptive graph convolution of 2s-AGCN: G_k = A_k + PA_k + softmax_v(S_k).

    State-dict order as the reference: ``PA`` (K, V, V), ``conv_a.{k}``, ``conv_b.{k}``,
    ``conv_d.{k}``, ``down.{0,1}`` (only when C_in != C_out), ``bn``. The fixed graph ``A`` is a
    non-persistent buffer (not in the state_dict, follows ``.to(device)``).

    Shape: (n, C_in, V, T) block features -> (n, C_out, V, T).
    """

    def __init__(
        self, in_channels: int, out_channels: int, A: np.ndarray, coff_embedding: int = 4, num_subset: int = 3
    ) -> None:
        super().__init__()
        self.inter_c = out_channels // coff_embedding
        self.num_subset = num_subset
        self.PA = nn.Parameter(torch.full(A.shape, 1e-6, dtype=torch.float32))
        self.register_buffer("A", torch.from_numpy(np.asarray(A, dtype=np.float32)), persistent=False)
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(num_subset))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_subset))
        self.down = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels
            else None
        )
        self.bn = nn.BatchNorm2d(out_channels)
        init_unit_gcn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = at_least_float32(self.attention_logits(x))  # softmax in float32, also under autocast
        # (n, K, V, V); softmax over v: every column of the adaptive term sums to 1
        graph = torch.softmax(s, dim=-2) + (self.A + self.PA)
        y = self.bn(self.aggregate(x, graph))
        y += x if self.down is None else self.down(x)
        return y.relu_()


def init_unit_gcn(unit: nn.Module) -> None:
    """The reference initialisation of a graph unit: Kaiming convs, BN weight 1, ``bn`` 1e-6, branch conv_d."""
    for m in unit.modules():
        if isinstance(m, nn.Conv2d):
            conv_init(m)
        elif isinstance(m, nn.BatchNorm2d):
            bn_init(m, 1)
    bn_init(unit.bn, 1e-6)
    for conv in unit.conv_d:
        conv_branch_init(conv, len(unit.conv_d))


class TCN_GCN_unit(nn.Module):  # the reference's name
    """One block: ReLU(tcn1(gcn1(x)) + residual(x)); keys ``gcn1.*``, ``tcn1.*``, ``residual.*``.

    ``residual`` is absent when ``residual=False`` (l1) or the identity when the shapes agree;
    otherwise a strided 1x1 ``unit_tcn``. ``gcn`` is the graph-unit class (AGCN's or AAGCN's).

    Shape: (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1), channels-last.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray,
        stride: int = 1,
        residual: bool = True,
        gcn: type[nn.Module] = unit_gcn,
        **gcn_kwargs: Any,
    ) -> None:
        super().__init__()
        self.gcn1 = gcn(in_channels, out_channels, A, **gcn_kwargs)
        self.tcn1 = TemporalConv(out_channels, out_channels, stride=stride)
        self.residual_mode = "none" if not residual else "identity"
        if residual and (in_channels != out_channels or stride != 1):
            self.residual = TemporalConv(in_channels, out_channels, kernel_size=1, stride=stride)
            self.residual_mode = "conv"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn1(self.gcn1(x))
        if self.residual_mode == "identity":
            y += x
        elif self.residual_mode == "conv":
            y += self.residual(x)
        return y.relu_()


def build_graph(graph: str | type | None, graph_args: Mapping[str, Any] | None) -> Any:
    """Instantiate ``graph`` (a registered graph such as ``graph.ntu_rgb_d.Graph``, a class, or None for ``graph.Graph``)."""
    if graph is None:
        graph = "graph.Graph"
    cls = GRAPHS.get(graph, "model_args.graph") if isinstance(graph, str) else graph
    try:
        return cls(**dict(graph_args or {}))
    except TypeError as exc:
        raise ConfigError(f"model_args.graph_args: {exc}") from None


class Backbone(nn.Module):
    """Shared skeleton of AGCN and AAGCN: ``data_bn``, ``l1``..``l10``, mean pooling, optional dropout, ``fc``.

    Subclasses set ``gcn_unit`` (the graph-unit class) and pass per-unit options as ``gcn_kwargs``.
    """

    gcn_unit: ClassVar[type[nn.Module]] = unit_gcn
    # Older 2s-AGCN release files: ``conv_res`` was ``down`` and blocks were ``l1a`` .. (see model.loading).
    legacy_key_renames: ClassVar[tuple[tuple[str, str], ...]] = (
        (r"\.conv_res\.", ".down."),
        (r"^l(\d+)a\.", r"l\1."),
    )

    def __init__(
        self,
        num_class: int = 60,
        num_point: int = 25,
        num_person: int = 2,
        graph: str | type | None = None,
        graph_args: Mapping[str, Any] | None = None,
        in_channels: int = 3,
        drop_out: float = 0.0,
        base_channel: int = 64,
        **gcn_kwargs: Any,
    ) -> None:
        super().__init__()
        for key, value, low in (
            ("num_class", num_class, 1),
            ("num_point", num_point, 1),
            ("num_person", num_person, 1),
            ("in_channels", in_channels, 1),
            ("base_channel", base_channel, 4),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"model_args.{key}: expected an integer >= {low}, got {value!r}")
        if not 0.0 <= float(drop_out) < 1.0:
            raise ConfigError(f"model_args.drop_out: expected a probability in [0, 1), got {drop_out!r}")
        graph = "graph.Graph" if graph is None else graph
        self.graph = build_graph(graph, graph_args)
        A = np.asarray(self.graph.A)
        if A.shape[-1] != num_point:
            name = graph if isinstance(graph, str) else graph.__name__
            raise ConfigError(
                f"model_args.num_point is {num_point} but the graph '{name}' has {A.shape[-1]} joints"
            )
        self.num_class, self.num_point = num_class, num_point
        self.num_person, self.in_channels = num_person, in_channels

        self.data_bn = nn.BatchNorm1d(num_person * in_channels * num_point)
        c_in = in_channels
        for i, (width, stride) in enumerate(zip(WIDTHS, STRIDES), start=1):
            c_out = base_channel * width
            block = TCN_GCN_unit(c_in, c_out, A, stride, residual=i > 1, gcn=self.gcn_unit, **gcn_kwargs)
            self.add_module(f"l{i}", block)
            c_in = c_out
        if drop_out > 0:
            self.drop_out = nn.Dropout(drop_out)
        self.fc = nn.Linear(c_in, num_class)
        nn.init.normal_(self.fc.weight, 0, math.sqrt(2.0 / num_class))
        bn_init(self.data_bn, 1)

    @property
    def blocks(self) -> list[nn.Module]:
        return [getattr(self, f"l{i}") for i in range(1, len(WIDTHS) + 1)]

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a one-line ConfigError when ``x`` is not (N, in_channels, T, num_point, num_person)."""
        check_model_input(x, self.in_channels, self.num_point, self.num_person)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> block features (N·M, C', V, T') of l10, channels-last."""
        self.check_input(x)
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T)  # data_bn channel m·V·C + v·C + c
        x = self.data_bn(x)
        x = x.view(N * M, V, C, T).transpose(1, 2)  # (N·M, C, V, T)
        x = x.contiguous(memory_format=torch.channels_last)  # stored (N·M, V, T, C)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) float -> logits (N, num_class)."""
        N, M = x.shape[0], x.shape[-1]
        x = self.features(x)
        x = x.mean(dim=(2, 3)).view(N, M, -1).mean(1)  # over V·T', then over persons (absent ones too)
        if hasattr(self, "drop_out"):
            x = self.drop_out(x)
        return self.fc(x)


@MODELS.register("agcn", aliases=("model.agcn.Model",))
class Model(Backbone):
    """2s-AGCN: ``Model(num_class, num_point, num_person, graph, graph_args, in_channels)``.

    Unlike the reference, ``in_channels`` also sets l1's input width (the reference hard-wires 3; with 3
    the keys and shapes are identical). ``base_channel`` (64 = official) scales every width for small
    models; ``drop_out`` > 0 adds dropout before ``fc`` (the reference has none).
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
        base_channel: int = 64,
    ) -> None:
        super().__init__(
            num_class, num_point, num_person, graph, graph_args, in_channels, drop_out, base_channel
        )
