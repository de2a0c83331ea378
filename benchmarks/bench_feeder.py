"""Samples per second the feeder produces, per stream and sampler, in one DataLoader worker (or N).

A synthetic NTU-shaped dataset (N, 3, 300, 25, 2) float32 is written to a temporary folder: clips of
60-300 non-empty frames, a second person in half of them, zeros after the end (like
``ntu_gendata.py`` output before its padding). The bone and motion files are derived from it with the
same code as ``gen_bone_data.py`` / ``gen_motion_data.py``. Then, for every case, a
``torch.utils.data.DataLoader`` with ``--workers`` workers (batch ``--batch``, shuffled, the engine's
settings) is drained over ``--samples`` samples after one warm-up batch; samples/s is what the
workers deliver to the training loop (collation included). Cases:

* ``joint``, ``bone``, ``joint_motion``, ``bone_motion`` read from their own files (``file``) or
  computed from the joint file on the fly (``on the fly``), 300 frames, no augmentation (2s-AGCN's
  NTU configs);
* ``joint + 2s-AGCN augmentation``: ``random_choose`` + ``random_shift`` + ``random_move``, window 300;
* ``SGN sampler``: ``sampler: {seg: 20, rotation: 0.3}`` (SGN / ImpSGNv2 training), and its test
  form with 5 clips.

The file is read memory-mapped, so after the first epoch it comes from the page cache.

    python benchmarks/bench_feeder.py                          # one worker, 3,000 samples per case
    python benchmarks/bench_feeder.py --workers 4 --pin-memory
    python benchmarks/bench_feeder.py --tiny                   # a quick end-to-end check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.runtime import worker_init_fn  # noqa: E402
from feeders.feeder import Feeder  # noqa: E402
from feeders.streams import make_stream  # noqa: E402
from utils.io import save_label_file  # noqa: E402

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


def make_dataset(folder: Path, n: int, frames: int, seed: int = 0) -> dict[str, Path]:
    """Write ``{stream}.npy`` (N, 3, frames, 25, 2) and ``label.pkl``; returns the paths."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    joint = np.zeros((n, 3, frames, 25, 2), dtype=np.float32)
    for i in range(n):
        length = int(rng.integers(frames // 5, frames + 1))
        persons = 2 if i % 2 else 1
        walk = rng.normal(0, 0.01, (3, length, 25, persons)).cumsum(axis=1)
        joint[i, :, :length, :, :persons] = walk + rng.normal(0, 0.3, (3, 1, 25, persons))
    paths = {"label": folder / "label.pkl"}
    save_label_file(
        [f"S001C001P001R001A{i % 60 + 1:03d}_{i}" for i in range(n)],
        [i % 60 for i in range(n)],
        paths["label"],
    )
    for stream in STREAMS:
        paths[stream] = folder / f"{stream}.npy"
        np.save(paths[stream], make_stream(joint, stream, layout="ntu_rgb_d"))
    return paths


def cases(paths: dict[str, Path], frames: int) -> list[tuple[str, str, dict]]:
    """(stream, how, feeder kwargs) for every measured case."""
    out = []
    for stream in STREAMS:
        out.append((stream, "file", dict(data_path=paths[stream])))
        if stream != "joint":
            out.append(
                (stream, "on the fly", dict(data_path=paths["joint"], stream=stream, layout="ntu_rgb_d"))
            )
    out.append(("joint", "2s-AGCN augmentation", dict(data_path=paths["joint"], random_choose=True,
                random_shift=True, random_move=True, window_size=frames)))  # fmt: skip
    out.append(
        ("joint", "SGN sampler (train)", dict(data_path=paths["joint"], sampler={"seg": 20, "rotation": 0.3}))
    )
    out.append(("joint", "SGN sampler (test, 5 clips)", dict(data_path=paths["joint"],
                sampler={"seg": 20, "num_clips": 5, "random": False})))  # fmt: skip
    out.append(("bone", "SGN sampler (train), on the fly", dict(data_path=paths["joint"], stream="bone",
                layout="ntu_rgb_d", sampler={"seg": 20, "rotation": 0.3})))  # fmt: skip
    return out


def measure(feeder: Feeder, samples: int, batch: int, workers: int, pin: bool) -> float:
    """Samples/s the DataLoader delivers over ``samples`` samples (after one warm-up batch)."""
    loader = DataLoader(feeder, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers,
                        worker_init_fn=worker_init_fn if workers else None, pin_memory=pin,
                        persistent_workers=False)  # fmt: skip
    it = iter(loader)
    next(it)
    done, start = 0, time.perf_counter()
    while done < samples:
        try:
            data, _, _ = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        done += len(data)
    return done / (time.perf_counter() - start)


def run(args: argparse.Namespace, work: Path) -> list[dict]:
    n = args.n or (2 * args.samples + 2 * args.batch)
    paths = make_dataset(work, n, args.frames)
    rows = []
    for stream, how, kwargs in cases(paths, args.frames):
        feeder = Feeder(
            label_path=str(paths["label"]),
            **{k: (str(v) if k == "data_path" else v) for k, v in kwargs.items()},
        )
        best = max(
            measure(feeder, args.samples, args.batch, args.workers, args.pin_memory)
            for _ in range(args.repeats)
        )
        rows.append({"stream": stream, "how": how, "samples_per_s": best, "workers": args.workers})
        print(f"  {stream:13s} {how:32s} {best:9.0f} samples/s", flush=True)
    return rows


def markdown(rows: list[dict], args: argparse.Namespace, load: tuple[str, str]) -> str:
    lines = [
        f"Feeder throughput, (N, 3, {args.frames}, 25, 2) float32 memory-mapped, batch {args.batch}, "
        f"{args.workers} DataLoader worker(s){', pinned memory' if args.pin_memory else ''}; best of "
        f"{args.repeats}; load average {load[0]} before, {load[1]} after.",
        "",
        "| stream | source | samples/s |",
        "| --- | --- | ---: |",
    ]
    lines += [f"| {r['stream']} | {r['how']} | {r['samples_per_s']:.0f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=3000, help="samples timed per case")
    p.add_argument("--n", type=int, default=None, help="samples in the dataset (default: 2 x --samples)")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--repeats", type=int, default=2, help="best of this many passes per case")
    p.add_argument("--pin-memory", action="store_true", help="pin the batches (what the engine does on CUDA)")
    p.add_argument("--tiny", action="store_true", help="a few samples: a quick end-to-end check")
    p.add_argument("--markdown", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one)")
    args = p.parse_args(argv)
    if args.tiny:
        args.samples, args.batch, args.repeats, args.n = 16, 8, 1, 32
    torch.set_num_threads(1)
    load = lambda: "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"  # noqa: E731
    before = load()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_feeder_"))
    try:
        rows = run(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    text = markdown(rows, args, (before, load()))
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
