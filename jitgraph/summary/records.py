"""TFRecord framing, the container of TensorBoard event files: each record is

    uint64 length | uint32 masked CRC32C of the length | data | uint32 masked CRC32C of data

(little-endian). CRC32C (Castagnoli) is computed here without extra packages: a table
loop for short records, and for long ones (images) NumPy runs the loop over many chunks at
once and the chunk CRCs are combined with the zero-extension operator, as zlib's
``crc32_combine`` does.

>>> crc32c(b"123456789") == 0xE3069283
True
"""

import struct

import numpy as np

_POLY = 0x82F63B78  # CRC32C, bit-reversed


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t.append(c)
    return t


_TABLE = _table()
_NP_TABLE = np.array(_TABLE, np.uint32)
_CHUNK = 1024  # bytes per lane of the NumPy loop
_SHORT = 4 * _CHUNK


def _crc_loop(data, crc=0xFFFFFFFF):
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _shift_tables(nbytes):
    """Four 256-entry tables of the linear map 'append ``nbytes`` zero bytes' on the raw
    CRC register (so ``shift(c) = T0[c & 255] ^ T1[c >> 8 & 255] ^ ...``)."""
    basis = [_crc_loop(bytes(nbytes), 1 << i) for i in range(32)]
    tables = []
    for k in range(4):
        row = [0] * 256
        for v in range(1, 256):
            low = v & -v
            row[v] = row[v ^ low] ^ basis[8 * k + low.bit_length() - 1]
        tables.append(row)
    return tables


_SHIFT = {}


def _combine(crc1, crc2, tables):
    """CRC of A||B from the CRCs of A and B (B of the length ``tables`` shift by)."""
    t0, t1, t2, t3 = tables
    c = crc1
    return (t0[c & 0xFF] ^ t1[c >> 8 & 0xFF] ^ t2[c >> 16 & 0xFF] ^ t3[c >> 24]) ^ crc2


def crc32c(data):
    """The CRC32C of ``data`` (bytes-like)."""
    data = memoryview(bytes(data)) if not isinstance(data, (bytes, bytearray)) else data
    n = len(data)
    if n < _SHORT:
        return _crc_loop(data) ^ 0xFFFFFFFF
    lanes = n // _CHUNK
    block = np.frombuffer(data, np.uint8, count=lanes * _CHUNK).reshape(lanes, _CHUNK)
    crc = np.full(lanes, 0xFFFFFFFF, np.uint32)
    for j in range(_CHUNK):
        crc = _NP_TABLE[(crc ^ block[:, j]) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    tables = _SHIFT.get(_CHUNK) or _SHIFT.setdefault(_CHUNK, _shift_tables(_CHUNK))
    total = int(crc[0])
    for c in crc[1:].tolist():
        total = _combine(total, c, tables)
    tail = data[lanes * _CHUNK:]
    if len(tail):
        tail_tables = _shift_tables(len(tail))
        total = _combine(total, _crc_loop(tail) ^ 0xFFFFFFFF, tail_tables)
    return total


def masked_crc32c(data):
    """TFRecord's masked CRC: rotated right by 15 bits, plus a constant."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    """One TFRecord: ``data`` with its length and both checksums."""
    head = struct.pack("<Q", len(data))
    return (head + struct.pack("<I", masked_crc32c(head)) + bytes(data)
            + struct.pack("<I", masked_crc32c(data)))


class CorruptRecordError(ValueError):
    """A TFRecord whose length or data does not match its checksum, or that is cut short."""


def read_records(blob, check_crc=True):
    """The data of each record in ``blob`` (a file's bytes), checking both CRCs. A record
    cut short at the end (a file still being written) ends the iteration quietly, as
    TensorBoard's readers do; a checksum mismatch raises ``CorruptRecordError`` naming the
    record's offset."""
    pos, n = 0, len(blob)
    while pos + 12 <= n:
        head = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", head)
        (head_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if check_crc and head_crc != masked_crc32c(head):
            raise CorruptRecordError(f"TFRecord at byte {pos}: the length's CRC does not match")
        start, end = pos + 12, pos + 12 + length
        if end + 4 > n:
            return
        data = blob[start:end]
        (data_crc,) = struct.unpack("<I", blob[end:end + 4])
        if check_crc and data_crc != masked_crc32c(data):
            raise CorruptRecordError(f"TFRecord at byte {pos}: the data's CRC does not match "
                                     f"({length} bytes)")
        yield bytes(data)
        pos = end + 4
