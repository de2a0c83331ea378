"""Training-step speed of PoseC3D (model/posec3d.py) against MMAction2 1.2.0's own network.

One step = forward of backbone and head, cross-entropy, backward, SGD step (lr 0.01, momentum 0.9,
weight decay 3e-4), at batch 4 x (17, 48, 56, 56) by default (the NTU60 keypoint model, the training
clip size). MMAction2's Recognizer3D runs in its own environment in a subprocess
(``benchmarks/mmaction2_posec3d_worker.py``), one step per request, alternating with ours, so that
load changes on a shared machine hit both alike; both use ``--threads`` threads. Ours runs in float32
and under bfloat16 autocast (``--precision``). The table gives medians, the spread, GFLOP per step
(``torch.utils.flop_counter`` on ours; MMAction2 computes the same convolutions), the achieved
GFLOP/s and its share of a nominal peak, ``--peak-gflops`` (default 95 per thread); ``--measure-peak``
also times a GEMM and a 1x1 convolution (``bench_models.measure_peak``, whose timing helpers this
script shares).

Examples::

    python benchmarks/bench_posec3d.py                                   # fp32 + bf16, 3 reps, train
    python benchmarks/bench_posec3d.py --repeats 5 --mode train eval --measure-peak
    python benchmarks/bench_posec3d.py --frames 16 --repeats 2           # a short run
    python benchmarks/bench_posec3d.py --batch 1 --frames 4 --size 32 --repeats 1 --warmup 0   # smoke
    python benchmarks/bench_posec3d.py --threads 1 --clock cpu           # CPU time, for a busy machine
    python benchmarks/bench_posec3d.py --no-reference --device cuda --precision fp32 bf16

The load average is printed before and after; compare only numbers taken together.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_models import autocast, count_flops, load_average, measure_peak, peak_line, sync  # noqa: E402
from model.mmaction import build  # noqa: E402

WORKER = ROOT / "benchmarks" / "mmaction2_posec3d_worker.py"
DEFAULT_MMACTION2 = Path("/work/mmaction2-venv/bin/python")
# The NTU60 keypoint model of MMAction2's zoo (slowonly_r50_8xb16-u48-240e_ntu60-xsub-keypoint).
NTU60_KEYPOINT = {
    "type": "Recognizer3D",
    "backbone": {"type": "ResNet3dSlowOnly", "depth": 50, "pretrained": None, "in_channels": 17,
                 "base_channels": 32, "num_stages": 3, "out_indices": [2], "stage_blocks": [4, 6, 3],
                 "conv1_stride_s": 1, "pool1_stride_s": 1, "inflate": [0, 1, 1], "spatial_strides": [2, 2, 2],
                 "temporal_strides": [1, 1, 2], "dilations": [1, 1, 1]},
    "cls_head": {"type": "I3DHead", "in_channels": 512, "num_classes": 60, "dropout_ratio": 0.5,
                 "average_clips": "prob"},
}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", type=int, default=56, help="H = W of the volumes")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per variant (interleaved)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant first")
    p.add_argument("--threads", type=int, default=None, help="torch threads, both sides (default: torch's)")
    p.add_argument("--device", default="cpu", help="ours: cpu or cuda[:i] (MMAction2 runs on the CPU)")
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"], help="ours")
    p.add_argument("--ref-precision", nargs="*", default=["fp32"], choices=["fp32", "bf16"])
    p.add_argument("--mode", nargs="+", default=["train"], choices=["train", "eval"])
    p.add_argument("--mmaction2-python", type=Path, default=DEFAULT_MMACTION2)
    p.add_argument("--no-reference", action="store_true", help="time ours only")
    p.add_argument(
        "--peak-gflops", type=float, default=None, help="nominal peak (CPU default: 95 per thread)"
    )
    p.add_argument("--measure-peak", action="store_true", help="also time a large GEMM and 1x1 conv")
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP count")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU seconds of each side (for a busy shared machine; use with --threads 1)",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    return p.parse_args(argv)


class Ours:
    """Our model with its own optimiser; ``run(mode, precision)`` returns seconds."""

    def __init__(self, device: torch.device, x: torch.Tensor, y: torch.Tensor) -> None:
        torch.manual_seed(0)
        self.model = build(NTU60_KEYPOINT).to(device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=3e-4)
        self.device, self.x, self.y = device, x, y

    def step(self, mode: str, precision: str) -> None:
        if mode == "train":
            self.model.train()
            self.optimizer.zero_grad(set_to_none=True)
            with autocast(self.device, precision):
                logits = self.model(self.x)
            F.cross_entropy(logits.float(), self.y).backward()
            self.optimizer.step()
        else:
            self.model.eval()
            with torch.no_grad(), autocast(self.device, precision):
                self.model(self.x)

    def run(self, mode: str, precision: str) -> dict[str, float]:
        sync(self.device)
        start, cpu = time.perf_counter(), time.process_time()
        self.step(mode, precision)
        sync(self.device)
        return {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}

    def flops(self, mode: str, precision: str) -> float:
        return count_flops(lambda: self.step(mode, precision))


class Reference:
    """MMAction2's Recognizer3D in a subprocess, one step per request."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        config = tmp / "model.json"
        config.write_text(json.dumps(NTU60_KEYPOINT))
        threads = args.threads or torch.get_num_threads()
        cmd = [str(args.mmaction2_python), str(WORKER), str(config), str(args.batch), str(args.frames),
               str(args.size), str(args.size), str(threads)]  # fmt: skip
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.params = json.loads(self.proc.stdout.readline())["ready"]

    def run(self, mode: str, precision: str) -> dict[str, float]:
        self.proc.stdin.write(f"{mode} {precision}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def benchmark(args: argparse.Namespace) -> list[dict]:
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 17, args.frames, args.size, args.size, generator=g).to(device)
    y = torch.randint(0, 60, (args.batch,), generator=g).to(device)
    ours = Ours(device, x, y)
    use_ref = not args.no_reference and args.mmaction2_python.is_file()
    if not use_ref and not args.no_reference:
        print(f"no MMAction2 interpreter at {args.mmaction2_python}: timing ours only")
    variants = [("mmaction2", p) for p in args.ref_precision if use_ref] + [
        ("ours", p) for p in args.precision
    ]
    print(
        f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, batch {args.batch} x "
        f"(17, {args.frames}, {args.size}, {args.size}); load average before: {load_average()}"
    )
    peaks = measure_peak(device, conv1x1=True) if args.measure_peak else {}
    if peaks:
        print(peak_line(peaks))
    times: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ref = Reference(args, Path(tmp)) if use_ref else None
        try:
            for mode in args.mode:
                for rep in range(args.warmup + args.repeats):
                    for side, precision in variants:
                        t = (ref if side == "mmaction2" else ours).run(mode, precision)
                        if rep >= args.warmup:
                            times.setdefault((mode, side, precision), []).append(t[args.clock])
        finally:
            if ref is not None:
                ref.close()
    print(f"load average after: {load_average()}")
    peak = args.peak_gflops or (95.0 * torch.get_num_threads() if device.type == "cpu" else None)
    rows = []
    for mode in args.mode:
        gflop = {p: (float("nan") if args.no_flops else ours.flops(mode, p) / 1e9) for p in ("fp32", "bf16")}
        base_key = (mode, *variants[0])
        base = statistics.median(times[base_key])
        print(
            f"\n{mode}: {'CPU seconds' if args.clock == 'cpu' else 'seconds'} per step, median of {args.repeats} interleaved runs; speed-up vs {'-'.join(variants[0])}"
        )
        print(
            f"{'variant':16s} {'s/step':>8s} {'range':>15s} {'GFLOP':>7s} {'GFLOP/s':>8s} {'%peak':>6s} {'x':>6s}"
        )
        for side, precision in variants:
            ts = times[(mode, side, precision)]
            t = statistics.median(ts)
            rate = gflop[precision] / t
            share = 100 * rate / peak if peak else float("nan")
            row = dict(mode=mode, variant=f"{side}-{precision}", seconds=t, times=ts, gflop=gflop[precision],
                       gflops=rate, peak_share=share, speedup=base / t)  # fmt: skip
            rows.append(row)
            print(
                f"{row['variant']:16s} {t:8.3f} {min(ts):7.3f}..{max(ts):<7.3f} {gflop[precision]:7.1f} "
                f"{rate:8.1f} {share:5.0f}% {base / t:6.2f}"
            )
    if peaks:
        for name, value in peaks.items():
            print(f"measured peak {name}: {value:.0f} GFLOP/s")
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = benchmark(args)
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
