"""Optimizers a config may name (``optimizer: SGD``), registered in ``utils.registry.OPTIMIZERS``.

Each entry is ``build(params, cfg) -> torch.optim.Optimizer``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from utils.registry import OPTIMIZERS


@OPTIMIZERS.register("SGD", aliases=("sgd",))
def sgd(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    """SGD with ``momentum``, ``nesterov`` and L2 ``weight_decay`` (2s-AGCN, MMAction2)."""
    return torch.optim.SGD(
        params, lr=cfg.base_lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
    )


@OPTIMIZERS.register("Adam", aliases=("adam",))
def adam(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    """Adam with L2 ``weight_decay`` (SGN, ImpSGNv2)."""
    return torch.optim.Adam(params, lr=cfg.base_lr, weight_decay=cfg.weight_decay)


@OPTIMIZERS.register("AdamW", aliases=("adamw",))
def adamw(params: Iterable[torch.nn.Parameter], cfg: Any) -> torch.optim.Optimizer:
    """AdamW with decoupled ``weight_decay``."""
    return torch.optim.AdamW(params, lr=cfg.base_lr, weight_decay=cfg.weight_decay)
