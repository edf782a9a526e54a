"""``pad_sequences`` (``jg.keras.utils.pad_sequences``, also under
``jg.keras.preprocessing.sequence``): lists of variable-length sequences to one padded
NumPy array, with Keras' arguments.

>>> jg.keras.utils.pad_sequences([[1, 2], [3]], padding="post")
array([[1, 2], [3, 0]], dtype=int32)
"""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or truncates) each sequence to ``maxlen`` (default: the longest), at the
    start (``"pre"``) or the end (``"post"``)."""
    for arg, v in (("padding", padding), ("truncating", truncating)):
        if v not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post', got {v!r}")
    try:
        seqs = [np.asarray(s) for s in sequences]
    except TypeError as e:
        raise ValueError("pad_sequences: `sequences` must be a list of sequences "
                         f"(lists or arrays), got {type(sequences).__name__}") from e
    lengths = [len(s) for s in seqs]
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    inner = next((s.shape[1:] for s in seqs if len(s)), ())
    out = np.full((len(seqs), maxlen) + tuple(inner), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not maxlen:
            continue
        s = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if tuple(s.shape[1:]) != tuple(inner):
            raise ValueError(f"pad_sequences: sequence {i} has elements of shape "
                             f"{tuple(s.shape[1:])}, the others {tuple(inner)}")
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, -len(s):] = s
    return out
