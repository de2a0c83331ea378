"""OpenPose per-frame JSON to Kinetics-skeleton, then kinetics_gendata on the result (end to end)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from data_gen import kinetics_gendata as kin
from data_gen import openpose_to_kinetics as op
from data_gen.common import setup_logging
from utils.errors import ConfigError
from utils.io import load_label_file

setup_logging()

W, H = 640, 480


def make_person(rng: np.random.Generator, joints: int, missing: tuple[int, ...] = ()) -> np.ndarray:
    """(joints, 3) pixel x, y and confidence; ``missing`` joints get confidence 0 (x, y left non-zero)."""
    person = np.column_stack(
        [rng.uniform(10, W - 10, joints), rng.uniform(10, H - 10, joints), rng.uniform(0.1, 1, joints)]
    )
    person[list(missing), 2] = 0
    return person


def write_video(
    root: Path,
    name: str,
    frames: dict[int, list[np.ndarray]],
    key: str = "pose_keypoints_2d",
    width: int = 12,
) -> Path:
    """One OpenPose output folder: ``{name}_{frame:0{width}d}_keypoints.json`` per frame."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for number, people in frames.items():
        obj = {"version": 1.3, "people": [{key: p.ravel().tolist(), "face_keypoints_2d": []} for p in people]}
        (folder / f"{name}_{number:0{width}d}_keypoints.json").write_text(json.dumps(obj))
    return folder


def expected_openpose18(person: np.ndarray) -> np.ndarray:
    """(18, 3) normalised x, y, score of one input person as the converter writes it."""
    joints = op.MODELS[len(person)][1]
    out = person[list(joints)].copy()
    out[:, 0] /= W
    out[:, 1] /= H
    out[out[:, 2] <= 0] = 0
    return out.round(3)


@pytest.fixture
def videos(tmp_path):
    """Three synthetic videos: BODY_25 with two persons, COCO-18 with an empty frame, BODY_25 short."""
    rng = np.random.default_rng(0)
    root = tmp_path / "openpose"
    clips = {
        "walk_01": {t: [make_person(rng, 25, missing=(3,)), make_person(rng, 25)] for t in range(12)},
        "wave_02": {t: ([] if t == 4 else [make_person(rng, 18)]) for t in range(8)},
        "walk_03": {t: [make_person(rng, 25)] for t in range(5)},
    }
    for name, frames in clips.items():
        write_video(root, name, frames)
    (tmp_path / "videos.csv").write_text(
        "video,label,label_index\nwalk_01,walk,0\nwave_02,wave,1\nwalk_03,walk,0\n"
    )
    return root, clips


def test_body25_mapping_is_derived_from_joint_names():
    assert op.BODY_25_TO_OPENPOSE_18 == (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
    dropped = sorted(set(range(25)) - set(op.BODY_25_TO_OPENPOSE_18))
    assert [op.BODY_25_NAMES[i] for i in dropped] == [
        "mid_hip", "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    ]  # fmt: skip
    assert op.OPENPOSE_18_NAMES[8] == op.BODY_25_NAMES[9] == "right_hip"


def test_kinetics_format_values(videos, tmp_path):
    root, clips = videos
    summary = op.convert(
        root, tmp_path / "out", part="train", labels=tmp_path / "videos.csv", width=W, height=H, workers=1
    )
    assert summary.exit_code() == 0 and summary.bad == []
    video = json.loads((tmp_path / "out" / "kinetics_train" / "walk_01.json").read_text())
    assert video["label"] == "walk" and video["label_index"] == 0
    assert [f["frame_index"] for f in video["data"]] == list(range(1, 13))
    first = video["data"][0]["skeleton"]
    for written, person in zip(first, clips["walk_01"][0]):
        want = expected_openpose18(person)
        assert len(written["pose"]) == 36 and len(written["score"]) == 18
        np.testing.assert_allclose(written["pose"], want[:, :2].ravel(), atol=1e-9)
        np.testing.assert_allclose(written["score"], want[:, 2], atol=1e-9)
    assert first[0]["pose"][6:8] == [0, 0] and first[0]["score"][3] == 0  # joint 3 not detected
    assert all(len(str(v).split(".")[-1]) <= 3 for v in first[1]["pose"])  # 3 decimals
    empty = json.loads((tmp_path / "out" / "kinetics_train" / "wave_02.json").read_text())["data"][4]
    assert empty == {"frame_index": 5, "skeleton": []}
    labels = json.loads((tmp_path / "out" / "kinetics_train_label.json").read_text())
    assert labels == {
        "walk_01": {"has_skeleton": True, "label": "walk", "label_index": 0},
        "walk_03": {"has_skeleton": True, "label": "walk", "label_index": 0},
        "wave_02": {"has_skeleton": True, "label": "wave", "label_index": 1},
    }


def test_end_to_end_through_kinetics_gendata(videos, tmp_path):
    root, clips = videos
    raw = tmp_path / "kinetics_raw"
    for part in ("train", "val"):
        assert (
            op.convert(
                root, raw, part=part, labels=tmp_path / "videos.csv", width=W, height=H, workers=2
            ).exit_code()
            == 0
        )
    summary = kin.gendata(raw, tmp_path / "kinetics", workers=1)
    assert summary.exit_code() == 0 and summary.bad == []
    names, labels = load_label_file(tmp_path / "kinetics" / "train_label.pkl")
    assert names == ["walk_01.json", "walk_03.json", "wave_02.json"] and labels == [0, 0, 1]
    data = np.load(tmp_path / "kinetics" / "train_data_joint.npy")
    assert data.shape == (3, 3, 300, 18, 2) and data.dtype == np.float32
    assert not data[:, :, 0].any()  # frame_index is 1-based: kinetics_gendata leaves row 0 empty
    for i, name in enumerate(n[:-5] for n in names):
        frames = clips[name]
        assert data[i, :, len(frames) + 1 :].any() == False  # noqa: E712 - nothing after the clip
        for t, people in frames.items():
            want = sorted((expected_openpose18(p) for p in people), key=lambda a: -a[:, 2].sum())
            for m in range(2):
                got = data[i, :, t + 1, :, m].T  # (18, 3) x, y, score
                if m >= len(want):
                    assert not got.any()
                    continue
                x, y, s = want[m].T
                np.testing.assert_allclose(got[:, 2], s, atol=1e-6)
                np.testing.assert_allclose(got[:, 0], np.where(s > 0, x - 0.5, 0), atol=1e-6)
                np.testing.assert_allclose(got[:, 1], np.where(s > 0, -(y - 0.5), 0), atol=1e-6)


def test_read_clip_equals_the_dataset_row(videos, tmp_path):
    root, _ = videos
    op.convert(
        root, tmp_path / "raw", part="val", labels=tmp_path / "videos.csv", width=W, height=H, workers=1
    )
    kin.gendata(tmp_path / "raw", tmp_path / "kinetics", parts=["val"], workers=1)
    names, _ = load_label_file(tmp_path / "kinetics" / "val_label.pkl")
    data = np.load(tmp_path / "kinetics" / "val_data_joint.npy")
    for name, row in zip(names, data):
        sample = op.read_clip(root / name[:-5], width=W, height=H)
        assert sample.dtype == np.float32 and sample.shape == (3, 300, 18, 2)
        np.testing.assert_array_equal(sample, row)


def test_frame_order_is_numeric_and_gaps_are_kept(tmp_path):
    rng = np.random.default_rng(1)
    people = {n: [make_person(rng, 18)] for n in (2, 10, 3)}
    folder = write_video(tmp_path / "op", "clip", people, key="pose_keypoints", width=1)  # old OpenPose key
    assert [n for n, _ in op.frame_files(folder)] == [2, 3, 10]
    video, has_skeleton, notes = op.convert_video(folder, "x", 0, W, H)
    assert has_skeleton and notes == []
    assert [f["frame_index"] for f in video["data"]] == [1, 2, 9]
    np.testing.assert_allclose(
        video["data"][2]["skeleton"][0]["score"], expected_openpose18(people[10][0])[:, 2]
    )


def test_single_video_with_label_flag(tmp_path):
    rng = np.random.default_rng(2)
    folder = write_video(tmp_path / "op", "my.video", {t: [make_person(rng, 25)] for t in range(3)})
    summary = op.convert(folder, tmp_path / "out", part="val", label="jump", label_index=4, workers=1)
    assert summary.exit_code() == 0
    assert json.loads((tmp_path / "out" / "kinetics_val_label.json").read_text()) == {
        "my_video": {"has_skeleton": True, "label": "jump", "label_index": 4}
    }
    assert any("written as my_video.json" in w for w in summary.warnings)
    # default size 1920 x 1080 with 640 x 480 pixels: fine; with a too small size: a warning
    small = op.convert(
        folder, tmp_path / "out2", label="jump", label_index=4, width=100, height=100, workers=1
    )
    assert any("outside 0..1; is the video 100 x 100" in w for w in small.warnings)


def test_labels_without_indices_use_classes_or_sorted_names(videos, tmp_path):
    root, _ = videos
    (tmp_path / "plain.csv").write_text("walk_01,walk\nwave_02,wave\nwalk_03,walk\n")
    op.convert(root, tmp_path / "a", labels=tmp_path / "plain.csv", width=W, height=H, workers=1)
    assert (tmp_path / "a" / "label_map.txt").read_text() == "walk\nwave\n"
    (tmp_path / "classes.txt").write_text("run\nwave\nwalk\n")
    op.convert(
        root,
        tmp_path / "b",
        labels=tmp_path / "plain.csv",
        classes=tmp_path / "classes.txt",
        width=W,
        height=H,
        workers=1,
    )
    entries = json.loads((tmp_path / "b" / "kinetics_train_label.json").read_text())
    assert {v: e["label_index"] for v, e in entries.items()} == {"walk_01": 2, "walk_03": 2, "wave_02": 1}
    assert not (tmp_path / "b" / "label_map.txt").exists()


def test_bad_videos_are_reported_by_file_and_the_rest_written(videos, tmp_path):
    root, _ = videos
    rng = np.random.default_rng(3)
    broken = write_video(root, "broken", {0: [make_person(rng, 25)], 1: [make_person(rng, 25)]})
    (broken / "broken_000000000001_keypoints.json").write_text('{"people": [')
    write_video(root, "short_pose", {0: [make_person(rng, 25)[:20]]})
    nan = write_video(root, "nan_pose", {0: [make_person(rng, 18)]})
    (nan / "nan_pose_000000000000_keypoints.json").write_text(
        '{"people": [{"pose_keypoints_2d": [NaN' + ", 1" * 53 + "]}]}"
    )
    (root / "empty_dir").mkdir()
    write_video(root, "unlisted", {0: [make_person(rng, 18)]})
    with (tmp_path / "videos.csv").open("a") as f:
        f.write("broken,walk,0\nshort_pose,walk,0\nnan_pose,walk,0\nempty_dir,walk,0\n")
    summary = op.convert(root, tmp_path / "out", labels=tmp_path / "videos.csv", width=W, height=H, workers=2)
    assert summary.exit_code() == 0
    expected = {
        "broken_000000000001_keypoints.json:1: not valid JSON",
        "short_pose_000000000000_keypoints.json: people[0].pose_keypoints_2d has 60 numbers; expected 75 (BODY_25)",
        "nan_pose_000000000000_keypoints.json: people[0].pose_keypoints_2d[0] is nan; expected a finite number",
        "empty_dir: no *_keypoints.json frame files",
        "unlisted: no row for video 'unlisted' in",
    }
    assert len(summary.bad) == len(expected)
    for part in expected:
        assert len([m for m in summary.bad if part in m and "\n" not in m]) == 1, part
    written = sorted(p.name for p in (tmp_path / "out" / "kinetics_train").iterdir())
    assert written == ["walk_01.json", "walk_03.json", "wave_02.json"]
    assert sorted(json.loads((tmp_path / "out" / "kinetics_train_label.json").read_text())) == [
        "walk_01", "walk_03", "wave_02",
    ]  # fmt: skip
    strict = op.convert(
        root, tmp_path / "strict", labels=tmp_path / "videos.csv", width=W, height=H, workers=1, strict=True
    )
    assert strict.exit_code() == 1 and not (tmp_path / "strict").exists()


def test_existing_part_is_kept_and_overwrite_merges(videos, tmp_path):
    root, _ = videos
    out = tmp_path / "out"
    op.convert(root, out, labels=tmp_path / "videos.csv", width=W, height=H, workers=1)
    label_file = out / "kinetics_train_label.json"
    entries = json.loads(label_file.read_text())
    entries["older"] = {"has_skeleton": True, "label": "walk", "label_index": 0}
    label_file.write_text(json.dumps(entries))
    again = op.convert(root, out, labels=tmp_path / "videos.csv", width=W, height=H, workers=1)
    assert again.splits["kinetics_train"].status == "exists" and json.loads(label_file.read_text()) == entries
    (tmp_path / "videos.csv").write_text("walk_01,walk,0\nwave_02,wave,1\nwalk_03,wave,1\n")
    merged = op.convert(
        root, out, labels=tmp_path / "videos.csv", width=W, height=H, workers=1, overwrite=True
    )
    assert merged.exit_code() == 0
    after = json.loads(label_file.read_text())
    assert (
        sorted(after) == ["older", "walk_01", "walk_03", "wave_02"] and after["walk_03"]["label_index"] == 1
    )


def test_label_options_are_checked(videos, tmp_path):
    root, _ = videos
    with pytest.raises(ConfigError, match="give either --labels"):
        op.convert(root, tmp_path / "out")
    with pytest.raises(ConfigError, match="--label needs --label-index"):
        op.convert(root, tmp_path / "out", label="walk")
    (tmp_path / "clash.csv").write_text("walk_01,walk,0\nwalk_03,walk,1\n")
    with pytest.raises(ConfigError, match=r"clash.csv:2: label 'walk' has index 1, but 0 on line 1"):
        op.convert(root, tmp_path / "out", labels=tmp_path / "clash.csv")
    (tmp_path / "twice.csv").write_text("walk_01,walk,0\nwave_02,wave,1\nwalk_01,wave,1\n")
    with pytest.raises(
        ConfigError, match=r"twice.csv:3: video 'walk_01' is listed again \(first on line 1\)"
    ):
        op.convert(root, tmp_path / "out", labels=tmp_path / "twice.csv")


def test_cli(videos, tmp_path):
    root, _ = videos
    cmd = [
        sys.executable,
        str(ROOT / "data_gen" / "openpose_to_kinetics.py"),
        *("--data_path", str(root), "--out_folder", str(tmp_path / "raw"), "--part", "val"),
        *("--labels", str(tmp_path / "videos.csv"), "--width", str(W), "--height", str(H), "--workers", "1"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "kinetics_val: 3 samples written" in proc.stderr
    assert (tmp_path / "raw" / "kinetics_val_label.json").is_file()
