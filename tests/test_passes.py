"""The optimization passes: golden IR before -> after for each pass, effects that must survive,
and property tests on random graphs (every pass and the whole pipeline preserve results and
produce graphs the verifier accepts)."""

import io
import textwrap

import graph_gen
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import jitgraph as jg
from jitgraph import passes, tracing
from jitgraph.ir import Graph, format_graph, verify
from jitgraph.ir.verify import VerificationError
from jitgraph.ops.core import apply
from jitgraph.passes import canonicalize, constant_fold, cse, dce, simplify
from jitgraph.passes.pipeline import optimize

PASSES = dict(passes.PIPELINE)


def trace(fn, *params):
    """Graph of ``fn`` traced on placeholders ``params`` = (name, dtype, shape) triples."""
    g = Graph(fn.__name__)
    with tracing.graph_scope(g):
        xs = [tracing.placeholder(g, n, d, s) for n, d, s in params]
        out = fn(*xs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    g.outputs = [o._ir for o in outs]
    return verify(g)


def assert_ir(graph, expected):
    """``graph`` prints as ``expected`` (file:line comments left out); shows the actual text
    on failure."""
    verify(graph)
    actual = format_graph(graph, with_loc=False).strip()
    expected = textwrap.dedent(expected).strip()
    assert actual == expected, f"IR differs. Actual:\n{actual}\n\nExpected:\n{expected}"


def run(graph, *args):
    return graph_gen.run(graph, list(args))


X = ("x", jg.float32, (None, 3))


# ----------------------------------------------------------------------------- canonicalize


def test_canonicalize_golden():
    def f(x):
        a = 2.0 * x
        b = jg.stop_gradient(jg.identity(a)) / 4.0
        c = b / 3.0
        return jg.maximum(0.0, c)

    g = trace(f, X)
    assert_ir(g, """
        graph f(%x: f32[?,3]) -> (f32[?,3])
          %constant: f32[] = constant {value=2.0}
          %multiply: f32[?,3] = multiply %constant, %x
          %identity: f32[?,3] = identity %multiply
          %stop_gradient: f32[?,3] = stop_gradient %identity
          %constant_1: f32[] = constant {value=4.0}
          %divide: f32[?,3] = divide %stop_gradient, %constant_1
          %constant_2: f32[] = constant {value=3.0}
          %divide_1: f32[?,3] = divide %divide, %constant_2
          %constant_3: f32[] = constant {value=0.0}
          %maximum: f32[?,3] = maximum %constant_3, %divide_1
          return %maximum
    """)
    assert_ir(canonicalize.canonicalize(g), """
        graph f(%x: f32[?,3]) -> (f32[?,3])
          %constant: f32[] = constant {value=2.0}
          %multiply: f32[?,3] = multiply %x, %constant
          %constant_1: f32[] = constant {value=4.0}
          %constant_4: f32[] = constant {value=0.25}
          %multiply_1: f32[?,3] = multiply %multiply, %constant_4
          %constant_2: f32[] = constant {value=3.0}
          %divide_1: f32[?,3] = divide %multiply_1, %constant_2
          %constant_3: f32[] = constant {value=0.0}
          %maximum: f32[?,3] = maximum %divide_1, %constant_3
          return %maximum
    """)


def test_canonicalize_one_reshape_form():
    def f(x, y):
        a = jg.reshape(y, [-1])  # fully known: spelled (6,)
        b = apply("expand_squeeze", x, src_axes=(-1, 0, 1))  # one unknown dim: a reshape
        return a, b, jg.zeros_like(y), apply("shape", y, out_type=jg.int32)

    g = trace(f, X, ("y", jg.float32, (2, 3)))
    assert_ir(canonicalize.canonicalize(g), """
        graph f(%x: f32[?,3], %y: f32[2,3]) -> (f32[6], f32[1,?,3], f32[2,3], i32[2])
          %reshape_1: f32[6] = reshape %y {shape=(6,)}
          %reshape_2: f32[1,?,3] = reshape %x {shape=(1, -1, 3)}
          %fill: f32[2,3] = fill {dtype=float32, shape=(2, 3), value=0}
          %constant: i32[2] = constant {value=[2, 3]}
          return %reshape_1, %reshape_2, %fill, %constant
    """)


def test_canonicalize_divides_by_non_powers_of_two_stay():
    def f(x):
        return x / np.array([2.0, 0.1, 8.0], np.float32), x / np.float32(1e-45)

    g = canonicalize.canonicalize(trace(f, X))
    assert [op.type for op in g.ops if op.type not in ("placeholder", "constant")] == \
        ["divide", "divide"]
    h = canonicalize.canonicalize(trace(lambda x: x / np.array([2.0, 0.5, -8.0], np.float32), X))
    assert [op.type for op in h.ops if op.type not in ("placeholder", "constant")] == \
        ["multiply"]
    x = np.random.uniform(-3, 3, (4, 3)).astype(np.float32)
    np.testing.assert_array_equal(run(h, x)[0], x / np.array([2.0, 0.5, -8.0], np.float32))


# ----------------------------------------------------------------------------- constant_fold


def test_constant_fold_golden():
    def f(x):
        c = jg.constant([1.0, 2.0, 3.0]) * 2.0 + jg.reduce_sum(jg.ones([2, 3]), axis=0)
        return x * c + jg.cast(jg.constant(7), jg.float32)

    g = constant_fold.constant_fold(trace(f, X))
    assert_ir(dce.dce(g), """
        graph f(%x: f32[?,3]) -> (f32[?,3])
          %constant_6: f32[3] = constant {value=[4.0, 6.0, 8.0]}
          %multiply_1: f32[?,3] = multiply %x, %constant_6
          %constant_7: f32[] = constant {value=7.0}
          %add_1: f32[?,3] = add %multiply_1, %constant_7
          return %add_1
    """)


def test_constant_fold_caps_size():
    big = constant_fold.MAX_ELEMENTS * 2

    def f(x):
        return jg.reduce_sum(jg.ones([big]) * 2.0) + x, jg.ones([3]) * 2.0 + x

    g = dce.dce(constant_fold.constant_fold(trace(f, X)))
    big_consts = [op for op in g.ops if op.type == "constant" and op.attrs["value"].size > 4]
    assert big_consts == []
    types = [op.type for op in g.ops]
    assert types.count("fill") == 1 and "reduce_sum" in types  # the big one stays computed
    assert len([op for op in g.ops if op.type == "constant" and op.outputs[0].shape == (3,)]) == 1
    x = np.ones((2, 3), np.float32)
    out = run(g, x)
    np.testing.assert_array_equal(out[0], np.full((2, 3), 2.0 * big + 1, np.float32))
    np.testing.assert_array_equal(out[1], np.full((2, 3), 3.0, np.float32))


def test_constant_fold_keeps_state_and_errors():
    v = jg.Variable([1.0, 2.0, 3.0])

    def f(x):
        r = jg.random.uniform([3])
        bad = jg.pow(jg.constant(2), jg.constant(-1))  # raises at run time, not while folding
        return x + v * 2.0 + r, bad

    g = constant_fold.constant_fold(trace(f, X))
    types = [op.type for op in g.ops]
    assert "read_variable" in types and "random_uniform" in types and "pow" in types


# ----------------------------------------------------------------------------- cse


def test_cse_golden():
    def f(x):
        a = jg.exp(x) * 2.0
        b = jg.exp(x) * 2.0
        s = jg.reduce_sum(x, axis=0)
        return a + b, s + jg.reduce_sum(x, axis=0) + jg.reduce_max(x, axis=0)

    g = trace(f, X)
    assert_ir(cse.cse(g), """
        graph f(%x: f32[?,3]) -> (f32[?,3], f32[3])
          %exp: f32[?,3] = exp %x
          %constant: f32[] = constant {value=2.0}
          %multiply: f32[?,3] = multiply %exp, %constant
          %reduce_sum: f32[3] = reduce_sum %x {axis=(0,), keepdims=False}
          %add: f32[?,3] = add %multiply, %multiply
          %add_1: f32[3] = add %reduce_sum, %reduce_sum
          %reduce_max: f32[3] = reduce_max %x {axis=(0,), keepdims=False}
          %add_2: f32[3] = add %add_1, %reduce_max
          return %add, %add_2
    """)


def test_cse_compares_array_attributes_by_value():
    def f(x):
        a = x + np.array([1.0, 2.0, 3.0], np.float32)
        b = x + np.array([1.0, 2.0, 3.0], np.float32)
        c = x + np.array([1.0, 2.0, 4.0], np.float32)
        d = x + np.array([0.0, 0.0, 0.0], np.float32)
        e = x + np.array([-0.0, 0.0, 0.0], np.float32)  # -0.0 is another constant
        return a, b, c, d, e

    g = cse.cse(trace(f, X))
    outs = [v.op.name for v in g.outputs]
    assert outs[0] == outs[1] and len(set(outs)) == 4
    assert len([op for op in g.ops if op.type == "constant"]) == 4


def test_cse_does_not_merge_reads_across_assign():
    v = jg.Variable([1.0, 2.0, 3.0], name="v")

    def f(x):
        a = v * x
        b = v * x  # same version of v: merged with a
        v.assign(a + b)
        c = v * x  # after the assign: a new read
        return a, b, c

    g = cse.cse(trace(f, ("x", jg.float32, (3,))))
    reads = [op for op in g.ops if op.type == "read_variable"]
    assert len(reads) == 2
    a, b, c = g.outputs
    assert a is b and c is not a
    assert c.op.inputs[0].op is reads[1]
    v.assign([1.0, 2.0, 3.0])
    out = run(g, np.ones(3, np.float32))
    np.testing.assert_array_equal(out[2], np.array([2.0, 4.0, 6.0], np.float32))


def test_cse_never_merges_stateful_ops():
    def f(x):
        jg.print("x", x)
        jg.print("x", x)
        return jg.random.uniform([3]) + jg.random.uniform([3]) + x

    g = cse.cse(trace(f, X))
    types = [op.type for op in g.ops]
    assert types.count("print") == 2 and types.count("random_uniform") == 2
    assert types.count("assign_variable") == 2


def test_cse_keeps_equal_stack_allocations_apart():
    from jitgraph.ops import loop_state as ls

    def f(x):  # two loops carry these: each writes its own block in place
        return ls.stack_alloc(3, x), ls.stack_alloc(3, x), x + 1.0, x + 1.0

    types = [op.type for op in cse.cse(trace(f, X)).ops]
    assert types.count("stack_alloc") == 2 and types.count("add") == 1


# ----------------------------------------------------------------------------- dce


def test_dce_golden_keeps_effects():
    v = jg.Variable([0.0, 0.0, 0.0], name="v")

    def f(x):
        unused = jg.exp(x) * 3.0  # noqa: F841 - dropped
        v.assign(jg.reduce_sum(x, axis=0))
        jg.print(x)
        jg.random.uniform([2])  # advances the generator even though unused
        return x * 2.0

    g = dce.dce(trace(f, X))
    text = format_graph(g, with_loc=False)
    assert "exp" not in text and "constant {value=3.0}" not in text
    assert [op.type for op in g.ops] == [
        "placeholder", "reduce_sum", "assign_variable", "print", "read_variable",
        "random_uniform", "constant", "add", "assign_variable", "constant", "multiply"]


def test_dce_random_value_dropped_only_with_its_counter_kept():
    # The counter update is an assign (kept); the draw itself is stateful and kept too.
    g = dce.dce(trace(lambda x: (jg.random.normal([2]), x)[1], X))
    types = [op.type for op in g.ops]
    assert "random_normal" in types and "assign_variable" in types


# ----------------------------------------------------------------------------- simplify


def test_simplify_golden():
    def f(x, n, m):
        a = (x * 1.0 + 0.0 - 0.0) / 1.0
        b = jg.negative(jg.negative(a))
        c = jg.transpose(jg.transpose(b, [1, 0]), [1, 0])
        d = jg.reshape(jg.reshape(c, [-1]), [-1, 3])
        e = jg.cast(jg.cast(d, jg.float64), jg.float32)
        f_ = jg.log(jg.exp(e)) + jg.pow(e, 2.0) + jg.pow(e, 0.5) + jg.pow(e, 1.0)
        k = n * 0 + jg.broadcast_to(n, [4])
        return f_, k, m * 0, jg.exp(jg.log(e))

    g = trace(f, X, ("n", jg.int32, (4,)), ("m", jg.int32, (None,)))
    g = dce.dce(simplify.simplify(canonicalize.canonicalize(g)))
    assert_ir(g, """
        graph f(%x: f32[?,3], %n: i32[4], %m: i32[?]) -> (f32[?,3], i32[4], i32[?], f32[?,3])
          %square: f32[?,3] = square %x
          %add_1: f32[?,3] = add %x, %square
          %sqrt: f32[?,3] = sqrt %x
          %add_2: f32[?,3] = add %add_1, %sqrt
          %add_3: f32[?,3] = add %add_2, %x
          %full_like: i32[?] = full_like %m {dtype=None, value=0}
          %log_1: f32[?,3] = log %x
          %exp_1: f32[?,3] = exp %log_1
          return %add_3, %n, %full_like, %exp_1
    """)


def test_simplify_keeps_float_times_zero_and_composes_perms():
    def f(x):
        t = jg.transpose(jg.transpose(x, [1, 2, 0]), [2, 0, 1])  # identity
        u = jg.transpose(jg.transpose(x, [1, 0, 2]), [0, 2, 1])
        return t * 0.0, u

    g = dce.dce(simplify.simplify(trace(f, ("x", jg.float32, (2, 3, 4)))))
    assert_ir(g, """
        graph f(%x: f32[2,3,4]) -> (f32[2,3,4], f32[3,4,2])
          %transpose_4: f32[3,4,2] = transpose %x {perm=(1, 2, 0)}
          %constant: f32[] = constant {value=0.0}
          %multiply: f32[2,3,4] = multiply %x, %constant
          return %multiply, %transpose_4
    """)
    x = np.random.uniform(-1, 1, (2, 3, 4)).astype(np.float32)
    x[0, 0, 0] = np.nan
    out = run(g, x)
    assert np.isnan(out[0][0, 0, 0])
    np.testing.assert_array_equal(out[1], np.transpose(np.transpose(x, [1, 0, 2]), [0, 2, 1]))


def test_simplify_keeps_constants_on_the_right():
    # x * 0 becomes a constant on the left of max: simplify puts it right, as canonicalize
    # does, so a second pipeline run changes nothing (found by hypothesis)
    g = trace(lambda x: jg.maximum(x * 0, x), ("x", jg.int32, ()))
    g = dce.dce(simplify.simplify(canonicalize.canonicalize(g)))
    assert_ir(g, """
        graph <lambda>(%x: i32[]) -> (i32[])
          %constant_1: i32[] = constant {value=0}
          %maximum: i32[] = maximum %x, %constant_1
          return %maximum
    """)


def test_simplify_inexact_cast_chain_stays():
    def f(x):
        return jg.cast(jg.cast(x, jg.int32), jg.float32)  # truncation: not the identity

    g = simplify.simplify(trace(f, X))
    assert [op.type for op in g.ops].count("cast") == 2


# ----------------------------------------------------------------------------- pipeline


def test_optimize_dump_after_named_pass(monkeypatch):
    g = trace(lambda x: jg.exp(x) + jg.exp(x), X)
    buf = io.StringIO()
    optimize(g, dump="cse", out=buf)
    text = buf.getvalue()
    assert text.count("--- after ") == 2 == text.count("--- after cse ---")  # cse runs twice
    assert text.count("= exp %x") == 2  # once in each dump

    monkeypatch.setenv("JITGRAPH_DUMP", "traced,optimized")
    buf = io.StringIO()
    optimize(g, out=buf)
    assert [line for line in buf.getvalue().splitlines() if line.startswith("---")] == [
        f"--- after {name} ---" for name, _ in passes.PIPELINE]


def test_optimize_verifies_after_each_pass_and_names_the_pass():
    def broken(graph):
        g = passes.rewrite(graph)
        g.outputs = [g.ops[-1].inputs[0]] if False else list(g.outputs)
        g.ops.reverse()  # uses before definitions
        return g

    g = trace(lambda x: jg.exp(jg.sin(x)), X)
    with pytest.raises(VerificationError, match="after pass 'broken'"):
        optimize(g, pipeline=[("cse", PASSES["cse"]), ("broken", broken)], verify=True)
    optimize(g, pipeline=[("broken", broken)], verify=False)  # off: no check


def test_passes_do_not_mutate_their_input():
    g = trace(lambda x: jg.identity(x * 1.0) + 2.0 * jg.exp(x) + 2.0 * jg.exp(x), X)
    before = str(g)
    ids = [id(op) for op in g.walk()]
    for _, fn in passes.PIPELINE:
        out = fn(g)
        assert not {id(op) for op in out.walk()} & set(ids)
    assert str(g) == before and [id(op) for op in g.walk()] == ids


def test_rewrite_rejects_a_wrongly_typed_replacement():
    g = trace(lambda x: jg.reduce_sum(x, axis=0), X)

    def wrong(rw, op, inputs):
        return [inputs[0]] if op.type == "reduce_sum" else None

    with pytest.raises(VerificationError, match=r"replaced f32\[3\] by f32\[\?,3\]"):
        passes.rewrite(g, wrong)


def test_pipeline_end_to_end_small_graph():
    def f(x):
        y = jg.transpose(jg.transpose(x * 1.0, [1, 0]), [1, 0])
        return jg.reduce_sum(y * jg.constant(2.0) * jg.constant(3.0), axis=1) + \
            jg.reduce_sum(y * 6.0, axis=1)

    g = optimize(trace(f, X), verify=True)
    assert_ir(g, """
        graph f(%x: f32[?,3]) -> (f32[?])
          %constant_1: f32[] = constant {value=2.0}
          %multiply_1: f32[?,3] = multiply %x, %constant_1
          %constant_2: f32[] = constant {value=3.0}
          %multiply_2: f32[?,3] = multiply %multiply_1, %constant_2
          %reduce_sum: f32[?] = reduce_sum %multiply_2 {axis=(1,), keepdims=False}
          %constant_3: f32[] = constant {value=6.0}
          %multiply_3: f32[?,3] = multiply %x, %constant_3
          %reduce_sum_1: f32[?] = reduce_sum %multiply_3 {axis=(1,), keepdims=False}
          %add: f32[?] = add %reduce_sum, %reduce_sum_1
          return %add
    """)
    x = np.random.uniform(-1, 1, (5, 3)).astype(np.float32)
    np.testing.assert_allclose(run(g, x)[0], 12 * x.sum(1), rtol=1e-6)


# ----------------------------------------------------------------------------- properties

# the graphs are small and quick to run: more examples than the profile's default
_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow],
                     max_examples=max(100, settings.default.max_examples))


@pytest.mark.parametrize("name", sorted(PASSES))
@_SETTINGS
@given(case=graph_gen.graphs())
def test_each_pass_preserves_results(name, case):
    before = str(case.graph)
    out = PASSES[name](case.graph)
    verify(out)
    graph_gen.assert_same(run(out, *case.args), case.expected)
    assert str(case.graph) == before


@_SETTINGS
@given(case=graph_gen.graphs(max_ops=12))
def test_pipeline_preserves_results(case):
    graph_gen.assert_same(run(case.graph, *case.args), case.expected)
    out = optimize(case.graph, verify=True)
    graph_gen.assert_same(run(out, *case.args), case.expected)
    # a second run finds nothing left to do
    assert format_graph(optimize(out), with_loc=False) == format_graph(out, with_loc=False)


# ----------------------------------------------------------------------------- control flow


def test_constant_fold_inlines_the_taken_branch():
    def f(x):
        a = jg.cond(jg.constant(1.0) > 0.0, lambda: x * 2.0, lambda: x - 1.0)
        b = jg.cond(jg.constant(-1.0) > 0.0, lambda: x * 2.0, lambda: x - 1.0)
        return a, b

    g = dce.dce(constant_fold.constant_fold(trace(f, X)))
    assert_ir(g, """
        graph f(%x: f32[?,3]) -> (f32[?,3], f32[?,3])
          %constant_2: f32[] = constant {value=2.0}
          %multiply: f32[?,3] = multiply %x, %constant_2
          %constant_7: f32[] = constant {value=1.0}
          %subtract_1: f32[?,3] = subtract %x, %constant_7
          return %multiply, %subtract_1
    """)
    x = np.random.uniform(-1, 1, (2, 3)).astype(np.float32)
    out = run(g, x)
    np.testing.assert_array_equal(out[0], x * 2)
    np.testing.assert_array_equal(out[1], x - 1)


def test_dce_prunes_unused_cond_outputs_and_loop_variables():
    def f(x):
        b, c = jg.cond(jg.reduce_sum(x) > 0.0, lambda: (jg.exp(x), x * 3.0), lambda: (x, x))
        i, y, z = jg.while_loop(lambda i, y, z: i < 3, lambda i, y, z: (i + 1, y * 0.5, z + y),
                                (0, x, x))
        return b + y

    g = trace(f, X)
    opt = dce.dce(g)
    assert_ir(opt, """
        graph f(%x: f32[?,3]) -> (f32[?,3])
          %reduce_sum: f32[] = reduce_sum %x {axis=(0, 1), keepdims=False}
          %constant: f32[] = constant {value=0.0}
          %greater: bool[] = greater %reduce_sum, %constant
          %cond: f32[?,3] = cond %greater
            then():
              %exp: f32[?,3] = exp %x
              return %exp
            else():
              return %x
          %constant_2: i32[] = constant {value=0}
          %while_loop: i32[], %while_loop:1: f32[?,3] = while_loop %constant_2, %x {maximum_iterations=None}
            cond(%lv: i32[], %lv_1: f32[?,3]):
              %constant_3: i32[] = constant {value=3}
              %less: bool[] = less %lv, %constant_3
              return %less
            body(%lv_3: i32[], %lv_4: f32[?,3]):
              %constant_4: i32[] = constant {value=1}
              %add: i32[] = add %lv_3, %constant_4
              %constant_5: f32[] = constant {value=0.5}
              %multiply_1: f32[?,3] = multiply %lv_4, %constant_5
              return %add, %multiply_1
          %add_2: f32[?,3] = add %cond, %while_loop:1
          return %add_2
    """)  # noqa: E501
    for x in (np.ones((2, 3), np.float32), -np.ones((1, 3), np.float32)):
        np.testing.assert_allclose(run(opt, x)[0], run(g, x)[0])


def test_loops_and_conds_with_effects_survive():
    v = jg.Variable([1.0, 2.0, 3.0], name="v")

    def f(x):
        jg.cond(jg.reduce_sum(x) > 0.0, lambda: v.assign(v * 2.0).value(), lambda: v.value())

        def body(i):
            v.assign_add(jg.ones([3]))
            return [i + 1]

        jg.while_loop(lambda i: i < 2, body, [0])
        return x * 2.0

    g = optimize(trace(f, ("x", jg.float32, (3,))), verify=True)
    types = [op.type for op in g.ops]
    assert "cond" in types and "while_loop" in types
    v.assign([1.0, 2.0, 3.0])
    run(g, np.ones(3, np.float32))
    np.testing.assert_array_equal(v.numpy(), [4.0, 6.0, 8.0])


def test_cse_reuses_outer_values_in_sub_graphs_but_not_reads_in_writing_loops():
    v = jg.Variable([1.0, 2.0, 3.0], name="v")

    def f(x):
        e = jg.exp(x)
        r = v * 1.0

        def body(i, y):
            y = y + jg.exp(x) + v  # exp merges with e; this read must not merge with r's
            v.assign(v * 2.0)  # its read merges with the one above: no write in between
            return i + 1, y

        return jg.while_loop(lambda i, y: i < 2, body, (0, x))[1] + e + r

    g = cse.cse(trace(f, ("x", jg.float32, (3,))))
    loop = next(op for op in g.ops if op.type == "while_loop")
    body = loop.subgraphs[1]
    assert "exp" not in [op.type for op in body.ops]
    assert [op.type for op in body.ops].count("read_variable") == 1
    assert [op.type for op in g.ops].count("read_variable") == 1
    x = np.zeros(3, np.float32)
    v.assign([1.0, 2.0, 3.0])
    out = run(g, x)[0]
    np.testing.assert_allclose(out, 3 + 4 * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
