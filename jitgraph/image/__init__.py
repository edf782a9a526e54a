"""``jg.image``: TensorFlow's image ops, composed from jitgraph ops (so every backend compiles
them and autodiff differentiates them): resizing with TensorFlow's kernels, crops, pads,
flips, colour-space conversions and adjustments, random augmentations, quality metrics.

>>> jg.image.resize(jg.random.uniform([8, 32, 32, 3]), [64, 64], method="bicubic")
"""

from .color import *  # noqa: F401,F403
from .projective import *  # noqa: F401,F403
from .quality import *  # noqa: F401,F403
from .random_ops import *  # noqa: F401,F403
from .sizing import *  # noqa: F401,F403
