"""Bring-your-own-data converter on generated clips: npz/json, 3D and 2D + scores, a 15-joint layout
from YAML, split file vs subfolders, class names, persons, frames, normalisation, bad input, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT

from data_gen import custom_gendata as custom
from data_gen.common import load_options, setup_logging
from data_gen.preprocess import normalize_sample
from feeders.streams import make_stream
from graph.layouts import COCO
from utils.errors import ConfigError, DataError
from utils.io import load_label_file

setup_logging()

# A 15-joint mocap skeleton: 0 torso (centre), 1 neck, 2 head, 3-5 left shoulder/elbow/hand,
# 6-8 right shoulder/elbow/hand, 9-11 left hip/knee/foot, 12-14 right hip/knee/foot.
MOCAP15_YAML = """\
layout:
  name: mocap15
  num_node: 15
  center: 0
  edges: [[1, 0], [2, 1], [3, 1], [4, 3], [5, 4], [6, 1], [7, 6], [8, 7],
          [9, 0], [10, 9], [11, 10], [12, 0], [13, 12], [14, 13]]
"""


def write_clip(
    path: Path,
    keypoints: np.ndarray,
    label: int | str | None,
    scores: np.ndarray | None = None,
    fps: float | None = None,
) -> Path:
    """Write one clip in the documented format (.npz or .json by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: dict = {"keypoints": keypoints}
    if scores is not None:
        fields["scores"] = scores
    if label is not None:
        fields["label"] = label
    if fps is not None:
        fields["fps"] = fps
    if path.suffix == ".npz":
        np.savez(path, **fields)
    else:
        path.write_text(
            json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in fields.items()})
        )
    return path


def random_clip(rng: np.random.Generator, M: int, T: int, V: int, C: int) -> np.ndarray:
    """(M, T, V, C) float64: a random walk around a random body position, never exactly 0."""
    base = rng.uniform(0.5, 1.5, size=(M, 1, V, C))
    return base + np.cumsum(rng.normal(0, 0.01, size=(M, T, V, C)), axis=1)


def make_dataset(
    root: Path,
    V: int,
    C: int,
    n: int = 6,
    scores: bool = False,
    fmt: str = ".npz",
    labels: list | None = None,
    by_folder: bool = False,
    seed: int = 0,
) -> dict[str, dict]:
    """A random custom dataset: clips ``clip_00..`` (every third one val), split.json or subfolders.

    Returns ``{name: {"path", "keypoints", "scores", "label", "part"}}``.
    """
    rng = np.random.default_rng(seed)
    labels = labels if labels is not None else [i % 3 for i in range(n)]
    clips, split = {}, {}
    for i in range(n):
        name = f"clip_{i:02d}"
        part = "val" if i % 3 == 2 else "train"
        M, T = 1 + i % 2, 5 + 3 * i
        kp = random_clip(rng, M, T, V, C)
        sc = rng.uniform(0.2, 1.0, size=(M, T, V)) if scores else None
        path = (root / part if by_folder else root) / f"{name}{fmt}"
        write_clip(path, kp, labels[i], sc)
        clips[name] = {"path": path, "keypoints": kp, "scores": sc, "label": labels[i], "part": part}
        split[name] = part
    if not by_folder:
        (root / "split.json").write_text(json.dumps(split))
    return clips


def rows(out: Path, part: str) -> dict[str, np.ndarray]:
    names, _ = load_label_file(out / f"{part}_label.pkl")
    data = np.load(out / f"{part}_data_joint.npy")
    return dict(zip(names, data))


@pytest.fixture
def mocap_layout(tmp_path) -> Path:
    path = tmp_path / "mocap15.yaml"
    path.write_text(MOCAP15_YAML)
    return path


# -- formats and layouts ---------------------------------------------------------------------------
def test_npz_3d_with_a_15_joint_layout_from_yaml(tmp_path, mocap_layout):
    clips = make_dataset(tmp_path / "raw", V=15, C=3, labels=["walk", "sit", "wave", "walk", "sit", "wave"])
    (tmp_path / "raw" / "classes.txt").write_text("sit\nwalk\nwave\n")
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", mocap_layout, workers=1)
    assert summary.exit_code() == 0 and summary.bad == []
    longest = max(c["keypoints"].shape[1] for c in clips.values())
    for part in ("train", "val"):
        names, labels = load_label_file(tmp_path / "out" / f"{part}_label.pkl")
        assert names == sorted(n for n, c in clips.items() if c["part"] == part)
        assert labels == [["sit", "walk", "wave"].index(clips[n]["label"]) for n in names]
        for name, sample in rows(tmp_path / "out", part).items():
            kp = clips[name]["keypoints"]  # (M, T, V, C)
            M, T = kp.shape[:2]
            assert sample.shape == (3, longest, 15, 2) and sample.dtype == np.float32
            np.testing.assert_array_equal(sample[:, :T, :, :M], kp.transpose(3, 1, 2, 0).astype(np.float32))
            assert not sample[:, T:].any() and not sample[..., M:].any()  # zero padding, missing person zero
    assert (tmp_path / "out" / "label_map.txt").read_text() == "sit\nwalk\nwave\n"
    assert not (tmp_path / "out" / "test_label.pkl").exists()


def test_json_2d_with_scores_in_subfolders_keeps_score_channel_last(tmp_path):
    clips = make_dataset(tmp_path / "raw", V=17, C=2, scores=True, fmt=".json", by_folder=True)
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", "coco", workers=1)
    assert summary.exit_code() == 0 and summary.bad == []
    data = rows(tmp_path / "out", "train")
    name = "clip_01"  # two persons
    kp, sc = clips[name]["keypoints"], clips[name]["scores"]
    T = kp.shape[1]
    sample = data[name]
    assert sample.shape[:1] == (3,) and sample.shape[2:] == (17, 2)
    np.testing.assert_array_equal(sample[:2, :T], kp.transpose(3, 1, 2, 0).astype(np.float32))
    np.testing.assert_array_equal(sample[2, :T], sc.transpose(1, 2, 0).astype(np.float32))
    # Bone and motion with score_channel 2 (what a config's feeder args set) never subtract the score.
    parents = np.asarray([p for _, p in COCO.bone_pairs()])
    bone = make_stream(sample, "bone", layout="coco", score_channel=2)
    np.testing.assert_allclose(bone[2], (sample[2] + sample[2][:, parents]) / 2, rtol=1e-6)
    np.testing.assert_allclose(bone[:2], sample[:2] - sample[:2][:, :, parents], rtol=1e-6)
    motion = make_stream(sample, "joint_motion", score_channel=2)
    np.testing.assert_allclose(motion[2, : T - 1], (sample[2, 1:T] + sample[2, : T - 1]) / 2, rtol=1e-6)
    assert (bone[2] >= 0).all() and (motion[2] >= 0).all()
    differenced = make_stream(sample, "bone", layout="coco")  # 2s-AGCN's default would subtract it
    assert (differenced[2] < 0).any()


def test_split_csv_and_subfolders_give_the_same_dataset(tmp_path):
    make_dataset(tmp_path / "folders", V=17, C=2, scores=True, by_folder=True, seed=3)
    clips = make_dataset(tmp_path / "flat", V=17, C=2, scores=True, seed=3)
    (tmp_path / "flat" / "split.json").unlink()
    csv_rows = ["name,split"] + [f"{n}.npz,{c['part']}" for n, c in clips.items()]
    (tmp_path / "flat" / "split.csv").write_text("\n".join(csv_rows) + "\n")
    for src in ("folders", "flat"):
        assert custom.gendata(tmp_path / src, tmp_path / f"out_{src}", "coco", workers=1).exit_code() == 0
    for part in ("train", "val"):
        assert load_label_file(tmp_path / "out_folders" / f"{part}_label.pkl") == load_label_file(
            tmp_path / "out_flat" / f"{part}_label.pkl"
        )
        np.testing.assert_array_equal(
            np.load(tmp_path / "out_folders" / f"{part}_data_joint.npy"),
            np.load(tmp_path / "out_flat" / f"{part}_data_joint.npy"),
        )


def test_split_json_by_part_lists_and_test_part(tmp_path):
    clips = make_dataset(tmp_path / "raw", V=17, C=2, n=4)
    (tmp_path / "raw" / "split.json").write_text(
        json.dumps({"train": ["clip_00", "clip_01.npz"], "val": ["clip_02"], "test": ["clip_03"]})
    )
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", "coco", workers=1)
    assert summary.exit_code() == 0
    assert load_label_file(tmp_path / "out" / "test_label.pkl") == (["clip_03"], [clips["clip_03"]["label"]])


def test_class_names_without_classes_txt_are_sorted_and_written(tmp_path):
    make_dataset(tmp_path / "raw", V=17, C=2, labels=["zoom", "clap", "bow", "zoom", "clap", "bow"])
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", "coco", workers=1)
    assert summary.exit_code() == 0
    assert (tmp_path / "out" / "label_map.txt").read_text() == "bow\nclap\nzoom\n"
    assert load_label_file(tmp_path / "out" / "train_label.pkl") == (
        ["clip_00", "clip_01", "clip_03", "clip_04"],
        [2, 1, 2, 1],
    )
    assert any("sorted alphabetically" in w for w in summary.warnings)


def test_a_part_made_again_matches_the_kept_parts(tmp_path):
    """Class names and T come from the whole dataset, not from the part being made."""
    make_dataset(tmp_path / "raw", V=17, C=2, labels=["clap", "bow", "zoom", "clap", "bow", "zoom"])
    out = tmp_path / "out"
    assert custom.gendata(tmp_path / "raw", out, "coco", workers=1).exit_code() == 0
    first = load_label_file(out / "val_label.pkl"), np.load(out / "val_data_joint.npy")
    assert first[0] == (["clip_02", "clip_05"], [2, 2])
    for name in ("val_label.pkl", "val_data_joint.npy"):
        (out / name).unlink()
    again = custom.gendata(tmp_path / "raw", out, "coco", workers=1)
    assert again.splits["train"].status == "exists" and again.splits["val"].status == "written"
    assert load_label_file(out / "val_label.pkl") == first[0]
    np.testing.assert_array_equal(np.load(out / "val_data_joint.npy"), first[1])
    assert not [w for w in again.warnings if "other" in w]  # same options as the kept part


def test_mixed_label_kinds_reject_the_minority_unless_classes_txt(tmp_path):
    make_dataset(tmp_path / "raw", V=17, C=2, labels=["clap", 1, "bow", "bow", "clap", "bow"])
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", "coco", workers=1)
    (message,) = summary.bad
    assert "clip_01.npz: label 1 is a class index, but most clips use class names; add classes.txt" in message
    assert load_label_file(tmp_path / "out" / "train_label.pkl") == (
        ["clip_00", "clip_03", "clip_04"],
        [1, 0, 1],
    )
    (tmp_path / "raw" / "classes.txt").write_text("bow\nclap\n")
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out2", "coco", workers=1)
    assert summary.bad == []
    assert load_label_file(tmp_path / "out2" / "train_label.pkl")[1] == [1, 1, 0, 1]


# -- persons, frames, normalisation ----------------------------------------------------------------
def test_extra_persons_keep_the_highest_mean_score_else_the_most_motion(tmp_path):
    rng = np.random.default_rng(1)
    layout = custom.load_layout("coco")
    kp = random_clip(rng, 3, 10, 17, 2)
    kp[2] += np.linspace(0, 1, 10)[:, None, None]  # person 2 moves most
    kp[0] += np.linspace(0, 0.3, 10)[:, None, None]
    scores = np.stack([np.full((10, 17), s) for s in (0.5, 0.9, 0.2)])
    with_scores = custom.process_clip(custom.Clip(kp, scores, 0, None), layout, max_person=2)[0]
    np.testing.assert_array_equal(with_scores[:2, :, :, 0], kp[1].transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(with_scores[:2, :, :, 1], kp[0].transpose(2, 0, 1).astype(np.float32))
    no_scores = custom.process_clip(custom.Clip(kp, None, 0, None), layout, max_person=2)[0]
    np.testing.assert_array_equal(no_scores[:, :, :, 0], kp[2].transpose(2, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(no_scores[:, :, :, 1], kp[0].transpose(2, 0, 1).astype(np.float32))


def test_score_zero_joints_are_zeroed(tmp_path):
    rng = np.random.default_rng(2)
    kp, sc = random_clip(rng, 1, 6, 17, 2), np.full((1, 6, 17), 0.8)
    sc[0, 3, 5] = 0
    sample = custom.process_clip(custom.Clip(kp, sc, 0, None), custom.load_layout("coco"))[0]
    assert not sample[:, 3, 5, 0].any() and sample[:2, 3, 4, 0].all()


def test_max_frame_defaults_to_the_95th_percentile_and_names_the_longer_clips(tmp_path):
    rng = np.random.default_rng(4)
    raw = tmp_path / "raw"
    long_kp = random_clip(rng, 1, 350, 17, 2)
    write_clip(raw / "train" / "long.npz", long_kp, 0)
    for i in range(19):
        write_clip(raw / "train" / f"short{i:02d}.npz", random_clip(rng, 1, 40, 17, 2), i % 2)
    summary = custom.gendata(raw, tmp_path / "out", "coco", workers=1, starter=False)
    data = rows(tmp_path / "out", "train")
    # numpy's 95th percentile of 19 x 40 and one 350: 40 + 0.05 * 310 = 55.5 -> 56 frames
    assert custom.default_max_frame([40] * 19 + [350]) == 56
    # one person in every clip: one person slot (M = 1) by default
    assert data["long"].shape == (2, 56, 17, 1) and data["short00"].shape == (2, 56, 17, 1)
    picked = custom.uniform_indices(350, 56)
    np.testing.assert_array_equal(
        data["long"][..., 0], long_kp[0, picked].transpose(2, 0, 1).astype(np.float32)
    )
    assert not data["short00"][:, 40:].any()
    (note,) = [w for w in summary.warnings if w.startswith("max_frame 56")]
    assert "95th percentile of the 20 clip lengths (longest 350)" in note and "1 longer clip(s)" in note
    assert "long (350)" in note and "short" not in note
    # the cap: never more than 300 frames
    assert custom.default_max_frame([350, 400]) == 300


def test_center_uses_the_first_frame_with_a_centre_joint(mocap_layout):
    rng = np.random.default_rng(5)
    kp = random_clip(rng, 2, 8, 15, 3)
    kp[0, 0, 0] = 0  # person 0 has no centre joint (torso) in frame 0
    kp[0, 4, 7] = 0  # a joint missing later
    layout = custom.load_layout(mocap_layout)
    assert layout.center == 0 and layout.num_node == 15
    sample = custom.process_clip(custom.Clip(kp, None, 0, None), layout, normalize="center")[0]
    origin = kp[0, 1, 0]
    np.testing.assert_array_equal(sample[:, 1, 0, 0], 0)
    np.testing.assert_allclose(sample[:, 2, 3, 1], kp[1, 2, 3] - origin, atol=1e-6)  # person 1, same origin
    assert not sample[:, 0, 0, 0].any() and not sample[:, 4, 7, 0].any()  # missing joints stay 0


def test_agcn_matches_pre_normalization_and_recentres_other_layouts(mocap_layout):
    rng = np.random.default_rng(6)
    kp = random_clip(rng, 1, 12, 15, 3)
    layout = custom.load_layout(mocap_layout)
    # zaxis (0, 1): the centre is joint 1, as in data_gen.preprocess, so the result is exactly its own.
    ours = custom.process_clip(
        custom.Clip(kp, None, 0, None), layout, normalize="agcn", zaxis=(0, 1), xaxis=(6, 3)
    )[0]
    reference = normalize_sample(kp.transpose(3, 1, 2, 0)[..., :1].astype(np.float32), (0, 1), (6, 3))
    np.testing.assert_array_equal(ours[..., :1], reference)
    # zaxis (1, 2): centred on the head (joint 2) in every frame; shoulders of frame 0 along +x.
    head = custom.process_clip(
        custom.Clip(kp, None, 0, None), layout, normalize="agcn", zaxis=(1, 2), xaxis=(6, 3)
    )[0]
    assert np.abs(head[:, :, 2, 0]).max() < 1e-6 and np.abs(head[:, :, 1, 0]).min() > 0
    shoulders = head[:, 0, 6, 0] - head[:, 0, 3, 0]
    assert shoulders[0] > 0 and np.abs(shoulders[1:]).max() < 1e-5
    with pytest.raises(ConfigError, match="give --zaxis"):
        custom.process_clip(custom.Clip(kp, None, 0, None), layout, normalize="agcn")
    with pytest.raises(DataError, match="needs 3-D keypoints"):
        custom.process_clip(
            custom.Clip(kp[..., :2], None, 0, None), layout, normalize="agcn", zaxis=(0, 1), xaxis=(6, 3)
        )


def test_view_puts_every_person_in_person_0s_body_frame(mocap_layout):
    rng = np.random.default_rng(7)
    kp = random_clip(rng, 2, 10, 15, 3)
    kp[1, 3, 4] = 0  # a missing joint
    layout = custom.load_layout(mocap_layout)
    args = dict(normalize="view", zaxis=(0, 1), xaxis=(6, 3))
    ours = custom.process_clip(custom.Clip(kp, None, 0, None), layout, **args)[0]  # (3, T, V, M)
    up = (ours[:, :, 1, 0] - ours[:, :, 0, 0]).mean(axis=1)
    side = (ours[:, :, 3, 0] - ours[:, :, 6, 0]).mean(axis=1)
    assert up[1] > 0 and np.abs(up[[0, 2]]).max() < 1e-5 and side[0] < 0 and abs(side[2]) < 1e-5
    np.testing.assert_allclose(ours[:, 0, layout.center, 0], 0, atol=1e-6)
    assert not ours[:, 3, 4, 1].any()
    # One rigid motion for the clip: distances between all joints of both persons are kept.
    flat = ours.transpose(1, 3, 2, 0)  # (T, M, V, 3)
    raw = kp.transpose(1, 0, 2, 3)
    for t in (0, 9):
        d_ours = np.linalg.norm(flat[t].reshape(-1, 1, 3) - flat[t].reshape(1, -1, 3), axis=-1)
        d_raw = np.linalg.norm(raw[t].reshape(-1, 1, 3) - raw[t].reshape(1, -1, 3), axis=-1)
        np.testing.assert_allclose(d_ours, d_raw, atol=1e-5)
    with pytest.raises(DataError, match="needs 3-D keypoints"):
        custom.process_clip(custom.Clip(kp[..., :2], None, 0, None), layout, **args)


# -- per-clip reader (predict.py) ------------------------------------------------------------------
def test_read_clip_reproduces_dataset_rows(tmp_path, mocap_layout):
    clips = make_dataset(tmp_path / "raw", V=15, C=3, fmt=".json", labels=["a", "b", "c", "a", "b", "c"])
    (tmp_path / "raw" / "classes.txt").write_text("c\nb\na\n")
    custom.gendata(
        tmp_path / "raw", tmp_path / "out", mocap_layout, normalize="center", max_person=3, workers=1
    )
    reader, options = load_options(tmp_path / "out")
    assert reader == "data_gen.custom_gendata.read_clip"
    assert options["layout"]["num_node"] == 15 and options["classes"] == ["c", "b", "a"]
    for part in ("train", "val"):
        for name, sample in rows(tmp_path / "out", part).items():
            clip, label = custom.read_clip(clips[name]["path"], **options)
            np.testing.assert_array_equal(clip, sample)
            assert label == ["c", "b", "a"].index(clips[name]["label"])
    clip, label = custom.read_clip(clips["clip_00"]["path"], mocap_layout)  # no classes: the raw name
    assert label == "a" and clip.shape == (3, 5, 15, 2)


# -- bad input ---------------------------------------------------------------------------------------
def bad_cases(root: Path) -> dict[str, str]:
    """Write one bad clip per case into ``root/train``; ``{file name: expected message part}``."""
    rng = np.random.default_rng(7)
    train = root / "train"
    nan = random_clip(rng, 1, 5, 17, 2)
    nan[0, 3, 4, 1] = np.nan
    write_clip(train / "wrong_v.npz", random_clip(rng, 1, 5, 18, 2), "running")
    write_clip(train / "wrong_c.npz", random_clip(rng, 1, 5, 17, 4), "running")
    write_clip(train / "nan.npz", nan, "running")
    write_clip(train / "no_frames.npz", np.zeros((1, 0, 17, 2)), "running")
    write_clip(train / "all_zero.json", np.zeros((1, 4, 17, 2)), "running")
    write_clip(train / "unknown_label.json", random_clip(rng, 1, 5, 17, 2), "jumpin")
    write_clip(train / "no_label.npz", random_clip(rng, 1, 5, 17, 2), None)
    write_clip(train / "bad_scores.npz", random_clip(rng, 1, 5, 17, 2), "running", np.ones((1, 5, 16)))
    (train / "garbage.npz").write_bytes(b"not a zip file")
    (train / "broken.json").write_text('{"keypoints": [[[1, 2]]],\n "label": }')
    return {
        "wrong_v.npz": "keypoints have V=18 joints but layout 'coco' has 17",
        "wrong_c.npz": "keypoints have C=4 values per joint; expected 2 (x, y) or 3 (x, y, z)",
        "nan.npz": "keypoints[0, 3, 4, 1] is nan",
        "no_frames.npz": "empty clip (T = 0 frames)",
        "all_zero.json": "empty clip (every keypoint is 0 in all 4 frames)",
        "unknown_label.json": "unknown label 'jumpin', not in the 2 classes; did you mean 'jumping'?",
        "no_label.npz": "no label; expected a class index or a class name",
        "bad_scores.npz": "scores have shape (1, 5, 16); expected (M, T, V) = (1, 5, 17)",
        "garbage.npz": "not a .npz file (no zip archive; write clips with numpy.savez)",
        "broken.json": ":2: not valid JSON",
    }


def test_each_bad_clip_is_reported_by_name_and_the_rest_written(tmp_path):
    raw = tmp_path / "raw"
    make_dataset(raw, V=17, C=2, by_folder=True, labels=["jumping", "running"] * 3)
    expected = bad_cases(raw)
    (raw / "classes.txt").write_text("jumping\nrunning\n")
    summary = custom.gendata(raw, tmp_path / "out", "coco", workers=2, chunk_size=3)
    assert summary.exit_code() == 0
    assert len(summary.bad) == len(expected)
    for name, part in expected.items():
        (message,) = [m for m in summary.bad if f"/{name}:" in m]
        assert part in message and "\n" not in message
    assert load_label_file(tmp_path / "out" / "train_label.pkl")[0] == [
        "clip_00",
        "clip_01",
        "clip_03",
        "clip_04",
    ]
    assert summary.splits["train"].skipped["bad file"] == len(expected)
    assert summary.splits["val"].written == 2


def test_strict_publishes_nothing(tmp_path):
    raw = tmp_path / "raw"
    make_dataset(raw, V=17, C=2, by_folder=True)
    write_clip(raw / "val" / "nan.json", np.full((1, 2, 17, 2), np.nan), 0)
    summary = custom.gendata(raw, tmp_path / "out", "coco", workers=1, strict=True)
    assert summary.exit_code() == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_scores_when_most_clips_have_them(tmp_path):
    raw = tmp_path / "raw"
    make_dataset(raw, V=17, C=2, scores=True, by_folder=True)
    write_clip(raw / "train" / "bare.npz", random_clip(np.random.default_rng(0), 1, 5, 17, 2), 0)
    summary = custom.gendata(raw, tmp_path / "out", "coco", workers=1)
    assert [m for m in summary.bad if "bare.npz: no 'scores'" in m]
    no_scores = custom.gendata(raw, tmp_path / "out2", "coco", scores=False, workers=1)
    assert no_scores.bad == [] and np.load(tmp_path / "out2" / "train_data_joint.npy").shape[1] == 2


def test_configuration_errors_name_the_file(tmp_path):
    raw = tmp_path / "raw"
    make_dataset(raw, V=17, C=2)
    (raw / "split.json").unlink()
    with pytest.raises(ConfigError, match="no split; put the clips in train/, val/, test/"):
        custom.gendata(raw, tmp_path / "out", "coco", workers=1)
    (raw / "split.csv").write_text("clip_00,train\nclip_01,holdout\n")
    with pytest.raises(ConfigError, match=r"split.csv:2: part 'holdout'"):
        custom.gendata(raw, tmp_path / "out", "coco", workers=1)
    bad_layout = tmp_path / "bad.yaml"
    bad_layout.write_text("num_node: 3\ncenter: 0\nedges: [[1, 0]]\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: layout 'bad': joints \[2\] are not connected"):
        custom.load_layout(bad_layout)
    with pytest.raises(ConfigError, match="unknown layout"):
        custom.load_layout("coco18")


# -- command line ------------------------------------------------------------------------------------
def test_cli_with_a_layout_file(tmp_path, mocap_layout):
    make_dataset(tmp_path / "raw", V=15, C=3, by_folder=True)
    cmd = [
        sys.executable,
        str(ROOT / "data_gen" / "custom_gendata.py"),
        *("--data_path", str(tmp_path / "raw"), "--out_folder", str(tmp_path / "out")),
        *("--layout", str(mocap_layout), "--normalize", "center", "--workers", "1"),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "train: 4 samples written" in proc.stderr and "val: 2 samples written" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "configs", "experiment.yaml", "layout.yaml", "preprocess.json", "train_data_joint.npy", "train_label.pkl",
        "val_data_joint.npy", "val_label.pkl",
    ]  # fmt: skip
    # the starter experiment reruns this command (non-default options only) as its data step
    (step,) = yaml.safe_load((tmp_path / "out" / "experiment.yaml").read_text())["data"]
    assert step["generator"] == "custom_gendata" and step["creates"] == str(
        tmp_path / "out" / "val_label.pkl"
    )
    assert step["args"] == {
        "data_path": str(tmp_path / "raw"), "out_folder": str(tmp_path / "out"), "layout": str(mocap_layout),
        "normalize": "center",
    }  # fmt: skip
    again = subprocess.run(
        [sys.executable, "-m", "data_gen.custom_gendata", *cmd[2:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "already complete" in again.stderr
