"""NTU RGB+D generation: golden equality, parser, bad input, benchmarks, publication, CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, golden

from data_gen import ntu_gendata as ntu
from data_gen.common import OPTIONS_FILE, load_options, run_pool, setup_logging
from data_gen.preprocess import normalize_sample, pre_normalization
from utils.errors import ConfigError, DataError
from utils.io import load_label_file, load_pickle

setup_logging()

PLAIN = "S001C001P001R001A001.skeleton"  # 103 frames, 1 body; xsub train[0], xview val[0]
LONG = "S001C002P003R002A008.skeleton"  # exactly 300 frames; xsub val[0]
TWO = "S002C003P002R001A024.skeleton"  # 2 bodies; xsub train[1], xview train[1]


def run(raw, out, **kwargs):
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("ignored_sample_path", "")
    return ntu.gendata(raw, out, **kwargs)


def outputs(folder: Path) -> list[str]:
    """Every file under ``folder`` (temporary files included) but the preprocess.json records, sorted."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != OPTIONS_FILE
    )


def copy_raw(ntu_raw: Path, dest: Path, *names: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(ntu_raw / "raw" / name, dest / name)
    return dest


def lines_of(ntu_raw: Path, name: str) -> list[bytes]:
    return (ntu_raw / "raw" / name).read_bytes().split(b"\r\n")


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\r\n".join(lines))
    return path


# -- golden equality -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def golden_run(ntu_raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("ntu_out")
    summary = ntu.gendata(
        ntu_raw / "raw", out, ignored_sample_path=ntu_raw / "samples_with_missing_skeletons.txt", workers=2
    )
    return out, summary


@pytest.mark.parametrize("bench", ["xsub", "xview"])
@pytest.mark.parametrize("part", ["train", "val"])
def test_names_and_labels_equal_golden(golden_run, bench, part):
    out, summary = golden_run
    expected = load_pickle(FIXTURES / "ntu_gendata" / f"{bench}_{part}_label.pkl")
    names, labels = load_label_file(out / bench / f"{part}_label.pkl")
    assert (names, labels) == (expected[0], expected[1])
    assert all(type(x) is int for x in load_pickle(out / bench / f"{part}_label.pkl")[1])
    assert summary.exit_code() == 0 and summary.bad == []


@pytest.mark.parametrize("bench", ["xsub", "xview"])
@pytest.mark.parametrize("part", ["train", "val"])
def test_normalized_joints_equal_golden(golden_run, bench, part):
    out, _ = golden_run
    data = np.load(out / bench / f"{part}_data_joint.npy")
    expected = golden(f"ntu_gendata/expected_{bench}.npz")[f"{part}_data_joint"]
    assert data.dtype == np.float32 and data.shape == expected.shape
    np.testing.assert_allclose(data, expected, rtol=0, atol=1e-5)


def test_unnormalized_joints_equal_golden_exactly(ntu_raw, tmp_path):
    summary = run(
        ntu_raw / "raw",
        tmp_path,
        benchmarks=["xsub"],
        parts=["train"],
        normalize=False,
        ignored_sample_path=ntu_raw / "samples_with_missing_skeletons.txt",
    )
    assert summary.exit_code() == 0
    data = np.load(tmp_path / "xsub" / "train_data_joint.npy")
    np.testing.assert_array_equal(
        data, golden("ntu_gendata/expected_xsub.npz")["train_data_joint_unnormalized"]
    )


def test_pre_normalization_batch_and_sample_api():
    gold = golden("ntu_gendata/expected_xsub.npz")
    batch = gold["train_data_joint_unnormalized"].copy()
    result = pre_normalization(batch, progress=False)
    assert result is batch  # in place, like the reference
    np.testing.assert_allclose(batch, gold["train_data_joint"], rtol=0, atol=1e-5)
    one = normalize_sample(gold["train_data_joint_unnormalized"][3])
    np.testing.assert_array_equal(one, batch[3])
    # joint 1 of person 0 is the origin of every frame; the shoulders of frame 0 lie on +x
    assert np.abs(batch[:6, :, :, 1, 0]).max() == 0
    shoulders = batch[0, :, 0, 8, 0] - batch[0, :, 0, 4, 0]
    assert shoulders[0] > 0 and np.abs(shoulders[1:]).max() < 1e-6


# -- parser ----------------------------------------------------------------------------------------
def test_parser_returns_per_body_data(ntu_raw):
    seq = ntu.read_skeleton(ntu_raw / "raw" / "S006C001P012R001A060.skeleton", body_ids=True)
    assert seq.num_frames == 75 and seq.xyz.shape == (150, 25, 3) and seq.xyz.dtype == np.float64
    np.testing.assert_array_equal(seq.frame, np.repeat(np.arange(75), 2))
    np.testing.assert_array_equal(seq.slot, np.tile([0, 1], 75))
    # the listing order swaps at frame 50: slot 0 holds the other bodyID from then on
    first = set(seq.body_id[(seq.slot == 0) & (seq.frame < 50)])
    later = set(seq.body_id[(seq.slot == 0) & (seq.frame >= 50)])
    assert len(first) == len(later) == 1 and first != later
    assert all(len(b) >= 17 for b in first | later)  # exact 17-digit ids, beyond float64 precision
    five = ntu.read_skeleton(ntu_raw / "raw" / "S005C001P011R002A059.skeleton")
    assert five.slot.max() == 4 and set(five.frame[five.slot == 4]) == set(range(30, 60))


def test_all_three_readers_agree_and_whitespace_variants_parse(ntu_raw, tmp_path):
    path = ntu_raw / "raw" / "S004C002P010R002A055.skeleton"
    data = path.read_bytes()
    fast = ntu._parse_fast(data, body_ids=True)
    for seq in (ntu._parse_tokens(data), ntu._parse_lines(path, data, body_ids=True)):
        np.testing.assert_array_equal(seq.xyz, fast.xyz)
        np.testing.assert_array_equal(seq.frame, fast.frame)
        np.testing.assert_array_equal(seq.slot, fast.slot)
    # LF line ends, a blank line, tabs and double spaces: same numbers through the tolerant readers
    odd = data.replace(b"\r\n", b"\n").replace(b" ", b"  ", 50).replace(b"\n25\n", b"\n\n25\t\n", 3)
    seq = ntu.read_skeleton(write_lines(tmp_path / "odd.skeleton", [odd]), body_ids=True)
    np.testing.assert_array_equal(seq.xyz, fast.xyz)
    np.testing.assert_array_equal(seq.body_id, fast.body_id)


def _truncate_mid_line(lines):
    return lines[:136] + [b" ".join(lines[136].split()[:7])]


def _replace_token(line_no, index, token):
    def edit(lines):
        fields = lines[line_no - 1].split()
        fields[index] = token
        return lines[: line_no - 1] + [b" ".join(fields)] + lines[line_no:]

    return edit


BAD_CASES = {
    "truncated": (_truncate_mid_line, r":137: expected 12 numbers per joint line, got 7"),
    "cut at a line end": (lambda lines: lines[:200], r":200: file ends early \(truncated\?\); expected a joint line"),
    "garbled": (_replace_token(41, 4, b"2x6.1"), r":41: cannot read '2x6.1' as a number on a joint line"),
    "nan": (_replace_token(51, 1, b"nan"), r":51: joint coordinate is not finite"),
    "inf": (_replace_token(61, 2, b"-inf"), r":61: joint coordinate is not finite"),
    "joint count": (_replace_token(4, 0, b"24"), r":4: expected 25 joints per body, got 24"),
    "body count": (_replace_token(2, 0, b"-1"), r":2: expected a non-negative integer body count, got '-1'"),
    "body count text": (_replace_token(2, 0, b"two"), r":2: cannot read 'two' as a number"),
    "extra number": (lambda lines: lines[:10] + [lines[10] + b" 7"] + lines[11:], r":11: expected 12 numbers per joint line, got 13"),
    "extra data": (lambda lines: lines + [b"1", b"0"], r":2887: unexpected data after the last of the 103 frames"),
    "frame count": (_replace_token(1, 0, b"1.5"), r":1: expected a non-negative integer frame count"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_file_message_names_file_and_line(ntu_raw, tmp_path, case):
    edit, pattern = BAD_CASES[case]
    path = write_lines(tmp_path / "S001C001P009R001A001.skeleton", edit(lines_of(ntu_raw, PLAIN)))
    with pytest.raises(DataError, match=r"S001C001P009R001A001\.skeleton" + pattern) as info:
        ntu.read_skeleton(path)
    assert "\n" not in str(info.value)


def test_empty_and_unreadable_files(tmp_path):
    (tmp_path / "S001C001P001R001A001.skeleton").write_bytes(b" \r\n")
    with pytest.raises(DataError, match=r"S001C001P001R001A001\.skeleton: file is empty"):
        ntu.read_skeleton(tmp_path / "S001C001P001R001A001.skeleton")
    (tmp_path / "S001C001P001R001A002.skeleton").mkdir()
    with pytest.raises(DataError, match=r"S001C001P001R001A002\.skeleton: cannot read"):
        ntu.read_skeleton(tmp_path / "S001C001P001R001A002.skeleton")


def test_bad_files_are_reported_skipped_and_the_rest_written(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN, LONG, TWO)
    write_lines(raw / "S001C001P002R001A001.skeleton", _truncate_mid_line(lines_of(ntu_raw, PLAIN)))
    (raw / "S001C001P003R001A001.skeleton").write_bytes(b"")
    write_lines(
        raw / "S001C001P004R001A001.skeleton", _replace_token(51, 1, b"nan")(lines_of(ntu_raw, PLAIN))
    )
    write_lines(raw / "S001C001P005R001A001.skeleton", _replace_token(4, 0, b"24")(lines_of(ntu_raw, PLAIN)))
    shutil.copy(raw / PLAIN, raw / "S001C001P001R001A001_copy.skeleton")
    summary = run([raw, tmp_path / "missing"], tmp_path / "out", workers=2)
    assert summary.exit_code() == 0
    text = "\n".join(summary.bad)
    for expected in (
        "missing: data folder not found",
        "S001C001P001R001A001_copy.skeleton: file name does not match SsssCcccPpppRrrrAaaa.skeleton",
        "S001C001P002R001A001.skeleton:137: expected 12 numbers per joint line, got 7",
        "S001C001P003R001A001.skeleton: file is empty",
        "S001C001P004R001A001.skeleton:51: joint coordinate is not finite",
        "S001C001P005R001A001.skeleton:4: expected 25 joints per body, got 24",
    ):
        assert expected in text
    assert len(summary.bad) == 6
    # xsub: subjects 1, 2, 4, 5 train and 3 val; every bad one was dropped from its split
    names, labels = load_label_file(tmp_path / "out" / "xsub" / "train_label.pkl")
    assert names == [PLAIN, TWO] and labels == [0, 23]
    gold = golden("ntu_gendata/expected_xsub.npz")
    np.testing.assert_allclose(
        np.load(tmp_path / "out" / "xsub" / "train_data_joint.npy"), gold["train_data_joint"][:2], atol=1e-5
    )
    assert summary.splits["xsub/train"].skipped["bad file"] == 3
    assert summary.splits["xsub/val"].skipped["bad file"] == 1  # subject 3
    # xview: camera 1 is val; the good PLAIN sample survives the squeeze of the 4 bad rows
    names, _ = load_label_file(tmp_path / "out" / "xview" / "val_label.pkl")
    assert names == [PLAIN]
    np.testing.assert_allclose(
        np.load(tmp_path / "out" / "xview" / "val_data_joint.npy")[0],
        golden("ntu_gendata/expected_xview.npz")["val_data_joint"][0],
        atol=1e-5,
    )
    assert not [p for p in outputs(tmp_path / "out") if ".tmp" in p]


def test_strict_publishes_nothing_and_fails(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN, LONG, TWO)
    (raw / "S001C001P003R001A001.skeleton").write_bytes(b"")
    rc = ntu.main(
        ["--data_path", str(raw), "--out_folder", str(tmp_path / "out"), "--workers", "1", "--strict"]
    )
    assert rc == 1 and outputs(tmp_path / "out") == []
    rc = ntu.main(["--data_path", str(raw), "--out_folder", str(tmp_path / "out"), "--workers", "1"])
    assert rc == 0 and len(outputs(tmp_path / "out")) == 8


def test_exit_code_is_1_when_nothing_usable_is_left(ntu_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "S001C001P003R001A001.skeleton").write_bytes(b"")
    assert run(raw, tmp_path / "out").exit_code() == 1
    assert run(tmp_path / "missing", tmp_path / "out").exit_code() == 1
    assert outputs(tmp_path / "out") == []


def test_frames_beyond_300_are_dropped_with_a_warning(ntu_raw, tmp_path):
    lines = lines_of(ntu_raw, LONG)
    frame = lines[1 : 1 + 28]  # one frame of the 1-body file: count line + 27 lines
    longer = [b"310"] + lines[1:-1] + frame * 10 + [lines[-1]]
    raw = tmp_path / "raw"
    raw.mkdir()
    write_lines(raw / LONG, longer)
    summary = run(raw, tmp_path / "out", benchmarks=["xsub"], parts=["val"])
    assert summary.exit_code() == 0
    assert any(LONG in w and "310 frames, keeping the first 300" in w for w in summary.warnings)
    np.testing.assert_allclose(
        np.load(tmp_path / "out" / "xsub" / "val_data_joint.npy")[0],
        golden("ntu_gendata/expected_xsub.npz")["val_data_joint"][0],
        atol=1e-5,
    )


def test_all_zero_sample_is_kept_zero_with_a_warning(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", "S007C001P017R001A021.skeleton")
    summary = run(raw, tmp_path / "out", benchmarks=["xsub"], parts=["train"])
    assert np.load(tmp_path / "out" / "xsub" / "train_data_joint.npy").any() == np.False_
    assert any("no body in any frame" in w for w in summary.warnings)


# -- benchmarks, ignore lists ------------------------------------------------------------------------
def test_benchmark_membership_rules():
    sid = ntu.SampleId.from_name("S018C002P045R001A061.skeleton")
    assert sid is not None and not sid.is_ntu60 and sid.label == 60
    assert ntu.BENCHMARKS["xsub"].part_of(sid) is None and ntu.BENCHMARKS["xview"].part_of(sid) is None
    assert ntu.BENCHMARKS["xsub120"].part_of(sid) == "train"  # subject 45 trains in NTU120
    assert ntu.BENCHMARKS["xset120"].part_of(sid) == "train"  # even setup
    assert ntu.BENCHMARKS["xset120"].part_of(ntu.SampleId.from_name("S017C001P001R001A001")) == "val"
    assert ntu.BENCHMARKS["xview"].part_of(ntu.SampleId.from_name("S001C001P003R001A001")) == "val"
    assert ntu.BENCHMARKS["xsub"].part_of(ntu.SampleId.from_name("S001C001P003R001A001")) == "val"
    assert len(set(ntu.NTU120_XSUB_TRAIN)) == 53
    assert ntu.SampleId.from_name("S001C001P003R001A001x.skeleton") is None
    with pytest.raises(ConfigError, match="unknown benchmark 'xsub60'; expected one of xsub, xview"):
        ntu.gendata([], "out", benchmarks=["xsub60"])


def test_ntu60_benchmarks_leave_out_ntu120_samples(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN)
    shutil.copy(raw / PLAIN, raw / "S018C002P045R001A061.skeleton")
    summary = run(raw, tmp_path / "out", benchmarks=["xsub", "xsub120", "xset120"])
    assert load_label_file(tmp_path / "out" / "xsub" / "train_label.pkl")[0] == [PLAIN]
    assert load_label_file(tmp_path / "out" / "xsub120" / "train_label.pkl") == (
        [PLAIN, "S018C002P045R001A061.skeleton"],
        [0, 60],
    )
    assert load_label_file(tmp_path / "out" / "xset120" / "train_label.pkl")[0] == [
        "S018C002P045R001A061.skeleton"
    ]
    assert summary.splits["xsub/val"].status == "empty" and summary.exit_code() == 1


def test_ignore_lists(ntu_raw, tmp_path):
    assert len(ntu.read_ignore_list(ntu.NTU60_IGNORE_LIST)) == 302  # official file, 3 header lines
    ids120 = ntu.read_ignore_list(ntu.NTU120_IGNORE_LIST)
    assert len(ids120) == 535 and "S001C002P005R002A008" in ids120
    golden_list = ntu.read_ignore_list(ntu_raw / "samples_with_missing_skeletons.txt")  # no final newline
    assert len(golden_list) == 4 and "S003C002P004R002A019" in golden_list
    with pytest.raises(DataError, match="missing.txt: cannot read the ignore list"):
        ntu.read_ignore_list(tmp_path / "missing.txt")
    (tmp_path / "junk.txt").write_text("hello\nworld\n")
    with pytest.raises(DataError, match="junk.txt: no sample id"):
        ntu.read_ignore_list(tmp_path / "junk.txt")


def test_shipped_ignore_list_is_the_default(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN)
    shutil.copy(raw / PLAIN, raw / "S001C002P005R002A008.skeleton")  # listed in both official lists
    summary = run(raw, tmp_path / "out", benchmarks=["xview", "xset120"], ignored_sample_path=None)
    assert load_label_file(tmp_path / "out" / "xview" / "val_label.pkl")[0] == [PLAIN]
    assert summary.splits["xview/train"].status == "empty"
    assert summary.splits["xview/train"].skipped["in ignore list"] == 1
    assert summary.splits["xset120/val"].skipped["in ignore list"] == 1


# -- publication: skip existing, interruption ---------------------------------------------------------
def test_existing_splits_are_skipped_and_missing_ones_completed(ntu_raw, tmp_path):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN, LONG, TWO)
    out = tmp_path / "out"
    run(raw, out)
    stamps = {p: (out / p).stat().st_mtime_ns for p in outputs(out)}
    (out / "xview" / "val_label.pkl").unlink()  # the npy alone does not make a split complete
    summary = run(raw, out)
    assert {k: s.status for k, s in summary.splits.items()} == {
        "xsub/train": "exists",
        "xsub/val": "exists",
        "xview/train": "exists",
        "xview/val": "written",
    }
    assert summary.exit_code() == 0
    for p, stamp in stamps.items():
        if not p.startswith("xview/val"):
            assert (out / p).stat().st_mtime_ns == stamp
    assert run(raw, out, overwrite=True).splits["xsub/train"].status == "written"


def test_a_crash_mid_run_leaves_no_output_and_a_rerun_completes(ntu_raw, tmp_path, monkeypatch):
    raw = copy_raw(ntu_raw, tmp_path / "raw", PLAIN, LONG, TWO, "S004C001P005R001A043.skeleton")
    calls = []
    real = ntu.read_sample

    def crash_on_third(path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return real(path, **kwargs)

    monkeypatch.setattr(ntu, "read_sample", crash_on_third)
    with pytest.raises(RuntimeError, match="injected failure"):
        run(raw, tmp_path / "out", chunk_size=1)
    assert outputs(tmp_path / "out") == []  # nothing published, no temporary file left
    monkeypatch.setattr(ntu, "read_sample", real)
    assert run(raw, tmp_path / "out").exit_code() == 0
    assert len(outputs(tmp_path / "out")) == 8


def _boom(task):
    raise RuntimeError(f"worker failed on {task}")


def test_worker_exceptions_reach_the_caller():
    with pytest.raises(RuntimeError, match=r"worker failed on [345]"):
        list(run_pool(_boom, [3, 4, 5], workers=2, desc="test"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_cli_leaves_no_partial_output(ntu_raw, tmp_path, sig):
    # 17 files + a named pipe = 3 tasks of 8, so the pool runs; the worker that opens the pipe blocks
    raw = copy_raw(ntu_raw, tmp_path / "raw", *sorted(p.name for p in (ntu_raw / "raw").iterdir()))
    os.mkfifo(raw / "S001C001P002R001A001.skeleton")
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "data_gen" / "ntu_gendata.py"), "--data_path", str(raw)]
    proc = subprocess.Popen([*cmd, "--out_folder", str(out), "--ignored_sample_path", ""], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len([p for p in outputs(out) if p.endswith(".tmp.npy")]) < 4:  # all four splits open
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # let the workers start on their tasks
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"interrupted: unfinished outputs were not published" in err
    assert outputs(out) == []
    (raw / "S001C001P002R001A001.skeleton").unlink()
    done = subprocess.run(
        [*cmd, "--out_folder", str(out), "--ignored_sample_path", ""], cwd=ROOT, capture_output=True
    )
    assert done.returncode == 0 and len(outputs(out)) == 8


# -- command line, synthetic data -----------------------------------------------------------------------
def test_cli_module_run_matches_golden(ntu_raw, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "data_gen.ntu_gendata",
        "--data_path",
        str(ntu_raw / "raw"),
        "--benchmark",
        "xview",
    ]
    cmd += ["--ignored_sample_path", str(ntu_raw / "samples_with_missing_skeletons.txt")]
    proc = subprocess.run([*cmd, "--out_folder", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "xview/train: 9 samples written (skipped: 1 in ignore list)" in proc.stderr
    for part in ("train", "val"):
        expected = load_pickle(FIXTURES / "ntu_gendata" / f"xview_{part}_label.pkl")
        assert load_label_file(tmp_path / "xview" / f"{part}_label.pkl") == (expected[0], expected[1])
        np.testing.assert_allclose(
            np.load(tmp_path / "xview" / f"{part}_data_joint.npy"),
            golden("ntu_gendata/expected_xview.npz")[f"{part}_data_joint"],
            atol=1e-5,
        )


def test_synthetic_recordings_end_to_end(tmp_path):
    synthetic = pytest.importorskip("data_gen.synthetic")
    raw = tmp_path / "raw"
    assert (
        synthetic.main(
            ["--out", str(raw), "--classes", "3", "--subject-ids", "1", "3", "--workers", "0", "--quiet"]
        )
        == 0
    )
    files = sorted(p.name for p in (raw / "nturgb+d_skeletons").glob("*.skeleton"))
    assert len(files) == 18  # 3 classes x 2 subjects x 3 cameras
    argv = [
        "--data_path",
        str(raw / "nturgb+d_skeletons"),
        "--out_folder",
        str(tmp_path / "out"),
        "--workers",
        "2",
    ]
    assert ntu.main([*argv, "--ignored_sample_path", str(raw / "samples_with_missing_skeletons.txt")]) == 0
    for bench, is_train in (("xsub", lambda n: "P001" in n), ("xview", lambda n: "C001" not in n)):
        for part in ("train", "val"):
            names, labels = load_label_file(tmp_path / "out" / bench / f"{part}_label.pkl")
            assert names == [n for n in files if is_train(n) == (part == "train")]
            assert labels == [int(n[17:20]) - 1 for n in names]
            data = np.load(tmp_path / "out" / bench / f"{part}_data_joint.npy")
            assert data.shape == (len(names), 3, 300, 25, 2) and np.isfinite(data).all()
            # pre-normalised: joint 1 of person 0 at the origin, shoulders of frame 0 along +x,
            # spine of frame 0 close to +z, every frame filled (cyclic padding)
            assert np.abs(data[:, :, :, 1, 0]).max() == 0
            shoulders = data[:, :, 0, 8, 0] - data[:, :, 0, 4, 0]
            assert (shoulders[:, 0] > 0).all() and np.abs(shoulders[:, 1:]).max() < 1e-5
            spine = data[:, :, 0, 1, 0] - data[:, :, 0, 0, 0]
            assert (spine[:, 2] / np.linalg.norm(spine, axis=1) > 0.95).all()
            filled = np.abs(data[:, :, :, :, 0]).sum(axis=(1, 3)) > 0  # (N, T); gaps stay empty
            assert filled[:, -1].mean() > 0.5 and filled.mean() > 0.9


def test_preprocess_record_reproduces_a_row(ntu_raw, tmp_path):
    """preprocess.json names the reader and options that turn one raw file into its dataset row."""
    import importlib

    out = tmp_path / "out"
    ntu.gendata(ntu_raw / "raw", out, benchmarks=["xsub"], parts=["val"], workers=1,
                ignored_sample_path=ntu_raw / "samples_with_missing_skeletons.txt")  # fmt: skip
    reader, options = load_options(out / "xsub")
    assert reader == "data_gen.ntu_gendata.read_sample" and options["normalize"] is True
    module, _, name = reader.rpartition(".")
    sample, _ = getattr(importlib.import_module(module), name)(
        ntu_raw / "raw" / "S002C001P006R002A050.skeleton", **options
    )
    names, _ = load_label_file(out / "xsub" / "val_label.pkl")
    row = np.load(out / "xsub" / "val_data_joint.npy")[names.index("S002C001P006R002A050.skeleton")]
    np.testing.assert_array_equal(sample, row)
