"""Weight constraints: ``c(w) -> w'`` applied to a variable after each optimizer update.

>>> Dense(1, kernel_constraint=jg.keras.constraints.NonNeg())
"""

import jitgraph as jg

from . import serialization


class Constraint:
    """Base class: subclasses implement ``__call__(w)`` and ``get_config``."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class NonNeg(Constraint):
    """Negative weights become zero."""

    def __call__(self, w):
        return w * jg.cast(w >= 0.0, w.dtype)


def _norms(w, axis):
    return jg.sqrt(jg.reduce_sum(jg.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each slice along ``axis`` whose L2 norm exceeds ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = jg.clip_by_value(norms, 0.0, float(self.max_value))
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (1e-7 + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * jg.clip_by_value(norms, float(self.min_value),
                                                float(self.max_value))
                   + (1.0 - self.rate) * norms)
        return w * (desired / (1e-7 + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


_TABLE = {"NonNeg": NonNeg, "MaxNorm": MaxNorm, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
          "non_neg": NonNeg, "max_norm": MaxNorm, "unit_norm": UnitNorm,
          "min_max_norm": MinMaxNorm}
non_neg, max_norm, unit_norm, min_max_norm = NonNeg, MaxNorm, UnitNorm, MinMaxNorm


def get(identifier):
    """A constraint from a name ("non_neg"), a config, an instance or a function."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    obj = serialization.deserialize(identifier, _TABLE, kind="constraint")
    return obj() if isinstance(obj, type) else obj


def serialize(constraint):
    return serialization.serialize(constraint)


def deserialize(config, custom_objects=None):
    obj = serialization.deserialize(config, _TABLE, custom_objects, "constraint")
    return obj() if isinstance(obj, type) else obj
