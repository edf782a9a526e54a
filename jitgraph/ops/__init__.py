"""The op library: every op defined once (type rule, NumPy implementation, gradient rule,
lowering) and exposed as a function that works eagerly and while tracing."""

from . import core
from .core import REGISTRY, apply
from .elementwise import *  # noqa: F401,F403
from .state import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .nn import *  # noqa: F401,F403
from .random import *  # noqa: F401,F403
from .io import *  # noqa: F401,F403
from .control import *  # noqa: F401,F403
from .elementwise import abs, pow, round, divide, truediv, where, cast  # noqa: F401,A004

import sys as _sys  # noqa: E402

# nn and random stay namespaces (jg.nn.*, jg.random.*); the rest is flat (jg.*)
__all__ = [n for m in ("elementwise", "state", "reduce", "shape", "linalg", "io", "control")
           for n in _sys.modules[f"{__name__}.{m}"].__all__]
