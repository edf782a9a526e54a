"""The op record, the registry, and ``apply``: the one path every op call takes.

``apply`` converts the arguments (Python scalars are weakly typed), runs the op's type rule,
then either runs the NumPy implementation (eager) or records an Operation in the graph being
traced (see tracing.py), and finally lets active GradientTapes record it.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..dtypes import _BY_NP
from ..tensor import Tensor, to_numpy


class Type(NamedTuple):
    """The static type of a value: a DType and a shape tuple whose dims may be None."""

    dtype: Any
    shape: tuple

    def __str__(self):
        return f"{self.dtype.short}[{','.join('?' if d is None else str(d) for d in self.shape)}]"


@dataclass(eq=False)
class Op:
    """Everything about one op, in one place.

    infer(types, **attrs) -> Type | list[Type]   type rule; raises a clear error on bad input
    impl(*arrays, **attrs) -> ndarray | tuple     eager NumPy implementation (also the interpreter)
    grad(inputs, outputs, grads, **attrs) -> list gradient rule written with jitgraph ops; one
                                                  entry per input, None where not differentiable
    kind: 'elementwise' | 'reduce' | 'shape' | 'linalg' | 'random' | 'control' | 'state' | ...
    lower: what backends use to lower it (e.g. a scalar-expression name for elementwise ops)
    unify: indices of the inputs that must share one dtype ('all', or a tuple), where Python
           scalars take that dtype
    stateful: has side effects or fresh randomness: never folded, merged or dropped
    """

    name: str
    infer: Callable
    impl: Callable
    grad: Callable | None = None
    kind: str = "other"
    lower: Any = None
    unify: Any = "all"
    stateful: bool = False
    n_outputs: int | None = 1
    doc: str = ""
    extra: dict = field(default_factory=dict)

    def __repr__(self):
        return f"<Op {self.name}>"


REGISTRY: dict[str, Op] = {}


def register(op: Op) -> Op:
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    return op


def get_op(name) -> Op:
    return REGISTRY[name]


# ----------------------------------------------------------------------------- conversion

_WEAK_TYPES = (bool, int, float, list, tuple)


def _is_weak(x):
    return isinstance(x, _WEAK_TYPES) and not isinstance(x, Tensor)


def _weak_default_dtype(values):
    kinds = set()
    for v in values:
        k = np.asarray(v).dtype.kind
        kinds.add(k)
    if "f" in kinds:
        return _dt.float32
    if "i" in kinds or "u" in kinds:
        return _dt.int32
    return _dt.bool_


def as_tensor(x, op_name="op", dtype=None):
    """Tensor for any op argument: Tensors and Variables pass through (a Variable is read),
    NumPy arrays keep their dtype, Python values get ``dtype`` or their default dtype."""
    if isinstance(x, Tensor):
        return x
    if dtype is not None:
        tx = type(x)
        # hot path of `t + 1`: a Python number that fits the tensor's dtype as it is
        if (tx is float or tx is int) and dtype.is_floating or tx is int and dtype.is_integer \
                and _INT_RANGE[dtype.name][0] <= x <= _INT_RANGE[dtype.name][1]:
            arr = np.array(x, dtype.np)
            if (_late.get("tracing") or _module("tracing")).ACTIVE_SCOPES:
                return _const(arr)
            arr.setflags(write=False)
            t = _new_tensor(Tensor)
            t._value = arr
            return t
    read = getattr(x, "_jg_read", None)
    if read is not None:
        return read()
    if isinstance(x, (list, tuple)) and _holds_tensor(x):
        return _pack(x, op_name, _leaf_dtype(x))
    if dtype is not None and _is_weak(x):
        _dt.check_weak_fits(x, dtype, op_name)
        return _const(to_numpy(x, dtype))
    try:
        return _const(to_numpy(x))
    except TypeError as e:
        raise TypeError(f"{op_name}: {e}") from None


def _holds_tensor(x):
    if isinstance(x, (list, tuple)):
        return any(_holds_tensor(e) for e in x)
    return isinstance(x, Tensor) or getattr(x, "_jg_read", None) is not None


def _leaf_dtype(x):
    """The dtype of the first tensor in nested lists ``x`` (it has one)."""
    if isinstance(x, (list, tuple)):
        for e in x:
            if _holds_tensor(e):
                return _leaf_dtype(e)
    return x.dtype


def _pack(x, op_name, dtype):
    """Nested lists holding tensors (``[[i, 0]]`` with ``i`` a tensor) as one tensor, stacked
    along new leading axes (TensorFlow's auto-packing; gradients flow into the tensors);
    Python numbers in them take the tensors' dtype."""
    if not isinstance(x, (list, tuple)):
        t = as_tensor(x, op_name, dtype)
        if t.dtype is not dtype:
            raise errors.InvalidArgumentError(
                f"{op_name}: a list mixes {dtype.name} and {t.dtype.name} tensors; jg.cast "
                f"them to one dtype")
        return t
    if not x:
        raise errors.InvalidArgumentError(
            f"{op_name}: an empty list next to tensors in a nested list has no shape")
    from .assemble import stack

    return stack([_pack(e, op_name, dtype) for e in x], axis=0)


_INT_RANGE = {d.name: (int(np.iinfo(d.np).min), int(np.iinfo(d.np).max))
              for d in _dt.ALL if d.is_integer}
_late = {}  # modules that import this one, bound on first use: tracing, autodiff.tape


def _module(name):
    m = _late.get(name)
    if m is None:
        import importlib

        m = _late[name] = importlib.import_module("jitgraph." + name)
    return m


def _const(arr):
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    t = Tensor(arr)
    tracing = _late.get("tracing") or _module("tracing")
    return t if tracing.current_graph() is None else tracing.maybe_capture(t)


def convert_args(op, args):
    """Tensors for an op's positional arguments, applying the weak-scalar rule to op.unify."""
    if len(args) == 1 and isinstance(args[0], Tensor):  # hot path: unary ops
        return [args[0]]
    if len(args) == 2 and op.unify == "all":  # hot path: binary ops
        a, b = args
        a_weak = _is_weak(a)
        if not a_weak and not isinstance(a, Tensor):
            read = getattr(a, "_jg_read", None)  # a Variable: read it, as as_tensor would
            if read is not None:
                a = read()
        if (a_weak or isinstance(a, Tensor)) and not isinstance(b, Tensor) \
                and not _is_weak(b):
            read = getattr(b, "_jg_read", None)  # after a, so reads keep argument order
            if read is not None:
                b = read()
        args = (a, b)
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                if a.dtype is not b.dtype:
                    _dt.result_dtype(op.name, [a.dtype, b.dtype])
                return [a, b]
            if _is_weak(b):
                return [a, as_tensor(b, op.name, a.dtype)]
        elif isinstance(b, Tensor) and _is_weak(a):
            return [as_tensor(a, op.name, b.dtype), b]
    unify = range(len(args)) if op.unify == "all" else op.unify
    strong, weak = [], []
    for i in unify:
        if i >= len(args):
            continue
        a = args[i]
        (weak if _is_weak(a) else strong).append(i)
    out = list(args)
    if strong:
        ts = [as_tensor(args[i], op.name) for i in strong]
        for i, t in zip(strong, ts):
            out[i] = t
        dtype = _dt.result_dtype(op.name, [t.dtype for t in ts])
    elif weak:
        dtype = _weak_default_dtype([args[i] for i in weak])
    else:
        dtype = None
    for i in weak:
        out[i] = as_tensor(args[i], op.name, dtype)
    for i, a in enumerate(out):
        if not isinstance(a, Tensor):
            out[i] = as_tensor(a, op.name)
    return out


def type_of(t):
    v = t._value
    if v is None:  # a SymbolicTensor
        return t._ir.type
    return Type(_BY_NP[v.dtype], v.shape)


# ----------------------------------------------------------------------------- apply


def apply(name, *args, **attrs):
    """Runs op ``name`` on ``args`` (eager) or records it (tracing); returns a Tensor or a
    tuple of Tensors."""
    op = REGISTRY[name]
    tensors = convert_args(op, args)
    return apply_tensors(op, tensors, attrs)


_BF16 = _dt.bfloat16.np if _dt.bfloat16 is not None else None


def widen(impl):
    """``impl`` for bfloat16 inputs: NumPy has no bfloat16 arithmetic (ml_dtypes' casts
    only are exact and fast), so they are computed on as float32; the caller rounds the
    result to the inferred dtype (``_wrap``, the interpreter's ``_fix``)."""
    def widened(*arrays, **attrs):
        return impl(*[a.astype(np.float32) if getattr(a, "dtype", None) is _BF16 else a
                      for a in arrays], **attrs)

    return widened


def has_bf16(values):
    if _BF16 is None:
        return False
    for v in values:
        if v.dtype is _BF16:
            return True
    return False


def apply_tensors(op, tensors, attrs):
    """``apply`` after argument conversion: ``tensors`` are Tensors. The eager path is the hot
    path of eager mode: keep it lean (see benchmarks/eager_overhead.py)."""
    tracing = _late.get("tracing") or _module("tracing")
    if not tracing.ACTIVE_SCOPES or tracing.current_graph() is None:
        values = [t._value for t in tensors]
        for v in values:
            if v is None:  # a SymbolicTensor outside its trace: the general path raises
                return _apply_general(op, tensors, attrs)
        try:
            out_types = _infer_eager(op, values, tensors, attrs)
            res = op.impl(*values, **attrs) if _BF16 is None or not has_bf16(values) else \
                widen(op.impl)(*values, **attrs)
        except errors.JitgraphError as e:
            _name_user_line(e)
            raise
        if isinstance(out_types, list):
            outs = [_wrap(r, t) for r, t in zip(res, out_types)]
            tape = _late.get("autodiff.tape") or _module("autodiff.tape")
            if tape.ACTIVE and op.grad is not None:
                tape.record(op, tensors, outs, attrs)
            return outs
        out = _wrap(res, out_types)
        tape = _late.get("autodiff.tape") or _module("autodiff.tape")
        if tape.ACTIVE and op.grad is not None:
            tape.record(op, tensors, [out], attrs)
        return out
    return _apply_general(op, tensors, attrs)


def _name_user_line(e):
    """Appends the user's file:line to the message of an eager op's error that lacks it."""
    where = errors.format_location(errors.user_location())
    if where and e.args and isinstance(e.args[0], str) and where not in e.args[0]:
        e.args = (f"{e.args[0]} ({where})",) + e.args[1:]


def _apply_general(op, tensors, attrs):
    """``apply_tensors`` for every case: tracing, eager, and symbolic tensors used outside
    their trace (an error)."""
    tracing = _late.get("tracing") or _module("tracing")
    out_types = op.infer([type_of(t) for t in tensors], **attrs)
    multi = isinstance(out_types, list)
    graph = tracing.current_graph()
    if graph is not None:
        outs = tracing.record(graph, op, tensors, attrs, out_types if multi else [out_types])
        if not multi:
            outs = outs[0]
    else:
        values = [t._value for t in tensors]
        if any(v is None for v in values):  # a SymbolicTensor
            raise errors.TracingError(errors.at_user_line(
                f"{op.name}: a symbolic tensor from a jg.function trace was used outside "
                "of it; return it from the function instead of keeping it"))
        res = (widen(op.impl) if has_bf16(values) else op.impl)(*values, **attrs)
        outs = [_wrap(r, t) for r, t in zip(res, out_types)] if multi else _wrap(res, out_types)
    tape = _late.get("autodiff.tape") or _module("autodiff.tape")
    if tape.ACTIVE and op.grad is not None:
        tape.record(op, tensors, outs if multi else [outs], attrs)
    return outs


# Eager type-rule results by (op, attrs, input dtypes and shapes). A type rule is a pure
# function of those, so its result can be reused; errors are never cached (the rule runs
# again and raises again, from the same user line). Attributes that are not plain values
# (arrays, tensors, variables, callables) make a call uncacheable.
_INFER_CACHE = {}
_INFER_CACHE_MAX = 4096
_PLAIN = frozenset({bool, int, float, str, type(None), _dt.DType})


def _attr_key(v):
    """``v`` as part of a cache key, told apart by type (1, 1.0 and True are equal in
    Python but not to a type rule); None where ``v`` is not a plain value."""
    tv = type(v)
    if tv in _PLAIN:
        return tv, v
    if tv is tuple or tv is list:
        for e in v:
            if type(e) is not int:
                break
        else:  # the common case, axes or a shape: no nested keys needed
            return tv, tuple(v)
        parts = []
        for e in v:
            k = _attr_key(e)
            if k is None:
                return None
            parts.append(k)
        return tv, tuple(parts)
    return None


def _infer_eager(op, values, tensors, attrs):
    if not attrs and len(values) == 2:
        a, b = values
        key = (op, a.dtype, a.shape, b.dtype, b.shape)
    elif not attrs and len(values) == 1:
        a = values[0]
        key = (op, a.dtype, a.shape)
    else:
        key = [op]
        for k, v in attrs.items():
            ak = _attr_key(v)
            if ak is None:
                return op.infer([type_of(t) for t in tensors], **attrs)
            key.append(k)
            key.append(ak)
        for v in values:
            key.append(v.dtype)
            key.append(v.shape)
        key = tuple(key)
    out = _INFER_CACHE.get(key)
    if out is None:
        out = op.infer([Type(_BY_NP[v.dtype], v.shape) for v in values], **attrs)
        if len(_INFER_CACHE) >= _INFER_CACHE_MAX:
            _INFER_CACHE.clear()
        _INFER_CACHE[key] = tuple(out) if isinstance(out, list) else out
        return out
    return list(out) if type(out) is tuple else out  # several outputs (a Type is no tuple)


def _wrap(r, ty):
    """An eager output as a Tensor of the inferred dtype, C-contiguous (views of transposes,
    slices and broadcasts are copied) and read-only."""
    if type(r) is not np.ndarray:
        r = np.asarray(r)
    want = ty.dtype.np
    if r.dtype != want:
        r = r.astype(want)
    if not r.flags.c_contiguous:
        r = r.copy()
    r.setflags(write=False)  # cheaper than flags.writeable = False
    t = _new_tensor(Tensor)
    t._value = r
    return t


_new_tensor = object.__new__


# ----------------------------------------------------------------------------- helpers for rules


def normalize_axis(axis, rank, op_name):
    """A tuple of non-negative axes for ``axis`` (None = all axes); raises on bad axes."""
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, Tensor):
        axis = axis.numpy().tolist()
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -rank <= a < rank:
            raise errors.InvalidArgumentError(
                f"{op_name}: axis {a} is out of range for a tensor of rank {rank}; "
                f"valid axes are {-rank}..{rank - 1}" if rank else
                f"{op_name}: axis {a} is out of range for a scalar (rank 0) tensor")
        a %= rank
        if a in out:
            raise errors.InvalidArgumentError(f"{op_name}: axis {a} is repeated in {axis}")
        out.append(a)
    return tuple(sorted(out))


def fmt_shape(shape):
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def broadcast_shapes(op_name, *shapes):
    """NumPy broadcasting of shapes with None dims; raises naming the op and both shapes."""
    if len(shapes) == 2 and None not in shapes[0] and None not in shapes[1]:
        a, b = shapes  # hot path: equal shapes or a scalar operand
        if a == b or not b:
            return tuple(a)
        if not a:
            return tuple(b)
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise errors.InvalidArgumentError(
                f"{op_name}: shapes {' and '.join(fmt_shape(s) for s in shapes)} are not "
                f"broadcastable (dimension {i - rank} is {' vs '.join(map(str, sorted(known)))}); "
                "reshape or jg.expand_dims one operand so the dims match or are 1")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def unbroadcast(g, shape):
    """Sums gradient ``g`` down to ``shape`` (the shape of the input it flows to)."""
    gshape = type_of(g).shape
    if gshape == shape or tuple(gshape) == tuple(shape):
        return g
    from . import reduce_sum, squeeze

    lead = len(gshape) - len(shape)
    axes = list(range(lead))
    for i, d in enumerate(shape):
        gd = gshape[lead + i]
        if d == 1 and gd != 1:
            axes.append(lead + i)
    if lead and len(axes) == lead:  # only leading axes go: one reduction, no squeeze
        return reduce_sum(g, axis=axes)
    if axes:
        g = reduce_sum(g, axis=axes, keepdims=True)
    if lead:
        g = squeeze(g, axis=list(range(lead)))
    return g
