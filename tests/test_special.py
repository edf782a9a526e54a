"""jg.math's special functions (ops/special.py, codegen/special_math.py): accuracy against
mpmath in float64 and float32, eager and compiled (the bounds of special_math.ACCURACY);
special values as TensorFlow gives them; TensorFlow's gradients and second derivatives;
the cuda emulator; errors naming the op."""

import math

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import special_math as SM

mp = pytest.importorskip("mpmath")
mp.mp.dps = 30
_rng = np.random.default_rng(7)


def _ndtri_ref(p):
    digits = 40 + max(0, int(-mp.log10(p))) if p > 0 else 40  # 1 - 2p exactly
    with mp.workdps(digits):
        return -mp.sqrt(2) * mp.erfinv(1 - 2 * p)


def _f32(x):
    return x.astype(np.float32).astype(np.float64)


def _points(n):
    """(points representable in float32, float64-only tails) per function."""
    r = _rng
    wide = np.exp(r.uniform(-25, 40, n))
    return {
        "lgamma": (_f32(np.concatenate([r.uniform(0, 4, n), wide, [1.0, 2.0, 3.0, 4.0]])),
                   np.concatenate([1 + r.uniform(-1e-4, 1e-4, 20), 2 + r.uniform(-1e-4, 1e-4, 20),
                                   np.exp(r.uniform(40, 700, 20))])),
        "digamma": (_f32(np.concatenate([r.uniform(0, 12, n), wide])),
                    SM.X0_HI + r.uniform(-1e-5, 1e-5, 20)),
        "erfinv": (_f32(r.uniform(-1, 1, n)),
                   np.concatenate([1 - np.exp(r.uniform(-36, -1, 30)),
                                   np.exp(r.uniform(-200, 0, 30))])),
        "ndtri": (_f32(r.uniform(0, 1, n)),
                  np.concatenate([np.exp(r.uniform(-600, -1, 30)),
                                  1 - np.exp(r.uniform(-36, -1, 30))])),
        "bessel_i0e": (_f32(np.concatenate([r.uniform(-40, 40, n), wide])),
                       np.exp(r.uniform(40, 70, 10))),
        "bessel_i1e": (_f32(np.concatenate([r.uniform(-40, 40, n), -wide])),
                       -np.exp(r.uniform(40, 70, 10))),
    }


_REF = {
    "lgamma": lambda x: mp.loggamma(x),
    "digamma": mp.digamma,
    "erfinv": mp.erfinv,
    "ndtri": _ndtri_ref,
    "bessel_i0e": lambda x: mp.besseli(0, x) * mp.exp(-abs(x)),
    "bessel_i1e": lambda x: mp.besseli(1, x) * mp.exp(-abs(x)),
}
_FN = {name: getattr(jg.math, name) for name in _REF}


def _rel_err(got, want, dtype):
    """Relative error in units of 2**-52 (float64) or ulp of float32 (2**-23)."""
    unit = 2.0**-52 if dtype == np.float64 else 2.0**-23
    tiny = np.finfo(dtype).tiny
    with np.errstate(all="ignore"):
        return np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), tiny) / unit


@pytest.fixture(scope="module")
def reference():
    """name -> (float32 points, float64 points, exact values of both), computed once."""
    out = {}
    for name, (common, tails) in _points(150).items():
        x = np.concatenate([common, tails])
        out[name] = (common, x, np.array([float(_REF[name](mp.mpf(float(v)))) for v in x]))
    return out


@pytest.mark.parametrize("name", sorted(_REF))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accuracy_against_mpmath_eager_and_compiled(name, dtype, reference):
    common, x, want = reference[name]
    if dtype == np.float32:  # against the float32 value of the exact result
        x, want = common.astype(np.float32), want[:len(common)].astype(np.float32)
        want = want.astype(np.float64)
        ok = np.isfinite(want) & (np.abs(want) > np.finfo(np.float32).tiny)
    else:
        ok = np.isfinite(want)
    bound = SM.ACCURACY[name][0 if dtype == np.float64 else 1]
    compiled = jg.function(_FN[name])
    for got in (_FN[name](x).numpy(), compiled(x).numpy()):
        err = _rel_err(got[ok], want[ok], dtype)
        worst = int(np.argmax(err))
        assert err[worst] <= bound, (name, dtype, x[ok][worst], got[ok][worst], want[ok][worst])
        assert np.array_equal(np.isinf(got[~ok]), np.isinf(want[~ok]))


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_negative_arguments_by_reflection(name):
    x = -np.exp(_rng.uniform(-20, math.log(100), 400))
    x = x[x != np.round(x)]
    ref = (lambda v: mp.re(mp.loggamma(v))) if name == "lgamma" else mp.digamma
    want = np.array([float(ref(mp.mpf(float(v)))) for v in x])
    for got in (_FN[name](x).numpy(), jg.function(_FN[name])(x).numpy()):
        err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        assert err.max() <= SM.ABS_ACCURACY_NEG[name], x[np.argmax(err)]


def test_polygamma_and_zeta_against_mpmath():
    x = np.exp(_rng.uniform(-4, 6, 300))
    n = _rng.integers(0, 7, 300).astype(np.float64)
    want = np.array([float(mp.polygamma(int(k), mp.mpf(v))) for k, v in zip(n, x)])
    for got in (jg.math.polygamma(n, x).numpy(),
                jg.function(jg.math.polygamma)(n, x).numpy()):
        assert _rel_err(got, want, np.float64).max() <= SM.ACCURACY["polygamma"][0]
    s = n + 1.5
    want = np.array([float(mp.zeta(a, mp.mpf(v))) for a, v in zip(s, x)])
    assert _rel_err(jg.function(jg.math.zeta)(s, x).numpy(), want, np.float64).max() <= \
        SM.ACCURACY["zeta"][0]
    xn = -_rng.uniform(0.05, 8, 100)  # trigamma by its reflection everywhere on x < 0
    want = np.array([float(mp.polygamma(1, mp.mpf(v))) for v in xn])
    got = jg.math.polygamma(1.0, xn).numpy()
    assert np.max(np.abs(got - want) / np.abs(want)) < 1e-11


def test_igamma_igammac_against_mpmath():
    a = np.exp(_rng.uniform(-5, math.log(100), 200))
    x = a * np.exp(_rng.uniform(-3, 3, 200))
    want_p = np.array([float(mp.gammainc(mp.mpf(u), 0, mp.mpf(v), regularized=True))
                       for u, v in zip(a, x)])
    for fn, want in ((jg.math.igamma, want_p), (jg.math.igammac, 1 - want_p)):
        for got in (fn(a, x).numpy(), jg.function(fn)(a, x).numpy()):
            assert np.max(np.abs(got - want)) < 3e-13
    got = jg.function(jg.math.igammac)(a, x).numpy()
    want_q = np.array([float(mp.gammainc(mp.mpf(u), mp.mpf(v), mp.inf, regularized=True))
                       for u, v in zip(a, x)])
    ok = want_q > 1e-300
    assert _rel_err(got[ok], want_q[ok], np.float64).max() <= SM.ACCURACY["igammac"][0]
    # TensorFlow's special values
    got = jg.math.igamma([1.0, 2.0, 0.0, -1.0, 3.0, 2.0], [1.0, 0.0, 1.0, 1.0, np.inf, -1.0])
    np.testing.assert_allclose(got.numpy(), [1 - math.exp(-1), 0, np.nan, np.nan, 1, np.nan],
                               rtol=1e-6)
    a = jg.constant([0.5, 3.0])
    x = jg.constant([0.8, 2.0])
    with jg.GradientTape(persistent=True) as t:
        t.watch([a, x])
        p = jg.math.igamma(a, x)
    np.testing.assert_allclose(t.gradient(p, x).numpy(),
                               [float(mp.diff(lambda v, u=u: mp.gammainc(u, 0, v, regularized=True),
                                              w)) for u, w in [(0.5, 0.8), (3.0, 2.0)]],
                               rtol=1e-5)
    np.testing.assert_allclose(  # TensorFlow's igamma_grad_a (tests/test_special_incomplete.py)
        t.gradient(p, a).numpy(),
        [float(mp.diff(lambda s, w=w: mp.gammainc(s, 0, w, regularized=True), u))
         for u, w in [(0.5, 0.8), (3.0, 2.0)]], rtol=1e-6)


# TensorFlow 2.21's values (tf.math.*, float64)
_SPECIAL = [
    ("lgamma", [0.0, -1.0, -0.0, 1e-30, 3.0, np.inf, -np.inf, np.nan],
     [np.inf, np.inf, np.inf, 69.07755278982137, math.log(2), np.inf, np.inf, np.nan]),
    ("digamma", [0.0, -1.0, -0.0, 1e-30, np.inf, -np.inf, np.nan],
     [np.nan, np.nan, np.nan, -1e30, np.inf, np.nan, np.nan]),
    ("erfinv", [0.0, -1.0, 1.0, 1.5, np.nan], [0.0, -np.inf, np.inf, np.nan, np.nan]),
    ("ndtri", [0.0, 1.0, 0.5, -0.1, np.nan], [-np.inf, np.inf, 0.0, np.nan, np.nan]),
    ("bessel_i0e", [0.0, np.inf, -np.inf, np.nan], [1.0, 0.0, 0.0, np.nan]),
    ("bessel_i1e", [0.0, np.inf, -np.inf, np.nan], [0.0, 0.0, -0.0, np.nan]),
]


@pytest.mark.parametrize("name,x,want", _SPECIAL, ids=[s[0] for s in _SPECIAL])
def test_special_values_as_tensorflow(name, x, want):
    x = np.array(x)
    for backend in ("interpreter", "cpu"):
        got = jg.function(_FN[name], backend=backend)(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-15)
    got = _FN[name](x.astype(np.float32)).numpy()
    np.testing.assert_allclose(got, np.array(want, np.float32), rtol=1e-6)


def test_polygamma_zeta_special_values():
    n = np.array([1.0, 1.0, -1.0, 1.5, 0.0])
    x = np.array([-1.5, 0.0, 2.0, 2.0, -1.5])
    got = jg.function(jg.math.polygamma)(n, x).numpy()
    np.testing.assert_allclose(got, [9.37924664, np.inf, np.nan, np.nan, 0.70315664],
                               rtol=1e-8)
    got = jg.math.zeta(np.array([2.0, 1.0, 0.5, 2.0]), np.array([1.0, 3.0, 1.0, -1.0])).numpy()
    np.testing.assert_allclose(got, [math.pi**2 / 6, np.inf, np.nan, np.inf])


def _grads(fn, x, order=1):
    x = jg.constant(x)
    with jg.GradientTape() as t2:
        t2.watch(x)
        with jg.GradientTape() as t1:
            t1.watch(x)
            y = fn(x)
        g = t1.gradient(y, x)
    return g.numpy() if order == 1 else t2.gradient(g, x).numpy()


def test_gradients_are_tensorflows_rules():
    x = np.array([0.3, 1.5, -2.5, 7.0])
    np.testing.assert_allclose(_grads(jg.math.lgamma, x), jg.math.digamma(x).numpy())
    np.testing.assert_allclose(_grads(jg.math.lgamma, x, 2),
                               jg.math.polygamma(1.0, x).numpy())
    np.testing.assert_allclose(_grads(jg.math.digamma, x),
                               [float(mp.psi(1, v)) for v in x], rtol=1e-12)
    y = np.array([-0.9, -0.2, 0.0, 0.6])
    np.testing.assert_allclose(_grads(jg.math.erfinv, y),
                               [float(mp.diff(mp.erfinv, v)) for v in y], rtol=1e-10)
    p = np.array([1e-5, 0.2, 0.5, 0.97])
    np.testing.assert_allclose(_grads(jg.math.ndtri, p),
                               [float(mp.sqrt(2 * mp.pi) * mp.exp(_ndtri_ref(mp.mpf(v)) ** 2 / 2))
                                for v in p], rtol=1e-12)  # 1 / phi(ndtri(p))
    b = np.array([-3.0, 0.0, 1e-20, 2.5, 30.0])
    np.testing.assert_allclose(_grads(jg.math.bessel_i0e, b),
                               [float(mp.diff(_REF["bessel_i0e"], v)) for v in b],
                               rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(_grads(jg.math.bessel_i1e, b),
                               [float(mp.diff(_REF["bessel_i1e"], v)) for v in b],
                               rtol=1e-10, atol=1e-15)


def test_graph_gradient_matches_tape():
    """jg.grad of a jg.function (the graph transform) uses the same rules."""
    f = jg.function(lambda x: jg.reduce_sum(jg.math.lgamma(x) * jg.math.bessel_i1e(x)
                                            + jg.math.polygamma(3.0, x)))
    x = np.array([0.7, 2.2, 9.0])
    with jg.GradientTape() as t:
        xt = jg.constant(x)
        t.watch(xt)
        y = f.python_function(xt)
    np.testing.assert_allclose(jg.grad(f)(x).numpy(), t.gradient(y, xt).numpy(), rtol=1e-13)


def test_no_gradient_for_the_order_arguments():
    n, x = jg.constant(2.0), jg.constant([1.5, 3.0])
    with jg.GradientTape(persistent=True) as t:
        t.watch([n, x])
        y = jg.math.polygamma(n, x)
        z = jg.math.zeta(n + 1.0, x)
    assert t.gradient(y, n) is None and t.gradient(z, n) is None
    np.testing.assert_allclose(t.gradient(z, x).numpy(),
                               -3.0 * jg.math.zeta(4.0, [1.5, 3.0]).numpy())


def test_cuda_emulator_runs_the_special_kernels():
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use("emulator")
    try:
        x = np.linspace(-3.7, 20.0, 64).astype(np.float32)
        f = jg.function(lambda x: jg.math.lgamma(x) + jg.math.digamma(x) * jg.math.bessel_i0e(x)
                        + jg.math.erfinv(x / 25.0) + jg.math.igamma(2.5, jg.abs(x)),
                        backend="cuda")
        g = jg.function(f.python_function, backend="cpu")
        np.testing.assert_allclose(f(x).numpy(), g(x).numpy(), rtol=1e-6, atol=1e-6)
    finally:
        cuda_driver.use(before)


def test_lbeta_and_friends():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    np.testing.assert_allclose(jg.math.lbeta(a).numpy(), [-0.6931472, -4.0943446], rtol=1e-6)
    assert np.all(np.isneginf(jg.math.lbeta(np.zeros((2, 0))).numpy()))
    r = np.array([1.0, -2.0, -0.0])
    assert jg.math.real(r).numpy().tolist() == r.tolist()
    assert jg.math.imag(r).numpy().tolist() == [0.0, 0.0, 0.0]
    assert jg.math.conj(r).numpy().tolist() == r.tolist()
    np.testing.assert_allclose(jg.math.angle(r).numpy(), [0.0, math.pi, 0.0])
    np.testing.assert_array_equal(jg.math.xdivy([0.0, 1.0], [0.0, 0.0]).numpy(), [0.0, np.inf])
    x, y = jg.constant([0.0, 2.0]), jg.constant([-1.0, 0.5])
    with jg.GradientTape() as t:
        t.watch(y)
        z = jg.math.xlog1py(x, y)
    assert np.all(np.isfinite(t.gradient(z, y).numpy()))


def test_errors_name_the_op_and_what_to_do():
    with pytest.raises(errors.InvalidArgumentError, match=r"lgamma: .*int32.*jg\.cast"):
        jg.math.lgamma([1, 2])
    with pytest.raises(errors.InvalidArgumentError, match=r"polygamma: .*int32"):
        jg.math.polygamma(1, [1, 2])
    with pytest.raises(errors.InvalidArgumentError, match="lbeta: needs a tensor of rank >= 1"):
        jg.math.lbeta(2.0)
    with pytest.raises(errors.InvalidArgumentError, match="xdivy: x is float32 but y is float64"):
        jg.math.xdivy(jg.constant([1.0]), jg.constant(np.array([1.0])))


@pytest.mark.slow
def test_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    x = np.concatenate([_rng.uniform(-8, 8, 500), np.exp(_rng.uniform(-10, 10, 500))])
    p = _rng.uniform(0, 1, 1000)
    for name, arg in [("lgamma", x), ("digamma", x), ("bessel_i0e", x), ("bessel_i1e", x),
                      ("erfinv", 2 * p - 1), ("ndtri", p)]:
        want = getattr(tf.math, name)(arg).numpy()
        got = _FN[name](arg).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------- gamma, poisson


def _all_backends(fn):
    """fn() eagerly and compiled on the interpreter, cpu and the cuda emulator."""
    from jitgraph.codegen import cuda_driver

    out = [fn().numpy()]
    before = cuda_driver.use("emulator")
    try:
        for backend in ("interpreter", "cpu", "cuda"):
            out.append(jg.function(fn, backend=backend)().numpy())
    finally:
        cuda_driver.use(before)
    return out


def test_stateless_samplers_agree_on_every_backend():
    outs = _all_backends(lambda: jg.random.stateless_gamma([64], [3, 4], [0.4, 1.0, 7.5]))
    outs += _all_backends(lambda: jg.random.stateless_poisson([64], [3, 4], [0.7, 4.0, 40.0],
                                                              dtype=jg.float32))
    for a, b in zip(outs[1:4], outs[5:8]):
        assert a.shape == (64, 3) and b.shape == (64, 3)
    for got in outs[1:4]:
        np.testing.assert_allclose(got, outs[0], rtol=1e-6)
    for got in outs[5:8]:
        np.testing.assert_array_equal(got, outs[4])


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.5, 60.0])
def test_gamma_distribution_ks_mean_variance(alpha):
    stats = pytest.importorskip("scipy.stats")
    x = jg.function(lambda: jg.random.stateless_gamma([20000], [11, 12], alpha, beta=2.0,
                                                      dtype=jg.float64))().numpy()
    assert stats.kstest(x, "gamma", args=(alpha, 0, 0.5)).pvalue > 1e-3
    assert abs(x.mean() - alpha / 2) < 5 * math.sqrt(alpha / 4 / x.size)
    assert abs(x.var() / (alpha / 4) - 1) < 5 * math.sqrt((6 / alpha + 2) / x.size)


@pytest.mark.parametrize("lam", [0.3, 4.0, 9.9, 10.0, 55.0, 2000.0])
def test_poisson_distribution_chi2_mean_variance(lam):
    stats = pytest.importorskip("scipy.stats")
    k = jg.random.stateless_poisson([20000], [5, 6], lam, dtype=jg.int64).numpy()
    assert k.dtype == np.int64 and k.min() >= 0
    assert abs(k.mean() - lam) < 5 * math.sqrt(lam / k.size)
    assert abs(k.var() / lam - 1) < 0.06
    lo, hi = stats.poisson.ppf([0.001, 0.999], lam)  # chi-square over the bulk
    edges = np.arange(lo, hi + 2) - 0.5
    seen, _ = np.histogram(k, edges)
    want = np.diff(stats.poisson.cdf(edges, lam)) * k.size
    keep = want > 5
    chi2 = np.sum((seen[keep] - want[keep]) ** 2 / want[keep])
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3


def test_seeded_draws_fresh_per_call_and_reproducible():
    f = jg.function(lambda: jg.random.gamma([6], 2.0, seed=3))
    a, b = f().numpy(), f().numpy()
    assert not np.array_equal(a, b)
    jg.random.set_seed(5)
    first = [jg.random.poisson([5], 3.0, seed=1).numpy(), jg.random.gamma([3], 1.5).numpy()]
    jg.random.set_seed(5)
    again = [jg.random.poisson([5], 3.0, seed=1).numpy(), jg.random.gamma([3], 1.5).numpy()]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert jg.random.gamma([2, 3], [[1.0], [2.0]]).shape == (2, 3, 2, 1)
    assert jg.random.poisson([4], [1.0, 2.0], dtype=jg.int32).dtype == jg.int32


def test_special_parameters():
    g = jg.random.stateless_gamma([3], [1, 1], [-1.0, 0.0], dtype=jg.float64).numpy()
    assert np.all(np.isnan(g))
    p = jg.random.stateless_poisson([3], [1, 1], [0.0, -2.0], dtype=jg.float64).numpy()
    assert np.all(p[:, 0] == 0) and np.all(np.isnan(p[:, 1]))


def test_gamma_gradients():
    alpha, beta = jg.constant([2.0, 5.0]), jg.constant([1.5, 3.0])
    with jg.GradientTape(persistent=True) as t:
        t.watch([alpha, beta])
        x = jg.random.stateless_gamma([4], [1, 2], alpha, beta)
        y = jg.reduce_sum(x)
    np.testing.assert_allclose(t.gradient(y, beta).numpy(),
                               -np.sum(x.numpy() / beta.numpy(), 0), rtol=1e-5)
    # implicit reparameterization (tests/test_special_incomplete.py checks it against TF)
    assert t.gradient(y, alpha).shape == (2,)


def test_sampler_errors():
    with pytest.raises(errors.InvalidArgumentError, match="gamma: dtype must be floating"):
        jg.random.gamma([2], 1.0, dtype=jg.int32)
    with pytest.raises(errors.InvalidArgumentError, match="seed must be a pair of integers"):
        jg.random.stateless_poisson([2], 3, 1.0)


def test_many_special_calls_use_the_vector_variants():
    """A kernel with many special-function calls takes llvm_cpu.vector_math's path (the
    functions become noinline with vector variants)."""
    def f(x):
        y = x
        for k in range(8):
            y = y + jg.math.lgamma(x + k) + jg.math.digamma(x + k)
        return y
    x = np.linspace(0.5, 9.0, 37)
    np.testing.assert_allclose(jg.function(f)(x).numpy(), f(jg.constant(x)).numpy(),
                               rtol=1e-13)
