"""MMAction2 / PYSKL skeleton annotation pickles as a dataset (feeder ``pose_pickle``).

The file format (MMAction2's ``PoseDataset``, PYSKL's ``tools/data`` README)::

    {'split': {'xsub_train': [frame_dir, ...], 'xsub_val': [...], ...},
     'annotations': [{'frame_dir': str, 'label': int, 'total_frames': int,
                      'keypoint': (M, T, V, C) float array,            # C = 3 (3D) or 2 (2D)
                      'keypoint_score': (M, T, V) float array,          # 2D only
                      'img_shape': (h, w), 'original_shape': (h, w)},   # 2D only
                     ...]}

A split selects the annotations whose ``frame_dir`` it lists, in the file's order (as MMAction2
does). Each sample goes through MMAction2's GCN pipeline (:mod:`feeders.pose_pipeline`):
PreNormalize3D or PreNormalize2D, GenSkeFeat (the stream), UniformSampleFrames, PoseDecode,
FormatGCNInput; the result is in this project's layout: (C, T, V, M) float32 for one clip,
(K, C, T, V, M) for K clips (the engine averages the clips' scores).

Config block (ST-GCN on NTU60 X-Sub 3D, bone stream)::

    feeder: pose_pickle
    train_feeder_args: {data_path: ./data/mmaction/ntu60_3d.pkl, split: xsub_train, stream: b,
                        dataset: nturgb+d, clip_len: 100}
    test_feeder_args:  {data_path: ./data/mmaction/ntu60_3d.pkl, split: xsub_val, stream: b,
                        dataset: nturgb+d, clip_len: 100, num_clips: 10, test_mode: true}

Memory: the pickle is read whole, once per process (a module-level cache shared by every feeder on
the same file, e.g. training and test sets, as long as one of them is alive): about the file's size,
since the arrays stay as stored (check the size of your download: that is the resident memory).
Construction also checks every annotation once (shape, finite values, non-empty), one pass over
the arrays. Feeders keep references to their own annotations only. DataLoader workers started by fork (Linux)
share these arrays copy-on-write; when a feeder is pickled (spawn), only its own annotations travel.
The per-sample pipeline works on one clip at a time (a few MB at most).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from feeders.pose_pipeline import PoseLayout, gcn_clip, get_pose_layout, stream_feats, to_nctvm
from utils.errors import ConfigError, DataError
from utils.io import load_pickle
from utils.registry import FEEDERS


class AnnotationFile:
    """A parsed annotation pickle: ``split`` (name -> frame_dirs, or None) and ``annotations`` (list of dicts)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        obj = load_pickle(self.path)
        expected = "expected MMAction2's skeleton annotations: a dict {'split': {name: [frame_dir, ...]}, 'annotations': [...]}"
        if isinstance(obj, list):  # MMAction2 0.x / early PYSKL: one list of annotations per split file
            self.split: dict[str, list[str]] | None = None
            self.annotations: list[dict[str, Any]] = obj
        elif isinstance(obj, dict) and "annotations" in obj:
            split = obj.get("split")
            if split is not None and not (
                isinstance(split, dict) and all(isinstance(v, (list, tuple)) for v in split.values())
            ):
                raise DataError(f"{self.path}: 'split' is not a dict of frame_dir lists; {expected}")
            self.split = None if split is None else {str(k): [str(n) for n in v] for k, v in split.items()}
            self.annotations = obj["annotations"]
        else:
            got = (
                f"a dict with keys {sorted(map(str, obj))[:6]}"
                if isinstance(obj, dict)
                else type(obj).__name__
            )
            raise DataError(f"{self.path}: {expected}; got {got}")
        if not isinstance(self.annotations, list):
            raise DataError(
                f"{self.path}: 'annotations' is a {type(self.annotations).__name__}, not a list; {expected}"
            )
        for i, ann in enumerate(self.annotations):
            if not isinstance(ann, dict) or "keypoint" not in ann or "frame_dir" not in ann:
                keys = sorted(map(str, ann))[:8] if isinstance(ann, dict) else type(ann).__name__
                raise DataError(
                    f"{self.path}: annotation {i} has no 'frame_dir' and 'keypoint' (got {keys}); {expected}"
                )

    def select(self, split: str | None) -> list[dict[str, Any]]:
        """The annotations of ``split`` in file order (all of them for None)."""
        if split is None:
            return list(self.annotations)
        if self.split is None:
            raise DataError(
                f"{self.path}: the file has no 'split' dict (one file per split, MMAction2 0.x); set split: null"
            )
        if split not in self.split:
            raise DataError(
                f"{self.path}: no split '{split}'; the file has: {', '.join(sorted(self.split)) or 'none'}"
            )
        members = set(self.split[split])
        return [ann for ann in self.annotations if str(ann["frame_dir"]) in members]


_CACHE: weakref.WeakValueDictionary[tuple[str, int, int], AnnotationFile] = weakref.WeakValueDictionary()


def load_annotation_file(path: str | os.PathLike) -> AnnotationFile:
    """Read an annotation pickle once per process (shared while any holder is alive); restricted unpickler."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise DataError(
            f"{path}: no such annotation file (download MMAction2/PYSKL's pickles, or write one with "
            "data_gen/mmaction_pickle.py to-pickle or data_gen/synthetic.py --format mmaction; README, "
            "'MMAction2 / PYSKL skeleton pickles')"
        ) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(key)
    if cached is None:
        cached = AnnotationFile(path)
        _CACHE[key] = cached
    return cached


def check_annotation(path: str | os.PathLike, ann: Mapping[str, Any], layout: PoseLayout) -> None:
    """One-line DataError naming the file and sample when ``ann`` cannot go through the pipeline."""
    where = f"{path}: sample '{ann.get('frame_dir')}'"
    kp = ann["keypoint"]
    if not isinstance(kp, np.ndarray) or kp.dtype.kind != "f":
        raise DataError(f"{where}: 'keypoint' is not a float array (got {type(kp).__name__})")
    if kp.ndim != 4:
        raise DataError(f"{where}: keypoint has shape {kp.shape}; expected (M, T, V, C)")
    M, T, V, C = kp.shape
    if V != layout.num_node:
        raise DataError(
            f"{where}: keypoint has V={V} joints but dataset '{layout.name}' has {layout.num_node}"
        )
    if C not in (2, 3) or (layout.coords is not None and C != layout.coords):
        want = {3: "3 (x, y, z)", 2: "2 (x, y) with keypoint_score"}.get(layout.coords or 0, "2 or 3")
        raise DataError(
            f"{where}: keypoint has C={C} values per joint; dataset '{layout.name}' expects {want}"
        )
    score = ann.get("keypoint_score")
    if C == 2 and score is None:
        raise DataError(f"{where}: 2D keypoints need 'keypoint_score' (M, T, V) for the score channel")
    if score is not None:
        if C == 3 or not layout.score_channel:
            raise DataError(
                f"{where}: has 'keypoint_score', which dataset '{layout.name}' with C={C} does not take"
            )
        if np.shape(score) != (M, T, V):
            raise DataError(
                f"{where}: keypoint_score has shape {np.shape(score)}; expected (M, T, V) = {(M, T, V)}"
            )
    if C == 3 and M not in (1, 2):
        raise DataError(f"{where}: {M} persons; PreNormalize3D (3D data) takes 1 or 2")
    if M == 0 or T == 0 or not kp.any():
        raise DataError(f"{where}: empty clip (keypoint shape {kp.shape}, all zero or no frames)")
    total = ann.get("total_frames", T)
    if int(total) != T:
        raise DataError(f"{where}: total_frames is {total} but keypoint has {T} frames")
    if not np.isfinite(kp).all() or (score is not None and not np.isfinite(score).all()):
        raise DataError(f"{where}: keypoint or keypoint_score holds NaN or inf")
    label = ann.get("label")
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or label < 0:
        raise DataError(f"{where}: label {label!r} is not a class index (integer >= 0)")


@dataclass(frozen=True)
class GCNPipeline:
    """MMAction2's GCN pipeline with its options checked: ``pipeline(annotation)`` -> float32
    (num_clips, M, clip_len, V, C) clips (MMAction2's layout; :func:`to_nctvm` gives this project's)."""

    layout: PoseLayout
    feats: tuple[str, ...]
    clip_len: int
    num_clips: int
    test_mode: bool
    num_person: int
    pad_mode: str
    seed: int

    @classmethod
    def from_args(
        cls,
        stream: str | Sequence[str] = "j",
        clip_len: int = 100,
        num_clips: int = 1,
        test_mode: bool = False,
        num_person: int = 2,
        dataset: str | Mapping[str, Any] = "nturgb+d",
        pad_mode: str = "zero",
        seed: int = 255,
    ) -> GCNPipeline:
        """The feeder's arguments of the same names; a bad one is a ConfigError naming it."""
        try:
            layout = get_pose_layout(dataset)
        except ValueError as exc:
            raise ConfigError(f"dataset: {exc}") from None
        try:
            feats = tuple(stream_feats(stream))
        except ValueError as exc:
            raise ConfigError(f"stream: {exc}") from None
        for key, value in (("clip_len", clip_len), ("num_clips", num_clips), ("num_person", num_person)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
        if pad_mode not in ("zero", "loop"):
            raise ConfigError(f"pad_mode: expected 'zero' or 'loop', got {pad_mode!r}")
        return cls(layout, feats, clip_len, num_clips, bool(test_mode), num_person, pad_mode, int(seed))

    def __call__(self, annotation: Mapping[str, Any], rng: Any = None) -> np.ndarray:
        return gcn_clip(
            annotation,
            self.layout,
            self.feats,
            self.clip_len,
            self.num_clips,
            self.test_mode,
            self.num_person,
            self.pad_mode,
            self.seed,
            rng,
        )

    def sample(self, joint: np.ndarray, source: str = "input") -> np.ndarray:
        """One clip read by this project's readers, (C, T, V, M), through the pipeline: (C, T, V, M) for
        one clip, (K, C, T, V, M) for K. All-zero person slots (the readers' padding) are dropped, as
        MMAction2's pickles store only the persons present; for 2D layouts a third channel is the score."""
        joint = np.asarray(joint, dtype=np.float32)
        if joint.ndim != 4:
            raise DataError(f"{source}: expected a clip (C, T, V, M), got shape {joint.shape}")
        C, T, V, _ = joint.shape
        kp = joint.transpose(3, 1, 2, 0)  # (M, T, V, C)
        present = np.abs(kp).reshape(kp.shape[0], -1).max(axis=1) > 0
        kp = kp[present] if present.any() else kp[:1]
        ann: dict[str, Any] = {"frame_dir": Path(source).stem, "label": 0, "total_frames": T}
        three_d = self.layout.coords == 3 or (self.layout.coords is None and not self.layout.score_channel)
        if not three_d:
            ann["keypoint"] = np.ascontiguousarray(kp[..., :2])
            score = kp[..., 2] if C > 2 else np.ones(kp.shape[:3], np.float32)
            ann["keypoint_score"] = np.ascontiguousarray(score)
        else:
            ann["keypoint"] = np.ascontiguousarray(kp)
        check_annotation(source, ann, self.layout)
        x = to_nctvm(self(ann))  # (K, C, T, V, M)
        return x[0] if self.num_clips == 1 else x


@FEEDERS.register("pose_pickle")
class PosePickleFeeder(Dataset):
    """A split of an MMAction2 / PYSKL skeleton pickle through MMAction2's GCN pipeline.

    Args:
        data_path: the annotation ``.pkl`` (MMAction2's ``ntu60_3d.pkl``, ``ntu60_2d.pkl``, ``ntu120_*``,
            ``gym_2d.pkl``; PYSKL's ``ntu60_3danno.pkl``, ``ntu60_hrnet.pkl``, ...).
        split: a split name of the file (``xsub_train``, ``xview_val``, ``xset_train``, ...); None: all.
        stream: ``j``, ``b``, ``jm``, ``bm`` (or ``joint``, ``bone``, ``joint_motion``, ``bone_motion``), or
            a list of them, concatenated on the channels (early fusion, as MMAction2's ``feats``).
        clip_len: frames per clip (MMAction2's configs: 100).
        num_clips: clips per sample (1 for training and validation, 10 for MMAction2's test protocol).
        test_mode: deterministic frames (MMAction2's fixed seed); False draws from NumPy's global
            generator, seeded by the engine per process, epoch and DataLoader worker.
        num_person: person slots M (missing persons are zero, or copies of a lone person with
            ``pad_mode: loop``; extra persons are dropped).
        dataset: ``nturgb+d`` (3D, 25 joints), ``coco`` (2D, 17), ``openpose`` (2D, 18), or a layout as data
            ``{num_node, bone_pairs[, coords, score_channel, zaxis, xaxis, name]}``.
        indices: use only these samples of the split (the engine passes them for validation splits).
        debug: only the first 100 samples.
        pad_mode: ``zero`` or ``loop`` (FormatGCNInput's mode).
        seed: test-mode sampling seed (MMAction2: 255).

    Memory: see the module docstring (the file is held once per process, about its size).
    ``__getitem__(i) -> (float32 (C, T, V, M), or (K, C, T, V, M) for K > 1 clips, label, i)``.
    """

    def __init__(
        self,
        data_path: str,
        split: str | None = None,
        stream: str | Sequence[str] = "j",
        clip_len: int = 100,
        num_clips: int = 1,
        test_mode: bool = False,
        num_person: int = 2,
        dataset: str | Mapping[str, Any] = "nturgb+d",
        indices: Sequence[int] | None = None,
        debug: bool = False,
        pad_mode: str = "zero",
        seed: int = 255,
    ) -> None:
        self.data_path = str(data_path)
        self.pipeline = GCNPipeline.from_args(
            stream, clip_len, num_clips, test_mode, num_person, dataset, pad_mode, seed
        )
        self.layout, self.feats = self.pipeline.layout, self.pipeline.feats
        self.stream = stream
        self.clip_len, self.num_clips, self.num_person = clip_len, num_clips, num_person
        self.test_mode, self.pad_mode, self.seed = bool(test_mode), pad_mode, int(seed)
        self.split = split
        self._file: AnnotationFile | None = load_annotation_file(self.data_path)
        annotations = self._file.select(split)
        if not annotations:
            raise DataError(f"{self.data_path}: split '{split}' selects no annotation")
        order = np.arange(len(annotations))
        if indices is not None:
            order = np.asarray(indices, dtype=np.int64)
            if order.size and (order.min() < 0 or order.max() >= len(annotations)):
                raise DataError(
                    f"indices: out of range for the {len(annotations)} samples of split '{split}'"
                )
        if debug:
            order = order[:100]
        self.annotations = [annotations[i] for i in order]
        for ann in self.annotations:
            check_annotation(self.data_path, ann, self.layout)
        self.sample_name = [str(ann["frame_dir"]) for ann in self.annotations]
        self.label = [int(ann["label"]) for ann in self.annotations]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_file"] = None  # a pickled feeder (spawned DataLoader workers) carries its own samples only
        return state

    def __len__(self) -> int:
        return len(self.annotations)

    def clips(self, index: int, rng: Any = None) -> np.ndarray:
        """MMAction2's layout of sample ``index``: float32 (num_clips, M, clip_len, V, C)."""
        try:
            return self.pipeline(self.annotations[index], rng)
        except ValueError as exc:
            raise DataError(f"{self.data_path}: sample '{self.sample_name[index]}': {exc}") from None

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, int]:
        x = to_nctvm(self.clips(index))  # (K, C, T, V, M)
        if self.num_clips == 1:
            x = x[0]  # (C, T, V, M)
        return x, self.label[index], index
