"""3D convolution units and the SlowOnly ResNet3d backbone of PoseC3D (MMAction2's ``ResNet3dSlowOnly``).

Tensors are (N, C, T, H, W). The units keep MMAction2's parameter names (``conv.weight``,
``bn.{weight,bias,running_mean,running_var,num_batches_tracked}``; blocks ``conv1``-``conv3`` and
``downsample``; stages ``layer1``...), so zoo checkpoints load strictly.

Every convolution of this network has a kernel that is 1 in time or 1 in space ((1, k, k) or
(k, 1, 1)). :class:`unit_conv3d` computes such a convolution as a 2D convolution on a view of the
channels-last (N, T, H, W, C) memory: (1, k, k) over (N·T, C, H, W), (k, 1, 1) over (N, C, T, H·W).
The arithmetic is that of ``Conv3d``; 2D convolutions on channels-last tensors are what the CPU and
GPU libraries tune best, and the views cost no copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from utils.errors import ConfigError


def _triple(value: int | Sequence[int]) -> tuple[int, int, int]:
    return (value,) * 3 if isinstance(value, int) else tuple(int(v) for v in value)  # type: ignore[return-value]


class unit_conv3d(nn.Module):  # lower-case like the other units (``unit_tcn``)
    """``Conv3d`` (no bias) + ``BatchNorm3d`` (+ ReLU): MMAction2's ``ConvModule`` for 3D nets.

    Kernels (1, k, k) and (k, 1, 1) run as 2D convolutions on channels-last views (see the module
    docstring); any other kernel runs as ``conv3d``. Output (N, C_out, T', H', W') in channels-last
    (``torch.channels_last_3d``) memory.

    Shape: (N, C_in, T, H, W) -> (N, C_out, ⌊(T + 2p_t - d_t(k_t - 1) - 1) / s_t⌋ + 1, ...).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        act: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv3d(
            in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, bias=False
        )
        self.bn = nn.BatchNorm3d(out_channels)
        self.act = act
        kt, kh, kw = self.conv.kernel_size
        self.mode = "spatial" if kt == 1 else "temporal" if kh == kw == 1 else "3d"

    def _bn_act(self, x: torch.Tensor) -> torch.Tensor:
        """``self.bn`` (then ReLU) on any (N', C, ...) view: the statistics are per channel either way."""
        bn = self.bn
        if bn.training and bn.track_running_stats:
            bn.num_batches_tracked.add_(1)
        use_batch_stats = bn.training or not bn.track_running_stats
        x = F.batch_norm(
            x, bn.running_mean, bn.running_var, bn.weight, bn.bias, use_batch_stats, bn.momentum, bn.eps
        )
        return F.relu(x, inplace=True) if self.act else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        (st, sh, sw), (pt, ph, pw), (dt, dh, dw) = conv.stride, conv.padding, conv.dilation
        if self.mode == "3d" or (self.mode == "spatial" and pt) or (self.mode == "temporal" and (ph or pw)):
            return self._bn_act(conv(x.contiguous(memory_format=torch.channels_last_3d)))
        n = x.shape[0]
        x = x.permute(0, 2, 3, 4, 1)  # (N, T, H, W, C): the channels-last memory, a view
        if self.mode == "spatial":
            if st > 1:
                x = x[:, ::st]
            t, h, w, c = x.shape[1:]
            x2 = x.reshape(n * t, h, w, c).permute(0, 3, 1, 2)  # (N·T, C, H, W) channels-last
            y = self._bn_act(F.conv2d(x2, conv.weight[:, :, 0], None, (sh, sw), (ph, pw), (dh, dw)))
            y = y.permute(0, 2, 3, 1)  # (N·T, H', W', C')
            return y.reshape(n, t, *y.shape[1:]).permute(0, 4, 1, 2, 3)
        if sh > 1 or sw > 1:
            x = x[:, :, ::sh, ::sw]
        t, h, w, c = x.shape[1:]
        x2 = x.reshape(n, t, h * w, c).permute(0, 3, 1, 2)  # (N, C, T, H·W) channels-last
        y = self._bn_act(F.conv2d(x2, conv.weight[:, :, :, :, 0], None, (st, 1), (pt, 0), (dt, 1)))
        return y.permute(0, 2, 3, 1).reshape(n, y.shape[2], h, w, -1).permute(0, 4, 1, 2, 3)


class Bottleneck3d(nn.Module):
    """ResNet bottleneck, 'pytorch' style (the stride on the 3×3 conv).

    ``conv1`` (k_t, 1, 1) -> ``conv2`` (1, 3, 3) with stride (s_t, s, s) -> ``conv3`` 1×1×1 without ReLU;
    plus the shortcut (``downsample``: 1×1×1 conv + BN with the same stride, when the shape changes);
    then ReLU. With ``inflate`` the temporal kernel is 3 in ``conv1`` ('3x1x1') or in ``conv2``
    ('3x3x3'); otherwise every kernel is 1 in time.

    Shape: (N, C_in, T, H, W) -> (N, 4·planes, ⌈T / s_t⌉, ⌈H / s⌉, ⌈W / s⌉).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        inflate: bool = True,
        inflate_style: str = "3x1x1",
    ) -> None:
        super().__init__()
        if inflate_style not in ("3x1x1", "3x3x3"):
            raise ConfigError(f"inflate_style: expected '3x1x1' or '3x3x3', got '{inflate_style}'")
        t1 = 3 if inflate and inflate_style == "3x1x1" else 1
        t2 = 3 if inflate and inflate_style == "3x3x3" else 1
        stride = (temporal_stride, spatial_stride, spatial_stride)
        self.conv1 = unit_conv3d(inplanes, planes, (t1, 1, 1), padding=(t1 // 2, 0, 0))
        self.conv2 = unit_conv3d(
            planes, planes, (t2, 3, 3), stride, (t2 // 2, dilation, dilation), (1, dilation, dilation)
        )
        self.conv3 = unit_conv3d(planes, planes * self.expansion, 1, act=False)
        self.downsample = None
        if spatial_stride != 1 or inplanes != planes * self.expansion:
            self.downsample = unit_conv3d(inplanes, planes * self.expansion, 1, stride, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv3(self.conv2(self.conv1(x)))
        return F.relu(out + identity, inplace=True)


class ResNet3dSlowOnly(nn.Module):
    """The SlowOnly ResNet3d (bottleneck blocks) that PoseC3D uses; MMAction2's arguments and names.

    Stem: ``conv1`` (``conv1_kernel``, stride (``conv1_stride_t``, ``conv1_stride_s``)) + BN + ReLU, then
    ``maxpool`` (1, 3, 3) with stride (``pool1_stride_t``, ``pool1_stride_s``) when ``with_pool1``. Stage
    i (``layer{i+1}``): ``stage_blocks[i]`` blocks of width ``base_channels·2^i`` (output 4× that), the
    first with the stage's spatial / temporal stride; ``inflate[i]`` (an int for all blocks or one per
    block) puts a temporal kernel of 3 in the blocks. Returns the last of ``out_indices`` stages (a tuple
    of them if several).

    Shape (PoseC3D NTU60: in_channels 17, base 32, stages (4, 6, 3)): (N, 17, 48, 56, 56) ->
    (N, 512, 24, 7, 7).
    """

    depth_blocks = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

    def __init__(
        self,
        depth: int = 50,
        in_channels: int = 17,
        base_channels: int = 32,
        num_stages: int = 3,
        stage_blocks: Sequence[int] | None = (4, 6, 3),
        out_indices: Sequence[int] = (2,),
        spatial_strides: Sequence[int] = (2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 2),
        dilations: Sequence[int] = (1, 1, 1),
        conv1_kernel: Sequence[int] = (1, 7, 7),
        conv1_stride_s: int = 1,
        conv1_stride_t: int = 1,
        pool1_stride_s: int = 1,
        pool1_stride_t: int = 1,
        with_pool1: bool = True,
        inflate: Sequence[int | Sequence[int]] = (0, 1, 1),
        inflate_style: str = "3x1x1",
    ) -> None:
        super().__init__()
        if depth not in self.depth_blocks:
            raise ConfigError(f"backbone.depth: {depth} is not a bottleneck ResNet (50, 101 or 152)")
        blocks = tuple(stage_blocks) if stage_blocks is not None else self.depth_blocks[depth][:num_stages]
        per_stage = {
            "stage_blocks": blocks,
            "spatial_strides": spatial_strides,
            "temporal_strides": temporal_strides,
            "dilations": dilations,
            "inflate": inflate,
        }
        for key, values in per_stage.items():
            if len(values) < num_stages:
                raise ConfigError(f"backbone.{key}: {len(values)} values for num_stages {num_stages}")
        if not out_indices or max(out_indices) >= num_stages:
            raise ConfigError(f"backbone.out_indices: {list(out_indices)} must lie in 0..{num_stages - 1}")
        self.out_indices = tuple(out_indices)
        kt, kh, kw = _triple(conv1_kernel)
        self.conv1 = unit_conv3d(
            in_channels,
            base_channels,
            (kt, kh, kw),
            (conv1_stride_t, conv1_stride_s, conv1_stride_s),
            ((kt - 1) // 2, (kh - 1) // 2, (kw - 1) // 2),
        )
        self.maxpool = (
            nn.MaxPool3d((1, 3, 3), (pool1_stride_t, pool1_stride_s, pool1_stride_s), (0, 1, 1))
            if with_pool1
            else None
        )
        inplanes = base_channels
        self.layer_names = []
        for i in range(num_stages):
            planes = base_channels * 2**i
            flags = inflate[i]
            flags = (flags,) * blocks[i] if isinstance(flags, int) else tuple(flags)
            if len(flags) != blocks[i]:
                raise ConfigError(
                    f"backbone.inflate: stage {i} lists {len(flags)} flags for {blocks[i]} blocks"
                )
            layer = []
            for j in range(blocks[i]):
                layer.append(
                    Bottleneck3d(
                        inplanes,
                        planes,
                        spatial_strides[i] if j == 0 else 1,
                        temporal_strides[i] if j == 0 else 1,
                        dilations[i],
                        bool(flags[j]),
                        inflate_style,
                    )
                )
                inplanes = planes * Bottleneck3d.expansion
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*layer))
            self.layer_names.append(name)
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """(N, C, T, H, W) -> (N, C_out, T', H', W') features of the last ``out_indices`` stage."""
        x = self.conv1(x)
        if self.maxpool is not None:
            x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
            if i == max(self.out_indices):
                break
        return outs[0] if len(outs) == 1 else tuple(outs)
