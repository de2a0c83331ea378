"""A pickle module for ``torch.load`` that reads MMEngine checkpoints without MMEngine and runs nothing.

MMAction2's zoo files are ``torch.save``d dicts with ``meta``, ``state_dict`` and a ``message_hub``
whose ``HistoryBuffer`` objects (and, in their state, ``builtins.getattr(HistoryBuffer, 'min')``) are
pickled by reference. ``torch.load(weights_only=True)`` refuses them, and plain ``pickle`` would
import MMEngine and call whatever the file names. This module is passed as
``torch.load(path, weights_only=False, pickle_module=mmengine_pickle)`` instead:

* :meth:`Unpickler.find_class` returns real objects only for an allow-list: tensor and storage
  rebuild functions, ``collections.OrderedDict``, plain builtins, NumPy array/scalar reconstruction
  (``numpy._core`` and ``numpy.core`` spellings), torch dtypes;
* any other global becomes an inert stand-in class (a subclass of :class:`StandIn`) that records its
  name and whatever arguments or state the pickle gives it; the named module is never imported and
  nothing it names is ever called;
* ``builtins.getattr`` becomes :func:`guarded_getattr`, which returns another stand-in when its first
  argument is a stand-in and refuses everything else (no attribute walk on real objects).

Only the ``state_dict`` of such a file is used (see :func:`model.loading.read_weights_file`).
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

import torch
from torch import nn

from utils.errors import DataError
from utils.io import _RestrictedUnpickler  # the project's allow-list of builtins and NumPy globals

# Python 2 module names that protocol-2 pickles written by Python 3 still use.
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_TORCH_DTYPES = frozenset(name for name in dir(torch) if isinstance(getattr(torch, name), torch.dtype))


class StandIn:
    """An object the checkpoint names by reference but that is not trusted: it only records things.

    Stand-in *classes* are created per (module, name); calling one (pickle's REDUCE / NEWOBJ) makes an
    instance that keeps the arguments, and ``__setstate__`` keeps the state. Nothing else happens.
    """

    stand_in_for = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __call__(self, *args: Any, **kwargs: Any) -> StandIn:
        return _stand_in_class(f"{self.stand_in_for}(...)")(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<stand-in for {self.stand_in_for}>"


def _stand_in_class(qualified_name: str) -> type[StandIn]:
    """A fresh inert class standing in for ``qualified_name`` (only its name is recorded)."""
    return type("StandIn", (StandIn,), {"stand_in_for": qualified_name})


def guarded_getattr(obj: Any, name: Any, *default: Any) -> StandIn:
    """``builtins.getattr`` inside a checkpoint: only on stand-ins, giving another stand-in."""
    is_stand_in = isinstance(obj, StandIn) or (isinstance(obj, type) and issubclass(obj, StandIn))
    if not is_stand_in:
        raise pickle.UnpicklingError(
            f"refusing getattr({type(obj).__name__}, {name!r}): only stand-ins may be looked into"
        )
    return _stand_in_class(f"{obj.stand_in_for}.{name}")()


def _rebuild_parameter(data: torch.Tensor, requires_grad: bool, *_ignored: Any) -> nn.Parameter:
    """``torch._utils._rebuild_parameter[_with_state]`` without the pickled hooks and attributes."""
    return nn.Parameter(data, requires_grad)


_TORCH_GLOBALS: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): torch.Size,
    ("builtins", "getattr"): guarded_getattr,
}


class Unpickler(_RestrictedUnpickler):
    """Allow-listed globals are real; everything else is an inert :class:`StandIn` class."""

    def __init__(self, file: io.BufferedIOBase, **kwargs: Any) -> None:
        super().__init__(file, getattr(file, "name", "checkpoint"), **kwargs)

    def find_class(self, module: str, name: str) -> Any:
        module = _PY2_MODULES.get(module, module)
        if (module, name) in _TORCH_GLOBALS:
            return _TORCH_GLOBALS[module, name]
        if module == "torch" and name in _TORCH_DTYPES:
            return getattr(torch, name)
        try:
            return super().find_class(module, name)  # builtins, OrderedDict, NumPy (utils.io's list)
        except DataError:
            pass
        return _stand_in_class(f"{module}.{name}")


def load(file: io.BufferedIOBase, **kwargs: Any) -> Any:
    """``pickle.load`` with :class:`Unpickler` (torch calls it for legacy, non-zip checkpoints)."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs: Any) -> Any:
    """``pickle.loads`` with :class:`Unpickler`."""
    return load(io.BytesIO(data), **kwargs)


def torch_load(path: str) -> Any:
    """Read a checkpoint file with this module; tensors on the CPU."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=sys.modules[__name__])
    except RuntimeError as exc:  # e.g. TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 refuses any pickle_module
        raise DataError(f"{path}: cannot read the checkpoint ({str(exc).splitlines()[0]})") from exc
