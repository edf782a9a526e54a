"""``jg.saved_model.load``: rebuilds a saved object from its graphs and variables alone.

The loaded object is a tree of ``jg.Module``s mirroring the saved object graph (attributes by
the saved names, Variables with their values and trainable flags). Each saved
``jg.function`` becomes a ``LoadedFunction``: a ``jg.function`` whose trace cache is filled
with the saved graphs, so calls dispatch by signature exactly as the original did and
compile with jitgraph's backends; a call no saved graph accepts raises an error listing the
saved signatures. Under a GradientTape a loaded function runs its compiled graph and records
one tape entry whose gradient is the graph's own reverse-mode derivative (replayed under a
tape inside a compiled function); under nested tapes (higher derivatives) it runs the graph
op by op so every tape sees each op; inside another jg.function its graph is inlined, and
``python_function`` runs the saved graphs, so ``jg.grad(loaded.f)`` works.
"""

import inspect
import json
import os

import numpy as np

from .. import errors, tracing
from .. import signature as sig
from ..autodiff import tape as _tape
from ..autodiff.control import replay
from ..checkpoint_format import load_arrays, read_index
from ..concrete import ConcreteFunction, _map_struct, _Out
from ..dtypes import as_dtype
from ..function import Function
from ..ir.parser import parse
from ..module import Module
from ..ops.core import REGISTRY, apply_tensors
from ..tensor import Tensor, TensorSpec, constant
from ..variables import Variable
from .save import FORMAT


class _UserObject(Module):
    """A loaded object: attributes as saved; ``obj(...)`` calls a saved ``__call__``."""

    def __init__(self, kind="module"):
        super().__init__(name=f"loaded_{kind}")

    def __call__(self, *args, **kwargs):
        fn = self.__dict__.get("__call__")
        if fn is None:
            raise TypeError("this loaded object is not callable: no __call__ function was "
                            "saved (save a jg.Module whose __call__ is a jg.function)")
        return fn(*args, **kwargs)


def load(export_dir, tags=None, options=None, backend=None):
    """The object saved in ``export_dir`` by ``jg.saved_model.save``, without its Python code.

    >>> loaded = jg.saved_model.load("/tmp/m")
    >>> loaded.f(x); loaded.signatures["serving_default"](x=x)

    ``backend`` (beyond TensorFlow): the backend the loaded functions compile with.
    """
    export_dir = os.fspath(export_dir)
    path = os.path.join(export_dir, "saved_model.json")
    if not os.path.exists(path):
        raise errors.NotFoundError(f"saved_model.load: {export_dir!r} holds no saved model "
                                   "(saved_model.json is missing; the save may not have "
                                   "finished)")
    with open(path) as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise errors.DataLossError(f"saved_model.load: {path} is not a jitgraph saved model")
    token = meta["token"]
    index, data = read_index(os.path.join(export_dir, "variables", token), "saved_model.load")
    objects = _build_objects(index["nodes"], load_arrays(index, data, "saved_model.load"))
    folder = os.path.join(export_dir, "functions", token)
    with np.load(os.path.join(folder, "constants.npz"),
                 allow_pickle=False) as z:
        constants = {k: z[k] for k in z.files}
    loaded = []
    for fi, entry in enumerate(meta["functions"]):
        same = next((j for j in range(fi) if meta["functions"][j]["concrete"] ==
                     entry["concrete"]), None)
        fn = loaded[same] if same is not None else _load_function(
            entry, fi, folder, constants, objects, backend)
        loaded.append(fn)
        if entry["owner"] is not None:
            objects[entry["owner"]].__dict__[entry["name"]] = fn
    root = objects[0]
    root.__dict__["signatures"] = {
        key: SignatureFunction(key, loaded[s["function"]]._loaded[s["concrete"]],
                               s["inputs"], s["outputs"])
        for key, s in meta["signatures"].items()}
    return root


def _build_objects(nodes, arrays):
    objs = []
    for i, n in enumerate(nodes):
        k = n["kind"]
        if k == "variable":
            objs.append(Variable(arrays[f"n{i}"], trainable=n.get("trainable", True),
                                 name=n.get("name")))
        elif k == "list":
            objs.append([])
        elif k == "dict":
            objs.append({})
        else:
            objs.append(_UserObject(k))
    for i, n in enumerate(nodes):
        obj = objs[i]
        items = n["children"].items()
        if isinstance(obj, list):
            obj.extend(objs[c] for _, c in sorted(items, key=lambda kv: int(kv[0])))
        elif isinstance(obj, dict):
            obj.update((name, objs[c]) for name, c in items)
        elif not isinstance(obj, Variable):
            for name, c in items:
                obj.__dict__[name] = objs[c]
    return objs


# ----------------------------------------------------------------------------- functions


def _key(j):
    tag = j[0]
    if tag == "T":
        return ("T", as_dtype(j[1]), tuple(j[2]))
    if tag == "S":
        return ("S", {"list": list, "tuple": tuple, None: None}[j[1]],
                tuple(_key(c) for c in j[2]))
    if tag == "M":
        return ("M", tuple(j[1]), tuple(_key(c) for c in j[2]))
    ty = {"bool": bool, "int": int, "float": float, "str": str, "NoneType": type(None)}[j[1]]
    return ("P", ty, j[2])


def _out(j):
    if "out" in j:
        return _Out(j["out"])
    if "list" in j:
        return [_out(x) for x in j["list"]]
    if "tuple" in j:
        return tuple(_out(x) for x in j["tuple"])
    if "dict" in j:
        return {k: _out(v) for k, v in j["dict"].items()}
    return j["py"]


def _spec(key, name):
    if key[0] == "T":
        return TensorSpec(key[2], key[1], name=name)
    return [_spec(k, None) for k in key[2]]


def _load_function(entry, fi, folder, constants, objects, backend):
    params = []
    for p in entry["params"]:
        kw = {"default": p["default"]} if "default" in p else {}
        params.append(inspect.Parameter(p["name"], inspect._ParameterKind(p["kind"]), **kw))
    specs = None
    if entry["input_signature"] is not None:
        names = entry.get("input_names") or [None] * len(entry["input_signature"])
        specs = [_spec(_key(k), n) for k, n in zip(entry["input_signature"], names)]
    fn = LoadedFunction(entry["python_name"], inspect.Signature(params), specs, backend)
    for ci, c in enumerate(entry["concrete"]):
        with open(os.path.join(folder, c["graph"])) as f:
            text = f.read()
        arrays = [constants[f"{fi}_{ci}_{k}"] for k in range(c["n_arrays"])]
        graph = parse(text, arrays=arrays, variables=[objects[n] for n in c["variables"]])
        fn._add(ConcreteFunction(graph, _out(c["outputs"]), tuple(_key(k) for k in c["key"]),
                                 c["names"], fn))
    return fn


class LoadedFunction(Function):
    """A jg.function restored from saved graphs (see the module docstring)."""

    def __init__(self, name, pysig, input_signature, backend):
        def saved_function(*args, **kwargs):
            """Runs the saved graph that fits (``python_function``: what jg.grad and
            other transforms call in place of the Python code, which is not saved)."""
            return self._run_python(args, kwargs)

        saved_function.__name__ = saved_function.__qualname__ = name
        saved_function.__signature__ = pysig
        super().__init__(saved_function, input_signature, autograph=False, backend=backend)
        self._loaded = []
        self._vjps = {}

    def _add(self, cf):
        self._loaded.append(cf)
        self._exact[cf._key] = cf
        if sig.is_general(cf._key):
            self._general.append(cf)
        self._traces.append(cf._key)

    def _trace(self, key, bound):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"loaded function {self.__name__!r} has no saved graph for arguments "
            f"({', '.join(sig.describe(k) for k in key)}); the saved signatures are:\n"
            f"{self.pretty_printed_concrete_signatures()}\nCall it with one of those, or "
            "trace and save the original function for these arguments"))

    # -- calls that do not take the compiled fast path
    def _run_python(self, args, kwargs):
        bound = self._bind(args, kwargs)
        specs = self._spec_keys or []
        leaves, key = [], []
        for i, (_, value) in enumerate(bound):
            key.append(_encode(value, leaves, specs[i] if i < len(specs) else None))
        key = tuple(key)
        cf = next((c for c in self._loaded if sig.compatible_call(c._key, key)), None)
        if cf is None:
            self._trace(key, bound)
        if tracing.in_graph_mode():  # inside another trace: inline the saved graph
            outs = replay(cf.graph, leaves)
            return _map_struct(cf._out, lambda i: outs[i])
        if sum(t._recording for t in _tape._tapes) > 1:
            # nested tapes (higher derivatives): every op of the graph on the tapes
            outs = _eager_replay(cf.graph, leaves, {})
            return _map_struct(cf._out, lambda i: outs[i])
        arrays = [t._value if t._value.flags.c_contiguous else t._value.copy(order="C")
                  for t in leaves]
        flat = [Tensor(a) for a in (cf._exe or cf._compile()).run(arrays)]
        if _tape.ACTIVE:
            self._record(cf, leaves, flat)
        return _map_struct(cf._out, lambda i: flat[i])

    def _record(self, cf, leaves, flat):
        variables = [v for v in cf.graph.variables if v.trainable]
        reads = [v._jg_read() for v in variables]  # the tape routes their gradient to v
        vjp = self._vjps.get(id(cf))
        if vjp is None:
            vjp = self._vjps[id(cf)] = _vjp_function(cf, variables, self._backend)
        floats = [i for i, t in enumerate(flat) if t.dtype.is_floating]

        def grad_fn(*dys):
            seeds = [dys[i] if dys[i] is not None else Tensor(np.zeros_like(flat[i]._value))
                     for i in floats]
            return list(vjp(*leaves, *seeds))

        _tape.record(_tape._CUSTOM, list(leaves) + reads, flat, {}, grad_fn=grad_fn)


def _encode(x, leaves, spec=None):
    """The call key of ``x`` with its tensors (eager or symbolic) appended to ``leaves``."""
    if isinstance(x, Variable):
        x = x._jg_read()
    if isinstance(x, (np.ndarray, np.generic)):
        x = constant(x)
    if not isinstance(x, Tensor) and spec is not None and spec[0] == "T" \
            and isinstance(x, (bool, int, float, list)):
        x = constant(x, dtype=spec[1])
    if isinstance(x, Tensor):
        if not x._symbolic:
            x = tracing.maybe_capture(x)
        leaves.append(x)
        return ("T", x.dtype, tuple(x.shape.as_list()))
    if isinstance(x, (list, tuple)):
        subs = spec[2] if spec is not None and spec[0] == "S" else [None] * len(x)
        return ("S", type(x), tuple(_encode(c, leaves, s) for c, s in zip(x, subs)))
    if isinstance(x, dict):
        keys = sorted(x, key=repr)
        return ("M", tuple(keys), tuple(_encode(x[k], leaves) for k in keys))
    return ("P", type(x), x)


def _eager_replay(graph, args, env):
    """Runs ``graph`` op by op on eager tensors, so active GradientTapes record every op
    (cond and while_loop run their sub-graphs in Python, as eager jitgraph does)."""
    env.update(zip(graph.inputs, args))
    for op in graph.ops:
        if op.type == "placeholder":
            continue
        if op.type == "read_variable":
            env[op.outputs[0]] = op.attrs["var"]._jg_read()
            continue
        if op.type == "constant":
            env[op.outputs[0]] = Tensor(op.attrs["value"])
            continue
        od = REGISTRY[op.type]
        ins = [env[v] for v in op.inputs]
        if op.type == "cond":
            outs = _eager_replay(op.subgraphs[0 if bool(ins[0]) else 1], ins[1:], env)
        elif op.type == "while_loop":
            vals, limit, i = ins, op.attrs.get("maximum_iterations"), 0
            while (limit is None or i < limit) and \
                    bool(_eager_replay(op.subgraphs[0], vals, env)[0]):
                vals, i = _eager_replay(op.subgraphs[1], vals, env), i + 1
            outs = vals
        elif op.subgraphs:
            raise errors.UnimplementedError(
                f"loaded function: nested GradientTapes cannot run the {op.type!r} op "
                f"({op.name}) op by op; take first derivatives only, or jg.grad of jg.grad")
        else:
            outs = apply_tensors(od, ins, dict(op.attrs))
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
        env.update(zip(op.outputs, outs))
    return [env[v] for v in graph.outputs]


def _vjp_function(cf, variables, backend):
    """A jg.function computing, from the inputs and the seeds of the float outputs, the
    gradients of ``cf``'s graph with respect to its inputs and ``variables``."""
    from ..autodiff.tape import GradientTape
    from ..function import function

    graph = cf.graph
    n = len(graph.inputs)
    floats = [i for i, v in enumerate(graph.outputs) if v.dtype.is_floating]

    def vjp(*args):
        xs, seeds = list(args[:n]), list(args[n:])
        with GradientTape(watch_accessed_variables=False) as tape:
            for x in xs:
                if x.dtype.is_floating:
                    tape.watch(x)
            for v in variables:
                tape.watch(v)
            outs = replay(graph, xs)
        return tape.gradient([outs[i] for i in floats], xs + list(variables),
                             output_gradients=seeds)

    vjp.__name__ = f"{cf.name}_vjp"
    return function(vjp, autograph=False, backend=backend)


class SignatureFunction:
    """``loaded.signatures[key]``: takes keyword arguments by input name and returns a dict
    of output tensors by name."""

    def __init__(self, key, cf, inputs, outputs):
        self._key, self._cf = key, cf
        self._inputs, self._outputs = list(inputs), dict(outputs)
        self._specs = [k for k in cf._key if k[0] == "T"]  # Python arguments were fixed

    @property
    def graph(self):
        return self._cf.graph

    @property
    def structured_input_signature(self):
        return (), {n: TensorSpec(k[2], k[1], name=n) for n, k in zip(self._inputs,
                                                                        self._specs)}

    @property
    def structured_outputs(self):
        outs = self._cf.graph.outputs
        return {n: TensorSpec(outs[i].shape, outs[i].dtype, name=n)
                for n, i in self._outputs.items()}

    def __call__(self, *args, **kwargs):
        if args:
            raise TypeError(f"signature {self._key!r} takes keyword arguments only: "
                            f"{', '.join(self._inputs)}")
        unknown = set(kwargs) - set(self._inputs)
        missing = [n for n in self._inputs if n not in kwargs]
        if unknown or missing:
            raise TypeError(f"signature {self._key!r} takes the arguments "
                            f"{', '.join(self._inputs)}; missing {missing}, unexpected "
                            f"{sorted(unknown)}")
        leaves = []
        for name, want in zip(self._inputs, self._specs):
            value = kwargs[name]
            if not isinstance(value, (Tensor, np.ndarray, np.generic, Variable)):
                value = constant(value, dtype=want[1])
            got = sig.encode(value, leaves, f"signature {self._key!r} argument {name!r}")
            if not sig.compatible(want, got):
                raise errors.InvalidArgumentError(
                    f"signature {self._key!r}: argument {name!r} expected "
                    f"{sig.describe(want)}, got {sig.describe(got)}")
        flat = (self._cf._exe or self._cf._compile()).run(leaves)
        return {n: Tensor(flat[i]) for n, i in self._outputs.items()}

    def __repr__(self):
        return f"<SignatureFunction {self._key!r} inputs={self._inputs}>"


__all__ = ["load", "LoadedFunction", "SignatureFunction"]
