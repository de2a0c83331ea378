"""The ``pose_pickle`` feeder on MMAction2's example annotation pickles: outputs, modes, errors, engine."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
import torch
import yaml
from conftest import FIXTURES

from engine.config import parse_config
from engine.loop import forward_logits
from engine.run import run
from engine.runtime import worker_init_fn
from feeders import pose_pipeline as pp
from feeders.pose_pickle import PosePickleFeeder, load_annotation_file
from utils.errors import ConfigError, DataError
from utils.io import load_pickle, save_pickle
from utils.registry import FEEDERS

FIX = FIXTURES / "mmaction"
PKL3D, PKL2D = FIX / "example_ntu60_3d.pkl", FIX / "example_ntu60_2d.pkl"


@pytest.fixture(scope="module")
def expected():
    with np.load(FIX / "expected.npz") as z:
        return {k: z[k] for k in z.files}


def digest_of(x: np.ndarray) -> str:
    x = np.ascontiguousarray(x)
    return f"{x.dtype.str}|{','.join(map(str, x.shape))}|{hashlib.sha256(x.tobytes()).hexdigest()}"


def feeder(**kw) -> PosePickleFeeder:
    args = {"data_path": str(PKL3D), "split": "xsub_val", "dataset": "nturgb+d"}
    return PosePickleFeeder(**{**args, **kw})


# -- outputs ---------------------------------------------------------------------------------------
def test_registered_and_test_mode_equals_mmaction2(expected):
    assert FEEDERS.get("pose_pickle") is PosePickleFeeder
    ds = feeder(num_clips=10, test_mode=True)
    assert ds.sample_name == ["S004C001P010R002A050", "S005C002P013R001A008"] and ds.label == [49, 7]
    for i, name in enumerate(ds.sample_name):
        data, label, index = ds[i]
        assert (
            data.shape == (10, 3, 100, 25, 2)
            and data.dtype == np.float32
            and (label, index) == (ds.label[i], i)
        )
        mm = pp.to_nctvm(expected[f"3d/test_pipeline/{name}/inputs#sample"].reshape(1, 1, 1, 1, -1))
        assert digest_of(ds.clips(i)) == str(expected[f"3d/test_pipeline/{name}/inputs#digest"]), name
        np.testing.assert_array_equal(data, pp.to_nctvm(ds.clips(i)))
        assert mm.size  # the sample travels with the digest (readable failures are in test_pose_pipeline)
    ds2 = PosePickleFeeder(str(PKL2D), "xsub_val", "joint", num_clips=10, test_mode=True, dataset="coco")
    i = ds2.sample_name.index("S005C002P013R001A008")
    assert digest_of(ds2.clips(i)) == str(expected["2d/test_pipeline/S005C002P013R001A008/inputs#digest"])
    assert ds2[i][0].shape == (10, 3, 100, 17, 2)


def test_validation_mode_is_the_first_test_clip():
    val, test = feeder(test_mode=True), feeder(num_clips=10, test_mode=True)
    for i in range(len(val)):
        x = val[i][0]
        assert x.shape == (3, 100, 25, 2)
        np.testing.assert_array_equal(x, test[i][0][0])


def test_train_mode_uses_the_seeded_global_generator(expected):
    ds = feeder(split="xsub_train")
    state = np.random.get_state()
    for i, name in enumerate(ds.sample_name):
        k = int(name[1:4]) - 1
        np.random.seed(1000 + k)  # how the reference drew its training frames
        x = ds[i][0]
        kp, _, _ = pp.pre_normalize_3d(ds.annotations[i]["keypoint"])
        inds = expected[f"3d/train_pipeline/{name}/frame_inds"]
        ref = pp.to_nctvm(pp.format_gcn_input(pp.pose_decode(kp, inds)))[0]
        np.testing.assert_array_equal(x, ref, err_msg=name)
    np.random.set_state(state)
    np.random.seed(5)
    a = [ds[i][0] for i in range(len(ds))]
    np.random.seed(5)
    b = [ds[i][0] for i in range(len(ds))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    long = feeder()  # S004: 150 frames, 100 of them drawn at random each time
    assert not np.array_equal(long[0][0], long[0][0])


def test_streams_and_their_project_names():
    j, b = feeder(stream="j", test_mode=True), feeder(stream="bone", test_mode=True)
    x, y = j[0][0], b[0][0]  # (C, T, V, M)
    kp, total, _ = pp.pre_normalize_3d(j.annotations[0]["keypoint"])
    inds = pp.uniform_sample_frames(total, 100, test_mode=True)
    bone = pp.pose_decode(pp.gen_ske_feat(kp, pp.LAYOUTS["nturgb+d"], ["b"]), inds)
    np.testing.assert_array_equal(y, pp.to_nctvm(pp.format_gcn_input(bone))[0])
    assert not y[:, :, 20].any() and x[:, :, 20].any()  # joint 20 is the bone root
    for a, b_ in (("jm", "joint_motion"), ("bm", "bone_motion")):
        np.testing.assert_array_equal(
            feeder(stream=a, test_mode=True)[1][0], feeder(stream=b_, test_mode=True)[1][0]
        )
    both = feeder(stream=["j", "b"], test_mode=True)[0][0]
    assert both.shape == (6, 100, 25, 2)
    np.testing.assert_array_equal(both[3:], y)
    coco = PosePickleFeeder(str(PKL2D), "xsub_train", "bm", dataset="coco", test_mode=True)
    assert coco[0][0].shape == (3, 100, 17, 2)


def test_indices_debug_split_order_and_options():
    whole = feeder(split=None, test_mode=True)
    assert whole.sample_name == [a["frame_dir"] for a in load_pickle(PKL3D)["annotations"]]
    sub = feeder(split=None, indices=[3, 1], test_mode=True, clip_len=16, num_person=1)
    assert sub.sample_name == [whole.sample_name[3], whole.sample_name[1]] and len(sub) == 2
    assert sub[0][0].shape == (3, 16, 25, 1) and sub[0][2] == 0
    assert len(feeder(split=None, debug=True)) == 4
    loop = feeder(split="xsub_train", test_mode=True, pad_mode="loop")
    x = loop[0][0]  # S001 has one person: copied into the second slot
    np.testing.assert_array_equal(x[..., 0], x[..., 1])
    with pytest.raises(DataError, match="indices: out of range"):
        feeder(indices=[5])


def test_one_read_per_process_and_pickled_feeders_carry_their_own_samples():
    a, b = feeder(test_mode=True), feeder(split="xsub_train")
    assert a._file is b._file is load_annotation_file(PKL3D)
    clone = pickle.loads(pickle.dumps(a))
    assert clone._file is None and clone.sample_name == a.sample_name
    np.testing.assert_array_equal(clone[1][0], a[1][0])


def test_dataloader_workers_are_reproducible():
    ds = feeder(split=None, clip_len=20)

    def batches(seed):
        torch.manual_seed(seed)
        loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=worker_init_fn)
        return [b[0] for b in loader]

    first, again, other = batches(1), batches(1), batches(2)
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    assert not all(torch.equal(x, y) for x, y in zip(first, other))


def test_clip_average_of_mmaction2s_test_scores(expected):
    """engine.loop.forward_logits averages K clips' softmax like MMAction2's GCNHead (average_clips='prob')."""
    logits = torch.from_numpy(expected["stgcn_3d/test10/clip_logits"])

    class Recorded(torch.nn.Module):
        average_clips = "prob"

        def forward(self, x):  # (N*K, C, T, V, M) -> the recorded (K, 60) logits of clip S004
            assert x.shape == (10, 3, 100, 25, 2)
            return logits

    ds = feeder(num_clips=10, test_mode=True)
    assert ds.sample_name[0] == str(expected["stgcn_3d/test10/frame_dir"])
    out, _ = forward_logits(Recorded(), torch.from_numpy(ds[0][0])[None])
    np.testing.assert_allclose(
        torch.softmax(out, -1)[0].numpy(), expected["stgcn_3d/test10/score"], atol=1e-6
    )


# -- bad input -------------------------------------------------------------------------------------
def write(tmp_path, obj, name="bad.pkl"):
    path = tmp_path / name
    save_pickle(obj, path)
    return str(path)


def test_bad_files_and_arguments_give_one_line(tmp_path):
    good = load_pickle(PKL3D)
    one = dict(good["annotations"][0])
    cases = [
        ([1, 2, 3], None, "annotation 0 has no 'frame_dir' and 'keypoint'"),
        (
            {"labels": []},
            None,
            r"expected MMAction2's skeleton annotations.*got a dict with keys \['labels'\]",
        ),
        (good, "xsub_tr", "no split 'xsub_tr'; the file has: xsub_train, xsub_val"),
        ({"split": {"a": ["x"]}, "annotations": [one]}, "a", "split 'a' selects no annotation"),
        ([one], "xsub_train", "has no 'split' dict"),
        (
            {"split": None, "annotations": [{**one, "keypoint": one["keypoint"][..., :2]}]},
            None,
            "C=2 values per joint",
        ),
        (
            {"split": None, "annotations": [{**one, "keypoint": one["keypoint"][:, :, :17]}]},
            None,
            "V=17 joints but dataset 'nturgb\\+d' has 25",
        ),
        (
            {"split": None, "annotations": [{**one, "keypoint": np.zeros((1, 5, 25, 3), np.float32)}]},
            None,
            "empty clip",
        ),
        ({"split": None, "annotations": [{**one, "keypoint": one["keypoint"][:, :0]}]}, None, "empty clip"),
        (
            {"split": None, "annotations": [{**one, "total_frames": 99}]},
            None,
            "total_frames is 99 but keypoint has 20",
        ),
        ({"split": None, "annotations": [{**one, "label": -1}]}, None, "label -1 is not a class index"),
        (
            {"split": None, "annotations": [{**one, "keypoint": np.repeat(one["keypoint"], 3, 0)}]},
            None,
            "3 persons",
        ),
        (
            {"split": None, "annotations": [{**one, "keypoint_score": np.ones((1, 20, 25), np.float32)}]},
            None,
            "does not take",
        ),
    ]
    for i, (obj, split, message) in enumerate(cases):
        path = write(tmp_path, obj, f"bad{i}.pkl")
        with pytest.raises(DataError, match=message) as info:
            PosePickleFeeder(path, split=split)
        assert path in str(info.value) and "\n" not in str(info.value)
        if "frame_dir" not in message and i >= 5:
            assert "sample 'S001C001P001R001A001'" in str(info.value)
    ann2 = dict(load_pickle(PKL2D)["annotations"][0])
    del ann2["keypoint_score"]
    with pytest.raises(DataError, match="2D keypoints need 'keypoint_score'"):
        PosePickleFeeder(
            write(tmp_path, {"split": None, "annotations": [ann2]}, "noscore.pkl"), dataset="coco"
        )
    with pytest.raises(DataError, match="V=25 joints but dataset 'coco' has 17"):
        PosePickleFeeder(str(PKL3D), "xsub_train", dataset="coco")
    with pytest.raises(DataError, match="no such annotation file .download MMAction2/PYSKL's pickles"):
        PosePickleFeeder(str(tmp_path / "missing.pkl"))
    with pytest.raises(ConfigError, match="stream: unknown stream 'bones'"):
        feeder(stream="bones")
    with pytest.raises(ConfigError, match="dataset: unknown dataset 'kinect'"):
        feeder(dataset="kinect")
    with pytest.raises(ConfigError, match="clip_len: expected a positive integer"):
        feeder(clip_len=0)


def test_a_malicious_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"split": {}, "annotations": [Evil()]}))
    with pytest.raises(DataError, match="refusing to unpickle 'builtins.print'"):
        PosePickleFeeder(str(path))


# -- through the engine ------------------------------------------------------------------------------
def test_train_with_validation_split_and_multi_clip_test(tmp_path):
    """main.py's engine: the validation split comes from the training split; K-clip test scores by frame_dir."""
    anns = load_pickle(PKL3D)["annotations"]
    names = [a["frame_dir"] for a in anns]
    relabelled = [{**a, "label": i % 2} for i, a in enumerate(anns)]  # two classes of two clips
    data = write(
        tmp_path, {"split": {"train": names, "val": names[3:]}, "annotations": relabelled}, "two.pkl"
    )
    feed = {"data_path": data, "dataset": "nturgb+d", "clip_len": 16, "stream": "b"}
    cfg = {
        "work_dir": str(tmp_path / "work"),
        "model_saved_name": str(tmp_path / "runs" / "pose"),
        "feeder": "pose_pickle",
        "train_feeder_args": {**feed, "split": "train"},
        "test_feeder_args": {**feed, "split": "val", "num_clips": 3, "test_mode": True},
        "model": "agcn",
        "model_args": {
            "num_class": 2,
            "num_point": 25,
            "num_person": 2,
            "graph": "graph.ntu_rgb_d.Graph",
            "graph_args": {"labeling_mode": "spatial"},
            "base_channel": 4,
        },
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
    scores = load_pickle(tmp_path / "work" / "epoch1_test_score.pkl")
    assert sorted(scores) == names[3:] and all(v.shape == (2,) for v in scores.values())
    val = load_pickle(tmp_path / "work" / "epoch1_val_score.pkl")
    assert len(val) == 2 and set(val) <= set(names)  # held out of the 'train' split, not 'val'
