"""jg.keras.random: Keras 3's random functions and ``SeedGenerator``, drawn with jitgraph's
stateless (counter-based) samplers.

``seed`` is, as in Keras 3:
- an int: the same numbers on every call (``normal((2,), seed=1)`` twice gives equal
  tensors), eager and compiled;
- a ``SeedGenerator``: each call takes its next seed, so numbers differ from call to call,
  also inside a ``jg.function`` (the generator's state is a variable, advanced by the
  compiled code); two generators made with the same seed give the same sequence;
- None: a fresh seed from jitgraph's global random stream (``jg.random.set_seed`` makes
  it reproducible).

The streams are jitgraph's own: moments and determinism match Keras, the numbers do not.

>>> gen = jg.keras.random.SeedGenerator(42)
>>> @jg.function
... def noisy(x):
...     return x + jg.keras.random.normal(x.shape, stddev=0.1, seed=gen)
"""

import numpy as np

import jitgraph as jg

from . import backend


class SeedGenerator:
    """A stateful seed: ``next()`` returns the current ``[seed, counter]`` pair (an int32
    tensor) and advances the counter. Usable inside ``jg.function``; create it outside
    (or on the first trace), like any variable.

    >>> gen = jg.keras.random.SeedGenerator(1337)
    >>> a = jg.keras.random.uniform((3,), seed=gen)
    >>> b = jg.keras.random.uniform((3,), seed=gen)   # different from a
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator() got unexpected arguments {sorted(kwargs)}")
        if seed is None:
            seed = int(_fresh_seed()[0].numpy())
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        with jg.init_scope():
            self.state = jg.Variable(np.array([int(seed) % 2**31, 0], np.int32),
                                     trainable=False, name=f"{self.name}/seed_generator_state")

    def next(self, ordered=True):
        """The seed for one draw; the following call returns another."""
        seed = self.state.value()
        self.state.assign(seed + np.array([0, 1], np.int32))
        return seed

    def get_config(self):
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _fresh_seed():
    return jg.random.uniform((2,), minval=0, maxval=2**31 - 1, dtype=jg.int32)


def draw_seed(seed):
    """The ``[a, b]`` pair a draw uses for ``seed`` (int, SeedGenerator, pair or None)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return _fresh_seed()
    if isinstance(seed, (bool, float)):
        raise ValueError(f"jg.keras.random: seed must be an int, a SeedGenerator or None, got "
                         f"{seed!r}")
    if isinstance(seed, (int, np.integer)):
        return np.array([int(seed) % 2**31, 0], np.int32)
    return seed  # a pair of ints (the stateless samplers check it)


def _float_dtype(dtype, what):
    dtype = jg.as_dtype(dtype or backend.floatx())
    if not dtype.is_floating:
        raise ValueError(f"jg.keras.random.{what}: dtype must be a floating dtype, got "
                         f"{dtype.name}" + ("; use jg.keras.random.randint for integers"
                                            if what == "uniform" else ""))
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(mean, stddev**2)."""
    return jg.random.stateless_normal(shape, draw_seed(seed), mean=mean, stddev=stddev,
                                      dtype=_float_dtype(dtype, "normal"))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from U[minval, maxval)."""
    return jg.random.stateless_uniform(shape, draw_seed(seed), minval=minval, maxval=maxval,
                                       dtype=_float_dtype(dtype, "uniform"))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(mean, stddev**2) redrawn until within two stddevs of the mean."""
    return jg.random.stateless_truncated_normal(shape, draw_seed(seed), mean=mean,
                                                stddev=stddev,
                                                dtype=_float_dtype(dtype, "truncated_normal"))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval)."""
    dtype = jg.as_dtype(dtype)
    if not dtype.is_integer:
        raise ValueError(f"jg.keras.random.randint: dtype must be an integer dtype, got "
                         f"{dtype.name}; use jg.keras.random.uniform for floats")
    return jg.random.stateless_uniform(shape, draw_seed(seed), minval=minval, maxval=maxval,
                                       dtype=dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of the 2-D ``logits`` (unnormalized log
    probabilities): shape ``[batch, num_samples]``."""
    logits = jg.convert_to_tensor(logits)
    if logits.shape.rank != 2:
        raise ValueError(f"jg.keras.random.categorical: logits must be 2-D [batch, classes], "
                         f"got shape {logits.shape.as_list()}")
    return jg.random.stateless_categorical(logits, num_samples, draw_seed(seed),
                                           dtype=jg.as_dtype(dtype))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from Gamma(alpha, 1)."""
    return jg.random.stateless_gamma(shape, draw_seed(seed), alpha=alpha,
                                     dtype=_float_dtype(dtype, "gamma"))


def beta(shape, alpha, beta, dtype=None, seed=None):  # noqa: A002 - Keras' name
    """Samples from Beta(alpha, beta) as ``X / (X + Y)`` of two gamma draws."""
    dtype = _float_dtype(dtype, "beta")
    seed_1 = draw_seed(seed)
    seed_2 = jg.convert_to_tensor(seed_1) + np.array([0, 1], np.int32) if jg.is_tensor(
        seed_1) else np.asarray(seed_1) + np.array([0, 1], np.asarray(seed_1).dtype)
    x = jg.random.stateless_gamma(shape, seed_1, alpha=alpha, dtype=dtype)
    y = jg.random.stateless_gamma(shape, seed_2, alpha=beta, dtype=dtype)
    return x / (x + y)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Successes in ``counts`` trials of probability ``probabilities``, as floats of
    ``dtype`` (floatx by default, as in Keras). ``counts`` must be known when tracing
    (numbers or arrays; jitgraph sums ``max(counts)`` Bernoulli trials per element)."""
    dtype = _float_dtype(dtype, "binomial")
    draws = jg.random.stateless_binomial(shape, draw_seed(seed), counts=counts,
                                         probs=probabilities, output_dtype=jg.int32)
    return jg.cast(draws, dtype)


def _runtime_shape(x, shape=None):
    """``shape`` (or x's shape) with unknown dims taken from x at run time."""
    static = x.shape.as_list()
    dims = static if shape is None else [static[i] if d is None else d
                                         for i, d in enumerate(shape)]
    if all(d is not None for d in dims):
        return dims
    dynamic = jg.shape(x)
    return [dynamic[i] if d is None else d for i, d in enumerate(dims)]


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeros each element (or each slice given by ``noise_shape``) with probability
    ``rate`` and scales the kept ones by ``1 / (1 - rate)``."""
    if not 0 <= rate < 1:
        raise ValueError(f"jg.keras.random.dropout: rate must be in [0, 1), got {rate}")
    inputs = jg.convert_to_tensor(inputs)
    if noise_shape is not None and len(noise_shape) != inputs.shape.rank:
        raise ValueError(f"jg.keras.random.dropout: noise_shape {list(noise_shape)} must have "
                         f"one entry per dim of the inputs (shape {inputs.shape.as_list()})")
    u = jg.random.stateless_uniform(_runtime_shape(inputs, noise_shape), draw_seed(seed),
                                    dtype=inputs.dtype)
    keep = jg.greater_equal(u, rate)
    return jg.where(keep, inputs / (1.0 - rate), jg.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order."""
    x = jg.convert_to_tensor(x)
    rank = x.shape.rank
    if not -rank <= axis < rank:
        raise ValueError(f"jg.keras.random.shuffle: axis {axis} is out of range for a tensor "
                         f"of shape {x.shape.as_list()}")
    axis %= rank
    n = x.shape.as_list()[axis]
    length = [n] if n is not None else [jg.shape(x)[axis]]
    keys = jg.random.stateless_uniform(length, draw_seed(seed))
    return jg.gather(x, jg.argsort(keys), axis=axis)


__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint",
           "categorical", "gamma", "beta", "binomial", "dropout", "shuffle"]
