"""Elementwise ops with NumPy broadcasting. Each row: name, NumPy implementation, gradient
rule, and ``lower`` (the scalar expression backends emit, named after the op).

Compositions (sigmoid, softplus, rsqrt, ...) are ordinary functions of other ops and
need no rules of their own, except where a fused rule is numerically better."""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import (
    Op,
    Type,
    apply,
    as_tensor,
    broadcast_shapes,
    convert_args,
    get_op,
    register,
    unbroadcast,
)

# ----------------------------------------------------------------------------- type rules


def _unary_infer(name, allow):
    def infer(types):
        t = types[0]
        _check_kind(name, t.dtype, allow)
        return Type(t.dtype, t.shape)

    return infer


_KIND_OK = {"float": lambda d: d.is_floating, "num": lambda d: not d.is_bool,
            "bool": lambda d: d.is_bool, "any": lambda d: True, "int": lambda d: d.is_integer}


def _check_kind(name, dtype, allow):
    if not _KIND_OK[allow](dtype):
        want = {"float": "a floating-point", "num": "a numeric", "bool": "a bool",
                "int": "an integer"}[allow]
        hint = "jg.cast(x, jg.float32)" if allow == "float" else "jg.cast"
        raise errors.InvalidArgumentError(
            f"{name}: expected {want} tensor, got {dtype.name}; convert it with {hint}")


def _binary_infer(name, allow, out=None):
    def infer(types):
        a, b = types
        _check_kind(name, a.dtype, allow)
        return Type(out or a.dtype, broadcast_shapes(name, a.shape, b.shape))

    return infer


def _shape(t):
    return tuple(t.shape)


# ----------------------------------------------------------------------------- gradient rules
# Written with the public ops below (imported lazily) so they work eagerly, in graphs and on
# nested tapes.


def _j():
    from .. import ops

    return ops


def _g_add(i, o, g):
    return [unbroadcast(g[0], _shape(i[0])), unbroadcast(g[0], _shape(i[1]))]


def _g_sub(i, o, g):
    return [unbroadcast(g[0], _shape(i[0])), unbroadcast(_j().negative(g[0]), _shape(i[1]))]


def _g_mul(i, o, g):
    x, y = i
    return [unbroadcast(g[0] * y, _shape(x)), unbroadcast(g[0] * x, _shape(y))]


def _g_div(i, o, g):
    x, y = i
    return [unbroadcast(g[0] / y, _shape(x)), unbroadcast(-g[0] * o[0] / y, _shape(y))]


def _g_pow(i, o, g):
    ops = _j()
    x, y = i
    gx = g[0] * y * ops.pow(x, y - 1)
    safe = ops.where(x > 0, x, ops.ones_like(x))
    gy = g[0] * o[0] * ops.where(x > 0, ops.log(safe), ops.zeros_like(x))
    return [unbroadcast(gx, _shape(x)), unbroadcast(gy, _shape(y))]


def _g_atan2(i, o, g):
    """d atan2(y, x) = (x dy - y dx) / (x^2 + y^2), TensorFlow's rule (inf/NaN at 0, 0)."""
    y, x = i
    r = g[0] / (x * x + y * y)
    return [unbroadcast(r * x, _shape(y)), unbroadcast(-r * y, _shape(x))]


def _g_maxmin(pick):
    def rule(i, o, g):
        ops = _j()
        x, y = i
        mask = pick(x, y)
        z = ops.zeros_like(g[0])
        return [unbroadcast(ops.where(mask, g[0], z), _shape(x)),
                unbroadcast(ops.where(mask, z, g[0]), _shape(y))]

    return rule


def _none2(i, o, g):
    return [None, None]


def _g_mod(quotient):
    """TensorFlow's rule for x - q(x, y) * y: d/dx = g, d/dy = -g * q (q floor(x / y) for
    floormod, trunc(x / y) for truncatemod; piecewise constant, so no gradient of its own)."""
    def rule(i, o, g):
        x, y = i
        q = quotient(x, y, o[0])
        return [unbroadcast(g[0], _shape(x)), unbroadcast(-g[0] * q, _shape(y))]

    return rule


# floordiv is computed with the same division as mod (consistent when x / y rounds);
# trunc(x / y) is (x - r) / y, an integer up to rounding
_g_floormod = _g_mod(lambda x, y, r: _j().floordiv(x, y))
_g_truncatemod = _g_mod(lambda x, y, r: _j().round((x - r) / y))


_UNARY_GRADS = {
    "negative": lambda x, y, g: -g,
    "abs": lambda x, y, g: g * _j().sign(x),
    "sign": None,
    "square": lambda x, y, g: g * 2.0 * x,
    "sqrt": lambda x, y, g: g * 0.5 / y,
    "rsqrt": lambda x, y, g: g * -0.5 * y / x,
    "exp": lambda x, y, g: g * y,
    "expm1": lambda x, y, g: g * (y + 1.0),
    "log": lambda x, y, g: g / x,
    "log1p": lambda x, y, g: g / (x + 1.0),
    "sin": lambda x, y, g: g * _j().cos(x),
    "cos": lambda x, y, g: -g * _j().sin(x),
    "tan": lambda x, y, g: g * (1.0 + y * y),
    "tanh": lambda x, y, g: g * (1.0 - y * y),
    "sigmoid": lambda x, y, g: g * y * (1.0 - y),
    "softplus": lambda x, y, g: g * _j().sigmoid(x),
    "relu": lambda x, y, g: _j().where(x > 0, g, _j().zeros_like(g)),
    "floor": None,
    "ceil": None,
    "round": None,
    "reciprocal": lambda x, y, g: -g * y * y,
    "erf": lambda x, y, g: g * (2.0 / np.sqrt(np.pi)) * _j().exp(-x * x),
}


def _np_sigmoid(x):
    with np.errstate(over="ignore"):
        return (0.5 * (np.tanh(0.5 * x) + 1.0)).astype(x.dtype)


def _np_softplus(x):
    return (np.logaddexp(0, x)).astype(x.dtype)


def _np_rsqrt(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1.0 / np.sqrt(x)).astype(x.dtype)


def _np_round(x):
    return np.round(x) if x.dtype.kind == "f" else x  # half to even, as tf.round


def _np_erf(x):
    import math

    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _errstate(fn):
    def run(*a):
        with np.errstate(all="ignore"):
            return fn(*a)

    return run


# name: (numpy, allowed kinds)
_UNARY = {
    "negative": (np.negative, "num"),
    "abs": (np.abs, "num"),
    "sign": (np.sign, "num"),
    "square": (np.square, "num"),
    "sqrt": (np.sqrt, "float"),
    "rsqrt": (_np_rsqrt, "float"),
    "exp": (np.exp, "float"),
    "expm1": (np.expm1, "float"),
    "log": (np.log, "float"),
    "log1p": (np.log1p, "float"),
    "sin": (np.sin, "float"),
    "cos": (np.cos, "float"),
    "tan": (np.tan, "float"),
    "tanh": (np.tanh, "float"),
    "sigmoid": (_np_sigmoid, "float"),
    "softplus": (_np_softplus, "float"),
    "relu": (lambda x: np.maximum(x, np.zeros((), x.dtype)), "num"),
    "floor": (np.floor, "float"),
    "ceil": (np.ceil, "float"),
    "round": (_np_round, "num"),
    "reciprocal": (np.reciprocal, "float"),
    "erf": (_np_erf, "float"),
    "logical_not": (np.logical_not, "bool"),
    "is_nan": (np.isnan, "float"),
    "is_inf": (np.isinf, "float"),
    "is_finite": (np.isfinite, "float"),
}


def _unary_grad_rule(fn):
    if fn is None:
        return lambda i, o, g: [None]
    return lambda i, o, g: [fn(i[0], o[0], g[0])]


for _name, (_fn, _allow) in _UNARY.items():
    _out = _dt.bool_ if _name in ("logical_not", "is_nan", "is_inf", "is_finite") else None

    def _mk_infer(name=_name, allow=_allow, out=_out):
        base = _unary_infer(name, allow)
        if out is None:
            return base
        return lambda types: Type(out, base(types).shape)

    register(Op(_name, _mk_infer(), _errstate(_fn),
                grad=_unary_grad_rule(_UNARY_GRADS[_name]) if _name in _UNARY_GRADS else None,
                kind="elementwise", lower=_name))


def _np_floordiv(x, y):
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu":
            return np.floor_divide(x, np.where(y == 0, 1, y))
        return np.floor_divide(x, y)


def _np_mod(x, y):
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu":
            return np.mod(x, np.where(y == 0, 1, y))
        return np.mod(x, y)


def _np_truncatemod(x, y):
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu":
            return np.fmod(x, np.where(y == 0, 1, y))
        return np.fmod(x, y)


def _np_truediv(x, y):
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu":
            raise errors.InvalidArgumentError("divide")
        return np.true_divide(x, y)


def _np_pow(x, y):
    with np.errstate(all="ignore"):
        if x.dtype.kind in "iu" and np.any(y < 0):
            raise errors.InvalidArgumentError(errors.at_user_line(
                "pow: integers to negative integer powers are not allowed; cast to float"))
        return np.power(x, y)


# name: (numpy, allowed kinds, output dtype or None, gradient rule)
_BINARY = {
    "add": (np.add, "num", None, _g_add),
    "subtract": (np.subtract, "num", None, _g_sub),
    "multiply": (np.multiply, "num", None, _g_mul),
    "divide": (_errstate(np.true_divide), "float", None, _g_div),
    "floordiv": (_np_floordiv, "num", None, _none2),
    "mod": (_np_mod, "num", None, _g_floormod),
    "truncatemod": (_np_truncatemod, "num", None, _g_truncatemod),
    "pow": (_np_pow, "num", None, _g_pow),
    "maximum": (np.maximum, "num", None, _g_maxmin(lambda x, y: x >= y)),
    "minimum": (np.minimum, "num", None, _g_maxmin(lambda x, y: x <= y)),
    "squared_difference": (lambda x, y: np.square(x - y), "num", None,
                           lambda i, o, g: [unbroadcast(g[0] * 2.0 * (i[0] - i[1]),
                                                        _shape(i[0])),
                                            unbroadcast(g[0] * -2.0 * (i[0] - i[1]),
                                                        _shape(i[1]))]),
    "atan2": (np.arctan2, "float", None, _g_atan2),
    "equal": (np.equal, "any", _dt.bool_, None),
    "not_equal": (np.not_equal, "any", _dt.bool_, None),
    "less": (np.less, "num", _dt.bool_, None),
    "less_equal": (np.less_equal, "num", _dt.bool_, None),
    "greater": (np.greater, "num", _dt.bool_, None),
    "greater_equal": (np.greater_equal, "num", _dt.bool_, None),
    "logical_and": (np.logical_and, "bool", None, None),
    "logical_or": (np.logical_or, "bool", None, None),
    "logical_xor": (np.logical_xor, "bool", None, None),
}

for _name, (_fn, _allow, _out, _grad) in _BINARY.items():
    register(Op(_name, _binary_infer(_name, _allow, _out), _fn, grad=_grad,
                kind="elementwise", lower=_name))


def _where_infer(types):
    c, x, y = types
    if not c.dtype.is_bool:
        raise errors.InvalidArgumentError(
            f"where: the condition must be bool, got {c.dtype.name}; compare it first "
            "(e.g. x > 0) or jg.cast it to jg.bool")
    return Type(x.dtype, broadcast_shapes("where", c.shape, x.shape, y.shape))


def _g_where(i, o, g):
    ops = _j()
    c, x, y = i
    z = ops.zeros_like(g[0])
    return [None, unbroadcast(ops.where(c, g[0], z), _shape(x)),
            unbroadcast(ops.where(c, z, g[0]), _shape(y))]


register(Op("where", _where_infer, np.where, grad=_g_where, kind="elementwise", lower="where",
            unify=(1, 2)))


def _cast_infer(types, dtype):
    return Type(dtype, types[0].shape)


def _cast_impl(x, dtype):
    with np.errstate(all="ignore"):
        if dtype.is_integer and x.dtype.kind == "f":
            # saturating, NaN to 0 (as the compiled cast): compared in x's own precision,
            # where int32/int64 max round up to 2**31/2**63, the first value out of range
            info = np.iinfo(dtype.np)
            x = np.trunc(x)
            big, small = x >= float(info.max), x <= float(info.min)
            out = np.where(big | small | np.isnan(x), 0, x).astype(dtype.np)
            out[big], out[small] = info.max, info.min
            return out
        return x.astype(dtype.np)


def _g_cast(i, o, g, dtype):
    if not i[0].dtype.is_floating or not o[0].dtype.is_floating:
        return [None]
    return [_j().cast(g[0], i[0].dtype)]


register(Op("cast", _cast_infer, _cast_impl, grad=_g_cast, kind="elementwise", lower="cast",
            unify=()))


def _clip_infer(types):
    x, lo, hi = types
    return Type(x.dtype, broadcast_shapes("clip_by_value", x.shape, lo.shape, hi.shape))


def _g_clip(i, o, g):
    ops = _j()
    x, lo, hi = i
    inside = ops.logical_and(x >= lo, x <= hi)
    z = ops.zeros_like(g[0])
    return [unbroadcast(ops.where(inside, g[0], z), _shape(x)),
            unbroadcast(ops.where(x < lo, g[0], z), _shape(lo)),
            unbroadcast(ops.where(x > hi, g[0], z), _shape(hi))]


register(Op("clip_by_value", _clip_infer, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
            grad=_g_clip, kind="elementwise", lower="clip_by_value"))

# ----------------------------------------------------------------------------- public functions


def _unary_fn(name):
    def fn(x, name=None):
        return apply(_op, x)

    _op = name
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}: ``jg.{name}(x)``."
    return fn


def _binary_fn(name):
    def fn(x, y, name=None):
        return apply(_op, x, y)

    _op = name
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting: ``jg.{name}(x, y)``."
    return fn


negative = _unary_fn("negative")
abs = _unary_fn("abs")  # noqa: A001 - TensorFlow's name
sign = _unary_fn("sign")
square = _unary_fn("square")
sqrt = _unary_fn("sqrt")
rsqrt = _unary_fn("rsqrt")
exp = _unary_fn("exp")
expm1 = _unary_fn("expm1")
log = _unary_fn("log")
log1p = _unary_fn("log1p")
sin = _unary_fn("sin")
cos = _unary_fn("cos")
tan = _unary_fn("tan")
tanh = _unary_fn("tanh")
sigmoid = _unary_fn("sigmoid")
softplus = _unary_fn("softplus")
relu = _unary_fn("relu")
floor = _unary_fn("floor")
ceil = _unary_fn("ceil")
round = _unary_fn("round")  # noqa: A001
reciprocal = _unary_fn("reciprocal")
erf = _unary_fn("erf")
logical_not = _unary_fn("logical_not")
is_nan = _unary_fn("is_nan")
is_inf = _unary_fn("is_inf")
is_finite = _unary_fn("is_finite")

add = _binary_fn("add")
subtract = _binary_fn("subtract")
multiply = _binary_fn("multiply")
floordiv = _binary_fn("floordiv")
floor_divide = floordiv
mod = _binary_fn("mod")
floormod = mod
truncatemod = _binary_fn("truncatemod")
truncatemod.__doc__ = ("Elementwise remainder of the division rounded toward zero (C's fmod; "
                       "the result has the sign of ``x``): ``jg.math.truncatemod(x, y)``.")
pow = _binary_fn("pow")  # noqa: A001
maximum = _binary_fn("maximum")
minimum = _binary_fn("minimum")
squared_difference = _binary_fn("squared_difference")
atan2 = _binary_fn("atan2")
equal = _binary_fn("equal")
not_equal = _binary_fn("not_equal")
less = _binary_fn("less")
less_equal = _binary_fn("less_equal")
greater = _binary_fn("greater")
greater_equal = _binary_fn("greater_equal")
logical_and = _binary_fn("logical_and")
logical_or = _binary_fn("logical_or")
logical_xor = _binary_fn("logical_xor")


def divide(x, y, name=None):
    """``x / y``; integer tensors are converted to float64 (int32 → float64, as TensorFlow)."""
    x, y = convert_args(get_op("add"), [x, y])
    if x.dtype.is_integer:
        x, y = cast(x, _dt.float64), cast(y, _dt.float64)
    return apply("divide", x, y)


truediv = divide


def where(condition, x=None, y=None, name=None):
    """Elementwise select: ``x`` where ``condition`` is True, else ``y`` (broadcasting).
    With ``condition`` alone: the int64 coordinates of its True elements (eager only, see
    ops/dynamic.py)."""
    if x is None and y is None:
        from .dynamic import where_indices

        return where_indices(condition)
    if x is None or y is None:
        raise errors.InvalidArgumentError(errors.at_user_line(
            "where: pass both x and y (elementwise select) or neither (the coordinates of "
            "the True elements)"))
    return apply("where", condition, x, y)


def cast(x, dtype, name=None):
    """Converts ``x`` to ``dtype``; floats to ints truncate toward zero."""
    dtype = _dt.as_dtype(dtype)
    x = as_tensor(x, "cast")
    if x.dtype is dtype:
        return x
    return apply("cast", x, dtype=dtype)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clamps ``t`` to [clip_value_min, clip_value_max]."""
    return apply("clip_by_value", t, clip_value_min, clip_value_max)

__all__ = [
    "negative",
    "abs",
    "sign",
    "square",
    "sqrt",
    "rsqrt",
    "exp",
    "expm1",
    "log",
    "log1p",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "softplus",
    "relu",
    "floor",
    "ceil",
    "round",
    "reciprocal",
    "erf",
    "logical_not",
    "is_nan",
    "is_inf",
    "is_finite",
    "add",
    "subtract",
    "multiply",
    "floordiv",
    "floor_divide",
    "mod",
    "floormod",
    "truncatemod",
    "pow",
    "maximum",
    "minimum",
    "squared_difference",
    "atan2",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "divide",
    "truediv",
    "where",
    "cast",
    "clip_by_value",
]
