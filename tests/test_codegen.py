"""The cpu backend end to end: control flow compiled natively, variables updated in place,
None dims, empty / size-1 / non-contiguous inputs, boundary errors, out-of-range gather,
explain("llvm"/"asm"), random graphs (compiled == eager), and the one-native-call rule."""

import graph_gen
import numpy as np
import pytest
from hypothesis import given

import jitgraph as jg
from jitgraph import backends, errors, passes
from jitgraph.interpreter import interpret

S = jg.TensorSpec


def graph_of(f, *specs):
    return jg.function(f, backend="interpreter").get_concrete_function(*specs).graph


def compiled(f, *specs):
    return backends.get("cpu").compile(graph_of(f, *specs))


def both(f, specs, args):
    g = graph_of(f, *specs)
    got = backends.get("cpu").compile(g).run(args)
    want = interpret(g, args)
    for a, b in zip(got, want):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)
    return got


def newton(x):
    def body(y, i):
        return 0.5 * (y + x / y), i + 1

    def cond(y, i):
        return jg.reduce_max(jg.abs(y * y - x)) > 1e-4

    return jg.while_loop(cond, body, [x, jg.constant(0)], maximum_iterations=100)


def test_while_loop_runs_natively_and_matches():
    x = np.linspace(1.0, 50.0, 1000).astype(np.float32)
    y, n = both(newton, [S([None], jg.float32)], [x])
    np.testing.assert_allclose(y, np.sqrt(x), rtol=1e-4)
    assert int(n) > 3


def test_cond_and_nested_loops():
    def f(x):
        def outer(i, acc):
            inner = jg.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, a + x), [0, acc])[1]
            return i + 1, jg.cond(jg.reduce_sum(inner) > 10.0, lambda: inner * 0.5,
                                  lambda: inner)
        return jg.while_loop(lambda i, a: i < 4, outer, [0, jg.zeros_like(x)])[1]

    both(f, [S([3], jg.float32)], [np.array([1.0, 2.0, -0.5], np.float32)])


def test_loop_variable_swap_uses_temporaries():
    def f(a, b):
        return jg.while_loop(lambda i, x, y: i < 3, lambda i, x, y: (i + 1, y, x), [0, a, b])

    a, b = np.arange(3, dtype=np.float32), -np.arange(3, dtype=np.float32)
    _, x, y = both(f, [S([3], jg.float32)] * 2, [a, b])
    np.testing.assert_array_equal(x, b)


def test_variables_are_updated_in_place():
    v = jg.Variable(np.ones((2, 3), np.float32))
    w = jg.Variable(np.full(3, 2.0, np.float32))

    def step(x):
        old = v.read_value() * 1.0
        v.assign(v * w + x)
        return old, v.read_value()

    exe = compiled(step, S([2, 3], jg.float32))
    x = np.full((2, 3), 0.5, np.float32)
    before = v.numpy()
    old, new = exe.run([x])
    np.testing.assert_array_equal(old, before)
    np.testing.assert_allclose(new, before * 2.0 + 0.5)
    np.testing.assert_allclose(v.numpy(), new)
    exe.run([x])
    np.testing.assert_allclose(v.numpy(), (before * 2.0 + 0.5) * 2.0 + 0.5)


def test_outputs_are_fresh_arrays():
    exe = compiled(lambda x: (x, x * 2.0, x * 2.0), S([3], jg.float32))
    x = np.arange(3, dtype=np.float32)
    a, b, c = exe.run([x])
    assert a is not x and not np.shares_memory(a, x) and not np.shares_memory(b, c)
    a[0] = 100.0
    assert x[0] == 0.0


@pytest.mark.parametrize("shape", [(0,), (1,), (0, 3), (1, 1), (5, 1)])
def test_empty_and_size_one(shape):
    def f(x):
        return jg.exp(x) * 2.0, jg.reduce_sum(x, axis=-1), jg.reduce_mean(x * x)

    x = np.random.rand(*shape).astype(np.float64)
    specs = [S([None] * len(shape), jg.float64)]
    with np.errstate(all="ignore"):
        both(f, specs, [x])


def test_reductions_over_no_axes_are_identity_kernels():
    # keras' weighted loss mean ends in reduce_sum(loss / n * batch, axis=()) of a scalar:
    # fused into a "reduce" kernel whose root reduces over nothing
    def f(a, n, x):
        s = jg.reduce_sum(a / jg.cast(n, jg.float32) * 3.0, axis=[])
        return s, jg.reduce_mean(jg.exp(x), axis=()), jg.reduce_max(x * 2.0, axis=(),
                                                                    keepdims=True), \
            jg.reduce_mean(n * 3, axis=())

    specs = [S([], jg.float32), S([], jg.int32), S([None, 2], jg.float32)]
    x = np.random.rand(3, 2).astype(np.float32)
    got = both(f, specs, [np.array(3.0, np.float32), np.array(2, np.int32), x])
    assert got[0] == 4.5 and got[3] == 6
    np.testing.assert_allclose(got[1], np.exp(x), rtol=1e-6)


def test_non_contiguous_inputs():
    exe = compiled(lambda x, y: x + y, S([None, 4], jg.float32), S([4], jg.float32))
    x = np.arange(32, dtype=np.float32).reshape(4, 8)[:, ::2]
    y = np.arange(8, dtype=np.float32)[::2]
    np.testing.assert_array_equal(exe.run([x, y])[0], x + y)


def test_broadcasting_with_runtime_sizes():
    exe = compiled(lambda x, y: jg.reduce_sum(x * y, axis=0), S([None, None], jg.float32),
                   S([None, None], jg.float32))
    x = np.random.rand(5, 3).astype(np.float32)
    for y in (np.random.rand(5, 3), np.random.rand(1, 3), np.random.rand(5, 1)):
        y = y.astype(np.float32)
        np.testing.assert_allclose(exe.run([x, y])[0], (x * y).sum(0), rtol=1e-5)
    with pytest.raises(errors.InvalidArgumentError, match="multiply.*not broadcastable"):
        exe.run([x, np.ones((4, 3), np.float32)])


def test_bad_arguments_name_the_argument():
    exe = compiled(lambda x, y: x + y, S([None, 3], jg.float32), S([3], jg.float32))
    ok = np.ones((2, 3), np.float32)
    with pytest.raises(errors.InvalidArgumentError, match="argument 'y'.*shape \\[3\\].*\\[4\\]"):
        exe.run([ok, np.ones(4, np.float32)])
    with pytest.raises(errors.InvalidArgumentError, match="argument 'x'.*float32.*float64"):
        exe.run([ok.astype(np.float64), np.ones(3, np.float32)])
    with pytest.raises(errors.InvalidArgumentError, match="takes 2 arguments"):
        exe.run([ok])


def test_shapes_that_depend_on_data_are_refused_before_native_code_runs():
    # a cond whose branches differ in shape, a loop var that grows: the compiled code would
    # write past the buffers planned from the argument shapes, so the plan refuses them
    cond = compiled(lambda x, y: jg.cond(x[0] > 0.0, lambda: x, lambda: y),
                    S([None], jg.float32), S([None], jg.float32))
    np.testing.assert_array_equal(cond.run([np.ones(2, np.float32), np.zeros(2, np.float32)])[0],
                                  [1.0, 1.0])
    with pytest.raises(errors.UnimplementedError, match=r"cond \(test_codegen.py:\d+\): "
                       r"output 0 of its branches is \[2\] in one and \[3\]"):
        cond.run([np.ones(2, np.float32), np.zeros(3, np.float32)])

    def grow(x):
        return jg.while_loop(lambda v: jg.size(v) < 8, lambda v: jg.concat([v, v], 0), [x],
                             shape_invariants=[jg.TensorShape([None])])[0]

    with pytest.raises(errors.UnimplementedError, match=r"loop var 0 is \[2\] before the "
                       r"loop and \[4\] after one iteration.*backend='interpreter'"):
        compiled(grow, S([2], jg.float32))


@pytest.mark.parametrize("bad", [3, -1, 1 << 40])
def test_gather_out_of_range_raises(bad):
    exe = compiled(lambda p, i: jg.gather(p, i), S([3], jg.float32), S([None], jg.int64))
    p = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(exe.run([p, np.array([2, 0])])[0], [3.0, 1.0])
    with pytest.raises(errors.OutOfRangeError, match=r"^gather \(test_codegen.py:\d+\): an "
                       "index is out of range"):
        exe.run([p, np.array([0, bad, 1])])
    # a failed call leaves nothing behind: the next call with good indices succeeds
    np.testing.assert_array_equal(exe.run([p, np.array([1])])[0], [2.0])


def test_scatter_out_of_range_names_the_op_and_line():
    exe = compiled(lambda i: jg.tensor_scatter_nd_update(jg.zeros([4]), i, jg.ones([2])),
                   S([2, 1], jg.int32))
    np.testing.assert_array_equal(exe.run([np.array([[1], [3]], np.int32)])[0], [0, 1, 0, 1])
    with pytest.raises(errors.OutOfRangeError, match=r"^tensor_scatter\w* \(test_codegen"):
        exe.run([np.array([[1], [4]], np.int32)])


def test_unsupported_op_fails_at_compile_time_naming_it(monkeypatch):
    from jitgraph.codegen import lower

    monkeypatch.delitem(lower.LOWER, "transpose")
    with pytest.raises(errors.UnimplementedError, match="transpose.*test_codegen.py"):
        compiled(lambda x: jg.transpose(x) + 1.0, S([2, 3], jg.float32))


def _random_draws(x):
    return (jg.random.uniform([5, 7], seed=3) + x,
            jg.random.uniform([999], minval=-2.0, maxval=5.0, dtype=jg.float64),
            jg.random.uniform([300], minval=-1.0, maxval=3.0, dtype=jg.float16),
            jg.random.uniform([999], minval=-5, maxval=17, dtype=jg.int32),
            jg.random.uniform([999], minval=-(1 << 40), maxval=1 << 62, dtype=jg.int64),
            jg.random.normal([2000], mean=1.0, stddev=2.0),
            jg.random.normal([3, 500], dtype=jg.float64),
            jg.random.truncated_normal([3000], stddev=0.5, dtype=jg.float64),
            jg.random.truncated_normal([100], dtype=jg.float16))


def test_random_ops_match_the_interpreter_call_after_call():
    # Philox4x32-10 in native code: uniform bit-exact, normal to float tolerance; every
    # call advances the per-call-site counters exactly as the interpreter does
    jg.random.set_seed(4)
    g = graph_of(_random_draws, S([7], jg.float32))
    exe = backends.get("cpu").compile(g)
    x = np.ones(7, np.float32)
    for _ in range(2):
        start = [v.numpy() for v in g.variables]
        want = interpret(g, [x])
        after = [v.numpy() for v in g.variables]
        for v, s in zip(g.variables, start):
            v.assign(s)
        got = exe.run([x])
        for v, a in zip(g.variables, after):
            np.testing.assert_array_equal(v.numpy(), a)
        for i, (a, b) in enumerate(zip(got, want)):
            assert a.dtype == b.dtype and a.shape == b.shape
            if i < 5:
                np.testing.assert_array_equal(a, b)
            else:
                tol = 1e-3 if a.dtype == np.float16 else 1e-6
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert exe.program.final_copies == []  # the draws are written into the outputs
    lo, hi = got[3].min(), got[3].max()
    assert lo >= -5 and hi < 17 and hi - lo > 15
    assert np.abs(got[7]).max() < 1.0 and abs(got[5].mean() - 1.0) < 0.2


def test_dropout_in_a_compiled_function_is_the_interpreters():
    def f(x):
        return jg.nn.dropout(x, rate=0.5, seed=7)

    g = graph_of(f, S([64, 33], jg.float32))
    exe = backends.get("cpu").compile(g)
    x = np.random.rand(64, 33).astype(np.float32) + 1.0
    start = [v.numpy() for v in g.variables]
    want = interpret(g, [x])[0]
    for v, s in zip(g.variables, start):
        v.assign(s)
    got = exe.run([x])[0]
    np.testing.assert_array_equal(got, want)
    assert 0.3 < (got == 0).mean() < 0.7


def test_explain_llvm_and_asm():
    g = graph_of(lambda x: jg.tanh(x) * 2.0, S([None], jg.float32))
    cpu = backends.get("cpu")
    ir = cpu.explain(g, "llvm")
    assert "define" in ir and "entry" in ir and "<16 x float>" in ir  # vectorized for AVX-512
    asm = cpu.explain(g, "asm")
    assert "zmm" in asm or "ymm" in asm


def test_matmul_bias_relu_and_batch():
    def f(x, w, b):
        return jg.nn.relu(jg.matmul(x, w) + b), jg.matmul(x, w, transpose_b=False)

    x = np.random.rand(2, 5, 4).astype(np.float32)
    w = np.random.rand(4, 3).astype(np.float32)
    b = np.random.rand(3).astype(np.float32)
    both(f, [S([None, 5, 4], jg.float32), S([4, 3], jg.float32), S([3], jg.float32)],
         [x, w, b])


@given(graph_gen.graphs())
def test_random_graphs_compile_and_match(case):
    out = backends.get("cpu").compile(passes.optimize(case.graph)).run(case.args)
    graph_gen.assert_same(out, case.expected)


def test_print_runs_at_call_time_like_the_interpreter(capsys):
    def f(x):
        jg.print("x is", x, "sum", jg.reduce_sum(x * 2.0))
        return x + 1.0

    g = graph_of(f, S([None], jg.float32))
    exe = backends.get("cpu").compile(g)
    capsys.readouterr()
    for n in (4, 2):
        exe.run([np.arange(n, dtype=np.float32)])
        got = capsys.readouterr().out
        interpret(g, [np.arange(n, dtype=np.float32)])
        assert got == capsys.readouterr().out and got.startswith("x is [0 1")


def _loop_loss(x):
    def body(v, i):
        return jg.sin(v) * 1.5 + x, i + 1

    v = jg.while_loop(lambda v, i: jg.reduce_sum(v) < 20.0, body, [x, 0],
                      maximum_iterations=30)[0]
    return jg.reduce_sum(v * v)


def test_loop_gradients_keep_their_stacks_in_native_code():
    # jg.grad of a while loop saves every iteration in stacks (a run-time number of rows);
    # first and second derivatives compiled == interpreted
    x = np.array([0.5, 1.0, 2.0])
    grad = lambda x: jg.grad(_loop_loss)(x)  # noqa: E731
    got = both(grad, [S([None], jg.float64)], [x])[0]
    assert np.all(np.isfinite(got)) and np.any(got != 0.0)

    def f(x):
        return jg.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, jg.sin(y) * x),
                             [jg.constant(0), x])[1]

    both(lambda x: jg.grad(jg.grad(f))(x), [S([], jg.float64)], [np.array(0.8)])


def test_loop_gradient_with_equal_initial_loop_vars():
    # two loop vars start from the same value (an LSTM's zero h and c): their stack_allocs
    # are equal ops, which CSE keeps apart (each loop var needs its own block)
    xs = np.random.default_rng(0).standard_normal((3, 2, 2))

    def f(r):
        def body(t, h, c):
            z = jg.gather(jg.constant(xs), t) + h * r
            return t + 1, jg.tanh(c + z), c + z

        z0 = jg.ones((2, 2), dtype=jg.float64) * 0.3
        return jg.reduce_sum(jg.while_loop(lambda t, h, c: t < 3, body, (0, z0, z0))[1])

    both(lambda r: jg.grad(f)(r), [S([2, 2], jg.float64)], [xs[0] * 0.5])


def test_stack_rows_are_checked_and_writes_keep_value_semantics():
    from jitgraph.ops import loop_state as ls

    def f(x, i):
        s = ls.stack_write(ls.stack_alloc(3, x), 1, x)
        t = ls.stack_write(s, 2, x * 2.0)  # s is read below: t must be a copy
        return ls.stack_read(s, 2), ls.stack_read(t, 2), ls.stack_read(t, i)

    exe = compiled(f, S([2], jg.float32), S([], jg.int32))
    x = np.array([1.0, -1.0], np.float32)
    a, b, c = exe.run([x, np.array(1, np.int32)])
    np.testing.assert_array_equal(a, [0.0, 0.0])
    np.testing.assert_array_equal(b, x * 2.0)
    np.testing.assert_array_equal(c, x)
    for bad in (3, -1):
        with pytest.raises(errors.OutOfRangeError, match="row index is out of range"):
            exe.run([x, np.array(bad, np.int32)])


def test_stack_blocks_are_reused_across_calls_and_zeroed_again():
    from jitgraph.ops import loop_state as ls

    def f(x, n):
        s = ls.stack_alloc(n, x)
        before = ls.stack_read(s, 0)  # a fresh stack's rows are zeros
        return before, ls.stack_read(ls.stack_write(s, 0, x), 0)

    exe = compiled(f, S([3], jg.float32), S([], jg.int32))
    x = np.array([1.0, 2.0, 3.0], np.float32)
    for n in (4, 4, 9, 4):
        before, after = exe.run([x * n, np.array(n, np.int32)])
        np.testing.assert_array_equal(before, np.zeros(3, np.float32))
        np.testing.assert_array_equal(after, x * n)
        assert sum(len(v) for v in exe._spare.values()) == 1  # kept for the next call


def test_arithmetic_on_stacks_of_different_lengths_is_an_error_not_an_overread():
    """Whole-stack elementwise ops (second derivatives) on stacks whose row counts differ
    at run time: OutOfRangeError, and only the rows both have are read."""
    from jitgraph.ops import loop_state as ls

    def f(x, n, m):
        s = ls.stack_write(ls.stack_alloc(n, x), 0, x)
        t = ls.stack_write(ls.stack_alloc(m, x), 0, x * 3.0)
        return ls.stack_read(s + t, 0)

    exe = compiled(f, S([4], jg.float32), S([], jg.int32), S([], jg.int32))
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(exe.run([x, np.array(2, np.int32), np.array(2, np.int32)])[0],
                                  x * 4.0)
    for n, m in ((1, 1000), (1000, 1)):
        with pytest.raises(errors.OutOfRangeError):
            exe.run([x, np.array(n, np.int32), np.array(m, np.int32)])


_CACHE_SCRIPT = """
import numpy as np, jitgraph as jg
from jitgraph.codegen import llvm_cpu
f = jg.function(lambda x: jg.reduce_sum(jg.tanh(x) * 2.0 + x * x), backend="cpu")
out = f(jg.constant(np.arange(5, dtype=np.float32))).numpy()
print(llvm_cpu.STATS["cache_hits"], llvm_cpu.STATS["cache_misses"], repr(float(out)))
"""


def test_second_process_loads_native_code_from_the_compile_cache(tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, JITGRAPH_CACHE_DIR=str(tmp_path), PYTHONPATH=root)

    def run():
        r = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        hits, misses, value = r.stdout.split()
        return int(hits), int(misses), float(value)

    want = float(np.sum(np.tanh(np.arange(5.0)) * 2.0 + np.arange(5.0) ** 2))
    first = run()
    assert first[:2] == (0, 1) and first[2] == pytest.approx(want, rel=1e-6)
    assert run() == (1, 0, first[2])  # the second process compiles nothing
    (entry,) = tmp_path.glob("*/*.jgc")
    blob = bytearray(entry.read_bytes())
    blob[-40:] = bytes(40)  # corrupt the object code: ignored, rebuilt and stored again
    entry.write_bytes(bytes(blob))
    assert run() == (0, 1, first[2])
    assert run() == (1, 0, first[2])


def test_specialized_dispatcher_and_its_fallbacks():
    v = jg.Variable(np.zeros(3, np.float32))

    def f(x, y):
        v.assign_add(x)
        return x * y, v.read_value()

    exe = compiled(f, S([3], jg.float32), S([], jg.float32))
    assert "run" in vars(exe)  # the straight-line dispatcher of a graph without None dims
    x, y = np.arange(3, dtype=np.float32), np.array(2.0, np.float32)
    for args in ([x, y], [x[::-1].copy()[::-1], y], [list(x), np.float32(2.0)], (x, y)):
        prod, acc = exe.run(args)
        np.testing.assert_array_equal(prod, x * 2.0)
    np.testing.assert_array_equal(acc, x * 4)
    with pytest.raises(errors.InvalidArgumentError, match="argument 'x'.*float64"):
        exe.run([x.astype(np.float64), y])
    with pytest.raises(errors.InvalidArgumentError, match="takes 2 arguments"):
        exe.run([x])


def _residual(x, w1, w2):
    h = jg.nn.relu(jg.matmul(x, w1) + 1.0)
    h = h + jg.tanh(jg.matmul(h, w2))  # h, matmul and the sum live here: in place, two
    h = h + jg.tanh(jg.matmul(h, w1))
    return jg.reduce_sum(h * h, axis=1)


def test_elementwise_kernels_overwrite_inputs_that_die_there(monkeypatch):
    from jitgraph import codegen

    rng = np.random.default_rng(1)
    args = [rng.standard_normal((16, 32)).astype(np.float32)] + \
        [rng.standard_normal((32, 32)).astype(np.float32) * 0.2 for _ in range(2)]
    specs = [S([16, 32], jg.float32), S([32, 32], jg.float32), S([32, 32], jg.float32)]
    arena = {}
    for flag in (False, True):
        monkeypatch.setattr(codegen, "IN_PLACE", flag)
        exe = compiled(_residual, *specs)
        np.testing.assert_allclose(exe.run(args)[0], interpret(graph_of(_residual, *specs),
                                                               args)[0], rtol=1e-5)
        arena[flag] = exe._arena.size
    assert arena[True] < arena[False]  # three live [16, 32] buffers become two


def test_no_in_place_write_over_an_input_read_at_other_elements():
    from jitgraph import dtypes
    from jitgraph.codegen import kernels as K
    from jitgraph.passes.buffers import in_place_pairs

    a, out = K.Storage("arena", 0), K.Storage("arena", 1)
    f32 = dtypes.float32

    def kernel(*loads):
        return ("kernel", K.Kernel("k", [4, 8], K.Apply("add", f32, list(loads)), out, f32))

    same = K.Load(a, f32, [8, 1])
    assert in_place_pairs([kernel(same, same)]) == {out: a}
    for other in (K.Load(a, f32, [1, 4]), K.Load(a, f32, [8, 1], offset=1),
                  K.Load(a, f32, [0, 1])):
        assert in_place_pairs([kernel(same, other)]) == {}
    assert in_place_pairs([kernel(K.Load(a, dtypes.float64, [8, 1]))]) == {}


def test_specialized_dispatcher_with_none_dims():
    exe = compiled(lambda x, y: x * y, S([None, 3], jg.float32), S([None, None], jg.float32))
    assert "run" in vars(exe)
    rng = np.random.default_rng(2)
    for n in (2, 5, 2, 0):
        x = rng.random((n, 3), dtype=np.float32)
        for y in (rng.random((n, 3), dtype=np.float32), np.ones((1, 1), np.float32),
                  rng.random((n, 6), dtype=np.float32)[:, ::2]):
            np.testing.assert_array_equal(exe.run([x, y])[0], x * y)
    with pytest.raises(errors.InvalidArgumentError, match=r"argument 'x'.*\[\?,3\], got \[2,4\]"):
        exe.run([np.ones((2, 4), np.float32), np.ones((1, 1), np.float32)])


def test_scatters_with_computed_indices_keep_their_index_buffers():
    """A scatter's indices computed in the function live in the arena until the scatter
    reads them (its zero fill used to be placed over them: every update landed at 0)."""
    i = np.array([0, 1, 2, 1], np.int32)
    t = np.arange(10, dtype=np.float32)
    fns = [
        lambda i, t: jg.scatter_nd(jg.expand_dims(i * 3 + 1, -1), jg.ones([4]), [10]),
        lambda i, t: jg.tensor_scatter_nd_update(t, jg.expand_dims(i * 2, -1),
                                                 jg.cast(i, jg.float32) + 100.0),
        lambda i, t: jg.grad(lambda p: jg.reduce_sum(jg.gather(p, (i * 2 + 1) % 10) * 3.0))(t),
        lambda i, t: jg.math.confusion_matrix(i, (i + 1) % 3, num_classes=3),
    ]
    for fn in fns:
        want = jg.function(fn, backend="interpreter")(i, t).numpy()
        np.testing.assert_array_equal(jg.function(fn)(i, t).numpy(), want)
