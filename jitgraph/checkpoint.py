"""``jg.train.Checkpoint``: object-graph based saving and restoring of training state.

A checkpoint records the *dependency graph* reachable from its root, as TensorFlow does:
each object is a node, each edge is named after the attribute (or keyword argument, list
index, dict key) that reaches it. Values are matched on restore by walking the same names
from the new root, so a program restores into freshly built objects without any variable
names having to agree.

What the graph holds and the file format: checkpoint_format.py.

Deferred restoration: a value whose object does not exist yet (an optimizer slot before the
first ``apply_gradients``, the weights of a Keras model built later) is kept by the restore
status and applied the moment the object is created (Keras ``add_weight``, the optimizer's
slot creation and attribute assignment on a ``jg.Module`` call ``notify_created``).
"""

import os

import numpy as np

from . import dtypes as _dt
from . import errors, tracing
from .checkpoint_format import (
    CheckpointReader,
    ObjectGraph,
    _few,
    children,
    kind,
    list_variables,
    load_arrays,
    load_checkpoint,
    load_variable,
    read_index,
    write_checkpoint,
)
from .variables import Variable

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




__all__ = ["Checkpoint", "CheckpointLoadStatus", "InitializationOnlyStatus", "CheckpointReader",
           "ObjectGraph", "load_checkpoint", "list_variables", "load_variable",
           "notify_created"]
