"""Reading NTU RGB+D ``.skeleton`` files: :func:`read_skeleton` -> :class:`SkeletonSequence`.

Shared by ``data_gen/ntu_gendata.py`` (2s-AGCN's tensors) and ``data_gen/denoise.py`` (SGN's), and
importing neither. The official layout (one record per line) takes a vectorised path that parses only
the x, y, z of every joint line (:func:`parse_decimals`, exact like ``float()``); other whitespace
layouts a tolerant path; a malformed file the line-by-line reader, which names the bad line.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from utils.errors import DataError

NUM_JOINT = 25
JOINT_VALUES = 12  # numbers per joint line: x y z depthX depthY colorX colorY oW oX oY oZ trackingState
BODY_VALUES = 10  # numbers per body line: bodyID clippedEdges ... leanX leanY trackingState


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
    """Fast path for the official layout: walk the count lines, parse only x, y, z, vectorised.

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
        xyz = _leading_numbers(data, line_start[joint_lines]).reshape(num_bodies, NUM_JOINT, 3)
    ids = None
    if body_ids:
        ends = line_start[body_lines + 1]
        ids = np.asarray(
            [data[a:b].split(None, 1)[0].decode("ascii") for a, b in zip(line_start[body_lines], ends)],
            dtype=str,
        )
    return SkeletonSequence(num_frames, frames, slots, xyz, ids)


_PAD = 16  # blank bytes around the data, so that fixed-width windows never leave the buffer


def _rows(buf: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 copies of ``buf[o : o + width]`` for every offset (one memcpy per row)."""
    windows = np.ndarray((len(buf) - width + 1,), dtype=f"V{width}", buffer=buf, strides=(1,))
    return windows[offsets].view(np.uint8).reshape(len(offsets), width)


def _leading_numbers(data: bytes, starts: np.ndarray) -> np.ndarray:
    """(n, 3) float64: the first three numbers of the lines starting at byte offsets ``starts``.

    Each must be single-space separated within the line's first ``_XYZ_WINDOW`` bytes; otherwise
    _Malformed (the tolerant reader takes over).
    """
    buf = np.frombuffer(b" " * _PAD + data + b" " * (_XYZ_WINDOW + _PAD), dtype=np.uint8)
    starts = starts + _PAD
    bits = np.zeros((len(starts), 8), dtype=np.uint8)  # blank flags of the window, bit i = byte i
    bits[:, : _XYZ_WINDOW // 8] = np.packbits(
        _rows(buf, starts, _XYZ_WINDOW) <= 32, axis=1, bitorder="little"
    )
    flags = bits.view(np.uint64)[:, 0]
    ends = np.empty((len(starts), 3), dtype=np.int64)  # window offset of the blank after x, y, z
    for i in range(3):
        lowest = flags & (~flags + _U64(1))
        ends[:, i] = np.frexp(lowest.astype(np.float64))[1] - 1  # bit index; -1 when no blank left
        flags ^= lowest
    lengths = ends.copy()  # (n, 3): x from 0, y and z from the byte after the previous blank
    lengths[:, 1:] -= ends[:, :-1] + 1
    if ends[:, 2].min() < 0 or lengths.min() < 1:
        raise _Malformed  # z does not end in the window, or a leading / double blank
    ends += starts[:, None]
    values, ok = parse_decimals(buf, ends.ravel(), lengths.ravel())
    if not ok.all():  # exponents, long numbers: Python's parser for those few
        for i in np.flatnonzero(~ok):
            try:
                values[i] = float(buf[ends.flat[i] - lengths.flat[i] : ends.flat[i]].tobytes())
            except ValueError as exc:
                raise _Malformed from exc
        if not np.isfinite(values).all():
            raise _Malformed
    return values.reshape(-1, 3)


# -- vectorised decimal numbers --------------------------------------------------------------------
_U64 = np.uint64
_WIDTH = 16  # characters per number on the vectorised path; longer ones go to float()
_BYTE_SUM = _U64(0x0101010101010101)
_POW10_INT = np.array([10**i for i in range(_WIDTH)], dtype=np.uint64)
_POW10_FLOAT = 10.0 ** np.arange(_WIDTH)  # exact doubles
_IN_TOKEN = np.tril(np.ones((_WIDTH + 1, _WIDTH), dtype=np.uint8), -1)[:, ::-1].copy()  # row n: last n bytes
_IN_TOKEN_ROWS = _IN_TOKEN.view(f"V{_WIDTH}").ravel()


def _swar8(x: np.ndarray) -> np.ndarray:
    """uint64 words of eight digit values (first digit in the lowest byte) -> their decimal value."""
    x = ((x & _U64(0x0F0F0F0F0F0F0F0F)) * _U64(2561)) >> _U64(8)
    x = ((x & _U64(0x00FF00FF00FF00FF)) * _U64(6553601)) >> _U64(16)
    return ((x & _U64(0x0000FFFF0000FFFF)) * _U64(42949672960001)) >> _U64(32)


def _byte_index(word: np.ndarray) -> np.ndarray:
    """Index of the lowest non-zero byte of each uint64 word (words must not be 0)."""
    return (np.frexp((word & (~word + _U64(1))).astype(np.float64))[1] - 1) // 8


def parse_decimals(buf: np.ndarray, ends: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 values of the numbers ``buf[end - length : end]`` and a mask of those parsed.

    Handles plain decimals (``-0.2183787``, ``3``, ``+.5``) of up to 16 characters, with the result
    ``float()`` gives: the digits form an integer M < 10^15 and the value is M / 10^k, both exact
    doubles, so the one division rounds correctly. Anything else (exponents, longer numbers, junk)
    is left to the caller (mask False). ``buf`` must hold 16 bytes before every number.
    """
    n = len(ends)
    ok = (lengths >= 1) & (lengths <= _WIDTH)
    lengths = np.where(ok, lengths, 1)
    text = _rows(buf, ends - _WIDTH, _WIDTH)  # (n, 16): each number right-aligned
    inside = _IN_TOKEN_ROWS[lengths].view(np.uint8).reshape(n, _WIDTH)
    digit = text - np.uint8(48)
    is_digit = (digit < 10).view(np.uint8) & inside
    is_dot = (text == 46).view(np.uint8) & inside
    first = text[np.arange(n), _WIDTH - lengths]
    negative = first == 45
    counts = (is_digit.view(np.uint64) * _BYTE_SUM) >> _U64(56)  # digits per half, (n, 2)
    dots = (is_dot.view(np.uint64) * _BYTE_SUM) >> _U64(56)
    num_dots = dots[:, 0] + dots[:, 1]
    ok &= counts[:, 0] + counts[:, 1] + num_dots + (negative | (first == 43)) == lengths
    num_digits = counts[:, 0] + counts[:, 1]
    ok &= (num_dots <= 1) & (num_digits > 0) & (num_digits < _WIDTH)  # M < 10^15 < 2^53: exact
    values = (digit * is_digit).view(np.uint64)  # digit values; dot and sign count as 0
    mantissa = _swar8(values[:, 0]) * _U64(100_000_000) + _swar8(values[:, 1])
    dot_words = is_dot.view(np.uint64)
    has_dot = num_dots == 1
    low, high = dot_words[:, 0], dot_words[:, 1]
    position = np.where(
        low != 0, _byte_index(np.where(low != 0, low, 1)), 8 + _byte_index(np.where(high != 0, high, 1))
    )
    decimals = np.where(has_dot, _WIDTH - 1 - position, 0)  # digits after the dot
    # The dot took a digit's place: M = (integer part) * 10^k + fraction.
    fraction = mantissa % _POW10_INT[decimals]
    mantissa = np.where(has_dot, (mantissa - fraction) // _U64(10) + fraction, mantissa)
    out = mantissa.astype(np.float64) / _POW10_FLOAT[decimals]
    np.negative(out, out=out, where=negative)
    return out, ok


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
