"""``jg.py_function`` and ``jg.numpy_function``: Python called with tensor (NumPy) values.

Eager only. jitgraph's compiled code calls back into Python just to print (``jg.print``):
a callback that returns new tensors would need shapes and buffers the compiled program
does not know ahead, so inside a ``jg.function`` these raise ``UnimplementedError`` while
tracing, naming the function and what to do. Eagerly ``py_function`` runs ``func`` under
the active tapes (so it is differentiable, as in TensorFlow); ``numpy_function`` is not.
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors, tracing
from .core import as_tensor


def _outside_trace(what, func):
    if tracing.current_graph() is not None:
        name = getattr(func, "__name__", repr(func))
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}({name}): running Python while a compiled jg.function runs is not "
            f"supported (compiled code calls back into Python only for jg.print); call it "
            f"outside the jg.function, write {name} with jg ops, or use "
            f"jg.config.run_functions_eagerly(True)"))


def _results(what, func, out, Tout, convert):
    if Tout is None:
        return None
    many = isinstance(Tout, (list, tuple))
    touts = [_dt.as_dtype(t) for t in (Tout if many else [Tout])]
    if many and not touts and out is None:
        return []
    vals = list(out) if many and isinstance(out, (list, tuple)) else [out]
    if many and len(vals) != len(touts):
        raise errors.InvalidArgumentError(
            f"{what}: {getattr(func, '__name__', 'func')} returned {len(vals)} values, "
            f"Tout names {len(touts)}")
    res = [convert(i, v, t) for i, (v, t) in enumerate(zip(vals, touts))]
    return res if many else res[0]


def _to_tensor(what, func):
    def convert(i, v, dtype):
        if hasattr(v, "dtype") and not isinstance(v, (int, float, bool)):
            have = _dt.as_dtype(v.dtype)
            if have is not dtype:
                raise errors.InvalidArgumentError(
                    f"{what}: value {i} returned by {getattr(func, '__name__', 'func')} is "
                    f"{have.name}, but Tout expects {dtype.name}")
        return as_tensor(v, what, dtype)

    return convert


def py_function(func, inp, Tout, name=None):  # noqa: N803 - TensorFlow's name
    """``func(*inp)`` with ``inp`` as tensors; its results as tensors of the dtypes
    ``Tout`` (one dtype: one tensor; a list: a list). Eager only."""
    _outside_trace("py_function", func)
    args = [as_tensor(x, "py_function") for x in (inp or [])]
    return _results("py_function", func, func(*args), Tout, _to_tensor("py_function", func))


def numpy_function(func, inp, Tout, stateful=True, name=None):  # noqa: N803
    """``func(*inp)`` with ``inp`` as NumPy arrays; its results as tensors of the dtypes
    ``Tout``. Eager only; not differentiable."""
    _outside_trace("numpy_function", func)
    args = [np.asarray(as_tensor(x, "numpy_function").numpy()) for x in (inp or [])]
    from ..autodiff.tape import pause

    with pause():
        out = func(*args)
    return _results("numpy_function", func, out, Tout, _to_tensor("numpy_function", func))


__all__ = ["py_function", "numpy_function"]
