"""NTU RGB+D 60 / 120 ``.skeleton`` files to 2s-AGCN tensors.

Writes ``{out_folder}/{benchmark}/{train,val}_data_joint.npy`` (float32, (N, 3, 300, 25, 2)) and
``{train,val}_label.pkl`` = ``(names with .skeleton, labels = action - 1)``, samples sorted by
name, exactly as the 2s-AGCN reference generates them (see ``../shared/reference/2s-agcn.md``
sections 2.2-2.3 and ``data_gen/preprocess.py`` for the quirks that are reproduced).

Benchmarks: ``xsub`` and ``xview`` (NTU60 samples only: setups S001-S017, actions A001-A060),
``xsub120`` and ``xset120`` (all samples). Every raw file is parsed once for all requested
benchmarks, in worker processes that write straight into memory-mapped outputs; a split is
published only when complete (rerunning completes the missing ones).

Bad files (truncated, empty, garbled, NaN coordinates, wrong joint count, a name that is not
``SsssCcccPpppRrrrAaaa.skeleton``) are reported with file and line, skipped, and listed in the
summary; the exit code is 1 only if a split ends up empty, or with ``--strict``.

``--denoise`` (``gendata(..., denoise=True)``, ``read_sample(path, denoise=True)``) makes the data
SGN and ImpSGNv2 were trained on instead: SGN's body denoising and actor assignment replace the
energy ranking, and SGN's translation (actor 1's middle of the spine in its first frame is the
origin; no rotation) replaces ``pre_normalization``; see ``data_gen/denoise.py``. Same file format,
so every feeder reads it; give it its own ``--out_folder`` (e.g. ``./data/ntu_denoised/``).
Files SGN cannot use (no body at all, no body outlasting its length rule) are reported and skipped.

Usage, from the repository root::

    python data_gen/ntu_gendata.py                      # NTU60 xsub + xview from ./data/nturgbd_raw
    python -m data_gen.ntu_gendata --benchmark xsub120 xset120 --out_folder ./data/ntu120/ \\
        --data_path ./data/nturgbd_raw/nturgb+d_skeletons/ ./data/nturgbd_raw/nturgb+d_skeletons120/
    python data_gen/ntu_gendata.py --denoise --out_folder ./data/ntu_denoised/   # SGN / ImpSGNv2 data
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_gen.common import (
    LOG,
    RunSummary,
    SplitWriter,
    add_common_arguments,
    cli,
    default_workers,
    record_options,
    setup_logging,
    split_done,
    write_splits,
)
from data_gen.ntu_skeleton import (  # noqa: F401  (re-exported: the parser's historical home)
    BODY_VALUES,
    JOINT_VALUES,
    NUM_JOINT,
    SkeletonSequence,
    _parse_fast,
    _parse_lines,
    _parse_tokens,
    read_skeleton,
)
from data_gen.preprocess import normalize_mtvc
from utils.errors import ConfigError, DataError
from utils.registry import READERS

MAX_FRAME = 300
MAX_BODY_TRUE = 2  # persons kept per sample
MAX_BODY_KINECT = 4  # body slots considered (bodies listed after the 4th are dropped)
SAMPLE_SHAPE = (3, MAX_FRAME, NUM_JOINT, MAX_BODY_TRUE)  # (C, T, V, M)

RESOURCES = Path(__file__).resolve().parent / "resources"
NTU60_IGNORE_LIST = RESOURCES / "NTU_RGBD_samples_with_missing_skeletons.txt"
NTU120_IGNORE_LIST = RESOURCES / "NTU_RGBD120_samples_with_missing_skeletons.txt"

SAMPLE_ID = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
FILE_NAME = re.compile(SAMPLE_ID.pattern + r"\.skeleton")

NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU60_XVIEW_TRAIN = (2, 3)  # cameras
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86,
    89, 91, 92, 93, 94, 95, 97, 98, 100, 103,
)  # fmt: skip


# -- sample ids and benchmarks ----------------------------------------------------------------------
@dataclass(frozen=True)
class SampleId:
    """The five fields of an NTU sample name ``SsssCcccPpppRrrrAaaa``."""

    setup: int
    camera: int
    subject: int
    replication: int
    action: int

    @classmethod
    def from_name(cls, name: str) -> SampleId | None:
        """Parse ``S001C002P003R002A013.skeleton`` (or the bare id); None if it does not match."""
        m = FILE_NAME.fullmatch(name) or SAMPLE_ID.fullmatch(name)
        return cls(*(int(g) for g in m.groups())) if m else None

    @property
    def is_ntu60(self) -> bool:
        return self.setup <= 17 and self.action <= 60

    @property
    def label(self) -> int:
        return self.action - 1


@dataclass(frozen=True)
class Benchmark:
    """An evaluation protocol: which samples it uses and which of them train."""

    name: str
    ntu60_only: bool

    def is_training(self, sid: SampleId) -> bool:
        if self.name == "xsub":
            return sid.subject in NTU60_XSUB_TRAIN
        if self.name == "xview":
            return sid.camera in NTU60_XVIEW_TRAIN
        if self.name == "xsub120":
            return sid.subject in NTU120_XSUB_TRAIN
        return sid.setup % 2 == 0  # xset120: even setup ids train

    def part_of(self, sid: SampleId) -> str | None:
        """'train', 'val', or None when the sample is not in this benchmark at all."""
        if self.ntu60_only and not sid.is_ntu60:
            return None
        return "train" if self.is_training(sid) else "val"

    @property
    def default_ignore_list(self) -> Path:
        return NTU60_IGNORE_LIST if self.ntu60_only else NTU120_IGNORE_LIST


BENCHMARKS = {
    "xsub": Benchmark("xsub", ntu60_only=True),
    "xview": Benchmark("xview", ntu60_only=True),
    "xsub120": Benchmark("xsub120", ntu60_only=False),
    "xset120": Benchmark("xset120", ntu60_only=False),
}
PARTS = ("train", "val")


def read_ignore_list(path: str | os.PathLike) -> frozenset[str]:
    """Sample ids (``SsssCcccPpppRrrrAaaa``) listed one per line; header and other lines are skipped.

    Accepts the official files (with their header lines) and bare lists without a trailing newline.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the ignore list ({exc.strerror or exc})") from exc
    ids = set()
    for line in text.splitlines():
        token = line.strip()
        if token.endswith(".skeleton"):
            token = token[: -len(".skeleton")]
        if SAMPLE_ID.fullmatch(token):
            ids.add(token)
    if not ids and text.strip():
        raise DataError(f"{path}: no sample id of the form SsssCcccPpppRrrrAaaa found; is it an ignore list?")
    return frozenset(ids)


# -- body selection --------------------------------------------------------------------------------
def body_slots(seq: SkeletonSequence, max_frame: int = MAX_FRAME) -> np.ndarray:
    """(4, T, 25, 3) float64: the m-th body listed in frame t goes to slot m (m < 4), T = min(frames, max_frame)."""
    num_frames = min(seq.num_frames, max_frame)
    slots = np.zeros((MAX_BODY_KINECT, num_frames, NUM_JOINT, 3))
    keep = (seq.slot < MAX_BODY_KINECT) & (seq.frame < num_frames)
    slots[seq.slot[keep], seq.frame[keep]] = seq.xyz[keep]
    return slots


def select_bodies(slots: np.ndarray) -> np.ndarray:
    """(2, T, 25, 3): the two slots with the largest motion energy, most active first.

    Energy of a slot = std(x) + std(y) + std(z) over its frames whose values do not sum to 0
    (0 for an empty slot); ties resolve like the reference's ``argsort()[::-1]``.
    """
    energy = np.zeros(len(slots))
    for m, body in enumerate(slots):
        if not body.any():
            continue  # empty slot: energy 0
        frames = body[body.sum(-1).sum(-1) != 0]  # (T', V, 3)
        if len(frames):
            energy[m] = frames[..., 0].std() + frames[..., 1].std() + frames[..., 2].std()
    order = energy.argsort()[::-1][:MAX_BODY_TRUE]
    return slots[order]


@READERS.register("data_gen.ntu_gendata.read_sample")
def read_sample(
    path: str | os.PathLike,
    max_frame: int = MAX_FRAME,
    normalize: bool = True,
    denoise: bool = False,
    fix_intervals: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """One file to the float32 (3, 300, 25, 2) tensor 2s-AGCN stores, and warnings for the summary.

    Frames beyond ``max_frame`` are dropped (the reference would crash on them). ``denoise``: SGN's
    denoising and translation instead (``normalize=False``: no translation; ``fix_intervals``: see
    :mod:`data_gen.denoise`); DataError for a file SGN cannot use.
    """
    if denoise:
        return _read_sample_denoised(path, max_frame, normalize, fix_intervals)
    if fix_intervals:
        raise ConfigError("fix_intervals only applies with denoise=True")
    seq = read_skeleton(path)
    notes = []
    if seq.num_frames > max_frame:
        notes.append(f"{path}: {seq.num_frames} frames, keeping the first {max_frame}")
    bodies = select_bodies(body_slots(seq, max_frame))  # (M, T, V, C) float64
    sample = np.zeros((MAX_BODY_TRUE, max_frame, NUM_JOINT, 3), dtype=np.float32)  # (M, T, V, C)
    sample[:, : bodies.shape[1]] = bodies  # the one rounding to float32, like the reference
    if normalize and not normalize_mtvc(sample):
        notes.append(f"{path}: no body in any frame; the sample is left all zero (as 2s-AGCN does)")
    elif not normalize and not sample.any():
        notes.append(f"{path}: no body in any frame; the sample is all zero")
    return np.ascontiguousarray(sample.transpose(3, 1, 2, 0)), notes  # (C, T, V, M)


def _read_sample_denoised(
    path: str | os.PathLike, max_frame: int, translation: bool, fix_intervals: bool
) -> tuple[np.ndarray, list[str]]:
    from data_gen.denoise import sgn_sample  # only --denoise needs it

    seq = read_skeleton(path, body_ids=True)
    try:
        sample, info = sgn_sample(seq, max_frame, translation, fix_intervals)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    notes = []
    if info.frames > max_frame:
        notes.append(f"{path}: {info.frames} frames after SGN denoising, keeping the first {max_frame}")
    return sample, notes


# -- generation ------------------------------------------------------------------------------------
def _list_samples(data_paths: Sequence[Path], summary: RunSummary) -> dict[str, Path]:
    """``{file name: path}`` of the .skeleton files of all folders, sorted by name."""
    found: dict[str, Path] = {}
    for folder in data_paths:
        if not folder.is_dir():
            summary.add_bad(f"{folder}: data folder not found (expected a folder of .skeleton files)")
            continue
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".skeleton"))
        if not names:
            summary.add_warning(f"{folder}: no .skeleton files in this folder")
        for name in names:
            if name in found:
                summary.add_bad(
                    f"{folder / name}: duplicate sample name, already read from {found[name].parent}"
                )
                continue
            found[name] = folder / name
    return dict(sorted(found.items()))


def gendata(
    data_paths: str | os.PathLike | Sequence[str | os.PathLike],
    out_folder: str | os.PathLike,
    benchmarks: Sequence[str] = ("xsub", "xview"),
    parts: Sequence[str] = PARTS,
    ignored_sample_path: str | os.PathLike | None = None,
    workers: int | None = None,
    strict: bool = False,
    normalize: bool = True,
    overwrite: bool = False,
    max_frame: int = MAX_FRAME,
    chunk_size: int = 8,
    denoise: bool = False,
    denoise_fix_intervals: bool = False,
) -> RunSummary:
    """Generate ``{out_folder}/{benchmark}/{part}_data_joint.npy`` and ``{part}_label.pkl``.

    ``ignored_sample_path``: None = the shipped official list that fits each benchmark (NTU60 for
    xsub/xview, NTU120 for xsub120/xset120); ``""`` = none. Splits whose two files exist are kept
    unless ``overwrite``. ``normalize=False`` writes the selected bodies without pre-normalisation.
    ``denoise``: SGN's denoising and translation (``normalize=False``: without translation) instead of
    2s-AGCN's body selection and pre-normalisation; ``denoise_fix_intervals`` places reappearing
    bodies at their true frames (see :mod:`data_gen.denoise`).
    Returns the run summary (``summary.exit_code()`` gives the CLI's exit status).
    """
    if denoise_fix_intervals and not denoise:
        raise ConfigError(
            "denoise_fix_intervals needs denoise=True (--denoise-fix-intervals needs --denoise)"
        )
    if isinstance(data_paths, (str, os.PathLike)):
        data_paths = [data_paths]
    data_paths = [Path(p) for p in data_paths]
    out_folder = Path(out_folder)
    for name in benchmarks:
        if name not in BENCHMARKS:
            raise ConfigError(f"unknown benchmark '{name}'; expected one of {', '.join(BENCHMARKS)}")
    for part in parts:
        if part not in PARTS:
            raise ConfigError(f"unknown part '{part}'; expected train and/or val")
    benches = [BENCHMARKS[b] for b in dict.fromkeys(benchmarks)]
    parts = list(dict.fromkeys(parts))
    workers = default_workers() if workers is None else workers
    summary = RunSummary("ntu_gendata", strict=strict)

    # Which splits are still to be made.
    todo: list[tuple[Benchmark, str]] = []
    for bench in benches:
        for part in parts:
            rep = summary.split(f"{bench.name}/{part}")
            npy, pkl = _split_paths(out_folder, bench.name, part)
            if split_done(npy, pkl) and not overwrite:
                rep.status = "exists"
            else:
                todo.append((bench, part))
    if not todo:
        summary.log()
        return summary

    ignore_lists: dict[str, frozenset[str]] = {}
    for bench in {b for b, _ in todo}:
        source = bench.default_ignore_list if ignored_sample_path is None else ignored_sample_path
        ignore_lists[bench.name] = read_ignore_list(source) if str(source) else frozenset()

    # Candidates of each split, in name order; every file is read once for all of them.
    files = _list_samples(data_paths, summary)
    members: dict[int, list[str]] = {i: [] for i in range(len(todo))}
    targets: dict[str, list[tuple[int, int]]] = {}
    unused = 0
    for name, path in files.items():
        sid = SampleId.from_name(name)
        if sid is None:
            summary.add_bad(f"{path}: file name does not match SsssCcccPpppRrrrAaaa.skeleton; skipped")
            continue
        for i, (bench, part) in enumerate(todo):
            if bench.part_of(sid) != part:
                continue
            if name[: -len(".skeleton")] in ignore_lists[bench.name]:
                summary.split(f"{bench.name}/{part}").skipped["in ignore list"] += 1
                continue
            targets.setdefault(name, []).append((i, len(members[i])))
            members[i].append(name)
        unused += name not in targets
    if unused:
        summary.skipped["files in no requested split (ignored, or NTU120 for an NTU60 benchmark)"] = unused

    writers: dict[str, SplitWriter] = {}
    for i, (bench, part) in enumerate(todo):
        split = f"{bench.name}/{part}"
        rep = summary.split(split)
        rep.candidates = len(members[i])
        if not members[i]:
            rep.status = "empty"
            summary.add_warning(f"{split}: no samples; nothing written")
            continue
        npy, pkl = _split_paths(out_folder, bench.name, part)
        labels = [SampleId.from_name(n).label for n in members[i]]  # type: ignore[union-attr]
        shape = (3, max_frame, NUM_JOINT, MAX_BODY_TRUE)  # (C, T, V, M) per sample
        writers[split] = SplitWriter(npy, pkl, members[i], labels, shape)

    items = [
        (str(files[n]), [(f"{todo[i][0].name}/{todo[i][1]}", row) for i, row in t])
        for n, t in targets.items()
    ]
    options = {"max_frame": max_frame, "normalize": normalize}
    desc = "parse + normalise + write" if normalize else "parse + write"
    if denoise:
        options.update(denoise=True, fix_intervals=denoise_fix_intervals)
        desc = "parse + SGN denoise" + (" + translate" if normalize else "") + " + write"
    write_splits(summary, writers, items, read_sample, options, workers, desc, chunk_size)
    for bench in {b for b, _ in todo}:
        if any(summary.split(f"{bench.name}/{p}").status == "written" for p in parts):
            record_options(summary, out_folder / bench.name, "data_gen.ntu_gendata.read_sample", options)
    summary.log()
    return summary


def _split_paths(out_folder: Path, benchmark: str, part: str) -> tuple[Path, Path]:
    folder = out_folder / benchmark
    return folder / f"{part}_data_joint.npy", folder / f"{part}_label.pkl"


# -- command line ----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="NTU RGB+D 60/120 .skeleton files to 2s-AGCN (N, 3, 300, 25, 2) tensors and label pickles.",
    )
    parser.add_argument(
        "--data_path",
        nargs="+",
        default=["./data/nturgbd_raw/nturgb+d_skeletons/"],
        help="folder(s) of .skeleton files; NTU120 ships two (default: %(default)s)",
    )
    parser.add_argument(
        "--ignored_sample_path",
        default=None,
        help="ignore list (one sample id per line); default: the shipped official list for the "
        "benchmark (NTU60 list for xsub/xview, NTU120 list for xsub120/xset120); '' for none",
    )
    parser.add_argument(
        "--out_folder",
        default="./data/ntu/",
        help="outputs go to {out_folder}/{benchmark}/ (default: %(default)s)",
    )
    parser.add_argument(
        "--benchmark",
        nargs="+",
        default=["xsub", "xview"],
        choices=list(BENCHMARKS),
        help="benchmarks to make (default: xsub xview)",
    )
    parser.add_argument(
        "--part",
        nargs="+",
        default=list(PARTS),
        choices=list(PARTS),
        help="splits to make (default: train val)",
    )
    parser.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        help="skip 2s-AGCN pre-normalisation (write the selected bodies as parsed); with --denoise: "
        "skip SGN's translation",
    )
    parser.add_argument(
        "--denoise",
        action="store_true",
        help="SGN/ImpSGNv2 data: SGN's body denoising, actor assignment and translation instead of "
        "2s-AGCN's body selection and pre-normalisation; use its own --out_folder, e.g. ./data/ntu_denoised/",
    )
    parser.add_argument(
        "--denoise-fix-intervals",
        action="store_true",
        help="with --denoise: write a body that disappears and reappears at its true frames "
        "(SGN shifts its later frames earlier; default: as SGN)",
    )
    add_common_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.denoise_fix_intervals and not args.denoise:
        parser.error("--denoise-fix-intervals needs --denoise")
    setup_logging(args.verbose)
    if args.denoise and args.out_folder == parser.get_default("out_folder"):
        LOG.warning(
            "--denoise writes into %s, where the 2s-AGCN tensors go by default; "
            "consider --out_folder ./data/ntu_denoised/",
            args.out_folder,
        )
    return cli(
        lambda: gendata(
            args.data_path,
            args.out_folder,
            benchmarks=args.benchmark,
            parts=args.part,
            ignored_sample_path=args.ignored_sample_path,
            workers=args.workers,
            strict=args.strict,
            normalize=args.normalize,
            overwrite=args.overwrite,
            denoise=args.denoise,
            denoise_fix_intervals=args.denoise_fix_intervals,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
