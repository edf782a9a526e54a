"""The native dispatcher (codegen/dispatch.py): a function's hot signature runs from native
code; everything it does not accept takes the general path with the same results and
errors."""

import sys

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import dispatch


def _hot(f, *args, calls=4):
    for _ in range(calls):
        r = f(*args)
    assert f._native is not None, "the signature should have a native dispatcher by now"
    return r


def test_results_and_output_tensors():
    f = jg.function(lambda x: x * 2.0 + 1.0)
    x = jg.constant([1.0, 2.0, 3.0])
    r = _hot(f, x)
    assert type(r) is jg.Tensor
    np.testing.assert_array_equal(r.numpy(), [3.0, 5.0, 7.0])
    with pytest.raises(ValueError):
        r._value[0] = 9.0  # read-only like every Tensor's array
    np.testing.assert_array_equal(f(np.array([0.5, 1.0, 1.5], np.float32)).numpy(),
                                  [2.0, 3.0, 4.0])


def test_tuple_outputs():
    f = jg.function(lambda a, b: (a + b, a * b))
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), np.full((2, 3), 2.0, np.float32)
    s, p = _hot(f, a, b)
    np.testing.assert_array_equal(s.numpy(), a + b)
    np.testing.assert_array_equal(p.numpy(), a * b)


def test_mismatches_take_the_general_path():
    f = jg.function(lambda x: x + 1.0)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    _hot(f, x)
    nat = f._native
    assert nat(x.astype(np.float64)) is dispatch.MISS
    assert nat(x.reshape(3, 2)) is dispatch.MISS
    assert nat(np.asfortranarray(x)) is dispatch.MISS
    assert nat(x, x) is dispatch.MISS and nat() is dispatch.MISS
    assert nat([[1.0, 2, 3], [4, 5, 6]]) is dispatch.MISS
    # and through the function, the right answers
    np.testing.assert_array_equal(f(np.asfortranarray(x)).numpy(), x + 1)
    np.testing.assert_array_equal(f(x.astype(np.float64)).numpy(), x + 1)
    np.testing.assert_array_equal(f(x[:, ::2]).numpy(), x[:, ::2] + 1)
    np.testing.assert_array_equal(f(x).numpy(), x + 1)


def test_python_scalar_arguments_are_part_of_the_signature():
    f = jg.function(lambda x, k: x * k)
    x = np.ones(3, np.float32)
    for _ in range(5):
        np.testing.assert_array_equal(f(x, 2.0).numpy(), 2.0)
    np.testing.assert_array_equal(f(x, 3.0).numpy(), 3.0)


def test_native_errors_are_raised_by_the_general_path():
    f = jg.function(lambda p, i: jg.gather(p, i))
    p, i = np.arange(4, dtype=np.float32), np.array([0, 3], np.int32)
    _hot(f, p, i)
    with pytest.raises(jg.errors.OutOfRangeError, match="out of range"):
        f(p, np.array([0, 7], np.int32))
    np.testing.assert_array_equal(f(p, i).numpy(), [0.0, 3.0])  # a failure is not sticky


def test_tape_and_tracing_bypass_the_dispatcher():
    f = jg.function(lambda x: x * x)
    x = jg.Variable([3.0])
    xv = jg.constant([3.0])
    _hot(f, xv)
    with jg.GradientTape() as tape:
        y = f(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [6.0])

    @jg.function
    def outer(t):
        return f(t) + 1.0

    np.testing.assert_array_equal(outer(xv).numpy(), [10.0])
    assert "mul" in outer.get_concrete_function(xv).explain("traced")


def test_no_reference_leaks():
    f = jg.function(lambda a, b: (a + b, a - b))
    a, b = np.ones(4, np.float32), np.ones(4, np.float32)
    _hot(f, a, b)
    before = sys.getrefcount(a), sys.getrefcount(b)
    for _ in range(1000):
        f(a, b)
        f._native(a.astype(np.float64), b)
    assert (sys.getrefcount(a), sys.getrefcount(b)) == before
    r, _ = f(a, b)
    refs = sys.getrefcount(r._value)  # the Tensor's and the argument's
    assert refs == 2


def test_read_only_variables_are_read_at_each_call():
    v = jg.Variable(np.ones(3, np.float32))
    w = jg.Variable(np.full(3, 2.0, np.float32))
    f = jg.function(lambda x: x * v + w)
    x = np.ones(3, np.float32)
    _hot(f, x)
    np.testing.assert_array_equal(f(x).numpy(), 3.0)
    v.assign([5.0, 5.0, 5.0])  # a new array in the variable: the next call sees it
    np.testing.assert_array_equal(f(x).numpy(), 7.0)
    w.assign_add([1.0, 1.0, 1.0])
    np.testing.assert_array_equal(f(x).numpy(), 8.0)
    before = sys.getrefcount(v._value)
    for _ in range(1000):
        f(x)
    after = sys.getrefcount(v._value)
    assert after == before


def test_assigned_variables_and_dynamic_shapes_stay_on_the_general_path():
    v = jg.Variable(np.ones(3, np.float32))

    @jg.function
    def step(x):
        v.assign_add(x)
        return v * 2.0

    for _ in range(4):
        step(np.ones(3, np.float32))
    assert step._native is None
    np.testing.assert_array_equal(v.numpy(), 5.0)
    g = jg.function(lambda x: x * 2.0, input_signature=[jg.TensorSpec([None], jg.float32)])
    for n in (2, 3, 2, 3, 2):
        np.testing.assert_array_equal(g(np.ones(n, np.float32)).numpy(), 2.0)
    assert g._native is None
