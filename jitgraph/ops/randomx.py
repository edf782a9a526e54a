"""More of ``jg.random`` on the Philox generator of ops/random.py: ``categorical``,
``shuffle``, the stateless functions (``stateless_uniform``, ``stateless_normal``,
``stateless_truncated_normal``) and ``Generator``.

- ``categorical``: Gumbel-max: ``argmax(logits + g)`` with ``g = -log(-log(u))``, ``u``
  float64 uniforms drawn like ``uniform(..., seed=seed)`` (so the same numbers eager and
  compiled for one seed, and fresh numbers on every call).
- ``shuffle``: the permutation that sorts float64 uniform keys (ties by position): NumPy's
  stable argsort eagerly, a rank count (``n^2`` comparisons) in a compiled function; both
  give the same permutation for the same keys.
- stateless: Philox with one fixed key and the seed pair packed into the counter (stateful
  ops use keys from their seeds), so a seed pair gives the same numbers in every call, eager
  or compiled, on every backend, whether it is known when tracing or computed at run time.
- ``Generator.from_seed(s)``: key ``(lo32(s), hi32(s) ^ 0x6E6E6E6E)`` and an int64
  ``jg.Variable`` counter that every draw reads and advances, eagerly and in compiled code.
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors, tracing
from .core import apply, as_tensor

_STATELESS_KEY = (0x5EED5EED, 0x57A7E1E5)  # every stateless draw's key: seeds go in counters
_GENERATOR_STREAM = 0x6E6E6E6E


def _r():
    from . import random

    return random


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``jg.random.categorical(logits, 5)``: ``[batch, num_samples]`` class indices (int64
    unless ``dtype``) drawn from the unnormalized log-probabilities ``logits`` of shape
    ``[batch, num_classes]``."""
    from .elementwise import cast, log
    from .reduce import argmax
    from .shape import expand_dims

    x = as_tensor(logits, "categorical")
    if len(x.shape) != 2 or None in list(x.shape):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"categorical: logits must be 2-D [batch, num_classes] with known dims, got "
            f"{x.dtype.name}{list(x.shape)}"))
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(
            f"categorical: logits must be floating, got {x.dtype.name}")
    b, k = (int(d) for d in x.shape)
    n = int(num_samples)
    u = _r().uniform([b, n, k], dtype=_dt.float64, seed=seed)
    g = -log(-log(u))
    z = expand_dims(cast(x, _dt.float64), 1) + g
    out = _dt.int64 if dtype is None else _dt.as_dtype(dtype)
    if not out.is_integer:
        raise errors.InvalidArgumentError(f"categorical: dtype must be int32 or int64, got "
                                          f"{out.name}")
    return argmax(z, axis=-1, output_type=out)


def shuffle(value, seed=None, name=None):
    """``value`` with its first axis randomly permuted."""
    from .assemble import range as _range
    from .elementwise import cast, equal, less, logical_and, where
    from .indexing import gather
    from .reduce import reduce_sum
    from .shape import expand_dims

    x = as_tensor(value, "shuffle")
    if not x.shape or x.shape[0] is None:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"shuffle: needs a tensor of rank >= 1 with a known first dim, got "
            f"{x.dtype.name}{list(x.shape)}"))
    n = int(x.shape[0])
    keys = _r().uniform([n], dtype=_dt.float64, seed=seed)
    if not keys._symbolic:
        perm = np.argsort(keys.numpy(), kind="stable").astype(np.int32)
        return gather(x, perm)
    i = _range(0, n, dtype=_dt.int32)
    ki, kj = expand_dims(keys, 1), expand_dims(keys, 0)
    before = less(kj, ki) | logical_and(equal(kj, ki), less(expand_dims(i, 0),
                                                             expand_dims(i, 1)))
    rank = reduce_sum(cast(before, _dt.int32), axis=1)  # rank[i]: where element i goes
    hit = equal(expand_dims(rank, 0), expand_dims(i, 1))  # hit[r, i]: element i at r
    perm = reduce_sum(where(hit, expand_dims(i, 0), 0), axis=1)
    return gather(x, perm)


def _seed_counter(seed, what):
    """The Philox counter of a stateless draw: the seed pair ``[a, b]`` packed as
    ``(a mod 2^32) + (b mod 2^31) * 2^32`` (the key is the one ``_STATELESS_KEY``). A seed
    known when tracing packs here; a traced one (a per-element seed in a ``jg.data`` map)
    packs with jg ops when the function runs, to the same numbers."""
    if isinstance(seed, (list, tuple)) and any(getattr(e, "_symbolic", False) for e in seed):
        from .assemble import stack
        from .elementwise import cast

        seed = stack([cast(as_tensor(e, what), _dt.int64) for e in seed])
    if hasattr(seed, "_symbolic") and seed._symbolic:
        from .elementwise import cast, floormod

        if list(seed.shape) != [2] or not seed.dtype.is_integer:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{what}: seed must be a pair of integers [a, b], got a {seed.dtype.name} "
                f"tensor of shape {list(seed.shape)}"))
        s = cast(seed, _dt.int64)
        return floormod(s[0], np.int64(2**32)) + floormod(s[1], np.int64(2**31)) * \
            np.int64(2**32)
    s = np.asarray(seed.numpy() if hasattr(seed, "numpy") else seed)
    if s.shape != (2,) or s.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(
            f"{what}: seed must be a pair of integers [a, b], got {s.tolist()!r}")
    return as_tensor(np.int64(int(s[0]) % 2**32 + (int(s[1]) % 2**31) * 2**32), what)


def _stateless(op_name, what, shape, seed, dtype, **params):
    counter = _seed_counter(seed, what)
    shape, like, extra = _r().random_shape(shape, what)
    params.update(extra)
    return apply(op_name, counter, *like, key=_STATELESS_KEY, shape=shape, dtype=dtype,
                 **params)


def _bounds(what, dtype, minval, maxval):
    if dtype.is_integer and maxval is None:
        raise errors.InvalidArgumentError(f"{what}: integer dtypes need an explicit maxval")
    maxval = 1 if maxval is None else maxval
    lo, hi = _r()._static_scalar(minval), _r()._static_scalar(maxval)
    if lo is None or hi is None:
        raise errors.UnimplementedError(f"{what}: minval and maxval must be Python numbers")
    if dtype.is_integer and not int(lo) < int(hi):
        raise errors.InvalidArgumentError(f"{what}: need minval < maxval, got {lo}, {hi}")
    cv = int if dtype.is_integer else float
    return cv(lo), cv(hi)


def stateless_uniform(shape, seed, minval=0, maxval=None, dtype=_dt.float32, name=None,
                      alg="auto_select"):
    """``jg.random.stateless_uniform([3], seed=[1, 2])``: the same numbers for the same seed
    pair, every call, eager or compiled, on every backend."""
    dtype = _dt.as_dtype(dtype)
    lo, hi = _bounds("stateless_uniform", dtype, minval, maxval)
    return _stateless("random_uniform", "stateless_uniform", shape, seed, dtype, minval=lo,
                      maxval=hi)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_dt.float32, name=None,
                     alg="auto_select"):
    """Gaussian samples determined by the seed pair (see stateless_uniform)."""
    return _stateless_gauss("random_normal", "stateless_normal", shape, seed, mean, stddev,
                            dtype)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=_dt.float32,
                               name=None, alg="auto_select"):
    return _stateless_gauss("random_truncated_normal", "stateless_truncated_normal", shape,
                            seed, mean, stddev, dtype)


def _stateless_gauss(op_name, what, shape, seed, mean, stddev, dtype):
    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise errors.InvalidArgumentError(f"{what}: dtype must be floating, got {dtype.name}")
    m, s = _r()._static_scalar(mean), _r()._static_scalar(stddev)
    if m is None or s is None:
        return mean + stddev * _stateless(op_name, what, shape, seed, dtype, mean=0.0,
                                          stddev=1.0)
    return _stateless(op_name, what, shape, seed, dtype, mean=float(m), stddev=float(s))


class Generator:
    """``g = jg.random.Generator.from_seed(1234); g.normal([2, 3])``: a random stream whose
    state (an int64 ``jg.Variable`` counter) advances with every draw, eagerly and in
    compiled functions."""

    def __init__(self, key, name=None):
        from ..variables import Variable

        self._key = key
        with tracing.init_scope():
            self.state = Variable(np.int64(0), trainable=False, name=name or "generator_state")

    @staticmethod
    def _seed_key(seed):
        s = int(seed) & 0xFFFFFFFFFFFFFFFF
        return (s & 0xFFFFFFFF, (s >> 32) ^ _GENERATOR_STREAM)

    @classmethod
    def from_seed(cls, seed, alg=None):
        return cls(cls._seed_key(seed))

    def reset_from_seed(self, seed):
        """Restarts the stream as ``Generator.from_seed(seed)`` would (eagerly only: the key
        is part of the compiled graphs that draw from this generator)."""
        if tracing.current_graph() is not None:
            raise errors.UnimplementedError(errors.at_user_line(
                "Generator.reset_from_seed inside a jg.function: the seed is compiled into "
                "the graph; reset the generator outside the function"))
        self._key = self._seed_key(seed)
        self.state.assign(np.int64(0))

    def split(self, count=1):
        """``count`` new independent generators seeded from this one's stream (advances
        it). Eagerly only: a generator's key must be known when tracing."""
        if tracing.current_graph() is not None:
            raise errors.UnimplementedError(errors.at_user_line(
                "Generator.split inside a jg.function: split the generator outside the "
                "function and pass the new ones in (or use jg.random.stateless_* with "
                "seeds from make_seeds)"))
        seeds = self.make_seeds(count).numpy()
        return [Generator.from_seed((int(a) << 31) | int(b)) for a, b in seeds.T]

    def make_seeds(self, count=1):
        """An int64 ``[2, count]`` tensor of seeds for the ``jg.random.stateless_*``
        functions (each column one seed pair); advances the stream."""
        return self.uniform([2, count], minval=0, maxval=2**31 - 1, dtype=_dt.int64)

    @classmethod
    def from_non_deterministic_state(cls, alg=None):
        import os

        return cls.from_seed(int.from_bytes(os.urandom(8), "little"))

    def _draw(self, op_name, what, shape, dtype, **params):
        shape, like, extra = _r().random_shape(shape, what)
        params.update(extra)
        c = self.state._jg_read()
        out = apply(op_name, c, *like, key=self._key, shape=shape, dtype=dtype, **params)
        self.state.assign(c + 1)
        return out

    def uniform(self, shape, minval=0, maxval=None, dtype=_dt.float32, name=None):
        dtype = _dt.as_dtype(dtype)
        lo, hi = _bounds("Generator.uniform", dtype, minval, maxval)
        return self._draw("random_uniform", "Generator.uniform", shape, dtype, minval=lo,
                          maxval=hi)

    def _gauss(self, op_name, what, shape, mean, stddev, dtype):
        dtype = _dt.as_dtype(dtype)
        if not dtype.is_floating:
            raise errors.InvalidArgumentError(f"{what}: dtype must be floating, got "
                                              f"{dtype.name}")
        m, s = _r()._static_scalar(mean), _r()._static_scalar(stddev)
        if m is None or s is None:
            return mean + stddev * self._draw(op_name, what, shape, dtype, mean=0.0,
                                              stddev=1.0)
        return self._draw(op_name, what, shape, dtype, mean=float(m), stddev=float(s))

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=_dt.float32, name=None):
        return self._gauss("random_normal", "Generator.normal", shape, mean, stddev, dtype)

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=_dt.float32, name=None):
        return self._gauss("random_truncated_normal", "Generator.truncated_normal", shape,
                           mean, stddev, dtype)


_BINOMIAL_MAX_COUNT = 100_000


def _binomial(uniform, what, shape, counts, probs, dtype):
    """Binomial draws as sums of Bernoulli trials: ``uniform(shape + [n])`` float64 numbers,
    trial j of an element counting when it is below its probability and j < its count.
    Exact, and O(max count) per element, so counts must be known when tracing."""
    from .assemble import range as _range
    from .elementwise import cast, less, logical_and
    from .reduce import reduce_sum
    from .shape import broadcast_to, expand_dims

    c = _r()._static_scalar(counts) if np.ndim(counts) == 0 else None
    cv = np.asarray(counts.numpy() if hasattr(counts, "numpy") and not getattr(
        counts, "_symbolic", False) else counts) if c is None else np.asarray(c)
    if cv.dtype.kind not in "iuf":
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}: counts must be known when tracing (Python numbers, a list or a "
            f"constant); counts computed at run time are not supported"))
    n = int(np.max(cv)) if cv.size else 0
    if n > _BINOMIAL_MAX_COUNT or np.any(cv < 0):
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}: counts must be in [0, {_BINOMIAL_MAX_COUNT}] (each element draws "
            f"max(counts) uniforms), got max {n}"))
    shape = list(_r().random_shape(shape, what)[0])
    out = _dt.int32 if dtype is None else _dt.as_dtype(dtype)
    p = broadcast_to(cast(as_tensor(probs, what), _dt.float64), shape)
    k = broadcast_to(as_tensor(cv.astype(np.float64), what), shape)
    trial = _range(0, max(n, 1), dtype=_dt.float64)
    u = uniform(shape + [max(n, 1)])
    hit = logical_and(less(u, expand_dims(p, -1)), less(trial, expand_dims(k, -1)))
    return cast(reduce_sum(cast(hit, _dt.int32), axis=-1), out)


def stateless_binomial(shape, seed, counts, probs, output_dtype=_dt.int32, name=None):
    """Binomial(counts, probs) samples of ``shape`` determined by the seed pair (counts and
    probs broadcast to ``shape``; counts known when tracing)."""
    return _binomial(lambda s: stateless_uniform(s, seed=seed, dtype=_dt.float64),
                     "stateless_binomial", shape, counts, probs, output_dtype)


def _generator_binomial(self, shape, counts, probs, dtype=_dt.int32, name=None):
    """Binomial(counts, probs) samples of ``shape`` from this generator's stream."""
    return _binomial(lambda s: self.uniform(s, dtype=_dt.float64), "Generator.binomial",
                     shape, counts, probs, dtype)


Generator.binomial = _generator_binomial

_global_generator = []


def get_global_generator():
    """The process's default Generator, created on first use (from the global seed of
    ``jg.random.set_seed`` when one is set, else from a non-deterministic state)."""
    if not _global_generator:
        gs = _r().get_global_generator_seed()
        _global_generator.append(Generator.from_non_deterministic_state() if gs is None
                                 else Generator.from_seed(gs))
    return _global_generator[0]


def set_global_generator(generator):
    """Makes ``generator`` what ``get_global_generator()`` returns."""
    if not isinstance(generator, Generator):
        raise TypeError(f"set_global_generator expects a jg.random.Generator, got "
                        f"{type(generator).__name__}")
    _global_generator[:] = [generator]


def stateless_categorical(logits, num_samples, seed, dtype=None, name=None):
    """``categorical`` with the draws determined by the seed pair (see stateless_uniform)."""
    from .elementwise import cast, log
    from .reduce import argmax
    from .shape import expand_dims

    x = as_tensor(logits, "stateless_categorical")
    if len(x.shape) != 2 or None in list(x.shape) or not x.dtype.is_floating:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"stateless_categorical: logits must be floating and 2-D [batch, num_classes] "
            f"with known dims, got {x.dtype.name}{list(x.shape)}"))
    b, k = (int(d) for d in x.shape)
    u = stateless_uniform([b, int(num_samples), k], seed=seed, dtype=_dt.float64)
    z = expand_dims(cast(x, _dt.float64), 1) - log(-log(u))
    return argmax(z, axis=-1, output_type=_dt.int64 if dtype is None else _dt.as_dtype(dtype))


def _stateless_split(seed, num=2, alg="auto_select"):
    """``num`` new seed pairs (a ``[num, 2]`` int32 tensor) derived from ``seed``."""
    return stateless_uniform([num, 2], seed=seed, minval=0, maxval=2**31 - 1,
                             dtype=_dt.int32)


def _stateless_fold_in(seed, data, alg="auto_select"):
    """A new seed pair from ``seed`` and the integer ``data`` (e.g. a step number)."""
    from .assemble import stack

    first = stateless_uniform([], seed=seed, minval=0, maxval=2**31 - 1, dtype=_dt.int32)
    return stack([first, as_tensor(data, "stateless_fold_in", _dt.int32)])


class _Experimental:
    """``jg.random.experimental``: the seed helpers of TensorFlow's namespace."""

    stateless_split = staticmethod(_stateless_split)
    stateless_fold_in = staticmethod(_stateless_fold_in)
    Generator = Generator
    get_global_generator = staticmethod(get_global_generator)
    set_global_generator = staticmethod(set_global_generator)


experimental = _Experimental()
split = _stateless_split  # jg.random.split / fold_in: TensorFlow's names for the two
fold_in = _stateless_fold_in

__all__ = ["categorical", "shuffle", "stateless_uniform", "stateless_normal",
           "stateless_truncated_normal", "stateless_categorical", "stateless_binomial",
           "Generator",
           "get_global_generator", "set_global_generator", "experimental", "split", "fold_in"]
