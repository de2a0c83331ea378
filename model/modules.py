"""Units and initialisers shared by every model (AGCN, AAGCN, SGN, ImpSGNv2, ST-GCN, ST-GCN++).

Parameter names follow the reference implementations, so official ``state_dict`` files load into
models stacked from these units. Tensors inside blocks are (N, C, T, V) (persons folded into N).
"""

from __future__ import annotations

import math

from torch import nn


def conv_init(conv: nn.Conv2d | nn.Conv1d) -> None:
    """Kaiming-normal, fan-out (std = sqrt(2 / (C_out * kernel area))); zero bias."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


def conv_branch_init(conv: nn.Conv2d, branches: int) -> None:
    """Normal(0, sqrt(2 / (C_out * C_in * k_h * branches))); zero bias (2s-AGCN ``conv_d``)."""
    weight = conv.weight
    n, k1, k2 = weight.size(0), weight.size(1), weight.size(2)
    nn.init.normal_(weight, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


def bn_init(bn: nn.BatchNorm1d | nn.BatchNorm2d, scale: float) -> None:
    """BatchNorm weight ``scale``, bias 0."""
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0)


class unit_tcn(nn.Module):  # lower-case: the unit's name in the papers and reference code
    """Temporal convolution ``Conv2d((k, 1), stride (s, 1), dilation (d, 1))`` + ``BatchNorm2d``.

    State-dict keys ``conv.*`` and ``bn.*``: 2s-AGCN's ``tcn1`` and ``residual`` units and
    ImpSGNv2's residual and dilated temporal convolutions. No activation inside. ``norm=False``
    leaves out the BatchNorm (``bn`` is None; MMAction2's ``unit_tcn(norm=None)`` inside ``mstcn``).

    Shape: (N, C_in, T, V) -> (N, C_out, floor((T - 1) / stride) + 1, V).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 9,
        stride: int = 1,
        dilation: int = 1,
        norm: bool = True,
    ) -> None:
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
        self.bn = nn.BatchNorm2d(out_channels) if norm else None
        conv_init(self.conv)
        if self.bn is not None:
            bn_init(self.bn, 1)

    def forward(self, x):
        y = self.conv(x)
        return y if self.bn is None else self.bn(y)


def check_model_input(x, in_channels: int, num_point: int, num_person: int | None) -> None:
    """Raise a one-line ConfigError when ``x`` is not (N, in_channels, T, num_point, num_person).

    ``num_person=None`` accepts any M (models whose weights do not depend on it).
    """
    from utils.errors import ConfigError

    if x.dim() != 5:
        raise ConfigError(f"model input must be (N, C, T, V, M), got shape {tuple(x.shape)}")
    _, C, _, V, M = x.shape
    for name, got, what, key, expected in (
        ("C", C, "channels", "in_channels", in_channels),
        ("V", V, "joints", "num_point", num_point),
        ("M", M, "persons", "num_person", num_person),
    ):
        if expected is not None and got != expected:
            raise ConfigError(
                f"model input has {name}={got} {what} but the model was built with "
                f"{key}={expected} (model_args.{key})"
            )
