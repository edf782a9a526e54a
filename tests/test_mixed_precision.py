"""Mixed precision: dtype policies, variable autocast, float16 ops (eager == interpreter ==
cpu, against a float32 NumPy reference rounded to float16), float16 gradients against float64
finite differences, the loss-scale schedule against Keras', and models trained under
mixed_float16 against tf.keras with copied weights (skipped where TensorFlow is absent)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph as jg

mp = jg.keras.mixed_precision
BACKENDS = ("eager", "interpreter", "cpu")


@pytest.fixture(autouse=True)
def _reset_policy():
    mp.set_global_policy(None)
    yield
    mp.set_global_policy(None)


def _run(fn, backend, *args):
    if backend == "eager":
        return fn(*args)
    return jg.function(fn, backend=backend)(*args)


# ----------------------------------------------------------------------------- policies


def test_policy_names_and_dtypes():
    p = mp.Policy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    assert repr(p) == '<Policy "mixed_float16">'
    q = mp.Policy("float16")
    assert (q.compute_dtype, q.variable_dtype) == ("float16", "float16")
    assert mp.Policy.from_config(p.get_config()) == p
    assert mp.DTypePolicy is mp.Policy
    assert mp.global_policy().name == "float32"
    mp.set_global_policy("mixed_float16")
    assert mp.global_policy() == p
    mp.set_global_policy(None)
    assert mp.global_policy().name == "float32"


def test_policy_errors_say_what_to_use(monkeypatch):
    assert mp.Policy("mixed_bfloat16").compute_dtype == "bfloat16"
    monkeypatch.delattr(jg, "bfloat16")  # as without ml_dtypes
    with pytest.raises(ValueError, match="bfloat16 only with the ml_dtypes.*mixed_float16"):
        mp.Policy("mixed_bfloat16")
    with pytest.raises(ValueError, match="ml_dtypes"):
        mp.set_global_policy("bfloat16")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="'mixed_float32'.*mixed_float16"):
        mp.Policy("mixed_float32")
    with pytest.raises(ValueError, match="floating dtype.*int32"):
        mp.set_global_policy("int32")
    with pytest.raises(ValueError, match="dynamic=False"):
        mp.LossScaleOptimizer(jg.keras.optimizers.SGD(), dynamic=False)


def test_layer_under_mixed_float16_keeps_float32_variables_and_computes_in_float16():
    mp.set_global_policy("mixed_float16")
    d = jg.keras.layers.Dense(3, activation="relu")
    y = d(np.ones((2, 4), np.float32))
    assert y.dtype == jg.float16
    assert (d.dtype, d.compute_dtype, d.variable_dtype) == ("float32", "float16", "float32")
    assert d.dtype_policy.name == "mixed_float16"
    assert d.kernel.dtype == jg.float32 and d.kernel.numpy().dtype == np.float32
    assert d.get_config()["dtype"] == "mixed_float16"
    again = jg.keras.layers.Dense.from_config(d.get_config())
    assert again.dtype_policy.name == "mixed_float16"
    with jg.GradientTape() as tape:  # the autocast is an op: float32 gradients
        loss = jg.reduce_sum(jg.cast(d(np.ones((2, 4), np.float32)), jg.float32))
    assert [g.dtype for g in tape.gradient(loss, d.trainable_variables)] == [jg.float32] * 2
    # an explicit dtype wins over the global policy; outside call a variable is float32
    f = jg.keras.layers.Dense(3, dtype="float32")
    assert f(np.ones((2, 4), np.float16)).dtype == jg.float32
    assert (d.kernel + 1.0).dtype == jg.float32


def test_float32_softmax_idiom_batchnorm_and_inputs():
    mp.set_global_policy("mixed_float16")
    inp = jg.keras.Input((4,))
    assert inp.dtype == jg.float32  # Keras: Input is floatx whatever the policy
    h = jg.keras.layers.Dense(8)(inp)
    bn = jg.keras.layers.BatchNormalization()
    h = bn(h)
    out = jg.keras.layers.Activation("softmax", dtype="float32")(jg.keras.layers.Dense(3)(h))
    model = jg.keras.Model(inp, out)
    x = np.random.rand(5, 4).astype(np.float32)
    y = model(x, training=True)
    assert y.dtype == jg.float32
    np.testing.assert_allclose(np.sum(y.numpy(), axis=1), 1.0, rtol=1e-5)
    assert bn.moving_mean.dtype == jg.float32 and bn(jg.ones((2, 8), jg.float16)).dtype == \
        jg.float16
    ln = jg.keras.layers.LayerNormalization()
    assert ln(np.ones((2, 3), np.float32)).dtype == jg.float16
    assert ln.gamma.dtype == jg.float32


_L = jg.keras.layers
_SEQ, _IMG = (4, 5, 3), (2, 8, 8, 3)
LAYERS = {  # name: (constructor, input shape or "ids")
    "LSTM": (lambda: _L.LSTM(6), _SEQ),
    "GRU": (lambda: _L.GRU(4, return_sequences=True), _SEQ),
    "Embedding": (lambda: _L.Embedding(10, 4), "ids"),
    "Conv2D": (lambda: _L.Conv2D(4, 3, activation="relu"), _IMG),
    "DepthwiseConv2D": (lambda: _L.DepthwiseConv2D(3), _IMG),
    "MultiHeadAttention": (lambda: _L.MultiHeadAttention(2, 4), _SEQ),
    "GroupNormalization": (lambda: _L.GroupNormalization(3), _IMG),
    "Normalization": (lambda: _L.Normalization(mean=0.5, variance=0.1), _SEQ),
    "BatchNormalization": (lambda: _L.BatchNormalization(), _IMG),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_under_mixed_float16(name):
    """Outputs in float16, variables in float32, finite float32 gradients."""
    mp.set_global_policy("mixed_float16")
    make, shape = LAYERS[name]
    layer = make()
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, (4, 5)) if shape == "ids" else rng.random(shape, np.float32)
    with jg.GradientTape() as tape:
        y = layer(x, x) if name == "MultiHeadAttention" else layer(x, training=True)
        loss = jg.reduce_sum(jg.cast(y, jg.float32))
    assert y.dtype == jg.float16
    assert {v.dtype for v in layer.weights if v.dtype.is_floating} == {jg.float32}
    grads = tape.gradient(loss, layer.trainable_variables)
    for g, v in zip(grads, layer.trainable_variables, strict=True):
        assert g is not None and g.dtype == jg.float32, v.name
        assert np.isfinite(g.numpy()).all(), v.name


# ----------------------------------------------------------------------------- float16 ops


def _f16_ref(fn, *arrays):
    """The float32 NumPy result of ``fn`` rounded to float16."""
    return fn(*[a.astype(np.float32) for a in arrays]).astype(np.float16)


def _np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_log_softmax(x):
    m = x - x.max(axis=-1, keepdims=True)
    return m - np.log(np.exp(m).sum(axis=-1, keepdims=True))


OPS = {  # name: (jitgraph fn, NumPy float32 fn, input shapes, input scale)
    "matmul": (jg.matmul, np.matmul, [(16, 300), (300, 8)], 1.0),
    "reduce_sum": (lambda x: jg.reduce_sum(x, axis=0), lambda x: x.sum(0), [(2000, 3)], 0.1),
    "reduce_sum_all": (jg.reduce_sum, np.sum, [(40, 50)], 0.01),
    "reduce_mean": (lambda x: jg.reduce_mean(x, axis=1), lambda x: x.mean(1), [(3, 5000)], 1.0),
    "softmax": (jg.nn.softmax, _np_softmax, [(4, 50)], 30.0),
    "log_softmax": (jg.nn.log_softmax, _np_log_softmax, [(4, 50)], 30.0),
    "exp": (jg.exp, np.exp, [(64,)], 3.0),
    "log": (lambda x: jg.math.log(jg.abs(x) + 0.5), lambda x: np.log(np.abs(x) + 0.5),
            [(64,)], 3.0),
    "tanh": (jg.tanh, np.tanh, [(64,)], 2.0),
}


def _inputs(shapes, scale, seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * scale).astype(np.float16) for s in shapes]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_float16_ops_match_float32_reference_rounded(name, backend):
    fn, ref, shapes, scale = OPS[name]
    args = _inputs(shapes, scale, 1)
    got = _run(fn, backend, *args)
    assert got.dtype == jg.float16
    want = _f16_ref(ref, *args).astype(np.float32)
    # one float16 rounding of the result, plus the float16 roundings of intermediates the
    # eager ops make (the compiled kernels keep a fused chain in float32)
    np.testing.assert_allclose(got.numpy().astype(np.float32), want, rtol=4e-3,
                               atol=4e-3 * float(np.abs(want).max()) + 1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(OPS))
def test_bfloat16_ops_match_float32_reference_rounded(name, backend):
    fn, ref, shapes, scale = OPS[name]
    bf16 = jg.bfloat16.as_numpy_dtype
    args = [a.astype(np.float32).astype(bf16) for a in _inputs(shapes, scale, 1)]
    got = _run(fn, backend, *[jg.constant(a) for a in args])
    assert got.dtype == jg.bfloat16
    want = ref(*[a.astype(np.float32) for a in args]).astype(bf16).astype(np.float32)
    # bfloat16 keeps 8 significant bits: 2**-8 relative per rounding
    np.testing.assert_allclose(got.numpy().astype(np.float32), want, rtol=2e-2,
                               atol=2e-2 * float(np.abs(want).max()) + 1e-6)


@settings(max_examples=25)
@given(st.lists(st.integers(0, 2 ** 32 - 1), min_size=1, max_size=40))
def test_casts_to_16_bit_floats_round_like_numpy_in_compiled_kernels(bits):
    """Every float32 (NaN, inf, subnormals included) rounds to the nearest float16/bfloat16,
    ties to even, also where the cast sits inside a fused kernel."""
    x = np.array(bits, np.uint32).view(np.float32)
    for dt in (jg.float16, jg.bfloat16):
        def f(t, dt=dt):
            return jg.cast(jg.cast(t * 1.0, dt), jg.float32)

        with np.errstate(all="ignore"):
            want = x.astype(dt.as_numpy_dtype).astype(np.float32)
        got = jg.function(f)(x).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_array_equal(got[ok].view(np.uint32), want[ok].view(np.uint32))


@settings(max_examples=12)
@given(st.integers(1, 6), st.integers(3000, 6000), st.sampled_from(BACKENDS))
def test_float16_sums_accumulate_in_float32(rows, n, backend):
    """A float16 running sum stalls once the increments fall below its spacing (at 256 for
    0.1); the sums here pass 300 and must be within float16 rounding of the truth."""
    x = np.full((n, rows), 0.1, np.float16)
    got = _run(lambda t: jg.reduce_sum(t, axis=0), backend, x).numpy().astype(np.float64)
    want = n * float(np.float16(0.1))
    np.testing.assert_allclose(got, want, rtol=1e-3)
    mean = _run(lambda t: jg.reduce_mean(t, axis=0), backend, x).numpy().astype(np.float64)
    np.testing.assert_allclose(mean, float(np.float16(0.1)), rtol=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_softmax_and_cross_entropy_do_not_overflow(backend):
    logits = np.array([[3000.0, -3000.0, 0.0], [60000.0, 60000.0, -60000.0]], np.float16)
    labels = np.array([1, 0], np.int32)

    def f(z, y):
        return (jg.nn.softmax(z), jg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=y, logits=z))

    sm, ce = _run(f, backend, logits, labels)
    assert sm.dtype == ce.dtype == jg.float16
    np.testing.assert_allclose(sm.numpy().astype(np.float32), [[1, 0, 0], [0.5, 0.5, 0]])
    # 6000 is the exact loss of the first row; the second is log(2)
    np.testing.assert_allclose(ce.numpy().astype(np.float32), [6000.0, np.log(2)], rtol=2e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_conv2d_matches_float32_reference(backend):
    x, k = _inputs([(2, 9, 9, 3), (3, 3, 3, 4)], 1.0, 2)
    got = _run(lambda a, b: jg.nn.conv2d(a, b, 1, "SAME"), backend, x, k)
    want = jg.nn.conv2d(x.astype(np.float32), k.astype(np.float32), 1, "SAME").numpy()
    assert got.dtype == jg.float16
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.astype(np.float16)
                               .astype(np.float32), rtol=4e-3, atol=4e-3)


GRAD_CASES = {
    "dense_softmax_ce": lambda x, w: jg.reduce_mean(
        jg.nn.sparse_softmax_cross_entropy_with_logits(
            labels=jg.constant([0, 2, 1, 1]), logits=jg.matmul(x, w))),
    "tanh_sum": lambda x, w: jg.reduce_sum(jg.tanh(jg.matmul(x, w)) ** 2),
    "exp_log": lambda x, w: jg.reduce_mean(jg.math.log(1.0 + jg.exp(jg.matmul(x, w)))),
    "conv": lambda x, w: jg.reduce_sum(jg.nn.relu(jg.nn.conv2d(
        jg.reshape(x, (1, 4, 5, 1)), jg.reshape(w[:, :1][:4], (2, 2, 1, 1)), 1, "VALID"))),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_16_bit_gradients_match_float64_finite_differences(name, backend, dtype):
    fn = GRAD_CASES[name]
    rng = np.random.default_rng(3)
    x64, w64 = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)) * 0.5

    def grads(x, w):
        with jg.GradientTape() as tape:
            tape.watch(w)
            y = fn(x, w)
        return tape.gradient(y, w)

    low = jg.as_dtype(dtype).as_numpy_dtype
    x16, w16 = (jg.constant(a.astype(np.float32).astype(low)) for a in (x64, w64))
    g16 = _run(grads, backend, x16, w16)
    assert g16.dtype == jg.as_dtype(dtype)
    # central differences of the float64 version, along a random direction
    u = rng.standard_normal(w64.shape)
    eps = 1e-6
    x_r, w_r = (a.astype(np.float32).astype(low).astype(np.float64) for a in (x64, w64))
    fd = (fn(jg.constant(x_r), jg.constant(w_r + eps * u)).numpy()
          - fn(jg.constant(x_r), jg.constant(w_r - eps * u)).numpy()) / (2 * eps)
    got = float(np.sum(g16.numpy().astype(np.float64) * u))
    tol = 1e-2 if dtype == "float16" else 6e-2  # 11 vs 8 significant bits
    assert abs(got - fd) <= tol * max(1.0, abs(fd)), (got, fd)


# ----------------------------------------------------------------------------- loss scaling

# the scaled gradient of each step: inf where a float16 gradient overflowed
_STEPS = [1.0, 2.0, np.inf, 1.0, 1.0, 1.0, np.nan, 1.0, 1.0, 1.0, 1.0, 0.5]


def _jitgraph_schedule(style, compiled):
    var = jg.Variable(np.array([1.0, -1.0], np.float32))
    opt = mp.LossScaleOptimizer(jg.keras.optimizers.SGD(0.1), initial_scale=8.0,
                                dynamic_growth_steps=3)

    def step(scaled_grad):
        if style == "keras3":
            opt.scale_loss(jg.constant(1.0))  # apply_gradients then unscales
            opt.apply_gradients([(scaled_grad, var)])
        else:
            opt.get_scaled_loss(jg.constant(1.0))
            opt.apply_gradients([(opt.get_unscaled_gradients([scaled_grad])[0], var)])
        return opt.loss_scale.value()

    if compiled:
        step = jg.function(step)
    out = []
    for g in _STEPS:
        step(jg.constant(np.array([g, g], np.float32)) * opt.loss_scale.value())
        out.append((float(opt.loss_scale.numpy()), int(opt.dynamic_counter.numpy()),
                    int(opt.iterations.numpy()), var.numpy().copy()))
    return out


def _expected_schedule():
    scale, counter, it, v, out = 8.0, 0, 0, np.array([1.0, -1.0], np.float32), []
    for g in _STEPS:
        if np.isfinite(g):
            v = v - np.float32(0.1) * np.float32(g)
            it += 1
            counter += 1
            if counter == 3:
                scale, counter = scale * 2, 0
        else:
            scale, counter = scale / 2, 0
        out.append((scale, counter, it, v))
    return out


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("style", ["tf2", "keras3"])
def test_loss_scale_schedule_grows_halves_and_skips(style, compiled):
    got = _jitgraph_schedule(style, compiled)
    for (s, c, i, v), (s2, c2, i2, v2) in zip(got, _expected_schedule(), strict=True):
        assert (s, c, i) == (s2, c2, i2)
        np.testing.assert_allclose(v, v2, rtol=1e-6)


def test_loss_scale_schedule_equals_keras():
    keras = pytest.importorskip("keras")
    var = keras.Variable(np.array([1.0, -1.0], np.float32))
    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1),
                                                    initial_scale=8.0, dynamic_growth_steps=3)
    opt.build([var])
    theirs = []
    for g in _STEPS:
        opt.apply([np.array([g, g], np.float32) * float(opt.dynamic_scale.numpy())], [var])
        theirs.append((float(opt.dynamic_scale.numpy()), int(opt.step_counter.numpy()),
                       int(opt.iterations.numpy()), np.asarray(var.numpy())))
    for (s, c, i, v), (s2, c2, i2, v2) in zip(_jitgraph_schedule("keras3", True), theirs,
                                              strict=True):
        assert (s, c, i) == (s2, c2, i2)
        np.testing.assert_allclose(v, v2, rtol=1e-6)


@pytest.mark.parametrize("run_eagerly", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # eager NumPy on the overflowing steps
def test_fit_under_mixed_float16_wraps_the_optimizer_and_recovers_from_overflow(run_eagerly):
    mp.set_global_policy("mixed_float16")
    model = jg.keras.Sequential([jg.keras.layers.Dense(8, activation="relu"),
                                 jg.keras.layers.Dense(1, dtype="float32")])
    model.compile(jg.keras.optimizers.SGD(1e-4), "mse", run_eagerly=run_eagerly)
    opt = model.optimizer
    assert isinstance(opt, mp.LossScaleOptimizer)
    assert isinstance(opt.inner_optimizer, jg.keras.optimizers.SGD)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x.sum(1, keepdims=True) * 300).astype(np.float32)  # loss ~ 1e5: 2**15 overflows
    hist = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert float(opt.loss_scale.numpy()) < 2.0 ** 15  # halved on the overflowing steps
    assert int(opt.iterations.numpy()) < 12  # those steps were skipped
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(hist.history["loss"]).all()
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert model.predict(x[:3], verbose=0).dtype == np.float32


# ----------------------------------------------------------------------------- against tf.keras


def _train_both(build, x, y, loss, steps, batch, policy="mixed_float16"):
    """Trains jitgraph's and Keras' model (same architecture, Keras' initial weights copied)
    under ``policy`` with SGD; returns both models and loss scales (None: no scaling)."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    keras.mixed_precision.set_global_policy(policy)
    mp.set_global_policy(policy)
    try:
        theirs = build(keras)
        ours = build(jg.keras)
        theirs(x[:1])
        ours(x[:1])
        ours.set_weights(theirs.get_weights())
        ours.initial = [np.array(w) for w in theirs.get_weights()]
        theirs.compile(keras.optimizers.SGD(0.05), loss)
        ours.compile(jg.keras.optimizers.SGD(0.05), loss)
        theirs.fit(x[:steps * batch], y[:steps * batch], batch_size=batch, shuffle=False,
                   verbose=0)
        ours.fit(x[:steps * batch], y[:steps * batch], batch_size=batch, shuffle=False,
                 verbose=0)
        if policy != "mixed_float16":
            assert not isinstance(ours.optimizer, mp.LossScaleOptimizer)
            return ours, theirs, None, None
        return (ours, theirs, float(ours.optimizer.loss_scale.numpy()),
                float(theirs.optimizer.dynamic_scale.numpy()))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _dense_model(k):
    return k.Sequential([k.layers.Dense(16, activation="relu"), k.layers.Dense(4),
                         k.layers.Activation("softmax", dtype="float32")])


def _conv_model(k):
    return k.Sequential([k.layers.Conv2D(4, 3, activation="relu"), k.layers.Flatten(),
                         k.layers.Dense(3),
                         k.layers.Activation("softmax", dtype="float32")])


def _compare(ours, theirs, rel=2e-2):
    """The updates (trained - initial weights) agree within float16 precision."""
    for a, b, w0 in zip(ours.get_weights(), theirs.get_weights(), ours.initial, strict=True):
        assert a.dtype == np.float32 and b.dtype == np.float32
        da, db = a - w0, b - w0
        assert np.abs(db).max() > 1e-3  # the steps moved the weights
        np.testing.assert_allclose(da, db, atol=rel * np.abs(db).max() + 1e-5)


def test_dense_model_trained_under_mixed_float16_matches_tf_keras():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    ours, theirs, s1, s2 = _train_both(_dense_model, x, y, "sparse_categorical_crossentropy",
                                       steps=8, batch=8)
    assert s1 == s2 == 2.0 ** 15
    _compare(ours, theirs)
    np.testing.assert_allclose(ours.predict(x[:8], verbose=0),
                               theirs.predict(x[:8], verbose=0), atol=5e-3)


def test_dense_model_trained_under_mixed_bfloat16_matches_tf_keras():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((48, 8)).astype(np.float32)
    y = rng.integers(0, 4, 48)
    ours, theirs, _, _ = _train_both(_dense_model, x, y, "sparse_categorical_crossentropy",
                                     steps=6, batch=8, policy="mixed_bfloat16")
    assert ours.layers[0].compute_dtype == "bfloat16"
    _compare(ours, theirs, rel=6e-2)


@pytest.mark.slow
def test_conv_model_trained_under_mixed_float16_matches_tf_keras():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    ours, theirs, s1, s2 = _train_both(_conv_model, x, y, "sparse_categorical_crossentropy",
                                       steps=4, batch=8)
    assert s1 == s2
    _compare(ours, theirs)


def test_mixed_model_saves_loads_and_checkpoints_its_loss_scale(tmp_path):
    mp.set_global_policy("mixed_float16")
    model = jg.keras.Sequential([jg.keras.layers.Dense(4, activation="relu"),
                                 jg.keras.layers.Dense(2),
                                 jg.keras.layers.Activation("softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.rand(16, 3).astype(np.float32)
    model.fit(x, np.arange(16) % 2, verbose=0)
    model.optimizer.loss_scale.assign(64.0)
    mp.set_global_policy(None)  # a fresh process: the layers' configs carry their policies
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = jg.keras.models.load_model(path)
    assert isinstance(again.optimizer, mp.LossScaleOptimizer)
    assert float(again.optimizer.loss_scale.numpy()) == 64.0
    assert again.layers[0].dtype_policy.name == "mixed_float16"
    assert again.layers[-1].dtype_policy.name == "float32"
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    ckpt = jg.train.Checkpoint(model=model, optimizer=model.optimizer)
    saved = ckpt.save(str(tmp_path / "ck"))
    model.optimizer.loss_scale.assign(1.0)
    ckpt.restore(saved)
    assert float(model.optimizer.loss_scale.numpy()) == 64.0


def test_bfloat16_functions_and_variables_save_and_restore(tmp_path):
    bf16 = jg.bfloat16

    class M(jg.Module):
        def __init__(self):
            self.w = jg.Variable(np.array([1.5, 2.5], np.float32))
            self.b = jg.Variable(jg.cast([0.1, -3.3], bf16))

        @jg.function(input_signature=[jg.TensorSpec([None, 2], bf16)])
        def f(self, x):
            return jg.cast(x * jg.cast(self.w, bf16) + self.b + 0.1, jg.float32)

    m = M()
    x = jg.cast(np.array([[1.0, 2.0], [-0.7, 9.1]], np.float32), bf16)
    jg.saved_model.save(m, str(tmp_path / "sm"))
    np.testing.assert_array_equal(jg.saved_model.load(str(tmp_path / "sm")).f(x).numpy(),
                                  m.f(x).numpy())
    ckpt = jg.train.Checkpoint(m=m)
    saved = ckpt.save(str(tmp_path / "ck"))
    before = m.b.numpy()
    m.b.assign(jg.zeros_like(m.b))
    ckpt.restore(saved)
    assert m.b.dtype == bf16
    np.testing.assert_array_equal(m.b.numpy(), before)

