"""Weight files and full-state checkpoints.

* Weight files ``<model_saved_name>-<epoch>-<global_step>.pt`` are what 2s-AGCN writes: a plain
  ``state_dict`` (``module.`` prefixes stripped, tensors on the CPU), so its tools load them. This
  project also records what the weights are — model class, layout, stream, class count, input
  channels — in the state dict's ``_metadata`` (kept by ``torch.save``/``torch.load`` and ignored by
  ``load_state_dict``), and refuses to test them on another stream or class count.
* The full checkpoint ``<work_dir>/checkpoint.pt`` adds optimizer, scaler, epoch, step, random
  generator states, metrics history and the config, so ``--resume`` continues a killed run exactly.

Everything is written atomically and read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from utils.errors import ConfigError, DataError, TrainingError
from utils.io import atomic_path

META_KEY = "skeleton_pipeline"
CHECKPOINT_FORMAT = 1


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def clean_state_dict(model: nn.Module) -> OrderedDict:
    """CPU copy of the bare model's state dict (2s-AGCN's saved form)."""
    state = unwrap(model).state_dict()
    out = OrderedDict((k, v.detach().cpu()) for k, v in state.items())
    out._metadata = OrderedDict((k, dict(v)) for k, v in getattr(state, "_metadata", {}).items())
    return out


def torch_save_atomic(obj: Any, path: str | Path, what: str) -> None:
    """``torch.save`` through a temporary file; a write failure (full disk, read-only folder) raises a
    one-line TrainingError naming ``path``, which is left as it was (the previous file stays intact)."""
    try:
        with atomic_path(path) as tmp:
            torch.save(obj, tmp)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except RuntimeError as exc:  # torch's zip writer reports a failed write as a RuntimeError
        if "write" not in str(exc).lower():
            raise
        reason = "the write failed (disk full?)"
    else:
        return
    raise TrainingError(
        f"cannot write the {what} {path} ({reason}); the previous {what}, if any, is unchanged: free space or "
        "fix the folder, then continue with --resume"
    )


def save_weights(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write a 2s-AGCN-compatible weight file with ``meta`` recorded in ``_metadata``."""
    state = clean_state_dict(model)
    state._metadata.setdefault("", {})[META_KEY] = dict(meta)
    torch_save_atomic(state, path, "weight file")
    return Path(path)


def resolve_weights_path(pattern: str | Path) -> Path:
    """A weight path, or a glob like ``./runs/ntu_cs_agcn_joint-49-*.pt`` resolved to its newest match.

    Matches are ordered by the trailing ``-<epoch>-<step>`` numbers of 2s-AGCN's names.
    """
    pattern = str(pattern)
    if not any(ch in pattern for ch in "*?["):
        return Path(pattern)
    import glob
    import re

    def key(p: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"-(\d+)(?=-|\.pt$)", Path(p).name)) or (-1,)

    matches = sorted(glob.glob(pattern), key=key)
    if not matches:
        raise DataError(f"weights: no file matches {pattern}")
    return Path(matches[-1])


def read_weights(path: str | Path) -> tuple[Any, dict[str, Any] | None]:
    """Load a weight file or checkpoint safely (a glob picks the newest); return (object, recorded meta or None)."""
    from model.loading import read_weights_file

    obj = read_weights_file(resolve_weights_path(path))
    return obj, extract_meta(obj)


def extract_meta(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, dict) and isinstance(obj.get("meta"), dict):
        return obj["meta"]
    metadata = getattr(obj, "_metadata", None)
    if metadata and isinstance(metadata.get("", None), dict):
        meta = metadata[""].get(META_KEY)
        return dict(meta) if isinstance(meta, dict) else None
    return None


def check_meta(meta: dict[str, Any] | None, expected: dict[str, Any], source: str) -> None:
    """Refuse weights recorded for another stream, class count, layout or model."""
    if not meta:
        return
    keys = {
        "stream": "the feeder's stream (test_feeder_args.stream or the data file name)",
        "num_class": "model_args.num_class",
        "layout": "the model's graph layout",
        "in_channels": "model_args.in_channels",
        "model": "model",
    }
    from utils.registry import MODELS

    meta = dict(meta)
    if isinstance(meta.get("model"), str):  # older files record the dotted path (an alias)
        meta["model"] = MODELS.canonical(meta["model"])
    problems = [
        f"{key} {meta[key]!r} (config: {expected[key]!r}, from {where})"
        for key, where in keys.items()
        if meta.get(key) is not None and expected.get(key) is not None and meta[key] != expected[key]
    ]
    if problems:
        raise ConfigError(f"weights {source} were trained with " + "; ".join(problems))


def save_checkpoint(path: str | Path, **state: Any) -> None:
    """Write a full checkpoint (model, optimizer, epoch, RNG, history, config, meta) atomically."""
    state["format"] = CHECKPOINT_FORMAT
    torch_save_atomic(state, path, "checkpoint")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"resume: no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{path}: not a loadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or "model" not in state:
        raise DataError(
            f"{path}: not a full checkpoint of this pipeline (use weights: for plain weight files)"
        )
    return state
