"""``InputSpec``: what a layer accepts (rank, dtype, the size of given axes), checked when the
layer is called, as Keras checks ``layer.input_spec``.

>>> class MyLayer(jg.keras.layers.Layer):
...     def __init__(self, **kwargs):
...         super().__init__(**kwargs)
...         self.input_spec = jg.keras.layers.InputSpec(ndim=3, axes={-1: 8})
"""

import jitgraph as jg


class InputSpec:
    """The rank (``ndim``, or ``min_ndim``/``max_ndim``), ``dtype``, full ``shape`` (None
    dims match anything) and ``axes`` ({axis: size}) an input must have. ``layer.input_spec``
    may be one spec, or a list with one spec (or None) per input."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else jg.as_dtype(dtype).name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        if self.ndim is not None or self.max_ndim is not None:
            top = self.ndim if self.ndim is not None else self.max_ndim
            if self.axes and max(self.axes) >= top:
                raise ValueError(f"InputSpec: axis {max(self.axes)} is out of range for "
                                 f"ndim={top}")

    def __repr__(self):
        parts = [f"{k}={v!r}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                            ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                            ("min_ndim", self.min_ndim),
                                            ("axes", self.axes or None)) if v is not None]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_one(spec, x, layer_name, index):
    where = f"Input {index} of layer {layer_name!r}"
    shape = tuple(x.shape)
    rank = len(shape)
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
        raise ValueError(f"{where} is incompatible with the layer: expected ndim={spec.ndim}, "
                         f"found ndim={rank}; full shape received: {shape}")
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(f"{where} is incompatible with the layer: expected "
                         f"max_ndim={spec.max_ndim}, found ndim={rank}; full shape received: "
                         f"{shape}")
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(f"{where} is incompatible with the layer: expected "
                         f"min_ndim={spec.min_ndim}, found ndim={rank}; full shape received: "
                         f"{shape}")
    if spec.dtype is not None and x.dtype.name != spec.dtype:
        raise ValueError(f"{where} is incompatible with the layer: expected dtype="
                         f"{spec.dtype}, found dtype={x.dtype.name}; cast it with jg.cast")
    for axis, size in spec.axes.items():
        got = shape[axis] if -rank <= axis < rank else "missing"
        if size is not None and got is not None and got != size:
            raise ValueError(f"{where} is incompatible with the layer: expected axis {axis} "
                             f"of input shape to have value {size}, but received input with "
                             f"shape {shape}")
    if spec.shape is not None and len(spec.shape) == rank:
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                raise ValueError(f"{where} is incompatible with the layer: expected shape="
                                 f"{spec.shape}, found shape={shape}")


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raises ValueError naming the layer, the input and the mismatch when ``inputs`` do
    not meet ``input_spec`` (None: anything goes)."""
    if input_spec is None:
        return
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if isinstance(inputs, dict):
        xs = list(inputs.values())
    if len(xs) != len(specs) and not all(s is None for s in specs):
        raise ValueError(f"Layer {layer_name!r} expects {len(specs)} input(s), but it "
                         f"received {len(xs)} input tensors")
    for i, (spec, x) in enumerate(zip(specs, xs)):
        if spec is not None and hasattr(x, "shape") and hasattr(x, "dtype"):
            _check_one(spec, x, layer_name, i)


def check_layer(layer, inputs):
    """The check ``Layer.__call__`` runs: the layer's ``input_spec``, if it has one."""
    spec = layer.__dict__.get("input_spec")
    if spec is not None:
        assert_input_compatibility(spec, inputs, layer.name)
