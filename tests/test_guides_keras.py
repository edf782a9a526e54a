"""Snippets of the Keras guides (Sequential, functional API, subclassing, training and
evaluation, customizing fit, transfer learning, saving, RNNs, masking) run on jg.keras
unchanged except ``tf`` -> ``jg``: each a regression test of something that failed, with
differential checks against tf.keras (weights copied) where TensorFlow is installed."""

import os

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
layers = jg.keras.layers


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


def _copy_weights(src_tf, dst_jg):
    dst_jg.set_weights([np.asarray(w) for w in src_tf.get_weights()])


# ------------------------------------------------------------------------ Sequential, functional

def test_sequential_feature_extraction_with_layer_outputs():
    initial = keras.Sequential([keras.Input(shape=(10, 10, 3)),
                                layers.Conv2D(4, 3, activation="relu"),
                                layers.Conv2D(4, 3, activation="relu", name="mid"),
                                layers.Conv2D(2, 3)])
    assert len(initial.inputs) == 1 and initial.outputs[0].shape == (None, 4, 4, 2)
    extractor = keras.Model(inputs=initial.inputs,
                            outputs=[layer.output for layer in initial.layers])
    x = np.random.RandomState(0).rand(2, 10, 10, 3).astype("float32")
    feats = extractor(x)
    assert [tuple(f.shape) for f in feats] == [(2, 8, 8, 4), (2, 6, 6, 4), (2, 4, 4, 2)]
    np.testing.assert_allclose(np.asarray(feats[-1]), np.asarray(initial(x)), rtol=1e-5,
                               atol=1e-6)
    mid = keras.Model(initial.inputs, initial.get_layer(name="mid").output)
    assert tuple(mid(x).shape) == (2, 6, 6, 4)
    initial.pop()
    assert initial.output.shape == (None, 6, 6, 4)


def test_sequential_input_shape_keyword_gives_layer_output():
    model = keras.Sequential([layers.Dense(2, input_shape=(4,)), layers.Dense(3)])
    assert model.layers[0].output.shape == (None, 2)
    assert model.input.shape == (None, 4) and model.output.shape == (None, 3)
    with pytest.raises(AttributeError, match="give it an input shape"):
        _ = keras.Sequential([layers.Dense(2)]).inputs


def test_layer_input_output_and_get_layer():
    inputs = keras.Input(shape=(8,), name="in")
    x = layers.Dense(6, name="a")(inputs)
    out = layers.Dense(2, name="b")(x)
    model = keras.Model(inputs, out)
    assert model.input is inputs and model.output is out
    assert model.get_layer("a").input is inputs and model.get_layer("b").output is out
    assert model.get_layer(index=1).name == "a"
    assert model.input_names == ["in"] and model.output_names == ["b"]
    with pytest.raises(ValueError, match="no layer named 'zz'"):
        model.get_layer("zz")
    shared = layers.Dense(3)
    shared(inputs), shared(inputs)
    with pytest.raises(AttributeError, match="called 2 times"):
        _ = shared.output
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output

    class KeepsAttributes(layers.Layer):  # its own attributes named input/output still work
        def __init__(self):
            super().__init__()
            self.input, self.output = "in", "out"

    assert (KeepsAttributes().input, KeepsAttributes().output) == ("in", "out")


def test_functional_dict_inputs_are_matched_by_name_in_fit():
    a = keras.Input(shape=(3,), name="title", dtype="int32")
    b = keras.Input(shape=(2,), name="tags")
    x = layers.concatenate([layers.Flatten()(layers.Embedding(10, 2)(a)), b])
    model = keras.Model([a, b], layers.Dense(1)(x))
    model.compile("sgd", "mse")
    rng = np.random.RandomState(0)
    data = {"title": rng.randint(0, 10, (8, 3)), "tags": rng.rand(8, 2).astype("float32")}
    hist = model.fit(data, rng.rand(8, 1), batch_size=4, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
    np.testing.assert_allclose(model.predict(data, verbose=0),
                               np.asarray(model([data["title"], data["tags"]])), rtol=1e-5)


def test_model_from_config_and_json_round_trip():
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    for new in (keras.Model.from_config(model.get_config()),
                keras.models.model_from_json(model.to_json())):
        assert new.output_shape == (None, 2) and len(new.weights) == 2


def _multi_output(lib):
    k = lib.keras
    image = k.Input(shape=(4,), name="img_input")
    series = k.Input(shape=(5, 3), name="ts_input")
    x1 = k.layers.Dense(3, activation="relu")(image)
    x2 = k.layers.GlobalMaxPooling1D()(k.layers.Dense(3)(series))
    x = k.layers.concatenate([x1, x2])
    return k.Model(inputs=[image, series],
                   outputs=[k.layers.Dense(1, name="score_output")(x),
                            k.layers.Dense(4, name="class_output", activation="softmax")(x)])


def _multi_data():
    rng = np.random.RandomState(1)
    return ([rng.rand(12, 4).astype("float32"), rng.rand(12, 5, 3).astype("float32")],
            [rng.rand(12, 1).astype("float32"),
             np.eye(4, dtype="float32")[rng.randint(0, 4, 12)]])


def _compile_multi(lib, model, as_dict):
    k = lib.keras
    if as_dict:
        model.compile(optimizer=k.optimizers.SGD(0.1),
                      loss={"score_output": k.losses.MeanSquaredError(),
                            "class_output": k.losses.CategoricalCrossentropy()},
                      metrics={"score_output": [k.metrics.MeanAbsoluteError()],
                               "class_output": [k.metrics.CategoricalAccuracy()]},
                      loss_weights={"score_output": 2.0, "class_output": 1.0})
    else:
        model.compile(optimizer=k.optimizers.SGD(0.1),
                      loss=[k.losses.MeanSquaredError(), k.losses.CategoricalCrossentropy()],
                      metrics=[[k.metrics.MeanAbsoluteError()], [k.metrics.CategoricalAccuracy()]],
                      loss_weights=[2.0, 1.0])


@pytest.mark.parametrize("as_dict", [False, True])
def test_multi_output_losses_metrics_and_log_keys(as_dict):
    model = _multi_output(jg)
    _compile_multi(jg, model, as_dict)
    x, y = _multi_data()
    if as_dict:
        x = {"img_input": x[0], "ts_input": x[1]}
        y = {"score_output": y[0], "class_output": y[1]}
    hist = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert sorted(hist.history) == ["class_output_categorical_accuracy", "class_output_loss",
                                    "loss", "score_output_loss",
                                    "score_output_mean_absolute_error"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 2.0 * logs["score_output_loss"]
                               + logs["class_output_loss"], rtol=1e-5)


def test_multi_output_loss_for_one_output_only():
    model = _multi_output(jg)
    model.compile(optimizer="sgd", loss=[None, "categorical_crossentropy"])
    x, y = _multi_data()
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss"]
    with pytest.raises(ValueError, match="2 outputs"):
        model.compile(optimizer="sgd", loss=["mse"] * 3)
        model.fit(x, y, verbose=0)


def _multi_pair():
    tf = _tf()
    tmodel, jmodel = _multi_output(tf), _multi_output(jg)
    _copy_weights(tmodel, jmodel)
    _compile_multi(tf, tmodel, True)
    _compile_multi(jg, jmodel, True)
    return tmodel, jmodel


def test_multi_output_losses_match_tf_keras():
    tmodel, jmodel = _multi_pair()
    x, y = _multi_data()
    expect = tmodel.evaluate(x, y, verbose=0, return_dict=True, batch_size=12)
    got = jmodel.evaluate(x, y, verbose=0, return_dict=True, batch_size=12)
    assert sorted(got) == sorted(expect)
    for key in expect:
        np.testing.assert_allclose(got[key], expect[key], rtol=1e-4)


@pytest.mark.slow
def test_multi_output_training_matches_tf_keras():
    tmodel, jmodel = _multi_pair()
    x, y = _multi_data()
    tmodel.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    jmodel.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(jmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------- customizing fit()

def _linear_data():
    rng = np.random.RandomState(0)
    return rng.rand(16, 5).astype("float32"), rng.rand(16, 1).astype("float32")


def test_functional_subclass_with_custom_train_step_and_compiled_loss():
    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with jg.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.compiled_metrics.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(5,))
    model = CustomModel(inputs, layers.Dense(1)(inputs))
    assert type(model).__name__ == "CustomModel" and isinstance(model, CustomModel)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = _linear_data()
    hist = model.fit(x, y, epochs=2, verbose=0)
    assert sorted(hist.history) == ["loss", "mae"]
    assert model.output_shape == (None, 1)


def test_gan_style_model_without_call_trains_with_two_optimizers():
    gen = keras.Sequential([keras.Input((2,)), layers.Dense(3)])
    disc = keras.Sequential([keras.Input((3,)), layers.Dense(1)])

    class GAN(keras.Model):
        def __init__(self, d, g):
            super().__init__()
            self.d, self.g = d, g
            self.d_loss = keras.metrics.Mean(name="d_loss")

        def compile(self, d_opt, g_opt, loss_fn):
            super().compile()
            self.d_opt, self.g_opt, self.loss_fn = d_opt, g_opt, loss_fn

        @property
        def metrics(self):
            return [self.d_loss]

        def train_step(self, real):
            n = jg.shape(real)[0]
            fake = self.g(jg.random.normal(shape=(n, 2)))
            with jg.GradientTape() as tape:
                pred = self.d(jg.concat([fake, real], axis=0))
                loss = self.loss_fn(jg.concat([jg.ones((n, 1)), jg.zeros((n, 1))], 0), pred)
            grads = tape.gradient(loss, self.d.trainable_weights)
            self.d_opt.apply_gradients(zip(grads, self.d.trainable_weights))
            with jg.GradientTape() as tape:
                loss_g = self.loss_fn(jg.zeros((n, 1)), self.d(self.g(
                    jg.random.normal(shape=(n, 2)))))
            grads = tape.gradient(loss_g, self.g.trainable_weights)
            self.g_opt.apply_gradients(zip(grads, self.g.trainable_weights))
            self.d_loss.update_state(loss)
            return {"d_loss": self.d_loss.result()}

    gan = GAN(disc, gen)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                keras.losses.BinaryCrossentropy(from_logits=True))
    data = jg.data.Dataset.from_tensor_slices(
        np.random.RandomState(0).rand(8, 3).astype("float32")).batch(4)
    w0 = gen.get_weights()[0].copy()
    hist = gan.fit(data, epochs=1, verbose=0)
    assert list(hist.history) == ["d_loss"]
    assert not np.allclose(w0, gen.get_weights()[0])


def test_fit_with_only_add_loss_and_no_weights():
    class ActivityRegularization(layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * jg.reduce_mean(inputs))
            return inputs

    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ActivityRegularization()(inputs))
    model.compile(optimizer="adam")
    x = np.random.RandomState(0).rand(4, 3)
    hist = model.fit(x, x, verbose=0)
    np.testing.assert_allclose(hist.history["loss"][0], 1e-2 * x.mean(), rtol=1e-5)
    assert np.isfinite(model.evaluate(x, x, verbose=0))


# --------------------------------------------------------------------------- transfer learning

def _base(lib):
    k = lib.keras
    inp = k.Input(shape=(6, 6, 2))
    x = k.layers.BatchNormalization()(k.layers.Conv2D(3, 3)(inp))
    return k.Model(inp, k.layers.Activation("relu")(x), name="base")


def test_trainable_false_reaches_nested_layers():
    inner = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(3), layers.Dense(3)])
    model = keras.Sequential([keras.Input(shape=(3,)), inner, layers.Dense(1)])
    model.trainable = False
    assert not inner.trainable and not inner.layers[0].trainable
    assert model.trainable_weights == []
    model.trainable = True
    assert inner.layers[1].trainable and len(model.trainable_weights) == 6


def test_frozen_base_keeps_batchnorm_statistics_in_sequential():
    base = _base(jg)
    model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(2)])
    base.trainable = False
    model.compile("adam", "mse")
    rng = np.random.RandomState(0)
    before = base.get_weights()
    model.fit(rng.rand(8, 6, 6, 2) * 5, rng.rand(8, 2), verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fine_tuning_matches_tf_keras():
    tf = _tf()
    rng = np.random.RandomState(0)
    x = (rng.rand(8, 6, 6, 2) * 3).astype("float32")
    y = rng.rand(8, 2).astype("float32")
    models = []
    for lib in (tf, jg):
        base = _base(lib)
        model = lib.keras.Sequential([base, lib.keras.layers.GlobalAveragePooling2D(),
                                      lib.keras.layers.Dense(2)])
        model.build((None, 6, 6, 2))
        models.append((base, model))
    (tb, tm), (jb, jm) = models
    pairs = list(zip(tb.layers + tm.layers[1:], jb.layers + jm.layers[1:]))
    for src, dst in pairs:  # layer by layer: Keras 3 orders a model's weights by layer,
        _copy_weights(src, dst)  # jitgraph (as tf.keras 2) the trainable ones first
    for lib, (base, model) in zip((tf, jg), models):
        base.trainable = False
        model.compile(lib.keras.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for src, dst in pairs:
        for a, b in zip(dst.get_weights(), src.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ training and evaluation

def _small_classifier():
    inputs = keras.Input(shape=(6,), name="digits")
    x = layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


def _class_data(n=24):
    rng = np.random.RandomState(0)
    return rng.rand(n, 6).astype("float32"), rng.randint(0, 3, n)


def test_callback_hooks_take_logs_positionally_and_batch_aliases():
    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

        def on_train_end(self, logs):
            self.ended = logs == {}

    cb = LossHistory()
    x, y = _class_data()
    _small_classifier().fit(x, y, epochs=2, batch_size=8, callbacks=[cb], verbose=0)
    assert len(cb.per_batch_losses) == 6 and cb.ended


def test_early_stopping_verbose_baseline_and_reduce_lr_logs():
    x, y = _class_data()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, baseline=0.0,
                                         verbose=0)
    hist = _small_classifier().fit(x, y, epochs=5, callbacks=[stop], verbose=0)
    assert len(hist.history["loss"]) == 2 and stop.stopped_epoch == 1  # never beat 0.0
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                               min_delta=10.0)
    hist = _small_classifier().fit(x, y, epochs=3, callbacks=[reduce], verbose=0)
    np.testing.assert_allclose(hist.history["learning_rate"], [1e-3, 1e-3, 5e-4], rtol=1e-6)


def test_model_checkpoint_every_n_batches(tmp_path):
    x, y = _class_data()
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch}-{batch}.keras"),
                                         save_freq=2)
    _small_classifier().fit(x, y, epochs=2, batch_size=8, callbacks=[cb], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-1-2.keras", "ckpt-2-1.keras",
                                            "ckpt-2-3.keras"]
    with pytest.raises(KeyError, match="val_acc"):
        bad = keras.callbacks.ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))
        _small_classifier().fit(x, y, callbacks=[bad], verbose=0)
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.ModelCheckpoint("x.keras", save_freq="batch")


def test_plot_model_raises_clearly():
    with pytest.raises(NotImplementedError, match="summary"):
        keras.utils.plot_model(_small_classifier(), "model.png", show_shapes=True)


def test_py_dataset_trains_and_calls_on_epoch_end():
    x, y = _class_data()

    class Batches(keras.utils.Sequence):
        def __init__(self, bs):
            super().__init__()
            self.bs, self.epochs_ended = bs, 0

        def __len__(self):
            return int(np.ceil(len(x) / self.bs))

        def __getitem__(self, idx):
            return x[idx * self.bs:(idx + 1) * self.bs], y[idx * self.bs:(idx + 1) * self.bs]

        def on_epoch_end(self):
            self.epochs_ended += 1

    data = Batches(10)
    model = _small_classifier()
    hist = model.fit(data, epochs=2, verbose=0, validation_data=Batches(12))
    assert sorted(hist.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                    "val_sparse_categorical_accuracy"]
    assert data.epochs_ended == 2
    assert model.predict(Batches(10), verbose=0).shape == (24, 3)
    with pytest.raises(ValueError, match="PyDataset"):
        model.fit(data, y, verbose=0)


def test_mean_absolute_percentage_error_and_pad_sequences_match_tf():
    tf = _tf()
    rng = np.random.RandomState(0)
    a, b = rng.rand(5, 3).astype("float32") + 0.1, rng.rand(5, 3).astype("float32")
    for name in ("MeanAbsolutePercentageError",):
        m, t = getattr(keras.metrics, name)(), getattr(tf.keras.metrics, name)()
        m.update_state(a, b, sample_weight=np.arange(5.0))
        t.update_state(a, b, sample_weight=np.arange(5.0))
        np.testing.assert_allclose(float(m.result()), float(t.result()), rtol=1e-5)
    seqs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
    for kw in ({}, {"padding": "post"}, {"maxlen": 4, "truncating": "post", "value": -1},
               {"maxlen": 2, "dtype": "float32"}):
        np.testing.assert_array_equal(keras.utils.pad_sequences(seqs, **kw),
                                      tf.keras.utils.pad_sequences(seqs, **kw))


def test_pad_sequences_always():
    padded = keras.preprocessing.sequence.pad_sequences([[1, 2, 3], [4]], padding="post")
    np.testing.assert_array_equal(padded, [[1, 2, 3], [4, 0, 0]])
    np.testing.assert_array_equal(keras.utils.pad_sequences([[1, 2, 3], [4]], maxlen=2),
                                  [[2, 3], [0, 4]])
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        keras.utils.pad_sequences([[1]], padding="middle")


# -------------------------------------------------------------------------- saving, masking

def test_keras_saving_namespace_with_registered_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="Guide")
    class Scale(layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    layer = Scale(3.0)
    config = keras.saving.serialize_keras_object(layer)
    again = keras.saving.deserialize_keras_object(config)
    assert isinstance(again, Scale) and again.factor == 3.0
    assert keras.saving.get_registered_object("Guide>Scale") is Scale
    assert isinstance(keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(keras.losses.Huber(delta=2.0))), keras.losses.Huber)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, Scale(2.0)(inputs))
    keras.saving.save_model(model, str(tmp_path / "m.keras"))
    with keras.saving.custom_object_scope({"Scale": Scale}):
        loaded = keras.saving.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(np.asarray(loaded(np.ones((1, 2)))), [[2.0, 2.0]])


def test_multi_output_compile_survives_save_and_load(tmp_path):
    model = _multi_output(jg)
    _compile_multi(jg, model, True)
    x, y = _multi_data()
    model.fit(x, y, verbose=0)
    model.save(str(tmp_path / "multi.keras"))
    loaded = keras.models.load_model(str(tmp_path / "multi.keras"))
    a = model.evaluate(x, y, verbose=0, return_dict=True)
    b = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(a) == sorted(b)
    np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-5)


def test_layer_taking_mask_sees_one_while_functional_model_is_built():
    seen = []

    class TemporalSoftmax(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            seen.append(mask is not None)
            m = jg.expand_dims(jg.cast(mask, "float32"), -1)
            e = jg.exp(inputs) * m
            return e / jg.reduce_sum(e, axis=1, keepdims=True)  # over the time steps

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Dense(1)(layers.Embedding(input_dim=10, output_dim=4, mask_zero=True)(inputs))
    model = keras.Model(inputs, TemporalSoftmax()(x))
    out = model(np.array([[1, 2, 0], [3, 0, 0]]))
    assert all(seen) and tuple(out.shape) == (2, 3, 1)
    out = np.asarray(out)[:, :, 0]
    np.testing.assert_allclose(out.sum(axis=1), [1, 1], rtol=1e-6)
    np.testing.assert_allclose(out[1], [1, 0, 0])
    assert out[0, 2] == 0


# ------------------------------------------- class_weight, fit arguments, Keras' weight order

def test_class_weight_weighs_the_loss():
    x, y = _class_data(12)
    model = _small_classifier()
    weights = model.get_weights()
    cw = {0: 1.0, 2: 3.0}  # class 1 missing: weight 1
    hist = model.fit(x, y, batch_size=12, epochs=1, shuffle=False, class_weight=cw,
                     verbose=0)
    model.set_weights(weights)
    sw = np.array([cw.get(int(c), 1.0) for c in y])
    expect = model.evaluate(x, y, sample_weight=sw, batch_size=12, return_dict=True,
                            verbose=0)["loss"]
    np.testing.assert_allclose(hist.history["loss"][0], expect, rtol=1e-5)
    with pytest.raises(ValueError, match="classes 0..1 but the targets hold class 2"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(TypeError, match="validation_frequency"):
        model.fit(x, y, validation_frequency=2, verbose=0)
    hist = model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0,
                     workers=2)
    assert len(hist.history["loss"]) == 4 and len(hist.history["val_loss"]) == 2


def test_class_weight_and_layer_order_match_tf_keras():
    tf = _tf()

    def build(k):
        a = k.Input(shape=(4,), name="a")
        b = k.Input(shape=(3,), name="b")
        x = k.layers.BatchNormalization(name="bn")(k.layers.Dense(3, name="d1")(a))
        x = k.layers.concatenate([x, k.layers.Dense(3, name="d2")(b)], name="cat")
        m = k.Model([a, b], k.layers.Dense(3, activation="softmax", name="out")(x))
        m.compile(k.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        return m

    tmodel, jmodel = build(tf.keras), build(jg.keras)
    assert [lay.name for lay in jmodel.layers] == [lay.name for lay in tmodel.layers]
    jmodel.set_weights(tmodel.get_weights())  # whole-model order: layer by layer, as Keras
    rng = np.random.RandomState(0)
    x = [rng.rand(12, 4).astype("float32"), rng.rand(12, 3).astype("float32")]
    y = np.array([0, 1, 2] * 4)
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    ht = tmodel.fit(x, y, batch_size=6, epochs=2, shuffle=False, class_weight=cw, verbose=0)
    hj = jmodel.fit(x, y, batch_size=6, epochs=2, shuffle=False, class_weight=cw, verbose=0)
    np.testing.assert_allclose(hj.history["loss"], ht.history["loss"], rtol=1e-4)
    for a, b in zip(jmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_predict_dict_outputs_and_evaluate_predict_callbacks():
    inputs = keras.Input(shape=(4,), name="x")
    model = keras.Model(inputs, {"priority": layers.Dense(1)(inputs),
                                 "department": layers.Dense(3)(inputs)})
    model.compile("sgd", loss={"priority": "mse", "department": "mse"})
    rng = np.random.RandomState(0)
    x = rng.rand(10, 4).astype("float32")
    out = model.predict(x, batch_size=4, verbose=0)
    assert sorted(out) == ["department", "priority"]
    assert out["priority"].shape == (10, 1) and out["department"].shape == (10, 3)

    class Count(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_test_batch_end(self, batch, logs):
            self.seen.append(("test", batch))

        def on_test_end(self, logs):
            self.final = logs

        def on_predict_batch_end(self, batch, logs):
            self.seen.append(("predict", batch))

    cb = Count()
    y = {"priority": rng.rand(10, 1), "department": rng.rand(10, 3)}
    model.evaluate(x, y, batch_size=5, callbacks=[cb], verbose=0)
    model.predict(x, batch_size=5, callbacks=[cb])
    assert cb.seen == [("test", 0), ("test", 1), ("predict", 0), ("predict", 1)]
    assert sorted(cb.final) == ["department_loss", "loss", "priority_loss"]
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        model.predict(x, batchsize=5)


def test_sequential_with_a_model_first_is_built_from_its_input():
    base = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.BatchNormalization()])
    model = keras.Sequential([base, layers.Dense(1)])
    base.trainable = False
    assert model.built and model.output_shape == (None, 1)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6
    assert [tuple(w.shape) for w in model.weights] == [(3, 4), (4,), (4,), (4,), (4,), (4,),
                                                        (4, 1), (1,)]


def test_lambda_callback_hooks_and_scheduler_logs_learning_rate():
    seen = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)),
        on_train_batch_begin=lambda batch, logs: seen.append(("batch", batch)))
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 1
                                                  else lr * 0.5)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    rng = np.random.RandomState(0)
    hist = model.fit(rng.rand(8, 3), rng.rand(8, 1), epochs=2, batch_size=8,
                     callbacks=[cb, sched], verbose=0)
    assert seen == [("batch", 0), ("epoch", 0), ("batch", 0), ("epoch", 1)]
    np.testing.assert_allclose(hist.history["learning_rate"], [0.1, 0.05], rtol=1e-6)
    with pytest.raises(TypeError, match="not a callback hook"):
        keras.callbacks.LambdaCallback(on_epoch_finish=print)


def test_models_saved_with_trainable_weights_first_still_load(tmp_path):
    """Files written before weights were listed in Keras' order (trainable ones first)
    load by weight name."""
    import io
    import json
    import zipfile

    model = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.BatchNormalization(),
                              layers.BatchNormalization()])  # weights of equal shapes
    bn = model.layers[1]
    bn.moving_mean.assign([1.0, 2.0, 3.0, 4.0])
    bn.moving_variance.assign([5.0, 6.0, 7.0, 8.0])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        arrays = dict(np.load(io.BytesIO(z.read("weights.npz"))))
    weights = model.weights
    old = [i for i, v in enumerate(weights) if v.trainable] + \
        [i for i, v in enumerate(weights) if not v.trainable]
    config["weight_names"] = [config["weight_names"][i] for i in old]
    buf = io.BytesIO()
    np.savez(buf, **{f"w{j}": arrays[f"w{i}"] for j, i in enumerate(old)},
             **{k: v for k, v in arrays.items() if k.startswith("o")})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("weights.npz", buf.getvalue())
    loaded = keras.models.load_model(path)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
