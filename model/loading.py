"""Load official and older checkpoints into any model, with a report of every adaptation made.

Accepted sources: a plain ``state_dict``; a dict holding it under ``'state_dict'`` (SGN / ImpSGNv2
checkpoints: ``epoch``, ``state_dict``, ``best``, ``monitor``, ``optimizer``; MMAction2 / MMEngine
checkpoints: ``meta``, ``state_dict``, ``message_hub``) or ``'model'``; a ``.pt`` / ``.pth`` file (read
with ``torch.load(..., weights_only=True)``; a file that pickles other objects, such as MMEngine's
``HistoryBuffer``, is read with the restricted :mod:`model.mmengine_pickle`, which replaces them by
inert stand-ins and never imports or calls them); a ``.pkl`` file of arrays (2s-AGCN allowed pickled
state dicts; read with the restricted unpickler of :mod:`utils.io`). Only the state_dict is loaded.

Adaptations, all reported:

* ``module.`` prefixes (``nn.DataParallel`` checkpoints) are stripped;
* the model family's legacy key names are renamed: the model class lists ``(regex, replacement)``
  pairs in ``legacy_key_renames`` (2s-AGCN: ``conv_res`` -> ``down``, ``l1a`` -> ``l1``); a rename is
  applied only to a key the model does not have;
* missing ``num_batches_tracked`` buffers (PyTorch < 0.4.1 checkpoints) are filled with 0;
* keys containing any ``ignore`` substring are dropped (2s-AGCN's ``ignore_weights``);
* the other entries of a checkpoint dict (``meta``, ``message_hub``, ``optimizer``) are skipped.

Anything else that does not match (missing or unexpected keys, shape mismatches) raises a
:class:`~utils.errors.DataError` whose one-line message lists the keys; a classifier of another
class count is named as such ("cls_head.fc.weight has shape (120, 256) but the model expects
(60, 256) (num_class 60)").

:func:`save_mmaction_checkpoint` writes a model built by :mod:`model.mmaction` (or trained with
``model: stgcn|stgcnpp|mmaction_aagcn``) in MMAction2's checkpoint layout; as a command::

    python -m model.loading --config config/<benchmark>/test_joint_stgcnpp.yaml \
        --weights runs/x-79-1234.pt --out stgcnpp_joint.pth
"""

from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from utils.errors import DataError
from utils.io import load_pickle

PREFIX = "module."
MAX_LISTED = 20  # keys named per category in an error message


@dataclass
class LoadReport:
    """What :func:`adapt_state_dict` / :func:`load_weights` changed or could not match."""

    source: str = "state_dict"
    stripped_prefix: int = 0  # number of keys that lost a 'module.' prefix
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (name in the file, model name)
    filled: list[str] = field(default_factory=list)  # num_batches_tracked added as 0
    ignored: list[str] = field(default_factory=list)  # dropped by an ``ignore`` substring
    skipped_entries: list[str] = field(default_factory=list)  # checkpoint entries besides the state_dict
    stand_ins: int = 0  # objects the restricted unpickler replaced by inert stand-ins
    missing: list[str] = field(default_factory=list)  # model keys left at their values (strict=False)
    unexpected: list[str] = field(default_factory=list)  # file keys not loaded (strict=False)

    def summary(self) -> str:
        """One line, e.g. ``"weights.pt: loaded 352 keys; renamed 6 legacy keys (...)"``."""
        parts = []
        head = f"{self.source}: "
        if self.skipped_entries:  # a checkpoint dict: say what else it held
            head += f"used 'state_dict', skipped {', '.join(self.skipped_entries)}"
            if self.stand_ins:
                head += f" ({self.stand_ins} unpicklable objects kept as inert stand-ins)"
            head += "; "
        if self.stripped_prefix:
            parts.append(f"stripped '{PREFIX}' from {self.stripped_prefix} keys")
        if self.renamed:
            parts.append(
                f"renamed {len(self.renamed)} legacy keys ({_listing(f'{a} -> {b}' for a, b in self.renamed)})"
            )
        if self.filled:
            parts.append(f"filled {len(self.filled)} missing num_batches_tracked with 0")
        if self.ignored:
            parts.append(f"ignored {len(self.ignored)} keys ({_listing(self.ignored)})")
        if self.missing:
            parts.append(
                f"kept the model's values for {len(self.missing)} missing keys ({_listing(self.missing)})"
            )
        if self.unexpected:
            parts.append(f"skipped {len(self.unexpected)} unexpected keys ({_listing(self.unexpected)})")
        return head + ("; ".join(parts) if parts else "all keys matched")


def _listing(items: Iterable[str], limit: int = MAX_LISTED) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


def unwrap_checkpoint(obj: Any, source: str = "state_dict") -> Mapping[str, Any]:
    """Return the state_dict inside a checkpoint (a plain dict, or one under 'state_dict' / 'model')."""
    return _unwrap(obj, source)[0]


def _unwrap(obj: Any, source: str) -> tuple[Mapping[str, Any], list[str]]:
    """(state_dict, names of the checkpoint's other entries)."""
    if not isinstance(obj, Mapping):
        raise DataError(
            f"{source}: expected a state_dict (a mapping of names to tensors), got {type(obj).__name__}"
        )
    for key in ("state_dict", "model"):
        if isinstance(obj.get(key), Mapping):
            return obj[key], [str(k) for k in obj if k != key]
    return obj, []


def _count_stand_ins(obj: Any, depth: int = 0) -> int:
    """Inert stand-ins left by :mod:`model.mmengine_pickle` in a checkpoint's containers."""
    from model.mmengine_pickle import StandIn

    if isinstance(obj, StandIn):
        return 1
    if depth > 8:
        return 0
    if isinstance(obj, Mapping):
        return sum(_count_stand_ins(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_count_stand_ins(v, depth + 1) for v in obj)
    return 0


def _shape_problem(
    model: nn.Module, key: str, file_shape: tuple, model_shape: tuple, source: str
) -> str | None:
    """A one-line message for a classifier of another class count, else None."""
    num_class = getattr(model, "num_class", None)
    if not re.search(r"(^|\.)fc\.(weight|bias)$", key) or not isinstance(num_class, int):
        return None
    return (
        f"{source}: {key} has shape {file_shape} but the model expects {model_shape} (num_class {num_class}); "
        f"the weights were trained for {file_shape[0]} classes"
    )


def _as_tensor(value: Any, key: str, source: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(value))  # a copy; keeps 0-d arrays 0-d
    raise DataError(f"{source}: entry '{key}' is a {type(value).__name__}, expected a tensor or an array")


def adapt_state_dict(
    model: nn.Module,
    state: Mapping[str, Any],
    legacy_renames: Sequence[tuple[str, str]] | None = None,
    ignore: Iterable[str] = (),
    strict: bool = True,
    source: str = "state_dict",
) -> tuple[OrderedDict[str, torch.Tensor], LoadReport]:
    """Map ``state`` (a state_dict or checkpoint) onto ``model``'s keys.

    Returns the adapted state_dict (in the model's key order, only keys the model has) and a
    :class:`LoadReport`. ``legacy_renames`` defaults to ``type(model).legacy_key_renames``. With
    ``strict`` (default) any missing or unexpected key raises; shape mismatches always raise.
    """
    report = LoadReport(source=source)
    checkpoint = state
    state, report.skipped_entries = _unwrap(checkpoint, source)
    if report.skipped_entries:
        report.stand_ins = _count_stand_ins(checkpoint)
    if legacy_renames is None:
        legacy_renames = getattr(type(model), "legacy_key_renames", ())
    ignore = [s for s in ignore if s]
    expected = model.state_dict()

    adapted: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}  # model key -> name in the file
    unexpected: list[str] = []
    for raw_key, value in state.items():
        key = str(raw_key)
        if any(s in key for s in ignore):
            report.ignored.append(key)
            continue
        name = key
        while name.startswith(PREFIX) and name not in expected:
            name = name[len(PREFIX) :]
        if name != key:
            report.stripped_prefix += 1
        if name not in expected:
            renamed = name
            for pattern, replacement in legacy_renames:
                renamed = re.sub(pattern, replacement, renamed)
            if renamed in expected:
                report.renamed.append((key, renamed))
                name = renamed
        if name not in expected:
            unexpected.append(key)
            continue
        if name in adapted:
            raise DataError(f"{source}: keys '{origin[name]}' and '{key}' both map to the model key '{name}'")
        adapted[name] = _as_tensor(value, key, source)
        origin[name] = key

    for name, value in expected.items():
        if name not in adapted and name.endswith("num_batches_tracked"):
            adapted[name] = torch.zeros((), dtype=value.dtype)
            report.filled.append(name)

    missing = [k for k in expected if k not in adapted]
    wrong_shape = [k for k in expected if k in adapted and adapted[k].shape != expected[k].shape]
    messages = [
        _shape_problem(model, k, tuple(adapted[k].shape), tuple(expected[k].shape), source)
        for k in wrong_shape
    ]
    if wrong_shape and all(messages) and not (strict and (missing or unexpected)):
        raise DataError(messages[0])  # only the classifier differs: another class count
    mismatched = [
        f"{k} (file {tuple(adapted[k].shape)}, model {tuple(expected[k].shape)})" for k in wrong_shape
    ]
    problems = []
    if strict and missing:
        problems.append(f"{len(missing)} missing keys: {_listing(missing)}")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches: {_listing(mismatched, limit=3)}")
    if problems:
        describe = getattr(model, "describe", None)
        what = describe() if callable(describe) else type(model).__name__
        raise DataError(f"{source}: weights do not fit {what}; " + "; ".join(problems))
    report.missing, report.unexpected = missing, unexpected
    return OrderedDict((k, adapted[k]) for k in expected if k in adapted), report


def read_weights_file(path: str | os.PathLike) -> Mapping[str, Any]:
    """Read a checkpoint file: ``.pkl`` via the restricted unpickler, anything else via ``torch.load``.

    ``torch.load(weights_only=True)`` first; a file it refuses for the objects it pickles (MMEngine
    checkpoints) is read again with :mod:`model.mmengine_pickle`, which never runs them.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the weights file is empty (0 bytes); expected a .pt/.pth state dict")
    if path.suffix == ".pkl":
        return load_pickle(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        from model.mmengine_pickle import torch_load

        try:
            return torch_load(str(path))
        except DataError:
            raise
        except Exception as exc:
            raise _unreadable(path, exc) from exc
    except Exception as exc:  # unpickling errors come in many types
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: Exception) -> DataError:
    detail = (str(exc).strip().splitlines() or ["unreadable"])[0]
    return DataError(f"{path}: cannot read weights ({type(exc).__name__}: {detail})")


def load_weights(
    model: nn.Module,
    source: str | os.PathLike | Mapping[str, Any],
    ignore: Iterable[str] = (),
    strict: bool = True,
    source_name: str = "state_dict",
) -> LoadReport:
    """Load a checkpoint file or a (wrapped) state_dict into ``model``; return the report.

    ``source_name`` names an already loaded ``source`` in messages (its file). ``ignore`` drops keys
    containing any of the substrings. With ``strict=False`` missing keys keep
    the model's values and unexpected keys are skipped (both reported); shape mismatches still raise.
    """
    if isinstance(source, (str, os.PathLike)):
        name, state = str(source), read_weights_file(source)
    else:  # an already loaded object: a state dict or checkpoint; anything else is refused below
        name, state = source_name, source
    adapted, report = adapt_state_dict(model, state, ignore=ignore, strict=strict, source=name)
    model.load_state_dict(adapted, strict=strict)
    return report


def save_mmaction_checkpoint(
    model: nn.Module, path: str | os.PathLike, meta: Mapping[str, Any] | None = None
) -> Path:
    """Write ``model`` as an MMAction2 checkpoint: ``{'meta': ..., 'state_dict': OrderedDict(...)}``.

    ``model`` is a model of :mod:`model.recognizer_gcn` (keys ``backbone.*`` and ``cls_head.*``);
    ``meta['cfg']`` holds its ``model = dict(...)`` as Python text, as MMEngine writes it, and
    ``meta['model_config']`` the same as data (``model.mmaction.build(meta['model_config'])``
    rebuilds it). Plain ``torch.save`` of tensors, dicts and strings: loadable with
    ``torch.load(weights_only=True)`` and by MMAction2's ``load_checkpoint``. Written atomically.
    """
    from utils.io import atomic_path

    while isinstance(getattr(model, "module", None), nn.Module):  # DataParallel / DDP wrappers
        model = model.module
    cfg = getattr(model, "mmaction_cfg", None)
    if not isinstance(cfg, Mapping):
        raise DataError(f"{path}: {type(model).__name__} is not an MMAction2-layout model (no mmaction_cfg)")
    state = OrderedDict((k, v.detach().cpu().clone()) for k, v in model.state_dict().items())
    foreign = [k for k in state if not k.startswith(("backbone.", "cls_head."))]
    if foreign:
        raise DataError(f"{path}: keys outside backbone.* / cls_head.*: {_listing(foreign)}")
    model_cfg = _plain(cfg)
    full_meta = {**dict(meta or {}), "cfg": f"model = {model_cfg!r}\n", "model_config": model_cfg}
    with atomic_path(path) as tmp:
        torch.save({"meta": full_meta, "state_dict": state}, tmp)
    return Path(path)


def _plain(value: Any) -> Any:
    """Config data as dicts, lists and scalars (tuples become lists, as a JSON round trip would)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model.loading --config CFG.yaml --weights W.pt --out OUT.pth``: export for MMAction2."""
    import argparse

    from engine import builder
    from engine.checkpoint import read_weights
    from engine.config import parse_config
    from utils.errors import ConfigError

    p = argparse.ArgumentParser(description="Write trained weights as an MMAction2 checkpoint (.pth).")
    p.add_argument(
        "--config", required=True, help="the run's config (model: stgcn, stgcnpp or mmaction_aagcn)"
    )
    p.add_argument("--weights", required=True, help="weight file written by training")
    p.add_argument("--out", required=True, help="MMAction2 checkpoint to write")
    args = p.parse_args(argv)
    try:
        cfg = parse_config(["--config", args.config, "--weights", args.weights])
        model = builder.build_model(cfg)
        obj, recorded = read_weights(args.weights)
        report = load_weights(model, obj)
        out = save_mmaction_checkpoint(model, args.out, meta=recorded)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}")
        return 1
    print(f"{args.weights}: {report.summary().split(': ', 1)[1]}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
