"""NW-UCLA generation on six real clips (tests/fixtures/nw_ucla): labels, views, shapes, padding,
normalisation modes, the per-clip reader, bad files, CLI; and the full data set when ../shared is there."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, shared_or_skip

from data_gen import ucla_gendata as ucla
from data_gen.common import load_options, setup_logging
from data_gen.custom_gendata import uniform_indices
from data_gen.preprocess import normalize_sample
from utils.errors import ConfigError, DataError
from utils.io import load_label_file

setup_logging()

RAW = FIXTURES / "nw_ucla" / "all_sqe"
TRAIN = ["a02_s09_e04_v02", "a04_s01_e01_v01", "a06_s01_e02_v02", "a11_s02_e01_v01"]  # views 1, 2
VAL = ["a02_s09_e04_v03", "a12_s03_e01_v03"]  # view 3
LONGEST = 84  # a04_s01_e01_v01


def raw_xyz(name: str) -> np.ndarray:
    """(T, 20, 3) float64 straight from the fixture JSON."""
    return np.asarray(json.loads((RAW / f"{name}.json").read_text())["skeletons"], dtype=np.float64)


def row(out: Path, part: str, name: str) -> np.ndarray:
    names, _ = load_label_file(out / f"{part}_label.pkl")
    return np.load(out / f"{part}_data_joint.npy")[names.index(name)]


@pytest.fixture(scope="module")
def standard(tmp_path_factory):
    """The default run (views 1 2 / 3, center, zero padding) on the fixture folder above all_sqe."""
    out = tmp_path_factory.mktemp("ucla_out")
    return out, ucla.gendata(RAW.parent, out, workers=1)


def test_split_by_view_labels_and_shapes(standard):
    out, summary = standard
    assert summary.exit_code() == 0 and summary.bad == []
    for part, names, labels in (("train", TRAIN, [1, 3, 5, 8]), ("val", VAL, [1, 9])):
        assert load_label_file(out / f"{part}_label.pkl") == (names, labels)
        data = np.load(out / f"{part}_data_joint.npy")
        assert data.dtype == np.float32 and data.shape == (len(names), 3, LONGEST, 20, 1)
    assert load_options(out) == (
        "data_gen.ucla_gendata.read_clip",
        {"max_frame": LONGEST, "normalize": "center", "pad": "zero"},
    )


def test_label_mapping_skips_a07_and_a10():
    assert [ucla.ClipId.from_name(f"a{a:02d}_s01_e00_v01").label for a in range(1, 13)] == [
        0, 1, 2, 3, 4, 5, None, 6, 7, None, 8, 9,
    ]  # fmt: skip
    assert ucla.ClipId.from_name("a12_s06_e04_v03.json") == ucla.ClipId(12, 6, 4, 3)
    assert ucla.ClipId.from_name("a12_s06_v03") is None


def test_center_puts_first_spine_at_origin_and_pads_with_zeros(standard):
    out, _ = standard
    name = "a11_s02_e01_v01"
    xyz = raw_xyz(name)
    sample = row(out, "train", name)  # (3, 84, 20, 1)
    T = len(xyz)
    np.testing.assert_array_equal(sample[:, 0, ucla.SPINE, 0], 0)
    np.testing.assert_allclose(sample[:, :T, :, 0].transpose(1, 2, 0), xyz - xyz[0, 1], atol=1e-6)
    assert T < LONGEST and not sample[:, T:].any()


def test_untracked_joints_stay_zero(standard):
    out, summary = standard
    name = "a04_s01_e01_v01"  # frame 34: six joints are exactly (0, 0, 0) in the raw data
    xyz = raw_xyz(name)
    gone = np.flatnonzero(~xyz[34].any(axis=-1))
    assert gone.tolist() == [0, 1, 2, 4, 12, 16]
    sample = row(out, "train", name)
    assert not sample[:, 34, gone].any() and sample[:, 34, 3].all()
    assert any(name in w and "(0, 0, 0)" in w for w in summary.warnings)


def test_one_frame_clips_are_kept_with_a_warning(standard):
    out, summary = standard
    for part, name in (("train", "a02_s09_e04_v02"), ("val", "a02_s09_e04_v03")):
        sample = row(out, part, name)
        assert sample[:, 0].any() and not sample[:, 1:].any()
        assert any(name in w and "only 1 frame" in w for w in summary.warnings)


def test_normalize_none_keeps_camera_coordinates(tmp_path):
    summary = ucla.gendata(RAW, tmp_path, normalize="none", workers=1)
    assert summary.exit_code() == 0
    name = "a06_s01_e02_v02"
    xyz = raw_xyz(name)
    np.testing.assert_array_equal(
        row(tmp_path, "train", name)[:, : len(xyz), :, 0].transpose(1, 2, 0), xyz.astype(np.float32)
    )


def test_agcn_with_repeat_padding_is_2s_agcn_pre_normalization():
    """agcn + repeat equals 2s-AGCN's pipeline: zero-filled clip through pre_normalization (Kinect v1 axes)."""
    path, xyz = RAW / "a04_s01_e01_v01.json", raw_xyz("a04_s01_e01_v01")
    ours = ucla.read_clip(path, max_frame=100, normalize="agcn", pad="repeat")
    reference = np.zeros((3, 100, 20, 1), dtype=np.float32)
    reference[:, : len(xyz), :, 0] = xyz.transpose(2, 0, 1)
    reference = normalize_sample(reference, zaxis=(0, 1), xaxis=(8, 4))
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    # Defining properties: spine at the origin in every frame, shoulders of frame 0 along +x.
    ok = xyz[:, 1].any(axis=-1)  # frame 34 lost the spine joint: it stays 0 there anyway
    assert np.abs(ours[:, : len(xyz), 1, 0][:, ok]).max() < 1e-6
    shoulders = ours[:, 0, 8, 0] - ours[:, 0, 4, 0]
    assert shoulders[0] > 0 and np.abs(shoulders[1:]).max() < 1e-5
    # Zero padding leaves the same clip, followed by zeros.
    zero = ucla.read_clip(path, max_frame=100, normalize="agcn", pad="zero")
    np.testing.assert_array_equal(zero[:, : len(xyz)], ours[:, : len(xyz)])
    assert not zero[:, len(xyz) :].any()


def test_view_normalization_is_a_body_frame_independent_of_the_camera(tmp_path):
    """view: spine of frame 0 at the origin, mean hip->shoulder-centre axis = +y, mean right->left
    axis = -x; a rigidly moved camera (rotation + translation of the raw clip) gives the same tensor."""
    name = "a04_s01_e01_v01"
    xyz = raw_xyz(name)
    ours = ucla.read_clip(RAW / f"{name}.json", normalize="view")[..., 0].transpose(1, 2, 0)  # (T, V, 3)
    present = xyz.any(axis=-1)
    assert not ours[~present].any()  # untracked joints stay 0
    np.testing.assert_allclose(ours[0, ucla.SPINE], 0, atol=1e-6)
    both = present[:, 0] & present[:, 2]
    up = (ours[both, 2] - ours[both, 0]).mean(axis=0)
    assert up[1] > 0 and np.abs(up[[0, 2]]).max() < 1e-5 * np.linalg.norm(up)
    side = sum(
        (ours[present[:, a] & present[:, b], b] - ours[present[:, a] & present[:, b], a]).mean(axis=0)
        for a, b in ucla.VIEW_SIDES
    )
    assert side[0] < 0 and abs(side[2]) < 1e-5 * np.linalg.norm(side)
    # Another camera: rotate about a tilted axis by 70 degrees and shift; the tensor does not change.
    axis = np.array([0.2, 1.0, -0.3]) / np.linalg.norm([0.2, 1.0, -0.3])
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    R = np.eye(3) + np.sin(1.22) * k + (1 - np.cos(1.22)) * k @ k
    moved = np.where(present[..., None], xyz @ R.T + [0.5, -0.2, 2.0], 0.0)
    folder = tmp_path / "all_sqe"
    folder.mkdir()
    clip = json.loads((RAW / f"{name}.json").read_text())
    clip["skeletons"] = moved.tolist()
    (folder / f"{name}.json").write_text(json.dumps(clip))
    again = ucla.read_clip(folder / f"{name}.json", normalize="view")[..., 0].transpose(1, 2, 0)
    np.testing.assert_allclose(again, ours, atol=2e-5)
    # Differs from plain centring: the raw clip was not already in its body frame.
    assert np.abs(ours - ucla.read_clip(RAW / f"{name}.json")[..., 0].transpose(1, 2, 0)).max() > 0.01


def test_repeat_padding_tiles_the_clip():
    path, xyz = RAW / "a06_s01_e02_v02.json", raw_xyz("a06_s01_e02_v02")
    T = len(xyz)  # 11
    sample = ucla.read_clip(path, max_frame=30, normalize="none", pad="repeat")
    np.testing.assert_array_equal(sample[:, T : 2 * T], sample[:, :T])
    np.testing.assert_array_equal(sample[:, 2 * T :], sample[:, : 30 - 2 * T])


def test_long_clips_are_downsampled_uniformly(tmp_path):
    summary = ucla.gendata(RAW, tmp_path, max_frame=20, normalize="none", workers=1)
    assert summary.exit_code() == 0
    xyz = raw_xyz("a04_s01_e01_v01")  # 84 frames
    sample = row(tmp_path, "train", "a04_s01_e01_v01")
    assert sample.shape == (3, 20, 20, 1)
    picked = uniform_indices(84, 20)
    assert picked[0] == 0 and picked[-1] == 83 and len(set(picked.tolist())) == 20
    np.testing.assert_array_equal(sample[..., 0].transpose(1, 2, 0), xyz[picked].astype(np.float32))
    assert any("84 frames, uniformly downsampled to 20" in w for w in summary.warnings)


def test_read_clip_reproduces_a_dataset_row(standard):
    out, _ = standard
    reader, options = load_options(out)
    assert reader == "data_gen.ucla_gendata.read_clip"
    for part, names in (("train", TRAIN), ("val", VAL)):
        for name in names:
            np.testing.assert_array_equal(
                ucla.read_clip(RAW / f"{name}.json", **options), row(out, part, name)
            )
    own = ucla.read_clip(RAW / "a11_s02_e01_v01.json")  # max_frame None: the clip's own length
    assert own.shape == (3, 8, 20, 1) and own.dtype == np.float32


def test_custom_protocol_and_reference_list_check(tmp_path):
    summary = ucla.gendata(RAW, tmp_path, train_views=[1], test_views=[2], workers=1)
    assert load_label_file(tmp_path / "val_label.pkl")[0] == ["a02_s09_e04_v02", "a06_s01_e02_v02"]
    assert summary.skipped["files of views outside the protocol"] == 2
    with pytest.raises(ConfigError, match="must not overlap"):
        ucla.gendata(RAW, tmp_path / "x", train_views=[1, 2], test_views=[2])


def test_val_split_is_checked_against_val_label_pkl(tmp_path):
    data = Path(shutil.copytree(RAW.parent, tmp_path / "nw-ucla"))
    entries = [
        {"file_name": "a02_s09_e04_v03", "length": 1, "label": 2},
        {"file_name": "a12_s03_e01_v03", "length": 11, "label": 7},  # wrong label
        {"file_name": "a01_s01_e00_v03", "length": 5, "label": 1},  # not in the data
    ]
    (data / "val_label.pkl").write_bytes(pickle.dumps(entries))
    summary = ucla.gendata(data / "all_sqe", tmp_path / "out", workers=1)
    checks = [w for w in summary.warnings if "val_label.pkl" in w]
    assert len(checks) == 2
    assert "1 listed sequence(s) not in the val split, e.g. a01_s01_e00_v03" in checks[0]
    assert "a12_s03_e01_v03 has label 7 and length 11 in the list, 10 and 11 in the data" in checks[1]
    assert summary.exit_code() == 0  # a warning, not an error


def test_output_folder_holding_the_original_val_label_is_refused(tmp_path):
    data = Path(shutil.copytree(RAW.parent, tmp_path / "nw-ucla"))
    original = (data / "val_label.pkl").read_bytes()
    with pytest.raises(ConfigError, match="original list of test sequences"):
        ucla.gendata(data / "all_sqe", data, workers=1)
    assert (data / "val_label.pkl").read_bytes() == original
    assert not (data / "train_data_joint.npy").exists()


BAD_FILES = {
    "a01_s01_e00_v01.json": (
        '{"file_name": "a01_s01_e00_v01", "skeletons": [[[0.1, 0.2',
        ":1: not valid JSON",
    ),
    "a03_s01_e00_v01.json": (
        json.dumps({"skeletons": [[[0.0, 1.0, float("nan")]] * 20]}),
        "skeletons[0][0][2] is nan",
    ),
    "a05_s01_e00_v02.json": (
        json.dumps({"skeletons": [[[0.1, 0.2, 2.0]] * 19]}),
        "has 19 joints; expected 20",
    ),
    "a08_s01_e00_v01.json": (json.dumps({"skeletons": []}), "empty clip (no frames in 'skeletons')"),
    "a08_s02_e00_v02.json": (
        json.dumps({"skeletons": [[[0, 0, 0]] * 20] * 3}),
        "empty clip (every joint is (0, 0, 0) in all 3",
    ),
    "a09_s01_e00_v02.json": (json.dumps([1, 2]), "expected an object with a 'skeletons' list"),
    "a07_s01_e00_v01.json": (json.dumps({"skeletons": [[[0.1, 0.2, 2.0]] * 20]}), "action a07 is not one of"),
    "clip_v01.json": (json.dumps({"skeletons": [[[0.1, 0.2, 2.0]] * 20]}), "does not match aAA_sSS_eEE_vVV"),
}


@pytest.fixture
def with_bad_files(tmp_path):
    data = Path(shutil.copytree(RAW, tmp_path / "all_sqe"))
    for name, (text, _) in BAD_FILES.items():
        (data / name).write_text(text)
    return data


def test_bad_files_are_reported_by_name_and_skipped(with_bad_files, tmp_path):
    summary = ucla.gendata(with_bad_files, tmp_path / "out", workers=2, chunk_size=2)
    assert summary.exit_code() == 0
    assert len(summary.bad) == len(BAD_FILES)
    for name, (_, expected) in BAD_FILES.items():
        (message,) = [m for m in summary.bad if f"/{name}" in m]
        assert expected in message and "\n" not in message
    assert load_label_file(tmp_path / "out" / "train_label.pkl")[0] == TRAIN
    assert load_label_file(tmp_path / "out" / "val_label.pkl")[0] == VAL
    assert summary.splits["train"].skipped["bad file"] == 6 and summary.splits["train"].written == 4
    with pytest.raises(DataError, match="a03_s01_e00_v01.json: skeletons"):
        ucla.read_clip(with_bad_files / "a03_s01_e00_v01.json")


def test_strict_publishes_nothing(with_bad_files, tmp_path):
    summary = ucla.gendata(with_bad_files, tmp_path / "out", workers=1, strict=True)
    assert summary.exit_code() == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_runs_as_file_and_module_and_keeps_existing_outputs(tmp_path):
    out = tmp_path / "out"
    args = ["--data_path", str(RAW), "--out_folder", str(out), "--workers", "1"]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "data_gen" / "ucla_gendata.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "train: 4 samples written" in proc.stderr and "val: 2 samples written" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "preprocess.json", "train_data_joint.npy", "train_label.pkl", "val_data_joint.npy", "val_label.pkl",
    ]  # fmt: skip
    stamp = (out / "train_data_joint.npy").stat().st_mtime_ns
    again = subprocess.run(
        [sys.executable, "-m", "data_gen.ucla_gendata", *args], cwd=ROOT, capture_output=True, text=True
    )
    assert again.returncode == 0 and "already complete" in again.stderr
    assert (out / "train_data_joint.npy").stat().st_mtime_ns == stamp
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_gen.ucla_gendata",
            "--data_path",
            str(tmp_path / "nope"),
            "--out_folder",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and missing.stderr.strip().splitlines()[-1].endswith(
        "nope: data folder not found (expected NW-UCLA's all_sqe/ of .json sequences)"
    )


@pytest.mark.shared
@pytest.mark.slow
def test_full_nw_ucla_cross_view(tmp_path):
    """The real 1,484 sequences: 1,020 train / 464 val, val names = val_label.pkl, no bad file."""
    data = shared_or_skip("data/nw-ucla")
    summary = ucla.gendata(data, tmp_path, workers=2)
    assert summary.exit_code() == 0 and summary.bad == []
    train, val = (load_label_file(tmp_path / f"{p}_label.pkl") for p in ("train", "val"))
    assert len(train[0]) == 1020 and len(val[0]) == 464
    reference = ucla.read_reference_list(data / "val_label.pkl")
    assert sorted(reference) == val[0] and [reference[n][0] for n in val[0]] == val[1]
    assert np.bincount(train[1] + val[1]).tolist() == [150, 152, 141, 173, 148, 149, 142, 142, 145, 142]
    assert np.load(tmp_path / "train_data_joint.npy", mmap_mode="r").shape == (1020, 3, 201, 20, 1)
    assert sorted(w.split(": ", 1)[1] for w in summary.warnings) == [
        "6 joints in 1 frame(s) are exactly (0, 0, 0) (not tracked); they stay 0",
        "6 joints in 1 frame(s) are exactly (0, 0, 0) (not tracked); they stay 0",
        "only 1 frame (its motion streams are zero)",
        "only 1 frame (its motion streams are zero)",
    ]
