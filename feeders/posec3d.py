"""``posec3d`` feeder: MMAction2 2D skeleton pickles -> PoseC3D heatmap volumes (MMAction2's pipelines).

On disk: an MMAction2 annotation pickle ``{'split': {name: [frame_dir, ...]}, 'annotations': [...]}``,
each annotation with ``frame_dir``, ``label``, ``img_shape`` (h, w), ``total_frames``, ``keypoint``
(M, T, V, 2) pixels and ``keypoint_score`` (M, T, V) (``data_gen/posec3d_gendata.py`` writes this
format from this project's data). ``split`` picks the samples (all without it).

``__getitem__(i)`` returns ``(data, label, i)``: data float32 (C, L, H, W) for one view, or
(V, C, L, H, W) for several (test: K clips, twice with ``double``); the engine averages the views'
softmax (the model's ``average_clips = 'prob'``), as MMAction2 does.

Per sample: ``UniformSampleFrames`` (K clips of ``clip_len``; test mode: its fixed seed, without
touching NumPy's global generator) then :class:`feeders.heatmap.HeatmapPipeline`. Training draws
from NumPy's and Python's global generators, which the engine seeds per DataLoader worker, in
MMAction2's order.

Every annotation is checked when the dataset is built; a bad one (keypoints that are not 2D, no
``keypoint_score`` where scores are used, a missing or zero ``img_shape``, fewer than one frame, a
wrong joint count, a missing label) is reported in one line naming the sample and left out, and the
rest of the run goes on (``strict: true`` makes it an error). :attr:`bad_samples` lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from feeders.heatmap import HeatmapLayout, HeatmapPipeline, get_heatmap_layout
from feeders.pose_pickle import load_annotation_file
from feeders.pose_pipeline import uniform_sample_frames
from utils.errors import DataError
from utils.registry import FEEDERS

LOG = logging.getLogger(__name__)
STREAMS = ("keypoint", "limb", "keypoint+limb")


def sample_frames(total_frames: int, clip_len: int, num_clips: int, test_mode: bool, seed: int) -> np.ndarray:
    """``UniformSampleFrames``' frame indices (num_clips·clip_len,) (``feeders.pose_pipeline``)."""
    return uniform_sample_frames(total_frames, clip_len, num_clips, test_mode, seed=seed)


def annotation_problem(ann: Any, num_joints: int, use_score: bool, where: str) -> str | None:
    """Why ``ann`` cannot become a PoseC3D sample (one line naming it), or None if it can."""
    if not isinstance(ann, Mapping):
        return f"{where}: an annotation is a {type(ann).__name__}, expected a dict"
    name = f"{where}: sample '{ann.get('frame_dir', '?')}'"
    kp = ann.get("keypoint")
    if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.shape[-1] != 2:
        shape = getattr(kp, "shape", None)
        return f"{name}: keypoint must be 2D pixel coordinates (M, T, V, 2), got {shape if shape else type(kp).__name__}"
    M, T, V, _ = kp.shape
    if V != num_joints:
        return f"{name}: {V} joints, but the heatmap layout has {num_joints}"
    total = ann.get("total_frames", T)
    if M < 1 or T < 1 or not isinstance(total, (int, np.integer)) or total < 1:
        return f"{name}: the clip has no frame (keypoint shape {kp.shape}, total_frames {total})"
    if total > T:
        return f"{name}: total_frames {total} but keypoint holds {T} frames"
    score = ann.get("keypoint_score")
    if use_score and score is None:
        return f"{name}: no keypoint_score, but the heatmaps use scores (set use_score: false to draw every joint at 1)"
    if score is not None and (not isinstance(score, np.ndarray) or score.shape != kp.shape[:3]):
        return (
            f"{name}: keypoint_score must be (M, T, V) = {kp.shape[:3]}, got {getattr(score, 'shape', score)}"
        )
    shape = ann.get("img_shape")
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        return f"{name}: img_shape (h, w) is missing or malformed ({shape!r})"
    if h <= 0 or w <= 0:
        return f"{name}: img_shape {(h, w)} has a zero or negative side"
    label = ann.get("label")
    if not isinstance(label, (int, np.integer)) or label < 0:
        return f"{name}: label must be a non-negative integer, got {label!r}"
    return None


@FEEDERS.register("posec3d", aliases=("feeders.posec3d.PoseC3DFeeder",))
class PoseC3DFeeder(Dataset):
    """PoseC3D heatmap volumes from an MMAction2 2D skeleton pickle.

    Args:
        data_path: the annotation pickle. split: the split name (e.g. ``xsub_train``); None: all.
        stream: ``keypoint`` (V channels), ``limb`` (one per limb) or ``keypoint+limb``.
        clip_len, num_clips, test_mode, seed: UniformSampleFrames (train 48/1/False; test 48/10/True; 255).
        layout, limbs, left, right: the joint layout (default COCO-17 with MMAction2's limbs), see
            :func:`feeders.heatmap.get_heatmap_layout`.
        sigma, use_score: GeneratePoseTarget. resize: short side after PoseCompact (64).
        crop: ``random_resized`` (train: then resized to ``input_size`` square), ``center`` (val/test:
            ``input_size`` crop) or ``none``. area_range: RandomResizedCrop's area fraction.
        flip_ratio: horizontal flip probability (train 0.5). double: add mirrored views (test).
        indices: use only these samples (the engine's validation split). debug: the first 100.
        strict: a bad annotation is an error instead of being reported and left out.
    """

    def __init__(
        self,
        data_path: str,
        split: str | None = None,
        stream: str = "keypoint",
        clip_len: int = 48,
        num_clips: int = 1,
        test_mode: bool = False,
        seed: int = 255,
        layout: str | Mapping[str, Any] | HeatmapLayout = "coco",
        limbs: Sequence[Sequence[int]] | None = None,
        left: Sequence[int] | None = None,
        right: Sequence[int] | None = None,
        sigma: float = 0.6,
        use_score: bool = True,
        resize: int = 64,
        crop: str = "center",
        input_size: int = 64,
        area_range: Sequence[float] = (0.56, 1.0),
        flip_ratio: float = 0.0,
        double: bool = False,
        indices: Sequence[int] | None = None,
        debug: bool = False,
        strict: bool = False,
    ) -> None:
        if stream not in STREAMS:
            raise DataError(f"stream: expected one of {', '.join(STREAMS)} for PoseC3D, got '{stream}'")
        self.data_path, self.split, self.stream = str(data_path), split, stream
        self.clip_len, self.num_clips, self.test_mode, self.seed = (
            int(clip_len),
            int(num_clips),
            test_mode,
            seed,
        )
        self.pipeline = HeatmapPipeline(
            clip_len=self.clip_len,
            heatmap=stream,
            layout=get_heatmap_layout(layout, limbs, left, right),
            sigma=float(sigma),
            use_score=bool(use_score),
            resize=int(resize),
            crop=crop,
            input_size=int(input_size),
            area_range=(float(area_range[0]), float(area_range[1])),
            flip_ratio=float(flip_ratio),
            double=bool(double),
        )
        self.sampler: Callable[[int, int, int, bool, int], np.ndarray] = sample_frames
        where = f"{self.data_path}" + (f" [{split}]" if split else "")
        annotations = load_annotation_file(self.data_path).select(split)
        self.bad_samples: list[str] = []
        good = []
        for ann in annotations:
            problem = annotation_problem(ann, self.pipeline.layout.num_joints, self.pipeline.use_score, where)
            if problem is None:
                good.append(ann)
                continue
            if strict:
                raise DataError(problem)
            LOG.warning("%s; left out", problem)
            self.bad_samples.append(problem)
        if self.bad_samples:
            LOG.warning(
                "%s: %d of %d samples left out (listed above)", where, len(self.bad_samples), len(annotations)
            )
        order = np.arange(len(good))
        if indices is not None:
            order = np.asarray(indices, dtype=np.int64)
            if order.size and (order.min() < 0 or order.max() >= len(good)):
                raise DataError(f"indices: out of range for the {len(good)} samples of {where}")
        if debug:
            order = order[:100]
        self.annotations = [good[i] for i in order]
        self.sample_name = [str(a["frame_dir"]) for a in self.annotations]
        self.label = [int(a["label"]) for a in self.annotations]

    def __len__(self) -> int:
        return len(self.annotations)

    @property
    def channels(self) -> int:
        """C of the volumes (the model's ``in_channels``)."""
        return self.pipeline.channels

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, int]:
        ann = self.annotations[index]
        try:
            total = int(ann.get("total_frames", ann["keypoint"].shape[1]))
            inds = self.sampler(total, self.clip_len, self.num_clips, self.test_mode, self.seed)
            volume = self.pipeline(ann["keypoint"], ann.get("keypoint_score"), tuple(ann["img_shape"]), inds)
        except (ValueError, IndexError) as exc:
            raise DataError(f"{self.data_path}: sample '{self.sample_name[index]}': {exc}") from None
        return (volume[0] if len(volume) == 1 else volume), self.label[index], index
