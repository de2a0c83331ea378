"""Safe, atomic file I/O shared by data generation, training and evaluation.

Three rules of the project live here:

* Nothing is ever half-written: every writer goes to a temporary file in the destination folder and
  renames it into place (``os.replace`` is atomic on POSIX and Windows).
* Pickles are read with an allow-list unpickler (:func:`load_pickle`), never with ``pickle.load``:
  the label files ``(names, labels)`` and score files ``{name: logits}`` only need builtins and
  NumPy arrays.
* Large arrays are written through memory-mapped ``.npy`` files (:class:`NpyWriter`), so peak memory
  does not grow with the number of samples.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import DataError

PathLike = str | os.PathLike

# (module, name) pairs a label or score pickle may reference. NumPy moved its internals from
# ``numpy.core`` to ``numpy._core`` in 2.0; files written by either version must load.
_SAFE_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "dict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
        ("builtins", "complex"),
        ("collections", "OrderedDict"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)
# NumPy scalar and dtype classes pickled by reference, e.g. ``numpy.float32`` or
# ``numpy.dtypes.Float32DType``.
_SAFE_NUMPY_MODULES = ("numpy", "numpy.dtypes")


def _new_temp_file(directory: Path, stem: str, suffix: str) -> Path:
    """An empty temporary file in ``directory`` with the permissions a plain ``open`` would give.

    ``mkstemp`` creates files readable by the owner only; published outputs follow the umask instead.
    """
    fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=suffix, dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module in _SAFE_NUMPY_MODULES:
            obj = super().find_class(module, name)
            if isinstance(obj, type) and (issubclass(obj, np.generic) or issubclass(obj, np.dtype)):
                return obj
        raise DataError(
            f"{self._source}: refusing to unpickle '{module}.{name}'; label, score and annotation files "
            "may only hold lists, tuples, dicts, strings, numbers and NumPy arrays"
        )


def load_pickle(path: PathLike) -> Any:
    """Load a pickle that may only contain builtins and NumPy arrays.

    Python 2 pickles (the format of some released 2s-AGCN label files) are read with
    ``encoding='latin1'``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, str(path), encoding="latin1").load()
        except DataError:
            raise
        except Exception as exc:  # truncated or not a pickle at all
            raise DataError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from exc


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so that libraries which append an
    extension (``np.save``) or check it (matplotlib) behave. On any exception the temporary file is
    removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    tmp = _new_temp_file(path.parent, path.stem, f".tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_pickle(obj: Any, path: PathLike) -> None:
    """Pickle ``obj`` to ``path`` atomically (protocol 4, readable by Python >= 3.4)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def save_text(text: str, path: PathLike) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_npy(array: np.ndarray, path: PathLike) -> None:
    """``np.save`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


class NpyWriter:
    """Create a ``.npy`` file through a memory map and publish it only when complete.

    Usage::

        with NpyWriter(out_path, (n, 3, 300, 25, 2)) as arr:   # arr: writable np.memmap
            arr[i] = sample
        # out_path now exists; on an exception it does not and the temporary file is gone.

    ``writer.tmp_path`` can be handed to worker processes, which open it with
    ``np.load(tmp_path, mmap_mode='r+')`` and fill their rows directly.
    """

    def __init__(self, path: PathLike, shape: Sequence[int], dtype: Any = np.float32) -> None:
        self.path = Path(path)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.tmp_path: Path | None = None
        self.array: np.memmap | None = None

    def __enter__(self) -> np.memmap:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp_path = _new_temp_file(self.path.parent, self.path.stem, ".tmp.npy")
        # open_memmap creates a sparse file: untouched rows read as zeros and take no disk space.
        self.array = np.lib.format.open_memmap(self.tmp_path, mode="w+", dtype=self.dtype, shape=self.shape)
        return self.array

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.tmp_path is not None
        try:
            if self.array is not None:
                self.array.flush()
                del self.array
                self.array = None
            if exc_type is None:
                os.replace(self.tmp_path, self.path)
        finally:
            if self.tmp_path.exists():
                self.tmp_path.unlink()


def load_label_file(path: PathLike) -> tuple[list[str], list[int]]:
    """Read a 2s-AGCN label pickle ``(sample_names, labels)`` and validate its structure."""
    obj = load_pickle(path)
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        raise DataError(f"{path}: expected a pickled pair (sample_names, labels), got {type(obj).__name__}")
    names, labels = obj
    names = [str(n) for n in names]
    try:
        labels = [int(x) for x in labels]
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: labels must be integers ({exc})") from exc
    if len(names) != len(labels):
        raise DataError(f"{path}: {len(names)} sample names but {len(labels)} labels")
    return names, labels


def save_label_file(names: Sequence[str], labels: Sequence[int], path: PathLike) -> None:
    """Write ``(list_of_names, list_of_int_labels)`` exactly as 2s-AGCN does (atomically)."""
    save_pickle((list(names), [int(x) for x in labels]), path)
