"""jg.keras attention layers: MultiHeadAttention, Attention, AdditiveAttention against NumPy
references with the same weights (and tf.keras with copied weights where TensorFlow is
installed), eager == compiled, gradients, a transformer block that trains, configs, saving,
errors."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(7)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def rand(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


# ----------------------------------------------------------------------- NumPy references

def np_softmax(x, mask=None):
    if mask is not None:
        x = np.where(mask, x, -1e9)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p if mask is None else np.where(mask, p, 0.0)


def np_mha(layer, q, v, k=None, mask=None, causal=False):
    """Multi-head attention from the layer's weights, for rank-3 inputs."""
    w = [np.asarray(x, np.float64) for x in layer.get_weights()]
    if layer.use_bias:
        qk, qb, kk, kb, vk, vb, ok, ob = w
    else:
        (qk, kk, vk, ok), qb = w, None
    k = v if k is None else k

    def proj(x, kern, bias):
        y = np.einsum("btd,dnh->btnh", x, kern)
        return y if bias is None else y + bias

    qp = proj(q, qk, qb) / np.sqrt(layer.key_dim)
    kp = proj(k, kk, None if qb is None else kb)
    vp = proj(v, vk, None if qb is None else vb)
    scores = np.einsum("bsnh,btnh->bnts", kp, qp)
    m = None if mask is None else mask[:, None]
    if causal:
        tri = np.tril(np.ones(scores.shape[-2:], bool))[None, None]
        m = tri if m is None else m & tri
    probs = np_softmax(scores, m)
    ctx = np.einsum("bnts,bsnh->btnh", probs, vp)
    out = np.einsum("btnh,nho->bto", ctx, ok.reshape(ok.shape[0], ok.shape[1], -1))
    if qb is not None:
        out = out + ob.reshape(-1)
    return out.reshape(out.shape[:2] + ok.shape[2:]), probs


def built_mha(q, v, k=None, **kwargs):
    layer = keras.layers.MultiHeadAttention(**kwargs)
    layer(q, v, k)
    return layer


# ------------------------------------------------------------------- MultiHeadAttention

@pytest.mark.parametrize("kwargs", [
    dict(num_heads=2, key_dim=3),
    dict(num_heads=3, key_dim=2, value_dim=4, output_shape=5),
    dict(num_heads=2, key_dim=3, use_bias=False, output_shape=(2, 3)),
])
def test_mha_matches_numpy_reference(kwargs):
    q, v, k = rand(2, 5, 6), rand(2, 4, 3), rand(2, 4, 7)
    mask = RNG.random((2, 5, 4)) > 0.3
    mask[0, 1] = False  # a query position that sees nothing: output row from the bias only
    layer = built_mha(q, v, k, **kwargs)
    out, scores = layer(q, v, k, attention_mask=mask, return_attention_scores=True)
    ref_out, ref_scores = np_mha(layer, q, v, k, mask)
    close(out, ref_out)
    close(scores, ref_scores)
    assert tuple(scores.shape) == (2, kwargs["num_heads"], 5, 4)
    assert np.all(np.asarray(scores)[0, :, 1] == 0.0)


def test_mha_weights_are_named_and_shaped_like_tf_keras():
    layer = built_mha(rand(2, 5, 6), rand(2, 4, 3), num_heads=2, key_dim=4, value_dim=5)
    got = [(w.name.split(":")[0], tuple(w.shape)) for w in layer.weights]
    prefix = layer.name + "/"
    assert got == [(prefix + "query/kernel", (6, 2, 4)), (prefix + "query/bias", (2, 4)),
                   (prefix + "key/kernel", (3, 2, 4)), (prefix + "key/bias", (2, 4)),
                   (prefix + "value/kernel", (3, 2, 5)), (prefix + "value/bias", (2, 5)),
                   (prefix + "attention_output/kernel", (2, 5, 6)),
                   (prefix + "attention_output/bias", (6,))]


def test_mha_causal_mask_and_self_attention():
    x = rand(3, 6, 4)
    layer = built_mha(x, x, num_heads=2, key_dim=2)
    out, scores = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    ref_out, ref_scores = np_mha(layer, x, x, causal=True)
    close(out, ref_out)
    close(scores, ref_scores)
    assert np.all(np.triu(np.asarray(scores)[0, 0], 1) == 0.0)
    # a causal mask combines with an explicit one
    mask = RNG.random((3, 6, 6)) > 0.2
    close(layer(x, x, attention_mask=mask, use_causal_mask=True),
          np_mha(layer, x, x, mask=mask, causal=True)[0])


def test_mha_rank4_inputs_attend_over_all_inner_axes():
    q, v = rand(2, 2, 3, 6), rand(2, 3, 2, 6)
    layer = built_mha(q, v, num_heads=2, key_dim=3)
    out, scores = layer(q, v, return_attention_scores=True)
    assert tuple(out.shape) == (2, 2, 3, 6) and tuple(scores.shape) == (2, 2, 2, 3, 3, 2)
    ref, ref_scores = np_mha(layer, q.reshape(2, 6, 6), v.reshape(2, 6, 6))
    close(out, ref.reshape(2, 2, 3, 6))
    close(scores, ref_scores.reshape(2, 2, 2, 3, 3, 2))


def test_mha_eager_equals_compiled_with_unknown_sequence_length():
    q, v = rand(2, 5, 6), rand(2, 4, 6)
    mask = RNG.random((2, 5, 4)) > 0.3
    layer = built_mha(q, v, num_heads=2, key_dim=3, output_shape=5)

    @jg.function(input_signature=[jg.TensorSpec([None, None, 6]), jg.TensorSpec([None, None, 6]),
                                  jg.TensorSpec([None, None, None], jg.bool)])
    def f(q, v, m):
        return layer(q, v, attention_mask=m, return_attention_scores=True)

    for got, want in zip(f(q, v, mask), layer(q, v, attention_mask=mask,
                                              return_attention_scores=True)):
        close(got, want)
    out = f(q[:1, :3], v[:1, :2], mask[:1, :3, :2])[0]
    close(out, layer(q[:1, :3], v[:1, :2], attention_mask=mask[:1, :3, :2]))
    wide = built_mha(q, v, num_heads=2, key_dim=3, output_shape=(2, 2))
    close(jg.function(lambda q, v: wide(q, v))(q, v), wide(q, v))  # known sizes: fine
    with pytest.raises(ValueError, match="output_shape=.2, 2. with more than one dimension"):
        jg.function(lambda q: wide(q, q[:, :, :6]),
                    input_signature=[jg.TensorSpec([None, None, 6])])(q)


def test_mha_dropout_only_in_training():
    x = rand(2, 5, 4)
    layer = built_mha(x, x, num_heads=2, key_dim=2, dropout=0.5)
    close(layer(x, x), layer(x, x, training=False))
    _, s1 = layer(x, x, training=True, return_attention_scores=True)
    assert not np.allclose(layer(x, x, training=True), layer(x, x))
    close(np.asarray(s1).sum(-1), 1.0)  # the returned scores are taken before dropout


def test_mha_gradient_float64_finite_differences():
    q, v = rand(2, 3, 4, dtype=np.float64), rand(2, 2, 4, dtype=np.float64)
    mask = np.array([[[1, 1], [1, 0], [0, 1]], [[1, 1], [1, 1], [0, 1]]], bool)
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, dtype="float64")
    layer(q, v)
    direction = [rand(*w.shape, dtype=np.float64) for w in layer.weights]
    dq = rand(*q.shape, dtype=np.float64)
    coef = rand(2, 3, 4, dtype=np.float64)

    def loss(qv):
        return jg.reduce_sum(layer(qv, v, attention_mask=mask) * coef)

    qt = jg.constant(q)
    with jg.GradientTape() as tape:
        tape.watch(qt)
        value = loss(qt)
    grads = tape.gradient(value, [qt] + layer.weights)
    analytic = np.sum(np.asarray(grads[0]) * dq) + sum(
        np.sum(np.asarray(g) * d) for g, d in zip(grads[1:], direction))
    base = [w.numpy().copy() for w in layer.weights]
    eps = 1e-6

    def shifted(sign):
        for w, b, d in zip(layer.weights, base, direction):
            w.assign(b + sign * eps * d)
        return float(loss(jg.constant(q + sign * eps * dq)))

    numeric = (shifted(1) - shifted(-1)) / (2 * eps)
    for w, b in zip(layer.weights, base):
        w.assign(b)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def transformer_block(seq, dim, heads=2):
    x = keras.Input(shape=(seq, dim))
    attn = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=4, name="mha")(x, x)
    h = keras.layers.LayerNormalization()(keras.layers.Add()([x, attn]))
    ff = keras.layers.Dense(dim)(keras.layers.Dense(16, activation="relu")(h))
    h = keras.layers.LayerNormalization()(keras.layers.Add()([h, ff]))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(h))
    return keras.Model(x, out)


def test_transformer_block_fits_a_synthetic_task():
    jg.random.set_seed(0)
    x = RNG.normal(size=(256, 6, 4)).astype(np.float32)
    y = (x[:, :, 0].mean(axis=1) - x[:, 0, 1]).astype(np.float32)[:, None]
    model = transformer_block(6, 4)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.3 * losses[0], losses


def test_mha_in_functional_model_summary_config_and_save(tmp_path):
    seq, dim = 5, 4
    x = keras.Input(shape=(seq, dim))
    m = keras.Input(shape=(seq, seq), dtype="bool")
    attn, scores = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(
        x, x, attention_mask=m, return_attention_scores=True)
    model = keras.Model([x, m], [keras.layers.Dense(2)(attn), scores])
    data = [rand(3, seq, dim), RNG.random((3, seq, seq)) > 0.3]
    want = model(data)
    lines = []
    model.summary(print_fn=lines.append)
    assert "mha (MultiHeadAttention)" in lines[0] and "(None, 5, 4)" in lines[0]
    layer = model.get_layer("mha") if hasattr(model, "get_layer") else model.layers[2]
    cfg = layer.get_config()
    assert {k: cfg[k] for k in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias",
                                "output_shape", "attention_axes")} == {
        "num_heads": 2, "key_dim": 3, "value_dim": 3, "dropout": 0.0, "use_bias": True,
        "output_shape": None, "attention_axes": None}
    clone = keras.layers.MultiHeadAttention.from_config(cfg)
    assert clone.get_config() == cfg
    assert layer.compute_output_shape((None, 5, 4), (None, 7, 3)) == (None, 5, 4)
    wide = keras.layers.MultiHeadAttention(num_heads=1, key_dim=2, output_shape=(2, 3))
    assert wide.compute_output_shape((None, 5, 4)) == (None, 5, 2, 3)
    model.compile(loss="mse", optimizer="adam")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    for a, b in zip(loaded(data), want):
        close(a, b)


def test_mha_in_subclassed_model_trains_compiled():
    class Block(keras.Model):
        def __init__(self):
            super().__init__()
            self.mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2)
            self.out = keras.layers.Dense(1)

        def call(self, x, training=None):
            return self.out(keras.layers.Flatten()(self.mha(x, x, training=training)))

    model = Block()
    model.compile(loss="mse", optimizer="adam")
    x = rand(16, 3, 4)
    model.fit(x, rand(16, 1), epochs=1, verbose=0)
    assert len(model.trainable_weights) == 10


def test_mha_errors_name_layer_shapes_and_fix():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="att")
    with pytest.raises(ValueError, match=r"'att'.*query must have rank 3.*\(2, 6\).*expand_dims"):
        layer(rand(2, 6), rand(2, 4, 6))
    with pytest.raises(ValueError, match=r"'att'.*value and key.*\(2, 4, 6\).*\(2, 5, 6\)"):
        layer(rand(2, 3, 6), rand(2, 4, 6), rand(2, 5, 6))
    layer(rand(2, 3, 6), rand(2, 4, 6))
    with pytest.raises(ValueError, match=r"'att'.*built for query with last dimension 6.*"
                                         r"\(2, 3, 5\)"):
        layer(rand(2, 3, 5), rand(2, 4, 6))
    with pytest.raises(ValueError, match=r"'att'.*attention_mask must have shape.*\(2, 3, 5\)"):
        layer(rand(2, 3, 6), rand(2, 4, 6), attention_mask=np.ones((2, 3, 5), bool))
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        keras.layers.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(NotImplementedError, match="attention_axes"):
        keras.layers.MultiHeadAttention(num_heads=1, key_dim=2, attention_axes=(1,))


def test_mha_matches_tf_keras_with_copied_weights():
    tf = pytest.importorskip("tensorflow")
    q, v, k = rand(2, 5, 6), rand(2, 4, 3), rand(2, 4, 7)
    mask = RNG.random((2, 5, 4)) > 0.3
    for kwargs in (dict(num_heads=2, key_dim=3),
                   dict(num_heads=3, key_dim=2, value_dim=4, output_shape=5),
                   dict(num_heads=2, key_dim=3, use_bias=False, output_shape=(2, 3))):
        ref = tf.keras.layers.MultiHeadAttention(**kwargs)
        want, want_scores = ref(q, v, k, attention_mask=mask, return_attention_scores=True)
        layer = built_mha(q, v, k, **kwargs)
        assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in ref.weights]
        layer.set_weights([w.numpy() for w in ref.weights])
        out, scores = layer(q, v, k, attention_mask=mask, return_attention_scores=True)
        close(out, want.numpy())
        close(scores, want_scores.numpy())
    x = rand(2, 5, 6)
    ref = tf.keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    want = ref(x, x, use_causal_mask=True)
    layer = built_mha(x, x, num_heads=2, key_dim=3)
    layer.set_weights([w.numpy() for w in ref.weights])
    close(layer(x, x, use_causal_mask=True), want.numpy())


# ------------------------------------------------------------ Attention, AdditiveAttention

def np_attention(q, v, k, score_fn, v_mask=None, q_mask=None, causal=False):
    scores = score_fn(q, k)
    mask = None if v_mask is None else v_mask[:, None, :]
    if causal:
        tri = np.tril(np.ones(scores.shape[-2:], bool))[None]
        mask = tri if mask is None else mask & tri
    if mask is not None:
        scores = np.where(mask, scores, scores - 1e9)
    w = np_softmax(scores)
    out = w @ v
    if q_mask is not None:
        out = np.where(q_mask[..., None], out, 0.0)
    return out, w


def test_attention_dot_and_concat_match_numpy():
    q, v, k = rand(2, 3, 4), rand(2, 5, 6), rand(2, 5, 4)
    v_mask = RNG.random((2, 5)) > 0.3
    v_mask[:, 0] = True
    q_mask = np.array([[True, False, True], [True, True, True]])
    layer = keras.layers.Attention(use_scale=True)
    layer([q, v, k])
    layer.scale.assign(0.7)
    out, w = layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True)
    ref, ref_w = np_attention(q, v, k, lambda a, b: 0.7 * a @ b.transpose(0, 2, 1), v_mask,
                              q_mask)
    close(out, ref)
    close(w, ref_w)
    assert [w_.name.split(":")[0].split("/")[-1] for w_ in layer.weights] == ["scale"]
    x = rand(2, 4, 4)
    concat = keras.layers.Attention(score_mode="concat")
    got = concat([x, x], use_causal_mask=True)
    close(got, np_attention(x, x, x, lambda a, b: np.tanh(a[:, :, None] + b[:, None]).sum(-1),
                            causal=True)[0])


def test_attention_eager_equals_compiled():
    q, v = rand(2, 3, 4), rand(2, 5, 4)
    v_mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)
    for layer in (keras.layers.Attention(use_scale=True), keras.layers.AdditiveAttention()):
        want = layer([q, v], mask=[None, v_mask], use_causal_mask=True)
        f = jg.function(lambda q, v, m, layer=layer: layer([q, v], mask=[None, m],
                                                           use_causal_mask=True))
        close(f(q, v, v_mask), want)


def test_additive_attention_matches_numpy_and_round_trips():
    q, v = rand(2, 3, 4), rand(2, 5, 4)
    layer = keras.layers.AdditiveAttention()
    out = layer([q, v])
    scale = layer.scale.numpy()
    assert tuple(scale.shape) == (4,)
    close(out, np_attention(q, v, v, lambda a, b: (scale * np.tanh(a[:, :, None] + b[:, None]))
                            .sum(-1))[0])
    cfg = layer.get_config()
    assert "score_mode" not in cfg and cfg["use_scale"] is True
    assert keras.layers.AdditiveAttention.from_config(cfg).get_config() == cfg


def test_attention_in_functional_model_and_errors(tmp_path):
    q_in, v_in = keras.Input(shape=(3, 4)), keras.Input(shape=(5, 4))
    out = keras.layers.Attention(use_scale=True, name="att")([q_in, v_in])
    model = keras.Model([q_in, v_in], keras.layers.Dense(1)(out))
    data = [rand(2, 3, 4), rand(2, 5, 4)]
    want = model(data)
    assert model.layers[2].compute_output_shape([(None, 3, 4), (None, 5, 4)]) == (None, 3, 4)
    model.save(tmp_path / "att")
    close(keras.models.load_model(tmp_path / "att")(data), want)
    with pytest.raises(ValueError, match=r"'att'.*list \[query, value\]"):
        model.layers[2](data[0])
    with pytest.raises(ValueError, match=r"query and key must have the same last dimension.*"
                                         r"\(2, 3, 4\).*\(2, 5, 3\)"):
        keras.layers.Attention()([data[0], rand(2, 5, 3)])


def test_attention_layers_match_tf_keras():
    tf = pytest.importorskip("tensorflow")
    q, v, k = rand(2, 3, 4), rand(2, 5, 6), rand(2, 5, 4)
    v_mask = RNG.random((2, 5)) > 0.3
    v_mask[:, 0] = True
    q_mask = np.array([[True, False, True], [True, True, True]])
    for cls, kwargs in (("Attention", dict(use_scale=True)),
                        ("Attention", dict(score_mode="concat", use_scale=True)),
                        ("AdditiveAttention", {})):
        ref = getattr(tf.keras.layers, cls)(**kwargs)
        ref([q, v, k])
        weights = [RNG.normal(size=w.shape).astype(np.float32) for w in ref.weights]
        ref.set_weights(weights)
        want = ref([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True)
        layer = getattr(keras.layers, cls)(**kwargs)
        layer([q, v, k])
        layer.set_weights(weights)
        close(layer([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True), want.numpy())
