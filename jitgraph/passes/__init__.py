"""Graph -> Graph optimization passes, one per module, run as the explicit list ``PIPELINE``.

    canonicalize -> constant_fold -> cse -> simplify -> indexed_accumulate -> cse -> dce
                          (then, in the cpu backend's list, fusion and buffer planning)

``optimize(graph)`` runs them; ``rewrite``/``Rewriter`` (rewrite.py) is the graph copier
every pass is written with. Passes run after autodiff: ``stop_gradient`` is dropped here.
"""

from .pipeline import PIPELINE, optimize
from .rewrite import DROP, Rewriter, has_effects, rewrite

__all__ = ["PIPELINE", "optimize", "rewrite", "Rewriter", "DROP", "has_effects"]
