"""Keras masks (keras/masking.py and the layers that make, pass and consume them): models
with Embedding(mask_zero=True) / Masking on padded batches of varying lengths against tf.keras
with copied weights (outputs and gradients, eager and compiled), the recurrent loop against
per-sequence runs without padding (hypothesis over lengths), float64 finite differences
through a masked loop, masked losses and metrics in fit, and errors naming both shapes."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph as jg

L = jg.keras.layers
VOCAB, T = 20, 6


def _tokens(lens, seed=0, t=T):
    rng = np.random.default_rng(seed)
    tok = np.zeros((len(lens), t), np.int32)
    for i, n in enumerate(lens):
        tok[i, :n] = rng.integers(1, VOCAB, n)
    return tok


LENS = [5, 3, 1, 4, 6, 2]


def _np(t):
    return [_np(v) for v in t] if isinstance(t, (list, tuple)) else np.asarray(t)


def _close(a, b, tol=1e-5):
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- making masks
def test_embedding_mask_zero_and_masking_layer():
    tok = _tokens([3, 1, 0])
    x = L.Embedding(VOCAB, 4, mask_zero=True)(tok)
    np.testing.assert_array_equal(_np(x._keras_mask), tok != 0)
    assert x._keras_mask.dtype == jg.bool
    assert getattr(L.Embedding(VOCAB, 4)(tok), "_keras_mask", None) is None
    cfg = L.Embedding(VOCAB, 4, mask_zero=True).get_config()
    assert cfg["mask_zero"] is True and L.Embedding.from_config(cfg).mask_zero

    seq = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    seq[0, 2:] = 0.0
    seq[1, 1, :] = 5.0
    seq[1, 3, 0] = 5.0  # a step with only some features equal to mask_value stays
    out = L.Masking(mask_value=5.0)(seq)
    want_mask = np.any(seq != 5.0, axis=-1)
    np.testing.assert_array_equal(_np(out._keras_mask), want_mask)
    np.testing.assert_array_equal(_np(out), np.where(want_mask[..., None], seq, 0.0))
    assert L.Masking.from_config(L.Masking(2.0).get_config()).mask_value == 2.0


def test_masks_pass_through_merge_and_drop_as_keras():
    tf = pytest.importorskip("tensorflow")
    tok = _tokens(LENS)
    other = _tokens([6, 6, 2, 2, 6, 0], seed=3)
    theirs, ours = [], []
    for t in (tok, other):
        emb, copy = tf.keras.layers.Embedding(VOCAB, 4, mask_zero=True), \
            L.Embedding(VOCAB, 4, mask_zero=True)
        theirs.append(emb(t))
        copy(t)
        copy.set_weights(emb.get_weights())
        ours.append(copy(t))
    for layer in (L.Dense(3), L.Dropout(0.5), L.Activation("relu"), L.LayerNormalization(),
                  L.BatchNormalization(), L.ReLU(), L.TimeDistributed(L.Dense(2))):
        np.testing.assert_array_equal(_np(layer(ours[0])._keras_mask), tok != 0)
    for name, args in (("Add", ()), ("Multiply", ()), ("Maximum", ()), ("Concatenate", ()),
                       ("Concatenate", (1,))):
        got = getattr(L, name)(*args)(ours)._keras_mask
        want = getattr(tf.keras.layers, name)(*args)(theirs)._keras_mask
        np.testing.assert_array_equal(_np(got), want.numpy())
    plain = np.ones((len(LENS), T, 4), np.float32)
    got = L.Concatenate()([ours[0], jg.constant(plain)])._keras_mask  # Keras: any over axis
    want = tf.keras.layers.Concatenate()([theirs[0], tf.constant(plain)])._keras_mask
    np.testing.assert_array_equal(_np(got), want.numpy())
    for name in ("Maximum", "Multiply", "Minimum"):  # masked elements as Keras fills them
        got = getattr(L, name)()([ours[0], jg.constant(plain)])
        want = getattr(tf.keras.layers, name)()([theirs[0], tf.constant(plain)])
        _close(_np(got), want.numpy())
    with pytest.warns(UserWarning, match="does not support masking"):
        flat = L.Flatten()(ours[0])
    assert getattr(flat, "_keras_mask", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pooled = L.GlobalAveragePooling1D()(ours[0])
        assert getattr(pooled, "_keras_mask", None) is None


def test_lambda_and_softmax_masks_as_keras():
    tf = pytest.importorskip("tensorflow")
    tok = _tokens(LENS)
    x = L.Embedding(VOCAB, 4, mask_zero=True)(tok)
    assert getattr(L.Lambda(lambda v: v * 2.0)(x), "_keras_mask", None) is None  # Keras' rule
    seen = {}

    def fn(v, mask=None):
        seen["mask"] = mask
        return v

    kept = L.Lambda(fn, mask=lambda inputs, mask: mask)(x)
    np.testing.assert_array_equal(_np(seen["mask"]), tok != 0)
    np.testing.assert_array_equal(_np(kept._keras_mask), tok != 0)
    scores = np.random.default_rng(1).standard_normal((len(LENS), T, T)).astype(np.float32)
    mask = (tok != 0)[:, None, :]
    _close(_np(L.Softmax()(scores, mask=mask)),
           tf.keras.layers.Softmax()(scores, mask=mask).numpy())


def test_batch_normalization_statistics_of_unmasked_steps():
    tf = pytest.importorskip("tensorflow")
    x = (np.random.default_rng(0).standard_normal((3, 5, 4)) * 3 + 1).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array([[5], [2], [3]])
    theirs, ours = tf.keras.layers.BatchNormalization(), L.BatchNormalization()
    want = theirs(x, training=True, mask=mask).numpy()
    ours(x)
    _close(_np(ours(x, training=True, mask=mask)), want)
    _close([ours.moving_mean.numpy(), ours.moving_variance.numpy()],
           [theirs.moving_mean.numpy(), theirs.moving_variance.numpy()])
    with pytest.raises(ValueError, match=r"mask.shape=\(3, 5, 4\), inputs.shape=\(3, 5, 4\)"):
        ours(x, training=True, mask=np.ones((3, 5, 4), bool))


# ----------------------------------------------------------------------------- against tf.keras
def _embedded(mod, head, t=None):
    inp = mod.Input(shape=(t,), dtype="int32")
    x = mod.layers.Embedding(VOCAB, 4, mask_zero=True)(inp)
    return mod.Model(inp, head(mod, x))


def _mha(mod, x):
    y = mod.layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, x)
    y = mod.layers.LayerNormalization()(mod.layers.Add()([x, y]))
    return mod.layers.GlobalAveragePooling1D()(y)


HEADS = {
    "lstm_sequences": lambda m, x: m.layers.LSTM(3, return_sequences=True)(x),
    "lstm_states": lambda m, x: m.layers.LSTM(3, return_state=True)(x),
    "gru_backwards": lambda m, x: m.layers.GRU(3, return_sequences=True, go_backwards=True)(x),
    "gru_v1": lambda m, x: m.layers.GRU(3, reset_after=False)(x),
    "simple_rnn_backwards": lambda m, x: m.layers.SimpleRNN(3, go_backwards=True)(x),
    "lstm_unrolled": lambda m, x: m.layers.LSTM(3, return_sequences=True, unroll=True)(x),
    "stacked_cells": lambda m, x: m.layers.RNN([m.layers.LSTMCell(3), m.layers.GRUCell(2)],
                                               return_sequences=True)(x),
    "bi_lstm_pooled": lambda m, x: m.layers.GlobalAveragePooling1D()(
        m.layers.Bidirectional(m.layers.LSTM(3, return_sequences=True))(x)),
    "bi_gru_sequences": lambda m, x: m.layers.Bidirectional(
        m.layers.GRU(3, return_sequences=True), merge_mode=None)(x),
    "bi_lstm_last_states": lambda m, x: m.layers.Bidirectional(
        m.layers.LSTM(3, return_state=True), merge_mode="sum")(x),
    "average_pooling": lambda m, x: m.layers.GlobalAveragePooling1D()(m.layers.Dense(5)(x)),
    "max_pooling_ignores_mask": lambda m, x: m.layers.GlobalMaxPooling1D()(x),
    "multi_head_attention": _mha,
    "attention": lambda m, x: m.layers.LSTM(2)(m.layers.Concatenate()(
        [x, m.layers.Attention()([x, x])])),
    "additive_attention": lambda m, x: m.layers.AdditiveAttention()([x, x]),
}


def _pair(head, t=None):
    tf = pytest.importorskip("tensorflow")
    theirs = _embedded(tf.keras, HEADS[head], t)
    ours = _embedded(jg.keras, HEADS[head], t)
    ours.set_weights(theirs.get_weights())
    return tf, theirs, ours


SLOW_HEADS = {"gru_v1", "lstm_unrolled", "stacked_cells", "bi_lstm_last_states",
              "additive_attention", "max_pooling_ignores_mask"}


@pytest.mark.filterwarnings("ignore:Layer .* does not support masking")
@pytest.mark.parametrize("head", [pytest.param(h, marks=pytest.mark.slow) if h in SLOW_HEADS
                                  else h for h in sorted(HEADS)])
def test_outputs_match_tf_keras_eager_and_compiled(head):
    tf, theirs, ours = _pair(head)
    tok = _tokens(LENS)
    want = _np([o.numpy() for o in theirs(tok)] if isinstance(theirs(tok), (list, tuple))
               else theirs(tok).numpy())
    _close(_np(ours(tok)), want)
    _close(_np(jg.function(lambda x: ours(x))(tok)), want)


def test_interpreter_backend_and_output_mask_in_compiled_code():
    _, theirs, ours = _pair("bi_gru_sequences")
    tok = _tokens(LENS)
    want = [o.numpy() for o in theirs(tok)]

    def run(x):
        fw, bw = ours(x)
        return fw, bw, fw._keras_mask  # the mask is a graph tensor inside jg.function

    for backend in ("interpreter", "cpu"):
        fw, bw, mask = jg.function(run, backend=backend)(tok)
        _close([_np(fw), _np(bw)], want)
        np.testing.assert_array_equal(_np(mask), tok != 0)


def test_gradients_match_tf_keras():
    tf, theirs, ours = _pair("bi_lstm_pooled")
    tok = _tokens(LENS)
    proj = np.random.default_rng(2).standard_normal((len(LENS), 6)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(theirs(tok) * proj)
    want = [g.numpy() if not hasattr(g, "values") else tf.convert_to_tensor(g).numpy()
            for g in tape.gradient(loss, theirs.trainable_weights)]

    def grads(x):
        with jg.GradientTape() as tape:
            loss = jg.reduce_sum(ours(x) * proj)
        return tape.gradient(loss, ours.trainable_weights)

    _close(_np(grads(jg.constant(tok))), want, tol=2e-5)
    _close(_np(jg.function(grads)(tok)), want, tol=2e-5)


def test_masked_fit_loss_is_the_mean_over_unmasked_steps():
    """fit's loss and metric (the compiled step) are means over the unmasked steps of the
    predictions before the update."""
    tok = _tokens(LENS)
    y = np.random.default_rng(4).standard_normal((len(LENS), T, 1)).astype(np.float32)
    inp = jg.keras.Input((T,), dtype="int32")
    out = L.Dense(1)(L.SimpleRNN(3, return_sequences=True)(L.Embedding(VOCAB, 4,
                                                                         mask_zero=True)(inp)))
    model = jg.keras.Model(inp, out)
    model.compile(optimizer=jg.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    valid = tok != 0

    def masked(fn):
        err = np.asarray(model(tok))[..., 0] - y[..., 0]
        return float(fn(err)[valid].mean())

    want = [masked(np.square), masked(np.abs)]
    hist = model.fit(tok, y, batch_size=len(LENS), epochs=1, verbose=0).history
    _close([hist["loss"][0], hist["mae"][0]], want)
    assert masked(np.square) < want[0]


@pytest.mark.slow
def test_masked_fit_matches_tf_keras():
    """A mask on the model output (Dense on the sequence keeps it) weighs the loss and the
    metrics: training history and evaluate agree with tf.keras."""
    tf = pytest.importorskip("tensorflow")
    tok = _tokens(LENS)
    y = np.random.default_rng(4).standard_normal((len(LENS), T, 1)).astype(np.float32)

    def head(m, x):
        return m.layers.Dense(1)(m.layers.LSTM(3, return_sequences=True)(x))

    theirs, ours = _embedded(tf.keras, head, T), _embedded(jg.keras, head, T)
    ours.set_weights(theirs.get_weights())
    theirs.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    ours.compile(optimizer=jg.keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    want = theirs.fit(tok, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history
    got = ours.fit(tok, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history
    for k in ("loss", "mae"):
        _close(got[k], want[k])
    _close(ours.evaluate(tok, y, verbose=0), theirs.evaluate(tok, y, verbose=0))
    mse = jg.keras.losses.MeanSquaredError()
    pred = ours(tok)
    valid = tok != 0
    err = (np.asarray(pred)[..., 0] - y[..., 0]) ** 2
    _close(float(mse(y, pred)), err[valid].mean())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_initial_state_with_left_padding_matches_tf_keras(kind):
    """Given initial states, masked first steps keep them while the output is the zero
    previous output (the output and the first state differ): as tf.keras."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.arange(5)[None, :] >= np.array([[0], [2], [4]])  # left padding
    n_states = 2 if kind == "LSTM" else 1
    init = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n_states)]
    theirs = getattr(tf.keras.layers, kind)(4, return_sequences=True, return_state=True)
    ours = getattr(L, kind)(4, return_sequences=True, return_state=True)
    want = [t.numpy() for t in theirs(x, initial_state=init, mask=mask)]
    ours(x)
    ours.set_weights(theirs.get_weights())
    _close(_np(ours(x, initial_state=init, mask=mask)), want)
    fn = jg.function(lambda x, m, *s: ours(x, initial_state=list(s), mask=m))
    _close(_np(fn(x, mask, *init)), want)


def test_time_distributed_passes_the_mask_per_step():
    seen = {}

    class Probe(jg.keras.layers.Layer):
        supports_masking = True

        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs * 2.0

    tok = _tokens(LENS)
    x = L.Embedding(VOCAB, 4, mask_zero=True)(tok)
    y = L.TimeDistributed(Probe())(x)
    np.testing.assert_array_equal(_np(seen["mask"]), (tok != 0).reshape(-1))
    np.testing.assert_array_equal(_np(y._keras_mask), tok != 0)
    with pytest.raises(ValueError, match=r"TimeDistributed.*mask has shape \(6, 5\)"):
        L.TimeDistributed(L.Dense(2))(x, mask=np.ones((6, 5), bool))


# ----------------------------------------------------------------------------- the loop itself
def _reference_per_sequence(layer, x, lens):
    """Each sample run alone on its unpadded steps: the last output and the final states."""
    outs = [_np(layer(x[i:i + 1, :n])) for i, n in enumerate(lens)]
    return [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=4),
       st.sampled_from(["LSTM", "GRU", "SimpleRNN"]), st.booleans())
def test_masked_loop_equals_unpadded_runs(lens, kind, backwards):
    """Right-padded steps are skipped: the last output and states equal running each sample
    on its own steps (go_backwards: the steps of a reversed padded sequence come first, so
    the reference reverses only the real steps)."""
    x = np.random.default_rng(len(lens)).standard_normal((len(lens), 7, 3)).astype(np.float32)
    mask = np.arange(7)[None, :] < np.array(lens)[:, None]
    layer = getattr(L, kind)(4, return_state=True, go_backwards=backwards)
    got = _np(layer(x, mask=mask))
    want = _reference_per_sequence(layer, x, lens)
    _close(got, want)
    seq = getattr(L, kind)(4, return_sequences=True)
    seq(x)
    out = _np(seq(x, mask=mask))
    for i, n in enumerate(lens):  # masked steps repeat the last real output
        np.testing.assert_allclose(out[i, n:], np.repeat(out[i, n - 1:n], 7 - n, 0), atol=0)


def test_masked_loop_is_one_while_loop():
    layer = L.LSTM(4, return_sequences=True)

    def f(x, mask):
        return layer(x, mask=mask)

    fn = jg.function(f, input_signature=[jg.TensorSpec([None, None, 3]),
                                         jg.TensorSpec([None, None], jg.bool)])
    x = np.random.default_rng(0).standard_normal((3, 5, 3)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array([[5], [2], [4]])
    _close(_np(fn(x, mask)), _np(layer(x, mask=mask)))
    ops = fn.get_concrete_function(jg.TensorSpec([None, None, 3]),
                                   jg.TensorSpec([None, None], jg.bool)).graph.get_operations()
    assert sum(op.type == "while_loop" for op in ops) == 1


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_masked_gradient_finite_differences(kind):
    """float64 central differences in a random direction through the masked while loop,
    eager and compiled, w.r.t. the inputs and every weight."""
    layer = getattr(L, kind)(3, return_sequences=True, dtype="float64")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 2))
    mask = jg.constant(np.arange(5)[None, :] < np.array([[5], [2], [3]]))
    layer(x)
    for v in layer.trainable_weights:
        v.assign(rng.standard_normal(tuple(v.shape)) * 0.5)
    proj = rng.standard_normal((3, 5, 3))

    def loss(xv):
        return jg.reduce_sum(layer(xv, mask=mask) * proj)

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
        analytic = sum(float(np.sum(np.asarray(a) * d)) for a, d in zip(g, dirs, strict=True))
        assert abs(analytic - fd) <= 1e-6 * max(1.0, abs(fd)), (analytic, fd)


# ----------------------------------------------------------------------------- model kinds
def test_sequential_subclassed_and_functional_mask_argument():
    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype(np.float32)
    x[1, 3:] = 0.0
    x[2, 1:] = 0.0
    mask = np.any(x != 0.0, axis=-1)
    lstm = L.LSTM(4)
    seq = jg.keras.Sequential([jg.keras.Input((5, 2)), L.Masking(), lstm])
    want = _np(lstm(x, mask=mask))
    _close(_np(seq(x)), want)

    class Sub(jg.keras.Model):
        def __init__(self):
            super().__init__()
            self.masking, self.rnn = L.Masking(), lstm

        def call(self, inputs):
            return self.rnn(self.masking(inputs))

    _close(_np(Sub()(x)), want)
    inp = jg.keras.Input((5, 2))
    func = jg.keras.Model(inp, lstm(inp))
    _close(_np(func(jg.constant(x), mask=mask)), want)
    _close(_np(func(x)), _np(lstm(x)))  # no mask: all steps count


# ----------------------------------------------------------------------------- errors
def test_mask_shape_errors_name_both_shapes():
    x = np.zeros((2, 5, 3), np.float32)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 4\).*input has shape "
                                         r"\(2, 5, 3\)"):
        L.LSTM(2)(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"mask has shape \(2, 5, 3\).*\(2, 5, 3\)"):
        L.GRU(2)(x, mask=np.ones((2, 5, 3), bool))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D.*mask has shape \(3, 5\)"):
        L.GlobalAveragePooling1D()(x, mask=np.ones((3, 5), bool))
    mha = L.MultiHeadAttention(2, 2)
    with pytest.raises(ValueError, match=r"query mask has shape \(2, 4\) but query has "
                                         r"shape \(2, 5, 3\)"):
        mha(x, x, query_mask=np.ones((2, 4), bool))
    pred = jg.constant(np.zeros((2, 5, 1), np.float32))
    pred._keras_mask = jg.constant(np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"mask of y_pred has shape \(2, 4\).*losses have "
                                         r"shape \(2, 5\)"):
        jg.keras.losses.MeanSquaredError()(np.zeros((2, 5, 1), np.float32), pred)


# ----------------------------------------------------------------------------- cuda
def test_masked_loop_and_gradient_on_the_cuda_emulator():
    from jitgraph.codegen import cuda_driver

    before = cuda_driver.use("emulator")
    try:
        layer = L.LSTM(3, return_sequences=True)
        x = np.random.default_rng(0).standard_normal((2, 4, 2)).astype(np.float32)
        mask = np.array([[True, True, False, False], [True, True, True, True]])
        layer(x)

        def grads(x, m):
            with jg.GradientTape() as tape:
                loss = jg.reduce_sum(layer(x, mask=m))
            return tape.gradient(loss, layer.trainable_weights)

        _close(_np(jg.function(grads, backend="cuda")(x, mask)),
               _np(grads(jg.constant(x), jg.constant(mask))))
    finally:
        cuda_driver.use(before)
