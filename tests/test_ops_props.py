"""Property-based differential tests: ops vs NumPy over generated shapes (broadcasting, size-0
and size-1 dims, negative axes, keepdims) and dtypes (float32, float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph as jg

FLOATS = st.sampled_from([np.float32, np.float64])
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


def arrays(dtype, shape, lo=-3.0, hi=3.0):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=32))


def close(got, want):
    want = np.asarray(want)
    assert got.shape == want.shape
    tol = 1e-5 if want.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


BINARY = [(jg.add, np.add), (jg.subtract, np.subtract), (jg.multiply, np.multiply),
          (jg.maximum, np.maximum), (jg.minimum, np.minimum), (jg.divide, np.divide)]


@given(st.data(), FLOATS, st.sampled_from(BINARY),
       hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0,
                                         max_side=3))
def test_binary_broadcasting(data, dtype, op, shapes):
    a = data.draw(arrays(dtype, shapes.input_shapes[0]))
    b = data.draw(arrays(dtype, shapes.input_shapes[1], 0.5, 3.0))
    close(op[0](jg.constant(a), jg.constant(b)).numpy(), op[1](a, b))


UNARY = [(jg.exp, np.exp), (jg.tanh, np.tanh), (jg.abs, np.abs), (jg.square, np.square),
         (jg.sin, np.sin), (jg.nn.relu, lambda x: np.maximum(x, 0)),
         (jg.sigmoid, lambda x: 1 / (1 + np.exp(-x)))]


@given(st.data(), FLOATS, st.sampled_from(UNARY), shapes)
def test_unary(data, dtype, op, shape):
    a = data.draw(arrays(dtype, shape))
    close(op[0](jg.constant(a)).numpy(), op[1](a).astype(dtype))


REDUCE = [(jg.reduce_sum, np.sum), (jg.reduce_mean, np.mean), (jg.reduce_max, np.max),
          (jg.reduce_min, np.min), (jg.reduce_prod, np.prod)]


@given(st.data(), FLOATS, st.sampled_from(REDUCE), st.booleans(),
       hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
def test_reductions_axes_keepdims(data, dtype, op, keepdims, shape):
    a = data.draw(arrays(dtype, shape))
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank))
    neg = [ax - rank if data.draw(st.booleans()) else ax for ax in axes]
    axis = None if not axes else (neg[0] if len(neg) == 1 else neg)
    got = op[0](jg.constant(a), axis=axis, keepdims=keepdims).numpy()
    want = op[1](a, axis=None if axis is None else tuple(axes), keepdims=keepdims)
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-5)


@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
def test_transpose_reshape_roundtrip(data, shape):
    a = data.draw(arrays(np.float64, shape))
    perm = data.draw(st.permutations(range(len(shape))))
    close(jg.transpose(jg.constant(a), perm).numpy(), a.transpose(perm))
    close(jg.reshape(jg.constant(a), [-1]).numpy(), a.reshape(-1))


def _slices(d):
    idx = st.one_of(st.none(), st.integers(-d - 2, d + 2))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
    return st.builds(slice, idx, idx, step)


@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_getitem_slices(data, shape):
    a = data.draw(arrays(np.float64, shape))
    key = []
    for d in shape:
        key.append(data.draw(st.one_of(_slices(d), st.integers(-d, d - 1), st.just(None))))
    key = tuple(key)
    try:
        want = a[key]
    except IndexError:  # None entries shift later indices onto other axes
        with pytest.raises(jg.errors.OutOfRangeError, match="out of range"):
            jg.constant(a)[key]
        return
    close(jg.constant(a)[key].numpy(), want)


@given(st.data(), FLOATS, st.integers(0, 2), st.integers(1, 3),
       hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
def test_concat_split(data, dtype, axis_seed, n, shape):
    axis = axis_seed % len(shape)
    arrs = [data.draw(arrays(dtype, shape)) for _ in range(n)]
    got = jg.concat([jg.constant(x) for x in arrs], axis - len(shape)).numpy()
    close(got, np.concatenate(arrs, axis))
    parts = jg.split(jg.constant(got), n, axis=axis)
    for p, x in zip(parts, arrs):
        close(p.numpy(), x)


@given(st.data(), FLOATS,
       hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=1,
                                         max_side=3),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 3))
def test_matmul_batch_broadcast(data, dtype, batch, m, n, k):
    a = data.draw(arrays(dtype, batch.input_shapes[0] + (m, k)))
    b = data.draw(arrays(dtype, batch.input_shapes[1] + (k, n)))
    got = jg.matmul(jg.constant(a), jg.constant(b)).numpy()
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-4, atol=1e-4)


@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_gather_any_axis(data, shape):
    a = data.draw(arrays(np.float64, shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    d = shape[axis]
    idx = data.draw(hnp.arrays(np.int32, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
                               elements=st.integers(0, d - 1)))
    close(jg.gather(jg.constant(a), idx, axis=axis).numpy(), np.take(a, idx, axis=axis))


@given(st.data(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
       st.integers(1, 4))
def test_softmax_is_stable(data, batch, n):
    a = data.draw(arrays(np.float64, batch + (n,), -500.0, 500.0))
    got = jg.nn.softmax(jg.constant(a)).numpy()
    e = np.exp(a - a.max(axis=-1, keepdims=True, initial=-np.inf))
    close(got, e / e.sum(axis=-1, keepdims=True))
    z = a - a.max(axis=-1, keepdims=True, initial=-np.inf)
    close(jg.nn.log_softmax(jg.constant(a)).numpy(),
          z - np.log(np.exp(z).sum(axis=-1, keepdims=True)))


def test_expand_squeeze_with_unknown_dims_that_are_one_at_run_time():
    spec = [jg.TensorSpec([None, None], jg.float32)]

    def f(x):
        return jg.squeeze(jg.expand_dims(jg.expand_dims(x, 0), 2), axis=[0])

    for backend in ("interpreter", "cpu"):
        g = jg.function(f, input_signature=spec, backend=backend)
        for shape in [(1, 1), (2, 1), (1, 3), (2, 3)]:
            x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
            np.testing.assert_array_equal(g(x).numpy(), x[:, None, :])


# ----------------------------------------------------------------------------- sorting

_SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0, 2.5]
_SORTS = {}


def _compiled_sort(kind, rank, dtype, axis, descending):
    """One jg.function per signature, over unknown dims (so examples do not recompile)."""
    key = (kind, rank, dtype, axis, descending)
    if key not in _SORTS:
        direction = "DESCENDING" if descending else "ASCENDING"
        fn = {"sort": lambda t: jg.sort(t, axis=axis, direction=direction),
              "argsort": lambda t: jg.argsort(t, axis=axis, direction=direction)}[kind]
        _SORTS[key] = jg.function(fn, input_signature=[
            jg.TensorSpec([None] * rank, jg.as_dtype(dtype))])
    return _SORTS[key]


def _sort_arrays(draw, dtype):
    shape = draw(st.one_of(  # rows of up to 12 and of up to 80: runs of 16 and their merges
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=12),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=80)))
    if np.dtype(dtype).kind == "f":
        elems = st.one_of(st.sampled_from(_SPECIAL), st.floats(-3, 3, width=32))
    else:
        info = np.iinfo(dtype)
        elems = st.one_of(st.integers(-3, 3), st.sampled_from([int(info.min), int(info.max)]))
    return draw(hnp.arrays(dtype, shape, elements=elems))


def _np_stable(a, axis, descending):
    if not descending:
        return np.argsort(a, axis, kind="stable")
    n = a.shape[axis]
    return (n - 1) - np.flip(np.argsort(np.flip(a, axis), axis, kind="stable"), axis)


def _bits(a):
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


SORT_DTYPES = st.sampled_from([np.float32, np.float64, np.int32, np.int64])


@pytest.mark.slow  # ~7 s; op cases and test_sort_ops.py check sorting by default
@settings(max_examples=60, deadline=None)
@given(st.data(), SORT_DTYPES, st.booleans())
def test_compiled_sort_is_numpys_stable_sort(data, dtype, descending):
    a = _sort_arrays(data.draw, dtype)
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    got = _compiled_sort("sort", a.ndim, dtype, axis, descending)(a).numpy()
    order = _np_stable(a, axis, descending)
    want = np.take_along_axis(a, order, axis)
    if not descending:  # NaN last, -0.0 and 0.0 in input order: np.sort's stable result
        np.testing.assert_array_equal(_bits(want), _bits(np.sort(a, axis, kind="stable")))
    np.testing.assert_array_equal(_bits(got), _bits(want))
    idx = _compiled_sort("argsort", a.ndim, dtype, axis, descending)(a).numpy()
    assert idx.dtype == np.int32
    np.testing.assert_array_equal(idx, order)


@settings(max_examples=40, deadline=None)
@given(st.data(), SORT_DTYPES)
def test_compiled_top_k_is_the_stable_descending_prefix(data, dtype):
    a = _sort_arrays(data.draw, dtype)
    k = data.draw(st.integers(0, a.shape[-1]))
    f = jg.function(lambda t: tuple(jg.math.top_k(t, k)))
    order = _np_stable(a, a.ndim - 1, True)[..., :k]
    for values, indices in (f(a), jg.math.top_k(a, k)):  # compiled, eager
        np.testing.assert_array_equal(indices.numpy(), order)
        np.testing.assert_array_equal(_bits(values.numpy()),
                                      _bits(np.take_along_axis(a, order, -1)))
