"""data_gen/posec3d_gendata.py: 3D skeletons and normalised 2D keypoints -> PoseC3D's 2D pixel pickles."""

from __future__ import annotations

import numpy as np
import pytest

from data_gen import posec3d_gendata as gen
from utils.io import load_pickle, save_pickle


def standing_body(rng: np.random.Generator, frames: int = 6, up: int = 1) -> np.ndarray:
    """(1, T, 25, 3) NTU-like joints in camera space: about 1.7 m tall along ``up``, 0.5 m wide along x,
    0.3 m deep; joint 3 (head) on top, joints 15/19 (feet) at the bottom."""
    kp = np.zeros((1, frames, 25, 3))
    height = np.linspace(0.0, 1.7, 25)
    rng.shuffle(height)
    height[3], height[15], height[19] = 1.7, 0.0, 0.0
    kp[0, :, :, up] = height
    kp[0, :, :, 0] = rng.uniform(-0.25, 0.25, size=25)
    kp[0, :, :, 3 - up] = 3.0 + rng.uniform(-0.15, 0.15, size=25)  # depth in front of the camera
    return kp.astype(np.float32)


def write(path, annotations, split=None):
    save_pickle(
        {"split": split or {"all": [a["frame_dir"] for a in annotations]}, "annotations": annotations}, path
    )


def test_3d_bodies_are_projected_upright_with_missing_joints_kept_missing(tmp_path):
    rng = np.random.default_rng(0)
    anns = []
    for i, up in enumerate((1, 1, 1)):
        kp = standing_body(rng, up=up)
        kp[0, 2, 7] = 0  # a joint lost in one frame
        anns.append({"frame_dir": f"S00{i}", "label": i, "total_frames": 6, "keypoint": kp})
    src, dst = tmp_path / "in.pkl", tmp_path / "out.pkl"
    write(src, anns, {"train": ["S000", "S001"], "val": ["S002"]})
    assert gen.main(["--data_path", str(src), "--out", str(dst), "--size", "256"]) == 0
    out = load_pickle(dst)
    assert out["split"] == {"train": ["S000", "S001"], "val": ["S002"]}
    for ann in out["annotations"]:
        kp, score = ann["keypoint"], ann["keypoint_score"]
        assert kp.shape == (1, 6, 25, 2) and kp.dtype == np.float32 and score.shape == (1, 6, 25)
        assert ann["img_shape"] == (256, 256) and ann["total_frames"] == 6
        assert kp[0, 0, 3, 1] < kp[0, 0, 15, 1]  # the head is above the feet (image y grows downward)
        assert (kp[0, 2, 7] == 0).all() and score[0, 2, 7] == 0  # missing stays missing
        present = score > 0
        assert present.sum() == 6 * 25 - 1 and (score[present] == 1).all()
        assert kp[present].min() >= 0.1 * 256 - 1e-3 and kp[present].max() <= 0.9 * 256 + 1e-3
        # the body's height fills 80% of the image
        assert kp[0, 0, 15, 1] - kp[0, 0, 3, 1] == pytest.approx(0.8 * 256, rel=1e-5)


def test_axes_auto_finds_the_vertical_axis_and_can_be_given():
    rng = np.random.default_rng(1)
    z_up = [
        {"frame_dir": "a", "keypoint": standing_body(rng, up=2)}
    ]  # 2s-AGCN's normalisation: spine along z
    assert gen.auto_axes(z_up) == "x,-z"
    assert gen.parse_axes("x,-z", 3) == ((0, 1), (2, -1))
    with pytest.raises(Exception, match="must differ"):
        gen.parse_axes("y,-y", 3)
    with pytest.raises(Exception, match="expected two of x, y"):
        gen.parse_axes("x,z", 2)


def test_normalised_2d_keypoints_are_rescaled_and_scores_kept(tmp_path):
    rng = np.random.default_rng(2)
    kp = rng.uniform(-0.5, 0.5, size=(2, 5, 18, 2)).astype(np.float32)  # Kinetics-skeleton units
    kp[1] = 0  # an absent second person
    score = rng.uniform(0.1, 1, size=(2, 5, 18)).astype(np.float32)
    anns = [{"frame_dir": "k", "label": 3, "keypoint": kp, "keypoint_score": score, "img_shape": (1, 1)}]
    src, dst = tmp_path / "in.pkl", tmp_path / "out.pkl"
    write(src, anns)
    assert gen.main(["--data_path", str(src), "--out", str(dst)]) == 0
    ann = load_pickle(dst)["annotations"][0]
    assert ann["img_shape"] == (512, 512) and ann["label"] == 3
    np.testing.assert_array_equal(ann["keypoint_score"][0], score[0])
    assert (ann["keypoint_score"][1] == 0).all() and (ann["keypoint"][1] == 0).all()
    # uniform scale, y kept pointing down: the order of coordinates is preserved
    assert np.array_equal(
        np.argsort(ann["keypoint"][0, :, :, 1], axis=None), np.argsort(kp[0, :, :, 1], axis=None)
    )


def test_bad_annotations_are_reported_and_the_rest_written(tmp_path, caplog):
    rng = np.random.default_rng(3)
    good = standing_body(rng)
    nan = good.copy()
    nan[0, 1, 4, 0] = np.nan
    anns = [
        {"frame_dir": "good", "keypoint": good},
        {"frame_dir": "nan", "keypoint": nan},
        {"frame_dir": "empty", "keypoint": np.zeros((1, 4, 25, 3), np.float32)},
    ]
    src, dst = tmp_path / "in.pkl", tmp_path / "out.pkl"
    write(src, anns)
    assert gen.main(["--data_path", str(src), "--out", str(dst), "--strict"]) == 1
    assert not dst.exists()
    assert gen.main(["--data_path", str(src), "--out", str(dst)]) == 0
    out = load_pickle(dst)
    assert [a["frame_dir"] for a in out["annotations"]] == ["good"] and out["split"] == {"all": ["good"]}
    assert "sample 'nan': keypoint holds NaN or inf" in caplog.text
    assert "sample 'empty': no joint is present" in caplog.text
    assert gen.main(["--data_path", str(src), "--out", str(dst)]) == 0  # exists: kept


def test_ntu_files_become_posec3d_volumes(ntu_raw, tmp_path):
    """This project's NTU data -> annotation pickle -> 2D pixels -> 25-channel keypoint / 24-channel limb volumes."""
    from data_gen import mmaction_pickle, ntu_gendata
    from feeders.posec3d import PoseC3DFeeder

    raw, ntu = ntu_raw / "raw", tmp_path / "ntu"
    assert (
        ntu_gendata.main(
            ["--data_path", str(raw), "--out_folder", str(ntu), "--benchmark", "xsub", "--workers", "1"]
        )
        == 0
    )
    pkl3d, pkl2d = tmp_path / "ntu_3d.pkl", tmp_path / "ntu_2d.pkl"
    argv = ["to-pickle", "--data_folder", str(ntu / "xsub"), "--out", str(pkl3d)]
    assert mmaction_pickle.main([*argv, "--train-split", "xsub_train", "--val-split", "xsub_val"]) == 0
    assert gen.main(["--data_path", str(pkl3d), "--out", str(pkl2d)]) == 0
    keypoint = PoseC3DFeeder(str(pkl2d), split="xsub_val", layout="ntu_rgb_d", clip_len=8, test_mode=True)
    limb = PoseC3DFeeder(
        str(pkl2d), split="xsub_val", layout="ntu_rgb_d", clip_len=8, test_mode=True, stream="limb"
    )
    assert len(keypoint) > 0 and keypoint.sample_name == limb.sample_name and not keypoint.bad_samples
    vol, label, _ = keypoint[0]
    assert vol.shape == (25, 8, 64, 64) and limb[0][0].shape == (24, 8, 64, 64)
    assert label == keypoint.label[0] and 0.5 < vol.max() <= 1.0
    rows = vol.max(axis=(1, 3))  # (25, 64): rows where each joint is drawn
    head, feet = np.argmax(rows[3]), np.argmax(rows[[15, 19]].max(axis=0))
    assert head < feet  # projected upright
