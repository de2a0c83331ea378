"""Training-step speed of model.sgn / model.impsgnv2 against the reference structure
(benchmarks/reference_sgn.py).

One step = forward, SGN's label-smoothing loss (or plain cross-entropy), backward, Adam step, at
batch 64 of (3, 20, 25, 1) by default. Variants: the reference in float32, ours in float32 and under
bfloat16 autocast (``--precision``), optionally ``torch.compile``'d (``--compile``). The variants
are interleaved in every repetition so that load changes on a shared machine hit all of them
alike; the table gives medians (and the spread), GFLOP per step counted with
``torch.utils.flop_counter`` (convs and matmuls, forward + backward, 2 FLOP per MAC), the achieved
GFLOP/s and its share of a nominal peak (``--peak-gflops``; on CPU 95 per thread: this 2-core CPU's
fp32 GEMM rate is ~190 GFLOP/s). ``--clock cpu --threads 1`` times process CPU seconds instead of
wall seconds, which other processes on a shared machine disturb much less.
Ours executes fewer FLOPs than the reference for the same function (no one-hot convs, the
constant joint-type half of the first layer's inputs folded into a table, SGN's graph scores as
128 x 128 products), so the "ref-equiv" column also gives the reference's FLOPs divided by our time.
Both models use the same weights and PyTorch's default Adam (lr 1e-3, weight decay 1e-4).

Examples::

    python benchmarks/bench_sgn.py                                # both models, fp32 + bf16, 7 reps
    python benchmarks/bench_sgn.py --model sgn --repeats 11 --threads 2
    python benchmarks/bench_sgn.py --threads 1 --clock cpu                 # on a busy machine
    python benchmarks/bench_sgn.py --model impsgnv2 --precision bf16 --profile bf16
    python benchmarks/bench_sgn.py --device cuda --precision fp32 bf16 --compile   # on a GPU

The load average is printed before and after; compare only numbers taken together.
"""

from __future__ import annotations

import argparse
import contextlib
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

from benchmarks.reference_sgn import SGN, ImpSGNv2, reference_input  # noqa: E402
from model import impsgnv2, sgn  # noqa: E402

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MODELS = {"sgn": (SGN, sgn.Model), "impsgnv2": (ImpSGNv2, impsgnv2.Model)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", default=["sgn", "impsgnv2"], choices=sorted(MODELS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seg", type=int, default=20)
    p.add_argument("--repeats", type=int, default=7, help="timed steps per variant (interleaved)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per variant first")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=sorted(DTYPES), help="ours")
    p.add_argument("--no-reference", action="store_true", help="time ours only")
    p.add_argument("--compile", action="store_true", help="also time torch.compile(ours)")
    p.add_argument("--loss", choices=["ls", "ce"], default="ls", help="SGN's label smoothing 0.1 or plain CE")
    p.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 in fp32 (off by default)")
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: perf_counter; cpu: process CPU time (robust on a shared machine, use with --threads 1)",
    )
    p.add_argument(
        "--peak-gflops", type=float, default=None, help="nominal peak (CPU default: 95 per thread, 190 for 2)"
    )
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP count")
    p.add_argument(
        "--profile",
        metavar="VARIANT",
        help="print a torch.profiler table for one step of VARIANT (ref-fp32, ours-fp32, bf16, ...)",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    return p.parse_args(argv)


def sgn_label_smoothing(logits: torch.Tensor, target: torch.Tensor, eps: float = 0.1) -> torch.Tensor:
    """SGN's loss: target mass 1 - eps, eps / (C - 1) on every other class, batch mean."""
    logp = F.log_softmax(logits.float(), dim=-1)
    q = torch.full_like(logp, eps / (logits.shape[-1] - 1)).scatter_(1, target[:, None], 1 - eps)
    return -(q * logp).sum(dim=1).mean()


class Variant:
    """A model, its optimizer and input, and a callable running one training step."""

    def __init__(
        self, name: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, dtype, loss: str, device
    ) -> None:
        self.name, self.model, self.x, self.y, self.dtype = name, model, x, y, dtype
        self.loss = sgn_label_smoothing if loss == "ls" else (lambda z, t: F.cross_entropy(z.float(), t))
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        self.device = torch.device(device)
        self.times: list[float] = []
        self.flops: int | None = None

    def step(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        ctx = (
            torch.autocast(self.device.type, dtype=self.dtype)
            if self.dtype is not None
            else contextlib.nullcontext()
        )
        with ctx:
            out = self.model(self.x)
        self.loss(out, self.y).backward()
        self.opt.step()

    def timed_step(self, clock: Callable[[], float] = time.perf_counter) -> float:
        sync(self.device)
        t0 = clock()
        self.step()
        sync(self.device)
        return clock() - t0


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_variants(name: str, args: argparse.Namespace) -> list[Variant]:
    ref_cls, ours_cls = MODELS[name]
    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.seg, 25, 1, generator=g).to(device)
    y = torch.randint(0, 60, (args.batch,), generator=g).to(device)
    torch.manual_seed(0)
    ours_proto = ours_cls(seg=args.seg)
    variants = []
    if not args.no_reference:
        ref = ref_cls(seg=args.seg, batch_size=args.batch, device=device)
        ref.load_state_dict(ours_proto.state_dict(), strict=True)  # same weights everywhere
        variants.append(
            Variant("ref-fp32", ref.to(device).train(), reference_input(x), y, None, args.loss, device)
        )
    for prec in args.precision:
        compiled = [False, True] if args.compile else [False]
        for comp in compiled:
            m = ours_cls(seg=args.seg)
            m.load_state_dict(ours_proto.state_dict(), strict=True)
            m = m.to(device).train()
            if comp:
                m = torch.compile(m)
            label = f"ours-{prec}" + ("-compiled" if comp else "")
            variants.append(Variant(label, m, x, y, DTYPES[prec], args.loss, device))
    return variants


def count_flops(v: Variant) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        v.step()
    return counter.get_total_flops()


def run(name: str, args: argparse.Namespace) -> dict:
    variants = build_variants(name, args)
    for v in variants:
        for _ in range(args.warmup):
            v.step()
    if not args.no_flops:
        for v in variants:
            v.flops = count_flops(v) if "compiled" not in v.name else None
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for _ in range(args.repeats):
        for v in variants:
            v.times.append(v.timed_step(clock))
    if args.profile:
        names = (args.profile, f"ours-{args.profile}")
        print_profile(next(v for v in variants if v.name in names))
    ref = next((v for v in variants if v.name == "ref-fp32"), None)
    peak = args.peak_gflops
    if peak is None and args.device == "cpu":
        peak = 95.0 * min(torch.get_num_threads(), 2)  # this 2-core CPU: ~190 GFLOP/s fp32 GEMM
    rows = []
    for v in variants:
        med = statistics.median(v.times)
        flops = (
            v.flops if v.flops is not None else next((u.flops for u in variants if u.name in v.name), None)
        )
        row = {
            "variant": v.name,
            "median_s": med,
            "min_s": min(v.times),
            "max_s": max(v.times),
            "samples_per_s": args.batch / med,
            "speedup_vs_ref": (statistics.median(ref.times) / med) if ref else None,
            "gflop_per_step": flops / 1e9 if flops else None,
        }
        row["gflops"] = row["gflop_per_step"] / med if flops else None
        row["ref_equiv_gflops"] = ref.flops / 1e9 / med if ref and ref.flops else None
        row["pct_peak"] = 100 * row["gflops"] / peak if peak and row["gflops"] else None
        row["ref_equiv_pct_peak"] = (
            100 * row["ref_equiv_gflops"] / peak if peak and row["ref_equiv_gflops"] else None
        )
        rows.append(row)
    return {"model": name, "rows": rows}


def print_profile(v: Variant) -> None:
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if v.device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        v.step()
        sync(v.device)
    key = "self_device_time_total" if v.device.type == "cuda" else "self_cpu_time_total"
    print(f"\nprofile of one {v.name} step")
    print(prof.key_averages().table(sort_by=key, row_limit=20))


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(result: dict) -> None:
    print(f"\n{result['model']}: training step")
    head = (
        f"{'variant':<22}{'median s':>10}{'min-max s':>15}{'x ref':>7}{'GFLOP':>8}{'GFLOP/s':>9}{'% peak':>8}"
    )
    print(head + f"{'ref-equiv GFLOP/s (%)':>24}")
    for r in result["rows"]:
        print(
            f"{r['variant']:<22}{r['median_s']:>10.3f}{fmt(r['min_s'], '.3f') + '-' + fmt(r['max_s'], '.3f'):>15}"
            f"{fmt(r['speedup_vs_ref'], '.2f'):>7}{fmt(r['gflop_per_step'], '.1f'):>8}{fmt(r['gflops'], '.1f'):>9}"
            f"{fmt(r['pct_peak'], '.0f'):>8}{fmt(r['ref_equiv_gflops'], '.1f') + ' (' + fmt(r['ref_equiv_pct_peak'], '.0f') + ')':>24}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    load0 = os.getloadavg()
    info = {
        "torch": torch.__version__,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "seg": args.seg,
        "repeats": args.repeats,
        "loss": args.loss,
        "clock": args.clock,
    }
    print(" ".join(f"{k}={v}" for k, v in info.items()) + f"  load before: {load0[0]:.2f} {load0[1]:.2f}")
    results = []
    for name in args.model:
        res = run(name, args)
        print_table(res)
        results.append(res)
    load1 = os.getloadavg()
    print(f"\nload after: {load1[0]:.2f} {load1[1]:.2f} (1- and 5-minute averages)")
    if args.json:
        args.json.write_text(json.dumps({"info": info, "load": [load0, load1], "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
