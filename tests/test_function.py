"""Tracing rules of jg.function: the trace cache, input signatures, methods, side effects,
variables, retracing warnings and error locations."""

import warnings

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.function import RetracingWarning, VariableCreationError

S = jg.TensorSpec


def test_decorator_forms_and_results():
    @jg.function
    def f(x):
        return x * 2.0

    @jg.function(backend="interpreter", jit_compile=True)
    def g(x):
        return x * 2.0

    x = jg.constant([1.0, 2.0])
    for fn in (f, g):
        y = fn(x)
        assert isinstance(y, jg.Tensor) and y.dtype == jg.float32
        np.testing.assert_allclose(y.numpy(), [2.0, 4.0])
    assert f.python_function(3.0) == 6.0


def test_trace_count_and_retracing_rules():
    traces = []

    @jg.function
    def f(x, scale):
        traces.append(1)  # a Python side effect: runs only while tracing
        return x * scale

    a, b = jg.constant([1.0, 2.0]), jg.constant([3.0, 4.0])
    f(a, 2.0)
    f(b, 2.0)  # same dtype and shape, same Python value: no retrace
    assert f.experimental_get_tracing_count() == 1
    f(a, 3.0)  # a new Python value retraces
    assert f.experimental_get_tracing_count() == 2
    f(jg.constant([1.0, 2.0, 3.0]), 3.0)  # a new shape retraces
    f(jg.constant([1.0, 2.0], jg.float64), 3.0)  # a new dtype retraces
    assert f.experimental_get_tracing_count() == 4 == len(traces)
    np.testing.assert_allclose(f(a, 3.0).numpy(), [3.0, 6.0])
    f(np.array([5.0, 6.0], np.float32), 3.0)  # NumPy arrays are keyed like tensors
    assert f.experimental_get_tracing_count() == 4


def test_python_values_by_value_and_nested_structures():
    @jg.function
    def f(pair, opts):
        a, b = pair
        return a * opts["k"] + b, opts["tag"]

    x = jg.constant([1.0, 2.0])
    y, tag = f([x, x], {"k": 2.0, "tag": "hi"})
    assert tag == "hi"  # Python outputs are returned as they are
    np.testing.assert_allclose(y.numpy(), [3.0, 6.0])
    f([x, x], {"k": 2.0, "tag": "hi"})
    assert f.experimental_get_tracing_count() == 1
    f([x, x], {"k": 3.0, "tag": "hi"})
    assert f.experimental_get_tracing_count() == 2
    g = f.get_concrete_function([x, x], {"k": 2.0, "tag": "hi"}).graph
    assert [v.op.name for v in g.inputs] == ["pair_0", "pair_1"]


def test_input_signature_fixes_the_trace_and_rejects_mismatches():
    @jg.function(input_signature=[S([None, 3], jg.float32)])
    def f(x):
        return jg.reduce_sum(x, axis=1)

    for n in (1, 4, 7):
        np.testing.assert_allclose(f(np.ones((n, 3), np.float32)).numpy(), [3.0] * n)
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        f(np.ones((2, 4), np.float32))
    msg = str(e.value)
    assert "'x'" in msg and "float32[?,3]" in msg and "float32[2,4]" in msg
    assert "test_function.py" in msg
    with pytest.raises(jg.errors.InvalidArgumentError, match="float64"):
        f(np.ones((2, 3), np.float64))
    assert f.get_concrete_function() is f.get_concrete_function(S([None, 3], jg.float32))
    assert f.get_concrete_function().graph.inputs[0].shape == (None, 3)


def test_reduce_retracing_generalizes_dims():
    @jg.function(reduce_retracing=True)
    def f(x):
        return x + 1.0

    for n in (2, 3, 4, 5, 6):
        np.testing.assert_allclose(f(jg.ones([n])).numpy(), np.full(n, 2.0))
    assert f.experimental_get_tracing_count() == 2
    assert "float32[?]" in f.pretty_printed_concrete_signatures()


def test_get_concrete_function_identity_and_graph():
    @jg.function
    def f(x, y):
        return jg.exp(x) + y

    x = jg.constant([1.0, 2.0])
    cf = f.get_concrete_function(x, x)
    assert cf is f.get_concrete_function(S([2]), S([2]))
    assert cf is f.get_concrete_function(x, y=x)
    assert cf.graph.get_operation_by_name("x").type == "placeholder"
    assert cf.graph.get_operation_by_name("y").type == "placeholder"
    args, kwargs = cf.structured_input_signature
    assert args[0] == S([2], jg.float32) and args[0].name == "x" and kwargs == {}
    assert cf.structured_outputs.shape == (2,)
    np.testing.assert_allclose(cf(x, x).numpy(), np.exp([1.0, 2.0]) + [1.0, 2.0], rtol=1e-6)
    with pytest.raises(jg.errors.InvalidArgumentError, match="'x' expected float32\\[2\\]"):
        cf(jg.ones([3]), jg.ones([3]))
    assert "traced" not in cf.explain("traced") and cf.explain("traced") == str(cf.graph)
    assert "exp" in cf.explain("optimized")
    sigs = f.pretty_printed_concrete_signatures()
    assert "f(x: float32[2], y: float32[2])" in sigs and "Returns: float32[2]" in sigs


def test_methods_have_one_cache_per_instance():
    class Scaler:
        def __init__(self, k):
            self.k = k
            self.traces = 0

        @jg.function
        def __call__(self, x):
            self.traces += 1
            return x * self.k

    a, b = Scaler(2.0), Scaler(3.0)
    x = jg.constant([1.0, 2.0])
    np.testing.assert_allclose(a(x).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(b(x).numpy(), [3.0, 6.0])
    a(x)
    assert (a.traces, b.traces) == (1, 1)
    assert a.__call__ is a.__call__ and a.__call__ is not b.__call__
    assert Scaler.__call__.python_function.__name__ == "__call__"


def test_side_effects_only_at_trace_time_and_print_at_run_time(capsys):
    @jg.function
    def f(x):
        print("python print")
        jg.print("value:", x)
        return x + 1

    x = jg.constant([1, 2])
    f(x)
    f(x)
    out = capsys.readouterr().out
    assert out.count("python print") == 1
    assert out.count("value:") == 2 and "[1 2]" in out


def test_captured_variables_are_read_and_written():
    v = jg.Variable([1.0, 2.0])

    @jg.function
    def step(x):
        v.assign_add(x)
        return v.read_value() * 2.0

    y = step(jg.constant([1.0, 1.0]))
    np.testing.assert_allclose(v.numpy(), [2.0, 3.0])  # visible after the call
    np.testing.assert_allclose(y.numpy(), [4.0, 6.0])
    step(jg.constant([1.0, 1.0]))
    np.testing.assert_allclose(v.numpy(), [3.0, 4.0])
    g = step.get_concrete_function(jg.constant([1.0, 1.0])).graph
    types = [op.type for op in g.get_operations()]
    assert "read_variable" in types and "assign_variable" in types
    assert g.variables == [v]


def test_captured_tensors_become_constants():
    c = jg.constant([10.0, 20.0])

    @jg.function
    def f(x):
        return x + c

    np.testing.assert_allclose(f(jg.constant([1.0, 2.0])).numpy(), [11.0, 22.0])
    g = f.get_concrete_function(S([2])).graph
    assert "constant" in [op.type for op in g.get_operations()]


def test_variables_only_on_the_first_trace():
    class Model:
        def __init__(self):
            self.w = None

        @jg.function
        def __call__(self, x):
            if self.w is None:
                self.w = jg.Variable(np.full([2], 2.0, np.float32))
            return x * self.w

    m = Model()
    x = jg.constant([1.0, 2.0])
    np.testing.assert_allclose(m(x).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(m(x).numpy(), [2.0, 4.0])

    @jg.function
    def leaky(x):
        v = jg.Variable(1.0)  # a new Variable on every call: caught on the first (TensorFlow)
        return x * v

    with pytest.raises(VariableCreationError) as e:
        leaky(jg.constant(1.0))
    assert "'leaky'" in str(e.value) and "every call" in str(e.value)
    assert "test_function.py" in str(e.value)

    @jg.function
    def late(x):
        if x.shape.rank == 1:
            jg.Variable(1.0)  # only on a later trace
        return x

    late(jg.constant(1.0))
    with pytest.raises(VariableCreationError) as e:
        late(jg.constant([1.0, 2.0]))
    assert "'late'" in str(e.value) and "first trace" in str(e.value)


def test_retracing_warning_once_naming_the_argument():
    @jg.function
    def scaled(x, k):
        return x * k

    x = jg.constant([1.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(8):
            scaled(x, float(k))
    msgs = [str(w.message) for w in caught if issubclass(w.category, RetracingWarning)]
    assert len(msgs) == 1
    assert "'scaled'" in msgs[0] and "k (" in msgs[0] and "x (" not in msgs[0]


@pytest.mark.parametrize("use", [
    lambda t: 1 if t > 0 else 0,
    lambda t: float(t),
    lambda t: t.numpy(),
])
def test_using_a_symbolic_value_names_the_user_line(use):
    @jg.function(autograph=False)
    def f(t):
        return use(t)

    with pytest.raises(jg.errors.TracingError) as e:
        f(jg.constant(1.0))
    assert "symbolic tensor" in str(e.value)
    assert "test_function.py" in str(e.value)


def test_tracing_errors_carry_the_user_line():
    @jg.function
    def f(x, y):
        return x + y  # shapes do not broadcast

    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        f(jg.ones([2]), jg.ones([3]))
    line = f.python_function.__code__.co_firstlineno + 2
    assert f"test_function.py:{line}" in str(e.value)


def test_run_functions_eagerly():
    calls = []

    @jg.function
    def f(x):
        calls.append(1)
        return float(x) + 1.0  # needs a value: only works eagerly

    jg.config.run_functions_eagerly(True)
    try:
        assert f(jg.constant(1.0)) == 2.0 and f(jg.constant(1.0)) == 2.0
        assert jg.config.functions_run_eagerly()
    finally:
        jg.config.run_functions_eagerly(False)
    assert len(calls) == 2 and f.experimental_get_tracing_count() == 0


def test_nested_function_calls_are_inlined():
    @jg.function
    def inner(x):
        return x * 2.0

    @jg.function
    def outer(x):
        return inner(x) + 1.0

    np.testing.assert_allclose(outer(jg.constant([1.0])).numpy(), [3.0])
    types = [op.type for op in outer.get_concrete_function(S([1])).graph.get_operations()]
    assert "multiply" in types and inner.experimental_get_tracing_count() == 0


def test_outputs_are_fresh_arrays():
    a = np.array([1.0, 2.0], np.float32)

    @jg.function
    def ident(x):
        return x

    y = ident(a)
    assert not np.shares_memory(np.asarray(y), a)
    a[0] = 5.0  # the caller's array stays writeable and the result does not change
    assert y.numpy()[0] == 1.0


def test_hot_path_does_not_trace_or_copy_graphs(monkeypatch):
    """Repeated calls with the same signature go straight to the cached ConcreteFunction:
    no tracing, no graph copies (the speed itself is benchmarks/bench_w5_dispatch.py's)."""
    from jitgraph import concrete
    from jitgraph.function import Function

    @jg.function(backend="interpreter")
    def f(x):
        return x + 1.0

    x = jg.constant([1.0, 2.0, 3.0])
    f(x)

    def boom(*a, **kw):
        raise AssertionError("the hot path traced or copied a graph")

    monkeypatch.setattr(Function, "_trace", boom)
    monkeypatch.setattr(concrete, "copy_graph", boom)
    for _ in range(100):
        np.testing.assert_allclose(f(x).numpy(), [2.0, 3.0, 4.0])
    assert f.experimental_get_tracing_count() == 1


def test_zero_dim_numpy_arguments_keep_rank_zero():
    f = jg.function(lambda n: n + 1, backend="interpreter")
    cf = f.get_concrete_function(np.array(3, np.int32))
    assert cf.graph.inputs[0].shape == ()
    out = f(np.array(3, np.int32))
    assert out.shape == () and int(out) == 4
    assert f(np.float32(2.0)).shape == ()


def test_callable_objects_compile_like_functions():
    """jg.function(obj) for an object with __call__ (a Keras layer or model, a user class),
    as tf.function(obj): named after the class, __call__ converted by AutoGraph."""
    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            if jg.reduce_sum(x) > 0:
                return x * self.k
            return x

    f = jg.function(Scale(3.0))
    assert "Scale" in repr(f)
    x = jg.constant([1.0, 2.0])
    np.testing.assert_allclose(f(x).numpy(), [3.0, 6.0])
    np.testing.assert_allclose(f(-x).numpy(), [-1.0, -2.0])
    assert f.experimental_get_tracing_count() == 1

    layer = jg.keras.layers.Dense(3)
    g = jg.function(layer)
    y = jg.ones([2, 4])
    np.testing.assert_allclose(g(y).numpy(), layer(y).numpy(), rtol=1e-6)


def test_decoration_errors_name_the_function():
    def two(x, y):
        return x + y

    with pytest.raises(TypeError, match=r"'two'.*3 entries.*takes 2 arguments \(x, y\)"):
        jg.function(two, input_signature=[S([2], jg.float32)] * 3)
    with pytest.raises(TypeError, match=r"'two': input_signature\[1\].*jg.TensorSpec.*int"):
        jg.function(two, input_signature=[S([2], jg.float32), 3])
    with pytest.raises(ValueError, match=r"'two': input_signature\[0\].*known rank"):
        jg.function(two, input_signature=[S(None, jg.float32), S([2], jg.float32)])

    class Model:
        @jg.function(input_signature=[S([2], jg.float32)] * 2)
        def f(self, x):
            return x

    with pytest.raises(TypeError, match=r"'f'.*2 entries.*takes 1 arguments \(x\)"):
        Model().f  # noqa: B018  (self is not a parameter of the signature)

