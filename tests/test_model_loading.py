"""model.loading: official, DataParallel, legacy, SGN-style and pickled checkpoints."""

from __future__ import annotations

import re
from collections import OrderedDict

import pytest
import torch

from model.agcn import Model
from model.loading import adapt_state_dict, load_weights
from utils.errors import DataError
from utils.io import save_pickle


def small_model(seed: int = 0) -> Model:
    torch.manual_seed(seed)
    return Model(num_class=10, graph="graph.ntu_rgb_d.Graph", base_channel=8)


@pytest.fixture
def source():
    """A model with distinctive weights, and a fresh target model."""
    src = small_model(seed=1)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p))
        for name, b in src.named_buffers():
            if name.endswith("num_batches_tracked"):
                b.fill_(7)
    return src, small_model(seed=2)


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_plain_state_dict_loads_with_nothing_to_report(source):
    src, dst = source
    report = load_weights(dst, src.state_dict())
    assert_same_state(src, dst)
    assert report.summary() == "state_dict: all keys matched"


def test_dataparallel_module_prefix_is_stripped(source, tmp_path):
    src, dst = source
    path = tmp_path / "dp-49-100.pt"
    torch.save(OrderedDict(("module." + k, v) for k, v in src.state_dict().items()), path)
    report = load_weights(dst, path)
    assert_same_state(src, dst)
    assert report.stripped_prefix == len(src.state_dict())
    assert report.source == str(path) and "stripped 'module.' from" in report.summary()


def test_missing_num_batches_tracked_is_filled_with_zero(source):
    src, dst = source
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    report = load_weights(dst, state)
    assert len(report.filled) == 26 and "l1.gcn1.down.1.num_batches_tracked" in report.filled
    loaded = dst.state_dict()
    for key in report.filled:
        assert loaded[key].dtype == torch.int64 and loaded[key].item() == 0
    assert torch.equal(loaded["fc.weight"], src.state_dict()["fc.weight"])


def test_older_release_names_are_renamed_and_reported(source):
    src, dst = source
    old = OrderedDict()
    for key, value in src.state_dict().items():
        legacy = re.sub(r"^l(\d+)\.", r"l\1a.", key.replace(".down.", ".conv_res."))
        old["module." + legacy] = value
    assert "module.l1a.gcn1.conv_res.0.weight" in old
    report = load_weights(dst, old)
    assert_same_state(src, dst)
    renamed = dict(report.renamed)
    assert renamed["module.l1a.gcn1.conv_res.0.weight"] == "l1.gcn1.down.0.weight"
    assert renamed["module.l10a.tcn1.conv.weight"] == "l10.tcn1.conv.weight"
    assert len(report.renamed) == len(old) - 7  # all but data_bn.* and fc.*
    assert "renamed 345 legacy keys (module.l1a.gcn1.PA -> l1.gcn1.PA, " in report.summary()


def test_unexpected_and_missing_keys_are_listed(source):
    src, dst = source
    state = src.state_dict()
    del state["l3.gcn1.PA"], state["fc.bias"]
    state["l3.gcn1.extra.weight"] = torch.zeros(1)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(DataError) as err:
        load_weights(dst, state)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("state_dict: weights do not fit Model; 2 missing keys: l3.gcn1.PA, fc.bias; ")
    assert message.endswith("1 unexpected keys: l3.gcn1.extra.weight")
    assert all(torch.equal(v, before[k]) for k, v in dst.state_dict().items())  # nothing was loaded


def test_shape_mismatch_lists_both_shapes(source):
    src, dst = source
    state = src.state_dict()
    state["l1.gcn1.conv_d.0.weight"] = torch.zeros(8, 4, 1, 1)
    with pytest.raises(
        DataError,
        match=re.escape(
            "1 shape mismatches: l1.gcn1.conv_d.0.weight (file (8, 4, 1, 1), model (8, 3, 1, 1))"
        ),
    ):
        load_weights(dst, state)
    with pytest.raises(DataError, match="shape mismatches"):  # even when not strict
        load_weights(dst, state, strict=False)


def test_another_class_count_is_named_as_such(source):
    src, dst = source
    state = src.state_dict()
    state["fc.weight"], state["fc.bias"] = torch.zeros(60, 32), torch.zeros(60)
    message = "state_dict: fc.weight has shape (60, 32) but the model expects (10, 32) (num_class 10)"
    with pytest.raises(DataError, match=re.escape(message)):
        load_weights(dst, state)


def test_sgn_style_checkpoint_with_optimizer_loads(source, tmp_path):
    src, dst = source
    optimizer = torch.optim.SGD(src.parameters(), lr=0.1, momentum=0.9)
    checkpoint = {
        "epoch": 12,
        "state_dict": src.state_dict(),
        "best": 0.87,
        "monitor": "acc_val",
        "optimizer": optimizer.state_dict(),
    }
    path = tmp_path / "sgn_best.pth"
    torch.save(checkpoint, path)
    load_weights(dst, path)
    assert_same_state(src, dst)
    load_weights(dst, {"model": src.state_dict()})  # the other common wrapper


def test_ignore_weights_drops_keys_by_substring(source):
    src, dst = source
    keep = dst.state_dict()["fc.weight"].clone()
    with pytest.raises(DataError, match="2 missing keys: fc.weight, fc.bias"):
        load_weights(dst, src.state_dict(), ignore=["fc."])
    report = load_weights(dst, src.state_dict(), ignore=["fc."], strict=False)
    assert report.ignored == ["fc.weight", "fc.bias"] and report.missing == ["fc.weight", "fc.bias"]
    assert torch.equal(dst.state_dict()["fc.weight"], keep)
    assert torch.equal(dst.state_dict()["l1.gcn1.PA"], src.state_dict()["l1.gcn1.PA"])


def test_pickled_numpy_state_dict_loads(source, tmp_path):
    src, dst = source
    path = tmp_path / "weights.pkl"
    save_pickle(OrderedDict((k, v.numpy()) for k, v in src.state_dict().items()), path)
    load_weights(dst, path)
    assert_same_state(src, dst)


def test_unreadable_files_are_data_errors(tmp_path):
    model = small_model()
    with pytest.raises(DataError, match="weights file not found"):
        load_weights(model, tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=re.escape(f"{bad}: cannot read weights")):
        load_weights(model, bad)
    with pytest.raises(DataError, match="expected a state_dict"):
        adapt_state_dict(model, [1, 2, 3])
