"""The op library: every op defined once (type rule, NumPy implementation, gradient rule,
lowering) and exposed as a function that works eagerly and while tracing."""
# ruff: noqa: I001 - import order matters: later modules use the earlier ones

import sys as _sys

from . import core  # noqa: F401
from .core import REGISTRY, apply  # noqa: F401
from .elementwise import *  # noqa: F401,F403
from .state import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .indexing import _getitem, _setitem  # noqa: F401
from .assemble import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from . import nn, random  # noqa: F401 - namespaces (jg.nn.*, jg.random.*), not flattened
from .io import *  # noqa: F401,F403
from .control import *  # noqa: F401,F403
from .composite import *  # noqa: F401,F403
from . import conv  # noqa: F401 - jg.nn.conv2d, pooling (composites, in jg.nn only)
from .scan import *  # noqa: F401,F403
from .functional_ops import *  # noqa: F401,F403
from .mathx import *  # noqa: F401,F403
from .manip import *  # noqa: F401,F403
from .check import *  # noqa: F401,F403 - the assert op (jg.debugging.*)
from .pyfunc import *  # noqa: F401,F403
from .sort import *  # noqa: F401,F403
from .dynamic import *  # noqa: F401,F403
from .slicing import *  # noqa: F401,F403 - jg.slice, strided_slice, tensor_scatter_nd_min/max
from . import linalg_ops  # noqa: F401 - jg.linalg.cholesky, solve, ... (not flattened)
from . import special  # noqa: F401 - jg.math.lgamma, digamma, ... (not flattened)
from . import linalg_eig  # noqa: F401 - jg.linalg.eigh, eigvalsh (not flattened)
from . import linalg_decomp  # noqa: F401 - jg.linalg.qr, svd, pinv (not flattened)
from .elementwise import abs, pow, round, divide, truediv, where, cast  # noqa: F401,A004

_FLAT = ("elementwise", "state", "reduce", "shape", "indexing", "assemble", "linalg", "io",
         "control", "composite", "scan", "functional_ops", "mathx", "manip", "pyfunc", "check",
         "sort", "dynamic", "slicing")
__all__ = [n for m in _FLAT for n in _sys.modules[f"{__name__}.{m}"].__all__]
