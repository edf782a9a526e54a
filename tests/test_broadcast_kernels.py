"""Kernels with operands broadcast along the innermost axis (a (batch, 1) mask or weight
against a (batch, n) state): the cpu backend loads such an operand once per row
(loops.invariant_loads), so the inner loop is vectorized, inside while_loops too, where the
per-element reload of an operand another kernel wrote (a matmul's gate, a gather kept apart)
kept it scalar; and compiled == interpreter == NumPy over shapes with
size-1 dims anywhere (map, reduction and row kernels, in and out of loops, cuda emulator)."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import backends
from jitgraph.codegen import cuda_driver
from jitgraph.interpreter import interpret
from jitgraph.passes import fusion

S = jg.TensorSpec
VECTOR = re.compile(r"<(4|8|16) x float>")
# exp and tanh (vecmath) build 2**n from a float-to-int conversion: in vector lanes when the
# loop computing them is vectorized
VECTOR_EXP = re.compile(r"fptosi <(4|8|16) x float>")
STEPS = 5


def _graph(f, *specs):
    return jg.function(f, backend="interpreter").get_concrete_function(*specs).graph


def _check(f, args, backend="cpu", specs=None):
    """compiled == interpreter == NumPy-computed ``want`` (when given) for ``args``."""
    specs = specs or [S(a.shape, jg.as_dtype(a.dtype)) for a in args]
    g = _graph(f, *specs)
    got = backends.get(backend).compile(g).run(args)
    want = interpret(g, args)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    return got


def _blend(h, w, hp):
    return h * w + (1.0 - w) * hp


def _masked_loop(h, m, hp):
    """A recurrent step under a per-step (batch, 1) mask read inside the loop."""
    def body(i, h):
        return i + 1, jg.where(jg.gather(m, i), jg.tanh(h * 0.5 + hp), h)
    return jg.while_loop(lambda i, h: i < STEPS, body, (0, h))[1]


def _blend_loop(h, w, hp):
    def body(i, h):
        wi = jg.gather(w, i)
        return i + 1, jg.tanh(h * 0.5 + hp) * wi + (1.0 - wi) * h
    return jg.while_loop(lambda i, h: i < STEPS, body, (0, h))[1]


def _softmax_loop(h, w, hp):
    def body(i, h):
        return i + 1, jg.nn.softmax(h * jg.gather(w, i) + hp, axis=-1)
    return jg.while_loop(lambda i, h: i < STEPS, body, (0, h))[1]


def _gated_loop(h, u, hp):
    """A per-row gate from a matmul: a (batch, 1) operand another kernel wrote."""
    def body(i, h):
        g = jg.sigmoid(jg.matmul(h, u[0]))
        return i + 1, g * jg.tanh(h + hp) + (1.0 - g) * h
    return jg.while_loop(lambda i, h: i < STEPS, body, (0, h))[1]


def _loop_args(rng, mask=False):
    h, hp = rng.random((32, 64), np.float32), rng.random((32, 64), np.float32)
    w = rng.random((STEPS, 32, 1), np.float32)
    return [h, w > 0.5 if mask else w, hp]


@pytest.mark.parametrize("f,mask", [(_masked_loop, True), (_blend_loop, False),
                                    (_softmax_loop, False), (_gated_loop, False)],
                         ids=["where", "blend", "softmax", "gate"])
def test_loop_kernel_with_a_row_operand_is_vectorized_and_exact(f, mask, monkeypatch):
    # the step's gather kept apart: its (32, 1) result is in the arena, as a matmul's is
    monkeypatch.setattr(fusion, "GATHER_FUSION", False)
    args = _loop_args(np.random.default_rng(0), mask)
    if f is _gated_loop:  # u: (64, 1) weights (indexed [0] in the loop)
        args[1] = np.random.default_rng(1).standard_normal((1, 64, 1)).astype(np.float32)
    g = _graph(f, *[S(a.shape, jg.as_dtype(a.dtype)) for a in args])
    ir = backends.get("cpu").explain(g, "llvm")
    assert VECTOR.search(ir) and VECTOR_EXP.search(ir), "the loop body's kernel is scalar"
    got = _check(f, args)[0]
    h, m, hp = args
    for i in range(STEPS):  # NumPy
        if f is _masked_loop:
            h = np.where(m[i], np.tanh(h * 0.5 + hp), h)
        elif f is _blend_loop:
            h = np.tanh(h * 0.5 + hp) * m[i] + (1 - m[i]) * h
        elif f is _gated_loop:
            g = 1 / (1 + np.exp(-(h @ m[0])))
            h = g * np.tanh(h + hp) + (1 - g) * h
        else:
            z = h * m[i] + hp
            e = np.exp(z - z.max(-1, keepdims=True))
            h = e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, h, rtol=1e-5, atol=1e-6)


def test_plain_kernel_with_a_row_operand_is_vectorized():
    x = np.random.default_rng(1).random((4096, 64), np.float32)
    w = x[:, :1].copy()
    g = _graph(_blend, S(x.shape, jg.float32), S(w.shape, jg.float32), S(x.shape, jg.float32))
    assert VECTOR.search(backends.get("cpu").explain(g, "llvm"))
    got = _check(_blend, [x, w, x[::-1].copy()])[0]
    np.testing.assert_allclose(got, x * w + (1 - w) * x[::-1], rtol=1e-6)


# ----------------------------------------------------------------------------- shapes


@st.composite
def broadcast_case(draw):
    """A shape (rank 1..4, one inner dim long enough to vectorize) and three operand shapes
    made from it by setting dims to 1 and dropping leading dims."""
    rank = draw(st.integers(1, 4))
    dims = [draw(st.sampled_from([1, 2, 3, 5])) for _ in range(rank - 1)]
    shape = tuple(dims + [draw(st.sampled_from([1, 7, 16, 33]))])
    ops = []
    for _ in range(3):
        s = [1 if draw(st.booleans()) else d for d in shape]
        ops.append(tuple(s[draw(st.integers(0, rank - 1)):]))
    ops[0] = shape  # the result has the full shape
    return shape, ops, draw(st.integers(0, 2**31 - 1))


KERNELS = {
    "blend": (_blend, lambda h, w, hp: h * w + (1 - w) * hp),
    "where": (lambda h, w, hp: jg.where(w > 0.5, jg.exp(h), hp * 2.0),
              lambda h, w, hp: np.where(w > 0.5, np.exp(h), hp * 2)),
    "row_sum": (lambda h, w, hp: jg.reduce_sum(h * w + hp, axis=-1),
                lambda h, w, hp: (h * w + hp).sum(-1)),
    "softmax": (lambda h, w, hp: jg.nn.softmax(h * w - hp, axis=-1),
                lambda h, w, hp: _np_softmax(h * w - hp)),
}


def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("kind", list(KERNELS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=broadcast_case())
def test_size_one_dims_anywhere_match_numpy(kind, case):
    shape, ops, seed = case
    rng = np.random.default_rng(seed)
    args = [rng.random(s, np.float32) for s in ops]
    f, ref = KERNELS[kind]
    got = _check(f, args)[0]
    np.testing.assert_allclose(got, np.broadcast_to(ref(*args), got.shape), rtol=2e-5,
                               atol=2e-6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.sampled_from([1, 3, 8]), width=st.sampled_from([1, 5, 16, 40]),
       seed=st.integers(0, 2**31 - 1), unknown=st.booleans())
def test_loop_with_a_gathered_row_operand_matches_numpy(batch, width, seed, unknown):
    rng = np.random.default_rng(seed)
    h, hp = rng.random((batch, width), np.float32), rng.random((batch, width), np.float32)
    w = rng.random((STEPS, batch, 1), np.float32)
    specs = None
    if unknown:  # the batch as a run-time dim
        specs = [S([None, width], jg.float32), S([STEPS, None, 1], jg.float32),
                 S([None, width], jg.float32)]
    got = _check(_blend_loop, [h, w, hp], specs=specs)[0]
    for i in range(STEPS):
        h = np.tanh(h * 0.5 + hp) * w[i] + (1 - w[i]) * h
    np.testing.assert_allclose(got, h, rtol=1e-5, atol=1e-6)


@pytest.fixture
def emulator():
    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


@pytest.mark.parametrize("kind", ["blend", "softmax"])
def test_cuda_emulator_agrees(kind, emulator):
    rng = np.random.default_rng(3)
    args = [rng.random((6, 40), np.float32), rng.random((6, 1), np.float32),
            rng.random((1, 40), np.float32)]
    f, ref = KERNELS[kind]
    got = _check(f, args, backend="cuda")[0]
    np.testing.assert_allclose(got, ref(*args), rtol=2e-5, atol=2e-6)
    loop = _loop_args(rng)
    _check(_blend_loop, loop, backend="cuda")
