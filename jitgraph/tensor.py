"""Tensor (immutable, eager or symbolic), TensorShape and TensorSpec."""

import numpy as np

from . import dtypes as _dt
from . import errors


class TensorShape:
    """A shape whose dims may be None (unknown). Compares equal to tuples and lists."""

    __slots__ = ("_dims",)

    def __init__(self, dims):
        if isinstance(dims, TensorShape):
            dims = dims._dims
        if dims is None:
            self._dims = None
            return
        if isinstance(dims, (int, np.integer)):
            dims = (dims,)
        self._dims = tuple(None if d is None else int(d) for d in dims)

    @property
    def rank(self):
        return None if self._dims is None else len(self._dims)

    @property
    def ndims(self):
        return self.rank

    @property
    def dims(self):
        return self._dims

    def as_list(self):
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape")
        return list(self._dims)

    def is_fully_defined(self):
        return self._dims is not None and None not in self._dims

    def num_elements(self):
        if not self.is_fully_defined():
            return None
        return int(np.prod(self._dims, dtype=np.int64))

    def concatenate(self, other):
        """This shape followed by ``other``'s dims (unknown rank if either is)."""
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(list(self._dims) + list(other._dims))

    def is_compatible_with(self, other):
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return True
        if len(self._dims) != len(other._dims):
            return False
        return all(a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def __len__(self):
        return len(self._dims)

    def __iter__(self):
        return iter(self._dims)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return TensorShape(self._dims[i])
        return self._dims[i]

    def __eq__(self, other):
        if isinstance(other, TensorShape):
            return self._dims == other._dims
        if isinstance(other, (tuple, list)):
            return self._dims is not None and list(self._dims) == list(other)
        return NotImplemented

    def __hash__(self):
        return hash(self._dims)

    def __repr__(self):
        return f"TensorShape({list(self._dims) if self._dims is not None else None})"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        return "(" + ", ".join("None" if d is None else str(d) for d in self._dims) + (
            ",)" if len(self._dims) == 1 else ")")


class TensorSpec:
    """Describes a tensor argument: ``jg.TensorSpec([None, 3], jg.float32, name="x")``."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype=_dt.float32, name=None):
        self.shape = TensorShape(shape)
        self.dtype = _dt.as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, t, name=None):
        return cls(t.shape, t.dtype, name)

    def is_compatible_with(self, t):
        return self.dtype == t.dtype and self.shape.is_compatible_with(t.shape)

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self.shape == other.shape
                and self.dtype is other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype=jg.{self.dtype.name}, name={self.name!r})"


_new_shape = object.__new__
_ops = []  # the jitgraph.ops module, bound on first use (it imports this module)


def _op(name):
    if not _ops:
        from . import ops

        _ops.append(ops)
    return getattr(_ops[0], name)


class Tensor:
    """An immutable n-dimensional array. Eager tensors hold a NumPy array; symbolic tensors
    (see tracing.py) stand for a Value of the graph being traced."""

    __array_priority__ = 100
    _symbolic = False

    # _keras_mask: the boolean mask jg.keras layers attach to their outputs (as TensorFlow
    # does); unset on most tensors, read with getattr(t, "_keras_mask", None)
    __slots__ = ("_value", "_keras_mask", "__weakref__")

    def __init__(self, value):
        # value: a NumPy array of a supported dtype; it is made read-only (tensors are immutable)
        if value.flags.writeable:
            value.flags.writeable = False
        self._value = value

    # -- metadata
    @property
    def dtype(self):
        return _dt._BY_NP[self._value.dtype]

    @property
    def shape(self):
        s = _new_shape(TensorShape)  # a NumPy shape is already a tuple of ints
        s._dims = self._value.shape
        return s

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def rank(self):
        return self.ndim

    @property
    def name(self):
        return None

    @property
    def device(self):
        # TensorFlow's full name: code tests it with .endswith("CPU:0") / ("GPU:0")
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    def get_shape(self):
        return self.shape

    def set_shape(self, shape):
        """Asserts that this tensor has ``shape`` (``None`` dims match any size); inside a
        jg.function it also fixes the dims the trace did not know (checked when the
        function runs), as TensorFlow's ``set_shape`` does for graph tensors.

        >>> inputs.set_shape([None, 6, None])
        """
        want = TensorShape(shape)
        if not self.shape.is_compatible_with(want):
            raise ValueError(f"set_shape: the tensor's shape {self.shape} is not compatible "
                             f"with the supplied shape {want}; reshape it (jg.reshape) or "
                             "fix the shape you pass")

    def numpy(self):
        v = self._value
        return v.copy() if v.ndim else v[()]

    def __array__(self, dtype=None, copy=None):
        v = self._value
        if dtype is not None:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a scalar (rank 0) tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a scalar (rank 0) tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self._value.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use jg.reduce_any or jg.reduce_all")
        return bool(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    def __index__(self):
        if not self.dtype.is_integer or self.ndim:
            raise TypeError("only integer scalar tensors can be used as an index")
        return int(self._value)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        body = np.array2string(self._value, separator=", ")
        return f"<jg.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={body}>"

    def __str__(self):
        return f"jg.Tensor({self._value}, shape={self.shape}, dtype={self.dtype.name})"

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self._value[()], spec)
        return format(str(self), spec)

    def __setitem__(self, key, value):
        raise TypeError("jg.Tensor is immutable and does not support item assignment; use a "
                        "jg.Variable and v[...].assign(value), or jg.tensor_scatter_nd_update")

    def __getitem__(self, key):
        return _op("_getitem")(self, key)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        conv = [np.asarray(x) if isinstance(x, Tensor) else x for x in inputs]
        return getattr(ufunc, method)(*conv, **kwargs)

    # -- operators
    def __add__(self, o): return _op("add")(self, o)
    def __radd__(self, o): return _op("add")(o, self)
    def __sub__(self, o): return _op("subtract")(self, o)
    def __rsub__(self, o): return _op("subtract")(o, self)
    def __mul__(self, o): return _op("multiply")(self, o)
    def __rmul__(self, o): return _op("multiply")(o, self)
    def __truediv__(self, o): return _op("truediv")(self, o)
    def __rtruediv__(self, o): return _op("truediv")(o, self)
    def __floordiv__(self, o): return _op("floordiv")(self, o)
    def __rfloordiv__(self, o): return _op("floordiv")(o, self)
    def __mod__(self, o): return _op("mod")(self, o)
    def __rmod__(self, o): return _op("mod")(o, self)
    def __pow__(self, o): return _op("pow")(self, o)
    def __rpow__(self, o): return _op("pow")(o, self)
    def __matmul__(self, o): return _op("matmul")(self, o)
    def __rmatmul__(self, o): return _op("matmul")(o, self)
    def __neg__(self): return _op("negative")(self)
    def __pos__(self): return self
    def __abs__(self): return _op("abs")(self)
    def __invert__(self): return _op("logical_not")(self)
    def __and__(self, o): return _op("logical_and")(self, o)
    def __rand__(self, o): return _op("logical_and")(o, self)
    def __or__(self, o): return _op("logical_or")(self, o)
    def __ror__(self, o): return _op("logical_or")(o, self)
    def __xor__(self, o): return _op("logical_xor")(self, o)
    def __lt__(self, o): return _op("less")(self, o)
    def __le__(self, o): return _op("less_equal")(self, o)
    def __gt__(self, o): return _op("greater")(self, o)
    def __ge__(self, o): return _op("greater_equal")(self, o)
    def __eq__(self, o): return _op("equal")(self, o)
    def __ne__(self, o): return _op("not_equal")(self, o)


def _check_numeric(value, what="value"):
    if isinstance(value, (str, bytes)):
        raise TypeError(f"cannot convert the string {value!r} to a tensor; jitgraph tensors "
                        "hold numbers and bools")


def to_numpy(value, dtype=None):
    """NumPy array for a Python value (nested lists, scalars, arrays), without weak typing."""
    _check_numeric(value)
    if isinstance(value, Tensor):
        arr = value._value
    else:
        try:
            arr = np.asarray(value)
        except ValueError:
            raise errors.InvalidArgumentError(
                f"cannot convert {value!r:.80} to a tensor: nested lists must be rectangular "
                f"(jitgraph has no ragged tensors, jg.ragged is not supported); pad the rows "
                f"to one length and keep a mask, e.g. with jg.sequence_mask") from None
        except TypeError as e:
            raise TypeError(f"cannot convert {value!r} to a tensor: {e}") from None
        if arr.dtype.kind in "OUSV" and arr.dtype not in _dt._BY_NP:  # bfloat16 is "V"
            raise TypeError(f"cannot convert {type(value).__name__} {value!r:.80} to a tensor; "
                            "expected numbers or bools (jitgraph has no string tensors; "
                            "nested lists must be rectangular)")
    if arr.dtype.kind == "c":
        raise errors.UnimplementedError(
            f"cannot convert {type(value).__name__} {value!r:.80} to a tensor: jitgraph has "
            f"no complex dtypes (complex64, complex128); keep the real and imaginary parts "
            f"as two float tensors")
    if dtype is not None:
        if arr.dtype != dtype.np:
            arr = arr.astype(dtype.np)
        return arr
    if isinstance(value, (np.ndarray, np.generic, Tensor)):
        d = _dt.from_numpy(arr.dtype)
    elif arr.dtype.kind == "f":
        d = _dt.float32
    elif arr.dtype.kind in "iu":
        d = _dt.int32
        if arr.size and (arr.max() > d.max or arr.min() < d.min):
            d = _dt.int64
    else:
        d = _dt.bool_
    return arr if arr.dtype == d.np else arr.astype(d.np)


def constant(value, dtype=None, shape=None, name=None):
    """Creates a tensor: ``jg.constant([1., 2.])`` is float32, ``jg.constant(3)`` int32;
    a NumPy array keeps its dtype."""
    from . import ops

    dtype = None if dtype is None else _dt.as_dtype(dtype)
    if isinstance(value, Tensor) and value._symbolic:
        t = value if dtype is None else ops.cast(value, dtype)
        return t if shape is None else ops.reshape(t, shape)
    if dtype is not None and not isinstance(value, (np.ndarray, np.generic, Tensor)):
        if not dtype.is_floating:
            _dt.check_weak_fits(value, dtype, "jg.constant")
    arr = to_numpy(value, dtype)
    if shape is not None:
        shape = tuple(TensorShape(shape).as_list())
        if arr.size == 1 and int(np.prod(shape)) != 1:
            arr = np.broadcast_to(arr.reshape(()), shape)
        elif arr.size != int(np.prod(shape)):
            raise TypeError(f"jg.constant: {arr.size} values do not fit shape {list(shape)}")
        arr = arr.reshape(shape)
    if isinstance(value, np.ndarray) and arr is value:
        arr = arr.copy()  # the caller may keep mutating their array
    arr = (arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))
    t = Tensor(arr)
    from .tracing import maybe_capture

    return maybe_capture(t)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    """``value`` as a tensor: tensors pass through (a Variable is read), nested lists that
    hold tensors are stacked (gradients flow into them, also inside a jg.function), anything
    else is ``jg.constant(value, dtype)``."""
    from .ops.core import _holds_tensor, _leaf_dtype, _pack

    if isinstance(value, (list, tuple)) and _holds_tensor(value):
        want = _dt.as_dtype(dtype) if dtype is not None else _leaf_dtype(value)
        return _pack(value, "convert_to_tensor", want)
    read = getattr(value, "_jg_read", None)
    if read is not None:
        value = read()
    if isinstance(value, Tensor):
        if dtype is not None and _dt.as_dtype(dtype) is not value.dtype:
            raise errors.InvalidArgumentError(
                f"convert_to_tensor: the tensor is {value.dtype.name}, not "
                f"{_dt.as_dtype(dtype).name}; use jg.cast")
        return value
    return constant(value, dtype if dtype is not None else dtype_hint if
                    dtype_hint is not None and not isinstance(value, np.ndarray) else None)


def is_tensor(x):
    """True for jitgraph tensors and Variables (as ``tf.is_tensor``)."""
    return isinstance(x, Tensor) or hasattr(x, "_jg_read")


__all__ = ["Tensor", "TensorShape", "TensorSpec", "constant", "convert_to_tensor",
           "to_numpy", "errors"]
