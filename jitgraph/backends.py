"""The backend interface and registry.

A backend is any object with

    compile(graph) -> Executable      Executable.run(args: list[np.ndarray]) -> list[np.ndarray]
    explain(graph, stage) -> str      the text of a stage ("llvm", "asm", "ptx", ...)

``Executable.run`` takes C-contiguous arrays in ``graph.inputs`` order; variables are reached
through the Variable objects in ``graph.variables`` (read ``_value``, write with
``_buffer_for_write()`` or ``_set``); the returned arrays are fresh and owned by the caller.

Backends are registered by name. Built-in names are imported lazily from ``_LAZY`` (the module
registers itself on import with ``backends.register(name, obj)``), so ``import jitgraph``
never loads LLVM or CUDA.
"""

import importlib

from . import config, errors

_REGISTERED = {}

# name -> module that calls register(name, ...) when imported
_LAZY = {
    "interpreter": "jitgraph.interpreter",
    "cpu": "jitgraph.codegen",
    "cuda": "jitgraph.codegen.cuda",
}


def register(name, backend):
    """Makes ``backend`` available as ``jg.function(..., backend=name)``."""
    _REGISTERED[name] = backend
    return backend


def get(name=None):
    """The backend called ``name`` (default: ``config.default_backend()``).

    >>> get("interpreter").compile(graph).run([np.ones(3, np.float32)])
    """
    name = name or config.default_backend()
    b = _REGISTERED.get(name)
    if b is not None:
        return b
    module = _LAZY.get(name)
    if module is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(names())}")
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise errors.UnimplementedError(
            f"backend {name!r} is not available here: importing {module} failed ({e})") from None
    b = _REGISTERED.get(name)
    if b is None:
        raise errors.UnimplementedError(
            f"backend {name!r} is not available: {module} did not register it")
    return b


def names():
    """Names of known backends (registered or lazily importable)."""
    return set(_REGISTERED) | set(_LAZY)


__all__ = ["register", "get", "names"]
