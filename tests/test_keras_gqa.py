"""jg.keras GroupedQueryAttention (GroupQueryAttention): a NumPy reference, tf.keras with
copied weights (eager, compiled on the cpu backend and the interpreter, masks, gate, sliding
window), compiled fit steps against tf.keras, float64 finite differences, dropout, configs,
and errors."""

import numpy as np
import pytest

import jitgraph as jg

L = jg.keras.layers
RNG = np.random.default_rng(11)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def rand(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


def np_gqa(layer, q, v, k=None, mask=None, causal=False):
    """Grouped-query attention from the layer's weights (no gate, no window)."""
    w = [np.asarray(x, np.float64) for x in layer.get_weights()]
    if layer.use_bias:
        qk, qb, kk, kb, vk, vb, ok, ob = w
    else:
        (qk, kk, vk, ok), qb = w, None
    k = v if k is None else k

    def proj(x, kern, bias):
        y = np.einsum("btd,dnh->bnth", x, kern)
        return y if bias is None else y + bias[None, :, None]

    r = layer.num_query_heads // layer.num_key_value_heads
    qp = proj(q, qk, qb) / np.sqrt(layer.head_dim)
    kp = np.repeat(proj(k, kk, None if qb is None else kb), r, axis=1)
    vp = np.repeat(proj(v, vk, None if qb is None else vb), r, axis=1)
    scores = qp @ np.swapaxes(kp, -1, -2)
    m = None if mask is None else mask[:, None]
    if causal:
        tri = np.tril(np.ones(scores.shape[-2:], bool))[None, None]
        m = tri if m is None else m & tri
    if m is not None:
        scores = np.where(m, scores, -1e9)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    if m is not None:
        probs = np.where(m, probs, 0.0)
    out = np.einsum("bnth,nhm->btm", probs @ vp, ok)
    return (out if qb is None else out + ob), probs


@pytest.mark.parametrize("kv,use_bias,causal", [(2, True, False), (1, False, True),
                                                (4, True, True)])
def test_matches_numpy(kv, use_bias, causal):
    q, v, k = rand(2, 5, 6), rand(2, 5, 3), rand(2, 5, 4)
    mask = RNG.uniform(size=(2, 5, 5)) > 0.3
    layer = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=kv,
                                  use_bias=use_bias)
    out, scores = layer(q, v, k, attention_mask=mask, use_causal_mask=causal,
                        return_attention_scores=True)
    want, want_scores = np_gqa(layer, q.astype(np.float64), v, k, mask, causal)
    close(out.numpy(), want)
    close(scores.numpy(), want_scores)
    assert scores.shape == (2, 4, 5, 5)


# ----------------------------------------------------------------------------- tf.keras
TF_CASES = [
    (dict(head_dim=3, num_query_heads=4, num_key_value_heads=2), dict()),
    (dict(head_dim=2, num_query_heads=6, num_key_value_heads=1, use_bias=False),
     dict(use_causal_mask=True, key=True)),
    (dict(head_dim=4, num_query_heads=2, num_key_value_heads=2, use_gate=True,
          sliding_window=2), dict(mask=True)),
    (dict(head_dim=2, num_query_heads=4, num_key_value_heads=2, sliding_window=3,
          kernel_initializer="he_normal", bias_initializer="ones"),
     dict(use_causal_mask=True, mask=True)),
]


@pytest.mark.parametrize("case", range(len(TF_CASES)))
def test_matches_tf_keras_eager_and_compiled(case):
    tf = pytest.importorskip("tensorflow")
    kw, call = TF_CASES[case]
    q, v = rand(2, 5, 6), rand(2, 5, 7)
    k = rand(2, 5, 3) if call.get("key") else None
    # the diagonal stays visible: for a query position with nothing to attend to, Keras'
    # fused path (no scores returned) and its explicit path disagree (the latter, ours: 0)
    mask = (RNG.uniform(size=(2, 5, 5)) > 0.3) | np.eye(5, dtype=bool) \
        if call.get("mask") else None
    causal = call.get("use_causal_mask", False)
    theirs = tf.keras.layers.GroupQueryAttention(**kw)
    want, want_scores = (t.numpy() for t in theirs(
        q, v, key=k, attention_mask=mask, use_causal_mask=causal,
        return_attention_scores=True))
    ours = L.GroupQueryAttention(**kw)
    ours(q, v, k)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    names = [w.name.split(":")[0].split("/", 1)[1] for w in ours.weights]
    assert names == [w.path.split("/", 1)[1] for w in theirs.weights]  # query/kernel, ...
    ours.set_weights(theirs.get_weights())
    out, scores = ours(q, v, k, attention_mask=mask, use_causal_mask=causal,
                       return_attention_scores=True)
    close(out.numpy(), want)
    close(scores.numpy(), want_scores)
    plain = theirs(q, v, key=k, attention_mask=mask, use_causal_mask=causal).numpy()
    close(plain, want)  # Keras' fused path (no scores) gives the same numbers
    for backend in ("cpu", "interpreter") if case < 2 else ("cpu",):
        f = jg.function(lambda a, b, m: ours(a, b, k, attention_mask=m,
                                             use_causal_mask=causal), backend=backend)
        close(f(q, v, mask if mask is not None else np.ones((2, 5, 5), bool)).numpy(), want)


def test_fit_steps_match_tf_keras():
    """Two compiled SGD steps through a functional model with a residual GQA block give
    tf.keras's losses and weights."""
    tf = pytest.importorskip("tensorflow")

    def build(lib):
        lay = lib.keras.layers
        x = lay.Input((6, 4))
        h = lay.GroupQueryAttention(head_dim=3, num_query_heads=4,
                                    num_key_value_heads=2)(x, x, use_causal_mask=True)
        y = lay.Dense(1)(lay.GlobalAveragePooling1D()(lay.Add()([x, h])))
        return lib.keras.Model(x, y)

    theirs, ours = build(tf), build(jg)
    ours.set_weights(theirs.get_weights())
    for m, lib in ((theirs, tf), (ours, jg)):
        m.compile(optimizer=lib.keras.optimizers.SGD(0.1), loss="mse")
    x, y = rand(8, 6, 4), rand(8, 1)
    h_t = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    h_o = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    close(h_o.history["loss"], h_t.history["loss"], tol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        close(a, b, tol=1e-4)


# ----------------------------------------------------------------------------- gradients
def test_gradient_finite_differences():
    """float64 central differences in a random direction over query, value and every
    weight, eager and compiled (gate and sliding window on)."""
    rng = np.random.default_rng(2)
    layer = L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2,
                                  use_gate=True, sliding_window=3, dtype="float64",
                                  bias_initializer="random_normal")
    q, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    layer(q, v)
    w_out = jg.constant(rng.standard_normal((2, 4, 3)))

    def loss(a, b):
        return jg.reduce_sum(layer(a, b) * w_out)

    def grads(a, b):
        with jg.GradientTape() as tape:
            tape.watch([a, b])
            value = loss(a, b)
        return tape.gradient(value, [a, b] + layer.trainable_weights)

    params = [q, v] + [w.numpy() for w in layer.trainable_weights]
    dirs = [rng.standard_normal(p.shape) for p in params]
    eps = 1e-6

    def at(sign):
        for w, p, d in zip(layer.trainable_weights, params[2:], dirs[2:], strict=True):
            w.assign(p + sign * eps * d)
        return float(loss(jg.constant(q + sign * eps * dirs[0]),
                          jg.constant(v + sign * eps * dirs[1])).numpy())

    fd = (at(1) - at(-1)) / (2 * eps)
    for w, p in zip(layer.trainable_weights, params[2:], strict=True):
        w.assign(p)
    for g in (grads(jg.constant(q), jg.constant(v)),
              jg.function(grads)(jg.constant(q), jg.constant(v))):
        analytic = sum(float(np.sum(a.numpy() * d)) for a, d in zip(g, dirs, strict=True))
        assert abs(analytic - fd) <= 1e-6 * max(1.0, abs(fd)), (analytic, fd)


# ----------------------------------------------------------------------------- behaviour
def test_dropout_only_in_training_and_input_masks():
    q = rand(2, 4, 6)
    layer = L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                  dropout=0.5)
    base = layer(q, q).numpy()
    close(layer(q, q, training=False).numpy(), base)
    assert not np.allclose(layer(q, q, training=True).numpy(), base)
    # query/value masks join attention_mask as in MultiHeadAttention
    qm = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    got = layer(q, q, query_mask=qm, value_mask=qm).numpy()
    want = layer(q, q, attention_mask=qm[:, :, None] & qm[:, None, :]).numpy()
    close(got, want)


def test_config_round_trip_and_aliases():
    layer = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                  sliding_window=4, use_gate=True, name="gqa")
    assert L.GroupedQueryAttention is L.GroupQueryAttention
    q = rand(1, 3, 5)
    want = layer(q, q).numpy()
    cfg = layer.get_config()
    assert {k: cfg[k] for k in ("head_dim", "num_query_heads", "num_key_value_heads",
                                "sliding_window", "use_gate")} == dict(
        head_dim=3, num_query_heads=4, num_key_value_heads=2, sliding_window=4, use_gate=True)
    assert "num_heads" not in cfg and "key_dim" not in cfg
    clone = L.deserialize(L.serialize(layer))
    clone(q, q)
    clone.set_weights(layer.get_weights())
    close(clone(q, q).numpy(), want)
    assert tuple(layer.compute_output_shape((None, 3, 5), (None, 7, 2))) == (None, 3, 5)


# ----------------------------------------------------------------------------- errors
def test_errors_name_layer_shape_and_fix():
    with pytest.raises(ValueError, match=r"num_query_heads \(6\) must be a multiple of "
                                         r"num_key_value_heads \(4\)"):
        L.GroupQueryAttention(head_dim=2, num_query_heads=6, num_key_value_heads=4)
    with pytest.raises(ValueError, match="head_dim must be a positive integer"):
        L.GroupQueryAttention(head_dim=0, num_query_heads=2, num_key_value_heads=1)
    with pytest.raises(ValueError, match="dropout is not supported with flash_attention"):
        L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                              dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match="sliding_window must be a positive integer"):
        L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                              sliding_window=0)
    layer = L.GroupQueryAttention(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                  name="gqa")
    with pytest.raises(ValueError, match=r"GroupedQueryAttention layer 'gqa': query must "
                                         r"have rank 3.*\(2, 3, 4, 5\)"):
        layer(rand(2, 3, 4, 5), rand(2, 3, 4, 5))
    layer(rand(2, 3, 5), rand(2, 4, 5))
    with pytest.raises(ValueError, match=r"GroupedQueryAttention layer 'gqa': it was built "
                                         r"for query with last dimension 5.*\(2, 3, 6\)"):
        layer(rand(2, 3, 6), rand(2, 4, 5))
    with pytest.raises(ValueError, match=r"GroupedQueryAttention layer 'gqa': attention_mask "
                                         r"must have shape.*\(2, 3, 7\)"):
        layer(rand(2, 3, 5), rand(2, 4, 5), attention_mask=np.ones((2, 3, 7), bool))
    with pytest.raises(ValueError, match=r"GroupedQueryAttention layer 'gqa': value and key "
                                         r"must agree"):
        layer(rand(2, 3, 5), rand(2, 4, 5), rand(2, 2, 5))
