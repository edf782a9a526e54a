"""Indexed accumulation (passes/indexed_accumulate.py, op ``gather_grad_add``): the gradient of
a loop that reads ``x[i]`` adds one slice per iteration into its accumulator, in place when the
accumulator dies at the add. Gradients against float64 finite differences and the interpreter,
the pass's golden IR, in-place safety, duplicate indices."""

import textwrap

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import tracing
from jitgraph.ir import Graph, format_graph, verify
from jitgraph.ops.core import apply
from jitgraph.passes.indexed_accumulate import indexed_accumulate

T, B, F = 5, 2, 3
BACKENDS = ("interpreter", "cpu")


# ----------------------------------------------------------------------------- loops reading x[i]


def autograph_for(x):
    h = jg.zeros((B, F), jg.float64)
    for i in jg.range(T):
        h = jg.tanh(h * 0.5 + x[:, i] * x[:, (i + 2) % T])
    return jg.reduce_sum(h * h)


def while_loop(x):
    def body(i, h):
        return i + 1, jg.tanh(h * 0.5 + x[:, i] + jg.sin(x[:, T - 1 - i]))

    _, h = jg.while_loop(lambda i, h: i < T, body, (0, jg.zeros((B, F), jg.float64)))
    return jg.reduce_sum(h * h)


def scan(x):
    hs = jg.scan(lambda h, xt: jg.tanh(h * 0.5 + xt), jg.transpose(x, (1, 0, 2)),
                 initializer=jg.zeros((B, F), jg.float64))
    return jg.reduce_sum(hs * hs)


def map_fn(x):
    return jg.reduce_sum(jg.map_fn(lambda xt: jg.sin(xt) * xt, jg.transpose(x, (1, 0, 2))))


def tensor_array(x):
    ta = jg.TensorArray(jg.float64, size=T).unstack(jg.transpose(x, (1, 0, 2)))

    def body(i, h):
        return i + 1, jg.tanh(h * 0.5 + ta.read(i))

    _, h = jg.while_loop(lambda i, h: i < T, body, (0, jg.zeros((B, F), jg.float64)))
    return jg.reduce_sum(h * h)


LOOPS = [autograph_for, while_loop, scan, map_fn, tensor_array]


def _grad_fn(loss, backend):
    def step(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = loss(x)
        return tape.gradient(y, x)

    return jg.function(step, backend=backend)


@pytest.mark.parametrize("loss", LOOPS, ids=lambda f: f.__name__)
def test_loop_gradients_match_finite_differences_and_the_interpreter(loss):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F))
    d = rng.standard_normal(x.shape)
    f = jg.function(loss, backend="interpreter")
    eps = 1e-6
    numeric = (float(f(jg.constant(x + eps * d))) - float(f(jg.constant(x - eps * d)))) / (2 * eps)
    grads = {b: _grad_fn(loss, b)(jg.constant(x)).numpy() for b in BACKENDS}
    np.testing.assert_allclose(grads["cpu"], grads["interpreter"], rtol=1e-12, atol=1e-12)
    analytic = float(np.sum(grads["cpu"] * d))
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (numeric, analytic)


@pytest.mark.parametrize("loss", [autograph_for, while_loop, scan, tensor_array],
                         ids=lambda f: f.__name__)
def test_the_backward_loop_accumulates_slices(loss):
    x = jg.constant(np.zeros((B, T, F)))
    text = _grad_fn(loss, "cpu").get_concrete_function(x).explain("optimized")
    assert "= gather_grad_add " in text
    assert "= gather_grad " not in text  # no dense zeros-with-one-slice tensor per iteration


# ----------------------------------------------------------------------------- the pass


def _trace(fn, *params):
    g = Graph(fn.__name__)
    with tracing.graph_scope(g):
        xs = [tracing.placeholder(g, n, d, s) for n, d, s in params]
        out = fn(*xs)
    g.outputs = [out._ir]
    return verify(g)


def _assert_ir(graph, expected):
    verify(graph)
    actual = format_graph(graph, with_loc=False).strip()
    expected = textwrap.dedent(expected).strip()
    assert actual == expected, f"IR differs. Actual:\n{actual}\n\nExpected:\n{expected}"


def _gg(g, i, like, axis=0):
    return apply("gather_grad", g, i, like, axis=axis)


ACC = ("acc", jg.float32, (4, 3))
ROW = ("g", jg.float32, (3,))
IDX = ("i", jg.int32, ())


def test_pass_golden_sum_of_gather_gradients():
    def f(acc, g, i, h, j):
        return acc + (_gg(g, i, acc) + _gg(h, j, acc))

    _assert_ir(indexed_accumulate(_trace(f, ACC, ROW, IDX, ("h", *ROW[1:]), ("j", *IDX[1:]))), """
        graph f(%acc: f32[4,3], %g: f32[3], %i: i32[], %h: f32[3], %j: i32[]) -> (f32[4,3])
          %gather_grad: f32[4,3] = gather_grad %g, %i, %acc {axis=0}
          %gather_grad_1: f32[4,3] = gather_grad %h, %j, %acc {axis=0}
          %gather_grad_add: f32[4,3] = gather_grad_add %gather_grad, %h, %j {axis=0}
          %gather_grad_add_1: f32[4,3] = gather_grad_add %acc, %g, %i {axis=0}
          %gather_grad_add_2: f32[4,3] = gather_grad_add %gather_grad_add_1, %h, %j {axis=0}
          return %gather_grad_add_2
    """)


def test_pass_leaves_broadcasting_sums_and_unknown_dims_alone():
    def bcast(acc, g, i):
        return acc + _gg(g, i, jg.zeros((4, 3)))

    def unknown(acc, g, i):
        return acc + _gg(g, i, acc)

    for fn, acc in ((bcast, ("acc", jg.float32, (3,))), (unknown, ("acc", jg.float32, (None, 3)))):
        g = _trace(fn, acc, ROW, IDX)
        assert "gather_grad_add" not in format_graph(indexed_accumulate(g))


# ----------------------------------------------------------------------------- in place, duplicates


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_accumulator_read_after_the_add_keeps_its_value(backend):
    @jg.function(backend=backend)
    def f(x, g):
        a = x * 2.0
        b = apply("gather_grad_add", a, g, jg.constant(1), axis=0)
        return b, a + 0.5  # a is read after the add: the add writes a copy

    x, g = np.arange(6.0).reshape(3, 2), np.array([10.0, 20.0])
    b, a = f(x, g)
    np.testing.assert_array_equal(a.numpy(), x * 2 + 0.5)
    np.testing.assert_array_equal(b.numpy(), x * 2 + np.array([[0, 0], [10, 20], [0, 0]]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_loop_accumulators_read_later_in_the_body_and_after_the_loop(backend):
    @jg.function(backend=backend)
    def f(x, rows):
        init = x * 1.0

        def body(i, acc, s):
            new = acc + _gg(rows[i], i % 2, acc)
            return i + 1, new, s + jg.reduce_sum(acc)  # acc read after the add

        def body2(i, acc):
            return i + 1, acc + _gg(rows[i], i % 2, acc)  # acc dies at the add

        def body3(i, acc, s):
            a1 = acc + _gg(rows[i], i % 2, acc)  # in place over acc
            a2 = a1 + _gg(rows[i] * 0.0, 2, acc)
            return i + 1, a2, s + jg.reduce_sum(a1)  # a1 read after the second add

        zero = jg.constant(0.0, jg.float64)
        _, acc, s = jg.while_loop(lambda i, a, s: i < 4, body, (0, init, zero))
        _, acc2 = jg.while_loop(lambda i, a: i < 4, body2, (0, init))
        _, acc3, s3 = jg.while_loop(lambda i, a, s: i < 4, body3, (0, init, zero))
        return acc, s, acc2, acc3, s3, init  # init is read after the loops

    x, rows = np.arange(6.0).reshape(3, 2), np.arange(8.0).reshape(4, 2) + 1
    acc, s, acc2, acc3, s3, init = (v.numpy() for v in f(x, rows))
    want, total, total3 = x.copy(), 0.0, 0.0
    for i in range(4):
        total += want.sum()
        want[i % 2] += rows[i]
        total3 += want.sum()
    for got in (acc, acc2, acc3):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(init, x)
    assert float(s) == total and float(s3) == total3


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_indices_sum_exactly(backend):
    @jg.function(backend=backend)
    def direct(a, g, i):
        return apply("gather_grad_add", a, g, i, axis=1)

    a = np.arange(8.0).reshape(2, 4)
    g = np.arange(10.0).reshape(2, 5) + 1
    i = np.array([3, 0, 3, 3, 0], np.int32)
    want = a.copy()
    np.add.at(want.T, i, g.T)
    np.testing.assert_array_equal(direct(a, g, i).numpy(), want)

    def loss(x):  # x[0] read on every other iteration, weighted by the step number
        s = jg.constant(0.0, jg.float64)
        for k in jg.range(6):
            s += jg.reduce_sum(x[k % 2]) * jg.cast(k + 1, jg.float64)
        return s

    grad = _grad_fn(loss, backend)(jg.constant(np.zeros((3, 2)))).numpy()
    np.testing.assert_array_equal(grad, [[9.0, 9.0], [12.0, 12.0], [0.0, 0.0]])
