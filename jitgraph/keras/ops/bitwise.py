"""keras.ops' bitwise functions on jitgraph, which has no bitwise ops: two's-complement bits
by floor division and modulo (bit k of x is floormod(x // 2**k, 2); the sign bit is x < 0),
combined bit by bit and summed back; shifts multiply or floor-divide by a power of two.
bool inputs use the logical ops.

>>> ops.bitwise_and(x, 0xFF)
"""

import numpy as np

import jitgraph as jg

from ._common import promote, tensor


def _width(dtype, what):
    if dtype == jg.int32:
        return 32
    if dtype == jg.int64:
        return 64
    raise jg.errors.InvalidArgumentError(
        f"jg.keras.ops.{what}: needs int32, int64 or bool inputs, got {dtype.name}; cast with "
        "ops.cast(x, 'int32')")


def _bits(x, w):
    bits = [jg.floormod(x // jg.cast(2 ** k, x.dtype), jg.cast(2, x.dtype))
            for k in range(w - 1)]
    return bits + [jg.cast(x < 0, x.dtype)]


def _assemble(bits, dtype, w):
    out = bits[-1] * jg.cast(-(2 ** (w - 1)), dtype)
    for k, b in enumerate(bits[:-1]):
        out = out + b * jg.cast(2 ** k, dtype)
    return out


def _bitwise(name, logical, per_bit):
    def fn(x, y):
        a, b = promote(x, y)
        if a.dtype == jg.bool:
            return logical(a, b)
        w = _width(a.dtype, name)
        return _assemble([per_bit(p, q) for p, q in zip(_bits(a, w), _bits(b, w))], a.dtype, w)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} of two's-complement integers (or bools)."
    return fn


bitwise_and = _bitwise("bitwise_and", jg.logical_and, lambda p, q: p * q)
bitwise_or = _bitwise("bitwise_or", jg.logical_or, jg.maximum)
bitwise_xor = _bitwise("bitwise_xor", jg.logical_xor,
                       lambda p, q: jg.floormod(p + q, jg.cast(2, p.dtype)))


def bitwise_invert(x):
    x = tensor(x)
    if x.dtype == jg.bool:
        return jg.logical_not(x)
    _width(x.dtype, "bitwise_invert")
    return -x - 1


bitwise_not = bitwise_invert


def _powers(dtype, w):
    """2**k for k < w - 1, then -2**(w - 1) (the same residue modulo 2**w)."""
    return jg.constant(np.array([2 ** k for k in range(w - 1)] + [-(2 ** (w - 1))],
                                dtype=dtype.as_numpy_dtype))


def left_shift(x, y):
    a, s = promote(x, y)
    w = _width(a.dtype, "left_shift")
    k = jg.clip_by_value(s, 0, w - 1)
    out = a * jg.gather(_powers(a.dtype, w), jg.cast(k, jg.int32))
    return jg.where(s >= w, jg.zeros_like(out), out)


def right_shift(x, y):
    a, s = promote(x, y)
    w = _width(a.dtype, "right_shift")
    k = jg.clip_by_value(s, 0, w - 2)
    out = a // jg.gather(_powers(a.dtype, w), jg.cast(k, jg.int32))
    sign = jg.where(a < 0, -jg.ones_like(a), jg.zeros_like(a))
    return jg.where(s >= w - 1, sign, out)


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift
