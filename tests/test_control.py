"""jg.cond, jg.while_loop and jg.switch_case: eager, traced (interpreter) and their errors."""

import collections

import numpy as np
import pytest

import jitgraph as jg

S = jg.TensorSpec
Err = jg.errors.InvalidArgumentError


def both(fn, *args):
    """(eager result, traced result) of ``fn(*args)``."""
    return fn(*args), jg.function(fn, autograph=False, backend="interpreter")(*args)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.parametrize("v", [2.0, -3.0])
def test_cond_eager_equals_traced(v):
    def f(x):
        return jg.cond(jg.reduce_sum(x) > 0.0, lambda: (x * 2.0, 1),
                       lambda: (-x, jg.reduce_sum(x)))

    (e, ec), (t, tc) = both(f, jg.constant([v, 1.0]))
    close(e, t)
    close(ec, tc)
    assert tc.dtype == jg.float32  # a Python number takes the other branch's dtype


def test_cond_with_python_predicate_stays_python():
    @jg.function(autograph=False)
    def f(x, flag):
        return jg.cond(flag, lambda: x + 1.0, lambda: x - 1.0)

    close(f(jg.constant(1.0), True), 2.0)
    ops = [op.type for op in f.get_concrete_function(S([]), True).graph.get_operations()]
    assert "cond" not in ops


def test_cond_branch_assigns_only_when_taken():
    v = jg.Variable(0.0)

    @jg.function(autograph=False)
    def f(x):
        return jg.cond(x > 0.0, lambda: v.assign_add(x).read_value(), lambda: v.read_value())

    f(jg.constant(2.0))
    f(jg.constant(-5.0))
    assert float(v.numpy()) == 2.0


def test_cond_errors_name_the_branches_and_line():
    def bad_structure(x):
        return jg.cond(x > 0.0, lambda: (x, x), lambda: x)

    with pytest.raises(Err, match="true_fn returns .* but false_fn returns") as e:
        jg.function(bad_structure, autograph=False)(jg.constant(1.0))
    assert "test_control.py" in str(e.value)

    def bad_dtype(x):
        return jg.cond(x > 0.0, lambda: x, lambda: jg.cast(x, jg.int32))

    with pytest.raises(Err, match="output 0 is float32\\[\\] in true_fn but int32\\[\\]"):
        jg.function(bad_dtype, autograph=False)(jg.constant(1.0))

    with pytest.raises(Err, match="pred must be a bool scalar, got float32\\[2\\]"):
        jg.function(lambda x: jg.cond(x, lambda: x, lambda: x), autograph=False)(
            jg.constant([1.0, 2.0]))


def test_cond_merges_differing_dims():
    def f(x, y):
        return jg.cond(x[0] > 0.0, lambda: x, lambda: y)

    cf = jg.function(f, autograph=False, backend="interpreter").get_concrete_function(
        S([2]), S([3]))  # the output's shape depends on the branch taken
    assert cf.graph.outputs[0].shape == (None,)
    close(cf(jg.constant([1.0, 2.0]), jg.constant([0.0, 0.0, 0.0])), [1.0, 2.0])
    assert cf(jg.constant([-1.0, 2.0]), jg.constant([0.0, 0.0, 0.0])).shape == (3,)


def newton_sqrt(a):
    def body(x, i):
        return 0.5 * (x + a / x), i + 1

    def cond(x, i):
        return jg.reduce_max(jg.abs(x * x - a)) > 1e-5

    return jg.while_loop(cond, body, (a, 0))


def test_while_loop_data_dependent_trip_count():
    a = jg.constant([2.0, 9.0, 0.25], jg.float64)
    (ex, ei), (tx, ti) = both(newton_sqrt, a)
    close(tx, np.sqrt([2.0, 9.0, 0.25]))
    close(ex, tx)
    assert int(ei) == int(ti) > 2


def test_while_loop_nested_structures_and_single_var():
    Acc = collections.namedtuple("Acc", "total count")

    def f(x):
        out = jg.while_loop(lambda s: s.count < 4,
                            lambda s: [Acc(s.total + x, s.count + 1)], [Acc(jg.zeros_like(x), 0)])
        single = jg.while_loop(lambda v: jg.reduce_sum(v) < 100.0, lambda v: v * 3.0, x)
        return out[0].total, single

    (e1, e2), (t1, t2) = both(f, jg.constant([1.0, 2.0]))
    close(t1, [4.0, 8.0])
    close(e1, t1)
    close(e2, t2)


def test_maximum_iterations_python_and_tensor():
    def f(x, m):
        return jg.while_loop(lambda v: True, lambda v: v * 2.0, [x], maximum_iterations=m)[0]

    x = jg.constant([1.0])
    close(jg.function(f, autograph=False)(x, 3), [8.0])
    close(jg.function(f, autograph=False)(x, jg.constant(4)), [16.0])
    close(f(x, 2), [4.0])


def test_loop_var_dtype_change_is_an_error():
    def f(x):
        return jg.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, jg.cast(v, jg.int32)),
                             (0, x))

    with pytest.raises(Err) as e:
        jg.function(f, autograph=False)(jg.constant([1.0]))
    msg = str(e.value)
    assert "loop var 1 is float32[1] before the loop but int32[1]" in msg
    assert "test_control.py" in msg


def test_loop_var_shape_change_needs_shape_invariants():
    def grow(x, inv):
        return jg.while_loop(lambda v: jg.size(v) < 8, lambda v: jg.concat([v, v], 0), [x],
                             shape_invariants=inv)[0]

    with pytest.raises(Err, match="loop var 0 has shape \\[2\\] before the loop but \\[4\\]"
                                  ".*shape_invariants"):
        jg.function(grow, autograph=False)(jg.constant([1.0, 2.0]), None)
    out = jg.function(grow, autograph=False, backend="interpreter")(  # shape grows per trip
        jg.constant([1.0, 2.0]), [jg.TensorShape([None])])
    close(out, [1.0, 2.0] * 4)


def test_while_cond_must_be_bool_scalar():
    with pytest.raises(Err, match="cond must return a bool scalar, got bool\\[2\\]"):
        jg.function(lambda x: jg.while_loop(lambda v: v > 0.0, lambda v: v, [x]),
                    autograph=False)(jg.constant([1.0, 2.0]))
    out = jg.function(lambda x: jg.while_loop(lambda v: v < 5.0, lambda v: v + 1.0, [x]),
                      autograph=False)(jg.constant([1.0]))  # a one-element bool is accepted
    close(out[0], [5.0])


def test_switch_case():
    def f(i, x):
        return jg.switch_case(i, [lambda: x, lambda: x * 2.0, lambda: x * 3.0])

    x = jg.constant([1.0, 2.0])
    traced = jg.function(f, autograph=False)
    for i in (0, 1, 2, 7):
        close(traced(jg.constant(i), x), f(i, x))
    close(f(jg.constant(1), x), [2.0, 4.0])


def test_control_flow_inside_loop_body_with_captures():
    def f(x, n):
        def body(i, acc):
            return i + 1, acc + jg.cond(i % 2 == 0, lambda: x, lambda: -x)
        return jg.while_loop(lambda i, acc: i < n, body, (0, jg.zeros_like(x)))[1]

    (e, t) = both(f, jg.constant([1.0, 3.0]), jg.constant(5))
    close(e, t)
    close(t, [1.0, 3.0])
