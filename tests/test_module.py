"""jg.Module (tf.Module): variables found through attributes, containers and nested modules
in TensorFlow's order, each once; trainable flags; submodules; names; training a module's
variables with a tape and a compiled method."""

import numpy as np
import pytest

import jitgraph as jg


class Dense(jg.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        self.w = jg.Variable(np.full((n_in, n_out), 0.1, np.float32), name="w")
        self.b = jg.Variable(np.zeros(n_out, np.float32), name="b")

    @jg.function
    def __call__(self, x):
        return jg.nn.relu(x @ self.w + self.b)


class MLP(jg.Module):
    def __init__(self):
        super().__init__()
        self.layers = [Dense(3, 4, name="d1"), Dense(4, 1, name="d2")]
        self.scale = jg.Variable(2.0, trainable=False, name="scale")
        self.alias = {"first": self.layers[0]}  # the same module twice: found once

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.scale


def test_variables_in_tensorflows_order_each_once():
    m = MLP()
    assert [v.name for v in m.variables] == ["scale:0", "b:0", "w:0", "b:0", "w:0"]
    assert m.variables[1] is m.layers[0].b and m.variables[4] is m.layers[1].w
    assert len(m.trainable_variables) == 4 and m.non_trainable_variables == (m.scale,)
    assert m.submodules == (m.layers[0], m.layers[1])
    assert m.name == "mlp" and m.layers[0].name == "d1" and Dense(1, 1).name == "dense"


def test_nested_containers_and_keras_layers():
    m = jg.Module()
    m.params = {"z": jg.Variable(1.0, name="z"), "a": [jg.Variable(2.0, name="a")]}
    m.layer = jg.keras.layers.Dense(2)
    m.layer.build((None, 3))
    names = [v.name for v in m.variables]
    assert m.variables[:2] == (m.layer.kernel, m.layer.bias)  # "layer" < "params"
    assert names[2:] == ["a:0", "z:0"]  # dict values by sorted key


def test_training_a_modules_variables():
    m = MLP()
    x = np.ones((2, 3), np.float32)
    opt = jg.keras.optimizers.SGD(0.1)
    before = m(x).numpy()
    for _ in range(3):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(m(x) - 1.0))
        grads = tape.gradient(loss, m.trainable_variables)
        assert all(g is not None for g in grads)
        opt.apply_gradients(zip(grads, m.trainable_variables))
    after = m(x).numpy()
    assert np.abs(after - 1).max() < np.abs(before - 1).max()
    assert float(m.scale.numpy()) == 2.0  # not trainable: untouched


def test_bad_name_is_an_error():
    with pytest.raises(ValueError, match="not a valid name"):
        jg.Module(name="has space")
