import os
import pickle

import numpy as np
import pytest

from utils.errors import DataError
from utils.io import NpyWriter, atomic_path, load_label_file, load_pickle, save_label_file, save_pickle


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_label_file_round_trip_matches_2s_agcn_format(tmp_path):
    path = tmp_path / "train_label.pkl"
    save_label_file(["a.skeleton", "b.skeleton"], [np.int64(3), 0], path)
    with open(path, "rb") as f:
        raw = pickle.load(f)  # ok: our own file, checking the on-disk format
    assert raw == (["a.skeleton", "b.skeleton"], [3, 0]) and type(raw[1][0]) is int
    assert load_label_file(path) == (["a.skeleton", "b.skeleton"], [3, 0])


def test_score_dict_with_numpy_arrays_loads(tmp_path):
    scores = {"s1": np.arange(5, dtype=np.float32), "s2": np.float32(2.0)}
    save_pickle(scores, tmp_path / "score.pkl")
    loaded = load_pickle(tmp_path / "score.pkl")
    np.testing.assert_array_equal(loaded["s1"], scores["s1"])


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(DataError, match=r"evil.pkl: refusing to unpickle 'posix.system'|refusing"):
        load_pickle(path)


@pytest.mark.parametrize("content", [b"", b"\x80\x04garbage", b"not a pickle"])
def test_truncated_or_garbled_pickles_name_the_file(tmp_path, content):
    path = tmp_path / "bad_label.pkl"
    path.write_bytes(content)
    with pytest.raises(DataError, match="bad_label.pkl"):
        load_pickle(path)


def test_label_file_structure_is_checked(tmp_path):
    save_pickle((["a", "b"], [1]), tmp_path / "l.pkl")
    with pytest.raises(DataError, match="2 sample names but 1 labels"):
        load_label_file(tmp_path / "l.pkl")
    with pytest.raises(DataError, match="file not found"):
        load_label_file(tmp_path / "missing.pkl")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_npy_writer_publishes_only_complete_files(tmp_path):
    path = tmp_path / "data.npy"
    with NpyWriter(path, (3, 2, 4)) as arr:
        arr[1] = 1.5
    out = np.load(path)
    assert out.shape == (3, 2, 4) and out.dtype == np.float32 and out.sum() == 1.5 * 8
    with pytest.raises(KeyboardInterrupt), NpyWriter(tmp_path / "other.npy", (2, 2)) as arr:
        arr[0] = 1
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npy"]


def test_published_files_follow_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        save_pickle([1], tmp_path / "a.pkl")
        with NpyWriter(tmp_path / "b.npy", (2,)) as arr:
            arr[:] = 1
    finally:
        os.umask(umask)
    assert (tmp_path / "a.pkl").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.npy").stat().st_mode & 0o777 == 0o644
