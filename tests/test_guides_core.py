"""The code of TensorFlow's core guides (tensors, variables, autodiff, tf.function, modules,
training loops, slicing, random numbers), written against jitgraph: each snippet checks
NumPy-reference numbers that always run, runs eagerly and inside ``jg.function`` on the
interpreter and cpu backends where the guide does, and is compared with TensorFlow when it
is installed."""

import numpy as np
import pytest

import jitgraph as jg

BACKENDS = ["interpreter", "cpu"]


def _tf():
    return pytest.importorskip("tensorflow")


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# -- "Introduction to gradients" / "Advanced automatic differentiation"


def test_gradient_of_a_variable_target_is_one():
    v0, v1 = jg.Variable(2.0), jg.Variable(2.0)
    with jg.GradientTape(persistent=True) as tape:
        result = v0  # the guide's `if x > 0.0: result = v0`
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None
    with jg.GradientTape() as tape:
        y = v0 * 3.0
    assert [float(g) for g in tape.gradient([y, v0], [v0])] == [4.0]


def test_unconnected_gradients_enum():
    x, y = jg.Variable([2.0, 2.0]), jg.Variable(3.0)
    with jg.GradientTape(persistent=True) as tape:
        z = y ** 2
    assert tape.gradient(z, x) is None
    _close(tape.gradient(z, x, unconnected_gradients=jg.UnconnectedGradients.ZERO), [0, 0])
    _close(tape.gradient(z, x, unconnected_gradients="zero"), [0, 0])
    with pytest.raises(ValueError, match="unconnected_gradients must be"):
        tape.gradient(z, x, unconnected_gradients="zeros")


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_custom_gradient_returning_its_input(mode):
    @jg.custom_gradient
    def clip_gradients(y):
        def backward(dy):
            return jg.clip_by_norm(dy, 0.5)
        return y, backward

    def f(x):
        with jg.GradientTape() as t:
            t.watch(x)
            out = clip_gradients(x * x)
        return t.gradient(out, x)

    if mode != "eager":
        f = jg.function(f, backend=mode)
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    # dy = ones(2, 2) has norm 2: clipped to 0.25 each, times d(x*x)/dx = 2x
    _close(f(jg.constant(x)), 0.25 * 2 * x)


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_custom_gradient_with_variables(mode):
    w = jg.Variable(2.0)

    @jg.custom_gradient
    def f(x):
        def grad(dy, variables=None):
            assert variables is not None and len(variables) == 1
            return dy * 3.0, [dy * 7.0]
        return x * w * 3.0, grad

    def run(x):
        with jg.GradientTape() as g:
            g.watch(x)
            y = f(x)
        return g.gradient(y, [x, w])

    if mode != "eager":
        run = jg.function(run, backend=mode)
    gx, gw = run(jg.constant(1.0))
    assert float(gx) == 3.0 and float(gw) == 7.0


def _jac_case():
    rs = np.random.RandomState(0)
    return rs.randn(3, 2).astype(np.float32), rs.randn(2, 4).astype(np.float32)


def _elu_jac_reference(x, w):
    # y[i, k] = elu(sum_j x[i, j] w[j, k]); d y[i, k] / d x[i', j] = [i == i'] elu'(.) w[j, k]
    z = x @ w
    d = np.where(z > 0, 1.0, np.exp(z)).astype(np.float32)
    jac = np.zeros((3, 4, 3, 2), np.float32)
    for i in range(3):
        jac[i, :, i, :] = d[i][:, None] * w.T
    return jac


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_jacobian_and_batch_jacobian(mode):
    xv, wv = _jac_case()

    def run(x, w):
        with jg.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = jg.nn.elu(x @ w)
        return tape.jacobian(y, x), tape.batch_jacobian(y, x)

    if mode != "eager":
        run = jg.function(run, backend=mode)
    j, bj = run(jg.constant(xv), jg.constant(wv))
    ref = _elu_jac_reference(xv, wv)
    _close(j, ref)
    assert bj.shape == (3, 4, 2)
    _close(bj, np.stack([ref[i, :, i, :] for i in range(3)]))


def test_jacobian_on_a_non_persistent_tape_once():
    x = jg.linspace(-10.0, 10.0, 21)
    delta = jg.Variable(0.0)
    with jg.GradientTape() as tape:
        y = jg.nn.sigmoid(x + delta)
    j = tape.jacobian(y, delta, experimental_use_pfor=False, parallel_iterations=4)
    s = 1 / (1 + np.exp(-np.linspace(-10, 10, 21)))
    _close(j, s * (1 - s))
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.jacobian(y, delta)


def test_hessian_matches_finite_differences():
    rs = np.random.RandomState(1)
    x = jg.constant(rs.randn(3, 2))
    w = jg.Variable(rs.randn(2, 2))

    def loss(wv):
        return np.sum(1 / (1 + np.exp(-(np.asarray(x) @ wv))))

    with jg.GradientTape() as t2:
        with jg.GradientTape() as t1:
            y = jg.reduce_sum(jg.nn.sigmoid(x @ w))
        g = t1.gradient(y, w)
    h = np.asarray(t2.jacobian(g, w)).reshape(4, 4)
    eps, w0 = 1e-4, np.asarray(w)
    fd = np.zeros((4, 4))
    for a in range(4):
        for b in range(4):
            ea, eb = np.eye(4)[a].reshape(2, 2) * eps, np.eye(4)[b].reshape(2, 2) * eps
            fd[a, b] = (loss(w0 + ea + eb) - loss(w0 + ea - eb) - loss(w0 - ea + eb)
                        + loss(w0 - ea - eb)) / (4 * eps * eps)
    _close(h, fd, 1e-5)


def test_batch_jacobian_errors_name_the_shapes():
    x = jg.constant(np.ones((3, 2), np.float32))
    with jg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = jg.reduce_sum(x)
        z = jg.ones([2, 1]) * jg.reduce_sum(x)
    with pytest.raises(jg.errors.InvalidArgumentError, match="batch dimension"):
        tape.batch_jacobian(y, x)
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"same batch size.*\[2, 1\]"):
        tape.batch_jacobian(z, x)


def test_autodiff_guides_against_tensorflow():
    tf = _tf()
    xv, wv = _jac_case()
    out = {}
    for m in (jg, tf):
        with m.GradientTape(persistent=True) as tape:
            x = m.constant(xv)
            tape.watch(x)
            y = m.nn.elu(x @ m.constant(wv))
        out[m.__name__] = [tape.jacobian(y, x), tape.batch_jacobian(y, x)]
    for a, b in zip(out["jitgraph"], out["tensorflow"]):
        _close(a, b.numpy())


# -- "Tensor slicing"

T3 = np.array([[[1, 3, 5, 7], [9, 11, 13, 15]], [[17, 19, 21, 23], [25, 27, 29, 31]]], np.int32)


def _slicing_snippets(t3, t5, t10):
    return [
        jg.slice(t3, begin=[1, 1, 0], size=[1, 1, 2]),
        jg.slice(t3, [0, 1, 1], [-1, 1, -1]),
        jg.strided_slice(t3, [0, 0, 0], [2, 2, 4], [1, 1, 2]),
        jg.strided_slice(t3, [1, -1, 0], [2, -3, 3], [1, -1, 1]),
        jg.strided_slice(t3, [1, 0, 5], [0, 2, 1], [1, 1, -2], begin_mask=2, end_mask=1),
        jg.strided_slice(t3, [0, 1, 0], [1, 2, 1], ellipsis_mask=4, new_axis_mask=2,
                         shrink_axis_mask=1),
        jg.gather(t5, indices=[0, 2], axis=2),
        jg.gather(t5, [[0, 2], [1, 1]], axis=2, batch_dims=1),
        jg.gather(t5, [[2, 0, 1], [0, 0, 1]], axis=1, batch_dims=1),
        jg.gather_nd(t5, indices=[[[0, 0], [0, 2]], [[1, 0], [1, 2]]]),
        jg.gather_nd(t5, [[[2], [0]], [[1], [1]]], batch_dims=1),
        jg.tensor_scatter_nd_min(t10, [[0, 1], [0, 1], [2, 2]], [5, -3, 9]),
        jg.tensor_scatter_nd_max(t10, [[1], [1]], [[1, 10, 1], [3, 3, 30]]),
    ]


def _slicing_reference(t3, t5, t10):
    t10min = t10.copy()
    t10min[0, 1] = min(t10[0, 1], 5, -3)
    t10max = t10.copy()
    t10max[1] = np.maximum(t10[1], [3, 10, 30])
    return [
        t3[1:2, 1:2, 0:2], t3[0:, 1:2, 1:], t3[0:2, 0:2, 0:4:2], t3[1:2, -1:-3:-1, 0:3],
        t3[1:, :2, 5:1:-2], t3[0, None, ...],
        t5[:, :, [0, 2]],
        np.stack([t5[b][:, [[0, 2], [1, 1]][b]] for b in range(2)]),
        np.stack([t5[b][[[2, 0, 1], [0, 0, 1]][b]] for b in range(2)]),
        np.stack([t5[0, 0], t5[0, 2], t5[1, 0], t5[1, 2]]).reshape(2, 2, 3),
        np.stack([t5[0][[2, 0]], t5[1][[1, 1]]]),
        t10min, t10max,
    ]


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_tensor_slicing_guide(mode):
    t5 = np.arange(18, dtype=np.int32).reshape(2, 3, 3)
    t10 = np.array([[2, 7, 0], [9, 0, 1], [0, 3, 8]], np.int32)
    f = _slicing_snippets if mode == "eager" else jg.function(_slicing_snippets, backend=mode)
    got = f(jg.constant(T3), jg.constant(t5), jg.constant(t10))
    for i, (a, b) in enumerate(zip(got, _slicing_reference(T3, t5, t10))):
        assert np.array_equal(np.asarray(a), b), (i, np.asarray(a), b)


def test_tensor_slicing_guide_against_tensorflow():
    tf = _tf()
    t5 = np.arange(18, dtype=np.int32).reshape(2, 3, 3)
    t10 = np.array([[2, 7, 0], [9, 0, 1], [0, 3, 8]], np.int32)
    ours = _slicing_snippets(jg.constant(T3), jg.constant(t5), jg.constant(t10))
    saved = {n: getattr(jg, n) for n in ("slice", "strided_slice", "gather", "gather_nd",
                                         "tensor_scatter_nd_min", "tensor_scatter_nd_max")}
    try:
        for n in saved:  # the same snippets, with TensorFlow's functions
            setattr(jg, n, getattr(tf, n))
        theirs = _slicing_snippets(tf.constant(T3), tf.constant(t5), tf.constant(t10))
    finally:
        for n, fn in saved.items():
            setattr(jg, n, fn)
    for a, b in zip(ours, theirs):
        assert np.array_equal(np.asarray(a), b.numpy())


def test_batch_gather_gradient_matches_finite_differences():
    rs = np.random.RandomState(0)
    p = rs.randn(2, 3, 4)
    idx = [[2, 0], [1, 1]]
    w = rs.randn(2, 2, 4)
    x = jg.constant(p)
    with jg.GradientTape() as t:
        t.watch(x)
        y = jg.reduce_sum(jg.gather(x, idx, axis=1, batch_dims=1) * w)
    g = np.asarray(t.gradient(y, x))
    ref = np.zeros_like(p)
    for b in range(2):
        for j, k in enumerate(idx[b]):
            ref[b, k] += w[b, j]
    _close(g, ref, 1e-12)


def test_slicing_errors_name_the_argument():
    x = jg.constant(T3)
    with pytest.raises(jg.errors.InvalidArgumentError, match=r"slice: begin\[2\] \+ size\[2\]"):
        jg.slice(x, [0, 0, 2], [1, 1, 3])
    with pytest.raises(jg.errors.InvalidArgumentError, match="one entry per axis"):
        jg.slice(x, [0], [1])
    with pytest.raises(jg.errors.InvalidArgumentError, match="same length"):
        jg.strided_slice(x, [0, 0], [1], [1, 1])

    @jg.function(input_signature=[jg.TensorSpec([2, 2, 4], jg.int32),
                                  jg.TensorSpec([3], jg.int32)])
    def f(x, b):
        return jg.slice(x, b, [1, 1, 1])

    with pytest.raises(jg.errors.UnimplementedError, match="'begin' must be known"):
        f(x, jg.constant([0, 0, 0]))


# -- "Introduction to Tensors": what jitgraph leaves out fails clearly


@pytest.mark.parametrize("call, match", [
    (lambda: jg.ragged.constant([[0, 1, 2], [3]]), "jg.ragged.constant: .*ragged tensors"),
    (lambda: jg.sparse.SparseTensor([[0, 0]], [1], [3, 4]), "jg.sparse.SparseTensor: .*sparse"),
    (lambda: jg.strings.split(["a b"]), "jg.strings.split: .*string tensors"),
    (lambda: jg.io.decode_raw(["x"], jg.int32), r"jg.io.decode_raw: .*tf\.io"),
    (lambda: jg.cast(jg.constant([2.2]), jg.uint8), "jg.uint8: .*dtype uint8.*jg.cast"),
    (lambda: jg.complex64, "jg.complex64: .*complex64"),
    (lambda: jg.constant([1 + 2j]), "no complex dtypes"),
    (lambda: jg.Variable([5 + 4j, 6 + 1j]), "no complex dtypes"),
])
def test_out_of_scope_tensorflow_names_raise_unimplemented(call, match):
    with pytest.raises(jg.errors.UnimplementedError, match=match):
        call()


def test_unsupported_names_keep_hasattr_working():
    assert not hasattr(jg, "uint8") and getattr(jg, "complex128", None) is None
    assert not hasattr(jg, "no_such_name")


def test_ragged_list_raises_value_error_naming_ragged():
    with pytest.raises(ValueError, match="rectangular.*jg.ragged"):
        jg.constant([[0, 1, 2, 3], [4, 5], [6, 7, 8], [9]])


# -- "Introduction to Variables" / "Introduction to modules"


def test_variable_scatter_nd_add_sub_and_read_value_false():
    v = jg.Variable([[0.0, 0.0], [0.0, 0.0]])
    assert v.scatter_nd_add([[0, 0], [1, 1], [0, 0]], [1.0, 2.0, 3.0]) is v
    v.scatter_nd_sub([[1, 1]], [0.5])
    _close(v, [[4.0, 0.0], [0.0, 1.5]])
    assert v.assign(v * 2, read_value=False) is None
    assert v.assign_add([[1.0, 1.0], [1.0, 1.0]], read_value=False) is None
    _close(v, [[9.0, 1.0], [1.0, 4.0]])


def test_variable_names_follow_name_scopes():
    with jg.name_scope("outer") as scope:
        assert scope == "outer/"
        a = jg.Variable(1.0, name="a")
        with jg.name_scope("inner"):
            b = jg.Variable(1.0)
        with jg.name_scope("abs/"):
            c = jg.Variable(1.0, name="c")
    assert (a.name, b.name, c.name) == ("outer/a:0", "outer/inner/Variable:0", "abs/c:0")
    assert jg.Variable(1.0, name="plain").name == "plain:0"

    class Dense(jg.Module):
        def __init__(self):
            super().__init__(name="dense")
            self.untouched = jg.Variable(1.0, name="u")
            with self.name_scope:
                self.w = jg.Variable(1.0, name="w")

        @jg.Module.with_name_scope
        def __call__(self, x):
            if not hasattr(self, "b"):
                self.b = jg.Variable(0.0, name="b")
            return x * self.w + self.b

    d = Dense()
    d(jg.constant(1.0))
    assert d.name_scope.name == "dense/"
    assert [d.untouched.name, d.w.name, d.b.name] == ["u:0", "dense/w:0", "dense/b:0"]


def test_variable_names_match_tensorflow():
    tf = _tf()
    names = {}
    for m in (jg, tf):
        with m.name_scope("my_scope"):
            v = m.Variable(1.0, name="v")
            with m.name_scope("deeper"):
                w = m.Variable(1.0)
        names[m.__name__] = [v.name, w.name]
    assert names["jitgraph"] == names["tensorflow"]


# -- "Introduction to graphs and tf.function" / "Better performance with tf.function"


def test_executing_eagerly():
    @jg.function
    def f(x):
        return jg.constant(jg.executing_eagerly())

    assert jg.executing_eagerly() is True
    assert not bool(f(1))
    jg.config.run_functions_eagerly(True)
    try:
        assert bool(f(2))
    finally:
        jg.config.run_functions_eagerly(False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_concrete_function_of_python_values_takes_no_arguments(backend):
    @jg.function(backend=backend)
    def f(x):
        return jg.abs(x)

    f1, f2 = f.get_concrete_function(1), f.get_concrete_function(2)
    assert f1 is not f2 and f.get_concrete_function(1) is f1
    assert int(f1()) == 1 and int(f2()) == 2

    @jg.function(backend=backend)
    def scale(x, n):
        return x * n

    c = scale.get_concrete_function(jg.TensorSpec([None], jg.float32), 3)
    _close(c(jg.constant([1.0, 2.0])), [3.0, 6.0])
    _close(c(x=jg.constant([1.0])), [3.0])
    with pytest.raises(jg.errors.InvalidArgumentError, match="argument 'n' expected 3"):
        c(jg.constant([1.0]), jg.constant([2.0]))
    with pytest.raises(TypeError, match=r"takes the tensor arguments \(x\)"):
        c(jg.constant([1.0]), jg.constant([2.0]), jg.constant([3.0]))
    assert c.inputs[0].shape.as_list() == [None] and c.inputs[0].name == "x:0"
    assert c.outputs[0].dtype == jg.float32


def test_graph_as_graph_def_counts_the_unrolled_ops():
    @jg.function
    def unrolled(x):
        for _ in range(3):
            x = x + 1
        return x

    @jg.function
    def looped(x):
        for _ in jg.range(3):
            x = x + 1
        return x

    g = unrolled.get_concrete_function(jg.constant(1)).graph
    gd = g.as_graph_def()
    assert [n.op for n in gd.node].count("add") == 3
    assert gd.node[0].name == "x" and any("x" in n.input for n in gd.node)
    n_loop = len(looped.get_concrete_function(jg.constant(1)).graph.as_graph_def().node)
    assert n_loop < len(gd.node)


def test_variable_created_on_every_call_raises_value_error():
    @jg.function
    def f(x):
        v = jg.Variable(1.0)
        return v

    with pytest.raises(ValueError, match="'f' creates a Variable on every call"):
        f(1.0)

    class Count(jg.Module):
        def __init__(self):
            self.count = None

        @jg.function
        def __call__(self):
            if self.count is None:
                self.count = jg.Variable(0)
            return self.count.assign_add(1)

    c = Count()
    assert [int(c()), int(c()), int(c())] == [1, 2, 3]


def test_function_guide_against_tensorflow():
    tf = _tf()
    out = {}
    for m in (jg, tf):
        @m.function(input_signature=(m.TensorSpec(shape=[None], dtype=m.int32),))
        def next_collatz(x, m=m):
            return m.where(x % 2 == 0, x // 2, 3 * x + 1)

        @m.function(reduce_retracing=True)
        def double(x):
            return x * 2

        @m.function
        def absval(x, m=m):
            return m.abs(x)

        r = [next_collatz(m.constant([1, 2, 3, 4]))]
        for a in (m.constant([1, 2]), m.constant([1, 2, 3]), m.constant([1, 2, 3, 4])):
            r.append(double(a))
        r.append(double.experimental_get_tracing_count())
        r.append(absval.get_concrete_function(-3)())
        out[m.__name__] = [np.asarray(v) for v in r]
    for a, b in zip(out["jitgraph"], out["tensorflow"]):
        np.testing.assert_array_equal(a, b)


# -- "Random number generation"


def test_set_seed_replays_compiled_functions():
    @jg.function
    def f():
        return jg.random.uniform([1]), jg.random.uniform([1])

    jg.random.set_seed(1)
    a, b = np.asarray(f()), np.asarray(f())
    jg.random.set_seed(1)
    c = np.asarray(f())
    np.testing.assert_array_equal(a, c)
    assert a[0, 0] != b[0, 0] and a[0, 0] != a[1, 0]


def test_generator_guide():
    g = jg.random.Generator.from_seed(1234)
    a = g.normal([3])
    g.reset_from_seed(1234)
    np.testing.assert_array_equal(g.normal([3]), a)
    seeds = g.make_seeds(2)
    assert seeds.shape == (2, 2) and seeds.dtype == jg.int64
    s1 = jg.random.stateless_normal([3], seed=seeds[:, 0])
    np.testing.assert_array_equal(s1, jg.random.stateless_normal([3], seed=seeds[:, 0]))
    parts = g.split(3)
    draws = [np.asarray(p.normal([4])) for p in parts]
    assert len(parts) == 3 and not np.array_equal(draws[0], draws[1])
    jg.random.set_global_generator(jg.random.Generator.from_seed(7))
    x = jg.random.get_global_generator().normal([2])
    jg.random.set_global_generator(jg.random.Generator.from_seed(7))
    np.testing.assert_array_equal(jg.random.get_global_generator().normal([2]), x)
    assert jg.random.experimental.get_global_generator() is jg.random.get_global_generator()

    @jg.function
    def bad():
        g.split(2)

    with pytest.raises(jg.errors.UnimplementedError, match="split the generator outside"):
        bad()


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_stateless_split_fold_in_and_categorical(mode):
    def run():
        seeds = jg.random.experimental.stateless_split([1, 2], num=3)
        folded = jg.random.experimental.stateless_fold_in([1, 2], 5)
        cats = jg.random.stateless_categorical(jg.math.log([[0.1, 0.9], [0.999, 0.001]]),
                                               200, seed=[3, 4])
        return seeds, folded, cats

    f = run if mode == "eager" else jg.function(run, backend=mode)
    seeds, folded, cats = f()
    e_seeds, e_folded, e_cats = run()  # the same numbers, eager or compiled
    np.testing.assert_array_equal(seeds, e_seeds)
    np.testing.assert_array_equal(folded, e_folded)
    np.testing.assert_array_equal(cats, e_cats)
    assert seeds.shape == (3, 2) and len({tuple(r) for r in np.asarray(seeds)}) == 3
    assert int(folded[1]) == 5
    c = np.asarray(cats)
    assert c.shape == (2, 200) and 150 < c[0].sum() and c[1].sum() < 10


def test_dataset_iterator_inside_a_function_raises_instead_of_freezing_an_element():
    it = iter(jg.data.Dataset.from_tensor_slices([1, 2, 3]))

    @jg.function
    def consume(iterator):
        return next(iterator)

    with pytest.raises(jg.errors.TracingError, match=r"next\(\) on a jg.data iterator"):
        consume(it)
    assert int(next(it)) == 1  # nothing was consumed by the failed trace


def test_get_static_value():
    assert jg.get_static_value(jg.constant([1, 2])).tolist() == [1, 2]
    assert jg.get_static_value(jg.Variable(2.0)) == 2.0
    seen = []

    @jg.function
    def f(x):
        seen.append((jg.get_static_value(jg.shape(x)[0]), jg.get_static_value(x)))
        return x

    f(jg.zeros([3]))
    assert seen == [(3, None)]


def test_unsupported_input_signature_message_and_summary_without_a_writer():
    with pytest.raises(ValueError, match=r"shape=None is not supported.*TensorSpec\(\[None"):
        jg.function(lambda x: x, input_signature=[jg.TensorSpec(None, jg.int32)])
    assert not bool(jg.summary.scalar("x", 1.0, step=0))  # as tf.summary: no default writer


def test_saving_a_custom_gradient_warns_that_the_rule_stays_in_python(tmp_path):
    @jg.custom_gradient
    def clip_gradients(y):
        return y, lambda dy: jg.clip_by_norm(dy, 0.5)

    class MyModule(jg.Module):
        @jg.function(input_signature=[jg.TensorSpec([])])
        def call_custom_grad(self, x):
            return clip_gradients(x)

    model = MyModule()
    v = jg.Variable(2.0)
    with jg.GradientTape() as t:
        out = model.call_custom_grad(v)
    assert float(t.gradient(out, v)) == 0.5  # the live function uses the rule
    with pytest.warns(UserWarning, match="uses jg.custom_gradient .clip_gradients."):
        jg.saved_model.save(model, str(tmp_path / "m"))


def test_device_listing_and_placement_logging(capsys):
    cpus = jg.config.list_physical_devices("CPU")
    assert [d.device_type for d in cpus] == ["CPU"] and cpus[0].name.endswith("CPU:0")
    assert all(d.device_type == "GPU" for d in jg.config.list_physical_devices("GPU"))
    assert jg.config.list_logical_devices("CPU")[0].name == "/device:CPU:0"
    jg.debugging.set_log_device_placement(True)
    try:
        with jg.device("CPU:0"):
            jg.function(lambda x: x + 1, backend="interpreter")(jg.constant(1))
    finally:
        jg.debugging.set_log_device_placement(False)
    assert "compiled for /device:CPU:0 (backend 'interpreter')" in capsys.readouterr().out


def test_small_tensorflow_compatibility_names():
    assert jg.is_tensor(jg.Variable(1.0)) and jg.is_tensor(jg.constant(1))
    assert not jg.is_tensor(1.0)
    assert jg.TensorShape([2, None]).concatenate([4]).as_list() == [2, None, 4]
    assert jg.TensorShape(None).concatenate([4]).rank is None
    assert jg.half is jg.float16 and jg.double is jg.float64 and jg.dtypes.double is jg.float64

    @jg.autograph.experimental.do_not_convert
    def plain(x):
        if x > 0:  # stays Python: a symbolic x cannot decide it
            return x
        return -x

    @jg.function
    def f(x):
        return plain(x)

    assert int(plain(jg.constant(-2))) == 2
    with pytest.raises(jg.errors.JitgraphError):
        f(jg.constant(-2))


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_assigning_numpy_values_converts_to_the_variable_dtype(mode):
    v, w = jg.Variable([1.0, 2.0]), jg.Variable([1, 2])

    def run():
        v.assign(np.array([3.0, 4.0]))  # float64 data into a float32 variable
        v.assign_add(np.ones(2))
        w.assign(np.array([5.0, 6.0]))  # integral floats into an int32 variable
        return v.read_value(), w.read_value()

    f = run if mode == "eager" else jg.function(run, backend=mode)
    a, b = f()
    assert a.dtype == jg.float32 and b.dtype == jg.int32
    _close(a, [4.0, 5.0])
    assert np.asarray(b).tolist() == [5, 6]
    with pytest.raises(jg.errors.InvalidArgumentError, match="cannot be represented as int32"):
        w.assign(np.array([1.5, 2.0]))
    with pytest.raises(jg.errors.InvalidArgumentError, match="bool array"):
        v.assign(np.array([True, False]))


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_binomial_draws(mode):
    def run():
        s = jg.random.stateless_binomial([4000], seed=[1, 2], counts=10.0, probs=0.3)
        t = jg.random.stateless_binomial([3, 2], seed=[3, 4], counts=[[0.0], [5.0], [40.0]],
                                         probs=[0.5, 1.0], output_dtype=jg.int64)
        return s, t

    f = run if mode == "eager" else jg.function(run, backend=mode)
    s, t = f()
    np.testing.assert_array_equal(s, run()[0])  # same numbers eager and compiled
    s = np.asarray(s)
    assert s.dtype == np.int32 and s.min() >= 0 and s.max() <= 10
    assert abs(s.mean() - 3.0) < 0.15 and abs(s.var() - 2.1) < 0.3  # n p, n p (1 - p)
    t = np.asarray(t)
    assert t.dtype == np.int64 and t[0].tolist() == [0, 0] and t[1, 1] == 5 and t[2, 1] == 40
    g = jg.random.Generator.from_seed(5)
    a, b = g.binomial([1000], counts=4, probs=0.5), g.binomial([1000], counts=4, probs=0.5)
    assert not np.array_equal(a, b) and abs(np.mean(a) - 2.0) < 0.2
    with pytest.raises(jg.errors.UnimplementedError, match="counts must be in"):
        jg.random.stateless_binomial([2], seed=[1, 2], counts=1e9, probs=0.5)


def test_multiply_no_nan():
    _close(jg.math.multiply_no_nan(jg.constant([np.inf, np.nan, 2.0]), [0.0, 0.0, 3.0]),
           [0.0, 0.0, 6.0])


# -- "Introduction to Tensors": indexing, reshaping, broadcasting, eager == compiled == NumPy

R1 = np.array([0, 1, 1, 2, 3, 5, 8, 13, 21, 34], np.int32)
R3 = np.arange(30, dtype=np.int32).reshape(3, 2, 5)


def _tensor_snippets(m, r1, r3, c):
    x = m.constant([1, 2, 3])
    return [
        r1[0], r1[-1], r1[:4], r1[4:], r1[2:-3], r1[::2], r1[::-1], r1[8:2:-2], r1[None, 2:4],
        r1[..., 1], r3[:, :, 4], r3[..., 0], r3[0, ..., None], r3[:, None, ::-1, 1:4:2],
        r3[-1:, :, ::-2], r3[::-1, ::-1, ::-1], r3[1][0][2], r3[None],
        m.reshape(r3, [-1]), m.reshape(r3, [3 * 2, 5]), m.reshape(r3, [3, -1]),
        m.transpose(r3, [1, 0, 2]), m.transpose(r3),
        x * 2, m.reshape(x, [3, 1]) * m.range(1, 5), m.broadcast_to(x, [3, 3]),
        m.reduce_max(c), m.math.argmax(c), m.nn.softmax(c), c @ c, m.cast(c, m.int32),
    ]


def _tensor_reference(r1, r3, c):
    e = np.exp(c - c.max(axis=1, keepdims=True))
    x = np.array([1, 2, 3], np.int32)
    return [
        r1[0], r1[-1], r1[:4], r1[4:], r1[2:-3], r1[::2], r1[::-1], r1[8:2:-2], r1[None, 2:4],
        r1[..., 1], r3[:, :, 4], r3[..., 0], r3[0, ..., None], r3[:, None, ::-1, 1:4:2],
        r3[-1:, :, ::-2], r3[::-1, ::-1, ::-1], r3[1][0][2], r3[None],
        r3.reshape(-1), r3.reshape(6, 5), r3.reshape(3, -1), r3.transpose(1, 0, 2),
        r3.transpose(), x * 2, x.reshape(3, 1) * np.arange(1, 5), np.broadcast_to(x, (3, 3)),
        c.max(), c.argmax(axis=0), e / e.sum(axis=1, keepdims=True), c @ c, c.astype(np.int32),
    ]


@pytest.mark.parametrize("mode", ["eager"] + BACKENDS)
def test_tensor_guide(mode):
    c = np.array([[4.0, 5.0], [10.0, 1.0]], np.float32)

    def run(r1, r3, c):
        return _tensor_snippets(jg, r1, r3, c)

    f = run if mode == "eager" else jg.function(run, backend=mode)
    got = f(jg.constant(R1), jg.constant(R3), jg.constant(c))
    for i, (a, b) in enumerate(zip(got, _tensor_reference(R1, R3, c))):
        a = np.asarray(a)
        assert a.shape == np.shape(b), (i, a.shape, np.shape(b))
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=str(i))


def test_tensor_guide_against_tensorflow():
    tf = _tf()
    c = np.array([[4.0, 5.0], [10.0, 1.0]], np.float32)
    ours = _tensor_snippets(jg, jg.constant(R1), jg.constant(R3), jg.constant(c))
    theirs = _tensor_snippets(tf, tf.constant(R1), tf.constant(R3), tf.constant(c))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype.name == b.dtype.name, (i, a.dtype, b.dtype)
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-6, err_msg=str(i))


def test_variables_guide_against_tensorflow():
    tf = _tf()
    out = {}
    for m in (jg, tf):
        a = m.Variable([2.0, 3.0])
        b = m.Variable(a)
        a.assign([5, 6])
        r = [a.numpy(), b.numpy(), a.assign_add([2, 3]).numpy(), a.assign_sub([7, 9]).numpy()]
        v = m.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        v[0, 1].assign(42.0)
        v[:, 2].assign([0.0, 1.0])
        v.scatter_nd_add([[1, 0]], [9.0])
        r += [v.numpy(), v.assign(v * 2, read_value=False) is None, v.numpy()]
        with m.name_scope("guide"):
            r.append(m.Variable(1, trainable=False, name="step").name)
        out[m.__name__] = r
    for a, b in zip(out["jitgraph"], out["tensorflow"]):
        np.testing.assert_array_equal(a, b)
