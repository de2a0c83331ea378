"""Any skeleton annotation pickle -> PoseC3D input: 2D pixel keypoints with scores.

PoseC3D draws heatmaps from 2D pixel coordinates (``feeders/posec3d.py``). MMAction2's HRNet pickles
already are that; this converter makes the rest of this project's data usable too:

* 3D skeletons (NTU from ``ntu_gendata.py`` or MMAction2's ``*_3danno.pkl``, your own 3D clips) are
  projected orthographically onto two of their axes (``--axes``);
* 2D keypoints in other units (Kinetics-skeleton's [-0.5, 0.5], normalised own data) are rescaled.

Input: an MMAction2 annotation pickle (``data_gen/mmaction_pickle.py to-pickle`` writes one from any
generated data folder). Per annotation: joints whose coordinates are all exactly 0 are missing (score
0, coordinates 0); present joints keep their ``keypoint_score`` or get score 1; the present joints of
all frames and persons are scaled uniformly into a ``--size`` x ``--size`` image (their box centred,
80 % of the side, so no present joint lands on 0); ``img_shape`` = (size, size). PoseC3D crops every
clip to its own box, so the absolute scale does not matter. Other keys (``frame_dir``, ``label``,
``total_frames``, ...) and the ``split`` dict are kept.

``--axes H,V`` picks the image x and y: e.g. ``x,-y`` (3D camera space with y up: Kinect, MMAction2's
3D pickles, ``ntu_gendata.py --denoise``), ``x,-z`` (``ntu_gendata.py``'s 2s-AGCN normalisation puts
the spine along +z), ``x,y`` (2D image coordinates). ``auto`` (default): 2D keeps x, y; 3D takes the
axis along which the bodies extend most as the vertical one (pointing up) and x as horizontal.

A bad annotation (not (M, T, V, 2|3), NaN/inf, no present joint) is reported in one line naming it
and left out; ``--strict`` publishes nothing then. The output is written only when complete.

Usage, from the repository root::

    python data_gen/mmaction_pickle.py to-pickle --data_folder ./data/ntu/xsub --out ./data/ntu_xsub_3d.pkl \\
        --train-split xsub_train --val-split xsub_val
    python data_gen/posec3d_gendata.py --data_path ./data/ntu_xsub_3d.pkl --out ./data/ntu_xsub_2d.pkl
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import LOG, RunSummary, add_common_arguments, cli, setup_logging
from utils.errors import ConfigError, DataError
from utils.io import load_pickle, save_pickle

AXES = "xyz"
FILL = 0.8  # share of the image side the skeletons' box fills


def parse_axes(spec: str, dims: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``'x,-z'`` -> ((axis, sign) for image x, (axis, sign) for image y)."""
    parts = [p.strip().lower() for p in spec.split(",")]
    out = []
    for part in parts:
        sign = -1 if part.startswith("-") else 1
        name = part.lstrip("+-")
        if len(parts) != 2 or name not in AXES[:dims]:
            raise ConfigError(
                f"--axes: expected two of {', '.join(AXES[:dims])} (optionally negated), e.g. x,-y; got '{spec}'"
            )
        out.append((AXES.index(name), sign))
    if out[0][0] == out[1][0]:
        raise ConfigError(f"--axes: the two image axes must differ, got '{spec}'")
    return out[0], out[1]


def present_joints(keypoint: np.ndarray) -> np.ndarray:
    """(M, T, V) True where a joint has any non-zero coordinate."""
    return (keypoint != 0).any(axis=-1)


def auto_axes(annotations: Sequence[Mapping[str, Any]], limit: int = 200) -> str:
    """For 3D data: the axis with the largest median per-person, per-frame extent is vertical (pointing
    up), x is horizontal (y if x is the vertical one); measured on up to ``limit`` annotations. Camera
    space (y up, z depth) gives ``x,-y``, 2s-AGCN's normalisation (spine along z) ``x,-z``."""
    extents = []
    for ann in annotations[:limit]:
        kp = np.asarray(ann["keypoint"], dtype=np.float64)
        if kp.ndim != 4 or kp.shape[-1] != 3:
            continue
        mask = present_joints(kp)[..., None]
        hi = np.where(mask, kp, -np.inf).max(axis=2)  # (M, T, 3)
        lo = np.where(mask, kp, np.inf).min(axis=2)
        ext = (hi - lo)[np.isfinite(hi - lo).all(axis=-1)]
        if len(ext):
            extents.append(np.median(ext, axis=0))
    if not extents:
        raise DataError("--axes auto: no 3D annotation with present joints to measure")
    vertical = int(np.argmax(np.median(extents, axis=0)))
    return f"{'y' if vertical == 0 else 'x'},-{AXES[vertical]}"


def to_pixels(
    ann: Mapping[str, Any], axes: tuple[tuple[int, int], tuple[int, int]] | None, size: int
) -> dict[str, Any]:
    """One annotation -> PoseC3D's 2D pixel annotation (see the module docstring). Raises DataError."""
    name = f"sample '{ann.get('frame_dir', '?')}'"
    kp = np.asarray(ann.get("keypoint"))
    if kp.ndim != 4 or kp.shape[-1] not in (2, 3) or kp.shape[1] < 1:
        raise DataError(f"{name}: keypoint must be (M, T, V, 2 or 3) with T >= 1, got shape {kp.shape}")
    if not np.isfinite(kp).all():
        raise DataError(f"{name}: keypoint holds NaN or inf")
    present = present_joints(kp)
    if not present.any():
        raise DataError(f"{name}: no joint is present (all coordinates are 0)")
    (ax, sx), (ay, sy) = axes if axes is not None else ((0, 1), (1, 1))
    xy = np.stack([sx * kp[..., ax], sy * kp[..., ay]], axis=-1).astype(np.float64)
    pts = xy[present]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = FILL * size / max(float((hi - lo).max()), 1e-6)
    pix = (xy - (lo + hi) / 2) * scale + size / 2
    pix[~present] = 0
    score = ann.get("keypoint_score")
    if score is None:
        score = present.astype(np.float32)
    else:
        score = np.where(present, np.asarray(score, dtype=np.float32), 0).astype(np.float32)
    out = {
        k: v for k, v in ann.items() if k not in ("keypoint", "keypoint_score", "img_shape", "original_shape")
    }
    out.update(
        keypoint=pix.astype(np.float32),
        keypoint_score=score,
        img_shape=(size, size),
        original_shape=(size, size),
        total_frames=int(ann.get("total_frames", kp.shape[1])),
    )
    return out


def convert(args: argparse.Namespace) -> RunSummary:
    summary = RunSummary("posec3d_gendata", strict=args.strict)
    out = Path(args.out)
    report = summary.split(out.name)
    if out.exists() and not args.overwrite:
        report.status = "exists"
        summary.log()
        return summary
    data = load_pickle(args.data_path)
    if not isinstance(data, Mapping) or not isinstance(data.get("annotations"), list):
        raise DataError(
            f"{args.data_path}: expected an annotation pickle {{'split': ..., 'annotations': [...]}}"
        )
    annotations = data["annotations"]
    dims = {
        np.shape(a["keypoint"])[-1]
        for a in annotations
        if isinstance(a, Mapping) and np.ndim(a.get("keypoint")) == 4
    }
    if len(dims) > 1:
        raise DataError(f"{args.data_path}: annotations mix keypoint widths {sorted(dims)}")
    axes = None
    if dims == {3}:
        spec = auto_axes(annotations) if args.axes == "auto" else args.axes
        LOG.info(
            "projecting 3D keypoints onto image x, y = %s%s", spec, " (auto)" if args.axes == "auto" else ""
        )
        axes = parse_axes(spec, 3)
    elif args.axes != "auto":
        axes = parse_axes(args.axes, 2)
    report.candidates = len(annotations)
    converted = []
    for ann in annotations:
        try:
            if not isinstance(ann, Mapping):
                raise DataError(f"an annotation is a {type(ann).__name__}, expected a dict")
            converted.append(to_pixels(ann, axes, args.size))
        except DataError as exc:
            summary.add_bad(f"{args.data_path}: {exc}")
            report.skipped["bad"] += 1
    if not converted or (args.strict and summary.bad):
        report.status = "aborted" if converted else "empty"
        summary.log()
        return summary
    kept = {a["frame_dir"] for a in converted}
    splits = {k: [n for n in v if n in kept] for k, v in (data.get("split") or {}).items()}
    save_pickle({"split": splits, "annotations": converted}, out)
    report.written, report.status = len(converted), "written"
    summary.log()
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data_path", required=True, help="input annotation pickle (2D or 3D keypoints)")
    p.add_argument("--out", required=True, help="output annotation pickle (2D pixels with scores)")
    p.add_argument(
        "--axes", default="auto", help="image x,y from the data's axes, e.g. x,-y or x,-z (default auto)"
    )
    p.add_argument(
        "--size", type=int, default=512, help="side of the square image the skeletons are placed in"
    )
    add_common_arguments(p, workers=False)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    return cli(lambda: convert(args))


if __name__ == "__main__":
    sys.exit(main())
