"""The protobuf wire format, by hand: enough to write and read TensorBoard's ``Event`` and
``Summary`` messages without the protobuf package.

A message is built as bytes from fields (``varint_field``, ``bytes_field``, ...) joined in
field-number order, which is how protobuf serializes, so the bytes match TensorFlow's.
``parse`` splits a message back into ``{field number: [values]}`` (varints as ints, 64-bit
fields as 8 raw bytes, length-delimited fields as bytes).

>>> bytes_field(1, b"loss") + double_field(2, 0.5)
b'\\n\\x04loss\\x11\\x00\\x00\\x00\\x00\\x00\\x00\\xe0?'
"""

import struct

VARINT, I64, LEN, I32 = 0, 1, 2, 5


_SMALL = [bytes((i,)) for i in range(128)]


def varint(n):
    """``n`` (an int; negatives as two's complement 64-bit, as int64 fields) as a varint."""
    if 0 <= n < 128:
        return _SMALL[n]
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return varint(field << 3 | wire)


def varint_field(field, n):
    return _key(field, VARINT) + varint(int(n))


def double_field(field, x):
    return _key(field, I64) + struct.pack("<d", float(x))


def bytes_field(field, data):
    """A length-delimited field: ``data`` is bytes, a str (UTF-8) or a serialized message."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, LEN) + varint(len(data)) + bytes(data)


# ----------------------------------------------------------------------------- reading


def read_varint(buf, pos):
    """``(value, next position)`` of the varint at ``buf[pos:]``."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def parse(buf):
    """``{field number: [values in order]}`` for the message ``buf``."""
    fields, pos, n = {}, 0, len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == I64:
            value, pos = bytes(buf[pos:pos + 8]), pos + 8
        elif wire == LEN:
            size, pos = read_varint(buf, pos)
            value, pos = bytes(buf[pos:pos + size]), pos + size
        elif wire == I32:
            value, pos = bytes(buf[pos:pos + 4]), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire} (field {field})")
        if pos > n:
            raise ValueError(f"field {field} runs past the end of the message")
        fields.setdefault(field, []).append(value)
    return fields


def as_int64(n):
    """A varint read back as a signed int64."""
    return n - (1 << 64) if n >= 1 << 63 else n


def as_double(raw):
    return struct.unpack("<d", raw)[0]
