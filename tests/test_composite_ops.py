"""TensorFlow functions built from other ops (ops/composite.py) beyond the differential
cases in op_cases.py: their error messages, unknown dims in contractions, numerics at the
edges (all -inf rows, zero norms, zero divisors) and use inside a compiled training step."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors

S = jg.TensorSpec


def test_errors_name_the_function_and_shapes():
    with pytest.raises(errors.InvalidArgumentError, match=r"add_n: .*input 1 is float32\[3\]"):
        jg.add_n([jg.zeros([2]), jg.zeros([3])])
    with pytest.raises(errors.InvalidArgumentError, match="names 2 axes of a rank-3"):
        jg.einsum("ij,jk->ik", np.ones((2, 3, 4)), np.ones((3, 4)))
    with pytest.raises(errors.UnimplementedError, match="repeated index"):
        jg.einsum("ii->i", np.ones((3, 3)))
    with pytest.raises(errors.UnimplementedError, match="ellipsis"):
        jg.einsum("...ij->...ji", np.ones((2, 3, 3)))
    with pytest.raises(errors.InvalidArgumentError, match="do not have the same sizes"):
        jg.tensordot(np.ones((2, 3)), np.ones((4, 2)), 1)
    with pytest.raises(errors.InvalidArgumentError, match="ord='nuc'"):
        jg.norm(np.ones(3), ord="nuc")
    with pytest.raises(errors.InvalidArgumentError, match="needs a floating tensor, got int32"):
        jg.math.reduce_variance([1, 2])
    with pytest.raises(errors.InvalidArgumentError, match="pass maxlen"):
        jg.function(lambda n: jg.sequence_mask(n))(np.array([1, 2], np.int32))


def test_segment_and_band_errors_say_what_to_do():
    with pytest.raises(errors.InvalidArgumentError, match="unsorted_segment_sum.*num_segments"):
        jg.function(lambda d, i: jg.math.segment_sum(d, i))(np.ones(3, np.float32),
                                                          np.array([0, 0, 1], np.int32))
    with pytest.raises(errors.InvalidArgumentError, match=r"rank >= 2, got float32\[3\]"):
        jg.linalg.band_part(np.ones(3, np.float32), 0, 0)
    with pytest.raises(errors.UnimplementedError, match="sharded params"):
        jg.nn.embedding_lookup([np.ones((2, 2)), np.ones((2, 2))], [0])
    with pytest.raises(errors.OutOfRangeError):
        jg.math.unsorted_segment_sum(np.ones(3), [0, 5, 1], 2)


def test_contractions_with_unknown_dims():
    f = jg.function(lambda a, b: jg.einsum("bij,jk->bik", a, b))
    a, b = np.random.randn(3, 4, 5), np.random.randn(5, 2)
    cf = f.get_concrete_function(S([None, 4, 5], jg.float64), S([5, 2], jg.float64))
    np.testing.assert_allclose(cf(a, b).numpy(), np.einsum("bij,jk->bik", a, b))
    g = jg.function(lambda a, b: jg.tensordot(a, b, 1))
    cg = g.get_concrete_function(S([None, 5], jg.float64), S([5, None], jg.float64))
    np.testing.assert_allclose(cg(a[0], b).numpy(), a[0] @ b)
    h = jg.function(lambda a, b: jg.einsum("ijk,kl->ijl", a, b))
    with pytest.raises(errors.InvalidArgumentError, match="more than one unknown dim"):
        h.get_concrete_function(S([None, None, 5], jg.float64), S([5, 2], jg.float64))


def test_numerics_at_the_edges():
    x = jg.constant([[-np.inf, -np.inf], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(jg.reduce_logsumexp(x, axis=1).numpy(), [-np.inf, np.log(4)],
                               rtol=1e-6)
    big = jg.constant([1000.0, 1000.0], jg.float32)
    np.testing.assert_allclose(jg.reduce_logsumexp(big).numpy(), 1000 + np.log(2), rtol=1e-6)
    z = jg.constant([0.0, 0.0])
    with jg.GradientTape() as t:
        t.watch(z)
        y = jg.reduce_sum(jg.clip_by_norm(z, 1.0)) + jg.reduce_sum(jg.math.divide_no_nan(z, z))
    assert np.isfinite(t.gradient(y, z).numpy()).all()
    np.testing.assert_array_equal(jg.nn.l2_normalize(z).numpy(), [0.0, 0.0])


def test_clip_by_global_norm_in_a_compiled_training_step():
    w = jg.Variable(np.ones((3, 2), np.float32) * 5)
    b = jg.Variable(np.zeros(2, np.float32))
    opt = jg.keras.optimizers.SGD(0.1)

    @jg.function
    def step(x):
        with jg.GradientTape() as tape:
            loss = jg.reduce_sum(jg.square(x @ w + b))
        grads, norm = jg.clip_by_global_norm(tape.gradient(loss, [w, b]), 1.0)
        opt.apply_gradients(zip(grads, [w, b]))
        return norm, jg.linalg.global_norm(grads)

    x = np.ones((4, 3), np.float32)
    norm, clipped = step(x)
    assert float(norm) > 1.0 and abs(float(clipped) - 1.0) < 1e-5
    moved = jg.global_norm([jg.constant(5.0) - w, b])  # lr * clipped global norm
    np.testing.assert_allclose(float(moved), 0.1, rtol=1e-4)


def test_scans_errors_and_large_rows():
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"cumsum: axis 2 is out of range.*\[3, 4\]"):
        jg.cumsum(np.ones((3, 4)), axis=2)
    with pytest.raises(errors.InvalidArgumentError, match="cumprod: needs a numeric tensor"):
        jg.math.cumprod(np.array([True, False]))
    x = np.random.RandomState(0).rand(600, 700).astype(np.float32)  # rows on the pool
    for axis in (0, 1):
        f = jg.function(lambda t, axis=axis: jg.cumsum(t, axis=axis, reverse=True))
        np.testing.assert_allclose(f(x).numpy(), np.flip(np.cumsum(np.flip(x, axis), axis),
                                                         axis), rtol=1e-4)
    g = jg.function(jg.grad(lambda t: jg.reduce_sum(jg.cumsum(t) * jg.range(5.0))))
    np.testing.assert_allclose(g(np.ones(5, np.float32)).numpy(), [10, 10, 9, 7, 4])


def test_searchsorted_errors_name_the_shapes_and_the_fix():
    with pytest.raises(errors.InvalidArgumentError, match=r"sorted_sequence \[2, 3\] and "
                                                          r"values \[4\].*jg.expand_dims"):
        jg.searchsorted(np.zeros((2, 3)), np.zeros(4))
    with pytest.raises(errors.InvalidArgumentError, match="side must be 'left' or 'right'"):
        jg.searchsorted([1.0], [1.0], side="middle")
