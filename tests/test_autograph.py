"""AutoGraph: each function runs three ways and must agree: plain Python on Python values,
the converted function on eager Tensors, and jg.function (each available backend) on Tensors.
"""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import backends
from jitgraph.autograph import convert, to_code


def _available_backends():
    out = ["interpreter"]
    try:
        backends.get("cpu")
        out.append("cpu")
    except Exception:  # noqa: BLE001 - the compiled backend is optional until it lands
        pass
    return out


BACKENDS = _available_backends()


# ----------------------------------------------------------------------------- cases


def while_break(x, n):
    i = 0
    s = 0.0
    while i < n:
        if s > x:
            break
        s = s + 1.5
        i += 1
    return s


def while_continue(n):
    i = 0
    s = 0
    while i < n:
        i += 1
        if i % 3 == 0:
            continue
        s += i
    return s


def while_early_return(x):
    i = 0
    while i < 10:
        if i * i > x:
            return i
        i += 1
    return -1


def for_break(x):
    s = 0.0
    for _ in range(6):
        if s > x:
            break
        s = s + 2.0
    return s


def for_continue(n):
    s = 0
    for i in jg.range(n):
        if i % 2 == 1:
            continue
        s += i
    return s


def for_early_return(n):
    for i in jg.range(n):
        if i * 3 > 7:
            return i
    return 100


def nested_loops(n):
    total = 0
    i = 0
    while i < n:
        j = 0
        while j < i:
            total += j
            j += 1
        i += 1
    return total


def nested_for_range(n, m):
    total = 0
    for i in range(n):
        for j in range(m):
            if j > i:
                break
            total += i * j
    return total


def if_no_else(x):
    y = x
    if x > 2.0:
        y = x * 2.0
    return y


def elif_chain(x):
    if x < -1.0:
        y = -x
    elif x < 1.0:
        y = x * x
    elif x < 3.0:
        y = x + 1.0
    else:
        y = 0.0 - x
    return y


def cond_expr(x):
    return x * 2.0 if x > 0.0 else x - 1.0


def and_or_not(x, y):
    a = x > 0.0 and y > 0.0
    b = x > 1.0 or y < -1.0
    c = not x > y
    s = 0
    if a:
        s += 1
    if b:
        s += 10
    if c:
        s += 100
    return s


def short_circuit_index(v, k):
    # `k < 3 and v[k] > 0` must not evaluate v[k] when k is out of range
    if k < 3 and v[k] > 0.0:
        return 1
    return 0


def loop_in_branch(x, n):
    s = x
    if x > 0.0:
        i = 0
        while i < n:
            s = s * 2.0
            i += 1
    else:
        s = -s
    return s


def branch_in_loop(n):
    evens = 0
    odds = 0
    for i in jg.range(n):
        if i % 2 == 0:
            evens += i
        else:
            odds += 1
    return evens * 100 + odds


def rows_sum(m):
    s = 0.0
    for row in m:
        if row[0] > 0.0:
            s = s + row[1]
    return s


def data_dependent_trip_counts(x):
    count = 0
    while x > 1.0:
        y = x
        while y > 1.0:
            y = y / 3.0
            count += 1
        x = x / 2.0
    return count


def both_branches_return(x):
    if x > 0.0:
        return x + 1.0
    else:
        return x - 1.0


def return_after_if(x):
    if x > 0.0:
        return x * 3.0
    y = x * x
    return y


def helper_abs(v):
    if v < 0.0:
        return -v
    return v


def calls_user_function(x):
    return helper_abs(x) + helper_abs(x - 5.0)


def lambda_inside(x):
    f = lambda v: v * 2.0 if v > 1.0 else v  # noqa: E731
    return f(x) + f(x - 1.0)


def tuple_loop_vars(n):
    a, b = 0, 1
    i = 0
    while i < n:
        a, b = b, a + b
        i += 1
    return a


CASES = [
    (while_break, [(3.0, 10), (100.0, 4), (-1.0, 5)]),
    (while_continue, [(0,), (7,), (10,)]),
    (while_early_return, [(5,), (50,), (200,)]),
    (for_break, [(3.0,), (100.0,), (-1.0,)]),
    (for_continue, [(0,), (5,), (8,)]),
    (for_early_return, [(2,), (5,), (0,)]),
    (nested_loops, [(0,), (3,), (6,)]),
    (nested_for_range, [(3, 4), (1, 2)]),
    (if_no_else, [(1.0,), (3.0,)]),
    (elif_chain, [(-2.0,), (0.5,), (2.0,), (5.0,)]),
    (cond_expr, [(1.5,), (-2.0,)]),
    (and_or_not, [(1.5, 2.0), (-1.0, 2.0), (0.5, -3.0), (2.0, 0.5)]),
    (loop_in_branch, [(1.0, 3), (-2.0, 3)]),
    (branch_in_loop, [(0,), (5,), (6,)]),
    (data_dependent_trip_counts, [(1.0,), (10.0,), (50.0,)]),
    (both_branches_return, [(2.0,), (-2.0,)]),
    (return_after_if, [(2.0,), (-2.0,)]),
    (calls_user_function, [(2.0,), (-3.0,), (7.0,)]),
    (lambda_inside, [(3.0,), (0.5,)]),
    (tuple_loop_vars, [(0,), (1,), (10,)]),
]


def _py(fn, args):
    """Plain Python: jg.range becomes range while the unconverted function runs."""
    return fn(*args)


def _tensors(args):
    return [jg.constant(np.float32(a)) if isinstance(a, float) else jg.constant(np.int32(a))
            for a in args]


def _ids(cases):
    return [f"{fn.__name__}-{i}" for fn, argsets in cases for i in range(len(argsets))]


FLAT = [(fn, args) for fn, argsets in CASES for args in argsets]


@pytest.mark.parametrize("fn,args", FLAT, ids=_ids(CASES))
def test_converted_matches_python_on_python_values(fn, args):
    got, want = convert(fn)(*args), _py(fn, args)
    assert type(got) is type(want)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("fn,args", FLAT, ids=_ids(CASES))
def test_converted_eager_tensors(fn, args):
    got = convert(fn)(*_tensors(args))
    np.testing.assert_allclose(np.asarray(got), _py(fn, args), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn,args", FLAT, ids=_ids(CASES))
def test_function_on_tensors(fn, args, backend):
    got = jg.function(fn, backend=backend)(*_tensors(args))
    np.testing.assert_allclose(np.asarray(got), _py(fn, args), rtol=1e-6)


# ----------------------------------------------------------------------------- tensors as data


@pytest.mark.parametrize("backend", BACKENDS)
def test_for_over_tensor_rows_three_ways(backend):
    m = np.array([[1.0, 2.0], [-1.0, 5.0], [3.0, 4.0]], np.float32)
    want = rows_sum(m.tolist())
    np.testing.assert_allclose(np.asarray(convert(rows_sum)(jg.constant(m))), want)
    f = jg.function(rows_sum, backend=backend)
    np.testing.assert_allclose(np.asarray(f(jg.constant(m))), want)
    assert "while_loop" in _op_types(rows_sum, jg.constant(m))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [0, 1, 2, 3, 7])
def test_and_short_circuits_on_tensors(k, backend):
    v = np.array([1.0, -1.0, 2.0], np.float32)
    want = short_circuit_index(v.tolist(), k)
    assert convert(short_circuit_index)(jg.constant(v), jg.constant(np.int32(k))) == want
    got = jg.function(short_circuit_index, backend=backend)(jg.constant(v), jg.constant(k))
    assert int(np.asarray(got)) == want


def test_python_iterables_stay_python():
    def f(xs):
        s = 0.0
        for x in xs:
            if x > 1.0:
                s = s + x
        return s

    assert convert(f)([0.5, 2.0, 3.0]) == f([0.5, 2.0, 3.0])
    assert convert(f)(jg.constant([0.5, 2.0, 3.0])) == 5.0


# ----------------------------------------------------------------------------- graphs


def _op_types(fn, *args):
    g = jg.function(fn, backend="interpreter").get_concrete_function(*args).graph
    return [op.type for op in g.walk()]


def _strip_locs(text):
    return "\n".join(line.split("#")[0].rstrip() for line in str(text).splitlines())


def doubling_while(x, n):
    i = 0
    while i < n:
        x = x * 2.0
        i += 1
    return x


def doubling_range3(x):
    for _ in range(3):
        x = x * 2.0
    return x


def test_golden_tensor_while_is_one_while_loop():
    g = jg.function(doubling_while, backend="interpreter").get_concrete_function(
        jg.constant(1.0), jg.constant(3)).graph
    assert _strip_locs(g) == _strip_locs("""\
graph doubling_while(%x: f32[], %n: i32[]) -> (f32[])
  %constant_1: i32[] = constant {value=0}
  %while_loop: i32[], %while_loop:1: f32[] = while_loop %constant_1, %x {maximum_iterations=None}
    cond(%lv: i32[], %lv_1: f32[]):
      %less: bool[] = less %lv, %n
      return %less
    body(%lv_2: i32[], %lv_3: f32[]):
      %constant_2: f32[] = constant {value=2.0}
      %multiply: f32[] = multiply %lv_3, %constant_2
      %constant_3: i32[] = constant {value=1}
      %add: i32[] = add %lv_2, %constant_3
      return %add, %multiply
  return %while_loop:1""")
    assert [op.type for op in g.walk()].count("while_loop") == 1


def test_range3_unrolls():
    types = _op_types(doubling_range3, jg.constant(1.0))
    assert "while_loop" not in types and types.count("multiply") == 3


def test_jg_range_with_tensor_bound_is_a_loop():
    types = _op_types(for_continue, jg.constant(5))
    assert types.count("while_loop") == 1


def test_ops_point_at_user_lines():
    import inspect

    g = jg.function(doubling_while, backend="interpreter").get_concrete_function(
        jg.constant(1.0), jg.constant(3)).graph
    lines, first = inspect.getsourcelines(doubling_while)
    loop = g.ops[-1] if g.ops[-1].type == "while_loop" else next(
        op for op in g.ops if op.type == "while_loop")
    assert loop.loc[1] == first + 2  # the `while` line
    mul = next(op for op in loop.subgraphs[1].ops if op.type == "multiply")
    assert mul.loc == (__file__, first + 3)


# ----------------------------------------------------------------------------- errors


def defined_in_one_branch(x):
    if x > 0.0:
        y = x * 2.0
    return y


def dtype_changes(n):
    acc = 0
    i = 0
    while i < n:
        acc = jg.cast(acc, jg.float32) + 0.5
        i += 1
    return acc


def shape_changes(x, n):
    i = 0
    while i < n:
        x = jg.concat([x, x], axis=0)
        i += 1
    return x


def _line_of(fn, text):
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, s in enumerate(lines) if text in s)


def test_error_variable_defined_in_one_branch():
    with pytest.raises(jg.errors.TracingError) as e:
        jg.function(defined_in_one_branch, backend="interpreter")(jg.constant(1.0))
    msg = str(e.value)
    line = _line_of(defined_in_one_branch, "if x > 0.0")
    assert "'y'" in msg and "true branch" in msg and f"test_autograph.py:{line}" in msg


def test_error_loop_var_changes_dtype():
    with pytest.raises(jg.errors.TracingError) as e:
        jg.function(dtype_changes, backend="interpreter")(jg.constant(3))
    msg = str(e.value)
    line = _line_of(dtype_changes, "while i < n")
    assert "'acc'" in msg and "int32" in msg and "float32" in msg
    assert f"test_autograph.py:{line}" in msg and "cast" in msg


def test_error_loop_var_changes_shape():
    with pytest.raises(jg.errors.TracingError) as e:
        jg.function(shape_changes, backend="interpreter")(jg.constant([1.0]), jg.constant(2))
    assert "'x'" in str(e.value) and "float32[1]" in str(e.value)


def test_temporaries_defined_inside_a_loop_are_fine():
    def f(n):
        s = 0
        for i in jg.range(n):
            t = i * 2
            s += t
        return s

    assert int(np.asarray(jg.function(f, backend="interpreter")(jg.constant(4)))) == 12


def test_error_variable_defined_only_inside_tensor_loop():
    def f(n):
        for i in jg.range(n):
            last = i
        return last

    with pytest.raises(jg.errors.TracingError, match="'last' is defined inside the loop"):
        jg.function(f, backend="interpreter")(jg.constant(3))


# ----------------------------------------------------------------------------- conversion


def test_to_code_is_readable_and_cached():
    code = to_code(while_break)
    assert code.startswith("def while_break(x, n):")
    assert "ag__.while_stmt" in code and "ag__.if_stmt" in code
    assert convert(while_break) is convert(while_break)
    assert to_code(jg.function(while_break)) == code


def test_library_code_is_not_converted():
    assert convert(np.sum) is np.sum
    assert convert(jg.reduce_sum) is jg.reduce_sum
    assert convert(len) is len


class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        if x > 0.0:
            return x * self.k
        return x


class DoubleScaler(Scaler):
    def apply(self, x):
        y = super().apply(x)
        return y * 2.0 if y > 1.0 else y


def test_methods_and_super():
    s = DoubleScaler(3.0)
    for x in (2.0, -1.0, 0.2):
        want = s.apply(x)
        assert convert(s.apply)(x) == want
        got = jg.function(s.apply, backend="interpreter")(jg.constant(x))
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_closures_see_the_same_cells():
    scale = 2.0

    def f(x):
        return x * scale if x > 0.0 else x

    g = convert(f)
    assert g(3.0) == 6.0
    scale = 5.0  # noqa: F841 - read through the closure cell
    assert g(3.0) == 15.0


def test_decorators_are_stripped_and_nested_functions_converted():
    def outer(x):
        def inner(v):
            while v > 10.0:
                v = v / 2.0
            return v

        return inner(x) + 1.0

    f = jg.function(outer, backend="interpreter")
    np.testing.assert_allclose(np.asarray(f(jg.constant(100.0))), outer(100.0))
    assert jg.function(backend="interpreter")(while_break)(
        jg.constant(3.0), jg.constant(10)) == while_break(3.0, 10)


def test_eager_tensors_behave_like_python():
    def f(x):
        n = 0
        while x > 1.0:
            x = x / 2.0
            n += 1
        return n

    assert convert(f)(jg.constant(9.0)) == f(9.0) == 4


_TWO_LAMBDAS = [("exp", lambda x: jg.exp(x),
                 lambda x: np.exp(np.asarray(x)))]
_SAME_LINE = (lambda x: x + 1.0, lambda x: x * 3.0)


def test_lambda_among_several_in_one_statement_is_the_right_one():
    f = jg.function(lambda x: _TWO_LAMBDAS[0][1](x), backend="interpreter")
    out = f(jg.constant([1.0]))
    assert isinstance(out, jg.Tensor)
    np.testing.assert_allclose(out.numpy(), np.exp([1.0]), rtol=1e-6)
    g = jg.function(lambda x: _SAME_LINE[1](x), backend="interpreter")
    np.testing.assert_allclose(g(jg.constant([2.0])).numpy(), [6.0])
