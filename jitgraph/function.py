"""``jg.function``: traces a Python function into a Graph per input signature and runs the
graph with a backend.

Calls are dispatched by a trace cache. The hot path (positional Tensor / NumPy / Python
scalar arguments seen before) builds a flat key with one loop, does one dict lookup and hands
the arrays to the backend's Executable. Everything else (keyword arguments, nested
structures, Variables, new signatures) takes the slow path in ``Function._lookup``, which
encodes arguments with ``signature.encode`` and traces on a miss. ConcreteFunction (one trace)
lives in concrete.py.
"""

import functools
import inspect
import warnings
import weakref

import numpy as np

from . import config, errors, tracing
from . import signature as sig
from . import variables as _variables
from .autodiff import tape as _tape
from .concrete import ConcreteFunction, trace_into_graph
from .tensor import Tensor

RETRACE_WARN_AFTER = 5  # traces of one function before the retracing warning
_FAST_SCALARS = frozenset((bool, int, float))
_FAST_CACHE_LIMIT = 4096
_NATIVE_AFTER = 3  # fast-path calls of one signature before it gets a native dispatcher


class RetracingWarning(UserWarning):
    """A jg.function was traced again and again (see its message for the arguments)."""


class VariableCreationError(errors.JitgraphError, ValueError):
    """A jg.function created a Variable on a trace after its first."""


class Function:
    """A Python function compiled per input signature. Create it with ``jg.function``."""

    def __init__(self, python_function, input_signature=None, autograph=True,
                 reduce_retracing=False, backend=None, instance=None):
        # first, so that the error messages below can name the function, and so that the
        # attributes set below win over those update_wrapper copies from a callable object
        functools.update_wrapper(self, python_function)
        if not hasattr(self, "__name__"):  # a callable object (a Keras layer or model)
            self.__name__ = self.__qualname__ = type(python_function).__name__
        self._python_function = python_function
        self._input_signature = None if input_signature is None else list(input_signature)
        self._autograph = autograph
        self._reduce_retracing = reduce_retracing
        self._backend = backend
        self._instance = instance  # weakref to `self` of a bound method, or None
        try:
            self._sig = inspect.signature(python_function)
        except (TypeError, ValueError) as e:
            raise TypeError(f"jg.function {self.__name__!r}: cannot read the parameters of "
                            f"{python_function!r} ({e}); wrap it in a Python function "
                            "(def f(x): ...) and decorate that") from None
        self._params = list(self._sig.parameters)[1 if instance is not None else 0:]
        self._converted = None
        self._fast = {}  # flat fast key -> ConcreteFunction
        self._native = None  # native dispatcher of the hot signature (codegen/dispatch.py)
        self._exact = {}  # key -> ConcreteFunction
        self._general = []  # ConcreteFunctions with None dims, newest first
        self._traces = []  # keys of all traces, in order
        self._warned = False
        self._bound = weakref.WeakKeyDictionary()
        self._bound_by_id = {}
        self._spec_keys = None
        if self._input_signature is not None:
            self._spec_keys = [sig.spec_key(s, f"jg.function {self.__name__!r}: "
                                            f"input_signature[{i}]")
                               for i, s in enumerate(self._input_signature)]
            if len(self._spec_keys) > len(self._params):
                raise TypeError(f"jg.function {self.__name__!r}: input_signature has "
                                f"{len(self._spec_keys)} entries but the function takes "
                                f"{len(self._params)} arguments ({', '.join(self._params)}); "
                                "give one jg.TensorSpec per parameter")

    # -- public API
    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return self._input_signature

    def experimental_get_tracing_count(self):
        """How many times the function has been traced."""
        return len(self._traces)

    def get_concrete_function(self, *args, **kwargs):
        """The ConcreteFunction for these arguments (Tensors, arrays or ``jg.TensorSpec``s);
        the same object for the same signature.

        >>> cf = f.get_concrete_function(jg.TensorSpec([None, 3], jg.float32))
        """
        if not args and not kwargs and self._spec_keys is not None:
            key = tuple(self._spec_keys) + self._default_keys()
            return self._exact.get(key) or self._trace(key, None)
        return self._lookup(args, kwargs)[0]

    def pretty_printed_concrete_signatures(self):
        """One block per trace: the arguments' types and what the function returns."""
        seen, blocks = set(), []
        for cf in list(self._exact.values()) + self._general:
            if id(cf) not in seen:
                seen.add(id(cf))
                blocks.append(cf.pretty_printed_signature())
        return "\n\n".join(blocks)

    def __repr__(self):
        return f"<jg.function {self.__name__}>"

    # -- methods: one Function per instance, held weakly
    def __get__(self, instance, owner=None):
        if instance is None or self._instance is not None:
            return self
        try:
            bound = self._bound.get(instance)
        except TypeError:  # unhashable instance
            bound = self._bound_by_id.get(id(instance))
        if bound is None:
            bound = Function(self._python_function, self._input_signature, self._autograph,
                             self._reduce_retracing, self._backend, weakref.ref(instance))
            try:
                self._bound[instance] = bound
            except TypeError:
                self._bound_by_id[id(instance)] = bound
                weakref.finalize(instance, self._bound_by_id.pop, id(instance), None)
        return bound

    # -- calling
    def __call__(self, *args, **kwargs):
        if not kwargs and not config._run_eagerly and not _tape.ACTIVE \
                and not tracing.ACTIVE_SCOPES:
            native = self._native
            if native is not None:  # the hot signature, checked and run in native code
                r = native(*args)
                if r is not None:  # None: not this signature (or an error to raise)
                    return r
            key, arrays = [], []
            for a in args:
                t = type(a)
                if t is Tensor:
                    v = a._value
                    key.append(v.dtype)
                    key.append(v.shape)
                    arrays.append(v)
                elif t is np.ndarray:
                    key.append(a.dtype)
                    key.append(a.shape)
                    arrays.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
                elif t in _FAST_SCALARS:
                    key.append(t)
                    key.append(a)
                else:
                    break
            else:
                cf = self._fast.get(tuple(key))
                if cf is not None:
                    if cf._hits < _NATIVE_AFTER:
                        cf._hits += 1
                        if cf._hits == _NATIVE_AFTER and len(arrays) == len(args):
                            self._native = cf._native_dispatcher() or self._native
                    return cf._call_arrays(arrays)
        return self._call_slow(args, kwargs)

    def _call_slow(self, args, kwargs):
        if config._run_eagerly or tracing.in_graph_mode() or _tape.ACTIVE:
            # eager debugging; a call inside another trace is inlined into it; under an
            # active GradientTape the Python function runs so the tape sees every op
            return self._run_python(args, kwargs)
        cf, leaves = self._lookup(args, kwargs)
        if not kwargs:
            self._remember_fast(args, cf)
        return cf._call_arrays([a for a in leaves if isinstance(a, np.ndarray)])

    def _run_python(self, args, kwargs):
        fn = self._python_function if config._run_eagerly else self._traced_function()
        if self._instance is not None:
            args = (self._self(),) + tuple(args)
        return fn(*args, **kwargs)

    def _remember_fast(self, args, cf):
        key = []
        for a in args:
            t = type(a)
            if t is Tensor or t is np.ndarray:
                v = a._value if t is Tensor else a
                key += (v.dtype, v.shape)
            elif t in _FAST_SCALARS:
                key += (t, a)
            else:
                return
        if len(self._fast) >= _FAST_CACHE_LIMIT:
            self._fast.clear()
        self._fast[tuple(key)] = cf

    # -- the trace cache
    def _self(self):
        obj = self._instance()
        if obj is None:
            raise ReferenceError(f"the object of method {self.__name__!r} no longer exists")
        return obj

    def _bind(self, args, kwargs):
        """[(parameter name, value)] for a call, defaults applied, `self` left out."""
        if self._instance is not None:
            args = (self._self(),) + tuple(args)
        try:
            ba = self._sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.__name__}(): {e}") from None
        ba.apply_defaults()
        items = list(ba.arguments.items())
        return items[1:] if self._instance is not None else items

    def _default_keys(self):
        extra = []
        for name in self._params[len(self._spec_keys):]:
            p = self._sig.parameters[name]
            if p.default is inspect.Parameter.empty:
                raise TypeError(f"{self.__name__}: parameter {name!r} has no input_signature "
                                "entry and no default")
            extra.append(sig.encode(p.default, [], name))
        return tuple(extra)

    def _lookup(self, args, kwargs):
        """(ConcreteFunction, tensor leaves) for a call; traces on a miss."""
        bound = self._bind(args, kwargs)
        leaves, key = [], []
        specs = self._input_signature or []
        for i, (name, value) in enumerate(bound):  # noqa: B007
            key.append(sig.encode(value, leaves, f"{self.__name__}() argument {name!r}",
                                  specs[i] if i < len(specs) else None))
        key = tuple(key)
        if self._spec_keys is not None:
            self._check_signature(bound, key)
            general = tuple(self._spec_keys) + key[len(self._spec_keys):]
            cf = self._exact.get(general) or self._trace(general, bound)
            return cf, leaves
        cf = self._exact.get(key)
        if cf is None:
            cf = next((g for g in self._general if sig.compatible_call(g._key, key)), None)
            if cf is None:
                cf = self._trace(self._relaxed(key), bound)
            self._exact[key] = cf
        return cf, leaves

    def _relaxed(self, key):
        if not self._reduce_retracing:
            return key
        for old in reversed(self._traces):
            r = sig.relax_call(old, key)
            if r is not None:
                return r
        return key

    def _check_signature(self, bound, key):
        for (name, _), spec, k in zip(bound, self._spec_keys, key, strict=False):
            if not sig.compatible(spec, k):
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"{self.__name__}(): argument {name!r} does not match the input_signature: "
                    f"expected {sig.describe(spec)}, got {sig.describe(k)}; pass a value of "
                    "that dtype and shape (None dims accept any size) or change the "
                    "input_signature"))

    def _traced_function(self):
        if self._converted is None:
            fn = self._python_function
            if self._autograph:
                try:
                    from .autograph import convert
                except ImportError:
                    convert = None
                if convert is not None:
                    fn = convert(fn)
            self._converted = fn
        return self._converted

    def _trace(self, key, bound):
        """Traces the function for ``key`` and caches the ConcreteFunction."""
        names = self._params if bound is None else [n for n, _ in bound]
        if bound is None:  # from the input_signature: defaults fill the other parameters
            empty = inspect.Parameter.empty
            bound = [(n, None if i < len(self._spec_keys) or
                      self._sig.parameters[n].default is empty else self._sig.parameters[n].default)
                     for i, n in enumerate(names)]
        prefix = (self._self(),) if self._instance is not None else ()
        with _variable_guard(self) as guard:
            graph, out_struct = trace_into_graph(self._traced_function(), self.__name__,
                                                 self._sig, prefix, bound, key)
        if guard.created and not self._traces:
            # as TensorFlow: a first trace that created Variables runs once more, to catch a
            # function that creates them on every call (its graph would share one Variable
            # between calls, unlike the eager function); that second graph is dropped
            with _variable_guard(self, again=True):
                trace_into_graph(self._traced_function(), self.__name__, self._sig, prefix,
                                 bound, key)
        cf = ConcreteFunction(graph, out_struct, key, names, self)
        self._exact[key] = cf
        if sig.is_general(key):
            self._general.insert(0, cf)
        self._traces.append(key)
        if len(self._traces) >= RETRACE_WARN_AFTER and not self._warned:
            self._warned = True
            self._warn_retracing(names)
        config.dump("traced", self.__name__, str(graph))
        return cf

    def _warn_retracing(self, names):
        changed = []
        for i, name in enumerate(names):
            seen = []
            for k in self._traces:
                d = sig.describe(k[i]) if i < len(k) else "?"
                if d not in seen:
                    seen.append(d)
            if len(seen) > 1:
                changed.append(f"{name} ({', '.join(seen[-3:])})")
        msg = (f"jg.function {self.__name__!r} has been traced {len(self._traces)} times; the "
               f"arguments that changed: {'; '.join(changed) or 'none (new objects)'}. Each new "
               "Python value or tensor shape retraces: pass tensors instead of Python numbers, "
               "or use input_signature with None dims or reduce_retracing=True")
        loc = errors.user_location()
        if loc:
            warnings.warn_explicit(msg, RetracingWarning, loc[0], loc[1])
        else:
            warnings.warn(msg, RetracingWarning, stacklevel=4)


class _variable_guard:
    """While tracing: Variables may be created only by the function's first trace."""

    def __init__(self, fn, again=False):
        self.fn = fn
        self.again = again  # the check trace after a first trace that created Variables
        self.created = 0

    def hook(self, var):
        if self.again and tracing.in_graph_mode():
            raise VariableCreationError(errors.at_user_line(
                f"jg.function {self.fn.__name__!r} creates a Variable on every call; "
                "Variables may only be created on the first call. Create them outside the "
                "function, or only once (e.g. `if self.v is None: self.v = jg.Variable(...)`)"))
        self.created += 1
        if self.fn._traces and tracing.in_graph_mode():
            raise VariableCreationError(errors.at_user_line(
                f"jg.function {self.fn.__name__!r} creates a Variable on a later trace (trace "
                f"{len(self.fn._traces) + 1}); Variables may only be created on the first trace. "
                "Create them outside the function, or only once (e.g. `if self.v is None:`)"))

    def __enter__(self):
        _variables._creation_hooks.append(self.hook)
        return self

    def __exit__(self, *exc):
        _variables._creation_hooks.remove(self.hook)


def function(func=None, input_signature=None, autograph=True, reduce_retracing=False,
             backend=None, jit_compile=None, experimental_relax_shapes=None, name=None):
    """Compiles ``func`` into graphs, one per input signature (``tf.function``'s API).

    >>> @jg.function
    ... def f(x, y):
    ...     return jg.reduce_sum(x * y)
    >>> f(jg.constant([1., 2.]), jg.constant([3., 4.]))

    ``jit_compile`` is accepted for TensorFlow compatibility and ignored (jitgraph always
    compiles); ``backend`` is "interpreter", "cpu" or "cuda" (default: config.default_backend()).
    """
    if experimental_relax_shapes:
        reduce_retracing = True

    def decorate(f):
        instance = None
        if isinstance(f, Function):  # a method reached through its object stays bound to it
            f, instance = f.python_function, f._instance
        return Function(f, input_signature, autograph, reduce_retracing, backend, instance)

    return decorate if func is None else decorate(func)


__all__ = ["function", "Function", "RetracingWarning", "VariableCreationError"]
