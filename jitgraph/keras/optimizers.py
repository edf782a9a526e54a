"""Optimizers whose state (step count, learning rate, slots) lives in variables, so
``apply_gradients`` works eagerly and inside a compiled train step alike.

Slots are created on the first ``apply_gradients`` (in ``jg.init_scope``, so they are
ordinary eager variables even when the first call happens while tracing). Each update is
followed by the variable's ``constraint``, if it has one.

Every optimizer takes Keras 3's ``use_ema``, ``ema_momentum`` and
``ema_overwrite_frequency``: with ``use_ema=True`` it keeps an exponential moving average of
each variable it was built on (after each step ``average = m * average + (1 - m) * var``, m
being ``ema_momentum``, 0 on the first step), every ``ema_overwrite_frequency`` steps writes
the averages into the variables, and ``finalize_variable_values(vars)`` (which ``fit`` calls
at its end) writes them in for good. As in Keras, the averages are updated before the
variables' constraints are applied.

>>> opt = jg.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
>>> opt.apply_gradients(zip(grads, model.trainable_variables))
"""

import numpy as np

import jitgraph as jg

from . import schedules, serialization
from .base_layer import _checkpoint_created


class Optimizer:
    """Base class: subclasses list their slot names and implement ``_update(var, g, slots)``,
    returning the new value of ``var`` and assigning the new slot values."""

    _slot_names = ()

    def __init__(self, learning_rate=0.001, name=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, **kwargs):
        unknown = set(kwargs) - {"decay", "jit_compile", "epsilon"}
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments "
                            f"{sorted(unknown)}")
        self.name = name or type(self).__name__
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        _check_ema(self.name, use_ema, ema_momentum, ema_overwrite_frequency)
        self.use_ema, self.ema_momentum = bool(use_ema), float(ema_momentum)
        self.ema_overwrite_frequency = ema_overwrite_frequency
        # with use_ema, each variable's average is its slot "average" (saved with the slots);
        # id(var) -> var, in build order, for the averages' updates
        self._averaged = {}
        if isinstance(learning_rate, dict):  # a serialized schedule (from get_config)
            learning_rate = schedules.deserialize(learning_rate)
        self._schedule = learning_rate if isinstance(
            learning_rate, schedules.LearningRateSchedule) else None
        with jg.init_scope():
            self.iterations = jg.Variable(np.int64(0), trainable=False,
                                          name=f"{self.name}/iterations")
            if isinstance(learning_rate, jg.Variable):
                self._lr = learning_rate
            else:
                first = np.asarray(self._schedule(0).numpy() if self._schedule is not None
                                   else learning_rate, np.float32)
                self._lr = jg.Variable(first, trainable=False,
                                       name=f"{self.name}/learning_rate")
        self._slots = {}  # id(var) -> {slot name: Variable}
        self._hyper_vars = [self.iterations, self._lr]

    # -- learning rate (a Variable, so a compiled step sees changes; with a schedule, the
    # schedule's value at the current step)
    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            self._schedule = value
            value = value(self.iterations.value()).numpy()
        else:
            self._schedule = None
        self._lr.assign(np.asarray(value, dtype=self._lr.dtype.as_numpy_dtype))

    lr = learning_rate

    def _lr_for(self, var):
        lr = self._lr.value()
        return lr if lr.dtype == var.dtype else jg.cast(lr, var.dtype)

    # -- state
    def build(self, var_list):
        """Creates the slots of every variable in ``var_list`` that has none yet."""
        created = False
        with jg.init_scope():
            for v in var_list:
                if id(v) not in self._slots:
                    self._slots[id(v)] = {
                        s: jg.Variable(np.zeros(tuple(v.shape), v.dtype.as_numpy_dtype),
                                       trainable=False, name=f"{_base(v.name)}/{s}")
                        for s in self._slot_names}
                    self._init_slots(v, self._slots[id(v)])
                    created = True
        if created:
            _checkpoint_created(self)
        self._build_averages(var_list)

    def _build_averages(self, var_list):
        """With ``use_ema``, a moving average for each variable that has none yet, starting
        at the variable's value."""
        if not self.use_ema:
            return
        created = False
        with jg.init_scope():
            for v in var_list:
                if id(v) not in self._averaged:
                    slots = self._slots.setdefault(id(v), {})
                    slots["average"] = jg.Variable(v.read_value(), trainable=False,
                                                   name=f"{_base(v.name)}/average")
                    self._averaged[id(v)] = v
                    created = True
        if created:
            _checkpoint_created(self)

    def _averages(self):
        """(variable, its moving average) pairs, in build order."""
        return [(v, self._slots[i]["average"]) for i, v in self._averaged.items()]

    def _init_slots(self, var, slots):
        pass

    def get_slot(self, var, slot_name):
        return self._slots[id(var)][slot_name]

    @property
    def variables(self):
        out = list(self._hyper_vars)
        for slots in self._slots.values():
            out.extend(slots.values())
        return out

    # -- updates
    def apply_gradients(self, grads_and_vars, name=None):
        """Applies one step; pairs whose gradient is None are skipped (as in Keras)."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("apply_gradients: no gradients provided for any variable; check "
                             "that the loss depends on the variables (tape.gradient returned "
                             "None for all of them)")
        self.build([v for _, v in pairs])
        self._build_averages([v for _, v in pairs])  # for subclasses with their own build
        grads = [_tensor(g, v.dtype) for g, v in pairs]
        for g, (_, v) in zip(grads, pairs):
            _check_gradient_shape(g, v)
        if not jg.executing_eagerly():
            return self._apply(grads, pairs)  # a failed compiled call restores state itself
        # eagerly, a step that fails part way leaves variables, slots and iterations as they
        # were (reading a variable shares its array; assign makes a new one)
        state = [v for _, v in pairs] + self.variables
        saved = [v.read_value() for v in state]
        try:
            return self._apply(grads, pairs)
        except BaseException:
            for v, value in zip(state, saved):
                v.assign(value)
            raise

    def _apply(self, grads, pairs):
        grads = self._clip(grads)
        if self._schedule is not None:  # the rate for this step, from the steps taken so far
            lr = self._schedule(self.iterations.value())
            self._lr.assign(lr if lr.dtype == self._lr.dtype else jg.cast(lr, self._lr.dtype))
        self.iterations.assign_add(np.int64(1))
        step = jg.cast(self.iterations.value(), jg.float32)
        constrained = []
        for g, (_, v) in zip(grads, pairs):
            new = self._update(v, g, self._slots[id(v)], step)
            if getattr(v, "constraint", None) is not None:
                if self.use_ema:  # Keras constrains after the average's update
                    constrained.append(v)
                else:
                    new = v.constraint(new)
            v.assign(new)
        if self.use_ema:
            self._update_averages()
            for v in constrained:
                v.assign(v.constraint(v.value()))
        return self.iterations

    def _update_averages(self):
        """Keras' EMA step (run after ``iterations`` counted this step): the first step
        copies each variable, later ones mix in ``1 - ema_momentum`` of it; every
        ``ema_overwrite_frequency`` steps the variables take their averages' values."""
        iterations = self.iterations.value()
        not_first = jg.not_equal(iterations, np.int64(1))
        overwrite = None
        if self.ema_overwrite_frequency:
            overwrite = jg.equal(iterations % np.int64(self.ema_overwrite_frequency),
                                 np.int64(0))
        for var, average in self._averages():
            momentum = jg.cast(not_first, var.dtype) * self.ema_momentum
            new = momentum * average.value() + (1.0 - momentum) * var.value()
            average.assign(new)
            if overwrite is not None:
                var.assign(jg.where(overwrite, new, var.value()))

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, gives each variable of ``var_list`` its moving average (those
        this optimizer never updated keep their values); else does nothing.

        >>> opt.finalize_variable_values(model.trainable_variables)
        """
        if not self.use_ema:
            return
        for v in var_list:
            if id(v) in self._averaged:
                v.assign(self._slots[id(v)]["average"].value())

    def minimize(self, loss, var_list, tape=None):
        """One step on ``loss`` (a callable, or a tensor with its ``tape``)."""
        if tape is None:
            with jg.GradientTape() as tape:
                value = loss()
        else:
            value = loss
        var_list = var_list() if callable(var_list) else var_list
        grads = tape.gradient(value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def _clip(self, grads):
        if self.clipvalue is not None:
            grads = [jg.clip_by_value(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            grads = [_scale_to_norm(g, jg.sqrt(jg.reduce_sum(jg.square(g))), self.clipnorm)
                     for g in grads]
        if self.global_clipnorm is not None:
            total = jg.sqrt(sum(jg.reduce_sum(jg.square(g)) for g in grads))
            grads = [_scale_to_norm(g, total, self.global_clipnorm) for g in grads]
        return grads

    def _update(self, var, grad, slots, step):
        raise NotImplementedError

    # -- config
    def get_config(self):
        lr = schedules.serialize(self._schedule) if self._schedule is not None else \
            float(np.asarray(self._lr.numpy()))
        cfg = {"name": self.name, "learning_rate": lr}
        for k in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, k) is not None:
                cfg[k] = getattr(self, k)
        if self.use_ema:
            cfg.update(use_ema=True, ema_momentum=self.ema_momentum,
                       ema_overwrite_frequency=self.ema_overwrite_frequency)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _base(name):
    return str(name).split(":")[0]


def _check_ema(name, use_ema, momentum, frequency):
    if not use_ema:
        return
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{name}: ema_momentum must be in the range [0, 1], got "
                         f"ema_momentum={momentum}")
    if frequency is not None and (not isinstance(frequency, (int, np.integer))
                                  or isinstance(frequency, bool) or frequency < 1):
        raise ValueError(f"{name}: ema_overwrite_frequency must be an integer >= 1 or None, "
                         f"got ema_overwrite_frequency={frequency!r}")


def _tensor(g, dtype):
    g = g.value() if isinstance(g, jg.Variable) else g
    g = g if jg.is_tensor(g) else jg.constant(g)
    return g if g.dtype == dtype else jg.cast(g, dtype)


def _check_gradient_shape(g, v):
    gs, vs = g.shape.as_list(), v.shape.as_list()
    if len(gs) != len(vs) or any(a is not None and b is not None and a != b
                                 for a, b in zip(gs, vs)):
        raise jg.errors.InvalidArgumentError(jg.errors.at_user_line(
            f"apply_gradients: the gradient for variable {v.name!r} has shape {gs} but the "
            f"variable has shape {vs}; pass each variable's own gradient (same shape), e.g. "
            "zip(tape.gradient(loss, variables), variables)"))


def _scale_to_norm(g, norm, limit):
    return g * (limit / jg.maximum(norm, limit))


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self._slot_names = ("momentum",) if self.momentum else ()

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        if not self.momentum:
            return var - lr * grad
        m = slots["momentum"]
        m_new = self.momentum * m - lr * grad
        m.assign(m_new)
        if self.nesterov:
            return var + self.momentum * m_new - lr * grad
        return var + m_new

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    _slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="Adam", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self._slot_names = ("m", "v", "vhat")

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        b1, b2 = self.beta_1, self.beta_2
        m = b1 * slots["m"] + (1.0 - b1) * grad
        v = b2 * slots["v"] + (1.0 - b2) * jg.square(grad)
        slots["m"].assign(m)
        slots["v"].assign(v)
        if self.amsgrad:
            v = jg.maximum(slots["vhat"], v)
            slots["vhat"].assign(v)
        t = jg.cast(step, var.dtype)
        alpha = lr * jg.sqrt(1.0 - jg.pow(b2, t)) / (1.0 - jg.pow(b1, t))
        return var - alpha * m / (jg.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): each step first shrinks the
    variable by ``learning_rate * weight_decay * var``, then takes the Adam step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="AdamW", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name, **kwargs)
        self.weight_decay = float(weight_decay)
        self._no_decay, self._no_decay_names = set(), []

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (or variables whose name contains one of ``var_names``) to leave
        undecayed, e.g. biases and normalization scales."""
        self._no_decay.update(id(v) for v in var_list or [])
        self._no_decay_names += list(var_names or [])

    def _update(self, var, grad, slots, step):
        if self.weight_decay and id(var) not in self._no_decay and not any(
                n in var.name for n in self._no_decay_names):
            var.assign(var - self._lr_for(var) * self.weight_decay * var)
        return super()._update(var, grad, slots, step)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), with Keras' momentum schedule."""

    _slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Nadam", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        with jg.init_scope():
            self._u_product = jg.Variable(np.float32(1.0), trainable=False,
                                          name=f"{self.name}/u_product")
        self._hyper_vars.append(self._u_product)
        self._u_updated_at = None

    def apply_gradients(self, grads_and_vars, name=None):
        self._u_updated_at = None
        return super().apply_gradients(grads_and_vars, name)

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        b1, b2 = self.beta_1, self.beta_2
        t = jg.cast(step, var.dtype)
        u_t = b1 * (1.0 - 0.5 * jg.pow(0.96, t))  # Keras 3's schedule (Keras 2: 0.004 t)
        u_next = b1 * (1.0 - 0.5 * jg.pow(0.96, t + 1.0))
        if self._u_updated_at is None:  # the running product advances once per step
            self._u_updated_at = self._u_product.value() * jg.cast(u_t, jg.float32)
            self._u_product.assign(self._u_updated_at)
        u_prod = jg.cast(self._u_updated_at, var.dtype)
        u_prod_next = u_prod * u_next
        m = b1 * slots["m"] + (1.0 - b1) * grad
        v = b2 * slots["v"] + (1.0 - b2) * jg.square(grad)
        slots["m"].assign(m)
        slots["v"].assign(v)
        m_hat = u_next * m / (1.0 - u_prod_next) + (1.0 - u_t) * grad / (1.0 - u_prod)
        v_hat = v / (1.0 - jg.pow(b2, t))
        return var - lr * m_hat / (jg.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    _slot_names = ("rms", "momentum", "mg")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="RMSprop", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        rms = self.rho * slots["rms"] + (1.0 - self.rho) * jg.square(grad)
        slots["rms"].assign(rms)
        denom = rms
        if self.centered:
            mg = self.rho * slots["mg"] + (1.0 - self.rho) * grad
            slots["mg"].assign(mg)
            denom = rms - jg.square(mg)
        increment = lr * grad / jg.sqrt(denom + self.epsilon)  # Keras 3: eps under the root
        if self.momentum:
            mom = self.momentum * slots["momentum"] + increment
            slots["momentum"].assign(mom)
            return var - mom
        return var - increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    _slot_names = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _init_slots(self, var, slots):
        slots["accumulator"].assign(
            np.full(tuple(var.shape), self.initial_accumulator_value,
                    var.dtype.as_numpy_dtype))

    def _update(self, var, grad, slots, step):
        acc = slots["accumulator"] + jg.square(grad)
        slots["accumulator"].assign(acc)
        return var - self._lr_for(var) * grad / (jg.sqrt(acc) + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_CLASSES = [SGD, Adam, AdamW, Nadam, RMSprop, Adagrad]
_TABLE = {c.__name__: c for c in _CLASSES}
_TABLE.update({c.__name__.lower(): c for c in _CLASSES})


def get(identifier):
    """An optimizer from a name ("adam"), a config, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    obj = serialization.deserialize(identifier, _TABLE, kind="optimizer")
    return obj() if isinstance(obj, type) else obj


def serialize(optimizer):
    return serialization.serialize(optimizer)


def deserialize(config, custom_objects=None):
    obj = serialization.deserialize(config, _TABLE, custom_objects, "optimizer")
    return obj() if isinstance(obj, type) else obj


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Nadam", "RMSprop", "Adagrad", "get", "serialize",
           "deserialize"]


class Adamax(Optimizer):
    """Adam with the infinity norm (Kingma & Ba, section 7.1): ``m`` is Adam's first moment,
    ``u = max(beta_2 * u, |g|)``, and the step is ``lr * m / ((1 - beta_1^t) * (u +
    epsilon))``."""

    _slot_names = ("momentum", "norm")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Adamax", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        m = slots["momentum"] + (grad - slots["momentum"]) * (1.0 - self.beta_1)
        u = jg.maximum(self.beta_2 * slots["norm"], jg.abs(grad))
        slots["momentum"].assign(m)
        slots["norm"].assign(u)
        beta_1_power = jg.pow(jg.cast(self.beta_1, var.dtype), jg.cast(step, var.dtype))
        return var - lr * m / ((1.0 - beta_1_power) * (u + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): steps scaled by the ratio of running RMS of past updates and
    of gradients; ``learning_rate`` multiplies the step (1.0 gives the paper's rule)."""

    _slot_names = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta",
                 **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _update(self, var, grad, slots, step):
        rho = self.rho
        acc_grad = rho * slots["accumulated_grad"] + (1.0 - rho) * jg.square(grad)
        slots["accumulated_grad"].assign(acc_grad)
        acc_delta = slots["accumulated_delta_var"]
        delta = -(jg.sqrt(acc_delta + self.epsilon) * grad) / jg.sqrt(acc_grad + self.epsilon)
        slots["accumulated_delta_var"].assign(rho * acc_delta + (1.0 - rho) * jg.square(delta))
        return var + self._lr_for(var) * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al. 2013) with Keras' L1, L2 and L2-shrinkage
    terms; ``beta`` adds ``beta / (2 * learning_rate)`` to the L2 strength."""

    _slot_names = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name="Ftrl", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        checks = (("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                  ("l1_regularization_strength", l1_regularization_strength,
                   "positive or zero"),
                  ("l2_regularization_strength", l2_regularization_strength,
                   "positive or zero"),
                  ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                   "positive or zero"),
                  ("learning_rate_power", -learning_rate_power, "negative or zero"))
        for arg, value, what in checks:
            if value < 0.0:
                shown = -value if arg == "learning_rate_power" else value
                raise ValueError(f"Ftrl: {arg} must be {what}, got {arg}={shown}")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _init_slots(self, var, slots):
        slots["accumulator"].assign(
            np.full(tuple(var.shape), self.initial_accumulator_value,
                    var.dtype.as_numpy_dtype))

    def _update(self, var, grad, slots, step):
        lr = self._lr_for(var)
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        accum = slots["accumulator"].value()
        grad_to_use = grad + 2.0 * self.l2_shrinkage_regularization_strength * var
        new_accum = accum + jg.square(grad)
        linear = slots["linear"] + grad_to_use - (
            jg.pow(new_accum, power) - jg.pow(accum, power)) / lr * var
        slots["linear"].assign(linear)
        quadratic = jg.pow(new_accum, power) / lr + 2.0 * l2
        slots["accumulator"].assign(new_accum)
        return (jg.clip_by_value(linear, -l1, l1) - linear) / quadratic

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    """EvoLved Sign Momentum (Chen et al. 2023): the step is ``lr * sign(beta_1 * m + (1 -
    beta_1) * g)``; then ``m = beta_2 * m + (1 - beta_2) * g``."""

    _slot_names = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="Lion", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if not 0.0 < beta_1 <= 1.0:
            raise ValueError(f"Lion: beta_1 must be in (0, 1] (otherwise it is SignSGD), got "
                             f"beta_1={beta_1}")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def _update(self, var, grad, slots, step):
        m = slots["momentum"].value()
        new = var - self._lr_for(var) * jg.sign(m * self.beta_1 + grad * (1.0 - self.beta_1))
        slots["momentum"].assign(m * self.beta_2 + grad * (1.0 - self.beta_2))
        return new

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


_CLASSES += [Adamax, Adadelta, Ftrl, Lion]
_TABLE.update({c.__name__: c for c in (Adamax, Adadelta, Ftrl, Lion)})
_TABLE.update({c.__name__.lower(): c for c in (Adamax, Adadelta, Ftrl, Lion)})
__all__ += ["Adamax", "Adadelta", "Ftrl", "Lion"]

from . import optimizers_more as _more  # noqa: E402 - Adafactor, Lamb (subclass Optimizer)
from .optimizers_more import *  # noqa: E402,F401,F403

_CLASSES += _more.CLASSES
_TABLE.update({c.__name__: c for c in _more.CLASSES})
_TABLE.update({c.__name__.lower(): c for c in _more.CLASSES})
__all__ += _more.__all__


def __getattr__(name):
    # Keras 3's home of LossScaleOptimizer (defined in mixed_precision, which imports this
    # module, hence looked up on first use)
    if name == "LossScaleOptimizer":
        from .mixed_precision import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
