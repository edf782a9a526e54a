"""where(condition), boolean_mask, unique, unique_with_counts: results whose shape depends on
the values. Eager results against NumPy (and TensorFlow's first-occurrence order for
unique), gradients through boolean_mask, and the errors inside a jg.function."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph as jg
from jitgraph import errors


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
def test_where_one_argument_is_argwhere(mask):
    got = jg.where(mask).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argwhere(mask))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_boolean_mask_matches_numpy(data):
    x = data.draw(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                             elements=st.floats(-5, 5, width=32)))
    axis = data.draw(st.integers(0, x.ndim - 1))
    k = data.draw(st.integers(1, x.ndim - axis))
    mask = data.draw(hnp.arrays(np.bool_, x.shape[axis:axis + k]))
    got = jg.boolean_mask(x, mask, axis=axis).numpy()
    lead = x.shape[:axis]
    want = x.reshape(lead + (-1,) + x.shape[axis + k:])[(slice(None),) * axis +
                                                        (mask.ravel(),)]
    np.testing.assert_array_equal(got, want)


def test_boolean_mask_gradient_reaches_the_kept_elements():
    v = jg.Variable([[1.0, 2.0], [3.0, 4.0]])
    with jg.GradientTape() as tape:
        y = jg.reduce_sum(jg.boolean_mask(v * v, [[True, False], [False, True]]))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [[2.0, 0.0], [0.0, 8.0]])


def test_unique_keeps_first_occurrence_order():
    y, idx = jg.unique([4, 1, 4, 2, 1])
    np.testing.assert_array_equal(y.numpy(), [4, 1, 2])
    np.testing.assert_array_equal(idx.numpy(), [0, 1, 0, 2, 1])
    y, idx, count = jg.unique_with_counts(jg.constant([2.5, 2.5, -1.0]), out_idx=jg.int64)
    np.testing.assert_array_equal(y.numpy(), [2.5, -1.0])
    assert idx.dtype == jg.int64 and count.numpy().tolist() == [2, 1]
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).integers(0, 6, 40)
    ours, theirs = jg.unique_with_counts(x), tf.unique_with_counts(x)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_inside_a_function_the_error_names_op_shape_line_and_fix():
    @jg.function
    def f(x):
        return jg.boolean_mask(x, x > 0)

    with pytest.raises(errors.UnimplementedError) as e:
        f(jg.constant([1.0, -1.0]))
    msg = str(e.value)
    assert "boolean_mask" in msg and "bool[2]" in msg and "test_dynamic_shape_ops.py:" in msg
    assert "jg.where(mask, x, jg.zeros_like(x))" in msg
    with pytest.raises(errors.UnimplementedError, match=r"where\(condition\).*float32"):
        jg.function(lambda x: jg.where(x))(jg.constant([1.0, 0.0]))
    with pytest.raises(errors.UnimplementedError, match="unique.*bincount"):
        jg.function(lambda x: jg.unique(x).y)(jg.constant([1, 1]))


def test_bad_arguments():
    with pytest.raises(errors.InvalidArgumentError, match=r"mask of shape \[3\] does not "
                                                          r"match tensor of shape \[2\]"):
        jg.boolean_mask([1, 2], [True, False, True])
    with pytest.raises(errors.InvalidArgumentError, match="mask must be bool"):
        jg.boolean_mask([1, 2], [1, 0])
    with pytest.raises(errors.InvalidArgumentError, match="x must be a vector"):
        jg.unique([[1, 2]])
    with pytest.raises(errors.InvalidArgumentError, match="pass both x and y"):
        jg.where([True], [1.0])
