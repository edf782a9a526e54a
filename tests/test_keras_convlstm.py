"""jg.keras ConvLSTM1D/2D/3D: a NumPy reference, tf.keras with copied weights (eager, compiled
on the cpu backend and on the interpreter, and a compiled fit step), float64 finite-difference
gradients through the loop, dropout, masks, initial states, configs, and errors."""

import numpy as np
import pytest

import jitgraph as jg

L = jg.keras.layers
RNG = np.random.default_rng(3)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def rand(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


def _list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


# ----------------------------------------------------------------------------- NumPy
def _np_conv1d(x, w, stride, padding):
    """x (batch, steps, in), w (k, in, out), dilation 1; 'same' pads as TensorFlow."""
    k, steps = w.shape[0], x.shape[1]
    if padding == "same":
        out = -(-steps // stride)
        total = max((out - 1) * stride + k - steps, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    n = (x.shape[1] - k) // stride + 1
    return np.stack([np.einsum("bki,kio->bo", x[:, t * stride:t * stride + k], w)
                     for t in range(n)], axis=1)


def _np_convlstm1d(layer, x, stride=1, padding="valid"):
    kernel, rec, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h = c = None
    outs = []
    for t in range(x.shape[1]):
        z = _np_conv1d(x[:, t], kernel, stride, padding) + bias
        if h is None:
            h = c = np.zeros(z.shape[:-1] + (rec.shape[-2],))
        z = z + _np_conv1d(h, rec, 1, "same")
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1), h, c


@pytest.mark.parametrize("kw", [dict(), dict(strides=2, padding="same", unroll=True)])
def test_convlstm1d_matches_numpy(kw):
    x = rand(2, 4, 7, 3)
    layer = L.ConvLSTM1D(2, 3, return_sequences=True, return_state=True, **kw)
    seq, h, c = layer(x)
    want = _np_convlstm1d(layer, x.astype(np.float64), kw.get("strides", 1),
                          kw.get("padding", "valid"))
    for got, ref in zip((seq, h, c), want, strict=True):
        close(got.numpy(), ref)


# ----------------------------------------------------------------------------- tf.keras
TF_CASES = [
    (1, dict(filters=2, kernel_size=3, strides=2, return_sequences=True, return_state=True)),
    (2, dict(filters=3, kernel_size=3, padding="same", return_sequences=True)),
    (2, dict(filters=2, kernel_size=(2, 3), dilation_rate=2, go_backwards=True)),
    (2, dict(filters=2, kernel_size=2, activation="relu", recurrent_activation="softsign",
             use_bias=False, unit_forget_bias=False, unroll=True)),
    (3, dict(filters=2, kernel_size=2, padding="same", return_state=True)),
]


def _pair(tf, rank, kw, x):
    theirs = getattr(tf.keras.layers, f"ConvLSTM{rank}D")(**kw)
    want = [t.numpy() for t in _list(theirs(x))]
    ours = getattr(L, f"ConvLSTM{rank}D")(**kw)
    ours(x)
    ours.set_weights(theirs.get_weights())
    return ours, theirs, want


@pytest.mark.parametrize("case", range(len(TF_CASES)))
def test_matches_tf_keras_eager_and_compiled(case):
    tf = pytest.importorskip("tensorflow")
    rank, kw = TF_CASES[case]
    x = rand(2, 3, *(5,) * rank, 3)
    ours, theirs, want = _pair(tf, rank, kw, x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    names = [w.name.split("/")[-1].split(":")[0] for w in ours.weights]
    assert names == [w.path.split("/")[-1] for w in theirs.weights]
    for got, ref in zip(_list(ours(x)), want, strict=True):
        close(got.numpy(), ref)
    backends = ("cpu", "interpreter") if case < 2 else ("cpu",)
    for backend in backends:
        got = _list(jg.function(lambda v: ours(v), backend=backend)(x))
        for g, ref in zip(got, want, strict=True):
            close(g.numpy(), ref)
    shapes = ours.compute_output_shape((2, 3) + (5,) * rank + (3,))
    assert [tuple(s) for s in _list(shapes)] == [r.shape for r in want]


def test_matches_tf_keras_with_mask_and_initial_state():
    tf = pytest.importorskip("tensorflow")
    x = rand(2, 4, 5, 5, 2)
    mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
    h0, c0 = rand(2, 3, 3, 2), rand(2, 3, 3, 2)
    kw = dict(filters=2, kernel_size=3, return_sequences=True, return_state=True)
    theirs = tf.keras.layers.ConvLSTM2D(**kw)
    want = [t.numpy() for t in theirs(x, mask=mask, initial_state=[h0, c0])]
    ours = L.ConvLSTM2D(**kw)
    ours(x)
    ours.set_weights(theirs.get_weights())
    for unroll in (False, True):
        ours.unroll = unroll
        got = ours(x, mask=jg.constant(mask), initial_state=[h0, c0])
        for g, ref in zip(got, want, strict=True):
            close(g.numpy(), ref)


def test_bidirectional_with_mask_matches_tf_keras():
    """Bidirectional clones the layer from its config; masked steps output zeros in both
    halves when returning sequences."""
    tf = pytest.importorskip("tensorflow")
    x = rand(2, 4, 5, 5, 2)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    for seqs in (True, False):
        theirs = tf.keras.layers.Bidirectional(tf.keras.layers.ConvLSTM2D(
            2, 3, return_sequences=seqs))
        want = theirs(x, mask=mask).numpy()
        ours = L.Bidirectional(L.ConvLSTM2D(2, 3, return_sequences=seqs))
        ours(x)
        ours.set_weights(theirs.get_weights())
        close(ours(x, mask=jg.constant(mask)).numpy(), want)


def _fit_models(tf, steps_x, y):
    """The same little video model in tf.keras and jitgraph, our weights copied from theirs."""
    def build(lib):
        lay = lib.keras.layers
        return lib.keras.Sequential([
            lay.Input(steps_x.shape[1:]),
            lay.ConvLSTM2D(2, 3, padding="same", return_sequences=False),
            lay.GlobalAveragePooling2D(), lay.Dense(1)])

    theirs, ours = build(tf), build(jg)
    ours.set_weights(theirs.get_weights())
    for m, lib in ((theirs, tf), (ours, jg)):
        m.compile(optimizer=lib.keras.optimizers.SGD(0.1), loss="mse")
    return theirs, ours


def test_fit_steps_match_tf_keras():
    """Two compiled SGD steps (jg.function around forward, loss, gradients through the while
    loop and the update) give tf.keras's losses and weights."""
    tf = pytest.importorskip("tensorflow")
    x, y = rand(8, 3, 6, 6, 2), rand(8, 1)
    theirs, ours = _fit_models(tf, x, y)
    h_t = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    h_o = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    close(h_o.history["loss"], h_t.history["loss"], tol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        close(a, b, tol=1e-4)


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("rank,kw", [(2, dict(padding="same")),
                                     (1, dict(strides=2, unroll=True))])
def test_gradient_finite_differences(rank, kw):
    """float64 central differences in a random direction over the input and every weight,
    eager and inside jg.function (the gradient of the while loop)."""
    rng = np.random.default_rng(5)
    layer = getattr(L, f"ConvLSTM{rank}D")(2, 3, dtype="float64", return_sequences=True,
                                           bias_initializer="random_normal", **kw)
    x = rng.standard_normal((2, 3) + (5,) * rank + (2,))
    layer(x)
    w_out = jg.constant(rng.standard_normal(tuple(layer(x).shape)))

    def loss(xv):
        return jg.reduce_sum(layer(xv) * w_out)

    def grads(xv):
        with jg.GradientTape() as tape:
            tape.watch(xv)
            value = loss(xv)
        return tape.gradient(value, [xv] + layer.trainable_weights)

    params = [x] + [v.numpy() for v in layer.trainable_weights]
    dirs = [rng.standard_normal(p.shape) for p in params]
    eps = 1e-6

    def at(sign):
        for v, p, d in zip(layer.trainable_weights, params[1:], dirs[1:], strict=True):
            v.assign(p + sign * eps * d)
        return float(loss(jg.constant(x + sign * eps * dirs[0])).numpy())

    fd = (at(1) - at(-1)) / (2 * eps)
    for v, p in zip(layer.trainable_weights, params[1:], strict=True):
        v.assign(p)
    for g in (grads(jg.constant(x)), jg.function(grads)(jg.constant(x))):
        analytic = sum(float(np.sum(a.numpy() * d)) for a, d in zip(g, dirs, strict=True))
        assert abs(analytic - fd) <= 1e-6 * max(1.0, abs(fd)), (analytic, fd)


# ----------------------------------------------------------------------------- behaviour
def test_dropout_only_in_training():
    x = rand(4, 3, 5, 5, 2)
    layer = L.ConvLSTM2D(3, 3, dropout=0.5, recurrent_dropout=0.5)
    plain = L.ConvLSTM2D(3, 3)
    plain(x)
    layer(x)
    layer.set_weights(plain.get_weights())
    close(layer(x).numpy(), plain(x).numpy())
    close(layer(x, training=False).numpy(), plain(x).numpy())
    noisy = layer(x, training=True).numpy()
    assert noisy.shape == (4, 3, 3, 3) and np.all(np.isfinite(noisy))
    assert not np.allclose(noisy, plain(x).numpy())


@pytest.mark.slow  # ~7 s, compiling an Adam step; test_fit_steps_match_tf_keras runs by default
def test_dropout_in_fit():
    x = rand(4, 3, 5, 5, 2)
    layer = L.ConvLSTM2D(3, 3, dropout=0.5, recurrent_dropout=0.5)
    model = jg.keras.Sequential([L.Input((3, 5, 5, 2)), layer, L.Flatten(), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, rand(4, 1), epochs=1, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))


def test_unknown_batch_and_time_inside_function():
    layer = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    x = rand(2, 4, 5, 5, 3)
    want = layer(x).numpy()
    f = jg.function(lambda v: layer(v), input_signature=[jg.TensorSpec([None, None, 5, 5, 3])])
    close(f(x).numpy(), want)
    close(f(x[:1, :2]).numpy(), want[:1, :2])


def test_config_round_trip_and_summary():
    layer = L.ConvLSTM2D(4, (3, 2), strides=(2, 1), padding="same", dropout=0.25,
                         return_sequences=True, name="clstm")
    x = rand(1, 2, 6, 6, 3)
    want = layer(x).numpy()
    cfg = layer.get_config()
    assert cfg["filters"] == 4 and cfg["kernel_size"] == (3, 2) and cfg["strides"] == (2, 1)
    assert "units" not in cfg and "rank" not in cfg
    clone = L.ConvLSTM2D.from_config(cfg)
    clone(x)
    clone.set_weights(layer.get_weights())
    close(clone(x).numpy(), want)
    again = L.deserialize(L.serialize(layer))
    assert type(again) is L.ConvLSTM2D and again.filters == 4
    assert layer.kernel.shape == (3, 2, 3, 16) and layer.recurrent_kernel.shape == (3, 2, 4, 16)


def test_unit_forget_bias():
    layer = L.ConvLSTM1D(3, 2)
    layer(rand(1, 2, 4, 1))
    close(layer.get_weights()[2], np.r_[np.zeros(3), np.ones(3), np.zeros(6)])


# ----------------------------------------------------------------------------- errors
def test_errors_name_layer_shape_and_fix():
    layer = L.ConvLSTM2D(2, 3, name="video")
    with pytest.raises(ValueError, match=r"ConvLSTM2D layer 'video'.*5-D input.*"
                       r"\(2, 5, 5, 3\).*expand_dims"):
        layer(rand(2, 5, 5, 3))
    layer(rand(1, 2, 5, 5, 3))
    with pytest.raises(ValueError, match=r"'video'.*built for steps of shape \(5, 5, 3\).*"
                       r"\(1, 2, 6, 6, 3\)"):
        layer(rand(1, 2, 6, 6, 3))
    with pytest.raises(ValueError, match=r"initial_state\[0\] has shape \(1, 2, 2\).*"
                       r"\(1, 3, 3, 2\)"):
        layer(rand(1, 2, 5, 5, 3), initial_state=[rand(1, 2, 2), rand(1, 3, 3, 2)])
    with pytest.raises(ValueError, match=r"'small'.*larger than its input's spatial dims "
                       r"\(2, 2\).*padding='same'"):
        L.ConvLSTM2D(2, 3, name="small")(rand(1, 2, 2, 2, 1))
    with pytest.raises(NotImplementedError, match="channels_first.*channels_last"):
        L.ConvLSTM2D(2, 3, data_format="channels_first")
    with pytest.raises(NotImplementedError, match="stateful.*initial_state"):
        L.ConvLSTM3D(2, 3, stateful=True)
    with pytest.raises(ValueError, match="ConvLSTM1D: filters must be a positive integer"):
        L.ConvLSTM1D(0, 3)
    with pytest.raises(ValueError, match="ConvLSTM1D: padding must be one of"):
        L.ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"ConvLSTM2D: kernel_size must be .* 2 positive"):
        L.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="ConvLSTM1D: dropout must be in"):
        L.ConvLSTM1D(2, 3, dropout=1.5)


def test_model_with_convlstm_and_gqa_saves_and_loads(tmp_path):
    inp = L.Input((3, 6, 6, 2))
    h = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)(inp)
    h = L.Reshape((16, 2))(L.ConvLSTM2D(2, 3)(h))
    out = L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1)(h, h)
    model = jg.keras.Model(inp, out)
    x = rand(2, 3, 6, 6, 2)
    want = model(x).numpy()
    model.save(tmp_path / "m.keras")
    loaded = jg.keras.models.load_model(tmp_path / "m.keras")
    assert [type(la).__name__ for la in loaded.layers] == [
        type(la).__name__ for la in model.layers]
    close(loaded(x).numpy(), want, tol=1e-6)


@pytest.mark.parametrize("device", [pytest.param("emulator", marks=pytest.mark.slow),
                                    pytest.param("gpu", marks=pytest.mark.gpu)])
def test_cuda_backend(device):
    """ConvLSTM2D's while loop (forward and gradient, loop stacks on the device) and
    GroupQueryAttention run on the cuda backend (~11 s on the emulator; on a GPU:
    GPU_TESTS=tests/test_keras_convlstm.py scripts/gpu_check.sh)."""
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use(device)
    try:
        x = rand(2, 3, 5, 5, 2)
        layer = L.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
        close(jg.function(lambda v: layer(v), backend="cuda")(x).numpy(), layer(x).numpy())

        def grads(v):
            with jg.GradientTape() as tape:
                loss = jg.reduce_sum(layer(v))
            return tape.gradient(loss, layer.trainable_weights)

        for g, e in zip(jg.function(grads, backend="cuda")(x), grads(jg.constant(x)),
                        strict=True):
            close(g.numpy(), e.numpy(), tol=2e-5)
        q = rand(2, 5, 6)
        gqa = L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2)
        want = gqa(q, q, use_causal_mask=True).numpy()
        close(jg.function(lambda a: gqa(a, a, use_causal_mask=True), backend="cuda")(q)
              .numpy(), want)
    finally:
        cuda_driver.use(before)
