"""Starter configs and a starter experiment file for a dataset made by ``custom_gendata.py``.

Written next to the data, sized for it (classes, joints, persons, channels, frames, clip count), from
the recipes measured on NW-UCLA (BENCHMARKS.md; docs/recipes.md explains every choice):

* ``{out}/configs/<train|test>_<stream>.yaml`` (AGCN), ``<train|test>_<stream>_impsgnv2.yaml`` and
  ``<train|test>_<stream>_stgcnpp.yaml`` (ST-GCN++) for the streams joint, bone, joint_motion,
  bone_motion;
* ``{out}/experiment.yaml``: every model x stream (x fold) trained, tested and fused in one command,
  ``python experiment.py {out}/experiment.yaml``.

Existing files are kept (they may have been edited) unless ``overwrite``. The configs read the data
from the output folder (the first fold or named split, if several; the experiment file swaps in the
others), write runs to ``./work_dir/<dataset>/...`` and weights to ``./runs/<dataset>/...``, where
``<dataset>`` is the output folder relative to ``./data`` (what ``ensemble.py --datasets`` expects).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from data_gen.common import LOG, OPTIONS_FILE, open_npy
from utils.io import load_label_file, save_text

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")
# steps of the measured NW-UCLA ImpSGNv2 recipe: 1,020 clips / batch 16 x 50 epochs
TARGET_STEPS = 3200
MIN_EPOCHS, MAX_EPOCHS = 30, 120
# a validation set smaller than this picks weights by noise: keep the last epoch (docs/recipes.md)
MIN_SELECTION_CLIPS = 50
# carve a validation split from the training part (val_fraction) only above this many training clips
MIN_CARVE_CLIPS = 500
# ST-GCN++ joint on NW-UCLA, 65 epochs, bf16, two runs at a time (experiments/nw-ucla.yaml)
STGCNPP_MINUTES = 43.1
# training throughput measured on NW-UCLA on a 2-core CPU, two runs at a time, bf16 autocast
# (clip-epochs per second), and the per-clip size it was measured at (joints x persons x frames)
MEASURED = {
    "impsgnv2": (1020 * 50 / (19.2 * 60), 20 * 1 * 20),
    "agcn": (1020 * 65 / (38.7 * 60), 20 * 1 * 52),
    "stgcnpp": (1020 * 65 / (STGCNPP_MINUTES * 60), 20 * 1 * 52),
}
MODELS = ("agcn", "impsgnv2", "stgcnpp")  # config suffix: "" for AGCN (2s-AGCN's names), else _<model>
FP32_SLOWER = 2.3  # fp32 against bf16 autocast, ImpSGNv2 training on that CPU (config/make_configs.py)
AGCN_FRAMES = 52  # CTR-GCN's NW-UCLA window, used by config/nw-ucla (AGCN and ST-GCN++)


@dataclass
class DataInfo:
    """What the configs need to know about the written data (read back from the files)."""

    folder: Path  # the data folder the configs read (the first fold / named split)
    num_class: int
    channels: int  # C' (coordinates + score)
    frames: int
    joints: int
    persons: int
    score_channel: int | None
    n_train: int
    n_val: int  # 0: no val part
    has_test: bool
    label_map: Path | None


def read_info(folder: Path, out_folder: Path) -> DataInfo:
    """Shapes, counts and options of the data in ``folder`` (its ``train_*``, ``val_*``, ``test_*``)."""
    train = open_npy(folder / "train_data_joint.npy")
    _, C, T, V, M = train.shape
    del train
    counts, top = {}, -1
    for part in ("train", "val", "test"):
        path = folder / f"{part}_label.pkl"
        if path.is_file():
            _, labels = load_label_file(path)
            counts[part] = len(labels)
            top = max([top, *labels])
    options = json.loads((folder / OPTIONS_FILE).read_text(encoding="utf-8")).get("options", {})
    label_map = out_folder / "label_map.txt"
    if not label_map.is_file():
        label_map = folder / "label_map.txt"
    classes = options.get("classes")
    return DataInfo(
        folder=folder,
        num_class=len(classes) if classes else top + 1,
        channels=C,
        frames=T,
        joints=V,
        persons=M,
        score_channel=C - 1 if options.get("scores") else None,
        n_train=counts.get("train", 0),
        n_val=counts.get("val", 0),
        has_test="test" in counts,
        label_map=label_map if label_map.is_file() else None,
    )


def dataset_name(out_folder: Path) -> str:
    """``out_folder`` relative to ``./data`` (``./data/my/set`` -> ``my/set``), else its folder name."""
    folder = out_folder.resolve()
    try:
        rel = Path(os.path.relpath(folder, Path("data").resolve()))
    except ValueError:  # another drive
        return folder.name
    return folder.name if rel.parts[:1] in (("..",), (".",), ()) else rel.as_posix()


def shown(path: Path) -> str:
    """A path as configs write it: ``./data/x`` for relative paths."""
    text = path.as_posix()
    return text if path.is_absolute() or text.startswith(".") else f"./{text}"


@dataclass
class Recipe:
    """Epochs, batch, schedule and validation of one dataset size (docs/recipes.md)."""

    batch_size: int
    num_epoch: int
    step: list[int]
    validation: str  # "val_part", "val_fraction" or "none"
    model_selection: str  # "val" or "last"
    # AGCN and ST-GCN++: "SGD" (enough steps) or "Adam" (few steps: SGD stays on its plateau)
    optimizer_agcn: str


def recipe(info: DataInfo) -> Recipe:
    """The recipe for the data's size: about TARGET_STEPS optimizer steps within 30-120 epochs."""
    n = max(info.n_train, 1)
    batch = 16 if n < 2000 else 32 if n < 8000 else 64
    batch = max(1, min(batch, n // 2))  # at least two batches an epoch (the last partial one is dropped)
    iters = max(1, n // batch)
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, 5 * round(TARGET_STEPS / iters / 5)))
    step = [round(0.7 * epochs), round(0.9 * epochs)]
    if info.n_val and info.has_test:  # without a test part, val is the held-out set (2s-AGCN's naming)
        validation, held = "val_part", info.n_val
    elif n >= MIN_CARVE_CLIPS:
        validation, held = "val_fraction", round(0.1 * n)
    else:
        validation, held = "none", 0
    selection = "val" if held >= MIN_SELECTION_CLIPS else "last"
    return Recipe(batch, epochs, step, validation, selection, "SGD" if iters * epochs >= 1500 else "Adam")


def estimate_minutes(info: DataInfo, model: str, rec: Recipe, bf16: bool = False) -> float:
    """Rough training time of one stream on a 2-core CPU (two runs at a time), from NW-UCLA's timings
    scaled by clips x epochs x joints x persons x frames; fp32 (the CPU default) unless ``bf16``."""
    rate, size = MEASURED[model]
    frames = 20 if model == "impsgnv2" else min(AGCN_FRAMES, info.frames)
    clip_size = info.joints * info.persons * frames
    minutes = info.n_train * rec.num_epoch * clip_size / size / rate / 60
    return minutes if bf16 else minutes * FP32_SLOWER


def _samplers(model: str, info: DataInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    """Training and test samplers: NW-UCLA's (config/make_configs.py); 2D data rotate in the image plane."""
    seg = 20 if model == "impsgnv2" else min(AGCN_FRAMES, info.frames)
    coords = info.channels - (info.score_channel is not None)
    rotation = [0.3, 1.047, 0.3] if coords == 3 else [0.0, 0.0, 0.3]
    train = {"seg": seg, "segments": "even", "rotation": rotation, "scale": 0.2}
    test = {"seg": seg, "segments": "even", "num_clips": 5, "deterministic": True}
    return train, test


def configs(info: DataInfo, layout: str, dataset: str, model: str, stream: str) -> dict[str, dict[str, Any]]:
    """The train and test config of ``model`` (agcn, impsgnv2, stgcnpp) on ``stream``: ``{file name: config}``."""
    rec = recipe(info)
    folder = shown(info.folder)
    feeder_stream = {} if stream == "joint" else {"stream": stream}
    if info.score_channel is not None:
        feeder_stream["score_channel"] = info.score_channel
    train_sampler, test_sampler = _samplers(model, info)
    model_args: dict[str, Any] = {
        "num_class": info.num_class,
        "num_point": info.joints,
        "num_person": info.persons,  # every person slot; the sampler keeps them (persons: auto)
        "in_channels": info.channels,
        "graph": "graph.Graph",
        "graph_args": {"layout": layout},
    }
    if model == "impsgnv2":
        model_args["seg"] = train_sampler["seg"]
        optim = {"optimizer": "Adam", "base_lr": 0.001, "weight_decay": 0.0001}
        extra: dict[str, Any] = {"loss": "label_smoothing", "label_smoothing": 0.1}
    elif rec.optimizer_agcn == "SGD" and model == "stgcnpp":  # MMAction2's optimiser, cosine to 0
        optim = {"optimizer": "SGD", "base_lr": 0.1, "nesterov": True, "weight_decay": 0.0005}
        extra = {"warm_up_epoch": 5, "lr_scheduler": "cosine"}
    elif rec.optimizer_agcn == "SGD":
        optim = {"optimizer": "SGD", "base_lr": 0.1, "nesterov": True, "weight_decay": 0.0004}
        extra = {"warm_up_epoch": 5}
    elif model == "stgcnpp":
        optim = {"optimizer": "Adam", "base_lr": 0.001, "weight_decay": 0.0001}
        extra = {"lr_scheduler": "cosine"}
    else:
        optim = {"optimizer": "Adam", "base_lr": 0.001, "weight_decay": 0.0001}
        extra = {}
    name = f"{model}_{stream}"
    model_name = "stgcnpp" if model == "stgcnpp" else f"model.{model}.Model"  # 2s-AGCN-style paths
    test_options = {**feeder_stream, "sampler": test_sampler}
    validation: dict[str, Any] = {}
    if rec.validation == "val_part":
        validation["val_feeder_args"] = {
            "data_path": f"{folder}/val_data_joint.npy",
            "label_path": f"{folder}/val_label.pkl",
        }
    elif rec.validation == "val_fraction":
        validation["val_fraction"] = 0.1
    label_map = {"label_map": shown(info.label_map)} if info.label_map else {}
    train = {
        "work_dir": f"./work_dir/{dataset}/{name}",
        "model_saved_name": f"./runs/{dataset}/{name}",
        "feeder": "feeders.feeder.Feeder",
        "train_feeder_args": {
            "data_path": f"{folder}/train_data_joint.npy",
            "label_path": f"{folder}/train_label.pkl",
            **feeder_stream,
            "sampler": train_sampler,
        },
        **validation,
        "test_feeder_args": test_options,  # options only: training never reads the test part
        "model": model_name,
        "model_args": model_args,
        **label_map,
        **optim,
        **extra,
        "num_epoch": rec.num_epoch,
        **({} if extra.get("lr_scheduler") == "cosine" else {"step": rec.step}),
        "batch_size": rec.batch_size,
        "test_batch_size": 64,
        "eval_interval": 5,
        "save_interval": rec.num_epoch,
        "model_selection": rec.model_selection,
        "device": "auto",
        "seed": 1,
    }
    held_out = "test" if info.has_test else "val"
    weights = (
        f"./runs/{dataset}/{name}-best.pt"
        if rec.model_selection == "val"
        else f"./runs/{dataset}/{name}-{rec.num_epoch - 1}-*.pt"
    )
    test = {
        "work_dir": f"./work_dir/{dataset}/{model}_test_{stream}",
        "model_saved_name": f"./runs/{dataset}/{model}_test_{stream}",
        "feeder": "feeders.feeder.Feeder",
        "test_feeder_args": {
            "data_path": f"{folder}/{held_out}_data_joint.npy",
            "label_path": f"{folder}/{held_out}_label.pkl",
            **test_options,
        },
        "model": model_name,
        "model_args": model_args,
        **label_map,
        "phase": "test",
        "device": "auto",
        "test_batch_size": 64,
        "weights": weights,
        "save_score": True,
    }
    suffix = config_suffix(model)
    return {f"train_{stream}{suffix}.yaml": train, f"test_{stream}{suffix}.yaml": test}


def config_suffix(model: str) -> str:
    """The config-name suffix of ``model``: none for AGCN (2s-AGCN's names), ``_<model>`` otherwise."""
    return "" if model == "agcn" else f"_{model}"


class _Dumper(yaml.SafeDumper):
    """Block-style mappings, inline lists of values (``step: [35, 45]``), block lists of mappings."""


_Dumper.add_representer(
    list,
    lambda dumper, data: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=not any(isinstance(v, dict) for v in data)
    ),
)


def dump(obj: Mapping[str, Any], header: str = "", width: int = 110) -> str:
    """YAML text of ``obj`` in the style of the shipped configs, after the comment ``header``."""
    return header + yaml.dump(
        dict(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=width
    )


def experiment(
    info: DataInfo,
    out_folder: Path,
    folders: Sequence[str],
    dataset: str,
    data_step: Mapping[str, Any] | None,
) -> str:
    """The text of the starter experiment file."""
    rec = recipe(info)
    config_dir = shown(out_folder / "configs")
    runs = [
        {
            "model": model,
            "train": f"{config_dir}/train_{{stream}}{config_suffix(model)}.yaml",
            "test": f"{config_dir}/test_{{stream}}{config_suffix(model)}.yaml",
            "streams": list(STREAMS),
        }
        for model in MODELS
    ]
    fusion = [
        {"name": "all streams 1:1"},
        {"name": "all streams 4s", "preset": "4s"},
        *({"name": f"{model} 4s", "models": [model], "preset": "4s"} for model in MODELS),
    ]
    if rec.validation != "none":
        fusion.append({"name": "searched on validation", "search": True})
    spec: dict[str, Any] = {"name": dataset.replace("/", "-")}
    if data_step:
        spec["data"] = [dict(data_step)]
    spec["runs"] = runs
    if len(folders) > 1 or folders[0]:
        spec["folds"] = list(folders)
        spec["fold_data"] = f"{shown(out_folder)}/{{fold}}"
    spec["set"] = {"num_worker": 0}
    spec["fusion"] = fusion
    spec["parallel"] = {"jobs": "auto", "threads": "auto"}
    minutes = {m: estimate_minutes(info, m, rec) for m in MODELS}
    total = len(folders) * len(STREAMS) * sum(minutes.values())
    held_out = "test" if info.has_test else "val (no test part: 2s-AGCN's convention, val is held out)"
    validation = {
        "val_part": f"the val part ({info.n_val} clips)",
        "val_fraction": f"10% of the training part ({round(0.1 * info.n_train)} clips)",
        "none": "none (under 500 training clips; the last epoch is kept)",
    }[rec.validation]
    header = (
        f"# Starter experiment for {shown(out_folder)}, written by data_gen/custom_gendata.py: AGCN,\n"
        f"# ImpSGNv2 and ST-GCN++ on four streams{' per split' if len(folders) > 1 else ''}, tested on {held_out}, then fused.\n"
        f"# {info.n_train} training clips: batch {rec.batch_size}, {rec.num_epoch} epochs "
        f"(about {TARGET_STEPS} steps), weights chosen by {rec.model_selection}; validation: {validation}.\n"
        f"# Rough 2-core CPU time per stream (fp32; NW-UCLA's measured speed, scaled): ImpSGNv2 "
        f"{minutes['impsgnv2']:.0f} min, AGCN {minutes['agcn']:.0f} min, ST-GCN++ {minutes['stgcnpp']:.0f} min;\n"
        f"# all {len(folders) * len(STREAMS) * len(MODELS)} runs, two at a time: about {_duration(total / 2)}. "
        "Faster: fewer models, streams or epochs,\n# precision: bf16 on CPUs with AVX512-BF16 (about 2.3x), a GPU; docs/recipes.md.\n"
        f"#   python experiment.py {shown(out_folder / 'experiment.yaml')}\n"
    )
    return dump(spec, header)


def _duration(minutes: float) -> str:
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def layout_text(spec: str | Mapping[str, Any]) -> str:
    """``layout.yaml``: the dataset's skeleton, a named layout or the full mapping."""
    header = (
        "# The skeleton of this dataset, written by data_gen/custom_gendata.py. Configs name it as\n"
        "# model_args: {graph: graph.Graph, graph_args: {layout: <this file>}}; docs/custom_data.md.\n"
    )
    return dump({"layout": spec}, header, width=100_000)


def write_starter(
    out_folder: Path,
    folders: Sequence[str],
    layout: str,
    data_step: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the starter configs and experiment file (existing ones kept unless ``overwrite``).

    ``folders``: the data folders under ``out_folder`` ("" for the folder itself, else folds or named
    splits); ``layout``: what configs put in ``graph_args.layout`` (a name or the layout file).
    Returns the files written.
    """
    first = out_folder / folders[0] if folders[0] else out_folder
    if not (first / "train_data_joint.npy").is_file():
        LOG.warning("%s: no training part, so no starter configs", first)
        return []
    info = read_info(first, out_folder)
    if not (info.has_test or info.n_val):
        LOG.warning("%s: no test (or val) part to test on, so no starter configs", first)
        return []
    dataset = dataset_name(out_folder)
    if folders[0]:
        dataset = f"{dataset}/{folders[0]}"
    files: dict[Path, str] = {}
    header = (
        "# Starter config written by data_gen/custom_gendata.py (see docs/custom_data.md); edit freely.\n"
    )
    for model in MODELS:
        for stream in STREAMS:
            for name, cfg in configs(info, layout, dataset, model, stream).items():
                files[out_folder / "configs" / name] = dump(cfg, header)
    files[out_folder / "experiment.yaml"] = experiment(
        info, out_folder, folders, dataset_name(out_folder), data_step
    )
    written = []
    for path, text in files.items():
        if path.exists() and not overwrite:
            continue
        save_text(text, path)
        written.append(path)
    if written:
        rec = recipe(info)
        LOG.info(
            "starter configs in %s and %s (batch %d, %d epochs, model selection %s); run: python experiment.py %s",
            shown(out_folder / "configs"),
            shown(out_folder / "experiment.yaml"),
            rec.batch_size,
            rec.num_epoch,
            rec.model_selection,
            shown(out_folder / "experiment.yaml"),
        )
    return written
