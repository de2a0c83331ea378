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
import warnings
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
from data_gen.denoise import sgn_sample
from data_gen.preprocess import normalize_mtvc
from utils.errors import ConfigError, DataError
from utils.registry import READERS

MAX_FRAME = 300
MAX_BODY_TRUE = 2  # persons kept per sample
MAX_BODY_KINECT = 4  # body slots considered (bodies listed after the 4th are dropped)
NUM_JOINT = 25
JOINT_VALUES = 12  # numbers per joint line: x y z depthX depthY colorX colorY oW oX oY oZ trackingState
BODY_VALUES = 10  # numbers per body line: bodyID clippedEdges ... leanX leanY trackingState
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


# -- parsing ---------------------------------------------------------------------------------------
@dataclass
class SkeletonSequence:
    """All bodies of one ``.skeleton`` file, one row per (frame, listed body).

    ``frame[b]`` is the frame index and ``slot[b]`` the position of body ``b`` in its frame's list;
    ``xyz`` is (B, 25, 3) float64 camera-space coordinates in metres. ``body_id`` (B,) holds the
    exact bodyID strings (they exceed float64 precision) when requested.
    """

    num_frames: int
    frame: np.ndarray  # (B,) int64
    slot: np.ndarray  # (B,) int64
    xyz: np.ndarray  # (B, 25, 3) float64
    body_id: np.ndarray | None = None  # (B,) str


class _Malformed(Exception):
    """Raised by the fast parser; the line-by-line parser then finds and names the bad line."""


def read_skeleton(path: str | os.PathLike, body_ids: bool = False) -> SkeletonSequence:
    """Parse one NTU ``.skeleton`` file (vectorised); raises DataError naming the file and line.

    Three readers, fastest first: :func:`_parse_fast` (the official one-record-per-line layout),
    :func:`_parse_tokens` (any whitespace layout) and :func:`_parse_lines`, which reads line by
    line and reports the first line that breaks the format.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data or data.isspace():
        raise DataError(f"{path}: file is empty")
    try:
        return _parse_fast(data, body_ids)
    except _Malformed:
        pass
    if not body_ids:
        try:
            return _parse_tokens(data)
        except _Malformed:
            pass
    return _parse_lines(path, data, body_ids)


_NUMBER_CHARS = b"0123456789.-+eE \t\r\n"
_XYZ_WINDOW = 48  # bytes at the start of a joint line that hold x, y, z and the start of the 4th number


def _fromstring(text: bytes) -> np.ndarray:
    """Whitespace-separated numbers to float64 (C parser, correctly rounded); _Malformed on junk."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (instead of failing) on an unparsable token
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ")
        except (DeprecationWarning, ValueError) as exc:
            raise _Malformed from exc


def _parse_fast(data: bytes, body_ids: bool = False) -> SkeletonSequence:
    """Fast path for the official layout: walk the count lines, parse only x, y, z in C.

    The file must hold nothing but numbers, exactly one record per line, and exactly as many
    numbers as its counts imply (which catches a joint line with numbers missing or extra).
    """
    if data.translate(None, _NUMBER_CHARS):  # a byte that cannot be part of a number
        raise _Malformed
    u = np.frombuffer(data, dtype=np.uint8)
    line_start = np.concatenate(([0], np.flatnonzero(u == 10) + 1))  # (lines + 1,) byte offsets
    num_lines = len(line_start)
    record = 2 + NUM_JOINT  # lines per body: body line, joint count, joints

    def integer(i: int) -> int:
        return int(data[line_start[i] : line_start[i + 1] if i + 1 < num_lines else len(data)])

    counts: list[int] = []  # bodies listed in each frame
    try:
        num_frames = integer(0)
        line = 1
        for _ in range(num_frames):
            num_bodies = integer(line)
            if num_bodies < 0:
                raise _Malformed
            counts.append(num_bodies)
            line += 1 + record * num_bodies
    except (ValueError, IndexError) as exc:
        raise _Malformed from exc
    rest = data[line_start[line] :] if line < num_lines else b""
    if num_frames < 0 or line > num_lines or (rest and not rest.isspace()):
        raise _Malformed  # truncated, or data after the last frame
    per_frame = np.asarray(counts, dtype=np.int64)
    num_bodies = int(per_frame.sum())
    frames = np.repeat(np.arange(num_frames), per_frame)  # (B,)
    slots = np.arange(num_bodies) - np.repeat(np.cumsum(per_frame) - per_frame, per_frame)
    body_lines = 2 + frames + record * np.arange(num_bodies)  # line index of each body line
    # Every joint-count line must read "25" (LF or CRLF line end).
    jc = line_start[body_lines + 1]
    width = line_start[body_lines + 2] - jc
    if not np.all((u[jc] == 50) & (u[jc + 1] == 53) & ((width == 3) | ((width == 4) & (u[jc + 2] == 13)))):
        raise _Malformed
    sep = u <= 32
    num_tokens = np.count_nonzero(~sep[1:] & sep[:-1]) + (not sep[0])
    if num_tokens != 1 + num_frames + num_bodies * (BODY_VALUES + 1 + NUM_JOINT * JOINT_VALUES):
        raise _Malformed

    xyz = np.zeros((num_bodies, NUM_JOINT, 3))
    if num_bodies:
        joint_lines = (body_lines[:, None] + 2 + np.arange(NUM_JOINT)).ravel()  # (B * 25,)
        padded = np.frombuffer(data + b" " * _XYZ_WINDOW, dtype=np.uint8)
        # The first bytes of every joint line, one line per column: (W, B * 25).
        win = padded[np.arange(_XYZ_WINDOW)[:, None] + line_start[joint_lines]]
        blank = win <= 32
        first = ~blank
        first[1:] &= blank[:-1]  # a number starts here
        ordinal = np.empty(win.shape, dtype=np.uint8)  # 1 = x, 2 = y, 3 = z, 4 = depthX, ...
        ordinal[0] = first[0]
        for i in range(1, _XYZ_WINDOW):  # a running count down the rows (faster than cumsum here)
            np.add(ordinal[i - 1], first[i], out=ordinal[i])
        if (ordinal[-1] < 4).any():
            raise _Malformed  # z does not end inside the window
        xyz_text = ordinal <= 3  # x, y, z and the blanks after each
        values = _fromstring(win.T[xyz_text.T].tobytes())
        if values.size != num_bodies * NUM_JOINT * 3 or not np.isfinite(values).all():
            raise _Malformed
        xyz = values.reshape(num_bodies, NUM_JOINT, 3)
    ids = None
    if body_ids:
        ends = line_start[body_lines + 1]
        ids = np.asarray(
            [data[a:b].split(None, 1)[0].decode("ascii") for a, b in zip(line_start[body_lines], ends)],
            dtype=str,
        )
    return SkeletonSequence(num_frames, frames, slots, xyz, ids)


def _parse_tokens(data: bytes) -> SkeletonSequence:
    """Tolerant path: tokenize the whole file to float64 in C, then walk it with integer offsets."""
    tok = _fromstring(data)
    n = tok.size
    body_len = BODY_VALUES + 1 + NUM_JOINT * JOINT_VALUES

    def count(pos: int) -> int:
        if pos >= n:
            raise _Malformed
        v = float(tok[pos])
        if not (0 <= v < 2**31 and v == int(v)):
            raise _Malformed
        return int(v)

    num_frames = count(0)
    pos = 1
    frames: list[int] = []
    slots: list[int] = []
    starts: list[int] = []
    for f in range(num_frames):
        num_bodies = count(pos)
        pos += 1
        if pos + num_bodies * body_len > n:
            raise _Malformed
        for b in range(num_bodies):
            if tok[pos + BODY_VALUES] != NUM_JOINT:
                raise _Malformed
            starts.append(pos)
            frames.append(f)
            slots.append(b)
            pos += body_len
    if pos != n:
        raise _Malformed
    start = np.asarray(starts, dtype=np.int64)
    joint0 = start[:, None] + (BODY_VALUES + 1) + JOINT_VALUES * np.arange(NUM_JOINT)  # (B, 25)
    xyz = tok[joint0[..., None] + np.arange(3)]  # (B, 25, 3)
    # Line-alignment check: every tracking state (last number of body and joint lines) must be an
    # integer. A line with missing or extra numbers shifts coordinates into those places.
    states = np.concatenate([tok[start + BODY_VALUES - 1], tok[joint0 + JOINT_VALUES - 1].ravel()])
    if not (np.isfinite(xyz).all() and np.array_equal(states, np.round(states))):
        raise _Malformed
    return SkeletonSequence(
        num_frames, np.asarray(frames, dtype=np.int64), np.asarray(slots, dtype=np.int64), xyz
    )


def _parse_lines(path: Path, data: bytes, body_ids: bool) -> SkeletonSequence:
    """Careful path: read line by line and raise DataError ``file:line: what was expected``."""
    lines = data.decode("latin-1").split("\n")
    idx = 0  # index of the next line to read

    def next_line(what: str) -> tuple[int, list[str]]:
        nonlocal idx
        while idx < len(lines) and not lines[idx].strip():
            idx += 1  # blank lines carry no tokens (the fast path ignores them too)
        if idx >= len(lines):
            raise DataError(f"{path}:{len(lines)}: file ends early (truncated?); expected {what}")
        idx += 1
        return idx, lines[idx - 1].split()

    def numbers(lineno: int, fields: list[str], expected: int, what: str) -> list[float]:
        if len(fields) != expected:
            raise DataError(f"{path}:{lineno}: expected {expected} numbers per {what}, got {len(fields)}")
        try:
            return [float(x) for x in fields]
        except ValueError:
            bad = next(x for x in fields if not _is_float(x))
            raise DataError(f"{path}:{lineno}: cannot read '{bad[:20]}' as a number on a {what}") from None

    def integer(lineno: int, fields: list[str], what: str) -> int:
        value = numbers(lineno, fields, 1, f"{what} line")[0]
        if not (0 <= value < 2**31 and value == int(value)):
            raise DataError(
                f"{path}:{lineno}: expected a non-negative integer {what}, got '{fields[0][:20]}'"
            )
        return int(value)

    lineno, fields = next_line("the frame count")
    num_frames = integer(lineno, fields, "frame count")
    frames, slots, xyz, ids = [], [], [], []
    for f in range(num_frames):
        lineno, fields = next_line(f"the body count of frame {f + 1} of {num_frames}")
        num_bodies = integer(lineno, fields, "body count")
        for b in range(num_bodies):
            lineno, fields = next_line(f"body {b + 1} of frame {f + 1}")
            info = numbers(lineno, fields, BODY_VALUES, "body line")
            if info[-1] != round(info[-1]):
                raise DataError(
                    f"{path}:{lineno}: expected an integer tracking state, got '{fields[-1][:20]}'"
                )
            body_id = fields[0]
            lineno, fields = next_line(f"the joint count of body {b + 1} of frame {f + 1}")
            num_joints = integer(lineno, fields, "joint count")
            if num_joints != NUM_JOINT:
                raise DataError(f"{path}:{lineno}: expected {NUM_JOINT} joints per body, got {num_joints}")
            joints = []
            for _ in range(NUM_JOINT):
                lineno, fields = next_line(f"a joint line of body {b + 1} of frame {f + 1}")
                values = numbers(lineno, fields, JOINT_VALUES, "joint line")
                if not all(np.isfinite(values[:3])):
                    raise DataError(
                        f"{path}:{lineno}: joint coordinate is not finite ({' '.join(fields[:3])})"
                    )
                if values[-1] != round(values[-1]):
                    raise DataError(
                        f"{path}:{lineno}: expected an integer tracking state, got '{fields[-1][:20]}'"
                    )
                joints.append(values[:3])
            frames.append(f)
            slots.append(b)
            xyz.append(joints)
            ids.append(body_id)
    while idx < len(lines):
        if lines[idx].strip():
            raise DataError(
                f"{path}:{idx + 1}: unexpected data after the last of the {num_frames} frames the file declares"
            )
        idx += 1
    return SkeletonSequence(
        num_frames,
        np.asarray(frames, dtype=np.int64),
        np.asarray(slots, dtype=np.int64),
        np.asarray(xyz, dtype=np.float64).reshape(-1, NUM_JOINT, 3),
        np.asarray(ids, dtype=str) if body_ids else None,
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
