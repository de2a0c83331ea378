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


def test_mmaction_pickle_config_gives_the_test_phase_scores(ntu_raw, tmp_path):
    """An ST-GCN++ config on an MMAction2 annotation pickle: a raw .skeleton goes through the same
    GCN pipeline (PreNormalize3D, bone stream, 2 fixed-seed clips) as its row of the pickle."""
    from engine import builder
    from utils.io import save_pickle

    names = ["S002C001P006R002A050.skeleton", "S005C001P011R002A059.skeleton"]
    anns = []
    for i, name in enumerate(names):
        joint = predict.read_joint_sample(ntu_raw / "raw" / name)  # raw camera coordinates, (C, T, V, M)
        kp = joint.transpose(3, 1, 2, 0)  # (M, T, V, C), persons present only, as MMAction2 stores them
        kp = np.ascontiguousarray(kp[np.abs(kp).reshape(len(kp), -1).max(1) > 0])
        anns.append({"frame_dir": name[:-9], "label": i, "total_frames": kp.shape[1], "keypoint": kp})
    save_pickle(
        {"split": {"xsub_val": [a["frame_dir"] for a in anns]}, "annotations": anns}, tmp_path / "a.pkl"
    )
    cfg = {
        "work_dir": str(tmp_path / "work"),
        "feeder": "pose_pickle",
        "test_feeder_args": {
            "data_path": str(tmp_path / "a.pkl"),
            "split": "xsub_val",
            "stream": "bone",
            "clip_len": 16,
            "num_clips": 2,
            "test_mode": True,
        },  # fmt: skip
        "model": "stgcnpp",
        "model_args": {
            "num_class": 60,
            "graph_args": {"layout": "nturgb+d", "mode": "spatial"},
            "base_channels": 8,
        },  # fmt: skip
        "phase": "test",
        "device": "cpu",
        "test_batch_size": 2,
        "num_worker": 0,
        "weights": str(tmp_path / "w.pt"),
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(cfg))
    parsed = parse_config(["--config", str(tmp_path / "test.yaml")])
    torch.manual_seed(0)
    torch.save(builder.build_model(parsed).state_dict(), tmp_path / "w.pt")
    run(parsed)
    scores = load_pickle(tmp_path / "work" / "epoch1_test_score.pkl")
    predictor = predict.Predictor([tmp_path / "test.yaml"])
    for name in names:
        res = predictor.predict(ntu_raw / "raw" / name)
        np.testing.assert_allclose(res.probabilities, _softmax(scores[name[:-9]]), rtol=1e-5, atol=1e-6)
    # PoseC3D configs are refused with one line naming the config
    cfg.update(feeder="posec3d", model="posec3d", model_args={"num_class": 60})
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(Exception, match=r"p\.yaml: predict\.py does not take PoseC3D configs"):
        predict.Predictor([tmp_path / "p.yaml"])
