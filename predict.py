#!/usr/bin/env python
"""Classify single clips with one or several trained streams and print the top classes.

    python predict.py --config config/nturgbd-cross-subject/test_joint.yaml --input S001C001P001R001A001.skeleton
    python predict.py --config cfg/test_joint.yaml cfg/test_bone.yaml --weights j.pt b.pt --input clip.json
    python predict.py --config ... --input clip.npy --top 3 --json prediction.json

Each ``--config`` is a test (or train) config of one stream; its ``weights`` (or the matching
``--weights`` entry) are loaded. A raw clip is turned into a joint sample (C, T, V, M) exactly as that
stream's dataset was made: the generator's record ``<data folder>/preprocess.json`` names the reader
and its options (2s-AGCN normalisation, SGN denoising, NW-UCLA centring, a custom layout, ...); without
it the file type decides (``.skeleton`` NTU, ``.json`` Kinetics-skeleton / NW-UCLA / custom, ``.npz``
custom, a folder of OpenPose ``*_keypoints.json``, ``.npy`` an already made (C, T, V, M) sample). The
stream (bone, motion) and the test-time sampling of the config follow, then the model. Several
streams are fused as the weighted mean of their softmax probabilities.

Python: ``Predictor(configs, weights).predict(path)`` returns a :class:`Prediction`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch

from data_gen.common import OPTIONS_FILE, load_options
from engine import builder
from engine.checkpoint import check_meta, read_weights, resolve_weights_path
from engine.config import Config, parse_config
from engine.loop import forward_logits
from engine.runtime import resolve_device
from engine.workdir import make_writable_dir
from feeders.feeder import SampleTransform
from feeders.pose_pickle import GCNPipeline, PosePickleFeeder
from feeders.posec3d import PoseC3DFeeder
from feeders.sgn import fit_persons
from feeders.streams import bone_parents
from model.loading import load_weights
from utils.cli import one_line_warnings, run_cli
from utils.errors import ConfigError, DataError
from utils.registry import FEEDERS, READERS


@dataclass
class Prediction:
    """The result for one clip: top classes of the fusion and each stream's own top-1."""

    input: str
    top: list[tuple[int, str, float]]  # (class index, class name, probability), best first
    streams: dict[str, tuple[int, str, float]] = field(default_factory=dict)  # stream -> its top-1
    probabilities: np.ndarray | None = None  # (num_class,) fused

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "top": [{"class": i, "name": n, "probability": round(p, 6)} for i, n, p in self.top],
            "streams": {
                s: {"class": i, "name": n, "probability": round(p, 6)}
                for s, (i, n, p) in self.streams.items()
            },
        }


def _guess_reader(path: Path, layout: Any) -> tuple[str, dict[str, Any]]:
    """Reader and options for a raw clip without a preprocess.json, by its type."""
    if path.is_dir():
        return "data_gen.openpose_to_kinetics.read_clip", {}
    suffix = path.suffix.lower()
    if suffix == ".skeleton":
        return "data_gen.ntu_gendata.read_sample", {}
    if suffix == ".npz":
        return "data_gen.custom_gendata.read_clip", {"layout": layout}
    if suffix == ".json":
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable JSON clip ({exc})") from None
        if isinstance(head, dict) and "data" in head:
            return "data_gen.kinetics_gendata.read_video", {}
        if isinstance(head, dict) and "skeletons" in head:
            return "data_gen.ucla_gendata.read_clip", {}
        if isinstance(head, dict) and "keypoints" in head:
            return "data_gen.custom_gendata.read_clip", {"layout": layout}
        raise DataError(
            f"{path}: unknown JSON clip (expected Kinetics 'data', NW-UCLA 'skeletons' or 'keypoints')"
        )
    raise DataError(f"{path}: unsupported input; expected .skeleton, .json, .npz, .npy or an OpenPose folder")


def read_joint_sample(
    path: str | Path, data_folder: str | Path | None = None, layout: Any = None
) -> np.ndarray:
    """One raw clip as a float32 joint sample (C, T, V, M), preprocessed as the dataset in ``data_folder``."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        x = np.load(path, allow_pickle=False)
        if x.ndim == 5 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 4:
            raise DataError(f"{path}: expected a sample (C, T, V, M) or (1, C, T, V, M), got shape {x.shape}")
        return x.astype(np.float32)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if data_folder is not None and (Path(data_folder) / OPTIONS_FILE).is_file():
        reader, options = load_options(data_folder)
        if "layout" in options and options["layout"] is None:
            options["layout"] = layout
        read = READERS.get(reader, f"{Path(data_folder) / OPTIONS_FILE}: reader")
    else:
        reader, options = _guess_reader(path, layout)
        read = READERS.get(reader)
    out = read(str(path), **options)
    sample = out[0] if isinstance(out, tuple) else out
    return np.asarray(sample, dtype=np.float32)


class StreamModel:
    """One trained stream: its config, model (eval mode), test-time transform and class names."""

    def __init__(self, cfg: Config, weights: str | None = None, device: str | None = None) -> None:
        self.cfg = cfg
        feeder_class = FEEDERS.get(cfg.feeder, "feeder")
        if feeder_class is PoseC3DFeeder:
            raise ConfigError(
                f"{cfg.config}: predict.py does not take PoseC3D configs (heatmaps need 2D keypoints in "
                "image pixels); test an annotation pickle with main.py instead"
            )
        self.device = resolve_device(device or cfg.device)
        self.model = builder.build_model(cfg)
        self.layout = builder.model_layout(self.model)
        self.feeder_args = dict(cfg.test_feeder_args or cfg.train_feeder_args)
        weights = weights or cfg.weights
        if not weights:
            raise ConfigError(f"{cfg.config}: no weights (set weights: in the config or pass --weights)")
        path = resolve_weights_path(weights)
        obj, recorded = read_weights(path)
        self.meta = builder.run_meta(cfg, self.model, self.feeder_args)
        check_meta(recorded, self.meta, str(path))
        load_weights(self.model, obj, source_name=str(path))
        self.model.to(self.device).eval()
        self.stream = self.meta["stream"]
        # MMAction2's pickles: the clip goes through the same GCN pipeline as the test set
        self.pose_pipeline = None
        if feeder_class is PosePickleFeeder:
            names = ("stream", "clip_len", "num_clips", "num_person", "dataset", "pad_mode", "seed")
            self.pose_pipeline = GCNPipeline.from_args(
                **{k: self.feeder_args[k] for k in names if k in self.feeder_args}, test_mode=True
            )
        self.transform = None if self.pose_pipeline is not None else self._sample_transform()
        data_path = self.feeder_args.get("data_path")
        self.data_folder = Path(data_path).parent if data_path else None
        num_class = self.meta["num_class"]
        self.class_names = builder.class_names(cfg.label_map, num_class) or [str(i) for i in range(num_class)]
        self.name = f"{Path(cfg.config or 'config').stem}"

    def _sample_transform(self) -> SampleTransform:
        """The test feeder's per-sample transform; a stream precomputed on disk (``*_data_bone.npy``)
        is computed here from the joint clip."""
        parents = bone_parents(self.layout) if self.stream.startswith("bone") and self.layout else None
        sampler = fit_persons(self.feeder_args.get("sampler") or {}, self.meta["num_person"])
        if sampler:
            sampler["deterministic"] = True  # test-time draws independent of anything but the clip
            sampler.pop("rotation", None)
        return SampleTransform(
            stream=self.stream,
            parents=parents,
            score_channel=self.feeder_args.get("score_channel"),
            window_size=int(self.feeder_args.get("window_size", -1)),
            sampler=sampler or None,
        )

    @torch.no_grad()
    def logits(self, joint: np.ndarray) -> np.ndarray:
        """(num_class,) logits of one joint sample (C, T, V, M)."""
        if self.pose_pipeline is not None:
            x = self.pose_pipeline.sample(joint)
        else:
            x = self.transform(joint, 0, "input")
        args = builder.effective_args(builder.model_class(self.cfg), self.cfg.model_args)
        C, _, V, M = x.shape[-4:]
        for dim, key in ((C, "in_channels"), (V, "num_point"), (M, "num_person")):
            if isinstance(args.get(key), int) and dim != args[key]:
                raise DataError(
                    f"input gives {key.replace('num_', '')}={dim} but model_args.{key} is {args[key]}"
                )
        batch = torch.from_numpy(x[None]).to(self.device)  # (1, C, T, V, M) or (1, K, C, T, V, M)
        out, _ = forward_logits(self.model, batch)
        return out[0].float().cpu().numpy()


class Predictor:
    """Fuse several trained streams to classify raw clips."""

    def __init__(
        self,
        configs: Sequence[str | Path],
        weights: Sequence[str | None] | None = None,
        fusion_weights: Sequence[float] | None = None,
        device: str | None = None,
    ) -> None:
        if not configs:
            raise ConfigError("predict: give at least one --config")
        weights = list(weights or [None] * len(configs))
        if len(weights) != len(configs):
            raise ConfigError(f"--weights: {len(weights)} files for {len(configs)} configs")
        self.streams = [
            StreamModel(parse_config(["--config", str(c)]), w, device)
            for c, w in zip(configs, weights, strict=True)
        ]
        self.fusion_weights = np.asarray(fusion_weights or [1.0] * len(self.streams), dtype=np.float64)
        if len(self.fusion_weights) != len(self.streams) or (self.fusion_weights < 0).any():
            raise ConfigError(f"--fusion-weights: expected {len(self.streams)} non-negative numbers")
        sizes = {len(s.class_names) for s in self.streams}
        if len(sizes) != 1:
            raise ConfigError(f"the configs have different class counts: {sorted(sizes)}")
        self.class_names = self.streams[0].class_names

    def predict(self, path: str | Path, topk: int = 5) -> Prediction:
        probs = np.zeros(len(self.class_names))
        per_stream: dict[str, tuple[int, str, float]] = {}
        cache: dict[str, np.ndarray] = {}
        for stream, w in zip(self.streams, self.fusion_weights, strict=True):
            key = str(stream.data_folder)
            if key not in cache:  # streams made from the same dataset share the read
                cache[key] = read_joint_sample(path, stream.data_folder, stream.layout)
            p = torch.softmax(torch.from_numpy(stream.logits(cache[key])).double(), dim=0).numpy()
            best = int(p.argmax())
            per_stream[f"{stream.name} ({stream.stream})"] = (best, self.class_names[best], float(p[best]))
            probs += w * p
        probs /= self.fusion_weights.sum()
        order = np.argsort(-probs)[:topk]
        top = [(int(i), self.class_names[i], float(probs[i])) for i in order]
        return Prediction(str(path), top, per_stream, probs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classify raw skeleton clips with trained streams (fused).")
    parser.add_argument("--config", nargs="+", required=True, help="one test config per stream")
    parser.add_argument("--weights", nargs="+", help="weight files, one per config (default: each config's)")
    parser.add_argument(
        "--fusion-weights", nargs="+", type=float, help="one weight per stream (default: 1 each)"
    )
    parser.add_argument(
        "--input", nargs="+", required=True, help="raw clips: .skeleton, .json, .npz, .npy, folder"
    )
    parser.add_argument("--top", type=int, default=5, help="how many classes to print (default: %(default)s)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: the config's)")
    parser.add_argument("--json", help="also write the predictions to this JSON file")
    args = parser.parse_args(argv)
    one_line_warnings()
    return run_cli(lambda: _run(args))


def _named(path: str | Path, exc: Exception) -> str:
    """``exc``'s message, prefixed with the input ``path`` unless it already names it."""
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


def _run(args: argparse.Namespace) -> int:
    if args.json:  # fail before the work, not after it
        make_writable_dir(Path(args.json).resolve().parent, "--json")
    predictor = Predictor(args.config, args.weights, args.fusion_weights, args.device)
    results = []
    for path in args.input:
        try:
            results.append(predictor.predict(path, args.top))
        except DataError as exc:
            raise DataError(_named(path, exc)) from None
        except ConfigError as exc:
            raise ConfigError(_named(path, exc)) from None
    for res in results:
        print(f"\n{res.input}")
        for rank, (index, name, prob) in enumerate(res.top, 1):
            print(f"  {rank}. {name:<40s} {100 * prob:6.2f}%   (class {index})")
        if len(res.streams) > 1:
            for stream, (_index, name, prob) in res.streams.items():
                print(f"     {stream}: {name} ({100 * prob:.1f}%)")
    if args.json:
        from utils.io import save_text

        try:
            save_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n", args.json)
        except OSError as exc:
            where = exc.filename if exc.filename is not None else args.json
            print(f"error: {where}: {exc.strerror or exc}; cannot write --json {args.json}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
