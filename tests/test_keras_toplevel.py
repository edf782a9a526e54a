"""Keras 3's top-level names of jg.keras: the aliases, jg.keras.Variable, config, tree and
dtype_policies, compared with Keras where it has numbers or structures to compare."""

import collections

import numpy as np
import pytest

import jitgraph as jg

keras = pytest.importorskip("keras")


ALIASES = {"Layer": jg.keras.layers.Layer, "Model": jg.keras.models.Model,
           "Sequential": jg.keras.models.Sequential, "Loss": jg.keras.losses.Loss,
           "Metric": jg.keras.metrics.Metric, "Optimizer": jg.keras.optimizers.Optimizer,
           "Initializer": jg.keras.initializers.Initializer,
           "Regularizer": jg.keras.regularizers.Regularizer,
           "DTypePolicy": jg.keras.mixed_precision.Policy,
           "FloatDTypePolicy": jg.keras.mixed_precision.Policy}


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_top_level_aliases(name):
    assert getattr(jg.keras, name) is ALIASES[name]
    assert hasattr(keras, name)  # the name is Keras 3's


def test_other_top_level_names():
    for name in ("Input", "KerasTensor", "InputSpec", "Variable", "config", "random", "tree",
                 "dtype_policies"):
        assert hasattr(jg.keras, name) and hasattr(keras, name), name
    kt = jg.keras.Input((3,))
    assert isinstance(kt, jg.keras.KerasTensor)


def test_subclass_layer_through_alias():
    class Scale(jg.keras.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(Scale()(x).numpy(), x)


# -- jg.keras.Variable ------------------------------------------------------------------

@pytest.mark.parametrize("init", [[1.5, 2.0], np.ones(3), np.ones(3, np.float32), [1, 2], 1.5])
def test_variable_dtype_like_keras(init):
    assert jg.keras.Variable(init).dtype.name == str(keras.Variable(init).dtype)


def test_variable_from_initializer():
    v = jg.keras.Variable("ones", shape=(2, 3), name="w", trainable=False)
    assert isinstance(v, jg.Variable) and not v.trainable and v.shape == (2, 3)
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3), np.float32))
    w = jg.keras.Variable(jg.keras.initializers.Constant(2.0), shape=(2,), dtype="float64")
    assert w.dtype == jg.float64 and w.numpy().tolist() == [2.0, 2.0]
    opt = jg.keras.optimizers.SGD(0.5)
    opt.apply_gradients([(jg.ones((2,), jg.float64), w)])
    assert w.numpy().tolist() == [1.5, 1.5]


def test_variable_errors():
    with pytest.raises(ValueError, match="'k'.*needs the variable's shape"):
        jg.keras.Variable("zeros", name="k")
    with pytest.raises(ValueError, match=r"shape \[3\] but shape=\[2\]"):
        jg.keras.Variable(np.ones(3), shape=(2,))


# -- config -------------------------------------------------------------------------------

def test_config_defaults_match_keras():
    c, kc = jg.keras.config, keras.config
    assert c.floatx() == kc.floatx() == "float32"
    assert c.epsilon() == kc.epsilon()
    assert c.image_data_format() == kc.image_data_format() == "channels_last"
    assert c.backend() == "jitgraph"
    assert c.dtype_policy() == jg.keras.mixed_precision.Policy("float32")
    for noop in (c.enable_unsafe_deserialization, c.disable_traceback_filtering,
                 c.enable_traceback_filtering):
        assert noop() is None


def test_set_floatx_makes_layers_and_inputs_float64():
    jg.keras.config.set_floatx("float64")
    try:
        dense = jg.keras.layers.Dense(2)
        dense.build((None, 3))
        assert dense.kernel.dtype == jg.float64
        assert jg.keras.Input((3,)).dtype == jg.float64
        assert jg.keras.random.normal((2,), seed=1).dtype == jg.float64
        assert jg.keras.Variable(1.0).dtype == jg.float64
    finally:
        jg.keras.config.set_floatx("float32")
    with pytest.raises(ValueError, match="unknown floatx 'int32'"):
        jg.keras.config.set_floatx("int32")


def test_set_epsilon_reaches_losses_like_keras():
    y_true = np.array([[1.0, 0.0, 1.0]], np.float32)
    y_pred = np.array([[1.0, 0.0, 0.5]], np.float32)
    try:
        jg.keras.config.set_epsilon(1e-3)
        keras.config.set_epsilon(1e-3)
        ours = jg.keras.losses.BinaryCrossentropy()(y_true, y_pred).numpy()
        theirs = keras.losses.BinaryCrossentropy()(y_true, y_pred).numpy()
    finally:
        jg.keras.config.set_epsilon(1e-7)
        keras.config.set_epsilon(1e-7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    default = jg.keras.losses.BinaryCrossentropy()(y_true, y_pred).numpy()
    assert abs(default - ours) > 1e-4  # the clip really moved


def test_image_data_format():
    jg.keras.config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels_last .NHWC. only.*transpose"):
        jg.keras.config.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="'channels_last' or 'channels_first'"):
        jg.keras.config.set_image_data_format("nhwc")
    assert jg.keras.config.image_data_format() == "channels_last"


def test_set_dtype_policy():
    try:
        jg.keras.config.set_dtype_policy("mixed_float16")
        assert jg.keras.config.dtype_policy().compute_dtype == "float16"
    finally:
        jg.keras.config.set_dtype_policy(None)
    assert jg.keras.config.dtype_policy().name == "float32"


# -- tree ---------------------------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")
STRUCTURES = [
    [(1, 2), [3], {"a": 4}],
    {"b": [1, {"d": 2, "c": 3}], "a": (4, None)},
    Point(1, [2, 3]),
    (1,),
    5,
    None,
    [],
]


@pytest.mark.parametrize("s", STRUCTURES)
def test_tree_like_keras(s):
    t, kt = jg.keras.tree, keras.tree
    assert t.flatten(s) == kt.flatten(s)
    assert t.flatten_with_path(s) == kt.flatten_with_path(s)
    assert t.is_nested(s) == kt.is_nested(s)
    assert t.lists_to_tuples(s) == kt.lists_to_tuples(s)
    double = lambda v: None if v is None else v * 2  # noqa: E731
    assert t.map_structure(double, s) == kt.map_structure(double, s)
    flat = list(range(len(kt.flatten(s))))
    assert t.pack_sequence_as(s, flat) == kt.pack_sequence_as(s, flat)
    for top_down in (True, False):
        ours, theirs = [], []
        assert t.traverse(ours.append, s, top_down) == kt.traverse(theirs.append, s, top_down)
        assert ours == theirs


def test_tree_traverse_replaces_subtrees():
    s = [(1, 2), [3], {"a": 4}]
    t, kt = jg.keras.tree, keras.tree

    def ours(x):
        return t.MAP_TO_NONE if x == (1, 2) else (x * 10 if isinstance(x, int) else None)

    def theirs(x):
        return kt.MAP_TO_NONE if x == (1, 2) else (x * 10 if isinstance(x, int) else None)

    for top_down in (True, False):
        assert t.traverse(ours, s, top_down) == kt.traverse(theirs, s, top_down)
    with pytest.raises(TypeError, match="callable"):
        t.traverse(3, s)


def test_tree_assert_same_structure():
    jg.keras.tree.assert_same_structure([1, (2, 3)], [4, (5, 6)])
    with pytest.raises((ValueError, TypeError)):
        jg.keras.tree.assert_same_structure([1, (2, 3)], [4, 5])


# -- dtype_policies -------------------------------------------------------------------------

def test_dtype_policies():
    dp, kdp = jg.keras.dtype_policies, keras.dtype_policies
    for name in ("float32", "float16", "mixed_float16", "float64"):
        ours, theirs = dp.get(name), kdp.get(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype)
        config = kdp.serialize(theirs)
        assert dp.deserialize(config) == ours
        assert dp.serialize(ours)["config"] == config["config"]
    assert dp.DTypePolicy().name == kdp.DTypePolicy().name == "float32"
    assert isinstance(dp.FloatDTypePolicy("float16"), dp.DTypePolicy)
    layer = jg.keras.layers.Dense(2, dtype=dp.DTypePolicy("mixed_float16"))
    layer.build((None, 3))
    assert layer.kernel.dtype == jg.float32 and layer.compute_dtype == "float16"
    with pytest.raises(ValueError, match="quantized policies"):
        dp.get({"class_name": "QuantizedDTypePolicy", "config": {"name": "int8"}})


def _structures():
    from hypothesis import strategies as st

    leaves = st.one_of(st.integers(-5, 5), st.none(), st.text("ab", max_size=2))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.tuples(inner, inner),
        st.dictionaries(st.sampled_from("abcd"), inner, max_size=3),
        st.builds(Point, inner, inner)), max_leaves=10)


def test_tree_like_keras_on_generated_structures():
    from hypothesis import given

    @given(_structures())
    def check(s):
        t, kt = jg.keras.tree, keras.tree
        assert t.flatten(s) == kt.flatten(s)
        assert t.flatten_with_path(s) == kt.flatten_with_path(s)
        assert t.lists_to_tuples(s) == kt.lists_to_tuples(s)
        flat = list(range(len(kt.flatten(s))))
        assert t.pack_sequence_as(s, flat) == kt.pack_sequence_as(s, flat)
        ours, theirs = [], []
        t.traverse(ours.append, s, top_down=False)
        kt.traverse(theirs.append, s, top_down=False)
        assert ours == theirs

    check()
