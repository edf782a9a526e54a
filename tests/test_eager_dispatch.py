"""The eager fast path of ops/core.py: cached type rules, scalar arguments, read-only
results. Each cache must give exactly what the uncached path gives."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.ops import core


@pytest.fixture(autouse=True)
def _empty_cache():
    core._INFER_CACHE.clear()
    yield
    core._INFER_CACHE.clear()


def test_cached_type_rule_is_per_shape():
    a = jg.ones([2, 3])
    assert (a + a).shape == (2, 3)
    b = jg.ones([4])
    assert (b + b).shape == (4,)
    assert (a + jg.ones([3])).shape == (2, 3)
    with pytest.raises(jg.errors.InvalidArgumentError, match="not broadcastable"):
        a + b


def test_cached_type_rule_is_per_dtype():
    f = jg.constant([1.0, 2.0])
    i = jg.constant([1, 2])
    assert (f * f).dtype == jg.float32
    assert (i * i).dtype == jg.int32
    d = jg.constant(np.array([1.0, 2.0]))
    assert (d * d).dtype == jg.float64
    with pytest.raises(jg.errors.InvalidArgumentError, match="float32 and int32"):
        f * i
    with pytest.raises(jg.errors.InvalidArgumentError, match="expected a floating-point"):
        jg.exp(i)
    assert jg.exp(f).dtype == jg.float32


def test_cached_type_rule_is_per_attrs():
    x = jg.reshape(jg.range(6.0), [2, 3])
    assert jg.reduce_sum(x, axis=0).shape == (3,)
    assert jg.reduce_sum(x, axis=1).shape == (2,)
    assert jg.reduce_sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert jg.reduce_sum(x).shape == ()
    m = jg.ones([2, 3])
    assert jg.matmul(m, m, transpose_b=True).shape == (2, 2)
    assert jg.matmul(m, m, transpose_a=True).shape == (3, 3)
    assert jg.cast(m, jg.int32).dtype == jg.int32
    assert jg.cast(m, jg.float64).dtype == jg.float64


def test_attr_keys_tell_types_apart():
    # 1, 1.0 and True are equal (and hash alike) in Python; a type rule may tell them apart
    keys = {core._attr_key(v) for v in (1, 1.0, True, (1,), [1], (1.0,), (True,), None)}
    assert len(keys) == 8
    assert core._attr_key(np.int64(1)) is None  # only plain Python values are cached
    assert core._attr_key(jg.constant(1.0)) is None
    assert core._attr_key((1, np.ones(2))) is None


def test_errors_are_not_cached():
    m = jg.ones([2, 3])
    for _ in range(2):
        with pytest.raises(jg.errors.InvalidArgumentError, match="inner dimensions"):
            jg.matmul(m, m)
    assert jg.matmul(m, m, transpose_b=True).shape == (2, 2)


def test_uncacheable_attrs_still_run_the_rule():
    x = jg.constant([1.0, 2.0, 3.0])
    n = len(core._INFER_CACHE)
    y = jg.one_hot(jg.constant([0, 2]), 3)
    assert y.shape == (2, 3)
    assert np.allclose(jg.gather(x, [2, 0]).numpy(), [3.0, 1.0])
    assert len(core._INFER_CACHE) >= n


def test_python_scalars_do_not_leak_between_calls():
    x = jg.constant([1.0, 2.0])
    assert np.allclose((x + 1).numpy(), [2.0, 3.0])
    assert np.allclose((x + 2).numpy(), [3.0, 4.0])
    assert np.allclose((x * 0.0).numpy(), [0.0, 0.0])
    assert np.signbit((x * -0.0).numpy()).all()
    i = jg.constant([1, 2])
    assert (i + 1).dtype == jg.int32 and (i + 1).numpy().tolist() == [2, 3]
    with pytest.raises(jg.errors.InvalidArgumentError, match="cannot be represented"):
        i + 1.5
    assert (1 - x).numpy().tolist() == [0.0, -1.0]
    assert (x - 1).numpy().tolist() == [0.0, 1.0]


def test_results_are_read_only_and_contiguous():
    x = jg.reshape(jg.range(6.0), [2, 3])
    for t in (x + 1, jg.transpose(x), x[:, 1], jg.broadcast_to(jg.constant(1.0), [2, 2])):
        arr = np.asarray(t)
        assert not arr.flags.writeable
        assert arr.flags.c_contiguous
        with pytest.raises(ValueError):
            arr[...] = 0


def test_cache_is_bounded():
    old = core._INFER_CACHE_MAX
    core._INFER_CACHE_MAX = 4
    try:
        for n in range(1, 12):
            assert (jg.ones([n]) + 1.0).shape == (n,)
        assert len(core._INFER_CACHE) <= 4
    finally:
        core._INFER_CACHE_MAX = old


def test_cache_matches_traced_types():
    @jg.function(backend="interpreter")
    def f(x):
        return jg.reduce_sum(x * 2.0, axis=1)

    x = jg.ones([2, 3])
    eager = jg.reduce_sum(x * 2.0, axis=1)
    assert np.allclose(f(x).numpy(), eager.numpy())
    assert f(x).shape == eager.shape and f(x).dtype == eager.dtype


def test_symbolic_tensor_outside_its_trace_still_raises():
    kept = []

    @jg.function(backend="interpreter")
    def f(x):
        kept.append(x * 2.0)
        return x

    f(jg.ones([2]))
    with pytest.raises(jg.errors.TracingError, match="used outside"):
        kept[0] + 1.0


def test_tape_skips_matmul_gradients_nobody_watches(monkeypatch):
    op = core.REGISTRY["matmul"]
    calls = []
    impl = op.impl
    monkeypatch.setattr(op, "impl", lambda *a, **k: calls.append(1) or impl(*a, **k))
    rng = np.random.RandomState(0)
    x = jg.constant(rng.randn(5, 4).astype(np.float32))
    w = jg.Variable(rng.randn(4, 3).astype(np.float32))
    with jg.GradientTape(persistent=True) as tape:
        y = jg.reduce_sum(jg.matmul(x, w))
    calls.clear()
    (gw,) = tape.gradient(y, [w])
    assert len(calls) == 1  # the gradient for w only; x is not watched
    np.testing.assert_allclose(gw.numpy(), np.broadcast_to(x.numpy().sum(0)[:, None], (4, 3)),
                               rtol=1e-5)
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.reduce_sum(jg.matmul(x, w, transpose_b=False))
    calls.clear()
    gx, gw2 = tape.gradient(y, [x, w])
    assert len(calls) == 2
    np.testing.assert_allclose(gw2.numpy(), gw.numpy())
    np.testing.assert_allclose(gx.numpy(), np.broadcast_to(w.numpy().sum(1), (5, 4)), rtol=1e-5)


def test_non_persistent_tape_keeps_watched_variables_after_gradient():
    w = jg.Variable([1.0, 2.0])
    with jg.GradientTape() as tape:
        y = jg.reduce_sum(w * w)
    assert np.allclose(tape.gradient(y, w).numpy(), [2.0, 4.0])
    assert tape.watched_variables() == (w,)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, w)


def test_variable_operands_are_read_in_argument_order():
    v = jg.Variable([1.0, 2.0])
    a = np.array([3.0, 4.0], np.float32)

    @jg.function(backend="interpreter")
    def f():
        return jg.multiply(a, v), jg.multiply(v, a), v * 2.0, 2.0 * v

    out = f()
    assert [o.numpy().tolist() for o in out] == [[3.0, 8.0]] * 2 + [[2.0, 4.0]] * 2
    types = [op.type for op in f.get_concrete_function().graph.get_operations()]
    assert types[:3] == ["constant", "read_variable", "multiply"]
    assert types[3:6] == ["read_variable", "constant", "multiply"]
    assert (a * v).numpy().tolist() == (v * a).numpy().tolist() == [3.0, 8.0]


def test_binary_ops_on_variables_are_recorded_by_the_tape():
    v = jg.Variable([1.0, 2.0])
    w = jg.Variable([3.0, 4.0])
    with jg.GradientTape() as tape:
        y = jg.reduce_sum(v * w + jg.multiply(w, 1.5))
    gv, gw = tape.gradient(y, [v, w])
    assert gv.numpy().tolist() == [3.0, 4.0]
    assert gw.numpy().tolist() == [2.5, 3.5]
