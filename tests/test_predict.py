"""predict.py: a raw clip gets exactly the scores the test phase gives its dataset row."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml
from conftest import make_tiny_dataset

import predict
from data_gen import ntu_gendata
from engine.config import parse_config
from engine.run import run
from utils.errors import DataError
from utils.io import load_pickle


def _config(tmp_path, data, name, stream="joint", **extra):
    cfg = {
        "work_dir": str(tmp_path / "work" / name),
        "model_saved_name": str(tmp_path / "runs" / name),
        "train_feeder_args": {
            "data_path": str(data / "train_data_joint.npy"),
            "label_path": str(data / "train_label.pkl"),
        },
        "test_feeder_args": {
            "data_path": str(data / "val_data_joint.npy"),
            "label_path": str(data / "val_label.pkl"),
        },
        "model": "model.agcn.Model",
        "model_args": {
            "num_class": 60,
            "num_point": 25,
            "num_person": 2,
            "graph": "graph.ntu_rgb_d.Graph",
            "base_channel": 8,
        },
        "num_epoch": 1,
        "batch_size": 4,
        "test_batch_size": 4,
        "num_worker": 0,
        "device": "cpu",
        "base_lr": 0.01,
        **extra,
    }
    if stream != "joint":
        cfg["train_feeder_args"]["stream"] = cfg["test_feeder_args"]["stream"] = stream
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, ntu_raw):
    """Two tiny AGCN streams (joint, bone) trained on the golden NTU files, and their test scores."""
    tmp = tmp_path_factory.mktemp("predict")
    ntu_gendata.gendata(ntu_raw / "raw", tmp / "data", benchmarks=["xsub"], workers=1,
                        ignored_sample_path=ntu_raw / "samples_with_missing_skeletons.txt")  # fmt: skip
    data = tmp / "data" / "xsub"
    configs = {}
    for stream in ("joint", "bone"):
        run(parse_config(["--config", str(_config(tmp, data, f"train_{stream}", stream))]))
        test_cfg = _config(tmp, data, f"test_{stream}", stream, phase="test",
                           weights=str(tmp / "runs" / f"train_{stream}-0-*.pt"))  # fmt: skip
        run(parse_config(["--config", str(test_cfg)]))
        configs[stream] = test_cfg
    return tmp, configs


def _softmax(x):
    return torch.softmax(torch.from_numpy(x).double(), 0).numpy()


def test_raw_clip_gets_the_test_phase_scores(trained, ntu_raw):
    tmp, configs = trained
    scores = load_pickle(tmp / "work" / "test_joint" / "epoch1_test_score.pkl")
    predictor = predict.Predictor([configs["joint"]])
    for name in ("S002C001P006R002A050.skeleton", "S005C001P011R002A059.skeleton"):
        res = predictor.predict(ntu_raw / "raw" / name, topk=5)
        np.testing.assert_allclose(res.probabilities, _softmax(scores[name]), rtol=1e-5, atol=1e-6)
        assert res.top[0][0] == int(np.argmax(scores[name])) and len(res.top) == 5
        assert res.top[0][1] == predictor.class_names[res.top[0][0]]  # NTU60 names by default


def test_streams_are_fused_as_the_mean_probability(trained, ntu_raw):
    tmp, configs = trained
    name = "S007C002P020R001A040.skeleton"
    expected = np.mean(
        [
            _softmax(load_pickle(tmp / "work" / f"test_{s}" / "epoch1_test_score.pkl")[name])
            for s in ("joint", "bone")
        ],
        axis=0,
    )
    res = predict.Predictor([configs["joint"], configs["bone"]]).predict(ntu_raw / "raw" / name)
    np.testing.assert_allclose(res.probabilities, expected, rtol=1e-5, atol=1e-6)
    assert len(res.streams) == 2


def test_cli_prints_top_classes_and_writes_json(trained, ntu_raw, tmp_path, capsys):
    _, configs = trained
    clip = ntu_raw / "raw" / "S001C001P001R001A001.skeleton"
    out = tmp_path / "p.json"
    code = predict.main(
        ["--config", str(configs["joint"]), "--input", str(clip), "--top", "3", "--json", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "1. " in printed and "3. " in printed and "4. " not in printed
    assert json.loads(out.read_text())[0]["top"][0]["probability"] > 0


def test_bad_inputs_are_one_line_errors(trained, tmp_path, capsys):
    _, configs = trained
    predictor = predict.Predictor([configs["joint"]])
    np.save(tmp_path / "wrong.npy", np.zeros((3, 20, 18, 2), np.float32))
    with pytest.raises(DataError, match="num_point is 25"):
        predictor.predict(tmp_path / "wrong.npy")
    with pytest.raises(DataError, match="file not found"):
        predictor.predict(tmp_path / "missing.skeleton")
    (tmp_path / "x.skeleton").write_text("hi")
    assert predict.main(["--config", str(configs["joint"]), "--input", str(tmp_path / "x.skeleton")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.skeleton:1: cannot read 'hi'" in err
    (tmp_path / "p.txt").write_text("hi")
    with pytest.raises(DataError, match="p.txt: unsupported input"):
        predict.read_joint_sample(tmp_path / "p.txt")


def test_npy_sample_input(trained, tmp_path):
    _, configs = trained
    data_path, _ = make_tiny_dataset(tmp_path, n=1, shape=(3, 30, 25, 2), num_class=1)
    np.save(tmp_path / "one.npy", np.load(data_path)[0])
    res = predict.Predictor([configs["joint"]]).predict(tmp_path / "one.npy", topk=2)
    assert len(res.top) == 2 and abs(res.probabilities.sum() - 1) < 1e-6


def test_unwritable_json_path_is_one_error_line(trained, ntu_raw, tmp_path, capsys):
    _, configs = trained
    (tmp_path / "afile").write_text("not a folder")
    clip = ntu_raw / "raw" / "S001C001P001R001A001.skeleton"
    target = tmp_path / "afile" / "out.json"
    capsys.readouterr()
    argv = ["--config", str(configs["joint"]), "--input", str(clip), "--json", str(target)]
    assert predict.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --json") and f"{target.parent} is a file" in err, (
        err
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
