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


def test_seed_ensemble_averages_each_stream_over_its_seeds(tmp_path, capsys):
    """Per-model seeds: a model trained with more seeds than another. Per-seed fusions exist only for
    seeds every fused model has; a seed ensemble averages each (model, stream) over its seeds, and its
    ensemble.py command gives the same result."""
    import pickle

    import numpy as np

    import ensemble
    from engine.experiment import fusion_tables, seed_ensemble_weights

    rng = np.random.default_rng(0)
    names = [f"clip{i:02d}" for i in range(40)]
    labels = rng.integers(0, 4, len(names))
    with open(tmp_path / "val_label.pkl", "wb") as f:
        pickle.dump((names, labels.tolist()), f)
    cfg = {"test_feeder_args": {"label_path": str(tmp_path / "val_label.pkl")}}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "train.yaml").write_text(yaml.safe_dump({}))
    spec = {
        "name": "seeded",
        "work_root": str(tmp_path / "out"),
        "runs": [
            {
                "model": "a",
                "train": str(tmp_path / "train.yaml"),
                "test": str(tmp_path / "test.yaml"),
                "streams": ["joint", "bone"],
                "seeds": [1, 2, 3],
            },
            {
                "model": "b",
                "train": str(tmp_path / "train.yaml"),
                "test": str(tmp_path / "test.yaml"),
                "streams": ["joint"],
            },
        ],
        "fusion": [
            {"name": "all 4s", "preset": "4s"},
            {"name": "a 1:1", "models": ["a"]},
            {"name": "all 4s seeds", "preset": "4s", "seed_ensemble": True},
        ],
    }
    path = tmp_path / "seeded.yaml"
    path.write_text(yaml.safe_dump(spec))
    exp = load_experiment(path)
    runs = plan(exp)
    # order: seed, then model and stream as in the file; b only with the top-level seed 1
    expected = ["1/a_joint", "1/a_bone", "1/b_joint", "2/a_joint", "2/a_bone", "3/a_joint", "3/a_bone"]
    assert [r.key for r in runs] == ["main/seed" + key for key in expected]
    scores = {}
    for run in runs:  # noisy scores: each seed right on a different part of the samples
        s = rng.normal(size=(len(names), 4)).astype(np.float32)
        s[np.arange(len(names)), labels] += rng.uniform(0, 2.5, len(names)).astype(np.float32)
        scores[run.key] = s
        run.test_dir.mkdir(parents=True)
        with open(run.test_dir / "epoch1_test_score.pkl", "wb") as f:
            pickle.dump(dict(zip(names, s)), f)
        (run.test_dir / "test_summary.json").write_text(
            json.dumps({"top1": float((s.argmax(1) == labels).mean())})
        )
    streams, fused, details = fusion_tables(exp, runs)
    assert len(streams) == 7
    rows = {(r.fusion, str(r.seed)): r.top1 for r in fused.itertuples()}
    assert sorted(rows) == [
        ("a 1:1", "1"),
        ("a 1:1", "2"),
        ("a 1:1", "3"),
        ("all 4s", "1"),
        ("all 4s seeds", "all"),
    ]

    def acc(m):
        return float((m.argmax(1) == labels).mean())

    per_seed = (
        scores["main/seed1/a_joint"] * 2 + scores["main/seed1/a_bone"] * 2 + scores["main/seed1/b_joint"] * 2
    )
    assert rows[("all 4s", "1")] == pytest.approx(acc(per_seed))
    mean_a = {
        s: np.mean([scores[f"main/seed{k}/a_{s}"] for k in (1, 2, 3)], axis=0) for s in ("joint", "bone")
    }
    ensemble_scores = 2 * mean_a["joint"] + 2 * mean_a["bone"] + 2 * scores["main/seed1/b_joint"]
    assert rows[("all 4s seeds", "all")] == pytest.approx(acc(ensemble_scores))
    job, options, command = details[("main", "all", "all 4s seeds")]
    order = [f"main/seed{k}/a_{s}" for s in ("joint", "bone") for k in (1, 2, 3)] + ["main/seed1/b_joint"]
    assert [f.path for f in job.files] == [
        exp.root / key.replace("a_", "a_test_").replace("b_", "b_test_") / "epoch1_test_score.pkl"
        for key in order
    ]
    assert options.weights == pytest.approx([2 / 3] * 6 + [2])
    chosen = [r for r in runs if r.model == "a"] + [runs[2]]
    assert seed_ensemble_weights(exp.fusion[2], chosen)[:2] == pytest.approx([2 / 3, 2 / 3])
    # the report's ensemble.py command reproduces the seed ensemble
    args = command.split()[2:]
    capsys.readouterr()
    assert ensemble.main(args) == 0
    out = capsys.readouterr().out
    assert f"{100 * acc(ensemble_scores):.2f}" in out.split("fusion")[-1]
    # a run without its test holds back the fusions that need it, not the others
    (runs[-1].test_dir / "test_summary.json").unlink()
    _streams, fused, _details = fusion_tables(exp, runs)
    assert sorted((r.fusion, str(r.seed)) for r in fused.itertuples()) == [
        ("a 1:1", "1"),
        ("a 1:1", "2"),
        ("all 4s", "1"),
    ]
    # search and seed_ensemble together are refused; so are repeated seeds
    spec["fusion"].append({"name": "bad", "search": True, "seed_ensemble": True})
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match="search and seed_ensemble together"):
        load_experiment(path)
    spec["fusion"].pop()
    spec["runs"][0]["seeds"] = [1, 1]
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=r"runs\[0\].seeds: each seed once"):
        load_experiment(path)
