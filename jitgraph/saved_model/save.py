"""``jg.saved_model.save``: an object's traced graphs and its variables, without its code.

What is written to ``export_dir``:
  saved_model.json          {"format": "jitgraph.saved_model", "version": 1,
                             "functions": [...], "signatures": {...}}; each function has its
                            owner (a node of the object graph) and attribute name, its Python
                            parameters, its input_signature, and its concrete functions: call
                            key, parameter names, output structure, graph file, the object-graph
                            nodes of the Variables it reads
  functions/<token>/<f>_<c>.jgir    each concrete function's traced graph as IR text
                            (ir/parser.py's ``serialize``: arrays and Variables by table index)
  functions/<token>/constants.npz   the graphs' arrays, ``<f>_<c>_<n>``
  variables/<token>.*       a jg.train checkpoint of the object (the object graph and values)
saved_model.json (with the save's "token") is replaced atomically after everything else is
written, and only then are the files of an earlier save into the same folder removed: a
crash mid-save leaves the previous saved model loadable, and a folder without
saved_model.json is an incomplete first save.
"""

import inspect
import json
import os
import shutil
import uuid

import numpy as np

from ..checkpoint_format import (
    ObjectGraph,
    _atomic_write,
    checkpoint_files,
    kind,
    write_checkpoint,
)
from ..concrete import ConcreteFunction, _Out
from ..dtypes import as_dtype
from ..function import Function
from ..ir.parser import SerializationError, serialize
from ..tensor import TensorSpec

FORMAT = "jitgraph.saved_model"
VERSION = 1
_JSON_SCALARS = (bool, int, float, str, type(None))


def save(obj, export_dir, signatures=None, options=None):
    """Writes ``obj``'s traced ``jg.function``s (as graphs) and variables to ``export_dir``.

    Functions are found on ``obj`` and every Module it tracks: each needs at least one trace
    (call it, or ``get_concrete_function``) or an ``input_signature``. ``signatures``: a
    ConcreteFunction, a jg.function with an input_signature, or a dict of them by name; the
    first is ``"serving_default"``. A Keras model gets a ``serve`` function (its call,
    training=False) and, by default, that as its serving signature.

    >>> jg.saved_model.save(module, "/tmp/m", signatures=module.f.get_concrete_function(spec))
    """
    export_dir = os.fspath(export_dir)
    graph = ObjectGraph(obj)
    functions, owners = [], {}
    for nid, o in enumerate(graph.objects):
        for name, fn in _functions_of(o):
            owners[id(fn)] = len(functions)
            functions.append((nid, name, fn))
    if kind(obj) == "layer":
        serve = _keras_serving_function(obj)
        owners[id(serve)] = len(functions)
        for name in ("serve", "__call__"):
            functions.append((0, name, serve))
        if signatures is None:
            signatures = serve
    sig_entries = _signature_entries(signatures)
    for _, cf in sig_entries:  # signature functions the object does not hold
        if id(cf._function) not in owners:
            owners[id(cf._function)] = len(functions)
            functions.append((None, None, cf._function))
    # jitgraph's own state the graphs use (random-number counters) is saved with the object
    captured = []
    for _, name, fn in functions:
        for cf in _concretes(fn, name):
            for v in cf.graph.variables:
                if getattr(v, "_internal", False) and id(v) not in graph.index and \
                        not any(v is c for c in captured):
                    captured.append(v)
    extra = [("_jg_captured", captured)] if captured else []
    if extra:
        graph = ObjectGraph(obj, extra)
    arrays, saved, cf_index, texts = {}, [], {}, {}
    done = {}
    for fi, (nid, name, fn) in enumerate(functions):
        if id(fn) in done:  # one function under two names (a Keras model's serve/__call__)
            saved.append({**saved[done[id(fn)]], "owner": nid, "name": name})
            continue
        done[id(fn)] = fi
        saved.append(_save_function(fn, fi, nid, name, graph, texts, arrays, cf_index))
    sigs = {}
    for key, cf in sig_entries:
        sigs[key] = _signature_json(key, cf, cf_index)
    # everything is serialized: only now are files touched, under a fresh token
    token = uuid.uuid4().hex[:12]
    folder = os.path.join(export_dir, "functions", token)
    os.makedirs(folder)
    for name, text in texts.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text + "\n")
    np.savez(os.path.join(folder, "constants.npz"), **arrays)
    write_checkpoint(os.path.join(export_dir, "variables", token), obj, extra)
    meta = {"format": FORMAT, "version": VERSION, "token": token, "functions": saved,
            "signatures": sigs}
    text = json.dumps(meta, indent=1).encode()
    _atomic_write(os.path.join(export_dir, "saved_model.json"), lambda f: f.write(text))
    _remove_other_saves(export_dir, token)


def _remove_other_saves(export_dir, token):
    """Deletes the graphs and variables of earlier saves into ``export_dir``."""
    functions = os.path.join(export_dir, "functions")
    for name in os.listdir(functions):
        if name != token and os.path.isdir(os.path.join(functions, name)):
            shutil.rmtree(os.path.join(functions, name), ignore_errors=True)
    variables = os.path.join(export_dir, "variables")
    for name in os.listdir(variables):
        if name.endswith(".index") and name[:-len(".index")] != token:
            for f in checkpoint_files(os.path.join(variables, name[:-len(".index")])):
                if os.path.exists(f):
                    os.remove(f)


def _functions_of(obj):
    """(attribute name, jg.function) pairs of a node, sorted by name: a Module's (decorated
    methods and jg.function attributes) and a Keras layer's decorated methods (its instance
    attributes hold Keras' own compiled steps, which are not saved)."""
    k = kind(obj)
    if k not in ("module", "checkpoint", "layer"):
        return []
    found = {}
    for name in dir(type(obj)):
        attr = inspect.getattr_static(type(obj), name, None)
        if isinstance(attr, Function):
            found[name] = getattr(obj, name)
    if k != "layer":
        for name, value in vars(obj).items():
            if isinstance(value, Function):
                found[name] = value
    return sorted(found.items())


def _keras_serving_function(model):
    """A jg.function running ``model(inputs, training=False)``, one TensorSpec per input
    (from a functional model's Inputs, else from the shape the model was built with)."""
    import re

    import jitgraph as jg

    specs, as_list = _keras_input_specs(model)
    names = []
    for i, spec in enumerate(specs):
        name = re.sub(r"\W", "_", spec.name or "")
        names.append(name if name.isidentifier() and name not in names else f"inputs_{i}")
    specs = [TensorSpec(sp.shape, sp.dtype, name=n) for sp, n in zip(specs, names)]

    def serve(*xs):
        return model(list(xs) if as_list else xs[0], training=False)

    serve.__signature__ = inspect.Signature(  # one parameter per input, by name
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    fn = jg.function(serve, input_signature=specs, autograph=False)
    fn.get_concrete_function()
    return fn


def _keras_input_specs(model):
    """([TensorSpec], whether the model takes a list)."""
    inputs = getattr(model, "inputs", None)
    listed = isinstance(inputs, (list, tuple))
    kts = list(inputs) if listed else [inputs]
    if inputs is not None and all(hasattr(t, "_keras_history") for t in kts):
        return [TensorSpec(t.shape, t.dtype, name="inputs" if len(kts) == 1 else t.name)
                for t in kts], listed
    shape = getattr(model, "_build_input_shape", None)
    if shape is None or not model.built:
        raise ValueError(f"saved_model.save: the Keras model {model.name!r} is not built; "
                         "call it on data (or model.build(input_shape)) before saving")
    dtypes = getattr(model, "_build_input_dtype", None) or ["float32"]
    dtypes = list(dtypes) if isinstance(dtypes, (list, tuple)) else [dtypes]
    listed = not hasattr(shape, "as_list") and bool(shape) and (
        isinstance(shape[0], (list, tuple)) or hasattr(shape[0], "as_list"))
    shapes = [s.as_list() if hasattr(s, "as_list") else list(s)
              for s in (shape if listed else [shape])]
    dtypes += [dtypes[-1]] * (len(shapes) - len(dtypes))
    return [TensorSpec([None] + list(sh[1:]), as_dtype(d),
                       name="inputs" if not listed else f"inputs_{i}")
            for i, (sh, d) in enumerate(zip(shapes, dtypes))], listed


def _signature_entries(signatures):
    if signatures is None:
        return []
    if not isinstance(signatures, dict):
        signatures = {"serving_default": signatures}
    out = []
    for key, s in signatures.items():
        if isinstance(s, Function):
            if s.input_signature is None:
                raise ValueError(f"saved_model.save: signature {key!r} is the jg.function "
                                 f"{s.__name__!r} without an input_signature; pass "
                                 f"{s.__name__}.get_concrete_function(...) instead")
            s = s.get_concrete_function()
        if not isinstance(s, ConcreteFunction):
            raise TypeError(f"saved_model.save: signature {key!r} must be a ConcreteFunction "
                            f"or a jg.function with an input_signature, got "
                            f"{type(s).__name__}")
        out.append((key, s))
    return out


def _concretes(fn, name=None):
    if fn._input_signature is not None and not fn._traces:
        fn.get_concrete_function()
    if not fn._traces:
        label = name or fn.__name__
        raise ValueError(
            f"saved_model.save: jg.function {label!r} was never traced and has no "
            f"input_signature, so there is no graph to save; call it once, call "
            f"{label}.get_concrete_function(jg.TensorSpec(...)), or give it an "
            "input_signature")
    seen, out = set(), []
    for cf in list(fn._exact.values()) + fn._general:
        if id(cf) not in seen:
            seen.add(id(cf))
            out.append(cf)
    return out


def _save_function(fn, fi, nid, name, graph, texts, arrays, cf_index):
    label = name or fn.__name__
    cfs = _concretes(fn, name)
    params = list(fn._sig.parameters.values())[1 if fn._instance is not None else 0:]
    entry = {"owner": nid, "name": name, "python_name": fn.__name__,
             "params": [_param_json(p, label) for p in params],
             "input_signature": None if fn._spec_keys is None else
             [_key_json(k, label) for k in fn._spec_keys],
             "input_names": _spec_names(fn), "concrete": []}
    for ci, cf in enumerate(cfs):
        cf_index[id(cf)] = (fi, ci)
        if getattr(cf.graph, "custom_gradients", None):
            import warnings

            warnings.warn(
                f"saved_model.save: jg.function {label!r} uses jg.custom_gradient "
                f"({', '.join(sorted(cf.graph.custom_gradients))}); the saved graph keeps the "
                f"forward computation only, so gradients of the loaded function differentiate "
                f"that instead of calling the custom rule", UserWarning, stacklevel=4)
        try:
            text, tables, variables = serialize(cf.graph)
        except SerializationError as e:
            raise SerializationError(f"saved_model.save: jg.function {label!r}: {e}") from None
        nodes = []
        for v in variables:
            j = graph.index.get(id(v))
            if j is None:
                raise ValueError(
                    f"saved_model.save: jg.function {label!r} uses the variable {v.name!r}, "
                    "which the saved object does not track; assign it to an attribute of the "
                    "object (or of a jg.Module it holds) so it is saved with it")
            nodes.append(j)
        fname = f"{fi}_{ci}"
        for k, a in enumerate(tables):
            arrays[f"{fname}_{k}"] = a
        texts[f"{fname}.jgir"] = text
        entry["concrete"].append({
            "graph": f"{fname}.jgir", "n_arrays": len(tables), "variables": nodes,
            "key": [_key_json(k, label) for k in cf._key], "names": list(cf._names),
            "outputs": _out_json(cf._out, label)})
    return entry


def _spec_names(fn):
    if fn._input_signature is None:
        return None
    return [s.name if isinstance(s, TensorSpec) else None for s in fn._input_signature]


def _param_json(p, label):
    out = {"name": p.name, "kind": int(p.kind)}
    if p.default is not inspect.Parameter.empty:
        if not isinstance(p.default, _JSON_SCALARS):
            raise ValueError(f"saved_model.save: jg.function {label!r}: the default of "
                             f"parameter {p.name!r} is a {type(p.default).__name__}; only "
                             "None, bool, int, float and str defaults can be saved")
        out["default"] = p.default
    return out


def _key_json(k, label):
    tag = k[0]
    if tag == "T":
        return ["T", k[1].name, [None if d is None else int(d) for d in k[2]]]
    if tag == "S":
        if k[1] not in (list, tuple, None):
            raise ValueError(f"saved_model.save: jg.function {label!r} was traced with a "
                             f"{k[1].__name__} argument; only lists, tuples and dicts of "
                             "tensors can be saved")
        return ["S", {list: "list", tuple: "tuple", None: None}[k[1]],
                [_key_json(c, label) for c in k[2]]]
    if tag == "M":
        if not all(isinstance(x, str) for x in k[1]):
            raise ValueError(f"saved_model.save: jg.function {label!r}: dict arguments need "
                             "string keys to be saved")
        return ["M", list(k[1]), [_key_json(c, label) for c in k[2]]]
    if tag == "P" and isinstance(k[2], _JSON_SCALARS) and type(k[2]) is k[1]:
        return ["P", k[1].__name__, k[2]]
    what = {"V": "a Variable argument", "O": "an unhashable Python object",
            "P": f"the Python value {k[2]!r:.40}" if tag == "P" else ""}.get(tag, repr(tag))
    raise ValueError(f"saved_model.save: jg.function {label!r} was traced with {what}; saved "
                     "functions take tensors and Python numbers, strings or None (read "
                     "Variables as attributes of the object instead of passing them)")


def _out_json(s, label):
    if type(s) is _Out:
        return {"out": s.i}
    if isinstance(s, tuple) and hasattr(s, "_fields"):
        return {"tuple": [_out_json(x, label) for x in s]}
    if isinstance(s, list):
        return {"list": [_out_json(x, label) for x in s]}
    if isinstance(s, tuple):
        return {"tuple": [_out_json(x, label) for x in s]}
    if isinstance(s, dict):
        if not all(isinstance(k, str) for k in s):
            raise ValueError(f"saved_model.save: jg.function {label!r} returns a dict with "
                             "non-string keys, which cannot be saved")
        return {"dict": {k: _out_json(v, label) for k, v in s.items()}}
    if isinstance(s, _JSON_SCALARS):
        return {"py": s}
    raise ValueError(f"saved_model.save: jg.function {label!r} returns a "
                     f"{type(s).__name__}, which cannot be saved; return tensors (in lists, "
                     "tuples or dicts)")


def _signature_json(key, cf, cf_index):
    label = f"signature {key!r}"
    for name, k in zip(cf._names, cf._key):
        if k[0] not in ("T", "P"):
            raise ValueError(f"saved_model.save: {label}: argument {name!r} of {cf.name} is "
                             f"{'a structure' if k[0] in 'SM' else 'not a tensor'}; a "
                             "signature takes one tensor per argument (Python values are "
                             "fixed at trace time): use an input_signature of TensorSpecs")
    names = list(cf._names)
    specs = cf._function._input_signature
    if specs is not None:
        names = [s.name if isinstance(s, TensorSpec) and s.name else n
                 for s, n in zip(specs, names)] + names[len(specs):]
    names = [n for n, k in zip(names, cf._key) if k[0] == "T"]
    out = cf._out
    if type(out) is _Out:
        outputs = {"output_0": out.i}
    elif isinstance(out, dict) and all(type(v) is _Out for v in out.values()):
        outputs = {str(k): v.i for k, v in out.items()}
    elif isinstance(out, (list, tuple)) and all(type(v) is _Out for v in out):
        outputs = {f"output_{i}": v.i for i, v in enumerate(out)}
    else:
        raise ValueError(f"saved_model.save: {label}: a signature returns a tensor, or a "
                         "flat list/tuple/dict of tensors")
    fi, ci = cf_index[id(cf)]
    return {"function": fi, "concrete": ci, "inputs": names, "outputs": outputs}
