"""Whole-command speed of ``data_gen/ntu_gendata.py`` against the 2s-AGCN baseline, and its fixed cost.

A raw set is built by hard-linking (or copying) the golden ``.skeleton`` files of
``tests/fixtures/ntu_gendata/raw.tar.xz`` under distinct valid NTU60 names (539 KB per file on
average). Each run is the whole command in a fresh process, as a user types it:

* ours: ``python data_gen/ntu_gendata.py --data_path RAW --out_folder OUT --benchmark xsub
  --ignored_sample_path '' --overwrite`` (train and val of xsub: every file parsed once);
* the baseline: ``python benchmarks/reference_ntu_gendata.py ... --benchmark xsub`` (2s-AGCN's
  script: for each part it lists the folder and parses the part's files line by line in one
  process, then pre-normalises the whole array in Python loops).

Sizes given by ``--files`` run ours; those also in ``--ref-files`` run the baseline too, interleaved
with ours (baseline, ours, baseline, ours, ...). Reported: the fastest of ``--repeats`` whole-command
wall times, files/s, CPU seconds (all processes), the peak RSS of its largest process, the speed-up,
and the load average before and after. The fixed cost is reported three ways:
``python -c pass``, importing the generator, and the command on 3 files (one val sample); with two or more sizes, the
per-file cost and the intercept of the line through the two largest runs.

    python benchmarks/bench_ntu_gendata.py --files 400 2000 5000 --ref-files 400 --repeats 3
    python benchmarks/bench_ntu_gendata.py --files 400 2000 --ref-files 400 2000 --repeats 1   # ~4 min
    python benchmarks/bench_ntu_gendata.py --files 400 --ref-files 400 --previous ../main   # an older version too
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


PREVIOUS: Path | None = None  # --previous: another checkout whose generator runs as "previous"


def command(kind: str, raw: Path, out: Path, workers: int | None) -> list[str]:
    """The whole command of ``kind``: ours, the baseline, or the ``--previous`` checkout's generator."""
    script = {
        "ours": ROOT / "data_gen" / "ntu_gendata.py",
        "baseline": ROOT / "benchmarks" / "reference_ntu_gendata.py",
        "previous": (PREVIOUS or ROOT) / "data_gen" / "ntu_gendata.py",
    }[kind]
    cmd = [
        sys.executable,
        str(script),
        "--data_path",
        str(raw),
        "--out_folder",
        str(out),
        "--benchmark",
        "xsub",
    ]
    if kind != "baseline":
        cmd += ["--ignored_sample_path", "", "--overwrite"] + (
            [] if workers is None else ["--workers", str(workers)]
        )
    return cmd


def timed(cmd: list[str]) -> dict:
    """Run ``cmd``: wall seconds, CPU seconds of it and its workers, peak RSS of its largest process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)  # this child's usage, its reaped workers included
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def benchmark(args: argparse.Namespace, work: Path) -> dict:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(work / "golden", filter="data")
    sources = sorted(p for p in (work / "golden" / "raw").glob("*.skeleton") if p.stem not in EXCLUDED)
    sizes = sorted(set(args.files) | set(args.ref_files))
    raws = {n: work / f"raw_{n}" for n in [3, *sizes]}  # 3: the least with both splits
    nbytes = {n: build_raw(raws[n], n, sources) for n in raws}
    result: dict = {"load_before": load(), "cpus": os.cpu_count(), "runs": {}}
    print(f"cpus {os.cpu_count()}, load before {result['load_before']}; sizes {sizes} "
          f"({nbytes[sizes[-1]] / sizes[-1] / 1e3:.0f} KB per file)", flush=True)  # fmt: skip

    fixed = {}
    for label, cmd in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("import the generator", [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); import data_gen.ntu_gendata"]),
        ("ours, 3 files", command("ours", raws[3], work / "out_3", args.workers)),
    ):  # fmt: skip
        fixed[label] = min(timed(cmd)["wall"] for _ in range(max(3, args.repeats)))
        print(f"  fixed cost: {label}: {fixed[label]:.3f} s", flush=True)
    result["fixed"] = fixed

    for n in sizes:
        kinds = (["baseline"] if n in args.ref_files else []) + (["ours"] if n in args.files else [])
        kinds += ["previous"] if PREVIOUS is not None and n in args.files else []
        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for r in range(args.repeats):
            for kind in kinds:
                out = work / f"out_{kind}"
                runs[kind].append(timed(command(kind, raws[n], out, args.workers)))
                shutil.rmtree(out, ignore_errors=True)
                print(f"  {n} files, run {r + 1}, {kind}: {runs[kind][-1]['wall']:.2f} s wall, "
                      f"{runs[kind][-1]['cpu']:.2f} s CPU", flush=True)  # fmt: skip
        result["runs"][n] = runs
    result["load_after"] = load()
    return result


def markdown(result: dict, args: argparse.Namespace) -> str:
    lines = [
        f"`ntu_gendata.py --benchmark xsub`, whole command, fastest of {args.repeats}; {result['cpus']} CPUs; "
        f"load average {result['load_before']} before, {result['load_after']} after.",
        "",
        "| files | code | wall s | files/s | CPU s | peak RSS MB | speed-up | full NTU60 at this rate |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best: dict[tuple[int, str], float] = {}
    for n, runs in sorted(result["runs"].items()):
        for kind, rs in runs.items():
            wall = min(r["wall"] for r in rs)
            best[n, kind] = wall
            cpu = min(r["cpu"] for r in rs)
            rss = max(r["rss_mb"] for r in rs)
            speedup = (
                f"**{best[n, 'baseline'] / wall:.1f}x**" if kind == "ours" and (n, "baseline") in best else ""
            )
            full = NTU60_FILES / (n / wall)
            full_s = f"{full / 3600:.1f} h" if full > 3600 else f"{full / 60:.1f} min"
            lines.append(
                f"| {n} | {kind} | {wall:.2f} | {n / wall:.1f} | {cpu:.2f} | {rss:.0f} | {speedup} | {full_s} |"
            )
    fixed = result["fixed"]
    lines += ["", "Fixed cost: " + ", ".join(f"{k} {v:.3f} s" for k, v in fixed.items()) + "."]
    ours = sorted(n for n, kind in best if kind == "ours")
    if len(ours) >= 2:
        a, b = ours[-2], ours[-1]
        per_file = (best[b, "ours"] - best[a, "ours"]) / (b - a)
        lines.append(
            f"Marginal cost {per_file * 1e3:.2f} ms per file ({1 / per_file:.0f} files/s) between {a} and {b} "
            f"files; intercept {best[a, 'ours'] - a * per_file:.2f} s."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[400, 2000], help="sizes run with ours")
    parser.add_argument(
        "--ref-files", type=int, nargs="*", default=[400], help="sizes also run with the baseline"
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=None, help="ours: --workers (default: its own, one per CPU)"
    )
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument(
        "--previous", type=Path, help="a checkout of an earlier version: also time its generator"
    )
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    global PREVIOUS
    PREVIOUS = args.previous
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_ntu_"))
    try:
        result = benchmark(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    text = markdown(result, args)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
