"""ensemble.py: fusion by sample name, checks with one-line errors, discovery, weight search, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ensemble
from engine import fusion, scores
from utils.errors import ConfigError, DataError
from utils.io import load_pickle, save_label_file, save_pickle

C = 6


def make_scores(n: int, strengths: list[float], seed: int = 0, prefix: str = "S"):
    """Names, labels and one (n, C) float32 matrix per stream (label order); larger strength = more accurate."""
    rng = np.random.default_rng(seed)
    names = [f"{prefix}{i:03d}C001P001R001A{i % C + 1:03d}.skeleton" for i in range(n)]
    labels = rng.integers(0, C, n)
    mats = []
    for s in strengths:
        m = rng.normal(size=(n, C)).astype(np.float32)
        m[np.arange(n), labels] += s
        mats.append(m)
    return names, labels, mats


def write_scores(path: Path, names: list[str], matrix: np.ndarray, order=None) -> Path:
    order = range(len(names)) if order is None else order
    save_pickle({names[i]: matrix[i] for i in order}, path)
    return path


@pytest.fixture
def three(tmp_path):
    """Three streams written in three different sample orders, and the label file (in label order)."""
    names, labels, mats = make_scores(60, [0.5, 1.0, 1.5])
    rng = np.random.default_rng(1)
    paths = [
        write_scores(tmp_path / f"s{k}.pkl", names, m, rng.permutation(len(names)))
        for k, m in enumerate(mats)
    ]
    save_label_file(names, labels.tolist(), tmp_path / "val_label.pkl")
    return names, labels, mats, paths, tmp_path / "val_label.pkl"


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = ensemble.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def fusion_row(csv: Path) -> pd.Series:
    table = pd.read_csv(csv)
    return table[table["model"].str.startswith("fusion")].iloc[0]


def test_fusion_equals_direct_numpy_computation_by_name(three, tmp_path, capsys):
    names, labels, mats, paths, label_path = three
    out, csv = tmp_path / "fused.pkl", tmp_path / "table.csv"
    rc, stdout, _ = run(
        capsys, "--scores", *paths, "--labels", label_path, "--weights", 2, 1, 0.5, "--out", out, "--csv", csv
    )
    assert rc == 0
    expected = 2 * mats[0] + 1 * mats[1] + 0.5 * mats[2]
    fused = load_pickle(out)
    assert list(fused) == names  # label-file order
    assert all(v.dtype == np.float32 and v.shape == (C,) for v in fused.values())
    np.testing.assert_allclose(np.stack(list(fused.values())), expected, rtol=1e-6, atol=1e-6)
    row = fusion_row(csv)
    assert row["top1"] == pytest.approx(np.mean(expected.argmax(1) == labels))
    table = pd.read_csv(csv)
    assert list(table["weight"][:3]) == [2, 1, 0.5] and len(table) == 4
    for k in range(3):
        assert table["top1"][k] == pytest.approx(np.mean(mats[k].argmax(1) == labels))
    assert "fusion" in stdout and "top1" in stdout


def test_shuffled_files_give_the_same_result_as_ordered_ones(three, tmp_path, capsys):
    names, labels, mats, paths, label_path = three
    ordered = [write_scores(tmp_path / f"o{k}.pkl", names, m) for k, m in enumerate(mats)]
    results = []
    for files, tag in ((ordered, "o"), (paths, "s")):
        rc, _, _ = run(capsys, "--scores", *files, "--labels", label_path, "--out", tmp_path / f"{tag}.pkl")
        assert rc == 0
        results.append(load_pickle(tmp_path / f"{tag}.pkl"))
    assert list(results[0]) == list(results[1])
    for name in names:
        np.testing.assert_array_equal(results[0][name], results[1][name])
    # what 2s-AGCN did: pairing the shuffled files by position gives a different (wrong) fusion
    positional = sum(np.stack(list(load_pickle(p).values())) for p in paths)
    assert not np.allclose(positional, np.stack(list(results[1].values())))


def test_align_and_load_scores_follow_the_label_order(three):
    names, _, mats, paths, _ = three
    loaded = [scores.load_scores(p) for p in paths]
    assert [n for n, _ in loaded] != [names] * 3  # the files really are shuffled
    for m, aligned in zip(mats, scores.align(loaded, names)):
        np.testing.assert_array_equal(aligned, m)
    same_order = [loaded[1], (loaded[1][0], loaded[1][1] * 2)]  # the second reuses the first's row index
    for k, aligned in enumerate(scores.align(same_order, names)):
        np.testing.assert_array_equal(aligned, mats[1] * (k + 1))
    with pytest.raises(DataError, match=rf"appear more than once \({names[0]}\)"):
        scores.align(loaded, [*names, names[0]])
    dropped = loaded[1][0][0]
    with pytest.raises(DataError, match=rf"score set 2: the samples differ.*1 missing \({dropped}\)"):
        scores.align([loaded[0], (loaded[1][0][1:], loaded[1][1][1:])], names)


def test_missing_and_extra_samples_are_listed(three, tmp_path, capsys):
    names, labels, mats, paths, label_path = three
    bad = tmp_path / "agcn_test_bone" / "epoch1_test_score.pkl"
    scores = {n: mats[1][i] for i, n in enumerate(names) if i not in (3, 7)}
    scores["X999.skeleton"] = mats[1][0]
    save_pickle(scores, bad)
    rc, _, err = run(capsys, "--scores", paths[0], bad, "--labels", label_path)
    assert rc == 2
    line = err.strip()
    assert "\n" not in line and line.startswith("error: ")
    assert str(bad) in line and "2 missing" in line and names[3] in line and names[7] in line
    assert "1 extra (X999.skeleton)" in line
    scores = {n: mats[1][i] for i, n in enumerate(names)}
    scores["Y000.skeleton"] = scores.pop(names[9])  # same count, one name swapped
    save_pickle(scores, bad)
    rc, _, err = run(capsys, "--scores", paths[0], bad, "--labels", label_path)
    assert rc == 2 and f"1 missing ({names[9]}), 1 extra (Y000.skeleton)" in err


def test_label_file_that_does_not_match_is_an_error(three, tmp_path, capsys):
    _, _, _, paths, _ = three
    other = tmp_path / "train_label.pkl"
    save_label_file([f"T{i}.skeleton" for i in range(10)], [0] * 10, other)
    rc, _, err = run(capsys, "--scores", *paths, "--labels", other)
    assert rc == 2 and "the label file" in err and str(other) in err and "T0.skeleton" in err
    names, _, _ = make_scores(60, [])
    save_label_file(names, [C] * 60, other)  # label C does not index a score column
    rc, _, err = run(capsys, "--scores", *paths, "--labels", other)
    assert rc == 2 and f"{C} classes" in err and "labels go up to 6" in err
    save_label_file(names + names[:1], [0] * 61, other)
    rc, _, err = run(capsys, "--scores", *paths, "--labels", other)
    assert rc == 2 and "more than once" in err and names[0] in err


def test_class_count_mismatch_names_the_file(three, tmp_path, capsys):
    names, _, mats, paths, label_path = three
    narrow = write_scores(tmp_path / "narrow.pkl", names, mats[0][:, :5])
    rc, _, err = run(capsys, "--scores", paths[0], narrow, "--labels", label_path)
    assert rc == 2 and str(narrow) in err and "5 classes" in err and f"has {C}" in err
    ragged = {n: mats[0][i] for i, n in enumerate(names)}
    ragged[names[4]] = mats[0][4][:3]
    save_pickle(ragged, tmp_path / "ragged.pkl")
    with pytest.raises(DataError, match=rf"ragged.pkl: .*{C} classes.*1 differ \({names[4]}\)"):
        scores.load_scores(tmp_path / "ragged.pkl")


def test_non_finite_scores_name_the_sample(three, tmp_path):
    names, _, mats, _, _ = three
    m = mats[0].copy()
    m[5, 2] = np.nan
    write_scores(tmp_path / "nan.pkl", names, m)
    with pytest.raises(DataError, match=rf"nan.pkl: non-finite.*{names[5]}"):
        scores.load_scores(tmp_path / "nan.pkl")


def test_score_file_formats(tmp_path):
    save_pickle({"b": [0.5, 1.0, 2.0], "a": np.arange(3, dtype=np.float64)}, tmp_path / "lists.pkl")
    names, matrix = scores.load_scores(tmp_path / "lists.pkl")
    assert names == ["b", "a"] and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[0.5, 1.0, 2.0], [0.0, 1.0, 2.0]])
    save_pickle([1, 2, 3], tmp_path / "list.pkl")
    with pytest.raises(DataError, match=r"list.pkl: expected a pickled dict"):
        scores.load_scores(tmp_path / "list.pkl")
    save_pickle({"a": np.float32(1.0)}, tmp_path / "scalar.pkl")
    with pytest.raises(DataError, match=r"scalar.pkl: expected one score vector \(num_class,\)"):
        scores.load_scores(tmp_path / "scalar.pkl")


def test_wrong_number_of_weights_lists_the_files_in_order(three, capsys):
    _, _, _, paths, label_path = three
    rc, _, err = run(capsys, "--scores", *paths, "--labels", label_path, "--weights", 1, 2)
    assert rc == 2 and "2 values for 3 score files" in err
    assert err.index(f"1. {paths[0]}") < err.index(f"2. {paths[1]}") < err.index(f"3. {paths[2]}")
    rc, _, err = run(capsys, "--scores", *paths, "--labels", label_path, "--weights", 1, -1, 1)
    assert rc == 2 and "non-negative" in err
    rc, _, err = run(capsys, "--scores", *paths, "--labels", label_path, "--alpha", 0.5)
    assert rc == 2 and "exactly two score files" in err


def test_alpha_is_the_two_stream_form_of_weights(three, tmp_path, capsys):
    _, _, _, paths, label_path = three
    for flag, out in ((["--alpha", "0.7"], "a.pkl"), (["--weights", "1", "0.7"], "w.pkl")):
        rc, _, _ = run(capsys, "--scores", *paths[:2], "--labels", label_path, *flag, "--out", tmp_path / out)
        assert rc == 0
    a, w = load_pickle(tmp_path / "a.pkl"), load_pickle(tmp_path / "w.pkl")
    for name in a:
        np.testing.assert_array_equal(a[name], w[name])


def test_softmax_option_sums_probabilities(three, tmp_path, capsys):
    names, _, mats, paths, label_path = three
    rc, _, _ = run(
        capsys,
        "--scores",
        *paths,
        "--labels",
        label_path,
        "--weights",
        1,
        2,
        1,
        "--softmax",
        "--out",
        tmp_path / "p.pkl",
    )
    assert rc == 0
    probs = [np.exp(m) / np.exp(m).sum(1, keepdims=True) for m in mats]
    fused = np.stack(list(load_pickle(tmp_path / "p.pkl").values()))
    np.testing.assert_allclose(fused, probs[0] + 2 * probs[1] + probs[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.sum(1), 4.0, rtol=1e-5)
    raw = fusion.fuse(mats, [1, 2, 1])
    assert not np.allclose(raw, fused)


def test_parse_run_name():
    assert fusion.parse_run_name("agcn_test_joint_motion") == ("agcn", "joint_motion")
    assert fusion.parse_run_name("impsgnv2_bone_motion") == ("impsgnv2", "bone_motion")
    assert fusion.parse_run_name("agcn_joint_test") == ("agcn", "joint")  # 2s-AGCN's Kinetics folder
    assert fusion.parse_run_name("bone") == (None, "bone")
    assert fusion.parse_run_name("epoch1_score") == (None, None)


def fake_tree(root: Path, dataset: str = "ntu/xsub", val: bool = False):
    """work_dir/<dataset>/<model>_test_<stream>/ score files, training folders, and data/<dataset>/ labels."""
    names, labels, mats = make_scores(40, [0.8, 1.0, 1.2, 1.4, 0.9], seed=3)
    runs = [
        ("agcn", "bone"),
        ("agcn", "joint"),
        ("agcn", "bone_motion"),
        ("agcn", "joint_motion"),
        ("sgn", "joint"),
    ]
    work = root / "work_dir" / dataset
    rng = np.random.default_rng(4)
    for (model, stream), m in zip(runs, mats):
        write_scores(work / f"{model}_test_{stream}" / "epoch1_test_score.pkl", names, m, rng.permutation(40))
    # a training run's folder does not match <model>_test_<stream>
    save_pickle({"x": np.zeros(C, np.float32)}, work / "agcn_joint" / "epoch1_test_score.pkl")
    save_label_file(names, labels.tolist(), root / "data" / dataset / "val_label.pkl")
    if val:
        vnames, vlabels, vmats = make_scores(120, [0.8, 1.0, 1.2, 1.4, 0.9], seed=5, prefix="T")
        save_label_file(
            vnames + ["T_other.skeleton"], vlabels.tolist() + [0], root / "data" / dataset / "train_label.pkl"
        )
        for (model, stream), m in zip(runs, vmats):
            folder = work / f"{model}_{stream}"
            write_scores(folder / "epoch10_val_score.pkl", vnames, m, rng.permutation(120))
            save_pickle({"stale": np.zeros(C, np.float32)}, folder / "epoch2_val_score.pkl")  # older epoch
    return names, labels, dict(zip(runs, mats))


def test_discover_finds_test_runs_in_stream_order(tmp_path):
    fake_tree(tmp_path)
    (job,) = fusion.discover(["ntu/xsub"], tmp_path / "work_dir", tmp_path / "data")
    assert [(f.model, f.stream) for f in job.files] == [
        ("agcn", "joint"),
        ("agcn", "joint_motion"),
        ("agcn", "bone"),
        ("agcn", "bone_motion"),
        ("sgn", "joint"),
    ]
    assert job.labels == tmp_path / "data" / "ntu" / "xsub" / "val_label.pkl"
    (job,) = fusion.discover(["ntu/xsub"], tmp_path / "work_dir", tmp_path / "data", streams=["joint"])
    assert [f.model for f in job.files] == ["agcn", "sgn"]
    with pytest.raises(
        DataError, match=r"ntu/xview: no score files match .*ntu/xview/\*_test_\*/epoch1_test_score.pkl"
    ):
        fusion.discover(["ntu/xview"], tmp_path / "work_dir", tmp_path / "data")


def test_datasets_cli_with_preset_4s(tmp_path, capsys):
    names, labels, mats = fake_tree(tmp_path)
    roots = ["--work-root", tmp_path / "work_dir", "--data-root", tmp_path / "data"]
    rc, out, _ = run(
        capsys,
        "--datasets",
        "ntu/xsub",
        *roots,
        "--models",
        "agcn",
        "--preset",
        "4s",
        "--out",
        tmp_path / "f.pkl",
        "--csv",
        tmp_path / "t.csv",
    )
    assert rc == 0 and "4 score file(s) match" in out
    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table["stream"][:4]) == ["joint", "joint_motion", "bone", "bone_motion"]
    assert list(table["weight"][:4]) == [2, 1, 2, 1] and set(table["dataset"]) == {"ntu/xsub"}
    expected = 2 * mats["agcn", "joint"] + mats["agcn", "joint_motion"] + 2 * mats["agcn", "bone"]
    expected += mats["agcn", "bone_motion"]
    np.testing.assert_allclose(np.stack(list(load_pickle(tmp_path / "f.pkl").values())), expected, rtol=1e-6)
    rc, _, err = run(capsys, "--datasets", "ntu/xsub", *roots, "--weights", 1, 1)
    assert rc == 2 and "2 values for 5 score files" in err and "sgn_test_joint" in err


def test_search_is_at_least_as_good_as_uniform_on_validation():
    names, labels, mats = make_scores(300, [1.0, 0.0, 1.6], seed=7)  # stream 2 is pure noise
    res = fusion.search_weights(mats, labels)
    fused = fusion.fuse(mats, res.weights)
    assert res.top1 == pytest.approx(np.mean(fused.argmax(1) == labels))
    uniform = np.mean(fusion.fuse(mats).argmax(1) == labels)
    assert res.uniform_top1 == pytest.approx(uniform)
    assert res.top1 >= uniform and res.top1 > max(np.mean(m.argmax(1) == labels) for m in mats)
    assert res.weights[1] < res.weights[2]  # the noise stream counts less than the best one
    assert res.evaluated > 10 and "grid" in res.method


def test_search_cli_uses_latest_validation_epoch_and_applies_to_test(tmp_path, capsys):
    fake_tree(tmp_path, val=True)
    roots = ["--work-root", tmp_path / "work_dir", "--data-root", tmp_path / "data"]
    rc, out, err = run(capsys, "--datasets", "ntu/xsub", *roots, "--search", "--csv", tmp_path / "t.csv")
    assert rc == 0, err
    assert "weight search on validation scores" in out and "120 samples" in out and "WARNING" not in err
    table = pd.read_csv(tmp_path / "t.csv")
    assert set(table["model"]) >= {"fusion", "fusion 1:1"} and table["weight"][:5].notna().all()
    rc, _, err = run(capsys, "--datasets", "ntu/xsub", *roots, "--search", "--val-scores", tmp_path / "x.pkl")
    assert rc == 2 and "1 files for 5 test score files" in err


def test_search_without_validation_data_explains_the_options(tmp_path, capsys):
    fake_tree(tmp_path)
    roots = ["--work-root", tmp_path / "work_dir", "--data-root", tmp_path / "data"]
    rc, _, err = run(capsys, "--datasets", "ntu/xsub", *roots, "--search")
    assert rc == 2 and "val_fraction > 0" in err and "--search-on-test" in err
    rc, out, err = run(
        capsys, "--datasets", "ntu/xsub", *roots, "--search-on-test", "--streams", "joint", "bone"
    )
    assert rc == 0 and "WARNING" in err and "optimistically biased" in err and "TEST labels" in out


def test_search_with_explicit_validation_files(three, tmp_path, capsys):
    _, _, _, paths, label_path = three
    vnames, vlabels, vmats = make_scores(90, [0.5, 1.0, 1.5], seed=11, prefix="V")
    vpaths = [write_scores(tmp_path / f"v{k}.pkl", vnames, m) for k, m in enumerate(vmats)]
    save_label_file(vnames, vlabels.tolist(), tmp_path / "train_label.pkl")
    argv = ["--scores", *paths, "--labels", label_path, "--search", "--val-scores", *vpaths]
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and "--val-labels" in err
    rc, out, err = run(capsys, *argv, "--val-labels", tmp_path / "train_label.pkl")
    assert rc == 0, err
    expected = fusion.search_weights(vmats, vlabels).weights
    assert f"best {':'.join(f'{v:g}' for v in expected)}" in out
    write_scores(vpaths[2], vnames[:-1], vmats[2])  # a stream trained on another validation split
    rc, _, err = run(capsys, *argv, "--val-labels", tmp_path / "train_label.pkl")
    assert rc == 2 and "1 missing" in err and vnames[-1] in err and "same seed and val_fraction" in err


def test_per_class_csv_and_confusion_png(three, tmp_path, capsys):
    _, labels, mats, paths, label_path = three
    pc, png = tmp_path / "per_class.csv", tmp_path / "cm.png"
    rc, _, err = run(
        capsys, "--scores", *paths, "--labels", label_path, "--per-class-csv", pc, "--confusion-png", png
    )
    assert rc == 0, err
    table = pd.read_csv(pc)
    assert len(table) == C and table["support"].sum() == len(labels)
    fused_pred = sum(mats).argmax(1)
    assert table["correct"].sum() == int((fused_pred == labels).sum())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_usage_errors(three, capsys):
    _, _, _, paths, label_path = three
    rc, _, err = run(capsys, "--scores", *paths)
    assert rc == 2 and "error: --scores needs --labels" in err
    rc, _, err = run(capsys, "--scores", *paths, "--labels", label_path, "--preset", "4s")
    assert rc == 2 and "--preset 4s" in err and str(paths[0]) in err
    assert run(capsys, "--weights", "x")[0] == 2  # argparse: not a float
    assert run(capsys, "--help")[0] == 0


def test_fuse_and_check_weights_api():
    _, _, mats = make_scores(10, [1.0, 1.0])
    np.testing.assert_allclose(fusion.fuse(mats), mats[0] + mats[1], rtol=1e-6)
    np.testing.assert_allclose(fusion.fuse(mats, [0, 3]), 3 * mats[1], rtol=1e-6)
    with pytest.raises(ConfigError, match="2 values for 3"):
        fusion.check_weights([1, 2], 3)
    with pytest.raises(ConfigError, match="not all zero"):
        fusion.check_weights([0, 0], 2)


def test_several_datasets_get_one_table_and_tagged_outputs(tmp_path, capsys):
    for ds in ("ntu/xsub", "ntu/xview"):
        fake_tree(tmp_path, dataset=ds)
    roots = ["--work-root", tmp_path / "work_dir", "--data-root", tmp_path / "data"]
    rc, out, err = run(
        capsys,
        "--datasets",
        "ntu/xsub",
        "ntu/xview",
        *roots,
        "--streams",
        "joint",
        "bone",
        "--out",
        tmp_path / "fused.pkl",
        "--csv",
        tmp_path / "t.csv",
    )
    assert rc == 0, err
    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table.groupby("dataset").size().items()) == [("ntu/xsub", 4), ("ntu/xview", 4)]
    for tag in ("ntu-xsub", "ntu-xview"):
        assert len(load_pickle(tmp_path / f"fused.{tag}.pkl")) == 40
    assert not (tmp_path / "fused.pkl").exists()
    rc, _, err = run(capsys, "--datasets", "ntu/xsub", "ntu/xview", *roots, "--labels", tmp_path / "x.pkl")
    assert rc == 2 and "one dataset at a time" in err


def test_names_with_and_without_clip_extension_are_one_sample(tmp_path, capsys):
    """2s-AGCN-format names ('X.skeleton') and MMAction2 frame_dir names ('X') of the same clips fuse."""
    names, labels, mats = make_scores(40, [1.0, 1.0], seed=3)
    save_label_file(names, labels.tolist(), tmp_path / "labels.pkl")
    bare = [n.removesuffix(".skeleton") for n in names]
    order = np.random.default_rng(2).permutation(len(names))
    a = write_scores(tmp_path / "agcn.pkl", names, mats[0])
    b = write_scores(tmp_path / "stgcn.pkl", bare, mats[1], order)
    aligned = scores.load_aligned([a, b], names)
    np.testing.assert_array_equal(aligned[1], mats[1])
    rc, out, _ = run(
        capsys, "--scores", a, b, "--labels", tmp_path / "labels.pkl", "--csv", tmp_path / "t.csv"
    )
    assert rc == 0
    expected = fusion.evaluate(fusion.fuse(mats), labels)["top1"]
    assert fusion_row(tmp_path / "t.csv")["top1"] == pytest.approx(expected)
    # a sample missing in one file is still named as written
    c = write_scores(tmp_path / "short.pkl", bare[1:], mats[1][1:])
    with pytest.raises(DataError, match=rf"1 missing \({names[0]}\)"):
        scores.load_aligned([a, c], names)
    # two names of one clip in one file are refused
    d = write_scores(tmp_path / "dup.pkl", [*bare[:-1], names[0]], mats[1])
    with pytest.raises(DataError, match="differ from the label file|appear more than once"):
        scores.load_aligned([d], names)


def test_native_score_files_read_like_the_pickle_and_stale_ones_are_ignored(tmp_path):
    names, _labels, mats = make_scores(30, [1.0], seed=4)
    path = tmp_path / "epoch1_test_score.pkl"
    scores.save_scores(names, mats[0], path, classes=[f"c{i}" for i in range(C)])
    assert scores.native_path(path).is_file()
    fast = scores.read_scores(path)
    assert fast[0] == names
    np.testing.assert_array_equal(fast[1], mats[0])
    assert scores.score_classes(path) == [f"c{i}" for i in range(C)]
    assert load_pickle(path).keys() == set(names)  # the 2s-AGCN pickle is there too
    # a newer pickle (rewritten by an old tool) wins over the older .npz
    import os

    write_scores(path, names, mats[0] + 1)
    stamp = scores.native_path(path).stat().st_mtime
    os.utime(path, (stamp + 10, stamp + 10))
    np.testing.assert_array_equal(scores.read_scores(path)[1], mats[0] + 1)
    bad = tmp_path / "bad.npz"
    np.savez(bad, names=np.array(names), scores=np.full((30, C), np.nan, np.float32))
    with pytest.raises(DataError, match="non-finite scores"):
        scores.read_scores(bad)


def test_fusion_reports_use_the_recorded_class_names(tmp_path, capsys):
    names, labels, mats = make_scores(24, [2.0, 2.0], seed=5)
    classes = ["wave", "clap", "kick", "sit", "punch", "hug"]
    paths = []
    for k, m in enumerate(mats):
        path = tmp_path / f"m_test_s{k}" / "epoch1_test_score.pkl"
        scores.save_scores(names, m, path, classes=classes)
        paths.append(path)
    save_label_file(names, labels.tolist(), tmp_path / "labels.pkl")
    rc, _, _ = run(
        capsys,
        "--scores",
        *paths,
        "--labels",
        tmp_path / "labels.pkl",
        "--per-class-csv",
        tmp_path / "pc.csv",
    )
    assert rc == 0
    table = pd.read_csv(tmp_path / "pc.csv")
    assert table["name"].tolist() == classes


def test_preset_6s_orders_and_weights_posec3d_streams_with_the_gcn_ones(tmp_path, capsys):
    names, labels, mats = fake_tree(tmp_path)
    work = tmp_path / "work_dir" / "ntu" / "xsub"
    rng = np.random.default_rng(9)
    _, _, (kp, limb) = make_scores(40, [1.0, 1.1], seed=11)
    # PoseC3D's scores are log-probabilities, in their own order of the same samples
    for stream, m in (("limb", limb), ("keypoint", kp)):
        logp = m - np.log(np.exp(m).sum(1, keepdims=True))
        write_scores(
            work / f"posec3d_test_{stream}" / "epoch1_test_score.pkl", names, logp, rng.permutation(40)
        )
    roots = ["--work-root", tmp_path / "work_dir", "--data-root", tmp_path / "data"]
    args = ["--datasets", "ntu/xsub", *roots, "--models", "agcn", "posec3d", "--preset", "6s"]
    rc, out, err = run(capsys, *args, "--csv", tmp_path / "t.csv")
    assert rc == 0 and "log-probabilities" in err  # one note: scales differ without --softmax
    rc, out, err = run(capsys, *args, "--softmax", "--out", tmp_path / "f.pkl", "--csv", tmp_path / "t.csv")
    assert rc == 0 and "log-probabilities" not in err
    table = pd.read_csv(tmp_path / "t.csv")
    streams = ["joint", "joint_motion", "bone", "bone_motion", "keypoint", "limb"]
    assert list(table["stream"][:6]) == streams and list(table["weight"][:6]) == [2, 1, 2, 1, 2, 2]
    order = [mats["agcn", s] for s in streams[:4]] + [kp, limb]
    expected = sum(w * fusion.row_softmax(m) for w, m in zip([2, 1, 2, 1, 2, 2], order))
    np.testing.assert_allclose(np.stack(list(load_pickle(tmp_path / "f.pkl").values())), expected, rtol=1e-5)
    rc, _, err = run(capsys, "--datasets", "ntu/xsub", *roots, "--models", "agcn", "--preset", "posec3d")
    assert rc == 2 and "--preset posec3d: weights exist for streams keypoint, limb" in err
