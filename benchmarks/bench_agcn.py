"""Speed of model.agcn.Model against the reference math (benchmarks/reference_agcn.py).

Times a full training step (forward, cross-entropy, backward, SGD step) and an eval forward at the
same batch, for the reference in float32 and for ours in float32 and under bfloat16 autocast,
interleaving the variants in every repetition so that load changes hit all of them alike. Reports
median seconds per step, samples per second, GFLOP per step (torch.utils.flop_counter), the
achieved GFLOP/s and its share of a nominal peak (``--peak-gflops``).

Examples::

    python benchmarks/bench_agcn.py                                  # batch 8 x (3, 300, 25, 2), 5 reps
    python benchmarks/bench_agcn.py --batch 4 --frames 100 --repeats 3   # a short run
    python benchmarks/bench_agcn.py --demo-accuracy --seeds 5        # fp32 vs bf16 accuracy, toy task
    python benchmarks/bench_agcn.py --clock cpu --threads 1          # CPU time, for a busy machine
    python benchmarks/bench_agcn.py --device cuda --precision fp32 bf16 --compile   # on a GPU

The machine's load average is printed before and after; on a shared machine compare only runs
taken together.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.reference_agcn import RefModel  # noqa: E402
from model.agcn import Model  # noqa: E402

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
NTU = dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=300, help="T of the input (N, 3, T, 25, 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions per variant (interleaved)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant first")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=sorted(DTYPES), help="for ours"
    )
    p.add_argument(
        "--ref-precision", nargs="*", default=["fp32"], choices=sorted(DTYPES), help="for the reference"
    )
    p.add_argument("--mode", nargs="+", default=["train", "eval"], choices=["train", "eval"])
    p.add_argument("--compile", action="store_true", help="also time torch.compile(ours)")
    p.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 in fp32 (off by default)")
    p.add_argument("--peak-gflops", type=float, default=190.0, help="nominal peak for the %% column")
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP count")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU time instead of wall time (for a busy shared machine; use with --threads 1)",
    )
    p.add_argument(
        "--measure-peak", action="store_true", help="also time a large GEMM and 1x1 conv (fp32, bf16)"
    )
    p.add_argument(
        "--malloc-tuning",
        action="store_true",
        help="glibc: keep freed memory (mallopt) so that big tensors do not page-fault on every step",
    )
    p.add_argument("--profile", metavar="VARIANT", help="print a torch.profiler table for one train step")
    p.add_argument(
        "--demo-accuracy", action="store_true", help="train a small model on a toy task, fp32 vs bf16"
    )
    p.add_argument("--seeds", type=int, default=5, help="--demo-accuracy: training runs per precision")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    return p.parse_args(argv)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str):
    dtype = DTYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class Variant:
    """One model + precision (+ compile), with its own optimiser; ``step`` and ``infer`` are timed."""

    clock: Callable[[], float] = time.perf_counter  # a builtin: not bound as a method

    def __init__(
        self, name: str, model: torch.nn.Module, precision: str, device: torch.device, compiled: bool
    ):
        self.name, self.precision, self.device = name, precision, device
        self.eager = model.to(device)
        self.model = torch.compile(model) if compiled else model
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4
        )
        self.times: dict[str, list[float]] = {"train": [], "eval": []}
        self.flops: dict[str, float] = {}

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.precision):
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        self.optimizer.step()

    def infer(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.model.eval()
        with torch.no_grad(), autocast(self.device, self.precision):
            self.model(x)

    def run(self, mode: str, x: torch.Tensor, y: torch.Tensor) -> float:
        fn = self.step if mode == "train" else self.infer
        sync(self.device)
        start = self.clock()
        fn(x, y)
        sync(self.device)
        return self.clock() - start

    def count_flops(self, mode: str, x: torch.Tensor, y: torch.Tensor) -> float:
        """FLOPs of one step of the eager model (the compiled one computes the same math)."""
        eager = copy.deepcopy(self.eager)
        probe = Variant(self.name, eager, self.precision, self.device, compiled=False)
        counter = FlopCounterMode(display=False)
        with counter:
            (probe.step if mode == "train" else probe.infer)(x, y)
        return float(counter.get_total_flops())


def build_variants(args: argparse.Namespace, device: torch.device) -> list[Variant]:
    torch.manual_seed(0)
    ref = RefModel(**NTU)
    state = ref.state_dict()
    variants = []
    for precision in args.ref_precision:
        variants.append(Variant(f"ref-{precision}", copy.deepcopy(ref), precision, device, compiled=False))
    ours = Model(**NTU)
    ours.load_state_dict(state)
    for precision in args.precision:
        variants.append(Variant(f"ours-{precision}", copy.deepcopy(ours), precision, device, compiled=False))
        if args.compile:
            variants.append(
                Variant(f"ours-{precision}-compile", copy.deepcopy(ours), precision, device, True)
            )
    return variants


def profile(variant: Variant, x: torch.Tensor, y: torch.Tensor) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if variant.device.type == "cuda" else [])
    variant.run("train", x, y)
    with torch_profile(activities=activities) as prof:
        variant.run("train", x, y)
    sort = "self_cuda_time_total" if variant.device.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=25))


def measure_peaks(device: torch.device) -> dict[str, float]:
    """GFLOP/s of a 4096^3 GEMM (torch.matmul: MKL on CPU) and of a 1x1 conv as GEMM (oneDNN), fp32 and bf16."""
    peaks = {}
    a = torch.randn(4096, 4096, device=device)
    x = torch.randn(1, 4096, 64, 64, device=device).contiguous(memory_format=torch.channels_last)
    w = torch.randn(4096, 4096, 1, 1, device=device)
    flop = 2 * 4096**3
    for precision in ("fp32", "bf16"):
        for name, fn in (("matmul", lambda: a @ a), ("conv1x1", lambda: F.conv2d(x, w))):
            with torch.no_grad(), autocast(device, precision):
                fn()
                times = []
                for _ in range(5):
                    sync(device)
                    start = time.perf_counter()
                    fn()
                    sync(device)
                    times.append(time.perf_counter() - start)
            peaks[f"{name}-{precision}"] = flop / min(times) / 1e9
    return peaks


def tune_malloc() -> bool:
    """Ask glibc to serve blocks up to 32 MiB from the heap and never trim it (no effect elsewhere).

    By default glibc maps big blocks fresh and unmaps them on free, so every large activation costs
    page faults (kernel time, about 10-25 % of an fp32 step here); both models are affected alike.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return all(
        libc.mallopt(option, value)
        for option, value in (
            (M_MMAP_THRESHOLD, 32 << 20),
            (M_TRIM_THRESHOLD, 1 << 40),
            (M_TOP_PAD, 512 << 20),
        )
    )


def load() -> str:
    return "n/a" if not hasattr(os, "getloadavg") else "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def benchmark(args: argparse.Namespace) -> list[dict]:
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 3, args.frames, 25, 2, generator=g).to(device)
    y = torch.randint(0, NTU["num_class"], (args.batch,), generator=g).to(device)
    variants = build_variants(args, device)

    if args.profile:
        chosen = [v for v in variants if v.name == args.profile]
        if not chosen:
            sys.exit(f"--profile: unknown variant {args.profile!r}; choose from {[v.name for v in variants]}")
        profile(chosen[0], x, y)
        return []

    Variant.clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(
        f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, "
        f"batch {args.batch} x (3, {args.frames}, 25, 2), {args.clock} clock"
        f"{', malloc tuned' if args.malloc_tuning else ''}; load average before: {load()}"
    )
    if args.measure_peak:
        peaks = measure_peaks(device)
        print("best of 5, GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    for mode in args.mode:
        for v in variants:
            for _ in range(args.warmup):
                v.run(mode, x, y)
        for _ in range(args.repeats):
            for v in variants:
                v.times[mode].append(v.run(mode, x, y))
        if not args.no_flops:
            for v in variants:
                v.flops[mode] = v.count_flops(mode, x, y)
    print(f"load average after: {load()}")

    rows = []
    for mode in args.mode:
        base = statistics.median(variants[0].times[mode])
        unit = "CPU-seconds" if args.clock == "cpu" else "seconds"
        print(
            f"\n{mode}: {unit} per step, median of {args.repeats} interleaved runs; speed-up vs {variants[0].name}"
        )
        print(
            f"{'variant':22s} {'s/step':>8s} {'range':>15s} {'samples/s':>10s} {'GFLOP':>8s} {'GFLOP/s':>8s} {'%peak':>6s} {'x':>6s}"
        )
        for v in variants:
            t = statistics.median(v.times[mode])
            gflop = v.flops.get(mode, float("nan")) / 1e9
            rate = gflop / t
            row = dict(
                variant=v.name,
                mode=mode,
                seconds=t,
                times=v.times[mode],
                samples_per_s=args.batch / t,
                gflop=gflop,
                gflops=rate,
                peak_share=rate / args.peak_gflops,
                speedup=base / t,
            )
            rows.append(row)
            spread = f"{min(v.times[mode]):.3f}..{max(v.times[mode]):.3f}"
            print(
                f"{v.name:22s} {t:8.3f} {spread:>15s} {args.batch / t:10.2f} {gflop:8.1f} {rate:8.1f} "
                f"{100 * rate / args.peak_gflops:5.0f}% {base / t:6.2f}"
            )
    return rows


# -- toy-task accuracy: does bf16 train as well as fp32? -----------------------------------------


def toy_task(
    n: int, frames: int, num_class: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 3, frames, 25, 2) noisy clips: class c moves joints 5·(c // 2)..+4 at 1 + c % 2 cycles.

    The signal (amplitude 0.5) is weak against the noise (std 0.3), so the task is not solved perfectly
    after a few epochs and a precision problem would show in the accuracy.
    """
    labels = torch.arange(n) % num_class
    t = torch.linspace(0, 1, frames)
    x = 0.3 * torch.randn(n, 3, frames, 25, 2, generator=generator)
    phase = 2 * torch.pi * torch.rand(n, 1, generator=generator)
    for c in range(num_class):
        idx = labels == c
        wave = 0.5 * torch.sin(2 * torch.pi * (1 + c % 2) * t + phase[idx])  # (clips, frames)
        group = 5 * (c // 2)
        x[idx, :, :, group : group + 5, 0] += wave[:, None, :, None]  # all 3 coordinates of 5 joints
    x[::2, :, :, :, 1] = 0  # half the clips have one person
    return x, labels


def train_toy(
    precision: str, seed: int, device: torch.device, data: tuple[torch.Tensor, ...], num_class: int
) -> tuple[float, float]:
    """Train a base_channel=8 AGCN on the toy task; return (test accuracy, last-epoch train loss)."""
    train_x, train_y, test_x, test_y = data
    epochs, batch = 8, 16
    torch.manual_seed(seed)
    model = Model(**{**NTU, "num_class": num_class}, base_channel=8).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-4)
    losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(1000 * seed + epoch))
        for i in range(0, len(order), batch):
            b = order[i : i + batch]
            opt.zero_grad(set_to_none=True)
            with autocast(device, precision):
                logits = model(train_x[b].to(device))
            loss = F.cross_entropy(logits.float(), train_y[b].to(device))
            loss.backward()
            opt.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad(), autocast(device, precision):
        pred = torch.cat(
            [model(test_x[i : i + 64].to(device)).argmax(1).cpu() for i in range(0, len(test_y), 64)]
        )
    return (pred == test_y).float().mean().item(), statistics.mean(losses[-len(train_y) // batch :])


def demo_accuracy(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Train the same small model (same inits and batch orders per seed) in each precision."""
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    num_class = 6
    data = (*toy_task(384, 24, num_class, g), *toy_task(192, 24, num_class, g))
    results: dict[str, dict[str, list[float]]] = {
        p: {"test_accuracy": [], "train_loss": []} for p in args.precision
    }
    for seed in range(args.seeds):
        for precision in args.precision:  # interleaved, like the timings
            start = time.perf_counter()
            acc, loss = train_toy(precision, seed, device, data, num_class)
            results[precision]["test_accuracy"].append(acc)
            results[precision]["train_loss"].append(loss)
            print(
                f"toy task, seed {seed}, {precision}: test accuracy {acc:.3f} (192 clips), last-epoch train "
                f"loss {loss:.3f} ({time.perf_counter() - start:.1f} s)"
            )
    for precision, r in results.items():
        accs = r["test_accuracy"]
        spread = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        print(f"{precision}: test accuracy mean {statistics.mean(accs):.3f}, std over seeds {spread:.3f}")
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.malloc_tuning and not tune_malloc():
        print("--malloc-tuning: not a glibc system, ignored")
    out: dict[str, object] = {}
    if args.demo_accuracy:
        out["demo_accuracy"] = demo_accuracy(args)
    else:
        out["results"] = benchmark(args)
    if args.json:
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, **out}, indent=1)
        )


if __name__ == "__main__":
    main()
