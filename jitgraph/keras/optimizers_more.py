"""Adafactor and Lamb with Keras 3's update rules (step by step the same numbers as
tf.keras on the same variables), on ``optimizers.Optimizer``'s machinery: state in
variables, eager and compiled steps alike. ``weight_decay`` is applied as Keras' base
optimizer does it: ``var -= var * weight_decay * learning_rate`` before the step.

>>> opt = jg.keras.optimizers.Adafactor(learning_rate=0.01)
>>> opt.apply_gradients(zip(grads, model.trainable_variables))
"""

import numpy as np

import jitgraph as jg

from .base_layer import _checkpoint_created
from .optimizers import Optimizer, _base


def _rms(x):
    return jg.sqrt(jg.reduce_mean(jg.square(x)))


class _DecayingOptimizer(Optimizer):
    """Keras 3's optional ``weight_decay`` on every variable."""

    def __init__(self, learning_rate, name, weight_decay=None, **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.weight_decay = None if weight_decay is None else float(weight_decay)

    def _decayed(self, var):
        if self.weight_decay:
            var.assign(var - var * (self.weight_decay * self._lr_for(var)))
        return var.value()

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Adafactor(_DecayingOptimizer):
    """Adafactor (Shazeer & Stern 2018) as Keras 3 computes it: for variables of rank >= 2
    the second moment is factored into row (``r``, the last axis averaged) and column
    (``c``) statistics; the step size is relative to the variable's RMS (at least
    ``epsilon_2``) times ``min(learning_rate, 1 / sqrt(step))``, the decay of the moments is
    ``1 - step ** beta_2_decay``, and updates whose RMS exceeds ``clip_threshold`` are scaled
    down. ``relative_step`` (with a constant learning rate) also caps the learning rate at
    ``1 / sqrt(step)``."""

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, weight_decay=None,
                 name="adafactor", **kwargs):
        super().__init__(learning_rate, name, weight_decay=weight_decay, **kwargs)
        self.beta_2_decay, self.epsilon_1 = float(beta_2_decay), float(epsilon_1)
        self.epsilon_2, self.clip_threshold = float(epsilon_2), float(clip_threshold)
        self.relative_step = bool(relative_step)

    def build(self, var_list):
        created = False
        with jg.init_scope():
            for v in var_list:
                if id(v) in self._slots:
                    continue
                shape, dt = tuple(v.shape), v.dtype.as_numpy_dtype
                factored = len(shape) >= 2
                shapes = {"r": shape[:-1] if factored else (),
                          "c": shape[:-2] + shape[-1:] if factored else (), "v": shape}
                self._slots[id(v)] = {
                    s: jg.Variable(np.zeros(sh, dt), trainable=False,
                                   name=f"{_base(v.name)}/{s}") for s, sh in shapes.items()}
                created = True
        if created:
            _checkpoint_created(self)
        self._build_averages(var_list)

    def _update(self, var, grad, slots, step):
        x = self._decayed(var)
        lr = self._lr_for(var)
        t = jg.cast(step, var.dtype)
        cap = 1.0 / jg.sqrt(t)
        if self._schedule is None and self.relative_step:
            lr = jg.minimum(lr, cap)
        alpha = jg.maximum(self.epsilon_2, _rms(x)) * jg.minimum(lr, cap)
        g2 = jg.square(grad) + self.epsilon_1
        beta = 1.0 - jg.pow(t, self.beta_2_decay)
        if len(var.shape) >= 2:
            r = beta * slots["r"] + (1.0 - beta) * jg.reduce_mean(g2, axis=-1)
            c = beta * slots["c"] + (1.0 - beta) * jg.reduce_mean(g2, axis=-2)
            slots["r"].assign(r)
            slots["c"].assign(c)
            v = jg.expand_dims(r / jg.reduce_mean(r, axis=-1, keepdims=True), -1) * \
                jg.expand_dims(c, -2)
        else:
            v = beta * slots["v"] + (1.0 - beta) * g2
        slots["v"].assign(v)
        u = grad / jg.sqrt(v)
        u = u / jg.maximum(1.0, _rms(u) / self.clip_threshold)
        return x - alpha * u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


class Lamb(_DecayingOptimizer):
    """LAMB (You et al. 2019): the bias-corrected Adam direction, scaled per variable by the
    trust ratio ``|var| / |direction|`` (1 where either norm is 0), as Keras 3 computes
    it."""

    _slot_names = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, name="lamb", **kwargs):
        super().__init__(learning_rate, name, weight_decay=weight_decay, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, var, grad, slots, step):
        x = self._decayed(var)
        lr = self._lr_for(var)
        t = jg.cast(step, var.dtype)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1.0 - self.beta_1)
        v = slots["velocity"] + (jg.square(grad) - slots["velocity"]) * (1.0 - self.beta_2)
        slots["momentum"].assign(m)
        slots["velocity"].assign(v)
        update = (m / (1.0 - jg.pow(self.beta_1, t))) / (
            jg.sqrt(v / (1.0 - jg.pow(self.beta_2, t))) + self.epsilon)
        w_norm = jg.sqrt(jg.reduce_sum(jg.square(x)))
        g_norm = jg.sqrt(jg.reduce_sum(jg.square(update)))
        one = jg.ones_like(w_norm)
        ratio = jg.where(w_norm > 0.0,
                         jg.where(g_norm > 0.0, w_norm / jg.maximum(g_norm, 1e-30), one), one)
        return x - ratio * lr * update

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


CLASSES = [Adafactor, Lamb]

__all__ = [c.__name__ for c in CLASSES]
