"""bench_models.py's per-layer-type table: the dispatch timer sees every op once, FLOPs by type add up
to the step's, and the floor is the matrix FLOPs at the given peak."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmarks import bench_models as bm


@pytest.mark.parametrize(
    ("op", "kind"),
    [
        ("aten.mm.default", "GEMM"),
        ("aten::addmm", "GEMM"),
        ("aten.baddbmm", "batched matmul"),
        ("aten::convolution_backward", "convolution bwd"),
        ("aten.mkldnn_convolution.default", "convolution fwd"),
        ("aten.native_batch_norm_backward.default", "normalisation"),
        ("aten::native_layer_norm", "normalisation"),
        ("aten.add.Tensor", "other"),
        ("threshold_backward", "other"),
    ],
)
def test_layer_type_names_every_spelling(op, kind):
    assert bm.layer_type(op) == kind


def test_op_timer_counts_each_call_once_under_its_type():
    a, b = torch.randn(64, 32), torch.randn(32, 16)
    timer = bm.OpTimer()
    with timer:
        c = a @ b  # one mm
        d = torch.nn.functional.linear(a, b.t(), torch.zeros(16))  # one addmm (linear decomposes inside)
        (c + d).relu()
    assert set(timer.seconds) == {"GEMM", "other"}
    assert all(s > 0 for s in timer.seconds.values())
    assert timer.calls >= 4  # mm, addmm (+ views it dispatches), add, relu
    torch.testing.assert_close(c, d)


def test_layer_table_adds_up_and_gives_the_floor():
    args = bm.parse_args(["--tiny", "--model", "sgn"])
    case = bm.build_case("sgn", args, torch.device("cpu"))
    peak = 50.0  # GFLOP/s: any positive figure; the floor scales with it
    rows = bm.layer_table(case, torch.device("cpu"), peak=peak, repeats=1)
    assert {r["model"] for r in rows} == {"ours"}  # --tiny has no baseline
    by_type = {r["type"]: r for r in rows}
    assert list(by_type)[-1] == "whole step"
    assert set(by_type) - {"whole step"} <= set(bm.TYPE_ORDER)
    assert {"GEMM", "batched matmul", "normalisation", "other"} <= set(by_type)

    model = copy.deepcopy(case.ours).train()
    v = bm.Variant(
        "ours", model, case.x, case.y, "fp32", torch.device("cpu"), case.loss, case.optimizer(model)
    )
    total = bm.count_flops(v.step) / 1e9
    matrix = sum(by_type[k]["gflop"] for k in bm.MATRIX_TYPES if k in by_type)
    step = by_type["whole step"]
    assert step["gflop"] == pytest.approx(matrix) == pytest.approx(total)  # every counted FLOP is a matrix op
    assert by_type["normalisation"]["gflop"] == by_type["other"]["gflop"] == 0
    assert step["floor_s"] == pytest.approx(matrix / peak)
    assert step["x_max"] is None  # no baseline to bound
    parts = [r for r in rows if r["type"] != "whole step"]
    assert sum(r["seconds"] for r in parts) == pytest.approx(step["ops_seconds"])
    assert all(r["seconds"] > 0 for r in parts)
    gemm = by_type["GEMM"]
    assert gemm["gflops"] == pytest.approx(gemm["gflop"] / gemm["seconds"])
    assert gemm["peak_share"] == pytest.approx(gemm["gflops"] / peak)
    text = bm.markdown([{"model": "sgn", "rows": [], "layers": rows}], "header")
    assert "| ours | whole step (op by op:" in text and "| ours | GEMM |" in text


def test_layer_table_takes_the_interleaved_step_times():
    args = bm.parse_args(["--tiny", "--model", "sgn"])
    case = bm.build_case("sgn", args, torch.device("cpu"))
    rows = bm.layer_table(case, torch.device("cpu"), peak=50.0, repeats=1, steps={"ours": 2.0})
    step = rows[-1]
    assert step["type"] == "whole step" and step["seconds"] == 2.0
    assert step["gflops"] == pytest.approx(step["gflop"] / 2.0)
    gemm = next(r for r in rows if r["type"] == "GEMM")
    assert gemm["share"] == pytest.approx(gemm["seconds"] / 2.0)
