"""TensorFlow names jitgraph deliberately does not have (ragged, sparse and string tensors,
distribution strategies, the narrow and complex dtypes): using one raises
``UnimplementedError`` saying what is unsupported and what to do instead, rather than a bare
``AttributeError``. ``jitgraph.__getattr__`` consults the tables here.

>>> jg.ragged.constant([[1, 2], [3]])
UnimplementedError: jg.ragged.constant: jitgraph has no ragged tensors ...
"""

import types

from . import errors

_PAD = "pad the rows to one length and keep a mask (jg.sequence_mask, jg.boolean_mask)"
NAMESPACES = {
    "ragged": ("ragged tensors (rows of different lengths)", _PAD),
    "sparse": ("sparse tensors", "use dense tensors; jg.scatter_nd builds one from indices "
                                 "and values"),
    "strings": ("string tensors", "keep text in Python or NumPy and pass numbers (token ids) "
                                  "to jitgraph"),
    "io": ("tf.io (serialized records, raw bytes, files)", "read data with NumPy and pass "
                                                           "arrays; jg.train.Checkpoint saves "
                                                           "variables"),
    "distribute": ("distribution strategies", "run on one device; jg.function("
                                              "backend='cuda') places a function on the GPU"),
    "lookup": ("lookup tables over strings", "map keys to ids in Python or NumPy"),
    "tpu": ("TPUs", "use backend='cpu' or backend='cuda'"),
}

_NARROW = ("jitgraph's dtypes are float16, bfloat16 (with ml_dtypes), float32, float64, int32, "
           "int64 and bool")
NAMES = {
    **{n: (f"the dtype {n}", f"{_NARROW}; cast with jg.cast(x, jg.int32)")
       for n in ("uint8", "uint16", "uint32", "uint64", "int8", "int16")},
    **{n: (f"the dtype {n}", f"{_NARROW}; keep real and imaginary parts as two float tensors")
       for n in ("complex64", "complex128")},
    "bfloat16": ("the dtype bfloat16 without the ml_dtypes package",
                 "pip install ml_dtypes (jg.bfloat16 is defined when it is importable), or "
                 "use jg.float16 or jg.float32"),
    "string": ("string tensors (jg.string)", NAMESPACES["strings"][1]),
    "RaggedTensor": NAMESPACES["ragged"],
    "RaggedTensorSpec": NAMESPACES["ragged"],
    "SparseTensor": NAMESPACES["sparse"],
    "SparseTensorSpec": NAMESPACES["sparse"],
}


class UnsupportedAttribute(errors.UnimplementedError, AttributeError):
    """A TensorFlow name jitgraph does not have; an ``AttributeError`` too, so ``hasattr`` and
    ``getattr(jg, name, default)`` keep working."""


def message(qualname, what, instead):
    return f"{qualname}: jitgraph does not support {what}; {instead}"


class UnsupportedNamespace(types.ModuleType):
    """``jg.ragged`` and friends: every attribute raises ``UnimplementedError``."""

    def __init__(self, name):
        super().__init__(f"jitgraph.{name}")
        self._ns = name

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        what, instead = NAMESPACES[self._ns]
        raise UnsupportedAttribute(message(f"jg.{self._ns}.{attr}", what, instead))


def lookup(name):
    """The stand-in for ``jg.<name>``, or raises; None when ``name`` is not in the tables."""
    if name in NAMESPACES:
        return UnsupportedNamespace(name)
    if name in NAMES:
        raise UnsupportedAttribute(message(f"jg.{name}", *NAMES[name]))
    return None
