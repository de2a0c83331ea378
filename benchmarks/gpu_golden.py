"""Golden outputs on a device: AGCN (NTU and Kinetics: eval, train, sharp), SGN and ImpSGNv2.

The weights are regenerated from the golden recipe with the test suite's helpers (``tests/``, so
pytest must be importable) and checked against the fixture checksums; the models then run on
``--device`` in fp32 (TF32 off on CUDA) and their logits are compared with the golden ones under the
suite's tolerances (1e-5; 1e-4 for AGCN's train-mode outputs). Prints a Markdown table; exit
status 1 if any output is off.

    python benchmarks/gpu_golden.py --device cuda
    python benchmarks/gpu_golden.py --device cpu --markdown golden.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def check(device: torch.device, quick: bool = False) -> list[dict]:
    """One row per compared output: model, output, max |difference|, tolerance, pass.

    ``quick``: AGCN on NTU in eval mode only (the sharp and train-mode outputs and Kinetics skipped).
    """
    import test_agcn
    import test_sgn

    from model import impsgnv2, sgn

    rows = []

    def row(model: str, output: str, got: torch.Tensor, expected: np.ndarray, tol: float) -> None:
        diff = float((got.detach().float().cpu() - torch.from_numpy(np.asarray(expected))).abs().max())
        rows.append({"model": model, "output": output, "max_diff": diff, "tol": tol, "ok": diff <= tol})

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
    return rows


def markdown(rows: list[dict], device: torch.device) -> str:
    lines = [
        f"Golden outputs on {device} (fp32{', TF32 off' if device.type == 'cuda' else ''}):",
        "",
        "| model | output | max abs difference | tolerance | result |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r['model']} | {r['output']} | {r['max_diff']:.2e} | {r['tol']:.0e} | {'ok' if r['ok'] else '**FAILED**'} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--quick", action="store_true", help="AGCN: NTU eval output only")
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
