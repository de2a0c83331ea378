"""SGN's NTU body denoising, actor assignment and translation (the data behind SGN / ImpSGNv2).

Pure functions on a parsed file (:class:`data_gen.ntu_skeleton.SkeletonSequence` with bodyIDs).
They reproduce microsoft/SGN's ``data/ntu`` scripts as described in
``../shared/reference/sgn-impsgnv2.md`` sections 2.1-2.3, quirks included:

1. *Parse* (:func:`collect_bodies`): frames listing no body are dropped, the others renumbered
   0..T-1 ("valid frames"). Rows are grouped per bodyID (first-appearance order), float32. A body's
   interval starts at its first valid frame and grows by one per row (**interval quirk**: a body
   that disappears and reappears has its later frames written too early; ``fix_intervals=True``
   writes every row at its true frame instead). Motion = sum over x, y, z of the variance of all the
   body's joint coordinates (frames x 25 joints), in float32.
2. *Denoise* (:func:`denoise_bodies`, files with more than one bodyID only): bodies present in
   <= 11 frames go; then, body by body while more than one is left, the spread rule: a frame is
   noisy when the x-extent of its joints exceeds 0.8 x the y-extent; a body with a noisy-frame ratio
   >= 0.69754 goes, otherwise its motion becomes min(motion, motion of its non-noisy frames).
   Survivors are sorted by motion, highest first (stable). SGN's motion-threshold filter is dead code
   there and is not applied here either.
3. *Actors* (:func:`assign_actors`): one survivor -> a (T, 75) array; otherwise (T, 150): actor 1 =
   the first body; each further body joins actor 1 if its interval does not overlap actor 1's
   (``min(ends) - max(starts) <= 0``: intervals sharing one frame do not overlap, the later body
   overwrites it), else actor 2 if it does not overlap actor 2's (which starts as the virtual
   [0, 0], so the first such body always gets in and actor 2's interval then starts at 0), else it
   is discarded. Intervals grow to the hull (min start, max end).
4. *Missing frames* (:func:`remove_missing_frames`, files with more than one bodyID only, even if
   one body is left): rows whose values sum to 0 are deleted. In a one-body file such a row (only a
   body listed with all-zero coordinates makes one) stays, and translation moves it to -origin.
5. *Translate* (:func:`translate`): origin = actor 1's joint index 1 (middle of the spine) in the
   first row where actor 1 is not all zero; subtracted from every row of both actors; with two
   actors, rows where an actor summed to 0 before are zeroed again for it. No scaling, no rotation.
6. *Tensor* (:func:`to_tensor`): (3, max_frame, 25, 2) float32, actor 2 zero for one-actor data,
   zero frames after the end.

Numerics follow the reference: coordinates are float32 from parsing on; the spread test compares the
float32 extents with 0.8 x the y-extent in float64 (NumPy 1.x promoted ``np.float32 * float`` to
float64); sums and variances are float32 on the same array layouts as SGN.

Where SGN cannot produce a sample (its parser asserts on a file with no body; it crashes when no body
outlives the length rule, when actor 1 is all zero, or when a bodyID listed twice in one frame pushes
its interval past the last frame), a :class:`utils.errors.DataError` is raised, so the file is
reported and skipped.

Choices where the description leaves room: motion ties keep first-appearance order (a stable sort,
as Python's); "missing" means a sum of 0 and actor 1's first frame means "not all zero", each as
described; sequences longer than ``max_frame`` after denoising are cut at the end (SGN pads to the
longest sequence, 300 frames for NTU60). With ``fix_intervals`` the overlap tests use a body's first
and last true frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_gen.ntu_skeleton import SkeletonSequence
from utils.errors import DataError

NUM_JOINT = 25
NOISE_LEN_THRES = 11  # bodies present in at most this many frames are noise
NOISE_SPR_THRES1 = 0.8  # a frame is noisy when x-extent > 0.8 * y-extent
NOISE_SPR_THRES2 = 0.69754  # a body with at least this ratio of noisy frames is noise
ORIGIN_JOINT = 1  # 0-based joint index of "middle of the spine"
ACTOR_WIDTH = 3 * NUM_JOINT  # 75 values per actor and frame: joint-major, xyz-minor


@dataclass(frozen=True)
class Body:
    """One bodyID's rows: ``joints`` (n, 25, 3) float32 and ``frames`` (n,) their valid-frame indices."""

    body_id: str
    joints: np.ndarray
    frames: np.ndarray
    motion: np.float32

    def __len__(self) -> int:
        return len(self.joints)

    def rows(self, fix_intervals: bool = False) -> np.ndarray:
        """Output rows of the body's frames: SGN's ``first, first + 1, ...`` or (fixed) the true frames."""
        return self.frames if fix_intervals else self.frames[0] + np.arange(len(self.frames))

    def interval(self, fix_intervals: bool = False) -> tuple[int, int]:
        """(start, end), both inclusive; SGN's end is ``start + n - 1`` whatever the gaps."""
        rows = self.rows(fix_intervals)
        return int(rows[0]), int(rows[-1])


@dataclass(frozen=True)
class DenoiseInfo:
    """What denoising did to one file (bodyIDs in first-appearance order)."""

    bodies: tuple[str, ...]
    empty_frames: int  # frames listing no body, dropped at parse time
    removed_by_length: tuple[str, ...] = ()
    removed_by_spread: tuple[str, ...] = ()
    actor1: tuple[str, ...] = ()  # bodies written into actor 1's columns, in order
    actor2: tuple[str, ...] = ()
    discarded: tuple[str, ...] = ()  # overlapped both actors
    missing_frames: int = 0  # all-zero rows removed (files with more than one bodyID)
    frames: int = 0  # length of the denoised sequence


def motion_of(joints: np.ndarray) -> np.float32:
    """Sum over x, y, z of the variance over all rows and joints (float32, like SGN)."""
    return np.sum(np.var(joints.reshape(-1, 3), axis=0))


def collect_bodies(seq: SkeletonSequence) -> tuple[list[Body], int]:
    """Bodies in first-appearance order and the number of valid (non-empty) frames.

    Raises DataError when no frame lists a body (SGN's parser asserts).
    """
    if seq.body_id is None:
        raise ValueError("collect_bodies needs bodyIDs: parse with read_skeleton(path, body_ids=True)")
    if len(seq.frame) == 0:
        raise DataError(f"no body in any of the {seq.num_frames} frames; SGN's parser rejects such a file")
    valid, vframe = np.unique(seq.frame, return_inverse=True)  # renumber the non-empty frames
    ids, first, group = np.unique(seq.body_id, return_index=True, return_inverse=True)
    rows = np.argsort(group, kind="stable")  # grouped by bodyID, frame order inside each group
    bounds = np.cumsum(np.bincount(group, minlength=len(ids)))[:-1]
    members = np.split(rows, bounds)
    xyz = seq.xyz.astype(np.float32)
    bodies = []
    for k in np.argsort(first):
        joints = xyz[members[k]]
        bodies.append(Body(str(ids[k]), joints, vframe[members[k]], motion_of(joints)))
    return bodies, len(valid)


def spread_valid(joints: np.ndarray) -> np.ndarray:
    """(n,) bool: frames whose x-extent is <= 0.8 x the y-extent (float32 extents, float64 product)."""
    extent = joints.max(axis=1) - joints.min(axis=1)  # (n, 3) float32
    return extent[:, 0].astype(np.float64) <= NOISE_SPR_THRES1 * extent[:, 1].astype(np.float64)


def denoise_bodies(bodies: Sequence[Body]) -> tuple[list[Body], tuple[str, ...], tuple[str, ...]]:
    """SGN's length and spread rules and motion sort; returns (survivors, removed by length, by spread).

    A single body is returned as it is. Survivors come highest motion first when more than one is left;
    motions may be lowered by the spread rule (new Body objects; the inputs are not changed).
    """
    if len(bodies) <= 1:
        return list(bodies), (), ()
    kept = {b.body_id: b for b in bodies if len(b) > NOISE_LEN_THRES}  # insertion-ordered, like SGN's dict
    by_length = tuple(b.body_id for b in bodies if len(b) <= NOISE_LEN_THRES)
    by_spread = []
    if len(kept) > 1:
        for body_id, body in list(kept.items()):  # first-appearance order, while more than one is left
            if len(kept) == 1:
                break
            valid = spread_valid(body.joints)
            noisy = len(body) - int(valid.sum())
            if noisy == 0:
                continue
            if noisy / float(len(body)) >= NOISE_SPR_THRES2:
                del kept[body_id]
                by_spread.append(body_id)
            else:
                kept[body_id] = dataclasses.replace(
                    body, motion=min(body.motion, motion_of(body.joints[valid]))
                )
    survivors = list(kept.values())
    if len(survivors) > 1:
        survivors.sort(key=lambda b: b.motion, reverse=True)  # stable: ties keep appearance order
    return survivors, by_length, tuple(by_spread)


def _place(out: np.ndarray, body: Body, fix_intervals: bool) -> None:
    rows = body.rows(fix_intervals)
    if rows[-1] >= len(out):
        raise DataError(
            f"bodyID {body.body_id} has {len(body)} rows but only {len(out)} frames from its first one "
            "on (listed twice in a frame?); SGN's interval rule cannot place it"
        )
    out[rows] = body.joints.reshape(len(body), ACTOR_WIDTH)


def assign_actors(
    bodies: Sequence[Body], num_frames: int, fix_intervals: bool = False
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """SGN's actor slots: (T, 75) for one body, else (T, 150) float32; and (actor 1, actor 2, discarded) ids.

    ``bodies`` in priority order (highest motion first); see the module doc for the interval rules.
    """
    if not bodies:
        raise DataError(
            f"no body is present in more than {NOISE_LEN_THRES} frames; SGN's denoising leaves no actor"
        )
    if len(bodies) == 1:
        out = np.zeros((num_frames, ACTOR_WIDTH), dtype=np.float32)
        _place(out, bodies[0], fix_intervals)
        return out, (bodies[0].body_id,), (), ()
    out = np.zeros((num_frames, 2 * ACTOR_WIDTH), dtype=np.float32)
    actor1, actor2, discarded = [bodies[0].body_id], [], []
    _place(out[:, :ACTOR_WIDTH], bodies[0], fix_intervals)
    start1, end1 = bodies[0].interval(fix_intervals)
    start2, end2 = 0, 0  # actor 2's virtual initial interval
    for body in bodies[1:]:
        start, end = body.interval(fix_intervals)
        if min(end1, end) - max(start1, start) <= 0:  # no overlap with actor 1 (touching is none)
            _place(out[:, :ACTOR_WIDTH], body, fix_intervals)
            start1, end1 = min(start, start1), max(end, end1)
            actor1.append(body.body_id)
        elif min(end2, end) - max(start2, start) <= 0:  # no overlap with actor 2
            _place(out[:, ACTOR_WIDTH:], body, fix_intervals)
            start2, end2 = min(start, start2), max(end, end2)
            actor2.append(body.body_id)
        else:
            discarded.append(body.body_id)
    return out, tuple(actor1), tuple(actor2), tuple(discarded)


def remove_missing_frames(joints: np.ndarray) -> np.ndarray:
    """Drop the rows whose values sum to 0 (no actor in that frame)."""
    return joints[joints.sum(axis=1) != 0]


def denoise_sequence(seq: SkeletonSequence, fix_intervals: bool = False) -> tuple[np.ndarray, DenoiseInfo]:
    """SGN's denoised joints of one file: (T, 75) or (T, 150) float32, before translation; and what it did."""
    bodies, num_frames = collect_bodies(seq)
    info = DenoiseInfo(tuple(b.body_id for b in bodies), empty_frames=seq.num_frames - num_frames)
    survivors, by_length, by_spread = denoise_bodies(bodies)
    joints, actor1, actor2, discarded = assign_actors(survivors, num_frames, fix_intervals)
    missing = 0
    if len(bodies) > 1:
        kept = remove_missing_frames(joints)
        missing, joints = len(joints) - len(kept), kept
    info = dataclasses.replace(
        info,
        removed_by_length=by_length,
        removed_by_spread=by_spread,
        actor1=actor1,
        actor2=actor2,
        discarded=discarded,
        missing_frames=missing,
        frames=len(joints),
    )
    return joints, info


def translate(joints: np.ndarray) -> np.ndarray:
    """SGN's translation of a (T, 75) or (T, 150) sequence (a new array; see the module doc)."""
    present = np.flatnonzero(np.any(joints[:, :ACTOR_WIDTH] != 0, axis=1))
    if len(present) == 0:
        raise DataError("actor 1 is all zero; SGN's translation has no origin")
    origin = joints[present[0], 3 * ORIGIN_JOINT : 3 * ORIGIN_JOINT + 3].copy()
    out = joints - np.tile(origin, joints.shape[1] // 3)
    if joints.shape[1] == 2 * ACTOR_WIDTH:
        out[joints[:, :ACTOR_WIDTH].sum(axis=1) == 0, :ACTOR_WIDTH] = 0
        out[joints[:, ACTOR_WIDTH:].sum(axis=1) == 0, ACTOR_WIDTH:] = 0
    return out


def to_tensor(joints: np.ndarray, max_frame: int) -> np.ndarray:
    """(T, 75 or 150) -> (3, max_frame, 25, 2) float32, zero padded; frames from ``max_frame`` on are cut."""
    num_frames = min(len(joints), max_frame)
    actors = joints.shape[1] // ACTOR_WIDTH
    out = np.zeros((max_frame, 2, NUM_JOINT, 3), dtype=np.float32)  # (T, M, V, C)
    out[:num_frames, :actors] = joints[:num_frames].reshape(num_frames, actors, NUM_JOINT, 3)
    return np.ascontiguousarray(out.transpose(3, 0, 2, 1))  # (C, T, V, M)


def sgn_sample(
    seq: SkeletonSequence, max_frame: int = 300, translation: bool = True, fix_intervals: bool = False
) -> tuple[np.ndarray, DenoiseInfo]:
    """One parsed file to the (3, max_frame, 25, 2) float32 tensor SGN's h5 files hold (one row of ``x``)."""
    joints, info = denoise_sequence(seq, fix_intervals)
    if translation:
        joints = translate(joints)
    return to_tensor(joints, max_frame), info
