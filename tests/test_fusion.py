"""The fusion pass: golden IR before -> after, the one-kernel checks (reduce_sum(x + y*z),
Huber loss), softmax in one row kernel (more in test_row_fusion.py), and fused graphs ==
unfused graphs under the interpreter (the fusion op runs its sub-graph), also on
hypothesis-generated graphs."""

import textwrap

import graph_gen
import numpy as np
from hypothesis import given

import jitgraph as jg
from jitgraph import passes
from jitgraph.interpreter import interpret
from jitgraph.ir import verify
from jitgraph.ir.printer import format_graph
from jitgraph.passes.fusion import count_kernels, fuse

S = jg.TensorSpec


def trace(f, *specs):
    return jg.function(f, backend="interpreter").get_concrete_function(*specs).graph


def fused(f, *specs):
    g = fuse(passes.optimize(trace(f, *specs)))
    verify(g)
    return g


def assert_ir(graph, expected):
    actual = format_graph(graph, with_loc=False).strip()
    assert actual == textwrap.dedent(expected).strip(), f"actual text:\n{actual}"


def test_reduce_sum_of_elementwise_is_one_kernel_golden():
    def f(x, y, z):
        return jg.reduce_sum(x + y * z)

    g = fused(f, S([None], jg.float32), S([None], jg.float32), S([None], jg.float32))
    assert_ir(g, """
        graph f(%x: f32[?], %y: f32[?], %z: f32[?]) -> (f32[])
          %fusion: f32[] = fusion %x, %y, %z {kind='reduce'}
            kernel(%in0: f32[?], %in1: f32[?], %in2: f32[?]):
              %multiply: f32[?] = multiply %in1, %in2
              %add: f32[?] = add %in0, %multiply
              %reduce_sum: f32[] = reduce_sum %add {axis=(0,), keepdims=False}
              return %reduce_sum
          return %fusion
        """)


def huber(y, p):
    d = y - p
    small = jg.abs(d) < 1.0
    return jg.reduce_mean(jg.where(small, 0.5 * d * d, jg.abs(d) - 0.5))


def test_huber_loss_is_one_kernel():
    g = fused(huber, S([None], jg.float32), S([None], jg.float32))
    assert count_kernels(g) == 1
    assert [op.type for op in g.ops] == ["placeholder", "placeholder", "fusion"]
    assert g.ops[-1].attrs["kind"] == "reduce"


def test_softmax_is_one_row_kernel_and_exp_is_not_written():
    g = fused(lambda x: jg.nn.softmax(x), S([None, 8], jg.float32))
    kinds = [op.attrs["kind"] for op in g.ops if op.type == "fusion"]
    assert kinds == ["row"]
    assert [op.type for op in g.ops if op.type not in ("placeholder",)] == ["fusion"]


def test_value_used_outside_the_kernel_is_materialized():
    def f(x):
        a = jg.exp(x)
        return a + 1.0, jg.matmul(jg.reshape(a, [1, -1]), jg.ones([3, 1]))

    g = fused(f, S([3], jg.float32))
    ops = [op.type for op in g.ops if op.type != "placeholder"]
    assert ops.count("fusion") == 2 and "matmul" in ops


def test_transcendentals_are_recomputed_in_at_most_two_kernels():
    """A cheap op read by several kernels is recomputed in each; an op calling exp/tanh/...
    in at most MAX_COSTLY_COPIES of them, else it is written once and read back."""
    from jitgraph.passes.fusion import MAX_COSTLY_COPIES

    def users(op_fn, n):
        def f(x):
            y = op_fn(x)
            outs = [jg.reduce_sum(y * 2.0, axis=0), jg.reduce_max(y + 1.0, axis=0),
                    jg.reduce_min(y - 1.0, axis=0), jg.reduce_sum(y * y, axis=0)]
            return outs[:n]
        return f

    def tanh_kernel_count(g):
        return sum(op.type == "tanh" for f in g.ops if f.type == "fusion"
                   for op in f.subgraphs[0].ops)

    spec = S([16, 4], jg.float32)
    assert MAX_COSTLY_COPIES == 2
    assert tanh_kernel_count(fused(users(jg.tanh, 2), spec)) == 2  # recomputed in both
    g = fused(users(jg.tanh, 4), spec)
    assert count_kernels(g) == 5 and tanh_kernel_count(g) == 1  # written once, read 4x
    g = fused(users(lambda x: x * 3.0, 4), spec)
    assert count_kernels(g) == 4  # cheap: recomputed in each reduction
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    for got, want in zip(interpret(g, [x]), [np.sum(x * 6.0, 0), np.max(x * 3.0 + 1.0, 0),
                                           np.min(x * 3.0 - 1.0, 0), np.sum((x * 3) ** 2, 0)]):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_fusion_inside_control_flow():
    def f(x):
        return jg.while_loop(lambda v: jg.reduce_sum(v) < 50.0, lambda v: v * 2.0 + 1.0, [x])

    g = fused(f, S([3], jg.float32))
    loop = next(op for op in g.ops if op.type == "while_loop")
    assert count_kernels(loop.subgraphs[1]) == 1  # v * 2 + 1: one loop
    assert count_kernels(loop.subgraphs[0]) == 2  # the sum, then the comparison
    x = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_allclose(interpret(g, [x])[0], interpret(trace(f, S([3], jg.float32)),
                                                               [x])[0])


def test_fused_graph_runs_in_the_interpreter():
    x = np.linspace(-3, 3, 11).astype(np.float32)
    y = np.zeros(11, np.float32)
    g = trace(huber, S([None], jg.float32), S([None], jg.float32))
    np.testing.assert_allclose(interpret(fuse(g), [x, y])[0], interpret(g, [x, y])[0],
                               rtol=1e-6)


@given(graph_gen.graphs())
def test_fusion_preserves_random_graphs(case):
    g = fuse(passes.optimize(case.graph))
    verify(g)
    graph_gen.assert_same(interpret(g, case.args), case.expected)


def test_scalar_constant_used_by_a_kernel_and_a_nested_graph_keeps_unique_names():
    # the constant is copied into the kernel and also stays outside for the loop body
    def f(n, x):
        one = jg.constant(1)
        m = n - one
        return jg.while_loop(lambda i, v: i < m, lambda i, v: (i + one, v * 2.0), [0, x])

    g = fused(f, S([], jg.int32), S([3], jg.float32))  # verify() rejects duplicate names
    names = [op.name for op in g.walk()]
    assert len(names) == len(set(names))
    args = [np.array(4, np.int32), np.ones(3, np.float32)]
    np.testing.assert_array_equal(interpret(g, args)[1], 8.0)
