"""``jg.keras.utils.timeseries_dataset_from_array``: sliding windows over a series as a
``jg.data`` dataset of batches, with Keras' arguments, checks and order (start positions
shuffled once with ``seed``, then batches shuffled within ``batch_size * 8`` elements).

>>> ds = jg.keras.utils.timeseries_dataset_from_array(np.arange(10), None,
...                                                   sequence_length=3, batch_size=4)
>>> next(iter(ds)).numpy()[0]
array([0, 1, 2])
"""

import numpy as np

import jitgraph as jg


def _check(data, sequence_length, sequence_stride, sampling_rate, start_index, end_index):
    n = len(data)
    where = "timeseries_dataset_from_array"
    if sequence_length is None or int(sequence_length) <= 0:
        raise ValueError(f"{where}: `sequence_length` must be higher than 0. Received: "
                         f"sequence_length={sequence_length}")
    if start_index and not 0 <= start_index < n:
        raise ValueError(f"{where}: `start_index` must be 0 or greater and lower than the "
                         f"length of the data. Received: start_index={start_index}, for "
                         f"data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"{where}: `end_index` must be higher than `start_index`. "
                             f"Received: start_index={start_index}, end_index={end_index}")
        if not 0 < end_index < n:
            raise ValueError(f"{where}: `end_index` must be higher than 0 and lower than "
                             f"the length of the data. Received: end_index={end_index}, "
                             f"for data of length {n}")
    for name, value in (("sampling_rate", sampling_rate),
                        ("sequence_stride", sequence_stride)):
        if not 0 < value < n:
            raise ValueError(f"{where}: `{name}` must be higher than 0 and lower than the "
                             f"length of the data. Received: {name}={value}, for data of "
                             f"length {n}")


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Windows ``data[i : i + sequence_length * sampling_rate : sampling_rate]`` for every
    ``sequence_stride``-th start ``i``, each paired with ``targets[i]`` when ``targets`` is
    given; batched by ``batch_size`` (None: single windows)."""
    data = np.asarray(data.numpy() if hasattr(data, "numpy") else data)
    _check(data, sequence_length, sequence_stride, sampling_rate, start_index, end_index)
    start = start_index or 0
    end = end_index or len(data)
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets.numpy() if hasattr(targets, "numpy") else targets)
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int32)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    steps = jg.constant(data[start:end])
    offsets = np.arange(sequence_length, dtype=np.int32) * sampling_rate
    dataset = jg.data.Dataset.from_tensor_slices(positions).map(
        lambda i: jg.gather(steps, i + offsets))
    if targets is not None:
        picked = targets[start:end][positions] if len(positions) else targets[:0]
        dataset = jg.data.Dataset.zip((dataset, jg.data.Dataset.from_tensor_slices(picked)))
    if batch_size is None:
        return dataset.shuffle(1024, seed=seed) if shuffle else dataset
    if shuffle:
        dataset = dataset.shuffle(batch_size * 8, seed=seed)
    return dataset.batch(batch_size)
