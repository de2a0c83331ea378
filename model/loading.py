"""Load official and older checkpoints into any model, with a report of every adaptation made.

Accepted sources: a plain ``state_dict``; a dict holding it under ``'state_dict'`` (SGN / ImpSGNv2
checkpoints: ``epoch``, ``state_dict``, ``best``, ``monitor``, ``optimizer``) or ``'model'``; a ``.pt``
file (read with ``torch.load(..., weights_only=True)``); a ``.pkl`` file of arrays (2s-AGCN allowed
pickled state dicts; read with the restricted unpickler of :mod:`utils.io`).

Adaptations, all reported:

* ``module.`` prefixes (``nn.DataParallel`` checkpoints) are stripped;
* the model family's legacy key names are renamed: the model class lists ``(regex, replacement)``
  pairs in ``legacy_key_renames`` (2s-AGCN: ``conv_res`` -> ``down``, ``l1a`` -> ``l1``); a rename is
  applied only to a key the model does not have;
* missing ``num_batches_tracked`` buffers (PyTorch < 0.4.1 checkpoints) are filled with 0;
* keys containing any ``ignore`` substring are dropped (2s-AGCN's ``ignore_weights``).

Anything else that does not match (missing or unexpected keys, shape mismatches) raises a
:class:`~utils.errors.DataError` whose one-line message lists the keys.
"""

from __future__ import annotations

import os
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
    missing: list[str] = field(default_factory=list)  # model keys left at their values (strict=False)
    unexpected: list[str] = field(default_factory=list)  # file keys not loaded (strict=False)

    def summary(self) -> str:
        """One line, e.g. ``"weights.pt: loaded 352 keys; renamed 6 legacy keys (...)"``."""
        parts = []
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
        return f"{self.source}: " + ("; ".join(parts) if parts else "all keys matched")


def _listing(items: Iterable[str], limit: int = MAX_LISTED) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")


def unwrap_checkpoint(obj: Any, source: str = "state_dict") -> Mapping[str, Any]:
    """Return the state_dict inside a checkpoint (a plain dict, or one under 'state_dict' / 'model')."""
    if not isinstance(obj, Mapping):
        raise DataError(
            f"{source}: expected a state_dict (a mapping of names to tensors), got {type(obj).__name__}"
        )
    for key in ("state_dict", "model"):
        if isinstance(obj.get(key), Mapping):
            return obj[key]
    return obj


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
    state = unwrap_checkpoint(state, source)
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
    mismatched = [
        f"{k} (file {tuple(adapted[k].shape)}, model {tuple(expected[k].shape)})"
        for k in expected
        if k in adapted and adapted[k].shape != expected[k].shape
    ]
    problems = []
    if strict and missing:
        problems.append(f"{len(missing)} missing keys: {_listing(missing)}")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches: {_listing(mismatched, limit=3)}")
    if problems:
        raise DataError(f"{source}: weights do not fit {type(model).__name__}; " + "; ".join(problems))
    report.missing, report.unexpected = missing, unexpected
    return OrderedDict((k, adapted[k]) for k in expected if k in adapted), report


def read_weights_file(path: str | os.PathLike) -> Mapping[str, Any]:
    """Read a checkpoint file: ``.pkl`` via the restricted unpickler, anything else via ``torch.load``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the weights file is empty (0 bytes); expected a .pt/.pth state dict")
    if path.suffix == ".pkl":
        return load_pickle(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        detail = (str(exc).strip().splitlines() or ["unreadable"])[0]
        raise DataError(f"{path}: cannot read weights ({type(exc).__name__}: {detail})") from exc


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
