"""benchmarks/gpu.sh end to end on the CPU with tiny sizes: every step runs and lands in the report."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT


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
    for model in ("agcn (ntu)", "sgn", "impsgnv2"):
        assert re.search(rf"\| {re.escape(model)} \| output \| [0-9.e+-]+ \| 1e-05 \| ok \|", golden), golden
    for model in ("agcn", "aagcn", "sgn", "impsgnv2"):
        assert re.search(rf"\| {model} \| ours-fp32 \| [0-9.]+ \|", models), models
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
