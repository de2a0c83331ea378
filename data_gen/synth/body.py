"""Bodies and motion: a subject's proportions and style, and the performer that turns poses into joints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_gen.synth.geometry import (
    FPS,
    JOINT,
    STREAM_SUBJECT,
    mv,
    ramp,
    rot_axis,
    stream_rng,
    two_bone,
    unit_vec,
    window,
)


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
    return make_body(stream_rng(seed, STREAM_SUBJECT, subject))


class Performer:
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
            rot_axis(1, self.yaw + frac * self.twist)
            @ rot_axis(0, -frac * np.asarray(self.lean))
            @ rot_axis(2, -frac * np.asarray(self.side))
        )

    def torso(self, v: np.ndarray) -> np.ndarray:
        """A torso-frame offset (3,) or (T, 3) in the body frame."""
        return mv(self.rot(), v)

    def spine_top(self) -> np.ndarray:
        b = self.b
        return self.pelvis + mv(self.rot(0.5), [0, b.spine_low, 0]) + mv(self.rot(), [0, b.spine_up, 0])

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
        R, Ry = self.rot(), rot_axis(1, self.yaw)
        Rh = R @ rot_axis(1, self.head_yaw) @ rot_axis(0, -np.asarray(self.nod))
        base = self.pelvis
        mid = base + mv(self.rot(0.5), [0, b.spine_low, 0])
        top = mid + mv(R, [0, b.spine_up, 0])
        neck = top + mv(Rh, [0, b.neck, 0])
        head = neck + mv(Rh, [0, b.head, 0])
        J[:, [0, 1, 20, 2, 3]] = np.stack([base, mid, top, neck, head], axis=1)
        for s, side in ((1, "right"), (-1, "left")):
            sh = top + mv(R, [s * b.shoulder_w, -b.shoulder_drop, 0.0])
            target = self.hand[s] if self.hand[s] is not None else self.rest_hand(s)
            pole = mv(R, self.elbow_pole[s])
            el, wr, v = two_bone(sh, target, b.upper_arm, b.forearm, pole)
            u = unit_vec(wr - el)
            ha = wr + b.hand * u
            fist = self.fist[s][:, None]
            tip = ha + b.tip * (1.0 - 0.6 * fist) * unit_vec(u - (0.25 + 0.8 * fist) * v)
            thumb = ha + b.thumb * unit_vec(0.4 * u - 0.9 * v + 0.3 * s * mv(R, [1.0, 0, 0]))
            for name, p in (("shoulder", sh), ("elbow", el), ("wrist", wr), ("hand", ha)):
                J[:, JOINT[f"{side}_{name}"]] = p
            J[:, JOINT[f"{side}_hand_tip"]], J[:, JOINT[f"{side}_thumb"]] = tip, thumb
            hip = base + mv(Ry, [s * b.hip_w, -b.pelvis_drop, 0.0])
            knee, ankle, _ = two_bone(hip, self.ankle[s], b.thigh, b.shin, mv(Ry, self.knee_pole[s]))
            a = -0.34 + self.foot_pitch[s]
            foot = ankle + b.foot * mv(Ry, np.stack([np.zeros(T), np.sin(a), -np.cos(a)], axis=1))
            for name, p in (("hip", hip), ("knee", knee), ("ankle", ankle), ("foot", foot)):
                J[:, JOINT[f"{side}_{name}"]] = p
        k = b.k
        offsets = [
            [0, -0.02, -0.095],
            [0.032, 0.015, -0.08],
            [-0.032, 0.015, -0.08],
            [0.075, 0, 0],
            [-0.075, 0, 0],
        ]
        face = np.stack([head + mv(Rh, np.array(o) * k) for o in offsets], axis=1)
        if np.any(self.turn):
            Rt = rot_axis(1, self.turn)
            J, face = np.einsum("tij,tvj->tvi", Rt, J), np.einsum("tij,tvj->tvi", Rt, face)
        return J, face


class Ctx:
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

    def person(self, i: int = 0) -> Performer:
        return Performer(self.bodies[i], self.t, self.rng)


def walk(p: Performer, t0: float, dist: float, period: float, lead: int = 1, lift: float = 0.07) -> float:
    """Walk ``dist`` metres forward (negative: backward) from t0 in >= 2 steps; returns the end time."""
    t = p.t
    n = max(2, int(np.ceil(abs(dist) / (0.35 * p.b.k))))
    feet = [lead if i % 2 == 0 else -lead for i in range(n)]
    p.pelvis[:, 2] -= dist * ramp(t, t0, n * period)
    for s in (1, -1):
        steps = [i for i in range(n) if feet[i] == s]
        for i in steps:
            p.ankle[s][:, 2] -= dist / len(steps) * ramp(t, t0 + i * period, period)
            p.ankle[s][:, 1] += lift * p.b.k * np.sin(np.pi * np.clip((t - t0 - i * period) / period, 0, 1))
    for s in (1, -1):  # arms swing against the legs
        swing = 0.12 * p.b.k * np.sin(np.pi * np.clip((t - t0) / period, 0, n)) * (s * lead)
        p.sway[s] = p.sway[s] + np.sign(dist) * swing * (window(t, t0, t0 + n * period, 0.2 * period))
    return t0 + n * period
