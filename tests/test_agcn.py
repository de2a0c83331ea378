"""2s-AGCN: weight compatibility with the official model, golden outputs, fast-path equivalence.

The golden parameters (``../shared/golden/agcn_{ntu,kinetics}.npz``, 13 MB each) were made by a
recipe (golden README), so the compact fixtures ``tests/fixtures/agcn_{ntu,kinetics}_small.npz``
store only the reference key order, two checksums per key, the input and the outputs; the tests
regenerate the weights bit-exactly. Rebuild the fixtures (needs ../shared) with
``python tests/test_agcn.py --write-fixtures``.
"""

from __future__ import annotations

import copy
import math
import sys

import numpy as np
import pytest
import torch
from conftest import FIXTURES, ROOT, shared_or_skip
from torch import nn

from model.agcn import Model
from utils.errors import ConfigError

CONFIGS = {
    # name: (model kwargs, parameter seed P, input seed X)
    "ntu": (dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph"), 0, 1),
    "kinetics": (dict(num_class=400, num_point=18, num_person=2, graph="graph.kinetics.Graph"), 2, 3),
}
GRAPH_ARGS = {"labeling_mode": "spatial"}
SHARP_SCALE = 16.0
OUTPUTS = ("output", "train_output", "sharp_output", "sharp_train_output")


def build(name: str, **overrides) -> Model:
    kwargs, _, _ = CONFIGS[name]
    return Model(**{**kwargs, "graph_args": GRAPH_ARGS, **overrides})


def regenerate_state(model: nn.Module, keys, seed: int) -> dict[str, torch.Tensor]:
    """The golden README's parameter recipe, visiting ``keys`` (the reference state_dict order)."""
    torch.manual_seed(seed)
    current = model.state_dict()
    state = {}
    for key in keys:
        value = current[key]
        if not value.is_floating_point():  # num_batches_tracked: left at 0
            state[key] = torch.zeros_like(value)
            continue
        module_name, _, leaf = key.rpartition(".")
        module = model.get_submodule(module_name)
        if leaf == "PA":
            new = 0.1 * torch.randn_like(value)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            if leaf == "weight":
                new = 1 + 0.1 * torch.randn_like(value)
            elif leaf in ("bias", "running_mean"):
                new = 0.1 * torch.randn_like(value)
            else:  # running_var
                new = 1 + 0.2 * torch.rand_like(value)
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            if leaf == "weight":
                fan_in = value.numel() / value.shape[0]
                new = torch.randn_like(value) * (0.5 / math.sqrt(fan_in))
            else:
                new = 0.1 * torch.randn_like(value)
        else:
            raise KeyError(f"no recipe for {key} ({type(module).__name__})")
        state[key] = new
    return state


def checksums(state: dict[str, torch.Tensor]) -> np.ndarray:
    """(K, 2) float64: plain sum and position-weighted sum of every entry (catches permutations)."""
    rows = []
    for value in state.values():
        v = value.detach().double().flatten()
        weights = 1 + torch.arange(v.numel(), dtype=torch.float64) % 97 / 97
        rows.append((v.sum().item(), (v * weights).sum().item()))
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def sharpen(model: nn.Module, scale: float) -> nn.Module:
    """The golden README's sharp-attention variant: scale every gcn1 conv_a / conv_b weight."""
    sharp = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in sharp.named_parameters():
            if (".gcn1.conv_a." in name or ".gcn1.conv_b." in name) and name.endswith(".weight"):
                p.mul_(scale)
    return sharp


def outputs_of(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eval and train-mode logits of the model and of its sharp variant; ``model`` is not modified."""
    model = model.eval()
    sharp = sharpen(model, SHARP_SCALE)
    with torch.no_grad():
        return {
            "output": model(x),
            "train_output": copy.deepcopy(model).train()(x),
            "sharp_output": sharp(x),
            "sharp_train_output": sharp.train()(x),
        }


def fixture(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"agcn_{name}_small.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def golden_model(request):
    """(name, fixture arrays, model with the regenerated golden weights, regenerated state)."""
    name = request.param
    fx = fixture(name)
    model = build(name)
    state = regenerate_state(model, [str(k) for k in fx["keys"]], CONFIGS[name][1])
    model.load_state_dict(state, strict=True)
    return name, fx, model.eval(), state


def check_outputs(got: dict[str, torch.Tensor], expected) -> None:
    for key in OUTPUTS:
        atol = 1e-4 if "train" in key else 1e-5  # golden README: train-mode noise is larger
        torch.testing.assert_close(got[key], torch.as_tensor(expected[key]), rtol=0, atol=atol, msg=key)


# -- weight compatibility -------------------------------------------------------------------------


def test_state_dict_keys_and_order_equal_the_reference(golden_model):
    name, fx, model, _ = golden_model
    assert list(model.state_dict()) == [str(k) for k in fx["keys"]]
    assert len(fx["keys"]) == 352


def test_regenerated_weights_match_the_golden_checksums(golden_model):
    _, fx, _, state = golden_model
    np.testing.assert_array_equal(checksums(state), fx["checksums"])


def test_golden_outputs_eval_train_and_sharp(golden_model):
    _, fx, model, _ = golden_model
    before = copy.deepcopy(model.state_dict())
    check_outputs(outputs_of(model, torch.from_numpy(fx["input"])), fx)
    for key, value in model.state_dict().items():  # train-mode runs used copies
        assert torch.equal(value, before[key]), key


def test_reference_copy_in_benchmarks_matches_the_golden_outputs(golden_model):
    from benchmarks.reference_agcn import RefModel

    name, fx, _, state = golden_model
    kwargs = CONFIGS[name][0]
    ref = RefModel(kwargs["num_class"], kwargs["num_point"], 2, kwargs["graph"], GRAPH_ARGS)
    ref.load_state_dict(state, strict=True)
    got = outputs_of(ref, torch.from_numpy(fx["input"]))
    check_outputs(got, fx)


@pytest.mark.shared
def test_real_golden_files_load_strictly_and_equal_the_regenerated_weights(golden_model):
    name, fx, _, state = golden_model
    with np.load(shared_or_skip(f"golden/agcn_{name}.npz")) as z:
        golden = {k[len("state/") :]: torch.from_numpy(z[k]) for k in z.files if k.startswith("state/")}
        expected = {k: z[k] for k in OUTPUTS + ("input",)}
    assert list(golden) == list(state)
    for key, value in golden.items():
        assert value.dtype == state[key].dtype and torch.equal(value, state[key]), key
    model = build(name)
    model.load_state_dict(golden, strict=True)
    np.testing.assert_array_equal(expected["input"], fx["input"])
    check_outputs(outputs_of(model, torch.from_numpy(expected["input"])), expected)


def test_gradients_and_running_stats_equal_the_reference_math(golden_model):
    """The fused fast path has the reference's backward too (short clip, train mode)."""
    from benchmarks.reference_agcn import RefModel

    name, fx, model, state = golden_model
    kwargs = CONFIGS[name][0]
    ref = RefModel(kwargs["num_class"], kwargs["num_point"], 2, kwargs["graph"], GRAPH_ARGS)
    ref.load_state_dict(state, strict=True)
    ours = sharpen(model, 4.0).train()  # sharper softmax: its gradient matters
    ref = sharpen(ref, 4.0).train()
    x = torch.from_numpy(fx["input"][:, :, :12].copy())
    weights = torch.randn(2, kwargs["num_class"], generator=torch.Generator().manual_seed(0))
    for m in (ours, ref):
        (m(x) * weights).sum().backward()
    ref_grads = {key: p.grad for key, p in ref.named_parameters()}
    for key, p in ours.named_parameters():
        # Biases in front of a train-mode BN (and conv_a's, under the softmax over v) have a true
        # gradient of 0, so their computed values are rounding noise: scale by the layer's weight.
        sibling = ref_grads.get(key.rsplit(".", 1)[0] + ".weight", ref_grads[key])
        scale = max(ref_grads[key].abs().max().item(), sibling.abs().max().item())
        torch.testing.assert_close(p.grad, ref_grads[key], rtol=0, atol=1e-4 * scale, msg=key)
    ref_buffers = dict(ref.named_buffers())
    for key, b in ours.named_buffers():
        if key in ref_buffers:
            torch.testing.assert_close(b, ref_buffers[key], rtol=1e-5, atol=1e-6, msg=key)


def test_bf16_autocast_stays_close_to_float32(golden_model):
    _, fx, model, _ = golden_model
    x = torch.from_numpy(fx["input"])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        got = model(x).float()
    expected = torch.from_numpy(fx["output"])
    assert got.shape == expected.shape
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() < 0.02 * scale  # measured: 0.6 % (NTU), 0.4 % (Kinetics)
    # the ranking of the classes is essentially kept
    assert torch.corrcoef(torch.stack([got.flatten(), expected.flatten()]))[0, 1] > 0.999


def test_float64_follows_the_parameters(golden_model):
    _, fx, model, _ = golden_model
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        out = m64(torch.from_numpy(fx["input"]).double())
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.from_numpy(fx["output"]).double(), rtol=0, atol=1e-5)


# -- structure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (dict(num_class=60, num_point=25, graph="graph.ntu_rgb_d.Graph"), 3_469_510),
        (dict(num_class=400, num_point=18, graph="graph.kinetics.Graph"), 3_547_776),
        (dict(num_class=120, num_point=25, graph="graph.ntu_rgb_d.Graph"), 3_484_930),
    ],
)
def test_parameter_counts_equal_the_reference(kwargs, expected):
    model = Model(**kwargs, graph_args=GRAPH_ARGS)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert len(model.state_dict()) == 352
    assert "l1.gcn1.A" not in model.state_dict()  # the fixed graph is not a state entry


def test_reference_initialisation():
    torch.manual_seed(0)
    model = Model(graph="graph.ntu_rgb_d.Graph")
    gcn = model.l5.gcn1
    assert torch.all(gcn.PA == 1e-6)
    assert torch.all(gcn.bn.weight == 1e-6) and torch.all(gcn.down[1].weight == 1)
    assert torch.all(gcn.conv_d[0].bias == 0)
    # conv_branch_init: std sqrt(2 / (C_out * C_in * 1 * 3)) = sqrt(2 / (128 * 64 * 3))
    std = gcn.conv_d[0].weight.std().item()
    assert abs(std / math.sqrt(2 / (128 * 64 * 3)) - 1) < 0.05
    # conv_init: Kaiming fan_out, std sqrt(2 / (C_out * 9)) for the temporal conv
    std = model.l5.tcn1.conv.weight.std().item()
    assert abs(std / math.sqrt(2 / (128 * 9)) - 1) < 0.05
    assert abs(model.fc.weight.std().item() / math.sqrt(2 / 60) - 1) < 0.05
    np.testing.assert_array_equal(gcn.A.numpy(), model.graph.A.astype(np.float32))


def test_in_channels_base_channel_any_length_and_one_person():
    model = Model(
        num_class=5, num_point=25, num_person=1, graph="graph.ntu_rgb_d.Graph", in_channels=6, base_channel=8
    )
    assert model.l1.gcn1.conv_a[0].weight.shape == (2, 6, 1, 1)
    assert model.data_bn.num_features == 1 * 6 * 25
    assert model.fc.weight.shape == (5, 32)
    x = torch.randn(3, 6, 7, 25, 1)  # odd T: strides give 4 and 2 frames
    out = model(x)
    assert out.shape == (3, 5) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("c_in", [8, 12, 64])
def test_strided_residual_equals_the_reference_conv_and_small_widths_train_cleanly(c_in):
    """The stride-2 1x1 residual subsamples first; equal to nn.Conv2d on (n, C, T, V), values and grads.

    With 8 or 12 input channels, oneDNN's channels-last backward of a strided 1x1 conv corrupts
    the heap (torch 2.13 CPU); a base_channel-8 model trains here in a child process, so a
    regression crashes the child, not the suite.
    """
    from model.agcn import TemporalConv, to_block_layout

    torch.manual_seed(0)
    unit = TemporalConv(c_in, 2 * c_in, kernel_size=1, stride=2).train()
    x = torch.randn(4, c_in, 31, 25, requires_grad=True)  # (n, C, T, V), odd T
    ref = unit.bn(unit.conv(x))
    ours = unit(to_block_layout(x)).transpose(2, 3)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), x)
    (g_ours,) = torch.autograd.grad(ours.square().sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-4, atol=1e-4)
    if c_in != 8:
        return
    code = (
        "import torch; from model.agcn import Model; torch.manual_seed(0)\n"
        "m = Model(graph='graph.ntu_rgb_d.Graph', base_channel=8)\n"
        "for _ in range(3):\n"
        "    m(torch.randn(4, 3, 300, 25, 2)).sum().backward()\n"
        "print('ok')\n"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_drop_out_adds_no_state_and_custom_graph_layouts_work():
    plain = Model(base_channel=8)
    with_dropout = Model(base_channel=8, drop_out=0.5)
    assert list(plain.state_dict()) == list(with_dropout.state_dict())
    assert not hasattr(plain, "drop_out") and isinstance(with_dropout.drop_out, nn.Dropout)
    layout = {"num_node": 4, "edges": [[1, 0], [2, 1], [3, 1]], "center": 0}
    for graph in (None, "graph.Graph"):
        model = Model(
            num_class=3, num_point=4, num_person=1, graph=graph, graph_args={"layout": layout}, base_channel=4
        )
        assert model.l1.gcn1.PA.shape == (3, 4, 4)
        assert model(torch.randn(2, 3, 10, 4, 1)).shape == (2, 3)


@pytest.mark.parametrize(
    "shape,message",
    [
        (
            (2, 3, 16, 18, 2),
            "model input has V=18 joints but the model was built with num_point=25 (model_args.num_point)",
        ),
        (
            (2, 2, 16, 25, 2),
            "model input has C=2 channels but the model was built with in_channels=3 (model_args.in_channels)",
        ),
        (
            (2, 3, 16, 25, 1),
            "model input has M=1 persons but the model was built with num_person=2 (model_args.num_person)",
        ),
        ((2, 3, 16, 25), "model input must be (N, C, T, V, M), got shape (2, 3, 16, 25)"),
    ],
)
def test_input_shape_errors_name_the_config_key(shape, message):
    model = Model(graph="graph.ntu_rgb_d.Graph", base_channel=4)
    with pytest.raises(ConfigError) as err:
        model(torch.zeros(shape))
    assert str(err.value) == message


def test_constructor_errors_are_one_line_config_errors():
    with pytest.raises(
        ConfigError, match=r"model_args.num_point is 18 but the graph 'graph.ntu_rgb_d.Graph' has 25 joints"
    ):
        Model(num_point=18, graph="graph.ntu_rgb_d.Graph")
    with pytest.raises(ConfigError, match=r"model_args.graph: 'graph.nope.Graph' is not a registered graph"):
        Model(graph="graph.nope.Graph")
    with pytest.raises(ConfigError, match=r"model_args.graph_args: .*unexpected keyword argument 'mode'"):
        Model(graph="graph.ntu_rgb_d.Graph", graph_args={"mode": "spatial"})
    with pytest.raises(ConfigError, match=r"model_args.base_channel: expected an integer >= 4, got 2"):
        Model(base_channel=2)


def write_fixtures() -> None:
    """Write tests/fixtures/agcn_{ntu,kinetics}_small.npz from ../shared/golden (run by hand)."""
    from conftest import SHARED

    torch.set_num_threads(2)
    for name, (_, seed, input_seed) in CONFIGS.items():
        with np.load(SHARED / "golden" / f"agcn_{name}.npz") as z:
            golden = {k: z[k] for k in z.files}
        keys = [k[len("state/") :] for k in golden if k.startswith("state/")]
        state = regenerate_state(build(name), keys, seed)
        for key in keys:  # only write fixtures that regenerate the golden weights exactly
            np.testing.assert_array_equal(state[key].numpy(), golden[f"state/{key}"], err_msg=key)
        torch.manual_seed(input_seed)
        x = torch.randn(golden["input"].shape)
        x[1, :, :, :, 1] = 0
        x[0, :, 50:] = 0
        np.testing.assert_array_equal(x.numpy(), golden["input"])
        assert float(golden["sharp_scale"]) == SHARP_SCALE
        np.savez_compressed(
            FIXTURES / f"agcn_{name}_small.npz",
            keys=np.array(keys),
            checksums=checksums(state),
            param_seed=np.int64(seed),
            input_seed=np.int64(input_seed),
            sharp_scale=golden["sharp_scale"],
            **{k: golden[k] for k in ("input",) + OUTPUTS},
        )
        print(f"wrote agcn_{name}_small.npz ({len(keys)} keys)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-fixtures"]:
        sys.exit("usage: python tests/test_agcn.py --write-fixtures")
    write_fixtures()
