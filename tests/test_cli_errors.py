"""Expected failures end with one ``error:`` line and exit code 2, lose nothing, and never block the next run."""

from __future__ import annotations

import errno
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from test_engine import SHAPE, tiny_config

import main
import predict
from engine.config import parse_config
from engine.run import run
from engine.workdir import RunLock
from utils.errors import TrainingError


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    return errors[0]


@pytest.mark.parametrize(
    "assignment, expected",
    [
        (
            "train_feeder_args.window_size=abc",
            "train_feeder_args.window_size: expected an integer, got 'abc'",
        ),
        ("base_lr=[unclosed", "--set base_lr: not a valid YAML value"),
        ("base_lr=!!python/object/apply:os.system [touch pwned]", "could not determine a constructor"),
        ("model_args.num_class=ten", "model_args.num_class: expected an integer, got 'ten'"),
    ],
)
def test_bad_command_line_values(tmp_path, tiny_data, capsys, assignment, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1)
    assert main.main([*argv, "--set", assignment]) == 2
    assert expected in one_error_line(capsys)
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "work_dir" / "run" / "checkpoint.pt").exists()


def test_binary_file_as_config(tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, path)
    assert main.main(["--config", str(path)]) == 2
    assert f"{path}: not a YAML config" in one_error_line(capsys)


def test_empty_and_wrong_data_files(tmp_path, tiny_data, capsys):
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1, train_feeder_args={"data_path": str(empty)})
    assert main.main(argv) == 2
    assert f"{empty}: the data file is empty (0 bytes)" in one_error_line(capsys)
    ints = tmp_path / "ints.npy"
    np.save(ints, np.zeros((16, *SHAPE), dtype=np.int64))
    argv = tiny_config(tmp_path, tiny_data, name="b", num_epoch=1, train_feeder_args={"data_path": str(ints)})
    assert main.main(argv) == 2
    assert "holds int64 values; expected floating-point" in one_error_line(capsys)


def test_float64_data_is_accepted_and_trains_like_float32(tmp_path, tiny_data):
    f64 = tmp_path / "train_data_joint.npy"
    np.save(f64, np.load(tiny_data / "train_data_joint.npy").astype(np.float64))
    a = run(parse_config(tiny_config(tmp_path, tiny_data, name="f32", num_epoch=1)))
    b = run(
        parse_config(
            tiny_config(
                tmp_path, tiny_data, name="f64", num_epoch=1, train_feeder_args={"data_path": str(f64)}
            )
        )
    )
    assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)


@pytest.mark.parametrize("content", ["empty", "list"])
def test_bad_weight_files_in_main_and_predict(tmp_path, tiny_data, capsys, content):
    weights = tmp_path / f"{content}.pt"
    if content == "empty":
        weights.write_bytes(b"")
        expected = f"{weights}: the weights file is empty (0 bytes)"
    else:
        torch.save([1, 2, 3], weights)
        expected = f"{weights}: expected a state_dict (a mapping of names to tensors), got list"
    argv = tiny_config(tmp_path, tiny_data, name="t", phase="test", weights=str(weights))
    assert main.main(argv) == 2
    assert expected in one_error_line(capsys)
    assert predict.main(["--config", argv[1], "--input", str(tmp_path / "x.npy")]) == 2
    assert expected in one_error_line(capsys)


def test_predict_errors_name_the_input(tmp_path, tiny_data, capsys):
    run(parse_config(tiny_config(tmp_path, tiny_data, name="p", num_epoch=1)))
    weights = tmp_path / "runs" / "p-0-4.pt"
    cfg = tiny_config(tmp_path, tiny_data, name="pt", phase="test", weights=str(weights))[1]
    bad = tmp_path / "clip.npy"
    np.save(bad, np.zeros((3, 12, 18, 2), dtype=np.float32))  # 18 joints for a 25-joint model
    assert predict.main(["--config", cfg, "--input", str(bad)]) == 2
    line = one_error_line(capsys)
    assert str(bad) in line and "num_point is 25" in line
    out = tmp_path / "a_file"
    out.write_text("")
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((3, 12, 25, 2), dtype=np.float32))
    assert predict.main(["--config", cfg, "--input", str(good), "--json", str(out / "p.json")]) == 2
    assert "--json: cannot create" in one_error_line(capsys)


def test_resume_from_a_checkpoint_of_another_width_is_one_line(tmp_path, tiny_data, capsys):
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1)
    assert main.main(argv) == 0
    capsys.readouterr()
    assert main.main([*argv, "--num-epoch", "2", "--resume", "--set", "model_args.base_channel=4"]) == 2
    line = one_error_line(capsys)
    assert "--resume:" in line and "shape mismatches" in line and len(line) < 700


def test_unwritable_work_dir(tmp_path, tiny_data, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1, work_dir=str(blocker / "run"))
    assert main.main(argv) == 2
    assert f"work_dir: cannot create {blocker / 'run'}: {blocker} is a file" in one_error_line(capsys)


def test_full_disk_at_a_checkpoint_keeps_the_previous_one(tmp_path, tiny_data, monkeypatch):
    argv = tiny_config(tmp_path, tiny_data, num_epoch=2, save_interval=5)
    work = tmp_path / "work_dir" / "run"
    real_save = torch.save
    calls = {"n": 0}

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == 2:  # the second epoch's checkpoint
            calls["n"] += 1
            with open(f, "wb") as out:
                out.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device", str(f))
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(
        TrainingError, match=r"cannot write the checkpoint .*checkpoint.pt \(No space left on device\)"
    ):
        run(parse_config(argv))
    assert calls["n"] == 1
    state = torch.load(work / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1  # epoch 1's checkpoint is intact
    assert not [p for p in work.iterdir() if ".tmp" in p.name]  # no temporary file left behind


def test_bare_flags_and_runs_that_failed_early(tmp_path, tiny_data, capsys):
    missing = tiny_config(
        tmp_path, tiny_data, num_epoch=1, train_feeder_args={"data_path": str(tmp_path / "no.npy")}
    )
    assert main.main(missing) == 2
    assert "file not found" in one_error_line(capsys)
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1)
    assert main.main([*argv, "--resume"]) == 0  # nothing to resume yet: starts afresh, not blocked
    assert main.main([*argv, "--overwrite"]) == 0  # bare boolean flag
    assert list((tmp_path / "work_dir").glob("run.old-*"))
    assert main.main([*argv, "--num-epoch", "2", "--resume", "auto"]) == 0
    assert "Resumed from" in (tmp_path / "work_dir" / "run" / "log.txt").read_text()


def test_a_work_dir_in_use_is_refused_even_with_overwrite(tmp_path, tiny_data, capsys):
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1)
    assert main.main(argv) == 0
    work = tmp_path / "work_dir" / "run"
    before = sorted(p.name for p in work.iterdir())
    with RunLock(work):  # another run holds the folder
        assert main.main([*argv, "--overwrite"]) == 2
        assert f"work_dir: {work} is in use by another run (pid" in one_error_line(capsys)
        test_argv = tiny_config(
            tmp_path,
            tiny_data,
            name="t",
            phase="test",
            weights=str(tmp_path / "runs" / "run-0-4.pt"),
            work_dir=str(work),
        )
        assert main.main(test_argv) == 2
        assert "in use by another run" in one_error_line(capsys)
    assert sorted(p.name for p in work.iterdir()) == before
    assert not list((tmp_path / "work_dir").glob("run.old-*"))


def test_missing_data_names_the_generator(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main.main(["--config", str(ROOT / "config/nw-ucla/train_joint.yaml"), "--work-dir", "w"]) == 2
    assert "generate it with: python data_gen/ucla_gendata.py" in one_error_line(capsys)


def test_help_shows_defaults_and_examples(capsys):
    with pytest.raises(SystemExit):
        main.main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "python main.py --config" in out
    assert "(default: 0.01)" in out and "(default: 80)" in out


def test_cuda_fallback_is_one_clean_warning_line(tmp_path, tiny_data):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1, device="cuda")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "CUDA is not available" in line]
    assert warnings == ["warning: device: cuda requested but CUDA is not available; running on the CPU"]
    assert "UserWarning" not in proc.stderr and "warnings.warn" not in proc.stderr


def test_registry_listing(capsys):
    with pytest.raises(SystemExit) as info:
        main.main(["--list"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "agcn  (also: model.agcn.Model)" in out and "skeleton  (also: feeders.feeder.Feeder)" in out


def test_label_pickle_of_the_wrong_shape(tmp_path, tiny_data, capsys):
    labels = tmp_path / "labels.pkl"
    with open(labels, "wb") as f:
        pickle.dump({"not": "a tuple"}, f)
    argv = tiny_config(tmp_path, tiny_data, num_epoch=1, train_feeder_args={"label_path": str(labels)})
    assert main.main(argv) == 2
    assert str(labels) in one_error_line(capsys)
