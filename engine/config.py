"""Run configuration: 2s-AGCN's YAML keys plus this project's, with a schema.

Precedence: command line > YAML file > defaults. The YAML is read with ``yaml.safe_load``; an unknown
key is an error naming the closest valid key. Every 2s-AGCN config file is valid as it is.

Command-line spellings: ``--base-lr 0.1``, ``--base_lr 0.1`` and 2s-AGCN's single-dash
``-model_saved_name x`` are the same; dict-valued keys take YAML (``--model-args "{num_class: 10}"``);
``--set train_feeder_args.window_size=64 model_args.num_class=10`` sets nested values.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from utils.errors import ConfigError, unknown_key_message


def _opt(default: Any, help: str, choices: Sequence[Any] | None = None) -> Any:
    meta = {"help": help, "choices": tuple(choices) if choices else None}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Config:
    """Every key a config file or the command line may set (see README for the full table)."""

    # --- run, 2s-AGCN names ---------------------------------------------------------------
    config: str | None = _opt(None, "YAML config file")
    work_dir: str = _opt("./work_dir/temp", "folder for logs, metrics, plots and score pickles")
    model_saved_name: str = _opt(
        "", "prefix of weight files <name>-<epoch>-<step>.pt (e.g. ./runs/ntu_cs_agcn_joint)"
    )
    phase: str = _opt("train", "train or test", ["train", "test"])
    save_score: bool = _opt(False, "write epoch<E>_test_score.pkl ({sample_name: logits}) at each evaluation")
    seed: int = _opt(1, "seed for Python, NumPy and torch; DataLoader workers derive their own")
    log_interval: int = _opt(100, "training batches between log lines")
    save_interval: int = _opt(2, "epochs between weight files (the last epoch is always saved)")
    eval_interval: int = _opt(5, "epochs between evaluations (the last epoch is always evaluated)")
    print_log: bool = _opt(True, "also write log lines to <work_dir>/log.txt")
    show_topk: list[int] = _opt([1, 5], "top-k accuracies to report")
    # --- data --------------------------------------------------------------------------------
    feeder: str = _opt("feeders.feeder.Feeder", "a registered dataset class (feeders.feeder.Feeder)")
    num_worker: int = _opt(32, "DataLoader worker processes (capped at the CPU count)")
    train_feeder_args: dict[str, Any] = _opt({}, "keyword arguments of the training feeder")
    test_feeder_args: dict[str, Any] = _opt(
        {},
        "keyword arguments of the test feeder; in training without data_path: the validation split's options only",
    )
    val_feeder_args: dict[str, Any] = _opt(
        {},
        "training: the validation set (data_path, label_path of a val part) that picks the weights "
        "(model_selection: val) and writes epoch<E>_val_score.pkl; other keys default to test_feeder_args' "
        "options and the training stream. Instead of val_fraction",
    )
    val_fraction: float = _opt(0.0, "fraction of training samples held out as a validation split (0: none)")
    model_selection: str = _opt(
        "last",
        "which epoch's weights become <model_saved_name>-best: 'last', 'val' (best on the validation split) "
        "or 'test' (best on the test set, as 2s-AGCN/SGN did; prints a warning)",
        ["last", "val", "test"],
    )
    label_map: str | None = _opt(
        None, "class-name file (one per line) or ntu60|ntu120|kinetics400|nw_ucla|synthetic"
    )
    # --- model -------------------------------------------------------------------------------
    model: str | None = _opt(
        None, "a registered model, e.g. model.agcn.Model (python main.py --list lists them)"
    )
    model_args: dict[str, Any] = _opt({}, "keyword arguments of the model")
    weights: str | None = _opt(
        None, "weights to load before training or testing (.pt state dict or checkpoint)"
    )
    ignore_weights: list[str] = _opt([], "drop weight keys containing any of these strings when loading")
    # --- optimisation ----------------------------------------------------------------------------
    base_lr: float = _opt(0.01, "initial learning rate")
    step: list[int] = _opt([20, 40, 60], "epochs at which the learning rate is multiplied by lr_decay_rate")
    lr_decay_rate: float = _opt(0.1, "learning-rate factor at each step epoch")
    warm_up_epoch: int = _opt(0, "linear learning-rate warm-up epochs")
    lr_scheduler: str = _opt(
        "step",
        "step: x lr_decay_rate at each step epoch (2s-AGCN); cosine: per-iteration cosine from base_lr to 0 "
        "over the epochs after the warm-up (MMAction2's CosineAnnealingLR, eta_min 0, iteration-based)",
        ["step", "cosine"],
    )
    optimizer: str = _opt("SGD", "a registered optimizer: SGD, Adam or AdamW")
    momentum: float = _opt(0.9, "SGD momentum")
    nesterov: bool = _opt(False, "Nesterov momentum (SGD)")
    weight_decay: float = _opt(0.0005, "weight decay (L2 for SGD/Adam, decoupled for AdamW)")
    loss: str = _opt(
        "cross_entropy",
        "cross_entropy, or label_smoothing (SGN's: 1 - eps on the target, eps / (C - 1) on every other class)",
        ["cross_entropy", "label_smoothing"],
    )
    label_smoothing: float = _opt(0.1, "eps of the label_smoothing loss")
    grad_clip: float = _opt(0.0, "clip the gradient norm to this value (0: off)")
    batch_size: int = _opt(256, "training batch size (total over all processes)")
    test_batch_size: int = _opt(256, "evaluation batch size (total over all processes)")
    start_epoch: int = _opt(0, "first epoch (0-based)")
    num_epoch: int = _opt(80, "number of epochs")
    only_train_part: bool = _opt(
        False, "freeze the learned graph (parameters named *PA*) up to only_train_epoch"
    )
    only_train_epoch: int = _opt(0, "last epoch with the learned graph frozen (with only_train_part)")
    # --- devices and speed -------------------------------------------------------------------------
    device: Any = _opt(
        "auto",
        "auto, cpu, cuda, cuda:1, or 2s-AGCN's GPU ids (0 or [0, 1]); falls back to CPU with a warning",
    )
    precision: str = _opt(
        "auto",
        "fp32, bf16 or fp16 autocast; auto = bf16/fp16 on CUDA, fp32 on CPU",
        ["auto", "fp32", "bf16", "fp16"],
    )
    compile: bool = _opt(False, "torch.compile the model")
    deterministic: bool = _opt(False, "ask torch for deterministic algorithms (slower on GPU)")
    sync_bn: bool = _opt(False, "synchronise BatchNorm statistics across processes (torchrun)")
    # --- run management ----------------------------------------------------------------------------
    resume: str | None = _opt(
        None, "continue a run from a full checkpoint: a path, or 'auto' = <work_dir>/checkpoint.pt"
    )
    overwrite: bool = _opt(
        False, "start a training run although work_dir holds one (the old folder is renamed)"
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "1": True,
    "on": True,
    "false": False,
    "no": False,
    "0": False,
    "off": False,
}


def _expected_kind(name: str) -> str:
    return str(FIELDS[name].type).replace("typing.", "")


def coerce(name: str, value: Any) -> Any:
    """Check and convert ``value`` for key ``name``; raise a ConfigError naming the key otherwise."""
    kind = _expected_kind(name)
    meta = FIELDS[name].metadata

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{name}: expected {expected}, got {value!r}")

    if value is None:
        if "None" in kind:
            return None
        raise fail(kind)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.lower()]
        raise fail("true or false")
    if kind == "int":
        if isinstance(value, bool):
            raise fail("an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise fail("an integer")
    if kind == "float":
        if isinstance(value, bool):
            raise fail("a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise fail("a number") from None
    if kind.startswith("list["):
        item = kind[5:-1]
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise fail(f"a list of {item}")
        try:
            return [int(v) if item == "int" else str(v) for v in value]
        except (TypeError, ValueError):
            raise fail(f"a list of {item}") from None
    if kind.startswith("dict"):
        if value == "" or value == []:
            return {}
        if not isinstance(value, dict):
            raise fail("a mapping")
        return dict(value)
    if kind in ("str", "str | None"):
        value = str(value)
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{name}: expected one of {', '.join(meta['choices'])}, got {value!r}")
        return value
    return value  # "Any": checked where it is used (device)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config with ``safe_load``; the top level must be a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config: file not found: {path}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a YAML config (not UTF-8 text: byte {exc.start} is {exc.object[exc.start]:#04x})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path} ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a YAML config (binary data)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


EXAMPLES = """examples:
  python main.py --config config/nturgbd-cross-subject/train_joint.yaml
  python main.py --config config/demo/train_joint.yaml --base-lr 0.05 --num-epoch 10 --overwrite
  python main.py --config config/demo/train_joint.yaml --resume            # continue a killed run
  python main.py --config config/demo/test_joint.yaml --set test_feeder_args.debug=true
  torchrun --nproc_per_node=4 main.py --config config/nturgbd-cross-subject/train_joint.yaml
  python main.py --list                                                    # registered models, feeders, ...

Boolean keys work bare (--overwrite, --save-score) or with a value (--save-score false).
Dict-valued keys take YAML (--model-args "{num_class: 10}"); --set KEY.SUB=VALUE sets nested keys.
"""


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return ""
    if value is None or value == "" or value == {} or value == []:
        return ""
    return f" (default: {value})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train or test one stream of a skeleton action-recognition model. Every key of a YAML "
        "config can be given here; the command line wins over the file.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    for name, f in FIELDS.items():
        spellings = [f"--{name}"]
        if "_" in name:
            spellings.append(f"--{name.replace('_', '-')}")
            spellings.append(f"-{name}")  # 2s-AGCN: -model_saved_name
        kind = _expected_kind(name)
        kwargs: dict[str, Any] = {"dest": name, "help": f.metadata.get("help", "") + _default_text(f)}
        if kind.startswith("list[") or name == "device":
            kwargs["nargs"] = "+"
        elif kind == "bool":  # bare --overwrite means true; --overwrite false also works
            kwargs.update(nargs="?", const="true", metavar="true|false")
        elif name == "resume":  # bare --resume means 'auto'
            kwargs.update(nargs="?", const="auto", metavar="auto|PATH")
        parser.add_argument(*spellings, **kwargs)
    parser.add_argument(
        "--set",
        dest="set_values",
        nargs="+",
        metavar="KEY=VALUE",
        help="override nested keys, e.g. train_feeder_args.window_size=64 (values are YAML)",
    )
    parser.add_argument(
        "--list",
        dest="list_registered",
        action="store_true",
        help="list the registered models, feeders, graphs and optimizers a config may name, and exit",
    )
    return parser


def _apply(values: dict[str, Any], data: dict[str, Any], where: str) -> None:
    for key, value in data.items():
        if key not in FIELDS:
            raise ConfigError(unknown_key_message(str(key), FIELDS, where))
        values[key] = value


def _yaml_value(text: str, where: str) -> Any:
    """A command-line value read as YAML (``safe_load``: tags that build objects are refused)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: not a valid YAML value ({problem}): {text!r}") from None


def _set_nested(values: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError(f"--set: expected KEY=VALUE, got {assignment!r}")
    dotted, _, raw = assignment.partition("=")
    keys = dotted.strip().split(".")
    if keys[0] not in FIELDS:
        raise ConfigError(unknown_key_message(keys[0], FIELDS, "--set"))
    value = _yaml_value(raw, f"--set {dotted}") if raw.strip() else ""
    if len(keys) == 1:
        values[keys[0]] = value
        return
    node = values.setdefault(keys[0], {})
    if not isinstance(node, dict):
        raise ConfigError(f"--set {dotted}: '{keys[0]}' is not a mapping")
    node = dict(node)
    values[keys[0]] = node
    for k in keys[1:-1]:
        child = node.get(k)
        child = dict(child) if isinstance(child, dict) else {}
        node[k] = child
        node = child
    node[keys[-1]] = value


def parse_config(argv: Sequence[str] | None = None) -> Config:
    """Parse the command line (and the YAML it names) into a checked :class:`Config`."""
    args = vars(build_parser().parse_args(list(sys.argv[1:] if argv is None else argv)))
    if args.pop("list_registered", False):
        print(registered_listing())
        raise SystemExit(0)
    set_values = args.pop("set_values", None) or []
    values: dict[str, Any] = {}
    config_path = args.get("config")
    if config_path:
        _apply(values, load_yaml(config_path), str(config_path))
    for key, value in args.items():
        if FIELDS[key].type in ("dict[str, Any]",) and isinstance(value, str):
            value = _yaml_value(value, f"--{key}")
        if key == "device" and isinstance(value, list) and len(value) == 1:
            value = value[0]
        values[key] = value
    for assignment in set_values:
        _set_nested(values, assignment)
    return make_config(values)


def registered_listing() -> str:
    """The names a config may use for each registered kind of component (``main.py --list``)."""
    from utils.registry import FEEDERS, GRAPHS, MODELS, OPTIMIZERS

    lines = []
    for key, reg in (
        ("model", MODELS),
        ("feeder", FEEDERS),
        ("model_args.graph", GRAPHS),
        ("optimizer", OPTIMIZERS),
    ):
        lines.append(f"{key}:")
        for name in reg.names():
            aliases = [a for a in reg.names(with_aliases=True) if a != name and reg.canonical(a) == name]
            lines.append(f"  {name}" + (f"  (also: {', '.join(aliases)})" if aliases else ""))
    return "\n".join(lines)


def make_config(values: dict[str, Any]) -> Config:
    """Build a Config from a plain mapping (checks keys and types)."""
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key not in FIELDS:
            raise ConfigError(unknown_key_message(str(key), FIELDS, "config"))
        checked[key] = coerce(key, value)
    cfg = Config(**checked)
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    if cfg.model is None:
        raise ConfigError("model: no model class given (e.g. model: model.agcn.Model)")
    from utils.registry import FEEDERS, MODELS, OPTIMIZERS

    # names only: nothing a file names is imported or called unless it is registered
    MODELS.get(cfg.model, "model")
    FEEDERS.get(cfg.feeder, "feeder")
    OPTIMIZERS.get(cfg.optimizer, "optimizer")
    if cfg.phase == "test" and not cfg.weights:
        raise ConfigError("weights: the test phase needs weights (a .pt file written by training)")
    if cfg.batch_size < 1 or cfg.test_batch_size < 1:
        raise ConfigError("batch_size and test_batch_size must be positive")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise ConfigError(f"val_fraction: expected a fraction in [0, 1), got {cfg.val_fraction}")
    has_val_set = bool(cfg.val_feeder_args.get("data_path") or cfg.val_feeder_args.get("label_path"))
    if has_val_set and cfg.val_fraction > 0:
        raise ConfigError(
            "val_feeder_args and val_fraction both give a validation set; keep one "
            "(val_feeder_args: a val part of the data; val_fraction: carved from the training set)"
        )
    if has_val_set:
        for key in ("data_path", "label_path"):
            if not cfg.val_feeder_args.get(key):
                raise ConfigError(f"val_feeder_args.{key}: missing (the validation set needs both files)")
    if cfg.model_selection == "val" and cfg.val_fraction <= 0 and not has_val_set:
        raise ConfigError(
            "model_selection: 'val' needs a validation set (val_feeder_args with data_path and label_path, "
            "or val_fraction, e.g. 0.05)"
        )
    if cfg.num_epoch < cfg.start_epoch:
        raise ConfigError(f"num_epoch ({cfg.num_epoch}) is smaller than start_epoch ({cfg.start_epoch})")
    if cfg.eval_interval < 1 or cfg.save_interval < 1:
        raise ConfigError("eval_interval and save_interval must be at least 1")
    if not 0.0 <= cfg.label_smoothing < 1.0:
        raise ConfigError(f"label_smoothing: expected a value in [0, 1), got {cfg.label_smoothing}")


def dump_config(cfg: Config, path: str | Path) -> None:
    """Write the merged configuration as YAML (atomically)."""
    from utils.io import save_text

    save_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), path)
