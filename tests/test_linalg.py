"""jg.linalg factorizations and solves (ops/linalg_ops.py, codegen/linalg_kernels.py):
batches, float32 accuracy against numpy.linalg, sizes from hypothesis, singular and
non-positive-definite inputs eagerly and compiled (cpu, interpreter, cuda emulator), user
errors, gradients through jg.function; eigh, qr, svd (reconstruction, orthogonality, the
sign conventions, TensorFlow's gradients), pinv, matrix_rank, the matrix 2-norm. op_cases.py
holds the differential cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import cuda_driver

BACKENDS = ["cpu", "interpreter", "cuda"]


@pytest.fixture(autouse=True)
def _emulated_gpu():
    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


def _spd(rng, *shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    n = shape[-1]
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _wc(rng, *shape, dtype=np.float64):
    n = shape[-1]
    return (rng.standard_normal(shape) + 2 * np.sqrt(n) * np.eye(n)).astype(dtype)


def _run(fn, *args, backend):
    if backend == "eager":
        return fn(*args)
    return jg.function(fn, backend=backend)(*args)


# one lambda a line: AutoGraph finds a lambda's source by its line
JG = {
    "cholesky": lambda a, b: jg.linalg.cholesky(a),
    "solve": lambda a, b: jg.linalg.solve(a, b),
    "inv": lambda a, b: jg.linalg.inv(a),
    "det": lambda a, b: jg.linalg.det(a),
    "logdet": lambda a, b: jg.linalg.slogdet(a)[1],
    "cholesky_solve": lambda a, b: jg.linalg.cholesky_solve(jg.linalg.cholesky(a), b),
    "triangular_solve": lambda a, b: jg.linalg.triangular_solve(a, b),
    "lu_solve": lambda a, b: jg.linalg.lu_solve(*jg.linalg.lu(a), b),
}
NP = {
    "cholesky": lambda a, b: np.linalg.cholesky(a),
    "solve": np.linalg.solve,
    "inv": lambda a, b: np.linalg.inv(a),
    "det": lambda a, b: np.linalg.det(a),
    "logdet": lambda a, b: np.linalg.slogdet(a)[1],
    "cholesky_solve": np.linalg.solve,
    "triangular_solve": lambda a, b: np.linalg.solve(np.tril(a), b),
    "lu_solve": np.linalg.solve,
}


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("op", sorted(JG))
def test_batched_float32_matches_numpy(op, backend):
    rng = np.random.default_rng(0)
    a = _spd(rng, 2, 3, 8, 8, dtype=np.float32)
    b = rng.standard_normal((2, 3, 8, 5)).astype(np.float32)
    fn, ref = JG[op], NP[op]
    got = _run(fn, a, b, backend=backend).numpy()
    want = ref(a.astype(np.float64), b.astype(np.float64))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4 * np.abs(want).max())


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_many_matrices_run_in_parallel_and_agree(backend):
    # 64 matrices of 32x32: above the worker pool's threshold on the cpu
    rng = np.random.default_rng(1)
    a, b = _wc(rng, 64, 32, 32), rng.standard_normal((64, 32, 4))
    s = _spd(rng, 64, 32, 32)
    f = jg.function(lambda a, b, s: (jg.linalg.solve(a, b), jg.linalg.inv(a),
                                      jg.linalg.cholesky(s), jg.linalg.det(a)), backend=backend)
    x, ainv, ll, d = f(a, b, s)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ainv.numpy(), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ll.numpy(), np.linalg.cholesky(s), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d.numpy(), np.linalg.det(a), rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 32), k=st.integers(1, 4), batch=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_sizes_solve_inv_cholesky(n, k, batch, seed):
    rng = np.random.default_rng(seed)
    a, s = _wc(rng, batch, n, n), _spd(rng, batch, n, n)
    b = rng.standard_normal((batch, n, k))
    f = jg.function(lambda a, b, s: (jg.linalg.solve(a, b), jg.linalg.inv(a),
                                      jg.linalg.cholesky(s)))
    x, ainv, ll = f(a, b, s)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ainv.numpy(), np.linalg.inv(a), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ll.numpy(), np.linalg.cholesky(s), rtol=1e-9, atol=1e-11)


def test_pivoting_handles_a_zero_leading_entry():
    a = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [4.0, -3.0, 8.0]])
    b = np.arange(6.0).reshape(3, 2)
    for backend in BACKENDS:
        f = jg.function(lambda a, b: (jg.linalg.solve(a, b), jg.linalg.det(a),
                                      jg.linalg.slogdet(a)[0]), backend=backend)
        x, d, sign = f(a, b)
        np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-12)
        np.testing.assert_allclose(d.numpy(), np.linalg.det(a), rtol=1e-12)
        assert sign.numpy() == np.sign(np.linalg.det(a))


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_lu_matches_scipy_and_keeps_singular_columns(backend):
    sla = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 6, 6))
    a[1, :, 2] = 0.0  # no pivot in column 2: no error, a zero on U's diagonal
    lower_upper, perm = _run(jg.linalg.lu, a, backend=backend)
    assert perm.dtype == jg.int32
    for m, lu_m, p_m in zip(a, lower_upper.numpy(), perm.numpy()):
        p, ll, u = sla.lu(m)  # m == p @ ll @ u
        np.testing.assert_allclose(np.tril(lu_m, -1) + np.eye(6), ll, atol=1e-12)
        np.testing.assert_allclose(np.triu(lu_m), u, atol=1e-12)
        np.testing.assert_allclose(m[p_m], ll @ u, atol=1e-12)


def test_unknown_batch_and_size():
    rng = np.random.default_rng(2)
    spec = jg.TensorSpec([None, None, None], jg.float64)
    f = jg.function(lambda a, b: jg.linalg.solve(a, b), input_signature=[spec, spec])
    for batch, n in [(1, 3), (4, 7), (2, 1)]:
        a, b = _wc(rng, batch, n, n), rng.standard_normal((batch, n, 2))
        np.testing.assert_allclose(f(a, b).numpy(), np.linalg.solve(a, b), rtol=1e-10)


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_empty_matrices(backend):
    a = np.zeros((2, 0, 0))
    d = _run(lambda a: jg.linalg.det(a), a, backend=backend).numpy()
    np.testing.assert_array_equal(d, [1.0, 1.0])
    assert _run(lambda a: jg.linalg.inv(a), a, backend=backend).shape == (2, 0, 0)
    assert _run(lambda a: jg.linalg.cholesky(a), np.zeros((0, 3, 3)),
                backend=backend).shape == (0, 3, 3)


# ----------------------------------------------------------------------------- failures

SINGULAR = np.array([[[1.0, 2.0], [2.0, 4.0]], [[1.0, 0.0], [0.0, 1.0]]])
NOT_PD = np.array([[[2.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("what", ["inv", "solve", "cholesky"])
def test_singular_and_not_positive_definite_raise(what, backend):
    fn, arg, text = {
        "inv": (jg.linalg.inv, SINGULAR, "matrix_inverse.*Input is not invertible"),
        "solve": (lambda a: jg.linalg.solve(a, np.ones((2, 2, 1))), SINGULAR,
                  "matrix_solve.*Input matrix is not invertible"),
        "cholesky": (jg.linalg.cholesky, NOT_PD, "cholesky.*not successful"),
    }[what]
    with pytest.raises(errors.InvalidArgumentError, match=text):
        _run(fn, arg, backend=backend)


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_nan_propagates_without_error(backend):
    # as numpy.linalg and TensorFlow (Eigen's checks compare with 0, false for NaN)
    x = np.full((2, 2), np.nan)
    assert np.isnan(_run(jg.linalg.cholesky, x, backend=backend).numpy()[1, 1])
    assert np.isnan(_run(jg.linalg.inv, x, backend=backend).numpy()).all()


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_singular_determinant_is_zero(backend):
    d = _run(jg.linalg.det, SINGULAR, backend=backend).numpy()
    sign, logabs = _run(jg.linalg.slogdet, SINGULAR, backend=backend)
    np.testing.assert_array_equal(d, [0.0, 1.0])
    np.testing.assert_array_equal(sign.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(logabs.numpy(), [-np.inf, 0.0])


def test_compiled_error_names_the_user_line_and_next_call_succeeds():
    f = jg.function(lambda a: jg.linalg.inv(a) * 2.0)
    with pytest.raises(errors.InvalidArgumentError, match=r"test_linalg.py:\d+"):
        f(SINGULAR)
    np.testing.assert_allclose(f(np.eye(2)[None] * [[[2.0]]]).numpy(), [np.eye(2)])


@pytest.mark.parametrize("fn, args, text", [
    (jg.linalg.cholesky, [np.ones((2, 3))], r"cholesky: matrix must be square.*\[2,3\]"),
    (jg.linalg.inv, [np.ones(3)], r"matrix_inverse: matrix must have rank >= 2.*\[3\]"),
    (jg.linalg.det, [np.ones((3, 3), np.int32)], r"must be float32 or float64.*jg.cast"),
    (jg.linalg.solve, [np.eye(3), np.ones((4, 1))], r"rhs needs 3 rows"),
    (jg.linalg.solve, [np.eye(3), np.ones(3)], r"rhs must have rank >= 2.*expand_dims"),
    (jg.linalg.solve, [np.eye(3), np.ones((3, 1), np.float32)],
     r"solve: matrix is float64 but rhs is float32; jg.cast"),
    (jg.linalg.triangular_solve, [np.ones((2, 3, 3)), np.ones((4, 3, 1))],
     r"triangular_solve: the batch axes of matrix \[2,3,3\] and rhs \[4,3,1\] do not"),
])
def test_user_errors_name_op_shapes_and_line(fn, args, text):
    for run in (fn, jg.function(fn)):
        with pytest.raises(errors.InvalidArgumentError, match=text) as e:
            run(*args)
        assert "test_linalg.py:" in str(e.value)


# ----------------------------------------------------------------------------- gradients


def _fd(f, x, v, eps=1e-6):
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("which", ["cholesky", "inv", "det", "logdet", "solve"])
def test_gradients_compiled_match_finite_differences(which):
    rng = np.random.default_rng(3)
    a0 = rng.standard_normal((2, 4, 4))
    b = rng.standard_normal((2, 4, 2))
    w = rng.standard_normal((2, 4, 4))
    body = {
        "cholesky": lambda a: jg.reduce_sum(jg.linalg.cholesky(
            a @ jg.linalg.adjoint(a) + 4 * np.eye(4)) * w),
        "inv": lambda a: jg.reduce_sum(jg.linalg.inv(a + 4 * np.eye(4)) * w),
        "det": lambda a: jg.reduce_sum(jg.linalg.det(a) * [1.0, -2.0]),
        "logdet": lambda a: jg.reduce_sum(jg.linalg.slogdet(a)[1]),
        "solve": lambda a: jg.reduce_sum(jg.linalg.solve(a + 4 * np.eye(4), b) * w[..., :2]),
    }[which]
    grad = jg.function(jg.grad(body))
    v = rng.standard_normal(a0.shape)
    numeric = _fd(lambda x: float(body(jg.constant(x)).numpy()), a0, v)
    analytic = float(np.sum(grad(a0).numpy() * v))
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric))


def test_second_order_gradient_of_inverse():
    a = jg.constant(np.array([[3.0, 1.0], [0.5, 2.0]]))
    with jg.GradientTape() as outer:
        outer.watch(a)
        with jg.GradientTape() as inner:
            inner.watch(a)
            y = jg.reduce_sum(jg.linalg.inv(a))
        g = jg.reduce_sum(inner.gradient(y, a) ** 2)
    h = outer.gradient(g, a).numpy()

    def g_np(x):
        inv = np.linalg.inv(x)
        return np.sum((-inv.T @ np.ones((2, 2)) @ inv.T) ** 2)

    v = np.array([[0.3, -0.2], [0.1, 0.4]])
    assert abs(_fd(g_np, a.numpy(), v) - np.sum(h * v)) < 1e-6


def test_diag_transpose_and_adjoint():
    d = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(jg.linalg.diag(d).numpy(),
                                  d[..., None] * np.eye(3))
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(jg.linalg.matrix_transpose(x).numpy(),
                                  np.swapaxes(x, -1, -2))
    np.testing.assert_array_equal(jg.linalg.adjoint(x).numpy(), np.swapaxes(x, -1, -2))


# ----------------------------------------------------------------------------- eigh


def _sym(rng, *shape, dtype=np.float64):
    a = rng.standard_normal(shape)
    return ((a + np.swapaxes(a, -1, -2)) / 2).astype(dtype)


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eigh_batched_reconstructs_and_is_orthonormal(backend, dtype):
    rng = np.random.default_rng(5)
    a = _sym(rng, 3, 2, 6, 6, dtype=dtype)
    low = np.tril(a) + np.triu(rng.standard_normal(a.shape), 1).astype(dtype)  # upper ignored
    e, v = _run(lambda x: jg.linalg.eigh(x), low, backend=backend)
    e, v = e.numpy(), v.numpy()
    assert e.shape == (3, 2, 6) and v.shape == (3, 2, 6, 6) and e.dtype == dtype
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(e, np.linalg.eigvalsh(a.astype(np.float64)), atol=tol * 4)
    assert np.all(np.diff(e, axis=-1) >= 0)  # TensorFlow's ascending order
    np.testing.assert_allclose((v * e[..., None, :]) @ np.swapaxes(v, -1, -2), a, atol=tol * 4)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(6), v.shape),
                               atol=tol)
    big = np.take_along_axis(v, np.argmax(np.abs(v), -2)[..., None, :], -2)
    assert np.all(big > 0)  # the documented sign convention


@settings(max_examples=10, deadline=None)
@given(n=st.integers(0, 9), seed=st.integers(0, 2**16))
def test_eigh_compiled_matches_eager_for_any_size(n, seed):
    a = _sym(np.random.default_rng(seed), 2, n, n) + np.diag(np.arange(n) * 3.0)
    e0, v0 = jg.linalg.eigh(a)
    e1, v1 = jg.function(lambda x: jg.linalg.eigh(x))(a)
    np.testing.assert_allclose(e1.numpy(), e0.numpy(), atol=1e-11)
    np.testing.assert_allclose(v1.numpy(), v0.numpy(), atol=1e-9)


def test_eigh_repeated_eigenvalues_and_large_matrix():
    e, v = jg.function(lambda x: jg.linalg.eigh(x))(np.eye(4) * 2.0)
    np.testing.assert_allclose(e.numpy(), [2.0] * 4)
    np.testing.assert_allclose(v.numpy() @ v.numpy().T, np.eye(4), atol=1e-14)
    a = _sym(np.random.default_rng(1), 64, 64)
    e, v = jg.function(lambda x: jg.linalg.eigh(x))(a)
    np.testing.assert_allclose(e.numpy(), np.linalg.eigvalsh(a), atol=1e-12)
    np.testing.assert_allclose((v.numpy() * e.numpy()) @ v.numpy().T, a, atol=1e-12)


def test_eigh_gradient_matches_finite_differences_eager_and_graph():
    rng = np.random.default_rng(2)
    a = _sym(rng, 5, 5) + np.diag([0.0, 2.0, 4.0, 6.0, 8.0])
    w = rng.standard_normal((5, 5))

    def loss(x):
        e, v = jg.linalg.eigh(x)
        return jg.reduce_sum(e * e[::-1]) + jg.reduce_sum(jg.constant(w) * v * v)  # any sign of v

    g_eager = jg.grad(loss)(jg.constant(a)).numpy()
    g_graph = jg.grad(jg.function(loss))(a).numpy()
    np.testing.assert_allclose(g_graph, g_eager, atol=1e-10)
    assert np.all(np.triu(g_eager, 1) == 0)  # only the lower triangle is read
    d = np.tril(rng.standard_normal((5, 5)))
    eps = 1e-6
    num = (float(loss(jg.constant(a + eps * d))) -
           float(loss(jg.constant(a - eps * d)))) / (2 * eps)
    assert abs(num - np.sum(g_eager * d)) < 1e-6 * max(1.0, abs(num))


@pytest.mark.slow
def test_eigh_gradient_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(2)
    a = _sym(rng, 5, 5) + np.diag([0.0, 2.0, 4.0, 6.0, 8.0])
    w = rng.standard_normal((5, 5))

    def loss(x):
        e, v = jg.linalg.eigh(x)
        return jg.reduce_sum(e * e[::-1]) + jg.reduce_sum(jg.constant(w) * v * v)

    g_eager = jg.grad(loss)(jg.constant(a)).numpy()
    x = tf.constant(a)
    with tf.GradientTape() as t:
        t.watch(x)
        e, v = tf.linalg.eigh(x)
        y = tf.reduce_sum(e * e[::-1]) + tf.reduce_sum(w * v * v)
    np.testing.assert_allclose(g_eager, t.gradient(y, x).numpy(), atol=1e-10)


def test_eigh_degenerate_gradient_stays_finite_and_eigvalsh_gradient():
    x = jg.constant(np.eye(3))
    with jg.GradientTape() as t:
        t.watch(x)
        e, v = jg.linalg.eigh(x)
        y = jg.reduce_sum(v) + jg.reduce_sum(e)
    assert np.all(np.isfinite(t.gradient(y, x).numpy()))  # _SafeReciprocal: 0, not inf
    a = _sym(np.random.default_rng(3), 4, 4)
    g = jg.grad(lambda m: jg.reduce_sum(jg.linalg.eigvalsh(m)))(jg.constant(a)).numpy()
    np.testing.assert_allclose(g, np.eye(4), atol=1e-12)  # d trace / dA on the lower triangle


def test_eigh_errors_name_the_op():
    with pytest.raises(errors.InvalidArgumentError, match="self_adjoint_eig: matrix must be squ"):
        jg.linalg.eigh(np.zeros((2, 3)))
    with pytest.raises(errors.InvalidArgumentError, match="self_adjoint_eig: matrix must be flo"):
        jg.linalg.eigh(np.eye(2, dtype=np.int32))


# ----------------------------------------------------------------------------- qr, svd


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("shape", [(3, 6, 4), (2, 3, 5), (4, 4)])
def test_qr_matches_numpy_signs_included(backend, shape):
    a = np.random.default_rng(8).standard_normal(shape)
    q, r = _run(lambda x: jg.linalg.qr(x), a, backend=backend)
    qn, rn = np.linalg.qr(a)  # LAPACK, as TensorFlow: same signs
    np.testing.assert_allclose(q.numpy(), qn, atol=1e-12)
    np.testing.assert_allclose(r.numpy(), rn, atol=1e-12)
    assert np.all(np.tril(r.numpy(), -1) == 0)


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("shape", [(3, 6, 4), (2, 3, 5), (5, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_svd_reconstructs_with_orthonormal_vectors(backend, shape, dtype):
    a = np.random.default_rng(9).standard_normal(shape).astype(dtype)
    s, u, v = _run(lambda x: jg.linalg.svd(x), a, backend=backend)
    s, u, v = s.numpy(), u.numpy(), v.numpy()
    k = min(shape[-2:])
    assert s.shape == shape[:-2] + (k,) and u.shape == shape[:-1] + (k,)
    assert v.shape == shape[:-2] + (shape[-1], k) and s.dtype == dtype
    tol = 3e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(s, np.linalg.svd(a.astype(np.float64), compute_uv=False),
                               atol=tol)
    assert np.all(np.diff(s, axis=-1) <= 0)
    np.testing.assert_allclose((u * s[..., None, :]) @ np.swapaxes(v, -1, -2), a, atol=tol)
    eye = np.broadcast_to(np.eye(k), shape[:-2] + (k, k))
    np.testing.assert_allclose(np.swapaxes(u, -1, -2) @ u, eye, atol=tol)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, eye, atol=tol)
    big = np.take_along_axis(u, np.argmax(np.abs(u), -2)[..., None, :], -2)
    assert np.all(big > 0)  # the documented sign convention


@settings(max_examples=10, deadline=None)
@given(m=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_qr_svd_compiled_match_eager_for_any_size(m, n, seed):
    a = np.random.default_rng(seed).standard_normal((2, m, n))
    f = jg.function(lambda x: (jg.linalg.qr(x), jg.linalg.svd(x)))
    (q, r), (s, u, v) = f(a)
    (q0, r0), s0 = jg.linalg.qr(a), jg.linalg.svd(a, compute_uv=False)
    for got, want in [(q, q0), (r, r0), (s, s0)]:
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)
    np.testing.assert_allclose((u.numpy() * s.numpy()[..., None, :]) @ np.swapaxes(
        v.numpy(), -1, -2), a, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_qr_and_svd_gradients_are_tensorflows(shape):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(10)
    k = min(shape)
    a = rng.standard_normal(shape)
    a[range(k), range(k)] += np.array([5.0, 3.0, 1.5, 0.7][:k])  # distinct singular values
    w = [rng.standard_normal(x) for x in [(shape[0], k), (k, shape[1]), (k,),
                                          (shape[0], k), (shape[1], k), (shape[0], 1)]]

    def loss(lib, x, const):  # the singular vectors enter sign-invariantly
        q, r = lib.linalg.qr(x)
        s, u, v = lib.linalg.svd(x)
        c = [const(z) for z in w]
        return (lib.reduce_sum(q * c[0]) + lib.reduce_sum(r * c[1]) + lib.reduce_sum(s * c[2])
                + lib.reduce_sum(u * u * c[3]) + lib.reduce_sum(v * v * c[4])
                + lib.reduce_sum(u[:, :1] * v[:1, :1] * c[5]))

    x = tf.constant(a)
    with tf.GradientTape() as t:
        t.watch(x)
        y = loss(tf, x, tf.constant)
    want = t.gradient(y, x).numpy()
    f = lambda x: loss(jg, x, jg.constant)  # noqa: E731
    np.testing.assert_allclose(jg.grad(f)(jg.constant(a)).numpy(), want, atol=1e-9)
    np.testing.assert_allclose(jg.grad(jg.function(f))(a).numpy(), want, atol=1e-9)


def test_pinv_matrix_rank_and_the_matrix_2_norm():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((2, 5, 3))
    low = a[0] @ rng.standard_normal((3, 4))  # rank 3
    for backend in ("eager", "cpu", "cuda"):
        np.testing.assert_allclose(_run(jg.linalg.pinv, a, backend=backend).numpy(),
                                   np.linalg.pinv(a), atol=1e-12)
        assert int(_run(jg.linalg.matrix_rank, low, backend=backend)) == 3
        np.testing.assert_allclose(_run(lambda x: jg.norm(x, ord=2, axis=[-2, -1]), a,
                                        backend=backend).numpy(), np.linalg.norm(a, 2, (-2, -1)))


def test_qr_svd_errors_say_what_to_do():
    with pytest.raises(errors.UnimplementedError, match="qr: full_matrices=True for a tall"):
        jg.linalg.qr(np.zeros((3, 2)), full_matrices=True)
    with pytest.raises(errors.UnimplementedError, match="svd: full_matrices=True for a non-sq"):
        jg.linalg.svd(np.zeros((3, 2)), full_matrices=True)
    with pytest.raises(errors.InvalidArgumentError, match="svd: .*rank >= 2"):
        jg.linalg.svd(np.zeros(3))
    with pytest.raises(errors.InvalidArgumentError, match="qr: matrix must be float32"):
        jg.linalg.qr(np.zeros((2, 2), np.int32))
    f = jg.function(lambda x: jg.linalg.svd(x)[0],
                    input_signature=[jg.TensorSpec([None, 3], jg.float64)])
    with pytest.raises(errors.InvalidArgumentError, match="svd: needs the matrix size known"):
        f.get_concrete_function()
    s, u, v = jg.linalg.svd(np.eye(3), full_matrices=True)  # square: the same
    np.testing.assert_allclose(s.numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_svd_of_rank_deficient_matrices_keeps_u_orthonormal(backend):
    mats = [np.zeros((4, 3)), np.zeros((3, 5)), np.outer([1.0, 2.0, 3.0], [1.0, 0.0, 1.0, 2.0]),
            np.array([[1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])]
    for a in mats:
        s, u, v = _run(lambda x: jg.linalg.svd(x), a, backend=backend)
        s, u, v = s.numpy(), u.numpy(), v.numpy()
        k = min(a.shape)
        np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), atol=1e-12)
        np.testing.assert_allclose(u.T @ u, np.eye(k), atol=1e-12)
        np.testing.assert_allclose(v.T @ v, np.eye(k), atol=1e-12)
        np.testing.assert_allclose((u * s) @ v.T, a, atol=1e-12)


# -- the cpu's LAPACK path (codegen/linalg_decomp.py: eigh, svd, qr from LAPACK_MIN columns)
def _own_kernels(monkeypatch):
    from jitgraph.codegen import linalg_decomp

    monkeypatch.setattr(linalg_decomp, "LAPACK_MIN", dict.fromkeys(("eigh", "svd", "qr"), 1 << 40))


@pytest.mark.parametrize("dtype", [pytest.param(np.float32, marks=pytest.mark.slow), np.float64])
def test_lapack_and_own_kernels_agree_around_the_crossover(dtype, monkeypatch):
    from jitgraph.codegen import blas, linalg_decomp

    if blas.lapack_symbol("syevd", "float64") is None:
        pytest.skip("no LAPACK in this process: the own kernels run at every size")
    lo = linalg_decomp.LAPACK_MIN["eigh"]
    rng = np.random.default_rng(3)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    sym = [_sym(rng, 2, n, n, dtype=dtype) + np.diag(np.arange(n) * 0.5).astype(dtype)
           for n in (lo - 1, lo, 33)]
    gen = [rng.standard_normal(s).astype(dtype) for s in ((2, 40, lo), (2, lo, 40), (1, 37, 37))]
    qlo = linalg_decomp.LAPACK_MIN["qr"]
    tall = [rng.standard_normal(s).astype(dtype) for s in ((2, 40, qlo), (2, qlo - 1, 40),
                                                           (1, qlo, qlo + 5))]

    def both():
        f = jg.function(lambda x: jg.linalg.eigh(x))
        g = jg.function(lambda x: jg.linalg.svd(x))
        h = jg.function(lambda x: jg.linalg.qr(x))
        return ([[t.numpy() for t in f(a)] for a in sym], [[t.numpy() for t in g(a)] for a in gen],
                [[t.numpy() for t in h(a)] for a in tall])

    lapack = both()
    _own_kernels(monkeypatch)
    own = both()
    for (e, v), (e2, v2), a in zip(lapack[0], own[0], sym):
        np.testing.assert_allclose(e, np.linalg.eigvalsh(a.astype(np.float64)), atol=tol)
        np.testing.assert_allclose(e, e2, atol=tol)
        np.testing.assert_allclose(v, v2, atol=tol * 10)  # the same sign convention
    for (s, u, v), (s2, u2, v2), a in zip(lapack[1], own[1], gen):
        np.testing.assert_allclose(s, np.linalg.svd(a.astype(np.float64), compute_uv=False),
                                   atol=tol * 10)
        np.testing.assert_allclose(s, s2, atol=tol * 10)
        np.testing.assert_allclose(u, u2, atol=tol * 10)
        np.testing.assert_allclose(v, v2, atol=tol * 10)
        np.testing.assert_allclose((u * s[..., None, :]) @ np.swapaxes(v, -1, -2), a,
                                   atol=tol * 10)
    for (q, r), (q2, r2), a in zip(lapack[2], own[2], tall):
        q0, r0 = np.linalg.qr(a.astype(np.float64))  # LAPACK's signs on both paths
        k = min(a.shape[-2:])
        np.testing.assert_allclose(q[..., :k], q0, atol=tol * 10)
        np.testing.assert_allclose(r, r0, atol=tol * 10)
        np.testing.assert_allclose(q, q2, atol=tol * 10)
        np.testing.assert_allclose(r, r2, atol=tol * 10)


@pytest.mark.parametrize("lapack", [True, False])
def test_large_decompositions_of_degenerate_and_nan_input(lapack, monkeypatch):
    if not lapack:
        _own_kernels(monkeypatch)
    eig = jg.function(lambda x: jg.linalg.eigh(x))
    svd = jg.function(lambda x: jg.linalg.svd(x))
    z = np.zeros((30, 20))
    s, u, v = (t.numpy() for t in svd(z))
    np.testing.assert_array_equal(s, 0)
    np.testing.assert_allclose(u.T @ u, np.eye(20), atol=1e-12)
    np.testing.assert_allclose(v.T @ v, np.eye(20), atol=1e-12)
    e, v = (t.numpy() for t in eig(np.eye(20) * 3.0))
    np.testing.assert_allclose(e, 3.0)
    np.testing.assert_allclose(v @ v.T, np.eye(20), atol=1e-14)
    bad = _sym(np.random.default_rng(0), 2, 20, 20)
    bad[1, 3, 2] = np.nan
    e, v = (t.numpy() for t in eig(bad))
    assert np.isnan(e[1]).all() and np.isnan(v[1]).all()  # only the matrix with the NaN
    np.testing.assert_allclose(e[0], np.linalg.eigvalsh(bad[0]), atol=1e-12)
    s, u, v = (t.numpy() for t in svd(bad))
    assert np.isnan(s[1]).all()
    np.testing.assert_allclose(s[0], np.linalg.svd(bad[0], compute_uv=False), atol=1e-12)
