"""The training epoch and the prediction pass; no state beyond their arguments."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from engine.runtime import Runtime, all_reduce_sum
from utils.errors import TrainingError

__all__ = ["TrainingError", "forward_logits", "predict", "train_one_epoch"]


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), target)


def make_label_smoothing(eps: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """SGN's label-smoothing loss: target mass 1 - eps, eps / (C - 1) on each other class, batch mean."""

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), dim=1)
        num_class = logits.shape[1]
        nll_target = -logp.gather(1, target[:, None]).squeeze(1)
        nll_all = -logp.sum(dim=1)
        off = eps / max(num_class - 1, 1)
        return ((1.0 - eps) * nll_target + off * (nll_all - nll_target)).mean()

    return loss


def autocast_context(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def interactive() -> bool:
    """Progress bars only on a terminal: a log file gets the per-epoch lines, not carriage returns."""
    return sys.stderr.isatty() or os.environ.get("SKELETON_PROGRESS", "") == "1"


def clip_average_mode(model: nn.Module) -> str:
    """How a model's multi-clip test scores are averaged: its ``average_clips`` attribute.

    ``'logits'`` (default; SGN's multi-clip test) averages raw logits; ``'prob'`` (MMAction2's
    ``GCNHead`` / ``I3DHead``) averages the clips' softmax probabilities.
    """
    while True:  # look through DistributedDataParallel / torch.compile wrappers
        if isinstance(getattr(model, "module", None), nn.Module):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return getattr(model, "average_clips", "logits")


def forward_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the model; multi-clip input (N, K, ...) (one more axis than a batch of single clips) is averaged
    over the K clips.

    Single-clip batches are (N, C, T, V, M) for graph models and (N, C, T, H, W) for heatmap models, so
    a 6-D batch holds K clips per sample. With the model's ``average_clips == 'prob'`` the result is
    ``log(mean_k softmax(logits_k))``: its softmax is exactly MMAction2's clip-averaged score, and it
    stays a logit-like score for fusion; otherwise the K logits are averaged (SGN).
    """
    clips = None
    if x.dim() == 6:
        n, clips = x.shape[:2]
        x = x.flatten(0, 1)  # (N*K, ...)
    out = model(x)
    extra = None
    if isinstance(out, (tuple, list)):  # 2s-AGCN allows (logits, l1_term)
        out, extra = out[0], out[1]
    if clips is not None:
        out = out.view(n, clips, -1)
        if clip_average_mode(model) == "prob":
            out = torch.logsumexp(torch.log_softmax(out.float(), dim=-1), dim=1) - math.log(clips)
        else:
            out = out.mean(dim=1)  # average logits before any softmax (SGN)
    return out, extra


@dataclass
class EpochStats:
    loss: float
    acc: float
    samples: int
    steps: int
    seconds: float


def train_one_epoch(
    model: nn.Module,
    loader: torch.utils.data.DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    rt: Runtime,
    *,
    epoch: int,
    global_step: int,
    amp_dtype: torch.dtype | None,
    scaler: torch.amp.GradScaler | None,
    grad_clip: float = 0.0,
    log: Callable[[str], None] | None = None,
    log_interval: int = 100,
    last_checkpoint: str = "none yet",
    lr_at: Callable[[float], float] | None = None,
) -> tuple[EpochStats, int]:
    """One pass over ``loader``; returns the epoch's statistics and the updated global step.

    ``lr_at(progress)`` (per-iteration schedules) sets the learning rate before every step, with
    progress = batches done / batches in the epoch.
    """
    import time

    model.train()
    start = time.perf_counter()
    total_loss, total_correct, total_seen, steps = 0.0, 0.0, 0, 0
    bar = tqdm(
        loader,
        desc=f"epoch {epoch + 1} train",
        leave=False,
        disable=not (rt.is_main and interactive()),
        dynamic_ncols=True,
    )
    for data, label, _ in bar:
        data = data.to(rt.device, non_blocking=True).float()
        label = label.to(rt.device, non_blocking=True).long()
        with autocast_context(rt.device, amp_dtype):
            logits, extra = forward_logits(model, data)
            loss = loss_fn(logits, label)
            if extra is not None:
                loss = loss + extra.float().mean()
        global_step += 1
        steps += 1
        if not torch.isfinite(loss):
            raise TrainingError(
                f"loss became {loss.item()} at epoch {epoch + 1}, iteration {steps} (global step {global_step}); "
                f"the last good checkpoint is kept: {last_checkpoint}. Check the data for NaN/inf and lower base_lr."
            )
        optimizer.zero_grad(set_to_none=True)
        if lr_at is not None:
            lr = lr_at((steps - 1) / max(len(loader), 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
        if scaler is not None:
            scaler.scale(loss).backward()
            if grad_clip > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
        batch = label.shape[0]
        loss_value = loss.item()
        total_loss += loss_value * batch
        total_correct += (logits.argmax(1) == label).sum().item()
        total_seen += batch
        if rt.is_main:
            bar.set_postfix(loss=f"{loss_value:.4f}", acc=f"{100 * total_correct / total_seen:.1f}%")
        if log is not None and log_interval > 0 and steps % log_interval == 0:
            log(f"\tepoch {epoch + 1} iteration {steps}: loss {loss_value:.4f}")
    total_loss, total_correct, total_seen = all_reduce_sum([total_loss, total_correct, float(total_seen)], rt)
    seconds = time.perf_counter() - start
    if total_seen == 0:
        raise TrainingError(
            "the training loader produced no batch (fewer samples than batch_size with drop_last?)"
        )
    return EpochStats(
        total_loss / total_seen, total_correct / total_seen, int(total_seen), steps, seconds
    ), global_step


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: torch.utils.data.DataLoader,
    rt: Runtime,
    *,
    amp_dtype: torch.dtype | None,
    desc: str = "test",
) -> tuple[np.ndarray, np.ndarray]:
    """Logits for every sample of ``loader.dataset`` exactly once.

    Returns (indices (N,), logits (N, num_class) float32) sorted by dataset index; in a distributed
    run the per-process parts are gathered (DistributedSampler's padding duplicates are removed).
    """
    model.eval()
    indices, outputs = [], []
    for data, _label, index in tqdm(
        loader, desc=desc, leave=False, disable=not (rt.is_main and interactive()), dynamic_ncols=True
    ):
        data = data.to(rt.device, non_blocking=True).float()
        with autocast_context(rt.device, amp_dtype):
            logits, _ = forward_logits(model, data)
        outputs.append(logits.float().cpu().numpy())
        indices.append(index.numpy())
    idx = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
    out = np.concatenate(outputs) if outputs else np.zeros((0, 0), dtype=np.float32)
    if rt.distributed:
        parts: list = [None] * rt.world_size
        dist.all_gather_object(parts, (idx, out))
        idx = np.concatenate([p[0] for p in parts])
        out = np.concatenate([p[1] for p in parts if p[1].size] or [out])
    idx, first = np.unique(idx, return_index=True)
    return idx, out[first].astype(np.float32, copy=False)


def mean_loss(logits: np.ndarray, labels: np.ndarray, loss_fn) -> float:
    if len(labels) == 0:
        return math.nan
    with torch.no_grad():
        return float(loss_fn(torch.from_numpy(logits), torch.from_numpy(np.asarray(labels, dtype=np.int64))))
