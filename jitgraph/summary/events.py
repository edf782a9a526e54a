"""TensorBoard's messages, encoded by hand (field numbers of tensorflow/core/util/event.proto,
framework/summary.proto, tensor.proto, tensor_shape.proto), and decoded back for the
reader.

What tf.summary writes and this module reproduces byte for byte (apart from wall times):
- the first event of a file: ``wall_time``, ``file_version: "brain.Event:2"`` and
  ``source_metadata.writer``;
- one event per summary: ``wall_time``, ``step``, ``summary.value`` with ``tag``, a
  ``tensor`` (numbers as little-endian ``tensor_content``, strings as ``string_val``) and
  ``metadata.plugin_data.plugin_name`` (``"scalars"``, ``"histograms"``, ``"images"``,
  ``"text"``) with an empty ``content`` (the plugins' version-0 data) and the
  ``summary_description`` when there is one.
"""

import struct

import numpy as np

from . import protowire as pw

FILE_VERSION = "brain.Event:2"
SOURCE_WRITER = "tensorflow.core.util.events_writer"

# tensorflow/core/framework/types.proto
DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_STRING, DT_INT64, DT_BOOL = 1, 2, 3, 4, 7, 9, 10
_DTYPE_ENUM = {np.dtype(np.float32): DT_FLOAT, np.dtype(np.float64): DT_DOUBLE,
               np.dtype(np.int32): DT_INT32, np.dtype(np.uint8): DT_UINT8,
               np.dtype(np.int64): DT_INT64, np.dtype(np.bool_): DT_BOOL}
_ENUM_DTYPE = {v: k for k, v in _DTYPE_ENUM.items()}


# ----------------------------------------------------------------------------- writing


def tensor_proto(array):
    """A TensorProto for a NumPy array: numbers as ``tensor_content``; an array of bytes or
    str (dtype object, ``S`` or ``U``) as ``string_val``, one per element."""
    a = np.asarray(array)
    dims = b"".join(pw.bytes_field(2, pw.varint_field(1, d)) for d in a.shape)
    if a.dtype.kind in "OSU":
        flat = [x.encode("utf-8") if isinstance(x, str) else bytes(x) for x in a.ravel()]
        return (pw.varint_field(1, DT_STRING) + pw.bytes_field(2, dims)
                + b"".join(pw.bytes_field(8, s) for s in flat))
    dtype = _DTYPE_ENUM.get(a.dtype)
    if dtype is None:
        raise TypeError(f"summary tensors of dtype {a.dtype} are not supported; cast to "
                        f"float32, float64, int32 or int64")
    content = np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes()
    return pw.varint_field(1, dtype) + pw.bytes_field(2, dims) + pw.bytes_field(4, content)


def summary_metadata(plugin_name, description=None, display_name=None, content=b""):
    plugin = pw.bytes_field(1, plugin_name) + (pw.bytes_field(2, content) if content else b"")
    return (pw.bytes_field(1, plugin) + (pw.bytes_field(2, display_name) if display_name else b"")
            + (pw.bytes_field(3, description) if description else b""))


def summary_value(tag, tensor, metadata=b""):
    """A ``Summary`` holding one ``Summary.Value`` (tag, tensor, metadata)."""
    value = pw.bytes_field(1, tag) + pw.bytes_field(8, tensor) + (
        pw.bytes_field(9, metadata) if metadata else b"")
    return pw.bytes_field(1, value)


def event(wall_time, step=0, summary=None, file_version=None, graph_def=None,
          source_writer=None):
    """A serialized ``Event``."""
    out = pw.double_field(1, wall_time)
    if step:
        out += pw.varint_field(2, step)
    if file_version is not None:
        out += pw.bytes_field(3, file_version)
    if graph_def is not None:
        out += pw.bytes_field(4, graph_def)
    if summary is not None:
        out += pw.bytes_field(5, summary)
    if source_writer is not None:
        out += pw.bytes_field(10, pw.bytes_field(1, source_writer))
    return out


# ----------------------------------------------------------------------------- reading


def decode_tensor(buf):
    """A TensorProto as a NumPy array (strings as an object array of bytes)."""
    f = pw.parse(buf)
    dtype = f.get(1, [0])[0]
    shape = []
    for shp in f.get(2, []):
        for dim in pw.parse(shp).get(2, []):
            shape.append(pw.as_int64(pw.parse(dim).get(1, [0])[0]))
    if dtype == DT_STRING:
        vals = f.get(8, [])
        out = np.empty(len(vals), object)
        out[:] = vals
        return out.reshape(shape)
    np_dtype = _ENUM_DTYPE.get(dtype)
    if np_dtype is None:
        raise ValueError(f"TensorProto dtype {dtype} is not supported by this reader")
    if 4 in f:
        return np.frombuffer(f[4][0], np_dtype.newbyteorder("<")).astype(np_dtype).reshape(shape)
    typed = {DT_FLOAT: (5, "<f"), DT_DOUBLE: (6, "<d")}
    if dtype in typed:  # packed float_val / double_val
        field, code = typed[dtype]
        raw = b"".join(v if isinstance(v, bytes) else b"" for v in f.get(field, []))
        vals = np.frombuffer(raw, code).astype(np_dtype)
    else:  # int_val / int64_val (packed varints)
        field = 10 if dtype == DT_INT64 else 7
        vals = []
        for v in f.get(field, []):
            if isinstance(v, bytes):
                pos = 0
                while pos < len(v):
                    x, pos = pw.read_varint(v, pos)
                    vals.append(pw.as_int64(x))
            else:
                vals.append(pw.as_int64(v))
        vals = np.array(vals, np_dtype)
    size = int(np.prod(shape)) if shape else 1
    if vals.size == 1 and size != 1:
        vals = np.full(size, vals[0], np_dtype)
    return vals.reshape(shape)


def decode_metadata(buf):
    f = pw.parse(buf)
    plugin = pw.parse(f[1][0]) if 1 in f else {}
    text = lambda d, k: d[k][0].decode("utf-8") if k in d else ""  # noqa: E731
    return {"plugin_name": text(plugin, 1), "content": plugin.get(2, [b""])[0],
            "display_name": text(f, 2), "description": text(f, 3)}


def decode_event(buf):
    """An ``Event`` as a dict: ``wall_time``, ``step``, and ``file_version``, ``source_writer``,
    ``graph_def`` (bytes) or ``values`` (a list of dicts with ``tag``, ``tensor``,
    ``metadata``, or ``simple_value``) when present."""
    f = pw.parse(buf)
    ev = {"wall_time": pw.as_double(f[1][0]) if 1 in f else 0.0,
          "step": pw.as_int64(f[2][0]) if 2 in f else 0}
    if 3 in f:
        ev["file_version"] = f[3][0].decode("utf-8")
    if 4 in f:
        ev["graph_def"] = f[4][0]
    if 10 in f:
        ev["source_writer"] = pw.parse(f[10][0]).get(1, [b""])[0].decode("utf-8")
    if 5 in f:
        values = []
        for raw in pw.parse(f[5][0]).get(1, []):
            v = pw.parse(raw)
            item = {"tag": v[1][0].decode("utf-8") if 1 in v else ""}
            if 8 in v:
                item["tensor"] = decode_tensor(v[8][0])
            if 2 in v:
                item["simple_value"] = struct.unpack("<f", v[2][0])[0]
            item["metadata"] = decode_metadata(v[9][0]) if 9 in v else None
            values.append(item)
        ev["values"] = values
    return ev
