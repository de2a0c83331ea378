"""experiment.py: folds x models x streams trained, tested, fused and reported; reruns skip finished runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import make_tiny_dataset

import experiment
from engine.experiment import load_experiment, plan, validation_scores
from utils.errors import ConfigError

SHAPE = (3, 12, 25, 2)


def _config(tmp_path, data, phase):
    cfg = {
        "feeder": "feeders.feeder.Feeder",
        "model": "model.agcn.Model",
        "model_args": {
            "num_class": 3,
            "num_point": 25,
            "num_person": 2,
            "graph": "graph.ntu_rgb_d.Graph",
            "base_channel": 4,
        },
        "test_feeder_args": {
            "data_path": str(data / "val_data_joint.npy"),
            "label_path": str(data / "val_label.pkl"),
        },
        "device": "cpu",
        "test_batch_size": 8,
        "num_worker": 0,
    }
    if phase == "train":
        cfg.update(
            train_feeder_args={
                "data_path": str(data / "train_data_joint.npy"),
                "label_path": str(data / "train_label.pkl"),
            },
            num_epoch=2,
            batch_size=4,
            eval_interval=1,
            save_interval=2,
            val_fraction=0.25,
            model_selection="val",
            optimizer="Adam",
            base_lr=0.01,
        )
    else:
        cfg.update(phase="test", weights="unused.pt", save_score=True)
    path = tmp_path / f"{phase}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    root = tmp_path_factory.mktemp("folds")
    for k in range(2):
        folder = root / f"fold{k}"
        folder.mkdir()
        make_tiny_dataset(folder, n=12, shape=SHAPE, num_class=3, seed=k, prefix="train")
        make_tiny_dataset(folder, n=6, shape=SHAPE, num_class=3, seed=10 + k, prefix="val")
    return root


def _experiment_file(tmp_path, folds):
    train, test = _config(tmp_path, folds / "fold0", "train"), _config(tmp_path, folds / "fold0", "test")
    spec = {
        "name": "tiny",
        "work_root": str(tmp_path / "out"),
        "runs": [{"model": "agcn", "train": str(train), "test": str(test), "streams": ["joint", "bone"]}],
        "folds": ["fold0", "fold1"],
        "fold_data": str(folds / "{fold}"),
        "set": {"train_feeder_args.stream": "{stream}", "test_feeder_args.stream": "{stream}"},
        "fusion": [{"name": "both 1:1"}, {"name": "searched", "search": True}],
        "parallel": {"jobs": 2, "threads": 1},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_experiment_runs_reports_and_resumes(tmp_path, folds, capsys):
    path = _experiment_file(tmp_path, folds)
    exp = load_experiment(path)
    runs = plan(exp)
    assert [r.key for r in runs] == [
        "fold0/seed1/agcn_joint",
        "fold0/seed1/agcn_bone",
        "fold1/seed1/agcn_joint",
        "fold1/seed1/agcn_bone",
    ]
    assert experiment.main([str(path)]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "out" / "tiny"
    for run in runs:
        assert (run.train_dir / "train_summary.json").is_file()
        summary = json.loads((run.test_dir / "test_summary.json").read_text())
        assert summary["stream"] == run.stream  # the stream override reached both phases
        assert str(run.folder / "weights") in summary["weights"] and summary["weights"].endswith("-best.pt")
        # the weight search reads the validation scores of the weights that were tested
        assert validation_scores(run) == run.train_dir / "best_val_score.pkl"
    fused = pd.read_csv(root / "fusion.csv")
    assert sorted(set(fused["fusion"])) == ["both 1:1", "searched"] and len(fused) == 4
    streams = pd.read_csv(root / "streams.csv")
    assert len(streams) == 4 and set(streams["fold"]) == {"fold0", "fold1"}
    report = (root / "report.md").read_text()
    assert "## Fusions" in report and "both 1:1" in report and "python main.py --config" in report
    assert "2 fold(s) x 1 seed(s)" in report and "top1_std" in report
    assert (root / "report.html").is_file() and (root / "confusion_both_1_1.png").is_file()
    assert (root / "curves_agcn.png").is_file()
    assert "both 1:1" in out and "top-1" in out
    # a rerun has nothing left to train or test
    assert experiment.main([str(path)]) == 0
    assert "0 task(s) to run, 8 already finished" in capsys.readouterr().out


def test_slurm_scripts_and_dry_run(tmp_path, folds, capsys):
    path = _experiment_file(tmp_path, folds)
    assert (
        experiment.main([str(path), "--slurm", str(tmp_path / "slurm"), "--slurm-args=--partition=gpu"]) == 0
    )
    train = (tmp_path / "slurm" / "train.sbatch").read_text()
    assert "#SBATCH --array=0-3" in train and "--task train $SLURM_ARRAY_TASK_ID" in train
    assert "#SBATCH --partition=gpu" in train
    submit = (tmp_path / "slurm" / "submit.sh").read_text()
    assert "--dependency=afterok:$data train.sbatch" in submit
    capsys.readouterr()
    assert experiment.main([str(path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("python main.py --config") for line in lines)
    assert "fold1" in lines[-1] and "--resume" in lines[0]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"runz": []}, "unknown key 'runz'; did you mean 'runs'?"),
        ({"data": [{"generator": "rm", "args": {}}]}, "unknown generator 'rm'"),
        ({"fold_data": None}, "several folds need a data folder pattern"),
        ({"seeds": ["a"]}, "seeds: expected a list of integers"),
    ],
)
def test_bad_experiment_files_are_one_line_errors(tmp_path, folds, change, message):
    path = _experiment_file(tmp_path, folds)
    spec = yaml.safe_load(path.read_text())
    spec.update(change)
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


@pytest.mark.parametrize("name", ["demo", "demo-zoo", "nw-ucla", "nw-ucla-seeds"])
def test_shipped_experiment_files_load_and_plan(name):
    from conftest import ROOT

    exp = load_experiment(ROOT / "experiments" / f"{name}.yaml")
    runs = plan(exp)
    assert runs and all((ROOT / r.train_config).is_file() for r in runs)
    assert all(r.test_config is None or (ROOT / r.test_config).is_file() for r in runs)
