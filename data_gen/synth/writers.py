"""Writers: NTU ``.skeleton`` text, Kinetics-skeleton JSON and MMAction2 annotations of the captured tracks."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.synth.capture import Artefacts, Track
from data_gen.synth.geometry import JOINT, LEAVES, PARENTS, unit_vec
from utils.io import atomic_path

_BODY_ID_BASE = 72057594037927936  # 2**56: Kinect v2 body ids look like 72057594037930640
# Kinect v2 depth (512x424) and colour (1920x1080) pinhole intrinsics.
_DEPTH = (365.5, 255.5, 211.5)
_COLOR = (1081.4, 959.5, 539.5)
# OpenPose-18 points from the 25 NTU joints (0..24) and five face points (25 nose, 26/27 right/left eye,
# 28/29 right/left ear); OpenPose's neck is the point between the shoulders (NTU spine-shoulder).
_OPENPOSE_FROM = np.array([25, 20, 8, 9, 10, 4, 5, 6, 16, 17, 18, 12, 13, 14, 26, 27, 28, 29])
_OPENPOSE_CONF = np.array([-0.05, 0.05, 0, -0.03, -0.1, 0, -0.03, -0.1, 0, -0.02, -0.06, 0, -0.02, -0.06])
_OPENPOSE_CONF = np.concatenate([_OPENPOSE_CONF, [-0.08, -0.08, -0.12, -0.12]])
# COCO-17 keypoints from the same 30 points: nose, left/right eye, left/right ear, then left/right
# shoulder, elbow, wrist, hip, knee, ankle.
_COCO_FROM = np.array([25, 27, 26, 29, 28, 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18])
_COCO_CONF = np.array(
    [0.05, 0.03, 0.03, -0.05, -0.05, 0.05, 0.05, 0, 0, -0.05, -0.05, 0, 0, -0.02, -0.02, -0.06, -0.06]
)
#: MMAction2's 2D annotations: image (height, width) of the colour camera.
IMG_SHAPE = (1080, 1920)


def _quaternions(J: np.ndarray) -> np.ndarray:
    """(T, 25, 4) W X Y Z joint orientations: y along the bone from the parent, x towards the body's right."""
    y = J - J[:, PARENTS]
    y[:, 0] = J[:, 1] - J[:, 0]
    y = unit_vec(y)
    right = unit_vec(J[:, JOINT["right_shoulder"]] - J[:, JOINT["left_shoulder"]])[:, None]
    x = unit_vec(right - np.sum(right * y, axis=-1, keepdims=True) * y)
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
    q[:, LEAVES] = 0.0
    return q


_BODY_FMT = "%d %d %d %d %d %d %d %.7g %.7g %d\r\n25\r\n" + ("%.7g " * 11 + "%d\r\n") * 25


def _ntu_rows(tr: Track) -> tuple[list[list[float]], list[tuple[Any, ...]]]:
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


def ntu_text(tracks: list[Track], T: int) -> str:
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


def kinetics_text(
    tracks: list[Track], T: int, rng: np.random.Generator, art: Artefacts, label: str, label_index: int
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
            right = unit_vec(J[:, JOINT["right_shoulder"]] - J[:, JOINT["left_shoulder"]])
            to_cam = -unit_vec(tr.face[:, 0])
            fwd = unit_vec(tr.face[:, 0] - J[:, JOINT["head"]])
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


def write_ascii(path: Path, text: str) -> None:
    """Write bytes exactly (no newline translation), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("ascii"))


def kinetics_id(seed: int, name: str) -> str:
    """A YouTube-like 11-character id for a recording."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:11]


def mmaction_annotations(
    tracks: list[Track], T: int, name: str, label: int, rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    """MMAction2 annotations (3D, and 2D COCO-17 with scores) of one recording's actors.

    Only the actors (``kind == 'person'``, in actor order) are kept, as a denoised annotation file
    would; frames where an actor is not tracked are zero. 3D: camera-space metres, (M, T, 25, 3).
    2D: the colour camera's pixels (1920 x 1080), (M, T, 17, 2), with ``keypoint_score`` (M, T, 17)
    from a detector-like model: high in view, low outside the image or for a face turned away, 0 when
    the actor is not tracked; keypoints are clamped to the image.
    """
    actors = [tr for tr in tracks if tr.kind == "person"]
    kp3 = np.stack([np.where(tr.present[:, None, None], tr.joints, 0.0) for tr in actors]).astype(np.float32)
    kp2, score = [], []
    fx, cx, cy = _COLOR
    h, w = IMG_SHAPE
    for tr in actors:
        P = np.concatenate([tr.joints, tr.face], axis=1)[:, _COCO_FROM]  # (T, 17, 3)
        z = np.maximum(P[..., 2], 0.1)
        u = cx + fx * P[..., 0] / z + rng.normal(0.0, 1.5, z.shape)
        v = cy - fx * P[..., 1] / z + rng.normal(0.0, 1.5, z.shape)
        s = 0.9 + _COCO_CONF - 0.04 * (z - 3.0) + rng.normal(0.0, 0.04, z.shape)
        outside = (u < 0) | (u > w - 1) | (v < 0) | (v > h - 1)
        J = tr.joints
        fwd = unit_vec(tr.face[:, 0] - J[:, JOINT["head"]])
        facing = np.sum(fwd * -unit_vec(tr.face[:, 0]), axis=-1)  # towards the camera at the origin
        s[:, :5] = np.where((facing > -0.2)[:, None], s[:, :5], s[:, :5] * 0.3)
        s = np.clip(np.where(outside, s * 0.3, s), 0.02, 0.99)
        pix = np.stack([np.clip(u, 0, w - 1), np.clip(v, 0, h - 1)], axis=-1)
        kp2.append(np.where(tr.present[:, None, None], pix, 0.0))
        score.append(np.where(tr.present[:, None], s, 0.0))
    common = {"frame_dir": name, "label": int(label), "total_frames": int(T)}
    ann2 = {
        **common,
        "keypoint": np.stack(kp2).astype(np.float32),
        "keypoint_score": np.stack(score).astype(np.float32),
        "img_shape": IMG_SHAPE,
        "original_shape": IMG_SHAPE,
    }
    return {**common, "keypoint": kp3}, ann2
