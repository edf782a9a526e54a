"""TensorFlow functions added as compositions (ops/mathx.py, manip.py, nnx.py, randomx.py,
check.py, pyfunc.py; nest.py): accuracy sweeps of the math functions against extended
precision, edge values, errors that name the op and the shapes, random determinism across
backends, tf.nest's ordering rules, assertions eager and in compiled functions."""

import collections
import math

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import cuda_driver
from jitgraph.ops.mathx import ACCURACY

LD = np.longdouble
BACKENDS = ["interpreter", "cpu", "cuda"]


@pytest.fixture
def emulator():
    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


def _run(fn, backend, *args, **kw):
    return jg.function(fn, backend=backend, **kw)(*args)


# ----------------------------------------------------------------------------- accuracy

_DOMAIN = {  # (float32 range, float64 range)
    "atan": ((-1e30, 1e30), (-1e300, 1e300)),
    "asin": ((-1.0, 1.0), (-1.0, 1.0)),
    "acos": ((-1.0, 1.0), (-1.0, 1.0)),
    "sinh": ((-89.4, 89.4), (-710.0, 710.0)),
    "cosh": ((-89.4, 89.4), (-710.0, 710.0)),
    "asinh": ((-1e30, 1e30), (-1e300, 1e300)),
    "acosh": ((1.0, 1e30), (1.0, 1e300)),
    "atanh": ((-1.0, 1.0), (-1.0, 1.0)),
}  # erfc is an op (ops/special.py): its accuracy sweep is in tests/test_special.py
_REF = {"atan": np.arctan, "asin": np.arcsin, "acos": np.arccos, "sinh": np.sinh,
        "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh}


def _points(lo, hi, dtype, n, rng):
    xs = [np.linspace(lo, hi, n), rng.uniform(lo, hi, n)]
    top = max(abs(lo), abs(hi))
    mags = np.exp(rng.uniform(np.log(1e-30), np.log(top), n))
    xs += [mags, -mags]
    if hi - lo <= 2:  # near the ends of [-1, 1]
        xs += [1 - np.exp(rng.uniform(np.log(1e-7), np.log(0.5), n))]
        xs += [-xs[-1]]
    x = np.concatenate(xs).astype(dtype)
    return np.unique(x[(x >= lo) & (x <= hi)])


def _reference(name, x):
    with np.errstate(all="ignore"):
        return _REF[name](x.astype(np.float64) if x.dtype == np.float32 else x.astype(LD))


def _ulp_error(got, want, dtype):
    if dtype == np.float32:
        w = np.asarray(want, np.float64)
        fin = np.isfinite(w)
        ulp = np.spacing(np.abs(w[fin]).astype(np.float32)).astype(np.float64)
        return np.abs(got[fin].astype(np.float64) - w[fin]) / ulp
    fin = np.isfinite(want.astype(np.float64))
    err = np.abs(got[fin].astype(LD) - want[fin]) / \
        np.spacing(np.abs(want[fin]).astype(np.float64)).astype(LD)
    return err.astype(np.float64)


@pytest.mark.parametrize("backend", ["eager", "cpu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(_DOMAIN))
def test_math_accuracy_in_ulp(name, dtype, backend):
    rng = np.random.RandomState(7)
    lo, hi = _DOMAIN[name][dtype == np.float64]
    x = _points(lo, hi, dtype, 4000, rng)
    fn = getattr(jg.math, name)
    t = jg.constant(x)
    got = (fn(t) if backend == "eager" else _run(lambda v: fn(v), backend, t)).numpy()
    want = _reference(name, x)
    assert got.dtype == dtype
    wf = np.asarray(want, np.float64)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(wf))
    err = _ulp_error(got, want, dtype)
    bound = ACCURACY[name][dtype == np.float64]
    assert err.max() <= bound, (name, dtype, float(err.max()), x[np.argmax(err)])


def test_erfc_has_no_cancellation_for_large_x():
    x = np.array([3.0, 6.0, 9.5], np.float32)
    got = jg.math.erfc(x).numpy()
    want = np.array([math.erfc(v) for v in x.astype(np.float64)])
    np.testing.assert_allclose(got, want, rtol=1e-6)  # 1 - erf(9.5) would be 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    m = jg.math

    def ev(f, xs):
        return f(np.array(xs, dtype)).numpy().astype(np.float64)

    np.testing.assert_allclose(ev(m.atan, [-inf, inf, 0.0]), [-np.pi / 2, np.pi / 2, 0.0],
                               rtol=1e-7)
    np.testing.assert_allclose(ev(m.asin, [-1.0, 1.0]), [-np.pi / 2, np.pi / 2], rtol=1e-7)
    np.testing.assert_allclose(ev(m.acos, [-1.0, 1.0]), [np.pi, 0.0], rtol=1e-7)
    assert np.isnan(ev(m.asin, [1.5, -2.0, nan])).all()
    assert np.isnan(ev(m.acos, [1.5, -2.0, nan])).all()
    np.testing.assert_array_equal(ev(m.atanh, [-1.0, 1.0]), [-inf, inf])
    assert np.isnan(ev(m.atanh, [1.5, nan])).all()
    assert np.isnan(ev(m.acosh, [0.5, -3.0, nan])).all()
    np.testing.assert_array_equal(ev(m.acosh, [1.0, inf]), [0.0, inf])
    np.testing.assert_array_equal(ev(m.asinh, [-inf, inf]), [-inf, inf])
    np.testing.assert_array_equal(ev(m.sinh, [-inf, inf]), [-inf, inf])
    np.testing.assert_array_equal(ev(m.cosh, [-inf, inf]), [inf, inf])
    np.testing.assert_array_equal(ev(m.erfc, [-inf, inf]), [2.0, 0.0])
    big = 89.4 if dtype == np.float32 else 710.4
    assert np.isfinite(ev(m.sinh, [big, -big])).all()  # e^x / 2 is finite, e^x is not
    assert np.isfinite(ev(m.cosh, [big])).all()


def test_top_level_names_follow_tensorflow():
    for name in ("asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh"):
        assert getattr(jg, name) is getattr(jg.math, name)
    for name in ("erfc", "rint", "polyval"):  # tf.math only
        assert hasattr(jg.math, name) and not hasattr(jg, name)


@pytest.mark.parametrize("name,deriv,xs", [
    ("atan", lambda x: 1 / (1 + x * x), [-1e3, -3.0, -0.5, 0.0, 0.3, 0.6, 2.5, 50.0]),
    ("asin", lambda x: 1 / np.sqrt(1 - x * x), [-0.99, -0.5, 0.0, 0.3, 0.9]),
    ("acos", lambda x: -1 / np.sqrt(1 - x * x), [-0.99, -0.5, 0.0, 0.3, 0.9]),
    ("sinh", np.cosh, [-30.0, -5.0, -1e-3, 0.0, 1.0, 19.0, 21.0]),
    ("cosh", np.sinh, [-30.0, -5.0, -1e-3, 1.0, 19.0, 21.0]),
    ("asinh", lambda x: 1 / np.sqrt(x * x + 1), [-1e9, -5.0, 0.0, 1.5, 2.5, 1e9]),
    ("acosh", lambda x: 1 / np.sqrt(x * x - 1), [1.001, 1.5, 2.5, 10.0, 1e9]),
    ("atanh", lambda x: 1 / (1 - x * x), [-0.99, -0.5, 0.0, 0.3, 0.9]),
    ("erfc", lambda x: -2 / np.sqrt(np.pi) * np.exp(-x * x), [-3.0, 0.0, 0.4, 0.6, 2.0, 20.0]),
])
def test_gradients_are_the_exact_derivatives(name, deriv, xs):
    x = jg.constant(np.array(xs))
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = getattr(jg.math, name)(x)
    g = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(g, deriv(np.array(xs)), rtol=1e-12, atol=1e-300)


def test_gradients_at_the_domain_ends_are_not_nan_inside():
    x = jg.constant(np.array([-1.0, 1.0, 0.5]))
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.asin(x) + jg.atanh(x * 0.5)
    assert np.isfinite(tape.gradient(y, x).numpy()).all()


def test_math_functions_reject_integers_naming_the_op():
    with pytest.raises(errors.InvalidArgumentError, match="acosh.*int32.*jg.cast"):
        jg.math.acosh(jg.constant([1, 2]))


def test_polyval_and_rint():
    x = jg.constant([0.5, 1.5, 2.5, -0.5])
    np.testing.assert_array_equal(jg.math.rint(x).numpy(), [0.0, 2.0, 2.0, -0.0])
    p = jg.math.polyval([2.0, jg.constant(-1.0), 3], x)
    np.testing.assert_allclose(p.numpy(), np.polyval([2.0, -1.0, 3.0], x.numpy()))
    np.testing.assert_array_equal(jg.math.polyval([], x).numpy(), [0, 0, 0, 0])
    with pytest.raises(errors.InvalidArgumentError, match="polyval.*list"):
        jg.math.polyval(jg.constant([1.0, 2.0]), x)


# ----------------------------------------------------------------------------- array functions


def test_roll_matches_numpy_and_names_bad_arguments():
    x = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(jg.roll(x, [1, 5], [2, 1]).numpy(),
                                  np.roll(x, [1, 5], [2, 1]))
    np.testing.assert_array_equal(jg.roll(x, -7, 2).numpy(), np.roll(x, -7, 2))
    with pytest.raises(errors.InvalidArgumentError, match="roll.*same length"):
        jg.roll(x, [1, 2], [0])
    with pytest.raises(errors.InvalidArgumentError, match="roll: axis 3.*\\[2, 3, 4\\]"):
        jg.roll(x, 1, 3)
    f = jg.function(lambda t: jg.roll(t, 1, 0), input_signature=[jg.TensorSpec([None])])
    with pytest.raises(errors.InvalidArgumentError, match="roll: axis 0.*known size"):
        f.get_concrete_function()


def test_meshgrid_indexing():
    x, y = np.arange(3.0), np.arange(2.0)
    for indexing in ("xy", "ij"):
        got = jg.meshgrid(x, y, indexing=indexing)
        for g, w in zip(got, np.meshgrid(x, y, indexing=indexing)):
            np.testing.assert_array_equal(g.numpy(), w)
    with pytest.raises(errors.InvalidArgumentError, match="indexing"):
        jg.meshgrid(x, y, indexing="yx")


def test_identity_n():
    a, b = jg.identity_n([jg.constant(1.0), [1, 2]])
    assert float(a) == 1.0 and b.numpy().tolist() == [1, 2]


def test_ensure_shape_eager_message_names_both_shapes():
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"ensure_shape.*\[2, 3\].*\[2, 4\].*test_tf_functions.py:"):
        jg.ensure_shape(jg.zeros([2, 3]), [2, 4])
    assert jg.ensure_shape(jg.zeros([2, 3]), [None, 3]).shape == (2, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ensure_shape_checks_unknown_dims_when_the_function_runs(backend, emulator):
    f = jg.function(lambda t: jg.ensure_shape(t, [4, None, 3]) * 2.0, backend=backend,
                    input_signature=[jg.TensorSpec([None, None, None])])
    assert f.get_concrete_function().structured_outputs.shape.as_list() == [4, None, 3]
    assert f(np.ones((4, 2, 3), np.float32)).shape == (4, 2, 3)
    with pytest.raises(errors.InvalidArgumentError, match=r"ensure_shape.*\[4, None, 3\]"):
        f(np.ones((4, 3, 2), np.float32))


def test_bincount():
    arr = np.array([1, 1, 3, 0, 7])
    np.testing.assert_array_equal(jg.math.bincount(arr).numpy(), np.bincount(arr))
    np.testing.assert_array_equal(jg.math.bincount(arr, minlength=10).numpy(),
                                  np.bincount(arr, minlength=10))
    np.testing.assert_array_equal(jg.math.bincount(arr, maxlength=3).numpy(), [1, 2, 0])
    w = np.array([0.5, 1.0, 2.0, 3.0, 4.0], np.float32)
    got = jg.math.bincount(arr, weights=w)
    assert got.dtype == jg.float32
    np.testing.assert_allclose(got.numpy(), np.bincount(arr, w))
    with pytest.raises(errors.InvalidArgumentError, match="bincount.*non-negative"):
        jg.math.bincount([1, -1])
    f = jg.function(lambda a: jg.math.bincount(a, minlength=8, maxlength=8))
    np.testing.assert_array_equal(f(jg.constant(arr)).numpy(), np.bincount(arr, minlength=8))
    g = jg.function(lambda a: jg.math.bincount(a))
    with pytest.raises(errors.InvalidArgumentError, match="bincount.*minlength == maxlength"):
        g(jg.constant(arr))


def test_segment_reductions():
    d = jg.constant([[1.0, 5.0], [3.0, 0.0], [2.0, 7.0], [4.0, 4.0]])
    ids = [0, 0, 2, -1]  # id -1 is dropped, segment 1 is empty
    mx = jg.math.unsorted_segment_max(d, ids, 3).numpy()
    np.testing.assert_array_equal(mx[[0, 2]], [[3.0, 5.0], [2.0, 7.0]])
    assert (mx[1] == np.finfo(np.float32).min).all()
    mn = jg.math.unsorted_segment_min(d, ids, 3).numpy()
    np.testing.assert_array_equal(mn[0], [1.0, 0.0])
    assert (mn[1] == np.finfo(np.float32).max).all()
    np.testing.assert_array_equal(jg.math.unsorted_segment_prod(d, ids, 3).numpy(),
                                  [[3.0, 0.0], [1.0, 1.0], [2.0, 7.0]])
    np.testing.assert_array_equal(jg.math.segment_max(d[:3], [0, 0, 1]).numpy(),
                                  [[3.0, 5.0], [2.0, 7.0]])
    np.testing.assert_array_equal(jg.math.segment_min([5, 2, 7], [0, 1, 1]).numpy(), [5, 2])
    with pytest.raises(errors.InvalidArgumentError, match="segment_max.*sorted"):
        jg.math.segment_max(d[:3], [1, 0, 1])
    with pytest.raises(errors.InvalidArgumentError, match="unsorted_segment_max.*id 5.*\\[0, 3\\)"):
        jg.math.unsorted_segment_max(d, [0, 5, 1, 1], 3)
    f = jg.function(lambda x: jg.math.segment_max(x, [0, 1]))
    with pytest.raises(errors.InvalidArgumentError, match="segment_max.*unsorted_segment_max"):
        f(jg.constant([1.0, 2.0]))


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_segment_ids_and_bincount_values_checked_when_the_function_runs(backend):
    f = jg.function(lambda d, i: jg.math.unsorted_segment_max(d, i, 3), backend=backend)
    d = jg.constant([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(f(d, jg.constant([0, -1, 2])).numpy()[[0, 2]], [1.0, 3.0])
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"unsorted_segment_max: a segment id is out of range \[0, 3\)"):
        f(d, jg.constant([0, 3, 1]))
    g = jg.function(lambda a: jg.math.bincount(a, minlength=4, maxlength=4), backend=backend)
    with pytest.raises(errors.InvalidArgumentError, match="bincount: arr must be non-negative"):
        g(jg.constant([1, -2]))


def test_segment_max_gradient_splits_ties():
    d = jg.constant([2.0, 2.0, 1.0])
    with jg.GradientTape() as tape:
        tape.watch(d)
        y = jg.math.unsorted_segment_max(d, [0, 0, 1], 2)
    np.testing.assert_allclose(tape.gradient(y, d).numpy(), [0.5, 0.5, 1.0])


# ----------------------------------------------------------------------------- nn


def test_nn_losses_match_tensorflow_values():
    # reference numbers from TensorFlow 2
    np.testing.assert_allclose(jg.nn.log_poisson_loss(
        jg.constant([0.0, 0.5, 2.0, 5.0]), jg.constant([0.1, 0.2, 0.3, 1.0]),
        compute_full_loss=True).numpy(), [1.105171, 1.1214027, 1.4016653, 2.489129], rtol=1e-6)
    np.testing.assert_allclose(jg.nn.weighted_cross_entropy_with_logits(
        jg.constant([0.0, 1.0, 0.3]), jg.constant([-2.0, 0.5, 3.0]), 2.5).numpy(),
        [0.12692809, 1.1851925, 2.1704516], rtol=1e-6)
    assert float(jg.nn.compute_average_loss(jg.constant([[1.0, 2.0], [3.0, 4.0]]))) == 5.0
    assert float(jg.nn.compute_average_loss([1.0, 2.0], sample_weight=[1.0, 0.5])) == 1.0
    assert float(jg.nn.compute_average_loss([1.0, 2.0], global_batch_size=4)) == 0.75
    assert float(jg.nn.scale_regularization_loss([1.0, jg.constant(2.0)])) == 3.0
    x = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
    got = jg.nn.batch_normalization(x, [2.0, 3.0], [1.0, 4.0], [0.5, 0.0], [2.0, 1.0], 0.0)
    np.testing.assert_allclose(got.numpy(), (x - [2, 3]) / np.sqrt([1, 4]) * [2, 1] + [0.5, 0])


# ----------------------------------------------------------------------------- random


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_categorical_same_numbers_eager_and_compiled(backend):
    logits = jg.constant(np.log([[0.1, 0.2, 0.7], [0.5, 0.5, 1e-30]]).astype(np.float32))
    jg.random.set_seed(3)
    eager = jg.random.categorical(logits, 50, seed=5).numpy()
    jg.random.set_seed(3)
    f = jg.function(lambda l: jg.random.categorical(l, 50, seed=5), backend=backend)
    first = f(logits).numpy()
    np.testing.assert_array_equal(eager, first)
    assert eager.dtype == np.int64 and eager.shape == (2, 50)
    assert not np.array_equal(f(logits).numpy(), first)  # each call draws fresh numbers


def test_categorical_frequencies_and_dtype():
    jg.random.set_seed(1)
    s = jg.random.categorical(jg.math.log([[0.1, 0.2, 0.7]]), 20000, dtype=jg.int32).numpy()
    assert s.dtype == np.int32
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 20000, [0.1, 0.2, 0.7],
                               atol=0.015)
    with pytest.raises(errors.InvalidArgumentError, match="categorical.*2-D"):
        jg.random.categorical([0.0, 1.0], 3)


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_shuffle_is_a_permutation_same_eager_and_compiled(backend):
    x = jg.constant(np.arange(40).reshape(20, 2))
    jg.random.set_seed(2)
    eager = jg.random.shuffle(x, seed=9).numpy()
    jg.random.set_seed(2)
    comp = jg.function(lambda t: jg.random.shuffle(t, seed=9), backend=backend)(x).numpy()
    np.testing.assert_array_equal(eager, comp)
    assert sorted(eager[:, 0].tolist()) == list(range(0, 40, 2))
    assert (eager[:, 1] == eager[:, 0] + 1).all()  # rows move whole
    assert not np.array_equal(eager, x.numpy())


@pytest.mark.parametrize("fn", [jg.random.stateless_uniform, jg.random.stateless_normal,
                                jg.random.stateless_truncated_normal])
def test_stateless_same_on_every_backend_and_call(fn, emulator):
    want = fn([3, 4], seed=[7, 11]).numpy()
    np.testing.assert_array_equal(fn([3, 4], seed=[7, 11]).numpy(), want)
    for backend in BACKENDS:
        f = jg.function(lambda: fn([3, 4], seed=[7, 11]), backend=backend)
        np.testing.assert_array_equal(f().numpy(), want)
        np.testing.assert_array_equal(f().numpy(), want)
    assert not np.array_equal(fn([3, 4], seed=[7, 12]).numpy(), want)
    with pytest.raises(errors.InvalidArgumentError, match="seed must be a pair"):
        fn([2], seed=3)


def test_stateless_uniform_bounds_and_dtypes():
    u = jg.random.stateless_uniform([1000], seed=[1, 2], minval=-2.0, maxval=3.0,
                                    dtype=jg.float64).numpy()
    assert u.dtype == np.float64 and u.min() >= -2.0 and u.max() < 3.0
    i = jg.random.stateless_uniform([1000], seed=[1, 2], minval=5, maxval=9, dtype=jg.int32)
    assert set(i.numpy().tolist()) == {5, 6, 7, 8}


def test_generator_streams_eager_and_compiled():
    g = jg.random.Generator.from_seed(1234)
    a, b = g.normal([3]).numpy(), g.normal([3]).numpy()
    assert not np.array_equal(a, b)
    h = jg.random.Generator.from_seed(1234)
    f = jg.function(lambda: h.normal([3]))
    np.testing.assert_array_equal(f().numpy(), a)
    np.testing.assert_array_equal(f().numpy(), b)
    u = jg.random.Generator.from_seed(5).uniform([100], minval=1.0, maxval=2.0).numpy()
    assert u.min() >= 1.0 and u.max() < 2.0
    assert not np.array_equal(jg.random.Generator.from_seed(1235).normal([3]).numpy(), a)


# ----------------------------------------------------------------------------- nest

Point = collections.namedtuple("Point", "y x")


def test_nest_flatten_orders_dict_keys():
    assert jg.nest.flatten({"b": 1, "a": [2, 3]}) == [2, 3, 1]
    assert jg.nest.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [2, 1]
    assert jg.nest.flatten(None) == [None]
    assert jg.nest.flatten([None, (), [], {}]) == [None]
    assert jg.nest.flatten(Point(1, 2)) == [1, 2]
    assert jg.nest.flatten("ab") == ["ab"]
    t = jg.constant([1, 2])
    assert jg.nest.flatten({"t": t})[0] is t
    assert jg.nest.is_nested([1]) and jg.nest.is_nested({}) and jg.nest.is_nested(Point(1, 2))
    assert not jg.nest.is_nested({1}) and not jg.nest.is_nested("ab")
    assert not jg.nest.is_nested(t)


def test_nest_pack_sequence_as_restores_types_and_key_order():
    od = jg.nest.pack_sequence_as(collections.OrderedDict([("b", 0), ("a", 0)]), [10, 20])
    assert isinstance(od, collections.OrderedDict) and list(od.items()) == [("b", 20),
                                                                             ("a", 10)]
    s = {"z": Point(0, [0]), "a": (0,)}
    out = jg.nest.pack_sequence_as(s, [1, 2, 3])
    assert out == {"z": Point(2, [3]), "a": (1,)} and list(out) == ["z", "a"]
    dd = jg.nest.pack_sequence_as(collections.defaultdict(list, {"k": 0}), [5])
    assert isinstance(dd, collections.defaultdict) and dd.default_factory is list
    assert jg.nest.pack_sequence_as(7, [8]) == 8
    with pytest.raises(ValueError, match="Structure had 2 atoms, but flat_sequence had 1"):
        jg.nest.pack_sequence_as([1, 2], [1])


def test_nest_map_structure_and_assert_same_structure():
    got = jg.nest.map_structure(lambda a, b: a + b, {"x": 1, "y": (2, 3)},
                                {"x": 10, "y": (20, 30)})
    assert got == {"x": 11, "y": (22, 33)}
    with pytest.raises(TypeError, match="list.*tuple"):
        jg.nest.assert_same_structure([1, 2], (1, 2))
    jg.nest.assert_same_structure([1, 2], (1, 2), check_types=False)
    with pytest.raises(ValueError, match="is a sequence, while substructure"):
        jg.nest.assert_same_structure([1, 2], [1, [2]])
    with pytest.raises(ValueError, match="different keys"):
        jg.nest.assert_same_structure({"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="length"):
        jg.nest.map_structure(lambda a, b: a, [1, 2], [1, 2, 3])
    P2 = collections.namedtuple("Point", "y x")
    jg.nest.assert_same_structure(Point(1, 2), P2(3, 4))  # same name and fields


# ----------------------------------------------------------------------------- debugging


def test_asserts_eager_messages_name_the_check_values_and_line():
    with pytest.raises(errors.InvalidArgumentError) as e:
        jg.debugging.assert_equal(jg.constant([1, 2]), jg.constant([1, 3]), message="ids")
    msg = str(e.value)
    assert msg.startswith("ids\nassert_equal: Condition x == y did not hold")
    assert "[[1]]" in msg and "y (shape=(2,) dtype=int32) = [1 3]" in msg
    assert "test_tf_functions.py:" in msg
    with pytest.raises(errors.InvalidArgumentError, match=r"assert_positive: Condition x > 0"):
        jg.debugging.assert_positive([1.0, -2.0])
    with pytest.raises(errors.InvalidArgumentError, match="assert_non_negative"):
        jg.debugging.assert_non_negative(jg.constant([-1]))
    with pytest.raises(errors.InvalidArgumentError, match="assert_less: Condition x < y"):
        jg.assert_less(jg.constant([1.0, 2.0]), 2.0)
    with pytest.raises(errors.InvalidArgumentError, match="assert_greater"):
        jg.assert_greater(1, 2)
    assert jg.assert_equal(1, 1) is None
    jg.debugging.assert_less_equal([1, 2], [1, 2])
    jg.debugging.assert_none_equal([1, 2], [2, 1])


def test_assert_rank_and_shapes_are_static():
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"assert_rank: Tensor must have rank 2. Received rank 1, shape"):
        jg.assert_rank(jg.constant([1.0, 2.0]), 2)
    assert isinstance(errors.InvalidArgumentError("x"), ValueError)  # TF raises ValueError
    jg.debugging.assert_rank_at_least(jg.zeros([2, 3]), 1)
    jg.debugging.assert_rank_in(jg.zeros([2, 3]), [0, 2])
    jg.debugging.assert_shapes([(jg.zeros([2, 3]), ("N", "Q")), (jg.zeros([2, 5]), ("N", 5)),
                                (jg.zeros([7, 3]), ("*", "Q")), (1.0, ())])
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"assert_shapes: Specified by Tensor shape=\(2, 3\).*dimension 0 "
                             r"must have size 2. Received size 3"):
        jg.debugging.assert_shapes([(jg.zeros([2, 3]), ("N", "Q")), (jg.zeros([3]), ("N",))])
    f = jg.function(lambda x: jg.assert_rank(x, 3) or x)
    with pytest.raises(errors.InvalidArgumentError, match="assert_rank"):
        f(jg.zeros([2]))


def test_check_numerics_and_assert_eager():
    x = jg.constant([1.0, 2.0])
    assert jg.debugging.check_numerics(x, "ok") is x
    with pytest.raises(errors.InvalidArgumentError, match="bad x : Tensor had NaN values"):
        jg.debugging.check_numerics([1.0, np.nan], "bad x")
    with pytest.raises(errors.InvalidArgumentError, match="bad y : Tensor had Inf values"):
        jg.debugging.assert_all_finite(jg.constant([np.inf]), "bad y")
    with pytest.raises(errors.InvalidArgumentError, match="Summarized data: x is \\[1 2\\]"):
        jg.Assert(jg.constant(False), ["x is", jg.constant([1, 2])])
    assert jg.debugging.Assert(True, ["fine"]) is None
    with pytest.raises(errors.InvalidArgumentError, match="Assert: condition must be a bool"):
        jg.Assert(jg.constant([True, False]), ["x"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_checks_run_when_the_compiled_function_runs(backend, emulator):
    @jg.function(backend=backend)
    def f(x, y):
        jg.debugging.assert_positive(x, message="x must be positive")
        jg.debugging.assert_less(x, y)
        return jg.debugging.check_numerics(x * 2.0, "doubled")

    np.testing.assert_array_equal(f(jg.constant([1.0, 2.0]), 3.0).numpy(), [2.0, 4.0])
    with pytest.raises(errors.InvalidArgumentError) as e:
        f(jg.constant([1.0, -2.0]), 3.0)
    msg = str(e.value)
    assert "x must be positive" in msg and "assert_positive: Condition x > 0" in msg
    assert "float32[2]" in msg and "test_tf_functions.py:" in msg
    with pytest.raises(errors.InvalidArgumentError, match="assert_less: Condition x < y"):
        f(jg.constant([1.0, 4.0]), 3.0)
    # a failed call does not fail the next one
    np.testing.assert_array_equal(f(jg.constant([3.0, 2.0]), 5.0).numpy(), [6.0, 4.0])
    g = jg.function(lambda x: jg.debugging.check_numerics(x * 2.0, "doubled"), backend=backend)
    with pytest.raises(errors.InvalidArgumentError, match="doubled : Tensor had NaN or Inf"):
        g(jg.constant([1.0, np.inf]))
    np.testing.assert_array_equal(g(jg.constant([1.0])).numpy(), [2.0])


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_assert_and_assert_shapes_in_compiled_functions(backend):
    @jg.function(backend=backend, input_signature=[jg.TensorSpec([None, None]),
                                                   jg.TensorSpec([None])])
    def f(x, n):
        jg.debugging.assert_shapes([(x, ("N", 3)), (n, ("N",))])
        jg.Assert(jg.reduce_all(n >= 0), ["n must be non-negative:", n])
        return x * 2.0

    assert f(np.ones((2, 3), np.float32), np.ones(2, np.float32)).shape == (2, 3)
    with pytest.raises(errors.InvalidArgumentError, match="assert_shapes.*dimension 1 must "
                                                          "have size 3"):
        f(np.ones((2, 4), np.float32), np.ones(2, np.float32))
    with pytest.raises(errors.InvalidArgumentError, match="assert_shapes.*dimension 0 must "
                                                          "have the same size"):
        f(np.ones((2, 3), np.float32), np.ones(5, np.float32))
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"n must be non-negative: <float32\[None\] tensor>"):
        f(np.ones((2, 3), np.float32), -np.ones(2, np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_failed_check_is_reported(backend, emulator):
    """Several failing checks in one call: every backend reports the first, in program
    order, as the interpreter (and TensorFlow) do."""
    @jg.function(backend=backend)
    def f(x, i):
        jg.debugging.assert_positive(x, message="first check")
        y = jg.gather(x, i)  # out of range as well
        jg.debugging.assert_less(x, -5.0, message="third check")
        return y

    with pytest.raises(errors.InvalidArgumentError, match="first check"):
        f(jg.constant([-1.0, 2.0]), jg.constant([7]))


def test_control_dependencies_is_accepted():
    f = jg.function(lambda x: _with_deps(x), backend="cpu")
    with pytest.raises(errors.InvalidArgumentError, match="assert_positive"):
        f(jg.constant([-1.0]))
    assert float(f(jg.constant([2.0]))[0]) == 3.0


def _with_deps(x):
    with jg.control_dependencies([jg.debugging.assert_positive(x)]):
        return x + 1.0


def test_assert_op_survives_optimization_and_is_in_the_graph():
    f = jg.function(lambda x: (jg.debugging.assert_positive(x), x + 1.0)[1])
    cf = f.get_concrete_function(jg.TensorSpec([3]))
    assert "assert" in [op.type for op in cf.graph.get_operations()]
    assert "assert" in cf.explain("optimized")


# ----------------------------------------------------------------------------- py_function


def test_py_function_and_numpy_function_eager():
    assert float(jg.py_function(lambda a, b: a + b, [1.0, jg.constant(2.0)], jg.float32)) == 3.0
    a, b = jg.py_function(lambda t: (t, t * 2), [jg.constant(1.0)], [jg.float32, jg.float32])
    assert float(b) == 2.0
    out = jg.numpy_function(lambda v: v * 2, [jg.constant([1, 2])], jg.int32)
    assert out.dtype == jg.int32 and out.numpy().tolist() == [2, 4]
    x = jg.constant(3.0)
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.py_function(lambda v: v * v, [x], jg.float32)
    assert float(tape.gradient(y, x)) == 6.0
    with pytest.raises(errors.InvalidArgumentError, match="numpy_function.*float64.*float32"):
        jg.numpy_function(lambda v: v.astype(np.float64), [jg.constant([1.0])], jg.float32)


def test_py_function_inside_a_jg_function_is_a_clear_error():
    f = jg.function(lambda x: jg.py_function(np.sin, [x], jg.float32))
    with pytest.raises(errors.UnimplementedError,
                       match=r"py_function\(sin\).*jg.print.*run_functions_eagerly"):
        f(jg.constant(1.0))
