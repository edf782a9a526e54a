"""PNG encoding (and decoding, for the reader) of 8-bit images with zlib alone.

``encode(pixels)`` takes a ``uint8`` array ``[height, width, channels]`` with 1 (grey),
2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels and writes one IHDR, one IDAT (rows with
filter type 0) and IEND. ``decode`` reads 8-bit PNGs of those colour types with any of the
five row filters (as PNG encoders such as TensorFlow's write them).

>>> import numpy as np
>>> img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
>>> bool((decode(encode(img)) == img).all())
True
"""

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOR_TYPE.items()}


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode(pixels):
    """PNG bytes of ``pixels``, a uint8 array ``[height, width, channels]``."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"png.encode: expected uint8 [height, width, 1|2|3|4], got "
                         f"{a.dtype}{list(a.shape)}")
    h, w, c = a.shape
    rows = np.zeros((h, 1 + w * c), np.uint8)  # a leading 0 per row: filter type None
    rows[:, 1:] = a.reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + _chunk(b"IEND", b""))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind, line, prev, bpp):
    if kind == 0:
        return line
    if kind == 2:
        return (line + prev).astype(np.uint8)
    out = line.astype(np.int32)
    up = prev.astype(np.int32)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 1:
            out[i] = (out[i] + left) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + (left + up[i]) // 2) & 0xFF
        elif kind == 4:
            ul = up[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + _paeth(left, up[i], ul)) & 0xFF
        else:
            raise ValueError(f"png.decode: unknown row filter {kind}")
    return out.astype(np.uint8)


def decode(data):
    """The uint8 array ``[height, width, channels]`` of an 8-bit, non-interlaced PNG."""
    if not data.startswith(SIGNATURE):
        raise ValueError("png.decode: not a PNG (bad signature)")
    pos, idat, header = len(SIGNATURE), b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if crc != zlib.crc32(kind + body) & 0xFFFFFFFF:
            raise ValueError(f"png.decode: CRC mismatch in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError("png.decode: no IHDR chunk")
    w, h, depth, color, _, _, interlace = header
    if depth != 8 or color not in _CHANNELS or interlace:
        raise ValueError(f"png.decode: only 8-bit, non-interlaced grey/RGB(A) PNGs are "
                         f"supported (depth {depth}, colour type {color})")
    c = _CHANNELS[color]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), np.uint8)
    prev = np.zeros(w * c, np.uint8)
    for r in range(h):
        prev = out[r] = _unfilter(int(raw[r, 0]), raw[r, 1:], prev, c)
    return out.reshape(h, w, c)
