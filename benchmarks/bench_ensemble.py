"""Speed of ``ensemble.py``: fusing four streams of 120,000 samples x 120 classes (target: well under 2 s).

Four score pickles ``{name: float32 logits (120,)}`` with NTU-120 style names (by default each in its
own shuffled order, see ``--order``) and a label pickle are written to a temporary folder. Three
things are timed, each ``--repeats`` times (median wall-clock and CPU seconds reported):

* ``load+align+fuse+metrics``: read the label file and the four pickles (restricted unpickler), align
  them by name, check them, fuse, and compute top-1 / top-5 / mean-class accuracy of every stream and
  of the fusion (what ``ensemble.py`` does before it prints);
* ``fuse+metrics``: the same on matrices already in memory;
* ``cli``: ``ensemble.main([...])`` in this process, table printing included (output discarded);
* ``command``: the whole ``python ensemble.py ...`` command (interpreter start and imports included).

    python benchmarks/bench_ensemble.py                  # 4 x 120,000 x 120, 5 repeats, worst-case orders
    python benchmarks/bench_ensemble.py --order label    # files already in label order
    python benchmarks/bench_ensemble.py --samples 20000 --repeats 3 --softmax
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ensemble  # noqa: E402
from engine import fusion, scores  # noqa: E402
from utils.io import save_label_file, save_pickle  # noqa: E402


def sample_name(i: int) -> str:
    """A distinct NTU-120 style name for every i < 2,442,240."""
    action, rep, cam = i % 120 + 1, (i // 120) % 2 + 1, (i // 240) % 3 + 1
    subject, setup = (i // 720) % 106 + 1, (i // 76_320) % 32 + 1
    return f"S{setup:03d}C{cam:03d}P{subject:03d}R{rep:03d}A{action:03d}.skeleton"


def build(
    folder: Path,
    samples: int,
    classes: int,
    streams: int,
    order: str = "shuffled",
    seed: int = 0,
    native: bool = True,
) -> tuple[list[Path], Path]:
    """Write ``streams`` score pickles (label-correlated logits) and a label pickle.

    ``order``: ``shuffled`` (every file its own random sample order: the worst case), ``shared`` (one
    random order for all files, as when the test runs iterate the data the same way), ``label`` (the
    label file's order).
    """
    rng = np.random.default_rng(seed)
    shared = rng.permutation(samples)
    names = [sample_name(i) for i in range(samples)]
    labels = rng.integers(0, classes, samples)
    save_label_file(names, labels.tolist(), folder / "val_label.pkl")
    paths = []
    for s in range(streams):
        logits = rng.normal(size=(samples, classes)).astype(np.float32)
        logits[np.arange(samples), labels] += 1.5
        rows = {"shuffled": rng.permutation(samples), "shared": shared, "label": np.arange(samples)}[order]
        path = folder / f"model_test_stream{s}" / "epoch1_test_score.pkl"
        if native:  # what test runs write: the pickle and the fast .npz beside it
            scores.save_scores([names[i] for i in rows], logits[rows], path)
        else:  # 2s-AGCN's pickle only
            save_pickle({names[i]: logits[i] for i in rows}, path)
        paths.append(path)
    return paths, folder / "val_label.pkl"


def full(paths: list[Path], label_path: Path, weights: list[float], softmax: bool) -> float:
    names, labels = scores.load_labels(label_path)
    matrices = scores.load_aligned(paths, names)
    scores.check_labels(labels, matrices[0].shape[1], names, label_path)
    return fuse_and_score(matrices, labels, weights, softmax)


def fuse_and_score(
    matrices: list[np.ndarray], labels: np.ndarray, weights: list[float], softmax: bool
) -> float:
    for m in matrices:
        fusion.evaluate(m, labels)
    return fusion.evaluate(fusion.fuse(matrices, weights, softmax), labels)["top1"]


def timed(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds of each call (CPU time is the steadier one on a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=120_000)
    ap.add_argument("--classes", type=int, default=120)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--softmax", action="store_true")
    ap.add_argument("--order", choices=("shuffled", "shared", "label"), default="shuffled")
    ap.add_argument(
        "--format",
        choices=("native", "pickle"),
        default="native",
        help="native: pickle + .npz as test runs write them (default); pickle: 2s-AGCN's pickle only",
    )
    args = ap.parse_args()
    weights = [2.0, 1.0, 2.0, 1.0][: args.streams] + [1.0] * max(0, args.streams - 4)
    with tempfile.TemporaryDirectory(prefix="bench_ensemble.") as tmp:
        t0 = time.perf_counter()
        paths, label_path = build(
            Path(tmp), args.samples, args.classes, args.streams, args.order, native=args.format == "native"
        )
        print(f"built {args.streams} score files in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        names, labels = scores.load_labels(label_path)
        matrices = scores.load_aligned(paths, names)
        argv = ["--scores", *map(str, paths), "--labels", str(label_path), "--weights", *map(str, weights)]
        argv += ["--softmax"] if args.softmax else []

        def cli() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                assert ensemble.main(argv) == 0

        results = {
            "load+align+fuse+metrics": timed(
                lambda: full(paths, label_path, weights, args.softmax), args.repeats
            ),
            "fuse+metrics": timed(
                lambda: fuse_and_score(matrices, labels, weights, args.softmax), args.repeats
            ),
            "cli": timed(cli, args.repeats),
            "command": timed(
                lambda: subprocess.run(
                    [sys.executable, str(ROOT / "ensemble.py"), *argv], check=True, capture_output=True
                ),
                args.repeats,
            ),
        }
    report = {
        "samples": args.samples,
        "classes": args.classes,
        "streams": args.streams,
        "softmax": args.softmax,
        "order": args.order,
        "format": args.format,
        "repeats": args.repeats,
        "threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "median_wall_s": {k: round(statistics.median(w), 3) for k, (w, _) in results.items()},
        "min_wall_s": {k: round(min(w), 3) for k, (w, _) in results.items()},
        "median_cpu_s": {k: round(statistics.median(c), 3) for k, (_, c) in results.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
