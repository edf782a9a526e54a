"""Assertions (``jg.debugging``): ``assert_equal``, ``assert_less``, ..., ``assert_rank``,
``assert_shapes``, ``check_numerics``, ``Assert``, and the op ``assert`` that checks values
when a compiled function runs.

- Eagerly a failed check raises ``InvalidArgumentError`` with TensorFlow's wording, the
  offending values and the user's file:line.
- Inside a ``jg.function``, static facts (ranks, known dims, broadcastable shapes) are
  checked while tracing. Value checks (and dims unknown when tracing) become an ``assert``
  op: stateful, so it is never dropped even though nothing uses it; when its condition is
  false the call raises ``InvalidArgumentError`` with the message and the line, on every
  backend (the interpreter raises from the op; compiled code returns the op's status code,
  see codegen/check_ops.py). The values themselves are not in the compiled message. As
  after a failed gather index check, the rest of that call still runs, but its results
  are never returned and the variables it wrote get their values from before the call
  back (codegen/runtime.py, interpreter.py).
"""

import contextlib

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import Op, apply, as_tensor, register

_SUMMARIZE = 3


def _assert_infer(types, message):
    (c,) = types
    if not c.dtype.is_bool or c.shape != ():
        raise errors.InvalidArgumentError(
            f"assert: the condition must be a bool scalar, got {c}")
    return []


def _assert_impl(cond, message):
    if not bool(cond):
        raise errors.InvalidArgumentError(message)
    return ()


register(Op("assert", _assert_infer, _assert_impl, kind="io", lower="assert", unify=(),
            stateful=True, n_outputs=0,
            doc="raises InvalidArgumentError(attr message) when its bool scalar input is "
                "false; no outputs"))


def _is_symbolic(t):
    return t._symbolic


def _fmt(a, summarize):
    a = np.asarray(a).ravel()
    n = a.size if summarize is None or summarize < 0 else min(a.size, summarize)
    return np.array2string(a[:n], separator=" ") if a.size else "[]"


def _desc(name, t):
    return f"{name} (shape={tuple(t.shape)} dtype={t.dtype.name})"


def _check(ok, what, condition, tensors, message, summarize, eager_detail=None):
    """Raises (eager) or records an ``assert`` (tracing) that ``ok`` is all true."""
    from .reduce import reduce_all

    prefix = f"{message}\n" if message else ""
    head = f"{prefix}{what}: Condition {condition} did not hold element-wise"
    if not _is_symbolic(ok):
        v = ok.numpy()
        if not np.all(v):
            parts = [head + ":"]
            if eager_detail is not None and eager_detail(v):
                parts.append(eager_detail(v))
            for name, t in tensors:
                parts.append(f"{_desc(name, t)} = {_fmt(t.numpy(), summarize)}")
            raise errors.InvalidArgumentError(errors.at_user_line("\n".join(parts)))
        return None
    shapes = ", ".join(f"{name}: {t.dtype.name}{list(t.shape)}" for name, t in tensors)
    text = f"{head} ({shapes}; the values are not shown in compiled code)"
    apply("assert", reduce_all(ok), message=errors.at_user_line(text))
    return None


def _pair(x, y, what):
    x = as_tensor(x, what)
    y = as_tensor(y, what, x.dtype)
    return x, y


def _compare(fn_name, symbol, compare):
    def check(x, y, data=None, summarize=None, message=None, name=None):
        x, y = _pair(x, y, fn_name)
        ok = compare(x, y)

        def detail(v):
            if x.shape != y.shape or v.ndim == 0:
                return ""
            bad = np.argwhere(~np.broadcast_to(v, v.shape))[:summarize or _SUMMARIZE]
            return f"Indices of first {len(bad)} different values:\n{bad.tolist()}"

        return _check(ok, fn_name, f"x {symbol} y", [("x", x), ("y", y)], message,
                      summarize or _SUMMARIZE, detail)

    check.__name__ = fn_name
    check.__doc__ = (f"Raises ``InvalidArgumentError`` unless ``x {symbol} y`` holds "
                     f"element-wise (broadcasting); checked when the function runs inside "
                     f"a jg.function.")
    return check


def _sign_check(fn_name, symbol, compare):
    def check(x, data=None, summarize=None, message=None, name=None):
        x = as_tensor(x, fn_name)
        if x.dtype.is_bool:
            raise errors.InvalidArgumentError(f"{fn_name}: expected a numeric tensor, got bool")
        return _check(compare(x), fn_name, f"x {symbol} 0", [("x", x)], message,
                      summarize or _SUMMARIZE)

    check.__name__ = fn_name
    check.__doc__ = f"Raises ``InvalidArgumentError`` unless ``x {symbol} 0`` element-wise."
    return check


assert_equal = _compare("assert_equal", "==", lambda x, y: x == y)
assert_none_equal = _compare("assert_none_equal", "!=", lambda x, y: x != y)
assert_less = _compare("assert_less", "<", lambda x, y: x < y)
assert_less_equal = _compare("assert_less_equal", "<=", lambda x, y: x <= y)
assert_greater = _compare("assert_greater", ">", lambda x, y: x > y)
assert_greater_equal = _compare("assert_greater_equal", ">=", lambda x, y: x >= y)
assert_positive = _sign_check("assert_positive", ">", lambda x: x > 0)
assert_negative = _sign_check("assert_negative", "<", lambda x: x < 0)
assert_non_negative = _sign_check("assert_non_negative", ">=", lambda x: x >= 0)
assert_non_positive = _sign_check("assert_non_positive", "<=", lambda x: x <= 0)


def _rank_error(what, x, want, message):
    prefix = f"{message}\n" if message else ""
    return errors.InvalidArgumentError(errors.at_user_line(
        f"{prefix}{what}: Tensor must have rank {want}. Received rank {len(x.shape)}, shape "
        f"{tuple(x.shape)}"))


def assert_rank(x, rank, message=None, name=None):
    """Raises ``InvalidArgumentError`` (a ``ValueError``) unless ``x`` has rank ``rank``
    (ranks are static: checked eagerly or while tracing)."""
    x = as_tensor(x, "assert_rank")
    if len(x.shape) != int(rank):
        raise _rank_error("assert_rank", x, int(rank), message)


def assert_rank_at_least(x, rank, message=None, name=None):
    x = as_tensor(x, "assert_rank_at_least")
    if len(x.shape) < int(rank):
        raise _rank_error("assert_rank_at_least", x, f"at least {int(rank)}", message)


def assert_rank_in(x, ranks, message=None, name=None):
    x = as_tensor(x, "assert_rank_in")
    ranks = tuple(int(r) for r in ranks)
    if len(x.shape) not in ranks:
        raise _rank_error("assert_rank_in", x, f"in {ranks}", message)


def assert_scalar(tensor, message=None, name=None):
    x = as_tensor(tensor, "assert_scalar")
    if len(x.shape) != 0:
        raise _rank_error("assert_scalar", x, 0, message)
    return x


def _dim_value(x, d):
    """dim ``d`` of ``x``: an int, or an int32 scalar tensor when unknown while tracing."""
    if x.shape[d] is not None:
        return int(x.shape[d])
    from .shape import shape as _shape

    return _shape(x)[d]


def assert_shapes(shapes, data=None, summarize=None, message=None, name=None):
    """Checks the shapes of several tensors against specs with symbols:
    ``assert_shapes([(x, ("N", "Q")), (y, ("N", 3)), (s, ())])``. A spec entry is an int (that
    size), a string (a symbol: every dim with that symbol has one size), ``None`` or ``"."``
    (any size); a first entry ``...`` or ``"*"`` lets any outer dims precede the rest. Dims
    unknown when tracing are checked when the function runs."""
    from .elementwise import equal

    items = list(shapes.items()) if isinstance(shapes, dict) else list(shapes)
    prefix = f"{message}\n" if message else ""
    bound = {}  # symbol -> (size, description)
    for t, spec in items:
        x = as_tensor(t, "assert_shapes")
        spec = list(spec)
        outer = bool(spec) and (spec[0] is Ellipsis or spec[0] == "*")
        if outer:
            spec = spec[1:]
        rank = len(x.shape)
        desc = f"Tensor shape={tuple(x.shape)} dtype={x.dtype.name}"
        if not outer and not (rank == len(spec) or (rank == 0 and spec == [1])
                              or (not spec and list(x.shape) == [1])):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{prefix}assert_shapes: {desc} must have rank {len(spec)}. Received rank "
                f"{rank}, shape {tuple(x.shape)}"))
        if outer and rank < len(spec):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{prefix}assert_shapes: {desc} must have rank at least {len(spec)}. "
                f"Received rank {rank}"))
        for j, s in enumerate(spec):
            d = rank - len(spec) + j
            if s is None or s == "." or d < 0:
                continue
            if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                want, src = int(s), "Specified explicitly"
            elif s in bound:
                want, src = bound[s]
            else:
                bound[s] = (_dim_value(x, d), f"Specified by {desc} dimension {d}")
                continue
            have = _dim_value(x, d)
            if isinstance(have, int) and isinstance(want, int):
                if have != want:
                    raise errors.InvalidArgumentError(errors.at_user_line(
                        f"{prefix}assert_shapes: {src}. {desc} dimension {d} must have size "
                        f"{want}. Received size {have}, shape {tuple(x.shape)}"))
            else:
                size = f"size {want}" if isinstance(want, int) else "the same size"
                text = f"{prefix}assert_shapes: {src}. {desc} dimension {d} must have {size}"
                apply("assert", equal(as_tensor(have, "assert_shapes", _dt.int32),
                                      as_tensor(want, "assert_shapes", _dt.int32)),
                      message=errors.at_user_line(text))


def check_numerics(tensor, message, name=None):
    """``tensor``, after checking that it has no NaN or Inf (``InvalidArgumentError``
    ``"<message> : Tensor had NaN values"`` otherwise)."""
    from .elementwise import is_finite

    x = as_tensor(tensor, "check_numerics")
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(
            f"check_numerics: expected a floating-point tensor, got {x.dtype.name}")
    ok = is_finite(x)
    if not _is_symbolic(ok):
        v = x.numpy()
        if np.isnan(v).any():
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"check_numerics: {message} : Tensor had NaN values"))
        if np.isinf(v).any():
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"check_numerics: {message} : Tensor had Inf values"))
        return x
    from .reduce import reduce_all

    apply("assert", reduce_all(ok), message=errors.at_user_line(
        f"check_numerics: {message} : Tensor had NaN or Inf values "
        f"({x.dtype.name}{list(x.shape)})"))
    return x


def assert_all_finite(t, msg, name=None, x=None, message=None):
    """``check_numerics(t, msg)``."""
    return check_numerics(t if x is None else x, msg if message is None else message)


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TensorFlow's name
    """Raises ``InvalidArgumentError`` unless the bool scalar ``condition`` is true; the
    message lists ``data`` (strings and tensors; tensor values eagerly only)."""
    c = as_tensor(condition, "Assert")
    if not c.dtype.is_bool or len(c.shape) != 0:
        raise errors.InvalidArgumentError(
            f"Assert: condition must be a bool scalar, got {c.dtype.name}{list(c.shape)}")
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    symbolic = _is_symbolic(c)

    def show(d):
        if isinstance(d, str):
            return d
        t = as_tensor(d, "Assert")
        if _is_symbolic(t):
            return f"<{t.dtype.name}{list(t.shape)} tensor>"
        return _fmt(t.numpy(), summarize or _SUMMARIZE)

    text = f"Assert: Expected condition to be true. Summarized data: " \
           f"{' '.join(show(d) for d in items)}"
    if not symbolic:
        if not bool(c.numpy()):
            raise errors.InvalidArgumentError(errors.at_user_line(text))
        return None
    apply("assert", c, message=errors.at_user_line(text))
    return None


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """TensorFlow's ``with jg.control_dependencies([jg.debugging.assert_positive(x)]):``:
    accepted for compatibility. jitgraph needs no ordering edges for checks: an ``assert``
    is stateful, so it stays in the graph and runs with every call whether or not anything
    depends on it."""
    yield


__all__ = ["control_dependencies"]  # the asserts are public through jitgraph/debugging.py
