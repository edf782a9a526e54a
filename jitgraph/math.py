"""``jg.math``: the elementwise and reduction ops under TensorFlow's ``tf.math`` names."""

from .ops import *  # noqa: F401,F403
from .ops import abs, pow, round, divide, truediv, where, cast  # noqa: F401,A004
from .ops.elementwise import is_finite, is_inf, is_nan, reciprocal, erf  # noqa: F401
