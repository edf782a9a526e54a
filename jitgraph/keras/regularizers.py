"""Weight regularizers: ``reg(weight) -> scalar`` penalties that layers add to their losses.

>>> Dense(30, kernel_regularizer=jg.keras.regularizers.l2(0.05))
"""

import jitgraph as jg

from . import serialization


class Regularizer:
    """Base class: subclasses implement ``__call__(weights)`` and ``get_config``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = 0.0
        if self.l1:
            total = total + self.l1 * jg.reduce_sum(jg.abs(x))
        if self.l2:
            total = total + self.l2 * jg.reduce_sum(jg.square(x))
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1(l1=0.01):  # noqa: E743 - Keras' public name
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811 - argument names follow Keras
    return L1L2(l1, l2)


_TABLE = {"L1L2": L1L2, "L1": L1, "L2": L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier):
    """A regularizer from a name ("l2"), a config, an instance or a function."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    obj = serialization.deserialize(identifier, _TABLE, kind="regularizer")
    return obj() if isinstance(obj, type) else obj


def serialize(regularizer):
    return serialization.serialize(regularizer)


def deserialize(config, custom_objects=None):
    obj = serialization.deserialize(config, _TABLE, custom_objects, "regularizer")
    return obj() if isinstance(obj, type) else obj


from .regularizers_more import OrthogonalRegularizer, orthogonal_regularizer  # noqa: E402,F401

_TABLE.update(OrthogonalRegularizer=OrthogonalRegularizer,
              orthogonal_regularizer=OrthogonalRegularizer)
