"""Kinetics-skeleton generation: golden equality, reference quirks, bad input, publication, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, golden

from data_gen import kinetics_gendata as kin
from data_gen.common import OPTIONS_FILE, setup_logging
from utils.errors import DataError
from utils.io import load_label_file, load_pickle

setup_logging()


def outputs(folder: Path) -> list[str]:
    """Every file under ``folder`` but the preprocess.json record, sorted."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != OPTIONS_FILE
    )


@pytest.fixture
def raw_copy(kinetics_raw, tmp_path):
    """A writable copy of the golden raw folder (kinetics_{val,train}/ and the label files)."""
    return Path(shutil.copytree(kinetics_raw / "raw", tmp_path / "raw"))


def edit_video(path: Path, change) -> None:
    video = json.loads(path.read_text())
    change(video)
    path.write_text(json.dumps(video))


@pytest.fixture(scope="module")
def golden_run(kinetics_raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("kinetics_out")
    return out, kin.gendata(kinetics_raw / "raw", out, workers=2)


@pytest.mark.parametrize("part", ["val", "train"])
def test_golden_equality(golden_run, part):
    out, summary = golden_run
    assert summary.exit_code() == 0 and summary.bad == []
    expected = load_pickle(FIXTURES / "kinetics_gendata" / f"{part}_label.pkl")
    assert load_label_file(out / f"{part}_label.pkl") == (expected[0], expected[1])
    data = np.load(out / f"{part}_data_joint.npy")
    gold = golden("kinetics_gendata/expected.npz")[f"{part}_data_joint"]
    assert data.dtype == np.float32 and data.shape == gold.shape
    np.testing.assert_allclose(data, gold, rtol=0, atol=1e-6)
    # -0.0 where y was exactly 0.5 with a non-zero score (29 in val, 115 in train), as the reference
    np.testing.assert_array_equal(np.signbit(data), np.signbit(gold))
    assert int(((data == 0) & np.signbit(data))[:, 1].sum()) == {"val": 29, "train": 115}[part]


def test_has_skeleton_false_is_skipped_not_an_error(golden_run):
    _, summary = golden_run
    assert summary.splits["val"].skipped["has_skeleton false"] == 1
    assert summary.splits["val"].written == 3 and summary.splits["train"].written == 5


def test_reference_quirks_on_one_video(kinetics_raw):
    data, notes = kin.read_video(
        kinetics_raw / "raw" / "kinetics_train" / "Kp2Vn8Rz4Lc.json", label_index=None
    )
    assert notes == [] and data.shape == (3, 300, 18, 2)
    assert not data[:, 0].any()  # frame_index is 1-based in this file: row 0 stays empty
    video = json.loads((kinetics_raw / "raw" / "kinetics_train" / "Kp2Vn8Rz4Lc.json").read_text())
    first = video["data"][0]
    best = max(first["skeleton"], key=lambda p: sum(p["score"]))  # listed second, ranked first
    assert best is first["skeleton"][1]
    np.testing.assert_allclose(
        data[0, first["frame_index"], :, 0], np.array(best["pose"][0::2]) - 0.5, atol=1e-6
    )


def test_frames_beyond_300_are_dropped_with_a_warning(raw_copy, tmp_path):
    path = raw_copy / "kinetics_train" / "zW4eR7tY1uI.json"
    original, _ = kin.read_video(path)

    def add_late_frames(video):
        late = json.loads(json.dumps(video["data"][5:9]))
        for i, frame in enumerate(late):
            frame["frame_index"] = 300 + 2 * i
        video["data"].extend(late)

    edit_video(path, add_late_frames)
    summary = kin.gendata(raw_copy, tmp_path / "out", parts=["train"], workers=1)
    assert summary.exit_code() == 0
    assert any(
        "zW4eR7tY1uI.json: 4 person entries at frame_index >= 300 (up to 306) dropped" in w
        for w in summary.warnings
    )
    names, _ = load_label_file(tmp_path / "out" / "train_label.pkl")
    np.testing.assert_array_equal(
        np.load(tmp_path / "out" / "train_data_joint.npy")[names.index(path.name)], original
    )


BAD_VIDEOS = {
    "label mismatch": (
        lambda v: v.update(label_index=7),
        r": label_index 7 differs from 0 in the label file",
    ),
    "pose length": (
        lambda v: v["data"][12]["skeleton"][1]["pose"].pop(),
        r": data\[12\]\.skeleton\[1\] \(frame_index 13\): pose must list 36 numbers, got 35",
    ),
    "nan": (
        lambda v: v["data"][11]["skeleton"][0]["score"].__setitem__(4, float("nan")),
        r": data\[11\]\.skeleton\[0\]\.score\[4\] \(frame_index 12\): expected a finite number, got nan",
    ),
    "text value": (
        lambda v: v["data"][10]["skeleton"][0]["pose"].__setitem__(0, "x"),
        r": data\[10\]\.skeleton\[0\]\.pose\[0\] \(frame_index 11\): expected a finite number, got 'x'",
    ),
    "negative frame": (
        lambda v: v["data"][1].update(frame_index=-1),
        r": data\[1\]: frame_index must be a non-negative integer, got -1",
    ),
    "no data": (lambda v: v.pop("data"), r": expected an object with a 'data' list of frames"),
}


@pytest.mark.parametrize("case", list(BAD_VIDEOS))
def test_bad_video_is_reported_by_name_and_place(raw_copy, case):
    change, pattern = BAD_VIDEOS[case]
    path = raw_copy / "kinetics_train" / "-x3LmQ8sTz0.json"  # label_index 0
    edit_video(path, change)
    with pytest.raises(DataError, match=r"-x3LmQ8sTz0\.json" + pattern):
        kin.read_video(path, label_index=0)


def test_garbled_and_empty_json_name_the_line(raw_copy):
    path = raw_copy / "kinetics_val" / "aR9vK2mPq7w.json"
    path.write_text('{"data": [\n{"frame_index": 0,\n "skeleton": [}\n]}')
    with pytest.raises(DataError, match=r"aR9vK2mPq7w\.json:3: not valid JSON"):
        kin.read_video(path)
    path.write_text("")
    with pytest.raises(DataError, match=r"aR9vK2mPq7w\.json: file is empty"):
        kin.read_video(path)


def test_bad_videos_are_skipped_and_the_rest_written(raw_copy, tmp_path, golden_run):
    edit_video(raw_copy / "kinetics_train" / "5hGt1Wq9YbE.json", lambda v: v.update(label_index=3))
    shutil.copy(
        raw_copy / "kinetics_train" / "Kp2Vn8Rz4Lc.json", raw_copy / "kinetics_train" / "unlisted0000.json"
    )
    (raw_copy / "kinetics_train" / "_a8Jd3Nf6Hq.json").write_text("{")
    summary = kin.gendata(raw_copy, tmp_path / "out", workers=2)
    assert summary.exit_code() == 0
    text = "\n".join(summary.bad)
    assert "5hGt1Wq9YbE.json: label_index 3 differs from" in text
    assert "unlisted0000.json: no entry 'unlisted0000' in kinetics_train_label.json; skipped" in text
    assert "_a8Jd3Nf6Hq.json:1: not valid JSON" in text and len(summary.bad) == 3
    names, labels = load_label_file(tmp_path / "out" / "train_label.pkl")
    gold_names, gold_labels = load_label_file(golden_run[0] / "train_label.pkl")
    keep = [i for i, n in enumerate(gold_names) if n not in ("5hGt1Wq9YbE.json", "_a8Jd3Nf6Hq.json")]
    assert names == [gold_names[i] for i in keep] and labels == [gold_labels[i] for i in keep]
    np.testing.assert_array_equal(
        np.load(tmp_path / "out" / "train_data_joint.npy"),
        np.load(golden_run[0] / "train_data_joint.npy")[keep],
    )
    assert outputs(tmp_path / "out") == sorted(
        f"{p}_{k}" for p in ("train", "val") for k in ("data_joint.npy", "label.pkl")
    )
    # --strict: the same input publishes nothing and fails
    strict = kin.gendata(raw_copy, tmp_path / "strict", workers=1, strict=True)
    assert (
        strict.exit_code() == 1 and not (tmp_path / "strict").exists() or outputs(tmp_path / "strict") == []
    )


def test_missing_folder_or_label_file(raw_copy, tmp_path):
    shutil.rmtree(raw_copy / "kinetics_val")
    (raw_copy / "kinetics_train_label.json").unlink()
    summary = kin.gendata(raw_copy, tmp_path / "out", workers=1)
    assert summary.exit_code() == 1
    text = "\n".join(summary.bad)
    assert "kinetics_val: data folder not found" in text
    assert "kinetics_train_label.json: cannot read the label file" in text


def test_existing_parts_are_skipped(raw_copy, tmp_path):
    out = tmp_path / "out"
    kin.gendata(raw_copy, out, workers=1)
    stamp = (out / "val_data_joint.npy").stat().st_mtime_ns
    (out / "train_data_joint.npy").unlink()
    summary = kin.gendata(raw_copy, out, workers=1)
    assert summary.splits["val"].status == "exists" and summary.splits["train"].status == "written"
    assert (out / "val_data_joint.npy").stat().st_mtime_ns == stamp


def test_cli_run(kinetics_raw, tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "data_gen" / "kinetics_gendata.py"),
        "--data_path",
        str(kinetics_raw / "raw"),
    ]
    proc = subprocess.run(
        [*cmd, "--out_folder", str(tmp_path), "--part", "val"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "val: 3 samples written (skipped: 1 has_skeleton false)" in proc.stderr
    assert outputs(tmp_path) == ["val_data_joint.npy", "val_label.pkl"]
    np.testing.assert_array_equal(
        np.load(tmp_path / "val_data_joint.npy"), golden("kinetics_gendata/expected.npz")["val_data_joint"]
    )


def test_synthetic_kinetics_end_to_end(tmp_path):
    synthetic = pytest.importorskip("data_gen.synthetic")
    raw = tmp_path / "raw"
    argv = ["--out", str(raw), "--format", "kinetics", "--classes", "2", "--subject-ids", "1", "3"]
    assert synthetic.main([*argv, "--cameras", "2", "--workers", "0", "--quiet"]) == 0
    summary = kin.gendata(raw, tmp_path / "out", workers=1)
    assert summary.exit_code() == 0 and summary.bad == []
    for part in ("train", "val"):
        labels_json = json.loads((raw / f"kinetics_{part}_label.json").read_text())
        names, labels = load_label_file(tmp_path / "out" / f"{part}_label.pkl")
        assert names == sorted(f"{k}.json" for k in labels_json)
        assert labels == [labels_json[n[:-5]]["label_index"] for n in names]
        data = np.load(tmp_path / "out" / f"{part}_data_joint.npy")
        assert data.shape == (len(names), 3, 300, 18, 2) and data[:, 2].max() <= 1
        assert np.abs(data[:, :2]).max() <= 0.5 and data[:, 2, :, :, 0].any()
