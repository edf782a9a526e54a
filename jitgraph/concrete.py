"""ConcreteFunction (one traced graph of a jg.function) and the tracing of a Python function
into a Graph: placeholders named after the parameters, outputs flattened, errors raised while
tracing annotated with the user's file:line."""

import inspect
import os
from collections import OrderedDict

import numpy as np

from . import backends, config, errors, tracing
from . import signature as sig
from .ir import Graph, copy_graph
from .tensor import Tensor, TensorSpec

_PKG = os.path.dirname(os.path.abspath(__file__))


class _Out:
    """Marks output number ``i`` inside a structured result."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return f"<output {self.i}>"


# ----------------------------------------------------------------------------- tracing


def trace_into_graph(fn, name, pysig, prefix, bound, key):
    """Calls ``fn`` on placeholders for the tensor leaves of ``key``; returns the Graph and the
    output structure (``_Out`` markers where graph outputs go)."""
    graph = Graph(name if name.isidentifier() else "fn")
    with tracing.graph_scope(graph):
        arguments = OrderedDict()
        params = list(pysig.parameters)
        for p in params[:len(prefix)]:
            arguments[p] = prefix[0]
        for (pname, value), k in zip(bound, key, strict=False):
            arguments[pname] = _symbolic_arg(graph, pname, value, k)
        ba = inspect.BoundArguments(pysig, arguments)
        try:
            out = fn(*ba.args, **ba.kwargs)
            flat = []
            struct = _flatten_outputs(out, graph, flat)
        except (errors.JitgraphError, TypeError, ValueError, IndexError) as e:
            _annotate(e, name)
            raise
    graph.outputs = flat
    return graph, struct


def _symbolic_arg(graph, pname, value, key):
    leaves = list(sig.tensor_leaves(key))
    names = iter([pname] if key[0] == "T" else [f"{pname}_{i}" for i in range(len(leaves))])
    return sig.rebuild(value, key, lambda k: tracing.placeholder(graph, next(names), k[1], k[2]))


def _flatten_outputs(out, graph, flat):
    if isinstance(out, Tensor) or hasattr(out, "_jg_read") or isinstance(out, np.ndarray):
        from .ops.core import as_tensor

        t = as_tensor(out, "return value")
        flat.append(tracing.value_of(graph, t))
        return _Out(len(flat) - 1)
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return type(out)(*[_flatten_outputs(o, graph, flat) for o in out])
    if isinstance(out, (list, tuple)):
        return type(out)(_flatten_outputs(o, graph, flat) for o in out)
    if isinstance(out, dict):
        return type(out)((k, _flatten_outputs(v, graph, flat)) for k, v in out.items())
    if hasattr(type(out), "_jg_components"):
        raise errors.TracingError(errors.at_user_line(
            f"a jg.function cannot return a {type(out).__name__} (its elements live in the "
            "graph); return ta.stack(), ta.concat() or ta.read(i)"))
    return out


def _user_frame(tb):
    loc = None
    while tb is not None:
        fn = tb.tb_frame.f_code.co_filename
        if not fn.startswith(_PKG) and not fn.startswith("<frozen"):
            loc = (fn, tb.tb_lineno)
        tb = tb.tb_next
    return loc


def _annotate(e, fname):
    """Appends the user's file:line (the innermost user frame) to an error raised while
    tracing, unless the message already names it."""
    loc = _user_frame(e.__traceback__)
    if not loc or not e.args or not isinstance(e.args[0], str):
        return
    where = errors.format_location(loc)
    if where not in e.args[0]:
        e.args = (f"{e.args[0]} (while tracing {fname}, {where})",) + e.args[1:]


# ----------------------------------------------------------------------------- results


def _unpack(struct, outs):
    if type(struct) is _Out:
        return Tensor(outs[struct.i])
    if isinstance(struct, tuple) and hasattr(struct, "_fields"):
        return type(struct)(*[_unpack(s, outs) for s in struct])
    if isinstance(struct, (list, tuple)):
        return type(struct)(_unpack(s, outs) for s in struct)
    if isinstance(struct, dict):
        return type(struct)((k, _unpack(v, outs)) for k, v in struct.items())
    return struct


def _packer(struct):
    """A function from the backend's output arrays to the structured result."""
    if type(struct) is _Out:
        i = struct.i
        return lambda outs: Tensor(outs[i])
    if type(struct) is tuple and all(type(s) is _Out for s in struct):
        idx = [s.i for s in struct]
        return lambda outs: tuple([Tensor(outs[i]) for i in idx])
    return lambda outs: _unpack(struct, outs)


def _map_struct(struct, fn):
    if type(struct) is _Out:
        return fn(struct.i)
    if isinstance(struct, tuple) and hasattr(struct, "_fields"):
        return type(struct)(*[_map_struct(s, fn) for s in struct])
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_struct(s, fn) for s in struct)
    if isinstance(struct, dict):
        return type(struct)((k, _map_struct(v, fn)) for k, v in struct.items())
    return struct


# ----------------------------------------------------------------------------- ConcreteFunction


class ConcreteFunction:
    """One trace of a jg.function: a Graph plus how to call it.

    >>> cf = f.get_concrete_function(jg.TensorSpec([None], jg.float32))
    >>> print(cf.graph); cf(jg.constant([1., 2.]))
    """

    def __init__(self, graph, out_struct, key, names, function):
        self.graph = graph
        self._out = out_struct
        self._key = key
        self._names = names
        self._function = function
        self._exe = None
        self._pack = _packer(out_struct)
        self._hits = 0  # fast-path calls (function.py: a native dispatcher after a few)

    @property
    def name(self):
        return self.graph.name

    @property
    def structured_input_signature(self):
        """(args, kwargs): TensorSpecs (named after the parameters) and Python values."""
        args = []
        for name, k in zip(self._names, self._key, strict=False):
            leaves = iter([name] if k[0] == "T" else
                          [f"{name}_{i}" for i in range(len(list(sig.tensor_leaves(k))))])
            args.append(_spec_struct(k, lambda lk, names=leaves: TensorSpec(lk[2], lk[1],
                                                                             next(names))))
        return tuple(args), {}

    @property
    def structured_outputs(self):
        """The outputs as traced: symbolic tensors where the graph returns tensors."""
        return _map_struct(self._out, lambda i: tracing.SymbolicTensor(self.graph.outputs[i]))

    @property
    def inputs(self):
        """The graph's placeholders, as symbolic tensors (``.shape``, ``.dtype``, ``.name``)."""
        return [tracing.SymbolicTensor(v) for v in self.graph.inputs]

    @property
    def outputs(self):
        """The graph's outputs, flattened, as symbolic tensors."""
        return [tracing.SymbolicTensor(v) for v in self.graph.outputs]

    @property
    def variables(self):
        return list(self.graph.variables)

    @property
    def trainable_variables(self):
        return [v for v in self.graph.variables if getattr(v, "trainable", False)]

    def _compile(self):
        config.log_placement(self.name, self._function._backend or config.default_backend())
        backend = backends.get(self._function._backend)
        self._exe = backend.compile(copy_graph(self.graph))
        return self._exe

    def _native_dispatcher(self):
        """A builtin running this function's executable from native code
        (codegen/dispatch.py), or None where it does not apply (another backend, variables,
        unknown dims, outputs other than one tensor or a flat tuple of them)."""
        from .codegen import dispatch
        from .codegen.runtime import Executable

        exe, out = self._exe, self._out
        single = type(out) is _Out
        leaves = [out] if single else out if type(out) is tuple else ()
        if not leaves or len(leaves) != len(self.graph.outputs) or any(
                type(s) is not _Out or s.i != k for k, s in enumerate(leaves)):
            return None
        if type(exe) is not Executable or not dispatch.eligible(exe):
            return None
        try:
            return dispatch.make(exe, single)
        except (RuntimeError, OSError, AttributeError):
            # an interpreter whose object layouts the probes do not recognize: the Python
            # path serves every call, as before
            return None

    def _call_arrays(self, arrays):
        exe = self._exe or self._compile()
        return self._pack(exe.run(arrays))

    def __call__(self, *args, **kwargs):
        fn = self._function
        try:
            bound = fn._bind(args, kwargs)
        except TypeError:
            bound = self._bind_tensor_args(args, kwargs)
        leaves, key = [], []
        for name, value in bound:
            key.append(sig.encode(value, leaves, f"{self.name}() argument {name!r}"))
        for (name, _), want, got in zip(bound, self._key, key, strict=False):
            if not sig.compatible(want, got):
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"concrete function {self.name}: argument {name!r} expected "
                    f"{sig.describe(want)}, got {sig.describe(got)}"))
        return self._call_arrays([a for a in leaves if isinstance(a, np.ndarray)])

    def _bind_tensor_args(self, args, kwargs):
        """As TensorFlow: a concrete function takes only the parameters traced as tensors;
        those traced with Python values (``get_concrete_function(1)``) keep those values."""
        python = {n: k[2] for n, k in zip(self._names, self._key, strict=False)
                  if k[0] == "P"}
        tensor_params = [n for n in self._names if n not in python and n not in kwargs]
        if len(args) > len(tensor_params):
            raise TypeError(f"concrete function {self.name}: takes the tensor arguments "
                            f"({', '.join(tensor_params)}), got {len(args)} positional "
                            f"arguments")
        given = dict(zip(tensor_params, args, strict=False))
        given.update(kwargs)
        given.update({n: v for n, v in python.items() if n not in given})
        missing = [n for n in self._names if n not in given]
        if missing:
            raise TypeError(f"concrete function {self.name}: missing the arguments "
                            f"{', '.join(map(repr, missing))}")
        return [(n, given[n]) for n in self._names]

    def explain(self, stage="traced"):
        """The text of a compilation stage: "traced", "optimized", "autograph", or the
        backend's "llvm" / "asm" / "ptx".

        >>> print(f.get_concrete_function(x).explain("optimized"))
        """
        if stage == "traced":
            return str(self.graph)
        backend_name = self._function._backend or config.default_backend()
        if stage == "optimized" and backend_name != "interpreter":
            # the graph exactly as the backend compiles it (the cpu backend adds fusion)
            return backends.get(backend_name).explain(copy_graph(self.graph), "optimized")
        if stage == "optimized":
            try:
                from . import passes
                optimize = passes.optimize
            except (ImportError, AttributeError):
                return (str(self.graph) + "\n# no optimization passes are installed "
                        "(jitgraph.passes.optimize): this is the traced graph")
            return str(optimize(copy_graph(self.graph)))
        if stage == "autograph":
            from .autograph import to_code

            return to_code(self._function.python_function)
        backend = backends.get(self._function._backend)
        return backend.explain(copy_graph(self.graph), stage)

    def pretty_printed_signature(self):
        pairs = zip(self._names, self._key, strict=False)
        args = ", ".join(f"{n}: {sig.describe(k)}" for n, k in pairs)
        outs = _map_struct(self._out, lambda i: _TypeText(self.graph.outputs[i]))
        return f"{self.name}({args})\n  Returns: {outs}"

    def __repr__(self):
        return f"<ConcreteFunction {self.pretty_printed_signature().splitlines()[0]}>"


class _TypeText:
    def __init__(self, v):
        self.v = v

    def __repr__(self):
        dims = ",".join("?" if d is None else str(d) for d in self.v.shape)
        return f"{self.v.dtype.name}[{dims}]"


def _spec_struct(key, make_leaf):
    if key[0] == "T":
        return make_leaf(key)
    if key[0] == "S":
        items = [_spec_struct(k, make_leaf) for k in key[2]]
        return items if key[1] is list else tuple(items)
    if key[0] == "M":
        return {k: _spec_struct(c, make_leaf) for k, c in zip(key[1], key[2], strict=False)}
    if key[0] == "P":
        return key[2]
    return key


__all__ = ["ConcreteFunction", "trace_into_graph"]
