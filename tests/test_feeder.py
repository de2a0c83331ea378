import numpy as np
import pytest
from conftest import FIXTURES, golden, make_tiny_dataset

from feeders import tools
from feeders.feeder import Feeder, stream_of_file
from utils.errors import DataError


@pytest.fixture(scope="module")
def ntu_xsub(tmp_path_factory):
    """The golden xsub joint array and labels as files a feeder can read."""
    folder = tmp_path_factory.mktemp("xsub")
    arrays = golden("ntu_gendata/expected_xsub.npz")
    np.save(folder / "train_data_joint.npy", arrays["train_data_joint"])
    (folder / "train_label.pkl").write_bytes((FIXTURES / "ntu_gendata" / "xsub_train_label.pkl").read_bytes())
    return folder, arrays


@pytest.mark.parametrize("stream", ["bone", "joint_motion", "bone_motion"])
def test_on_the_fly_streams_equal_the_precomputed_files(ntu_xsub, stream):
    folder, arrays = ntu_xsub
    feeder = Feeder(
        folder / "train_data_joint.npy", folder / "train_label.pkl", stream=stream, layout="ntu_rgb_d"
    )
    expected = arrays[f"train_data_{stream}"]
    for i in range(len(feeder)):
        data, label, index = feeder[i]
        assert index == i and data.dtype == np.float32
        np.testing.assert_array_equal(data, expected[i])


def test_feeder_returns_reference_tuple_and_names(ntu_xsub):
    folder, arrays = ntu_xsub
    feeder = Feeder(folder / "train_data_joint.npy", folder / "train_label.pkl")
    data, label, index = feeder[3]
    np.testing.assert_array_equal(data, arrays["train_data_joint"][3])
    assert feeder.sample_name[0] == "S001C001P001R001A001.skeleton" and label == feeder.label[3]
    assert feeder.shape == (8, 3, 300, 25, 2)
    subset = Feeder(folder / "train_data_joint.npy", folder / "train_label.pkl", indices=[5, 1])
    assert subset.sample_name == [feeder.sample_name[5], feeder.sample_name[1]]
    np.testing.assert_array_equal(subset[1][0], arrays["train_data_joint"][1])


def test_normalization_matches_the_reference_formula(tmp_path):
    data_path, label_path = make_tiny_dataset(tmp_path, n=6, shape=(3, 10, 5, 2))
    raw = np.load(data_path).astype(np.float64)
    feeder = Feeder(data_path, label_path, normalization=True)
    N, C, T, V, M = raw.shape
    mean = raw.mean(axis=2, keepdims=True).mean(axis=4, keepdims=True).mean(axis=0)
    std = raw.transpose(0, 2, 4, 1, 3).reshape(N * T * M, C * V).std(axis=0).reshape(C, 1, V, 1)
    np.testing.assert_allclose(feeder.mean_map, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feeder.std_map, std, rtol=1e-5)
    np.testing.assert_allclose(feeder[2][0], (raw[2] - mean) / std, rtol=1e-4, atol=1e-5)


def test_window_options(tmp_path):
    data_path, label_path = make_tiny_dataset(tmp_path, n=2, shape=(3, 12, 5, 2))
    assert Feeder(data_path, label_path, window_size=20)[0][0].shape == (3, 20, 5, 2)
    np.random.seed(0)
    cropped = Feeder(data_path, label_path, random_choose=True, window_size=5)[0][0]
    full = np.load(data_path)[0]
    starts = [s for s in range(8) if np.array_equal(full[:, s : s + 5], cropped)]
    assert cropped.shape == (3, 5, 5, 2) and starts


def test_random_shift_keeps_the_content_in_order():
    x = np.zeros((3, 20, 4, 1), np.float32)
    x[:, 3:9] = np.arange(6, dtype=np.float32)[None, :, None, None] + 1
    np.random.seed(1)
    y = tools.random_shift(x)
    begin, end = tools.valid_frame_range(y)
    assert end - begin == 6
    np.testing.assert_array_equal(y[:, begin:end], x[:, 3:9])


def test_random_move_rotates_scales_and_shifts_xy_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 30, 5, 2)).astype(np.float32)
    np.random.seed(3)
    y = tools.random_move(x)
    np.testing.assert_array_equal(y[2], x[2])
    assert not np.allclose(y[:2], x[:2])
    # the transform is a similarity per frame: distances between joints scale uniformly
    d_in = np.linalg.norm(x[:2, 0, 0, 0] - x[:2, 0, 1, 0])
    d_out = np.linalg.norm(y[:2, 0, 0, 0] - y[:2, 0, 1, 0])
    assert 0.85 < d_out / d_in < 1.15


def test_stream_names_in_file_names():
    assert stream_of_file("./data/ntu/xsub/val_data_bone_motion.npy") == "bone_motion"
    assert stream_of_file("train_data_joint.npy") == "joint"
    assert stream_of_file("custom.npy") is None


def test_bad_inputs_are_clear(tmp_path):
    data_path, label_path = make_tiny_dataset(tmp_path, n=4, shape=(3, 8, 5, 1))
    with pytest.raises(DataError, match="data_path: file not found"):
        Feeder(tmp_path / "nope.npy", label_path)
    np.save(tmp_path / "short.npy", np.zeros((3, 3, 8, 5, 1), np.float32))
    with pytest.raises(DataError, match="has 3 samples but .* lists 4 labels"):
        Feeder(tmp_path / "short.npy", label_path)
    np.save(tmp_path / "flat.npy", np.zeros((4, 10), np.float32))
    with pytest.raises(DataError, match=r"expected an array \(N, C, T, V, M\)"):
        Feeder(tmp_path / "flat.npy", label_path)
    with pytest.raises(DataError, match="needs the skeleton layout"):
        Feeder(data_path, label_path, stream="bone")
    with pytest.raises(DataError, match="V=5 joints but layout 'ntu_rgb_d' has 25"):
        Feeder(data_path, label_path, stream="bone", layout="ntu_rgb_d")
    with pytest.raises(DataError, match="unknown stream"):
        Feeder(data_path, label_path, stream="velocity")
    bad = np.load(data_path)
    bad[2, 0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DataError, match="S002_train.skeleton contains NaN"):
        Feeder(tmp_path / "nan.npy", label_path)[2]
