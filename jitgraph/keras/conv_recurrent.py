"""Convolutional LSTM layers: ``ConvLSTM1D``, ``ConvLSTM2D``, ``ConvLSTM3D`` and their cell
``ConvLSTMCell``, with Keras' arguments, weight names, shapes and gate order, so weights copied
from tf.keras give the same outputs.

An LSTM whose matmuls are convolutions: the input of a step is (batch, spatial..., channels),
the states h and c are (batch, out_spatial..., filters). ``kernel`` is ``kernel_size + (in,
4 * filters)`` and ``recurrent_kernel`` ``kernel_size + (filters, 4 * filters)`` with the gates
i, f, c, o in blocks of ``filters`` output channels; ``bias`` is ``(4 * filters,)``. The input
convolution uses ``strides``, ``padding`` and ``dilation_rate``; the recurrent one strides 1,
"same" padding and no dilation (as Keras). All four gates are one convolution each for the
input and the state.

The time loop is the RNN layer's (recurrent.py): a ``jg.while_loop`` over the steps that
compiles to one native loop inside ``jg.function`` (``unroll=True``: a Python loop). The
input convolution of all steps is done before the loop (one convolution over batch * time
images) when unrolled or when a step's input is at least as large as its gate projection,
for the reason recurrent.py gives for LSTM's projection.

``dropout``/``recurrent_dropout`` (training only): one mask per call for the step input and
one for h, shared by the gates and the steps (Keras draws one per gate; random draws cannot
match TensorFlow's anyway). Masks over the time axis keep the states of masked steps, as the
RNN layers do. Channels last only; ``stateful=True`` raises as in the other RNN layers.

>>> layer = jg.keras.layers.ConvLSTM2D(8, 3, padding="same", return_sequences=True)
>>> layer(jg.ones((2, 5, 16, 16, 3))).shape   # (2, 5, 16, 16, 8)
"""

import numpy as np

import jitgraph as jg

from . import activations
from .conv_layers import _channels_last, _out_length, _padding, _tuple
from .recurrent import _RNN_ARGS, RNN, LSTMCell, _Cell, _CellRNN, _shape_text, lstm_gates

_CONVS = {1: lambda x, w, s, p, d: jg.nn.conv1d(x, w, s[0], p, dilations=d[0]),
          2: lambda x, w, s, p, d: jg.nn.conv2d(x, w, s, p, dilations=d),
          3: lambda x, w, s, p, d: jg.nn.conv3d(x, w, s, p, dilations=d)}
_LAYOUTS = {1: "(batch, time, steps, channels)", 2: "(batch, time, rows, cols, channels)",
            3: "(batch, time, depth, rows, cols, channels)"}


class ConvLSTMCell(_Cell):
    """One step of a convolutional LSTM over (batch, spatial..., channels) inputs with states
    ``[h, c]`` of shape (batch, out_spatial..., filters). ``rank`` is 1, 2 or 3."""

    _gates = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True, unit_forget_bias=True,
                 seed=None, **kwargs):
        who = f"ConvLSTM{rank}D" if rank in _CONVS else "ConvLSTMCell"
        if rank not in _CONVS:
            raise ValueError(f"ConvLSTMCell: rank must be 1, 2 or 3, got {rank!r}")
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) \
                or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        for arg in ("dropout", "recurrent_dropout"):  # checked here to name the layer
            rate = kwargs.get(arg, 0.0)
            if not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{who}: {arg} must be in [0, 1), got {rate!r}")
        super().__init__(int(filters), activation=activation,
                         recurrent_activation=recurrent_activation, use_bias=use_bias,
                         **kwargs)
        self.rank, self.filters, self.seed = int(rank), int(filters), seed
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size", who)
        self.strides = _tuple(strides, rank, "strides", who)
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate", who)
        self.padding = _padding(padding, ("valid", "same"), who)
        self.data_format = _channels_last(data_format, who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 together with dilation_rate > 1 is not "
                             f"supported (strides={self.strides}, dilation_rate="
                             f"{self.dilation_rate}); use one or the other")
        self.unit_forget_bias = bool(unit_forget_bias)
        self._spatial = None  # the step input's spatial dims, set by build

    @property
    def state_size(self):
        return [self.filters, self.filters]

    _bias_init = LSTMCell._bias_init  # unit_forget_bias: LSTM's rule, per filter

    def build(self, input_shape):
        shape = tuple(input_shape)
        who = f"ConvLSTMCell {self.name!r}"
        if len(shape) != self.rank + 2 or None in shape[1:]:
            raise ValueError(f"{who}: a step's input must be (batch, spatial..., channels) "
                             f"with {self.rank} known spatial dims and known channels, got "
                             f"shape {_shape_text(shape)}")
        self._spatial = tuple(int(d) for d in shape[1:-1])
        out = self.output_spatial()
        if any(d <= 0 for d in out):
            raise ValueError(f"{who}: kernel_size {self.kernel_size} (dilation_rate "
                             f"{self.dilation_rate}) is larger than the input's spatial dims "
                             f"{self._spatial} with padding='valid'; use padding='same' or a "
                             "smaller kernel")
        n = 4 * self.filters
        self.kernel = self.add_weight("kernel", self.kernel_size + (int(shape[-1]), n),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel",
                                                self.kernel_size + (self.filters, n),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (n,), initializer=self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def output_spatial(self):
        """The spatial dims of h and c (those of the input convolution's output)."""
        return tuple(_out_length(d, k, self.padding, s, dl) for d, k, s, dl in zip(
            self._spatial, self.kernel_size, self.strides, self.dilation_rate))

    def state_zeros(self, like):
        """Zeros of a state's shape, (batch, out_spatial..., filters), with ``like``'s
        batch (``like``: a step input, whose batch may be unknown while tracing)."""
        shape = self.output_spatial() + (self.filters,)
        if like.shape[0] is not None:
            return jg.zeros((like.shape[0],) + shape, dtype=like.dtype)
        ones = (slice(None),) + (slice(0, 1),) * (self.rank + 1)
        return jg.zeros_like(like[ones]) + jg.zeros(shape, dtype=like.dtype)

    def _set_masks(self, like, training):
        """This call's dropout masks (training only): one of a step input's shape, one of
        h's; 0 with probability ``rate``, else ``1 / (1 - rate)``."""
        def draw(base, rate, k):
            shape = tuple(base.shape) if base.shape[0] is not None else jg.shape(base)
            seed = None if self.seed is None else self.seed + k
            keep = jg.random.uniform(shape, dtype=like.dtype, seed=seed) >= rate
            return jg.cast(keep, like.dtype) / (1.0 - rate)

        on = bool(training)
        self._masks = (draw(like, self.dropout, 0) if on and self.dropout else None,
                       draw(self.state_zeros(like), self.recurrent_dropout, 1)
                       if on and self.recurrent_dropout else None)

    def _conv(self, x, kernel, strides, padding, dilations):
        return _CONVS[self.rank](x, kernel, strides, padding.upper(), dilations)

    def _project(self, x):
        """The input convolution of all gates plus the bias, on one step (batch, spatial...,
        channels) or on all steps (batch, time, spatial..., channels)."""
        steps = len(x.shape) == self.rank + 3
        if self._masks[0] is not None:
            x = x * (jg.expand_dims(self._masks[0], 1) if steps else self._masks[0])
        if steps:
            t = x.shape[1]
            y = self._conv(jg.reshape(x, (-1,) + tuple(x.shape[2:])), self.kernel,
                           self.strides, self.padding, self.dilation_rate)
            y = jg.reshape(y, (-1, t) + tuple(y.shape[1:]))
        else:
            y = self._conv(x, self.kernel, self.strides, self.padding, self.dilation_rate)
        return y if self.bias is None else y + self.bias

    def _step(self, xz, states):
        h_prev, c_prev = states[0], states[1]
        ones = (1,) * self.rank
        z = xz + self._conv(self._recurrent_input(h_prev), self.recurrent_kernel, ones,
                            "same", ones)
        return lstm_gates(self, z, c_prev)

    def get_config(self):
        cfg = {k: v for k, v in super().get_config().items() if k != "units"}
        return {**cfg, "rank": self.rank, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, "seed": self.seed}


class _ConvLSTM(_CellRNN):
    """The RNN layer over a ConvLSTMCell of rank ``_rank``: inputs (batch, time, spatial...,
    channels); output (batch, [time,] out_spatial..., filters)."""

    _rank = 2

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("rank", None)  # from get_config: the class says it
        layer_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS}
        cell = ConvLSTMCell(self._rank, filters, kernel_size, dtype=layer_kw.get("dtype"),
                            trainable=layer_kw.get("trainable", True), **kwargs)
        RNN.__init__(self, cell, **layer_kw)

    def _check_input(self, shape):
        shape, r = tuple(shape), self._rank
        who = f"{type(self).__name__} layer {self.name!r}"
        if len(shape) != r + 3:
            raise ValueError(f"{who}: expects a {r + 3}-D input {_LAYOUTS[r]}, got shape "
                             f"{_shape_text(shape)}; for a single frame add a time axis "
                             "(jg.expand_dims(x, 1))")
        if None in shape[2:]:
            raise ValueError(f"{who}: the spatial dims and channels of its input must be "
                             f"known, got shape {_shape_text(shape)}")
        built = getattr(self, "_input_dims", None)
        if built is not None and tuple(shape[2:]) != built:
            raise ValueError(f"{who}: was built for steps of shape {_shape_text(built)} "
                             f"(spatial..., channels) but got input of shape "
                             f"{_shape_text(shape)}; create a new layer for other sizes")

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        shape = tuple(input_shape)
        self._check_input(shape)
        out = _list(self.compute_output_shape(shape))[0]
        if any(d <= 0 for d in tuple(out)[-1 - self._rank:-1]):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: kernel_size "
                f"{self.cell.kernel_size} (dilation_rate {self.cell.dilation_rate}) is larger "
                f"than its input's spatial dims {tuple(shape[2:-1])} with padding='valid'; "
                "use padding='same' or a smaller kernel")
        if not self.cell.built:
            self.cell.build(jg.TensorShape((shape[0],) + shape[2:]))
        self._input_dims = tuple(shape[2:])
        self.built = True

    def _initial_states(self, x, given):
        like = x[:, 0]
        if not given:
            return [self.cell.state_zeros(like) for _ in range(2)]
        want = self.cell.output_spatial() + (self.cell.filters,)
        if len(given) != 2:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: initial_state has "
                             f"{len(given)} tensor(s); pass [h, c], two tensors of shape "
                             f"(batch,) + {want}")
        out = []
        for k, s in enumerate(given):
            s = self._autocast(s, self._dtype)
            shape = tuple(s.shape)
            if shape[1:] != want or None not in (shape[0], x.shape[0]) \
                    and shape[0] != x.shape[0]:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: initial_state[{k}] has "
                    f"shape {_shape_text(shape)} but must have shape "
                    f"{_shape_text((x.shape[0],) + want)} for inputs of shape "
                    f"{_shape_text(x.shape)}: (batch, out_spatial..., filters)")
            out.append(s)
        return out

    def _run(self, x, states, training=None, mask=None, zero_states=True):
        cell = self.cell
        if self.unroll and x.shape[1] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: unroll=True needs "
                             "a known number of timesteps; give the input a fixed time "
                             "dimension or use unroll=False")
        out_elems = int(np.prod(cell.output_spatial())) * 4 * cell.filters
        first = x.shape[1] is not None and (
            self.unroll or int(np.prod(x.shape[2:])) >= out_elems)
        seq = cell._project(x) if first else x

        def step(x_t, s):
            return cell._step(x_t if first else cell._project(x_t), s)

        run = _unrolled if self.unroll else _looped
        last, outputs, states = run(step, seq, states, self.return_sequences, mask,
                                    self.zero_output_for_mask)
        output = outputs if self.return_sequences else last
        return [output] + list(states) if self.return_state else output

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        shape = tuple(input_shape)
        b, t = shape[:2]
        spatial = tuple(_out_length(d, k, self.cell.padding, s, dl) for d, k, s, dl in zip(
            shape[2:-1], self.cell.kernel_size, self.cell.strides, self.cell.dilation_rate))
        state = jg.TensorShape((b,) + spatial + (self.cell.filters,))
        out = jg.TensorShape((b, t) + tuple(state)[1:]) if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("rank", None)
        return cfg


def _list(y):
    return list(y) if isinstance(y, list) else [y]


def _keep(mask_t, new, old):
    """``new`` where the step's (batch,) mask is set, else ``old``."""
    m = jg.reshape(mask_t, (-1,) + (1,) * (len(new.shape) - 1))
    return jg.where(m, new, old)


def _masked(mask_t, out, new, last, states, zero_output):
    """A masked step keeps the states and outputs the last output (zeros with
    ``zero_output``, as Bidirectional asks when returning sequences)."""
    out = _keep(mask_t, out, jg.zeros_like(out) if zero_output else last)
    return out, [_keep(mask_t, n, s) for n, s in zip(new, states, strict=True)]


def _unrolled(step, seq, states, collect, mask, zero_output):
    outs, last = [], jg.zeros_like(states[0])
    for t, x_t in enumerate(jg.unstack(seq, axis=1)):
        out, new = step(x_t, states)
        if mask is not None:
            out, new = _masked(mask[:, t], out, new, last, states, zero_output)
        outs.append(out)
        last, states = out, new
    return last, jg.stack(outs, axis=1) if collect else None, states


def _looped(step, seq, states, collect, mask, zero_output):
    """The steps as one ``jg.while_loop``; outputs go into a (time, batch, ...) buffer."""
    perm = (1, 0) + tuple(range(2, len(seq.shape)))
    xs = jg.transpose(seq, perm)
    ms = None if mask is None else jg.transpose(mask, (1, 0))
    steps = seq.shape[1] if seq.shape[1] is not None else jg.shape(seq)[1]
    last = jg.zeros_like(states[0])
    loop_vars = [jg.constant(0), last, list(states)]
    if collect:
        ones = (slice(None),) + (slice(0, 1),) * (len(xs.shape) - 1)  # (time, 1, ..., 1)
        loop_vars.append(jg.zeros_like(xs[ones]) + jg.expand_dims(last, 0))

    def body(t, last, states, *buf):
        out, new = step(jg.gather(xs, t), states)
        if ms is not None:
            out, new = _masked(jg.gather(ms, t), out, new, last, states, zero_output)
        if collect:
            buf = (jg.tensor_scatter_nd_update(buf[0], jg.reshape(t, (1, 1)),
                                               jg.expand_dims(out, 0)),)
        return [t + 1, out, list(new), *buf]

    result = jg.while_loop(lambda t, *_: t < steps, body, loop_vars)
    outputs = jg.transpose(result[3], perm) if collect else None
    return result[1], outputs, result[2]


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels): ``ConvLSTM1D(filters,
    kernel_size, strides=1, padding="valid", dilation_rate=1, activation="tanh",
    recurrent_activation="sigmoid", return_sequences=False, return_state=False,
    go_backwards=False, unroll=False, dropout=0.0, recurrent_dropout=0.0, ...)``."""

    _rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels); the arguments of
    ConvLSTM1D."""

    _rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over (batch, time, depth, rows, cols, channels); the arguments
    of ConvLSTM1D."""

    _rank = 3


CLASSES = [ConvLSTM1D, ConvLSTM2D, ConvLSTM3D]

__all__ = [c.__name__ for c in CLASSES]

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in CLASSES})  # found by name on loading
