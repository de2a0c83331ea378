"""Scenes, cameras and capture artefacts: what each Kinect-like camera records of a performance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from data_gen.synth.actions import Action, add_nuisance
from data_gen.synth.body import Ctx, Performer, make_body, subject_body, walk
from data_gen.synth.geometry import (
    ARM_JOINTS,
    EXTREMITIES,
    FPS,
    JOINT,
    STREAM_PARTNER,
    STREAM_PERFORMANCE,
    STREAM_SETUP,
    facing_rot,
    rot_axis,
    stream_rng,
    unit_vec,
    window,
)

CAMERA_YAW_DEG = {1: -45.0, 2: 0.0, 3: 45.0}


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


def performance_of(seed: int, action: Action, action_id: int, subject: int, replication: int) -> _Performance:
    rng = stream_rng(seed, STREAM_PERFORMANCE, subject, action_id, replication)
    bodies = [subject_body(seed, subject)]
    if action.persons == 2:
        bodies.append(make_body(stream_rng(seed, STREAM_PARTNER, subject)))
    ctx = Ctx(rng, bodies)
    people = action.make(ctx)
    for p in people:
        add_nuisance(ctx, p, alone=action.persons == 1)
    facing_cam = 1 if (subject + replication) % 2 == 0 else 3
    yaw = np.radians(CAMERA_YAW_DEG[facing_cam] + rng.normal(0.0, 12.0))
    centre = np.array([rng.uniform(-0.3, 0.3), 0.0, rng.uniform(-0.3, 0.3)])
    if action.persons == 2:
        yaw += np.radians(90.0 if rng.random() < 0.5 else -90.0)
    lat, dist = ctx.pair
    R0 = facing_rot(np.full(len(ctx.t), yaw))
    actors = []
    for i, p in enumerate(people):
        J, face = p.solve()
        if i == 1:  # the partner stands at (lat, 0, -dist) of person 0, facing it
            flip = rot_axis(1, np.full(len(ctx.t), np.pi))
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


def setup_cameras(seed: int, setup: int, two_person: bool) -> dict[int, _Camera]:
    """The three Kinects of a setup: common distance/height/aim with small per-camera differences."""
    r = stream_rng(seed, STREAM_SETUP, setup)
    dist, height, look = r.uniform(2.8, 3.5), r.uniform(0.7, 1.4), r.uniform(0.75, 1.0)
    cams = {}
    for cam in (1, 2, 3):
        yaw = np.radians(CAMERA_YAW_DEG[cam] + r.normal(0.0, 2.0))
        d = dist + r.normal(0.0, 0.1) + (0.35 if two_person else 0.0)
        pos = np.array([np.sin(yaw) * d, height + r.normal(0.0, 0.05), -np.cos(yaw) * d])
        fwd = unit_vec(np.array([r.normal(0, 0.05), look, r.normal(0, 0.05)]) - pos)
        left = unit_vec(np.cross([0.0, 1.0, 0.0], fwd))
        up = np.cross(fwd, left)
        roll = np.radians(r.normal(0.0, 1.5))
        left, up = np.cos(roll) * left + np.sin(roll) * up, np.cos(roll) * up - np.sin(roll) * left
        cams[cam] = _Camera(pos, np.stack([left, up, fwd]))
    return cams


@dataclass
class Track:
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
    scale[EXTREMITIES] = 2.0
    scale[[JOINT["left_wrist"], JOINT["right_wrist"]]] = 1.5
    if far_side:
        scale[ARM_JOINTS[far_side]] *= 1.8
    white = rng.normal(0.0, 1.0, (T, 25, 3)) * (art.noise_mm * 1e-3 * rng.uniform(0.6, 1.4))
    a = 0.85
    drift = lfilter([np.sqrt(1 - a * a)], [1.0, -a], rng.normal(0.0, 1.0, (T, 25, 3)), axis=0)
    noise = (white + drift * (art.drift_mm * 1e-3 * rng.uniform(0.5, 1.5))) * scale
    for _ in range(rng.poisson(art.spike_rate)):
        t0 = int(rng.integers(0, T))
        joints = rng.choice(EXTREMITIES if rng.random() < 0.7 else np.arange(25), size=rng.integers(1, 4))
        noise[t0 : t0 + int(rng.integers(1, 4)), joints] += unit_vec(rng.normal(size=3)) * rng.uniform(
            0.05, 0.2
        )
    return noise


def _walker(rng: np.random.Generator, T: int, speed: float) -> tuple[np.ndarray, np.ndarray]:
    """A random person walking forward at ``speed`` m/s for T frames (body frame)."""
    body = make_body(rng)
    t = np.arange(T) / FPS
    p = Performer(body, t, rng)
    dist = speed * t[-1]
    steps = max(2, int(np.ceil(dist / (0.35 * body.k))))
    walk(p, 0.0, dist, t[-1] / steps, lead=1)
    return p.solve()


def capture_tracks(
    perf: _Performance, cam: _Camera, rng: np.random.Generator, art: Artefacts, max_frames: int
) -> tuple[list[Track], int, float]:
    """What one camera records of a performance: tracks, frame count and the view angle of person 0."""
    T = perf.T
    a0, a1 = int(rng.integers(0, 4)), int(rng.integers(0, 4))  # cameras start and stop a little apart
    keep = slice(a0, min(T - a1, a0 + max_frames))
    n = keep.stop - keep.start
    tracks: list[Track] = []
    next_id = int(rng.integers(2000, 90000))
    for i, actor in enumerate(perf.actors):
        J = cam.to_camera(actor.joints[keep])
        face = cam.to_camera(actor.face[keep])
        right = unit_vec(J[:, JOINT["right_shoulder"]] - J[:, JOINT["left_shoulder"]])
        to_cam = -unit_vec(J[:, JOINT["spine_shoulder"]])
        side_dot = float(np.mean(np.sum(right * to_cam, axis=-1)))
        far = 1 if side_dot < -0.45 else (-1 if side_dot > 0.45 else 0)
        if i == 0:
            view = _view_angle(J)
        if far and rng.random() < art.occlusion_p:  # the hidden arm collapses towards the body
            arm = ARM_JOINTS[far]
            anchor = J[:, [JOINT["middle_of_spine"]]] + rng.normal(0.0, 0.05, 3)
            w = np.zeros(n)
            for _ in range(int(rng.integers(1, 3))):
                t0 = rng.uniform(-10, n)
                w = np.maximum(
                    w, window(np.arange(n), t0, t0 + rng.uniform(10, 40), 4) * rng.uniform(0.3, 0.8)
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
        tracks.append(Track("person", J, face, present, ids, actor.lean[keep], actor.fist[keep], order=order))
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
            Track("clutter", Jc, None, present, ids, np.zeros((n, 2)), np.zeros((n, 2)), order, 0.15)
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
) -> Track | None:
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
    R = facing_rot(np.full(length, np.arctan2(walk_dir[0], -walk_dir[2])))
    Jc = cam.to_camera(np.einsum("tij,tvj->tvi", R, Jb) + origin) + _noise(rng, length, art, 0)
    fc = cam.to_camera(np.einsum("tij,tvj->tvi", R, face_b) + origin)
    for keep in (length, (2 * length) // 3, length // 2):
        if keep >= 8 and _energy(Jc[:keep]) < 0.85 * actor_energy:
            joints, face = np.zeros((n, 25, 3)), np.zeros((n, 5, 3))
            joints[start : start + keep], face[start : start + keep] = Jc[:keep], fc[:keep]
            present = np.zeros(n, dtype=bool)
            present[start : start + keep] = True
            zeros = np.zeros((n, 2))
            return Track("passerby", joints, face, present, np.zeros(n, np.int64), zeros, zeros, 10.0, 0.55)
    return None


def _view_angle(J: np.ndarray) -> float:
    """Angle (degrees) between a body's facing and the direction to the camera: 0 frontal, 90 profile."""
    right = unit_vec(J[:, JOINT["right_shoulder"]] - J[:, JOINT["left_shoulder"]])
    up = unit_vec(J[:, JOINT["spine_shoulder"]] - J[:, JOINT["base_of_spine"]])
    forward = unit_vec(np.cross(up, right))
    to_cam = -unit_vec(J[:, JOINT["spine_shoulder"]])
    return float(np.degrees(np.arccos(np.clip(np.mean(np.sum(forward * to_cam, axis=-1)), -1.0, 1.0))))
