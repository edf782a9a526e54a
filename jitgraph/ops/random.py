"""``jg.random``: seeded random numbers as PURE functions of (key, counter).

Every backend must produce bit-identical bits, so the algorithm is specified here exactly.

Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
  state: counter (c0, c1, c2, c3) and key (k0, k1), all uint32.
  one round:  (hi0, lo0) = mulhilo32(0xD2511F53, c0); (hi1, lo1) = mulhilo32(0xCD9E8D57, c2)
              (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
              k0 += 0x9E3779B9; k1 += 0xBB67AE85          (mod 2**32)
  10 rounds; the output is the final (x0, x1, x2, x3).

Element ``i`` (row-major index into ``shape``) of an op evaluated with call counter ``n`` (the
op's int64 input) uses the Philox counter (lo32(i), hi32(i), lo32(n), hi32(n)) and the op's
attribute ``key = (k0, k1)``. From its output words:
  U24 = (x0 >> 8) * 2**-24                      (float32 uniform in [0, 1))
  U53 = ((x0 << 21) | (x1 >> 11)) * 2**-53      (float64 uniform in [0, 1); x0 as uint64)
  random_uniform, float:  minval + (maxval - minval) * U, in the output dtype (U24 for
                          float32/float16, U53 for float64), no fused multiply-add.
  random_uniform, int:    minval + (x % (maxval - minval)) with x = x0 (int32) or
                          (x0 << 32 | x1) (int64), computed in uint64.
  random_normal:          Box-Muller in float64: u1 = 1 - U53(x0, x1), u2 = U53(x2, x3),
                          z = sqrt(-2 * log(u1)) * cos(2 * pi * u2); the result is
                          mean + stddev * z in float64, then cast to the output dtype.
  random_truncated_normal: as random_normal with mean 0, stddev 1, but elements with |z| >= 2
                          are redrawn: attempt j = 1, 2, ... 15 uses hi32(i) | (j << 24) in place
                          of hi32(i); after 15 failed attempts the element is 0. Then
                          mean + stddev * z as for random_normal.

Seeds (TensorFlow's semantics). key = (lo32(global_seed), lo32(op_seed)):
  global_seed = the value of ``jg.random.set_seed(s)``; else, for an op given ``seed=``,
                DEFAULT_GLOBAL_SEED (TensorFlow's default graph seed, so
                ``normal([2], seed=1)`` is the same in every run, as in TensorFlow); else a
                random value drawn once per process (so unseeded programs differ between
                runs);
  op_seed     = the ``seed=`` argument, else 0x5EED for eager calls and, for a call site
                inside a traced ``jg.function``, 0x80000000 + the index of that call site among
                those created since the last ``set_seed``.
Counter: eager calls use a process-wide counter that ``set_seed`` resets to 0 and every call
advances by one. Inside a trace each call site gets its own int64 ``jg.Variable`` counter
(created eagerly, starting at 0): the graph reads it, draws, and assigns counter + 1, so every
call of the compiled function draws fresh numbers and all backends agree exactly. With
``set_seed(s)`` a program draws the same sequence on every run.
"""

import os
import weakref

import numpy as np

from .. import dtypes as _dt
from .. import errors, tracing
from .core import Op, Type, apply, as_tensor, register

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)
_EAGER_STREAM = 0x5EED
DEFAULT_GLOBAL_SEED = 87654321
_SITE_STREAM = 0x80000000


def philox(c0, c1, c2, c3, key):
    """Philox4x32-10 on uint64 arrays holding uint32 values; returns (x0, x1, x2, x3)."""
    k0, k1 = key
    c0, c1, c2, c3 = (np.asarray(c, np.uint64) for c in (c0, c1, c2, c3))
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & _MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & _MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def _words(shape, counter, key, attempt=0):
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.uint64)
    c = int(counter) & 0xFFFFFFFFFFFFFFFF
    hi = (i >> np.uint64(32)) | np.uint64(attempt << 24)
    return philox(i & _MASK, hi, c & 0xFFFFFFFF, c >> 32, key)


def _u53(a, b):
    return ((a << np.uint64(21)) | (b >> np.uint64(11))).astype(np.float64) * 2.0 ** -53


def _uniform_impl(counter, key, shape, dtype, minval, maxval):
    x0, x1, _, _ = _words(shape, counter, key)
    if dtype.is_integer:
        span = np.uint64(int(maxval) - int(minval))
        x = x0 if dtype is _dt.int32 else (x0 << np.uint64(32)) | x1
        return (np.int64(minval) + (x % span).astype(np.int64)).astype(dtype.np).reshape(shape)
    if dtype is _dt.float64:
        u = _u53(x0, x1)
    else:
        u = ((x0 >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)).astype(dtype.np)
    lo, hi = dtype.np.type(minval), dtype.np.type(maxval)
    return (lo + (hi - lo) * u).astype(dtype.np).reshape(shape)


def _box_muller(x0, x1, x2, x3):
    u1 = 1.0 - _u53(x0, x1)
    u2 = _u53(x2, x3)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _normal_impl(counter, key, shape, dtype, mean, stddev):
    z = _box_muller(*_words(shape, counter, key))
    return (mean + stddev * z).astype(dtype.np).reshape(shape)


def _truncated_impl(counter, key, shape, dtype, mean, stddev):
    z = _box_muller(*_words(shape, counter, key))
    for attempt in range(1, 16):
        bad = np.abs(z) >= 2.0
        if not bad.any():
            break
        z = np.where(bad, _box_muller(*_words(shape, counter, key, attempt)), z)
    z = np.where(np.abs(z) >= 2.0, 0.0, z)
    return (mean + stddev * z).astype(dtype.np).reshape(shape)


def _resolve(shape, like_shape, like_dims):
    """The output shape: attr ``shape``, its None dims taken from the optional second input
    (``like_dims[d]`` = the dim of that input giving output dim d)."""
    if like_dims is None:
        return tuple(shape)
    return tuple(d if j is None else like_shape[j] for d, j in zip(shape, like_dims))


def _random_infer(types, key, shape, dtype, like_dims=None, **params):
    c = types[0]
    if c.dtype is not _dt.int64 or c.shape != ():
        raise errors.InvalidArgumentError("random ops take an int64 scalar counter")
    if (like_dims is None) != (len(types) == 1):
        raise errors.InvalidArgumentError("random ops take a second input exactly when "
                                          "attr like_dims gives dims of it")
    return Type(dtype, _resolve(shape, types[-1].shape, like_dims))


def _with_like(impl):
    def run(counter, *like, shape, like_dims=None, **attrs):
        return impl(counter, shape=_resolve(shape, like and like[0].shape, like_dims), **attrs)

    return run


for _name, _impl in (("random_uniform", _uniform_impl), ("random_normal", _normal_impl),
                     ("random_truncated_normal", _truncated_impl)):
    register(Op(_name, _random_infer, _with_like(_impl), kind="random", lower=_name,
                stateful=True, unify=(),
                doc="Philox4x32-10 numbers for (attr key, input counter); see ops/random.py. "
                    "With a second input, the None dims of attr shape are its dims like_dims"))

# ----------------------------------------------------------------------------- seeds, counters

_state = {"global": None, "eager": 0, "sites": 0}
_site_counters = weakref.WeakSet()  # the call sites' counters in traced functions
_SESSION_SEED = int.from_bytes(os.urandom(4), "little")


def set_seed(seed):
    """``jg.random.set_seed(42)``: makes the program's random sequence repeatable (resets the
    eager counter and the numbering of call sites in traced functions)."""
    _state["global"] = None if seed is None else int(seed)
    _state["eager"] = 0
    _state["sites"] = 0
    if tracing.current_graph() is None:  # compiled functions replay their sequence
        for counter in list(_site_counters):
            counter.assign(np.int64(0))
    _state["shuffles"] = 0  # jg.data shuffles created since (their op seeds, data/dataset.py)


def get_global_generator_seed():
    return _state["global"]


def _key(op_seed, explicit):
    """The Philox key of an op: ``explicit``, its ``seed=`` was given (see the docstring)."""
    gs = _state["global"]
    if gs is None:
        gs = DEFAULT_GLOBAL_SEED if explicit else _SESSION_SEED
    return (gs & 0xFFFFFFFF, op_seed & 0xFFFFFFFF)


def random_shape(shape, what):
    """A random op's output shape as (shape, extra inputs, extra attrs): ints from lists,
    TensorShapes and tensors tracing can fold (``jg.shape(x)`` of a static shape); dims
    known only at run time when they are dims of one tensor x (``jg.shape(x)``,
    ``[jg.shape(x)[0], 3]``): then x is the op's second input. Other unknown dims raise,
    saying what to do."""
    from ..tensor import TensorShape
    from .shape import _static_shape
    from .static import run_time_dims

    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    dyn = run_time_dims(shape) if tracing.current_graph() is not None else None
    if dyn is not None:
        like, dims = dyn
        return (tuple(None if isinstance(d, tuple) else d for d in dims), (like,),
                {"like_dims": tuple(d[1] if isinstance(d, tuple) else None for d in dims)})
    shape = tuple(_static_shape(shape, what))
    if any(d < 0 for d in shape):
        if tracing.current_graph() is not None:
            raise errors.UnimplementedError(errors.at_user_line(
                f"{what}: the shape {[None if d < 0 else d for d in shape]} has dims unknown "
                "when tracing (None, e.g. a batch dim left open by the input_signature); "
                "give them as jg.shape(x) or jg.shape(x)[i] of the tensor x they come from "
                "(the numbers are then drawn with x's run-time shape), or as Python ints"))
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: the shape {list(shape)} must be fully known (no -1/None)"))
    return shape, (), {}


def _draw(op_name, shape, dtype, seed, **params):
    shape, like, extra = random_shape(shape, op_name)
    params.update(extra)
    if tracing.current_graph() is None:
        n = _state["eager"]
        _state["eager"] += 1
        key = _key(_EAGER_STREAM if seed is None else int(seed), seed is not None)
        return apply(op_name, as_tensor(np.int64(n), op_name), key=key, shape=shape,
                     dtype=dtype, **params)
    from ..variables import Variable

    with tracing.init_scope():
        site = _state["sites"]
        _state["sites"] += 1
        counter = Variable(np.int64(0), trainable=False, name=f"random_counter_{site}",
                           _internal=True)
        _site_counters.add(counter)
    key = _key(_SITE_STREAM + site if seed is None else int(seed), seed is not None)
    c = counter._jg_read()
    out = apply(op_name, c, *like, key=key, shape=shape, dtype=dtype, **params)
    counter.assign(c + 1)
    return out


def _static_scalar(v):
    if hasattr(v, "_jg_read") or (hasattr(v, "_symbolic") and v._symbolic):
        return None
    if hasattr(v, "numpy"):
        v = v.numpy()
    arr = np.asarray(v)
    return arr.item() if arr.ndim == 0 else None


def uniform(shape, minval=0, maxval=None, dtype=_dt.float32, seed=None, name=None):
    """``jg.random.uniform([2, 3])``: floats in [minval, maxval) (default [0, 1)); for integer
    dtypes ``maxval`` is required."""
    dtype = _dt.as_dtype(dtype)
    if dtype.is_integer and maxval is None:
        raise errors.InvalidArgumentError("uniform: integer dtypes need an explicit maxval")
    maxval = 1 if maxval is None else maxval
    lo, hi = _static_scalar(minval), _static_scalar(maxval)
    if lo is None or hi is None:
        if dtype.is_integer:
            raise errors.UnimplementedError("uniform: integer bounds must be Python numbers")
        u = _draw("random_uniform", shape, dtype, seed, minval=0.0, maxval=1.0)
        return minval + (maxval - minval) * u
    if dtype.is_integer and not int(lo) < int(hi):
        raise errors.InvalidArgumentError(f"uniform: need minval < maxval, got {lo}, {hi}")
    cv = int if dtype.is_integer else float
    return _draw("random_uniform", shape, dtype, seed, minval=cv(lo), maxval=cv(hi))


def _gaussian(op_name, shape, mean, stddev, dtype, seed):
    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise errors.InvalidArgumentError(f"{op_name}: dtype must be floating, got {dtype.name}")
    m, s = _static_scalar(mean), _static_scalar(stddev)
    if m is None or s is None:
        return mean + stddev * _draw(op_name, shape, dtype, seed, mean=0.0, stddev=1.0)
    return _draw(op_name, shape, dtype, seed, mean=float(m), stddev=float(s))


def normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32, seed=None, name=None):
    """``jg.random.normal([2, 3], stddev=0.1)``: Gaussian samples."""
    return _gaussian("random_normal", shape, mean, stddev, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32, seed=None, name=None):
    """Gaussian samples more than two standard deviations from the mean redrawn."""
    return _gaussian("random_truncated_normal", shape, mean, stddev, dtype, seed)


__all__ = ["set_seed", "uniform", "normal", "truncated_normal"]

from .random_dist import *  # noqa: E402,F401,F403 - gamma, poisson, stateless_*
from .randomx import *  # noqa: E402,F401,F403 - categorical, shuffle, stateless, Generator
