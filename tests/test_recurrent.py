"""Recurrent layers (keras/recurrent.py): every cell and layer against a NumPy reference with
the same weights, eager == jg.function (cpu) == interpreter, finite-difference gradients in
float64, training, configs, saving, summaries, errors, and tf.keras with copied weights."""

import numpy as np
import pytest

import jitgraph as jg

L = jg.keras.layers
B, T, F, U = 3, 5, 4, 6


def _x(shape=(B, T, F), seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _np(t):
    return [_np(v) for v in t] if isinstance(t, (list, tuple)) else np.asarray(t.numpy())


def _close(a, b, tol=2e-5):
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- NumPy reference
def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_simple(x, h, w, rm=1.0):
    """rm: the recurrent dropout mask, applied where h enters the recurrent matmul."""
    k, rk, b = w
    h = np.tanh(x @ k + (h[0] * rm) @ rk + b)
    return h, [h]


def np_lstm(x, s, w, rm=1.0):
    k, rk, b = w
    i, f, g, o = np.split(x @ k + (s[0] * rm) @ rk + b, 4, axis=-1)
    c = _sig(f) * s[1] + _sig(i) * np.tanh(g)
    h = _sig(o) * np.tanh(c)
    return h, [h, c]


def np_gru(x, s, w, rm=1.0, reset_after=True):
    k, rk, b = w
    h, u = s[0], rk.shape[0]
    hr = h * rm
    if reset_after:
        xz, xr, xh = np.split(x @ k + b[0], 3, axis=-1)
        rz, rr, rh = np.split(hr @ rk + b[1], 3, axis=-1)
        z, r = _sig(xz + rz), _sig(xr + rr)
        hh = np.tanh(xh + r * rh)
    else:
        xz, xr, xh = np.split(x @ k + b, 3, axis=-1)
        z, r = _sig(xz + hr @ rk[:, :u]), _sig(xr + hr @ rk[:, u:2 * u])
        hh = np.tanh(xh + (r * hr) @ rk[:, 2 * u:])
    h = z * h + (1 - z) * hh
    return h, [h]


def np_gru_v1(x, s, w, rm=1.0):
    return np_gru(x, s, w, rm, reset_after=False)


def np_run(step, x, states, weights, go_backwards=False):
    """(per-step outputs [B, T, U] in processing order, final states)."""
    x = x[:, ::-1] if go_backwards else x
    outs = []
    for t in range(x.shape[1]):
        out, states = step(x[:, t], states, weights)
        outs.append(out)
    return np.stack(outs, axis=1), states


KINDS = {  # name: (layer factory, NumPy step, number of states)
    "simple_rnn": (lambda **kw: L.SimpleRNN(U, **kw), np_simple, 1),
    "lstm": (lambda **kw: L.LSTM(U, **kw), np_lstm, 2),
    "gru": (lambda **kw: L.GRU(U, **kw), np_gru, 1),
    "gru_v1": (lambda **kw: L.GRU(U, reset_after=False, **kw), np_gru_v1, 1),
}


def _randomize(layer, seed=1):
    """Non-trivial weights (biases too) so every term of the cell is tested."""
    rng = np.random.default_rng(seed)
    layer.set_weights([0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()])
    return [w.astype(np.float64) for w in layer.get_weights()]


def _expected(step, x, weights, n_states, init=None, go_backwards=False,
              return_sequences=False, return_state=False):
    states = init if init is not None else [np.zeros((x.shape[0], U))] * n_states
    seq, states = np_run(step, x.astype(np.float64), states, weights, go_backwards)
    out = seq if return_sequences else seq[:, -1]
    return [out] + states if return_state else out


VARIANTS = [dict(), dict(return_sequences=True), dict(return_state=True),
            dict(go_backwards=True, return_sequences=True),
            dict(return_sequences=True, return_state=True, unroll=True),
            dict(go_backwards=True, unroll=True)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_layer_matches_numpy_eager(kind, variant):
    make, step, n = KINDS[kind]
    kw = VARIANTS[variant]
    layer = make(**kw)
    x = _x()
    layer(x)
    w = _randomize(layer)
    ref_kw = {k: v for k, v in kw.items() if k != "unroll"}
    _close(_np(layer(x)), _expected(step, x, w, n, **ref_kw))


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_and_backends(kind):
    """initial_state, eager == jg.function on cpu == interpreter == NumPy."""
    make, step, n = KINDS[kind]
    layer = make(return_sequences=True, return_state=True)
    x = _x()
    init = [_x((B, U), seed=5 + k) for k in range(n)]
    layer(x, initial_state=init)
    w = _randomize(layer)
    want = _expected(step, x, w, n, init=[s.astype(np.float64) for s in init],
                     return_sequences=True, return_state=True)
    _close(_np(layer(x, initial_state=init)), want)
    for backend in ("cpu", "interpreter"):
        f = jg.function(lambda x, s: layer(x, initial_state=s), backend=backend)
        _close(_np(f(x, init)), want)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_wide_inputs_projected_before_the_loop(kind):
    """Inputs at least as wide as the gates are projected with one GEMM before the loop
    (narrower ones step by step): both paths give the same numbers."""
    make, step, n = KINDS[kind]
    layer = make(return_sequences=True)
    x = _x((B, T, 4 * U + 1))
    layer(x)
    w = _randomize(layer)
    want = _expected(step, x, w, n, return_sequences=True)
    _close(_np(layer(x)), want)
    _close(_np(jg.function(lambda x: layer(x))(x)), want)


def test_unknown_batch_and_time_inside_function():
    layer = L.LSTM(U, return_sequences=True)
    f = jg.function(lambda x: layer(x), input_signature=[jg.TensorSpec([None, None, F])])
    for shape in [(2, 3, F), (4, 7, F)]:
        x = _x(shape)
        got = _np(f(x))
        w = [v.astype(np.float64) for v in layer.get_weights()]
        _close(got, _expected(np_lstm, x, w, 2, return_sequences=True))
    assert f.experimental_get_tracing_count() == 1


def test_cells_called_directly():
    x, h = _x((B, F)), _x((B, U), seed=2)
    for cell, step, states in [(L.SimpleRNNCell(U), np_simple, [h]),
                               (L.LSTMCell(U), np_lstm, [h, _x((B, U), seed=3)]),
                               (L.GRUCell(U), np_gru, [h]),
                               (L.GRUCell(U, reset_after=False), np_gru_v1, [h])]:
        out, new = cell(x, states)
        w = _randomize(cell)
        out, new = cell(x, states)
        want_out, want_new = step(x.astype(np.float64), states, w)
        _close([_np(out)] + _np(new), [want_out] + want_new)


def test_lstm_bias_starts_with_unit_forget_bias():
    layer = L.LSTM(3, bias_initializer="zeros")
    layer(_x((1, 2, F)))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), [0, 0, 0, 1, 1, 1] + [0] * 6)
    layer = L.LSTM(3, unit_forget_bias=False)
    layer(_x((1, 2, F)))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.zeros(12))


def test_weight_shapes_are_tf_keras():
    shapes = {}
    for name, layer in [("lstm", L.LSTM(U)), ("gru", L.GRU(U)),
                        ("gru_v1", L.GRU(U, reset_after=False)), ("rnn", L.SimpleRNN(U))]:
        layer(_x())
        shapes[name] = [tuple(w.shape) for w in layer.weights]
    assert shapes == {"lstm": [(F, 4 * U), (U, 4 * U), (4 * U,)],
                      "gru": [(F, 3 * U), (U, 3 * U), (2, 3 * U)],
                      "gru_v1": [(F, 3 * U), (U, 3 * U), (3 * U,)],
                      "rnn": [(F, U), (U, U), (U,)]}
    layer = L.LSTM(U, name="enc")
    layer(_x())
    assert [w.name.split("/")[-1] for w in layer.weights] == [
        "kernel:0", "recurrent_kernel:0", "bias:0"]
    assert layer.units == U and layer.cell.units == U


def test_recurrent_kernel_is_orthogonal():
    layer = L.SimpleRNN(U)
    layer(_x())
    rk = layer.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(rk @ rk.T, np.eye(U), atol=1e-5)
    w = jg.keras.initializers.Orthogonal(gain=2.0, seed=3)((5, 3)).numpy()
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(3), atol=1e-5)
    assert jg.keras.initializers.serialize(jg.keras.initializers.get("orthogonal")) == {
        "class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}


def test_stacked_cells():
    layer = L.RNN([L.LSTMCell(U), L.GRUCell(U), L.SimpleRNNCell(U)], return_sequences=True,
                  return_state=True)
    x = _x()
    layer(x)
    _randomize(layer)
    cells = layer.cell.cells
    ws = [[w.astype(np.float64) for w in c.get_weights()] for c in cells]
    steps = [np_lstm, np_gru, np_simple]

    def chain(xt, s, _):
        s, new = list(s), []
        for step, w, k in zip(steps, ws, (2, 1, 1), strict=True):
            xt, ns = step(xt, s[:k], w)
            s, new = s[k:], new + ns
        return xt, new

    seq, states = np_run(chain, x.astype(np.float64), [np.zeros((B, U))] * 4, None)
    out = _np(layer(x))
    assert len(out) == 5
    _close(out, [seq] + states)
    _close(_np(jg.function(lambda x: layer(x), backend="interpreter")(x)), [seq] + states)


class MinimalCell(L.Layer):
    """The tf.keras documentation's custom cell: h = x @ kernel + h_prev @ recurrent."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel",
                                                shape=(self.units, self.units))

    def call(self, inputs, states):
        h = jg.matmul(inputs, self.kernel) + jg.matmul(states[0], self.recurrent_kernel)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_cell():
    layer = L.RNN(MinimalCell(U), return_sequences=True)
    x = _x()
    got = _np(layer(x))
    k, rk = [w.astype(np.float64) for w in layer.get_weights()]
    want, _ = np_run(lambda xt, s, _: (xt @ k + s[0] @ rk, [xt @ k + s[0] @ rk]),
                     x.astype(np.float64), [np.zeros((B, U))], None)
    _close(got, want)
    _close(_np(jg.function(lambda x: layer(x))(x)), want)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional(merge_mode):
    layer = L.Bidirectional(L.LSTM(U, return_sequences=True), merge_mode=merge_mode)
    x = _x()
    layer(x)
    _randomize(layer)
    wf = [w.astype(np.float64) for w in layer.forward_layer.get_weights()]
    wb = [w.astype(np.float64) for w in layer.backward_layer.get_weights()]
    fw = _expected(np_lstm, x, wf, 2, return_sequences=True)
    bw = _expected(np_lstm, x, wb, 2, go_backwards=True, return_sequences=True)[:, ::-1]
    want = {"concat": np.concatenate([fw, bw], -1), "sum": fw + bw, "mul": fw * bw,
            "ave": (fw + bw) / 2, None: [fw, bw]}[merge_mode]
    _close(_np(layer(x)), want)
    assert layer.compute_output_shape((B, T, F)) == (
        [(B, T, U)] * 2 if merge_mode is None else (B, T, 2 * U if merge_mode == "concat"
                                                    else U))
    assert len(layer.weights) == 6


def test_bidirectional_states_and_compiled():
    layer = L.Bidirectional(L.GRU(U, return_state=True))
    x = _x()
    init = [_x((B, U), seed=7), _x((B, U), seed=8)]
    out = _np(layer(x, initial_state=init))
    assert [o.shape for o in out] == [(B, 2 * U), (B, U), (B, U)]
    wf = [w.astype(np.float64) for w in layer.forward_layer.get_weights()]
    wb = [w.astype(np.float64) for w in layer.backward_layer.get_weights()]
    fw, hf = _expected(np_gru, x, wf, 1, init=[init[0]], return_state=True)
    bw, hb = _expected(np_gru, x, wb, 1, init=[init[1]], go_backwards=True,
                       return_state=True)
    _close(out, [np.concatenate([fw, bw], -1), hf, hb])
    _close(_np(jg.function(lambda x, s: layer(x, initial_state=s))(x, init)), out)


def test_time_distributed():
    dense = L.Dense(3)
    layer = L.TimeDistributed(dense)
    x = _x()
    got = _np(layer(x))
    k, b = dense.get_weights()
    _close(got, x @ k + b)
    assert layer.compute_output_shape((None, T, F)) == (None, T, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout(kind):
    """Inference ignores dropout; training draws one input mask and one recurrent-state mask
    per call, the same at every step, and compiles."""
    make, step, n = KINDS[kind]
    layer = make(dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    plain = make(return_sequences=True)
    x = _x()
    layer(x), plain(x)
    plain.set_weights(layer.get_weights())
    _close(_np(layer(x)), _np(plain(x)))
    _close(_np(layer(x, training=False)), _np(plain(x)))
    jg.random.set_seed(3)
    a = _np(layer(x, training=True))
    assert np.abs(a - _np(plain(x))).max() > 1e-3
    assert np.abs(a - _np(layer(x, training=True))).max() > 1e-3  # fresh masks per call
    got = _np(jg.function(lambda x: layer(x, training=True))(x))
    assert got.shape == (B, T, U) and np.all(np.isfinite(got))
    # with the masks of one call: NumPy with the inputs masked and h masked where it enters
    # the recurrent matmul
    cell = layer.cell
    cell._set_masks(jg.constant(x[:, 0]), True)
    try:
        masks = [m.numpy().astype(np.float64) for m in cell._masks]
        got = _np(layer._run(jg.constant(x), [jg.zeros((B, U))] * n))
    finally:
        cell._masks = (None, None)
    w = [v.astype(np.float64) for v in layer.get_weights()]
    want, _ = np_run(lambda xt, st, w: step(xt, st, w, masks[1]),
                     x.astype(np.float64) * masks[0][:, None, :], [np.zeros((B, U))] * n, w)
    assert set(np.unique(masks[0])) == {0.0, 2.0}
    _close(got, want)


def test_dropout_in_fit():
    jg.random.set_seed(1)
    x, y = _memory_task(n=64)
    model = jg.keras.Sequential([L.Input((8, 2)), L.GRU(8, dropout=0.1, recurrent_dropout=0.1),
                                 L.Dense(1)])
    model.compile(optimizer=jg.keras.optimizers.Adam(0.02), loss="mse")
    hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert all(np.isfinite(hist.history["loss"]))


# ----------------------------------------------------------------------------- gradients
def _fd_check(layer_factory, seed):
    """Tape gradients (eager, and of a jg.function on cpu) w.r.t. inputs and weights match
    central differences in a random direction, in float64."""
    layer = layer_factory(dtype="float64", return_sequences=True)
    x = _x((2, 4, 3), seed=seed, dtype=np.float64)
    layer(x)
    _randomize(layer, seed)
    rng = np.random.default_rng(seed + 1)
    proj = rng.standard_normal((2, 4, U))

    def loss(xv):
        return jg.reduce_sum(layer(xv) * proj)

    def grads(fn):
        xt = jg.constant(x)
        with jg.GradientTape() as tape:
            tape.watch(xt)
            value = fn(xt)
        return tape.gradient(value, [xt] + layer.trainable_weights)

    eager = [np.asarray(g.numpy()) for g in grads(loss)]

    @jg.function
    def graph_grads(xv):
        with jg.GradientTape() as tape:
            tape.watch(xv)
            value = loss(xv)
        return tape.gradient(value, [xv] + layer.trainable_weights)

    graph = [np.asarray(g.numpy()) for g in graph_grads(jg.constant(x))]
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
    for g in (eager, graph):
        analytic = sum(float(np.sum(a * d)) for a, d in zip(g, dirs, strict=True))
        assert abs(analytic - fd) <= 1e-6 * max(1.0, abs(fd)), (analytic, fd)


def test_lstm_gradient_finite_differences():
    _fd_check(lambda **kw: L.LSTM(U, **kw), seed=11)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gradient_finite_differences(reset_after):
    _fd_check(lambda **kw: L.GRU(U, reset_after=reset_after, **kw), seed=12)


# ----------------------------------------------------------------------------- models
def _memory_task(n=256, steps=8, seed=0):
    """y = the first value of the sequence: the model has to carry it to the end."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n, steps, 2)).astype(np.float32)
    return x, x[:, :1, 0] * 2.0


def test_fit_learns_a_sequence_task():
    jg.random.set_seed(0)
    x, y = _memory_task()
    model = jg.keras.Sequential([L.Input((8, 2)), L.LSTM(16), L.Dense(1)])
    model.compile(optimizer=jg.keras.optimizers.Adam(0.02), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    hist = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.2 * before, (before, hist.history["loss"], after)
    assert model.predict(x[:5], verbose=0).shape == (5, 1)


def test_functional_model_with_initial_state_inputs():
    x_in, h_in, c_in = L.Input((T, F)), L.Input((U,)), L.Input((U,))
    seq, h, c = L.LSTM(U, return_sequences=True, return_state=True)(
        x_in, initial_state=[h_in, c_in])
    y = L.TimeDistributed(L.Dense(2))(seq)
    model = jg.keras.Model([x_in, h_in, c_in], [y, h, c])
    x, h0, c0 = _x(), _x((B, U), seed=1), _x((B, U), seed=2)
    out = model.predict([x, h0, c0], verbose=0)
    assert [o.shape for o in out] == [(B, T, 2), (B, U), (B, U)]
    lstm = model.layers[3] if isinstance(model.layers[3], L.LSTM) else next(
        la for la in model.layers if isinstance(la, L.LSTM))
    w = [v.astype(np.float64) for v in lstm.get_weights()]
    _close(out[1:], _expected(np_lstm, x, w, 2, init=[h0, c0], return_state=True)[1:],
           tol=1e-4)


def test_summary_and_output_shapes():
    model = jg.keras.Sequential([L.Input((T, F)), L.LSTM(U, return_sequences=True, name="lstm"),
                                 L.Bidirectional(L.GRU(U), name="bi"), L.Dense(1)])
    text = []
    model.summary(print_fn=text.append)
    text = "\n".join(text)
    assert "lstm (LSTM)" in text and f"(None, {T}, {U})" in text
    assert "(Bidirectional)" in text and f"(None, {2 * U})" in text
    lstm = 4 * (F * U + U * U + U)
    gru = 2 * (3 * (U * U + U * U) + 2 * 3 * U)
    assert f"{lstm:,}" in text and f"{gru:,}" in text
    assert L.LSTM(U, return_state=True).compute_output_shape((None, T, F)) == [
        (None, U), (None, U), (None, U)]
    assert L.SimpleRNN(U, return_sequences=True).compute_output_shape((2, T, F)) == (2, T, U)


LAYERS_FOR_CONFIG = [
    lambda: L.LSTM(U, return_sequences=True, go_backwards=True, unit_forget_bias=False,
                   recurrent_activation="hard_sigmoid", name="l1"),
    lambda: L.GRU(U, reset_after=False, return_state=True, unroll=True),
    lambda: L.SimpleRNN(U, activation="relu", use_bias=False,
                        kernel_regularizer=jg.keras.regularizers.l2(0.01)),
    lambda: L.RNN([L.LSTMCell(U), L.GRUCell(3)], return_sequences=True),
    lambda: L.Bidirectional(L.LSTM(U, return_sequences=True), merge_mode="sum"),
    lambda: L.TimeDistributed(L.Dense(3, activation="relu")),
]


@pytest.mark.parametrize("make", range(len(LAYERS_FOR_CONFIG)))
def test_config_round_trip(make):
    layer = LAYERS_FOR_CONFIG[make]()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    rebuilt = L.deserialize(L.serialize(layer))
    assert type(rebuilt) is type(layer)
    x = _x()
    layer(x), clone(x)
    clone.set_weights(layer.get_weights())
    _close(_np(clone(x)), _np(layer(x)))


def test_save_and_load(tmp_path):
    model = jg.keras.Sequential([
        L.Input((T, F)), L.Bidirectional(L.LSTM(U, return_sequences=True)),
        L.GRU(U, return_sequences=True, go_backwards=True), L.TimeDistributed(L.Dense(2)),
        L.RNN([L.SimpleRNNCell(4), L.LSTMCell(3)]), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = _x()
    want = model.predict(x, verbose=0)
    for path in (tmp_path / "m.keras",):
        model.save(path)
        loaded = jg.keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
        assert [type(la).__name__ for la in loaded.layers] == [
            type(la).__name__ for la in model.layers]


def test_save_and_load_custom_cell(tmp_path):
    model = jg.keras.Sequential([L.Input((T, F)), L.RNN(MinimalCell(U)), L.Dense(1)])
    x = _x()
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "m")
    loaded = jg.keras.models.load_model(tmp_path / "m",
                                        custom_objects={"MinimalCell": MinimalCell})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- errors
def test_rank_2_input_is_an_error_naming_layer_shape_and_fix():
    layer = L.LSTM(U, name="encoder")
    with pytest.raises(ValueError) as e:
        layer(_x((B, F)))
    msg = str(e.value)
    assert "'encoder'" in msg and "(3, 4)" in msg and "3-D" in msg and "expand_dims" in msg


def test_wrong_initial_state_is_an_error():
    layer = L.LSTM(U, name="dec")
    x = _x()
    with pytest.raises(ValueError) as e:
        layer(x, initial_state=[_x((B, U))])
    assert "'dec'" in str(e.value) and "1 tensor" in str(e.value) and "2 state" in str(e.value)
    with pytest.raises(ValueError) as e:
        layer(x, initial_state=[_x((B, U)), _x((B, U + 1))])
    msg = str(e.value)
    assert "initial_state[1]" in msg and "(3, 7)" in msg and f"(3, {U})" in msg
    with pytest.raises(ValueError, match="initial_state\\[0\\]"):
        layer(x, initial_state=[_x((B + 1, U)), _x((B, U))])


def test_other_errors():
    layer = L.GRU(U, name="g")
    layer(_x())
    with pytest.raises(ValueError, match="'g'.*built for 4 features"):
        layer(_x((B, T, F + 1)))
    with pytest.raises(ValueError, match="recurrent_dropout must be in"):
        L.LSTM(U, recurrent_dropout=1.0)
    with pytest.raises(NotImplementedError, match="stateful"):
        L.LSTM(U, stateful=True)
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(U), merge_mode="max")
    unrolled = L.LSTM(U, unroll=True)
    with pytest.raises(ValueError, match="unroll=True needs a known number of timesteps"):
        jg.function(lambda x: unrolled(x),
                    input_signature=[jg.TensorSpec([None, None, F])]).get_concrete_function()


# ----------------------------------------------------------------------------- tf.keras
TF_CASES = [("LSTM", dict()), ("LSTM", dict(return_sequences=True, go_backwards=True)),
            ("GRU", dict(return_sequences=True)), ("GRU", dict(reset_after=False)),
            ("SimpleRNN", dict(return_sequences=True))]


@pytest.mark.parametrize("case", range(len(TF_CASES)))
def test_matches_tf_keras_with_copied_weights(case):
    tf = pytest.importorskip("tensorflow")
    name, kw = TF_CASES[case]
    x = _x()
    ours = getattr(L, name)(U, **kw)
    theirs = getattr(tf.keras.layers, name)(U, **kw)
    want = theirs(x).numpy()
    ours(x)
    ours.set_weights(theirs.get_weights())
    _close(_np(ours(x)), want, tol=1e-5)
    if kw.get("go_backwards"):
        return  # Keras 3 refuses Bidirectional over a go_backwards layer
    theirs_bi = tf.keras.layers.Bidirectional(getattr(tf.keras.layers, name)(U, **kw))
    ours_bi = L.Bidirectional(getattr(L, name)(U, **kw))
    want = theirs_bi(x).numpy()
    ours_bi(x)
    ours_bi.set_weights(theirs_bi.get_weights())
    _close(_np(ours_bi(x)), want, tol=1e-5)


# ----------------------------------------------------------------------------- cuda
@pytest.mark.slow  # ~8 s; test_cuda_run.py's recurrent training steps run by default
def test_cuda_backend_on_the_emulator():
    """The while-loop forward pass and its gradient (loop stacks on the device) run on the
    cuda backend, as does the unrolled layer's."""
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use("emulator")
    try:
        x = _x((2, 3, F))
        layer = L.LSTM(3, return_sequences=True)
        _close(_np(jg.function(lambda x: layer(x), backend="cuda")(x)), _np(layer(x)))
        for lay in (L.LSTM(3), L.GRU(3), L.SimpleRNN(3), L.LSTM(3, unroll=True)):

            def grads(x, lay=lay):
                with jg.GradientTape() as tape:
                    loss = jg.reduce_sum(lay(x))
                return tape.gradient(loss, lay.trainable_weights)

            _close(_np(jg.function(grads, backend="cuda")(x)), _np(grads(jg.constant(x))))
    finally:
        cuda_driver.use(before)
