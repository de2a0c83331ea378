"""ImpSGNv2 against the acvai/impSGNv2 golden data, plus generality, training equivalence and init.

Weights are regenerated from the golden recipe (helpers in tests/test_sgn.py); the compact fixture
``tests/fixtures/impsgnv2_ntu_small.npz`` holds the key order, checksums, input, output, the four
input streams (samples 0-1) and slices of the backbone's intermediate arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from conftest import shared_or_skip
from test_sgn import (
    FRAMES,
    assert_bf16_close,
    assert_official_checkpoint_loads,
    assert_same_training,
    capture,
    golden_model,
    load_fixture,
    reference_input_to_model,
    regenerate_state,
    to_double,
    train_step_against_reference,
)

from model import impsgnv2
from utils.errors import ConfigError, DataError

STREAMS = ("joint", "velocity", "bone", "velocity_prime")
BLOCKS = ("l1", "l4", "l7", "l9")

IMPSGNV2_SLICES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    **{f"feat/{s}": (lambda a: a[:2]) for s in STREAMS},  # (N, 6, V, T)
    "inter/backbone_input": lambda a: a[0][:, FRAMES],  # (N, C, T, V)
    "inter/l1_attn": lambda a: a[FRAMES],  # rows n·T + t: sample 0
    "inter/l1": lambda a: a[0][:, FRAMES],
    "inter/l4": lambda a: a[0][:, FRAMES],
    "inter/l9": lambda a: a[0][:, FRAMES],
    "inter/local": lambda a: a[0],
}


def impsgnv2_intermediates(model: impsgnv2.Model, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Output and the golden ``feat/*`` (N, 6, V, T) and ``inter/*`` arrays in the reference layouts."""
    hooks = {"features": "features", "backbone_input": "st_infogcn", "l1_attn": "st_infogcn.l1.agcn.attn"}
    hooks.update({b: f"st_infogcn.{b}" for b in BLOCKS})
    hooks["local"] = "cnn"
    seen, handles = capture(model, hooks, pre=("backbone_input",))
    with torch.no_grad():
        out = model(x)
    for h in handles:
        h.remove()
    nctv = lambda t: t.permute(0, 3, 1, 2).numpy()  # noqa: E731  (B, T, V, C) -> (N, C, T, V)
    arrays = {f"feat/{s}": t.permute(0, 3, 2, 1).numpy() for s, t in zip(STREAMS, seen["features"])}
    arrays["inter/backbone_input"] = nctv(seen["backbone_input"])
    arrays["inter/l1_attn"] = seen["l1_attn"].transpose(0, 1).numpy()  # ours is head-major
    arrays.update({f"inter/{b}": nctv(seen[b]) for b in BLOCKS})
    arrays["inter/local"] = seen["local"].numpy()
    return out, arrays


def test_golden_regenerated_weights_output_streams_and_intermediates():
    fx = load_fixture("impsgnv2_ntu_small.npz")
    model = golden_model(impsgnv2.Model, fx)
    out, arrays = impsgnv2_intermediates(model, reference_input_to_model(fx["input"]))
    np.testing.assert_allclose(out.numpy(), fx["output"], rtol=0, atol=1e-5)
    for key, cut in IMPSGNV2_SLICES.items():
        tol = 0 if key.startswith("feat/") else 1e-5  # the streams are bit-exact
        np.testing.assert_allclose(cut(arrays[key]), fx[key], rtol=0, atol=tol, err_msg=key)


@pytest.mark.shared
def test_golden_state_loads_strictly_and_matches_everything():
    z = np.load(shared_or_skip("golden/impsgnv2_ntu.npz"))
    fx = load_fixture("impsgnv2_ntu_small.npz")
    state = {k[len("state/") :]: torch.from_numpy(z[k]) for k in z.files if k.startswith("state/")}
    keys = list(state)
    assert len(keys) == 669 and keys == [str(k) for k in fx["keys"]]
    model = impsgnv2.Model()
    assert list(model.state_dict()) == keys
    regen = regenerate_state(model, keys, int(fx["param_seed"]))
    for k in keys:
        assert torch.equal(regen[k], state[k]), k
    model.load_state_dict(state, strict=True)
    model.eval()
    out, arrays = impsgnv2_intermediates(model, reference_input_to_model(z["input"]))
    np.testing.assert_allclose(out.numpy(), z["output"], rtol=0, atol=1e-5)
    for key, value in arrays.items():
        tol = 0 if key.startswith("feat/") else 1e-5
        np.testing.assert_allclose(value, z[key], rtol=0, atol=tol, err_msg=key)


def test_any_batch_size_gives_the_same_per_sample_outputs():
    model = golden_model(impsgnv2.Model, load_fixture("impsgnv2_ntu_small.npz"))
    x = torch.randn(7, 3, 20, 25, 1, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        full = model(x)
        for n in (1, 4):
            torch.testing.assert_close(model(x[:n]), full[:n], rtol=0, atol=2e-6)


def test_stacked_heads_in_batch_chunks_give_the_same_result(monkeypatch):
    """The SA-GC aggregation in batch chunks (as at large batches) equals the one-chunk result."""
    model = impsgnv2.Model(base_channel=8, seg=10).train()
    x = torch.randn(2, 3, 10, 25, 1)
    outs, grads = [], []
    for chunk_bytes in (impsgnv2.CHUNK_BYTES, 1):  # 1 byte: one sample per chunk
        monkeypatch.setattr(impsgnv2, "CHUNK_BYTES", chunk_bytes)
        model.zero_grad()
        torch.manual_seed(0)
        out = model(x)
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-4 * grads[0].abs().max().item())


def test_train_mode_step_matches_reference_structure():
    """Batch statistics, the fused BatchNorms' running statistics and every gradient equal the
    reference copy's (benchmarks/reference_sgn.py, checked against the golden output below)."""
    from benchmarks.reference_sgn import ImpSGNv2, reference_input

    fx = load_fixture("impsgnv2_ntu_small.npz")
    ours = golden_model(impsgnv2.Model, fx)
    ref = ImpSGNv2(batch_size=4)
    ref.load_state_dict(ours.state_dict(), strict=True)
    with torch.no_grad():
        np.testing.assert_allclose(ref.eval()(torch.from_numpy(fx["input"])).numpy(), fx["output"], atol=1e-5)
    x = reference_input_to_model(fx["input"])
    out32 = train_step_against_reference(ours, ref, x, reference_input(x))
    torch.testing.assert_close(out32[0], out32[1], rtol=1e-4, atol=5e-5)  # float32 noise; float64 below
    ours, ref = golden_model(impsgnv2.Model, fx).double(), to_double(ImpSGNv2(batch_size=4))
    ref.load_state_dict(ours.state_dict(), strict=True)
    out64 = train_step_against_reference(ours, ref, x.double(), reference_input(x).double())
    # the reference rounds its attention to float32 (``softmax(...).float()``): agreement ~1e-7
    torch.testing.assert_close(out64[0], out64[1], rtol=0, atol=1e-6)
    assert_same_training(ours, ref, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        ({"num_class": 10, "seg": 10, "base_channel": 16}, (3, 3, 10, 25, 1)),
        ({"graph_args": {"layout": "nw_ucla"}, "num_point": 20, "base_channel": 16}, (2, 3, 20, 20, 1)),
        (
            {"graph": "graph.coco.Graph", "num_point": 17, "in_channels": 2, "base_channel": 8},
            (2, 2, 20, 17, 1),
        ),
        ({"graph": "graph.coco.Graph", "num_point": 17, "base_channel": 8, "seg": 2}, (1, 3, 2, 17, 1)),
    ],
)
def test_other_layouts_segments_classes_and_2d_train(kwargs, shape):
    model = impsgnv2.Model(**kwargs)
    out = model(torch.randn(*shape))
    assert out.shape == (shape[0], kwargs.get("num_class", 60))
    out.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    C, V = shape[1], shape[3]
    assert model.joint_embed.cnn[0].bn.num_features == 2 * C * V
    assert model.st_infogcn.l1.agcn.shared_topology.shape == (3, V, V)


def test_streams_for_other_layouts_and_2d():
    layout_model = impsgnv2.Model(
        graph_args={"layout": "nw_ucla"}, num_point=20, in_channels=2, base_channel=8
    )
    assert layout_model.center_joint == 2 and layout_model.bone_root == 2  # NW-UCLA centre
    parents = layout_model.features.parents
    p = torch.randn(2, 6, 20, 2)
    joint, vel, bone, vprime = layout_model.features(p)
    assert joint.shape == vel.shape == bone.shape == (2, 6, 20, 4)
    torch.testing.assert_close(joint[..., 2:], p - p[:, :, 2:3])
    torch.testing.assert_close(vel[:, :4, :, :2], p[:, 1:5] - p[:, :4])
    torch.testing.assert_close(vel[:, :4, :, 2:], p[:, 2:6] - p[:, :4])
    assert torch.count_nonzero(vel[:, 4:]) == 0
    torch.testing.assert_close(vprime, vel * impsgnv2.velocity_weights(20).view(20, 1))
    torch.testing.assert_close(bone[..., :2], p - p[:, :, parents])
    assert torch.all(bone[:, :, 2, 2:] == torch.pi / 2)  # the root's zero bone
    w = impsgnv2.velocity_weights(25)
    assert w.tolist()[:5] == [1, 2, 3, 5, 7] and w[-1] == 47
    ntu = impsgnv2.Model(base_channel=8)
    assert ntu.center_joint == 1 and (ntu.features.parents + 1).tolist()[:5] == [2, 2, 21, 3, 21]


def test_two_persons_are_averaged():
    model = impsgnv2.Model(num_person=2, base_channel=16).eval()
    one = impsgnv2.Model(num_person=1, base_channel=16)
    one.load_state_dict(model.state_dict())
    one.eval()
    x = torch.randn(2, 3, 20, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(model(x), (one(x[..., :1]) + one(x[..., 1:])) / 2, rtol=1e-5, atol=1e-5)


def test_parameter_counts_and_init():
    assert sum(p.numel() for p in impsgnv2.Model().parameters()) == 1_778_407
    model = impsgnv2.Model(num_class=120)
    assert sum(p.numel() for p in model.parameters()) == 1_809_187
    assert len(model.state_dict()) == 669
    for block in model.st_infogcn.children():
        agcn = block.agcn
        assert torch.equal(agcn.shared_topology.detach(), torch.eye(25).repeat(3, 1, 1))
        assert torch.all(agcn.bn.weight == 1e-6)
        assert torch.all(agcn.conv_d[0].bias == 0)
    qk = model.st_infogcn.l9.agcn.attn.to_qk.weight
    assert abs(qk.std().item() - 1) < 0.02
    w = model.st_infogcn.l9.agcn.conv_d[0].weight  # re-drawn: N(0, sqrt(2 / C_out))
    assert abs(w.std().item() / np.sqrt(2 / 256) - 1) < 0.05


def test_official_checkpoint_format_loads():
    assert_official_checkpoint_loads(impsgnv2.Model)


def test_bf16_autocast_runs_and_stays_close():
    model = golden_model(impsgnv2.Model, load_fixture("impsgnv2_ntu_small.npz"))
    assert_bf16_close(model, torch.randn(3, 3, 20, 25, 1))


def test_errors_name_the_argument():
    with pytest.raises(DataError, match="model_args.seg"):
        impsgnv2.Model(base_channel=8)(torch.zeros(1, 3, 10, 25, 1))
    with pytest.raises(ConfigError, match="model_args.base_channel"):
        impsgnv2.Model(base_channel=12)
    with pytest.raises(ConfigError, match="model_args.bone_root"):
        impsgnv2.Model(bone_root=25)
    with pytest.raises(ConfigError, match="model_args.num_point"):
        impsgnv2.Model(graph="graph.coco.Graph")
