"""SGN (Zhang et al., CVPR 2020), weight-compatible with microsoft/SGN.

``Model`` has the reference's ``state_dict`` (keys, shapes, registration order) and, for the same
weights and input, the same logits. What differs is how it computes them:

* **Any batch, device, class count, joint count (layout from** ``graph/`` **), segment count and
  coordinate count.** The semantic one-hots are not state and are never built: a 1x1 conv applied
  to an identity one-hot selects one weight column per joint (or frame), so ``spa_embed`` /
  ``tem_embed`` are evaluated once on the V (or ``seg``) distinct inputs and broadcast. The conv
  weights keep the reference shapes ``[64, V, 1, 1]`` and ``[64, seg, 1, 1]``.
* **Token layout.** Inside the model activations are (B, T, V, C) contiguous ("channels last"):
  1x1 convs are single GEMMs (``F.linear``), the per-frame graph product ``G @ X`` is a batched
  matmul with no permute, and ``BatchNorm2d`` runs on the permuted (B, C, T, V) view, which is
  channels-last contiguous.
* **No tensor above 32 MiB** at the reference batch (64): glibc maps such blocks afresh on every
  allocation and the page faults cost far more than the GEMM fusions that would need them.
* **Exact rewrites** (same function, different association of the sums):
  - ``gcn``: ``W (G X) = G (W X)``, so the graph product runs on the narrower side of ``W`` and is
    fused with the add of ``W1 X`` (``baddbmm`` / ``addmm`` accumulation);
  - the joint-type embedding is constant over (batch, frame), so its contribution to the first
    layer's convs (``compute_g1``, ``gcn1``) is a (V, C_out) table added to the GEMM of the 64
    dynamic channels: half the K of those GEMMs;
  - ``compute_g1``: ``<theta_i, phi_j> = <(W2^T W1) x_i + W2^T b1, x_j> + <theta_i, b2>``, i.e.
    128 x 128 instead of two 128 x 256 convs and 256-long dot products;
  - the frame embedding is added after the max over joints (``max_j(x_j + c) = max_j(x_j) + c``
    holds exactly in floating point, rounding being monotonic).

Input (N, C, T, V, M) with T == ``seg``; SGN sees one skeleton per sequence (the loader's two-to-one
split, M = 1). With M > 1 (the feeder's ``keep`` option) persons are folded into the batch and the
logits are averaged over persons; BatchNorm statistics then include every person slot.
The reference's (N, 20, 75) input is the same data as (N, 3, 20, 25, 1): ``x.view(N, T, V, C)
.permute(0, 3, 1, 2)[..., None]`` (joint-major xyz).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graph import Graph
from graph.layouts import Layout, get_layout
from utils.errors import ConfigError, DataError
from utils.registry import GRAPHS, MODELS

# ---------------------------------------------------------------------------------------------
# Layout helpers: token (B, T, V, C) contiguous  <->  (B, C, T, V) channels-last view (no copy).


def to_nchw(x: torch.Tensor) -> torch.Tensor:
    """(B, T, V, C) -> (B, C, T, V) view; channels-last contiguous when ``x`` is contiguous."""
    return x.permute(0, 3, 1, 2)


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, V) -> (B, T, V, C) view; contiguous when ``x`` is channels-last contiguous."""
    return x.permute(0, 2, 3, 1)


def at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32, or unchanged when it is already float32 / float64 (stable softmax under autocast)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def conv_weight_2d(conv: nn.Conv2d) -> torch.Tensor:
    """A 1x1 conv's weight as a (C_out, C_in) matrix (a view)."""
    return conv.weight.flatten(1)


def fused_batch_norm(x: torch.Tensor, bns: Sequence[nn.modules.batchnorm._BatchNorm]) -> torch.Tensor:
    """Apply ``len(bns)`` BatchNorms to consecutive channel groups of tokens ``x`` in one call.

    ``x`` (B, T, V, C) with C the sum of the groups' channels -> (B, C, T, V) channels-last. The same
    math as calling each module on its group (statistics are per channel); in training the running
    statistics and ``num_batches_tracked`` of every module are updated as the modules would.
    """
    first = bns[0]
    x4 = to_nchw(x)
    if len(bns) == 1:
        return first(x4)
    use_batch = first.training or not first.track_running_stats
    track = first.training and first.track_running_stats
    rm = torch.cat([b.running_mean for b in bns]) if first.track_running_stats else None
    rv = torch.cat([b.running_var for b in bns]) if first.track_running_stats else None
    weight = torch.cat([b.weight for b in bns]) if first.affine else None
    bias = torch.cat([b.bias for b in bns]) if first.affine else None
    momentum = 0.0 if first.momentum is None else first.momentum
    if track and first.momentum is None:  # cumulative average: factor 1 / batches seen
        momentum = 1.0 / float(first.num_batches_tracked + 1)
    y = F.batch_norm(x4, rm, rv, weight, bias, use_batch, momentum, first.eps)
    if track:
        with torch.no_grad():
            offset = 0
            for b in bns:
                n = b.num_features
                b.running_mean.copy_(rm[offset : offset + n])
                b.running_var.copy_(rv[offset : offset + n])
                b.num_batches_tracked.add_(1)
                offset += n
    return y


# ---------------------------------------------------------------------------------------------
# Construction helpers shared with ImpSGNv2.


def resolve_layout(graph: str | None, graph_args: Mapping[str, Any] | None, num_point: int) -> Layout:
    """The skeleton layout of an AGCN-style ``graph`` / ``graph_args`` pair, checked against ``num_point``.

    ``graph`` is a dotted class path (``graph.ntu_rgb_d.Graph``) or None for ``graph.Graph``;
    ``graph_args`` its keyword arguments (``{'layout': 'nw_ucla'}``). Default: the NTU layout.
    """
    graph_args = dict(graph_args or {})
    if graph is None:
        cls = Graph
    elif isinstance(graph, str):
        cls = GRAPHS.get(graph, "model_args.graph")
    else:
        raise ConfigError(
            f"model_args.graph: expected a dotted class path or null, got {type(graph).__name__}"
        )
    try:
        g = cls(**graph_args)
    except TypeError as exc:
        raise ConfigError(f"model_args.graph_args: {exc}") from exc
    layout = getattr(g, "layout", None)
    if layout is None:
        raise ConfigError(f"model_args.graph: {graph!r} has no 'layout' attribute (use a graph.* class)")
    layout = get_layout(layout)
    if layout.num_node != num_point:
        raise ConfigError(
            f"model_args.num_point is {num_point} but the graph layout '{layout.name}' has "
            f"{layout.num_node} joints"
        )
    return layout


def check_positive(name: str, value: int, multiple_of: int = 1) -> int:
    """``value`` as a positive int (a multiple of ``multiple_of``) or a ConfigError naming ``model_args.<name>``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % multiple_of:
        need = "a positive integer" + (f" divisible by {multiple_of}" if multiple_of > 1 else "")
        raise ConfigError(f"model_args.{name}: expected {need}, got {value!r}")
    return value


def input_to_tokens(
    x: torch.Tensor, model: str, in_channels: int, seg: int, num_point: int, num_person: int
) -> tuple[torch.Tensor, int]:
    """Validate (N, C, T, V, M) and return the (N·M, T, V, C) contiguous token tensor and M."""
    if x.dim() != 5:
        raise DataError(f"{model}: expected input (N, C, T, V, M), got shape {tuple(x.shape)}")
    N, C, T, V, M = x.shape
    for key, want, got, axis in (
        ("in_channels", in_channels, C, "C (dim 1)"),
        ("seg", seg, T, "T (dim 2)"),
        ("num_point", num_point, V, "V (dim 3)"),
        ("num_person", num_person, M, "M (dim 4)"),
    ):
        if got != want:
            raise DataError(f"{model}: model_args.{key} is {want} but the input has {axis} = {got}")
    # (N, C, T, V, M) -> (N, M, T, V, C) -> (N·M, T, V, C)
    return x.permute(0, 4, 2, 3, 1).reshape(N * M, T, V, C), M


# ---------------------------------------------------------------------------------------------
# Units (state-dict names as in the reference).


class Conv1x1(nn.Module):
    """The reference's ``cnn1x1``: a 1x1 ``Conv2d`` stored as ``cnn``; applied to tokens as a GEMM.

    Shape: (..., C_in) -> (..., C_out).
    """

    def __init__(self, dim_in: int, dim_out: int, bias: bool = True) -> None:
        super().__init__()
        self.cnn = nn.Conv2d(dim_in, dim_out, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, conv_weight_2d(self.cnn), self.cnn.bias)


class NormData(nn.Module):
    """``BatchNorm1d(C·V)`` over (coordinate, joint) pairs, channel index ``c·V + j`` (the reference's
    ``norm_data``): statistics per coordinate and joint, pooled over batch and frames.

    Shape: (B, T, V, C) -> (B, T, V, C) (a permuted view of a (B, C, V, T) result).
    """

    def __init__(self, dim: int, num_point: int = 25) -> None:
        super().__init__()
        self.num_point = num_point
        self.bn = nn.BatchNorm1d(dim * num_point)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, V, C = x.shape
        y = self.bn(x.permute(0, 3, 2, 1).reshape(B, C * V, T))  # (B, C·V, T), channel c·V + j
        return y.view(B, C, V, T).permute(0, 3, 2, 1)


class Embed(nn.Module):
    """The reference's ``embed``: [NormData] -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU, in ``cnn``.

    State-dict indices ``cnn.{0,1,3}`` with the norm, ``cnn.{0,2}`` without (ReLUs hold no state).
    ``forward`` maps tokens (B, T, V, C_in) -> (B, T, V, C_out); :meth:`onehot` returns the
    embedding of the C_in identity one-hots, (C_in, C_out), without building them.
    """

    def __init__(
        self, dim_in: int, dim_out: int, norm: bool, bias: bool = True, hidden: int = 64, num_point: int = 25
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [NormData(dim_in, num_point)] if norm else []
        layers += [Conv1x1(dim_in, hidden, bias), nn.ReLU(), Conv1x1(hidden, dim_out, bias), nn.ReLU()]
        self.cnn = nn.Sequential(*layers)
        self.norm = norm
        self.dim_in = dim_in

    def _convs(self) -> tuple[Conv1x1, Conv1x1]:
        k = 1 if self.norm else 0
        return self.cnn[k], self.cnn[k + 2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm:
            x = self.cnn[0](x)
        c1, c2 = self._convs()
        return F.relu(c2(F.relu(c1(x))))

    def onehot(self) -> torch.Tensor:
        """(dim_in, dim_out): row k is the embedding of one-hot k (column k of the first conv + bias)."""
        c1, c2 = self._convs()
        h = conv_weight_2d(c1.cnn).t()  # identity one-hot @ W^T = W^T: (dim_in, hidden)
        if c1.cnn.bias is not None:
            h = h + c1.cnn.bias
        return F.relu(c2(F.relu(h)))


class ComputeG(nn.Module):
    """Data-dependent graph ``G = softmax_j(<g1(x_i), g2(x_j)>)`` per frame (``compute_g_spa``).

    With theta = W1 x + b1 and phi = W2 x + b2 (``g1``, ``g2``: C_in -> D, D > C_in), the scores
    are computed as ``<theta_i, phi_j> = <U_i, x_j> + <theta_i, b2>`` with ``U = (W2^T W1) x + W2^T b1``:
    C_in x C_in products instead of two C_in x D convs and a D-long dot product per pair.

    ``forward(x, const)``: tokens (B, T, V, C_x) and an optional per-joint table (V, C_c) holding the
    remaining C_in - C_x input channels (the same for every sample and frame) -> G (B·T, V, V),
    softmax over the last axis in (at least) float32.
    """

    def __init__(self, dim_in: int, dim_out: int, bias: bool = True) -> None:
        super().__init__()
        self.g1 = Conv1x1(dim_in, dim_out, bias)
        self.g2 = Conv1x1(dim_in, dim_out, bias)

    def forward(self, x: torch.Tensor, const: torch.Tensor | None = None) -> torch.Tensor:
        B, T, V, Cx = x.shape
        w1, w2 = conv_weight_2d(self.g1.cnn), conv_weight_2d(self.g2.cnn)  # (D, C_in)
        b1, b2 = self.g1.cnn.bias, self.g2.cnn.bias
        u = split_linear(x, w2.t() @ w1, None if b1 is None else w2.t() @ b1, const)  # (B, T, V, C_in)
        ux, uc = u.split([Cx, u.shape[-1] - Cx], dim=-1)
        scores = torch.bmm(ux.reshape(B * T, V, Cx), x.reshape(B * T, V, Cx).transpose(1, 2))  # (B·T, V, V)
        if const is not None:
            scores = scores + F.linear(uc, const.to(uc.dtype)).view(B * T, V, V)  # <U_i, const_j>
        if b2 is not None:  # <theta_i, b2>: the same for every j, kept so that b2 gets its (zero) gradient
            r = split_linear(x, (b2 @ w1)[None], None if b1 is None else (b2 @ b1)[None], const)
            scores = scores + r.view(B * T, V, 1)
        return torch.softmax(at_least_fp32(scores), dim=-1)


def split_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, const: torch.Tensor | None
) -> torch.Tensor:
    """``F.linear([x, const], weight, bias)`` where ``const`` (V, C_c) is broadcast over (B, T).

    ``x`` (B, T, V, C_x); ``weight`` (C_out, C_x + C_c). The constant part is a (V, C_out) table.
    """
    if const is None:
        return F.linear(x, weight, bias)
    cx = x.shape[-1]
    y = F.linear(x, weight[:, :cx], None)  # (B, T, V, C_out)
    table = F.linear(const, weight[:, cx:], bias)  # (V, C_out)
    return y.add_(table.to(y.dtype))


class GcnSpa(nn.Module):
    """``ReLU(BN(W (G X) + W1 X))`` (the reference's ``gcn_spa``), with ``W`` bias-free.

    ``W (G X) = G (W X)``: the graph product runs on the narrower side of ``W``, either
    ``G (W X) + W1 X`` (one ``baddbmm`` adds it to the second GEMM) or ``W (G X) + W1 X`` (one
    ``addmm`` accumulates it). Shape: tokens (B, T, V, C_in) [+ const (V, C_c) holding further input
    channels that are the same for every sample and frame], G (B·T, V, V) -> (B, T, V, C_out).
    """

    def __init__(self, dim_in: int, dim_out: int, bias: bool = True) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(dim_out)
        self.relu = nn.ReLU()
        self.w = Conv1x1(dim_in, dim_out, bias=False)
        self.w1 = Conv1x1(dim_in, dim_out, bias=bias)

    def forward(self, x: torch.Tensor, g: torch.Tensor, const: torch.Tensor | None = None) -> torch.Tensor:
        B, T, V, C = x.shape
        w, w1 = conv_weight_2d(self.w.cnn), conv_weight_2d(self.w1.cnn)
        D = w.shape[0]
        g = g.to(x.dtype)
        w1x = split_linear(x, w1, self.w1.cnn.bias, const)  # (B, T, V, D)
        if const is None and C < D:  # W (G X): graph product on the C_in channels
            gx = torch.bmm(g, x.reshape(B * T, V, C))  # (B·T, V, C)
            out = torch.addmm(w1x.view(-1, D), gx.view(-1, C), w.t())  # (M, D)
        else:  # G (W X): graph product on the C_out channels
            wx = split_linear(x, w, None, const)  # (B, T, V, D)
            out = torch.baddbmm(w1x.view(B * T, V, D), g.to(wx.dtype), wx.view(B * T, V, D))
        out = out.view(B, T, V, D)
        return to_tokens(F.relu_(self.bn(to_nchw(out))))


class _JointMax(torch.autograd.Function):
    """Max over the joint axis of tokens: (B, T, V, C) -> (B, T, C).

    The gradient goes to every joint holding the maximum. Ties only occur in practice at exact
    zeros after a ReLU, whose gradient that ReLU discards, so this equals the reference's single-index
    max pooling; it costs one masked multiply instead of a zero fill plus scatter.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.amax(dim=2)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        x, y = ctx.saved_tensors
        return (x == y.unsqueeze(2)) * grad.unsqueeze(2)


def joint_max(x: torch.Tensor) -> torch.Tensor:
    """Max over joints: tokens (B, T, V, C) -> (B, T, C) (see :class:`_JointMax`)."""
    return _JointMax.apply(x)


class Local(nn.Module):
    """Frame-level module (the reference's ``local``): max over joints -> conv (1, 3) -> BN -> ReLU
    -> Dropout2d(0.2) -> 1x1 conv -> BN -> ReLU.

    ``forward(x, tem)``: tokens (B, T, V, C) and an optional frame embedding (T, C) added to every
    joint -> (B, C_out, 1, T) (the reference's layout). The reference pools to a hard-coded width 20;
    here the width is T (identical for T = 20).
    """

    def __init__(self, dim_in: int, dim_out: int, bias: bool = True) -> None:
        super().__init__()
        self.cnn1 = nn.Conv2d(dim_in, dim_in, kernel_size=(1, 3), padding=(0, 1), bias=bias)
        self.bn1 = nn.BatchNorm2d(dim_in)
        self.relu = nn.ReLU()
        self.cnn2 = nn.Conv2d(dim_in, dim_out, kernel_size=1, bias=bias)
        self.bn2 = nn.BatchNorm2d(dim_out)
        self.dropout = nn.Dropout2d(0.2)

    def forward(self, x: torch.Tensor, tem: torch.Tensor | None = None) -> torch.Tensor:
        y = joint_max(x)  # (B, T, C)
        if tem is not None:
            y = y + tem.to(y.dtype)  # exact: max_j(x_j + c) == max_j(x_j) + c
        y = y.transpose(1, 2).unsqueeze(2)  # (B, C, 1, T)
        y = self.dropout(self.relu(self.bn1(self.cnn1(y))))
        return self.relu(self.bn2(self.cnn2(y)))


def sgn_conv_init(module: nn.Module) -> None:
    """SGN's init: every Conv2d weight ~ N(0, sqrt(2 / (k_h · k_w · C_out))); biases untouched."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / n))


# ---------------------------------------------------------------------------------------------


@MODELS.register("sgn", aliases=("model.sgn.Model",))
class Model(nn.Module):
    """SGN: semantics-guided joint-level GCN + frame-level CNN.

    Args:
        num_class: number of classes.
        num_point: joints per skeleton; must equal the layout's joint count.
        num_person: person slots M in the input (1 after SGN's two-to-one split).
        seg: frames per clip (T); the frame-index embedding has ``seg`` inputs.
        in_channels: coordinates per joint (3 for xyz; 2 for 2D; 3 for 2D + score).
        graph, graph_args: layout as in AGCN configs (dotted class path or None -> ``graph.Graph``);
            SGN only checks ``num_point`` against it (its graph is learned from the data).
        bias: conv biases (the reference's ``bias``).
        dim: backbone width (256); embeddings ``dim // 4``, joint-level ``dim // 2 -> dim``,
            frame-level ``dim -> 2 dim``. Must be divisible by 4.

    Input (N, C, T, V, M) -> logits (N, num_class); with M > 1 the logits are the mean over persons.
    """

    def __init__(
        self,
        num_class: int = 60,
        num_point: int = 25,
        num_person: int = 1,
        seg: int = 20,
        in_channels: int = 3,
        graph: str | None = None,
        graph_args: Mapping[str, Any] | None = None,
        bias: bool = True,
        dim: int = 256,
    ) -> None:
        super().__init__()
        self.num_class = check_positive("num_class", num_class)
        self.num_point = check_positive("num_point", num_point)
        self.num_person = check_positive("num_person", num_person)
        self.seg = check_positive("seg", seg)
        self.in_channels = check_positive("in_channels", in_channels)
        dim = check_positive("dim", dim, multiple_of=4)
        self.layout = resolve_layout(graph, graph_args, num_point)
        emb = dim // 4  # 64

        # Registration order = the reference's state_dict order.
        self.tem_embed = Embed(seg, dim, norm=False, bias=bias, hidden=emb)
        self.spa_embed = Embed(num_point, emb, norm=False, bias=bias, hidden=emb)
        self.joint_embed = Embed(in_channels, emb, norm=True, bias=bias, hidden=emb, num_point=num_point)
        self.dif_embed = Embed(in_channels, emb, norm=True, bias=bias, hidden=emb, num_point=num_point)
        self.cnn = Local(dim, dim * 2, bias=bias)
        self.compute_g1 = ComputeG(dim // 2, dim, bias=bias)
        self.gcn1 = GcnSpa(dim // 2, dim // 2, bias=bias)
        self.gcn2 = GcnSpa(dim // 2, dim, bias=bias)
        self.gcn3 = GcnSpa(dim, dim, bias=bias)
        self.fc = nn.Linear(dim * 2, num_class)

        sgn_conv_init(self)
        for gcn in (self.gcn1, self.gcn2, self.gcn3):
            nn.init.zeros_(gcn.w.cnn.weight)  # the graph branch starts switched off

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> (N, num_class)."""
        p, M = input_to_tokens(
            x, "model.sgn.Model", self.in_channels, self.seg, self.num_point, self.num_person
        )
        # Velocity: backward difference over the sampled frames, frame 0 is zero.  (B, T, V, C)
        dif = torch.cat([torch.zeros_like(p[:, :1]), p[:, 1:] - p[:, :-1]], dim=1)
        z = self.joint_embed(p) + self.dif_embed(dif)  # (B, T, V, emb): dynamics
        spa = self.spa_embed.onehot()  # (V, emb): joint type, the other half of the 2·emb channels
        g = self.compute_g1(z, spa)  # (B·T, V, V)
        h = self.gcn1(z, g, spa)  # (B, T, V, dim/2)
        h = self.gcn2(h, g)  # (B, T, V, dim)
        h = self.gcn3(h, g)  # (B, T, V, dim)
        y = self.cnn(h, self.tem_embed.onehot())  # (B, 2 dim, 1, T)
        out = self.fc(y.amax(dim=(2, 3)))  # global max over time -> (B, num_class)
        if M > 1:
            out = out.view(-1, M, out.shape[-1]).mean(dim=1)
        return out
