"""jg.Variable: a mutable tensor with a fixed dtype and shape."""

import contextlib
import itertools

import numpy as np

from . import dtypes as _dt
from . import errors, tracing
from .autodiff import tape as _tape
from .tensor import Tensor, TensorShape, to_numpy

_counter = itertools.count()
_creation_hooks = []  # called on creation; jg.function installs one to forbid retrace creation
_scopes = []  # the entered name scopes, innermost last, each a full prefix ending in "/"


class NameScope:
    """``with jg.name_scope("block"):`` prefixes the names of the variables created inside
    (``"block/w:0"``); nested scopes join with "/", a name ending in "/" is taken as the
    whole prefix. Entering yields the prefix; ``.name`` is it too (a Module's scope).

    >>> with jg.name_scope("dense"):
    ...     w = jg.Variable(1.0, name="w")  # w.name == "dense/w:0"
    """

    def __init__(self, name):
        self._given = "" if name is None else str(name)

    @property
    def name(self):
        g = self._given
        return g if not g or g.endswith("/") else g + "/"

    def __enter__(self):
        g = self._given
        full = g if not g or g.endswith("/") else (_scopes[-1] if _scopes else "") + g + "/"
        _scopes.append(full)
        return full

    def __exit__(self, *exc):
        _scopes.pop()
        return False


# jg.keras mixed precision: while a layer runs, the floating variables marked ``_autocast``
# (its add_weight weights) are read in the layer's compute dtype, as Keras' autocast does
_AUTOCAST = [None]


@contextlib.contextmanager
def autocast_variables(dtype):
    """Within the block, reads of variables whose ``_autocast`` is set give ``dtype`` (None:
    their own dtype); the cast is an op, so gradients reach the variable in its own dtype.

    >>> with jg.variables.autocast_variables(jg.float16):
    ...     y = x @ kernel          # kernel (float32, _autocast) is read as float16
    """
    prev = _AUTOCAST[0]
    _AUTOCAST[0] = None if dtype is None else _dt.as_dtype(dtype)
    try:
        yield
    finally:
        _AUTOCAST[0] = prev


class Variable:
    """A mutable, trainable tensor.

    >>> v = jg.Variable([[1., 2.], [3., 4.]])
    >>> v[0, 1].assign(42.)
    >>> v.assign_add(jg.ones((2, 2)))
    """

    __array_priority__ = 100
    _autocast = False  # see autocast_variables

    def __init__(self, initial_value=None, trainable=True, name=None, dtype=None, shape=None,
                 constraint=None, _internal=False, **kwargs):
        if not _internal:  # jitgraph's own state (random counters) may be created on retrace
            for hook in _creation_hooks:
                hook(self)
        if initial_value is None:
            raise ValueError("jg.Variable needs an initial_value")
        dtype = None if dtype is None else _dt.as_dtype(dtype)
        with tracing.init_scope():
            if callable(initial_value):
                initial_value = initial_value()
            if isinstance(initial_value, Variable):
                initial_value = initial_value._value
            if isinstance(initial_value, Tensor) and initial_value._symbolic:
                raise errors.TracingError(errors.at_user_line(
                    "jg.Variable got a symbolic tensor as its initial value inside a "
                    "jg.function; pass a callable (lambda: ...) or create the variable "
                    "outside the function"))
            if dtype is not None and not isinstance(initial_value, (np.ndarray, Tensor)):
                _dt.check_weak_fits(initial_value, dtype, "jg.Variable")
            arr = np.array(to_numpy(initial_value, dtype), copy=True)
        self._value = arr
        self._dtype = _dt._BY_NP[arr.dtype]
        self._shape = TensorShape(arr.shape)
        self.trainable = bool(trainable)
        self.constraint = constraint
        uid = next(_counter)
        prefix = _scopes[-1] if _scopes else ""
        self._name = prefix + (name or "Variable") + ":0" if name is None or ":" not in str(
            name) else name
        self._unique_id = uid
        self._internal = bool(_internal)  # jitgraph's own state (saved models keep it too)

    # -- metadata
    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    def get_shape(self):
        return self._shape

    @property
    def device(self):
        # TensorFlow's full name: code tests it with .endswith("CPU:0") / ("GPU:0")
        return "/job:localhost/replica:0/task:0/device:CPU:0"

    # -- reading
    def _jg_read(self):
        """A Tensor with the current value, cast in an autocast_variables block."""
        t = self._read_raw()
        to = _AUTOCAST[0]
        if to is not None and self._autocast and to is not self._dtype \
                and self._dtype.is_floating and to.is_floating:
            from .ops import cast

            t = cast(t, to)
        return t

    def _read_raw(self):
        """A Tensor with the current value (a read_variable op while tracing)."""
        g = tracing.current_graph()
        if g is None:
            t = Tensor(self._value)  # shares the array; _set replaces it, never mutates it
        else:
            from .ops.core import REGISTRY

            g.register_variable(self)
            t = tracing.record(g, REGISTRY["read_variable"], [], {"var": self},
                               [REGISTRY["read_variable"].infer([], var=self)])[0]
        if _tape.ACTIVE or _tape._read_observers:
            _tape.notify_variable_read(self, t)
        return t

    def value(self):
        return self._jg_read()

    def read_value(self):
        return self._jg_read()

    def numpy(self):
        if tracing.current_graph() is not None:
            return self._read_raw().numpy()
        return self._value.copy() if self._value.ndim else self._value[()]

    def __array__(self, dtype=None, copy=None):
        v = self._read_raw()
        return np.asarray(v) if dtype is None else np.asarray(v).astype(dtype)

    # -- writing
    def _set(self, arr):
        """Eager store of an array already checked for dtype and shape."""
        arr = np.array(arr, dtype=self._dtype.np, copy=True)
        self._value = arr

    def _buffer_for_write(self):
        """The variable's array, made private first if a tensor may share it (copy on
        write), so a compiled function can update it in place."""
        if not self._value.flags.writeable:
            self._value = self._value.copy()
        return self._value

    def _check_value(self, value, what):
        from .ops.core import as_tensor

        if isinstance(value, (np.ndarray, np.generic)) and value.dtype != self._dtype.np:
            # as TensorFlow: a NumPy value converts to the variable's dtype when it fits
            # (float64 data into a float32 variable); a fractional value for an integer
            # variable, or a number for a bool one, still raises
            _dt.check_weak_fits(value, self._dtype, f"{what} to variable {self._name!r}")
            if value.dtype.kind == "b" and not self._dtype.is_bool:
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"{what}: a bool array for variable {self._name!r} of dtype "
                    f"{self._dtype.name}; use jg.cast"))
            value = np.asarray(value, dtype=self._dtype.np)

        t = as_tensor(value, f"{what} to variable {self._name!r}", self._dtype) \
            if not isinstance(value, (Tensor, Variable)) else as_tensor(value, what)
        if t.dtype is not self._dtype:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{what}: value has dtype {t.dtype.name} but variable {self._name!r} is "
                f"{self._dtype.name}; a Variable's dtype is fixed at creation, use jg.cast"))
        return t

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Writes ``value`` (same dtype, same shape); returns the variable, or None with
        ``read_value=False`` (as TensorFlow)."""
        self._assign(value)
        return self if read_value else None

    def _assign(self, value):
        from .ops.core import REGISTRY, apply_tensors

        t = self._check_value(value, "assign")
        if tuple(t.shape) != tuple(self._shape) and not (
                tracing.current_graph() is not None and t.shape.is_compatible_with(self._shape)):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"assign: value has shape {t.shape} but variable {self._name!r} has shape "
                f"{self._shape}; a Variable's shape is fixed at creation"))
        g = tracing.current_graph()
        if g is not None:
            g.register_variable(self)
        apply_tensors(REGISTRY["assign_variable"], [t], {"var": self})
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self.assign(self._combine("assign_add", delta), read_value=read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self.assign(self._combine("assign_sub", delta), read_value=read_value)

    def _combine(self, what, delta):
        d = self._check_value(delta, what)
        try:
            return self._read_raw() + d if what == "assign_add" else self._read_raw() - d
        except errors.InvalidArgumentError as e:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{what}: delta has shape {d.shape} but variable {self._name!r} has shape "
                f"{self._shape}; give a delta of the variable's shape")) from e

    def scatter_nd_update(self, indices, updates, name=None):
        from . import ops

        return self.assign(ops.tensor_scatter_nd_update(self._read_raw(), indices, updates))

    def scatter_nd_add(self, indices, updates, name=None):
        """Adds ``updates`` at ``indices`` (repeated indices add up)."""
        from . import ops

        return self.assign(ops.tensor_scatter_nd_add(self._jg_read(), indices, updates))

    def scatter_nd_sub(self, indices, updates, name=None):
        """Subtracts ``updates`` at ``indices`` (repeated indices add up)."""
        from . import ops

        return self.assign(ops.tensor_scatter_nd_sub(self._jg_read(), indices, updates))

    def __getitem__(self, key):
        from . import ops

        t = ops._getitem(self._jg_read(), key)
        return _SliceRef(self, key, t)

    def __setitem__(self, key, value):
        raise TypeError("Variable does not support item assignment; use "
                        "v[...].assign(value)")

    def __repr__(self):
        if tracing.current_graph() is not None:
            return f"<jg.Variable '{self._name}' shape={self._shape} dtype={self._dtype.name}>"
        return (f"<jg.Variable '{self._name}' shape={self._shape} dtype={self._dtype.name}, "
                f"numpy={np.array2string(self._value, separator=', ')}>")

    def __hash__(self):
        return id(self)

    def __len__(self):
        return self._shape[0]

    def __iter__(self):
        return iter(self._jg_read())

    def __bool__(self):
        return bool(self._jg_read())

    def __float__(self):
        return float(self._jg_read())

    def __int__(self):
        return int(self._jg_read())

    def __index__(self):
        return self._jg_read().__index__()

    def __format__(self, spec):
        return format(self._jg_read(), spec)


def _forward(name):
    def method(self, *args):
        return getattr(self._jg_read(), name)(*args)

    method.__name__ = name
    return method


for _m in ("__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ "
           "__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ "
           "__neg__ __pos__ __abs__ __invert__ __and__ __rand__ __or__ __ror__ __lt__ __le__ "
           "__gt__ __ge__ __eq__ __ne__").split():
    setattr(Variable, _m, _forward(_m))
Variable.__hash__ = lambda self: id(self)


class _SliceRef:
    """``v[key]``: reads like a tensor, and ``.assign(x)`` writes that slice of ``v``."""

    __array_priority__ = 100

    def __init__(self, var, key, tensor):
        self._var, self._key, self._t = var, key, tensor

    def _jg_read(self):
        return self._t

    def assign(self, value):
        from . import ops

        var = self._var
        cur = var._read_raw()
        try:
            new = ops._setitem(cur, self._key, value)
        except errors.InvalidArgumentError as e:
            if var._name in str(e):
                raise
            raise type(e)(errors.at_user_line(
                f"sliced assignment to variable {var._name!r} of shape {var._shape}: "
                f"{str(e).rstrip('.')}")) from e
        return var.assign(new)

    def __getattr__(self, name):
        return getattr(self._t, name)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._t) if dtype is None else np.asarray(self._t).astype(dtype)

    def __repr__(self):
        return repr(self._t)


for _m in ("__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ "
           "__floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ "
           "__neg__ __pos__ __abs__ __invert__ __and__ __rand__ __or__ __ror__ __lt__ __le__ "
           "__gt__ __ge__ __eq__ __ne__ __getitem__ __len__ __iter__ __bool__ __float__ "
           "__int__ __format__").split():
    setattr(_SliceRef, _m, (lambda n: lambda self, *a: getattr(self._t, n)(*a))(_m))
_SliceRef.__hash__ = lambda self: id(self)
