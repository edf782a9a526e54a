"""erfc as an op, the incomplete gamma function's derivative w.r.t. a, jg.random.gamma's
gradient w.r.t. alpha and jg.math.betainc (ops/special.py, codegen/special_math.py,
special_beta.py, ops/random_dist.py): accuracy against mpmath and SciPy, float64 finite
differences of every gradient, TensorFlow's values and gradients (skipped without it), the
compiled backends and the cuda emulator, special values and errors."""

import math

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import special_math as SM
from jitgraph.codegen import vecmath
from jitgraph.ops.core import apply

mp = pytest.importorskip("mpmath")
_rng = np.random.default_rng(11)


def _rel_err(got, want, dtype):
    """Relative error in units of 2**-52 (float64) or ulp of float32 (2**-23)."""
    unit = 2.0**-52 if dtype == np.float64 else 2.0**-23
    with np.errstate(all="ignore"):
        return np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want),
                                                                  np.finfo(dtype).tiny) / unit


def _mp(fn, *arrays, dps=30):
    with mp.workdps(dps):
        return np.array([float(fn(*[mp.mpf(float(v)) for v in vs])) for vs in zip(*arrays)])


def _compiled(fn, backend="cpu"):
    return jg.function(fn, backend=backend)


def _fd_check(fn, args, wrt, rtol=1e-6, atol=1e-12, eps=1e-6):
    """The tape gradient of sum(w * fn) w.r.t. args[wrt] == float64 central differences of
    fn in a random direction."""
    rng = np.random.default_rng(len(args) + wrt)
    xs = [jg.constant(a) for a in args]
    with jg.GradientTape() as t:
        t.watch(xs[wrt])
        y = fn(*xs)
    w = rng.standard_normal(y.shape.as_list())
    g = t.gradient(y, xs[wrt], output_gradients=jg.constant(w)).numpy()
    v = rng.standard_normal(np.shape(args[wrt])) * np.abs(args[wrt]) * eps

    def f(s):
        moved = list(args)
        moved[wrt] = args[wrt] + s * v
        return float(np.sum(w * fn(*[jg.constant(a) for a in moved]).numpy()))

    numeric = (f(1.0) - f(-1.0)) / 2.0
    analytic = float(np.sum(g * v))
    assert abs(numeric - analytic) <= rtol * abs(numeric) + atol * np.abs(v).sum(), \
        (numeric, analytic)


# ----------------------------------------------------------------------------- erf, erfc


def _erfc_points():
    r = _rng
    x = np.concatenate([r.uniform(-6, 27.2, 500), np.exp(r.uniform(-30, 3.3, 200)),
                        -np.exp(r.uniform(-30, 1.8, 200)), [0.5, -0.5, 0.0, 26.5, 27.2]])
    return x


@pytest.fixture(scope="module")
def erf_reference():
    x = _erfc_points()
    x32 = x.astype(np.float32)
    return {"erfc": (x, _mp(mp.erfc, x), x32, _mp(mp.erfc, x32)),
            "erf": (x, _mp(mp.erf, x), x32, _mp(mp.erf, x32))}


@pytest.mark.parametrize("name", ["erfc", "erf"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_erf_erfc_accuracy_against_mpmath(name, dtype, erf_reference):
    x, want, x32, want32 = erf_reference[name]
    if dtype == np.float32:
        x, want = x32, want32.astype(np.float32).astype(np.float64)
    tiny = np.finfo(dtype).tiny
    ok = np.abs(want) > tiny
    # erf: vecmath's kernel compiled, the C library's erf eagerly and on the interpreter;
    # both within 1 ulp here (vecmath's 0.51 float64 bound does not hold near x ~ 1e-6,
    # where x * 2/sqrt(pi) rounds twice: 0.997 units measured at x = 8.47e-7)
    bound = SM.ACCURACY["erfc"] if name == "erfc" else vecmath.ACCURACY["erf"]
    bound = bound[0 if dtype == np.float64 else 1]
    fn = getattr(jg.math, name)
    for backend in ("eager", "interpreter", "cpu"):
        got = (fn(x) if backend == "eager" else _compiled(fn, backend)(x)).numpy()
        assert got.dtype == dtype
        err = _rel_err(got[ok], want[ok], dtype)
        worst = int(np.argmax(err))
        limit = max(bound, 1.0) if name == "erf" else bound
        assert err[worst] <= limit, (name, dtype, backend, x[ok][worst], err[worst])
        assert np.all(np.abs(got[~ok]) <= tiny)  # erfc's underflow, erf(0)


def test_erfc_special_values_and_tail():
    x = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, 30.0, -30.0])
    want = [2.0, 0.0, np.nan, 1.0, 1.0, 0.0, 2.0]
    for dtype in (np.float64, np.float32):
        for backend in ("interpreter", "cpu"):
            np.testing.assert_array_equal(_compiled(jg.math.erfc, backend)(x.astype(dtype))
                                          .numpy(), np.array(want, dtype))
        np.testing.assert_array_equal(jg.math.erfc(x.astype(dtype)).numpy(),
                                      np.array(want, dtype))
    # float32: no cancellation (1 - erf(9.5) would be 0), the result rounded once
    x = np.array([3.0, 6.0, 9.5, 10.0], np.float32)
    want = np.array([math.erfc(v) for v in x.astype(np.float64)]).astype(np.float32)
    np.testing.assert_array_equal(_compiled(jg.math.erfc)(x).numpy(), want)


def test_erfc_gradient_by_finite_differences_and_exact():
    x = np.concatenate([np.linspace(-4, 5, 37), [0.49, 0.5, 0.51, -0.5, 12.0]])
    _fd_check(jg.math.erfc, [x], 0, rtol=1e-7)
    xt = jg.constant(x)
    with jg.GradientTape() as t:
        t.watch(xt)
        y = jg.math.erfc(xt)
    np.testing.assert_allclose(t.gradient(y, xt).numpy(),
                               -2 / np.sqrt(np.pi) * np.exp(-x * x), rtol=1e-14, atol=1e-300)


def test_erfc_gradient_graph_is_small():
    """erfc is one op: its gradient graph is a handful of ops (the composite it replaces had
    ~100 and took seconds to compile)."""
    def gr(x):
        with jg.GradientTape() as t:
            t.watch(x)
            y = jg.reduce_sum(jg.math.erfc(x) * x)
        return t.gradient(y, x)

    f = jg.function(gr, backend="interpreter")
    graph = f.get_concrete_function(jg.TensorSpec([None], jg.float64)).graph
    assert len(graph.ops) < 20, len(graph.ops)
    x = np.linspace(-2, 3, 11)
    want = -2 / np.sqrt(np.pi) * np.exp(-x * x) * x + np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(jg.function(gr)(x).numpy(), want, rtol=1e-13)


@pytest.mark.slow
def test_erf_callers_still_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    x = np.linspace(-5, 5, 41).astype(np.float32)
    want = tf.nn.gelu(x, approximate=False).numpy()
    np.testing.assert_allclose(jg.nn.gelu(x, approximate=False).numpy(), want,
                               rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(jg.keras.activations.gelu(jg.constant(x),
                                                                    approximate=False)),
                               want, rtol=2e-6, atol=1e-7)
    xd = x.astype(np.float64) * 3.0
    np.testing.assert_allclose(_compiled(jg.math.erfc)(xd).numpy(), tf.math.erfc(xd).numpy(),
                               rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(jg.math.erf(xd).numpy(), tf.math.erf(xd).numpy(), rtol=1e-15)


# ----------------------------------------------------------------------------- igamma w.r.t. a


def _igamma_grad_a_mp(a, x):
    """dP/da: the derivative of P below x = a, of -Q above (each without cancellation)."""
    if x < a:
        return mp.diff(lambda s: mp.gammainc(s, 0, x, regularized=True), a)
    return -mp.diff(lambda s: mp.gammainc(s, x, mp.inf, regularized=True), a)


def _grad_a(a, x):
    return apply("igamma_grad_a", a, x)


def test_igamma_grad_a_against_mpmath():
    a = np.exp(_rng.uniform(math.log(1e-3), math.log(100), 150))
    x = a * np.exp(_rng.uniform(-4, 3, 150))
    a = np.concatenate([a, [1e-3, 0.5, 2.0, 50.0, 1.0, 0.01]])
    x = np.concatenate([x, [1e-300, 1e-5, 30.0, 50.0, 700.0, 1e-8]])
    want = _mp(_igamma_grad_a_mp, a, x)
    ok = np.abs(want) > 1e-300
    for got in (_grad_a(a, x).numpy(), _compiled(_grad_a)(a, x).numpy()):
        err = _rel_err(got[ok], want[ok], np.float64)
        assert err.max() <= SM.ACCURACY["igamma_grad_a"][0], (a[ok][np.argmax(err)],
                                                              x[ok][np.argmax(err)])
    a32, x32 = a.astype(np.float32), x.astype(np.float32)
    want32 = _mp(_igamma_grad_a_mp, a32, x32).astype(np.float32).astype(np.float64)
    ok = np.abs(want32) > np.finfo(np.float32).tiny
    got = _compiled(_grad_a)(a32, x32).numpy()
    assert _rel_err(got[ok], want32[ok], np.float32).max() <= \
        SM.ACCURACY["igamma_grad_a"][1]


@pytest.mark.parametrize("fn", [jg.math.igamma, jg.math.igammac], ids=["igamma", "igammac"])
def test_igamma_gradient_wrt_a_by_finite_differences_over_a_grid(fn):
    a = np.array([1e-3, 0.05, 0.5, 1.0, 3.7, 20.0, 150.0])
    x = np.array([1e-6, 0.02, 0.4, 1.0, 3.0, 9.0, 40.0, 200.0])
    aa, xx = [v.ravel() for v in np.meshgrid(a, x)]
    _fd_check(fn, [aa, xx], 0, rtol=1e-6, atol=1e-9)
    _fd_check(fn, [aa, xx], 1, rtol=1e-6, atol=1e-9)
    with jg.GradientTape() as t:  # igammac's is minus igamma's
        at = jg.constant(aa)
        t.watch(at)
        y = fn(at, xx)
    want = _grad_a(aa, xx).numpy() * (1.0 if fn is jg.math.igamma else -1.0)
    np.testing.assert_array_equal(t.gradient(y, at).numpy(), want)


def test_igamma_grad_a_mixed_second_derivative_and_graph_gradient():
    a, x = np.array([0.3, 2.5, 8.0]), np.array([0.7, 2.0, 13.0])
    _fd_check(_grad_a, [a, x], 1, rtol=1e-6)  # d/dx dP/da = d/da density
    f = jg.function(lambda a, x: jg.reduce_sum(jg.math.igamma(a, x) * x))
    with jg.GradientTape() as t:
        at = jg.constant(a)
        t.watch(at)
        y = jg.reduce_sum(jg.math.igamma(at, x) * x)
    np.testing.assert_allclose(jg.grad(f)(a, x).numpy(), t.gradient(y, at).numpy(),
                               rtol=1e-14)


def test_igamma_grad_a_special_values_as_tensorflow():
    a = np.array([1.0, 1.0, 1.0, 0.0, -1.0, 2.0, np.nan])
    x = np.array([0.0, np.inf, 1e-300, 1.0, 1.0, -1.0, 1.0])
    want = [0.0, 0.0, -6.91198312e-298, np.nan, np.nan, np.nan, np.nan]  # TensorFlow 2.21
    for backend in ("interpreter", "cpu"):
        np.testing.assert_allclose(_compiled(_grad_a, backend)(a, x).numpy(), want,
                                   rtol=1e-8)


@pytest.mark.slow
def test_igamma_gradients_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    a = np.exp(_rng.uniform(-5, 5, 200))
    x = a * np.exp(_rng.uniform(-3, 3, 200))
    av = tf.Variable(a)
    with tf.GradientTape(persistent=True) as t:
        p, q = tf.math.igamma(av, x), tf.math.igammac(av, x)
    for fn, want in ((jg.math.igamma, t.gradient(p, av)), (jg.math.igammac, t.gradient(q, av))):
        at = jg.constant(a)
        with jg.GradientTape() as jt:
            jt.watch(at)
            y = fn(at, x)
        np.testing.assert_allclose(jt.gradient(y, at).numpy(), want.numpy(), rtol=1e-9,
                                   atol=1e-13)


# ----------------------------------------------------------------------------- gamma samples


def test_random_gamma_grad_against_mpmath_and_tensorflow():
    a = np.exp(_rng.uniform(math.log(1e-3), math.log(100), 80))
    x = a * np.exp(_rng.uniform(-4, 2, 80))
    dens = _mp(lambda u, v: mp.exp((u - 1) * mp.log(v) - v - mp.loggamma(u)), a, x)
    want = -_mp(_igamma_grad_a_mp, a, x) / dens
    ok = np.isfinite(want)
    for got in (apply("random_gamma_grad", a, x).numpy(),
                _compiled(lambda a, x: apply("random_gamma_grad", a, x))(a, x).numpy()):
        assert _rel_err(got[ok], want[ok], np.float64).max() <= \
            SM.ACCURACY["random_gamma_grad"][0]
    a32, x32 = a.astype(np.float32), x.astype(np.float32)
    dens = _mp(lambda u, v: mp.exp((u - 1) * mp.log(v) - v - mp.loggamma(u)), a32, x32)
    want32 = (-_mp(_igamma_grad_a_mp, a32, x32) / dens).astype(np.float32).astype(np.float64)
    got = _compiled(lambda a, x: apply("random_gamma_grad", a, x))(a32, x32).numpy()
    ok = np.isfinite(want32) & (np.abs(want32) > np.finfo(np.float32).tiny)
    assert _rel_err(got[ok], want32[ok], np.float32).max() <= \
        SM.ACCURACY["random_gamma_grad"][1]
    got = apply("random_gamma_grad", [1.0, 2.0, 0.5, 0.001, 0.0, -1.0],
                [0.5, 2.0, 0.0, 1e-300, 1.0, 1.0]).numpy()
    np.testing.assert_allclose(got, [0.806979117, 1.08620858, 0.0, 0.0, np.nan, np.nan],
                               rtol=1e-8)  # TensorFlow's; 6.9e-295 underflows in float32


@pytest.mark.slow
def test_random_gamma_grad_special_values_against_tensorflow():
    tf = pytest.importorskip("tensorflow")
    got = apply("random_gamma_grad", [1.0, 2.0, 0.5, 0.001], [0.5, 2.0, 0.0, 1e-300]).numpy()
    np.testing.assert_allclose(got, tf.raw_ops.RandomGammaGrad(
        alpha=np.array([1.0, 2.0, 0.5, 0.001], np.float32),
        sample=np.array([0.5, 2.0, 0.0, 1e-300], np.float32)).numpy(), rtol=1e-6)


@pytest.mark.slow
def test_gamma_sample_gradient_matches_tensorflows_for_its_samples():
    """TensorFlow's tf.random.gamma gradient for its own samples == jitgraph's
    random_gamma_grad at those samples (divided by beta), element by element."""
    tf = pytest.importorskip("tensorflow")
    alpha = np.array([0.01, 0.3, 1.0, 2.5, 9.0, 120.0] * 5)
    beta = np.array([1.0, 2.0, 0.5] * 10)
    av = tf.Variable(alpha)
    with tf.GradientTape() as t:
        s = tf.random.gamma([], av, beta=beta, dtype=tf.float64, seed=4)
    want = t.gradient(s, av).numpy()
    got = apply("random_gamma_grad", alpha, s.numpy() * beta).numpy() / beta
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-300)


@pytest.mark.parametrize("alpha", [pytest.param(0.3, marks=pytest.mark.slow), 2.0,
                                   pytest.param(15.0, marks=pytest.mark.slow)])
def test_gamma_gradient_statistically(alpha):
    """Implicit reparameterization is unbiased: the mean gradient of f(x) over samples is
    d E[f(x)] / d alpha, for f(x) = x (1 / beta), x^2 ((2 alpha + 1) / beta^2) and log x
    (trigamma(alpha))."""
    beta, n = 2.0, 20000

    def grads(a):
        with jg.GradientTape(persistent=True) as t:
            t.watch(a)
            x = jg.random.stateless_gamma([n], [7, 8], a, beta=beta, dtype=jg.float64)
            fs = [jg.reduce_mean(x), jg.reduce_mean(x * x), jg.reduce_mean(jg.math.log(x))]
        return [float(t.gradient(f, a).numpy()) for f in fs], x.numpy()

    (g1, g2, g3), x = grads(jg.constant(alpha, jg.float64))
    want = [1 / beta, (2 * alpha + 1) / beta**2, float(mp.psi(1, alpha))]
    # the per-sample gradients' spread bounds the error of their mean
    a = jg.constant(np.full(n, alpha))
    with jg.GradientTape() as t:
        t.watch(a)
        xs = jg.random.stateless_gamma([], [7, 8], a, beta=beta, dtype=jg.float64)
    per = t.gradient(xs, a).numpy()
    assert np.all(per >= 0.0)  # samples grow with alpha
    sd = [per.std(), (2 * x * per).std(), (per / x).std()]
    for got, w, s in zip((g1, g2, g3), want, sd):
        assert abs(got - w) < 5 * s / math.sqrt(n), (got, w, s)


def test_gamma_gradient_on_every_backend():
    from jitgraph.codegen import cuda_driver

    def fn(a):
        with jg.GradientTape() as t:
            t.watch(a)
            x = jg.random.stateless_gamma([16], [1, 2], a, beta=[1.5, 3.0, 0.5])
        return x, t.gradient(x, a)

    a = jg.constant([0.4, 1.0, 7.5])
    eager = [v.numpy() for v in fn(a)]
    before = cuda_driver.use("emulator")
    try:
        for backend in ("interpreter", "cpu", "cuda"):
            got = [v.numpy() for v in jg.function(fn, backend=backend)(a)]
            for g, e in zip(got, eager):
                np.testing.assert_allclose(g, e, rtol=2e-5)
    finally:
        cuda_driver.use(before)
    # the forward pass computes no derivative: no random_gamma_grad op without a tape
    graph = jg.function(lambda a: jg.random.stateless_gamma([4], [1, 2], a),
                        backend="interpreter").get_concrete_function(a).graph
    assert not any(op.type == "random_gamma_grad" for op in graph.ops)


# ----------------------------------------------------------------------------- betainc


def _betainc_mp(a, b, x):
    return mp.betainc(a, b, 0, x, regularized=True)


def _beta_points(n, lo=1e-3, hi=1e3):
    a = np.exp(_rng.uniform(math.log(lo), math.log(hi), n))
    b = np.exp(_rng.uniform(math.log(lo), math.log(hi), n))
    x = _rng.uniform(0, 1, n)
    x[: n // 8] = np.exp(_rng.uniform(-30, 0, n // 8))
    x[n // 8: n // 4] = 1 - np.exp(_rng.uniform(-30, -1, n // 4 - n // 8))
    return a, b, x


def _reflected(a, b, x):
    return x > (a + 1) / (a + b + 2)


def test_betainc_against_mpmath_and_scipy():
    a, b, x = _beta_points(300, hi=100.0)
    want = _mp(_betainc_mp, a, b, x)
    direct = ~_reflected(a, b, x) & (want > 1e-300)
    for got in (jg.math.betainc(a, b, x).numpy(), _compiled(jg.math.betainc)(a, b, x).numpy()):
        assert np.max(np.abs(got - want)) < 1e-13
        err = _rel_err(got[direct], want[direct], np.float64)
        assert err.max() <= SM.ACCURACY["betainc"][0], (a[direct][np.argmax(err)],
                                                        b[direct][np.argmax(err)])
    a32, b32, x32 = [v.astype(np.float32) for v in (a, b, x)]
    want32 = _mp(_betainc_mp, a32, b32, x32).astype(np.float32).astype(np.float64)
    got = _compiled(jg.math.betainc)(a32, b32, x32).numpy()
    ok = ~_reflected(a32, b32, x32) & (want32 > np.finfo(np.float32).tiny)
    assert _rel_err(got[ok], want32[ok], np.float32).max() <= SM.ACCURACY["betainc"][1]
    assert np.max(np.abs(got - want32)) < 1e-7
    scipy_special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(jg.math.betainc(a, b, x).numpy(),
                               scipy_special.betainc(a, b, x), rtol=0, atol=1e-13)


def test_betainc_large_parameters_converge():
    """The 300 double steps suffice far beyond the accuracy grid (a, b ~ 1e5; SciPy's
    values, as mpmath's series stop converging there); a, b ~ 1e3 within 1e-12."""
    scipy_special = pytest.importorskip("scipy.special")
    a = np.array([1e4, 5e4, 1e5, 3.0, 1e5])
    b = np.array([1e4, 2e4, 1e5, 1e5, 2.0])
    x = np.array([0.501, 0.71, 0.4995, 3e-5, 0.99998])
    np.testing.assert_allclose(jg.math.betainc(a, b, x).numpy(), scipy_special.betainc(a, b, x),
                               rtol=1e-9, atol=1e-13)
    a, b, x = _beta_points(100, lo=100.0, hi=1000.0)
    np.testing.assert_allclose(jg.math.betainc(a, b, x).numpy(),
                               _mp(_betainc_mp, a, b, x), rtol=0, atol=1e-12)


def test_betainc_special_values_as_tensorflow():
    a = [0.5, 2.0, 0.0, -1.0, 1.0, 2.0, 2.0, 2.0, 2.0, np.nan, 0.0, 0.0]
    b = [0.5, 3.0, 1.0, 1.0, 0.0, 3.0, 3.0, 3.0, 3.0, 1.0, 0.0, 1.0]
    x = [0.3, 0.4, 0.5, 0.5, 0.5, 0.0, 1.0, -0.1, 1.1, 0.5, 0.5, 0.0]
    want = [0.36901012, 0.5248, np.nan, np.nan, np.nan, 0.0, 1.0, np.nan, np.nan, np.nan,
            np.nan, np.nan]  # TensorFlow 2.21
    for backend in ("interpreter", "cpu"):
        got = _compiled(jg.math.betainc, backend)(np.array(a), np.array(b), np.array(x))
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-7)
    got = jg.math.betainc(np.float32(2.0), np.float32(3.0), np.array([0.0, 0.4, 1.0],
                                                                     np.float32))
    assert got.dtype == jg.float32
    np.testing.assert_allclose(got.numpy(), [0.0, 0.5248, 1.0], rtol=1e-6)


def test_betainc_broadcasts():
    a = np.array([[0.5], [2.0], [30.0]])
    b = np.array([0.7, 4.0, 0.2, 80.0])
    x = np.linspace(0.05, 0.95, 4)
    got = _compiled(jg.math.betainc)(a, b, x).numpy()
    assert got.shape == (3, 4)
    want = _mp(_betainc_mp, *[v.ravel() for v in np.broadcast_arrays(a, b, x)]).reshape(3, 4)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.slow
def test_betainc_and_its_x_gradient_match_tensorflow():
    tf = pytest.importorskip("tensorflow")
    a = np.array([[0.5], [2.0], [30.0]])
    b = np.array([0.7, 4.0, 0.2, 80.0])
    x = np.linspace(0.05, 0.95, 4)
    got = jg.math.betainc(a, b, x).numpy()
    aa, bb, xx = np.broadcast_arrays(a, b, x)
    np.testing.assert_allclose(got, tf.math.betainc(aa, bb, xx).numpy(), rtol=1e-10,
                               atol=1e-14)
    av, bv, xv = (tf.Variable(v) for v in (aa, bb, xx))
    with tf.GradientTape(persistent=True) as t:
        y_tf = tf.math.betainc(av, bv, xv)
    assert t.gradient(y_tf, av) is None and t.gradient(y_tf, bv) is None  # TensorFlow's
    xt = jg.constant(xx)
    with jg.GradientTape() as jt:
        jt.watch(xt)
        y = jg.math.betainc(aa, bb, xt)
    np.testing.assert_allclose(jt.gradient(y, xt).numpy(), t.gradient(y_tf, xv).numpy(),
                               rtol=1e-10)
    a, b, x = _beta_points(300, hi=100.0)  # random points: TensorFlow's absolute error
    np.testing.assert_allclose(jg.math.betainc(a, b, x).numpy(),
                               tf.math.betainc(a, b, x).numpy(), rtol=0, atol=1e-12)


def test_betainc_gradients_by_finite_differences():
    a = np.array([0.05, 0.5, 1.0, 2.5, 7.0, 40.0, 0.3, 12.0])
    b = np.array([0.3, 2.0, 1.0, 0.7, 7.0, 3.0, 60.0, 12.0])
    x = np.array([0.2, 0.5, 0.9, 0.3, 0.45, 0.93, 0.004, 0.6])
    for wrt in range(3):
        _fd_check(jg.math.betainc, [a, b, x], wrt, rtol=1e-6, atol=1e-9)
    for name in ("betainc_grad_a", "betainc_grad_b"):  # their x-derivatives
        _fd_check(lambda a, b, x, n=name: apply(n, a, b, x), [a, b, x], 2, rtol=1e-6,
                  atol=1e-9)


def test_betainc_gradients_against_mpmath():
    a, b, x = _beta_points(60, lo=0.01, hi=100)
    for which, k in (("betainc_grad_a", 0), ("betainc_grad_b", 1)):
        def d(u, v, w, k=k):
            f = (lambda s: _betainc_mp(s, v, w)) if k == 0 else (lambda s: _betainc_mp(u, s, w))
            return mp.diff(f, (u, v)[k])

        want = _mp(d, a, b, x)
        for got in (apply(which, a, b, x).numpy(),
                    _compiled(lambda a, b, x, n=which: apply(n, a, b, x))(a, b, x).numpy()):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)
            direct = ~_reflected(a, b, x) & (np.abs(want) > 1e-250)
            np.testing.assert_allclose(got[direct], want[direct], rtol=1e-10)


def test_the_cuda_emulator_runs_the_new_kernels():
    from jitgraph.codegen import cuda_driver

    def f(x):
        return (jg.math.erfc(x * 4.0 - 1.0) + jg.math.betainc(2.5, x + 0.5, x)
                + apply("igamma_grad_a", x + 0.2, x * 3.0)
                + apply("random_gamma_grad", x + 0.1, x)
                + apply("betainc_grad_b", 1.5, 2.0, x))

    x = np.linspace(0.01, 0.99, 64)
    before = cuda_driver.use("emulator")
    try:
        for dtype in (np.float32, np.float64):
            got = jg.function(f, backend="cuda")(x.astype(dtype)).numpy()
            want = jg.function(f, backend="cpu")(x.astype(dtype)).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    finally:
        cuda_driver.use(before)


def test_errors_name_the_op_and_what_to_do():
    with pytest.raises(errors.InvalidArgumentError, match=r"betainc: .*int32.*jg\.cast"):
        jg.math.betainc([1, 2], [1, 2], [0, 1])
    with pytest.raises(errors.InvalidArgumentError, match=r"erfc: .*int32.*jg\.cast"):
        jg.math.erfc([1, 2])
    with pytest.raises(errors.InvalidArgumentError, match=r"betainc.*shape"):
        jg.math.betainc(np.ones(3), np.ones(4), 0.5)


@pytest.mark.slow  # the op cases' PTX (tests/test_cuda_ptx.py) assembles them at -O0
@pytest.mark.parametrize("dtype", [jg.float32, jg.float64])
def test_new_kernels_become_ptx_that_ptxas_assembles_optimized(dtype, tmp_path):
    """The kernels with their counted loops (igamma's, betainc's) through LLVM's NVPTX
    target, assembled with ptxas -O3 for sm_80 and sm_90 where ptxas is installed."""
    import shutil
    import subprocess

    import llvmlite.ir as llvmlite_ir

    from jitgraph.codegen import cuda
    from jitgraph.codegen import ptx as P

    def f(a, x):
        return (jg.math.erfc(x) + jg.math.betainc(a, a + 1.0, x) + _grad_a(a, x)
                + apply("random_gamma_grad", a, x) + apply("betainc_grad_a", a, 2.0, x)
                + apply("betainc_grad_b", a, 2.0, x) + jg.math.igammac(a, x))

    spec = jg.TensorSpec([None], dtype)
    graph = jg.function(f, backend="interpreter").get_concrete_function(spec, spec).graph
    module = llvmlite_ir.Module("special_incomplete")
    cuda.Build(graph, module, prefix="s_")
    for arch in ("sm_80", "sm_90"):
        text = P.to_ptx(module, arch)
        assert ".entry" in text
        if shutil.which("ptxas"):
            src = tmp_path / f"m_{arch}.ptx"
            src.write_text(text)
            r = subprocess.run(["ptxas", "-O3", f"-arch={arch}", str(src), "-o",
                                str(tmp_path / "m.cubin")], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[:3000]


# ----------------------------------------------------------------------------- properties


def test_betainc_properties():
    """Compiled == eager; I_x(a, b) = 1 - I_{1-x}(b, a); monotone in x; and the gradients'
    reflection identity dI_x(a, b)/da = -dI_{1-x}(b, a)/db, over random a, b, x."""
    rng = np.random.default_rng(21)
    a, b = np.exp(rng.uniform(math.log(0.01), math.log(100.0), (2, 200)))
    x = np.concatenate([rng.uniform(0, 1, 190), [0.0, 1.0, 0.5, 1e-300, 1 - 2**-53] * 2])
    got = jg.function(lambda a, b, x: jg.stack(
        [jg.math.betainc(a, b, x), jg.math.betainc(b, a, 1.0 - x),
         apply("betainc_grad_a", a, b, x), apply("betainc_grad_b", b, a, 1.0 - x)]))(a, b, x)
    got = got.numpy()
    # eager and compiled differ in the last bits of exp/log, times the exponent's size
    np.testing.assert_allclose(got[0], jg.math.betainc(a, b, x).numpy(), rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(got[0], 1.0 - got[1], rtol=0, atol=2e-13)
    np.testing.assert_allclose(got[2], -got[3], rtol=1e-9, atol=1e-11)
    xs = np.sort(x)
    for k in range(3):
        steps = np.diff(jg.math.betainc(np.full(200, a[k]), np.full(200, b[k]), xs).numpy())
        assert np.all(steps >= -1e-15)


def test_igamma_properties():
    """P + Q = 1, compiled == eager for dP/da, and random_gamma_grad = -(dP/da) / density
    wherever the density does not underflow, over random a, x."""
    rng = np.random.default_rng(22)
    a = np.exp(rng.uniform(math.log(0.01), math.log(100.0), 200))
    x = np.concatenate([a[:150] * np.exp(rng.uniform(-5, 2, 150)), rng.uniform(0, 300, 50)])
    p, q, g, r = jg.function(lambda a, x: jg.stack(
        [jg.math.igamma(a, x), jg.math.igammac(a, x), _grad_a(a, x),
         apply("random_gamma_grad", a, x)]))(a, x).numpy()
    np.testing.assert_allclose(p + q, 1.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(g, _grad_a(a, x).numpy(), rtol=1e-12, atol=1e-300)
    dens = np.exp((a - 1) * np.log(x) - x - np.array([math.lgamma(v) for v in a]))
    ok = dens > 1e-200
    np.testing.assert_allclose(r[ok], -g[ok] / dens[ok], rtol=1e-9)
