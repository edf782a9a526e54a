"""Gradients inside graphs: GradientTape in @jg.function, jg.grad / jg.value_and_grad of plain
functions and of jg.functions, gradients through cond and while_loop, the loop stacks.

Every gradient is checked against float64 central finite differences in a random direction,
and traced gradients against the eager tape's, on every available backend."""

import textwrap

import numpy as np
import pytest
from op_cases import CASES

import jitgraph as jg
from jitgraph import backends, errors, passes
from jitgraph.ir.printer import format_graph
from jitgraph.ops import loop_state


def _available(name):
    try:
        backends.get(name)
        return True
    except errors.UnimplementedError:
        return False


BACKENDS = [b for b in ("interpreter", "cpu") if _available(b)]


def _rng(seed=0):
    return np.random.RandomState(seed)


def _t(a):
    return jg.constant(np.asarray(a, dtype=np.float64))


def finite_difference(fn, args, dirs, eps=1e-6):
    """d/dt fn(args + t*dirs) at 0 by central differences (fn returns a float64 scalar)."""
    def at(t):
        return float(fn(*[_t(a + t * d) for a, d in zip(args, dirs, strict=True)]).numpy())

    return (at(eps) - at(-eps)) / (2 * eps)


def directional(grads, dirs):
    return sum(0.0 if g is None else float(np.sum(np.asarray(g) * d))
               for g, d in zip(grads, dirs, strict=True))


def check_fd(scalar_fn, grads, args, seed=0, tol=1e-5):
    """``grads`` (one per arg) agree with finite differences of ``scalar_fn`` at ``args``."""
    rng = _rng(seed)
    dirs = [rng.standard_normal(np.shape(a)) for a in args]
    numeric = finite_difference(scalar_fn, args, dirs)
    analytic = directional(grads, dirs)
    assert abs(numeric - analytic) <= tol * max(1.0, abs(numeric)), (numeric, analytic)


def weighted(fn, w):
    """sum(w * fn(...)) as a scalar function (w a fixed random cotangent)."""
    return lambda *xs: jg.reduce_sum(jg.constant(w) * fn(*xs))


def tape_in_function(fn, backend, autograph=True):
    """A jg.function computing (y, grads of sum(w*y)) with a GradientTape inside."""
    @jg.function(backend=backend, autograph=autograph)
    def step(w, *xs):
        with jg.GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            y = fn(*xs)
        return y, tape.gradient(y, list(xs), output_gradients=w)

    return step


def eager_grads(fn, args, w):
    xs = [_t(a) for a in args]
    with jg.GradientTape() as tape:
        tape.watch(xs)
        y = fn(*xs)
    return tape.gradient(y, xs, output_gradients=jg.constant(w))


def check_traced(fn, args, backend, seed=0, tol=1e-5, autograph=True):
    """Traced tape gradients == eager tape gradients == finite differences == jg.grad of the
    jg.function of sum(w * fn)."""
    args = [np.asarray(a, np.float64) for a in args]
    y0 = fn(*[_t(a) for a in args])
    w = _rng(seed + 1).standard_normal(y0.shape.as_list())
    y, grads = tape_in_function(fn, backend, autograph)(jg.constant(w), *[_t(a) for a in args])
    np.testing.assert_allclose(y.numpy(), y0.numpy(), rtol=1e-10, atol=1e-12)
    for g, e in zip(grads, eager_grads(fn, args, w), strict=True):
        if e is None:  # eager ran one branch; the graph has zeros from the other
            assert g is None or not np.any(g.numpy())
        else:
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-9, atol=1e-12)
    check_fd(weighted(fn, w), grads, args, seed, tol)
    loss = jg.function(weighted(fn, w), backend=backend, autograph=autograph)
    via_grad = jg.grad(loss, argnums=tuple(range(len(args))))(*[_t(a) for a in args])
    for g, h in zip(grads, via_grad, strict=True):  # jg.grad of a jg.function: the same gradients
        if g is None or h is None:
            assert (g if h is None else h) is None or not np.any((g if h is None else h).numpy())
        else:
            np.testing.assert_allclose(h.numpy(), g.numpy(), rtol=1e-9, atol=1e-12)
    return grads


# ----------------------------------------------------------------------------- every op


def _float64_case(c):
    return c.grad and any(np.asarray(a).dtype == np.float64 for a in c.args)


_OP_CASES = [c for c in CASES if _float64_case(c)]


def over_floats(c):
    """(fn of the float64 args only, those args): the other args are fixed constants."""
    fl = [i for i, a in enumerate(c.args) if np.asarray(a).dtype == np.float64]

    def fn(*xs):
        full = [jg.constant(a) for a in c.args]
        for i, x in zip(fl, xs, strict=True):
            full[i] = x
        return c.fn(*full)

    return fn, [c.args[i] for i in fl]


def test_op_cases_cover_the_differentiable_ops():
    from jitgraph.ops.core import REGISTRY

    covered = {c.op for c in _OP_CASES}
    skip_kinds = {"control", "loop_state", "fusion", "backend", "random", "state", "source"}
    zero_grad = {"sign", "floor", "ceil", "round", "floordiv", "stop_gradient",
                 "full_like", "cast"}
    missing = [n for n, op in REGISTRY.items() if op.grad is not None and n not in covered
               and n not in zero_grad and op.kind not in skip_kinds]
    assert missing == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", _OP_CASES, ids=repr)
def test_traced_gradient_of_every_op(c, backend):
    # the cases' lambdas have no control flow; autograph=False keeps this test about gradients
    check_traced(*over_floats(c), backend, autograph=False)


# ----------------------------------------------------------------------------- compositions


def _mlp_loss(x, w1, b1, w2):
    h = jg.tanh(jg.matmul(x, w1) + b1)  # b1 broadcasts over the batch
    return jg.reduce_mean(jg.square(jg.matmul(h, w2, transpose_b=True)), axis=[0, -1])


def _softmax_xent(logits, w):
    labels = jg.constant(np.array([0, 2, 1, 2], np.int32))
    per = jg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits * w)
    return jg.reduce_mean(per) + jg.reduce_sum(jg.nn.softmax(logits)[:, 0])


COMPOSITIONS = {
    "broadcasting": (lambda a, b, c: a * b + c / (1.5 + b * b),
                     [(3, 1, 4), (2, 1), (4,)]),
    "reductions-with-axes": (lambda a: jg.reduce_sum(jg.exp(a), axis=[0, 2], keepdims=True)
                             * jg.reduce_max(a, axis=-1)[:, :, None]
                             + jg.reduce_mean(a, axis=1, keepdims=True), [(2, 3, 4)]),
    "matmul-transposes": (lambda a, b: jg.matmul(a, b, transpose_a=True, transpose_b=True)
                          + jg.transpose(jg.matmul(b, a)),
                          [(3, 2), (4, 3)]),
    "batch-matmul": (lambda a, b: jg.matmul(a, b), [(2, 3, 4), (4, 5)]),
    "mlp": (_mlp_loss, [(5, 3), (3, 4), (4,), (2, 4)]),
    "softmax-cross-entropy": (_softmax_xent, [(4, 3), (3,)]),
    "shared-subexpression": (lambda a: jg.sin(a) * jg.sin(a) + jg.sqrt(jg.square(a) + 1.0),
                             [(6,)]),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_traced_gradient_of_compositions(name, backend):
    fn, shapes = COMPOSITIONS[name]
    rng = _rng(3)
    grads = check_traced(fn, [rng.uniform(-1, 1, s) for s in shapes], backend)
    for g, s in zip(grads, shapes, strict=True):  # gradients reduce to the input's shape
        assert tuple(g.shape) == s


# ----------------------------------------------------------------------------- cond


def _branchy(x, y):
    return jg.cond(jg.reduce_sum(x) > 0.0,
                   lambda: jg.reduce_sum(jg.sin(x) * y),
                   lambda: jg.reduce_sum(x * x) + 2.0)  # y unused in this branch


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_gradient_each_branch(sign, backend):
    x = sign * np.array([0.3, 0.9, 0.5])
    y = np.array([1.5, -0.4, 0.7])
    gx, gy = check_traced(_branchy, [x, y], backend)
    w = _rng(1).standard_normal()  # check_traced's cotangent
    np.testing.assert_allclose(gy.numpy(), w * np.sin(x) if sign > 0 else 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cond_with_several_outputs_an_outer_value_and_a_nested_cond(backend):
    def fn(x, y):
        a, b, k = jg.cond(x[0] < y[0],
                          lambda: (x * y, y, jg.constant(1)),
                          lambda: (jg.cond(x[1] > 0.0, lambda: jg.exp(x), lambda: x * 3.0),
                                   x + y, jg.constant(2)))
        return a * 2.0 + jg.cos(b) * jg.cast(k, jg.float64)

    for x0 in (-0.5, 0.5):
        for x1 in (-0.2, 0.2):
            check_traced(fn, [np.array([x0, x1]), np.array([0.1, -0.3])], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cond_capture_that_no_branch_differentiates_is_none(backend):
    @jg.function(backend=backend)
    def fn(x, y):
        with jg.GradientTape() as tape:
            tape.watch([x, y])
            z = jg.cond(x > 0.0, lambda: x * 2.0, lambda: x - jg.stop_gradient(y))
        return tape.gradient(z, [x, y])

    gx, gy = fn(_t(-1.0), _t(3.0))
    assert float(gx) == 1.0 and gy is None


# ----------------------------------------------------------------------------- while_loop


def newton_sqrt(a):
    """sqrt(a) by Newton iterations until |y^2 - a| <= 1e-10 a: the trip count depends on a."""
    y = jg.while_loop(lambda y: jg.reduce_max(jg.abs(y * y - a) / a) > 1e-10,
                      lambda y: [0.5 * (y + a / y)], [a + 1.0])[0]
    return y


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_loop_gradient_with_data_dependent_trip_count(backend):
    trips = []
    for a in ([2.0, 3.0], [40.0, 0.5], [1e4, 7.0]):
        a = np.array(a)
        (g,) = check_traced(newton_sqrt, [a], backend)
        w = _rng(1).standard_normal(2)  # check_traced's cotangent
        np.testing.assert_allclose(g.numpy(), w * 0.5 / np.sqrt(a), rtol=1e-6)
        trips.append(_newton_trips(a))
    assert len(set(trips)) == 3  # the inputs really need different trip counts


def _newton_trips(a):
    y, n = a + 1.0, 0
    while np.max(np.abs(y * y - a) / a) > 1e-10:
        y, n = 0.5 * (y + a / y), n + 1
    return n


def _power_loop(x, w):
    """x*w^k summed over k until the running term is small; carries an int counter."""
    def body(k, term, acc):
        term = term * w
        return k + 1, term, acc + jg.sin(term)

    k, _, acc = jg.while_loop(lambda k, term, acc: jg.reduce_max(jg.abs(term)) > 0.05,
                              body, [jg.constant(0), x, jg.zeros_like(x)])
    return acc * jg.cast(k, jg.float64)


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_loop_gradient_wrt_captured_values_and_int_loop_vars(backend):
    check_traced(_power_loop, [np.array([0.8, -0.6]), np.array([0.7, 0.5])], backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_loop_maximum_iterations_bounds_the_gradient(backend):
    def fn(x):
        return jg.while_loop(lambda v: v[0] < 1e9, lambda v: [v * 1.5 + jg.sin(v)], [x],
                             maximum_iterations=3)[0]

    x = np.array([0.3, 0.2])
    check_traced(fn, [x], backend)
    v = x.copy()
    for _ in range(3):
        v = v * 1.5 + np.sin(v)
    np.testing.assert_allclose(fn(_t(x)).numpy(), v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_while_loops_and_cond_in_a_body(backend):
    def fn(x, c):
        def outer(i, v):
            inner = jg.while_loop(lambda j, u: j < i, lambda j, u: (j + 1, jg.tanh(u * c) + 0.1),
                                  [jg.constant(0), v])[1]
            return i + 1, jg.cond(jg.reduce_sum(inner) > 0.0, lambda: inner * c,
                                  lambda: inner - c)

        return jg.while_loop(lambda i, v: i < 4, outer, [jg.constant(0), x])[1]

    check_traced(fn, [np.array([0.4, -0.3, 0.9]), np.array([1.1, 0.8, -0.7])], backend)


def _range_sum(x, n):
    s = jg.zeros_like(x)
    for i in jg.range(n):  # AutoGraph: a tensor n makes this a while_loop
        s = s + jg.sin(x * jg.cast(i + 1, jg.float64))
    return s


def _range_sum_direct(x, n):
    return jg.while_loop(lambda i, s: i < n,
                         lambda i, s: (i + 1, s + jg.sin(x * jg.cast(i + 1, jg.float64))),
                         [jg.constant(0), jg.zeros_like(x)])[1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [_range_sum, _range_sum_direct], ids=["autograph", "while_loop"])
def test_for_over_tensor_range(fn, backend):
    x = np.array([0.3, -1.2])

    @jg.function(backend=backend)
    def grad_at(x, n):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = jg.reduce_sum(fn(x, n))
        return tape.gradient(y, x)

    for n in (0, 1, 5):
        want = sum((i + 1) * np.cos(x * (i + 1)) for i in range(n)) + 0 * x
        np.testing.assert_allclose(grad_at(_t(x), jg.constant(n)).numpy(), want, rtol=1e-12)
    assert grad_at.experimental_get_tracing_count() == 1  # n is a tensor: one trace
    check_fd(lambda x: jg.reduce_sum(fn(x, jg.constant(4))), [grad_at(_t(x), jg.constant(4))],
             [x])


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_wrt_variables_read_inside_cond_and_loop(backend):
    w = jg.Variable(np.array([0.5, -0.2]))

    @jg.function(backend=backend)
    def fn(x):
        with jg.GradientTape() as tape:
            y = jg.cond(x > 0.0, lambda: jg.reduce_sum(w * w) * x, lambda: x)
            z = jg.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * w + 1.0),
                              [jg.constant(0), jg.ones_like(w)])[1]
            loss = y + jg.reduce_sum(z)
        return tape.gradient(loss, w)

    wv = w.numpy()
    dz = 1 + 2 * wv + 3 * wv ** 2  # d/dw of w^3 + w^2 + w + 1
    np.testing.assert_allclose(fn(_t(2.0)).numpy(), 2 * wv * 2.0 + dz)
    np.testing.assert_allclose(fn(_t(-2.0)).numpy(), dz)


# ----------------------------------------------------------------------------- jg.grad


def _loss(x, w, k):
    return jg.reduce_sum(jg.tanh(x * w) * x) * jg.cast(k, jg.float64)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_a_function_is_a_function_with_forward_and_gradient_in_one_graph(backend):
    f = jg.function(_loss, backend=backend)
    df = jg.grad(f, argnums=(0, 1, 2))
    assert isinstance(df, type(f))
    x, w, k = _rng().uniform(-1, 1, 4), _rng(1).uniform(-1, 1, 4), jg.constant(3)
    gx, gw, gk = df(_t(x), _t(w), k)
    assert gk is None  # integer argument
    eager = jg.grad(_loss, argnums=(0, 1))(_t(x), _t(w), k)
    np.testing.assert_allclose(gx.numpy(), eager[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), eager[1].numpy(), rtol=1e-12)
    check_fd(lambda x, w: _loss(x, w, k), [gx, gw], [x, w])
    graph = df.get_concrete_function(_t(x), _t(w), k).graph
    types = [op.type for op in graph.get_operations()]
    assert "tanh" in types and types.count("tanh") == 1  # one forward, gradient reuses it
    df(_t(x + 1.0), _t(w), k)
    assert df.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_and_grad_with_aux_and_unconnected_argument(backend):
    @jg.function(backend=backend)
    def f(x, unused):
        y = jg.reduce_sum(jg.exp(x))
        return y, {"mean": jg.reduce_mean(x)}

    vg = jg.value_and_grad(f, argnums=(0, 1), has_aux=True)
    x = np.array([0.1, -0.4, 0.8])
    (y, aux), (gx, gu) = vg(_t(x), _t(2.0))
    np.testing.assert_allclose(y.numpy(), np.exp(x).sum())
    np.testing.assert_allclose(aux["mean"].numpy(), x.mean())
    np.testing.assert_allclose(gx.numpy(), np.exp(x))
    assert gu is None
    g, aux = jg.grad(f, has_aux=True)(_t(x), _t(2.0))
    np.testing.assert_allclose(g.numpy(), np.exp(x))


def test_grad_of_plain_function_runs_eagerly_and_inside_a_trace():
    df = jg.grad(lambda x, y: x * x * y, argnums=1)
    assert float(df(3.0, 2.0)) == 9.0  # Python numbers become tensors

    @jg.function(backend="interpreter")
    def g(x):
        return df(x, x)

    np.testing.assert_allclose(g(_t(3.0)).numpy(), 9.0)
    assert any(op.type == "multiply" for op in g.get_concrete_function(_t(3.0)).graph.ops)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_grad_matches_finite_differences(backend):
    def f(x):
        return jg.reduce_sum(jg.sin(x) * x * x + jg.exp(-x))

    dfx = jg.grad(jg.function(f, backend=backend))
    d2 = jg.grad(lambda x: jg.reduce_sum(dfx.python_function(x) * jg.constant(v)))
    x, v = np.array([0.3, -1.1, 0.7]), np.array([0.5, -2.0, 1.0])
    hv = jg.function(d2, backend=backend)(_t(x))  # Hessian-vector product, diagonal here
    check_fd(lambda x: jg.reduce_sum(jg.grad(f)(x) * jg.constant(v)), [hv], [x])
    dd = jg.grad(jg.grad(jg.function(lambda x: jg.sin(x) * x * x, backend=backend)))
    np.testing.assert_allclose(dd(_t(0.7)).numpy(),
                               2 * np.sin(0.7) + 4 * 0.7 * np.cos(0.7) - 0.49 * np.sin(0.7))


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_derivative_through_cond(backend):
    def f(x):
        return jg.cond(x > 0.0, lambda: x * x * x, lambda: jg.sin(x))

    dd = jg.grad(jg.grad(jg.function(f, backend=backend)))
    np.testing.assert_allclose(dd(_t(0.5)).numpy(), 3.0)
    np.testing.assert_allclose(dd(_t(-0.5)).numpy(), -np.sin(-0.5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_derivative_through_while_loop(backend):
    def f(x):
        return jg.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, jg.sin(y) * x),
                             [jg.constant(0), x])[1]

    d1 = jg.grad(f)
    dd = jg.function(jg.grad(d1), backend=backend)
    x = 0.8
    check_fd(lambda x: d1(x), [dd(_t(x))], [np.float64(x)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_gradient_and_stop_gradient_inside_graphs(backend):
    @jg.custom_gradient
    def clipped_identity(x):
        return jg.identity(x), lambda dy: jg.clip_by_value(dy, -1.0, 1.0)

    @jg.function(backend=backend)
    def f(x, y):
        with jg.GradientTape() as tape:
            tape.watch([x, y])
            z = jg.reduce_sum(clipped_identity(x * 5.0)) + jg.reduce_sum(jg.stop_gradient(y) * y)
        return tape.gradient(z, [x, y])

    gx, gy = f(_t([1.0, 2.0]), _t([3.0, -4.0]))
    np.testing.assert_allclose(gx.numpy(), [5.0, 5.0])  # clip(1) * 5
    np.testing.assert_allclose(gy.numpy(), [3.0, -4.0])


def test_grad_errors_name_the_function_the_problem_and_the_line():
    here = r"\(test_autodiff_graph.py:\d+\)"
    with pytest.raises(TypeError, match=r"jg.grad\(vec\).*scalar.*shape \[3\].*reduce_sum.*"
                                        + here):
        def vec(x):
            return x * 2.0
        jg.grad(vec)(_t([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match=r"argnums=\(0, 2\).*2 positional arguments.*" + here):
        jg.value_and_grad(lambda a, b: a * b, argnums=(0, 2))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums must be a non-negative int.*" + here):
        jg.grad(lambda a: a, argnums=-1)
    with pytest.raises(TypeError, match="has_aux=True.*pair.*" + here):
        jg.grad(lambda a: a * a, has_aux=True)(1.0)


def test_while_loop_gradient_of_a_loop_var_that_changes_shape_is_a_clear_error():
    @jg.function(backend="interpreter")
    def f(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = jg.while_loop(lambda v: jg.size(v) < 8, lambda v: [jg.concat([v, v], 0)], [x],
                              shape_invariants=[jg.TensorShape([None])])[0]
            loss = jg.reduce_sum(y)
        return tape.gradient(loss, x)

    with pytest.raises(errors.UnimplementedError,
                       match=r"loop var 0 is f64\[2\].*may change shape.*test_autodiff_graph"):
        f(_t([1.0, 2.0]))


# ----------------------------------------------------------------------------- golden IR


def test_golden_gradient_graph_after_passes_has_no_duplicated_forward_work():
    @jg.function(backend="interpreter")
    def loss(x, w):
        return jg.reduce_sum(jg.tanh(jg.matmul(x, w)))

    cf = jg.value_and_grad(loss, argnums=1).get_concrete_function(
        jg.TensorSpec([4, 3], jg.float32), jg.TensorSpec([3, 2], jg.float32))
    actual = format_graph(passes.optimize(cf.graph, verify=True), with_loc=False)
    assert actual == textwrap.dedent("""\
        graph value_and_grad_loss(%x: f32[4,3], %w: f32[3,2]) -> (f32[], f32[3,2])
          %matmul: f32[4,2] = matmul %x, %w {transpose_a=False, transpose_b=False}
          %tanh: f32[4,2] = tanh %matmul
          %reduce_sum: f32[] = reduce_sum %tanh {axis=(0, 1), keepdims=False}
          %constant_1: f32[] = constant {value=1.0}
          %multiply: f32[4,2] = multiply %tanh, %tanh
          %subtract: f32[4,2] = subtract %constant_1, %multiply
          %matmul_2: f32[3,2] = matmul %x, %subtract {transpose_a=True, transpose_b=False}
          return %reduce_sum, %matmul_2"""), actual


LOOPS = {"newton": (newton_sqrt, [np.array([2.0, 0.3])]),
         "range": (lambda x: _range_sum_direct(x, jg.constant(3)), [np.array([0.2, -0.6])]),
         "power": (_power_loop, [np.array([0.8, -0.6]), np.array([0.7, 0.5])])}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_loop_gradient_graphs_survive_the_passes(name):
    """The optimized gradient graph verifies, keeps its stacks and computes what the traced
    one does."""
    from jitgraph.interpreter import interpret

    fn, args = LOOPS[name]
    feeds = [np.ones(2)] + args
    graph = tape_in_function(fn, "interpreter").get_concrete_function(
        *[_t(a) for a in feeds]).graph
    optimized = passes.optimize(graph, verify=True)
    for got, want in zip(interpret(optimized, feeds), interpret(graph, feeds), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert {"stack_write", "stack_read"} <= {op.type for op in optimized.walk()}


def _rnn(x, w):
    """tanh(h @ w + x[i]) over the rows of x: a loop body with a matmul."""
    def body(i, h):
        return i + 1, jg.tanh(jg.matmul(h, w) + x[i])

    h0 = jg.zeros_like(x[0])
    return jg.while_loop(lambda i, h: i < x.shape[0], body, [jg.constant(0), h0])[1]


def _loops(graph):
    return [op for op in graph.ops if op.type == "while_loop"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_loop_gradient_runs_the_body_forward_once_and_keeps_its_matmuls(backend):
    """The saving loop stands for the forward loop, which keeps only its trip count; the
    reverse loop reads the body's matmul results from a stack instead of recomputing them:
    one forward matmul and the two of its gradient, where there were five."""
    args = [_rng(2).standard_normal((5, 2, 3)), _rng(3).standard_normal((3, 3)) * 0.5]
    check_traced(_rnn, args, backend)
    graph = tape_in_function(_rnn, backend).get_concrete_function(
        _t(np.ones((2, 3))), *[_t(a) for a in args]).graph
    optimized = passes.optimize(graph, verify=True)
    forward, saving, reverse = _loops(optimized)
    assert not [op for op in forward.subgraphs[1].walk() if op.type not in
                ("placeholder", "add", "constant")]  # a counter
    matmuls = [op for op in optimized.walk() if op.type == "matmul"]
    assert len(matmuls) == 3
    assert "stack_read" in {op.type for op in reverse.subgraphs[1].ops}


@pytest.mark.parametrize("backend", BACKENDS)
def test_loop_gradient_keeps_a_forward_loop_with_effects(backend):
    """A body that draws random numbers: the replays would draw others, so the forward loop
    stays the forward pass (and the gradient the replays' derivative)."""
    def fn(x):
        def body(i, h):
            return i + 1, h * x + jg.random.uniform([2], dtype=jg.float64) * 0.0
        return jg.while_loop(lambda i, h: i < 3, body, [jg.constant(0), x])[1]

    x = np.array([0.5, -1.5])
    y, (g,) = tape_in_function(fn, backend)(jg.constant(np.ones(2)), _t(x))
    np.testing.assert_allclose(y.numpy(), x ** 4)
    np.testing.assert_allclose(g.numpy(), 4 * x ** 3)
    graph = tape_in_function(fn, backend).get_concrete_function(
        _t(np.ones(2)), _t(x)).graph
    forward = _loops(passes.optimize(graph, verify=True))[0]
    assert "random_uniform" in {op.type for op in forward.subgraphs[1].walk()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_cond_gradient_with_a_random_op_in_a_branch(backend):
    """The random generator's state is read in the branch: it gets no gradient (it used to
    be summed as one)."""
    def fn(x):
        return jg.cond(jg.reduce_sum(x) > 0.0,
                       lambda: x * x + jg.random.normal([2], dtype=jg.float64) * 0.0,
                       lambda: -x)

    x = np.array([0.5, 1.5])
    y, (g,) = tape_in_function(fn, backend)(jg.constant(np.ones(2)), _t(x))
    np.testing.assert_allclose(y.numpy(), x * x)
    np.testing.assert_allclose(g.numpy(), 2 * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_persistent_tape_takes_two_loop_gradients(backend):
    @jg.function(backend=backend)
    def f(x, w):
        with jg.GradientTape(persistent=True) as tape:
            tape.watch([x, w])
            y = jg.reduce_sum(_rnn(x, w))
            z = jg.reduce_sum(jg.square(_rnn(x, w)))
        return y, z, tape.gradient(y, w), tape.gradient(z, [x, w])

    x, w = _rng(4).standard_normal((4, 2, 3)), _rng(5).standard_normal((3, 3)) * 0.5
    y, z, gy, (gzx, gzw) = f(_t(x), _t(w))
    for fn, got in ((lambda x, w: jg.reduce_sum(_rnn(x, w)), [None, gy]),
                    (lambda x, w: jg.reduce_sum(jg.square(_rnn(x, w))), [gzx, gzw])):
        with jg.GradientTape() as tape:
            xt, wt = _t(x), _t(w)
            tape.watch([xt, wt])
            out = fn(xt, wt)
        for g, e in zip(got, tape.gradient(out, [xt, wt]), strict=True):
            if g is not None:
                np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10)
    np.testing.assert_allclose(y.numpy(), float(jg.reduce_sum(_rnn(_t(x), _t(w)))))


# ----------------------------------------------------------------------------- loop stacks


def test_stack_ops_match_numpy_eagerly_and_traced():
    rows = _rng().standard_normal((4, 2, 3))

    def fill(rows_t):
        buf = loop_state.stack_alloc(jg.shape(rows_t)[0], rows_t[0])
        for i in range(4):
            buf = loop_state.stack_write(buf, i, rows_t[3 - i])
        return buf, loop_state.stack_read(buf, 1)

    for run in (fill, jg.function(fill, backend="interpreter", autograph=False)):
        buf, row = run(jg.constant(rows))
        np.testing.assert_array_equal(buf.numpy(), rows[::-1])
        np.testing.assert_array_equal(row.numpy(), rows[2])
    assert loop_state.stack_alloc(0, jg.constant(1.0)).shape == (0,)


def test_stack_op_gradients_match_finite_differences():
    def fn(buf, x):
        b = loop_state.stack_write(buf, 2, jg.sin(x))
        return jg.reduce_sum(loop_state.stack_read(b, 2) * loop_state.stack_read(b, 0) + b * b)

    args = [_rng().standard_normal((3, 2)), _rng(1).standard_normal(2)]
    check_traced(fn, args, "interpreter")


def test_stack_op_errors_name_the_op_and_the_row():
    buf = loop_state.stack_alloc(2, jg.constant([1.0, 2.0]))
    with pytest.raises(errors.OutOfRangeError, match="stack_read: row 2 is out of range for a "
                                                     "stack of 2 rows"):
        loop_state.stack_read(buf, 2)
    with pytest.raises(errors.OutOfRangeError, match="stack_write: row -1"):
        loop_state.stack_write(buf, -1, jg.constant([0.0, 0.0]))
    with pytest.raises(errors.InvalidArgumentError, match=r"stack_write: a row of a f32\[2,2\] "
                                                          r"stack must be f32\[2\], got f64"):
        loop_state.stack_write(buf, 0, _t([0.0, 0.0]))
    with pytest.raises(errors.InvalidArgumentError, match="row index must be an integer scalar"):
        loop_state.stack_read(buf, 0.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_keeps_the_input_signature_and_converts_python_if_on_tensors(backend):
    @jg.function(input_signature=[jg.TensorSpec([None], jg.float64)], backend=backend)
    def f(x):
        if jg.reduce_sum(x) > 0:  # AutoGraph turns this into a cond
            y = jg.reduce_sum(x * x)
        else:
            y = jg.reduce_sum(jg.sin(x))
        return y

    g = jg.grad(f)
    np.testing.assert_allclose(g(_t([1.0, 2.0])).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(g(_t([-1.0, -2.0, 0.5])).numpy(), np.cos([-1.0, -2.0, 0.5]))
    assert g.experimental_get_tracing_count() == 1
    assert g.input_signature == f.input_signature


@pytest.mark.parametrize("backend", BACKENDS)
def test_rnn_training_step_over_a_tensor_length_matches_eager(backend):
    """A recurrent net unrolled by `for t in jg.range(T)`: gradients w.r.t. Variables read in
    the loop body, then an SGD update, equal eager execution step for step."""
    rng = np.random.default_rng(0)
    xs = jg.constant(rng.standard_normal((12, 4, 3)))

    def make(w0, u0):
        w, u = jg.Variable(w0), jg.Variable(u0)

        def step(xs, length):
            with jg.GradientTape() as tape:
                h = jg.zeros((4, 5), dtype=jg.float64)
                for t in jg.range(length):
                    h = jg.tanh(jg.matmul(h, w) + jg.matmul(xs[t], u))
                loss = jg.reduce_sum(h * h)
            gw, gu = tape.gradient(loss, [w, u])
            w.assign_sub(0.1 * gw)
            u.assign_sub(0.1 * gu)
            return loss

        return step, w, u

    w0, u0 = rng.standard_normal((5, 5)) * 0.4, rng.standard_normal((3, 5)) * 0.4
    eager, we, ue = make(w0, u0)
    step, wc, uc = make(w0, u0)
    compiled = jg.function(step, backend=backend)
    for length in (12, 7, 12):
        np.testing.assert_allclose(compiled(xs, jg.constant(length)).numpy(),
                                   eager(xs, jg.constant(length)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(wc.numpy(), we.numpy(), rtol=1e-10)
    np.testing.assert_allclose(uc.numpy(), ue.numpy(), rtol=1e-10)
    assert compiled.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_persistent_tape_differentiates_a_loop_twice_with_one_counter(backend):
    @jg.function(backend=backend)
    def f(x):
        with jg.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = newton_sqrt(x)
            z = y * y
        return tape.gradient(y, x), tape.gradient(z, x)

    x = np.array([2.0, 9.0])
    g1, g2 = f(_t(x))
    np.testing.assert_allclose(g1.numpy(), 0.5 / np.sqrt(x), rtol=1e-8)
    np.testing.assert_allclose(g2.numpy(), [1.0, 1.0], rtol=1e-8)
    loop = [op for op in f.get_concrete_function(_t(x)).graph.ops if op.type == "while_loop"][0]
    assert len(loop.outputs) == 2  # the loop var and one trip counter shared by both gradients


class _Quadratic(jg.Module):
    def __init__(self, backend):
        super().__init__()
        self.w = jg.Variable(np.array([1.0, -2.0, 0.5]))
        self.f = jg.function(self._f, backend=backend)  # jg.function of a bound method

    def _f(self, x, scale):
        return jg.reduce_sum(self.w * jg.sin(x) * x) * scale

    @jg.function
    def method(self, x, scale):
        return self._f(x, scale)

    @jg.function(input_signature=[jg.TensorSpec([3], jg.float64),
                                  jg.TensorSpec([], jg.float64)])
    def with_signature(self, x, scale):
        return self._f(x, scale)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_of_jg_function_methods_binds_the_object(backend):
    m = _Quadratic(backend)
    x, s = _rng().uniform(-1, 1, 3), 1.5
    want = m._f(_t(x), _t(s))
    for fn in (m.method, m.with_signature, m.f, m._f, jg.function(m.method, backend=backend)):
        value, (gx, gs) = jg.value_and_grad(fn, argnums=(0, 1))(_t(x), _t(s))
        np.testing.assert_allclose(value.numpy(), want.numpy(), rtol=1e-12)
        check_fd(m._f, [gx, gs], [x, np.asarray(s)])
        np.testing.assert_allclose(jg.grad(fn)(_t(x), _t(s)).numpy(), gx.numpy(), rtol=1e-12)
    hess_v = jg.grad(lambda x: jg.reduce_sum(jg.grad(m.method)(x, _t(s)) * x))(_t(x))
    check_fd(lambda x: jg.reduce_sum(jg.grad(m._f)(x, _t(s)) * x), [hess_v], [x])
    m.w.assign([0.0, 0.0, 1.0])  # the graph reads the object's variables at each call
    np.testing.assert_allclose(jg.grad(m.method)(_t(x), _t(s)).numpy(),
                               [0.0, 0.0, s * (np.sin(x[2]) + x[2] * np.cos(x[2]))],
                               rtol=1e-12)
