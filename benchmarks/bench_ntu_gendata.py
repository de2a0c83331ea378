"""Throughput and peak memory of ``data_gen/ntu_gendata.py`` against the 2s-AGCN reference algorithm.

A raw set is built by hard-linking (or copying) the golden ``.skeleton`` files of
``tests/fixtures/ntu_gendata/raw.tar.xz`` under distinct valid NTU60 names. Both implementations
make xsub and xview, train and val (the reference as it does: once per benchmark and part). Each run
is a fresh subprocess, so its peak RSS is its own: ``ru_maxrss`` of the process (RUSAGE_SELF) and
of its largest worker (RUSAGE_CHILDREN). Runs of the two are interleaved; medians are reported.
The reference is slow, so it runs on the first ``--ref-files`` files and its per-file throughput is
extrapolated.

    python benchmarks/bench_ntu_gendata.py --files 500 --ref-files 60 --repeats 3
    python benchmarks/bench_ntu_gendata.py --rss-files 500 2000 --repeats 1   # RSS vs. dataset size
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "ntu_gendata" / "raw.tar.xz"
NTU60_FILES = 56_880
# Golden files in the ignore list (not real samples) and the all-zero one are not replicated.
EXCLUDED = {"S001C001P001R001A002", "S003C002P004R002A019", "S007C001P017R001A021"}


def sample_name(i: int) -> str:
    """A distinct valid NTU60 name for every i < 244,800."""
    subject, cam, action = i % 40 + 1, (i // 40) % 3 + 1, (i // 120) % 60 + 1
    rep, setup = (i // 7_200) % 2 + 1, (i // 14_400) % 17 + 1
    return f"S{setup:03d}C{cam:03d}P{subject:03d}R{rep:03d}A{action:03d}.skeleton"


def build_raw(folder: Path, count: int, sources: list[Path]) -> int:
    """Fill ``folder`` with ``count`` files; returns their total size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(count):
        src, dst = sources[i % len(sources)], folder / sample_name(i)
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
        total += src.stat().st_size
    return total


def child(kind: str, raw: str, out: str, workers: int) -> None:
    """Run one implementation in this process and print timing and peak RSS as JSON."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    if kind == "ours":
        from data_gen.common import setup_logging
        from data_gen.ntu_gendata import gendata

        setup_logging()
        summary = gendata(raw, out, ignored_sample_path="", workers=workers, overwrite=True)
        assert summary.exit_code() == 0, summary
    else:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from reference_ntu_gendata import main as reference_main

        reference_main(["--data_path", raw, "--out_folder", out])
    wall = time.perf_counter() - start
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime  # includes interpreter start-up
    print(json.dumps({"wall": round(wall, 3), "cpu": round(cpu, 3), "rss_self_mb": round(own.ru_maxrss / 1024, 1),
                      "rss_children_mb": round(kids.ru_maxrss / 1024, 1)}))  # fmt: skip


def run_child(kind: str, raw: Path, out: Path, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(raw), str(out), "--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500, help="raw files for our implementation")
    parser.add_argument("--ref-files", type=int, default=60, help="raw files for the reference (0 = skip it)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rss-files", type=int, nargs="*", default=[], help="extra sizes: our peak RSS only")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "RAW", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, workers=args.workers)
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_ntu_"))
    try:
        benchmark(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def benchmark(args: argparse.Namespace, work: Path) -> None:
    """Build the raw sets under ``work``, run both implementations interleaved, print the figures."""
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(work / "golden", filter="data")
    sources = sorted(p for p in (work / "golden" / "raw").glob("*.skeleton") if p.stem not in EXCLUDED)
    raw = work / f"raw_{args.files}"
    size = build_raw(raw, args.files, sources)
    ref_raw = work / f"raw_{args.ref_files}"
    ref_size = build_raw(ref_raw, args.ref_files, sources) if args.ref_files else 0
    print(
        f"raw set: {args.files} files, {size / 1e6:.0f} MB ({size / args.files / 1e3:.0f} KB/file); "
        f"reference subset: {args.ref_files} files; cpus: {os.cpu_count()}; workers: {args.workers}"
    )

    ours, ref = [], []
    for r in range(args.repeats):
        if args.ref_files:
            ref.append(run_child("reference", ref_raw, work / "out_ref", args.workers))
            print(f"  run {r + 1}: reference {ref[-1]}")
        ours.append(run_child("ours", raw, work / "out_ours", args.workers))
        print(f"  run {r + 1}: ours      {ours[-1]}")

    ours_fps = statistics.median(args.files / x["wall"] for x in ours)
    ours_cpu = statistics.median(x["cpu"] / args.files for x in ours) * 1e3
    print(
        f"ours: {ours_fps:.1f} files/s ({ours_fps * size / args.files / 1e6:.1f} MB/s), "
        f"{ours_cpu:.2f} CPU-ms/file, median of {len(ours)}; peak RSS main "
        f"{max(x['rss_self_mb'] for x in ours):.0f} MB, largest worker {max(x['rss_children_mb'] for x in ours):.0f} MB"
    )
    if ref:
        ref_fps = statistics.median(args.ref_files / x["wall"] for x in ref)
        ref_cpu = statistics.median(x["cpu"] / args.ref_files for x in ref) * 1e3
        print(
            f"reference: {ref_fps:.2f} files/s ({ref_fps * ref_size / args.ref_files / 1e6:.2f} MB/s), "
            f"{ref_cpu:.1f} CPU-ms/file; peak RSS {max(x['rss_self_mb'] for x in ref):.0f} MB on {args.ref_files} files"
        )
        print(
            f"speed-up: {ours_fps / ref_fps:.1f}x in files/s (wall), {ref_cpu / ours_cpu:.1f}x in CPU time per file"
        )
        print(
            f"full NTU60 ({NTU60_FILES} files, at this file mix): ours {NTU60_FILES / ours_fps / 60:.1f} min, "
            f"reference {NTU60_FILES / ref_fps / 3600:.1f} h"
        )
    for count in args.rss_files:
        folder = work / f"raw_{count}"
        build_raw(folder, count, sources)
        res = run_child("ours", folder, work / "out_rss", args.workers)
        print(
            f"peak RSS at {count} files: main {res['rss_self_mb']:.0f} MB, largest worker "
            f"{res['rss_children_mb']:.0f} MB ({count / res['wall']:.1f} files/s)"
        )


if __name__ == "__main__":
    main()
