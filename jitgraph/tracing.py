"""Symbolic tracing: while a graph is being traced, every op call records an Operation.

The stack of graphs being traced lives here (sub-graphs of ``cond``/``while_loop`` push
onto it); ``init_scope()`` leaves it for code that must run eagerly (variable initializers).
"""

import contextlib
import threading

import numpy as np

from . import errors
from .ir import Graph
from .ops.core import Type
from .tensor import Tensor, TensorShape

_state = threading.local()


def _stack():
    s = getattr(_state, "stack", None)
    if s is None:
        s = _state.stack = []
    return s


def current_graph():
    s = _stack()
    return s[-1] if s else None


# graphs being traced in any thread: while non-zero, jg.function skips its native dispatcher
ACTIVE_SCOPES = 0
_scopes_lock = threading.Lock()  # `+=` on a global is not atomic between threads


def _count_scope(delta):
    global ACTIVE_SCOPES
    with _scopes_lock:
        ACTIVE_SCOPES += delta


@contextlib.contextmanager
def graph_scope(graph):
    """Makes ``graph`` the graph ops are recorded into."""
    s = _stack()
    s.append(graph)
    _count_scope(1)
    try:
        yield graph
    finally:
        _count_scope(-1)
        s.pop()


@contextlib.contextmanager
def init_scope():
    """Runs the block eagerly even while tracing (like ``tf.init_scope``)."""
    saved = _state.stack = _stack()
    _state.stack = []
    try:
        yield
    finally:
        _state.stack = saved


def in_graph_mode():
    return bool(_stack())


def executing_eagerly():
    """``jg.executing_eagerly()``: False while a jg.function is being traced, True otherwise
    (also inside functions run with ``jg.config.run_functions_eagerly(True)``)."""
    return not _stack()


def _user_loc_message(msg):
    return errors.at_user_line(msg)


class SymbolicTensor(Tensor):
    """A Tensor standing for a Value of a graph being traced."""

    _symbolic = True
    __slots__ = ("_ir",)

    def __init__(self, value):
        self._value = None
        self._ir = value

    @property
    def dtype(self):
        return self._ir.dtype

    @property
    def shape(self):
        return TensorShape(self._ir.shape)

    @property
    def ndim(self):
        return len(self._ir.shape)

    @property
    def name(self):
        return self._ir.name

    @property
    def graph(self):
        return self._ir.op.graph

    def set_shape(self, shape):
        super().set_shape(shape)
        if TensorShape(shape).rank is not None:
            from .ops import ensure_shape

            self._ir = ensure_shape(self, TensorShape(shape).as_list())._ir

    @property
    def op(self):
        return self._ir.op

    def _no_value(self, what):
        raise errors.TracingError(_user_loc_message(
            f"{what} needs the value of the symbolic tensor {self._ir.name} "
            f"({self._ir.type}), which is only known when the compiled function runs. "
            "Use tensor ops (jg.cond, jg.where, jg.while_loop) instead of Python control flow "
            "on tensor values, keep autograph=True so `if`/`while` on tensors are converted, "
            "or call jg.config.run_functions_eagerly(True) to debug with values"))

    def numpy(self):
        self._no_value(".numpy()")

    def __array__(self, dtype=None, copy=None):
        self._no_value("converting to a NumPy array")

    def __bool__(self):
        self._no_value("using a tensor as a Python bool (`if t:`, `while t:`, `and`/`or`)")

    def __float__(self):
        self._no_value("float(tensor)")

    def __int__(self):
        self._no_value("int(tensor)")

    def __index__(self):
        self._no_value("using a tensor as a Python index")

    def __len__(self):
        d = self._ir.shape[0] if self._ir.shape else None
        if d is None:
            self._no_value("len() of a tensor whose first dimension is unknown")
        return d

    def __iter__(self):
        if not self._ir.shape:
            raise TypeError("iteration over a scalar (rank 0) tensor")
        n = self._ir.shape[0]
        if n is None:
            self._no_value("iterating in Python over a tensor whose first dimension is unknown"
                           " (use `for x in t` inside a function with autograph=True)")
        return (self[i] for i in range(n))

    def __repr__(self):
        return f"<jg.Tensor '{self._ir.name}' shape={self.shape} dtype={self.dtype.name}>"

    __str__ = __repr__


def _constant_value(graph, t):
    arr = t._value
    op = graph.add_op("constant", [], {"value": arr}, [Type(_dtype_of(arr), arr.shape)],
                      loc=errors.user_location())
    return op.outputs[0]


def _dtype_of(arr):
    from .dtypes import _BY_NP

    return _BY_NP[arr.dtype]


def _is_visible(value, graph):
    g = graph
    owner = value.op.graph
    while g is not None:
        if g is owner:
            return True
        g = g.parent
    return False


def value_of(graph, t):
    """The IR Value for tensor ``t`` in ``graph``: symbolic tensors of this graph or an
    enclosing one are used as they are; eager tensors become constants."""
    if t._symbolic:
        v = t._ir
        forwarded = graph.root.__dict__.get("forwarded")
        if forwarded:  # a Value another now stands for (autodiff/control.py)
            v = forwarded.get(v, v)
        if not _is_visible(v, graph):
            raise errors.TracingError(_user_loc_message(
                f"the tensor {v.name} belongs to another graph (a different jg.function trace "
                "or a branch/loop body that has finished); pass it as an argument or return it "
                "instead of keeping it in a Python variable"))
        return v
    return _constant_value(graph, t)


def maybe_capture(t):
    """Inside a trace, turns a new eager Tensor into a ``constant`` op; else returns it."""
    g = current_graph()
    if g is None:
        return t
    return SymbolicTensor(_constant_value(g, t))


def record(graph, op, tensors, attrs, out_types, subgraphs=()):
    """Adds an Operation for ``op`` to ``graph``; returns its outputs as SymbolicTensors."""
    inputs = [value_of(graph, t) for t in tensors]
    o = graph.add_op(op.name, inputs, attrs, out_types, subgraphs, loc=errors.user_location())
    return [SymbolicTensor(v) for v in o.outputs]


def new_subgraph(name, parent=None):
    parent = parent or current_graph()
    return Graph(name, parent=parent)


def placeholder(graph, name, dtype, shape):
    return SymbolicTensor(graph.add_input(name, Type(dtype, tuple(shape)),
                                          loc=errors.user_location()))


def is_symbolic(x):
    return isinstance(x, Tensor) and x._symbolic


__all__ = ["current_graph", "graph_scope", "init_scope", "SymbolicTensor", "record",
           "maybe_capture", "value_of", "placeholder", "new_subgraph", "np"]
