"""Random small graphs for property tests: ``graphs()`` is a hypothesis strategy giving a
``GenCase(graph, args, expected)``.

Each op is applied twice: once while tracing into the graph (symbolic tensors) and once
eagerly on the concrete values, so ``expected`` is what eager jitgraph computes — an oracle
independent of the graph, the interpreter and the passes. The ops are drawn from the registry's
families: elementwise unary and binary ops with broadcasting (against graph values and
constants such as 0, 1, 2 and 0.5 that the simplifier looks for), reductions with axes and
keepdims, reshape/expand_dims/squeeze, transpose (also twice), cast round trips,
identity/stop_gradient, constant-only expressions, gathers and scatters of rows at indices
computed from graph values, ``cond`` (data-dependent or constant
predicate, one output unused) and counted ``while_loop``s with an unused loop variable.
Domain-limited ops get safe inputs:
``sqrt(abs(x))``, ``log(abs(x) + 1)``; exp takes ``tanh(x)``, so nothing overflows.

Placeholders may have unknown (None) dims; the arrays in ``args`` have concrete ones.
"""

import numpy as np
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph import tracing
from jitgraph.ir import Graph
from jitgraph.ops.core import broadcast_shapes

FLOAT_UNARY = ["negative", "abs", "square", "tanh", "sin", "sqrt_abs", "log_abs1", "exp_tanh",
               "identity", "stop_gradient", "neg_neg", "cast_round_trip"]
INT_UNARY = ["negative", "abs", "square", "identity", "stop_gradient", "neg_neg",
             "cast_round_trip"]
BINARY = ["add", "subtract", "multiply", "maximum", "minimum"]
CONSTS = [0, 1, 0, 1, 2, -1, 3]  # 0 and 1 twice: the simplifier's cases come up often
FLOAT_CONSTS = [0.5, 0.25, 4.0, 1.5]
REDUCE = ["reduce_sum", "reduce_max", "reduce_min", "reduce_mean"]


class GenCase:
    def __init__(self, graph, args, expected):
        self.graph, self.args, self.expected = graph, args, expected

    def __repr__(self):  # hypothesis prints this for a failing example
        return f"GenCase(\n{self.graph}\nargs={self.args!r})"


def _unary(kind, x, dtype):
    if kind == "sqrt_abs":
        return jg.sqrt(jg.abs(x))
    if kind == "log_abs1":
        return jg.log(jg.abs(x) + 1.0)
    if kind == "exp_tanh":
        return jg.exp(jg.tanh(x))
    if kind == "neg_neg":
        return jg.negative(jg.negative(x))
    if kind == "cast_round_trip":
        wide = jg.float64 if dtype.is_floating else jg.int64
        return jg.cast(jg.cast(x, wide), dtype)
    return getattr(jg, kind)(x)


class _Builder:
    """Applies each step to the symbolic and the eager tensors side by side."""

    def __init__(self, graph, dtype):
        self.g, self.dtype = graph, dtype
        self.pool = []  # (symbolic, eager)

    def add_input(self, name, static, value):
        sym = tracing.placeholder(self.g, name, self.dtype, static)
        self.pool.append((sym, jg.constant(value)))

    def apply(self, fn, *operands):
        """``fn`` on pool entries or NumPy constants; appends and returns the new entry."""
        with tracing.graph_scope(self.g):
            sym = fn(*[o[0] if isinstance(o, tuple) else o for o in operands])
        eager = fn(*[o[1] if isinstance(o, tuple) else o for o in operands])
        self.pool.append((sym, eager))
        return self.pool[-1]


def _compatible(a, b):
    try:
        broadcast_shapes("gen", tuple(a[0].shape), tuple(b[0].shape))
        np.broadcast_shapes(a[1].shape, b[1].shape)
    except Exception:  # noqa: BLE001 - not a pair we can combine
        return False
    return len(np.broadcast_shapes(a[1].shape, b[1].shape)) <= 4


def _const(draw, dtype, shape_like):
    pool = CONSTS + (FLOAT_CONSTS if dtype.is_floating else [])
    c = draw(st.sampled_from(pool))
    if draw(st.booleans()) or not shape_like:
        return np.array(c, dtype.np)
    # a small array broadcastable against shape_like: its last dim or 1
    last = shape_like[-1]
    values = draw(st.lists(st.sampled_from(pool), min_size=last, max_size=last))
    return np.array(values, dtype.np)


def _step(draw, b):
    dtype = b.dtype
    x = draw(st.sampled_from(b.pool))
    kind = draw(st.sampled_from(["unary", "binary", "binary_const", "binary_const",
                                 "const_const", "reduce", "transpose", "reshape", "divide", "pow",
                                 "repeat", "gather", "scatter"]))
    shape = x[1].shape
    if kind == "unary":
        k = draw(st.sampled_from(FLOAT_UNARY if dtype.is_floating else INT_UNARY))
        return b.apply(lambda t: _unary(k, t, dtype), x)
    if kind == "binary":
        ys = [y for y in b.pool if _compatible(x, y)]
        y = draw(st.sampled_from(ys))
        return b.apply(getattr(jg, draw(st.sampled_from(BINARY))), x, y)
    if kind == "binary_const":
        c = _const(draw, dtype, shape)
        fn = getattr(jg, draw(st.sampled_from(BINARY)))
        return b.apply(fn, c, x) if draw(st.booleans()) else b.apply(fn, x, c)
    if kind == "const_const":
        c1, c2 = _const(draw, dtype, shape), _const(draw, dtype, shape)
        fn = getattr(jg, draw(st.sampled_from(BINARY)))
        return b.apply(lambda t: t + fn(c1, c2), x) if _fits(shape, c1, c2) else None
    if kind == "reduce" and shape:
        axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                             max_size=len(shape), unique_by=lambda a: a % len(shape)))
        fn = getattr(jg, draw(st.sampled_from(REDUCE)))
        keep = draw(st.booleans())
        return b.apply(lambda t: fn(t, axis=axes, keepdims=keep), x)
    if kind == "transpose" and len(shape) >= 2:
        p = draw(st.permutations(range(len(shape))))
        q = draw(st.permutations(range(len(shape))))
        twice = draw(st.booleans())
        return b.apply(lambda t: jg.transpose(jg.transpose(t, p), q) if twice
                       else jg.transpose(t, p), x)
    if kind == "reshape":
        return _reshape_step(draw, b, x)
    if kind == "divide" and dtype.is_floating:
        c = np.array(draw(st.sampled_from([1.0, 2.0, 4.0, 0.5, 3.0])), dtype.np)
        return b.apply(jg.divide, x, c)
    if kind == "pow":
        e = draw(st.sampled_from([1, 2] + ([0.5] if dtype.is_floating else [])))
        return b.apply(lambda t: jg.pow(jg.abs(t), np.array(e, dtype.np)), x)
    if kind == "cond":
        return _cond_step(draw, b, x)
    if kind == "while":
        n, k = draw(st.integers(0, 3)), draw(st.integers(1, 2))
        return b.apply(lambda t: jg.while_loop(
            lambda i, y, z: i < n, lambda i, y, z: (i + 1, y + 1, z + y), (0, t, t))[k], x)
    if kind in ("gather", "scatter"):
        return _index_step(draw, b, x, kind)
    if kind == "repeat" and len(b.pool) > 1:  # the same computation again: CSE merges it
        return b.apply(lambda t: jg.exp(jg.tanh(t)) if dtype.is_floating else t * 2, x)
    return None


def _indices(t, src, dtype):
    """Valid row indices of ``src`` computed from the values of ``t`` (finite, bounded)."""
    if dtype.is_floating:
        v = jg.where(jg.math.is_finite(t), jg.minimum(jg.abs(t), 1000.0) * 3.0, 0.0)
        t = jg.cast(v, jg.int32)
    return jg.cast(t, jg.int32) % jg.shape(src)[0]


def _index_step(draw, b, x, kind):
    """A gather of rows of a pool tensor at indices computed from ``x``'s values, or a
    tensor_scatter_nd_update of such rows (indices in intermediate buffers: what buffer
    planning must keep alive until the scatter reads them)."""
    dtype = b.dtype
    srcs = [y for y in b.pool if y[1].ndim >= 1 and y[1].shape[0] > 0
            and x[1].ndim + y[1].ndim - 1 <= 4]
    if not srcs or 0 in x[1].shape:
        return None
    src = draw(st.sampled_from(srcs))
    if kind == "gather":
        return b.apply(lambda t, s: jg.gather(s, _indices(t, s, dtype)), x, src)
    if x[1].ndim != 1:
        return None

    def scatter(t, s):
        i = _indices(t, s, dtype)
        return jg.tensor_scatter_nd_update(s, jg.expand_dims(i, -1), jg.gather(s, i) * 2)

    return b.apply(scatter, x, src)


def _cond_step(draw, b, x):
    """A two-output cond of which one output is used (DCE prunes the other); the predicate
    is data-dependent or a constant expression (constant folding inlines the branch)."""
    k = draw(st.integers(0, 1))
    c = draw(st.sampled_from([None, -1, 1]))

    def fn(t):
        pred = jg.reduce_sum(t) > 0 if c is None else jg.constant(c) > 0
        return jg.cond(pred, lambda: (jg.abs(t) + 1, t * 2), lambda: (t - 1, t))[k]

    return b.apply(fn, x)


def _fits(shape, c1, c2):
    try:
        return np.broadcast_shapes(shape, c1.shape, c2.shape) == tuple(shape)
    except ValueError:
        return False


def _reshape_step(draw, b, x):
    static = tuple(x[0].shape)
    how = draw(st.sampled_from(["flatten", "expand", "squeeze", "expand_squeeze"]))
    if how == "flatten" and static.count(None) <= 1 and static:
        return b.apply(lambda t: jg.reshape(t, [-1]), x)
    if how in ("expand", "expand_squeeze") and len(static) < 4:
        a = draw(st.integers(-len(static) - 1, len(static)))
        if how == "expand":
            return b.apply(lambda t: jg.expand_dims(t, a), x)
        return b.apply(lambda t: jg.squeeze(jg.expand_dims(t, a), [a]), x)
    ones = [i for i, d in enumerate(static) if d == 1]
    if how == "squeeze" and ones:
        return b.apply(lambda t: jg.squeeze(t, [ones[0]]), x)
    return None


@st.composite
def graphs(draw, max_ops=8):
    """A random graph with 1-3 inputs and 1-2 outputs, plus its arguments and eager results.

    >>> @given(graph_gen.graphs())
    ... def test_pass(case): ...
    """
    dtype = draw(st.sampled_from([jg.float32, jg.float64, jg.int32]))
    base = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    b = _Builder(Graph("gen"), dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    for i in range(draw(st.integers(1, 3))):
        rank = draw(st.integers(0, len(base)))
        dims = [d if draw(st.integers(0, 3)) else 1 for d in base[len(base) - rank:]]
        static = [None if draw(st.integers(0, 2)) == 0 else d for d in dims]
        if dtype.is_floating:
            value = rng.uniform(-2, 2, dims).astype(dtype.np)
        else:
            value = rng.integers(-5, 6, dims).astype(dtype.np)
        b.add_input(f"x{i}", static, value)
    n_in = len(b.pool)
    for _ in range(draw(st.integers(1, max_ops))):
        _step(draw, b)
    made = b.pool[n_in:] or b.pool
    outs = [made[-1]]
    if len(b.pool) > 2 and draw(st.booleans()):
        outs.append(draw(st.sampled_from(b.pool)))
    b.g.outputs = [s._ir for s, _ in outs]
    args = [np.asarray(e.numpy()) for _, e in b.pool[:n_in]]
    return GenCase(b.g, args, [np.asarray(e.numpy()) for _, e in outs])


def run(graph, args):
    """Runs ``graph`` with the interpreter backend (the reference)."""
    return jg_backends().get("interpreter").compile(graph).run(list(args))


def jg_backends():
    from jitgraph import backends

    return backends


def assert_same(actual, expected, dtype_of=None):
    """Results equal within the dtype's tolerance; NaNs in the same places."""
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype and a.shape == e.shape, (a.dtype, a.shape, e.dtype, e.shape)
        tol = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}.get(a.dtype, 0)
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol, equal_nan=True)
