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
def test_a_failed_check_before_the_variable_updates_skips_them(backend):
    # the usual train step: checks (gathers) first, updates last; compiled, the entry point
    # returns before the first update instead of restoring a snapshot (codegen/undo.py)
    emb = jg.Variable(np.ones((5, 2), np.float32))
    step = jg.Variable(np.int64(0))

    @jg.function(backend=backend)
    def f(i):
        with jg.GradientTape() as tape:
            loss = jg.reduce_sum(jg.square(jg.gather(emb, i)))
        emb.assign_sub(0.1 * jg.convert_to_tensor(tape.gradient(loss, emb)))
        step.assign_add(1)
        return loss

    f(jg.constant([0, 1]))
    before = emb.numpy()
    with pytest.raises(jg.errors.OutOfRangeError, match="gather"):
        f(jg.constant([1, 5]))
    np.testing.assert_array_equal(emb.numpy(), before)
    assert int(step.numpy()) == 1


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


@pytest.mark.parametrize("what, fn, args, op", [
    ("reshape", lambda x: jg.reshape(x, [3, -1]), [np.arange(4, dtype=np.float32)], "reshape"),
    ("broadcast", lambda x, y: x + y, [np.ones(4, np.float32), np.ones(3, np.float32)], "add"),
    ("matmul", jg.matmul, [np.ones((2, 4), np.float32), np.ones((3, 2), np.float32)], "matmul"),
    ("concat", lambda x, y: jg.concat([x, y], 0),
     [np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)], "concat"),
])
def test_interpreter_names_the_op_shapes_and_line_for_run_time_shape_errors(what, fn, args, op):
    sig = [S([None] * a.ndim, jg.float32) for a in args]
    f = jg.function(fn, input_signature=sig, backend="interpreter")
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        f(*args)
    msg = str(e.value)  # the type rule's message for the run-time shapes, as on cpu
    assert msg.startswith(op) and HERE in msg and "3" in msg, msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_time_index_errors_name_the_line_of_the_op_not_of_the_call(backend):
    def f(x, i):
        y = x * 2.0
        return jg.gather(y, i)  # the line the message must name

    line = f.__code__.co_firstlineno + 2
    g = jg.function(f, backend=backend)
    with pytest.raises(jg.errors.OutOfRangeError) as e:
        g(jg.constant([1.0, 2.0]), jg.constant([5]))
    msg = str(e.value)
    assert f"{HERE}:{line}" in msg and msg.count(HERE) == 1, msg
    assert msg.startswith("gather") and "2" in msg, msg  # the size (cpu: the shapes)


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("idx", [-1, 2, 2**31 - 1])
def test_gather_gradient_ops_check_their_indices(backend, idx):
    # np.add.at wrapped negative indices around silently (a wrong gradient) and raised a bare
    # IndexError for large ones
    def f(a, g, i):
        return jg.ops.apply("gather_grad_add", a, g, i, axis=0)

    args = [np.zeros((2, 2)), np.ones((3, 2)), np.array([1, idx, 0], np.int32)]
    call = (lambda: f(*map(jg.constant, args))) if backend == "eager" else \
        (lambda: jg.function(f, backend=backend)(*args))
    with pytest.raises(jg.errors.OutOfRangeError, match="gather_grad"):
        call()


# ------------------------------------------------------------------ special values

def _on_every_backend(fn, *args):
    out = {"eager": fn(*map(jg.constant, args)).numpy()}
    for be in BACKENDS:
        out[be] = jg.function(fn, backend=be)(*args).numpy()
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_floordiv_of_nan_and_inf_is_nan_on_every_backend(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1.0, 7.0, -7.0], dtype)
    y = np.array([1.0, 2.0, 2.0, np.inf, 2.0, 0.0], dtype)
    with np.errstate(all="ignore"):
        want = np.floor_divide(x, y)
    for be, got in _on_every_backend(jg.math.floordiv, x, y).items():
        np.testing.assert_array_equal(got, want, err_msg=be)


@pytest.mark.parametrize("src", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("dst", [jg.int32, jg.int64])
def test_float_to_int_cast_saturates_and_maps_nan_to_zero_on_every_backend(src, dst):
    info = np.iinfo(dst.as_numpy_dtype)
    x = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 1e19, -1e19, 2.7, -2.7, -0.0])
    with np.errstate(all="ignore"):
        x = x.astype(src)
        big, small = x.astype(np.float64) >= 2.0**(info.bits - 1), \
            x.astype(np.float64) < -2.0**(info.bits - 1)
        want = np.where(np.isfinite(x) & ~big & ~small, np.trunc(x), 0).astype(info.dtype)
    want[big], want[small] = info.max, info.min
    for be, got in _on_every_backend(lambda t: jg.cast(t, dst), x).items():
        np.testing.assert_array_equal(got, want, err_msg=be)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("base", [0, 1, -1, 2])
def test_integer_pow_with_a_negative_exponent_raises_on_every_backend(backend, base):
    f = jg.function(lambda x, y: jg.pow(x, y) + 1, backend=backend)  # pow fused with the add
    x = np.array([base, 3], np.int32)
    np.testing.assert_array_equal(f(x, np.array([2, 1], np.int32)).numpy(), x**2 * [1, 0]
                                  + [0, 3] + 1)
    for call in (lambda: f(x, np.array([-3, 1], np.int32)),
                 lambda: jg.pow(jg.constant(x), jg.constant([-3, 1]))):
        with pytest.raises(jg.errors.InvalidArgumentError, match="pow.*negative integer") as e:
            call()
        assert HERE in str(e.value)


# ------------------------------------------------------------------ Keras

@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_crossentropy_rejects_out_of_range_labels(backend, from_logits):
    # compiled, a label >= classes used to cost 0 (its one_hot row is all zeros)
    def loss(y, p):
        return jg.keras.losses.sparse_categorical_crossentropy(y, p, from_logits=from_logits)

    y, p = np.array([1, 3], np.int32), np.full((2, 3), 1 / 3, np.float32)
    call = (lambda: loss(jg.constant(y), jg.constant(p))) if backend == "eager" else \
        (lambda: jg.function(loss, backend=backend)(y, p))
    with pytest.raises(jg.errors.InvalidArgumentError, match="out of range|class indices"):
        call()
    with pytest.raises(jg.errors.InvalidArgumentError):
        (lambda: jg.function(loss, backend=backend)(-y, p))() if backend != "eager" else \
            loss(jg.constant(-y), jg.constant(p))


def test_fit_step_that_fails_when_it_runs_leaves_weights_and_optimizer_as_they_were():
    m = jg.keras.Sequential([jg.keras.layers.Dense(3)])
    m.compile(loss=jg.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              optimizer="adam")
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    y = np.array([0, 1, 2, 1, 0, 1, 2, 1], np.int32)
    m.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    bad = y.copy()
    bad[1] = 9  # in the first batch: that step fails, nothing may change
    state = [v.numpy().copy() for v in m.weights + m.optimizer.variables]
    with pytest.raises(jg.errors.InvalidArgumentError, match="label is out of range"):
        m.fit(x, bad, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for before, v in zip(state, m.weights + m.optimizer.variables, strict=True):
        np.testing.assert_array_equal(v.numpy(), before, err_msg=v.name)
    assert int(m.optimizer.iterations.numpy()) == 2


# ------------------------------------------------------------------ eager errors

@pytest.mark.parametrize("fn, op", [
    (lambda: jg.ones(4) + jg.ones(3), "add"),
    (lambda: jg.reduce_max(jg.zeros(0)), "reduce_max"),
    (lambda: jg.reshape(jg.ones(4), [3, -1]), "reshape"),
    (lambda: jg.matmul(jg.ones((2, 3)), jg.ones((2, 3))), "matmul"),
])
def test_eager_op_errors_name_the_users_line(fn, op):
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        fn()
    assert str(e.value).startswith(op) and str(e.value).count(HERE) == 1, str(e.value)


def test_variable_update_errors_name_the_variable_and_change_nothing():
    v = jg.Variable(np.arange(4, dtype=np.float32), name="counts")
    for fn, what in [(lambda: v.assign_add(np.ones(3, np.float32)), "assign_add"),
                     (lambda: v.assign_sub([1.0, 2.0]), "assign_sub"),
                     (lambda: v[1:3].assign([1.0, 2.0, 3.0]), "sliced assignment"),
                     (lambda: v.assign(np.ones(5, np.float32)), "assign"),
                     (lambda: v.scatter_nd_update([[1], [7]], [5.0, 6.0]), "index 7")]:
        with pytest.raises(jg.errors.InvalidArgumentError) as e:
            fn()
        msg = str(e.value)
        assert what in msg and HERE in msg, msg
        if what != "index 7":
            assert "'counts" in msg, msg
        np.testing.assert_array_equal(v.numpy(), [0.0, 1.0, 2.0, 3.0])


# ------------------------------------------------------------------ shape relations the
# compiled kernels rely on: they read an input by another input's shape, so a type rule
# that let a mismatch through made the cpu backend read past the end of a buffer

_MISMATCHED = [
    ("scatter_nd", lambda i, u: jg.scatter_nd(i, u, [4]),
     [np.zeros((0, 1), np.int32), np.ones(3)], "updates have shape"),
    ("scatter_nd:depth", lambda i, u: jg.scatter_nd(i, u, [4, 2]),
     [np.array([[1], [2]], np.int32), np.ones((2, 3))], "updates have shape"),
    ("tensor_scatter_nd_update", lambda t, i, u: jg.tensor_scatter_nd_update(t, i, u),
     [np.zeros(4), np.array([[1], [3]], np.int32), np.ones(5)], "updates have shape"),
    ("reshape_like", lambda x, y: jg.ops.apply("reshape_like", x, y),
     [np.zeros(0), np.ones((2, 3))], "reshape_like"),
    ("gather_grad", lambda g, i, x: jg.ops.apply("gather_grad", g, i, x, axis=0),
     [np.zeros((0, 2)), np.array([1, 1, 0], np.int32), np.ones((2, 2))], "do not fit"),
    ("take_along_axis_grad",
     lambda g, i, x: jg.ops.apply("take_along_axis_grad", g, i, x, axis=0),
     [np.zeros((0, 3)), np.zeros((2, 3), np.int32), np.ones((3, 3))], "must match"),
]


@pytest.mark.parametrize("name, fn, args, what", _MISMATCHED, ids=[m[0] for m in _MISMATCHED])
@pytest.mark.parametrize("backend", ["eager"] + BACKENDS + ["cpu-dynamic"])
def test_mismatched_index_and_update_shapes_are_rejected(name, fn, args, what, backend):
    if backend == "eager":
        call = lambda: fn(*map(jg.constant, args))  # noqa: E731
    elif backend == "cpu-dynamic":  # the sizes are known only when the call runs
        sig = [S([None] * (a.ndim - 1) + [a.shape[-1] if a.dtype.kind == "i" else None],
                 jg.as_dtype(a.dtype)) for a in args]  # index tuples' length known
        call = lambda: jg.function(fn, input_signature=sig, backend="cpu")(*args)  # noqa: E731
    else:
        call = lambda: jg.function(fn, backend=backend)(*args)  # noqa: E731
    with pytest.raises(jg.errors.InvalidArgumentError, match=what):
        call()


@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
def test_gather_nd_with_empty_index_tuples_takes_the_whole_tensor(backend):
    x, i = np.arange(6.0).reshape(3, 2), np.zeros((2, 0), np.int32)

    def f(x, i):
        return jg.gather_nd(x, i)

    got = f(jg.constant(x), jg.constant(i)) if backend == "eager" else \
        jg.function(f, backend=backend)(x, i)
    np.testing.assert_array_equal(got.numpy(), np.stack([x, x]))


def test_cpu_scatter_with_index_tuples_of_unknown_length_says_what_to_do():
    f = jg.function(lambda t, i, u: jg.tensor_scatter_nd_update(t, i, u), backend="cpu",
                    input_signature=[S([None], jg.float64), S([None, None], jg.int32),
                                     S([None], jg.float64)])
    with pytest.raises(jg.errors.UnimplementedError, match="last dim of indices"):
        f(np.zeros(4), np.array([[1], [3]], np.int32), np.ones(2))
