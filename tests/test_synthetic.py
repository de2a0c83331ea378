"""The synthetic dataset generator: file grammar, determinism, splits, learnability, CLI.

One module-scoped set (12 classes, 6 performers, 3 cameras, NTU + Kinetics) is generated once and
read back by an independent structural reader written here, and by the project's NTU and Kinetics
converters.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_gen import kinetics_gendata, ntu_gendata
from data_gen import synthetic as syn
from utils.errors import ConfigError
from utils.io import load_label_file

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})\.skeleton")
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]\d+)?")
XSUB_TRAIN = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
# NTU joints (0-based) for bone-length checks: right hip -> right knee, left hip -> left knee
THIGHS = ((16, 17), (12, 13))


# -- an independent reader ---------------------------------------------------------------------------
def significant_digits(token: str) -> int:
    mantissa = token.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.lstrip("0").rstrip("0") or "0")


def read_ntu(path: Path, check_tokens: bool = False) -> list[list[tuple[int, np.ndarray]]]:
    """Parse a .skeleton file strictly: [frame][body] -> (bodyID, (25, 12) values); asserts the grammar."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), f"{path.name}: last line must end with CRLF"
    text = data.decode("ascii")
    lines = text[:-2].split("\r\n")
    assert not any("\n" in line or "\r" in line for line in lines), f"{path.name}: bare LF or CR"
    frames: list[list[tuple[int, np.ndarray]]] = []
    num_frames = int(lines[0])
    pos = 1
    for t in range(num_frames):
        count = int(lines[pos])
        assert str(count) == lines[pos] and 0 <= count <= 6, f"{path.name} line {pos + 1}: body count"
        pos += 1
        bodies = []
        for _ in range(count):
            info = lines[pos].split(" ")
            assert len(info) == 10, f"{path.name} line {pos + 1}: {len(info)} body values"
            assert info[0].isdigit() and 2**56 < int(info[0]) < 2**57, f"{path.name}: bodyID {info[0]}"
            assert all(v.isdigit() for v in info[1:7]) and info[9] == "2"
            assert all(-1.0 <= float(v) <= 1.0 for v in info[7:9]), "leanX/leanY outside -1..1"
            assert lines[pos + 1] == "25", f"{path.name} line {pos + 2}: joint count"
            rows = [lines[pos + 2 + j].split(" ") for j in range(25)]
            assert all(len(r) == 12 and r[11] == "2" for r in rows), f"{path.name} frame {t}: joint line"
            if check_tokens:
                for r in rows:
                    assert all(NUMBER.fullmatch(v) and significant_digits(v) <= 7 for v in r), r
            bodies.append((int(info[0]), np.array(rows, dtype=float)))
            pos += 27
        frames.append(bodies)
    assert pos == len(lines), f"{path.name}: {len(lines) - pos} lines after the last frame"
    return frames


def thigh_lengths(values: np.ndarray) -> np.ndarray:
    return np.array([np.linalg.norm(values[a, :3] - values[b, :3]) for a, b in THIGHS])


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic") / "raw"
    summary = syn.generate(out, fmt="both", num_classes=12, subjects=6, seed=0)
    with open(out / "manifest.csv", newline="") as f:
        manifest = {row["name"]: row for row in csv.DictReader(f)}
    files = sorted((out / syn.NTU_DIR).glob("*.skeleton"))
    parsed = {p.stem: read_ntu(p, check_tokens=i % 9 == 0) for i, p in enumerate(files)}
    return summary, out, manifest, parsed


@pytest.fixture(scope="module")
def converted(dataset, tmp_path_factory):
    _, out, _, _ = dataset
    dest = tmp_path_factory.mktemp("ntu")
    # default ignore list (the official NTU60 one): no synthetic name may be in it
    result = ntu_gendata.gendata(out / syn.NTU_DIR, dest, benchmarks=("xsub", "xview"), workers=0)
    return result, dest


# -- NTU files ---------------------------------------------------------------------------------------
def test_summary_and_names(dataset):
    summary, out, manifest, parsed = dataset
    assert summary.num_samples == 12 * 6 * 3 == len(parsed) == len(manifest)
    assert summary.subjects == (1, 3, 2, 6, 4, 7)
    assert set(summary.train_subjects) == {1, 2, 4} and set(summary.test_subjects) == {3, 6, 7}
    assert len(summary.class_names) == 12
    for name, row in manifest.items():
        setup, cam, subject, rep, action = (int(g) for g in NAME.fullmatch(name + ".skeleton").groups())
        assert 1 <= setup <= 17 and 1 <= action <= 60 and cam in (1, 2, 3) and rep == 1
        assert setup == syn.setup_of(subject) and int(row["subject"]) == subject and int(row["camera"]) == cam
        assert int(row["label"]) == action - 1 and row["class_name"] == summary.class_names[action - 1]
        frames = parsed[name]
        assert int(row["frames"]) == len(frames) and 36 <= len(frames) <= 300
        assert int(row["bodies"]) == max(len(b) for b in frames)
    assert (out / "samples_with_missing_skeletons.txt").read_bytes() == b""
    assert (out / "label_map.txt").read_text().splitlines() == list(summary.class_names)


def test_camera_space_and_projections(dataset):
    parsed = dataset[3]
    for name in list(parsed)[::7]:
        for frame in parsed[name]:
            for _, v in frame:
                x, y, z = v[:, 0], v[:, 1], v[:, 2]
                assert np.all((z > 1.5) & (z < 5.5)) and np.all(np.abs(y) < 2.0), name
                assert np.allclose(v[:, 3], 255.5 + 365.5 * x / z, atol=2e-3)  # depthX
                assert np.allclose(v[:, 4], 211.5 - 365.5 * y / z, atol=2e-3)  # depthY
                assert np.allclose(v[:, 5], 959.5 + 1081.4 * x / z, atol=5e-3)  # colorX
                q = v[:, 7:11]
                norms = np.linalg.norm(q, axis=1)
                assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))


def test_people_extras_and_gaps(dataset):
    _, _, manifest, parsed = dataset
    two = [n for n, r in manifest.items() if r["persons"] == "2"]
    assert {manifest[n]["class_name"] for n in two} == {"handshake", "push"}
    for name in two:  # two real bodies, apart from short tracking dropouts
        assert np.mean([len(f) >= 2 for f in parsed[name]]) > 0.8, name
    clean = [n for n, r in manifest.items() if r["persons"] == "1" and not r["extras"]]
    assert all(max(len(f) for f in parsed[n]) == 1 for n in clean)
    # artefacts the readers must cope with occur: empty frames, extra (clutter) bodies, new body ids
    assert sum(any(len(f) == 0 for f in frames) for frames in parsed.values()) >= 5
    assert sum(bool(r["extras"]) for r in manifest.values()) >= 5
    assert any(len({i for f in frames for i, _ in f}) > max(map(len, frames)) for frames in parsed.values())
    clutter = [n for n, r in manifest.items() if "clutter" in r["extras"]]
    for name in clutter:  # a compact blob: all 25 points within a few cm
        blobs = [v for f in parsed[name] for _, v in f if np.ptp(v[:, :3], axis=0).max() < 0.15]
        assert blobs, name


def test_subject_bodies_are_consistent(dataset):
    _, _, manifest, parsed = dataset
    per_subject: dict[int, list[float]] = {}
    for name, row in manifest.items():
        if row["persons"] != "1":
            continue
        by_id: dict[int, list[float]] = {}
        for frame in parsed[name]:
            for body_id, v in frame:
                by_id.setdefault(body_id, []).extend(thigh_lengths(v))
        people = [v for v in by_id.values() if np.median(v) > 0.2]  # not a clutter blob
        longest = max(people, key=len)  # the actor (a passer-by is seen for < 41 frames)
        per_subject.setdefault(int(row["subject"]), []).append(float(np.median(longest)))
    medians = {s: np.median(v) for s, v in per_subject.items()}
    for s, values in per_subject.items():
        assert np.ptp(values) < 0.015, f"subject {s}: thigh length varies by {np.ptp(values):.3f} m"
    assert np.ptp(list(medians.values())) > 0.02  # subjects differ


def test_difficulty_zero_is_clean(tmp_path):
    syn.generate(tmp_path, num_classes=3, subjects=[1], cameras=[2], seed=3, difficulty=0.0)
    for path in sorted((tmp_path / syn.NTU_DIR).glob("*.skeleton")):
        frames = read_ntu(path)
        assert all(len(f) == 1 for f in frames)  # no gaps, no extra bodies
        thighs = np.array([thigh_lengths(f[0][1]) for f in frames])
        assert np.ptp(thighs, axis=0).max() < 1e-5  # rigid bones: no sensor noise


# -- determinism -------------------------------------------------------------------------------------
def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_deterministic_for_any_worker_count_and_subset(tmp_path):
    kw = dict(fmt="both", num_classes=3, subjects=[1, 3], cameras=[1, 2], seed=5)
    syn.generate(tmp_path / "a", workers=0, **kw)
    syn.generate(tmp_path / "b", workers=2, **kw)
    a = tree(tmp_path / "a")
    assert a == tree(tmp_path / "b")
    assert len([k for k in a if k.endswith(".skeleton")]) == 12
    # one camera, one subject: the same bytes for the recordings both runs contain
    syn.generate(tmp_path / "c", **{**kw, "subjects": [3], "cameras": [2]})
    c = tree(tmp_path / "c")
    shared = [k for k in c if k.endswith((".skeleton", ".json")) and "label" not in k]
    assert len(shared) == 6 and all(c[k] == a[k] for k in shared)
    # another seed changes every recording
    syn.generate(tmp_path / "d", **{**kw, "seed": 6, "fmt": "ntu"})
    d = tree(tmp_path / "d")
    assert all(d[k] != a[k] for k in d if k.endswith(".skeleton"))


# -- through the project's converters ----------------------------------------------------------------
def test_ntu_gendata_end_to_end(dataset, converted):
    _, _, manifest, _ = dataset
    result, dest = converted
    assert not result.bad and not result.skipped
    for bench in ("xsub", "xview"):
        for part in ("train", "val"):
            rep = result.splits[f"{bench}/{part}"]
            assert rep.status == "written" and rep.written == rep.candidates and not rep.skipped
    total = 0
    for bench, is_train in (
        ("xsub", lambda r: int(r["subject"]) in XSUB_TRAIN),
        ("xview", lambda r: int(r["camera"]) in (2, 3)),
    ):
        for part in ("train", "val"):
            data = np.load(dest / bench / f"{part}_data_joint.npy", mmap_mode="r")
            names, labels = load_label_file(dest / bench / f"{part}_label.pkl")
            expected = sorted(
                n + ".skeleton" for n, r in manifest.items() if is_train(r) == (part == "train")
            )
            assert names == expected and data.shape == (len(names), 3, 300, 25, 2)
            assert labels == [int(manifest[n[:-9]]["label"]) for n in names]
            assert np.bincount(labels, minlength=12).tolist() == [len(names) // 12] * 12
            assert np.isfinite(data).all() and np.abs(data[:, :, :, :, 0]).max() > 0.1
            total += len(names)
    assert total == 2 * len(manifest)


def test_kinetics_files_and_converter(dataset, tmp_path):
    summary, out, manifest, _ = dataset
    by_id = {r["kinetics_id"]: r for r in manifest.values()}
    for part in ("train", "val"):
        label_text = (out / f"kinetics_{part}_label.json").read_text()
        labels = json.loads(label_text)
        files = sorted((out / f"kinetics_{part}").glob("*.json"))
        assert sorted(labels) == [p.stem for p in files]
        for vid, entry in labels.items():
            row = by_id[vid]
            assert re.fullmatch(r"[A-Za-z0-9_-]{11}", vid) and row["kinetics_part"] == part
            assert (int(row["subject"]) in XSUB_TRAIN) == (part == "train")
            assert entry == {
                "has_skeleton": True,
                "label": row["class_name"],
                "label_index": int(row["label"]),
            }
        for path in files[::5]:
            text = path.read_text()
            assert not text.endswith("\n")
            video = json.loads(text)
            assert video["label_index"] == labels[path.stem]["label_index"]
            assert [f["frame_index"] for f in video["data"]] == list(range(1, len(video["data"]) + 1))
            for array in re.findall(r"\[([^\[\]{}]+)\]", text):  # pose and score lists
                assert all(re.fullmatch(r"\d\.\d{3}", v) for v in array.split(", ")), array
            for frame in video["data"]:
                for person in frame["skeleton"]:
                    pose, score = np.array(person["pose"]).reshape(18, 2), np.array(person["score"])
                    assert len(score) == 18 and np.all((pose >= 0) & (pose <= 1)) and np.all(score <= 0.95)
                    assert np.all(pose[score == 0] == 0)
                    seen = score[score > 0]  # a person (0.3-0.95) or a weak clutter detection (< 0.3)
                    assert np.all(seen >= 0.3) or np.all(seen < 0.3), score
    result = kinetics_gendata.gendata(out, tmp_path, workers=0)
    assert not result.bad
    for part in ("train", "val"):
        data = np.load(tmp_path / f"{part}_data_joint.npy", mmap_mode="r")
        names, labels = load_label_file(tmp_path / f"{part}_label.pkl")
        assert data.shape == (len(names), 3, 300, 18, 2) and len(names) == 3 * 12 * 3
        assert labels == [int(by_id[n[:-5]]["label"]) for n in names]


# -- learnable but not trivial -----------------------------------------------------------------------
def crude_features(x: np.ndarray) -> np.ndarray:
    """Per-joint statistics of the pre-normalised (spine-centred, view-aligned) persons."""
    a = x[..., 0].transpose(0, 2, 3, 1)  # (N, T, V, C)
    b = x[..., 1].transpose(0, 2, 3, 1)
    stats = [a.mean(1), a.std(1), a.min(1), a.max(1), np.abs(np.diff(a, axis=1)).mean(1), b.mean(1), b.std(1)]
    return np.concatenate([s.reshape(len(x), -1) for s in stats], axis=1)


def test_learnable_but_not_trivial(converted):
    _, dest = converted
    (xtr, ytr), (xva, yva) = (
        (
            np.load(dest / "xsub" / f"{p}_data_joint.npy"),
            np.array(load_label_file(dest / "xsub" / f"{p}_label.pkl")[1]),
        )
        for p in ("train", "val")
    )
    ftr, fva = crude_features(xtr), crude_features(xva)
    mu, sd = ftr.mean(0), ftr.std(0) + 1e-6
    ztr, zva = (ftr - mu) / sd, (fva - mu) / sd
    targets = np.eye(12)[ytr] * 2 - 1
    w = np.linalg.solve(ztr.T @ ztr + 10.0 * np.eye(ztr.shape[1]), ztr.T @ targets)  # ridge classifier
    pred = (zva @ w).argmax(1)
    accuracy = float((pred == yva).mean())
    assert 3 / 12 < accuracy < 0.98, accuracy
    # the mistakes are mostly the designed look-alikes: (wave one/both hands), (clap, rub hands), ...
    errors = [(int(t), int(p)) for t, p in zip(yva, pred) if t != p]
    paired = sum(min(e) // 2 == max(e) // 2 for e in errors)
    assert paired >= 0.35 * len(errors), errors


def test_no_name_is_in_the_official_ignore_lists():
    official = ntu_gendata.read_ignore_list(ntu_gendata.NTU60_IGNORE_LIST) | ntu_gendata.read_ignore_list(
        ntu_gendata.NTU120_IGNORE_LIST
    )
    names = {
        syn.sample_name(syn.setup_of(p), c, p, r, a)
        for p in range(1, 41)
        for c in (1, 2, 3)
        for r in range(1, 10)
        for a in range(1, len(syn.load_class_names()) + 1)
    }
    assert len(official) > 300 and not names & official


# -- API and command line ----------------------------------------------------------------------------
def test_label_map_and_actions():
    names = syn.load_class_names()
    assert len(names) >= 10 and len(set(names)) == len(names)
    assert (
        names == (ROOT / "data_gen" / "resources" / "labels" / "synthetic.txt").read_text().split("\n")[:-1]
    )
    assert {syn.ACTIONS[n].persons for n in names} == {1, 2}


def test_stale_files_need_overwrite(tmp_path):
    syn.generate(tmp_path, num_classes=2, subjects=[1], cameras=[2])
    syn.generate(tmp_path, num_classes=2, subjects=[1], cameras=[2])  # the same run again is fine
    with pytest.raises(ConfigError, match="--overwrite"):
        syn.generate(tmp_path, num_classes=1, subjects=[1], cameras=[2])
    syn.generate(tmp_path, num_classes=1, subjects=[1], cameras=[2], overwrite=True)
    assert [p.name[-13:] for p in (tmp_path / syn.NTU_DIR).iterdir()] == ["A001.skeleton"]


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["--classes", "99"], "--classes"),
        (["--cameras", "4"], "--cameras"),
        (["--subject-ids", "41"], "--subject-ids"),
        (["--format", "kinetics", "--max-frames", "300"], "--max-frames"),
        (["--difficulty", "-1"], "--difficulty"),
    ],
)
def test_cli_errors_name_the_argument(tmp_path, capsys, argv, word):
    assert syn.main(["--out", str(tmp_path), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert word in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_cli_runs_as_a_file_and_as_a_module(tmp_path):
    script = [sys.executable, str(ROOT / "data_gen" / "synthetic.py")]
    args = ["--classes", "1", "--subjects", "1", "--cameras", "3", "--format", "both"]
    run = subprocess.run(
        [*script, "--out", str(tmp_path / "f"), *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "wrote 1 recordings" in run.stdout
    assert (tmp_path / "f" / syn.NTU_DIR / "S012C003P001R001A001.skeleton").is_file()
    module = [sys.executable, "-m", "data_gen.synthetic", "--out", str(tmp_path / "m"), "--quiet", *args]
    run = subprocess.run(module, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert tree(tmp_path / "f") == tree(tmp_path / "m")
