"""Regression tests of the robustness campaign (tests/test_fuzz.py finds, these keep fixed):
a failed call leaves state as it was, errors name the op, the shapes or the variable and the
user's line, and bad inputs never crash the process."""

import os

import numpy as np
import pytest

import jitgraph as jg

S = jg.TensorSpec
BACKENDS = ["interpreter", "cpu"]
HERE = os.path.basename(__file__)


# ------------------------------------------------------------------ state on failure

@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_compiled_call_leaves_variables_as_they_were(backend):
    v = jg.Variable(np.zeros(3, np.float32))
    w = jg.Variable(np.int32(5))

    @jg.function(backend=backend)
    def f(i):
        v.assign_add(jg.ones(3))
        w.assign(w + 1)
        return jg.gather(v, i)

    for _ in range(3):  # warm: later calls take the steady-state path
        f(jg.constant([0, 2]))
    with pytest.raises(jg.errors.OutOfRangeError, match=r"gather.*test_robustness\.py"):
        f(jg.constant([1, 7]))
    np.testing.assert_array_equal(v.numpy(), [3.0, 3.0, 3.0])
    assert int(w.numpy()) == 8
    f(jg.constant([1]))  # and the function still works afterwards
    np.testing.assert_array_equal(v.numpy(), [4.0, 4.0, 4.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_failure_inside_a_loop_restores_variables_written_by_earlier_iterations(backend):
    v = jg.Variable(np.zeros(4, np.float64))

    @jg.function(backend=backend, input_signature=[S([None], jg.int32)])
    def f(idx):
        i = jg.constant(0)
        while i < jg.shape(idx)[0]:
            v.assign(jg.tensor_scatter_nd_add(v, jg.reshape(idx[i], [1, 1]),
                                              jg.ones([1], jg.float64)))
            i += 1
        return v.read_value()

    f(np.array([0, 1], np.int32))
    with pytest.raises(jg.errors.OutOfRangeError):
        f(np.array([2, 3, 9], np.int32))
    np.testing.assert_array_equal(v.numpy(), [1.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_assert_restores_variables(backend):
    v = jg.Variable(np.ones(2, np.float32))

    @jg.function(backend=backend)
    def f(x):
        v.assign(v * 2.0)
        jg.debugging.assert_positive(x, message="x must be positive")
        return v.read_value()

    f(jg.constant([1.0]))
    with pytest.raises(jg.errors.InvalidArgumentError, match="x must be positive"):
        f(jg.constant([-1.0]))
    np.testing.assert_array_equal(v.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("name", ["SGD", "Adam", "Nadam", "RMSprop", "Adagrad"])
def test_apply_gradients_with_a_wrong_shape_names_the_variable_and_updates_nothing(name):
    opt = getattr(jg.keras.optimizers, name)(0.1)
    vs = [jg.Variable(np.ones(2, np.float32), name=f"w{i}") for i in range(3)]
    opt.apply_gradients(zip([jg.ones(2)] * 3, vs))
    before = [x.numpy().copy() for x in vs + opt.variables]
    with pytest.raises(jg.errors.InvalidArgumentError,
                       match=rf"variable 'w2:0' has shape \[3\].*\[2\].*{HERE}"):
        opt.apply_gradients(zip([jg.ones(2), jg.ones(2), jg.ones(3)], vs))
    after = [x.numpy() for x in vs + opt.variables]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(opt.iterations.numpy()) == 1


def test_apply_gradients_failing_part_way_rolls_back_variables_slots_and_iterations():
    class Boom(jg.keras.constraints.Constraint):
        def __call__(self, w):
            raise ValueError("constraint failed")

    opt = jg.keras.optimizers.Adam(0.1)
    a = jg.Variable(np.ones(2, np.float32), name="a")
    b = jg.Variable(np.ones(2, np.float32), name="b")
    b.constraint = Boom()
    with pytest.raises(ValueError, match="constraint failed"):
        opt.apply_gradients(zip([jg.ones(2), jg.ones(2)], [a, b]))
    np.testing.assert_array_equal(a.numpy(), [1.0, 1.0])
    assert int(opt.iterations.numpy()) == 0
    for s in opt.variables[2:]:
        np.testing.assert_array_equal(s.numpy(), 0.0)


def test_apply_gradients_with_a_wrong_shape_in_a_compiled_step_names_the_variable():
    opt = jg.keras.optimizers.SGD(0.1)
    vs = [jg.Variable(np.ones(2, np.float32), name=f"u{i}") for i in range(2)]

    @jg.function
    def step(g):
        opt.apply_gradients(zip([jg.ones(2), g], vs))

    step(jg.ones(2))
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"'u1:0' has shape \[3\]"):
        step(jg.ones(3))
    np.testing.assert_allclose(vs[1].numpy(), [0.9, 0.9])
    assert int(opt.iterations.numpy()) == 1


# ------------------------------------------------------------------ messages

def test_run_time_shape_errors_name_the_users_line_not_the_dispatcher():
    f = jg.function(lambda x, y: jg.matmul(x, y), backend="cpu",
                    input_signature=[S([None, None], jg.float32), S([None, None], jg.float32)])
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        f(np.ones((2, 4), np.float32), np.ones((3, 2), np.float32))
    assert "dispatcher" not in str(e.value) and "matmul" in str(e.value)
    assert HERE in str(e.value)
