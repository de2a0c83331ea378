"""Speed baseline: the 2s-AGCN NTU data generation, re-implemented from its description.

This is NOT used by the pipeline. It rebuilds the structure of the reference ``ntu_gendata.py`` /
``preprocess.py`` as ``../shared/reference/2s-agcn.md`` (sections 2.2-2.3) describes it, so that
``bench_ntu_gendata.py`` can compare against a faithful single-process baseline:

* every ``(benchmark, part)`` pair lists the folder again and re-parses each of its samples;
* parsing goes line by line, one Python ``float`` per token, into nested per-frame / per-body /
  per-joint dictionaries;
* the whole ``(N, 3, 300, 25, 2)`` float32 array of a split is held in RAM;
* ``pre_normalization`` makes four passes over the batch and rotates joint by joint with a
  3x3 ``np.dot`` inside Python loops.

The one deliberate change is the same as the golden data's: the folder listing is sorted.

Usage (from the repository root)::

    python benchmarks/reference_ntu_gendata.py --data_path RAW --ignored_sample_path LIST --out_folder OUT
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import sys

import numpy as np

TRAINING_SUBJECTS = [1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38]
TRAINING_CAMERAS = [2, 3]
MAX_BODY_TRUE = 2
MAX_BODY_KINECT = 4
NUM_JOINT = 25
MAX_FRAME = 300

BODY_KEYS = [
    "bodyID",
    "clipedEdges",
    "handLeftConfidence",
    "handLeftState",
    "handRightConfidence",
    "handRightState",
    "isResticted",
    "leanX",
    "leanY",
    "trackingState",
]
JOINT_KEYS = [
    "x",
    "y",
    "z",
    "depthX",
    "depthY",
    "colorX",
    "colorY",
    "orientationW",
    "orientationX",
    "orientationY",
    "orientationZ",
    "trackingState",
]


# -- parsing ----------------------------------------------------------------------------------------
def read_skeleton_filter(path: str) -> dict:
    """Nested dictionaries: {'numFrame', 'frameInfo': [{'numBody', 'bodyInfo': [{..., 'jointInfo'}]}]}."""
    with open(path) as f:
        info = {"numFrame": int(f.readline()), "frameInfo": []}
        for _ in range(info["numFrame"]):
            frame = {"numBody": int(f.readline()), "bodyInfo": []}
            for _ in range(frame["numBody"]):
                values = f.readline().split()
                body = {key: float(v) for key, v in zip(BODY_KEYS, values)}
                body["numJoint"] = int(f.readline())
                body["jointInfo"] = []
                for _ in range(body["numJoint"]):
                    numbers = [float(v) for v in f.readline().split()]
                    body["jointInfo"].append(dict(zip(JOINT_KEYS, numbers)))
                frame["bodyInfo"].append(body)
            info["frameInfo"].append(frame)
    return info


def get_nonzero_std(s: np.ndarray) -> float:
    """Sum of the x, y and z standard deviations over the frames whose values do not sum to 0."""
    index = s.sum(-1).sum(-1) != 0
    s = s[index]
    if len(s) == 0:
        return 0.0
    return s[:, :, 0].std() + s[:, :, 1].std() + s[:, :, 2].std()


def read_xyz(path: str) -> np.ndarray:
    """(3, T, 25, 2) float64: the two most active of the first four listed body slots."""
    info = read_skeleton_filter(path)
    data = np.zeros((MAX_BODY_KINECT, info["numFrame"], NUM_JOINT, 3))
    for n, frame in enumerate(info["frameInfo"]):
        for m, body in enumerate(frame["bodyInfo"]):
            for j, joint in enumerate(body["jointInfo"]):
                if m < MAX_BODY_KINECT and j < NUM_JOINT:
                    data[m, n, j, :] = [joint["x"], joint["y"], joint["z"]]
    energy = np.array([get_nonzero_std(x) for x in data])
    index = energy.argsort()[::-1][0:MAX_BODY_TRUE]
    data = data[index]
    return data.transpose(3, 1, 2, 0)


# -- rotation helpers ------------------------------------------------------------------------------
def unit_vector(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def angle_between(v1, v2) -> float:
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    c = np.dot(unit_vector(np.asarray(v1)), unit_vector(np.asarray(v2)))
    return float(np.arccos(np.clip(c, -1.0, 1.0)))


def rotation_matrix(axis, theta: float) -> np.ndarray:
    """Counter-clockwise rotation by ``theta`` about ``axis``, from the quaternion (cos, -k sin)."""
    axis = np.asarray(axis, dtype=np.float64)
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    k = axis / math.sqrt(float(np.dot(axis, axis)))
    w = math.cos(theta / 2.0)
    qx, qy, qz = -k * math.sin(theta / 2.0)
    return np.array(
        [
            [w * w + qx * qx - qy * qy - qz * qz, 2 * (qx * qy + w * qz), 2 * (qx * qz - w * qy)],
            [2 * (qx * qy - w * qz), w * w + qy * qy - qx * qx - qz * qz, 2 * (qy * qz + w * qx)],
            [2 * (qx * qz + w * qy), 2 * (qy * qz - w * qx), w * w + qz * qz - qx * qx - qy * qy],
        ]
    )


# -- pre-normalisation -----------------------------------------------------------------------------
def pre_normalization(data: np.ndarray, zaxis=(0, 1), xaxis=(8, 4), verbose: bool = False) -> np.ndarray:
    """(N, C, T, V, M) in place; four passes (pad, centre, spine to +z, shoulders to +x)."""
    _, _, t, v, _ = data.shape
    s = np.transpose(data, [0, 4, 2, 3, 1])  # view (N, M, T, V, C)

    for i_s, skeleton in enumerate(s):  # pad null frames with the previous frames
        if skeleton.sum() == 0 and verbose:
            print(i_s, " has no skeleton", file=sys.stderr)
        for i_p, person in enumerate(skeleton):
            if person.sum() == 0:
                continue
            if person[0].sum() == 0:
                index = person.sum(-1).sum(-1) != 0
                tmp = person[index].copy()
                person *= 0
                person[: len(tmp)] = tmp
            for i_f, frame in enumerate(person):
                if frame.sum() == 0 and person[i_f:].sum() == 0:
                    rest = len(person) - i_f
                    repeats = int(np.ceil(rest / i_f))
                    pad = np.concatenate([person[0:i_f] for _ in range(repeats)], 0)[:rest]
                    s[i_s, i_p, i_f:] = pad
                    break

    for i_s, skeleton in enumerate(s):  # centre on joint 1 of person 0, frame by frame
        if skeleton.sum() == 0:
            continue
        centre = skeleton[0][:, 1:2, :].copy()
        for i_p, person in enumerate(skeleton):
            if person.sum() == 0:
                continue
            mask = (person.sum(-1) != 0).reshape(t, v, 1)
            s[i_s, i_p] = (s[i_s, i_p] - centre) * mask

    for i_s, skeleton in enumerate(s):  # spine (joint zaxis[0] -> zaxis[1]) of person 0, frame 0 to +z
        if skeleton.sum() == 0:
            continue
        _rotate_sample(s, i_s, skeleton[0, 0, zaxis[1]] - skeleton[0, 0, zaxis[0]], [0, 0, 1])

    for i_s, skeleton in enumerate(s):  # shoulders (joint xaxis[1] -> xaxis[0]) to +x
        if skeleton.sum() == 0:
            continue
        _rotate_sample(s, i_s, skeleton[0, 0, xaxis[0]] - skeleton[0, 0, xaxis[1]], [1, 0, 0])
    return data


def _rotate_sample(s: np.ndarray, i_s: int, vec: np.ndarray, target: list[int]) -> None:
    matrix = rotation_matrix(np.cross(vec, target), angle_between(vec, target))
    for i_p, person in enumerate(s[i_s]):
        if person.sum() == 0:
            continue
        for i_f, frame in enumerate(person):
            if frame.sum() == 0:
                continue
            for i_j, joint in enumerate(frame):
                s[i_s, i_p, i_f, i_j] = np.dot(matrix, joint)


# -- generation ------------------------------------------------------------------------------------
def gendata(
    data_path: str, out_path: str, ignored_sample_path: str | None, benchmark: str, part: str
) -> None:
    ignored = []
    if ignored_sample_path:
        with open(ignored_sample_path) as f:
            ignored = [line.strip() + ".skeleton" for line in f.readlines()]
    sample_name, sample_label = [], []
    for filename in sorted(os.listdir(data_path)):
        if filename in ignored:
            continue
        action_class = int(filename[filename.find("A") + 1 : filename.find("A") + 4])
        subject_id = int(filename[filename.find("P") + 1 : filename.find("P") + 4])
        camera_id = int(filename[filename.find("C") + 1 : filename.find("C") + 4])
        if benchmark == "xview":
            istraining = camera_id in TRAINING_CAMERAS
        elif benchmark == "xsub":
            istraining = subject_id in TRAINING_SUBJECTS
        else:
            raise ValueError(benchmark)
        issample = istraining if part == "train" else not istraining
        if issample:
            sample_name.append(filename)
            sample_label.append(action_class - 1)

    os.makedirs(out_path, exist_ok=True)
    with open(f"{out_path}/{part}_label.pkl", "wb") as f:
        pickle.dump((sample_name, list(sample_label)), f)
    fp = np.zeros((len(sample_label), 3, MAX_FRAME, NUM_JOINT, MAX_BODY_TRUE), dtype=np.float32)
    for i, s in enumerate(sample_name):
        data = read_xyz(os.path.join(data_path, s))
        fp[i, :, 0 : data.shape[1], :, :] = data
    fp = pre_normalization(fp)
    np.save(f"{out_path}/{part}_data_joint.npy", fp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_path", required=True)
    parser.add_argument("--ignored_sample_path", default=None)
    parser.add_argument("--out_folder", required=True)
    parser.add_argument("--benchmark", nargs="+", default=["xsub", "xview"])
    parser.add_argument("--part", nargs="+", default=["train", "val"])
    args = parser.parse_args(argv)
    for benchmark in args.benchmark:
        for part in args.part:
            gendata(
                args.data_path,
                os.path.join(args.out_folder, benchmark),
                args.ignored_sample_path,
                benchmark,
                part,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
