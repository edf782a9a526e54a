"""jg.keras.random: moments of every sampler (within a few standard errors), determinism for
int seeds and SeedGenerators, eager == compiled (cpu and interpreter) streams, errors."""

import numpy as np
import pytest

import jitgraph as jg

kr = jg.keras.random
N = 20000


def _close(value, expected, se, k=5.0):
    assert abs(value - expected) < k * se, (value, expected, se)


def test_normal_uniform_truncated_moments():
    x = kr.normal((N,), mean=2.0, stddev=3.0, seed=1).numpy()
    _close(x.mean(), 2.0, 3.0 / np.sqrt(N))
    _close(x.std(), 3.0, 3.0 / np.sqrt(2 * N))
    u = kr.uniform((N,), minval=-1.0, maxval=3.0, seed=2).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0
    _close(u.mean(), 1.0, 4.0 / np.sqrt(12 * N))
    t = kr.truncated_normal((N,), mean=1.0, stddev=2.0, seed=3).numpy()
    assert np.all(np.abs(t - 1.0) <= 4.0)
    _close(t.mean(), 1.0, 2.0 / np.sqrt(N))
    _close(t.std(), 2.0 * 0.87962566, 2.0 / np.sqrt(2 * N))  # std of N(0,1) cut at +-2


def test_randint_categorical():
    r = kr.randint((N,), 3, 8, seed=4).numpy()
    assert r.dtype == np.int32 and r.min() == 3 and r.max() == 7
    np.testing.assert_allclose(np.bincount(r - 3) / N, 0.2, atol=0.02)
    probs = np.array([0.1, 0.6, 0.3])
    c = kr.categorical(np.log([probs, probs[::-1]]), N, seed=5).numpy()
    assert c.shape == (2, N) and c.dtype == np.int32
    np.testing.assert_allclose(np.bincount(c[0], minlength=3) / N, probs, atol=0.02)
    np.testing.assert_allclose(np.bincount(c[1], minlength=3) / N, probs[::-1], atol=0.02)


def test_gamma_beta_binomial_moments():
    g = kr.gamma((N,), alpha=3.0, seed=6).numpy()
    _close(g.mean(), 3.0, np.sqrt(3.0 / N))
    _close(g.var(), 3.0, 3.0 * np.sqrt(6.0 / N) * 2)
    a, b = 2.0, 5.0
    x = kr.beta((N,), a, b, seed=7).numpy()
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert x.min() > 0 and x.max() < 1
    _close(x.mean(), mean, np.sqrt(var / N))
    _close(x.var(), var, var * np.sqrt(2.0 / N) * 2)
    k = kr.binomial((N,), counts=10, probabilities=0.3, seed=8).numpy()
    assert k.dtype == np.float32 and np.all(k == np.round(k)) and k.min() >= 0 and k.max() <= 10
    _close(k.mean(), 3.0, np.sqrt(2.1 / N))
    _close(k.var(), 2.1, 2.1 * np.sqrt(2.0 / N) * 2)


def test_dropout_and_shuffle():
    x = np.ones((200, 100), np.float32)
    y = kr.dropout(x, 0.3, seed=9).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.7)}
    _close((y == 0).mean(), 0.3, np.sqrt(0.21 / y.size))
    _close(y.mean(), 1.0, 0.05)
    rows = kr.dropout(x, 0.5, noise_shape=(200, 1), seed=9).numpy()
    assert np.all((rows == 0).all(axis=1) | (rows == 2).all(axis=1))
    v = np.arange(24).reshape(4, 6)
    s = kr.shuffle(v, axis=1, seed=10).numpy()
    assert sorted(s[0].tolist()) == list(range(6)) and np.all(s - s[:, :1] == (s - s[:, :1])[0])
    assert not np.array_equal(s, v)
    assert sorted(kr.shuffle(v, seed=10).numpy()[:, 0].tolist()) == [0, 6, 12, 18]


def test_int_seed_repeats_and_generators_advance():
    for draw in (lambda s: kr.normal((5,), seed=s), lambda s: kr.uniform((5,), seed=s),
                 lambda s: kr.randint((5,), 0, 100, seed=s),
                 lambda s: kr.gamma((5,), 2.0, seed=s)):
        np.testing.assert_array_equal(draw(3).numpy(), draw(3).numpy())
        assert not np.array_equal(draw(3).numpy(), draw(4).numpy())
    g1, g2 = kr.SeedGenerator(7), kr.SeedGenerator(7)
    a1, b1 = kr.normal((5,), seed=g1).numpy(), kr.normal((5,), seed=g1).numpy()
    a2, b2 = kr.normal((5,), seed=g2).numpy(), kr.normal((5,), seed=g2).numpy()
    assert not np.array_equal(a1, b1)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)
    assert g1.get_config() == {"seed": 7}
    assert kr.SeedGenerator.from_config(g1.get_config()).state.numpy().tolist() == [7, 0]


def test_seed_none_follows_global_seed():
    jg.random.set_seed(11)
    a = kr.normal((4,)).numpy()
    b = kr.normal((4,)).numpy()
    jg.random.set_seed(11)
    np.testing.assert_array_equal(kr.normal((4,)).numpy(), a)
    assert not np.array_equal(a, b)


def _program(gen):
    x = jg.ones((6, 4))
    return (kr.normal((3,), seed=gen), kr.uniform((3,), seed=gen),
            kr.truncated_normal((3,), seed=gen), kr.randint((3,), 0, 9, seed=gen),
            kr.categorical(jg.zeros((2, 5)), 3, seed=gen), kr.gamma((3,), 1.5, seed=gen),
            kr.beta((3,), 2.0, 2.0, seed=gen), kr.binomial((3,), 5, 0.5, seed=gen),
            kr.dropout(x, 0.5, seed=gen), kr.shuffle(x * jg.range(6.0)[:, None], seed=gen),
            kr.normal((2,), seed=5))


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_seed_generator_in_function_matches_eager(backend):
    eager_gen, compiled_gen = kr.SeedGenerator(21), kr.SeedGenerator(21)
    f = jg.function(lambda: _program(compiled_gen), backend=backend)
    for _ in range(2):  # the compiled calls advance the generator like eager calls
        for e, c in zip(_program(eager_gen), f()):
            np.testing.assert_allclose(c.numpy(), e.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(compiled_gen.state.numpy(), eager_gen.state.numpy())
    assert f.experimental_get_tracing_count() == 1


def test_dropout_with_unknown_batch_in_function():
    gen = kr.SeedGenerator(1)

    @jg.function(input_signature=[jg.TensorSpec([None, 3], jg.float32)])
    def f(x):
        return kr.dropout(x, 0.5, noise_shape=(None, 1), seed=gen), kr.shuffle(x, seed=gen)

    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    d, s = f(x)
    d = d.numpy()
    assert np.all((d == 0).all(axis=1) | np.isclose(d, 2 * x).all(axis=1))
    assert sorted(s.numpy()[:, 0].tolist()) == x[:, 0].tolist()


def test_errors():
    with pytest.raises(ValueError, match="uniform: dtype must be a floating dtype.*randint"):
        kr.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="randint: dtype must be an integer dtype"):
        kr.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\)"):
        kr.dropout(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        kr.dropout(np.ones((2, 3)), 0.5, noise_shape=(2,))
    with pytest.raises(ValueError, match="logits must be 2-D"):
        kr.categorical(np.zeros(3), 2)
    with pytest.raises(ValueError, match="seed must be an int, a SeedGenerator or None"):
        kr.normal((2,), seed=1.5)
    with pytest.raises(ValueError, match="SeedGenerator: seed must be an int"):
        kr.SeedGenerator("x")
