"""Late fusion of per-stream scores: weights, presets, weight search, discovery of a benchmark's
score files, and one fusion job with its table and outputs. ``ensemble.py`` is the command line over
this module; other code (experiments, tests) calls it directly.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.metrics import confusion_matrix, mean_class_accuracy, per_class_table, topk_accuracy
from engine.scores import (
    _aligned,
    _few,
    check_labels,
    load_aligned,
    load_labels,
    read_scores,
    save_scores,
    score_classes,
)
from feeders.streams import STREAMS
from utils.errors import ConfigError, DataError
from utils.io import save_text

TEST_SCORE = "epoch1_test_score.pkl"
PRESETS: dict[str, dict[str, float]] = {
    "2s": {"joint": 1.0, "bone": 1.0},  # 2s-AGCN
    "4s": {"joint": 2.0, "joint_motion": 1.0, "bone": 2.0, "bone_motion": 1.0},
    # PoseC3D keypoint + limb heatmap volumes, 1:1 as in MMAction2's zoo (93.6% + 93.5% -> 94.0%, NTU60 xsub)
    "posec3d": {"keypoint": 1.0, "limb": 1.0},
    # the four GCN streams with PoseC3D's two, each heatmap stream weighted like joint and bone
    "6s": {"joint": 2.0, "joint_motion": 1.0, "bone": 2.0, "bone_motion": 1.0, "keypoint": 2.0, "limb": 2.0},
}
PROBABILITY_STREAMS = ("keypoint", "limb")  # PoseC3D writes clip-averaged log-probabilities, not logits
DEFAULT_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
STREAM_ORDER = (
    "joint",
    "joint_motion",
    "bone",
    "bone_motion",
    "keypoint",
    "limb",
)  # order of discovered files per model


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
    file of every dataset's test set (:func:`test_labels`).

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
        jobs.append(Job(files, test_labels(Path(data_root) / ds), dataset=ds))
    return jobs


def test_labels(folder: str | Path) -> Path:
    """The test set's label file of a data folder: ``test_label.pkl`` when the data have a test part
    (``custom_gendata.py``: train / val / test), else ``val_label.pkl`` (2s-AGCN's naming: NTU's,
    Kinetics' and NW-UCLA's ``val`` part is their test set)."""
    folder = Path(folder)
    return folder / "test_label.pkl" if (folder / "test_label.pkl").is_file() else folder / "val_label.pkl"


def validation_labels(folder: str | Path, val_file: str | Path | None = None) -> Path:
    """The label file covering a training run's validation scores ``val_file``: the data's
    ``val_label.pkl`` when it has a test part too and the scores are of its samples (training with
    ``val_feeder_args``), else ``train_label.pkl`` (a ``val_fraction`` split of the training set)."""
    folder = Path(folder)
    val, train = folder / "val_label.pkl", folder / "train_label.pkl"
    if not ((folder / "test_label.pkl").is_file() and val.is_file()):
        return train
    if val_file is None or not train.is_file():
        return val
    names = set(read_scores(val_file)[0])
    return val if names <= set(load_labels(val)[0]) else train


def discover_val(
    dataset: str, files: Sequence[ScoreFile], work_root: str | Path = "./work_dir"
) -> list[Path]:
    """For each test score file, the latest ``epoch<E>_val_score.pkl`` of its training run
    ``<work_root>/<dataset>/<model>_<stream>/`` (written when training has a validation set:
    ``val_feeder_args`` or ``val_fraction > 0``)."""
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
                "train with a validation set (val_feeder_args or val_fraction > 0), pass --val-scores, or search "
                "on the test set (--search-on-test)"
            )
        val_files.append(max(found)[1])
    return val_files


# ---------------------------------------------------------------------------------------------
# one fusion job
@dataclass
class FusionOptions:
    """How to fuse (the options of ``ensemble.py``): weights, search, softmax and output files."""

    weights: Sequence[float] | None = None  # one per score file
    alpha: float | None = None  # two files: 1 and alpha
    preset: str | None = None  # a PRESETS name: weights by stream
    search: bool = False  # weights searched on the validation scores
    search_on_test: bool = False  # ... on the test labels (biased; warns)
    softmax: bool = False  # softmax each stream before the weighted sum
    out: Path | None = None  # fused scores
    per_class_csv: Path | None = None
    confusion_png: Path | None = None
    label_map: str | None = None  # class names (default: found beside the data or by class count)

    @classmethod
    def from_namespace(cls, args: object) -> FusionOptions:
        return cls(**{f: getattr(args, f) for f in cls.__dataclass_fields__ if hasattr(args, f)})


def _numbered(files: Sequence[ScoreFile]) -> str:
    return ", ".join(f"{i + 1}. {f.path}" for i, f in enumerate(files))


def resolve_weights(args: FusionOptions, files: Sequence[ScoreFile]) -> np.ndarray:
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
    val_names, first = read_scores(job.val_files[0])
    lookup = dict(zip(names, labels.tolist()))
    missing = [n for n in val_names if n not in lookup]
    if missing:
        raise DataError(
            f"{job.val_files[0]}: {len(missing)} validation samples are not in {job.val_labels} ({_few(missing)})"
        )
    y = np.fromiter(map(lookup.__getitem__, val_names), np.int64, len(val_names))
    rest = ((p, *read_scores(p)) for p in job.val_files[1:])
    matrices = _aligned(
        itertools.chain([(job.val_files[0], val_names, first)], rest),
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


def run_job(args: FusionOptions, job: Job, many: bool) -> pd.DataFrame:
    """Load, align, (search,) fuse and evaluate one job; print its table; write its outputs."""
    for note in job.notes:
        print(note)
    names, labels = load_labels(job.labels)
    matrices = load_aligned([f.path for f in job.files], names, ref_desc=f"the label file {job.labels}")
    num_class = matrices[0].shape[1]
    check_labels(labels, num_class, names, job.labels)
    weights = resolve_weights(args, job.files)
    kinds = {f.stream in PROBABILITY_STREAMS for f in job.files}
    if len(kinds) == 2 and not args.softmax:
        print(
            "note: PoseC3D streams (keypoint, limb) hold log-probabilities and the others logits; "
            "--softmax puts them on one scale before the weighted sum",
            file=sys.stderr,
        )
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


def fusion_class_names(label_map: str | None, files: Sequence[ScoreFile], num_class: int) -> list[str]:
    """Class names for reports: ``label_map`` (a file or a shipped map), else the names the test runs
    recorded with their scores, else the shipped map for the class count, else the indices."""
    if label_map is None:
        for f in files:
            recorded = score_classes(f.path)
            if recorded is not None and len(recorded) == num_class:
                return recorded
    from engine.builder import class_names  # imports torch: only when needed

    return class_names(label_map, num_class) or [str(i) for i in range(num_class)]


def _write_outputs(
    args: FusionOptions, job: Job, many: bool, names: list[str], labels: np.ndarray, fused: np.ndarray
) -> None:
    out, per_class, png = (_tagged(p, job, many) for p in (args.out, args.per_class_csv, args.confusion_png))
    if out is not None:
        save_scores(names, fused, out)
        print(f"wrote {out}")
    if per_class is None and png is None:
        return
    num_class = fused.shape[1]
    classes = fusion_class_names(args.label_map, job.files, num_class)
    cm = confusion_matrix(labels, fused.argmax(axis=1), num_class)
    if per_class is not None:
        save_text(per_class_table(cm, classes).to_csv(index=False, float_format="%.4f"), per_class)
        print(f"wrote {per_class}")
    if png is not None:
        from engine.plots import plot_confusion

        plot_confusion(cm, png, classes, title=f"fusion: {job.dataset or 'ensemble'}")
        print(f"wrote {png}")
