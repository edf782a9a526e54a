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
    for i in range(6):
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
