"""No config can rot: every shipped config builds and takes a training (or test) step on tiny data,
the generator and the files agree, and 2s-AGCN's own 13 configs run unchanged through main.py."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURES, ROOT, make_tiny_dataset

import main as main_module
from engine import builder
from engine.config import parse_config
from engine.loop import forward_logits
from engine.run import _loss_fn

sys.path.insert(0, str(ROOT / "config"))
import make_configs

SHIPPED = sorted(p for p in (ROOT / "config").rglob("*.yaml"))
REFERENCE = sorted((FIXTURES / "agcn_configs").rglob("*.yaml"))


def test_generator_and_committed_configs_agree():
    generated = make_configs.all_configs()
    on_disk = {p.relative_to(ROOT / "config") for p in SHIPPED}
    assert on_disk == set(generated), "run python config/make_configs.py"
    for rel, text in generated.items():
        assert (ROOT / "config" / rel).read_text() == text, (
            f"{rel} is out of date: run python config/make_configs.py"
        )


def _tiny_pose_pickle(tmp_path: Path, args: dict, num_point: int, num_class: int) -> dict:
    """A 4-clip MMAction2 annotation pickle (the ``pose_pickle`` feeder's input) with ``args['split']``."""
    from utils.io import save_pickle

    rng = np.random.default_rng(0)
    two_d = args.get("dataset") == "coco"
    annotations = []
    for i in range(4):
        ann = {
            "frame_dir": f"S001C001P00{i}R001A00{i + 1}",
            "label": i % num_class,
            "total_frames": 30,
            "keypoint": rng.normal(size=(2, 30, num_point, 2 if two_d else 3)).astype(np.float32),
        }
        if two_d:
            ann["keypoint"] = (ann["keypoint"] * 100 + 500).astype(np.float32)
            ann["keypoint_score"] = rng.uniform(size=(2, 30, num_point)).astype(np.float32)
            ann["img_shape"] = ann["original_shape"] = (1080, 1920)
        annotations.append(ann)
    path = tmp_path / "tiny_annotations.pkl"
    save_pickle(
        {"split": {args["split"]: [a["frame_dir"] for a in annotations]}, "annotations": annotations}, path
    )
    # short clips and at most 2 test clips keep the step cheap; every other key is the config's
    return {**args, "data_path": str(path), "clip_len": 20, "num_clips": min(args.get("num_clips", 1), 2)}


def _tiny_heatmap_pickle(tmp_path: Path, args: dict, num_class: int) -> dict:
    """A 4-clip COCO-17 annotation pickle for the ``posec3d`` feeder; clips shortened and shrunk."""
    from utils.io import save_pickle

    rng = np.random.default_rng(0)
    anns = []
    for i in range(4):
        M, T = 1 + i % 2, 12 + 3 * i
        kp = rng.uniform(100, 400, size=(M, T, 17, 2)).astype(np.float32)
        anns.append({"frame_dir": f"clip{i}", "label": i % num_class, "img_shape": (480, 640),
                     "original_shape": (480, 640), "total_frames": T, "keypoint": kp,
                     "keypoint_score": rng.uniform(0.2, 1, size=(M, T, 17)).astype(np.float32)})  # fmt: skip
    path = tmp_path / "tiny_2d.pkl"
    save_pickle({"split": {args["split"]: [a["frame_dir"] for a in anns]}, "annotations": anns}, path)
    small = {"clip_len": 4, "resize": 24, "input_size": min(args.get("input_size", 64), 24)}
    return {**args, **small, "data_path": str(path), "num_clips": min(args.get("num_clips", 1), 2)}


def _tiny_inputs(tmp_path: Path, cfg, args: dict) -> dict:
    model_args = builder.effective_args(builder.model_class(cfg), cfg.model_args)
    if cfg.feeder == "pose_pickle":
        return _tiny_pose_pickle(tmp_path, args, model_args["num_point"], min(4, model_args["num_class"]))
    if cfg.feeder == "posec3d":
        return _tiny_heatmap_pickle(tmp_path, args, min(4, model_args["num_class"]))
    shape = (model_args.get("in_channels", 3), 24, model_args["num_point"], 2)
    make_tiny_dataset(tmp_path, n=4, shape=shape, num_class=min(4, model_args["num_class"]), prefix="tiny")
    args = dict(args)
    args["data_path"] = str(tmp_path / "tiny_data_joint.npy")
    args["label_path"] = str(tmp_path / "tiny_label.pkl")
    return args


_STEPPED: set[str] = set()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT / "config")))
def test_every_shipped_config_builds_and_steps(tmp_path, path):
    cfg = parse_config(["--config", str(path)])
    torch.manual_seed(0)
    model = builder.build_model(cfg)
    layout = builder.model_layout(model)
    key = "train_feeder_args" if cfg.phase == "train" else "test_feeder_args"
    args = _tiny_inputs(tmp_path, cfg, getattr(cfg, key))
    dataset = builder.build_feeder(cfg.feeder, args, key, layout)
    builder.check_data_against_model(dataset, key, builder.model_class(cfg), cfg.model_args)
    batch = torch.from_numpy(np.stack([dataset[i][0] for i in range(2)]))
    labels = torch.tensor([dataset[i][1] for i in range(2)])
    # configs that differ only in their data (stream, split, paths) give the model the same step:
    # take it once per (model, arguments, phase, optimisation, batch shape)
    step = json.dumps(
        [cfg.model, cfg.model_args, cfg.phase, cfg.optimizer, cfg.loss, list(batch.shape)], default=str
    )
    if step in _STEPPED:
        assert torch.isfinite(batch).all() and len(set(labels.tolist())) == 2
        return
    _STEPPED.add(step)
    if cfg.phase == "train":
        model.train()
        optimizer = builder.build_optimizer(cfg, model)
        logits, _ = forward_logits(model, batch)
        loss = _loss_fn(cfg)(logits, labels)
        loss.backward()
        optimizer.step()
        assert torch.isfinite(loss)
    else:
        model.eval()
        with torch.no_grad():
            logits, _ = forward_logits(model, batch)
    assert logits.shape == (2, cfg.model_args["num_class"])


def _reference_data_tree(root: Path) -> None:
    """./data/<dataset>/{train,val}_data_{joint,bone}.npy + labels, tiny, as 2s-AGCN's configs expect."""
    for dataset, V, num_class in (("ntu/xsub", 25, 60), ("ntu/xview", 25, 60), ("kinetics", 18, 400)):
        folder = root / "data" / dataset
        for part in ("train", "val"):
            make_tiny_dataset(folder, n=4, shape=(3, 16, V, 2), num_class=num_class, prefix=part)
            joint = folder / f"{part}_data_joint.npy"
            (folder / f"{part}_data_bone.npy").write_bytes(joint.read_bytes())


@pytest.mark.parametrize("path", REFERENCE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_2s_agcn_configs_run_unchanged(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    _reference_data_tree(tmp_path)
    cfg = parse_config(["--config", str(path)])
    quick = ["--num-epoch", "1", "--batch-size", "2", "--test-batch-size", "4", "--num-worker", "0"]
    if cfg.phase == "test":
        # a 2s-AGCN weight file (plain state dict, no metadata) under the name the config expects
        model = builder.build_model(cfg)
        Path(cfg.weights).parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), cfg.weights)
    expect_fallback = pytest.warns(UserWarning, match="CUDA is not available")
    with expect_fallback if not torch.cuda.is_available() else contextlib.nullcontext():
        code = main_module.main(["--config", str(path), *quick])
    assert code == 0
    work_dir = Path(cfg.work_dir)
    if cfg.phase == "test":
        assert (work_dir / "epoch1_test_score.pkl").is_file()
    else:
        assert list(Path(cfg.model_saved_name).parent.glob(Path(cfg.model_saved_name).name + "-0-*.pt"))
