"""ir/parser.py: the printer's text read back. ``parse(print(g))`` prints as ``g`` did (over
every golden IR test and random graphs), ``serialize`` keeps arrays and Variables, and the
parsed graphs run to the same numbers on the interpreter and the cpu backend."""

import inspect

import numpy as np
import pytest
import test_fusion
import test_indexed_accumulate
import test_ir
import test_passes
from graph_gen import graphs
from hypothesis import HealthCheck, given, settings

import jitgraph as jg
from jitgraph import backends
from jitgraph.interpreter import interpret
from jitgraph.ir import Graph, format_graph, verify
from jitgraph.ir.parser import ParseError, SerializationError, parse, parse_type, serialize
from jitgraph.ops.core import Type

S = jg.TensorSpec


def roundtrip(g):
    """Checks both text forms of ``g``; returns the graph read from ``serialize``."""
    plain = format_graph(g, with_loc=False)
    names = [v.name for v in g.variables]
    if "<float" not in plain and "<int" not in plain and "<bool" not in plain and \
            len(set(names)) == len(names):  # no elided arrays, variables findable by name
        back = parse(plain, variables={v.name: v for v in g.variables})
        assert format_graph(back, with_loc=False) == plain
    text, arrays, variables = serialize(g)
    back = parse(text, arrays=arrays, variables=variables)
    assert format_graph(back) == format_graph(g)
    assert format_graph(back, with_loc=False) == plain
    assert [id(v) for v in back.variables] == [id(v) for v in g.variables]
    return back


# ----------------------------------------------------------------------------- golden tests


def _golden_tests():
    out = []
    for mod in (test_ir, test_passes, test_fusion, test_indexed_accumulate):
        for name, fn in sorted(vars(mod).items()):
            if name.startswith("test_") and callable(fn) and \
                    not inspect.signature(fn).parameters and "assert_ir(" in inspect.getsource(fn):
                helper = "assert_ir" if hasattr(mod, "assert_ir") else "_assert_ir"
                out.append(pytest.param(mod, helper, fn, id=f"{mod.__name__}.{name}"))
    return out


@pytest.mark.parametrize("mod, helper, test", _golden_tests())
def test_golden_ir_tests_round_trip(monkeypatch, mod, helper, test):
    seen = []
    original = getattr(mod, helper)

    def checked(graph, expected):
        original(graph, expected)
        back = roundtrip(graph)
        verify(back)
        seen.append(graph)

    monkeypatch.setattr(mod, helper, checked)
    test()
    assert seen, "the golden test printed no graph"


def test_golden_tests_are_found():
    assert len(_golden_tests()) >= 15


# ----------------------------------------------------------------------------- random graphs


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs())
def test_random_graphs_print_identically_and_run_the_same(case):
    back = roundtrip(case.graph)
    verify(back)
    want = interpret(case.graph, case.args)
    got = interpret(back, case.args)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs())
def test_random_graphs_compile_after_parsing(case):
    text, arrays, variables = serialize(case.graph)
    back = parse(text, arrays=arrays, variables=variables)
    got = backends.get("cpu").compile(back).run(list(case.args))
    for a, b in zip(case.expected, got):
        np.testing.assert_allclose(np.asarray(b, np.float64), np.asarray(a, np.float64),
                                   rtol=2e-5, atol=2e-5)


# ----------------------------------------------------------------------------- control flow


def _control_graph(v):
    @jg.function
    def f(x, n):
        y = x @ v + 1.0
        i = jg.constant(0)
        while i < n:
            y = jg.tanh(y) * 2.0
            i += 1
        if jg.reduce_sum(y) > 0:
            y = y - 1.0
        else:
            y = y + np.arange(10.0, 13.0, dtype=np.float32) * np.ones((40, 3), np.float32)
        return y, jg.reduce_max(y, axis=1, keepdims=True)

    return f.get_concrete_function(S([None, 2]), S([], jg.int32)).graph


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_while_cond_variables_and_big_constants_round_trip(backend):
    v = jg.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) / 10.0, name="w")
    g = _control_graph(v)
    text, arrays, variables = serialize(g)
    assert "<float32[40, 3] @a" in text and "<var @v0>" in text
    back = parse(text, arrays=arrays, variables=variables)
    assert variables == [v] and back.variables[0] is v
    x = np.random.RandomState(0).randn(40, 2).astype(np.float32)
    want = interpret(g, [x, np.int32(3)])
    got = backends.get(backend).compile(back).run([x, np.int32(3)])
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    v.assign(-v)  # the parsed graph reads the Variable itself
    got2 = backends.get(backend).compile(back).run([x, np.int32(3)])
    np.testing.assert_allclose(got2[0], interpret(g, [x, np.int32(3)])[0], rtol=1e-5,
                               atol=1e-6)


def test_attribute_values_of_every_kind_round_trip():
    g = Graph("attrs")
    x = g.add_input("x", Type(jg.float32, (None, 3)))
    attrs = {"i": -3, "f": 1e-05, "n": float("nan"), "inf": float("-inf"), "s": "a 'q' # {x}",
             "b": True, "none": None, "t": (1, (None, 2), ()), "one": (4,), "l": [1.5, 2],
             "d": jg.int64, "e": Ellipsis, "arr": np.arange(12, dtype=np.int64).reshape(3, 4),
             "sc": np.float32(2.5), "_hidden": ("kernel",)}
    op = g.add_op("identity", [x], attrs, [x.type], loc=("/a/b/model.py", 7))
    g.outputs = [op.outputs[0]]
    text, arrays, variables = serialize(g)
    back = parse(text, arrays=arrays, variables=variables)
    got = back.ops[-1].attrs
    assert back.ops[-1].loc == ("model.py", 7)
    for k, want in attrs.items():
        if k == "n":
            assert np.isnan(got[k])
        elif isinstance(want, (np.ndarray, np.generic)):
            assert type(got[k]) is type(want) and got[k].dtype == want.dtype
            np.testing.assert_array_equal(got[k], want)
        else:
            assert got[k] == want and type(got[k]) is type(want), k
    assert format_graph(back) == format_graph(g)


def test_parse_type():
    assert parse_type("f32[?,3]") == Type(jg.float32, (None, 3))
    assert parse_type("bool[]") == Type(jg.bool, ())
    with pytest.raises(ParseError, match="not a type"):
        parse_type("q32[3]")


# ----------------------------------------------------------------------------- errors


def test_parse_errors_name_the_line():
    text = "graph f(%x: f32[3]) -> (f32[3])\n  %y: f32[3] = tanh %z\n  return %y"
    with pytest.raises(ParseError, match=r"line 2: %z is used before it is defined"):
        parse(text)
    with pytest.raises(ParseError, match="line 1: expected 'graph NAME"):
        parse("grph f() -> ()\n  return")
    with pytest.raises(ParseError, match="without a return line"):
        parse("graph f(%x: f32[3]) -> (f32[3])\n  %y: f32[3] = tanh %x")
    with pytest.raises(ParseError, match="header promises results"):
        parse("graph f(%x: f32[3]) -> (f32[2])\n  return %x")


def test_elided_arrays_and_unknown_variables_say_what_to_do():
    v = jg.Variable(np.ones((2, 3), np.float32), name="w")
    g = _control_graph(v)
    plain = format_graph(g)
    with pytest.raises(ParseError, match="printer left out; write the graph with "
                                         "jitgraph.ir.parser.serialize"):
        parse(plain, variables={"w:0": v})
    with pytest.raises(ParseError, match="refers to variable @v0; pass the variables table"):
        parse(serialize(g)[0], arrays=serialize(g)[1])
    small = jg.function(lambda x: x * v).get_concrete_function(S([2, 3])).graph
    with pytest.raises(ParseError, match="reads variable 'w:0'; pass variables="):
        parse(str(small))
    assert parse(str(small), variables={"w:0": v}).variables == [v]


def test_an_attribute_holding_a_python_object_cannot_be_serialized():
    g = Graph("f")
    x = g.add_input("x", Type(jg.float32, (3,)))
    op = g.add_op("identity", [x], {"fn": lambda t: t}, [x.type], loc=("m.py", 3))
    g.outputs = [op.outputs[0]]
    with pytest.raises(SerializationError, match=r"op 'identity' \(identity\) \(m.py:3\): "
                                                 r"attribute 'fn' holds a function"):
        serialize(g)
