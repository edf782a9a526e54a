"""DType and the promotion rules: no implicit promotion between tensors, Python scalars are
weakly typed and take the tensor's dtype.

``bfloat16`` exists when ``ml_dtypes`` (which ships with JAX and TensorFlow) is importable:
its arrays hold ``ml_dtypes.bfloat16``. NumPy has no bfloat16 arithmetic of its own, so the
eager ops compute on bfloat16 in float32 and round the result (ops/core.py ``widen``); the
compiled kernels store 16 bits and compute in float32, as they do for float16 (on CPUs
without bfloat16 arithmetic that is what native code does too). Without ml_dtypes,
``jg.bfloat16`` is absent and bfloat16 policies raise an error saying so.

float16 and bfloat16 in compiled kernels: values are rounded when stored and by explicit
casts, while a fused chain keeps its intermediates in float32 (XLA's default "excess
precision" too), so compiled results may be closer to the float32 ones than eager results.
"""

import numpy as np

from . import errors


class DType:
    """A tensor element type, e.g. ``jg.float32``; ``.name``, ``.as_numpy_dtype``."""

    __slots__ = ("name", "np", "short", "is_floating", "is_integer", "is_bool")

    def __init__(self, name, np_dtype, short):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.short = short
        self.is_floating = self.np.kind == "f" or name == "bfloat16"  # its kind is "V"
        self.is_integer = self.np.kind in "iu"
        self.is_bool = self.np.kind == "b"

    @property
    def as_numpy_dtype(self):
        return self.np.type

    @property
    def size(self):
        return self.np.itemsize

    @property
    def is_numeric(self):
        return not self.is_bool

    @property
    def min(self):
        return _finfo(self.np).min if self.is_floating else np.iinfo(self.np).min

    @property
    def max(self):
        return _finfo(self.np).max if self.is_floating else np.iinfo(self.np).max

    def __repr__(self):
        return f"jg.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return as_dtype(other) is self
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.name)


float16 = DType("float16", np.float16, "f16")
float32 = DType("float32", np.float32, "f32")
float64 = DType("float64", np.float64, "f64")
int32 = DType("int32", np.int32, "i32")
int64 = DType("int64", np.int64, "i64")
bool_ = DType("bool", np.bool_, "bool")

half, double = float16, float64  # TensorFlow's aliases
try:
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes comes with jax and tensorflow
    _ml_dtypes = None
bfloat16 = DType("bfloat16", _ml_dtypes.bfloat16, "bf16") if _ml_dtypes is not None else None


def _finfo(np_dtype):
    return _ml_dtypes.finfo(np_dtype) if np_dtype.kind == "V" else np.finfo(np_dtype)


ALL = (float16, float32, float64, int32, int64, bool_) + ((bfloat16,) if bfloat16 else ())
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({d.short: d for d in ALL})
_BY_NAME.update({"float": float32, "double": float64, "int": int32})


def as_dtype(x):
    """Converts a DType, NumPy dtype/type, Python type or name to a DType."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str):
        if x in _BY_NAME:
            return _BY_NAME[x]
        raise TypeError(f"unknown dtype name {x!r}; use one of {sorted(d.name for d in ALL)}")
    if x is float:
        return float32
    if x is int:
        return int32
    if x is bool:
        return bool_
    try:
        d = _BY_NP.get(np.dtype(x))
    except TypeError:
        d = None
    if d is None:
        raise TypeError(f"jitgraph has no dtype for {x!r}; supported: "
                        f"{', '.join(d.name for d in ALL)}")
    return d


def from_numpy(np_dtype):
    """The jitgraph dtype of a NumPy dtype, narrowing unsupported widths sensibly."""
    d = _BY_NP.get(np.dtype(np_dtype))
    if d is not None:
        return d
    k = np.dtype(np_dtype).kind
    if k == "u" or k == "i":
        return int64
    if k == "f":
        return float64
    raise TypeError(f"jitgraph cannot hold NumPy values of dtype {np.dtype(np_dtype)}; "
                    "convert them to a numeric or bool array first")


def python_scalar_dtype(v):
    """Default dtype of a Python scalar on its own: float32, int32 or bool."""
    if isinstance(v, bool):
        return bool_
    if isinstance(v, int):
        return int32
    if isinstance(v, float):
        return float32
    raise TypeError(f"not a Python scalar: {v!r}")


def check_weak_fits(value, dtype, op):
    """Raises if the weakly typed Python value ``value`` cannot be represented in ``dtype``."""
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        raise TypeError(f"{op}: cannot convert {value!r} to a tensor")
    if dtype.is_bool and arr.dtype.kind != "b":
        raise errors.InvalidArgumentError(
            f"{op}: cannot use the value {value!r} with a bool tensor; use a bool or jg.cast")
    if dtype.is_integer:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise errors.InvalidArgumentError(
                    f"{op}: the Python value {value!r} cannot be represented as {dtype.name}; "
                    f"use jg.cast to make the tensor floating point, or pass an integer")
        if arr.size and (arr.max() > dtype.max or arr.min() < dtype.min):
            raise errors.InvalidArgumentError(
                f"{op}: the Python value {value!r} overflows {dtype.name}")


def result_dtype(op, dtypes):
    """The one dtype shared by all tensor operands of ``op``; mixed dtypes are an error."""
    first = dtypes[0]
    for d in dtypes[1:]:
        if d is not first:
            raise errors.InvalidArgumentError(
                f"{op}: operands have different dtypes {first.name} and {d.name}; jitgraph does "
                f"not promote implicitly: convert one with jg.cast(x, jg.{first.name}) or "
                f"jg.cast(y, jg.{d.name})")
    return first
