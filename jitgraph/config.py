"""Run-time switches, in one place: eager debugging of jg.functions, the default backend and
the stages dumped while compiling.

Environment variables (read when first needed):
  JITGRAPH_BACKEND   default backend of jg.function ("interpreter", "cpu", "cuda")
  JITGRAPH_DUMP      comma-separated stages printed to stderr when a function is traced or
                     compiled, e.g. ``JITGRAPH_DUMP=traced,optimized,llvm``
"""

import os
import sys

# The backend jg.function uses when neither backend= nor $JITGRAPH_BACKEND says otherwise.
DEFAULT_BACKEND = "cpu"

_run_eagerly = False


def run_functions_eagerly(run_eagerly):
    """Makes every ``jg.function`` run its Python function directly (for debugging).

    >>> jg.config.run_functions_eagerly(True)
    """
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly():
    """True after ``jg.config.run_functions_eagerly(True)``."""
    return _run_eagerly


def default_backend():
    """The backend name jg.function uses by default: ``$JITGRAPH_BACKEND`` or DEFAULT_BACKEND."""
    return os.environ.get("JITGRAPH_BACKEND") or DEFAULT_BACKEND


def dump_stages():
    """The set of stage names listed in ``$JITGRAPH_DUMP``."""
    raw = os.environ.get("JITGRAPH_DUMP", "")
    return {s.strip() for s in raw.split(",") if s.strip()}


def dump(stage, name, text):
    """Prints ``text`` to stderr when ``stage`` is listed in ``$JITGRAPH_DUMP``."""
    if stage in dump_stages():
        print(f"==== {stage}: {name} ====\n{text}", file=sys.stderr)


__all__ = ["run_functions_eagerly", "functions_run_eagerly", "default_backend",
           "dump_stages", "dump"]
