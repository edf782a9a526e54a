"""jg.Variable: reads, assign forms, sliced assignment, failed assigns leave the old value."""

import numpy as np
import pytest

import jitgraph as jg


def test_metadata_and_reads():
    v = jg.Variable([[1.0, 2.0], [3.0, 4.0]], name="w")
    assert v.shape == (2, 2) and v.dtype == jg.float32 and v.trainable
    assert v.name.startswith("w")
    np.testing.assert_array_equal(v.numpy(), [[1, 2], [3, 4]])
    assert isinstance(v.value(), jg.Tensor)
    np.testing.assert_array_equal((v + 1).numpy(), [[2, 3], [4, 5]])
    np.testing.assert_array_equal(jg.matmul(v, v).numpy(), [[7, 10], [15, 22]])
    np.testing.assert_array_equal(np.square(v), [[1, 4], [9, 16]])


def test_assign_forms_return_the_variable():
    v = jg.Variable([1.0, 2.0])
    assert v.assign([5.0, 6.0]) is v
    assert v.assign_add([1.0, 1.0]) is v
    assert v.assign_sub(jg.constant([0.5, 0.5])) is v
    np.testing.assert_array_equal(v.numpy(), [5.5, 6.5])


def test_tensor_read_before_assign_is_unchanged():
    v = jg.Variable([1.0, 2.0])
    t = v.value()
    v.assign([9.0, 9.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_sliced_assign():
    v = jg.Variable(np.zeros((2, 3), np.float32))
    v[0, 1].assign(42.0)
    v[:, 2].assign([0.0, 1.0])
    v[1, ::2].assign(jg.constant([7.0, 8.0]))
    want = np.array([[0, 42, 0], [7, 0, 8]], np.float32)
    np.testing.assert_array_equal(v.numpy(), want)
    np.testing.assert_array_equal(v[1].numpy(), want[1])


def test_scatter_nd_update():
    v = jg.Variable([1.0, 2.0, 3.0, 4.0])
    v.scatter_nd_update([[0], [3]], [10.0, 40.0])
    np.testing.assert_array_equal(v.numpy(), [10.0, 2.0, 3.0, 40.0])
    with pytest.raises(jg.errors.OutOfRangeError, match="index 9"):
        v.scatter_nd_update([[9]], [1.0])
    np.testing.assert_array_equal(v.numpy(), [10.0, 2.0, 3.0, 40.0])


@pytest.mark.parametrize("bad,match", [
    (lambda v: v.assign([1.0, 2.0, 3.0]), r"shape"),
    (lambda v: v.assign(jg.constant(np.array([1.0, 2.0]))), r"float64.*float32.*jg.cast"),
    (lambda v: v.assign_add(jg.constant([1, 2])), r"int32"),
    (lambda v: v[0].assign([1.0, 2.0]), r"does not fit"),
    (lambda v: v[5].assign(1.0), r"index 5"),
])
def test_wrong_assign_raises_and_keeps_old_value(bad, match):
    v = jg.Variable([1.0, 2.0])
    with pytest.raises(jg.errors.InvalidArgumentError, match=match):
        bad(v)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_int_variable_rejects_fractional_values():
    v = jg.Variable([1, 2])
    with pytest.raises(jg.errors.InvalidArgumentError, match="1.5"):
        v.assign([1.5, 2.0])
    v.assign([3, 4])
    np.testing.assert_array_equal(v.numpy(), [3, 4])


def test_item_assignment_on_variable_raises():
    v = jg.Variable([1.0])
    with pytest.raises(TypeError, match="assign"):
        v[0] = 2.0


def test_trainable_flag_and_initial_value_callable():
    v = jg.Variable(lambda: jg.ones([2]), trainable=False)
    assert not v.trainable and v.shape == (2,)
