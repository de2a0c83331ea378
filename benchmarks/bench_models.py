"""Training-step speed of every model against the original code's baselines: fp32, bf16, torch.compile.

One step is what the original trains with: forward, loss, backward, optimiser step.

* ``agcn`` (batch 8 x (3, T, 25, 2), T = ``--frames``, default 100): cross-entropy, SGD (Nesterov
  0.9, weight decay 1e-4); baseline ``benchmarks/reference_agcn.py`` (2s-AGCN's ``model/agcn.py``).
* ``aagcn``: the same step; no baseline (2s-AGCN's repository has no AAGCN).
* ``sgn`` / ``impsgnv2`` (batch 64 x (3, 20, 25, 1)): SGN's label smoothing 0.1, Adam (1e-3, weight
  decay 1e-4); baselines ``benchmarks/reference_sgn.py`` (microsoft/SGN, acvai/impSGNv2).
* ``stgcn`` / ``stgcnpp`` (batch 8 x (3, T, 25, 2)): ST-GCN and ST-GCN++ built from MMAction2's model
  dicts (``bench_mmaction_gcn.CONFIGS``), cross-entropy, SGD (Nesterov 0.9, weight decay 1e-4).
* ``posec3d`` (batch 4 x (17, 48, 56, 56) heatmap volumes; ``--frames`` does not apply): the NTU60
  keypoint model (``bench_posec3d.NTU60_KEYPOINT``), cross-entropy, SGD (0.9, weight decay 3e-4); the
  input is contiguous as the feeder gives it, the model works in channels-last 3D memory itself.

The baseline of the last three is MMAction2 1.2.0, which runs in its own environment:
``benchmarks/bench_mmaction_gcn.py`` and ``benchmarks/bench_posec3d.py`` time it against ours (CPU
figures in BENCHMARKS.md); here their baseline columns are '-'.

Every variant (baseline fp32; ours in each ``--precision``, eager and, with ``--compile``,
``torch.compile``'d) runs ``--warmup`` untimed steps, then ``--repeats`` timed steps interleaved
(A, B, C, A, B, C, ...): load changes on a shared machine hit all alike. Reported: the fastest step
(the figure to compare on a shared machine), the median, the speed-up of both against the baseline,
and the load average before and after. A compiled variant also reports its compile time (first
steps minus steady steps) and after how many steps it pays back, against the steps of one NTU60
xsub epoch (40,091 samples). ``--compile-models`` limits compiling to some models (each compile of
a training step costs tens of seconds, also on a GPU).

``--layers`` adds, per model, a table by layer type (GEMM, batched matmul, convolution forward /
backward, normalisation, everything else) for the baseline and ours in fp32: FLOPs
(``torch.utils.flop_counter``), seconds (each aten op timed around its call by a dispatch mode,
``OpTimer``; on CUDA the profiler's kernel time), GFLOP/s and its share of the fp32 matrix peak
(the faster of a 4096^3 GEMM and the same product as a oneDNN / cuDNN 1x1 convolution, measured
first); and each code's floor, its matrix FLOPs at that peak, which bounds the speed-up any code
doing the same FLOPs can reach on this machine (``x max``: the baseline's step over ours' floor).

    python benchmarks/bench_models.py --model agcn --repeats 5                # T = 100
    python benchmarks/bench_models.py --model agcn --frames 300 --layers
    python benchmarks/bench_models.py --model sgn impsgnv2 --repeats 7
    python benchmarks/bench_models.py --model all --precision fp32 bf16 --compile --repeats 5
    python benchmarks/bench_models.py --device cuda --model all --precision fp32 bf16 --compile
    python benchmarks/bench_models.py --model stgcn stgcnpp posec3d --precision fp32 --repeats 3
    python benchmarks/bench_models.py --tiny --model all --compile --repeats 1 --warmup 0   # smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from utils.memory import TRAINING, keep_freed_memory  # noqa: E402

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MODELS = ("agcn", "aagcn", "sgn", "impsgnv2", "stgcn", "stgcnpp", "posec3d")
MMACTION2_BASELINE = ("stgcn", "stgcnpp", "posec3d")  # baseline: MMAction2 itself, timed elsewhere
NTU60_XSUB_TRAIN = 40_091  # samples in one epoch
NTU = dict(num_class=60, num_point=25, graph="graph.ntu_rgb_d.Graph")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as "a b c" ("n/a" where the OS has none)."""
    return "n/a" if not hasattr(os, "getloadavg") else "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def sgn_label_smoothing(logits: torch.Tensor, target: torch.Tensor, eps: float = 0.1) -> torch.Tensor:
    """SGN's loss: target mass 1 - eps, eps / (C - 1) on every other class, batch mean."""
    logp = F.log_softmax(logits.float(), dim=-1)
    q = torch.full_like(logp, eps / (logits.shape[-1] - 1)).scatter_(1, target[:, None], 1 - eps)
    return -(q * logp).sum(dim=1).mean()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), target)


@dataclass
class Case:
    """One model's benchmark: our model, the baseline (or None), inputs, loss and optimiser."""

    name: str
    ours: torch.nn.Module
    ref: torch.nn.Module | None
    x: torch.Tensor  # ours: (N, C, T, V, M)
    x_ref: torch.Tensor | None  # the baseline's own input layout
    y: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer]


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)


def adam(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)


def sgd_posec3d(model: torch.nn.Module) -> torch.optim.Optimizer:
    """PoseC3D's optimiser in MMAction2's configs (``bench_posec3d.py``'s)."""
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=3e-4)


def mmaction_case(name: str, args: argparse.Namespace, device: torch.device, g: torch.Generator) -> Case:
    """ST-GCN, ST-GCN++ or PoseC3D from MMAction2's model dict (``--tiny``: narrow and small input)."""
    from benchmarks.bench_mmaction_gcn import CONFIGS
    from benchmarks.bench_posec3d import NTU60_KEYPOINT
    from model.mmaction import build

    cfg = copy.deepcopy(NTU60_KEYPOINT if name == "posec3d" else CONFIGS[name])
    if name == "posec3d":
        batch = args.batch or (2 if args.tiny else 4)
        frames, size = (8, 24) if args.tiny else (48, 56)
        if args.tiny:  # 4 base channels, one block per stage: 64 output channels
            cfg["backbone"].update(base_channels=4, stage_blocks=[1, 1, 1])
            cfg["cls_head"]["in_channels"] = 64
        x = torch.rand(batch, 17, frames, size, size, generator=g)  # (N, C, T, H, W)
    else:
        batch = args.batch or (4 if args.tiny else 8)
        if args.tiny:
            cfg["backbone"]["base_channels"] = 8
            cfg["cls_head"]["in_channels"] = 32
        x = torch.randn(batch, 3, args.frames, 25, 2, generator=g)  # (N, C, T, V, M)
    y = torch.randint(0, 60, (batch,), generator=g)
    optimizer = sgd_posec3d if name == "posec3d" else sgd
    return Case(name, build(cfg), None, x.to(device), None, y.to(device), cross_entropy, optimizer)


def build_case(name: str, args: argparse.Namespace, device: torch.device) -> Case:
    """Models with identical weights, a fixed random input and labels."""
    g = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    if name in MMACTION2_BASELINE:
        return mmaction_case(name, args, device, g)
    if name in ("agcn", "aagcn"):
        from model.aagcn import Model as AAGCN
        from model.agcn import Model as AGCN

        width = dict(base_channel=8) if args.tiny else {}
        batch, frames = args.batch or (4 if args.tiny else 8), args.frames
        x = torch.randn(batch, 3, frames, 25, 2, generator=g)
        y = torch.randint(0, 60, (batch,), generator=g)
        ours: torch.nn.Module = (AGCN if name == "agcn" else AAGCN)(**NTU, num_person=2, **width)
        ref = None
        if name == "agcn" and not args.tiny:
            from benchmarks.reference_agcn import RefModel

            ref = RefModel(**NTU, num_person=2)
            ours.load_state_dict(ref.state_dict())
        return Case(
            name, ours, ref, x.to(device), x.to(device) if ref else None, y.to(device), cross_entropy, sgd
        )
    from benchmarks.reference_sgn import SGN, ImpSGNv2, reference_input
    from model import impsgnv2, sgn

    batch, seg = args.batch or (4 if args.tiny else 64), 20
    x = torch.randn(batch, 3, seg, 25, 1, generator=g)
    y = torch.randint(0, 60, (batch,), generator=g)
    if name == "sgn":
        ours = sgn.Model(seg=seg, **(dict(dim=32) if args.tiny else {}))
        ref = None if args.tiny else SGN(seg=seg, batch_size=batch, device=device)
    else:
        ours = impsgnv2.Model(seg=seg, **(dict(base_channel=8) if args.tiny else {}))
        ref = None if args.tiny else ImpSGNv2(seg=seg, batch_size=batch, device=device)
    if ref is not None:
        ref.load_state_dict(ours.state_dict(), strict=True)
    x_ref = reference_input(x).to(device) if ref is not None else None
    return Case(name, ours, ref, x.to(device), x_ref, y.to(device), sgn_label_smoothing, adam)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast to ``precision`` ("bf16", "fp16"); a no-op for "fp32"."""
    dtype = DTYPES[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()


def count_flops(fn: Callable[[], object]) -> float:
    """FLOPs of one call of ``fn`` (torch.utils.flop_counter: matmuls and convolutions, 2 per MAC)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return float(counter.get_total_flops())


def profile_step(fn: Callable[[], object], device: torch.device) -> torch.profiler.profile:
    """Run ``fn`` once under torch.profiler (CPU, plus CUDA on a GPU) and return the profiler."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        sync(device)
    return prof


def self_time_attr(device: torch.device) -> str:
    """The profiler event attribute holding an op's own time on ``device``."""
    return "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"


@dataclass
class Variant:
    """A model in one precision (optionally compiled) with its own optimiser; ``step`` is timed."""

    name: str
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    precision: str
    device: torch.device
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    opt: torch.optim.Optimizer
    compiled: bool = False
    times: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)  # warm-up steps (compile time for compiled)

    def step(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        with autocast(self.device, self.precision):
            out = self.model(self.x)
        self.loss(out, self.y).backward()
        self.opt.step()

    clock = staticmethod(time.perf_counter)

    def timed(self) -> float:
        sync(self.device)
        start = self.clock()
        self.step()
        sync(self.device)
        return self.clock() - start

    def flops(self) -> float:
        """FLOPs of one training step (run once more; for an eager model)."""
        return count_flops(self.step)

    def profile_table(self, row_limit: int = 25) -> str:
        """torch.profiler table (ops by self time) of one training step, after one warm-up step."""
        self.step()
        prof = profile_step(self.step, self.device)
        return prof.key_averages().table(sort_by=self_time_attr(self.device), row_limit=row_limit)


def variants_of(case: Case, args: argparse.Namespace, device: torch.device) -> list[Variant]:
    out = []
    if case.ref is not None and not args.no_reference:
        ref = copy.deepcopy(case.ref).to(device).train()
        out.append(
            Variant("baseline-fp32", ref, case.x_ref, case.y, "fp32", device, case.loss, case.optimizer(ref))
        )
    compiled_precisions = args.compile_precision or args.precision
    compile_ = args.compile and case.name in (args.compile_models or MODELS)
    for precision in args.precision:
        for compiled in (False, True) if compile_ and precision in compiled_precisions else (False,):
            model = copy.deepcopy(case.ours).to(device).train()
            runner = torch.compile(model) if compiled else model
            name = f"ours-{precision}" + ("-compile" if compiled else "")
            opt = case.optimizer(model)
            out.append(Variant(name, runner, case.x, case.y, precision, device, case.loss, opt, compiled))
    return out


def run_case(name: str, args: argparse.Namespace, device: torch.device, peak: float | None = None) -> dict:
    case = build_case(name, args, device)
    variants = variants_of(case, args, device)
    for v in variants:
        for _ in range(max(args.warmup, 2 if v.compiled else 0)):
            v.first.append(v.timed())
    for _ in range(args.repeats):
        for v in variants:
            v.times.append(v.timed())
    base = next((v for v in variants if v.name == "baseline-fp32"), None)
    eager = {v.precision: v for v in variants if not v.compiled and v is not base}
    rows = []
    for v in variants:
        row = {
            "model": name,
            "variant": v.name,
            "fastest_s": min(v.times),
            "median_s": statistics.median(v.times),
            "samples_per_s": len(case.y) / min(v.times),
            "speedup_fastest": min(base.times) / min(v.times) if base else None,
            "speedup_median": statistics.median(base.times) / statistics.median(v.times) if base else None,
        }
        if v.compiled:
            steady = min(v.times)
            row["compile_s"] = max(0.0, sum(v.first) - steady * len(v.first))
            saved = min(eager[v.precision].times) - steady
            row["payback_steps"] = math.ceil(row["compile_s"] / saved) if saved > 0 else None
            row["epoch_steps"] = math.ceil(NTU60_XSUB_TRAIN / len(case.y))
        rows.append(row)
    layers = None
    if args.layers:
        steps = {"ours": min(eager["fp32"].times)} if "fp32" in eager else {}
        if base:
            steps["baseline"] = min(base.times)
        layers = layer_table(case, device, peak, steps=steps)
    return {"model": name, "batch": len(case.y), "input": list(case.x.shape), "rows": rows, "layers": layers}


# -- FLOP utilisation per layer type --------------------------------------------------------------
LAYER_TYPES = {  # aten op name -> layer type (FlopCounterMode, the dispatch timer and the profiler agree)
    "mm": "GEMM",
    "addmm": "GEMM",
    "bmm": "batched matmul",
    "baddbmm": "batched matmul",
    "convolution": "convolution fwd",
    "mkldnn_convolution": "convolution fwd",
    "_convolution": "convolution fwd",
    "cudnn_convolution": "convolution fwd",
    "convolution_backward": "convolution bwd",
    "native_batch_norm": "normalisation",
    "native_batch_norm_backward": "normalisation",
    "_native_batch_norm_legit": "normalisation",
    "_native_batch_norm_legit_no_training": "normalisation",
    "native_layer_norm": "normalisation",
    "native_layer_norm_backward": "normalisation",
}
MATRIX_TYPES = ("GEMM", "batched matmul", "convolution fwd", "convolution bwd")
TYPE_ORDER = (*MATRIX_TYPES, "normalisation", "other")


def layer_type(op: object) -> str:
    """The layer type of an aten op (``aten.mm.default``, ``aten::mm``, ``mm``); "other" if none."""
    name = str(op).removeprefix("aten::").removeprefix("aten.").split(".")[0]
    return LAYER_TYPES.get(name, "other")


class OpTimer(TorchDispatchMode):
    """Seconds of every aten op run under it, summed by layer type (CPU: ops are synchronous).

    ``torch.profiler`` was measured to misattribute time on these steps (memory-bound backward ops
    at 22-35 ms per call in its table where the same call takes 2-3 ms timed alone); this times each
    op around the call itself (wall clock, or the step's clock under ``--clock cpu``). An op's
    decomposition runs inside the call and is counted once, under the op that was called. Overhead:
    a few microseconds per op.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.clock = clock  # perf_counter, or process_time for ``--clock cpu``
        self.seconds: dict[str, float] = {}
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = self.clock()
        out = func(*args, **(kwargs or {}))
        kind = layer_type(func.overloadpacket.__name__)
        self.seconds[kind] = self.seconds.get(kind, 0.0) + self.clock() - start
        self.calls += 1
        return out


def op_seconds(fn: Callable[[], object], device: torch.device) -> dict[str, float]:
    """Seconds by layer type of one call of ``fn``: the dispatch timer on CPU, the profiler's device
    time on CUDA (kernels run asynchronously there)."""
    if device.type != "cpu":
        seconds: dict[str, float] = {}
        for event in profile_step(fn, device).key_averages():
            kind = layer_type(event.key)
            seconds[kind] = seconds.get(kind, 0.0) + getattr(event, self_time_attr(device)) / 1e6
        return seconds
    timer = OpTimer(Variant.clock)
    with timer:
        fn()
    return timer.seconds


def layer_table(
    case: Case,
    device: torch.device,
    peak: float | None = None,
    repeats: int = 3,
    steps: dict[str, float] | None = None,
) -> list[dict]:
    """FLOPs, seconds and GFLOP/s per layer type for one fp32 step of the baseline and of ours.

    Each code's step is timed by op (the run with the smallest total of ``repeats``) and plainly:
    ``steps`` ({"baseline": s, "ours": s}, the interleaved timings of ``run_case``) where given, else
    the fastest of ``repeats`` plain steps here. With ``peak`` (the device's fp32 matrix GFLOP/s),
    each code also gets its floor: its matrix FLOPs (GEMM, batched matmul, convolutions) at the
    peak, with nothing else taking time; ``x_max`` is the baseline's step over that floor, the
    largest speed-up those FLOPs allow.
    """
    rows = []
    models = [("baseline", case.ref, case.x_ref)] if case.ref is not None else []
    base_step = None
    for label, model, x in [*models, ("ours", case.ours, case.x)]:
        model = copy.deepcopy(model).to(device).train()
        v = Variant(label, model, x, case.y, "fp32", device, case.loss, case.optimizer(model))
        v.step()  # warm-up
        step = steps[label] if steps and label in steps else min(v.timed() for _ in range(repeats))
        if label == "baseline":  # runs first: ours' x_max is measured against it
            base_step = step
        counter = FlopCounterMode(display=False)
        with counter:
            v.step()
        flops: dict[str, float] = {}
        for op, count in counter.get_flop_counts().get("Global", {}).items():
            kind = layer_type(op)
            flops[kind] = flops.get(kind, 0.0) + count
        seconds = min((op_seconds(v.step, device) for _ in range(repeats)), key=lambda d: sum(d.values()))
        for kind in TYPE_ORDER:
            if kind in flops or seconds.get(kind, 0) > 0:
                f, s = flops.get(kind, 0.0), seconds.get(kind, 0.0)
                rows.append({"model": label, "type": kind, "gflop": f / 1e9, "seconds": s, "share": s / step,
                             "gflops": f / 1e9 / s if s and f else None,
                             "peak_share": f / 1e9 / s / peak if s and f and peak else None})  # fmt: skip
        matrix = sum(flops.get(k, 0.0) for k in MATRIX_TYPES) / 1e9
        floor = matrix / peak if peak else None
        rows.append({"model": label, "type": "whole step", "gflop": matrix, "seconds": step, "share": 1.0,
                     "gflops": matrix / step, "peak_share": matrix / step / peak if peak else None,
                     "ops_seconds": sum(seconds.values()), "floor_s": floor,
                     "x_max": base_step / floor if floor and base_step else None})  # fmt: skip
    return rows


def measure_peak(
    device: torch.device,
    conv1x1: bool = False,
    size: int | None = None,
    repeats: int = 3,
    precisions: tuple[str, ...] = ("fp32", "bf16"),
) -> dict[str, float]:
    """The matrix peak in practice: GFLOP/s of a size^3 GEMM, fp32 and bf16 ("matmul-fp32", ...).

    ``size`` defaults to 4096 on CPU, 8192 on CUDA. With ``conv1x1`` the same product also runs as a
    1x1 convolution of channels-last (1, size, size / 64, 64) input (oneDNN / cuDNN: "conv1x1-fp32",
    ...). Each figure is the fastest of ``repeats`` runs after one untimed run.
    """
    size = size or (8192 if device.type == "cuda" else 4096)
    a = torch.randn(size, size, device=device)
    x = torch.randn(1, size, size // 64, 64, device=device).contiguous(memory_format=torch.channels_last)
    ops = {"matmul": lambda m, x: m @ m, "conv1x1": lambda m, x: F.conv2d(x, m[:, :, None, None])}
    peaks = {}
    for precision in precisions:
        dtype = DTYPES[precision] or torch.float32
        m, xd = a.to(dtype), x.to(dtype)
        for name in ("matmul", "conv1x1") if conv1x1 else ("matmul",):
            times = []
            for _ in range(repeats + 1):
                sync(device)
                start = time.perf_counter()
                ops[name](m, xd)
                sync(device)
                times.append(time.perf_counter() - start)
            peaks[f"{name}-{precision}"] = 2 * size**3 / min(times[1:]) / 1e9
    return peaks


def peak_line(peaks: dict[str, float]) -> str:
    """``measure_peak``'s figures on one line."""
    return "Measured peak, GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())


# -- output ---------------------------------------------------------------------------------------
def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(results: list[dict], header: str) -> str:
    lines = [header, "", "| model | variant | fastest s/step | median s/step | samples/s | x baseline (fastest) "
             "| x baseline (median) | compile s | pays back after |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for res in results:
        for r in res["rows"]:
            payback = "-"
            if "compile_s" in r:
                payback = (
                    "never"
                    if r["payback_steps"] is None
                    else f"{r['payback_steps']} steps ({r['payback_steps'] / r['epoch_steps']:.2f} NTU epochs)"
                )
            lines.append(
                f"| {r['model']} | {r['variant']} | {r['fastest_s']:.4f} | {r['median_s']:.4f} | "
                f"{r['samples_per_s']:.1f} | {fmt(r['speedup_fastest'], '.2f')} | {fmt(r['speedup_median'], '.2f')} | "
                f"{fmt(r.get('compile_s'), '.1f')} | {payback} |"
            )
    no_baseline = [res["model"] for res in results if res["model"] in MMACTION2_BASELINE]
    if no_baseline:
        lines += ["", f"{', '.join(no_baseline)}: baseline MMAction2 1.2.0, not run here (its own environment); "
                  "benchmarks/bench_mmaction_gcn.py and bench_posec3d.py time it, see BENCHMARKS.md."]  # fmt: skip
    for res in results:
        if res.get("layers"):
            lines += ["", f"{res['model']}: one fp32 training step by layer type (seconds timed op by op; "
                      "'whole step': the fastest step of the table above, its matrix FLOPs, and its floor: those FLOPs at "
                      "the fp32 matrix peak)", "",
                      "| code | layer type | GFLOP | s | share of step | GFLOP/s | % of peak | floor s | x max |",
                      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
            for r in res["layers"]:
                peak_pct = None if r.get("peak_share") is None else 100 * r["peak_share"]
                kind = r["type"] + (f" (op by op: {r['ops_seconds']:.3f} s)" if "ops_seconds" in r else "")
                lines.append(
                    f"| {r['model']} | {kind} | {r['gflop']:.2f} | {r['seconds']:.3f} | "
                    f"{100 * r['share']:.0f}% | {fmt(r['gflops'], '.1f')} | {fmt(peak_pct, '.0f')} | "
                    f"{fmt(r.get('floor_s'), '.3f')} | {fmt(r.get('x_max'), '.2f')} |"
                )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", default=["agcn", "sgn", "impsgnv2"], choices=[*MODELS, "all"])
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        help="default: 8 (AGCN, AAGCN, ST-GCN(++)), 64 (SGN, ImpSGNv2), 4 (PoseC3D)",
    )
    p.add_argument("--frames", type=int, default=100, help="AGCN / AAGCN / ST-GCN(++) input frames T")
    p.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=sorted(DTYPES))
    p.add_argument("--compile", action="store_true", help="also time torch.compile(ours) per precision")
    p.add_argument(
        "--compile-precision",
        nargs="+",
        choices=sorted(DTYPES),
        help="compile only these (default: --precision)",
    )
    p.add_argument(
        "--compile-models", nargs="+", choices=MODELS, help="compile only these models (default: every one)"
    )
    p.add_argument("--repeats", type=int, default=5, help="timed steps per variant, interleaved")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per variant first (compiled: >= 2)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument(
        "--malloc",
        choices=["glibc", "training"],
        default="glibc",
        help="glibc: the allocator's defaults (how the original code runs); training: the settings "
        "main.py applies (utils.memory.TRAINING), for every variant in this process",
    )
    p.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: process CPU seconds instead of wall seconds (with --threads 1: robust on a busy machine)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    p.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 (off by default: fp32 is fp32)")
    p.add_argument("--no-reference", action="store_true", help="time ours only")
    p.add_argument(
        "--layers",
        action="store_true",
        help="fp32 time, FLOPs and GFLOP/s per layer type, and each code's floor at the fp32 matrix peak",
    )
    p.add_argument("--peak", action="store_true", help="also measure the fp32 / bf16 GEMM peak (GFLOP/s)")
    p.add_argument(
        "--tiny", action="store_true", help="narrow models, no baselines: a quick end-to-end check"
    )
    p.add_argument("--markdown", type=Path, help="also write the tables as Markdown")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if args.malloc == "training" and not keep_freed_memory(**TRAINING):
        print("note: --malloc training had no effect (not glibc, or MALLOC_* already set)")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    Variant.clock = staticmethod(time.process_time if args.clock == "cpu" else time.perf_counter)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    names = list(MODELS) if "all" in args.model else list(dict.fromkeys(args.model))
    before = load_average()
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, load before: {before}"
    )
    peak = measure_peak(device) if args.peak else None
    matrix_peak = None
    if args.layers:  # the floors: the best fp32 matrix rate this device shows (BLAS GEMM or oneDNN 1x1 conv)
        matrix_peak = max(measure_peak(device, conv1x1=True, repeats=5, precisions=("fp32",)).values())
    results = [run_case(name, args, device, matrix_peak) for name in names]
    after = load_average()
    header = (
        f"Training steps on {device} ({torch.get_num_threads()} threads, torch {torch.__version__}); "
        f"fastest and median of {args.repeats} interleaved steps ({'CPU' if args.clock == 'cpu' else 'wall'} "
        f"seconds); load average {before} before, {after} after; allocator: {args.malloc}."
    )
    if peak:
        header += f" {peak_line(peak)}."
    if matrix_peak:
        header += (
            f" fp32 matrix peak (the faster of a GEMM and a 1x1 convolution): {matrix_peak:.0f} GFLOP/s."
        )
    text = markdown(results, header)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"markdown": None, "json": None},
                                         "load": [before, after], "peak": peak, "results": results}, indent=1, default=str))  # fmt: skip
    return results


if __name__ == "__main__":
    main()
