"""MMAction2's skeleton GCN pipeline (feeders.pose_pipeline) against MMAction2 1.2.0's own outputs.

Every transform and the whole test pipeline must be bit-exact. ``tests/fixtures/mmaction/`` holds a
subset of the reference files (the sampling indices in full; other arrays as a SHA-256 digest plus a
strided sample that gives a readable failure); with ``../shared`` present the full reference files are
compared too. See tests/fixtures/mmaction/README.md.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import FIXTURES, shared_or_skip

from feeders import pose_pipeline as pp
from utils.io import load_pickle

FIX = FIXTURES / "mmaction"
NTU, COCO, OPENPOSE = pp.LAYOUTS["nturgb+d"], pp.LAYOUTS["coco"], pp.LAYOUTS["openpose"]


@pytest.fixture(scope="module")
def expected():
    with np.load(FIX / "expected.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def anns3d():
    return {a["frame_dir"]: a for a in load_pickle(FIX / "example_ntu60_3d.pkl")["annotations"]}


@pytest.fixture(scope="module")
def anns2d():
    return {a["frame_dir"]: a for a in load_pickle(FIX / "example_ntu60_2d.pkl")["annotations"]}


def assert_golden(actual: np.ndarray, expected: dict, key: str) -> None:
    """Exact equality with a reference array stored as ``key#sample`` + ``key#digest``."""
    dtype, shape, sha = str(expected[f"{key}#digest"]).split("|")
    actual = np.ascontiguousarray(actual)
    assert (actual.dtype.str, actual.shape) == (dtype, tuple(int(s) for s in shape.split(","))), key
    flat = actual.reshape(-1)
    np.testing.assert_array_equal(flat[:: max(1, flat.size // 200)], expected[f"{key}#sample"], err_msg=key)
    assert hashlib.sha256(actual.tobytes()).hexdigest() == sha, f"{key}: values differ from the reference"


def clips_of(expected: dict, prefix: str) -> list[str]:
    """Clip names under ``prefix`` (``3d/prenorm3d/``, ``2d/genskefeat_coco/b/``, ...) of the fixture."""
    return sorted({k[len(prefix) :].split("/")[0].split("#")[0] for k in expected if k.startswith(prefix)})


# -- UniformSampleFrames --------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["train_x1", "train_x3", "val_x1", "test_x10"])
def test_sampling_indices_for_every_length(expected, mode):
    num_clips = int(mode.split("_x")[1])
    test_mode = not mode.startswith("train")
    state = np.random.get_state()
    for n in expected["sampling/lengths"]:
        rng = np.random.RandomState(n)  # the reference ran np.random.seed(n) before the train calls
        inds = pp.uniform_sample_frames(n, 100, num_clips, test_mode, rng=rng)
        assert inds.dtype == np.int32 and inds.shape == (100 * num_clips,)
        np.testing.assert_array_equal(inds, expected[f"sampling/{mode}/n{n}"], err_msg=f"n={n}")
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(state, after)), "test mode must not touch the global RNG"


def test_train_sampling_draws_from_the_global_generator_without_reseeding(expected):
    np.random.seed(37)
    first = pp.uniform_sample_frames(37, 100, 3)
    second = pp.uniform_sample_frames(37, 100, 3)  # the state moved on: other frames
    np.testing.assert_array_equal(first, expected["sampling/train_x3/n37"])
    assert not np.array_equal(first, second)


def test_validation_clip_is_the_first_test_clip(expected):
    for n in expected["sampling/lengths"]:
        np.testing.assert_array_equal(
            expected[f"sampling/val_x1/n{n}"], expected[f"sampling/test_x10/n{n}"][:100]
        )
        np.testing.assert_array_equal(
            pp.uniform_sample_frames(n, 100, 1, True), pp.uniform_sample_frames(n, 100, 10, True)[:100]
        )


def test_empty_clip_cannot_be_sampled():
    with pytest.raises(ValueError, match="empty clip"):
        pp.uniform_sample_frames(0, 100)


# -- PreNormalize3D / 2D ----------------------------------------------------------------------------
def test_prenormalize_3d_is_exact(expected, anns3d):
    for fd in clips_of(expected, "3d/prenorm3d/"):
        kp, total, center = pp.pre_normalize_3d(anns3d[fd]["keypoint"])
        assert_golden(kp, expected, f"3d/prenorm3d/{fd}/keypoint")
        assert total == int(expected[f"3d/prenorm3d/{fd}/total_frames"])
        np.testing.assert_array_equal(center, expected[f"3d/prenorm3d/{fd}/body_center"])
    # edge cases of the subset: 5 empty frames dropped; persons swapped (person 0 absent for 40 frames)
    assert int(expected["3d/prenorm3d/S003C003P007R001A024/total_frames"]) == 95
    assert pp.pre_normalize_3d(anns3d["S004C001P010R002A050"]["keypoint"])[1] == 150


def test_prenormalize_3d_other_joint_counts_and_edge_cases(expected):
    kp = expected["mmaction/in/v17_kp"]  # V=17: the centre is the last joint; persons swapped
    out, total, _ = pp.pre_normalize_3d(kp)
    np.testing.assert_array_equal(out, expected["mmaction/out/prenorm3d_v17/keypoint"])
    assert total == int(expected["mmaction/out/prenorm3d_v17/total_frames"])
    zeros = np.zeros((1, 4, 25, 3), np.float32)
    same, total, center = pp.pre_normalize_3d(zeros)  # all zero: unchanged
    assert same is zeros and total == 4 and center is None
    with pytest.raises(ValueError, match="1 or 2 persons"):
        pp.pre_normalize_3d(np.ones((3, 4, 25, 3), np.float32))
    # joint 1 at the origin; shoulders (4 -> 8) along +x; the spine (0 -> 1) along +z before that rotation
    clip = np.random.default_rng(0).normal(size=(1, 5, 25, 3)).astype(np.float32)
    out, _, _ = pp.pre_normalize_3d(clip)
    np.testing.assert_allclose(out[0, 0, 1], 0, atol=1e-6)
    shoulders = out[0, 0, 8] - out[0, 0, 4]
    np.testing.assert_allclose(shoulders[1:], 0, atol=1e-6)
    assert shoulders[0] > 0
    spine = np.diff(pp.pre_normalize_3d(clip, xaxis=None)[0][0, 0, :2], axis=0)[0]
    np.testing.assert_allclose(spine[:2], 0, atol=1e-6)
    assert spine[2] > 0


def test_prenormalize_2d_is_exact(expected, anns2d):
    for fd in clips_of(expected, "2d/prenorm2d/"):
        ann = anns2d[fd]
        before = ann["keypoint"].copy()
        out = pp.pre_normalize_2d(ann["keypoint"], ann.get("img_shape"))
        assert_golden(out, expected, f"2d/prenorm2d/{fd}/keypoint")
        np.testing.assert_array_equal(ann["keypoint"], before)  # the annotation is not modified
    assert tuple(anns2d["S005C002P013R001A008"]["img_shape"]) == (720, 1280)


# -- GenSkeFeat -------------------------------------------------------------------------------------
@pytest.mark.parametrize("feat", ["b", "jm", "bm"])
def test_genskefeat_ntu_from_the_pipeline(expected, anns3d, feat):
    clips = [fd for fd in clips_of(expected, f"3d/genskefeat_ntu/{feat}/")]
    assert len(clips) == 3
    for fd in clips:
        kp, _, _ = pp.pre_normalize_3d(anns3d[fd]["keypoint"])
        out = pp.gen_ske_feat(kp, NTU, [feat])
        assert out.dtype == (np.float64 if feat == "jm" else np.float32)
        assert_golden(out, expected, f"3d/genskefeat_ntu/{feat}/{fd}")


@pytest.mark.parametrize("feat", ["b", "jm", "bm"])
def test_genskefeat_coco_with_score_channel(expected, anns2d, feat):
    for fd in clips_of(expected, f"2d/genskefeat_coco/{feat}/"):
        ann = anns2d[fd]
        kp = pp.pre_normalize_2d(ann["keypoint"], ann["img_shape"])
        assert_golden(
            pp.gen_ske_feat(kp, COCO, [feat], ann["keypoint_score"]),
            expected,
            f"2d/genskefeat_coco/{feat}/{fd}",
        )


@pytest.mark.parametrize("feat", ["b", "jm", "bm"])
def test_genskefeat_openpose(expected, feat):
    out = pp.gen_ske_feat(expected["mmaction/in/op_kp"], OPENPOSE, [feat], expected["mmaction/in/op_score"])
    np.testing.assert_array_equal(out, expected["mmaction/out/openpose/" + feat])


def test_bone_tables_are_mmaction2s_not_the_graph_edges():
    parents = NTU.parents
    assert parents[21] == 22 and parents[22] == 7 and parents[23] == 24 and parents[20] == 20
    assert COCO.parents[11] == 0 and COCO.parents[12] == 0 and COCO.parents[0] == 0
    kp = np.random.default_rng(1).normal(size=(1, 3, 25, 3))
    bone = pp.gen_ske_feat(kp, NTU, ["b"])
    assert bone.dtype == np.float32 and not bone[..., 20, :].any()
    both = pp.gen_ske_feat(kp, NTU, ["j", "b", "jm", "bm"])  # concatenated in order, float64
    assert both.shape == (1, 3, 25, 12) and both.dtype == np.float64
    np.testing.assert_array_equal(both[..., 3:6], bone)
    with pytest.raises(ValueError, match="takes no keypoint_score"):
        pp.gen_ske_feat(kp, NTU, ["j"], np.ones((1, 3, 25)))


# -- PoseDecode, FormatGCNInput, the whole test pipeline -------------------------------------------
def test_format_gcn_input_pads_trims_and_loops(expected):
    loop = pp.format_gcn_input(expected["mmaction/in/loop_kp"], num_clips=2, num_person=2, mode="loop")
    np.testing.assert_array_equal(loop, expected["mmaction/out/loop/out"])
    x = np.arange(3 * 4 * 2 * 1, dtype=np.float32).reshape(3, 4, 2, 1) + 1
    out = pp.format_gcn_input(x, num_clips=2, num_person=2)  # three persons: the first two kept
    assert out.shape == (2, 2, 2, 2, 1) and out.flags.c_contiguous
    np.testing.assert_array_equal(out[1, 0, :, :, 0], x[0, 2:4, :, 0])
    zero = pp.format_gcn_input(x[:1], num_clips=1, num_person=2)
    assert not zero[0, 1].any()


def test_test_pipeline_3d_is_exact(expected, anns3d):
    for fd in clips_of(expected, "3d/test_pipeline/"):
        if f"3d/test_pipeline/{fd}/inputs#digest" not in expected or fd not in anns3d:
            continue
        kp, total, _ = pp.pre_normalize_3d(anns3d[fd]["keypoint"])
        inds = pp.uniform_sample_frames(total, 100, 10, test_mode=True)
        np.testing.assert_array_equal(inds, expected[f"3d/test_pipeline/{fd}/frame_inds"])
        assert_golden(
            pp.gcn_clip(anns3d[fd], NTU, ["j"], 100, 10, True), expected, f"3d/test_pipeline/{fd}/inputs"
        )
        train = pp.uniform_sample_frames(total, 100, rng=np.random.RandomState(1000 + int(fd[1:4]) - 1))
        np.testing.assert_array_equal(train, expected[f"3d/train_pipeline/{fd}/frame_inds"])


def test_test_pipeline_2d_is_exact(expected, anns2d):
    fd = "S005C002P013R001A008"
    out = pp.gcn_clip(anns2d[fd], COCO, ["j"], 100, 10, True)
    assert_golden(out, expected, f"2d/test_pipeline/{fd}/inputs")


def test_dict_transforms_match_the_functions(anns2d, anns3d):
    pipeline = pp.Compose(
        [
            pp.PreNormalize2D(),
            pp.GenSkeFeat("coco", ["b"]),
            pp.UniformSampleFrames(32, num_clips=2, test_mode=True),
            pp.PoseDecode(),
            pp.FormatGCNInput(num_person=2),
        ]
    )
    ann = anns2d["S004C001P010R002A050"]
    results = pipeline(dict(ann))
    np.testing.assert_array_equal(results["keypoint"], pp.gcn_clip(ann, COCO, ["b"], 32, 2, True))
    assert results["frame_inds"].shape == (64,) and "keypoint_score" not in results
    assert ann["keypoint"].shape == (2, 150, 17, 2)  # the input dict is untouched
    ann3 = anns3d["S003C003P007R001A024"]
    res3 = pp.PreNormalize3D()(dict(ann3))
    assert (
        res3["total_frames"] == 95
        and res3["keypoint"].dtype == np.float64
        and res3["body_center"].shape == (3,)
    )
    # PoseDecode also decodes a score still present (PoseC3D keeps it for heatmaps)
    dec = pp.PoseDecode()(
        {"keypoint": ann["keypoint"], "keypoint_score": ann["keypoint_score"], "frame_inds": np.array([3, 1])}
    )
    assert dec["keypoint_score"].shape == (2, 2, 17) and dec["keypoint"].dtype == np.float32


def test_to_nctvm():
    x = np.random.default_rng(2).normal(size=(3, 2, 5, 4, 3)).astype(np.float32)  # (K, M, T, V, C)
    y = pp.to_nctvm(x)
    assert y.shape == (3, 3, 5, 4, 2)
    assert y[1, 2, 3, 0, 1] == x[1, 1, 3, 0, 2]


def test_layouts_as_data_and_errors():
    custom = pp.get_pose_layout({"num_node": 3, "bone_pairs": [[0, 0], [1, 0], [2, 1]], "coords": 3})
    assert custom.parents.tolist() == [0, 0, 1] and custom.score_channel
    assert pp.get_pose_layout("ntu_rgb_d") is NTU and pp.stream_feats("bone_motion") == ["bm"]
    with pytest.raises(ValueError, match="no bone pair"):
        pp.get_pose_layout({"num_node": 3, "bone_pairs": [[0, 0], [1, 0]]})
    with pytest.raises(ValueError, match="unknown dataset 'cocoa'"):
        pp.get_pose_layout("cocoa")
    with pytest.raises(ValueError, match="unknown stream 'bones'"):
        pp.stream_feats("bones")


# -- the full reference files (../shared) ---------------------------------------------------------
def test_every_reference_array_with_shared():
    g = shared_or_skip("golden/mmaction2")
    z3, z2 = np.load(g / "gcn_pipeline_ntu60_3d.npz"), np.load(g / "gcn_pipeline_ntu60_2d.npz")
    for ann in load_pickle(g / "example_ntu60_3d.pkl")["annotations"]:
        fd = ann["frame_dir"]
        kp, total, center = pp.pre_normalize_3d(ann["keypoint"])
        np.testing.assert_array_equal(kp, z3[f"prenorm3d/{fd}/keypoint"])
        assert total == z3[f"prenorm3d/{fd}/total_frames"]
        np.testing.assert_array_equal(center, z3[f"prenorm3d/{fd}/body_center"])
        for feat in ("b", "jm", "bm"):
            if f"genskefeat_ntu/{feat}/{fd}" in z3:
                np.testing.assert_array_equal(
                    pp.gen_ske_feat(kp, NTU, [feat]), z3[f"genskefeat_ntu/{feat}/{fd}"]
                )
        np.testing.assert_array_equal(
            pp.gcn_clip(ann, NTU, ["j"], 100, 10, True), z3[f"test_pipeline/{fd}/inputs"]
        )
        np.testing.assert_array_equal(
            pp.uniform_sample_frames(total, 100, 10, True), z3[f"test_pipeline/{fd}/frame_inds"]
        )
        rng = np.random.RandomState(1000 + int(fd[1:4]) - 1)
        np.testing.assert_array_equal(
            pp.uniform_sample_frames(total, 100, rng=rng), z3[f"train_pipeline/{fd}/frame_inds"]
        )
    for ann in load_pickle(g / "example_ntu60_2d.pkl")["annotations"]:
        fd = ann["frame_dir"]
        kp = pp.pre_normalize_2d(ann["keypoint"], ann["img_shape"])
        np.testing.assert_array_equal(kp, z2[f"prenorm2d/{fd}/keypoint"])
        for feat in ("b", "jm", "bm"):
            if f"genskefeat_coco/{feat}/{fd}" in z2:
                out = pp.gen_ske_feat(kp, COCO, [feat], ann["keypoint_score"])
                np.testing.assert_array_equal(out, z2[f"genskefeat_coco/{feat}/{fd}"])
        if f"test_pipeline/{fd}/inputs" in z2:
            np.testing.assert_array_equal(
                pp.gcn_clip(ann, COCO, ["j"], 100, 10, True), z2[f"test_pipeline/{fd}/inputs"]
            )
