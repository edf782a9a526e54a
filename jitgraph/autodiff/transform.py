"""Functional reverse mode: ``jg.grad`` and ``jg.value_and_grad``.

Both are thin shells over GradientTape. On a plain Python function the returned function runs
``f`` under a tape, eagerly or inside whatever trace calls it. On a ``jg.function`` the result
is a new ``jg.function`` whose Python body runs ``f.python_function`` under a tape: tracing it
emits forward and gradient ops into one graph, which the passes then optimize and the backend
compiles as a whole (so the gradient is a graph transform, not a Python loop at run time).
Every op's gradient rule is written with jitgraph ops, so nesting gives higher derivatives:
``jg.grad(jg.grad(f))``.
"""

import functools
import types

from .. import errors
from .tape import GradientTape, _flatten, _map_structure


def grad(f, argnums=0, has_aux=False):
    """The function computing the gradient of scalar-valued ``f`` w.r.t. args ``argnums``.

    >>> df = jg.grad(lambda x: jg.reduce_sum(x * x))
    >>> df(jg.constant([1.0, 2.0]))  # [2., 4.]

    ``argnums`` is an int (one gradient) or a tuple (a tuple of gradients). With
    ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result is ``(gradient, aux)``.
    Gradients of integer or boolean arguments, and of arguments ``f`` does not use, are None.
    """
    vg = value_and_grad(f, argnums, has_aux)

    def grad_fn(*args, **kwargs):
        value, g = _python_fn(vg)(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return _wrap_like(f, grad_fn, "grad")


def value_and_grad(f, argnums=0, has_aux=False):
    """Like :func:`grad`, but the function returns ``(value, gradient)``.

    >>> vg = jg.value_and_grad(lambda x: jg.reduce_sum(jg.sin(x)))
    >>> y, dy = vg(jg.constant([0.0, 1.0]))
    """
    body = _python_fn(f)
    nums = _check_argnums(argnums)

    def value_and_grad_fn(*args, **kwargs):
        args = list(args)
        if max(nums) >= len(args):
            raise TypeError(errors.at_user_line(
                f"jg.value_and_grad({_name(f)}): argnums={argnums} but the function was called "
                f"with {len(args)} positional arguments; pass the arguments to differentiate "
                "positionally"))
        for i in nums:  # fresh tensors: the same tensor passed twice is two sources
            args[i] = _map_structure(_as_source, args[i])
        with GradientTape(watch_accessed_variables=False) as tape:
            for i in nums:
                tape.watch([t for t in _flatten(args[i]) if _is_watchable(t)])
            out = body(*args, **kwargs)
        value, target = _split_aux(out, has_aux, f)
        _check_scalar(target, f)
        grads = tape.gradient(target, [args[i] for i in nums])
        return value, grads[0] if isinstance(argnums, int) else tuple(grads)

    return _wrap_like(f, value_and_grad_fn, "value_and_grad")


# ----------------------------------------------------------------------------- helpers


def _is_function(f):
    from ..function import Function

    return isinstance(f, Function)


def _python_fn(f):
    """The Python body to run under the tape: a jg.function's (AutoGraph-converted when the
    function converts) python_function, bound to its object for a method reached through
    an instance (``jg.grad(model.f)``), else ``f`` itself."""
    try:
        is_fn = _is_function(f)
    except ImportError:  # function.py not present: only plain functions exist
        is_fn = False
    if not is_fn:
        return f
    py = f.python_function
    if getattr(f, "_autograph", False):
        from .. import autograph

        py = autograph.convert(py)
    if f._instance is not None:  # argnums then count the arguments after `self`
        py = types.MethodType(py, f._self())
    return py


def _wrap_like(f, fn, what):
    """``fn`` as a jg.function with ``f``'s options when ``f`` is one, else a plain function."""
    functools.update_wrapper(fn, _python_fn(f), updated=())
    fn.__name__ = f"{what}_{_name(f)}"
    fn.__qualname__ = fn.__name__
    try:
        is_fn = _is_function(f)
    except ImportError:
        is_fn = False
    if not is_fn:
        return fn
    from ..function import function

    return function(fn, input_signature=f.input_signature, autograph=False,
                    reduce_retracing=f._reduce_retracing, backend=f._backend)


def _check_argnums(argnums):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(i, int) and i >= 0 for i in nums):
        raise TypeError(errors.at_user_line(
            f"jg.grad: argnums must be a non-negative int or a tuple of them, got {argnums!r}"))
    return nums


def _is_tensor(x):
    from ..tensor import Tensor

    return isinstance(x, Tensor)


def _is_watchable(x):
    return hasattr(x, "_jg_read") or (_is_tensor(x) and x.dtype.is_floating)


def _check_scalar(y, f):
    shape = getattr(y, "shape", None)
    if not _is_tensor(y) or len(shape) != 0:
        what = f"shape {list(shape)}" if _is_tensor(y) else type(y).__name__
        raise TypeError(errors.at_user_line(
            f"jg.grad({_name(f)}): the function must return a scalar tensor, got {what}; reduce "
            "it (jg.reduce_sum / jg.reduce_mean) or use GradientTape.gradient with "
            "output_gradients for vector-Jacobian products"))


def _as_source(x):
    """A new tensor for an argument to differentiate (Python numbers and arrays converted);
    Variables stay themselves."""
    from ..ops import identity
    from ..ops.core import as_tensor

    if hasattr(x, "_jg_read"):
        return x
    x = as_tensor(x, "jg.grad")
    return identity(x) if x.dtype.is_floating else x


def _split_aux(out, has_aux, f):
    if not has_aux:
        return out, out
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(errors.at_user_line(
            f"jg.grad({_name(f)}, has_aux=True): the function must return a pair (value, aux), "
            f"got {type(out).__name__}"))
    return tuple(out), out[0]


def _name(f):
    return getattr(f, "__name__", None) or getattr(_python_fn(f), "__name__", type(f).__name__)
