"""The generator's API: names, splits and the parallel jobs that write a dataset."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.synth.actions import ACTIONS, LABEL_MAP, load_class_names
from data_gen.synth.capture import Artefacts, capture_tracks, performance_of, setup_cameras
from data_gen.synth.geometry import STREAM_CAPTURE, STREAM_POSE2D, stream_rng
from data_gen.synth.writers import kinetics_id, kinetics_text, mmaction_annotations, ntu_text, write_ascii
from utils.errors import ConfigError
from utils.io import save_pickle, save_text

NTU_DIR = "nturgb+d_skeletons"
FORMATS = ("ntu", "kinetics", "both", "mmaction", "all")
#: What each ``--format`` writes.
WRITES = {
    "ntu": ("ntu",),
    "kinetics": ("kinetics",),
    "both": ("ntu", "kinetics"),
    "mmaction": ("mmaction",),
    "all": ("ntu", "kinetics", "mmaction"),
}


def format_kinds(fmt: str | Sequence[str]) -> tuple[str, ...]:
    """The kinds of files (ntu, kinetics, mmaction) that ``--format`` value(s) ``fmt`` ask for."""
    names = [fmt] if isinstance(fmt, str) else list(fmt)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"--format: expected one or more of {', '.join(FORMATS)}, got {fmt!r}")
    return tuple(k for k in ("ntu", "kinetics", "mmaction") if any(k in WRITES[n] for n in names))


#: MMAction2 annotation files (``--format mmaction``) and their splits.
MMACTION_FILES = {"3d": "synthetic_3d.pkl", "2d": "synthetic_2d.pkl"}
#: NTU RGB+D cross-subject training performers; cross-view trains on cameras 2 and 3.
XSUB_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XSUB_TEST_SUBJECTS = tuple(p for p in range(1, 41) if p not in XSUB_TRAIN_SUBJECTS)
XVIEW_TRAIN_CAMERAS = (2, 3)
MAX_FRAMES = 300  # NTU readers pad to 300 frames; Kinetics uses frame_index (1-based) < 300


def choose_subjects(n: int) -> list[int]:
    """``n`` NTU performer ids alternating cross-subject training and test ids: 1, 3, 2, 6, 4, 7, ..."""
    if not 1 <= n <= 40:
        raise ConfigError(f"--subjects: expected 1..40 performers, got {n}")
    mixed = [p for pair in zip(XSUB_TRAIN_SUBJECTS, XSUB_TEST_SUBJECTS) for p in pair]
    return mixed[:n]


def setup_of(subject: int) -> int:
    """The NTU setup id (1..17) a subject is recorded in; three performers share a setup.

    The offset keeps every name this generator can write (performers 1-40, cameras 1-3, replications
    1-9, actions 1-15) out of the official NTU60/NTU120 missing-skeleton lists, so the readers' default
    ignore lists skip no synthetic sample.
    """
    return 1 + ((subject - 1) // 3 + 11) % 17


def sample_name(setup: int, camera: int, subject: int, replication: int, action: int) -> str:
    """NTU sample id ``SsssCcccPpppRrrrAaaa``."""
    return f"S{setup:03d}C{camera:03d}P{subject:03d}R{replication:03d}A{action:03d}"


@dataclass(frozen=True)
class Summary:
    """What :func:`generate` wrote."""

    out_dir: Path
    fmt: str
    num_samples: int
    class_names: tuple[str, ...]
    subjects: tuple[int, ...]
    cameras: tuple[int, ...]
    replications: int
    seed: int
    ntu_dir: Path | None
    kinetics_counts: dict[str, int] = field(default_factory=dict)
    mmaction_files: tuple[Path, ...] = ()
    frames: tuple[int, int, float] = (0, 0, 0.0)  # min, max, mean
    seconds: float = 0.0

    @property
    def train_subjects(self) -> tuple[int, ...]:
        return tuple(p for p in self.subjects if p in XSUB_TRAIN_SUBJECTS)

    @property
    def test_subjects(self) -> tuple[int, ...]:
        return tuple(p for p in self.subjects if p not in XSUB_TRAIN_SUBJECTS)


@dataclass(frozen=True)
class _Job:
    seed: int
    out_dir: str
    kinds: tuple[str, ...]  # format_kinds()
    class_names: tuple[str, ...]
    action_id: int
    subject: int
    replication: int
    cameras: tuple[int, ...]
    artefacts: Artefacts
    max_frames: int


_MANIFEST_FIELDS = (
    "name",
    "label",
    "class_name",
    "setup",
    "subject",
    "camera",
    "replication",
    "frames",
    "bodies",
    "persons",
    "extras",
    "view_deg",
    "kinetics_id",
    "kinetics_part",
)


def _run_job(job: _Job) -> list[dict[str, Any]]:
    """Generate one performance and write what each camera recorded."""
    name_ = job.class_names[job.action_id - 1]
    action = ACTIONS[name_]
    perf = performance_of(job.seed, action, job.action_id, job.subject, job.replication)
    setup = setup_of(job.subject)
    cams = setup_cameras(job.seed, setup, perf.two_person)
    out = Path(job.out_dir)
    part = "train" if job.subject in XSUB_TRAIN_SUBJECTS else "val"
    rows = []
    for cam in job.cameras:
        name = sample_name(setup, cam, job.subject, job.replication, job.action_id)
        rng = stream_rng(job.seed, STREAM_CAPTURE, setup, cam, job.subject, job.replication, job.action_id)
        tracks, T, view = capture_tracks(perf, cams[cam], rng, job.artefacts, job.max_frames)
        if "ntu" in job.kinds:
            write_ascii(out / NTU_DIR / f"{name}.skeleton", ntu_text(tracks, T))
        kid = kinetics_id(job.seed, name)
        has = True
        if "kinetics" in job.kinds:
            text, has = kinetics_text(tracks, T, rng, job.artefacts, name_, job.action_id - 1)
            write_ascii(out / f"kinetics_{part}" / f"{kid}.json", text)
        counts = np.sum([tr.present for tr in tracks], axis=0)
        extras = [tr.kind for tr in tracks if tr.kind != "person"]
        rows.append(
            {
                "name": name,
                "label": job.action_id - 1,
                "class_name": name_,
                "setup": setup,
                "subject": job.subject,
                "camera": cam,
                "replication": job.replication,
                "frames": T,
                "bodies": int(counts.max()),
                "persons": action.persons,
                "extras": "+".join(extras),
                "view_deg": int(round(view)),
                "kinetics_id": kid,
                "kinetics_part": part,
                "has_skeleton": has,
            }
        )
        if "mmaction" in job.kinds:
            pose_rng = stream_rng(
                job.seed, STREAM_POSE2D, setup, cam, job.subject, job.replication, job.action_id
            )
            rows[-1]["mmaction"] = mmaction_annotations(tracks, T, name, job.action_id - 1, pose_rng)
    return rows


def write_mmaction(out: Path, rows: list[dict[str, Any]]) -> tuple[Path, ...]:
    """``synthetic_{3d,2d}.pkl``: MMAction2 annotation files with xsub and xview splits (rows sorted by name).

    xsub trains on the cross-subject training performers, xview on cameras 2 and 3 (NTU's protocols);
    the other samples are the ``*_val`` splits. The dicts are rebuilt here (interned names, literal
    keys, canonical dtypes), so the pickled bytes do not depend on which process made an annotation.
    """
    names = [sys.intern(str(r["name"])) for r in rows]
    split = {
        "xsub_train": [n for n, r in zip(names, rows) if r["subject"] in XSUB_TRAIN_SUBJECTS],
        "xsub_val": [n for n, r in zip(names, rows) if r["subject"] not in XSUB_TRAIN_SUBJECTS],
        "xview_train": [n for n, r in zip(names, rows) if r["camera"] in XVIEW_TRAIN_CAMERAS],
        "xview_val": [n for n, r in zip(names, rows) if r["camera"] not in XVIEW_TRAIN_CAMERAS],
    }
    paths = []
    for i, file in enumerate(MMACTION_FILES.values()):  # (3D, 2D) per row
        annotations = []
        for name, row in zip(names, rows):
            ann = row["mmaction"][i]
            clean = {"frame_dir": name, "label": int(ann["label"]), "total_frames": int(ann["total_frames"])}
            # astype: a fresh array with NumPy's canonical float32 dtype (unpickled ones carry a copy)
            clean["keypoint"] = ann["keypoint"].astype(np.float32)
            if "keypoint_score" in ann:
                clean["keypoint_score"] = ann["keypoint_score"].astype(np.float32)
                clean["img_shape"] = (int(ann["img_shape"][0]), int(ann["img_shape"][1]))
                clean["original_shape"] = (int(ann["original_shape"][0]), int(ann["original_shape"][1]))
            annotations.append(clean)
        save_pickle({"split": split, "annotations": annotations}, out / file)
        paths.append(out / file)
    return tuple(paths)


def _stale(folder: Path, pattern: str, expected: set[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.name not in expected)


def generate(
    out_dir: str | os.PathLike,
    fmt: str | Sequence[str] = "ntu",
    num_classes: int = 12,
    subjects: int | Sequence[int] = 10,
    replications: int = 1,
    cameras: Sequence[int] = (1, 2, 3),
    seed: int = 0,
    difficulty: float = 1.0,
    noise_mm: float | None = None,
    max_frames: int | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Summary:
    """Generate the synthetic dataset under ``out_dir`` (see the module docstring for the layout).

    ``fmt``: a ``--format`` value or several (``("ntu", "mmaction")``). ``subjects`` is a count
    (performer ids chosen by :func:`choose_subjects`) or explicit ids 1..40.
    ``difficulty`` scales every capture artefact (0: clean skeletons, 1: default); ``noise_mm``
    overrides the joint noise alone. ``workers``: processes (None: up to 4 for large sets, 0: inline).
    Files of an earlier run that this one would not write make it fail unless ``overwrite``.
    """
    started = time.perf_counter()
    kinds = format_kinds(fmt)
    fmt = fmt if isinstance(fmt, str) else "+".join(fmt)
    names = load_class_names()
    if not 1 <= num_classes <= len(names):
        raise ConfigError(
            f"--classes: expected 1..{len(names)} (classes in {LABEL_MAP.name}), got {num_classes}"
        )
    ids = choose_subjects(subjects) if isinstance(subjects, (int, np.integer)) else [int(p) for p in subjects]
    if not ids or len(set(ids)) != len(ids) or not all(1 <= p <= 40 for p in ids):
        raise ConfigError(f"--subject-ids: expected distinct performer ids in 1..40, got {ids}")
    if not 1 <= replications <= 9:
        raise ConfigError(f"--replications: expected 1..9, got {replications}")
    cams = tuple(sorted({int(c) for c in cameras}))
    if not cams or not set(cams) <= {1, 2, 3}:
        raise ConfigError(f"--cameras: expected camera ids among 1, 2, 3, got {list(cameras)}")
    if int(seed) < 0:
        raise ConfigError(f"--seed: expected a non-negative integer, got {seed}")
    if not 0.0 <= difficulty <= 3.0:
        raise ConfigError(f"--difficulty: expected 0..3, got {difficulty}")
    if noise_mm is not None and not 0.0 <= noise_mm <= 100.0:
        raise ConfigError(f"--noise-mm: expected 0..100, got {noise_mm}")
    limit = MAX_FRAMES - 1 if "kinetics" in kinds else MAX_FRAMES
    max_frames = limit if max_frames is None else int(max_frames)
    if not 30 <= max_frames <= limit:
        raise ConfigError(f"--max-frames: expected 30..{limit} for format {fmt}, got {max_frames}")
    out = Path(out_dir)
    art = Artefacts.from_difficulty(difficulty, noise_mm)
    classes = tuple(names[:num_classes])
    jobs = [
        _Job(int(seed), str(out), kinds, classes, a, p, r, cams, art, int(max_frames))
        for p in ids
        for a in range(1, num_classes + 1)
        for r in range(1, replications + 1)
    ]

    expected_ntu = {
        f"{sample_name(setup_of(p), c, p, r, a)}.skeleton"
        for p in ids
        for a in range(1, num_classes + 1)
        for r in range(1, replications + 1)
        for c in cams
    }
    expected_kin = {f"{kinetics_id(int(seed), n[: -len('.skeleton')])}.json" for n in expected_ntu}
    stale = []
    if "ntu" in kinds:
        stale += _stale(out / NTU_DIR, "*.skeleton", expected_ntu)
    if "kinetics" in kinds:
        for part in ("train", "val"):
            stale += _stale(out / f"kinetics_{part}", "*.json", expected_kin)
    if stale and not overwrite:
        raise ConfigError(
            f"{stale[0].parent}: holds {len(stale)} file(s) from another run (e.g. {stale[0].name}); "
            "pass --overwrite to remove them or choose another --out"
        )
    for path in stale:
        path.unlink()

    if workers is None:
        workers = 0 if len(jobs) * len(cams) < 150 else min(4, os.cpu_count() or 1)
    rows: list[dict[str, Any]] = []
    bar = _progress(len(jobs), progress)
    try:
        if workers <= 1:
            for job in jobs:
                rows += _run_job(job)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for result in pool.map(_run_job, jobs, chunksize=max(1, len(jobs) // (8 * workers))):
                    rows += result
                    bar.update(1)
    finally:
        bar.close()
    rows.sort(key=lambda r: r["name"])

    label_jsons: dict[str, int] = {}
    if "kinetics" in kinds:
        for part in ("train", "val"):
            entries = {
                r["kinetics_id"]: {
                    "has_skeleton": r["has_skeleton"],
                    "label": r["class_name"],
                    "label_index": r["label"],
                }
                for r in sorted(rows, key=lambda r: r["kinetics_id"])
                if r["kinetics_part"] == part
            }
            save_text(json.dumps(entries, indent=2), out / f"kinetics_{part}_label.json")
            label_jsons[part] = len(entries)
    mmaction_files = write_mmaction(out, rows) if "mmaction" in kinds else ()
    if "ntu" in kinds:
        save_text("", out / "samples_with_missing_skeletons.txt")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_MANIFEST_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    save_text(buf.getvalue(), out / "manifest.csv")
    save_text("\n".join(classes) + "\n", out / "label_map.txt")
    frames = [r["frames"] for r in rows]
    return Summary(
        out_dir=out,
        fmt=fmt,
        num_samples=len(rows),
        class_names=classes,
        subjects=tuple(ids),
        cameras=cams,
        replications=replications,
        seed=int(seed),
        ntu_dir=out / NTU_DIR if "ntu" in kinds else None,
        kinetics_counts=label_jsons,
        mmaction_files=mmaction_files,
        frames=(min(frames), max(frames), float(np.mean(frames))),
        seconds=time.perf_counter() - started,
    )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="synthetic", unit="take", dynamic_ncols=True)
