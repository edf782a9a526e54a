"""Loop-copy elision (codegen/loop_copies.py): an elementwise kernel that produces a loop
variable writes its carried buffer in place; anything else keeps its copy."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import _Build


def _body_copies(fn, *args):
    graph = jg.function(fn).get_concrete_function(*args).graph
    steps = _Build(graph).program.steps
    loops = [s for s in steps if s[0] == "while"]
    assert len(loops) == 1
    return sum(1 for s in loops[0][3] if s[0] == "copy")


def _check(fn, *args, rtol=1e-6):
    got = jg.function(fn)(*args)
    want = jg.function(fn, backend="interpreter")(*args)
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=rtol)


def newton(a):
    x = a
    while jg.reduce_max(jg.abs(x * x - a) / a) > 1e-5:
        x = 0.5 * (x + a / x)
    return x


def test_newton_body_writes_in_place():
    a = np.linspace(0.5, 50.0, 1000, dtype=np.float32).reshape(10, 100)
    assert _body_copies(newton, jg.constant(a)) == 0
    _check(newton, a)


def transposed(x):
    for _ in jg.range(3):
        x = jg.transpose(x) * 2.0 + x  # one kernel reads x at (i, j) and at (j, i)
    return x


def gathered(x):
    for _ in jg.range(3):
        x = jg.gather(x, [2, 0, 1]) + x
    return x


def reversed_add(x):
    for _ in jg.range(3):
        x = x[::-1] + 1.0  # the slice is its own kernel: the add may write in place
    return x


@pytest.mark.parametrize("fn,shape", [(transposed, (3, 3)), (gathered, (3,))])
def test_loops_with_other_index_reads(fn, shape):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    _check(fn, x)


def test_only_same_index_reads_allow_in_place():
    from jitgraph.codegen import kernels as K
    from jitgraph.passes.buffers import reads_at_own_index as _same_index_reads

    carried, other = K.Storage("arena", 0), K.Storage("arena", 1)

    def kernel(*loads):
        body = K.Apply("add", jg.float32, list(loads), {})
        return K.Kernel("k", [3, 4], body, K.Storage("arena", 2), jg.float32)

    same = K.Load(carried, jg.float32, [4, 1])
    assert _same_index_reads(kernel(same, K.Load(other, jg.float32, [1, 3])), carried)
    assert not _same_index_reads(kernel(same, K.Load(carried, jg.float32, [1, 3])), carried)
    assert not _same_index_reads(kernel(K.Load(carried, jg.float32, [4, 1], offset=1)),
                                 carried)
    assert not _same_index_reads(kernel(K.Load(carried, jg.float32, [0, 0], index=K.Const(
        jg.int64, 2))), carried)


def test_reads_in_an_earlier_kernel_allow_in_place():
    x = np.arange(7, dtype=np.float32)
    assert _body_copies(reversed_add, jg.constant(x)) == 0
    _check(reversed_add, x)


def fib(a, b):
    for _ in jg.range(6):
        a, b = b, a + b
    return a, b


def test_swapped_loop_variables():
    a, b = np.ones(5, np.float32), np.arange(5, dtype=np.float32)
    _check(fib, a, b)


def centered(x):
    for _ in jg.range(3):
        x = x - jg.reduce_mean(x) + x * 0.5
    return x


def test_reduction_then_map_of_the_same_variable():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert _body_copies(centered, jg.constant(x)) == 0
    _check(centered, x, rtol=1e-5)


def _while_step(fn, *args):
    graph = jg.function(fn).get_concrete_function(*args).graph
    steps = _Build(graph).program.steps
    return [s for s in steps if s[0] == "while"][0], steps


def test_rotated_newton_loop_is_one_kernel_per_iteration():
    a = np.linspace(0.5, 50.0, 1000, dtype=np.float32)
    loop, steps = _while_step(newton, jg.constant(a))
    assert loop[2] == []  # the condition runs before the loop and at the end of the body
    kernels = [s[1] for s in loop[3] if s[0] == "kernel"]
    # the update joined the convergence test's reduction, which uses its value
    assert any(k.siblings for k in kernels) and len(kernels) == 2  # + the predicate
    _check(newton, a)


def limited(x):
    return jg.while_loop(lambda v: jg.reduce_sum(v) < 1e9, lambda v: (v * 2.0 + 1.0,),
                         (x,), maximum_iterations=5)[0]


def never(x):
    return jg.while_loop(lambda v: jg.reduce_max(v) < 0.0, lambda v: (v * 3.0,), (x,))[0]


def nested(x):
    def outer_body(v, i):
        w = jg.while_loop(lambda u: jg.reduce_sum(u) < 100.0 * (i + 1),
                          lambda u: (u + 1.0,), (v,))[0]
        return w * 0.5, i + 1

    return jg.while_loop(lambda v, i: i < 3, outer_body, (x, jg.constant(0.0)))[0]


@pytest.mark.parametrize("fn", [limited, never, nested])
def test_rotated_loops_keep_their_semantics(fn):
    x = np.linspace(0.0, 1.0, 50, dtype=np.float32)
    _check(fn, x, rtol=1e-6)
