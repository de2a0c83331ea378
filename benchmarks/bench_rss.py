"""Resident memory of CPU training steps with glibc's defaults or the setting main.py applies.

    python benchmarks/bench_rss.py --model agcn --malloc glibc
    python benchmarks/bench_rss.py --model agcn --malloc training

One model per process (peak RSS is per process): four fp32 training steps (AGCN batch 8 x (3, 100,
25, 2), SGN / ImpSGNv2 batch 64 x (3, 20, 25, 1)), then the peak and the current resident set.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from utils.memory import TRAINING, keep_freed_memory  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["agcn", "sgn", "impsgnv2"], default="agcn")
    p.add_argument("--malloc", choices=["glibc", "training"], default="glibc")
    p.add_argument("--steps", type=int, default=4)
    args = p.parse_args(argv)
    if args.malloc == "training":
        keep_freed_memory(**TRAINING)
    from model import agcn, impsgnv2, sgn

    torch.manual_seed(0)
    if args.model == "agcn":
        m = agcn.Model(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph")
        x = torch.randn(8, 3, 100, 25, 2)  # (N, C, T, V, M)
    else:
        m = (sgn if args.model == "sgn" else impsgnv2).Model(num_class=60, seg=20)
        x = torch.randn(64, 3, 20, 25, 1)  # (N, C, T, V, M)
    y = torch.randint(0, 60, (x.shape[0],))
    opt = torch.optim.Adam(m.parameters())
    for _ in range(args.steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10  # KiB on Linux -> MiB
    now = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() >> 20
    print(f"{args.model}, allocator {args.malloc}: peak RSS {peak} MiB, after the steps {now} MiB")


if __name__ == "__main__":
    main()
