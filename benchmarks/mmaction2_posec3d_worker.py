"""Runs MMAction2's own PoseC3D network on request; started by ``bench_posec3d.py`` with the MMAction2
interpreter.

Not part of the project: it imports ``mmaction`` (installed only in the benchmark environment made by
``../shared/tools/mmaction2-venv.sh``) and is only ever started as a subprocess::

    /work/mmaction2-venv/bin/python benchmarks/mmaction2_posec3d_worker.py CONFIG.json BATCH T H W THREADS

CONFIG.json is the ``model=dict(...)`` of an MMAction2 config. The worker builds the Recognizer3D, an
SGD optimiser (lr 0.01, momentum 0.9, weight decay 3e-4) and a fixed random batch
(BATCH, C, T, H, W), then reads requests from stdin, one per line: ``train <precision>`` (forward of
backbone and head, cross-entropy, backward, SGD step) or ``eval <precision>`` (forward without
gradients), precision ``fp32`` or ``bf16`` (CPU autocast); it answers one JSON line with the wall
and process CPU seconds. An empty line ends it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import register_all_modules


def as_tuples(cfg):
    """JSON lists back to the tuples MMAction2's constructors expect."""
    if isinstance(cfg, dict):
        return {k: as_tuples(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return tuple(as_tuples(v) for v in cfg)
    return cfg


def main(config_path: str, batch: str, t: str, h: str, w: str, threads: str) -> None:
    torch.set_num_threads(int(threads))
    register_all_modules()
    with open(config_path, encoding="utf-8") as f:
        cfg = as_tuples(json.load(f))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=3e-4)
    in_channels = cfg["backbone"]["in_channels"]
    num_classes = cfg["cls_head"]["num_classes"]
    g = torch.Generator().manual_seed(1)
    x = torch.rand(int(batch), in_channels, int(t), int(h), int(w), generator=g)
    y = torch.randint(0, num_classes, (int(batch),), generator=g)
    print(json.dumps({"ready": sum(p.numel() for p in model.parameters())}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        mode, precision = line.split()
        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
        )
        start, cpu = time.perf_counter(), time.process_time()
        if mode == "train":
            model.train()
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                logits = model.cls_head(model.backbone(x))
            F.cross_entropy(logits.float(), y).backward()
            optimizer.step()
        else:
            model.eval()
            with torch.no_grad(), autocast:
                model.cls_head(model.backbone(x))
        print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
