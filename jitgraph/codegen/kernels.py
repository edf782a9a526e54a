"""The fused-kernel IR: loop nests over an iteration shape with a scalar expression body,
optionally reduced over some axes with a combiner; plus run-time quantities.

Quantities. A dim, stride, size or arena offset is either an ``int`` (known when compiling)
or a ``Param``: slot ``index`` of the ``params`` array the entry point receives, filled by
``fn(env)`` when a call brings new sizes for the graph's ``None`` dims (runtime.py caches
one filled array per distinct set of sizes). ``Quantities.q(key, fn)`` decides which:
``fn`` asks the shape environment for dims and raises ``Dyn`` on an unknown one.

Expressions (``Load``, ``Const``, ``Apply``, ``Iota``) are evaluated at each point of the
iteration space; a ``Load`` reads ``storage`` at ``sum(index[d] * strides[d])`` (elements),
so broadcasting is a zero stride and a transpose a permutation of strides.

    k = Kernel("fusion_3", dims=[n, 3], body=Apply("add", f32, [ld_x, ld_y]), out=buf,
               reduce_axes=(1,), combiner="add")
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import UnimplementedError


class Dyn(Exception):
    """Raised by a quantity's fn when it needs a dim only known at run time."""


@dataclass(frozen=True)
class Param:
    index: int

    def __repr__(self):
        return f"params[{self.index}]"


class Env:
    """Shapes of Values: ``dim(v, i)`` / ``shape(v)``; static envs raise Dyn on None."""

    def __init__(self, shapes):
        self.shapes = shapes  # Value -> tuple
        self.cache = {}

    def shape(self, v):
        s = self.shapes[v]
        if any(d is None for d in s):
            raise Dyn
        return s

    def dim(self, v, i):
        d = self.shapes[v][i]
        if d is None:
            raise Dyn
        return d

    def size(self, v):
        return int(np.prod(self.shape(v), dtype=np.int64))


class Quantities:
    """Allocates quantities: constants where the static shapes decide them, else Params."""

    def __init__(self, static_env):
        self.env = static_env
        self.fns = []
        self.memo = {}

    def q(self, key, fn):
        if key in self.memo:
            return self.memo[key]
        try:
            r = int(fn(self.env))
        except Dyn:
            r = Param(len(self.fns))
            self.fns.append(fn)
        self.memo[key] = r
        return r

    def dim(self, v, i):
        return self.q(("dim", v.uid, i), lambda e: e.dim(v, i))

    def size(self, v):
        return self.q(("size", v.uid), lambda e: e.size(v))

    def nbytes(self, v):
        return self.q(("nbytes", v.uid), lambda e: e.size(v) * v.dtype.np.itemsize)

    def evaluate(self, env):
        return np.array([int(f(env)) for f in self.fns], dtype=np.int64)


def contiguous_stride(e, v, k):
    """Elements between consecutive indices of dim ``k`` of contiguous Value ``v``."""
    return int(np.prod(e.shape(v)[k + 1:], dtype=np.int64)) if k + 1 < len(v.shape) else 1


def broadcast_strides(qs, v, rank, key=""):
    """Per-dim strides reading contiguous ``v`` broadcast (right-aligned) to ``rank`` dims."""
    p = len(v.shape)
    out = []
    for d in range(rank):
        k = d - (rank - p)
        if k < 0:
            out.append(0)
            continue

        def fn(e, k=k):
            return 0 if e.dim(v, k) == 1 else contiguous_stride(e, v, k)

        out.append(qs.q(("bstride", v.uid, rank, k), fn))
    return out


# ----------------------------------------------------------------------------- storage


@dataclass(eq=False)
class Storage:
    """Where a Value lives: ``kind`` is 'arg' | 'out' | 'var' | 'const' | 'arena' | 'status';
    ``index`` the slot; ``offset`` (bytes, arena only) a quantity."""

    kind: str
    index: int
    offset: object = 0

    def __repr__(self):
        return f"{self.kind}{self.index}" + (f"+{self.offset}" if self.kind == "arena" else "")


# ----------------------------------------------------------------------------- expressions


@dataclass(eq=False)
class Load:
    storage: Storage
    dtype: object
    strides: list
    offset: object = 0  # elements
    index: object = None  # optional Expr (int64) added to the address: gathers


@dataclass(eq=False)
class Const:
    dtype: object
    value: object


@dataclass(eq=False)
class Apply:
    lower: str
    dtype: object  # result dtype
    args: list
    attrs: dict = field(default_factory=dict)


@dataclass(eq=False)
class Iota:
    """The index along iteration dim ``dim`` (int64)."""

    dim: int


@dataclass(eq=False)
class QExpr:
    """A quantity (dim, offset, ...) as an int64 value."""

    q: object


@dataclass(eq=False)
class Guard:
    """``index`` (int64) if 0 <= index < ``size``; else 0, and the kernel sets status
    ``code`` (the entry point returns it; no out-of-bounds access happens)."""

    index: object
    size: object
    code: int


@dataclass(eq=False)
class Kernel:
    """One loop nest: ``out[i] = body(i)`` over ``dims``, or with ``reduce_axes`` a
    reduction of ``body`` with ``combiner`` ('add', 'mul', 'max', 'min', 'or', 'and');
    ``mean`` divides the result by the number of reduced elements."""

    name: str
    dims: list
    body: object
    out: Storage
    out_dtype: object
    reduce_axes: tuple = ()
    combiner: str | None = None
    mean: bool = False
    loc: object = None
    text: str = ""  # the op this kernel comes from, for error messages and explain
    out_strides: list | None = None  # strided store (slice_update); None: contiguous
    out_offset: object = 0
    out_index: object = None  # scatter: element index expression (serial, in order, unless unique)
    accumulate: bool = False  # scatter-add: out[index] += body
    unique_index: bool = False  # out_index hits each element once: the scatter may run in parallel
    # elementwise kernels over the same dims computed in this one's loop (a full reduction
    # only; codegen/siblings.py): each reads its inputs at the element the reduction reads
    siblings: list = field(default_factory=list)

    plain = True  # False for kernels that are neither maps nor reductions (ScanKernel)

    @property
    def stores(self):
        """The Storages this kernel writes (buffer planning's liveness)."""
        return [self.out] + [sk.out for sk in self.siblings]

    @property
    def is_reduction(self):
        return bool(self.reduce_axes)

    @property
    def is_plain_map(self):
        """``out[i] = body(i)`` writing its whole, contiguous output once (no row phases,
        scans, scatter, strides or siblings)."""
        return (self.plain and not self.is_reduction and getattr(self, "phases", None) is None
                and self.out_strides is None and self.out_index is None and not self.accumulate
                and self.out_offset == 0 and not self.siblings)


@dataclass(eq=False)
class ScanKernel(Kernel):
    """A cumulative ``combiner`` ('add' or 'mul') of ``body`` along ``axis``: for each index
    of the other dims, a sequential loop over ``axis`` storing every prefix (``exclusive``:
    the prefix before the element; ``reverse``: from the end). The output is contiguous."""

    axis: int = 0
    exclusive: bool = False
    reverse: bool = False
    plain = False


@dataclass(eq=False)
class SortKernel(Kernel):
    """A stable sort of ``body`` along ``axis`` for each index of the other dims, keeping
    the first ``k`` (a quantity, at most the axis length) in ``descending`` or ascending
    order: values into ``out``, their int32 positions along the axis into ``index_out``
    (both contiguous, ``k`` long on the axis). codegen/sorting.py emits it."""

    axis: int = 0
    descending: bool = False
    k: object = 0
    index_out: Storage | None = None
    plain = False

    @property
    def stores(self):
        return [self.out, self.index_out]


def dtype_of_expr(x):
    if isinstance(x, (Load, Const, Apply)):
        return x.dtype
    from .. import dtypes

    return dtypes.int64


@dataclass(eq=False)
class RowValue:
    """The result of phase ``phase`` of a RowKernel at the current row (a scalar)."""

    phase: int
    dtype: object


@dataclass(eq=False)
class Phase:
    """One reduction of a RowKernel: ``body`` reduced with ``combiner`` over ``inner``
    (the dims of its own input after the row's outer dims)."""

    body: object
    inner: list
    combiner: str
    out_dtype: object
    mean: bool = False


@dataclass(eq=False)
class RowKernel(Kernel):
    """A row-fused kernel: for each outer index (the first ``len(dims) - len(inner)``
    dims) run ``phases`` back to back, then ``final`` (a map over the inner dims into
    ``out``, or, when ``final`` is a Phase, one reduction stored per row). ``body`` holds
    every expression (for liveness); later phases read earlier ones as RowValue."""

    phases: list = field(default_factory=list)
    final: object = None


def subexpressions(e):
    """Every expression node under (and including) ``e``, each once (gather indices and
    guards included)."""
    out, seen, stack = [], set(), [e]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        out.append(x)
        if isinstance(x, Apply):
            stack.extend(x.args)
        elif isinstance(x, (Load, Guard)) and x.index is not None:
            stack.append(x.index)
    return out


def expr_of_subgraph(sub, loads, qs, rank, reduced=None, gathered=None, status_code=None):
    """Expressions for the Values of fusion sub-graph ``sub`` given the Loads of its
    placeholders (``loads[i]`` for ``sub.inputs[i]``); a reduction inside the sub-graph
    (a row kernel's) becomes ``reduced(op, vals)`` when given, a gather (passes/fusion.py)
    ``gathered(op)``. ``status_code(op)`` (Lowerer.index_code) gives the status code of an
    op that checks its values: an integer ``pow`` with a negative exponent fails the call,
    as it raises eagerly."""
    from ..ops.core import REGISTRY

    vals = dict(zip(sub.inputs, loads))
    for op in sub.ops:
        if op.type == "placeholder":
            continue
        out = op.outputs[0]
        if op.type == "constant":
            vals[out] = Const(out.dtype, op.attrs["value"].reshape(()).item())
            continue
        if op.type == "gather":
            if gathered is None:
                raise unimplemented(op, "a gather fused into this kind of kernel")
            vals[out] = gathered(op)
            continue
        od = REGISTRY[op.type]
        if od.kind == "reduce":
            if reduced is not None and op is not sub.outputs[0].op:
                vals[out] = reduced(op, vals)
            continue  # the root; handled by the caller
        if od.lower in ("fill", "full_like"):
            vals[out] = Const(out.dtype, op.attrs["value"])
            continue
        args = [vals[v] for v in op.inputs]
        if op.type == "pow" and out.dtype.is_integer and status_code is not None:
            args[1] = _nonnegative(args[1], op.inputs[1].dtype, status_code(op))
        attrs = {k: v for k, v in op.attrs.items() if k in ("dtype", "value")}
        attrs["in_dtypes"] = [v.dtype for v in op.inputs]
        vals[out] = args[0] if od.lower == "identity" else Apply(od.lower, out.dtype, args,
                                                                 attrs)
    return vals


def _nonnegative(e, dtype, code):
    """``e`` (an integer expression) where it is >= 0; else 0, and the call fails with
    ``code``."""
    from .. import dtypes

    i64 = dtypes.int64
    wide = Apply("cast", i64, [e], {"in_dtypes": [dtype], "dtype": i64})
    checked = Guard(wide, 2**63 - 1, code)
    return Apply("cast", dtype, [checked], {"in_dtypes": [i64], "dtype": dtype})


def unimplemented(op, why=""):
    from ..errors import format_location
    from ..ir.printer import format_op

    where = f" ({format_location(op.loc)})" if op.loc else ""
    return UnimplementedError(
        f"the cpu backend cannot compile op {op.type!r}{where}{': ' + why if why else ''}; "
        f"use backend='interpreter' for this function meanwhile:\n{format_op(op)}")


__all__ = ["RowValue", "Phase", "RowKernel", "ScanKernel", "SortKernel", "Dyn", "Param", "Env",
           "Quantities", "Storage",
           "Load", "Const", "Apply", "Iota",
           "Kernel", "QExpr", "Guard", "broadcast_strides", "contiguous_stride", "expr_of_subgraph",
           "subexpressions",
           "unimplemented", "dtype_of_expr"]
