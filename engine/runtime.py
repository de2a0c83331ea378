"""Devices, processes and seeds: CPU, one GPU, or many through ``torchrun`` (DistributedDataParallel).

Under ``torchrun`` (the ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables are set) every process drives
one device: ``cuda:LOCAL_RANK`` with NCCL when CUDA is available, otherwise the CPU with gloo.
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from utils.errors import ConfigError
from utils.memory import TRAINING, keep_freed_memory


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _cuda_device(index: int) -> torch.device:
    count = torch.cuda.device_count()
    if index >= count:
        warnings.warn(f"device: GPU {index} requested but only {count} visible; using cuda:0", stacklevel=3)
        index = 0
    return torch.device(f"cuda:{index}")


def resolve_device(spec: Any, local_rank: int = 0) -> torch.device:
    """Turn the ``device`` config value into a torch device.

    Accepts ``auto``, ``cpu``, ``cuda``, ``cuda:N`` and 2s-AGCN's GPU ids (``0``, ``[0, 1, 2, 3]``). Without
    CUDA, GPU requests fall back to the CPU with a warning. Several ids in one process use the first one
    (DataParallel is not used; start ``torchrun --nproc_per_node=K`` for several GPUs); under torchrun
    process ``LOCAL_RANK`` takes the id at that position.
    """
    if isinstance(spec, (list, tuple)):
        ids = list(spec)
        if not ids:
            spec = "auto"
        elif len(ids) == 1:
            spec = ids[0]
        else:
            spec = ids[local_rank % len(ids)]
            if "LOCAL_RANK" not in os.environ and torch.cuda.is_available():
                warnings.warn(
                    f"device: {ids} lists several GPUs; this process uses {spec}. "
                    f"Run `torchrun --nproc_per_node={len(ids)} main.py ...` to train on all of them.",
                    stacklevel=2,
                )
    if isinstance(spec, str) and spec.strip().lstrip("-").isdigit():
        spec = int(spec)
    if isinstance(spec, bool):
        raise ConfigError(f"device: expected auto, cpu, cuda[:N] or GPU ids, got {spec!r}")
    if isinstance(spec, int):
        if not torch.cuda.is_available():
            warnings.warn(
                f"device: GPU {spec} requested but CUDA is not available; running on the CPU", stacklevel=2
            )
            return torch.device("cpu")
        return _cuda_device(spec)
    if not isinstance(spec, str):
        raise ConfigError(f"device: expected auto, cpu, cuda[:N] or GPU ids, got {spec!r}")
    spec = spec.strip().lower()
    if spec == "auto":
        return _cuda_device(local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            warnings.warn(
                f"device: {spec} requested but CUDA is not available; running on the CPU", stacklevel=2
            )
            return torch.device("cpu")
        index = int(spec.split(":")[1]) if ":" in spec else local_rank
        return _cuda_device(index)
    if spec == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    raise ConfigError(f"device: expected auto, cpu, cuda[:N] or GPU ids, got {spec!r}")


def setup_runtime(device_spec: Any) -> Runtime:
    """Resolve the device and, under torchrun, join the process group. Also keeps glibc from
    returning and re-faulting the activations' memory every step (:mod:`utils.memory`)."""
    keep_freed_memory(**TRAINING)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Runtime(device=resolve_device(device_spec))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(device=device, rank=rank, world_size=world_size, local_rank=local_rank)


def teardown_runtime(rt: Runtime) -> None:
    """Leave the process group, collecting garbage held in reference cycles first (most likely
    DistributedDataParallel's reducer or finished collectives still holding gloo's group). Without
    the collection a process sometimes aborted at interpreter shutdown ("terminate called without an
    active exception"; CPU, gloo: 5 of 58 runs of the two-process test; with it none of 60)."""
    if rt.distributed and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def derive_seed(*parts: Any) -> int:
    """A stable 32-bit seed from any parts (seed, epoch, rank, ...)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def worker_init_fn(worker_id: int) -> None:
    """Give each DataLoader worker its own NumPy and Python seeds.

    torch seeds every worker with ``base_seed + worker_id``, where ``base_seed`` is drawn from the main
    process's generator each time an epoch's iterator starts; NumPy and ``random`` are seeded from it,
    so workers differ from each other and from epoch to epoch, and a run is reproducible from ``--seed``.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def rng_state() -> dict[str, Any]:
    """Snapshot of every random generator (stored in full checkpoints)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        # plain lists and tensors, so the checkpoint loads with torch.load(weights_only=True)
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (None: plain fp32)."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def all_reduce_sum(values: list[float], rt: Runtime) -> list[float]:
    """Sum a few numbers over all processes (identity in a single process)."""
    if not rt.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=rt.device if rt.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return t.tolist()
