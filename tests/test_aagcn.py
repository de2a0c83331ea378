"""AAGCN (2s-AGCN's attention variant): structure, parameter count, fast path against plain math."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graph.ntu_rgb_d import Graph
from model.aagcn import Model, unit_gcn
from model.agcn import from_block_layout, to_block_layout

NTU = dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph")


def naive_unit(unit: unit_gcn, x: torch.Tensor) -> torch.Tensor:
    """The reference's per-subset math on (n, C, T, V) input, written out plainly."""
    n, c, T, V = x.shape
    y = 0
    for k in range(unit.num_subset):
        if unit.adaptive:
            a = unit.conv_a[k](x).permute(0, 3, 1, 2).reshape(n, V, -1)  # (n, V, I·T)
            b = unit.conv_b[k](x).reshape(n, -1, V)  # (n, I·T, V)
            g = unit.PA[k] + unit.alpha * torch.tanh(a @ b / a.shape[-1])
        else:
            g = unit.A[k]
        y = y + unit.conv_d[k]((x.reshape(n, c * T, V) @ g).reshape(n, c, T, V))
    y = unit.bn(y)
    y = torch.relu(y + (x if unit.down is None else unit.down(x)))
    if unit.attention:
        s = torch.sigmoid(unit.conv_sa(y.mean(-2)))  # spatial: mean over T -> (n, 1, V)
        y = y * s.unsqueeze(-2) + y
        s = torch.sigmoid(unit.conv_ta(y.mean(-1)))  # temporal: mean over V -> (n, 1, T)
        y = y * s.unsqueeze(-1) + y
        s = torch.sigmoid(unit.fc2c(F.relu(unit.fc1c(y.mean(-1).mean(-1)))))  # channel
        y = y * s[:, :, None, None] + y
    return y


def test_parameter_count_and_reference_names():
    model = Model(**NTU)
    assert sum(p.numel() for p in model.parameters()) == 3_781_668
    unit = [k[len("l1.gcn1.") :] for k in model.state_dict() if k.startswith("l1.gcn1.")]
    heads = list(dict.fromkeys(k.split(".")[0] for k in unit))
    assert heads == [
        "PA",
        "alpha",
        "conv_d",
        "conv_a",
        "conv_b",
        "conv_ta",
        "conv_sa",
        "fc1c",
        "fc2c",
        "down",
        "bn",
    ]
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["l1.gcn1.alpha"] == (1,)
    assert shapes["l5.gcn1.conv_ta.weight"] == (1, 128, 9)
    assert shapes["l5.gcn1.conv_sa.weight"] == (1, 128, 25)  # kernel V for odd V
    assert shapes["l8.gcn1.fc1c.weight"] == (128, 256) and shapes["l8.gcn1.fc2c.weight"] == (256, 128)
    assert shapes["l5.residual.conv.weight"] == (128, 64, 1, 1) and shapes["fc.weight"] == (60, 256)
    # PA starts at the graph itself, alpha at 0, the temporal and second channel layers at 0
    np.testing.assert_array_equal(model.l3.gcn1.PA.detach().numpy(), Graph().A.astype(np.float32))
    assert model.l3.gcn1.alpha.item() == 0 and not model.l3.gcn1.conv_ta.weight.any()
    assert not model.l3.gcn1.fc2c.weight.any() and torch.all(model.l3.gcn1.bn.weight == 1e-6)


def test_kinetics_even_joint_count_uses_kernel_v_minus_one():
    model = Model(num_class=400, num_point=18, graph="graph.kinetics.Graph", base_channel=8)
    assert model.l1.gcn1.conv_sa.weight.shape == (1, 8, 17)
    assert model(torch.randn(1, 3, 9, 18, 2)).shape == (1, 400)


@pytest.mark.parametrize("adaptive,attention", [(True, True), (False, True), (True, False), (False, False)])
def test_fast_unit_equals_the_plain_reference_math(adaptive, attention):
    torch.manual_seed(0)
    A = Graph().A
    unit = unit_gcn(8, 16, A, adaptive=adaptive, attention=attention)
    with torch.no_grad():  # non-trivial values everywhere (alpha, attention layers start at 0)
        for p in unit.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    unit.eval()
    x = torch.randn(3, 8, 11, 25)
    with torch.no_grad():
        expected = naive_unit(unit, x)
        got = from_block_layout(unit(to_block_layout(x)))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_non_adaptive_and_no_attention_modes_build_and_train():
    x = torch.randn(2, 3, 12, 25, 2)
    keys = {}
    for adaptive, attention in ((False, True), (True, False), (False, False)):
        model = Model(**NTU, base_channel=8, adaptive=adaptive, attention=attention, drop_out=0.1)
        keys[adaptive, attention] = set(model.state_dict())
        out = model(x)
        assert out.shape == (2, 60) and torch.isfinite(out).all()
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())
    assert not any(k.endswith((".PA", ".alpha")) or ".conv_a." in k for k in keys[False, True])
    assert not any(".conv_ta." in k or ".fc1c." in k for k in keys[True, False])
    assert "l1.gcn1.A" not in keys[False, False]


def test_full_model_forward_backward_and_bf16():
    torch.manual_seed(0)
    model = Model(**NTU)
    x = torch.randn(2, 3, 16, 25, 2)
    out = model(x)
    assert out.shape == (2, 60) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert model.l10.gcn1.fc2c.weight.grad.abs().sum() > 0  # the zero-initialised layers do learn
    assert model.l1.gcn1.alpha.grad is not None
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.isfinite(model.eval()(x).float()).all()
