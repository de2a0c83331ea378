"""MMAction2's skeleton GCNs (ST-GCN, ST-GCN++, AAGCN): golden outputs, units against plain math, configs.

Golden files (``../shared/golden/mmaction2/``, MMAction2 1.2.0 with random weights) are checked when
present; ``tests/fixtures/mmaction2/`` holds the small attention-AAGCN model of that set, so the
suite checks one zoo-layout checkpoint end to end without ``../shared``.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import FIXTURES, shared_or_skip

from engine import builder
from engine.loop import forward_logits
from graph import Graph
from model.agcn import from_block_layout, to_block_layout
from model.gcn_units import mstcn, unit_gcn
from model.loading import load_weights
from model.mmaction import build
from model.recognizer_gcn import STGCNModel, STGCNPPModel
from utils.errors import ConfigError
from utils.registry import MODELS

GOLDEN = "golden/mmaction2"
GOLDEN_MODELS = ("stgcn_3d", "stgcn_2d", "stgcnpp_3d", "agcn_3d", "aagcn_attn_small")
STGCN = {"type": "STGCN", "graph_cfg": {"layout": "nturgb+d", "mode": "stgcn_spatial"}}
STGCNPP = {
    "type": "STGCN",
    "gcn_adaptive": "init",
    "gcn_with_res": True,
    "tcn_type": "mstcn",
    "graph_cfg": {"layout": "nturgb+d", "mode": "spatial"},
}
AGCN = {"type": "AAGCN", "graph_cfg": {"layout": "nturgb+d", "mode": "spatial"}, "gcn_attention": False}


def recognizer(backbone: dict, num_classes: int = 60, in_channels: int = 256, **head) -> dict:
    return {
        "type": "RecognizerGCN",
        "backbone": backbone,
        "cls_head": {"type": "GCNHead", "num_classes": num_classes, "in_channels": in_channels, **head},
    }


def run_with_probes(model, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Eval logits, features (N, M, C, T', V), input of gcn[0] and output of gcn[0] as (n, C, T, V)."""
    seen = {}
    block0 = model.backbone.gcn[0]
    hooks = [
        block0.register_forward_pre_hook(lambda m, args: seen.__setitem__("in", from_block_layout(args[0]))),
        block0.register_forward_hook(lambda m, args, out: seen.__setitem__("out", from_block_layout(out))),
    ]
    with torch.no_grad():
        feat = model.extract_feat(x)
        logits = model.cls_head(feat).numpy()
        feat = feat.numpy()
    for h in hooks:
        h.remove()
    return logits, feat, seen["in"].numpy(), seen["out"].numpy()


def check_golden(model, z: dict, feat: np.ndarray | None = None, data_bn_frames: int | None = None) -> None:
    model.eval()
    x = torch.from_numpy(z["x_nctvm"])
    logits, got_feat, data_bn, block0 = run_with_probes(model, x)
    scale = np.abs(z["logits"]).max()
    np.testing.assert_allclose(logits, z["logits"], rtol=0, atol=1e-5)
    assert np.abs(logits - z["logits"]).max() / scale < 1e-4
    # MMAction2's own float32 features are ~9e-5 from the float64 result (values up to ~15)
    np.testing.assert_allclose(
        got_feat if feat is None else got_feat[:, 0], z["feat"] if feat is None else feat, atol=2e-4
    )
    bn_key = "inter/data_bn" if data_bn_frames is None else "inter/data_bn_t16"
    np.testing.assert_allclose(data_bn[:, :, : data_bn_frames or None], z[bn_key], atol=1e-5)
    np.testing.assert_allclose(block0[0, :, :16], z["inter/block0_row0_t16"], atol=1e-5)
    train = copy.deepcopy(model).train()
    with torch.no_grad():
        np.testing.assert_allclose(train(x).numpy(), z["logits_train"], atol=5e-5)
    # float64: the same function exactly (MMAction2 run in float64 with the same weights)
    m64 = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        np.testing.assert_allclose(m64(x.double()).numpy(), z["logits_f64"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_golden_models_load_strictly_and_reproduce_mmaction2(name):
    npz = shared_or_skip(f"{GOLDEN}/{name}.npz")
    z = dict(np.load(npz))
    model = build(json.loads(str(z["config"])))
    report = load_weights(model, shared_or_skip(f"{GOLDEN}/{name}.pth"))
    assert report.skipped_entries == ["meta", "message_hub"] and report.stand_ins == 3
    assert not report.missing and not report.unexpected and not report.renamed
    check_golden(model, z)


def test_fixture_attention_aagcn_reproduces_mmaction2():
    z = dict(np.load(FIXTURES / "mmaction2/aagcn_attn_small.npz"))
    model = build(json.loads(str(z["config"])))
    report = load_weights(model, FIXTURES / "mmaction2/aagcn_attn_small.pth")
    assert "skipped meta, message_hub (3 unpicklable objects kept as inert stand-ins)" in report.summary()
    assert model.backbone.gcn[0].gcn.attention and model.backbone.data_bn_type == "MVC"
    check_golden(model, z, feat=z["feat_person0"], data_bn_frames=16)


def test_ten_clip_test_averages_softmax_like_mmaction2():
    z = np.load(shared_or_skip(f"{GOLDEN}/stgcn_3d.npz"))
    pipe = np.load(shared_or_skip(f"{GOLDEN}/gcn_pipeline_ntu60_3d.npz"))
    model = build(json.loads(str(z["config"])))
    load_weights(model, shared_or_skip(f"{GOLDEN}/stgcn_3d.pth"))
    model.eval()
    clips = pipe[f"test_pipeline/{z['test10/frame_dir']}/inputs"]  # (10, M, T, V, C)
    x = torch.from_numpy(clips).permute(0, 4, 2, 3, 1)[None]  # (1, 10, C, T, V, M)
    with torch.no_grad():
        out, _ = forward_logits(model, x)
        per_clip = model(x[0])
    np.testing.assert_allclose(per_clip.numpy(), z["test10/clip_logits"], atol=1e-5)
    np.testing.assert_allclose(torch.softmax(out, -1)[0].numpy(), z["test10/score"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "backbone, params, keys",
    [(STGCN, 3_098_832, 181), (STGCNPP, 1_403_144, 692), (AGCN, 3_469_520, 363)],
    ids=["stgcn", "stgcnpp", "agcn"],
)
def test_parameter_counts_and_state_dict_size_equal_mmaction2(backbone, params, keys):
    model = build(recognizer(backbone))
    assert sum(p.numel() for p in model.parameters()) == params
    assert len(model.state_dict()) == keys
    assert all(k.startswith(("backbone.", "cls_head.")) for k in model.state_dict())


def test_config_level_models_equal_the_mmaction2_dicts_and_round_trip():
    for cls, backbone in ((STGCNModel, STGCN), (STGCNPPModel, STGCNPP)):
        ours = cls()
        ref = build(recognizer(backbone))
        assert {k: v.shape for k, v in ours.state_dict().items()} == {
            k: v.shape for k, v in ref.state_dict().items()
        }
        again = build(ours.mmaction_cfg)
        again.load_state_dict(ours.state_dict())
        x = torch.randn(1, 3, 12, 25, 2)
        with torch.no_grad():
            torch.testing.assert_close(again.eval()(x), ours.eval()(x))
    assert MODELS.get("stgcn") is STGCNModel and MODELS.get("stgcn++") is STGCNPPModel
    aagcn = MODELS.get("mmaction_aagcn")(num_class=10, base_channels=8)
    assert not aagcn.backbone.gcn[0].gcn.attention and aagcn.average_clips == "prob"
    assert builder.model_layout(aagcn).name == "nturgb+d"


# --- units against the plain formulas ---------------------------------------------------------


def naive_unit_gcn(unit: unit_gcn, x: torch.Tensor) -> torch.Tensor:
    """MMAction2's unit_gcn written out on (n, C, T, V) input with einsum."""
    G = unit.graph()
    K = G.shape[0]
    n, c, T, V = x.shape
    if unit.conv_pos == "pre":
        y = unit.conv(x).view(n, K, -1, T, V)
        z = torch.einsum("nkctv,kvw->nctw", y, G)
    else:
        y = torch.einsum("nctv,kvw->nkctw", x, G).reshape(n, K * c, T, V)
        z = unit.conv(y)
    z = unit.bn(z)
    if unit.with_res:
        z = z + (x if unit.down is None else unit.down(x))
    return torch.relu(z)


def randomise(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3 + (1 if p.dim() == 1 else 0))
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 2)
            elif name.endswith("running_mean"):
                b.normal_(0, 0.2)


@pytest.mark.parametrize("adaptive", [None, "init", "offset", "importance"])
@pytest.mark.parametrize(
    "conv_pos,with_res,c_in",
    [("pre", False, 3), ("pre", True, 6), ("pre", False, 8), ("pre", True, 12), ("post", True, 8)],
)
def test_unit_gcn_equals_the_einsum_formula(adaptive, conv_pos, with_res, c_in):
    torch.manual_seed(0)
    A = Graph("coco", mode="stgcn_spatial").A
    unit = unit_gcn(c_in, 8, A, adaptive=adaptive, conv_pos=conv_pos, with_res=with_res)
    randomise(unit)
    keys = set(unit.state_dict())
    assert ("PA" in keys) == (adaptive in ("offset", "importance"))
    assert ("down.0.weight" in keys) == (with_res and c_in != 8)
    assert (unit.A.requires_grad if isinstance(unit.A, torch.nn.Parameter) else False) == (adaptive == "init")
    x = torch.randn(2, c_in, 7, 17)
    for train in (False, True):
        unit.train(train)
        expected = naive_unit_gcn(unit, x)
        got = from_block_layout(unit(to_block_layout(x)))
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def naive_mstcn(unit: mstcn, x: torch.Tensor, stride: int) -> torch.Tensor:
    """ST-GCN++'s temporal unit on (n, C, T, V) with plain NCHW convolutions."""
    outs = []
    for i, branch in enumerate(unit.branches):
        if i == 5:
            outs.append(F.conv2d(x, branch.weight, branch.bias, stride=(stride, 1)))
            continue
        y = torch.relu(branch[1](branch[0](x)))
        if i == 4:
            outs.append(F.max_pool2d(y, (3, 1), (stride, 1), (1, 0)))
        else:
            conv = branch[3].conv
            d = conv.dilation[0]
            outs.append(
                F.conv2d(y, conv.weight, conv.bias, stride=(stride, 1), padding=(d, 0), dilation=(d, 1))
            )
    y = unit.transform(torch.cat(outs, 1))
    return unit.bn(y)


@pytest.mark.parametrize("stride", [1, 2])
def test_mstcn_equals_plain_convolutions_and_splits_channels_like_mmaction2(stride):
    torch.manual_seed(1)
    unit = mstcn(12, 16, stride=stride)
    widths = [b.weight.shape[0] if i == 5 else b[0].weight.shape[0] for i, b in enumerate(unit.branches)]
    assert widths == [6, 2, 2, 2, 2, 2]  # the first branch takes the remainder
    randomise(unit)
    x = torch.randn(2, 12, 11, 5)
    for train in (False, True):  # train: batch statistics, and the running statistics it updates
        fast, plain = copy.deepcopy(unit).train(train), copy.deepcopy(unit).train(train)
        with torch.no_grad():
            got = from_block_layout(fast(to_block_layout(x)))
            expected = naive_mstcn(plain, x, stride)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        for (name, a), b in zip(fast.state_dict().items(), plain.state_dict().values()):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6, msg=name)
    assert fast.branches[2][1].num_batches_tracked == 1 and got.shape == (2, 16, (11 - 1) // stride + 1, 5)
    for b in plain.branches[:-1]:  # a BN the fused path cannot take goes group by group
        b[1].momentum = None
    torch.testing.assert_close(plain(to_block_layout(x)), fast(to_block_layout(x)), rtol=1e-5, atol=1e-5)


# --- shapes, layouts, options and errors -----------------------------------------------------


@pytest.mark.parametrize(
    "layout,V,backbone,T",
    [
        ("openpose", 18, STGCN, 7),
        ("nturgb+d", 25, STGCN, 13),
        ("coco", 17, STGCN, 9),
        ("coco", 17, STGCNPP, 7),
        ("openpose", 18, AGCN, 11),
    ],  # fmt: skip
)
def test_every_layout_and_odd_lengths_run(layout, V, backbone, T):
    cfg = copy.deepcopy(backbone)
    cfg["graph_cfg"]["layout"] = layout
    cfg["base_channels"] = 12
    model = build(recognizer(cfg, num_classes=5, in_channels=48))
    x = torch.randn(2, 3, T, V, 2)
    logits = model.train()(x)
    assert logits.shape == (2, 5)
    assert model.extract_feat(x).shape == (2, 2, 48, (((T - 1) // 2) // 2) + 1, V)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(model.eval()(x).float()).all()


def test_backbone_options_stages_ratio_per_stage_values_and_data_bn():
    backbone = {
        **STGCN,
        "in_channels": 2,
        "base_channels": 8,
        "ch_ratio": 1.5,
        "num_stages": 4,
        "inflate_stages": [3],
        "down_stages": [3],
        "data_bn_type": "MVC",
        "gcn_adaptive": ["init", "offset", None, "importance"],
        "tcn_dropout": 0.5,
    }
    model = build(recognizer(backbone, num_classes=4, in_channels=12))
    units = [block.gcn for block in model.backbone.gcn]
    assert [u.adaptive for u in units] == ["init", "offset", None, "importance"]
    assert [b.tcn.drop is None for b in model.backbone.gcn] == [True, False, False, False]  # not the stem
    assert [b.gcn.out_channels for b in model.backbone.gcn] == [8, 8, 12, 12]
    assert model.backbone.data_bn.num_features == 2 * 25 * 2
    assert model(torch.randn(3, 2, 9, 25, 2)).shape == (3, 4)
    with pytest.raises(ConfigError, match="num_person=2"):
        model(torch.randn(3, 2, 9, 25, 1))  # MVC depends on the person count
    # no stem when in_channels == base_channels; no data_bn for 'none'
    model = build(
        recognizer({**STGCN, "in_channels": 8, "base_channels": 8, "data_bn_type": "none"}, in_channels=32)
    )
    assert len(model.backbone.gcn) == 9 and not hasattr(model.backbone, "data_bn")
    assert model(torch.randn(1, 8, 5, 25, 1)).shape == (1, 60)  # VC / none: any person count


@pytest.mark.parametrize(
    "cfg, message",
    [
        (
            recognizer({**STGCN, "gcn_adaptiv": "init"}),
            "model.backbone: unknown key 'gcn_adaptiv'; did you mean 'gcn_adaptive'",
        ),
        (recognizer({**STGCN, "foo": 1}), "model.backbone: unknown key 'foo'"),
        (recognizer({**STGCN, "gcn_adaptive": "learned"}), "gcn_adaptive"),
        (recognizer({**AGCN, "tcn_type": "mstcn"}), "tcn_type: 'mstcn' is not available in AAGCN"),
        (
            recognizer({**STGCN, "type": "STGCNN"}),
            "model.backbone.type: 'STGCNN' is not a registered MMAction2 backbone",
        ),
        (recognizer({**STGCN, "data_bn_type": "CV"}), "model.backbone.data_bn_type"),
        (recognizer({**STGCN, "graph_cfg": {"layout": "coco", "mode": "uniform"}}), "unknown mode 'uniform'"),
        (recognizer(STGCN, in_channels=128), "cls_head.in_channels is 128 but the backbone ends with 256"),
        (recognizer(STGCN, spatial="max"), "model.cls_head: unknown key 'spatial'"),
        ({**recognizer(STGCN), "neck": {"type": "X"}}, "model.neck: not supported"),
        ({**recognizer(STGCN), "type": "RecognizerGNC"}, "model.type: 'RecognizerGNC'"),
        ({**recognizer(STGCN), "type": "Recognizer3D"}, "model.backbone.type: only 'ResNet3dSlowOnly'"),
    ],
)
def test_config_errors_are_one_line_and_name_the_key(cfg, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build(cfg)


def test_config_level_errors_name_model_args():
    with pytest.raises(ConfigError, match="model_args.num_point is 18 but the graph has 25 joints"):
        STGCNModel(num_point=18)
    with pytest.raises(ConfigError, match="model_args: unknown key 'gcn_adaptve'"):
        STGCNPPModel(gcn_adaptve="init")
    model = STGCNPPModel(
        num_class=10, num_point=20, num_person=1, graph_args={"layout": "nw_ucla"}, base_channels=12
    )
    assert (
        model.graph.labeling_mode == "spatial"
        and model.mmaction_cfg["backbone"]["graph_cfg"]["layout"]["center"] == 2
    )
    with pytest.raises(ConfigError, match="in_channels=3"):
        model(torch.randn(1, 2, 8, 20, 1))
