"""Reads the printer's text back into a Graph: ``parse(format_graph(g))`` prints as ``g``
did and runs to the same numbers.

The text names everything a graph holds except two kinds of attribute values: NumPy
arrays of more than 8 elements (printed ``<float32[100, 3]>``) and Variables (``<var
name>``). ``serialize(graph)`` writes the same text with those as table references
(``<float32[100, 3] @a0>``, ``<var @v0>``, hidden ``_`` attributes included) and returns
the tables; ``parse(text, arrays=..., variables=...)`` resolves them. That pair is the
stable form saved models use (saved_model/). Plain text resolves ``<var name>`` through a
``variables`` dict of names when one is given.

Grammar (one construct a line; sub-graphs indented two spaces below their op's label):
    graph NAME(%p: TYPE, ...) -> (TYPE, ...)
      %v: TYPE[, %v:1: TYPE] = OPTYPE %in, %in {key=value, ...}      # file.py:12
      OPTYPE %in {key=value}                        (an op without outputs)
        LABEL(%p: TYPE, ...):                       (a sub-graph of the op above)
          ...
          return %v, ...
      return %v, ...
    TYPE   = f32[?,3] | i64[] | bool[2]
    value  = int | float | nan | inf | 'str' | True | False | None | Ellipsis | DTYPE
           | (value, ...) | [value, ...] | <var NAME> | <var @vN> | <DTYPE[dims] @aN>
"""

import ast
import re

import numpy as np

from .. import dtypes as _dt
from ..ops.core import Type
from .graph import Graph, Operation
from .printer import format_attr, format_graph

_NAME = r"[\w.\-/]+"
_TYPE_RE = re.compile(r"(\w+)\[([^\]]*)\]")
_REF_RE = re.compile(rf"%({_NAME})(?::(\d+))?(?=$|[\s,)])")
_DEF_RE = re.compile(rf"%({_NAME})(?::(\d+))?: (\w+\[[^\]]*\])")
_HEAD_RE = re.compile(r"^graph ([^\s(]+)\((.*)\) -> \((.*)\)$")
_LABEL_RE = re.compile(r"^(\w+)\((.*)\):$")
_LOC_RE = re.compile(r"^#\s*(.+):(\d+)$")
_BARE = {"True": True, "False": False, "None": None, "Ellipsis": Ellipsis,
         "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


class ParseError(ValueError):
    """The text is not a graph the printer could have written (names the line)."""


class SerializationError(ValueError):
    """A graph holds something the text form cannot express (names the op)."""


# ----------------------------------------------------------------------------- writing


def serialize(graph, with_loc=True):
    """(text, arrays, variables): ``graph`` as text in which every array attribute is
    ``<dtype[shape] @aN>`` (``arrays[N]``) and every Variable ``<var @vN>``
    (``variables[N]``). Raises SerializationError naming an op whose attributes hold other
    Python objects (functions, custom classes).

    >>> text, arrays, variables = serialize(concrete.graph)
    >>> g = parse(text, arrays=arrays, variables=variables)
    """
    for op in graph.walk():
        for k, v in op.attrs.items():
            _check_attr(op, k, v)
    arrays, variables = [], []

    def text(v):
        if isinstance(v, (np.ndarray, np.generic)):
            arrays.append(np.asarray(v))
            tail = " scalar" if isinstance(v, np.generic) else ""
            return f"<{v.dtype.name}{list(np.shape(v))} @a{len(arrays) - 1}{tail}>"
        if _is_variable(v):
            for i, w in enumerate(variables):
                if w is v:
                    return f"<var @v{i}>"
            variables.append(v)
            return f"<var @v{len(variables) - 1}>"
        if isinstance(v, (list, tuple)):
            inner = ", ".join(text(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else \
                f"({inner}{',' if len(v) == 1 else ''})"
        return format_attr(v)

    return format_graph(graph, with_loc, attr_text=text), arrays, variables


def _is_variable(v):
    return hasattr(v, "_jg_read") and hasattr(v, "assign")


def _check_attr(op, key, v):
    if isinstance(v, (list, tuple)):
        for x in v:
            _check_attr(op, key, x)
        return
    if v is None or v is Ellipsis or isinstance(v, (bool, int, float, str, np.ndarray,
                                                     np.generic, _dt.DType)) \
            or _is_variable(v):
        if isinstance(v, (np.ndarray, np.generic)) and v.dtype not in _dt._BY_NP:
            raise SerializationError(_where(op, f"attribute {key!r} is an array of dtype "
                                                f"{v.dtype}, which jitgraph cannot save"))
        return
    raise SerializationError(_where(
        op, f"attribute {key!r} holds a {type(v).__name__} ({v!r:.60}), which has no text "
            f"form; an op that carries Python objects cannot be saved: compute the value "
            f"with jg ops inside the function instead"))


def _where(op, what):
    loc = f" ({op.loc[0].rsplit('/', 1)[-1]}:{op.loc[1]})" if op.loc else ""
    return f"op {op.name!r} ({op.type}){loc}: {what}"


# ----------------------------------------------------------------------------- reading


def parse(text, arrays=None, variables=None):
    """The Graph that ``text`` (from ``format_graph`` or ``serialize``) describes.

    ``arrays`` / ``variables``: the tables ``serialize`` returned; ``variables`` may instead
    be a dict of Variables by name for plain printer text.
    """
    return _Parser(text, arrays, variables).parse()


def parse_type(text):
    """``f32[?,3]`` -> Type(float32, (None, 3))."""
    m = _TYPE_RE.fullmatch(text.strip())
    if m is None or m.group(1) not in _dt._BY_NAME:
        raise ParseError(f"not a type: {text!r} (expected e.g. f32[?,3])")
    dims = m.group(2).strip()
    shape = () if not dims else tuple(None if d.strip() == "?" else int(d)
                                      for d in dims.split(","))
    return Type(_dt._BY_NAME[m.group(1)], shape)


class _Parser:
    def __init__(self, text, arrays, variables):
        self.lines = []
        for n, raw in enumerate(text.splitlines(), 1):
            if raw.strip():
                self.lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip(), n))
        self.i = 0
        self.arrays = arrays
        self.variables = variables
        self.ops = {}  # op name -> Operation
        self.unnamed = []  # ops without outputs: named once every printed name is claimed
        self.root = None

    def error(self, msg, n=None):
        if n is None:
            n = self.lines[min(self.i, len(self.lines) - 1)][2] if self.lines else 0
        line = next((t for _, t, k in self.lines if k == n), "")
        return ParseError(f"line {n}: {msg}\n  {line}")

    # -- structure
    def parse(self):
        if not self.lines:
            raise ParseError("empty text: expected 'graph NAME(...) -> (...)'")
        indent, head, n = self.lines[0]
        m = _HEAD_RE.match(head)
        if m is None:
            raise self.error("expected 'graph NAME(%param: TYPE, ...) -> (TYPE, ...)'", n)
        self.root = g = Graph(m.group(1))
        self.i = 1
        self._params(g, m.group(2), n)
        self._body(g, indent + 2)
        if self.i != len(self.lines):
            raise self.error("text after the graph's return line")
        results = [parse_type(x.group(0)) for x in _TYPE_RE.finditer(m.group(3))]
        if [v.type for v in g.outputs] != results:
            raise self.error(f"the header promises results {m.group(3)} but the return line "
                             f"gives {', '.join(str(v.type) for v in g.outputs)}", n)
        for op in self.unnamed:
            op.name = g.unique_name(op.type)
        for op in g.walk():
            for v in _flat_values(op.attrs):
                if _is_variable(v):
                    g.register_variable(v)
        return g

    def _params(self, graph, text, n):
        for m in _DEF_RE.finditer(text):
            if m.group(2):
                raise self.error(f"parameter %{m.group(1)}:{m.group(2)}: parameters have one "
                                 "output", n)
            self._define(Operation("placeholder", m.group(1), [], {}, [parse_type(m.group(3))],
                                   graph=graph), graph, n)
            graph.inputs.append(graph.ops[-1].outputs[0])
        if text.strip() and not graph.inputs:
            raise self.error(f"cannot read the parameters {text!r}", n)

    def _define(self, op, graph, n):
        if op.name in self.ops:
            raise self.error(f"%{op.name} is defined twice", n)
        self.ops[op.name] = op
        graph.ops.append(op)
        graph.claim_name(op.name)

    def _body(self, graph, indent):
        while True:
            if self.i >= len(self.lines):
                raise self.error(f"graph {graph.name!r} ends without a return line")
            ind, text, n = self.lines[self.i]
            if ind != indent:
                raise self.error(f"expected indentation {indent}, found {ind}", n)
            self.i += 1
            if text == "return" or text.startswith("return "):
                graph.outputs = [self._ref(r, n) for r in _split_refs(text[6:])]
                return
            op = self._op(graph, text, n)
            labels = []
            while self.i < len(self.lines) and self.lines[self.i][0] == indent + 2:
                _, ltext, ln = self.lines[self.i]
                lm = _LABEL_RE.match(ltext)
                if lm is None:
                    raise self.error("expected a sub-graph label such as 'body(%x: f32[]):'",
                                     ln)
                self.i += 1
                sg = Graph(lm.group(1), parent=graph)
                self._params(sg, lm.group(2), ln)
                self._body(sg, indent + 4)
                op.subgraphs.append(sg)
                labels.append(lm.group(1))
            self._check_labels(op, labels, n)

    def _check_labels(self, op, labels, n):
        if not labels or len(labels) > 2:
            return  # more than two print as g0, g1, ...: nothing to recover
        default = ("then", "else") if op.type == "cond" else ("cond", "body")
        if "_labels" not in op.attrs and tuple(labels) != default[:len(labels)]:
            op.attrs["_labels"] = tuple(labels)

    # -- one operation
    def _op(self, graph, text, n):
        pos, outs, name = 0, [], None
        if text.startswith("%"):
            eq = _find_top(text, " = ")
            if eq < 0:
                raise self.error("expected '%name: TYPE = op ...'", n)
            for k, m in enumerate(_DEF_RE.finditer(text[:eq])):
                idx = int(m.group(2) or 0)
                if k == 0:
                    name = m.group(1)
                if m.group(1) != name or idx != k:
                    raise self.error(f"output {k} is %{m.group(1)}:{idx}; an op's outputs are "
                                     f"%{name}, %{name}:1, ...", n)
                outs.append(parse_type(m.group(3)))
            pos = eq + 3
        m = re.compile(r"[\w.]+").match(text, pos)
        if m is None:
            raise self.error("expected an op type", n)
        optype, pos = m.group(0), m.end()
        inputs = []
        while True:
            while pos < len(text) and text[pos] == " ":
                pos += 1
            rm = _REF_RE.match(text, pos)
            if rm is None:
                break
            inputs.append(self._ref(rm.group(0), n))
            pos = rm.end()
            if text.startswith(",", pos):
                pos += 1
        attrs = {}
        if text.startswith("{", pos):
            attrs, pos = _AttrReader(text, pos + 1, self, n).read_dict()
        rest = text[pos:].strip()
        loc = None
        if rest:
            lm = _LOC_RE.match(rest)
            if lm is None:
                raise self.error(f"unexpected text {rest!r}", n)
            loc = (lm.group(1), int(lm.group(2)))
        if optype == "constant" and outs and "value" in attrs:
            attrs["value"] = self._constant(attrs["value"], outs[0], n)
        op = Operation(optype, name or "", inputs, attrs, outs, loc=loc, graph=graph)
        if name is None:
            graph.ops.append(op)
            self.unnamed.append(op)
        else:
            self._define(op, graph, n)
        return op

    def _constant(self, value, ty, n):
        try:
            arr = np.array(value, dtype=ty.dtype.np)
            if None in ty.shape:
                raise ValueError("a constant's shape must be known")
            return arr.reshape(ty.shape)
        except (ValueError, TypeError) as e:
            raise self.error(f"constant value does not fit {ty}: {e}", n) from None

    def _ref(self, text, n):
        m = _REF_RE.fullmatch(text.strip())
        if m is None:
            raise self.error(f"expected a value such as %x or %x:1, got {text!r}", n)
        op = self.ops.get(m.group(1))
        if op is None:
            raise self.error(f"%{m.group(1)} is used before it is defined", n)
        idx = int(m.group(2) or 0)
        if idx >= len(op.outputs):
            raise self.error(f"%{m.group(1)} has {len(op.outputs)} output(s), not {idx + 1}", n)
        return op.outputs[idx]

    # -- table references
    def array(self, index, dtype, shape, scalar, n):
        if self.arrays is None or index >= len(self.arrays):
            raise self.error(f"the text refers to array @a{index}; pass the arrays table "
                             "serialize() returned", n)
        arr = np.asarray(self.arrays[index])
        if dtype == "bfloat16" and arr.dtype.kind == "V" and arr.dtype.itemsize == 2:
            arr = arr.view(_dt.bfloat16.np)  # .npz files keep bfloat16 as 2-byte records
        if arr.dtype.name != dtype or list(arr.shape) != shape:
            raise self.error(f"array @a{index} is {arr.dtype.name}{list(arr.shape)}, the text "
                             f"says {dtype}{shape}", n)
        return arr[()] if scalar else arr

    def variable(self, ref, n):
        vs = self.variables
        if ref.startswith("@v"):
            k = int(ref[2:])
            if not isinstance(vs, (list, tuple)) or k >= len(vs):
                raise self.error(f"the text refers to variable {ref}; pass the variables "
                                 "table serialize() returned", n)
            return vs[k]
        if not isinstance(vs, dict) or ref not in vs:
            raise self.error(f"the text reads variable {ref!r}; pass variables={{name: "
                             "Variable}} (or serialize the graph, which keeps them)", n)
        return vs[ref]


def _flat_values(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _flat_values(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _flat_values(v)
    else:
        yield x


def _find_top(text, needle):
    """Index of ``needle`` in ``text`` outside brackets and strings, or -1."""
    depth, quote, i = 0, None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(needle, i):
            return i
        i += 1
    return -1


def _split_refs(text):
    text = text.strip()
    return [t.strip() for t in text.split(",")] if text else []


class _AttrReader:
    """Reads ``key=value, ...}`` from ``text[pos:]``."""

    def __init__(self, text, pos, parser, n):
        self.t, self.p, self.parser, self.n = text, pos, parser, n

    def fail(self, msg):
        return self.parser.error(f"{msg} at column {self.p + 1} of the attributes", self.n)

    def ws(self):
        while self.p < len(self.t) and self.t[self.p] == " ":
            self.p += 1

    def read_dict(self):
        out = {}
        self.ws()
        if self.t.startswith("}", self.p):
            return out, self.p + 1
        while True:
            self.ws()
            m = re.compile(r"\w+").match(self.t, self.p)
            if m is None or not self.t.startswith("=", m.end()):
                raise self.fail("expected key=value")
            self.p = m.end() + 1
            out[m.group(0)] = self.value()
            self.ws()
            if self.t.startswith(",", self.p):
                self.p += 1
            elif self.t.startswith("}", self.p):
                return out, self.p + 1
            else:
                raise self.fail("expected ',' or '}'")

    def seq(self, close):
        items, trailing = [], False
        while True:
            self.ws()
            if self.t.startswith(close, self.p):
                self.p += 1
                return items, trailing
            items.append(self.value())
            self.ws()
            trailing = False
            if self.t.startswith(",", self.p):
                self.p += 1
                trailing = True
            elif not self.t.startswith(close, self.p):
                raise self.fail(f"expected ',' or {close!r}")

    def value(self):
        self.ws()
        c = self.t[self.p:self.p + 1]
        if c == "(":
            self.p += 1
            items, _ = self.seq(")")
            return tuple(items)
        if c == "[":
            self.p += 1
            return self.seq("]")[0]
        if c in ("'", '"'):
            return self.string(c)
        if c == "<":
            end = self.t.find(">", self.p)
            if end < 0:
                raise self.fail("unclosed '<'")
            inner, self.p = self.t[self.p + 1:end], end + 1
            return self.angle(inner)
        m = re.compile(r"[^\s,)\]}]+").match(self.t, self.p)
        if m is None:
            raise self.fail("expected a value")
        self.p = m.end()
        return self.bare(m.group(0))

    def string(self, quote):
        i = self.p + 1
        while i < len(self.t) and self.t[i] != quote:
            i += 2 if self.t[i] == "\\" else 1
        if i >= len(self.t):
            raise self.fail("unterminated string")
        s, self.p = self.t[self.p:i + 1], i + 1
        return ast.literal_eval(s)

    def angle(self, inner):
        if inner.startswith("var "):
            return self.parser.variable(inner[4:], self.n)
        m = re.fullmatch(r"(\w+)\[([\d, ]*)\](?: @a(\d+)( scalar)?)?", inner)
        if m is None:
            raise self.fail(f"cannot read <{inner}>")
        shape = [int(d) for d in m.group(2).split(",") if d.strip()]
        if m.group(3) is None:
            raise self.fail(f"<{inner}> stands for an array whose values the printer left "
                            "out; write the graph with jitgraph.ir.parser.serialize to keep "
                            "them")
        return self.parser.array(int(m.group(3)), m.group(1), shape, bool(m.group(4)), self.n)

    def bare(self, tok):
        if tok in _BARE:
            return _BARE[tok]
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        try:
            return float(tok)
        except ValueError:
            pass
        if tok in _dt._BY_NAME:
            return _dt._BY_NAME[tok]
        raise self.fail(f"cannot read the value {tok!r}")


__all__ = ["parse", "parse_type", "serialize", "ParseError", "SerializationError"]
