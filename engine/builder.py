"""Build the pieces of a run from a Config: model, feeders, loaders, optimizer, schedule, class names."""

from __future__ import annotations

import collections.abc
import inspect
import math
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from engine.config import Config
from engine.runtime import Runtime, worker_init_fn
from feeders.feeder import stream_of_file
from graph.layouts import Layout
from utils import splits
from utils.errors import ConfigError, DataError, unknown_key_message
from utils.registry import FEEDERS, MODELS, OPTIMIZERS

ROOT = Path(__file__).resolve().parents[1]
LABEL_DIR = ROOT / "data_gen" / "resources" / "labels"
_LABEL_BY_CLASSES = {60: "ntu60", 120: "ntu120", 400: "kinetics400"}


def check_kwargs(cls: Any, kwargs: Mapping[str, Any], key: str) -> None:
    """Unknown keyword arguments and values of the wrong type are config errors naming the key.

    Unknown names get the closest valid one; values are checked against the constructor's type
    annotations where those are simple (int, float, bool, str, their ``| None`` forms, lists, mappings).
    """
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        valid = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for name in kwargs:
            if name not in valid:
                raise ConfigError(unknown_key_message(str(name), valid, key))
    try:
        hints = typing.get_type_hints(cls.__init__ if inspect.isclass(cls) else cls)
    except Exception:  # unresolvable annotations: nothing to check
        return
    for name, value in kwargs.items():
        if name in hints:
            problem = _type_problem(value, hints[name])
            if problem:
                raise ConfigError(f"{key}.{name}: expected {problem}, got {value!r}")


_SIMPLE = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _type_problem(value: Any, hint: Any) -> str | None:
    """What ``value`` should have been for annotation ``hint``, or None when it fits (or cannot be told)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        problems = [_type_problem(value, h) for h in options]
        if any(p is None for p in problems):
            return None
        return " or ".join(p for p in problems if p)
    if hint is type(None):
        return None if value is None else "null"
    if hint in _SIMPLE:
        if hint is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, hint)
        return None if ok else _SIMPLE[hint]
    if origin in (list, tuple, collections.abc.Sequence):
        return None if isinstance(value, (list, tuple)) else "a list"
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping):
        return None if isinstance(value, Mapping) else "a mapping"
    return None  # Any, arrays, classes: checked where they are used


def effective_args(cls: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments with the class defaults filled in."""
    out = {
        n: p.default
        for n, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    out.update(kwargs)
    return out


def model_class(cfg: Config) -> Any:
    """The registered model class the config names (``model:``)."""
    return MODELS.get(cfg.model, "model")


def build_model(cfg: Config) -> nn.Module:
    cls = model_class(cfg)
    check_kwargs(cls, cfg.model_args, "model_args")
    return cls(**cfg.model_args)


def model_layout(model: nn.Module) -> Layout | None:
    """The model's skeleton layout: ``model.layout``, or ``model.graph.layout`` (a ``graph.Graph``); else None."""
    for layout in (getattr(model, "layout", None), getattr(getattr(model, "graph", None), "layout", None)):
        if isinstance(layout, Layout):
            return layout
    return None


# MMAction2's short stream names (GenSkeFeat's feats) and the project's long ones are the same streams
STREAM_ALIASES = {"j": "joint", "b": "bone", "jm": "joint_motion", "bm": "bone_motion"}


def feeder_stream(args: Mapping[str, Any]) -> str:
    """The stream a feeder yields: its ``stream`` argument, else what the data file name says."""
    from_file = stream_of_file(args.get("data_path", "")) or "joint"
    stream = args.get("stream", "joint")
    stream = STREAM_ALIASES.get(stream, stream) if isinstance(stream, str) else stream
    if stream != "joint" and from_file != "joint":
        raise ConfigError(
            f"stream '{stream}' is computed from joint data, but data_path {args.get('data_path')} already "
            f"holds the {from_file} stream; point data_path at the joint file or drop 'stream'"
        )
    return stream if stream != "joint" else from_file


def build_feeder(
    feeder: str,
    args: Mapping[str, Any],
    key: str,
    layout: Layout | None,
    indices: Sequence[int] | None = None,
    num_person: int | None = None,
) -> Dataset:
    """Instantiate the feeder class with ``args`` (config key ``key``), filling in layout and indices.

    ``num_person``: the model's person slots, for a ``sampler`` whose ``persons`` is ``auto``
    (:func:`feeders.sgn.fit_persons`).
    """
    cls = FEEDERS.get(feeder, "feeder")
    args = dict(args)
    check_kwargs(cls, args, key)
    params = inspect.signature(cls).parameters
    if "layout" in params and args.get("layout") is None and layout is not None:
        args["layout"] = layout
    if isinstance(args.get("sampler"), Mapping):
        from feeders.sgn import fit_persons

        args["sampler"] = fit_persons(args["sampler"], num_person)
    if indices is not None:
        args["indices"] = list(indices)
    for required in ("data_path", "label_path"):
        if (
            required in params
            and params[required].default is inspect.Parameter.empty
            and required not in args
        ):
            raise ConfigError(f"{key}.{required}: missing")
    try:
        return cls(**args)
    except DataError as exc:
        raise DataError(f"{key}: {exc}{_generator_hint(str(exc), args)}") from None
    except (TypeError, ValueError) as exc:  # a value the type check could not see
        raise ConfigError(f"{key}: {exc}") from None


# Where the data files of the shipped configs come from (README, "Data"): folder -> command.
# MMAction2 / PYSKL annotation pickles are downloaded (README, "Downloads") or converted
_PICKLE_HINT = (
    "; download it (README, 'Downloads') or make one with python data_gen/mmaction_pickle.py to-pickle"
)
_GENERATORS = (
    ("ntu_denoised", "python data_gen/ntu_gendata.py --denoise --out_folder ./data/ntu_denoised/"),
    (
        "ntu120",
        "python data_gen/ntu_gendata.py --benchmark xsub120 xset120 --out_folder ./data/ntu120/ --data_path "
        "./data/nturgbd_raw/nturgb+d_skeletons/ ./data/nturgbd_raw/nturgb+d_skeletons120/",
    ),
    ("ntu", "python data_gen/ntu_gendata.py   (NTU RGB+D 60 into ./data/ntu/)"),
    (
        "kinetics",
        "python data_gen/kinetics_gendata.py --data_path ./data/kinetics_raw --out_folder ./data/kinetics",
    ),
    ("nw-ucla", "python data_gen/ucla_gendata.py --data_path <NW-UCLA folder> --out_folder ./data/nw-ucla"),
    (
        "demo",
        "bash demo.sh (or: python data_gen/synthetic.py --out ./data/demo/raw, then data_gen/ntu_gendata.py)",
    ),
)


def _generator_hint(message: str, args: Mapping[str, Any]) -> str:
    """For a missing data file: the command that generates it (empty for other errors)."""
    if "file not found" not in message:
        return ""
    path = str(args.get("data_path", "")).replace("\\", "/")
    if path.endswith(".pkl"):
        return "" if "download" in message else _PICKLE_HINT
    for folder, command in _GENERATORS:
        if f"/{folder}/" in path or path.startswith(f"{folder}/"):
            return f"; generate it with: {command}"
    return "; generate the data first with a data_gen/ script (README, 'Data')"


def check_data_against_model(
    dataset: Dataset, key: str, model_cls: Any, model_args: Mapping[str, Any]
) -> None:
    """Compare one sample's shape and the labels with the model's arguments; one-line errors."""
    if len(dataset) == 0:
        raise DataError(f"{key}: the dataset is empty")
    sample = np.asarray(dataset[0][0])
    axes = getattr(model_cls, "input_axes", "CTVM")  # heatmap models (PoseC3D): "CTHW"
    shape = sample.shape[-4:]  # (C, T, V, M) of one clip, or (C, T, H, W)
    if sample.ndim not in (4, 5):
        raise DataError(f"{key}: a sample should be ({', '.join(axes)}), got shape {sample.shape}")
    args = effective_args(model_cls, model_args)
    for dim, arg in ((0, "in_channels"), (2, "num_point"), (3, "num_person")):
        expected = args.get(arg)
        if isinstance(expected, int) and shape[dim] != expected:
            raise DataError(
                f"{key}: samples have {axes[dim]}={shape[dim]} but model_args.{arg} is {expected} "
                f"(sample shape ({', '.join(axes)}) = {tuple(shape)})"
            )
    num_class = args.get("num_class")
    labels = np.asarray(getattr(dataset, "label", []), dtype=np.int64)
    if isinstance(num_class, int) and labels.size and labels.max() >= num_class:
        i = int(labels.argmax())
        names = getattr(dataset, "sample_name", None)
        who = f"sample '{names[i]}'" if names else f"sample {i}"
        raise DataError(
            f"{key}.label_path: {who} has label {labels[i]} but model_args.num_class is {num_class} "
            f"(labels must be 0..{num_class - 1})"
        )


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about ``fraction`` of every class (:func:`utils.splits.stratified_split`); a ConfigError
    when that holds out nothing."""
    train_idx, val_idx = splits.stratified_split(labels, fraction, seed)
    if fraction > 0 and len(val_idx) == 0:
        raise ConfigError(
            f"val_fraction: {fraction} of {len(labels)} training samples holds out nothing (every class has "
            "one sample); give a validation set, a larger val_fraction, or val_fraction 0"
        )
    return train_idx, val_idx


def model_persons(cfg: Config) -> int | None:
    """``model_args.num_person`` with the model class's default filled in (None if it has none)."""
    value = effective_args(model_class(cfg), cfg.model_args).get("num_person")
    return value if isinstance(value, int) else None


def check_layout_against_data(
    layout: Layout | None, args: Mapping[str, Any], key: str, config: str | None = None
) -> None:
    """The model's layout against the layout the data's ``preprocess.json`` records; DataError naming both.

    The joint count must match whenever the data's layout is known; the edges too when the converter
    recorded the layout itself (``custom_gendata.py``: the data's bones follow those edges). Data
    without a ``preprocess.json`` beside them are not checked here.
    """
    from graph.layouts import layout_of_data, undirected_edges

    data_path = args.get("data_path")
    if layout is None or not data_path:
        return
    recorded, source, exact = layout_of_data(data_path)
    if recorded is None:
        return
    where = f"{key}: the model's layout '{layout.name}' ({config or 'the config'}: model_args.graph_args)"
    if recorded.num_node != layout.num_node:
        raise DataError(
            f"{where} has {layout.num_node} joints but the data's {source} records layout "
            f"'{recorded.name}' with {recorded.num_node}; use graph_args: {{layout: {source}}}"
        )
    if exact and undirected_edges(recorded) != undirected_edges(layout):
        extra = sorted(tuple(sorted(e)) for e in undirected_edges(layout) - undirected_edges(recorded))
        missing = sorted(tuple(sorted(e)) for e in undirected_edges(recorded) - undirected_edges(layout))
        diff = "; ".join(
            text
            for text in (
                f"edges {extra[:3]} are not the data's" if extra else "",
                f"the data's edges {missing[:3]} are missing" if missing else "",
            )
            if text
        )
        raise DataError(
            f"{where} has other edges than layout '{recorded.name}' recorded in the data's {source} ({diff}); "
            f"use graph_args: {{layout: {source}}}"
        )


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    train: bool,
    num_worker: int,
    rt: Runtime,
    seed: int,
) -> DataLoader:
    """DataLoader for one process: the batch is split over processes; workers get derived seeds."""
    per_process = max(1, batch_size // rt.world_size)
    workers = max(0, min(num_worker, os.cpu_count() or 1))
    sampler = None
    if rt.distributed:
        sampler = DistributedSampler(
            dataset, num_replicas=rt.world_size, rank=rt.rank, shuffle=train, seed=seed
        )
    return DataLoader(
        dataset,
        batch_size=per_process,
        shuffle=train and sampler is None,
        sampler=sampler,
        drop_last=train,
        num_workers=workers,
        worker_init_fn=worker_init_fn if workers > 0 else None,
        pin_memory=rt.device.type == "cuda",
        persistent_workers=False,  # new worker seeds every epoch
    )


def build_optimizer(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    """The registered optimizer ``cfg.optimizer`` over every parameter of ``model``."""
    return OPTIMIZERS.get(cfg.optimizer, "optimizer")(list(model.parameters()), cfg)


def learning_rate(cfg: Config, epoch: int, progress: float = 0.0) -> float:
    """The learning rate at ``progress`` (0 <= progress < 1, the fraction of batches done) of ``epoch``.

    Linear warm-up over ``warm_up_epoch`` epochs, then ``lr_scheduler``: ``step`` (2s-AGCN's schedule,
    also SGN's MultiStepLR: ×lr_decay_rate at each step epoch; constant within an epoch) or
    ``cosine`` (MMAction2's iteration-based CosineAnnealingLR to 0 over the remaining epochs).
    """
    if epoch < cfg.warm_up_epoch:
        return cfg.base_lr * (epoch + 1) / cfg.warm_up_epoch
    if cfg.lr_scheduler == "cosine":
        done = (epoch - cfg.warm_up_epoch + progress) / max(cfg.num_epoch - cfg.warm_up_epoch, 1)
        return cfg.base_lr * 0.5 * (1.0 + math.cos(math.pi * done))
    return cfg.base_lr * cfg.lr_decay_rate ** sum(epoch >= s for s in cfg.step)


def class_names(spec: str | None, num_class: int | None) -> list[str] | None:
    """Class names from a file or a shipped map (ntu60, ntu120, kinetics400, nw_ucla, synthetic).

    Without ``spec``, 60/120/400 classes select the NTU60/NTU120/Kinetics maps; otherwise None.
    """
    if spec is None:
        spec = _LABEL_BY_CLASSES.get(num_class or -1)
        if spec is None:
            return None
    path = Path(spec)
    if not path.is_file():
        path = LABEL_DIR / f"{spec}.txt"
    if not path.is_file():
        shipped = sorted(p.stem for p in LABEL_DIR.glob("*.txt"))
        raise ConfigError(
            f"label_map: no file '{spec}' and no shipped map of that name ({', '.join(shipped)})"
        )
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if num_class is not None and len(names) != num_class:
        raise ConfigError(
            f"label_map: {path} lists {len(names)} classes but the model has num_class {num_class}"
        )
    return names


def run_meta(cfg: Config, model: nn.Module, feeder_args: Mapping[str, Any]) -> dict[str, Any]:
    """What the weights are: recorded in every weight file and checked when they are loaded."""
    args = effective_args(model_class(cfg), cfg.model_args)
    layout = model_layout(model)
    return {
        "model": MODELS.canonical(cfg.model),
        "num_class": args.get("num_class"),
        "in_channels": args.get("in_channels"),
        "num_point": args.get("num_point"),
        "num_person": args.get("num_person"),
        "layout": layout.name if layout is not None else None,
        "stream": feeder_stream(feeder_args),
        "label_map": cfg.label_map,
    }
