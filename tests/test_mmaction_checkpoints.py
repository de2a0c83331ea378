"""MMAction2 checkpoints: the restricted unpickler, load reports and errors, export in MMAction2's layout."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from conftest import FIXTURES, shared_or_skip

from model import mmengine_pickle
from model.loading import load_weights, main, read_weights_file, save_mmaction_checkpoint
from model.mmaction import build
from model.recognizer_gcn import STGCNPPModel
from utils.errors import DataError

SMALL = FIXTURES / "mmaction2/aagcn_attn_small.pth"


def small_model():
    z = np.load(FIXTURES / "mmaction2/aagcn_attn_small.npz")
    return build(json.loads(str(z["config"])))


class Payload:
    """Unpickling this calls ``func(*args)`` under plain pickle."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    "attack",
    [
        lambda path: Payload(os.system, f"touch {path}"),
        lambda path: Payload(eval, f"open({str(path)!r}, 'w').close()"),
        lambda path: Payload(subprocess.Popen, ["touch", str(path)]),
        lambda path: Payload(exec, f"open({str(path)!r}, 'w').close()"),
    ],
    ids=["os.system", "builtins.eval", "subprocess.Popen", "builtins.exec"],
)
def test_malicious_objects_in_a_checkpoint_never_run(tmp_path, attack):
    sentinel = tmp_path / "pwned"
    model = small_model()
    ckpt = tmp_path / "evil.pth"
    state = OrderedDict(model.state_dict())
    torch.save(
        {"meta": {"hook": attack(sentinel)}, "state_dict": state, "message_hub": [attack(sentinel)]}, ckpt
    )
    with pytest.raises(pickle.UnpicklingError):  # what torch's own safe loader says
        torch.load(ckpt, weights_only=True)
    report = load_weights(small_model(), ckpt)
    assert not sentinel.exists()
    assert report.stand_ins == 2 and report.skipped_entries == ["meta", "message_hub"]
    # a payload where a tensor should be is refused, and still never runs
    state["cls_head.fc.bias"] = attack(sentinel)
    torch.save({"state_dict": state}, ckpt)
    with pytest.raises(DataError, match="cls_head.fc.bias' is a StandIn, expected a tensor"):
        load_weights(small_model(), ckpt)
    assert not sentinel.exists()


def test_unpickler_imports_nothing_and_getattr_only_on_stand_ins():
    evil = b"cnot_a_real_module_xyz\nrun\n(S'x'\ntR."  # protocol 0: GLOBAL + REDUCE
    obj = mmengine_pickle.loads(evil)
    assert isinstance(obj, mmengine_pickle.StandIn) and "not_a_real_module_xyz" not in sys.modules
    assert obj.args == ("x",) and "not_a_real_module_xyz.run" in repr(type(obj)("y").__class__.stand_in_for)
    walk = b"c__builtin__\ngetattr\n(ccollections\nOrderedDict\nS'__init__'\ntR."
    with pytest.raises(pickle.UnpicklingError, match="refusing getattr"):
        mmengine_pickle.loads(walk)
    on_stand_in = b"c__builtin__\ngetattr\n(cmmengine.logging.history_buffer\nHistoryBuffer\nS'min'\ntR."
    assert "HistoryBuffer.min" in repr(mmengine_pickle.loads(on_stand_in))


@pytest.mark.parametrize("module", ["numpy._core.multiarray", "numpy.core.multiarray"])
def test_numpy_arrays_load_under_both_module_spellings(module):
    data = pickle.dumps(np.arange(6, dtype=np.float32).reshape(2, 3), protocol=2)
    data = data.replace(b"numpy._core.multiarray\n", f"{module}\n".encode())
    assert f"{module}\n".encode() in data
    arr = mmengine_pickle.loads(data)
    np.testing.assert_array_equal(arr, np.arange(6, dtype=np.float32).reshape(2, 3))


def test_class_count_and_other_model_errors_name_the_file_and_what_was_expected():
    cfg = json.loads(str(np.load(FIXTURES / "mmaction2/aagcn_attn_small.npz")["config"]))
    cfg["cls_head"]["num_classes"] = 120
    with pytest.raises(DataError) as err:
        load_weights(build(cfg), SMALL)
    assert str(err.value) == (
        f"{SMALL}: cls_head.fc.weight has shape (60, 32) but the model expects (120, 32) (num_class 120); "
        "the weights were trained for 60 classes"
    )
    other = STGCNPPModel(base_channels=8)
    with pytest.raises(DataError, match=r"aagcn_attn_small.pth: weights do not fit RecognizerGCN\(STGCN\(unit_gcn, "
                       r"adaptive='init', with_res=True, mstcn, layout='nturgb\+d', mode='spatial'\), num_class=60\); "
                       r"480 missing keys: backbone.gcn.0.gcn.conv.weight, .*; 291 unexpected keys: backbone.A, "):  # fmt: skip
        load_weights(other, SMALL)


def test_torch_refusing_custom_pickle_modules_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(DataError, match="aagcn_attn_small.pth: cannot read"):
        read_weights_file(SMALL)


def test_export_round_trip_is_weights_only_loadable_with_the_zoo_key_set(tmp_path):
    model = small_model()
    load_weights(model, SMALL)
    out = save_mmaction_checkpoint(model, tmp_path / "export.pth", meta={"stream": "joint"})
    ckpt = torch.load(out, weights_only=True)
    zoo = mmengine_pickle.torch_load(str(SMALL))["state_dict"]
    assert set(ckpt) == {"meta", "state_dict"} and set(ckpt["state_dict"]) == set(zoo)
    assert ckpt["meta"]["stream"] == "joint" and ckpt["meta"]["cfg"].startswith(
        "model = {'type': 'RecognizerGCN'"
    )
    again = build(ckpt["meta"]["model_config"])
    assert load_weights(again, out).summary() == f"{out}: used 'state_dict', skipped meta; all keys matched"
    for key, value in zoo.items():
        assert torch.equal(again.state_dict()[key], value), key


@pytest.mark.parametrize("name", ["stgcn_3d", "stgcnpp_3d", "agcn_3d"])
def test_export_key_sets_equal_the_golden_zoo_files(tmp_path, name):
    path = shared_or_skip(f"golden/mmaction2/{name}.pth")
    model = build(json.loads(str(np.load(path.with_suffix(".npz"))["config"])))
    out = save_mmaction_checkpoint(model, tmp_path / f"{name}.pth")
    golden = mmengine_pickle.torch_load(str(path))["state_dict"]
    exported = torch.load(out, weights_only=True)["state_dict"]
    assert set(exported) == set(golden)
    assert all(exported[k].shape == golden[k].shape and exported[k].dtype == golden[k].dtype for k in golden)


def test_export_command_reads_a_trained_weight_file(tmp_path, capsys):
    from engine.checkpoint import save_weights

    model = STGCNPPModel(num_class=5, base_channels=12)
    weights = save_weights(
        model, tmp_path / "run-0-10.pt", {"model": "stgcnpp", "stream": "bone", "num_class": 5}
    )
    config = tmp_path / "test.yaml"
    config.write_text(
        "model: stgcnpp\nmodel_args: {num_class: 5, base_channels: 12}\nphase: test\n"
        f"weights: {weights}\ntest_feeder_args: {{stream: bone}}\n"
    )
    out = tmp_path / "out.pth"
    assert main(["--config", str(config), "--weights", str(weights), "--out", str(out)]) == 0
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["meta"]["stream"] == "bone" and ckpt["meta"]["model_config"]["cls_head"]["num_classes"] == 5
    assert "wrote" in capsys.readouterr().out
    assert main(["--config", str(config), "--weights", str(tmp_path / "missing.pt"), "--out", str(out)]) == 1


def test_main_tests_a_zoo_checkpoint_through_its_config(tmp_path):
    """weights: <MMAction2 .pth> in a main.py test config (model: mmaction_aagcn) reads it safely and scores."""
    import yaml
    from conftest import make_tiny_dataset

    from engine.config import parse_config
    from engine.run import run
    from utils.io import load_pickle

    make_tiny_dataset(tmp_path, n=3, shape=(3, 10, 25, 2), num_class=60, prefix="val")
    cfg = {
        "phase": "test",
        "work_dir": str(tmp_path / "work"),
        "feeder": "feeders.feeder.Feeder",
        "test_feeder_args": {
            "data_path": str(tmp_path / "val_data_joint.npy"),
            "label_path": str(tmp_path / "val_label.pkl"),
        },
        "model": "mmaction_aagcn",
        "model_args": {"num_class": 60, "base_channels": 8, "gcn_attention": True},
        "weights": str(SMALL),
        "device": "cpu",
        "num_worker": 0,
        "save_score": True,
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(cfg))
    run(parse_config(["--config", str(tmp_path / "test.yaml")]))
    log = (tmp_path / "work" / "log.txt").read_text()
    assert "used 'state_dict', skipped meta, message_hub (3 unpicklable objects" in log
    model = small_model()
    load_weights(model, SMALL)
    x = torch.from_numpy(np.load(tmp_path / "val_data_joint.npy"))
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    scores = load_pickle(tmp_path / "work" / "epoch1_test_score.pkl")
    np.testing.assert_allclose(np.stack(list(scores.values())), expected, rtol=1e-5, atol=1e-5)
