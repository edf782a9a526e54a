"""More of ``jg.keras.utils``: ``pad_sequences`` and ``normalize`` (NumPy in, NumPy out, as
in Keras).

>>> jg.keras.utils.pad_sequences([[1, 2], [3]], maxlen=3)   # [[0, 1, 2], [0, 0, 3]]
"""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """A 2-D array of the sequences padded (with ``value``) or truncated to ``maxlen`` (the
    longest by default), at the start ("pre") or the end ("post"). Sequences of vectors give
    a 3-D array."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding and truncating must be 'pre' or 'post', "
                         f"got padding={padding!r}, truncating={truncating!r}")
    seqs = [np.asarray(s) for s in sequences]
    lengths = [len(s) for s in seqs]
    maxlen = int(maxlen) if maxlen is not None else max(lengths, default=0)
    tail = next((s.shape[1:] for s in seqs if len(s)), ())
    out = np.full((len(seqs), maxlen) + tail, value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not maxlen:
            continue
        if s.shape[1:] != tail:
            raise ValueError(f"pad_sequences: sequence {i} has elements of shape "
                             f"{s.shape[1:]} but the others {tail}; give them one shape")
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["pad_sequences", "normalize"]
