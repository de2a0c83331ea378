"""ImpSGNv2 (acvai/impSGNv2), weight-compatible: SGN's embeddings and head around nine InfoGCN
encoding blocks (self-attention graph convolution + multi-scale temporal convolution).

``Model`` has the reference's ``state_dict`` (669 entries at the defaults: keys, shapes, order) and
the same logits for the same weights and input; the reference's limits are gone (any batch, device,
class count, layout, segment count, 2D or 3D input). Activations are (B, T, V, C) tokens as in
:mod:`model.sgn`; what is computed differently (same math):

* **Input streams** (:class:`MultiInput`) are built with whole-tensor ops, for any C and V.
* **SA-GC**: attention and the graph products are batched matmuls on the token layout (no permutes
  of activations, only of the small (H, B·T, V, V) attention maps). The three heads are stacked: ``sum_h W_h (A_h X)`` is one batched matmul ``[A_0; A_1; A_2] X`` and
  one GEMM with the concatenated weights (K = 3 C_in), or, when C_out < C_in, ``sum_h A_h (W_h X)``
  is one GEMM and one batched matmul with K = 3 V (``W (A X) = A (W X)``); the three biases are
  added once.
* **MS-TCN**: the four branches' 1x1 convs are one GEMM (weights concatenated at forward time) and
  their four BatchNorms one call; the ReLU of branches 0-2 is applied to branch 3 too, which the
  ReLU after the concatenation makes a no-op (``relu(relu(a)) = relu(a)``), and that final ReLU is
  applied per branch before the concatenation.
* BatchNorms run on channels-last views; the frame embedding is added after the max over joints.

Intermediates above 32 MiB are avoided (the stacked heads are computed in batch chunks): glibc maps
such blocks afresh on every allocation, and the page faults cost more than the fusions save.

**Input streams** (reference §5.2, generalised to C coordinates and V joints; each 2C channels):

* joint: ``[P, P - P[center_joint]]``;
* velocity: ``[P[t+1] - P[t], P[t+2] - P[t]]`` for t < T - 2, the last two frames zero;
* velocity_prime: velocity times the per-joint weights w0 = 1, w1 = 2, wj = 2j - 1;
* bone: ``[b, arccos(b_c / (|b| + 1e-4))]`` with ``b = P - P[parent]``, one angle per channel.

For NTU (``graph`` layout ``ntu_rgb_d``) ``center_joint`` and ``bone_root`` default to joint 1
(middle of the spine), which gives the reference's joint stream and bone parents exactly. For any
other layout both default to the layout's centre (``layout.center``; ``bone_root`` to the layout's
own ``bone_root`` when it has one); both can be set as model args. All C input channels are treated
as coordinates: for 2D + confidence input (C = 3) the score enters the differences, the bone length
and its own "angle" channel like a third axis; use ``in_channels=2`` to keep geometry only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from model.modules import bn_init, conv_branch_init, conv_init, unit_tcn
from model.sgn import (
    Embed,
    Local,
    at_least_fp32,
    check_positive,
    conv_weight_2d,
    fused_batch_norm,
    input_to_tokens,
    resolve_layout,
    sgn_conv_init,
    to_nchw,
    to_tokens,
)
from utils.errors import ConfigError
from utils.registry import MODELS


def velocity_weights(num_point: int) -> torch.Tensor:
    """(V,) float32 per-joint velocity weights: w0 = 1, w1 = 2, wj = 2j - 1 (1, 2, 3, 5, ..., 47 for V = 25)."""
    w = [2.0 * j - 1.0 for j in range(num_point)]
    w[0] = 1.0
    if num_point > 1:
        w[1] = 2.0
    return torch.tensor(w, dtype=torch.float32)


class MultiInput(nn.Module):
    """The four ImpSGNv2 input streams from joint positions (no state).

    Shape: P (B, T, V, C) -> ``(joint, velocity, bone, velocity_prime)``, each (B, T, V, 2C).
    """

    def __init__(self, parents: list[int], center_joint: int) -> None:
        super().__init__()
        V = len(parents)
        self.center_joint = center_joint
        self.register_buffer("parents", torch.tensor(parents, dtype=torch.long), persistent=False)
        self.register_buffer("weights", velocity_weights(V).view(V, 1), persistent=False)  # (V, 1)

    def forward(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        T = p.shape[1]
        c = self.center_joint
        joint = torch.cat([p, p - p[:, :, c : c + 1]], dim=-1)
        n = max(T - 2, 0)  # frames with both forward differences; the last two stay zero
        vel = torch.cat([p[:, 1 : n + 1] - p[:, :n], p[:, 2 : n + 2] - p[:, :n]], dim=-1)  # (B, n, V, 2C)
        vel = F.pad(vel, (0, 0, 0, 0, 0, T - n))  # (B, T, V, 2C)
        bone = p - p.index_select(2, self.parents)  # (B, T, V, C)
        # |b| + 1e-4; the clamp keeps the gradient finite for zero bones without changing any value
        length = (bone * bone).sum(dim=-1, keepdim=True).clamp_min(1e-30).sqrt() + 1e-4
        bone = torch.cat([bone, torch.acos(bone / length)], dim=-1)
        return joint, vel, bone, vel * self.weights.to(vel.dtype)


class SelfAttention(nn.Module):
    """Spatial multi-head attention scores (InfoGCN's ``SelfAttention``): LayerNorm over channels,
    one Linear giving q | k (head h owns slice h·d .. (h+1)·d - 1 of each), softmax over key joints
    of ``q_i · k_j / sqrt(d)``.

    Shape: tokens (B, T, V, C) -> (H, B·T, V, V), head-major (each head's maps contiguous), float32 or
    float64 (softmax over the last axis).
    """

    def __init__(self, in_channels: int, hidden_dim: int, n_heads: int) -> None:
        super().__init__()
        self.scale = hidden_dim**-0.5
        self.n_heads = n_heads
        self.hidden_dim = hidden_dim
        self.to_qk = nn.Linear(in_channels, hidden_dim * n_heads * 2)
        self.ln = nn.LayerNorm(in_channels)
        nn.init.normal_(self.to_qk.weight, 0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, V, _ = x.shape
        H, d = self.n_heads, self.hidden_dim
        qk = self.to_qk(self.ln(x)).view(B * T, V, 2 * H, d)  # q heads, then k heads
        q, k = qk.permute(2, 0, 1, 3).contiguous().split(H)  # (H, B·T, V, d) each; split: no zero-fill
        scores = torch.matmul(q, k.transpose(-1, -2))  # (H, B·T, V, V)
        return torch.softmax(at_least_fp32(scores).mul_(self.scale), dim=-1)


def pointwise_bn(x: torch.Tensor, unit: nn.Module | None) -> torch.Tensor:
    """Tokens (B, T, V, C_in) -> (B, C_out, T, V) channels-last: BN(1x1 conv(x)) as a GEMM, or ``x``.

    ``unit`` is a ``(Conv2d, BatchNorm2d)`` pair (``Sequential`` or ``unit_tcn``) or None (identity).
    """
    if unit is None:
        return to_nchw(x)
    conv, bn = (unit.conv, unit.bn) if isinstance(unit, unit_tcn) else (unit[0], unit[1])
    return bn(to_nchw(F.linear(x, conv_weight_2d(conv), conv.bias)))


CHUNK_BYTES = 32 * 2**20  # largest stacked-heads intermediate (see the module docstring)


class SAGC(nn.Module):
    """Self-attention graph convolution (InfoGCN's ``SA_GC``) with a learnable (H, V, V) topology.

    ``y = ReLU(BN(sum_h conv_h((A_h * S_h) X)) + down(X))``; ``down`` is identity when C_in == C_out,
    else 1x1 conv + BN. Shape: tokens (B, T, V, C_in) -> (B, T, V, C_out).
    """

    def __init__(self, in_channels: int, out_channels: int, num_point: int, num_heads: int = 3) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.num_heads = in_channels, out_channels, num_heads
        self.shared_topology = nn.Parameter(torch.eye(num_point).repeat(num_heads, 1, 1))  # (H, V, V)
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(num_heads))
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = None
        self.bn = nn.BatchNorm2d(out_channels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            conv_branch_init(conv, num_heads)
        self.attn = SelfAttention(in_channels, in_channels // 8, num_heads)

    def aggregate(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """``sum_h conv_h(a_h X)``: tokens (B, T, V, C_in), a (H, B·T, V, V) -> (M, C_out), M = B·T·V.

        The heads are stacked so that each step is one batched matmul and one GEMM:
        C_in <= C_out: ``Y = [a_0 X | a_1 X | a_2 X]`` (M, H·C_in), ``out = Y [W_0 | W_1 | W_2]^T``;
        else ``Z = X [W_0; W_1; W_2]^T`` (M, H·C_out), ``out = [a_0 | a_1 | a_2] Z`` (sum over heads
        inside the batched matmul). The batch is processed in chunks whose Y / Z stays under 32 MiB.
        """
        B, T, V, Cin = x.shape
        H, Cout = self.num_heads, self.out_channels
        a = a.to(x.dtype)
        weights = [conv_weight_2d(conv) for conv in self.conv_d]  # H x (C_out, C_in)
        bias = None
        if self.conv_d[0].bias is not None:
            bias = torch.stack([conv.bias for conv in self.conv_d]).sum(0).to(x.dtype)  # (C_out,)
        input_side = Cin <= Cout
        if input_side:
            w = torch.cat(weights, dim=1)  # (C_out, H·C_in)
            a_r = a.permute(1, 2, 0, 3)  # (B·T, V_i, H, V_j) view
        else:
            w = torch.cat(weights, dim=0)  # (H·C_out, C_in)
            a_r = a.permute(1, 2, 3, 0)  # (B·T, V_i, V_j, H) view
        width = H * (Cin if input_side else Cout)
        chunk = max(1, CHUNK_BYTES // (T * V * width * x.element_size()))  # samples per chunk
        outs = []
        # split, not slicing: the backward of a split is one cat, of a slice a zero-filled full tensor
        for xb, ab in zip(x.split(chunk), a_r.split(chunk * T)):
            bt = xb.shape[0] * T
            if input_side:
                y = torch.bmm(ab.reshape(bt, V * H, V), xb.reshape(bt, V, Cin))  # (bt, V·H, C_in)
                outs.append(F.linear(y.view(bt * V, H * Cin), w, bias))  # (bt·V, C_out)
            else:
                z = F.linear(xb.reshape(bt, V, Cin), w)  # (bt, V, H·C_out)
                start = z.new_zeros(()) if bias is None else bias
                out = torch.baddbmm(
                    start.expand(bt, V, Cout), ab.reshape(bt, V, V * H), z.view(bt, V * H, Cout)
                )
                outs.append(out.view(bt * V, Cout))
        return outs[0] if len(outs) == 1 else torch.cat(outs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, V, _ = x.shape
        attn = self.attn(x)  # (H, B·T, V, V)
        out = self.aggregate(x, attn * self.shared_topology.unsqueeze(1))  # (M, C_out)
        out = self.bn(to_nchw(out.view(B, T, V, self.out_channels)))  # (B, C_out, T, V) channels-last
        return to_tokens(F.relu_(out + pointwise_bn(x, self.down)))


class _ChannelsLastGrad(torch.autograd.Function):
    """Identity whose backward hands on a channels-last contiguous gradient.

    A branch output's gradient is a channel slice of the concatenation's gradient; BatchNorm's
    backward is several times slower on such strided input than one copy costs.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


class MultiScaleTCN(nn.Module):
    """MS-TCN (MS-G3D / InfoGCN ``MultiScale_TemporalConv``, kernel 5, dilations 1 and 2, no residual):
    four branches of C/4 channels, each starting with 1x1 conv + BN: [ReLU, temporal conv (5, 1)
    dilation 1 + BN], [ReLU, same with dilation 2], [ReLU, max-pool (3, 1) + BN], [nothing];
    concatenated, then ReLU.

    Keys ``branches.{0,1}.{0,1,3.conv,3.bn}``, ``branches.2.{0,1,4}``, ``branches.3.{0,1}``.
    Shape: tokens (B, T, V, C) -> (B, C, T, V) channels-last (``to_tokens`` gives the tokens).
    """

    def __init__(self, channels: int, kernel_size: int = 5, dilations: tuple[int, ...] = (1, 2)) -> None:
        super().__init__()
        nb = len(dilations) + 2
        if channels % nb:
            raise ConfigError(f"MS-TCN: channels {channels} must be divisible by {nb} branches")
        b = channels // nb
        self.branch_channels = b
        branches = []
        for d in dilations:
            tconv = unit_tcn(b, b, kernel_size=kernel_size, dilation=d)
            tconv.conv.reset_parameters()  # MS-TCN keeps PyTorch's default conv init (weights re-drawn later)
            nn.init.ones_(tconv.bn.weight)
            branches.append(nn.Sequential(nn.Conv2d(channels, b, 1), nn.BatchNorm2d(b), nn.ReLU(), tconv))
        branches.append(
            nn.Sequential(
                nn.Conv2d(channels, b, 1),
                nn.BatchNorm2d(b),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=(3, 1), stride=(1, 1), padding=(1, 0)),
                nn.BatchNorm2d(b),
            )
        )
        branches.append(nn.Sequential(nn.Conv2d(channels, b, 1), nn.BatchNorm2d(b)))
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, V, C = x.shape
        b = self.branch_channels
        first = [branch[0] for branch in self.branches]
        w = torch.cat([conv_weight_2d(conv) for conv in first])  # (C, C): the four 1x1 convs
        bias = None if first[0].bias is None else torch.cat([conv.bias for conv in first])
        y = F.linear(x, w, bias)  # (B, T, V, C)
        y = F.relu_(fused_batch_norm(y, [branch[1] for branch in self.branches]))  # (B, C, T, V) c-last
        parts = y.split(b, dim=1)  # split, not slicing: its backward is one cat (no zero-filled grads)
        # The ReLU after the concatenation is applied per branch (on each BatchNorm's own output).
        outs = [F.relu_(branch[3](part)) for branch, part in zip(self.branches[:-2], parts)]  # dilated convs
        pool = self.branches[-2]
        outs.append(F.relu_(pool[4](pool[3](parts[-2]))))
        outs = [_ChannelsLastGrad.apply(t) for t in outs]
        outs.append(parts[-1])  # 1x1 branch: already ReLU'd above (the final ReLU is a no-op on it)
        return torch.cat(outs, dim=1)


class EncodingBlock(nn.Module):
    """InfoGCN ``EncodingBlock``: ``ReLU(MSTCN(SAGC(x)) + R(x))``, R = identity or 1x1 conv + BN.

    Shape: tokens (B, T, V, C_in) -> (B, T, V, C_out).
    """

    def __init__(self, in_channels: int, out_channels: int, num_point: int, num_heads: int = 3) -> None:
        super().__init__()
        self.agcn = SAGC(in_channels, out_channels, num_point, num_heads)
        self.tcn = MultiScaleTCN(out_channels)
        self.residual = (
            unit_tcn(in_channels, out_channels, kernel_size=1) if in_channels != out_channels else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.agcn(x))  # (B, C_out, T, V) channels-last
        return to_tokens(F.relu_(y + pointwise_bn(x, self.residual)))


class Backbone(nn.Module):
    """The nine encoding blocks ``l1`` .. ``l9`` (the reference's ``ST_InfoGCN``), no temporal stride.

    Channels (base b = 64): 2b -> b, b, b, 2b, 2b, 2b, 4b, 4b, 4b. Tokens (B, T, V, 2b) -> (B, T, V, 4b).
    """

    def __init__(self, base_channel: int, num_point: int, num_heads: int = 3) -> None:
        super().__init__()
        b = base_channel
        stages = [(2 * b, b), (b, b), (b, b), (b, 2 * b), (2 * b, 2 * b), (2 * b, 2 * b)]
        stages += [(2 * b, 4 * b), (4 * b, 4 * b), (4 * b, 4 * b)]
        for i, (cin, cout) in enumerate(stages, start=1):
            self.add_module(f"l{i}", EncodingBlock(cin, cout, num_point, num_heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.children():
            x = block(x)
        return x


@MODELS.register("impsgnv2", aliases=("model.impsgnv2.Model",))
class Model(nn.Module):
    """ImpSGNv2.

    Args:
        num_class, num_point, num_person, seg, in_channels, graph, graph_args, bias: as in
            :class:`model.sgn.Model`; ``graph`` gives the layout used for the bone parents.
        base_channel: backbone width b (64): embeddings b, blocks 2b -> b .. 4b, frame-level
            4b -> 8b. Must be divisible by 8 (attention width b // 8 per head, MS-TCN branches).
        num_heads: attention heads per SA-GC (3).
        center_joint: the joint the joint stream is made relative to (default: NTU 1, else the
            layout's centre).
        bone_root: root of the bone tree, its own parent (default: NTU 1, else the layout's
            ``bone_root`` / centre).

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
        base_channel: int = 64,
        num_heads: int = 3,
        center_joint: int | None = None,
        bone_root: int | None = None,
    ) -> None:
        super().__init__()
        self.num_class = check_positive("num_class", num_class)
        self.num_point = check_positive("num_point", num_point)
        self.num_person = check_positive("num_person", num_person)
        self.seg = check_positive("seg", seg)
        self.in_channels = check_positive("in_channels", in_channels)
        b = check_positive("base_channel", base_channel, multiple_of=8)
        check_positive("num_heads", num_heads)
        self.layout = layout = resolve_layout(graph, graph_args, num_point)
        ntu = layout.name == "ntu_rgb_d"
        if center_joint is None:
            center_joint = 1 if ntu else layout.center
        if bone_root is None:
            bone_root = 1 if ntu else layout.root
        for key, value in (("center_joint", center_joint), ("bone_root", bone_root)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < num_point:
                raise ConfigError(
                    f"model_args.{key}: expected a joint index in 0..{num_point - 1}, got {value!r}"
                )
        self.center_joint, self.bone_root = center_joint, bone_root
        c2 = 2 * in_channels

        # Registration order = the reference's state_dict order (the backbone comes after fc).
        self.tem_embed = Embed(seg, 4 * b, norm=False, bias=bias, hidden=b)
        self.spa_embed = Embed(num_point, b, norm=False, bias=bias, hidden=b)
        self.joint_embed = Embed(c2, b, norm=True, bias=bias, hidden=b, num_point=num_point)
        self.velocity_embed = Embed(c2, b, norm=True, bias=bias, hidden=b, num_point=num_point)
        self.bone_embed = Embed(c2, b, norm=True, bias=bias, hidden=b, num_point=num_point)
        self.velocity_prime_embed = Embed(c2, b, norm=True, bias=bias, hidden=b, num_point=num_point)
        self.cnn = Local(4 * b, 8 * b, bias=bias)
        self.fc = nn.Linear(8 * b, num_class)
        self.st_infogcn = Backbone(b, num_point, num_heads)
        self.features = MultiInput([int(p) for p in layout.parents(root=bone_root)], center_joint)

        sgn_conv_init(self)  # ImpSGNv2 re-draws every Conv2d weight, the backbone's included

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V, M) -> (N, num_class)."""
        p, M = input_to_tokens(
            x, "model.impsgnv2.Model", self.in_channels, self.seg, self.num_point, self.num_person
        )
        joint, velocity, bone, velocity_prime = self.features(p)  # (B, T, V, 2C) each
        dy = (
            self.joint_embed(joint)
            + self.velocity_embed(velocity)
            + self.bone_embed(bone)
            + self.velocity_prime_embed(velocity_prime)
        )  # (B, T, V, b)
        spa = self.spa_embed.onehot()  # (V, b)
        h = torch.cat([dy, spa.to(dy.dtype).expand_as(dy)], dim=-1)  # (B, T, V, 2b)
        h = self.st_infogcn(h)  # (B, T, V, 4b)
        y = self.cnn(h, self.tem_embed.onehot())  # (B, 8b, 1, T)
        out = self.fc(y.amax(dim=(2, 3)))
        if M > 1:
            out = out.view(-1, M, out.shape[-1]).mean(dim=1)
        return out


__all__ = [
    "Model",
    "MultiInput",
    "SAGC",
    "SelfAttention",
    "MultiScaleTCN",
    "EncodingBlock",
    "velocity_weights",
]
