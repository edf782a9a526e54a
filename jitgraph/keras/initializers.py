"""Weight initializers: ``init(shape, dtype) -> Tensor``, run eagerly when a layer builds.

A seeded initializer gives the same values on every call (as in Keras); an unseeded one
draws its NumPy seed from ``jg.random``, so ``jg.random.set_seed(s)`` makes a whole model's
initial weights reproducible.

>>> jg.keras.initializers.GlorotUniform(seed=0)((3, 2))
"""

import math

import numpy as np

import jitgraph as jg

from . import serialization


def _numpy_rng(seed):
    if seed is None:
        u = np.asarray(jg.random.uniform([2], 0.0, 1.0, dtype=jg.float64))
        seed = [int(v * 2**31) for v in u]
    return np.random.default_rng(seed)


def _fans(shape):
    shape = tuple(int(d) for d in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _as_tensor(arr, dtype):
    dtype = jg.as_dtype(dtype or jg.float32)
    return jg.constant(np.asarray(arr).astype(dtype.as_numpy_dtype))


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return _as_tensor(np.zeros(tuple(shape)), dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return _as_tensor(np.ones(tuple(shape)), dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return _as_tensor(np.broadcast_to(np.asarray(self.value), tuple(shape)), dtype)

    def get_config(self):
        return {"value": serialization.to_json_value(self.value)}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        rng = _numpy_rng(self.seed)
        return _as_tensor(rng.normal(self.mean, self.stddev, tuple(shape)), dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        rng = _numpy_rng(self.seed)
        return _as_tensor(rng.uniform(self.minval, self.maxval, tuple(shape)), dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        return _as_tensor(self.mean + self.stddev * _truncated(_numpy_rng(self.seed), shape),
                          dtype)


def _truncated(rng, shape):
    """Standard normal samples redrawn until they lie within two standard deviations."""
    out = rng.standard_normal(tuple(shape))
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


class VarianceScaling(Initializer):
    """Scale / fan, drawn from a truncated normal, an untruncated normal or a uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, "
                             f"got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling: distribution must be truncated_normal, "
                             f"untruncated_normal or uniform, got {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        var = self.scale / max(1.0, fan[self.mode])
        rng = _numpy_rng(self.seed)
        if self.distribution == "uniform":
            lim = math.sqrt(3.0 * var)
            arr = rng.uniform(-lim, lim, tuple(shape))
        elif self.distribution == "untruncated_normal":
            arr = rng.normal(0.0, math.sqrt(var), tuple(shape))
        else:  # 0.8796... is the stddev of a standard normal truncated at +-2
            arr = math.sqrt(var) / 0.87962566103423978 * _truncated(rng, shape)
        return _as_tensor(arr, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _variance_scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling({scale}, {mode}, "
                                                      f"{distribution})."})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")

for _cls in (GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform):
    _cls.__module__ = __name__


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {tuple(shape)}")
        return _as_tensor(self.gain * np.eye(*tuple(shape)), dtype)

    def get_config(self):
        return {"gain": self.gain}


class Orthogonal(Initializer):
    """A random orthogonal matrix (QR of a normal draw, signs fixed as Keras does) times
    ``gain``; shapes of rank > 2 are flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = _numpy_rng(self.seed).normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _as_tensor(self.gain * q.reshape(shape), dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_CLASSES = [Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
            LecunUniform, Identity, Orthogonal]
_TABLE = {c.__name__: c for c in _CLASSES}
_ALIASES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "uniform": RandomUniform,
            "normal": RandomNormal, "truncated_normal": TruncatedNormal,
            "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_normal": HeNormal, "he_uniform": HeUniform, "lecun_normal": LecunNormal,
            "lecun_uniform": LecunUniform, "identity": Identity, "orthogonal": Orthogonal,
            "variance_scaling": VarianceScaling}
# lower-case Keras aliases: jg.keras.initializers.glorot_uniform(seed=1)
zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal, he_normal, he_uniform = (GlorotUniform, GlorotNormal, HeNormal,
                                                        HeUniform)
random_normal, random_uniform, lecun_normal = RandomNormal, RandomUniform, LecunNormal
orthogonal = Orthogonal


def get(identifier):
    """An initializer from a name ("he_normal"), a config dict, an instance, or a function
    ``f(shape, dtype=None)``."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier]()
    obj = serialization.deserialize(identifier, _TABLE, kind="initializer")
    return obj() if isinstance(obj, type) else obj


def serialize(initializer):
    return serialization.serialize(initializer)


def deserialize(config, custom_objects=None):
    obj = serialization.deserialize(config, {**_TABLE, **_ALIASES}, custom_objects,
                                    "initializer")
    return obj() if isinstance(obj, type) else obj

# Keras 3's other names for these
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
identity, lecun_uniform, truncated_normal = Identity, LecunUniform, TruncatedNormal
variance_scaling = VarianceScaling
_TABLE.update(IdentityInitializer=Identity, OrthogonalInitializer=Orthogonal)
