"""Speed of PoseC3D's heatmap pipeline (feeders/heatmap.py) against MMAction2's own transforms.

Part 1, transforms: the same clips, frame indices, parameters and random draws through ours and
through MMAction2 1.2.0's ``PoseDecode -> ... -> FormatShape('NCTHW_Heatmap')`` (run by
``benchmarks/mmaction2_heatmap_worker.py`` in the MMAction2 environment, a subprocess). Settings:
the NTU60 configs' train pipeline (48 frames, RandomResizedCrop, 56x56, flip) and test pipeline
(10 clips x 48 frames, CenterCrop 64, mirrored views), each for keypoint and limb heatmaps. Both
sides run job by job (MMAction2, ours, MMAction2, ours, ...); the table gives the best CPU and wall
time per sample of each, averaged over the clips, the cost of merely allocating and touching an
output of that size ("output floor": page faults and the kernel's zeroing, which no implementation
avoids), and checks that both produced the same volumes (sums).

Part 2, feeding: samples/s that a DataLoader with ``--workers`` workers produces from the
``posec3d`` feeder (train settings, batch 4), against the samples/s one training step of PoseC3D
consumes at batch 4 x (17, 48, 56, 56) here (fp32 and bf16), or at ``--step-seconds`` (e.g. a GPU's).

Examples::

    python benchmarks/bench_heatmap.py                                   # golden clips, both parts
    python benchmarks/bench_heatmap.py --data ./data/demo/raw/synthetic_2d.pkl --max-clips 8 --rounds 3
    python benchmarks/bench_heatmap.py --skip-loader --mmaction2-python /path/to/venv/bin/python
    python benchmarks/bench_heatmap.py --skip-reference --step-seconds 0.08   # feeding a GPU step

The load average is printed before and after; on a shared machine compare only numbers taken together.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from feeders.heatmap import HeatmapPipeline  # noqa: E402
from feeders.pose_pickle import load_annotation_file  # noqa: E402
from feeders.posec3d import sample_frames  # noqa: E402
from utils.io import save_pickle  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "fixtures" / "posec3d" / "example_posec3d_2d.pkl"
DEFAULT_MMACTION2 = Path("/work/mmaction2-venv/bin/python")
WORKER = ROOT / "benchmarks" / "mmaction2_heatmap_worker.py"
SETTINGS = {
    "train": (HeatmapPipeline(crop="random_resized", input_size=56, flip_ratio=0.5), 1, False),
    "test": (HeatmapPipeline(crop="center", input_size=64, double=True), 10, True),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MMAction2 2D skeleton pickle")
    p.add_argument("--max-clips", type=int, default=4, help="clips of the file to time")
    p.add_argument("--settings", nargs="+", default=["train", "test"], choices=sorted(SETTINGS))
    p.add_argument("--kinds", nargs="+", default=["keypoint", "limb"], choices=["keypoint", "limb"])
    p.add_argument("--rounds", type=int, default=2, help="passes over all jobs")
    p.add_argument(
        "--repeats", type=int, default=3, help="runs of every job per pass (MMAction2, ours alternating)"
    )
    p.add_argument("--mmaction2-python", type=Path, default=DEFAULT_MMACTION2)
    p.add_argument("--skip-reference", action="store_true", help="time ours only")
    p.add_argument("--skip-loader", action="store_true", help="skip part 2")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (part 2)")
    p.add_argument("--batches", type=int, default=12, help="batches timed in part 2")
    p.add_argument(
        "--step-seconds", type=float, default=None, help="consumer step time instead of timing one"
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    return p.parse_args(argv)


def load() -> str:
    return "n/a" if not hasattr(os, "getloadavg") else "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def make_jobs(args: argparse.Namespace) -> dict[str, dict]:
    """Every (setting, kind, clip): pipeline, annotation, frame indices, seed."""
    anns = load_annotation_file(args.data).select(None)[: args.max_clips]
    jobs = {}
    for setting in args.settings:
        base, num_clips, test_mode = SETTINGS[setting]
        for kind in args.kinds:
            pipeline = replace(base, heatmap=kind)
            for c, ann in enumerate(anns):
                seed = 1000 + c
                np.random.seed(seed)  # the benchmark's own process: train-mode sampling draws from it
                inds = sample_frames(int(ann["total_frames"]), 48, num_clips, test_mode, 255)
                jobs[f"{setting}-{kind}-{c:03d}"] = dict(
                    pipeline=pipeline, ann=ann, inds=inds, seed=seed, num_clips=num_clips
                )
    return jobs


class Reference:
    """MMAction2's transforms in a subprocess that runs one job per request."""

    def __init__(self, jobs: dict[str, dict], python: Path, tmp: Path) -> None:
        arrays = {}
        for name, job in jobs.items():
            ann = job["ann"]
            arrays.update(
                {
                    f"{name}/keypoint": ann["keypoint"],
                    f"{name}/keypoint_score": ann["keypoint_score"],
                    f"{name}/img_shape": np.asarray(ann["img_shape"]),
                    f"{name}/frame_inds": job["inds"],
                    f"{name}/pipeline": np.array(json.dumps(job["pipeline"].mmaction2_steps())),
                    f"{name}/seed": np.array(job["seed"]),
                    f"{name}/clip_len": np.array(48),
                    f"{name}/num_clips": np.array(job["num_clips"]),
                }
            )
        np.savez(tmp / "jobs.npz", **arrays)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            [str(python), str(WORKER), str(tmp / "jobs.npz")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        json.loads(self.proc.stdout.readline())  # ready

    def run(self, name: str) -> dict:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def run_ours(job: dict) -> dict:
    ann = job["ann"]
    rng, py_rng = np.random.RandomState(job["seed"]), random.Random(job["seed"])
    wall, cpu = time.perf_counter(), time.process_time()
    vol = job["pipeline"](
        ann["keypoint"], ann["keypoint_score"], tuple(ann["img_shape"]), job["inds"], rng, py_rng
    )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return dict(wall=wall, cpu=cpu, shape=list(vol.shape), sum=float(vol.astype(np.float64).sum()))


def output_floor(shape: list[int], repeats: int = 5) -> float:
    """CPU ms to allocate a float32 array of ``shape`` and touch every page: what producing the output
    costs before anything is drawn (the page faults and the kernel's zeroing)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        out = np.zeros(shape, dtype=np.float32)
        out.reshape(-1)[::1024] = 1
        times.append(time.process_time() - start)
        del out
    return 1e3 * min(times)


def _best(runs: dict, side: str, names: list[str], clock: str) -> float:
    """Milliseconds: the best run of every job, averaged over the jobs (nan if the side did not run)."""
    if (side, names[0]) not in runs:
        return float("nan")
    return 1e3 * statistics.mean(min(r[clock] for r in runs[(side, n)]) for n in names)


def transforms(args: argparse.Namespace) -> dict:
    """Every job alternately through MMAction2 and ours, ``rounds`` x ``repeats`` times; best times."""
    jobs = make_jobs(args)
    use_ref = not args.skip_reference and args.mmaction2_python.is_file()
    if not use_ref and not args.skip_reference:
        print(f"no MMAction2 interpreter at {args.mmaction2_python}: timing ours only")
    runs: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ref = Reference(jobs, args.mmaction2_python, Path(tmp)) if use_ref else None
        try:
            for _ in range(args.rounds * args.repeats):
                for name, job in jobs.items():
                    if ref is not None:
                        runs.setdefault(("mmaction2", name), []).append(ref.run(name))
                    runs.setdefault(("ours", name), []).append(run_ours(job))
        finally:
            if ref is not None:
                ref.close()
    rows = []
    n = args.rounds * args.repeats
    print(
        f"\npart 1: ms per sample, best of {n} alternating runs, mean over {args.max_clips} clips; CPU (wall)"
    )
    print(
        f"{'setting':16s} {'MMAction2':>16s} {'ours':>14s} {'speed-up':>9s} {'output floor':>13s}  same volumes"
    )
    for group in sorted({n.rsplit("-", 1)[0] for n in jobs}):
        names = [n for n in jobs if n.startswith(group + "-")]

        ours_cpu, ours_wall = (_best(runs, "ours", names, clock) for clock in ("cpu", "wall"))
        ref_cpu, ref_wall = (_best(runs, "mmaction2", names, clock) for clock in ("cpu", "wall"))
        same = None
        if use_ref:
            same = all(
                runs[("ours", n)][-1]["shape"] == runs[("mmaction2", n)][-1]["shape"]
                and abs(runs[("ours", n)][-1]["sum"] - runs[("mmaction2", n)][-1]["sum"])
                <= 1e-5 * max(1.0, abs(runs[("mmaction2", n)][-1]["sum"]))
                for n in names
            )
        floor = output_floor(runs[("ours", names[0])][-1]["shape"])
        rows.append(
            dict(setting=group, ours_cpu_ms=ours_cpu, ours_wall_ms=ours_wall, mmaction2_cpu_ms=ref_cpu,
                 mmaction2_wall_ms=ref_wall, speedup_cpu=ref_cpu / ours_cpu, speedup_wall=ref_wall / ours_wall,
                 output_floor_cpu_ms=floor, same=same)
        )  # fmt: skip
        print(
            f"{group:16s} {ref_cpu:7.1f} ({ref_wall:6.1f}) {ours_cpu:6.1f} ({ours_wall:5.1f}) "
            f"{ref_cpu / ours_cpu:5.1f}x ({ref_wall / ours_wall:4.1f}x) {floor:10.1f} ms  {same}"
        )
    return {"rows": rows}


def loader(args: argparse.Namespace) -> dict:
    """Samples/s a DataLoader produces (train settings, batch 4) vs what a batch-4 step consumes."""
    import torch
    from torch.utils.data import DataLoader

    from engine.runtime import worker_init_fn
    from feeders.posec3d import PoseC3DFeeder

    anns = load_annotation_file(args.data).select(None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clips.pkl"
        replicated = [
            dict(a, frame_dir=f"{a['frame_dir']}_{i}") for i in range(64 // len(anns) + 1) for a in anns
        ]
        save_pickle({"split": {}, "annotations": replicated}, path)
        feeder = PoseC3DFeeder(str(path), crop="random_resized", input_size=56, flip_ratio=0.5)
        rates = {}
        for workers in sorted({0, args.workers}):
            dl = DataLoader(feeder, batch_size=4, shuffle=True, num_workers=workers, drop_last=True,
                            worker_init_fn=worker_init_fn if workers else None)  # fmt: skip
            it = iter(dl)
            next(it)  # start-up (worker processes) not counted
            start, n = time.perf_counter(), 0
            for _ in range(args.batches):
                try:
                    batch = next(it)
                except StopIteration:
                    it = iter(dl)
                    batch = next(it)
                n += batch[0].shape[0]
            rates[workers] = n / (time.perf_counter() - start)
            print(
                f"DataLoader, {workers} workers: {rates[workers]:.1f} samples/s (train volumes {tuple(batch[0].shape)})"
            )
    consumed = {}
    if args.step_seconds:
        consumed["given"] = 4 / args.step_seconds
    else:
        from model.posec3d import PoseC3D

        torch.manual_seed(0)
        model = PoseC3D()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = torch.rand(4, 17, 48, 56, 56), torch.randint(0, 60, (4,))
        for precision in ("fp32", "bf16"):
            times = []
            for _ in range(2):
                start = time.perf_counter()
                opt.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                    out = model(x)
                torch.nn.functional.cross_entropy(out.float(), y).backward()
                opt.step()
                times.append(time.perf_counter() - start)
            consumed[precision] = 4 / min(times)
    for name, rate in consumed.items():
        print(f"training step ({name}), batch 4: consumes {rate:.2f} samples/s; "
              f"{args.workers} workers produce {rates[args.workers] / rate:.1f}x that")  # fmt: skip
    return {"produced": rates, "consumed": consumed}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"data {args.data}, load average before: {load()}")
    out: dict[str, object] = {"transforms": transforms(args)}
    if not args.skip_loader:
        print("\npart 2: feeding a batch-4 training step")
        out["loader"] = loader(args)
    print(f"load average after: {load()}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
