"""``jg.train.Checkpoint``: object-graph based saving and restoring of training state.

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
  keras Optimizer     its attributes (``iterations``, ``_lr``, ...) and, apart from the
                      named edges, *slot variables* keyed by the node of the variable they
                      belong to and the slot's name (``m``, ``v``, ``momentum``)
  keras Metric        its state variables by local name
  list/tuple/dict     indices / keys, when they hold something trackable

Deferred restoration: a value whose object does not exist yet (an optimizer slot before the
first ``apply_gradients``, the weights of a Keras model built later) is kept by the restore
status and applied the moment the object is created (Keras ``add_weight``, the optimizer's
slot creation and attribute assignment on a ``jg.Module`` call ``notify_created``).

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
from . import errors, tracing
from .module import Module
from .variables import Variable

FORMAT = "jitgraph.checkpoint"
VERSION = 1

# attributes that are bookkeeping, not state (Keras layers' graph wiring, optimizer tables)
_SKIP = frozenset({
    "_auto_config", "_output_shape", "_input_shape", "_build_input_shape", "_inbound_nodes",
    "inputs", "outputs", "_nodes", "history", "optimizer", "_trainable_weights",
    "_non_trainable_weights", "_callable_losses", "_slots", "_hyper_vars", "_metric_variables",
    "_no_decay", "_jg_deps"})


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
    if isinstance(x, Checkpoint):
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
        f.write(memoryview(arr.reshape(-1)).cast("B"))
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


# ----------------------------------------------------------------------------- restoring

# restore statuses that still hold deferred values. Held strongly, as TensorFlow's objects
# hold their deferred dependencies: the program usually drops the status right away
# (`ckpt.restore(path)`), and the values must still arrive when the objects are created.
# A status leaves when everything matched or a newer restore into the same root replaces it.
_ACTIVE = []


def notify_created(obj=None):
    """Called when trackable state is created (a Keras weight, optimizer slots): restore
    statuses apply the values they hold for objects that now exist."""
    if not _ACTIVE:
        return
    for status in list(_ACTIVE):
        if not status._resolve(obj) and status in _ACTIVE:
            _ACTIVE.remove(status)


def _assign(var, arr, path):
    want = var.dtype
    if arr.dtype != want.np:
        raise errors.InvalidArgumentError(
            f"restore: the checkpoint holds {path!r} as {_dt._BY_NP[arr.dtype].name} but the "
            f"variable {var.name!r} is {want.name}; create it with the saved dtype")
    if tuple(arr.shape) != tuple(var.shape):
        raise errors.InvalidArgumentError(
            f"restore: the checkpoint holds {path!r} with shape {list(arr.shape)} but the "
            f"variable {var.name!r} has shape {list(var.shape)}; the program's model differs "
            "from the one saved")
    with tracing.init_scope():
        var.assign(arr)


class CheckpointLoadStatus:
    """What ``Checkpoint.restore`` returns: applies values now and, for objects created
    later, when they are created; the ``assert_*`` methods check how much matched."""

    def __init__(self, root, prefix, index, arrays):
        self._root, self._prefix = root, prefix
        self._nodes = index["nodes"]
        self._arrays = arrays
        self._matched = {}  # node id -> object
        self._bound = {}  # id(object) -> node id
        self._pending = []  # (parent object, edge name, node id)
        self._pending_slots = []  # (optimizer, var node id, slot name, value node id)
        self._partial = False
        self._match(0, root)
        self._resolve()
        _ACTIVE[:] = [st for st in _ACTIVE if st._root is not root]
        if self._pending or self._pending_slots:
            _ACTIVE.append(self)

    def _match(self, nid, obj):
        if nid in self._matched or id(obj) in self._bound:
            return
        node = self._nodes[nid]
        if node["kind"] == "variable":
            if not isinstance(obj, Variable):
                raise errors.InvalidArgumentError(
                    f"restore: the checkpoint has a variable at {node['path']!r} but the "
                    f"program has a {type(obj).__name__} there")
            _assign(obj, self._arrays.pop(f"n{nid}"), node["path"])  # held until applied
        self._matched[nid] = obj
        self._bound[id(obj)] = nid
        edges = dict(children(obj))
        for name, cid in node["children"].items():
            child = edges.get(name)
            if child is None:
                self._pending.append((obj, name, cid))
            else:
                self._match(cid, child)
        for s in node.get("slots", ()):
            self._pending_slots.append((obj, s["var"], s["slot"], s["value"]))

    def _resolve(self, created=None):
        """Matches what became available; True while something is still deferred. When
        ``created`` (the object that just gained state) is waiting for values itself, only
        its entries are looked at (a model built layer by layer stays linear); otherwise
        every waiting object is looked at again."""
        focus = created if created is not None and any(
            p is created for p, _, _ in self._pending) else None
        progress = True
        while progress:
            progress = False
            pending, self._pending = self._pending, []
            edges = {}  # id(parent) -> its children now, computed once a pass
            for parent, name, cid in pending:
                if cid in self._matched:
                    continue
                if focus is not None and parent is not focus:
                    self._pending.append((parent, name, cid))
                    continue
                if id(parent) not in edges:
                    edges[id(parent)] = dict(children(parent))
                child = edges[id(parent)].get(name)
                if child is None:
                    self._pending.append((parent, name, cid))
                else:
                    self._match(cid, child)
                    progress = True
            slots, self._pending_slots = self._pending_slots, []
            for opt, vnid, sname, snid in slots:
                var = self._matched.get(vnid)
                svar = opt._slots.get(id(var), {}).get(sname) if var is not None else None
                if svar is None:
                    self._pending_slots.append((opt, vnid, sname, snid))
                elif snid not in self._matched:
                    self._match(snid, svar)
                    progress = True
        return bool(self._pending or self._pending_slots)

    # -- checks
    def _unmatched_saved(self):
        return [n["path"] or "(root)" for i, n in enumerate(self._nodes)
                if i not in self._matched]

    def _unmatched_live(self):
        graph = ObjectGraph(self._root)
        return [graph.paths[i] for i, o in graph.variables() if id(o) not in self._bound]

    def assert_consumed(self):
        """Raises AssertionError unless every value in the checkpoint was applied and every
        variable of the program got a value."""
        self._resolve()
        saved = self._unmatched_saved()
        if saved:
            raise AssertionError(
                f"checkpoint {self._prefix}: {len(saved)} saved object(s) were not matched to "
                f"objects of the program: {_few(saved)}. They are applied when created (build "
                "the model, run an optimizer step); if the program no longer has them, call "
                "expect_partial() or use assert_existing_objects_matched()")
        live = self._unmatched_live()
        if live:
            raise AssertionError(
                f"checkpoint {self._prefix}: {len(live)} variable(s) of the program have no "
                f"value in the checkpoint: {_few(live)}; the program's objects differ from "
                "the ones saved")
        return self

    def assert_existing_objects_matched(self):
        """Raises AssertionError unless every variable the program has now got a value
        (values for objects not created yet are allowed to wait)."""
        self._resolve()
        live = self._unmatched_live()
        if live:
            raise AssertionError(
                f"checkpoint {self._prefix}: {len(live)} existing variable(s) were not found in "
                f"the checkpoint: {_few(live)}; the program's objects differ from the ones "
                "saved (attribute names are the keys)")
        return self

    def assert_nontrivial_match(self):
        """Raises AssertionError unless some object besides the root was matched."""
        if len(self._matched) <= 1:
            raise AssertionError(f"checkpoint {self._prefix}: nothing besides the root "
                                 "matched the program's objects")
        return self

    def expect_partial(self):
        """Marks the restore as intentionally partial (values without objects are fine)."""
        self._partial = True
        return self

    def run_restore_ops(self, session=None):
        """Values are applied eagerly: nothing to run."""

    def initialize_or_restore(self, session=None):
        """Values are applied eagerly: nothing to run."""


class InitializationOnlyStatus:
    """``restore(None)``: nothing restored; the program starts from its initial values."""

    def assert_consumed(self):
        raise AssertionError("no checkpoint was restored (save_path is None): nothing was "
                             "consumed; the objects keep their initial values")

    def assert_existing_objects_matched(self):
        raise AssertionError("no checkpoint was restored (save_path is None): no object was "
                             "matched")

    def assert_nontrivial_match(self):
        raise AssertionError("no checkpoint was restored (save_path is None)")

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None):
        """Nothing to run."""

    def initialize_or_restore(self, session=None):
        """Nothing to run: variables are initialized when created."""


def _few(paths, n=8):
    shown = ", ".join(repr(p) for p in paths[:n])
    return shown + (f", ... ({len(paths) - n} more)" if len(paths) > n else "")


# ----------------------------------------------------------------------------- Checkpoint


class Checkpoint:
    """Saves and restores the objects given as keyword arguments (and everything they
    reach).

    >>> ckpt = jg.train.Checkpoint(step=jg.Variable(0), optimizer=opt, model=model)
    >>> path = ckpt.save("/tmp/ckpts/ckpt")          # "/tmp/ckpts/ckpt-1"
    >>> ckpt.restore(path).assert_consumed()
    """

    def __init__(self, root=None, **kwargs):
        object.__setattr__(self, "_jg_deps", {})
        object.__setattr__(self, "_save_counter", None)
        if root is not None and kind(root) not in ("module", "layer", "checkpoint",
                                                   "optimizer", "metric"):
            raise ValueError(f"jg.train.Checkpoint: root must be a jg.Module, Keras object or "
                             f"Checkpoint (its dependencies become the checkpoint's), got "
                             f"{type(root).__name__}")
        object.__setattr__(self, "_jg_root", root)
        for name, value in sorted(kwargs.items()):
            setattr(self, name, value)

    @property
    def root(self):
        """The ``root`` object whose dependencies are saved at the top level (or self)."""
        return self._jg_root if self._jg_root is not None else self

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        if kind(value) is None:
            raise ValueError(f"jg.train.Checkpoint: {name}={type(value).__name__} is not "
                             "trackable; pass Variables, jg.Modules, Keras layers, models, "
                             "optimizers or metrics, other Checkpoints, or lists/dicts of them")
        self._jg_deps[name] = value
        notify_created(self)

    def __getattr__(self, name):
        deps = self.__dict__.get("_jg_deps", {})
        if name in deps:
            return deps[name]
        raise AttributeError(f"'Checkpoint' object has no attribute {name!r}; its "
                             f"dependencies are {sorted(deps)}")

    def __delattr__(self, name):
        self._jg_deps.pop(name)

    @property
    def save_counter(self):
        """How many times ``save`` ran (a Variable, saved with the checkpoint)."""
        self._ensure_save_counter()
        return self._save_counter

    def _ensure_save_counter(self):
        if self._save_counter is None:
            with tracing.init_scope():
                counter = Variable(np.int64(0), trainable=False, name="save_counter",
                                   _internal=True)
            object.__setattr__(self, "_save_counter", counter)
            self._jg_deps["save_counter"] = counter

    def write(self, file_prefix, options=None):
        """Writes the checkpoint at exactly ``file_prefix`` (no number, no state file)."""
        return write_checkpoint(file_prefix, self)

    def save(self, file_prefix, options=None):
        """Writes ``<file_prefix>-<n>`` (n counts the saves) and records it in the
        directory's ``checkpoint`` state file; returns the path."""
        from .checkpoint_manager import update_checkpoint_state

        self._ensure_save_counter()
        with tracing.init_scope():
            self._save_counter.assign_add(np.int64(1))
        path = self.write(f"{os.fspath(file_prefix)}-{int(self._save_counter.numpy())}")
        update_checkpoint_state(os.path.dirname(path) or ".", path, [path])
        return path

    def restore(self, save_path, options=None):
        """Restores from ``save_path`` (a prefix from ``save``/``write``/``latest_checkpoint``;
        a directory means its latest checkpoint). ``None`` restores nothing."""
        if save_path is None:
            return InitializationOnlyStatus()
        save_path = os.fspath(save_path)
        if os.path.isdir(save_path):
            from .checkpoint_manager import latest_checkpoint

            latest = latest_checkpoint(save_path)
            if latest is None:
                raise errors.NotFoundError(f"restore: the directory {save_path!r} has no "
                                           "checkpoint (no 'checkpoint' state file)")
            save_path = latest
        index, data = read_index(save_path)
        if "save_counter" in index["nodes"][0]["children"]:
            self._ensure_save_counter()
        return CheckpointLoadStatus(self, save_path, index, load_arrays(index, data))

    def read(self, save_path, options=None):
        """Restores a checkpoint written with ``write`` (the same as ``restore``)."""
        return self.restore(save_path)

    def __repr__(self):
        return f"<jg.train.Checkpoint {sorted(self._jg_deps)}>"


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


__all__ = ["Checkpoint", "CheckpointLoadStatus", "CheckpointReader", "ObjectGraph",
           "load_checkpoint", "list_variables", "load_variable", "notify_created"]
