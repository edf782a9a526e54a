"""Golden text of traced graphs, the verifier, copies and the Graphviz writer."""

import textwrap

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.ir import VerificationError, copy_graph, format_graph, free_values, to_dot, verify

S = jg.TensorSpec


def trace(fn, *specs):
    graph = jg.function(fn, autograph=False).get_concrete_function(*specs).graph
    verify(graph)
    return graph


def assert_ir(graph, expected):
    """Compares the printed IR (without file:line comments) with ``expected``."""
    actual = format_graph(graph, with_loc=False).strip()
    expected = textwrap.dedent(expected).strip()
    assert actual == expected, f"printed IR differs; actual text:\n{actual}"


def test_elementwise():
    def f(x, y):
        return jg.tanh(x * y + 1.0) - x / y

    assert_ir(trace(f, S([None, 3]), S([None, 3])), """
        graph f(%x: f32[?,3], %y: f32[?,3]) -> (f32[?,3])
          %multiply: f32[?,3] = multiply %x, %y
          %constant: f32[] = constant {value=1.0}
          %add: f32[?,3] = add %multiply, %constant
          %tanh: f32[?,3] = tanh %add
          %divide: f32[?,3] = divide %x, %y
          %subtract: f32[?,3] = subtract %tanh, %divide
          return %subtract
    """)


def test_reductions():
    def red(x):
        return (jg.reduce_sum(x, axis=1), jg.reduce_max(x, axis=-1, keepdims=True),
                jg.reduce_mean(x))

    assert_ir(trace(red, S([4, 3])), """
        graph red(%x: f32[4,3]) -> (f32[4], f32[4,1], f32[])
          %reduce_sum: f32[4] = reduce_sum %x {axis=(1,), keepdims=False}
          %reduce_max: f32[4,1] = reduce_max %x {axis=(1,), keepdims=True}
          %reduce_mean: f32[] = reduce_mean %x {axis=(0, 1), keepdims=False}
          return %reduce_sum, %reduce_max, %reduce_mean
    """)


def test_matmul():
    def mm(a, b):
        return jg.matmul(a, b, transpose_b=True)

    assert_ir(trace(mm, S([2, 3]), S([5, 3])), """
        graph mm(%a: f32[2,3], %b: f32[5,3]) -> (f32[2,5])
          %matmul: f32[2,5] = matmul %a, %b {transpose_a=False, transpose_b=True}
          return %matmul
    """)


def test_broadcasting_with_unknown_dims():
    def bias(x, b):
        return x + b * 2.0

    assert_ir(trace(bias, S([None, 3]), S([3])), """
        graph bias(%x: f32[?,3], %b: f32[3]) -> (f32[?,3])
          %constant: f32[] = constant {value=2.0}
          %multiply: f32[3] = multiply %b, %constant
          %add: f32[?,3] = add %x, %multiply
          return %add
    """)


def test_cond_subgraphs_are_indented():
    def c(x):
        return jg.cond(jg.reduce_sum(x) > 0.0, lambda: x * 2.0, lambda: -x)

    assert_ir(trace(c, S([3])), """
        graph c(%x: f32[3]) -> (f32[3])
          %reduce_sum: f32[] = reduce_sum %x {axis=(0,), keepdims=False}
          %constant: f32[] = constant {value=0.0}
          %greater: bool[] = greater %reduce_sum, %constant
          %cond: f32[3] = cond %greater
            then():
              %constant_1: f32[] = constant {value=2.0}
              %multiply: f32[3] = multiply %x, %constant_1
              return %multiply
            else():
              %negative: f32[3] = negative %x
              return %negative
          return %cond
    """)


def test_while_loop_subgraphs():
    def w(x, n):
        return jg.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * x), (0, x))

    assert_ir(trace(w, S([3]), S([], jg.int32)), """
        graph w(%x: f32[3], %n: i32[]) -> (i32[], f32[3])
          %constant: i32[] = constant {value=0}
          %while_loop: i32[], %while_loop:1: f32[3] = while_loop %constant, %x {maximum_iterations=None}
            cond(%lv: i32[], %lv_1: f32[3]):
              %less: bool[] = less %lv, %n
              return %less
            body(%lv_2: i32[], %lv_3: f32[3]):
              %constant_1: i32[] = constant {value=1}
              %add: i32[] = add %lv_2, %constant_1
              %multiply: f32[3] = multiply %lv_3, %x
              return %add, %multiply
          return %while_loop, %while_loop:1
    """)  # noqa: E501


def test_locations_name_the_user_line():
    def f(x):
        return jg.exp(x)  # the line the IR points at

    text = str(trace(f, S([2])))
    line = f.__code__.co_firstlineno + 1
    assert f"# test_ir.py:{line}" in text


def test_graph_inspection_api():
    def f(x, y):
        return jg.exp(x) + y

    g = trace(f, S([2]), S([2]))
    assert [op.type for op in g.get_operations()] == ["placeholder", "placeholder", "exp", "add"]
    assert g.get_operation_by_name("x").type == "placeholder"
    add = g.get_operation_by_name("add")
    assert add.inputs[0] is g.get_tensor_by_name("exp:0")
    assert add.outputs[0].name == "add:0"
    with pytest.raises(KeyError, match="no operation named 'nope'"):
        g.get_operation_by_name("nope")


def test_verifier_rejects_use_outside_scope():
    def c(x):
        return jg.cond(x[0] > 0.0, lambda: jg.exp(x), lambda: x)

    g = trace(c, S([3]))
    inner = g.get_operation_by_name("exp").outputs[0]
    g.outputs = [inner]  # a then-branch value is not visible in the outer graph
    with pytest.raises(VerificationError, match="not defined in its scope"):
        verify(g)


def test_verifier_rejects_bad_types_and_control_typing():
    g = trace(lambda x: jg.exp(x) * 2.0, S([3]))
    g.get_operation_by_name("exp").outputs[0].shape = (4,)
    with pytest.raises(VerificationError, match="differ from the type rule"):
        verify(g)
    w = trace(lambda x: jg.while_loop(lambda v: v[0] < 9.0, lambda v: v + 1.0, x), S([3]))
    body = w.get_operation_by_name("while_loop").subgraphs[1]
    body.outputs = [body.inputs[0], body.inputs[0]]
    with pytest.raises(VerificationError, match="one entry per loop var|body returns"):
        verify(w)


def test_copy_graph_is_independent_and_equal():
    def w(x):
        return jg.while_loop(lambda v: jg.reduce_sum(v) < 50.0, lambda v: v * 2.0 + x, x)

    g = trace(w, S([3]))
    c = copy_graph(g)
    verify(c)
    assert str(c) == str(g)
    assert not set(map(id, c.walk())) & set(map(id, g.walk()))
    from jitgraph.interpreter import interpret

    a = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(interpret(c, [a])[0], interpret(g, [a])[0])


def test_free_values_of_a_branch():
    def c(x, y):
        return jg.cond(x[0] > 0.0, lambda: x + y, lambda: x)

    g = trace(c, S([3]), S([3]))
    then = g.get_operation_by_name("cond").subgraphs[0]
    assert [v.op.name for v in free_values(then)] == ["x", "y"]


def test_dot_output():
    def c(x):
        return jg.cond(x[0] > 0.0, lambda: x * 2.0, lambda: x)

    dot = to_dot(trace(c, S([3])))
    assert dot.startswith('digraph "c" {') and dot.rstrip().endswith("}")
    assert 'subgraph "cluster_cond_0"' in dot and 'label="cond: then"' in dot
    assert '"c.x" -> "c.multiply" [label="f32[3]"];' in dot
    assert dot.count("{") == dot.count("}")
