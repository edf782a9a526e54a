"""The pass pipeline: ``PIPELINE`` is data (a list of ``(name, pass)`` pairs, each pass a
function Graph -> Graph that leaves its input alone), and ``optimize`` runs it.

``JITGRAPH_DUMP`` (or ``dump=``) prints the graph after passes: ``optimized``/``passes``/``all``
after every pass, or a comma-separated list of pass names. With verification on (``verify=True``,
``JITGRAPH_VERIFY=1``, or ``jg.config``'s debug switch where present) ``ir.verify`` checks the
graph after every pass and names the pass that broke it.
"""

import os
import sys

from ..ir import verify as _verify
from ..ir.verify import VerificationError
from .canonicalize import canonicalize
from .constant_fold import constant_fold
from .cse import cse
from .dce import dce
from .indexed_accumulate import indexed_accumulate
from .simplify import simplify

PIPELINE = [
    ("canonicalize", canonicalize),
    ("constant_fold", constant_fold),
    ("cse", cse),
    ("simplify", simplify),
    ("indexed_accumulate", indexed_accumulate),  # a loop's x[i] gradient adds one slice
    ("cse", cse),  # again: simplified forms may coincide (two x**2 become two square(x): one)
    ("dce", dce),
]

_ALL = {"optimized", "passes", "all", "1", "true"}
VERIFY = False  # tests switch this on (see tests/conftest.py or the passes tests)


def _dump_spec(dump):
    if dump is None:
        from_config = None
        try:
            from .. import config

            from_config = getattr(config, "dump_stages", lambda: None)()
        except ImportError:
            pass
        dump = from_config if from_config is not None else os.environ.get("JITGRAPH_DUMP", "")
    if dump is True:
        return _ALL
    if isinstance(dump, str):
        dump = dump.split(",")
    return {s.strip().lower() for s in dump or () if s.strip()}


def _verify_on(verify):
    if verify is not None:
        return verify
    if VERIFY or os.environ.get("JITGRAPH_VERIFY", "") not in ("", "0"):
        return True
    try:
        from .. import config

        return bool(getattr(config, "debug", lambda: False)())
    except ImportError:
        return False


def optimize(graph, pipeline=None, dump=None, verify=None, out=None):
    """Runs the passes of ``pipeline`` (default ``PIPELINE``) in order; returns a new graph.

    >>> opt = optimize(concrete.graph, dump="cse")   # prints the graph after CSE
    """
    pipeline = PIPELINE if pipeline is None else pipeline
    want = _dump_spec(dump)
    check = _verify_on(verify)
    out = out or sys.stderr
    for name, fn in pipeline:
        graph = fn(graph)
        if check:
            try:
                _verify(graph)
            except VerificationError as e:
                raise VerificationError(f"after pass {name!r}: {e}\n{graph}") from None
        if want & _ALL or name.lower() in want:
            print(f"--- after {name} ---\n{graph}", file=out)
    return graph
