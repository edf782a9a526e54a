"""sort, argsort, top_k and in_top_k beyond the op cases: the errors a user can cause (op,
shapes, what to do, the user's line), TensorFlow's result types and gradient rules, rows
long enough for the worker pool, unknown dims, and sorting inside loops."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors

HERE = "test_sort_ops.py:"


def test_bad_direction_names_op_and_line():
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"argsort: direction must be 'ASCENDING' or 'DESCENDING', "
                             r"got 'descending' \(" + HERE):
        jg.argsort([3.0, 1.0], direction="descending")


@pytest.mark.parametrize("fn,name", [(jg.sort, "sort"), (jg.argsort, "argsort")])
def test_axis_out_of_range(fn, name):
    with pytest.raises(errors.InvalidArgumentError,
                       match=name + r": axis 2 is out of range for a tensor of shape \[3,4\]; "
                       r"valid axes are -2..1 \(" + HERE):
        fn(np.ones((3, 4)), axis=2)
    with pytest.raises(errors.InvalidArgumentError, match=name + ": .*scalar"):
        fn(3.0)


def test_non_numeric_dtype():
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"sort: needs a numeric tensor .*got bool; jg.cast it first \("
                       + HERE):
        jg.sort(np.array([True, False]))
    with pytest.raises(errors.InvalidArgumentError, match="top_k: needs a numeric tensor"):
        jg.math.top_k(np.array([True, False]))


def test_top_k_k_errors():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"top_k: k=4 is larger than the last axis of the input, shape "
                       r"\[2,3\]; choose k <= 3 .*\(" + HERE):
        jg.math.top_k(x, k=4)
    with pytest.raises(errors.InvalidArgumentError, match=r"top_k: k must be >= 0, got -1 \("
                       + HERE):
        jg.math.top_k(x, k=-1)
    with pytest.raises(errors.InvalidArgumentError, match="top_k: k must be a scalar integer"):
        jg.math.top_k(x, k=1.5)
    with pytest.raises(errors.InvalidArgumentError, match="top_k: needs an input of rank >= 1"):
        jg.math.top_k(3.0)


def test_top_k_errors_while_tracing_and_at_run_time():
    @jg.function
    def f(t):
        return jg.math.top_k(t, k=5).values

    with pytest.raises(errors.InvalidArgumentError, match=r"top_k: k=5 .*\(" + HERE):
        f(np.ones((2, 3), np.float32))
    # unknown last dim: checked with the run-time shape, before any native code runs
    g = jg.function(lambda t: jg.math.top_k(t, k=5).values,
                    input_signature=[jg.TensorSpec([None], jg.float32)])
    np.testing.assert_array_equal(g(np.arange(6, dtype=np.float32)).numpy(), [5, 4, 3, 2, 1])
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"top_k: k=5 is larger than the last axis.*shape \[3\].*\("
                       + HERE):
        g(np.ones(3, np.float32))

    @jg.function
    def symbolic_k(t, k):
        return jg.math.top_k(t, k=k).values

    with pytest.raises(errors.InvalidArgumentError, match="k must be known when tracing"):
        symbolic_k(np.ones(3, np.float32), jg.constant(2))


def test_top_k_result_and_aliases():
    x = jg.constant([[1.0, 5.0, 3.0, 5.0]])
    r = jg.math.top_k(x, k=3)
    values, indices = r
    assert r.values is values and r.indices is indices
    np.testing.assert_array_equal(values.numpy(), [[5, 5, 3]])
    np.testing.assert_array_equal(indices.numpy(), [[1, 3, 2]])  # ties: lower index first
    assert indices.dtype == jg.int32
    assert jg.nn.top_k is jg.math.top_k and jg.nn.in_top_k is jg.math.in_top_k
    f = jg.function(lambda t: jg.math.top_k(t, k=2))
    out = f(x)
    np.testing.assert_array_equal(out.indices.numpy(), [[1, 3]])
    assert not hasattr(jg, "top_k")  # tf.math.top_k / tf.nn.top_k only, as in TensorFlow
    wide = jg.math.top_k(x, k=jg.Variable(2), index_type=jg.int64)
    assert wide.indices.dtype == jg.int64
    np.testing.assert_array_equal(wide.indices.numpy(), [[1, 3]])
    with pytest.raises(errors.InvalidArgumentError, match="index_type must be int32 or int64"):
        jg.math.top_k(x, index_type=jg.float32)
    with pytest.raises(errors.InvalidArgumentError, match=r"in_top_k: k must be >= 0"):
        jg.math.in_top_k([0], x, -1)


def test_argsort_is_stable_and_ignores_the_flag():
    x = [2, 1, 2, 1, 2]
    for stable in (False, True):
        np.testing.assert_array_equal(jg.argsort(x, stable=stable).numpy(), [1, 3, 0, 2, 4])
        np.testing.assert_array_equal(
            jg.argsort(x, direction="DESCENDING", stable=stable).numpy(), [0, 2, 4, 1, 3])


def test_nan_sorts_as_largest():
    x = np.array([1.0, np.nan, -np.inf, 3.0], np.float32)
    f = jg.function(lambda t: (jg.sort(t), jg.sort(t, direction="DESCENDING"),
                               jg.math.top_k(t, 2).values))
    up, down, top = (v.numpy() for v in f(x))
    np.testing.assert_array_equal(up, [-np.inf, 1, 3, np.nan])
    np.testing.assert_array_equal(down, [np.nan, 3, 1, -np.inf])
    np.testing.assert_array_equal(top, [np.nan, 3])


def test_gradients_scatter_to_the_source_positions():
    x = jg.constant([3.0, 1.0, 2.0, 0.5])
    w = jg.constant([1.0, 10.0, 100.0])
    with jg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        s = jg.reduce_sum(jg.sort(x, direction="DESCENDING")[:3] * w)
        t = jg.reduce_sum(jg.math.top_k(x, 3).values * w)
        a = jg.cast(jg.argsort(x), jg.float32)
    np.testing.assert_array_equal(tape.gradient(s, x).numpy(), [1, 100, 10, 0])
    np.testing.assert_array_equal(tape.gradient(t, x).numpy(), [1, 100, 10, 0])
    g = tape.gradient(a, x)  # integer indices carry no gradient (TensorFlow: None)
    assert g is None or not np.any(g.numpy())

    # compiled, and second order through take_along_axis / take_along_axis_grad
    @jg.function
    def hess_diag(v):
        with jg.GradientTape() as t2:
            t2.watch(v)
            with jg.GradientTape() as t1:
                t1.watch(v)
                y = jg.reduce_sum(jg.square(jg.math.top_k(v, 2).values))
            gy = t1.gradient(y, v)
            z = jg.reduce_sum(gy * v)
        return gy, t2.gradient(z, v)

    gy, h = hess_diag(np.array([3.0, 1.0, 2.0]))
    np.testing.assert_allclose(gy.numpy(), [6, 0, 4])
    np.testing.assert_allclose(h.numpy(), [12, 0, 8])


@pytest.mark.parametrize("axis", [0, 1])
def test_long_rows_on_the_worker_pool(axis):
    x = np.random.RandomState(0).randint(0, 50, (600, 700)).astype(np.float32)
    f = jg.function(lambda t: (jg.sort(t, axis=axis), jg.argsort(t, axis=axis,
                                                                  direction="DESCENDING")))
    values, order = f(x)
    np.testing.assert_array_equal(values.numpy(), np.sort(x, axis))
    want = (x.shape[axis] - 1) - np.flip(np.argsort(np.flip(x, axis), axis, kind="stable"),
                                         axis)
    np.testing.assert_array_equal(order.numpy(), want)
    top = jg.function(lambda t: jg.math.top_k(t, 10))(x)
    want = np.argsort(-x, -1, kind="stable")[:, :10]
    np.testing.assert_array_equal(top.indices.numpy(), want)


def test_unknown_dims_and_empty_rows():
    f = jg.function(lambda t: jg.sort(t, axis=0),
                    input_signature=[jg.TensorSpec([None, None], jg.int32)])
    for shape in [(5, 3), (0, 4), (4, 0), (1, 1)]:
        x = np.random.RandomState(1).randint(-9, 9, shape).astype(np.int32)
        np.testing.assert_array_equal(f(x).numpy(), np.sort(x, 0))
    g = jg.function(lambda t: jg.math.top_k(t, 0).indices)
    assert g(np.ones((3, 4), np.float32)).shape == (3, 0)


def test_sort_inside_a_loop():
    @jg.function
    def f(x):
        for _ in jg.range(3):
            x = jg.sort(x * -1.0)
        return x

    x = np.array([0.5, -2.0, 3.0, 1.0], np.float32)
    np.testing.assert_array_equal(f(x).numpy(), np.sort(-x))


def test_in_top_k_follows_tensorflow():
    p = np.array([[0.1, 0.5, 0.5, 0.2],  # tie at the boundary: both in the top 1
                  [0.9, 0.1, 0.0, 0.0],
                  [0.9, np.inf, 0.0, 0.0],  # a non-finite prediction: False
                  [0.1, 0.2, 0.3, 0.4]], np.float32)
    t = np.array([2, 0, 0, 7], np.int32)  # 7 is out of range: False
    want = [True, True, False, False]
    np.testing.assert_array_equal(jg.math.in_top_k(t, p, 1).numpy(), want)
    f = jg.function(lambda a, b: jg.math.in_top_k(a, b, k=1),
                    input_signature=[jg.TensorSpec([None], jg.int32),
                                     jg.TensorSpec([None, None], jg.float32)])
    np.testing.assert_array_equal(f(t, p).numpy(), want)
    with pytest.raises(errors.InvalidArgumentError, match="in_top_k: predictions must be"):
        jg.math.in_top_k(t, t, 1)


def test_long_rows_and_one_long_vector():
    rng = np.random.RandomState(5)
    for dtype, shape in [(np.float64, (8, 40000)), (np.int32, (3, 50000)),
                         (np.float32, (300_000,))]:
        x = rng.randint(0, 999, shape).astype(dtype)
        values, order = jg.function(lambda t: (jg.sort(t), jg.argsort(t)))(x)
        np.testing.assert_array_equal(order.numpy(), np.argsort(x, -1, kind="stable"))
        np.testing.assert_array_equal(values.numpy(), np.sort(x, -1))


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_gradients_of_large_sorts_scatter_in_parallel(backend):
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use("emulator")
    try:
        rows, n = (600, 700) if backend == "cpu" else (70, 90)
        x = np.random.RandomState(3).standard_normal((rows, n))
        w = np.random.RandomState(4).standard_normal((rows, n))

        @jg.function(backend=backend)
        def grads(v, u):
            with jg.GradientTape() as tape:
                tape.watch(v)
                y = jg.reduce_sum(jg.sort(v, axis=0) * u) + \
                    jg.reduce_sum(jg.math.top_k(v, 5).values * u[:, :5])
            return tape.gradient(y, v)

        got = grads(x, w).numpy()
        want = np.zeros_like(x)
        np.put_along_axis(want, np.argsort(x, 0), w, 0)
        top = np.argsort(-x, -1)[:, :5]
        t = np.zeros_like(x)
        np.put_along_axis(t, top, w[:, :5], -1)
        np.testing.assert_allclose(got, want + t, rtol=1e-12)
        graph = grads.get_concrete_function(x, w).graph
        assert {"sort", "top_k"} <= {op.type for op in graph.get_operations()}
    finally:
        cuda_driver.use(before)


def test_float16_on_every_backend():
    from jitgraph.codegen import cuda_driver

    x = np.array([[3, -0.0, np.nan, 0.0, 1, -np.inf, 1]], np.float16)
    want = [np.sort(x, -1, kind="stable"), [[2, 0, 4, 6, 1, 3, 5]], [[2, 0, 4]]]
    before = cuda_driver.use("emulator")
    try:
        for backend in ("cpu", "cuda", "interpreter"):
            f = jg.function(lambda t: (jg.sort(t), jg.argsort(t, direction="DESCENDING"),
                                       jg.math.top_k(t, 3).indices), backend=backend)
            for got, w in zip(f(x), want):
                np.testing.assert_array_equal(got.numpy(), w)
    finally:
        cuda_driver.use(before)
