"""Recurrent layers: the cells ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` and
``StackedRNNCells``, the ``RNN`` layer that runs a cell over time, ``SimpleRNN``, ``LSTM``,
``GRU``, and the wrappers ``Bidirectional`` and ``TimeDistributed``.

Arguments, weight names and layouts, gate order and numerics are tf.keras's, so weights
copied from a tf.keras model give the same outputs: LSTM ``kernel`` is ``[in, 4 * units]``
with the gates i, f, c, o; GRU gates are z, r, h and ``reset_after=True`` (the default) has a
``bias`` of shape ``[2, 3 * units]`` (input bias, recurrent bias).

The time loop: the recurrence is a ``jg.while_loop`` over the steps (``unroll=True``: a
Python loop, unrolled into the traced graph). The input projection ``x @ kernel + bias`` of
a built-in cell is one matmul over all steps when unrolled or when the input is at least as
wide as the gates; otherwise each step projects its own input, because the gradient of the
loop's per-step read of a captured sequence is a dense tensor of the sequence's shape per
step, and the raw input is the narrower sequence. Inside ``jg.function`` the loop compiles to
one native loop: tracing and compiling stay fast however long the sequence, while an
unrolled 50-step LSTM training step takes tens of seconds to compile. Gradients through
the loop keep per-step state in loop stacks, which every backend (cuda included) runs.

``dropout`` and ``recurrent_dropout``: in training, one mask per call for the inputs and one
for the recurrent state (multiplying ``h`` where it enters the recurrent matmul), the same at
every step and shared by the gates. (tf.keras draws a mask per gate when recurrent_dropout
is on; the random draws cannot match TensorFlow's anyway.)
Masks (``mask=`` or the mask an ``Embedding(mask_zero=True)`` or ``Masking`` attached to the
input): a masked step leaves the states unchanged and outputs the previous step's output
(zeros with ``zero_output_for_mask=True``, which Bidirectional sets when returning
sequences), as tf.keras; the step's mask is read inside the one loop (a ``jg.where`` per
state), so padded batches of any lengths share one compiled loop.
Not supported (clear errors): ``stateful``, ``time_major``.

>>> model = jg.keras.Sequential([jg.keras.Input((20, 8)), jg.keras.layers.LSTM(32),
...                              jg.keras.layers.Dense(1)])
"""

import inspect
import re

import jitgraph as jg

from . import activations, constraints, initializers, regularizers, serialization
from .base_layer import Layer, flatten, unique_name
from .masking import check_mask


def _ser(obj):
    return serialization.serialize(obj)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _named(cls, kwargs):
    """Keras' automatic names for these classes: "lstm", "simple_rnn_cell", "gru_1", ..."""
    if kwargs.get("name") is None:
        words = re.sub("([a-z])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2",
                                                           cls.__name__))
        kwargs["name"] = unique_name(words.lower())
    return kwargs


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ----------------------------------------------------------------------------- cells
class _Cell(Layer):
    """What the built-in cells share: the weight arguments, building the three weights,
    and ``call = _step(_project(x))`` so the RNN layer can project all steps at once."""

    _gates = 1  # blocks of `units` columns in the kernels

    def __init__(self, units, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, **kwargs):
        kwargs.pop("implementation", None)  # Keras' kernel choice: one implementation here
        super().__init__(**_named(type(self), kwargs))
        if int(units) <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer, got "
                             f"{units!r}")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{type(self).__name__}: {arg} must be in [0, 1), got "
                                 f"{rate!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self._masks = (None, None)  # (inputs, recurrent state) dropout masks of this call

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        last = input_shape[-1]
        if last is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the feature dimension "
                             f"(last axis) of its input must be known, got input shape "
                             f"{_shape_text(input_shape)}")
        n = self._gates * self.units
        self.kernel = self.add_weight("kernel", (int(last), n),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, n),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(),
                                        initializer=self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _input_bias(self):
        return self.bias

    def _set_masks(self, like, training):
        """Draws this call's dropout masks (batch rows like ``like``'s) when training."""
        rates = (self.dropout, self.recurrent_dropout) if training else (0.0, 0.0)
        widths = (self.kernel.shape[0], self.units)
        self._masks = tuple(_dropout_mask(like, w, r) if r else None
                            for w, r in zip(widths, rates, strict=True))

    def _recurrent_input(self, h):
        return h if self._masks[1] is None else h * self._masks[1]

    def _project(self, x):
        """``x @ kernel + input bias`` on the last axis of a [batch, (time,) features] x."""
        if self._masks[0] is not None:
            x = x * (self._masks[0] if len(x.shape) == 2 else jg.expand_dims(self._masks[0], 1))
        shape = tuple(x.shape)
        if len(shape) == 3 and None not in shape:  # one GEMM over batch * time rows
            y = jg.matmul(jg.reshape(x, (-1, shape[2])), self.kernel)
            y = jg.reshape(y, shape[:2] + (y.shape[-1],))
        else:
            y = jg.matmul(x, self.kernel)
        b = self._input_bias()
        return y if b is None else y + b

    def call(self, inputs, states, training=None):
        single = not isinstance(states, (list, tuple))
        outside = all(m is None for m in self._masks)  # called directly, not by an RNN
        if outside:
            self._set_masks(inputs, training)
        try:
            out, new = self._step(self._project(inputs), _as_list(states))
        finally:
            if outside:
                self._masks = (None, None)
        return out, (new[0] if single and len(new) == 1 else new)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _ser(self.kernel_initializer),
                "recurrent_initializer": _ser(self.recurrent_initializer),
                "bias_initializer": _ser(self.bias_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "recurrent_regularizer": _ser(self.recurrent_regularizer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint),
                "recurrent_constraint": _ser(self.recurrent_constraint),
                "bias_constraint": _ser(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout}


class SimpleRNNCell(_Cell):
    """``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``."""

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)

    def _step(self, xz, states):
        h = self.activation(xz + jg.matmul(self._recurrent_input(states[0]),
                                           self.recurrent_kernel))
        return h, [h]


def lstm_gates(cell, z, c_prev):
    """An LSTM step from the summed pre-activations ``z`` (gates i, f, c, o along the last
    axis, Keras' order) and the previous carry: ``(h, [h, c])``. LSTMCell's and
    ConvLSTMCell's (a convolution makes their ``z``)."""
    zi, zf, zc, zo = jg.split(z, 4, axis=-1)
    act, rec = cell.activation, cell.recurrent_activation
    c = rec(zf) * c_prev + rec(zi) * act(zc)
    h = rec(zo) * act(c)
    return h, [h, c]


class LSTMCell(_Cell):
    """Gates i, f, c, o in blocks of ``units`` columns; state [h, c]. ``unit_forget_bias``
    starts the forget gate's bias at 1 (the other biases from ``bias_initializer``)."""

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, u = self.bias_initializer, self.units

        def forget_one(shape, dtype=None):
            return jg.concat([init((u,), dtype=dtype), jg.ones((u,), dtype=dtype),
                              init((2 * u,), dtype=dtype)], axis=0)

        return forget_one

    def _step(self, xz, states):
        h_prev, c_prev = states[0], states[1]
        z = xz + jg.matmul(self._recurrent_input(h_prev), self.recurrent_kernel)
        return lstm_gates(self, z, c_prev)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """Gates z (update), r (reset), h (candidate); ``h = z * h_prev + (1 - z) * hh``.
    ``reset_after=True`` (TF2's default, cuDNN's form) applies the reset gate after the
    recurrent matmul and keeps separate input and recurrent biases (``bias`` [2, 3u])."""

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, reset_after=True, **kwargs):
        super().__init__(units, activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        n = 3 * self.units
        return (2, n) if self.reset_after else (n,)

    def _input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def _step(self, xz, states):
        h_prev, u = states[0], self.units
        h_rec = self._recurrent_input(h_prev)
        xz_z, xz_r, xz_h = jg.split(xz, 3, axis=-1)
        rec, act = self.recurrent_activation, self.activation
        if self.reset_after:
            inner = jg.matmul(h_rec, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            rz, rr, rh = jg.split(inner, 3, axis=-1)
            z, r = rec(xz_z + rz), rec(xz_r + rr)
            hh = act(xz_h + r * rh)
        else:
            rzr = jg.matmul(h_rec, self.recurrent_kernel[:, :2 * u])
            rz, rr = jg.split(rzr, 2, axis=-1)
            z, r = rec(xz_z + rz), rec(xz_r + rr)
            hh = act(xz_h + jg.matmul(r * h_rec, self.recurrent_kernel[:, 2 * u:]))
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


def _state_sizes(cell):
    return [int(s) for s in _as_list(cell.state_size)]


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else _state_sizes(cell)[0]


def _call_cell(cell, x, states, training):
    """One step of any cell: ``cell.call(x, states) -> (output, new_states)``."""
    if isinstance(cell, _Cell):
        return cell._step(cell._project(x), states)
    kwargs = {"training": training} if "training" in inspect.signature(cell.call).parameters \
        else {}
    out, new = cell.call(x, list(states), **kwargs)
    return out, _as_list(new)


class StackedRNNCells(Layer):
    """Cells run one after another within each time step; the state is every cell's
    states in order (``[h1, c1, h2, c2]`` for two LSTM cells)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**_named(type(self), kwargs))
        self.cells = list(cells)
        for c in self.cells:
            _check_cell(c)

    @property
    def state_size(self):
        return [s for c in self.cells for s in _state_sizes(c)]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def build(self, input_shape):
        dim = input_shape[-1]
        for c in self.cells:
            if not c.built:
                c.build(jg.TensorShape((input_shape[0], dim)))
                c.built = True
            dim = _output_size(c)
        self.built = True

    def call(self, inputs, states, training=None):
        states, x, new = list(states), inputs, []
        for c in self.cells:
            n = len(_state_sizes(c))
            x, s = _call_cell(c, x, states[:n], training)
            states, new = states[n:], new + s
        return x, new

    def get_config(self):
        return {**super().get_config(), "cells": [_ser(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .layers import deserialize

        config = dict(config)
        config["cells"] = [deserialize(c, custom_objects) for c in config["cells"]]
        return cls(**config)


def _check_cell(cell):
    if not (hasattr(cell, "call") and hasattr(cell, "state_size")):
        raise ValueError(f"RNN: a cell needs a call(inputs, states) method and a state_size "
                         f"attribute; got {cell!r}")


def _dropout_mask(like, width, rate):
    """[batch, width]: 0 with probability ``rate``, else 1 / (1 - rate)."""
    rows = _zeros(like, width, like.dtype)
    shape = tuple(rows.shape) if rows.shape[0] is not None else jg.shape(rows)
    keep = jg.random.uniform(shape, dtype=like.dtype) >= rate
    return jg.cast(keep, like.dtype) / (1.0 - rate)


def _cells(cell):
    return [c for c in getattr(cell, "cells", [cell]) if isinstance(c, _Cell)]


# ----------------------------------------------------------------------------- the time loop
def _project_first(cell, x, unroll):
    """Whether to project all steps with one GEMM before the loop. A while loop reading step
    t of a captured sequence gets, per step, a gradient of the whole sequence's shape, so it
    should read the narrower of the raw input and the projection (gates * units wide)."""
    if not isinstance(cell, _Cell):
        return False
    return unroll or x.shape[2] is None or x.shape[2] >= cell.kernel.shape[1]


def _zeros(like, size, dtype):
    """Zeros [batch, size] with like's batch dim, which may be unknown while tracing."""
    if like.shape[0] is not None:
        return jg.zeros((like.shape[0], size), dtype=dtype)
    return jg.zeros_like(like[:, :1]) + jg.zeros((size,), dtype=dtype)


def _time_major_masks(mask, widths):
    """The (batch, time) mask as (time, batch, 1) bools, for every state/output width: a
    step's (batch, 1) condition broadcasts in the select's kernel, which loads it once per
    row and stays vectorized (codegen/loops.py, invariant_loads)."""
    ms = jg.expand_dims(jg.transpose(mask, (1, 0)), -1)
    return {w: ms for w in sorted(set(widths))}


def _masked_step(out, new, last, states, mask_of, zero_output):
    """A step under its mask (``mask_of(width)``: (batch, width) bools): masked rows keep
    their states and output the previous output (or zeros, with ``zero_output``;
    ``zero_output=None``: the output is the first state, and the previous output is the
    previous first state, so the masked state is the masked output and one select serves
    both)."""
    kept = [jg.where(mask_of(n.shape[-1]), n, s) for n, s in zip(new, states, strict=True)]
    if zero_output is None and out is new[0]:
        return kept[0], kept
    fill = jg.zeros_like(out) if zero_output else last
    return jg.where(mask_of(out.shape[-1]), out, fill), kept


def _widths(states, out_size):
    return [int(s.shape[-1]) for s in states] + [out_size]


def _unrolled(step, seq, states, collect, out_size, mask=None, zero_output=False):
    outs = []
    steps = seq.shape[1]
    per_step = [None] * steps
    if mask is not None:
        full = {w: jg.unstack(m, axis=0)
                for w, m in _time_major_masks(mask, _widths(states, out_size)).items()}
        per_step = [{w: full[w][t] for w in full} for t in range(steps)]
    last = _zeros(seq[:, 0], out_size, seq.dtype)
    for x_t, m_t in zip(jg.unstack(seq, axis=1), per_step, strict=True):
        out, new = step(x_t, states)
        if m_t is not None:
            out, new = _masked_step(out, new, last, states, m_t.__getitem__, zero_output)
        outs.append(out)
        last, states = out, new
    return outs[-1], jg.stack(outs, axis=1) if collect else None, states


def _looped(step, seq, states, collect, out_size, mask=None, zero_output=False):
    """The steps as one ``jg.while_loop``; per-step outputs go into a [time, batch, out]
    buffer (one row written per step). A mask (batch, time) is read one step at a time."""
    xs = jg.transpose(seq, (1, 0, 2))
    full = None if mask is None else _time_major_masks(mask, _widths(states, out_size))
    steps = seq.shape[1] if seq.shape[1] is not None else jg.shape(seq)[1]
    last = _zeros(xs[0], out_size, seq.dtype)
    loop_vars = [jg.constant(0), last, list(states)]
    if collect:
        loop_vars.append(jg.zeros_like(xs[:, :, :1]) + jg.zeros((out_size,), dtype=seq.dtype))

    def body(t, last, states, *buf):
        out, new = step(jg.gather(xs, t), states)
        if full is not None:
            out, new = _masked_step(out, new, last, states,
                                    lambda w: jg.gather(full[w], t), zero_output)
        if collect:
            buf = (jg.tensor_scatter_nd_update(buf[0], jg.reshape(t, (1, 1)),
                                               jg.expand_dims(out, 0)),)
        return [t + 1, out, list(new), *buf]

    result = jg.while_loop(lambda t, *_: t < steps, body, loop_vars)
    outputs = jg.transpose(result[3], (1, 0, 2)) if collect else None
    return result[1], outputs, result[2]


# ----------------------------------------------------------------------------- RNN layers
class RNN(Layer):
    """Runs ``cell`` over the time axis of a [batch, timesteps, features] input. A list of
    cells is stacked (``StackedRNNCells``). Call with ``initial_state=[...]`` to start from
    given states (default zeros).

    >>> rnn = jg.keras.layers.RNN(jg.keras.layers.LSTMCell(8), return_sequences=True)
    >>> rnn(jg.ones((2, 5, 3))).shape   # (2, 5, 8)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, time_major=False, zero_output_for_mask=False,
                 **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell)
        super().__init__(**_named(type(self), kwargs))
        if stateful:
            raise NotImplementedError(f"{type(self).__name__}: stateful=True is not "
                                      "supported; pass the last states as initial_state")
        if time_major:
            raise NotImplementedError(f"{type(self).__name__}: time_major=True is not "
                                      "supported; transpose the inputs to [batch, time, "
                                      "features]")
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        self.stateful, self.time_major = False, False
        self.zero_output_for_mask = bool(zero_output_for_mask)

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """The input's mask for the output sequence (none for the last output or states)."""
        mask = flatten(mask)[0] if isinstance(mask, (list, tuple)) else mask
        out = mask if self.return_sequences else None
        return [out] + [None] * len(_state_sizes(self.cell)) if self.return_state else out

    @property
    def states(self):
        return [None] * len(_state_sizes(self.cell))

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        if initial_state is not None:  # states travel as inputs, so functional models see them
            inputs = [inputs] + _as_list(initial_state)
        return super().__call__(inputs, *args, **kwargs)

    def _check_input(self, shape):
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: expects a 3-D input (batch, "
                f"timesteps, features), got shape {_shape_text(shape)}. For a single time "
                "step add a time axis (jg.expand_dims(x, 1)); for longer samples reshape to "
                "(batch, timesteps, features)")
        built = getattr(self, "_input_dim", None)
        if built is not None and shape[2] is not None and shape[2] != built:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: was built for "
                             f"{built} features but got input of shape {_shape_text(shape)}")

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self._check_input(input_shape)
        if not self.cell.built:
            self.cell.build(jg.TensorShape((input_shape[0], input_shape[2])))
            self.cell.built = True
        self._input_dim = input_shape[2]
        self.built = True

    def _initial_states(self, x, given):
        sizes = _state_sizes(self.cell)
        if not given:
            return [_zeros(x[:, 0], s, x.dtype) for s in sizes]
        if len(given) != len(sizes):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: initial_state has {len(given)} "
                f"tensor(s) but the layer has {len(sizes)} state(s) of sizes {sizes}; pass a "
                f"list of {len(sizes)} tensors of shapes "
                + ", ".join(f"(batch, {s})" for s in sizes))
        out, batch = [], x.shape[0]
        for k, (s, size) in enumerate(zip(given, sizes, strict=True)):
            s = self._autocast(s, self._dtype)
            shape = tuple(s.shape)
            if len(shape) != 2 or shape[1] != size or None not in (batch, shape[0]) \
                    and shape[0] != batch:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: initial_state[{k}] has shape "
                    f"{_shape_text(shape)} but must have shape "
                    f"({'batch' if batch is None else batch}, {size}) for inputs of shape "
                    f"{_shape_text(x.shape)}: one row per sample, one column per unit")
            out.append(s)
        return out

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, given = inputs[0], list(inputs[1:])
        else:
            given = [] if initial_state is None else _as_list(initial_state)
        x = jg.convert_to_tensor(inputs)
        self._check_input(x.shape)
        states = self._initial_states(x, given)
        if isinstance(mask, (list, tuple)):  # the masks of [inputs, *initial_state]
            mask = flatten(mask)[0]
        if mask is not None:
            mask = check_mask(self, mask, x)
        if self.go_backwards:
            x = jg.reverse(x, [1])
            mask = None if mask is None else jg.reverse(mask, [1])
        cells = _cells(self.cell)
        for c in cells:
            c._set_masks(x[:, 0], training)
        try:
            return self._run(x, states, training, mask, zero_states=not given)
        finally:
            for c in cells:
                c._masks = (None, None)

    def _run(self, x, states, training=None, mask=None, zero_states=True):
        cell = self.cell
        if _project_first(cell, x, self.unroll):
            seq = cell._project(x)

            def step(x_t, s):
                return cell._step(x_t, s)
        else:
            seq = x

            def step(x_t, s):
                return _call_cell(cell, x_t, s, training)
        # the previous output starts as zeros (Keras); so does the first state unless given,
        # and then a masked output is the masked first state
        zero_output = self.zero_output_for_mask or (None if zero_states else False)
        if self.unroll:
            if x.shape[1] is None:
                raise ValueError(f"{type(self).__name__} layer {self.name!r}: unroll=True "
                                 "needs a known number of timesteps; give the input a fixed "
                                 "time dimension or use unroll=False")
            last, outputs, states = _unrolled(step, seq, states, self.return_sequences,
                                              _output_size(cell), mask, zero_output)
        else:
            last, outputs, states = _looped(step, seq, states, self.return_sequences,
                                            _output_size(cell), mask, zero_output)
        output = outputs if self.return_sequences else last
        return [output] + list(states) if self.return_state else output

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        b, t = tuple(input_shape)[:2]
        o = _output_size(self.cell)
        out = jg.TensorShape((b, t, o) if self.return_sequences else (b, o))
        if not self.return_state:
            return out
        return [out] + [jg.TensorShape((b, s)) for s in _state_sizes(self.cell)]

    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "time_major": self.time_major,
                "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        return {**Layer.get_config(self), "cell": _ser(self.cell), **self._rnn_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .layers import deserialize

        config = dict(config)
        config["cell"] = deserialize(config["cell"], custom_objects)
        return cls(**config)


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
             "time_major", "name", "trainable", "dtype", "input_shape", "input_dim",
             "batch_input_shape", "batch_size", "activity_regularizer", "input_length",
             "zero_output_for_mask")


class _CellRNN(RNN):
    """A layer over one built-in cell, taking the cell's arguments (SimpleRNN, LSTM, GRU)."""

    _cell_class = None

    def __init__(self, units, **kwargs):
        layer_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS}
        cell = self._cell_class(units, dtype=layer_kw.get("dtype"),
                                trainable=layer_kw.get("trainable", True), **kwargs)
        super().__init__(cell, **layer_kw)

    def __getattr__(self, name):  # units, activation, kernel, ...: the cell's
        if name.startswith("_") or "cell" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["cell"], name)

    def get_config(self):
        cell = {k: v for k, v in self.cell.get_config().items()
                if k not in ("name", "trainable", "dtype")}
        return {**Layer.get_config(self), **cell, **self._rnn_config(),
                "activity_regularizer": _ser(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class SimpleRNN(_CellRNN):
    """A fully connected RNN: ``SimpleRNN(units, activation="tanh", return_sequences=False,
    ...)``; the arguments of SimpleRNNCell and RNN."""

    _cell_class = SimpleRNNCell


class LSTM(_CellRNN):
    """Long short-term memory: ``LSTM(units, activation="tanh",
    recurrent_activation="sigmoid", unit_forget_bias=True, return_sequences=False,
    return_state=False, go_backwards=False, unroll=False, ...)``; states [h, c]."""

    _cell_class = LSTMCell


class GRU(_CellRNN):
    """Gated recurrent unit: ``GRU(units, reset_after=True, ...)``; the arguments of GRUCell
    and RNN."""

    _cell_class = GRUCell


# ----------------------------------------------------------------------------- wrappers
def _clone(layer, **changes):
    return type(layer).from_config({**layer.get_config(), **changes})


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards and merges the outputs:
    ``merge_mode`` "concat" (default), "sum", "mul", "ave", or None (a list of both). With
    ``return_state`` the forward states follow the outputs, then the backward states."""

    _MERGES = {"concat": lambda a, b: jg.concat([a, b], axis=-1), "sum": lambda a, b: a + b,
               "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) / 2.0, None: None}

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional: needs a recurrent layer (RNN, LSTM, GRU, "
                             f"SimpleRNN), got {layer!r}")
        if merge_mode not in self._MERGES:
            raise ValueError(f"Bidirectional: merge_mode must be one of 'concat', 'sum', "
                             f"'mul', 'ave' or None, got {merge_mode!r}")
        if weights is not None:
            raise NotImplementedError("Bidirectional: weights= is not supported; call "
                                      "set_weights after the layer is built")
        super().__init__(**_named(type(self), kwargs))
        self.forward_layer = _clone(layer, name="forward_" + layer.name)
        self._custom_backward = backward_layer is not None
        if backward_layer is None:
            backward_layer = _clone(layer, name="backward_" + layer.name,
                                    go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        for sub in (self.forward_layer, self.backward_layer):  # as tf.keras: masked steps
            sub.zero_output_for_mask = sub.return_sequences    # output zeros in both halves
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        if initial_state is not None:
            inputs = [inputs] + _as_list(initial_state)
        return super().__call__(inputs, *args, **kwargs)

    def build(self, input_shape):
        self.built = True

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        mask = flatten(mask)[0] if isinstance(mask, (list, tuple)) else mask
        if self.return_sequences:
            out = [mask, mask] if self.merge_mode is None else [mask]
        else:
            out = [None, None] if self.merge_mode is None else [None]
        if self.return_state:
            out = out + [None] * (2 * len(_state_sizes(self.forward_layer.cell)))
        return out if len(out) > 1 else out[0]

    def call(self, inputs, mask=None, training=None):
        states = []
        if isinstance(inputs, (list, tuple)):
            inputs, states = inputs[0], list(inputs[1:])
        if isinstance(mask, (list, tuple)):
            mask = flatten(mask)[0]
        half = len(states) // 2
        kw = {} if training is None else {"training": training}
        if mask is not None:
            kw["mask"] = mask
        fw = self.forward_layer(inputs, initial_state=states[:half] or None, **kw)
        bw = self.backward_layer(inputs, initial_state=states[half:] or None, **kw)
        fw_states, bw_states = [], []
        if self.return_state:
            fw, fw_states, bw, bw_states = fw[0], fw[1:], bw[0], bw[1:]
        if self.return_sequences:
            bw = jg.reverse(bw, [1])
        merge = self._MERGES[self.merge_mode]
        out = [fw, bw] if merge is None else [merge(fw, bw)]
        if self.return_state:
            return out + list(fw_states) + list(bw_states)
        return out if merge is None else out[0]

    def compute_output_shape(self, input_shape):
        fw = self.forward_layer.compute_output_shape(input_shape)
        fw_out, states = (fw[0], fw[1:]) if self.return_state else (fw, [])
        if self.merge_mode == "concat":
            fw_out = jg.TensorShape(tuple(fw_out)[:-1] + (2 * tuple(fw_out)[-1],))
        out = [fw_out, fw_out] if self.merge_mode is None else [fw_out]
        if self.return_state:
            return out + states + states
        return out if self.merge_mode is None else out[0]

    def get_config(self):
        inner = _ser(self.forward_layer)
        inner["config"]["name"] = self.forward_layer.name[len("forward_"):]
        cfg = {**Layer.get_config(self), "merge_mode": self.merge_mode, "layer": inner}
        if self._custom_backward:
            cfg["backward_layer"] = _ser(self.backward_layer)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .layers import deserialize

        config = dict(config)
        config["layer"] = deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: [batch, time, ...] -> [batch, time, ...out]."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: needs a Layer, got {layer!r}")
        super().__init__(**_named(type(self), kwargs))
        self.layer = layer

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed layer {self.name!r}: expects an input of rank "
                             f">= 3 (batch, time, ...), got shape {_shape_text(shape)}")
        self.built = True

    supports_masking = True

    def call(self, inputs, training=None, mask=None):
        x = jg.convert_to_tensor(inputs)
        shape = tuple(x.shape)
        if None in shape[1:]:
            raise ValueError(f"TimeDistributed layer {self.name!r}: all dimensions but the "
                             f"batch must be known, got input shape {_shape_text(shape)}")
        kw = {} if training is None else {"training": training}
        if mask is not None:
            mask = check_mask(self, mask, x)
            if "mask" in inspect.signature(self.layer.call).parameters:
                kw["mask"] = jg.reshape(mask, (-1,))  # one mask entry per (sample, step)
        y = self.layer(jg.reshape(x, (-1,) + shape[2:]), **kw)
        return jg.reshape(y, (-1, shape[1]) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        inner = self.layer.compute_output_shape(jg.TensorShape((None,) + shape[2:]))
        return jg.TensorShape(shape[:2] + tuple(inner)[1:])

    def get_config(self):
        return {**Layer.get_config(self), "layer": _ser(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .layers import deserialize

        config = dict(config)
        config["layer"] = deserialize(config["layer"], custom_objects)
        return cls(**config)


CLASSES = [SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, RNN, SimpleRNN, LSTM, GRU,
           Bidirectional, TimeDistributed]

__all__ = [c.__name__ for c in CLASSES]
