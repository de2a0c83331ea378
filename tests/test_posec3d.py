"""PoseC3D's network (ResNet3dSlowOnly + I3DHead) against MMAction2 1.2.0's outputs.

``tests/fixtures/posec3d/tiny_model.npz`` was made by MMAction2 itself: a narrow Recognizer3D
(base 4 channels, stages (2, 2, 1), the zoo's strides and inflation) with random weights, its eval
logits on a (2, 17, 5, 12, 11) input, and one train-mode pass (batch statistics, backward of the
logits' sum: two weight gradients and a BN's updated running statistics). With ``../shared``, the
zoo-size model is checked on the golden checkpoint and volumes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.loop import forward_logits
from model.mmaction import build
from model.posec3d import PoseC3D
from tests.conftest import golden, shared_or_skip
from utils.errors import ConfigError
from utils.registry import MODELS

TINY = golden("posec3d/tiny_model.npz")


def tiny_model() -> torch.nn.Module:
    model = build(json.loads(str(TINY["config"])))
    state = {k[len("state/") :]: torch.from_numpy(v) for k, v in TINY.items() if k.startswith("state/")}
    model.load_state_dict(state, strict=True)
    return model


def rel_err(a: torch.Tensor | np.ndarray, b: np.ndarray) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else a
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_tiny_model_eval_logits_equal_mmaction2():
    model = tiny_model().eval()
    x = torch.from_numpy(TINY["x"])
    with torch.no_grad():
        assert tuple(model.backbone(x).shape) == tuple(TINY["feat_shape"]) == (2, 64, 3, 2, 2)
        assert rel_err(model(x), TINY["logits_eval"]) < 1e-5


def test_tiny_model_training_pass_equals_mmaction2():
    """Batch statistics, running-statistics update and gradients through the channels-last 2D views."""
    model = tiny_model().train()
    model.cls_head.dropout.p = 0.0
    logits = model(torch.from_numpy(TINY["x"]))
    logits.sum().backward()
    assert rel_err(logits, TINY["logits_train"]) < 1e-5
    assert rel_err(model.backbone.conv1.conv.weight.grad, TINY["grad_conv1"]) < 1e-4
    assert rel_err(model.backbone.layer3[0].conv1.conv.weight.grad, TINY["grad_layer3_conv1"]) < 1e-4
    bn = model.backbone.layer2[1].conv1.bn
    assert rel_err(bn.running_mean, TINY["running_mean_after"]) < 1e-5
    assert rel_err(bn.running_var, TINY["running_var_after"]) < 1e-5
    assert int(bn.num_batches_tracked) == 1


def load_zoo_state(path) -> dict[str, torch.Tensor]:
    """TEMPORARY (until model.loading reads MMEngine checkpoints): the zoo file's state_dict through a
    restricted unpickler that allows tensors and OrderedDict and turns mmengine/numpy objects into stubs."""
    import collections
    import io
    import pickle
    import zipfile

    class Stub:
        def __init__(self, *args, **kwargs):
            pass

        def __setstate__(self, state):
            pass

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return torch._utils._rebuild_tensor_v2
            if module == "torch" and name in ("FloatStorage", "LongStorage"):
                return getattr(torch, name)
            if module.startswith(("mmengine", "numpy", "_codecs")) or name == "getattr":
                return Stub
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed")

        def persistent_load(self, pid):
            _, storage_type, key, _, _ = pid
            raw = torch.frombuffer(bytearray(archive.read(f"{root}/data/{key}")), dtype=torch.uint8)
            return torch.storage.TypedStorage(
                wrap_storage=raw.untyped_storage(), dtype=storage_type.dtype, _internal=True
            )

    archive = zipfile.ZipFile(path)
    root = next(n for n in archive.namelist() if n.endswith("/data.pkl"))[: -len("/data.pkl")]
    checkpoint = Restricted(io.BytesIO(archive.read(f"{root}/data.pkl"))).load()
    return dict(checkpoint["state_dict"])


def test_zoo_checkpoint_and_golden_logits():
    """The NTU60 keypoint model: 2,024,860 parameters, the zoo's 260 keys, logits and features within 1e-4."""
    pth = shared_or_skip("golden/mmaction2/posec3d_keypoint.pth")
    z = np.load(shared_or_skip("golden/mmaction2/posec3d_keypoint.npz"))
    model = build(json.loads(str(z["config"])))
    assert sum(p.numel() for p in model.parameters()) == 2_024_860
    model.load_state_dict(load_zoo_state(pth), strict=True)
    model.eval()
    with torch.no_grad():
        feat = model.backbone(torch.from_numpy(z["x"]))
        assert rel_err(feat, z["feat"]) < 1e-4
        logits = model.cls_head(feat)
        assert rel_err(logits, z["logits"]) < 1e-4
        assert rel_err(model(torch.from_numpy(z["x_small"])), z["logits_small"]) < 1e-4
    # both clips as two views of one sample: MMAction2 averages the views' softmax
    assert rel_err(torch.softmax(logits, dim=1).mean(0), z["prob_avg_2views"]) < 1e-5


def test_config_model_is_the_zoo_network_and_trains_on_small_volumes():
    cls = MODELS.get("posec3d")
    assert cls is PoseC3D
    full = PoseC3D()
    assert sum(p.numel() for p in full.parameters()) == 2_024_860
    assert list(full.state_dict())[:2] == ["backbone.conv1.conv.weight", "backbone.conv1.bn.weight"]
    assert len(full.state_dict()) == 260
    torch.manual_seed(0)
    model = PoseC3D(num_class=3, in_channels=5, base_channels=4, stage_blocks=(1, 1, 1))
    x, y = torch.rand(2, 5, 6, 16, 14), torch.tensor([0, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and model.backbone.conv1.conv.weight.grad.abs().sum() > 0
    model.eval()
    views = torch.rand(2, 4, 5, 6, 16, 14)  # (N, V, C, T, H, W): test-time views
    fused, _ = forward_logits(model, views)
    with torch.no_grad():
        probs = torch.softmax(model(views.flatten(0, 1)).view(2, 4, 3), dim=-1).mean(1)
    torch.testing.assert_close(torch.softmax(fused, dim=1), probs)


def test_mmaction2_dicts_are_checked():
    cfg = json.loads(str(TINY["config"]))
    with pytest.raises(ConfigError, match="unknown key 'depht'"):
        build({**cfg, "backbone": {**cfg["backbone"], "depht": 50}})
    with pytest.raises(ConfigError, match="pretrained: only None"):
        build({**cfg, "backbone": {**cfg["backbone"], "pretrained": "x.pth"}})
    with pytest.raises(ConfigError, match="only 'ResNet3dSlowOnly'"):
        build({**cfg, "backbone": {**cfg["backbone"], "type": "ResNet3d"}})
    with pytest.raises(ConfigError, match="in_channels: 32, but the backbone gives 64"):
        build({**cfg, "cls_head": {**cfg["cls_head"], "in_channels": 32}})
    # keys the zoo's other configs carry are accepted at their defaults
    model = build(
        {**cfg, "train_cfg": None, "test_cfg": None, "cls_head": {**cfg["cls_head"], "spatial_type": "avg"}}
    )
    assert model.average_clips == "prob"
