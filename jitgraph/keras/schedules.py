"""``jg.keras.optimizers.schedules``: learning rates as functions of the step.

An optimizer given a schedule as its ``learning_rate`` evaluates it at every
``apply_gradients`` with its ``iterations`` (the steps taken before this one) and keeps the
value in its learning-rate variable, so a compiled train step follows the schedule too.

>>> lr = jg.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
>>> opt = jg.keras.optimizers.SGD(learning_rate=lr)
>>> float(lr(100))
0.05
"""

import math

import jitgraph as jg

from . import serialization


def _step(step):
    s = step if jg.is_tensor(step) else jg.constant(step)
    return jg.cast(s, jg.float32)


class LearningRateSchedule:
    """Base class: ``__call__(step)`` returns the learning rate (a float32 tensor)."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _StepDecay(LearningRateSchedule):
    """Shared by ExponentialDecay and InverseTimeDecay: ``p = step / decay_steps``,
    floored with ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        if decay_steps <= 0:
            raise ValueError(f"{type(self).__name__}: decay_steps must be > 0, got "
                             f"{decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def _p(self, step):
        p = _step(step) / float(self.decay_steps)
        return jg.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored
    with ``staircase``)."""

    def __call__(self, step):
        return self.initial_learning_rate * jg.pow(jg.constant(float(self.decay_rate)),
                                                   self._p(step))


class InverseTimeDecay(_StepDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``."""

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + float(self.decay_rate) * self._p(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]`` (inclusive), ``values[1]`` up to
    ``boundaries[1]``, ..., ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: needs one more value than boundaries, "
                             f"got {len(boundaries)} boundaries and {len(values)} values")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        s = _step(step)
        out = jg.constant(float(self.values[-1]))
        for b, v in reversed(list(zip(self.boundaries, self.values[:-1], strict=True))):
            out = jg.where(s <= float(b), float(v), out)
        return out

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps`` as
    ``(1 - step / decay_steps) ** power``; with ``cycle`` the decay restarts with
    ``decay_steps`` multiplied up past the step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name=None):
        if decay_steps <= 0:
            raise ValueError(f"PolynomialDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle = end_learning_rate, power, cycle
        self.name = name

    def __call__(self, step):
        s = _step(step)
        steps = float(self.decay_steps)
        if self.cycle:
            steps = steps * jg.maximum(jg.ceil(s / steps), 1.0)
        else:
            s = jg.minimum(s, steps)
        frac = jg.pow(1.0 - s / steps, float(self.power))
        return (self.initial_learning_rate - self.end_learning_rate) * frac + \
            self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from ``initial_learning_rate`` to ``warmup_target`` over
    ``warmup_steps``, then a cosine from there (or from ``initial_learning_rate``) down to
    ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None,
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"CosineDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.alpha = (
            initial_learning_rate, decay_steps, alpha)
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def __call__(self, step):
        s = _step(step)
        peak = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        t = jg.minimum(jg.maximum(s - float(self.warmup_steps), 0.0), float(self.decay_steps))
        cos = 0.5 * (1.0 + jg.cos(math.pi * t / float(self.decay_steps)))
        decayed = peak * ((1.0 - self.alpha) * cos + self.alpha)
        if self.warmup_target is None or not self.warmup_steps:
            return decayed
        warm = self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate) \
            * s / float(self.warmup_steps)
        return jg.where(s < float(self.warmup_steps), warm, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_CLASSES = [ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
            CosineDecay]
_TABLE = {c.__name__: c for c in _CLASSES}


def serialize(schedule):
    return serialization.serialize(schedule)


def deserialize(config, custom_objects=None):
    return serialization.deserialize(config, _TABLE, custom_objects, "learning rate schedule")


__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay",
           "PiecewiseConstantDecay", "PolynomialDecay", "CosineDecay", "serialize",
           "deserialize"]
