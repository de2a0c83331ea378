"""Score files: reading, writing and aligning per-sample class scores by sample name.

A score file is 2s-AGCN's pickle ``{sample_name: scores (num_class,)}`` (``epoch1_test_score.pkl``).
Test runs also write the same scores as ``<name>.npz`` (``names`` (N,) str, ``scores`` (N, C) float32),
which reads about 10x faster for big benchmarks; readers prefer it when it is beside the pickle and
not older. Score rows are aligned by **sample name**, never by position.

Sample names are compared by their key: the name without a clip-file extension (``.skeleton``,
``.json``, ``.npz``, ``.npy``, ``.mp4``, ``.avi``), so 2s-AGCN-format names (``S001C001P001R001A001.skeleton``)
and MMAction2 ``frame_dir`` names (``S001C001P001R001A001``) of the same clip are one sample.
"""

from __future__ import annotations

import heapq
import operator
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from utils.errors import DataError
from utils.io import atomic_path, load_label_file, load_pickle, save_pickle

_SHAPE = operator.attrgetter("shape")
CLIP_SUFFIXES = (".skeleton", ".json", ".npz", ".npy", ".mp4", ".avi")


def _few(names: Iterable[str], k: int = 5) -> str:
    """``'a, b, c, ...'``: the first ``k`` names in sorted order."""
    names = list(names)
    shown = heapq.nsmallest(k, names)
    return ", ".join(shown) + (", ..." if len(names) > k else "")


def load_labels(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Names and int64 labels of a label pickle; duplicate names and negative labels are errors."""
    names, labels = load_label_file(path)
    if len(set(names)) != len(names):
        dup = [n for n, c in Counter(names).items() if c > 1]
        raise DataError(f"{path}: {len(dup)} sample name(s) appear more than once ({_few(dup)})")
    y = np.asarray(labels, dtype=np.int64)
    if (y < 0).any():
        raise DataError(f"{path}: negative labels for {_few(n for n, v in zip(names, y) if v < 0)}")
    return names, y


def sample_key(name: str) -> str:
    """The name without a clip-file extension: the key under which score rows are matched."""
    for suffix in CLIP_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def native_path(path: str | Path) -> Path:
    """The fast score file written beside a score pickle: ``<name>.npz``."""
    return Path(path).with_suffix(".npz")


def read_score_dict(path: str | Path) -> dict:
    """A score pickle as a dict ``{name: scores}`` (checked: a non-empty dict with string keys)."""
    obj = load_pickle(path)
    if not isinstance(obj, Mapping):
        raise DataError(
            f"{path}: expected a pickled dict {{sample_name: scores (num_class,)}}, got {type(obj).__name__}"
        )
    if not obj:
        raise DataError(f"{path}: the score dict is empty")
    if not all(isinstance(k, str) for k in obj):
        raise DataError(f"{path}: sample names (the dict keys) must be strings")
    return obj if isinstance(obj, dict) else dict(obj)


def _read_native(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            names, matrix = z["names"], z["scores"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DataError(f"{path}: not a score file with 'names' and 'scores' ({exc})") from None
    if names.ndim != 1 or matrix.ndim != 2 or len(names) != len(matrix) or names.dtype.kind != "U":
        raise DataError(
            f"{path}: expected names (N,) and scores (N, C), got {names.shape} and {matrix.shape}"
        )
    matrix = matrix.astype(np.float32, copy=False)
    names = names.tolist()
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        bad = [names[i] for i in np.flatnonzero(~finite)]
        raise DataError(f"{path}: non-finite scores (NaN or inf) for {len(bad)} sample(s) ({_few(bad)})")
    return names, matrix


def read_scores(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Sample names (in file order) and the (N, C) float32 scores of a score file.

    ``path`` is a score pickle or its ``.npz``; for a pickle with an up-to-date ``.npz`` beside it, the
    ``.npz`` is read (same content, much faster).
    """
    path = Path(path)
    fast = native_path(path)
    if path.suffix == ".npz":
        return _read_native(path)
    if fast.is_file() and path.is_file() and fast.stat().st_mtime >= path.stat().st_mtime:
        return _read_native(fast)
    d = read_score_dict(path)
    names = list(d)
    return names, _to_matrix(list(d.values()), names, path)


def save_scores(
    names: Sequence[str], scores: np.ndarray, path: str | Path, classes: Sequence[str] | None = None
) -> None:
    """Write ``{name: scores[i]}`` as 2s-AGCN's pickle at ``path`` and the same as ``<path>.npz`` (both
    atomic); the ``.npz`` also records the class names when given (fusion reports use them)."""
    scores = np.asarray(scores, dtype=np.float32)
    save_pickle(dict(zip(names, scores)), path)
    arrays = {"names": np.asarray(list(names), dtype=str), "scores": scores}
    if classes is not None:
        arrays["classes"] = np.asarray(list(classes), dtype=str)
    with atomic_path(native_path(path)) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def score_classes(path: str | Path) -> list[str] | None:
    """The class names recorded beside a score file (in its ``.npz``), or None."""
    fast = Path(path) if Path(path).suffix == ".npz" else native_path(path)
    if not fast.is_file():
        return None
    try:
        with np.load(fast, allow_pickle=False) as z:
            return z["classes"].tolist() if "classes" in z.files else None
    except (OSError, ValueError, EOFError):
        return None


def _to_matrix(values: list, names: Sequence[str], source: str | Path) -> np.ndarray:
    """Stack per-sample score vectors (in ``names`` order) into an (N, C) float32 matrix, checked."""
    try:
        kinds = set(map(_SHAPE, values))
    except AttributeError:  # plain lists or numbers instead of arrays
        values = [np.asarray(v) for v in values]
        kinds = set(map(_SHAPE, values))
    shapes = list(map(_SHAPE, values)) if len(kinds) > 1 else None
    common = Counter(shapes).most_common(1)[0][0] if shapes else next(iter(kinds))
    if len(common) != 1:
        raise DataError(f"{source}: expected one score vector (num_class,) per sample, got shape {common}")
    if shapes:
        bad = [n for n, s in zip(names, shapes) if s != common]
        raise DataError(
            f"{source}: score vectors must all have {common[0]} classes like most samples; "
            f"{len(bad)} differ ({_few(bad)})"
        )
    matrix = np.concatenate(values)
    if matrix.dtype.kind not in "fiu":
        raise DataError(f"{source}: scores must be numbers, got dtype {matrix.dtype}")
    matrix = matrix.astype(np.float32, copy=False).reshape(len(values), common[0])
    finite = np.isfinite(matrix).all(axis=1)
    if not finite.all():
        bad = [names[i] for i in np.flatnonzero(~finite)]
        raise DataError(f"{source}: non-finite scores (NaN or inf) for {len(bad)} sample(s) ({_few(bad)})")
    return matrix


def load_scores(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Sample names (in file order) and the (N, C) float32 score matrix of one score file."""
    return read_scores(path)


def _check_names(
    file_names: Iterable[str], names: Iterable[str], source: str | Path, ref_desc: str, hint: str = ""
) -> None:
    """Raise unless both hold the same samples (compared by :func:`sample_key`); the message lists a
    few missing and extra names as they are written."""
    have = {sample_key(n): n for n in file_names}
    want = {sample_key(n): n for n in names}
    if have.keys() == want.keys():
        return
    missing = [want[k] for k in want.keys() - have.keys()]
    extra = [have[k] for k in have.keys() - want.keys()]
    parts = [f"{len(missing)} missing ({_few(missing)})"] if missing else []
    parts += [f"{len(extra)} extra ({_few(extra)})"] if extra else []
    raise DataError(
        f"{source}: the samples differ from {ref_desc}: {', '.join(parts)}" + (f"; {hint}" if hint else "")
    )


class _Order:
    """Moves score rows from a file's sample order into the reference order ``names``.

    The row index of the last file order seen is kept: score files of one benchmark usually share
    one order, and then the name lookups (the costly part) run once.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.index = pd.Index(self.names, dtype=object)  # a hash table: about 2x faster than dict lookups
        if not self.index.is_unique:
            dup = self.index[self.index.duplicated()].unique()
            raise DataError(f"reference sample names: {len(dup)} appear more than once ({_few(dup)})")
        self._last: tuple[list[str], np.ndarray] | None = None
        self._keys: pd.Index | None = None

    def __call__(
        self, matrix: np.ndarray, file_names: list[str], source: str | Path, ref_desc: str, hint: str = ""
    ) -> np.ndarray:
        """``matrix`` rows (named by the unique ``file_names``) in reference order; DataError if the sets differ."""
        if file_names == self.names:
            return matrix
        if self._last is not None and file_names == self._last[0]:
            rows = self._last[1]
        else:
            rows = self.index.get_indexer(file_names)  # -1: not a reference name
            if len(file_names) == len(self.names) and (rows < 0).any():
                rows = self._by_key(file_names)  # e.g. 'X.skeleton' in one file, 'X' in the other
            if len(file_names) != len(self.names) or (rows < 0).any() or len(np.unique(rows)) != len(rows):
                _check_names(file_names, self.names, source, ref_desc, hint)
                dup = [n for n, c in Counter(map(sample_key, file_names)).items() if c > 1]
                raise DataError(f"{source}: {len(dup)} sample name(s) appear more than once ({_few(dup)})")
            self._last = (file_names, rows)
        out = np.empty_like(matrix)
        out[rows] = matrix
        return out

    def _by_key(self, file_names: list[str]) -> np.ndarray:
        if self._keys is None:
            self._keys = pd.Index([sample_key(n) for n in self.names], dtype=object)
            if not self._keys.is_unique:
                dup = self._keys[self._keys.duplicated()].unique()
                raise DataError(f"reference sample names: {len(dup)} differ only by extension ({_few(dup)})")
        return self._keys.get_indexer([sample_key(n) for n in file_names])


def _check_classes(matrices: Sequence[np.ndarray], sources: Sequence[str | Path]) -> None:
    first = matrices[0].shape[1]
    for m, src in zip(matrices, sources):
        if m.shape[1] != first:
            raise DataError(
                f"{src}: score vectors have {m.shape[1]} classes, but {sources[0]} has {first}; "
                "only scores over the same classes can be fused"
            )


def _aligned(
    sources: Iterable[tuple[str | Path, list[str], np.ndarray]],
    names: Sequence[str],
    ref_desc: str,
    hint: str = "",
) -> list[np.ndarray]:
    # Matrices are read in each file's own order and then moved into the label order in one scatter.
    order, out, seen = _Order(names), [], []
    for src, file_names, matrix in sources:
        out.append(order(matrix, file_names, src, ref_desc, hint))
        seen.append(src)
        _check_classes(out, seen)
    return out


def load_aligned(
    paths: Sequence[str | Path], names: Sequence[str], ref_desc: str = "the label file", hint: str = ""
) -> list[np.ndarray]:
    """Read score pickles into (N, C) float32 matrices whose rows follow ``names`` (the label file's).

    Every file must hold exactly the samples in ``names`` and the same class count (DataError).
    """
    return _aligned(((p, *read_scores(p)) for p in paths), names, ref_desc, hint)


def align(
    score_sets: Sequence[tuple[Sequence[str], np.ndarray]],
    names: Sequence[str],
    sources: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Reorder the rows of each ``(names_i, matrix_i)`` to follow ``names`` (e.g. the label file's).

    Sample sets must be identical and class counts equal; the error names the source and samples.
    """
    sources = list(sources) if sources is not None else [f"score set {i + 1}" for i in range(len(score_sets))]
    order, out = _Order(names), []
    for (file_names, matrix), src in zip(score_sets, sources):
        file_names, matrix = list(file_names), np.asarray(matrix)
        if len(set(file_names)) != len(file_names):
            dup = [n for n, c in Counter(file_names).items() if c > 1]
            raise DataError(f"{src}: {len(dup)} sample name(s) appear more than once ({_few(dup)})")
        if matrix.ndim != 2 or len(file_names) != len(matrix):
            raise DataError(f"{src}: {len(file_names)} names but a score matrix of shape {matrix.shape}")
        out.append(order(matrix, file_names, src, "the label file"))
    _check_classes(out, sources)
    return out


def check_labels(labels: np.ndarray, num_class: int, names: Sequence[str], source: str | Path) -> None:
    """Every label must index a score column."""
    bad = np.flatnonzero(labels >= num_class)
    if len(bad):
        raise DataError(
            f"{source}: labels go up to {int(labels.max())} but the scores have {num_class} classes "
            f"({len(bad)} samples, e.g. {_few(names[i] for i in bad)}); is it the right label file?"
        )
