"""Training-step speed of ST-GCN and ST-GCN++ (``model.mmaction.build``) against MMAction2 1.2.0 itself.

MMAction2 runs in its own environment (``--mmaction-python``, default ``/work/mmaction2-venv``; built by
``../shared/tools/mmaction2-venv.sh``) as a worker subprocess that builds its model from the same
``model=dict(...)`` with MMAction2's registry and times SGD steps on the same input (same seed, same
thread count, same clock). The two processes take turns, step by step (A, B, A, B, ...), so load
changes on a shared machine hit both alike. Nothing of MMAction2 is imported into this process.

A step is forward, cross-entropy, backward and SGD (momentum 0.9, Nesterov); input batch 8 x
(3, 100, 25, 2) by default (MMAction2 gets the same numbers as (8, 1, 2, 100, 25, 3)). Ours runs in
fp32 and under bfloat16 autocast. GFLOP per step are counted on our model with
torch.utils.flop_counter (MMAction2 computes the same products: conv, graph matmul, BN); GFLOP/s and
the share of a nominal matrix peak (``--peak-gflops``) are reported; ``--measure-peak`` also times a
GEMM and a 1x1 convolution (``bench_models.measure_peak``). The timing helpers are
``benchmarks/bench_models.py``'s.

Examples::

    python benchmarks/bench_mmaction_gcn.py                          # both models, 5 interleaved reps
    python benchmarks/bench_mmaction_gcn.py --threads 1 --clock cpu  # on a busy shared machine
    python benchmarks/bench_mmaction_gcn.py --models stgcnpp --repeats 3 --measure-peak
    python benchmarks/bench_mmaction_gcn.py --profile stgcn-fp32    # torch.profiler table of one step
    python benchmarks/bench_mmaction_gcn.py --models stgcn --batch 2 --frames 16 --repeats 1 --warmup 0  # smoke
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_models import Variant, cross_entropy, load_average, measure_peak, peak_line  # noqa: E402

MMACTION_PYTHON = "/work/mmaction2-venv/bin/python"
CONFIGS = {
    "stgcn": {
        "type": "RecognizerGCN",
        "backbone": {"type": "STGCN", "graph_cfg": {"layout": "nturgb+d", "mode": "stgcn_spatial"}},
        "cls_head": {"type": "GCNHead", "num_classes": 60, "in_channels": 256},
    },
    "stgcnpp": {
        "type": "RecognizerGCN",
        "backbone": {
            "type": "STGCN",
            "gcn_adaptive": "init",
            "gcn_with_res": True,
            "tcn_type": "mstcn",
            "graph_cfg": {"layout": "nturgb+d", "mode": "spatial"},
        },
        "cls_head": {"type": "GCNHead", "num_classes": 60, "in_channels": 256},
    },
}
NUM_CLASS = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5, help="timed steps per variant (interleaved)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first")
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads in both processes (default: torch's)"
    )
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time")
    p.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"], help="for ours"
    )
    p.add_argument("--mmaction-python", default=MMACTION_PYTHON, help="python of the MMAction2 environment")
    p.add_argument("--no-mmaction", action="store_true", help="time ours only")
    p.add_argument(
        "--peak-gflops",
        type=float,
        default=190.0,
        help="nominal fp32 matrix peak of all cores for the %% column (scaled by threads / cores)",
    )
    p.add_argument("--measure-peak", action="store_true", help="also time a large GEMM and 1x1 conv")
    p.add_argument(
        "--profile", metavar="MODEL-PRECISION", help="print a torch.profiler table of ours, e.g. stgcn-fp32"
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # the MMAction2 side
    return p.parse_args(argv)


def make_input(batch: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, T, V, M) input and labels; the same numbers in both processes."""
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 3, frames, 25, 2, generator=g), torch.randint(
        0, NUM_CLASS, (batch,), generator=g
    )


def clock(kind: str):
    return time.process_time if kind == "cpu" else time.perf_counter


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)


# -- the MMAction2 side: runs under --mmaction-python; uses only torch and mmaction ---------------------


def worker(args: argparse.Namespace) -> None:
    """Read '<model>' lines from stdin, run one training step of that MMAction2 model, print its seconds."""
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules

    register_all_modules()
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = make_input(args.batch, args.frames)
    inputs = x.permute(0, 4, 2, 3, 1).contiguous()[:, None]  # (N, 1 clip, M, T, V, C)
    models, optims = {}, {}
    for name in args.models:
        torch.manual_seed(0)
        models[name] = MODELS.build(CONFIGS[name]).train()
        optims[name] = sgd(models[name])
    tick = clock(args.clock)
    print(json.dumps({"ready": True, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            break
        model, opt = models[name], optims[name]
        start = tick()
        opt.zero_grad(set_to_none=True)
        logits = model(inputs, mode="tensor", stage="head")
        F.cross_entropy(logits, y).backward()
        opt.step()
        print(json.dumps({"seconds": tick() - start}), flush=True)


class MMActionWorker:
    """The worker subprocess: ``step(name)`` returns the seconds of one MMAction2 training step."""

    def __init__(self, args: argparse.Namespace) -> None:
        cmd = [args.mmaction_python, str(Path(__file__).resolve()), "--worker", "--models", *args.models]
        cmd += ["--batch", str(args.batch), "--frames", str(args.frames), "--clock", args.clock]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        hello = self._read()
        self.threads = hello["threads"]

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the MMAction2 worker exited; run it by hand with --worker to see why")
        return json.loads(line)

    def step(self, name: str) -> float:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return self._read()["seconds"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)


# -- ours ------------------------------------------------------------------------------------------------


def benchmark(args: argparse.Namespace) -> list[dict]:
    from model.mmaction import build

    if args.threads:
        torch.set_num_threads(args.threads)
    Variant.clock = staticmethod(clock(args.clock))
    x, y = make_input(args.batch, args.frames)
    device = torch.device("cpu")
    ours = {}
    for name in args.models:
        torch.manual_seed(0)
        built = build(CONFIGS[name]).train()
        for precision in args.precision:
            model = copy.deepcopy(built)
            ours[name, precision] = Variant(
                f"{name}-{precision}", model, x, y, precision, device, cross_entropy, sgd(model)
            )
    if args.profile:
        by_name = {v.name: v for v in ours.values()}
        if args.profile not in by_name:
            sys.exit(f"--profile: unknown {args.profile!r}; choose from {list(by_name)}")
        print(by_name[args.profile].profile_table())
        return []
    mm = None if args.no_mmaction else MMActionWorker(args)
    print(
        f"threads {torch.get_num_threads()} (MMAction2 worker: {mm.threads if mm else '-'}), torch {torch.__version__}, "
        f"batch {args.batch} x (3, {args.frames}, 25, 2), {args.clock} clock; load average before: {load_average()}"
    )
    if args.measure_peak:
        print(peak_line(measure_peak(device, conv1x1=True)))
    times: dict[tuple[str, str], list[float]] = {}
    order = [(name, "mmaction2-fp32") for name in args.models if mm] + list(ours)
    for round_ in range(args.warmup + args.repeats):
        for name in args.models:
            for key in order:
                if key[0] != name:
                    continue
                t = mm.step(name) if key[1] == "mmaction2-fp32" else ours[key].timed()
                if round_ >= args.warmup:
                    times.setdefault(key, []).append(t)
    if mm:
        mm.close()
    print(f"load average after: {load_average()}")
    flops = {key: v.flops() for key, v in ours.items()}

    peak = args.peak_gflops * torch.get_num_threads() / (os.cpu_count() or 1)
    rows = []
    unit = "CPU-s" if args.clock == "cpu" else "s"
    for name in args.models:
        keys = [k for k in order if k[0] == name]
        base = statistics.median(times[keys[0]])
        gflop = flops[name, args.precision[0]] / 1e9  # the same products in every variant
        print(
            f"\n{name}: training step, {unit} per step, median of {args.repeats}; speed-up vs {keys[0][1]}; "
            f"%peak of {peak:.0f} GFLOP/s"
        )
        print(f"{'variant':22s} {'s/step':>8s} {'range':>15s} {'samples/s':>10s} {'GFLOP':>7s} {'GFLOP/s':>8s} "
              f"{'%peak':>6s} {'x':>6s}")  # fmt: skip
        for key in keys:
            t = statistics.median(times[key])
            rate = gflop / t
            label = key[1] if key[1].startswith("mmaction2") else f"ours-{key[1]}"
            rows.append(dict(model=name, variant=label, seconds=t, times=times[key], gflop=gflop, gflops=rate,
                             peak_share=rate / peak, speedup=base / t))  # fmt: skip
            spread = f"{min(times[key]):.3f}..{max(times[key]):.3f}"
            print(f"{label:22s} {t:8.3f} {spread:>15s} {args.batch / t:10.2f} {gflop:7.1f} {rate:8.1f} "
                  f"{100 * rate / peak:5.0f}% {base / t:6.2f}")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = benchmark(args)
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
