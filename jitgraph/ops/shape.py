"""Shape and data-movement ops: reshape, transpose, expand_dims, squeeze, broadcast_to,
zeros/ones/fill and the *_like forms, shape/size/rank. Ops that assemble or cut tensors
(concat, stack, split, tile, pad, range, ...) live in assemble.py; indexing in indexing.py."""

import math

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..tensor import Tensor, TensorShape
from .core import Op, Type, apply, as_tensor, fmt_shape, normalize_axis, register, unbroadcast
from .static import dynamic_origin, static_value


def _j():
    from .. import ops

    return ops


def _static_shape(shape, op_name):
    """A tuple of ints (maybe -1) from a list/tuple/TensorShape/tensor; a tensor (or a
    tensor element of a list) traced from static shapes and constants is folded
    (``jg.zeros(jg.shape(x))``); one known only at run time raises, saying what to do."""
    if isinstance(shape, Tensor):
        shape = _folded(shape, op_name).tolist()
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if isinstance(shape, (int, np.integer)):
        shape = [shape]
    out = []
    for d in shape:
        if isinstance(d, Tensor):
            d = _folded(d, op_name)
        out.append(-1 if d is None else int(d))
    return tuple(out)


_LIKE_HINT = dict.fromkeys(
    ("zeros", "ones", "fill"), "; for exactly x's shape, jg.zeros(jg.shape(x)), "
    "jg.ones(jg.shape(x)) and jg.fill(jg.shape(x), v) work for any size")
_LIKE_HINT["reshape"] = "; jg.reshape(x, [-1, 4]) leaves one dim to be computed at run time"
_LIKE_HINT.update(dict.fromkeys(
    ("random_uniform", "random_normal", "random_truncated_normal", "stateless_uniform",
     "stateless_normal", "stateless_truncated_normal"),
    "; random ops draw with a run-time shape given as jg.shape(x), or a list of ints and "
    "jg.shape(x)[i] of one tensor x, unchanged"))


def _folded(t, op_name):
    v = static_value(t)
    if v is None:
        raise errors.UnimplementedError(errors.at_user_line(
            f"{op_name}: the shape must be known when tracing, but it depends on "
            f"{dynamic_origin(t)}. Give the shape as Python ints (x.shape gives the dims known "
            "when tracing) or trace with that dim known (no None for it in the "
            f"input_signature; each new size then traces once){_LIKE_HINT.get(op_name, '')}"))
    if v.dtype.kind not in "iu" or v.ndim > 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{op_name}: the shape must be a 1-D integer tensor or a list of ints, got "
            f"{v.dtype} of shape {list(v.shape)}"))
    return v


def _shape_of(t):
    """The tensor whose ``jg.shape`` a symbolic ``t`` is (dims unknown when tracing), else
    None: zeros/ones/fill of it become a ``full_like`` that runs with any size."""
    if isinstance(t, Tensor) and t._symbolic and t._ir.op.type == "shape" and \
            static_value(t) is None:
        from ..tracing import SymbolicTensor

        return SymbolicTensor(t._ir.op.inputs[0])
    return None


# ----------------------------------------------------------------------------- reshape


def _reshape_infer(types, shape):
    t = types[0]
    known = [d for d in t.shape if d is not None]
    total = int(np.prod(known)) if len(known) == len(t.shape) else None
    if shape.count(-1) > 1:
        raise errors.InvalidArgumentError(f"reshape: at most one -1 allowed in {list(shape)}")
    if any(d < -1 for d in shape):
        raise errors.InvalidArgumentError(f"reshape: negative size in {list(shape)}")
    rest = int(np.prod([d for d in shape if d != -1]))
    if total is not None:
        if -1 in shape:
            if rest == 0 or total % rest:
                raise errors.InvalidArgumentError(
                    f"reshape: cannot reshape a tensor of shape {fmt_shape(t.shape)} "
                    f"({total} elements) to {list(shape)}")
            return Type(t.dtype, tuple(total // rest if d == -1 else d for d in shape))
        if rest != total:
            raise errors.InvalidArgumentError(
                f"reshape: cannot reshape a tensor of shape {fmt_shape(t.shape)} ({total} "
                f"elements) to {list(shape)} ({rest} elements)")
    return Type(t.dtype, tuple(None if d == -1 else d for d in shape))


def _g_reshape(i, o, g, shape):
    x = i[0]
    if x.shape.is_fully_defined():
        return [reshape(g[0], x.shape.as_list())]
    if list(x.shape).count(None) == 1:
        return [reshape(g[0], [-1 if d is None else d for d in x.shape])]
    return [apply("reshape_like", g[0], x)]


register(Op("reshape", _reshape_infer, lambda x, shape: np.reshape(x, shape), grad=_g_reshape,
            kind="shape", unify=()))


def _reshape_like_infer(types):
    x, like = types
    if None not in x.shape and None not in like.shape and \
            math.prod(x.shape) != math.prod(like.shape):
        raise errors.InvalidArgumentError(
            f"reshape_like: cannot reshape a tensor of shape {fmt_shape(x.shape)} "
            f"({math.prod(x.shape)} elements) to {fmt_shape(like.shape)} "
            f"({math.prod(like.shape)} elements)")
    return Type(x.dtype, like.shape)


register(Op("reshape_like", _reshape_like_infer, lambda x, like: np.reshape(x, like.shape),
            grad=lambda i, o, g: [apply("reshape_like", g[0], i[0]), None], kind="shape",
            unify=()))


def reshape(tensor, shape, name=None):
    """``jg.reshape(x, [-1, 3])``: same elements, new shape (one -1 is inferred)."""
    x = as_tensor(tensor, "reshape")
    shape = _static_shape(shape, "reshape")
    if tuple(x.shape) == shape:
        return x
    return apply("reshape", x, shape=shape)


# ----------------------------------------------------------------------------- transpose


def _transpose_infer(types, perm):
    t = types[0]
    if sorted(perm) != list(range(len(t.shape))):
        raise errors.InvalidArgumentError(
            f"transpose: perm {list(perm)} is not a permutation of the axes of a rank "
            f"{len(t.shape)} tensor")
    return Type(t.dtype, tuple(t.shape[p] for p in perm))


def _g_transpose(i, o, g, perm):
    inv = tuple(int(p) for p in np.argsort(perm))
    return [apply("transpose", g[0], perm=inv)]


register(Op("transpose", _transpose_infer, lambda x, perm: np.transpose(x, perm),
            grad=_g_transpose, kind="shape", unify=()))


def transpose(a, perm=None, conjugate=False, name=None):
    """Permutes the axes of ``a`` (reverses them when ``perm`` is None)."""
    x = as_tensor(a, "transpose")
    perm = tuple(reversed(range(x.ndim))) if perm is None else tuple(
        int(p) % max(x.ndim, 1) if -x.ndim <= int(p) < x.ndim else int(p) for p in perm)
    if perm == tuple(range(x.ndim)):
        return x
    return apply("transpose", x, perm=perm)


# ----------------------------------------------------------------------------- expand/squeeze


def expand_dims(input, axis, name=None):
    """Inserts a size-1 axis at ``axis`` (negative counts from the end of the result)."""
    x = as_tensor(input, "expand_dims")
    (a,) = normalize_axis(int(axis), x.ndim + 1, "expand_dims")
    src = list(range(x.ndim))
    src.insert(a, -1)
    return _expand_squeeze(x, src)


def _expand_squeeze(x, src_axes):
    """Result dim k is source dim src_axes[k] (-1: a new size-1 dim); the source dims not
    named have size 1 and are dropped."""
    shape = [1 if s < 0 else x.shape[s] for s in src_axes]
    if shape.count(None) <= 1:
        return reshape(x, [-1 if d is None else d for d in shape])
    return apply("expand_squeeze", x, src_axes=tuple(src_axes))


def _es_infer(types, src_axes):
    t = types[0]
    for i, d in enumerate(t.shape):
        if i not in src_axes and d not in (1, None):
            raise errors.InvalidArgumentError(
                f"expand_squeeze: axis {i} of shape {fmt_shape(t.shape)} has size {d}, not 1")
    return Type(t.dtype, tuple(1 if s < 0 else t.shape[s] for s in src_axes))


def _es_impl(x, src_axes):
    for i, d in enumerate(x.shape):
        if i not in src_axes and d != 1:
            raise errors.InvalidArgumentError(
                f"squeeze: axis {i} has size {d} at run time, not 1 (shape {list(x.shape)})")
    return np.reshape(x, [1 if s < 0 else x.shape[s] for s in src_axes])


register(Op("expand_squeeze", _es_infer, _es_impl,
            grad=lambda i, o, g, src_axes: [apply("reshape_like", g[0], i[0])], kind="shape",
            unify=(), doc="reshape that only adds or removes size-1 axes (None dims kept): "
                          "result dim k is source dim src_axes[k], or a new 1 where it is -1"))


def squeeze(input, axis=None, name=None):
    """Removes size-1 axes (all of them, or those in ``axis``)."""
    x = as_tensor(input, "squeeze")
    shape = list(x.shape)
    if axis is None:
        if None in shape:
            raise errors.InvalidArgumentError(
                "squeeze: with unknown dims, pass axis= to say which size-1 axes to remove")
        axes = [i for i, d in enumerate(shape) if d == 1]
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        for a in axes:
            if shape[a] not in (1, None):
                raise errors.InvalidArgumentError(
                    f"squeeze: axis {a} has size {shape[a]}, not 1 (shape {fmt_shape(shape)})")
    return _expand_squeeze(x, [i for i in range(len(shape)) if i not in axes])


# ----------------------------------------------------------------------------- broadcast_to


def _bt_infer(types, shape):
    t = types[0]
    from .core import broadcast_shapes

    out = broadcast_shapes("broadcast_to", t.shape, shape)
    if tuple(out) != tuple(shape):
        raise errors.InvalidArgumentError(
            f"broadcast_to: cannot broadcast shape {fmt_shape(t.shape)} to {list(shape)}")
    return Type(t.dtype, tuple(shape))


register(Op("broadcast_to", _bt_infer, lambda x, shape: np.broadcast_to(x, shape),
            grad=lambda i, o, g, shape: [unbroadcast(g[0], tuple(i[0].shape))],
            kind="elementwise", lower="identity", unify=()))


def broadcast_to(input, shape, name=None):
    """Broadcasts ``input`` to ``shape`` with NumPy's rules."""
    x = as_tensor(input, "broadcast_to")
    shape = _static_shape(shape, "broadcast_to")
    if tuple(x.shape) == shape:
        return x
    return apply("broadcast_to", x, shape=shape)


# ----------------------------------------------------------------------------- fills


def _like_infer(types, dtype, value):
    return Type(dtype or types[0].dtype, types[0].shape)


register(Op("full_like", _like_infer,
            lambda x, dtype, value: np.full(x.shape, value, (dtype or _dt.from_numpy(x.dtype)).np),
            grad=lambda i, o, g, dtype, value: [None], kind="elementwise", lower="full_like",
            unify=(), doc="a tensor of x's shape filled with attr value"))


def zeros_like(input, dtype=None, name=None):
    """Zeros with the shape (and dtype) of ``input``."""
    x = as_tensor(input, "zeros_like")
    return apply("full_like", x, dtype=None if dtype is None else _dt.as_dtype(dtype), value=0)


def ones_like(input, dtype=None, name=None):
    """Ones with the shape (and dtype) of ``input``."""
    x = as_tensor(input, "ones_like")
    return apply("full_like", x, dtype=None if dtype is None else _dt.as_dtype(dtype), value=1)


def _fill_infer(types, shape, dtype, value):
    return Type(dtype, tuple(shape))


register(Op("fill", _fill_infer, lambda shape, dtype, value: np.full(shape, value, dtype.np),
            kind="elementwise", lower="fill", unify=(), doc="a new tensor filled with value"))


def fill(dims, value, name=None):
    """``jg.fill([2, 3], 9.)``: a tensor of shape ``dims`` filled with ``value``;
    ``jg.fill(jg.shape(x), v)`` works for any shape of ``x``."""
    like = _shape_of(dims)
    if like is not None:
        value = as_tensor(value, "fill")
        if value._symbolic:
            return value * ones_like(like, value.dtype)
        return apply("full_like", like, dtype=value.dtype, value=value.numpy().item())
    shape = _static_shape(dims, "fill")
    if isinstance(value, Tensor):
        if value._symbolic:
            return value * ones(shape, value.dtype)
        v = value.numpy()
        return apply("fill", shape=shape, dtype=value.dtype, value=v.item())
    dtype = _dt.python_scalar_dtype(value) if isinstance(value, (bool, int, float)) else \
        _dt.from_numpy(np.asarray(value).dtype)
    return apply("fill", shape=shape, dtype=dtype, value=value)


def zeros(shape, dtype=_dt.float32, name=None):
    """``jg.zeros([2, 3])``: float32 zeros unless ``dtype`` says otherwise."""
    d = _dt.as_dtype(dtype)
    value = False if d.is_bool else 0
    like = _shape_of(shape)
    if like is not None:
        return apply("full_like", like, dtype=d, value=value)
    return apply("fill", shape=_static_shape(shape, "zeros"), dtype=d, value=value)


def ones(shape, dtype=_dt.float32, name=None):
    """``jg.ones([2, 3])``: float32 ones unless ``dtype`` says otherwise."""
    d = _dt.as_dtype(dtype)
    value = True if d.is_bool else 1
    like = _shape_of(shape)
    if like is not None:
        return apply("full_like", like, dtype=d, value=value)
    return apply("fill", shape=_static_shape(shape, "ones"), dtype=d, value=value)


# ----------------------------------------------------------------------------- shape/size/rank


def _shape_infer(types, out_type):
    return Type(out_type, (len(types[0].shape),))


register(Op("shape", _shape_infer,
            lambda x, out_type: np.array(x.shape, dtype=out_type.np), kind="shape", unify=()))


def shape(input, out_type=_dt.int32, name=None):
    """The shape of ``input`` as a 1-D int32 tensor (a constant when fully known)."""
    x = as_tensor(input, "shape")
    out_type = _dt.as_dtype(out_type)
    if x.shape.is_fully_defined():
        from ..tensor import constant

        return constant(np.array(x.shape.as_list(), dtype=out_type.np))
    return apply("shape", x, out_type=out_type)


def size(input, out_type=_dt.int32, name=None):
    """Number of elements of ``input``."""
    x = as_tensor(input, "size")
    if x.shape.is_fully_defined():
        from ..tensor import constant

        return constant(np.array(x.shape.num_elements(), dtype=_dt.as_dtype(out_type).np))
    return _j().reduce_prod(shape(x, out_type))


def rank(input, name=None):
    """The rank of ``input`` (an int32 scalar)."""
    from ..tensor import constant

    return constant(np.int32(as_tensor(input, "rank").ndim))


__all__ = ["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "zeros_like",
           "ones_like", "fill", "zeros", "ones", "shape", "size", "rank"]
