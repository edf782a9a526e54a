"""Helpers shared by jg.keras.ops: turning arguments into tensors with Keras' dtype promotion,
normalising ``axis`` arguments, and the UnimplementedError for keras.ops names jitgraph lacks."""

import numbers

import numpy as np

import jitgraph as jg

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_INTS = ("int32", "int64")


def tensor(x, dtype=None):
    """A jg Tensor for ``x`` (Tensor, Variable, NumPy array, Python value): Python ints become
    int32 and floats float32, as in keras.ops."""
    if isinstance(x, jg.Variable):
        x = x.value()
    if not jg.is_tensor(x):
        if isinstance(x, np.ndarray) and x.dtype == np.float64 and dtype is None:
            x = jg.constant(x)
        else:
            x = jg.convert_to_tensor(x)
    if dtype is not None:
        dtype = jg.as_dtype(dtype)
        if x.dtype != dtype:
            x = jg.cast(x, dtype)
    return x


def is_scalar(x):
    return isinstance(x, (numbers.Number, np.number)) and not isinstance(x, np.ndarray)


def result_dtype(*dtypes):
    """Keras' promotion for tensors of different dtypes: a float beats an int (int + float32 is
    float32), the wider float or int wins, bool gives way to anything."""
    names = [jg.as_dtype(d).name for d in dtypes]
    floats = [n for n in names if n in _FLOATS]
    if floats:
        return jg.as_dtype(max(floats, key=_FLOATS.index))
    ints = [n for n in names if n in _INTS]
    if ints:
        return jg.as_dtype(max(ints, key=_INTS.index))
    return jg.bool


def promote(*xs):
    """Tensors for ``xs`` of one dtype. Python scalars stay weakly typed (they take the tensors'
    dtype) unless a float scalar meets int tensors, which then become float32."""
    if all(isinstance(x, jg.Tensor) and not isinstance(x, jg.Variable) for x in xs) \
            and len({x.dtype for x in xs}) == 1:
        return list(xs)  # the common case, kept cheap: eager ops pay this on every call
    tensors = [tensor(x) for x in xs if not is_scalar(x)]
    if not tensors:  # only Python numbers: Keras' rules on int32 / float32 / bool
        ts = [tensor(x) for x in xs]
        dtype = result_dtype(*[t.dtype for t in ts])
        return [t if t.dtype == dtype else jg.cast(t, dtype) for t in ts]
    dtype = result_dtype(*[t.dtype for t in tensors])
    scalars = [x for x in xs if is_scalar(x)]
    if any(isinstance(x, (float, np.floating)) for x in scalars) and not dtype.is_floating:
        dtype = jg.float32
    elif dtype == jg.bool and any(not isinstance(x, (bool, np.bool_)) for x in scalars):
        dtype = jg.int32
    return [tensor(x, dtype) for x in xs]


def floating(x):
    """``x`` as a float tensor: ints and bools become float32 (keras.ops' rule for sqrt, exp,
    mean, ...)."""
    x = tensor(x)
    return x if x.dtype.is_floating else jg.cast(x, jg.float32)


def axes(axis):
    """``axis`` as jg's reductions take it: None, an int, or a list."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return [int(a) for a in axis]


def norm_axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


def static_shape(x, what):
    """The fully known shape of ``x`` as a tuple of ints, or a clear error naming ``what``."""
    shape = tuple(tensor(x).shape.as_list())
    if any(d is None for d in shape):
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.{what}: needs the input's shape to be known when tracing, got "
            f"{shape}; give the jg.function an input_signature with fixed sizes")
    return shape


def static_dim(x, axis, what):
    """The size of ``x``'s ``axis`` as an int, or a clear error naming ``what``: the functions
    that need one size known when tracing leave the other dims free."""
    shape = tensor(x).shape.as_list()
    d = shape[axis]
    if d is None:
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.{what}: needs the size of axis {axis} known when tracing, got shape "
            f"{shape}; give the jg.function an input_signature with that size fixed")
    return d


def unimplemented(name, why, instead):
    """A function for the keras.ops name ``name`` that jitgraph cannot provide: calling it
    raises UnimplementedError saying why and what to use instead."""
    def fn(*args, **kwargs):
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.{name} is not supported: {why}; {instead}")
    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Not supported in jitgraph ({why}); {instead}. Raises UnimplementedError."
    fn._jg_unimplemented = True
    return fn


def iota(start, stop, step=1, dtype=None):
    """``jg.range`` whose length is known when tracing: a constant when the bounds are Python
    numbers (a traced jg.range has an unknown length)."""
    dtype = jg.int32 if dtype is None else jg.as_dtype(dtype)
    if all(is_scalar(v) for v in (start, stop, step)):
        return jg.constant(np.arange(start, stop, step).astype(dtype.as_numpy_dtype))
    return jg.range(start, stop, step, dtype=dtype)
