"""Bone and motion stream files: golden equality, every layout's bone graph, options, publication, CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, golden

from data_gen.common import derive_file, setup_logging
from data_gen.gen_bone_data import gen_bone, infer_layout
from data_gen.gen_motion_data import gen_motion
from feeders.streams import make_stream
from graph.layouts import LAYOUTS, get_layout
from utils.errors import ConfigError

setup_logging()

# 2s-AGCN's bone pair tables (gen_bone_data.py), written out independently of graph.layouts.
NTU_PAIRS_1BASED = [
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11),
    (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23), (21, 21), (23, 8),
    (24, 25), (25, 12),
]  # fmt: skip
KINETICS_PAIRS = [
    (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 5), (12, 11),
    (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
]  # fmt: skip


def reference_bone(joint: np.ndarray, pairs) -> np.ndarray:
    """2s-AGCN's loop: start from a copy of the joints, overwrite each v1 with joint[v1] - joint[v2]."""
    bone = joint.copy()
    for v1, v2 in pairs:
        bone[:, :, :, v1] = joint[:, :, :, v1] - joint[:, :, :, v2]
    return bone


@pytest.fixture(scope="module")
def ntu_root(tmp_path_factory):
    """data_root with ntu/xsub/{train,val}_data_joint.npy (golden) and bone + motion generated from them."""
    root = tmp_path_factory.mktemp("streams")
    gold = golden("ntu_gendata/expected_xsub.npz")
    (root / "ntu" / "xsub").mkdir(parents=True)
    for part in ("train", "val"):
        np.save(root / "ntu" / "xsub" / f"{part}_data_joint.npy", gold[f"{part}_data_joint"])
    bone = gen_bone(["ntu/xsub"], root)
    motion = gen_motion(["ntu/xsub"], root)
    return root, gold, bone, motion


@pytest.mark.parametrize("stream", ["bone", "joint_motion", "bone_motion"])
@pytest.mark.parametrize("part", ["train", "val"])
def test_ntu_streams_equal_golden_bit_for_bit(ntu_root, stream, part):
    root, gold, bone, motion = ntu_root
    assert bone.exit_code() == 0 and motion.exit_code() == 0
    out = np.load(root / "ntu" / "xsub" / f"{part}_data_{stream}.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.view(np.uint32), gold[f"{part}_data_{stream}"].view(np.uint32))


def test_kinetics_bone_equals_golden_bit_for_bit(tmp_path):
    gold = golden("kinetics_gendata/expected.npz")
    (tmp_path / "kinetics").mkdir()
    for part in ("train", "val"):
        np.save(tmp_path / "kinetics" / f"{part}_data_joint.npy", gold[f"{part}_data_joint"])
    assert gen_bone(["kinetics"], tmp_path).exit_code() == 0
    for part in ("train", "val"):
        out = np.load(tmp_path / "kinetics" / f"{part}_data_bone.npy")
        np.testing.assert_array_equal(out.view(np.uint32), gold[f"{part}_data_bone"].view(np.uint32))
        np.testing.assert_array_equal(out, reference_bone(gold[f"{part}_data_joint"], KINETICS_PAIRS))


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_bone_graph(tmp_path, name):
    """Each named layout: the bone file is joint minus the parent on the path to the bone root."""
    layout = get_layout(name)
    joint = np.random.default_rng(0).standard_normal((5, 3, 7, layout.num_node, 2)).astype(np.float32)
    (tmp_path / "custom").mkdir()
    np.save(tmp_path / "custom" / "train_data_joint.npy", joint)
    assert gen_bone(["custom"], tmp_path, parts=["train"], layout=name).exit_code() == 0
    bone = np.load(tmp_path / "custom" / "train_data_bone.npy")
    parent = dict(layout.bone_pairs())
    assert sum(v == p for v, p in parent.items()) == 1  # exactly one root, with a zero bone
    for v, p in parent.items():
        np.testing.assert_array_equal(bone[:, :, :, v], joint[:, :, :, v] - joint[:, :, :, p])
    # every bone is a graph edge, except in layouts with their own bone list (MMAction2's nturgb+d hands)
    edges = {frozenset(e) for e in layout.inward}
    on_edges = [frozenset((v, p)) in edges for v, p in parent.items() if v != p]
    assert all(on_edges) if not layout.bones else sum(not e for e in on_edges) == 2
    if name == "ntu_rgb_d":
        np.testing.assert_array_equal(
            bone, reference_bone(joint, [(a - 1, b - 1) for a, b in NTU_PAIRS_1BASED])
        )
    if name == "openpose":
        np.testing.assert_array_equal(bone, reference_bone(joint, KINETICS_PAIRS))


def test_layout_inference():
    assert infer_layout("ntu/xsub") == infer_layout("ntu120/xset120") == "ntu_rgb_d"
    assert infer_layout("kinetics") == "openpose" and infer_layout("nw-ucla/xview") == "nw_ucla"
    with pytest.raises(
        ConfigError, match=r"cannot infer the skeleton layout of dataset 'mydata' \(.*\); pass --layout"
    ):
        infer_layout("mydata")


def test_bone_motion_from_joint_when_bone_file_is_missing(ntu_root, tmp_path):
    root, gold, _, _ = ntu_root
    (tmp_path / "ntu" / "xsub").mkdir(parents=True)
    shutil.copy(root / "ntu" / "xsub" / "val_data_joint.npy", tmp_path / "ntu" / "xsub")
    summary = gen_motion(["ntu/xsub"], tmp_path, parts=["val"], streams=["bone"])
    assert summary.exit_code() == 0
    np.testing.assert_array_equal(
        np.load(tmp_path / "ntu" / "xsub" / "val_data_bone_motion.npy"), gold["val_data_bone_motion"]
    )
    assert not (tmp_path / "ntu" / "xsub" / "val_data_bone.npy").exists()


def test_score_channel_is_kept_as_a_mean(tmp_path):
    joint = golden("kinetics_gendata/expected.npz")["val_data_joint"]
    (tmp_path / "kinetics").mkdir()
    np.save(tmp_path / "kinetics" / "val_data_joint.npy", joint)
    gen_bone(["kinetics"], tmp_path, parts=["val"], score_channel=2)
    gen_motion(["kinetics"], tmp_path, parts=["val"], streams=["joint"], score_channel=2)
    bone = np.load(tmp_path / "kinetics" / "val_data_bone.npy")
    np.testing.assert_array_equal(bone[:, :2], reference_bone(joint, KINETICS_PAIRS)[:, :2])
    parents = [p for _, p in KINETICS_PAIRS]
    np.testing.assert_allclose(bone[:, 2], (joint[:, 2] + joint[:, 2][:, :, parents]) / 2)
    motion = np.load(tmp_path / "kinetics" / "val_data_joint_motion.npy")
    np.testing.assert_allclose(motion[:, 2, :-1], (joint[:, 2, 1:] + joint[:, 2, :-1]) / 2)
    assert not motion[:, :, -1].any()


def test_chunked_derivation_matches_whole_array(tmp_path):
    joint = golden("ntu_gendata/expected_xsub.npz")["train_data_joint"]
    np.save(tmp_path / "joint.npy", joint)
    n = derive_file(
        tmp_path / "joint.npy", tmp_path / "motion.npy", lambda x: make_stream(x, "joint_motion"), "t", 3
    )
    assert n == 8
    np.testing.assert_array_equal(np.load(tmp_path / "motion.npy"), make_stream(joint, "joint_motion"))


def test_missing_or_wrong_inputs_are_reported(tmp_path):
    summary = gen_bone(["ntu/xsub"], tmp_path)
    assert summary.exit_code() == 1
    assert any("ntu/xsub/train_data_joint.npy: file not found" in m for m in summary.bad)
    (tmp_path / "kinetics").mkdir()
    np.save(tmp_path / "kinetics" / "val_data_joint.npy", np.zeros((2, 3, 10, 25, 2), np.float32))
    (tmp_path / "kinetics" / "train_data_joint.npy").write_bytes(b"not an array")
    summary = gen_bone(["kinetics"], tmp_path)
    assert summary.exit_code() == 1
    text = "\n".join(summary.bad)
    assert (
        "val_data_joint.npy: expected (N, C, T, 18, M) for layout 'openpose', got shape (2, 3, 10, 25, 2)"
        in text
    )
    assert "train_data_joint.npy: not a readable .npy array" in text
    assert sorted(p.name for p in (tmp_path / "kinetics").iterdir()) == [
        "train_data_joint.npy",
        "val_data_joint.npy",
    ]


def test_existing_outputs_are_kept_unless_overwrite(ntu_root):
    root, _, _, _ = ntu_root
    target = root / "ntu" / "xsub" / "val_data_bone.npy"
    stamp = target.stat().st_mtime_ns
    summary = gen_bone(["ntu/xsub"], root)
    assert {s.status for s in summary.splits.values()} == {"exists"} and summary.exit_code() == 0
    assert target.stat().st_mtime_ns == stamp
    assert (
        gen_bone(["ntu/xsub"], root, parts=["val"], overwrite=True).splits["ntu/xsub/val"].status == "written"
    )


def test_cli_runs(ntu_root, tmp_path):
    root, gold, _, _ = ntu_root
    (tmp_path / "ntu" / "xsub").mkdir(parents=True)
    shutil.copy(root / "ntu" / "xsub" / "train_data_joint.npy", tmp_path / "ntu" / "xsub")
    args = ["--data_root", str(tmp_path), "--dataset", "ntu/xsub", "--parts", "train"]
    for script in ("gen_bone_data.py", "gen_motion_data.py"):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "data_gen" / script), *args], cwd=ROOT, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
    for stream in ("bone", "joint_motion", "bone_motion"):
        np.testing.assert_array_equal(
            np.load(tmp_path / "ntu" / "xsub" / f"train_data_{stream}.npy"), gold[f"train_data_{stream}"]
        )
    assert sorted(p.name for p in Path(tmp_path / "ntu" / "xsub").iterdir()) == [
        "train_data_bone.npy",
        "train_data_bone_motion.npy",
        "train_data_joint.npy",
        "train_data_joint_motion.npy",
    ]
