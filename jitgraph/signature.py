"""Trace-cache keys of jg.function calls.

A call's arguments are encoded into a hashable key, one entry per parameter:
  ("T", dtype, shape)      a Tensor, NumPy array or TensorSpec (shape dims may be None)
  ("V", id)                a Variable (captured by identity: its reads/writes are graph ops)
  ("P", type, value)       any other Python value, by value (a new value retraces)
  ("O", id)                an unhashable Python object, by identity
  ("S", type, children)    list / tuple / namedtuple
  ("M", keys, children)    dict (keys sorted)
The same traversal order gives the tensor leaves (graph inputs) and rebuilds the arguments
with placeholders while tracing.
"""

import numpy as np

from . import dtypes as _dt
from . import errors
from .tensor import Tensor, TensorSpec

_SEQ = (list, tuple)


def _is_var(x):
    return hasattr(x, "_jg_read") and hasattr(x, "assign") and hasattr(x, "_value")


def _np_dtype(arr, where):
    d = _dt._BY_NP.get(arr.dtype)
    if d is None:
        raise TypeError(f"{where}: NumPy dtype {arr.dtype} is not supported by jitgraph; "
                        "cast the array to float32, float64, int32, int64 or bool")
    return d


def encode(x, leaves, where, spec=None):
    """The key of value ``x``; appends its tensor leaves (as arrays or specs) to ``leaves``.
    ``spec`` (an input_signature entry) converts Python values to tensors of its dtype."""
    t = type(x)
    if t is Tensor or (isinstance(x, Tensor) and not x._symbolic):
        v = x._value
        leaves.append(v)
        return ("T", _dt._BY_NP[v.dtype], v.shape)
    if isinstance(x, (np.ndarray, np.generic)):
        v = np.asarray(x)
        if not v.flags.c_contiguous:  # (np.ascontiguousarray would make 0-d arrays 1-d)
            v = np.ascontiguousarray(v)
        leaves.append(v)
        return ("T", _np_dtype(v, where), v.shape)
    if isinstance(x, TensorSpec):
        leaves.append(x)
        return ("T", x.dtype, tuple(x.shape.as_list()))
    if isinstance(x, Tensor):  # symbolic: only reachable when misused across traces
        raise errors.TracingError(errors.at_user_line(
            f"{where}: got the symbolic tensor {x.name} of another trace; pass a concrete value"))
    if isinstance(spec, TensorSpec):  # Python values and Variables become tensors of its dtype
        arr = np.asarray(x._value if _is_var(x) else x, dtype=spec.dtype.np)
        leaves.append(arr)
        return ("T", spec.dtype, arr.shape)
    if _is_var(x):
        return ("V", id(x))
    if t in _SEQ or (isinstance(x, tuple) and hasattr(x, "_fields")):
        subs = spec if isinstance(spec, _SEQ) and len(spec) == len(x) else [None] * len(x)
        return ("S", t, tuple(encode(c, leaves, f"{where}[{i}]", s)
                              for i, (c, s) in enumerate(zip(x, subs, strict=False))))
    if isinstance(x, dict):
        keys = sorted(x, key=repr)
        subs = spec if isinstance(spec, dict) else {}
        return ("M", tuple(keys), tuple(encode(x[k], leaves, f"{where}[{k!r}]", subs.get(k))
                                        for k in keys))
    try:
        hash(x)
    except TypeError:
        return ("O", id(x))
    return ("P", t, x)


def rebuild(x, key, make_leaf):
    """``x`` with each tensor leaf replaced by ``make_leaf(leaf_key)`` (same order as
    ``encode``); other values are kept."""
    tag = key[0]
    if tag == "T":
        return make_leaf(key)
    if tag == "S":
        if x is None:  # tracing from an input_signature alone
            x = (key[1] or tuple)([None] * len(key[2]))
        items = [rebuild(c, k, make_leaf) for c, k in zip(x, key[2], strict=False)]
        t = type(x)
        if t is list:
            return items
        return t(*items) if hasattr(x, "_fields") else t(items)
    if tag == "M":
        x = dict.fromkeys(key[1]) if x is None else x
        pairs = zip(key[1], key[2], strict=False)
        return type(x)((k, rebuild(x[k], ck, make_leaf)) for k, ck in pairs)
    return x


def tensor_leaves(key):
    """The ``("T", dtype, shape)`` leaves of ``key`` in order."""
    if key[0] == "T":
        yield key
    elif key[0] in ("S", "M"):
        for k in key[2]:
            yield from tensor_leaves(k)


def compatible(general, key):
    """True when a call with ``key`` can run a trace made for ``general`` (None dims match
    any size)."""
    if general is key or general == key:
        return True
    if general[0] != key[0]:
        return False
    if general[0] == "T":
        g, k = general[2], key[2]
        return general[1] is key[1] and len(g) == len(k) and all(
            a is None or a == b for a, b in zip(g, k, strict=False))
    if general[0] in ("S", "M"):
        same = general[1] == key[1] or (general[0] == "S" and general[1] is None)
        return same and len(general[2]) == len(key[2]) and all(
            compatible(a, b) for a, b in zip(general[2], key[2], strict=False))
    return False


def relax(a, b):
    """The key that covers both ``a`` and ``b`` when they differ only in tensor dims (those
    dims become None); None otherwise."""
    if a == b:
        return a
    if a[0] != b[0]:
        return None
    if a[0] == "T":
        if a[1] is not b[1] or len(a[2]) != len(b[2]):
            return None
        return ("T", a[1], tuple(x if x == y else None for x, y in zip(a[2], b[2], strict=False)))
    if a[0] in ("S", "M") and a[1] == b[1] and len(a[2]) == len(b[2]):
        kids = [relax(x, y) for x, y in zip(a[2], b[2], strict=False)]
        return None if any(k is None for k in kids) else (a[0], a[1], tuple(kids))
    return None


def compatible_call(general, key):
    """``compatible`` for whole-call keys (tuples with one entry per parameter)."""
    pairs = zip(general, key, strict=False)
    return len(general) == len(key) and all(compatible(g, k) for g, k in pairs)


def relax_call(a, b):
    """``relax`` for whole-call keys; None when they differ in more than tensor dims."""
    if len(a) != len(b):
        return None
    kids = [relax(x, y) for x, y in zip(a, b, strict=False)]
    return None if any(k is None for k in kids) else tuple(kids)


def is_general(key):
    """True when some tensor leaf of a call key has an unknown (None) dim."""
    return any(None in t[2] for k in key for t in tensor_leaves(k))


def describe(key):
    """Short text for a key, e.g. ``float32[?,3]`` or ``2.0`` or ``[float32[3], 1]``."""
    tag = key[0]
    if tag == "T":
        return f"{key[1].name}[{','.join('?' if d is None else str(d) for d in key[2])}]"
    if tag == "V":
        return "Variable"
    if tag == "P":
        return repr(key[2])
    if tag == "O":
        return "<object>"
    if tag == "S":
        inner = ", ".join(describe(k) for k in key[2])
        return f"[{inner}]" if key[1] is list else f"({inner})"
    items = zip(key[1], key[2], strict=False)
    return "{" + ", ".join(f"{k!r}: {describe(c)}" for k, c in items) + "}"


def spec_key(spec, where):
    """The key of an input_signature entry (TensorSpec or nested structure of them)."""
    if isinstance(spec, TensorSpec):
        if spec.shape.rank is None:
            raise ValueError(f"{where}: input_signature TensorSpecs need a known rank "
                             f"(shape=None is not supported: compiled code fixes the rank); "
                             f"give one None per dim, e.g. jg.TensorSpec([None, None]), or "
                             f"leave out input_signature to trace once per rank")
        return ("T", spec.dtype, tuple(spec.shape.as_list()))
    if isinstance(spec, _SEQ):
        return ("S", None, tuple(spec_key(s, f"{where}[{i}]") for i, s in enumerate(spec)))
    if isinstance(spec, dict):
        keys = sorted(spec, key=repr)
        return ("M", tuple(keys), tuple(spec_key(spec[k], f"{where}[{k!r}]") for k in keys))
    raise TypeError(f"{where}: input_signature entries must be jg.TensorSpec (or lists/tuples/"
                    f"dicts of them), got {type(spec).__name__}")


__all__ = ["encode", "rebuild", "tensor_leaves", "compatible", "relax", "describe",
           "spec_key", "is_general",
           "compatible_call", "relax_call"]
