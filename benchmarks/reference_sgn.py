"""Reference-structure SGN and ImpSGNv2, the speed baselines of ``benchmarks/bench_models.py``.

Written from the description of microsoft/SGN (``model.py``) and acvai/impSGNv2
(``model_ImpSGNv2.py`` + InfoGCN's modules, MS-TCN) in ../shared/reference/sgn-impsgnv2.md: the same
modules, tensor layouts and operation sequence (materialised one-hot tensors for a fixed batch, the
(B, C, V, T) layout with ``permute(...).contiguous()`` around every graph product, one conv per
head and per MS-TCN branch, a Python loop over heads), so its speed stands for the references'.
Only the CUDA calls are gone: the fixed-batch tensors are built on ``device``. The state_dicts are
the references' and the outputs match the golden files (``tests/test_sgn.py``,
``tests/test_impsgnv2.py``). Not used by the pipeline.

Details kept for speed fidelity: ImpSGNv2 feeds the backbone a permuted (non-contiguous) view and
adds the MS-TCN's zero residual in place; SGN and ImpSGNv2 rebuild their one-hot embeddings every
forward; ``nn`` modules (``nn.ReLU``, ``nn.Softmax``, ``nn.Sequential``) are called as there.

Input: (B, seg, 75) float32, joint-major xyz, exactly ``batch_size`` rows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

NUM_JOINT = 25
# 1-based parents of the 25 NTU joints (EfficientGCN's connect_joint).
NTU_PARENTS_1BASED = (2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19, 2, 23, 8, 25, 12)


def identity_onehot(batch: int, n: int, rep: int) -> torch.Tensor:
    """(batch, rep, n, n): an n x n identity repeated over batch and rep."""
    return torch.eye(n).view(1, 1, n, n).repeat(batch, rep, 1, 1)


class cnn1x1(nn.Module):
    def __init__(self, dim1: int, dim2: int, bias: bool = True) -> None:
        super().__init__()
        self.cnn = nn.Conv2d(dim1, dim2, kernel_size=1, bias=bias)

    def forward(self, x):
        return self.cnn(x)


class norm_data(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(dim * NUM_JOINT)

    def forward(self, x):
        bs, c, v, t = x.size()
        x = self.bn(x.view(bs, -1, t))
        return x.view(bs, -1, v, t).contiguous()


class embed(nn.Module):
    def __init__(self, dim: int, dim1: int, norm: bool = True, bias: bool = False) -> None:
        super().__init__()
        layers = [norm_data(dim)] if norm else []
        layers += [cnn1x1(dim, 64, bias), nn.ReLU(), cnn1x1(64, dim1, bias), nn.ReLU()]
        self.cnn = nn.Sequential(*layers)

    def forward(self, x):
        return self.cnn(x)


class local(nn.Module):
    def __init__(self, dim1: int, dim2: int, bias: bool = False) -> None:
        super().__init__()
        self.maxpool = nn.AdaptiveMaxPool2d((1, 20))
        self.cnn1 = nn.Conv2d(dim1, dim1, kernel_size=(1, 3), padding=(0, 1), bias=bias)
        self.bn1 = nn.BatchNorm2d(dim1)
        self.relu = nn.ReLU()
        self.cnn2 = nn.Conv2d(dim1, dim2, kernel_size=1, bias=bias)
        self.bn2 = nn.BatchNorm2d(dim2)
        self.dropout = nn.Dropout2d(0.2)

    def forward(self, x1):
        x = self.cnn1(self.maxpool(x1))
        x = self.dropout(self.relu(self.bn1(x)))
        return self.relu(self.bn2(self.cnn2(x)))


class gcn_spa(nn.Module):
    def __init__(self, in_feature: int, out_feature: int, bias: bool = False) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(out_feature)
        self.relu = nn.ReLU()
        self.w = cnn1x1(in_feature, out_feature, bias=False)
        self.w1 = cnn1x1(in_feature, out_feature, bias=bias)

    def forward(self, x1, g):
        x = x1.permute(0, 3, 2, 1).contiguous()  # (B, T, V, C)
        x = g.matmul(x).permute(0, 3, 2, 1).contiguous()  # (B, C, V, T)
        return self.relu(self.bn(self.w(x) + self.w1(x1)))


class compute_g_spa(nn.Module):
    def __init__(self, dim1: int, dim2: int, bias: bool = False) -> None:
        super().__init__()
        self.g1 = cnn1x1(dim1, dim2, bias=bias)
        self.g2 = cnn1x1(dim1, dim2, bias=bias)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x1):
        g1 = self.g1(x1).permute(0, 3, 2, 1).contiguous()  # (B, T, V, D)
        g2 = self.g2(x1).permute(0, 3, 1, 2).contiguous()  # (B, T, D, V)
        return self.softmax(g1.matmul(g2))  # (B, T, V, V)


def _sgn_style_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2.0 / n))


class SGN(nn.Module):
    """microsoft/SGN ``SGN(num_classes, dataset, seg, args)`` with ``args.batch_size`` -> ``batch_size``."""

    def __init__(
        self, num_classes: int = 60, seg: int = 20, batch_size: int = 64, bias: bool = True, device="cpu"
    ) -> None:
        super().__init__()
        self.dim1 = 256
        self.seg = seg
        # (B, 25, 25, T) joint one-hot and (B, seg, 25, T) frame one-hot, plain attributes.
        self.spa = identity_onehot(batch_size, NUM_JOINT, seg).permute(0, 3, 2, 1).to(device)
        self.tem = identity_onehot(batch_size, seg, NUM_JOINT).permute(0, 3, 1, 2).to(device)
        self.tem_embed = embed(seg, 64 * 4, norm=False, bias=bias)
        self.spa_embed = embed(NUM_JOINT, 64, norm=False, bias=bias)
        self.joint_embed = embed(3, 64, norm=True, bias=bias)
        self.dif_embed = embed(3, 64, norm=True, bias=bias)
        self.maxpool = nn.AdaptiveMaxPool2d((1, 1))
        self.cnn = local(self.dim1, self.dim1 * 2, bias=bias)
        self.compute_g1 = compute_g_spa(self.dim1 // 2, self.dim1, bias=bias)
        self.gcn1 = gcn_spa(self.dim1 // 2, self.dim1 // 2, bias=bias)
        self.gcn2 = gcn_spa(self.dim1 // 2, self.dim1, bias=bias)
        self.gcn3 = gcn_spa(self.dim1, self.dim1, bias=bias)
        self.fc = nn.Linear(self.dim1 * 2, num_classes)
        _sgn_style_init(self)
        for gcn in (self.gcn1, self.gcn2, self.gcn3):
            nn.init.constant_(gcn.w.cnn.weight, 0)

    def forward(self, input):
        bs, step, dim = input.size()
        num_joints = dim // 3
        input = input.view(bs, step, num_joints, 3).permute(0, 3, 2, 1).contiguous()  # (B, 3, V, T)
        dif = input[:, :, :, 1:] - input[:, :, :, :-1]
        dif = torch.cat([dif.new_zeros(bs, dif.size(1), num_joints, 1), dif], dim=-1)
        pos = self.joint_embed(input)
        tem1 = self.tem_embed(self.tem)
        spa1 = self.spa_embed(self.spa)
        dif = self.dif_embed(dif)
        dy = pos + dif
        input = torch.cat([dy, spa1], 1)
        g = self.compute_g1(input)
        input = self.gcn1(input, g)
        input = self.gcn2(input, g)
        input = self.gcn3(input, g)
        input = input + tem1
        input = self.cnn(input)
        output = torch.flatten(self.maxpool(input), 1)
        return self.fc(output)


# --------------------------------------------------------------------------------------------
# ImpSGNv2: InfoGCN's EncodingBlock (SA-GC + MS-TCN) backbone on SGN's embeddings and head.


def conv_init(conv):
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    nn.init.constant_(conv.bias, 0)


def conv_branch_init(conv, branches):
    w = conv.weight
    n, k1, k2 = w.size(0), w.size(1), w.size(2)
    nn.init.normal_(w, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    nn.init.constant_(conv.bias, 0)


def bn_init(bn, scale):
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0)


class SelfAttention(nn.Module):
    def __init__(self, in_channels: int, hidden_dim: int, n_heads: int) -> None:
        super().__init__()
        self.scale = hidden_dim**-0.5
        self.to_qk = nn.Linear(in_channels, hidden_dim * n_heads * 2)
        self.n_heads = n_heads
        self.ln = nn.LayerNorm(in_channels)
        nn.init.normal_(self.to_qk.weight, 0, 1)

    def forward(self, x):
        n, c, t, v = x.shape
        y = self.ln(x.permute(0, 2, 3, 1).contiguous())  # n t v c
        q, k = self.to_qk(y).chunk(2, dim=-1)
        h = self.n_heads
        # 'b t v (h d) -> (b t) h v d'
        q = q.reshape(n * t, v, h, -1).permute(0, 2, 1, 3)
        k = k.reshape(n * t, v, h, -1).permute(0, 2, 1, 3)
        dots = torch.einsum("bhid,bhjd->bhij", q, k) * self.scale
        return dots.softmax(dim=-1).float()


class SA_GC(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, A: np.ndarray) -> None:
        super().__init__()
        self.num_head = A.shape[0]
        self.shared_topology = nn.Parameter(torch.from_numpy(A.astype(np.float32)), requires_grad=True)
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(self.num_head))
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = lambda x: x
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)
        for i in range(self.num_head):
            conv_branch_init(self.conv_d[i], self.num_head)
        self.attn = SelfAttention(in_channels, in_channels // 8, self.num_head)

    def forward(self, x):
        N, C, T, V = x.size()
        out = None
        attn = self.attn(x)
        A = attn * self.shared_topology.unsqueeze(0)
        for h in range(self.num_head):
            feature = x.permute(0, 2, 3, 1).reshape(N * T, V, C)  # '(n t) v c'
            z = A[:, h] @ feature
            z = z.view(N, T, V, -1).permute(0, 3, 1, 2).contiguous()  # 'n c t v'
            z = self.conv_d[h](z)
            out = z + out if out is not None else z
        out = self.bn(out)
        out += self.down(x)
        return self.relu(out)


class TemporalConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1):
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=(kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1),
        )
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))


class MultiScale_TemporalConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=5, dilations=(1, 2)):
        super().__init__()
        nb = len(dilations) + 2
        bc = out_channels // nb
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, bc, kernel_size=1),
                nn.BatchNorm2d(bc),
                nn.ReLU(inplace=True),
                TemporalConv(bc, bc, kernel_size=kernel_size, dilation=d),
            )
            for d in dilations
        )
        self.branches.append(
            nn.Sequential(
                nn.Conv2d(in_channels, bc, kernel_size=1),
                nn.BatchNorm2d(bc),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(3, 1), stride=(1, 1), padding=(1, 0)),
                nn.BatchNorm2d(bc),
            )
        )
        self.branches.append(nn.Sequential(nn.Conv2d(in_channels, bc, kernel_size=1), nn.BatchNorm2d(bc)))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        res = 0  # the reference's residual=False: ``lambda x: 0``, added in place below
        out = torch.cat([branch(x) for branch in self.branches], dim=1)
        out += res
        return self.act(out)


class unit_tcn_ref(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.bn = nn.BatchNorm2d(out_channels)
        conv_init(self.conv)
        bn_init(self.bn, 1)

    def forward(self, x):
        return self.bn(self.conv(x))


class EncodingBlock(nn.Module):
    def __init__(self, in_channels, out_channels, A):
        super().__init__()
        self.agcn = SA_GC(in_channels, out_channels, A)
        self.tcn = MultiScale_TemporalConv(out_channels, out_channels, kernel_size=5, dilations=(1, 2))
        self.relu = nn.ReLU(inplace=True)
        if in_channels == out_channels:
            self.residual = lambda x: x
        else:
            self.residual = unit_tcn_ref(in_channels, out_channels)

    def forward(self, x):
        return self.relu(self.tcn(self.agcn(x)) + self.residual(x))


class ST_InfoGCN(nn.Module):
    def __init__(self, base_channel: int = 64, num_point: int = NUM_JOINT) -> None:
        super().__init__()
        A = np.stack([np.eye(num_point)] * 3, axis=0)
        b = base_channel
        self.l1 = EncodingBlock(b * 2, b, A)
        self.l2 = EncodingBlock(b, b, A)
        self.l3 = EncodingBlock(b, b, A)
        self.l4 = EncodingBlock(b, b * 2, A)
        self.l5 = EncodingBlock(b * 2, b * 2, A)
        self.l6 = EncodingBlock(b * 2, b * 2, A)
        self.l7 = EncodingBlock(b * 2, b * 4, A)
        self.l8 = EncodingBlock(b * 4, b * 4, A)
        self.l9 = EncodingBlock(b * 4, b * 4, A)

    def forward(self, x):
        for i in range(1, 10):
            x = getattr(self, f"l{i}")(x)
        return x


def multi_input(x: torch.Tensor, parents0: list[int], velocity_weight: torch.Tensor):
    """The four 6-channel streams from (B, 3, V, T): joint, velocity, bone, velocity_prime.

    As the reference: four zero tensors filled slice by slice in Python loops over joints and
    frames; ``velocity_weight`` is the reference's (B, 3, V, T) permuted (non-contiguous) tensor.
    """
    B, C, V, T = x.shape
    joint = torch.zeros(B, C * 2, V, T, device=x.device, dtype=x.dtype)
    velocity = torch.zeros(B, C * 2, V, T, device=x.device, dtype=x.dtype)
    bone = torch.zeros(B, C * 2, V, T, device=x.device, dtype=x.dtype)
    velocity_prime = torch.zeros(B, C * 2, V, T, device=x.device, dtype=x.dtype)
    joint[:, :C] = x
    for i in range(V):
        joint[:, C:, i, :] = x[:, :, i, :] - x[:, :, 1, :]
    for i in range(T - 2):
        velocity[:, :C, :, i] = x[:, :, :, i + 1] - x[:, :, :, i]
        velocity[:, C:, :, i] = x[:, :, :, i + 2] - x[:, :, :, i]
    velocity_prime[:, :C] = torch.mul(velocity[:, :C], velocity_weight)
    velocity_prime[:, C:] = torch.mul(velocity[:, C:], velocity_weight)
    for i in range(V):
        bone[:, :C, i, :] = x[:, :, i, :] - x[:, :, parents0[i], :]
    bone_length = 0
    for i in range(C):
        bone_length += bone[:, i, :, :] ** 2
    bone_length = torch.sqrt(bone_length) + 0.0001
    for i in range(C):
        bone[:, C + i, :, :] = torch.acos(bone[:, i, :, :] / bone_length)
    return joint, velocity, bone, velocity_prime


class ImpSGNv2(nn.Module):
    """acvai/impSGNv2 ``ImpSGNv2(num_classes, dataset, seg, args)`` with a fixed ``batch_size``."""

    def __init__(
        self, num_classes: int = 60, seg: int = 20, batch_size: int = 64, bias: bool = True, device="cpu"
    ) -> None:
        super().__init__()
        self.dim1 = 256
        self.seg = seg
        self.parents0 = [p - 1 for p in NTU_PARENTS_1BASED]
        w = [1.0, 2.0] + [2.0 * j - 1 for j in range(2, NUM_JOINT)]
        # (B, 3, 25, T) per-joint velocity weight for the fixed batch: a permuted view, as built there.
        self.joint_weight = torch.tensor(w).repeat(batch_size, 3, seg, 1).permute(0, 1, 3, 2).to(device)
        self.spa = identity_onehot(batch_size, NUM_JOINT, seg).permute(0, 3, 2, 1).to(device)
        self.tem = identity_onehot(batch_size, seg, NUM_JOINT).permute(0, 3, 1, 2).to(device)
        self.tem_embed = embed(seg, 64 * 4, norm=False, bias=bias)
        self.spa_embed = embed(NUM_JOINT, 64, norm=False, bias=bias)
        self.joint_embed = embed(6, 64, norm=True, bias=bias)
        self.velocity_embed = embed(6, 64, norm=True, bias=bias)
        self.bone_embed = embed(6, 64, norm=True, bias=bias)
        self.velocity_prime_embed = embed(6, 64, norm=True, bias=bias)
        self.maxpool = nn.AdaptiveMaxPool2d((1, 1))
        self.cnn = local(self.dim1, self.dim1 * 2, bias=bias)
        self.fc = nn.Linear(self.dim1 * 2, num_classes)
        self.st_infogcn = ST_InfoGCN(64)
        _sgn_style_init(self)

    def forward(self, input):
        bs, step, dim = input.size()
        num_joints = dim // 3
        input = input.view(bs, step, num_joints, 3).permute(0, 3, 2, 1).contiguous()  # (B, 3, V, T)
        joint, velocity, bone, velocity_prime = multi_input(input, self.parents0, self.joint_weight)
        dy = (
            self.joint_embed(joint)
            + self.velocity_embed(velocity)
            + self.bone_embed(bone)
            + self.velocity_prime_embed(velocity_prime)
        )
        tem1 = self.tem_embed(self.tem)
        spa1 = self.spa_embed(self.spa)
        x = torch.cat([dy, spa1], 1).permute(0, 1, 3, 2)  # (B, 128, T, V), a view as there
        x = self.st_infogcn(x).permute(0, 1, 3, 2)  # (B, 256, V, T), a view
        x = self.cnn(x + tem1)
        return self.fc(torch.flatten(self.maxpool(x), 1))


def reference_input(x: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V, 1) -> the references' (N, T, V·C), joint-major."""
    N, C, T, V, _ = x.shape
    return x[..., 0].permute(0, 2, 3, 1).reshape(N, T, V * C)


__all__ = ["SGN", "ImpSGNv2", "reference_input"]
