"""jg.TensorArray and the functional loops (map_fn, scan, foldl, foldr, vectorized_map):
eager == jg.function (cpu) == interpreter == NumPy, inside AutoGraph loops, explicit
jg.while_loop and jg.cond; float64 gradients against central differences; the cuda backend
on the emulator; in-place writes; the errors a user can cause."""

import collections
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import _Build, cuda_driver
from jitgraph.ir.printer import format_graph
from jitgraph.ops.control import flatten

X = np.arange(12, dtype=np.float32).reshape(4, 3) / 4 - 1


def _leaves(x):
    return [np.asarray(t) for t in flatten(x)[0]]


def _check(fn, args, want, rtol=1e-5, backends=("cpu", "interpreter"), eager=True):
    """fn eagerly and compiled on each backend gives ``want`` (a nest of arrays)."""
    want = _leaves(want)
    results = {"eager": fn(*args)} if eager else {}
    for be in backends:
        results[be] = jg.function(fn, backend=be)(*args)
    for name, got in results.items():
        got = _leaves(got)
        assert len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape, (name, g.shape, w.shape)
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, err_msg=name)


# ----------------------------------------------------------------------------- TensorArray


def ta_for(x):
    n = jg.shape(x)[0]
    ta = jg.TensorArray(jg.float32, size=n)
    for i in jg.range(n):
        ta = ta.write(i, x[i] * 2.0)
    return ta.stack()


def ta_while(x):
    ta = jg.TensorArray(jg.float32, size=x.shape[0], element_shape=[])
    i = jg.constant(0)
    while i < jg.shape(x)[0]:
        ta = ta.write(i, jg.reduce_sum(x[i]))
        i += 1
    return ta.stack(), ta.read(1), ta.size()


def ta_while_loop(x):
    ta = jg.TensorArray(jg.float32, size=4)
    _, ta = jg.while_loop(lambda i, ta: i < 4,
                          lambda i, ta: (i + 1, ta.write(3 - i, x[i] + 1.0)), (0, ta))
    return ta.stack()


def ta_single_loop_var(x):
    ta = jg.TensorArray(jg.float32, size=2, element_shape=[3])
    ta = jg.while_loop(lambda ta: False, lambda ta: ta.write(0, x[0]), ta)
    return ta.write(1, x[1]).stack()


def ta_python_loop(x):
    ta = jg.TensorArray(jg.float32, size=0, dynamic_size=True)
    for i in range(3):  # a Python loop: unrolled, constant indices, the array grows
        ta = ta.write(i, x[i] - 1.0)
    return ta.stack(), ta.size()


def ta_unstack_gather_concat(x):
    ta = jg.TensorArray(jg.float32, size=4, clear_after_read=False).unstack(x)
    total = jg.zeros([3])
    for i in jg.range(ta.size()):
        total += ta.read(i)
    return ta.gather([2, 0]), ta.concat(), total, ta.identity().stack()


def ta_scatter(x):
    ta = jg.TensorArray(jg.float32, size=4, element_shape=[3])
    ta = ta.scatter([3, 0, 1], x[:3])
    return ta.stack()


def ta_cond(x):
    ta = jg.TensorArray(jg.float32, size=2, element_shape=[3])
    if jg.reduce_sum(x) > 0:
        ta = ta.write(0, x[0])
    else:
        ta = ta.write(0, -x[0])
    return ta.write(1, x[1]).stack()


def ta_nested_loops(x):
    outer = jg.TensorArray(jg.float32, size=4)
    for i in jg.range(4):
        inner = jg.TensorArray(jg.float32, size=3)
        for j in jg.range(3):
            inner = inner.write(j, x[i, j] * jg.cast(j, jg.float32))
        outer = outer.write(i, inner.stack())
    return outer.stack()


def ta_break(x):
    ta = jg.TensorArray(jg.float32, size=4, element_shape=[3])
    for i in jg.range(4):
        if jg.reduce_sum(x[i]) > 1.0:
            break
        ta = ta.write(i, x[i])
    return ta.stack()


def ta_lazy_branch(x):
    ta = jg.TensorArray(jg.float32, size=4)  # element shape learned from the write
    for i in jg.range(4):
        if jg.reduce_sum(x[i]) > 0:
            ta = ta.write(i, x[i])
    return ta.stack()


TA_CASES = [
    (ta_for, X * 2),
    (ta_while, (X.sum(1), X[1].sum(), np.int32(4))),
    (ta_while_loop, X[::-1] + 1),
    (ta_single_loop_var, np.stack([np.zeros(3, np.float32), X[1]])),
    (ta_python_loop, (X[:3] - 1, np.int32(3))),
    (ta_unstack_gather_concat, (X[[2, 0]], X.reshape(-1), X.sum(0), X)),
    (ta_scatter, np.stack([X[1], X[2], np.zeros(3), X[0]]).astype(np.float32)),
    (ta_cond, X[:2] * (1 if X.sum() > 0 else np.array([[-1], [1]]))),
    (ta_nested_loops, X * np.arange(3)),
    (ta_lazy_branch, np.where(X.sum(1, keepdims=True) > 0, X, 0)),
    (ta_break, np.where((np.cumsum(X.sum(1) > 1.0) > 0)[:, None], 0, X)),
]


@pytest.mark.parametrize("fn,want", TA_CASES, ids=[f.__name__ for f, _ in TA_CASES])
def test_tensor_array_eager_compiled_interpreter_numpy(fn, want):
    _check(fn, (jg.constant(X),), want)


def test_eager_write_mutates_and_returns_the_array():
    ta = jg.TensorArray(jg.float32, size=2)
    assert ta.write(0, 1.0) is ta
    assert ta.read(0).numpy() == 1.0
    assert ta.read(1).shape == ()  # never written: zeros of the inferred element shape
    assert ta.stack().numpy().tolist() == [0.0, 0.0]  # read(0) cleared the element


def test_element_shape_dtype_and_size_properties():
    ta = jg.TensorArray(jg.float64, size=3, element_shape=[2])
    assert ta.dtype is jg.float64 and ta.element_shape == [2] and not ta.dynamic_size
    assert ta.size().numpy() == 3
    assert ta.stack().shape == (3, 2)
    assert ta.close() is None


def test_empty_stack_with_element_shape():
    for run in (lambda f: f(), lambda f: jg.function(f)()):
        got = run(lambda: jg.TensorArray(jg.float32, size=0, element_shape=[2]).stack())
        assert got.shape == (0, 2)


def test_size_from_a_constant_foldable_range():
    def f(x):
        n = jg.constant(3) + 1
        ta = jg.TensorArray(jg.float32, size=n)
        for i in jg.range(n):
            ta = ta.write(i, x[i])
        return ta.stack()

    _check(f, (jg.constant(X),), X)


# ----------------------------------------------------------------------------- in place


def write_rows(x):
    ta = jg.TensorArray(jg.float32, size=50)
    for i in jg.range(50):
        ta = ta.write(i, x * jg.cast(i, jg.float32))
    return ta.stack()


def test_loop_writes_rows_in_place():
    x = jg.constant(np.ones(100, np.float32))
    graph = jg.function(write_rows).get_concrete_function(x).graph
    steps = _Build(graph).program.steps
    (loop,) = [s for s in steps if s[0] == "while"]
    copies = [s[3] for s in loop[3] if s[0] == "copy"]
    assert all(isinstance(n, int) and n < 50 * 100 * 4 for n in copies), copies  # no buffer
    np.testing.assert_allclose(jg.function(write_rows)(x).numpy(),
                               np.arange(50)[:, None] * np.ones(100))


def keeps_old_buffer(x):
    ta = jg.TensorArray(jg.float32, size=2, element_shape=[3]).write(0, x[0])
    old = ta.stack()
    ta = ta.write(1, x[1])  # `old` is used after the write: the write must copy
    return old, ta.stack()


def reads_old_array_in_loop(x):
    ta = jg.TensorArray(jg.float32, size=4, element_shape=[3], clear_after_read=False)
    seen = jg.zeros([3])
    for i in jg.range(4):
        new = ta.write(i, x[i])
        seen += ta.read(i) + new.read(i) * 0.5  # the old array still has zeros at i
        ta = new
    return seen, ta.stack()


def test_write_copies_when_the_old_buffer_is_still_used():
    _check(keeps_old_buffer, (jg.constant(X),), (np.stack([X[0], np.zeros(3)]), X[:2]))
    # eagerly (as in TensorFlow) a write mutates the array, so `ta` and `new` are one array
    _check(reads_old_array_in_loop, (jg.constant(X),), (X.sum(0) * 0.5, X), eager=False)


# ----------------------------------------------------------------------------- map_fn, scan, folds

Pair = collections.namedtuple("Pair", "a b")


def fn_map(x):
    return jg.map_fn(lambda r: jg.reduce_sum(r * r), x)


def fn_map_nested(x):
    return jg.map_fn(lambda p: {"s": p.a + p.b, "d": (p.a - p.b, p.a[0])}, Pair(x, x * 2.0))


def fn_map_signature(x):
    return jg.map_fn(lambda r: jg.cast(r > 0, jg.int32), x, fn_output_signature=jg.int32)


def fn_vmap(x):
    return jg.vectorized_map(lambda r: r * 3.0, x)


def fn_map_autograph(x):
    def step(r):
        if jg.reduce_sum(r) > 0:
            return r
        return -r

    return jg.map_fn(step, x)


def fn_scan(x):
    return jg.scan(lambda a, r: a * 0.5 + r, x)


def fn_scan_init_reverse(x):
    return jg.scan(lambda a, r: (a[0] + r, a[1] * 2.0), x, reverse=True,
                   initializer=(jg.zeros([3]), jg.constant(1.0)))


def fn_folds(x):
    return (jg.foldl(lambda a, r: a + jg.reduce_sum(r), x, initializer=jg.constant(0.0)),
            jg.foldr(lambda a, r: a * 2.0 + r, x), jg.foldl(lambda a, r: a - r, x))


def _np_scan(fn, x, a, reverse=False):
    out = []
    for r in (x[::-1] if reverse else x):
        a = fn(a, r)
        out.append(a)
    return np.stack(out[::-1] if reverse else out)


def _fold(fn, x, a):
    for r in x:
        a = fn(a, r)
    return a


FN_CASES = [
    (fn_map, (X * X).sum(1)),
    (fn_map_nested, {"s": 3 * X, "d": (-X, X[:, 0])}),
    (fn_map_signature, (X > 0).astype(np.int32)),
    (fn_vmap, 3 * X),
    (fn_map_autograph, np.where(X.sum(1, keepdims=True) > 0, X, -X)),
    (fn_scan, np.concatenate([X[:1], _np_scan(lambda a, r: a * 0.5 + r, X[1:], X[0])])),
    (fn_scan_init_reverse, (np.cumsum(X[::-1], 0)[::-1], 2.0 ** np.arange(4, 0, -1))),
    (fn_folds, (X.sum(), _fold(lambda a, r: a * 2 + r, X[2::-1], X[3]),
                _fold(lambda a, r: a - r, X[1:], X[0]))),
]


@pytest.mark.parametrize("fn,want", FN_CASES, ids=[f.__name__ for f, _ in FN_CASES])
def test_functional_ops_eager_compiled_interpreter_numpy(fn, want):
    _check(fn, (jg.constant(X),), want)


def test_map_fn_is_one_while_loop():
    graph = jg.function(fn_map).get_concrete_function(jg.constant(X)).graph
    assert [op.type for op in graph.ops].count("while_loop") == 1


def test_map_fn_traced_ir():
    f = jg.function(lambda x: jg.map_fn(lambda r: r * 2.0, x))
    graph = f.get_concrete_function(jg.TensorSpec([3, 2])).graph
    want = textwrap.dedent("""
        graph fn(%x: f32[3,2]) -> (f32[3,2])
          %fill: f32[3,2] = fill {dtype=float32, shape=(3, 2), value=0}
          %constant_1: i32[] = constant {value=0}
          %while_loop: i32[], %while_loop:1: f32[3,2] = while_loop %constant_1, %fill {maximum_iterations=3}
            cond(%lv: i32[], %lv_1: f32[3,2]):
              %constant_2: i32[] = constant {value=3}
              %less: bool[] = less %lv, %constant_2
              return %less
            body(%lv_2: i32[], %lv_3: f32[3,2]):
              %gather: f32[2] = gather %x, %lv_2 {axis=0}
              %constant_3: f32[] = constant {value=2.0}
              %multiply_1: f32[2] = multiply %gather, %constant_3
              %constant_4: i32[] = constant {value=1}
              %add: i32[] = add %lv_2, %constant_4
              %reshape: i32[1,1] = reshape %lv_2 {shape=(1, 1)}
              %reshape_1: f32[1,2] = reshape %multiply_1 {shape=(1, 2)}
              %tensor_scatter_nd_update: f32[3,2] = tensor_scatter_nd_update %lv_3, %reshape, %reshape_1
              return %add, %tensor_scatter_nd_update
          return %while_loop:1""").strip()  # noqa: E501
    actual = format_graph(graph, with_loc=False).strip()
    assert actual == want, f"printed IR differs; actual text:\n{actual}"


def test_map_fn_of_no_elements_uses_the_signature():
    empty = jg.zeros([0, 3])
    sig = jg.TensorSpec([3], jg.float32)
    got = jg.map_fn(lambda r: r, empty, fn_output_signature=sig)
    assert got.shape == (0, 3)
    assert jg.function(lambda e: jg.map_fn(lambda r: r * 2.0, e))(empty).shape == (0, 3)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 6), w=st.integers(1, 3), reverse=st.booleans())
def test_scan_and_map_fn_of_generated_sizes(n, w, reverse):
    x = np.random.RandomState(n * 10 + w).randn(n, w).astype(np.float32)

    def f(x):
        s = jg.scan(lambda a, r: a * 0.9 + r, x, initializer=jg.zeros([w]), reverse=reverse)
        return s, jg.map_fn(lambda r: jg.reduce_max(r), x)

    want_s = _np_scan(lambda a, r: a * 0.9 + r, x, np.zeros(w, np.float32), reverse)
    _check(f, (jg.constant(x),), (want_s, x.max(1)), backends=("cpu",))


# ----------------------------------------------------------------------------- gradients

XD = np.random.RandomState(1).randn(4, 3) * 0.5


def loss_ta(x):
    ta = jg.TensorArray(jg.float64, size=4)
    for i in jg.range(4):
        ta = ta.write(i, jg.tanh(x[i] * x[3 - i]))
    return jg.reduce_sum(ta.stack() ** 2) + jg.reduce_sum(ta.read(2) * x[0])


def loss_map(x):
    return jg.reduce_sum(jg.map_fn(lambda r: (jg.sin(r) * r[0], r ** 2), x)[0]) + \
        jg.reduce_sum(jg.map_fn(lambda r: jg.reduce_prod(r), x))


def loss_scan(x):
    s = jg.scan(lambda a, r: jg.tanh(a * r + 0.5), x, initializer=jg.ones([3], jg.float64))
    return jg.reduce_sum(s * s) + jg.foldr(lambda a, r: a * 0.5 + jg.reduce_sum(r * r), x,
                                           initializer=jg.constant(0.0, jg.float64))


@pytest.mark.parametrize("loss", [loss_ta, loss_map, loss_scan], ids=lambda f: f.__name__)
def test_gradients_match_finite_differences(loss):
    x = jg.constant(XD)

    def grad(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = loss(x)
        return tape.gradient(y, x)

    d = np.random.RandomState(2).randn(*XD.shape)
    eps = 1e-6
    fd = (loss(jg.constant(XD + eps * d)).numpy() - loss(jg.constant(XD - eps * d)).numpy()) \
        / (2 * eps)
    for g in (grad(x), jg.function(grad)(x), jg.function(grad, backend="interpreter")(x)):
        np.testing.assert_allclose((g.numpy() * d).sum(), fd, rtol=1e-6)
    np.testing.assert_allclose(jg.grad(jg.function(loss))(x).numpy(), grad(x).numpy(),
                               rtol=1e-9)


# ----------------------------------------------------------------------------- cuda (emulator)


@pytest.fixture
def emulator():
    before = cuda_driver.use("emulator")
    yield
    cuda_driver.use(before)


@pytest.mark.parametrize("fn,want", [TA_CASES[0], FN_CASES[5]], ids=["ta_for", "scan"])
def test_cuda_backend_on_the_emulator(emulator, fn, want):
    got = jg.function(fn, backend="cuda")(jg.constant(X))
    for g, w in zip(_leaves(got), _leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- errors


def _graph_and_eager(fn, *args):
    return [lambda: fn(*args), lambda: jg.function(fn)(*args)]


def write_wrong_dtype(x):
    ta = jg.TensorArray(jg.float32, size=2, name="rows")
    return ta.write(0, jg.cast(x[0], jg.int32)).stack()


def write_wrong_shape(x):
    ta = jg.TensorArray(jg.float32, size=2, name="rows")
    return ta.write(0, x[0]).write(1, x[:2]).stack()


def read_out_of_range(x):
    ta = jg.TensorArray(jg.float32, size=2, name="rows").write(0, x[0])
    return ta.read(5)


def stack_unknown_empty(x):
    return jg.TensorArray(jg.float32, size=0, name="rows").stack()


def write_past_end(x):
    return jg.TensorArray(jg.float32, size=2, name="rows").write(2, x[0]).stack()


@pytest.mark.parametrize("fn,err,words", [
    (write_wrong_dtype, errors.InvalidArgumentError, ["'rows'", "float32", "int32", "jg.cast"]),
    (write_wrong_shape, errors.InvalidArgumentError, ["'rows'", "[2, 3]", "(3,)", "index 1"]),
    (read_out_of_range, errors.OutOfRangeError, ["'rows'", "index 5", "size 2"]),
    (stack_unknown_empty, errors.InvalidArgumentError, ["'rows'", "empty", "element_shape="]),
    (write_past_end, errors.OutOfRangeError, ["'rows'", "index 2", "dynamic_size=True"]),
], ids=lambda v: getattr(v, "__name__", None))
def test_user_errors_name_the_array_and_the_line(fn, err, words):
    for run in _graph_and_eager(fn, jg.constant(X)):
        with pytest.raises(err) as e:
            run()
        msg = str(e.value)
        for w in words + ["test_tensor_array.py"]:
            assert w in msg, (w, msg)


def test_reading_twice_with_clear_after_read_is_an_eager_error():
    ta = jg.TensorArray(jg.float32, size=1, name="once").write(0, 1.0)
    ta.read(0)
    with pytest.raises(errors.InvalidArgumentError, match="'once'.*index 0.*clear_after_read"):
        ta.read(0)


def test_reading_an_unwritten_element_of_unknown_shape():
    ta = jg.TensorArray(jg.float32, size=2, name="rows")
    with pytest.raises(errors.InvalidArgumentError, match="'rows'.*index 1.*element_shape="):
        ta.read(1)


def test_run_time_size_in_a_function_says_what_to_do():
    f = jg.function(lambda n: jg.TensorArray(jg.float32, size=n).stack())
    with pytest.raises(errors.UnimplementedError, match="size.*only known when the function "
                                                        "runs.*Python int"):
        f(jg.constant(3))


def test_map_fn_over_unknown_first_dim_says_what_to_do():
    f = jg.function(lambda x: jg.map_fn(lambda r: r, x),
                    input_signature=[jg.TensorSpec([None, 3], jg.float32)])
    with pytest.raises(errors.UnimplementedError, match="map_fn.*input_signature"):
        f(jg.constant(X))


def test_scan_result_structure_mismatch():
    with pytest.raises(errors.InvalidArgumentError, match="jg.scan: fn returned"):
        jg.function(lambda x: jg.scan(lambda a, r: (a, a), x))(jg.constant(X))


def test_run_time_write_past_the_end_raises_when_the_function_runs():
    def f(x, k):
        ta = jg.TensorArray(jg.float32, size=2, element_shape=[3])
        return ta.write(k, x[0]).stack()

    g = jg.function(f)
    assert g(jg.constant(X), jg.constant(1)).shape == (2, 3)
    with pytest.raises(errors.OutOfRangeError):
        g(jg.constant(X), jg.constant(2))


def dynamic_rows(x):
    ta = jg.TensorArray(jg.float32, size=0, dynamic_size=True, name="grow")
    for i in jg.range(jg.shape(x)[0]):
        ta = ta.write(i, x[i])
    return ta.stack()


def test_dynamic_size_without_a_bound_in_a_function_says_what_to_do():
    assert dynamic_rows(jg.constant(X)).shape == (4, 3)  # eagerly the array grows
    with pytest.raises(errors.UnimplementedError, match="'grow'.*size 0.*upper bound"):
        jg.function(dynamic_rows)(jg.constant(X))


def bounded_rows(x):
    ta = jg.TensorArray(jg.float32, size=4, dynamic_size=True)
    for i in jg.range(jg.shape(x)[0]):
        ta = ta.write(i, x[i])
    return ta.stack()


def test_dynamic_size_with_an_upper_bound_compiles():
    _check(bounded_rows, (jg.constant(X),), X)


def test_returning_the_array_from_a_function_says_what_to_do():
    f = jg.function(lambda x: jg.TensorArray(jg.float32, size=1).write(0, x))
    with pytest.raises(errors.TracingError, match="cannot return a TensorArray.*ta.stack()"):
        f(jg.constant(1.0))


def test_second_derivatives_through_scan():
    def grad_sq(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = loss_scan(x)
        g = tape.gradient(y, x)
        return jg.reduce_sum(g * g)

    def hvp(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            s = grad_sq(x)
        return tape.gradient(s, x)

    d = np.random.RandomState(3).randn(*XD.shape)
    eps = 1e-5
    fd = (grad_sq(jg.constant(XD + eps * d)).numpy() -
          grad_sq(jg.constant(XD - eps * d)).numpy()) / (2 * eps)
    for h in (hvp(jg.constant(XD)), jg.function(hvp)(jg.constant(XD))):
        np.testing.assert_allclose((h.numpy() * d).sum(), fd, rtol=1e-5)
