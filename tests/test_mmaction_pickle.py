"""data_gen/mmaction_pickle.py: annotation pickles <-> (N, C, T, V, M) npy + label pkl, both ways."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import FIXTURES, ROOT

from data_gen import custom_gendata
from data_gen import mmaction_pickle as mp
from feeders.pose_pickle import PosePickleFeeder
from utils.io import load_label_file, load_pickle, save_label_file, save_pickle

FIX = FIXTURES / "mmaction"
PKL3D, PKL2D = FIX / "example_ntu60_3d.pkl", FIX / "example_ntu60_2d.pkl"
SPLITS = {"train": "xsub_train", "val": "xsub_val"}


def by_name(path):
    return {a["frame_dir"]: a for a in load_pickle(path)["annotations"]}


@pytest.mark.parametrize(
    ("source", "layout", "img_shape"), [(PKL3D, "nturgb+d", None), (PKL2D, "coco", (1080, 1920))]
)
def test_round_trip_preserves_the_valid_frames(tmp_path, source, layout, img_shape):
    summary = mp.to_npy(source, tmp_path / "npy", layout, SPLITS)
    assert summary.exit_code() == 0
    original = by_name(source)
    for part, split in SPLITS.items():
        names, labels = load_label_file(tmp_path / "npy" / f"{part}_label.pkl")
        data = np.load(tmp_path / "npy" / f"{part}_data_joint.npy")
        assert names == load_pickle(source)["split"][split]
        assert labels == [original[n]["label"] for n in names]
        assert data.dtype == np.float32 and data.shape[1:] == (3, 200, 17 if layout == "coco" else 25, 2)
        for row, name in enumerate(names):  # (C, T, V, M) rows: x, y, z or x, y, score; zero padded
            kp = original[name]["keypoint"]
            M, T = kp.shape[:2]
            np.testing.assert_array_equal(data[row, : kp.shape[3], :T, :, :M], kp.transpose(3, 1, 2, 0))
            if "keypoint_score" in original[name]:
                np.testing.assert_array_equal(
                    data[row, 2, :T, :, :M], original[name]["keypoint_score"].transpose(1, 2, 0)
                )
            assert not data[row, :, T:].any() and not data[row, ..., M:].any()
    options = json.loads((tmp_path / "npy" / "preprocess.json").read_text())
    assert options["reader"] == "data_gen.custom_gendata.read_clip" and options["options"]["max_frame"] == 200
    back = tmp_path / "back.pkl"
    assert mp.to_pickle(tmp_path / "npy", back, SPLITS, img_shape=img_shape).exit_code() == 0
    result = load_pickle(back)
    assert result["split"] == load_pickle(source)["split"]
    for name, ann in by_name(back).items():
        ref = original[name]
        assert ann["total_frames"] == ref["total_frames"] and ann["label"] == ref["label"]
        np.testing.assert_array_equal(ann["keypoint"], ref["keypoint"])
        assert ("keypoint_score" in ann) == ("keypoint_score" in ref)
        if "keypoint_score" in ref:
            np.testing.assert_array_equal(ann["keypoint_score"], ref["keypoint_score"])
            assert ann["img_shape"] == (1080, 1920)
    # the written pickle is the feeder's input
    feeder = PosePickleFeeder(str(back), "xsub_val", dataset=layout, test_mode=True, clip_len=8)
    assert len(feeder) == 2 and feeder[0][0].shape == (3, 8, 17 if layout == "coco" else 25, 2)


def test_rows_are_what_custom_gendata_reads_from_a_clip_file(tmp_path):
    """predict.py turns a raw clip into a row with the recorded reader; here a .npz with the same keypoints."""
    mp.to_npy(PKL2D, tmp_path / "npy", "coco", {"val": "xsub_val"}, max_frame=64)
    reader, options = json.loads((tmp_path / "npy" / "preprocess.json").read_text()).values()
    ann = by_name(PKL2D)["S004C001P010R002A050"]
    clip = tmp_path / "clip.npz"
    np.savez(clip, keypoints=ann["keypoint"], scores=ann["keypoint_score"], label=ann["label"])
    sample, label = custom_gendata.read_clip(clip, **options)
    names, _ = load_label_file(tmp_path / "npy" / "val_label.pkl")
    row = np.load(tmp_path / "npy" / "val_data_joint.npy")[names.index("S004C001P010R002A050")]
    np.testing.assert_array_equal(sample, row)
    assert label == 49 and row.shape == (3, 64, 17, 2)  # 150 frames uniformly downsampled to 64


def test_to_pickle_trims_frames_and_persons_and_strips_the_suffix(tmp_path):
    data = np.zeros((2, 3, 10, 25, 2), np.float32)
    rng = np.random.default_rng(0)
    data[0, :, :6, :, 1] = rng.normal(size=(3, 6, 25))  # only person slot 1, frames 0-5 (frame 3 empty)
    data[0, :, 3] = 0
    data[1, :, :10, :, :] = rng.normal(size=(3, 10, 25, 2))
    np.save(tmp_path / "train_data_joint.npy", data)
    save_label_file(
        ["S001C001P001R001A001.skeleton", "S001C001P001R001A002.skeleton"],
        [0, 1],
        tmp_path / "train_label.pkl",
    )
    out = tmp_path / "out.pkl"
    assert mp.to_pickle(tmp_path, out, {"train": "train"}).exit_code() == 0
    anns = load_pickle(out)["annotations"]
    assert [a["frame_dir"] for a in anns] == ["S001C001P001R001A001", "S001C001P001R001A002"]
    first = anns[0]
    assert (
        first["keypoint"].shape == (1, 6, 25, 3)
        and first["total_frames"] == 6
        and "keypoint_score" not in first
    )
    np.testing.assert_array_equal(first["keypoint"][0], data[0, :, :6, :, 1].transpose(1, 2, 0))
    assert anns[1]["keypoint"].shape == (2, 10, 25, 3)
    # kept unless --overwrite; the feeder reads it
    assert mp.to_pickle(tmp_path, out, {"train": "other"}).split(str(out)).status == "exists"
    assert len(PosePickleFeeder(str(out), "train")) == 2


def test_bad_samples_are_reported_and_skipped(tmp_path, capsys):
    anns = load_pickle(PKL3D)["annotations"]
    nan = dict(anns[1], keypoint=anns[1]["keypoint"].copy())
    nan["keypoint"][0, 3, 2, 1] = np.nan
    bad = [
        dict(anns[0], keypoint=np.zeros((1, 4, 25, 3), np.float32)),
        nan,
        dict(anns[2], keypoint=anns[2]["keypoint"][:, :, :17]),
    ]
    src = tmp_path / "bad.pkl"
    names = [a["frame_dir"] for a in anns]
    save_pickle({"split": {"all": names}, "annotations": bad + anns[3:]}, src)
    summary = mp.to_npy(src, tmp_path / "npy", "ntu_rgb_d", {"train": "all"})
    assert summary.exit_code() == 0 and summary.split("train").written == 1
    assert len(summary.bad) == 3 and all(
        str(src) in m and "sample '" in m and "\n" not in m for m in summary.bad
    )
    assert "empty clip" in summary.bad[0] and "NaN" in summary.bad[1] and "V=17 joints" in summary.bad[2]
    strict = mp.to_npy(src, tmp_path / "strict", "ntu_rgb_d", {"train": "all"}, strict=True)
    assert strict.exit_code() == 1 and not (tmp_path / "strict" / "train_data_joint.npy").exists()
    # to-pickle: an all-zero sample is reported, the rest written
    data = np.zeros((2, 3, 5, 17, 1), np.float32)
    data[1, :, :3] = 1.0
    np.save(tmp_path / "val_data_joint.npy", data)
    save_label_file(["a", "b"], [0, 1], tmp_path / "val_label.pkl")
    summary = mp.to_pickle(tmp_path, tmp_path / "v.pkl", {"val": "v"})
    assert summary.split("v").written == 1 and "sample 'a': every value is 0" in summary.bad[0]
    ann = load_pickle(tmp_path / "v.pkl")["annotations"][0]  # V=17: COCO, channel 2 is the score
    assert ann["keypoint"].shape == (1, 3, 17, 2) and ann["keypoint_score"].shape == (1, 3, 17)


def test_command_line(tmp_path, capsys):
    script = str(ROOT / "data_gen" / "mmaction_pickle.py")
    ok = subprocess.run(
        [sys.executable, script, "to-npy", "--data_path", str(PKL3D), "--out_folder", str(tmp_path / "o"),
         "--layout", "nturgb+d", "--train-split", "xsub_train", "--max-frame", "50"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert np.load(tmp_path / "o" / "train_data_joint.npy").shape == (2, 3, 50, 25, 2)
    assert "train: 2 samples written" in ok.stderr
    argv = ["to-npy", "--data_path", str(PKL3D), "--out_folder", str(tmp_path / "o2"), "--layout", "nturgb+d"]
    capsys.readouterr()
    assert mp.main([*argv, "--train-split", "xsub_tr"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"ERROR: {PKL3D}: no split 'xsub_tr'; the file has: xsub_train, xsub_val"
    )
    assert not (tmp_path / "o2").exists()
    back = ["to-pickle", "--data_folder", str(tmp_path / "o"), "--out", str(tmp_path / "b.pkl")]
    assert mp.main([*back, "--train-split", "xsub_train", "--score-channel", "none"]) == 0
    assert load_pickle(tmp_path / "b.pkl")["split"] == {
        "xsub_train": ["S001C001P001R001A001", "S003C003P007R001A024"]
    }
