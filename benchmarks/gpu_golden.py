"""Golden outputs on a device: AGCN, SGN, ImpSGNv2, MMAction2's GCNs (ST-GCN, ST-GCN++) and PoseC3D.

* AGCN (NTU and Kinetics: eval, train, sharp), SGN and ImpSGNv2: the weights are regenerated from
  the golden recipe with the test suite's helpers and checked against the fixture checksums;
  absolute tolerance 1e-5 (1e-4 for AGCN's train-mode outputs), as in the suite.
* MMAction2 1.2.0's outputs (``tests/test_mmaction_gcn.py``, ``tests/test_posec3d.py``): the attention
  AAGCN of ``tests/fixtures/mmaction2`` and the tiny PoseC3D of ``tests/fixtures/posec3d`` always;
  with ``../shared/golden/mmaction2`` beside the checkout also the zoo-size ST-GCN (3D and 2D
  skeletons), ST-GCN++, AAGCN and PoseC3D checkpoints. Logits within 1e-4 of MMAction2's relative to
  their largest magnitude (the tiny PoseC3D: 1e-5, its gradients 1e-4; train-mode GCN logits 5e-5
  absolute), the tests' tolerances.

Every model runs on ``--device`` in fp32 (TF32 off on CUDA). The helpers come from ``tests/`` (so
pytest must be importable). Prints a Markdown table ("rel": max |ours - golden| / max |golden|);
exit status 1 if any output is off.

    python benchmarks/gpu_golden.py --device cuda
    python benchmarks/gpu_golden.py --device cpu --markdown golden.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def check(device: torch.device, quick: bool = False) -> list[dict]:
    """One row per compared output: model, output, max |difference|, tolerance, pass.

    ``quick``: eval outputs only (AGCN on NTU only; no sharp, train-mode or gradient outputs; with
    ``../shared``, ST-GCN and ST-GCN++ on 3D skeletons and PoseC3D's small clip only).
    """
    import test_agcn
    import test_sgn

    from model import impsgnv2, sgn

    rows: list[dict] = []
    row = recorder(rows)

    for name in ["ntu"] if quick else sorted(test_agcn.CONFIGS):
        fx = test_agcn.fixture(name)
        model = test_agcn.build(name)
        state = test_agcn.regenerate_state(model, [str(k) for k in fx["keys"]], test_agcn.CONFIGS[name][1])
        # the sums' last bits depend on the thread count: the suite's exact check runs with 2 threads
        np.testing.assert_allclose(test_agcn.checksums(state), fx["checksums"], rtol=1e-12)
        model.load_state_dict(state, strict=True)
        x = torch.from_numpy(fx["input"]).to(device)
        model = model.to(device).eval()
        if quick:
            with torch.no_grad():
                outputs = {"output": model(x)}
        else:
            outputs = test_agcn.outputs_of(model, x)
        for key in outputs:
            row(f"agcn ({name})", key, outputs[key], fx[key], 1e-4 if "train" in key else 1e-5)
    for label, build, fixture in (("sgn", sgn.Model, "sgn_ntu_small.npz"), ("impsgnv2", impsgnv2.Model, "impsgnv2_ntu_small.npz")):  # fmt: skip
        fx = test_sgn.load_fixture(fixture)
        model = build()
        keys = [str(k) for k in fx["keys"]]
        state = test_sgn.regenerate_state(model, keys, int(fx["param_seed"]))
        np.testing.assert_allclose(test_sgn.checksums(state, keys), fx["checksums"], rtol=1e-12)
        model.load_state_dict(state, strict=True)
        model = model.to(device).eval()
        with torch.no_grad():
            out = model(test_sgn.reference_input_to_model(fx["input"]).to(device))
        row(label, "output", out, fx["output"], 1e-5)
    mmaction_gcn(device, quick, row)
    posec3d(device, quick, row)
    return rows


GCN_LABELS = {  # golden file -> row label (the config name of the model)
    "aagcn_attn_small": "mmaction_aagcn (attention, small)",
    "stgcn_3d": "stgcn (3d)",
    "stgcn_2d": "stgcn (2d, coco)",
    "stgcnpp_3d": "stgcnpp (3d)",
    "agcn_3d": "mmaction_aagcn (3d)",
}


def recorder(rows: list[dict]) -> Callable[..., None]:
    """``row(model, output, got, expected, tol, rel=False)`` appends one compared output to ``rows``."""

    def row(model: str, output: str, got: torch.Tensor, expected: np.ndarray, tol: float, rel: bool = False) -> None:  # fmt: skip
        expected = torch.from_numpy(np.asarray(expected))
        diff = float((got.detach().float().cpu() - expected).abs().max())
        if rel:
            diff /= float(expected.abs().max())
        rows.append({"model": model, "output": output, "measure": "rel" if rel else "abs", "max_diff": diff,
                     "tol": tol, "ok": diff <= tol})  # fmt: skip

    return row


def mmaction_gcn(device: torch.device, quick: bool, row: Callable[..., None]) -> None:
    """MMAction2's RecognizerGCN checkpoints (``tests/test_mmaction_gcn.py``): eval and train-mode logits."""
    import test_mmaction_gcn
    from conftest import FIXTURES, SHARED

    from model.loading import load_weights
    from model.mmaction import build

    sources = {"aagcn_attn_small": FIXTURES / "mmaction2"}
    if (SHARED / test_mmaction_gcn.GOLDEN).is_dir():
        for name in ("stgcn_3d", "stgcnpp_3d") if quick else test_mmaction_gcn.GOLDEN_MODELS:
            sources.setdefault(name, SHARED / test_mmaction_gcn.GOLDEN)
    for name, folder in sources.items():
        z = np.load(folder / f"{name}.npz")
        model = build(json.loads(str(z["config"])))
        load_weights(model, folder / f"{name}.pth")  # strict: a key or shape off raises
        x = torch.from_numpy(z["x_nctvm"]).to(device)  # (N, C, T, V, M)
        model = model.to(device).eval()
        label = GCN_LABELS[name]
        with torch.no_grad():
            row(label, "logits", model(x), z["logits"], 1e-4, rel=True)
            if not quick:
                row(label, "logits (train mode)", model.train()(x), z["logits_train"], 5e-5)


def posec3d(device: torch.device, quick: bool, row: Callable[..., None]) -> None:
    """PoseC3D (``tests/test_posec3d.py``): the tiny MMAction2 model; with ``../shared`` the zoo model."""
    import test_posec3d
    from conftest import SHARED

    from model.loading import load_weights
    from model.mmaction import build

    tiny = test_posec3d.TINY
    model = test_posec3d.tiny_model().to(device).eval()
    x = torch.from_numpy(tiny["x"]).to(device)  # (N, C, T, H, W) heatmap volumes
    with torch.no_grad():
        row("posec3d (tiny)", "logits", model(x), tiny["logits_eval"], 1e-5, rel=True)
    if not quick:  # batch statistics and gradients, as the test's training pass
        model.train()
        model.cls_head.dropout.p = 0.0
        logits = model(x)
        logits.sum().backward()
        row("posec3d (tiny)", "logits (train mode)", logits, tiny["logits_train"], 1e-5, rel=True)
        grad = model.backbone.conv1.conv.weight.grad
        row("posec3d (tiny)", "grad conv1", grad, tiny["grad_conv1"], 1e-4, rel=True)
    zoo = SHARED / "golden/mmaction2/posec3d_keypoint"
    if not zoo.with_suffix(".npz").is_file():
        return
    z = np.load(zoo.with_suffix(".npz"))
    model = build(json.loads(str(z["config"])))
    load_weights(model, zoo.with_suffix(".pth"))
    model = model.to(device).eval()
    clips = [("logits (small clip)", "x_small", "logits_small")] + (
        [] if quick else [("logits", "x", "logits")]
    )
    with torch.no_grad():
        for output, x_key, logits_key in clips:  # x: (N, 17, T, H, W)
            logits = model(torch.from_numpy(z[x_key]).to(device))
            row("posec3d (zoo)", output, logits, z[logits_key], 1e-4, rel=True)


def markdown(rows: list[dict], device: torch.device) -> str:
    lines = [
        f"Golden outputs on {device} (fp32{', TF32 off' if device.type == 'cuda' else ''}):",
        "",
        "| model | output | measure | max difference | tolerance | result |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r['model']} | {r['output']} | {r['measure']} | {r['max_diff']:.2e} | {r['tol']:.0e} | "
        f"{'ok' if r['ok'] else '**FAILED**'} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--quick", action="store_true", help="eval outputs only (AGCN: NTU only)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    rows = check(device, args.quick)
    text = markdown(rows, device)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
