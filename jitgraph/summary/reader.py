"""Reads event files back (for tests and quick inspection), without TensorFlow:

>>> from jitgraph.summary import reader
>>> reader.scalars("/tmp/logs/train")          # {tag: [(step, value), ...]}
>>> for ev in reader.read_events(path): ...    # dicts, see events.decode_event

Records are checked against their CRCs; a histogram is its ``[k, 3]`` array, an image
summary decodes to ``(width, height, [uint8 arrays])`` with ``images``.
"""

import glob
import os

from . import png
from .events import decode_event
from .records import read_records


def event_files(logdir):
    """The event files directly in ``logdir``, oldest name first."""
    return sorted(glob.glob(os.path.join(os.fspath(logdir), "events.out.tfevents.*")))


def read_events(path):
    """The events of one file, or of every event file in a directory, in order."""
    path = os.fspath(path)
    paths = event_files(path) if os.path.isdir(path) else [path]
    for p in paths:
        with open(p, "rb") as f:
            blob = f.read()
        for record in read_records(blob):
            yield decode_event(record)


def values(path, plugin=None):
    """``{tag: [(step, tensor), ...]}`` of the summaries in ``path`` (optionally of one
    plugin: ``"scalars"``, ``"histograms"``, ``"images"``, ``"text"``)."""
    out = {}
    for ev in read_events(path):
        for v in ev.get("values", ()):
            meta = v["metadata"] or {}
            if plugin is not None and meta.get("plugin_name") != plugin:
                continue
            out.setdefault(v["tag"], []).append((ev["step"], v.get("tensor")))
    return out


def scalars(path):
    """``{tag: [(step, float), ...]}``."""
    return {tag: [(s, float(t)) for s, t in items]
            for tag, items in values(path, "scalars").items()}


def images(tensor):
    """``(width, height, [uint8 [h, w, c] arrays])`` of an image summary's tensor."""
    return int(tensor[0]), int(tensor[1]), [png.decode(bytes(b)) for b in tensor[2:]]
