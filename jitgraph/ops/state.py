"""Ops that touch state: constants, variable reads and writes, identity, stop_gradient."""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import Op, Type, apply, register


def _const_infer(types, value):
    return Type(_dt.from_numpy(value.dtype), tuple(value.shape))


register(Op("constant", _const_infer, lambda value: value, kind="source",
            doc="a literal array (attr value)"))


def _read_infer(types, var):
    return Type(var.dtype, tuple(var.shape))


register(Op("read_variable", _read_infer, lambda var: var._value, kind="state", stateful=True,
            doc="the current value of Variable attr var"))


def _assign_infer(types, var):
    t = types[0]
    if t.dtype is not var.dtype:
        raise errors.InvalidArgumentError(
            f"assign to variable {var.name!r}: value has dtype {t.dtype.name} but the variable is "
            f"{var.dtype.name}; a Variable's dtype is fixed at creation: use jg.cast")
    vs = tuple(var.shape)
    if len(t.shape) != len(vs) or any(a is not None and a != b for a, b in zip(t.shape, vs)):
        raise errors.InvalidArgumentError(
            f"assign to variable {var.name!r}: value has shape {list(t.shape)} but the variable "
            f"has shape {list(vs)}; a Variable's shape is fixed at creation")
    return []


def _assign_impl(value, var):
    var._set(value)
    return ()


register(Op("assign_variable", _assign_infer, _assign_impl, kind="state", stateful=True,
            n_outputs=0, doc="stores its input in Variable attr var"))


def _identity_infer(types):
    return types[0]


def _identity_grad(inputs, outputs, grads):
    return [grads[0]]


register(Op("identity", _identity_infer, lambda x: x, grad=_identity_grad, kind="elementwise",
            lower="identity"))
register(Op("stop_gradient", _identity_infer, lambda x: x, grad=lambda i, o, g: [None],
            kind="elementwise", lower="identity"))


def identity(input, name=None):
    """Returns a tensor with the same value as ``input``."""
    return apply("identity", input)


def stop_gradient(input, name=None):
    """Identity whose gradient is None: ``jg.stop_gradient(x)``."""
    return apply("stop_gradient", input)


__all__ = ["identity", "stop_gradient", "np"]
