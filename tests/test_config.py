import textwrap

import pytest

from engine.config import FIELDS, parse_config
from utils.errors import ConfigError

AGCN_TRAIN = """\
work_dir: ./work_dir/ntu/xsub/agcn_joint
model_saved_name: ./runs/ntu_cs_agcn_joint
feeder: feeders.feeder.Feeder
train_feeder_args:
  data_path: ./data/ntu/xsub/train_data_joint.npy
  label_path: ./data/ntu/xsub/train_label.pkl
  debug: False
  random_choose: False
  random_shift: False
  random_move: False
  window_size: -1
  normalization: False
test_feeder_args:
  data_path: ./data/ntu/xsub/val_data_joint.npy
  label_path: ./data/ntu/xsub/val_label.pkl
model: model.agcn.Model
model_args:
  num_class: 60
  num_point: 25
  num_person: 2
  graph: graph.ntu_rgb_d.Graph
  graph_args:
    labeling_mode: 'spatial'
weight_decay: 0.0001
base_lr: 0.1
step: [30, 40]
device: [0, 1, 2, 3]
batch_size: 64
test_batch_size: 64
num_epoch: 50
nesterov: True
"""


def write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_2s_agcn_config_parses_with_reference_values(tmp_path):
    cfg = parse_config(["--config", write(tmp_path, AGCN_TRAIN)])
    assert cfg.base_lr == 0.1 and cfg.step == [30, 40] and cfg.nesterov is True
    assert cfg.device == [0, 1, 2, 3] and cfg.batch_size == 64 and cfg.num_epoch == 50
    assert cfg.model_args["graph_args"] == {"labeling_mode": "spatial"}
    # defaults the reference relied on
    assert (
        cfg.optimizer == "SGD" and cfg.momentum == 0.9 and cfg.save_interval == 2 and cfg.warm_up_epoch == 0
    )


def test_command_line_overrides_yaml_in_every_spelling(tmp_path):
    path = write(tmp_path, AGCN_TRAIN)
    cfg = parse_config(
        [
            "--config",
            path,
            "--base-lr",
            "0.05",
            "-model_saved_name",
            "./runs/x",
            "--device",
            "cpu",
            "--step",
            "3",
            "7",
        ]
    )
    assert cfg.base_lr == 0.05 and cfg.model_saved_name == "./runs/x" and cfg.device == "cpu"
    assert cfg.step == [3, 7]
    cfg = parse_config(
        ["--config", path, "--set", "train_feeder_args.window_size=64", "model_args.num_class=10"]
    )
    assert cfg.train_feeder_args["window_size"] == 64 and cfg.train_feeder_args["random_move"] is False
    assert cfg.model_args["num_class"] == 10 and cfg.model_args["num_point"] == 25
    cfg = parse_config(["--config", path, "--model-args", "{num_class: 5}", "--nesterov", "false"])
    assert cfg.model_args == {"num_class": 5} and cfg.nesterov is False


def test_unknown_keys_are_errors_with_the_closest_key(tmp_path):
    path = write(tmp_path, AGCN_TRAIN + "base_lrr: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'base_lrr'; did you mean 'base_lr'\?"):
        parse_config(["--config", path])
    with pytest.raises(ConfigError, match="did you mean 'test_batch_size'"):
        parse_config(["--config", write(tmp_path, AGCN_TRAIN), "--set", "test_batchsize=3"])


@pytest.mark.parametrize(
    "extra,message",
    [
        ("batch_size: lots\n", "batch_size: expected an integer"),
        ("nesterov: maybe\n", "nesterov: expected true or false"),
        ("phase: validate\n", "phase: expected one of train, test"),
        ("step: {a: 1}\n", "step: expected a list of int"),
        ("val_fraction: 1.5\n", "val_fraction"),
        ("model_selection: val\n", "needs a validation set"),
    ],
)
def test_bad_values_name_the_key(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(["--config", write(tmp_path, AGCN_TRAIN + extra)])


def test_yaml_is_loaded_safely_and_errors_give_the_line(tmp_path):
    evil = write(tmp_path, AGCN_TRAIN + "weights: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config(["--config", evil])
    broken = write(tmp_path, "model: model.agcn.Model\nmodel_args: {num_class: 60\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml:\d+: not valid YAML"):
        parse_config(["--config", broken])
    with pytest.raises(ConfigError, match="file not found"):
        parse_config(["--config", str(tmp_path / "missing.yaml")])


def test_test_phase_needs_weights(tmp_path):
    with pytest.raises(ConfigError, match="weights"):
        parse_config(["--config", write(tmp_path, AGCN_TRAIN + "phase: test\n")])


def test_every_2s_agcn_argument_name_is_accepted():
    reference_keys = {
        "work_dir", "model_saved_name", "config", "phase", "save_score", "seed", "log_interval", "save_interval",
        "eval_interval", "print_log", "show_topk", "feeder", "num_worker", "train_feeder_args", "test_feeder_args",
        "model", "model_args", "weights", "ignore_weights", "base_lr", "step", "device", "optimizer", "nesterov",
        "batch_size", "test_batch_size", "start_epoch", "num_epoch", "weight_decay", "only_train_part",
        "only_train_epoch", "warm_up_epoch",
    }  # fmt: skip
    assert reference_keys <= set(FIELDS)
