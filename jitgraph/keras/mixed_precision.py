"""jg.keras.mixed_precision: dtype policies and loss scaling, with Keras' semantics.

A policy names two dtypes: the one layers compute in and the one their variables are kept
in. ``"mixed_float16"`` computes in float16 and keeps variables in float32: a layer casts its
floating inputs to float16, and while it runs, its ``add_weight`` variables are read as
float16 (autocast; the cast is an op, so the gradient reaches the float32 variable). Layers
whose statistics need float32 (BatchNormalization, LayerNormalization, GroupNormalization)
compute in float32 and return the compute dtype, and ``Model.compute_loss`` computes the
loss in float32, as Keras does. Put the last activation in float32
(``Activation("softmax", dtype="float32")``) so the model's outputs are float32.

>>> jg.keras.mixed_precision.set_global_policy("mixed_float16")
>>> model = jg.keras.Sequential([jg.keras.layers.Dense(64, activation="relu"),
...                              jg.keras.layers.Dense(10),
...                              jg.keras.layers.Activation("softmax", dtype="float32")])
>>> model.compile("adam", "sparse_categorical_crossentropy")   # wraps Adam in a
>>> model.fit(x, y)                                            # LossScaleOptimizer

``"mixed_bfloat16"`` computes in ``jg.bfloat16`` (float32's exponent range, 8-bit
significand), which exists when ``ml_dtypes`` is importable (see jitgraph/dtypes.py: eager ops
compute on it in float32 and round, compiled kernels store 16 bits and compute in float32, so
on a CPU it saves memory, not time). Its range needs no loss scaling, and ``compile`` adds
none, as in Keras. Without ml_dtypes, the bfloat16 policies raise a ValueError that says so.

``LossScaleOptimizer`` follows Keras' dynamic loss scaling: the loss is multiplied by
``loss_scale`` (2**15 at first), so small float16 gradients do not flush to zero; a step
whose gradients hold an inf or NaN is skipped (the wrapped optimizer and its ``iterations``
do not move) and halves the scale; after ``dynamic_growth_steps`` finite steps in a row the
scale doubles. The scale and the counter are variables, so this works inside a compiled
train step.
"""

import numpy as np

import jitgraph as jg

from . import optimizers as _optimizers
from .base_layer import _checkpoint_created

_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}
_NO_BFLOAT16 = ("bfloat16", "mixed_bfloat16")


class Policy:
    """A dtype policy: ``name`` is a dtype name ("float32", "float16", "bfloat16", ...),
    "mixed_float16" or "mixed_bfloat16" (compute in the 16-bit type, variables float32).

    >>> p = jg.keras.mixed_precision.Policy("mixed_float16")
    >>> p.compute_dtype, p.variable_dtype
    ('float16', 'float32')
    """

    def __init__(self, name=None):
        if name is None:  # Keras 3: the policy of floatx
            from . import backend

            name = backend.floatx()
        if isinstance(name, Policy):
            name = name.name
        if not isinstance(name, str):
            raise TypeError(f"Policy: the name must be a string such as 'mixed_float16' or "
                            f"'float32', got {name!r}")
        if name in _NO_BFLOAT16 and getattr(jg, "bfloat16", None) is None:
            raise ValueError(
                f"Policy {name!r}: jitgraph has bfloat16 only with the ml_dtypes package "
                "(NumPy has no bfloat16); install ml_dtypes, or use 'mixed_float16' (with "
                "the loss scaling fit applies) or 'float32'")
        if name in _MIXED:
            compute, variable = _MIXED[name]
        else:
            try:
                compute = variable = jg.as_dtype(name).name
            except TypeError:
                raise ValueError(
                    f"Policy: {name!r} is neither a mixed policy nor a dtype name; use "
                    "'mixed_float16', 'mixed_bfloat16', 'float16', 'float32' or 'float64' (or "
                    "another jitgraph dtype name)") from None
        self._name, self._compute, self._variable = name, compute, variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        """The dtype layers compute in (a name, as Keras returns it)."""
        return self._compute

    @property
    def variable_dtype(self):
        """The dtype of the layers' variables."""
        return self._variable

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<Policy "{self._name}">'


DTypePolicy = Policy  # Keras 3's name

_GLOBAL = [None]


def global_policy():
    """The policy layers get when built without ``dtype=``: the one given to
    ``set_global_policy``, else ``Policy(jg.keras.backend.floatx())``."""
    if _GLOBAL[0] is not None:
        return _GLOBAL[0]
    from . import backend

    return Policy(backend.floatx())


def set_global_policy(policy):
    """Sets the policy of layers created from now on (``None`` resets it to floatx).

    >>> jg.keras.mixed_precision.set_global_policy("mixed_float16")
    """
    if policy is None:
        _GLOBAL[0] = None
        return
    p = policy if isinstance(policy, Policy) else Policy(policy)
    if not jg.as_dtype(p.compute_dtype).is_floating:
        raise ValueError(f"set_global_policy: the global policy must compute in a floating "
                         f"dtype, got {p.name!r}; give integer dtypes to single layers "
                         "(dtype='int32') instead")
    _GLOBAL[0] = p


def get_policy(dtype):
    """The Policy for a layer's ``dtype=`` argument: None (the global policy), a Policy, a
    policy or dtype name, a jg.DType, or a Policy config dict."""
    if dtype is None:
        return global_policy()
    if isinstance(dtype, Policy):
        return dtype
    if isinstance(dtype, dict):  # a serialized policy: {"class_name": ..., "config": {...}}
        return Policy(dtype.get("config", dtype).get("name"))
    if isinstance(dtype, str):
        return Policy(dtype)
    return Policy(jg.as_dtype(dtype).name)


class LossScaleOptimizer(_optimizers.Optimizer):
    """Wraps ``inner_optimizer`` with dynamic loss scaling (see the module docstring).

    tf.keras 2 style: ``scaled = opt.get_scaled_loss(loss)``, ``grads =
    opt.get_unscaled_gradients(tape.gradient(scaled, vars))``, ``opt.apply_gradients(zip(grads,
    vars))``. Keras 3 style: ``scaled = opt.scale_loss(loss)`` and ``apply_gradients`` of the
    gradients of ``scaled``, which it unscales itself. Which one ``apply_gradients`` expects
    follows the last of these calls: after ``scale_loss`` it unscales; after
    ``get_scaled_loss`` or ``get_unscaled_gradients`` it takes the gradients as they are.

    >>> opt = jg.keras.mixed_precision.LossScaleOptimizer(jg.keras.optimizers.SGD(0.1))
    >>> with jg.GradientTape() as tape:
    ...     scaled = opt.get_scaled_loss(loss_fn())
    >>> grads = opt.get_unscaled_gradients(tape.gradient(scaled, var_list))
    >>> opt.apply_gradients(zip(grads, var_list))
    """

    def __init__(self, inner_optimizer, dynamic=True, initial_scale=2.0 ** 15,
                 dynamic_growth_steps=2000, name=None):
        inner = _optimizers.get(inner_optimizer)
        if isinstance(inner, LossScaleOptimizer):
            raise TypeError("LossScaleOptimizer: the inner optimizer is already a "
                            "LossScaleOptimizer; wrap the plain optimizer once")
        if not dynamic:
            raise ValueError("LossScaleOptimizer(dynamic=False) is not supported (as in Keras "
                             "3): multiply the loss by a constant yourself, or use "
                             "dynamic=True")
        initial_scale = 2.0 ** 15 if initial_scale is None else float(initial_scale)
        growth = 2000 if dynamic_growth_steps is None else int(dynamic_growth_steps)
        if not np.isfinite(initial_scale) or initial_scale <= 0 or growth < 1:
            raise ValueError(f"LossScaleOptimizer: initial_scale must be a positive finite "
                             f"number and dynamic_growth_steps >= 1, got {initial_scale} and "
                             f"{growth}")
        self.inner_optimizer = inner
        self.name = name or f"LossScaleOptimizer_{inner.name}"
        self.dynamic = True
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = growth
        self._unscale_in_apply = False
        self._slots = {}  # its own state is the two variables; the slots are the inner's
        with jg.init_scope():  # Keras 3's names (checkpoints use them)
            self.dynamic_scale = jg.Variable(np.float32(initial_scale), trainable=False,
                                             name=f"{self.name}/dynamic_scale")
            self.step_counter = jg.Variable(np.int64(0), trainable=False,
                                            name=f"{self.name}/step_counter")
        _checkpoint_created(self)

    # -- the wrapped optimizer's state
    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def variables(self):
        return [self.dynamic_scale, self.step_counter] + list(self.inner_optimizer.variables)

    def build(self, var_list):
        self.inner_optimizer.build(var_list)

    def get_slot(self, var, slot_name):
        return self.inner_optimizer.get_slot(var, slot_name)

    def finalize_variable_values(self, var_list):
        """The wrapped optimizer's (its moving averages, with ``use_ema``)."""
        self.inner_optimizer.finalize_variable_values(var_list)

    # -- scaling
    @property
    def loss_scale(self):
        """The current scale (a float32 variable; tf.keras 2's name of ``dynamic_scale``)."""
        return self.dynamic_scale

    @property
    def dynamic_counter(self):
        """Finite steps since the scale last changed (an int64 variable; tf.keras 2's name
        of ``step_counter``)."""
        return self.step_counter

    def get_scaled_loss(self, loss):
        """``loss * loss_scale`` in the loss' dtype (a callable loss gives a callable)."""
        self._unscale_in_apply = False
        if callable(loss) and not jg.is_tensor(loss):
            return lambda: self._times_scale(loss())
        return self._times_scale(loss)

    def scale_loss(self, loss):
        """Keras 3's name: ``loss * loss_scale``; ``apply_gradients`` then unscales."""
        self._unscale_in_apply = True
        return self._times_scale(loss)

    def get_unscaled_gradients(self, grads):
        """Each gradient divided by ``loss_scale`` (None stays None)."""
        self._unscale_in_apply = False
        return [None if g is None else self._unscale(g) for g in grads]

    def _times_scale(self, loss):
        loss = loss if jg.is_tensor(loss) else jg.convert_to_tensor(loss)
        s = self.dynamic_scale.value()
        return loss * (s if loss.dtype == s.dtype else jg.cast(s, loss.dtype))

    def _unscale(self, g):
        g = g.value() if isinstance(g, jg.Variable) else g
        inv = 1.0 / self.dynamic_scale.value()
        return g * (inv if g.dtype == inv.dtype else jg.cast(inv, g.dtype))

    # -- the step
    def apply_gradients(self, grads_and_vars, name=None):
        """Applies the step when every gradient is finite and adjusts the scale: skipped
        and the scale halved otherwise; doubled after ``dynamic_growth_steps`` finite
        steps. Returns the wrapped optimizer's ``iterations``."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("LossScaleOptimizer.apply_gradients: no gradients provided for "
                             "any variable; check that the loss depends on the variables")
        if self._unscale_in_apply:
            pairs = [(self._unscale(g), v) for g, v in pairs]
        self.inner_optimizer.build([v for _, v in pairs])  # slots outside the cond below
        finite = all_finite([g for g, _ in pairs])

        def apply():
            self.inner_optimizer.apply_gradients(pairs)
            grow = self.step_counter.value() + 1 >= self.dynamic_growth_steps
            doubled = self.dynamic_scale.value() * 2.0
            keep = jg.logical_or(jg.logical_not(grow), jg.logical_not(jg.math.is_finite(doubled)))
            self.dynamic_scale.assign(jg.where(keep, self.dynamic_scale.value(), doubled))
            self.step_counter.assign(jg.where(grow, np.int64(0), self.step_counter.value() + 1))
            return jg.constant(True)

        def skip():
            self.dynamic_scale.assign(self.dynamic_scale.value() * 0.5)
            self.step_counter.assign(np.int64(0))
            return jg.constant(False)

        jg.cond(finite, apply, skip)
        return self.iterations

    def minimize(self, loss, var_list, tape=None):
        """One step on ``loss`` (a callable, or a tensor recorded by ``tape``), scaled."""
        var_list = var_list() if callable(var_list) else var_list
        if tape is None:
            with jg.GradientTape() as tape:
                scaled = self.get_scaled_loss(loss())
        else:
            with tape:
                scaled = self.get_scaled_loss(loss)
        grads = self.get_unscaled_gradients(tape.gradient(scaled, var_list))
        return self.apply_gradients(zip(grads, var_list))

    # -- config
    def get_config(self):
        return {"inner_optimizer": _optimizers.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner_optimizer"] = _optimizers.deserialize(config["inner_optimizer"],
                                                            custom_objects=custom_objects)
        return cls(**config)


_optimizers._TABLE["LossScaleOptimizer"] = LossScaleOptimizer  # deserialize, load_model


def all_finite(grads):
    """A bool tensor: no gradient holds an inf or NaN."""
    flags = [jg.reduce_all(jg.math.is_finite(g)) for g in grads]
    out = flags[0]
    for f in flags[1:]:
        out = jg.logical_and(out, f)
    return out


__all__ = ["Policy", "DTypePolicy", "global_policy", "set_global_policy", "LossScaleOptimizer"]
