"""SGN against the microsoft/SGN golden data, plus the limits the reference had and ours must not.

The golden weights follow a recipe (../shared/golden/README.md, "Parameter recipe"), so the compact
fixture ``tests/fixtures/sgn_ntu_small.npz`` stores only the reference's key order, per-key checksums
of the golden state, the input, the output and slices of a few intermediate arrays; the weights are
regenerated here. ``python tests/test_sgn.py`` rewrites both SGN and ImpSGNv2 fixtures from
../shared.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch
from conftest import FIXTURES, shared_or_skip

from model import sgn
from utils.errors import ConfigError, DataError

FRAMES = [0, 1, 10, 18, 19]  # frames kept of the (sample 0) intermediate arrays in the fixtures


# ------------------------------------------------------------------------------------------------
# Golden helpers (also used by tests/test_impsgnv2.py)


def recipe_value(key: str, shape: tuple[int, ...]) -> torch.Tensor | None:
    """Next value of ``key`` under the golden parameter recipe (None: leave the entry as it is)."""
    name = key.rsplit(".", 1)[-1]
    if name == "num_batches_tracked":
        return None
    if name == "shared_topology":  # ImpSGNv2 exception
        return 1 + 0.5 * torch.randn(shape)
    if name == "running_mean":
        return 0.1 * torch.randn(shape)
    if name == "running_var":
        return 1 + 0.2 * torch.rand(shape)
    if name == "bias":  # conv, linear, BatchNorm and LayerNorm biases alike
        return 0.1 * torch.randn(shape)
    if name == "weight" and len(shape) == 1:  # BatchNorm / LayerNorm weight
        return 1 + 0.1 * torch.randn(shape)
    if name == "weight":  # conv, linear and to_qk weights
        fan_in = int(np.prod(shape)) // shape[0]
        return torch.randn(shape) * 0.5 / np.sqrt(fan_in)
    raise KeyError(f"no recipe rule for state entry {key!r}")


def regenerate_state(model: torch.nn.Module, keys: list[str], seed: int) -> dict[str, torch.Tensor]:
    """The golden state: ``manual_seed(seed)``, then the recipe on the entries in the reference's order."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    missing = sorted(set(keys) ^ set(state))
    assert not missing, f"state_dict keys differ from the reference's: {missing[:5]}"
    torch.manual_seed(seed)
    for k in keys:
        value = recipe_value(k, tuple(state[k].shape))
        if value is not None:
            state[k] = value.to(state[k].dtype)
        elif k.endswith("num_batches_tracked"):
            state[k] = torch.zeros((), dtype=torch.int64)
    return state


def checksums(state: dict[str, torch.Tensor], keys: list[str]) -> np.ndarray:
    """(len(keys), 2) float64: plain sum and a position-weighted sum (catches permutations)."""
    rows = []
    for k in keys:
        a = state[k].detach().double().flatten().numpy()
        w = np.arange(1, a.size + 1, dtype=np.float64) / a.size
        rows.append((a.sum(), (a * w).sum()))
    return np.array(rows, dtype=np.float64)


def reference_input_to_model(x: np.ndarray) -> torch.Tensor:
    """The references' (N, T, V·3) joint-major input -> (N, 3, T, V, 1)."""
    N, T, VC = x.shape
    return torch.from_numpy(x).view(N, T, VC // 3, 3).permute(0, 3, 1, 2).unsqueeze(-1).contiguous()


def load_fixture(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / name) as z:
        return {k: z[k] for k in z.files}


def golden_model(build: Callable[[], torch.nn.Module], fixture: dict[str, np.ndarray]) -> torch.nn.Module:
    """A model holding the regenerated golden weights (checksums checked, strict load), in eval mode."""
    model = build()
    keys = [str(k) for k in fixture["keys"]]
    state = regenerate_state(model, keys, int(fixture["param_seed"]))
    np.testing.assert_array_equal(checksums(state, keys), fixture["checksums"])
    model.load_state_dict(state, strict=True)
    return model.eval()


def capture(model: torch.nn.Module, names: dict[str, str], pre: tuple[str, ...] = ()) -> tuple[dict, list]:
    """Forward hooks storing the output (or, for ``pre``, the first input) of submodules by label."""
    seen: dict[str, torch.Tensor] = {}
    handles = []
    modules = dict(model.named_modules())
    for label, path in names.items():
        if label in pre:
            handles.append(
                modules[path].register_forward_pre_hook(
                    lambda m, a, label=label: seen.__setitem__(label, a[0])
                )
            )
        else:
            handles.append(
                modules[path].register_forward_hook(lambda m, a, o, label=label: seen.__setitem__(label, o))
            )
    return seen, handles


# ------------------------------------------------------------------------------------------------

SGN_HOOKS = {
    "dif": "dif_embed",
    "pos": "joint_embed",
    "dif_emb": "dif_embed",
    "g": "compute_g1",
    "gcn1": "gcn1",
    "gcn3": "gcn3",
    "local": "cnn",
}


def sgn_intermediates(model: sgn.Model, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """Output and the golden ``inter/*`` arrays in the reference layouts ((N, C, V, T), G (N, T, V, V))."""
    seen, handles = capture(model, SGN_HOOKS, pre=("dif",))
    with torch.no_grad():
        out = model(x)
        spa = model.spa_embed.onehot()  # (V, 64)
    for h in handles:
        h.remove()
    N, _, T, V, _ = x.shape
    cvt = lambda t: t.permute(0, 3, 2, 1).numpy()  # noqa: E731  (B, T, V, C) -> (N, C, V, T)
    dy = seen["pos"] + seen["dif_emb"]
    inter = {
        "dif": cvt(seen["dif"]),
        "gcn_input": np.concatenate(
            [cvt(dy), np.broadcast_to(spa.t()[None, :, :, None].numpy(), (N, spa.shape[1], V, T))], 1
        ),
        "g": seen["g"].view(N, T, V, V).numpy(),
        "gcn1": cvt(seen["gcn1"]),
        "gcn3": cvt(seen["gcn3"]),
        "local": seen["local"].numpy(),
    }
    return out, inter


# How the fixture cuts each golden array (the test cuts its own arrays the same way).
SGN_SLICES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "inter/dif": lambda a: a,
    "inter/g": lambda a: a[0],
    "inter/gcn_input": lambda a: a[0][..., FRAMES],
    "inter/gcn1": lambda a: a[0][..., FRAMES],
    "inter/gcn3": lambda a: a[0][..., FRAMES],
    "inter/local": lambda a: a[0],
}


def test_golden_regenerated_weights_output_and_intermediates():
    fx = load_fixture("sgn_ntu_small.npz")
    model = golden_model(sgn.Model, fx)
    x = reference_input_to_model(fx["input"])
    assert x.shape == (4, 3, 20, 25, 1)
    out, inter = sgn_intermediates(model, x)
    np.testing.assert_allclose(out.numpy(), fx["output"], rtol=0, atol=1e-5)
    for key, cut in SGN_SLICES.items():
        np.testing.assert_allclose(cut(inter[key[len("inter/") :]]), fx[key], rtol=0, atol=1e-5, err_msg=key)


@pytest.mark.shared
def test_golden_state_loads_strictly_and_matches_everything():
    z = np.load(shared_or_skip("golden/sgn_ntu.npz"))
    fx = load_fixture("sgn_ntu_small.npz")
    state = {k[len("state/") :]: torch.from_numpy(z[k]) for k in z.files if k.startswith("state/")}
    keys = list(state)
    assert keys == [str(k) for k in fx["keys"]]
    model = sgn.Model()
    assert list(model.state_dict()) == keys  # same registration order as the reference
    regen = regenerate_state(model, keys, int(fx["param_seed"]))
    for k in keys:
        assert torch.equal(regen[k], state[k]), k
    model.load_state_dict(state, strict=True)
    model.eval()
    out, inter = sgn_intermediates(model, reference_input_to_model(z["input"]))
    np.testing.assert_allclose(out.numpy(), z["output"], rtol=0, atol=1e-5)
    for key, value in inter.items():
        np.testing.assert_allclose(value, z[f"inter/{key}"], rtol=0, atol=1e-5, err_msg=key)
    np.testing.assert_array_equal(fx["input"], z["input"])


def test_any_batch_size_gives_the_same_per_sample_outputs():
    model = golden_model(sgn.Model, load_fixture("sgn_ntu_small.npz"))
    x = torch.randn(7, 3, 20, 25, 1, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        full = model(x)
        for n in (1, 4):
            torch.testing.assert_close(model(x[:n]), full[:n], rtol=0, atol=2e-6)


def train_step_against_reference(
    ours: torch.nn.Module, ref: torch.nn.Module, x: torch.Tensor, xr: torch.Tensor
):
    """One train-mode forward/backward of both models (same Dropout2d mask); returns both outputs."""
    outs = []
    for m, inp in ((ours.train(), x), (ref.train(), xr)):
        torch.manual_seed(3)
        out = m(inp)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out.detach())
    return outs


def to_double(ref: torch.nn.Module) -> torch.nn.Module:
    """The reference copy in float64, its fixed-batch one-hot attributes included."""
    ref.double()
    for name in ("spa", "tem", "joint_weight"):
        if hasattr(ref, name):
            setattr(ref, name, getattr(ref, name).double())
    return ref


def assert_same_training(ours, ref, rtol: float) -> None:
    """Running statistics and every gradient equal (float64 runs: ReLU kinks cannot flip)."""
    rs, os_ = ref.state_dict(), ours.state_dict()
    for k in rs:
        torch.testing.assert_close(os_[k], rs[k], rtol=rtol, atol=1e-12, msg=k)
    rp = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        scale = rp[k].grad.abs().max().item()  # some gradients are exactly zero in theory (bias before BN)
        torch.testing.assert_close(p.grad, rp[k].grad, rtol=rtol, atol=rtol * max(scale, 1e-3), msg=k)


def test_train_mode_step_matches_reference_structure():
    """Batch statistics, running statistics, Dropout2d and every gradient equal the reference copy's
    (benchmarks/reference_sgn.py, checked against the golden output below)."""
    from benchmarks.reference_sgn import SGN, reference_input

    fx = load_fixture("sgn_ntu_small.npz")
    ours = golden_model(sgn.Model, fx)
    ref = SGN(batch_size=4)
    ref.load_state_dict(ours.state_dict(), strict=True)
    with torch.no_grad():
        np.testing.assert_allclose(ref.eval()(torch.from_numpy(fx["input"])).numpy(), fx["output"], atol=1e-5)
    x = reference_input_to_model(fx["input"])
    out32 = train_step_against_reference(ours, ref, x, reference_input(x))  # float32: outputs only
    torch.testing.assert_close(out32[0], out32[1], rtol=1e-4, atol=5e-5)  # float32 noise; float64 below
    assert not torch.allclose(out32[0], ours.eval()(x).detach(), atol=1e-3)  # train mode really differs
    ours, ref = golden_model(sgn.Model, fx).double(), to_double(SGN(batch_size=4))
    ref.load_state_dict(ours.state_dict(), strict=True)
    out64 = train_step_against_reference(ours, ref, x.double(), reference_input(x).double())
    torch.testing.assert_close(out64[0], out64[1], rtol=0, atol=1e-12)
    assert_same_training(ours, ref, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        ({"num_class": 10, "seg": 10}, (3, 3, 10, 25, 1)),
        ({"graph_args": {"layout": "nw_ucla"}, "num_point": 20, "num_class": 10}, (2, 3, 20, 20, 1)),
        ({"graph": "graph.coco.Graph", "num_point": 17, "in_channels": 2}, (2, 2, 20, 17, 1)),
        ({"graph": "graph.coco.Graph", "num_point": 17, "in_channels": 3, "seg": 8}, (1, 3, 8, 17, 1)),
        ({"dim": 64, "num_class": 5}, (2, 3, 20, 25, 1)),
    ],
)
def test_other_layouts_segments_classes_and_2d_train(kwargs, shape):
    model = sgn.Model(**kwargs)
    x = torch.randn(*shape)
    out = model(x)
    assert out.shape == (shape[0], kwargs.get("num_class", 60))
    out.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.spa_embed.cnn[0].cnn.weight.shape == (kwargs.get("dim", 256) // 4, shape[3], 1, 1)
    assert model.tem_embed.cnn[0].cnn.weight.shape[1] == shape[2]


def test_two_persons_are_averaged():
    model = sgn.Model(num_person=2).eval()
    x = torch.randn(3, 3, 20, 25, 2)
    with torch.no_grad():
        both = model(x)
        one = sgn.Model(num_person=1)
        one.load_state_dict(model.state_dict())
        one.eval()
        mean = (one(x[..., :1]) + one(x[..., 1:])) / 2
    torch.testing.assert_close(both, mean, rtol=0, atol=1e-6)


def test_parameter_counts_and_init():
    assert sum(p.numel() for p in sgn.Model().parameters()) == 691_048
    model = sgn.Model(num_class=120)
    assert sum(p.numel() for p in model.parameters()) == 721_828
    for gcn in (model.gcn1, model.gcn2, model.gcn3):
        assert torch.count_nonzero(gcn.w.cnn.weight) == 0
    w = model.cnn.cnn2.weight  # N(0, sqrt(2 / C_out)), C_out = 512
    assert abs(w.std().item() / np.sqrt(2 / 512) - 1) < 0.05


def test_official_checkpoint_format_loads():
    assert_official_checkpoint_loads(sgn.Model)


def assert_official_checkpoint_loads(build: Callable[[], torch.nn.Module]) -> None:
    """A trained model saved as the references do ({epoch, state_dict, best, monitor, optimizer})
    loads through model.loading into a fresh model with identical outputs."""
    from model.loading import load_weights

    model = build()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model(torch.randn(2, 3, 20, 25, 1)).sum().backward()
    adam.step()
    buf = io.BytesIO()
    ckpt = {"epoch": 3, "state_dict": model.state_dict(), "best": torch.tensor([50.0]), "monitor": "val_acc"}
    ckpt["optimizer"] = adam.state_dict()
    torch.save(ckpt, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert set(loaded) == {"epoch", "state_dict", "best", "monitor", "optimizer"}
    assert loaded["epoch"] == 3 and loaded["monitor"] == "val_acc" and float(loaded["best"]) == 50.0
    fresh = build()
    report = load_weights(fresh, loaded)
    assert report.summary().endswith("all keys matched")
    x = torch.randn(3, 3, 20, 25, 1)
    with torch.no_grad():
        torch.testing.assert_close(fresh.eval()(x), model.eval()(x), rtol=0, atol=0)


def test_bf16_autocast_runs_and_stays_close():
    assert_bf16_close(
        golden_model(sgn.Model, load_fixture("sgn_ntu_small.npz")), torch.randn(5, 3, 20, 25, 1)
    )


def assert_bf16_close(model: torch.nn.Module, x: torch.Tensor) -> None:
    """bf16 autocast logits within 5% (of the largest logit) of fp32, and finite gradients."""
    with torch.no_grad():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.dtype == torch.bfloat16
    assert (low.float() - ref).abs().max() < 0.05 * ref.abs().max() + 1e-2
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    out.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    "shape,key",
    [((2, 2, 20, 25, 1), "in_channels"), ((2, 3, 16, 25, 1), "seg"), ((2, 3, 20, 24, 1), "num_point"),
     ((2, 3, 20, 25, 2), "num_person")],
)  # fmt: skip
def test_input_errors_name_the_model_arg(shape, key):
    with pytest.raises(DataError, match=f"model_args.{key}"):
        sgn.Model()(torch.zeros(shape))
    with pytest.raises(DataError, match=r"\(N, C, T, V, M\)"):
        sgn.Model()(torch.zeros(2, 20, 75))


def test_config_errors():
    with pytest.raises(ConfigError, match="model_args.num_point"):
        sgn.Model(num_point=20)
    with pytest.raises(ConfigError, match="model_args.graph"):
        sgn.Model(graph="graph.nope.Graph")
    with pytest.raises(ConfigError, match="model_args.dim"):
        sgn.Model(dim=30)


# ------------------------------------------------------------------------------------------------


def write_fixtures() -> None:
    """Rewrite tests/fixtures/{sgn,impsgnv2}_ntu_small.npz from ../shared/golden."""
    from test_impsgnv2 import IMPSGNV2_SLICES

    for name, slices, seed in (("sgn_ntu", SGN_SLICES, 0), ("impsgnv2_ntu", IMPSGNV2_SLICES, 2)):
        z = np.load(shared_or_skip(f"golden/{name}.npz"))
        keys = [k[len("state/") :] for k in z.files if k.startswith("state/")]
        state = {k: torch.from_numpy(z[f"state/{k}"]) for k in keys}
        data = {
            "keys": np.array(keys),
            "checksums": checksums(state, keys),
            "param_seed": np.array(seed),
            "input": z["input"],
            "output": z["output"],
        }
        data.update({key: np.ascontiguousarray(cut(z[key])) for key, cut in slices.items()})
        np.savez_compressed(FIXTURES / f"{name}_small.npz", **data)
        print(f"wrote {name}_small.npz ({(FIXTURES / f'{name}_small.npz').stat().st_size} bytes)")


if __name__ == "__main__":
    sys.path.insert(0, str(FIXTURES.parent))  # tests/, for test_impsgnv2
    write_fixtures()
