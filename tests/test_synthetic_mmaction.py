"""The synthetic generator's MMAction2 annotation pickles (``--format mmaction``): content and use."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from test_synthetic import read_ntu

from data_gen import synthetic as syn
from feeders.pose_pickle import PosePickleFeeder
from utils.io import load_pickle


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn_mm")
    summary = syn.generate(
        out, fmt=("ntu", "mmaction"), num_classes=12, subjects=[1, 3], cameras=[1, 2], seed=4
    )
    with open(out / "manifest.csv", newline="") as f:
        manifest = {row["name"]: row for row in csv.DictReader(f)}
    return summary, out, manifest


def test_files_splits_and_labels(generated):
    summary, out, manifest = generated
    assert summary.mmaction_files == (out / "synthetic_3d.pkl", out / "synthetic_2d.pkl")
    d3, d2 = load_pickle(out / "synthetic_3d.pkl"), load_pickle(out / "synthetic_2d.pkl")
    names = sorted(manifest)
    assert d3["split"] == d2["split"] and len(names) == 12 * 2 * 2
    split = d3["split"]
    assert (
        sorted(split["xsub_train"] + split["xsub_val"])
        == names
        == sorted(split["xview_train"] + split["xview_val"])
    )
    assert all(manifest[n]["subject"] == "1" for n in split["xsub_train"])  # performer 1 trains, 3 tests
    assert all(manifest[n]["camera"] == "2" for n in split["xview_train"])  # cameras 2, 3 train
    for a3, a2 in zip(d3["annotations"], d2["annotations"]):
        row = manifest[a3["frame_dir"]]
        assert a3["frame_dir"] == a2["frame_dir"] and a3["label"] == a2["label"] == int(row["label"])
        M, T = int(row["persons"]), int(row["frames"])
        assert (
            a3["keypoint"].shape == (M, T, 25, 3)
            and a3["total_frames"] == T
            and a3["keypoint"].dtype == np.float32
        )
        assert a2["keypoint"].shape == (M, T, 17, 2) and a2["keypoint_score"].shape == (M, T, 17)
        assert a2["img_shape"] == a2["original_shape"] == (1080, 1920)
        assert (a2["keypoint"][..., 0] <= 1919).all() and (a2["keypoint"][..., 1] <= 1079).all()
        assert ((a2["keypoint_score"] >= 0) & (a2["keypoint_score"] < 1)).all()


def test_keypoints_are_the_actors_of_the_skeleton_files(generated):
    """3D: the actors' joints as the .skeleton file lists them (7 digits); 2D: its colour-camera pixels."""
    _, out, manifest = generated
    d3 = {a["frame_dir"]: a for a in load_pickle(out / "synthetic_3d.pkl")["annotations"]}
    d2 = {a["frame_dir"]: a for a in load_pickle(out / "synthetic_2d.pkl")["annotations"]}
    coco_from_ntu = [4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18]  # COCO 5..16 (shoulders..ankles)
    checked = 0
    for name in sorted(manifest)[::5]:
        frames = read_ntu(out / syn.NTU_DIR / f"{name}.skeleton")
        kp3, kp2, score = d3[name]["keypoint"], d2[name]["keypoint"], d2[name]["keypoint_score"]
        for t, bodies in enumerate(frames):
            for m in range(kp3.shape[0]):
                if not kp3[m, t].any():
                    assert not score[m, t].any()  # an actor not tracked in this frame: zeros
                    continue
                match = [v for _, v in bodies if np.allclose(v[:, :3], kp3[m, t], atol=1e-6, rtol=1e-6)]
                assert len(match) == 1, (name, t, m)
                inside = (score[m, t, 5:] > 0.5) & (kp2[m, t, 5:, 0] > 1) & (kp2[m, t, 5:, 0] < 1918)
                pixel_gap = np.abs(kp2[m, t, 5:] - match[0][coco_from_ntu, 5:7])[inside]
                assert pixel_gap.max(initial=0) < 10  # detector noise of 1.5 px
                checked += 1
    assert checked > 100


def test_deterministic_and_read_by_the_feeder(generated, tmp_path):
    _, out, _ = generated
    syn.generate(tmp_path, fmt="mmaction", num_classes=12, subjects=[1, 3], cameras=[1, 2], seed=4, workers=2)
    for file in ("synthetic_3d.pkl", "synthetic_2d.pkl"):
        assert (tmp_path / file).read_bytes() == (out / file).read_bytes()
    assert not (tmp_path / syn.NTU_DIR).exists()
    j3 = PosePickleFeeder(
        str(out / "synthetic_3d.pkl"), "xview_val", "bone", clip_len=32, num_clips=2, test_mode=True
    )
    x, label, _ = j3[0]
    assert x.shape == (2, 3, 32, 25, 2) and np.isfinite(x).all() and x.any() and len(j3) == 24
    j2 = PosePickleFeeder(str(out / "synthetic_2d.pkl"), "xsub_train", "j", clip_len=32, dataset="coco")
    x2 = j2[1][0]
    assert x2.shape == (3, 32, 17, 2) and np.abs(x2[:2]).max() <= 1.0 and (x2[2] >= 0).all()
