"""The functional API's symbols: ``Input`` gives a KerasTensor (a shape and dtype with no
value); calling a layer on KerasTensors records a Node and returns new KerasTensors, and
``Model(inputs, outputs)`` replays the recorded nodes on real data. KerasTensors may be any
of a call's arguments (``MultiHeadAttention()(query, value, attention_mask=mask)``).

Output shapes are found by running the layer once on zeros (batch size 1), which also
builds it; the batch dimension of the result is reported as None.

>>> x = jg.keras.Input(shape=(8,))
>>> y = jg.keras.layers.Dense(1)(jg.keras.layers.Dense(30, activation="relu")(x))
>>> model = jg.keras.Model(inputs=x, outputs=y)
"""

import numpy as np

import jitgraph as jg
from jitgraph import errors

from .base_layer import Layer, flatten, map_structure


def _operator(name, reflected=False):
    """A KerasTensor operator method calling ``jg.keras.ops.<name>``."""
    def method(self, *other):
        from . import ops

        args = (other[0], self) if reflected else (self, *other)
        return getattr(ops, name)(*args)
    method.__name__ = name
    return method


class KerasTensor:
    """A symbolic input or output of a layer in a functional model."""

    def __init__(self, shape, dtype, layer, node_index, tensor_index, name=None):
        self.shape = jg.TensorShape(shape)
        self.dtype = jg.as_dtype(dtype)
        self._keras_history = (layer, node_index, tensor_index)
        self.name = name or layer.name

    @property
    def ndim(self):
        return len(self.shape)

    def __array__(self, *args, **kwargs):
        raise TypeError("a KerasTensor (from jg.keras.Input or a layer called on one) has no "
                        "value, and jitgraph ops cannot take it; use jg.keras.ops (they take "
                        "KerasTensors) or wrap the computation in a layer: "
                        "jg.keras.layers.Lambda(lambda x: ...)(keras_tensor)")

    # Python operators become keras.ops calls (each a Lambda layer of the model), as in
    # Keras 3: ``y = inputs * 2.0 + 1.0``, ``y[:, :2]``, ``-y``, ``a @ b``
    __add__ = _operator("add")
    __radd__ = _operator("add", reflected=True)
    __sub__ = _operator("subtract")
    __rsub__ = _operator("subtract", reflected=True)
    __mul__ = _operator("multiply")
    __rmul__ = _operator("multiply", reflected=True)
    __truediv__ = _operator("true_divide")
    __rtruediv__ = _operator("true_divide", reflected=True)
    __floordiv__ = _operator("floor_divide")
    __rfloordiv__ = _operator("floor_divide", reflected=True)
    __mod__ = _operator("mod")
    __rmod__ = _operator("mod", reflected=True)
    __pow__ = _operator("power")
    __rpow__ = _operator("power", reflected=True)
    __matmul__ = _operator("matmul")
    __rmatmul__ = _operator("matmul", reflected=True)
    __lt__ = _operator("less")
    __le__ = _operator("less_equal")
    __gt__ = _operator("greater")
    __ge__ = _operator("greater_equal")
    __and__ = _operator("logical_and")
    __or__ = _operator("logical_or")
    __xor__ = _operator("logical_xor")
    __neg__ = _operator("negative")
    __abs__ = _operator("absolute")
    __invert__ = _operator("logical_not")
    __getitem__ = _operator("get_item")

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} dtype={self.dtype.name} name={self.name!r}>"


class Node:
    """One call of a layer on KerasTensors: the arguments and the outputs."""

    def __init__(self, layer, args, kwargs, outputs, extra_args=()):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.extra_args = tuple(extra_args)  # positional arguments after the first

    def inbound_tensors(self):
        """The KerasTensors among all the call's arguments."""
        return [a for a in flatten([self.args, list(self.extra_args), self.kwargs])
                if isinstance(a, KerasTensor)]


def is_symbolic_input(inputs):
    return any(isinstance(x, KerasTensor) for x in flatten(inputs))


# a dim unknown when the model is built (not the batch) is probed at two sizes; larger pairs
# when a layer cannot take the smaller (a VALID window larger than what is left after pooling)
PROBE_SIZES = ((8, 16), (32, 64), (128, 256))


def _dummy(kt, size):
    """Zeros for ``kt``: batch 1, ``size`` for its other unknown dims; when the layer that
    made ``kt`` attached a mask, the zeros carry an all-True mask of the same rank (so a
    layer whose ``call`` takes ``mask`` sees one while the model is built, as in Keras)."""
    from . import masking

    shape = tuple((1 if k == 0 else size) if d is None else d for k, d in enumerate(kt.shape))
    x = jg.zeros(shape, dtype=kt.dtype)
    rank = getattr(kt, "_mask_rank", None)
    if rank is not None:
        masking.set_mask(x, jg.ones(shape[:rank], dtype=jg.bool))
    return x


def _mask_rank(t):
    """The rank of the mask on ``t`` when it covers ``t``'s leading dims, else None."""
    from . import masking

    mask = masking.get_mask(t) if jg.is_tensor(t) else None
    if mask is None or tuple(mask.shape) != tuple(t.shape)[:len(mask.shape)]:
        return None
    return len(mask.shape)


def _probe(call):
    """``call(size)``'s results at the first pair of PROBE_SIZES the layer accepts, and for
    each result leaf (by number) the dims that differ between the two sizes."""
    for k, (small, large) in enumerate(PROBE_SIZES):
        try:
            outputs, other = call(small), call(large)
        except (errors.InvalidArgumentError, ValueError):
            if k == len(PROBE_SIZES) - 1:
                raise
            continue
        return outputs, {j: {d for d, (m, n) in enumerate(zip(a.shape, b.shape)) if m != n}
                         for j, (a, b) in enumerate(zip(flatten(outputs), flatten(other),
                                                        strict=True))}


def call_layer_symbolically(layer, inputs, args, kwargs):
    """Calls ``layer`` on zeros standing for the KerasTensors among its arguments and
    records the call as a Node; returns KerasTensors for its results. A dim other than the
    batch that is unknown (``Input(shape=(None, None, 3))``, a sequence length) is probed at
    two sizes (PROBE_SIZES): result dims that differ between the two calls are unknown too,
    the others are what the layer makes of any size (a global pooling's, Dense's units)."""
    nodes = layer.__dict__.setdefault("_inbound_nodes", [])
    kts = [x for x in flatten([inputs, list(args), kwargs]) if isinstance(x, KerasTensor)]
    batch_unknown = any(isinstance(x, KerasTensor) and x.shape.rank and x.shape[0] is None
                        for x in flatten(inputs))
    varying = any(d is None for x in kts for d in tuple(x.shape)[1:])

    def call(size):
        def concrete(x):  # KerasTensors anywhere in the arguments become zeros
            return map_structure(lambda t: _dummy(t, size) if isinstance(t, KerasTensor)
                                 else t, x)

        with jg.init_scope():
            out = layer(concrete(inputs), *concrete(list(args)), **concrete(kwargs))
        layer._clear_losses()
        return out

    outputs, unknown = _probe(call) if varying else (call(1), {})
    index = len(nodes)
    counter = iter(range(10**9))

    def symbolic(t):
        k = next(counter)
        shape = tuple(None if d in unknown.get(k, ()) else n for d, n in enumerate(t.shape))
        if batch_unknown and shape:
            shape = (None,) + shape[1:]
        kt = KerasTensor(shape, t.dtype, layer, index, k)
        kt._mask_rank = _mask_rank(t)
        return kt

    outs = map_structure(symbolic, outputs)
    nodes.append(Node(layer, inputs, dict(kwargs), outs, extra_args=args))
    return outs


class InputLayer(Layer):
    """The layer behind ``Input``; as the first layer of a Sequential it sets the input
    shape."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, name=None,
                 batch_input_shape=None, **kwargs):
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer needs input_shape (or batch_input_shape)")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        if dtype is None:  # Keras: inputs are floatx whatever the global policy
            from .backend import floatx

            dtype = floatx()
        super().__init__(name=name or None, dtype=dtype, batch_input_shape=batch_input_shape,
                         **kwargs)
        self.built = True
        self._output_shape = (None,) + tuple(batch_input_shape)[1:]
        nodes = self.__dict__.setdefault("_inbound_nodes", [])
        kt = KerasTensor(batch_input_shape, self._dtype, self, 0, 0, name=self.name)
        nodes.append(Node(self, None, {}, kt))

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):  # noqa: N802
    """A symbolic input of a functional model: ``Input(shape=(8,))`` (batch dim None)."""
    if batch_shape is None:
        if shape is None:
            raise ValueError("Input needs shape= (the shape of one sample) or batch_shape=")
        batch_shape = (batch_size,) + tuple(shape)
    return InputLayer(batch_input_shape=batch_shape, dtype=dtype, name=name).output


def standardize_input(kt, value):
    """``value`` fed for the Input ``kt`` as Keras feeds it: converted to the Input's dtype
    (uint8 pixels into a float32 model), and its rank matched: one extra trailing axis of
    size 1 is squeezed, one missing trailing axis is added when the Input ends in 1 (a
    vector of features fed to ``Input(shape=(1,))``)."""
    from . import masking

    if value is None or not hasattr(value, "shape") or kt.shape.rank is None:
        return value
    if not jg.is_tensor(value):
        value = np.asarray(value)
        if value.dtype.kind in "iufb" and value.dtype != kt.dtype.as_numpy_dtype:
            value = value.astype(kt.dtype.as_numpy_dtype)
    elif value.dtype != kt.dtype and value.dtype.name != "string":
        mask = masking.get_mask(value)
        value = jg.cast(value, kt.dtype)
        masking.set_mask(value, mask)
    rank, ref = len(value.shape), kt.shape.as_list()
    if rank == len(ref) + 1 and value.shape[-1] == 1:
        return jg.squeeze(value, axis=-1)
    if rank == len(ref) - 1 and ref[-1] == 1:
        return jg.expand_dims(value, axis=-1)
    return value


def run_nodes(inputs_kt, outputs_kt, values, training):
    """Evaluates ``outputs_kt`` with ``values`` fed for ``inputs_kt`` by calling each
    recorded node's layer in creation order."""
    env = {id(k): standardize_input(k, v) for k, v in zip(flatten(inputs_kt),
                                                           flatten(values))}

    def resolve(x):
        if isinstance(x, KerasTensor):
            if id(x) not in env:
                raise ValueError(f"functional model: {x} is not computable from the model's "
                                 "inputs")
            return env[id(x)]
        return x

    for node in nodes_between(inputs_kt, outputs_kt):
        kwargs = map_structure(resolve, dict(node.kwargs))
        if training is not None:
            kwargs.setdefault("training", training)
        out = node.layer(map_structure(resolve, node.args),
                         *map_structure(resolve, list(node.extra_args)), **kwargs)
        for kt, v in zip(flatten(node.outputs), flatten(out)):
            env[id(kt)] = v
    return map_structure(resolve, outputs_kt)


def nodes_between(inputs_kt, outputs_kt):
    """The nodes needed for ``outputs_kt``, in an order where arguments come first."""
    stop = {id(k) for k in flatten(inputs_kt)}
    order, seen = [], set()

    def visit(kt):
        if id(kt) in stop:
            return
        layer, ni, _ = kt._keras_history
        node = layer._inbound_nodes[ni]
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.args is None:
            raise ValueError(f"functional model: {kt} comes from an Input that is not among "
                             "the model's inputs")
        for a in node.inbound_tensors():
            visit(a)
        order.append(node)

    for o in flatten(outputs_kt):
        visit(o)
    return order


def layers_in_keras_order(inputs_kt, outputs_kt):
    """The layers of a functional model in Keras' order (so ``model.layers`` and
    ``get_weights`` line up with Keras'): by depth, the longest path to an output, deepest
    first (the Inputs usually), ties in the order a depth-first walk from the outputs
    finishes them."""
    stop = {id(k) for k in flatten(inputs_kt)}
    finished, depth, parents = [], {}, {}

    def node_of(kt):
        layer, ni, _ = kt._keras_history
        return layer._inbound_nodes[ni]

    def visit(kt):
        node = node_of(kt)
        if id(node) in parents:
            return
        ins = [] if id(kt) in stop or node.args is None else node.inbound_tensors()
        parents[id(node)] = (node, [node_of(a) for a in ins])
        for a in ins:
            visit(a)
        finished.append(node)

    for o in flatten(outputs_kt):
        visit(o)
    for node in reversed(finished):  # consumers before the nodes they read
        d = depth.setdefault(id(node), 0)
        for p in parents[id(node)][1]:
            depth[id(p)] = max(depth.get(id(p), 0), d + 1)
    rank, layer_depth = {}, {}
    for i, node in enumerate(finished):
        rank.setdefault(id(node.layer), i)
        layer_depth[id(node.layer)] = max(layer_depth.get(id(node.layer), 0), depth[id(node)])
    layers = {id(n.layer): n.layer for n in finished}
    for kt in flatten(inputs_kt):  # an Input no output depends on is still a layer
        layer = kt._keras_history[0]
        if id(layer) not in layers:
            layers[id(layer)] = layer
            rank[id(layer)], layer_depth[id(layer)] = -1, 10**9
    return sorted(layers.values(), key=lambda lay: (-layer_depth[id(lay)], rank[id(lay)]))


__all__ = ["KerasTensor", "Input", "InputLayer", "np"]
