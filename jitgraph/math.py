"""``jg.math``: the elementwise and reduction ops under TensorFlow's ``tf.math`` names."""

from .ops import *  # noqa: F401,F403
from .ops import abs, cast, divide, pow, round, truediv, where  # noqa: F401,A004
from .ops.elementwise import erf, is_finite, is_inf, is_nan, reciprocal  # noqa: F401
from .ops.manip import (  # noqa: F401
    bincount,
    segment_max,
    segment_min,
    unsorted_segment_max,
    unsorted_segment_min,
    unsorted_segment_prod,
)
from .ops.mathx import polyval, rint  # noqa: F401
from .ops.sort import in_top_k, top_k  # noqa: F401
from .ops.special import (  # noqa: F401
    angle,
    bessel_i0e,
    bessel_i1e,
    betainc,
    conj,
    digamma,
    erfc,
    erfinv,
    igamma,
    igammac,
    imag,
    lbeta,
    lgamma,
    ndtri,
    polygamma,
    real,
    xdivy,
    xlog1py,
    zeta,
)
from .ops.tfmath import *  # noqa: F401,F403 - more tf.math functions (ops/tfmath.py)
