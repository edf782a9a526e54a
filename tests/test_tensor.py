"""Tensor API of API.md, NumPy interop, and the error messages users see."""

import numpy as np
import pytest

import jitgraph as jg


def test_constant_default_dtypes():
    assert jg.constant(1.5).dtype == jg.float32
    assert jg.constant([1, 2]).dtype == jg.int32
    assert jg.constant(np.arange(3.0)).dtype == jg.float64
    assert jg.constant([True]).dtype == jg.bool
    assert jg.constant(2, dtype=jg.float64).dtype == jg.float64


def test_shape_api():
    t = jg.constant(np.zeros((2, 3)))
    assert t.shape == (2, 3) and t.shape == [2, 3]
    assert t.shape.as_list() == [2, 3]
    assert t.shape.rank == 2 and t.ndim == 2
    s = jg.TensorShape([None, 3])
    assert s.as_list() == [None, 3] and s[0] is None and not s.is_fully_defined()
    assert s.is_compatible_with([5, 3]) and not s.is_compatible_with([5, 4])


def test_numpy_interop():
    t = jg.constant([1.0, 2.0, 3.0])
    assert isinstance(t.numpy(), np.ndarray)
    np.testing.assert_array_equal(np.square(t), [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(np.asarray(t), [1.0, 2.0, 3.0])
    assert len(t) == 3
    assert [float(x) for x in t] == [1.0, 2.0, 3.0]
    assert bool(jg.constant(True)) and float(jg.constant(2.5)) == 2.5
    assert int(jg.constant(7)) == 7
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)


def test_tensor_is_immutable():
    t = jg.constant([1.0, 2.0])
    with pytest.raises(TypeError, match="jg.Variable"):
        t[0] = 1.0
    with pytest.raises(ValueError):
        t._value[0] = 5.0


def test_constant_copies_user_array():
    a = np.arange(3.0)
    t = jg.constant(a)
    a[0] = 100.0
    assert t.numpy()[0] == 0.0


OPS = [
    (lambda a, b: a + b, np.add), (lambda a, b: a - b, np.subtract),
    (lambda a, b: a * b, np.multiply), (lambda a, b: a / b, np.divide),
    (lambda a, b: a // b, np.floor_divide), (lambda a, b: a % b, np.mod),
    (lambda a, b: a ** b, np.power), (lambda a, b: a < b, np.less),
    (lambda a, b: a <= b, np.less_equal), (lambda a, b: a > b, np.greater),
    (lambda a, b: a >= b, np.greater_equal), (lambda a, b: a == b, np.equal),
    (lambda a, b: a != b, np.not_equal),
]


@pytest.mark.parametrize("op,ref", OPS)
def test_operators(op, ref):
    a = np.array([[1.5, 2.0, 3.0]], np.float32)
    b = np.array([[2.0], [0.5]], np.float32)
    np.testing.assert_allclose(op(jg.constant(a), jg.constant(b)).numpy(), ref(a, b), rtol=1e-6)
    np.testing.assert_allclose(op(jg.constant(a), 2.0).numpy(), ref(a, np.float32(2.0)),
                               rtol=1e-6)
    np.testing.assert_allclose(op(3.0, jg.constant(a)).numpy(), ref(np.float32(3.0), a),
                               rtol=1e-6)


def test_unary_and_bool_operators():
    a = jg.constant([-1.0, 2.0])
    np.testing.assert_array_equal((-a).numpy(), [1.0, -2.0])
    np.testing.assert_array_equal(abs(a).numpy(), [1.0, 2.0])
    p, q = jg.constant([True, False]), jg.constant([True, True])
    np.testing.assert_array_equal((p & q).numpy(), [True, False])
    np.testing.assert_array_equal((p | q).numpy(), [True, True])
    np.testing.assert_array_equal((~p).numpy(), [False, True])
    m = jg.constant(np.eye(2))
    np.testing.assert_array_equal((m @ m).numpy(), np.eye(2))


def test_weak_scalars_keep_tensor_dtype():
    assert (jg.constant([1.0]) * 2).dtype == jg.float32
    assert (jg.constant(np.array([1.0])) + 1).dtype == jg.float64
    assert (jg.constant([1, 2]) + 1).dtype == jg.int32
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"1\.5.*int32"):
        jg.constant([1, 2]) + 1.5


KEYS = [0, -1, slice(1, None), slice(None, None, -1), slice(3, 0, -2), (Ellipsis, 1),
        (None, 1), (1, None, slice(None, 2)), (slice(None), None, Ellipsis), (0, -1, 2),
        (Ellipsis, None), (slice(-2, None), Ellipsis, slice(None, None, 2))]


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_forms(key):
    a = np.arange(60.0).reshape(3, 4, 5)
    np.testing.assert_array_equal(jg.constant(a)[key].numpy(), a[key])


def test_getitem_index_lists_and_tensors():
    a = np.arange(12.0).reshape(4, 3)
    t = jg.constant(a)
    np.testing.assert_array_equal(t[[3, 1]].numpy(), a[[3, 1]])
    np.testing.assert_array_equal(t[jg.constant([0, 0])].numpy(), a[[0, 0]])
    np.testing.assert_array_equal(t[jg.constant(2)].numpy(), a[2])
    assert t[jg.newaxis].shape == (1, 4, 3)


def test_getitem_errors():
    t = jg.constant(np.zeros((2, 3)))
    with pytest.raises(jg.errors.OutOfRangeError, match=r"index 5.*size 3"):
        t[0, 5]
    with pytest.raises(jg.errors.InvalidArgumentError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(jg.errors.OutOfRangeError, match=r"gather.*index 7.*0\.\.1"):
        t[[0, 7]]
    with pytest.raises(TypeError, match="integers"):
        t[1.5]


def test_mixed_dtypes_error_names_both_and_suggests_cast():
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        jg.constant([1.0]) + jg.constant(np.array([1.0]))
    msg = str(e.value)
    assert "float32" in msg and "float64" in msg and "jg.cast" in msg and "add" in msg
    with pytest.raises(jg.errors.InvalidArgumentError, match="int32.*float32|float32.*int32"):
        jg.constant([1]) * jg.constant([1.0])


def test_shape_mismatch_error_names_both_shapes():
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        jg.add(jg.zeros([2, 3]), jg.zeros([4]))
    assert "[2,3]" in str(e.value) and "[4]" in str(e.value) and "broadcast" in str(e.value)
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"inner dimensions.*\[2,3\]"):
        jg.matmul(jg.zeros([2, 3]), jg.zeros([4, 2]))


def test_bad_axis_names_axis_and_rank():
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"axis 2.*rank 2"):
        jg.reduce_sum(jg.zeros([2, 3]), axis=2)
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"axis -4.*rank 3"):
        jg.concat([jg.zeros([1, 1, 1])] * 2, axis=-4)


def test_strings_and_objects_raise_type_error():
    with pytest.raises(TypeError, match="string"):
        jg.constant("hello")
    with pytest.raises(TypeError):
        jg.add(jg.constant([1.0]), "x")
    with pytest.raises(TypeError):
        jg.exp(object())


def test_error_message_names_user_line():
    with pytest.raises(jg.errors.OutOfRangeError, match=r"test_tensor\.py:\d+"):
        jg.gather(jg.constant([1.0, 2.0]), [2])


def test_repr_and_str():
    t = jg.constant([1.0, 2.0])
    assert "shape=(2,)" in repr(t) and "float32" in repr(t)
    assert f"{jg.constant(1.25):.1f}" == "1.2"


def test_nested_lists_holding_tensors_are_packed():
    """TensorFlow's auto-packing: ``[[i, 1]]`` with ``i`` a tensor is a stacked tensor,
    inside a jg.function too, and gradients flow into the tensors."""
    x = jg.constant(2.0)
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.reduce_sum(jg.convert_to_tensor([[x, 1.0], [3.0, x * x]]))
    assert float(tape.gradient(y, x)) == 5.0
    f = jg.function(lambda i: jg.gather_nd(jg.reshape(jg.range(12), [3, 4]), [[i, 1], [2, i]]))
    np.testing.assert_array_equal(f(jg.constant(1)).numpy(), [5, 9])
    g = jg.function(lambda v, i: jg.tensor_scatter_nd_update(v, [[i]], [v[i] * 10.0]))
    np.testing.assert_array_equal(g(np.arange(3, dtype=np.float32), jg.constant(2)).numpy(),
                                  [0, 1, 20])
    with pytest.raises(jg.errors.InvalidArgumentError, match="mixes float32 and int32"):
        jg.convert_to_tensor([x, jg.constant(1)])
    with pytest.raises(jg.errors.InvalidArgumentError, match="is float32, not int32"):
        jg.convert_to_tensor(x, dtype=jg.int32)
