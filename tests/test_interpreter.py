"""The interpreter is the reference backend: for every op case and for generated multi-op
functions, jg.function(f, backend="interpreter") equals eager f (and the NumPy reference)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import CASES

import jitgraph as jg
from jitgraph.interpreter import Executable, interpret
from jitgraph.ir import verify

S = jg.TensorSpec


def _tol(arrays):
    if any(np.asarray(a).dtype == np.float32 for a in arrays):
        return dict(rtol=2e-5, atol=2e-6)
    return dict(rtol=1e-12, atol=1e-12)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_interpreter_matches_eager_and_numpy(case):
    tensors = [jg.constant(a) for a in case.args]
    eager = _as_list(case.fn(*tensors))
    f = jg.function(case.fn, backend="interpreter", autograph=False)
    traced = _as_list(f(*tensors))
    verify(f.get_concrete_function(*tensors).graph)
    ref = _as_list(case.ref(*case.args))
    assert len(eager) == len(traced) == len(ref)
    for e, t, r in zip(eager, traced, ref, strict=False):
        assert t.dtype == e.dtype and t.shape == e.shape, case.name
        np.testing.assert_allclose(t.numpy(), e.numpy(), **_tol(case.args))
        np.testing.assert_allclose(t.numpy(), np.asarray(r), **_tol(case.args))


# ----------------------------------------------------------------------------- generated

_UNARY = [("exp", lambda x: jg.exp(jg.clip_by_value(x, -5.0, 5.0)),
           lambda x: np.exp(np.clip(x, -5.0, 5.0))),
          ("tanh", jg.tanh, np.tanh), ("square", jg.square, np.square),
          ("neg", jg.negative, np.negative), ("abs", jg.abs, np.abs),
          ("sigmoid", jg.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)))]
_BINARY = [("add", jg.add, np.add), ("mul", jg.multiply, np.multiply),
           ("sub", jg.subtract, np.subtract), ("max", jg.maximum, np.maximum)]
_REDUCE = [("sum", jg.reduce_sum, np.sum), ("max", jg.reduce_max, np.max),
           ("mean", jg.reduce_mean, np.mean)]


@st.composite
def programs(draw):
    """A random straight-line program over two [n, m] inputs: unary and binary elementwise ops
    (with row broadcasting) and keepdims reductions."""
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["unary", "binary", "reduce"]))
        a = draw(st.integers(0, 10**6))
        b = draw(st.integers(0, 10**6))
        if kind == "unary":
            steps.append((kind, draw(st.integers(0, len(_UNARY) - 1)), a, b))
        elif kind == "binary":
            steps.append((kind, draw(st.integers(0, len(_BINARY) - 1)), a, b))
        else:
            steps.append((kind, draw(st.integers(0, len(_REDUCE) - 1)), a,
                          draw(st.sampled_from([0, 1, -1]))))
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return steps, n, m, dtype


def run_program(steps, x, y, lib):
    vals = [x, y]
    for kind, i, a, b in steps:
        u = vals[a % len(vals)]
        if kind == "unary":
            vals.append((_UNARY[i][1] if lib == "jg" else _UNARY[i][2])(u))
        elif kind == "binary":
            vals.append((_BINARY[i][1] if lib == "jg" else _BINARY[i][2])(u, vals[b % len(vals)]))
        else:
            fn = _REDUCE[i][1] if lib == "jg" else _REDUCE[i][2]
            vals.append(fn(u, axis=b, keepdims=True) if lib == "jg" else
                        fn(u, axis=b, keepdims=True))
    return vals[-1] + vals[0]


@given(programs(), st.integers(0, 2**31 - 1))
def test_generated_programs(program, seed):
    steps, n, m, dtype = program
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, m)).astype(dtype)
    y = rng.uniform(-2, 2, (1, m)).astype(dtype)

    def f(a, b):
        return run_program(steps, a, b, "jg")

    eager = f(jg.constant(x), jg.constant(y))
    traced = jg.function(f, backend="interpreter", autograph=False)(x, y)
    tol = _tol([x])
    np.testing.assert_allclose(traced.numpy(), eager.numpy(), **tol)
    ref = run_program(steps, x.astype(np.float64), y.astype(np.float64), "np")
    np.testing.assert_allclose(traced.numpy(), ref, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- robustness


def _graph(fn, *specs):
    return jg.function(fn, autograph=False).get_concrete_function(*specs).graph


def test_boundary_checks_name_the_argument():
    exe = Executable(_graph(lambda x, y: x + y, S([None, 3]), S([3])))
    ok = exe.run([np.ones((2, 3), np.float32), np.ones(3, np.float32)])[0]
    assert ok.shape == (2, 3)
    with pytest.raises(jg.errors.InvalidArgumentError,
                       match="argument 'y'.*shape \\[3\\].*\\[4\\]"):
        exe.run([np.ones((2, 3), np.float32), np.ones(4, np.float32)])
    with pytest.raises(jg.errors.InvalidArgumentError, match="argument 'x'.*float32.*float64"):
        exe.run([np.ones((2, 3)), np.ones(3, np.float32)])
    with pytest.raises(jg.errors.InvalidArgumentError, match="takes 2 arguments"):
        exe.run([np.ones((2, 3), np.float32)])


def test_wrong_type_rule_fails_at_the_op():
    g = _graph(lambda x: jg.exp(x), S([3]))
    g.get_operation_by_name("exp").outputs[0].shape = (4,)
    with pytest.raises(jg.errors.InvalidArgumentError, match="exp: produced shape \\[3\\]"):
        interpret(g, [np.ones(3, np.float32)])


def test_results_are_cast_to_the_value_dtype():
    from jitgraph.ops.core import REGISTRY

    g = _graph(lambda x: jg.exp(x), S([3]))
    op = REGISTRY["exp"]
    saved = op.impl
    op.impl = lambda x: np.exp(x.astype(np.float64))  # an impl that widens its result
    try:
        out = interpret(g, [np.ones(3, np.float32)])[0]
    finally:
        op.impl = saved
    assert out.dtype == np.float32


def test_while_loop_with_captures_and_nested_cond():
    def f(x, n):
        def body(i, acc):
            step = jg.cond(i % 2 == 0, lambda: x, lambda: -x * 0.5)
            return i + 1, acc + step
        return jg.while_loop(lambda i, acc: i < n, body, (0, jg.zeros_like(x)))

    g = _graph(f, S([2]), S([], jg.int32))
    x = np.array([1.0, 2.0], np.float32)
    i, acc = interpret(g, [x, np.array(5, np.int32)])
    assert i == 5
    np.testing.assert_allclose(acc, x * 3 - x * 0.5 * 2)
    i, acc = interpret(g, [x, np.array(0, np.int32)])
    assert i == 0 and not acc.any()


def test_variables_are_updated_in_place_of_the_variable():
    v = jg.Variable([1.0, 2.0])
    g = _graph(lambda x: v.assign(v * x), S([2]))
    interpret(g, [np.full(2, 3.0, np.float32)])
    np.testing.assert_allclose(v.numpy(), [3.0, 6.0])
