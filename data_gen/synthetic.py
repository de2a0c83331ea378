"""Synthetic skeleton actions written as genuine NTU RGB+D ``.skeleton`` files and Kinetics-skeleton JSON.

The project's embedded default dataset. Procedurally animated actions (``resources/labels/synthetic.txt``:
waving, clapping, kicking, squatting, a two-person handshake, ...) are performed by subjects with their own
body proportions and style (amplitude, tempo, handedness, posture) and filmed by three Kinect-like cameras
at -45, 0 and +45 degrees of yaw, with speed and length variation, joint noise, jitter spikes, tracking
dropouts, empty frames and occasional extra bodies. The files go through the same readers as the real
datasets, so the cross-subject and cross-view benchmarks mean what they mean for NTU RGB+D.

Output layout (``--out DIR``)::

    DIR/nturgb+d_skeletons/SsssCcccPpppRrrrAaaa.skeleton   NTU text format (CRLF, 7 significant digits)
    DIR/samples_with_missing_skeletons.txt                 empty ignore list (every sample has a body)
    DIR/kinetics_{train,val}/<11-character id>.json        Kinetics-skeleton (``--format kinetics|both``)
    DIR/kinetics_{train,val}_label.json                    ``{id: {has_skeleton, label, label_index}}``
    DIR/manifest.csv                                       one row per recording
    DIR/label_map.txt                                      the class names used, in label order

Subjects are NTU performer ids, alternating between the cross-subject training ids and the others; each
subject is recorded in one setup (:func:`setup_of`), and replication r of subject p faces the
left camera (C001) when p + r is even, else the right one (C003), as NTU's two replications do. Kinetics
files are split train/val by the same subject rule.

Determinism: every draw comes from ``numpy.random.default_rng([seed, stream, *ids])``. A subject's body
and style depend on (seed, subject); a performance, the motion that all cameras of one (subject, action,
replication) record, on (seed, subject, action, replication); camera noise and tracking artefacts on
(seed, sample name fields). Files are therefore byte-identical for any worker count and any subset of
classes, subjects or cameras.

Usage::

    python data_gen/synthetic.py --out data/synthetic/raw              # demo preset (360 NTU files)
    python -m data_gen.synthetic --out DIR --format both --classes 15 --subjects 40 --replications 2
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.signal import lfilter

from graph.layouts import NTU_RGB_D
from utils.errors import ConfigError
from utils.io import atomic_path, save_text

FPS = 30.0
LABEL_MAP = Path(__file__).resolve().parent / "resources" / "labels" / "synthetic.txt"
NTU_DIR = "nturgb+d_skeletons"
FORMATS = ("ntu", "kinetics", "both")
#: NTU RGB+D cross-subject training performers; cross-view trains on cameras 2 and 3.
XSUB_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XSUB_TEST_SUBJECTS = tuple(p for p in range(1, 41) if p not in XSUB_TRAIN_SUBJECTS)
XVIEW_TRAIN_CAMERAS = (2, 3)
CAMERA_YAW_DEG = {1: -45.0, 2: 0.0, 3: 45.0}
MAX_FRAMES = 300  # NTU readers pad to 300 frames; Kinetics uses frame_index (1-based) < 300

_J = {name: i for i, name in enumerate(NTU_RGB_D.joint_names)}
_BODY_ID_BASE = 72057594037927936  # 2**56: Kinect v2 body ids look like 72057594037930640
# Kinect v2 depth (512x424) and colour (1920x1080) pinhole intrinsics.
_DEPTH = (365.5, 255.5, 211.5)
_COLOR = (1081.4, 959.5, 539.5)
# random streams
_SUBJECT, _PARTNER, _SETUP, _PERFORMANCE, _CAPTURE = 1, 2, 3, 4, 5

# Bone parents rooted at the base of the spine (Kinect's hierarchy); leaves get a zero orientation.
_PARENTS = NTU_RGB_D.parents(0)
_LEAVES = np.array(sorted(set(range(25)) - {int(_PARENTS[j]) for j in range(1, 25)}))
_EXTREMITIES = [_J[n] for n in ("left_hand", "right_hand", "left_hand_tip", "left_thumb")] + [
    _J[n] for n in ("right_hand_tip", "right_thumb", "left_foot", "right_foot")
]
_ARM_JOINTS = {
    s: [_J[f"{side}_{n}"] for n in ("elbow", "wrist", "hand", "hand_tip", "thumb")]
    for s, side in ((1, "right"), (-1, "left"))
}
# OpenPose-18 points from the 25 NTU joints (0..24) and five face points (25 nose, 26/27 right/left eye,
# 28/29 right/left ear); OpenPose's neck is the point between the shoulders (NTU spine-shoulder).
_OPENPOSE_FROM = np.array([25, 20, 8, 9, 10, 4, 5, 6, 16, 17, 18, 12, 13, 14, 26, 27, 28, 29])
_OPENPOSE_CONF = np.array([-0.05, 0.05, 0, -0.03, -0.1, 0, -0.03, -0.1, 0, -0.02, -0.06, 0, -0.02, -0.06])
_OPENPOSE_CONF = np.concatenate([_OPENPOSE_CONF, [-0.08, -0.08, -0.12, -0.12]])


# ---------------------------------------------------------------------------------------------------
# small vector helpers (arrays of T frames)
# ---------------------------------------------------------------------------------------------------
def _rng(seed: int, stream: int, *ids: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), stream, *(int(i) for i in ids)])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) right-handed rotations by ``angle`` (T,) about coordinate ``axis``."""
    angle = np.asarray(angle, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    R = np.zeros((*angle.shape, 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i], R[..., j, j], R[..., i, j], R[..., j, i] = c, c, -s, s
    return R


def _facing(yaw: float | np.ndarray) -> np.ndarray:
    """Body-to-world yaw: body -z (forward) maps to (sin yaw, 0, -cos yaw), body +x (right) to (cos, 0, sin)."""
    return _rot(1, -np.asarray(yaw, dtype=float))


def _mv(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors: R (T, 3, 3) times v (3,) or (T, 3)."""
    return np.einsum("tij,tj->ti", R, np.broadcast_to(v, (R.shape[0], 3)))


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _ramp(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """0 before t0, smooth rise to 1 over ``dur`` seconds."""
    return _smooth((t - t0) / max(dur, 1e-6))


def _window(t: np.ndarray, t0: float, t1: float, rise: float, fall: float | None = None) -> np.ndarray:
    """1 between t0 + rise and t1 - fall, smooth ramps on both sides, 0 outside [t0, t1]."""
    fall = rise if fall is None else fall
    return _ramp(t, t0, rise) * (1.0 - _ramp(t, t1 - fall, fall))


def _arc(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """Ballistic arc 4x(1-x) over [t0, t0 + dur], 0 elsewhere."""
    x = np.clip((t - t0) / max(dur, 1e-6), 0.0, 1.0)
    return 4.0 * x * (1.0 - x)


def _keys(t: np.ndarray, times: Sequence[float], values: Any) -> np.ndarray:
    """Smooth (ease in/out) interpolation through keyframes; holds the first/last value outside them."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    w = _smooth((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9))
    if values.ndim > 1:
        w = w[:, None]
    return values[i] + w * (values[i + 1] - values[i])


def _two_bone(
    root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic two-bone IK: (middle joint, end joint, unit bend direction); unreachable targets clip."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dc = np.clip(dist, abs(l1 - l2) + 1e-3, (l1 + l2) * 0.999)
    cos_a = np.clip((l1 * l1 + dc * dc - l2 * l2) / (2.0 * l1 * dc), -1.0, 1.0)
    pole = np.broadcast_to(pole, d.shape)
    v = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    bad = np.linalg.norm(v, axis=-1) < 1e-6
    if bad.any():  # pole parallel to the limb: bend towards any perpendicular
        alt = np.cross(u[bad], np.array([1.0, 0.0, 0.0]))
        v = v.copy()
        v[bad] = alt
    v = _unit(v)
    mid = root + l1 * (cos_a * u + np.sqrt(1.0 - cos_a * cos_a) * v)
    return mid, root + dc * u, v


# ---------------------------------------------------------------------------------------------------
# bodies and motion
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Body:
    """One subject: segment lengths (metres) and movement style."""

    height: float
    thigh: float
    shin: float
    ankle_h: float
    foot: float
    hip_w: float
    pelvis_drop: float
    spine_low: float
    spine_up: float
    neck: float
    head: float
    shoulder_w: float
    shoulder_drop: float
    upper_arm: float
    forearm: float
    hand: float
    tip: float
    thumb: float
    stance: float
    pelvis_height: float
    amplitude: float  # movement size
    tempo: float  # movement speed
    handed: int  # +1 right-handed, -1 left-handed
    posture: float  # habitual forward lean (rad)
    arm_out: float  # resting hand distance from the thigh (m)

    @property
    def k(self) -> float:
        """Size relative to a 1.70 m person."""
        return self.height / 1.7

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm


def make_body(rng: np.random.Generator) -> Body:
    """Draw a plausible adult body (1.52-1.90 m) and movement style."""
    H = rng.uniform(1.52, 1.90)
    leg, arm, torso, width = rng.normal(1.0, [0.03, 0.035, 0.03, 0.06])
    thigh, shin, ankle_h = 0.245 * H * leg, 0.246 * H * leg, 0.045 * H
    hip_w, pelvis_drop = 0.052 * H * width, 0.035 * H
    stance = hip_w * rng.uniform(0.9, 1.4)
    standing = np.sqrt((0.985 * (thigh + shin)) ** 2 - (stance - hip_w) ** 2)
    return Body(
        height=H,
        thigh=thigh,
        shin=shin,
        ankle_h=ankle_h,
        foot=0.065 * H,
        hip_w=hip_w,
        pelvis_drop=pelvis_drop,
        spine_low=0.145 * H * torso,
        spine_up=0.15 * H * torso,
        neck=0.04 * H,
        head=0.075 * H,
        shoulder_w=0.105 * H * width,
        shoulder_drop=0.012 * H,
        upper_arm=0.165 * H * arm,
        forearm=0.15 * H * arm,
        hand=0.045 * H,
        tip=0.045 * H,
        thumb=0.035 * H,
        stance=stance,
        pelvis_height=ankle_h + standing + pelvis_drop,
        amplitude=rng.uniform(0.75, 1.25),
        tempo=rng.uniform(0.85, 1.15),
        handed=1 if rng.random() < 0.7 else -1,
        posture=rng.uniform(-0.02, 0.12),
        arm_out=rng.uniform(0.0, 0.06) * H / 1.7,
    )


def subject_body(seed: int, subject: int) -> Body:
    """The body of performer ``subject`` (the same in every clip of a seed)."""
    return make_body(_rng(seed, _SUBJECT, subject))


class _Performer:
    """Motion targets of one person in its own body frame (x right, y up, z back; origin on the floor)."""

    def __init__(self, body: Body, t: np.ndarray, rng: np.random.Generator) -> None:
        T = len(t)
        self.b, self.t, self.T = body, t, T
        ph = rng.uniform(0, 2 * np.pi, 6)
        f = rng.uniform(0.2, 0.5)
        self.pelvis = np.tile([0.0, body.pelvis_height, 0.0], (T, 1))
        self.pelvis[:, 0] += 0.008 * np.sin(2 * np.pi * f * t + ph[0])  # idle weight shift
        self.lean = body.posture + 0.015 * np.sin(2 * np.pi * f * t + ph[1])
        self.side = 0.01 * np.sin(2 * np.pi * f * t + ph[2])
        self.twist = np.zeros(T)
        self.yaw = np.zeros(T)
        self.nod = 0.03 * np.sin(2 * np.pi * 0.7 * f * t + ph[3])
        self.head_yaw = np.zeros(T)
        self.turn = np.zeros(T)  # whole-body turn about the vertical through the origin
        self.ankle = {s: np.tile([s * body.stance, body.ankle_h, 0.0], (T, 1)) for s in (1, -1)}
        self.foot_pitch = {s: np.zeros(T) for s in (1, -1)}
        self.knee_pole = {s: np.array([0.15 * s, 0.0, -1.0]) for s in (1, -1)}
        self.hand: dict[int, np.ndarray | None] = {1: None, -1: None}
        self.elbow_pole: dict[int, np.ndarray] = {s: self.rest_pole(s) for s in (1, -1)}
        self.fist = {s: np.zeros(T) for s in (1, -1)}
        self.sway = {s: 0.012 * np.sin(2 * np.pi * f * t + ph[4 + (s > 0)]) for s in (1, -1)}

    @staticmethod
    def rest_pole(s: int) -> np.ndarray:
        return np.array([0.35 * s, -0.3, 1.0])

    # -- torso geometry (valid for the current lean/side/twist/yaw) ----------------------------------
    def rot(self, frac: float = 1.0) -> np.ndarray:
        return (
            _rot(1, self.yaw + frac * self.twist)
            @ _rot(0, -frac * np.asarray(self.lean))
            @ _rot(2, -frac * np.asarray(self.side))
        )

    def torso(self, v: np.ndarray) -> np.ndarray:
        """A torso-frame offset (3,) or (T, 3) in the body frame."""
        return _mv(self.rot(), v)

    def spine_top(self) -> np.ndarray:
        b = self.b
        return self.pelvis + _mv(self.rot(0.5), [0, b.spine_low, 0]) + _mv(self.rot(), [0, b.spine_up, 0])

    def shoulder(self, s: int) -> np.ndarray:
        return self.spine_top() + self.torso([s * self.b.shoulder_w, -self.b.shoulder_drop, 0.0])

    def rest_hand(self, s: int) -> np.ndarray:
        """Wrist of a hanging arm (gravity down, whatever the torso does)."""
        b = self.b
        off = np.zeros((self.T, 3))
        off[:, 0] = s * (0.04 + b.arm_out)
        off[:, 1] = -0.96 * b.arm
        off[:, 2] = -0.03 + self.sway[s]
        return self.shoulder(s) + off

    def arm(
        self,
        s: int,
        target: np.ndarray,
        w: np.ndarray | float = 1.0,
        pole: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        """Move wrist ``s`` towards ``target`` (body frame) with weight ``w`` (T,) from the resting pose."""
        w = np.broadcast_to(np.asarray(w, dtype=float), (self.T,))[:, None]
        rest = self.rest_hand(s)
        self.hand[s] = rest + w * (target - rest)
        if pole is not None:
            rp = self.rest_pole(s)
            self.elbow_pole[s] = rp + w * (np.broadcast_to(np.asarray(pole, dtype=float), (self.T, 3)) - rp)

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """Joints (T, 25, 3) and face points (T, 5, 3: nose, right/left eye, right/left ear), body frame."""
        b, T = self.b, self.T
        J = np.zeros((T, 25, 3))
        R, Ry = self.rot(), _rot(1, self.yaw)
        Rh = R @ _rot(1, self.head_yaw) @ _rot(0, -np.asarray(self.nod))
        base = self.pelvis
        mid = base + _mv(self.rot(0.5), [0, b.spine_low, 0])
        top = mid + _mv(R, [0, b.spine_up, 0])
        neck = top + _mv(Rh, [0, b.neck, 0])
        head = neck + _mv(Rh, [0, b.head, 0])
        J[:, [0, 1, 20, 2, 3]] = np.stack([base, mid, top, neck, head], axis=1)
        for s, side in ((1, "right"), (-1, "left")):
            sh = top + _mv(R, [s * b.shoulder_w, -b.shoulder_drop, 0.0])
            target = self.hand[s] if self.hand[s] is not None else self.rest_hand(s)
            pole = _mv(R, self.elbow_pole[s])
            el, wr, v = _two_bone(sh, target, b.upper_arm, b.forearm, pole)
            u = _unit(wr - el)
            ha = wr + b.hand * u
            fist = self.fist[s][:, None]
            tip = ha + b.tip * (1.0 - 0.6 * fist) * _unit(u - (0.25 + 0.8 * fist) * v)
            thumb = ha + b.thumb * _unit(0.4 * u - 0.9 * v + 0.3 * s * _mv(R, [1.0, 0, 0]))
            for name, p in (("shoulder", sh), ("elbow", el), ("wrist", wr), ("hand", ha)):
                J[:, _J[f"{side}_{name}"]] = p
            J[:, _J[f"{side}_hand_tip"]], J[:, _J[f"{side}_thumb"]] = tip, thumb
            hip = base + _mv(Ry, [s * b.hip_w, -b.pelvis_drop, 0.0])
            knee, ankle, _ = _two_bone(hip, self.ankle[s], b.thigh, b.shin, _mv(Ry, self.knee_pole[s]))
            a = -0.34 + self.foot_pitch[s]
            foot = ankle + b.foot * _mv(Ry, np.stack([np.zeros(T), np.sin(a), -np.cos(a)], axis=1))
            for name, p in (("hip", hip), ("knee", knee), ("ankle", ankle), ("foot", foot)):
                J[:, _J[f"{side}_{name}"]] = p
        k = b.k
        offsets = [
            [0, -0.02, -0.095],
            [0.032, 0.015, -0.08],
            [-0.032, 0.015, -0.08],
            [0.075, 0, 0],
            [-0.075, 0, 0],
        ]
        face = np.stack([head + _mv(Rh, np.array(o) * k) for o in offsets], axis=1)
        if np.any(self.turn):
            Rt = _rot(1, self.turn)
            J, face = np.einsum("tij,tvj->tvi", Rt, J), np.einsum("tij,tvj->tvi", Rt, face)
        return J, face


class _Ctx:
    """What an action function needs: random draws, the bodies, tempo/amplitude and the clock."""

    def __init__(self, rng: np.random.Generator, bodies: list[Body]) -> None:
        self.rng, self.bodies = rng, bodies
        b = bodies[0]
        self.speed = float(np.clip(rng.uniform(0.7, 1.4) * b.tempo, 0.6, 1.6))
        self.amp = b.amplitude * rng.uniform(0.8, 1.2)
        self.k = b.k
        self.dom = b.handed
        self.t = np.zeros(0)
        self.pair = (0.0, 1.0)  # two-person actions: partner origin (lateral, distance) in person 0's frame

    def u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def n(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def idle(self) -> float:
        return self.u(0.15, 0.6)

    def start(self, seconds: float) -> np.ndarray:
        """Set the clock: frames at 30 fps, at least 1.5 s (a short action ends standing still)."""
        self.t = np.arange(int(round(max(seconds, 1.5) * FPS))) / FPS
        return self.t

    def person(self, i: int = 0) -> _Performer:
        return _Performer(self.bodies[i], self.t, self.rng)


def _walk(p: _Performer, t0: float, dist: float, period: float, lead: int = 1, lift: float = 0.07) -> float:
    """Walk ``dist`` metres forward (negative: backward) from t0 in >= 2 steps; returns the end time."""
    t = p.t
    n = max(2, int(np.ceil(abs(dist) / (0.35 * p.b.k))))
    feet = [lead if i % 2 == 0 else -lead for i in range(n)]
    p.pelvis[:, 2] -= dist * _ramp(t, t0, n * period)
    for s in (1, -1):
        steps = [i for i in range(n) if feet[i] == s]
        for i in steps:
            p.ankle[s][:, 2] -= dist / len(steps) * _ramp(t, t0 + i * period, period)
            p.ankle[s][:, 1] += lift * p.b.k * np.sin(np.pi * np.clip((t - t0 - i * period) / period, 0, 1))
    for s in (1, -1):  # arms swing against the legs
        swing = 0.12 * p.b.k * np.sin(np.pi * np.clip((t - t0) / period, 0, n)) * (s * lead)
        p.sway[s] = p.sway[s] + np.sign(dist) * swing * (_window(t, t0, t0 + n * period, 0.2 * period))
    return t0 + n * period


# -- the actions ---------------------------------------------------------------------------------------
# Each returns the performers of one take (one or two), all with the clock set by c.start(...).


def _wave(c: _Ctx, both: bool) -> list[_Performer]:
    f = c.u(1.5, 2.5) * c.speed
    cycles = c.n(2, 4)
    up = c.u(0.3, 0.5) / c.speed
    pre = c.idle()
    act = 2 * up + cycles / f
    t = c.start(pre + act + c.idle())
    p = c.person()
    k, dom = c.k, c.dom
    parallel = c.chance(0.4)
    phase = 2 * np.pi * f * (t - pre - up)
    sides = [dom, -dom] if both else [dom]
    for i, s in enumerate(sides):
        amp = c.amp * (1.0 if i == 0 else c.u(0.3, 1.0))
        delay = 0.0 if i == 0 else c.u(0.0, 0.3) / c.speed
        lateral = c.u(0.08, 0.16) * k * amp * np.sin(phase + (0.0 if i == 0 else c.u(-0.5, 0.5)))
        off = np.zeros((len(t), 3))
        off[:, 0] = s * c.u(0.06, 0.2) * k + (lateral if parallel else s * lateral)
        high = c.u(0.0, 0.38) if c.chance(0.7) else c.u(-0.25, 0.0)  # above the head, or a low "bye"
        off[:, 1] = (high if i == 0 else c.u(-0.3, 0.3)) * k + 0.02 * k * np.sin(2 * phase)
        off[:, 2] = -c.u(0.05, 0.25) * k
        w = _window(t, pre + delay, pre + act, up)
        p.arm(s, p.shoulder(s) + p.torso(off), w, pole=[s * 1.0, -0.8, 0.3])
    if not both and c.chance(0.25):  # the other hand comes up too, but does not wave
        s = -dom
        hold = p.shoulder(s) + p.torso([s * c.u(0.05, 0.2) * k, c.u(-0.3, 0.1) * k, -c.u(0.1, 0.3) * k])
        p.arm(s, hold, _window(t, pre + c.u(0.0, 0.3), pre + act, up), pole=[s * 1.0, -0.8, 0.3])
    p.side = p.side - dom * 0.04 * _window(t, pre, pre + act, up)
    return [p]


def _clap(c: _Ctx) -> list[_Performer]:
    f = c.u(1.8, 3.0) * c.speed
    claps = c.n(3, 6)
    rise = c.u(0.25, 0.4) / c.speed
    pre = c.idle()
    act = 2 * rise + claps / f
    t = c.start(pre + act + c.idle())
    p, k = c.person(), c.k
    w = _window(t, pre, pre + act, rise)
    sep = 0.035 * k + c.u(0.04, 0.25) * k * c.amp * 0.5 * (1.0 - np.cos(2 * np.pi * f * (t - pre - rise)))
    centre = p.spine_top() + p.torso([0.0, -c.u(-0.05, 0.3) * k, -c.u(0.22, 0.4) * k])
    one_hand = c.chance(0.3)  # one palm held still, the other claps onto it
    for s in (1, -1):
        target = centre.copy()
        if one_hand:
            target[:, 0] += s * (0.0175 * k + (sep - 0.035 * k) * (s == c.dom))
        else:
            target[:, 0] += s * sep / 2
        p.arm(s, target, w, pole=[s * 0.8, -0.6, 0.5])
    return [p]


def _rub(c: _Ctx) -> list[_Performer]:
    f = c.u(1.5, 3.0) * c.speed
    strokes = c.n(3, 6)
    rise = c.u(0.25, 0.4) / c.speed
    pre = c.idle()
    act = 2 * rise + strokes / f
    t = c.start(pre + act + c.idle())
    p, k = c.person(), c.k
    w = _window(t, pre, pre + act, rise)
    r = c.u(0.02, 0.08) * k * c.amp
    phi = 2 * np.pi * f * (t - pre)
    centre = p.spine_top() + p.torso([0.0, -c.u(0.05, 0.32) * k, -c.u(0.2, 0.35) * k])
    lateral = c.chance(0.4)
    for s in (1, -1):
        target = centre.copy()
        if lateral:  # palms slide sideways past each other
            target[:, 0] += s * (0.035 * k + 0.5 * r * (1 + np.sin(phi)))
            target[:, 1] += s * 0.5 * r * np.cos(phi)
        else:
            target[:, 0] += s * 0.035 * k
            target[:, 1] += s * r * np.sin(phi)
            target[:, 2] += s * 0.5 * r * np.cos(phi)
        p.arm(s, target, w, pole=[s * 0.9, -0.5, 0.6])
    p.nod = p.nod + c.u(0.0, 0.25) * w  # looking at the hands
    return [p]


def _kick(c: _Ctx) -> list[_Performer]:
    s = c.dom if c.chance(0.85) else -c.dom
    kicks = c.n(1, 2)
    fast = 1.0 / np.sqrt(c.speed)
    pre = c.idle()
    segs = []
    t0 = pre
    for _ in range(kicks):
        wind, strike, back, gap = (
            c.u(0.2, 0.4) / c.speed,
            c.u(0.14, 0.28) * fast,
            c.u(0.3, 0.5) / c.speed,
            c.u(0.15, 0.4),
        )
        segs.append((t0, wind, strike, back, c.u(0.08, 0.55) * c.k * c.amp, c.u(0.25, 0.6) * c.k))
        t0 += wind + strike + back + gap
    t = c.start(t0 + c.idle())
    p = c.person()
    base = p.ankle[s].copy()
    w_all = np.zeros(len(t))
    for t1, wind, strike, back, height, reach in segs:
        times = [t1, t1 + wind, t1 + wind + strike, t1 + wind + strike + 0.05, t1 + wind + strike + back]
        up = _keys(t, times, [0, 0.15 * c.k, height, height, 0])
        fwd = _keys(t, times, [0, -0.08 * c.k, reach, reach * 0.9, 0])
        p.ankle[s][:, 1] += up
        p.ankle[s][:, 2] -= fwd
        p.foot_pitch[s] += _keys(t, times, [0, -0.3, 0.6, 0.6, 0])
        w_all = np.maximum(w_all, _window(t, t1, times[-1], 0.25 / c.speed))
    if c.chance(0.3):  # the kicking foot lands in front and the body follows
        t1, wind, strike, back, _, reach = segs[-1]
        land = _ramp(t, t1 + wind + strike, back)
        p.ankle[s][:, 2] -= 0.6 * reach * land
        p.pelvis[:, 2] -= 0.3 * reach * land
    p.ankle[s][:, 1] = np.maximum(p.ankle[s][:, 1], base[:, 1])
    p.lean = p.lean - c.u(0.0, 0.2) * w_all
    p.pelvis[:, 0] -= s * 0.05 * c.k * w_all
    p.pelvis[:, 2] += 0.04 * c.k * w_all
    if c.chance(0.6):  # arms out for balance
        for a in (1, -1):
            p.arm(a, p.rest_hand(a) + p.torso([a * 0.12 * c.k, 0.1 * c.k, -0.05 * c.k]), w_all)
    return [p]


def _step_forward(c: _Ctx) -> list[_Performer]:
    s = c.dom if c.chance(0.7) else -c.dom
    length = c.u(0.25, 0.5) * c.k * np.sqrt(c.amp)
    lift = (c.u(0.04, 0.15) if c.chance(0.75) else c.u(0.15, 0.3)) * c.k  # some raise the knee high
    step, hold = c.u(0.4, 0.7) / c.speed, c.u(0.3, 0.8) / c.speed
    follow = c.chance(0.5)  # bring the other foot forward; otherwise step back again
    pre = c.idle()
    end = pre + step + hold + step
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    p.ankle[s][:, 2] -= length * _ramp(t, pre, step)
    p.ankle[s][:, 1] += lift * np.sin(np.pi * np.clip((t - pre) / step, 0, 1))
    t2 = pre + step + hold
    if follow:
        p.ankle[-s][:, 2] -= length * _ramp(t, t2, step)
        p.ankle[-s][:, 1] += lift * np.sin(np.pi * np.clip((t - t2) / step, 0, 1))
        p.pelvis[:, 2] -= length * _keys(t, [pre, pre + step, t2, t2 + step], [0, 0.55, 0.55, 1.0])
    else:
        p.ankle[s][:, 2] += length * _ramp(t, t2, step)
        p.ankle[s][:, 1] += lift * np.sin(np.pi * np.clip((t - t2) / step, 0, 1))
        p.pelvis[:, 2] -= 0.5 * length * _window(t, pre, t2 + step, step)
    w = _window(t, pre, end, step)
    for a in (1, -1):  # arms swing opposite to the stepping leg
        p.arm(a, p.rest_hand(a) + p.torso([0.0, 0.03 * k, a * s * 0.12 * k * c.amp]), w)
    return [p]


def _squat(c: _Ctx) -> list[_Performer]:
    reps = 1 if c.chance(0.6) else 2
    pre = c.idle()
    keys_t, keys_v = [0.0, pre], [0.0, 0.0]
    for _ in range(reps):
        down, hold, up, gap = (c.u(*r) / c.speed for r in ((0.5, 0.9), (0.1, 0.5), (0.5, 0.9), (0.1, 0.3)))
        t0 = keys_t[-1]
        keys_t += [t0 + down, t0 + down + hold, t0 + down + hold + up, t0 + down + hold + up + gap]
        keys_v += [1.0, 1.0, 0.0, 0.0]
    t = c.start(keys_t[-1] + c.idle())
    p, k = c.person(), c.k
    w = _keys(t, keys_t, keys_v)
    depth = c.u(0.15, 0.45) * k * c.amp
    p.pelvis[:, 1] -= depth * w
    p.pelvis[:, 2] += c.u(0.25, 0.5) * depth * w
    p.lean = p.lean + c.u(0.2, 0.55) * w
    arms = c.rng.choice(3)  # forward, hands on knees, hanging
    wa = _window(t, pre * 0.6, keys_t[-1], 0.4 / c.speed)
    for s in (1, -1):
        if arms == 0:
            p.arm(
                s, p.shoulder(s) + p.torso([s * 0.1 * k, -0.02 * k, -0.92 * p.b.arm]), wa, pole=[s, -0.5, 0.3]
            )
        elif arms == 1:
            knee = p.pelvis + np.array([s * p.b.hip_w, -0.3 * k, -0.2 * k])
            p.arm(s, knee, w, pole=[s * 0.8, 0.0, 0.8])
    return [p]


def _sit_down(c: _Ctx) -> list[_Performer]:
    pre = c.idle()
    down = c.u(0.8, 1.4) / c.speed
    seated = c.u(0.5, 1.3)
    t = c.start(pre + down + seated)
    p, k = c.person(), c.k
    b = p.b
    w = _ramp(t, pre, down)
    seat = c.u(0.4, 0.62) * k
    drop = b.pelvis_height - (seat + 0.08 * k)
    back = c.u(0.12, 0.28) * k
    p.pelvis[:, 1] -= drop * _ramp(t, pre + 0.1 * down, 0.9 * down)
    p.pelvis[:, 2] += back * w
    bend = c.u(0.25, 0.6)
    p.lean = p.lean + _keys(
        t, [pre, pre + 0.6 * down, pre + down, pre + down + 0.4], [0, bend, bend * 0.5, 0.1]
    )
    for s in (1, -1):
        thigh = p.pelvis + np.array([s * (b.hip_w + 0.02 * k), 0.02 * k, -0.25 * k])
        if c.chance(0.65):
            p.arm(s, thigh, _ramp(t, pre + 0.5 * down, 0.5 * down), pole=[s * 0.6, -0.3, 1.0])
    return [p]


def _punch(c: _Ctx) -> list[_Performer]:
    n = c.n(1, 3)
    alternate = c.chance(0.4)
    fast = 1.0 / np.sqrt(c.speed)
    raise_t = c.u(0.25, 0.45) / c.speed
    pre = c.idle()
    t0 = pre + raise_t
    hits = []
    for i in range(n):
        s = c.dom if (not alternate or i % 2 == 0) else -c.dom
        out, back, gap = c.u(0.11, 0.35) * fast, c.u(0.18, 0.4) * fast, c.u(0.15, 0.45) / c.speed
        hits.append((s, t0, out, back))
        t0 += out + back + gap
    end = t0 + raise_t
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    guard = _window(t, pre, end, raise_t)
    twist = np.zeros(len(t))
    ext = {1: np.zeros(len(t)), -1: np.zeros(len(t))}
    height = c.u(-0.1, 0.08) * k
    for s, t1, out, back in hits:
        e = _keys(t, [t1, t1 + out, t1 + out + 0.04, t1 + out + 0.04 + back], [0, 1, 1, 0])
        ext[s] = np.maximum(ext[s], e)
        twist += s * c.u(0.05, 0.35) * e
    p.twist = twist
    low_guard = c.u(0.0, 0.25) * k  # some keep the fists at the chest
    no_guard = c.chance(0.3)  # others punch from a hanging arm
    for s in (1, -1):
        sh = p.shoulder(s)
        chin = sh + p.torso([-s * 0.1 * k, 0.1 * k - low_guard, -0.2 * k])
        if no_guard:
            chin = p.rest_hand(s) + p.torso([0.0, 0.1 * k, -0.1 * k])
        hit = sh + p.torso([-s * 0.03 * k, height, -0.97 * p.b.arm])
        e = ext[s][:, None]
        p.arm(s, chin + e * (hit - chin), guard, pole=[s * 0.9, -0.7, 0.4])
        p.fist[s] = guard
    return [p]


def _reach(c: _Ctx) -> list[_Performer]:
    s = c.dom if c.chance(0.85) else -c.dom
    go, hold, ret = c.u(0.3, 1.0) / c.speed, c.u(0.3, 0.8) / c.speed, c.u(0.5, 1.0) / c.speed
    pre = c.idle()
    end = pre + go + hold + ret
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    w = _keys(t, [pre, pre + go, pre + go + hold, end], [0, 1, 1, 0])
    p.lean = p.lean + c.u(0.0, 0.25) * w
    off = np.array([s * c.u(-0.05, 0.2) * k, c.u(-0.35, 0.25) * k, -c.u(0.82, 0.97) * p.b.arm])
    target = p.shoulder(s) + p.torso(off)
    target[:, 1] += 0.02 * k * np.sin(2 * np.pi * 1.5 * t) * (w > 0.95)
    p.arm(s, target, w, pole=[s * 0.6, -0.8, 0.4])
    p.fist[s] = 0.8 * _window(t, pre + go * 0.9, pre + go + hold, 0.1)
    return [p]


def _handshake(c: _Ctx) -> list[_Performer]:
    k2 = (c.bodies[0].k + c.bodies[1].k) / 2
    final = c.u(0.62, 0.78) * k2
    approach = c.chance(0.6)
    steps = [c.u(0.1, 0.25) * k2 if approach else 0.0 for _ in range(2)]
    lat = c.u(0.08, 0.16) * k2
    f, shakes = c.u(1.8, 2.8) * c.speed, c.n(2, 4)
    reach, release = c.u(0.3, 0.5) / c.speed, c.u(0.3, 0.5) / c.speed
    period = c.u(0.35, 0.5) / c.speed
    pre = c.idle()
    t_meet = pre + (2 * period if approach else 0.0) + reach
    t_end = t_meet + shakes / f
    step_back = approach and c.chance(0.3)
    t = c.start(t_end + release + (2 * period if step_back else 0.0) + c.idle())
    c.pair = (2 * lat, final + sum(steps))
    height = 0.58 * (c.bodies[0].height + c.bodies[1].height) / 2
    amp = c.u(0.025, 0.06)
    shake = amp * np.sin(2 * np.pi * f * (t - t_meet)) * _window(t, t_meet, t_end, 0.5 / f)
    people = []
    for i in range(2):
        p = c.person(i)
        if approach:
            _walk(p, pre, steps[i], period, lead=1)
        if step_back:
            _walk(p, t_end + release, -0.6 * steps[i], period, lead=-1)
        meet = np.zeros((len(t), 3))
        meet[:, 0] = lat  # the midpoint, in each person's own frame
        meet[:, 1] = height + shake
        meet[:, 2] = -(steps[i] + final / 2)  # midway between the two, after their steps
        w = _window(t, t_meet - reach, t_end + release, reach, release)
        p.arm(1, meet, w, pole=[0.8, -0.8, 0.3])
        p.lean = p.lean + 0.08 * w
        people.append(p)
    return people


def _push(c: _Ctx) -> list[_Performer]:
    dist = c.u(0.55, 0.8) * c.k
    lat = c.u(-0.05, 0.05)
    pre = c.idle()
    reach, shove = c.u(0.3, 0.5) / c.speed, c.u(0.2, 0.35)
    t_hit = pre + reach
    t_end = t_hit + shove
    recover = c.u(0.6, 1.0) / c.speed
    t = c.start(t_end + recover + c.idle())
    c.pair = (lat, dist)
    a, b = c.person(0), c.person(1)
    k = c.k
    push_d = c.u(0.15, 0.45) * b.b.k
    w = _window(t, pre, t_end + recover * 0.6, reach, recover * 0.6)
    moved = _ramp(t, t_hit, shove)
    # person 1 is shoved back (its +z), leans back, steps back and flails
    b.pelvis[:, 2] += push_d * moved
    for s in (1, -1):
        b.ankle[s][:, 2] += push_d * _ramp(t, t_hit + (0.05 if s == 1 else 0.2), 0.3)
        b.ankle[s][:, 1] += 0.05 * np.sin(
            np.pi * np.clip((t - t_hit - (0.05 if s == 1 else 0.2)) / 0.3, 0, 1)
        )
    b.lean = b.lean - c.u(0.05, 0.3) * _window(t, t_hit, t_end + recover, 0.15, recover)
    flail = _window(t, t_hit, t_end + recover, 0.15, recover * 0.8)
    for s in (1, -1):
        if c.chance(0.7):
            b.arm(s, b.shoulder(s) + b.torso([s * 0.25 * k, -0.2 * k, -0.3 * k]), flail, pole=[s, -0.5, 0.5])
    # person 0 pushes one or both hands to the partner's chest and leans in
    a.lean = a.lean + c.u(0.05, 0.3) * w
    if c.chance(0.5):
        _walk(a, t_hit, 0.5 * push_d, 0.35, lead=c.dom)
    chest_h = c.u(0.66, 0.76) * b.b.height
    hands = (1, -1) if c.chance(0.7) else (c.dom,)
    for s in hands:
        hit = np.zeros((len(t), 3))
        hit[:, 0] = lat + s * (0.8 if len(hands) == 2 else 0.2) * b.b.shoulder_w
        hit[:, 1] = chest_h
        hit[:, 2] = -dist + 0.12 * b.b.k - push_d * moved
        a.arm(s, hit, w, pole=[s * 0.6, -0.8, 0.5])
        a.fist[s] = 0.2 * w
    return [a, b]


def _jump(c: _Ctx) -> list[_Performer]:
    reps = c.n(1, 3)
    pre = c.idle()
    jumps = []
    t0 = pre
    for _ in range(reps):
        crouch, flight, land, gap = c.u(0.25, 0.45) / c.speed, c.u(0.25, 0.42), 0.25 / c.speed, c.u(0.1, 0.4)
        jumps.append((t0, crouch, flight, land))
        t0 += crouch + flight + land + gap
    t = c.start(t0 + c.idle())
    p, k = c.person(), c.k
    arms_up = c.chance(0.6)
    swing = np.zeros(len(t))
    for t1, crouch, flight, land in jumps:
        h = 9.81 * flight**2 / 8.0 * c.amp
        to, td = t1 + crouch, t1 + crouch + flight
        dip = c.u(0.06, 0.18) * k
        p.pelvis[:, 1] += _keys(
            t, [t1, to - 0.06, to, td, td + 0.1, td + land], [0, -dip, 0.02, 0.02, -0.7 * dip, 0]
        )
        air = h * _arc(t, to, flight)
        p.pelvis[:, 1] += air
        for s in (1, -1):
            p.ankle[s][:, 1] += air * 0.85
            p.foot_pitch[s] -= 0.5 * _arc(t, to, flight)
        p.lean = p.lean + _keys(t, [t1, to - 0.06, to, td, td + land], [0, 0.35, 0.05, 0.05, 0])
        swing += _keys(t, [t1, to - 0.06, to + 0.1, td, td + land], [0, -1, 1, 0.6, 0])
    fwd, back = np.clip(swing, 0, 1)[:, None], np.clip(-swing, 0, 1)[:, None]
    for s in (1, -1):
        rest = p.rest_hand(s)
        if arms_up:
            ahead = p.shoulder(s) + p.torso([s * 0.1 * k, 0.2 * k, -0.35 * k])
        else:
            ahead = rest + p.torso([0.0, 0.12 * k, -0.3 * k])
        behind = rest + p.torso([s * 0.05 * k, 0.05 * k, 0.3 * k])
        p.arm(s, rest + fwd * (ahead - rest) + back * (behind - rest), 1.0, pole=[s * 0.35, -0.3, 1.0])
    return [p]


def _hop(c: _Ctx) -> list[_Performer]:
    lifted = -c.dom if c.chance(0.7) else c.dom
    stand = -lifted
    hops = c.n(2, 5)
    f = c.u(1.6, 2.6) * c.speed
    lift_t = c.u(0.3, 0.5) / c.speed
    pre = c.idle()
    t_hop = pre + lift_t
    t_end = t_hop + hops / f
    t = c.start(t_end + lift_t + c.idle())
    p, k = c.person(), c.k
    w = _window(t, pre, t_end + lift_t, lift_t)
    p.ankle[lifted][:, 1] += c.u(0.12, 0.35) * k * w
    p.ankle[lifted][:, 2] += c.u(0.05, 0.3) * k * w
    p.foot_pitch[lifted] -= 0.6 * w
    p.pelvis[:, 0] += stand * c.u(0.04, 0.08) * k * w
    h = c.u(0.04, 0.12) * k * c.amp
    air = np.zeros(len(t))
    for i in range(hops):
        air += _arc(t, t_hop + i / f, 0.45 / f)
    p.pelvis[:, 1] += h * air - 0.03 * k * (w - air.clip(0, 1)) * (t > t_hop) * (t < t_end)
    p.ankle[stand][:, 1] += h * air
    p.side = p.side + stand * 0.05 * w
    if c.chance(0.7):  # arms out for balance
        out = c.u(0.15, 0.45)
        for s in (1, -1):
            p.arm(
                s, p.shoulder(s) + p.torso([s * out * k, -0.35 * k, -0.05 * k]), w, pole=[s * 0.3, -0.2, 1.0]
            )
    return [p]


def _hug(c: _Ctx) -> list[_Performer]:
    k2 = (c.bodies[0].k + c.bodies[1].k) / 2
    final = c.u(0.3, 0.42) * k2
    steps = [c.u(0.2, 0.4) * k2 for _ in range(2)]
    lat = c.u(-0.05, 0.05)
    period = c.u(0.35, 0.5) / c.speed
    wrap, hold, release = c.u(0.4, 0.7) / c.speed, c.u(0.5, 1.2) / c.speed, c.u(0.4, 0.6) / c.speed
    pre = c.idle()
    t_wrap = pre + 2 * period
    t_rel = t_wrap + wrap + hold
    step_back = c.chance(0.4)
    t = c.start(t_rel + release + (2 * period if step_back else 0.0) + c.idle())
    c.pair = (lat, final + sum(steps))
    high = c.chance(0.5)
    people = []
    for i in range(2):
        p = c.person(i)
        other = c.bodies[1 - i]
        _walk(p, pre, steps[i], period, lead=1 if i == 0 else -1)
        if step_back:
            _walk(p, t_rel + release, -0.5 * steps[i], period, lead=-1)
        w = _window(t, t_wrap - 0.3 * period, t_rel + release, wrap, release)
        p.lean = p.lean + c.u(0.08, 0.2) * w
        p.side = p.side + (0.06 if i == 0 else -0.06) * w
        y = other.height * (0.74 if high == (i == 0) else 0.62)
        for s in (1, -1):
            back = np.zeros((len(t), 3))
            back[:, 0] = lat + s * 0.7 * other.shoulder_w * (0.8 if high == (i == 0) else 1.0)
            back[:, 1] = y + (0.03 * np.sin(2 * np.pi * 2.0 * (t - t_wrap)) if s == 1 else 0.0)
            back[:, 2] = -(final + steps[i]) - 0.12 * other.k  # behind the partner's back
            p.arm(s, back, w, pole=[s * 1.0, -0.5, 0.2])
        people.append(p)
    return people


def _nuisance(c: _Ctx, p: _Performer, alone: bool) -> None:
    """Movements unrelated to the action: a free hand to the face, head, hip or belly; looking around;
    a slow turn or a side step (one-person actions only)."""
    t, k = p.t, p.b.k
    dur = t[-1]
    for _ in range(int(c.rng.random() < 0.6) + int(c.rng.random() < 0.2)):
        kind = c.n(0, 3 if alone else 1)
        t0 = c.u(0.0, max(dur - 0.8, 0.05))
        w = _window(t, t0, t0 + c.u(0.8, 2.0), 0.3)
        free = [s for s in (1, -1) if p.hand[s] is None]
        if kind == 0 and free:
            s = free[int(c.rng.integers(len(free)))]
            spots = [
                p.spine_top() + p.torso([s * 0.03 * k, 0.14 * k, -0.12 * k]),  # chin / face
                p.spine_top() + p.torso([s * 0.09 * k, 0.3 * k, -0.02 * k]),  # scratch the head
                p.pelvis + p.torso([s * (p.b.hip_w + 0.1 * k), 0.04 * k, 0.0]),  # hand on the hip
                p.spine_top() + p.torso([s * 0.05 * k, -0.33 * k, -0.17 * k]),  # hand on the belly
            ]
            p.arm(s, spots[int(c.rng.integers(4))], w, pole=[s * 0.8, -0.4, 0.6])
        elif kind <= 1:
            p.head_yaw = p.head_yaw + c.u(-0.7, 0.7) * w  # look around
            p.nod = p.nod + c.u(-0.2, 0.3) * w
        elif kind == 2:
            p.turn = p.turn + c.u(-0.5, 0.5) * _ramp(t, t0, c.u(0.5, 1.5))  # turn the whole body
        else:
            s = 1 if c.rng.random() < 0.5 else -1
            side = c.u(0.08, 0.2) * k * s
            p.ankle[s][:, 0] += side * _ramp(t, t0, 0.4)
            p.ankle[s][:, 1] += 0.04 * k * np.sin(np.pi * np.clip((t - t0) / 0.4, 0, 1))
            p.pelvis[:, 0] += 0.5 * side * _ramp(t, t0, 0.6)


@dataclass(frozen=True)
class Action:
    """A class of the synthetic dataset: its motion generator and number of performers."""

    name: str
    persons: int
    make: Callable[[_Ctx], list[_Performer]]


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("wave one hand", 1, lambda c: _wave(c, both=False)),
        Action("wave both hands", 1, lambda c: _wave(c, both=True)),
        Action("clap", 1, _clap),
        Action("rub hands", 1, _rub),
        Action("kick", 1, _kick),
        Action("step forward", 1, _step_forward),
        Action("squat", 1, _squat),
        Action("sit down", 1, _sit_down),
        Action("punch", 1, _punch),
        Action("reach out", 1, _reach),
        Action("handshake", 2, _handshake),
        Action("push", 2, _push),
        Action("jump", 1, _jump),
        Action("hop on one leg", 1, _hop),
        Action("hug", 2, _hug),
    )
}


def load_class_names(path: str | os.PathLike = LABEL_MAP) -> list[str]:
    """Class names in label order (label 0 first), checked against the known actions."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: label map not found")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = [n for n in names if n not in ACTIONS]
    if unknown:
        raise ConfigError(
            f"{path}: no motion generator for class {unknown[0]!r}; known: {', '.join(ACTIONS)}"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: duplicate class names")
    return names


# ---------------------------------------------------------------------------------------------------
# scenes, cameras and capture artefacts
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Artefacts:
    """Capture imperfections; :meth:`from_difficulty` scales them all with one number (1 = default)."""

    noise_mm: float = 2.5  # white joint noise, extremities x2
    drift_mm: float = 3.5  # temporally correlated joint noise (AR(1), 0.85 per frame)
    spike_rate: float = 0.5  # expected jitter spikes (1-3 joints displaced 5-20 cm for 1-3 frames) per clip
    dropout_p: float = 0.15  # a real body vanishes for 1-6 frames
    edge_p: float = 0.12  # leading (and, independently, trailing) frames without bodies
    clutter_p: float = 0.12  # a static 25-point clutter "body" within a few cm
    passerby_p: float = (
        0.08  # someone walking by behind a lone actor (kept only if it moves less than the actor)
    )
    occlusion_p: float = 0.5  # side views: the far arm collapses towards the body for 10-40 frames
    keypoint_drop_p: float = 0.03  # Kinetics: keypoints missed by the 2D detector

    @classmethod
    def from_difficulty(cls, difficulty: float, noise_mm: float | None = None) -> Artefacts:
        d = float(difficulty)
        base = cls()
        return cls(
            noise_mm=base.noise_mm * d if noise_mm is None else float(noise_mm),
            drift_mm=base.drift_mm * (d if noise_mm is None else float(noise_mm) / base.noise_mm),
            spike_rate=base.spike_rate * d,
            dropout_p=min(0.9, base.dropout_p * d),
            edge_p=min(0.9, base.edge_p * d),
            clutter_p=min(0.9, base.clutter_p * d),
            passerby_p=min(0.9, base.passerby_p * d),
            occlusion_p=min(0.9, base.occlusion_p * d),
            keypoint_drop_p=min(0.5, base.keypoint_drop_p * d),
        )


@dataclass
class _Actor:
    joints: np.ndarray  # (T, 25, 3) world
    face: np.ndarray  # (T, 5, 3) world
    lean: np.ndarray  # (T, 2): sideways, forward (rad)
    fist: np.ndarray  # (T, 2): left, right in 0..1


@dataclass
class _Performance:
    actors: list[_Actor]
    T: int
    two_person: bool
    centre: np.ndarray  # (3,) world position of the scene


def _performance(seed: int, action: Action, action_id: int, subject: int, replication: int) -> _Performance:
    rng = _rng(seed, _PERFORMANCE, subject, action_id, replication)
    bodies = [subject_body(seed, subject)]
    if action.persons == 2:
        bodies.append(make_body(_rng(seed, _PARTNER, subject)))
    ctx = _Ctx(rng, bodies)
    people = action.make(ctx)
    for p in people:
        _nuisance(ctx, p, alone=action.persons == 1)
    facing_cam = 1 if (subject + replication) % 2 == 0 else 3
    yaw = np.radians(CAMERA_YAW_DEG[facing_cam] + rng.normal(0.0, 12.0))
    centre = np.array([rng.uniform(-0.3, 0.3), 0.0, rng.uniform(-0.3, 0.3)])
    if action.persons == 2:
        yaw += np.radians(90.0 if rng.random() < 0.5 else -90.0)
    lat, dist = ctx.pair
    R0 = _facing(np.full(len(ctx.t), yaw))
    actors = []
    for i, p in enumerate(people):
        J, face = p.solve()
        if i == 1:  # the partner stands at (lat, 0, -dist) of person 0, facing it
            flip = _rot(1, np.full(len(ctx.t), np.pi))
            J = np.einsum("tij,tvj->tvi", flip, J) + np.array([lat, 0.0, -dist])
            face = np.einsum("tij,tvj->tvi", flip, face) + np.array([lat, 0.0, -dist])
        mid = np.array([lat / 2, 0.0, -dist / 2]) if action.persons == 2 else np.zeros(3)

        def to_world(x: np.ndarray, mid: np.ndarray = mid) -> np.ndarray:
            return np.einsum("tij,tvj->tvi", R0, x - mid) + centre

        lean = np.stack([p.side, p.lean], axis=1)
        fist = np.stack([p.fist[-1], p.fist[1]], axis=1)
        actors.append(_Actor(to_world(J), to_world(face), lean, fist))
    return _Performance(actors, len(ctx.t), action.persons == 2, centre)


@dataclass(frozen=True)
class _Camera:
    position: np.ndarray  # (3,) world
    basis: np.ndarray  # (3, 3) rows: camera x (left), y (up), z (forward) in world coordinates

    def to_camera(self, x: np.ndarray) -> np.ndarray:
        return (x - self.position) @ self.basis.T


def _cameras(seed: int, setup: int, two_person: bool) -> dict[int, _Camera]:
    """The three Kinects of a setup: common distance/height/aim with small per-camera differences."""
    r = _rng(seed, _SETUP, setup)
    dist, height, look = r.uniform(2.8, 3.5), r.uniform(0.7, 1.4), r.uniform(0.75, 1.0)
    cams = {}
    for cam in (1, 2, 3):
        yaw = np.radians(CAMERA_YAW_DEG[cam] + r.normal(0.0, 2.0))
        d = dist + r.normal(0.0, 0.1) + (0.35 if two_person else 0.0)
        pos = np.array([np.sin(yaw) * d, height + r.normal(0.0, 0.05), -np.cos(yaw) * d])
        fwd = _unit(np.array([r.normal(0, 0.05), look, r.normal(0, 0.05)]) - pos)
        left = _unit(np.cross([0.0, 1.0, 0.0], fwd))
        up = np.cross(fwd, left)
        roll = np.radians(r.normal(0.0, 1.5))
        left, up = np.cos(roll) * left + np.sin(roll) * up, np.cos(roll) * up - np.sin(roll) * left
        cams[cam] = _Camera(pos, np.stack([left, up, fwd]))
    return cams


@dataclass
class _Track:
    """One body as the sensor lists it: camera-space joints and per-frame presence."""

    kind: str  # person, clutter, passerby
    joints: np.ndarray  # (T, 25, 3) camera space
    face: np.ndarray | None  # (T, 5, 3) camera space
    present: np.ndarray  # (T,) bool
    ids: np.ndarray  # (T,) int64 offsets from _BODY_ID_BASE
    lean: np.ndarray  # (T, 2)
    fist: np.ndarray  # (T, 2)
    order: float = 0.0  # listing order within a frame
    score: float = 0.75  # Kinetics base confidence


def _noise(rng: np.random.Generator, T: int, art: Artefacts, far_side: int) -> np.ndarray:
    """(T, 25, 3) sensor noise: white + correlated (AR(1)) + spikes; the occluded arm is noisier."""
    scale = np.ones((25, 1))
    scale[_EXTREMITIES] = 2.0
    scale[[_J["left_wrist"], _J["right_wrist"]]] = 1.5
    if far_side:
        scale[_ARM_JOINTS[far_side]] *= 1.8
    white = rng.normal(0.0, 1.0, (T, 25, 3)) * (art.noise_mm * 1e-3 * rng.uniform(0.6, 1.4))
    a = 0.85
    drift = lfilter([np.sqrt(1 - a * a)], [1.0, -a], rng.normal(0.0, 1.0, (T, 25, 3)), axis=0)
    noise = (white + drift * (art.drift_mm * 1e-3 * rng.uniform(0.5, 1.5))) * scale
    for _ in range(rng.poisson(art.spike_rate)):
        t0 = int(rng.integers(0, T))
        joints = rng.choice(_EXTREMITIES if rng.random() < 0.7 else np.arange(25), size=rng.integers(1, 4))
        noise[t0 : t0 + int(rng.integers(1, 4)), joints] += _unit(rng.normal(size=3)) * rng.uniform(0.05, 0.2)
    return noise


def _walker(rng: np.random.Generator, T: int, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """A random person walking forward at ``speed`` m/s for T frames (body frame)."""
    body = make_body(rng)
    t = np.arange(T) / FPS
    p = _Performer(body, t, rng)
    dist = speed * t[-1]
    steps = max(2, int(np.ceil(dist / (0.35 * body.k))))
    _walk(p, 0.0, dist, t[-1] / steps, lead=1)
    return p.solve()


def _capture(
    perf: _Performance, cam: _Camera, rng: np.random.Generator, art: Artefacts, max_frames: int
) -> tuple[list[_Track], int, float]:
    """What one camera records of a performance: tracks, frame count and the view angle of person 0."""
    T = perf.T
    a0, a1 = int(rng.integers(0, 4)), int(rng.integers(0, 4))  # cameras start and stop a little apart
    keep = slice(a0, min(T - a1, a0 + max_frames))
    n = keep.stop - keep.start
    tracks: list[_Track] = []
    next_id = int(rng.integers(2000, 90000))
    for i, actor in enumerate(perf.actors):
        J = cam.to_camera(actor.joints[keep])
        face = cam.to_camera(actor.face[keep])
        right = _unit(J[:, _J["right_shoulder"]] - J[:, _J["left_shoulder"]])
        to_cam = -_unit(J[:, _J["spine_shoulder"]])
        side_dot = float(np.mean(np.sum(right * to_cam, axis=-1)))
        far = 1 if side_dot < -0.45 else (-1 if side_dot > 0.45 else 0)
        if i == 0:
            view = _view_angle(J)
        if far and rng.random() < art.occlusion_p:  # the hidden arm collapses towards the body
            arm = _ARM_JOINTS[far]
            anchor = J[:, [_J["middle_of_spine"]]] + rng.normal(0.0, 0.05, 3)
            w = np.zeros(n)
            for _ in range(int(rng.integers(1, 3))):
                t0 = rng.uniform(-10, n)
                w = np.maximum(
                    w, _window(np.arange(n), t0, t0 + rng.uniform(10, 40), 4) * rng.uniform(0.3, 0.8)
                )
            J[:, arm] += w[:, None, None] * (anchor - J[:, arm])
        J = J + _noise(rng, n, art, far)
        face = face + np.repeat(_noise(rng, n, art, 0)[:, [3]], 5, axis=1)
        present = np.ones(n, dtype=bool)
        ids = np.full(n, next_id, dtype=np.int64)
        if rng.random() < art.dropout_p and n > 20:
            g0 = int(rng.integers(5, n - 12))
            g1 = g0 + int(rng.integers(1, 7))
            present[g0:g1] = False
            if rng.random() < 0.5:  # the tracker hands out a new id after losing the body
                ids[g1:] += int(rng.integers(1, 40))
        next_id = int(ids[-1]) + int(rng.integers(1, 40))
        order = i + rng.uniform(-0.75, 0.75)
        tracks.append(
            _Track("person", J, face, present, ids, actor.lean[keep], actor.fist[keep], order=order)
        )
    if not perf.two_person and rng.random() < art.passerby_p and n > 30:
        passer = _passerby(perf, cam, rng, art, n, min(_energy(tr.joints[tr.present]) for tr in tracks))
        if passer is not None:
            passer.ids[:] = next_id
            next_id += int(rng.integers(1, 40))
            tracks.append(passer)
    if rng.random() < art.clutter_p:
        spot = np.array([rng.uniform(-1.2, 1.2), rng.uniform(-0.8, 0.6), rng.uniform(2.2, 4.4)])
        spread = rng.uniform(0.03, 0.05)
        Jc = spot + rng.uniform(-spread, spread, (25, 3)) + rng.normal(0.0, 0.002, (n, 25, 3))
        whole = rng.random() < 0.5
        present = np.ones(n, dtype=bool)
        order = float(rng.uniform(-1.0, 11.0)) if whole else 20.0
        if not whole:  # seen for a part of the clip only: listed after the people
            s0 = int(rng.integers(0, n // 2))
            present[:] = False
            present[s0 : s0 + int(rng.integers(n // 3, n - s0 + 1))] = True
        ids = np.full(n, next_id, dtype=np.int64)
        tracks.append(
            _Track("clutter", Jc, None, present, ids, np.zeros((n, 2)), np.zeros((n, 2)), order, 0.15)
        )
    for edge in (slice(0, int(rng.integers(1, 9))), slice(n - int(rng.integers(1, 9)), n)):
        if rng.random() < art.edge_p:
            for tr in tracks:
                tr.present[edge] = False
    tracks.sort(key=lambda tr: tr.order)
    return tracks, n, view


def _energy(J: np.ndarray) -> float:
    """The reference's body-selection score: summed std of x, y and z over frames and joints."""
    return float(sum(J[..., c].std() for c in range(3))) if len(J) else 0.0


def _passerby(
    perf: _Performance, cam: _Camera, rng: np.random.Generator, art: Artefacts, n: int, actor_energy: float
) -> _Track | None:
    """Someone walking by behind the actor for 15-40 frames, or None when every try would move more than
    the actor (the energy-based selection is meant to keep the actor; a passer-by that wins it is a label
    error, not a nuisance)."""
    length = int(rng.integers(15, min(41, n - 5)))
    start = int(rng.integers(0, n - length))
    speed = rng.uniform(0.4, 0.7)
    Jb, face_b = _walker(rng, length, speed)
    fwd = cam.basis[2] * np.array([1.0, 0.0, 1.0])
    fwd /= np.linalg.norm(fwd)
    left = np.cross([0.0, 1.0, 0.0], fwd)
    side = 1.0 if rng.random() < 0.5 else -1.0
    origin = perf.centre + fwd * rng.uniform(0.9, 1.3) + left * side * rng.uniform(0.6, 1.2)
    walk_dir = -side * left
    R = _facing(np.full(length, np.arctan2(walk_dir[0], -walk_dir[2])))
    Jc = cam.to_camera(np.einsum("tij,tvj->tvi", R, Jb) + origin) + _noise(rng, length, art, 0)
    fc = cam.to_camera(np.einsum("tij,tvj->tvi", R, face_b) + origin)
    for keep in (length, (2 * length) // 3, length // 2):
        if keep >= 8 and _energy(Jc[:keep]) < 0.85 * actor_energy:
            joints, face = np.zeros((n, 25, 3)), np.zeros((n, 5, 3))
            joints[start : start + keep], face[start : start + keep] = Jc[:keep], fc[:keep]
            present = np.zeros(n, dtype=bool)
            present[start : start + keep] = True
            zeros = np.zeros((n, 2))
            return _Track("passerby", joints, face, present, np.zeros(n, np.int64), zeros, zeros, 10.0, 0.55)
    return None


def _view_angle(J: np.ndarray) -> float:
    """Angle (degrees) between a body's facing and the direction to the camera: 0 frontal, 90 profile."""
    right = _unit(J[:, _J["right_shoulder"]] - J[:, _J["left_shoulder"]])
    up = _unit(J[:, _J["spine_shoulder"]] - J[:, _J["base_of_spine"]])
    forward = _unit(np.cross(up, right))
    to_cam = -_unit(J[:, _J["spine_shoulder"]])
    return float(np.degrees(np.arccos(np.clip(np.mean(np.sum(forward * to_cam, axis=-1)), -1.0, 1.0))))


# ---------------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------------
def _quaternions(J: np.ndarray) -> np.ndarray:
    """(T, 25, 4) W X Y Z joint orientations: y along the bone from the parent, x towards the body's right."""
    y = J - J[:, _PARENTS]
    y[:, 0] = J[:, 1] - J[:, 0]
    y = _unit(y)
    right = _unit(J[:, _J["right_shoulder"]] - J[:, _J["left_shoulder"]])[:, None]
    x = _unit(right - np.sum(right * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    m = np.stack([x, y, z], axis=-1)  # columns
    d0, d1, d2 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    q = 0.5 * np.sqrt(
        np.maximum(
            0.0, np.stack([1 + d0 + d1 + d2, 1 + d0 - d1 - d2, 1 - d0 + d1 - d2, 1 - d0 - d1 + d2], -1)
        )
    )
    q[..., 1] = np.copysign(q[..., 1], m[..., 2, 1] - m[..., 1, 2])
    q[..., 2] = np.copysign(q[..., 2], m[..., 0, 2] - m[..., 2, 0])
    q[..., 3] = np.copysign(q[..., 3], m[..., 1, 0] - m[..., 0, 1])
    q[:, _LEAVES] = 0.0
    return q


_BODY_FMT = "%d %d %d %d %d %d %d %.7g %.7g %d\r\n25\r\n" + ("%.7g " * 11 + "%d\r\n") * 25


def _ntu_rows(tr: _Track) -> tuple[list[list[float]], list[tuple[Any, ...]]]:
    """Per frame: the 300 joint numbers and the 10 body-info numbers of one track."""
    J = tr.joints
    z = np.where(np.abs(J[..., 2]) < 1e-3, 1e-3, J[..., 2])
    fx, cx, cy = _DEPTH
    gx, gcx, gcy = _COLOR
    vals = np.zeros((len(J), 25, 12))
    vals[..., :3] = J
    vals[..., 3] = cx + fx * J[..., 0] / z
    vals[..., 4] = cy - fx * J[..., 1] / z
    vals[..., 5] = gcx + gx * J[..., 0] / z
    vals[..., 6] = gcy - gx * J[..., 1] / z
    if tr.kind != "clutter":
        vals[..., 7:11] = _quaternions(J)
    vals[..., 11] = 2
    vals += 0.0  # no "-0" in the text
    dx, dy = vals[..., 3], vals[..., 4]
    clipped = (
        (dx > 511).any(-1) * 1 + (dx < 0).any(-1) * 2 + (dy < 0).any(-1) * 4 + (dy > 423).any(-1) * 8
    ).astype(int)
    T = len(J)
    if tr.kind == "clutter":
        hands = np.zeros((T, 4), dtype=int)
    else:  # confidence high; state closed (3) for a fist, open (2) above the waist, else not tracked (1)
        hands = np.ones((T, 4), dtype=int)
        for col, (hand, fist) in enumerate(((7, tr.fist[:, 0]), (11, tr.fist[:, 1]))):
            hands[:, 2 * col + 1] = np.where(fist > 0.5, 3, np.where(J[:, hand, 1] > J[:, 1, 1], 2, 1))
    lean = np.clip(tr.lean * 1.3, -1.0, 1.0) + 0.0
    ids = (_BODY_ID_BASE + tr.ids).tolist()
    info = [(ids[t], int(clipped[t]), *hands[t].tolist(), 0, *lean[t].tolist(), 2) for t in range(T)]
    return vals.reshape(len(J), 300).tolist(), info


def _ntu_text(tracks: list[_Track], T: int) -> str:
    """The ``.skeleton`` text of one recording (CRLF line ends)."""
    rows = [_ntu_rows(tr) for tr in tracks]
    out = [f"{T}\r\n"]
    for t in range(T):
        here = [i for i, tr in enumerate(tracks) if tr.present[t]]
        out.append(f"{len(here)}\r\n")
        for i in here:
            vals, info = rows[i]
            out.append(_BODY_FMT % (*info[t], *vals[t]))
    return "".join(out)


_POSE_FMT = '{"pose": [' + ", ".join(["%.3f"] * 36) + '], "score": [' + ", ".join(["%.3f"] * 18) + "]}"


def _kinetics_text(
    tracks: list[_Track], T: int, rng: np.random.Generator, art: Artefacts, label: str, label_index: int
) -> tuple[str, bool]:
    """Kinetics-skeleton JSON of one recording, seen by a 1920x1080 video camera; and whether any pose."""
    zoom = rng.uniform(0.85, 1.2)
    cx, cy = 0.5 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.05, 0.05)
    f = _COLOR[0] * zoom
    per_track = []
    for tr in tracks:
        if tr.face is None:  # clutter: a few weak detections in a blob
            P = tr.joints[:, :18]
        else:
            P = np.concatenate([tr.joints, tr.face], axis=1)[:, _OPENPOSE_FROM]
        z = np.maximum(P[..., 2], 0.1)
        u = cx - f * P[..., 0] / z / 1920.0 + rng.normal(0, 0.002, z.shape)
        v = cy - f * P[..., 1] / z / 1080.0 + rng.normal(0, 0.002, z.shape)
        s = tr.score + _OPENPOSE_CONF - 0.06 * (z - 3.0) + rng.normal(0, 0.05, z.shape)
        s = np.clip(s, 0.3, 0.95) if tr.kind != "clutter" else rng.uniform(0.0, 0.3, z.shape)
        ok = (u > 0) & (u < 1) & (v > 0) & (v < 1) & (rng.random(z.shape) >= art.keypoint_drop_p)
        if tr.face is not None:  # face points turned away from the camera are not detected
            J = tr.joints
            right = _unit(J[:, _J["right_shoulder"]] - J[:, _J["left_shoulder"]])
            to_cam = -_unit(tr.face[:, 0])
            fwd = _unit(tr.face[:, 0] - J[:, _J["head"]])
            facing = np.sum(fwd * to_cam, axis=-1)
            side = np.sum(right * to_cam, axis=-1)
            ok[:, [0, 14, 15]] &= (facing > -0.2)[:, None]
            ok[:, 16] &= side > -0.3
            ok[:, 17] &= side < 0.3
        ok &= np.round(s, 3) > 0  # a score printed as 0.000 means "not detected": pose 0 too
        s = np.where(ok, s, 0.0)
        pose = np.where(ok[..., None], np.stack([u, v], axis=-1), 0.0)
        per_track.append((pose.reshape(len(pose), 36).tolist(), s.tolist()))
    frames = []
    any_pose = False
    for t in range(T):
        people = [
            _POSE_FMT % (*per_track[i][0][t], *per_track[i][1][t])
            for i, tr in enumerate(tracks)
            if tr.present[t]
        ]
        any_pose = any_pose or bool(people)
        frames.append(f'{{"frame_index": {t + 1}, "skeleton": [{", ".join(people)}]}}')
    text = f'{{"data": [{", ".join(frames)}], "label": {json.dumps(label)}, "label_index": {label_index}}}'
    return text, any_pose


def _write(path: Path, text: str) -> None:
    """Write bytes exactly (no newline translation), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("ascii"))


def kinetics_id(seed: int, name: str) -> str:
    """A YouTube-like 11-character id for a recording."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:11]


# ---------------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------------
def choose_subjects(n: int) -> list[int]:
    """``n`` NTU performer ids alternating cross-subject training and test ids: 1, 3, 2, 6, 4, 7, ..."""
    if not 1 <= n <= 40:
        raise ConfigError(f"--subjects: expected 1..40 performers, got {n}")
    mixed = [p for pair in zip(XSUB_TRAIN_SUBJECTS, XSUB_TEST_SUBJECTS) for p in pair]
    return mixed[:n]


def setup_of(subject: int) -> int:
    """The NTU setup id (1..17) a subject is recorded in; three performers share a setup.

    The offset keeps every name this generator can write (performers 1-40, cameras 1-3, replications
    1-9, actions 1-15) out of the official NTU60/NTU120 missing-skeleton lists, so the readers' default
    ignore lists skip no synthetic sample.
    """
    return 1 + ((subject - 1) // 3 + 11) % 17


def sample_name(setup: int, camera: int, subject: int, replication: int, action: int) -> str:
    """NTU sample id ``SsssCcccPpppRrrrAaaa``."""
    return f"S{setup:03d}C{camera:03d}P{subject:03d}R{replication:03d}A{action:03d}"


@dataclass(frozen=True)
class Summary:
    """What :func:`generate` wrote."""

    out_dir: Path
    fmt: str
    num_samples: int
    class_names: tuple[str, ...]
    subjects: tuple[int, ...]
    cameras: tuple[int, ...]
    replications: int
    seed: int
    ntu_dir: Path | None
    kinetics_counts: dict[str, int] = field(default_factory=dict)
    frames: tuple[int, int, float] = (0, 0, 0.0)  # min, max, mean
    seconds: float = 0.0

    @property
    def train_subjects(self) -> tuple[int, ...]:
        return tuple(p for p in self.subjects if p in XSUB_TRAIN_SUBJECTS)

    @property
    def test_subjects(self) -> tuple[int, ...]:
        return tuple(p for p in self.subjects if p not in XSUB_TRAIN_SUBJECTS)


@dataclass(frozen=True)
class _Job:
    seed: int
    out_dir: str
    fmt: str
    class_names: tuple[str, ...]
    action_id: int
    subject: int
    replication: int
    cameras: tuple[int, ...]
    artefacts: Artefacts
    max_frames: int


_MANIFEST_FIELDS = (
    "name",
    "label",
    "class_name",
    "setup",
    "subject",
    "camera",
    "replication",
    "frames",
    "bodies",
    "persons",
    "extras",
    "view_deg",
    "kinetics_id",
    "kinetics_part",
)


def _run_job(job: _Job) -> list[dict[str, Any]]:
    """Generate one performance and write what each camera recorded."""
    name_ = job.class_names[job.action_id - 1]
    action = ACTIONS[name_]
    perf = _performance(job.seed, action, job.action_id, job.subject, job.replication)
    setup = setup_of(job.subject)
    cams = _cameras(job.seed, setup, perf.two_person)
    out = Path(job.out_dir)
    part = "train" if job.subject in XSUB_TRAIN_SUBJECTS else "val"
    rows = []
    for cam in job.cameras:
        name = sample_name(setup, cam, job.subject, job.replication, job.action_id)
        rng = _rng(job.seed, _CAPTURE, setup, cam, job.subject, job.replication, job.action_id)
        tracks, T, view = _capture(perf, cams[cam], rng, job.artefacts, job.max_frames)
        if job.fmt in ("ntu", "both"):
            _write(out / NTU_DIR / f"{name}.skeleton", _ntu_text(tracks, T))
        kid = kinetics_id(job.seed, name)
        has = True
        if job.fmt in ("kinetics", "both"):
            text, has = _kinetics_text(tracks, T, rng, job.artefacts, name_, job.action_id - 1)
            _write(out / f"kinetics_{part}" / f"{kid}.json", text)
        counts = np.sum([tr.present for tr in tracks], axis=0)
        extras = [tr.kind for tr in tracks if tr.kind != "person"]
        rows.append(
            {
                "name": name,
                "label": job.action_id - 1,
                "class_name": name_,
                "setup": setup,
                "subject": job.subject,
                "camera": cam,
                "replication": job.replication,
                "frames": T,
                "bodies": int(counts.max()),
                "persons": action.persons,
                "extras": "+".join(extras),
                "view_deg": int(round(view)),
                "kinetics_id": kid,
                "kinetics_part": part,
                "has_skeleton": has,
            }
        )
    return rows


def _stale(folder: Path, pattern: str, expected: set[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.name not in expected)


def generate(
    out_dir: str | os.PathLike,
    fmt: str = "ntu",
    num_classes: int = 12,
    subjects: int | Sequence[int] = 10,
    replications: int = 1,
    cameras: Sequence[int] = (1, 2, 3),
    seed: int = 0,
    difficulty: float = 1.0,
    noise_mm: float | None = None,
    max_frames: int | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Summary:
    """Generate the synthetic dataset under ``out_dir`` (see the module docstring for the layout).

    ``subjects`` is a count (performer ids chosen by :func:`choose_subjects`) or explicit ids 1..40.
    ``difficulty`` scales every capture artefact (0: clean skeletons, 1: default); ``noise_mm``
    overrides the joint noise alone. ``workers``: processes (None: up to 4 for large sets, 0: inline).
    Files of an earlier run that this one would not write make it fail unless ``overwrite``.
    """
    started = time.perf_counter()
    if fmt not in FORMATS:
        raise ConfigError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    names = load_class_names()
    if not 1 <= num_classes <= len(names):
        raise ConfigError(
            f"--classes: expected 1..{len(names)} (classes in {LABEL_MAP.name}), got {num_classes}"
        )
    ids = choose_subjects(subjects) if isinstance(subjects, (int, np.integer)) else [int(p) for p in subjects]
    if not ids or len(set(ids)) != len(ids) or not all(1 <= p <= 40 for p in ids):
        raise ConfigError(f"--subject-ids: expected distinct performer ids in 1..40, got {ids}")
    if not 1 <= replications <= 9:
        raise ConfigError(f"--replications: expected 1..9, got {replications}")
    cams = tuple(sorted({int(c) for c in cameras}))
    if not cams or not set(cams) <= {1, 2, 3}:
        raise ConfigError(f"--cameras: expected camera ids among 1, 2, 3, got {list(cameras)}")
    if int(seed) < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {seed}")
    if not 0.0 <= difficulty <= 3.0:
        raise ConfigError(f"--difficulty: expected 0..3, got {difficulty}")
    if noise_mm is not None and not 0.0 <= noise_mm <= 100.0:
        raise ConfigError(f"--noise-mm: expected 0..100, got {noise_mm}")
    limit = MAX_FRAMES - 1 if fmt != "ntu" else MAX_FRAMES
    max_frames = limit if max_frames is None else int(max_frames)
    if not 30 <= max_frames <= limit:
        raise ConfigError(f"--max-frames: expected 30..{limit} for format {fmt}, got {max_frames}")
    out = Path(out_dir)
    art = Artefacts.from_difficulty(difficulty, noise_mm)
    classes = tuple(names[:num_classes])
    jobs = [
        _Job(int(seed), str(out), fmt, classes, a, p, r, cams, art, int(max_frames))
        for p in ids
        for a in range(1, num_classes + 1)
        for r in range(1, replications + 1)
    ]

    expected_ntu = {
        f"{sample_name(setup_of(p), c, p, r, a)}.skeleton"
        for p in ids
        for a in range(1, num_classes + 1)
        for r in range(1, replications + 1)
        for c in cams
    }
    expected_kin = {f"{kinetics_id(int(seed), n[: -len('.skeleton')])}.json" for n in expected_ntu}
    stale = []
    if fmt in ("ntu", "both"):
        stale += _stale(out / NTU_DIR, "*.skeleton", expected_ntu)
    if fmt in ("kinetics", "both"):
        for part in ("train", "val"):
            stale += _stale(out / f"kinetics_{part}", "*.json", expected_kin)
    if stale and not overwrite:
        raise ConfigError(
            f"{stale[0].parent}: holds {len(stale)} file(s) from another run (e.g. {stale[0].name}); "
            "pass --overwrite to remove them or choose another --out"
        )
    for path in stale:
        path.unlink()

    if workers is None:
        workers = 0 if len(jobs) * len(cams) < 150 else min(4, os.cpu_count() or 1)
    rows: list[dict[str, Any]] = []
    bar = _progress(len(jobs), progress)
    try:
        if workers <= 1:
            for job in jobs:
                rows += _run_job(job)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for result in pool.map(_run_job, jobs, chunksize=max(1, len(jobs) // (8 * workers))):
                    rows += result
                    bar.update(1)
    finally:
        bar.close()
    rows.sort(key=lambda r: r["name"])

    label_jsons: dict[str, int] = {}
    if fmt in ("kinetics", "both"):
        for part in ("train", "val"):
            entries = {
                r["kinetics_id"]: {
                    "has_skeleton": r["has_skeleton"],
                    "label": r["class_name"],
                    "label_index": r["label"],
                }
                for r in sorted(rows, key=lambda r: r["kinetics_id"])
                if r["kinetics_part"] == part
            }
            save_text(json.dumps(entries, indent=2), out / f"kinetics_{part}_label.json")
            label_jsons[part] = len(entries)
    if fmt in ("ntu", "both"):
        save_text("", out / "samples_with_missing_skeletons.txt")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_MANIFEST_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    save_text(buf.getvalue(), out / "manifest.csv")
    save_text("\n".join(classes) + "\n", out / "label_map.txt")
    frames = [r["frames"] for r in rows]
    return Summary(
        out_dir=out,
        fmt=fmt,
        num_samples=len(rows),
        class_names=classes,
        subjects=tuple(ids),
        cameras=cams,
        replications=replications,
        seed=int(seed),
        ntu_dir=out / NTU_DIR if fmt in ("ntu", "both") else None,
        kinetics_counts=label_jsons,
        frames=(min(frames), max(frames), float(np.mean(frames))),
        seconds=time.perf_counter() - started,
    )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="synthetic", unit="take", dynamic_ncols=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synthetic.py",
        description="Write the synthetic skeleton dataset as NTU .skeleton files and/or Kinetics-skeleton JSON.",
    )
    p.add_argument("--out", default="data/synthetic/raw", help="output folder (default: %(default)s)")
    p.add_argument("--format", default="ntu", choices=FORMATS, help="raw format(s) to write (default: ntu)")
    p.add_argument("--classes", type=int, default=12, help="first K classes of the label map (default: 12)")
    p.add_argument(
        "--subjects", type=int, default=10, help="number of performers, half xsub-train (default: 10)"
    )
    p.add_argument(
        "--subject-ids", type=int, nargs="+", help="explicit performer ids 1..40 (overrides --subjects)"
    )
    p.add_argument("--replications", type=int, default=1, help="takes per subject and action (default: 1)")
    p.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 3], help="camera ids (default: 1 2 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--difficulty", type=float, default=1.0, help="artefact scale, 0 = clean (default: 1)")
    p.add_argument("--noise-mm", type=float, help="joint noise in mm (default: 2.5 x difficulty)")
    p.add_argument(
        "--max-frames", type=int, default=None, help="cap on frames per clip (default: 300, 299 Kinetics)"
    )
    p.add_argument("--workers", type=int, help="worker processes (default: automatic, 0 = none)")
    p.add_argument(
        "--overwrite", action="store_true", help="remove files of an earlier, different run in --out"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        summary = generate(
            args.out,
            fmt=args.format,
            num_classes=args.classes,
            subjects=args.subject_ids if args.subject_ids else args.subjects,
            replications=args.replications,
            cameras=args.cameras,
            seed=args.seed,
            difficulty=args.difficulty,
            noise_mm=args.noise_mm,
            max_frames=args.max_frames,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except (ConfigError, OSError) as exc:
        print(f"synthetic.py: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        lo, hi, mean = summary.frames
        print(
            f"wrote {summary.num_samples} recordings ({len(summary.class_names)} classes, {len(summary.subjects)} "
            f"subjects, cameras {', '.join(map(str, summary.cameras))}, {lo}-{hi} frames, mean {mean:.0f}) "
            f"as {summary.fmt} to {summary.out_dir} in {summary.seconds:.1f} s"
        )
    return 0


if __name__ == "__main__":
    # run as a file: hand over to the importable module, so that worker processes can find the jobs
    if __package__ in (None, ""):
        from data_gen import synthetic as _module

        sys.exit(_module.main())
    sys.exit(main())
