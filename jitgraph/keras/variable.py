"""``jg.keras.Variable``: Keras 3's variable constructor, ``Variable(initializer, shape=None,
dtype=None, trainable=True, name=None)``, on ``jg.Variable``.

``initializer`` is a value (array, tensor, list, number) or an initializer (an object,
a name such as ``"glorot_uniform"``, or any callable ``f(shape, dtype)``), which then
needs ``shape``. Python floats (and lists of them) without ``dtype`` become floatx; an array
or a tensor keeps its dtype. Unlike Keras, ``value`` is
jitgraph's method (``v.value()``), not a property.

>>> v = jg.keras.Variable("zeros", shape=(2, 3), name="w")
>>> v = jg.keras.Variable(np.ones(3), trainable=False)
"""

import numpy as np

import jitgraph as jg

from . import backend, initializers


class Variable(jg.Variable):
    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, **kwargs):
        if isinstance(initializer, (str, dict)):
            initializer = initializers.get(initializer)
        if callable(initializer) and not isinstance(initializer, jg.Variable) \
                and not jg.is_tensor(initializer):
            if shape is None:
                raise ValueError(f"jg.keras.Variable{'' if name is None else f' {name!r}'}: an "
                                 "initializer needs the variable's shape; pass shape=(...)")
            dtype = jg.as_dtype(dtype or backend.floatx())
            shape = tuple(shape)
            fn = initializer
            value = lambda: fn(shape, dtype=dtype)  # noqa: E731
        else:
            value = initializer
            if dtype is None and _is_float(value):
                dtype = backend.floatx()
            if shape is not None and tuple(np.shape(value)) != tuple(shape):
                raise ValueError(f"jg.keras.Variable{'' if name is None else f' {name!r}'}: the "
                                 f"initial value has shape {list(np.shape(value))} but "
                                 f"shape={list(shape)} was given")
        super().__init__(value, trainable=trainable, name=name, dtype=dtype, **kwargs)


def _is_float(value):
    if isinstance(value, (jg.Variable, np.ndarray, np.generic)) or jg.is_tensor(value):
        return False  # an array or a tensor keeps its dtype (float64 stays float64)
    return np.asarray(value).dtype.kind == "f"


__all__ = ["Variable"]
