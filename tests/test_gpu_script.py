"""benchmarks/gpu.sh end to end on the CPU with tiny sizes: every step runs and lands in the report."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT, SHARED


def test_gpu_script_runs_every_step_on_cpu(tmp_path):
    report = tmp_path / "report.md"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    cmd = ["bash", str(ROOT / "benchmarks" / "gpu.sh"), "--device", "cpu", "--tiny", "--out", str(report)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    text = report.read_text() if report.exists() else ""
    assert proc.returncode == 0, proc.stderr + text
    assert "FAILED" not in text
    sections = re.split(r"\n## ", text)
    assert [s.split("\n", 1)[0] for s in sections[1:]] == [
        "1. Golden outputs",
        "2. Training steps against the baselines",
        "3. Feeder",
        "4. One epoch on the synthetic demo data",
    ]
    golden, models, feeder, demo = sections[1:]
    expected = [("agcn (ntu)", "output", "abs", "1e-05"), ("sgn", "output", "abs", "1e-05"),
                ("impsgnv2", "output", "abs", "1e-05"), ("mmaction_aagcn (attention, small)", "logits", "rel", "1e-04"),
                ("posec3d (tiny)", "logits", "rel", "1e-05")]  # fmt: skip
    if (SHARED / "golden/mmaction2").is_dir():  # the zoo-size MMAction2 models
        expected += [("stgcn (3d)", "logits", "rel", "1e-04"), ("stgcnpp (3d)", "logits", "rel", "1e-04"),
                     ("posec3d (zoo)", "logits (small clip)", "rel", "1e-04")]  # fmt: skip
    for model, output, measure, tol in expected:
        row = rf"\| {re.escape(model)} \| {re.escape(output)} \| {measure} \| [0-9.e+-]+ \| {tol} \| ok \|"
        assert re.search(row, golden), golden
    for model in ("agcn", "aagcn", "sgn", "impsgnv2", "stgcn", "stgcnpp", "posec3d"):
        assert re.search(rf"\| {model} \| ours-fp32 \| [0-9.]+ \|", models), models
    assert "stgcn, stgcnpp, posec3d: baseline MMAction2 1.2.0, not run here" in models
    for stream, source in (
        ("joint", "file"),
        ("bone", "on the fly"),
        ("bone_motion", "file"),
        ("joint", "SGN sampler (train)"),
    ):
        assert re.search(rf"\| {stream} \| {re.escape(source)} \| \d+ \|", feeder), feeder
    assert re.search(
        r"\| config/demo/train_joint\.yaml \| 1 \| [0-9.]+ \| Last epoch \(1\) test top1: [0-9.]+% \|", demo
    ), demo
    assert list(tmp_path.iterdir()) == [report]  # the scratch folder is gone
