"""PoseC3D's heatmap pipeline against MMAction2 1.2.0's outputs on the golden clips.

``tests/fixtures/posec3d/pipeline.npz`` is a compact copy of ``shared/golden/mmaction2/posec3d_pipeline.npz``
(frame indices, boxes, per-view/channel sums, maxima and non-zero counts, and frame 20 of every
volume); the clips are ``example_posec3d_2d.pkl`` (4 clips exercising short, long, two-person,
missing, NaN, below-eps and out-of-image joints). With ``../shared`` beside the checkout every
intermediate step is compared too.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from feeders import heatmap as hm
from feeders.pose_pipeline import pose_decode
from feeders.posec3d import PoseC3DFeeder, annotation_problem
from tests.conftest import FIXTURES, golden, shared_or_skip
from utils.errors import ConfigError, DataError
from utils.io import load_pickle, save_pickle

PKL = FIXTURES / "posec3d" / "example_posec3d_2d.pkl"
G = golden("posec3d/pipeline.npz")
FRAME = int(G["frame"])
ANNS = load_pickle(PKL)["annotations"]
TEST = hm.HeatmapPipeline(crop="center", input_size=64, double=True)
VAL = hm.HeatmapPipeline(crop="center", input_size=64)
TRAIN = hm.HeatmapPipeline(crop="random_resized", input_size=56, flip_ratio=0.5)


def assert_volume(vol: np.ndarray, prefix: str, frame_views: slice | list[int] = slice(None)) -> None:
    """Per (view, channel) sums (rtol 1e-6), maxima and non-zero counts (exact), and frame ``FRAME``."""
    v64 = vol.astype(np.float64)
    np.testing.assert_array_equal((vol != 0).sum(axis=(2, 3, 4)), G[prefix + "nonzero"])
    np.testing.assert_allclose(vol.max(axis=(2, 3, 4)), G[prefix + "max"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(v64.sum(axis=(2, 3, 4)), G[prefix + "sum"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(vol[frame_views, :, FRAME], G[prefix + "frame"], rtol=0, atol=1e-6)


def with_kind(pipeline: hm.HeatmapPipeline, kind: str) -> hm.HeatmapPipeline:
    from dataclasses import replace

    return replace(pipeline, heatmap=kind)


@pytest.mark.parametrize("clip", range(4))
def test_test_pipeline_equals_mmaction2(clip):
    ann, p = ANNS[clip], f"clip{clip}/test/"
    inds = G[p + "frame_inds"]
    kp, _, shape = TEST.geometry(ann["keypoint"], ann["keypoint_score"], ann["img_shape"], inds)
    assert shape == (64, 64)
    for kind in ("keypoint", "limb"):
        vol = with_kind(TEST, kind)(ann["keypoint"], ann["keypoint_score"], ann["img_shape"], inds)
        assert vol.shape == (20, 17, 48, 64, 64) and vol.dtype == np.float32
        assert_volume(vol, p + f"{kind}/", [0, 10])


@pytest.mark.parametrize("clip", range(4))
def test_val_pipeline_and_center_crop_56(clip):
    ann, p = ANNS[clip], f"clip{clip}/val/"
    inds = G[p + "frame_inds"]
    np.testing.assert_array_equal(inds, G[f"clip{clip}/test/frame_inds"][:48])
    kp, shape = hm.pose_compact(pose_decode(ann["keypoint"], inds), ann["img_shape"])
    np.testing.assert_array_equal(shape, G[p + "compact_shape"])
    _, shape = hm.resize(kp, shape, (-1, 64))
    assert hm.center_crop_box(shape, 64) == tuple(G[p + "crop_bbox"])
    vol = VAL(ann["keypoint"], ann["keypoint_score"], ann["img_shape"], inds)
    assert vol.shape == (1, 17, 48, 64, 64)
    assert_volume(vol, p + "keypoint/")
    # CenterCrop(56) after the short-side-64 resize: offsets (4, 4), missing joints move to (-4, -4)
    p56 = f"clip{clip}/test_crop56/"
    crop56 = hm.HeatmapPipeline(crop="center", input_size=56, double=True)
    tinds = G[f"clip{clip}/test/frame_inds"]
    vol = crop56(ann["keypoint"], ann["keypoint_score"], ann["img_shape"], tinds)
    assert vol.shape == (20, 17, 48, 56, 56)
    np.testing.assert_array_equal((vol != 0).sum(axis=(2, 3, 4)), G[p56 + "keypoint/nonzero"])
    np.testing.assert_allclose(vol.astype(np.float64).sum(axis=(2, 3, 4)), G[p56 + "keypoint/sum"], rtol=1e-6)


def test_compact_box_covers_all_clips_and_differs_from_val():
    """PoseCompact's box spans all 10 test clips, so test view 0 and val can differ (clip 1)."""
    ann = ANNS[1]
    test_shape = hm.pose_compact(pose_decode(ann["keypoint"], G["clip1/test/frame_inds"]), ann["img_shape"])[
        1
    ]
    val_shape = hm.pose_compact(pose_decode(ann["keypoint"], G["clip1/val/frame_inds"]), ann["img_shape"])[1]
    assert test_shape == tuple(G["clip1/test/compact_shape"]) == (1051, 1052)
    assert val_shape == tuple(G["clip1/val/compact_shape"]) == (1052, 1052)


@pytest.mark.parametrize("clip", range(4))
def test_train_pipeline_with_mmaction2_random_draws(clip):
    """Seeded like MMAction2 (np.random.seed(s); random.seed(s)): sampling, crop box, flip and volumes."""
    from feeders.pose_pipeline import uniform_sample_frames

    ann, p = ANNS[clip], f"clip{clip}/train/"
    seed = int(G[p + "seed"])
    rng, py_rng = np.random.RandomState(seed), random.Random(seed)
    inds = uniform_sample_frames(ann["total_frames"], 48, 1, False, rng=rng)
    np.testing.assert_array_equal(inds, G[p + "frame_inds"])
    state = rng.get_state(), py_rng.getstate()
    for kind in ("keypoint", "limb"):  # the limb run uses the same draws
        rng.set_state(state[0])
        py_rng.setstate(state[1])
        vol = with_kind(TRAIN, kind)(
            ann["keypoint"], ann["keypoint_score"], ann["img_shape"], inds, rng, py_rng
        )
        assert vol.shape == (1, 17, 48, 56, 56)
        assert_volume(vol, p + f"{kind}/")
    rng.set_state(state[0])
    py_rng.setstate(state[1])
    kp, shape = hm.resize(*hm.pose_compact(pose_decode(ann["keypoint"], inds), ann["img_shape"]), (-1, 64))
    box = hm.random_resized_crop_box(shape, (0.56, 1.0), rng=rng, py_rng=py_rng)
    assert box == tuple(G[p + "crop_bbox"])
    assert bool(rng.rand() < 0.5) == bool(G[p + "flip"])


def test_every_step_against_the_full_golden():
    """All intermediate keypoints and shapes (float32 steps exact, float64 after a crop to 1e-9 px)."""
    z = np.load(shared_or_skip("golden/mmaction2/posec3d_pipeline.npz"))
    for clip, ann in enumerate(ANNS):
        for part in ("test", "val"):
            p = f"clip{clip}/{part}/"
            inds = z[p + "UniformSampleFrames/frame_inds"]
            kp, score = pose_decode(ann["keypoint"], inds), pose_decode(ann["keypoint_score"], inds)
            np.testing.assert_array_equal(score, z[p + "PoseDecode/keypoint_score"])
            kp, shape = hm.pose_compact(kp, ann["img_shape"])
            np.testing.assert_array_equal(kp, z[p + "PoseCompact/keypoint"])
            kp, shape = hm.resize(kp, shape, (-1, 64))
            assert kp.dtype == np.float32
            np.testing.assert_array_equal(kp, z[p + "Resize/keypoint"])
            kp, shape = hm.crop(kp, hm.center_crop_box(shape, 64))
            assert kp.dtype == np.float64
            np.testing.assert_allclose(kp, z[p + "CenterCrop/keypoint"], rtol=0, atol=1e-9)
    ann, p = ANNS[3], "clip3/test/"  # two persons, one partly off the image
    vol = with_kind(TEST, "limb")(
        ann["keypoint"], ann["keypoint_score"], ann["img_shape"], z[p + "UniformSampleFrames/frame_inds"]
    )
    np.testing.assert_allclose(vol[[0, 10]], z[p + "limb/views"], rtol=0, atol=1e-6)
    np.testing.assert_allclose((vol.astype(np.float64) ** 2).sum((2, 3, 4)), z[p + "limb/sumsq"], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# the vectorised painter against a direct per-point transcription of the rules
# --------------------------------------------------------------------------------------------------
def loop_heatmaps(kp, score, hw, sigma, with_kp, limbs):
    """One Gaussian / limb at a time (the reference note's rules), persons combined by max."""
    M, F, V, _ = kp.shape
    H, W = hw
    maps = []
    for f in range(F):
        chans = []
        if with_kp:
            for j in range(V):
                chans.append(np.zeros((H, W), np.float32))
                for m in range(M):
                    paint_point(chans[-1], kp[m, f, j], score[m, f, j], sigma)
        for a, b in limbs:
            chans.append(np.zeros((H, W), np.float32))
            for m in range(M):
                paint_limb(chans[-1], kp[m, f, a], kp[m, f, b], score[m, f, a], score[m, f, b], sigma)
        maps.append(np.stack(chans))
    return np.stack(maps)  # (F, C, H, W)


def _box(lo, hi, size, sigma):
    return max(int(lo - 3 * sigma), 0), min(int(hi + 3 * sigma) + 1, size)


def paint_point(arr, mu, s, sigma):
    if s < 1e-4:
        return
    x0, x1 = _box(mu[0], mu[0], arr.shape[1], sigma)
    y0, y1 = _box(mu[1], mu[1], arr.shape[0], sigma)
    for y in range(y0, y1):
        for x in range(x0, x1):
            d2 = (np.float32(x) - mu[0]) ** 2 + (np.float32(y) - mu[1]) ** 2
            arr[y, x] = max(arr[y, x], np.exp(-d2 / 2 / sigma**2) * s)


def paint_limb(arr, a, b, sa, sb, sigma):
    v = min(sa, sb)
    if v < 1e-4:
        return
    x0, x1 = _box(min(a[0], b[0]), max(a[0], b[0]), arr.shape[1], sigma)
    y0, y1 = _box(min(a[1], b[1]), max(a[1], b[1]), arr.shape[0], sigma)
    if x1 <= x0 or y1 <= y0:
        return
    ab = b - a
    d2_ab = ab[0] ** 2 + ab[1] ** 2
    if d2_ab < 1:
        paint_point(arr, a, sa, sigma)
        return
    for y in range(y0, y1):
        for x in range(x0, x1):
            p = np.array([x, y], np.float32)
            t = ((p - a) ** 2).sum() - ((p - b) ** 2).sum() + d2_ab
            t = t / 2.0 / d2_ab
            d2 = (
                ((p - a) ** 2).sum()
                if t <= 0
                else ((p - b) ** 2).sum()
                if t >= 1
                else ((p - (a + t * ab)) ** 2).sum()
            )
            arr[y, x] = max(arr[y, x], np.float32(np.exp(-np.float64(d2) / 2.0 / sigma**2) * np.float64(v)))


def test_vectorised_painter_matches_a_per_point_loop():
    """Three overlapping persons, joints off the image and at negative coordinates, point-like limbs
    and scores below eps; sigma 1.1 (wider windows) and 0.6."""
    rng = np.random.default_rng(3)
    M, F, V = 3, 4, 6
    kp = rng.uniform(-4, 22, size=(M, F, V, 2)).astype(np.float32)
    kp[:, :, 5] = kp[:, :, 4] + rng.uniform(-0.5, 0.5, size=(M, F, 2)).astype(
        np.float32
    )  # limb (4, 5) < 1 px
    kp[1] = kp[0] + 1.5  # persons overlap
    score = rng.uniform(0, 1, size=(M, F, V)).astype(np.float32)
    score[rng.uniform(size=score.shape) < 0.2] = 5e-5
    limbs = ((0, 1), (1, 2), (2, 3), (4, 5), (0, 3), (3, 5))
    layout = hm.HeatmapLayout("toy", V, limbs, (0,), (1,))
    for sigma in (0.6, 1.1):
        want = loop_heatmaps(kp, score, (17, 21), sigma, True, limbs)
        got = hm.generate_heatmaps(
            kp, score, (17, 21), F, sigma=sigma, with_kp=True, with_limb=True, layout=layout
        )
        assert got.shape == (1, V + len(limbs), F, 17, 21)
        np.testing.assert_allclose(got[0].transpose(1, 0, 2, 3), want, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(got[0].transpose(1, 0, 2, 3) != 0, want != 0)


def test_use_score_false_scaling_and_the_double_mirror():
    kp = np.array([[[[3.2, 4.7], [10.0, 2.0]]]], np.float32)  # (1, 1, 2, 2)
    score = np.array([[[0.0, 0.5]]], np.float32)
    layout = hm.HeatmapLayout("two", 2, ((0, 1),), (0,), (1,))
    one = hm.generate_heatmaps(kp, score, (8, 12), 1, use_score=False, layout=layout)
    want = loop_heatmaps(kp, np.ones_like(score), (8, 12), 0.6, True, ())
    np.testing.assert_allclose(one[0, :, 0], want[0], atol=1e-7)
    scaled = hm.generate_heatmaps(kp, score, (8, 12), 1, use_score=False, layout=layout, scaling=2.0)
    assert scaled.shape == (1, 2, 1, 16, 24)
    np.testing.assert_allclose(
        scaled[0, :, 0], loop_heatmaps(kp * 2, np.ones_like(score), (16, 24), 0.6, True, ())[0], atol=1e-7
    )
    both = hm.generate_heatmaps(kp, score, (8, 12), 1, with_limb=True, layout=layout, double=True)
    assert both.shape == (2, 3, 1, 8, 12)
    # the mirror reverses columns and swaps left/right channels of keypoints and of limbs
    np.testing.assert_array_equal(both[1, 0], both[0, 1, :, :, ::-1])
    np.testing.assert_array_equal(both[1, 2], both[0, 2, :, :, ::-1])


# --------------------------------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------------------------------
def test_coco_layout_limb_pairs_are_mmaction2s():
    layout = hm.get_heatmap_layout("coco")
    assert layout.limbs == hm.COCO_LIMBS and len(layout.limbs) == 17
    assert layout.limb_flip_pairs() == ((0, 2, 3, 6, 7, 8, 12, 14), (1, 4, 5, 9, 10, 11, 13, 15))
    np.testing.assert_array_equal(
        layout.joint_flip_order(), [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    )


def test_other_layouts_derive_limbs_and_mirror_pairs_from_the_graph_layout():
    ntu = hm.get_heatmap_layout("ntu_rgb_d")
    assert ntu.num_joints == 25 and len(ntu.limbs) == 24
    assert dict(zip(ntu.left, ntu.right)) == {
        4: 8,
        5: 9,
        6: 10,
        7: 11,
        12: 16,
        13: 17,
        14: 18,
        15: 19,
        21: 23,
        22: 24,
    }
    left, right = ntu.limb_flip_pairs()
    assert len(left) == len(right) == 10  # arms, hands and legs; the spine maps to itself
    custom = hm.get_heatmap_layout(
        {"num_node": 3, "edges": [[1, 0], [2, 0]], "center": 0}, left=[1], right=[2]
    )
    assert custom.limbs == ((1, 0), (2, 0)) and custom.limb_flip_pairs() == ((0,), (1,))
    with pytest.raises(ConfigError, match="no mirror image"):
        hm.get_heatmap_layout(
            {"num_node": 3, "edges": [[1, 0], [2, 1]], "center": 0}, left=[1], right=[2]
        ).limb_flip_pairs()
    with pytest.raises(ConfigError, match="outside"):
        hm.get_heatmap_layout("coco", limbs=[[0, 17]])


# --------------------------------------------------------------------------------------------------
# the feeder
# --------------------------------------------------------------------------------------------------
def golden_sampler(part):
    by_total = {int(a["total_frames"]): G[f"clip{i}/{part}/frame_inds"] for i, a in enumerate(ANNS)}
    return lambda total, clip_len, num_clips, test_mode, seed: by_total[total]


def test_feeder_test_mode_gives_the_20_views_and_val_the_single_view():
    test = PoseC3DFeeder(str(PKL), split="xsub_val", num_clips=10, test_mode=True, double=True, crop="center")
    test.sampler = golden_sampler("test")
    assert test.sample_name == ["S001C002P002R001A050", "S003C001P008R001A058"] and test.label == [49, 57]
    data, label, index = test[1]
    assert data.shape == (20, 17, 48, 64, 64) and label == 57 and index == 1
    assert_volume(data, "clip3/test/keypoint/", [0, 10])
    val = PoseC3DFeeder(str(PKL), split="xsub_val", stream="limb", test_mode=True)
    val.sampler = golden_sampler("val")
    data, _, _ = val[0]
    assert data.shape == (17, 48, 64, 64) and val.channels == 17


def test_bad_samples_are_reported_and_left_out(tmp_path, caplog):
    anns = [dict(a) for a in ANNS]
    anns[0].pop("keypoint_score")
    anns[1]["img_shape"] = (0, 1920)
    anns[2]["keypoint"] = anns[2]["keypoint"][:, :0]
    anns[2]["total_frames"] = 0
    path = tmp_path / "bad.pkl"
    save_pickle({"split": {"all": [a["frame_dir"] for a in anns]}, "annotations": anns}, path)
    feeder = PoseC3DFeeder(str(path), split="all")
    assert feeder.sample_name == ["S003C001P008R001A058"]
    assert len(feeder.bad_samples) == 3
    msgs = "\n".join(feeder.bad_samples)
    assert "'S001C001P001R001A001': no keypoint_score" in msgs
    assert "'S001C002P002R001A050': img_shape (0, 1920) has a zero" in msgs
    assert "'S002C003P003R002A023': the clip has no frame" in msgs
    assert "3 of 4 samples left out" in caplog.text
    assert len(PoseC3DFeeder(str(path), split="all", use_score=False).sample_name) == 2  # scores not needed
    with pytest.raises(DataError, match="no keypoint_score"):
        PoseC3DFeeder(str(path), split="all", strict=True)
    with pytest.raises(DataError, match="no split 'xsub_train'; the file has: all"):
        PoseC3DFeeder(str(path), split="xsub_train")


def test_check_annotation_messages():
    ann = dict(ANNS[0])
    assert annotation_problem(ann, 17, True, "f.pkl") is None
    assert "17 joints, but the heatmap layout has 18" in annotation_problem(ann, 18, True, "f.pkl")
    ann3d = dict(ann, keypoint=np.zeros((1, 30, 17, 3), np.float32))
    assert "must be 2D pixel coordinates (M, T, V, 2)" in annotation_problem(ann3d, 17, True, "f.pkl")
    assert "img_shape (h, w) is missing" in annotation_problem({**ann, "img_shape": None}, 17, True, "f.pkl")
    assert "total_frames 31 but keypoint holds 30" in annotation_problem(
        {**ann, "total_frames": 31}, 17, True, "f.pkl"
    )


def test_engine_checks_heatmap_samples_and_keeps_the_training_split_for_validation():
    from engine import builder
    from engine.run import _eval_args
    from model.posec3d import PoseC3D

    val = PoseC3DFeeder(str(PKL), split="xsub_val", test_mode=True)
    val.sampler = golden_sampler("val")
    builder.check_data_against_model(val, "test_feeder_args", PoseC3D, {"num_class": 60, "in_channels": 17})
    with pytest.raises(
        DataError, match=r"samples have C=17 but model_args.in_channels is 25 \(sample shape \(C, T, H, W\)"
    ):
        builder.check_data_against_model(
            val, "test_feeder_args", PoseC3D, {"num_class": 60, "in_channels": 25}
        )
    train = {
        "data_path": "a.pkl",
        "split": "xsub_train",
        "stream": "limb",
        "crop": "random_resized",
        "flip_ratio": 0.5,
    }
    test = {"data_path": "a.pkl", "split": "xsub_val", "test_mode": True, "crop": "center"}
    assert _eval_args(train, test) == {"data_path": "a.pkl", "split": "xsub_train", "stream": "limb", "test_mode": True,
                                       "crop": "center"}  # fmt: skip


def test_main_trains_and_tests_posec3d_on_an_annotation_pickle(tmp_path):
    """The engine end to end: training with a validation split carved from the training split, then a
    test run of the saved weights whose 4 views per sample are fused as mean probabilities."""
    import yaml

    from engine.config import parse_config
    from engine.run import run

    names = [a["frame_dir"] for a in ANNS]
    relabelled = [{**a, "label": i % 2} for i, a in enumerate(ANNS)]  # two classes of two clips
    data = tmp_path / "two.pkl"
    save_pickle({"split": {"train": names, "val": names[2:]}, "annotations": relabelled}, data)
    small = {"data_path": str(data), "stream": "limb", "clip_len": 8, "resize": 24}
    cfg = {
        "work_dir": str(tmp_path / "work"),
        "model_saved_name": str(tmp_path / "runs" / "posec3d"),
        "feeder": "posec3d",
        "train_feeder_args": {
            **small,
            "split": "train",
            "crop": "random_resized",
            "input_size": 20,
            "flip_ratio": 0.5,
        },
        "test_feeder_args": {**small, "split": "val", "test_mode": True, "input_size": 24},
        "model": "posec3d",
        "model_args": {"num_class": 2, "in_channels": 17, "base_channels": 4, "stage_blocks": [1, 1, 1]},
        "val_fraction": 0.5,
        "num_epoch": 1,
        "batch_size": 2,
        "test_batch_size": 2,
        "num_worker": 0,
        "device": "cpu",
        "save_score": True,
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run(parse_config(["--config", str(path)]))
    val = load_pickle(tmp_path / "work" / "epoch1_val_score.pkl")
    assert len(val) == 2 and set(val) <= set(names)  # held out of the 'train' split
    weights = sorted((tmp_path / "runs").glob("posec3d-0-*.pt"))
    assert len(weights) == 1
    test = {
        k: v
        for k, v in cfg.items()
        if k not in ("train_feeder_args", "val_fraction", "num_epoch", "batch_size")
    }
    test.update(phase="test", weights=str(weights[0]), work_dir=str(tmp_path / "test"))
    test["test_feeder_args"] = {**test["test_feeder_args"], "num_clips": 2, "double": True}
    path.write_text(yaml.safe_dump(test))
    run(parse_config(["--config", str(path)]))
    scores = load_pickle(tmp_path / "test" / "epoch1_test_score.pkl")
    assert sorted(scores) == names[2:]
    for s in scores.values():  # log of the mean of 4 views' softmax: a log-probability vector
        assert s.shape == (2,) and abs(float(np.logaddexp.reduce(s.astype(np.float64)))) < 1e-5
