"""main.py end to end on tiny data: training, testing, outputs, resume, seeds, errors, torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, TINY_SHAPE

from engine.checkpoint import extract_meta
from engine.config import parse_config
from engine.loop import TrainingError
from engine.run import run
from engine.runtime import resolve_device
from engine.scores import read_scores
from utils.errors import ConfigError, DataError
from utils.io import load_pickle

SHAPE = TINY_SHAPE  # (C, T, V, M) of the tiny samples


def tiny_config(tmp_path, data, name="run", **overrides) -> list[str]:
    """argv for a small AGCN run on ``data`` (a folder from make_tiny_dataset)."""
    cfg = {
        "work_dir": str(tmp_path / "work_dir" / name),
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
            "num_class": 4,
            "num_point": 25,
            "num_person": 2,
            "graph": "graph.ntu_rgb_d.Graph",
            "graph_args": {"labeling_mode": "spatial"},
            "base_channel": 8,
        },
        "base_lr": 0.05,
        "step": [2],
        "num_epoch": 2,
        "batch_size": 4,
        "test_batch_size": 8,
        "eval_interval": 1,
        "save_interval": 1,
        "num_worker": 0,
        "device": "cpu",
        "seed": 3,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return ["--config", str(path)]


def weights_of(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_train_then_test_writes_every_output(tmp_path, tiny_data):
    summary = run(parse_config(tiny_config(tmp_path, tiny_data, save_score=True)))
    work = tmp_path / "work_dir" / "run"
    for name in ("config.yaml", "log.txt", "metrics.csv", "training_curves.png", "checkpoint.pt"):
        assert (work / name).is_file(), name
    assert (work / "epoch2_test_score.pkl").is_file()
    # 2s-AGCN weight names: <model_saved_name>-<epoch>-<global_step>.pt (16 samples / batch 4 = 4 steps)
    assert (tmp_path / "runs" / "run-0-4.pt").is_file() and (tmp_path / "runs" / "run-1-8.pt").is_file()
    state = weights_of(tmp_path / "runs" / "run-1-8.pt")
    assert not any(k.startswith("module.") for k in state)
    assert extract_meta(state) == {
        "model": "agcn",
        "num_class": 4,
        "in_channels": 3,
        "num_point": 25,
        "num_person": 2,
        "layout": "ntu_rgb_d",
        "stream": "joint",
        "label_map": None,
    }
    metrics = (work / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("epoch,lr,train_loss,train_acc") and len(metrics) == 3
    assert 0 <= summary["test_top1"] <= 1

    argv = tiny_config(
        tmp_path, tiny_data, name="test", phase="test", weights=str(tmp_path / "runs" / "run-1-*.pt")
    )
    res = run(parse_config(argv))
    test_dir = tmp_path / "work_dir" / "test"
    scores = load_pickle(test_dir / "epoch1_test_score.pkl")
    assert list(scores) == [f"S{i:03d}_val.skeleton" for i in range(8)]
    assert all(v.shape == (4,) and v.dtype == np.float32 for v in scores.values())
    top1 = np.mean([np.argmax(v) == i % 4 for i, v in enumerate(scores.values())])
    assert res["top1"] == pytest.approx(top1)
    summary_json = json.loads((test_dir / "test_summary.json").read_text())
    assert summary_json["top1"] == pytest.approx(top1) and summary_json["num_samples"] == 8
    for name in ("per_class_accuracy.csv", "confusion_matrix.png", "wrong_samples.csv"):
        assert (test_dir / name).is_file(), name
    per_class = (test_dir / "per_class_accuracy.csv").read_text().splitlines()
    assert per_class[0].startswith("class,name,support,correct,accuracy") and len(per_class) == 5
    wrong = (test_dir / "wrong_samples.csv").read_text().splitlines()
    assert len(wrong) - 1 == round((1 - top1) * 8)


def test_resume_reaches_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_data):
    common = {"num_epoch": 3, "step": [2]}
    aug = {"train_feeder_args": {"random_move": True, "random_shift": True}}
    run(parse_config(tiny_config(tmp_path, tiny_data, name="full", **common, **aug)))
    # the "killed" run: stops after 2 epochs, then continues from its checkpoint
    run(parse_config(tiny_config(tmp_path, tiny_data, name="part", num_epoch=2, step=[2], **aug)))
    run(parse_config(tiny_config(tmp_path, tiny_data, name="part", **common, **aug) + ["--resume", "auto"]))
    full = weights_of(tmp_path / "runs" / "full-2-12.pt")
    part = weights_of(tmp_path / "runs" / "part-2-12.pt")
    assert full.keys() == part.keys()
    for key in full:
        torch.testing.assert_close(part[key], full[key], rtol=0, atol=0, msg=key)
    log = (tmp_path / "work_dir" / "part" / "log.txt").read_text()
    assert "Resumed from" in log and "2 epochs done" in log


def test_same_seed_same_run_other_seed_other_run(tmp_path, tiny_data):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        run(parse_config(tiny_config(tmp_path, tiny_data, name=name, num_epoch=1, seed=seed)))
    a, b, c = (weights_of(tmp_path / "runs" / f"{n}-0-4.pt") for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_an_existing_work_dir_is_never_silently_destroyed(tmp_path, tiny_data):
    argv = tiny_config(tmp_path, tiny_data, name="keep", num_epoch=1)
    run(parse_config(argv))
    with pytest.raises(ConfigError, match="already holds a run.*--resume to continue.*--overwrite"):
        run(parse_config(argv))
    run(parse_config([*argv, "--overwrite", "true"]))
    kept = [p.name for p in (tmp_path / "work_dir").iterdir() if p.name.startswith("keep.old-")]
    assert len(kept) == 1 and (tmp_path / "work_dir" / kept[0] / "log.txt").is_file()


def test_weights_are_refused_on_another_stream_or_class_count(tmp_path, tiny_data):
    run(parse_config(tiny_config(tmp_path, tiny_data, name="joint", num_epoch=1)))
    weights = str(tmp_path / "runs" / "joint-0-4.pt")
    bone = tiny_config(
        tmp_path,
        tiny_data,
        name="t1",
        phase="test",
        weights=weights,
        test_feeder_args={"stream": "bone"},
    )
    with pytest.raises(ConfigError, match="stream 'joint' \\(config: 'bone'"):
        run(parse_config(bone))
    other = tiny_config(tmp_path, tiny_data, name="t2", phase="test", weights=weights)
    with pytest.raises(ConfigError, match="num_class 4 \\(config: 5"):
        run(parse_config([*other, "--set", "model_args.num_class=5"]))


def test_bad_inputs_name_their_cause(tmp_path, tiny_data):
    with pytest.raises(DataError, match="train_feeder_args: data_path: file not found"):
        run(
            parse_config(
                tiny_config(tmp_path, tiny_data, name="e1", train_feeder_args={"data_path": "nope.npy"})
            )
        )
    with pytest.raises(DataError, match="samples have V=25 but model_args.num_point is 18"):
        bad = tiny_config(tmp_path, tiny_data, name="e2")
        run(parse_config([*bad, "--set", "model_args.num_point=18", "model_args.graph=graph.kinetics.Graph"]))
    with pytest.raises(DataError, match="has label 3 but model_args.num_class is 3"):
        run(parse_config([*tiny_config(tmp_path, tiny_data, name="e3"), "--set", "model_args.num_class=3"]))
    with pytest.raises(ConfigError, match="did you mean 'num_class'"):
        run(parse_config([*tiny_config(tmp_path, tiny_data, name="e4"), "--set", "model_args.num_classes=3"]))


def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(tmp_path, tiny_data):
    argv = tiny_config(tmp_path, tiny_data, name="nan", num_epoch=1)
    run(parse_config(argv))
    before = (tmp_path / "work_dir" / "nan" / "checkpoint.pt").read_bytes()
    with pytest.raises(
        TrainingError, match=r"loss became (nan|inf|-inf) at epoch 2, iteration \d+ .*checkpoint\.pt"
    ):
        run(parse_config([*argv, "--resume", "auto", "--num-epoch", "2", "--base-lr", "1e30"]))
    assert (tmp_path / "work_dir" / "nan" / "checkpoint.pt").read_bytes() == before


def test_validation_split_and_model_selection(tmp_path, tiny_data):
    argv = tiny_config(tmp_path, tiny_data, name="val", val_fraction=0.25, model_selection="val")
    summary = run(parse_config(argv))
    assert summary["best"]["metric"] == "val_top1"
    assert (tmp_path / "runs" / "val-best.pt").is_file()
    scores = load_pickle(tmp_path / "work_dir" / "val" / "epoch2_val_score.pkl")
    assert len(scores) == 4 and all(name.endswith("_train.skeleton") for name in scores)
    log = (tmp_path / "work_dir" / "val" / "log.txt").read_text()
    assert "Validation split: 4 of 16" in log and "Best epoch by val_top1" in log


def test_best_validation_scores_are_those_of_the_best_weights(tmp_path, tiny_data):
    """best_val_score.pkl holds the validation scores of -best.pt (for the weight search), whichever
    epoch that was; epoch<E>_val_score.pkl stays the last epoch's."""
    argv = tiny_config(
        tmp_path, tiny_data, name="bv", val_fraction=0.25, model_selection="val", num_epoch=3, base_lr=0.5
    )
    summary = run(parse_config(argv))
    best_file = tmp_path / "work_dir" / "bv" / "best_val_score.pkl"
    assert summary["best_val_scores"] == str(best_file)
    names, best_scores = read_scores(best_file)
    assert len(names) == 4
    # the -best.pt weights, tested on the training file, give those scores for the validation clips
    train = {
        "data_path": str(tiny_data / "train_data_joint.npy"),
        "label_path": str(tiny_data / "train_label.pkl"),
    }
    weights = str(tmp_path / "runs" / "bv-best.pt")
    test = tiny_config(
        tmp_path,
        tiny_data,
        name="bvt",
        phase="test",
        weights=weights,
        save_score=True,
        test_feeder_args=train,
    )
    run(parse_config(test))
    tested = dict(zip(*read_scores(tmp_path / "work_dir" / "bvt" / "epoch1_test_score.pkl"), strict=True))
    np.testing.assert_allclose(np.stack([tested[n] for n in names]), best_scores, rtol=1e-5, atol=1e-5)
    last_names, _ = read_scores(tmp_path / "work_dir" / "bv" / "epoch3_val_score.pkl")
    assert sorted(last_names) == sorted(names)


def test_options_only_test_feeder_args_train_without_reading_a_test_set(tmp_path, tiny_data):
    """The NW-UCLA configs' form: training reads no test data; the validation split still picks -best.pt."""
    argv = tiny_config(
        tmp_path, tiny_data, name="valonly", val_fraction=0.25, model_selection="val", num_epoch=1, step=[]
    )
    path = tmp_path / "valonly.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["test_feeder_args"] = {"window_size": 16}
    cfg["train_feeder_args"]["random_choose"] = True
    cfg["train_feeder_args"]["window_size"] = 16
    path.write_text(yaml.safe_dump(cfg))
    summary = run(parse_config(argv))
    assert "test_top1" not in summary and "val_top1" in summary
    log = (tmp_path / "work_dir" / "valonly" / "log.txt").read_text()
    assert "4 validation" in log and " test;" not in log and "test:" not in log
    assert (tmp_path / "runs" / "valonly-best.pt").is_file()


def test_gpu_ids_fall_back_to_cpu_with_a_warning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_device([0, 1, 2, 3]) == torch.device("cpu")
        assert resolve_device("cuda:1") == torch.device("cpu")
    assert any("CUDA is not available" in str(w.message) for w in caught)
    with pytest.raises(ConfigError, match="device"):
        resolve_device("tpu")


def test_dataloader_workers_get_distinct_seeds_each_epoch():
    from engine.builder import make_loader
    from engine.runtime import Runtime, seed_everything

    class Draws(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return np.float64(np.random.rand()), 0, i

    rt = Runtime(device=torch.device("cpu"))
    loader = make_loader(Draws(), 2, train=False, num_worker=2, rt=rt, seed=0)
    seed_everything(1)
    epoch1 = [float(x) for batch in loader for x in batch[0]]
    epoch2 = [float(x) for batch in loader for x in batch[0]]
    assert len(set(epoch1)) == 8 and not set(epoch1) & set(epoch2)
    seed_everything(1)
    assert [float(x) for batch in loader for x in batch[0]] == epoch1


@pytest.mark.slow
def test_torchrun_two_cpu_processes_match_one_process(tmp_path, tiny_data):
    run(parse_config(tiny_config(tmp_path, tiny_data, name="w", num_epoch=1)))
    weights = str(tmp_path / "runs" / "w-0-4.pt")
    one = run(parse_config(tiny_config(tmp_path, tiny_data, name="t1", phase="test", weights=weights)))
    argv = tiny_config(tmp_path, tiny_data, name="t2", phase="test", weights=weights)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533"]
    out = subprocess.run(
        [*cmd, str(ROOT / "main.py"), *argv], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    s1 = load_pickle(tmp_path / "work_dir" / "t1" / "epoch1_test_score.pkl")
    s2 = load_pickle(tmp_path / "work_dir" / "t2" / "epoch1_test_score.pkl")
    assert list(s1) == list(s2)
    for name in s1:
        np.testing.assert_allclose(s2[name], s1[name], rtol=1e-5, atol=1e-5)
    two = json.loads((tmp_path / "work_dir" / "t2" / "test_summary.json").read_text())
    assert two["top1"] == pytest.approx(one["top1"]) and two["num_samples"] == 8
    # training under torchrun: one log, one checkpoint, weights from rank 0
    argv = tiny_config(tmp_path, tiny_data, name="ddp", num_epoch=1)
    out = subprocess.run(
        [*cmd, str(ROOT / "main.py"), *argv], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    log = (tmp_path / "work_dir" / "ddp" / "log.txt").read_text()
    assert "2 process(es)" in log and log.count("Training epoch: 1/1") == 1
    assert (tmp_path / "runs" / "ddp-0-4.pt").is_file()


def test_multi_clip_scores_average_probabilities_when_the_model_asks():
    from engine.loop import forward_logits

    class Clips(torch.nn.Module):
        def __init__(self, mode):
            super().__init__()
            self.average_clips = mode

        def forward(self, x):  # (N*K, C, T, V, M) -> (N*K, 3)
            return x.flatten(1)[:, :3] * 4

    x = torch.randn(2, 5, 3, 1, 1, 1)  # (N, K, C, T, V, M)
    per_clip = x.flatten(2)[..., :3] * 4
    out, _ = forward_logits(Clips("prob"), x)
    torch.testing.assert_close(out.softmax(-1), per_clip.softmax(-1).mean(1))
    out, _ = forward_logits(Clips("logits"), x)
    torch.testing.assert_close(out, per_clip.mean(1))


def test_short_stream_names_are_the_long_ones_and_empty_holdouts_are_refused():
    from engine import builder

    assert builder.feeder_stream({"stream": "bm"}) == "bone_motion"
    assert builder.feeder_stream({"stream": "j"}) == builder.feeder_stream({}) == "joint"
    with pytest.raises(ConfigError, match="holds out nothing"):
        builder.stratified_split([0, 1, 2, 3], 0.1, seed=1)
    train, val = builder.stratified_split([0, 0, 1, 1, 2, 2], 0.1, seed=1)
    assert len(val) == 3 and sorted([*train, *val]) == list(range(6))


def test_cosine_schedule_equals_torch_cosine_annealing_per_iteration():
    """lr_scheduler: cosine is MMAction2's iteration-based CosineAnnealingLR (eta_min 0) over all epochs."""
    from engine.builder import learning_rate

    cfg = parse_config(
        ["--model", "agcn", "--base-lr", "0.1", "--num-epoch", "5", "--lr-scheduler", "cosine"]
    )
    per_epoch = 7
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5 * per_epoch, eta_min=0)
    for epoch in range(5):
        for i in range(per_epoch):
            assert learning_rate(cfg, epoch, i / per_epoch) == pytest.approx(
                opt.param_groups[0]["lr"], abs=1e-12
            )
            opt.step()
            sched.step()
    # with a warm-up the cosine starts after it; the step schedule ignores the progress within an epoch
    warm = parse_config(["--model", "agcn", "--base-lr", "0.1", "--num-epoch", "6", "--lr-scheduler", "cosine",
                         "--warm-up-epoch", "2"])  # fmt: skip
    assert [learning_rate(warm, e) for e in range(3)] == pytest.approx([0.05, 0.1, 0.1])
    assert learning_rate(warm, 4) == pytest.approx(0.05)
    step = parse_config(["--model", "agcn", "--base-lr", "0.1", "--step", "2"])
    assert learning_rate(step, 1, 0.9) == 0.1 and learning_rate(step, 2, 0.5) == pytest.approx(0.01)
    with pytest.raises(ConfigError, match="lr_scheduler"):
        parse_config(["--model", "agcn", "--lr-scheduler", "linear"])


def test_cosine_schedule_sets_the_rate_before_every_training_step(tmp_path, tiny_data):
    run(parse_config(tiny_config(tmp_path, tiny_data, lr_scheduler="cosine", num_epoch=2)))
    state = torch.load(tmp_path / "work_dir" / "run" / "checkpoint.pt", map_location="cpu", weights_only=True)
    # 4 steps per epoch: the last step of epoch 2 ran at 3/4 of the way through it
    expected = 0.05 * 0.5 * (1 + np.cos(np.pi * (1 + 3 / 4) / 2))
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(expected)
    assert (
        "Training epoch: 2/2, learning rate 0.025\n"
        in (tmp_path / "work_dir" / "run" / "log.txt").read_text()
    )  # epoch 2 starts at 1/2
