"""MMAction2's skeleton-GCN units (ST-GCN, ST-GCN++, MMAction2's AAGCN), weight-compatible.

Parameter and buffer names are MMAction2's (``unit_gcn``: ``A``, ``PA``, ``conv``, ``bn``, ``down``;
``unit_tcn``: ``conv``, ``bn``; ``mstcn``: ``branches``, ``transform``, ``bn``; ``unit_aagcn``: ``A``,
``alpha``, ``conv_a``/``conv_b``/``conv_d``, ``down``, ``bn``, ``conv_sa``/``conv_ta``/``fc1c``/``fc2c``),
so zoo checkpoints load strictly. Every unit works on the block layout of :mod:`model.agcn`:
(n, C, V, T) tensors in channels-last memory (stored (n, V, T, C)); temporal kernels stored as
(k, 1) run as (1, k) over the last axis, and the graph product over V is a plain matmul on the
storage, without permute copies of the input.

Graph convention (every unit): ``out[..., w] = sum_v in[..., v] · A[k, v, w]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from model import aagcn
from model.agcn import TemporalConv
from utils.errors import ConfigError

GCN_ADAPTIVE = (None, "init", "offset", "importance")


def _as_graph(A: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(A, dtype=np.float32)).clone()


def _check_norm_act(norm: Any, act: Any, where: str) -> None:
    """Only BatchNorm and ReLU (MMAction2's defaults, the only values its configs use) are built."""
    for key, value, allowed in (("norm", norm, "BN"), ("act", act, "ReLU")):
        name = value.get("type") if isinstance(value, Mapping) else value
        if name != allowed or (isinstance(value, Mapping) and set(value) != {"type"}):
            raise ConfigError(f"{where}.{key}: only '{allowed}' is supported, got {value!r}")


class unit_gcn(nn.Module):  # lower-case: MMAction2's name
    """MMAction2's spatial unit: ReLU( BN( sum_k graph_k(conv(x)_k) ) + down(x) ).

    Args:
        adaptive: how the graph G (K, V, V) is formed: ``None`` fixed buffer ``A``; ``'init'`` ``A``
            itself is learned (ST-GCN++); ``'offset'`` A + ``PA`` (``PA`` from uniform ±1e-6);
            ``'importance'`` A ⊙ ``PA`` (``PA`` from ones; ST-GCN's edge importance, the default).
        conv_pos: ``'pre'``: 1x1 conv C_in -> K·C_out (subset-major) before the graph product;
            ``'post'``: the K graph products of the input stacked (K·C_in, subset-major), then a 1x1
            conv to C_out.
        with_res: add the unit's own residual ``down`` (identity, or 1x1 conv + BN when the widths
            differ) before the ReLU (ST-GCN++).

    Shape: (n, C_in, V, T) -> (n, C_out, V, T), channels-last.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray | torch.Tensor,
        adaptive: str | None = "importance",
        conv_pos: str = "pre",
        with_res: bool = False,
        norm: Any = "BN",
        act: Any = "ReLU",
    ) -> None:
        super().__init__()
        if adaptive not in GCN_ADAPTIVE:
            raise ConfigError(f"gcn_adaptive: expected one of {GCN_ADAPTIVE}, got {adaptive!r}")
        if conv_pos not in ("pre", "post"):
            raise ConfigError(f"gcn_conv_pos: expected 'pre' or 'post', got {conv_pos!r}")
        _check_norm_act(norm, act, "gcn")
        A = _as_graph(A)
        self.num_subsets = K = A.shape[0]
        self.in_channels, self.out_channels = in_channels, out_channels
        self.adaptive, self.conv_pos, self.with_res = adaptive, conv_pos, with_res
        if adaptive == "init":
            self.A = nn.Parameter(A)
        else:
            self.register_buffer("A", A)
        if adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        elif adaptive == "importance":
            self.PA = nn.Parameter(torch.ones_like(A))
        if conv_pos == "pre":
            self.conv = nn.Conv2d(in_channels, out_channels * K, 1)
        else:
            self.conv = nn.Conv2d(in_channels * K, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        if with_res and in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = None  # identity when with_res, nothing otherwise

    def graph(self) -> torch.Tensor:
        """The graph in use, (K, V, V)."""
        if self.adaptive == "importance":
            return self.A * self.PA
        if self.adaptive == "offset":
            return self.A + self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        G = self.graph()
        if self.conv_pos == "pre" and self.in_channels >= self.out_channels:
            z = self._conv_then_graph(x, G)
        else:  # cheaper to apply the graphs to the narrower input first
            z = self._graph_then_conv(x, G)
        y = self.bn(z)
        if self.with_res:
            y += x if self.down is None else self.down(x)
        return y.relu_()

    def _conv_then_graph(self, x: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
        """'pre' as written: conv to K·C_out, then z[w] = sum over (k, v) of G[k, v, w]·y[k, v]."""
        n, _, V, T = x.shape
        K, c_out = self.num_subsets, self.out_channels
        y = self.conv(x)  # (n, K·C_out, V, T), stored (n, V, T, K·C_out)
        y = y.permute(0, 2, 3, 1).reshape(n, V, T, K, c_out)
        y = y.permute(0, 3, 1, 2, 4).reshape(n, K * V, T * c_out)  # one copy: rows (k, v)
        Gt = G.reshape(K * V, V).t().to(y.dtype).expand(n, V, K * V)  # (n, W, K·V), no copy
        z = torch.bmm(Gt, y)  # (n, W, T·C_out): one batched matmul for all subsets
        return z.view(n, V, T, c_out).permute(0, 3, 1, 2)  # (n, C_out, W, T), channels-last

    def _graph_then_conv(self, x: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
        """The K graph products of the input, stacked subset-major (K·C_in), then one 1x1 conv.

        'post' as written; for 'pre' the same function with the conv weights regrouped:
        sum_k G_k^T (W_k x + b_k) = [W_0 .. W_K-1] [x G_0; ..; x G_K-1] + sum_k b_k colsum(G_k).
        """
        n, c_in, V, T = x.shape
        K, c_out = self.num_subsets, self.out_channels
        feats = x.permute(0, 2, 3, 1).reshape(n, V, T * c_in)  # a view of channels-last x
        Gt = G.transpose(1, 2).reshape(K * V, V).to(feats.dtype).expand(n, K * V, V)  # rows (k, w)
        agg = torch.bmm(Gt, feats).view(n, K, V, T, c_in)
        agg = agg.permute(0, 2, 3, 1, 4).reshape(n, V, T, K * c_in).permute(0, 3, 1, 2)  # (n, K·C_in, W, T)
        if self.conv_pos == "post":
            return self.conv(agg)
        weight = self.conv.weight.view(K, c_out, c_in).transpose(0, 1).reshape(c_out, K * c_in, 1, 1)
        bias = (self.conv.bias.view(K, c_out, 1) * G.sum(1).view(K, 1, V)).sum(0)  # (C_out, W)
        z = F.conv2d(agg, weight.to(agg.dtype))
        return z.add_(bias.to(z.dtype)[None, :, :, None])


class unit_tcn(TemporalConv):  # lower-case: MMAction2's name
    """MMAction2's temporal unit: conv (k, 1) with stride, dilation, same padding; BN (or none); dropout.

    Keys ``conv.*`` and ``bn.*`` (no ``bn`` with ``norm=None``). No activation.
    Shape: (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1), channels-last.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 9,
        stride: int = 1,
        dilation: int = 1,
        norm: Any = "BN",
        dropout: float = 0.0,
    ) -> None:
        if norm is not None:
            _check_norm_act(norm, "ReLU", "tcn")
        super().__init__(in_channels, out_channels, kernel_size, stride, dilation, norm=norm is not None)
        self.drop = nn.Dropout(dropout, inplace=True) if dropout > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        return y if self.drop is None else self.drop(y)


class TemporalPointwise(nn.Conv2d):
    """A 1x1 conv with temporal stride (``mstcn``'s last branch; key ``weight``/``bias``).

    Every stride-th frame is taken first, then a stride-1 1x1 conv: the same result, less work.
    Shape: (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, 1)
        self.temporal_stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x[..., :: self.temporal_stride] if self.temporal_stride > 1 else x)


class TemporalMaxPool(nn.Module):
    """Max over 3 frames with temporal stride and padding 1 (``mstcn``'s max branch). No keys."""

    def __init__(self, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, (1, self.kernel_size), (1, self.stride), (0, 1))


# mstcn's six branches: (temporal kernel, dilation), a max-pool branch and a plain 1x1 branch.
MSTCN_BRANCHES: tuple[Any, ...] = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")


class mstcn(nn.Module):  # lower-case: MMAction2's name
    """ST-GCN++'s multi-scale temporal unit.

    Six parallel branches on the input, concatenated on channels in this order: four
    ``1x1 conv -> BN -> ReLU -> temporal conv k=3`` (dilations 1, 2, 3, 4; no BN after), one
    ``1x1 conv -> BN -> ReLU -> max over 3 frames``, one strided 1x1 conv. The first branch takes
    the remainder channels: out = rem + 5·(out // 6). Then ``transform`` (BN -> ReLU -> 1x1 conv),
    ``bn``, dropout; no activation.

    Shape: (n, C_in, V, T) -> (n, C_out, V, floor((T - 1) / stride) + 1), channels-last.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        num = len(MSTCN_BRANCHES)
        mid = out_channels // num
        widths = [out_channels - mid * (num - 1)] + [mid] * (num - 1)
        branches: list[nn.Module] = []
        for spec, width in zip(MSTCN_BRANCHES, widths):
            if spec == "1x1":
                branches.append(TemporalPointwise(in_channels, width, stride))
                continue
            head = [nn.Conv2d(in_channels, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if spec[0] == "max":
                tail: nn.Module = TemporalMaxPool(spec[1], stride)
            else:
                tail = unit_tcn(width, width, kernel_size=spec[0], stride=stride, dilation=spec[1], norm=None)
            branches.append(nn.Sequential(*head, tail))
        self.branches = nn.ModuleList(branches)
        self.transform = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True), nn.Conv2d(out_channels, out_channels, 1)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout, inplace=True) if dropout > 0 else None

        self.widths = widths

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        heads = self.branches[:-1]  # 1x1 conv -> BN -> ReLU -> temporal op
        # the five head convs and BNs run as one conv and one BN (parameters concatenated here)
        weight = torch.cat([b[0].weight for b in heads])
        h = F.conv2d(x, weight, torch.cat([b[0].bias for b in heads]))  # (n, sum of widths, V, T)
        h = fused_batch_norm(h, [b[1] for b in heads]).relu_()
        parts = h.split(self.widths[:-1], dim=1)
        outs = [b[3](part) for b, part in zip(heads, parts)] + [self.branches[-1](x)]
        y = torch.cat(outs, dim=1)
        y = self.bn(self.transform(y))
        return y if self.drop is None else self.drop(y)


def fused_batch_norm(x: torch.Tensor, norms: list[nn.BatchNorm2d]) -> torch.Tensor:
    """The BatchNorms ``norms`` applied to consecutive channel groups of ``x`` as one call.

    Identical to applying each to its group (statistics are per channel); in training the updated
    running statistics are written back to the modules. Anything but plain BatchNorm2d with a fixed
    momentum (e.g. SyncBatchNorm after ``sync_bn``) is applied group by group.
    """
    first = norms[0]
    if any(type(m) is not nn.BatchNorm2d or m.momentum is None or not m.track_running_stats for m in norms):
        groups = x.split([m.num_features for m in norms], dim=1)
        return torch.cat([m(g) for m, g in zip(norms, groups)], dim=1)
    weight, bias = torch.cat([m.weight for m in norms]), torch.cat([m.bias for m in norms])
    mean = torch.cat([m.running_mean for m in norms])
    var = torch.cat([m.running_var for m in norms])
    y = F.batch_norm(x, mean, var, weight, bias, first.training, first.momentum, first.eps)
    if first.training:
        with torch.no_grad():
            for m, new_mean, new_var in zip(norms, mean.split([m.num_features for m in norms]),
                                            var.split([m.num_features for m in norms])):  # fmt: skip
                m.running_mean.copy_(new_mean)
                m.running_var.copy_(new_var)
                m.num_batches_tracked.add_(1)
    return y


class unit_aagcn(aagcn.unit_gcn):  # lower-case: MMAction2's name
    """MMAction2's ``unit_aagcn``: 2s-AGCN's AAGCN unit with the learned graph named ``A``.

    G_k = A_k + alpha · tanh(a_k^T b_k / (inter·T)) (``A`` a Parameter initialised to the graph,
    ``alpha`` from 0); ``adaptive=False`` uses the fixed buffer ``A`` (saved in the state_dict);
    ``attention`` adds the spatial, temporal and channel gates (MMAction2's class default: on).
    Shape: (n, C_in, V, T) -> (n, C_out, V, T), channels-last.
    """

    graph_key = "A"
    graph_buffer_saved = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray | torch.Tensor,
        coff_embedding: int = 4,
        adaptive: bool = True,
        attention: bool = True,
    ) -> None:
        A = np.asarray(A, dtype=np.float32)
        super().__init__(
            in_channels, out_channels, A, coff_embedding, A.shape[0], adaptive=adaptive, attention=attention
        )
