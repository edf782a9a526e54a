"""What a checkpoint holds and how it is written: the object graph (``kind``, ``children``,
``ObjectGraph``), the files (``write_checkpoint``, ``read_index``, ``load_arrays``) and the
readers (``load_checkpoint``, ``list_variables``, ``load_variable``). checkpoint.py builds
``jg.train.Checkpoint`` and restoring on them.

A checkpoint records the *dependency graph* reachable from its root, as TensorFlow does:
each object is a node, each edge is named after the attribute (or keyword argument, list
index, dict key) that reaches it. Values are matched on restore by walking the same names
from the new root, so a program restores into freshly built objects without any variable
names having to agree.

Nodes and their named children:
  Checkpoint          its keyword arguments (and ``save_counter`` once it exists)
  Variable            a leaf holding a value
  jg.Module           its attributes (sorted), through lists, tuples and dicts
  keras Layer/Model   its own weights by their local name (``kernel``, ``bias``), then its
                      tracked attributes that are layers, variables or Modules
  keras Optimizer     its attributes (``iterations``, ``learning_rate``, ...) and, apart from the
                      named edges, *slot variables* keyed by the node of the variable they
                      belong to and the slot's name (``m``, ``v``, ``momentum``)
  keras Metric        its state variables by local name
  list/tuple/dict     indices / keys, when they hold something trackable

File format (``write(prefix)``), documented for other tools:
  ``<prefix>.index``                JSON: {"format": "jitgraph.checkpoint", "version": 1,
                                    "data": "<data file name>", "nodes": [...]}; node 0 is
                                    the root; each node has "kind", "path", "children"
                                    ({name: node id}), variables "dtype" and "shape",
                                    optimizers "slots" ([{"var", "slot", "value"}] node ids);
                                    variable nodes also "offset" and "nbytes" in the data file
  ``<prefix>.data-<token>``         the values: each variable's bytes, C order, little endian,
                                    at a 64-byte aligned offset ("data_bytes" is the total)
The data file is written first under a fresh name, then the index is renamed into place
(``os.replace`` is atomic), so a crash mid-save leaves the previous checkpoint intact and
never a half-written one that readers would take as complete. A data file shorter than the
index says is reported as corrupt (there are no per-value checksums).
"""

import json
import os
import uuid

import numpy as np

from . import dtypes as _dt
from . import errors
from .module import Module
from .variables import Variable

FORMAT = "jitgraph.checkpoint"
VERSION = 1

# attributes that are bookkeeping, not state (Keras layers' graph wiring, optimizer tables)
_SKIP = frozenset({
    "_auto_config", "_output_shape", "_input_shape", "_build_input_shape", "_inbound_nodes",
    "inputs", "outputs", "_nodes", "history", "optimizer", "_trainable_weights",
    "_non_trainable_weights", "_callable_losses", "_slots", "_hyper_vars", "_metric_variables",
    "_no_decay", "_jg_deps", "_averaged"})


# ----------------------------------------------------------------------------- the graph


def _is_layer(x):
    return hasattr(x, "_flatten_layers") and hasattr(x, "_trainable_weights")


def _is_optimizer(x):
    return hasattr(x, "_slots") and hasattr(x, "apply_gradients") and hasattr(x, "iterations")


def _is_metric(x):
    return hasattr(x, "_metric_variables") and hasattr(x, "update_state")


def kind(x):
    """The node kind of ``x``, or None when a checkpoint does not track it."""
    if isinstance(x, Variable):
        return "variable"
    if "_jg_deps" in getattr(x, "__dict__", ()):  # a jg.train.Checkpoint
        return "checkpoint"
    if _is_layer(x):
        return "layer"
    if _is_optimizer(x):
        return "optimizer"
    if _is_metric(x):
        return "metric"
    if isinstance(x, Module):
        return "module"
    if isinstance(x, (list, tuple)):
        return "list" if any(kind(v) for v in x) else None
    if isinstance(x, dict):
        return "dict" if any(kind(v) for v in x.values()) else None
    return None


def _local_names(obj, variables):
    """Variables of a layer or metric keyed by their name without the owner's prefix and
    ``:0``; repeated names get ``_1``, ``_2``."""
    prefix = f"{getattr(obj, 'name', '')}/"
    out, used = [], set()
    for v in variables:
        name = v.name[:-2] if v.name.endswith(":0") else v.name
        name = name[len(prefix):] if name.startswith(prefix) else name.rsplit("/", 1)[-1]
        base, n = name, 0
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        out.append((name, v))
    return out


def _attributes(obj, only=None):
    items = sorted(((k, v) for k, v in vars(obj).items() if k not in _SKIP),
                   key=lambda kv: kv[0])
    for k, v in items:
        if kind(v) is not None and (only is None or _holds(v, only)):
            yield k, v


def _holds(v, only):
    """True when ``v`` is of a kind in ``only``, or a container holding one."""
    kd = kind(v)
    if kd == "list":
        return any(_holds(x, only) for x in v)
    if kd == "dict":
        return any(_holds(x, only) for x in v.values())
    return kd in only


def children(obj):
    """[(edge name, child)] of a node, in a stable order."""
    kd = kind(obj)
    if kd == "checkpoint":
        root = obj.__dict__.get("_jg_root")
        deps = (children(root) if root is not None else []) + list(obj._jg_deps.items())
        return [(k, v) for k, v in deps if kind(v) is not None]
    if kd == "list":
        return [(str(i), v) for i, v in enumerate(obj) if kind(v) is not None]
    if kd == "dict":
        return [(str(k), v) for k, v in obj.items() if kind(v) is not None]
    if kd == "layer":
        own = list(obj._trainable_weights) + list(obj._non_trainable_weights)
        out = _local_names(obj, own)
        ids = {id(v) for v in own}
        out += [(k, v) for k, v in _attributes(obj, ("layer", "variable", "module"))
                if id(v) not in ids]
        return out
    if kd == "metric":
        return _local_names(obj, obj._metric_variables)
    if kd == "optimizer":  # the learning rate under its public name, as in Keras
        return [("learning_rate" if k == "_lr" else k, v) for k, v in _attributes(obj)]
    if kd == "module":
        return list(_attributes(obj))
    return []


class ObjectGraph:
    """The dependency graph reachable from ``root``, nodes numbered breadth first;
    ``extra`` adds (name, object) edges to the root."""

    def __init__(self, root, extra=()):
        self.objects, self.paths, self.edges, self.slots = [root], [""], [{}], {}
        self.index = {id(root): 0}
        i = 0
        while i < len(self.objects):
            obj = self.objects[i]
            for name, child in children(obj) + (list(extra) if i == 0 else []):
                self.edges[i][name] = self._add(child, _join(self.paths[i], name))
            i += 1
        for i, obj in enumerate(list(self.objects)):  # slots after every variable has a node
            if kind(obj) == "optimizer":
                self.slots[i] = self._slots_of(obj, i)

    def _add(self, obj, path):
        j = self.index.get(id(obj))
        if j is None:
            j = self.index[id(obj)] = len(self.objects)
            self.objects.append(obj)
            self.paths.append(path)
            self.edges.append({})
        return j

    def _slots_of(self, opt, i):
        out = []
        for var_id, slots in opt._slots.items():
            vi = self.index.get(var_id)
            if vi is None or kind(self.objects[vi]) != "variable":
                continue  # a variable outside the checkpoint: its slots are not saved
            for sname, svar in slots.items():
                path = f"{self.paths[vi]}/.OPTIMIZER_SLOT/{self.paths[i] or '(root)'}/{sname}"
                out.append({"var": vi, "slot": sname, "value": self._add(svar, path)})
        return out

    def variables(self):
        return [(i, o) for i, o in enumerate(self.objects) if kind(o) == "variable"]


def _join(path, name):
    return f"{path}/{name}" if path else name


# ----------------------------------------------------------------------------- files


def _index_path(prefix):
    return f"{prefix}.index"


def write_checkpoint(prefix, root, extra=()):
    """Writes the graph of ``root`` (plus ``extra`` edges) at ``prefix`` (atomically);
    returns ``prefix``."""
    prefix = os.fspath(prefix)
    graph = ObjectGraph(root, extra)
    nodes = []
    arrays = []
    for i, obj in enumerate(graph.objects):
        node = {"kind": kind(obj), "path": graph.paths[i], "children": graph.edges[i]}
        if node["kind"] == "variable":
            arr = np.asarray(obj.numpy())
            node["dtype"], node["shape"] = obj.dtype.name, list(arr.shape)
            node["name"] = obj.name
            node["trainable"] = bool(obj.trainable)
            arrays.append((node, arr))
        if i in graph.slots:
            node["slots"] = graph.slots[i]
        nodes.append(node)
    folder = os.path.dirname(prefix)
    if folder:
        os.makedirs(folder, exist_ok=True)
    old = _data_file(prefix)
    data = f"{os.path.basename(prefix)}.data-{uuid.uuid4().hex[:12]}"
    data_path = os.path.join(folder, data)
    end = 0
    for node, arr in arrays:
        node["offset"], node["nbytes"] = end, int(arr.nbytes)
        end = -(-(end + arr.nbytes) // _ALIGN) * _ALIGN
    _atomic_write(data_path, lambda f: _write_values(f, arrays))
    index = {"format": FORMAT, "version": VERSION, "data": data, "data_bytes": end,
             "nodes": nodes}
    text = json.dumps(index, indent=1).encode()
    _atomic_write(_index_path(prefix), lambda f: f.write(text))
    if old is not None and old != data_path and os.path.exists(old):
        os.remove(old)  # the data of the checkpoint this one replaced at the same prefix
    return prefix


_ALIGN = 64


def _write_values(f, arrays):
    pos = 0
    for node, arr in arrays:
        if node["offset"] > pos:
            f.write(b"\0" * (node["offset"] - pos))
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        # the bytes as uint8: bfloat16 has no buffer format, so memoryview(arr) refuses it
        f.write(arr.reshape(-1).view(np.uint8))
        pos = node["offset"] + arr.nbytes
    if pos % _ALIGN:
        f.write(b"\0" * (_ALIGN - pos % _ALIGN))


def _atomic_write(path, write):
    tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _data_file(prefix):
    """The data file the index at ``prefix`` names, or None."""
    try:
        with open(_index_path(prefix)) as f:
            return os.path.join(os.path.dirname(prefix), json.load(f)["data"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def checkpoint_files(prefix):
    """The files of the checkpoint at ``prefix`` (index last)."""
    data = _data_file(prefix)
    return ([data] if data else []) + [_index_path(prefix)]


def read_index(prefix, what="restore"):
    """(index dict, arrays loader) of the checkpoint at ``prefix``, with clear errors."""
    prefix = os.fspath(prefix)
    path = _index_path(prefix)
    if not os.path.exists(path):
        hint = ""
        if os.path.isdir(prefix):
            hint = (" (it is a directory: pass jg.train.latest_checkpoint(directory) or a "
                    "path returned by save())")
        raise errors.NotFoundError(f"{what}: no checkpoint at {prefix!r}: {path} does not "
                                   f"exist{hint}")
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        raise errors.DataLossError(f"{what}: {path} is corrupt ({e})") from e
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise errors.DataLossError(f"{what}: {path} is not a jitgraph checkpoint index")
    return index, os.path.join(os.path.dirname(prefix), index["data"])


def load_arrays(index, data_path, what="restore", only=None):
    """{"n<id>": array} of the variable nodes (those in ``only``, when given)."""
    try:
        size = os.path.getsize(data_path)
        if size < index.get("data_bytes", 0):
            raise ValueError(f"it has {size} bytes where the index says "
                             f"{index['data_bytes']}")
        out = {}
        with open(data_path, "rb") as f:
            for i, node in enumerate(index["nodes"]):
                if node["kind"] != "variable" or (only is not None and i not in only):
                    continue
                dtype = np.dtype(_dt.as_dtype(node["dtype"]).np).newbyteorder("<")
                count = int(np.prod(node["shape"], dtype=np.int64))
                f.seek(node["offset"])
                arr = np.fromfile(f, dtype=dtype, count=count)
                if arr.size != count:
                    raise ValueError(f"{node['path']!r} is cut short")
                out[f"n{i}"] = arr.astype(dtype.newbyteorder("="), copy=False).reshape(
                    node["shape"])
        return out
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise errors.DataLossError(f"{what}: the checkpoint data {data_path} is missing or "
                                   f"corrupt ({e})") from e


def _few(paths, n=8):
    shown = ", ".join(repr(p) for p in paths[:n])
    return shown + (f", ... ({len(paths) - n} more)" if len(paths) > n else "")


# ----------------------------------------------------------------------------- reading


class CheckpointReader:
    """Reads a checkpoint's values by name without building objects (``tf.train.
    load_checkpoint``). Names are TensorFlow-style: ``model/dense/kernel/.ATTRIBUTES/
    VARIABLE_VALUE``."""

    def __init__(self, prefix):
        index, data = read_index(prefix, "load_checkpoint")
        self._prefix, self._data, self._index = prefix, data, index
        self._names = {}
        for i, node in enumerate(index["nodes"]):
            if node["kind"] == "variable":
                self._names[f"{node['path']}/.ATTRIBUTES/VARIABLE_VALUE"] = (
                    i, node["dtype"], tuple(node["shape"]))

    def get_variable_to_shape_map(self):
        return {k: list(s) for k, (_, _, s) in self._names.items()}

    def get_variable_to_dtype_map(self):
        return {k: _dt.as_dtype(d) for k, (_, d, _) in self._names.items()}

    def has_tensor(self, name):
        return name in self._names

    def get_tensor(self, name):
        if name not in self._names:
            raise errors.NotFoundError(f"checkpoint {self._prefix} has no value named "
                                       f"{name!r}; it has: {_few(sorted(self._names))}")
        i = self._names[name][0]
        return load_arrays(self._index, self._data, "load_checkpoint", only={i})[f"n{i}"]


def _resolve_prefix(ckpt_dir_or_file):
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        from .checkpoint_manager import latest_checkpoint

        latest = latest_checkpoint(path)
        if latest is None:
            raise errors.NotFoundError(f"no checkpoint in the directory {path!r}")
        return latest
    return path


def load_checkpoint(ckpt_dir_or_file):
    """A CheckpointReader for a checkpoint prefix or a directory (its latest checkpoint)."""
    return CheckpointReader(_resolve_prefix(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file):
    """[(name, shape)] of the values in a checkpoint, sorted by name."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return sorted(shapes.items())


def load_variable(ckpt_dir_or_file, name):
    """The value called ``name`` (``.ATTRIBUTES/VARIABLE_VALUE`` may be left off)."""
    reader = load_checkpoint(ckpt_dir_or_file)
    if not reader.has_tensor(name) and reader.has_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"):
        name = f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
    return reader.get_tensor(name)


__all__ = ["FORMAT", "ObjectGraph", "CheckpointReader", "kind", "children", "write_checkpoint",
           "read_index", "load_arrays", "checkpoint_files", "load_checkpoint", "list_variables",
           "load_variable"]
