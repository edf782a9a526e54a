"""A gather used by one kernel joins it as an indexed load (passes/fusion.py, GATHER_FUSION;
codegen/shape_ops.gather_load): the fused graph has no gather of its own, and compiled ==
interpreter == NumPy over gather axes, index ranks, constant and tensor indices, the gathered
values broadcast in the kernel, inside loops, in reduction and row kernels, and on the cuda
emulator; an index out of range still raises naming the gather and the user's line."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import backends, errors
from jitgraph.codegen import cuda_driver, fused_graph
from jitgraph.interpreter import interpret

S = jg.TensorSpec


def _graph(f, *args):
    specs = [S(np.shape(a), jg.as_dtype(np.asarray(a).dtype)) for a in args]
    return jg.function(f, backend="interpreter").get_concrete_function(*specs).graph


def _top_level(graph):
    return [op.type for op in fused_graph(graph).ops]


def _check(f, args, backend="cpu"):
    g = _graph(f, *args)
    got = backends.get(backend).compile(g).run(args)
    want = interpret(g, args)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    return got


def _resize(x):
    return jg.image.resize(x, (12, 10))


def test_resize_taps_are_loaded_by_the_weighted_sum():
    x = np.random.default_rng(0).random((2, 6, 5, 3), np.float32)
    g = _graph(_resize, x)
    assert "gather" not in _top_level(g)
    assert _top_level(g).count("fusion") == 2  # one kernel per resized axis
    got = _check(_resize, [x])[0]
    tf = pytest.importorskip("tensorflow")
    np.testing.assert_allclose(got, tf.image.resize(x, (12, 10)).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_a_gather_used_by_two_kernels_is_written_once():
    def f(p, i):
        g = jg.gather(p, i)
        return jg.exp(g) + 1.0, jg.reduce_sum(g * 2.0, axis=0)

    g = _graph(f, np.ones((4, 3), np.float32), np.array([1, 3], np.int32))
    assert "gather" in _top_level(g)


def test_out_of_range_index_in_a_fused_gather_names_the_gather():
    f = jg.function(lambda p, i: jg.gather(p, i) * 2.0 + 1.0, backend="cpu")
    p = np.arange(3, dtype=np.float32)
    np.testing.assert_array_equal(f(p, np.array([2, 0])).numpy(), [5.0, 1.0])
    with pytest.raises(errors.OutOfRangeError, match=r"^gather \(test_gather_fusion.py:\d+\)"):
        f(p, np.array([0, 3]))
    np.testing.assert_array_equal(f(p, np.array([1])).numpy(), [3.0])


@st.composite
def gather_case(draw):
    """params (rank 1..3), an axis, indices (rank 0..2, in range), and the shape of an
    operand the gathered values are combined with (size-1 dims, leading dims dropped or
    added, so the gather's result is broadcast in the kernel or broadcasts the operand)."""
    rank = draw(st.integers(1, 3))
    pshape = tuple(draw(st.sampled_from([1, 2, 5, 17])) for _ in range(rank))
    axis = draw(st.integers(0, rank - 1))
    ishape = tuple(draw(st.sampled_from([1, 3, 4])) for _ in range(draw(st.integers(0, 2))))
    out = pshape[:axis] + ishape + pshape[axis + 1:]
    other = [1 if draw(st.booleans()) else d for d in out]
    other = tuple(other[draw(st.integers(0, len(other))):])
    if len(other) == len(out) and draw(st.booleans()):
        other = (draw(st.sampled_from([1, 2])),) + other
    return pshape, axis, ishape, other, draw(st.integers(0, 2**31 - 1)), draw(st.booleans())


KINDS = {
    "map": (lambda g, y: g * y + jg.exp(-g), lambda g, y: g * y + np.exp(-g)),
    "sum": (lambda g, y: jg.reduce_sum(g * y, axis=-1),
            lambda g, y: np.sum(np.broadcast_arrays(g * y)[0], axis=-1)),
    "softmax": (lambda g, y: jg.nn.softmax(g + y, axis=-1),
                lambda g, y: _softmax(np.broadcast_arrays(g + y)[0])),
}


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=gather_case())
def test_fused_gather_matches_numpy(kind, case):
    pshape, axis, ishape, other, seed, const = case
    rng = np.random.default_rng(seed)
    p = rng.random(pshape, np.float32)
    idx = rng.integers(0, pshape[axis], ishape).astype(np.int32)
    y = rng.random(other, np.float32)
    f, ref = KINDS[kind]
    if const:  # a constant index table (as jg.image's)
        fn, args = (lambda p, y: f(jg.gather(p, idx, axis=axis), y)), [p, y]
    else:
        fn, args = (lambda p, i, y: f(jg.gather(p, i, axis=axis), y)), [p, idx, y]
    gathered = np.take(p, idx, axis=axis)
    assume(kind == "map" or np.ndim(gathered + y) >= 1)  # reductions over axis -1
    want = ref(gathered, y)
    got = _check(fn, args)[0]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_gather_in_a_loop_body():
    steps = 6

    def f(h, table):
        def body(i, h):
            return i + 1, jg.where(jg.gather(table, i) > 0.5, jg.tanh(h + 1.0), h)
        return jg.while_loop(lambda i, h: i < steps, body, (0, h))[1]

    rng = np.random.default_rng(1)
    h, table = rng.random((4, 9), np.float32), rng.random((steps, 4, 1), np.float32)
    g = _graph(f, h, table)
    assert [op.graph.name for op in fused_graph(g).walk() if op.type == "gather"] == ["kernel"]
    got = _check(f, [h, table])[0]
    for i in range(steps):
        h = np.where(table[i] > 0.5, np.tanh(h + 1), h)
    np.testing.assert_allclose(got, h, rtol=1e-5, atol=1e-6)


def test_gather_of_the_loop_variable_is_not_written_in_place():
    perm = np.array([3, 0, 4, 1, 2], np.int32)

    def f(h):  # each step reads h at other elements than it writes
        return jg.while_loop(lambda i, h: i < 3,
                             lambda i, h: (i + 1, jg.gather(h, perm, axis=1) * 0.5 + h),
                             (0, h))[1]

    h = np.random.default_rng(3).random((2, 5), np.float32)
    got = _check(f, [h])[0]
    for _ in range(3):
        h = h[:, perm] * 0.5 + h
    np.testing.assert_allclose(got, h, rtol=1e-6)


@pytest.fixture
def emulator():
    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


def test_cuda_emulator_agrees(emulator):
    rng = np.random.default_rng(2)
    x = rng.random((1, 4, 3, 2), np.float32)
    _check(_resize, [x], backend="cuda")
    p, i = rng.random((5, 6), np.float32), np.array([[4, 0], [2, 2]], np.int32)
    _check(lambda p, i: jg.nn.softmax(jg.gather(p, i, axis=1) * 2.0, axis=-1), [p, i],
           backend="cuda")
