#!/usr/bin/env python
"""Fuse the class scores of several streams and models, matched by sample name.

    python ensemble.py --datasets ntu/xsub                      # every test run of the benchmark, weights 1:1
    python ensemble.py --datasets ntu/xsub --preset 4s          # joint 2 : joint motion 1 : bone 2 : bone motion 1
    python ensemble.py --scores j.pkl b.pkl --labels data/ntu/xsub/val_label.pkl --alpha 0.8
    python ensemble.py --datasets ntu/xsub --search             # weights searched on the validation split

Inputs are the score pickles of the test phase (``{sample_name: logits (num_class,)}``) and a label
pickle ``(names, labels)``. The label file defines the sample set. Every score file must hold exactly
those names, in any order, and the same number of classes; otherwise the run stops with an error
naming the file and a few of the offending samples. (2s-AGCN paired the files by position, which
gives nonsense when two files list the samples in different orders.)

Weights: by default every stream gets weight 1 and raw logits are summed, as in 2s-AGCN
(``joint + alpha * bone`` with ``alpha = 1``). ``--preset 4s`` gives the common four-stream weights
joint 2, joint motion 1, bone 2, bone motion 1 (by the stream named in each folder). ``--weights``
follows the file order: ``--scores`` as given; ``--datasets`` per model joint, joint_motion, bone,
bone_motion, so ``--weights 2 1 2 1`` is the four-stream setting. ``--softmax`` turns each stream into
probabilities before the weighted sum. ``--search`` chooses the weights on the validation scores that training
writes when ``val_fraction > 0`` (``epoch<E>_val_score.pkl``) and then applies them to the test scores.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import operator
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd

from engine.metrics import confusion_matrix, mean_class_accuracy, per_class_table, topk_accuracy
from feeders.streams import STREAMS
from utils.errors import ConfigError, DataError
from utils.io import load_label_file, load_pickle, save_pickle, save_text

TEST_SCORE = "epoch1_test_score.pkl"
PRESETS: dict[str, dict[str, float]] = {
    "2s": {"joint": 1.0, "bone": 1.0},  # 2s-AGCN
    "4s": {"joint": 2.0, "joint_motion": 1.0, "bone": 2.0, "bone_motion": 1.0},
}
DEFAULT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
STREAM_ORDER = ("joint", "joint_motion", "bone", "bone_motion")  # order of discovered files per model
_SHAPE = operator.attrgetter("shape")


def _few(names: Iterable[str], k: int = 5) -> str:
    """``'a, b, c, ...'``: the first ``k`` names in sorted order."""
    names = list(names)
    shown = heapq.nsmallest(k, names)
    return ", ".join(shown) + (", ..." if len(names) > k else "")


# ---------------------------------------------------------------------------------------------
# files
@dataclass(frozen=True)
class ScoreFile:
    """A score pickle and the model and stream its folder (``<model>_test_<stream>``) or name implies."""

    path: Path
    model: str | None = None
    stream: str | None = None

    @classmethod
    def from_path(cls, path: str | Path) -> ScoreFile:
        path = Path(path)
        for name in (path.parent.name, path.stem):
            model, stream = parse_run_name(name)
            if stream is not None:
                return cls(path, model, stream)
        return cls(path)


def parse_run_name(name: str) -> tuple[str | None, str | None]:
    """``agcn_test_bone_motion`` or ``agcn_bone_motion`` -> ``('agcn', 'bone_motion')``; else (None, None)."""
    if name.endswith("_test"):  # 2s-AGCN's Kinetics folder 'agcn_joint_test'
        name = name[: -len("_test")]
    head, sep, tail = name.partition("_test_")
    if sep and tail:
        return head or None, tail
    for stream in sorted(STREAMS, key=len, reverse=True):
        if name == stream:
            return None, stream
        if name.endswith("_" + stream):
            return name[: -len(stream) - 1], stream
    return None, None


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


def _read_score_dict(path: str | Path) -> dict:
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
    """Sample names (in file order) and the (N, C) float32 score matrix of one score pickle."""
    d = _read_score_dict(path)
    names = list(d)
    return names, _to_matrix(list(d.values()), names, path)


def _check_names(
    file_names: Iterable[str], names: Iterable[str], source: str | Path, ref_desc: str, hint: str = ""
) -> None:
    """Raise unless both hold the same set of names; the message lists a few missing and extra ones."""
    have, want = set(file_names), set(names)
    if have == want:
        return
    missing, extra = want - have, have - want
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
            if len(file_names) != len(self.names) or (rows < 0).any():
                _check_names(file_names, self.names, source, ref_desc, hint)
            self._last = (file_names, rows)
        out = np.empty_like(matrix)
        out[rows] = matrix
        return out


def _check_classes(matrices: Sequence[np.ndarray], sources: Sequence[str | Path]) -> None:
    first = matrices[0].shape[1]
    for m, src in zip(matrices, sources):
        if m.shape[1] != first:
            raise DataError(
                f"{src}: score vectors have {m.shape[1]} classes, but {sources[0]} has {first}; "
                "only scores over the same classes can be fused"
            )


def _aligned(
    sources: Iterable[tuple[str | Path, Mapping]], names: Sequence[str], ref_desc: str, hint: str = ""
) -> list[np.ndarray]:
    # Matrices are built in each file's own order (sequential memory access, several times faster than
    # gathering 120k small arrays in label order) and then moved into the label order in one scatter.
    order, out, seen = _Order(names), [], []
    for src, d in sources:
        file_names = list(d)
        matrix = _to_matrix(list(d.values()), file_names, src)
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
    return _aligned(((p, _read_score_dict(p)) for p in paths), names, ref_desc, hint)


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


# ---------------------------------------------------------------------------------------------
# fusion and metrics
def row_softmax(matrix: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32 (a new array)."""
    out = np.asarray(matrix, dtype=np.float32) - np.max(matrix, axis=1, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def check_weights(weights: Sequence[float] | None, count: int) -> np.ndarray:
    """float64 weights, one per stream (default all 1); finite, non-negative, not all zero."""
    w = np.ones(count) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != count:
        raise ConfigError(f"weights: {len(w)} values for {count} score matrices")
    if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
        raise ConfigError(f"weights: expected finite, non-negative values, not all zero; got {w.tolist()}")
    return w


def fuse(
    matrices: Sequence[np.ndarray], weights: Sequence[float] | None = None, softmax: bool = False
) -> np.ndarray:
    """Weighted sum of aligned (N, C) score matrices -> (N, C) float32.

    Raw scores by default (2s-AGCN); ``softmax=True`` converts each matrix to probabilities first.
    """
    w = check_weights(weights, len(matrices))
    shape = matrices[0].shape
    out = np.zeros(shape, dtype=np.float32)
    tmp = np.empty(shape, dtype=np.float32) if (w != 1).any() else None
    for m, wi in zip(matrices, w):
        if m.shape != shape:
            raise DataError(f"fuse: score matrices of shapes {shape} and {m.shape}; align them first")
        if wi == 0:
            continue
        x = row_softmax(m) if softmax else m
        if wi == 1:
            out += x
        else:
            np.multiply(x, np.float32(wi), out=tmp)
            out += tmp
    return out


def evaluate(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """top-1 (argmax), top-5 and mean-class accuracy (fractions) and the sample count N."""
    labels = np.asarray(labels, dtype=np.int64)
    cm = confusion_matrix(labels, scores.argmax(axis=1), scores.shape[1])
    return {
        "top1": float(np.trace(cm) / max(len(labels), 1)),
        "top5": topk_accuracy(scores, labels, 5),
        "mean_class": mean_class_accuracy(cm),
        "N": len(labels),
    }


# ---------------------------------------------------------------------------------------------
# weight search
@dataclass
class SearchResult:
    """Best weights (first stream scaled to 1 where it is used) and validation top-1 accuracies."""

    weights: np.ndarray
    top1: float
    uniform_top1: float
    method: str
    evaluated: int


def _normalize(w: np.ndarray) -> np.ndarray:
    """Scale so that the first weight is 1 (or the largest, if the first is ~0); 3 decimals."""
    w = np.maximum(np.asarray(w, dtype=np.float64), 0.0)
    return np.round(w / (w[0] if w[0] >= 0.01 * w.max() else w.max()), 3)


def _distance_to_uniform(w: np.ndarray) -> float:
    return float(np.linalg.norm(w / w.mean() - 1.0))


def _fit_nll(flat: np.ndarray, labels: np.ndarray, num_class: int) -> np.ndarray | None:
    """L-BFGS-B on the mean negative log-likelihood of softmax(sum_i w_i x_i), w >= 0."""
    from scipy.optimize import minimize

    s, n = flat.shape[0], len(labels)
    at_label = flat.reshape(s, n, num_class)[:, np.arange(n), labels].astype(np.float64)  # (S, N)
    mean_at_label = at_label.mean(axis=1)

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        f = np.dot(w.astype(np.float32), flat).reshape(n, num_class)
        top = f.max(axis=1, keepdims=True)
        f -= top
        np.exp(f, out=f)
        z = f.sum(axis=1, keepdims=True)
        f /= z
        lse = np.log(z[:, 0].astype(np.float64)) + top[:, 0]
        value = float(np.mean(lse - w @ at_label))
        grad = np.dot(flat, f.reshape(-1)).astype(np.float64) / n - mean_at_label
        return value, grad

    res = minimize(nll, np.ones(s), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * s)
    return res.x if np.isfinite(res.x).all() and (res.x > 0).any() else None


def search_weights(
    val_matrices: Sequence[np.ndarray],
    val_labels: np.ndarray,
    softmax: bool = False,
    grid: Sequence[float] = DEFAULT_GRID,
    max_grid: int = 2000,
    optimize: bool = True,
) -> SearchResult:
    """Weights that maximise validation top-1 of :func:`fuse`.

    Candidates: uniform weights; a grid over ``grid`` for every stream but the first (fixed to 1),
    coarsened to (0, 1, 2) or dropped beyond ``max_grid`` points; and, with ``optimize``, the
    minimiser of the fused softmax's negative log-likelihood. Ties go to the weights closest to uniform.
    """
    labels = np.asarray(val_labels, dtype=np.int64)
    s, (n, c) = len(val_matrices), val_matrices[0].shape
    x = np.stack([row_softmax(m) if softmax else np.asarray(m, np.float32) for m in val_matrices])
    flat = x.reshape(s, n * c)
    candidates, methods = [np.ones(s)], ["uniform"]
    if s > 1:
        for values in (tuple(grid), (0.0, 1.0, 2.0)):
            if len(values) ** (s - 1) <= max_grid:
                candidates += [np.array((1.0, *p)) for p in itertools.product(values, repeat=s - 1)]
                methods.append(f"grid {len(values)}^{s - 1}")
                break
        if optimize:
            w = _fit_nll(flat, labels, c)
            if w is not None:
                candidates.append(w)
                methods.append("L-BFGS-B on the fused log-likelihood")
    unique = {tuple(_normalize(w)) for w in candidates if np.asarray(w).max() > 0}
    best_key, best_w, uniform_correct = None, None, None
    for w in sorted(unique):  # sorted: a full tie (same hits, same distance) has a fixed winner
        w = np.array(w)
        correct = int((np.dot(w.astype(np.float32), flat).reshape(n, c).argmax(axis=1) == labels).sum())
        if np.all(w == 1.0):
            uniform_correct = correct
        key = (correct, -_distance_to_uniform(w))
        if best_key is None or key > best_key:
            best_key, best_w = key, w
    return SearchResult(
        weights=best_w,
        top1=best_key[0] / n,
        uniform_top1=uniform_correct / n,
        method=" + ".join(methods),
        evaluated=len(unique),
    )


# ---------------------------------------------------------------------------------------------
# discovery
@dataclass
class Job:
    """What to fuse for one benchmark: test score files, their label file, optional validation files."""

    files: list[ScoreFile]
    labels: Path
    dataset: str | None = None
    val_files: list[Path] | None = None
    val_labels: Path | None = None
    notes: list[str] = field(default_factory=list)


def _file_order(f: ScoreFile) -> tuple:
    """By model, then joint, joint_motion, bone, bone_motion (the order of the 2:1:2:1 weights), then name."""
    rank = STREAM_ORDER.index(f.stream) if f.stream in STREAM_ORDER else len(STREAM_ORDER)
    return (f.model or "", rank, f.stream or "", str(f.path))


def discover(
    datasets: Sequence[str],
    work_root: str | Path = "./work_dir",
    data_root: str | Path = "./data",
    models: Sequence[str] | None = None,
    streams: Sequence[str] | None = None,
) -> list[Job]:
    """Test score files ``<work_root>/<dataset>/<model>_test_<stream>/epoch1_test_score.pkl`` and the label
    file ``<data_root>/<dataset>/val_label.pkl`` of every dataset.

    Files are ordered by model, then joint, joint_motion, bone, bone_motion, then other streams by name.
    """
    jobs = []
    for ds in datasets:
        pattern = Path(work_root) / ds / "*_test_*" / TEST_SCORE
        found = [ScoreFile.from_path(p) for p in Path(work_root, ds).glob(f"*_test_*/{TEST_SCORE}")]
        files = sorted(found, key=_file_order)
        files = [
            f for f in files if (not models or f.model in models) and (not streams or f.stream in streams)
        ]
        if not files:
            filters = "".join(
                f"; {name} {' '.join(v)}" for name, v in (("models", models), ("streams", streams)) if v
            )
            raise DataError(
                f"{ds}: no score files match {pattern}{filters}; run the benchmark's test configs first "
                "or name the files with --scores"
            )
        jobs.append(Job(files, Path(data_root) / ds / "val_label.pkl", dataset=ds))
    return jobs


def discover_val(
    dataset: str, files: Sequence[ScoreFile], work_root: str | Path = "./work_dir"
) -> list[Path]:
    """For each test score file, the latest ``epoch<E>_val_score.pkl`` of its training run
    ``<work_root>/<dataset>/<model>_<stream>/`` (written when training has ``val_fraction > 0``)."""
    val_files = []
    for f in files:
        folder = Path(work_root) / dataset / f"{f.model}_{f.stream}"
        found = []
        for p in folder.glob("epoch*_val_score.pkl"):
            epoch = p.name[len("epoch") : -len("_val_score.pkl")]
            if epoch.isdigit():
                found.append((int(epoch), p))
        if not found:
            raise DataError(
                f"{f.path}: no validation scores for the weight search ({folder}/epoch*_val_score.pkl); "
                "train with val_fraction > 0, pass --val-scores, or search on the test set (--search-on-test)"
            )
        val_files.append(max(found)[1])
    return val_files


# ---------------------------------------------------------------------------------------------
# command line
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ensemble.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "default weights: raw logits, 1 per stream (2s-AGCN). --preset 4s: joint 2, joint_motion 1, "
            "bone 2, bone_motion 1.\nexit status: 0 on success, 2 on bad input (one 'error: ...' line)."
        ),
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--datasets",
        nargs="+",
        metavar="DATASET",
        help="benchmarks, e.g. ntu/xsub ntu120/xset120 (default ntu/xsub): score files <work-root>/<dataset>/*_test_*/epoch1_test_score.pkl, labels <data-root>/<dataset>/val_label.pkl",
    )
    src.add_argument(
        "--scores",
        nargs="+",
        type=Path,
        metavar="PKL",
        help="score pickles {name: logits} to fuse (needs --labels)",
    )
    p.add_argument(
        "--labels", type=Path, metavar="PKL", help="label pickle (names, labels) of the scored samples"
    )
    p.add_argument("--work-root", type=Path, default=Path("./work_dir"), help="default ./work_dir")
    p.add_argument("--data-root", type=Path, default=Path("./data"), help="default ./data")
    p.add_argument(
        "--models", nargs="+", metavar="MODEL", help="with --datasets: only these models (folder prefix)"
    )
    p.add_argument(
        "--streams",
        nargs="+",
        metavar="STREAM",
        help=f"with --datasets: only these streams ({', '.join(STREAMS)})",
    )
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per score file, in the order of the table (--datasets: joint, joint_motion, bone, bone_motion per model)",
    )
    w.add_argument(
        "--alpha", type=float, help="two files: weights 1 and ALPHA (2s-AGCN's joint + alpha * bone)"
    )
    w.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="2s: joint 1, bone 1; 4s: joint 2, joint_motion 1, bone 2, bone_motion 1 (by stream name)",
    )
    w.add_argument(
        "--search",
        action="store_true",
        help="search the weights on validation scores, then apply them to the test scores",
    )
    w.add_argument(
        "--search-on-test",
        action="store_true",
        help="search the weights on the test labels (optimistically biased; prints a warning)",
    )
    p.add_argument(
        "--val-scores",
        nargs="+",
        type=Path,
        metavar="PKL",
        help="--search: validation score pickles, same order as the test files (default: latest epoch*_val_score.pkl of <model>_<stream>)",
    )
    p.add_argument(
        "--val-labels",
        type=Path,
        metavar="PKL",
        help="--search: label pickle covering the validation names (default <data-root>/<dataset>/train_label.pkl)",
    )
    p.add_argument("--softmax", action="store_true", help="softmax each stream before the weighted sum")
    p.add_argument("--csv", type=Path, help="write the accuracy table as CSV (fractions)")
    p.add_argument("--per-class-csv", type=Path, metavar="CSV", help="per-class accuracy of the fusion")
    p.add_argument("--confusion-png", type=Path, metavar="PNG", help="confusion matrix of the fusion")
    p.add_argument(
        "--label-map",
        help="class names for the per-class outputs: a file or a shipped map (default by class count)",
    )
    p.add_argument(
        "--out", type=Path, metavar="PKL", help="write the fused scores {name: float32 (num_class,)}"
    )
    return p


def _jobs(args: argparse.Namespace) -> list[Job]:
    if args.scores:
        if args.labels is None:
            raise ConfigError("--scores needs --labels (the label pickle of the scored samples)")
        if args.models or args.streams:
            raise ConfigError("--models/--streams filter what --datasets finds; list the files with --scores")
        jobs = [Job([ScoreFile.from_path(p) for p in args.scores], args.labels)]
    else:
        datasets = args.datasets or ["ntu/xsub"]
        if len(datasets) > 1 and (args.labels or args.val_scores or args.val_labels):
            raise ConfigError("--labels, --val-scores and --val-labels apply to one dataset at a time")
        jobs = discover(datasets, args.work_root, args.data_root, args.models, args.streams)
        for job in jobs:
            job.labels = args.labels or job.labels
            pattern = Path(args.work_root, job.dataset, "*_test_*", TEST_SCORE)
            job.notes.append(
                f"{job.dataset}: {len(job.files)} score file(s) match {pattern}; labels {job.labels}"
            )
    if (args.val_scores or args.val_labels) and not args.search:
        raise ConfigError("--val-scores and --val-labels are the validation data of --search")
    for job in jobs:
        if not args.search:
            continue
        job.val_labels = args.val_labels
        if job.val_labels is None and job.dataset is not None:
            job.val_labels = Path(args.data_root) / job.dataset / "train_label.pkl"
        if args.val_scores:
            if len(args.val_scores) != len(job.files):
                raise ConfigError(
                    f"--val-scores: {len(args.val_scores)} files for {len(job.files)} test score files, "
                    f"which are in this order: {_numbered(job.files)}"
                )
            job.val_files = list(args.val_scores)
        elif job.dataset is None:
            raise ConfigError("--search with --scores needs --val-scores (same order) and --val-labels")
        else:
            job.val_files = discover_val(job.dataset, job.files, args.work_root)
        if job.val_labels is None:
            raise ConfigError(
                "--search needs --val-labels (the label pickle covering the validation samples)"
            )
    return jobs


def _numbered(files: Sequence[ScoreFile]) -> str:
    return ", ".join(f"{i + 1}. {f.path}" for i, f in enumerate(files))


def resolve_weights(args: argparse.Namespace, files: Sequence[ScoreFile]) -> np.ndarray:
    """Weights from --weights, --alpha or --preset (default: 1 for every file)."""
    n = len(files)
    if args.weights is not None:
        if len(args.weights) != n:
            raise ConfigError(
                f"--weights: {len(args.weights)} values for {n} score files (in this order: {_numbered(files)})"
            )
        return check_weights(args.weights, n)
    if args.alpha is not None:
        if n != 2:
            raise ConfigError(f"--alpha: needs exactly two score files, got {n} ({_numbered(files)})")
        return check_weights([1.0, args.alpha], n)
    if args.preset:
        table = PRESETS[args.preset]
        unknown = [f for f in files if f.stream not in table]
        if unknown:
            raise ConfigError(
                f"--preset {args.preset}: weights exist for streams {', '.join(table)}; "
                f"no known stream for {', '.join(f'{f.path} ({f.stream})' for f in unknown)}"
            )
        return check_weights([table[f.stream] for f in files], n)
    return np.ones(n)


def _load_validation(job: Job) -> tuple[list[np.ndarray], np.ndarray]:
    names, labels = load_labels(job.val_labels)
    first = _read_score_dict(job.val_files[0])
    val_names = list(first)
    lookup = dict(zip(names, labels.tolist()))
    missing = [n for n in val_names if n not in lookup]
    if missing:
        raise DataError(
            f"{job.val_files[0]}: {len(missing)} validation samples are not in {job.val_labels} ({_few(missing)})"
        )
    y = np.fromiter(map(lookup.__getitem__, val_names), np.int64, len(val_names))
    rest = ((p, _read_score_dict(p)) for p in job.val_files[1:])
    matrices = _aligned(
        itertools.chain([(job.val_files[0], first)], rest),
        val_names,
        ref_desc=str(job.val_files[0]),
        hint="the validation splits differ (train every stream with the same seed and val_fraction)",
    )
    check_labels(y, matrices[0].shape[1], val_names, job.val_labels)
    return matrices, y


def _fmt_weights(w: np.ndarray) -> str:
    return ":".join(f"{v:g}" for v in w)


def _tagged(path: Path | None, job: Job, many: bool) -> Path | None:
    if path is None or not many:
        return path
    return path.with_name(f"{path.stem}.{job.dataset.replace('/', '-')}{path.suffix}")


def run_job(args: argparse.Namespace, job: Job, many: bool) -> pd.DataFrame:
    """Load, align, (search,) fuse and evaluate one job; print its table; write its outputs."""
    for note in job.notes:
        print(note)
    names, labels = load_labels(job.labels)
    matrices = load_aligned([f.path for f in job.files], names, ref_desc=f"the label file {job.labels}")
    num_class = matrices[0].shape[1]
    check_labels(labels, num_class, names, job.labels)
    weights = resolve_weights(args, job.files)
    rows = [
        {
            "model": f.model or "-",
            "stream": f.stream or "-",
            "file": str(f.path),
            "weight": w,
            **evaluate(m, labels),
        }
        for f, m, w in zip(job.files, matrices, weights)
    ]
    uniform = None
    if args.search or args.search_on_test:
        if args.search_on_test:
            print(WARNING, file=sys.stderr)
            val, val_y, where = matrices, labels, f"the TEST labels {job.labels}"
        else:
            val, val_y = _load_validation(job)
            where = f"validation scores ({job.val_labels})"
        res = search_weights(val, val_y, softmax=args.softmax)
        print(
            f"weight search on {where}, {len(val_y)} samples, {res.evaluated} candidates ({res.method}): "
            f"best {_fmt_weights(res.weights)} top-1 {100 * res.top1:.2f}% (uniform: {100 * res.uniform_top1:.2f}%)"
        )
        weights = res.weights
        for row, w in zip(rows, weights):
            row["weight"] = w
        uniform = evaluate(fuse(matrices, None, args.softmax), labels)
    fused = fuse(matrices, weights, args.softmax)
    label = "fusion" + (" (softmax)" if args.softmax else "")
    streams = "+".join(f.stream or "?" for f in job.files)
    out_path = _tagged(args.out, job, many)
    rows.append(
        {
            "model": label,
            "stream": streams,
            "file": str(out_path or ""),
            "weight": np.nan,
            **evaluate(fused, labels),
        }
    )
    if uniform is not None:
        rows.append({"model": label + " 1:1", "stream": streams, "file": "", "weight": np.nan, **uniform})
    table = pd.DataFrame(rows)
    if job.dataset is not None:
        table.insert(0, "dataset", job.dataset)
    print(_render(table))
    if args.search_on_test:
        print(WARNING, file=sys.stderr)
    _write_outputs(args, job, many, names, labels, fused)
    return table


WARNING = (
    "WARNING: the fusion weights were searched on the test labels; the fused test accuracy is "
    "optimistically biased and is not a fair result to report"
)


def _render(table: pd.DataFrame) -> str:
    shown = table.copy()
    for col in ("top1", "top5", "mean_class"):
        shown[col] = [f"{100 * v:.2f}" for v in table[col]]
    shown["weight"] = ["" if np.isnan(v) else f"{v:g}" for v in table["weight"]]
    return shown.to_string(index=False) + "\n(accuracy in %)"


def _write_outputs(
    args, job: Job, many: bool, names: list[str], labels: np.ndarray, fused: np.ndarray
) -> None:
    out, per_class, png = (_tagged(p, job, many) for p in (args.out, args.per_class_csv, args.confusion_png))
    if out is not None:
        save_pickle(dict(zip(names, fused)), out)
        print(f"wrote {out}")
    if per_class is None and png is None:
        return
    from engine.builder import class_names  # imports torch: only when class names are needed

    num_class = fused.shape[1]
    classes = class_names(args.label_map, num_class) or [str(i) for i in range(num_class)]
    cm = confusion_matrix(labels, fused.argmax(axis=1), num_class)
    if per_class is not None:
        save_text(per_class_table(cm, classes).to_csv(index=False, float_format="%.4f"), per_class)
        print(f"wrote {per_class}")
    if png is not None:
        from engine.plots import plot_confusion

        plot_confusion(cm, png, classes, title=f"fusion: {job.dataset or 'ensemble'}")
        print(f"wrote {png}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (2 with an ``error:`` line on bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        jobs = _jobs(args)
        tables = [run_job(args, job, len(jobs) > 1) for job in jobs]
        if args.csv is not None:
            save_text(pd.concat(tables).to_csv(index=False, float_format="%.6f"), args.csv)
            print(f"wrote {args.csv}")
    except (DataError, ConfigError, OSError) as exc:  # OSError: e.g. an output folder that is not writable
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
