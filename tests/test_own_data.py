"""Own data from clips to a fused result: custom_gendata's splits (train / val / test, k folds, named
splits), the layout travelling with the data (layout files, preprocess.json, mismatch errors), the
starter configs and experiment file, the engine's explicit validation set and the fusion's label files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import make_tiny_dataset
from test_custom_gendata import MOCAP15_YAML, random_clip, write_clip

import experiment
from data_gen import custom_gendata as custom
from data_gen import starter
from data_gen.custom_splits import read_split_table
from engine import builder, fusion
from engine.config import parse_config
from engine.run import run
from graph.layouts import NW_UCLA, get_layout, layout_from_file
from utils.errors import ConfigError, DataError
from utils.io import load_label_file, load_pickle, save_label_file
from utils.splits import stratified_folds

# NW-UCLA's 20 Kinect v1 joints as a layout FILE (1-based, as such lists are often published)
_EDGES = json.dumps([[i + 1, j + 1] for i, j in NW_UCLA.inward])
KINECT20_YAML = f"name: kinect20\nnum_node: 20\ncenter: 3\nindex_base: 1\nedges: {_EDGES}\n"


def make_clips(root: Path, n: int, M: int, V: int, C: int, scores: bool, seed: int, classes: int = 3) -> list:
    """``n`` random clips ``c00..`` of 8-20 frames in ``root``: (name, label) pairs; a class-dependent
    offset makes them learnable."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % classes
        kp = random_clip(rng, M, 8 + (i * 5) % 13, V, C) + 0.5 * label
        sc = rng.uniform(0.3, 1.0, size=kp.shape[:3]) if scores else None
        write_clip(root / f"c{i:02d}.npz", kp, f"class{label}", sc)
        out.append((f"c{i:02d}", label))
    return out


def _shrink(path: Path, work_root: Path, streams: dict[str, list[str]]) -> Path:
    """The starter experiment file, cut to a smoke test: some streams, 2 epochs, tiny widths."""
    spec = yaml.safe_load(path.read_text())
    spec["work_root"] = str(work_root)
    width = {"stgcnpp": {"model_args.base_channels": 8}}
    spec["runs"] = [
        dict(r, streams=streams[r["model"]], set=width.get(r["model"], {"model_args.base_channel": 8}))
        for r in spec["runs"]
        if r["model"] in streams
    ]
    spec["set"] = {"num_worker": 0, "num_epoch": 2}
    spec["parallel"] = {"jobs": 2, "threads": 1}
    small = path.with_name("smoke.yaml")
    small.write_text(yaml.safe_dump(spec, sort_keys=False))
    return small


# -- end to end ------------------------------------------------------------------------------------
def test_three_datasets_from_clips_to_a_fused_report(tmp_path, capsys):
    """3D one person with a 15-joint layout file; 2D two persons COCO-17 with scores; a 20-joint layout
    file in 2 folds: custom_gendata -> the starter experiment file -> experiment.py."""
    # (a) 3D, one person, mocap15.yaml; train/ val/ test/ subfolders
    raw_a = tmp_path / "raw_a"
    for part, n, seed in (("train", 12, 0), ("val", 6, 1), ("test", 6, 2)):
        make_clips(raw_a / part, n, M=1, V=15, C=3, scores=False, seed=seed)
    (tmp_path / "mocap15.yaml").write_text(MOCAP15_YAML)
    out_a = tmp_path / "data" / "mocap"
    argv = ["--data_path", str(raw_a), "--out_folder", str(out_a), "--layout", str(tmp_path / "mocap15.yaml")]
    assert custom.main([*argv, "--workers", "1"]) == 0
    # (b) 2D + scores, two persons, COCO-17; a split file with train and test only
    raw_b = tmp_path / "raw_b"
    clips = make_clips(raw_b, 18, M=2, V=17, C=2, scores=True, seed=3)
    (raw_b / "split.csv").write_text(
        "".join(f"{n},{'test' if i % 3 == 0 else 'train'}\n" for i, (n, _) in enumerate(clips))
    )
    out_b = tmp_path / "data" / "coco2p"
    custom.gendata(raw_b, out_b, "coco", workers=1)
    # (c) a 20-joint layout file, 3D, two stratified folds of all clips
    raw_c = tmp_path / "raw_c"
    make_clips(raw_c, 16, M=1, V=20, C=3, scores=False, seed=4, classes=2)
    (tmp_path / "kinect20.yaml").write_text(KINECT20_YAML)
    out_c = tmp_path / "data" / "kinect"
    custom.gendata(raw_c, out_c, tmp_path / "kinect20.yaml", folds=2, seed=5, workers=1)

    cfg_a = yaml.safe_load((out_a / "configs" / "train_joint_impsgnv2.yaml").read_text())
    assert cfg_a["model_args"]["graph_args"]["layout"] == f"{out_a}/layout.yaml"
    assert cfg_a["val_feeder_args"]["label_path"] == f"{out_a}/val_label.pkl"
    assert cfg_a["model_args"]["num_person"] == 1 and cfg_a["model_args"]["in_channels"] == 3
    cfg_b = yaml.safe_load((out_b / "configs" / "train_bone.yaml").read_text())
    assert cfg_b["train_feeder_args"]["score_channel"] == 2 and cfg_b["model_args"]["num_person"] == 2
    assert cfg_b["train_feeder_args"]["sampler"]["rotation"] == [0.0, 0.0, 0.3]  # 2D: in-plane only
    assert "val_feeder_args" not in cfg_b and "val_fraction" not in cfg_b  # 12 clips: no validation
    test_b = yaml.safe_load((out_b / "configs" / "test_bone.yaml").read_text())
    pp_b = yaml.safe_load((out_b / "configs" / "train_joint_stgcnpp.yaml").read_text())
    assert pp_b["model"] == "stgcnpp" and pp_b["model_args"]["num_person"] == 2  # both persons, like AGCN
    assert pp_b["model_args"]["in_channels"] == 3 and pp_b["lr_scheduler"] == "cosine" and "step" not in pp_b
    assert test_b["test_feeder_args"]["label_path"] == f"{out_b}/test_label.pkl"
    exp_c = yaml.safe_load((out_c / "experiment.yaml").read_text())
    assert exp_c["folds"] == ["fold0", "fold1"] and exp_c["fold_data"] == f"{out_c}/{{fold}}"

    runs = {
        "a": (out_a, {"agcn": ["joint"], "impsgnv2": ["joint"]}),
        "b": (out_b, {"agcn": ["bone"], "impsgnv2": ["bone"], "stgcnpp": ["joint"]}),
        "c": (out_c, {"impsgnv2": ["joint_motion"]}),
    }
    for key, (out, streams) in runs.items():
        path = _shrink(out / "experiment.yaml", tmp_path / "work", streams)
        assert experiment.main([str(path)]) == 0, key
    capsys.readouterr()
    work = tmp_path / "work"
    streams_a = pd.read_csv(work / "mocap" / "streams.csv")
    assert sorted(streams_a["model"]) == ["agcn", "impsgnv2"]
    tested = load_pickle(work / "mocap" / "main" / "seed1" / "impsgnv2_test_joint" / "epoch1_test_score.pkl")
    assert sorted(tested) == load_label_file(out_a / "test_label.pkl")[0]  # the test part, not val
    summary = json.loads(
        (work / "mocap" / "main" / "seed1" / "agcn_joint" / "train_summary.json").read_text()
    )
    assert summary["weights"].endswith("-1-4.pt") and "best" not in summary  # 6 val clips: the last epoch
    fused_a = pd.read_csv(work / "mocap" / "fusion.csv")
    assert "searched on validation" in set(fused_a["fusion"])  # the val part feeds the weight search
    val_scores = load_pickle(work / "mocap" / "main" / "seed1" / "agcn_joint" / "epoch2_val_score.pkl")
    assert sorted(val_scores) == load_label_file(out_a / "val_label.pkl")[0]
    fused_b = pd.read_csv(work / "coco2p" / "fusion.csv")
    assert "searched on validation" not in set(fused_b["fusion"]) and len(fused_b) == 5
    assert fused_b.loc[fused_b["fusion"] == "all streams 1:1", "streams"].item() == 3  # three families
    scores_pp = load_pickle(
        work / "coco2p" / "main" / "seed1" / "stgcnpp_test_joint" / "epoch1_test_score.pkl"
    )
    assert sorted(scores_pp) == load_label_file(out_b / "test_label.pkl")[0]
    scores_b = load_pickle(work / "coco2p" / "main" / "seed1" / "agcn_test_bone" / "epoch1_test_score.pkl")
    assert sorted(scores_b) == load_label_file(out_b / "test_label.pkl")[0]
    streams_c = pd.read_csv(work / "kinect" / "streams.csv")
    assert sorted(streams_c["fold"]) == ["fold0", "fold1"] and set(streams_c["stream"]) == {"joint_motion"}
    assert "2 fold(s) x 1 seed(s)" in (work / "kinect" / "report.md").read_text()


# -- splits -----------------------------------------------------------------------------------------
def test_folds_are_stratified_deterministic_and_read_every_clip_once(tmp_path, monkeypatch):
    clips = make_clips(tmp_path / "raw", 30, M=1, V=17, C=2, scores=False, seed=0)
    reads = []
    load = custom.load_clip_file
    monkeypatch.setattr(custom, "load_clip_file", lambda path: reads.append(str(path)) or load(path))
    summary = custom.gendata(
        tmp_path / "raw",
        tmp_path / "out",
        "coco",
        folds=3,
        seed=7,
        val_fraction=0.2,
        workers=1,
        starter=False,
    )
    assert summary.exit_code() == 0
    # one scan and one read per clip, whatever the number of folds
    assert len(reads) == 2 * len(clips) and len(set(reads)) == len(clips)
    label = dict(clips)
    tests = []
    for k in range(3):
        parts = {
            p: load_label_file(tmp_path / "out" / f"fold{k}" / f"{p}_label.pkl")[0]
            for p in ("train", "val", "test")
        }
        assert set(parts["train"]) | set(parts["val"]) | set(parts["test"]) == set(label)
        assert not set(parts["train"]) & set(parts["val"]) and not set(parts["val"]) & set(parts["test"])
        counts = np.bincount([label[n] for n in parts["test"]], minlength=3)
        assert counts.max() - counts.min() <= 1 and len(parts["test"]) == 10  # stratified, equal folds
        assert len(parts["val"]) == 3  # 20% of every class of the 20 training clips, at least one each
        tests += parts["test"]
        assert (tmp_path / "out" / f"fold{k}" / "preprocess.json").is_file()
    assert sorted(tests) == sorted(label)  # every clip is tested exactly once
    # the same seed gives the same folds; fold assignment itself is stratified and balanced
    folds = stratified_folds([c[1] for c in clips], 3, seed=7)
    np.testing.assert_array_equal(folds, stratified_folds([c[1] for c in clips], 3, seed=7))
    assert not np.array_equal(folds, stratified_folds([c[1] for c in clips], 3, seed=8))
    fold0 = load_label_file(tmp_path / "out" / "fold0" / "test_label.pkl")[0]
    assert fold0 == sorted(n for (n, _), f in zip(clips, folds) if f == 0)


def test_named_splits_from_a_split_table(tmp_path):
    clips = make_clips(tmp_path / "raw", 9, M=1, V=17, C=2, scores=False, seed=1)
    table = ["name,split1,split2,split3"]
    for i, (name, _) in enumerate(clips):
        table.append(",".join([name] + ["test" if i % 3 == s else "train" for s in range(3)]))
    table.append("c00b,train,,")  # no clip file: reported; an empty cell leaves a clip out of a split
    (tmp_path / "raw" / "split.csv").write_text("\n".join(table) + "\n")
    assert set(read_split_table(tmp_path / "raw" / "split.csv")) == {"split1", "split2", "split3"}
    summary = custom.gendata(tmp_path / "raw", tmp_path / "out", "coco", workers=1)
    assert summary.exit_code() == 0
    for s in range(3):
        names = load_label_file(tmp_path / "out" / f"split{s + 1}" / "test_label.pkl")[0]
        assert names == [n for i, (n, _) in enumerate(clips) if i % 3 == s]
    assert any("1 listed sample(s) have no clip file" in w for w in summary.warnings)
    exp = yaml.safe_load((tmp_path / "out" / "experiment.yaml").read_text())
    assert exp["folds"] == ["split1", "split2", "split3"]
    with pytest.raises(ConfigError, match="expected one of train, val, test"):
        (tmp_path / "bad.csv").write_text("name,a,b\nc00,train,exam\n")
        read_split_table(tmp_path / "bad.csv")


def test_val_fraction_carves_a_val_part_and_refuses_an_ambiguous_val(tmp_path):
    raw = tmp_path / "raw"
    make_clips(raw / "train", 12, M=1, V=17, C=2, scores=False, seed=0)
    make_clips(raw / "test", 3, M=1, V=17, C=2, scores=False, seed=1)
    custom.gendata(raw, tmp_path / "out", "coco", val_fraction=0.25, workers=1, starter=False)
    train, val = (load_label_file(tmp_path / "out" / f"{p}_label.pkl")[1] for p in ("train", "val"))
    assert len(val) == 3 and sorted(val) == [0, 1, 2] and len(train) == 9
    (raw / "test").rename(raw / "val")  # train + val only: val is the held-out set (2s-AGCN's naming)
    with pytest.raises(ConfigError, match="name it test"):
        custom.gendata(raw, tmp_path / "out2", "coco", val_fraction=0.25, workers=1)


# -- the layout travels with the data -----------------------------------------------------------------
def test_configs_take_a_layout_file_or_the_datas_preprocess_json(tmp_path):
    (tmp_path / "k.yaml").write_text(KINECT20_YAML)
    from_file = get_layout(str(tmp_path / "k.yaml"))
    assert from_file.name == "kinect20" and set(from_file.inward) == set(NW_UCLA.inward)
    assert from_file.center == NW_UCLA.center
    raw = tmp_path / "raw"
    make_clips(raw / "train", 4, M=1, V=20, C=3, scores=False, seed=0)
    custom.gendata(raw, tmp_path / "data", tmp_path / "k.yaml", workers=1, starter=False)
    recorded = layout_from_file(tmp_path / "data" / "preprocess.json")
    assert recorded == from_file and get_layout(str(tmp_path / "data" / "layout.yaml")) == from_file
    ucla = tmp_path / "ucla"
    ucla.mkdir()
    (ucla / "preprocess.json").write_text('{"reader": "data_gen.ucla_gendata.read_clip", "options": {}}')
    assert get_layout(str(ucla / "preprocess.json")) == NW_UCLA  # the reader implies the layout
    with pytest.raises(ConfigError, match="unknown layout"):
        get_layout("kinect20")


def test_a_layout_that_does_not_fit_the_data_is_an_error_naming_both_files(tmp_path):
    raw = tmp_path / "raw"
    make_clips(raw / "train", 8, M=1, V=15, C=3, scores=False, seed=0)
    make_clips(raw / "test", 4, M=1, V=15, C=3, scores=False, seed=1)
    (tmp_path / "mocap15.yaml").write_text(MOCAP15_YAML)
    data = tmp_path / "data"
    custom.gendata(raw, data, tmp_path / "mocap15.yaml", workers=1)
    config = data / "configs" / "train_bone.yaml"
    cfg = yaml.safe_load(config.read_text())
    cfg.update(
        num_epoch=1,
        device="cpu",
        num_worker=0,
        work_dir=str(tmp_path / "w"),
        model_saved_name=str(tmp_path / "r"),
    )
    cfg["model_args"]["base_channel"] = 8

    def train_with(layout: object, num_point: int = 15) -> None:
        bad = dict(
            cfg, model_args={**cfg["model_args"], "num_point": num_point, "graph_args": {"layout": layout}}
        )
        config.write_text(yaml.safe_dump(bad))
        run(parse_config(["--config", str(config)]))

    other_edges = yaml.safe_load(MOCAP15_YAML)["layout"]
    other_edges["edges"] = [
        [1, 0],
        [2, 1],
        [3, 1],
        [4, 3],
        [5, 4],
        [6, 1],
        [7, 6],
        [8, 7],
        [9, 0],
        [10, 9],
        [11, 10],
        [12, 0],
        [13, 12],
        [14, 12],
    ]
    with pytest.raises(DataError) as exc:
        train_with(other_edges)
    message = str(exc.value)
    assert "train_feeder_args: the model's layout 'mocap15'" in message and str(config) in message
    assert str(data / "preprocess.json") in message and "(13, 14)" in message and "(12, 14)" in message
    with pytest.raises(
        DataError, match=r"has 17 joints but the data's .*preprocess.json records layout 'mocap15' with 15"
    ):
        train_with("coco", num_point=17)
    train_with(str(data / "preprocess.json"))  # the data's own layout trains
    assert (tmp_path / "w" / "train_summary.json").is_file()


# -- train / val / test ---------------------------------------------------------------------------
def test_val_feeder_args_pick_the_weights_and_feed_the_search(tmp_path, tiny_data):
    make_tiny_dataset(tmp_path / "d", n=16, shape=(3, 12, 25, 2), seed=0, prefix="train")
    make_tiny_dataset(tmp_path / "d", n=8, shape=(3, 12, 25, 2), seed=1, prefix="val")
    make_tiny_dataset(tmp_path / "d", n=8, shape=(3, 12, 25, 2), seed=2, prefix="test")
    cfg = {
        "work_dir": str(tmp_path / "work_dir" / "d" / "agcn_joint"),
        "model_saved_name": str(tmp_path / "runs" / "agcn_joint"),
        "train_feeder_args": {"data_path": str(tmp_path / "d" / "train_data_joint.npy"), "label_path": str(tmp_path / "d" / "train_label.pkl")},
        "val_feeder_args": {"data_path": str(tmp_path / "d" / "val_data_joint.npy"), "label_path": str(tmp_path / "d" / "val_label.pkl")},
        "test_feeder_args": {"window_size": 12},
        "model": "model.agcn.Model",
        "model_args": {"num_class": 4, "num_point": 25, "num_person": 2, "graph": "graph.ntu_rgb_d.Graph", "base_channel": 8},
        "num_epoch": 2, "eval_interval": 1, "batch_size": 4, "num_worker": 0, "device": "cpu", "model_selection": "val",
    }  # fmt: skip
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    summary = run(parse_config(["--config", str(path)]))
    assert summary["best"]["metric"] == "val_top1" and "test_top1" not in summary
    assert Path(summary["best_weights"]).is_file()
    scores = load_pickle(tmp_path / "work_dir" / "d" / "agcn_joint" / "epoch2_val_score.pkl")
    assert sorted(scores) == load_label_file(tmp_path / "d" / "val_label.pkl")[0]
    log = (tmp_path / "work_dir" / "d" / "agcn_joint" / "log.txt").read_text()
    assert "Validation set: 8 samples of" in log and "16 training samples, 8 validation" in log
    # discovery: the test part's labels; the search's labels: the val part (its scores are of val samples)
    assert fusion.test_labels(tmp_path / "d") == tmp_path / "d" / "test_label.pkl"
    assert (
        fusion.validation_labels(
            tmp_path / "d", tmp_path / "work_dir" / "d" / "agcn_joint" / "epoch2_val_score.pkl"
        )
        == tmp_path / "d" / "val_label.pkl"
    )
    (tmp_path / "d" / "test_label.pkl").unlink()  # 2s-AGCN's naming: val is the held-out set
    assert fusion.test_labels(tmp_path / "d") == tmp_path / "d" / "val_label.pkl"
    assert fusion.validation_labels(tmp_path / "d") == tmp_path / "d" / "train_label.pkl"
    for extra, message in (
        ({"val_fraction": 0.25}, "val_feeder_args and val_fraction both"),
        ({"val_feeder_args": {"data_path": "x.npy"}}, "val_feeder_args.label_path: missing"),
    ):
        path.write_text(yaml.safe_dump({**cfg, **extra}))
        with pytest.raises(ConfigError, match=message):
            parse_config(["--config", str(path)])


def test_ensemble_datasets_reads_test_labels_and_searches_on_the_val_part(tmp_path):
    import ensemble

    data, work = tmp_path / "data" / "mine", tmp_path / "work_dir" / "mine"
    rng = np.random.default_rng(0)
    names = {p: [f"{p}{i}" for i in range(6)] for p in ("train", "val", "test")}
    for part, members in names.items():
        save_label_file(members, [i % 3 for i in range(6)], data / f"{part}_label.pkl")
    from engine.scores import save_scores

    for stream in ("joint", "bone"):
        save_scores(
            names["test"], rng.normal(size=(6, 3)), work / f"agcn_test_{stream}" / "epoch1_test_score.pkl"
        )
        save_scores(names["val"], rng.normal(size=(6, 3)), work / f"agcn_{stream}" / "epoch3_val_score.pkl")
    argv = [
        "--datasets",
        "mine",
        "--work-root",
        str(tmp_path / "work_dir"),
        "--data-root",
        str(tmp_path / "data"),
    ]
    assert ensemble.main([*argv, "--search"]) == 0
    jobs = ensemble._jobs(ensemble.build_parser().parse_args([*argv, "--search"]))
    assert jobs[0].labels == data / "test_label.pkl" and jobs[0].val_labels == data / "val_label.pkl"


# -- starter recipe ---------------------------------------------------------------------------------
def _info(n_train: int, n_val: int = 0, **kw) -> starter.DataInfo:
    values = dict(folder=Path("data/x"), num_class=10, channels=3, frames=100, joints=20, persons=1,
                  score_channel=None, n_train=n_train, n_val=n_val, has_test=True, label_map=None)  # fmt: skip
    return starter.DataInfo(**{**values, **kw})


def test_the_recipe_scales_with_the_dataset():
    ucla = starter.recipe(_info(1020))  # NW-UCLA's training views: the measured recipe
    assert (ucla.batch_size, ucla.num_epoch, ucla.step) == (16, 50, [35, 45])
    assert (ucla.validation, ucla.model_selection, ucla.optimizer_agcn) == ("val_fraction", "val", "SGD")
    tiny = starter.recipe(_info(40, n_val=9))  # a 9-clip validation set picks by noise: the last epoch
    assert (tiny.batch_size, tiny.num_epoch, tiny.model_selection, tiny.optimizer_agcn) == (
        16,
        120,
        "last",
        "Adam",
    )
    # train + val without test: val is the held-out set, so the choices come from the training part
    held_out = starter.recipe(_info(1020, n_val=464, has_test=False))
    assert (held_out.validation, held_out.model_selection) == ("val_fraction", "val")
    ntu = starter.recipe(_info(40091))
    assert (ntu.batch_size, ntu.num_epoch, ntu.validation) == (64, 30, "val_fraction")
    assert starter.recipe(_info(6)).batch_size == 3  # two batches an epoch at least
    # time estimate from NW-UCLA's measured bf16 runs: 19.2 min for ImpSGNv2, 38.7 min (65 epochs) for AGCN
    assert starter.estimate_minutes(_info(1020), "impsgnv2", ucla, bf16=True) == pytest.approx(19.2)
    assert starter.estimate_minutes(_info(1020), "impsgnv2", ucla) == pytest.approx(
        19.2 * starter.FP32_SLOWER
    )
    assert starter.estimate_minutes(_info(1020), "agcn", ucla, bf16=True) == pytest.approx(38.7 * 50 / 65)
    two = _info(1020, persons=2, joints=25)  # time grows with persons x joints
    assert starter.estimate_minutes(two, "impsgnv2", ucla, bf16=True) == pytest.approx(19.2 * 2 * 25 / 20)


def test_persons_auto_follow_the_models_person_slots(tmp_path):
    make_tiny_dataset(tmp_path, n=4, shape=(3, 30, 25, 2), prefix="train")
    layout = get_layout("ntu_rgb_d")
    args = {
        "data_path": str(tmp_path / "train_data_joint.npy"),
        "label_path": str(tmp_path / "train_label.pkl"),
        "sampler": {"seg": 10},
    }
    one = builder.build_feeder("feeders.feeder.Feeder", args, "train_feeder_args", layout, num_person=1)
    two = builder.build_feeder("feeders.feeder.Feeder", args, "train_feeder_args", layout, num_person=2)
    assert one[0][0].shape == (3, 10, 25, 1) and two[0][0].shape == (3, 10, 25, 2)
    assert one.transform.sampler.persons == "split" and two.transform.sampler.persons == "keep"
    keep = builder.build_feeder(
        "feeders.feeder.Feeder",
        {**args, "sampler": {"seg": 10, "persons": "split"}},
        "x",
        layout,
        num_person=2,
    )
    assert keep[0][0].shape == (3, 10, 25, 1)  # an explicit choice stays
