"""Row fusion: softmax, log_softmax and layernorm-like graphs (row reductions over the
innermost axes, broadcast back, elementwise) become one ``row`` kernel; the cpu backend
(one RowKernel) and the cuda lowering (one kernel per phase) agree with the interpreter,
with static and None dims."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import passes
from jitgraph.codegen import fused_graph
from jitgraph.codegen import kernels as K
from jitgraph.codegen.lower import lower_program
from jitgraph.ir.printer import format_graph
from jitgraph.passes import fusion
from jitgraph.passes.fusion import count_kernels, fuse

S = jg.TensorSpec


def layernorm(x):
    m = jg.reduce_mean(x, axis=-1, keepdims=True)
    d = x - m
    v = jg.reduce_mean(d * d, axis=-1, keepdims=True)
    return d * jg.math.rsqrt(v + 1e-5) * 1.5 + 0.25


def layernorm_3d(x):  # two reduced axes, two outer axes
    m = jg.reduce_mean(x, axis=[2, 3], keepdims=True)
    d = x - m
    return d / (jg.reduce_max(jg.abs(d), axis=[2, 3], keepdims=True) + 1.0)


def softmax_entropy(x):  # the root itself is a row reduction
    p = jg.nn.softmax(x)
    return -jg.reduce_sum(p * jg.nn.log_softmax(x), axis=-1)


def softmax_bias(x, b):  # a second input broadcast along the rows
    return jg.nn.softmax(x + b)


GRAPHS = {
    "softmax": (lambda x: jg.nn.softmax(x), ["row"]),
    "log_softmax": (lambda x: jg.nn.log_softmax(x), ["row"]),
    "layernorm": (layernorm, ["row"]),
    "layernorm_3d": (layernorm_3d, ["row"]),
    "softmax_entropy": (softmax_entropy, ["row", "loop"]),  # the root reduction, then negate
}


def trace(f, *specs):
    return jg.function(f, backend="interpreter").get_concrete_function(*specs).graph


def _data(shape, dtype, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 4).astype(dtype)


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "none_dims"])
def test_cpu_matches_interpreter(name, dtype, dynamic):
    f, _ = GRAPHS[name]
    shape = (3, 2, 5, 7) if name == "layernorm_3d" else (37, 300)
    x = _data(shape, dtype)
    spec = S([None] * len(shape) if dynamic else list(shape), jg.as_dtype(dtype))
    got = jg.function(f, backend="cpu", input_signature=[spec])(x).numpy()
    want = jg.function(f, backend="interpreter", input_signature=[spec])(x).numpy()
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_each_graph_is_one_row_kernel(name):
    f, want = GRAPHS[name]
    rank = 4 if name == "layernorm_3d" else 2
    g = fused_graph(trace(f, S([None] * rank, jg.float32)))
    kinds = [op.attrs["kind"] for op in g.walk() if op.type == "fusion"]
    assert kinds == want


def test_softmax_row_kernel_golden():
    g = fuse(passes.optimize(trace(lambda x: jg.nn.softmax(x), S([None, 8], jg.float32))))
    text = format_graph(g, with_loc=False)
    assert text.count("= fusion") == 1 and "{kind='row'}" in text
    assert [line.split("= ")[1].split(" ")[0] for line in text.splitlines()
            if line.startswith("      %")] == [
        "reduce_max", "subtract", "exp", "reduce_sum", "subtract", "exp", "divide"]


def test_softmax_lowers_to_one_row_kernel_and_stores_exp_once():
    g = fused_graph(trace(lambda x: jg.nn.softmax(x), S([64, 128], jg.float32)))
    shapes = {v: v.shape for op in g.walk() for v in op.outputs}
    p = lower_program(g, K.Quantities(K.Env(shapes)), row_kernels=True)
    (k,) = p.kernels
    assert isinstance(k, K.RowKernel)
    assert [ph.combiner for ph in k.phases] == ["max", "add"]
    from jitgraph.codegen.rows import _reuse

    assert _reuse(k) is not None and _reuse(k)[0] == 1  # exp stored by the sum phase


def test_cuda_lowering_keeps_one_kernel_per_phase():
    g = fused_graph(trace(lambda x: jg.nn.softmax(x), S([None, None], jg.float32)))
    shapes = {v: v.shape for op in g.walk() for v in op.outputs}
    p = lower_program(g, K.Quantities(K.Env(shapes)))
    assert [type(k).__name__ for k in p.kernels] == ["Kernel"] * 3
    assert [k.combiner for k in p.kernels] == ["max", "add", None]


def test_broadcast_second_input_and_size_one_rows():
    x, b = _data((9, 33), np.float32), _data((33,), np.float32, 1)
    spec = [S([None, None], jg.float32), S([None], jg.float32)]
    for xs, bs in [(x, b), (x[:, :1].copy(), b), (x, b[:1].copy())]:
        got = jg.function(softmax_bias, backend="cpu", input_signature=spec)(xs, bs).numpy()
        want = jg.function(softmax_bias, backend="interpreter",
                           input_signature=spec)(xs, bs).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


def test_large_rows_run_in_parallel_and_match_numpy():
    x = _data((512, 1024), np.float32)
    got = jg.function(lambda t: jg.nn.softmax(t), backend="cpu")(x).numpy()
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got, e / e.sum(axis=1, keepdims=True), rtol=2e-6, atol=1e-7)


def test_not_merged_when_reduction_is_used_elsewhere_or_not_innermost():
    def two_outputs(x):
        m = jg.reduce_max(x, axis=-1, keepdims=True)
        return jg.exp(x - m), m

    g = fused_graph(trace(two_outputs, S([4, 5], jg.float32)))
    assert "row" not in [op.attrs["kind"] for op in g.walk() if op.type == "fusion"]
    g = fused_graph(trace(lambda x: jg.nn.softmax(x, axis=0), S([4, 5], jg.float32)))
    assert count_kernels(g) == 3
    x = _data((4, 5), np.float32)
    got = jg.function(two_outputs, backend="cpu")(x)
    want = jg.function(two_outputs, backend="interpreter")(x)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_row_fusion_switch_off_gives_three_kernels(monkeypatch):
    monkeypatch.setattr(fusion, "ROW_FUSION", False)
    g = fused_graph(trace(lambda x: jg.nn.softmax(x), S([4, 5], jg.float32)))
    assert [op.attrs["kind"] for op in g.walk() if op.type == "fusion"] == \
        ["reduce", "reduce", "loop"]
